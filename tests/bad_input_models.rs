//! Bad model files and bad CLI input: a clear error naming the file and the problem, a
//! non-zero exit, never a panic.
#![cfg(not(target_arch = "wasm32"))]

use burn::prelude::*;
use gaplab::GapError;
use gaplab::trigger::PoisonConfig;
use gaplab::features::text::Vocab;
use gaplab::model::{Arch, Head, ModelSpec, Net, Task};
use gaplab::store::{self, ModelHeader};
use gaplab::train::TrainSettings;
use std::process::Command;

fn header(task: Task, arch: Arch) -> ModelHeader {
    let classes = task.class_counts()[0];
    let names = if task == Task::Text { 2 } else { classes };
    ModelHeader {
        spec: ModelSpec::new(task, arch, Head::Gap, classes).unwrap(),
        classes: (0..names).map(|i| format!("class{i}")).collect(),
        poison: PoisonConfig::paper(task, None),
        settings: TrainSettings::paper(task),
        seed: 1,
        vocab: (task == Task::Text).then(|| Vocab::build(["a b c"], 10)),
        summary: None,
    }
}

fn model_bytes(task: Task, arch: Arch) -> Vec<u8> {
    let device = Device::flex();
    let h = header(task, arch);
    store::save(&h, &Net::init(&h.spec, &device)).unwrap()
}

fn load_err(bytes: &[u8]) -> String {
    match store::load("m.gaplab", bytes, &Device::flex()) {
        Err(e @ GapError::BadModel { .. }) => e.to_string(),
        Err(other) => panic!("wrong error kind: {other:?}"),
        Ok(_) => panic!("a bad model file loaded"),
    }
}

#[test]
fn a_valid_model_file_round_trips() {
    let bytes = model_bytes(Task::Image, Arch::Strip);
    let (h, _) = store::load("m.gaplab", &bytes, &Device::flex()).unwrap();
    assert_eq!(h, header(Task::Image, Arch::Strip));
}

/// A trained model's summary reads back as it was written, for the figures that serde_json's
/// default parser would miss by one unit in the last place (seen in CI: 29.774623515000002).
#[test]
fn a_training_summary_reads_back_exactly() {
    let device = Device::flex();
    for (loss, seconds) in [(3.506345662474632, 29.774623515000002), (0.12345678901234567, 1234.5678901234567), (2.302585092994046, 0.1)] {
        let mut h = header(Task::Image, Arch::Strip);
        h.summary = Some(store::TrainSummary::new(3, 5, loss, seconds, "flex".into()));
        let kept = h.summary.as_ref().unwrap();
        assert!((kept.best_val_loss - loss).abs() <= loss * 1e-11, "{} vs {loss}", kept.best_val_loss);
        assert!((kept.seconds - seconds).abs() <= 5e-4, "{} vs {seconds}", kept.seconds);
        let bytes = store::save(&h, &Net::init(&h.spec, &device)).unwrap();
        let (back, _) = store::load("m.gaplab", &bytes, &device).unwrap();
        assert_eq!(back, h);
    }
}

#[test]
fn empty_and_foreign_files_are_refused() {
    assert!(load_err(&[]).contains("m.gaplab: empty file"));
    assert!(load_err(b"RIFF\0\0\0\0WAVEfmt ").contains("wrong magic"));
    assert!(load_err(b"GAPLAB\x01\n\x10").contains("truncated"));
}

#[test]
fn truncated_and_corrupt_model_files_are_refused() {
    let bytes = model_bytes(Task::Sound, Arch::Small);
    // Cut inside the header, at the end of the header, and inside the weights.
    let header_len = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
    assert!(load_err(&bytes[..20]).contains("truncated"));
    assert!(load_err(&bytes[..12 + header_len]).contains("no weights"));
    for cut in [12 + header_len + 10, bytes.len() / 2, bytes.len() - 100] {
        let msg = load_err(&bytes[..cut]);
        assert!(msg.contains("m.gaplab"), "{msg}");
    }
    // Garbage instead of JSON.
    let mut corrupt = bytes.clone();
    corrupt[12..12 + 8].copy_from_slice(b"\xff\xfe{{{{{{");
    assert!(load_err(&corrupt).contains("corrupt header"));
    // Flipped bytes in the weights area.
    let mut flipped = bytes.clone();
    for b in &mut flipped[12 + header_len..12 + header_len + 64] {
        *b ^= 0xa5;
    }
    load_err(&flipped);
}

#[test]
fn a_header_that_contradicts_its_weights_is_refused() {
    // Weights of the small CNN under a header that says large CNN.
    let small = model_bytes(Task::Sound, Arch::Small);
    let header_len = u32::from_le_bytes(small[8..12].try_into().unwrap()) as usize;
    let json = serde_json::to_vec(&header(Task::Sound, Arch::Large)).unwrap();
    let mut lying = b"GAPLAB\x01\n".to_vec();
    lying.extend_from_slice(&(json.len() as u32).to_le_bytes());
    lying.extend_from_slice(&json);
    lying.extend_from_slice(&small[12 + header_len..]);
    assert!(load_err(&lying).contains("do not fit"), "{}", load_err(&lying));
}

