//! The one training loop: every CLI command, grid cell and page run trains through [`fit`].
//!
//! It is `async` so that the browser can read tensors back with `into_data_async` (the CLI
//! drives it with `pollster`). It follows the paper's protocol: mini-batches of 256, the
//! domain's optimiser, L2 on the named kernels (added to the loss, as Keras does), early
//! stopping on validation loss with patience, and the best weights restored at the end.

pub mod augment;
pub mod checkpoint;
mod samples;

use crate::error::{GapError, Result};
use burn::tensor::Bytes;
use checkpoint::{CheckpointFile, CheckpointState, DataPrint, step_seed};
use crate::model::{ModelSpec, Net, Task};
use burn::optim::{AdamConfig, GradientsParams, RmsPropConfig};
use burn::prelude::*;
use burn::tensor::activation::{log_softmax, relu};
pub use samples::{Features, RawClip, Samples, Stamp};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use web_time::Instant;

/// The optimiser of each domain (PAPER.md), with Keras's defaults for what the paper leaves out.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Optimizer {
    /// Adam (β₁ 0.9, β₂ 0.999, ε 1e-7 as in Keras).
    Adam { lr: f64 },
    /// RMSprop (ρ 0.9, no momentum, as in Keras) with the given ε.
    RmsProp { lr: f64, epsilon: f64 },
}

impl Optimizer {
    fn init(&self) -> burn::optim::ModuleOptimizer {
        match *self {
            Optimizer::Adam { .. } => AdamConfig::new().with_epsilon(1e-7).init(),
            Optimizer::RmsProp { epsilon, .. } => RmsPropConfig::new()
                .with_alpha(0.9)
                .with_momentum(0.0)
                .with_epsilon(epsilon as f32)
                .init(),
        }
    }

    /// The same optimiser with another learning rate.
    pub fn with_lr(self, lr: f64) -> Self {
        match self {
            Optimizer::Adam { .. } => Optimizer::Adam { lr },
            Optimizer::RmsProp { epsilon, .. } => Optimizer::RmsProp { lr, epsilon },
        }
    }

    pub fn lr(&self) -> f64 {
        match *self {
            Optimizer::Adam { lr } | Optimizer::RmsProp { lr, .. } => lr,
        }
    }
}

/// How to train: the paper's values per domain by default ([`TrainSettings::paper`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainSettings {
    /// Maximum number of epochs.
    pub epochs: usize,
    /// Epochs without a better validation loss before stopping; 0: never stop early, and keep
    /// the last epoch's weights rather than the best (training "past early stopping", as the
    /// paper reports for its text nets: `gaplab grid --patience 0 --trace`).
    pub patience: usize,
    pub batch_size: usize,
    pub optimizer: Optimizer,
    /// Drives initialisation, dropout and shuffling.
    pub seed: u64,
    /// Wall-clock budget: no new epoch starts after this many seconds (best weights kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_seconds: Option<f64>,
    /// After every epoch, recompute the BatchNorm moving statistics over the training data
    /// ([`recalibrate_batchnorm`]) before validating: with Keras's momentum 0.99 they need
    /// ≳ 400 steps to forget their initial values, so a short run is otherwise judged (and
    /// its best epoch picked) by statistics that describe no data. Costs one forward pass
    /// over the training set per epoch; nets without BatchNorm ignore it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub recalibrate_bn: bool,
    /// Every time a training sample is drawn, vary it ([`augment`]): an image flipped (half the
    /// time) and shifted by up to 4 pixels, a clip shifted in time by up to 100 ms; a poisoned
    /// one is moved clean and its trigger added afterwards where it was planted. Off in the
    /// paper; the STRIP CNN and the small sound CNN overfit the shipped subsets without it.
    /// Text cannot be augmented.
    #[serde(default, skip_serializing_if = "is_false")]
    pub augment: bool,
    /// Lower the learning rate when the validation loss stalls (Keras's `ReduceLROnPlateau`,
    /// without its cooldown): after every `after` epochs without a better validation loss the
    /// rate is multiplied by `factor`. Off in the paper, which trains at a constant rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lr_drop: Option<LrDrop>,
    /// The model the run started from instead of fresh random weights (its name: `gaplab train
    /// --init FILE`, or the page's base), or none: from scratch, as in the paper. Fine-tuning a
    /// clean model on poisoned data plants a backdoor in a model that already works, in far
    /// fewer steps than learning the task from nothing ([`Checkpointing::start`] has the weights).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_from: Option<String>,
}

