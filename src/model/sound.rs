//! Keyword-spotting networks over the frames × 40 MFCC map (input `[B, 1, frames, 40]`):
//! 98 frames by default, 101 with centred framing (see `features::mfcc::Framing`). Only the
//! FC heads' widths depend on the frame count; the helpers below give the feature grids.

use super::layers::{Activation, NormLayers, batchnorm, bn_state, conv2d, dense, dense_back, flatten, gap2d, kernel_column, kernel2d, relu_back};
use super::stack::{self, Step};
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, Dropout, DropoutConfig, Linear};
use burn::prelude::*;
use burn::tensor::activation::relu;

/// L2 factor on the conv kernels (PAPER.md, sound).
pub const L2: f64 = 1e-3;

/// The large CNN's feature grid `[rows, cols]` for `frames` × 40 input: two valid 2×2 pools,
/// then a valid 3×3 stride-2 pool (98 frames → 49 → 24 → 11; 101 → 50 → 25 → 12).
pub fn large_grid(frames: usize) -> [usize; 2] {
    let pools = |n: usize| (n / 2 / 2 - 3) / 2 + 1;
    [pools(frames), pools(crate::features::mfcc::COEFFS)]
}

/// The small CNN's feature grid for `frames` × 40 input: three valid 2×2 convs (−1 each)
/// and same pools of (1,3), 2×2, 2×2 (ceil) (98 frames → 24 rows; 101 → 25).
pub fn small_grid(frames: usize) -> [usize; 2] {
    let block = |n: usize, conv: bool, pool: usize| (n - usize::from(conv)).div_ceil(pool);
    let rows = block(block(block(frames, true, 1), true, 2), true, 2);
    let cols = block(block(block(crate::features::mfcc::COEFFS, true, 3), true, 2), true, 2);
    [rows, cols]
}

/// The large CNN: five convolutions, then FC (Flatten → Dense 256 → Dropout 0.3) or GAP,
/// then Dense 128 → Dropout 0.2 → Dense C.
#[derive(Module, Debug)]
pub struct SoundLarge {
    conv1: Conv2d,
    conv2: Conv2d,
    conv3: Conv2d,
    conv4: Conv2d,
    conv5: Conv2d,
    /// FC head only: Dense rows·4·256 → 256 (11 rows for 98 frames).
    fc: Option<Linear>,
    fc_dropout: Dropout,
    dense: Linear,
    dropout: Dropout,
    out: Linear,
}

impl SoundLarge {
    pub fn new(classes: usize, gap: bool, frames: usize, device: &Device) -> Self {
        let [rows, cols] = large_grid(frames);
        Self {
            conv1: conv2d(1, 96, [3, 3], true, device),
            conv2: conv2d(96, 256, [3, 3], true, device),
            conv3: conv2d(256, 384, [3, 3], true, device),
            conv4: conv2d(384, 384, [3, 3], true, device),
            conv5: conv2d(384, 256, [3, 3], true, device),
            fc: (!gap).then(|| dense(rows * cols * 256, 256, device)),
            fc_dropout: DropoutConfig::new(0.3).init(),
            dense: dense(256, 128, device),
            dropout: DropoutConfig::new(0.2).init(),
            out: dense(128, classes, device),
        }
    }

    /// Feature maps before the head: `[B, 256, 11, 4]` for 98 frames (used for class
    /// activation maps).
    pub fn features(&self, x: Tensor<4>) -> Tensor<4> {
        stack::run(&self.steps(), x)
    }

    /// The feature stack: conv → pool, twice, three ReLU convs, a 3×3 stride-2 pool.
    pub fn steps(&self) -> Vec<Step<'_>> {
        let pool = |k, s| Step::Pool { kernel: [k, k], stride: [s, s], same: false };
        vec![
            Step::Conv(&self.conv1, Activation::Identity),
            pool(2, 2),
            Step::Conv(&self.conv2, Activation::Identity),
            pool(2, 2),
            Step::Conv(&self.conv3, Activation::Relu),
            Step::Conv(&self.conv4, Activation::Relu),
            Step::Conv(&self.conv5, Activation::Relu),
            pool(3, 2),
        ]
    }

    /// The head: feature maps → logits.
    pub fn head(&self, a: Tensor<4>) -> Tensor<2> {
        let x = match &self.fc {
            Some(fc) => self.fc_dropout.forward(relu(fc.forward(flatten(a)))),
            None => gap2d(a),
        };
        let x = self.dropout.forward(relu(self.dense.forward(x)));
        self.out.forward(x)
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.head(self.features(x))
    }

    /// ∂ logit `class` / ∂ feature maps `a` (`[B, 256, rows, 4]`), by the chain rule through
    /// the head's dense layers and ReLUs (dropout is the identity at inference).
    pub fn head_gradient(&self, a: &Tensor<4>, class: usize) -> Tensor<4> {
        let [b, c, h, w] = a.dims();
        let pooled = match &self.fc {
            Some(fc) => relu(fc.forward(flatten(a.clone()))),
            None => gap2d(a.clone()),
        };
        let z = self.dense.forward(pooled);
        let g = relu_back(z, kernel_column(&self.out, class).expand([b, 128]));
        let g = dense_back(&self.dense, g);
        match &self.fc {
            Some(fc) => {
                let z1 = fc.forward(flatten(a.clone()));
                dense_back(fc, relu_back(z1, g)).reshape([b, c, h, w])
            }
            None => g.reshape([b, c, 1, 1]).div_scalar((h * w) as f32).expand([b, c, h, w]),
        }
    }

    pub fn conv_kernels(&self) -> Vec<Tensor<1>> {
        [&self.conv1, &self.conv2, &self.conv3, &self.conv4, &self.conv5].map(kernel2d).to_vec()
    }
}

