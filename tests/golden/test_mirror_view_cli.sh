#!/usr/bin/env bash
# test_mirror_view_cli.sh - `vidsim search --mirror-view on|off` (on by default;
# vs_search_params.mirror_view,
# docs/hard_copies.md "A mirrored query view"): a video query is also scored as its
# mirror image and each reference keeps the better view. A mirrored copy of a reference
# scores higher with it than without (its mirror view is the reference itself); an
# unmirrored copy scores at least what it scored without; --top 1 gives the first row of
# --top 0 (merging two views' top-K lists is exact); a .vsf query without a mirror block
# has one view (same output with and without). Another value than on/off exits 2.
# --sim-precision fp32 and bf16 give the same ranking within 1e-3; int8 there exits 2
# naming the option; the index still verifies.
# The mirror block of a .vsf (`extract --mirror-view on`, docs/formats.md "VSF version
# 3"): a version-3 file of twice the features; its search gives exactly the video
# queries' output (with the inset view off where search has it; same scores and order,
# top 0 and top 1, exhaustive and two-stage,
# over 2 MPI ranks when built with MPI), --mirror-view off exactly the video queries'
# without the view; `extract --mirror-view on` re-extracts a file without the block and
# leaves one with it alone (on or off); compare reads it as the plain file; a cut or
# damaged block fails the search naming the file and the reason.
set -u
BIN=${VS_BIN:-build/vidsim}
TMP=${VS_TMP:-build/tmp}/mirror_view_cli
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
ff -f lavfi -i testsrc2=size=320x240:rate=10 -t 8 -pix_fmt yuv420p "$TMP/in/a.mp4" || { echo "SKIP: ffmpeg"; exit 77; }
ff -f lavfi -i mandelbrot=size=320x240:rate=10 -t 8 -pix_fmt yuv420p "$TMP/in/b.mp4"
ff -f lavfi -i "life=seed=11:size=320x240:rate=10:mold=10:r=10" -t 8 -pix_fmt yuv420p "$TMP/in/c.mp4"
ff -i "$TMP/in/a.mp4" -vf "hflip,eq=brightness=0.05" -pix_fmt yuv420p "$TMP/q/a_mirrored.mp4"
ff -i "$TMP/in/b.mp4" -vf "eq=brightness=0.05" -pix_fmt yuv420p "$TMP/q/b_copy.mp4"
"$BIN" index add --index "$TMP/idx" "$TMP/in" --backbone mobilenet -j 2 >/dev/null 2>"$TMP/add.err" \
  || { echo "FAIL: index add: $(cat "$TMP/add.err")"; exit 1; }
score() { awk -F, -v r="$2" 'NR>1 && $2==r {print $3}' "$1"; }

"$BIN" search --index "$TMP/idx" --top 0 --mirror-view off "$TMP/q/a_mirrored.mp4" "$TMP/q/b_copy.mp4" > "$TMP/one.csv" 2>"$TMP/e1" \
  && ok || bad "search: $(cat "$TMP/e1")"
"$BIN" search --index "$TMP/idx" --top 0 "$TMP/q/a_mirrored.mp4" "$TMP/q/b_copy.mp4" > "$TMP/two.csv" \
  2>"$TMP/e2" && ok || bad "search (mirror view on by default): $(cat "$TMP/e2")"
grep a_mirrored "$TMP/one.csv" > "$TMP/a1.csv"; grep a_mirrored "$TMP/two.csv" > "$TMP/a2.csv"
grep b_copy "$TMP/one.csv" > "$TMP/b1.csv"; grep b_copy "$TMP/two.csv" > "$TMP/b2.csv"
sed -i '1i query_id,ref_id,score' "$TMP/a1.csv" "$TMP/a2.csv" "$TMP/b1.csv" "$TMP/b2.csv"
s1=$(score "$TMP/a1.csv" a); s2=$(score "$TMP/a2.csv" a)
awk -v x="$s1" -v y="$s2" 'BEGIN{exit !(y > x + 0.1)}' && ok || bad "mirrored copy: $s1 without, $s2 with the mirror view"
[ "$(sed -n 2p "$TMP/a2.csv" | cut -d, -f2)" = a ] && ok || bad "mirrored copy's first hit: $(cat "$TMP/a2.csv")"
for r in a b c; do
  x=$(score "$TMP/b1.csv" $r); y=$(score "$TMP/b2.csv" $r)
  awk -v x="$x" -v y="$y" 'BEGIN{exit !(y >= x - 1e-6)}' && ok || bad "copy of b vs $r: $x without, $y with (a max)"
