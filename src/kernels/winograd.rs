//! 3×3 convolutions by Winograd's minimal filtering, F(2×2, 3×3) (Lavin & Gray, "Fast
//! Algorithms for Convolutional Neural Networks", 2016): every 2×2 block of outputs comes from
//! the 4×4 input tile under it with 16 multiplications per input channel instead of 36.
//!
//! After the profile of the large sound CNN's training step (gemm's microkernel 66% of it, the
//! rest packing, im2col and pooling) the step is arithmetic: the one way left to make it faster
//! is less of it. With `V = Bᵀ d B` (the tile `d` transformed), `U = G g Gᵀ` (the kernel `g`)
//! and `Y = Aᵀ [U ⊙ V] A`, the sum over input channels of the element-wise products is, for
//! each of the 16 tile positions ξ, one matrix product `M[ξ] = U[ξ] · V[ξ]`
//! (`[Co, Ci] · [Ci, tiles]`): 16 products of a ninth of im2col's depth and four ninths of its
//! positions — 2.25× fewer multiply-adds. The transforms' matrices hold only 0, ±1 and ±½, so
//! the values differ from the direct sum by float rounding only (tested against the im2col
//! path, and in `tests/kernels.rs` against burn's ops).
//!
//! All three passes of a convolution use it:
//! - forward: the products above, then the output transform with the bias and the activation;
//! - the gradient at the input: the same forward over the output gradient, with the kernel
//!   rotated by 180° and its channels swapped, padded `2 − p` where the forward pass was padded
//!   `p`;
//! - the kernel's gradient: the adjoint of the forward pass in `U` —
//!   `dU[ξ] = Σ_tiles (A dY Aᵀ)[ξ] · V[ξ]ᵀ`, then `dg = Gᵀ dU G`.
//!
//! Work goes in groups of consecutive samples (one task each), the products over all tiles of
//! a group: two or three samples of the large CNN's maps (see [`GROUP_BUDGET`]), more where a
//! sample has few tiles. The split depends on the shapes only:
//! bit-identical results whatever the number of threads.

use super::conv::{Activation, Conv2d, ConvShape, Operand, add_in_order, matmul, parallelism, span, with_scratch};
use super::elementwise;
use crate::parallel::{for_each_chunk, map_indices};

/// Tile positions: a 4×4 input tile per 2×2 output block.
const XI: usize = 16;

/// Floats a group's transformed tiles (`V`) may take (4 MiB): two or three samples of the large
/// sound CNN's maps, more where one sample's tiles are few.
///
/// Each group's 16 products pack the transformed kernel anew, and gemm computes the tiles in
/// panels of 64: with the 101-frame (centred) input the recipes train on, one sample of the
/// deep 25 × 10 maps has 65 tiles — a second panel for one tile. Measured (`cargo bench --bench
/// throughput -- --models large-gap --batches 32 --framing centred`, one thread, alternating):
/// groups of two samples 1.11–1.18× faster a training step than groups of one (this budget
/// halved), three or four within the machine's noise of two; the final build against the old
/// one in a second run, 1.03–1.12× (GAP and FC heads); on the 98-frame input (60 tiles, one
/// panel) one and two are alike (docs/PERFORMANCE.md).
const GROUP_BUDGET: usize = 1 << 20;

/// Below this many input or output channels the products are too shallow for Winograd to pay
/// (measured: the STRIP CNN's 32- to 128-channel convolutions on 32×32 to 8×8 maps ran at
/// 0.6–0.8× im2col's speed — their transforms cost per tile about what their products save),
/// nor below [`MIN_WIDTH`] output columns (a plane's transforms go in runs along its rows):
/// the im2col path serves them. What is left is the large sound CNN's four deep convolutions.
const MIN_CHANNELS: usize = 96;

/// See [`MIN_CHANNELS`].
const MIN_WIDTH: usize = 10;

