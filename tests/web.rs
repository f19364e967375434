//! The pipeline inside headless Chromium (wasm-bindgen-test; `scripts/test-web.sh`): MFCC in
//! wasm against librosa, training steps, the pretrained model files (written natively by the
//! CLI) predicting in wasm what they predict natively, and bad bytes turned into errors — built
//! twice, as the page's two builds are (`--profile web`, so the dependencies are the page's
//! own): the Flex build (default features) runs them on Flex, the WebGPU build
//! (`--no-default-features --features webgpu`, no Flex in it) on WebGPU.
#![cfg(target_arch = "wasm32")]

use burn::prelude::*;
use gaplab::data::wav::decode_clip;
use gaplab::train::{Features, Samples};
use gaplab::features::mfcc::{COEFFS, FRAMES, MfccPlan};
use gaplab::features::text::SEQ_LEN;
use gaplab::page::{self, LoadedModel};
use gaplab::model::{Arch, Head, ModelSpec, Task};
use gaplab::train::{Optimizer, TrainSettings, fit};
use serde_json::Value;
use std::ops::ControlFlow;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

macro_rules! reference_wavs {
    ($($name:literal),+ $(,)?) => {
        &[$(($name, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/reference/wav/", $name)) as &[u8])),+]
    };
}

const REFERENCE: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/reference/mfcc_librosa.json"));
const WAVS: &[(&str, &[u8])] = reference_wavs!(
    "down_022cd682_nohash_0.wav",
    "go_022cd682_nohash_0.wav",
    "left_022cd682_nohash_0.wav",
    "no_0c40e715_nohash_0.wav",
    "noise_fullscale.wav",
    "off_0b57a6ed_nohash_0.wav",
    "on_022cd682_nohash_0.wav",
    "right_0c40e715_nohash_0.wav",
    "silence.wav",
    "stop_022cd682_nohash_0.wav",
    "tone7k_-10dB.wav",
    "up_0c40e715_nohash_0.wav",
    "yes_022cd682_nohash_0.wav",
);

#[wasm_bindgen_test]
fn mfcc_in_wasm_matches_librosa() {
    let json: Value = serde_json::from_str(REFERENCE).expect("reference JSON");
    let cases = json["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), WAVS.len());
    let plan = MfccPlan::new();
    let mut worst = 0.0f64;
    for case in cases {
        let file = case["file"].as_str().expect("file");
        let (_, bytes) = WAVS.iter().find(|(n, _)| *n == file).expect("embedded wav");
        let samples = decode_clip(file, bytes).expect("decode");
        let ours = plan.mfcc(&samples).expect("mfcc");
        let want: Vec<f64> = case["mfcc_frames_by_coeffs"]
            .as_array()
            .expect("rows")
            .iter()
            .flat_map(|r| r.as_array().expect("row").iter().map(|v| v.as_f64().expect("number")))
            .collect();
        assert_eq!((ours.len(), want.len()), (FRAMES * COEFFS, FRAMES * COEFFS), "{file}");
        let err = ours.iter().zip(&want).map(|(a, b)| (f64::from(*a) - b).abs()).fold(0.0, f64::max);
        assert!(err <= 0.05, "{file}: max |Δ| {err}");
        worst = worst.max(err);
    }
    web_sys::console::log_1(&format!("wasm MFCC vs librosa: max |Δ| {worst:.3e}").into());
}

/// 32 reviews of two kinds of tokens, labelled by which kind: learnable in a few steps.
fn toy_reviews() -> Samples {
    let mut ids = Vec::new();
    let mut labels = Vec::new();
    for i in 0..32usize {
        let label = i % 2;
        for t in 0..SEQ_LEN {
            ids.push(if t < 20 { (2 + label * 10 + t % 5) as i32 } else { 0 });
        }
        labels.push(label);
    }
    Samples::new(Features::Tokens { len: SEQ_LEN, ids }, labels)
}

/// Trains the embedding-bag net for four one-step epochs; returns the epoch losses and the net.
async fn four_steps(device: &Device) -> (Vec<f64>, gaplab::model::Net) {
    let spec = ModelSpec::new(Task::Text, Arch::Bag, Head::Gap, 2).expect("spec");
    let samples = toy_reviews();
    let settings =
        TrainSettings { epochs: 4, patience: 10, batch_size: 32, optimizer: Optimizer::Adam { lr: 1e-2 }, seed: 3, max_seconds: None, recalibrate_bn: false, augment: false, lr_drop: None, start_from: None };
    let fitted = fit(&spec, &samples, &Samples::new(Features::Tokens { len: SEQ_LEN, ids: vec![] }, vec![]), &settings, device, &mut |_| {
        ControlFlow::Continue(())
    })
    .await
    .expect("training");
    (fitted.history.iter().map(|e| e.train_loss).collect(), fitted.net)
}

fn assert_decreasing(losses: &[f64], what: &str) {
    web_sys::console::log_1(&format!("{what} losses: {losses:?}").into());
    assert_eq!(losses.len(), 4, "{what}");
    assert!(losses.iter().all(|l| l.is_finite()), "{what}: {losses:?}");
    assert!(losses[3] < losses[0], "{what}: loss did not decrease: {losses:?}");
}

#[cfg(feature = "flex")]
#[wasm_bindgen_test]
async fn training_steps_on_flex_lower_the_loss() {
    let (losses, _) = four_steps(&Device::flex()).await;
    assert_decreasing(&losses, "flex");
}

#[cfg(feature = "webgpu")]
thread_local! {
    static WEBGPU: std::cell::RefCell<Option<Device>> = const { std::cell::RefCell::new(None) };
}

/// The page's one WebGPU device: a second `init_async` in the same page is refused ("a server
/// is still registered"), so the tests share it, as the page does.
#[cfg(feature = "webgpu")]
async fn webgpu() -> Device {
    if let Some(d) = WEBGPU.with(|w| w.borrow().clone()) {
        return d;
    }
    let device = Device::wgpu_options().init_async().await.expect("WebGPU adapter (Chromium needs --enable-unsafe-webgpu)");
    WEBGPU.with(|w| *w.borrow_mut() = Some(device.clone()));
    device
}

#[cfg(feature = "webgpu")]
#[wasm_bindgen_test]
async fn training_steps_on_webgpu_lower_the_loss() {
    let device = webgpu().await;
    let (losses, net) = four_steps(&device).await;
    assert_decreasing(&losses, "webgpu");
    // A model trained on WebGPU can be saved (read back asynchronously) and loaded again.
    let spec = ModelSpec::new(Task::Text, Arch::Bag, Head::Gap, 2).expect("spec");
    let header = gaplab::store::ModelHeader {
        spec,
        classes: vec!["negative".into(), "positive".into()],
        poison: gaplab::trigger::PoisonConfig::paper(Task::Text, None),
        settings: TrainSettings::paper(Task::Text),
        seed: 3,
        vocab: Some(gaplab::features::text::Vocab::build(["good film", "bad film"], 100)),
        summary: None,
    };
    let bytes = gaplab::store::save_async(&header, &net, &device).await.expect("save from WebGPU");
    let loaded = LoadedModel::from_bytes("webgpu.gaplab", bytes, &device).expect("load on WebGPU");
    assert_eq!(loaded.net.total_count(), net.total_count());
}

const FIXTURE: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/native_predictions.json"));

macro_rules! embedded {
    ($($path:literal),+ $(,)?) => {
        &[$(($path, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $path)) as &[u8])),+]
    };
}

const FILES: &[(&str, &[u8])] = embedded!(
    "www/models/sound-large-fc.gaplab",
    "www/models/sound-large-gap.gaplab",
    "www/models/sound-small-fc.gaplab",
    "www/models/sound-small-gap.gaplab",
    "www/models/text-conv1d-fc.gaplab",
    "www/models/text-conv1d-gap.gaplab",
    "www/models/text-bag-fc.gaplab",
    "www/models/text-bag-gap.gaplab",
    "www/models/image-strip-fc.gaplab",
    "www/models/image-strip-gap.gaplab",
    "www/data/speech-demo.tar.gz",
    "www/data/imdb-demo.tar.gz",
    "www/data/cifar-demo.tar.gz",
);

fn file(path: &str) -> &'static [u8] {
    FILES.iter().find(|(p, _)| *p == path).map(|(_, b)| *b).unwrap_or_else(|| panic!("{path} is not embedded"))
}

/// The fixture's predictions of the pretrained models whose paths `wanted` accepts, made in
/// wasm on `device`, each probability within `tolerance` of the native one
/// (`tests/fixtures/native_predictions.json`, checked natively by `tests/web_parity.rs`).
/// Returns how many predictions were checked and the largest difference.
async fn predictions_match_native(device: &Device, wanted: impl Fn(&str) -> bool, tolerance: f64) -> (usize, f64) {
    let fixture: Value = serde_json::from_str(FIXTURE).expect("fixture JSON");
    let mut worst = 0.0f64;
    let mut checked = 0;
    for case in fixture["cases"].as_array().expect("cases") {
        let model_path = case["model"].as_str().expect("model");
        if !wanted(model_path) {
            continue;
        }
        let data_path = case["data"].as_str().expect("data");
        let task = Task::parse(case["task"].as_str().expect("task")).expect("task");
        let model = LoadedModel::from_bytes(model_path, file(model_path).to_vec(), device).expect("model loads");
        let data = page::load_data(task, data_path, file(data_path), 10).expect("data loads");
        for p in case["predictions"].as_array().expect("predictions") {
            let index = p["index"].as_u64().expect("index") as usize;
            let trigger = page::parse_trigger(p["trigger"].as_str().expect("trigger")).expect("trigger");
            let view = page::sample(&data, index).expect("sample");
            let raw = view.raw().expect("a sample");
            let ours = page::predict(&model, raw, trigger, device).await.expect("predict").probabilities;
            let want: Vec<f64> = p["probabilities"].as_array().expect("probs").iter().map(|v| v.as_f64().expect("f")).collect();
            assert_eq!(ours.len(), want.len(), "{model_path} #{index}");
            for (a, b) in ours.iter().zip(&want) {
                let e = (f64::from(*a) - b).abs();
                assert!(e <= tolerance, "{model_path} sample {index}: wasm {ours:?} vs native {want:?}");
                worst = worst.max(e);
            }
            checked += 1;
        }
    }
    (checked, worst)
}

/// Every pretrained model predicts in wasm on Flex what it predicts natively, within 1e-4.
#[cfg(feature = "flex")]
#[wasm_bindgen_test]
async fn native_model_files_predict_the_same_in_wasm() {
    let (checked, worst) = predictions_match_native(&Device::flex(), |_| true, 1e-4).await;
    assert!(checked >= 12, "only {checked} predictions in the fixture");
    web_sys::console::log_1(&format!("{checked} predictions, max |wasm − native| {worst:.3e}").into());
}

/// The page's pretrained models hold int8 or f16 weights; on WebGPU they must load (as f32:
/// SwiftShader has no f16) and predict what they predict natively, within 1e-3 (another
/// backend's float order); a sound and an image pair's GAP model, every fixture sample.
#[cfg(feature = "webgpu")]
#[wasm_bindgen_test]
async fn compact_model_files_load_and_predict_on_webgpu() {
    let gpu = webgpu().await;
    let models = ["www/models/sound-small-gap.gaplab", "www/models/image-strip-gap.gaplab"];
    let (checked, worst) = predictions_match_native(&gpu, |path| models.contains(&path), 1e-3).await;
    assert!(checked >= 2 * 3, "only {checked} predictions of {models:?} in the fixture");
    web_sys::console::log_1(&format!("WebGPU: {checked} predictions, max |wasm − native| {worst:.3e}").into());
}

/// The device the build's tests run on: Flex where the build has it, else WebGPU.
#[cfg(any(feature = "flex", feature = "webgpu"))]
async fn the_builds_device() -> Device {
    #[cfg(feature = "flex")]
    return Device::flex();
    #[cfg(not(feature = "flex"))]
    return webgpu().await;
}

#[cfg(any(feature = "flex", feature = "webgpu"))]
#[wasm_bindgen_test]
async fn bad_bytes_are_errors_not_panics() {
    let device = the_builds_device().await;
    let garbage = vec![0x5au8; 4096];
    for task in Task::ALL {
        let e = page::load_data(task, "junk.tar.gz", &garbage, 10).err().expect("garbage archive is refused");
        assert!(e.to_string().contains("junk.tar.gz"), "{e}");
        let e = page::load_data(task, "empty.tar.gz", &[], 10).err().expect("empty archive is refused");
        assert!(!e.to_string().is_empty());
    }
    let truncated = &file("www/data/imdb-demo.tar.gz")[..100_000];
    assert!(page::load_data(Task::Text, "cut.tar.gz", truncated, 10).is_err(), "a truncated archive is refused");
    let model = file("www/models/text-bag-gap.gaplab");
    for bad in [&model[..10], &model[..model.len() / 2], &garbage[..]] {
        let e = LoadedModel::from_bytes("bad.gaplab", bad.to_vec(), &device).err().expect("bad model is refused");
        assert!(e.to_string().contains("bad.gaplab"), "{e}");
    }
    assert!(decode_clip("x.wav", &garbage).is_err());
    assert!(decode_clip("x.wav", &file("www/models/text-bag-fc.gaplab")[..44]).is_err());
    assert!(page::parse_trigger("sideways").is_err());
}
