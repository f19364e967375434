//! Training checkpoints: everything [`super::fit_resumable`] needs to go on exactly where a run
//! stopped — between two epochs, or between two steps when it was interrupted — so that a
//! training longer than a session (the large sound CNN) is a series of resumed runs whose
//! result is bit for bit the uninterrupted one.
//!
//! A run is reproducible from its position alone because every random choice is derived from
//! the seed and that position: the shuffle of epoch `e` is the `e`-th draw of a generator
//! seeded once (replayed on resume), and the backend's generator (dropout) is reseeded from
//! `(seed, epoch, step)` before every step. What cannot be re-derived is stored: the current
//! weights and BatchNorm statistics, the optimiser's moments and step counts, the best weights
//! so far, and the bookkeeping of early stopping.
//!
//! Layout: [`MAGIC`], a `u32` JSON length, the JSON [`CheckpointState`], then three sections,
//! each a `u64` length and burnpack bytes: the network being trained, the best network so far
//! (empty before the first epoch ends) and the optimiser state.

use super::{EpochStats, TrainSettings};
use crate::error::{GapError, Result};
use super::Samples;
use crate::model::ModelSpec;
use serde::{Deserialize, Serialize};

/// The first bytes of every checkpoint file.
pub const MAGIC: &[u8; 8] = b"GAPLCK\x01\n";

/// How a model file begins (`store::MAGIC`, which a test there checks against this): a model
/// file passed where a checkpoint belongs gets its own message, and the page tells a dropped
/// model from a dataset by it (`page::info`). Written here rather than imported because the
/// store sits above training.
pub(crate) const MODEL_FILE_START: &[u8] = b"GAPLAB";
/// Largest JSON part accepted (the history of a few hundred epochs is a few tens of kB).
const MAX_STATE: usize = 16 << 20;

/// Identifies the training data a checkpoint belongs to: sizes and a hash of the labels in
/// order (the split, the poisoning and the seed all change it). Resuming on other data would
/// silently train a different model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataPrint {
    pub train: usize,
    pub val: usize,
    pub labels: u64,
}

impl DataPrint {
    pub fn of(train: &Samples, val: &Samples) -> Self {
        let labels = train.labels.iter().chain([usize::MAX].iter()).chain(val.labels.iter());
        let h = fnv1a(labels.flat_map(|&label| (label as u64).to_le_bytes()));
        DataPrint { train: train.len(), val: val.len(), labels: h }
    }
}

/// FNV-1a over `bytes`: a fingerprint stable across platforms and builds.
pub fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(0xcbf2_9ce4_8422_2325, |h, byte| (h ^ byte as u64).wrapping_mul(0x0100_0000_01b3))
}

/// Writes next to `path`, then renames: a checkpoint interrupted mid-write never replaces the
/// last good one.
#[cfg(not(target_arch = "wasm32"))]
pub fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    let io = |source| GapError::Io { path: path.display().to_string(), source };
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = std::path::PathBuf::from(partial);
    std::fs::write(&partial, bytes).map_err(|source| GapError::Io { path: partial.display().to_string(), source })?;
    std::fs::rename(&partial, path).map_err(io)
}

/// Where a run stands, and the bookkeeping that is not in the weights. The floats that the
/// rest of the run depends on are stored as their bits: JSON's decimal round trip may move
/// the last bit (serde_json parses without `float_roundtrip`), and a resumed run must compare
/// and sum exactly the numbers the uninterrupted one had.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointState {
    pub spec: ModelSpec,
    pub settings: TrainSettings,
    pub data: DataPrint,
    /// The epoch to run next or the one interrupted (1-based).
    pub epoch: usize,
    /// Steps of `epoch` already done (0: it has not started).
    pub step: usize,
    /// The interrupted epoch's running training loss (sum over samples) and correct count.
    #[serde(with = "bits")]
    pub loss_sum: f64,
    pub correct: i64,
    #[serde(with = "history_bits")]
    pub history: Vec<EpochStats>,
    /// Best validation loss so far and its epoch (none before the first epoch ends).
    #[serde(with = "best_bits")]
    pub best: Option<(f64, usize)>,
    pub since_best: usize,
    /// What the optimiser's learning rate is multiplied by now ([`super::LrDrop`]); 1 in
    /// checkpoints written before rates could drop.
    #[serde(default = "unit_scale", with = "bits")]
    pub lr_scale: f64,
    /// Early stopping ended the run: resuming returns the best network at once.
    pub stopped: bool,
    /// Training seconds of the earlier runs.
    pub seconds: f64,
}

fn unit_scale() -> f64 {
    1.0
}

/// An `f64` as its IEEE bits.
mod bits {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(v.to_bits())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        u64::deserialize(d).map(f64::from_bits)
    }
}

