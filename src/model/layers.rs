//! Small building blocks shared by the networks: Keras-style initialisation, "same" max
//! pooling, global average pooling and the L2 kernel penalty.

use burn::nn::conv::{Conv1d, Conv1dConfig, Conv2d, Conv2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, Embedding, EmbeddingConfig, Initializer, Linear, LinearConfig,
    PaddingConfig1d, PaddingConfig2d,
};
use burn::prelude::*;
use crate::kernels::{self, Pool2d};
pub use crate::kernels::Activation;

/// Keras's default kernel initialiser.
const GLOROT: Initializer = Initializer::XavierUniform { gain: 1.0 };

fn zero_bias(bias: Option<burn::module::Param<Tensor<1>>>, n: usize, device: &Device) -> Option<burn::module::Param<Tensor<1>>> {
    bias.map(|_| Initializer::Zeros.init([n], device))
}

/// Conv2d with Glorot-uniform kernel and zero bias, like Keras `Conv2D`.
pub fn conv2d(cin: usize, cout: usize, k: [usize; 2], same: bool, device: &Device) -> Conv2d {
    let padding = if same { PaddingConfig2d::Same } else { PaddingConfig2d::Valid };
    let mut conv = Conv2dConfig::new([cin, cout], k)
        .with_padding(padding)
        .with_initializer(GLOROT)
        .init(device);
    conv.bias = zero_bias(conv.bias, cout, device);
    conv
}

/// Conv1d (valid) with Glorot-uniform kernel and zero bias, like Keras `Conv1D`.
pub fn conv1d(cin: usize, cout: usize, k: usize, device: &Device) -> Conv1d {
    let mut conv = Conv1dConfig::new(cin, cout, k)
        .with_padding(PaddingConfig1d::Valid)
        .with_initializer(GLOROT)
        .init(device);
    conv.bias = zero_bias(conv.bias, cout, device);
    conv
}

/// TensorFlow's (and burn's) "same" padding of one dimension of size `n` for window `k` and
/// stride `s`: `(before, after)`, total `max((ceil(n/s)−1)·s + k − n, 0)`, the smaller half
/// before.
fn same_padding(n: usize, k: usize, s: usize) -> (usize, usize) {
    let total = ((n.div_ceil(s) - 1) * s + k).saturating_sub(n);
    (total / 2, total - total / 2)
}

/// `(before, after)` zero padding of a stride-1 conv over an `h × w` input, as burn's config
/// says.
pub(super) fn stride1_padding_2d(padding: &PaddingConfig2d, k: [usize; 2], [h, w]: [usize; 2]) -> [(usize, usize); 2] {
    match *padding {
        PaddingConfig2d::Valid => [(0, 0); 2],
        PaddingConfig2d::Same => [same_padding(h, k[0], 1), same_padding(w, k[1], 1)],
        PaddingConfig2d::Explicit(top, left, bottom, right) => [(top, bottom), (left, right)],
    }
}

/// A conv layer's forward pass and its activation through the lab's kernels
/// (`crate::kernels::conv2d`: its own fused kernel on Flex, burn's ops elsewhere); burn's module
/// call for a conv the kernel does not cover (stride, dilation, groups, no bias — none of the
/// lab's networks has one).
pub fn apply_conv2d(conv: &Conv2d, x: Tensor<4>, act: Activation) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    match covered_bias(conv) {
        Some(bias) => lab_conv2d(conv, bias, x, act, stride1_padding_2d(&conv.padding, conv.kernel_size, [h, w])),
        None => kernels::burn_activation(conv.forward(x), act),
    }
}

/// The bias of a conv [`kernels::conv2d`] computes (stride 1, no dilation or groups, a bias).
fn covered_bias(conv: &Conv2d) -> Option<&burn::module::Param<Tensor<1>>> {
    conv.bias.as_ref().filter(|_| conv.stride == [1, 1] && conv.dilation == [1, 1] && conv.groups == 1)
}

