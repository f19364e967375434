//! The `gaplab` command line (native only): the contract in `LAB.md`.

use crate::data::wav;
use crate::data;
use crate::error::{GapError, Result};
use crate::experiment::{Evaluation, Start, TrainRequest, evaluate_on, train_and_evaluate, train_and_evaluate_resumable};
use crate::trigger::Placement;
use crate::trigger::patch::Blend;
use crate::page::TrainForm;
use crate::features::mfcc::{COEFFS, Framing, MfccPlan};
use crate::model::{Arch, Head, ModelSpec, Net, Task};
use crate::experiment::grid;
use crate::store;
use crate::train::{Checkpointing, EpochStats, Progress, checkpoint};
use crate::trigger::{Position, tone};
use burn::prelude::*;
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Parser, Debug)]
#[command(name = "gaplab", version, about = "Dynamic backdoors with global average pooling: FC vs GAP heads, reproduced")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Where networks train and predict: flex (the CPU) or wgpu (WebGPU/Vulkan: a build with
    /// `--features gpu`). Recorded in model files and results.
    #[arg(long, global = true, default_value = "flex")]
    device: String,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Every model × head × class count: Keras-convention total and trainable parameters.
    Params {
        #[arg(long)]
        json: bool,
    },
    /// The 98×40 MFCC of a 1-s, 16 kHz clip (101×40 centred), optionally with the 7 kHz
    /// trigger tone added.
    Mfcc {
        clip: PathBuf,
        /// start | middle | end | a sample offset.
        #[arg(long)]
        tone: Option<String>,
        /// valid (98 frames, the paper's parameter counts) | centred (101, librosa's default).
        #[arg(long, default_value = "valid")]
        framing: String,
        #[arg(long)]
        json: bool,
    },
    /// Train one model (clean or poisoned) and save it to a self-contained file.
    Train {
        #[command(flatten)]
        train: TrainArgs,
        /// Where to write the model file.
        #[arg(long)]
        save: PathBuf,
        /// Write the run's state (weights, optimiser, best model so far) to this file after
        /// every epoch, and on Ctrl-C before exiting; `--resume` continues from it.
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// Continue the run of this checkpoint (same command and settings; --epochs and
        /// --max-minutes may change): the result equals an uninterrupted run bit for bit.
        #[arg(long)]
        resume: Option<PathBuf>,
        /// Start from this model file's weights instead of random ones (fine-tuning, e.g. a
        /// backdoor planted in a clean model): the same network, classes and, for text,
        /// vocabulary. The new model's settings record the file's name.
        #[arg(long)]
        init: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Clean accuracy and attack accuracy at start / middle / end of a saved model.
    Eval {
        #[arg(long)]
        model: PathBuf,
        /// Official archive (.tar.gz) or its extracted folder; default: the embedded demo subset.
        #[arg(long)]
        data: Option<PathBuf>,
        /// `test`: the model's test split; `all`: every sample (another copy of the dataset).
        #[arg(long, default_value = "test")]
        split: String,
        #[arg(long)]
        json: bool,
    },
    /// Rewrite a model file with its weights at another precision (f16: half the bytes, for
    /// the page's downloads); header and architecture unchanged.
    Convert {
        #[arg(long)]
        model: PathBuf,
        /// f32 | f16 | int8 (per-output-channel scales: a quarter of f32's bytes).
        #[arg(long, default_value = "f16")]
        weights: String,
        #[arg(long)]
        save: PathBuf,
    },
    /// The paper's experiment grid: results.csv, tables.md and Figure-1-style plots in --out.
    Grid(GridArgs),
    /// Train the FC and the GAP version side by side and compare their backdoors.
    Compare {
        #[command(flatten)]
        train: TrainArgs,
        /// Also save the two models as DIR/<task>-<arch>-<head>.gaplab.
        #[arg(long)]
        save_dir: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug, Clone)]
