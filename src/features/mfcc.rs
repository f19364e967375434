//! MFCC features of a one-second, 16 kHz clip, computed exactly as librosa 0.11 does for the
//! recipe in `shared/reference/mfcc_librosa.json`:
//!
//! ```text
//! librosa.feature.mfcc(y=y, sr=16000, n_mfcc=40, dct_type=2, norm="ortho",
//!     S=librosa.power_to_db(librosa.feature.melspectrogram(
//!         y=y, sr=16000, n_fft=400, win_length=400, hop_length=160, window="hann",
//!         center=False, power=2.0, n_mels=40, fmin=0, fmax=8000, htk=False, norm="slaney"),
//!     ref=1.0, amin=1e-10, top_db=80))
//! ```
//!
//! Why these choices:
//! - `center=False` gives 1 + (16000 − 400) / 160 = **98 frames**, which is what reproduces the
//!   paper's published parameter counts.
//! - Everything up to the log is computed in `f64`: the dB scale magnifies relative errors of
//!   quiet bands, and the 80 dB floor is relative to the loudest band of the *whole clip*, so a
//!   loud frame and a quiet one must both be exact. Only the outputs are `f32`.
//! - A real 400-point FFT is obtained from one complex 400-point FFT per *pair* of frames
//!   (frame a in the real part, frame b in the imaginary part, separated afterwards by conjugate
//!   symmetry), so the 98 frames cost 49 complex FFTs, and only the 201 non-negative bins are
//!   ever formed.
//! - The mel filterbank is stored sparsely (each triangle covers a short contiguous bin range).
//!
//! The input is *not* clipped to ±1: a trigger added to a loud clip may exceed full scale, and
//! the model must see what was added, exactly as in the reference pipeline (clipping happens
//! only when 16-bit audio is written).

use std::f64::consts::PI;
use std::fmt;
use std::sync::Arc;

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

use crate::error::{GapError, Result};

/// Sample rate the recipe assumes (Speech Commands).
pub const SAMPLE_RATE: usize = 16_000;
/// Samples per clip: exactly one second.
pub const CLIP_LEN: usize = SAMPLE_RATE;
/// FFT size and window length: 25 ms.
pub const N_FFT: usize = 400;
/// Hop between frames: 10 ms.
pub const HOP: usize = 160;
/// Non-negative FFT bins of a real 400-point FFT.
pub const N_BINS: usize = N_FFT / 2 + 1;
/// Frames per clip without centre padding: 1 + (16000 − 400) / 160.
pub const FRAMES: usize = 1 + (CLIP_LEN - N_FFT) / HOP;
/// MFCC coefficients kept per frame.
pub const COEFFS: usize = 40;
/// Mel bands.
pub const N_MELS: usize = 40;
/// Floor applied to power before the log (librosa's `amin`), so silence gives −100 dB, not −∞.
pub const AMIN: f64 = 1e-10;
/// Dynamic range kept below the loudest band of the clip (librosa's `top_db`).
pub const TOP_DB: f64 = 80.0;

/// One triangular mel filter, stored as its contiguous run of non-zero weights.
#[derive(Clone, Debug)]
struct MelFilter {
    first_bin: usize,
    weights: Vec<f64>,
}

/// Precomputed plan: FFT plan, periodic Hann window, Slaney mel filterbank, DCT-II ortho matrix.
/// Build once, reuse: construction costs far more than one clip.
///
/// The plan is immutable (`Send + Sync`), so one plan can serve many threads; each call
/// allocates its own small scratch (a few kB, once per clip, never per frame).
#[derive(Clone)]
pub struct MfccPlan {
    fft: Arc<dyn Fft<f64>>,
    /// Periodic Hann window of length `N_FFT` (scipy `get_window("hann", 400, fftbins=True)`).
    window: Vec<f64>,
    /// Slaney-scale, Slaney-normalised triangles over the `N_BINS` bins.
    filters: Vec<MelFilter>,
    /// DCT-II ortho, split by symmetry (see [`DctHalves`]).
    dct: DctHalves,
}

