//! [`Kernels`] under `Autodiff`: each primitive's backward pass, written by hand (the
//! extension mechanism derives none). The backward primitives themselves are not
//! differentiable again (the lab takes no second derivatives): under `Autodiff` they run on the
//! inner backend, untracked.

use super::{Activation, Conv2d, Kernels, Pool2d};
use burn::backend::TensorMetadata;
use burn::backend::{Autodiff, AutodiffBackend};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;

/// Max pooling's backward node: keeps the input, recomputes each window's winner.
#[derive(Debug)]
struct MaxPoolBackward;

impl<B: Kernels> Backward<B, 1> for MaxPoolBackward {
    type State = (FloatTensor<B>, Pool2d);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [parent] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        if let Some(node) = parent {
            let (x, pool) = ops.state;
            grads.register::<B>(node.id, B::gaplab_max_pool2d_backward(x, grad, pool));
        }
    }
}

/// Convolution's backward node: keeps the input, the kernel and, after an activation, the
/// output (the activation's derivative is a function of it); computes only the gradients of
/// tracked parents (never the input's gradient for the first layer's data).
#[derive(Debug)]
struct ConvBackward;

impl<B: Kernels> Backward<B, 3> for ConvBackward {
    type State = (FloatTensor<B>, FloatTensor<B>, Option<FloatTensor<B>>, Conv2d, Activation);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x_node, w_node, b_node] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x, weight, output, conv, act) = ops.state;
        let grad = match output {
            Some(y) => B::gaplab_activation_backward(y, grad, act),
            None => grad,
        };
        if let Some(node) = b_node {
            grads.register::<B>(node.id, B::gaplab_bias_backward(grad.clone()));
        }
        if let Some(node) = w_node {
            grads.register::<B>(node.id, B::gaplab_conv2d_backward_weight(x.clone(), grad.clone(), conv));
        }
        if let Some(node) = x_node {
            let [_, _, h, w] = x.shape().dims::<4>();
            grads.register::<B>(node.id, B::gaplab_conv2d_backward_input(weight, grad, conv, [h, w]));
        }
    }
}

/// BatchNorm's backward node: keeps the input, `γ` and the batch statistics.
#[derive(Debug)]
struct BatchNormBackward;

impl<B: Kernels> Backward<B, 3> for BatchNormBackward {
    type State = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>, FloatTensor<B>, f64);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x_node, gamma_node, beta_node] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x, gamma, mean, variance, epsilon) = ops.state;
        let (dx, dgamma, dbeta) = B::gaplab_batch_norm_train_backward(x, gamma, mean, variance, grad, epsilon);
        for (node, grad) in [(x_node, dx), (gamma_node, dgamma), (beta_node, dbeta)] {
            if let Some(node) = node {
                grads.register::<B>(node.id, grad);
            }
        }
    }
}

impl<B: Kernels, C: CheckpointStrategy> Kernels for Autodiff<B, C> {
    fn gaplab_max_pool2d(x: FloatTensor<Self>, pool: Pool2d) -> FloatTensor<Self> {
        match MaxPoolBackward.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let input = x.primitive().clone();
                let output = B::gaplab_max_pool2d(x.into_primitive(), pool);
                prep.finish((input, pool), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::gaplab_max_pool2d(x.into_primitive(), pool)),
        }
    }

    fn gaplab_max_pool2d_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>, pool: Pool2d) -> FloatTensor<Self> {
        Self::from_inner(B::gaplab_max_pool2d_backward(Self::inner(x), Self::inner(grad), pool))
    }

    fn gaplab_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>, conv: Conv2d, act: Activation) -> FloatTensor<Self> {
        match ConvBackward.prepare::<C>([x.node(), weight.node(), bias.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let (x_kept, weight_kept) = (x.primitive().clone(), weight.primitive().clone());
                let output = B::gaplab_conv2d(x.into_primitive(), weight.into_primitive(), bias.into_primitive(), conv, act);
                let output_kept = (act != Activation::Identity).then(|| output.clone());
                prep.finish((x_kept, weight_kept, output_kept, conv, act), output)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::gaplab_conv2d(x.into_primitive(), weight.into_primitive(), bias.into_primitive(), conv, act))
            }
        }
    }

    fn gaplab_activation_backward(y: FloatTensor<Self>, grad: FloatTensor<Self>, act: Activation) -> FloatTensor<Self> {
        Self::from_inner(B::gaplab_activation_backward(Self::inner(y), Self::inner(grad), act))
    }

    fn gaplab_conv2d_backward_input(weight: FloatTensor<Self>, grad: FloatTensor<Self>, conv: Conv2d, input: [usize; 2]) -> FloatTensor<Self> {
        Self::from_inner(B::gaplab_conv2d_backward_input(Self::inner(weight), Self::inner(grad), conv, input))
    }

    fn gaplab_conv2d_backward_weight(x: FloatTensor<Self>, grad: FloatTensor<Self>, conv: Conv2d) -> FloatTensor<Self> {
        Self::from_inner(B::gaplab_conv2d_backward_weight(Self::inner(x), Self::inner(grad), conv))
    }

    fn gaplab_bias_backward(grad: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::from_inner(B::gaplab_bias_backward(Self::inner(grad)))
    }

    fn gaplab_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let prep = BatchNormBackward.prepare::<C>([x.node(), gamma.node(), beta.node()]).compute_bound().stateful();
        let (x, gamma_kept) = (x.into_primitive(), gamma.primitive().clone());
        let (out, mean, var) = B::gaplab_batch_norm_train(x.clone(), gamma.into_primitive(), beta.into_primitive(), epsilon);
        let out = match prep {
            OpsKind::Tracked(prep) => prep.finish((x, gamma_kept, mean.clone(), var.clone(), epsilon), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        };
        (out, Self::from_inner(mean), Self::from_inner(var))
    }

    fn gaplab_batch_norm_train_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (dx, dgamma, dbeta) = B::gaplab_batch_norm_train_backward(
            Self::inner(x),
            Self::inner(gamma),
            Self::inner(mean),
            Self::inner(variance),
            Self::inner(grad),
            epsilon,
        );
        (Self::from_inner(dx), Self::from_inner(dgamma), Self::from_inner(dbeta))
    }
}
