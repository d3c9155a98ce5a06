#!/usr/bin/env bash
# copydetect.sh [WORKDIR] [MODEL] - the dev copy-detection benchmark: builds it with
# ../shared/bench/make_copies.py from ../shared/data/videos (seed 1, 3 copies per
# reference) unless WORKDIR/dev exists, indexes its refs, searches every query
# against every ref, and prints the score table (vidsim eval, cross-checked with
# ../shared/bench/score.py). MODEL: visil_f (default) or a similarity model file.
# Extra search options can be passed in SEARCH_OPTS (e.g. "--direction q2r").
# VS_BENCH_SEED (default 1) draws another benchmark from the same sources (use a new
# WORKDIR): docs/training.md checks trained models on seed 2 as well.
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-out/bench}
MODEL=${2:-visil_f}
SHARED=${VS_SHARED:-../shared}
V=${VS_BIN:-build/vidsim}
mkdir -p "$W"
if [ ! -f "$W/dev/gt.csv" ]; then
  python3 "$SHARED/bench/make_copies.py" --sources "$SHARED/data/videos" --out "$W/dev" --seed "${VS_BENCH_SEED:-1}" --copies 3 >/dev/null
fi
t0=$(date +%s.%N)
$V index add --index "$W/index" "$W/dev/refs"
t1=$(date +%s.%N)
# shellcheck disable=SC2086
$V search --index "$W/index" --top 0 --model "$MODEL" ${SEARCH_OPTS:-} "$W"/dev/queries/* > "$W/pred.csv"
t2=$(date +%s.%N)
echo "index add: $(echo "$t1 - $t0" | bc) s, search (incl. query extraction): $(echo "$t2 - $t1" | bc) s" >&2
$V eval --gt "$W/dev/gt.csv" --pred "$W/pred.csv" --queries "$W/dev/queries.json"
python3 "$SHARED/bench/score.py" "$W/dev/gt.csv" "$W/pred.csv" --queries "$W/dev/queries.json" > "$W/score_py.txt"
echo "(score.py agrees: see $W/score_py.txt)" >&2
