#!/usr/bin/env bash
# test_index_calib_cli.sh - `vidsim index add --calib FILE`, the int8 calibration as
# `vidsim extract --calib` takes it (vs_extract_params.calib_path): an index added with
# a calibration from `vidsim calibrate` stores the same features and model id, byte for
# byte, as extract with that calibration (and another model id than the bundled
# calibration's); a later add without --calib, or with another calibration, is refused
# naming both model ids; a missing file, a damaged one and a file that is not a
# calibration are errors naming the file (exit 1, the same message as extract's), and
# the index verifies unchanged after each refusal; a missing value is a usage error
# (exit 2); over 2 MPI ranks (when built with MPI) the added features are the same.
# Needs the inception weights and the bundled models/calib_inception_v3.vstf.
set -u
BIN=${VS_BIN:-build/vidsim}
TMP=${VS_TMP:-build/tmp}/index_calib_cli
MODELS=${VS_MODELS:-models}
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
# int8 needs oneDNN on an AVX-512 CPU (below it the library refuses it by name:
# test_precision_cli.sh checks that); `vidsim --help` names the instruction set
isa=$("$BIN" --help 2>/dev/null | sed -n 's/^Backbone: oneDNN \([a-z0-9_]*\).*/\1/p')
case "$isa" in avx512*) ;; *) echo "SKIP: int8 needs oneDNN on an AVX-512 CPU (here: ${isa:-no oneDNN})"; exit 77 ;; esac
[ -r "$MODELS/inception_v3.vstf" ] || { echo "SKIP: no weights (run scripts/fetch_weights.sh)"; exit 77; }
[ -r "$MODELS/calib_inception_v3.vstf" ] || { echo "SKIP: no $MODELS/calib_inception_v3.vstf (run scripts/setup.sh)"; exit 77; }
command -v ffmpeg >/dev/null || { echo "SKIP: no ffmpeg"; exit 77; }
export VIDSIM_MODELS=$MODELS
rm -rf "$TMP"; mkdir -p "$TMP/in"
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
ff -f lavfi -i testsrc2=size=320x240:rate=25:duration=5 -pix_fmt yuv420p "$TMP/in/a.mp4" || { echo "SKIP: ffmpeg"; exit 77; }
ff -f lavfi -i mandelbrot=size=320x240:rate=25 -t 5 -pix_fmt yuv420p "$TMP/in/b.mp4"

