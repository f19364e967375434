# Sourced by the scripts: persistent build folders outside the clone, so that reruns (and
# CI on the same machine) are incremental; native and wasm builds apart to avoid lock waits.
: "${GAPLAB_CACHE:=$HOME/.cache/gaplab}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$GAPLAB_CACHE/target-native}"
export GAPLAB_WASM_TARGET_DIR="${GAPLAB_WASM_TARGET_DIR:-$GAPLAB_CACHE/target-wasm}"
export GAPLAB_WASM_THREADS_TARGET_DIR="${GAPLAB_WASM_THREADS_TARGET_DIR:-$GAPLAB_CACHE/target-wasm-threads}"
