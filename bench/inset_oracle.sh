#!/usr/bin/env bash
# inset_oracle.sh WORKDIR - how far the picture-in-picture detector is from the truth, and
# what a perfect one would give, on the draws of bench/copydetect_draws.sh (run that first:
# it builds WORKDIR/seedN with dev/, index/ and qf/). For every seed in VS_BENCH_SEEDS
# (default "1 2 3 4 5"):
#   1. bench/inset_truth.py replays the draw and writes seedN/inset_truth.csv, the true
#      rectangle and span of every video_in_video and donor_overlay query (kept between
#      runs: delete it to replay again);
#   2. bench_inset detect runs the shipped detector on every query video:
#      seedN/inset_detect.csv, and one line per kind (right / wrong / none);
#   3. bench_inset oracle writes the video_in_video queries' feature files with the true
#      rectangle as their inset view (seedN/qf_oracle: the draw's qf/ with those replaced),
#      and the default search of qf_oracle against the index is scored with vidsim eval
#      beside the default search of qf/ itself.
# Output: CSV on stdout, header seed,run,subset,uap,map,r1 (run shipped or oracle; subset
# all and video_in_video), then seed=mean rows. Progress and the detector's summary lines
# go to stderr. About 3 min a draw on 2 cores (the replay probes every source once).
# VS_BIN (build/vidsim), VS_BENCH_INSET (build/bench/bench_inset), VS_SHARED (../shared),
# PYTHON (/usr/bin/python3: needs numpy). The models: VIDSIM_MODELS or ./models; a draw
# extracted with another whitening file needs VS_BENCH_PCA set to it.
# docs/hard_copies.md "How far the inset detector is from the truth" has the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 1 ] || { echo "usage: $0 WORKDIR" >&2; exit 2; }
W=$1
V=${VS_BIN:-build/vidsim}
B=${VS_BENCH_INSET:-build/bench/bench_inset}
PY=${PYTHON:-/usr/bin/python3}
SEEDS=${VS_BENCH_SEEDS:-1 2 3 4 5}
export VS_SHARED=${VS_SHARED:-../shared}
export VS_BENCH_MODELS=${VIDSIM_MODELS:-models}
for x in "$V" "$B"; do [ -x "$x" ] || { echo "$0: $x: not built" >&2; exit 2; }; done
echo "seed,run,subset,uap,map,r1"
rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
for s in $SEEDS; do
  d=$W/seed$s
  [ -f "$d/ready" ] || { echo "$0: $d: not a built draw (run bench/copydetect_draws.sh $W visil_f first)" >&2; exit 2; }
  echo "draw $s: true insets" >&2
  [ -f "$d/inset_truth.csv" ] || "$PY" bench/inset_truth.py --draw "$d/dev" --seed "$s" -o "$d/inset_truth.csv" 2>>"$d/inset_truth.log"
  echo "draw $s: the detector against them" >&2
  "$B" detect "$d/inset_truth.csv" "$d"/dev/queries/* > "$d/inset_detect.csv" 2> "$d/inset_detect.log" || { cat "$d/inset_detect.log" >&2; exit 1; }
  sed "s/^/draw $s: /" "$d/inset_detect.log" >&2
  echo "draw $s: the true video_in_video insets as inset views" >&2
  rm -rf "$d/qf_oracle.tmp" && cp -r "$d/qf" "$d/qf_oracle.tmp"
  "$B" oracle "$d/inset_truth.csv" video_in_video "$d/qf_oracle.tmp" "$d"/dev/queries/* 2>>"$d/inset_detect.log" ||
    { tail -n 3 "$d/inset_detect.log" >&2; exit 1; }
  rm -rf "$d/qf_oracle" && mv "$d/qf_oracle.tmp" "$d/qf_oracle"
  for run in shipped oracle; do
    q=$d/qf; [ $run = oracle ] && q=$d/qf_oracle
    $V search --index "$d/index" --top 0 "$q"/*.vsf > "$d/pred_inset_$run.csv" 2>/dev/null
    $V eval --gt "$d/dev/gt.csv" --pred "$d/pred_inset_$run.csv" --queries "$d/dev/queries.json" --format csv |
      awk -F, -v s="$s" -v r="$run" 'NR==1{for(i=1;i<=NF;i++)c[$i]=i}
        NR>1&&($c["subset"]=="all"||$c["subset"]=="video_in_video"){printf "%s,%s,%s,%.4f,%.4f,%.4f\n", s, r, $c["subset"], $c["uAP"], $c["mAP"], $c["R@1"]}' |
      tee -a "$rows" | awk -F, '{printf "%s,%s,%s,%.1f,%.1f,%.1f\n", $1, $2, $3, $4, $5, $6}'
  done
done
awk -F, '{k=$2","$3; u[k]+=$4; m[k]+=$5; r[k]+=$6; n[k]++} END{for(k in n) printf "mean,%s,%.1f,%.1f,%.1f\n", k, u[k]/n[k], m[k]/n[k], r[k]/n[k]}' "$rows" | sort