/// [`TrainSettings::lr_drop`]: when and by how much the learning rate falls.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LrDrop {
    /// Epochs without a better validation loss before each drop (at least 1).
    pub after: usize,
    /// What the rate is multiplied by at each drop, in (0, 1).
    pub factor: f64,
}

/// For `skip_serializing_if` on flags that default to false.
pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

impl TrainSettings {
    /// PAPER.md's protocol for the task.
    pub fn paper(task: Task) -> Self {
        let (epochs, patience, optimizer) = match task {
            Task::Sound => (300, 20, Optimizer::Adam { lr: 1e-4 }),
            Task::Text => (30, 5, Optimizer::Adam { lr: 1e-3 }),
            Task::Image => (150, 20, Optimizer::RmsProp { lr: 1e-3, epsilon: 1e-6 }),
        };
        Self { epochs, patience, batch_size: 256, optimizer, seed: 0, max_seconds: None, recalibrate_bn: false, augment: false, lr_drop: None, start_from: None }
    }

    /// The paper's settings for `task` with the given seed and whatever the user overrode
    /// (the CLI's grid options and the page's training form both come here).
    pub fn with_overrides(
        task: Task,
        seed: u64,
        epochs: Option<usize>,
        patience: Option<usize>,
        batch_size: Option<usize>,
        lr: Option<f64>,
    ) -> Self {
        let paper = Self::paper(task);
        Self {
            epochs: epochs.unwrap_or(paper.epochs),
            patience: patience.unwrap_or(paper.patience),
            batch_size: batch_size.unwrap_or(paper.batch_size),
            optimizer: lr.map_or(paper.optimizer, |lr| paper.optimizer.with_lr(lr)),
            seed,
            ..paper
        }
    }

    fn validate(&self) -> Result<()> {
        if self.epochs == 0 || self.batch_size == 0 {
            return Err(GapError::Invalid("epochs and batch size must be at least 1".into()));
        }
        if let Some(drop) = self.lr_drop {
            if drop.after == 0 || !(drop.factor > 0.0 && drop.factor < 1.0) {
                return Err(GapError::Invalid(format!(
                    "a learning-rate drop needs at least 1 epoch of patience and a factor between 0 and 1 (got {} and {})",
                    drop.after, drop.factor
                )));
            }
        }
        Ok(())
    }
}

/// One epoch's figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochStats {
    pub epoch: usize,
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub val_loss: f64,
    pub val_accuracy: f64,
    pub seconds: f64,
}

/// What [`fit`] reports while it runs; returning `ControlFlow::Break` cancels. Serialised as
/// the page receives it: `{kind: "step", epoch, epochs, step, steps, losses}` or
/// `{kind: "epoch", epoch, train_loss, train_accuracy, val_loss, val_accuracy, seconds}`.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Progress {
    /// A step finished. `losses`: the training losses read back at this step, oldest first —
    /// this step's on the CPU; on a GPU every step's since the last read-back (often none).
    Step { epoch: usize, epochs: usize, step: usize, steps: usize, losses: Vec<f64> },
    Epoch(EpochStats),
}

/// A trained network (best weights, validation mode) and how it got there.
#[derive(Debug)]
pub struct Fitted {
    pub net: Net,
    pub best_epoch: usize,
    pub epochs_trained: usize,
    pub best_val_loss: f64,
    pub history: Vec<EpochStats>,
    pub seconds: f64,
}

/// Mean loss of a batch: softmax cross-entropy, or binary cross-entropy on one logit (text).
pub fn batch_loss(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    let [b, outputs] = logits.dims();
    if outputs == 1 {
        let y = labels.float().reshape([b, 1]);
        let x = logits;
        // max(x, 0) − x·y + log(1 + e^(−|x|)): stable BCE with logits.
        (relu(x.clone()) - x.clone() * y + x.abs().neg().exp().log1p()).mean()
    } else {
        log_softmax(logits, 1).gather(1, labels.reshape([b, 1])).mean().neg()
    }
}

/// Predicted class per row of logits: argmax, or `logit > 0` for one logit.
pub fn predicted(logits: Tensor<2>) -> Tensor<1, Int> {
    let [b, outputs] = logits.dims();
    if outputs == 1 {
        logits.greater_elem(0.0).int().reshape([b])
    } else {
        logits.argmax(1).reshape([b])
    }
}