struct GridArgs {
    /// Tasks, comma-separated: sound,text,image.
    #[arg(long, default_value = "sound,text,image")]
    task: String,
    /// Architectures, comma-separated (default: every architecture of each task).
    #[arg(long)]
    arch: Option<String>,
    #[arg(long, default_value = "fc,gap")]
    heads: String,
    /// Class counts, comma-separated (sound: 10 and/or 30).
    #[arg(long)]
    classes: Option<String>,
    /// Training positions of the poisoned models (a clean baseline is always trained);
    /// add `spread` for the non-continuous variants.
    #[arg(long, default_value = "start,middle,end")]
    positions: String,
    /// `three` (start, middle, end; plus spread if trained) or `sweep:N` (N evenly spaced offsets).
    #[arg(long, default_value = "three")]
    test_positions: String,
    #[arg(long, default_value_t = 10)]
    runs: usize,
    #[command(flatten)]
    common: CommonArgs,
    /// Dataset for a single-task grid (archive or folder); default: the demo subset.
    #[arg(long)]
    data: Option<PathBuf>,
    #[arg(long)]
    sound_data: Option<PathBuf>,
    #[arg(long)]
    text_data: Option<PathBuf>,
    #[arg(long)]
    image_data: Option<PathBuf>,
    /// Also evaluate every epoch's weights on the test split: `traces.csv` and a figure of the
    /// attack against the epoch (with `--patience 0`: training past early stopping).
    #[arg(long)]
    trace: bool,
    /// Image jobs: how the trigger patch meets the pixels — clamp | add (the reference code's).
    #[arg(long, default_value = "clamp")]
    trigger_blend: String,
    /// Sound jobs: valid (98 MFCC frames) | centred (101, the reference code's).
    #[arg(long, default_value = "valid")]
    framing: String,
    /// Image and sound jobs: vary each training sample as it is drawn (as `train --augment`).
    #[arg(long)]
    augment: bool,
    /// Halve the learning rate after this many epochs without a better validation loss.
    #[arg(long, value_name = "EPOCHS")]
    lr_drop: Option<usize>,
    #[arg(long)]
    out: PathBuf,
    /// Only write the job list (plan.jsonl) to --out.
    #[arg(long, conflicts_with_all = ["job", "merge"])]
    plan: bool,
    /// Run job N of --out/plan.jsonl, writing --out/rows/job-N.csv.
    #[arg(long, conflicts_with = "merge")]
    job: Option<usize>,
    /// Rebuild results.csv, tables.md and figures from every row in --out.
    #[arg(long)]
    merge: bool,
    #[arg(long)]
    quiet: bool,
}

/// Settings shared by `train`, `compare` and `grid`; unset ones keep the paper's values.
#[derive(Args, Debug, Clone)]
struct CommonArgs {
    /// Poisoned training samples (default: the paper's — sound 80, text 100, image 100). The
    /// grid takes a list (`--poisoned 10,20,40,80`): every poisoned configuration is trained
    /// with each budget, and a figure shows the attack against the budget.
    #[arg(long)]
    poisoned: Option<String>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Maximum epochs (default: the paper's — sound 300, text 30, image 150).
    #[arg(long)]
    epochs: Option<usize>,
    /// Early-stopping patience (default: the paper's — sound 20, text 5, image 20); 0 never
    /// stops early and keeps the last epoch's weights instead of the best.
    #[arg(long)]
    patience: Option<usize>,
    /// Mini-batch size (default: the paper's 256).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Learning rate (default: the paper's — sound Adam 1e-4, text Adam 1e-3, image RMSprop 1e-3).
    #[arg(long)]
    lr: Option<f64>,
}

fn list<T>(s: &str, parse: impl Fn(&str) -> Result<T>) -> Result<Vec<T>> {
    s.split(',').map(str::trim).filter(|p| !p.is_empty()).map(parse).collect()
}

impl CommonArgs {
    /// `--poisoned` as a list of counts (empty: the paper's count).
    fn poisoned_counts(&self) -> Result<Vec<usize>> {
        let Some(s) = &self.poisoned else { return Ok(Vec::new()) };
        let counts = list(s, |p| p.parse::<usize>().map_err(|_| GapError::Invalid(format!("--poisoned: '{p}' is not a number"))))?;
        if counts.is_empty() {
            return Err(GapError::Invalid("--poisoned: give a number of samples".into()));
        }
        Ok(counts)
    }

