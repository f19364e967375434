//! What a dragged trigger costs the page's look, natively: both models of a shipped pair asked
//! about a demo sample (`page::look_at`, evidence maps included) at every position of a drag —
//! the image's patch moved a pixel at a time, the tone 10 ms at a time — with the feature maps
//! of the look before kept (`model::stack`, what the page does) and with them thrown away before
//! every look (every cell recomputed, as before). Both in one run, alternating move by move;
//! prints median and p95 milliseconds, their ratio, and how many looks took the short path.
//!
//! `cargo bench --bench drag -- [--pairs image,sound-small,sound-large] [--samples N]`

use burn::prelude::*;
use gaplab::data::demo;
use gaplab::model::Task;
use gaplab::model::stack::Reused;
use gaplab::page::{self, LoadedModel, Source};
use web_time::Instant;

fn load(name: &str, device: &Device) -> LoadedModel {
    let bytes = std::fs::read(format!("{}/www/models/{name}.gaplab", env!("CARGO_MANIFEST_DIR"))).expect("shipped model");
    LoadedModel::from_bytes(name, bytes, device).expect("model loads")
}

fn percentile(mut xs: Vec<f64>, p: f64) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[((xs.len() - 1) as f64 * p).round() as usize]
}

/// The drag's placements: the patch along row 12 and back (corner `x + 25·12`), or the tone's
/// first sample from 0.1 s to 0.7 s and back in 10 ms steps.
fn drag(task: Task) -> Vec<String> {
    let there: Vec<usize> = match task {
        Task::Image => (0..25).map(|x| x + 25 * 12).collect(),
        _ => (0..=60).map(|i| 1600 + 160 * i).collect(),
    };
    there.iter().chain(there.iter().rev().skip(1)).map(|k| k.to_string()).collect()
}

fn main() {
    gaplab::memory::keep_freed_memory();
    let mut args = std::env::args().skip(1);
    let (mut pairs, mut samples, mut bench) = (vec!["image".to_string(), "sound-small".into(), "sound-large".into()], 3usize, false);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--pairs" => pairs = args.next().expect("--pairs needs a value").split(',').map(String::from).collect(),
            "--samples" => samples = args.next().and_then(|s| s.parse().ok()).expect("--samples needs a number"),
            "--bench" => bench = true,
            other => panic!("unknown argument '{other}'"),
        }
    }
    if !bench {
        // `cargo test --all-targets`: one sample of the image pair, to check that the bench runs.
        (pairs, samples) = (vec!["image".into()], 1);
    }
    let device = Device::flex();
    println!("| pair | looks | kept maps: median / p95 ms | every cell: median / p95 ms | ratio (medians) | short path |");
    println!("|---|---|---|---|---|---|");
    for pair in &pairs {
        let (task, prefix) = match pair.as_str() {
            "image" => (Task::Image, "image-strip"),
            "sound-small" => (Task::Sound, "sound-small"),
            "sound-large" => (Task::Sound, "sound-large"),
            other => panic!("unknown pair '{other}' (image, sound-small, sound-large)"),
        };
        let data = demo::load(task, 10).expect("demo data");
        let kept = [load(&format!("{prefix}-fc"), &device), load(&format!("{prefix}-gap"), &device)];
        let fresh = [load(&format!("{prefix}-fc"), &device), load(&format!("{prefix}-gap"), &device)];
        let (mut with, mut without, mut short) = (Vec::new(), Vec::new(), 0);
        let placements = drag(task);
        for sample in 0..samples {
            for (i, t) in placements.iter().enumerate() {
                let trigger = page::parse_trigger(t).expect("placement");
                let time = |models: &[LoadedModel; 2]| {
                    let refs: Vec<&LoadedModel> = models.iter().collect();
                    let start = Instant::now();
                    pollster::block_on(page::look_at(&refs, Source::Index(sample * 37), Some(&data), trigger, &device)).expect("look");
                    start.elapsed().as_secs_f64() * 1e3
                };
                fresh.iter().for_each(LoadedModel::forget_last_look);
                let (a, b) = (time(&kept), time(&fresh));
                // The first look of a sample has nothing to reuse in either mode.
                if i > 0 {
                    with.push(a);
                    without.push(b);
                    short += usize::from(matches!(kept[0].reuse.lock().unwrap().as_ref().map(|r| r.last()), Some(Reused::Window { .. })));
                }
            }
        }
        let n = with.len();
        let (wm, wp, om, op) = (percentile(with.clone(), 0.5), percentile(with, 0.95), percentile(without.clone(), 0.5), percentile(without, 0.95));
        println!("| {prefix} | {n} | {wm:.2} / {wp:.2} | {om:.2} / {op:.2} | {:.2}× | {short} of {n} |", om / wm);
    }
}
