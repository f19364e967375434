//! A CNN's feature stack as data: the steps from the input to the feature maps before the head.
//!
//! Every step of the image and sound CNNs is *local*: an output cell depends only on a window of
//! its input (a convolution's kernel, a pooling window) or on the same cell (activations,
//! BatchNorm and dropout at inference). So when only part of the input changes — the page's
//! trigger dragged across an image or a clip — only the cells a change reaches need computing
//! again: [`Reuse`] keeps every step's output of the last input and recomputes the windows the
//! changed rectangle reaches, step by step, splicing them into the kept maps. The networks'
//! `features` run the same steps over whole tensors, so there is one description of each stack.

use super::layers::{Activation, apply_batchnorm, apply_conv2d, apply_conv2d_padded, max_pool, pool_padding, stride1_padding_2d};
use crate::kernels::{self, Pool2d};
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, Dropout};
use burn::prelude::*;
use std::ops::Range;

/// One step of a feature stack.
pub enum Step<'a> {
    /// A convolution (stride 1) and its activation.
    Conv(&'a Conv2d, Activation),
    /// BatchNorm (pointwise at inference).
    Norm(&'a BatchNorm),
    /// Keras `MaxPooling2D`; `same`: TensorFlow's padding, padded cells never winning.
    Pool { kernel: [usize; 2], stride: [usize; 2], same: bool },
    /// Dropout (the identity at inference).
    Dropout(&'a Dropout),
}

/// How far one output cell reaches into a dimension of its input: output `o` reads input
/// `o·stride − before .. o·stride − before + kernel` (cells outside the input are padding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Reach {
    kernel: usize,
    stride: usize,
    before: usize,
    after: usize,
}

impl Reach {
    /// Output length over an input of `n`.
    fn output(&self, n: usize) -> usize {
        (n + self.before + self.after - self.kernel) / self.stride + 1
    }

    /// The outputs whose window meets the input cells `changed` (an output of length `m`).
    fn outputs_reached(&self, changed: &Range<usize>, m: usize) -> Range<usize> {
        let (s, before, k) = (self.stride as isize, self.before as isize, self.kernel as isize);
        // o·s − before + k > start  and  o·s − before < end.
        let first = (changed.start as isize + before - k).div_euclid(s) + 1;
        let end = (changed.end as isize + before - 1).div_euclid(s) + 1;
        let clamp = |v: isize| v.clamp(0, m as isize) as usize;
        clamp(first)..clamp(end).max(clamp(first))
    }

    /// The input cells outputs `outputs` read, clipped to an input of `n`, and the padding the
    /// clipped window needs before and after to give exactly those outputs.
    fn inputs_read(&self, outputs: &Range<usize>, n: usize) -> (Range<usize>, (usize, usize)) {
        let start = (outputs.start * self.stride) as isize - self.before as isize;
        let end = ((outputs.end - 1) * self.stride) as isize - self.before as isize + self.kernel as isize;
        let lo = start.clamp(0, n as isize);
        let hi = end.clamp(lo, n as isize);
        (lo as usize..hi as usize, ((lo - start).max(0) as usize, (end - hi).max(0) as usize))
    }
}

/// What an output cell of a step depends on.
enum Locality {
    /// The same cell of the input (activations, BatchNorm and dropout at inference).
    Cell,
    /// A window of the input, per dimension.
    Window([Reach; 2]),
    /// Not worked out (a strided or dilated convolution: none of the lab's networks has one):
    /// recompute everything.
    Unknown,
}

impl Step<'_> {
    /// The step over a whole tensor, as the networks' `features` run it (training included).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            Step::Conv(conv, act) => apply_conv2d(conv, x, *act),
            Step::Norm(bn) => apply_batchnorm(bn, x),
            Step::Pool { kernel, stride, same } => max_pool(x, *kernel, *stride, *same),
            Step::Dropout(d) => d.forward(x),
        }
    }

    /// How far an output cell reaches into an `h × w` input.
    fn locality(&self, [h, w]: [usize; 2]) -> Locality {
        let (kernel, stride, padding) = match self {
            Step::Conv(conv, _) if conv.stride == [1, 1] && conv.dilation == [1, 1] => {
                (conv.kernel_size, [1, 1], stride1_padding_2d(&conv.padding, conv.kernel_size, [h, w]))
            }
            Step::Conv(..) => return Locality::Unknown,
            Step::Pool { kernel, stride, same } => (*kernel, *stride, pool_padding([h, w], *kernel, *stride, *same)),
            Step::Norm(_) | Step::Dropout(_) => return Locality::Cell,
        };
        Locality::Window([0, 1].map(|i| Reach { kernel: kernel[i], stride: stride[i], before: padding[i].0, after: padding[i].1 }))
    }

    /// The step over a window of its input with the padding given (the window's share of the
    /// whole input's padding); `None` for a convolution the lab's kernel does not cover.
    fn forward_window(&self, x: Tensor<4>, padding: [(usize, usize); 2]) -> Option<Tensor<4>> {
        match self {
            Step::Conv(conv, act) => apply_conv2d_padded(conv, x, *act, padding),
            Step::Pool { kernel, stride, .. } => Some(kernels::max_pool2d(x, Pool2d { kernel: *kernel, stride: *stride, padding })),
            Step::Norm(_) | Step::Dropout(_) => Some(self.forward(x)),
        }
    }
}

