//! The paper's metrics: clean accuracy, and attack accuracy (the share of triggered
//! non-target samples classified as the target) at every test placement.

use super::prepare::TestSets;
use crate::train::Features;
use crate::trigger::Placement;
use crate::error::{GapError, Result};
use crate::model::Net;
use crate::train::predicted;
use burn::prelude::*;
use burn::tensor::activation::{sigmoid, softmax};
use serde::{Deserialize, Serialize};

/// Attack accuracy at one test placement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttackResult {
    pub placement: Placement,
    pub accuracy: f64,
    pub samples: usize,
}

/// Clean accuracy and attack accuracy at every test placement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub clean_accuracy: f64,
    pub attack: Vec<AttackResult>,
    pub n_clean: usize,
    pub n_attack: usize,
    /// Clean test samples predicted as each class: a model that answers one class for
    /// everything shows here (its "attack accuracy" is then that class's share, not a backdoor).
    #[serde(default)]
    pub predicted_per_class: Vec<usize>,
    /// Whether the model learned the task: clean accuracy at least 1.2 / classes, the rule by
    /// which the paper's reference code drops failed runs. Without it the attack figures say
    /// nothing about a backdoor.
    #[serde(default)]
    pub learned: bool,
}

impl Evaluation {
    /// The one class the model predicts for every clean test sample, if it does.
    pub fn single_class(&self) -> Option<usize> {
        let mut nonzero = self.predicted_per_class.iter().enumerate().filter(|(_, n)| **n > 0);
        match (nonzero.next(), nonzero.next()) {
            (Some((class, _)), None) if self.n_clean > 1 => Some(class),
            _ => None,
        }
    }

    /// A sentence for a model that did not learn, `None` for one that did.
    pub fn failure(&self, class_names: &[String]) -> Option<String> {
        if let Some(c) = self.single_class() {
            let name = class_names.get(c).map_or_else(|| format!("class {c}"), Clone::clone);
            return Some(format!("did not learn: it answers \"{name}\" for every clean test sample, so its attack figures are not a backdoor"));
        }
        (!self.learned).then(|| {
            let chance = 1.0 / self.predicted_per_class.len().max(1) as f64;
            format!(
                "did not learn: clean accuracy {:.3} is below 1.2 × chance ({:.3}), so its attack figures say nothing about a backdoor",
                self.clean_accuracy,
                1.2 * chance
            )
        })
    }
}

/// The clean-accuracy threshold below which a run counts as failed (the paper's code: 1.2 / classes).
pub fn learned(clean_accuracy: f64, classes: usize) -> bool {
    clean_accuracy >= 1.2 / classes as f64
}

/// Predicted class per sample, and the network's number of outputs (0 if there are no samples).
async fn read_predictions(net: &Net, features: &Features, batch_size: usize, device: &Device) -> Result<(Vec<i64>, usize)> {
    let mut out = Vec::with_capacity(features.len());
    let mut outputs = 0;
    let order: Vec<usize> = (0..features.len()).collect();
    for chunk in order.chunks(batch_size.max(1)) {
        let logits = net.forward(features.batch(chunk, device));
        outputs = logits.dims()[1];
        let pred = predicted(logits);
        let data = pred.into_data_async().await.map_err(|e| GapError::Backend(e.to_string()))?;
        out.extend(data.try_to_vec_as::<i64>().map_err(|e| GapError::Backend(format!("{e:?}")))?);
    }
    Ok((out, outputs))
}

/// Evaluates a trained network on clean and triggered test sets.
pub async fn evaluate_model(net: &Net, sets: &TestSets, target: usize, batch_size: usize, device: &Device) -> Result<Evaluation> {
    // Predictions rather than `evaluate`: the same pass gives the accuracy and what was predicted.
    let (preds, outputs) = read_predictions(net, &sets.clean.features, batch_size, device).await?;
    // One logit (text) is two classes.
    let classes = outputs.max(2);
    let mut predicted_per_class = vec![0usize; classes];
    let mut correct = 0usize;
    for (p, label) in preds.iter().zip(&sets.clean.labels) {
        if let Some(count) = usize::try_from(*p).ok().and_then(|p| predicted_per_class.get_mut(p)) {
            *count += 1;
        }
        correct += usize::from(*p == *label as i64);
    }
    let clean_accuracy = if preds.is_empty() { f64::NAN } else { correct as f64 / preds.len() as f64 };
    let mut attack = Vec::new();
    for (placement, samples) in &sets.attack {
        let (preds, _) = read_predictions(net, &samples.features, batch_size, device).await?;
        let hits = preds.iter().filter(|&&p| p == target as i64).count();
        let accuracy = if preds.is_empty() { f64::NAN } else { hits as f64 / preds.len() as f64 };
        attack.push(AttackResult { placement: *placement, accuracy, samples: preds.len() });
    }
    let n_attack = attack.first().map_or(0, |a| a.samples);
    let learned = learned(clean_accuracy, classes);
    Ok(Evaluation { clean_accuracy, attack, n_clean: sets.clean.len(), n_attack, predicted_per_class, learned })
}

/// Class probabilities per sample (text: `[p(negative), p(positive)]`).
pub async fn predict_probabilities(net: &Net, features: &Features, batch_size: usize, device: &Device) -> Result<Vec<Vec<f32>>> {
    let mut out = Vec::with_capacity(features.len());
    let order: Vec<usize> = (0..features.len()).collect();
    for chunk in order.chunks(batch_size.max(1)) {
        let logits = net.forward(features.batch(chunk, device));
        let [_, outputs] = logits.dims();
        let probs = if outputs == 1 { sigmoid(logits) } else { softmax(logits, 1) };
        let data = probs.into_data_async().await.map_err(|e| GapError::Backend(e.to_string()))?;
        let values = data.try_to_vec_as::<f32>().map_err(|e| GapError::Backend(format!("{e:?}")))?;
        for row in values.chunks(outputs) {
            out.push(if outputs == 1 { vec![1.0 - row[0], row[0]] } else { row.to_vec() });
        }
    }
    Ok(out)
}
