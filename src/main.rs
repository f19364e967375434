//! The `gaplab` CLI: parse, run, print the error and exit non-zero on failure.
//! (On wasm32 — built only because `cargo test` builds every target — there is no CLI.)

fn main() {
    #[cfg(not(target_arch = "wasm32"))]
    {
        gaplab::memory::keep_freed_memory();
        quiet_on_closed_stdout();
        if let Err(err) = gaplab::cli::run() {
            eprintln!("error: {err}");
            std::process::exit(1);
        }
    }
}

/// `gaplab mfcc clip.wav --json | head` closes our stdout early; `println!` then panics with
/// "failed printing to stdout: Broken pipe". The reader has what it wanted, so stop quietly
/// (exit 0, as ripgrep does) instead of printing a panic; every other panic is reported as usual.
#[cfg(not(target_arch = "wasm32"))]
fn quiet_on_closed_stdout() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info.payload_as_str().unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        report(info);
    }));
}