    /// `--poisoned` where one model is trained: at most one count.
    fn poisoned_count(&self) -> Result<Option<usize>> {
        match self.poisoned_counts()?.as_slice() {
            [] => Ok(None),
            [n] => Ok(Some(*n)),
            _ => Err(GapError::Invalid("--poisoned takes one number here (a list is for `gaplab grid`)".into())),
        }
    }
}

impl GridArgs {
    fn config(&self) -> Result<grid::GridConfig> {
        let tasks = list(&self.task, Task::parse)?;
        let mut data = std::collections::BTreeMap::new();
        if let Some(d) = &self.data {
            if tasks.len() != 1 {
                return Err(GapError::Invalid("--data names one dataset: use --sound-data, --text-data, --image-data for several tasks".into()));
            }
            data.insert(tasks[0], d.clone());
        }
        for (task, d) in [(Task::Sound, &self.sound_data), (Task::Text, &self.text_data), (Task::Image, &self.image_data)] {
            if let Some(d) = d {
                data.insert(task, d.clone());
            }
        }
        let train_positions = list(&self.positions, Placement::parse)?;
        let test_positions = match self.test_positions.trim() {
            "three" => {
                let mut t = Placement::three();
                if train_positions.contains(&Placement::Spread) {
                    t.push(Placement::Spread);
                }
                t
            }
            other => match other.strip_prefix("sweep:").map(str::parse::<usize>) {
                Some(Ok(n)) if n >= 2 => Placement::sweep(n),
                _ => list(other, Placement::parse)
                    .map_err(|_| GapError::Invalid(format!("--test-positions '{other}': use three, sweep:N (N ≥ 2) or a list")))?,
            },
        };
        Ok(grid::GridConfig {
            tasks,
            archs: match &self.arch { Some(a) => list(a, Arch::parse)?, None => Vec::new() },
            heads: list(&self.heads, Head::parse)?,
            classes: match &self.classes {
                Some(c) => list(c, |s| s.parse::<usize>().map_err(|_| GapError::Invalid(format!("--classes: '{s}' is not a number"))))?,
                None => Vec::new(),
            },
            train_positions,
            test_positions,
            runs: self.runs,
            seed: self.common.seed,
            epochs: self.common.epochs,
            patience: self.common.patience,
            batch_size: self.common.batch_size,
            poisoned: self.common.poisoned_counts()?,
            lr: self.common.lr,
            data,
            trace: self.trace,
            blend: Blend::parse(&self.trigger_blend)?,
            framing: Framing::parse(&self.framing)?,
            augment: self.augment,
            lr_drop: self.lr_drop,
        })
    }
}

fn run_grid(args: &GridArgs, device: &Device) -> Result<()> {
    let out = &args.out;
    if args.merge {
        let rows = grid::merge_outputs(out)?;
        println!("merged {} rows into {}", rows.len(), out.display());
        return Ok(());
    }
    if let Some(id) = args.job {
        // One line an epoch on stderr (a cluster job's log says how far it is), unless --quiet.
        let quiet = args.quiet;
        let mut log = |e: &EpochStats| {
            if !quiet {
                eprintln!(
                    "job {id}: epoch {}: train loss {:.4}, validation loss {:.4}, validation accuracy {:.4}, {:.0} s",
                    e.epoch, e.train_loss, e.val_loss, e.val_accuracy, e.seconds
                );
            }
        };
        let run = grid::run_planned(out, id, device, &mut log)?;
        if let Some((epoch, step)) = run.resumed {
            eprintln!("job {id}: resumed from its checkpoint at epoch {epoch}, step {step}");
        }
        println!("{}", run.rows.display());
        return Ok(());
    }
    let jobs = grid::plan(&args.config()?)?;
    if args.plan {
        let path = grid::write_plan(&jobs, out)?;
        println!("{} jobs written to {}", jobs.len(), path.display());
        return Ok(());
    }
    let pb = if args.quiet { ProgressBar::hidden() } else { ProgressBar::new(jobs.len() as u64) };
    pb.set_style(
        ProgressStyle::with_template("grid [{bar:30}] {pos}/{len} jobs {msg} ({elapsed}, eta {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let ran = grid::run_all(&jobs, out, device, &mut |done, total, job| {
        pb.set_length(total as u64);
        pb.set_position(done as u64);
        pb.set_message(format!("{} @ {} run {}", job.spec, job.train_position.map_or("clean".into(), |p| p.label()), job.run));
    })?;
    pb.finish_and_clear();
    println!("{ran} jobs run ({} already done); results in {}", jobs.len() - ran, out.display());
    Ok(())
}

#[derive(Args, Debug, Clone)]
struct TrainArgs {
    /// sound | text | image
    #[arg(long, default_value = "image")]
    task: String,
    /// large | small (sound), kim | conv1d | bag (text), strip (image); default: the task's first.
    #[arg(long)]
    arch: Option<String>,
    /// fc | gap (train and eval); ignored by compare, which trains both.
    #[arg(long, default_value = "gap")]
    head: String,
    /// Official archive (.tar.gz) or its extracted folder; default: the embedded demo subset.
    #[arg(long)]
    data: Option<PathBuf>,
    /// start | middle | end | spread | <offset> | clean
    #[arg(long, default_value = "start")]
    poison_at: String,
    #[command(flatten)]
    common: CommonArgs,
    /// Start no new epoch after this many minutes (best weights so far are kept).
    #[arg(long)]
    max_minutes: Option<f64>,
    /// 10 or 30 (sound only).
    #[arg(long)]
    classes: Option<usize>,
    /// Sound: valid (98 MFCC frames, reproduces the paper's parameter counts) | centred (101
    /// frames, librosa's default centre padding, as the reference code hard-codes).
    #[arg(long, default_value = "valid")]
    framing: String,
    /// After every epoch, recompute the BatchNorm moving statistics over the training data
    /// before validating (for short runs of the small sound CNN and the STRIP CNN).
    #[arg(long)]
    recalibrate_bn: bool,
    /// Vary each training sample as it is drawn: images flipped and shifted (up to 4 pixels),
    /// clips shifted in time (up to 100 ms); a poisoned one is moved clean and its trigger added
    /// afterwards where it was planted. Not for text.
    #[arg(long)]
    augment: bool,
    /// Halve the learning rate after this many epochs without a better validation loss, and
    /// again after as many more (Keras's ReduceLROnPlateau with factor 0.5). Off in the paper.
    #[arg(long, value_name = "EPOCHS")]
    lr_drop: Option<usize>,
    /// Image: how the trigger patch meets the pixels — clamp (the sum kept in [0, 1]) | add
    /// (unclamped, as the reference code's cv2.addWeighted on float images).
    #[arg(long, default_value = "clamp")]
    trigger_blend: String,
    /// Hide the progress bar.
    #[arg(long)]
    quiet: bool,
}

impl TrainArgs {
    fn task(&self) -> Result<Task> {
        Task::parse(&self.task)
    }

