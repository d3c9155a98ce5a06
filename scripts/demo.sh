#!/usr/bin/env bash
# demo.sh [OUTDIR] - the main job on the bundled default: build the demo collection
# (scripts/make_demo_videos.sh), index it into a local index directory, look up the
# edited copies and say where each copy is (copied segments), list the duplicate
# pairs inside the collection, score the look-up against the known answers, and draw
# where one copy matches its source.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/demo}
V=${VS_BIN:-build/vidsim}
bash scripts/make_demo_videos.sh "$out"
echo "== indexing $out/refs into $out/index (InceptionV3 region features, 1 fps; int8 backbone on a VNNI/AMX CPU)" >&2
$V index add --index "$out/index" "$out/refs"
echo "== searching the collection for each query (top 3; CSV: query_id,ref_id,score)" >&2
$V search --index "$out/index" --top 3 "$out"/queries/*.mp4 | tee "$out/search.csv"
echo "== where each copy is: the best match's copied segments (seconds, CSV: query_id,ref_id,query_start,query_end,ref_start,ref_end,score)" >&2
$V search --index "$out/index" --top 1 --segments "$out"/queries/*.mp4 | tee "$out/segments.csv"
echo "== duplicate pairs inside the collection (normalised score >= p90, exact duplicates marked)" >&2
$V dedup --index "$out/index" | tee "$out/dedup.csv"
echo "== scoring the look-up against the known copies" >&2
$V search --index "$out/index" --top 0 "$out"/queries/*.mp4 > "$out/search_all.csv"
$V eval --gt "$out/gt.csv" --pred "$out/search_all.csv"
$V compare "$out/queries/copy_crop.mp4" "$out/refs/hug_movie.mp4" --png "$out/copy_crop_vs_source"
echo "== done: index in $out/index, results in $out/*.csv, heatmaps $out/copy_crop_vs_source_*.png" >&2