impl fmt::Debug for MfccPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MfccPlan")
            .field("n_fft", &N_FFT)
            .field("hop", &HOP)
            .field("frames", &FRAMES)
            .field("n_mels", &N_MELS)
            .field("coeffs", &COEFFS)
            .finish_non_exhaustive()
    }
}

impl Default for MfccPlan {
    fn default() -> Self {
        Self::new()
    }
}

impl MfccPlan {
    /// Plans the FFT and tabulates the window, the filterbank and the DCT matrix.
    pub fn new() -> Self {
        let fft = FftPlanner::<f64>::new().plan_fft_forward(N_FFT);
        Self { fft, window: hann_periodic(N_FFT), filters: slaney_filterbank(), dct: DctHalves::new() }
    }

    /// MFCCs of one clip.
    ///
    /// `samples`: exactly 16000 finite values on the int16/32768 scale (not clipped; triggers
    /// may push beyond ±1). Anything else is [`GapError::Invalid`]: a wrong length would change
    /// the frame count the models are built for, and one NaN would poison the whole clip
    /// through the clip-wide 80 dB floor.
    ///
    /// Returns 98×40 row-major, frame-major: `out[f * COEFFS + c]`.
    pub fn mfcc(&self, samples: &[f32]) -> Result<Vec<f32>> {
        let log_mel = self.log_mel_f64(samples)?;
        Ok(self.dct(&log_mel))
    }

    /// The 98×40 log-mel matrix (dB, 80 dB floor applied) that the DCT turns into MFCCs,
    /// frame-major: `out[f * N_MELS + m]`. Same input rules as [`MfccPlan::mfcc`].
    pub fn log_mel(&self, samples: &[f32]) -> Result<Vec<f32>> {
        Ok(to_f32(&self.log_mel_f64(samples)?))
    }

    /// MFCCs and log-mel of one clip at once (the log-mel is computed once and shared).
    /// Same input rules as [`MfccPlan::mfcc`].
    pub fn compute(&self, samples: &[f32]) -> Result<(Vec<f32>, Vec<f32>)> {
        let log_mel = self.log_mel_f64(samples)?;
        Ok((self.dct(&log_mel), to_f32(&log_mel)))
    }

    /// Log-mel in `f64`, frame-major, after the clip-wide `TOP_DB` floor.
    fn log_mel_f64(&self, samples: &[f32]) -> Result<Vec<f64>> {
        validate(samples)?;
        let mut mel = vec![0.0f64; FRAMES * N_MELS];
        let mut buf = vec![Complex::new(0.0f64, 0.0); N_FFT];
        let mut scratch = vec![Complex::new(0.0f64, 0.0); self.fft.get_inplace_scratch_len()];
        let mut power = [[0.0f64; 2]; N_BINS];

        // FRAMES is even, so the frames pair up exactly.
        for pair in 0..FRAMES / 2 {
            let (fa, fb) = (2 * pair, 2 * pair + 1);
            let xa = &samples[fa * HOP..fa * HOP + N_FFT];
            let xb = &samples[fb * HOP..fb * HOP + N_FFT];
            for (((z, &a), &b), &w) in buf.iter_mut().zip(xa).zip(xb).zip(&self.window) {
                *z = Complex::new(f64::from(a) * w, f64::from(b) * w);
            }
            self.fft.process_with_scratch(&mut buf, &mut scratch);
            split_pair_power(&buf, &mut power);
            let (mel_a, mel_b) = mel[fa * N_MELS..(fb + 1) * N_MELS].split_at_mut(N_MELS);
            self.apply_filters(&power, mel_a, mel_b);
        }

        // power_to_db(ref=1.0, amin=1e-10, top_db=80): the floor is relative to the clip's max.
        // 10·log10(x) as ln(x)·(10/ln 10): same value to an ulp, one libm call instead of two.
        let db_per_neper = 10.0 / std::f64::consts::LN_10;
        let mut max_db = f64::NEG_INFINITY;
        for v in &mut mel {
            *v = v.max(AMIN).ln() * db_per_neper;
            max_db = max_db.max(*v);
        }
        let floor = max_db - TOP_DB;
        for v in &mut mel {
            *v = v.max(floor);
        }
        Ok(mel)
    }

