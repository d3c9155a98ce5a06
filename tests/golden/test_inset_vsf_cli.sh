#!/usr/bin/env bash
# test_inset_vsf_cli.sh - the inset view of feature-file queries (`vidsim extract
# --inset-view on`, vs_extract_params.inset_view, docs/formats.md "VSF version 5",
# docs/search.md "The inset view"): a .vsf extracted with the inset block searches
# exactly as its video does (byte for byte) with the mirror view on or off, with the inset
# view on or off (off ignores the block), exhaustive and --two-stage, over 2 MPI ranks when
# built with MPI; a video without an inset and one whose inset is all flat too. The
# block combines with the mirror block (version 5 either way; version 1 without either
# option); `compare` reads the normal view (an index stores the normal view only:
# vs_index_add_features, tests/unit/test_featfile_inset.c; `index add` takes videos); a
# file without the block is re-extracted by --inset-view on and one with it kept by on
# and off; a cut or damaged block is an error naming the file and the reason;
# --inset-view yes exits 2.
set -u
BIN=${VS_BIN:-build/vidsim}
TMP=${VS_TMP:-build/tmp}/inset_vsf_cli
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
# the clips of test_inset_view_cli.sh
ff -f lavfi -i testsrc2=size=320x240:rate=10 -t 8 -pix_fmt yuv420p "$TMP/in/a.mp4" || { echo "SKIP: ffmpeg"; exit 77; }
ff -f lavfi -i mandelbrot=size=320x240:rate=10 -t 8 -pix_fmt yuv420p "$TMP/in/b.mp4"
ff -f lavfi -i "life=size=320x240:rate=10:mold=10:r=10:seed=7" -t 8 -pix_fmt yuv420p "$TMP/in/c.mp4"
ff -f lavfi -i "cellauto=size=640x360:rate=10:rule=110:seed=7" -i "$TMP/in/b.mp4" -filter_complex \
  "[1]scale=186:140,pad=192:146:3:3:white[i];[0][i]overlay=x=380:y=150:shortest=1" -t 8 -pix_fmt yuv420p \
  "$TMP/q/b_inset.mp4"
ff -i "$TMP/in/a.mp4" -vf "eq=brightness=0.05" -pix_fmt yuv420p "$TMP/q/a_copy.mp4"
ff -f lavfi -i "cellauto=size=640x360:rate=10:rule=110:seed=7" -vf \
  "drawbox=x=377:y=147:w=198:h=152:color=white:t=3,drawbox=x=380:y=150:w=192:h=146:color=black:t=fill" -t 8 \
  -pix_fmt yuv420p "$TMP/q/flat_box.mp4"
"$BIN" index add --index "$TMP/idx" "$TMP/in" --backbone mobilenet -j 2 >/dev/null 2>"$TMP/add.err" \
  || { echo "FAIL: index add: $(cat "$TMP/add.err")"; exit 1; }
Q=(b_inset a_copy flat_box)
vids() { for q in "${Q[@]}"; do echo "$TMP/q/$q.mp4"; done; }
vsfs() { for q in "${Q[@]}"; do echo "$1/$q.mp4.vsf"; done; }
ver() { od -An -tu4 -j8 -N4 "$1" | tr -d ' '; }
mapfile -t V < <(vids)

"$BIN" extract "${V[@]}" -o "$TMP/qv" --backbone mobilenet --mirror-view on --inset-view on -j 2 >/dev/null \
  2>"$TMP/x1.err" && ok || bad "extract --mirror-view on --inset-view on: $(cat "$TMP/x1.err")"
"$BIN" extract "${V[@]}" -o "$TMP/qi" --backbone mobilenet --inset-view on -j 2 >/dev/null 2>"$TMP/x2.err" \
  && ok || bad "extract --inset-view on: $(cat "$TMP/x2.err")"
"$BIN" extract "${V[@]}" -o "$TMP/qp" --backbone mobilenet -j 2 >/dev/null 2>"$TMP/x3.err" \
  && ok || bad "extract: $(cat "$TMP/x3.err")"
