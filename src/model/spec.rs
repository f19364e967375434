//! What a model is: task, architecture, head and class count, with parsing and validation.

pub use crate::data::Task;
use crate::error::{GapError, Result};
use crate::features::mfcc::Framing;
use crate::names::names;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The seven networks (sound: large, small; text: kim, conv1d, bag; image: strip).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    Large,
    Small,
    Kim,
    Conv1d,
    Bag,
    Strip,
}

/// The two heads the paper compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Head {
    /// Flatten + dense layers: position-bound features.
    Fc,
    /// Global average pooling: averages feature maps over space or time.
    Gap,
}

names!(Arch { Large => "large", Small => "small", Kim => "kim", Conv1d => "conv1d", Bag => "bag", Strip => "strip" });
names!(Head { Fc => "fc", Gap => "gap" });

/// What the networks add to a task (the task itself is the data's: [`crate::data::Task`]).
impl Task {
    /// The architectures of this task.
    pub fn archs(self) -> &'static [Arch] {
        match self {
            Task::Sound => &[Arch::Large, Arch::Small],
            Task::Text => &[Arch::Kim, Arch::Conv1d, Arch::Bag],
            Task::Image => &[Arch::Strip],
        }
    }

    /// The paper's default architecture (for sound: the large CNN, where the effect is clearest).
    pub fn default_arch(self) -> Arch {
        self.archs()[0]
    }
}

impl Arch {
    pub const ALL: [Arch; 6] = [Arch::Large, Arch::Small, Arch::Kim, Arch::Conv1d, Arch::Bag, Arch::Strip];

    pub fn task(self) -> Task {
        match self {
            Arch::Large | Arch::Small => Task::Sound,
            Arch::Kim | Arch::Conv1d | Arch::Bag => Task::Text,
            Arch::Strip => Task::Image,
        }
    }
}

impl Head {
    pub const BOTH: [Head; 2] = [Head::Fc, Head::Gap];
}

/// One network: which task, architecture, head and class count, and for sound the MFCC
/// framing its input is cut with (it sets the input's height).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ModelSpec {
    pub task: Task,
    pub arch: Arch,
    pub head: Head,
    pub classes: usize,
    /// Sound only; always `Valid` elsewhere. Left out of files when it is the default, so
    /// models saved before the setting existed, and those saved with the default since, read
    /// and write the same bytes.
    #[serde(default, skip_serializing_if = "is_valid")]
    pub framing: Framing,
}

fn is_valid(f: &Framing) -> bool {
    *f == Framing::Valid
}

impl ModelSpec {
    /// Checks that the architecture belongs to the task and the class count is supported.
    pub fn new(task: Task, arch: Arch, head: Head, classes: usize) -> Result<Self> {
        if arch.task() != task {
            return Err(GapError::Invalid(format!(
                "architecture '{arch}' is a {} model, not {task} (use one of: {})",
                arch.task(),
                task.archs().iter().map(|a| a.name()).collect::<Vec<_>>().join(", ")
            )));
        }
        if !task.class_counts().contains(&classes) {
            return Err(GapError::Invalid(format!(
                "{task} models take {:?} classes, not {classes}",
                task.class_counts()
            )));
        }
        Ok(Self { task, arch, head, classes, framing: Framing::Valid })
    }

    /// The same model over MFCCs cut with `framing` (sound models only).
    pub fn with_framing(self, framing: Framing) -> Result<Self> {
        if self.task != Task::Sound && framing != Framing::Valid {
            return Err(GapError::Invalid(format!("the MFCC framing is a sound setting; {} models have none", self.task)));
        }
        Ok(Self { framing, ..self })
    }

    /// MFCC frames of a sound model's input (the default 98, or 101 centred).
    pub fn frames(&self) -> usize {
        self.framing.frames()
    }

    /// Width of the logits: one for the binary text task, else the class count.
    pub fn outputs(&self) -> usize {
        if self.task == Task::Text { 1 } else { self.classes }
    }

    /// Every model × head × class count of the paper.
    pub fn all() -> Vec<ModelSpec> {
        let mut specs = Vec::new();
        for task in Task::ALL {
            for &arch in task.archs() {
                for head in Head::BOTH {
                    for &classes in task.class_counts() {
                        specs.push(ModelSpec { task, arch, head, classes, framing: Framing::Valid });
                    }
                }
            }
        }
        specs
    }
}

impl fmt::Display for ModelSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {} ({} classes", self.task, self.arch, self.head, self.classes)?;
        match self.framing {
            Framing::Valid => f.write_str(")"),
            other => write!(f, ", {} frames {other})", other.frames()),
        }
    }
}
