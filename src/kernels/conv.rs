//! 2-D convolution (stride 1, no dilation, one group — every conv of the lab's networks) over
//! `[B, C, H, W]`, forward and both gradients, in that one layout end to end.
//!
//! burn-flex runs a conv2d as a conv3d over NHWC, so every call, and each of its two gradients,
//! first copies its input, kernel and output gradient between layouts (23–30% of a small-CNN
//! training step in `docs/PERFORMANCE.md`'s profile). In NCHW a sample's convolution is one
//! matrix product, `out[co, p] = Σₖ W[co, k] · col[k, p]` with `k = (ci, ky, kx)` and
//! `p = (oy, ox)`, where `col` (im2col) is built row by row with contiguous copies; the kernel
//! `[Co, Ci, Kh, Kw]` is already the `[Co, K]` matrix, and the products' transposes are strides
//! given to `gemm`, never copies. The bias is written into the output before the product
//! accumulates onto it.
//!
//! The batch goes in groups of consecutive samples (as many as [`COL_BUDGET`] allows), each
//! group one task with one im2col buffer holding all its samples' columns, and one product per
//! sample, which reads its columns and writes its output (or its columns of the gradient) in
//! place through strides: a product over the whole group would leave its output channel-major
//! (`[Co, samples·P]`) and cost a transposing copy to and from the batch's sample-major layout.
//! The kernel gradient sums fixed spans of groups, then adds the spans in order. The split
//! depends on the shapes only, so the results are bit-identical whatever the number of threads.
//! (One im2col for a whole batch, measured: slower — it no longer fits in cache.)
//!
//! Deep 3×3 convolutions (the large sound CNN's) go through [`super::winograd`] instead:
//! [`forward`], [`backward_input`] and [`backward_weight`] pick the path, the `*_im2col`
//! functions are this one.

use super::elementwise;
use crate::parallel::{for_each_chunk, map_indices};
use gemm::Parallelism;

/// Floats a group's im2col may take (1 MB, so that it stays in cache between being written and
/// read by the products): small convolutions (the text nets') build several samples' columns
/// in one pass over the rows, large ones one sample's.
const COL_BUDGET: usize = 256 << 10;

/// At most this many partial sums of a kernel gradient per call.
const PARTIALS: usize = 8;

/// A convolution's window and its padding `(before, after)` for height, then width (zeros).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2d {
    pub kernel: [usize; 2],
    pub padding: [(usize, usize); 2],
}

/// The sizes of one call: batch, input channels, input height and width, output channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvShape {
    pub batch: usize,
    pub channels_in: usize,
    pub height: usize,
    pub width: usize,
    pub channels_out: usize,
}

/// The activation a convolution's output goes through in the same pass (the networks' ReLU
/// after a conv, the STRIP CNN's ELU with α = 1): burn runs each as separate tensor ops — the
/// ELU as five forward and as many backward passes over the whole activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    Identity,
    Relu,
    /// `z` for `z > 0`, else `exp(z) − 1` (α = 1).
    Elu,
}

impl Activation {
    /// The activation of one value, as burn's ops compute it.
    #[inline]
    pub fn apply(self, z: f32) -> f32 {
        match self {
            Activation::Identity => z,
            Activation::Relu => if z > 0.0 { z } else { 0.0 },
            Activation::Elu => if z > 0.0 { z } else { z.exp() - 1.0 },
        }
    }

    /// `dy/dz` from the output `y` alone (what the backward pass keeps): ReLU's is 1 where
    /// `y > 0`, ELU's `1` there and `exp(z) = y + 1` elsewhere.
    #[inline]
    pub fn derivative(self, y: f32) -> f32 {
        match self {
            Activation::Identity => 1.0,
            Activation::Relu => if y > 0.0 { 1.0 } else { 0.0 },
            Activation::Elu => if y > 0.0 { 1.0 } else { y + 1.0 },
        }
    }
}

