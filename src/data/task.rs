//! The paper's three tasks, and a loaded dataset of one of them with what every layer above
//! asks of it: its classes, its two sides, a sample's label, a seeded subset.

use super::cifar::ImageData;
use super::imdb::{self, TextData};
use super::speech::SoundData;
use super::split;
use crate::names::names;
use serde::{Deserialize, Serialize};

/// The paper's three domains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    Sound,
    Text,
    Image,
}

names!(Task { Sound => "sound", Text => "text", Image => "image" });

impl Task {
    pub const ALL: [Task; 3] = [Task::Sound, Task::Text, Task::Image];

    /// The class counts this task supports.
    pub fn class_counts(self) -> &'static [usize] {
        match self {
            Task::Sound => &[10, 30],
            Task::Text => &[2],
            Task::Image => &[10],
        }
    }
}

/// A loaded dataset of one task.
pub enum TaskData {
    Sound(SoundData),
    Text(TextData),
    Image(ImageData),
}

impl TaskData {
    pub fn task(&self) -> Task {
        match self {
            TaskData::Sound(_) => Task::Sound,
            TaskData::Text(_) => Task::Text,
            TaskData::Image(_) => Task::Image,
        }
    }

    /// Class names, index = label.
    pub fn classes(&self) -> Vec<String> {
        match self {
            TaskData::Sound(d) => d.classes.clone(),
            TaskData::Text(_) => imdb::CLASSES.iter().map(|s| s.to_string()).collect(),
            TaskData::Image(d) => d.classes.clone(),
        }
    }

    /// Sizes of the training pool and of the test side (sound: all clips, both times — its
    /// splits are drawn by speaker from one pool).
    pub fn sides(&self) -> (usize, usize) {
        match self {
            TaskData::Sound(d) => (d.clips.len(), d.clips.len()),
            TaskData::Text(d) => (d.train.len(), d.test.len()),
            TaskData::Image(d) => (d.train.len(), d.test.len()),
        }
    }

    /// Label of sample `i` of the training pool (sound: all clips; others: the official train set).
    pub fn pool_label(&self, i: usize) -> usize {
        match self {
            TaskData::Sound(d) => d.clips[i].label,
            TaskData::Text(d) => d.train[i].label,
            TaskData::Image(d) => d.train[i].label,
        }
    }

    /// Label of test-side sample `i` (sound: all clips; others: the official test set) — the
    /// samples the page's picker shows, by the same index.
    pub fn test_label(&self, i: usize) -> usize {
        match self {
            TaskData::Sound(d) => d.clips[i].label,
            TaskData::Text(d) => d.test[i].label,
            TaskData::Image(d) => d.test[i].label,
        }
    }

    /// At most `n` samples of each side (a seeded draw, original order kept).
    pub fn subset(&self, n: usize, seed: u64) -> TaskData {
        fn pick<T: Clone>(items: &[T], n: usize, seed: u64) -> Vec<T> {
            if items.len() <= n {
                return items.to_vec();
            }
            let mut keep: Vec<usize> = split::permutation(items.len(), seed)[..n].to_vec();
            keep.sort_unstable();
            keep.into_iter().map(|i| items[i].clone()).collect()
        }
        match self {
            TaskData::Sound(d) => TaskData::Sound(SoundData { classes: d.classes.clone(), clips: pick(&d.clips, n, seed) }),
            TaskData::Text(d) => TaskData::Text(TextData { train: pick(&d.train, n, seed), test: pick(&d.test, n, seed) }),
            TaskData::Image(d) => TaskData::Image(ImageData {
                classes: d.classes.clone(),
                train: pick(&d.train, n, seed),
                test: pick(&d.test, n, seed),
            }),
        }
    }
}
