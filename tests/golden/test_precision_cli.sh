#!/usr/bin/env bash
# test_precision_cli.sh - backbone precisions from the CLI (docs/backbone.md): features
# extracted with --precision int8 carry "inception_v3-int8/..." as model id and are
# refused by name when searched against an fp32 index (and fp32 ones against an int8
# index); an int8 index extracts video queries in int8 itself; `index add` without
# --precision follows the index's model id (an fp32 index stays fp32, an int8 one int8,
# also on a CPU capped below VNNI), and with another precision than the index's is
# refused naming the index and both model ids; the default precision of a new index and
# of extract/compare is int8 for inception on a CPU with VNNI/AMX and fp32 without
# (DNNL_MAX_CPU_ISA=AVX512_CORE) and for mobilenet; compare extracts a video with the
# model of a .vsf input; below AVX-512 int8 is refused with a clear message;
# `vidsim calibrate` writes a calibration that extract --calib uses, and a damaged one
# is refused by name; a bad --precision is a usage error. Needs the weights and the
# bundled models/calib_inception_v3.vstf.
set -u
BIN=${VS_BIN:-build/vidsim}
TMP=${VS_TMP:-build/tmp}/precision_cli
MODELS=${VS_MODELS:-models}
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
[ -r "$MODELS/inception_v3.vstf" ] || { echo "SKIP: no weights (run scripts/fetch_weights.sh)"; exit 77; }
[ -r "$MODELS/calib_inception_v3.vstf" ] || { echo "SKIP: no $MODELS/calib_inception_v3.vstf (run scripts/setup.sh)"; exit 77; }
command -v ffmpeg >/dev/null || { echo "SKIP: no ffmpeg"; exit 77; }
export VIDSIM_MODELS=$MODELS
rm -rf "$TMP"; mkdir -p "$TMP/in" "$TMP/q"
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
ff -f lavfi -i testsrc2=size=320x240:rate=25:duration=5 -pix_fmt yuv420p "$TMP/in/a.mp4"
ff -f lavfi -i mandelbrot=size=320x240:rate=25 -t 5 -pix_fmt yuv420p "$TMP/in/b.mp4"
ff -i "$TMP/in/a.mp4" -vf "hflip,eq=brightness=0.1" -c:v libx264 -crf 35 "$TMP/q/a_copy.mkv"

# the model id stored in an index's catalogue
model_of() { "$BIN" index info --index "$1" 2>/dev/null | sed -n 's/^model_id: //p'; }
# the model id of the catalogue row of video $2 (index ls: name is column 2, model_id 12)
row_model() { "$BIN" index ls --index "$1" 2>/dev/null | awk -F, -v n="$2" '$2==n{print $12}'; }
# does this CPU run int8 natively (oneDNN on AVX-512 with VNNI/AMX)? `vidsim --help` says
if "$BIN" --help | grep -q "^Backbone: .*default precision int8 for inception"; then native=1; else native=0; fi
grep -q -E "avx512_vnni|amx_int8" /proc/cpuinfo && [ $native -eq 0 ] && bad "VNNI CPU, but the default precision is not int8: $("$BIN" --help | tail -2)"
"$BIN" --help | grep -q "fp32 for mobilenet" && ok || bad "mobilenet's default is not fp32: $("$BIN" --help | tail -2)"
# below AVX-512 there is no int8 at all: what can be checked is the refusal by name and
# the fp32 default; the int8 parts skip, naming the instruction set
isa=$("$BIN" --help 2>/dev/null | sed -n 's/^Backbone: oneDNN \([a-z0-9_]*\).*/\1/p')
case "$isa" in
avx512*) ;;
*)
  "$BIN" extract --precision int8 "$TMP/in/a.mp4" -o "$TMP/fa2" > /dev/null 2> "$TMP/xa2.txt"
  [ $? -ne 0 ] && grep -q "int8 needs a CPU with AVX-512" "$TMP/xa2.txt" && ok || bad "int8 on ${isa:-no oneDNN}: $(cat "$TMP/xa2.txt")"
  "$BIN" extract "$TMP/in/a.mp4" -o "$TMP/fa2d" 2> "$TMP/xa2d.txt" && ok || bad "default on ${isa:-no oneDNN}: $(cat "$TMP/xa2d.txt")"
  grep -a -q "inception_v3/224/pca256/" "$TMP/fa2d/a.mp4.vsf" && ok || bad "the default on ${isa:-no oneDNN} is not fp32"
  echo "$pass passed, $fail failed"
  [ $fail -eq 0 ] || exit 1
  echo "SKIP: the int8 parts need oneDNN on an AVX-512 CPU (here: ${isa:-no oneDNN})"
  exit 77 ;;