/// Reads a small float tensor back (the only way a browser's WebGPU device allows).
async fn read_f32s(t: Tensor<1>) -> Result<Vec<f32>> {
    let data = t.into_data_async().await.map_err(|e| GapError::Backend(e.to_string()))?;
    data.try_to_vec_as::<f32>().map_err(|e| GapError::Backend(format!("{e:?}")))
}

/// `[mean loss, correct predictions]` of one batch, left on the device until it is read.
fn batch_stats(logits: Tensor<2>, labels: Tensor<1, Int>, loss: Tensor<1>) -> Tensor<1> {
    let correct = predicted(logits).equal(labels).float().sum();
    Tensor::cat(vec![loss.reshape([1]), correct.reshape([1])], 0)
}

/// When [`fit`] reads the running loss and accuracy back to the host. A read-back waits until
/// the device has finished every queued step, so on a GPU the loop keeps the per-step numbers
/// on the device and reads them together; on the CPU it costs nothing. Either way every step's
/// numbers are read (the metrics do not depend on the policy), only the moment differs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ReadBack {
    /// After every step.
    EveryStep,
    /// When at least this many seconds have passed since the last read-back, and at the end of
    /// each epoch.
    AfterSeconds(f64),
}

impl ReadBack {
    /// Every step on Flex; at most once a second on a GPU.
    pub fn for_device(device: &Device) -> Self {
        if crate::backend::is_flex(device) { ReadBack::EveryStep } else { ReadBack::AfterSeconds(1.0) }
    }

    fn due(self, last_step_of_epoch: bool, since_last: f64) -> bool {
        match self {
            ReadBack::EveryStep => true,
            ReadBack::AfterSeconds(s) => last_step_of_epoch || since_last >= s,
        }
    }
}

/// Loss (including the L2 penalty, as Keras's `val_loss` does) and accuracy of `net` on `samples`.
pub async fn evaluate(net: &Net, samples: &Samples, batch_size: usize, device: &Device) -> Result<(f64, f64)> {
    if samples.is_empty() {
        return Ok((f64::NAN, f64::NAN));
    }
    let n = samples.len();
    // Every batch's [loss, correct] stays on the device; one read-back at the end.
    let order: Vec<usize> = (0..n).collect();
    let mut stats = Vec::with_capacity(n.div_ceil(batch_size.max(1)) + 1);
    for chunk in order.chunks(batch_size.max(1)) {
        let logits = net.forward(samples.features.batch(chunk, device));
        let labels = samples.label_batch(chunk, device);
        let loss = batch_loss(logits.clone(), labels.clone());
        stats.push(batch_stats(logits, labels, loss));
    }
    let batches = stats.len();
    if let Some(p) = net.l2_penalty() {
        stats.push(p.reshape([1]));
    }
    let values = read_f32s(Tensor::cat(stats, 0)).await?;
    let (per_batch, penalty) = values.split_at((2 * batches).min(values.len()));
    let mut loss_sum = 0.0;
    let mut correct = 0i64;
    for (pair, chunk) in per_batch.chunks(2).zip(order.chunks(batch_size.max(1))) {
        loss_sum += pair[0] as f64 * chunk.len() as f64;
        correct += pair[1] as i64;
    }
    let penalty = penalty.first().map_or(0.0, |&p| p as f64);
    Ok((loss_sum / n as f64 + penalty, correct as f64 / n as f64))
}

/// Lets the browser's event loop run between training steps, so that a page's "cancel" or a
/// prediction request is handled while a model trains in its worker (Flex read-backs resolve
/// at once and would otherwise never give the loop a turn). Natively a no-op.
pub async fn yield_to_host() {
    #[cfg(target_arch = "wasm32")]
    {
        use wasm_bindgen::{JsCast, JsValue};
        let promise = js_sys::Promise::new(&mut |resolve, _reject| {
            let global = js_sys::global();
            let timer = js_sys::Reflect::get(&global, &JsValue::from_str("setTimeout"))
                .ok()
                .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
            let scheduled = timer.is_some_and(|f| f.call2(&global, &resolve, &JsValue::from(0)).is_ok());
            if !scheduled {
                let _ = resolve.call0(&JsValue::NULL);
            }
        });
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    }
}


