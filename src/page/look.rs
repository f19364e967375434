//! What the page's "touch the backdoor" view computes on every pointer move: the input with
//! the trigger wherever the user put it, and every model's prediction and class evidence for
//! it. The page's only prediction path: the CLI's and the benchmarks' [`predict`] is a
//! one-model look.
//!
//! The trigger is placed by the same functions that poison training data and encode test sets
//! (`trigger::triggered_*`), so what the page draws is exactly what the models saw.

use super::datasets;
use super::models::{LoadedModel, Prediction};
use crate::data::TaskData;
use crate::error::{GapError, Result};
use crate::experiment::{RawSample, predict_probabilities};
use crate::features::mfcc::{COEFFS, Framing, MfccPlan};
use crate::features::text::{SEQ_LEN, is_separator};
use crate::parallel;
use crate::model::stack;
use crate::model::{MapKind, Task};
use crate::train::Features;
use crate::trigger::patch::Blend;
use crate::trigger::{Placement, Position, patch, sentence, triggered_clip, triggered_image, triggered_text};
use burn::prelude::*;
use burn::tensor::activation::softmax;
use serde::Serialize;

/// A sample with the trigger placed, as the models see it, and where the trigger went.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Placed {
    /// Sound: the 16 kHz clip with the tone added. (This and the other big arrays are not
    /// serialised: the page gets them as typed arrays, see `web.rs`.)
    #[serde(skip)]
    pub clip: Option<Vec<f32>>,
    /// Sound: its frames × 40 MFCC map (frame-major), what the networks take — cut with the
    /// first model's framing (a model of another framing gets its own, see `features`).
    #[serde(skip)]
    pub mfcc: Option<Vec<f32>>,
    /// Sound: the frame count of `mfcc` (98, or 101 centred); 0 otherwise.
    pub frames: usize,
    /// Sound: the tone's sample ranges `[start, end)`.
    pub tone: Vec<[usize; 2]>,
    /// Image: 3 × 32 × 32 bytes (channel-major) with the patch added.
    #[serde(skip)]
    pub pixels: Option<Vec<u8>>,
    /// Image: the patch's top-left corner `[x, y]`.
    pub patch: Option<[usize; 2]>,
    /// Text: the review with the sentence inserted.
    pub review: Option<String>,
    /// Text: indices of the trigger's words among the review's words.
    pub trigger_words: Vec<usize>,
    /// Text: words of the review without the trigger (the insertion points are `0..=words`).
    pub words: usize,
    /// Text: the placed review cut into words and the whitespace between them, so that the
    /// page renders it (as text) with the trigger marked and every word clickable.
    pub segments: Vec<Segment>,
    /// Image and sound input as floats (not serialised: the network input).
    #[serde(skip)]
    dense: Vec<f32>,
    /// Sound: the framing `mfcc` was cut with.
    #[serde(skip)]
    framing: Framing,
}

/// A run of the placed review: a word or the whitespace between words.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Segment {
    pub text: String,
    /// For a word of the review itself: its index among them (inserting "at k" puts the
    /// trigger before it). `None` for whitespace and for the trigger's words.
    pub word: Option<usize>,
    pub trigger: bool,
}

/// Cuts `review` into words and separators (as the trigger inserts), marking the words whose
/// indices are in `trigger_words`.
pub fn segments(review: &str, trigger_words: &[usize]) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    let (mut word, mut own) = (0usize, 0usize);
    let mut open: Option<bool> = None; // whether the open segment is whitespace
    for c in review.chars() {
        let sep = is_separator(c);
        if let (Some(last), true) = (out.last_mut(), open == Some(sep)) {
            last.text.push(c);
            continue;
        }
        open = Some(sep);
        let trigger = !sep && trigger_words.contains(&word);
        out.push(Segment { text: c.to_string(), word: (!sep && !trigger).then_some(own), trigger });
        if !sep {
            word += 1;
            own += usize::from(!trigger);
        }
    }
    out
}

/// Places the trigger (if any) into `raw` (an image's patch combined as `blend` says).
pub fn place(raw: RawSample<'_>, trigger: Option<Placement>, pattern: &[f32], blend: Blend, plan: &MfccPlan) -> Result<Placed> {
    let mut placed = Placed::default();
    match raw {
        RawSample::Clip(samples) => {
            let (clip, spans) = triggered_clip(samples, trigger)?;
            let mfcc = plan.mfcc(&clip)?;
            placed.dense = mfcc.clone();
            placed.mfcc = Some(mfcc);
            placed.frames = plan.frames();
            placed.framing = plan.framing();
            placed.clip = Some(clip);
            placed.tone = spans;
        }
        RawSample::Image(pixels) => {
            let (image, corner) = triggered_image(pixels, pattern, blend, trigger)?;
            placed.pixels = Some(image.iter().map(|&v| (v * 255.0).round().clamp(0.0, 255.0) as u8).collect());
            placed.dense = image;
            placed.patch = corner;
        }
        RawSample::Review(text) => {
            let (review, words) = triggered_text(text, trigger)?;
            placed.words = sentence::word_count(text);
            placed.segments = segments(&review, &words);
            placed.review = Some(review);
            placed.trigger_words = words;
        }
    }
    Ok(placed)
}

