#!/usr/bin/env bash
# run.sh [N[,N2...]] - the scale benchmark (docs/scale.md): the five dev draws' references
# among N synthetic distractors (default 10000,100000; 1000000 on request: about 35 min
# and 6 GB of RAM with one vector per video, 11.5 GB with --segs 4), every first stage's recall and latency, then the end-to-end μAP of
# the ranked lists (vidsim eval on WORK/pred_N_seedS.csv).
#   VS_DRAWS   the dev draws (default /tmp/draws: seedN/{index,qf,dev/gt.csv}, as
#              bench/copydetect_draws.sh builds them)
#   VS_BIN     vidsim (default build/vidsim); bench_scale is taken from its bench/ folder
#   VS_SCALE_WORK  work folder (default /tmp/vidsim-scale): vectors, codes, predictions
#   SCALE_OPTS extra bench_scale options (--first-stages, --segs, --hardness, --e2e, --seeds)
# Output: CSV on stdout (bench_scale's rows), then one row per N: n,uap,map,r1 (the mean
# over the draws). Progress on stderr.
set -euo pipefail
cd "$(dirname "$0")/../.."
NS=${1:-10000,100000}
DRAWS=${VS_DRAWS:-/tmp/draws}
V=${VS_BIN:-build/vidsim}
B=$(dirname "$V")/bench/bench_scale
W=${VS_SCALE_WORK:-/tmp/vidsim-scale}
[ -x "$B" ] || { echo "$0: $B not built (cmake --build BUILD --target bench_scale)" >&2; exit 2; }
[ -d "$DRAWS/seed1/index" ] || { echo "$0: no dev draws in $DRAWS (bench/copydetect_draws.sh builds them)" >&2; exit 2; }
mkdir -p "$W"
# FAISS's OpenMP threads sleep instead of spinning: on a shared machine spinning threads
# slow k-means training by 10x and more
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
# shellcheck disable=SC2086
"$B" --draws "$DRAWS" --n "$NS" --work "$W" ${SCALE_OPTS:-}
echo "n,uap,map,r1"
for n in ${NS//,/ }; do
  sums="0 0 0"; k=0
  for p in "$W"/pred_"$n"_seed*.csv; do
    [ -f "$p" ] || continue
    s=${p##*_seed}; s=${s%.csv}
    row=$("$V" eval --gt "$DRAWS/seed$s/dev/gt.csv" --pred "$p" --format csv |
          awk -F, 'NR==1{for(i=1;i<=NF;i++)c[$i]=i} NR>1&&$c["subset"]=="all"{printf "%.4f,%.4f,%.4f",$c["uAP"],$c["mAP"],$c["R@1"]}')
    [ -n "$row" ] || { echo "$0: no 'all' row from vidsim eval for $p" >&2; exit 1; }
    echo "n=$n seed=$s $row" >&2
    sums=$(echo "$sums $row" | awk '{split($4,r,","); printf "%f %f %f", $1+r[1], $2+r[2], $3+r[3]}')
    k=$((k+1))
  done
  [ $k -gt 0 ] && echo "$sums" | awk -v n="$n" -v k=$k '{printf "%s,%.1f,%.1f,%.1f\n", n, $1/k, $2/k, $3/k}'
done
