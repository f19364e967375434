//! IMDB reviews: the bytes as a review file in each of the four folders (non-UTF-8 text,
//! odd names), read as the aclImdb archive's entries are.
#![no_main]
use gaplab::data::archive::Entry;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let entries: Vec<Entry> = ["train/pos/0_9.txt", "train/neg/1_2.txt", "test/pos/2_10.txt", "test/neg/3_1.txt"]
        .iter()
        .map(|p| Entry { path: format!("aclImdb/{p}"), bytes: data.to_vec() })
        .collect();
    let _ = gaplab::data::imdb::from_entries("aclImdb", entries);
});