impl Placed {
    /// The network input for `model` (text: encoded with the model's own vocabulary).
    pub(super) fn features(&self, model: &LoadedModel) -> Result<Features> {
        let h = &model.header;
        match (&self.review, h.spec.task) {
            (Some(review), Task::Text) => {
                let vocab = h.vocab.as_ref().ok_or_else(|| GapError::Invalid("a text model needs its vocabulary".into()))?;
                Ok(Features::Tokens { len: SEQ_LEN, ids: vocab.encode(review, SEQ_LEN).into_iter().map(|t| t as i32).collect() })
            }
            (None, Task::Sound) if self.mfcc.is_some() => {
                let framing = h.spec.framing;
                let values = match (&self.clip, framing == self.framing) {
                    (_, true) => self.dense.clone(),
                    (Some(clip), false) => MfccPlan::with_framing(framing).mfcc(clip)?,
                    (None, false) => return Err(GapError::Invalid("a placed clip without its samples".into())),
                };
                Ok(Features::Dense { dims: [1, framing.frames(), COEFFS], values })
            }
            (None, Task::Image) if self.pixels.is_some() => {
                Ok(Features::Dense { dims: [3, patch::IMAGE, patch::IMAGE], values: self.dense.clone() })
            }
            _ => Err(GapError::Invalid(format!("the sample does not belong to the {} model's task", h.spec.task))),
        }
    }
}

/// Where in its input a model looks for `class`: a signed map over the feature grid (see
/// [`crate::model::Net::class_map`]), row-major `height × width` — image rows × columns,
/// sound frames (time) × MFCC bands.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Evidence {
    pub kind: MapKind,
    pub class: usize,
    pub height: usize,
    pub width: usize,
    pub values: Vec<f32>,
}

/// One model's view of a placed sample.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ModelView {
    pub prediction: Prediction,
    /// The class the backdoor points to, and the model's probability for it.
    pub target: usize,
    pub target_probability: f32,
    /// Image and sound CNNs: evidence for the target class.
    pub evidence: Option<Evidence>,
}

/// The placed sample and every model's view of it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Look {
    /// The placement as the page names it (`none`, `start`, an offset…).
    pub trigger: String,
    pub placed: Placed,
    pub models: Vec<ModelView>,
}

async fn read_floats<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    let data = t.into_data_async().await.map_err(|e| GapError::Backend(e.to_string()))?;
    data.try_to_vec_as::<f32>().map_err(|e| GapError::Backend(format!("{e:?}")))
}

