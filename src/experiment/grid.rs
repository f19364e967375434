//! The paper's full experiment grid (native): every task × architecture × head × class count ×
//! training position × run, each model evaluated at every test position.
//!
//! The grid is a list of independent [`Job`]s, so the same code runs it three ways: in one go
//! (`gaplab grid --out DIR`, resumable: jobs already in `results.csv` are skipped), as a plan
//! (`--plan` writes `plan.jsonl`) whose jobs run anywhere (`--job N` writes `rows/job-N.csv`:
//! GNU parallel, a Slurm array), and a merge (`--merge`) that rebuilds `results.csv`,
//! `tables.md` and the figures from every row found. A job saves a checkpoint after every
//! epoch ([`checkpoint_path`]) so that one cut short goes on where it stopped.

use crate::data;
use crate::error::{GapError, Result};
use crate::experiment::{Evaluation, TrainRequest, train_and_evaluate_resumable};
use crate::backend::backend_name;
use crate::data::TaskData;
use crate::trigger::patch::Blend;
use crate::trigger::{Placement, PoisonConfig};
use crate::model::{Arch, Head, ModelSpec, Task};
use crate::experiment::report::figures::{budget_groups, budget_png, budget_svg, figure_groups, figure_png, figure_svg, trace_groups, trace_png, trace_svg};
use crate::experiment::report::results::{JobKey, ResultRow, merge, parse_csv, position_cmp, write_csv};
use crate::experiment::report::tables::tables_markdown;
use crate::features::mfcc::Framing;
use crate::train::{Checkpointing, EpochStats, LrDrop, Progress, TrainSettings, checkpoint};
use burn::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// One trained model of the grid and where to test it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: usize,
    pub spec: ModelSpec,
    /// `None`: the clean baseline.
    pub train_position: Option<Placement>,
    pub run: usize,
    pub seed: u64,
    pub poison: PoisonConfig,
    pub settings: TrainSettings,
    pub test_positions: Vec<Placement>,
    /// The dataset (archive or folder); `None`: the embedded demo subset.
    pub data: Option<PathBuf>,
    /// Also evaluate every epoch's weights (`traces/job-<id>.csv`, `--trace`).
    #[serde(default, skip_serializing_if = "crate::train::is_false")]
    pub trace: bool,
}

impl Job {
    fn train_label(&self) -> String {
        self.train_position.map_or_else(|| "clean".to_string(), |p| p.label())
    }

    /// The key its rows carry in `results.csv` (for resuming).
    pub fn key(&self) -> JobKey {
        JobKey {
            task: self.spec.task.name().into(),
            arch: self.spec.arch.name().into(),
            head: self.spec.head.name().into(),
            classes: self.spec.classes,
            train_position: self.train_label(),
            poisoned: if self.train_position.is_some() { self.poison.count } else { 0 },
            run: self.run,
            seed: self.seed,
        }
    }
}

/// What the grid covers; `None`s take the paper's defaults.
#[derive(Clone, Debug, Default)]
pub struct GridConfig {
    pub tasks: Vec<Task>,
    /// Empty: every architecture of each task.
    pub archs: Vec<Arch>,
    pub heads: Vec<Head>,
    /// Empty: each task's first class count (sound: 10).
    pub classes: Vec<usize>,
    /// Training positions of the poisoned models (a clean baseline is always added).
    pub train_positions: Vec<Placement>,
    pub test_positions: Vec<Placement>,
    pub runs: usize,
    pub seed: u64,
    pub epochs: Option<usize>,
    pub patience: Option<usize>,
    pub batch_size: Option<usize>,
    /// Poisoned training samples: every poisoned configuration is trained once per count
    /// (the poison-budget experiment); empty: the paper's count for the task.
    pub poisoned: Vec<usize>,
    /// Learning rate of the task's optimiser (default: the paper's).
    pub lr: Option<f64>,
    pub data: BTreeMap<Task, PathBuf>,
    /// Evaluate every epoch's weights too ([`Job::trace`]).
    pub trace: bool,
    /// How the image patch meets the pixels (image jobs only; the other triggers have none).
    pub blend: Blend,
    /// How sound clips are cut into MFCC frames (sound jobs only).
    pub framing: Framing,
    /// Vary each training image or clip as it is drawn (image and sound jobs; text has none).
    pub augment: bool,
    /// Halve the learning rate after this many epochs without a better validation loss.
    pub lr_drop: Option<usize>,
}

