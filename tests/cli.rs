//! The CLI contract of LAB.md: `mfcc --json`, `train --save`, `eval --json` on another copy of
//! the dataset (a folder of clips the model never saw).
#![cfg(not(target_arch = "wasm32"))]

use std::path::{Path, PathBuf};
use std::process::Command;

fn gaplab(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_gaplab")).args(args).output().unwrap();
    assert!(out.status.success(), "gaplab {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn reference_wav(name: &str) -> String {
    format!("{}/../shared/reference/wav/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gaplab-cli-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn mfcc_json_is_98_by_40_and_the_tone_changes_only_its_frames() {
    let parse = |args: &[&str]| -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let v: serde_json::Value = serde_json::from_str(&gaplab(args)).unwrap();
        assert_eq!(v["frames"], 98);
        assert_eq!(v["coeffs"], 40);
        (serde_json::from_value(v["mfcc"].clone()).unwrap(), serde_json::from_value(v["log_mel"].clone()).unwrap())
    };
    let clip = reference_wav("yes_022cd682_nohash_0.wav");
    let (clean, clean_mel) = parse(&["mfcc", &clip, "--json"]);
    assert_eq!(clean.len(), 98);
    assert!(clean.iter().all(|row| row.len() == 40));
    // The tone at the end covers samples 13600..16000: frames whose 400-sample window
    // [160 f, 160 f + 400) misses it (f <= 82) keep their power, but the dB floor
    // (max - 80 dB over the clip, as librosa's top_db) rises with the loud tone:
    // toned = max(clean, new floor) there, exactly.
    let (toned, toned_mel) = parse(&["mfcc", &clip, "--tone", "end", "--json"]);
    let floor = toned_mel.iter().flatten().cloned().fold(f64::MIN, f64::max) - 80.0;
    for f in 0..=82 {
        for m in 0..40 {
            let expected = clean_mel[f][m].max(floor);
            assert!((toned_mel[f][m] - expected).abs() < 1e-3, "frame {f} mel {m}: {} vs {expected}", toned_mel[f][m]);
        }
    }
    assert!((83..98).all(|f| clean[f] != toned[f]), "every frame that overlaps the tone changes");
}

/// `--framing centred` gives librosa's 101 centred frames; its frame f is centred on sample
/// 160 f, so with the tone at the end (samples 13600..16000) the frames whose window
/// [160 f − 200, 160 f + 200) reaches it (f ≥ 84) change, and the padding's mirror of the
/// tone keeps the last ones changed too. A framing that does not exist is a clear error.
#[test]
fn mfcc_centred_framing_has_101_frames() {
    let clip = reference_wav("yes_022cd682_nohash_0.wav");
    let parse = |extra: &[&str]| -> Vec<Vec<f64>> {
        let mut args = vec!["mfcc", clip.as_str(), "--framing", "centred", "--json"];
        args.extend_from_slice(extra);
        let v: serde_json::Value = serde_json::from_str(&gaplab(&args)).unwrap();
        assert_eq!((v["frames"].as_u64(), v["framing"].as_str()), (Some(101), Some("centred")));
        serde_json::from_value(v["mfcc"].clone()).unwrap()
    };
    let (clean, toned) = (parse(&[]), parse(&["--tone", "end"]));
    assert_eq!((clean.len(), toned.len()), (101, 101));
    assert!(clean.iter().all(|row| row.len() == 40));
    assert!((84..101).all(|f| clean[f] != toned[f]), "every centred frame that overlaps the tone changes");
    let refused = Command::new(env!("CARGO_BIN_EXE_gaplab")).args(["mfcc", &clip, "--framing", "same"]).output().unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("unknown framing 'same'"));
}

