//! Network-ready samples (features + labels) and their conversion to tensor batches.

use crate::model::Input;
use crate::trigger::Placement;
use crate::trigger::patch::Blend;
use burn::prelude::*;
use std::sync::Arc;
use burn::tensor::TensorData;

/// Features of a set of samples, stored contiguously on the host.
#[derive(Clone, Debug, PartialEq)]
pub enum Features {
    /// Dense maps of shape `[c, h, w]` each (MFCC: `[1, 98, 40]`; images: `[3, 32, 32]`).
    Dense { dims: [usize; 3], values: Vec<f32> },
    /// Token-id sequences of length `len` each.
    Tokens { len: usize, ids: Vec<i32> },
}

impl Features {
    /// Values per sample.
    pub fn width(&self) -> usize {
        match self {
            Features::Dense { dims, .. } => dims.iter().product(),
            Features::Tokens { len, .. } => *len,
        }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        let width = self.width().max(1);
        match self {
            Features::Dense { values, .. } => values.len() / width,
            Features::Tokens { ids, .. } => ids.len() / width,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An empty set with the same per-sample shape.
    pub fn empty_like(&self) -> Features {
        match self {
            Features::Dense { dims, .. } => Features::Dense { dims: *dims, values: Vec::new() },
            Features::Tokens { len, .. } => Features::Tokens { len: *len, ids: Vec::new() },
        }
    }

    /// Appends sample `i` of `other` (same shape) to `self`.
    pub fn push_from(&mut self, other: &Features, i: usize) {
        let w = other.width();
        match (self, other) {
            (Features::Dense { values, .. }, Features::Dense { values: src, .. }) => {
                values.extend_from_slice(&src[i * w..(i + 1) * w])
            }
            (Features::Tokens { ids, .. }, Features::Tokens { ids: src, .. }) => {
                ids.extend_from_slice(&src[i * w..(i + 1) * w])
            }
            _ => unreachable!("features of different kinds"),
        }
    }

    /// The samples at `indices` as one input batch on `device`.
    pub fn batch(&self, indices: &[usize], device: &Device) -> Input {
        let w = self.width();
        let b = indices.len();
        match self {
            Features::Dense { dims, values } => {
                let mut data = Vec::with_capacity(b * w);
                for &i in indices {
                    data.extend_from_slice(&values[i * w..(i + 1) * w]);
                }
                let shape = [b, dims[0], dims[1], dims[2]];
                Input::Dense(Tensor::from_data(TensorData::new(data, shape), device))
            }
            Features::Tokens { len, ids } => {
                let mut data = Vec::with_capacity(b * w);
                for &i in indices {
                    data.extend_from_slice(&ids[i * w..(i + 1) * w]);
                }
                Input::Tokens(Tensor::from_data(TensorData::new(data, [b, *len]), device))
            }
        }
    }
}

/// A poisoned image as it was before its trigger: what augmentation needs to move the image
/// and not the trigger (`train::augment` shifts or flips `clean`, then stamps the patch at
/// `corner`, where it was planted).
#[derive(Clone, Debug, PartialEq)]
pub struct Stamp {
    /// The sample's row in its [`Samples`].
    pub row: usize,
    /// The patch's top-left corner `[x, y]`.
    pub corner: [usize; 2],
    /// The image without the patch, CHW floats in [0, 1].
    pub clean: Vec<f32>,
    /// How the patch was combined with the pixels.
    pub blend: Blend,
}

/// A sound sample's waveform and the tone it carries: what augmentation needs to shift the
/// speech and not the trigger (`train::augment` shifts `clip`, adds the tone at `tone`, where
/// it was planted, and computes the MFCC afresh).
#[derive(Clone, Debug, PartialEq)]
pub struct RawClip {
    /// The clean waveform, shared with the dataset's clip.
    pub clip: Arc<[f32]>,
    /// Where the sample's tone is (poisoned samples), none for a clean one.
    pub tone: Option<Placement>,
}

/// Features with their labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Samples {
    pub features: Features,
    pub labels: Vec<usize>,
    /// The poisoned images among them, by row (sorted); empty for sound and text, whose
    /// training draws every sample as it is.
    pub stamps: Vec<Stamp>,
    /// Sound samples drawn from a dataset: every row's waveform, in row order (empty for
    /// images and text, and for features computed from clips the caller gave).
    pub clips: Vec<RawClip>,
}

impl Samples {
    pub fn new(features: Features, labels: Vec<usize>) -> Self {
        debug_assert_eq!(features.len(), labels.len());
        Self { features, labels, stamps: Vec::new(), clips: Vec::new() }
    }

    /// The stamp of row `row`, if it is a poisoned image.
    pub fn stamp(&self, row: usize) -> Option<&Stamp> {
        self.stamps.binary_search_by_key(&row, |s| s.row).ok().map(|k| &self.stamps[k])
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Labels at `indices` as an Int tensor.
    pub fn label_batch(&self, indices: &[usize], device: &Device) -> Tensor<1, Int> {
        let data: Vec<i32> = indices.iter().map(|&i| self.labels[i] as i32).collect();
        Tensor::from_data(TensorData::new(data, [indices.len()]), device)
    }

    /// The samples at `indices`, copied.
    pub fn subset(&self, indices: &[usize]) -> Samples {
        let mut features = self.features.empty_like();
        let mut stamps = Vec::new();
        let clips = match self.clips.is_empty() {
            true => Vec::new(),
            false => indices.iter().map(|&i| self.clips[i].clone()).collect(),
        };
        for (row, &i) in indices.iter().enumerate() {
            features.push_from(&self.features, i);
            if let Some(s) = self.stamp(i) {
                stamps.push(Stamp { row, ..s.clone() });
            }
        }
        stamps.sort_by_key(|s| s.row);
        Samples { stamps, clips, ..Samples::new(features, indices.iter().map(|&i| self.labels[i]).collect()) }
    }

    /// `self` followed by `other`. The waveforms are kept only if both sides have them.
    pub fn concat(mut self, other: &Samples) -> Samples {
        let offset = self.len();
        match self.clips.len() == offset && other.clips.len() == other.len() {
            true => self.clips.extend(other.clips.iter().cloned()),
            false => self.clips.clear(),
        }
        self.stamps.extend(other.stamps.iter().map(|s| Stamp { row: s.row + offset, ..s.clone() }));
        for i in 0..other.len() {
            self.features.push_from(&other.features, i);
        }
        self.labels.extend_from_slice(&other.labels);
        self
    }
}
