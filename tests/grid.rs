//! `gaplab grid` on a tiny real setting: every output, resume, plan → job → merge equal to
//! the one-shot run, and clear errors for bad input.
#![cfg(not(target_arch = "wasm32"))]

use gaplab::experiment::report::results::{HEADER, parse_csv};
use std::path::{Path, PathBuf};
use std::process::Command;

fn gaplab(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gaplab")).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!stderr.contains("panicked"), "the CLI panicked: {stderr}");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string(), stderr)
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gaplab-grid-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Text, embedding-bag net, both heads, clean + poisoned at start, one run of one epoch on the demo data.
const TINY: &[&str] = &[
    "grid", "--task", "text", "--arch", "bag", "--positions", "start", "--runs", "1", "--epochs", "1",
    "--batch-size", "64", "--poisoned", "100", "--quiet",
];

fn with_out<'a>(args: &[&'a str], out: &'a str) -> Vec<&'a str> {
    let mut v = args.to_vec();
    v.extend(["--out", out]);
    v
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn tiny_grid_writes_every_output_resumes_and_scales_out_identically() {
    let dir = scratch("oneshot");
    let out = dir.display().to_string();
    let (ok, stdout, err) = gaplab(&with_out(TINY, &out));
    assert!(ok, "{err}");
    assert!(stdout.contains("4 jobs run (0 already done)"), "{stdout}");

    let csv = read(&dir.join("results.csv"));
    assert_eq!(csv.lines().next().unwrap(), HEADER);
    let rows = parse_csv("results.csv", &csv).unwrap();
    // 2 heads × (clean + start) × 1 run × 3 test positions.
    assert_eq!(rows.len(), 12);
    for head in ["fc", "gap"] {
        for train in ["clean", "start"] {
            let tests: Vec<&str> = rows
                .iter()
                .filter(|r| r.head == head && r.train_position == train)
                .map(|r| r.test_position.as_str())
                .collect();
            assert_eq!(tests, ["start", "middle", "end"], "{head} {train}");
        }
    }
    assert!(rows.iter().all(|r| r.epochs == 1 && r.backend == "flex" && r.task == "text" && r.classes == 2));
    assert!(rows.iter().filter(|r| r.train_position == "start").all(|r| r.poisoned == 100));
    assert!(rows.iter().filter(|r| r.train_position == "clean").all(|r| r.poisoned == 0));

    let tables = read(&dir.join("tables.md"));
    assert!(tables.contains("bag") && tables.contains("start"), "{tables}");
    let svg = read(&dir.join("figures/text-bag-2.svg"));
    assert!(svg.contains("<svg"));
    let png = std::fs::read(dir.join("figures/text-bag-2.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(!dir.join("traces.csv").exists() && !dir.join("traces").exists(), "no trace without --trace");

    // Resume: nothing left to do, nothing changes.
    let (ok, stdout, err) = gaplab(&with_out(TINY, &out));
    assert!(ok, "{err}");
    assert!(stdout.contains("0 jobs run (4 already done)"), "{stdout}");
    assert_eq!(read(&dir.join("results.csv")), csv);

    // Plan → every job → merge gives the same tables.
    let planned = scratch("planned");
    let pout = planned.display().to_string();
    let mut plan_args = with_out(TINY, &pout);
    plan_args.push("--plan");
    let (ok, stdout, err) = gaplab(&plan_args);
    assert!(ok && stdout.contains("4 jobs"), "{stdout}{err}");
    for id in 0..4 {
        let (ok, _, err) = gaplab(&["grid", "--out", &pout, "--job", &id.to_string()]);
        assert!(ok, "{err}");
    }
    let (ok, _, err) = gaplab(&["grid", "--out", &pout, "--merge"]);
    assert!(ok, "{err}");
    assert_eq!(read(&planned.join("tables.md")), tables, "plan → job → merge equals the one-shot run");
    let strip = |t: &str| -> Vec<(String, String)> {
        parse_csv("x", t).unwrap().into_iter().map(|r| (format!("{:?}", r.job_key()), format!("{}:{}:{}", r.test_position, r.clean_accuracy, r.attack_accuracy))).collect()
    };
    assert_eq!(strip(&read(&planned.join("results.csv"))), strip(&csv));

    let (ok, _, err) = gaplab(&["grid", "--out", &pout, "--job", "9"]);
    assert!(!ok && err.contains("no job 9"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
    std::fs::remove_dir_all(&planned).ok();
}

#[test]
fn a_traced_grid_past_early_stopping_evaluates_every_epoch_and_keeps_the_last() {
    let dir = scratch("traced");
    let out = dir.display().to_string();
    let args = [
        "grid", "--task", "text", "--arch", "bag", "--positions", "start", "--runs", "1", "--epochs", "3",
        "--patience", "0", "--trace", "--batch-size", "64", "--poisoned", "100", "--quiet", "--out", &out,
    ];
    let (ok, stdout, err) = gaplab(&args);
    assert!(ok, "{err}");
    assert!(stdout.contains("4 jobs run"), "{stdout}");
    let rows = parse_csv("results.csv", &read(&dir.join("results.csv"))).unwrap();
    // Patience 0: no early stop, whatever the validation loss did.
    assert!(rows.iter().all(|r| r.epochs == 3), "every model trained all 3 epochs");
    let trace = parse_csv("traces.csv", &read(&dir.join("traces.csv"))).unwrap();
    // 4 models × 3 epochs × 3 test positions, each epoch once per model and position.
    assert_eq!(trace.len(), 36);
    for r in &rows {
        let mut epochs: Vec<usize> = trace
            .iter()
            .filter(|t| t.job_key() == r.job_key() && t.test_position == r.test_position)
            .map(|t| t.epochs)
            .collect();
        epochs.sort();
        assert_eq!(epochs, [1, 2, 3], "{:?} {}", r.job_key(), r.test_position);
        // The kept model is the last epoch's weights: its evaluation is that epoch's, exactly.
        let last = trace.iter().find(|t| t.job_key() == r.job_key() && t.test_position == r.test_position && t.epochs == 3).unwrap();
        assert_eq!((last.clean_accuracy, last.attack_accuracy), (r.clean_accuracy, r.attack_accuracy), "{:?}", r.job_key());
        // (The model's summary keeps the loss to 12 significant digits.)
        assert!((last.best_val_loss - r.best_val_loss).abs() < 1e-9, "the kept epoch's validation loss: {} vs {}", last.best_val_loss, r.best_val_loss);
    }
    // The epochs differ: training moved the weights between evaluations (each epoch's row
    // carries that epoch's validation loss).
    for head in ["fc", "gap"] {
        let val_loss = |e: usize| trace.iter().find(|t| t.head == head && t.train_position == "start" && t.epochs == e).unwrap().best_val_loss;
        assert!(val_loss(1) != val_loss(3), "{head}: epoch 1 and 3 evaluate different weights");
    }
    for train in ["clean", "start"] {
        let svg = read(&dir.join(format!("figures/text-bag-2-trained-{train}-epochs.svg")));
        assert!(svg.contains("trained at") && svg.contains("epoch"), "{train}");
    }
    // Observing draws nothing random and changes no weight: the same grid without --trace
    // (whose models are evaluated once, at the end) gives the very same results.
    let plain = scratch("untraced");
    let plain_out = plain.display().to_string();
    let untraced: Vec<&str> = args.iter().copied().filter(|a| *a != "--trace").map(|a| if a == out { plain_out.as_str() } else { a }).collect();
    let (ok, _, err) = gaplab(&untraced);
    assert!(ok, "{err}");
    let plain_rows = parse_csv("results.csv", &read(&plain.join("results.csv"))).unwrap();
    let figures = |rows: &[gaplab::experiment::report::results::ResultRow]| -> Vec<(String, String, f64, f64, f64)> {
        rows.iter().map(|r| (format!("{:?}", r.job_key()), r.test_position.clone(), r.clean_accuracy, r.attack_accuracy, r.best_val_loss)).collect()
    };
    assert_eq!(figures(&plain_rows), figures(&rows), "a traced run trains and evaluates as an untraced one");
    std::fs::remove_dir_all(&dir).ok();
    std::fs::remove_dir_all(&plain).ok();
}

/// A planned job cut short (a session's end, a killed worker) goes on from the checkpoint it
/// left after its last step and ends exactly as the job that was never stopped; the checkpoint
/// is gone once the rows are written; a damaged one is a clear error and is kept.
#[test]
fn a_grid_job_cut_short_resumes_from_its_checkpoint_and_ends_as_if_never_stopped() {
    use burn::prelude::*;
    use gaplab::experiment::grid::{DataCache, checkpoint_path, read_plan};
    use gaplab::experiment::{TrainRequest, train_and_evaluate_resumable};
    use gaplab::train::{Checkpointing, Progress};
    use std::ops::ControlFlow;

    let mut two_epochs = TINY.to_vec();
    let epochs = two_epochs.iter().position(|a| *a == "--epochs").unwrap();
    two_epochs[epochs + 1] = "2";
    let plan = |tag: &str| -> (PathBuf, String) {
        let dir = scratch(tag);
        let out = dir.display().to_string();
        let mut args = with_out(&two_epochs, &out);
        args.push("--plan");
        let (ok, stdout, err) = gaplab(&args);
        assert!(ok && stdout.contains("4 jobs"), "{stdout}{err}");
        (dir, out)
    };
    let (whole, whole_out) = plan("ckpt-whole");
    let (cut, cut_out) = plan("ckpt-cut");
    let id = 3; // GAP, poisoned at the start
    let (ok, _, err) = gaplab(&["grid", "--out", &whole_out, "--job", &id.to_string()]);
    assert!(ok, "{err}");
    // Its log: a line an epoch, as the job trains them.
    let epochs_logged = |err: &str| -> Vec<String> {
        err.lines().filter_map(|l| l.strip_prefix(&format!("job {id}: epoch "))).map(|l| l.split(':').next().unwrap_or("").to_string()).collect()
    };
    assert_eq!(epochs_logged(&err), ["1", "2"], "{err}");
    assert!(err.lines().any(|l| l.starts_with(&format!("job {id}: epoch 2: train loss ")) && l.contains("validation accuracy")), "{err}");
    let left = |dir: &Path| std::fs::read_dir(dir.join("checkpoints")).map_or(0, |d| d.count());
    assert_eq!(left(&whole), 0, "a finished job leaves no checkpoint");

    // The same job, stopped three steps into its second epoch, as a killed worker leaves it.
    let job = read_plan(&cut).unwrap().into_iter().find(|j| j.id == id).unwrap();
    assert_eq!(job.settings.epochs, 2);
    let path = checkpoint_path(&cut, &job).expect("an untraced job checkpoints");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut cache = DataCache::new();
    let data = cache.get(&job).unwrap();
    let request = TrainRequest { spec: job.spec, poison: job.poison, settings: job.settings.clone() };
    let mut save = |bytes: &[u8]| std::fs::write(&path, bytes).map_err(|e| gaplab::GapError::Invalid(e.to_string()));
    let mut checkpoints = Checkpointing { resume: None, save: Some(&mut save), ..Checkpointing::default() };
    let mut stop = |p: Progress| match p {
        Progress::Step { epoch: 2, step: 3, .. } => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    };
    let stopped = pollster::block_on(train_and_evaluate_resumable(
        data, &request, &job.test_positions, &Device::flex(), &mut checkpoints, None, false, &mut stop,
    ));
    assert!(matches!(stopped, Err(gaplab::GapError::Cancelled)));
    assert!(path.exists());

    // A damaged checkpoint: a clear error naming it, and it is kept.
    let good = std::fs::read(&path).unwrap();
    std::fs::write(&path, &good[..good.len() / 2]).unwrap();
    let (ok, _, err) = gaplab(&["grid", "--out", &cut_out, "--job", &id.to_string()]);
    assert!(!ok && err.contains(&path.display().to_string()) && err.contains("delete the checkpoint"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap().len(), good.len() / 2, "the damaged checkpoint is kept");
    std::fs::write(&path, &good).unwrap();

    let (ok, _, err) = gaplab(&["grid", "--out", &cut_out, "--job", &id.to_string()]);
    assert!(ok, "{err}");
    assert!(err.contains(&format!("job {id}: resumed from its checkpoint at epoch 2, step 3")), "{err}");
    assert_eq!(epochs_logged(&err), ["2"], "the resumed job trains (and logs) its second epoch only: {err}");
    assert!(!path.exists() && left(&cut) == 0, "the checkpoint is removed once the rows exist");
    let rows = |dir: &Path| -> Vec<(String, String, f64, f64, usize, f64)> {
        let csv = read(&dir.join(format!("rows/job-{id}.csv")));
        parse_csv("rows", &csv)
            .unwrap()
            .into_iter()
            .map(|r| (format!("{:?}", r.job_key()), r.test_position, r.clean_accuracy, r.attack_accuracy, r.epochs, r.best_val_loss))
            .collect()
    };
    let resumed = rows(&cut);
    assert_eq!(resumed.len(), 3);
    assert_eq!(resumed, rows(&whole), "cut short and resumed ≡ never stopped");
    std::fs::remove_dir_all(&whole).ok();
    std::fs::remove_dir_all(&cut).ok();
}

#[test]
fn bad_data_and_unwritable_out_are_clear_errors() {
    let dir = scratch("bad");
    let out = dir.join("out").display().to_string();
    let mut args = with_out(TINY, &out);
    args.extend(["--data", "/nonexistent/aclImdb.tar.gz"]);
    let (ok, _, err) = gaplab(&args);
    assert!(!ok && err.contains("/nonexistent/aclImdb.tar.gz"), "{err}");

    // --out under a regular file cannot be created (root ignores permission bits, not this).
    let file = dir.join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let blocked = file.join("out").display().to_string();
    let (ok, _, err) = gaplab(&with_out(TINY, &blocked));
    assert!(!ok && err.contains("a-file"), "{err}");

    let (ok, _, err) = gaplab(&["grid", "--out", &dir.join("empty").display().to_string(), "--merge"]);
    assert!(!ok && err.contains("no results"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// The shipped models' recipes as grid settings: the plan of a three-task grid gives the sound
/// jobs the framing, the image jobs the blend, both the augmentation, every job the rate drop —
/// and the text jobs neither a framing, a blend nor augmentation (they have none).
#[test]
fn grid_recipe_settings_reach_each_task_s_jobs_and_only_theirs() {
    let dir = scratch("recipe");
    let out = dir.join("out").display().to_string();
    let (ok, _, err) = gaplab(&[
        "grid", "--task", "sound,text,image", "--arch", "small,bag,strip", "--heads", "gap", "--positions", "start",
        "--runs", "1", "--framing", "centred", "--augment", "--lr-drop", "4", "--trigger-blend", "add", "--out", &out, "--plan",
    ]);
    assert!(ok, "{err}");
    let jobs: Vec<serde_json::Value> =
        read(&dir.join("out/plan.jsonl")).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(jobs.len(), 6, "3 tasks × (clean + start)");
    for j in &jobs {
        let task = j["spec"]["task"].as_str().unwrap();
        assert_eq!(j["settings"]["lr_drop"]["after"], 4, "{j}");
        assert_eq!(j["settings"]["augment"].as_bool().unwrap_or(false), task != "text", "{j}");
        assert_eq!(j["spec"]["framing"].as_str(), (task == "sound").then_some("centred"), "{j}");
        assert_eq!(j["poison"]["blend"].as_str(), (task == "image").then_some("add"), "{j}");
    }
    let (ok, _, err) = gaplab(&["grid", "--task", "sound", "--framing", "sideways", "--out", &out, "--plan"]);
    assert!(!ok && err.contains("sideways"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// The 30-word path, end to end, on a synthetic stand-in for the full Speech Commands archive
/// (the shipped one has ten words): 30 word folders × 8 speakers of generated 1-s clips, in the
/// dataset's own layout, through `gaplab grid --classes 30`.
#[test]
fn the_30_word_path_runs_end_to_end_on_a_synthetic_stand_in() {
    use gaplab::data::{speech, wav};
    let dir = scratch("thirty");
    let data = dir.join("speech_commands_standin");
    for (label, word) in speech::WORDS_30.iter().enumerate() {
        std::fs::create_dir_all(data.join(word)).unwrap();
        for speaker in 0..8u32 {
            // A tone per word, a little detuned and noisier per speaker (a fixed LCG: no randomness).
            let mut state = 0x9e37_79b9u32.wrapping_mul(label as u32 * 8 + speaker + 1);
            let freq = 150.0 + 90.0 * label as f32 + 7.0 * speaker as f32;
            let clip: Vec<f32> = (0..wav::CLIP_SAMPLES)
                .map(|i| {
                    state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    let noise = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                    0.3 * (std::f32::consts::TAU * freq * i as f32 / 16_000.0).sin() + 0.05 * noise
                })
                .collect();
            let name = format!("{speaker:08x}_nohash_0.wav");
            std::fs::write(data.join(word).join(name), wav::encode_clip(&clip)).unwrap();
        }
    }
    let (data_s, out) = (data.display().to_string(), dir.join("out").display().to_string());
    let args = [
        "grid", "--task", "sound", "--arch", "small", "--classes", "30", "--heads", "gap", "--positions", "start",
        "--runs", "1", "--epochs", "1", "--batch-size", "32", "--poisoned", "10", "--data", &data_s, "--quiet", "--out", &out,
    ];
    let (ok, stdout, err) = gaplab(&args);
    assert!(ok, "{err}");
    assert!(stdout.contains("2 jobs run"), "{stdout}");
    let out = dir.join("out");
    let rows = parse_csv("results.csv", &read(&out.join("results.csv"))).unwrap();
    // Clean + start, each at three test positions, all with 30 classes.
    assert_eq!(rows.len(), 6);
    assert!(rows.iter().all(|r| r.classes == 30 && r.task == "sound" && r.arch == "small"));
    assert!(rows.iter().filter(|r| r.train_position == "start").all(|r| r.poisoned == 10));
    let tables = read(&out.join("tables.md"));
    assert!(tables.contains("sound small gap, 30 classes"), "{tables}");
    assert!(read(&out.join("figures/sound-small-30.svg")).contains("sound small (30 classes)"));
    std::fs::remove_dir_all(&dir).ok();
}

/// The legend's "failed runs left out: K of N" line of a figure's SVG.
fn failed_count(svg: &str) -> &str {
    svg.lines().find(|l| l.starts_with("failed runs left out: ")).unwrap_or_else(|| panic!("no failed-runs line in {svg}"))
}

/// The poison-budget experiment: `--poisoned 10,40` trains every poisoned configuration once per
/// budget (the clean baseline once), keeps the budgets apart in results, tables and the
/// Figure-1 panel (which shows the largest budget and says so), and draws the attack against
/// the budget per training position; a single training refuses a list.
#[test]
fn a_poison_budget_grid_trains_each_budget_and_plots_attack_against_it() {
    let dir = scratch("budget");
    let out = dir.display().to_string();
    let args = [
        "grid", "--task", "text", "--arch", "bag", "--positions", "start", "--runs", "1", "--epochs", "1",
        "--batch-size", "64", "--poisoned", "10,40", "--quiet", "--out", &out,
    ];
    let (ok, stdout, err) = gaplab(&args);
    assert!(ok, "{err}");
    // 2 heads × (clean + start at 10 + start at 40) × 1 run.
    assert!(stdout.contains("6 jobs run (0 already done)"), "{stdout}");
    let rows = parse_csv("results.csv", &read(&dir.join("results.csv"))).unwrap();
    assert_eq!(rows.len(), 18);
    for head in ["fc", "gap"] {
        for (train, poisoned) in [("clean", 0), ("start", 10), ("start", 40)] {
            let n = rows.iter().filter(|r| r.head == head && r.train_position == train && r.poisoned == poisoned).count();
            assert_eq!(n, 3, "{head} {train} {poisoned}: one row per test position");
        }
    }
    let tables = read(&dir.join("tables.md"));
    assert!(tables.contains("| start, 10 poisoned |") && tables.contains("| start, 40 poisoned |"), "{tables}");
    let svg = read(&dir.join("figures/text-bag-2-trained-start-budget.svg"));
    // The x axis is the budget (10 is no tick of the percent axis, which counts in twenties).
    assert!(svg.contains("poisoned training samples") && svg.contains("\n10\n"), "{svg}");
    assert!(svg.contains("clean model"), "the clean-model baseline is drawn");
    // The legend counts every model drawn: 2 heads × 2 budgets, and the 2 clean models.
    assert!(failed_count(&svg).ends_with(" of 6"), "{}", failed_count(&svg));
    let png = std::fs::read(dir.join("figures/text-bag-2-trained-start-budget.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let panel = read(&dir.join("figures/text-bag-2.svg"));
    assert!(panel.contains("40 poisoned"));
    // Figure 1's panel: the largest budget's 2 runs and the 2 clean models of the baselines.
    assert!(failed_count(&panel).ends_with(" of 4"), "{}", failed_count(&panel));

    // Resume: both budgets are done.
    let (ok, stdout, err) = gaplab(&args);
    assert!(ok && stdout.contains("0 jobs run (6 already done)"), "{stdout}{err}");

    let (ok, _, err) = gaplab(&["grid", "--task", "text", "--poisoned", "10,x", "--out", &out]);
    assert!(!ok && err.contains("'x' is not a number"), "{err}");
    let (ok, _, err) = gaplab(&["train", "--task", "text", "--arch", "bag", "--poisoned", "10,20", "--save", &format!("{out}/m.gaplab")]);
    assert!(!ok && err.contains("takes one number"), "{err}");
}
