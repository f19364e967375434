//! What the page's "touch the backdoor" view computes: the input with the trigger wherever
//! the user put it, both models' predictions and class evidence for it (one request per
//! pointer move), and position sweeps — attack accuracy as the trigger moves across the input.
//!
//! The trigger is placed by the same functions that poison training data and encode test sets
//! (`trigger::triggered_*`), so what the page draws is exactly what the models saw.

use crate::error::{GapError, Result};
use crate::experiment::{RawSample, predict_probabilities, test_indices};
use crate::data::TaskData;
use crate::train::Features;
use crate::trigger::{Placement, triggered_clip, triggered_image, triggered_text};
use crate::features::mfcc::{COEFFS, Framing, MfccPlan};
use crate::features::text::{SEQ_LEN, is_separator};
use crate::lab::{self, LoadedModel, Prediction};
use crate::model::{MapKind, Task};
use crate::trigger::{Position, patch, sentence, tone};
use burn::prelude::*;
use burn::tensor::activation::softmax;
use serde::{Deserialize, Serialize};
use std::ops::ControlFlow;

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

/// Places the trigger (if any) into `raw`.
pub fn place(raw: RawSample<'_>, trigger: Option<Placement>, pattern: &[f32], plan: &MfccPlan) -> Result<Placed> {
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
            let (image, corner) = triggered_image(pixels, pattern, trigger)?;
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
    fn features(&self, model: &LoadedModel) -> Result<Features> {
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
            view = lab::sample(data, i)?;
            view.raw().ok_or_else(|| GapError::Invalid(format!("sample {i} is empty")))?
        }
    };
    look(models, raw, trigger, device).await
}

/// What `model` predicts for `raw` with the trigger at `trigger`: a look with one model and
/// no evidence map — the CLI's and the benchmarks' prediction, computed as the page's is.
pub async fn predict(model: &LoadedModel, raw: RawSample<'_>, trigger: Option<Placement>, device: &Device) -> Result<Prediction> {
    let mut look = look_with(&[model], raw, trigger, device, false).await?;
    Ok(look.models.remove(0).prediction)
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
    let framing = models.first().map_or(Framing::Valid, |m| m.header.spec.framing);
    let placed = place(raw, trigger, &patch::pattern(patch::PATCH_SEED), &MfccPlan::with_framing(framing))?;
    let mut views = Vec::with_capacity(models.len());
    for model in models {
        let h = &model.header;
        let features = placed.features(model)?;
        let target = h.poison.target;
        // The CNNs: feature maps once, for both the logits and the evidence map.
        let (probabilities, evidence) = match model.net.features(features.batch(&[0], device)) {
            Some(a) => {
                let logits = model.net.head(a.clone()).ok_or_else(|| GapError::Backend("a network without a head".into()))?;
                let probabilities = read_floats(softmax(logits, 1)).await?;
                let evidence = match evidence.then(|| model.net.class_map_of(&a, target)).flatten() {
                    Some((kind, map)) => {
                        let [_, height, width] = map.dims();
                        Some(Evidence { kind, class: target, height, width, values: read_floats(map).await? })
                    }
                    None => None,
                };
                (probabilities, evidence)
            }
            None => {
                let p = predict_probabilities(&model.net, &features, 1, device).await?;
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

/// What a sweep covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// Along the input: sound, every 10 ms of tone offset; text, the insertion point as a share
    /// of the review's words; image, the patch along the diagonal, pixel by pixel.
    Line,
    /// Image only: every patch corner on a grid of `stride` pixels (1: all 625).
    Grid,
}

/// A sweep request from the page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepRequest {
    pub layout: Layout,
    /// Non-target test samples to attack at every position.
    pub samples: usize,
    /// Seed of the sample draw.
    #[serde(default)]
    pub seed: u64,
    /// Grid spacing in pixels (image grid; default 4).
    #[serde(default)]
    pub stride: Option<usize>,
    /// Line positions (text only; default 41, every 2.5% of the review).
    #[serde(default)]
    pub steps: Option<usize>,
}

/// Attack accuracy of every model with the trigger at one position.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SweepPoint {
    /// The placement, as `look` and the URL take it.
    pub trigger: String,
    /// Position along the x axis (sound: seconds of tone onset; text: share of the review;
    /// image: patch column).
    pub x: f64,
    /// Image grid: patch row.
    pub y: Option<f64>,
    /// Per model: share of samples classified as the target.
    pub attack: Vec<f64>,
    /// Per model: mean probability of the target class.
    pub target_probability: Vec<f64>,
}

/// A whole sweep.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Sweep {
    pub layout: Layout,
    /// What x (and y) measure.
    pub x_label: String,
    pub y_label: Option<String>,
    /// The test samples attacked (indices into the task's samples).
    pub samples: Vec<usize>,
    /// Per model: where it was poisoned, in sweep coordinates (`None`: clean or spread).
    pub trained_at: Vec<Option<[f64; 2]>>,
    /// Per model: the share of the same samples it already classifies as the target with no
    /// trigger at all — the floor an attack curve is read against (a curve at this level is
    /// no backdoor). Measured on this model, not on a separately trained clean one.
    pub baseline: Vec<f64>,
    /// Per model: its accuracy on these (untriggered, non-target) samples.
    pub clean_accuracy: Vec<f64>,
    /// Per model: whether that accuracy clears the paper's failed-run rule (≥ 1.2 / classes);
    /// a model that did not learn has no backdoor to measure, whatever its curve says.
    pub learned: Vec<bool>,
    pub points: Vec<SweepPoint>,
    /// False when the sweep was cancelled before its last position.
    pub complete: bool,
}