done
[ "$(sed -n 2p "$TMP/b2.csv" | cut -d, -f2)" = b ] && ok || bad "copy of b's first hit: $(cat "$TMP/b2.csv")"
[ "$(wc -l < "$TMP/two.csv")" = 7 ] && ok || bad "two queries x 3 refs: $(cat "$TMP/two.csv")"
# --top 1 is the first row of --top 0 (the merge of two top-1 lists is exact)
"$BIN" search --index "$TMP/idx" --top 1 --mirror-view on "$TMP/q/a_mirrored.mp4" > "$TMP/top1.csv" 2>/dev/null
[ "$(sed -n 2p "$TMP/top1.csv")" = "$(sed -n 2p "$TMP/a2.csv")" ] && ok || bad "--top 1: $(cat "$TMP/top1.csv")"
# a .vsf query has one view
"$BIN" extract "$TMP/q/a_mirrored.mp4" -o "$TMP/qf" --backbone mobilenet >/dev/null 2>&1
"$BIN" search --index "$TMP/idx" --top 0 --mirror-view off "$TMP/qf/a_mirrored.mp4.vsf" > "$TMP/v1.csv" 2>/dev/null
"$BIN" search --index "$TMP/idx" --top 0 --mirror-view on "$TMP/qf/a_mirrored.mp4.vsf" > "$TMP/v2.csv" 2>/dev/null
[ "$(wc -l < "$TMP/v1.csv")" = 4 ] && cmp -s "$TMP/v1.csv" "$TMP/v2.csv" && ok || bad ".vsf query: $(diff "$TMP/v1.csv" "$TMP/v2.csv" | head -3)"
"$BIN" search --index "$TMP/idx" --mirror-view yes "$TMP/qf/a_mirrored.mp4.vsf" >/dev/null 2>&1; [ $? = 2 ] && ok || bad "--mirror-view yes accepted"
# --sim-precision: bf16 and fp32 scores within 1e-3; another value exits 2 naming the option
"$BIN" search --index "$TMP/idx" --top 0 --sim-precision fp32 "$TMP/qf/a_mirrored.mp4.vsf" > "$TMP/p32.csv" 2>/dev/null
"$BIN" search --index "$TMP/idx" --top 0 --sim-precision bf16 "$TMP/qf/a_mirrored.mp4.vsf" > "$TMP/p16.csv" 2>"$TMP/p16.err"
if grep -q "which this one lacks" "$TMP/p16.err"; then ok  # a CPU without bf16: refused, saying so
else
  paste -d, "$TMP/p32.csv" "$TMP/p16.csv" | awk -F, 'NR>1 {d=$3-$6; if (d<0) d=-d; if ($2!=$5 || d>1e-3) bad=1} END {exit bad || NR!=4}' \
    && ok || bad "--sim-precision fp32 vs bf16: $(paste -d, "$TMP/p32.csv" "$TMP/p16.csv")"
fi
"$BIN" search --index "$TMP/idx" --sim-precision int8 "$TMP/qf/a_mirrored.mp4.vsf" >/dev/null 2>"$TMP/pe.err"; rc=$?
[ $rc = 2 ] && grep -q -- "--sim-precision" "$TMP/pe.err" && ok || bad "--sim-precision int8: exit $rc, $(cat "$TMP/pe.err")"
"$BIN" index verify --index "$TMP/idx" >/dev/null 2>&1 && ok || bad "index does not verify after the refused searches"

# the stored mirror view of a .vsf query: the same results as its video searched with the
# normal and mirror views (where search also has the inset view of picture-in-picture
# queries, turned off here: a .vsf stores no inset)
NI=(); "$BIN" search --help | grep -q -- "--inset-view" && NI=(--inset-view off)
"$BIN" search --index "$TMP/idx" --top 0 ${NI[@]+"${NI[@]}"} "$TMP/q/a_mirrored.mp4" "$TMP/q/b_copy.mp4" > "$TMP/vtwo.csv" 2>/dev/null
"$BIN" search --index "$TMP/idx" --top 0 ${NI[@]+"${NI[@]}"} --mirror-view off "$TMP/q/a_mirrored.mp4" "$TMP/q/b_copy.mp4" > "$TMP/vone.csv" 2>/dev/null
"$BIN" search --index "$TMP/idx" --top 1 ${NI[@]+"${NI[@]}"} "$TMP/q/a_mirrored.mp4" > "$TMP/vtop1.csv" 2>/dev/null
"$BIN" extract "$TMP/q/a_mirrored.mp4" "$TMP/q/b_copy.mp4" -o "$TMP/qm" --backbone mobilenet --mirror-view on \
  >/dev/null 2>"$TMP/xm.err" && ok || bad "extract --mirror-view on: $(cat "$TMP/xm.err")"
