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
//!   paper's published parameter counts. The reference code hard-codes 101 frames instead, which
//!   is librosa's default `center=True`; [`Framing::Centred`] computes those (the clip
//!   reflect-padded by 200 samples on each side, librosa ≤ 0.9's default `pad_mode`), so that
//!   both readings of the paper can be trained and compared. The default stays 98.
//! - Everything up to the log is computed in `f64`: the dB scale magnifies relative errors of
//!   quiet bands, and the 80 dB floor is relative to the loudest band of the *whole clip*, so a
//!   loud frame and a quiet one must both be exact. Only the outputs are `f32`.
//! - A real 400-point FFT is obtained from one complex 400-point FFT per *pair* of frames
//!   (frame a in the real part, frame b in the imaginary part, separated afterwards by conjugate
//!   symmetry), so the 98 frames cost 49 complex FFTs, and only the 201 non-negative bins are
//!   ever formed.
//! - The mel filterbank is walked once per pair of frames, by segments between mel edges (each
//!   bin feeds exactly two neighbouring triangles), with both frames in the two lanes of one
//!   SIMD register; the power spectrum is never stored.
//! - `10·log10` uses a branch-free, vectorisable logarithm (fdlibm's, ≤ 1 ulp here) instead of a
//!   libm call per band; the DCT uses the even/odd symmetry of its matrix (half the work).
//!
//! Accuracy against librosa on the 13 reference cases (`tests/mfcc_reference.rs`): every value
//! within 1e-4, i.e. the `f32` rounding of the reference itself.
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
use serde::{Deserialize, Serialize};

/// How a clip is cut into frames: part of a sound model's identity, since the frame count is
/// the height of the map its convolutions and pools see (the FC head's width follows from it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Framing {
    /// No padding: frame f covers samples `[160 f, 160 f + 400)`, 98 frames. Reproduces the
    /// paper's published parameter counts.
    #[default]
    Valid,
    /// librosa's default `center=True`: the clip reflect-padded by `N_FFT / 2` on each side,
    /// so frame f is centred on sample `160 f`; 101 frames, as the reference code hard-codes.
    Centred,
}

impl Framing {
    pub const ALL: [Framing; 2] = [Framing::Valid, Framing::Centred];

    /// Frames per one-second clip.
    pub fn frames(self) -> usize {
        match self {
            Framing::Valid => FRAMES,
            Framing::Centred => CENTRED_FRAMES,
        }
    }

    /// The lowercase name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            Framing::Valid => "valid",
            Framing::Centred => "centred",
        }
    }

    /// Parses the name (`centered` is accepted too).
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "valid" => Ok(Framing::Valid),
            "centred" | "centered" => Ok(Framing::Centred),
            other => Err(GapError::Invalid(format!("unknown framing '{other}' (expected valid or centred)"))),
        }
    }

    /// A small index (0, 1), e.g. for one cache slot per framing.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Framing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// numpy's `np.pad(x, pad, mode="reflect")`: mirrored about the end samples, which are not
/// repeated (`[1, 2, 3]` padded by 2 → `[3, 2, 1, 2, 3, 2, 1]`). Needs `pad < x.len()`.
pub fn reflect_pad(x: &[f32], pad: usize) -> Vec<f32> {
    let n = x.len();
    debug_assert!(pad < n);
    let mut out = Vec::with_capacity(n + 2 * pad);
    out.extend((1..=pad).rev().map(|i| x[i]));
    out.extend_from_slice(x);
    out.extend((1..=pad).map(|i| x[n - 1 - i]));
    out
}

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
/// Frames per clip without centre padding: 1 + (16000 − 400) / 160 (the default framing).
pub const FRAMES: usize = 1 + (CLIP_LEN - N_FFT) / HOP;
/// Frames per clip with librosa's centre padding: 1 + 16000 / 160.
pub const CENTRED_FRAMES: usize = 1 + CLIP_LEN / HOP;
/// MFCC coefficients kept per frame.
pub const COEFFS: usize = 40;
/// Mel bands.
pub const N_MELS: usize = 40;
/// Floor applied to power before the log (librosa's `amin`), so silence gives −100 dB, not −∞.
pub const AMIN: f64 = 1e-10;
/// Dynamic range kept below the loudest band of the clip (librosa's `top_db`).
pub const TOP_DB: f64 = 80.0;

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
    mel_bank: MelBank,
    /// DCT-II ortho, split by symmetry (see [`DctHalves`]).
    dct: DctHalves,
    framing: Framing,
}

