//! The `gaplab` CLI: parse, run, print the error and exit non-zero on failure.

fn main() {
    if let Err(err) = gaplab::cli::run() {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
}
