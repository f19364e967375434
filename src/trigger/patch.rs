//! The image trigger: an 8×8 patch of pseudo-random values, uniform in [0, 1) per pixel and
//! channel, added to a 32×32 RGB image and clamped to [0, 1].
//!
//! The reference adds the patch with `cv2.addWeighted(img, 1, patch, 1, 0)`; clamping the sum
//! to [0, 1] keeps the poisoned image a valid image (this project's documented default).
//! The pattern comes from a `u64` seed through `StdRng`, so it is the same on every platform
//! and run (it cannot equal the reference's NumPy pattern, whose generator differs).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::Position;
use crate::error::{GapError, Result};

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
                *px = (*px + p).clamp(0.0, 1.0);
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