esac

# an fp32 index and an int8 one, both named explicitly
"$BIN" index add --precision fp32 --index "$TMP/i32" "$TMP/in" -j 2 > "$TMP/add32.txt" 2>&1 && ok || bad "index add fp32: $(cat "$TMP/add32.txt")"
"$BIN" index add --precision int8 --index "$TMP/i8" "$TMP/in" -j 2 > "$TMP/add8.txt" 2>&1 && ok || bad "index add int8: $(cat "$TMP/add8.txt")"
m32=$(model_of "$TMP/i32"); m8=$(model_of "$TMP/i8")
case "$m32" in inception_v3/224/pca256/????????) ok ;; *) bad "fp32 index model id: '$m32'" ;; esac
case "$m8" in inception_v3-int8/224/pca256/????????) ok ;; *) bad "int8 index model id: '$m8'" ;; esac
"$BIN" extract --precision int8 "$TMP/q/a_copy.mkv" -o "$TMP/f8" 2> "$TMP/x8.txt" && ok || bad "extract int8: $(cat "$TMP/x8.txt")"
"$BIN" extract --precision fp32 "$TMP/q/a_copy.mkv" -o "$TMP/f32" 2> "$TMP/x32.txt" && ok || bad "extract fp32: $(cat "$TMP/x32.txt")"
grep -a -q "inception_v3-int8/224/pca256/" "$TMP/f8/a_copy.mkv.vsf" && ok || bad "int8 feature file without an int8 model id"
grep -a -q "inception_v3-int8" "$TMP/f32/a_copy.mkv.vsf" && bad "fp32 feature file with an int8 model id" || ok
grep -a -q "$m32" "$TMP/f32/a_copy.mkv.vsf" && ok || bad "extract --precision fp32 does not give the fp32 index's model $m32"

# the defaults: extract and a new index use int8 for inception on a VNNI/AMX CPU, fp32
# without VNNI (capped) and for mobilenet
"$BIN" extract "$TMP/q/a_copy.mkv" -o "$TMP/fd" 2> "$TMP/xd.txt" && ok || bad "extract default: $(cat "$TMP/xd.txt")"
if [ $native -eq 1 ]; then want=$m8; else want=$m32; fi
grep -a -q "$want" "$TMP/fd/a_copy.mkv.vsf" && ok || bad "extract without --precision: not $want"
"$BIN" index add --index "$TMP/idef" "$TMP/in/a.mp4" > "$TMP/adddef.txt" 2>&1 && ok || bad "index add default: $(cat "$TMP/adddef.txt")"
[ "$(model_of "$TMP/idef")" = "$want" ] && ok || bad "new index without --precision: $(model_of "$TMP/idef"), not $want"
DNNL_MAX_CPU_ISA=AVX512_CORE "$BIN" extract "$TMP/q/a_copy.mkv" -o "$TMP/fnv" 2> "$TMP/xnv.txt" && ok || bad "extract without VNNI: $(cat "$TMP/xnv.txt")"
grep -a -q "$m32" "$TMP/fnv/a_copy.mkv.vsf" && ok || bad "extract without VNNI (DNNL_MAX_CPU_ISA=AVX512_CORE) is not fp32 $m32"
"$BIN" extract --backbone mobilenet "$TMP/in/a.mp4" -o "$TMP/fmb" 2> "$TMP/xmb.txt" && ok || bad "extract mobilenet: $(cat "$TMP/xmb.txt")"
grep -a -q "mobilenet_v2/224/pca256/" "$TMP/fmb/a.mp4.vsf" && ok || bad "mobilenet's default is not fp32"
# the int8 default without a calibration: an error naming the file and the way out
mkdir -p "$TMP/m"
for f in inception_v3.vstf pca_inception_v3.vstf; do ln -sf "$(cd "$MODELS" && pwd)/$f" "$TMP/m/$f"; done
if [ $native -eq 1 ]; then
  VIDSIM_MODELS=$TMP/m "$BIN" extract "$TMP/in/a.mp4" -o "$TMP/fnc" > /dev/null 2> "$TMP/xnc.txt"
  [ $? -eq 1 ] && grep -q "$TMP/m/calib_inception_v3.vstf" "$TMP/xnc.txt" && grep -q -- "--precision fp32 needs no calibration" "$TMP/xnc.txt" &&
    ok || bad "int8 default without a calibration: $(cat "$TMP/xnc.txt")"
