#!/usr/bin/env bash
# train_golden.sh BASE_BIN NEW_BIN WORKDIR - proof that a refactor of the trainers left
# them unchanged: runs `train` (S2VS; -j 1 and -j 2), `train-hash` and `train-clip` for
# 20 steps with a fixed seed on a tiny synthetic set with both binaries, and diffs the
# per-step losses (the logs, minus the wall-clock field) and the saved model files (byte
# for byte, so every tensor). A resume case per trainer (10 steps, then --resume to 20)
# is compared the same way, and the script says whether it equals the straight run;
# the compat_* cases resume checkpoints written by the baseline with both binaries.
# Prints `same` / `DIFFERS` per case; exits 1 if any differs. Needs ffmpeg and the
# bundled mobilenet_v2 weights (VIDSIM_MODELS, default ./models).
set -u
[ $# -eq 3 ] || { echo "usage: $0 BASE_BIN NEW_BIN WORKDIR" >&2; exit 2; }
BASE=$(realpath "$1"); NEW=$(realpath "$2"); W=$3
export VIDSIM_MODELS=${VIDSIM_MODELS:-$(pwd)/models}
export OPENBLAS_NUM_THREADS=1
mkdir -p "$W/in"
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
seeded() { case $1 in life) echo "life=seed=11:$2" ;; cellauto) echo "cellauto=seed=5:$2" ;; *) echo "$1=$2" ;; esac; } # the same clips every run
srcs=(testsrc2 mandelbrot smptebars rgbtestsrc cellauto testsrc)
for i in 0 1 2 3 4 5; do
  [ -f "$W/in/v$i.mp4" ] || ff -f lavfi -i "$(seeded "${srcs[$i]}" size=160x120:rate=5)" -t 12 -pix_fmt yuv420p "$W/in/v$i.mp4"
done
# the features come from one binary (the base), so only the trainers are compared
[ -d "$W/feat" ] || "$BASE" extract --backbone mobilenet -j 1 "$W/in" -o "$W/feat" > /dev/null 2>&1 ||
  { echo "extract failed" >&2; exit 2; }

S2=(--videos "$W/in" --batch 2 --views 1,1,1 --max-frames 8 --clip 4 --no-overlays
    --backbone mobilenet --lr 1e-3 --warmup 3 --seed 7 --checkpoint-every 5)
HA=(--features "$W/feat" --batch 4 --frames 8 --warmup 3 --seed 7 --every 5)
CL=(--features "$W/feat" --batch 4 --width 32 --depth 1 --heads 2 --seg-clips 2 --seed 7 --every 5)

# run TAG BIN CMD ARGS...: output in $W/TAG/{base,new}
run() {
  local tag=$1 who=$2 bin=$3; shift 3
  local d="$W/$tag/$who"; mkdir -p "$d"
  (cd "$d" && "$bin" "$@" > out.txt 2> err.txt; echo $? > rc.txt)
}
# close_logs A B: every number of the two logs within 1e-4 relative (or 1e-6 absolute)
close_logs() {
  python3 - "$1" "$2" <<'PY'
import re, sys
num = re.compile(r'-?[0-9.]+(?:e-?[0-9]+)?')
a = [l for l in open(sys.argv[1]) ]; b = [l for l in open(sys.argv[2])]
if len(a) != len(b): sys.exit(1)
for x, y in zip(a, b):
    x = re.sub(r', "t": [0-9.]*', '', x); y = re.sub(r', "t": [0-9.]*', '', y)
    u, v = num.findall(x), num.findall(y)
    if len(u) != len(v): sys.exit(1)
    for p, q in zip(u, v):
        p, q = float(p), float(q)
        if abs(p - q) > max(1e-6, 1e-4 * max(abs(p), abs(q))): sys.exit(1)
PY
}
norm_log() { sed -e 's/, "t": [0-9.]*}/}/' "$1"; }

cases=()
case_s2vs() { # tag j
  local tag=$1 j=$2
  rm -rf "$W/$tag"
  for who in base new; do
    local bin=$BASE; [ $who = new ] && bin=$NEW
    run "$tag" $who "$bin" train "${S2[@]}" -j "$j" --iters 20 -o m.vstf --log log.jsonl
  done
  cases+=("$tag")
}
case_s2vs_resume() { # tag
  local tag=$1
  rm -rf "$W/$tag"
  for who in base new; do
    local bin=$BASE; [ $who = new ] && bin=$NEW
    run "$tag" $who "$bin" train "${S2[@]}" -j 1 --iters 20 --stop-after 10 -o m.vstf --log log.jsonl
    run "$tag" $who "$bin" train "${S2[@]}" -j 1 --iters 20 --resume -o m.vstf --log log.jsonl
  done
  cases+=("$tag")
}
case_hash() {
  local tag=$1
  rm -rf "$W/$tag"
  for who in base new; do
    local bin=$BASE; [ $who = new ] && bin=$NEW
    run "$tag" $who "$bin" train-hash "${HA[@]}" --iters 20 -o m.vstf --log log.csv
  done
  cases+=("$tag")
}
case_hash_resume() {
  local tag=$1
  rm -rf "$W/$tag"
  for who in base new; do
    local bin=$BASE; [ $who = new ] && bin=$NEW
    run "$tag" $who "$bin" train-hash "${HA[@]}" --iters 10 -o m.vstf --log log.csv
    run "$tag" $who "$bin" train-hash "${HA[@]}" --iters 20 --resume -o m.vstf --log log.csv
  done
  cases+=("$tag")
}
case_clip() { # tag stage iters-per-stage
  local tag=$1 stage=$2 it=$3
  rm -rf "$W/$tag"
  for who in base new; do
    local bin=$BASE; [ $who = new ] && bin=$NEW
    run "$tag" $who "$bin" train-clip "${CL[@]}" --stage "$stage" --iters "$it" -o m.vstf --log log.csv
  done
  cases+=("$tag")
}
case_clip_resume() { # tag stage iters1 iters2
  local tag=$1 stage=$2 i1=$3 i2=$4
  rm -rf "$W/$tag"
  for who in base new; do
    local bin=$BASE; [ $who = new ] && bin=$NEW
    run "$tag" $who "$bin" train-clip "${CL[@]}" --stage "$stage" --iters "$i1" -o m.vstf --log log.csv
    run "$tag" $who "$bin" train-clip "${CL[@]}" --stage "$stage" --iters "$i2" --resume -o m.vstf --log log.csv
  done
  cases+=("$tag")
}

