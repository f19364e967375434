#!/usr/bin/env bash
# Builds the page's wasm: `wasm-pack build --target web --profile web` into pkg/ (Cargo.toml's
# `web` profile: size-optimised, fat LTO, the Flex arithmetic crates still at opt-level 3), then
# binaryen's wasm-opt -Oz (from npm), then a Brotli copy (pkg/gaplab_bg.wasm.br) that
# scripts/serve.mjs sends to browsers that accept it. Prints the sizes a static host would send.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
CARGO_TARGET_DIR="$GAPLAB_WASM_TARGET_DIR" wasm-pack build --target web --profile web --no-typescript --no-pack
wasm=pkg/gaplab_bg.wasm
# wasm-opt -Oz takes ~7 minutes on this module (2 cores) and Brotli at quality 11 about one;
# both outputs are cached by the hash of wasm-pack's output, so an unchanged build (CI reruns,
# serve after test) reuses them.
cache="${GAPLAB_CACHE:-$HOME/.cache/gaplab}/wasm-opt"
mkdir -p "$cache"
optimized="$cache/$(sha256sum "$wasm" | cut -c1-32)-Oz.wasm"
if [ ! -f "$optimized" ]; then
  node_modules/.bin/wasm-opt -Oz --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$wasm" -o "$optimized.tmp"
  mv "$optimized.tmp" "$optimized"
fi
if [ ! -f "$optimized.br" ]; then
  node -e '
    const zlib = require("zlib"), fs = require("fs");
    const raw = fs.readFileSync(process.argv[1]);
    const p = zlib.constants;
    fs.writeFileSync(process.argv[2], zlib.brotliCompressSync(raw, { params: {
      [p.BROTLI_PARAM_QUALITY]: 11, [p.BROTLI_PARAM_LGWIN]: 24, [p.BROTLI_PARAM_SIZE_HINT]: raw.length } }));
  ' "$optimized" "$optimized.br.tmp"
  mv "$optimized.br.tmp" "$optimized.br"
fi
cp "$optimized" "$wasm"
cp "$optimized.br" "$wasm.br"
printf 'pkg/gaplab_bg.wasm: %s bytes, %s bytes gzipped (-9), %s bytes Brotli (as served)\n' \
  "$(stat -c %s "$wasm")" "$(gzip -9c "$wasm" | wc -c)" "$(stat -c %s "$wasm.br")"