/// Runs `steps` over the whole of `x`.
pub fn run(steps: &[Step<'_>], x: Tensor<4>) -> Tensor<4> {
    steps.iter().fold(x, |x, step| step.forward(x))
}

/// Every step's output for the last input one network saw (batch 1, inference), kept so that
/// the next input, if it differs in a small rectangle only, costs only the cells that rectangle
/// reaches. Belongs to one network: the kept maps are its weights' answer.
pub struct Reuse {
    device: Device,
    dims: [usize; 4],
    input: Vec<f32>,
    outputs: Vec<Tensor<4>>,
    last: Reused,
    /// Cells to recompute at the next input even where it equals the kept one.
    stale: Option<(Range<usize>, Range<usize>)>,
}

impl Reuse {
    /// How the kept input's feature maps were computed.
    pub fn last(&self) -> Reused {
        self.last
    }

    /// Marks the central quarter of the input (half its rows by half its columns) to be
    /// recomputed by the next look, changed or not: the page's warm-up runs the short path's
    /// code this way on the sample it shows, before the user's first drag needs it.
    pub fn mark_centre_stale(&mut self) {
        let [_, _, h, w] = self.dims;
        self.stale = Some((h / 4..h / 4 + h.div_ceil(2), w / 4..w / 4 + w.div_ceil(2)));
    }
}

/// The smallest rectangle holding both.
fn union(a: Option<(Range<usize>, Range<usize>)>, b: Option<(Range<usize>, Range<usize>)>) -> Option<(Range<usize>, Range<usize>)> {
    match (a, b) {
        (Some((ar, ac)), Some((br, bc))) => Some((ar.start.min(br.start)..ar.end.max(br.end), ac.start.min(bc.start)..ac.end.max(bc.end))),
        (a, b) => a.or(b),
    }
}

/// How [`features_reusing`] computed the kept maps ([`Reuse::last`]), for tests and benchmarks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reused {
    /// Nothing kept (first input, other shape or device) or too much changed: every cell.
    Full,
    /// The input equals the last one: the kept feature maps.
    Unchanged,
    /// Only the cells the changed `rows × cols` reach.
    Window { rows: usize, cols: usize },
}

/// Recompute everything once more than this share of the input's cells changed: the windows'
/// halos then cost about what the whole does.
const MOST: f64 = 0.5;

/// The bounding rectangle `(rows, cols)` of the cells where `a` and `b` (`[1, C, H, W]`) differ
/// in any channel (bit for bit), or `None` where they are equal.
fn changed_rectangle(a: &[f32], b: &[f32], [_, c, h, w]: [usize; 4]) -> Option<(Range<usize>, Range<usize>)> {
    let (mut rows, mut cols) = (usize::MAX..0, usize::MAX..0);
    for ch in 0..c {
        for y in 0..h {
            let at = (ch * h + y) * w;
            let (ra, rb) = (&a[at..at + w], &b[at..at + w]);
            let Some(first) = ra.iter().zip(rb).position(|(p, q)| p.to_bits() != q.to_bits()) else { continue };
            let last = w - 1 - ra.iter().rev().zip(rb.iter().rev()).position(|(p, q)| p.to_bits() != q.to_bits()).unwrap_or(0);
            rows = rows.start.min(y)..rows.end.max(y + 1);
            cols = cols.start.min(first)..cols.end.max(last + 1);
        }
    }
    (rows.start < rows.end).then_some((rows, cols))
}

