//! The report: results.csv, the paper's tables as Markdown, and its Figure 1 as SVG/PNG.
//!
//! Everything here works on strings and byte buffers (no file system, no threads), so the
//! CLI and the WebAssembly page share it; the caller reads and writes the files.

pub mod figures;
pub mod results;
pub mod tables;
