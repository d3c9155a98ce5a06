#!/usr/bin/env bash
# test_precision_cli.sh - backbone precisions from the CLI (docs/backbone.md): features
# extracted with --precision int8 carry "inception_v3-int8/..." as model id and are
# refused by name when searched against an fp32 index (and fp32 ones against an int8
# index); an int8 index extracts video queries in int8 itself; `index add` with another
# precision than the index's is refused; `vidsim calibrate` writes a calibration that
# extract --calib uses, and a damaged one is refused by name; a bad --precision is a
# usage error. Needs the weights and the bundled models/calib_inception_v3.vstf.
set -u
BIN=${VS_BIN:-build/vidsim}
TMP=${VS_TMP:-build/tmp}/precision_cli
MODELS=${VS_MODELS:-models}
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
[ -r "$MODELS/inception_v3.vstf" ] || { echo "SKIP: no weights (run scripts/fetch_weights.sh)"; exit 77; }
[ -r "$MODELS/calib_inception_v3.vstf" ] || { echo "SKIP: no $MODELS/calib_inception_v3.vstf (run scripts/setup.sh)"; exit 77; }
command -v ffmpeg >/dev/null || { echo "SKIP: no ffmpeg"; exit 77; }
export VIDSIM_MODELS=$MODELS
rm -rf "$TMP"; mkdir -p "$TMP/in" "$TMP/q"
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
ff -f lavfi -i testsrc2=size=320x240:rate=25:duration=5 -pix_fmt yuv420p "$TMP/in/a.mp4"
ff -f lavfi -i mandelbrot=size=320x240:rate=25 -t 5 -pix_fmt yuv420p "$TMP/in/b.mp4"
ff -i "$TMP/in/a.mp4" -vf "hflip,eq=brightness=0.1" -c:v libx264 -crf 35 "$TMP/q/a_copy.mkv"

# an fp32 index and an int8 one
"$BIN" index add --index "$TMP/i32" "$TMP/in" -j 2 > "$TMP/add32.txt" 2>&1 && ok || bad "index add fp32: $(cat "$TMP/add32.txt")"
"$BIN" index add --precision int8 --index "$TMP/i8" "$TMP/in" -j 2 > "$TMP/add8.txt" 2>&1 && ok || bad "index add int8: $(cat "$TMP/add8.txt")"
"$BIN" extract --precision int8 "$TMP/q/a_copy.mkv" -o "$TMP/f8" 2> "$TMP/x8.txt" && ok || bad "extract int8: $(cat "$TMP/x8.txt")"
"$BIN" extract "$TMP/q/a_copy.mkv" -o "$TMP/f32" 2> "$TMP/x32.txt" && ok || bad "extract fp32: $(cat "$TMP/x32.txt")"
grep -a -q "inception_v3-int8/224/pca256/" "$TMP/f8/a_copy.mkv.vsf" && ok || bad "int8 feature file without an int8 model id"
grep -a -q "inception_v3-int8" "$TMP/f32/a_copy.mkv.vsf" && bad "fp32 feature file with an int8 model id" || ok

# a feature file of another precision is refused at search time, by name
"$BIN" search --index "$TMP/i32" "$TMP/f8/a_copy.mkv.vsf" > "$TMP/s1.csv" 2> "$TMP/s1.txt"
rc=$?
[ $rc -ne 0 ] && ok || bad "int8 query on an fp32 index: exit 0"
grep -q "a_copy.mkv.vsf" "$TMP/s1.txt" && grep -q "inception_v3-int8/" "$TMP/s1.txt" && ok ||
  bad "the refusal does not name the file and its model: $(cat "$TMP/s1.txt")"
"$BIN" search --index "$TMP/i8" "$TMP/f32/a_copy.mkv.vsf" > "$TMP/s2.csv" 2> "$TMP/s2.txt"
[ $? -ne 0 ] && grep -q "a_copy.mkv.vsf" "$TMP/s2.txt" && ok || bad "fp32 query on an int8 index: $(cat "$TMP/s2.txt")"
# the right precision: the copy finds its source first, from the .vsf and from the video
for q in "$TMP/f8/a_copy.mkv.vsf" "$TMP/q/a_copy.mkv"; do
  "$BIN" search --index "$TMP/i8" "$q" > "$TMP/s3.csv" 2> "$TMP/s3.txt" && ok || bad "search int8 $q: $(cat "$TMP/s3.txt")"
  top=$(awk -F, 'NR==2{print $0}' "$TMP/s3.csv")
  echo "$top" | grep -q "a" && ok || bad "top hit of $q is not a: $(cat "$TMP/s3.csv")"
