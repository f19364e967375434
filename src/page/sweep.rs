//! Position sweeps: attack accuracy of the loaded models as the trigger moves across the input
//! (the continuous version of the paper's Figure 1), read against what each model already
//! answers with no trigger at all.

use super::datasets::{self, SampleView};
use super::look::{Placed, place};
use super::models::{LoadedModel, argmax};
use crate::data::TaskData;
use crate::error::{GapError, Result};
use crate::experiment::{predict_probabilities, test_indices};
use crate::features::mfcc::MfccPlan;
use crate::model::Task;
use crate::train::Features;
use crate::trigger::{Placement, Position, patch, tone};
use burn::prelude::*;
use serde::{Deserialize, Serialize};
use std::ops::ControlFlow;

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
    Ok(predicted_probabilities(model, placed, device).await?.iter().map(|p| argmax(p)).collect())
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
    let views: Vec<SampleView> = chosen.iter().map(|&i| datasets::sample(data, i)).collect::<Result<_>>()?;
    let pattern = patch::pattern(patch::PATCH_SEED);
    let plan = MfccPlan::with_framing(first.header.spec.framing);
    let place_all = |trigger: Option<Placement>| -> Result<Vec<Placed>> {
        views.iter().map(|v| place(v.raw().expect("a sample view has content"), trigger, &pattern, first.header.poison.blend, &plan)).collect()
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
            let hits = probs.iter().filter(|p| argmax(p).0 == target).count();
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
