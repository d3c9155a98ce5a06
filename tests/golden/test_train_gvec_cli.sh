#!/usr/bin/env bash
# test_train_gvec_cli.sh - `vidsim train-gvec` and `search --gvec-whiten` end to end on
# synthetic clips: train-gvec builds the augmentation bank (mobilenet, no overlays, 4
# frames per video), skips and names an undecodable input, writes a whitening whose id it
# prints; a second run on the saved bank (--bank) writes the same bytes without backbone
# work. The whitening is used by `search --first-stage gvec` (--timing names it, the
# stage-1 scores change and stay in [-1, 1]); --gvec-whiten off and the default on a
# mobilenet index (no bundled file for it) use none; the bundled
# gvec_whiten_inception_v3.vstf is the default on an (int8) inception index, and is left
# out with a note on one whose PCA is another; an index made with the earlier bundled
# PCA still adds and searches without options; a whitening of other features, a damaged
# file and one without a gvec first stage are refused by name; bad options exit 2;
# --copy-edits builds its own bank (recorded in the bank and the map; a bank of another P
# is refused by name).
set -u
BIN=${VS_BIN:-build/vidsim}
TMP=${VS_TMP:-build/tmp}/train_gvec_cli
MODELS=${VS_MODELS:-models}
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
[ -r "$MODELS/mobilenet_v2.vstf" ] || { echo "SKIP: no weights (run scripts/fetch_weights.sh)"; exit 77; }
command -v ffmpeg >/dev/null || { echo "SKIP: no ffmpeg"; exit 77; }
export VIDSIM_MODELS=$MODELS
rm -rf "$TMP"; mkdir -p "$TMP/in"
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
ff -f lavfi -i testsrc2=size=192x144:rate=10 -t 5 -pix_fmt yuv420p "$TMP/in/a.mp4"
ff -f lavfi -i mandelbrot=size=192x144:rate=10 -t 5 -pix_fmt yuv420p "$TMP/in/b.mp4"
ff -f lavfi -i smptebars=size=192x144:rate=10 -t 4 -pix_fmt yuv420p "$TMP/in/c.mkv"
ff -f lavfi -i "life=seed=11:size=192x144:rate=10:mold=10" -t 5 -pix_fmt yuv420p "$TMP/in/d.mp4"
ff -i "$TMP/in/a.mp4" -vf "crop=160:120,eq=brightness=0.1" -c:v libx264 -crf 32 "$TMP/a_copy.mp4"
head -c 3000 /dev/urandom > "$TMP/in/noise.mp4"
G=(--videos "$TMP/in" --backbone mobilenet --no-overlays --max-frames 4 -j 1 --pairs 20)

"$BIN" train-gvec "${G[@]}" -o "$TMP/w1.vstf" --bank "$TMP/g.bank" 2> "$TMP/e1.txt"
[ $? -eq 0 ] && [ -f "$TMP/w1.vstf" ] && [ -f "$TMP/g.bank" ] && ok || { bad "train-gvec failed"; cat "$TMP/e1.txt" >&2; }
grep -q "skipped: .*noise.mp4" "$TMP/e1.txt" && ok || bad "undecodable input not named: $(cat "$TMP/e1.txt")"
ID=$(sed -n 's/.*whitening \([0-9a-f]\{16\}\) of D=256 learned from 80 pairs of 4 videos into .*/\1/p' "$TMP/e1.txt")
[ -n "$ID" ] && ok || bad "no id / pair count in: $(cat "$TMP/e1.txt")"
"$BIN" train-gvec --backbone mobilenet --no-overlays --max-frames 4 -j 1 --pairs 20 -o "$TMP/w2.vstf" \
  --bank "$TMP/g.bank" 2> "$TMP/e2.txt"
[ $? -eq 0 ] && grep -q "bank $TMP/g.bank: 4 videos" "$TMP/e2.txt" && ok || bad "bank not reused: $(cat "$TMP/e2.txt")"
cmp -s "$TMP/w1.vstf" "$TMP/w2.vstf" && ok || bad "the whitening from the saved bank differs"
# another --seed draws other pairs (and would need its own bank): refused on this bank
"$BIN" train-gvec "${G[@]}" -o "$TMP/w3.vstf" --bank "$TMP/g.bank" --seed 2 2> "$TMP/e3.txt"
[ $? -ne 0 ] && grep -q "g.bank: bank built with bank.seed=1" "$TMP/e3.txt" && [ ! -e "$TMP/w3.vstf" ] && ok \
  || bad "a bank of another seed not refused: $(cat "$TMP/e3.txt")"

