//! The paper's metrics: clean accuracy, and attack accuracy (the share of triggered
//! non-target samples classified as the target) at every test placement.

use super::prepare::{Placement, TestSets};
use super::samples::Features;
use crate::error::{GapError, Result};
use crate::model::Net;
use crate::train::{evaluate, predicted};
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
}

async fn read_predictions(net: &Net, features: &Features, batch_size: usize, device: &Device) -> Result<Vec<i64>> {
    let mut out = Vec::with_capacity(features.len());
    let order: Vec<usize> = (0..features.len()).collect();
    for chunk in order.chunks(batch_size.max(1)) {
        let pred = predicted(net.forward(features.batch(chunk, device)));
        let data = pred.into_data_async().await.map_err(|e| GapError::Backend(e.to_string()))?;
        out.extend(data.try_to_vec_as::<i64>().map_err(|e| GapError::Backend(format!("{e:?}")))?);
    }
    Ok(out)
}

/// Evaluates a trained network on clean and triggered test sets.
pub async fn evaluate_model(net: &Net, sets: &TestSets, target: usize, batch_size: usize, device: &Device) -> Result<Evaluation> {
    let (_, clean_accuracy) = evaluate(net, &sets.clean, batch_size, device).await?;
    let mut attack = Vec::new();
    for (placement, samples) in &sets.attack {
        let preds = read_predictions(net, &samples.features, batch_size, device).await?;
        let hits = preds.iter().filter(|&&p| p == target as i64).count();
        let accuracy = if preds.is_empty() { f64::NAN } else { hits as f64 / preds.len() as f64 };
        attack.push(AttackResult { placement: *placement, accuracy, samples: preds.len() });
    }
    let n_attack = attack.first().map_or(0, |a| a.samples);
    Ok(Evaluation { clean_accuracy, attack, n_clean: sets.clean.len(), n_attack })
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
