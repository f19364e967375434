#!/usr/bin/env bash
# Runs the experiment grid on one machine with GNU parallel: plan, every job in parallel,
# merge. All arguments go to `gaplab grid` (they must include --out DIR).
#
#   scripts/grid-parallel.sh --task sound --arch large --runs 10 --sound-data ../shared/datasets/speech_commands_10w.tar.gz --out results/sound
#
# JOBS sets how many jobs run at once (default: the number of cores); each job is a whole
# training run, so memory, not only cores, limits it for the large sound CNN.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
command -v parallel >/dev/null || { echo "GNU parallel is missing: apt-get install parallel" >&2; exit 1; }
cargo build --bin gaplab  # dev profile: dependencies at opt-level 3, shared with the tests
bin="$CARGO_TARGET_DIR/debug/gaplab"
out=$(printf '%s\n' "$@" | awk 'prev=="--out"{print; exit} {prev=$0}')
[ -n "$out" ] || { echo "pass --out DIR" >&2; exit 1; }
"$bin" grid "$@" --plan
n=$(grep -c . "$out/plan.jsonl")
# A progress bar only where someone watches (a terminal); logs get one line per job.
bar=()
[ -t 2 ] && bar=(--bar)
seq 0 $((n - 1)) | parallel "${bar[@]}" -j "${JOBS:-$(nproc)}" "$bin" grid --out "$out" --job {} --quiet
"$bin" grid --out "$out" --merge
