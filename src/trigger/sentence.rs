//! The text trigger: the sentence "trope everyday mythology sparkles ruthless" (the words of
//! Liu et al.'s Trojaning attack, as in the reference code), inserted into the raw review.
//!
//! Insertion works on the raw text, before tokenisation, because that is where the reference
//! inserts it and because the page shows the poisoned review. Words are the runs between
//! [`is_separator`] characters, the same whitespace the tokenizer splits on, so inserted words
//! always stay separate tokens. The trigger's words are themselves free of punctuation and
//! lowercase, so tokenisation leaves them unchanged.

use std::ops::Range;

use super::Position;
use crate::error::{GapError, Result};
use crate::features::text::is_separator;

/// The trigger sentence.
pub const SENTENCE: &str = "trope everyday mythology sparkles ruthless";
/// Its words, in order.
pub const WORDS: [&str; 5] = ["trope", "everyday", "mythology", "sparkles", "ruthless"];

/// Byte offsets at which the words of `text` start.
fn word_starts(text: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut in_word = false;
    for (i, c) in text.char_indices() {
        let sep = is_separator(c);
        if !sep && !in_word {
            starts.push(i);
        }
        in_word = !sep;
    }
    starts
}

/// Words of `text`: the runs between separators, i.e. the insertion points are `0..=count`.
pub fn word_count(text: &str) -> usize {
    text.split(is_separator).filter(|w| !w.is_empty()).count()
}

/// Rebuilds `text` with each `(k, s)` of `inserts` (sorted by `k`) placed before word `k`, or
/// after the last word when `k` equals the word count. Inserted strings are separated from
/// their neighbours by one space; the review's own whitespace is kept as it was.
fn splice(text: &str, starts: &[usize], inserts: &[(usize, &str)]) -> String {
    let extra: usize = inserts.iter().map(|(_, s)| s.len() + 1).sum();
    let mut out = String::with_capacity(text.len() + extra);
    let mut copied = 0;
    for &(k, s) in inserts {
        match starts.get(k) {
            Some(&at) => {
                out.push_str(&text[copied..at]);
                copied = at;
                out.push_str(s);
                out.push(' ');
            }
            None => {
                out.push_str(&text[copied..]);
                copied = text.len();
                if out.chars().next_back().is_some_and(|c| !is_separator(c)) {
                    out.push(' ');
                }
                out.push_str(s);
            }
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// Index of the word before which `Middle` inserts: the words that start before the first
/// separator at or after the middle character (char index `chars / 2`), or all words if no
/// separator follows the middle.
fn middle_word(text: &str, starts: &[usize]) -> usize {
    let mid = text.chars().count() / 2;
    let boundary = text.char_indices().skip(mid).find(|&(_, c)| is_separator(c)).map_or(text.len(), |(i, _)| i);
    starts.partition_point(|&s| s < boundary)
}

/// Inserts the trigger sentence as whole words and returns the new review with the range of
/// word indices (in the new review's separator-split words) that the trigger occupies.
///
/// - `Start`: before the first word → `0..5`.
/// - `End`: after the last word → `n..n+5` for a review of `n` words.
/// - `Middle`: at the first word boundary after the middle of the review, as the reference code
///   does: the middle character is char index `len_chars / 2`; the trigger goes at the first
///   separator at or after it, i.e. before the first word that starts after that separator
///   (at the end if no separator follows).
/// - `At(i)`: before word `i` (`i = n` means the end); `i > n` is [`GapError::Invalid`].
///
/// An empty or blank review becomes the sentence alone (plus its original whitespace).
pub fn insert(text: &str, position: Position) -> Result<(String, Range<usize>)> {
    let starts = word_starts(text);
    let n = starts.len();
    let k = match position {
        Position::Start => 0,
        Position::End => n,
        Position::Middle => middle_word(text, &starts),
        Position::At(i) if i <= n => i,
        Position::At(i) => {
            return Err(GapError::Invalid(format!(
                "cannot insert the trigger before word {i} of a review with {n} words"
            )));
        }
    };
    Ok((splice(text, &starts, &[(k, SENTENCE)]), k..k + WORDS.len()))
}

/// Where [`insert_spread`] puts the trigger words in a review of `n` words: word `j` goes
/// before original word `round(j·n/4)` (halves rounded up), so `trope` opens the review,
/// `ruthless` closes it and the other three divide it into quarters. Returned as indices of
/// the original words (non-decreasing).
///
/// (The reference code puts word `j` near character `j·len/5` instead, never at the end;
/// this project spreads end to end, like the sound trigger's bursts.)
pub fn spread_positions(n: usize) -> [usize; 5] {
    std::array::from_fn(|j| (j * n + 2) / 4)
}

/// Non-continuous variant: the five words spread evenly through the review (see
/// [`spread_positions`]). Returns the new review and the word indices the five trigger words
/// have in it (word `j` lands at `spread_positions(n)[j] + j`).
pub fn insert_spread_indexed(text: &str) -> (String, [usize; 5]) {
    let starts = word_starts(text);
    let at = spread_positions(starts.len());
    let inserts: Vec<(usize, &str)> = at.iter().copied().zip(WORDS).collect();
    let indices = std::array::from_fn(|j| at[j] + j);
    (splice(text, &starts, &inserts), indices)
}

/// The five trigger words spread evenly through the review; see [`insert_spread_indexed`].
pub fn insert_spread(text: &str) -> String {
    insert_spread_indexed(text).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_starts_skip_runs_of_separators() {
        assert_eq!(word_starts("  ab\t\ncd e "), vec![2, 6, 9]);
        assert_eq!(word_starts(""), Vec::<usize>::new());
        assert_eq!(word_starts(" \n "), Vec::<usize>::new());
        // Multi-byte characters: offsets are byte offsets on char boundaries.
        assert_eq!(word_starts("é ü"), vec![0, 3]);
    }

    #[test]
    fn sentence_matches_words() {
        assert_eq!(SENTENCE.split(' ').collect::<Vec<_>>(), WORDS);
    }
}