impl fmt::Debug for MfccPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MfccPlan")
            .field("n_fft", &N_FFT)
            .field("hop", &HOP)
            .field("framing", &self.framing)
            .field("frames", &self.frames())
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
    /// Plans the FFT and tabulates the window, the filterbank and the DCT matrix, for the
    /// default (valid, 98-frame) framing.
    pub fn new() -> Self {
        Self::with_framing(Framing::Valid)
    }

    /// A plan for `framing`.
    pub fn with_framing(framing: Framing) -> Self {
        let fft = FftPlanner::<f64>::new().plan_fft_forward(N_FFT);
        Self { fft, window: hann_periodic(N_FFT), mel_bank: MelBank::new(), dct: DctHalves::new(), framing }
    }

    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// Frames per clip under this plan's framing.
    pub fn frames(&self) -> usize {
        self.framing.frames()
    }

    /// MFCCs of one clip.
    ///
    /// `samples`: exactly 16000 finite values on the int16/32768 scale (not clipped; triggers
    /// may push beyond ±1). Anything else is [`GapError::Invalid`]: a wrong length would change
    /// the frame count the models are built for, and one NaN would poison the whole clip
    /// through the clip-wide 80 dB floor.
    ///
    /// Returns frames×40 (98×40 by default) row-major, frame-major: `out[f * COEFFS + c]`.
    pub fn mfcc(&self, samples: &[f32]) -> Result<Vec<f32>> {
        let log_mel = self.log_mel_f64(samples)?;
        Ok(self.dct(&log_mel))
    }

    /// The frames×40 log-mel matrix (dB, 80 dB floor applied) that the DCT turns into MFCCs,
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
        let padded;
        let signal = match self.framing {
            Framing::Valid => samples,
            Framing::Centred => {
                padded = reflect_pad(samples, N_FFT / 2);
                &padded[..]
            }
        };
        let frames = self.frames();
        let mut mel = Vec::with_capacity(frames * N_MELS);
        // One extra slot repeats bin 0 after the FFT, so bin k's mirror is always buf[N_FFT − k].
        let mut buf = vec![Complex::new(0.0f64, 0.0); N_FFT + 1];
        let mut scratch = vec![Complex::new(0.0f64, 0.0); self.fft.get_inplace_scratch_len()];
        let mut max_db = f64::NEG_INFINITY;
        let silence = [0.0f32; N_FFT];

        // Frames in pairs; an odd last frame (101 centred frames) is paired with silence, whose
        // lane is dropped.
        for pair in 0..frames.div_ceil(2) {
            let (fa, fb) = (2 * pair, 2 * pair + 1);
            let xa = &signal[fa * HOP..fa * HOP + N_FFT];
            let xb = if fb < frames { &signal[fb * HOP..fb * HOP + N_FFT] } else { &silence[..] };
            for (((z, &a), &b), &w) in buf.iter_mut().zip(xa).zip(xb).zip(&self.window) {
                *z = Complex::new(f64::from(a) * w, f64::from(b) * w);
            }
            self.fft.process_with_scratch(&mut buf[..N_FFT], &mut scratch);
            buf[N_FFT] = buf[0];
            let mut bands = self.mel_bank.apply(|k| pair_power(buf[k], buf[N_FFT - k]));
            let lanes = if fb < frames { 2 } else { 1 };
            // power_to_db(ref=1.0, amin=1e-10): 10·log10(max(S, amin)).
            for band in &mut bands {
                for v in band[..lanes].iter_mut() {
                    *v = DB_PER_NEPER * ln_positive(v.max(AMIN));
                    max_db = max_db.max(*v);
                }
            }
            mel.extend(bands.iter().map(|b| b[0]));
            if lanes == 2 {
                mel.extend(bands.iter().map(|b| b[1]));
            }
        }

        // top_db=80: the floor is relative to the loudest band of the whole clip.
        let floor = max_db - TOP_DB;
        for v in &mut mel {
            *v = v.max(floor);
        }
        Ok(mel)
    }

    /// DCT-II (ortho) of every frame's log-mel, keeping `COEFFS` coefficients.
    fn dct(&self, log_mel: &[f64]) -> Vec<f32> {
        let mut out = Vec::with_capacity(log_mel.len() / N_MELS * COEFFS);
        let mut coeffs = [0.0f32; COEFFS];
        for frame in log_mel.as_chunks::<N_MELS>().0 {
            self.dct.apply(frame, &mut coeffs);
            out.extend_from_slice(&coeffs);
        }
        out
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

/// Separates the spectra of two real frames packed as `a + i·b` and returns their power
/// `[|A[k]|², |B[k]|²]` at bin k from `p = Z[k]` and `q = Z[N−k]`:
/// `A[k] = (Z[k] + conj Z[N−k]) / 2`, `B[k] = (Z[k] − conj Z[N−k]) / 2i`.
/// Component-wise sums and differences, so a quiet frame paired with a loud one loses nothing
/// to cancellation beyond the FFT's own rounding.
#[inline]
fn pair_power(p: Complex<f64>, q: Complex<f64>) -> [f64; 2] {
    let (sum_re, diff_im) = (p.re + q.re, p.im - q.im);
    let (sum_im, diff_re) = (p.im + q.im, p.re - q.re);
    [0.25 * (sum_re * sum_re + diff_im * diff_im), 0.25 * (sum_im * sum_im + diff_re * diff_re)]
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

/// The `N_MELS + 2` band edges in Hz, equally spaced on the Slaney mel scale from 0 to 8 kHz
/// (`librosa.mel_frequencies(42, fmin=0, fmax=8000, htk=False)`, `np.linspace` semantics).
fn mel_edges() -> [f64; N_MELS + 2] {
    let (mel_lo, mel_hi) = (hz_to_mel(0.0), hz_to_mel(SAMPLE_RATE as f64 / 2.0));
    let last = (N_MELS + 1) as f64;
    std::array::from_fn(|i| mel_to_hz(mel_lo + (mel_hi - mel_lo) * i as f64 / last))
}

/// Centre frequency of FFT bin `k` (`np.fft.rfftfreq(400, 1/16000)`).
fn bin_hz(k: usize) -> f64 {
    k as f64 * SAMPLE_RATE as f64 / N_FFT as f64
}

/// The Slaney filterbank, stored by *segment* rather than by triangle.
///
/// The 42 mel edge frequencies cut the bins into 41 segments; a bin in segment `i`
/// (`edge[i] ≤ f < edge[i+1]`) lies on the rising slope of band `i` and the falling slope of
/// band `i − 1` and nowhere else. So one pass over the 201 bins, two multiply-adds per bin,
/// gives every band (instead of a separate short loop per triangle). The slopes are exactly
/// librosa's `lower` and `upper` ramps; the Slaney normalisation `2 / (edge[m+2] − edge[m])`
/// is applied per band after summing.
#[derive(Clone, Debug)]
struct MelBank {
    /// First bin of each segment, then the end of the last one (`segment i = start[i]..start[i+1]`).
    start: [usize; N_MELS + 2],
    /// Rising-slope weight of each bin towards the band its segment opens, duplicated for the
    /// two frames of a pair (`[w, w]`, one SIMD operand).
    rise: [[f64; 2]; N_BINS],
    /// Falling-slope weight of each bin towards the band its segment closes, duplicated.
    fall: [[f64; 2]; N_BINS],
    /// Slaney area normalisation of each band.
    enorm: [f64; N_MELS],
}

impl MelBank {
    /// `librosa.filters.mel(sr=16000, n_fft=400, n_mels=40, fmin=0, fmax=8000, htk=False,
    /// norm="slaney")` in segment form.
    fn new() -> Self {
        let edges = mel_edges();
        let start = std::array::from_fn(|i| (0..N_BINS).find(|&k| bin_hz(k) >= edges[i]).unwrap_or(N_BINS));
        let mut rise = [[0.0; 2]; N_BINS];
        let mut fall = [[0.0; 2]; N_BINS];
        for i in 0..=N_MELS {
            let (lo, hi) = (edges[i], edges[i + 1]);
            for k in start[i]..start[i + 1] {
                let f = bin_hz(k);
                // librosa: lower = (f − lo) / (hi − lo) for band i, upper = (hi − f) / (hi − lo)
                // for band i − 1; the other ramp of each triangle is ≥ 1 here, so min() picks these.
                let (r, d) = ((f - lo) / (hi - lo), (hi - f) / (hi - lo));
                (rise[k], fall[k]) = ([r, r], [d, d]);
            }
        }
        let enorm = std::array::from_fn(|m| 2.0 / (edges[m + 2] - edges[m]));
        Self { start, rise, fall, enorm }
    }

    /// Mel band energies `[frame a, frame b]` of a pair of frames, `power_at(k)` giving both
    /// frames' power at bin k (computed on the fly from the FFT, so the power spectrum is never
    /// stored). Both frames go through the bank together, two lanes of one SIMD register.
    fn apply(&self, power_at: impl Fn(usize) -> [f64; 2]) -> [[f64; 2]; N_MELS] {
        let mut bands = [[0.0f64; 2]; N_MELS];
        for seg in 0..=N_MELS {
            let bins = self.start[seg]..self.start[seg + 1];
            let (mut up, mut down) = ([0.0f64; 2], [0.0f64; 2]);
            for ((k, r), d) in bins.clone().zip(&self.rise[bins.clone()]).zip(&self.fall[bins]) {
                let p = power_at(k);
                up[0] += r[0] * p[0];
                up[1] += r[1] * p[1];
                down[0] += d[0] * p[0];
                down[1] += d[1] * p[1];
            }
            if seg < N_MELS {
                let e = self.enorm[seg];
                bands[seg] = [up[0] * e, up[1] * e];
            }
            if seg > 0 {
                let e = self.enorm[seg - 1];
                bands[seg - 1][0] += down[0] * e;
                bands[seg - 1][1] += down[1] * e;
            }
        }
        bands
    }
}

/// dB per neper: `10·log10(x) = ln(x) · 10 / ln 10`.
const DB_PER_NEPER: f64 = 10.0 / std::f64::consts::LN_10;

/// Natural logarithm of a positive, normal, finite `x` (here: a band energy ≥ `AMIN`),
/// accurate to about one ulp, written branch-free so the compiler vectorises the loop that
/// calls it (a libm call per band was a quarter of the MFCC's time).
///
/// The classic fdlibm/Sun `__ieee754_log` reduction and polynomial: `x = 2^k · m` with
/// `m ∈ [√½, √2)`, `f = m − 1`, `s = f / (2 + f)`, and `ln m = f − f²/2 + s·(f²/2 + R(s²))`
/// where `R` is fdlibm's degree-14 minimax polynomial; `k·ln 2` is added in two parts.
/// Outside its domain (zero, negative, subnormal, non-finite) the result is meaningless but
/// never a panic; the caller clamps to `AMIN` first.
fn ln_positive(x: f64) -> f64 {
    // fdlibm's constants, by bit pattern so they are exact.
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000); // ln 2, top 32 bits
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76); // ln 2 − LN2_HI
    const LG1: f64 = f64::from_bits(0x3fe5_5555_5555_5593); // ≈ 0.6666666666666735
    const LG2: f64 = f64::from_bits(0x3fd9_9999_9997_fa04); // ≈ 0.3999999999940942
    const LG3: f64 = f64::from_bits(0x3fd2_4924_9422_9359); // ≈ 0.2857142874366239
    const LG4: f64 = f64::from_bits(0x3fcc_71c5_1d8e_78af); // ≈ 0.22222198432149784
    const LG5: f64 = f64::from_bits(0x3fc7_4664_96cb_03de); // ≈ 0.1818357216161805
    const LG6: f64 = f64::from_bits(0x3fc3_9a09_d078_c69f); // ≈ 0.15313837699209373
    const LG7: f64 = f64::from_bits(0x3fc2_f112_df3e_5244); // ≈ 0.14798198605116586
    const ONE_BITS: u64 = 0x3ff0_0000_0000_0000;
    const SQRT_HALF_BITS: u64 = 0x3fe6_a09e_667f_3bcd;

    // Shift the bit pattern so the exponent field flips at √½ instead of at 1: the biased
    // exponent of `shifted` is then k + 1023 with x / 2^k in [√½, √2).
    let bits = x.to_bits();
    let shifted = bits.wrapping_add(ONE_BITS - SQRT_HALF_BITS);
    let biased_k = shifted >> 52;
    let m = f64::from_bits(bits.wrapping_sub(biased_k << 52).wrapping_add(ONE_BITS));
    // Through i32 so that the conversion has a packed SSE2 form (cvtdq2pd).
    let k = f64::from(biased_k as i32 - 1023);

    let f = m - 1.0;
    let hfsq = 0.5 * f * f;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let t1 = w * (LG2 + w * (LG4 + w * LG6));
    let t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
    let r = t2 + t1;
    s * (hfsq + r) + k * LN2_LO - hfsq + f + k * LN2_HI
}

