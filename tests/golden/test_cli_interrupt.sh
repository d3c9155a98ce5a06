#!/usr/bin/env bash
# test_cli_interrupt.sh - SIGINT / SIGTERM during long CLI work (cli_stop_*): `index
# add` stops taking videos, keeps what it committed, says how many are left and exits
# 130, and a rerun finishes the set; `train`, `train-hash` and `train-clip` finish their step,
# write MODEL.ckpt and exit 130, and --resume continues from that step. The signal is
# sent only once the work has visibly started (a committed video, a logged step), so
# the handlers are installed.
set -u
BIN=${VS_BIN:-build/vidsim}
TMP=${VS_TMP:-build/tmp}/cli_interrupt
MODELS=${VS_MODELS:-models}
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
[ -r "$MODELS/mobilenet_v2.vstf" ] && [ -r "$MODELS/inception_v3.vstf" ] || { echo "SKIP: no weights (run scripts/fetch_weights.sh)"; exit 77; }
command -v ffmpeg >/dev/null || { echo "SKIP: no ffmpeg"; exit 77; }
export VIDSIM_MODELS=$MODELS
rm -rf "$TMP"; mkdir -p "$TMP/in"
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
seeded() { case $1 in life) echo "life=seed=11:$2" ;; cellauto) echo "cellauto=seed=5:$2" ;; *) echo "$1=$2" ;; esac; } # the same clips every run
srcs=(testsrc2 mandelbrot smptebars rgbtestsrc cellauto testsrc)
for i in $(seq 0 11); do
  s=${srcs[$((i % 6))]}
  ff -f lavfi -i "$(seeded "$s" size=160x120:rate=5)" -ss $((i / 6 * 3)) -t 12 -pix_fmt yuv420p "$TMP/in/v$i.mp4"
done
[ "$(ls "$TMP/in" | wc -l)" -eq 12 ] && ok || bad "synthetic clips: $(ls "$TMP/in" | wc -l) of 12 made"

# wait_for FILE N: until FILE has at least N lines (300 s at most: the sanitizer build
# under a parallel ctest can take over 30 s to load features and run two steps)
wait_for() { for _ in $(seq 3000); do [ -f "$1" ] && [ "$(wc -l < "$1")" -ge "$2" ] && return 0; sleep 0.1; done; return 1; }
# stop PID SIG: send SIG, then wait for PID's exit status (SIGKILL after 300 s, so a
# process that ignores the signal fails the test instead of hanging it)
stop() {
  kill -"$2" "$1"
  for _ in $(seq 3000); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$1" 2>/dev/null && { echo "pid $1 ignored SIG$2; killed" >&2; kill -KILL "$1"; }
  wait "$1"
}

# index add, one job, InceptionV3 (12 x 12 frames: several seconds): SIGINT once the
# second video's feature file exists (with -j 1 the first video is committed by then).
# Only the file system is polled: a reader of the catalogue could race the writer.
"$BIN" index add --index "$TMP/idx" -j 1 -v "$TMP/in" > "$TMP/add.out" 2> "$TMP/add.err" &
pid=$!
nf=0
for _ in $(seq 3000); do
  nf=$(find "$TMP/idx" -name '*.vsf' 2>/dev/null | wc -l)
  [ "$nf" -ge 2 ] && break; sleep 0.1
done
stop "$pid" INT; rc=$?
[ "$nf" -ge 2 ] && ok || bad "index add wrote fewer than 2 feature files in 300 s"
[ "$rc" -eq 130 ] && ok || bad "index add after SIGINT: exit $rc, expected 130"
grep -q "interrupted: [0-9]* videos not processed" "$TMP/add.err" && ok || bad "index add: no 'interrupted' line"
n1=$(grep -c "^added" "$TMP/add.out")
[ "$n1" -ge 1 ] && [ "$n1" -lt 12 ] && ok || bad "interrupted run committed $n1 of 12 videos"
"$BIN" index verify --index "$TMP/idx" > "$TMP/verify.txt" 2>&1 && ok || bad "verify after SIGINT failed"
grep -q "($n1 ok, 0 failed), 0 problems" "$TMP/verify.txt" && ok || bad "catalogue after SIGINT: $(cat "$TMP/verify.txt")"
"$BIN" index add --index "$TMP/idx" -j 1 "$TMP/in" > /dev/null 2> "$TMP/add2.err"
[ $? -eq 0 ] && grep -q "$((12 - n1)) added, 0 replaced, $n1 unchanged" "$TMP/add2.err" && ok || bad "rerun did not finish the set: $(tail -1 "$TMP/add2.err")"