/// Below this many tiles per call (batch × tiles of a sample) transforming the kernel, once a
/// call, costs more than the products save: measured, a look at batch 1 (the page's drag, 65 to
/// 250 tiles a convolution) took 3× as long through Winograd as through im2col
/// (`cargo bench --bench drag`), while batches of 32 gain 1.1–1.4×.
const MIN_TILES: usize = 256;

/// `false` when `GAPLAB_KERNELS=im2col` switched Winograd off (for benchmarks that compare the
/// two paths in one run).
fn enabled() -> bool {
    super::switch() != "im2col"
}

/// A 3×3 convolution's tiling of one sample: `th × tw` tiles of 2×2 outputs over the input
/// padded by `(pt, pl)` at the top and left.
#[derive(Clone, Copy, Debug)]
struct Tiling {
    ci: usize,
    h: usize,
    w: usize,
    pt: usize,
    pl: usize,
    oh: usize,
    ow: usize,
    th: usize,
    tw: usize,
}

impl Tiling {
    /// The tiling of `conv` over `shape`'s input, when Winograd serves it: a 3×3 kernel,
    /// padding ≤ 2 (for its input gradient's padding `2 − p`), enough channels, columns and
    /// tiles ([`MIN_CHANNELS`], [`MIN_WIDTH`], [`MIN_TILES`]).
    fn new(conv: &Conv2d, shape: &ConvShape) -> Option<Self> {
        let t = Self::computable(conv, shape)?;
        let worth_it = enabled()
            && shape.channels_in.min(shape.channels_out) >= MIN_CHANNELS
            && t.ow >= MIN_WIDTH
            && shape.batch * t.tiles() >= MIN_TILES;
        worth_it.then_some(t)
    }

    /// The tiling of `conv` over `shape`'s input whenever Winograd can compute it (a 3×3 kernel,
    /// padding ≤ 2), whether or not it pays.
    fn computable(conv: &Conv2d, shape: &ConvShape) -> Option<Self> {
        let [oh, ow] = conv.output(shape.height, shape.width)?;
        let [(pt, pb), (pl, pr)] = conv.padding;
        (conv.kernel == [3, 3] && pt.max(pb).max(pl).max(pr) <= 2).then(|| Self::of(shape.channels_in, [shape.height, shape.width], [pt, pl], [oh, ow]))
    }

    fn of(ci: usize, [h, w]: [usize; 2], [pt, pl]: [usize; 2], [oh, ow]: [usize; 2]) -> Self {
        Tiling { ci, h, w, pt, pl, oh, ow, th: oh.div_ceil(2), tw: ow.div_ceil(2) }
    }

    /// Tiles per sample.
    fn tiles(&self) -> usize {
        self.th * self.tw
    }

    /// Samples per group: as many as keep a group's `V` within [`GROUP_BUDGET`] floats (at
    /// least one). Depends on the shapes only.
    fn group(&self, batch: usize) -> usize {
        (GROUP_BUDGET / (XI * self.ci * self.tiles()).max(1)).clamp(1, batch.max(1))
    }

