#!/bin/bash
# bench_backbone_ab.sh - int8 InceptionV3 backbone speed of two bench_backbone builds
# (A = baseline, B = candidate), interleaved run by run (A B B0, then B0 B A, ...) so
# that machine load hits them alike; B0 is B with VS_BENCH_FUSE=0 (no fused
# conversions), which separates the fused conversions from the partial-batch primitives.
# Each configuration (batch n in a state for max_batch M, threads) is one process per
# build per round; every run is under /usr/bin/time. Prints each run's line, then per
# configuration and size the median fps and CPU ms/frame (bench_backbone's
# cpu_ms_per_frame: process CPU of the timed forwards) of each build and the ratios
# B/A (fps) and A/B (CPU), from the medians.
#
#   bench/bench_backbone_ab.sh A_BENCH B_BENCH [MODELS_DIR] [ROUNDS] [REPS]
#   e.g. bench/bench_backbone_ab.sh /tmp/base/bench/bench_backbone build/bench/bench_backbone models 3 5
#   CONFIGS="8:8 3:3 3:16 13:16" (n:max_batch), THREADS="1 2", PRECISION=int8 override the grid.
# A must understand VS_BENCH_MAX_BATCH (a bench_backbone.c from 2026-12-05 or later built
# against the baseline library); an older one runs n = max_batch.
set -euo pipefail
A=${1:?usage: bench_backbone_ab.sh A_BENCH B_BENCH [MODELS_DIR] [ROUNDS] [REPS]}
B=${2:?usage: bench_backbone_ab.sh A_BENCH B_BENCH [MODELS_DIR] [ROUNDS] [REPS]}
MODELS=${3:-models}
ROUNDS=${4:-3}
REPS=${5:-5}
CONFIGS=${CONFIGS:-8:8 3:3 3:16 13:16}
THREADS=${THREADS:-1 2}
PRECISION=${PRECISION:-int8}
OUT=${OUT:-$(mktemp -d /tmp/bench_backbone_ab.XXXXXX)}
mkdir -p "$OUT"

run() { # tag bin fuse n maxb threads round
    local log="$OUT/$1-n$4-m$5-t$6-r$7.log"
    VS_BENCH_FUSE=$3 VS_BENCH_MAX_BATCH=$5 VS_BENCH_NO_SGEMM=1 VS_BENCH_ENGINE=onednn \
        VS_BENCH_MODELS=inception_v3 VS_BENCH_THREADS=$6 VS_BENCH_PRECISION=$PRECISION \
        /usr/bin/time -f "time user=%U sys=%S wall=%e" "$2" "$MODELS" "$REPS" "$4" > "$log" 2>&1
    sed "s/^/$1 r$7 /" "$log"
}

echo "A=$A B=$B rounds=$ROUNDS reps=$REPS load=$(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$ROUNDS"); do
    for t in $THREADS; do
        for c in $CONFIGS; do
            n=${c%%:*} m=${c##*:}
            if [ $((r % 2)) -eq 1 ]; then
                run A "$A" 1 "$n" "$m" "$t" "$r"; run B "$B" 1 "$n" "$m" "$t" "$r"; run B0 "$B" 0 "$n" "$m" "$t" "$r"
            else
                run B0 "$B" 0 "$n" "$m" "$t" "$r"; run B "$B" 1 "$n" "$m" "$t" "$r"; run A "$A" 1 "$n" "$m" "$t" "$r"
            fi
        done
    done
done
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
field() { # tag n m t size key -> values over rounds
    cat "$OUT"/"$1"-n"$2"-m"$3"-t"$4"-r*.log | grep "^bench_backbone.* size=$5 " |
        sed -n "s/.* $6=\([0-9.]*\).*/\1/p"
}
for t in $THREADS; do
    for c in $CONFIGS; do
        n=${c%%:*} m=${c##*:}
        for S in 299 224; do
            fa=$(field A "$n" "$m" "$t" $S fps | median); fb=$(field B "$n" "$m" "$t" $S fps | median)
            f0=$(field B0 "$n" "$m" "$t" $S fps | median)
            ca=$(field A "$n" "$m" "$t" $S cpu_ms_per_frame | median); cb=$(field B "$n" "$m" "$t" $S cpu_ms_per_frame | median)
            c0=$(field B0 "$n" "$m" "$t" $S cpu_ms_per_frame | median)
            echo "bench=backbone_ab precision=$PRECISION size=$S threads=$t batch=$n max_batch=$m" \
                 "fps A=$fa B=$fb B0=$f0 B/A=$(awk -v a="$fa" -v b="$fb" 'BEGIN {printf "%.2f", b / a}')" \
                 "B0/A=$(awk -v a="$fa" -v b="$f0" 'BEGIN {printf "%.2f", b / a}')" \
                 "cpu_ms A=$ca B=$cb B0=$c0 A/B=$(awk -v a="$ca" -v b="$cb" 'BEGIN {printf "%.2f", a / b}')" \
                 "A/B0=$(awk -v a="$ca" -v b="$c0" 'BEGIN {printf "%.2f", a / b}')"
        done
    done
done
echo "load=$(cut -d' ' -f1-3 /proc/loadavg) logs: $OUT"
