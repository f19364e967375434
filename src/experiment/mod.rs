//! From a loaded dataset to the paper's measurements: splits, poisoning, feature extraction,
//! training one cell, and the metrics (clean accuracy, attack accuracy at every test position).

mod metrics;
mod prepare;
mod run;
mod samples;

pub use metrics::{AttackResult, Evaluation, evaluate_model, learned as metrics_learned, predict_probabilities};
pub use prepare::{
    Placement, PoisonConfig, Prepared, RawSample, TaskData, TestSets, encode_sample, prepare, test_indices, test_label, test_sets, triggered_clip,
    triggered_image, triggered_text,
};
pub use run::{TracedEpoch, TrainRequest, Trained, backend_name, evaluate_on, train_and_evaluate, train_and_evaluate_resumable};
pub use samples::{Features, RawClip, Samples, Stamp};
