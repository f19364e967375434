#!/usr/bin/env bash
# Builds the page's wasm, three times (`wasm-pack build --target web --profile web` into pkg/):
#   pkg/gaplab.js         + gaplab_bg.wasm          Flex only, one thread: where the page is not
#                                                   cross-origin isolated (a plain static host);
#   pkg/gaplab_threads.js + gaplab_threads_bg.wasm  Flex only, threaded: what the page opens with
#                                                   when it is isolated (COOP/COEP) — atomics,
#                                                   shared memory, rayon over web workers;
#   pkg/gaplab_webgpu.js  + gaplab_webgpu_bg.wasm   WebGPU and no Flex (`--no-default-features
#                                                   --features webgpu`): fetched only when WebGPU
#                                                   is picked and the browser has an adapter; the
#                                                   page goes back to a Flex build for the CPU.
# The threaded build needs what stable Rust cannot give: std rebuilt with atomics
# (`-Z build-std`), so it uses the machine's nightly toolchain with rust-src (scripts/setup.sh).
# Cargo.toml's `web` profile: size-optimised, fat LTO, the Flex arithmetic crates still at
# opt-level 3. Then binaryen's wasm-opt -Oz (from npm) and a Brotli copy (….wasm.br) that
# scripts/serve.mjs sends to browsers that accept it. Prints the sizes a static host would send.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
# wasm-opt -Oz takes ~7 minutes on the WebGPU module (2 cores) and Brotli at quality 11 about
# one; both outputs are cached by the hash of wasm-pack's output, so an unchanged build (CI
# reruns, serve after test) reuses them.
cache="${GAPLAB_CACHE:-$HOME/.cache/gaplab}/wasm-opt"
mkdir -p "$cache"

build() { # NAME TARGET-DIR [CARGO ARGS…]
  local name=$1 target=$2
  shift 2
  CARGO_TARGET_DIR="$target" wasm-pack build --target web --profile web --no-typescript --no-pack \
    --out-name "$name" -- "$@"
  local wasm="pkg/${name}_bg.wasm"
  local optimized
  optimized="$cache/$(sha256sum "$wasm" | cut -c1-32)-Oz.wasm"
  if [ ! -f "$optimized" ]; then
    node_modules/.bin/wasm-opt -Oz --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int \
      --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue --enable-threads \
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
}

build gaplab "$GAPLAB_WASM_TARGET_DIR"
# The threaded build: the machine's nightly (RUSTUP_TOOLCHAIN overrides rust-toolchain.toml)
# rebuilding std with atomics; the shared-memory link arguments come from build.rs. RUSTFLAGS
# replaces .cargo/config.toml's wasm flags, so simd128 is named again. Its own target folder:
# another toolchain and std.
RUSTUP_TOOLCHAIN=nightly RUSTFLAGS='-C target-feature=+simd128,+atomics,+bulk-memory,+mutable-globals' \
  build gaplab_threads "$GAPLAB_WASM_THREADS_TARGET_DIR" --features threads -Z build-std=panic_abort,std
build gaplab_webgpu "$GAPLAB_WASM_TARGET_DIR" --no-default-features --features webgpu
for wasm in pkg/gaplab_bg.wasm pkg/gaplab_threads_bg.wasm pkg/gaplab_webgpu_bg.wasm; do
  printf '%s: %s bytes, %s bytes gzipped (-9), %s bytes Brotli (as served)\n' \
    "$wasm" "$(stat -c %s "$wasm")" "$(gzip -9c "$wasm" | wc -c)" "$(stat -c %s "$wasm.br")"
done
