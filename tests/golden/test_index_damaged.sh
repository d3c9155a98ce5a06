#!/usr/bin/env bash
# test_index_damaged.sh - damaged feature files in an index are never lost silently
# (mobilenet, raw features, tiny lavfi clips):
#  * a truncated, and separately a bit-flipped, feature file: `search` (exhaustive and
#    --two-stage) and `dedup` still print every other result, then name the skipped
#    video and the remedy on stderr and exit 1; --allow-partial exits 0; jsonl gets a
#    {"ref_id","skipped","error"} row; `index add` on the same folder re-extracts the
#    damaged video ("replaced", listed as repaired with the reason) and the match is
#    back with exit 0; a further add leaves everything unchanged;
#  * a row removed (`index rm`) during a two-stage search is reported as removed
#    during the search, not as damage (no "verify --repair"), and exits 0;
#  * an index without a single successful add says so on search;
#  * a clip shorter than one sample says so (extract).
set -u
BIN=${VS_BIN:-build/vidsim}
TMP=${VS_TMP:-build/tmp}/index_damaged
MODELS=${VS_MODELS:-models}
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
[ -r "$MODELS/mobilenet_v2.vstf" ] || { echo "SKIP: no weights (run scripts/fetch_weights.sh)"; exit 77; }
command -v ffmpeg >/dev/null || { echo "SKIP: no ffmpeg"; exit 77; }
export VIDSIM_MODELS=$MODELS
rm -rf "$TMP"; mkdir -p "$TMP/in" "$TMP/bad"
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
ff -f lavfi -i testsrc2=size=160x120:rate=10:duration=4 -pix_fmt yuv420p "$TMP/in/a.mp4"
ff -f lavfi -i mandelbrot=size=160x120:rate=10 -t 4 -pix_fmt yuv420p "$TMP/in/b.mp4"
ff -i "$TMP/in/a.mp4" -vf scale=120:90 "$TMP/in/a_small.mp4"
ADD=(--backbone mobilenet --raw -j 2)
IDX=$TMP/idx
"$BIN" index add --index "$IDX" "$TMP/in" "${ADD[@]}" --hash-model lsh64 2>"$TMP/add0.err" && ok || bad "add: $(cat "$TMP/add0.err")"
"$BIN" search --index "$IDX" a > "$TMP/good.csv" 2>"$TMP/good.err" && ok || bad "search on the intact index: $(cat "$TMP/good.err")"
[ "$(sed -n 2p "$TMP/good.csv" | cut -d, -f1,2)" = a,a_small ] && ok || bad "a does not find a_small first: $(cat "$TMP/good.csv")"

# feature file of a_small (by its row: the names are content hashes)
feat_of() { "$BIN" index ls --index "$IDX" --format jsonl | grep '"name":"a_small"' | sed 's/.*"feature_file":"\([^"]*\)".*/\1/'; }

