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
    fn row_maxima(&self, plane: &[f32], [h, w]: [usize; 2], cols: &[Run], oy: usize, best: &mut [f32]) {
        best.fill(f32::NEG_INFINITY);
        let (rows, s) = (self.span(oy, h, 0), self.stride[1]);
        for y in rows.0..rows.1 {
            for run in cols {
                let cells = plane[y * w + run.offset..].iter().step_by(s);
                for (b, &v) in best[run.lo..run.hi].iter_mut().zip(cells) {
                    *b = if v > *b { v } else { *b };
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
    fn row_winners(&self, plane: &[f32], hw: [usize; 2], cols: &[Run], oy: usize, has_nan: bool, best: &mut [f32], at: &mut [u32]) {
        at.fill(NONE);
        let (rows, s, w) = (self.span(oy, hw[0], 0), self.stride[1], hw[1]);
        if has_nan {
            best.fill(f32::NEG_INFINITY);
            for y in rows.0..rows.1 {
                for run in cols {
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
            for run in cols.iter().rev() {
                let start = y * w + run.offset;
                let cells = plane[start..].iter().step_by(s).zip((start as u32..).step_by(s));
                for ((a, &m), (&v, i)) in at[run.lo..run.hi].iter_mut().zip(&best[run.lo..run.hi]).zip(cells) {
                    // All ones where the cell equals the maximum: a mask, not a branch.
                    let equal = ((v == m) as u32).wrapping_neg();
                    *a = (*a & !equal) | (i & equal);
                }
            }
        }
    }
}

/// One window column's cells in an output row's windows (see [`Pool2d::column_runs`]).
#[derive(Clone, Copy, Debug)]
struct Run {
    offset: usize,
    lo: usize,
    hi: usize,
}

fn has_nan(plane: &[f32]) -> bool {
    plane.iter().fold(false, |nan, v| nan | v.is_nan())
}

/// Forward: `x` is `[planes, h, w]` (planes = B·C), contiguous; returns `[planes, oh, ow]`.
pub fn forward(x: &[f32], planes: usize, [h, w]: [usize; 2], pool: &Pool2d) -> Vec<f32> {
    let [oh, ow] = pool.output(h, w).expect("the pool's output size was checked by the caller");
    let mut out = vec![0.0f32; planes * oh * ow];
    let (plane_in, plane_out, per_task) = (h * w, oh * ow, planes_per_task(h * w));
    let cols = pool.column_runs(w, ow);
    for_each_chunk(&mut out, per_task * plane_out, x.len(), |t, dst| {
        let mut at = vec![NONE; ow];
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
    let cols = pool.column_runs(w, ow);
    for_each_chunk(&mut dx, per_task * plane_in, x.len(), |t, dst| {
        let (mut best, mut at) = (vec![0.0f32; ow], vec![NONE; ow]);
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

    #[test]
    fn a_window_that_does_not_fit_has_no_output_size() {
        assert_eq!(P2.output(1, 4), None);
        assert_eq!(Pool2d { kernel: [3, 3], stride: [2, 2], padding: [(0, 0); 2] }.output(12, 5), Some([5, 2]));
    }
}