# --copy-edits P: the strong views also get the re-uploaders' edits; a bank records P, so
# the bank built without them is refused by name for a run that wants them, and a run
# that builds its own learns another map, which records P
"$BIN" train-gvec "${G[@]}" -o "$TMP/w5.vstf" --bank "$TMP/g.bank" --copy-edits 0.5 2> "$TMP/e5.txt"
[ $? -ne 0 ] && grep -q "g.bank: bank built with copy edits p_edit=0, this run wants 0.5" "$TMP/e5.txt" \
  && [ ! -e "$TMP/w5.vstf" ] && ok || bad "a bank without copy edits not refused: $(cat "$TMP/e5.txt")"
"$BIN" train-gvec "${G[@]}" -o "$TMP/w6.vstf" --bank "$TMP/g6.bank" --copy-edits 0.5 2> "$TMP/e6.txt" \
  && ok || bad "train-gvec --copy-edits: $(cat "$TMP/e6.txt")"
ID6=$(sed -n 's/.*whitening \([0-9a-f]\{16\}\) of D=256 learned from 80 pairs of 4 videos into .*/\1/p' "$TMP/e6.txt")
[ -n "$ID6" ] && [ "$ID6" != "$ID" ] && ok || bad "copy edits: id '$ID6' (without: '$ID')"
grep -a -q "p_edit0.5" <(tr -d '\000-\010' < "$TMP/w6.vstf") && ok || bad "the map does not record p_edit 0.5"
"$BIN" train-gvec "${G[@]}" -o "$TMP/x.vstf" --copy-edits 2 2>/dev/null; [ $? -eq 2 ] && ok || bad "--copy-edits 2: exit 2 expected"

# a bank of other features (mobilenet's) is refused for an inception run, naming it
if [ -r "$MODELS/inception_v3.vstf" ]; then
  "$BIN" train-gvec --no-overlays --max-frames 4 -j 1 -o "$TMP/w4.vstf" --bank "$TMP/g.bank" 2> "$TMP/e4.txt"
  [ $? -ne 0 ] && grep -q "g.bank: bank built from mobilenet_v2/224/pca256/[0-9a-f]* features, this run extracts inception_v3" \
    "$TMP/e4.txt" && [ ! -e "$TMP/w4.vstf" ] && ok || bad "a bank of other features not refused: $(cat "$TMP/e4.txt")"
fi

# search with it
"$BIN" index add --index "$TMP/idx" "$TMP/in/a.mp4" "$TMP/in/b.mp4" "$TMP/in/c.mkv" "$TMP/in/d.mp4" \
  --backbone mobilenet -j 2 2> "$TMP/add.txt" && ok || bad "add: $(cat "$TMP/add.txt")"
S=(search --index "$TMP/idx" --top 0 --first-stage gvec --hash-only --timing "$TMP/a_copy.mp4")
"$BIN" "${S[@]}" --gvec-whiten "$TMP/w1.vstf" > "$TMP/hw.csv" 2> "$TMP/hw.err" && ok || bad "search with it: $(cat "$TMP/hw.err")"
grep -q "whiten=$ID" "$TMP/hw.err" && ok || bad "--timing does not name the whitening: $(cat "$TMP/hw.err")"
awk -F, 'NR > 1 && ($3 < -1.0001 || $3 > 1.0001) { exit 1 }' "$TMP/hw.csv" && [ "$(wc -l < "$TMP/hw.csv")" = 5 ] && ok \
  || bad "whitened scores: $(cat "$TMP/hw.csv")"
"$BIN" "${S[@]}" --gvec-whiten off > "$TMP/ho.csv" 2> "$TMP/ho.err" && ok || bad "off: $(cat "$TMP/ho.err")"
grep -q "whiten=" "$TMP/ho.err" && bad "off still whitens: $(cat "$TMP/ho.err")" || ok
cmp -s "$TMP/hw.csv" "$TMP/ho.csv" && bad "the whitening changed no stage-1 score" || ok
"$BIN" "${S[@]}" > "$TMP/hd.csv" 2> "$TMP/hd.err" && ok || bad "default: $(cat "$TMP/hd.err")"
cmp -s "$TMP/hd.csv" "$TMP/ho.csv" && ! grep -q "whiten" "$TMP/hd.err" && ok \
  || bad "mobilenet index: the default is not 'none, without a note': $(cat "$TMP/hd.err")"
# refusals: damaged file, not with the hash first stage, options
cp "$TMP/w1.vstf" "$TMP/bad.vstf"
printf 'XXXX' | dd of="$TMP/bad.vstf" bs=1 seek=300 conv=notrunc 2>/dev/null
"$BIN" "${S[@]}" --gvec-whiten "$TMP/bad.vstf" > /dev/null 2> "$TMP/eb.txt"
[ $? -eq 1 ] && grep -q -- "--gvec-whiten: .*bad.vstf" "$TMP/eb.txt" && ok || bad "damaged whitening: $(cat "$TMP/eb.txt")"
"$BIN" search --index "$TMP/idx" --two-stage --gvec-whiten "$TMP/w1.vstf" "$TMP/a_copy.mp4" > /dev/null 2> "$TMP/eh.txt"
[ $? -eq 2 ] && grep -q -- "--gvec-whiten sets the whitening of --first-stage gvec" "$TMP/eh.txt" && ok \
  || bad "--gvec-whiten with the hash first stage: $(cat "$TMP/eh.txt")"