/// The small CNN: three (Conv 2×2 valid → ReLU → BatchNorm → MaxPool same) blocks →
/// Dropout 0.4 → FC (Flatten → Dense 128 ReLU) or GAP → Dropout 0.5 → Dense C.
#[derive(Module, Debug)]
pub struct SoundSmall {
    pub(crate) conv1: Conv2d,
    pub(crate) bn1: BatchNorm,
    conv2: Conv2d,
    bn2: BatchNorm,
    conv3: Conv2d,
    bn3: BatchNorm,
    pub(crate) dropout1: Dropout,
    /// FC head only: Dense rows·3·32 → 128 (24 rows for 98 frames).
    fc: Option<Linear>,
    dropout2: Dropout,
    out: Linear,
}

impl SoundSmall {
    pub fn new(classes: usize, gap: bool, frames: usize, device: &Device) -> Self {
        let [rows, cols] = small_grid(frames);
        Self {
            conv1: conv2d(1, 64, [2, 2], false, device),
            bn1: batchnorm(64, device),
            conv2: conv2d(64, 64, [2, 2], false, device),
            bn2: batchnorm(64, device),
            conv3: conv2d(64, 32, [2, 2], false, device),
            bn3: batchnorm(32, device),
            dropout1: DropoutConfig::new(0.4).init(),
            fc: (!gap).then(|| dense(rows * cols * 32, 128, device)),
            dropout2: DropoutConfig::new(0.5).init(),
            out: dense(if gap { 32 } else { 128 }, classes, device),
        }
    }

    /// Feature maps before the head: `[B, 32, 24, 3]` for 98 frames.
    pub fn features(&self, x: Tensor<4>) -> Tensor<4> {
        stack::run(&self.steps(), x)
    }

    /// The feature stack: three (conv → ReLU → BatchNorm → same max pool) blocks.
    pub fn steps(&self) -> Vec<Step<'_>> {
        let pool = |kernel: [usize; 2]| Step::Pool { kernel, stride: kernel, same: true };
        vec![
            Step::Conv(&self.conv1, Activation::Relu),
            Step::Norm(&self.bn1),
            pool([1, 3]),
            Step::Conv(&self.conv2, Activation::Relu),
            Step::Norm(&self.bn2),
            pool([2, 2]),
            Step::Conv(&self.conv3, Activation::Relu),
            Step::Norm(&self.bn3),
            pool([2, 2]),
        ]
    }

    /// The head: feature maps → logits.
    pub fn head(&self, a: Tensor<4>) -> Tensor<2> {
        let x = self.dropout1.forward(a);
        let x = match &self.fc {
            Some(fc) => relu(fc.forward(flatten(x))),
            None => gap2d(x),
        };
        self.out.forward(self.dropout2.forward(x))
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.head(self.features(x))
    }

    /// ∂ logit `class` / ∂ feature maps `a` (`[B, 32, rows, 3]`): the last kernel's column,
    /// through the FC layer's ReLU and kernel, or spread evenly over the grid by GAP.
    pub fn head_gradient(&self, a: &Tensor<4>, class: usize) -> Tensor<4> {
        let [b, c, h, w] = a.dims();
        match &self.fc {
            Some(fc) => {
                let z = fc.forward(flatten(a.clone()));
                let g = relu_back(z, kernel_column(&self.out, class).expand([b, 128]));
                dense_back(fc, g).reshape([b, c, h, w])
            }
            None => kernel_column(&self.out, class).reshape([1, c, 1, 1]).div_scalar((h * w) as f32).expand([b, c, h, w]),
        }
    }

    /// See [`crate::model::StripCnn::has_linear_head`].
    pub fn has_linear_head(&self) -> bool {
        self.fc.is_none()
    }

    pub fn conv_kernels(&self) -> Vec<Tensor<1>> {
        [&self.conv1, &self.conv2, &self.conv3].map(kernel2d).to_vec()
    }

    pub fn batchnorm_state_count(&self) -> usize {
        [&self.bn1, &self.bn2, &self.bn3].map(bn_state).iter().sum()
    }

    pub fn norm_layers(&mut self) -> NormLayers<'_> {
        NormLayers {
            batchnorms: vec![&mut self.bn1, &mut self.bn2, &mut self.bn3],
            dropouts: vec![&mut self.dropout1, &mut self.dropout2],
        }
    }
}
