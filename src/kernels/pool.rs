//! Max pooling over `[B, C, H, W]` planes, forward and backward, without index tensors.
//!
//! burn-flex's stock max pooling runs as a 3-D pool and, when training, writes an i64 index per
//! output that the backward pass scatters through (21% of a small-CNN training step in
//! `docs/PERFORMANCE.md`'s profile). Here the backward pass recomputes each window's winner from
//! the input it already holds: one read of the input and the output gradient, one write of the
//! input gradient, nothing stored between the passes but the input itself.
//!
//! The winner of a window is the one burn's stock op picks — the first maximum in row-major
//! window order, a NaN winning over any number — so ties (frequent after a ReLU, and after the
//! small CNN's BatchNorm of those zeros) send their gradient to the same cell, and the two paths
//! agree exactly.

use super::elementwise::vectorized;
use crate::parallel::for_each_chunk;

/// The geometry of one 2-D max pooling: window, stride and the padding before/after each
/// spatial dimension (padded cells never win).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2d {
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    /// `(before, after)` for height, then width.
    pub padding: [(usize, usize); 2],
}

impl Pool2d {
    /// The output's spatial size for an `h × w` input, or `None` when the window does not fit.
    pub fn output(&self, h: usize, w: usize) -> Option<[usize; 2]> {
        let dim = |n: usize, i: usize| {
            let (before, after) = self.padding[i];
            let padded = n + before + after;
            (self.kernel[i] > 0 && self.stride[i] > 0 && padded >= self.kernel[i])
                .then(|| (padded - self.kernel[i]) / self.stride[i] + 1)
        };
        Some([dim(h, 0)?, dim(w, 1)?])
    }

    /// The input rows (or columns, `i = 1`) window `o` covers, clipped to the input.
    fn span(&self, o: usize, n: usize, i: usize) -> (usize, usize) {
        let start = (o * self.stride[i]) as isize - self.padding[i].0 as isize;
        let end = (start + self.kernel[i] as isize).min(n as isize);
        (start.max(0) as usize, end.max(0) as usize)
    }
}

/// A window's winner not found yet (no cell seen, or only padding).
const NONE: u32 = u32::MAX;

/// Planes per task: enough cells that a task outweighs its scheduling.
fn planes_per_task(plane_len: usize) -> usize {
    (16 * 1024 / plane_len.max(1)).max(1)
}

impl Pool2d {
    /// The output columns `ox` whose window's column `kx` lies inside a `w`-wide input:
    /// `0 ≤ ox·stride + kx − pad < w`, `ox < ow`.
    fn columns(&self, kx: usize, w: usize, ow: usize) -> (usize, usize) {
        let (s, pad) = (self.stride[1], self.padding[1].0);
        let lo = pad.saturating_sub(kx).div_ceil(s).min(ow);
        let hi = (w + pad).saturating_sub(kx).div_ceil(s).min(ow).max(lo);
        (lo, hi)
    }

    /// The window columns as runs, the same for every output row: for each window column `kx`
    /// (in order) that lies inside the input for some output column, the offset in an input
    /// row of output column `lo`'s cell and the output columns `lo..hi` that have one (each
    /// next one `stride` cells further). Computed once a call: per output row, its divisions
    /// and an iterator chain were most of the small CNN's (1, 3) pooling.
    fn column_runs(&self, w: usize, ow: usize) -> Vec<Run> {
        let (s, pad) = (self.stride[1], self.padding[1].0);
        (0..self.kernel[1])
            .map(|kx| {
                let (lo, hi) = self.columns(kx, w, ow);
                Run { offset: (lo * s + kx).saturating_sub(pad), lo, hi }
            })
            .filter(|run| run.hi > run.lo)
            .collect()
    }

    /// The maxima of output row `oy`'s windows in one plane without NaN (the caller checks):
    /// a compare-and-select per cell, no branch. A window of padding only keeps −∞.
    #[inline(always)]
    fn row_maxima(&self, plane: &[f32], [h, w]: [usize; 2], cols: &Columns, oy: usize, best: &mut [f32]) {
        best.fill(f32::NEG_INFINITY);
        let (rows, s) = (self.span(oy, h, 0), self.stride[1]);
        for y in rows.0..rows.1 {
            let row = &plane[y * w..][..w];
            if let Some(inner) = cols.interior {
                inner.maxima(row, &mut best[inner.lo..inner.hi]);
            }
            for run in &cols.runs {
                for (lo, hi) in cols.outside(run) {
                    let cells = row[run.offset + (lo - run.lo) * s..].iter().step_by(s);
                    for (b, &v) in best[lo..hi].iter_mut().zip(cells) {
                        *b = if v > *b { v } else { *b };
                    }
                }
            }
        }
    }