ver() { od -An -tu4 -j8 -N4 "$1" | tr -d ' '; }
[ "$(ver "$TMP/qm/a_mirrored.mp4.vsf")" = 3 ] && [ "$(ver "$TMP/qf/a_mirrored.mp4.vsf")" = 1 ] && ok \
  || bad "versions: $(ver "$TMP/qm/a_mirrored.mp4.vsf") with the block, $(ver "$TMP/qf/a_mirrored.mp4.vsf") without"
s1=$(stat -c %s "$TMP/qf/a_mirrored.mp4.vsf"); s3=$(stat -c %s "$TMP/qm/a_mirrored.mp4.vsf")
[ "$s3" -gt $((2 * s1 - 1024)) ] && [ "$s3" -lt $((2 * s1)) ] && ok || bad "sizes: $s1 without the block, $s3 with"
"$BIN" search --index "$TMP/idx" --top 0 "$TMP/qm/a_mirrored.mp4.vsf" "$TMP/qm/b_copy.mp4.vsf" > "$TMP/m2.csv" 2>"$TMP/m2.err"
[ "$(wc -l < "$TMP/vtwo.csv")" = 7 ] && cmp -s "$TMP/m2.csv" "$TMP/vtwo.csv" && ok || bad ".vsf with the block vs its video: $(diff "$TMP/vtwo.csv" "$TMP/m2.csv" | head -4) $(cat "$TMP/m2.err")"
"$BIN" search --index "$TMP/idx" --top 0 --mirror-view off "$TMP/qm/a_mirrored.mp4.vsf" "$TMP/qm/b_copy.mp4.vsf" > "$TMP/m1.csv" 2>/dev/null
[ "$(wc -l < "$TMP/vone.csv")" = 7 ] && cmp -s "$TMP/m1.csv" "$TMP/vone.csv" && ok || bad ".vsf with the block, --mirror-view off: $(diff "$TMP/vone.csv" "$TMP/m1.csv" | head -4)"
"$BIN" search --index "$TMP/idx" --top 1 "$TMP/qm/a_mirrored.mp4.vsf" > "$TMP/m_top1.csv" 2>/dev/null
[ "$(wc -l < "$TMP/vtop1.csv")" = 2 ] && cmp -s "$TMP/m_top1.csv" "$TMP/vtop1.csv" && ok || bad ".vsf --top 1: $(cat "$TMP/m_top1.csv")"
"$BIN" search --index "$TMP/idx" --top 0 --two-stage --top-k 2 ${NI[@]+"${NI[@]}"} "$TMP/q/a_mirrored.mp4" "$TMP/q/b_copy.mp4" > "$TMP/ts_v.csv" 2>/dev/null
"$BIN" search --index "$TMP/idx" --top 0 --two-stage --top-k 2 "$TMP/qm/a_mirrored.mp4.vsf" "$TMP/qm/b_copy.mp4.vsf" > "$TMP/ts_m.csv" 2>/dev/null
"$BIN" search --index "$TMP/idx" --top 0 --two-stage --top-k 2 "$TMP/qf/a_mirrored.mp4.vsf" > "$TMP/ts_1.csv" 2>/dev/null
[ "$(wc -l < "$TMP/ts_v.csv")" -ge 3 ] && cmp -s "$TMP/ts_v.csv" "$TMP/ts_m.csv" && ! cmp -s "$TMP/ts_1.csv" <(grep -v b_copy "$TMP/ts_m.csv") \
  && ok || bad "two-stage: video $(cat "$TMP/ts_v.csv") / .vsf with the block $(cat "$TMP/ts_m.csv") / without $(cat "$TMP/ts_1.csv")"
