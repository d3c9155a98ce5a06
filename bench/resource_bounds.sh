#!/usr/bin/env bash
# resource_bounds.sh WORKDIR - peak memory of vidsim on inputs far larger than usual
# (issue 19, docs/reliability.md "Resource bounds"). Each line: what, peak RSS (MB from
# /usr/bin/time -v), wall seconds, exit status. Never run as a test (minutes of CPU).
#   1. extract a one-hour 3840x2160 video (1 frame/s stream: every frame is sampled)
#   2. extract a ten-hour 320x240 video at 1 frame/s (36,000 samples)
#   3. search an index with a 100,000-frame query (synthetic .vsf, bench_synth_features)
#   4. compare two one-hour feature files (3,600 frames each)
# The videos are made once with ffmpeg (testsrc2, x264 ultrafast) and kept in WORKDIR.
# Environment: VS_BIN (default build/vidsim), VS_BENCH_DIR (bench binaries, default
# build/bench), BACKBONE (default inception), STEPS (default "1 2 3 4"),
# INDEX (an index to search in step 3; default: one made from the first video's features).
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:?usage: $0 WORKDIR}
V=${VS_BIN:-build/vidsim}
B=${VS_BENCH_DIR:-$(dirname "$V")/bench}
BACKBONE=${BACKBONE:-inception}
STEPS=${STEPS:-1 2 3 4}
mkdir -p "$W"
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
measure() { # what, command...
  local what=$1; shift
  local log=$W/time.$$.log rc=0
  /usr/bin/time -v "$@" > "$W/out.log" 2> "$log" || rc=$?
  local rss wall
  rss=$(awk -F: '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$log")
  wall=$(awk '/Elapsed \(wall clock\)/ {n=split($NF, a, ":"); s=0; for (i=1;i<=n;i++) s=s*60+a[i]; printf "%.1f", s}' "$log")
  printf '%-44s peak_rss_mb=%-6s wall_s=%-7s rc=%s\n' "$what" "$rss" "$wall" "$rc"
  [ $rc = 0 ] || grep -v '^\s' "$log" | head -3 >&2
}
for s in $STEPS; do
  case $s in
  1)
    [ -f "$W/4k_1h.mp4" ] || ff -f lavfi -i testsrc2=size=3840x2160:rate=1 -t 3600 -c:v libx264 -preset ultrafast -pix_fmt yuv420p "$W/4k_1h.mp4"
    measure "extract 1 h 3840x2160 ($BACKBONE)" "$V" extract --backbone "$BACKBONE" "$W/4k_1h.mp4" -o "$W/feat" ;;
  2)
    [ -f "$W/10h_1fps.mp4" ] || ff -f lavfi -i testsrc2=size=320x240:rate=1 -t 36000 -c:v libx264 -preset ultrafast -pix_fmt yuv420p "$W/10h_1fps.mp4"
    measure "extract 10 h 320x240 at 1 fps ($BACKBONE)" "$V" extract --backbone "$BACKBONE" "$W/10h_1fps.mp4" -o "$W/feat" ;;
  3)
    like=$(ls "$W"/feat/*.vsf 2>/dev/null | head -1)
    [ -n "$like" ] || { echo "step 3 needs a .vsf in $W/feat (run step 1 or 2 first)" >&2; continue; }
    "$B/bench_synth_features" "$W/q100k.vsf" 100000 "$like" 7
    idx=${INDEX:-$W/idx}
    if [ -z "${INDEX:-}" ] && [ ! -d "$idx" ]; then
      mkdir -p "$W/refs"
      for src in testsrc2 mandelbrot smptebars; do
        ff -f lavfi -i "$src=size=320x240:rate=10" -t 60 -c:v libx264 -preset ultrafast -pix_fmt yuv420p "$W/refs/$src.mp4"
      done
      "$V" index add --backbone "$BACKBONE" --index "$idx" "$W/refs" > /dev/null
    fi
    measure "search: 100,000-frame query" "$V" search --index "$idx" --top 3 "$W/q100k.vsf"
    rm -f "$W/q100k.vsf" ;;
  4)
    like=$(ls "$W"/feat/*.vsf 2>/dev/null | head -1)
    [ -n "$like" ] || { echo "step 4 needs a .vsf in $W/feat" >&2; continue; }
    "$B/bench_synth_features" "$W/h1a.vsf" 3600 "$like" 11
    "$B/bench_synth_features" "$W/h1b.vsf" 3600 "$like" 12
    measure "compare two 1 h feature files" "$V" compare "$W/h1a.vsf" "$W/h1b.vsf" ;;
  esac
done
