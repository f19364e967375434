//! The kernels' element-wise passes — an activation applied to a convolution's output, and its
//! derivative in the backward pass — compiled for the widest vector instructions the CPU has.
//!
//! The crate is built for the x86-64 baseline (SSE2, four f32 lanes), which is what these loops
//! got: only gemm's microkernels chose AVX2 or AVX-512 at run time. [`vectorized`] runs a loop
//! through pulp's run-time dispatch, which compiles it once per instruction set (AVX-512,
//! AVX2 + FMA, baseline) and picks one, so the same binary uses 16 lanes where the machine has
//! them. And the ELU's `exp` was libm's scalar `expf` — 11% of a STRIP training step on one
//! thread — where [`exp_nonpositive`] is a few multiply-adds that vectorise.

use super::conv::Activation;
use crate::parallel::for_each_chunk;

/// Runs `f`, a loop over slices, compiled for the best instruction set this CPU has (pulp's
/// run-time detection). `f` must be inlined into the dispatching function to be recompiled for
/// it: callers pass a closure whose body is the loop itself.
#[cfg(not(target_arch = "wasm32"))]
#[inline(always)]
pub fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    pulp::Arch::new().dispatch(f)
}

/// In wasm the instruction set is fixed when the module is built (`simd128`).
#[cfg(target_arch = "wasm32")]
#[inline(always)]
pub fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// `eᶻ` for `z ≤ 0` (larger `z` are clamped to 0, smaller than −87 to −87, where `eᶻ` is below
/// f32's smallest normal number; NaN stays NaN), within 2 ulp of the exact value. Branch-free
/// so that a loop over it vectorises: `z = n·ln 2 + r` with `|r| ≤ ln 2 / 2`, `eʳ` by its
/// degree-7 Taylor polynomial (error below 2⁻²⁸ on that range), `2ⁿ` written into the exponent.
#[inline(always)]
pub fn exp_nonpositive(z: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split so that `n · LN2_HI` is exact for the n that occur (|n| ≤ 126).
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // Adding and subtracting 1.5 · 2²³ rounds to the nearest integer (ties to even).
    const ROUND: f32 = 12_582_912.0;
    let z = if z < -87.0 { -87.0 } else if z > 0.0 { 0.0 } else { z };
    let rounded = z * LOG2_E + ROUND;
    let n = rounded - ROUND;
    let r = (z - n * LN2_HI) - n * LN2_LO;
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    // n ∈ [−126, 0]: 2ⁿ is a normal number, its exponent field n + 127. The integer n is read
    // from `rounded`'s bits (ROUND's, 0x4B40_0000, plus n: there a float's last place is 1),
    // not by `n as i32`, whose saturating conversion kept the loop's lanes scalar (measured:
    // the ELU 7% of a STRIP training step). A NaN gives some scale, and stays NaN.
    let k = (rounded.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let scale = f32::from_bits((k.wrapping_add(127) as u32) << 23);
    p * scale
}

/// `act` over `xs`, in place.
pub fn activate_in_place(act: Activation, xs: &mut [f32]) {
    match act {
        Activation::Identity => {}
        Activation::Relu => vectorized(
            #[inline(always)]
            || xs.iter_mut().for_each(|x| *x = if *x > 0.0 { *x } else { 0.0 }),
        ),
        Activation::Elu => vectorized(
            #[inline(always)]
            || {
                xs.iter_mut().for_each(|x| {
                    let z = *x;
                    let negative = exp_nonpositive(z) - 1.0;
                    *x = if z > 0.0 { z } else { negative };
                })
            },
        ),
    }
}

/// The gradient before the activation, `grad · act'(y)`, from the activation's output `y`.
pub fn activation_backward(y: &[f32], grad: &[f32], act: Activation) -> Vec<f32> {
    const CHUNK: usize = 16 * 1024;
    let mut out = vec![0.0f32; grad.len()];
    for_each_chunk(&mut out, CHUNK, grad.len(), |i, dst| {
        let start = i * CHUNK;
        let (grad, y) = (&grad[start..start + dst.len()], &y[start..start + dst.len()]);
        // One loop per activation: with the `match` inside the loop it stayed scalar (measured:
        // 8.6% of a STRIP training step). Each arm names its activation as a constant, so the
        // `match` in `Activation::derivative` folds away at compile time.
        match act {
            Activation::Identity => dst.copy_from_slice(grad),
            Activation::Relu => times_derivative(dst, grad, y, |y| Activation::Relu.derivative(y)),
            Activation::Elu => times_derivative(dst, grad, y, |y| Activation::Elu.derivative(y)),
        }
    });
    out
}

/// `dst[i] = grad[i] · derivative(y[i])`, compiled for the widest vectors (see [`vectorized`]).
#[inline(always)]
fn times_derivative(dst: &mut [f32], grad: &[f32], y: &[f32], derivative: impl Fn(f32) -> f32) {
    vectorized(
        #[inline(always)]
        || {
            for ((d, &g), &y) in dst.iter_mut().zip(grad).zip(y) {
                *d = g * derivative(y);
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_within_two_ulp_of_the_exact_value_on_its_whole_range() {
        // Every 997th float from −87 to 0, against the f64 exponential rounded once.
        let mut z = -87.0f32;
        let mut worst = 0.0f64;
        while z <= 0.0 {
            let exact = (z as f64).exp();
            let ulp = (exact as f32).to_bits().abs_diff(exp_nonpositive(z).to_bits());
            worst = worst.max(ulp as f64);
            z = f32::from_bits(z.to_bits() - 997);
            if z > -1e-30 {
                break;
            }
        }
        assert!(worst <= 2.0, "{worst} ulp");
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert_eq!(exp_nonpositive(5.0), 1.0, "clamped to 0");
        assert!(exp_nonpositive(-1000.0) < 1e-37);
        assert!(exp_nonpositive(f32::NAN).is_nan());
    }

    #[test]
    fn the_activations_gradient_is_the_definition_bit_for_bit() {
        // Longer than one chunk, with signed zeros, infinities and NaNs in both operands.
        let specials = [0.0, -0.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 1e-30, -1e-30];
        let n = 40_000;
        let y: Vec<f32> = (0..n).map(|i| if i % 97 == 0 { specials[i / 97 % specials.len()] } else { (i as f32 - 20_000.0) / 3_001.0 }).collect();
        let grad: Vec<f32> = (0..n).map(|i| if i % 89 == 0 { specials[i / 89 % specials.len()] } else { ((i as f32) * 0.37).sin() }).collect();
        for act in [Activation::Identity, Activation::Relu, Activation::Elu] {
            let ours = activation_backward(&y, &grad, act);
            for i in 0..n {
                let want = grad[i] * act.derivative(y[i]);
                assert!(ours[i].to_bits() == want.to_bits() || (ours[i].is_nan() && want.is_nan()), "{act:?}: y {} grad {}: {} vs {want}", y[i], grad[i], ours[i]);
            }
        }
    }

    #[test]
    fn the_activations_in_place_are_the_definitions() {
        let xs: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) / 37.0).chain([f32::NAN, -0.0, 1e-30, -1e-30]).collect();
        for act in [Activation::Identity, Activation::Relu, Activation::Elu] {
            let mut ours = xs.clone();
            activate_in_place(act, &mut ours);
            for (&x, &o) in xs.iter().zip(&ours) {
                let want = act.apply(x);
                assert!(
                    (o - want).abs() <= 3e-7 * want.abs().max(1.0) || (o.is_nan() && want.is_nan()),
                    "{act:?}({x}) = {o}, expected {want}"
                );
            }
        }
    }
}