# compat TAG FIRST-ARGS -- RESUME-ARGS: the baseline writes the checkpoint of the first
# run; each binary resumes from its own copy of it (checkpoints from before the change
# must load and continue identically)
case_compat() {
  local tag=$1; shift
  rm -rf "$W/$tag"
  local first=() second=()
  while [ "$1" != -- ]; do first+=("$1"); shift; done; shift
  second=("$@")
  run "$tag" base "$BASE" "${first[@]}"
  rm -rf "$W/$tag/new"; cp -r "$W/$tag/base" "$W/$tag/new"
  run "$tag" base "$BASE" "${second[@]}"
  run "$tag" new "$NEW" "${second[@]}"
  cases+=("$tag")
}

case_s2vs s2vs_j1 1
case_s2vs s2vs_j2 2
# the baseline with -j 2 is run twice: its pairs are claimed dynamically by the worker
# threads, so its float sums may differ from run to run (then only a tolerance applies)
run s2vs_j2 base2 "$BASE" train "${S2[@]}" -j 2 --iters 20 -o m.vstf --log log.jsonl
case_s2vs_resume s2vs_resume
case_hash hash
case_hash_resume hash_resume
case_clip clip_both both 10
case_clip clip_predmae predmae 20
case_clip clip_fcs fcs 20
case_clip_resume clip_predmae_resume predmae 10 20
case_clip_resume clip_fcs_resume fcs 10 20
case_compat compat_s2vs train "${S2[@]}" -j 1 --iters 20 --stop-after 10 -o m.vstf --log log.jsonl -- \
  train "${S2[@]}" -j 1 --iters 20 --resume -o m.vstf --log log.jsonl
case_compat compat_hash train-hash "${HA[@]}" --iters 10 -o m.vstf --log log.csv -- \
  train-hash "${HA[@]}" --iters 20 --resume -o m.vstf --log log.csv
case_compat compat_clip train-clip "${CL[@]}" --stage both --iters 5 -o m.vstf --log log.csv -- \
  train-clip "${CL[@]}" --stage both --iters 10 --resume -o m.vstf --log log.csv

status=0
for c in "${cases[@]}"; do
  b="$W/$c/base" n="$W/$c/new" why=""
  log=$(ls "$b" | grep '^log\.' | head -1)
  [ "$(cat "$b/rc.txt")" = "$(cat "$n/rc.txt")" ] || why="$why exit($(cat "$b/rc.txt") vs $(cat "$n/rc.txt"))"
  [ "$(cat "$b/rc.txt")" = 0 ] || why="$why base-failed"
  cmp -s <(norm_log "$b/$log") <(norm_log "$n/$log") || why="$why losses"
  [ -s "$b/$log" ] || why="$why empty-log"
  cmp -s "$b/m.vstf" "$n/m.vstf" || why="$why model"
  steps=$(grep -c . "$n/$log")
  if [ -z "$why" ]; then echo "same     $c ($steps log lines, model identical)"
  elif [ -d "$W/$c/base2" ] && ! cmp -s <(norm_log "$b/$log") <(norm_log "$W/$c/base2/$log") &&
       [ "$(cat "$b/rc.txt")$(cat "$n/rc.txt")" = 00 ] && close_logs "$b/$log" "$n/$log"; then
    echo "close    $c: the baseline differs from itself between two runs; losses within 1e-4 relative"
  else echo "DIFFERS  $c:$why"; status=1; fi
done
# resumed runs against the straight 20-step runs of the same binary (informative: the
# baseline's behaviour is what the new binary must match, checked above)
for pair in s2vs_resume:s2vs_j1 hash_resume:hash clip_predmae_resume:clip_predmae clip_fcs_resume:clip_fcs; do
  r=${pair%%:*} s=${pair##*:}
  for who in base new; do
    cmp -s "$W/$r/$who/m.vstf" "$W/$s/$who/m.vstf" && eq="equals" || eq="differs from"
    echo "note     $who: $r (10 + resume 10) $eq $s (20 straight)"
  done
done
exit $status
