#!/usr/bin/env bash
# The main job: installs what is missing, builds the page's wasm (pkg/) and serves the lab at
# http://localhost:8080/ (PORT=… to change). The files are a plain static site: any static host
# that sends .wasm as application/wasm serves the same lab.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build-web.sh
exec node scripts/serve.mjs "${PORT:-8080}"