# $1: label. a_small's feature file has just been damaged.
check_damaged() {
  local lb=$1 vf=$2
  local sum; sum=$(sha256sum "$vf")
  # exhaustive search: the other results, then exit 1 naming the video and the remedy
  "$BIN" search --index "$IDX" a > "$TMP/$lb.csv" 2> "$TMP/$lb.err"; local rc=$?
  [ $rc -eq 1 ] && ok || bad "$lb: search exit $rc, want 1: $(cat "$TMP/$lb.err")"
  [ "$(head -1 "$TMP/$lb.csv")" = "query_id,ref_id,score" ] && grep -q '^a,b,' "$TMP/$lb.csv" && ok \
    || bad "$lb: the other results were not printed: $(cat "$TMP/$lb.csv")"
  grep -q '^a,a_small,' "$TMP/$lb.csv" && bad "$lb: the damaged entry was scored" || ok
  grep -q "results are partial" "$TMP/$lb.err" && grep -q "skipped $TMP/in/a_small.mp4: .*$(basename "$vf")" "$TMP/$lb.err" \
    && ok || bad "$lb: skipped entry not named: $(cat "$TMP/$lb.err")"
  grep -q 'vidsim index add --index .*--backbone mobilenet_v2 --raw' "$TMP/$lb.err" && grep -q 'verify --index .* --repair' "$TMP/$lb.err" \
    && grep -q -- '--allow-partial' "$TMP/$lb.err" && ok || bad "$lb: no remedy: $(cat "$TMP/$lb.err")"
  # --allow-partial: the same results, exit 0, still listed
  "$BIN" search --index "$IDX" a --allow-partial > "$TMP/$lb.p.csv" 2> "$TMP/$lb.p.err" && ok || bad "$lb: --allow-partial exit $?"
  cmp -s "$TMP/$lb.csv" "$TMP/$lb.p.csv" && grep -q "skipped $TMP/in/a_small.mp4" "$TMP/$lb.p.err" && ok \
    || bad "$lb: --allow-partial changed the results or hid the skip: $(cat "$TMP/$lb.p.err")"
  # jsonl: one skipped row after the results
  "$BIN" search --index "$IDX" a --format jsonl > "$TMP/$lb.jsonl" 2>/dev/null
  rc=$?
  [ $rc -eq 1 ] && ok || bad "$lb: jsonl exit $rc"
  [ "$(grep -c '"skipped":' "$TMP/$lb.jsonl")" = 1 ] && tail -1 "$TMP/$lb.jsonl" | grep -q "^{\"ref_id\":\"a_small\",\"skipped\":\"$TMP/in/a_small.mp4\",\"error\":\".*$(basename "$vf")" \
    && ok || bad "$lb: no skipped row: $(cat "$TMP/$lb.jsonl")"
  if command -v python3 >/dev/null; then
    python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$TMP/$lb.jsonl" && ok || bad "$lb: jsonl does not parse"
  fi
  # two-stage (stored lsh64 codes: a_small is a candidate, its features fail in stage 2)
  "$BIN" search --index "$IDX" a --two-stage --hash-model lsh64 --top-k 5 > "$TMP/$lb.ts.csv" 2> "$TMP/$lb.ts.err"
  rc=$?
  [ $rc -eq 1 ] && grep -q '^a,b,' "$TMP/$lb.ts.csv" && ! grep -q '^a,a_small,' "$TMP/$lb.ts.csv" && ok \
    || bad "$lb: two-stage exit $rc: $(cat "$TMP/$lb.ts.csv" "$TMP/$lb.ts.err")"
  grep -q "skipped $TMP/in/a_small.mp4: .*$(basename "$vf")" "$TMP/$lb.ts.err" && ok || bad "$lb: two-stage did not name it: $(cat "$TMP/$lb.ts.err")"
  "$BIN" search --index "$IDX" a --two-stage --hash-model lsh64 --top-k 5 --allow-partial > /dev/null 2>&1 && ok || bad "$lb: two-stage --allow-partial exit $?"
  # two-stage, codes computed on the fly (another hash model, none stored): the damaged row is skipped there
  "$BIN" search --index "$IDX" a --two-stage --hash-model lsh128 > /dev/null 2> "$TMP/$lb.ts2.err"
  rc=$?
  [ $rc -eq 1 ] && grep -q "skipped $TMP/in/a_small.mp4" "$TMP/$lb.ts2.err" && ok || bad "$lb: two-stage (no codes) exit $rc: $(cat "$TMP/$lb.ts2.err")"
  # clip vectors: the damaged row is skipped, listed, exit 1 unless --allow-partial
  "$BIN" search --index "$IDX" a --model clip > "$TMP/$lb.c.csv" 2> "$TMP/$lb.c.err"
  rc=$?
  [ $rc -eq 1 ] && grep -q '^a,b,' "$TMP/$lb.c.csv" && grep -q "skipped $TMP/in/a_small.mp4" "$TMP/$lb.c.err" && ok \
    || bad "$lb: clip exit $rc: $(cat "$TMP/$lb.c.csv" "$TMP/$lb.c.err")"
  "$BIN" search --index "$IDX" a --model clip --allow-partial > /dev/null 2>&1 && ok || bad "$lb: clip --allow-partial exit $?"
  # dedup
  "$BIN" dedup --index "$IDX" --threshold -10 > "$TMP/$lb.d.csv" 2> "$TMP/$lb.d.err"
  rc=$?
  [ $rc -eq 1 ] && [ "$(wc -l < "$TMP/$lb.d.csv")" = 2 ] && grep -q "skipped $TMP/in/a_small.mp4" "$TMP/$lb.d.err" && ok \
    || bad "$lb: dedup exit $rc: $(cat "$TMP/$lb.d.csv" "$TMP/$lb.d.err")"
  "$BIN" dedup --index "$IDX" --threshold -10 --allow-partial > /dev/null 2>&1 && ok || bad "$lb: dedup --allow-partial exit $?"
  [ "$(sha256sum "$vf")" = "$sum" ] && ok || bad "$lb: search modified the damaged file"
  # index add on the same folder heals it
  "$BIN" index add --index "$IDX" "$TMP/in" "${ADD[@]}" -v > "$TMP/$lb.add.out" 2> "$TMP/$lb.add.err"
  rc=$?
  [ $rc -eq 0 ] && ok || bad "$lb: healing add exit $rc: $(cat "$TMP/$lb.add.err")"
  grep -qx "replaced $TMP/in/a_small.mp4" "$TMP/$lb.add.out" && grep -qx "unchanged $TMP/in/a.mp4" "$TMP/$lb.add.out" && ok \
    || bad "$lb: add -v: $(cat "$TMP/$lb.add.out")"
  grep -q "0 added, 1 replaced (1 repaired), 2 unchanged, 0 failed" "$TMP/$lb.add.err" \
    && grep -q "^  $TMP/in/a_small.mp4: .*$(basename "$vf")" "$TMP/$lb.add.err" && ok || bad "$lb: repair not reported: $(cat "$TMP/$lb.add.err")"
  [ ! -e "$vf" ] && ok || bad "$lb: the damaged file was left behind"
  "$BIN" search --index "$IDX" a > "$TMP/$lb.healed.csv" 2> "$TMP/$lb.healed.err" && ok || bad "$lb: search after healing: $(cat "$TMP/$lb.healed.err")"
  cmp -s "$TMP/good.csv" "$TMP/$lb.healed.csv" && ok || bad "$lb: results after healing differ: $(cat "$TMP/$lb.healed.csv")"
  "$BIN" search --index "$IDX" a --two-stage --hash-model lsh64 > "$TMP/$lb.healed2.csv" 2> /dev/null && grep -q '^a,a_small,' "$TMP/$lb.healed2.csv" \
    && ok || bad "$lb: two-stage after healing: $(cat "$TMP/$lb.healed2.csv")"
  "$BIN" index verify --index "$IDX" > /dev/null 2>&1 && ok || bad "$lb: verify after healing"
  "$BIN" index add --index "$IDX" "$TMP/in" "${ADD[@]}" 2> "$TMP/$lb.add2.err" && grep -q "0 added, 0 replaced, 3 unchanged" "$TMP/$lb.add2.err" \
    && ok || bad "$lb: add after healing: $(cat "$TMP/$lb.add2.err")"
}

