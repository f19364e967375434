//! 8-bit weights for model files: a quarter of f32's bytes, so that a task's pretrained pair
//! (the large sound CNN: 6.2 M + 3.4 M parameters) fits the page's per-task download budget.
//!
//! Every weight matrix and kernel (rank ≥ 2) is stored as symmetric int8 with one f32 scale
//! per output channel — `w ≈ q · scale`, `scale = max|w| / 127` over the channel, so no weight
//! moves by more than half a step (`scale / 2`). Output channels are where a layer's rows
//! differ most in magnitude: axis 0 of a convolution kernel (`[out, in, …]`) and of an
//! embedding table (one row per token), axis 1 of a dense layer (burn's `[in, out]`).
//! Biases and BatchNorm's parameters and statistics (rank 1, a few hundred values) stay f32:
//! they are a rounding error of the size and BatchNorm's variance is where precision matters.
//!
//! Layout (little-endian), after [`MAGIC`]: a `u32` tensor count, then per tensor in the
//! module's visiting order: `u8` encoding (0 = f32, 1 = int8), `u8` rank, `u8` channel axis,
//! `u32` × rank dims, then the f32 values, or the channel count of f32 scales followed by the
//! int8 values in row-major order. Decoding pours the tensors, in the same order, into a fresh
//! network of the header's spec; any mismatch is a bad model, never a panic.

use crate::error::{GapError, Result};
use crate::model::{ModelSpec, Net};
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;
use std::collections::VecDeque;

/// First bytes of an int8 weights section (a burnpack section starts otherwise).
pub const MAGIC: &[u8; 8] = b"GAPLQ8\x01\n";

const F32: u8 = 0;
const INT8: u8 = 1;
/// Largest rank a network of the lab has (conv kernels: 4).
const MAX_RANK: usize = 4;

/// One float tensor of a network, as stored.
#[derive(Clone, Debug, PartialEq)]
pub enum Stored {
    F32 { dims: Vec<usize>, values: Vec<f32> },
    Int8 { dims: Vec<usize>, axis: usize, scales: Vec<f32>, values: Vec<i8> },
}

impl Stored {
    /// Quantises `values` of shape `dims` per channel along `axis`.
    pub fn quantise(dims: Vec<usize>, axis: usize, values: &[f32]) -> Stored {
        let channels = dims[axis];
        let inner: usize = dims[axis + 1..].iter().product();
        let channel_of = |i: usize| (i / inner) % channels;
        let mut max = vec![0f32; channels];
        for (i, v) in values.iter().enumerate() {
            let c = channel_of(i);
            max[c] = max[c].max(v.abs());
        }
        let scales: Vec<f32> = max.iter().map(|m| if *m > 0.0 { m / 127.0 } else { 1.0 }).collect();
        let values = values
            .iter()
            .enumerate()
            .map(|(i, v)| (v / scales[channel_of(i)]).round().clamp(-127.0, 127.0) as i8)
            .collect();
        Stored::Int8 { dims, axis, scales, values }
    }

    pub fn dims(&self) -> &[usize] {
        match self {
            Stored::F32 { dims, .. } | Stored::Int8 { dims, .. } => dims,
        }
    }

    /// The f32 values the network gets.
    pub fn decode(&self) -> Vec<f32> {
        match self {
            Stored::F32 { values, .. } => values.clone(),
            Stored::Int8 { dims, axis, scales, values } => {
                // Run by run of one channel, not value by value: an integer division per value
                // was most of a model's load (the large sound CNN's 6.2 M weights, on every page
                // open).
                let inner: usize = dims[axis + 1..].iter().product();
                let mut out = Vec::with_capacity(values.len());
                if inner == 0 || scales.is_empty() {
                    return out;
                }
                for block in values.chunks(inner * scales.len()) {
                    if inner == 1 {
                        out.extend(block.iter().zip(scales).map(|(&q, &scale)| f32::from(q) * scale));
                    } else {
                        for (run, &scale) in block.chunks(inner).zip(scales) {
                            out.extend(run.iter().map(|&q| f32::from(q) * scale));
                        }
                    }
                }
                out
            }
        }
    }
}