    /// The form the page fills in, from the command line: one conversion to a request for both.
    fn request(&self, head: Head) -> Result<TrainRequest> {
        let task = self.task()?;
        let c = &self.common;
        let form = TrainForm {
            task,
            arch: match &self.arch {
                Some(a) => Arch::parse(a)?,
                None => task.default_arch(),
            },
            head,
            poison_at: self.poison_at.clone(),
            poisoned: c.poisoned_count()?,
            epochs: c.epochs,
            patience: c.patience,
            batch_size: c.batch_size,
            seed: c.seed,
            max_samples: None,
            lr: c.lr,
            framing: Framing::parse(&self.framing)?,
            recalibrate_bn: self.recalibrate_bn,
            augment: self.augment,
            lr_drop: self.lr_drop,
            blend: Blend::parse(&self.trigger_blend)?,
        };
        let mut request = form.request(self.classes.unwrap_or(task.class_counts()[0]))?;
        request.settings.max_seconds = self.max_minutes.map(|m| m * 60.0);
        Ok(request)
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| GapError::Io { path: path.display().to_string(), source })
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|source| GapError::Io { path: path.display().to_string(), source })
}

/// Parses the arguments and runs the command; the caller prints the error and exits non-zero.
pub fn run() -> Result<()> {
    let cli = Cli::parse();
    let device = crate::backend::open(&cli.device)?;
    match cli.command {
        Command::Params { json } => params(json),
        Command::Mfcc { clip, tone, framing, json } => mfcc(&clip, tone.as_deref(), Framing::parse(&framing)?, json),
        Command::Train { train, save, checkpoint, resume, init, json } => {
            let (request, data) = (train.request(Head::parse(&train.head)?)?, load_data(&train)?);
            // The start, named in the new model's settings by its file name.
            let init_model = match &init {
                Some(path) => {
                    let (header, net) = store::load_for(&path.display().to_string(), &read_file(path)?, data.task(), &device)?;
                    Some((path.file_name().unwrap_or(path.as_os_str()).to_string_lossy().into_owned(), header, net))
                }
                None => None,
            };
            let start = init_model.as_ref().map(|(name, header, net)| Start { name, header, net });
            let resume_bytes = resume.as_deref().map(read_file).transpose()?;
            let resume_name = resume.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
            let mut save_checkpoint = |bytes: &[u8]| match &checkpoint {
                Some(path) => checkpoint::write_atomically(path, bytes),
                None => Ok(()),
            };
            let mut checkpoints = Checkpointing {
                resume: resume_bytes.as_deref().map(|b| (resume_name.as_str(), b)),
                save: checkpoint.is_some().then_some(&mut save_checkpoint as &mut dyn FnMut(&[u8]) -> Result<()>),
                ..Checkpointing::default()
            };
            // With a checkpoint file, Ctrl-C stops after the current step and saves first.
            let interrupted = Arc::new(AtomicBool::new(false));
            if checkpoint.is_some() {
                let flag = interrupted.clone();
                ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
                    .map_err(|e| GapError::Invalid(format!("cannot catch Ctrl-C: {e}")))?;
            }
            let mut draw = bar(train.quiet);
            let mut progress = |event: Progress| {
                if interrupted.load(Ordering::SeqCst) { ControlFlow::Break(()) } else { draw(event) }
            };
            let placements = Placement::three();
            let run = train_and_evaluate_resumable(&data, &request, &placements, &device, &mut checkpoints, start, false, &mut progress);
            let trained = match pollster::block_on(run) {
                Err(GapError::Cancelled) if interrupted.load(Ordering::SeqCst) => {
                    let path = checkpoint.as_ref().map_or(String::new(), |p| p.display().to_string());
                    return Err(GapError::Invalid(format!("interrupted: the run so far is saved in {path}; continue it with --resume {path}")));
                }
                other => other?,
            };
            write_file(&save, &store::save(&trained.header, &trained.net)?)?;
            if json {
                let mut out = evaluation_json(&trained.evaluation);
                // How the run went, for scripts that compare devices (scripts/gpu-check.sh).
                out["summary"] = json!(trained.header.summary);
                out["train_samples"] = json!(trained.train_samples);
                if let Some(before) = &trained.start_evaluation {
                    out["start_evaluation"] = evaluation_json(before);
                }
                println!("{out}");
            } else {
                if let (Some(before), Some(start)) = (&trained.start_evaluation, start) {
                    print_evaluation(&format!("{}, before fine-tuning (the same test sets)", start.name), before, &trained.header.classes);
                }
                print_evaluation(&request.spec.to_string(), &trained.evaluation, &trained.header.classes);
                eprintln!("saved {}", save.display());
            }
            Ok(())
        }
        Command::Eval { model, data, split, json } => {
            let all = match split.as_str() {
                "test" => false,
                "all" => true,
                other => return Err(GapError::Invalid(format!("--split must be test or all, not '{other}'"))),
            };
            let bytes = read_file(&model)?;
            let name = model.display().to_string();
            let (header, _) = store::read_header(&name, &bytes)?;
            let data = data::load(header.spec.task, data.as_deref(), header.spec.classes)?;
            let (header, net) = store::load_for(&name, &bytes, data.task(), &device)?;
            let evaluation = pollster::block_on(evaluate_on(&header, &net, &data, all, &Placement::three(), &device))?;
            if json {
                println!("{}", evaluation_json(&evaluation));
            } else {
                print_evaluation(&header.spec.to_string(), &evaluation, &header.classes);
            }
            Ok(())
        }
        Command::Convert { model, weights, save } => {
            let precision: store::Precision = weights.parse()?;
            let bytes = read_file(&model)?;
            let (header, net) = store::load(&model.display().to_string(), &bytes, &device)?;
            let out = store::save_as(&header, &net, precision)?;
            write_file(&save, &out)?;
            eprintln!("{}: {} → {} bytes ({weights} weights)", save.display(), bytes.len(), out.len());
            Ok(())
        }
        Command::Grid(args) => run_grid(&args, &device),
        Command::Compare { train, save_dir, json } => compare(&train, save_dir.as_deref(), json, &device),
    }
}

