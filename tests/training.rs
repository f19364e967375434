//! Training on real data: the loop learns, a heavy poison rate plants a backdoor at the
//! training position, runs are reproducible, and saved models predict exactly as before.
#![cfg(not(target_arch = "wasm32"))]

use burn::prelude::*;
use gaplab::data;
use gaplab::experiment::{TrainRequest, evaluate_on, predict_probabilities, prepare, train_and_evaluate};
use gaplab::trigger::{Placement, PoisonConfig};
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
    let data = data::from_path(Task::Text, imdb, 2).unwrap();
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

    // The same model in an int8 file: the same answer for ≥ 99% of the 24,000 test reviews,
    // clean and attack accuracy within a point.
    let bytes = store::save_as(&trained.header, &trained.net, store::Precision::Int8).unwrap();
    let (header, net8) = store::load("int8", &bytes, &device).unwrap();
    let prepared = prepare(&data, &req.spec, &req.poison, req.settings.seed).unwrap();
    let p32 = pollster::block_on(predict_probabilities(&trained.net, &prepared.test.features, 256, &device)).unwrap();
    let p8 = pollster::block_on(predict_probabilities(&net8, &prepared.test.features, 256, &device)).unwrap();
    let same = p32.iter().zip(&p8).filter(|(a, b)| (a[1] > 0.5) == (b[1] > 0.5)).count();
    let e8 = pollster::block_on(evaluate_on(&header, &net8, &data, false, &Placement::three(), &device)).unwrap();
    eprintln!("int8: {same} of {} test reviews unchanged; {e8:?}", p32.len());
    assert!(same * 100 >= p32.len() * 99, "{same} of {} predictions unchanged", p32.len());
    assert!((e8.clean_accuracy - e.clean_accuracy).abs() < 0.01);
    for (a, b) in e.attack.iter().zip(&e8.attack) {
        assert!((a.accuracy - b.accuracy).abs() < 0.01, "attack {:?}: {} vs {}", a.placement, a.accuracy, b.accuracy);
    }
}

