#!/usr/bin/env bash
# test_inset_view_cli.sh - `vidsim search --inset-view on|off` (on by default;
# vs_search_params.inset_view, docs/hard_copies.md "The inset view"): a video query is
# probed for a picture-in-picture inset while it is extracted, and a found inset is
# scored as one more view. A reference shown small inside an unrelated host scores
# higher with the view than without and comes first, also when the host with the inset
# is only part of the video (between hard cuts), from the video or its feature file; a plain copy (no inset) gives the
# same output either way; each reference keeps its best view (on >= off for every
# pair); an inset whose frames are all flat is dropped silently; --top 1 is the first
# row of --top 0; another value than on/off exits 2 naming
# the option; over 2 MPI ranks (when built with MPI) the output equals one process's;
# the index still verifies.
set -u
BIN=${VS_BIN:-build/vidsim}
TMP=${VS_TMP:-build/tmp}/inset_view_cli
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
ff -f lavfi -i "life=size=320x240:rate=10:mold=10:r=10:seed=7" -t 8 -pix_fmt yuv420p "$TMP/in/c.mp4"
# b at 0.4 of the height, with a thin white frame, inside a host that is not indexed
ff -f lavfi -i "cellauto=size=640x360:rate=10:rule=110:seed=7" -i "$TMP/in/b.mp4" -filter_complex \
  "[1]scale=186:140,pad=192:146:3:3:white[i];[0][i]overlay=x=380:y=150:shortest=1" -t 8 -pix_fmt yuv420p \
  "$TMP/q/b_inset.mp4"
# the same inset shown for part of the video only: 3 s of moving gradients, 5 s of the
# host with b inside, 3 s of another cellular pattern, cut in hard
ff -f lavfi -i "gradients=s=640x360:r=10:speed=0.05:seed=1:c0=0x3050a0:c1=0xe0c040:nb_colors=2" -i "$TMP/q/b_inset.mp4" \
  -f lavfi -i "cellauto=size=640x360:rate=10:rule=30:seed=3" -filter_complex \
  "[0]trim=duration=3,setpts=PTS-STARTPTS,format=yuv420p[x];[1]trim=duration=5,setpts=PTS-STARTPTS,format=yuv420p[y];[2]trim=duration=3,setpts=PTS-STARTPTS,format=yuv420p[z];[x][y][z]concat=n=3:v=1:a=0" \
  -pix_fmt yuv420p "$TMP/q/b_embedded.mp4"
ff -i "$TMP/in/a.mp4" -vf "eq=brightness=0.05" -pix_fmt yuv420p "$TMP/q/a_copy.mp4"
# a flat black box with a white frame on the same host: an "inset" with nothing in it
ff -f lavfi -i "cellauto=size=640x360:rate=10:rule=110:seed=7" -vf \
  "drawbox=x=377:y=147:w=198:h=152:color=white:t=3,drawbox=x=380:y=150:w=192:h=146:color=black:t=fill" -t 8 \
  -pix_fmt yuv420p "$TMP/q/flat_box.mp4"
"$BIN" index add --index "$TMP/idx" "$TMP/in" --backbone mobilenet -j 2 >/dev/null 2>"$TMP/add.err" \
  || { echo "FAIL: index add: $(cat "$TMP/add.err")"; exit 1; }
score() { awk -F, -v q="$2" -v r="$3" 'NR>1 && $1==q && $2==r {print $3}' "$1"; }

"$BIN" search --index "$TMP/idx" --top 0 --inset-view off "$TMP/q/b_inset.mp4" "$TMP/q/a_copy.mp4" "$TMP/q/b_embedded.mp4" > "$TMP/off.csv" \
  2>"$TMP/e1" && ok || bad "search --inset-view off: $(cat "$TMP/e1")"
"$BIN" search --index "$TMP/idx" --top 0 "$TMP/q/b_inset.mp4" "$TMP/q/a_copy.mp4" "$TMP/q/b_embedded.mp4" > "$TMP/on.csv" 2>"$TMP/e2" \
  && ok || bad "search (inset view on by default): $(cat "$TMP/e2")"
