//! One experiment cell end to end: prepare the data, train, evaluate at every test
//! placement, and describe the result as a self-contained model file header.

use super::metrics::{Evaluation, evaluate_model};
use super::prepare::{TestSets, prepare, test_sets};
use crate::backend::backend_name;
use crate::data::TaskData;
use crate::error::{GapError, Result};
use crate::features::text::Vocab;
use crate::model::{ModelSpec, Net};
use crate::store::{ModelHeader, TrainSummary};
use crate::trigger::{Placement, PoisonConfig};
use crate::train::{Checkpointing, EpochObserver, EpochStats, Progress, ReadBack, TrainSettings, fit_resumable};
use burn::prelude::*;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;

/// What to train.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainRequest {
    pub spec: ModelSpec,
    pub poison: PoisonConfig,
    pub settings: TrainSettings,
}

/// A trained model to start from instead of random weights (fine-tuning): its name, as the new
/// model's settings record it (`TrainSettings::start_from`), its header and its network. It
/// must be the same network, for the same classes (and for text, the same vocabulary).
#[derive(Clone, Copy)]
pub struct Start<'a> {
    pub name: &'a str,
    pub header: &'a ModelHeader,
    pub net: &'a Net,
}

impl Start<'_> {
    /// Whether the run of `spec` on data with `classes` and `vocab` can start from this model.
    fn check_fits(&self, spec: &ModelSpec, classes: &[String], vocab: Option<&Vocab>) -> Result<()> {
        let name = self.name;
        if self.header.spec != *spec {
            return Err(GapError::Invalid(format!("{name} is a {}, this run trains a {spec}: start from a model of the same network", self.header.spec)));
        }
        if self.header.classes != classes {
            return Err(GapError::Invalid(format!("{name} has the classes {:?}, this run's data {classes:?}", self.header.classes)));
        }
        if self.header.vocab.as_ref() != vocab {
            return Err(GapError::Invalid(format!("{name} reads another vocabulary than this run's data gives: start from a model trained on the same reviews")));
        }
        Ok(())
    }
}

/// A trained model, its header and its test-set evaluation.
pub struct Trained {
    pub header: ModelHeader,
    pub net: Net,
    pub evaluation: Evaluation,
    pub poisoned_train: usize,
    pub poisoned_val: usize,
    /// Samples trained on per epoch (the training side of the split, poisoned ones included).
    pub train_samples: usize,
    /// With `trace`: every epoch's figures and the test-set evaluation of that epoch's weights.
    pub trace: Vec<TracedEpoch>,
    /// A fine-tuned run's start, evaluated on the same test sets before training: what the
    /// fine-tuning changed (clean accuracy kept, the backdoor planted).
    pub start_evaluation: Option<Evaluation>,
}

/// One epoch of a traced run: its training figures, and its weights evaluated on the test
/// split exactly as the finished model is (clean, and the backdoor at every test placement).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TracedEpoch {
    pub stats: EpochStats,
    pub evaluation: Evaluation,
}

/// Evaluates every epoch's weights on the test sets ([`EpochObserver`]).
struct Tracer<'a> {
    sets: &'a TestSets,
    target: usize,
    batch_size: usize,
    device: &'a Device,
    epochs: Vec<TracedEpoch>,
}

impl EpochObserver for Tracer<'_> {
    fn observe<'s>(&'s mut self, stats: &'s EpochStats, net: &'s Net) -> Pin<Box<dyn Future<Output = Result<()>> + 's>> {
        Box::pin(async move {
            let evaluation = evaluate_model(net, self.sets, self.target, self.batch_size, self.device).await?;
            self.epochs.push(TracedEpoch { stats: stats.clone(), evaluation });
            Ok(())
        })
    }
}