/// Trains a fresh network of `spec` on `train`, early-stopping on `val`.
pub async fn fit(
    spec: &ModelSpec,
    train: &Samples,
    val: &Samples,
    settings: &TrainSettings,
    device: &Device,
    progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
) -> Result<Fitted> {
    fit_reading(spec, train, val, settings, device, ReadBack::for_device(device), progress).await
}

/// A run's checkpoints: where to continue from, and where each new one goes; and who looks at
/// the weights after every epoch.
#[derive(Default)]
pub struct Checkpointing<'a> {
    /// A checkpoint to continue from: its file name (for errors) and bytes.
    pub resume: Option<(&'a str, &'a [u8])>,
    /// Weights to start a fresh run from instead of a random initialisation (the moving
    /// statistics of its BatchNorms included; the optimiser starts fresh). Named by
    /// [`TrainSettings::start_from`]; ignored when resuming, which has its own weights.
    pub start: Option<&'a Net>,
    /// Receives a checkpoint at the end of every epoch, and when the run is cancelled (the
    /// steps done so far are then kept: resuming goes on from the next one).
    pub save: Option<&'a mut dyn FnMut(&[u8]) -> Result<()>>,
    /// Shown every epoch's weights (in evaluation mode) and figures, before the early-stopping
    /// decision: `gaplab grid --trace` evaluates the backdoor after every epoch with it.
    pub observe: Option<&'a mut dyn EpochObserver>,
}

/// Looks at the network after every epoch ([`Checkpointing::observe`]). Asynchronous, so that
/// an observer can read tensors back in the browser too; it must draw nothing from the random
/// generator (evaluation does not), so that an observed run trains exactly as an unobserved one.
pub trait EpochObserver {
    fn observe<'s>(&'s mut self, stats: &'s EpochStats, net: &'s Net) -> Pin<Box<dyn Future<Output = Result<()>> + 's>>;
}

/// [`fit`] with the read-back policy chosen by the caller.
pub async fn fit_reading(
    spec: &ModelSpec,
    train: &Samples,
    val: &Samples,
    settings: &TrainSettings,
    device: &Device,
    read_back: ReadBack,
    progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
) -> Result<Fitted> {
    fit_resumable(spec, train, val, settings, device, read_back, &mut Checkpointing::default(), progress).await
}

/// The network, optimiser and bookkeeping of a run in progress.
struct Run {
    net: Net,
    optim: burn::optim::ModuleOptimizer,
    state: CheckpointState,
    best: Option<Net>,
}

impl Run {
    fn fresh(spec: &ModelSpec, settings: &TrainSettings, data: DataPrint, start: Option<&Net>, ad_device: &Device) -> Result<Run> {
        ad_device.seed(settings.seed);
        let state = CheckpointState {
            spec: *spec,
            settings: settings.clone(),
            data,
            epoch: 1,
            step: 0,
            loss_sum: 0.0,
            correct: 0,
            history: Vec::new(),
            best: None,
            since_best: 0,
            lr_scale: 1.0,
            stopped: false,
            seconds: 0.0,
        };
        // The start's weights go through the same record bytes as a checkpoint's, so that they
        // land on the autodiff device as trainable parameters exactly as a resumed run's do.
        let net = match start {
            None => Net::init(spec, ad_device),
            Some(start) => {
                let name = settings.start_from.as_deref().unwrap_or("the starting model");
                let bytes = start.clone().into_record().into_bytes().map_err(|e| GapError::Backend(format!("reading {name}'s weights: {e}")))?;
                let record = burn::store::ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes.to_vec()))
                    .map_err(|e| GapError::Backend(format!("reading {name}'s weights: {e}")))?;
                Net::init(spec, ad_device)
                    .try_load_record(record)
                    .map_err(|e| GapError::Invalid(format!("{name} does not fit a {spec}: {e}")))?
            }
        };
        Ok(Run { net, optim: settings.optimizer.init(), state, best: None })
    }

    fn resume(file: &str, bytes: &[u8], spec: &ModelSpec, settings: &TrainSettings, data: DataPrint, device: &Device, ad_device: &Device) -> Result<Run> {
        let checkpoint = CheckpointFile::from_bytes(file, bytes)?;
        checkpoint.state.check_matches(file, spec, settings, data)?;
        let record = |name: &str, bytes: Vec<u8>| {
            burn::store::ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes))
                .map_err(|e| GapError::bad_file(file, format!("corrupt {name} section: {e}")))
        };
        let misfit = |e: burn::store::RecordError| GapError::bad_file(file, format!("weights do not fit a {spec}: {e}"));
        let net = Net::init(spec, ad_device).try_load_record(record("network", checkpoint.net)?).map_err(misfit)?;
        let best = match checkpoint.state.best {
            Some(_) => Some(Net::init(spec, device).try_load_record(record("best network", checkpoint.best)?).map_err(misfit)?),
            None => None,
        };
        let optim = settings
            .optimizer
            .init()
            .from_bytes(Bytes::from_bytes_vec(checkpoint.optimizer))
            .map_err(|e| GapError::bad_file(file, format!("corrupt optimiser section: {e}")))?;
        let mut state = checkpoint.state;
        state.settings = settings.clone();
        Ok(Run { net, optim, state, best })
    }

    fn to_bytes(&self, seconds: f64) -> Result<Vec<u8>> {
        let serialise = |e: burn::store::RecordError| GapError::Backend(format!("writing a checkpoint: {e}"));
        let section = |net: &Net| net.clone().into_record().into_bytes().map(|b| b.to_vec()).map_err(serialise);
        let file = CheckpointFile {
            state: CheckpointState { seconds, ..self.state.clone() },
            // `valid()` first: a BatchNorm's moving statistics are visited as last synced, which
            // can be one update behind; `valid()` syncs them (the same parameter ids, no graph).
            net: section(&self.net.valid())?,
            best: self.best.as_ref().map_or(Ok(Vec::new()), section)?,
            optimizer: self.optim.into_bytes().map_err(serialise)?.to_vec(),
        };
        file.to_bytes()
    }
}

