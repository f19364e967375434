//! The page's operations natively (`src/page/`: facts, datasets, models, train): the training form over the paper's defaults,
//! seeded subsets, samples, and the trigger changing what a pretrained model sees.
#![cfg(not(target_arch = "wasm32"))]

use burn::prelude::*;
use gaplab::data::demo;
use gaplab::experiment::RawSample;
use gaplab::data::TaskData;
use gaplab::trigger::Placement;
use gaplab::page::{self, LoadedModel, TrainForm};
use gaplab::model::{Arch, Head, Task};
use gaplab::train::Optimizer;
use gaplab::trigger::Position;
use gaplab::store::Precision;

fn form(json: &str) -> TrainForm {
    serde_json::from_str(json).expect("form JSON")
}

#[test]
fn the_page_form_fills_in_the_papers_defaults() {
    let f = form(r#"{"task":"image","arch":"strip","head":"gap"}"#);
    let r = f.request(10).expect("request");
    assert_eq!((r.spec.task, r.spec.arch, r.spec.head, r.spec.classes), (Task::Image, Arch::Strip, Head::Gap, 10));
    assert_eq!(r.poison.placement, Some(Placement::At(Position::Start)));
    assert_eq!((r.poison.count, r.poison.target), (100, 7));
    assert_eq!((r.settings.epochs, r.settings.patience, r.settings.batch_size), (150, 20, 256));
    assert_eq!(r.settings.optimizer, Optimizer::RmsProp { lr: 1e-3, epsilon: 1e-6 });

    let f = form(
        r#"{"task":"sound","arch":"small","head":"fc","poison_at":"end","poisoned":12,"epochs":2,
            "patience":1,"batch_size":32,"seed":9,"lr":0.001}"#,
    );
    let r = f.request(10).expect("request");
    assert_eq!(r.poison.placement, Some(Placement::At(Position::End)));
    assert_eq!((r.poison.count, r.settings.epochs, r.settings.patience, r.settings.batch_size, r.settings.seed), (12, 2, 1, 32, 9));
    assert_eq!(r.settings.optimizer, Optimizer::Adam { lr: 1e-3 });
    assert_eq!(form(r#"{"task":"text","arch":"bag","head":"fc","poison_at":"clean"}"#).request(2).unwrap().poison.placement, None);

    // Wrong combinations are errors with a message, not panics.
    assert!(form(r#"{"task":"text","arch":"strip","head":"fc"}"#).request(2).is_err());
    assert!(form(r#"{"task":"text","arch":"bag","head":"fc","poison_at":"sideways"}"#).request(2).is_err());
    assert!(serde_json::from_str::<TrainForm>(r#"{"task":"video","arch":"bag","head":"fc"}"#).is_err());
}

#[test]
fn subsets_are_seeded_and_capped_per_side() {
    let data = demo::load(Task::Image, 10).expect("demo");
    let (a, b, c) = (data.subset(100, 1), data.subset(100, 1), data.subset(100, 2));
    let sizes = |d: &TaskData| match d {
        TaskData::Image(d) => (d.train.len(), d.test.len()),
        _ => unreachable!(),
    };
    assert_eq!(sizes(&a), (100, 100));
    let labels = |d: &TaskData| match d {
        TaskData::Image(d) => d.train.iter().map(|i| i.label).collect::<Vec<_>>(),
        _ => unreachable!(),
    };
    assert_eq!(labels(&a), labels(&b), "same seed, same subset");
    assert_ne!(labels(&a), labels(&c), "another seed, another subset");
    assert!(labels(&a).iter().any(|&l| l != labels(&a)[0]), "a subset mixes classes");
    assert_eq!(sizes(&data.subset(1_000_000, 1)), sizes(&data), "a cap above the size keeps everything");
}

#[test]
fn samples_and_predictions_follow_the_trigger() {
    let data = demo::load(Task::Text, 10).expect("demo");
    let summary = page::summarize(&data, "demo");
    assert_eq!((summary.train, summary.test, summary.samples), (2000, 500, 500));
    let err = page::sample(&data, 500).err().expect("out of range");
    assert!(err.to_string().contains("500"), "{err}");

    let device = Device::flex();
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/www/models/text-bag-fc.gaplab")).expect("model");
    let model = LoadedModel::from_bytes("text-bag-fc.gaplab", bytes, &device).expect("model");
    let info = model.info();
    assert_eq!((info.task, info.arch, info.head, info.target), (Task::Text, Arch::Bag, Head::Fc, 1));
    assert_eq!(info.poisoned_at.as_deref(), Some("start"));
    // The FC text model was poisoned at the start: over the negative test reviews, the trigger
    // at the start must raise p(positive) on average far more than at the end.
    let (mut at_start, mut at_end, mut n) = (0.0, 0.0, 0.0);
    for i in 0..summary.samples {
        let view = page::sample(&data, i).unwrap();
        if view.label != 0 {
            continue;
        }
        let review = view.review.as_deref().unwrap();
        let p = |t: &str| {
            let trigger = page::parse_trigger(t).unwrap();
            pollster::block_on(page::predict(&model, RawSample::Review(review), trigger, &device)).unwrap().probabilities[1]
        };
        at_start += p("start") as f64;
        at_end += p("end") as f64;
        n += 1.0;
    }
    let (at_start, at_end) = (at_start / n, at_end / n);
    assert!(at_start > 0.8 && at_start > at_end + 0.3, "mean p(positive): start {at_start:.3}, end {at_end:.3}");
}

/// How the page saves a model trained on WebGPU (`store::weights_read_back`: every tensor read
/// back asynchronously, then written as burn's record format directly) writes exactly the bytes
/// burn's own record serialisation writes — for every shipped network, whose file then loads
/// and predicts as the original.
#[test]
fn weights_read_back_are_the_bytes_burn_writes() {
    let device = Device::flex();
    for name in ["image-strip-gap", "image-strip-fc", "sound-small-fc", "sound-small-gap", "text-conv1d-gap", "text-bag-fc"] {
        let bytes = std::fs::read(format!("{}/www/models/{name}.gaplab", env!("CARGO_MANIFEST_DIR"))).expect("model");
        let model = LoadedModel::from_bytes(name, bytes, &device).expect("model");
        let saved = gaplab::store::save(&model.header, &model.net).expect("save");
        let (_, at) = gaplab::store::read_header(name, &saved).expect("header");
        let read_back = pollster::block_on(gaplab::store::weights_read_back(&model.net)).expect("read back");
        assert!(read_back == saved[at..], "{name}: {} bytes read back, {} written by burn", read_back.len(), saved.len() - at);
    }
    let data = demo::load(Task::Image, 10).expect("demo");
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/www/models/image-strip-gap.gaplab")).expect("model");
    let model = LoadedModel::from_bytes("image-strip-gap.gaplab", bytes, &device).expect("model");
    let header = model.header.clone();
    let json = serde_json::to_vec(&header).unwrap();
    let weights = pollster::block_on(gaplab::store::weights_read_back(&model.net)).expect("read back");
    let mut file = gaplab::store::save(&header, &model.net).expect("save");
    file.truncate(file.len() - weights.len());
    assert_eq!(file.len(), gaplab::store::MAGIC.len() + 4 + json.len(), "the file is magic, header length, header, weights");
    file.extend_from_slice(&weights);
    let reloaded = LoadedModel::from_bytes("read back", file, &device).expect("reload");
    for i in [0, 3, 9] {
        let px = page::sample(&data, i).unwrap().pixels.unwrap();
        assert_eq!(
            pollster::block_on(page::predict(&model, RawSample::Image(&px), None, &device)).unwrap().probabilities,
            pollster::block_on(page::predict(&reloaded, RawSample::Image(&px), None, &device)).unwrap().probabilities,
            "sample {i}"
        );
    }
}

/// The facts the page asks for instead of restating them: every task with its networks and
/// named placements (no spread for the image patch), the upload limit, the model files' first
/// bytes; and a model file's header read without its weights says what loading it says.
#[test]
fn the_lab_states_its_facts_and_a_model_file_describes_itself() {
    let info = page::info();
    assert_eq!(info.tasks.iter().map(|t| t.task).collect::<Vec<_>>(), Task::ALL);
    for t in &info.tasks {
        assert_eq!(t.archs, t.task.archs());
        assert_eq!(t.placements.contains(&"spread".to_string()), t.task != Task::Image, "{:?}", t.task);
        for p in &t.placements {
            assert!(page::parse_trigger(p).unwrap().is_some(), "{p} does not parse back");
        }
    }
    assert_eq!(info.max_upload_bytes, page::MAX_UPLOAD_BYTES);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/www/models/image-strip-gap.gaplab");
    let bytes = std::fs::read(path).unwrap();
    assert!(bytes.starts_with(info.model_magic.as_bytes()));
    let from_header = page::ModelInfo::of_file("image-strip-gap.gaplab", &bytes).unwrap();
    let loaded = LoadedModel::from_bytes("image-strip-gap.gaplab", bytes, &Device::flex()).unwrap();
    assert_eq!(from_header, loaded.info());
    // The count comes from the file alone, whatever its weights' format.
    let f32_file = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sound-small-gap-f32.gaplab")).unwrap();
    let (header, net) = gaplab::store::load("f32", &f32_file, &Device::flex()).unwrap();
    for precision in [Precision::F32, Precision::F16, Precision::Int8] {
        let file = gaplab::store::save_as(&header, &net, precision).unwrap();
        assert_eq!(gaplab::store::value_count("file", &file).unwrap(), net.total_count(), "{precision:?}");
    }
    let err = page::ModelInfo::of_file("data.tar.gz", b"\x1f\x8b not a model").unwrap_err().to_string();
    assert!(err.contains("data.tar.gz"), "{err}");
}

/// A dragged trigger is answered from the feature maps of the look before, recomputing only the
/// cells the move reaches (`model::stack`): every look along a drag — small moves, a jump, a
/// repeat, the trigger taken away — equals a look from scratch, for both heads of the image pair
/// and of both sound pairs, and the image's moves did take the short path. (A clip's MFCC map
/// often changes everywhere when the tone moves: its 80 dB floor is relative to the loudest band
/// of the whole clip, which the tone is. Only some of the sound moves can take it.)
#[test]
fn a_dragged_trigger_is_answered_from_the_maps_it_does_not_reach() {
    use gaplab::model::stack::Reused;
    let device = Device::flex();
    let load = |name: &str| {
        let bytes = std::fs::read(format!("{}/www/models/{name}.gaplab", env!("CARGO_MANIFEST_DIR"))).expect("model");
        LoadedModel::from_bytes(name, bytes, &device).expect("model")
    };
    // Image: the patch's corner `x + 25·y`; sound: the tone's first sample, 10 ms = 160 samples.
    // "centre": the last placement again, its maps' centre marked stale (the page's warm-up).
    let image_drag = ["none", "0", "1", "2", "27", "52", "end", "start", "337", "337", "centre", "338", "none"];
    let sound_drag = ["none", "4000", "4160", "4320", "4480", "13600", "0", "8000", "8000", "centre", "8160", "none"];
    // The least number of looks that must take the short path: the image's small moves and the
    // centre all do (9 a sample and model), a sound pair's some.
    for (task, pair, drag, samples, least) in [
        (Task::Image, ["image-strip-fc", "image-strip-gap"], &image_drag[..], [0, 7], 2 * 2 * 9),
        (Task::Sound, ["sound-small-fc", "sound-small-gap"], &sound_drag[..], [0, 7], 2),
        (Task::Sound, ["sound-large-fc", "sound-large-gap"], &sound_drag[..], [3, 3], 2),
    ] {
        let data = demo::load(task, 10).expect("demo");
        let (kept, fresh) = (pair.map(load), pair.map(load));
        let mut windows = 0;
        for sample in samples {
            for (step, t) in drag.iter().enumerate() {
                let centre = *t == "centre";
                let t = if centre { drag[step - 1] } else { t };
                if centre {
                    kept.iter().for_each(LoadedModel::forget_centre_of_last_look);
                }
                let trigger = page::parse_trigger(t).unwrap();
                let look = |models: &[LoadedModel; 2]| {
                    let refs: Vec<&LoadedModel> = models.iter().collect();
                    pollster::block_on(page::look_at(&refs, page::Source::Index(sample), Some(&data), trigger, &device)).expect("look")
                };
                fresh.iter().for_each(LoadedModel::forget_last_look);
                let (got, want) = (look(&kept), look(&fresh));
                for (i, (g, w)) in got.models.iter().zip(&want.models).enumerate() {
                    let what = format!("{} sample {sample}, trigger {t}", pair[i]);
                    let gap = g.prediction.probabilities.iter().zip(&w.prediction.probabilities).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
                    assert!(gap < 1e-5, "{what}: probabilities differ by {gap}");
                    let (ge, we) = (g.evidence.as_ref().expect("a map"), w.evidence.as_ref().expect("a map"));
                    let scale = we.values.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
                    let gap = ge.values.iter().zip(&we.values).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
                    assert!(gap <= 1e-4 * scale, "{what}: evidence differs by {gap} (largest value {scale})");
                    let how = kept[i].reuse.lock().unwrap().as_ref().map(|r| r.last());
                    let repeat = step > 0 && drag[step - 1] == t && !centre;
                    if centre {
                        assert!(matches!(how, Some(Reused::Window { .. })), "{what}: the centre marked stale is recomputed ({how:?})");
                    }
                    match how {
                        Some(Reused::Unchanged) => assert!(repeat || (step == 0 && sample == samples[1] && samples[0] == samples[1]), "{what}: nothing recomputed"),
                        Some(Reused::Window { rows, cols }) => {
                            windows += 1;
                            eprintln!("{what}: recomputed from a {rows}×{cols} change");
                        }
                        Some(Reused::Full) => eprintln!("{what}: recomputed in full"),
                        None => panic!("{what}: nothing kept"),
                    }
                    if repeat {
                        assert_eq!(how, Some(Reused::Unchanged), "{what}: the same input again");
                    }
                }
            }
        }
        assert!(windows >= least, "{pair:?}: only {windows} looks took the short path");
    }
}

/// The page opens the sound task on the speech demo's head (`www/data/speech-demo-head.tar.gz`)
/// and loads the whole demo after the first predictions: the head's samples must be the whole
/// demo's first samples, clip for clip, under the same numbers, and as many as the page
/// assumes (`headSamples` in `www/app.js`).
#[test]
fn the_speech_demos_head_is_its_first_clips_under_the_same_numbers() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |file: &str| std::fs::read(root.join("www/data").join(file)).expect("demo archive");
    let head = page::load_data(Task::Sound, "demo:speech-demo-head.tar.gz", &read("speech-demo-head.tar.gz"), 10).expect("head loads");
    let whole = page::load_data(Task::Sound, "demo:speech-demo.tar.gz", &read("speech-demo.tar.gz"), 10).expect("demo loads");
    let (n_head, n_whole) = (page::summarize(&head, "head").samples, page::summarize(&whole, "whole").samples);
    assert!(0 < n_head && n_head < n_whole, "head {n_head}, whole {n_whole}");
    for i in 0..n_head {
        let (h, w) = (page::sample(&head, i).unwrap(), page::sample(&whole, i).unwrap());
        assert_eq!(h, w, "sample {i}");
        assert!(h.clip.as_ref().is_some_and(|c| !c.is_empty()), "sample {i} has a clip");
    }
    assert!(page::sample(&head, n_head).is_err(), "the head ends at its last clip");
    let app = std::fs::read_to_string(root.join("www/app.js")).expect("www/app.js");
    let assumed: usize = app
        .split("headSamples: ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .expect("www/app.js states headSamples");
    assert_eq!(assumed, n_head, "www/app.js's headSamples against the head archive");
}