fn lab_conv2d(conv: &Conv2d, bias: &burn::module::Param<Tensor<1>>, x: Tensor<4>, act: Activation, padding: [(usize, usize); 2]) -> Tensor<4> {
    kernels::conv2d(x, conv.weight.val(), bias.val(), kernels::Conv2d { kernel: conv.kernel_size, padding }, act)
}

/// [`apply_conv2d`] with the padding given instead of the layer's own (a window of a larger
/// input, `super::stack`); `None` for a conv the lab's kernel does not cover.
pub(super) fn apply_conv2d_padded(conv: &Conv2d, x: Tensor<4>, act: Activation, padding: [(usize, usize); 2]) -> Option<Tensor<4>> {
    covered_bias(conv).map(|bias| lab_conv2d(conv, bias, x, act, padding))
}

/// A Conv1d layer (`[B, C, L]`) and its activation through the same kernels, as a `[1, k]` conv
/// over `[B, C, 1, L]` (a sequence as one image row: im2col then copies whole rows, where a
/// `[L, 1]` column gave it one-float rows).
pub fn apply_conv1d(conv: &Conv1d, x: Tensor<3>, act: Activation) -> Tensor<3> {
    match (&conv.bias, &conv.padding) {
        (Some(bias), PaddingConfig1d::Valid) if conv.stride == 1 && conv.dilation == 1 && conv.groups == 1 => {
            let ([b, c, l], [co, ci, k]) = (x.dims(), conv.weight.dims());
            let geometry = kernels::Conv2d { kernel: [1, k], padding: [(0, 0); 2] };
            let out = kernels::conv2d(x.reshape([b, c, 1, l]), conv.weight.val().reshape([co, ci, 1, k]), bias.val(), geometry, act);
            let [_, _, _, lo] = out.dims();
            out.reshape([b, co, lo])
        }
        _ => kernels::burn_activation(conv.forward(x), act),
    }
}

/// Dense layer with Glorot-uniform kernel and zero bias, like Keras `Dense`.
pub fn dense(input: usize, output: usize, device: &Device) -> Linear {
    let mut linear = LinearConfig::new(input, output).with_initializer(GLOROT).init(device);
    linear.bias = zero_bias(linear.bias, output, device);
    linear
}

/// Embedding initialised uniform in [−0.05, 0.05), like Keras `Embedding`.
pub fn embedding(rows: usize, dim: usize, device: &Device) -> Embedding {
    EmbeddingConfig::new(rows, dim)
        .with_initializer(Initializer::Uniform { min: -0.05, max: 0.05 })
        .init(device)
}

/// BatchNorm with Keras defaults (momentum 0.99 ⇒ burn's 0.01, epsilon 1e-3).
pub fn batchnorm(features: usize, device: &Device) -> BatchNorm {
    BatchNormConfig::new(features).with_momentum(BN_MOMENTUM).with_epsilon(1e-3).init(device)
}

/// A BatchNorm layer's forward pass. In training (an autodiff device, the layer not frozen) the
/// batch statistics come from `crate::kernels::batch_norm_train` (the lab's kernel on Flex) and
/// the moving averages are updated exactly as burn's module does; in evaluation, burn's module.
pub fn apply_batchnorm<const D: usize>(bn: &BatchNorm, x: Tensor<D>) -> Tensor<D> {
    if !(x.device().is_autodiff() && bn.training.is_enabled()) {
        return bn.forward(x);
    }
    let (out, mean, variance) = kernels::batch_norm_train(x, bn.gamma.val(), bn.beta.val(), bn.epsilon);
    let device = out.device();
    let moving = |state: &burn::module::RunningState<Tensor<1>>, batch: Tensor<1>| {
        let old = state.value_sync().to_device(&device).mul_scalar(1.0 - bn.momentum);
        state.update(old.add(batch.detach().mul_scalar(bn.momentum)).detach());
    };
    moving(&bn.running_mean, mean);
    moving(&bn.running_var, variance);
    out
}

