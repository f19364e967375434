//! The page's threaded wasm build (`--features threads`, scripts/build-web.sh) links its memory
//! as shared and imported — what wasm-bindgen and web workers need to run one module on several
//! threads — and exports the thread-local-storage hooks wasm-bindgen's thread glue calls.
//! Every other build links as before. It also says whether the build has Flex (`cfg(flex)`).
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let wasm = std::env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|a| a == "wasm32");
    // `cfg(flex)`: the build has Flex, burn's CPU backend — natively always (the CLI, the tests,
    // the fuzz targets), in wasm with the `flex` feature (not in the page's WebGPU build).
    println!("cargo:rustc-check-cfg=cfg(flex)");
    if !wasm || std::env::var_os("CARGO_FEATURE_FLEX").is_some() {
        println!("cargo:rustc-cfg=flex");
    }
    if wasm && std::env::var_os("CARGO_FEATURE_THREADS").is_some() {
        for arg in [
            "--shared-memory",
            "--import-memory",
            // 4 GiB: wasm32's whole address space (a shared memory must declare its maximum).
            "--max-memory=4294967296",
            "--export=__wasm_init_tls",
            "--export=__tls_size",
            "--export=__tls_align",
            "--export=__tls_base",
        ] {
            println!("cargo:rustc-link-arg-cdylib={arg}");
        }
    }
}
