//! One error type for the whole pipeline.
//!
//! Every reader of outside bytes (WAV, archives, CIFAR batches, IMDB text, model files)
//! returns a [`GapError`] that names the file and what is wrong with it, so that the CLI can
//! print it and exit non-zero and the page can show it — never a panic.

use thiserror::Error;

/// Everything that can go wrong in gaplab, with enough context to act on.
#[derive(Debug, Error)]
pub enum GapError {
    /// A file (or archive entry) that is not what it claims to be, or is damaged.
    #[error("{file}: {problem}")]
    BadFile { file: String, problem: String },

    /// An archive that cannot be read (corrupt gzip, broken tar, too large, too many entries).
    #[error("archive {archive}: {problem}")]
    BadArchive { archive: String, problem: String },

    /// A dataset that was read but cannot be used (no samples, a class missing, ...).
    #[error("dataset {dataset}: {problem}")]
    BadDataset { dataset: String, problem: String },

    /// A model file that is corrupt, truncated, or for another task/architecture.
    #[error("model {file}: {problem}")]
    BadModel { file: String, problem: String },

    /// An argument or setting that makes no sense (unknown architecture, position out of range).
    #[error("invalid setting: {0}")]
    Invalid(String),

    /// An I/O failure on the native side (opening a file, writing a result).
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },

    /// The compute backend failed (device lost, out of memory).
    #[error("backend: {0}")]
    Backend(String),

    /// The user cancelled a long-running job.
    #[error("cancelled")]
    Cancelled,

    /// A checkpoint that cannot be resumed — damaged, or made by another run; the inner error
    /// says which file and why (its message is this one's). Kept apart so that a caller can
    /// tell a bad checkpoint from a failure of the training itself.
    #[error(transparent)]
    Resume(Box<GapError>),
}

impl GapError {
    /// Shorthand for [`GapError::BadFile`].
    pub fn bad_file(file: impl Into<String>, problem: impl Into<String>) -> Self {
        GapError::BadFile { file: file.into(), problem: problem.into() }
    }
    /// Shorthand for [`GapError::BadArchive`].
    pub fn bad_archive(archive: impl Into<String>, problem: impl Into<String>) -> Self {
        GapError::BadArchive { archive: archive.into(), problem: problem.into() }
    }
    /// Shorthand for [`GapError::BadDataset`].
    pub fn bad_dataset(dataset: impl Into<String>, problem: impl Into<String>) -> Self {
        GapError::BadDataset { dataset: dataset.into(), problem: problem.into() }
    }
    /// Shorthand for [`GapError::BadModel`].
    pub fn bad_model(file: impl Into<String>, problem: impl Into<String>) -> Self {
        GapError::BadModel { file: file.into(), problem: problem.into() }
    }
}

/// Result alias used across the crate.
pub type Result<T, E = GapError> = std::result::Result<T, E>;
