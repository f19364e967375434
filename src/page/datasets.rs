//! The page's datasets: an archive the user dropped (or the demo subset) parsed for its task,
//! what the page shows about it, and one sample of the picker.

use super::facts::MAX_UPLOAD_BYTES;
use crate::data::{self, TaskData};
use crate::error::{GapError, Result};
use crate::experiment::RawSample;
use crate::model::Task;
use serde::{Deserialize, Serialize};

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