    /// Mel band energies of a pair of frames from their interleaved power spectra (both frames
    /// go through each filter together, two lanes of one SIMD register).
    fn apply_filters(&self, power: &[[f64; 2]; N_BINS], out_a: &mut [f64], out_b: &mut [f64]) {
        for ((a, b), filter) in out_a.iter_mut().zip(out_b.iter_mut()).zip(&self.filters) {
            let bins = &power[filter.first_bin..filter.first_bin + filter.weights.len()];
            let mut acc = [0.0f64; 2];
            for (&w, p) in filter.weights.iter().zip(bins) {
                acc[0] += w * p[0];
                acc[1] += w * p[1];
            }
            (*a, *b) = (acc[0], acc[1]);
        }
    }

    /// DCT-II (ortho) of every frame's log-mel, keeping `COEFFS` coefficients.
    fn dct(&self, log_mel: &[f64]) -> Vec<f32> {
        let mut out = vec![0.0f32; FRAMES * COEFFS];
        for (frame, coeffs) in log_mel.chunks_exact(N_MELS).zip(out.chunks_exact_mut(COEFFS)) {
            self.dct.apply(frame, coeffs);
        }
        out
    }
}

/// Half the length of the DCT input: the symmetric split pairs band `n` with band `N − 1 − n`.
const HALF: usize = N_MELS / 2;
// The split keeps all N coefficients of an even-length input, and frames are processed in pairs.
const _: () = assert!(COEFFS == N_MELS && N_MELS % 2 == 0 && FRAMES % 2 == 0);

/// DCT-II ortho (`scipy.fft.dct(type=2, norm="ortho")`) as two half-size products.
///
/// `cos(πk(2(N−1−n)+1)/2N) = (−1)^k cos(πk(2n+1)/2N)`, so even coefficients need only the
/// sums `x[n] + x[N−1−n]` and odd ones only the differences: 2 × 20×20 multiply-adds per frame
/// instead of 40×40. Matrices are stored input-major (`[n * HALF + j]`) so each input value is
/// a contiguous axpy over the 20 outputs (vectorises, no horizontal sums).
#[derive(Clone, Debug)]
struct DctHalves {
    /// `even[n * HALF + j]` = coefficient `2j`'s weight of `x[n] + x[N−1−n]`.
    even: Vec<f64>,
    /// `odd[n * HALF + j]` = coefficient `2j+1`'s weight of `x[n] − x[N−1−n]`.
    odd: Vec<f64>,
}

impl DctHalves {
    fn new() -> Self {
        let full = dct2_ortho(); // [k][n]
        let mut even = vec![0.0; HALF * HALF];
        let mut odd = vec![0.0; HALF * HALF];
        for n in 0..HALF {
            for j in 0..HALF {
                even[n * HALF + j] = full[2 * j][n];
                odd[n * HALF + j] = full[2 * j + 1][n];
            }
        }
        Self { even, odd }
    }

    /// `out[k]` for one frame of `N_MELS` log-mel values.
    fn apply(&self, x: &[f64], out: &mut [f32]) {
        let (mut acc_even, mut acc_odd) = ([0.0f64; HALF], [0.0f64; HALF]);
        for n in 0..HALF {
            let (lo, hi) = (x[n], x[N_MELS - 1 - n]);
            let (sum, diff) = (lo + hi, lo - hi);
            for (a, &d) in acc_even.iter_mut().zip(&self.even[n * HALF..(n + 1) * HALF]) {
                *a += sum * d;
            }
            for (a, &d) in acc_odd.iter_mut().zip(&self.odd[n * HALF..(n + 1) * HALF]) {
                *a += diff * d;
            }
        }
        for (j, pair) in out.chunks_exact_mut(2).enumerate() {
            pair[0] = acc_even[j] as f32;
            pair[1] = acc_odd[j] as f32;
        }
    }
}

