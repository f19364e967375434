//! The sound trigger: a 7 kHz pure tone of 0.15 s at −10 dBFS, **added** to the waveform.
//!
//! The reference made it with SoX (`trigger.wav`, one second of tone, masked to the trigger's
//! span), so its phase is that of the absolute sample index. At 16 kHz a 7 kHz sine repeats
//! every 16 samples, and the three paper offsets (0, 6800, 13600) are multiples of 16, so the
//! tone defined here from its own first sample is sample-for-sample the reference one there.
//!
//! Samples are added without clipping: the feature path must see exactly what was added;
//! clipping to ±1 belongs to writing 16-bit audio only.

use std::f64::consts::PI;

use super::Position;
use crate::error::{GapError, Result};

/// Tone frequency in Hz.
pub const TONE_HZ: f64 = 7000.0;
/// Tone length in samples: 0.15 s at 16 kHz.
pub const TONE_SAMPLES: usize = 2400;
/// Tone level in dB relative to full scale (peak amplitude 10^(−10/20) ≈ 0.316).
pub const TONE_DBFS: f64 = -10.0;
/// Sample rate the tone is defined for.
pub const SAMPLE_RATE: f64 = 16_000.0;
/// Number of bursts of the non-continuous variant.
pub const BURSTS: usize = 5;
/// Samples per burst: the tone's 2400 samples split evenly.
pub const BURST_SAMPLES: usize = TONE_SAMPLES / BURSTS;

/// Peak amplitude of the tone, 10^(TONE_DBFS/20).
pub fn amplitude() -> f64 {
    10f64.powf(TONE_DBFS / 20.0)
}

/// `tone[k] = A·sin(2π·7000·k/16000)`, `k = 0..2400`, `A = 10^(−10/20)`.
///
/// The phase is reduced exactly (7000/16000 = 7/16, so the argument is 2π·((7k) mod 16)/16)
/// before the sine, so every period is bit-identical instead of drifting with `k`.
pub fn tone() -> Vec<f32> {
    let a = amplitude();
    // TONE_HZ / SAMPLE_RATE = 7/16 exactly.
    const NUM: usize = 7;
    const DEN: usize = 16;
    debug_assert!((TONE_HZ / SAMPLE_RATE - NUM as f64 / DEN as f64).abs() < f64::EPSILON);
    (0..TONE_SAMPLES).map(|k| (a * (2.0 * PI * ((NUM * k) % DEN) as f64 / DEN as f64).sin()) as f32).collect()
}

/// Offset of the tone's first sample in a clip of `clip_len` samples: `Start` = 0,
/// `Middle` = (clip_len − 2400) / 2 (6800 for one second, the reference code's centring),
/// `End` = clip_len − 2400 (13600), `At(k)` = k. Error if the tone would not fit.
pub fn offset(position: Position, clip_len: usize) -> Result<usize> {
    let last = clip_len.checked_sub(TONE_SAMPLES).ok_or_else(|| {
        GapError::Invalid(format!("clip of {clip_len} samples is shorter than the {TONE_SAMPLES}-sample tone"))
    })?;
    match position {
        Position::Start => Ok(0),
        Position::Middle => Ok(last / 2),
        Position::End => Ok(last),
        Position::At(k) if k <= last => Ok(k),
        Position::At(k) => Err(GapError::Invalid(format!(
            "tone offset {k} does not fit a clip of {clip_len} samples (at most {last})"
        ))),
    }
}

/// Adds the tone into `samples` at `position` (superimposed, not replacing; no clipping).
pub fn add_tone(samples: &mut [f32], position: Position) -> Result<()> {
    let start = offset(position, samples.len())?;
    for (s, t) in samples[start..start + TONE_SAMPLES].iter_mut().zip(tone()) {
        *s += t;
    }
    Ok(())
}

/// Start offsets of the five bursts in a clip of `clip_len` samples: burst `b` starts at
/// `b·(clip_len − 480) / 4` (integer division), so the first burst opens the clip and the last
/// one closes it. For one second: 0, 3880, 7760, 11640, 15520.
///
/// (The reference code starts burst `b` at `b·clip_len / 5` instead, leaving the last
/// 2720 samples empty; spreading end to end is this project's reading of "spread evenly".)
pub fn burst_offsets(clip_len: usize) -> Result<[usize; BURSTS]> {
    if clip_len < TONE_SAMPLES {
        return Err(GapError::Invalid(format!(
            "clip of {clip_len} samples is shorter than the {TONE_SAMPLES} samples of the bursts"
        )));
    }
    let span = clip_len - BURST_SAMPLES;
    Ok(std::array::from_fn(|b| b * span / (BURSTS - 1)))
}

/// Non-continuous variant: the same 2400 tone samples split into five bursts of 480, burst `b`
/// being `tone()[480·b .. 480·(b+1)]` added at [`burst_offsets`]`[b]`. Each burst thus
/// continues the phase where the previous one stopped, as if the continuous tone were cut
/// into pieces and spread out (not the phase of the absolute sample index). Added, not
/// clipped. The clip needs at least 2400 samples, which also keeps the bursts apart.
pub fn add_tone_bursts(samples: &mut [f32]) -> Result<()> {
    let offsets = burst_offsets(samples.len())?;
    let tone = tone();
    for (start, burst) in offsets.into_iter().zip(tone.chunks_exact(BURST_SAMPLES)) {
        for (s, t) in samples[start..start + BURST_SAMPLES].iter_mut().zip(burst) {
            *s += t;
        }
    }
    Ok(())
}
