# Sourced by the scripts: persistent build folders outside the clone, so that reruns (and
# CI on the same machine) are incremental; native and wasm builds apart to avoid lock waits.
: "${GAPLAB_CACHE:=$HOME/.cache/gaplab}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$GAPLAB_CACHE/target-native}"
export GAPLAB_WASM_TARGET_DIR="${GAPLAB_WASM_TARGET_DIR:-$GAPLAB_CACHE/target-wasm}"
export GAPLAB_WASM_THREADS_TARGET_DIR="${GAPLAB_WASM_THREADS_TARGET_DIR:-$GAPLAB_CACHE/target-wasm-threads}"

# `timed LABEL COMMAND…`: runs COMMAND, then prints how long it took — CI's log then shows where
# a run spends its 90 minutes (cold, the machine's build caches empty, the whole suite took ≈ 100).
timed() { local label=$1 start=$SECONDS; shift; "$@"; echo "== $label: $((SECONDS - start)) s"; }
