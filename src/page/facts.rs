//! Every fact about the lab that the page needs (tasks, networks, named placements, trigger
//! geometry, the upload limit, how a model file begins), so that the page restates none.

use crate::error::Result;
use crate::model::{Arch, Task};
use crate::trigger::{Placement, patch, tone};
use serde::Serialize;

/// Largest archive the page accepts: big enough for the official IMDB and CIFAR-10 files and
/// the speech subsets, small enough that a tab decompressing it stays within memory.
pub const MAX_UPLOAD_BYTES: usize = 256 * 1024 * 1024;

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

/// Parses the page's trigger choice: `none` (or empty) or a [`Placement`].
pub fn parse_trigger(s: &str) -> Result<Option<Placement>> {
    match s.trim() {
        "" | "none" => Ok(None),
        other => Placement::parse(other).map(Some),
    }
}
