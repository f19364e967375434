//! Training in the page: the form's run (FC or GAP, the paper's settings where the form is
//! silent) on the loaded data, evaluated at the paper's test positions.

use super::models::LoadedModel;
use crate::data::TaskData;
use crate::error::{GapError, Result};
use crate::experiment::{Evaluation, Start, TrainRequest, train_and_evaluate_resumable};
use crate::features::mfcc::Framing;
use crate::model::{Arch, Head, ModelSpec, Task};
use crate::store;
use crate::train::{Checkpointing, LrDrop, Progress, TrainSettings};
use crate::trigger::patch::Blend;
use crate::trigger::{Placement, PoisonConfig};
use burn::prelude::*;
use serde::{Deserialize, Serialize};
use std::ops::ControlFlow;

/// A training run as the page's form describes it; unset fields take the paper's values.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TrainForm {
    pub task: Task,
    pub arch: Arch,
    pub head: Head,
    /// `clean`, or a placement (`start`, `middle`, `end`, `spread`, …).
    #[serde(default = "default_position")]
    pub poison_at: String,
    pub poisoned: Option<usize>,
    pub epochs: Option<usize>,
    pub patience: Option<usize>,
    pub batch_size: Option<usize>,
    #[serde(default)]
    pub seed: u64,
    /// Train (and test) on at most this many samples of each side, drawn with the seed: a
    /// quick look on a slow device.
    pub max_samples: Option<usize>,
    /// Learning rate (default: the paper's for the task).
    #[serde(default)]
    pub lr: Option<f64>,
    /// Sound: how clips are cut into MFCC frames (default: valid, 98 frames).
    #[serde(default)]
    pub framing: Framing,
    /// Recompute the BatchNorm statistics over the training data after every epoch
    /// (`TrainSettings::recalibrate_bn`; default off, as in the paper).
    #[serde(default)]
    pub recalibrate_bn: bool,
    /// Vary each training image or clip as it is drawn (`TrainSettings::augment`).
    #[serde(default)]
    pub augment: bool,
    /// Halve the learning rate after this many epochs without a better validation loss
    /// (`TrainSettings::lr_drop`; default off, as in the paper).
    #[serde(default)]
    pub lr_drop: Option<usize>,
    /// Image: how the patch meets the pixels (default clamp; `add`, the reference code's).
    #[serde(default)]
    pub blend: Blend,
}

fn default_position() -> String {
    "start".into()
}

impl TrainForm {
    /// The full request: the form's values over the paper's defaults for the task.
    pub fn request(&self, classes: usize) -> Result<TrainRequest> {
        let spec = ModelSpec::new(self.task, self.arch, self.head, classes)?.with_framing(self.framing)?;
        let placement = match self.poison_at.trim().to_ascii_lowercase().as_str() {
            "clean" | "none" => None,
            other => Some(Placement::parse(other)?),
        };
        let mut poison = PoisonConfig::paper(self.task, placement).with_blend(self.task, self.blend)?;
        if let Some(n) = self.poisoned {
            poison.count = n;
        }
        let settings = TrainSettings {
            recalibrate_bn: self.recalibrate_bn,
            augment: self.augment,
            lr_drop: self.lr_drop.map(|after| LrDrop { after, factor: 0.5 }),
            ..TrainSettings::with_overrides(self.task, self.seed, self.epochs, self.patience, self.batch_size, self.lr)
        };
        Ok(TrainRequest { spec, poison, settings })
    }
}

/// Trains one model of `form` on `data` and evaluates it at the paper's three test positions;
/// from `start`'s weights when given (fine-tuning: the page's clean bases), else from scratch.
/// Returns the model, its evaluation and, fine-tuned, its start's on the same test sets.
pub async fn train(
    data: &TaskData,
    form: &TrainForm,
    start: Option<&LoadedModel>,
    device: &Device,
    progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
) -> Result<(LoadedModel, Evaluation, Option<Evaluation>)> {
    if form.task != data.task() {
        return Err(GapError::Invalid(format!("a {} model cannot train on {} data", form.task, data.task())));
    }
    let request = form.request(data.classes().len())?;
    let reduced;
    let data = match form.max_samples {
        Some(n) => {
            reduced = data.subset(n, form.seed);
            &reduced
        }
        None => data,
    };
    let placements = Placement::named(form.task);
    let start = start.map(|m| Start { name: &m.file, header: &m.header, net: &m.net });
    let trained = train_and_evaluate_resumable(data, &request, &placements, device, &mut Checkpointing::default(), start, false, progress).await?;
    let bytes = store::save_async(&trained.header, &trained.net, device).await?;
    let file = format!("{} trained in the page", trained.header.spec);
    Ok((LoadedModel::new(file, trained.header, trained.net, bytes), trained.evaluation, trained.start_evaluation))
}