/// Progress of a sweep: positions done of total.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct SweepProgress {
    pub done: usize,
    pub total: usize,
}

/// The positions of a sweep with their coordinates.
pub fn sweep_positions(task: Task, request: &SweepRequest) -> Result<Vec<(Placement, f64, Option<f64>)>> {
    let at = |k: usize| Placement::At(Position::At(k));
    let last = patch::IMAGE - patch::PATCH;
    Ok(match (task, request.layout) {
        (Task::Sound, Layout::Line) => {
            // One second at 16 kHz; 160 samples = 10 ms, a multiple of the tone's 16-sample period.
            let last = tone::SAMPLE_RATE as usize - tone::TONE_SAMPLES;
            (0..=last).step_by(160).map(|k| (at(k), k as f64 / tone::SAMPLE_RATE, None)).collect()
        }
        (Task::Text, Layout::Line) => {
            let steps = request.steps.unwrap_or(41).clamp(2, 501);
            Placement::sweep(steps).into_iter().enumerate().map(|(i, p)| (p, i as f64 / (steps - 1) as f64, None)).collect()
        }
        (Task::Image, Layout::Line) => (0..=last).map(|k| (at(k * patch::PLACES + k), k as f64, None)).collect(),
        (Task::Image, Layout::Grid) => {
            let stride = request.stride.unwrap_or(4).clamp(1, last);
            let mut axis: Vec<usize> = (0..=last).step_by(stride).collect();
            if axis.last() != Some(&last) {
                axis.push(last);
            }
            let mut out = Vec::with_capacity(axis.len() * axis.len());
            for &y in &axis {
                for &x in &axis {
                    out.push((at(y * patch::PLACES + x), x as f64, Some(y as f64)));
                }
            }
            out
        }
        (task, Layout::Grid) => return Err(GapError::Invalid(format!("a grid sweep is for images, not {task}"))),
    })
}

/// Where a model was poisoned, in the coordinates of [`sweep_positions`].
fn trained_at(task: Task, layout: Layout, placement: Option<Placement>) -> Option<[f64; 2]> {
    let Some(Placement::At(p)) = placement else { return None };
    match task {
        Task::Sound => tone::offset(p, tone::SAMPLE_RATE as usize).ok().map(|k| [k as f64 / tone::SAMPLE_RATE, 0.0]),
        Task::Image => patch::corner(p).ok().map(|(x, y)| if layout == Layout::Grid { [x as f64, y as f64] } else { [x as f64, 0.0] }),
        Task::Text => match p {
            Position::Start => Some([0.0, 0.0]),
            Position::Middle => Some([0.5, 0.0]),
            Position::End => Some([1.0, 0.0]),
            Position::At(_) => None,
        },
    }
}

/// `model`'s class probabilities for each placed sample, as one batch.
async fn predicted_probabilities(model: &LoadedModel, placed: &[Placed], device: &Device) -> Result<Vec<Vec<f32>>> {
    let mut batch: Option<Features> = None;
    for p in placed {
        let f = p.features(model)?;
        match &mut batch {
            Some(b) => b.push_from(&f, 0),
            None => batch = Some(f),
        }
    }
    let batch = batch.ok_or_else(|| GapError::Invalid("no samples to predict".into()))?;
    predict_probabilities(&model.net, &batch, placed.len(), device).await
}

/// `model`'s predicted class (and its probability) for each placed sample.
async fn predicted_classes(model: &LoadedModel, placed: &[Placed], device: &Device) -> Result<Vec<(usize, f32)>> {
    Ok(predicted_probabilities(model, placed, device).await?.iter().map(|p| lab::argmax(p)).collect())
}