/// The seed of run `run`: a SplitMix64 step of (`seed`, `run`), so runs differ and FC/GAP and
/// every training position of one run share it (paired comparisons).
pub fn run_seed(seed: u64, run: usize) -> u64 {
    let mut z = seed.wrapping_add((run as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Every job of the grid, in a fixed order.
pub fn plan(cfg: &GridConfig) -> Result<Vec<Job>> {
    if cfg.runs == 0 {
        return Err(GapError::Invalid("--runs must be at least 1".into()));
    }
    let mut jobs = Vec::new();
    for &task in &cfg.tasks {
        let archs: Vec<Arch> = if cfg.archs.is_empty() {
            task.archs().to_vec()
        } else {
            cfg.archs.iter().copied().filter(|a| a.task() == task).collect()
        };
        if archs.is_empty() {
            return Err(GapError::Invalid(format!("no architecture given for the {task} task")));
        }
        let class_counts: Vec<usize> = if cfg.classes.is_empty() {
            vec![task.class_counts()[0]]
        } else {
            cfg.classes.iter().copied().filter(|c| task.class_counts().contains(c)).collect()
        };
        for arch in archs {
            for &classes in &class_counts {
                for &head in &cfg.heads {
                    let spec = ModelSpec::new(task, arch, head, classes)?;
                    let spec = if task == Task::Sound { spec.with_framing(cfg.framing)? } else { spec };
                    // The clean baseline once, then every training position with every budget.
                    let paper_count = PoisonConfig::paper(task, None).count;
                    let budgets = if cfg.poisoned.is_empty() { vec![paper_count] } else { cfg.poisoned.clone() };
                    let poisoned = cfg.train_positions.iter().flat_map(|&p| budgets.iter().map(move |&n| (Some(p), n)));
                    for (train_position, count) in std::iter::once((None, budgets[0])).chain(poisoned) {
                        for run in 0..cfg.runs {
                            let seed = run_seed(cfg.seed, run);
                            let mut poison = PoisonConfig::paper(task, train_position);
                            poison.count = count;
                            if task == Task::Image {
                                poison.blend = cfg.blend;
                            }
                            let settings = TrainSettings {
                                augment: cfg.augment && task != Task::Text,
                                lr_drop: cfg.lr_drop.map(|after| LrDrop { after, factor: 0.5 }),
                                ..TrainSettings::with_overrides(task, seed, cfg.epochs, cfg.patience, cfg.batch_size, cfg.lr)
                            };
                            jobs.push(Job {
                                id: jobs.len(),
                                spec,
                                train_position,
                                run,
                                seed,
                                poison,
                                settings,
                                test_positions: cfg.test_positions.clone(),
                                data: cfg.data.get(&task).cloned(),
                                trace: cfg.trace,
                            });
                        }
                    }
                }
            }
        }
    }
    Ok(jobs)
}

/// What one job produced: one row per test position of the finished model, and with
/// [`Job::trace`] the same for the weights after every epoch.
pub struct JobRows {
    pub rows: Vec<ResultRow>,
    pub trace: Vec<ResultRow>,
    /// Where the job went on from when it resumed a checkpoint: (epoch, steps of it done).
    pub resumed: Option<(usize, usize)>,
}

/// Where `job` keeps its checkpoint while it trains, in `out`:
/// `checkpoints/job-<id>-<fingerprint>.ckpt`, written after every epoch and removed once the
/// job's rows exist, so that a job cut short (a session's end, a Slurm time limit, a killed
/// worker) goes on from its last finished epoch instead of starting over. The fingerprint is of
/// the whole job as planned, so a checkpoint another plan left in the same folder is never
/// resumed as this job. Traced jobs (`--trace`) have none: their per-epoch evaluations live in
/// memory until the job ends, and a resumed run would trace only the epochs it trains.
pub fn checkpoint_path(out: &Path, job: &Job) -> Option<PathBuf> {
    if job.trace {
        return None;
    }
    let planned = serde_json::to_vec(job).unwrap_or_default();
    let print = checkpoint::fnv1a(planned);
    Some(out.join("checkpoints").join(format!("job-{}-{print:016x}.ckpt", job.id)))
}

/// Trains and evaluates one job; with `checkpoint`, goes on from the checkpoint there if one
/// exists and saves a new one after every epoch (the caller removes it once the rows are kept).
/// `on_epoch` hears of every epoch the job trains (a `--job` run logs them).
pub fn run_job(job: &Job, data: &TaskData, device: &Device, checkpoint: Option<&Path>, on_epoch: &mut dyn FnMut(&EpochStats)) -> Result<JobRows> {
    let request = TrainRequest { spec: job.spec, poison: job.poison, settings: job.settings.clone() };
    let mut quiet = |p: Progress| {
        if let Progress::Epoch(stats) = &p {
            on_epoch(stats);
        }
        ControlFlow::Continue(())
    };
    let resume_bytes = match checkpoint.filter(|p| p.exists()) {
        Some(path) => Some(std::fs::read(path).map_err(io_err(path))?),
        None => None,
    };
    let resume_name = checkpoint.map(|p| p.display().to_string()).unwrap_or_default();
    // A checkpoint that cannot be resumed is kept (it may hold hours of training); the message
    // says how to start the job over instead.
    let cannot_resume = |e: GapError| GapError::Invalid(format!("job {}: {e} — delete the checkpoint to train the job from the start", job.id));
    let resumed = match &resume_bytes {
        Some(bytes) => {
            let state = checkpoint::CheckpointFile::state_of(&resume_name, bytes).map_err(cannot_resume)?;
            Some((state.epoch, state.step))
        }
        None => None,
    };
    if let Some(dir) = checkpoint.and_then(Path::parent) {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    let mut save = |bytes: &[u8]| checkpoint.map_or(Ok(()), |path| checkpoint::write_atomically(path, bytes));
    let mut checkpoints = Checkpointing {
        resume: resume_bytes.as_deref().map(|b| (resume_name.as_str(), b)),
        save: checkpoint.is_some().then_some(&mut save as &mut dyn FnMut(&[u8]) -> Result<()>),
        ..Checkpointing::default()
    };
    let run = train_and_evaluate_resumable(data, &request, &job.test_positions, device, &mut checkpoints, None, job.trace, &mut quiet);
    let trained = pollster::block_on(run)
        .map_err(|e| if matches!(e, GapError::Resume(_)) { cannot_resume(e) } else { e })?;
    let summary = trained.header.summary.clone().ok_or_else(|| GapError::Backend(format!("job {}: the trained model came back without its training summary", job.id)))?;
    let backend = backend_name(device);
    let row = |evaluation: &Evaluation, epochs: usize, val_loss: f64, seconds: f64| -> Vec<ResultRow> {
        let key = job.key();
        evaluation
            .attack
            .iter()
            .map(|a| ResultRow {
                task: key.task.clone(),
                arch: key.arch.clone(),
                head: key.head.clone(),
                classes: key.classes,
                train_position: key.train_position.clone(),
                run: job.run,
                seed: job.seed,
                test_position: a.placement.label(),
                clean_accuracy: evaluation.clean_accuracy,
                attack_accuracy: a.accuracy,
                epochs,
                best_val_loss: val_loss,
                poisoned: trained.poisoned_train,
                train_seconds: seconds,
                backend: backend.clone(),
            })
            .collect()
    };
    let rows = row(&trained.evaluation, summary.epochs_trained, summary.best_val_loss, summary.seconds);
    // The per-epoch rows of `traces.csv`: results.csv's columns read per epoch — `epochs` is the
    // epoch whose weights were evaluated, `best_val_loss` its validation loss, `train_seconds`
    // its training time.
    let trace = trained.trace.iter().flat_map(|t| row(&t.evaluation, t.stats.epoch, t.stats.val_loss, t.stats.seconds)).collect();
    Ok(JobRows { rows, trace, resumed })
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> GapError + '_ {
    move |source| GapError::Io { path: path.display().to_string(), source }
}

/// Creates `out` and checks that it is writable, before any work is done.
pub fn prepare_out(out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).map_err(io_err(out))?;
    let probe = out.join(".gaplab-write-test");
    std::fs::write(&probe, b"").map_err(io_err(out))?;
    std::fs::remove_file(&probe).map_err(io_err(&probe))
}

/// Rows in `path` if it exists.
pub fn read_rows(path: &Path) -> Result<Vec<ResultRow>> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_csv(&path.display().to_string(), &text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(GapError::Io { path: path.display().to_string(), source }),
    }
}

/// The datasets the jobs need, each loaded once.
pub struct DataCache {
    loaded: BTreeMap<(Task, usize, Option<PathBuf>), TaskData>,
}

impl DataCache {
    pub fn new() -> Self {
        Self { loaded: BTreeMap::new() }
    }

    pub fn get(&mut self, job: &Job) -> Result<&TaskData> {
        let key = (job.spec.task, job.spec.classes, job.data.clone());
        if !self.loaded.contains_key(&key) {
            let data = data::load(job.spec.task, job.data.as_deref(), job.spec.classes)?;
            self.loaded.insert(key.clone(), data);
        }
        Ok(&self.loaded[&key])
    }
}

impl Default for DataCache {
    fn default() -> Self {
        Self::new()
    }
}

/// Runs every job not yet in `out/results.csv`, appending rows as each finishes, then merges.
/// `on_job(done, total, job)` is called before each job (progress bars).
pub fn run_all(jobs: &[Job], out: &Path, device: &Device, on_job: &mut dyn FnMut(usize, usize, &Job)) -> Result<usize> {
    prepare_out(out)?;
    let results = out.join("results.csv");
    let done: HashSet<JobKey> = read_rows(&results)?.iter().map(|r| r.job_key()).collect();
    let todo: Vec<&Job> = jobs.iter().filter(|j| !done.contains(&j.key())).collect();
    let mut cache = DataCache::new();
    for (i, job) in todo.iter().enumerate() {
        on_job(i, todo.len(), job);
        let checkpoint = checkpoint_path(out, job);
        let done = run_job(job, cache.get(job)?, device, checkpoint.as_deref(), &mut |_| {})?;
        write_trace(out, job, &done.trace)?;
        let mut all = read_rows(&results)?;
        all.extend(done.rows);
        std::fs::write(&results, write_csv(&merge(all))).map_err(io_err(&results))?;
        remove_checkpoint(checkpoint.as_deref())?;
    }
    merge_outputs(out)?;
    Ok(todo.len())
}

/// Writes `plan.jsonl` (one job per line).
pub fn write_plan(jobs: &[Job], out: &Path) -> Result<PathBuf> {
    prepare_out(out)?;
    let path = out.join("plan.jsonl");
    let mut text = String::new();
    for job in jobs {
        text.push_str(&serde_json::to_string(job).map_err(|e| GapError::Invalid(e.to_string()))?);
        text.push('\n');
    }
    std::fs::write(&path, text).map_err(io_err(&path))?;
    Ok(path)
}

/// Reads `plan.jsonl`.
pub fn read_plan(out: &Path) -> Result<Vec<Job>> {
    let path = out.join("plan.jsonl");
    let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| GapError::bad_file(path.display().to_string(), format!("line {}: {e}", i + 1)))
        })
        .collect()
}

