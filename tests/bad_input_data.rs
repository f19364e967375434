//! Bad input of every kind the readers meet must give the right `GapError` variant, with a
//! message that names the file and the problem — never a panic, never a huge allocation.
#![cfg(not(target_arch = "wasm32"))]

use std::cell::RefCell;
use std::fmt::Debug;
use std::fs;
use std::io::{self, Cursor, Read, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use gaplab::data::archive::{self, Entry, Limits};
use gaplab::data::speech::{self, ClassSet};
use gaplab::data::{cifar, imdb, wav};
use gaplab::error::{GapError, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn reference_clip() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/reference/wav/yes_022cd682_nohash_0.wav");
    fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `(file, problem)` of a `BadFile`, or a test failure naming what came instead.
fn bad_file<T: Debug>(r: Result<T>) -> (String, String) {
    match r {
        Err(GapError::BadFile { file, problem }) => (file, problem),
        other => panic!("expected GapError::BadFile, got {other:?}"),
    }
}

fn bad_archive<T>(r: Result<T>) -> (String, String) {
    match r {
        Err(GapError::BadArchive { archive, problem }) => (archive, problem),
        Err(other) => panic!("expected GapError::BadArchive, got {other:?}"),
        Ok(_) => panic!("expected GapError::BadArchive, got Ok"),
    }
}

fn bad_dataset<T: Debug>(r: Result<T>) -> (String, String) {
    match r {
        Err(GapError::BadDataset { dataset, problem }) => (dataset, problem),
        other => panic!("expected GapError::BadDataset, got {other:?}"),
    }
}

fn assert_contains(text: &str, part: &str) {
    assert!(text.contains(part), "{text:?} should contain {part:?}");
}

/// A WAV file written by hound with the given format and samples.
fn hound_wav(spec: hound::WavSpec, n_frames: usize) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    let mut w = hound::WavWriter::new(&mut out, spec).unwrap();
    for i in 0..n_frames * usize::from(spec.channels) {
        match (spec.sample_format, spec.bits_per_sample) {
            (hound::SampleFormat::Float, _) => w.write_sample(0.25f32).unwrap(),
            (_, 8) => w.write_sample((i % 100) as i8).unwrap(),
            (_, 16) => w.write_sample((i % 1000) as i16).unwrap(),
            _ => w.write_sample((i % 100_000) as i32).unwrap(),
        }
    }
    w.finalize().unwrap();
    out.into_inner()
}

fn spec(channels: u16, sample_rate: u32, bits: u16, format: hound::SampleFormat) -> hound::WavSpec {
    hound::WavSpec {
        channels,
        sample_rate,
        bits_per_sample: bits,
        sample_format: format,
    }
}

const INT: hound::SampleFormat = hound::SampleFormat::Int;

// ---- WAV ----

#[test]
fn wav_hound_made_16k_mono_decodes() {
    // The generator below is right, so the failures that follow are the readers' doing.
    let ok = hound_wav(spec(1, 16_000, 16, INT), 8000);
    let samples = wav::decode_clip("ok.wav", &ok).unwrap();
    assert_eq!(samples[999], 999.0 / 32768.0);
}

#[test]
fn wav_truncated() {
    let mut clip = reference_clip();
    clip.truncate(44 + 1000);
    let (file, problem) = bad_file(wav::decode_clip("cut.wav", &clip));
    assert_eq!(file, "cut.wav");
    assert_eq!(
        problem,
        "truncated: data chunk declares 32000 bytes, 1000 present"
    );
}

#[test]
fn wav_truncated_inside_the_header() {
    let clip = reference_clip();
    let (file, problem) = bad_file(wav::decode_clip("head.wav", &clip[..30]));
    assert_eq!(file, "head.wav");
    assert_contains(&problem, "truncated");
}

#[test]
fn wav_huge_declared_data_size_is_truncation_not_an_allocation() {
    let mut clip = reference_clip();
    clip[40..44].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    let (file, problem) = bad_file(wav::decode_clip("liar.wav", &clip));
    assert_eq!(file, "liar.wav");
    assert_eq!(
        problem,
        "truncated: data chunk declares 4294967280 bytes, 32000 present"
    );
}

#[test]
fn wav_not_riff() {
    let (file, problem) = bad_file(wav::decode_clip(
        "notes.wav",
        b"these are not the bytes of a sound",
    ));
    assert_eq!(file, "notes.wav");
    assert_eq!(problem, "not a RIFF/WAVE file");
    let (_, problem) = bad_file(wav::decode_clip("x.wav", b"RIFF\0\0\0\0AVI LIST"));
    assert_eq!(problem, "not a RIFF/WAVE file");
}

#[test]
fn wav_wrong_sample_rate() {
    let bytes = hound_wav(spec(1, 44_100, 16, INT), 4410);
    let (file, problem) = bad_file(wav::decode_clip("cd.wav", &bytes));
    assert_eq!(file, "cd.wav");
    assert_eq!(problem, "sample rate 44100 Hz, expected 16000");
}

#[test]
fn wav_stereo() {
    let bytes = hound_wav(spec(2, 16_000, 16, INT), 1600);
    let (file, problem) = bad_file(wav::decode_clip("stereo.wav", &bytes));
    assert_eq!(file, "stereo.wav");
    assert_eq!(problem, "2 channels, expected mono");
}

#[test]
fn wav_several_problems_are_listed_together() {
    let bytes = hound_wav(spec(2, 8_000, 24, INT), 800);
    let (_, problem) = bad_file(wav::decode_clip("all.wav", &bytes));
    assert_eq!(
        problem,
        "24-bit PCM, expected 16-bit; 2 channels, expected mono; sample rate 8000 Hz, expected 16000"
    );
}

#[test]
fn wav_float() {
    let bytes = hound_wav(spec(1, 16_000, 32, hound::SampleFormat::Float), 1600);
    let (file, problem) = bad_file(wav::decode_clip("float.wav", &bytes));
    assert_eq!(file, "float.wav");
    assert_eq!(problem, "not PCM (format: float)");
}

#[test]
fn wav_8_and_24_bit() {
    for bits in [8u16, 24, 32] {
        let bytes = hound_wav(spec(1, 16_000, bits, INT), 1600);
        let (file, problem) = bad_file(wav::decode_clip("depth.wav", &bytes));
        assert_eq!(file, "depth.wav");
        assert_eq!(problem, format!("{bits}-bit PCM, expected 16-bit"));
    }
}

#[test]
fn wav_compressed_format_names_the_format() {
    let mut clip = reference_clip();
    clip[20..22].copy_from_slice(&6u16.to_le_bytes()); // A-law
    let (file, problem) = bad_file(wav::decode_clip("alaw.wav", &clip));
    assert_eq!(file, "alaw.wav");
    assert_contains(&problem, "not PCM (format: A-law");
}

#[test]
fn wav_empty_data() {
    let bytes = hound_wav(spec(1, 16_000, 16, INT), 0);
    let (file, problem) = bad_file(wav::decode_clip("silent.wav", &bytes));
    assert_eq!(file, "silent.wav");
    assert_eq!(problem, "no samples: the data chunk is empty");
}

#[test]
fn wav_empty_file() {
    let (file, problem) = bad_file(wav::decode_clip("zero.wav", b""));
    assert_eq!(file, "zero.wav");
    assert_eq!(problem, "empty file");
}

#[test]
fn wav_mutated_headers_never_panic() {
    let clip = reference_clip();
    let mut rng = StdRng::seed_from_u64(2022);
    let mut errors = 0;
    for _ in 0..5000 {
        let mut bytes = clip.clone();
        for _ in 0..rng.random_range(1..4) {
            let at = rng.random_range(0..64);
            bytes[at] = rng.random();
        }
        let cut = rng.random_range(0..bytes.len() + 1);
        if rng.random_bool(0.3) {
            bytes.truncate(cut);
        }
        match wav::decode_clip("fuzz.wav", &bytes) {
            Ok(samples) => assert_eq!(samples.len(), wav::CLIP_SAMPLES),
            Err(GapError::BadFile { file, .. }) => {
                assert_eq!(file, "fuzz.wav");
                errors += 1;
            }
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    assert!(errors > 1000, "most mutations are caught: {errors}");
}

// ---- archives ----

/// A `.tar.gz` of regular files, made with the `tar` crate.
fn tar_gz(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    for (path, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        builder.append_data(&mut header, path, *data).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn keep_all(_: &str) -> bool {
    true
}

fn small_archive() -> Vec<u8> {
    let clip = reference_clip();
    let text: Vec<u8> = (0..20_000u32)
        .flat_map(|i| format!("line {i} of a review\n").into_bytes())
        .collect();
    tar_gz(&[
        ("yes/a_nohash_0.wav", &clip),
        ("notes/long.txt", &text),
        ("no/b_nohash_0.wav", &clip),
    ])
}

#[test]
fn archive_built_in_tests_reads_back() {
    let entries = archive::read_tar_gz(
        "small.tar.gz",
        &small_archive(),
        &Limits::default(),
        &keep_all,
    )
    .unwrap();
    let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        ["no/b_nohash_0.wav", "notes/long.txt", "yes/a_nohash_0.wav"]
    );
    assert_eq!(entries[0].bytes, reference_clip());
}

#[test]
fn archive_corrupt_gzip() {
    let good = small_archive();
    // Flip bytes at several places in the compressed body: each must be an error, whether
    // the deflate stream breaks, the tar headers break, or only the gzip checksum notices.
    for at in [20, good.len() / 3, good.len() / 2, good.len() - 12] {
        let mut bad = good.clone();
        for b in &mut bad[at..at + 4] {
            *b ^= 0x5a;
        }
        let (archive, problem) = bad_archive(archive::read_tar_gz(
            "flipped.tar.gz",
            &bad,
            &Limits::default(),
            &keep_all,
        ));
        assert_eq!(archive, "flipped.tar.gz");
        assert!(
            problem.contains("corrupt")
                || problem.contains("not a tar")
                || problem.contains("checksum"),
            "flip at {at}: {problem}"
        );
    }
}

#[test]
fn archive_corrupt_gzip_checksum_only() {
    let mut bad = small_archive();
    let n = bad.len();
    bad[n - 8] ^= 1; // CRC32 in the gzip trailer: the data itself decodes fine
    let (archive, problem) = bad_archive(archive::read_tar_gz(
        "crc.tar.gz",
        &bad,
        &Limits::default(),
        &keep_all,
    ));
    assert_eq!(archive, "crc.tar.gz");
    assert_contains(&problem, "checksum");
}

#[test]
fn archive_truncated() {
    let good = small_archive();
    for cut in [good.len() / 2, good.len() - 4] {
        let (archive, problem) = bad_archive(archive::read_tar_gz(
            "cut.tar.gz",
            &good[..cut],
            &Limits::default(),
            &keep_all,
        ));
        assert_eq!(archive, "cut.tar.gz");
        assert_contains(&problem, "truncated");
    }
}

#[test]
fn archive_gzip_that_is_not_a_tar() {
    for (content, expected) in [
        (b"just some text, gzipped".to_vec(), "not a tar archive"),
        (b"0123456789".repeat(300), "not a tar archive"),
    ] {
        let (archive, problem) = bad_archive(archive::read_tar_gz(
            "text.gz",
            &gzip(&content),
            &Limits::default(),
            &keep_all,
        ));
        assert_eq!(archive, "text.gz");
        assert_contains(&problem, expected);
    }
}

#[test]
fn archive_empty_file() {
    let (archive, problem) = bad_archive(archive::read_tar_gz(
        "empty.tar.gz",
        b"",
        &Limits::default(),
        &keep_all,
    ));
    assert_eq!(archive, "empty.tar.gz");
    assert_eq!(problem, "empty file");
}

#[test]
fn archive_not_gzip() {
    let (archive, problem) = bad_archive(archive::read_tar_gz(
        "clip.tar.gz",
        &reference_clip(),
        &Limits::default(),
        &keep_all,
    ));
    assert_eq!(archive, "clip.tar.gz");
    assert_contains(
        &problem,
        "not a tar archive, gzip-compressed or plain (starts with 52 49",
    );
}

#[test]
fn archive_with_zero_entries() {
    let empty = tar_gz(&[]);
    let (archive, problem) = bad_archive(archive::read_tar_gz(
        "none.tar.gz",
        &empty,
        &Limits::default(),
        &keep_all,
    ));
    assert_eq!(archive, "none.tar.gz");
    assert_contains(&problem, "no entries");
}

/// A tar member whose name field holds exactly `path`, bypassing the builder's own checks.
fn append_raw(builder: &mut tar::Builder<impl Write>, path: &[u8], data: &[u8]) {
    let mut header = tar::Header::new_gnu();
    header.as_old_mut().name[..path.len()].copy_from_slice(path);
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    builder.append(&header, data).unwrap();
}

#[test]
fn archive_escaping_paths_are_ignored() {
    let clip = reference_clip();
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    append_raw(&mut builder, b"../evil.wav", &clip);
    append_raw(&mut builder, b"yes/../../evil2.wav", &clip);
    append_raw(&mut builder, b"/abs/evil3.wav", &clip);
    append_raw(&mut builder, b"./yes/good_nohash_0.wav", &clip);
    let bytes = builder.into_inner().unwrap().finish().unwrap();

    let asked = RefCell::new(Vec::new());
    let keep = |p: &str| {
        asked.borrow_mut().push(p.to_string());
        true
    };
    let entries = archive::read_tar_gz("evil.tar.gz", &bytes, &Limits::default(), &keep).unwrap();
    let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["yes/good_nohash_0.wav"]);
    assert_eq!(
        *asked.borrow(),
        ["yes/good_nohash_0.wav"],
        "escaping paths never reach keep"
    );
}

#[test]
fn archive_decompression_bomb_hits_the_limit() {
    // 100 MB of zeros compress to ~100 KB.
    let size = 100_000_000u64;
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o644);
    builder
        .append_data(
            &mut header,
            "yes/zeros_nohash_0.wav",
            io::repeat(0).take(size),
        )
        .unwrap();
    let bomb = builder.into_inner().unwrap().finish().unwrap();
    assert!(bomb.len() < 1_000_000, "{} bytes compressed", bomb.len());

    let limits = Limits {
        max_total_bytes: 10_000_000,
        max_entries: 10,
        max_entry_bytes: 10_000_000,
    };
    let (archive, problem) = bad_archive(archive::read_tar_gz(
        "bomb.tar.gz",
        &bomb,
        &limits,
        &keep_all,
    ));
    assert_eq!(archive, "bomb.tar.gz");
    assert_contains(&problem, "yes/zeros_nohash_0.wav");
    assert_contains(&problem, "limit of 10000000 bytes");

    // Skipped, the same entry costs no memory and is no error.
    let none = archive::read_tar_gz("bomb.tar.gz", &bomb, &limits, &|_| false).unwrap();
    assert!(none.is_empty());
}

#[test]
fn archive_total_and_count_limits() {
    let mb = vec![7u8; 1_000_000];
    let files: Vec<(String, &[u8])> = (0..12).map(|i| (format!("f{i:02}.bin"), &mb[..])).collect();
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(p, d)| (p.as_str(), *d)).collect();
    let bytes = tar_gz(&refs);

    let total = Limits {
        max_total_bytes: 5_500_000,
        max_entries: 100,
        max_entry_bytes: 2_000_000,
    };
    let (_, problem) = bad_archive(archive::read_tar_gz(
        "many.tar.gz",
        &bytes,
        &total,
        &keep_all,
    ));
    assert_eq!(
        problem,
        "the kept entries exceed the limit of 5500000 bytes in total (at entry f05.bin)"
    );

    let count = Limits {
        max_entries: 10,
        ..Limits::default()
    };
    let (_, problem) = bad_archive(archive::read_tar_gz(
        "many.tar.gz",
        &bytes,
        &count,
        &keep_all,
    ));
    assert_eq!(problem, "too many entries: more than 10");
}

#[test]
fn archive_huge_long_name_record_is_refused() {
    // A GNU long-name record is buffered whole by the tar crate; 8 MiB of name must be refused.
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    let mut header = tar::Header::new_gnu();
    header.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
    header.set_entry_type(tar::EntryType::GNULongName);
    let name = vec![b'a'; 8 << 20];
    header.set_size(name.len() as u64);
    header.set_cksum();
    builder.append(&header, &name[..]).unwrap();
    append_raw(&mut builder, b"short.txt", b"x");
    let bytes = builder.into_inner().unwrap().finish().unwrap();
    let (archive, problem) = bad_archive(archive::read_tar_gz(
        "longname.tar.gz",
        &bytes,
        &Limits::default(),
        &keep_all,
    ));
    assert_eq!(archive, "longname.tar.gz");
    assert_contains(&problem, "long name or PAX record");
}

#[test]
fn real_archive_over_a_small_entry_limit_is_refused() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/datasets/cifar-10-binary-subset.tar.gz");
    let limits = Limits {
        max_entry_bytes: 1 << 20,
        ..Limits::default()
    };
    let (archive, problem) = bad_archive(archive::load_entries(&path, &limits, &cifar::wanted));
    assert_eq!(archive, path.display().to_string());
    assert_contains(
        &problem,
        "cifar-10-batches-bin/data_batch_1.bin declares 30730000 bytes",
    );
}

