#!/usr/bin/env bash
# Builds the cargo fuzz targets (fuzz/, libFuzzer with AddressSanitizer, nightly) and runs each
# for SECONDS (default 30) on a copy of its seeds (fuzz/seeds/<target>/; the copy grows, the
# seeds stay as committed). Fails on the first crash, leaving the input in
# fuzz/artifacts/<target>/ (fuzz/README.md: minimise it, add it to tests/fixtures/fuzz/).
# Installs cargo-fuzz and the nightly toolchain if missing. Not part of CI's default run (a
# cold sanitizer build of burn took 38 minutes on 2 shared cores, plus 14 to install cargo-fuzz): `GAPLAB_FUZZ=1
# scripts/test.sh` adds it; CI itself only compiles the targets (`cargo check`).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
seconds=${SECONDS_PER_TARGET:-30}
# Its own target dir (installing cargo-fuzz too): sanitizer builds share nothing with the
# normal ones, and the normal target dir stays free for a build running beside this.
export CARGO_TARGET_DIR="${GAPLAB_FUZZ_TARGET_DIR:-$HOME/.cache/gaplab/target-fuzz}"
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null 2>&1 || cargo +nightly install cargo-fuzz --locked
cd fuzz
cargo +nightly fuzz build
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
for target in wav archive cifar imdb model; do
  mkdir -p "$corpus/$target"
  cp seeds/"$target"/* "$corpus/$target/"
  echo "== fuzz $target for ${seconds} s"
  log="$corpus/$target.log"
  if ! cargo +nightly fuzz run "$target" "$corpus/$target" -- -max_total_time="$seconds" -rss_limit_mb=4096 >"$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz $target: crashed (the input is in fuzz/artifacts/$target/)" >&2
    exit 1
  fi
  grep -E "^Done [0-9]+ runs" "$log" | tail -1
done
echo "fuzz smoke: every target ran ${seconds} s without a crash"