/// Rejects inputs the recipe is not defined for (see [`MfccPlan::mfcc`]).
fn validate(samples: &[f32]) -> Result<()> {
    if samples.len() != CLIP_LEN {
        return Err(GapError::Invalid(format!(
            "MFCC needs exactly {CLIP_LEN} samples (1 s at 16 kHz), got {}",
            samples.len()
        )));
    }
    // Branch-free pass first (vectorises); locate the culprit only when there is one.
    if !samples.iter().fold(true, |ok, v| ok & v.is_finite()) {
        let i = samples.iter().position(|v| !v.is_finite()).unwrap_or(0);
        return Err(GapError::Invalid(format!("MFCC input sample {i} is not finite ({})", samples[i])));
    }
    Ok(())
}

/// Separates the spectra of two real frames packed as `a + i·b` and returns their power on the
/// non-negative bins: `A[k] = (Z[k] + conj Z[N−k]) / 2`, `B[k] = (Z[k] − conj Z[N−k]) / 2i`.
/// `power[k] = [|A[k]|², |B[k]|²]`, interleaved so the filterbank handles both frames at once.
fn split_pair_power(z: &[Complex<f64>], power: &mut [[f64; 2]; N_BINS]) {
    // Bin 0 pairs with itself; bin k ≥ 1 with N − k, i.e. z[1..=200] with z[399..=200] reversed.
    let mirrored = std::iter::once(&z[0]).chain(z[N_FFT - N_BINS + 1..].iter().rev());
    for ((out, p), q) in power.iter_mut().zip(z).zip(mirrored) {
        let (sum_re, diff_im) = (p.re + q.re, p.im - q.im);
        let (sum_im, diff_re) = (p.im + q.im, p.re - q.re);
        *out = [0.25 * (sum_re * sum_re + diff_im * diff_im), 0.25 * (sum_im * sum_im + diff_re * diff_re)];
    }
}

fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// Periodic ("fftbins") Hann window, as `scipy.signal.get_window("hann", n)`, which librosa uses.
fn hann_periodic(n: usize) -> Vec<f64> {
    (0..n).map(|i| 0.5 - 0.5 * (2.0 * PI * i as f64 / n as f64).cos()).collect()
}

/// Slaney's auditory-toolbox mel scale (librosa `htk=False`): linear below 1 kHz, logarithmic above.
fn hz_to_mel(hz: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    let min_log_mel = MIN_LOG_HZ / F_SP;
    let logstep = 6.4f64.ln() / 27.0;
    if hz >= MIN_LOG_HZ { min_log_mel + (hz / MIN_LOG_HZ).ln() / logstep } else { hz / F_SP }
}

/// Inverse of [`hz_to_mel`].
fn mel_to_hz(mel: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    let min_log_mel = MIN_LOG_HZ / F_SP;
    let logstep = 6.4f64.ln() / 27.0;
    if mel >= min_log_mel { MIN_LOG_HZ * (logstep * (mel - min_log_mel)).exp() } else { F_SP * mel }
}