    /// The input transform of `n` consecutive samples `xs` (`[n, ci, h, w]`) into `v`
    /// (`[16, ci, n·tiles]`): `v[ξ][c][s·tiles + t] = (Bᵀ d B)[ξ]` for tile `t`'s 4×4 input `d`
    /// (zeros outside the input), with `Bᵀ = [[1,0,−1,0],[0,1,1,0],[0,−1,1,0],[0,1,0,−1]]`.
    ///
    /// Done a whole plane at a time so that every step is a run of consecutive values (a tile's
    /// 16 values one at a time were a quarter of a training step): the padded plane is split
    /// into its even and odd columns, so that the transform along a row, `Bᵀ` over the four
    /// columns of each tile, is four differences of shifted runs; its results are kept apart
    /// for even and odd rows, so that the transform along the columns, over the four rows of
    /// each tile, is again four differences of runs, now over all the plane's tiles at once,
    /// written straight into `v`.
    fn transform_input(&self, xs: &[f32], n: usize, v: &mut [f32]) {
        let (tiles, plane_len, tw) = (self.tiles(), self.h * self.w, self.tw);
        let cols = n * tiles;
        // The padded plane's even and odd columns (`ph` rows of `tw + 1`), zeros around the input.
        let (ph, half) = (2 * self.th + 2, tw + 1);
        let mut phase = [vec![0.0f32; ph * half], vec![0.0f32; ph * half]];
        // The transform along the rows, `[4][th + 1][tw]` for the even and the odd rows.
        let mut rows = [vec![0.0f32; 4 * (self.th + 1) * tw], vec![0.0f32; 4 * (self.th + 1) * tw]];
        let row_block = (self.th + 1) * tw;
        for s in 0..n {
            for c in 0..self.ci {
                let plane = &xs[(s * self.ci + c) * plane_len..][..plane_len];
                for (y, src) in plane.chunks_exact(self.w).enumerate() {
                    let at = (y + self.pt) * half;
                    for (p, dst) in phase.iter_mut().enumerate() {
                        // Input columns x with x + pl ≡ p (mod 2), to padded column (x + pl) / 2.
                        let first = (p + 2 - self.pl % 2) % 2;
                        let dst = &mut dst[at + (first + self.pl) / 2..at + half];
                        for (d, &value) in dst.iter_mut().zip(src.iter().skip(first).step_by(2)) {
                            *d = value;
                        }
                    }
                }
                for y in 0..ph {
                    let (e, o) = (&phase[0][y * half..][..half], &phase[1][y * half..][..half]);
                    let (e0, e1, o0, o1) = (&e[..tw], &e[1..], &o[..tw], &o[1..]);
                    let out = &mut rows[y % 2];
                    let at = (y / 2) * tw;
                    let [r0, r1, r2, r3] = quarters(out, row_block, at, tw);
                    combine(r0, [e0, e1], [1.0, -1.0]);
                    combine(r1, [o0, e1], [1.0, 1.0]);
                    combine(r2, [e1, o0], [1.0, -1.0]);
                    combine(r3, [o0, o1], [1.0, -1.0]);
                }
                // Along the columns: tile row `ty` reads rows 2ty (even, row ty), 2ty + 1 (odd,
                // ty), 2ty + 2 (even, ty + 1), 2ty + 3 (odd, ty + 1): runs `tw` apart.
                let at = c * cols + s * tiles;
                for j in 0..4 {
                    let (even, odd) = (&rows[0][j * row_block..][..row_block], &rows[1][j * row_block..][..row_block]);
                    let (d0, d1, d2, d3) = (&even[..tiles], &odd[..tiles], &even[tw..][..tiles], &odd[tw..][..tiles]);
                    let block = self.ci * cols;
                    combine(&mut v[j * block + at..][..tiles], [d0, d2], [1.0, -1.0]);
                    combine(&mut v[(4 + j) * block + at..][..tiles], [d1, d2], [1.0, 1.0]);
                    combine(&mut v[(8 + j) * block + at..][..tiles], [d2, d1], [1.0, -1.0]);
                    combine(&mut v[(12 + j) * block + at..][..tiles], [d1, d3], [1.0, -1.0]);
                }
            }
        }
    }
}

/// The four `len`-long runs at `at` of the four `block`-long parts of `buf`.
fn quarters(buf: &mut [f32], block: usize, at: usize, len: usize) -> [&mut [f32]; 4] {
    let (a, rest) = buf.split_at_mut(block);
    let (b, rest) = rest.split_at_mut(block);
    let (c, d) = rest.split_at_mut(block);
    [&mut a[at..at + len], &mut b[at..at + len], &mut c[at..at + len], &mut d[at..at + len]]
}

