//! The lab's own kernels (`src/kernels`) against burn's stock ops on Flex: outputs and
//! gradients on random inputs of odd sizes, batch 1, and the networks' real shapes.
#![cfg(not(target_arch = "wasm32"))]

use burn::prelude::*;
use burn::tensor::TensorData;
use gaplab::kernels::{self, Activation, Conv2d, Pool2d};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Random values; with `ties`, drawn from a handful of levels so that pooling windows often
/// hold equal maxima (as after a ReLU), the case where the gradient's cell must match.
fn random(n: usize, ties: bool, rng: &mut StdRng) -> Vec<f32> {
    (0..n)
        .map(|_| if ties { [-1.0, 0.0, 0.0, 0.0, 0.5, 1.0][rng.random_range(0..6)] } else { rng.random_range(-2.0..2.0) })
        .collect()
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32 tensor")
}

/// Largest |a − b| / max(1, |b|) over two equally long vectors.
fn max_rel_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    a.iter().zip(b).map(|(x, y)| (x - y).abs() / y.abs().max(1.0)).fold(0.0, f32::max)
}

/// Output and input gradient of `op` on `x`, the loss being `Σ out · weights`.
fn forward_backward(
    op: impl Fn(Tensor<4>) -> Tensor<4>,
    x: &[f32],
    shape: [usize; 4],
    weights: impl Fn(usize) -> Vec<f32>,
) -> (Vec<f32>, Vec<f32>) {
    let device = Device::flex().autodiff();
    let x = Tensor::<4>::from_data(TensorData::new(x.to_vec(), shape), &device).require_grad();
    let out = op(x.clone());
    let dims = out.dims();
    let w = Tensor::<4>::from_data(TensorData::new(weights(dims.iter().product()), dims), &device);
    let grads = (out.clone() * w).sum().backward();
    let grad = x.grad(&grads).expect("the input is tracked");
    (values(out), values(grad))
}

fn check_pool(shape: [usize; 4], pool: Pool2d, ties: bool, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let x = random(shape.iter().product(), ties, &mut rng);
    let w_seed = rng.random::<u64>();
    let weights = |n: usize| random(n, false, &mut StdRng::seed_from_u64(w_seed));
    let (ours, our_grad) = forward_backward(|x| kernels::lab_max_pool2d(x, pool), &x, shape, weights);
    let (stock, stock_grad) = forward_backward(|x| kernels::burn_max_pool2d(x, pool), &x, shape, weights);
    assert_eq!(ours, stock, "max pool {pool:?} on {shape:?}: outputs differ");
    let diff = max_rel_diff(&our_grad, &stock_grad);
    assert!(diff <= 1e-6, "max pool {pool:?} on {shape:?}: gradients differ by {diff}");
    // Without autodiff, the same kernel.
    let plain = Tensor::<4>::from_data(TensorData::new(x, shape), &Device::flex());
    assert_eq!(values(kernels::max_pool2d(plain, pool)), ours, "inference path differs");
}

fn pool(k: [usize; 2], s: [usize; 2], padding: [(usize, usize); 2]) -> Pool2d {
    Pool2d { kernel: k, stride: s, padding }
}

#[test]
fn max_pooling_matches_burns_on_the_networks_shapes() {
    let none = [(0, 0); 2];
    // Sound small CNN (101 frames): (1,3) "same" after conv 1, then 2×2 "same" on odd sizes.
    check_pool([2, 64, 100, 39], pool([1, 3], [1, 3], [(0, 0), (0, 0)]), true, 1);
    check_pool([2, 8, 99, 12], pool([2, 2], [2, 2], [(0, 1), (0, 0)]), true, 2);
    check_pool([1, 8, 49, 5], pool([2, 2], [2, 2], [(0, 1), (0, 1)]), true, 3);
    // Sound large CNN: 2×2 valid on 101 × 40 and 50 × 20, 3×3 stride 2 valid (overlapping).
    check_pool([1, 16, 101, 40], pool([2, 2], [2, 2], none), true, 4);
    check_pool([2, 12, 25, 10], pool([3, 3], [2, 2], none), true, 5);
    check_pool([2, 12, 25, 10], pool([3, 3], [2, 2], none), false, 6);
    // STRIP CNN: 2×2 valid on 32 × 32; text Conv1D net: [2, 1] over the sequence.
    check_pool([3, 32, 32, 32], pool([2, 2], [2, 2], none), false, 7);
    check_pool([2, 64, 397, 1], pool([2, 1], [2, 1], none), true, 8);
}

#[test]
fn max_pooling_matches_burns_on_odd_sizes_and_paddings() {
    let mut rng = StdRng::seed_from_u64(11);
    for case in 0..24 {
        let k = [rng.random_range(1..4), rng.random_range(1..4)];
        let s = [rng.random_range(1..4), rng.random_range(1..4)];
        let h = rng.random_range(k[0]..k[0] + 9);
        let w = rng.random_range(k[1]..k[1] + 9);
        // "Same"-style padding is always smaller than the window (padded cells never win).
        let pad = |k: usize, rng: &mut StdRng| (rng.random_range(0..k), rng.random_range(0..k));
        let padding = [pad(k[0], &mut rng), pad(k[1], &mut rng)];
        let shape = [rng.random_range(1..3), rng.random_range(1..4), h, w];
        check_pool(shape, pool(k, s, padding), case % 2 == 0, 100 + case);
    }
}

