//! The dataset readers on the real archives in `../shared/datasets` (see its README): counts,
//! labels, exact sample values, the folder path against the archive path, and the splits.
//!
//! Loading times are printed (`cargo test -- --nocapture`) so that a slow reader shows.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::HashSet;
use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::Instant;

use gaplab::data::archive::{self, Entry, Limits};
use gaplab::data::speech::{self, ClassSet};
use gaplab::data::{cifar, imdb, split, wav};

fn datasets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets")
}

fn read_dataset(name: &str) -> Vec<u8> {
    let path = datasets().join(name);
    fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (the real datasets belong there)", path.display()))
}

/// A fresh folder under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("gaplab-data-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn write_entries(root: &Path, entries: &[Entry]) {
    for e in entries {
        let path = root.join(&e.path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, &e.bytes).unwrap();
    }
}

#[test]
fn speech_archive_loads_all_clips_with_exact_samples() {
    let name = "speech_commands_10w.tar.gz";
    let bytes = read_dataset(name);
    let start = Instant::now();
    let entries = archive::read_tar_gz(
        name,
        &bytes,
        &Limits::default(),
        &speech::wanted(ClassSet::Ten),
    )
    .unwrap();
    let read_time = start.elapsed();
    assert_eq!(entries.len(), 3193);
    assert!(
        entries.windows(2).all(|w| w[0].path < w[1].path),
        "entries sorted by path"
    );
    let known_path = "yes/022cd682_nohash_0.wav";
    let known_bytes = entries
        .iter()
        .find(|e| e.path == known_path)
        .unwrap()
        .bytes
        .clone();

    let start = Instant::now();
    let data = speech::from_entries(name, entries, ClassSet::Ten).unwrap();
    let decode_time = start.elapsed();
    eprintln!("speech: read {read_time:.2?}, decode {decode_time:.2?}");

    assert_eq!(data.clips.len(), 3193);
    assert_eq!(data.classes, speech::WORDS_10);
    assert!(data.missing_classes().is_empty());
    let counts = data.counts();
    assert_eq!(counts.iter().sum::<usize>(), 3193);
    assert!(
        counts.iter().all(|&n| (250..400).contains(&n)),
        "~320 clips per word: {counts:?}"
    );
    for clip in &data.clips {
        assert_eq!(clip.samples.len(), wav::CLIP_SAMPLES, "{}", clip.path);
        let word = clip.path.split('/').next().unwrap();
        assert_eq!(speech::WORDS_10[clip.label], word);
        assert_eq!(clip.speaker.len(), 8, "speaker hash of {}", clip.path);
        assert!(clip.samples.iter().all(|s| (-1.0..1.0).contains(s)));
    }
    let speakers: HashSet<&str> = data.clips.iter().map(|c| c.speaker.as_str()).collect();
    assert!(speakers.len() > 100, "many speakers: {}", speakers.len());

    // The known clip, against hound's own decoding of the same bytes.
    let clip = data.clips.iter().find(|c| c.path == known_path).unwrap();
    let reference: Vec<i16> = hound::WavReader::new(Cursor::new(&known_bytes))
        .unwrap()
        .samples::<i16>()
        .map(|s| s.unwrap())
        .collect();
    assert_eq!(reference.len(), wav::CLIP_SAMPLES);
    assert!(reference.iter().any(|&s| s != 0));
    for (i, (&got, &want)) in clip.samples.iter().zip(&reference).enumerate() {
        assert_eq!(got, f32::from(want) / 32768.0, "sample {i}");
    }
    // The reference clip shipped for the MFCC tests is the same file.
    let shared = fs::read(datasets().join("../reference/wav/yes_022cd682_nohash_0.wav")).unwrap();
    assert_eq!(shared, known_bytes);
}

#[test]
fn thirty_word_set_over_ten_word_archive_reports_missing_classes() {
    let name = "speech_commands_10w.tar.gz";
    let bytes = read_dataset(name);
    // Only two words' folders, to keep the test quick; the 30-word predicate takes them too.
    let keep = |p: &str| {
        speech::wanted(ClassSet::Thirty)(p) && (p.starts_with("yes/") || p.starts_with("bed/"))
    };
    let entries = archive::read_tar_gz(name, &bytes, &Limits::default(), &keep).unwrap();
    let data = speech::from_entries(name, entries, ClassSet::Thirty).unwrap();
    assert_eq!(data.classes.len(), 30);
    assert!(
        data.clips.iter().all(|c| c.label == 28),
        "yes is word 28 of 30"
    );
    let missing = data.missing_classes();
    assert_eq!(missing.len(), 29);
    assert!(!missing.contains(&"yes".to_string()));
}