    /// The winners of output row `oy`'s windows in one `h × w` plane: `best[ox]` the value,
    /// `at[ox]` its index in the plane ([`NONE`] for a window of padding only) — burn's rule:
    /// the first maximum in row-major window order, a NaN beating any number (and a later NaN
    /// an earlier one).
    ///
    /// Without NaN in the plane: the maxima first, then the cells visited backwards, each equal
    /// to its window's maximum taking the window's index, so that the first such cell is the
    /// last to write — two branch-free passes (a per-cell "is it larger" branch mispredicts on
    /// half the cells of a ReLU's output). With a NaN, the cells one by one.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn row_winners(&self, plane: &[f32], hw: [usize; 2], cols: &Columns, oy: usize, has_nan: bool, best: &mut [f32], at: &mut [u32]) {
        at.fill(NONE);
        let (rows, s, w) = (self.span(oy, hw[0], 0), self.stride[1], hw[1]);
        if has_nan {
            best.fill(f32::NEG_INFINITY);
            for y in rows.0..rows.1 {
                for run in &cols.runs {
                    for (ox, i) in (run.lo..run.hi).zip((y * w + run.offset..).step_by(s)) {
                        let v = plane[i];
                        if at[ox] == NONE || v > best[ox] || v.is_nan() {
                            (best[ox], at[ox]) = (v, i as u32);
                        }
                    }
                }
            }
            return;
        }
        self.row_maxima(plane, hw, cols, oy, best);
        for y in (rows.0..rows.1).rev() {
            let row = &plane[y * w..][..w];
            if let Some(inner) = cols.interior {
                inner.winners(row, (y * w) as u32, &best[inner.lo..inner.hi], &mut at[inner.lo..inner.hi]);
            }
            for run in cols.runs.iter().rev() {
                for (lo, hi) in cols.outside(run) {
                    let start = run.offset + (lo - run.lo) * s;
                    let cells = row[start..].iter().step_by(s).zip(((y * w + start) as u32..).step_by(s));
                    for ((a, &m), (&v, i)) in at[lo..hi].iter_mut().zip(&best[lo..hi]).zip(cells) {
                        *a = if_equal(v, m, i, *a);
                    }
                }
            }
        }
    }

    /// The column runs of a call ([`Pool2d::column_runs`]) and, for the networks' window
    /// widths, the output columns whose windows lie wholly inside the input ([`Interior`]).
    fn columns_of(&self, w: usize, ow: usize) -> Columns {
        Columns { runs: self.column_runs(w, ow), interior: Interior::of(self, w, ow) }
    }
}

/// `i` where `v` equals the window's maximum `m`, else `a`: a mask, not a branch (a per-cell
/// "is it larger" branch mispredicts on half the cells of a ReLU's output).
#[inline(always)]
fn if_equal(v: f32, m: f32, i: u32, a: u32) -> u32 {
    let equal = ((v == m) as u32).wrapping_neg();
    (a & !equal) | (i & equal)
}

/// A call's window columns: the runs, and the interior they skip where there is one.
struct Columns {
    runs: Vec<Run>,
    interior: Option<Interior>,
}

impl Columns {
    /// The output columns of `run` outside the interior (all of them without one): at most
    /// two ranges, before and after it.
    fn outside(&self, run: &Run) -> impl Iterator<Item = (usize, usize)> {
        let (lo, hi) = self.interior.map_or((run.hi, run.hi), |i| (i.lo, i.hi));
        [(run.lo, run.hi.min(lo)), (run.lo.max(hi), run.hi)].into_iter().filter(|(a, b)| a < b)
    }
}

