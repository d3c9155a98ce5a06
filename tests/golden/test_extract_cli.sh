#!/usr/bin/env bash
# test_extract_cli.sh - `vidsim extract` end to end on synthetic clips: feature
# files with the expected shape, a second run skips unchanged inputs, `compare`
# scores an edited copy far above an unrelated clip and draws its heatmaps, bad inputs are
# listed with their reason and a non-zero exit, and existing feature files survive.
set -u
BIN=${VS_BIN:-build/vidsim}
TMP=${VS_TMP:-build/tmp}/extract_cli
MODELS=${VS_MODELS:-models}
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
[ -r "$MODELS/inception_v3.vstf" ] || { echo "SKIP: no weights (run scripts/fetch_weights.sh)"; exit 77; }
command -v ffmpeg >/dev/null || { echo "SKIP: no ffmpeg"; exit 77; }
export VIDSIM_MODELS=$MODELS
rm -rf "$TMP"; mkdir -p "$TMP/in" "$TMP/bad"
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
ff -f lavfi -i testsrc2=size=320x240:rate=25:duration=6 -pix_fmt yuv420p "$TMP/in/a.mp4"
ff -i "$TMP/in/a.mp4" -vf "hflip,eq=brightness=0.1" -c:v libx264 -crf 35 "$TMP/in/a_copy.mkv"
ff -f lavfi -i mandelbrot=size=320x240:rate=25 -t 6 -pix_fmt yuv420p "$TMP/in/b.mp4"
head -c 5000 /dev/urandom > "$TMP/bad/noise.mp4"
: > "$TMP/bad/empty.mp4"
ff -f lavfi -i sine=frequency=440:duration=2 "$TMP/bad/audio_only.m4a"
mv "$TMP/bad/audio_only.m4a" "$TMP/bad/audio_only.mp4"

"$BIN" extract "$TMP/in" -o "$TMP/feat" -j 2 2> "$TMP/log1.txt"
rc=$?
[ $rc -eq 0 ] && ok || bad "extract exit $rc: $(cat "$TMP/log1.txt")"
for f in a.mp4 a_copy.mkv b.mp4; do
  [ -s "$TMP/feat/$f.vsf" ] && ok || bad "missing $f.vsf"
done
"$BIN" extract "$TMP/in" -o "$TMP/feat" 2> "$TMP/log2.txt"
grep -q "3 up to date" "$TMP/log2.txt" && ok || bad "second run did not skip: $(cat "$TMP/log2.txt")"

# compare: the edited copy must score clearly above the unrelated clip
sc=$("$BIN" compare "$TMP/feat/a.mp4.vsf" "$TMP/feat/a_copy.mkv.vsf" --png "$TMP/ab" | cut -f1)
su=$("$BIN" compare "$TMP/feat/a.mp4.vsf" "$TMP/feat/b.mp4.vsf" | cut -f1)
awk -v c="$sc" -v u="$su" 'BEGIN { exit !(c > u + 0.2) }' && ok || bad "copy $sc vs unrelated $su"
[ -s "$TMP/ab_f2f.png" ] && [ -s "$TMP/ab_map.png" ] && ok || bad "compare --png wrote no images"
"$BIN" compare "$TMP/feat/a.mp4.vsf" "$TMP/feat/b.mp4.vsf" --model "$TMP/bad/noise.mp4" 2> "$TMP/log_model.txt" >/dev/null
[ $? -ne 0 ] && grep -q "noise.mp4" "$TMP/log_model.txt" && ok || bad "a wrong model file was not reported: $(cat "$TMP/log_model.txt")"

cp "$TMP/feat/a.mp4.vsf" "$TMP/a_before.vsf"
"$BIN" extract "$TMP/bad" "$TMP/in/a.mp4" "$TMP/does_not_exist.mp4" -o "$TMP/feat" 2> "$TMP/log3.txt"
rc=$?
[ $rc -ne 0 ] && ok || bad "bad inputs gave exit 0"
for f in noise.mp4 empty.mp4 audio_only.mp4 does_not_exist.mp4; do
  grep -q "$f" "$TMP/log3.txt" && ok || bad "error list does not name $f: $(cat "$TMP/log3.txt")"
done
cmp -s "$TMP/feat/a.mp4.vsf" "$TMP/a_before.vsf" && ok || bad "a good feature file changed"
[ ! -e "$TMP/feat/noise.mp4.vsf" ] && ok || bad "a feature file was written for a bad input"
ls "$TMP/feat" | grep -q '\.tmp\.' && bad "temporary files left behind" || ok

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
