//! Sentiment networks over 250 token ids (input `[B, 250]`), one output logit (positive).

use super::layers::{Activation, apply_conv1d, conv1d, dense, embedding, kernel1d, max_pool};
use burn::nn::conv::Conv1d;
use burn::nn::{Dropout, DropoutConfig, Embedding, Linear};
use burn::prelude::*;
use burn::tensor::activation::relu;

/// L2 factor on the Kim CNN's conv kernels (PAPER.md, text 1).
pub const KIM_L2: f64 = 1e-3;
/// Rows of the Kim CNN's embedding (the vocabulary size).
pub const KIM_ROWS: usize = 10_000;
/// Rows of the other two embeddings (vocabulary size + 1, as in the TensorFlow tutorial).
pub const ROWS: usize = 10_001;

/// `[B, L, D] → [B, D, L]`: embeddings as channels for a 1-D convolution.
fn channels_first(x: Tensor<3>) -> Tensor<3> {
    x.swap_dims(1, 2)
}

/// Kim's CNN: Embedding 100 → parallel Conv 100 of width 3, 4, 5 (ReLU) → max over time →
/// FC (concatenate 300) or GAP (average the three branches: 100) → Dropout 0.5 → Dense 1.
#[derive(Module, Debug)]
pub struct KimCnn {
    embedding: Embedding,
    conv3: Conv1d,
    conv4: Conv1d,
    conv5: Conv1d,
    dropout: Dropout,
    out: Linear,
    gap: bool,
}

impl KimCnn {
    pub fn new(gap: bool, device: &Device) -> Self {
        Self {
            embedding: embedding(KIM_ROWS, 100, device),
            conv3: conv1d(100, 100, 3, device),
            conv4: conv1d(100, 100, 4, device),
            conv5: conv1d(100, 100, 5, device),
            dropout: DropoutConfig::new(0.5).init(),
            out: dense(if gap { 100 } else { 300 }, 1, device),
            gap,
        }
    }

    pub fn forward(&self, tokens: Tensor<2, Int>) -> Tensor<2> {
        let x = channels_first(self.embedding.forward(tokens));
        let [b, _, _] = x.dims();
        let branch = |conv: &Conv1d| -> Tensor<2> {
            apply_conv1d(conv, x.clone(), Activation::Relu).max_dim(2).reshape([b, 100])
        };
        let branches = vec![branch(&self.conv3), branch(&self.conv4), branch(&self.conv5)];
        let x = if self.gap {
            Tensor::stack::<3>(branches, 1).mean_dim(1).reshape([b, 100])
        } else {
            Tensor::cat(branches, 1)
        };
        self.out.forward(self.dropout.forward(x))
    }

    pub fn conv_kernels(&self) -> Vec<Tensor<1>> {
        [&self.conv3, &self.conv4, &self.conv5].map(kernel1d).to_vec()
    }
}

/// Conv1D net: Embedding 64 → Conv1D 64 k=3 ReLU → MaxPool 2 → FC (Flatten) or GAP 1D →
/// Dense 32 ReLU → Dense 1.
#[derive(Module, Debug)]
pub struct TextConv1d {
    embedding: Embedding,
    conv: Conv1d,
    dense: Linear,
    out: Linear,
    gap: bool,
}

impl TextConv1d {
    pub fn new(gap: bool, device: &Device) -> Self {
        Self {
            embedding: embedding(ROWS, 64, device),
            conv: conv1d(64, 64, 3, device),
            dense: dense(if gap { 64 } else { 124 * 64 }, 32, device),
            out: dense(32, 1, device),
            gap,
        }
    }

    pub fn forward(&self, tokens: Tensor<2, Int>) -> Tensor<2> {
        let x = apply_conv1d(&self.conv, channels_first(self.embedding.forward(tokens)), Activation::Relu);
        let [b, c, l] = x.dims();
        // Pooled along the row of a `[B, C, 1, L]` view (the same memory as `[B, C, L, 1]`):
        // the pooling kernel then walks contiguous rows instead of one-cell ones.
        let x = max_pool(x.reshape([b, c, 1, l]), [1, 2], [1, 2], false);
        let [_, _, _, l] = x.dims();
        let x = if self.gap {
            x.mean_dim(3).reshape([b, c])
        } else {
            x.reshape([b, c * l])
        };
        self.out.forward(relu(self.dense.forward(x)))
    }
}

/// Embedding-bag net (TensorFlow's text-classification tutorial): Embedding 16 → Dropout 0.2 →
/// GAP 1D → Dropout 0.2 → Dense 1, or FC: Flatten → Dropout 0.2 → Dense 16 (linear) →
/// Dropout 0.2 → Dense 1.
#[derive(Module, Debug)]
pub struct EmbeddingBag {
    embedding: Embedding,
    dropout1: Dropout,
    fc: Option<Linear>,
    dropout2: Dropout,
    out: Linear,
}

impl EmbeddingBag {
    pub fn new(gap: bool, device: &Device) -> Self {
        Self {
            embedding: embedding(ROWS, 16, device),
            dropout1: DropoutConfig::new(0.2).init(),
            fc: (!gap).then(|| dense(250 * 16, 16, device)),
            dropout2: DropoutConfig::new(0.2).init(),
            out: dense(16, 1, device),
        }
    }

    pub fn forward(&self, tokens: Tensor<2, Int>) -> Tensor<2> {
        let x = self.dropout1.forward(self.embedding.forward(tokens));
        let [b, l, d] = x.dims();
        let x = match &self.fc {
            Some(fc) => fc.forward(self.dropout2.forward(x.reshape([b, l * d]))),
            None => x.mean_dim(1).reshape([b, d]),
        };
        self.out.forward(self.dropout2.forward(x))
    }
}
