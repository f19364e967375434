#!/usr/bin/env bash
# The browser half of the tests (called by scripts/test.sh after setup):
#  1. wasm-bindgen tests (tests/web.rs) in headless Chromium: MFCC vs librosa, training steps on
#     Flex and WebGPU, native model files predicting the same, bad bytes → errors;
#  2. the page built for release (scripts/build-web.sh) and driven end to end by Playwright
#     (tests/e2e/), with the CLI built for the tests that check the page's files against it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
export CHROMEDRIVER=/usr/bin/chromedriver
export WASM_BINDGEN_TEST_TIMEOUT=900

# tests/web.rs, built as the page's two builds are (`--profile web`, Cargo.toml): the Flex build
# (default features) and the WebGPU build without Flex — the dependencies are then the ones the
# page build below compiles anyway (no `--release` build of burn and cubecl for the tests alone:
# 13 of this step's 28 cold minutes). cargo itself, not `wasm-pack test`, which first builds
# every test target for wasm, the crate's unit tests included (another 8 minutes, in every run),
# though only tests/web.rs runs in the browser. .cargo/config.toml makes wasm-bindgen-test-runner
# the runner (installed by setup.sh at Cargo.lock's wasm-bindgen version); it drives Chromium
# through $CHROMEDRIVER, headless, with webdriver.json's options.
echo "== wasm-bindgen tests in headless Chromium (target dir: $GAPLAB_WASM_TARGET_DIR)"
wasm_test() { # webdriver.json's --user-data-dir, fresh for each run
  rm -rf /tmp/gaplab-wasm-test-profile
  CARGO_TARGET_DIR="$GAPLAB_WASM_TARGET_DIR" cargo test --target wasm32-unknown-unknown --profile web --test web "$@"
}
timed "wasm-bindgen tests, Flex build" wasm_test
timed "wasm-bindgen tests, WebGPU build" wasm_test --no-default-features --features webgpu

echo "== release build of the page"
timed "page build" scripts/build-web.sh

# The CLI (debug), which end-to-end tests hand the page's downloads to, built as the native
# tests build it: `cargo test` unifies the dev-dependencies' features into the binary's
# dependencies, so a plain `cargo build --bin gaplab` compiled burn a second time with the other
# feature set (615 s here); this reuses what scripts/test.sh's native tests built (≈ 10 s).
echo "== the CLI (debug), which end-to-end tests hand the page's downloads to"
timed "CLI build" cargo test --no-run --test cli
export GAPLAB_BIN="$CARGO_TARGET_DIR/debug/gaplab"

echo "== end-to-end tests of the page (Playwright, headless Chromium)"
timed "end-to-end tests" npm run e2e