/// The feature maps of `input` (`[1, C, H, W]` as `values`) through `steps`, recomputing only
/// what changed since the input `reuse` kept (and keeping this one instead; [`Reuse::last`]
/// says how it was computed). Equal to [`run`] up to float rounding — a window's product may be
/// blocked differently from the whole one's (`tests/page.rs` compares them along drags).
pub fn features_reusing(steps: &[Step<'_>], reuse: &mut Option<Reuse>, dims: [usize; 4], values: Vec<f32>, device: &Device) -> Tensor<4> {
    let kept = reuse.take().filter(|r| r.dims == dims && &r.device == device && r.outputs.len() == steps.len() && dims[0] == 1);
    let Some(mut kept) = kept else { return keep_full(steps, reuse, dims, values, device) };
    let Some((mut rows, mut cols)) = union(changed_rectangle(&kept.input, &values, dims), kept.stale.take()) else {
        if let Some(out) = kept.outputs.last().cloned() {
            kept.last = Reused::Unchanged;
            *reuse = Some(kept);
            return out;
        }
        return keep_full(steps, reuse, dims, values, device);
    };
    let [_, _, h, w] = dims;
    if (rows.len() * cols.len()) as f64 > MOST * (h * w) as f64 {
        return keep_full(steps, reuse, dims, values, device);
    }
    let changed = Reused::Window { rows: rows.len(), cols: cols.len() };
    let mut current = input_tensor(&values, dims, device);
    for (step, kept_out) in steps.iter().zip(kept.outputs.iter_mut()) {
        let [_, c, h, w] = current.dims();
        let [_, co, oh, ow] = kept_out.dims();
        // The window of this step's input to run it on, the outputs that gives, and the padding.
        let (in_rows, in_cols, out_rows, out_cols, padding) = match step.locality([h, w]) {
            Locality::Cell => (rows.clone(), cols.clone(), rows, cols, [(0, 0); 2]),
            Locality::Window([rr, cr]) if rr.output(h) == oh && cr.output(w) == ow => {
                let (out_rows, out_cols) = (rr.outputs_reached(&rows, oh), cr.outputs_reached(&cols, ow));
                // A change that reaches no output cell leaves this step's output and everything after.
                if out_rows.is_empty() || out_cols.is_empty() {
                    break;
                }
                let ((in_rows, pad_rows), (in_cols, pad_cols)) = (rr.inputs_read(&out_rows, h), cr.inputs_read(&out_cols, w));
                (in_rows, in_cols, out_rows, out_cols, [pad_rows, pad_cols])
            }
            Locality::Window(_) | Locality::Unknown => return keep_full(steps, reuse, dims, values, device),
        };
        // Outputs that read only padding (a padding as wide as the kernel: none of the lab's
        // layers) have no input window to cut.
        if in_rows.is_empty() || in_cols.is_empty() {
            return keep_full(steps, reuse, dims, values, device);
        }
        let Some(computed) = step.forward_window(current.slice([0..1, 0..c, in_rows, in_cols]), padding) else {
            return keep_full(steps, reuse, dims, values, device);
        };
        // The kept map is moved out (a placeholder in its place) so that the splice, its only
        // owner, writes in place instead of copying the whole map.
        let whole = std::mem::replace(kept_out, computed.clone());
        *kept_out = whole.slice_assign([0..1, 0..co, out_rows.clone(), out_cols.clone()], computed);
        current = kept_out.clone();
        (rows, cols) = (out_rows, out_cols);
    }
    let out = kept.outputs.last().cloned().unwrap_or(current);
    (kept.input, kept.last) = (values, changed);
    *reuse = Some(kept);
    out
}

fn input_tensor(values: &[f32], dims: [usize; 4], device: &Device) -> Tensor<4> {
    Tensor::<4>::from_data(TensorData::new(values.to_vec(), dims), device)
}

/// Runs every step over the whole input and keeps each output (batch 1 only: what a look has).
fn keep_full(steps: &[Step<'_>], reuse: &mut Option<Reuse>, dims: [usize; 4], input: Vec<f32>, device: &Device) -> Tensor<4> {
    let mut outputs = Vec::with_capacity(steps.len());
    let out = steps.iter().fold(input_tensor(&input, dims, device), |x, step| {
        let y = step.forward(x);
        outputs.push(y.clone());
        y
    });
    *reuse = (dims[0] == 1).then(|| Reuse { device: device.clone(), dims, input, outputs, last: Reused::Full, stale: None });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every output reached by a changed range, and no other, by brute force over the windows.
    #[test]
    fn outputs_reached_are_exactly_the_windows_meeting_the_change() {
        for (kernel, stride, before, after) in [(3, 1, 1, 1), (2, 1, 0, 0), (2, 2, 0, 0), (3, 2, 0, 0), (3, 3, 0, 1), (2, 2, 0, 1), (1, 3, 0, 0)] {
            let reach = Reach { kernel, stride, before, after };
            for n in kernel.max(3)..12 {
                if n + before + after < kernel {
                    continue;
                }
                let m = reach.output(n);
                for start in 0..n {
                    for end in start + 1..=n {
                        let got = reach.outputs_reached(&(start..end), m);
                        let want: Vec<usize> = (0..m)
                            .filter(|&o| {
                                let lo = (o * stride) as isize - before as isize;
                                (lo..lo + kernel as isize).any(|i| i >= start as isize && i < end as isize)
                            })
                            .collect();
                        assert_eq!(got.clone().collect::<Vec<_>>(), want, "{reach:?} n={n} change {start}..{end}");
                        if !got.is_empty() {
                            let (read, (pb, pa)) = reach.inputs_read(&got, n);
                            // The window with its padding gives exactly the outputs wanted.
                            assert_eq!(Reach { before: pb, after: pa, ..reach }.output(read.len()), got.len());
                            assert_eq!(read.start as isize - pb as isize, (got.start * stride) as isize - before as isize);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn changed_rectangle_bounds_every_difference_in_any_channel() {
        let dims = [1, 2, 4, 5];
        let a = vec![0.0f32; 40];
        assert_eq!(changed_rectangle(&a, &a, dims), None);
        let mut b = a.clone();
        b[(0 * 4 + 1) * 5 + 3] = 1.0; // channel 0, row 1, column 3
        b[(1 * 4 + 2) * 5 + 1] = -0.0; // channel 1, row 2, column 1: a different bit pattern
        assert_eq!(changed_rectangle(&a, &b, dims), Some((1..3, 1..4)));
    }
}