#[test]
fn a_model_of_another_task_is_refused() {
    let bytes = model_bytes(Task::Text, Arch::Bag);
    let err = store::load_for("m.gaplab", &bytes, Task::Image, &Device::flex()).unwrap_err();
    assert!(err.to_string().contains("a text model, but the data is image"), "{err}");
}

fn gaplab(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gaplab")).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!stderr.contains("panicked"), "the CLI panicked: {stderr}");
    (out.status.success(), stderr)
}

#[test]
fn the_cli_exits_non_zero_with_the_message() {
    let dir = std::env::temp_dir().join(format!("gaplab-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = |name: &str| dir.join(name).display().to_string();

    std::fs::write(path("corrupt.gaplab"), b"GAPLAB\x01\n\xff\xff\xff\xff").unwrap();
    let (ok, err) = gaplab(&["eval", "--model", &path("corrupt.gaplab")]);
    assert!(!ok && err.contains("corrupt.gaplab") && err.contains("truncated or corrupt"), "{err}");

    std::fs::write(path("short.wav"), b"RIFF\x24\x00\x00\x00WAVE").unwrap();
    let (ok, err) = gaplab(&["mfcc", &path("short.wav")]);
    assert!(!ok && err.contains("short.wav"), "{err}");

    let (ok, err) = gaplab(&["train", "--task", "image", "--data", &path("missing.tar.gz"), "--save", &path("m")]);
    assert!(!ok && err.contains("missing.tar.gz"), "{err}");

    std::fs::write(path("empty.tar.gz"), b"").unwrap();
    let (ok, err) = gaplab(&["train", "--task", "sound", "--data", &path("empty.tar.gz"), "--save", &path("m")]);
    assert!(!ok && err.contains("empty.tar.gz"), "{err}");

    let (ok, err) = gaplab(&["train", "--task", "image", "--arch", "kim", "--save", &path("m")]);
    assert!(!ok && err.contains("'kim' is a text model, not image"), "{err}");

    let (ok, err) = gaplab(&["train", "--task", "sound", "--trigger-blend", "add", "--save", &path("m")]);
    assert!(!ok && err.contains("the trigger blend is an image setting"), "{err}");
    let (ok, err) = gaplab(&["train", "--task", "image", "--trigger-blend", "mix", "--save", &path("m")]);
    assert!(!ok && err.contains("unknown trigger blend 'mix'"), "{err}");
    let (ok, err) = gaplab(&["grid", "--task", "image", "--trigger-blend", "mix", "--out", &path("g"), "--plan"]);
    assert!(!ok && err.contains("unknown trigger blend 'mix'"), "{err}");

    let (ok, err) = gaplab(&["eval", "--model", &path("corrupt.gaplab"), "--split", "sideways"]);
    assert!(!ok && err.contains("--split"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// int8 model files cut or damaged anywhere in their weights section are refused with the
/// file's name; one whose tensors do not fit the header's network too.
#[test]
fn truncated_and_corrupt_int8_model_files_are_refused() {
    let device = Device::flex();
    let h = header(Task::Sound, Arch::Small);
    let bytes = store::save_as(&h, &Net::init(&h.spec, &device), store::Precision::Int8).unwrap();
    assert!(store::load("m.gaplab", &bytes, &device).is_ok());
    let start = 12 + u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
    for cut in [start + 4, start + 8, start + 11, start + 15, start + 40, (start + bytes.len()) / 2, bytes.len() - 1] {
        let msg = load_err(&bytes[..cut]);
        assert!(msg.contains("m.gaplab") && (msg.contains("truncated") || msg.contains("corrupt")), "cut at {cut}: {msg}");
    }
    // A tensor count far beyond the file, a rank no network has, an unknown encoding.
    for (offset, value) in [(start + 8, 0xff), (start + 13, 9), (start + 12, 7)] {
        let mut bad = bytes.clone();
        bad[offset] = value;
        let msg = load_err(&bad);
        assert!(msg.contains("m.gaplab"), "byte {offset} = {value}: {msg}");
    }
    // The weights of the small CNN under a header that says the large one.
    let mut large = h.clone();
    large.spec = ModelSpec::new(Task::Sound, Arch::Large, Head::Gap, 10).unwrap();
    let json = serde_json::to_vec(&large).unwrap();
    let mut swapped = bytes[..8].to_vec();
    swapped.extend_from_slice(&(json.len() as u32).to_le_bytes());
    swapped.extend_from_slice(&json);
    swapped.extend_from_slice(&bytes[start..]);
    assert!(load_err(&swapped).contains("do not fit"));
}
