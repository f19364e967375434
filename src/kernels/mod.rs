//! The lab's own CPU kernels for the operations where burn-flex's defaults are slow, registered
//! through burn's backend-extension mechanism (`#[backend_extension]`): a backend trait for the
//! new primitives ([`Kernels`]), implemented for Flex ([`flex`]) and, with hand-written
//! backward passes, for `Autodiff` ([`autodiff`]), called through `Dispatch` by the
//! backend-independent tensor functions below.
//!
//! The networks call these functions and nothing else changes: on Flex (natively and in the
//! page's worker) the lab's kernels run, on any other device (the page's WebGPU) burn's own ops,
//! exactly as before. `GAPLAB_KERNELS=stock` in the environment switches a native process back
//! to burn's ops everywhere, for benchmarks that compare the two in one run;
//! `GAPLAB_KERNELS=im2col` keeps the lab's kernels but turns Winograd's convolutions off.
//!
//! Which operations: `docs/PERFORMANCE.md`'s profile of a training step.
//!
//! A build without Flex (`cfg(flex)` unset: the page's WebGPU module) has none of the
//! extension and always takes burn's ops; the kernels' arithmetic is left to the linker.

#[cfg(flex)]
mod autodiff;
#[cfg_attr(not(flex), allow(dead_code))]
pub mod conv;
#[cfg_attr(not(flex), allow(dead_code))]
mod elementwise;
#[cfg(flex)]
mod flex;
#[cfg_attr(not(flex), allow(dead_code))]
pub mod norm;
#[cfg_attr(not(flex), allow(dead_code))]
pub mod pool;
#[cfg_attr(not(flex), allow(dead_code))]
mod winograd;

#[cfg(flex)]
use burn::backend::tensor::FloatTensor;
#[cfg(flex)]
use burn::backend::{Backend, Dispatch, DispatchDevice, backend_extension};
use burn::prelude::*;
#[cfg(flex)]
use burn::tensor::DType;
use burn::tensor::module::max_pool2d as stock_max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
pub use conv::{Activation, Conv2d};
pub use pool::Pool2d;
#[cfg(all(target_arch = "wasm32", feature = "threads"))]
pub use crate::parallel::split_only_big_products;

/// The primitives the lab's kernels provide. Implemented for Flex and for `Autodiff` over it;
/// only called for tensors on Flex ([`serves`]).
#[cfg(flex)]
#[backend_extension(Flex, Autodiff)]
pub trait Kernels: Backend {
    /// Max pooling of `[B, C, H, W]`.
    fn gaplab_max_pool2d(x: FloatTensor<Self>, pool: Pool2d) -> FloatTensor<Self>;
    /// The gradient at the input of [`Kernels::gaplab_max_pool2d`], from its input and the
    /// gradient at its output.
    fn gaplab_max_pool2d_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>, pool: Pool2d) -> FloatTensor<Self>;
    /// Convolution of `[B, Ci, H, W]` with a `[Co, Ci, Kh, Kw]` kernel and a `[Co]` bias, then
    /// `act`, in one pass over the output.
    fn gaplab_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>, conv: Conv2d, act: Activation) -> FloatTensor<Self>;
    /// The gradient before an activation, from its output `y` and the gradient after it.
    fn gaplab_activation_backward(y: FloatTensor<Self>, grad: FloatTensor<Self>, act: Activation) -> FloatTensor<Self>;
    /// The gradient at the input (`[B, Ci, input[0], input[1]]`) of [`Kernels::gaplab_conv2d`].
    fn gaplab_conv2d_backward_input(weight: FloatTensor<Self>, grad: FloatTensor<Self>, conv: Conv2d, input: [usize; 2]) -> FloatTensor<Self>;
    /// The gradient of [`Kernels::gaplab_conv2d`]'s kernel.
    fn gaplab_conv2d_backward_weight(x: FloatTensor<Self>, grad: FloatTensor<Self>, conv: Conv2d) -> FloatTensor<Self>;
    /// The gradient of a per-channel bias added to `[B, C, H, W]`.
    fn gaplab_bias_backward(grad: FloatTensor<Self>) -> FloatTensor<Self>;
    /// BatchNorm of `[B, C, …]` with the batch's own statistics: the output, and each
    /// channel's mean and biased variance (`[C]`, never differentiated).
    fn gaplab_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
    /// The gradients `(dx, dγ, dβ)` of [`Kernels::gaplab_batch_norm_train`].
    fn gaplab_batch_norm_train_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// Whether the lab's kernels serve this tensor: f32 on Flex (with or without autodiff), and
/// not switched off by `GAPLAB_KERNELS=stock`.
#[cfg(flex)]
pub fn serves<const D: usize>(x: &Tensor<D>) -> bool {
    if !enabled() || x.dtype() != DType::F32 {
        return false;
    }
    matches!(x.device().as_dispatch().clone().inner(), DispatchDevice::Flex(_))
}

/// A build without Flex: never.
#[cfg(not(flex))]
pub fn serves<const D: usize>(_x: &Tensor<D>) -> bool {
    false
}

/// `false` when the environment says `GAPLAB_KERNELS=stock`.
#[cfg(flex)]
fn enabled() -> bool {
    switch() != "stock"
}

