//! Splitting, poisoning and feature extraction for the three tasks.
//!
//! Poisoning follows the reference code: `count` training samples that are not of the target
//! class get the trigger and the target label (they replace the clean originals), and 20% as
//! many validation samples are poisoned the same way. Every choice flows from the seed.

use crate::data::speech::Clip;
use crate::data::{TaskData, split};
use crate::error::{GapError, Result};
use crate::features::mfcc::{COEFFS, Framing, MfccPlan};
use crate::features::text::{SEQ_LEN, VOCAB_SIZE, Vocab};
use crate::model::{ModelSpec, Task};
use crate::train::{Features, RawClip, Samples, Stamp};
use crate::trigger::patch::Blend;
use crate::trigger::{Placement, PoisonConfig, patch, patch_corner, triggered_clip, triggered_image, triggered_text};

/// Train/validation/test samples ready for a network, and what was done to them.
pub struct Prepared {
    pub train: Samples,
    pub val: Samples,
    /// Clean test samples.
    pub test: Samples,
    /// The vocabulary (text only), built on the (poisoned) training reviews.
    pub vocab: Option<Vocab>,
    pub poisoned_train: usize,
    pub poisoned_val: usize,
    pub classes: Vec<String>,
}

/// Clean test samples and, per test placement, the non-target test samples with the trigger.
pub struct TestSets {
    pub clean: Samples,
    pub attack: Vec<(Placement, Samples)>,
}

/// Indices of `split` split three ways for the task: (train, val, test).
fn splits(data: &TaskData, seed: u64) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    match data {
        TaskData::Sound(d) => {
            let s = split::sound_split(d.clips.len(), seed);
            (s.train, s.val, s.test)
        }
        TaskData::Text(d) => {
            let (train, val) = split::every_fifth(d.train.len());
            (train, val, (0..d.test.len()).collect())
        }
        TaskData::Image(d) => {
            let (train, val) = split::holdout(d.train.len(), 0.2, seed);
            (train, val, (0..d.test.len()).collect())
        }
    }
}

/// The test split of `seed` as indices into the test side the page's sample picker shows
/// (`page::sample`): held-out clips for sound (the split a model trained with `seed` never
/// saw), the official test set otherwise.
pub fn test_indices(data: &TaskData, seed: u64) -> Vec<usize> {
    splits(data, seed).2
}

/// `count` seeded picks among `indices` whose label is not `target`.
fn pick_victims(data: &TaskData, indices: &[usize], count: usize, target: usize, seed: u64) -> Result<Vec<usize>> {
    let candidates: Vec<usize> = indices.iter().copied().filter(|&i| data.pool_label(i) != target).collect();
    if count > candidates.len() {
        return Err(GapError::Invalid(format!(
            "cannot poison {count} samples: only {} non-target samples in this split",
            candidates.len()
        )));
    }
    let perm = split::permutation(candidates.len(), seed);
    let mut picked: Vec<usize> = perm[..count].iter().map(|&j| candidates[j]).collect();
    picked.sort_unstable();
    Ok(picked)
}

/// Feature extraction for one task, with a trigger or without.
struct Encoder<'a> {
    plan: Option<MfccPlan>,
    vocab: Option<&'a Vocab>,
    pattern: Vec<f32>,
    blend: Blend,
}

impl<'a> Encoder<'a> {
    fn new(task: Task, framing: Framing, blend: Blend, vocab: Option<&'a Vocab>) -> Self {
        Self {
            plan: (task == Task::Sound).then(|| MfccPlan::with_framing(framing)),
            vocab,
            pattern: patch::pattern(patch::PATCH_SEED),
            blend,
        }
    }

    fn empty(&self, task: Task) -> Features {
        match task {
            Task::Sound => {
                let frames = self.plan.as_ref().map_or(Framing::Valid.frames(), MfccPlan::frames);
                Features::Dense { dims: [1, frames, COEFFS], values: Vec::new() }
            }
            Task::Text => Features::Tokens { len: SEQ_LEN, ids: Vec::new() },
            Task::Image => Features::Dense { dims: [3, 32, 32], values: Vec::new() },
        }
    }

    fn sound(&self, samples: &[f32], trigger: Option<Placement>, out: &mut Vec<f32>) -> Result<()> {
        let (clip, _) = triggered_clip(samples, trigger)?;
        let plan = self.plan.as_ref().expect("sound encoder has a plan");
        out.extend(plan.mfcc(&clip)?);
        Ok(())
    }

