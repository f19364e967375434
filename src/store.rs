//! Model files: one self-contained file per trained network.
//!
//! Layout: the magic `GAPLAB\x01\n`, a little-endian `u32` header length, the JSON header
//! ([`ModelHeader`]: spec, class names, trigger and poisoning, training settings, seed, the text
//! vocabulary, training summary), then the weights as burnpack bytes. The CLI and the page
//! read and write the same bytes, and every malformed file is a [`GapError::BadModel`].

use crate::error::{GapError, Result};
use crate::trigger::PoisonConfig;
use crate::features::text::Vocab;
use crate::model::{ModelSpec, Net, Task};
use crate::train::TrainSettings;
use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, DType};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

pub mod int8;

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

impl TrainSummary {
    /// The record of a run, at a precision the JSON header reads back exactly: serde_json's
    /// default parser can miss a 17-digit number by one unit in the last place (a header saved
    /// with `seconds: 29.774623515000002` read back as …515), so the wall time is kept to the
    /// millisecond and the loss to 12 significant digits — numbers it parses exactly.
    pub fn new(best_epoch: usize, epochs_trained: usize, best_val_loss: f64, seconds: f64, backend: String) -> Self {
        let loss = if best_val_loss.is_finite() { format!("{best_val_loss:.11e}").parse().unwrap_or(best_val_loss) } else { best_val_loss };
        TrainSummary { best_epoch, epochs_trained, best_val_loss: loss, seconds: (seconds * 1000.0).round() / 1000.0, backend }
    }
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
            .and_then(|s| s.with_framing(spec.framing))
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

/// How a model file stores its weights. Files of either kind load the same way: the weights
/// are cast to the network's f32 on load.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Precision {
    /// Exactly the trained numbers.
    #[default]
    F32,
    /// Half the bytes: every weight rounded to f16, about three significant digits;
    /// predictions move slightly (re-measure with `gaplab eval`).
    F16,
    /// A quarter of the bytes (the page's pretrained downloads): weight matrices and kernels as
    /// int8 with one scale per output channel, biases and BatchNorm in f32 ([`int8`]).
    Int8,
}

impl std::str::FromStr for Precision {
    type Err = GapError;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "f32" => Ok(Precision::F32),
            "f16" => Ok(Precision::F16),
            "int8" => Ok(Precision::Int8),
            other => Err(GapError::Invalid(format!("unknown weight precision '{other}' (expected f32, f16 or int8)"))),
        }
    }
}

/// A weights section (burnpack) with every float tensor converted to `to` (f32 or f16) on the
/// host, tensor by tensor, names and parameter ids kept: an f16 file is widened before any
/// device sees it (a browser's WebGPU may lack f16 — SwiftShader's does), and an f16 file is
/// written from f32 weights without a device. A section already all of that type is returned
/// as it is, uncopied.
fn recast<'a>(file: &str, weights: &'a [u8], to: DType) -> Result<Cow<'a, [u8]>> {
    let is_float = |d: DType| matches!(d, DType::F64 | DType::F32 | DType::F16 | DType::BF16);
    let tensors = pack_tensors(file, weights)?;
    if tensors.iter().all(|t| t.dtype == to || !is_float(t.dtype)) {
        return Ok(Cow::Borrowed(weights));
    }
    let mut out = Vec::with_capacity(tensors.len());
    for t in tensors {
        let (name, dtype, shape, id, bytes) = t.into_parts().map_err(|e| GapError::bad_model(file, format!("corrupt weights: {e}")))?;
        if dtype == to || !is_float(dtype) {
            out.push(burn_pack::Tensor::new(name, dtype, shape, id, bytes));
            continue;
        }
        let values = float_values(&bytes, dtype);
        let converted: Vec<u8> = match to {
            DType::F16 => values.iter().flat_map(|&v| half::f16::from_f32(v).to_le_bytes()).collect(),
            _ => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        };
        out.push(burn_pack::Tensor::new(name, to, shape, id, Bytes::from_bytes_vec(converted)));
    }
    let bytes = burn_pack::Writer::new(out).into_bytes().map_err(|e| GapError::Backend(format!("serialising weights: {e}")))?;
    Ok(Cow::Owned(bytes.to_vec()))
}

/// The tensors of a weights section (burnpack), their bytes not yet read; a section that does
/// not parse is the file's "corrupt weights" error.
fn pack_tensors(file: &str, weights: &[u8]) -> Result<Vec<burn_pack::Tensor>> {
    let corrupt = |e: burn_pack::Error| GapError::bad_model(file, format!("corrupt weights: {e}"));
    burn_pack::Reader::from_bytes(Bytes::from_bytes_vec(weights.to_vec())).map_err(corrupt)?.into_tensors().map_err(corrupt)
}

/// The values of a float tensor's little-endian bytes, as f32 (read byte by byte: the bytes
/// may sit at any alignment).
fn float_values(bytes: &[u8], dtype: DType) -> Vec<f32> {
    match dtype {
        DType::F64 => bytes.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32).collect(),
        DType::F16 => bytes.chunks_exact(2).map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32()).collect(),
        DType::BF16 => bytes.chunks_exact(2).map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32()).collect(),
        _ => bytes.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes"))).collect(),
    }
}

/// How many values a model file's weights section holds (every float tensor: weights, biases,
/// BatchNorm statistics — what [`Net::total_count`] counts), read from the file alone: the
/// page shows it for a dropped file before (and without) loading it on any device.
pub fn value_count(file: &str, bytes: &[u8]) -> Result<usize> {
    let (_, offset) = read_header(file, bytes)?;
    let weights = &bytes[offset..];
    if weights.starts_with(int8::MAGIC) {
        return Ok(int8::decode_tensors(file, weights)?.iter().map(|t| t.dims().iter().product::<usize>()).sum());
    }
    Ok(pack_tensors(file, weights)?.iter().map(|t| t.shape.num_elements()).sum())
}