/// `librosa.filters.mel(sr=16000, n_fft=400, n_mels=40, fmin=0, fmax=8000, htk=False,
/// norm="slaney")`, each row reduced to its non-zero run.
fn slaney_filterbank() -> Vec<MelFilter> {
    let sr = SAMPLE_RATE as f64;
    let (fmin, fmax) = (0.0, sr / 2.0);
    let fft_freqs: Vec<f64> = (0..N_BINS).map(|k| k as f64 * sr / N_FFT as f64).collect();
    // N_MELS + 2 edge frequencies, equally spaced in mel (np.linspace semantics).
    let (mel_lo, mel_hi) = (hz_to_mel(fmin), hz_to_mel(fmax));
    let last = (N_MELS + 1) as f64;
    let edges: Vec<f64> = (0..N_MELS + 2).map(|i| mel_to_hz(mel_lo + (mel_hi - mel_lo) * i as f64 / last)).collect();

    (0..N_MELS)
        .map(|m| {
            let (lo, centre, hi) = (edges[m], edges[m + 1], edges[m + 2]);
            // Slaney normalisation: every triangle has unit area in Hz.
            let enorm = 2.0 / (hi - lo);
            let dense: Vec<f64> = fft_freqs
                .iter()
                .map(|&f| {
                    let rising = (f - lo) / (centre - lo);
                    let falling = (hi - f) / (hi - centre);
                    rising.min(falling).max(0.0) * enorm
                })
                .collect();
            let first_bin = dense.iter().position(|&w| w > 0.0).unwrap_or(0);
            let end = dense.iter().rposition(|&w| w > 0.0).map_or(first_bin, |i| i + 1);
            MelFilter { first_bin, weights: dense[first_bin..end].to_vec() }
        })
        .collect()
}