/// The channel axis of a weight in a module of type `container` (`"Struct:Linear"`, …), or
/// `None` for a tensor kept as f32.
fn channel_axis(container: &str, rank: usize) -> Option<usize> {
    match rank {
        0 | 1 => None,
        _ if container == "Struct:Linear" => Some(1),
        _ => Some(0),
    }
}

/// Every float tensor of `net` in visiting order, quantised where it is a weight if `quantise`.
pub fn tensors(net: &Net, quantise: bool) -> Result<Vec<Stored>> {
    struct Collect {
        quantise: bool,
        containers: Vec<String>,
        out: Vec<Result<Stored>>,
    }
    impl ModuleVisitor for Collect {
        fn enter_module(&mut self, _name: &str, container_type: &str) {
            self.containers.push(container_type.to_string());
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.containers.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let tensor = param.val();
            let dims = tensor.dims().to_vec();
            let values = tensor
                .into_data()
                .try_to_vec_as::<f32>()
                .map_err(|e| GapError::Backend(format!("reading weights: {e:?}")));
            let container = self.containers.last().map_or("", String::as_str);
            let axis = channel_axis(container, D).filter(|_| self.quantise);
            self.out.push(values.map(|values| match axis {
                Some(axis) => Stored::quantise(dims, axis, &values),
                None => Stored::F32 { dims, values },
            }));
        }
    }
    let mut collect = Collect { quantise, containers: Vec::new(), out: Vec::new() };
    net.visit(&mut collect);
    collect.out.into_iter().collect()
}

/// The int8 weights section of a model file.
pub fn encode(net: &Net) -> Result<Vec<u8>> {
    let tensors = tensors(net, true)?;
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&(tensors.len() as u32).to_le_bytes());
    for t in &tensors {
        let (kind, axis) = match t {
            Stored::F32 { .. } => (F32, 0),
            Stored::Int8 { axis, .. } => (INT8, *axis),
        };
        out.extend_from_slice(&[kind, t.dims().len() as u8, axis as u8]);
        for d in t.dims() {
            out.extend_from_slice(&(*d as u32).to_le_bytes());
        }
        match t {
            Stored::F32 { values, .. } => values.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
            Stored::Int8 { scales, values, .. } => {
                scales.iter().for_each(|s| out.extend_from_slice(&s.to_le_bytes()));
                out.extend(values.iter().map(|q| *q as u8));
            }
        }
    }
    Ok(out)
}

/// Reads bytes off the front of a section, each shortfall a [`GapError::BadModel`].
struct Reader<'a> {
    file: &'a str,
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.bytes.len() {
            return Err(GapError::bad_model(self.file, "truncated: int8 weights end early"));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<usize> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")) as usize)
    }
    fn f32s(&mut self, n: usize) -> Result<Vec<f32>> {
        let bytes = self.take(n.checked_mul(4).ok_or_else(|| GapError::bad_model(self.file, "corrupt int8 weights: size overflows"))?)?;
        Ok(bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect())
    }
}

