#!/usr/bin/env bash
# demo.sh [OUTDIR] - the main job on the bundled default: build the demo collection
# (scripts/make_demo_videos.sh), index it, look up the edited copies, list the
# duplicate pairs inside the collection, and score the look-up against the known
# answers.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/demo}
V=build/vidsim
bash scripts/make_demo_videos.sh "$out"
echo "== extracting region features (InceptionV3, 1 fps)" >&2
$V extract "$out/refs" "$out/queries" -o "$out/features"
