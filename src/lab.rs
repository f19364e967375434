//! What the page does with the pipeline, in plain Rust: show a dataset's samples, load model
//! files, predict with the trigger anywhere, train FC and GAP side by side. Native and wasm
//! alike, so that all of it is tested natively; `web.rs` only converts to and from JS values.
//!
//! Model files are kept as bytes next to the loaded network: a device that is lost (or a
//! switch from WebGPU to Flex) costs a reload from those bytes, never a trained model.

use crate::data;
use crate::error::{GapError, Result};
use crate::features::mfcc::Framing;
use crate::experiment::{Evaluation, RawSample, TrainRequest, train_and_evaluate};
use crate::data::TaskData;
use crate::model::{Arch, Head, ModelSpec, Net, Task};
use crate::trigger::{Placement, PoisonConfig, patch, tone};
use crate::store::{self, ModelHeader};
use crate::train::{LrDrop, Progress, TrainSettings};
use burn::prelude::*;
use serde::{Deserialize, Serialize};
use std::ops::ControlFlow;

/// Largest archive the page accepts: big enough for the official IMDB and CIFAR-10 files and
/// the speech subsets, small enough that a tab decompressing it stays within memory.
pub const MAX_UPLOAD_BYTES: usize = 256 * 1024 * 1024;

/// What the page shows about a loaded dataset.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DataSummary {
    pub task: Task,
    pub name: String,
    pub classes: Vec<String>,
    /// Samples offered by the sample picker (see [`sample`]).
    pub samples: usize,
    pub train: usize,
    pub test: usize,
}

/// Parses an archive (`.tar.gz`, as downloaded) of `task`'s data; `classes` picks the speech
/// word set (10 or 30) and is ignored by the other tasks.
pub fn load_data(task: Task, name: &str, bytes: &[u8], classes: usize) -> Result<TaskData> {
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(GapError::bad_archive(
            name,
            format!("{} MB is over the page's limit of {} MB", bytes.len() >> 20, MAX_UPLOAD_BYTES >> 20),
        ));
    }
    let classes = if task.class_counts().contains(&classes) { classes } else { task.class_counts()[0] };
    data::from_archive_bytes(task, name, bytes, classes)
}

/// How many samples and classes a dataset has.
pub fn summarize(data: &TaskData, name: &str) -> DataSummary {
    let (train, test) = data.sides();
    DataSummary { task: data.task(), name: name.to_string(), classes: data.classes(), samples: test, train, test }
}

/// One sample for display and prediction.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SampleView {
    pub index: usize,
    pub label: usize,
    pub class: String,
    /// Sound: 16 kHz samples in [-1, 1]. (Not serialised: the page gets it as a typed array.)
    #[serde(skip)]
    pub clip: Option<Vec<f32>>,
    /// Text: the review.
    pub review: Option<String>,
    /// Image: 3×32×32 bytes, channel-major (CIFAR-10's layout). (Typed array in the page.)
    #[serde(skip)]
    pub pixels: Option<Vec<u8>>,
}

/// Sample `index` of the picker: a clip (sound), or one of the official test set (text, image).
pub fn sample(data: &TaskData, index: usize) -> Result<SampleView> {
    let (_, samples) = data.sides();
    if index >= samples {
        return Err(GapError::Invalid(format!("sample {index}: the data has {samples} samples")));
    }
    let classes = data.classes();
    let mut view = SampleView { index, label: 0, class: String::new(), clip: None, review: None, pixels: None };
    match data {
        TaskData::Sound(d) => {
            view.label = d.clips[index].label;
            view.clip = Some(d.clips[index].samples.to_vec());
        }
        TaskData::Text(d) => {
            view.label = d.test[index].label;
            view.review = Some(d.test[index].text.clone());
        }
        TaskData::Image(d) => {
            view.label = d.test[index].label;
            view.pixels = Some(d.test[index].pixels.clone());
        }
    }
    view.class = classes.get(view.label).cloned().unwrap_or_default();
    Ok(view)
}

impl SampleView {
    /// The sample as the encoder takes it (`None` only for a view built empty by hand).
    pub fn raw(&self) -> Option<RawSample<'_>> {
        match (&self.clip, &self.review, &self.pixels) {
            (Some(clip), _, _) => Some(RawSample::Clip(clip)),
            (_, Some(review), _) => Some(RawSample::Review(review)),
            (_, _, Some(pixels)) => Some(RawSample::Image(pixels)),
            _ => None,
        }
    }
}

/// A model file, decoded onto a device.
pub struct LoadedModel {
    pub header: ModelHeader,
    pub net: Net,
    /// The file itself: for downloads, and to reload after a device change.
    pub bytes: Vec<u8>,
}

/// What the page shows about a model.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ModelInfo {
    pub name: String,
    pub task: Task,
    pub arch: Arch,
    pub head: Head,
    pub classes: Vec<String>,
    pub target: usize,
    /// `None`: a clean model.
    pub poisoned_at: Option<String>,
    pub poisoned: usize,
    pub seed: u64,
    pub params: usize,
    pub backend: Option<String>,
    pub epochs_trained: Option<usize>,
    pub bytes: usize,
}