/// DCT-II with orthonormal scaling (`scipy.fft.dct(type=2, norm="ortho")`), `[k][n]`:
/// `s_k · cos(π k (2n + 1) / 2N)`, `s_0 = √(1/N)`, `s_k = √(2/N)`.
fn dct2_ortho() -> Vec<[f64; N_MELS]> {
    let n_in = N_MELS as f64;
    (0..COEFFS)
        .map(|k| {
            let scale = if k == 0 { (1.0 / n_in).sqrt() } else { (2.0 / n_in).sqrt() };
            std::array::from_fn(|n| scale * (PI * k as f64 * (2 * n + 1) as f64 / (2.0 * n_in)).cos())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_count_matches_the_paper() {
        assert_eq!(FRAMES, 98);
        assert_eq!(FRAMES % 2, 0, "frames are processed in pairs");
    }

    #[test]
    fn rejects_wrong_length_and_non_finite() {
        let plan = MfccPlan::new();
        for len in [0, 1, 15_999, 16_001] {
            assert!(matches!(plan.mfcc(&vec![0.0; len]), Err(GapError::Invalid(_))), "len {len}");
        }
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let mut x = vec![0.0; CLIP_LEN];
            x[12_345] = bad;
            assert!(matches!(plan.compute(&x), Err(GapError::Invalid(_))));
            assert!(matches!(plan.log_mel(&x), Err(GapError::Invalid(_))));
        }
    }

    #[test]
    fn mel_scale_round_trips_and_is_continuous_at_1khz() {
        for hz in [0.0, 100.0, 999.0, 1000.0, 1001.0, 4000.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9, "{hz}");
        }
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
        assert!((hz_to_mel(999.999_999) - 15.0).abs() < 1e-6);
    }

    #[test]
    fn slaney_triangles_have_unit_area() {
        // The continuous triangle has area 1 in Hz; the sampled sum × bin width approximates it.
        let bin_hz = SAMPLE_RATE as f64 / N_FFT as f64;
        for (m, f) in slaney_filterbank().iter().enumerate().skip(8) {
            let area: f64 = f.weights.iter().sum::<f64>() * bin_hz;
            assert!((area - 1.0).abs() < 0.05, "band {m}: area {area}");
        }
    }

    #[test]
    fn dct_matrix_is_orthonormal() {
        let t = dct2_ortho();
        for a in 0..COEFFS {
            for b in 0..COEFFS {
                let dot: f64 = (0..N_MELS).map(|n| t[a][n] * t[b][n]).sum();
                let want = if a == b { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-12, "({a},{b}) {dot}");
            }
        }
    }

    #[test]
    fn paired_fft_matches_a_direct_dft() {
        // Two different frames through the pair trick versus a naive real DFT.
        let a: Vec<f64> = (0..N_FFT).map(|n| ((n * 7919) % 401) as f64 / 400.0 - 0.5).collect();
        let b: Vec<f64> = (0..N_FFT).map(|n| (n as f64 * 0.37).sin() * 1e-3).collect();
        let fft = FftPlanner::<f64>::new().plan_fft_forward(N_FFT);
        let mut z: Vec<Complex<f64>> = a.iter().zip(&b).map(|(&x, &y)| Complex::new(x, y)).collect();
        fft.process(&mut z);
        let mut power = [[0.0; 2]; N_BINS];
        split_pair_power(&z, &mut power);
        for (lane, x) in [&a, &b].into_iter().enumerate() {
            for (k, got) in power.iter().map(|p| p[lane]).enumerate() {
                let (mut re, mut im) = (0.0, 0.0);
                for (n, &v) in x.iter().enumerate() {
                    let ang = -2.0 * PI * (k * n) as f64 / N_FFT as f64;
                    re += v * ang.cos();
                    im += v * ang.sin();
                }
                let want = re * re + im * im;
                assert!((got - want).abs() <= 1e-9 * want.max(1e-12), "bin {k}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn symmetric_dct_equals_the_full_matrix_product() {
        let full = dct2_ortho();
        let halves = DctHalves::new();
        let x: Vec<f64> = (0..N_MELS).map(|n| ((n * 37) % 11) as f64 * 7.5 - 40.0).collect();
        let mut got = [0.0f32; COEFFS];
        halves.apply(&x, &mut got);
        for (k, row) in full.iter().enumerate() {
            let want: f64 = row.iter().zip(&x).map(|(d, v)| d * v).sum();
            assert!((f64::from(got[k]) - want).abs() < 1e-4, "coeff {k}: {} vs {want}", got[k]);
        }
    }

    #[test]
    fn silence_is_minus_100_db_everywhere() {
        let plan = MfccPlan::new();
        let (mfcc, log_mel) = plan.compute(&vec![0.0; CLIP_LEN]).unwrap();
        assert!(log_mel.iter().all(|&v| v == -100.0));
        // DC coefficient of a constant: √N · (−100); all others vanish.
        let c0 = -100.0 * (N_MELS as f64).sqrt();
        for frame in mfcc.chunks_exact(COEFFS) {
            assert!((f64::from(frame[0]) - c0).abs() < 1e-3);
            assert!(frame[1..].iter().all(|v| v.abs() < 1e-3));
        }
    }

    #[test]
    fn top_db_floor_is_clip_wide_and_inputs_are_not_clipped() {
        let plan = MfccPlan::new();
        // A loud tone beyond full scale in the first 0.1 s, near-silence afterwards.
        let x: Vec<f32> = (0..CLIP_LEN)
            .map(|i| {
                let s = (i as f32 * 0.3).sin();
                if i < 1600 { 3.0 * s } else { 1e-6 * s }
            })
            .collect();
        let log_mel = plan.log_mel(&x).unwrap();
        let max = log_mel.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let min = log_mel.iter().copied().fold(f32::INFINITY, f32::min);
        assert!((max - min - 80.0).abs() < 1e-3, "range {}", max - min);
        // Not clipping: tripling the amplitude again raises the max by 20·log10(3) dB.
        let louder: Vec<f32> = x.iter().map(|v| v * 3.0).collect();
        let max3 = plan.log_mel(&louder).unwrap().into_iter().fold(f32::NEG_INFINITY, f32::max);
        assert!((max3 - max - 20.0 * 3f32.log10()).abs() < 1e-3);
    }

    #[test]
    fn compute_equals_separate_calls() {
        let plan = MfccPlan::default();
        let x: Vec<f32> = (0..CLIP_LEN).map(|i| ((i * 31) % 97) as f32 / 97.0 - 0.5).collect();
        let (m, l) = plan.compute(&x).unwrap();
        assert_eq!(m, plan.mfcc(&x).unwrap());
        assert_eq!(l, plan.log_mel(&x).unwrap());
        assert_eq!(m.len(), FRAMES * COEFFS);
        assert_eq!(l.len(), FRAMES * N_MELS);
    }
}