impl Conv2d {
    /// The output's spatial size for an `h × w` input, or `None` when the kernel does not fit.
    pub fn output(&self, h: usize, w: usize) -> Option<[usize; 2]> {
        let dim = |n: usize, i: usize| {
            let padded = n + self.padding[i].0 + self.padding[i].1;
            (self.kernel[i] > 0 && padded >= self.kernel[i]).then(|| padded - self.kernel[i] + 1)
        };
        Some([dim(h, 0)?, dim(w, 1)?])
    }
}

/// Everything a sample's im2col needs.
struct Geometry {
    ci: usize,
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    pt: usize,
    pl: usize,
    oh: usize,
    ow: usize,
}

impl Geometry {
    fn new(conv: &Conv2d, s: &ConvShape) -> Self {
        let [oh, ow] = conv.output(s.height, s.width).expect("the conv's output size was checked by the caller");
        Geometry {
            ci: s.channels_in,
            h: s.height,
            w: s.width,
            kh: conv.kernel[0],
            kw: conv.kernel[1],
            pt: conv.padding[0].0,
            pl: conv.padding[1].0,
            oh,
            ow,
        }
    }

    /// `K`, the rows of `col`: one per (input channel, kernel row, kernel column).
    fn k(&self) -> usize {
        self.ci * self.kh * self.kw
    }

    /// `P`, the columns of `col`: one per output position.
    fn p(&self) -> usize {
        self.oh * self.ow
    }

    /// The output columns `ox` for which input column `ox + kx − pl` exists.
    fn cols(&self, kx: usize) -> (usize, usize) {
        let lo = self.pl.saturating_sub(kx).min(self.ow);
        let hi = (self.w + self.pl).saturating_sub(kx).min(self.ow).max(lo);
        (lo, hi)
    }

    /// The output rows `oy` for which input row `oy + ky − pt` exists. (Callers also skip a
    /// kernel column `kx` whose `cols` are empty: with padding wider than the input, an offset
    /// `lo + kx − pl` may then not exist.)
    fn rows(&self, ky: usize) -> (usize, usize) {
        let lo = self.pt.saturating_sub(ky).min(self.oh);
        let hi = (self.h + self.pt).saturating_sub(ky).min(self.oh).max(lo);
        (lo, hi)
    }

    /// Row `r` = (input channel, kernel row, kernel column) of the im2col of `samples`
    /// consecutive samples `xs` (`[samples, ci, h, w]`): `row` is `[samples, P]`, sample after
    /// sample.
    fn im2col_row(&self, r: usize, xs: &[f32], row: &mut [f32]) {
        let (p, plane_len) = (self.p(), self.h * self.w);
        let (c, ky, kx) = (r / (self.kh * self.kw), r / self.kw % self.kh, r % self.kw);
        let ((lo, hi), (oy0, oy1)) = (self.cols(kx), self.rows(ky));
        for (s, dst) in row.chunks_mut(p).enumerate() {
            if hi == lo || oy1 == oy0 {
                dst.fill(0.0);
                continue;
            }
            let plane = &xs[(s * self.ci + c) * plane_len..(s * self.ci + c + 1) * plane_len];
            dst[..oy0 * self.ow].fill(0.0);
            dst[oy1 * self.ow..].fill(0.0);
            let rows = &mut dst[oy0 * self.ow..oy1 * self.ow];
            let src = (oy0 + ky - self.pt) * self.w + lo + kx - self.pl;
            if self.ow == self.w {
                // Output rows as long as input rows ("same" width): the rows read one run of
                // the plane at a fixed offset, so one copy serves them all (a copy per row of
                // 24–49 floats was most of the large CNN's im2col); the cells that copy takes
                // from the neighbouring row, outside `lo..hi`, are zeroed after.
                let (first, last) = (lo, rows.len() - (self.ow - hi));
                rows[first..last].copy_from_slice(&plane[src..src + (last - first)]);
            } else {
                // Rows of other widths (valid convolutions, the windows of a look): a copy per
                // output row, inline — the small CNN's rows are 12–38 floats, where a call to
                // `memcpy` costs more than the copy.
                for (i, out) in rows.chunks_exact_mut(self.ow).enumerate() {
                    let start = src + i * self.w;
                    copy_short(&mut out[lo..hi], &plane[start..start + (hi - lo)]);
                }
            }
            // The padding's cells of each row (one or two: written in place, not by `memset`).
            if lo > 0 || hi < self.ow {
                for out in rows.chunks_exact_mut(self.ow) {
                    out[..lo].iter_mut().for_each(|v| *v = 0.0);
                    out[hi..].iter_mut().for_each(|v| *v = 0.0);
                }
            }
        }
    }

