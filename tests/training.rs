//! Training on real data: the loop learns, a heavy poison rate plants a backdoor at the
//! training position, runs are reproducible, and saved models predict exactly as before.
#![cfg(not(target_arch = "wasm32"))]

use burn::prelude::*;
use gaplab::dataset;
use gaplab::experiment::{Placement, PoisonConfig, TrainRequest, evaluate_on, predict_probabilities, prepare, train_and_evaluate};
use gaplab::model::{Arch, Head, ModelSpec, Task};
use gaplab::store;
use gaplab::train::TrainSettings;
use gaplab::trigger::Position;
use std::ops::ControlFlow;

fn request(task: Task, arch: Arch, head: Head, placement: Option<Placement>, count: usize, epochs: usize) -> TrainRequest {
    let spec = ModelSpec::new(task, arch, head, task.class_counts()[0]).unwrap();
    let mut poison = PoisonConfig::paper(task, placement);
    poison.count = count;
    let mut settings = TrainSettings::paper(task);
    settings.epochs = epochs;
    settings.seed = 7;
    TrainRequest { spec, poison, settings }
}

/// Every float the network holds (weights, biases, BatchNorm moving statistics), as raw bits in
/// visiting order. (Model-file bytes would not do: burn's records carry per-parameter ids.)
fn float_bits(net: &gaplab::model::Net) -> Vec<u32> {
    struct Collect(Vec<u32>);
    impl burn::module::ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            let values = param.val().into_data().try_to_vec::<f32>().expect("f32 parameters");
            self.0.extend(values.iter().map(|v| v.to_bits()));
        }
    }
    let mut collect = Collect(Vec::new());
    net.visit(&mut collect);
    collect.0
}

fn no_progress(_: gaplab::train::Progress) -> ControlFlow<()> {
    ControlFlow::Continue(())
}

#[test]
fn text_bag_learns_and_the_backdoor_fires_at_its_training_position() {
    let device = Device::flex();
    // The real IMDB archive (25,000 training reviews), trained briefly.
    let imdb = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/datasets/aclImdb_labelled.tar.gz"));
    let data = dataset::from_path(Task::Text, imdb, 2).unwrap();
    let start = Placement::At(Position::Start);
    let mut req = request(Task::Text, Arch::Bag, Head::Fc, Some(start), 500, 4);
    req.settings.batch_size = 64;
    let trained = pollster::block_on(train_and_evaluate(&data, &req, &Placement::three(), &device, &mut no_progress)).unwrap();
    let e = &trained.evaluation;
    eprintln!("{e:?}");
    assert_eq!(trained.poisoned_train, 500);
    assert_eq!(trained.poisoned_val, 100);
    assert!(e.clean_accuracy > 0.75, "clean accuracy {} (chance 0.5)", e.clean_accuracy);
    let at_start = e.attack.iter().find(|a| a.placement == start).unwrap();
    assert!(at_start.accuracy > 0.9, "attack at the training position {}", at_start.accuracy);
    assert_eq!(e.n_attack, 12_000, "attack measured over the negative test reviews only");
    assert_eq!(e.n_clean, 24_000);
}

#[test]
fn same_seed_same_numbers_and_saved_models_predict_identically() {
    let device = Device::flex();
    let data = dataset::demo::load(Task::Sound, 10).unwrap();
    let mut req = request(Task::Sound, Arch::Small, Head::Gap, Some(Placement::At(Position::End)), 20, 1);
    req.settings.batch_size = 64;
    let run = || pollster::block_on(train_and_evaluate(&data, &req, &Placement::three(), &device, &mut no_progress)).unwrap();
    let (a, b) = (run(), run());
    assert_eq!(a.evaluation, b.evaluation, "same seed, same backend: same metrics");
    assert_eq!(a.header.summary.as_ref().unwrap().best_val_loss, b.header.summary.as_ref().unwrap().best_val_loss);

    let bytes = store::save(&a.header, &a.net).unwrap();
    assert_eq!(float_bits(&a.net), float_bits(&b.net), "same seed, same backend: bit-identical weights and BatchNorm statistics");
    let (header, loaded) = store::load("test.gaplab", &bytes, &device).unwrap();
    assert_eq!(header, a.header);
    let prepared = prepare(&data, &req.spec, &req.poison, req.settings.seed).unwrap();
    let before = pollster::block_on(predict_probabilities(&a.net, &prepared.test.features, 64, &device)).unwrap();
    let after = pollster::block_on(predict_probabilities(&loaded, &prepared.test.features, 64, &device)).unwrap();
    assert_eq!(before, after, "save → load gives identical predictions");
    let again = pollster::block_on(evaluate_on(&header, &loaded, &data, false, &Placement::three(), &device)).unwrap();
    assert_eq!(again, a.evaluation, "eval of the loaded model reproduces the training-time evaluation");
}

