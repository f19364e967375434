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
pub mod split;
pub mod wav;

#[cfg(not(target_arch = "wasm32"))]
mod native;