    /// im2col of `samples` consecutive samples `xs` into `col` (`[K, samples·P]`), on the
    /// calling thread (each task of the kernels below builds its own).
    fn im2col(&self, xs: &[f32], samples: usize, col: &mut [f32]) {
        let row_len = samples * self.p();
        for (r, row) in col[..self.k() * row_len].chunks_mut(row_len).enumerate() {
            self.im2col_row(r, xs, row);
        }
    }

    /// The adjoint of [`Geometry::im2col`] for sample `s` of the group: adds its columns of `col`
    /// (`[K, samples·P]`) into its gradient `dx` (`[ci, h, w]`).
    fn col2im(&self, col: &[f32], samples: usize, s: usize, dx: &mut [f32]) {
        let (p, row_len) = (self.p(), samples * self.p());
        for c in 0..self.ci {
            let plane = &mut dx[c * self.h * self.w..(c + 1) * self.h * self.w];
            for ky in 0..self.kh {
                for kx in 0..self.kw {
                    let r = (c * self.kh + ky) * self.kw + kx;
                    let src = &col[r * row_len + s * p..r * row_len + (s + 1) * p];
                    let ((lo, hi), (oy0, oy1)) = (self.cols(kx), self.rows(ky));
                    if hi == lo {
                        continue;
                    }
                    for oy in oy0..oy1 {
                        let start = (oy + ky - self.pt) * self.w + lo + kx - self.pl;
                        let dst = &mut plane[start..start + (hi - lo)];
                        for (d, v) in dst.iter_mut().zip(&src[oy * self.ow + lo..oy * self.ow + hi]) {
                            *d += v;
                        }
                    }
                }
            }
        }
    }

    /// Samples per group: as many as keep a group's im2col within [`COL_BUDGET`] floats (at
    /// least one). Depends on the shapes only, never on the threads.
    fn group(&self, batch: usize) -> usize {
        (COL_BUDGET / (self.k() * self.p()).max(1)).clamp(1, batch.max(1))
    }


}

/// `dst.copy_from_slice(src)` for short runs, without a call: blocks of eight floats (a
/// fixed-size copy the compiler writes as vector moves), the last block overlapping the one
/// before it where the length is not a multiple of eight.
#[inline(always)]
fn copy_short(dst: &mut [f32], src: &[f32]) {
    const BLOCK: usize = 8;
    let n = dst.len();
    assert_eq!(n, src.len(), "copy_short: lengths differ");
    if n < BLOCK {
        dst.iter_mut().zip(src).for_each(|(d, &v)| *d = v);
        return;
    }
    let block = |dst: &mut [f32], src: &[f32], at: usize| {
        let d: &mut [f32; BLOCK] = (&mut dst[at..at + BLOCK]).try_into().expect("a block of eight");
        *d = *<&[f32; BLOCK]>::try_from(&src[at..at + BLOCK]).expect("a block of eight");
    };
    let mut at = 0;
    while at + BLOCK <= n {
        block(dst, src, at);
        at += BLOCK;
    }
    if at < n {
        block(dst, src, n - BLOCK);
    }
}

/// A matrix operand: its values and the strides of its rows and columns.
#[derive(Clone, Copy)]
pub(super) struct Operand<'a> {
    values: &'a [f32],
    row_stride: usize,
    col_stride: usize,
}

impl<'a> Operand<'a> {
    pub(super) fn row_major(values: &'a [f32], cols: usize) -> Self {
        Operand { values, row_stride: cols, col_stride: 1 }
    }

    /// The transpose of a row-major matrix with `cols` columns: element (i, j) at `j·cols + i`.
    pub(super) fn transposed(values: &'a [f32], cols: usize) -> Self {
        Operand { values, row_stride: 1, col_stride: cols }
    }

    fn fits(&self, rows: usize, cols: usize) -> bool {
        fits(self.values.len(), (self.row_stride, self.col_stride), rows, cols)
    }
}