/// `out[t] = Σ_k signs[k] · terms[k][t]` for one to three terms (signs ±1: exact), summed left
/// to right. The shortest of `out` and the terms sets the length. Written as zipped iterators,
/// one arm per count, so that the loops vectorize (indexing through the array of terms kept
/// them scalar). Measured, the step did not change, nor with pulp's AVX-512 dispatch around
/// the transforms: they are bound by memory (`V` is four times the input, `M` four times the
/// output) — 15–20% of the large CNN's training step.
#[inline(always)]
fn combine<const N: usize>(out: &mut [f32], terms: [&[f32]; N], signs: [f32; N]) {
    match terms.as_slice() {
        [a] => {
            let sa = signs[0];
            out.iter_mut().zip(*a).for_each(|(o, &x)| *o = sa * x);
        }
        [a, b] => {
            let (sa, sb) = (signs[0], signs[1]);
            out.iter_mut().zip(a.iter().zip(*b)).for_each(|(o, (&x, &y))| *o = sa * x + sb * y);
        }
        [a, b, c] => {
            let (sa, sb, sc) = (signs[0], signs[1], signs[2]);
            out.iter_mut().zip(a.iter().zip(b.iter().zip(*c))).for_each(|(o, (&x, (&y, &z)))| *o = sa * x + sb * y + sc * z);
        }
        _ => unreachable!("combine takes one to three terms"),
    }
}

/// `U = G g Gᵀ` for every (output channel, input channel) of a 3×3 kernel, `g(o, c)` giving
/// its nine values row by row: `[16, co, ci]`, with `G = [[1,0,0],[½,½,½],[½,−½,½],[0,0,1]]`.
fn transform_kernel(co: usize, ci: usize, g: impl Fn(usize, usize) -> [f32; 9]) -> Vec<f32> {
    let per_xi = co * ci;
    let mut u = vec![0.0f32; XI * per_xi];
    let lift = |a: f32, b: f32, c: f32| [a, 0.5 * (a + b + c), 0.5 * (a - b + c), c];
    for oc in 0..per_xi {
        let k = g(oc / ci, oc % ci);
        // G g: each column of g lifted to four rows; then (G g) Gᵀ: each row to four columns.
        let cols: [[f32; 4]; 3] = std::array::from_fn(|j| lift(k[j], k[3 + j], k[6 + j]));
        for i in 0..4 {
            for (j, value) in lift(cols[0][i], cols[1][i], cols[2][i]).into_iter().enumerate() {
                u[(4 * i + j) * per_xi + oc] = value;
            }
        }
    }
    u
}

/// The convolution by Winograd when it serves `conv` on `shape` (see [`Tiling::new`]), else
/// `None`: `x` `[B, Ci, H, W]`, `weight` `[Co, Ci, 3, 3]`, `bias` `[Co]` → `act` of the output.
pub fn forward(x: &[f32], weight: &[f32], bias: &[f32], shape: &ConvShape, conv: &Conv2d, act: Activation) -> Option<Vec<f32>> {
    Tiling::new(conv, shape).map(|t| forward_with(t, x, weight, bias, shape, act))
}

fn forward_with(tiling: Tiling, x: &[f32], weight: &[f32], bias: &[f32], shape: &ConvShape, act: Activation) -> Vec<f32> {
    let (co, ci) = (shape.channels_out, shape.channels_in);
    let u = transform_kernel(co, ci, |o, c| weight[(o * ci + c) * 9..][..9].try_into().expect("nine values"));
    run(x, &u, Some(bias), shape.batch, co, tiling, act)
}

/// The gradient at the input, when Winograd serves `conv` on `shape`: the forward pass over
/// `grad` (`[B, Co, Oh, Ow]`) with the kernel rotated by 180° and transposed
/// (`g'[c][o] = g[o][c]` upside down and mirrored), padded `2 − p`.
pub fn backward_input(weight: &[f32], grad: &[f32], shape: &ConvShape, conv: &Conv2d) -> Option<Vec<f32>> {
    Tiling::new(conv, shape).map(|t| backward_input_with(t, weight, grad, shape, conv))
}

fn backward_input_with(forward_tiling: Tiling, weight: &[f32], grad: &[f32], shape: &ConvShape, conv: &Conv2d) -> Vec<f32> {
    let (co, ci) = (shape.channels_out, shape.channels_in);
    let [(pt, _), (pl, _)] = conv.padding;
    let tiling = Tiling::of(co, [forward_tiling.oh, forward_tiling.ow], [2 - pt, 2 - pl], [shape.height, shape.width]);
    let u = transform_kernel(ci, co, |c, o| {
        let k = &weight[(o * ci + c) * 9..][..9];
        std::array::from_fn(|i| k[8 - i])
    });
    run(grad, &u, None, shape.batch, ci, tiling, Activation::Identity)
}

