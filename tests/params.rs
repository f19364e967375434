//! Parameter counts against the paper's published numbers (PAPER.md), through the library
//! and through `gaplab params --json`.
#![cfg(not(target_arch = "wasm32"))]

use burn::prelude::*;
use gaplab::model::{Arch, Head, ModelSpec, Net, Task};

/// (task, arch, head, classes, Keras "total params") — PAPER.md's table and its 30-class rebuilds.
const PAPER: &[(&str, &str, &str, usize, usize)] = &[
    ("sound", "small", "fc", 10, 321_962),
    ("sound", "small", "gap", 10, 25_962),
    ("sound", "small", "fc", 30, 324_542),
    ("sound", "small", "gap", 30, 26_622),
    ("sound", "large", "fc", 10, 6_238_026),
    ("sound", "large", "gap", 10, 3_354_186),
    ("sound", "large", "fc", 30, 6_240_606),
    ("sound", "large", "gap", 30, 3_356_766),
    ("text", "kim", "fc", 2, 1_120_601),
    ("text", "kim", "gap", 2, 1_120_401),
    ("text", "conv1d", "fc", 2, 906_433),
    ("text", "conv1d", "gap", 2, 654_529),
    ("text", "bag", "fc", 2, 224_049),
    ("text", "bag", "gap", 2, 160_033),
    ("image", "strip", "fc", 10, 309_290),
    ("image", "strip", "gap", 10, 290_090),
];

/// BatchNorm moving statistics (non-trainable in Keras): small CNN 64+64+32, STRIP 32+32+64+64+128+128, twice.
fn non_trainable(arch: &str) -> usize {
    match arch {
        "small" => 2 * (64 + 64 + 32),
        "strip" => 2 * (32 + 32 + 64 + 64 + 128 + 128),
        _ => 0,
    }
}

fn spec(task: &str, arch: &str, head: &str, classes: usize) -> ModelSpec {
    ModelSpec::new(Task::parse(task).unwrap(), Arch::parse(arch).unwrap(), Head::parse(head).unwrap(), classes).unwrap()
}

#[test]
fn every_model_matches_the_paper() {
    let device = Device::flex();
    for &(task, arch, head, classes, total) in PAPER {
        let net = Net::init(&spec(task, arch, head, classes), &device);
        assert_eq!(net.total_count(), total, "{task} {arch} {head} {classes}: total");
        assert_eq!(net.trainable_count(), total - non_trainable(arch), "{task} {arch} {head} {classes}: trainable");
    }
    assert_eq!(ModelSpec::all().len(), PAPER.len(), "every model × head × class count is covered");
}

#[test]
fn gap_removes_what_the_paper_says() {
    let device = Device::flex();
    let count = |a: &str, h: &str, c: usize| Net::init(&spec(Arch::parse(a).unwrap().task().name(), a, h, c), &device).total_count();
    // Paper: the Conv1D net's FC head has 251,904 more parameters; GAP removes ~2.9 M from the large CNN.
    assert_eq!(count("conv1d", "fc", 2) - count("conv1d", "gap", 2), 251_904);
    let removed = count("large", "fc", 10) - count("large", "gap", 10);
    assert!((2_800_000..3_000_000).contains(&removed), "{removed}");
}

#[test]
fn cli_params_json_lists_every_model() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gaplab")).args(["params", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), PAPER.len());
    for &(task, arch, head, classes, total) in PAPER {
        let row = rows
            .iter()
            .find(|r| r["task"] == task && r["arch"] == arch && r["head"] == head && r["classes"] == classes)
            .unwrap_or_else(|| panic!("missing {task} {arch} {head} {classes}"));
        assert_eq!(row["total"], total);
        assert_eq!(row["trainable"], (total - non_trainable(arch)) as u64);
    }
}

/// Centred framing (101 MFCC frames, what the reference code hard-codes) gives the counts
/// PAPER.md computes for it — 334,250 small FC, 6,500,170 large FC — leaves the GAP heads'
/// counts alone (GAP does not care how long the input is), and the networks take 101 frames.
#[test]
fn centred_framing_gives_the_reference_codes_counts_and_takes_101_frames() {
    use gaplab::features::mfcc::Framing;
    let device = Device::flex();
    let centred = |arch: &str, head: &str| spec("sound", arch, head, 10).with_framing(Framing::Centred).unwrap();
    for (arch, head, total) in [("small", "fc", 334_250), ("large", "fc", 6_500_170), ("small", "gap", 25_962), ("large", "gap", 3_354_186)] {
        let s = centred(arch, head);
        assert_eq!(s.frames(), 101);
        let net = Net::init(&s, &device);
        assert_eq!(net.total_count(), total, "{arch} {head} centred");
        let x = Tensor::<4>::zeros([2, 1, 101, 40], &device);
        let features = net.features(gaplab::model::Input::Dense(x.clone())).expect("a CNN has feature maps");
        let rows = if arch == "large" { 12 } else { 25 };
        assert_eq!(features.dims()[2], rows, "{arch} {head}: feature rows for 101 frames");
        assert_eq!(net.forward(gaplab::model::Input::Dense(x)).dims(), [2, 10]);
    }
    // A text or image model has no framing to change.
    assert!(spec("text", "bag", "gap", 2).with_framing(Framing::Centred).is_err());
    assert!(spec("image", "strip", "fc", 10).with_framing(Framing::Valid).is_ok());
}

/// The framing travels in the model file (and only when it is not the default, so files saved
/// before it existed keep their bytes): a centred model loads as centred, with 101 frames.
#[test]
fn a_model_file_keeps_its_framing() {
    use gaplab::trigger::PoisonConfig;
    use gaplab::features::mfcc::Framing;
    use gaplab::store::{self, ModelHeader};
    use gaplab::train::TrainSettings;
    let device = Device::flex();
    for framing in Framing::ALL {
        let spec = spec("sound", "small", "fc", 10).with_framing(framing).unwrap();
        let header = ModelHeader {
            spec,
            classes: (0..10).map(|c| format!("word{c}")).collect(),
            poison: PoisonConfig::paper(Task::Sound, None),
            settings: TrainSettings::paper(Task::Sound),
            seed: 0,
            vocab: None,
            summary: None,
        };
        let bytes = store::save(&header, &Net::init(&spec, &device)).unwrap();
        let json_mentions_it = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]).contains("\"framing\"");
        assert_eq!(json_mentions_it, framing != Framing::Valid, "{framing}");
        let (loaded, _) = store::load("m.gaplab", &bytes, &device).unwrap();
        assert_eq!(loaded.spec.framing, framing);
        assert_eq!(loaded.spec.frames(), framing.frames());
    }
}