    /// A dataset clip: clean, from (or into) the clip's cache; triggered, computed afresh.
    fn sound_clip(&self, clip: &Clip, trigger: Option<Placement>, out: &mut Vec<f32>) -> Result<()> {
        match trigger {
            None => {
                let plan = self.plan.as_ref().expect("sound encoder has a plan");
                out.extend_from_slice(clip.clean_mfcc.get_or_compute(plan.framing().index(), || plan.mfcc(&clip.samples))?);
                Ok(())
            }
            Some(_) => self.sound(&clip.samples, trigger, out),
        }
    }

    fn text(&self, review: &str, trigger: Option<Placement>, out: &mut Vec<i32>) -> Result<()> {
        let text = triggered_text(review, trigger)?.0;
        let vocab = self.vocab.expect("text encoder has a vocabulary");
        out.extend(vocab.encode(&text, SEQ_LEN).into_iter().map(|t| t as i32));
        Ok(())
    }

    fn image(&self, pixels: &[u8], trigger: Option<Placement>, out: &mut Vec<f32>) -> Result<()> {
        out.extend(triggered_image(pixels, &self.pattern, self.blend, trigger)?.0);
        Ok(())
    }

    /// Appends sample `i` of `pool` (train or test side) to `features`.
    fn push(&self, data: &TaskData, test_side: bool, i: usize, trigger: Option<Placement>, features: &mut Features) -> Result<()> {
        match (data, features) {
            (TaskData::Sound(d), Features::Dense { values, .. }) => self.sound_clip(&d.clips[i], trigger, values),
            (TaskData::Text(d), Features::Tokens { ids, .. }) => {
                let review = if test_side { &d.test[i] } else { &d.train[i] };
                self.text(&review.text, trigger, ids)
            }
            (TaskData::Image(d), Features::Dense { values, .. }) => {
                let image = if test_side { &d.test[i] } else { &d.train[i] };
                self.image(&image.pixels, trigger, values)
            }
            _ => unreachable!("encoder and features of different tasks"),
        }
    }

    /// Samples for `indices`; those in `poisoned` (sorted) get the trigger and `target`.
    fn samples(
        &self,
        data: &TaskData,
        test_side: bool,
        indices: &[usize],
        poisoned: &[usize],
        trigger: Option<Placement>,
        target: usize,
    ) -> Result<Samples> {
        let mut features = self.empty(data.task());
        let mut labels = Vec::with_capacity(indices.len());
        let mut stamps = Vec::new();
        let mut clips = Vec::new();
        for &i in indices {
            let poison = poisoned.binary_search(&i).is_ok();
            let tone = if poison { trigger } else { None };
            self.push(data, test_side, i, tone, &mut features)?;
            if let TaskData::Sound(d) = data {
                // The waveform (shared, not copied), for augmentation to shift and tone again.
                clips.push(RawClip { clip: d.clips[i].samples.clone(), tone });
            }
            if let (true, TaskData::Image(d)) = (poison, data) {
                // The clean image and the patch's corner, for augmentation to stamp again.
                if let Some(corner) = patch_corner(trigger)? {
                    let image = if test_side { &d.test[i] } else { &d.train[i] };
                    let (clean, _) = triggered_image(&image.pixels, &self.pattern, self.blend, None)?;
                    stamps.push(Stamp { row: labels.len(), corner, clean, blend: self.blend });
                }
            }
            let label = if test_side { data.test_label(i) } else { data.pool_label(i) };
            labels.push(if poison { target } else { label });
        }
        Ok(Samples { stamps, clips, ..Samples::new(features, labels) })
    }
}

