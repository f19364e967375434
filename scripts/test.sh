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

# The fuzz targets are their own workspace (fuzz/): compile them so they cannot rot. Running
# them (a sanitizer build: 38 minutes cold on 2 shared cores) is scripts/fuzz-smoke.sh, here with GAPLAB_FUZZ=1.
echo "== fuzz targets compile (cargo check of fuzz/)"
cargo check --manifest-path fuzz/Cargo.toml --bins --locked
if [ "${GAPLAB_FUZZ:-0}" = 1 ]; then
  scripts/fuzz-smoke.sh
fi

# The CLI's GPU path (`--device wgpu`, burn's wgpu backend) must build though no GPU is here;
# running it is scripts/gpu-check.sh's, on a machine with one.
echo "== the GPU build compiles (cargo check --features gpu)"
cargo check --features gpu --bin gaplab

scripts/test-web.sh

# The grid's Slurm and GNU parallel paths, run for real (installs slurm-wlm, munge and parallel
# the first time; 83 s in all on a 2-core machine, the install included). GAPLAB_SLURM=0 skips it.
if [ "${GAPLAB_SLURM:-1}" = 1 ]; then
  scripts/cluster-check.sh
fi
echo "all tests passed"