# train-hash / train-clip: SIGINT / SIGTERM after the second logged step
"$BIN" extract --backbone mobilenet "$TMP/in" -o "$TMP/feat" > /dev/null 2>&1 || bad "extract failed"
for cmd in train-hash train-clip; do
  # train-clip with a small encoder: its steps, not the model, are under test
  sig=INT; small=(); [ "$cmd" = train-clip ] && { sig=TERM; small=(--width 32 --depth 1 --heads 2); }
  "$BIN" $cmd --features "$TMP/feat" -o "$TMP/$cmd.vstf" --iters 1000000 --batch 4 --every 1000000 "${small[@]}" \
      --log "$TMP/$cmd.log" 2> "$TMP/$cmd.err" &
  pid=$!
  wait_for "$TMP/$cmd.log" 3 || bad "$cmd logged no step in 300 s"
  stop "$pid" $sig; rc=$?
  [ "$rc" -eq 130 ] && ok || bad "$cmd after SIG$sig: exit $rc, expected 130"
  step=$(sed -n 's/.*interrupted at step \([0-9]*\) .*/\1/p' "$TMP/$cmd.err")
  [ -n "$step" ] && [ -f "$TMP/$cmd.vstf.ckpt" ] && [ ! -f "$TMP/$cmd.vstf" ] && ok ||
    bad "$cmd: expected 'interrupted at step N' and a checkpoint only ($(tail -1 "$TMP/$cmd.err"))"
  "$BIN" $cmd --features "$TMP/feat" -o "$TMP/$cmd.vstf" --iters 1000000 --batch 4 --every 1000000 "${small[@]}" \
      --resume --log "$TMP/$cmd.log2" 2> "$TMP/$cmd.err2" &
  pid=$!
  wait_for "$TMP/$cmd.log2" 2 || bad "$cmd --resume logged no step in 300 s"
  stop "$pid" INT
  first=$(grep -m1 -o '^[0-9]*' "$TMP/$cmd.log2")
  [ -n "$first" ] && [ "$first" -gt "$step" ] && ok || bad "$cmd --resume started at step '$first', interrupted at $step"
done

# vidsim train (S2VS, bank mode, mobilenet, 4 frames of 4 clips): SIGINT after the second
# logged step finishes that step, writes MODEL.ckpt (no model) and exits 130; --resume
# logs its first step after the interrupted one
TR=(--videos "$TMP/in/v0.mp4" "$TMP/in/v1.mp4" "$TMP/in/v2.mp4" "$TMP/in/v3.mp4" -o "$TMP/s2vs.vstf"
    --iters 1000000 --batch 2 --views 1,1,0 --max-frames 4 --clip 4 --no-overlays --backbone mobilenet
    -j 1 --checkpoint-every 1000000)
"$BIN" train "${TR[@]}" --log "$TMP/s2vs.log" 2> "$TMP/s2vs.err" &
pid=$!
wait_for "$TMP/s2vs.log" 2 || bad "train logged no step in 300 s"
stop "$pid" INT; rc=$?
[ "$rc" -eq 130 ] && ok || bad "train after SIGINT: exit $rc, expected 130"
step=$(sed -n 's/.*interrupted at step \([0-9]*\) of.*/\1/p' "$TMP/s2vs.err")
[ -n "$step" ] && [ -f "$TMP/s2vs.vstf.ckpt" ] && [ ! -f "$TMP/s2vs.vstf" ] && ok ||
  bad "train: expected 'interrupted at step N' and a checkpoint only ($(tail -1 "$TMP/s2vs.err"))"
"$BIN" train "${TR[@]}" --resume --log "$TMP/s2vs.log2" 2> "$TMP/s2vs.err2" &
pid=$!
wait_for "$TMP/s2vs.log2" 1 || bad "train --resume logged no step in 300 s"
stop "$pid" TERM; rc=$?
first=$(sed -n '1s/^{"step": \([0-9]*\),.*/\1/p' "$TMP/s2vs.log2")
[ "$rc" -eq 130 ] && [ -n "$first" ] && [ -n "$step" ] && [ "$first" -eq $((step + 1)) ] && ok ||
  bad "train --resume: exit $rc, first step '$first', interrupted at '$step'"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