/// The best (loss, epoch) with the loss as bits.
mod best_bits {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    pub fn serialize<S: Serializer>(v: &Option<(f64, usize)>, s: S) -> Result<S::Ok, S::Error> {
        v.map(|(loss, epoch)| (loss.to_bits(), epoch)).serialize(s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<(f64, usize)>, D::Error> {
        Ok(Option::<(u64, usize)>::deserialize(d)?.map(|(loss, epoch)| (f64::from_bits(loss), epoch)))
    }
}

/// Epoch figures as `[epoch, then the bits of train loss, train accuracy, val loss, val
/// accuracy, seconds]`.
mod history_bits {
    use super::EpochStats;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    pub fn serialize<S: Serializer>(v: &[EpochStats], s: S) -> Result<S::Ok, S::Error> {
        let rows: Vec<[u64; 6]> = v
            .iter()
            .map(|e| {
                let f = [e.train_loss, e.train_accuracy, e.val_loss, e.val_accuracy, e.seconds];
                [e.epoch as u64, f[0].to_bits(), f[1].to_bits(), f[2].to_bits(), f[3].to_bits(), f[4].to_bits()]
            })
            .collect();
        rows.serialize(s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<EpochStats>, D::Error> {
        let rows = Vec::<[u64; 6]>::deserialize(d)?;
        Ok(rows
            .into_iter()
            .map(|[epoch, tl, ta, vl, va, s]| EpochStats {
                epoch: epoch as usize,
                train_loss: f64::from_bits(tl),
                train_accuracy: f64::from_bits(ta),
                val_loss: f64::from_bits(vl),
                val_accuracy: f64::from_bits(va),
                seconds: f64::from_bits(s),
            })
            .collect())
    }
}

impl CheckpointState {
    /// Checks that resuming this state with `settings` on this data continues the same run.
    /// The epoch limit and the time budget may change (to extend a run); nothing else may.
    pub fn check_matches(&self, file: &str, spec: &ModelSpec, settings: &TrainSettings, data: DataPrint) -> Result<()> {
        let differs = |what: &str, was: String, now: String| {
            Err(GapError::Invalid(format!("{file}: the checkpoint was made with {what} {was}, this run has {now}; resume with the same settings")))
        };
        if self.spec != *spec {
            return differs("the network", self.spec.to_string(), spec.to_string());
        }
        let comparable = |s: &TrainSettings| TrainSettings { epochs: 0, max_seconds: None, ..s.clone() };
        if comparable(&self.settings) != comparable(settings) {
            return differs("settings", format!("{:?}", comparable(&self.settings)), format!("{:?}", comparable(settings)));
        }
        if self.data != data {
            return differs("training data", format!("{:?}", self.data), format!("{data:?}"));
        }
        Ok(())
    }
}

/// A checkpoint as bytes on disk: the state and the three burnpack sections.
pub struct CheckpointFile {
    pub state: CheckpointState,
    pub net: Vec<u8>,
    pub best: Vec<u8>,
    pub optimizer: Vec<u8>,
}

impl CheckpointFile {
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let json = serde_json::to_vec(&self.state).map_err(|e| GapError::Invalid(format!("checkpoint state: {e}")))?;
        let mut out = Vec::with_capacity(MAGIC.len() + 4 + json.len() + 24 + self.net.len() + self.best.len() + self.optimizer.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(json.len() as u32).to_le_bytes());
        out.extend_from_slice(&json);
        for section in [&self.net, &self.best, &self.optimizer] {
            out.extend_from_slice(&(section.len() as u64).to_le_bytes());
            out.extend_from_slice(section);
        }
        Ok(out)
    }

    /// Parses a checkpoint; every malformed file is a [`GapError::BadFile`] naming `file`.
    pub fn from_bytes(file: &str, bytes: &[u8]) -> Result<Self> {
        let (state, mut rest) = Self::split_state(file, bytes)?;
        let mut sections = Vec::with_capacity(3);
        for name in ["network", "best network", "optimiser"] {
            let (len, tail) = rest.split_first_chunk::<8>().ok_or_else(|| GapError::bad_file(file, format!("truncated: no {name} section")))?;
            let len = usize::try_from(u64::from_le_bytes(*len)).ok().filter(|l| *l <= tail.len());
            let len = len.ok_or_else(|| GapError::bad_file(file, format!("truncated: the {name} section ends early")))?;
            sections.push(tail[..len].to_vec());
            rest = &tail[len..];
        }
        if !rest.is_empty() {
            return Err(GapError::bad_file(file, "corrupt: bytes after the last section"));
        }
        let optimizer = sections.pop().expect("three sections");
        let best = sections.pop().expect("three sections");
        let net = sections.pop().expect("three sections");
        Ok(CheckpointFile { state, net, best, optimizer })
    }

    /// Only where the run stands (the JSON part), without copying the weights: enough to say
    /// where a run will go on from. The sections are checked when the run resumes.
    pub fn state_of(file: &str, bytes: &[u8]) -> Result<CheckpointState> {
        Self::split_state(file, bytes).map(|(state, _)| state)
    }

    /// The state and the bytes after it (the sections).
    fn split_state<'b>(file: &str, bytes: &'b [u8]) -> Result<(CheckpointState, &'b [u8])> {
        let bad = |problem: &str| GapError::bad_file(file, problem);
        let rest = bytes.strip_prefix(MAGIC.as_slice()).ok_or_else(|| {
            bad(if bytes.starts_with(MODEL_FILE_START) { "a model file, not a checkpoint (train with --checkpoint)" } else { "not a gaplab checkpoint (wrong magic bytes)" })
        })?;
        let (len, rest) = rest.split_first_chunk::<4>().ok_or_else(|| bad("truncated: no state"))?;
        let len = u32::from_le_bytes(*len) as usize;
        if len > MAX_STATE || len > rest.len() {
            return Err(bad("truncated or corrupt: state length beyond the end of the file"));
        }
        let (json, rest) = rest.split_at(len);
        let state = serde_json::from_slice(json).map_err(|e| GapError::bad_file(file, format!("corrupt checkpoint state: {e}")))?;
        Ok((state, rest))
    }
}

/// The backend generator's seed for one step: dropout masks depend only on the run's seed and
/// the step's position, so a resumed run draws the same masks.
pub fn step_seed(seed: u64, epoch: usize, step: usize) -> u64 {
    // SplitMix64 finaliser over the three numbers: well-mixed, no two positions alike in practice.
    let mut z = seed ^ (epoch as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (step as u64).wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
