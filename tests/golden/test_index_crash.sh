#!/usr/bin/env bash
# test_index_crash.sh - crash safety of `vidsim index add`, end to end: real small
# clips (ffmpeg lavfi), the real decoder and backbone (mobilenet, raw features, so
# no whitening file is needed). `index add -v` is SIGKILLed at random moments, over
# and over, while some clips change between rounds and every other run uses --force
# (so adds replace rows).
# After every kill: the catalogue passes SQLite's integrity check, `index verify`
# reports no bad row (only orphan/temp files a kill may leave), every row marked ok
# has a loadable feature file (verify loads each one and checks its checksum), and
# every video the killed run had reported committed ("added|replaced|unchanged
# PATH" on stdout) is in the catalogue. A final unkilled run completes the set and
# leaves verify clean. The library-level version is tests/unit/test_index_kill.c.
set -u
BIN=${VS_BIN:-build/vidsim}
TMP=${VS_TMP:-build/tmp}/index_crash
MODELS=${VS_MODELS:-models}
ROUNDS=${VS_CRASH_ROUNDS:-14}
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
[ -r "$MODELS/mobilenet_v2.vstf" ] || { echo "SKIP: no weights (run scripts/fetch_weights.sh)"; exit 77; }
command -v ffmpeg >/dev/null || { echo "SKIP: no ffmpeg"; exit 77; }
command -v sqlite3 >/dev/null || { echo "SKIP: no sqlite3 CLI"; exit 77; }
export VIDSIM_MODELS=$MODELS
rm -rf "$TMP"; mkdir -p "$TMP/clips"
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
lavfi() { case $1 in *=*) echo "$1:size=192x144:rate=15" ;; *) echo "$1=size=192x144:rate=15" ;; esac; }
srcs=(testsrc2 testsrc mandelbrot smptebars rgbtestsrc smptehdbars life=seed=11 cellauto=seed=5)  # seeded: the same clips every run
for k in "${!srcs[@]}"; do
  ff -f lavfi -i "$(lavfi "${srcs[$k]}")" -t $((2 + k % 3)) -pix_fmt yuv420p "$TMP/clips/c$k.mp4" \
    || { echo "SKIP: ffmpeg could not make clip $k"; exit 77; }
done
head -c 4000 /dev/urandom > "$TMP/clips/noise.mp4"
IDX="$TMP/idx"
ADD=("$BIN" index add --index "$IDX" "$TMP/clips" -j 2 --backbone mobilenet --raw -v)

check_index() { # $1: round, $2: file with the killed run's stdout
  local round=$1 log=$2 ic out rc
  if [ ! -e "$IDX/catalogue.sqlite" ]; then ok; return; fi   # killed before creating it
  ic=$(sqlite3 "$IDX/catalogue.sqlite" "PRAGMA integrity_check" 2>&1)
  [ "$ic" = ok ] && ok || bad "round $round: integrity_check: $ic"
  out=$("$BIN" index verify --index "$IDX" 2>"$TMP/verify_err.txt"); rc=$?
  if grep -qvE '^(orphan|temp file) ' <<<"$out" && [ -n "$out" ]; then
    bad "round $round: verify found: $(grep -vE '^(orphan|temp file) ' <<<"$out")"
  else ok; fi
  [ $rc -eq 0 ] || [ -n "$out" ] || bad "round $round: verify failed: $(cat "$TMP/verify_err.txt")"
  # every committed video is present and ok (failed ones present as failed)
  local ls; ls=$("$BIN" index ls --index "$IDX" --format csv) || { bad "round $round: ls failed"; return; }
  while read -r what path; do
    [ -n "$path" ] || continue
    local name; name=$(basename "${path%.*}")
    local want=ok; [ "$what" = failed ] && want=failed
    if grep -q "^[0-9]*,$name,$want," <<<"$ls"; then ok; else bad "round $round: $what $path missing from the catalogue"; fi
  done < "$log"
  # rows marked ok all point at an existing file (verify loaded each one above)
  local n_ok n_files
  n_ok=$(sqlite3 "$IDX/catalogue.sqlite" "SELECT count(*) FROM videos WHERE status='ok'")
  n_files=$(sqlite3 "$IDX/catalogue.sqlite" "SELECT feature_file FROM videos WHERE status='ok'" |
            while read -r f; do [ -f "$IDX/$f" ] && echo x; done | wc -l)
  [ "$n_ok" = "$n_files" ] && ok || bad "round $round: $n_ok ok rows but $n_files feature files"
}

killed=0
for round in $(seq 1 "$ROUNDS"); do
  # change a clip now and then, so the next add replaces its row
  if [ $((round % 3)) -eq 0 ]; then
    k=$((RANDOM % ${#srcs[@]}))
    ff -f lavfi -i "$(lavfi "${srcs[$(((k + round) % ${#srcs[@]}))]}")" -t 2 -pix_fmt yuv420p \
       "$TMP/clips/.new.mp4" && mv "$TMP/clips/.new.mp4" "$TMP/clips/c$k.mp4"
  fi
  force=(); [ $((round % 2)) -eq 0 ] && force=(--force)   # re-extract and replace every row
  "${ADD[@]}" "${force[@]}" >"$TMP/out_$round.txt" 2>"$TMP/err_$round.txt" &
  pid=$!
  # a random moment: 0 to 2.2 s (a forced run takes about 2 s, a third of it loading the model)
  ms=$((RANDOM % 2200))
  sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
  if kill -9 "$pid" 2>/dev/null; then killed=$((killed+1)); fi
  wait "$pid" 2>/dev/null
  check_index "$round" "$TMP/out_$round.txt"
done
echo "killed $killed of $ROUNDS runs" >&2

"${ADD[@]}" >"$TMP/out_final.txt" 2>"$TMP/err_final.txt"
rc=$?
[ $rc -eq 1 ] && ok || bad "final run exit $rc (want 1: noise.mp4 fails): $(cat "$TMP/err_final.txt")"
grep -q "noise.mp4" "$TMP/err_final.txt" && ok || bad "final run did not list noise.mp4"
check_index final "$TMP/out_final.txt"
n_ok=$(sqlite3 "$IDX/catalogue.sqlite" "SELECT count(*) FROM videos WHERE status='ok'")
[ "$n_ok" = "${#srcs[@]}" ] && ok || bad "final: $n_ok ok rows, want ${#srcs[@]}"
n_failed=$(sqlite3 "$IDX/catalogue.sqlite" "SELECT count(*) FROM videos WHERE status='failed'")
[ "$n_failed" = 1 ] && ok || bad "final: $n_failed failed rows, want 1"
"$BIN" index verify --index "$IDX" >"$TMP/verify_final.txt" 2>&1 && ok || bad "final verify: $(cat "$TMP/verify_final.txt")"
n_files=$(find "$IDX/features" -type f | wc -l)
[ "$n_files" = "${#srcs[@]}" ] && ok || bad "final: $n_files files in features/, want ${#srcs[@]}"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