/// Serialises a header and a network into model-file bytes (f32 weights).
pub fn save(header: &ModelHeader, net: &Net) -> Result<Vec<u8>> {
    save_as(header, net, Precision::F32)
}

/// Serialises a header and a network into model-file bytes, the weights at `precision`.
pub fn save_as(header: &ModelHeader, net: &Net, precision: Precision) -> Result<Vec<u8>> {
    let json = serde_json::to_vec(header).map_err(|e| GapError::Invalid(format!("model header: {e}")))?;
    let serialise = |e: burn::store::RecordError| GapError::Backend(format!("serialising weights: {e}"));
    if precision == Precision::Int8 {
        return Ok(file_bytes(&json, &int8::encode(net)?));
    }
    let weights = net.clone().into_record().into_bytes().map_err(serialise)?;
    let weights = match precision {
        Precision::F32 | Precision::Int8 => Cow::Borrowed(&weights[..]),
        Precision::F16 => recast("f16 weights", &weights, DType::F16)?,
    };
    Ok(file_bytes(&json, &weights))
}

/// Magic, header length, header, weights section.
fn file_bytes(json: &[u8], weights: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAGIC.len() + 4 + json.len() + weights.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(json);
    out.extend_from_slice(weights);
    out
}

/// The weights of a model file as stored, one entry per float tensor in the network's visiting
/// order: an int8 file's quantised values and scales, any other file's f32 values as loaded.
#[cfg(flex)]
pub fn stored_weights(file: &str, bytes: &[u8]) -> Result<Vec<int8::Stored>> {
    let (_, offset) = read_header(file, bytes)?;
    if bytes[offset..].starts_with(int8::MAGIC) {
        return int8::decode_tensors(file, &bytes[offset..]);
    }
    let (_, net) = load(file, bytes, &Device::flex())?;
    int8::tensors(&net, false)
}

/// Serialises like [`save`] for a network on any device. A browser's WebGPU device reads
/// tensors only with `into_data_async`, and burn's record serialisation reads them
/// synchronously: off Flex, every tensor is read back first and the same weights section is
/// written from the data ([`weights_read_back`]).
pub async fn save_async(header: &ModelHeader, net: &Net, device: &Device) -> Result<Vec<u8>> {
    if crate::backend::is_flex(device) {
        return save(header, net);
    }
    let json = serde_json::to_vec(header).map_err(|e| GapError::Invalid(format!("model header: {e}")))?;
    Ok(file_bytes(&json, &weights_read_back(net).await?))
}

/// The f32 weights section [`save`] writes — burn's burnpack of every parameter under its module
/// path and parameter id, as `Module::into_record` collects them (the path from the visitor's
/// `enter_module`/`exit_module`, the data in its save form) — from tensors read back with
/// `into_data_async`, on any device, with no copy of the network.
pub async fn weights_read_back(net: &Net) -> Result<Vec<u8>> {
    struct Collect {
        path: Vec<String>,
        found: Vec<(String, u64, Tensor<1>, Vec<usize>)>,
        other: bool,
    }
    impl ModuleVisitor for Collect {
        fn enter_module(&mut self, name: &str, _container_type: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let tensor = param.transform_for_save().val();
            let dims = tensor.dims().to_vec();
            let n = dims.iter().product::<usize>();
            self.found.push((self.path.join("."), param.id.val(), tensor.reshape([n]), dims));
        }
        // The networks hold float parameters only; anything else is refused, not half-written.
        fn visit_int<const D: usize>(&mut self, _param: &Param<Tensor<D, Int>>) {
            self.other = true;
        }
        fn visit_bool<const D: usize>(&mut self, _param: &Param<Tensor<D, Bool>>) {
            self.other = true;
        }
    }
    let mut collect = Collect { path: Vec::new(), found: Vec::new(), other: false };
    net.visit(&mut collect);
    if collect.other {
        return Err(GapError::Backend("serialising weights: a parameter that is not a float tensor".into()));
    }
    let mut tensors = Vec::with_capacity(collect.found.len());
    for (path, id, tensor, dims) in collect.found {
        let data = tensor.into_data_async().await.map_err(|e| GapError::Backend(format!("reading weights back: {e}")))?;
        let (bytes, _, dtype) = data.into_parts();
        tensors.push(burn_pack::Tensor::new(path, dtype, dims, Some(id), bytes));
    }
    let bytes = burn_pack::Writer::new(tensors)
        .into_bytes()
        .map_err(|e| GapError::Backend(format!("serialising weights: {e}")))?;
    Ok(bytes.to_vec())
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
    let misfit = |e: burn::store::RecordError| GapError::bad_model(file, format!("weights do not fit a {}: {e}", header.spec));
    // Straight onto `device`, in f32 (an f16 file widened on the host first).
    let net = if weights.starts_with(int8::MAGIC) {
        int8::decode(file, &header.spec, weights, device)?
    } else {
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(recast(file, weights, DType::F32)?.into_owned()))
            .map_err(|e| GapError::bad_model(file, format!("corrupt weights: {e}")))?;
        Net::blank(&header.spec, device).try_load_record(record).map_err(misfit)?
    };
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

#[cfg(test)]
mod tests {
    /// A model file passed as a checkpoint is recognised by how it begins.
    #[test]
    fn the_checkpoint_reader_knows_how_model_files_begin() {
        assert!(super::MAGIC.starts_with(crate::train::checkpoint::MODEL_FILE_START));
        assert!(!crate::train::checkpoint::MAGIC.starts_with(crate::train::checkpoint::MODEL_FILE_START));
    }
}
