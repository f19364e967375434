//! Naming the device a network runs on (burn 0.22 tensors carry no backend type; the backend
//! is a runtime `Device`): what model files and results record, and what paths that differ
//! per backend ask.

use burn::prelude::*;

/// A short name for the device, recorded in model files and results: `flex`, `wgpu`, or
/// burn's own name for anything else.
pub fn backend_name(device: &Device) -> String {
    let name = format!("{device:?}").to_ascii_lowercase();
    if name.contains("flex") {
        "flex".into()
    } else if name.contains("wgpu") || name.contains("webgpu") || name.contains("vulkan") {
        "wgpu".into()
    } else {
        name
    }
}

/// Whether `device` is the CPU backend (tensors read back synchronously, weights mapped in place).
pub fn is_flex(device: &Device) -> bool {
    backend_name(device) == "flex"
}