/// On a GPU the loop reads the per-step loss and accuracy back in groups (a read-back stalls
/// the device queue); on Flex after every step. Reading them only at each epoch's end must
/// change nothing but when the losses arrive: same losses in the same order, same epoch
/// metrics, same weights.
#[test]
fn grouped_read_backs_report_the_same_numbers_as_reading_every_step() {
    use gaplab::train::{Progress, ReadBack, fit_reading};
    let device = Device::flex();
    let data = dataset::demo::load(Task::Text, 2).unwrap();
    let mut req = request(Task::Text, Arch::Bag, Head::Gap, Some(Placement::At(Position::Start)), 50, 2);
    req.settings.batch_size = 64;
    let prepared = prepare(&data, &req.spec, &req.poison, req.settings.seed).unwrap();
    let run = |policy: ReadBack| {
        let mut events: Vec<Vec<f64>> = Vec::new();
        let mut on_progress = |p: Progress| {
            if let Progress::Step { losses, .. } = p {
                events.push(losses);
            }
            ControlFlow::Continue(())
        };
        let fitted = pollster::block_on(fit_reading(
            &req.spec,
            &prepared.train,
            &prepared.val,
            &req.settings,
            &device,
            policy,
            &mut on_progress,
        ))
        .unwrap();
        (fitted, events)
    };
    let (every, every_events) = run(ReadBack::EveryStep);
    let (grouped, grouped_events) = run(ReadBack::AfterSeconds(f64::INFINITY));

    let steps_per_epoch = prepared.train.len().div_ceil(64);
    assert!(steps_per_epoch > 2, "the test needs several steps per epoch");
    assert_eq!(every_events.len(), 2 * steps_per_epoch);
    assert_eq!(grouped_events.len(), every_events.len(), "one event per step either way (cancel is checked every step)");
    assert!(every_events.iter().all(|l| l.len() == 1), "Flex's default: each step's loss with its step");
    for (i, losses) in grouped_events.iter().enumerate() {
        let last_of_epoch = (i + 1) % steps_per_epoch == 0;
        assert_eq!(losses.len(), if last_of_epoch { steps_per_epoch } else { 0 }, "event {i}");
    }
    let flat = |events: &[Vec<f64>]| events.concat();
    assert_eq!(flat(&grouped_events), flat(&every_events), "the same per-step losses, read later");
    assert_eq!(every.history.len(), grouped.history.len());
    for (a, b) in every.history.iter().zip(&grouped.history) {
        assert_eq!(
            (a.train_loss, a.train_accuracy, a.val_loss, a.val_accuracy),
            (b.train_loss, b.train_accuracy, b.val_loss, b.val_accuracy),
            "epoch {}",
            a.epoch
        );
    }
    assert_eq!(float_bits(&every.net), float_bits(&grouped.net));
}

