//! The native half of "same results both sides": the pretrained models in `www/models/`
//! predict, natively, what `tests/fixtures/native_predictions.json` records; `tests/web.rs`
//! checks the same file inside the browser (wasm). `GAPLAB_BLESS=1 cargo test --test
//! web_parity` rewrites the fixture after `scripts/make_models.sh` retrains the models.
#![cfg(not(target_arch = "wasm32"))]

use burn::prelude::*;
use gaplab::data::demo;
use gaplab::page::{self, LoadedModel};
use gaplab::model::Task;
use serde_json::{Value, json};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/native_predictions.json");
const MODELS: [(Task, &str, &str); 10] = [
    // The page's default pair: int8 weights, 101 centred MFCC frames.
    (Task::Sound, "www/models/sound-large-fc.gaplab", "www/data/speech-demo.tar.gz"),
    (Task::Sound, "www/models/sound-large-gap.gaplab", "www/data/speech-demo.tar.gz"),
    (Task::Sound, "www/models/sound-small-fc.gaplab", "www/data/speech-demo.tar.gz"),
    (Task::Sound, "www/models/sound-small-gap.gaplab", "www/data/speech-demo.tar.gz"),
    (Task::Text, "www/models/text-conv1d-fc.gaplab", "www/data/imdb-demo.tar.gz"),
    (Task::Text, "www/models/text-conv1d-gap.gaplab", "www/data/imdb-demo.tar.gz"),
    (Task::Text, "www/models/text-bag-fc.gaplab", "www/data/imdb-demo.tar.gz"),
    (Task::Text, "www/models/text-bag-gap.gaplab", "www/data/imdb-demo.tar.gz"),
    (Task::Image, "www/models/image-strip-fc.gaplab", "www/data/cifar-demo.tar.gz"),
    (Task::Image, "www/models/image-strip-gap.gaplab", "www/data/cifar-demo.tar.gz"),
];
/// Samples spread over each demo set, clean and triggered at both ends.
const INDICES: [usize; 3] = [0, 7, 41];
const TRIGGERS: [&str; 3] = ["none", "start", "end"];

fn native_predictions() -> Value {
    let device = Device::flex();
    let mut cases = Vec::new();
    for (task, model_path, data_path) in MODELS {
        let bytes = std::fs::read(concat_path(model_path)).unwrap_or_else(|e| panic!("{model_path}: {e}"));
        let model = LoadedModel::from_bytes(model_path, bytes, &device).expect("model");
        let data = demo::load(task, 10).expect("demo data");
        let mut predictions = Vec::new();
        for index in INDICES {
            let view = page::sample(&data, index).expect("sample");
            for trigger in TRIGGERS {
                let raw = view.raw().expect("a sample");
                let t = page::parse_trigger(trigger).expect("trigger");
                let p = pollster::block_on(page::predict(&model, raw, t, &device)).expect("predict");
                predictions.push(json!({ "index": index, "trigger": trigger, "probabilities": p.probabilities }));
            }
        }
        cases.push(json!({ "task": task.name(), "model": model_path, "data": data_path, "predictions": predictions }));
    }
    json!({ "cases": cases })
}

fn concat_path(rel: &str) -> String {
    format!("{}/{rel}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn pretrained_models_predict_what_the_fixture_records() {
    let ours = native_predictions();
    if std::env::var_os("GAPLAB_BLESS").is_some() {
        std::fs::write(FIXTURE, serde_json::to_string_pretty(&ours).expect("json")).expect("write fixture");
        return;
    }
    let text = std::fs::read_to_string(FIXTURE).expect("fixture (GAPLAB_BLESS=1 writes it)");
    let want: Value = serde_json::from_str(&text).expect("fixture JSON");
    let (ours, want) = (ours["cases"].as_array().unwrap(), want["cases"].as_array().unwrap());
    assert_eq!(ours.len(), want.len());
    for (o, w) in ours.iter().zip(want) {
        assert_eq!(o["model"], w["model"]);
        for (po, pw) in o["predictions"].as_array().unwrap().iter().zip(w["predictions"].as_array().unwrap()) {
            let a: Vec<f64> = po["probabilities"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
            let b: Vec<f64> = pw["probabilities"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
            let err = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
            assert!(err <= 1e-5, "{} sample {} trigger {}: {a:?} vs fixture {b:?}", o["model"], po["index"], po["trigger"]);
        }
    }
}