/// Whether a `rows × cols` matrix with these `(row, column)` strides lies within `len` values.
fn fits(len: usize, (row_stride, col_stride): (usize, usize), rows: usize, cols: usize) -> bool {
    rows == 0 || cols == 0 || (rows - 1) * row_stride + (cols - 1) * col_stride < len
}

/// The `(row, column)` strides of a row-major matrix with `cols` columns, and of its transpose.
fn row_major(cols: usize) -> (usize, usize) {
    (cols, 1)
}

fn transposed(cols: usize) -> (usize, usize) {
    (1, cols)
}

/// `dst = (accumulate ? dst : 0) + a · b` for an `m × k` `a` and a `k × n` `b`, `dst` an
/// `m × n` matrix with `(row, column)` strides `layout`. Panics when an operand is smaller than
/// its strides say (a bug, not bad input).
#[allow(clippy::too_many_arguments)]
pub(super) fn matmul(dst: &mut [f32], layout: (usize, usize), m: usize, n: usize, k: usize, a: Operand, b: Operand, accumulate: bool, parallelism: Parallelism) {
    assert!(fits(dst.len(), layout, m, n) && a.fits(m, k) && b.fits(k, n), "matmul operands smaller than {m}×{k}·{k}×{n}");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(0.0);
        }
        return;
    }
    // SAFETY: the assertion above keeps every index gemm forms (row·stride + col·stride within
    // the given sizes) inside the borrowed slices; `dst` is exclusively borrowed and does not
    // alias `a` or `b`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            layout.1 as isize,
            layout.0 as isize,
            accumulate,
            a.values.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.values.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// With one task there is nothing to split over the threads: gemm splits its product instead
/// (natively). Otherwise each task's product runs on its thread.
pub(super) fn parallelism(tasks: usize) -> Parallelism {
    #[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
    if tasks == 1 {
        return Parallelism::Rayon(0);
    }
    let _ = tasks;
    Parallelism::None
}

/// Forward: `x` `[B, Ci, H, W]`, `weight` `[Co, Ci, Kh, Kw]`, `bias` `[Co]` → `act` of the
/// `[B, Co, Oh, Ow]` convolution: by Winograd where it serves (deep 3×3 convolutions,
/// [`super::winograd`]), else through im2col.
pub fn forward(x: &[f32], weight: &[f32], bias: &[f32], shape: &ConvShape, conv: &Conv2d, act: Activation) -> Vec<f32> {
    super::winograd::forward(x, weight, bias, shape, conv, act).unwrap_or_else(|| forward_im2col(x, weight, bias, shape, conv, act))
}

/// The gradient at the input: by Winograd where it serves, else through im2col.
pub fn backward_input(weight: &[f32], grad: &[f32], shape: &ConvShape, conv: &Conv2d) -> Vec<f32> {
    super::winograd::backward_input(weight, grad, shape, conv).unwrap_or_else(|| backward_input_im2col(weight, grad, shape, conv))
}

/// The gradient of the kernel: by Winograd where it serves, else through im2col.
pub fn backward_weight(x: &[f32], grad: &[f32], shape: &ConvShape, conv: &Conv2d) -> Vec<f32> {
    super::winograd::backward_weight(x, grad, shape, conv).unwrap_or_else(|| backward_weight_im2col(x, grad, shape, conv))
}

