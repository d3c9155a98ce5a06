#!/usr/bin/env bash
# test_mirror_view_cli.sh - `vidsim search --mirror-view on|off` (on by default;
# vs_search_params.mirror_view,
# docs/hard_copies.md "A mirrored query view"): a video query is also scored as its
# mirror image and each reference keeps the better view. A mirrored copy of a reference
# scores higher with it than without (its mirror view is the reference itself); an
# unmirrored copy scores at least what it scored without; --top 1 gives the first row of
# --top 0 (merging two views' top-K lists is exact); a .vsf query has one view (same
# output with and without). Another value than on/off exits 2. --sim-precision fp32 and
# bf16 give the same ranking within 1e-3; int8 there exits 2 naming the option; the
# index still verifies.
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
ff -f lavfi -i "life=size=320x240:rate=10:mold=10:r=10" -t 8 -pix_fmt yuv420p "$TMP/in/c.mp4"
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
if grep -q "lacks it" "$TMP/p16.err"; then ok  # a CPU without bf16: refused by name
else
  paste -d, "$TMP/p32.csv" "$TMP/p16.csv" | awk -F, 'NR>1 {d=$3-$6; if (d<0) d=-d; if ($2!=$5 || d>1e-3) bad=1} END {exit bad || NR!=4}' \
    && ok || bad "--sim-precision fp32 vs bf16: $(paste -d, "$TMP/p32.csv" "$TMP/p16.csv")"
fi
"$BIN" search --index "$TMP/idx" --sim-precision int8 "$TMP/qf/a_mirrored.mp4.vsf" >/dev/null 2>"$TMP/pe.err"; rc=$?
[ $rc = 2 ] && grep -q -- "--sim-precision" "$TMP/pe.err" && ok || bad "--sim-precision int8: exit $rc, $(cat "$TMP/pe.err")"
"$BIN" index verify --index "$TMP/idx" >/dev/null 2>&1 && ok || bad "index does not verify after the refused searches"

echo "test_mirror_view_cli: $pass passed, $fail failed"
[ $fail -eq 0 ]