/// `act(conv(x) + bias)` from the transformed kernel `u` (`[16, co, tiling.ci]`) for `batch`
/// samples: per group of samples (one task each), the input transform, 16 products, the output
/// transform.
fn run(x: &[f32], u: &[f32], bias: Option<&[f32]>, batch: usize, co: usize, t: Tiling, act: Activation) -> Vec<f32> {
    let (sample_in, sample_out) = (t.ci * t.h * t.w, co * t.oh * t.ow);
    let (tiles, group) = (t.tiles(), t.group(batch));
    let par = parallelism(batch.div_ceil(group));
    let mut out = vec![0.0f32; batch * sample_out];
    for_each_chunk(&mut out, group * sample_out, usize::MAX, |i, dst| {
        let (first, n) = (i * group, dst.len() / sample_out);
        let cols = n * tiles;
        with_scratch(XI * (t.ci + co) * cols, |scratch| {
            let (v, m) = scratch.split_at_mut(XI * t.ci * cols);
            t.transform_input(&x[first * sample_in..(first + n) * sample_in], n, v);
            for xi in 0..XI {
                let (u_xi, v_xi) = (&u[xi * co * t.ci..][..co * t.ci], &v[xi * t.ci * cols..][..t.ci * cols]);
                matmul(&mut m[xi * co * cols..][..co * cols], (cols, 1), co, cols, t.ci, Operand::row_major(u_xi, t.ci), Operand::row_major(v_xi, cols), false, par);
            }
            transform_output(m, &t, n, co, bias, act, dst);
        });
    });
    out
}

/// The output transform `Y = Aᵀ m A` of every tile of `m` (`[16, co, n·tiles]`), with
/// `Aᵀ = [[1,1,1,0],[0,1,−1,−1]]`, plus the bias, then `act`, into `out` (`[n, co, oh, ow]`; a
/// tile's outputs past the last row or column dropped; each plane activated while in cache). A plane at a time, as runs over its tiles
/// (see [`Tiling::transform_input`]); the four outputs of each tile are then interleaved into
/// the plane's rows.
#[allow(clippy::too_many_arguments)]
fn transform_output(m: &[f32], t: &Tiling, n: usize, co: usize, bias: Option<&[f32]>, act: Activation, out: &mut [f32]) {
    let (tiles, plane, tw) = (t.tiles(), t.oh * t.ow, t.tw);
    let cols = n * tiles;
    let block = co * cols;
    // Aᵀ m for each column j of the tiles: `[2][4][tiles]`; then the four outputs `[2][2][tiles]`.
    let mut a = vec![0.0f32; 8 * tiles];
    let mut y = vec![0.0f32; 4 * tiles];
    for s in 0..n {
        for o in 0..co {
            let at = o * cols + s * tiles;
            let mv = |xi: usize| &m[xi * block + at..][..tiles];
            for j in 0..4 {
                combine(&mut a[j * tiles..][..tiles], [mv(j), mv(4 + j), mv(8 + j)], [1.0, 1.0, 1.0]);
                combine(&mut a[(4 + j) * tiles..][..tiles], [mv(4 + j), mv(8 + j), mv(12 + j)], [1.0, -1.0, -1.0]);
            }
            for i in 0..2 {
                let r = |j: usize| &a[(4 * i + j) * tiles..][..tiles];
                let (y0, y1) = y[2 * i * tiles..][..2 * tiles].split_at_mut(tiles);
                combine(y0, [r(0), r(1), r(2)], [1.0, 1.0, 1.0]);
                combine(y1, [r(1), r(2), r(3)], [1.0, -1.0, -1.0]);
            }
            let b = bias.map_or(0.0, |b| b[o]);
            let dst = &mut out[(s * co + o) * plane..][..plane];
            for (row, values) in dst.chunks_exact_mut(t.ow).enumerate() {
                let (ty, i) = (row / 2, row % 2);
                let y0 = &y[2 * i * tiles + ty * tw..][..tw];
                let y1 = &y[(2 * i + 1) * tiles + ty * tw..][..tw];
                for (pair, (&p, &q)) in values.chunks_mut(2).zip(y0.iter().zip(y1)) {
                    pair[0] = p + b;
                    if let Some(second) = pair.get_mut(1) {
                        *second = q + b;
                    }
                }
            }
            elementwise::activate_in_place(act, dst);
        }
    }
}