/// [`forward`] through im2col. The output is allocated holding the bias (no zeroing pass);
/// per group of samples (one task each): im2col, then per sample one product accumulated onto
/// its output in place and the activation over that output.
pub fn forward_im2col(x: &[f32], weight: &[f32], bias: &[f32], shape: &ConvShape, conv: &Conv2d, act: Activation) -> Vec<f32> {
    let g = Geometry::new(conv, shape);
    let (k, p, co) = (g.k(), g.p(), shape.channels_out);
    let (sample_in, group) = (g.ci * g.h * g.w, g.group(shape.batch));
    let par = parallelism(shape.batch.div_ceil(group));
    let mut out = Vec::with_capacity(shape.batch * co * p);
    for _ in 0..shape.batch {
        for &b in bias {
            out.extend(std::iter::repeat_n(b, p));
        }
    }
    for_each_chunk(&mut out, group * co * p, usize::MAX, |i, dst| {
        let (first, n) = (i * group, dst.len() / (co * p));
        with_scratch(k * n * p, |col| {
            g.im2col(&x[first * sample_in..(first + n) * sample_in], n, col);
            for (s, out_s) in dst.chunks_mut(co * p).enumerate() {
                // As `out_sᵀ = col_sᵀ · Wᵀ` (positions × channels): gemm reads the sample's
                // columns of `col` in their own layout (consecutive positions contiguous) and
                // writes its `[Co, P]` output through transposed strides — no copy either side.
                matmul(out_s, transposed(p), p, co, k, sample_columns(col, s, n, p), Operand::transposed(weight, k), true, par);
                // While the sample's output is still in cache.
                elementwise::activate_in_place(act, out_s);
            }
        });
    });
    out
}

/// [`backward_input`] through im2col: per group (one task each), `dcol_s = Wᵀ · grad_s` for each
/// sample into its columns of one `col`, folded back by col2im sample by sample.
pub fn backward_input_im2col(weight: &[f32], grad: &[f32], shape: &ConvShape, conv: &Conv2d) -> Vec<f32> {
    let g = Geometry::new(conv, shape);
    let (k, p, co) = (g.k(), g.p(), shape.channels_out);
    let (sample_in, group) = (g.ci * g.h * g.w, g.group(shape.batch));
    let par = parallelism(shape.batch.div_ceil(group));
    let mut dx = vec![0.0f32; shape.batch * sample_in];
    for_each_chunk(&mut dx, group * sample_in, usize::MAX, |i, dst| {
        let (first, n) = (i * group, dst.len() / sample_in);
        with_scratch(k * n * p, |col| {
            let np = n * p;
            for s in 0..n {
                let grad_s = &grad[(first + s) * co * p..(first + s + 1) * co * p];
                // As `dcol_sᵀ = grad_sᵀ · W` (positions × K), for the same reason as in
                // `forward`; every value of `col` is written (no accumulation).
                matmul(&mut col[s * p..], transposed(np), p, k, co, Operand::transposed(grad_s, p), Operand::row_major(weight, k), false, par);
            }
            for (s, dx_s) in dst.chunks_mut(sample_in).enumerate() {
                g.col2im(col, n, s, dx_s);
            }
        });
    });
    dx
}

/// [`backward_weight`] through im2col, `Σ_b grad_b · col_bᵀ` (`[Co, K]`, i.e. `[Co, Ci, Kh, Kw]`): a
/// partial sum per span of samples (one task each; im2col per group inside, a product per
/// sample), the partial sums then added in order.
pub fn backward_weight_im2col(x: &[f32], grad: &[f32], shape: &ConvShape, conv: &Conv2d) -> Vec<f32> {
    let g = Geometry::new(conv, shape);
    let (k, p, co) = (g.k(), g.p(), shape.channels_out);
    let (sample_in, group) = (g.ci * g.h * g.w, g.group(shape.batch));
    let span = span(shape.batch, group);
    let spans = shape.batch.div_ceil(span);
    let par = parallelism(spans);
    let partials = map_indices(spans, usize::MAX, |t| {
        let mut dw = vec![0.0f32; co * k];
        let end = ((t + 1) * span).min(shape.batch);
        with_scratch(k * group * p, |col| {
            for first in (t * span..end).step_by(group) {
                let n = group.min(end - first);
                g.im2col(&x[first * sample_in..(first + n) * sample_in], n, col);
                for s in 0..n {
                    let grad_s = &grad[(first + s) * co * p..(first + s + 1) * co * p];
                    let b = sample_columns(col, s, n, p);
                    let accumulate = first > t * span || s > 0;
                    matmul(&mut dw, row_major(k), co, k, p, Operand::row_major(grad_s, p), b, accumulate, par);
                }
            }
        });
        dw
    });
    add_in_order(partials, co * k)
}