done
# index add with another precision than the index's: refused, index unchanged
"$BIN" index ls --index "$TMP/i8" > "$TMP/ls_before.csv" 2>&1
"$BIN" index add --index "$TMP/i8" "$TMP/q/a_copy.mkv" > "$TMP/add_bad.txt" 2>&1
[ $? -ne 0 ] && grep -q "inception_v3-int8" "$TMP/add_bad.txt" && ok || bad "fp32 add to an int8 index: $(cat "$TMP/add_bad.txt")"
"$BIN" index ls --index "$TMP/i8" > "$TMP/ls_after.csv" 2>&1
cmp -s "$TMP/ls_before.csv" "$TMP/ls_after.csv" && ok || bad "the refused add changed the index"
# a damaged feature file of the int8 index: search's hint names the precision, and the
# command it prints heals the entry
cp -a "$TMP/i8" "$TMP/i8d"
f=$(ls "$TMP/i8d/features/"*.vsf | head -1)
printf 'XX' | dd of="$f" bs=1 seek=500 conv=notrunc 2>/dev/null
"$BIN" search --index "$TMP/i8d" "$TMP/f32/a_copy.mkv.vsf" > /dev/null 2> "$TMP/hint.txt"
hint=$(sed -n 's/.*to heal, run `\(vidsim index add [^`]*\) PATH\.\.\.`.*/\1/p' "$TMP/hint.txt")
echo "$hint" | grep -q -- "--precision int8" && ok || bad "the heal hint lacks the precision: $(cat "$TMP/hint.txt")"
src=$(sed -n 's/^  skipped \(.*\): index entry .*/\1/p' "$TMP/hint.txt" | head -1)
if [ -n "$hint" ] && [ -n "$src" ]; then
  # shellcheck disable=SC2086
  "$BIN" ${hint#vidsim } "$src" > /dev/null 2>&1 && "$BIN" index verify --index "$TMP/i8d" > /dev/null 2>&1 && ok ||
    bad "the hinted command did not heal the index: $hint $src"
else bad "no hint or no skipped path: $(cat "$TMP/hint.txt")"; fi

# calibrate, then use it; a damaged calibration is refused by name
"$BIN" calibrate "$TMP/in" -o "$TMP/calib.vstf" --frames 8 > "$TMP/cal.txt" 2>&1 && ok || bad "calibrate: $(cat "$TMP/cal.txt")"
grep -q "calibrated inception 8 frames from 2 videos" "$TMP/cal.txt" && ok || bad "calibrate output: $(cat "$TMP/cal.txt")"
"$BIN" extract --precision int8 --calib "$TMP/calib.vstf" "$TMP/in/a.mp4" -o "$TMP/fc" 2> "$TMP/xc.txt" && ok || bad "extract --calib: $(cat "$TMP/xc.txt")"
cp "$TMP/calib.vstf" "$TMP/broken.vstf"
printf '\x55' | dd of="$TMP/broken.vstf" bs=1 seek=300 conv=notrunc 2>/dev/null
"$BIN" extract --precision int8 --calib "$TMP/broken.vstf" "$TMP/in/a.mp4" -o "$TMP/fb" 2> "$TMP/xb.txt"
[ $? -ne 0 ] && grep -q "broken.vstf" "$TMP/xb.txt" && ok || bad "damaged calibration: $(cat "$TMP/xb.txt")"
"$BIN" extract --precision int8 --calib "$MODELS/inception_v3.vstf" "$TMP/in/a.mp4" -o "$TMP/fb" 2> "$TMP/xw.txt"
[ $? -ne 0 ] && grep -q "not a backbone calibration file" "$TMP/xw.txt" && ok || bad "weights as calibration: $(cat "$TMP/xw.txt")"
# usage errors
"$BIN" extract --precision fp16 "$TMP/in/a.mp4" -o "$TMP/fu" 2> "$TMP/u1.txt"
[ $? -eq 2 ] && grep -q -- "--precision" "$TMP/u1.txt" && ok || bad "--precision fp16: $(cat "$TMP/u1.txt")"
"$BIN" index add --precision int4 --index "$TMP/i8" "$TMP/in" 2> "$TMP/u2.txt"
[ $? -eq 2 ] && ok || bad "index add --precision int4: $(cat "$TMP/u2.txt")"
"$BIN" calibrate "$TMP/in" -o "$TMP/c2.vstf" --percentile 0 2> "$TMP/u3.txt"
[ $? -eq 2 ] && ok || bad "calibrate --percentile 0: $(cat "$TMP/u3.txt")"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
