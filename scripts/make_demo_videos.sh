#!/usr/bin/env bash
# make_demo_videos.sh OUTDIR - the bundled default collection for the main job,
# built from real video that Debian packages ship (no network):
#   golang-github-gabriel-vasile-mimetype-dev: one real clip in several containers
#     (its mkv holds another clip, Big Buck Bunny, kept as a real distractor)
#   python3-hug-doc: movie.mp4
# plus edited copies made with ffmpeg (crop, flip, grey, blur, speed, low quality,
# partial copy, picture-in-picture) and unrelated synthetic clips as distractors.
# Layout: OUTDIR/refs/ (the collection to index), OUTDIR/queries/ (copies to look up),
# OUTDIR/gt.csv (query_id,ref_id for every true copy).
set -euo pipefail
out=${1:?usage: make_demo_videos.sh OUTDIR}
mt=/usr/share/gocode/src/github.com/gabriel-vasile/mimetype/testdata
movie=/usr/share/doc/python3-hug/examples/streaming_movie_server/movie.mp4
for f in "$mt/mp4.mp4" "$movie"; do
  [ -r "$f" ] || { echo "make_demo_videos: $f missing (run scripts/install_deps.sh)" >&2; exit 1; }
done
mkdir -p "$out/refs" "$out/queries"
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
# refs: the real clip as shipped in its containers, and synthetic distractors
for c in mp4.mp4 mkv.mkv webm.webm flv.flv 3gp.3gp; do
  [ -r "$mt/$c" ] && cp -f "$mt/$c" "$out/refs/mimetype_${c%%.*}.${c##*.}"
done
cp -f "$movie" "$out/refs/hug_movie.mp4"
[ -s "$out/refs/synth_testsrc.mp4" ] || ff -f lavfi -i testsrc2=size=640x360:rate=25:duration=8 -pix_fmt yuv420p "$out/refs/synth_testsrc.mp4"
[ -s "$out/refs/synth_mandelbrot.mp4" ] || ff -f lavfi -i mandelbrot=size=480x360:rate=25 -t 8 -pix_fmt yuv420p "$out/refs/synth_mandelbrot.mp4"
[ -s "$out/refs/synth_life.mp4" ] || ff -f lavfi -i life=seed=11:size=480x360:rate=25:mold=10:ratio=0.3 -t 8 -pix_fmt yuv420p "$out/refs/synth_life.mp4"
[ -s "$out/refs/synth_cellauto.mp4" ] || ff -f lavfi -i cellauto=seed=5:size=480x360:rate=25:rule=110 -t 8 -pix_fmt yuv420p "$out/refs/synth_cellauto.mp4"
# queries: edited copies of the real clip
src="$movie"
q="$out/queries"
mk() { local name=$1; shift; [ -s "$q/$name.mp4" ] || ff -i "$src" "$@" -an -pix_fmt yuv420p "$q/$name.mp4"; }
mk copy_crop -vf "crop=iw*0.7:ih*0.7,scale=480:-2"
mk copy_hflip -vf hflip
mk copy_gray -vf "format=gray,format=yuv420p"
mk copy_blur -vf "gblur=sigma=4"
mk copy_fast -vf "setpts=PTS/1.5"
mk copy_lowq -vf "scale=256:-2" -crf 45
mk copy_partial -t 3
mk copy_border -vf "pad=iw+120:ih+120:60:60:color=red"
[ -s "$q/copy_pip.mp4" ] || ff -f lavfi -i testsrc2=size=640x360:rate=25:duration=5.5 -i "$src" \
  -filter_complex "[1:v]scale=320:-2[s];[0:v][s]overlay=300:160:shortest=1" -an -pix_fmt yuv420p "$q/copy_pip.mp4"
# a query with no copy in the collection
[ -s "$q/unrelated_rgbtest.mp4" ] || ff -f lavfi -i rgbtestsrc=size=480x360:rate=25:duration=6 -vf "hue=H=t" -pix_fmt yuv420p "$q/unrelated_rgbtest.mp4"
{
  echo "query_id,ref_id"
  for f in "$q"/copy_*.mp4; do
    qid=$(basename "${f%.*}")
    # mimetype's mkv holds a different clip (Big Buck Bunny): a real distractor
    for r in "$out"/refs/mimetype_* "$out/refs/hug_movie.mp4"; do
      case "$r" in *mimetype_mkv*) continue ;; esac
      echo "$qid,$(basename "${r%.*}")"
    done
  done
} > "$out/gt.csv"
echo "demo collection: $(ls "$out/refs" | wc -l) videos in $out/refs, $(ls "$q" | wc -l) queries in $q" >&2