#[test]
fn load_entries_missing_path_is_io() {
    let missing = std::env::temp_dir().join("gaplab-surely-missing-dataset.tar.gz");
    match archive::load_entries(&missing, &Limits::default(), &keep_all) {
        Err(GapError::Io { path, source }) => {
            assert_eq!(path, missing.display().to_string());
            assert_eq!(source.kind(), io::ErrorKind::NotFound);
        }
        other => panic!("expected GapError::Io, got {other:?}"),
    }
}

#[test]
fn load_entries_plain_file_is_not_an_archive() {
    let dir = TempDir::new("plain");
    let file = dir.0.join("speech.tar.gz");
    fs::write(&file, b"PK\x03\x04 a zip file, renamed").unwrap();
    let (archive, problem) =
        bad_archive(archive::load_entries(&file, &Limits::default(), &keep_all));
    assert_eq!(archive, file.display().to_string());
    assert_contains(&problem, "neither a folder nor a tar archive");
}

/// A fresh folder under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("gaplab-bad-{tag}-{}", std::process::id()));
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

// ---- dataset readers ----

#[test]
fn imdb_review_not_utf8() {
    let bad_text = b"A fine film, caf\xe9 scenes and all.";
    let bytes = tar_gz(&[
        ("aclImdb/train/pos/0_9.txt", b"Great."),
        ("aclImdb/train/neg/1_2.txt", bad_text),
    ]);
    let entries =
        archive::read_tar_gz("reviews.tar.gz", &bytes, &Limits::default(), &imdb::wanted).unwrap();
    let (file, problem) = bad_file(imdb::from_entries("reviews.tar.gz", entries));
    assert_eq!(file, "reviews.tar.gz/aclImdb/train/neg/1_2.txt");
    assert_eq!(problem, "not UTF-8: invalid byte at offset 16");
}