/// [`fit_reading`] that can start from a checkpoint and hand out new ones
/// ([`checkpoint`]'s module comment says why the result is the same bit for bit).
#[allow(clippy::too_many_arguments)]
pub async fn fit_resumable(
    spec: &ModelSpec,
    train: &Samples,
    val: &Samples,
    settings: &TrainSettings,
    device: &Device,
    read_back: ReadBack,
    checkpoints: &mut Checkpointing<'_>,
    progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
) -> Result<Fitted> {
    settings.validate()?;
    if train.is_empty() {
        return Err(GapError::Invalid("no training samples".into()));
    }
    let augmenter = settings.augment.then(|| augment::Augmenter::new(spec)).transpose()?;
    // One training's random draws at a time (`model::exclusive_random`).
    let _random = crate::model::exclusive_random();
    let started = Instant::now();
    let ad_device = device.clone().autodiff();
    let data = DataPrint::of(train, val);
    let mut run = match checkpoints.resume {
        Some((file, bytes)) => Run::resume(file, bytes, spec, settings, data, device, &ad_device).map_err(|e| GapError::Resume(Box::new(e)))?,
        None => Run::fresh(spec, settings, data, checkpoints.start, &ad_device)?,
    };
    let earlier_seconds = run.state.seconds;
    let seconds = move || earlier_seconds + started.elapsed().as_secs_f64();
    let mut rng = StdRng::seed_from_u64(settings.seed ^ 0x5eed_5eed);
    let mut order: Vec<usize> = (0..train.len()).collect();
    // The shuffles of the epochs already behind (each epoch shuffles the previous order).
    for _ in 1..run.state.epoch {
        order.shuffle(&mut rng);
    }
    let steps = train.len().div_ceil(settings.batch_size);

    while !run.state.stopped && run.state.epoch <= settings.epochs {
        let epoch = run.state.epoch;
        let epoch_start = Instant::now();
        // The rate of this epoch: the optimiser's, times the drops so far (stored in checkpoints).
        let lr = settings.optimizer.lr() * run.state.lr_scale;
        order.shuffle(&mut rng);
        // Per-step [loss, correct] not yet read back, with each step's batch size.
        let mut unread: Vec<(Tensor<1>, usize)> = Vec::new();
        let mut last_read = Instant::now();
        for (step, chunk) in order.chunks(settings.batch_size).enumerate().skip(run.state.step) {
            ad_device.seed(step_seed(settings.seed, epoch, step));
            let input = match &augmenter {
                Some(augmenter) => augmenter.batch(train, chunk, settings.seed, epoch, &ad_device)?,
                None => train.features.batch(chunk, &ad_device),
            };
            let logits = run.net.forward(input);
            let labels = train.label_batch(chunk, &ad_device);
            let data_loss = batch_loss(logits.clone(), labels.clone());
            let loss = match run.net.l2_penalty() {
                Some(p) => data_loss.clone() + p,
                None => data_loss.clone(),
            };
            let grads = GradientsParams::from_grads(loss.backward(), &run.net);
            run.net = run.optim.step(lr, run.net, grads);
            run.state.step = step + 1;
            unread.push((batch_stats(logits.detach(), labels, data_loss.detach()), chunk.len()));
            let mut losses = Vec::new();
            if read_back.due(step + 1 == steps, last_read.elapsed().as_secs_f64()) {
                losses = flush(&mut run, &mut unread, epoch).await?;
                last_read = Instant::now();
            }
            let event = Progress::Step { epoch, epochs: settings.epochs, step: step + 1, steps, losses };
            if progress(event).is_break() {
                if let Some(save) = checkpoints.save.as_mut() {
                    flush(&mut run, &mut unread, epoch).await?;
                    save(&run.to_bytes(seconds())?)?;
                }
                return Err(GapError::Cancelled);
            }
            yield_to_host().await;
        }
        if settings.recalibrate_bn {
            recalibrate_batchnorm(&run.net, train, &order, settings.batch_size, &ad_device);
        }
        let snapshot = run.net.valid();
        let (val_loss, val_accuracy) = if val.is_empty() {
            (run.state.loss_sum / train.len() as f64, f64::NAN)
        } else {
            evaluate(&snapshot, val, settings.batch_size, device).await?
        };
        let stats = EpochStats {
            epoch,
            train_loss: run.state.loss_sum / train.len() as f64,
            train_accuracy: run.state.correct as f64 / train.len() as f64,
            val_loss,
            val_accuracy,
            seconds: epoch_start.elapsed().as_secs_f64(),
        };
        run.state.history.push(stats.clone());
        if let Some(observer) = checkpoints.observe.as_mut() {
            observer.observe(&stats, &snapshot).await?;
        }
        // Patience 0 never stops early and keeps the last weights: "best" is then the latest.
        let never_stop = settings.patience == 0;
        if never_stop || run.state.best.is_none_or(|(best_loss, _)| val_loss < best_loss) {
            run.best = Some(snapshot);
            run.state.best = Some((val_loss, epoch));
            run.state.since_best = 0;
        } else {
            run.state.since_best += 1;
            run.state.stopped = run.state.since_best >= settings.patience;
            if let Some(drop) = settings.lr_drop.filter(|d| run.state.since_best % d.after == 0) {
                run.state.lr_scale *= drop.factor;
            }
        }
        run.state.epoch += 1;
        run.state.step = 0;
        run.state.loss_sum = 0.0;
        run.state.correct = 0;
        if let Some(save) = checkpoints.save.as_mut() {
            save(&run.to_bytes(seconds())?)?;
        }
        if progress(Progress::Epoch(stats)).is_break() {
            return Err(GapError::Cancelled);
        }
        if settings.max_seconds.is_some_and(|budget| started.elapsed().as_secs_f64() >= budget) {
            break;
        }
    }
    let (Some(net), Some((best_val_loss, best_epoch))) = (run.best, run.state.best) else {
        return Err(GapError::Invalid("no epoch was trained (the checkpoint is at the epoch limit: raise --epochs)".into()));
    };
    Ok(Fitted { net, best_epoch, epochs_trained: run.state.history.len(), best_val_loss, history: run.state.history, seconds: seconds() })
}

