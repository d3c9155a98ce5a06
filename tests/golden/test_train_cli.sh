#!/usr/bin/env bash
# test_train_cli.sh - `vidsim train` end to end on synthetic clips (mobilenet, bank
# mode, 1 weak + 1 strong view, no overlays): a run that stops after 2 of 4 steps
# (--stop-after, as a killed run leaves its last checkpoint) and is resumed ends with
# a model byte-identical to an uninterrupted run; the model loads (`vidsim compare
# --model`); an undecodable input is skipped and named; a wrong --init file, a
# corrupt checkpoint on --resume and a bad option fail with a non-zero exit, the
# file named, and the checkpoint left untouched. --holdout: videos kept out of the bank
# and a check of the new model against ViSiL_f on their edited copies, with a verdict.
set -u
BIN=${VS_BIN:-build/vidsim}
TMP=${VS_TMP:-build/tmp}/train_cli
MODELS=${VS_MODELS:-models}
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
[ -r "$MODELS/mobilenet_v2.vstf" ] || { echo "SKIP: no weights (run scripts/fetch_weights.sh)"; exit 77; }
command -v ffmpeg >/dev/null || { echo "SKIP: no ffmpeg"; exit 77; }
export VIDSIM_MODELS=$MODELS
rm -rf "$TMP"; mkdir -p "$TMP/in" "$TMP/A" "$TMP/B"
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
ff -f lavfi -i testsrc2=size=192x144:rate=10 -t 5 -pix_fmt yuv420p "$TMP/in/a.mp4"
ff -f lavfi -i mandelbrot=size=192x144:rate=10 -t 5 -pix_fmt yuv420p "$TMP/in/b.mp4"
ff -f lavfi -i smptebars=size=192x144:rate=10 -t 4 -pix_fmt yuv420p "$TMP/in/c.mkv"
ff -f lavfi -i "life=seed=11:size=192x144:rate=10:mold=10" -t 5 -pix_fmt yuv420p "$TMP/in/d.mp4"
head -c 3000 /dev/urandom > "$TMP/in/noise.mp4"
T=(--videos "$TMP/in" --iters 4 --batch 2 --views 1,1,0 --max-frames 4 --no-overlays
   --backbone mobilenet -j 1 --lr 1e-3 --warmup 1)

"$BIN" train "${T[@]}" -o "$TMP/A/m.vstf" --checkpoint-every 1 --log "$TMP/A/log.jsonl" 2> "$TMP/A/err.txt"
[ $? -eq 0 ] && ok || { bad "uninterrupted run failed"; cat "$TMP/A/err.txt" >&2; }
grep -q "skipped: .*noise.mp4" "$TMP/A/err.txt" && ok || bad "undecodable input not named"
[ "$(wc -l < "$TMP/A/log.jsonl")" -eq 4 ] && ok || bad "log should have 4 lines"
head -1 "$TMP/A/log.jsonl" | grep -q '"infonce"' && ok || bad "log lines lack the loss terms"
grep -q '"calib"' "$TMP/A/log.jsonl" && bad "the log prints the calibration term while it is off" || ok

"$BIN" train "${T[@]}" -o "$TMP/B/m.vstf" --stop-after 2 2> "$TMP/B/err1.txt"
[ $? -eq 0 ] && ok || bad "stop-after run failed"
[ -f "$TMP/B/m.vstf.ckpt" ] && [ ! -f "$TMP/B/m.vstf" ] && ok || bad "stopped run: checkpoint only expected"
"$BIN" train "${T[@]}" -o "$TMP/B/m.vstf" --resume 2> "$TMP/B/err2.txt"
[ $? -eq 0 ] && ok || { bad "resume failed"; cat "$TMP/B/err2.txt" >&2; }
grep -q "resuming .* at step 2" "$TMP/B/err2.txt" && ok || bad "resume did not start at step 2"
cmp -s "$TMP/A/m.vstf" "$TMP/B/m.vstf" && ok || bad "resumed model differs from the uninterrupted one"

"$BIN" compare "$TMP/in/a.mp4" "$TMP/in/b.mp4" --backbone mobilenet --model "$TMP/A/m.vstf" > "$TMP/cmp.txt" 2>&1
[ $? -eq 0 ] && ok || { bad "trained model does not load in compare"; cat "$TMP/cmp.txt" >&2; }