fi
VIDSIM_MODELS=$TMP/m "$BIN" extract --precision fp32 "$TMP/in/a.mp4" -o "$TMP/fnc32" 2> "$TMP/xnc32.txt" && ok ||
  bad "fp32 without a calibration: $(cat "$TMP/xnc32.txt")"
# below AVX-512: int8 refused by name of the reason; the default there is fp32
DNNL_MAX_CPU_ISA=AVX2 "$BIN" extract --precision int8 "$TMP/in/a.mp4" -o "$TMP/fa2" > /dev/null 2> "$TMP/xa2.txt"
[ $? -ne 0 ] && grep -q "int8 needs a CPU with AVX-512" "$TMP/xa2.txt" && ok || bad "int8 on avx2: $(cat "$TMP/xa2.txt")"
DNNL_MAX_CPU_ISA=AVX2 "$BIN" extract "$TMP/in/a.mp4" -o "$TMP/fa2d" 2> "$TMP/xa2d.txt" && ok || bad "default on avx2: $(cat "$TMP/xa2d.txt")"

# index add without --precision follows the index: fp32 stays fp32, int8 stays int8
"$BIN" index add --index "$TMP/i32" "$TMP/q/a_copy.mkv" > "$TMP/add32b.txt" 2>&1 && ok || bad "default add to the fp32 index: $(cat "$TMP/add32b.txt")"
grep -q "1 added" "$TMP/add32b.txt" && ok || bad "default add to the fp32 index added nothing: $(cat "$TMP/add32b.txt")"
[ "$(model_of "$TMP/i32")" = "$m32" ] && ok || bad "the fp32 index's model changed: $(model_of "$TMP/i32")"
[ "$(row_model "$TMP/i32" a_copy)" = "$m32" ] && ok || bad "the video added to the fp32 index is not fp32: $(row_model "$TMP/i32" a_copy)"
"$BIN" search --index "$TMP/i32" "$TMP/q/a_copy.mkv" --top 3 > "$TMP/s32.csv" 2> "$TMP/s32.txt" && ok || bad "search the fp32 index: $(cat "$TMP/s32.txt")"
# the copy (its own entry left out) finds its source a first
[ "$(awk -F, 'NR==2{print $2}' "$TMP/s32.csv")" = "a" ] && ok ||
  bad "search of the fp32 index after a default add: $(cat "$TMP/s32.csv")"
cp -a "$TMP/i8" "$TMP/i8b"
"$BIN" index add --index "$TMP/i8b" "$TMP/q/a_copy.mkv" > "$TMP/add8b.txt" 2>&1 && ok || bad "default add to the int8 index: $(cat "$TMP/add8b.txt")"
[ "$(model_of "$TMP/i8b")" = "$m8" ] && ok || bad "the int8 index's model changed: $(model_of "$TMP/i8b")"
[ "$(row_model "$TMP/i8b" a_copy)" = "$m8" ] && ok || bad "the video added to the int8 index is not int8: $(row_model "$TMP/i8b" a_copy)"
# without VNNI an int8 index still gets int8 features (emulated), not the fp32 default
cp -a "$TMP/i8" "$TMP/i8nv"
DNNL_MAX_CPU_ISA=AVX512_CORE "$BIN" index add --index "$TMP/i8nv" "$TMP/q/a_copy.mkv" > "$TMP/add8nv.txt" 2>&1 && ok ||
  bad "add to the int8 index without VNNI: $(cat "$TMP/add8nv.txt")"