mapfile -t QV < <(vsfs "$TMP/qv"); mapfile -t QI < <(vsfs "$TMP/qi")
for q in "${Q[@]}"; do
  [ "$(ver "$TMP/qv/$q.mp4.vsf")" = 5 ] && [ "$(ver "$TMP/qi/$q.mp4.vsf")" = 5 ] && [ "$(ver "$TMP/qp/$q.mp4.vsf")" = 1 ] \
    && ok || bad "$q versions: $(ver "$TMP/qv/$q.mp4.vsf") $(ver "$TMP/qi/$q.mp4.vsf") $(ver "$TMP/qp/$q.mp4.vsf")"
done
# the inset view makes b_inset's file bigger by about a normal view (a_copy: by the 64-byte table)
s_p=$(stat -c %s "$TMP/qp/b_inset.mp4.vsf"); s_i=$(stat -c %s "$TMP/qi/b_inset.mp4.vsf")
[ "$s_i" -gt $((s_p * 3 / 2)) ] && ok || bad "b_inset with the inset block: $s_i bytes, $s_p without"
s_p=$(stat -c %s "$TMP/qp/a_copy.mp4.vsf"); s_i=$(stat -c %s "$TMP/qi/a_copy.mp4.vsf")
[ "$s_i" -le $((s_p + 128)) ] && ok || bad "a_copy (no inset): $s_i bytes, $s_p without the block"

# the same output as the videos', byte for byte, for every combination of the views
for opts in "" "--mirror-view off" "--inset-view off" "--mirror-view off --inset-view off" "--two-stage --top-k 2" \
  "--two-stage --top-k 2 --mirror-view off" "--top 1"; do
  # shellcheck disable=SC2086
  "$BIN" search --index "$TMP/idx" --top 0 $opts "${V[@]}" > "$TMP/v.csv" 2>"$TMP/v.err"
  # shellcheck disable=SC2086
  "$BIN" search --index "$TMP/idx" --top 0 $opts "${QV[@]}" > "$TMP/f.csv" 2>"$TMP/f.err"
  [ "$(wc -l < "$TMP/v.csv")" -ge 4 ] && cmp -s "$TMP/v.csv" "$TMP/f.csv" && cmp -s "$TMP/v.err" "$TMP/f.err" && ok \
    || bad "search $opts: .vsf vs video: $(diff "$TMP/v.csv" "$TMP/f.csv" | head -6) $(cat "$TMP/v.err" "$TMP/f.err")"
  [ "$opts" = "" ] && cp "$TMP/v.csv" "$TMP/on.csv"
  [ "$opts" = "--inset-view off" ] && cp "$TMP/v.csv" "$TMP/off.csv"
  [ "$opts" = "--mirror-view off" ] && cp "$TMP/v.csv" "$TMP/mv_off.csv"
done
# the inset view counts for b_inset (else the comparisons above prove little)
score() { awk -F, -v q="$2" -v r="$3" 'NR>1 && $1==q && $2==r {print $3}' "$1"; }
s1=$(score "$TMP/off.csv" b_inset b); s2=$(score "$TMP/on.csv" b_inset b)
awk -v x="$s1" -v y="$s2" 'BEGIN{exit !(y > x + 0.1)}' && ok || bad "b_inset vs b: $s1 without, $s2 with the inset view"
# the inset block without the mirror block: the videos without the mirror view
"$BIN" search --index "$TMP/idx" --top 0 --mirror-view off "${QI[@]}" > "$TMP/fi.csv" 2>/dev/null
cmp -s "$TMP/fi.csv" "$TMP/mv_off.csv" && ok || bad "inset block only: $(diff "$TMP/mv_off.csv" "$TMP/fi.csv" | head -4)"
"$BIN" search --index "$TMP/idx" --top 0 --mirror-view off --inset-view off "${QI[@]}" > "$TMP/fi0.csv" 2>/dev/null
"$BIN" search --index "$TMP/idx" --top 0 --mirror-view off "$TMP/qp/b_inset.mp4.vsf" "$TMP/qp/a_copy.mp4.vsf" \
  "$TMP/qp/flat_box.mp4.vsf" > "$TMP/fp.csv" 2>/dev/null
cmp -s "$TMP/fi0.csv" "$TMP/fp.csv" && ! cmp -s "$TMP/fi.csv" "$TMP/fp.csv" && ok \
  || bad "--inset-view off does not ignore the block: $(diff "$TMP/fp.csv" "$TMP/fi0.csv" | head -4)"
