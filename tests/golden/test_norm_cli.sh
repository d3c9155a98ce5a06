#!/usr/bin/env bash
# test_norm_cli.sh - score normalisation from the command line (docs/search.md "Score
# normalisation") on small synthetic clips (mobilenet, whitened, ViSiL_f): `index
# add` stores every added video's background level (`index info` lists them); a search
# with stored levels prints exactly what one computing them in memory prints; `index
# background` keeps stored levels and recomputes them with --force; a later add stores
# the new video's level against the same members; removing a member starts a new set
# (search in memory = search after `index background`); q2r levels are their own; the
# copy ranks first normalised and raw; --norm off prints the raw scores, different from
# the normalised ones; a damaged stored level is an error naming the index (exit 1)
# until `index verify --repair`; --threshold p90 is -0.040 and refused with --norm off
# or q2r; dedup marks exact duplicates and `vidsim verdict` hides rejected pairs; a bad
# --norm value is a usage error (exit 2).
set -u
BIN=${VS_BIN:-build/vidsim}
TMP=${VS_TMP:-build/tmp}/norm_cli
MODELS=${VS_MODELS:-models}
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
[ -r "$MODELS/mobilenet_v2.vstf" ] || { echo "SKIP: no weights (run scripts/fetch_weights.sh)"; exit 77; }
command -v ffmpeg >/dev/null || { echo "SKIP: no ffmpeg"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: no python3 (to damage a stored level)"; exit 77; }
export VIDSIM_MODELS=$MODELS
rm -rf "$TMP"; mkdir -p "$TMP/in" "$TMP/more" "$TMP/q"
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
ff -f lavfi -i testsrc2=size=320x240:rate=25:duration=5 -pix_fmt yuv420p "$TMP/in/a.mp4"
ff -f lavfi -i mandelbrot=size=320x240:rate=25 -t 5 -pix_fmt yuv420p "$TMP/in/b.mp4"
ff -f lavfi -i life=seed=11:size=320x240:rate=25 -t 5 -pix_fmt yuv420p "$TMP/in/c.mp4"
ff -f lavfi -i smptehdbars=size=320x240:rate=25 -t 5 -pix_fmt yuv420p "$TMP/in/d.mp4"
ff -f lavfi -i cellauto=seed=13:size=320x240:rate=25 -t 5 -pix_fmt yuv420p "$TMP/in/e.mp4"
ff -f lavfi -i rgbtestsrc=size=320x240:rate=25 -t 5 -pix_fmt yuv420p "$TMP/more/f.mp4"
ff -i "$TMP/in/a.mp4" -vf "crop=280:200,eq=brightness=0.1" -c:v libx264 -crf 35 "$TMP/q/a_copy.mkv"
"$BIN" extract --backbone mobilenet "$TMP/q/a_copy.mkv" -o "$TMP/q" 2>/dev/null || bad "extract query"
Q=("$TMP/q/a_copy.mkv.vsf" b e)
S() { "$BIN" search --top 0 -j 2 "$@"; }

"$BIN" index add --index "$TMP/idx" "$TMP/in" --backbone mobilenet -j 2 2>"$TMP/add.txt" && ok || bad "add: $(cat "$TMP/add.txt")"
"$BIN" index add --index "$TMP/mem" "$TMP/in" --backbone mobilenet -j 2 --no-background 2>/dev/null && ok || bad "add --no-background"
"$BIN" index info --index "$TMP/idx" > "$TMP/info.txt"
grep -Eq '^extras: bg visil_f\|sym\|s1n10c0.8t0.5\|upto[0-9]+\|m[0-9a-f]{16} 5$' "$TMP/info.txt" && ok || bad "info: $(cat "$TMP/info.txt")"
"$BIN" index info --index "$TMP/mem" | grep -q '^extras: bg' && bad "--no-background stored levels" || ok
# the frame levels beside them (norm.h "Frame levels"), one array a video
grep -Eq '^extras: fbg visil_f\|sym\|s1n10c0.8t0.5\|upto[0-9]+\|m[0-9a-f]{16}\|frames 5$' "$TMP/info.txt" && ok || bad "info fbg: $(cat "$TMP/info.txt")"

S --index "$TMP/idx" "${Q[@]}" > "$TMP/stored.csv" 2>"$TMP/err.txt" && ok || bad "search: $(cat "$TMP/err.txt")"
S --index "$TMP/mem" "${Q[@]}" > "$TMP/mem.csv" && ok || bad "search without stored levels"
cmp -s "$TMP/stored.csv" "$TMP/mem.csv" && ok || bad "stored and in-memory levels differ: $(diff "$TMP/stored.csv" "$TMP/mem.csv")"
[ "$(grep -c . "$TMP/stored.csv")" = $((1 + 5 + 4 + 4)) ] && ok || bad "rows: $(cat "$TMP/stored.csv")"
[ "$(sed -n 2p "$TMP/stored.csv" | cut -d, -f1,2)" = "a_copy,a" ] && ok || bad "normalised: the copy is not first: $(cat "$TMP/stored.csv")"
S --index "$TMP/idx" --norm off "${Q[@]}" > "$TMP/raw.csv" && ok || bad "--norm off"
[ "$(sed -n 2p "$TMP/raw.csv" | cut -d, -f1,2)" = "a_copy,a" ] && ok || bad "raw: the copy is not first"
cmp -s "$TMP/raw.csv" "$TMP/stored.csv" && bad "--norm off prints the normalised scores" || ok
# normalised = raw - (the query's level) - (the reference's level): for one query the
# difference raw - normalised is its level plus the reference's, so it differs by ref
awk -F, 'NR==FNR { if (FNR > 1) r[$1","$2] = $3; next } FNR > 1 && $1 == "a_copy" { d[$2] = r[$1","$2] - $3 }
  END { n = 0; for (k in d) { n++; if (n == 1) m = d[k]; if (d[k] != m) v = 1 } exit !(n == 5 && v) }' \
  "$TMP/raw.csv" "$TMP/stored.csv" && ok || bad "the offsets do not depend on the reference"

"$BIN" index background --index "$TMP/idx" 2>"$TMP/bg.txt" && ok || bad "background: $(cat "$TMP/bg.txt")"
grep -q "0 computed, 5 already stored.*frame levels of 0 computed" "$TMP/bg.txt" && ok || bad "background kept: $(cat "$TMP/bg.txt")"
"$BIN" index background --index "$TMP/idx" --force 2>"$TMP/bg.txt" && ok || bad "background --force"
grep -q "5 computed, 0 already stored.*frame levels of 5 computed" "$TMP/bg.txt" && ok || bad "background --force: $(cat "$TMP/bg.txt")"
S --index "$TMP/idx" "${Q[@]}" | cmp -s - "$TMP/stored.csv" && ok || bad "--force changed the levels"

# a later add: the new video's level against the same five members
"$BIN" index add --index "$TMP/idx" "$TMP/more" --backbone mobilenet 2>/dev/null && ok || bad "second add"
"$BIN" index info --index "$TMP/idx" | grep -Eq '^extras: bg visil_f\|sym\|s1n10c0.8t0.5\|upto[0-9]+\|m[0-9a-f]{16} 6$' \
  && ok || bad "second add: $("$BIN" index info --index "$TMP/idx")"
# removing a member: a new member set; in memory = stored again
"$BIN" index rm --index "$TMP/idx" c 2>/dev/null && ok || bad "rm"
S --index "$TMP/idx" "${Q[@]}" > "$TMP/after_rm_mem.csv" && ok || bad "search after rm"
"$BIN" index background --index "$TMP/idx" 2>"$TMP/bg.txt" && ok || bad "background after rm"
grep -q "5 computed, 0 already stored" "$TMP/bg.txt" && ok || bad "background after rm: $(cat "$TMP/bg.txt")"
S --index "$TMP/idx" "${Q[@]}" | cmp -s - "$TMP/after_rm_mem.csv" && ok || bad "after rm: stored and in-memory levels differ"
[ "$("$BIN" index info --index "$TMP/idx" | grep -c '^extras: bg')" = 1 ] && ok || bad "old member set not deleted"

# q2r levels are separate
S --index "$TMP/idx" --direction q2r "${Q[@]}" > "$TMP/q2r_mem.csv" && ok || bad "q2r"
"$BIN" index background --index "$TMP/idx" --direction q2r 2>/dev/null && ok || bad "background q2r"
S --index "$TMP/idx" --direction q2r "${Q[@]}" | cmp -s - "$TMP/q2r_mem.csv" && ok || bad "q2r stored and in-memory differ"
[ "$("$BIN" index info --index "$TMP/idx" | grep -c '^extras: bg')" = 2 ] && ok || bad "q2r levels not stored apart"

# a damaged stored level
python3 - "$TMP/idx/catalogue.sqlite" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE extras SET data = X'0011' WHERE kind = 'bg' AND model_id LIKE 'visil_f|sym|%' AND "
           "video_id = (SELECT MIN(video_id) FROM extras WHERE kind = 'bg')")
