#!/bin/bash
# extract_ab.sh - `vidsim extract` throughput of two builds (A = baseline, B = candidate),
# interleaved run by run (A B, then B A, ...) on the same videos so that machine load
# hits both alike: for each backbone and -j, the real-time factor (seconds of video per
# wall second) of every run, then the median of each build and the ratio B/A of the
# medians. The per-stage breakdown of each run is B's and A's `--timing` (kept in
# $OUT/*.log). Videos are read in place (never copied); outputs go to $OUT (a temporary
# folder by default), features extracted again each run (--force). Every run is under
# /usr/bin/time: the CPU seconds (user+sys) of each run and the ratio A/B of the medians
# are printed too (steadier than wall time on a loaded machine), and the frames each build
# decoded (from its first run's --timing line: a decoder change shows there first).
#
#   bench/extract_ab.sh A_VIDSIM B_VIDSIM [DIR] [REPS]
#   e.g. bench/extract_ab.sh /tmp/vidsim-before build/vidsim ../shared/data/videos 3
#   BACKBONES="inception mobilenet" JOBS="1 2" override the grid.
set -euo pipefail
A=${1:?usage: extract_ab.sh A_VIDSIM B_VIDSIM [DIR] [REPS]}
B=${2:?usage: extract_ab.sh A_VIDSIM B_VIDSIM [DIR] [REPS]}
DIR=${3:-${VS_SHARED:-../shared}/data/videos}
REPS=${4:-3}
BACKBONES=${BACKBONES:-inception mobilenet}
JOBS=${JOBS:-1 2}
OUT=${OUT:-$(mktemp -d /tmp/extract_ab.XXXXXX)}
mkdir -p "$OUT"

# one run: prints the real-time factor; its --timing goes to a log
run() { # bin tag bb j rep
    local log="$OUT/$2-$3-j$4-r$5.log"
    /usr/bin/time -f "cpu_s %U %S" -o "$log.time" \
        "$1" extract "$DIR" -o "$OUT/feat-$2" --force --backbone "$3" -j "$4" --timing > "$log" 2>&1
    sed -n 's/^timing.*: \([0-9.]*\)x real time$/\1/p' "$log"
}
cpu() { awk '/^cpu_s/ {printf "%.2f\n", $2 + $3}' "$OUT/$1-$2-j$3-r$4.log.time"; } # tag bb j rep
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

echo "A=$A B=$B dir=$DIR reps=$REPS load=$(cut -d' ' -f1-3 /proc/loadavg)"
for bb in $BACKBONES; do
    for j in $JOBS; do
        ra=() rb=()
        for rep in $(seq 1 "$REPS"); do
            if [ $((rep % 2)) -eq 1 ]; then ra+=("$(run "$A" A "$bb" "$j" "$rep")"); rb+=("$(run "$B" B "$bb" "$j" "$rep")")
            else rb+=("$(run "$B" B "$bb" "$j" "$rep")"); ra+=("$(run "$A" A "$bb" "$j" "$rep")"); fi
        done
        ma=$(printf '%s\n' "${ra[@]}" | median)
        mb=$(printf '%s\n' "${rb[@]}" | median)
        ca=() cb=()
        for rep in $(seq 1 "$REPS"); do ca+=("$(cpu A "$bb" "$j" "$rep")"); cb+=("$(cpu B "$bb" "$j" "$rep")"); done
        mca=$(printf '%s\n' "${ca[@]}" | median)
        mcb=$(printf '%s\n' "${cb[@]}" | median)
        da=$(sed -n 's/.*frames (\([0-9]*\) decoded).*/\1/p' "$OUT/A-$bb-j$j-r1.log")
        db=$(sed -n 's/.*frames (\([0-9]*\) decoded).*/\1/p' "$OUT/B-$bb-j$j-r1.log")
        echo "bench=extract_ab backbone=$bb j=$j A_x_realtime=[${ra[*]}] B_x_realtime=[${rb[*]}]" \
             "A_median=$ma B_median=$mb B_vs_A=$(awk -v a="$ma" -v b="$mb" 'BEGIN {printf "%.2f", b / a}')" \
             "A_cpu_s=[${ca[*]}] B_cpu_s=[${cb[*]}] cpu_A_vs_B=$(awk -v a="$mca" -v b="$mcb" 'BEGIN {printf "%.2f", a / b}')" \
             "A_decoded=${da:-?} B_decoded=${db:-?}" \
             "load=$(cut -d' ' -f1 /proc/loadavg)"
    done
done
echo "logs: $OUT"
