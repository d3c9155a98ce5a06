#!/usr/bin/env bash
# make_corpus.sh - regenerate the seed corpora in tests/fuzz/corpus/<target>/ with
# the project's own writers (tests/fuzz/make_corpus.c), in a CMake build folder
# (default /tmp/vs-fuzz-corpus-build; give another as $1). Past findings kept
# under corpus/<target>/crash-* are left alone. Deterministic: rerunning gives the
# same bytes, so the committed files only change when a writer's format changes.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-/tmp/vs-fuzz-corpus-build}
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$B" -j "${JOBS:-2}" --target fuzz_make_corpus >/dev/null
"$B/fuzz_make_corpus" tests/fuzz/corpus
# decode: tiny real clips (48x32, 1.5 s at 4 fps) in several containers and codecs,
# bit-exact so that rerunning with the same FFmpeg gives the same bytes
D=tests/fuzz/corpus/decode; mkdir -p "$D"
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
S=(-f lavfi -i testsrc2=size=48x32:rate=4 -t 1.5 -fflags +bitexact -flags:v +bitexact -map_metadata -1)
ff "${S[@]}" -c:v libx264 -preset ultrafast -pix_fmt yuv420p "$D/h264.mp4"
ff -i "$D/h264.mp4" -c copy -metadata:s:v:0 rotate=90 "$D/h264_rot90.mp4"
ff -i "$D/h264.mp4" -c copy -t 1 -f mp4 -movflags +faststart -fflags +bitexact "$D/h264_faststart.mp4"
ff "${S[@]}" -c:v libx264 -preset ultrafast -pix_fmt yuv420p -f matroska "$D/h264.mkv"
ff "${S[@]}" -c:v mpeg4 -q:v 10 "$D/mpeg4.avi"
ff "${S[@]}" -c:v mjpeg -q:v 20 "$D/mjpeg.mov"
ff "${S[@]}" -c:v libvpx -b:v 20k "$D/vp8.webm"
ff "${S[@]}" -c:v mpeg2video -q:v 10 "$D/mpeg2.ts"
ff "${S[@]}" "$D/gif.gif"
# index: the catalogue.sqlite files of tests/fuzz/corpus/index were written by vidsim
# (`index add --backbone mobilenet --raw --fps 2` of three 3-s lavfi clips and one
# non-video, `index hash --hash-model lsh64`, `verdict set ... not_duplicate`; and an
# index holding only the failed row), then `PRAGMA journal_mode=DELETE; PRAGMA
# page_size=512; VACUUM` so that they are small. They hold times and random names, so
# they are not regenerated here: rerun those commands to refresh them.
for d in tests/fuzz/corpus/*/; do
  printf '%-32s %3d files, largest %5d bytes\n' "$d" "$(ls "$d" | wc -l)" \
    "$(find "$d" -type f -printf '%s\n' | sort -n | tail -1)"
done
