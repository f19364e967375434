#!/usr/bin/env bash
# Issue 6's benchmark: the wall time of one grid cell (one model trained and evaluated) per
# architecture on this machine, native Flex, release build, real data. For each architecture
# it runs a one-run grid of the GAP head — a clean model and one poisoned at the start, EPOCHS
# epochs each (default 1) at the paper's batch size — and reports the wall time per model
# (data loading and feature extraction included, as a grid job pays them) and the training
# seconds per epoch from results.csv. `scripts/time-cells.sh [OUT] [EPOCHS] [ARCHS]`
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
out="${1:-target/time-cells}"
epochs="${2:-1}"
archs="${3:-bag conv1d kim small strip large}"
data=../shared/datasets
export CARGO_TARGET_DIR="${GAPLAB_RELEASE_TARGET_DIR:-${GAPLAB_CACHE:-$HOME/.cache/gaplab}/target-release}"
cargo build --release --bin gaplab >&2
gaplab="$CARGO_TARGET_DIR/release/gaplab"
mkdir -p "$out"
echo "| arch | models | wall s per model | training s per epoch (clean, start) | clean acc after $epochs epoch(s) |"
echo "|---|---|---|---|---|"
for arch in $archs; do
  case "$arch" in
    bag|conv1d|kim) task=text; file="$data/aclImdb_labelled.tar.gz" ;;
    small|large) task=sound; file="$data/speech_commands_10w.tar.gz" ;;
    strip) task=image; file="$data/cifar-10-binary-subset.tar.gz" ;;
    *) echo "unknown architecture $arch" >&2; exit 2 ;;
  esac
  rm -rf "$out/$arch"
  start=$(date +%s.%N)
  "$gaplab" grid --quiet --task "$task" --arch "$arch" --heads gap --positions start --runs 1 --epochs "$epochs" \
    --data "$file" --out "$out/$arch" >&2
  wall=$(python3 -c "print($(date +%s.%N) - $start)")
  python3 - "$out/$arch/results.csv" "$arch" "$wall" "$epochs" <<'PY'
import csv, sys
path, arch, wall, epochs = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
models = {}
for r in csv.DictReader(open(path)):
    models.setdefault(r["train_position"], r)
per_epoch = ", ".join(f'{float(r["train_seconds"]) / int(r["epochs"]):.1f}' for r in models.values())
acc = ", ".join(f'{float(r["clean_accuracy"]):.3f}' for r in models.values())
print(f"| {arch} | {len(models)} | {wall / len(models):.1f} | {per_epoch} | {acc} |")
PY
done