/// The gradient transform `A dY Aᵀ` of every 2×2 output block of `grad` (`[n, co, oh, ow]`,
/// zeros past the last row or column) into `dm` (`[16, co, n·tiles]`) — the adjoint of
/// [`transform_output`], a plane at a time as runs over its tiles.
fn transform_grad(grad: &[f32], t: &Tiling, n: usize, co: usize, dm: &mut [f32]) {
    let (tiles, plane, tw) = (t.tiles(), t.oh * t.ow, t.tw);
    let cols = n * tiles;
    let block = co * cols;
    // The plane's 2×2 blocks split into their four cells `[2][2][tiles]` (zeros past the edges,
    // the same cells for every plane), then A lifted along the columns `[2][4][tiles]`.
    let mut g = vec![0.0f32; 4 * tiles];
    let mut c = vec![0.0f32; 8 * tiles];
    for s in 0..n {
        for o in 0..co {
            let src = &grad[(s * co + o) * plane..][..plane];
            for (row, values) in src.chunks_exact(t.ow).enumerate() {
                let (ty, i) = (row / 2, row % 2);
                for (tx, pair) in values.chunks(2).enumerate() {
                    g[2 * i * tiles + ty * tw + tx] = pair[0];
                    if let Some(&second) = pair.get(1) {
                        g[(2 * i + 1) * tiles + ty * tw + tx] = second;
                    }
                }
            }
            for i in 0..2 {
                let (g0, g1) = (&g[2 * i * tiles..][..tiles], &g[(2 * i + 1) * tiles..][..tiles]);
                let [c0, c1, c2, c3] = quarters(&mut c[4 * i * tiles..], tiles, 0, tiles);
                combine(c0, [g0], [1.0]);
                combine(c1, [g0, g1], [1.0, 1.0]);
                combine(c2, [g0, g1], [1.0, -1.0]);
                combine(c3, [g1], [-1.0]);
            }
            let at = o * cols + s * tiles;
            for j in 0..4 {
                let (r0, r1) = (&c[j * tiles..][..tiles], &c[(4 + j) * tiles..][..tiles]);
                combine(&mut dm[j * block + at..][..tiles], [r0], [1.0]);
                combine(&mut dm[(4 + j) * block + at..][..tiles], [r0, r1], [1.0, 1.0]);
                combine(&mut dm[(8 + j) * block + at..][..tiles], [r0, r1], [1.0, -1.0]);
                combine(&mut dm[(12 + j) * block + at..][..tiles], [r1], [-1.0]);
            }
        }
    }
}

/// The kernel's gradient (`[Co, Ci, 3, 3]`) when Winograd serves `conv` on `shape`: per span of
/// samples (one task each) `dU[ξ] = Σ dM[ξ] · V[ξ]ᵀ` over its groups, the spans' sums added in
/// order, then `Gᵀ dU G`.
pub fn backward_weight(x: &[f32], grad: &[f32], shape: &ConvShape, conv: &Conv2d) -> Option<Vec<f32>> {
    Tiling::new(conv, shape).map(|t| backward_weight_with(t, x, grad, shape))
}