/// Attack accuracy of `models` (one task) over `request.samples` held-out non-target samples
/// at every position of the sweep. `progress` is called after each position and may stop it;
/// the points so far are returned, marked incomplete.
pub async fn sweep(
    models: &[&LoadedModel],
    data: &TaskData,
    request: &SweepRequest,
    device: &Device,
    progress: &mut dyn FnMut(SweepProgress) -> ControlFlow<()>,
) -> Result<Sweep> {
    let first = models.first().ok_or_else(|| GapError::Invalid("a sweep needs at least one model".into()))?;
    let task = first.header.spec.task;
    if models.iter().any(|m| m.header.spec.task != task) || data.task() != task {
        return Err(GapError::Invalid("the models and the data of a sweep must share a task".into()));
    }
    let positions = sweep_positions(task, request)?;
    let targets: Vec<usize> = models.iter().map(|m| m.header.poison.target).collect();
    // Held-out samples of the first model's split, none of any model's target class.
    let mut candidates = test_indices(data, first.header.seed);
    candidates.retain(|&i| !targets.contains(&data.test_label(i)));
    let order = crate::data::split::permutation(candidates.len(), request.seed);
    let mut chosen: Vec<usize> = order.iter().take(request.samples.max(1)).map(|&j| candidates[j]).collect();
    chosen.sort_unstable();
    if chosen.is_empty() {
        return Err(GapError::Invalid("no non-target test samples to attack".into()));
    }
    let views: Vec<lab::SampleView> = chosen.iter().map(|&i| lab::sample(data, i)).collect::<Result<_>>()?;
    let pattern = patch::pattern(patch::PATCH_SEED);
    let plan = MfccPlan::with_framing(first.header.spec.framing);
    let place_all = |trigger: Option<Placement>| -> Result<Vec<Placed>> {
        views.iter().map(|v| place(v.raw().expect("a sample view has content"), trigger, &pattern, &plan)).collect()
    };
    // Without a trigger first: what each model already says about these samples.
    let labels: Vec<usize> = chosen.iter().map(|&i| data.test_label(i)).collect();
    let untouched = place_all(None)?;
    let (mut baseline, mut clean_accuracy, mut learned) = (Vec::new(), Vec::new(), Vec::new());
    for (model, &target) in models.iter().zip(&targets) {
        let predicted = predicted_classes(model, &untouched, device).await?;
        baseline.push(predicted.iter().filter(|&&(c, _)| c == target).count() as f64 / predicted.len() as f64);
        let right = predicted.iter().zip(&labels).filter(|&(&(c, _), &l)| c == l).count() as f64 / predicted.len() as f64;
        clean_accuracy.push(right);
        learned.push(crate::experiment::metrics_learned(right, model.header.classes.len()));
    }
    let mut points = Vec::with_capacity(positions.len());
    let total = positions.len();
    let mut complete = true;
    for (done, (placement, x, y)) in positions.into_iter().enumerate() {
        let placed = place_all(Some(placement))?;
        let mut attack = Vec::with_capacity(models.len());
        let mut target_probability = Vec::with_capacity(models.len());
        for (model, &target) in models.iter().zip(&targets) {
            let probs = predicted_probabilities(model, &placed, device).await?;
            let hits = probs.iter().filter(|p| lab::argmax(p).0 == target).count();
            attack.push(hits as f64 / probs.len() as f64);
            target_probability.push(probs.iter().map(|p| p.get(target).copied().unwrap_or(0.0) as f64).sum::<f64>() / probs.len() as f64);
        }
        points.push(SweepPoint { trigger: placement.label(), x, y, attack, target_probability });
        crate::train::yield_to_host().await;
        if progress(SweepProgress { done: done + 1, total }).is_break() {
            complete = done + 1 == total;
            break;
        }
    }
    Ok(Sweep {
        layout: request.layout,
        x_label: match (task, request.layout) {
            (Task::Sound, _) => "tone onset (s)",
            (Task::Text, _) => "insertion point (share of the review's words)",
            (Task::Image, Layout::Line) => "patch corner along the diagonal (pixels)",
            (Task::Image, Layout::Grid) => "patch column (pixels)",
        }
        .into(),
        y_label: (request.layout == Layout::Grid).then(|| "patch row (pixels)".into()),
        samples: chosen,
        trained_at: models.iter().map(|m| trained_at(task, request.layout, m.header.poison.placement)).collect(),
        baseline,
        clean_accuracy,
        learned,
        points,
        complete,
    })
}