#[test]
fn reference_clips_round_trip_through_encode_byte_for_byte() {
    let dir = datasets().join("../reference/wav");
    let mut n = 0;
    for item in fs::read_dir(&dir).unwrap() {
        let path = item.unwrap().path();
        let bytes = fs::read(&path).unwrap();
        let samples = wav::decode_clip(&path.display().to_string(), &bytes).unwrap();
        assert_eq!(samples.len(), wav::CLIP_SAMPLES);
        // The files use the canonical 44-byte header, so encoding gives the very same bytes.
        assert_eq!(wav::encode_clip(&samples), bytes, "{}", path.display());
        n += 1;
    }
    assert!(n >= 10);
}

#[test]
fn encode_clips_to_the_int16_range_and_pads_short_clips() {
    let encoded = wav::encode_clip(&[2.0, -2.0, 0.5, f32::NAN, 32767.0 / 32768.0, -1.0]);
    let back: Vec<i16> = hound::WavReader::new(Cursor::new(&encoded))
        .unwrap()
        .samples::<i16>()
        .map(|s| s.unwrap())
        .collect();
    assert_eq!(back, [32767, -32768, 16384, 0, 32767, -32768]);
    let decoded = wav::decode_clip("short.wav", &encoded).unwrap();
    assert_eq!(decoded.len(), wav::CLIP_SAMPLES);
    assert_eq!(decoded[2], 0.5);
    assert!(
        decoded[6..].iter().all(|&s| s == 0.0),
        "zero-padded to one second"
    );

    let long: Vec<f32> = (0..24_000).map(|i| (i % 100) as f32 / 128.0).collect();
    let decoded = wav::decode_clip("long.wav", &wav::encode_clip(&long)).unwrap();
    assert_eq!(decoded, long[..wav::CLIP_SAMPLES], "cut to one second");
}

#[test]
fn imdb_archive_loads_official_parts() {
    let name = "aclImdb_labelled.tar.gz";
    let bytes = read_dataset(name);
    let start = Instant::now();
    let entries = archive::read_tar_gz(name, &bytes, &Limits::default(), &imdb::wanted).unwrap();
    let read_time = start.elapsed();
    let data = imdb::from_entries(name, entries).unwrap();
    eprintln!("imdb: read {read_time:.2?}, total {:.2?}", start.elapsed());

    assert_eq!(data.train.len(), 25_000);
    assert_eq!(data.test.len(), 24_000);
    let positives = |r: &[imdb::Review]| r.iter().filter(|r| r.label == 1).count();
    assert_eq!(positives(&data.train), 12_500);
    assert_eq!(positives(&data.test), 12_000);
    for r in data.train.iter().chain(&data.test) {
        let folder = if r.label == 1 { "/pos/" } else { "/neg/" };
        assert!(r.path.contains(folder), "{}", r.path);
        assert!(!r.text.trim().is_empty(), "{}", r.path);
    }
    assert!(
        data.train
            .iter()
            .all(|r| r.path.starts_with("aclImdb/train/"))
    );
    assert!(
        data.test
            .iter()
            .all(|r| r.path.starts_with("aclImdb/test/"))
    );
}

#[test]
fn cifar_archive_loads_batches_in_file_order() {
    let name = "cifar-10-binary-subset.tar.gz";
    let bytes = read_dataset(name);
    let start = Instant::now();
    let entries = archive::read_tar_gz(name, &bytes, &Limits::default(), &cifar::wanted).unwrap();
    let read_time = start.elapsed();
    let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "cifar-10-batches-bin/batches.meta.txt",
            "cifar-10-batches-bin/data_batch_1.bin",
            "cifar-10-batches-bin/test_batch.bin"
        ]
    );
    let raw_train = entries[1].bytes.clone();
    let data = cifar::from_entries(name, entries).unwrap();
    eprintln!("cifar: read {read_time:.2?}, total {:.2?}", start.elapsed());

    assert_eq!(data.classes, cifar::CLASSES);
    assert_eq!(data.train.len(), 10_000);
    assert_eq!(data.test.len(), 2_000);
    for (part, per_class) in [(&data.train, 1000), (&data.test, 200)] {
        let mut counts = [0usize; 10];
        for image in part.iter() {
            assert_eq!(image.pixels.len(), cifar::IMAGE_BYTES);
            counts[image.label] += 1;
        }
        assert_eq!(counts, [per_class; 10]);
    }
    // Records in file order, pixels exactly as stored.
    for i in [0, 1, 4321, 9999] {
        let record = &raw_train[i * cifar::RECORD_BYTES..(i + 1) * cifar::RECORD_BYTES];
        assert_eq!(data.train[i].label, usize::from(record[0]));
        assert_eq!(data.train[i].pixels, record[1..]);
    }
}

