//! The STRIP CNN over CIFAR-10 images (input `[B, 3, 32, 32]`, pixels in [0, 1]).

use super::layers::{Activation, NormLayers, batchnorm, bn_state, conv2d, dense, flatten, gap2d, kernel_column, kernel2d};
use super::stack::{self, Step};
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, Dropout, DropoutConfig, Linear};
use burn::prelude::*;

/// L2 factor on the conv kernels (PAPER.md, image).
pub const L2: f64 = 1e-4;

/// One `[Conv 3×3 same → ELU → BatchNorm] ×2 → MaxPool 2 → Dropout` stage.
#[derive(Module, Debug)]
pub struct Stage {
    conv_a: Conv2d,
    bn_a: BatchNorm,
    conv_b: Conv2d,
    bn_b: BatchNorm,
    dropout: Dropout,
}

impl Stage {
    fn new(cin: usize, cout: usize, drop: f64, device: &Device) -> Self {
        Self {
            conv_a: conv2d(cin, cout, [3, 3], true, device),
            bn_a: batchnorm(cout, device),
            conv_b: conv2d(cout, cout, [3, 3], true, device),
            bn_b: batchnorm(cout, device),
            dropout: DropoutConfig::new(drop).init(),
        }
    }

    fn steps(&self) -> [Step<'_>; 6] {
        [
            Step::Conv(&self.conv_a, Activation::Elu),
            Step::Norm(&self.bn_a),
            Step::Conv(&self.conv_b, Activation::Elu),
            Step::Norm(&self.bn_b),
            Step::Pool { kernel: [2, 2], stride: [2, 2], same: false },
            Step::Dropout(&self.dropout),
        ]
    }
}

/// STRIP CNN: stages of 32, 64, 128 filters (dropout 0.2, 0.3, 0.4) → FC (Flatten) or GAP →
/// Dense 10.
#[derive(Module, Debug)]
pub struct StripCnn {
    stage1: Stage,
    stage2: Stage,
    stage3: Stage,
    out: Linear,
    gap: bool,
}

impl StripCnn {
    pub fn new(classes: usize, gap: bool, device: &Device) -> Self {
        Self {
            stage1: Stage::new(3, 32, 0.2, device),
            stage2: Stage::new(32, 64, 0.3, device),
            stage3: Stage::new(64, 128, 0.4, device),
            out: dense(if gap { 128 } else { 4 * 4 * 128 }, classes, device),
            gap,
        }
    }

    /// Feature maps before the head: `[B, 128, 4, 4]`.
    pub fn features(&self, x: Tensor<4>) -> Tensor<4> {
        stack::run(&self.steps(), x)
    }

    /// The feature stack: the three stages' steps in order.
    pub fn steps(&self) -> Vec<Step<'_>> {
        [&self.stage1, &self.stage2, &self.stage3].into_iter().flat_map(Stage::steps).collect()
    }

    /// The head: feature maps → logits.
    pub fn head(&self, a: Tensor<4>) -> Tensor<2> {
        let x = if self.gap { gap2d(a) } else { flatten(a) };
        self.out.forward(x)
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.head(self.features(x))
    }

    /// ∂ logit `class` / ∂ feature maps `a` (`[B, 128, 4, 4]`), exactly: the head is linear,
    /// so it is the dense kernel's column (spread evenly over the grid for GAP).
    pub fn head_gradient(&self, a: &Tensor<4>, class: usize) -> Tensor<4> {
        let [b, c, h, w] = a.dims();
        let column = kernel_column(&self.out, class);
        let g = if self.gap { column.reshape([1, c, 1, 1]).div_scalar((h * w) as f32) } else { column.reshape([1, c, h, w]) };
        g.expand([b, c, h, w])
    }

    /// Whether the GAP head feeds the pooled maps straight into the last dense layer, so that
    /// the class activation map (CAM) of Zhou et al. applies as such.
    pub fn has_linear_head(&self) -> bool {
        self.gap
    }

    pub fn conv_kernels(&self) -> Vec<Tensor<1>> {
        [&self.stage1, &self.stage2, &self.stage3]
            .iter()
            .flat_map(|s| [kernel2d(&s.conv_a), kernel2d(&s.conv_b)])
            .collect()
    }

    pub fn batchnorm_state_count(&self) -> usize {
        [&self.stage1, &self.stage2, &self.stage3]
            .iter()
            .map(|s| bn_state(&s.bn_a) + bn_state(&s.bn_b))
            .sum()
    }

    pub fn norm_layers(&mut self) -> NormLayers<'_> {
        let mut layers = NormLayers::default();
        for stage in [&mut self.stage1, &mut self.stage2, &mut self.stage3] {
            layers.batchnorms.extend([&mut stage.bn_a, &mut stage.bn_b]);
            layers.dropouts.push(&mut stage.dropout);
        }
        layers
    }
}