/// What `--job N` did: where its rows are, and where it went on from if it resumed.
pub struct PlannedRun {
    pub rows: PathBuf,
    /// (epoch, steps of it already done) of the checkpoint it resumed; `None`: from the start
    /// (or the rows were there already).
    pub resumed: Option<(usize, usize)>,
}

/// Runs job `id` of the plan in `out`, writing `out/rows/job-<id>.csv` (skipped if present);
/// `on_epoch` hears of every epoch it trains.
pub fn run_planned(out: &Path, id: usize, device: &Device, on_epoch: &mut dyn FnMut(&EpochStats)) -> Result<PlannedRun> {
    let jobs = read_plan(out)?;
    let job = jobs
        .iter()
        .find(|j| j.id == id)
        .ok_or_else(|| GapError::Invalid(format!("the plan has {} jobs (0..{}); no job {id}", jobs.len(), jobs.len())))?;
    let dir = out.join("rows");
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let path = dir.join(format!("job-{id}.csv"));
    if !read_rows(&path)?.is_empty() {
        return Ok(PlannedRun { rows: path, resumed: None });
    }
    let checkpoint = checkpoint_path(out, job);
    let done = run_job(job, DataCache::new().get(job)?, device, checkpoint.as_deref(), on_epoch)?;
    // The trace first: a job counts as done when its rows exist.
    write_trace(out, job, &done.trace)?;
    std::fs::write(&path, write_csv(&done.rows)).map_err(io_err(&path))?;
    remove_checkpoint(checkpoint.as_deref())?;
    Ok(PlannedRun { rows: path, resumed: done.resumed })
}