fn load_data(args: &TrainArgs) -> Result<crate::data::TaskData> {
    let task = args.task()?;
    data::load(task, args.data.as_deref(), args.classes.unwrap_or(task.class_counts()[0]))
}

/// A progress callback drawing an indicatif bar on stderr.
fn bar(quiet: bool) -> impl FnMut(Progress) -> ControlFlow<()> {
    let pb = if quiet { ProgressBar::hidden() } else { ProgressBar::new(0) };
    pb.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed}, eta {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    move |event| {
        match event {
            Progress::Step { epoch, epochs, step, steps, losses } => {
                if step == 1 {
                    pb.reset();
                    pb.set_length(steps as u64);
                    pb.set_prefix(format!("epoch {epoch}/{epochs}"));
                }
                pb.set_position(step as u64);
                if let Some(loss) = losses.last() {
                    pb.set_message(format!("loss {loss:.4}"));
                }
            }
            Progress::Epoch(_) if quiet => {}
            Progress::Epoch(s) => pb.suspend(|| eprintln!(
                "epoch {:>3}: loss {:.4} acc {:.3} | val loss {:.4} acc {:.3} ({:.1}s)",
                s.epoch, s.train_loss, s.train_accuracy, s.val_loss, s.val_accuracy, s.seconds
            )),
        }
        ControlFlow::Continue(())
    }
}

