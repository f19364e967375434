#!/usr/bin/env bash
# Installs, idempotently, what building, serving and testing gaplab needs on a fresh Debian
# machine: the pinned Rust toolchain and its wasm target (rust-toolchain.toml), wasm-bindgen-cli
# at the version Cargo.lock pins, wasm-pack, Chromium and ChromeDriver (browser tests), and the
# npm packages (binaryen's wasm-opt, playwright-core). `setup.sh rust` stops after the toolchain;
# `setup.sh site` installs what building the page needs, without the browser (the Pages workflow).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
if [ "${1:-all}" = all ]; then
  command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
fi
if [ "${1:-all}" != rust ]; then
  command -v npm >/dev/null 2>&1 || need_apt+=(nodejs npm)
fi
if ((${#need_apt[@]})); then
  echo "== apt-get install ${need_apt[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

# rustup reads rust-toolchain.toml; make sure the toolchain and the wasm target are there.
toolchain=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
rustup toolchain list | grep -q "^$toolchain" || rustup toolchain install "$toolchain" --profile minimal
rustup target list --installed --toolchain "$toolchain" | grep -q wasm32-unknown-unknown \
  || rustup target add wasm32-unknown-unknown --toolchain "$toolchain"
# The page's threaded wasm (scripts/build-web.sh) rebuilds std with atomics: the nightly
# toolchain with its std sources.
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
rustup component list --installed --toolchain nightly | grep -q '^rust-src' \
  || rustup component add rust-src --toolchain nightly
[ "${1:-all}" = rust ] && exit 0

# wasm-bindgen-cli must match the wasm-bindgen crate exactly (the glue format changes).
bindgen=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$bindgen" ]; then
  echo "== cargo install wasm-bindgen-cli $bindgen"
  cargo install wasm-bindgen-cli --version "$bindgen" --force
fi
command -v wasm-pack >/dev/null 2>&1 || { echo "== cargo install wasm-pack"; cargo install wasm-pack; }

# The browser tests run on Node 18 to 22 (tests/e2e/run.mjs runs each file with `node --test`).
node_major=$(node -p 'process.versions.node.split(".")[0]')
if ((node_major < 18)); then
  echo "error: Node $(node --version) is too old: the end-to-end tests need Node 18 to 22" >&2
  exit 1
fi

# npm packages, exactly as package-lock.json pins them; only when the lock changed.
if ! cmp -s package-lock.json node_modules/.package-lock.json 2>/dev/null; then
  echo "== npm ci"
  npm ci --no-audit --no-fund
fi