db.commit()
PY
S --index "$TMP/idx" "${Q[@]}" > /dev/null 2>"$TMP/err.txt"; rc=$?
[ $rc = 1 ] && ok || bad "damaged level: exit $rc"
grep -q "$TMP/idx" "$TMP/err.txt" && grep -qi "background" "$TMP/err.txt" && ok || bad "damaged level message: $(cat "$TMP/err.txt")"
"$BIN" index verify --index "$TMP/idx" --repair > /dev/null 2>&1
S --index "$TMP/idx" "${Q[@]}" | cmp -s - "$TMP/after_rm_mem.csv" && ok || bad "after repair"

# --explain: every score is raw - query_level - ref_level; the scores are the plain search's
S --index "$TMP/idx" --explain "${Q[@]}" > "$TMP/explain.csv" 2>"$TMP/explain.err" && ok || bad "--explain"
[ "$(head -1 "$TMP/explain.csv")" = "query_id,ref_id,score,raw,query_level,ref_level" ] && ok || bad "--explain header"
awk -F, 'NR > 1 { d = $3 - ($4 - $5 - $6); if (d > 2e-6 || d < -2e-6) exit 1; n++ } END { exit n != 13 }' "$TMP/explain.csv" \
  && ok || bad "--explain: score is not raw - levels: $(cat "$TMP/explain.csv")"
