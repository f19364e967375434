//! The page's models: a model file decoded onto a device and kept beside its bytes, what the
//! page shows about it, and what it predicts.
//!
//! The bytes are kept next to the loaded network: a device that is lost (or a switch from
//! WebGPU to Flex) costs a reload from those bytes, never a trained model.

use crate::error::Result;
use crate::model::stack::Reuse;
use crate::model::{Arch, Head, Net, Task};
use crate::store::{self, ModelHeader};
use burn::prelude::*;
use serde::Serialize;
use std::sync::Mutex;

/// A model file, decoded onto a device.
pub struct LoadedModel {
    /// The file's name (a trained model's: what the page calls it), for messages and for the
    /// settings of a model trained from this one.
    pub file: String,
    pub header: ModelHeader,
    pub net: Net,
    /// The file itself: for downloads, and to reload after a device change.
    pub bytes: Vec<u8>,
    /// The feature maps of the last sample this model looked at, step by step: a drag of the
    /// trigger then recomputes only what the trigger's move reaches (`model::stack`).
    pub reuse: Mutex<Option<Reuse>>,
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
    /// The model a fine-tuned one started from (`TrainSettings::start_from`); none: from scratch.
    pub start_from: Option<String>,
    pub bytes: usize,
}

impl LoadedModel {
    /// Decodes a model file (as the CLI writes it) onto `device`.
    pub fn from_bytes(file: &str, bytes: Vec<u8>, device: &Device) -> Result<Self> {
        let (header, net) = store::load(file, &bytes, device)?;
        Ok(Self::new(file.to_string(), header, net, bytes))
    }

    /// A model from its parts (nothing looked at yet).
    pub fn new(file: String, header: ModelHeader, net: Net, bytes: Vec<u8>) -> Self {
        Self { file, header, net, bytes, reuse: Mutex::new(None) }
    }

    /// Drops the feature maps kept from the last look: the next look computes every cell.
    pub fn forget_last_look(&self) {
        *self.reuse.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    /// Has the next look recompute the centre of the kept maps, changed or not (see
    /// [`Reuse::mark_centre_stale`]).
    pub fn forget_centre_of_last_look(&self) {
        if let Some(reuse) = self.reuse.lock().unwrap_or_else(std::sync::PoisonError::into_inner).as_mut() {
            reuse.mark_centre_stale();
        }
    }

    /// The same model on another device (from its bytes).
    pub fn moved_to(&self, device: &Device) -> Result<Self> {
        Self::from_bytes(&self.file, self.bytes.clone(), device)
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
        Ok(ModelInfo::new(&h, store::value_count(file, bytes)?, bytes.len()))
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
            start_from: h.settings.start_from.clone(),
            bytes,
        }
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