if command -v mpirun >/dev/null && "$BIN" --help | grep -q "^MPI: yes"; then
  export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
  env "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" timeout 120 mpirun --allow-run-as-root --oversubscribe \
    -x VIDSIM_MODELS -x ASAN_OPTIONS -np 2 "$BIN" search --index "$TMP/idx" --top 0 "$TMP/qm/a_mirrored.mp4.vsf" \
    "$TMP/qm/b_copy.mp4.vsf" > "$TMP/mpi.csv" 2>"$TMP/mpi.err"
  cmp -s "$TMP/mpi.csv" "$TMP/vtwo.csv" && ok || bad "2 MPI ranks: $(diff "$TMP/vtwo.csv" "$TMP/mpi.csv" | head -4) $(tail -3 "$TMP/mpi.err")"
fi
# up to date: a file without the block is re-extracted with on; one with it is kept by on and off
cp "$TMP/qf/a_mirrored.mp4.vsf" "$TMP/qm/a_mirrored.mp4.vsf"
"$BIN" extract "$TMP/q/a_mirrored.mp4" -o "$TMP/qm" --backbone mobilenet --mirror-view on 2>"$TMP/x2.err" >/dev/null
grep -q "extracted 1 of 1 videos (0 up to date" "$TMP/x2.err" && [ "$(ver "$TMP/qm/a_mirrored.mp4.vsf")" = 3 ] && ok \
  || bad "a file without the block kept by --mirror-view on: $(cat "$TMP/x2.err")"
for mv in on off; do
  "$BIN" extract "$TMP/q/a_mirrored.mp4" -o "$TMP/qm" --backbone mobilenet --mirror-view $mv 2>"$TMP/x3.err" >/dev/null
  grep -q "(1 up to date" "$TMP/x3.err" && [ "$(ver "$TMP/qm/a_mirrored.mp4.vsf")" = 3 ] && ok || bad "--mirror-view $mv re-extracted: $(cat "$TMP/x3.err")"
done
"$BIN" extract "$TMP/q/a_mirrored.mp4" -o "$TMP/qm" --mirror-view yes >/dev/null 2>"$TMP/x4.err"; rc=$?
[ $rc = 2 ] && grep -q -- "--mirror-view" "$TMP/x4.err" && ok || bad "extract --mirror-view yes: exit $rc, $(cat "$TMP/x4.err")"
"$BIN" extract --help | grep -q -- "--mirror-view on|off" && ok || bad "extract --help does not list --mirror-view"
# compare reads the normal view
"$BIN" compare "$TMP/qm/a_mirrored.mp4.vsf" "$TMP/in/a.mp4" --backbone mobilenet > "$TMP/c3.txt" 2>&1
"$BIN" compare "$TMP/qf/a_mirrored.mp4.vsf" "$TMP/in/a.mp4" --backbone mobilenet > "$TMP/c1.txt" 2>&1
[ -s "$TMP/c1.txt" ] && cmp -s "$TMP/c1.txt" "$TMP/c3.txt" && ok || bad "compare: $(cat "$TMP/c1.txt") / $(cat "$TMP/c3.txt")"
# a cut or damaged mirror block: an error naming the file and the reason
f=$TMP/qm/a_mirrored.mp4.vsf; n=$(stat -c %s "$f")
head -c $((n - 100)) "$f" > "$TMP/cut.vsf"
"$BIN" search --index "$TMP/idx" "$TMP/cut.vsf" > /dev/null 2>"$TMP/cut.err"; rc=$?
[ $rc != 0 ] && grep -q "cut.vsf.*mirror block" "$TMP/cut.err" && ok || bad "cut block: exit $rc, $(cat "$TMP/cut.err")"
cp "$f" "$TMP/flip.vsf"; printf '\x55' | dd of="$TMP/flip.vsf" bs=1 seek=$((n - 50)) conv=notrunc status=none
"$BIN" search --index "$TMP/idx" "$TMP/flip.vsf" > /dev/null 2>"$TMP/flip.err"; rc=$?
[ $rc != 0 ] && grep -q "flip.vsf.*checksum mismatch" "$TMP/flip.err" && ok || bad "damaged block: exit $rc, $(cat "$TMP/flip.err")"
"$BIN" search --index "$TMP/idx" --mirror-view off "$TMP/flip.vsf" > /dev/null 2>"$TMP/flip0.err"; rc=$?
[ $rc != 0 ] && grep -q "flip.vsf.*checksum mismatch" "$TMP/flip0.err" && ok || bad "damaged block, view off: exit $rc, $(cat "$TMP/flip0.err")"
"$BIN" index verify --index "$TMP/idx" >/dev/null 2>&1 && ok || bad "index does not verify after the .vsf searches"

echo "test_mirror_view_cli: $pass passed, $fail failed"
[ $fail -eq 0 ]
