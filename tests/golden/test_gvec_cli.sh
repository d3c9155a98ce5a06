#!/usr/bin/env bash
# test_gvec_cli.sh - two-stage search with the global-vector first stage
# (`vidsim search --first-stage gvec`, docs/search.md) on small synthetic clips
# (mobilenet, raw features, builtin ViSiL_f): with K >= the collection it prints exactly
# what the exhaustive search prints; --hash-only ranks by the inner product of global
# vectors (best first, in [-1, 1], never the query itself), the same with gvec and
# gvec:flat; --store-gvec stores the vectors (index info lists them: "gvec seg4" for the
# default 4 segment vectors per video, "gvec mean1" with --gvec-segments 1) and later
# searches use them without recomputing; an index holding only the one-vector "mean1"
# extra (as before segments) still searches with 4 (computed on the fly, a note, the
# same output); with FAISS, gvec:faiss:Flat and gvec:faiss:HNSW32 rank
# as the exact flat index does; without FAISS a faiss spec is a clear error; bad
# options are usage errors (exit 2).
set -u
BIN=${VS_BIN:-build/vidsim}
TMP=${VS_TMP:-build/tmp}/gvec_cli
MODELS=${VS_MODELS:-models}
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
[ -r "$MODELS/mobilenet_v2.vstf" ] || { echo "SKIP: no weights (run scripts/fetch_weights.sh)"; exit 77; }
command -v ffmpeg >/dev/null || { echo "SKIP: no ffmpeg"; exit 77; }
export VIDSIM_MODELS=$MODELS
rm -rf "$TMP"; mkdir -p "$TMP/in" "$TMP/q"
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
ff -f lavfi -i testsrc2=size=320x240:rate=25:duration=4 -pix_fmt yuv420p "$TMP/in/a.mp4"
ff -f lavfi -i mandelbrot=size=320x240:rate=25 -t 4 -pix_fmt yuv420p "$TMP/in/b.mp4"
ff -f lavfi -i life=seed=11:size=320x240:rate=25 -t 4 -pix_fmt yuv420p "$TMP/in/c.mp4"
ff -f lavfi -i smptehdbars=size=320x240:rate=25 -t 4 -pix_fmt yuv420p "$TMP/in/d.mp4"
ff -f lavfi -i cellauto=seed=13:size=320x240:rate=25 -t 4 -pix_fmt yuv420p "$TMP/in/e.mp4"
ff -i "$TMP/in/b.mp4" -vf scale=160:120 -c:v libx264 -crf 30 "$TMP/in/b_small.mp4"
ff -i "$TMP/in/a.mp4" -vf "crop=280:200,eq=brightness=0.1" -c:v libx264 -crf 35 "$TMP/q/a_copy.mkv"
Q=("$TMP/q/a_copy.mkv" b e d)
N=6
"$BIN" index add --index "$TMP/idx" "$TMP/in" --backbone mobilenet --raw -j 2 2>"$TMP/add.txt" \
  && ok || bad "add: $(cat "$TMP/add.txt")"

# K >= N: identical to the exhaustive search
"$BIN" search --index "$TMP/idx" --top 0 -j 2 "${Q[@]}" > "$TMP/ex.csv" 2>"$TMP/ex.err" || bad "exhaustive: $(cat "$TMP/ex.err")"
"$BIN" search --index "$TMP/idx" --top 0 -j 2 --first-stage gvec --top-k 50 "${Q[@]}" > "$TMP/g.csv" 2>"$TMP/g.err" \
  && ok || bad "gvec two-stage: $(cat "$TMP/g.err")"
cmp -s "$TMP/ex.csv" "$TMP/g.csv" && ok || bad "gvec two-stage K=50 differs from exhaustive: $(diff "$TMP/ex.csv" "$TMP/g.csv")"
grep -q "have no stored global vectors (gvec seg4); computed them now" "$TMP/g.err" && ok || bad "no note about computed vectors: $(cat "$TMP/g.err")"
# K = 1: one row per query, the gvec-nearest candidate
"$BIN" search --index "$TMP/idx" --top 0 --first-stage gvec --top-k 1 "${Q[@]}" > "$TMP/g1.csv" 2>/dev/null || bad "K=1 failed"
[ "$(wc -l < "$TMP/g1.csv")" = 5 ] && ok || bad "K=1 rows: $(cat "$TMP/g1.csv")"

