//! What a model is: task, architecture, head and class count, with parsing and validation.

use crate::error::{GapError, Result};
use crate::features::mfcc::Framing;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The paper's three domains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    Sound,
    Text,
    Image,
}

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

macro_rules! names {
    ($ty:ty { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// The lowercase name used on the command line, in files and in the page.
            pub fn name(self) -> &'static str {
                match self { $(Self::$variant => $name),+ }
            }
            /// Parses the lowercase name.
            pub fn parse(s: &str) -> Result<Self> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($name => Ok(Self::$variant),)+
                    other => Err(GapError::Invalid(format!(
                        "unknown {} '{other}' (expected one of: {})",
                        stringify!($ty).to_ascii_lowercase(),
                        [$($name),+].join(", ")
                    ))),
                }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.name()) }
        }
        impl std::str::FromStr for $ty {
            type Err = GapError;
            fn from_str(s: &str) -> Result<Self> { Self::parse(s) }
        }
    };
}

names!(Task { Sound => "sound", Text => "text", Image => "image" });
names!(Arch { Large => "large", Small => "small", Kim => "kim", Conv1d => "conv1d", Bag => "bag", Strip => "strip" });
names!(Head { Fc => "fc", Gap => "gap" });

impl Task {
    pub const ALL: [Task; 3] = [Task::Sound, Task::Text, Task::Image];

    /// The architectures of this task.
    pub fn archs(self) -> &'static [Arch] {
        match self {
            Task::Sound => &[Arch::Large, Arch::Small],
            Task::Text => &[Arch::Kim, Arch::Conv1d, Arch::Bag],
            Task::Image => &[Arch::Strip],
        }
    }

    /// The class counts this task supports.
    pub fn class_counts(self) -> &'static [usize] {
        match self {
            Task::Sound => &[10, 30],
            Task::Text => &[2],
            Task::Image => &[10],
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