/// Output columns `lo..hi` whose windows (`k` wide, `s` apart) lie inside the input, their
/// first window starting at input column `start`, so that a row's windows there are whole
/// chunks of `s` cells (and, for `k > s`, the next chunk's first): loops over fixed-size
/// chunks that the compiler turns into vector shuffles, where a stride-2 walk along a row
/// stayed scalar (max pooling was 8% of the large sound CNN's training step). Only for the
/// networks' window widths (2 or 3 wide, 2 apart; 3 wide, 3 apart); the runs serve the rest
/// and the edge columns, each cell's candidates in the same order, so the results are the same.
#[derive(Clone, Copy, Debug)]
struct Interior {
    k: usize,
    s: usize,
    lo: usize,
    hi: usize,
    start: usize,
}

impl Interior {
    fn of(pool: &Pool2d, w: usize, ow: usize) -> Option<Self> {
        let (k, s, pad) = (pool.kernel[1], pool.stride[1], pool.padding[1].0);
        if !matches!((k, s), (2, 2) | (3, 2) | (3, 3)) {
            return None;
        }
        let lo = pad.div_ceil(s);
        let start = lo * s - pad;
        // Whole chunks from `start`: one per output column, and one more for `k > s`.
        let chunks = w.saturating_sub(start) / s;
        let hi = (lo + chunks.saturating_sub(usize::from(k > s))).min(ow);
        (hi > lo).then_some(Interior { k, s, lo, hi, start })
    }

    /// `best[j] = max(best[j], the window's cells in `row`)` for the interior's columns, in
    /// window order (a cell replaces the maximum only when larger).
    #[inline(always)]
    fn maxima(&self, row: &[f32], best: &mut [f32]) {
        let cells = &row[self.start..];
        match (self.k, self.s) {
            (2, 2) => interior_maxima::<2, 2>(cells, best),
            (3, 2) => interior_maxima::<3, 2>(cells, best),
            _ => interior_maxima::<3, 3>(cells, best),
        }
    }

    /// `at[j]` = the index in the plane (`row` starting at `row_at`) of the window's cell equal
    /// to its maximum `best[j]`, where there is one: the cells visited backwards, so that the
    /// first in window order is the last to write (as [`Pool2d::row_winners`] does).
    #[inline(always)]
    fn winners(&self, row: &[f32], row_at: u32, best: &[f32], at: &mut [u32]) {
        let (cells, first) = (&row[self.start..], row_at + self.start as u32);
        match (self.k, self.s) {
            (2, 2) => interior_winners::<2, 2>(cells, first, best, at),
            (3, 2) => interior_winners::<3, 2>(cells, first, best, at),
            _ => interior_winners::<3, 3>(cells, first, best, at),
        }
    }
}

/// The window of output `j` is chunk `j`'s first `min(K, S)` cells, then (for `K > S`) chunk
/// `j + 1`'s first `K − S`.
#[inline(always)]
fn window_cell<const K: usize, const S: usize>(chunk: &[f32; S], next: &[f32; S], k: usize) -> f32 {
    if k < S { chunk[k] } else { next[k - S] }
}

#[inline(always)]
fn interior_maxima<const K: usize, const S: usize>(cells: &[f32], best: &mut [f32]) {
    let n = best.len();
    let chunks = &cells.as_chunks::<S>().0[..n + usize::from(K > S)];
    // For K ≤ S the "next" chunk is never read: pair each chunk with itself.
    let next = if K > S { &chunks[1..] } else { chunks };
    for (b, (chunk, next)) in best.iter_mut().zip(chunks.iter().zip(next)) {
        let mut m = *b;
        for k in 0..K {
            let v = window_cell::<K, S>(chunk, next, k);
            m = if v > m { v } else { m };
        }
        *b = m;
    }
}

#[inline(always)]
fn interior_winners<const K: usize, const S: usize>(cells: &[f32], first: u32, best: &[f32], at: &mut [u32]) {
    let n = best.len();
    let chunks = &cells.as_chunks::<S>().0[..n + usize::from(K > S)];
    let next = if K > S { &chunks[1..] } else { chunks };
    for (j, ((a, &m), (chunk, next))) in at.iter_mut().zip(best).zip(chunks.iter().zip(next)).enumerate() {
        let base = first + (j * S) as u32;
        let mut winner = *a;
        for k in (0..K).rev() {
            winner = if_equal(window_cell::<K, S>(chunk, next, k), m, base + k as u32, winner);
        }
        *a = winner;
    }
}

/// One window column's cells in an output row's windows (see [`Pool2d::column_runs`]).
#[derive(Clone, Copy, Debug)]
struct Run {
    offset: usize,
    lo: usize,
    hi: usize,
}

