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

echo "== wasm-bindgen tests in headless Chromium (target dir: $GAPLAB_WASM_TARGET_DIR)"
CARGO_TARGET_DIR="$GAPLAB_WASM_TARGET_DIR" wasm-pack test --headless --chrome --chromedriver "$CHROMEDRIVER" --release -- --test web --features webgpu

echo "== release build of the page"
scripts/build-web.sh

echo "== the CLI (debug), which end-to-end tests hand the page's downloads to"
cargo build --bin gaplab
export GAPLAB_BIN="$CARGO_TARGET_DIR/debug/gaplab"

echo "== end-to-end tests of the page (Playwright, headless Chromium)"
npm run e2e