"$BIN" train-gvec "${G[@]}" 2>/dev/null; [ $? -eq 2 ] && ok || bad "no -o: exit 2 expected"
"$BIN" train-gvec "${G[@]}" -o "$TMP/x.vstf" --shrink 0 2>/dev/null; [ $? -eq 2 ] && ok || bad "--shrink 0: exit 2 expected"
"$BIN" train-gvec "${G[@]}" -o "$TMP/x.vstf" --pairs 0 2>/dev/null; [ $? -eq 2 ] && ok || bad "--pairs 0: exit 2 expected"

# an inception index: the bundled whitening by default; the mobilenet one refused by name
if [ -r "$MODELS/inception_v3.vstf" ] && [ -r "$MODELS/gvec_whiten_inception_v3.vstf" ]; then
  "$BIN" index add --index "$TMP/idxi" "$TMP/in/a.mp4" "$TMP/in/b.mp4" -j 2 2> "$TMP/addi.txt" \
    && ok || bad "add inception: $(cat "$TMP/addi.txt")"
  SI=(search --index "$TMP/idxi" --top 0 --first-stage gvec --hash-only --timing "$TMP/a_copy.mp4")
  "$BIN" "${SI[@]}" > /dev/null 2> "$TMP/hi.err" && grep -q "whiten=[0-9a-f]\{16\}" "$TMP/hi.err" && ok \
    || bad "inception index: the bundled whitening is not the default: $(cat "$TMP/hi.err")"
  "$BIN" "${SI[@]}" --gvec-whiten "$TMP/w1.vstf" > /dev/null 2> "$TMP/em.txt"
  [ $? -eq 1 ] && grep -q "w1.vstf was learned on mobilenet_v2" "$TMP/em.txt" && ok \
    || bad "a mobilenet whitening on an inception index: $(cat "$TMP/em.txt")"
  # an index made with the earlier bundled whitening (pca_inception_v3.v1.vstf, the
  # default before the learned one was folded in) keeps working without options: index
  # add follows its model id, and a video query is extracted as its references were
  if [ -r "$MODELS/pca_inception_v3.v1.vstf" ]; then
    "$BIN" index add --index "$TMP/idxv1" "$TMP/in/a.mp4" --pca "$MODELS/pca_inception_v3.v1.vstf" -j 2 \
      2> "$TMP/addv1.txt" && ok || bad "add with v1: $(cat "$TMP/addv1.txt")"
    "$BIN" index add --index "$TMP/idxv1" "$TMP/in/b.mp4" -j 2 2> "$TMP/addv1b.txt" \
      && grep -q "1 added" "$TMP/addv1b.txt" && ok || bad "add to a v1 index without --pca: $(cat "$TMP/addv1b.txt")"
    "$BIN" search --index "$TMP/idxv1" --top 1 "$TMP/a_copy.mp4" > "$TMP/sv1.csv" 2> "$TMP/sv1.err" \
      && grep -q "^a_copy,a," "$TMP/sv1.csv" && ok || bad "video query on a v1 index: $(cat "$TMP/sv1.csv" "$TMP/sv1.err")"
  fi
  # an inception index with its own PCA (same D, another hash): the bundled map does not
  # fit, a note says so and the vectors stay as they are
  ff -f lavfi -i "cellauto=seed=5:size=192x144:rate=5" -t 40 -pix_fmt yuv420p "$TMP/long.mp4" # 40 frames, 360 vectors
  "$BIN" pca --videos "$TMP/long.mp4" --dim 256 -o "$TMP/pca.vstf" -j 2 2> "$TMP/pca.txt" \
    && ok || bad "pca: $(cat "$TMP/pca.txt")"
  "$BIN" index add --index "$TMP/idxp" "$TMP/in/a.mp4" "$TMP/in/b.mp4" --pca "$TMP/pca.vstf" -j 2 2> "$TMP/addp.txt" \
    && ok || bad "add with --pca: $(cat "$TMP/addp.txt")"
  "$BIN" search --index "$TMP/idxp" --top 0 --first-stage gvec --hash-only --timing --pca "$TMP/pca.vstf" \
    "$TMP/a_copy.mp4" > /dev/null 2> "$TMP/hp.err" && grep -q "the bundled whitening does not apply" "$TMP/hp.err" \
    && ! grep -q "whiten=" "$TMP/hp.err" && ok || bad "a PCA of its own: the bundled map applied: $(cat "$TMP/hp.err")"
fi

echo "test_train_gvec_cli: $pass passed, $fail failed"
[ $fail -eq 0 ]
