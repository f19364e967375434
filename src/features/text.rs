//! IMDB pre-processing as in the reference code: Keras `TextVectorization` with the custom
//! standardisation `lower → remove "<br />" → strip punctuation`, whitespace split, a
//! 10,000-index vocabulary (0 = padding, 1 = unknown) and sequences forced to 250 tokens.
//!
//! Every step follows TensorFlow's byte-level semantics so that a vocabulary built here matches
//! the reference one:
//! - `tf.strings.lower` (default encoding) lowercases **ASCII only**; `É` stays `É`.
//! - `"<br />"` is replaced by the **empty string**, as the reference `custom_standardization`
//!   does (so `"end.<br /><br />Next"` becomes one token `endnext`, exactly as there).
//! - Punctuation is `string.punctuation`, the 32 ASCII characters
//!   ``!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~`` (also Keras' default `lower_and_strip_punctuation`
//!   set); other characters are kept.
//! - Splitting is on ASCII whitespace (space, `\t`, `\n`, `\x0B`, `\x0C`, `\r`), as
//!   `tf.strings.split` does; a non-breaking space does not split.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Vocabulary size including padding and unknown (the Embedding's row count for Kim's CNN).
pub const VOCAB_SIZE: usize = 10_000;
/// Tokens per review after truncation or padding.
pub const SEQ_LEN: usize = 250;
/// Index of padding.
pub const PAD: u32 = 0;
/// Index of any token outside the vocabulary.
pub const UNK: u32 = 1;
/// Indices below this one are reserved (pad, unk); `words[i]` has index `i + RESERVED`.
const RESERVED: usize = 2;

/// The HTML line break IMDB reviews are full of.
const HTML_BREAK: &str = "<br />";

/// Whether `c` separates tokens (and words, for trigger insertion): ASCII whitespace including
/// vertical tab, as `tf.strings.split` without a separator.
pub fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0B' | '\x0C' | '\r')
}

/// Lowercases (ASCII), removes `"<br />"` and ASCII punctuation, splits on ASCII whitespace.
///
/// `"<br />"` is removed *after* lowercasing, so `"<BR />"` goes too, as in the reference.
pub fn tokenize(text: &str) -> Vec<String> {
    let lowered = text.to_ascii_lowercase().replace(HTML_BREAK, "");
    let stripped: String = lowered.chars().filter(|c| !c.is_ascii_punctuation()).collect();
    stripped.split(is_separator).filter(|t| !t.is_empty()).map(str::to_owned).collect()
}

/// A frequency-ranked vocabulary: index `i + 2` is `words[i]`; 0 is padding, 1 unknown.
///
/// Only `words` is serialised; the lookup map is rebuilt on deserialisation. `words` is public
/// for reading; build a changed vocabulary with [`Vocab::from_words`] rather than mutating it
/// (the lookup map would not follow).
#[derive(Clone, Serialize, Deserialize)]
#[serde(from = "VocabWords")]
pub struct Vocab {
    pub words: Vec<String>,
    #[serde(skip)]
    lookup: HashMap<String, u32>,
}

/// Serialised form of [`Vocab`]: just the ranked words.
#[derive(Deserialize)]
struct VocabWords {
    words: Vec<String>,
}

impl From<VocabWords> for Vocab {
    fn from(v: VocabWords) -> Self {
        Vocab::from_words(v.words)
    }
}

/// Shows the size and the most frequent words, not all 10,000 entries twice over.
impl fmt::Debug for Vocab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head = &self.words[..self.words.len().min(8)];
        f.debug_struct("Vocab").field("len", &self.len()).field("top_words", &head).finish_non_exhaustive()
    }
}

/// Two vocabularies are equal when they rank the same words (the map is derived data).
impl PartialEq for Vocab {
    fn eq(&self, other: &Self) -> bool {
        self.words == other.words
    }
}

impl Eq for Vocab {}

