#!/usr/bin/env bash
# test_two_stage.sh - two-stage search (hash stage + similarity re-ranking) on small
# synthetic clips (mobilenet, raw features, builtin ViSiL_f, the LSH baseline hash):
# with K >= the collection, --two-stage prints exactly what the exhaustive search
# prints (csv and jsonl, byte for byte); with K = 1 each query gets one row, the
# hash-nearest candidate (as --hash-only ranks it) with its exhaustive score;
# --hash-only scores are 1 - d/bits, best first; codes stored by `index add
# --hash-model` / `index hash` are listed by `index info`, removed with their video,
# recomputed with --force, and give the same results as codes computed on the fly.
set -u
BIN=${VS_BIN:-build/vidsim}
TMP=${VS_TMP:-build/tmp}/two_stage
MODELS=${VS_MODELS:-models}
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
"$BIN" search --help 2>&1 | grep -q -- "--two-stage" || { echo "SKIP: no two-stage search"; exit 77; }
[ -r "$MODELS/mobilenet_v2.vstf" ] || { echo "SKIP: no weights (run scripts/fetch_weights.sh)"; exit 77; }
command -v ffmpeg >/dev/null || { echo "SKIP: no ffmpeg"; exit 77; }
export VIDSIM_MODELS=$MODELS
rm -rf "$TMP"; mkdir -p "$TMP/in" "$TMP/q"
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
ff -f lavfi -i testsrc2=size=320x240:rate=25:duration=5 -pix_fmt yuv420p "$TMP/in/a.mp4"
ff -f lavfi -i mandelbrot=size=320x240:rate=25 -t 5 -pix_fmt yuv420p "$TMP/in/b.mp4"
ff -f lavfi -i life=seed=11:size=320x240:rate=25 -t 5 -pix_fmt yuv420p "$TMP/in/c.mp4"
ff -f lavfi -i smptehdbars=size=320x240:rate=25 -t 5 -pix_fmt yuv420p "$TMP/in/d.mp4"
ff -f lavfi -i cellauto=seed=13:size=320x240:rate=25 -t 5 -pix_fmt yuv420p "$TMP/in/e.mp4"
ff -i "$TMP/in/b.mp4" -vf scale=160:120 -c:v libx264 -crf 30 "$TMP/in/b_small.mp4"
ff -i "$TMP/in/a.mp4" -vf "crop=280:200,eq=brightness=0.1" -c:v libx264 -crf 35 "$TMP/q/a_copy.mkv"
Q=("$TMP/q/a_copy.mkv" b e d)   # a video query (extracted on the fly) and indexed ones
N=6

"$BIN" index add --index "$TMP/idx" "$TMP/in" --backbone mobilenet --raw -j 2 --hash-model lsh64 2>"$TMP/add.txt" \
  && ok || bad "add: $(cat "$TMP/add.txt")"
"$BIN" index info --index "$TMP/idx" > "$TMP/info.txt"
grep -q "^extras: hash lsh-64-d576-s1 $N$" "$TMP/info.txt" && ok || bad "info: $(cat "$TMP/info.txt")"
grep -q "^format_version: 3$" "$TMP/info.txt" && ok || bad "format version: $(cat "$TMP/info.txt")"

# K >= N: identical to the exhaustive search, csv and jsonl
"$BIN" search --index "$TMP/idx" --top 0 -j 2 "${Q[@]}" > "$TMP/ex.csv" 2>"$TMP/ex.err" || bad "exhaustive: $(cat "$TMP/ex.err")"
[ "$(wc -l < "$TMP/ex.csv")" = $((1 + 4 * (N - 1) + 1)) ] && ok || bad "exhaustive rows: $(wc -l < "$TMP/ex.csv")"
for k in $N 100; do
  "$BIN" search --index "$TMP/idx" --top 0 -j 2 --two-stage --top-k $k --hash-model lsh64 "${Q[@]}" > "$TMP/ts$k.csv" 2>"$TMP/ts.err" \
    && ok || bad "two-stage K=$k: $(cat "$TMP/ts.err")"
  cmp -s "$TMP/ex.csv" "$TMP/ts$k.csv" && ok || bad "two-stage K=$k differs from exhaustive: $(diff "$TMP/ex.csv" "$TMP/ts$k.csv")"
done
"$BIN" search --index "$TMP/idx" --top 3 --format jsonl "${Q[@]}" > "$TMP/ex.jsonl"
"$BIN" search --index "$TMP/idx" --top 3 --format jsonl --two-stage --top-k 50 --hash-model lsh64 "${Q[@]}" > "$TMP/ts.jsonl"
cmp -s "$TMP/ex.jsonl" "$TMP/ts.jsonl" && ok || bad "jsonl two-stage differs: $(diff "$TMP/ex.jsonl" "$TMP/ts.jsonl")"

# hash only: best first, score 1 - d/64, never the query itself
"$BIN" search --index "$TMP/idx" --top 0 --hash-only --hash-model lsh64 "${Q[@]}" > "$TMP/h.csv" || bad "hash-only failed"
[ "$(wc -l < "$TMP/h.csv")" = $((1 + 4 * (N - 1) + 1)) ] && ok || bad "hash-only rows: $(cat "$TMP/h.csv")"
awk -F, 'NR > 1 { d = (1 - $3) * 64; if (d < -1e-4 || d > 64 || (d - int(d + 0.5))^2 > 1e-6) exit 1 }' "$TMP/h.csv" \
  && ok || bad "hash-only scores are not 1 - d/64: $(cat "$TMP/h.csv")"