# first stage alone: inner products, best first, never the query itself; gvec = gvec:flat here
"$BIN" search --index "$TMP/idx" --top 0 --first-stage gvec --hash-only "${Q[@]}" > "$TMP/h.csv" 2>/dev/null || bad "hash-only failed"
[ "$(wc -l < "$TMP/h.csv")" = $((1 + 4 * (N - 1) + 1)) ] && ok || bad "gvec hash-only rows: $(cat "$TMP/h.csv")"
awk -F, 'NR > 1 && ($3 < -1.0001 || $3 > 1.0001 || $1 == $2) { exit 1 }' "$TMP/h.csv" && ok || bad "gvec scores: $(cat "$TMP/h.csv")"
for q in a_copy b e d; do
  grep "^$q," "$TMP/h.csv" | awk -F, '{print $3}' | sort -gr | cmp -s - <(grep "^$q," "$TMP/h.csv" | awk -F, '{print $3}') \
    && ok || bad "gvec rows of $q not best first"
done
grep -q "^a_copy,a," <(sed -n 2p "$TMP/h.csv") && ok || bad "a_copy's nearest global vector is not a: $(cat "$TMP/h.csv")"
"$BIN" search --index "$TMP/idx" --top 0 --first-stage gvec:flat --hash-only "${Q[@]}" > "$TMP/hf.csv" 2>/dev/null
cmp -s "$TMP/h.csv" "$TMP/hf.csv" && ok || bad "gvec and gvec:flat differ: $(diff "$TMP/h.csv" "$TMP/hf.csv")"

# an index with only the one-vector extra (mean1), as stored before segments: S = 1 uses
# it, the default S = 4 computes its vectors (a note) and prints what the fresh index did
cp -r "$TMP/idx" "$TMP/idx1"
"$BIN" search --index "$TMP/idx1" --top 0 --first-stage gvec --gvec-segments 1 --hash-only --store-gvec "${Q[@]}" \
  > "$TMP/m1.csv" 2>"$TMP/m1.err" && ok || bad "--gvec-segments 1 --store-gvec: $(cat "$TMP/m1.err")"
"$BIN" index info --index "$TMP/idx1" > "$TMP/info1.txt"
grep -q "^extras: gvec mean1 $N$" "$TMP/info1.txt" && ! grep -q seg4 "$TMP/info1.txt" && ok || bad "info after --gvec-segments 1: $(cat "$TMP/info1.txt")"
cmp -s "$TMP/h.csv" "$TMP/m1.csv" && bad "S=1 and S=4 print the same scores" || ok
"$BIN" search --index "$TMP/idx1" --top 0 --first-stage gvec --gvec-segments 1 --hash-only "${Q[@]}" > "$TMP/m1b.csv" 2>"$TMP/m1b.err"
cmp -s "$TMP/m1.csv" "$TMP/m1b.csv" && ! grep -q "computed them now" "$TMP/m1b.err" && ok || bad "stored mean1 not used: $(cat "$TMP/m1b.err")"
"$BIN" search --index "$TMP/idx1" --top 0 --first-stage gvec --hash-only "${Q[@]}" > "$TMP/o4.csv" 2>"$TMP/o4.err" \
  && ok || bad "S=4 on a mean1-only index: $(cat "$TMP/o4.err")"
grep -q "6 of 6 videos have no stored global vectors (gvec seg4); computed them now" "$TMP/o4.err" && ok || bad "no note on a mean1-only index: $(cat "$TMP/o4.err")"
cmp -s "$TMP/h.csv" "$TMP/o4.csv" && ok || bad "S=4 on a mean1-only index differs: $(diff "$TMP/h.csv" "$TMP/o4.csv")"