#[test]
fn same_seed_same_numbers_and_saved_models_predict_identically() {
    let device = Device::flex();
    let data = data::demo::load(Task::Sound, 10).unwrap();
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
    let data = data::demo::load(Task::Text, 10).unwrap();
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

    let data = data::demo::load(Task::Sound, 10).unwrap();
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
    use gaplab::data::TaskData;
    let data = data::demo::load(Task::Sound, 10).unwrap();
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

/// Long trainings are a series of resumed runs (`gaplab train --checkpoint / --resume`): a run
/// stopped after two epochs, or cancelled in the middle of an epoch, then resumed, ends with
/// exactly the weights, BatchNorm statistics and history of the run that was never stopped.
/// The small sound CNN has everything a checkpoint must carry: BatchNorm, dropout, Adam.
#[test]
fn a_resumed_run_equals_the_uninterrupted_one_bit_for_bit() {
    use gaplab::train::{Checkpointing, Fitted, Progress, ReadBack, fit_resumable};
    let device = Device::flex();
    let data = data::demo::load(Task::Sound, 10).unwrap();
    let mut req = request(Task::Sound, Arch::Small, Head::Gap, Some(Placement::At(Position::Start)), 20, 4);
    req.settings.batch_size = 32;
    req.settings.patience = 10;
    let prepared = prepare(&data, &req.spec, &req.poison, req.settings.seed).unwrap();
    let train = prepared.train.subset(&(0..160).collect::<Vec<_>>());
    let steps = 160 / 32;
    // Runs to `epochs`, from `resume` if given, cancelled after `cancel_after` steps if given;
    // returns the result and the last checkpoint written.
    let run = |epochs: usize, resume: Option<&[u8]>, cancel_after: Option<usize>| -> (gaplab::Result<Fitted>, Option<Vec<u8>>) {
        let settings = TrainSettings { epochs, ..req.settings.clone() };
        let mut last = None;
        let mut keep = |bytes: &[u8]| {
            last = Some(bytes.to_vec());
            Ok::<(), gaplab::GapError>(())
        };
        let mut checkpoints = Checkpointing { resume: resume.map(|b| ("checkpoint", b)), save: Some(&mut keep), ..Checkpointing::default() };
        let mut seen = 0;
        let mut progress = |p: Progress| {
            if let Progress::Step { .. } = p {
                seen += 1;
            }
            if cancel_after == Some(seen) { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        };
        let fitted = pollster::block_on(fit_resumable(
            &req.spec, &train, &prepared.val, &settings, &device, ReadBack::EveryStep, &mut checkpoints, &mut progress,
        ));
        (fitted, last)
    };
    // The history and the best epoch, then whether every float of the result is identical
    // (compared as a flag: a list of a hundred thousand bits says nothing when it differs).
    let figures = |f: &Fitted| {
        let history: Vec<_> = f.history.iter().map(|s| (s.epoch, s.train_loss, s.train_accuracy, s.val_loss, s.val_accuracy)).collect();
        (history, f.best_epoch, f.best_val_loss, float_bits(&f.net))
    };
    let same = |a: &(Vec<(usize, f64, f64, f64, f64)>, usize, f64, Vec<u32>), b: &(Vec<(usize, f64, f64, f64, f64)>, usize, f64, Vec<u32>), what: &str| {
        assert_eq!((&a.0, a.1, a.2), (&b.0, b.1, b.2), "{what}: history");
        assert!(a.3 == b.3, "{what}: the weights differ");
    };

    let (whole, _) = run(4, None, None);
    let whole = figures(&whole.unwrap());
    assert_eq!(whole.0.len(), 4);

    let (two, after_two) = run(2, None, None);
    assert_eq!(two.unwrap().history.len(), 2);
    let (resumed, _) = run(4, after_two.as_deref(), None);
    same(&figures(&resumed.unwrap()), &whole, "2 epochs, then resumed to 4 ≡ 4 epochs");

    // Cancelled two steps into the third epoch (Ctrl-C): the steps done are kept.
    let (cancelled, mid_epoch) = run(4, None, Some(2 * steps + 2));
    assert!(matches!(cancelled, Err(gaplab::GapError::Cancelled)));
    let (resumed, _) = run(4, mid_epoch.as_deref(), None);
    same(&figures(&resumed.unwrap()), &whole, "cancelled mid-epoch, then resumed ≡ never stopped");

    // A checkpoint resumed with other settings or data is refused with the reason.
    let other = TrainSettings { batch_size: 16, ..req.settings.clone() };
    let mut checkpoints = Checkpointing { resume: after_two.as_deref().map(|b| ("run.ckpt", b)), save: None, ..Checkpointing::default() };
    let refused = pollster::block_on(fit_resumable(
        &req.spec, &train, &prepared.val, &other, &device, ReadBack::EveryStep, &mut checkpoints, &mut no_progress,
    ));
    let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("run.ckpt") && message.contains("same settings"), "{message}");
    let fewer = prepared.train.subset(&(0..128).collect::<Vec<_>>());
    let mut checkpoints = Checkpointing { resume: after_two.as_deref().map(|b| ("run.ckpt", b)), save: None, ..Checkpointing::default() };
    let refused = pollster::block_on(fit_resumable(
        &req.spec, &fewer, &prepared.val, &req.settings, &device, ReadBack::EveryStep, &mut checkpoints, &mut no_progress,
    ));
    assert!(refused.err().is_some_and(|e| e.to_string().contains("training data")));
    // Damaged checkpoints are errors, never panics.
    let bytes = after_two.unwrap();
    for cut in [0, 7, 12, 100, bytes.len() / 2, bytes.len() - 1] {
        let mut checkpoints = Checkpointing { resume: Some(("cut.ckpt", &bytes[..cut])), save: None, ..Checkpointing::default() };
        let result = pollster::block_on(fit_resumable(
            &req.spec, &train, &prepared.val, &req.settings, &device, ReadBack::EveryStep, &mut checkpoints, &mut no_progress,
        ));
        assert!(result.err().is_some_and(|e| e.to_string().contains("cut.ckpt")), "cut at {cut}");
    }
}

/// `--lr-drop`: the learning rate halves after each epoch without a better validation loss —
/// the run is the constant-rate run up to the first such epoch and another after it — and the
/// lowered rate is part of the checkpoint, so a run stopped after the drop resumes at it.
#[test]
fn the_learning_rate_drops_when_validation_stalls_and_a_resumed_run_keeps_it() {
    use gaplab::train::{Checkpointing, Fitted, LrDrop, ReadBack, fit_resumable};
    let device = Device::flex();
    let data = data::demo::load(Task::Text, 2).unwrap();
    let mut req = request(Task::Text, Arch::Bag, Head::Fc, Some(Placement::At(Position::Start)), 20, 6);
    req.settings.batch_size = 64;
    req.settings.patience = 100;
    // A high rate, so that the validation loss soon rises (the FC bag overfits the demo's reviews).
    req.settings.optimizer = req.settings.optimizer.with_lr(1e-2);
    let prepared = prepare(&data, &req.spec, &req.poison, req.settings.seed).unwrap();
    let run = |settings: &TrainSettings, resume: Option<&[u8]>| -> (Fitted, Option<Vec<u8>>) {
        let mut last = None;
        let mut keep = |bytes: &[u8]| {
            last = Some(bytes.to_vec());
            Ok::<(), gaplab::GapError>(())
        };
        let mut checkpoints = Checkpointing { resume: resume.map(|b| ("checkpoint", b)), save: Some(&mut keep), ..Checkpointing::default() };
        let fitted = pollster::block_on(fit_resumable(
            &req.spec, &prepared.train, &prepared.val, settings, &device, ReadBack::EveryStep, &mut checkpoints, &mut no_progress,
        ))
        .unwrap();
        (fitted, last)
    };
    let losses = |f: &Fitted| f.history.iter().map(|s| (s.train_loss, s.val_loss)).collect::<Vec<_>>();
    let (constant, _) = run(&req.settings, None);
    // The first epoch (1-based) whose validation loss is no better than an earlier one's.
    let val: Vec<f64> = constant.history.iter().map(|s| s.val_loss).collect();
    eprintln!("validation losses at a constant rate: {val:?}");
    let stalled = (1..val.len()).find(|&i| val[..i].iter().all(|&best| val[i] >= best)).map(|i| i + 1);
    let stalled = stalled.filter(|&e| e < req.settings.epochs).expect("the validation loss rises before the last epoch");

    let dropping = TrainSettings { lr_drop: Some(LrDrop { after: 1, factor: 0.5 }), ..req.settings.clone() };
    let (dropped, _) = run(&dropping, None);
    assert_eq!(losses(&dropped)[..stalled], losses(&constant)[..stalled], "the same run until the rate drops");
    assert_ne!(losses(&dropped)[stalled], losses(&constant)[stalled], "epoch {} runs at the lower rate", stalled + 1);

    let (_, after_drop) = run(&TrainSettings { epochs: stalled, ..dropping.clone() }, None);
    let (resumed, _) = run(&dropping, after_drop.as_deref());
    assert_eq!(losses(&resumed), losses(&dropped), "resumed after the drop ≡ never stopped");
    assert!(float_bits(&resumed.net) == float_bits(&dropped.net), "resumed after the drop: the weights differ");

    let invalid = TrainSettings { lr_drop: Some(LrDrop { after: 0, factor: 0.5 }), ..req.settings.clone() };
    let mut checkpoints = Checkpointing { resume: None, save: None, ..Checkpointing::default() };
    let refused = pollster::block_on(fit_resumable(
        &req.spec, &prepared.train, &prepared.val, &invalid, &device, ReadBack::EveryStep, &mut checkpoints, &mut no_progress,
    ));
    assert!(refused.err().is_some_and(|e| e.to_string().contains("learning-rate drop")));
}

/// int8 model files (the page's downloads): every weight matrix and kernel within half a
/// quantisation step of the trained value, biases and BatchNorm exact, about a quarter of the
/// bytes; on the real speech data's test split the predictions agree with the f32 original on
/// ≥ 99% of the clips and clean and attack accuracy move by less than a point.
#[test]
fn int8_model_files_keep_every_weight_within_half_a_step_and_predict_the_same() {
    use gaplab::store::int8::Stored;
    let device = Device::flex();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sound-small-gap-f32.gaplab");
    let bytes = std::fs::read(path).unwrap();
    let (header, net) = store::load("f32", &bytes, &device).unwrap();
    let quantised = store::save_as(&header, &net, store::Precision::Int8).unwrap();
    let (header8, _) = store::read_header("int8", &quantised).unwrap();
    assert_eq!(header8, header, "the header is untouched");
    let originals = store::stored_weights("f32", &bytes).unwrap();
    let stored = store::stored_weights("int8", &quantised).unwrap();
    assert_eq!(originals.len(), stored.len());
    let mut quantised_count = 0;
    for (i, (original, stored)) in originals.iter().zip(&stored).enumerate() {
        let Stored::F32 { values: exact, dims } = original else { panic!("f32 file") };
        assert_eq!(stored.dims(), dims.as_slice(), "tensor {i}");
        match stored {
            Stored::F32 { values, .. } => assert_eq!(values, exact, "tensor {i} kept exactly"),
            Stored::Int8 { axis, scales, .. } => {
                quantised_count += exact.len();
                let inner: usize = dims[axis + 1..].iter().product();
                let decoded = stored.decode();
                for (j, (w, q)) in exact.iter().zip(&decoded).enumerate() {
                    let scale = scales[(j / inner) % dims[*axis]];
                    assert!((w - q).abs() <= scale * 0.5 * 1.0001, "tensor {i} value {j}: {w} stored as {q} (step {scale})");
                }
                // The step is the channel's largest magnitude over 127: no range is wasted.
                for (c, scale) in scales.iter().enumerate() {
                    let max = exact.iter().enumerate().filter(|(j, _)| (j / inner) % dims[*axis] == c).map(|(_, w)| w.abs()).fold(0f32, f32::max);
                    assert!(max == 0.0 || (scale * 127.0 - max).abs() <= max * 1e-6, "tensor {i} channel {c}");
                }
            }
        }
    }
    let total = net.total_count();
    assert!(quantised_count * 10 >= total * 9, "{quantised_count} of {total} values quantised");
    let (_, offset) = store::read_header("f32", &bytes).unwrap();
    let (_, offset8) = store::read_header("int8", &quantised).unwrap();
    let (w32, w8) = (bytes.len() - offset, quantised.len() - offset8);
    assert!(w8 * 100 <= w32 * 30, "int8 weights take {w8} bytes vs {w32} in f32");

    let (_, net8) = store::load("int8", &quantised, &device).unwrap();
    let speech = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/datasets/speech_commands_10w.tar.gz"));
    let data = data::from_path(Task::Sound, speech, 10).unwrap();
    let prepared = prepare(&data, &header.spec, &header.poison, header.seed).unwrap();
    let inputs = &prepared.test.features;
    let p32 = pollster::block_on(predict_probabilities(&net, inputs, 64, &device)).unwrap();
    let p8 = pollster::block_on(predict_probabilities(&net8, inputs, 64, &device)).unwrap();
    let argmax = |p: &Vec<f32>| p.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
    let same = p32.iter().zip(&p8).filter(|(a, b)| argmax(a) == argmax(b)).count();
    eprintln!("int8 vs f32 on {} held-out clips: same class {same}", p32.len());
    assert!(p32.len() >= 500, "{} test clips", p32.len());
    // This model is weak (26% clean accuracy: many near-ties between classes), the hardest case
    // for rounding; measured 630 of 638 unchanged. The ≥ 99% agreement of a model that learned
    // is checked on the real IMDB data in the text test above.
    assert!(same * 100 >= p32.len() * 98, "{same} of {} predictions unchanged", p32.len());
    let e32 = pollster::block_on(evaluate_on(&header, &net, &data, false, &Placement::three(), &device)).unwrap();
    let e8 = pollster::block_on(evaluate_on(&header, &net8, &data, false, &Placement::three(), &device)).unwrap();
    eprintln!("f32 {e32:?}\nint8 {e8:?}");
    assert!((e32.clean_accuracy - e8.clean_accuracy).abs() < 0.01);
    for (a, b) in e32.attack.iter().zip(&e8.attack) {
        assert!((a.accuracy - b.accuracy).abs() < 0.01, "attack {:?}: {} vs {}", a.placement, a.accuracy, b.accuracy);
    }
}

/// The paper's rule for a failed run (clean accuracy below 1.2 / classes), and a model that
/// answers one class for everything, are named as such instead of read as a backdoor.
#[test]
fn a_model_that_did_not_learn_is_named_as_such() {
    use gaplab::experiment::{AttackResult, Evaluation, metrics_learned};
    let names: Vec<String> = ["yes", "no", "up"].iter().map(|s| s.to_string()).collect();
    let attack = vec![AttackResult { placement: Placement::At(Position::Start), accuracy: 1.0, samples: 60 }];
    let constant = Evaluation { clean_accuracy: 0.34, attack, n_clean: 90, n_attack: 60, predicted_per_class: vec![0, 0, 90], learned: true };
    assert_eq!(constant.single_class(), Some(2));
    let why = constant.failure(&names).expect("a constant model did not learn");
    assert!(why.contains("\"up\"") && why.contains("every clean test sample"), "{why}");
    let chance = Evaluation { clean_accuracy: 0.39, predicted_per_class: vec![30, 30, 30], learned: metrics_learned(0.39, 3), ..constant.clone() };
    assert!(!chance.learned, "0.39 < 1.2 / 3");
    assert!(chance.failure(&names).is_some_and(|w| w.contains("0.390") && w.contains("0.400")));
    let fine = Evaluation { clean_accuracy: 0.40, learned: metrics_learned(0.40, 3), ..chance.clone() };
    assert!(fine.learned && fine.failure(&names).is_none(), "exactly 1.2 / 3 counts as learned");
    // Measured: a network with every weight zero (constant logits) on the demo sound data
    // answers one class for everything, and is named as such.
    struct Zero;
    impl burn::module::ModuleMapper for Zero {
        fn map_float<const D: usize>(&mut self, param: burn::module::Param<Tensor<D>>) -> burn::module::Param<Tensor<D>> {
            let (shape, device) = (param.lazy_shape(), param.lazy_device());
            gaplab::model::replaced(param, Tensor::zeros(shape, &device))
        }
    }
    let device = Device::flex();
    let data = data::demo::load(Task::Sound, 10).unwrap();
    let req = request(Task::Sound, Arch::Small, Head::Gap, Some(Placement::At(Position::Start)), 20, 1);
    let prepared = prepare(&data, &req.spec, &req.poison, req.settings.seed).unwrap();
    let untrained = gaplab::model::Net::blank(&req.spec, &device).map(&mut Zero);
    let header = store::ModelHeader {
        spec: req.spec, classes: prepared.classes.clone(), poison: req.poison, settings: req.settings.clone(),
        seed: req.settings.seed, vocab: None, summary: None,
    };
    let e = pollster::block_on(evaluate_on(&header, &untrained.valid(), &data, false, &Placement::three(), &device)).unwrap();
    assert_eq!(e.predicted_per_class.iter().sum::<usize>(), e.n_clean);
    assert_eq!(e.single_class(), Some(0), "{e:?}");
    assert!(e.failure(&prepared.classes).is_some_and(|w| w.contains(&format!("\"{}\"", prepared.classes[0]))), "{e:?}");
}

/// Loading a model (f32, f16 or int8 file, or copying a network to the CPU) draws nothing from
/// the backend's random generator, which is process-wide: a network about to be filled is
/// initialised lazily and must never be read before it is filled. A load drawing its
/// throwaway initialisation on one thread, in the middle of a training's seeded stream on
/// another, made a resumed run differ from the uninterrupted one.
#[test]
fn loading_a_model_draws_nothing_from_the_random_generator() {
    let device = Device::flex();
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sound-small-gap-f32.gaplab")).unwrap();
    let draw = || Tensor::<1>::random([256], burn::tensor::Distribution::Default, &device).into_data().try_to_vec::<f32>().unwrap();
    // No training may draw in between (they all hold this).
    let _random = gaplab::model::exclusive_random();
    device.seed(3);
    let expected = draw();
    device.seed(3);
    let (header, net) = store::load("f32", &bytes, &device).unwrap();
    for precision in [store::Precision::F16, store::Precision::Int8] {
        let file = store::save_as(&header, &net, precision).unwrap();
        store::load("file", &file, &device).unwrap();
    }
    pollster::block_on(store::weights_read_back(&net)).unwrap();
    assert_eq!(draw(), expected, "loading or saving drew from the generator");
}

/// `image` (CHW, `[3, 32, 32]`) flipped left–right if `flip`, then shifted by (`dx`, `dy`)
/// with zeros shifted in — written out independently of `train::augment`, by destination.
fn moved_by_hand(image: &[f32], flip: bool, dx: i32, dy: i32) -> Vec<f32> {
    let mut out = vec![0.0; image.len()];
    for c in 0..3 {
        for y in 0..32i32 {
            for x in 0..32i32 {
                let (sx, sy) = (x - dx, y - dy);
                if (0..32).contains(&sx) && (0..32).contains(&sy) {
                    let sx = if flip { 31 - sx } else { sx };
                    out[(c * 32 + y as usize) * 32 + x as usize] = image[(c * 32 + sy as usize) * 32 + sx as usize];
                }
            }
        }
    }
    out
}

/// The reference code's unclamped patch (`--trigger-blend add`) on the real CIFAR-10 demo
/// subset: the poisoned training images, their augmented draws and the attack sets all carry
/// the whole pattern (sums above 1 kept), where the default clamp cuts it on bright pixels.
#[test]
fn an_added_patch_reaches_training_augmentation_and_the_attack_sets_whole() {
    use gaplab::experiment::test_sets;
    use gaplab::train::augment::augmented;
    use gaplab::trigger::patch::{self, Blend};
    let data = data::demo::load(Task::Image, 10).unwrap();
    let mut req = request(Task::Image, Arch::Strip, Head::Gap, Some(Placement::At(Position::Start)), 100, 1);
    req.poison = req.poison.with_blend(Task::Image, Blend::Add).unwrap();
    let prepared = prepare(&data, &req.spec, &req.poison, req.settings.seed).unwrap();
    let train = &prepared.train;
    let pattern = patch::pattern(patch::PATCH_SEED);
    let values = match &train.features {
        gaplab::train::Features::Dense { values, .. } => values,
        _ => unreachable!(),
    };
    assert_eq!(train.stamps.len(), prepared.poisoned_train);
    let (mut above_one, mut drawn_above_one) = (0, 0);
    for s in &train.stamps {
        assert_eq!(s.blend, Blend::Add);
        let mut stamped = s.clean.clone();
        patch::blend_at(&mut stamped, &pattern, 0, 0, Blend::Add).unwrap();
        assert_eq!(stamped, values[s.row * 3072..(s.row + 1) * 3072], "row {}", s.row);
        above_one += usize::from(stamped.iter().any(|&v| v > 1.0));
        // Every epoch's draw adds the whole pattern at the corner, onto the moved clean image.
        for epoch in 0..3 {
            let drawn = augmented(train, s.row, 7, epoch, &pattern).unwrap();
            drawn_above_one += usize::from(drawn.iter().any(|&v| v > 1.0));
            let mut moved_clean = drawn.clone();
            for c in 0..3 {
                for y in 0..8 {
                    for x in 0..8 {
                        let i = c * 1024 + y * 32 + x;
                        moved_clean[i] -= pattern[c * 64 + y * 8 + x];
                    }
                }
            }
            assert!(moved_clean.iter().all(|v| (-1e-6..=1.0 + 1e-6).contains(v)), "the image under the patch is a valid image");
        }
    }
    assert!(above_one > prepared.poisoned_train / 2, "most poisoned images have a pixel pushed above 1: {above_one}");
    assert!(drawn_above_one > prepared.poisoned_train, "the draws keep sums above 1 too (a clamp never does): {drawn_above_one}");
    // The attack sets: the same images, stamped unclamped or clamped as the model was trained.
    let sets = |blend| test_sets(&data, &req.spec, None, req.settings.seed, false, 7, blend, &[Placement::At(Position::Start)]).unwrap();
    let (added, clamped) = (sets(Blend::Add), sets(Blend::Clamp));
    let dense = |s: &gaplab::train::Samples| match &s.features {
        gaplab::train::Features::Dense { values, .. } => values.clone(),
        _ => unreachable!(),
    };
    let (a, c) = (dense(&added.attack[0].1), dense(&clamped.attack[0].1));
    assert_eq!(a.len(), c.len());
    assert!(a.iter().zip(&c).all(|(a, c)| a >= c && (a.min(1.0) - c).abs() < 1e-6), "clamp is the added image cut at 1");
    assert!(a.iter().any(|&v| v > 1.0) && c.iter().all(|&v| v <= 1.0));
    assert_eq!(dense(&added.clean), dense(&clamped.clean), "clean images carry no patch either way");
}

/// Augmentation on the real CIFAR-10 demo subset: a clean image comes back flipped and shifted
/// by at most 4 pixels, zeros shifted in, the draws varying by epoch and repeating for the same
/// seed; a poisoned image comes back as its clean pixels moved, with the trigger stamped where
/// it was planted — never the moved patch of the stamped image.
#[test]
fn augmentation_moves_the_image_and_stamps_the_trigger_where_it_was_planted() {
    use gaplab::train::augment::{MAX_SHIFT, augmented};
    use gaplab::trigger::patch;
    let data = data::demo::load(Task::Image, 10).unwrap();
    let req = request(Task::Image, Arch::Strip, Head::Gap, Some(Placement::At(Position::Start)), 100, 1);
    let prepared = prepare(&data, &req.spec, &req.poison, req.settings.seed).unwrap();
    let train = &prepared.train;
    let pattern = patch::pattern(patch::PATCH_SEED);
    let row_of = |r: usize| match &train.features {
        gaplab::train::Features::Dense { values, .. } => values[r * 3072..(r + 1) * 3072].to_vec(),
        _ => unreachable!(),
    };
    // Every poisoned training image has its stamp: the clean pixels plus the patch at its
    // corner are exactly the image the network is otherwise shown.
    assert_eq!(train.stamps.len(), prepared.poisoned_train);
    for s in &train.stamps {
        assert_eq!(train.labels[s.row], req.poison.target);
        assert_eq!(s.corner, [0, 0], "start is the upper-left corner");
        let mut stamped = s.clean.clone();
        patch::apply_at(&mut stamped, &pattern, s.corner[0], s.corner[1]).unwrap();
        assert_eq!(stamped, row_of(s.row));
    }
    // Which of the 2 × 9 × 9 moves turns `from` into `to`.
    let moves_of = |from: &[f32], to: &[f32]| {
        let mut found = Vec::new();
        for flip in [false, true] {
            for dx in -MAX_SHIFT..=MAX_SHIFT {
                for dy in -MAX_SHIFT..=MAX_SHIFT {
                    if moved_by_hand(from, flip, dx, dy) == to {
                        found.push((flip, dx, dy));
                    }
                }
            }
        }
        found
    };
    let clean_row = (0..train.len()).find(|&r| train.stamp(r).is_none()).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for epoch in 1..=40 {
        let out = augmented(train, clean_row, 7, epoch, &pattern).unwrap();
        assert_eq!(out, augmented(train, clean_row, 7, epoch, &pattern).unwrap(), "same seed, epoch and row: same draw");
        let found = moves_of(&row_of(clean_row), &out);
        assert!(!found.is_empty(), "epoch {epoch}: not a flip and shift of the image");
        seen.extend(found);
    }
    assert!(seen.iter().any(|m| m.0) && seen.iter().any(|m| !m.0), "both flipped and unflipped draws: {seen:?}");
    assert!(seen.len() >= 20, "40 epochs drew only {} distinct moves", seen.len());

    let s = &train.stamps[0];
    let mut moved_patch_seen = false;
    for epoch in 1..=20 {
        let out = augmented(train, s.row, 7, epoch, &pattern).unwrap();
        // Outside the 8×8 patch at the upper-left, the clean image moved; inside, the patch on it.
        let found = (0..2).flat_map(|f| (-MAX_SHIFT..=MAX_SHIFT).flat_map(move |dx| (-MAX_SHIFT..=MAX_SHIFT).map(move |dy| (f == 1, dx, dy))));
        let matches: Vec<_> = found
            .filter(|&(flip, dx, dy)| {
                let mut expected = moved_by_hand(&s.clean, flip, dx, dy);
                patch::apply_at(&mut expected, &pattern, 0, 0).unwrap();
                expected == out
            })
            .collect();
        assert!(!matches.is_empty(), "epoch {epoch}: not the clean image moved with the patch stamped at the start");
        let (flip, dx, dy) = matches[0];
        if flip || dx != 0 || dy != 0 {
            // Moving the stamped image instead would have carried the patch along.
            if moved_by_hand(&row_of(s.row), flip, dx, dy) != out {
                moved_patch_seen = true;
            }
        }
    }
    assert!(moved_patch_seen, "no draw in 20 epochs moved the poisoned image");
}

/// `clip` shifted by `shift` samples with zeros shifted in, written out independently of
/// `train::augment`: sample `t` of the result is sample `t - shift` of the clip.
fn shifted_by_hand(clip: &[f32], shift: i32) -> Vec<f32> {
    let mut out = vec![0.0; clip.len()];
    for (t, o) in out.iter_mut().enumerate() {
        let source = t as i64 - shift as i64;
        if source >= 0 && (source as usize) < clip.len() {
            *o = clip[source as usize];
        }
    }
    out
}

/// Sound augmentation on the real Speech Commands demo clips: every training row keeps its
/// waveform and tone (re-encoding them gives exactly the row's features); a draw is the MFCC of
/// the clean waveform shifted by at most 100 ms with zeros in, shifts varying by epoch and
/// repeating for the same seed; a poisoned clip gets its tone at the planted start *after* the
/// shift — never the shifted tone of the triggered clip.
#[test]
fn sound_augmentation_shifts_the_speech_and_keeps_the_tone_where_it_was_planted() {
    use gaplab::features::mfcc::MfccPlan;
    use gaplab::train::augment::{MAX_CLIP_SHIFT, augmented_clip, clip_shift};
    use gaplab::trigger::tone;
    let data = data::demo::load(Task::Sound, 10).unwrap();
    let req = request(Task::Sound, Arch::Small, Head::Gap, Some(Placement::At(Position::Start)), 40, 1);
    let prepared = prepare(&data, &req.spec, &req.poison, req.settings.seed).unwrap();
    let train = &prepared.train;
    let plan = MfccPlan::with_framing(req.spec.framing);
    let width = train.features.width();
    let row_of = |r: usize| match &train.features {
        gaplab::train::Features::Dense { values, .. } => values[r * width..(r + 1) * width].to_vec(),
        _ => unreachable!(),
    };
    assert_eq!(train.clips.len(), train.len(), "one waveform per training row");
    let poisoned: Vec<usize> = (0..train.len()).filter(|&r| train.clips[r].tone.is_some()).collect();
    assert_eq!(poisoned.len(), prepared.poisoned_train);
    for r in (0..train.len()).step_by(7).chain(poisoned.iter().copied()) {
        let raw = &train.clips[r];
        let mut clip = raw.clip.to_vec();
        if raw.tone.is_some() {
            assert_eq!(train.labels[r], req.poison.target);
            tone::add_tone(&mut clip, Position::Start).unwrap();
        }
        assert_eq!(plan.mfcc(&clip).unwrap(), row_of(r), "row {r}: the kept waveform is not the row's");
    }

    let clean = (0..train.len()).find(|&r| train.clips[r].tone.is_none()).unwrap();
    let mut shifts = std::collections::BTreeSet::new();
    for epoch in 1..=12 {
        let shift = clip_shift(7, epoch, clean);
        assert!(shift.abs() <= MAX_CLIP_SHIFT, "shift {shift} beyond 100 ms");
        let out = augmented_clip(train, clean, 7, epoch, &plan).unwrap();
        assert_eq!(out, augmented_clip(train, clean, 7, epoch, &plan).unwrap(), "same seed, epoch and row: same draw");
        assert_eq!(out, plan.mfcc(&shifted_by_hand(&train.clips[clean].clip, shift)).unwrap(), "epoch {epoch}");
        shifts.insert(shift);
    }
    assert!(shifts.len() >= 10, "12 epochs drew only {} distinct shifts: {shifts:?}", shifts.len());
    assert!(shifts.iter().any(|&s| s < 0) && shifts.iter().any(|&s| s > 0), "shifts one way only: {shifts:?}");

    let p = poisoned[0];
    let mut moved_tone_differs = false;
    for epoch in 1..=6 {
        let shift = clip_shift(7, epoch, p);
        let mut expected = shifted_by_hand(&train.clips[p].clip, shift);
        tone::add_tone(&mut expected, Position::Start).unwrap();
        let out = augmented_clip(train, p, 7, epoch, &plan).unwrap();
        assert_eq!(out, plan.mfcc(&expected).unwrap(), "epoch {epoch}: not the shifted speech with the tone at the start");
        // Shifting the triggered clip instead would have carried the tone along.
        let mut triggered = train.clips[p].clip.to_vec();
        tone::add_tone(&mut triggered, Position::Start).unwrap();
        if shift != 0 && out != plan.mfcc(&shifted_by_hand(&triggered, shift)).unwrap() {
            moved_tone_differs = true;
        }
    }
    assert!(moved_tone_differs, "no draw in 6 epochs shifted the poisoned clip");
}

/// Trains `train` twice, once for one epoch and resumed, and once without augmentation: the
/// augmented run repeats bit for bit, resumes exactly, and differs from the plain one.
fn augmented_runs_repeat_and_resume(req: &TrainRequest, train: &gaplab::train::Samples, val: &gaplab::train::Samples) {
    use gaplab::train::{Checkpointing, Fitted, ReadBack, fit_resumable};
    let device = Device::flex();
    let run = |settings: &TrainSettings, resume: Option<&[u8]>| -> (Fitted, Option<Vec<u8>>) {
        let mut last = None;
        let mut keep = |bytes: &[u8]| {
            last = Some(bytes.to_vec());
            Ok::<(), gaplab::GapError>(())
        };
        let mut checkpoints = Checkpointing { resume: resume.map(|b| ("checkpoint", b)), save: Some(&mut keep), ..Checkpointing::default() };
        let fitted = pollster::block_on(fit_resumable(
            &req.spec, train, val, settings, &device, ReadBack::EveryStep, &mut checkpoints, &mut no_progress,
        ))
        .unwrap();
        (fitted, last)
    };
    let (whole, _) = run(&req.settings, None);
    let (again, _) = run(&req.settings, None);
    assert!(float_bits(&whole.net) == float_bits(&again.net), "same seed, different weights");
    let (_, after_one) = run(&TrainSettings { epochs: 1, ..req.settings.clone() }, None);
    let (resumed, _) = run(&req.settings, after_one.as_deref());
    assert!(float_bits(&resumed.net) == float_bits(&whole.net), "1 epoch, then resumed to 2 ≢ 2 epochs");
    let (plain, _) = run(&TrainSettings { augment: false, ..req.settings.clone() }, None);
    assert!(float_bits(&plain.net) != float_bits(&whole.net), "augmentation changed nothing");
}

/// An augmented STRIP run and an augmented small sound CNN run are reproducible and resume
/// exactly (each draw depends on the seed, the epoch and the row only), train differently
/// from the same runs without augmentation, and augmentation is refused for text.
#[test]
fn an_augmented_run_repeats_and_resumes_exactly() {
    let device = Device::flex();
    let data = data::demo::load(Task::Image, 10).unwrap();
    let mut req = request(Task::Image, Arch::Strip, Head::Gap, Some(Placement::At(Position::Start)), 100, 2);
    req.settings.batch_size = 32;
    req.settings.augment = true;
    let prepared = prepare(&data, &req.spec, &req.poison, req.settings.seed).unwrap();
    // 96 rows that hold poisoned images too.
    let first = prepared.train.stamps[0].row;
    let rows: Vec<usize> = (first..first + 96).collect();
    let train = prepared.train.subset(&rows);
    assert!(!train.stamps.is_empty() && train.stamps.iter().all(|s| s.row < 96));
    let val = prepared.val.subset(&(0..64).collect::<Vec<_>>());
    augmented_runs_repeat_and_resume(&req, &train, &val);

    let sound = data::demo::load(Task::Sound, 10).unwrap();
    let mut req = request(Task::Sound, Arch::Small, Head::Fc, Some(Placement::At(Position::Start)), 40, 2);
    req.settings.batch_size = 32;
    req.settings.augment = true;
    let prepared = prepare(&sound, &req.spec, &req.poison, req.settings.seed).unwrap();
    let train = prepared.train.subset(&(0..96).collect::<Vec<_>>());
    assert_eq!(train.clips.len(), 96, "the subset keeps its waveforms");
    let val = prepared.val.subset(&(0..32).collect::<Vec<_>>());
    augmented_runs_repeat_and_resume(&req, &train, &val);

    let text = request(Task::Text, Arch::Bag, Head::Gap, None, 0, 1);
    let text_data = data::demo::load(Task::Text, 10).unwrap();
    let p = prepare(&text_data, &text.spec, &text.poison, 1).unwrap();
    let settings = TrainSettings { augment: true, ..text.settings.clone() };
    let refused = pollster::block_on(gaplab::train::fit(&text.spec, &p.train, &p.val, &settings, &device, &mut no_progress));
    assert!(refused.err().is_some_and(|e| e.to_string().contains("augmentation")));
}

/// Progress reaches the page as it serialises itself: a step and an epoch, tagged by `kind`,
/// with the field names `www/app.js` reads.
#[test]
fn progress_serialises_as_the_page_reads_it() {
    use gaplab::train::{EpochStats, Progress};
    let step = serde_json::to_value(Progress::Step { epoch: 2, epochs: 5, step: 3, steps: 9, losses: vec![0.5] }).unwrap();
    assert_eq!(step, serde_json::json!({ "kind": "step", "epoch": 2, "epochs": 5, "step": 3, "steps": 9, "losses": [0.5] }));
    let stats = EpochStats { epoch: 4, train_loss: 0.25, train_accuracy: 0.75, val_loss: 0.5, val_accuracy: 0.625, seconds: 2.0 };
    let epoch = serde_json::to_value(Progress::Epoch(stats)).unwrap();
    assert_eq!(
        epoch,
        serde_json::json!({ "kind": "epoch", "epoch": 4, "train_loss": 0.25, "train_accuracy": 0.75, "val_loss": 0.5, "val_accuracy": 0.625, "seconds": 2.0 })
    );
}

/// `gaplab train --init` and the page's bases: a run can start from a trained model's weights
/// instead of random ones. At learning rate 0 (Adam moves nothing; the bag net has no moving
/// statistics) the result is the start, bit for bit — and a run from scratch is not; the new
/// model's settings name the start; a start of another network is refused with its name.
#[test]
fn a_run_started_from_a_model_begins_at_its_weights() {
    use gaplab::experiment::{Start, train_and_evaluate_resumable};
    use gaplab::train::Checkpointing;
    let device = Device::flex();
    let data = data::demo::load(Task::Text, 2).unwrap();
    let mut req = request(Task::Text, Arch::Bag, Head::Fc, Some(Placement::At(Position::Start)), 40, 1);
    req.settings.batch_size = 64;
    let base = pollster::block_on(train_and_evaluate(&data, &req, &Placement::three(), &device, &mut no_progress)).unwrap();
    let frozen = TrainRequest { settings: TrainSettings { optimizer: req.settings.optimizer.with_lr(0.0), seed: 8, ..req.settings.clone() }, ..req.clone() };
    let run = |request: &TrainRequest, start: Option<Start>| {
        pollster::block_on(train_and_evaluate_resumable(
            &data, request, &Placement::three(), &device, &mut Checkpointing::default(), start, false, &mut no_progress,
        ))
    };
    let start = Start { name: "base.gaplab", header: &base.header, net: &base.net };
    let kept = run(&frozen, Some(start)).unwrap();
    assert!(float_bits(&kept.net) == float_bits(&base.net), "started at lr 0: the weights must be the start's");
    assert_eq!(kept.evaluation.clean_accuracy, base.evaluation.clean_accuracy);
    assert_eq!(kept.header.settings.start_from.as_deref(), Some("base.gaplab"));
    assert_eq!(base.header.settings.start_from, None);
    let scratch = run(&frozen, None).unwrap();
    assert!(float_bits(&scratch.net) != float_bits(&base.net), "from scratch, the weights are a fresh initialisation");
    // Another network (the GAP head) cannot start from the FC model.
    let gap = TrainRequest { spec: ModelSpec::new(Task::Text, Arch::Bag, Head::Gap, 2).unwrap(), ..frozen.clone() };
    let refused = run(&gap, Some(start)).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(refused.contains("base.gaplab") && refused.contains("same network"), "{refused}");
}