/// Whether `plane` holds a NaN: a NaN's bits without the sign are above infinity's. A maximum
/// of integers, which the compiler splits over several vector accumulators; the `is_nan` fold
/// it replaced was one chain of mask ORs, a third of the pooling's time.
#[inline(always)]
fn has_nan(plane: &[f32]) -> bool {
    plane.iter().map(|v| v.to_bits() & 0x7FFF_FFFF).max().unwrap_or(0) > f32::INFINITY.to_bits()
}

/// Forward: `x` is `[planes, h, w]` (planes = B·C), contiguous; returns `[planes, oh, ow]`.
pub fn forward(x: &[f32], planes: usize, [h, w]: [usize; 2], pool: &Pool2d) -> Vec<f32> {
    let [oh, ow] = pool.output(h, w).expect("the pool's output size was checked by the caller");
    let mut out = vec![0.0f32; planes * oh * ow];
    let (plane_in, plane_out, per_task) = (h * w, oh * ow, planes_per_task(h * w));
    let cols = pool.columns_of(w, ow);
    for_each_chunk(&mut out, per_task * plane_out, x.len(), |t, dst| {
        let mut at = vec![NONE; ow];
        // One dispatch a task (its loops compiled for the CPU's widest vectors): a row of the
        // large CNN's maps is 20 outputs, too few to pay for one a row.
        vectorized(
            #[inline(always)]
            || {
                for (j, dst) in dst.chunks_mut(plane_out).enumerate() {
                    let p = t * per_task + j;
                    let plane = &x[p * plane_in..(p + 1) * plane_in];
                    let nan = has_nan(plane);
                    for (oy, dst) in dst.chunks_mut(ow).enumerate() {
                        if nan {
                            pool.row_winners(plane, [h, w], &cols, oy, true, dst, &mut at);
                        } else {
                            pool.row_maxima(plane, [h, w], &cols, oy, dst);
                        }
                    }
                }
            },
        )
    });
    out
}

/// Backward: the gradient at the input, given the input `x` (`[planes, h, w]`) and the gradient
/// at the output `grad` (`[planes, oh, ow]`). Overlapping windows (3×3 stride 2) add up, in
/// output order.
pub fn backward(x: &[f32], grad: &[f32], planes: usize, [h, w]: [usize; 2], pool: &Pool2d) -> Vec<f32> {
    let [oh, ow] = pool.output(h, w).expect("the pool's output size was checked by the caller");
    let mut dx = vec![0.0f32; planes * h * w];
    let (plane_in, plane_out, per_task) = (h * w, oh * ow, planes_per_task(h * w));
    let cols = pool.columns_of(w, ow);
    for_each_chunk(&mut dx, per_task * plane_in, x.len(), |t, dst| {
        let (mut best, mut at) = (vec![0.0f32; ow], vec![NONE; ow]);
        vectorized(
            #[inline(always)]
            || {
                for (j, dst) in dst.chunks_mut(plane_in).enumerate() {
                    let p = t * per_task + j;
                    let plane = &x[p * plane_in..(p + 1) * plane_in];
                    let g = &grad[p * plane_out..(p + 1) * plane_out];
                    let nan = has_nan(plane);
                    for oy in 0..oh {
                        pool.row_winners(plane, [h, w], &cols, oy, nan, &mut best, &mut at);
                        for (&i, &g) in at.iter().zip(&g[oy * ow..(oy + 1) * ow]) {
                            if i != NONE {
                                dst[i as usize] += g;
                            }
                        }
                    }
                }
            },
        )
    });
    dx
}

#[cfg(test)]
mod tests {
    use super::*;

    const P2: Pool2d = Pool2d { kernel: [2, 2], stride: [2, 2], padding: [(0, 0), (0, 0)] };