#[test]
fn imdb_test_only_is_fine_and_nothing_is_an_error() {
    let entries = vec![Entry {
        path: "test/pos/3_8.txt".into(),
        bytes: b"Good.".to_vec(),
    }];
    let data = imdb::from_entries("eval-copy", entries).unwrap();
    assert!(data.train.is_empty());
    assert_eq!(data.test.len(), 1);

    let unlabelled = vec![Entry {
        path: "aclImdb/train/unsup/0_0.txt".into(),
        bytes: b"Hm.".to_vec(),
    }];
    let (dataset, problem) = bad_dataset(imdb::from_entries("unsup-only", unlabelled));
    assert_eq!(dataset, "unsup-only");
    assert_contains(&problem, "no reviews");
}

fn records(labels: &[u8]) -> Vec<u8> {
    labels
        .iter()
        .flat_map(|&l| std::iter::once(l).chain(std::iter::repeat_n(128, cifar::IMAGE_BYTES)))
        .collect()
}

#[test]
fn cifar_truncated_record() {
    let mut bytes = records(&[0, 1]);
    bytes.extend_from_slice(&[3; 100]);
    let (file, problem) = bad_file(cifar::parse_batch("data_batch_1.bin", &bytes));
    assert_eq!(file, "data_batch_1.bin");
    assert_eq!(
        problem,
        "truncated record: 100 bytes after 2 whole records of 3073 bytes"
    );
}

