#!/usr/bin/env bash
# test_index_cli.sh - `vidsim index` end to end on synthetic clips (mobilenet, raw
# features: no whitening file needed): add creates the index and lists bad inputs
# with a non-zero exit, a second add skips everything, a changed file replaces its
# row, two files with the same name in different folders do not collide, ls prints
# CSV/JSONL with the expected header and rows, rm by name and by path (ambiguous
# names refused), a different model or fps is refused, verify finds and --repair
# fixes a corrupt feature file and an orphan, a second writer is refused, and a
# malformed catalogue is reported by name; --timing reports the extracted frames.
set -u
BIN=${VS_BIN:-build/vidsim}
TMP=${VS_TMP:-build/tmp}/index_cli
MODELS=${VS_MODELS:-models}
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
[ -r "$MODELS/mobilenet_v2.vstf" ] || { echo "SKIP: no weights (run scripts/fetch_weights.sh)"; exit 77; }
command -v ffmpeg >/dev/null || { echo "SKIP: no ffmpeg"; exit 77; }
export VIDSIM_MODELS=$MODELS
rm -rf "$TMP"; mkdir -p "$TMP/in/sub" "$TMP/bad"
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
ff -f lavfi -i testsrc2=size=192x144:rate=15 -t 3 -pix_fmt yuv420p "$TMP/in/a.mp4"
ff -f lavfi -i mandelbrot=size=192x144:rate=15 -t 3 -pix_fmt yuv420p "$TMP/in/b.mp4"
ff -f lavfi -i smptebars=size=192x144:rate=15 -t 2 -pix_fmt yuv420p "$TMP/in/sub/a.mkv"
head -c 5000 /dev/urandom > "$TMP/bad/noise.mp4"
: > "$TMP/bad/empty.mp4"
IDX="$TMP/idx"
add() { "$BIN" index add --index "$IDX" --backbone mobilenet --raw -j 2 "$@"; }

add "$TMP/in" "$TMP/bad" 2> "$TMP/log1.txt"
rc=$?
[ $rc -eq 1 ] && ok || bad "add with bad inputs: exit $rc, want 1"
grep -q "3 added, 0 replaced, 0 unchanged, 2 failed of 5 videos" "$TMP/log1.txt" && ok || bad "summary: $(cat "$TMP/log1.txt")"
for f in noise.mp4 empty.mp4; do grep -q "$f" "$TMP/log1.txt" && ok || bad "failure list lacks $f"; done
[ "$(ls "$IDX/features" | wc -l)" = 3 ] && ok || bad "want 3 feature files: $(ls "$IDX/features")"
ls "$IDX/features" | grep -qE '^(a|b)\.' && bad "feature files named after user files" || ok

add "$TMP/in" 2> "$TMP/log2.txt" && ok || bad "second add failed: $(cat "$TMP/log2.txt")"
grep -q "0 added, 0 replaced, 3 unchanged, 0 failed" "$TMP/log2.txt" && ok || bad "second add did not skip: $(cat "$TMP/log2.txt")"

"$BIN" index ls --index "$IDX" > "$TMP/ls.csv" || bad "ls failed"
head -1 "$TMP/ls.csv" | grep -qx "id,name,status,frames,duration,size,mtime_ns,hash,added,path,feature_file,model_id,error" && ok || bad "csv header: $(head -1 "$TMP/ls.csv")"
[ "$(grep -c ',a,ok,' "$TMP/ls.csv")" = 2 ] && ok || bad "two ok rows named a expected: $(cat "$TMP/ls.csv")"
grep -q ',noise,failed,0,' "$TMP/ls.csv" && ok || bad "noise not a failed row"
grep -q "$(cd "$TMP/in" && pwd)/b.mp4" "$TMP/ls.csv" && ok || bad "paths are not absolute"
"$BIN" index ls --index "$IDX" --format jsonl > "$TMP/ls.jsonl" || bad "ls jsonl failed"
[ "$(wc -l < "$TMP/ls.jsonl")" = 5 ] && ok || bad "jsonl rows: $(wc -l < "$TMP/ls.jsonl")"
if command -v python3 >/dev/null; then
  python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$TMP/ls.jsonl" && ok || bad "jsonl does not parse"
fi

# a changed file replaces its row and its old feature file
old=$(grep ',b,ok,' "$TMP/ls.csv" | cut -d, -f11)
ff -f lavfi -i rgbtestsrc=size=192x144:rate=15 -t 4 -pix_fmt yuv420p "$TMP/in/b.mp4"
add "$TMP/in/b.mp4" 2> "$TMP/log3.txt" && ok || bad "re-add failed"
grep -q "0 added, 1 replaced" "$TMP/log3.txt" && ok || bad "changed file not replaced: $(cat "$TMP/log3.txt")"
[ ! -e "$IDX/$old" ] && ok || bad "old feature file $old still there"
[ "$("$BIN" index ls --index "$IDX" | grep -c ',b,ok,4,')" = 1 ] && ok || bad "b does not have 4 frames now"

# model and fps mismatch
"$BIN" index add --index "$IDX" --backbone inception --raw "$TMP/in/a.mp4" 2> "$TMP/log4.txt"
[ $? -ne 0 ] && grep -q "was built with model" "$TMP/log4.txt" && ok || bad "model mismatch not refused: $(cat "$TMP/log4.txt")"
add --fps 2 "$TMP/in/a.mp4" 2> "$TMP/log5.txt"
[ $? -ne 0 ] && grep -q "frames/s" "$TMP/log5.txt" && ok || bad "fps mismatch not refused: $(cat "$TMP/log5.txt")"