/// Trains `request` on `data` and evaluates it on the test split at `test_placements`.
pub async fn train_and_evaluate(
    data: &TaskData,
    request: &TrainRequest,
    test_placements: &[Placement],
    device: &Device,
    progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
) -> Result<Trained> {
    train_and_evaluate_resumable(data, request, test_placements, device, &mut Checkpointing::default(), None, false, progress).await
}

/// [`train_and_evaluate`] continuing from a checkpoint and/or writing them (`gaplab train
/// --resume / --checkpoint`), and with `trace`, evaluating every epoch's weights on the test
/// split too ([`Trained::trace`]; a resumed run traces the epochs it trains). With `start`, a
/// fresh run begins from that model's weights ([`Start`]).
#[allow(clippy::too_many_arguments)]
pub async fn train_and_evaluate_resumable(
    data: &TaskData,
    request: &TrainRequest,
    test_placements: &[Placement],
    device: &Device,
    checkpoints: &mut Checkpointing<'_>,
    start: Option<Start<'_>>,
    trace: bool,
    progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
) -> Result<Trained> {
    let seed = request.settings.seed;
    let prepared = prepare(data, &request.spec, &request.poison, seed)?;
    if let Some(start) = &start {
        start.check_fits(&request.spec, &prepared.classes, prepared.vocab.as_ref())?;
    }
    let settings = TrainSettings { start_from: start.map(|s| s.name.to_string()), ..request.settings.clone() };
    let (train, val) = (&prepared.train, &prepared.val);
    let read_back = ReadBack::for_device(device);
    let sets = test_sets(data, &request.spec, prepared.vocab.as_ref(), seed, false, request.poison.target, request.poison.blend, test_placements)?;
    let start_evaluation = match &start {
        Some(start) => Some(evaluate_model(start.net, &sets, request.poison.target, request.settings.batch_size, device).await?),
        None => None,
    };
    let mut tracer = Tracer { sets: &sets, target: request.poison.target, batch_size: request.settings.batch_size, device, epochs: Vec::new() };
    let fitted = {
        // The caller's checkpointing, borrowed for this run, with the tracer added if asked for.
        let save = checkpoints.save.as_deref_mut().map(|f| f as &mut dyn FnMut(&[u8]) -> Result<()>);
        let observe = trace.then_some(&mut tracer as &mut dyn EpochObserver);
        let mut run = Checkpointing { resume: checkpoints.resume, start: start.map(|s| s.net), save, observe };
        fit_resumable(&request.spec, train, val, &settings, device, read_back, &mut run, progress).await?
    };
    // A traced run has already evaluated the kept weights, at the epoch they are from.
    let evaluation = match tracer.epochs.iter().find(|t| t.stats.epoch == fitted.best_epoch) {
        Some(t) => t.evaluation.clone(),
        None => evaluate_model(&fitted.net, &sets, request.poison.target, request.settings.batch_size, device).await?,
    };
    let header = ModelHeader {
        spec: request.spec,
        classes: prepared.classes,
        poison: request.poison,
        settings,
        seed,
        vocab: prepared.vocab,
        summary: Some(TrainSummary::new(
            fitted.best_epoch,
            fitted.epochs_trained,
            fitted.best_val_loss,
            fitted.seconds,
            backend_name(device),
        )),
    };
    Ok(Trained {
        header,
        net: fitted.net,
        evaluation,
        poisoned_train: prepared.poisoned_train,
        poisoned_val: prepared.poisoned_val,
        train_samples: train.len(),
        trace: tracer.epochs,
        start_evaluation,
    })
}

/// Evaluates a loaded model on `data`: its test split (same seed) or `all` samples.
pub async fn evaluate_on(
    header: &ModelHeader,
    net: &Net,
    data: &TaskData,
    all: bool,
    test_placements: &[Placement],
    device: &Device,
) -> Result<Evaluation> {
    let sets = test_sets(data, &header.spec, header.vocab.as_ref(), header.seed, all, header.poison.target, header.poison.blend, test_placements)?;
    evaluate_model(net, &sets, header.poison.target, header.settings.batch_size, device).await
}
