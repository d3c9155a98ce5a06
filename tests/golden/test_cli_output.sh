#!/usr/bin/env bash
# test_cli_output.sh - what the CLI writes, whatever the names and wherever stdout
# goes (tiny synthetic clips, mobilenet, raw features):
#  1. stdout on a full disk (/dev/full) or closed: every command that writes output
#     exits non-zero with "vidsim CMD: cannot write output: REASON" (index info, ls,
#     verify, add -v, search, dedup, eval, compare, version); one that writes nothing
#     there is not bothered;
#  2. hostile file names (quotes, backslashes, newline, tab, CR, control characters,
#     invalid UTF-8: FF, a lone C3, overlong C0 AF, surrogate ED A0 80) give valid
#     JSON Lines from `index ls`, `search` (rows and error rows) and `compare --format
#     json`, every ill-formed sequence as U+FFFD (as Python's "replace" decodes it),
#     valid UTF-8 (é, 日本) byte for byte; CSV fields read back as the exact bytes;
#  3. a FIFO, a socket and a dangling symbolic link inside a folder are skipped with a
#     note naming them (never opened: a FIFO would block), the clip beside them is
#     added / extracted; a FIFO named on the command line is refused by name, exit 1;
#  4. a folder with no video says so, naming the folder and why.
set -u
BIN=${VS_BIN:-build/vidsim}
TMP=${VS_TMP:-build/tmp}/cli_output
MODELS=${VS_MODELS:-models}
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
[ -r "$MODELS/mobilenet_v2.vstf" ] || { echo "SKIP: no weights (run scripts/fetch_weights.sh)"; exit 77; }
command -v ffmpeg >/dev/null || { echo "SKIP: no ffmpeg"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: no python3 (validates the JSON)"; exit 77; }
command -v timeout >/dev/null || { echo "SKIP: no timeout (coreutils)"; exit 77; }
command -v mkfifo >/dev/null || { echo "SKIP: no mkfifo (coreutils)"; exit 77; }
export VIDSIM_MODELS=$MODELS
rm -rf "$TMP"; mkdir -p "$TMP/in"
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
ff -f lavfi -i testsrc2=size=160x120:rate=10:duration=2 -pix_fmt yuv420p "$TMP/in/a.mp4"
ff -f lavfi -i mandelbrot=size=160x120:rate=10 -t 2 -pix_fmt yuv420p "$TMP/in/b.mp4"
MB=(--backbone mobilenet --raw)
T="timeout -k 5 120"   # a hang (a FIFO opened) fails the check instead of blocking the suite
                        # (-k: index add catches SIGTERM to stop cleanly, which a blocked open never sees)
"$BIN" index add --index "$TMP/idx" "$TMP/in" "${MB[@]}" -j 2 2>"$TMP/add.err" && ok || bad "add: $(cat "$TMP/add.err")"
printf 'query_id,ref_id\nq1,r1\n' > "$TMP/gt.csv"
printf 'query_id,ref_id,score\nq1,r1,0.9\nq1,r2,0.5\n' > "$TMP/pred.csv"
orphan() { : > "$TMP/idx/features/orphan.vsf"; }   # gives `verify --repair` a line to print

# 1. output that cannot be written
# each case: NAME (as in the message) then the command; it must print to a file and exit 0,
# and exit non-zero with the message when stdout is /dev/full
cases=(
  "index info|index info --index $TMP/idx"
  "index ls|index ls --index $TMP/idx"
  "index ls|index ls --index $TMP/idx --format jsonl"
  "index verify|index verify --index $TMP/idx --repair"
  "index add|index add -v --force --index $TMP/idx $TMP/in --backbone mobilenet --raw -j 2"
  "search|search --index $TMP/idx $TMP/in/a.mp4"
  "search|search --index $TMP/idx --format jsonl a b"
  "dedup|dedup --index $TMP/idx --threshold -1"
  "eval|eval --gt $TMP/gt.csv --pred $TMP/pred.csv"
  "compare|compare $TMP/in/a.mp4 $TMP/in/b.mp4 --backbone mobilenet"
  "version|version"
)
if [ -w /dev/full ]; then
  for c in "${cases[@]}"; do
    name=${c%%|*}; cmd=${c#*|}
    orphan
    # shellcheck disable=SC2086  # the case's words are split on purpose (no spaces in $TMP)
    $T "$BIN" $cmd > "$TMP/out.txt" 2>"$TMP/err.txt" && [ -s "$TMP/out.txt" ] && ok \
      || bad "$cmd: no output or failed: $(cat "$TMP/err.txt")"
    orphan
    # shellcheck disable=SC2086
    $T "$BIN" $cmd > /dev/full 2>"$TMP/err.txt"; rc=$?
    [ $rc -ne 0 ] && [ $rc -ne 124 ] && ok || bad "$cmd > /dev/full exited $rc"
    grep -qx "vidsim $name: cannot write output: No space left on device" "$TMP/err.txt" && ok \
      || bad "$cmd > /dev/full: no message: $(cat "$TMP/err.txt")"
    [ "$(grep -c "cannot write output" "$TMP/err.txt")" = 1 ] && ok || bad "$cmd: message not printed once"
  done
  rm -f "$TMP/idx/features/orphan.vsf"
else
  echo "note: /dev/full not writable here, stdout-on-a-full-disk checks not run"
fi
# stdout closed: an error for a command with output, nothing for one without
"$BIN" index ls --index "$TMP/idx" >&- 2>"$TMP/err.txt" && bad "ls with stdout closed exited 0" || ok
grep -qx "vidsim index ls: cannot write output: Bad file descriptor" "$TMP/err.txt" && ok || bad "closed stdout: $(cat "$TMP/err.txt")"
"$BIN" index add --index "$TMP/idx" "$TMP/in" "${MB[@]}" >&- 2>"$TMP/err.txt" && ok || bad "add (no stdout output) with stdout closed: $(cat "$TMP/err.txt")"
grep -q "cannot write output" "$TMP/err.txt" && bad "add wrote nothing, yet: $(cat "$TMP/err.txt")" || ok

# 2. hostile names
mkdir -p "$TMP/hn"
names=('q"uote' $'new\nline' 'back\slash' $'tab\there' $'cr\rx' $'ctl\x01\x1fx' $'ff\xffx' $'lone\xc3'
       $'over\xc0\xafx' $'sur\xed\xa0\x80x' 'café' '日本' 'com,ma')
for n in "${names[@]}"; do cp "$TMP/in/a.mp4" "$TMP/hn/$n.mp4"; done
printf '%s\0' "${names[@]}" > "$TMP/names.bin"
"$BIN" index add --index "$TMP/hidx" "$TMP/hn" "${MB[@]}" -j 2 2>"$TMP/hadd.err" && ok || bad "add hostile: $(cat "$TMP/hadd.err")"
# check.py FILE KIND [FIELD=NAMES...]: every line of FILE valid UTF-8 and one JSON
# object (KIND jsonl) or FILE one JSON object (KIND json); FIELD's values are exactly
# NAMES (a NUL-separated file of raw byte names), decoded with U+FFFD replacement;
# é and 日本 appear as raw UTF-8 bytes, never as \u escapes
cat > "$TMP/check.py" <<'EOF'
import json, sys
path, kind, specs = sys.argv[1], sys.argv[2], sys.argv[3:]
raw = open(path, "rb").read()
errs = []
try:
    text = raw.decode("utf-8")  # strict: invalid UTF-8 in the output is an error
except UnicodeDecodeError as e:
    sys.exit("not UTF-8: %s" % e)
lines = text.split("\n")
if lines[-1] != "":
    errs.append("no final newline")
docs = []
for i, l in enumerate(lines[:-1] if kind == "jsonl" else ["".join(lines)]):
    try:
        docs.append(json.loads(l))
    except ValueError as e:
        errs.append("line %d not JSON (%s): %r" % (i + 1, e, l))
for spec in specs:
    field, nf = spec.split("=")
    want = {n.decode("utf-8", "replace") for n in open(nf, "rb").read().split(b"\0") if n}
    got = {d[field] for d in docs if field in d}
    if got != want:
        errs.append("%s: got %r, want %r" % (field, sorted(got), sorted(want)))
for spec in specs:  # well-formed non-ASCII names (café, 日本) are copied byte for byte
    for n in open(spec.split("=")[1], "rb").read().split(b"\0"):
        try:
            plain = n.decode("utf-8") and max(n) >= 0x80 and min(n) >= 0x20 and b'"' not in n and b"\\" not in n
        except (UnicodeDecodeError, ValueError):
            plain = False
        if plain and n not in raw:
            errs.append("%r not passed through unchanged" % n.decode())
if errs:
    sys.exit("\n".join(errs))
EOF
"$BIN" index ls --index "$TMP/hidx" --format jsonl > "$TMP/ls.jsonl" 2>"$TMP/err.txt" && ok || bad "ls jsonl: $(cat "$TMP/err.txt")"
python3 "$TMP/check.py" "$TMP/ls.jsonl" jsonl "name=$TMP/names.bin" 2>"$TMP/py.err" && ok || bad "index ls jsonl: $(cat "$TMP/py.err")"
for n in "${names[@]}"; do printf '%s\0' "$TMP/hn/$n.mp4"; done > "$TMP/paths.bin"
python3 "$TMP/check.py" "$TMP/ls.jsonl" jsonl "path=$TMP/paths.bin" 2>"$TMP/py.err" && ok || bad "index ls jsonl paths: $(cat "$TMP/py.err")"
# csv: the exact bytes back, whatever the name
"$BIN" index ls --index "$TMP/hidx" > "$TMP/ls.csv" 2>"$TMP/err.txt" && ok || bad "ls csv: $(cat "$TMP/err.txt")"
python3 - "$TMP/ls.csv" "$TMP/names.bin" <<'EOF' 2>"$TMP/py.err" && ok || bad "index ls csv: $(cat "$TMP/py.err")"
import csv, io, sys
rows = list(csv.reader(io.StringIO(open(sys.argv[1], "rb").read().decode("latin-1"), newline="")))
want = {n for n in open(sys.argv[2], "rb").read().split(b"\0") if n}
bad = [r for r in rows if len(r) != len(rows[0])]
got = {r[1].encode("latin-1") for r in rows[1:]}
if bad or got != want:
    sys.exit("rows %r; names %r, want %r" % (bad, sorted(got), sorted(want)))
EOF
# search: queries by path with hostile names, and one that fails (an error row)
qs=('q"uote' $'new\nline' $'ff\xffx' $'tab\there' $'over\xc0\xafx')
Q=(); for n in "${qs[@]}"; do Q+=("$TMP/hn/$n.mp4"); done
Q+=("$TMP/hn/nosuch"$'\xc3'".mp4")
printf '%s\0' "${qs[@]}" $'nosuch\xc3' > "$TMP/qnames.bin"
"$BIN" search --index "$TMP/hidx" --top 0 --format jsonl "${Q[@]}" > "$TMP/s.jsonl" 2>"$TMP/err.txt"
[ $? -eq 1 ] && ok || bad "search with a missing query should exit 1: $(cat "$TMP/err.txt")"
python3 "$TMP/check.py" "$TMP/s.jsonl" jsonl "query_id=$TMP/qnames.bin" "ref_id=$TMP/names.bin" 2>"$TMP/py.err" \
  && ok || bad "search jsonl: $(cat "$TMP/py.err")"
grep -q '"error":' "$TMP/s.jsonl" && ok || bad "no error row for the missing query"
"$BIN" search --index "$TMP/hidx" --top 0 --segments --format jsonl "${Q[@]:0:3}" > "$TMP/sg.jsonl" 2>"$TMP/err.txt" \
  && ok || bad "search --segments: $(cat "$TMP/err.txt")"
printf '%s\0' "${qs[@]:0:3}" > "$TMP/q3.bin"
python3 "$TMP/check.py" "$TMP/sg.jsonl" jsonl "query_id=$TMP/q3.bin" 2>"$TMP/py.err" && ok || bad "search --segments jsonl: $(cat "$TMP/py.err")"
"$BIN" search --index "$TMP/hidx" --top 0 "${Q[@]:0:5}" > "$TMP/s.csv" 2>"$TMP/err.txt" && ok || bad "search csv: $(cat "$TMP/err.txt")"
python3 - "$TMP/s.csv" "$TMP/names.bin" <<'EOF' 2>"$TMP/py.err" && ok || bad "search csv: $(cat "$TMP/py.err")"
import csv, io, sys
rows = list(csv.reader(io.StringIO(open(sys.argv[1], "rb").read().decode("latin-1"), newline="")))
want = {n for n in open(sys.argv[2], "rb").read().split(b"\0") if n}
bad = [r for r in rows if len(r) != 3]
got = {r[1].encode("latin-1") for r in rows[1:]}
if bad or rows[0] != ["query_id", "ref_id", "score"] or got != want:
    sys.exit("rows %r; refs %r" % (bad, sorted(got)))
EOF
# compare --format json: the paths as given
A="$TMP/hn/"$'ff\xffx.mp4'; Bq="$TMP/hn/"$'new\nline.mp4'
"$BIN" compare "$A" "$Bq" --backbone mobilenet --format json > "$TMP/c.json" 2>"$TMP/err.txt" && ok || bad "compare: $(cat "$TMP/err.txt")"
printf '%s\0' "$A" > "$TMP/a.bin"; printf '%s\0' "$Bq" > "$TMP/b.bin"
python3 "$TMP/check.py" "$TMP/c.json" json "a=$TMP/a.bin" "b=$TMP/b.bin" 2>"$TMP/py.err" && ok || bad "compare json: $(cat "$TMP/py.err")"

# 3. FIFO, socket, dangling link in a folder; a FIFO named directly
mkdir -p "$TMP/sp"
cp "$TMP/in/a.mp4" "$TMP/sp/real.mp4"
mkfifo "$TMP/sp/pipe.mp4" "$TMP/sp/plainpipe"
ln -s nowhere.mp4 "$TMP/sp/dangling.mp4"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$TMP/sp/sock.mp4" 2>/dev/null \
  && sock=1 || { sock=0; echo "note: no unix socket made, socket check not run"; }
skipped() {   # skipped ERRFILE WHAT: the notes name every special entry
  grep -qxF "skipping $TMP/sp/pipe.mp4: not a regular file (fifo)" "$1" && ok || bad "$2: fifo not named: $(cat "$1")"
  grep -qxF "skipping $TMP/sp/plainpipe: not a regular file (fifo)" "$1" && ok || bad "$2: plain fifo not named: $(cat "$1")"
  grep -qxF "skipping $TMP/sp/dangling.mp4: dangling symbolic link" "$1" && ok || bad "$2: dangling link not named: $(cat "$1")"
  [ $sock = 0 ] || { grep -qxF "skipping $TMP/sp/sock.mp4: not a regular file (socket)" "$1" && ok || bad "$2: socket not named: $(cat "$1")"; }
}
$T "$BIN" index add --index "$TMP/spidx" "$TMP/sp" "${MB[@]}" -j 2 2>"$TMP/sp_add.err"; rc=$?
[ $rc -eq 0 ] && ok || bad "index add on a folder with a fifo exited $rc: $(cat "$TMP/sp_add.err")"
skipped "$TMP/sp_add.err" "index add"
"$BIN" index ls --index "$TMP/spidx" 2>/dev/null | cut -d, -f2 | tail -n +2 > "$TMP/sp_names.txt"
[ "$(cat "$TMP/sp_names.txt")" = real ] && ok || bad "index add sp: indexed $(cat "$TMP/sp_names.txt")"
$T "$BIN" extract "$TMP/sp" -o "$TMP/sp_out" "${MB[@]}" -j 2 2>"$TMP/sp_ex.err"; rc=$?
[ $rc -eq 0 ] && ok || bad "extract on a folder with a fifo exited $rc: $(cat "$TMP/sp_ex.err")"
skipped "$TMP/sp_ex.err" "extract"
[ "$(ls "$TMP/sp_out")" = real.mp4.vsf ] && ok || bad "extract sp wrote: $(ls "$TMP/sp_out")"
# named directly: refused by name, the other input still done, exit 1
$T "$BIN" extract "$TMP/sp/pipe.mp4" "$TMP/in/b.mp4" -o "$TMP/fifo_out" "${MB[@]}" -j 2 2>"$TMP/fifo.err"; rc=$?
[ $rc -eq 1 ] && ok || bad "extract FIFO exited $rc (124: it blocked): $(cat "$TMP/fifo.err")"
grep -qxF "vidsim extract: $TMP/sp/pipe.mp4: not a regular file (fifo), not read" "$TMP/fifo.err" && ok || bad "extract FIFO: $(cat "$TMP/fifo.err")"
[ -f "$TMP/fifo_out/b.mp4.vsf" ] && ok || bad "extract FIFO: the other input was not extracted"
$T "$BIN" index add --index "$TMP/spidx" "$TMP/sp/pipe.mp4" "${MB[@]}" 2>"$TMP/fifo.err"; rc=$?
[ $rc -eq 1 ] && ok || bad "index add FIFO exited $rc: $(cat "$TMP/fifo.err")"
grep -qxF "vidsim index add: $TMP/sp/pipe.mp4: not a regular file (fifo), not read" "$TMP/fifo.err" && ok || bad "index add FIFO: $(cat "$TMP/fifo.err")"

# 3b. symbolic-link loops: a link back up the tree and a second path to one folder are
# walked once (noted by name), so the walk ends at once and finds the video once
mkdir -p "$TMP/loop/a"
cp "$TMP/in/a.mp4" "$TMP/loop/a/v.mp4"
ln -s .. "$TMP/loop/a/up"; ln -s ../a "$TMP/loop/a/self"; ln -s a "$TMP/loop/b"
$T "$BIN" extract "$TMP/loop" -o "$TMP/loop_out" "${MB[@]}" 2>"$TMP/loop.err"; rc=$?
[ $rc -eq 0 ] && ok || bad "extract through link loops exited $rc (124: it did not end): $(cat "$TMP/loop.err")"
[ "$(ls "$TMP/loop_out" 2>/dev/null)" = v.mp4.vsf ] && ok || bad "extract through link loops wrote: $(ls "$TMP/loop_out" 2>/dev/null)"
grep -q "skipping $TMP/loop/a/up: a link to a folder already walked" "$TMP/loop.err" && ok || bad "loop link not named: $(cat "$TMP/loop.err")"

# 4. folders without a video
mkdir -p "$TMP/empty" "$TMP/novid" "$TMP/undec"
: > "$TMP/novid/notes.txt"; : > "$TMP/novid/frame.jpg"; : > "$TMP/novid/.hidden.mp4"
echo "not a video" > "$TMP/undec/bad.mp4"
"$BIN" extract "$TMP/novid" -o "$TMP/nv_out" "${MB[@]}" 2>"$TMP/nv.err" && bad "extract of a folder without videos exited 0" || ok
grep -qxF "vidsim extract: $TMP/novid: no video files (2 files, none with a video extension)" "$TMP/nv.err" && ok || bad "extract novid: $(cat "$TMP/nv.err")"
"$BIN" extract "$TMP/empty" -o "$TMP/nv_out" "${MB[@]}" 2>"$TMP/nv.err" && bad "extract of an empty folder exited 0" || ok
grep -qxF "vidsim extract: $TMP/empty: no video files (no regular files in it)" "$TMP/nv.err" && ok || bad "extract empty: $(cat "$TMP/nv.err")"
"$BIN" index add --index "$TMP/nvidx" "$TMP/novid" "${MB[@]}" 2>"$TMP/nv.err" && bad "index add of a folder without videos exited 0" || ok
grep -qxF "vidsim index add: $TMP/novid: no video files (2 files, none with a video extension)" "$TMP/nv.err" && ok || bad "index add novid: $(cat "$TMP/nv.err")"
# a video name that does not decode: the failure names the file
"$BIN" extract "$TMP/undec" -o "$TMP/nv_out" "${MB[@]}" 2>"$TMP/nv.err" && bad "extract of an undecodable video exited 0" || ok
grep -qF "$TMP/undec/bad.mp4" "$TMP/nv.err" && ok || bad "undecodable file not named: $(cat "$TMP/nv.err")"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