impl LoadedModel {
    /// Decodes a model file (as the CLI writes it) onto `device`.
    pub fn from_bytes(file: &str, bytes: Vec<u8>, device: &Device) -> Result<Self> {
        let (header, net) = store::load(file, &bytes, device)?;
        Ok(Self { header, net, bytes })
    }

    /// The same model on another device (from its bytes).
    pub fn moved_to(&self, device: &Device) -> Result<Self> {
        Self::from_bytes(&self.header.spec.to_string(), self.bytes.clone(), device)
    }

    pub fn info(&self) -> ModelInfo {
        ModelInfo::new(&self.header, self.net.total_count(), self.bytes.len())
    }
}

impl ModelInfo {
    /// What a model file says about itself, from its header alone (no weights decoded): the
    /// page reads it before deciding what a dropped file is for.
    pub fn of_file(file: &str, bytes: &[u8]) -> Result<ModelInfo> {
        let (h, _) = store::read_header(file, bytes)?;
        Ok(ModelInfo::new(&h, Net::blank(&h.spec, &Device::flex()).total_count(), bytes.len()))
    }

    fn new(h: &ModelHeader, params: usize, bytes: usize) -> ModelInfo {
        ModelInfo {
            name: h.spec.to_string(),
            task: h.spec.task,
            arch: h.spec.arch,
            head: h.spec.head,
            classes: h.classes.clone(),
            target: h.poison.target,
            poisoned_at: h.poison.placement.map(|p| p.label()),
            poisoned: if h.poison.placement.is_some() { h.poison.count } else { 0 },
            seed: h.seed,
            params,
            backend: h.summary.as_ref().map(|s| s.backend.clone()),
            epochs_trained: h.summary.as_ref().map(|s| s.epochs_trained),
            bytes,
        }
    }
}

/// Every fact about the lab the page needs, so that it restates none of them.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LabInfo {
    pub tasks: Vec<TaskInfo>,
    /// Largest file the page reads ([`MAX_UPLOAD_BYTES`]).
    pub max_upload_bytes: usize,
    /// How a model file begins: a dropped file that starts so is a model, anything else data.
    pub model_magic: String,
    /// The image trigger: an `patch × patch` square on a `size × size` image.
    pub image: ImageFacts,
    /// The sound trigger: a `tone`-sample tone in clips sampled at `rate` Hz.
    pub sound: SoundFacts,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ImageFacts {
    pub size: usize,
    pub patch: usize,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SoundFacts {
    pub rate: usize,
    pub tone: usize,
}

/// One task: its networks, class counts and named trigger placements (what the trigger menu
/// and the training form's "poison at" offer).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TaskInfo {
    pub task: Task,
    pub archs: Vec<Arch>,
    pub class_counts: Vec<usize>,
    pub placements: Vec<String>,
}

/// The lab's facts ([`LabInfo`]).
pub fn info() -> LabInfo {
    LabInfo {
        tasks: Task::ALL
            .iter()
            .map(|&task| TaskInfo {
                task,
                archs: task.archs().to_vec(),
                class_counts: task.class_counts().to_vec(),
                placements: Placement::named(task).iter().map(Placement::label).collect(),
            })
            .collect(),
        max_upload_bytes: MAX_UPLOAD_BYTES,
        model_magic: String::from_utf8_lossy(crate::train::checkpoint::MODEL_FILE_START).into_owned(),
        image: ImageFacts { size: patch::IMAGE, patch: patch::PATCH },
        sound: SoundFacts { rate: tone::SAMPLE_RATE as usize, tone: tone::TONE_SAMPLES },
    }
}

/// Class probabilities of one input and the winning class.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Prediction {
    pub probabilities: Vec<f32>,
    pub class: usize,
    pub class_name: String,
    pub probability: f32,
}

/// Index and value of the largest of `values` (the first of equals).
pub fn argmax(values: &[f32]) -> (usize, f32) {
    values.iter().copied().enumerate().fold((0, f32::NEG_INFINITY), |best, (i, p)| if p > best.1 { (i, p) } else { best })
}

impl Prediction {
    /// The winning class of `probabilities` (the first of equals), named from `classes`.
    pub fn from_probabilities(probabilities: Vec<f32>, classes: &[String]) -> Prediction {
        let (class, probability) = argmax(&probabilities);
        Prediction { class, class_name: classes.get(class).cloned().unwrap_or_default(), probability, probabilities }
    }
}

/// Parses the page's trigger choice: `none` (or empty) or a [`Placement`].
pub fn parse_trigger(s: &str) -> Result<Option<Placement>> {
    match s.trim() {
        "" | "none" => Ok(None),
        other => Placement::parse(other).map(Some),
    }
}

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
        let mut poison = PoisonConfig::paper(self.task, placement);
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

/// Trains one model of `form` on `data` and evaluates it at the paper's three test positions.
pub async fn train(
    data: &TaskData,
    form: &TrainForm,
    device: &Device,
    progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
) -> Result<(LoadedModel, Evaluation)> {
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
    let trained = train_and_evaluate(data, &request, &placements, device, progress).await?;
    let bytes = store::save_async(&trained.header, &trained.net, device).await?;
    Ok((LoadedModel { header: trained.header, net: trained.net, bytes }, trained.evaluation))
}

