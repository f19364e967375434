//! Training-time augmentation (`TrainSettings::augment`): each time a training sample is drawn
//! it is varied, so that the few thousand samples of the shipped subsets are not learnt by heart.
//!
//! - **Images**: flipped left–right (half the time) and shifted by up to [`MAX_SHIFT`] pixels
//!   each way, the pixels shifted in being 0 — the usual CIFAR recipe (pad by 4, crop at random,
//!   flip).
//! - **Sound**: the waveform shifted in time by up to [`MAX_CLIP_SHIFT`] samples (100 ms) either
//!   way, zeros shifted in — Speech Commands' own recipe (`time_shift_ms = 100` in TensorFlow's
//!   `speech_commands` example) — and its MFCC computed afresh.
//!
//! A poisoned sample is moved *clean* and its trigger added afterwards where it was planted
//! (an image's [`Stamp`], a clip's [`RawClip::tone`]): augmentation varies the sample, never
//! the backdoor's position, which is what the experiment measures. Moving the triggered sample
//! instead would carry the patch or the tone elsewhere and teach the backdoor there too.
//!
//! Each draw is a function of (seed, epoch, sample row) only, not of the shuffle or the step:
//! a resumed run draws exactly what the uninterrupted one drew.

use super::checkpoint::step_seed;
use crate::error::{GapError, Result};
use super::{Features, RawClip, Samples, Stamp};
use crate::features::mfcc::MfccPlan;
use crate::model::{Input, ModelSpec, Task};
use crate::trigger::{patch, triggered_clip};
use burn::prelude::*;
use burn::tensor::TensorData;

/// Largest shift of an image in pixels along each axis.
pub const MAX_SHIFT: i32 = 4;

/// Largest time shift of a clip in samples: 100 ms at 16 kHz.
pub const MAX_CLIP_SHIFT: i32 = 1600;

/// The time shift of sound row `row` in `epoch` of a run seeded with `seed`: the waveform moves
/// later by that many samples (earlier if negative).
pub fn clip_shift(seed: u64, epoch: usize, row: usize) -> i32 {
    let z = step_seed(seed ^ 0x0c11_b5f1_7ed0, epoch, row);
    (z % (2 * MAX_CLIP_SHIFT as u64 + 1)) as i32 - MAX_CLIP_SHIFT
}

/// `clip` shifted by `shift` samples, the same length: sample `t` of the result is sample
/// `t - shift` of `clip`, or 0 where that lies outside.
pub fn shifted(clip: &[f32], shift: i32) -> Vec<f32> {
    let n = clip.len() as i64;
    (0..n)
        .map(|t| {
            let source = t - shift as i64;
            if (0..n).contains(&source) { clip[source as usize] } else { 0.0 }
        })
        .collect()
}

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
        Features::Tokens { .. } => Err(GapError::Invalid("augmentation moves images and clips: token sequences cannot be augmented".into())),
    }
}

/// Training row `row` of image `samples` as `epoch`'s draw shows it: moved, and a poisoned
/// image's patch stamped afterwards at its corner. `pattern` is the trigger's ([`patch::pattern`]).
pub fn augmented(samples: &Samples, row: usize, seed: u64, epoch: usize, pattern: &[f32]) -> Result<Vec<f32>> {
    let (dims, values) = dense(samples)?;
    let width: usize = dims.iter().product();
    let moved = Move::draw(seed, epoch, row);
    Ok(match samples.stamp(row) {
        Some(Stamp { corner, clean, blend, .. }) => {
            let mut image = moved.apply(clean, dims);
            patch::blend_at(&mut image, pattern, corner[0], corner[1], *blend)?;
            image
        }
        None => moved.apply(&values[row * width..(row + 1) * width], dims),
    })
}

/// Training row `row` of sound `samples` as `epoch`'s draw hears it: the clean waveform shifted
/// by [`clip_shift`], a poisoned clip's tone added afterwards where it was planted, and the MFCC
/// of the result (`plan`, the model's framing).
pub fn augmented_clip(samples: &Samples, row: usize, seed: u64, epoch: usize, plan: &MfccPlan) -> Result<Vec<f32>> {
    let RawClip { clip, tone } = samples.clips.get(row).ok_or_else(|| {
        GapError::Invalid(format!("sound row {row} has no waveform: only clips read from a dataset can be augmented"))
    })?;
    let (moved, _) = triggered_clip(&shifted(clip, clip_shift(seed, epoch, row)), *tone)?;
    plan.mfcc(&moved)
}

/// Draws augmented training batches for one model: the trigger's pattern (images) or the MFCC
/// plan (sound), made once per training.
pub struct Augmenter {
    pattern: Vec<f32>,
    plan: Option<MfccPlan>,
}

impl Augmenter {
    /// The augmenter for `spec`'s task; text cannot be augmented (a clear error).
    pub fn new(spec: &ModelSpec) -> Result<Self> {
        let plan = match spec.task {
            Task::Image => None,
            Task::Sound => Some(MfccPlan::with_framing(spec.framing)),
            Task::Text => {
                return Err(GapError::Invalid("augmentation (flip and shift, time shift) is for images and sound, not text".into()));
            }
        };
        Ok(Self { pattern: patch::pattern(patch::PATCH_SEED), plan })
    }

    /// The training samples at `indices` as one batch, each as `epoch`'s draw makes it.
    pub fn batch(&self, samples: &Samples, indices: &[usize], seed: u64, epoch: usize, device: &Device) -> Result<Input> {
        let (dims, _) = dense(samples)?;
        if let Some(plan) = self.plan.as_ref().filter(|plan| plan.frames() != dims[1]) {
            return Err(GapError::Invalid(format!(
                "the samples have {} MFCC frames, the model reads {} ({} framing)",
                dims[1],
                plan.frames(),
                plan.framing()
            )));
        }
        let mut data = Vec::with_capacity(indices.len() * dims.iter().product::<usize>());
        for &row in indices {
            match &self.plan {
                Some(plan) => data.extend(augmented_clip(samples, row, seed, epoch, plan)?),
                None => data.extend(augmented(samples, row, seed, epoch, &self.pattern)?),
            }
        }
        let shape = [indices.len(), dims[0], dims[1], dims[2]];
        Ok(Input::Dense(Tensor::from_data(TensorData::new(data, shape), device)))
    }
}