/// Half the length of the DCT input: the symmetric split pairs band `n` with band `N − 1 − n`.
const HALF: usize = N_MELS / 2;
// The split keeps all N coefficients of an even-length input.
const _: () = assert!(COEFFS == N_MELS && N_MELS.is_multiple_of(2));

/// Output coefficients per register-resident block of accumulators (10 pairs = 10 SSE
/// registers, so nothing spills on the x86-64 baseline).
const DCT_BLOCK: usize = 10;
const _: () = assert!(HALF.is_multiple_of(DCT_BLOCK));

/// DCT-II ortho (`scipy.fft.dct(type=2, norm="ortho")`) as two half-size products.
///
/// `cos(πk(2(N−1−n)+1)/2N) = (−1)^k cos(πk(2n+1)/2N)`, so even coefficients need only the
/// sums `x[n] + x[N−1−n]` and odd ones only the differences: 2 × 20×20 multiply-adds per frame
/// instead of 40×40. The two halves are interleaved, `pairs[n][j] = [even weight, odd weight]`
/// of coefficients `2j` and `2j+1`, so `[sum, diff] × pairs[n][j]` is one two-lane SIMD
/// multiply-add whose result lands directly in output order.
#[derive(Clone, Debug)]
struct DctHalves {
    pairs: Vec<[[f64; 2]; HALF]>,
}

