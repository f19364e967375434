//! What the attacker poisons: how many training samples, with the trigger where, relabelled
//! to which class.

use super::Placement;
use super::patch::Blend;
use crate::data::Task;
use crate::error::{GapError, Result};
use serde::{Deserialize, Serialize};

/// What to poison, where, and towards which class.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PoisonConfig {
    /// `None` trains a clean baseline.
    pub placement: Option<Placement>,
    /// Poisoned training samples (validation gets 20% as many).
    pub count: usize,
    /// The attacker's target label.
    pub target: usize,
    /// Images: how the patch meets the pixels (clamped by default; absent from older files).
    #[serde(default, skip_serializing_if = "Blend::is_default")]
    pub blend: Blend,
}

impl PoisonConfig {
    /// PAPER.md's defaults: sound 80 → class 2, text 100 negatives → positive, image 100 → class 7 (horse).
    pub fn paper(task: Task, placement: Option<Placement>) -> Self {
        let (count, target) = match task {
            Task::Sound => (80, 2),
            Task::Text => (100, 1),
            Task::Image => (100, 7),
        };
        Self { placement, count, target, blend: Blend::Clamp }
    }

    /// The same poisoning with the image patch combined as `blend` says; only the image
    /// trigger has a blend (any other task with `add` is a clear error).
    pub fn with_blend(self, task: Task, blend: Blend) -> Result<Self> {
        if task != Task::Image && !blend.is_default() {
            return Err(GapError::Invalid(format!("the trigger blend is an image setting; the {task} trigger has none")));
        }
        Ok(Self { blend, ..self })
    }
}