#[test]
fn cifar_train_batches_are_concatenated_in_numeric_order() {
    let record = |label: u8| {
        let mut r = vec![label; cifar::RECORD_BYTES];
        r[1] = 100 + label;
        r
    };
    // Given out of order, and with a batch number above 9 to rule out a text sort.
    let entries = vec![
        Entry {
            path: "c/data_batch_10.bin".into(),
            bytes: record(9),
        },
        Entry {
            path: "c/data_batch_2.bin".into(),
            bytes: [record(2), record(3)].concat(),
        },
        Entry {
            path: "c/data_batch_1.bin".into(),
            bytes: record(1),
        },
    ];
    let data = cifar::from_entries("hand-made", entries).unwrap();
    let labels: Vec<usize> = data.train.iter().map(|i| i.label).collect();
    assert_eq!(labels, [1, 2, 3, 9]);
    assert_eq!(data.train[1].pixels[0], 102);
    assert!(data.test.is_empty());
    assert_eq!(
        data.classes,
        cifar::CLASSES,
        "no meta file: the official names"
    );
}

#[test]
fn cifar_class_names_come_from_the_meta_file() {
    let names = "plane\ncar\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";
    let mut test_batch = vec![0u8; cifar::RECORD_BYTES];
    test_batch[0] = 1;
    let entries = vec![
        Entry {
            path: "b/batches.meta.txt".into(),
            bytes: names.as_bytes().to_vec(),
        },
        Entry {
            path: "b/test_batch.bin".into(),
            bytes: test_batch,
        },
    ];
    let data = cifar::from_entries("renamed", entries).unwrap();
    assert_eq!(data.classes[..2], ["plane", "car"]);
    assert_eq!(data.classes.len(), 10);
    assert!(data.train.is_empty(), "a test-only copy is fine");
    assert_eq!(data.test[0].label, 1);
}

#[test]
fn folder_and_archive_give_the_same_entries() {
    let name = "speech_commands_10w.tar.gz";
    let archive_path = datasets().join(name);
    // A small part of the real archive: the clips of one speaker-hash prefix, plus LICENSE.
    let keep = |p: &str| p.contains("/0") || p == "LICENSE";
    let from_bytes =
        archive::read_tar_gz(name, &read_dataset(name), &Limits::default(), &keep).unwrap();
    let from_file = archive::load_entries(&archive_path, &Limits::default(), &keep).unwrap();
    assert_eq!(from_bytes, from_file);
    assert!(from_bytes.len() > 50, "{} entries", from_bytes.len());
    assert!(from_bytes.iter().any(|e| e.path == "LICENSE"));

    let dir = TempDir::new("folder");
    write_entries(&dir.0, &from_bytes);
    // Files the predicate rejects, in a deeper folder, must not come back.
    fs::create_dir_all(dir.0.join("yes/deeper")).unwrap();
    fs::write(dir.0.join("yes/deeper/skip.txt"), b"not kept").unwrap();
    let from_folder = archive::load_entries(&dir.0, &Limits::default(), &keep).unwrap();
    assert_eq!(from_folder, from_bytes);

    // And the readers give the same dataset from both.
    let a = speech::from_entries(name, from_bytes, ClassSet::Ten).unwrap();
    let b = speech::from_entries("folder", from_folder, ClassSet::Ten).unwrap();
    assert_eq!(a.clips, b.clips);
}

/// The page inflates its demo data with the browser's `DecompressionStream` and hands over the
/// plain tar: it must read exactly as the `.tar.gz` does, from memory and from a file, and a
/// plain tar cut short is a clear error.
#[test]
fn a_plain_tar_reads_as_its_gzip_compressed_archive() {
    use std::io::Read;
    let gz = fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("www/data/speech-demo.tar.gz")).unwrap();
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(gz.as_slice()).read_to_end(&mut tar).unwrap();
    assert!(archive::is_tar(&tar) && !archive::is_tar(&gz));
    let keep = |_: &str| true;
    let from_gz = archive::read_tar_gz("speech-demo.tar.gz", &gz, &Limits::default(), &keep).unwrap();
    let from_tar = archive::read_tar_gz("speech-demo.tar", &tar, &Limits::default(), &keep).unwrap();
    assert!(from_gz.len() > 500, "{} entries", from_gz.len());
    assert_eq!(from_tar, from_gz);
    let dir = TempDir::new("plain-tar");
    let file = dir.0.join("speech-demo.tar");
    fs::write(&file, &tar).unwrap();
    assert_eq!(archive::load_entries(&file, &Limits::default(), &keep).unwrap(), from_gz);

    // Cut inside a member, at a member boundary (the first header plus its padded data), and
    // inside the end-of-archive marker.
    let octal = std::str::from_utf8(&tar[124..136]).unwrap().trim_matches(|c| c == '\0' || c == ' ');
    let first = 512 + usize::from_str_radix(octal, 8).unwrap().div_ceil(512) * 512;
    for cut in [600, tar.len() / 3, first, tar.len() - 1024 - 700] {
        match archive::read_tar_gz("cut.tar", &tar[..cut], &Limits::default(), &keep) {
            Err(err @ gaplab::GapError::BadArchive { .. }) => assert!(err.to_string().contains("cut.tar"), "cut at {cut}: {err}"),
            Err(err) => panic!("cut at {cut}: not a BadArchive: {err}"),
            Ok(entries) => panic!("cut at {cut}: accepted with {} entries", entries.len()),
        }
    }
}

