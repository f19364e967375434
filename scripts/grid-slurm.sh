#!/usr/bin/env bash
# Runs the experiment grid on a Slurm cluster as a job array: plan here, one array task per
# grid job, and a merge that waits for the whole array. All arguments go to `gaplab grid`
# (they must include --out DIR on a file system the nodes share).
#
#   scripts/grid-slurm.sh --task sound,text,image --runs 10 --sound-data /data/speech_commands_v0.02.tar.gz \
#       --text-data /data/aclImdb_v1.tar.gz --image-data /data/cifar-10-binary.tar.gz --out /shared/gaplab-grid
#
# Set SBATCH_ARGS for partition/account/time (e.g. "--partition=cpu --time=04:00:00 --cpus-per-task=4").
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
cargo build --bin gaplab  # dev profile: dependencies at opt-level 3, shared with the tests
bin="$(pwd)/$(realpath --relative-to=. "$CARGO_TARGET_DIR")/debug/gaplab"
out=$(printf '%s\n' "$@" | awk 'prev=="--out"{print; exit} {prev=$0}')
[ -n "$out" ] || { echo "pass --out DIR" >&2; exit 1; }
"$bin" grid "$@" --plan
n=$(grep -c . "$out/plan.jsonl")
array=$(sbatch --parsable ${SBATCH_ARGS:-} --array=0-$((n - 1)) --job-name=gaplab-grid \
  --output="$out/slurm-%A_%a.log" --wrap="\"$bin\" grid --out \"$out\" --job \$SLURM_ARRAY_TASK_ID --quiet")
sbatch ${SBATCH_ARGS:-} --dependency=afterany:"$array" --job-name=gaplab-merge \
  --output="$out/slurm-merge.log" --wrap="\"$bin\" grid --out \"$out\" --merge"
echo "submitted array $array ($n jobs); results will be merged into $out"
