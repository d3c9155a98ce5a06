#!/usr/bin/env bash
# test_thumbs_cli.sh - keyframes (issue 20): `vidsim thumbs VIDEO --at T... -o DIR` writes
# one PNG per time (CSV video,t,png on stdout; square, --size pixels; the frame at or
# after T, the last one past the end), usage errors exit 2 and a non-video exits 1
# naming it; `vidsim compare A B --thumbs DIR` writes the start/middle/end frames of each
# copied segment in A and B, listed in DIR/thumbs.csv, at times that follow the
# segment (a trimmed copy starting 5 s into its source: b_t - a_t = 5), and refuses a
# .vsf whose source video is gone, by name.
set -u
BIN=${VS_BIN:-build/vidsim}
TMP=${VS_TMP:-build/tmp}/thumbs_cli
MODELS=${VS_MODELS:-models}
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
[ -r "$MODELS/mobilenet_v2.vstf" ] || { echo "SKIP: no weights (run scripts/fetch_weights.sh)"; exit 77; }
command -v ffmpeg >/dev/null || { echo "SKIP: no ffmpeg"; exit 77; }
export VIDSIM_MODELS=$MODELS
rm -rf "$TMP"; mkdir -p "$TMP"
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
ff -f lavfi -i testsrc2=size=320x240:rate=10 -t 20 -pix_fmt yuv420p "$TMP/src.mp4" || { echo "SKIP: ffmpeg"; exit 77; }
ff -ss 5 -i "$TMP/src.mp4" -t 8 -vf hflip -pix_fmt yuv420p "$TMP/copy.mp4"
png_side() { od -An -tu1 -j16 -N8 "$1" | awk '{print $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8}'; }
is_png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }

# thumbs
"$BIN" thumbs "$TMP/src.mp4" --at 0,2.5 --at 99 --size 64 -o "$TMP/th" > "$TMP/th.csv" 2> "$TMP/th.err" && ok || bad "thumbs: $(cat "$TMP/th.err")"
[ "$(head -1 "$TMP/th.csv")" = "video,t,png" ] && ok || bad "thumbs header: $(head -1 "$TMP/th.csv")"
[ "$(tail -n +2 "$TMP/th.csv" | wc -l)" = 3 ] && ok || bad "thumbs rows: $(cat "$TMP/th.csv")"
for t in 0.000 2.500 99.000; do
  f=$TMP/th/src_$t.png
  [ -f "$f" ] && is_png "$f" && ok || bad "$f is not a PNG"
  [ "$(png_side "$f")" = "64 64" ] && ok || bad "$f is $(png_side "$f"), not 64x64"
done
cmp -s "$TMP/th/src_0.000.png" "$TMP/th/src_2.500.png" && bad "the frames at 0 s and 2.5 s are the same picture" || ok
"$BIN" thumbs "$TMP/src.mp4" -o "$TMP/x" > /dev/null 2> "$TMP/e1"; [ $? = 2 ] && grep -q -- "--at" "$TMP/e1" && ok || bad "no --at: $(cat "$TMP/e1")"
"$BIN" thumbs "$TMP/src.mp4" --at 1 > /dev/null 2> "$TMP/e2"; [ $? = 2 ] && grep -q -- "-o" "$TMP/e2" && ok || bad "no -o: $(cat "$TMP/e2")"
"$BIN" thumbs "$TMP/src.mp4" --at -1 -o "$TMP/x" > /dev/null 2> "$TMP/e3"; [ $? = 2 ] && ok || bad "--at -1: $(cat "$TMP/e3")"
"$BIN" thumbs "$TMP/src.mp4" --at 1 --size 8 -o "$TMP/x" > /dev/null 2> "$TMP/e4"; [ $? = 2 ] && grep -q -- "--size" "$TMP/e4" && ok || bad "--size 8: $(cat "$TMP/e4")"
printf 'not a video' > "$TMP/bad.mp4"
"$BIN" thumbs "$TMP/bad.mp4" --at 1 -o "$TMP/x" > /dev/null 2> "$TMP/e5"; [ $? = 1 ] && grep -q "bad.mp4" "$TMP/e5" && ok || bad "non-video: $(cat "$TMP/e5")"

# compare --thumbs
"$BIN" compare "$TMP/copy.mp4" "$TMP/src.mp4" --backbone mobilenet --thumbs "$TMP/cmp" > "$TMP/cmp.txt" 2> "$TMP/cmp.err" && ok || bad "compare --thumbs: $(cat "$TMP/cmp.err")"
C=$TMP/cmp/thumbs.csv
[ "$(head -1 "$C")" = "segment,position,a_t,a_png,b_t,b_png" ] && ok || bad "thumbs.csv header: $(head -1 "$C")"
nseg=$(grep -c '^segment ' "$TMP/cmp.txt")
[ "$nseg" -ge 1 ] && ok || bad "no segment found: $(cat "$TMP/cmp.txt")"
[ "$(tail -n +2 "$C" | wc -l)" = $((3 * (nseg < 8 ? nseg : 8))) ] && ok || bad "thumbs.csv rows for $nseg segments: $(cat "$C")"
tail -n +2 "$C" | while IFS=, read -r k pos at apng bt bpng; do
  is_png "$TMP/cmp/$apng" && is_png "$TMP/cmp/$bpng" || echo "missing $apng $bpng"
done > "$TMP/missing"; [ ! -s "$TMP/missing" ] && ok || bad "$(cat "$TMP/missing")"
awk -F, 'NR > 1 && $1 == 1 { d = $5 - $3; if (d < 4.5 || d > 5.5) bad = 1; n++ } END { exit !(n == 3 && !bad) }' "$C" && ok ||
  bad "segment 1's keyframes are not 5 s apart in B: $(cat "$C")"
"$BIN" extract --backbone mobilenet "$TMP/copy.mp4" -o "$TMP/vsf" > /dev/null 2>&1
mv "$TMP/copy.mp4" "$TMP/copy_moved.mp4"
"$BIN" compare "$TMP/vsf/copy.mp4.vsf" "$TMP/src.mp4" --backbone mobilenet --thumbs "$TMP/cmp2" > /dev/null 2> "$TMP/e6"; rc=$?
[ $rc = 1 ] && grep -q "copy.mp4.*cannot be read" "$TMP/e6" && ok || bad "vsf with its video gone: exit $rc: $(cat "$TMP/e6")"
echo "thumbs_cli: $pass passed, $fail failed"
[ $fail -eq 0 ]