fn backward_weight_with(t: Tiling, x: &[f32], grad: &[f32], shape: &ConvShape) -> Vec<f32> {
    let (co, ci, batch) = (shape.channels_out, shape.channels_in, shape.batch);
    let (sample_in, sample_out) = (ci * t.h * t.w, co * t.oh * t.ow);
    let (tiles, group) = (t.tiles(), t.group(batch));
    let span = span(batch, group);
    let spans = batch.div_ceil(span);
    let par = parallelism(spans);
    let partials = map_indices(spans, usize::MAX, |k| {
        let mut du = vec![0.0f32; XI * co * ci];
        let end = ((k + 1) * span).min(batch);
        for first in (k * span..end).step_by(group) {
            let n = group.min(end - first);
            let cols = n * tiles;
            with_scratch(XI * (ci + co) * cols, |scratch| {
                let (v, dm) = scratch.split_at_mut(XI * ci * cols);
                t.transform_input(&x[first * sample_in..(first + n) * sample_in], n, v);
                transform_grad(&grad[first * sample_out..(first + n) * sample_out], &t, n, co, dm);
                for xi in 0..XI {
                    let (dm_xi, v_xi) = (&dm[xi * co * cols..][..co * cols], &v[xi * ci * cols..][..ci * cols]);
                    matmul(&mut du[xi * co * ci..][..co * ci], (ci, 1), co, ci, cols, Operand::row_major(dm_xi, cols), Operand::transposed(v_xi, cols), first > k * span, par);
                }
            });
        }
        du
    });
    let du = add_in_order(partials, XI * co * ci);
    // dg = Gᵀ dU G, Gᵀ = [[1,½,½,0],[0,½,−½,0],[0,½,½,1]].
    let per_xi = co * ci;
    let fold = |a: f32, b: f32, c: f32, d: f32| [a + 0.5 * (b + c), 0.5 * (b - c), 0.5 * (b + c) + d];
    let mut dw = vec![0.0f32; co * ci * 9];
    for (oc, out) in dw.chunks_mut(9).enumerate() {
        let d = |xi: usize| du[xi * per_xi + oc];
        // Gᵀ dU: each column of dU folded to three rows; then each row to three columns.
        let cols: [[f32; 3]; 4] = std::array::from_fn(|j| fold(d(j), d(4 + j), d(8 + j), d(12 + j)));
        for i in 0..3 {
            out[3 * i..3 * i + 3].copy_from_slice(&fold(cols[0][i], cols[1][i], cols[2][i], cols[3][i]));
        }
    }
    dw
}

#[cfg(test)]
mod tests {
    use super::super::conv;
    use super::*;

    fn values(n: usize, seed: f32) -> Vec<f32> {
        (0..n).map(|i| ((i as f32 * 0.618 + seed).sin() * 1.7).fract()).collect()
    }

