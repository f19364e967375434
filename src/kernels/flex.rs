//! [`Kernels`] on Flex: the tensors' f32 storage handed to the slice kernels.

use super::conv::{self, ConvShape};
use super::elementwise;
use super::{Activation, Conv2d, Kernels, Pool2d, norm, pool};
use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::backend::TensorMetadata;
use burn::tensor::TensorData;

/// `t` with contiguous f32 storage (a copy only when it was strided).
fn contiguous(t: FlexTensor) -> FlexTensor {
    if t.as_slice::<f32>().is_some() { t } else { t.to_contiguous() }
}

fn values(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().expect("the lab's kernels run on contiguous f32 tensors")
}

fn tensor<const D: usize>(values: Vec<f32>, shape: [usize; D]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

fn dims4(t: &FlexTensor) -> [usize; 4] {
    t.shape().dims::<4>()
}

impl Kernels for Flex {
    fn gaplab_max_pool2d(x: FlexTensor, pool: Pool2d) -> FlexTensor {
        let [b, c, h, w] = dims4(&x);
        let x = contiguous(x);
        let [oh, ow] = pool.output(h, w).expect("checked by kernels::max_pool2d");
        tensor(pool::forward(values(&x), b * c, [h, w], &pool), [b, c, oh, ow])
    }

    fn gaplab_max_pool2d_backward(x: FlexTensor, grad: FlexTensor, pool: Pool2d) -> FlexTensor {
        let [b, c, h, w] = dims4(&x);
        let (x, grad) = (contiguous(x), contiguous(grad));
        tensor(pool::backward(values(&x), values(&grad), b * c, [h, w], &pool), [b, c, h, w])
    }

    fn gaplab_conv2d(x: FlexTensor, weight: FlexTensor, bias: FlexTensor, c: Conv2d, act: Activation) -> FlexTensor {
        let shape = conv_shape(&x, &weight);
        let [oh, ow] = c.output(shape.height, shape.width).expect("checked by kernels::conv2d");
        let (x, weight, bias) = (contiguous(x), contiguous(weight), contiguous(bias));
        let out = conv::forward(values(&x), values(&weight), values(&bias), &shape, &c, act);
        tensor(out, [shape.batch, shape.channels_out, oh, ow])
    }

    fn gaplab_activation_backward(y: FlexTensor, grad: FlexTensor, act: Activation) -> FlexTensor {
        let shape = y.shape();
        let (y, grad) = (contiguous(y), contiguous(grad));
        FlexTensor::from_data(TensorData::new(elementwise::activation_backward(values(&y), values(&grad), act), shape))
    }

    fn gaplab_conv2d_backward_input(weight: FlexTensor, grad: FlexTensor, c: Conv2d, [h, w]: [usize; 2]) -> FlexTensor {
        let ([b, co, _, _], [_, ci, _, _]) = (dims4(&grad), dims4(&weight));
        let shape = ConvShape { batch: b, channels_in: ci, height: h, width: w, channels_out: co };
        let (weight, grad) = (contiguous(weight), contiguous(grad));
        tensor(conv::backward_input(values(&weight), values(&grad), &shape, &c), [b, ci, h, w])
    }

    fn gaplab_conv2d_backward_weight(x: FlexTensor, grad: FlexTensor, c: Conv2d) -> FlexTensor {
        let ([b, ci, h, w], [_, co, _, _]) = (dims4(&x), dims4(&grad));
        let shape = ConvShape { batch: b, channels_in: ci, height: h, width: w, channels_out: co };
        let (x, grad) = (contiguous(x), contiguous(grad));
        tensor(conv::backward_weight(values(&x), values(&grad), &shape, &c), [co, ci, c.kernel[0], c.kernel[1]])
    }

    fn gaplab_bias_backward(grad: FlexTensor) -> FlexTensor {
        let [b, c, _, _] = dims4(&grad);
        let grad = contiguous(grad);
        tensor(conv::backward_bias(values(&grad), b, c), [c])
    }

    fn gaplab_batch_norm_train(x: FlexTensor, gamma: FlexTensor, beta: FlexTensor, epsilon: f64) -> (FlexTensor, FlexTensor, FlexTensor) {
        let shape = x.shape();
        let (x, gamma, beta) = (contiguous(x), contiguous(gamma), contiguous(beta));
        let (out, stats) = norm::forward(values(&x), values(&gamma), values(&beta), shape[0], epsilon);
        let channels = stats.len();
        let (mean, var) = stats.into_iter().unzip();
        (FlexTensor::from_data(TensorData::new(out, shape)), tensor(mean, [channels]), tensor(var, [channels]))
    }

    fn gaplab_batch_norm_train_backward(
        x: FlexTensor,
        gamma: FlexTensor,
        mean: FlexTensor,
        variance: FlexTensor,
        grad: FlexTensor,
        epsilon: f64,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let shape = x.shape();
        let (x, gamma, mean, variance, grad) = (contiguous(x), contiguous(gamma), contiguous(mean), contiguous(variance), contiguous(grad));
        let stats: Vec<(f32, f32)> = values(&mean).iter().copied().zip(values(&variance).iter().copied()).collect();
        let (dx, dgamma, dbeta) = norm::backward(values(&x), values(&gamma), &stats, values(&grad), shape[0], epsilon);
        let channels = stats.len();
        (FlexTensor::from_data(TensorData::new(dx, shape)), tensor(dgamma, [channels]), tensor(dbeta, [channels]))
    }
}

fn conv_shape(x: &FlexTensor, weight: &FlexTensor) -> ConvShape {
    let ([batch, channels_in, height, width], [channels_out, ..]) = (dims4(x), dims4(weight));
    ConvShape { batch, channels_in, height, width, channels_out }
}
