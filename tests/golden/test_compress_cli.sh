#!/usr/bin/env bash
# test_compress_cli.sh - `vidsim index compress` end to end (mobilenet, raw features,
# builtin ViSiL_f; small lavfi clips at 5 frames/s so that the codebook learns from
# more vectors than it has centroids): an index set back to format 2 searches as
# before; compress upgrades it to format 3 (info shows the codec), features/ shrinks
# at least 8x, verify is clean, every score stays within 0.012 of the uncompressed one
# and every query with a clear best match keeps it; an add into the compressed index writes a compressed
# file; rebuild restores it; compress killed (SIGKILL) at random moments leaves an
# index that verifies (only orphans / temp files) and searches, and a rerun finishes;
# a format-4 catalogue is refused naming it; a bad codec is a usage error.
set -u
BIN=${VS_BIN:-build/vidsim}
TMP=${VS_TMP:-build/tmp}/compress_cli
MODELS=${VS_MODELS:-models}
ROUNDS=${VS_COMPRESS_KILL_ROUNDS:-3}
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
"$BIN" index --help 2>&1 | grep -q "^  compress" || { echo "SKIP: no index compress command"; exit 77; }
[ -r "$MODELS/mobilenet_v2.vstf" ] || { echo "SKIP: no weights (run scripts/fetch_weights.sh)"; exit 77; }
command -v ffmpeg >/dev/null || { echo "SKIP: no ffmpeg"; exit 77; }
command -v sqlite3 >/dev/null || { echo "SKIP: no sqlite3 CLI"; exit 77; }
export VIDSIM_MODELS=$MODELS
rm -rf "$TMP"; mkdir -p "$TMP/in" "$TMP/q" "$TMP/more"
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
ff -f lavfi -i testsrc2=size=320x240:rate=25:duration=6 -pix_fmt yuv420p "$TMP/in/a.mp4"
ff -f lavfi -i mandelbrot=size=320x240:rate=25 -t 6 -pix_fmt yuv420p "$TMP/in/b.mp4"
ff -f lavfi -i life=seed=11:size=320x240:rate=25:seed=7 -t 6 -pix_fmt yuv420p "$TMP/in/c.mp4"
ff -f lavfi -i smptebars=size=320x240:rate=25 -t 6 -pix_fmt yuv420p "$TMP/in/d.mp4"
ff -i "$TMP/in/b.mp4" -vf scale=160:120 -c:v libx264 -crf 30 "$TMP/in/b_small.mp4"
ff -i "$TMP/in/a.mp4" -vf "crop=280:200,eq=brightness=0.1" -c:v libx264 -crf 35 "$TMP/q/a_copy.mkv"
ff -f lavfi -i cellauto=seed=13:size=320x240:rate=25 -t 4 -pix_fmt yuv420p "$TMP/more/e.mp4"
IDX=$TMP/idx
"$BIN" index add --index "$IDX" "$TMP/in" --backbone mobilenet --raw --fps 5 -j 2 2>"$TMP/add.txt" \
  && ok || bad "add: $(cat "$TMP/add.txt")"
"$BIN" extract "$TMP/q/a_copy.mkv" -o "$TMP/qf" --backbone mobilenet --raw --fps 5 >/dev/null 2>&1 \
  && ok || bad "extract of the query failed"
Q=("$TMP/qf/a_copy.mkv.vsf" a b c d b_small)
search() { "$BIN" search --index "$1" --top 0 "${Q[@]}"; }

# format 2 (what earlier builds wrote): opens and searches as before
sqlite3 "$IDX/catalogue.sqlite" "UPDATE meta SET value='2' WHERE key='format_version'"
"$BIN" index info --index "$IDX" > "$TMP/info2.txt" && grep -q "^format_version: 2$" "$TMP/info2.txt" && ok \
  || bad "format 2 info: $(cat "$TMP/info2.txt")"
search "$IDX" > "$TMP/before.csv" 2>"$TMP/s.err" && ok || bad "search before: $(cat "$TMP/s.err")"
[ "$(grep -c . "$TMP/before.csv")" -gt 20 ] && ok || bad "too few rows: $(cat "$TMP/before.csv")"
for qr in a_copy,a b,b_small b_small,b; do   # the copies are found, with a clear lead
  awk -F, -v q="${qr%,*}" -v r="${qr#*,}" '$1 == q { n++; if (n == 1) { top = $2; s1 = $3 } if (n == 2) s2 = $3 }
       END { exit !(top == r && s1 - s2 > 0.024) }' "$TMP/before.csv" && ok || bad "uncompressed: ${qr%,*} does not find ${qr#*,} clearly first"
done
cp -r "$IDX" "$TMP/plain"   # an uncompressed copy for the kill rounds

"$BIN" index compress --index "$IDX" --codec zip >/dev/null 2>"$TMP/e.txt"; rc=$?
[ $rc -ne 0 ] && grep -q "unknown codec 'zip'" "$TMP/e.txt" && ok || bad "bad codec: rc $rc $(cat "$TMP/e.txt")"
t0=$(date +%s%N)
"$BIN" index compress --index "$IDX" > "$TMP/c.txt" 2>"$TMP/c.err" && ok || bad "compress: $(cat "$TMP/c.err")"
span=$(( ($(date +%s%N) - t0) / 1000000 )); [ "$span" -lt 100 ] && span=100   # ms, for the kill rounds
grep -q "^codec: pq64$" "$TMP/c.txt" && grep -q "^videos_encoded: 5$" "$TMP/c.txt" && grep -q "^codebook: trained$" "$TMP/c.txt" \
  && ok || bad "compress output: $(cat "$TMP/c.txt")"