/// `GAPLAB_KERNELS` from the environment, read once (`stock`: burn's ops; `im2col`: the lab's
/// kernels without Winograd); empty when unset, and always in the page.
#[cfg_attr(not(flex), allow(dead_code))]
fn switch() -> &'static str {
    #[cfg(not(target_arch = "wasm32"))]
    {
        static SWITCH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        SWITCH.get_or_init(|| std::env::var("GAPLAB_KERNELS").unwrap_or_default())
    }
    #[cfg(target_arch = "wasm32")]
    ""
}

/// Max pooling of `[B, C, H, W]` with `pool`'s window, stride and padding: the lab's kernel on
/// Flex, burn's op elsewhere. Panics, like burn's op, when the window does not fit the input.
pub fn max_pool2d(x: Tensor<4>, pool: Pool2d) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    assert!(pool.output(h, w).is_some(), "max pool {pool:?} does not fit a {h}×{w} input");
    #[cfg(flex)]
    if serves(&x) {
        return lab_max_pool2d(x, pool);
    }
    burn_max_pool2d(x, pool)
}

/// The lab's kernel, whatever [`serves`] says (the tensor must be f32 on Flex).
#[cfg(flex)]
pub fn lab_max_pool2d(x: Tensor<4>, pool: Pool2d) -> Tensor<4> {
    Tensor::from_dispatch(Dispatch::gaplab_max_pool2d(x.into_dispatch(), pool))
}

/// Convolution (stride 1) of `[B, Ci, H, W]` with `weight` `[Co, Ci, Kh, Kw]` and `bias`
/// `[Co]`, then `act`: the lab's fused kernel on Flex, burn's ops elsewhere.
pub fn conv2d(x: Tensor<4>, weight: Tensor<4>, bias: Tensor<1>, conv: Conv2d, act: Activation) -> Tensor<4> {
    let ([_, ci, h, w], [_, wci, kh, kw]) = (x.dims(), weight.dims());
    assert!(ci == wci && [kh, kw] == conv.kernel && conv.output(h, w).is_some(), "conv {conv:?} with a {:?} kernel does not fit a {:?} input", weight.dims(), x.dims());
    #[cfg(flex)]
    if serves(&x) {
        return lab_conv2d(x, weight, bias, conv, act);
    }
    burn_activation(burn_conv2d(x, weight, bias, conv), act)
}

/// The lab's convolution kernel, whatever [`serves`] says (f32 tensors on Flex).
#[cfg(flex)]
pub fn lab_conv2d(x: Tensor<4>, weight: Tensor<4>, bias: Tensor<1>, conv: Conv2d, act: Activation) -> Tensor<4> {
    Tensor::from_dispatch(Dispatch::gaplab_conv2d(x.into_dispatch(), weight.into_dispatch(), bias.into_dispatch(), conv, act))
}

/// `act` as burn's own ops.
pub fn burn_activation<const D: usize>(x: Tensor<D>, act: Activation) -> Tensor<D> {
    match act {
        Activation::Identity => x,
        Activation::Relu => burn::tensor::activation::relu(x),
        Activation::Elu => burn::tensor::activation::elu(x, 1.0),
    }
}

/// burn's own convolution with the same geometry.
pub fn burn_conv2d(x: Tensor<4>, weight: Tensor<4>, bias: Tensor<1>, conv: Conv2d) -> Tensor<4> {
    let options = burn::tensor::ops::ConvOptions::new_with_padding([1, 1], conv.padding, [1, 1], 1);
    burn::tensor::module::conv2d(x, weight, Some(bias), options)
}

/// BatchNorm of `[B, C, …]` in training mode: `(output, mean, biased variance)`, the
/// statistics being the batch's own. The lab's kernel on Flex, burn's op elsewhere.
pub fn batch_norm_train<const D: usize>(x: Tensor<D>, gamma: Tensor<1>, beta: Tensor<1>, epsilon: f64) -> (Tensor<D>, Tensor<1>, Tensor<1>) {
    #[cfg(flex)]
    if serves(&x) {
        return lab_batch_norm_train(x, gamma, beta, epsilon);
    }
    burn_batch_norm_train(x, gamma, beta, epsilon)
}

/// The lab's BatchNorm kernel, whatever [`serves`] says (f32 tensors on Flex).
#[cfg(flex)]
pub fn lab_batch_norm_train<const D: usize>(x: Tensor<D>, gamma: Tensor<1>, beta: Tensor<1>, epsilon: f64) -> (Tensor<D>, Tensor<1>, Tensor<1>) {
    let (out, mean, var) = Dispatch::gaplab_batch_norm_train(x.into_dispatch(), gamma.into_dispatch(), beta.into_dispatch(), epsilon);
    (Tensor::from_dispatch(out), Tensor::from_dispatch(mean), Tensor::from_dispatch(var))
}

/// burn's own training-mode BatchNorm.
pub fn burn_batch_norm_train<const D: usize>(x: Tensor<D>, gamma: Tensor<1>, beta: Tensor<1>, epsilon: f64) -> (Tensor<D>, Tensor<1>, Tensor<1>) {
    let result = burn::tensor::module::batch_norm_train(x, gamma, beta, epsilon);
    (result.output, result.mean, result.variance)
}

/// burn's own max pooling with the same geometry.
pub fn burn_max_pool2d(x: Tensor<4>, pool: Pool2d) -> Tensor<4> {
    let options = MaxPoolOptions::new(pool.kernel).with_stride(pool.stride).with_padding_pairs(pool.padding);
    stock_max_pool2d(x, options)
}