#[test]
fn cifar_bad_label_byte() {
    let bytes = records(&[0, 9, 10, 1]);
    let (file, problem) = bad_file(cifar::parse_batch("test_batch.bin", &bytes));
    assert_eq!(file, "test_batch.bin");
    assert_eq!(
        problem,
        "record 2 (byte offset 6146): label byte 10, expected 0 to 9"
    );
}

#[test]
fn cifar_empty_batch() {
    let (file, problem) = bad_file(cifar::parse_batch("data_batch_2.bin", b""));
    assert_eq!(file, "data_batch_2.bin");
    assert_eq!(problem, "empty file");
}

#[test]
fn cifar_errors_inside_a_dataset_name_the_entry() {
    let entries = vec![
        Entry {
            path: "c/batches.meta.txt".into(),
            bytes: b"cat\ndog\n".to_vec(),
        },
        Entry {
            path: "c/test_batch.bin".into(),
            bytes: records(&[1]),
        },
    ];
    let (file, problem) = bad_file(cifar::from_entries("cifar.tar.gz", entries));
    assert_eq!(file, "cifar.tar.gz/c/batches.meta.txt");
    assert_eq!(problem, "lists 2 class names, expected 10");

    let twice = vec![
        Entry {
            path: "a/test_batch.bin".into(),
            bytes: records(&[1]),
        },
        Entry {
            path: "b/test_batch.bin".into(),
            bytes: records(&[2]),
        },
    ];
    let (_, problem) = bad_dataset(cifar::from_entries("doubled", twice));
    assert_eq!(
        problem,
        "two copies of one file: a/test_batch.bin and b/test_batch.bin"
    );
}