/// Samples per partial sum of a kernel gradient for `batch` samples in groups of `group`:
/// whole groups, at most [`PARTIALS`] partial sums per call (each is a kernel-sized buffer).
/// Depends on the shapes only, never on the threads (the im2col and the Winograd paths).
pub(super) fn span(batch: usize, group: usize) -> usize {
    let groups = batch.div_ceil(group);
    groups.div_ceil(groups.min(PARTIALS).max(1)) * group
}

/// The partial sums of a kernel gradient added in their order (so the same whatever thread
/// computed which), or zeros of `len` where there were none.
pub(super) fn add_in_order(partials: Vec<Vec<f32>>, len: usize) -> Vec<f32> {
    let mut partials = partials.into_iter();
    let mut sum = partials.next().unwrap_or_else(|| vec![0.0; len]);
    for partial in partials {
        sum.iter_mut().zip(&partial).for_each(|(a, b)| *a += b);
    }
    sum
}

/// Sample `s`'s columns of a group's im2col `col` (`[K, n·P]`), transposed: the `P × K` matrix
/// whose row is a position and column a row of `col`.
fn sample_columns(col: &[f32], s: usize, n: usize, p: usize) -> Operand<'_> {
    Operand { values: &col[s * p..], row_stride: 1, col_stride: n * p }
}

thread_local! {
    /// Each thread's im2col buffer, kept between calls: allocating (and zeroing) a fresh one per
    /// group was a tenth of a STRIP training step. At most a group's im2col ([`COL_BUDGET`]
    /// floats, or one sample's when that is larger) per thread.
    static SCRATCH: std::cell::Cell<Vec<f32>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Calls `f` with this thread's scratch buffer, `len` floats of it. Its values are whatever an
/// earlier call left: `f` must write before it reads. (Taken out of the cell while in use, so a
/// nested call gets a fresh buffer instead of a second borrow.)
pub(super) fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    let mut buf = SCRATCH.with(|s| s.take());
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    let result = f(&mut buf[..len]);
    SCRATCH.with(|s| s.set(buf));
    result
}