s1=$(score "$TMP/off.csv" b_inset b); s2=$(score "$TMP/on.csv" b_inset b)
echo "b inside a host: $s1 without, $s2 with the inset view"
awk -v x="$s1" -v y="$s2" 'BEGIN{exit !(y > x + 0.1)}' && ok || bad "inset copy: $s1 without, $s2 with the inset view"
[ "$(awk -F, '$1=="b_inset"' "$TMP/on.csv" | head -1 | cut -d, -f2)" = b ] && ok || bad "inset copy's first hit: $(cat "$TMP/on.csv")"
# shown for 5 s of 11: the inset is looked for between the cuts too (vs_inset_params.segments)
s3=$(score "$TMP/off.csv" b_embedded b); s4=$(score "$TMP/on.csv" b_embedded b)
echo "b inside a host for 5 s of 11: $s3 without, $s4 with the inset view"
awk -v x="$s3" -v y="$s4" 'BEGIN{exit !(y > x + 0.1)}' && ok || bad "embedded inset copy: $s3 without, $s4 with the inset view"
[ "$(awk -F, '$1=="b_embedded"' "$TMP/on.csv" | head -1 | cut -d, -f2)" = b ] && ok || bad "embedded inset copy's first hit: $(cat "$TMP/on.csv")"
# its feature file (extract --inset-view on stores the span) searches the same
"$BIN" extract --backbone mobilenet --inset-view on --mirror-view on -o "$TMP/f" "$TMP/q/b_embedded.mp4" >/dev/null 2>"$TMP/e6" && ok || bad "extract: $(cat "$TMP/e6")"
"$BIN" search --index "$TMP/idx" --top 0 "$TMP/f/b_embedded.mp4.vsf" > "$TMP/emb_vsf.csv" 2>"$TMP/e7"
cmp -s "$TMP/emb_vsf.csv" <(head -1 "$TMP/on.csv"; grep '^b_embedded,' "$TMP/on.csv") && ok \
  || bad "embedded .vsf vs video: $(cat "$TMP/e7"; diff "$TMP/emb_vsf.csv" <(grep b_embedded "$TMP/on.csv"))"
for r in a b c; do
  x=$(score "$TMP/off.csv" b_inset $r); y=$(score "$TMP/on.csv" b_inset $r)
  awk -v x="$x" -v y="$y" 'BEGIN{exit !(y >= x - 1e-6)}' && ok || bad "inset query vs $r: $x without, $y with (a max)"
done
# an inset view that cannot be extracted (every frame of it flat) is dropped without a word
"$BIN" search --index "$TMP/idx" --top 0 "$TMP/q/flat_box.mp4" > "$TMP/flat.csv" 2>"$TMP/e5" && [ ! -s "$TMP/e5" ] \
  && [ "$(wc -l < "$TMP/flat.csv")" = 4 ] && ok || bad "flat inset: rc/stderr $(cat "$TMP/e5") $(cat "$TMP/flat.csv")"
# a copy without an inset: no third view, the same rows
cmp -s <(grep a_copy "$TMP/off.csv") <(grep a_copy "$TMP/on.csv") && ok || bad "plain copy changed with the inset view"
[ "$(wc -l < "$TMP/on.csv")" = 10 ] && ok || bad "three queries x 3 refs: $(cat "$TMP/on.csv")"
"$BIN" search --index "$TMP/idx" --top 1 "$TMP/q/b_inset.mp4" > "$TMP/top1.csv" 2>/dev/null
[ "$(sed -n 2p "$TMP/top1.csv")" = "$(grep b_inset "$TMP/on.csv" | head -1)" ] && ok || bad "--top 1: $(cat "$TMP/top1.csv")"
"$BIN" search --index "$TMP/idx" --inset-view maybe "$TMP/q/b_inset.mp4" > /dev/null 2>"$TMP/e3"; rc=$?
[ $rc = 2 ] && grep -q -- "--inset-view" "$TMP/e3" && ok || bad "--inset-view maybe: rc $rc, $(cat "$TMP/e3")"
"$BIN" search --help 2>&1 | grep -q -- "--inset-view on|off" && ok || bad "search --help lacks --inset-view"
if command -v mpirun >/dev/null && ! "$BIN" --help | grep -q "^MPI: no"; then
  # OpenMPI in containers: root, more ranks than cores, no cross-memory attach; no LSan in the ranks
  export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
  env "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" timeout 300 mpirun --allow-run-as-root \
    --oversubscribe -x VIDSIM_MODELS -x ASAN_OPTIONS -np 2 "$BIN" search --index "$TMP/idx" --top 0 \
    "$TMP/q/b_inset.mp4" "$TMP/q/a_copy.mp4" "$TMP/q/b_embedded.mp4" > "$TMP/mpi.csv" 2>"$TMP/e4" && cmp -s "$TMP/mpi.csv" "$TMP/on.csv" \
    && ok || bad "2 MPI ranks differ: $(cat "$TMP/e4"; diff "$TMP/mpi.csv" "$TMP/on.csv")"
fi
"$BIN" index verify --index "$TMP/idx" >/dev/null 2>&1 && ok || bad "index verify"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