# rm: ambiguous name refused, by path and by name work
"$BIN" index rm --index "$IDX" a 2> "$TMP/log6.txt"
[ $? -ne 0 ] && grep -q "ambiguous" "$TMP/log6.txt" && ok || bad "ambiguous rm not refused: $(cat "$TMP/log6.txt")"
"$BIN" index rm --index "$IDX" "$TMP/in/sub/a.mkv" noise 2> "$TMP/log7.txt" && ok || bad "rm failed: $(cat "$TMP/log7.txt")"
[ "$("$BIN" index ls --index "$IDX" | wc -l)" = 4 ] && ok || bad "want 3 rows after rm"
[ "$(ls "$IDX/features" | wc -l)" = 2 ] && ok || bad "feature file of removed row still there"
"$BIN" index rm --index "$IDX" nosuch 2>/dev/null && bad "rm of unknown name succeeded" || ok

# verify: clean, then a corrupt file and an orphan, then repair
"$BIN" index verify --index "$IDX" > "$TMP/v1.txt" 2>&1 && ok || bad "verify of a clean index: $(cat "$TMP/v1.txt")"
ff_a=$(grep ',a,ok,' <("$BIN" index ls --index "$IDX") | cut -d, -f11)
printf 'XXXX' | dd of="$IDX/$ff_a" bs=1 seek=400 conv=notrunc status=none
echo junk > "$IDX/features/0000000000000000-0000000000000000.vsf"
echo junk > "$IDX/features/x.vsf.tmp.99999"
"$BIN" index verify --index "$IDX" > "$TMP/v2.txt" 2>/dev/null
[ $? -eq 1 ] && ok || bad "verify of a damaged index exit 0"
grep -q "^bad row .*checksum" "$TMP/v2.txt" && ok || bad "corrupt file not reported: $(cat "$TMP/v2.txt")"
grep -q "^orphan " "$TMP/v2.txt" && ok || bad "orphan not reported"
grep -q "^temp file " "$TMP/v2.txt" && ok || bad "temp file not reported"
"$BIN" index verify --index "$IDX" --repair > "$TMP/v3.txt" 2>&1 && ok || bad "repair exit non-zero: $(cat "$TMP/v3.txt")"
"$BIN" index verify --index "$IDX" > "$TMP/v4.txt" 2>&1 && ok || bad "verify after repair: $(cat "$TMP/v4.txt")"
add "$TMP/in" 2> "$TMP/log8.txt" && ok || bad "re-add after repair failed"
grep -q "2 added, 0 replaced, 1 unchanged" "$TMP/log8.txt" && ok || bad "re-add after repair: $(cat "$TMP/log8.txt")"

# a second writer is refused while one holds the lock
(exec 9>"$IDX/lock"; flock -x 9; sleep 2) &
sleep 0.5
"$BIN" index verify --index "$IDX" 2> "$TMP/log9.txt" >/dev/null
[ $? -ne 0 ] && grep -q "locked" "$TMP/log9.txt" && ok || bad "lock not honoured: $(cat "$TMP/log9.txt")"
"$BIN" index ls --index "$IDX" >/dev/null 2>&1 && ok || bad "ls blocked by a writer"
wait

# malformed catalogue
mkdir -p "$TMP/junk"
head -c 8192 /dev/urandom > "$TMP/junk/catalogue.sqlite"
"$BIN" index ls --index "$TMP/junk" 2> "$TMP/log10.txt"
[ $? -ne 0 ] && grep -q "catalogue.sqlite" "$TMP/log10.txt" && ok || bad "malformed catalogue: $(cat "$TMP/log10.txt")"
add "$TMP/in/a.mp4" --index "$TMP/junk" 2> "$TMP/log11.txt"
[ $? -ne 0 ] && grep -q "catalogue.sqlite" "$TMP/log11.txt" && ok || bad "add to malformed catalogue: $(cat "$TMP/log11.txt")"
"$BIN" index ls --index "$TMP/nonexistent" 2>/dev/null && bad "ls of a missing index succeeded" || ok

# --timing: the stages of the videos extracted by this add, counting the frames the
# add reports; a second add extracts nothing and says so
"$BIN" index add --index "$TMP/timed" --backbone mobilenet --raw --no-background --timing \
  "$TMP/in/a.mp4" "$TMP/in/b.mp4" 2> "$TMP/log12.txt"
nfr=$(sed -n 's/.* of 2 videos; \([0-9]*\) frames in .*/\1/p' "$TMP/log12.txt")
[ -n "$nfr" ] && [ "$nfr" -gt 0 ] &&
  grep -Eq "^timing \(index add, -j [12]\): 2 videos extracted, [0-9.]+ s of video, $nfr frames \(" "$TMP/log12.txt" &&
  grep -Eq "^  backbone +[0-9.]+ +[0-9.]+%" "$TMP/log12.txt" && grep -Eq "^  write +[0-9.]+" "$TMP/log12.txt" && ok ||
  bad "index add --timing: $(cat "$TMP/log12.txt")"
"$BIN" index add --index "$TMP/timed" --raw --no-background --timing "$TMP/in/a.mp4" 2> "$TMP/log13.txt"
grep -q "0 videos extracted, 0.0 s of video, 0 frames" "$TMP/log13.txt" && ok || bad "unchanged --timing: $(cat "$TMP/log13.txt")"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
