//! Dataset readers: from archive bytes (or, natively, a folder) to labelled samples, and the
//! seeded splits the paper uses.
//!
//! Every reader takes bytes, never paths, so that the browser and the CLI share them; only
//! `native` (re-exported as [`archive::load_entries`]) touches the file system, and it is
//! compiled only for native targets.

pub mod archive;
pub mod cifar;
pub mod imdb;
pub mod speech;
mod source;
pub mod split;
mod task;
pub mod wav;

#[cfg(all(not(target_arch = "wasm32"), feature = "demo"))]
pub use source::demo;
#[cfg(not(target_arch = "wasm32"))]
pub use source::{from_path, load};
pub use source::{from_archive_bytes, from_entries, wanted};
pub use task::{Task, TaskData};

#[cfg(not(target_arch = "wasm32"))]
mod native;
