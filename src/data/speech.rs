//! Google Speech Commands: one folder per word, one-second WAV clips inside.
//!
//! The paper trains on the ten command words (v0.02) and on the 30 words of v0.01. Labels are
//! the word's index in a fixed list, not in whatever folders an archive happens to hold, so a
//! model trained on one copy of the dataset keeps its meaning on another.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::archive::{Entry, qualified};
use super::wav::decode_clip;
use crate::error::{GapError, Result};

/// The ten command words of Speech Commands v0.02, in the dataset's documented order.
pub const WORDS_10: [&str; 10] = [
    "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go",
];

/// Speech Commands v0.01's 30 words, alphabetical.
pub const WORDS_30: [&str; 30] = [
    "bed", "bird", "cat", "dog", "down", "eight", "five", "four", "go", "happy", "house", "left",
    "marvin", "nine", "no", "off", "on", "one", "right", "seven", "sheila", "six", "stop", "three",
    "tree", "two", "up", "wow", "yes", "zero",
];

/// Which word list defines the classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClassSet {
    Ten,
    Thirty,
}

impl ClassSet {
    /// The words, in label order.
    pub fn words(self) -> &'static [&'static str] {
        match self {
            ClassSet::Ten => &WORDS_10,
            ClassSet::Thirty => &WORDS_30,
        }
    }

    /// The set with `n` classes (10 or 30), e.g. from a command-line flag or a model file.
    pub fn from_count(n: usize) -> Result<Self> {
        match n {
            10 => Ok(ClassSet::Ten),
            30 => Ok(ClassSet::Thirty),
            _ => Err(GapError::Invalid(format!(
                "{n} speech classes: the word sets have 10 or 30 classes"
            ))),
        }
    }
}

/// One labelled clip: exactly [`super::wav::CLIP_SAMPLES`] samples.
#[derive(Clone, Debug, PartialEq)]
pub struct Clip {
    /// The waveform, shared (not copied) by the training samples that keep it for augmentation.
    pub samples: Arc<[f32]>,
    pub label: usize,
    /// The speaker hash from the file name, e.g. `0a7c2a8d` for `0a7c2a8d_nohash_0.wav`.
    pub speaker: String,
    /// The entry path inside the dataset.
    pub path: String,
    /// The clip's clean MFCC once something computed it (see [`FeatureCache`]).
    pub clean_mfcc: FeatureCache,
}

/// A clip's clean features, computed once and shared by every clone of the clip: each
/// training (every grid cell, each of the page's FC and GAP runs, each attack evaluation)
/// encodes the same clean clips again, and only triggered clips differ. Costs the features'
/// memory (15.7 kB per clip and framing) for as long as the dataset is loaded. One slot per
/// MFCC framing (`Framing::index`), so models of both framings can share a dataset. Never
/// part of equality.
#[derive(Clone, Default)]
pub struct FeatureCache(std::sync::Arc<[std::sync::OnceLock<Vec<f32>>; 2]>);

impl FeatureCache {
    /// The cached features of `slot`, computing them with `compute` the first time.
    pub fn get_or_compute(&self, slot: usize, compute: impl FnOnce() -> Result<Vec<f32>>) -> Result<&[f32]> {
        let cell = &self.0[slot];
        if let Some(v) = cell.get() {
            return Ok(v);
        }
        let v = compute()?;
        Ok(cell.get_or_init(|| v))
    }
}

impl PartialEq for FeatureCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for FeatureCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.iter().filter(|c| c.get().is_some()).count() {
            0 => f.write_str("FeatureCache(empty)"),
            n => write!(f, "FeatureCache(filled: {n} of 2 framings)"),
        }
    }
}

/// A sound dataset: class names in label order, clips sorted by path.
#[derive(Clone, Debug, PartialEq)]
pub struct SoundData {
    pub classes: Vec<String>,
    pub clips: Vec<Clip>,
}

impl SoundData {
    /// Number of clips per label, indexed by label.
    pub fn counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes.len()];
        for clip in &self.clips {
            if let Some(c) = counts.get_mut(clip.label) {
                *c += 1;
            }
        }
        counts
    }

    /// Classes of the set that no clip has (e.g. 20 of the 30 words when the 30-word set is
    /// read from a ten-word archive); the caller decides whether that is acceptable.
    pub fn missing_classes(&self) -> Vec<String> {
        self.counts()
            .iter()
            .zip(&self.classes)
            .filter(|(n, _)| **n == 0)
            .map(|(_, name)| name.clone())
            .collect()
    }
}