# 1. truncated
vf=$IDX/$(feat_of)
[ -f "$vf" ] && ok || bad "no feature file for a_small ($vf)"
truncate -s 1000 "$vf"
check_damaged truncated "$vf"
# 2. one byte flipped in the middle (size unchanged: only the checksum sees it)
vf=$IDX/$(feat_of)
size=$(stat -c %s "$vf")
byte=$(od -An -tu1 -j $((size / 2)) -N1 "$vf" | tr -d ' ')
printf "$(printf '\\%03o' $(( (byte ^ 1) & 255 )))" | dd of="$vf" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
[ "$(stat -c %s "$vf")" = "$size" ] && ok || bad "flip changed the size"
check_damaged flipped "$vf"
grep -q "checksum mismatch" "$TMP/flipped.err" && ok || bad "flipped: reason is not the checksum: $(cat "$TMP/flipped.err")"

# 3. a row removed during a two-stage search is not damage. The first query is a
# FIFO: the search has listed the index and loaded the codes, then blocks opening it
# while a_small is removed; the second query then meets the vanished row in stage 2.
rm -f "$TMP/q.vsf"; mkfifo "$TMP/q.vsf"
"$BIN" search --index "$IDX" --two-stage --hash-model lsh64 "$TMP/q.vsf" a > "$TMP/rm.csv" 2> "$TMP/rm.err" &
pid=$!
for _ in $(seq 300); do
  grep -qE 'wait_for_partner|fifo_open' "/proc/$pid/wchan" 2>/dev/null && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.1
done
"$BIN" index rm --index "$IDX" a_small > /dev/null 2>&1 && ok || bad "index rm failed"
exec 3> "$TMP/q.vsf"; exec 3>&-   # let the open return (the query itself then fails: not a regular file)
wait $pid
rc=$?
[ $rc -eq 1 ] && ok || bad "removed-during-search: exit $rc (want 1 for the FIFO query alone)"
grep -q "^a,b," "$TMP/rm.csv" && ok || bad "removed-during-search: results: $(cat "$TMP/rm.csv")"
grep -q "$TMP/in/a_small.mp4 was removed from the index during the search" "$TMP/rm.err" && ok \
  || bad "removed-during-search: message: $(cat "$TMP/rm.err")"
grep -q "repair\|partial\|skipped" "$TMP/rm.err" && bad "removed-during-search reported as damage: $(cat "$TMP/rm.err")" || ok
rm -f "$TMP/q.vsf"

# 4. an index without a single successful add
head -c 3000 /dev/urandom > "$TMP/bad/x.mp4"
"$BIN" index add --index "$TMP/failidx" "$TMP/bad" "${ADD[@]}" > /dev/null 2>&1
for ts in "" "--two-stage"; do
  "$BIN" search --index "$TMP/failidx" "$TMP/in/a.mp4" $ts > /dev/null 2> "$TMP/fail.err"
  rc=$?
  [ $rc -eq 1 ] && grep -q "failidx has no successfully indexed videos (1 failed add" "$TMP/fail.err" \
    && ! grep -q "features of model" "$TMP/fail.err" && ok || bad "no-ok index ($ts): exit $rc: $(cat "$TMP/fail.err")"
done

# 5. a 0.2 s clip at 1 frame/s has no sample: say that, not "could not be decoded"
ff -f lavfi -i testsrc2=size=160x120:rate=25:duration=0.2 -pix_fmt yuv420p "$TMP/short.mp4"
"$BIN" extract "$TMP/short.mp4" -o "$TMP/feats" --backbone mobilenet --raw > /dev/null 2> "$TMP/short.err"
rc=$?
[ $rc -eq 1 ] && grep -q "short.mp4: the video (0.2 s) is shorter than one sample at 1 frames/s" "$TMP/short.err" \
  && ! grep -q "could not be decoded" "$TMP/short.err" && ok || bad "short clip: exit $rc: $(cat "$TMP/short.err")"
"$BIN" extract "$TMP/short.mp4" -o "$TMP/feats" --backbone mobilenet --raw --fps 5 > /dev/null 2>&1 && ok || bad "short clip at 5 fps not extracted"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
