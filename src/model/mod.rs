//! The paper's seven networks, each with an FC and a GAP head.
//!
//! Layer lists, padding and parameter counts follow `PAPER.md` exactly (Keras convention:
//! `channels_last` in Keras becomes NCHW here; the maths is the same). Every network maps a
//! batch to logits of shape `[batch, outputs]`: C class logits for sound and image, one logit
//! (positive review) for text, as in the reference code's sigmoid + binary cross-entropy.

mod layers;
mod sound;
mod text;
mod image;
mod spec;
mod evidence;
pub mod stack;

pub use image::StripCnn;
pub use sound::{SoundLarge, SoundSmall};
pub use spec::{Arch, Head, ModelSpec, Task};
pub use evidence::MapKind;
pub use layers::{BN_MOMENTUM, NormLayers};
#[cfg(test)]
pub(crate) use layers::{Activation, apply_conv2d};
pub use text::{EmbeddingBag, KimCnn, TextConv1d};

use burn::prelude::*;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Held by whoever draws from the backend's random generator natively: burn seeds its
/// generator per backend, not per call (`Device::seed` acts process-wide on Flex), so a
/// training (initialisation, dropout) interleaving its draws with another thread's would lose
/// reproducibility. `train::fit` holds it for a whole run. Code that only loads
/// networks draws nothing ([`Net::blank`]) and needs no lock.
static RANDOM: Mutex<()> = Mutex::new(());

/// Takes the generator for this thread until the guard is dropped.
pub fn exclusive_random() -> MutexGuard<'static, ()> {
    RANDOM.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `param` with `tensor` as its value (on `param`'s device, with its gradient setting), without
/// reading the old value: for filling a [`Net::blank`] in a `ModuleMapper`, where `Param::map`
/// would first draw the lazy random initialisation that is about to be thrown away.
pub fn replaced<const D: usize>(param: burn::module::Param<Tensor<D>>, tensor: Tensor<D>) -> burn::module::Param<Tensor<D>> {
    let id = param.id;
    param.transform_for_load(tensor, id)
}

/// A batch of network input: dense features (`[B, C, H, W]`) or token ids (`[B, L]`).
#[derive(Clone, Debug)]
pub enum Input {
    /// MFCC maps `[B, 1, 98, 40]` or images `[B, 3, 32, 32]`.
    Dense(Tensor<4>),
    /// Token ids `[B, 250]`.
    Tokens(Tensor<2, Int>),
}

/// Any of the seven networks; the variant is fixed by the [`ModelSpec`].
#[derive(Module, Debug)]
pub enum Net {
    SoundLarge(SoundLarge),
    SoundSmall(SoundSmall),
    Kim(KimCnn),
    Conv1d(TextConv1d),
    Bag(EmbeddingBag),
    Strip(StripCnn),
}

impl Net {
    /// A freshly initialised network (Keras initialisers: Glorot-uniform kernels, zero biases,
    /// uniform ±0.05 embeddings), drawn from the device's seeded generator.
    pub fn init(spec: &ModelSpec, device: &Device) -> Net {
        let gap = spec.head == Head::Gap;
        match spec.arch {
            Arch::Large => Net::SoundLarge(SoundLarge::new(spec.classes, gap, spec.frames(), device)),
            Arch::Small => Net::SoundSmall(SoundSmall::new(spec.classes, gap, spec.frames(), device)),
            Arch::Kim => Net::Kim(KimCnn::new(gap, device)),
            Arch::Conv1d => Net::Conv1d(TextConv1d::new(gap, device)),
            Arch::Bag => Net::Bag(EmbeddingBag::new(gap, device)),
            Arch::Strip => Net::Strip(StripCnn::new(spec.classes, gap, device)),
        }
    }

    /// A network of `spec` whose values are about to be replaced (loading a model file or a
    /// checkpoint). burn initialises parameters lazily, so this draws nothing from the
    /// generator — as long as every parameter is replaced without being read first: by
    /// `try_load_record`, or in a `ModuleMapper` through [`replaced`]. `Param::map` or
    /// `Param::val` on it would draw the throwaway initialisation, on whatever thread, in the
    /// middle of a training's seeded stream (a resumed run then differs from the uninterrupted
    /// one; `tests/training.rs` checks that loading draws nothing).
    pub fn blank(spec: &ModelSpec, device: &Device) -> Net {
        Net::init(spec, device)
    }

    /// Logits `[B, outputs]`. Panics only on a programming error (wrong input kind for the
    /// network), which the experiment layer rules out by construction.
    pub fn forward(&self, input: Input) -> Tensor<2> {
        match (self, input) {
            (Net::SoundLarge(m), Input::Dense(x)) => m.forward(x),
            (Net::SoundSmall(m), Input::Dense(x)) => m.forward(x),
            (Net::Strip(m), Input::Dense(x)) => m.forward(x),
            (Net::Kim(m), Input::Tokens(x)) => m.forward(x),
            (Net::Conv1d(m), Input::Tokens(x)) => m.forward(x),
            (Net::Bag(m), Input::Tokens(x)) => m.forward(x),
            _ => unreachable!("input kind does not match the network"),
        }
    }

    /// The L2 penalty `λ·Σw²` over the kernels the paper regularises (Keras
    /// `kernel_regularizer=l2(λ)` adds exactly this to the loss), or `None` where there is none.
    pub fn l2_penalty(&self) -> Option<Tensor<1>> {
        match self {
            Net::SoundLarge(m) => Some(layers::l2(&m.conv_kernels(), sound::L2)),
            Net::SoundSmall(m) => Some(layers::l2(&m.conv_kernels(), sound::L2)),
            Net::Kim(m) => Some(layers::l2(&m.conv_kernels(), text::KIM_L2)),
            Net::Strip(m) => Some(layers::l2(&m.conv_kernels(), image::L2)),
            Net::Conv1d(_) | Net::Bag(_) => None,
        }
    }

    /// The BatchNorm layers (in forward order) and dropouts of the networks that have
    /// BatchNorm; empty for the others.
    pub fn norm_layers(&mut self) -> layers::NormLayers<'_> {
        match self {
            Net::SoundSmall(m) => m.norm_layers(),
            Net::Strip(m) => m.norm_layers(),
            _ => layers::NormLayers::default(),
        }
    }

    /// Number of non-trainable values Keras counts in "total params": BatchNorm's moving mean and variance.
    pub fn batchnorm_state_count(&self) -> usize {
        match self {
            Net::SoundSmall(m) => m.batchnorm_state_count(),
            Net::Strip(m) => m.batchnorm_state_count(),
            _ => 0,
        }
    }

    /// Keras-convention total: trainable parameters plus BatchNorm moving statistics (burn's
    /// `num_params` counts the running statistics too, exactly as Keras's "total params").
    pub fn total_count(&self) -> usize {
        self.num_params()
    }

    /// Trainable parameters.
    pub fn trainable_count(&self) -> usize {
        self.total_count() - self.batchnorm_state_count()
    }
}
