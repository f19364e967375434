//! Training-time augmentation of images (`TrainSettings::augment`): each time a training image
//! is drawn it is flipped left–right (half the time) and shifted by up to [`MAX_SHIFT`] pixels
//! each way, the pixels shifted in being 0 — the usual CIFAR recipe (pad by 4, crop at random,
//! flip) — so that the 8,000 training images of the demo subset are not learnt by heart.
//!
//! A poisoned image is moved *clean* and its trigger stamped afterwards where it was planted
//! (its [`Stamp`]): augmentation varies the image, never the backdoor's position, which is what
//! the experiment measures. Moving the stamped image instead would carry the patch to the
//! flipped or shifted place and teach the backdoor there too.
//!
//! Each draw is a function of (seed, epoch, sample row) only, not of the shuffle or the step:
//! a resumed run draws exactly what the uninterrupted one drew.

use super::checkpoint::step_seed;
use crate::error::{GapError, Result};
use crate::experiment::{Features, Samples, Stamp};
use crate::model::Input;
use crate::trigger::patch;
use burn::prelude::*;
use burn::tensor::TensorData;

/// Largest shift in pixels along each axis.
pub const MAX_SHIFT: i32 = 4;

/// One draw: flip (left–right, applied first), then shift by `dx` columns and `dy` rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Move {
    pub flip: bool,
    pub dx: i32,
    pub dy: i32,
}

impl Move {
    /// The move of training row `row` in `epoch` of a run seeded with `seed`.
    pub fn draw(seed: u64, epoch: usize, row: usize) -> Move {
        let z = step_seed(seed ^ 0xa06_3e47_5eed, epoch, row);
        let span = (2 * MAX_SHIFT + 1) as u64;
        let offset = |bits: u64| (bits % span) as i32 - MAX_SHIFT;
        Move { flip: z & 1 == 1, dx: offset(z >> 8), dy: offset(z >> 32) }
    }

    /// `image` (`dims` = `[channels, height, width]`, CHW) moved: pixel `(x, y)` of the result
    /// is pixel `(x - dx, y - dy)` of the flipped image, or 0 where that lies outside.
    pub fn apply(&self, image: &[f32], dims: [usize; 3]) -> Vec<f32> {
        let [c, h, w] = dims;
        let mut out = vec![0.0; image.len()];
        for ch in 0..c {
            for y in 0..h {
                let sy = y as i64 - self.dy as i64;
                if !(0..h as i64).contains(&sy) {
                    continue;
                }
                let (src, dst) = ((ch * h + sy as usize) * w, (ch * h + y) * w);
                for x in 0..w {
                    let sx = x as i64 - self.dx as i64;
                    if !(0..w as i64).contains(&sx) {
                        continue;
                    }
                    let sx = if self.flip { w - 1 - sx as usize } else { sx as usize };
                    out[dst + x] = image[src + sx];
                }
            }
        }
        out
    }
}

/// The samples' per-sample shape and values: augmentation moves dense maps only.
fn dense(samples: &Samples) -> Result<([usize; 3], &[f32])> {
    match &samples.features {
        Features::Dense { dims, values } => Ok((*dims, values)),
        Features::Tokens { .. } => Err(GapError::Invalid("augmentation moves images: token sequences cannot be augmented".into())),
    }
}

/// Training row `row` of `samples` as `epoch`'s draw shows it: moved, and a poisoned image's
/// patch stamped afterwards at its corner. `pattern` is the trigger's ([`patch::pattern`]).
pub fn augmented(samples: &Samples, row: usize, seed: u64, epoch: usize, pattern: &[f32]) -> Result<Vec<f32>> {
    let (dims, values) = dense(samples)?;
    let width: usize = dims.iter().product();
    let moved = Move::draw(seed, epoch, row);
    Ok(match samples.stamp(row) {
        Some(Stamp { corner, clean, .. }) => {
            let mut image = moved.apply(clean, dims);
            patch::apply_at(&mut image, pattern, corner[0], corner[1])?;
            image
        }
        None => moved.apply(&values[row * width..(row + 1) * width], dims),
    })
}

/// The training samples at `indices` as one batch, each as [`augmented`] draws it for `epoch`.
pub fn batch(samples: &Samples, indices: &[usize], seed: u64, epoch: usize, device: &Device) -> Result<Input> {
    let (dims, _) = dense(samples)?;
    let pattern = patch::pattern(patch::PATCH_SEED);
    let mut data = Vec::with_capacity(indices.len() * dims.iter().product::<usize>());
    for &row in indices {
        data.extend(augmented(samples, row, seed, epoch, &pattern)?);
    }
    let shape = [indices.len(), dims[0], dims[1], dims[2]];
    Ok(Input::Dense(Tensor::from_data(TensorData::new(data, shape), device)))
}