#[test]
fn folder_walk_is_recursive_sorted_and_slash_separated() {
    let dir = TempDir::new("walk");
    let files: &[(&str, &[u8])] = &[
        ("b.txt", b"b"),
        ("a/z.txt", b"z"),
        ("a/b/c/d.txt", b"d"),
        ("a/a.txt", b"a"),
    ];
    for (path, bytes) in files {
        let p = dir.0.join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, bytes).unwrap();
    }
    let entries = archive::load_entries(&dir.0, &Limits::default(), &|_| true).unwrap();
    let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["a/a.txt", "a/b/c/d.txt", "a/z.txt", "b.txt"]);
    assert_eq!(entries[1].bytes, b"d");
}

fn assert_partition(parts: &[&[usize]], n: usize) {
    let mut all: Vec<usize> = parts.iter().flat_map(|p| p.iter().copied()).collect();
    all.sort_unstable();
    assert_eq!(
        all,
        (0..n).collect::<Vec<_>>(),
        "parts are disjoint and cover 0..n"
    );
}

#[test]
fn permutation_is_a_seeded_permutation() {
    let p = split::permutation(1000, 42);
    assert_partition(&[&p], 1000);
    assert_eq!(p, split::permutation(1000, 42));
    assert_ne!(p, split::permutation(1000, 43));
    assert_ne!(p, (0..1000).collect::<Vec<_>>());
    assert!(split::permutation(0, 1).is_empty());
    assert_eq!(split::permutation(1, 1), [0]);
}

#[test]
fn sound_split_sizes_disjointness_and_seeds() {
    let s = split::sound_split(3193, 7);
    assert_eq!((s.train.len(), s.val.len(), s.test.len()), (2044, 511, 638));
    assert_partition(&[&s.train, &s.val, &s.test], 3193);
    assert_eq!(s, split::sound_split(3193, 7));
    let other = split::sound_split(3193, 8);
    assert_ne!(s.test, other.test);
    assert_ne!(s.val, other.val);
    let small = split::sound_split(10, 0);
    assert_eq!(
        (small.train.len(), small.val.len(), small.test.len()),
        (7, 1, 2)
    );
    assert_partition(&[&small.train, &small.val, &small.test], 10);
}

#[test]
fn every_fifth_review_validates() {
    let (train, val) = split::every_fifth(25_000);
    assert_eq!((train.len(), val.len()), (20_000, 5_000));
    assert_partition(&[&train, &val], 25_000);
    assert_eq!(val[..3], [4, 9, 14]);
    // Reviews are sorted neg then pos, so validation is balanced.
    assert_eq!(val.iter().filter(|&&i| i < 12_500).count(), 2_500);
}

#[test]
fn holdout_sizes_disjointness_and_seeds() {
    let (train, val) = split::holdout(50_000, 0.2, 1);
    assert_eq!((train.len(), val.len()), (40_000, 10_000));
    assert_partition(&[&train, &val], 50_000);
    let (train, val) = split::holdout(10_000, 0.2, 1);
    assert_eq!((train.len(), val.len()), (8_000, 2_000));
    assert_eq!((train.clone(), val.clone()), split::holdout(10_000, 0.2, 1));
    assert_ne!(val, split::holdout(10_000, 0.2, 2).1);
    // The validation set is the tail of the seeded permutation.
    let mut tail = split::permutation(10_000, 1)[8_000..].to_vec();
    tail.sort_unstable();
    assert_eq!(val, tail);
    assert_eq!(split::holdout(10, 1.5, 0).1.len(), 10);
    assert_eq!(split::holdout(10, f64::NAN, 0).1.len(), 0);
}
