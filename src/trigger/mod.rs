//! The three backdoor triggers of the paper and where they go.
//!
//! The experiment crosses the trigger position used when poisoning the training set with the
//! position used at test time, so one [`Position`] type names a placement in every domain:
//! a sample offset for sound ([`tone`]), a word index for text ([`sentence`]), a patch corner
//! for images ([`patch`]).

pub mod patch;
mod placement;
mod poison;
pub mod sentence;
pub mod tone;

pub use placement::{PPM, Placement, patch_corner, triggered_clip, triggered_image, triggered_text};
pub use poison::PoisonConfig;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{GapError, Result};

/// Where a trigger is placed. `Start`, `Middle`, `End` are the paper's three positions;
/// `At(k)` is any other placement, its unit set by the domain (sample offset, word index,
/// patch placement index).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Position {
    Start,
    Middle,
    End,
    At(usize),
}

impl Position {
    /// The paper's positions, in the order its figures use.
    pub const THREE: [Position; 3] = [Position::Start, Position::Middle, Position::End];

    /// Parses `"start"`, `"middle"` (or the reference code's `"mid"`), `"end"`, or a
    /// non-negative integer for `At`. Case and surrounding whitespace are ignored, so what a
    /// user types on the command line or in the page is accepted as written.
    pub fn parse(s: &str) -> Result<Position> {
        let t = s.trim().to_ascii_lowercase();
        match t.as_str() {
            "start" => Ok(Position::Start),
            "middle" | "mid" => Ok(Position::Middle),
            "end" => Ok(Position::End),
            _ => t.parse::<usize>().map(Position::At).map_err(|_| {
                GapError::Invalid(format!(
                    "trigger position {s:?}: expected start, middle, end or a non-negative integer"
                ))
            }),
        }
    }

    /// The inverse of [`Position::parse`]: `"start"`, `"middle"`, `"end"` or the number.
    pub fn label(&self) -> String {
        match self {
            Position::Start => "start".to_owned(),
            Position::Middle => "middle".to_owned(),
            Position::End => "end".to_owned(),
            Position::At(k) => k.to_string(),
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

impl std::str::FromStr for Position {
    type Err = GapError;
    fn from_str(s: &str) -> Result<Self> {
        Position::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_label_round_trip() {
        for p in [Position::Start, Position::Middle, Position::End, Position::At(0), Position::At(13_600)] {
            assert_eq!(Position::parse(&p.label()).unwrap(), p);
            assert_eq!(p.to_string().parse::<Position>().unwrap(), p);
        }
        assert_eq!(Position::parse(" Mid ").unwrap(), Position::Middle);
        assert_eq!(Position::parse("END").unwrap(), Position::End);
        for bad in ["", "-1", "1.5", "left", "18446744073709551616"] {
            assert!(matches!(Position::parse(bad), Err(GapError::Invalid(_))), "{bad:?}");
        }
    }
}