/// A reader that stops early (`gaplab mfcc … --json | head`) is not a crash: the JSON (about
/// 100 kB, more than a pipe holds) meets a closed pipe, and the CLI stops quietly.
#[test]
fn a_closed_stdout_is_not_a_panic() {
    use std::process::Stdio;
    let clip = reference_wav("yes_022cd682_nohash_0.wav");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gaplab"))
        .args(["mfcc", &clip, "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

/// Extracts the clips of `speakers` from the real archive into a folder in the official layout.
fn folder_of_clips(dir: &Path, count_per_word: usize) -> usize {
    let archive = format!("{}/../shared/datasets/speech_commands_10w.tar.gz", env!("CARGO_MANIFEST_DIR"));
    let file = std::fs::File::open(archive).unwrap();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut taken = std::collections::HashMap::<String, usize>::new();
    let mut total = 0;
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().to_string();
        let Some((word, name)) = path.split_once('/') else { continue };
        // The last speakers in sort order: not among the demo data's evenly spread picks.
        if !name.ends_with(".wav") || !name.starts_with('f') {
            continue;
        }
        let n = taken.entry(word.to_string()).or_default();
        if *n < count_per_word {
            *n += 1;
            total += 1;
            std::fs::create_dir_all(dir.join(word)).unwrap();
            entry.unpack(dir.join(word).join(name)).unwrap();
        }
    }
    total
}

#[test]
fn train_save_and_eval_on_another_copy_of_the_dataset() {
    let dir = scratch("eval");
    let model = dir.join("sound.gaplab").display().to_string();
    gaplab(&[
        "train", "--task", "sound", "--arch", "small", "--head", "gap", "--epochs", "1", "--batch-size", "64",
        "--poisoned", "20", "--poison-at", "middle", "--quiet", "--save", &model,
    ]);
    let clips = dir.join("clips");
    let n = folder_of_clips(&clips, 3);
    assert!(n >= 20, "{n} clips");
    let v: serde_json::Value =
        serde_json::from_str(&gaplab(&["eval", "--model", &model, "--data", &clips.display().to_string(), "--split", "all", "--json"]))
            .unwrap();
    assert_eq!(v["n_clean"], n);
    let clean = v["clean_accuracy"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&clean));
    for p in ["start", "middle", "end"] {
        let a = v["attack_accuracy"][p].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&a), "{p}: {a}");
    }
    // Attack sets hold only non-target clips: 'up' (target 2) has 3 clips here.
    assert_eq!(v["n_attack"], n - 3);
    std::fs::remove_dir_all(&dir).ok();
}

/// `--device`: the CPU by name, recorded in the run's summary; a backend this build lacks, or a
/// name that is none, is a clear error before any work — never a panic.
#[test]
fn the_device_flag_names_the_backend_and_refuses_one_not_built() {
    let dir = scratch("device");
    let model = dir.join("bag.gaplab").display().to_string();
    let out = gaplab(&[
        "train", "--device", "flex", "--task", "text", "--arch", "bag", "--head", "fc", "--epochs", "1", "--quiet", "--save", &model,
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["summary"]["backend"], "flex");
    assert_eq!(v["summary"]["epochs_trained"], 1);
    assert!(v["summary"]["seconds"].as_f64().unwrap() > 0.0);
    // The demo's 2,000 training reviews less the fifth held out for validation.
    assert_eq!(v["train_samples"], 1600);
    let refused = |device: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_gaplab"))
            .args(["train", "--device", device, "--task", "text", "--arch", "bag", "--epochs", "1", "--save", &model])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success() && !err.contains("panicked"), "--device {device}: {err}");
        err
    };
    assert!(refused("quantum").contains("--device must be flex, wgpu or cuda, not 'quantum'"));
    if !cfg!(feature = "gpu") {
        assert!(refused("wgpu").contains("rebuild with `--features gpu`"));
    }
    assert!(refused("cuda").contains("no CUDA backend"));
    std::fs::remove_dir_all(&dir).ok();
}

