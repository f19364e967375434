//! What the page does with the pipeline, in plain Rust — one room, native and wasm alike, so
//! that all of it is tested natively; `web.rs` only converts to and from JS values:
//!
//! - [`facts`]: what the page must know about the lab (tasks, placements, trigger geometry);
//! - [`datasets`]: an archive parsed for its task, and the samples of the picker;
//! - [`models`]: model files decoded onto a device, kept with their bytes;
//! - [`look`]: the trigger placed anywhere, every model's answer and evidence (the one
//!   prediction path);
//! - [`sweep`]: attack accuracy as the trigger moves across the input;
//! - [`train`]: FC and GAP trained side by side from the page's form.
//!
//! Everything public is re-exported here, so callers write `page::look`, `page::TrainForm`.

pub mod datasets;
pub mod facts;
pub mod look;
pub mod models;
pub mod sweep;
pub mod train;

pub use datasets::*;
pub use facts::*;
pub use look::*;
pub use models::*;
pub use sweep::*;
pub use train::*;