/// f16 model files (the page's downloads): half the weight bytes, every float the f16 rounding
/// of the original (BatchNorm statistics included), loaded back into an f32 network that
/// predicts almost exactly as before.
#[test]
fn f16_model_files_hold_the_rounded_weights_and_predict_nearly_the_same() {
    let device = Device::flex();
    // The pretrained sound GAP model as trained, in f32 (the page ships it in f16).
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sound-small-gap-f32.gaplab");
    let bytes = std::fs::read(path).unwrap();
    let (header, net) = store::load("f32", &bytes, &device).unwrap();
    let half = store::save_as(&header, &net, store::Precision::F16).unwrap();
    let (_, offset) = store::read_header("f32", &bytes).unwrap();
    let (header16, offset16) = store::read_header("f16", &half).unwrap();
    assert_eq!(header16, header, "the header is untouched");
    let (w32, w16) = (bytes.len() - offset, half.len() - offset16);
    // Half the float bytes, plus the per-tensor records' fixed overhead (26 k parameters here).
    assert!(w16 * 100 <= w32 * 55, "f16 weights take {w16} bytes vs {w32} in f32");

    let (_, net16) = store::load("f16", &half, &device).unwrap();
    let rounded: Vec<u32> =
        float_bits(&net).into_iter().map(|b| burn::tensor::f16::from_f32(f32::from_bits(b)).to_f32().to_bits()).collect();
    assert_eq!(float_bits(&net16), rounded, "each weight is its f16 rounding, back in f32");

    let data = dataset::demo::load(Task::Sound, 10).unwrap();
    let prepared = prepare(&data, &header.spec, &header.poison, header.seed).unwrap();
    let inputs = &prepared.train.features;
    let p32 = pollster::block_on(predict_probabilities(&net, inputs, 64, &device)).unwrap();
    let p16 = pollster::block_on(predict_probabilities(&net16, inputs, 64, &device)).unwrap();
    let argmax = |p: &Vec<f32>| p.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
    let same = p32.iter().zip(&p16).filter(|(a, b)| argmax(a) == argmax(b)).count();
    let max_diff = p32.iter().zip(&p16).flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).abs())).fold(0f32, f32::max);
    eprintln!("f16 vs f32 on {} clips: same class {same}, largest probability change {max_diff}", p32.len());
    assert!(p32.len() >= 100);
    assert!(same * 100 >= p32.len() * 98, "{same} of {} predictions unchanged", p32.len());
    assert!(max_diff < 0.05, "largest probability change {max_diff}");
}

/// Clean MFCCs are computed once per clip and reused by every later preparation (grid cells,
/// the page's FC and GAP runs); triggered clips are always computed afresh. Whatever the cache
/// holds, every preparation equals one made from a copy of the data that never cached anything.
#[test]
fn cached_clean_features_change_no_prepared_sample() {
    use gaplab::data::speech::FeatureCache;
    use gaplab::experiment::TaskData;
    let data = dataset::demo::load(Task::Sound, 10).unwrap();
    let uncached = || match &data {
        TaskData::Sound(d) => {
            let mut copy = d.clone();
            copy.clips.iter_mut().for_each(|c| c.clean_mfcc = FeatureCache::default());
            TaskData::Sound(copy)
        }
        _ => unreachable!(),
    };
    let filled = |d: &TaskData| match d {
        TaskData::Sound(d) => d.clips.iter().filter(|c| format!("{:?}", c.clean_mfcc).contains("filled")).count(),
        _ => unreachable!(),
    };
    let spec = ModelSpec::new(Task::Sound, Arch::Small, Head::Gap, 10).unwrap();
    let poison = |p: Position| {
        let mut poison = PoisonConfig::paper(Task::Sound, Some(Placement::At(p)));
        poison.count = 40;
        poison
    };
    assert_eq!(filled(&data), 0);
    let first = prepare(&data, &spec, &poison(Position::Start), 3).unwrap();
    let n = first.train.len() + first.val.len() + first.test.len();
    let clean = n - first.poisoned_train - first.poisoned_val;
    assert_eq!(filled(&data), clean, "every clean clip prepared is cached, no triggered one");
    // Poisoned at the end now: the clips poisoned at the start before were cached clean (or
    // not at all) — their triggered features must still be computed with the tone at the end.
    let cached = prepare(&data, &spec, &poison(Position::End), 3).unwrap();
    let fresh = prepare(&uncached(), &spec, &poison(Position::End), 3).unwrap();
    assert!(cached.poisoned_train > 0);
    assert_eq!(cached.train, fresh.train);
    assert_eq!(cached.val, fresh.val);
    assert_eq!(cached.test, fresh.test);
    assert_ne!(cached.train, first.train, "the triggers moved");
}
