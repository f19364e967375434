//! The image trigger: an 8×8 patch of pseudo-random values, uniform in [0, 1) per pixel and
//! channel, added to a 32×32 RGB image and, by default, clamped to [0, 1].
//!
//! The reference adds the patch with `cv2.addWeighted(img, 1, patch, 1, 0)` on float images,
//! which does not clamp ([`Blend::Add`]). Clamping the sum to [0, 1] ([`Blend::Clamp`], this
//! project's documented default) keeps the poisoned image a valid image, but where the image
//! is bright (sky, snow, a white background) the patch all but vanishes, and those images
//! carry little of the trigger (`www/models/README.md` measures how much).
//! The pattern comes from a `u64` seed through `StdRng`, so it is the same on every platform
//! and run (it cannot equal the reference's NumPy pattern, whose generator differs).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::Position;
use crate::error::{GapError, Result};
use serde::{Deserialize, Serialize};

/// How the patch is combined with the image's pixels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Blend {
    /// `min(max(pixel + pattern, 0), 1)`: the poisoned image stays a valid image (default).
    #[default]
    Clamp,
    /// `pixel + pattern`, values up to 2: the reference code's `cv2.addWeighted` on floats.
    Add,
}

impl Blend {
    /// `clamp` or `add`.
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "clamp" => Ok(Blend::Clamp),
            "add" => Ok(Blend::Add),
            other => Err(GapError::Invalid(format!("unknown trigger blend '{other}' (expected clamp or add)"))),
        }
    }

    /// True for the default, which files and plans leave out (so that older ones read the same).
    pub fn is_default(&self) -> bool {
        *self == Blend::Clamp
    }
}

impl std::fmt::Display for Blend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Blend::Clamp => "clamp",
            Blend::Add => "add",
        })
    }
}

/// Side of the square patch in pixels.
pub const PATCH: usize = 8;
/// Seed of the pattern (the reference code seeds with 42).
pub const PATCH_SEED: u64 = 42;
/// Image side (CIFAR-10).
pub const IMAGE: usize = 32;
/// Colour channels.
pub const CHANNELS: usize = 3;
/// Values in a pattern: `CHANNELS × PATCH × PATCH`.
pub const PATTERN_LEN: usize = CHANNELS * PATCH * PATCH;
/// Values in an image: `CHANNELS × IMAGE × IMAGE`.
pub const IMAGE_LEN: usize = CHANNELS * IMAGE * IMAGE;
/// Number of distinct top-left corners per axis (0..=24).
pub const PLACES: usize = IMAGE - PATCH + 1;

/// The 8×8×3 pattern for `seed`, uniform [0, 1) per pixel and channel, layout `[c][y][x]`
/// (drawn in that order).
pub fn pattern(seed: u64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..PATTERN_LEN).map(|_| rng.random::<f32>()).collect()
}

/// Top-left corner `(x, y)` of the patch on a 32×32 image: `Start` = upper-left (0, 0),
/// `Middle` = centred (12, 12), `End` = lower-right (24, 24), `At(k)` = `(k % 25, k / 25)`,
/// which enumerates all 625 placements row by row; `k ≥ 625` is [`GapError::Invalid`].
pub fn corner(position: Position) -> Result<(usize, usize)> {
    let last = IMAGE - PATCH;
    match position {
        Position::Start => Ok((0, 0)),
        Position::Middle => Ok((last / 2, last / 2)),
        Position::End => Ok((last, last)),
        Position::At(k) if k < PLACES * PLACES => Ok((k % PLACES, k / PLACES)),
        Position::At(k) => Err(GapError::Invalid(format!("patch placement {k} out of range (0..{})", PLACES * PLACES))),
    }
}

/// Adds `pattern` (`[c][y][x]`, 3×8×8) to a CHW image (3×32×32, values in [0, 1]) with its
/// top-left corner at `(x, y)`, clamping each sum to [0, 1]. Pixels outside the patch are
/// untouched. A NaN pixel or pattern value stays NaN (clamping keeps NaN).
/// Errors: wrong image or pattern length, or a corner that lets the patch leave the image.
pub fn apply_at(image: &mut [f32], pattern: &[f32], x: usize, y: usize) -> Result<()> {
    blend_at(image, pattern, x, y, Blend::Clamp)
}

/// [`apply_at`] with the sum combined as `blend` says: clamped to [0, 1], or left as it is.
pub fn blend_at(image: &mut [f32], pattern: &[f32], x: usize, y: usize, blend: Blend) -> Result<()> {
    if image.len() != IMAGE_LEN {
        return Err(GapError::Invalid(format!(
            "image must be {CHANNELS}×{IMAGE}×{IMAGE} = {IMAGE_LEN} values, got {}",
            image.len()
        )));
    }
    if pattern.len() != PATTERN_LEN {
        return Err(GapError::Invalid(format!(
            "patch pattern must be {CHANNELS}×{PATCH}×{PATCH} = {PATTERN_LEN} values, got {}",
            pattern.len()
        )));
    }
    let last = IMAGE - PATCH;
    if x > last || y > last {
        return Err(GapError::Invalid(format!("patch corner ({x}, {y}) outside 0..={last}")));
    }
    for (channel, pat_channel) in image.chunks_exact_mut(IMAGE * IMAGE).zip(pattern.chunks_exact(PATCH * PATCH)) {
        for (dy, pat_row) in pat_channel.chunks_exact(PATCH).enumerate() {
            let row_start = (y + dy) * IMAGE + x;
            for (px, &p) in channel[row_start..row_start + PATCH].iter_mut().zip(pat_row) {
                *px = match blend {
                    Blend::Clamp => (*px + p).clamp(0.0, 1.0),
                    Blend::Add => *px + p,
                };
            }
        }
    }
    Ok(())
}

/// [`apply_at`] at the [`corner`] of `position`.
pub fn apply(image: &mut [f32], pattern: &[f32], position: Position) -> Result<()> {
    let (x, y) = corner(position)?;
    apply_at(image, pattern, x, y)
}