# stored vectors: listed, used (no note), same results
"$BIN" search --index "$TMP/idx" --top 0 --first-stage gvec --hash-only --store-gvec b > /dev/null 2>"$TMP/st.err" \
  && ok || bad "--store-gvec: $(cat "$TMP/st.err")"
"$BIN" index info --index "$TMP/idx" > "$TMP/info.txt"
grep -q "^extras: gvec seg4 $N$" "$TMP/info.txt" && ok || bad "info: $(cat "$TMP/info.txt")"
"$BIN" search --index "$TMP/idx" --top 0 --first-stage gvec --hash-only "${Q[@]}" > "$TMP/h2.csv" 2>"$TMP/h2.err"
cmp -s "$TMP/h.csv" "$TMP/h2.csv" && ok || bad "stored vectors rank differently: $(diff "$TMP/h.csv" "$TMP/h2.csv")"
grep -q "computed them now" "$TMP/h2.err" && bad "stored vectors recomputed: $(cat "$TMP/h2.err")" || ok

# FAISS indexes agree with the exact flat one (scores to 1e-5), or a clear error without FAISS
if "$BIN" search --index "$TMP/idx" --first-stage gvec:faiss:Flat --hash-only b > /dev/null 2>"$TMP/f.err"; then
  for spec in "faiss:Flat" "faiss:HNSW32|efSearch=64"; do
    "$BIN" search --index "$TMP/idx" --top 0 --first-stage "gvec:$spec" --hash-only "${Q[@]}" > "$TMP/hx.csv" 2>"$TMP/hx.err" \
      && ok || bad "gvec:$spec: $(cat "$TMP/hx.err")"
    paste -d, "$TMP/h.csv" "$TMP/hx.csv" | awk -F, 'NR > 1 { d = $3 - $6; if (d > 1e-5 || d < -1e-5 || $1 != $4) exit 1 }' \
      && ok || bad "gvec:$spec differs from flat: $(diff "$TMP/h.csv" "$TMP/hx.csv")"
  done
else
  grep -q "built without" "$TMP/f.err" && ok || bad "faiss spec without FAISS: $(cat "$TMP/f.err")"
  echo "note: built without FAISS; FAISS comparisons not run" >&2
fi

# usage errors
"$BIN" search --index "$TMP/idx" --first-stage gvec --gvec-segments 0 b > /dev/null 2>"$TMP/u.err"; rc=$?
[ $rc = 2 ] && grep -q "gvec-segments" "$TMP/u.err" && ok || bad "--gvec-segments 0: rc=$rc $(cat "$TMP/u.err")"
"$BIN" search --index "$TMP/idx" --two-stage --gvec-segments 4 b > /dev/null 2>"$TMP/u.err"; rc=$?
[ $rc = 2 ] && grep -q "gvec-segments" "$TMP/u.err" && ok || bad "--gvec-segments without gvec: rc=$rc $(cat "$TMP/u.err")"
"$BIN" search --index "$TMP/idx" --first-stage vectors b > /dev/null 2>"$TMP/u.err"; rc=$?
[ $rc = 2 ] && grep -q "first-stage must be" "$TMP/u.err" && ok || bad "bad --first-stage: rc=$rc $(cat "$TMP/u.err")"
"$BIN" search --index "$TMP/idx" --two-stage --store-gvec b > /dev/null 2>"$TMP/u.err"; rc=$?
[ $rc = 2 ] && grep -q "store-gvec" "$TMP/u.err" && ok || bad "--store-gvec without gvec: rc=$rc $(cat "$TMP/u.err")"
"$BIN" search --index "$TMP/idx" --first-stage "gvec:faiss:Bogus7" b > /dev/null 2>"$TMP/u.err"; rc=$?
[ $rc = 1 ] && grep -q "Bogus7" "$TMP/u.err" && ok || bad "bad faiss spec: rc=$rc $(cat "$TMP/u.err")"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
