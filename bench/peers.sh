#!/usr/bin/env bash
# Side-by-side native benchmarks (issue 7), printed as ours / peer / ratio, all measured in
# this one run on this machine:
#   - training (batch 256 and 32) and inference (same batch) samples/s of every network, FC
#     and GAP: burn Flex (`cargo bench --bench throughput`, release profile) against Keras 3
#     on TensorFlow-CPU with identical architectures (parameter counts asserted) and optimisers;
#   - MFCC of one 1-s clip on one core: ours (`cargo bench --bench mfcc`) against librosa.
# The Python peers live in their own virtual environment (installed here from PyPI, once).
#   - ours with the lab's kernels (src/kernels) against ours with burn's own ops
#     (GAPLAB_KERNELS=stock), the same binary one after the other.
# `bench/peers.sh [--models small-fc,strip-gap,...] [--batches 256,32] [--steps N] [--out DIR]
#  [--no-python]` (--no-python: ours only, kernels against burn's ops, no Keras or librosa)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
models=""; batches="256,32"; steps=4; out="target/peers"; python=1
while [ $# -gt 0 ]; do
  case "$1" in
    --models) models="$2"; shift 2 ;;
    --batches) batches="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --no-python) python=0; shift ;;
    *) echo "peers.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
venv="${GAPLAB_CACHE:-$HOME/.cache/gaplab}/peers-venv"
if [ "$python" = 1 ] && ! "$venv/bin/python" -c 'import keras, tensorflow, librosa' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q tensorflow-cpu==2.21.0 keras==3.15.1 librosa==0.11.0
fi
# Release build of the benches in their own folder (a dev build in the shared one is not
# what a user runs; keeping them apart avoids rebuilding either).
export CARGO_TARGET_DIR="${GAPLAB_RELEASE_TARGET_DIR:-${GAPLAB_CACHE:-$HOME/.cache/gaplab}/target-release}"
cargo bench --bench throughput --bench mfcc --no-run >&2
model_args=(); [ -n "$models" ] && model_args=(--models "$models")
echo "== ours: burn Flex (release) ==" >&2
cargo bench --bench throughput -- "${model_args[@]}" --batches "$batches" --steps "$steps" --json | tee "$out/ours.jsonl" >&2
echo "== ours with burn's own ops (GAPLAB_KERNELS=stock) ==" >&2
GAPLAB_KERNELS=stock cargo bench --bench throughput -- "${model_args[@]}" --batches "$batches" --steps "$steps" --json | tee "$out/ours-stock.jsonl" >&2
if [ "$python" = 0 ]; then
  rm -f "$out/keras.jsonl" "$out/librosa.jsonl" "$out/mfcc-ours.txt"
  python3 bench/compare.py "$out"
  exit 0
fi
echo "== peer: Keras on TensorFlow-CPU ==" >&2
TF_CPP_MIN_LOG_LEVEL=2 "$venv/bin/python" bench/keras_peer.py "${model_args[@]}" --batches "$batches" --steps "$steps" --json | tee "$out/keras.jsonl" >&2
echo "== MFCC: ours (one core) and librosa (one thread) ==" >&2
RAYON_NUM_THREADS=1 cargo bench --bench mfcc -- --noplot mfcc_one_clip_reused_plan 2>&1 | tee "$out/mfcc-ours.txt" >&2
"$venv/bin/python" bench/librosa_peer.py --json | tee "$out/librosa.jsonl" >&2
python3 bench/compare.py "$out"
