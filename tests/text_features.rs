//! IMDB pre-processing: tokenizer, vocabulary ranking, encoding, serialisation.
#![cfg(not(target_arch = "wasm32"))]

use gaplab::features::text::{self, PAD, SEQ_LEN, UNK, VOCAB_SIZE, Vocab, tokenize};

#[test]
fn tokenizer_lowercases_removes_breaks_and_punctuation() {
    assert_eq!(
        tokenize("This movie<br /><br />was GREAT!!! Don't miss it."),
        // "<br />" is removed, not replaced by a space, exactly as the reference standardisation.
        vec!["this", "moviewas", "great", "dont", "miss", "it"]
    );
    assert_eq!(tokenize("end.<BR />Next"), vec!["endnext"], "removed after lowercasing");
    assert_eq!(tokenize("a <br/> b"), vec!["a", "br", "b"], "only the exact \"<br />\" is a break");
    assert_eq!(tokenize("10/10, would watch again :-)"), vec!["1010", "would", "watch", "again"]);
    assert_eq!(tokenize(""), Vec::<String>::new());
    assert_eq!(tokenize("  ...  !!! "), Vec::<String>::new());
}

#[test]
fn all_32_ascii_punctuation_characters_are_stripped_and_nothing_else() {
    let punct = r##"!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~"##;
    assert_eq!(punct.len(), 32);
    assert_eq!(tokenize(&format!("a{punct}b")), vec!["ab"]);
    // Letters, digits and non-ASCII survive (including non-ASCII punctuation like « and ’).
    assert_eq!(tokenize("Naïve «café» it’s 42"), vec!["naïve", "«café»", "it’s", "42"]);
}

#[test]
fn tokenizer_splits_on_ascii_whitespace() {
    assert_eq!(tokenize("a\tb\nc\r\nd\x0Be\x0Cf   g"), vec!["a", "b", "c", "d", "e", "f", "g"]);
    assert_eq!(tokenize("a\u{a0}b"), vec!["a\u{a0}b"], "no-break space does not split (as in TF)");
}

#[test]
fn vocab_ranks_by_frequency_then_alphabetically() {
    let texts = ["b a c", "A, b!", "a d", "e"];
    let v = Vocab::build(texts, 10);
    // a:3, b:2, then c, d, e once each in alphabetical order.
    assert_eq!(v.words, vec!["a", "b", "c", "d", "e"]);
    assert_eq!(v.len(), 7);
    assert_eq!(v.index("a"), 2);
    assert_eq!(v.index("b"), 3);
    assert_eq!(v.index("e"), 6);
    assert_eq!(v.index("zzz"), UNK);
    assert_eq!(v.index("A"), UNK, "lookup is on standardised tokens");
    // size counts pad and unk.
    assert_eq!(Vocab::build(texts, 4).words, vec!["a", "b"]);
    assert_eq!(Vocab::build(texts, 2).words, Vec::<String>::new());
    assert_eq!(Vocab::build(texts, 0).len(), 2);
    // Input order does not matter.
    let reversed: Vec<&str> = texts.iter().rev().copied().collect();
    assert_eq!(Vocab::build(reversed, 10), v);
}

#[test]
fn full_size_vocab_fits_the_embedding() {
    // 12,000 distinct tokens with distinct counts: keep the 9,998 most frequent.
    let texts: Vec<String> = (0..12_000).map(|i| format!("w{i} ").repeat(1 + (12_000 - i) / 1000)).collect();
    let v = Vocab::build(texts.iter().map(String::as_str), VOCAB_SIZE);
    assert_eq!(v.len(), VOCAB_SIZE);
    assert_eq!(v.words.len(), VOCAB_SIZE - 2);
    let max_index = texts.iter().flat_map(|t| v.encode(t, 5)).max().unwrap();
    assert!((max_index as usize) < VOCAB_SIZE, "index {max_index}");
    assert_eq!(v.index("w0"), 2, "w0 (most frequent, alphabetically first of its tier) comes first");
    assert_eq!(v.index("w11999"), UNK);
}

#[test]
fn encode_maps_truncates_and_pads_at_the_end() {
    let v = Vocab::build(["good good good bad bad movie"], VOCAB_SIZE);
    assert_eq!(v.words, vec!["good", "bad", "movie"]);
    assert_eq!(v.encode("Good movie, awful!", 6), vec![2, 4, UNK, PAD, PAD, PAD]);
    assert_eq!(v.encode("bad bad good movie good", 3), vec![3, 3, 2]);
    assert_eq!(v.encode("anything", 0), Vec::<u32>::new());
    let e = v.encode("good", SEQ_LEN);
    assert_eq!(e.len(), 250);
    assert_eq!(e[0], 2);
    assert!(e[1..].iter().all(|&i| i == PAD));
    let long = "movie ".repeat(300);
    let e = v.encode(&long, SEQ_LEN);
    assert_eq!(e, vec![4; 250]);
    let tokens = tokenize("bad good unknown");
    assert_eq!(v.encode_tokens(&tokens, 4), vec![3, 2, UNK, PAD]);
    assert_eq!(v.encode_tokens(&tokens, 4), v.encode("bad good unknown", 4));
}

#[test]
fn vocab_serde_round_trip_rebuilds_the_lookup() {
    let v = Vocab::build(["the cat sat on the mat", "the dog"], VOCAB_SIZE);
    let json = serde_json::to_string(&v).unwrap();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value, serde_json::json!({"words": ["the", "cat", "dog", "mat", "on", "sat"]}));
    let back: Vocab = serde_json::from_str(&json).unwrap();
    assert_eq!(back, v);
    for w in ["the", "cat", "mat", "sat", "nope"] {
        assert_eq!(back.index(w), v.index(w), "{w}");
    }
    assert_eq!(back.encode("the dog sat", 4), vec![2, 4, 7, PAD]);
    assert!(serde_json::from_str::<Vocab>("{\"words\": 3}").is_err());
}

#[test]
fn from_words_and_word_lookup() {
    let v = Vocab::from_words(vec!["x".into(), "y".into()]);
    assert_eq!(v.index("y"), 3);
    assert_eq!(v.word(3), Some("y"));
    assert_eq!(v.word(PAD), None);
    assert!(!v.is_empty());
    assert!(text::is_separator('\n'));
}
