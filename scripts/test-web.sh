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
rm -rf /tmp/gaplab-wasm-test-profile   # webdriver.json's fresh --user-data-dir

# cargo itself, not `wasm-pack test`: wasm-pack first builds every test target for wasm (`cargo
# build --tests`), the crate's unit tests included — 8 of the step's 28 minutes cold, and again
# in every CI run (the clone's crate is always rebuilt) — though only tests/web.rs runs in the
# browser. .cargo/config.toml makes wasm-bindgen-test-runner the runner (installed by setup.sh at
# Cargo.lock's wasm-bindgen version); it drives Chromium through $CHROMEDRIVER, headless, with
# webdriver.json's options.
echo "== wasm-bindgen tests in headless Chromium (target dir: $GAPLAB_WASM_TARGET_DIR)"
CARGO_TARGET_DIR="$GAPLAB_WASM_TARGET_DIR" timed "wasm-bindgen tests" cargo test --target wasm32-unknown-unknown --release --test web --features webgpu

echo "== release build of the page"
timed "page build" scripts/build-web.sh

echo "== the CLI (debug), which end-to-end tests hand the page's downloads to"
timed "CLI build" cargo build --bin gaplab
export GAPLAB_BIN="$CARGO_TARGET_DIR/debug/gaplab"

echo "== end-to-end tests of the page (Playwright, headless Chromium)"
timed "end-to-end tests" npm run e2e
