#!/usr/bin/env bash
# Runs every test of gaplab: native unit and integration tests (real data from
# ../shared/datasets), then the browser tests (scripts/test-web.sh): wasm-bindgen tests and
# the page end to end in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
timed "setup" scripts/setup.sh

echo "== native tests (target dir: $CARGO_TARGET_DIR)"
timed "native tests" cargo test --all-targets

# The fuzz targets are their own workspace (fuzz/): compile them so they cannot rot. Running
# them (a sanitizer build: 38 minutes cold on 2 shared cores) is scripts/fuzz-smoke.sh, here with GAPLAB_FUZZ=1.
echo "== fuzz targets compile (cargo check of fuzz/)"
timed "fuzz targets compile" cargo check --manifest-path fuzz/Cargo.toml --bins --locked
if [ "${GAPLAB_FUZZ:-0}" = 1 ]; then
  scripts/fuzz-smoke.sh
fi

# The CLI's GPU path (`--device wgpu`, burn's wgpu backend: four `cfg(feature = "gpu")` lines
# in src/backend.rs) must build though no GPU is here; running it is scripts/gpu-check.sh's, on a
# machine with one (it builds with the feature too). A check of wgpu and cubecl natively costs
# 6 minutes on a machine without build caches — CI's 90 minutes had none to spare (a cold run
# measured ≈ 100 before the wasm-bindgen step stopped building the crate's unit tests for wasm),
# so it runs with GAPLAB_GPU_BUILD=1.
if [ "${GAPLAB_GPU_BUILD:-0}" = 1 ]; then
  echo "== the GPU build compiles (cargo check --features gpu)"
  timed "GPU build compiles" cargo check --features gpu --bin gaplab
fi

timed "browser tests, all" scripts/test-web.sh

# The grid's Slurm and GNU parallel paths, run for real (installs slurm-wlm, munge and parallel
# the first time; 83 s in all on a 2-core machine, the install included). GAPLAB_SLURM=0 skips it.
if [ "${GAPLAB_SLURM:-1}" = 1 ]; then
  timed "Slurm and GNU parallel" scripts/cluster-check.sh
fi
echo "all tests passed in $SECONDS s"
