#!/usr/bin/env bash
# Writes the lab as a static site: OUT (default site/) holds index.html, www/ (the page's code,
# the demo data, the pretrained models) and pkg/ (the two wasm builds and their glue) — everything a static
# host needs and nothing else (no READMEs, no precompressed copies: hosts compress themselves).
# All paths in the page are relative, so the site works at a domain's root and under a project
# path (GitHub Pages' https://USER.github.io/REPO/). `.github/workflows/pages.yml` publishes it.
#
#   scripts/build-site.sh [--no-build] [OUT]
#
# --no-build copies the pkg/ already built (scripts/build-web.sh) instead of building it.
set -euo pipefail
cd "$(dirname "$0")/.."
build=1
if [ "${1:-}" = --no-build ]; then build=0; shift; fi
out="${1:-site}"
if ((build)); then
  scripts/build-web.sh
fi
modules=(pkg/gaplab.js pkg/gaplab_bg.wasm pkg/gaplab_threads.js pkg/gaplab_threads_bg.wasm pkg/gaplab_webgpu.js pkg/gaplab_webgpu_bg.wasm)
for f in "${modules[@]}"; do
  [ -f "$f" ] || { echo "error: $f is missing: run scripts/build-web.sh (or drop --no-build)" >&2; exit 1; }
done
rm -rf "$out"
mkdir -p "$out/pkg"
cp index.html coi.js "$out/"
# The page's own files as git knows them (a stray local file never ships), READMEs left out.
git ls-files -z www | grep -zv '\.md$' | xargs -0 cp --parents -t "$out"
cp "${modules[@]}" "$out/pkg/"
# The threaded build's worker-pool helper (wasm-bindgen's JS snippets), imported by gaplab_threads.js.
cp -r pkg/snippets "$out/pkg/"
# GitHub Pages runs Jekyll on a published folder unless told not to.
touch "$out/.nojekyll"
printf '%s: %s files, %s\n' "$out" "$(find "$out" -type f | wc -l)" "$(du -sh "$out" | cut -f1)"
