#!/usr/bin/env bash
# The main job: builds the CLI and compares the FC and GAP heads on the embedded demo data:
# the embedding-bag sentiment net, 40 training reviews poisoned with the trigger sentence at
# the start, attacked at start / middle / end (about 10 s of training on 2 cores). Extra
# arguments replace these and go to `gaplab compare` (e.g. --task sound --arch small).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh rust
. scripts/env.sh
# The dev profile: dependencies at opt-level 3 (Cargo.toml), shared with the tests, so no
# second 20-minute build of burn with LTO is needed for the demo.
cargo build --bin gaplab
if [ "$#" -eq 0 ]; then
  set -- --task text --arch bag --epochs 20 --batch-size 32 --poisoned 40
fi
"$CARGO_TARGET_DIR/debug/gaplab" compare "$@"