# wrong --init file: a feature-less junk file
head -c 100 /dev/urandom > "$TMP/junk.vstf"
"$BIN" train "${T[@]}" -o "$TMP/C.vstf" --init "$TMP/junk.vstf" 2> "$TMP/err3.txt"
[ $? -ne 0 ] && grep -q "junk.vstf" "$TMP/err3.txt" && ok || bad "wrong --init not refused by name"
# corrupt checkpoint on --resume: refused, file unchanged
cp "$TMP/B/m.vstf.ckpt" "$TMP/ck.bak"
printf 'XXXX' | dd of="$TMP/B/m.vstf.ckpt" bs=1 seek=200 conv=notrunc 2>/dev/null
cp "$TMP/B/m.vstf.ckpt" "$TMP/ck.corrupt"
"$BIN" train "${T[@]}" -o "$TMP/B/m.vstf" --resume 2> "$TMP/err4.txt"
[ $? -ne 0 ] && grep -q "m.vstf.ckpt" "$TMP/err4.txt" && ok || bad "corrupt checkpoint not refused by name"
cmp -s "$TMP/B/m.vstf.ckpt" "$TMP/ck.corrupt" && ok || bad "refused checkpoint was modified"
"$BIN" train --batch 0 -o x 2>/dev/null; [ $? -eq 2 ] && ok || bad "bad option: exit 2 expected"
"$BIN" train "${T[@]}" -o "$TMP/D.vstf" --clip 3 2>/dev/null; [ $? -eq 2 ] && ok || bad "--clip 3: exit 2 expected"
"$BIN" train "${T[@]}" -o "$TMP/D.vstf" --freeze everything 2>/dev/null; [ $? -eq 2 ] && ok || bad "--freeze everything: exit 2 expected"

# --bank FILE: built and saved on the first run, loaded (no backbone work) on the next;
# --clip 8 and --freeze comparator (attention only) train on it, deterministically
"$BIN" train "${T[@]}" -o "$TMP/E1.vstf" --bank "$TMP/shared.bank" --clip 8 --init "$TMP/A/m.vstf" \
    --freeze comparator 2> "$TMP/err5.txt"
[ $? -eq 0 ] && [ -f "$TMP/shared.bank" ] && [ ! -f "$TMP/E1.vstf.bank" ] && ok || { bad "--bank run failed"; cat "$TMP/err5.txt" >&2; }
"$BIN" train "${T[@]}" -o "$TMP/E2.vstf" --bank "$TMP/shared.bank" --clip 8 --init "$TMP/A/m.vstf" \
    --freeze comparator 2> "$TMP/err6.txt"
[ $? -eq 0 ] && grep -q "bank $TMP/shared.bank: 4 videos" "$TMP/err6.txt" && ok || { bad "--bank not reused"; cat "$TMP/err6.txt" >&2; }
cmp -s "$TMP/E1.vstf" "$TMP/E2.vstf" && ok || bad "a run on the loaded bank differs from the run that built it"
# a checkpoint trained with --clip 8 is not resumed with another clip length
"$BIN" train "${T[@]}" -o "$TMP/F.vstf" --bank "$TMP/shared.bank" --clip 8 --stop-after 2 2>/dev/null
"$BIN" train "${T[@]}" -o "$TMP/F.vstf" --bank "$TMP/shared.bank" --resume 2> "$TMP/err7.txt"
[ $? -ne 0 ] && grep -q "F.vstf.ckpt was trained with --clip 8" "$TMP/err7.txt" && ok || bad "resume with another --clip not refused"
"$BIN" train "${T[@]}" -o "$TMP/F.vstf" --bank "$TMP/shared.bank" --clip 8 --resume 2>/dev/null
[ $? -eq 0 ] && [ -f "$TMP/F.vstf" ] && ok || bad "resume with the same --clip failed"
cmp -s "$TMP/E1.vstf" "$TMP/A/m.vstf" && bad "--freeze comparator run changed nothing" || ok
# --copy-edits: out of range exits 2; the bank without edits is refused by name; a run
# with edits builds its own bank, and its checkpoint is not resumed without them; a refused
# bank or checkpoint keeps its bytes
"$BIN" train "${T[@]}" -o "$TMP/G.vstf" --copy-edits 1.5 2>/dev/null; [ $? -eq 2 ] && ok || bad "--copy-edits 1.5: exit 2 expected"
cp "$TMP/shared.bank" "$TMP/shared.bank.before"
"$BIN" train "${T[@]}" -o "$TMP/G.vstf" --bank "$TMP/shared.bank" --copy-edits 0.5 2> "$TMP/err8.txt"
[ $? -ne 0 ] && grep -q "shared.bank: bank built with copy edits p_edit=0" "$TMP/err8.txt" && ok || bad "bank without copy edits not refused: $(cat "$TMP/err8.txt")"
cmp -s "$TMP/shared.bank" "$TMP/shared.bank.before" && [ ! -e "$TMP/G.vstf.ckpt" ] && ok || bad "refused bank was modified, or a checkpoint was written"
"$BIN" train "${T[@]}" -o "$TMP/G.vstf" --copy-edits 0.5 --stop-after 2 2> "$TMP/err9.txt"
[ $? -eq 0 ] && [ -f "$TMP/G.vstf.bank" ] && ok || { bad "--copy-edits run failed"; cat "$TMP/err9.txt" >&2; }
cp "$TMP/G.vstf.ckpt" "$TMP/G.ckpt.before"
"$BIN" train "${T[@]}" -o "$TMP/G.vstf" --resume 2> "$TMP/err10.txt"
[ $? -ne 0 ] && grep -q "G.vstf.ckpt was trained with --copy-edits 0.5" "$TMP/err10.txt" && ok || bad "resume without --copy-edits not refused: $(cat "$TMP/err10.txt")"
cmp -s "$TMP/G.vstf.ckpt" "$TMP/G.ckpt.before" && [ ! -e "$TMP/G.vstf" ] && ok || bad "refused checkpoint was modified, or a model was written"
"$BIN" train "${T[@]}" -o "$TMP/G.vstf" --copy-edits 0.5 --resume 2>/dev/null
[ $? -eq 0 ] && [ -f "$TMP/G.vstf" ] && ok || bad "resume with the same --copy-edits failed"
# --calib G: every logged total is infonce + 3 (hardneg + self) + reg + G calib, also after
# --resume (G comes back from the checkpoint); a negative G exits 2
"$BIN" train "${T[@]}" -o "$TMP/H.vstf" --bank "$TMP/shared.bank" --calib 0.5 --stop-after 2 --log "$TMP/H.log" 2>/dev/null
"$BIN" train "${T[@]}" -o "$TMP/H.vstf" --bank "$TMP/shared.bank" --resume --log "$TMP/H.log" 2>/dev/null
[ $? -eq 0 ] && [ "$(wc -l < "$TMP/H.log")" -eq 4 ] && ok || bad "--calib run: $(wc -l < "$TMP/H.log") logged steps, 4 expected"
tr -d '{}",' < "$TMP/H.log" | awk '{for (i = 1; i < NF; i += 2) v[$i] = $(i + 1);
    d = v["loss:"] - (v["infonce:"] + 3 * (v["hardneg:"] + v["self:"]) + v["reg:"] + 0.5 * v["calib:"]);
    if (d < -1e-4 || d > 1e-4 || v["calib:"] <= 0) bad++} END {exit bad}' && ok || bad "--calib: a logged total is not the weighted sum ($(head -1 "$TMP/H.log"))"
