#!/usr/bin/env bash
# Builds the page's wasm: `wasm-pack build --target web --release` into pkg/, then binaryen's
# wasm-opt (from npm) over it, and prints the size a static host would send (gzip -9).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
CARGO_TARGET_DIR="$GAPLAB_WASM_TARGET_DIR" wasm-pack build --target web --release --no-typescript --no-pack
wasm=pkg/gaplab_bg.wasm
# wasm-opt -O3 took ~10 minutes on this 20 MB module (2 cores), -O1 is quicker; its output is cached by the hash of
# its input, so an unchanged build (CI reruns, serve after test) reuses it.
cache="${GAPLAB_CACHE:-$HOME/.cache/gaplab}/wasm-opt"
mkdir -p "$cache"
optimized="$cache/$(sha256sum "$wasm" | cut -c1-32).wasm"
if [ ! -f "$optimized" ]; then
  node_modules/.bin/wasm-opt -O1 --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$wasm" -o "$optimized.tmp"
  mv "$optimized.tmp" "$optimized"
fi
cp "$optimized" "$wasm"
printf 'pkg/gaplab_bg.wasm: %s bytes, %s bytes gzipped\n' "$(stat -c %s "$wasm")" "$(gzip -9c "$wasm" | wc -c)"
