//! From a loaded dataset to the paper's measurements: splits, poisoning, feature extraction,
//! training one cell, and the metrics (clean accuracy, attack accuracy at every test position);
//! the grid of cells (`grid`, native) and its report (`report`: results.csv, tables, figures).

#[cfg(not(target_arch = "wasm32"))]
pub mod grid;
mod metrics;
mod prepare;
pub mod report;
mod run;

pub use metrics::{AttackResult, Evaluation, evaluate_model, learned as metrics_learned, predict_probabilities};
pub use prepare::{Prepared, RawSample, TestSets, prepare, test_indices, test_sets};
pub use run::{Start, TracedEpoch, TrainRequest, Trained, evaluate_on, train_and_evaluate, train_and_evaluate_resumable};
