//! Model files: one self-contained file per trained network.
//!
//! Layout: the magic `GAPLAB\x01\n`, a little-endian `u32` header length, the JSON header
//! ([`ModelHeader`]: spec, class names, trigger and poisoning, training settings, seed, the text
//! vocabulary, training summary), then the weights as burnpack bytes. The CLI and the page
//! read and write the same bytes, and every malformed file is a [`GapError::BadModel`].

use crate::error::{GapError, Result};
use crate::experiment::PoisonConfig;
use crate::features::text::Vocab;
use crate::model::{ModelSpec, Net, Task};
use crate::train::TrainSettings;
use burn::module::Module;
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use serde::{Deserialize, Serialize};

/// The first bytes of every model file.
pub const MAGIC: &[u8; 8] = b"GAPLAB\x01\n";
/// Largest JSON header accepted (the 10,000-word vocabulary is ~100 kB).
const MAX_HEADER: usize = 16 << 20;

/// How training went, for the record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainSummary {
    pub best_epoch: usize,
    pub epochs_trained: usize,
    pub best_val_loss: f64,
    pub seconds: f64,
    pub backend: String,
}

/// Everything about a model except its weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelHeader {
    pub spec: ModelSpec,
    pub classes: Vec<String>,
    pub poison: PoisonConfig,
    pub settings: TrainSettings,
    /// The seed of the data split (and of the poisoned-sample choice).
    pub seed: u64,
    pub vocab: Option<Vocab>,
    pub summary: Option<TrainSummary>,
}

impl ModelHeader {
    fn check(&self, file: &str) -> Result<()> {
        let spec = self.spec;
        ModelSpec::new(spec.task, spec.arch, spec.head, spec.classes)
            .map_err(|e| GapError::bad_model(file, e.to_string()))?;
        if spec.task == Task::Text && self.vocab.is_none() {
            return Err(GapError::bad_model(file, "text model without a vocabulary"));
        }
        let expected = if spec.task == Task::Text { 2 } else { spec.classes };
        if self.classes.len() != expected {
            return Err(GapError::bad_model(file, format!("{} class names for {expected} classes", self.classes.len())));
        }
        Ok(())
    }
}

/// Serialises a header and a network into model-file bytes.
pub fn save(header: &ModelHeader, net: &Net) -> Result<Vec<u8>> {
    let json = serde_json::to_vec(header).map_err(|e| GapError::Invalid(format!("model header: {e}")))?;
    let weights = net
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| GapError::Backend(format!("serialising weights: {e}")))?;
    let mut out = Vec::with_capacity(MAGIC.len() + 4 + json.len() + weights.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&weights);
    Ok(out)
}

/// Reads only the header of a model file (cheap: no weights are decoded).
pub fn read_header(file: &str, bytes: &[u8]) -> Result<(ModelHeader, usize)> {
    let bad = |problem: &str| GapError::bad_model(file, problem);
    if bytes.len() < MAGIC.len() + 4 {
        return Err(bad(if bytes.is_empty() { "empty file" } else { "truncated: shorter than the file header" }));
    }
    if &bytes[..MAGIC.len()] != MAGIC {
        return Err(bad("not a gaplab model file (wrong magic bytes)"));
    }
    let len_bytes: [u8; 4] = bytes[MAGIC.len()..MAGIC.len() + 4].try_into().expect("4 bytes");
    let len = u32::from_le_bytes(len_bytes) as usize;
    let start = MAGIC.len() + 4;
    if len > MAX_HEADER || start + len > bytes.len() {
        return Err(bad("truncated or corrupt: header length beyond the end of the file"));
    }
    let header: ModelHeader = serde_json::from_slice(&bytes[start..start + len])
        .map_err(|e| GapError::bad_model(file, format!("corrupt header: {e}")))?;
    header.check(file)?;
    Ok((header, start + len))
}

/// Reads a model file into a header and a network on `device`.
pub fn load(file: &str, bytes: &[u8], device: &Device) -> Result<(ModelHeader, Net)> {
    let (header, offset) = read_header(file, bytes)?;
    let weights = &bytes[offset..];
    if weights.is_empty() {
        return Err(GapError::bad_model(file, "truncated: no weights"));
    }
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(weights.to_vec()))
        .map_err(|e| GapError::bad_model(file, format!("corrupt weights: {e}")))?;
    let net = Net::init(&header.spec, device)
        .try_load_record(record)
        .map_err(|e| GapError::bad_model(file, format!("weights do not fit a {}: {e}", header.spec)))?;
    Ok((header, net.valid()))
}

/// Loads a model and checks that it is for `task`.
pub fn load_for(file: &str, bytes: &[u8], task: Task, device: &Device) -> Result<(ModelHeader, Net)> {
    let (header, net) = load(file, bytes, device)?;
    if header.spec.task != task {
        return Err(GapError::bad_model(file, format!("a {} model, but the data is {task}", header.spec.task)));
    }
    Ok((header, net))
}
