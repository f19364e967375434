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

/// The device named on the command line (`--device`): `flex` (the CPU, always there) or
/// `wgpu` (a native WebGPU adapter — Vulkan on Linux, NVIDIA and AMD GPUs included; needs the
/// `gpu` feature). A backend that was not built in, or finds no device, is a clear error here —
/// before any data is read — never a panic in the middle of a run.
///
/// There is no `cuda`: burn's `cuda` feature builds CubeCL's LLVM bundle, whose build script
/// downloads LLVM from the network, which the machines this lab is built on cannot reach.
#[cfg(not(target_arch = "wasm32"))]
pub fn open(name: &str) -> crate::error::Result<Device> {
    use crate::error::GapError;
    match name.trim().to_ascii_lowercase().as_str() {
        "flex" | "cpu" => Ok(Device::flex()),
        "wgpu" | "vulkan" => native_gpu::wgpu(),
        "cuda" => Err(GapError::Invalid(
            "--device cuda: this gaplab has no CUDA backend (burn's needs an LLVM download at build time); on an NVIDIA GPU use --device wgpu (Vulkan) with a build with `--features gpu`".into(),
        )),
        other => Err(GapError::Invalid(format!("--device must be flex, wgpu or cuda, not '{other}'"))),
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod native_gpu {
    use crate::error::{GapError, Result};
    use burn::prelude::Device;
    #[cfg(feature = "gpu")]
    use burn::prelude::*;

    /// Opens the default adapter and runs a first operation on it, so that a missing driver or
    /// adapter — which burn's runtime may report by panicking on first use — becomes an error
    /// naming the device.
    #[cfg(feature = "gpu")]
    pub fn wgpu() -> Result<Device> {
        let device = std::panic::catch_unwind(|| Device::wgpu_options().init())
            .map_err(|panic| GapError::Backend(format!("no WebGPU/Vulkan adapter: {}", panic_text(&panic))))?
            .map_err(|e| GapError::Backend(format!("no WebGPU/Vulkan adapter: {e}")))?;
        let probe = device.clone();
        match std::panic::catch_unwind(move || Tensor::<1>::ones([4], &probe).sum().into_scalar::<f32>()) {
            Ok(v) if v == 4.0 => Ok(device),
            Ok(v) => Err(GapError::Backend(format!("the WebGPU/Vulkan device summed four ones to {v}"))),
            Err(panic) => Err(GapError::Backend(format!("the WebGPU/Vulkan device is not usable: {}", panic_text(&panic)))),
        }
    }

    #[cfg(feature = "gpu")]
    fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
        panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_else(|| "the runtime failed to start".into())
    }

    #[cfg(not(feature = "gpu"))]
    pub fn wgpu() -> Result<Device> {
        Err(GapError::Invalid("--device wgpu: this gaplab was built without its wgpu backend; rebuild with `--features gpu`".into()))
    }
}
