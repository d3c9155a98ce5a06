#!/usr/bin/env bash
# race_ls_add.sh [N] - stress test for readers beside the first writer of an index
# (issue 19): N times (default 1000), create a fresh index with `vidsim index add` of
# one tiny clip while `vidsim index ls` runs in a tight loop on the same directory.
# A reader may find no index yet ("not an index"/"no such index directory") or an
# empty or complete listing; anything else (another error, a malformed listing, a
# crash) is a failure and is kept under $W/fail-K. Prints a summary line
# "race_ls_add: N rounds, L reads, F failures" and the distinct reader messages.
set -u
cd "$(dirname "$0")/.."
N=${1:-1000}
V=${VS_BIN:-build/vidsim}
W=${VS_TMP:-/tmp}/race_ls_add
rm -rf "$W"; mkdir -p "$W/in"
ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=160x120:rate=5 -t 1 -pix_fmt yuv420p "$W/in/a.mp4" || exit 2
reads=0; fails=0
: > "$W/messages"
for k in $(seq 1 "$N"); do
  idx=$W/idx
  rm -rf "$idx"
  "$V" index add --index "$idx" "$W/in" --backbone mobilenet --raw -j 1 > /dev/null 2> "$W/add.err" &
  apid=$!
  while kill -0 "$apid" 2> /dev/null; do
    out=$("$V" index ls --index "$idx" 2> "$W/ls.err"); rc=$?
    reads=$((reads + 1))
    msg=$(sed 's|/[^ :]*||g' "$W/ls.err" | head -1)
    [ -n "$msg" ] && echo "$msg" >> "$W/messages"
    ok=0
    if [ $rc -eq 0 ]; then
      # header alone, or header + one row for a.mp4
      n=$(printf '%s\n' "$out" | wc -l)
      { [ "$n" = 1 ] || { [ "$n" = 2 ] && printf '%s\n' "$out" | tail -1 | grep -q ',a,'; }; } && ok=1
    elif grep -q "not an index\|no such index directory" "$W/ls.err"; then
      ok=1
    fi
    if [ $ok = 0 ]; then
      fails=$((fails + 1))
      mkdir -p "$W/fail-$k"; printf '%s\n' "$out" > "$W/fail-$k/ls.out"; cp "$W/ls.err" "$W/fail-$k/"
      echo "round $k: ls exit $rc: $(head -2 "$W/ls.err")" >&2
    fi
  done
  wait "$apid" || { fails=$((fails + 1)); echo "round $k: add failed: $(cat "$W/add.err")" >&2; }
  [ -t 2 ] && printf '\r%d/%d rounds, %d reads, %d failures' "$k" "$N" "$reads" "$fails" >&2
done
[ -t 2 ] && echo >&2
echo "race_ls_add: $N rounds, $reads reads, $fails failures"
sort "$W/messages" | uniq -c | sort -rn | head -10
[ "$fails" = 0 ]