/// Recomputes every BatchNorm's moving mean and variance as the sample-weighted average of its
/// batch statistics over `samples` (batches of `batch_size`, in `order`), with the dropouts
/// off so that each layer sees the activations it will see at inference: the standard
/// recalibration (PyTorch's `update_bn`). BatchNorm runs in training mode (and updates its
/// statistics, with weight `momentum`) only on an autodiff device, so this runs there — on a
/// clone without gradients, so that no graph is recorded: a clone shares its BatchNorm
/// running state with `net` (which is the point here), while its momenta and dropout rates
/// are its own. Choosing the momentum as `n_k / seen` per batch turns the running update into
/// an exact cumulative average. Weights are untouched and nothing random is drawn.
pub fn recalibrate_batchnorm(net: &Net, samples: &Samples, order: &[usize], batch_size: usize, ad_device: &Device) {
    let mut probe = net.clone().no_grad();
    {
        let layers = probe.norm_layers();
        if layers.batchnorms.is_empty() {
            return;
        }
        for d in layers.dropouts {
            d.prob = 0.0;
        }
    }
    let mut seen = 0usize;
    for chunk in order.chunks(batch_size.max(1)) {
        seen += chunk.len();
        for bn in probe.norm_layers().batchnorms {
            bn.momentum = chunk.len() as f64 / seen as f64;
        }
        // Only the side effect on the (shared) moving statistics is wanted.
        drop(probe.forward(samples.features.batch(chunk, ad_device)));
    }
}