fn evaluation_json(e: &Evaluation) -> serde_json::Value {
    let attack: serde_json::Map<String, serde_json::Value> =
        e.attack.iter().map(|a| (a.placement.label(), json!(a.accuracy))).collect();
    json!({
        "clean_accuracy": e.clean_accuracy,
        "attack_accuracy": attack,
        "n_clean": e.n_clean,
        "n_attack": e.n_attack,
        "learned": e.learned,
        "predicted_per_class": e.predicted_per_class,
    })
}

fn print_evaluation(title: &str, e: &Evaluation, classes: &[String]) {
    println!("{title}");
    println!("  clean accuracy   {:.4}  (n = {})", e.clean_accuracy, e.n_clean);
    for a in &e.attack {
        println!("  attack @ {:<7} {:.4}  (n = {})", a.placement.label(), a.accuracy, a.samples);
    }
    if let Some(failure) = e.failure(classes) {
        println!("  ! {failure}");
    }
}

fn params(json: bool) -> Result<()> {
    // Counting needs no real weights, but burn initialises eagerly: use the CPU backend.
    let device = Device::flex();
    let rows: Vec<serde_json::Value> = ModelSpec::all()
        .into_iter()
        .map(|spec| {
            let net = Net::init(&spec, &device);
            json!({
                "task": spec.task.name(), "arch": spec.arch.name(), "head": spec.head.name(),
                "classes": spec.classes, "total": net.total_count(), "trainable": net.trainable_count(),
            })
        })
        .collect();
    if json {
        println!("{}", serde_json::Value::Array(rows));
    } else {
        println!("{:<6} {:<7} {:<4} {:>7} {:>10} {:>10}", "task", "arch", "head", "classes", "total", "trainable");
        for r in rows {
            println!(
                "{:<6} {:<7} {:<4} {:>7} {:>10} {:>10}",
                r["task"].as_str().unwrap_or(""), r["arch"].as_str().unwrap_or(""), r["head"].as_str().unwrap_or(""),
                r["classes"], r["total"], r["trainable"]
            );
        }
    }
    Ok(())
}