    fn assert_close(ours: &[f32], want: &[f32], what: &str) {
        assert_eq!(ours.len(), want.len(), "{what}: lengths differ");
        let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1.0);
        for (i, (a, e)) in ours.iter().zip(want).enumerate() {
            assert!((a - e).abs() <= 2e-5 * scale, "{what}: [{i}] {a} vs {e}");
        }
    }

    /// Winograd against the im2col path (itself tested against the definition and burn's
    /// ops) for all three passes: odd and even sizes, "same", valid and lopsided padding,
    /// groups of several samples and one, a single row of tiles.
    #[test]
    fn all_three_passes_equal_the_im2col_path() {
        for (batch, ci, co, h, w, padding) in [
            (2, 96, 97, 5, 11, [(1, 1), (1, 1)]),
            (3, 100, 96, 8, 13, [(0, 0), (0, 0)]),
            (3, 96, 96, 7, 10, [(2, 0), (0, 2)]),
            (1, 97, 100, 3, 40, [(1, 1), (1, 1)]),
            (2, 112, 96, 9, 9, [(1, 2), (2, 1)]),
            (2, 96, 128, 4, 12, [(0, 1), (1, 0)]),
            // Two samples to a group: three samples make two groups, the second of one.
            (3, 96, 96, 50, 20, [(1, 1), (1, 1)]),
        ] {
            let shape = ConvShape { batch, channels_in: ci, height: h, width: w, channels_out: co };
            let c = Conv2d { kernel: [3, 3], padding };
            let [oh, ow] = c.output(h, w).unwrap();
            let what = format!("{shape:?} {padding:?}");
            let x = values(batch * ci * h * w, 0.3);
            let weight = values(co * ci * 9, 1.1);
            let bias = values(co, 2.0);
            let grad = values(batch * co * oh * ow, 0.7);
            let t = Tiling::computable(&c, &shape).unwrap();
            let fwd = forward_with(t, &x, &weight, &bias, &shape, Activation::Relu);
            assert_close(&fwd, &conv::forward_im2col(&x, &weight, &bias, &shape, &c, Activation::Relu), &format!("forward {what}"));
            let dx = backward_input_with(t, &weight, &grad, &shape, &c);
            assert_close(&dx, &conv::backward_input_im2col(&weight, &grad, &shape, &c), &format!("input gradient {what}"));
            let dw = backward_weight_with(t, &x, &grad, &shape);
            assert_close(&dw, &conv::backward_weight_im2col(&x, &grad, &shape, &c), &format!("kernel gradient {what}"));
        }
    }

    #[test]
    fn shallow_small_and_other_kernels_keep_the_im2col_path() {
        let conv3 = Conv2d { kernel: [3, 3], padding: [(1, 1), (1, 1)] };
        let shape = |batch, ci, co, h, w| ConvShape { batch, channels_in: ci, height: h, width: w, channels_out: co };
        assert!(Tiling::new(&conv3, &shape(32, 1, 96, 101, 40)).is_none(), "one input channel");
        assert!(Tiling::new(&conv3, &shape(32, 64, 128, 20, 20)).is_none(), "64 input channels");
        assert!(Tiling::new(&conv3, &shape(32, 128, 64, 20, 20)).is_none(), "64 output channels");
        assert!(Tiling::new(&conv3, &shape(32, 128, 128, 8, 8)).is_none(), "8 columns (the STRIP CNN's last stage)");
        assert!(Tiling::new(&conv3, &shape(1, 384, 384, 25, 10)).is_none(), "65 tiles: a look at batch 1");
        assert!(Tiling::new(&conv3, &shape(1, 96, 256, 50, 20)).is_none(), "250 tiles");
        assert!(Tiling::computable(&Conv2d { kernel: [2, 2], padding: [(0, 0), (0, 0)] }, &shape(32, 96, 96, 20, 20)).is_none(), "2×2 kernel");
        assert!(Tiling::computable(&Conv2d { kernel: [3, 3], padding: [(3, 0), (1, 1)] }, &shape(32, 96, 96, 20, 20)).is_none(), "padding 3");
        assert!(Tiling::new(&conv3, &shape(2, 96, 256, 50, 20)).is_some(), "the large sound CNN's second conv, two samples");
        assert!(Tiling::new(&conv3, &shape(4, 384, 384, 25, 10)).is_some(), "its fourth, four samples");
    }

    /// Each group's transforms must not depend on what the scratch buffer held before.
    #[test]
    fn results_do_not_depend_on_the_group_split_or_earlier_calls() {
        let shape = ConvShape { batch: 5, channels_in: 96, height: 8, width: 10, channels_out: 96 };
        let c = Conv2d { kernel: [3, 3], padding: [(1, 1), (1, 1)] };
        let (x, weight, bias) = (values(5 * 96 * 80, 0.1), values(96 * 96 * 9, 0.2), values(96, 0.3));
        let all = forward_with(Tiling::computable(&c, &shape).unwrap(), &x, &weight, &bias, &shape, Activation::Identity);
        let one = ConvShape { batch: 1, ..shape };
        for s in 0..5 {
            let (input, output) = (96 * 80, 96 * 80);
            let alone = forward_with(Tiling::computable(&c, &one).unwrap(), &x[s * input..(s + 1) * input], &weight, &bias, &one, Activation::Identity);
            assert_eq!(alone, all[s * output..(s + 1) * output], "sample {s}");
        }
    }
}