#[test]
fn cifar_no_images() {
    let entries = vec![Entry {
        path: "c/readme.html".into(),
        bytes: b"<html>".to_vec(),
    }];
    let (dataset, problem) = bad_dataset(cifar::from_entries("wrong.tar.gz", entries));
    assert_eq!(dataset, "wrong.tar.gz");
    assert_contains(&problem, "no images");
}

#[test]
fn speech_bad_clip_names_the_entry() {
    let clip = reference_clip();
    let entries = vec![
        Entry {
            path: "yes/a_nohash_0.wav".into(),
            bytes: clip.clone(),
        },
        Entry {
            path: "yes/b_nohash_0.wav".into(),
            bytes: clip[..500].to_vec(),
        },
    ];
    let (file, problem) = bad_file(speech::from_entries(
        "speech.tar.gz",
        entries,
        ClassSet::Ten,
    ));
    assert_eq!(file, "speech.tar.gz/yes/b_nohash_0.wav");
    assert_eq!(
        problem,
        "truncated: data chunk declares 32000 bytes, 456 present"
    );
}

#[test]
fn speech_dataset_with_no_samples() {
    let bytes = tar_gz(&[
        ("LICENSE", b"CC BY 4.0"),
        ("_background_noise_/white.wav", &reference_clip()),
    ]);
    let entries = archive::read_tar_gz(
        "noise.tar.gz",
        &bytes,
        &Limits::default(),
        &speech::wanted(ClassSet::Ten),
    )
    .unwrap();
    assert!(entries.is_empty());
    let (dataset, problem) =
        bad_dataset(speech::from_entries("noise.tar.gz", entries, ClassSet::Ten));
    assert_eq!(dataset, "noise.tar.gz");
    assert_contains(&problem, "no clips");
}

