#!/usr/bin/env bash
# kill_trials.sh WORKDIR [KILLS] - SIGKILL at random moments during the writers that
# users trust with hours of work (issue 19, docs/reliability.md "Kill trials"):
#   index add   (feature files + catalogue commits),
#   train-hash, train-clip, train (S2VS)   (checkpoints every step),
# KILLS times each (default 100), restarting after every kill (`index add` again,
# `--resume` for the trainers), then running to the end. Checks after every kill that the
# index verifies with no completed video lost and that the checkpoint resumes; at the end
# that the index holds every video and that each trainer's model is byte-identical to an
# uninterrupted run's. One line per writer: kills, checks failed, result. Minutes of CPU:
# never run as a test. Environment: VS_BIN (default build/vidsim), VIDSIM_MODELS.
set -uo pipefail
cd "$(dirname "$0")/.."
W=${1:?usage: $0 WORKDIR [KILLS]}
KILLS=${2:-100}
V=${VS_BIN:-build/vidsim}
rm -rf "$W"; mkdir -p "$W/in"
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
seeded() { case $1 in life) echo "life=seed=11:$2" ;; cellauto) echo "cellauto=seed=5:$2" ;; *) echo "$1=$2" ;; esac; } # the same clips every run
srcs=(testsrc2 testsrc mandelbrot smptebars rgbtestsrc smptehdbars life cellauto yuvtestsrc pal75bars)
for k in $(seq 0 29); do
  s=${srcs[$((k % 10))]}
  ff -f lavfi -i "$(seeded "$s" size=160x120:rate=10)" -t $((3 + k % 4)) -vf "hue=h=$((k * 12))" -pix_fmt yuv420p "$W/in/v$k.mp4"
done
rnd_sleep() { sleep "0.$(printf '%02d' $((RANDOM % 60 + 5)))"; }
count_ok() { "$V" index ls --index "$1" --format csv 2>/dev/null | awk -F, 'NR > 1 && $3 == "ok"' | wc -l; }

# ---- index add: every kill leaves an index that verifies (but for the file being
# written, which the next writer removes); ok rows never decrease
bad=0; kills=0; prev=0; residue=0
while [ $kills -lt "$KILLS" ]; do
  "$V" index add --index "$W/idx" --backbone mobilenet --raw --fps 2 -j 2 "$W/in" > /dev/null 2>&1 &
  pid=$!; rnd_sleep
  if kill -0 $pid 2>/dev/null; then kill -9 $pid; wait $pid 2>/dev/null; kills=$((kills + 1))
  else wait $pid; fi
  # a kill mid-write may leave the file being written (a temporary file, or a feature file
  # whose row was not committed yet): verify names it and the next writer removes it;
  # anything else (a lost or damaged video, a broken catalogue) is a failure
  if ! "$V" index verify --index "$W/idx" > "$W/verify.txt" 2>&1 && [ -d "$W/idx" ]; then
    if grep -Eq "^(temp file|orphan) " "$W/verify.txt" && ! grep -Ev "^(temp file|orphan) |^$W/idx: " "$W/verify.txt" | grep -q .; then
      residue=$((residue + 1))
    else
      bad=$((bad + 1)); echo "verify after kill $kills: $(cat "$W/verify.txt")" >&2
    fi
  fi
  n=$(count_ok "$W/idx"); [ "$n" -ge "$prev" ] || { bad=$((bad + 1)); echo "kill $kills: ok rows $prev -> $n" >&2; }
  prev=$n
  if [ "$n" -ge 30 ]; then rm -rf "$W/idx"; prev=0; fi   # all in: start over for more kills
done
"$V" index add --index "$W/idx" --backbone mobilenet --raw --fps 2 -j 2 "$W/in" > /dev/null 2>&1
[ "$(count_ok "$W/idx")" = 30 ] || { bad=$((bad + 1)); echo "index add: the rerun left $(count_ok "$W/idx") of 30" >&2; }
"$V" index verify --index "$W/idx" > /dev/null 2>&1 || bad=$((bad + 1))
echo "index add     kills=$kills failed_checks=$bad left_a_partial_file=$residue $([ $bad = 0 ] && echo ok || echo FAILED)"

# ---- trainers: checkpoint every step, killed at random, resumed; the final model must be
# byte-identical to an uninterrupted run's
"$V" extract --backbone mobilenet "$W/in" -o "$W/feat" > /dev/null 2>&1
trial() { # name, args... (without -o/--resume)
  local name=$1; shift
  local bad=0 kills=0 out=$W/$name
  "$V" "$@" -o "$out.ref.vstf" > /dev/null 2>&1 || { echo "$name: the uninterrupted run failed" >&2; bad=1; }
  rm -f "$out.vstf" "$out.vstf.ckpt"
  local r=()
  while [ $kills -lt "$KILLS" ] && [ ! -f "$out.vstf" ]; do
    "$V" "$@" -o "$out.vstf" "${r[@]}" > /dev/null 2> "$out.err" &
    local pid=$!; rnd_sleep
    if kill -0 $pid 2>/dev/null; then kill -9 $pid; wait $pid 2>/dev/null; kills=$((kills + 1))
    else wait $pid || { bad=$((bad + 1)); echo "$name: run failed: $(tail -1 "$out.err")" >&2; }; fi
    [ -f "$out.vstf.ckpt" ] && r=(--resume) || r=()
  done
  [ -f "$out.vstf" ] || "$V" "$@" -o "$out.vstf" "${r[@]}" > /dev/null 2> "$out.err" || { bad=$((bad + 1)); echo "$name: final run: $(tail -1 "$out.err")" >&2; }
  cmp -s "$out.vstf" "$out.ref.vstf" || { bad=$((bad + 1)); echo "$name: model differs from the uninterrupted run" >&2; }
  printf '%-13s kills=%s failed_checks=%s %s\n' "$name" "$kills" "$bad" "$([ $bad = 0 ] && echo ok || echo FAILED)"
}
trial train-hash train-hash --features "$W/feat" --iters 200 --batch 8 --every 1 --seed 3
trial train-clip train-clip --features "$W/feat" --iters 60 --batch 8 --every 1 --seed 3
trial train train --videos "$W/in/v0.mp4" "$W/in/v1.mp4" "$W/in/v2.mp4" "$W/in/v3.mp4" --iters 60 --batch 2 --views 1,1,0 --max-frames 4 --clip 4 --no-overlays \
  --backbone mobilenet -j 1 --checkpoint-every 1 --seed 3
