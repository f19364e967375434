//! Where a trigger goes in a sample — one of the paper's positions, a fraction of the way
//! across (the page's sweeps) or spread — and each domain's sample with its trigger placed.

use super::{Position, patch, sentence, tone};
use crate::data::Task;
use crate::error::{GapError, Result};
use serde::{Deserialize, Serialize};

/// Where a trigger goes: one position, a fraction of the way across the input (for
/// continuous sweeps), or the paper's non-continuous variant spread over the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Placement {
    At(Position),
    /// `ppm / 1e6` of the way from the first to the last possible placement: sound, the tone's
    /// offset in 0..=13600; text, the word index in 0..=words; image, the patch corner along
    /// the diagonal from upper-left (0, 0) to lower-right (24, 24) — so 0, ½ and 1 are the
    /// paper's start, middle and end in every domain but text's middle.
    Along(u32),
    Spread,
}

/// Denominator of [`Placement::Along`].
pub const PPM: u32 = 1_000_000;

impl Placement {
    /// `start|middle|end|spread|<offset>|sweep:<fraction>`.
    pub fn parse(s: &str) -> Result<Placement> {
        let t = s.trim().to_ascii_lowercase();
        if t == "spread" {
            return Ok(Placement::Spread);
        }
        if let Some(f) = t.strip_prefix("sweep:") {
            return match f.parse::<f64>() {
                Ok(v) if (0.0..=1.0).contains(&v) => Ok(Placement::Along((v * PPM as f64).round() as u32)),
                _ => Err(GapError::Invalid(format!("'{s}': a sweep position is sweep:<fraction in 0..1>"))),
            };
        }
        Position::parse(&t).map(Placement::At)
    }

    pub fn label(&self) -> String {
        match self {
            Placement::At(p) => p.label(),
            Placement::Along(ppm) => format!("sweep:{:.4}", *ppm as f64 / PPM as f64),
            Placement::Spread => "spread".into(),
        }
    }

    /// The three paper positions.
    pub fn three() -> Vec<Placement> {
        Position::THREE.iter().map(|&p| Placement::At(p)).collect()
    }

    /// The named placements of `task`'s trigger: the three positions, and the spread variant
    /// for sound and text (the image patch has none).
    pub fn named(task: Task) -> Vec<Placement> {
        let mut p = Placement::three();
        if task != Task::Image {
            p.push(Placement::Spread);
        }
        p
    }

    /// `n` evenly spaced placements from the first to the last possible one (`n ≥ 2`).
    pub fn sweep(n: usize) -> Vec<Placement> {
        let n = n.max(2);
        (0..n).map(|i| Placement::Along(((i as u64 * PPM as u64) / (n as u64 - 1)) as u32)).collect()
    }

    /// The concrete position of a fractional placement, given the largest position `last`.
    fn along(ppm: u32, last: usize) -> usize {
        ((ppm.min(PPM) as u64 * last as u64 + PPM as u64 / 2) / PPM as u64) as usize
    }
}

/// The clip with the tone added at `trigger`, and the sample ranges `[start, end)` the tone
/// occupies (five bursts for `Spread`, none without a trigger).
pub fn triggered_clip(samples: &[f32], trigger: Option<Placement>) -> Result<(Vec<f32>, Vec<[usize; 2]>)> {
    let mut clip = samples.to_vec();
    let at = |start: usize| vec![[start, start + tone::TONE_SAMPLES]];
    let spans = match trigger {
        Some(Placement::At(p)) => {
            tone::add_tone(&mut clip, p)?;
            at(tone::offset(p, clip.len())?)
        }
        Some(Placement::Along(ppm)) => {
            let last = clip.len().saturating_sub(tone::TONE_SAMPLES);
            let p = Position::At(Placement::along(ppm, last));
            tone::add_tone(&mut clip, p)?;
            at(tone::offset(p, clip.len())?)
        }
        Some(Placement::Spread) => {
            tone::add_tone_bursts(&mut clip)?;
            tone::burst_offsets(clip.len())?.iter().map(|&b| [b, b + tone::BURST_SAMPLES]).collect()
        }
        None => Vec::new(),
    };
    Ok((clip, spans))
}

/// The image as CHW floats in [0, 1] with `pattern` added at `trigger` (combined as `blend`
/// says), and the patch's top-left corner `[x, y]` (none without a trigger).
pub fn triggered_image(
    pixels: &[u8],
    pattern: &[f32],
    blend: patch::Blend,
    trigger: Option<Placement>,
) -> Result<(Vec<f32>, Option<[usize; 2]>)> {
    let mut image: Vec<f32> = pixels.iter().map(|&p| p as f32 / 255.0).collect();
    let corner = patch_corner(trigger)?;
    if let Some([x, y]) = corner {
        patch::blend_at(&mut image, pattern, x, y, blend)?;
    }
    Ok((image, corner))
}

/// The image patch's top-left corner `[x, y]` for `trigger` (none without a trigger).
pub fn patch_corner(trigger: Option<Placement>) -> Result<Option<[usize; 2]>> {
    Ok(match trigger {
        Some(Placement::At(p)) => {
            let (x, y) = patch::corner(p)?;
            Some([x, y])
        }
        Some(Placement::Along(ppm)) => {
            let xy = Placement::along(ppm, patch::IMAGE - patch::PATCH);
            Some([xy, xy])
        }
        Some(Placement::Spread) => {
            return Err(GapError::Invalid("the image trigger has no spread variant".into()));
        }
        None => None,
    })
}

/// The review with the trigger sentence placed, and the indices (among the new review's
/// separator-split words) of the five trigger words.
pub fn triggered_text(review: &str, trigger: Option<Placement>) -> Result<(String, Vec<usize>)> {
    Ok(match trigger {
        Some(Placement::At(p)) => {
            let (text, range) = sentence::insert(review, p)?;
            (text, range.collect())
        }
        Some(Placement::Along(ppm)) => {
            let words = sentence::word_count(review);
            let (text, range) = sentence::insert(review, Position::At(Placement::along(ppm, words)))?;
            (text, range.collect())
        }
        Some(Placement::Spread) => {
            let (text, at) = sentence::insert_spread_indexed(review);
            (text, at.to_vec())
        }
        None => (review.to_string(), Vec::new()),
    })
}