/// Gives out `data` a few bytes at a time, then fails (or ends) at `fail_at`.
struct Trickle {
    data: Vec<u8>,
    pos: usize,
    fail_at: Option<usize>,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.fail_at.is_some_and(|at| self.pos >= at) {
            return Err(io::Error::other("disk on fire"));
        }
        let n = buf.len().min(3).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[test]
fn archive_reader_with_short_reads_gives_the_same_entries() {
    let bytes = small_archive();
    let whole =
        archive::read_tar_gz("small.tar.gz", &bytes, &Limits::default(), &keep_all).unwrap();
    let trickle = Trickle {
        data: bytes,
        pos: 0,
        fail_at: None,
    };
    let streamed =
        archive::read_tar_gz_from("small.tar.gz", trickle, &Limits::default(), &keep_all).unwrap();
    assert_eq!(whole, streamed);
}

#[test]
fn archive_reader_failure_is_io_naming_the_source() {
    for fail_at in [0, 1000] {
        let trickle = Trickle {
            data: small_archive(),
            pos: 0,
            fail_at: Some(fail_at),
        };
        match archive::read_tar_gz_from("upload.tar.gz", trickle, &Limits::default(), &keep_all) {
            Err(GapError::Io { path, source }) => {
                assert_eq!(path, "upload.tar.gz");
                assert_eq!(source.to_string(), "disk on fire");
            }
            other => panic!("expected GapError::Io, got {other:?}"),
        }
    }
}
