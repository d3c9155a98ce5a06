#!/usr/bin/env bash
# copydetect_draws.sh WORKDIR MODEL... - the dev copy-detection benchmark over several
# draws, so that a model is judged on more than one 108-query sample. For every seed in
# VS_BENCH_SEEDS (default "1 2 3 4 5") it builds WORKDIR/seedN once (make_copies.py from
# ../shared/data/videos with that seed, 3 copies per reference; the refs indexed; the
# queries' features extracted), then searches every query against every ref with each
# MODEL (visil_f or a similarity model file; symmetric search unless SEARCH_OPTS says
# otherwise) and scores it with vidsim eval.
#
# The queries' feature files are extracted with their mirror and inset views (`extract
# --mirror-view on --inset-view on`: docs/search.md "The mirror view", "The inset view"),
# so that searching them gives what searching the videos gives, byte for byte; a draw
# built before that (its qf/*.vsf without the blocks: version 1, or 3 with the mirror
# block only) is searched with fewer views, the figures of earlier sessions: delete
# WORKDIR/seedN/ready to rebuild it. VS_BENCH_QUERIES=video searches the query videos
# themselves (the search extracts them, with the mirror and inset views that video queries
# get by default: docs/hard_copies.md) instead of their feature files.
# Output: CSV on stdout, header model,seed,uap,map,r1 (percent), one row per model and
# seed, then one row per model with seed=mean. Progress goes to stderr.
# A single draw moves by several points between seeds (ViSiL_f: 86.5, 82.8, 83.9 μAP
# on seeds 1-3, docs/training.md), so compare models on the mean and on every draw.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: $0 WORKDIR MODEL..." >&2; exit 2; }
W=$1; shift
SHARED=${VS_SHARED:-../shared}
V=${VS_BIN:-build/vidsim}
SEEDS=${VS_BENCH_SEEDS:-1 2 3 4 5}
for m in "$@"; do
  [ "$m" = visil_f ] || [ -f "$m" ] || { echo "$0: $m: no such model file" >&2; exit 2; }
done
mkdir -p "$W"
for s in $SEEDS; do
  d=$W/seed$s
  if [ ! -f "$d/ready" ]; then
    echo "building draw $s in $d" >&2
    rm -rf "$d" && mkdir -p "$d"
    python3 "$SHARED/bench/make_copies.py" --sources "$SHARED/data/videos" --out "$d/dev" \
      --seed "$s" --copies 3 > "$d/make.log" 2>&1
    $V index add --index "$d/index" "$d/dev/refs" > "$d/add.log" 2>&1
    $V extract "$d/dev/queries" -o "$d/qf" --mirror-view on --inset-view on > "$d/extract.log" 2>&1
    touch "$d/ready"
  fi
done
echo "model,seed,uap,map,r1"
for m in "$@"; do
  tag=$(basename "$m")
  sums="0 0 0"; n=0
  for s in $SEEDS; do
    d=$W/seed$s
    echo "searching draw $s with $m" >&2
    # shellcheck disable=SC2086
    if [ "${VS_BENCH_QUERIES:-features}" = video ]; then
      $V search --index "$d/index" --top 0 --model "$m" ${SEARCH_OPTS:-} "$d"/dev/queries/* > "$d/pred_$tag.csv"
    else
      $V search --index "$d/index" --top 0 --model "$m" ${SEARCH_OPTS:-} "$d"/qf/*.vsf > "$d/pred_$tag.csv"
    fi
    row=$($V eval --gt "$d/dev/gt.csv" --pred "$d/pred_$tag.csv" --format csv |
          awk -F, 'NR==1{for(i=1;i<=NF;i++)c[$i]=i} NR>1&&$c["subset"]=="all"{printf "%.4f,%.4f,%.4f",$c["uAP"],$c["mAP"],$c["R@1"]}')
    [ -n "$row" ] || { echo "$0: no 'all' row from vidsim eval for $m on draw $s" >&2; exit 1; }
    echo "$row" | awk -F, -v m="$m" -v s="$s" '{printf "%s,%s,%.1f,%.1f,%.1f\n", m, s, $1, $2, $3}'
    sums=$(echo "$sums $row" | awk '{split($4,r,","); printf "%f %f %f", $1+r[1], $2+r[2], $3+r[3]}')
    n=$((n+1))
  done
  echo "$sums" | awk -v m="$m" -v n=$n '{printf "%s,mean,%.1f,%.1f,%.1f\n", m, $1/n, $2/n, $3/n}'
done