before=$(grep "^bytes_before:" "$TMP/c.txt" | cut -d' ' -f2); after=$(grep "^bytes_after:" "$TMP/c.txt" | cut -d' ' -f2)
[ -n "$after" ] && [ $((after * 8)) -lt "$before" ] && ok || bad "not 8x smaller: $before -> $after"
"$BIN" index info --index "$IDX" > "$TMP/info3.txt"
grep -q "^format_version: 3$" "$TMP/info3.txt" && grep -q "^codec: pq64$" "$TMP/info3.txt" && ok \
  || bad "format 3 info: $(cat "$TMP/info3.txt")"
out=$("$BIN" index verify --index "$IDX" 2>&1) && [ -z "$(grep -v '0 problems' <<<"$out")" ] && ok || bad "verify: $out"
search "$IDX" > "$TMP/after.csv" 2>"$TMP/s.err" && ok || bad "search after: $(cat "$TMP/s.err")"

# every score within 0.012 (measured: at most 0.0073); the same top-1 for every query whose
# top-1 led by more than 0.024, twice that (the copies a_copy, b, b_small; the others' best
# is a near-tie of strangers)
compare() { # $1 $2: search outputs; prints problems
  awk -F, 'NR==FNR { if (FNR > 1) { s[$1","$2] = $3; if (!($1 in top)) { top[$1] = $2; t1[$1] = $3 }
                                    else if (!($1 in t2)) t2[$1] = $3 } next }
           FNR > 1 { if (!($1 in seen)) { seen[$1] = 1
                       if (t1[$1] - t2[$1] > 0.024 && top[$1] != $2) print "top-1 of " $1 ": " top[$1] " -> " $2 }
                     d = $3 - s[$1","$2]; if (d < 0) d = -d; if (d > 0.012) print $1 "," $2 ": " s[$1","$2] " -> " $3; n++ }
           END { if (n != length(s)) print n " rows, want " length(s) }' "$1" "$2"
}
diffs=$(compare "$TMP/before.csv" "$TMP/after.csv")
[ -z "$diffs" ] && ok || bad "compressed search differs: $diffs"

# an add into the compressed index is compressed (VSF version 2)
"$BIN" index add --index "$IDX" "$TMP/more" --backbone mobilenet --raw -j 1 2>"$TMP/add2.txt" && ok \
  || bad "add into compressed: $(cat "$TMP/add2.txt")"
ff_e=$(sqlite3 "$IDX/catalogue.sqlite" "SELECT feature_file FROM videos WHERE name='e'")
[ "$(od -An -tu4 -j8 -N4 "$IDX/$ff_e" | tr -d ' ')" = 2 ] && ok || bad "added file $ff_e is not compressed"
"$BIN" search --index "$IDX" e --top 1 > /dev/null 2>"$TMP/s.err" && ok || bad "search e: $(cat "$TMP/s.err")"
search "$IDX" > "$TMP/after_e.csv" 2>/dev/null

# rebuild from the compressed files
"$BIN" index rebuild --index "$IDX" > /dev/null 2>"$TMP/rb.txt" && ok || bad "rebuild: $(cat "$TMP/rb.txt")"
"$BIN" index info --index "$IDX" | grep -q "^codec: pq64$" && ok || bad "rebuild lost the codec"
search "$IDX" > "$TMP/rebuilt.csv" 2>/dev/null && cmp -s "$TMP/after_e.csv" "$TMP/rebuilt.csv" && ok \
  || bad "search after rebuild differs"

# killed at random moments: verifies (orphans / temp files only), searches, and a rerun finishes
killed=0
for round in $(seq 1 "$ROUNDS"); do
  K=$TMP/k$round; cp -r "$TMP/plain" "$K"
  "$BIN" index compress --index "$K" >/dev/null 2>&1 &
  pid=$!
  ms=$(( (RANDOM % span) * (round + 1) / (ROUNDS + 1) + 5 ))
  sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
  kill -9 "$pid" 2>/dev/null && killed=$((killed+1))
  wait "$pid" 2>/dev/null
  out=$("$BIN" index verify --index "$K" 2>&1)
  grep -vE '^(orphan|temp file) |problems' <<<"$out" | grep -q . && bad "round $round: verify: $out" || ok
  search "$K" > "$TMP/k.csv" 2>"$TMP/k.err" && ok || bad "round $round: search: $(cat "$TMP/k.err")"
  diffs=$(compare "$TMP/before.csv" "$TMP/k.csv"); [ -z "$diffs" ] && ok || bad "round $round: $diffs"
  "$BIN" index compress --index "$K" > "$TMP/k.txt" 2>&1 && ok || bad "round $round: rerun: $(cat "$TMP/k.txt")"
  e=$(grep "^videos_encoded:" "$TMP/k.txt" | cut -d' ' -f2); a=$(grep "^videos_already:" "$TMP/k.txt" | cut -d' ' -f2)
  [ $((e + a)) = 5 ] && ok || bad "round $round: rerun did $e + $a of 5"
  "$BIN" index verify --index "$K" --repair >/dev/null 2>&1
  out=$("$BIN" index verify --index "$K" 2>&1) && grep -q " 0 problems" <<<"$out" && ok || bad "round $round: after repair: $out"
done
echo "compress killed in $killed of $ROUNDS rounds (span ${span} ms)"

# a newer format is refused, naming the catalogue
sqlite3 "$IDX/catalogue.sqlite" "UPDATE meta SET value='4' WHERE key='format_version'"
"$BIN" search --index "$IDX" b > /dev/null 2>"$TMP/e.txt" && bad "format 4 accepted" || ok
grep -q "catalogue.sqlite: index format version 4, this build reads 1 to 3" "$TMP/e.txt" && ok || bad "format 4: $(cat "$TMP/e.txt")"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
