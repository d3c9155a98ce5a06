#!/usr/bin/env bash
# test_extract_cli.sh - `vidsim extract` end to end on synthetic clips: feature
# files with the expected shape, a second run skips unchanged inputs, `compare`
# scores an edited copy far above an unrelated clip and draws its heatmaps, bad inputs are
# listed with their reason and a non-zero exit, and existing feature files survive;
# --timing reports the stages and the real-time factor consistently.
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
# a feature file damaged after it was written (one byte of its data flipped, header
# intact) is not "up to date": the next run re-extracts it and the file loads again
cp "$TMP/feat/b.mp4.vsf" "$TMP/b_good.vsf"
sz=$(stat -c %s "$TMP/feat/b.mp4.vsf")
printf '\x55' | dd of="$TMP/feat/b.mp4.vsf" bs=1 seek=$((sz - 100)) conv=notrunc 2>/dev/null
"$BIN" extract "$TMP/in" -o "$TMP/feat" 2> "$TMP/log3.txt"
grep -q "extracted 1 of 3 videos (2 up to date" "$TMP/log3.txt" && ok || bad "a damaged feature file was kept as up to date: $(cat "$TMP/log3.txt")"
cmp -s "$TMP/feat/b.mp4.vsf" "$TMP/b_good.vsf" && ok || bad "the re-extracted file differs from the first extraction"

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

# near-constant frames (black, one colour) are left out; a video with nothing else is
# refused by name; --min-frame-std 0 keeps them
mkdir -p "$TMP/flat"
ff -f lavfi -i color=black:s=320x240:d=4 -pix_fmt yuv420p "$TMP/flat/black.mp4"
ff -f lavfi -i color=0x3366aa:s=320x240:d=4 -pix_fmt yuv420p "$TMP/flat/blue.mp4"
ff -f lavfi -i color=black:s=320x240:d=4 -f lavfi -i testsrc2=s=320x240:d=3 \
  -filter_complex "[0][1]concat=n=2:v=1" -pix_fmt yuv420p "$TMP/flat/fade.mp4"
"$BIN" extract "$TMP/flat" -o "$TMP/flatf" 2> "$TMP/flat.txt"; rc=$?
[ $rc -eq 1 ] && ok || bad "flat: exit $rc"
for v in black blue; do
  grep -q "$v.mp4: every sampled frame (4) is near-constant" "$TMP/flat.txt" && ok || bad "flat $v: $(cat "$TMP/flat.txt")"
  [ ! -e "$TMP/flatf/$v.mp4.vsf" ] && ok || bad "flat $v: a feature file was written"
done
"$BIN" extract "$TMP/flat/fade.mp4" -o "$TMP/flat0" --min-frame-std 0 2>/dev/null && ok || bad "--min-frame-std 0"
python3 - "$TMP/flatf/fade.mp4.vsf" "$TMP/flat0/fade.mp4.vsf" <<'PY' && ok || bad "fade: frames not left out"
import sys
# 4 black seconds then 3 of test pattern: without the black frames the feature file
# holds 3 frames instead of 7, so it is well under 0.7 of the size
a, b = (len(open(p, "rb").read()) for p in sys.argv[1:3])
sys.exit(0 if a < 0.7 * b else 1)
PY
"$BIN" extract "$TMP/flat/black.mp4" -o "$TMP/flat0" --min-frame-std 0 2>/dev/null && ok || bad "black kept with --min-frame-std 0"
"$BIN" extract "$TMP/flat/black.mp4" -o "$TMP/flat0" --min-frame-std 300 > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok || bad "--min-frame-std 300: exit $rc"

# --timing: the stage table on stderr, the frames it counts are those extracted, the
# stages add up to the total, and the real-time factor is video seconds / wall seconds
"$BIN" extract "$TMP/in/a.mp4" "$TMP/in/b.mp4" -o "$TMP/timed" --force --timing -j 2 2> "$TMP/timing.txt"
rc=$?
[ $rc -eq 0 ] && ok || bad "extract --timing exit $rc: $(cat "$TMP/timing.txt")"
python3 - "$TMP/timing.txt" <<'PY' && ok || bad "--timing report: $(cat "$TMP/timing.txt")"
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r"timing \(extract, -j 2\): 2 videos extracted, ([0-9.]+) s of video, (\d+) frames \((\d+) decoded\), "
              r"([0-9.]+) s wall: ([0-9.]+)x real time", t)
assert m, "no timing line"
video, frames, decoded, wall, rt = float(m[1]), int(m[2]), int(m[3]), float(m[4]), float(m[5])
assert abs(video - 12.0) < 0.2 and frames == 12 and decoded >= frames, (video, frames, decoded)
assert wall > 0 and abs(rt - video / wall) <= 0.05 * rt + 0.1, (rt, video, wall)
st = dict((k, float(v)) for k, v in re.findall(r"^  (decode\+convert|preprocess|backbone|pool\+pca|write|other|total) +([0-9.]+)", t, re.M))
assert set(st) == {"decode+convert", "preprocess", "backbone", "pool+pca", "write", "other", "total"}, st
assert all(v >= 0 for v in st.values()) and st["backbone"] > 0 and st["decode+convert"] > 0
assert abs(sum(v for k, v in st.items() if k != "total") - st["total"]) <= 0.011 * 6, st
PY
"$BIN" extract "$TMP/in/a.mp4" -o "$TMP/timed" --timing 2> "$TMP/timing2.txt"   # up to date: nothing timed
grep -q "0 videos extracted, 0.0 s of video, 0 frames" "$TMP/timing2.txt" && ok || bad "--timing, up to date: $(cat "$TMP/timing2.txt")"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