[ "$(row_model "$TMP/i8nv" a_copy)" = "$m8" ] && ok || bad "the video added without VNNI to the int8 index is not int8"
# an explicit precision other than the index's: refused, naming the index and both ids
"$BIN" index add --precision int8 --index "$TMP/i32" "$TMP/in/b.mp4" --force > "$TMP/add_bad32.txt" 2>&1
[ $? -eq 1 ] && grep -q "$TMP/i32 was built with model $m32; --precision int8 gives $m8" "$TMP/add_bad32.txt" && ok ||
  bad "int8 add to the fp32 index: $(cat "$TMP/add_bad32.txt")"
[ "$(model_of "$TMP/i32")" = "$m32" ] && ok || bad "the refused add changed the fp32 index's model"
# compare: a video against a .vsf is extracted with the .vsf's model
for f in "$TMP/f32/a_copy.mkv.vsf" "$TMP/f8/a_copy.mkv.vsf"; do
  "$BIN" compare "$TMP/in/a.mp4" "$f" > "$TMP/cmp.txt" 2>&1 && ok || bad "compare a.mp4 $f: $(cat "$TMP/cmp.txt")"
done
"$BIN" compare "$TMP/in/a.mp4" "$TMP/f32/a_copy.mkv.vsf" --precision int8 > "$TMP/cmp2.txt" 2>&1
[ $? -ne 0 ] && grep -q "different models" "$TMP/cmp2.txt" && ok || bad "compare with an explicit other precision: $(cat "$TMP/cmp2.txt")"

# a feature file of another precision is refused at search time, by name
"$BIN" search --index "$TMP/i32" "$TMP/f8/a_copy.mkv.vsf" > "$TMP/s1.csv" 2> "$TMP/s1.txt"
rc=$?
[ $rc -ne 0 ] && ok || bad "int8 query on an fp32 index: exit 0"
grep -q "a_copy.mkv.vsf" "$TMP/s1.txt" && grep -q "inception_v3-int8/" "$TMP/s1.txt" && ok ||
  bad "the refusal does not name the file and its model: $(cat "$TMP/s1.txt")"
"$BIN" search --index "$TMP/i8" "$TMP/f32/a_copy.mkv.vsf" > "$TMP/s2.csv" 2> "$TMP/s2.txt"
[ $? -ne 0 ] && grep -q "a_copy.mkv.vsf" "$TMP/s2.txt" && ok || bad "fp32 query on an int8 index: $(cat "$TMP/s2.txt")"
# the right precision: the copy finds its source first, from the .vsf and from the video
for q in "$TMP/f8/a_copy.mkv.vsf" "$TMP/q/a_copy.mkv"; do
  "$BIN" search --index "$TMP/i8" "$q" > "$TMP/s3.csv" 2> "$TMP/s3.txt" && ok || bad "search int8 $q: $(cat "$TMP/s3.txt")"
  top=$(awk -F, 'NR==2{print $0}' "$TMP/s3.csv")
  echo "$top" | grep -q "a" && ok || bad "top hit of $q is not a: $(cat "$TMP/s3.csv")"
done
# index add with another precision than the index's: refused, naming the index and
# both model ids, index unchanged
"$BIN" index ls --index "$TMP/i8" > "$TMP/ls_before.csv" 2>&1
"$BIN" index add --precision fp32 --index "$TMP/i8" "$TMP/q/a_copy.mkv" > "$TMP/add_bad.txt" 2>&1
[ $? -eq 1 ] && grep -q "$TMP/i8 was built with model $m8; --precision fp32 gives $m32" "$TMP/add_bad.txt" && ok ||
  bad "fp32 add to an int8 index: $(cat "$TMP/add_bad.txt")"