/// Splits, poisons and encodes `data` for `spec`.
pub fn prepare(data: &TaskData, spec: &ModelSpec, poison: &PoisonConfig, seed: u64) -> Result<Prepared> {
    if data.task() != spec.task {
        return Err(GapError::Invalid(format!("{} data cannot train a {} model", data.task(), spec.task)));
    }
    let classes = data.classes();
    if spec.task != Task::Text && classes.len() != spec.classes {
        return Err(GapError::Invalid(format!(
            "the data has {} classes, the model {}",
            classes.len(),
            spec.classes
        )));
    }
    if poison.target >= classes.len() {
        return Err(GapError::Invalid(format!("target class {} out of range", poison.target)));
    }
    let (train_idx, val_idx, test_idx) = splits(data, seed);
    let (poison_train, poison_val) = match poison.placement {
        Some(_) => (
            pick_victims(data, &train_idx, poison.count, poison.target, seed ^ 0x7071_5011)?,
            pick_victims(data, &val_idx, poison.count / 5, poison.target, seed ^ 0x7a11_da7e)?,
        ),
        None => (Vec::new(), Vec::new()),
    };
    let vocab = match data {
        TaskData::Text(d) => {
            let texts: Vec<String> = train_idx
                .iter()
                .map(|&i| {
                    let trigger = poison_train.binary_search(&i).is_ok().then_some(poison.placement).flatten();
                    triggered_text(&d.train[i].text, trigger).map(|(text, _)| text)
                })
                .collect::<Result<_>>()?;
            Some(Vocab::build(texts.iter().map(|s| s.as_str()), VOCAB_SIZE))
        }
        _ => None,
    };
    let encoder = Encoder::new(spec.task, spec.framing, poison.blend, vocab.as_ref());
    let train = encoder.samples(data, false, &train_idx, &poison_train, poison.placement, poison.target)?;
    let val = encoder.samples(data, false, &val_idx, &poison_val, poison.placement, poison.target)?;
    let test = encoder.samples(data, spec.task != Task::Sound, &test_idx, &[], None, poison.target)?;
    Ok(Prepared {
        train,
        val,
        test,
        poisoned_train: poison_train.len(),
        poisoned_val: poison_val.len(),
        vocab,
        classes,
    })
}

/// Clean and triggered test samples, encoded for `spec`'s features. `all` uses every sample
/// of the data (another copy of the dataset); otherwise the test split of `seed`. Attack sets
/// hold only non-target samples; image triggers are stamped as `blend` says (the model's).
#[allow(clippy::too_many_arguments)]
pub fn test_sets(
    data: &TaskData,
    spec: &ModelSpec,
    vocab: Option<&Vocab>,
    seed: u64,
    all: bool,
    target: usize,
    blend: Blend,
    placements: &[Placement],
) -> Result<TestSets> {
    let task = data.task();
    let test_side = task != Task::Sound && !all;
    let indices: Vec<usize> = match (data, all) {
        (TaskData::Sound(d), true) => (0..d.clips.len()).collect(),
        (TaskData::Text(d), true) => (0..d.train.len()).collect(),
        (TaskData::Image(d), true) => (0..d.train.len()).collect(),
        _ => splits(data, seed).2,
    };
    // `all` over text/image: every train-side sample, then every test-side sample.
    let encoder = Encoder::new(task, spec.framing, blend, vocab);
    let label = |side: bool, i: usize| if side { data.test_label(i) } else { data.pool_label(i) };
    let mut sides: Vec<(bool, Vec<usize>)> = vec![(test_side, indices)];
    if all && task != Task::Sound {
        let n_test = match data {
            TaskData::Text(d) => d.test.len(),
            TaskData::Image(d) => d.test.len(),
            TaskData::Sound(_) => 0,
        };
        sides.push((true, (0..n_test).collect()));
    }
    let mut clean: Option<Samples> = None;
    for (side, idx) in &sides {
        let s = encoder.samples(data, *side, idx, &[], None, target)?;
        clean = Some(match clean {
            Some(c) => c.concat(&s),
            None => s,
        });
    }
    let clean = clean.expect("at least one side");
    if clean.is_empty() {
        return Err(GapError::bad_dataset(task.name(), "no test samples"));
    }
    let mut attack = Vec::new();
    for &placement in placements {
        let mut set: Option<Samples> = None;
        for (side, idx) in &sides {
            let victims: Vec<usize> = idx.iter().copied().filter(|&i| label(*side, i) != target).collect();
            let s = encoder.samples(data, *side, &victims, &victims, Some(placement), target)?;
            // Keep the true labels: attack accuracy counts predictions of the target.
            let s = Samples::new(s.features, victims.iter().map(|&i| label(*side, i)).collect());
            set = Some(match set {
                Some(c) => c.concat(&s),
                None => s,
            });
        }
        attack.push((placement, set.expect("at least one side")));
    }
    Ok(TestSets { clean, attack })
}

/// One raw input of any task.
pub enum RawSample<'a> {
    Clip(&'a [f32]),
    Review(&'a str),
    Image(&'a [u8]),
}