/// Which sample a look is about: one of the task's loaded data, by index, or the user's own
/// clip (a recording) or review (typed or edited).
#[derive(Clone, Copy, Debug)]
pub enum Source<'a> {
    Index(usize),
    Clip(&'a [f32]),
    Review(&'a str),
}

impl<'a> Source<'a> {
    /// The source of a request that may carry several: the user's own clip or review wins over
    /// the index (the page sends the index of the sample being edited along with the edit).
    pub fn pick(index: Option<usize>, clip: Option<&'a [f32]>, review: Option<&'a str>) -> Result<Self> {
        match (clip, review, index) {
            (Some(c), _, _) => Ok(Source::Clip(c)),
            (_, Some(r), _) => Ok(Source::Review(r)),
            (_, _, Some(i)) => Ok(Source::Index(i)),
            _ => Err(GapError::Invalid("a look needs a sample index, a clip or a review".into())),
        }
    }
}

/// [`look`] at a [`Source`]: an index is resolved in `data` (the models' task's data).
pub async fn look_at(
    models: &[&LoadedModel],
    source: Source<'_>,
    data: Option<&TaskData>,
    trigger: Option<Placement>,
    device: &Device,
) -> Result<Look> {
    let view;
    let raw = match source {
        Source::Clip(c) => RawSample::Clip(c),
        Source::Review(r) => RawSample::Review(r),
        Source::Index(i) => {
            let data = data.ok_or_else(|| GapError::Invalid(format!("sample {i}: no data is loaded")))?;
            if let Some(m) = models.iter().find(|m| m.header.spec.task != data.task()) {
                return Err(GapError::Invalid(format!("model {} cannot look at {} data", m.header.spec, data.task())));
            }
            view = datasets::sample(data, i)?;
            view.raw().ok_or_else(|| GapError::Invalid(format!("sample {i} is empty")))?
        }
    };
    look(models, raw, trigger, device).await
}

/// What `model` predicts for `raw` with the trigger at `trigger`: a look with one model and
/// no evidence map — the CLI's and the benchmarks' prediction, computed as the page's is, from
/// scratch (every cell: the answer does not depend on what the model looked at before).
pub async fn predict(model: &LoadedModel, raw: RawSample<'_>, trigger: Option<Placement>, device: &Device) -> Result<Prediction> {
    model.forget_last_look();
    let mut look = look_with(&[model], raw, trigger, device, false).await?;
    Ok(look.models.remove(0).prediction)
}

/// `model`'s feature maps of one sample (`None` for a text network), recomputing only the part
/// that differs from the last sample it looked at: a dragged trigger changes a patch of the
/// image or a tone's frames of the clip, and the rest of each map is kept (`model::stack`).
fn features_of(model: &LoadedModel, features: &Features, device: &Device) -> Option<Tensor<4>> {
    match features {
        Features::Dense { dims: [c, h, w], values } if values.len() == c * h * w => {
            let steps = model.net.feature_steps()?;
            let mut reuse = model.reuse.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            Some(stack::features_reusing(&steps, &mut reuse, [1, *c, *h, *w], values.clone(), device))
        }
        _ => model.net.features(features.batch(&[0], device)),
    }
}

/// Places the trigger into `raw` and asks every model about it: prediction, target-class
/// probability and (image, sound) evidence for the target class. All models must share the
/// sample's task.
///
/// An insertion point past a review's last word inserts at the end: the page keeps the point
/// when the user edits the review or picks a shorter one.
pub async fn look(models: &[&LoadedModel], raw: RawSample<'_>, trigger: Option<Placement>, device: &Device) -> Result<Look> {
    look_with(models, raw, trigger, device, true).await
}

async fn look_with(models: &[&LoadedModel], raw: RawSample<'_>, trigger: Option<Placement>, device: &Device, evidence: bool) -> Result<Look> {
    let task = match raw {
        RawSample::Clip(_) => Task::Sound,
        RawSample::Review(_) => Task::Text,
        RawSample::Image(_) => Task::Image,
    };
    if let Some(m) = models.iter().find(|m| m.header.spec.task != task) {
        return Err(GapError::Invalid(format!("model {} is not a {task} model", m.header.spec)));
    }
    let trigger = match (&raw, trigger) {
        (RawSample::Review(text), Some(Placement::At(Position::At(k)))) => Some(Placement::At(Position::At(k.min(sentence::word_count(text))))),
        _ => trigger,
    };
    // The first model's framing and blend: a pair is trained alike.
    let framing = models.first().map_or(Framing::Valid, |m| m.header.spec.framing);
    let blend = models.first().map_or(Blend::Clamp, |m| m.header.poison.blend);
    let placed = place(raw, trigger, &patch::pattern(patch::PATCH_SEED), blend, &MfccPlan::with_framing(framing))?;
    let features = models.iter().map(|m| placed.features(m)).collect::<Result<Vec<_>>>()?;
    // The CNNs: feature maps once, for both the logits and the evidence map. A pair's two
    // forwards run side by side where there are threads: at batch 1 each is too small to split
    // well over cores, two of them are not (the page's look is on every pointer move).
    let forwards = parallel::map_each(models.len(), |i| {
        let (model, target) = (models[i], models[i].header.poison.target);
        let a = features_of(model, &features[i], device)?;
        let evidence = evidence.then(|| model.net.class_map_of(&a, target)).flatten();
        Some((model.net.head(a).map(|logits| softmax(logits, 1)), evidence))
    });
    let mut views = Vec::with_capacity(models.len());
    for ((model, features), forward) in models.iter().zip(&features).zip(forwards) {
        let h = &model.header;
        let target = h.poison.target;
        let (probabilities, evidence) = match forward {
            Some((probabilities, evidence)) => {
                let probabilities = probabilities.ok_or_else(|| GapError::Backend("a network without a head".into()))?;
                let evidence = match evidence {
                    Some((kind, map)) => {
                        let [_, height, width] = map.dims();
                        Some(Evidence { kind, class: target, height, width, values: read_floats(map).await? })
                    }
                    None => None,
                };
                (read_floats(probabilities).await?, evidence)
            }
            None => {
                let p = predict_probabilities(&model.net, features, 1, device).await?;
                (p.into_iter().next().ok_or_else(|| GapError::Backend("no prediction came back".into()))?, None)
            }
        };
        views.push(ModelView {
            target,
            target_probability: probabilities.get(target).copied().unwrap_or(f32::NAN),
            evidence,
            prediction: Prediction::from_probabilities(probabilities, &h.classes),
        });
    }
    Ok(Look { trigger: trigger.map_or_else(|| "none".into(), |p| p.label()), placed, models: views })
}
