//! IMDB reviews as the aclImdb reader and the text pipeline take them: the input is split
//! into an entry path (up to the first newline) and the file's bytes; the bytes also go in as
//! a review in each of the four labelled folders. What reads as a dataset is then tokenised,
//! a vocabulary is built from it, and every review is encoded to the networks' 250 ids.
#![no_main]
use gaplab::data::archive::Entry;
use gaplab::features::text::{SEQ_LEN, Vocab, tokenize};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (path, bytes) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (String::from_utf8_lossy(&data[..i]).into_owned(), &data[i + 1..]),
        None => (String::new(), data),
    };
    let mut entries: Vec<Entry> = ["train/pos/0_9.txt", "train/neg/1_2.txt", "test/pos/2_10.txt", "test/neg/3_1.txt"]
        .iter()
        .map(|p| Entry { path: format!("aclImdb/{p}"), bytes: bytes.to_vec() })
        .collect();
    entries.push(Entry { path, bytes: bytes.to_vec() });
    if let Ok(text) = gaplab::data::imdb::from_entries("aclImdb", entries) {
        let reviews: Vec<&str> = text.train.iter().chain(&text.test).map(|r| r.text.as_str()).collect();
        for r in &reviews {
            let _ = tokenize(r);
        }
        let vocab = Vocab::build(reviews.iter().copied(), 100);
        for r in &reviews {
            assert_eq!(vocab.encode(r, SEQ_LEN).len(), SEQ_LEN);
        }
    }
});
