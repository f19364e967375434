//! Class evidence over the input: where in the image or the clip a network finds the class.
//!
//! For a GAP network whose pooled maps go straight into the last dense layer (the STRIP CNN
//! and the small sound CNN), that is the class activation map (CAM, Zhou et al. 2016):
//! `CAM_c(i, j) = Σ_k w_kc · A_k(i, j)`, whose mean over the grid plus the class bias is the
//! class logit itself. For every other CNN (FC heads, the large sound CNN's GAP head with its
//! dense layers) it is Grad-CAM (Selvaraju et al. 2017): `ReLU(Σ_k α_k · A_k)` with `α_k` the
//! grid mean of `∂ logit_c / ∂ A_k`. The heads are dense layers and ReLUs, so that gradient is
//! written out exactly (see each network's `head_gradient`) rather than taken by autodiff: it
//! runs on any device, WebGPU in the page included. The text networks have no such map.

use super::{Input, Net};
use burn::prelude::*;
use serde::Serialize;

/// Which map [`Net::class_map`] computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MapKind {
    /// Class activation map: signed, its grid mean plus the class bias is the logit.
    Cam,
    /// Gradient-weighted class activation map, before its ReLU (signed, so that the page can
    /// show where evidence is against the class too).
    GradCam,
}

impl Net {
    /// Feature maps before the head (`[B, K, H, W]`) for the image and sound CNNs; `None` for
    /// the text networks.
    pub fn features(&self, input: Input) -> Option<Tensor<4>> {
        match (self, input) {
            (Net::SoundLarge(m), Input::Dense(x)) => Some(m.features(x)),
            (Net::SoundSmall(m), Input::Dense(x)) => Some(m.features(x)),
            (Net::Strip(m), Input::Dense(x)) => Some(m.features(x)),
            _ => None,
        }
    }

    /// The feature stack behind [`Net::features`], for recomputing part of it
    /// ([`super::stack::features_reusing`]); `None` for the text networks.
    pub fn feature_steps(&self) -> Option<Vec<super::stack::Step<'_>>> {
        match self {
            Net::SoundLarge(m) => Some(m.steps()),
            Net::SoundSmall(m) => Some(m.steps()),
            Net::Strip(m) => Some(m.steps()),
            _ => None,
        }
    }

    /// The head applied to feature maps from [`Net::features`].
    pub fn head(&self, a: Tensor<4>) -> Option<Tensor<2>> {
        match self {
            Net::SoundLarge(m) => Some(m.head(a)),
            Net::SoundSmall(m) => Some(m.head(a)),
            Net::Strip(m) => Some(m.head(a)),
            _ => None,
        }
    }

    /// `∂ logit_class / ∂ a`, computed exactly through the head (inference mode).
    pub fn head_gradient(&self, a: &Tensor<4>, class: usize) -> Option<Tensor<4>> {
        match self {
            Net::SoundLarge(m) => Some(m.head_gradient(a, class)),
            Net::SoundSmall(m) => Some(m.head_gradient(a, class)),
            Net::Strip(m) => Some(m.head_gradient(a, class)),
            _ => None,
        }
    }

    fn has_linear_head(&self) -> bool {
        match self {
            Net::SoundSmall(m) => m.has_linear_head(),
            Net::Strip(m) => m.has_linear_head(),
            _ => false,
        }
    }

    /// The evidence map for `class` over the feature grid, `[B, H, W]` (image: 4×4 over the
    /// 32×32 pixels; small sound CNN: 24 frames × 3 over the 98×40 MFCC map; large: 11×4),
    /// or `None` for a text network. Signed; see [`MapKind`].
    pub fn class_map(&self, input: Input, class: usize) -> Option<(MapKind, Tensor<3>)> {
        let a = self.features(input)?;
        self.class_map_of(&a, class)
    }

    /// [`Net::class_map`] from feature maps already computed (the page computes them once
    /// for both the prediction and the map).
    pub fn class_map_of(&self, a: &Tensor<4>, class: usize) -> Option<(MapKind, Tensor<3>)> {
        let a = a.clone();
        let g = self.head_gradient(&a, class)?;
        let [b, _, h, w] = a.dims();
        let alpha = g.mean_dims(&[2, 3]);
        let map = (a * alpha).sum_dim(1).reshape([b, h, w]);
        Some(if self.has_linear_head() {
            // α_k = w_kc / (H·W) here, so scaling back gives Zhou et al.'s CAM exactly.
            (MapKind::Cam, map.mul_scalar((h * w) as f32))
        } else {
            (MapKind::GradCam, map)
        })
    }
}