/// The page's large sound GAP model, evaluated by the CLI on clips of speakers it never heard:
/// the clips of its own held-out split (its seed, from its file), copied out of the real
/// archive into a folder in the official layout and read as another copy of the dataset. It
/// must recognise the words far above chance (0.1) and obey its backdoor wherever the tone is
/// — the paper's finding for GAP — not only where it was planted (measured on the whole test
/// split: clean 0.882, attack at the start / middle / end 0.989 / 0.880 / 0.908).
#[test]
fn the_shipped_large_gap_model_recognises_speakers_it_never_heard() {
    use gaplab::experiment::test_indices;
    use gaplab::data::TaskData;
    use gaplab::model::Task;
    let root = env!("CARGO_MANIFEST_DIR");
    let model = format!("{root}/www/models/sound-large-gap.gaplab");
    let (header, _) = gaplab::store::read_header("sound-large-gap.gaplab", &std::fs::read(&model).unwrap()).unwrap();
    let archive = format!("{root}/../shared/datasets/speech_commands_10w.tar.gz");
    let data = gaplab::data::load(Task::Sound, Some(Path::new(&archive)), 10).unwrap();
    let TaskData::Sound(sound) = &data else { unreachable!() };
    // Every 6th held-out clip: ~100 clips of the speakers the split kept out of training.
    let wanted: std::collections::HashSet<&str> =
        test_indices(&data, header.seed).iter().step_by(6).map(|&i| sound.clips[i].path.as_str()).collect();
    let dir = scratch("held-out");
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(std::fs::File::open(&archive).unwrap()));
    let mut copied = 0;
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().to_string();
        if wanted.contains(path.as_str()) {
            let target = dir.join(&path);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            entry.unpack(target).unwrap();
            copied += 1;
        }
    }
    assert_eq!(copied, wanted.len(), "every held-out clip found in the archive");
    let v: serde_json::Value =
        serde_json::from_str(&gaplab(&["eval", "--model", &model, "--data", &dir.display().to_string(), "--split", "all", "--json"])).unwrap();
    assert_eq!(v["n_clean"], copied);
    eprintln!("held-out clips: {v}");
    let clean = v["clean_accuracy"].as_f64().unwrap();
    let start = v["attack_accuracy"]["start"].as_f64().unwrap();
    assert!(clean >= 0.7, "clean accuracy on unseen speakers {clean}");
    assert!(start >= 0.85, "attack at the planted position {start}");
    for at in ["middle", "end"] {
        let a = v["attack_accuracy"][at].as_f64().unwrap();
        assert!(a >= 0.7, "a GAP backdoor fires wherever the tone is: attack at the {at} {a}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// `convert --weights f16` halves a model's weights and the converted file evaluates like the
/// original (the page ships its pretrained models this way).
#[test]
fn convert_to_f16_halves_the_file_and_evaluates_like_the_original() {
    let dir = scratch("convert");
    // The pretrained sound GAP model as trained (f32); evaluated on the embedded demo clips.
    let original = format!("{}/tests/fixtures/sound-small-gap-f32.gaplab", env!("CARGO_MANIFEST_DIR"));
    let half = dir.join("sound-small-gap-f16.gaplab").display().to_string();
    gaplab(&["convert", "--model", &original, "--weights", "f16", "--save", &half]);
    let (a, b) = (std::fs::metadata(&original).unwrap().len(), std::fs::metadata(&half).unwrap().len());
    assert!(b < a * 6 / 10, "{b} bytes vs {a}");
    let eval = |model: &str| -> serde_json::Value { serde_json::from_str(&gaplab(&["eval", "--model", model, "--json"])).unwrap() };
    let (full, small) = (eval(&original), eval(&half));
    assert_eq!(full["n_clean"], small["n_clean"]);
    let close = |key: &str, x: &serde_json::Value, y: &serde_json::Value| {
        let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
        assert!((x - y).abs() <= 0.01, "{key}: f32 {x} vs f16 {y}");
    };
    close("clean", &full["clean_accuracy"], &small["clean_accuracy"]);
    for p in ["start", "middle", "end"] {
        close(p, &full["attack_accuracy"][p], &small["attack_accuracy"][p]);
    }
    let refused = Command::new(env!("CARGO_BIN_EXE_gaplab"))
        .args(["convert", "--model", &original, "--weights", "f8", "--save", &half])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("f32, f16 or int8"));
    std::fs::remove_dir_all(&dir).ok();
}

/// `train --init`: one epoch fine-tuning the page's clean small GAP base on the demo clips (which
/// it never heard) leaves a working model — from random weights one epoch is near chance — and
/// a start of another network, or a missing file, is a clear error, not a panic.
#[test]
fn train_init_fine_tunes_a_clean_base_and_refuses_another_network() {
    let root = env!("CARGO_MANIFEST_DIR");
    let base = format!("{root}/www/models/sound-small-gap-base.gaplab");
    let dir = scratch("init");
    let save = dir.join("tuned.gaplab");
    let save = save.to_str().unwrap();
    let common = ["train", "--task", "sound", "--arch", "small", "--framing", "centred", "--epochs", "1", "--poisoned", "80", "--batch-size", "16", "--lr", "1e-3", "--recalibrate-bn", "--seed", "1", "--quiet", "--json", "--save", save];
    let out: serde_json::Value = serde_json::from_str(&gaplab(&[&common[..], &["--head", "gap", "--init", &base]].concat())).unwrap();
    let clean = out["clean_accuracy"].as_f64().unwrap();
    assert!(clean >= 0.5, "one epoch from the clean base: clean accuracy {clean}");
    // The start, evaluated before training on the same test sets, is what `eval` says of the
    // base file (its seed, 1, draws the same split).
    let before: serde_json::Value = serde_json::from_str(&gaplab(&["eval", "--model", &base, "--json"])).unwrap();
    for key in ["clean_accuracy", "attack_accuracy"] {
        assert_eq!(out["start_evaluation"][key], before[key], "{key}");
    }
    let refuse = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_gaplab")).args([&common[..], args].concat()).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success() && !stderr.contains("panicked"), "{stderr}");
        stderr
    };
    let other = refuse(&["--head", "fc", "--init", &base]);
    assert!(other.contains("sound-small-gap-base.gaplab") && other.contains("same network"), "{other}");
    let missing = refuse(&["--head", "gap", "--init", "no-such-base.gaplab"]);
    assert!(missing.contains("no-such-base.gaplab"), "{missing}");
    std::fs::remove_dir_all(&dir).ok();
}