impl Vocab {
    /// The `size − 2` most frequent tokens of the training texts (as [`tokenize`] yields them),
    /// most frequent first, ties broken alphabetically (byte order) so the result does not
    /// depend on hash order. `size` counts pad and unk, like Keras' `max_tokens`; a `size`
    /// below 2 gives an empty word list (the vocabulary still has pad and unk).
    pub fn build<'a>(texts: impl IntoIterator<Item = &'a str>, size: usize) -> Vocab {
        let mut counts: HashMap<String, u64> = HashMap::new();
        for text in texts {
            for token in tokenize(text) {
                *counts.entry(token).or_insert(0) += 1;
            }
        }
        let mut ranked: Vec<(String, u64)> = counts.into_iter().collect();
        ranked.sort_unstable_by(|(wa, ca), (wb, cb)| cb.cmp(ca).then_with(|| wa.cmp(wb)));
        ranked.truncate(size.saturating_sub(RESERVED));
        Vocab::from_words(ranked.into_iter().map(|(w, _)| w).collect())
    }

    /// A vocabulary from already ranked words (`words[i]` gets index `i + 2`). If a word occurs
    /// twice, its first index wins (the later one can never be produced by [`Vocab::index`]).
    pub fn from_words(words: Vec<String>) -> Vocab {
        let mut lookup = HashMap::with_capacity(words.len());
        for (i, w) in words.iter().enumerate() {
            let index = u32::try_from(i + RESERVED).unwrap_or(u32::MAX);
            lookup.entry(w.clone()).or_insert(index);
        }
        Vocab { words, lookup }
    }

    /// Number of indices, including pad and unk (the Embedding needs at least this many rows).
    pub fn len(&self) -> usize {
        self.words.len() + RESERVED
    }

    /// Never true: pad and unk are always there. Provided because `len` is.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Index of a token (already standardised), [`UNK`] when it is not in the vocabulary.
    pub fn index(&self, token: &str) -> u32 {
        self.lookup.get(token).copied().unwrap_or(UNK)
    }

    /// The token of an index: `None` for pad, unk and out-of-range indices.
    pub fn word(&self, index: u32) -> Option<&str> {
        let i = (index as usize).checked_sub(RESERVED)?;
        self.words.get(i).map(String::as_str)
    }

    /// [`tokenize`], map to indices, then truncate or pad with [`PAD`] **at the end** to
    /// `seq_len` (Keras `output_sequence_length`).
    pub fn encode(&self, text: &str, seq_len: usize) -> Vec<u32> {
        self.encode_tokens(&tokenize(text), seq_len)
    }

    /// Maps already tokenised text, then truncates or pads at the end to `seq_len`.
    pub fn encode_tokens(&self, tokens: &[String], seq_len: usize) -> Vec<u32> {
        let mut ids: Vec<u32> = tokens.iter().take(seq_len).map(|t| self.index(t)).collect();
        ids.resize(seq_len, PAD);
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_are_ascii_whitespace_only() {
        for c in [' ', '\t', '\n', '\x0B', '\x0C', '\r'] {
            assert!(is_separator(c), "{c:?}");
        }
        for c in ['\u{a0}', '\u{2003}', 'a', '_'] {
            assert!(!is_separator(c), "{c:?}");
        }
    }

    #[test]
    fn lowercasing_is_ascii_only() {
        // tf.strings.lower without an encoding leaves non-ASCII letters alone.
        assert_eq!(tokenize("ÉCOLE École"), vec!["École", "École"]);
    }

    #[test]
    fn word_lookup_inverts_index() {
        let v = Vocab::from_words(vec!["a".into(), "b".into(), "a".into()]);
        assert_eq!(v.index("a"), 2);
        assert_eq!(v.index("b"), 3);
        assert_eq!(v.word(2), Some("a"));
        assert_eq!(v.word(4), Some("a"));
        assert_eq!(v.word(PAD), None);
        assert_eq!(v.word(UNK), None);
        assert_eq!(v.word(5), None);
        assert_eq!(v.len(), 5);
        assert_eq!(format!("{v:?}"), r#"Vocab { len: 5, top_words: ["a", "b", "a"], .. }"#);
    }
}