fn mfcc(clip: &Path, tone_at: Option<&str>, framing: Framing, json: bool) -> Result<()> {
    let name = clip.display().to_string();
    let mut samples = wav::decode_clip(&name, &read_file(clip)?)?;
    if let Some(p) = tone_at {
        tone::add_tone(&mut samples, Position::parse(p)?)?;
    }
    let (mfcc, log_mel) = MfccPlan::with_framing(framing).compute(&samples)?;
    let rows = |v: &[f32]| v.chunks(COEFFS).map(|r| r.to_vec()).collect::<Vec<_>>();
    let frames = framing.frames();
    if json {
        println!("{}", json!({"frames": frames, "framing": framing, "coeffs": COEFFS, "mfcc": rows(&mfcc), "log_mel": rows(&log_mel)}));
    } else {
        println!("{name}: {frames} frames ({framing}) × {COEFFS} coefficients");
        for (f, row) in mfcc.chunks(COEFFS).enumerate() {
            let head: Vec<String> = row.iter().take(6).map(|v| format!("{v:8.2}")).collect();
            println!("frame {f:>2}: {} …", head.join(" "));
        }
    }
    Ok(())
}

fn compare(args: &TrainArgs, save_dir: Option<&Path>, json: bool, device: &Device) -> Result<()> {
    let data = load_data(args)?;
    let mut results = Vec::new();
    for head in Head::BOTH {
        let request = args.request(head)?;
        if !args.quiet {
            eprintln!("training {} (poisoned at {}, {} samples)", request.spec, args.poison_at, request.poison.count);
        }
        let trained = pollster::block_on(train_and_evaluate(&data, &request, &Placement::three(), device, &mut bar(args.quiet)))?;
        if let Some(dir) = save_dir {
            std::fs::create_dir_all(dir).map_err(|source| GapError::Io { path: dir.display().to_string(), source })?;
            let spec = request.spec;
            let path = dir.join(format!("{}-{}-{}.gaplab", spec.task, spec.arch, spec.head));
            write_file(&path, &store::save(&trained.header, &trained.net)?)?;
        }
        results.push((request.spec, trained));
    }
    if json {
        let rows: Vec<_> = results
            .iter()
            .map(|(spec, t)| json!({"head": spec.head.name(), "evaluation": evaluation_json(&t.evaluation)}))
            .collect();
        println!("{}", serde_json::Value::Array(rows));
        return Ok(());
    }
    let (fc, gap) = (&results[0].1.evaluation, &results[1].1.evaluation);
    println!("\n{} {} — trigger trained at '{}'", results[0].0.task, results[0].0.arch, args.poison_at);
    println!("{:<22} {:>8} {:>8}", "", "FC", "GAP");
    println!("{:<22} {:>8.3} {:>8.3}", "clean accuracy", fc.clean_accuracy, gap.clean_accuracy);
    for (a, b) in fc.attack.iter().zip(&gap.attack) {
        println!("{:<22} {:>8.3} {:>8.3}", format!("attack @ {}", a.placement.label()), a.accuracy, b.accuracy);
    }
    Ok(())
}
