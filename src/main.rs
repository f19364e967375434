//! The `gaplab` CLI: parse, run, print the error and exit non-zero on failure.
//! (On wasm32 — built only because `cargo test` builds every target — there is no CLI.)

fn main() {
    #[cfg(not(target_arch = "wasm32"))]
    if let Err(err) = gaplab::cli::run() {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
}