"$BIN" index ls --index "$TMP/i8" > "$TMP/ls_after.csv" 2>&1
cmp -s "$TMP/ls_before.csv" "$TMP/ls_after.csv" && ok || bad "the refused add changed the index"
# a damaged feature file of the int8 index: search's hint names the precision, and the
# command it prints heals the entry
cp -a "$TMP/i8" "$TMP/i8d"
f=$(ls "$TMP/i8d/features/"*.vsf | head -1)
printf 'XX' | dd of="$f" bs=1 seek=500 conv=notrunc 2>/dev/null
"$BIN" search --index "$TMP/i8d" "$TMP/f32/a_copy.mkv.vsf" > /dev/null 2> "$TMP/hint.txt"
hint=$(sed -n 's/.*to heal, run `\(vidsim index add [^`]*\) PATH\.\.\.`.*/\1/p' "$TMP/hint.txt")
echo "$hint" | grep -q -- "--precision int8" && ok || bad "the heal hint lacks the precision: $(cat "$TMP/hint.txt")"
src=$(sed -n 's/^  skipped \(.*\): index entry .*/\1/p' "$TMP/hint.txt" | head -1)
if [ -n "$hint" ] && [ -n "$src" ]; then
  # shellcheck disable=SC2086
  "$BIN" ${hint#vidsim } "$src" > /dev/null 2>&1 && "$BIN" index verify --index "$TMP/i8d" > /dev/null 2>&1 && ok ||
    bad "the hinted command did not heal the index: $hint $src"
else bad "no hint or no skipped path: $(cat "$TMP/hint.txt")"; fi

# calibrate, then use it; a damaged calibration is refused by name
"$BIN" calibrate "$TMP/in" -o "$TMP/calib.vstf" --frames 8 > "$TMP/cal.txt" 2>&1 && ok || bad "calibrate: $(cat "$TMP/cal.txt")"
grep -q "calibrated inception 8 frames from 2 videos" "$TMP/cal.txt" && ok || bad "calibrate output: $(cat "$TMP/cal.txt")"
"$BIN" extract --precision int8 --calib "$TMP/calib.vstf" "$TMP/in/a.mp4" -o "$TMP/fc" 2> "$TMP/xc.txt" && ok || bad "extract --calib: $(cat "$TMP/xc.txt")"
cp "$TMP/calib.vstf" "$TMP/broken.vstf"
printf '\x55' | dd of="$TMP/broken.vstf" bs=1 seek=300 conv=notrunc 2>/dev/null
"$BIN" extract --precision int8 --calib "$TMP/broken.vstf" "$TMP/in/a.mp4" -o "$TMP/fb" 2> "$TMP/xb.txt"
[ $? -ne 0 ] && grep -q "broken.vstf" "$TMP/xb.txt" && ok || bad "damaged calibration: $(cat "$TMP/xb.txt")"
"$BIN" extract --precision int8 --calib "$MODELS/inception_v3.vstf" "$TMP/in/a.mp4" -o "$TMP/fb" 2> "$TMP/xw.txt"
[ $? -ne 0 ] && grep -q "not a backbone calibration file" "$TMP/xw.txt" && ok || bad "weights as calibration: $(cat "$TMP/xw.txt")"
# usage errors
"$BIN" extract --precision fp16 "$TMP/in/a.mp4" -o "$TMP/fu" 2> "$TMP/u1.txt"
[ $? -eq 2 ] && grep -q -- "--precision" "$TMP/u1.txt" && ok || bad "--precision fp16: $(cat "$TMP/u1.txt")"
"$BIN" index add --precision int4 --index "$TMP/i8" "$TMP/in" 2> "$TMP/u2.txt"
[ $? -eq 2 ] && ok || bad "index add --precision int4: $(cat "$TMP/u2.txt")"
"$BIN" calibrate "$TMP/in" -o "$TMP/c2.vstf" --percentile 0 2> "$TMP/u3.txt"
[ $? -eq 2 ] && ok || bad "calibrate --percentile 0: $(cat "$TMP/u3.txt")"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
