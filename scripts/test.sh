#!/usr/bin/env bash
# Runs every test of gaplab: native unit and integration tests (real data from
# ../shared/datasets), then the browser tests (scripts/test-web.sh): wasm-bindgen tests and
# the page end to end in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. scripts/env.sh

echo "== native tests (target dir: $CARGO_TARGET_DIR)"
cargo test --all-targets

scripts/test-web.sh
echo "all tests passed"