impl DctHalves {
    fn new() -> Self {
        let full = dct2_ortho(); // [k][n]
        let pairs = (0..HALF).map(|n| std::array::from_fn(|j| [full[2 * j][n], full[2 * j + 1][n]])).collect();
        Self { pairs }
    }

    /// The `COEFFS` coefficients of one frame of `N_MELS` log-mel values.
    fn apply(&self, x: &[f64; N_MELS], out: &mut [f32; COEFFS]) {
        let folded: [[f64; 2]; HALF] = std::array::from_fn(|n| {
            let (lo, hi) = (x[n], x[N_MELS - 1 - n]);
            [lo + hi, lo - hi]
        });
        for (block, out_block) in out.chunks_exact_mut(2 * DCT_BLOCK).enumerate() {
            let mut acc = [[0.0f64; 2]; DCT_BLOCK];
            for (v, row) in folded.iter().zip(&self.pairs) {
                for (a, m) in acc.iter_mut().zip(&row[block * DCT_BLOCK..(block + 1) * DCT_BLOCK]) {
                    a[0] += v[0] * m[0];
                    a[1] += v[1] * m[1];
                }
            }
            for (o, &v) in out_block.iter_mut().zip(acc.as_flattened()) {
                *o = v as f32;
            }
        }
    }
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
        assert_eq!((Framing::Valid.frames(), Framing::Centred.frames()), (98, 101));
        for f in Framing::ALL {
            assert_eq!(Framing::parse(f.name()).unwrap(), f);
        }
        assert!(Framing::parse("same").is_err());
    }

    /// White noise (a fixed LCG) with a louder burst in the middle, so the clip's loudest band
    /// is away from the edges and no band reaches the 80 dB floor.
    fn burst_noise() -> Vec<f32> {
        let mut state = 12345u32;
        (0..CLIP_LEN)
            .map(|i| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let v = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                if (7000..9000).contains(&i) { 4.0 * v } else { v }
            })
            .collect()
    }

    #[test]
    fn centred_frames_2_to_99_are_the_valid_frames_of_the_padded_clip_shifted_by_two_hops() {
        let x = burst_noise();
        let centred = MfccPlan::with_framing(Framing::Centred);
        let (mfcc, log_mel) = centred.compute(&x).unwrap();
        assert_eq!((mfcc.len(), log_mel.len()), (101 * COEFFS, 101 * N_MELS));
        // Centred frame f covers padded[160 f, 160 f + 400): the valid frames of padded[320..]
        // are frames 2..=99, computed in the same pairs, so equal to the bit.
        let padded = reflect_pad(&x, N_FFT / 2);
        let (shifted, shifted_mel) = MfccPlan::new().compute(&padded[2 * HOP..2 * HOP + CLIP_LEN]).unwrap();
        assert_eq!(&mfcc[2 * COEFFS..100 * COEFFS], &shifted[..]);
        assert_eq!(&log_mel[2 * N_MELS..100 * N_MELS], &shifted_mel[..]);
    }

    #[test]
    fn the_odd_last_centred_frame_matches_a_direct_dft() {
        let x = burst_noise();
        let log_mel = MfccPlan::with_framing(Framing::Centred).log_mel(&x).unwrap();
        let padded = reflect_pad(&x, N_FFT / 2);
        let window = hann_periodic(N_FFT);
        let frame: Vec<f64> = (0..N_FFT).map(|i| f64::from(padded[100 * HOP + i]) * window[i]).collect();
        let power: Vec<f64> = (0..N_BINS)
            .map(|k| {
                let (mut re, mut im) = (0.0f64, 0.0f64);
                for (n, &v) in frame.iter().enumerate() {
                    let a = -2.0 * PI * (k * n) as f64 / N_FFT as f64;
                    re += v * a.cos();
                    im += v * a.sin();
                }
                re * re + im * im
            })
            .collect();
        let bands = MelBank::new().apply(|k| [power[k], power[k]]);
        for (m, band) in bands.iter().enumerate() {
            let want = 10.0 * band[0].max(AMIN).log10();
            let got = f64::from(log_mel[100 * N_MELS + m]);
            assert!((got - want).abs() < 1e-4, "band {m}: {got} vs {want}");
        }
    }

    #[test]
    fn reflect_pad_is_numpys() {
        assert_eq!(reflect_pad(&[1.0, 2.0, 3.0, 4.0], 2), [3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 2.0]);
        assert_eq!(reflect_pad(&[1.0, 2.0], 0), [1.0, 2.0]);
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

    /// librosa's dense `[band][bin]` weights, straight from its formula.
    fn librosa_mel_weights() -> Vec<[f64; N_BINS]> {
        let e = mel_edges();
        (0..N_MELS)
            .map(|m| {
                let enorm = 2.0 / (e[m + 2] - e[m]);
                std::array::from_fn(|k| {
                    let lower = (bin_hz(k) - e[m]) / (e[m + 1] - e[m]);
                    let upper = (e[m + 2] - bin_hz(k)) / (e[m + 2] - e[m + 1]);
                    lower.min(upper).max(0.0) * enorm
                })
            })
            .collect()
    }

    #[test]
    fn segment_bank_equals_librosa_triangles() {
        let dense = librosa_mel_weights();
        let bank = MelBank::new();
        assert_eq!(bank.start[0], 0);
        assert!(bank.start.windows(2).all(|w| w[0] <= w[1]));
        // Push a unit impulse through each bin: the bank must return column k of the matrix.
        for k in 0..N_BINS {
            let bands = bank.apply(|j| if j == k { [1.0, 2.0] } else { [0.0; 2] });
            for (m, row) in dense.iter().enumerate() {
                let want = row[k];
                assert!((bands[m][0] - want).abs() <= 1e-15 * want.max(1e-300), "band {m} bin {k}");
                assert!((bands[m][1] - 2.0 * want).abs() <= 2e-15 * want.max(1e-300), "band {m} bin {k}");
            }
        }
        // Slaney normalisation: each triangle has unit area in Hz (sampled, so approximately).
        for (m, row) in dense.iter().enumerate().skip(8) {
            let area = row.iter().sum::<f64>() * bin_hz(1);
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
        for (lane, x) in [&a, &b].into_iter().enumerate() {
            for k in 0..N_BINS {
                let got = pair_power(z[k], z[(N_FFT - k) % N_FFT])[lane];
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
    fn ln_positive_matches_std_to_an_ulp_or_two() {
        // Every binade from 1e-10 (AMIN) to 1e300, with many mantissas, plus the reduction's
        // edges around √½, 1, √2 and 2.
        let mut worst = 0.0f64;
        let mut check = |x: f64| {
            let (got, want) = (ln_positive(x), x.ln());
            let err = (got - want).abs() / want.abs().max(f64::MIN_POSITIVE);
            let ulps = if want == 0.0 { (got - want).abs() / f64::EPSILON } else { err / f64::EPSILON };
            worst = worst.max(ulps);
            assert!(ulps <= 2.0, "ln({x:e}) = {got:e}, std {want:e} ({ulps} ulp)");
        };
        let mut x = AMIN;
        while x < 1e300 {
            for j in 0..64 {
                check(x * (1.0 + j as f64 / 64.0 + 1e-7));
            }
            x *= 2.0;
        }
        let half = std::f64::consts::FRAC_1_SQRT_2;
        for edge in [half, 1.0, std::f64::consts::SQRT_2, 2.0, 4.0 * half, 0.5] {
            for d in [-3i64, -2, -1, 0, 1, 2, 3] {
                check(f64::from_bits(edge.to_bits().wrapping_add_signed(d)));
            }
        }
        assert_eq!(ln_positive(1.0), 0.0);
        assert!(worst < 2.0, "worst {worst} ulp");
    }

    #[test]
    fn symmetric_dct_equals_the_full_matrix_product() {
        let full = dct2_ortho();
        let halves = DctHalves::new();
        let x: [f64; N_MELS] = std::array::from_fn(|n| ((n * 37) % 11) as f64 * 7.5 - 40.0);
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