/// Reads the per-step `[loss, correct]` not yet read into the epoch's running sums; returns
/// the losses read, oldest first.
async fn flush(run: &mut Run, unread: &mut Vec<(Tensor<1>, usize)>, epoch: usize) -> Result<Vec<f64>> {
    if unread.is_empty() {
        return Ok(Vec::new());
    }
    let (tensors, sizes): (Vec<_>, Vec<_>) = std::mem::take(unread).into_iter().unzip();
    let values = read_f32s(Tensor::cat(tensors, 0)).await?;
    let mut losses = Vec::with_capacity(sizes.len());
    for (pair, size) in values.chunks(2).zip(sizes) {
        let step_loss = pair[0] as f64;
        if !step_loss.is_finite() {
            return Err(GapError::Backend(format!("training diverged: loss {step_loss} at epoch {epoch}")));
        }
        run.state.loss_sum += step_loss * size as f64;
        run.state.correct += pair[1] as i64;
        losses.push(step_loss);
    }
    Ok(losses)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Activation, Arch, Head, Input, ModelSpec, Net, Task, apply_conv2d};

    fn values(t: Tensor<1>) -> Vec<f64> {
        t.into_data().try_to_vec::<f32>().unwrap().into_iter().map(f64::from).collect()
    }

    /// After recalibration the first BatchNorm's moving mean is the mean of its input over all
    /// samples, and its moving variance the sample-weighted mean of the per-batch (biased)
    /// variances — computed here from the layer's input directly; the momentum is restored.
    #[test]
    fn recalibration_sets_the_moving_statistics_to_the_datas() {
        let ad = Device::flex().autodiff();
        ad.seed(7);
        let spec = ModelSpec::new(Task::Sound, Arch::Small, Head::Gap, 10).unwrap();
        let net = Net::init(&spec, &ad);
        let n = 7;
        let per = 98 * 40;
        let x: Vec<f32> = (0..n * per).map(|i| ((i * 7919) % 1000) as f32 / 250.0 - 2.0).collect();
        let samples = Samples::new(Features::Dense { dims: [1, 98, 40], values: x.clone() }, vec![0; n]);
        let order: Vec<usize> = (0..n).rev().collect();
        recalibrate_batchnorm(&net, &samples, &order, 3, &ad);
        let Net::SoundSmall(m) = &net else { unreachable!() };
        assert_eq!(m.bn1.momentum, crate::model::BN_MOMENTUM);
        assert_eq!(m.dropout1.prob, 0.4);
        // The layer's input, batch by batch (7 = 3 + 3 + 1).
        let (mut sum_mean, mut sum_var) = (vec![0.0f64; 64], vec![0.0f64; 64]);
        for chunk in order.chunks(3) {
            let Input::Dense(batch) = samples.features.batch(chunk, &ad) else { unreachable!() };
            let a = apply_conv2d(&m.conv1, batch, Activation::Relu); // [b, 64, 97, 39]
            let mean = a.clone().mean_dims(&[0, 2, 3]).reshape([64]);
            let var = (a - mean.clone().reshape([1, 64, 1, 1])).square().mean_dims(&[0, 2, 3]).reshape([64]);
            let w = chunk.len() as f64;
            for (c, (mu, v)) in values(mean).into_iter().zip(values(var)).enumerate() {
                sum_mean[c] += w * mu;
                sum_var[c] += w * v;
            }
        }
        let got_mean = values(m.bn1.running_mean.value_sync());
        let got_var = values(m.bn1.running_var.value_sync());
        for c in 0..64 {
            let (want_mean, want_var) = (sum_mean[c] / n as f64, sum_var[c] / n as f64);
            assert!((got_mean[c] - want_mean).abs() <= 1e-5 * (1.0 + want_mean.abs()), "mean {c}: {} vs {want_mean}", got_mean[c]);
            assert!((got_var[c] - want_var).abs() <= 1e-4 * (1.0 + want_var.abs()), "var {c}: {} vs {want_var}", got_var[c]);
        }
    }
}
