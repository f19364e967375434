#!/usr/bin/env bash
# Runs every test of gaplab: native unit and integration tests (real data from
# ../shared/datasets), and a check that the library compiles to WebAssembly.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. scripts/env.sh

echo "== native tests (target dir: $CARGO_TARGET_DIR)"
cargo test --all-targets

echo "== wasm32 build check (target dir: $GAPLAB_WASM_TARGET_DIR)"
CARGO_TARGET_DIR="$GAPLAB_WASM_TARGET_DIR" cargo check --lib --target wasm32-unknown-unknown
echo "all tests passed"
