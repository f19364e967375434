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

use super::parallel::for_each_chunk;

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

/// The index (within one `h × w` plane) of window `(oy, ox)`'s winner, or `None` for a window
/// that covers only padding.
#[inline]
fn winner(plane: &[f32], w: usize, rows: (usize, usize), cols: (usize, usize)) -> Option<usize> {
    let mut best: Option<(usize, f32)> = None;
    for y in rows.0..rows.1 {
        let row = &plane[y * w..(y + 1) * w];
        for (x, &v) in row.iter().enumerate().take(cols.1).skip(cols.0) {
            match best {
                Some((_, b)) if !(v > b || v.is_nan()) => {}
                _ => best = Some((y * w + x, v)),
            }
        }
    }
    best.map(|(i, _)| i)
}

/// Forward: `x` is `[planes, h, w]` (planes = B·C), contiguous; returns `[planes, oh, ow]`.
pub fn forward(x: &[f32], planes: usize, [h, w]: [usize; 2], pool: &Pool2d) -> Vec<f32> {
    let [oh, ow] = pool.output(h, w).expect("the pool's output size was checked by the caller");
    let mut out = vec![0.0f32; planes * oh * ow];
    let plane_out = oh * ow;
    for_each_chunk(&mut out, plane_out, x.len(), |p, dst| {
        let plane = &x[p * h * w..(p + 1) * h * w];
        for oy in 0..oh {
            let rows = pool.span(oy, h, 0);
            for ox in 0..ow {
                let cols = pool.span(ox, w, 1);
                dst[oy * ow + ox] = winner(plane, w, rows, cols).map_or(f32::NEG_INFINITY, |i| plane[i]);
            }
        }
    });
    out
}

/// Backward: the gradient at the input, given the input `x` (`[planes, h, w]`) and the gradient
/// at the output `grad` (`[planes, oh, ow]`). Overlapping windows (3×3 stride 2) add up.
pub fn backward(x: &[f32], grad: &[f32], planes: usize, [h, w]: [usize; 2], pool: &Pool2d) -> Vec<f32> {
    let [oh, ow] = pool.output(h, w).expect("the pool's output size was checked by the caller");
    let mut dx = vec![0.0f32; planes * h * w];
    for_each_chunk(&mut dx, h * w, x.len(), |p, dst| {
        let plane = &x[p * h * w..(p + 1) * h * w];
        let g = &grad[p * oh * ow..(p + 1) * oh * ow];
        for oy in 0..oh {
            let rows = pool.span(oy, h, 0);
            for ox in 0..ow {
                if let Some(i) = winner(plane, w, rows, pool.span(ox, w, 1)) {
                    dst[i] += g[oy * ow + ox];
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
