#!/usr/bin/env bash
# test_index_rebuild_cli.sh - a catalogue with a damaged inner page takes no more writes,
# and `index rebuild` brings the index back from its feature files (mobilenet, raw
# features, tiny lavfi clips):
#  * an index of 3 clips (with stored lsh64 codes); garbage over page 3 of
#    catalogue.sqlite: `index add` of a 4th clip, `index rm`, `index hash` and
#    `verify --repair` refuse (exit 1, the message names the catalogue and says
#    `index rebuild`), write nothing (the file's bytes unchanged, no new feature file);
#    `verify` reports the damage and the way out; `ls` and `search` still work;
#  * `index rebuild`: ls lists the same 3 videos (names, frames, model id), verify
#    passes, search gives the same results as before the damage, the damaged file is
#    kept byte for byte, and `index add` works again (the 3 unchanged, the 4th added);
#  * a rebuild with one truncated feature file leaves that video out, names the file
#    and the video, exits 1, and does not delete the file.
set -u
BIN=${VS_BIN:-build/vidsim}
TMP=${VS_TMP:-build/tmp}/index_rebuild_cli
MODELS=${VS_MODELS:-models}
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
[ -r "$MODELS/mobilenet_v2.vstf" ] || { echo "SKIP: no weights (run scripts/fetch_weights.sh)"; exit 77; }
command -v ffmpeg >/dev/null || { echo "SKIP: no ffmpeg"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: no python3 (to read the page size and damage a page)"; exit 77; }
export VIDSIM_MODELS=$MODELS
rm -rf "$TMP"; mkdir -p "$TMP/in" "$TMP/more"
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
ff -f lavfi -i testsrc2=size=160x120:rate=10:duration=4 -pix_fmt yuv420p "$TMP/in/a.mp4"
ff -f lavfi -i mandelbrot=size=160x120:rate=10 -t 4 -pix_fmt yuv420p "$TMP/in/b.mp4"
ff -i "$TMP/in/a.mp4" -vf scale=120:90 "$TMP/in/a_small.mp4"
ff -f lavfi -i testsrc=size=160x120:rate=10:duration=3 -pix_fmt yuv420p "$TMP/more/d.mp4"
ADD=(--backbone mobilenet --raw -j 2)
IDX=$TMP/idx
CAT=$IDX/catalogue.sqlite
"$BIN" index add --index "$IDX" "$TMP/in" "${ADD[@]}" --hash-model lsh64 2>"$TMP/add0.err" && ok || bad "add: $(cat "$TMP/add0.err")"
"$BIN" search --index "$IDX" a > "$TMP/before.csv" 2>"$TMP/before.err" && ok || bad "search: $(cat "$TMP/before.err")"
"$BIN" index ls --index "$IDX" | cut -d, -f2,3,4,12 | sort > "$TMP/ls_before.txt"
[ "$(wc -l < "$TMP/ls_before.txt")" = 4 ] && ok || bad "ls before: $(cat "$TMP/ls_before.txt")"

# garbage over page 3 (an inner page: page 1 holds the schema)
python3 - "$CAT" <<'PY'
import sys
p = sys.argv[1]
d = bytearray(open(p, 'rb').read())
ps = int.from_bytes(d[16:18], 'big') or 65536
assert len(d) >= 4 * ps, "catalogue too small"
d[2 * ps:3 * ps] = bytes((i * 37 + 11) & 255 for i in range(ps))
open(p, 'wb').write(d)
PY
cp "$CAT" "$TMP/damaged.copy"
nfeat() { ls "$IDX/features" | wc -l; }
nf0=$(nfeat)

refused() { # $1 label, then the command
  local lb=$1; shift
  "$@" > "$TMP/$lb.out" 2> "$TMP/$lb.err"; local rc=$?
  [ $rc -ne 0 ] && ok || bad "$lb on a damaged catalogue: exit 0"
  grep -q "$CAT: the catalogue is damaged" "$TMP/$lb.err" && grep -q "vidsim index rebuild --index $IDX" "$TMP/$lb.err" \
    && ok || bad "$lb: message does not name the catalogue and the way out: $(cat "$TMP/$lb.err")"
  cmp -s "$CAT" "$TMP/damaged.copy" && ok || bad "$lb wrote into the damaged catalogue"
  [ "$(nfeat)" = "$nf0" ] && ok || bad "$lb changed features/"
}
refused add "$BIN" index add --index "$IDX" "$TMP/more/d.mp4" "${ADD[@]}"
refused rm "$BIN" index rm --index "$IDX" a
refused hash "$BIN" index hash --index "$IDX" --hash-model lsh64 --force
refused repair "$BIN" index verify --index "$IDX" --repair
"$BIN" index verify --index "$IDX" > "$TMP/verify.out" 2> "$TMP/verify.err"; rc=$?
[ $rc -eq 1 ] && grep -q '^catalogue ' "$TMP/verify.out" && grep -q "vidsim index rebuild --index $IDX" "$TMP/verify.err" \
  && ok || bad "verify exit $rc: $(cat "$TMP/verify.out" "$TMP/verify.err")"
"$BIN" index ls --index "$IDX" > /dev/null 2>&1 && ok || bad "ls refused on the damaged catalogue"
cmp -s "$CAT" "$TMP/damaged.copy" && ok || bad "verify/ls wrote into the damaged catalogue"

# rebuild
"$BIN" index rebuild --index "$IDX" > "$TMP/rebuild.out" 2> "$TMP/rebuild.err" && ok || bad "rebuild exit $?: $(cat "$TMP/rebuild.err")"
grep -q "rebuilt the catalogue from 3 feature files: 3 videos" "$TMP/rebuild.err" && ok || bad "rebuild summary: $(cat "$TMP/rebuild.err")"
kept=$(ls "$IDX"/catalogue.sqlite.damaged-* 2>/dev/null | grep -v -- '-wal$' | head -1)
[ -n "$kept" ] && cmp -s "$kept" "$TMP/damaged.copy" && ok || bad "damaged catalogue not kept as found: $(ls "$IDX")"
grep -q "kept as $kept" "$TMP/rebuild.err" && ok || bad "rebuild does not say where the old catalogue is"
"$BIN" index ls --index "$IDX" | cut -d, -f2,3,4,12 | sort > "$TMP/ls_after.txt"
cmp -s "$TMP/ls_before.txt" "$TMP/ls_after.txt" && ok || bad "ls differs: $(diff "$TMP/ls_before.txt" "$TMP/ls_after.txt")"
"$BIN" index verify --index "$IDX" > "$TMP/verify2.out" 2>&1 && ok || bad "verify after rebuild: $(cat "$TMP/verify2.out")"
"$BIN" search --index "$IDX" a > "$TMP/after.csv" 2>"$TMP/after.err" && cmp -s "$TMP/before.csv" "$TMP/after.csv" \
  && ok || bad "search differs after rebuild: $(cat "$TMP/before.csv" "$TMP/after.csv" "$TMP/after.err")"
"$BIN" index info --index "$IDX" | grep -q '^extras: hash lsh-64' && ok || bad "stored codes lost: $("$BIN" index info --index "$IDX")"
"$BIN" index add --index "$IDX" "$TMP/in" "$TMP/more/d.mp4" "${ADD[@]}" -v > "$TMP/add2.out" 2> "$TMP/add2.err" && ok \
  || bad "add after rebuild: $(cat "$TMP/add2.err")"
[ "$(grep -c '^unchanged ' "$TMP/add2.out")" = 3 ] && grep -q "^added $TMP/more/d.mp4" "$TMP/add2.out" && ok \
  || bad "add after rebuild: $(cat "$TMP/add2.out")"
[ -e "$kept" ] && ok || bad "the damaged catalogue was deleted"

# a truncated feature file: that video is left out and named, the file stays
vf=$IDX/$("$BIN" index ls --index "$IDX" --format jsonl | grep '"name":"b"' | sed 's/.*"feature_file":"\([^"]*\)".*/\1/')
truncate -s 50 "$vf"
"$BIN" index rebuild --index "$IDX" > "$TMP/rebuild2.out" 2> "$TMP/rebuild2.err"; rc=$?
[ $rc -eq 1 ] && ok || bad "rebuild with a truncated file: exit $rc"
grep -q "^left out features/$(basename "$vf"): .* (file kept)" "$TMP/rebuild2.out" && grep -q "^lost $TMP/in/b.mp4" "$TMP/rebuild2.out" \
  && ok || bad "truncated file not named: $(cat "$TMP/rebuild2.out" "$TMP/rebuild2.err")"
[ -e "$vf" ] && ok || bad "the truncated file was deleted"
names=$("$BIN" index ls --index "$IDX" | cut -d, -f2 | tail -n +2 | sort | tr '\n' ' ')
[ "$names" = "a a_small d " ] && ok || bad "after the second rebuild: $names"

# a lost catalogue (deleted, feature files still there): `index add` must not start a
# new empty index, whose clean-up would delete every feature file as an orphan
mv "$IDX/catalogue.sqlite" "$TMP/lost.sqlite"
rm -f "$IDX"/catalogue.sqlite-wal "$IDX"/catalogue.sqlite-shm
nf=$(ls "$IDX"/features/*.vsf | wc -l)
"$BIN" index add --index "$IDX" "$TMP/in" "${ADD[@]}" > "$TMP/add3.out" 2> "$TMP/add3.err"; rc=$?
[ $rc -ne 0 ] && grep -q "catalogue.sqlite is missing but .* holds $nf feature files.*index rebuild" "$TMP/add3.err" \
  && ok || bad "add on a lost catalogue: exit $rc, $(cat "$TMP/add3.err")"
[ "$(ls "$IDX"/features/*.vsf | wc -l)" = "$nf" ] && [ ! -e "$IDX/catalogue.sqlite" ] && ok \
  || bad "add on a lost catalogue changed the index: $(ls "$IDX" "$IDX/features")"
"$BIN" index rebuild --index "$IDX" > "$TMP/rebuild3.out" 2> "$TMP/rebuild3.err"
names=$("$BIN" index ls --index "$IDX" | cut -d, -f2 | tail -n +2 | sort | tr '\n' ' ')
[ "$names" = "a a_small d " ] && ok || bad "rebuild of a lost catalogue: $names $(cat "$TMP/rebuild3.err")"

echo "test_index_rebuild_cli: $pass passed, $fail failed"
[ $fail -eq 0 ]