/// The gradient of a per-channel bias of `[B, C, P]` (a conv's output): `Σ_b Σ_p grad`.
pub fn backward_bias(grad: &[f32], batch: usize, channels: usize) -> Vec<f32> {
    let p = grad.len() / (batch * channels).max(1);
    let mut db = vec![0.0f32; channels];
    for sample in grad.chunks(channels * p) {
        for (b, row) in db.iter_mut().zip(sample.chunks(p)) {
            *b += row.iter().sum::<f32>();
        }
    }
    db
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, one output at a time.
    fn naive(x: &[f32], w: &[f32], b: &[f32], s: &ConvShape, conv: &Conv2d) -> Vec<f32> {
        let [oh, ow] = conv.output(s.height, s.width).unwrap();
        let [kh, kw] = conv.kernel;
        let mut out = vec![0.0; s.batch * s.channels_out * oh * ow];
        for n in 0..s.batch {
            for o in 0..s.channels_out {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut acc = b[o];
                        for c in 0..s.channels_in {
                            for ky in 0..kh {
                                for kx in 0..kw {
                                    let y = (oy + ky) as isize - conv.padding[0].0 as isize;
                                    let xx = (ox + kx) as isize - conv.padding[1].0 as isize;
                                    if y >= 0 && xx >= 0 && (y as usize) < s.height && (xx as usize) < s.width {
                                        let xi = ((n * s.channels_in + c) * s.height + y as usize) * s.width + xx as usize;
                                        acc += x[xi] * w[((o * s.channels_in + c) * kh + ky) * kw + kx];
                                    }
                                }
                            }
                        }
                        out[((n * s.channels_out + o) * oh + oy) * ow + ox] = acc;
                    }
                }
            }
        }
        out
    }

    #[test]
    fn the_forward_pass_is_the_definition() {
        let shape = ConvShape { batch: 2, channels_in: 3, height: 5, width: 4, channels_out: 2 };
        let conv = Conv2d { kernel: [3, 2], padding: [(1, 1), (0, 1)] };
        let x: Vec<f32> = (0..2 * 3 * 5 * 4).map(|i| ((i * 7 % 11) as f32 - 5.0) / 4.0).collect();
        let w: Vec<f32> = (0..2 * 3 * 3 * 2).map(|i| ((i * 5 % 7) as f32 - 3.0) / 3.0).collect();
        let b = [0.5, -0.25];
        let ours = forward(&x, &w, &b, &shape, &conv, Activation::Identity);
        let want = naive(&x, &w, &b, &shape, &conv);
        assert_eq!(ours.len(), want.len());
        for (a, e) in ours.iter().zip(&want) {
            assert!((a - e).abs() <= 1e-5 * e.abs().max(1.0), "{a} vs {e}");
        }
    }

    #[test]
    fn im2col_is_the_definition_for_every_padding() {
        // col[(c, ky, kx), (s, oy, ox)] = x[s, c, oy + ky − pt, ox + kx − pl], zero outside: on
        // "same" widths (one copy for all rows), valid and lopsided ones, padding wider than the
        // input, several samples in one group.
        for (h, w, kernel, padding) in [
            (5, 7, [3, 3], [(1, 1), (1, 1)]),
            (4, 6, [2, 2], [(0, 1), (0, 1)]),
            (4, 6, [2, 2], [(1, 0), (1, 0)]),
            (3, 5, [3, 3], [(0, 0), (0, 0)]),
            (2, 3, [5, 5], [(2, 2), (2, 2)]),
            (1, 4, [3, 3], [(4, 0), (1, 1)]),
            (6, 1, [3, 1], [(1, 1), (0, 0)]),
            (3, 4, [1, 3], [(0, 0), (1, 1)]),
            (3, 21, [2, 2], [(0, 0), (0, 0)]),
            (3, 18, [3, 3], [(0, 0), (0, 0)]),
            (3, 12, [3, 3], [(1, 1), (2, 0)]),
            (4, 11, [2, 3], [(0, 1), (0, 0)]),
        ] {
            let shape = ConvShape { batch: 2, channels_in: 2, height: h, width: w, channels_out: 1 };
            let conv = Conv2d { kernel, padding };
            let g = Geometry::new(&conv, &shape);
            let x: Vec<f32> = (0..2 * 2 * h * w).map(|i| 1.0 + i as f32).collect();
            let mut col = vec![f32::NAN; g.k() * 2 * g.p()];
            g.im2col(&x, 2, &mut col);
            for r in 0..g.k() {
                let (c, ky, kx) = (r / (g.kh * g.kw), r / g.kw % g.kh, r % g.kw);
                for s in 0..2 {
                    for oy in 0..g.oh {
                        for ox in 0..g.ow {
                            let (y, x_) = ((oy + ky) as isize - g.pt as isize, (ox + kx) as isize - g.pl as isize);
                            let want = if (0..h as isize).contains(&y) && (0..w as isize).contains(&x_) {
                                x[((s * 2 + c) * h + y as usize) * w + x_ as usize]
                            } else {
                                0.0
                            };
                            let got = col[r * 2 * g.p() + s * g.p() + oy * g.ow + ox];
                            assert_eq!(got, want, "{h}×{w}, kernel {kernel:?}, padding {padding:?}: row {r}, sample {s}, ({oy}, {ox})");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        // ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ for any x, c: the data gradient is im2col's transpose.
        let shape = ConvShape { batch: 1, channels_in: 2, height: 4, width: 3, channels_out: 1 };
        let conv = Conv2d { kernel: [3, 3], padding: [(1, 1), (1, 1)] };
        let g = Geometry::new(&conv, &shape);
        let x: Vec<f32> = (0..24).map(|i| (i as f32 * 0.37).sin()).collect();
        let c: Vec<f32> = (0..g.k() * g.p()).map(|i| (i as f32 * 0.11).cos()).collect();
        let mut col = vec![0.0; g.k() * g.p()];
        g.im2col(&x, 1, &mut col);
        let mut dx = vec![0.0; 24];
        g.col2im(&c, 1, 0, &mut dx);
        let lhs: f32 = col.iter().zip(&c).map(|(a, b)| a * b).sum();
        let rhs: f32 = x.iter().zip(&dx).map(|(a, b)| a * b).sum();
        assert!((lhs - rhs).abs() < 1e-4, "{lhs} vs {rhs}");
    }
}