# the model id (bytes 88..151) and the data from header_size H on (features and times)
# of a VSF file: what extract and index add must agree on (the path and checksum differ)
vsf_model() { dd if="$1" bs=1 skip=88 count=64 2>/dev/null | tr -d '\0'; }
vsf_data() { local h; h=$(od -A n -t u4 -j 12 -N 4 "$1" | tr -d ' '); tail -c +$((h + 1)) "$1"; }
# the feature file of indexed video $2 (index ls: name is column 2, feature_file 11)
feat_of() { "$BIN" index ls --index "$1" 2>/dev/null | awk -F, -v n="$2" '$2==n{print $11}'; }
same_features() { # index video-name vsf
  local f; f="$1/$(feat_of "$1" "$2")"
  [ -f "$f" ] && [ "$(vsf_model "$f")" = "$(vsf_model "$3")" ] && cmp -s <(vsf_data "$f") <(vsf_data "$3")
}
# the catalogue rows (without the added time) and the feature files' bytes
snapshot() { "$BIN" index ls --index "$1" 2>/dev/null | cut -d, -f1-8,10-; cat "$1"/features/*.vsf | md5sum; }

"$BIN" calibrate "$TMP/in" -o "$TMP/calib.vstf" --frames 8 > "$TMP/cal.txt" 2>&1 && ok || bad "calibrate: $(cat "$TMP/cal.txt")"
"$BIN" extract --precision int8 --calib "$TMP/calib.vstf" "$TMP/in" -o "$TMP/f" -j 2 2> "$TMP/x.txt" && ok ||
  bad "extract --calib: $(cat "$TMP/x.txt")"
"$BIN" extract --precision int8 "$TMP/in/a.mp4" -o "$TMP/f0" 2> "$TMP/x0.txt" && ok || bad "extract: $(cat "$TMP/x0.txt")"

# ---- index add --calib: the same features and model id as extract --calib
"$BIN" index add --precision int8 --calib "$TMP/calib.vstf" --index "$TMP/idx" "$TMP/in" -j 2 > /dev/null \
  2> "$TMP/add.txt" && ok || bad "index add --calib: $(cat "$TMP/add.txt")"
model=$("$BIN" index info --index "$TMP/idx" 2>/dev/null | sed -n 's/^model_id: //p')
[ "$model" = "$(vsf_model "$TMP/f/a.mp4.vsf")" ] && ok || bad "index model $model, extract --calib gives $(vsf_model "$TMP/f/a.mp4.vsf")"
[ "$model" != "$(vsf_model "$TMP/f0/a.mp4.vsf")" ] && ok || bad "the calibration is not part of the model id ($model)"
for v in a b; do
  same_features "$TMP/idx" $v "$TMP/f/$v.mp4.vsf" && ok || bad "$v: index add --calib and extract --calib features differ"
done
"$BIN" index verify --index "$TMP/idx" > /dev/null 2>&1 && ok || bad "verify after add --calib"
# a query's .vsf of the same calibration searches the index
"$BIN" search --index "$TMP/idx" --top 1 "$TMP/f/a.mp4.vsf" > "$TMP/s.csv" 2> "$TMP/s.err" &&
  [ "$(sed -n 2p "$TMP/s.csv" | cut -d, -f2)" = a ] && ok || bad "search with a .vsf of the calibration: $(cat "$TMP/s.csv" "$TMP/s.err")"
snapshot "$TMP/idx" > "$TMP/before.txt"

# ---- refusals: the index stays as it was
"$BIN" index add --index "$TMP/idx" --force "$TMP/in/a.mp4" > /dev/null 2> "$TMP/e1.txt"
[ $? -eq 1 ] && grep -q "was built with model $model" "$TMP/e1.txt" && grep -q -- "--calib" "$TMP/e1.txt" && ok ||
  bad "add without --calib to a --calib index: $(cat "$TMP/e1.txt")"
"$BIN" index add --calib "$MODELS/calib_inception_v3.vstf" --index "$TMP/idx" --force "$TMP/in/a.mp4" > /dev/null 2> "$TMP/e2.txt"
[ $? -eq 1 ] && grep -q "was built with model $model; --calib $MODELS/calib_inception_v3.vstf gives" "$TMP/e2.txt" && ok ||
  bad "add with another calibration: $(cat "$TMP/e2.txt")"
"$BIN" index add --calib "$TMP/nosuch.vstf" --index "$TMP/idx" --force "$TMP/in/a.mp4" > /dev/null 2> "$TMP/e3.txt"
[ $? -eq 1 ] && grep -q "nosuch.vstf" "$TMP/e3.txt" && ok || bad "missing calibration: $(cat "$TMP/e3.txt")"
cp "$TMP/calib.vstf" "$TMP/broken.vstf"
printf '\x55' | dd of="$TMP/broken.vstf" bs=1 seek=300 conv=notrunc 2>/dev/null
"$BIN" index add --calib "$TMP/broken.vstf" --index "$TMP/idx" --force "$TMP/in/a.mp4" > /dev/null 2> "$TMP/e4.txt"
[ $? -eq 1 ] && grep -q "broken.vstf" "$TMP/e4.txt" && ok || bad "damaged calibration: $(cat "$TMP/e4.txt")"
# the same message as extract's, command name aside
"$BIN" extract --precision int8 --calib "$TMP/broken.vstf" "$TMP/in/a.mp4" -o "$TMP/fb" 2> "$TMP/e4x.txt"
[ "$(sed 's/^vidsim index add: //' "$TMP/e4.txt")" = "$(sed 's/^vidsim extract: //' "$TMP/e4x.txt")" ] && ok ||
  bad "index add and extract word a damaged calibration differently: $(cat "$TMP/e4.txt" "$TMP/e4x.txt")"
"$BIN" index add --calib "$MODELS/inception_v3.vstf" --index "$TMP/idx" --force "$TMP/in/a.mp4" > /dev/null 2> "$TMP/e5.txt"
[ $? -eq 1 ] && grep -q "inception_v3.vstf: not a backbone calibration file" "$TMP/e5.txt" && ok ||
  bad "weights as calibration: $(cat "$TMP/e5.txt")"
"$BIN" index add --index "$TMP/idx" "$TMP/in/a.mp4" --calib > /dev/null 2> "$TMP/e6.txt"
[ $? -eq 2 ] && grep -q -- "--calib" "$TMP/e6.txt" && ok || bad "--calib without a value: $(cat "$TMP/e6.txt")"
"$BIN" index verify --index "$TMP/idx" > /dev/null 2>&1 && ok || bad "verify after the refused adds"
snapshot "$TMP/idx" | cmp -s - "$TMP/before.txt" && ok || bad "a refused add changed the index"
# a new index is not created by a refused first add either
"$BIN" index add --precision int8 --calib "$TMP/broken.vstf" --index "$TMP/idx_new" "$TMP/in" > /dev/null 2> "$TMP/e7.txt"
[ $? -eq 1 ] && grep -q "broken.vstf" "$TMP/e7.txt" && ok || bad "first add with a damaged calibration: $(cat "$TMP/e7.txt")"
n=$("$BIN" index ls --index "$TMP/idx_new" 2>/dev/null | tail -n +2 | wc -l)
[ "$n" -eq 0 ] && ok || bad "a refused first add indexed $n videos"
# the same calibration again: unchanged; --force re-extracts the same bytes
"$BIN" index add --calib "$TMP/calib.vstf" --index "$TMP/idx" --force "$TMP/in/a.mp4" > /dev/null 2> "$TMP/e8.txt" &&
  same_features "$TMP/idx" a "$TMP/f/a.mp4.vsf" && ok || bad "add --force with the index's calibration: $(cat "$TMP/e8.txt")"
"$BIN" index add --help | grep -q -- "--calib FILE" && ok || bad "index add --help lacks --calib"

# ---- over 2 MPI ranks: the other ranks extract with the same calibration
if "$BIN" --help | grep -q "^MPI: yes" && command -v mpirun > /dev/null; then
  export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
  env "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" timeout 120 mpirun --allow-run-as-root --oversubscribe \
    -x VIDSIM_MODELS -x ASAN_OPTIONS -np 2 "$BIN" index add --precision int8 --calib "$TMP/calib.vstf" \
    --index "$TMP/idx_mpi" "$TMP/in" -j 1 > /dev/null 2> "$TMP/mpi.txt" && ok || bad "mpirun index add --calib: $(cat "$TMP/mpi.txt")"
  for v in a b; do
    same_features "$TMP/idx_mpi" $v "$TMP/f/$v.mp4.vsf" && ok || bad "$v: 2 ranks' index add --calib features differ"
  done
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