/// Output and the gradients of input, kernel and bias of a convolution `op`, the loss being
/// `Σ out · weights`.
fn conv_forward_backward(
    op: impl Fn(Tensor<4>, Tensor<4>, Tensor<1>) -> Tensor<4>,
    (x, w, b): (&[f32], &[f32], &[f32]),
    (x_shape, w_shape): ([usize; 4], [usize; 4]),
    weights: &[f32],
) -> [Vec<f32>; 4] {
    let device = Device::flex().autodiff();
    let x = Tensor::<4>::from_data(TensorData::new(x.to_vec(), x_shape), &device).require_grad();
    let w = Tensor::<4>::from_data(TensorData::new(w.to_vec(), w_shape), &device).require_grad();
    let b = Tensor::<1>::from_data(TensorData::new(b.to_vec(), [w_shape[0]]), &device).require_grad();
    let out = op(x.clone(), w.clone(), b.clone());
    let dims = out.dims();
    let loss_weights = Tensor::<4>::from_data(TensorData::new(weights[..dims.iter().product()].to_vec(), dims), &device);
    let grads = (out.clone() * loss_weights).sum().backward();
    let grad = |t: &Tensor<4>| values(t.grad(&grads).expect("tracked"));
    [values(out), grad(&x), grad(&w), values(b.grad(&grads).expect("tracked"))]
}

fn check_conv(x_shape: [usize; 4], co: usize, conv: Conv2d, seed: u64) {
    for act in [Activation::Identity, Activation::Relu, Activation::Elu] {
        check_conv_act(x_shape, co, conv, act, seed);
    }
}

/// The fused convolution + `act` against burn's convolution followed by burn's activation op:
/// output and the three gradients (through the activation's derivative).
fn check_conv_act(x_shape: [usize; 4], co: usize, conv: Conv2d, act: Activation, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let [b, ci, h, w] = x_shape;
    let w_shape = [co, ci, conv.kernel[0], conv.kernel[1]];
    let x = random(b * ci * h * w, false, &mut rng);
    let kernel = random(w_shape.iter().product(), false, &mut rng);
    let bias = random(co, false, &mut rng);
    let [oh, ow] = conv.output(h, w).expect("the case fits");
    let loss = random(b * co * oh * ow, false, &mut rng);
    let args = (&x[..], &kernel[..], &bias[..]);
    let ours = conv_forward_backward(|x, w, b| kernels::lab_conv2d(x, w, b, conv, act), args, (x_shape, w_shape), &loss);
    let stock = conv_forward_backward(|x, w, b| kernels::burn_activation(kernels::burn_conv2d(x, w, b, conv), act), args, (x_shape, w_shape), &loss);
    for (what, (a, e)) in ["output", "input gradient", "kernel gradient", "bias gradient"].iter().zip(ours.iter().zip(&stock)) {
        // Relative to the values' scale: sums of hundreds of products of O(1) numbers.
        let scale = e.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        let diff = a.iter().zip(e).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max) / scale;
        assert!(diff <= 1e-4, "conv {conv:?} + {act:?} on {x_shape:?} → {co}: {what} differs by {diff} (relative)");
    }
    // Without autodiff, the same kernel.
    let device = Device::flex();
    let plain = kernels::conv2d(
        Tensor::<4>::from_data(TensorData::new(x, x_shape), &device),
        Tensor::<4>::from_data(TensorData::new(kernel, w_shape), &device),
        Tensor::<1>::from_data(TensorData::new(bias, [co]), &device),
        conv,
        act,
    );
    assert_eq!(values(plain), ours[0], "inference path differs");
}

fn same(k: usize) -> Conv2d {
    Conv2d { kernel: [k, k], padding: [((k - 1) / 2, (k - 1) / 2); 2] }
}

fn valid(kernel: [usize; 2]) -> Conv2d {
    Conv2d { kernel, padding: [(0, 0); 2] }
}

