#!/usr/bin/env bash
# The main job: builds the CLI and compares the FC and GAP heads on the embedded demo data
# (poisoned at the start, attacked at start / middle / end). Extra arguments go to
# `gaplab compare` (e.g. --task sound --arch small --epochs 20).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. scripts/env.sh
cargo build --release --bin gaplab
if [ "$#" -eq 0 ]; then
  set -- --task image --epochs 15 --patience 5
fi
"$CARGO_TARGET_DIR/release/gaplab" compare "$@"