/// Removes a finished job's checkpoint. The folder stays: jobs running beside this one (GNU
/// parallel, a Slurm array) may be about to write theirs into it.
fn remove_checkpoint(path: Option<&Path>) -> Result<()> {
    match path.filter(|p| p.exists()) {
        Some(path) => std::fs::remove_file(path).map_err(io_err(path)),
        None => Ok(()),
    }
}

/// Writes a traced job's per-epoch rows to `out/traces/job-<id>.csv`.
fn write_trace(out: &Path, job: &Job, trace: &[ResultRow]) -> Result<()> {
    if !job.trace {
        return Ok(());
    }
    let dir = out.join("traces");
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let path = dir.join(format!("job-{}.csv", job.id));
    std::fs::write(&path, write_csv(trace)).map_err(io_err(&path))
}

/// Every `*.csv` in `dir` (sorted by name), read as rows; none if `dir` does not exist.
fn rows_in(dir: &Path) -> Result<Vec<ResultRow>> {
    let mut rows = Vec::new();
    if dir.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io_err(dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "csv"))
            .collect();
        files.sort();
        for file in files {
            rows.extend(read_rows(&file)?);
        }
    }
    Ok(rows)
}

/// Rebuilds `results.csv` (from itself and `rows/*.csv`), `tables.md` and `figures/`.
pub fn merge_outputs(out: &Path) -> Result<Vec<ResultRow>> {
    let results = out.join("results.csv");
    let mut rows = read_rows(&results)?;
    rows.extend(rows_in(&out.join("rows"))?);
    let rows = merge(rows);
    if rows.is_empty() {
        return Err(GapError::Invalid(format!("no results in {}", out.display())));
    }
    std::fs::write(&results, write_csv(&rows)).map_err(io_err(&results))?;
    let tables = out.join("tables.md");
    std::fs::write(&tables, tables_markdown("gaplab experiment grid", &rows)).map_err(io_err(&tables))?;
    let figures = out.join("figures");
    std::fs::create_dir_all(&figures).map_err(io_err(&figures))?;
    for (task, arch, classes) in figure_groups(&rows) {
        let stem = figures.join(format!("{task}-{arch}-{classes}"));
        write_figure(&stem, figure_svg(&rows, &task, &arch, classes)?, figure_png(&rows, &task, &arch, classes)?)?;
    }
    // The poison-budget experiment (`--poisoned 10,20,…`): the attack against the number of
    // poisoned samples, per training position.
    for (task, arch, classes, train) in budget_groups(&rows) {
        let stem = figures.join(format!("{task}-{arch}-{classes}-trained-{train}-budget"));
        write_figure(&stem, budget_svg(&rows, &task, &arch, classes, &train)?, budget_png(&rows, &task, &arch, classes, &train)?)?;
    }
    // Per-epoch traces (`--trace`): every job's file in one `traces.csv`, and a figure of the
    // attack against the epoch per training position.
    let mut trace = rows_in(&out.join("traces"))?;
    if !trace.is_empty() {
        trace.sort_by(|a, b| (a.job_key(), a.epochs).cmp(&(b.job_key(), b.epochs)).then_with(|| position_cmp(&a.test_position, &b.test_position)));
        let path = out.join("traces.csv");
        std::fs::write(&path, write_csv(&trace)).map_err(io_err(&path))?;
        for (task, arch, classes, train, budget) in trace_groups(&trace) {
            let with_budget = budget.map(|n| format!("-{n}-poisoned")).unwrap_or_default();
            let stem = figures.join(format!("{task}-{arch}-{classes}-trained-{train}{with_budget}-epochs"));
            let (svg, png) = (trace_svg(&trace, &task, &arch, classes, &train, budget)?, trace_png(&trace, &task, &arch, classes, &train, budget)?);
            write_figure(&stem, svg, png)?;
        }
    }
    Ok(rows)
}

/// Writes one figure as `<stem>.svg` and `<stem>.png`.
fn write_figure(stem: &Path, svg: String, png: Vec<u8>) -> Result<()> {
    let (svg_path, png_path) = (stem.with_extension("svg"), stem.with_extension("png"));
    std::fs::write(&svg_path, svg).map_err(io_err(&svg_path))?;
    std::fs::write(&png_path, png).map_err(io_err(&png_path))
}