cut -d, -f1-3 "$TMP/explain.csv" | tail -n +2 | cmp -s - <(tail -n +2 "$TMP/after_rm_mem.csv") && ok || bad "--explain changed the scores"
grep -q "raw - query_level - ref_level" "$TMP/explain.err" && ok || bad "--explain: no description: $(cat "$TMP/explain.err")"
S --index "$TMP/idx" --explain --norm off "${Q[@]}" | awk -F, 'NR > 1 && ($3 != $4 || $5 != 0 || $6 != 0) { exit 1 }' \
  && ok || bad "--explain --norm off: raw must be the score and the levels 0"
"$BIN" search --index "$TMP/idx" --explain --segments b > /dev/null 2>&1; rc=$?
[ $rc = 2 ] && ok || bad "--explain --segments: exit $rc"

# named operating points: p90 is the normalised score -0.040 (docs/search.md)
S --index "$TMP/idx" --threshold p90 "${Q[@]}" > "$TMP/p90.csv" && ok || bad "--threshold p90"
S --index "$TMP/idx" --threshold -0.040 "${Q[@]}" | cmp -s - "$TMP/p90.csv" && ok || bad "p90 is not -0.040"
for o in "--norm off" "--direction q2r" "--temporal 0" "--frame-levels 0"; do
  # shellcheck disable=SC2086
  "$BIN" search --index "$TMP/idx" --threshold p90 $o b > /dev/null 2>"$TMP/err.txt"; rc=$?
  [ $rc = 2 ] && grep -q "p90" "$TMP/err.txt" && ok || bad "--threshold p90 $o: exit $rc $(cat "$TMP/err.txt")"
done
"$BIN" dedup --index "$TMP/idx" --threshold p90 --temporal 0.2 > /dev/null 2>"$TMP/err.txt"; rc=$?
[ $rc = 2 ] && grep -q "temporal" "$TMP/err.txt" && ok || bad "dedup --threshold p90 --temporal 0.2: exit $rc $(cat "$TMP/err.txt")"
# --temporal (docs/hard_copies.md "Temporal consistency"): 0.5 is the default, 0 the
# published ViSiL_f (other scores: its levels are other stored values), out of range refused
S --index "$TMP/idx" "${Q[@]}" > "$TMP/t_def.csv" && S --index "$TMP/idx" --temporal 0.5 "${Q[@]}" > "$TMP/t_05.csv" \
  && cmp -s "$TMP/t_def.csv" "$TMP/t_05.csv" && ok || bad "--temporal 0.5 is not the default"
S --index "$TMP/idx" --temporal 0 "${Q[@]}" > "$TMP/t_0.csv" && ok || bad "--temporal 0"
[ "$(wc -l < "$TMP/t_0.csv")" = "$(wc -l < "$TMP/t_def.csv")" ] && ! cmp -s "$TMP/t_0.csv" "$TMP/t_def.csv" \
  && ok || bad "--temporal 0 gives the default's scores"
for v in 1.5 -0.1 nan x; do
  "$BIN" search --index "$TMP/idx" --temporal "$v" b > /dev/null 2>"$TMP/err.txt"; rc=$?
  [ $rc = 2 ] && grep -q -- "--temporal" "$TMP/err.txt" && ok || bad "--temporal $v: exit $rc $(cat "$TMP/err.txt")"
  "$BIN" search --index "$TMP/idx" --frame-levels "$v" b > /dev/null 2>"$TMP/err.txt"; rc=$?
  [ $rc = 2 ] && grep -q -- "--frame-levels" "$TMP/err.txt" && ok || bad "--frame-levels $v: exit $rc $(cat "$TMP/err.txt")"