/// Parses an int8 weights section (starting with [`MAGIC`]).
pub fn decode_tensors(file: &str, bytes: &[u8]) -> Result<Vec<Stored>> {
    let bad = |problem: String| GapError::bad_model(file, problem);
    let mut r = Reader { file, bytes: bytes.strip_prefix(MAGIC.as_slice()).ok_or_else(|| bad("not an int8 weights section".into()))? };
    let count = r.u32()?;
    let mut tensors = Vec::with_capacity(count.min(1024));
    for index in 0..count {
        let (kind, rank, axis) = (r.u8()?, r.u8()? as usize, r.u8()? as usize);
        if rank > MAX_RANK {
            return Err(bad(format!("corrupt int8 weights: tensor {index} has rank {rank}")));
        }
        let dims = (0..rank).map(|_| r.u32()).collect::<Result<Vec<_>>>()?;
        let n = dims.iter().try_fold(1usize, |n, d| n.checked_mul(*d)).filter(|n| *n <= r.bytes.len());
        let Some(n) = n else {
            return Err(bad(format!("truncated or corrupt int8 weights: tensor {index} of shape {dims:?}")));
        };
        tensors.push(match kind {
            F32 => Stored::F32 { values: r.f32s(n)?, dims },
            INT8 if axis < rank => {
                let scales = r.f32s(dims[axis])?;
                if scales.iter().any(|s| !s.is_finite()) {
                    return Err(bad(format!("corrupt int8 weights: tensor {index} has a non-finite scale")));
                }
                let values = r.take(n)?.iter().map(|b| *b as i8).collect();
                Stored::Int8 { dims, axis, scales, values }
            }
            _ => return Err(bad(format!("corrupt int8 weights: tensor {index} has encoding {kind} / axis {axis}"))),
        });
    }
    if !r.bytes.is_empty() {
        return Err(bad(format!("corrupt int8 weights: {} bytes after the last tensor", r.bytes.len())));
    }
    Ok(tensors)
}

/// A network of `spec` on `device` with the weights of an int8 section (decoded to f32 on the host).
pub fn decode(file: &str, spec: &ModelSpec, bytes: &[u8], device: &Device) -> Result<Net> {
    struct Fill {
        values: VecDeque<Stored>,
        device: Device,
        mismatch: Option<String>,
    }
    impl ModuleMapper for Fill {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let expected = param.lazy_shape().to_vec();
            match self.values.pop_front() {
                Some(stored) if stored.dims() == expected.as_slice() => {
                    let data = TensorData::new(stored.decode(), expected);
                    let device = self.device.clone();
                    crate::model::replaced(param, Tensor::from_data(data, &device))
                }
                found => {
                    self.mismatch.get_or_insert_with(|| {
                        format!("a tensor of shape {expected:?} where the file has {:?}", found.as_ref().map(Stored::dims))
                    });
                    param
                }
            }
        }
    }
    let values: VecDeque<Stored> = decode_tensors(file, bytes)?.into();
    let mut fill = Fill { values, device: device.clone(), mismatch: None };
    let net = Net::blank(spec, device).map(&mut fill);
    if let Some(problem) = fill.mismatch {
        return Err(GapError::bad_model(file, format!("weights do not fit a {spec}: {problem}")));
    }
    if !fill.values.is_empty() {
        return Err(GapError::bad_model(file, format!("weights do not fit a {spec}: {} tensors too many", fill.values.len())));
    }
    Ok(net)
}

#[cfg(test)]
mod tests {
    use super::Stored;

    /// Decoding gives every value its own channel's scale, whatever the channel axis: checked
    /// against the definition (value `i` belongs to channel `(i / inner) % channels`).
    #[test]
    fn decode_scales_every_value_by_its_channel() {
        for (dims, axis) in [(vec![3, 2, 2], 0), (vec![5, 4], 1), (vec![2, 3, 4, 5], 1), (vec![2, 3, 4, 5], 3), (vec![7, 1], 0), (vec![0, 4], 1)] {
            let n: usize = dims.iter().product();
            let values: Vec<f32> = (0..n).map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.01 * (1 + i % 3) as f32).collect();
            let stored = Stored::quantise(dims.clone(), axis, &values);
            let Stored::Int8 { scales, values: q, .. } = &stored else { panic!("not quantised") };
            let inner: usize = dims[axis + 1..].iter().product();
            let expected: Vec<f32> = q.iter().enumerate().map(|(i, &q)| q as f32 * scales[(i / inner) % dims[axis]]).collect();
            assert_eq!(stored.decode(), expected, "shape {dims:?}, axis {axis}");
        }
    }
}
