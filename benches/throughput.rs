//! Native training and inference throughput of every network on burn's Flex CPU backend.
//!
//! Training goes through the lab's own loop ([`gaplab::train::fit`]: forward, loss with L2,
//! backward, optimiser step, the loss and accuracy read back each step), on synthetic inputs
//! of the real shapes: the same work per step as on real data. Inference is the evaluation
//! forward pass (`Net::valid`) with the logits read back. One warm-up step is dropped; the
//! median step gives samples/s. `bench/peers.sh` sets these beside Keras on TensorFlow.
//!
//! `cargo bench --bench throughput -- [--models small-fc,strip-gap,...] [--batches 256,32]
//! [--steps N] [--framing valid|centred] [--json]` (models are `ARCH-HEAD`; default all twelve).
//! `--framing centred` gives the sound models the 101-frame input the recipe grids and the
//! page's pairs train on (default: the paper's 98 frames); the large CNN's deep maps are then
//! 25 × 10 instead of 24 × 10, which changes how its products split into gemm's panels.

use std::ops::ControlFlow;

use burn::prelude::*;
use gaplab::features::mfcc::Framing;
use gaplab::model::{Arch, Head, ModelSpec, Net};
use gaplab::train::{Features, Progress, Samples, TrainSettings, fit};
use web_time::Instant;

struct Options {
    models: Vec<(Arch, Head)>,
    batches: Vec<usize>,
    steps: usize,
    /// The sound models' MFCC framing.
    framing: Framing,
    json: bool,
    /// Run by `cargo bench`: measure. Otherwise (`cargo test --all-targets`) a smoke run — one
    /// step at batch 2 per model — so the suite checks that the bench works without timing it.
    bench: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        models: Arch::ALL.iter().flat_map(|&a| Head::BOTH.map(|h| (a, h))).collect(),
        batches: vec![256, 32],
        steps: 4,
        framing: Framing::Valid,
        json: false,
        bench: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--models" => {
                let list = args.next().ok_or("--models needs a value")?;
                options.models = list
                    .split(',')
                    .map(|m| {
                        let (arch, head) = m.split_once('-').ok_or(format!("'{m}': expected ARCH-HEAD, e.g. small-gap"))?;
                        Ok((arch.parse().map_err(|e| format!("{e}"))?, head.parse().map_err(|e| format!("{e}"))?))
                    })
                    .collect::<Result<_, String>>()?;
            }
            "--batches" => {
                let list = args.next().ok_or("--batches needs a value")?;
                options.batches = list.split(',').map(|b| b.parse().map_err(|_| format!("bad batch size '{b}'"))).collect::<Result<_, _>>()?;
            }
            "--steps" => options.steps = args.next().and_then(|s| s.parse().ok()).filter(|&n: &usize| n > 0).ok_or("--steps needs a number ≥ 1")?,
            "--framing" => options.framing = Framing::parse(&args.next().ok_or("--framing needs a value")?).map_err(|e| e.to_string())?,
            "--json" => options.json = true,
            "--bench" => options.bench = true, // cargo bench passes this; cargo test does not
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    if !options.bench {
        options.batches = vec![2];
        options.steps = 1;
    }
    Ok(options)
}

/// `n` synthetic samples with the network's input shape: deterministic pseudo-random values
/// (MFCC-like range, pixel range, token ids below the vocabulary) and labels.
fn synthetic(spec: &ModelSpec, n: usize) -> Samples {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let features = match spec.arch {
        Arch::Large | Arch::Small => Features::Dense {
            dims: [1, spec.frames(), 40],
            values: (0..n * spec.frames() * 40).map(|_| (next() % 2000) as f32 / 50.0 - 20.0).collect(),
        },
        Arch::Strip => Features::Dense { dims: [3, 32, 32], values: (0..n * 3 * 1024).map(|_| (next() % 256) as f32 / 255.0).collect() },
        Arch::Kim | Arch::Conv1d | Arch::Bag => Features::Tokens { len: 250, ids: (0..n * 250).map(|_| (next() % 10_000) as i32).collect() },
    };
    let labels = (0..n).map(|_| (next() % spec.classes as u64) as usize).collect();
    Samples::new(features, labels)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Median seconds per training step at `batch`, over `steps` steps after one warm-up.
fn train_step_seconds(spec: &ModelSpec, batch: usize, steps: usize, device: &Device) -> f64 {
    let train = synthetic(spec, batch * (steps + 1));
    let val = Samples::new(train.features.empty_like(), Vec::new());
    let mut settings = TrainSettings::paper(spec.task);
    settings.epochs = 1;
    settings.batch_size = batch;
    let mut stamps = vec![Instant::now()];
    let mut on_progress = |p: Progress| {
        if let Progress::Step { .. } = p {
            stamps.push(Instant::now());
        }
        ControlFlow::Continue(())
    };
    pollster::block_on(fit(spec, &train, &val, &settings, device, &mut on_progress)).expect("training runs");
    // The first interval includes building the network: dropped as the warm-up.
    let times: Vec<f64> = stamps.windows(2).skip(1).map(|w| (w[1] - w[0]).as_secs_f64()).collect();
    median(times)
}

/// Median seconds per inference batch of `batch`, logits read back; and the parameter count
/// (Keras's "total params", to set beside the peer's).
fn infer_batch_seconds(spec: &ModelSpec, batch: usize, steps: usize, device: &Device) -> (f64, usize) {
    let samples = synthetic(spec, batch);
    let net = Net::init(spec, device);
    let indices: Vec<usize> = (0..batch).collect();
    let mut times = Vec::new();
    for _ in 0..=steps {
        let start = Instant::now();
        let logits = net.forward(samples.features.batch(&indices, device));
        let _ = logits.into_data().try_to_vec::<f32>().expect("f32 logits");
        times.push(start.elapsed().as_secs_f64());
    }
    (median(times.split_off(1)), net.total_count())
}

fn main() {
    // As the CLI does: large tensors reuse freed heap memory instead of fresh mmapped pages.
    gaplab::memory::keep_freed_memory();
    let options = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("throughput: {e}");
            std::process::exit(2);
        }
    };
    let device = Device::flex();
    if !options.json {
        println!("| model | params | batch | train samples/s | train s/step | infer samples/s |");
        println!("|---|---|---|---|---|---|");
    }
    for &(arch, head) in &options.models {
        let spec = ModelSpec::new(arch.task(), arch, head, arch.task().class_counts()[0]).expect("valid spec");
        let spec = if arch.task() == gaplab::data::Task::Sound { spec.with_framing(options.framing).expect("a sound model") } else { spec };
        for &batch in &options.batches {
            let step = train_step_seconds(&spec, batch, options.steps, &device);
            let (infer, params) = infer_batch_seconds(&spec, batch, options.steps, &device);
            let (train_sps, infer_sps) = (batch as f64 / step, batch as f64 / infer);
            if options.json {
                println!(
                    "{{\"model\":\"{arch}-{head}\",\"batch\":{batch},\"train_samples_per_s\":{train_sps:.2},\"train_step_s\":{step:.5},\"infer_samples_per_s\":{infer_sps:.2},\"params\":{params}}}"
                );
            } else {
                println!("| {arch}-{head} | {params} | {batch} | {train_sps:.1} | {step:.3} | {infer_sps:.1} |");
            }
        }
    }
}
