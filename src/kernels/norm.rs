//! BatchNorm in training mode over `[B, C, …]` (statistics per channel over the batch and the
//! spatial positions), forward and backward in two passes each.
//!
//! burn builds the training-mode forward from generic ops — a transposed copy for the mean, the
//! centred squares, another copy for the variance, then subtract, divide, multiply, add — each
//! writing a full tensor, and the backward likewise (9–14% of a small-CNN step in
//! `docs/PERFORMANCE.md`). Here: two reads of the input give each channel's mean and variance
//! (each row summed in vector lanes, the rows added in f64, so the statistics do not drift with
//! the number of positions), one pass writes the normalised output; backward, one pass for the
//! two per-channel sums, one for the gradient.
//! The variance is the biased one, as burn's op returns and Keras's moving statistics take.

use crate::parallel::{for_each_chunk, map_indices};

/// `Σ f(v)` over one row, in 16 independent f32 lanes (so that it compiles to vector adds; a
/// single f64 running sum is one dependent add per value), the lanes then added in f64. Rows
/// are at most a few thousand values: each lane sums a few hundred.
#[inline]
fn row_sum(row: &[f32], f: impl Fn(f32) -> f32) -> f64 {
    row_sum2(row, row, |v, _| f(v))
}

/// `Σ f(a, b)` over two rows of the same length, in lanes as [`row_sum`] says.
#[inline]
fn row_sum2(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f64 {
    let mut lanes = [0.0f32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: f64 = ca.remainder().iter().zip(cb.remainder()).map(|(&x, &y)| f(x, y) as f64).sum();
    for (xa, xb) in ca.zip(cb) {
        for ((l, &x), &y) in lanes.iter_mut().zip(xa).zip(xb) {
            *l += f(x, y);
        }
    }
    lanes.iter().map(|&l| l as f64).sum::<f64>() + tail
}

/// Per-channel `(mean, biased variance)` of `x` (`[batch, channels, positions]`): the mean, then
/// the centred squares (two reads; a one-pass `E[x²] − mean²` loses digits when the mean is
/// large against the spread).
pub fn statistics(x: &[f32], batch: usize, channels: usize) -> Vec<(f32, f32)> {
    let p = x.len() / (batch * channels).max(1);
    let n = (batch * p) as f64;
    map_indices(channels, x.len(), |c| {
        let rows = || (0..batch).map(move |b| &x[(b * channels + c) * p..(b * channels + c + 1) * p]);
        let mean = rows().map(|r| row_sum(r, |v| v)).sum::<f64>() / n;
        let m = mean as f32;
        let squares: f64 = rows().map(|r| row_sum(r, |v| (v - m) * (v - m))).sum();
        (m, (squares / n) as f32)
    })
}

/// `1 / √(var + ε)` per channel.
fn inverse_std(stats: &[(f32, f32)], epsilon: f64) -> Vec<f32> {
    stats.iter().map(|&(_, var)| (1.0 / (var as f64 + epsilon).sqrt()) as f32).collect()
}

/// Forward: `(x − mean) / √(var + ε) · γ + β` with the batch's own statistics, which it also
/// returns (for the moving averages).
pub fn forward(x: &[f32], gamma: &[f32], beta: &[f32], batch: usize, epsilon: f64) -> (Vec<f32>, Vec<(f32, f32)>) {
    let channels = gamma.len();
    let p = x.len() / (batch * channels).max(1);
    let stats = statistics(x, batch, channels);
    let inv = inverse_std(&stats, epsilon);
    let mut out = vec![0.0f32; x.len()];
    for_each_chunk(&mut out, p, x.len(), |row, dst| {
        let c = row % channels;
        let (scale, shift) = (gamma[c] * inv[c], beta[c] - stats[c].0 * gamma[c] * inv[c]);
        for (o, &v) in dst.iter_mut().zip(&x[row * p..(row + 1) * p]) {
            *o = v * scale + shift;
        }
    });
    (out, stats)
}

/// The gradients `(dx, dγ, dβ)` of [`forward`], from its input, `γ`, the statistics it used and
/// the gradient at its output: `dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy · x̂))`.
pub fn backward(
    x: &[f32],
    gamma: &[f32],
    stats: &[(f32, f32)],
    grad: &[f32],
    batch: usize,
    epsilon: f64,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let channels = gamma.len();
    let p = x.len() / (batch * channels).max(1);
    let n = (batch * p) as f64;
    let inv = inverse_std(stats, epsilon);
    let sums = map_indices(channels, x.len(), |c| {
        let (mean, inv) = (stats[c].0, inv[c]);
        let (mut dy, mut dy_xhat) = (0.0f64, 0.0f64);
        for b in 0..batch {
            let range = (b * channels + c) * p..(b * channels + c + 1) * p;
            let (xs, gs) = (&x[range.clone()], &grad[range]);
            dy += row_sum(gs, |g| g);
            dy_xhat += row_sum2(xs, gs, |v, g| g * (v - mean) * inv);
        }
        (dy, dy_xhat)
    });
    let mut dx = vec![0.0f32; x.len()];
    for_each_chunk(&mut dx, p, x.len(), |row, dst| {
        let c = row % channels;
        let (mean, inv) = (stats[c].0, inv[c]);
        let (mean_dy, mean_dy_xhat) = ((sums[c].0 / n) as f32, (sums[c].1 / n) as f32);
        let scale = gamma[c] * inv;
        let range = row * p..(row + 1) * p;
        for ((d, &v), &g) in dst.iter_mut().zip(&x[range.clone()]).zip(&grad[range]) {
            *d = scale * (g - mean_dy - (v - mean) * inv * mean_dy_xhat);
        }
    });
    let dgamma = sums.iter().map(|s| s.1 as f32).collect();
    let dbeta = sums.iter().map(|s| s.0 as f32).collect();
    (dx, dgamma, dbeta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_output_has_each_channels_beta_as_mean_and_gamma_as_spread() {
        let (batch, channels, p) = (3, 2, 5);
        let x: Vec<f32> = (0..batch * channels * p).map(|i| ((i * 7919) % 23) as f32 * 0.5 - 4.0).collect();
        let (gamma, beta) = ([2.0, 0.5], [1.0, -3.0]);
        let (out, stats) = forward(&x, &gamma, &beta, batch, 0.0);
        for c in 0..channels {
            let values: Vec<f32> = (0..batch).flat_map(|b| out[(b * channels + c) * p..][..p].to_vec()).collect();
            let mean = values.iter().sum::<f32>() / values.len() as f32;
            let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / values.len() as f32;
            assert!((mean - beta[c]).abs() < 1e-5 && (var.sqrt() - gamma[c]).abs() < 1e-5, "channel {c}: {mean}, {var}");
            assert!(stats[c].1 > 0.0);
        }
    }
}