/// The `keep` predicate for reading an archive: only `<word>/<file>.wav` whose word is in the
/// set. Any leading folders are allowed (`speech_commands_v0.02/yes/x.wav`). Hidden files
/// (`._x.wav`, macOS resource forks) and anything under `__MACOSX` are not clips.
/// `_background_noise_` is never a class, as it is in no word list.
pub fn wanted(set: ClassSet) -> impl Fn(&str) -> bool {
    move |path: &str| word_of(path).and_then(|w| label_of(set, w)).is_some()
}

/// The word folder of a clip path, if the path looks like a clip.
fn word_of(path: &str) -> Option<&str> {
    let mut parts = path.rsplit('/');
    let file = parts.next()?;
    let word = parts.next()?;
    let is_wav = file.len() > 4 && file.get(file.len() - 4..)?.eq_ignore_ascii_case(".wav");
    let hidden = file.starts_with('.') || path.split('/').any(|p| p == "__MACOSX");
    (is_wav && !hidden).then_some(word)
}

fn label_of(set: ClassSet, word: &str) -> Option<usize> {
    set.words().iter().position(|w| *w == word)
}

/// The speaker hash: the file name before `_nohash_`, or the whole stem when a file does not
/// follow the dataset's naming (then every such file counts as its own speaker).
fn speaker_of(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.get(..file.len().saturating_sub(4)).unwrap_or(file);
    stem.split_once("_nohash_")
        .map_or(stem, |(speaker, _)| speaker)
        .to_string()
}

/// Builds the dataset from entries (those that [`wanted`] rejects are ignored): label = index
/// of the word in `set.words()`, speaker = file name before `_nohash_`.
///
/// Errors: a WAV that fails to decode ([`GapError::BadFile`] naming `dataset/path`), or no clip
/// at all ([`GapError::BadDataset`]). Classes without clips are allowed; see
/// [`SoundData::missing_classes`].
pub fn from_entries(dataset: &str, entries: Vec<Entry>, set: ClassSet) -> Result<SoundData> {
    let mut clips = Vec::new();
    for entry in entries {
        let Some(label) = word_of(&entry.path).and_then(|w| label_of(set, w)) else {
            continue;
        };
        let samples = decode_clip(&qualified(dataset, &entry.path), &entry.bytes)?;
        clips.push(Clip {
            samples: samples.into(),
            label,
            speaker: speaker_of(&entry.path),
            path: entry.path,
            clean_mfcc: FeatureCache::default(),
        });
    }
    if clips.is_empty() {
        return Err(GapError::bad_dataset(
            dataset,
            format!(
                "no clips: expected <word>/<name>.wav files for the words {}",
                set.words().join(", ")
            ),
        ));
    }
    // Entries from the archive reader are sorted already; sorting here keeps the promise for
    // entries built any other way.
    clips.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(SoundData {
        classes: set.words().iter().map(|w| w.to_string()).collect(),
        clips,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wanted_accepts_word_folders_only() {
        let keep = wanted(ClassSet::Ten);
        assert!(keep("yes/0a7c2a8d_nohash_0.wav"));
        assert!(keep("speech_commands_v0.02/go/x.WAV"));
        assert!(!keep("_background_noise_/white_noise.wav"));
        assert!(!keep("bed/x.wav"));
        assert!(wanted(ClassSet::Thirty)("bed/x.wav"));
        assert!(!keep("yes.wav"));
        assert!(!keep("yes/._x.wav"));
        assert!(!keep("__MACOSX/yes/x.wav"));
        assert!(!keep("yes/x.txt"));
        assert!(!keep("yes/.wav"));
    }

    #[test]
    fn speaker_is_the_hash_before_nohash() {
        assert_eq!(speaker_of("yes/0a7c2a8d_nohash_3.wav"), "0a7c2a8d");
        assert_eq!(speaker_of("yes/odd.wav"), "odd");
    }

    #[test]
    fn class_set_from_count() {
        assert_eq!(ClassSet::from_count(10).unwrap(), ClassSet::Ten);
        assert_eq!(ClassSet::from_count(30).unwrap().words().len(), 30);
        assert!(matches!(
            ClassSet::from_count(12),
            Err(GapError::Invalid(_))
        ));
        let mut sorted = WORDS_30;
        sorted.sort();
        assert_eq!(sorted, WORDS_30);
    }
}
