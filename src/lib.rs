//! gaplab: the paper "Dynamic Backdoors with Global Average Pooling" (Koffas, Picek, Conti,
//! AICAS 2022) as one Rust pipeline — dataset readers, MFCC, triggers, the seven FC/GAP
//! networks, training and metrics — compiled natively for the CLI and to WebAssembly for the page.

#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
pub mod backend;
pub mod data;
pub mod error;
pub mod experiment;
pub mod features;
pub mod kernels;
#[cfg(not(target_arch = "wasm32"))]
pub mod memory;
pub(crate) mod parallel;
pub mod model;
pub mod page;
mod names;
pub mod store;
pub mod train;
pub mod trigger;
#[cfg(target_arch = "wasm32")]
pub mod web;

pub use error::{GapError, Result};