/// Keras's BatchNorm momentum 0.99, as burn's update weight.
pub const BN_MOMENTUM: f64 = 0.01;

/// A network's BatchNorm layers and dropouts, borrowed mutably: what recalibrating the moving
/// statistics changes for a moment (`train::recalibrate_batchnorm`).
#[derive(Default)]
pub struct NormLayers<'a> {
    pub batchnorms: Vec<&'a mut BatchNorm>,
    pub dropouts: Vec<&'a mut Dropout>,
}

/// Keras `MaxPooling2D`: pool `k`, stride `s`; with `same`, TensorFlow's padding
/// ([`same_padding`]) where padded cells never win.
pub fn max_pool(x: Tensor<4>, k: [usize; 2], s: [usize; 2], same: bool) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    kernels::max_pool2d(x, Pool2d { kernel: k, stride: s, padding: pool_padding([h, w], k, s, same) })
}

/// A [`max_pool`]'s padding over an `h × w` input.
pub(super) fn pool_padding([h, w]: [usize; 2], k: [usize; 2], s: [usize; 2], same: bool) -> [(usize, usize); 2] {
    let pad = |n: usize, k: usize, s: usize| if same { same_padding(n, k, s) } else { (0, 0) };
    [pad(h, k[0], s[0]), pad(w, k[1], s[1])]
}

/// Global average pooling over the spatial dimensions: `[B, C, H, W] → [B, C]`.
pub fn gap2d(x: Tensor<4>) -> Tensor<2> {
    let [b, c, _, _] = x.dims();
    x.mean_dims(&[2, 3]).reshape([b, c])
}

/// Keras `Flatten`: `[B, C, H, W] → [B, C·H·W]` (element order differs from Keras's
/// `channels_last`, which changes nothing for a model trained here).
pub fn flatten(x: Tensor<4>) -> Tensor<2> {
    let [b, c, h, w] = x.dims();
    x.reshape([b, c * h * w])
}

/// `λ·Σ w²` over the given kernels.
pub fn l2(kernels: &[Tensor<1>], lambda: f64) -> Tensor<1> {
    let sum = kernels
        .iter()
        .map(|k| k.clone().square().sum())
        .reduce(|a, b| a + b)
        .expect("every regularised network has at least one kernel");
    sum.mul_scalar(lambda)
}

/// A conv kernel flattened for [`l2`].
pub fn kernel2d(conv: &Conv2d) -> Tensor<1> {
    conv.weight.val().flatten(0, 3)
}

/// A conv1d kernel flattened for [`l2`].
pub fn kernel1d(conv: &Conv1d) -> Tensor<1> {
    conv.weight.val().flatten(0, 2)
}

/// Moving mean + variance entries of a BatchNorm (non-trainable in Keras's count).
pub fn bn_state(bn: &BatchNorm) -> usize {
    2 * bn.gamma.dims()[0]
}

/// Column `class` of a dense kernel as a `[1, d_in]` row: the gradient of output `class`
/// with respect to the layer's input.
pub fn kernel_column(linear: &Linear, class: usize) -> Tensor<2> {
    let [d_in, _] = linear.weight.dims();
    linear.weight.val().narrow(1, class, 1).reshape([1, d_in])
}

/// Back-propagates `g` (`[B, d_out]`, gradient at the output) through a dense layer's kernel:
/// `g · Wᵀ`, the gradient at its input.
pub fn dense_back(linear: &Linear, g: Tensor<2>) -> Tensor<2> {
    // As (W · gᵀ)ᵀ: the kernel stays contiguous (a transposed kernel took Flex's slow path).
    linear.weight.val().matmul(g.transpose()).transpose()
}

/// Back-propagates `g` through a ReLU whose pre-activation was `z`.
pub fn relu_back(z: Tensor<2>, g: Tensor<2>) -> Tensor<2> {
    g * z.greater_elem(0.0).float()
}