done
# --frame-levels 0.5 is the default (this index is too small for frame levels: fewer than
# 10 members besides each video, so 0 gives the same scores; test_search checks them)
S --index "$TMP/idx" --frame-levels 0.5 "${Q[@]}" | cmp -s - "$TMP/t_def.csv" && ok || bad "--frame-levels 0.5 is not the default"
# dedup: normalised pairs at p90 by default, exact duplicates marked without the network
mkdir -p "$TMP/dup"
cp "$TMP/in/a.mp4" "$TMP/dup/a.mp4"; cp "$TMP/in/a.mp4" "$TMP/dup/a_dup.mp4"; cp "$TMP/in/b.mp4" "$TMP/dup/b.mp4"
ff -i "$TMP/in/a.mp4" -c copy "$TMP/dup/a_remux.mkv"
"$BIN" index add --index "$TMP/didx" "$TMP/dup" --backbone mobilenet 2>/dev/null && ok || bad "dup add"
"$BIN" dedup --index "$TMP/didx" --threshold -10 > "$TMP/dedup.csv" 2>&1 && ok || bad "dedup: $(cat "$TMP/dedup.csv")"
[ "$(head -1 "$TMP/dedup.csv")" = "query_id,ref_id,score,exact" ] && ok || bad "dedup header: $(head -1 "$TMP/dedup.csv")"
# (a parallel add commits in any order: a pair is printed in catalogue order)
grep -Eq '^(a,a_dup|a_dup,a),.*,same_bytes$' "$TMP/dedup.csv" && ok || bad "a/a_dup not same_bytes: $(cat "$TMP/dedup.csv")"
[ "$(grep -Ec '^(a(_dup)?,a_remux|a_remux,a(_dup)?),.*,same_frames$' "$TMP/dedup.csv")" = 2 ] && ok \
  || bad "remux not same_frames with a and a_dup: $(cat "$TMP/dedup.csv")"
grep -E '^(a|a_dup|a_remux),b,|^b,' "$TMP/dedup.csv" | grep -vq ',$' && bad "a pair with b marked exact" || ok
"$BIN" dedup --index "$TMP/didx" --norm off --format jsonl > "$TMP/dedup.jsonl" 2>/dev/null && ok || bad "dedup --norm off"
python3 -c 'import json,sys; rows=[json.loads(l) for l in open(sys.argv[1])]; sys.exit(0 if rows and all(r["score"] >= 0.5 for r in rows) and any(r["exact"] == "same_bytes" for r in rows) else 1)' "$TMP/dedup.jsonl" \
  && ok || bad "dedup --norm off: raw threshold 0.5: $(cat "$TMP/dedup.jsonl")"
"$BIN" dedup --index "$TMP/didx" --norm off --threshold p90 > /dev/null 2>&1; rc=$?
[ $rc = 2 ] && ok || bad "dedup --norm off --threshold p90: exit $rc"
# reviewer verdicts from the CLI: not_duplicate hides the pair from dedup --hide-rejected
"$BIN" verdict set --index "$TMP/didx" b a not_duplicate && ok || bad "verdict set"
[ "$("$BIN" verdict get --index "$TMP/didx" a b)" = not_duplicate ] && ok || bad "verdict get"
"$BIN" verdict ls --index "$TMP/didx" | grep -q '^a,b,not_duplicate,20' && ok || bad "verdict ls: $("$BIN" verdict ls --index "$TMP/didx")"
"$BIN" dedup --index "$TMP/didx" --threshold -10 --hide-rejected | grep -Eq '^(a,b|b,a),' && bad "a rejected pair was listed" || ok
"$BIN" dedup --index "$TMP/didx" --threshold -10 | grep -Eq '^(a,b|b,a),' && ok || bad "the pair is gone without --hide-rejected"
"$BIN" verdict set --index "$TMP/didx" a b none && [ "$("$BIN" verdict get --index "$TMP/didx" a b)" = none ] && ok || bad "verdict none"
"$BIN" verdict set --index "$TMP/didx" a b maybe > /dev/null 2>&1; rc=$?
[ $rc = 2 ] && ok || bad "verdict maybe: exit $rc"

"$BIN" search --index "$TMP/idx" --norm maybe b > /dev/null 2>&1; rc=$?
[ $rc = 2 ] && ok || bad "--norm maybe: exit $rc"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