#[test]
fn convolution_matches_burns_on_the_networks_shapes() {
    // Sound small CNN (101 frames × 40): 2×2 valid, 1 → 64, then 64 → 64 on the pooled grid.
    check_conv([2, 1, 101, 40], 64, valid([2, 2]), 1);
    check_conv([2, 64, 100, 13], 64, valid([2, 2]), 2);
    // Sound large CNN: 3×3 same, 1 → 96 on 101 × 40 (batch 1), 96 → 32 on 50 × 20.
    check_conv([1, 1, 101, 40], 96, same(3), 3);
    check_conv([2, 96, 50, 20], 32, same(3), 4);
    // Batch 12 of that: more than one group of samples per product (src/kernels/conv.rs).
    check_conv([12, 96, 50, 20], 8, same(3), 9);
    // Several samples to a product, the last group shorter (3 + 3 + 2 on 10 × 10).
    check_conv([8, 96, 10, 10], 8, same(3), 10);
    // Its deep convolutions (≥ 96 channels both sides, ≥ 10 columns, ≥ 256 tiles of 2×2
    // outputs a call) go through Winograd's F(2×2, 3×3) (src/kernels/winograd.rs): 96 → 96 on
    // 50 × 20 (three samples: two groups, the second of one), 128 → 96 on 25 × 10 (an odd
    // number of tile rows), a valid one on an odd width.
    check_conv([3, 96, 50, 20], 96, same(3), 11);
    check_conv([4, 128, 25, 10], 96, same(3), 12);
    check_conv([8, 96, 13, 13], 100, valid([3, 3]), 13);
    // STRIP CNN: 3×3 same on 32 × 32 RGB; text Conv1D / Kim: k = 3 and 5 over a sequence.
    check_conv([3, 3, 32, 32], 32, same(3), 5);
    check_conv([2, 16, 50, 1], 24, valid([3, 1]), 6);
    check_conv([5, 16, 50, 1], 10, valid([5, 1]), 7);
}

#[test]
fn convolution_matches_burns_on_odd_sizes_and_paddings() {
    let mut rng = StdRng::seed_from_u64(21);
    for case in 0..20 {
        let kernel = [rng.random_range(1..5), rng.random_range(1..5)];
        let pad = |k: usize, rng: &mut StdRng| (rng.random_range(0..k), rng.random_range(0..k));
        let padding = [pad(kernel[0], &mut rng), pad(kernel[1], &mut rng)];
        let h = rng.random_range(kernel[0].saturating_sub(padding[0].0 + padding[0].1).max(1)..kernel[0] + 7);
        let w = rng.random_range(kernel[1].saturating_sub(padding[1].0 + padding[1].1).max(1)..kernel[1] + 7);
        let shape = [rng.random_range(1..7), rng.random_range(1..5), h, w];
        check_conv(shape, rng.random_range(1..6), Conv2d { kernel, padding }, 200 + case);
    }
}

fn check_batchnorm(shape: [usize; 4], seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let c = shape[1];
    // An offset and a spread per channel, as activations have.
    let x: Vec<f32> = random(shape.iter().product(), false, &mut rng).iter().enumerate().map(|(i, v)| v * 3.0 + ((i / (shape[2] * shape[3])) % c) as f32).collect();
    let gamma: Vec<f32> = random(c, false, &mut rng);
    let beta: Vec<f32> = random(c, false, &mut rng);
    let loss = random(x.len(), false, &mut rng);
    let run = |op: &dyn Fn(Tensor<4>, Tensor<1>, Tensor<1>) -> (Tensor<4>, Tensor<1>, Tensor<1>)| {
        let device = Device::flex().autodiff();
        let xt = Tensor::<4>::from_data(TensorData::new(x.clone(), shape), &device).require_grad();
        let g = Tensor::<1>::from_data(TensorData::new(gamma.clone(), [c]), &device).require_grad();
        let b = Tensor::<1>::from_data(TensorData::new(beta.clone(), [c]), &device).require_grad();
        let (out, mean, var) = op(xt.clone(), g.clone(), b.clone());
        let grads = (out.clone() * Tensor::<4>::from_data(TensorData::new(loss.clone(), shape), &device)).sum().backward();
        [values(out), values(mean), values(var), values(xt.grad(&grads).unwrap()), values(g.grad(&grads).unwrap()), values(b.grad(&grads).unwrap())]
    };
    let eps = 1e-3;
    let ours = run(&|x, g, b| kernels::lab_batch_norm_train(x, g, b, eps));
    let stock = run(&|x, g, b| kernels::burn_batch_norm_train(x, g, b, eps));
    for (what, (a, e)) in ["output", "mean", "variance", "input gradient", "gamma gradient", "beta gradient"].iter().zip(ours.iter().zip(&stock)) {
        let scale = e.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        let diff = a.iter().zip(e).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max) / scale;
        assert!(diff <= 1e-4, "batchnorm on {shape:?}: {what} differs by {diff} (relative)");
    }
}

#[test]
fn batchnorm_in_training_matches_burns() {
    // Sound small CNN's three BatchNorms (101 frames), STRIP's on 32 × 32 and 16 × 16, batch 1.
    check_batchnorm([2, 64, 100, 39], 1);
    check_batchnorm([3, 64, 49, 12], 2);
    check_batchnorm([2, 32, 24, 5], 3);
    check_batchnorm([2, 32, 32, 32], 4);
    check_batchnorm([1, 64, 16, 16], 5);
    check_batchnorm([5, 3, 7, 1], 6);
}

#[test]
fn the_kernels_serve_f32_tensors_on_flex_only() {
    let x = Tensor::<2>::zeros([2, 2], &Device::flex());
    assert!(kernels::serves(&x));
    assert!(kernels::serves(&Tensor::<2>::zeros([2, 2], &Device::flex().autodiff())));
    assert!(!kernels::serves(&x.cast(burn::tensor::DType::F16)));
}
