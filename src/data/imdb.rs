//! The IMDB Large Movie Review Dataset (Maas et al., 2011): one review per `.txt` file under
//! `{train,test}/{pos,neg}/`.
//!
//! The official train/test division is kept as the dataset defines it; the text is returned
//! as written (HTML line breaks included), because cleaning it is the tokenizer's concern.

use super::archive::{Entry, qualified};
use crate::error::{GapError, Result};

/// Label names: 0 = negative, 1 = positive.
pub const CLASSES: [&str; 2] = ["negative", "positive"];

/// One review.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Review {
    pub text: String,
    /// 0 = negative, 1 = positive.
    pub label: usize,
    /// The entry path inside the dataset.
    pub path: String,
}

/// The labelled reviews, each part sorted by path (so `neg` before `pos`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextData {
    pub train: Vec<Review>,
    pub test: Vec<Review>,
}

/// Which part and label a path belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Train,
    Test,
}

/// `(part, label)` for `.../{train,test}/{pos,neg}/<name>.txt`; `None` for everything else
/// (`unsup/`, the vocabulary, the bag-of-words files, hidden files).
fn classify(path: &str) -> Option<(Part, usize)> {
    let mut parts = path.rsplit('/');
    let file = parts.next()?;
    let polarity = parts.next()?;
    let part = parts.next()?;
    if !file.ends_with(".txt") || file.starts_with('.') || path.split('/').any(|p| p == "__MACOSX")
    {
        return None;
    }
    let label = match polarity {
        "neg" => 0,
        "pos" => 1,
        _ => return None,
    };
    let part = match part {
        "train" => Part::Train,
        "test" => Part::Test,
        _ => return None,
    };
    Some((part, label))
}

/// The `keep` predicate for reading an archive: `.../{train,test}/{pos,neg}/*.txt` only (not
/// `unsup/`, whose 50,000 unlabelled reviews the paper does not use).
pub fn wanted(path: &str) -> bool {
    classify(path).is_some()
}

/// Builds the dataset from entries (those that [`wanted`] rejects are ignored).
///
/// A folder holding only `test/` (or only `train/`) is fine: a trained model can be evaluated
/// on another copy. Errors: a review that is not UTF-8 ([`GapError::BadFile`] naming
/// `dataset/path` and the byte offset), no review at all ([`GapError::BadDataset`]).
pub fn from_entries(dataset: &str, entries: Vec<Entry>) -> Result<TextData> {
    let mut data = TextData {
        train: Vec::new(),
        test: Vec::new(),
    };
    for entry in entries {
        let Some((part, label)) = classify(&entry.path) else {
            continue;
        };
        let text = String::from_utf8(entry.bytes).map_err(|e| {
            let err = e.utf8_error();
            GapError::bad_file(
                qualified(dataset, &entry.path),
                format!("not UTF-8: invalid byte at offset {}", err.valid_up_to()),
            )
        })?;
        let review = Review {
            text,
            label,
            path: entry.path,
        };
        match part {
            Part::Train => data.train.push(review),
            Part::Test => data.test.push(review),
        }
    }
    if data.train.is_empty() && data.test.is_empty() {
        return Err(GapError::bad_dataset(
            dataset,
            "no reviews: expected .../{train,test}/{pos,neg}/<id>_<rating>.txt files",
        ));
    }
    data.train.sort_by(|a, b| a.path.cmp(&b.path));
    data.test.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::wanted;

    #[test]
    fn wanted_takes_labelled_reviews_only() {
        assert!(wanted("aclImdb/train/pos/0_9.txt"));
        assert!(wanted("test/neg/1_2.txt"));
        assert!(!wanted("aclImdb/train/unsup/0_0.txt"));
        assert!(!wanted("aclImdb/imdb.vocab"));
        assert!(!wanted("aclImdb/train/labeledBow.feat"));
        assert!(!wanted("aclImdb/train/urls_pos.txt"));
        assert!(!wanted("pos/0_9.txt"));
        assert!(!wanted("aclImdb/train/pos/._0_9.txt"));
    }
}