if command -v mpirun >/dev/null && ! "$BIN" --help | grep -q "^MPI: no"; then
  export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
  env "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" timeout 300 mpirun --allow-run-as-root \
    --oversubscribe -x VIDSIM_MODELS -x ASAN_OPTIONS -np 2 "$BIN" search --index "$TMP/idx" --top 0 \
    "${QV[@]}" > "$TMP/mpi.csv" 2>"$TMP/mpi.err" && cmp -s "$TMP/mpi.csv" "$TMP/on.csv" \
    && ok || bad "2 MPI ranks: $(tail -3 "$TMP/mpi.err"; diff "$TMP/on.csv" "$TMP/mpi.csv" | head -4)"
fi

# compare reads the normal view
"$BIN" compare "$TMP/qv/b_inset.mp4.vsf" "$TMP/in/b.mp4" --backbone mobilenet > "$TMP/c4.txt" 2>&1
"$BIN" compare "$TMP/qp/b_inset.mp4.vsf" "$TMP/in/b.mp4" --backbone mobilenet > "$TMP/c1.txt" 2>&1
[ -s "$TMP/c1.txt" ] && cmp -s "$TMP/c1.txt" "$TMP/c4.txt" && ok || bad "compare: $(cat "$TMP/c1.txt") / $(cat "$TMP/c4.txt")"

# up to date: a file without the block is re-extracted with on; one with it is kept by on and off
cp "$TMP/qp/b_inset.mp4.vsf" "$TMP/qi/b_inset.mp4.vsf"
"$BIN" extract "$TMP/q/b_inset.mp4" -o "$TMP/qi" --backbone mobilenet --inset-view on 2>"$TMP/u1.err" >/dev/null
grep -q "extracted 1 of 1 videos (0 up to date" "$TMP/u1.err" && [ "$(ver "$TMP/qi/b_inset.mp4.vsf")" = 5 ] && ok \
  || bad "a file without the block kept by --inset-view on: $(cat "$TMP/u1.err")"
for iv in on off; do
  "$BIN" extract "$TMP/q/b_inset.mp4" "$TMP/q/a_copy.mp4" -o "$TMP/qi" --backbone mobilenet --inset-view $iv \
    2>"$TMP/u2.err" >/dev/null
  grep -q "(2 up to date" "$TMP/u2.err" && [ "$(ver "$TMP/qi/b_inset.mp4.vsf")" = 5 ] && ok \
    || bad "--inset-view $iv re-extracted: $(cat "$TMP/u2.err")"
done
"$BIN" extract "$TMP/q/b_inset.mp4" -o "$TMP/qi" --inset-view yes >/dev/null 2>"$TMP/u3.err"; rc=$?
[ $rc = 2 ] && grep -q -- "--inset-view" "$TMP/u3.err" && ok || bad "extract --inset-view yes: exit $rc, $(cat "$TMP/u3.err")"
"$BIN" extract --help | grep -q -- "--inset-view on|off" && ok || bad "extract --help does not list --inset-view"

# a cut or damaged inset block: an error naming the file and the reason, with the view on or off
f=$TMP/qv/b_inset.mp4.vsf; n=$(stat -c %s "$f")
head -c $((n - 100)) "$f" > "$TMP/cut.vsf"
"$BIN" search --index "$TMP/idx" "$TMP/cut.vsf" > /dev/null 2>"$TMP/cut.err"; rc=$?
[ $rc != 0 ] && grep -q "cut.vsf.*inset block" "$TMP/cut.err" && ok || bad "cut block: exit $rc, $(cat "$TMP/cut.err")"
cp "$f" "$TMP/flip.vsf"; printf '\x55' | dd of="$TMP/flip.vsf" bs=1 seek=$((n - 50)) conv=notrunc status=none
for iv in on off; do
  "$BIN" search --index "$TMP/idx" --inset-view $iv "$TMP/flip.vsf" > /dev/null 2>"$TMP/flip.err"; rc=$?
  [ $rc != 0 ] && grep -q "flip.vsf.*checksum mismatch" "$TMP/flip.err" && ok \
    || bad "damaged block, --inset-view $iv: exit $rc, $(cat "$TMP/flip.err")"
done
"$BIN" index verify --index "$TMP/idx" >/dev/null 2>&1 && ok || bad "index does not verify after the .vsf searches"

echo "test_inset_vsf_cli: $pass passed, $fail failed"
[ $fail -eq 0 ]