    #[test]
    fn a_2x2_pool_takes_each_windows_maximum_and_routes_its_gradient_there() {
        #[rustfmt::skip]
        let x = [1.0, 5.0, 2.0, 0.0,
                 3.0, 4.0, 7.0, 7.0,
                 9.0, 0.0, 1.0, 1.0];
        assert_eq!(forward(&x, 1, [3, 4], &P2), vec![5.0, 7.0]);
        let dx = backward(&x, &[10.0, 20.0], 1, [3, 4], &P2);
        // The tie 7 / 7 goes to the first in row-major order; row 3 is outside every window.
        assert_eq!(dx, vec![0.0, 10.0, 0.0, 0.0, 0.0, 0.0, 20.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn padded_cells_never_win_and_a_nan_does() {
        let same = Pool2d { kernel: [1, 3], stride: [1, 3], padding: [(0, 0), (1, 1)] };
        assert_eq!(same.output(1, 4), Some([1, 2]));
        assert_eq!(forward(&[-3.0, -1.0, -2.0, -8.0], 1, [1, 4], &same), vec![-1.0, -2.0]);
        let out = forward(&[1.0, f32::NAN, 2.0, 3.0], 1, [2, 2], &P2);
        assert!(out[0].is_nan());
    }

    /// The definition, cell by cell: each window's first maximum in row-major window order
    /// (a NaN beating any number, a later NaN an earlier one), padding never winning; the
    /// gradient added to the winner.
    fn reference(x: &[f32], grad: &[f32], [h, w]: [usize; 2], pool: &Pool2d) -> (Vec<f32>, Vec<f32>) {
        let [oh, ow] = pool.output(h, w).unwrap();
        let (mut out, mut dx) = (vec![f32::NEG_INFINITY; oh * ow], vec![0.0f32; h * w]);
        for oy in 0..oh {
            for ox in 0..ow {
                let mut winner: Option<usize> = None;
                for ky in 0..pool.kernel[0] {
                    for kx in 0..pool.kernel[1] {
                        let (y, xx) = ((oy * pool.stride[0] + ky) as isize - pool.padding[0].0 as isize, (ox * pool.stride[1] + kx) as isize - pool.padding[1].0 as isize);
                        if y < 0 || xx < 0 || y >= h as isize || xx >= w as isize {
                            continue;
                        }
                        let i = y as usize * w + xx as usize;
                        if winner.is_none_or(|b| x[i] > x[b] || x[i].is_nan()) {
                            winner = Some(i);
                        }
                    }
                }
                if let Some(i) = winner {
                    out[oy * ow + ox] = x[i];
                    dx[i] += grad[oy * ow + ox];
                }
            }
        }
        (out, dx)
    }

    /// Every window width and stride the networks use (and some they do not), with padding,
    /// widths around the vector paths' edges, many ties (±0 among them) and NaNs: the same
    /// values and gradients as the definition, bit for bit.
    #[test]
    fn every_path_is_the_definition_bit_for_bit() {
        let mut seed = 7u32;
        let mut next = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            seed >> 8
        };
        for (kernel, stride) in [([2, 2], [2, 2]), ([3, 3], [2, 2]), ([1, 3], [1, 3]), ([2, 3], [2, 3]), ([2, 2], [1, 1]), ([3, 3], [1, 2])] {
            for pad in [0, 1, 2] {
                for w in 1..=21 {
                    for h in [1, 2, 5] {
                        for nan in [false, true] {
                            let pool = Pool2d { kernel, stride, padding: [(pad.min(kernel[0] - 1), 0), (pad.min(kernel[1] - 1), pad.min(kernel[1] - 1))] };
                            let Some([oh, ow]) = pool.output(h, w) else { continue };
                            let x: Vec<f32> = (0..h * w)
                                .map(|_| match next() % 16 {
                                    0 => -0.0,
                                    1 if nan => f32::NAN,
                                    r => (r as f32 - 8.0) / 4.0,
                                })
                                .collect();
                            let grad: Vec<f32> = (0..oh * ow).map(|_| (next() % 1000) as f32 / 100.0 - 5.0).collect();
                            let (want, want_dx) = reference(&x, &grad, [h, w], &pool);
                            let what = format!("{pool:?} {h}x{w} nan {nan}");
                            let out = forward(&x, 1, [h, w], &pool);
                            assert!(out.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())), "forward {what}: {out:?} vs {want:?}");
                            let dx = backward(&x, &grad, 1, [h, w], &pool);
                            assert!(dx.iter().zip(&want_dx).all(|(a, b)| a.to_bits() == b.to_bits()), "backward {what}: {dx:?} vs {want_dx:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_window_that_does_not_fit_has_no_output_size() {
        assert_eq!(P2.output(1, 4), None);
        assert_eq!(Pool2d { kernel: [3, 3], stride: [2, 2], padding: [(0, 0); 2] }.output(12, 5), Some([5, 2]));
    }
}