"$BIN" train "${T[@]}" -o "$TMP/H2.vstf" --calib -1 2>/dev/null; [ $? -eq 2 ] && ok || bad "--calib -1: exit 2 expected"
"$BIN" compare "$TMP/in/a.mp4" "$TMP/in/b.mp4" --backbone mobilenet --model "$TMP/E1.vstf" > "$TMP/cmp2.txt" 2>&1
[ $? -eq 0 ] && ok || bad "the --clip 8 model does not load"

# the check after training (--holdout): two of four videos kept out of the bank, then
# ViSiL_f and the new model scored on their edited copies, with a verdict
H=(--videos "$TMP/in/a.mp4" "$TMP/in/b.mp4" "$TMP/in/c.mkv" "$TMP/in/d.mp4" --iters 2 --batch 2 --views 1,1,0
   --max-frames 4 --clip 4 --no-overlays --backbone mobilenet -j 1)
mkdir -p "$TMP/H"
"$BIN" train "${H[@]}" --holdout 2 -o "$TMP/H/m.vstf" 2> "$TMP/H/err.txt" && ok || bad "train --holdout 2: $(cat "$TMP/H/err.txt")"
grep -q "2 of 4 videos held out of training" "$TMP/H/err.txt" && ok || bad "holdout not announced: $(cat "$TMP/H/err.txt")"
grep -q "bank of 2 videos" "$TMP/H/err.txt" && ok || bad "held-out videos went into the bank: $(cat "$TMP/H/err.txt")"
grep -q "held-out check on 2 videos not used in training (6 edited copies" "$TMP/H/err.txt" && ok || bad "no held-out check: $(cat "$TMP/H/err.txt")"
grep -Eq "^  ViSiL_f \(default\) +uAP [0-9.]+ +mAP [0-9.]+$" "$TMP/H/err.txt" && grep -Eq "^  m.vstf +uAP [0-9.]+ +mAP" "$TMP/H/err.txt" && ok ||
  bad "held-out figures: $(cat "$TMP/H/err.txt")"
grep -Eq "^  (the new model is better|ViSiL_f is better|no clear difference)" "$TMP/H/err.txt" && ok || bad "no verdict: $(cat "$TMP/H/err.txt")"
"$BIN" train "${H[@]}" --holdout 1 -o "$TMP/H/m1.vstf" 2> "$TMP/H/err1.txt"; rc=$?
[ $rc = 1 ] && grep -q "holdout 1 of 4 videos leaves one video to check on" "$TMP/H/err1.txt" && ok || bad "--holdout 1: exit $rc: $(cat "$TMP/H/err1.txt")"
"$BIN" train "${H[@]}" --holdout 3 -o "$TMP/H/m3.vstf" 2> "$TMP/H/err3.txt"; rc=$?
[ $rc = 1 ] && grep -q "too few to train on" "$TMP/H/err3.txt" && ok || bad "--holdout 3: exit $rc: $(cat "$TMP/H/err3.txt")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