for q in a_copy b e d; do
  sort -t, -k3,3gr <(grep "^$q," "$TMP/h.csv") | awk -F, '{print $3}' | cmp -s - <(grep "^$q," "$TMP/h.csv" | awk -F, '{print $3}') \
    && ok || bad "hash-only rows of $q not best first"
done
grep -q '^b,b,' "$TMP/h.csv" && bad "hash-only: an indexed query matched itself" || ok

# K = 1: the hash-nearest candidate (first hash-only row), with its exhaustive raw score
# (one candidate and two threads: the pair must still be scored as the exhaustive search
# does; raw, --norm off: a normalised score depends on the query's scored list, which is
# one candidate here)
"$BIN" search --index "$TMP/idx" --top 0 --norm off -j 2 "${Q[@]}" > "$TMP/exraw.csv" || bad "exhaustive --norm off failed"
"$BIN" search --index "$TMP/idx" --top 0 --norm off --two-stage --top-k 1 --hash-model lsh64 -j 2 "${Q[@]}" > "$TMP/k1.csv" || bad "K=1 failed"
[ "$(wc -l < "$TMP/k1.csv")" = 5 ] && ok || bad "K=1 rows: $(cat "$TMP/k1.csv")"
for q in a_copy b e d; do
  want=$(grep "^$q," "$TMP/h.csv" | head -1 | cut -d, -f2)
  row=$(grep "^$q," "$TMP/k1.csv")
  [ "$(echo "$row" | cut -d, -f2)" = "$want" ] && ok || bad "K=1 $q: got '$row', hash-nearest is $want"
  grep -qx "$row" "$TMP/exraw.csv" && ok || bad "K=1 $q: '$row' is not the exhaustive score of that pair"
done

# codes computed on the fly (an index without stored codes) give the same results
# (sorted: ties follow catalogue order, which a parallel add does not fix)
"$BIN" index add --index "$TMP/idx_plain" "$TMP/in" --backbone mobilenet --raw -j 2 2>/dev/null || bad "plain add"
"$BIN" search --index "$TMP/idx_plain" --top 0 --hash-only --hash-model lsh64 "${Q[@]}" > "$TMP/h2.csv" 2>"$TMP/h2.err"
cmp -s <(sort "$TMP/h.csv") <(sort "$TMP/h2.csv") && ok || bad "on-the-fly codes differ: $(diff "$TMP/h.csv" "$TMP/h2.csv")"
grep -q "have no stored lsh-64-d576-s1 code" "$TMP/h2.err" && ok || bad "no note about missing codes: $(cat "$TMP/h2.err")"
"$BIN" index hash --index "$TMP/idx_plain" --hash-model lsh64 2>"$TMP/hash.err" && ok || bad "index hash: $(cat "$TMP/hash.err")"
grep -q "$N computed, 0 already stored, 0 failed" "$TMP/hash.err" && ok || bad "index hash summary: $(cat "$TMP/hash.err")"
"$BIN" index hash --index "$TMP/idx_plain" --hash-model lsh64 2>"$TMP/hash.err"
grep -q "0 computed, $N already stored" "$TMP/hash.err" && ok || bad "index hash again: $(cat "$TMP/hash.err")"
"$BIN" index hash --index "$TMP/idx_plain" --hash-model lsh64 --force 2>"$TMP/hash.err"
grep -q "$N computed, 0 already stored" "$TMP/hash.err" && ok || bad "index hash --force: $(cat "$TMP/hash.err")"
"$BIN" search --index "$TMP/idx_plain" --top 0 --hash-only --hash-model lsh64 "${Q[@]}" > "$TMP/h3.csv" 2>"$TMP/h3.err"
cmp -s "$TMP/h2.csv" "$TMP/h3.csv" && [ ! -s "$TMP/h3.err" ] && ok || bad "stored codes: $(cat "$TMP/h3.err") $(diff "$TMP/h2.csv" "$TMP/h3.csv")"

# a removed video takes its code with it; verify is clean
"$BIN" index rm --index "$TMP/idx" c 2>/dev/null || bad "rm"
"$BIN" index info --index "$TMP/idx" | grep -q "^extras: hash lsh-64-d576-s1 $((N - 1))$" && ok || bad "code of a removed video kept"
"$BIN" index verify --index "$TMP/idx" >"$TMP/v.txt" 2>&1 && ok || bad "verify: $(cat "$TMP/v.txt")"

# the default hash model (models/conmh_64.vstf): absent, or trained on other features
# than this index's: a clear error before any output; else the same K >= N identity
"$BIN" search --index "$TMP/idx" --top 0 -j 2 --two-stage --top-k 100 "${Q[@]}" > "$TMP/def.csv" 2>"$TMP/def.err"
if [ $? -ne 0 ]; then
  grep -q -e "-dim features" -e "no default hash model" "$TMP/def.err" && [ ! -s "$TMP/def.csv" ] && ok || bad "default model: $(cat "$TMP/def.err")"
else
  "$BIN" search --index "$TMP/idx" --top 0 -j 2 "${Q[@]}" | cmp -s - "$TMP/def.csv" && ok || bad "default model K=100 differs"
fi

# errors: an unknown hash model file, --top-k 0
"$BIN" search --index "$TMP/idx" --two-stage --hash-model "$TMP/nosuch.vstf" b >/dev/null 2>"$TMP/e.err" && bad "missing hash model gave exit 0" || ok
grep -q "nosuch.vstf" "$TMP/e.err" && ok || bad "missing model not named: $(cat "$TMP/e.err")"
"$BIN" search --index "$TMP/idx" --two-stage --top-k 0 b >/dev/null 2>&1 && bad "--top-k 0 accepted" || ok

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
