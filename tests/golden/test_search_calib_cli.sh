#!/usr/bin/env bash
# test_search_calib_cli.sh - `vidsim search --calib FILE` (vs_search_params.calib): an
# index added with `index add --precision int8 --calib C` (C from `vidsim calibrate`,
# inception) searched by a video query with --calib C gives the same rows, byte for
# byte, as searching the query's .vsf from `extract --precision int8 --calib C
# --mirror-view on --inset-view on`; without --calib the query is refused (exit 1) with
# a message naming --calib and not the --pca hint; a missing file, a damaged one and a
# file that is not a calibration are errors naming the file (exit 1, the same message
# as extract's), a missing value is a usage error (exit 2), and the index verifies
# unchanged afterwards; --calib is not read for an fp32 index; the repair command for a
# damaged entry names --calib C when given (and heals the entry), and says the file is
# not known when not; the clip-vector search (`--model clip`) applies --calib to a video
# query too (the rows of its .vsf; refused naming --calib without it);
# `vidsim serve --calib C` searches an uploaded video and adds one with C (the CLI's rows;
# without --calib both are refused naming the model ids);
# the Python binding's calib= (when VS_LIB names the shared library) and 2 MPI ranks
# (when built with MPI) give the same rows, and Python's Index.add(calib=) adds the
# features of `index add --calib` (the same model id and raw scores) and refuses another
# calibration for that index, naming the model ids. Needs the inception and mobilenet weights.
set -u
BIN=${VS_BIN:-build/vidsim}
TMP=${VS_TMP:-build/tmp}/search_calib_cli
MODELS=${VS_MODELS:-models}
SRC=${VS_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
LIB=${VS_LIB:-}
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
rm -rf "$TMP"; mkdir -p "$TMP/in" "$TMP/q"
TMP=$(cd "$TMP" && pwd)
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
ff -f lavfi -i testsrc2=size=320x240:rate=25:duration=5 -pix_fmt yuv420p "$TMP/in/a.mp4" || { echo "SKIP: ffmpeg"; exit 77; }
ff -f lavfi -i mandelbrot=size=320x240:rate=25 -t 5 -pix_fmt yuv420p "$TMP/in/b.mp4"
ff -f lavfi -i life=size=320x240:rate=25:seed=3 -t 5 -pix_fmt yuv420p "$TMP/in/c.mp4"
ff -i "$TMP/in/a.mp4" -vf "crop=280:200,eq=brightness=0.1" -c:v libx264 -crf 35 "$TMP/q/q.mp4"
snapshot() { "$BIN" index ls --index "$1" 2>/dev/null | cut -d, -f1-8,10-; cat "$1"/features/*.vsf | md5sum; }

"$BIN" calibrate --backbone inception "$TMP/in/a.mp4" "$TMP/in/b.mp4" -o "$TMP/calib.vstf" --frames 8 > "$TMP/cal.txt" 2>&1 &&
  ok || bad "calibrate: $(cat "$TMP/cal.txt")"
"$BIN" index add --backbone inception --precision int8 --calib "$TMP/calib.vstf" --index "$TMP/idx" "$TMP/in" -j 2 \
  > /dev/null 2> "$TMP/add.txt" && ok || bad "index add --calib: $(cat "$TMP/add.txt")"
model=$("$BIN" index info --index "$TMP/idx" 2>/dev/null | sed -n 's/^model_id: //p')
case $model in inception_v3-int8/*) ok ;; *) bad "index model id $model is not int8 inception" ;; esac
"$BIN" extract --backbone inception --precision int8 --calib "$TMP/calib.vstf" --mirror-view on --inset-view on \
  "$TMP/q/q.mp4" -o "$TMP/f" 2> "$TMP/x.txt" && ok || bad "extract --calib: $(cat "$TMP/x.txt")"
snapshot "$TMP/idx" > "$TMP/before.txt"

# ---- the video query with --calib: the rows of its .vsf
"$BIN" search --index "$TMP/idx" --top 0 "$TMP/f/q.mp4.vsf" > "$TMP/s_vsf.csv" 2> "$TMP/s_vsf.err" && ok ||
  bad "search the .vsf: $(cat "$TMP/s_vsf.err")"
"$BIN" search --index "$TMP/idx" --top 0 --calib "$TMP/calib.vstf" "$TMP/q/q.mp4" > "$TMP/s_vid.csv" 2> "$TMP/s_vid.err" &&
  ok || bad "search --calib: $(cat "$TMP/s_vid.err")"
[ "$(wc -l < "$TMP/s_vid.csv")" -eq 4 ] && cmp -s "$TMP/s_vid.csv" "$TMP/s_vsf.csv" && ok ||
  bad "search --calib of the video and of its .vsf differ: $(diff "$TMP/s_vid.csv" "$TMP/s_vsf.csv")"
[ "$(sed -n 2p "$TMP/s_vid.csv" | cut -d, -f2)" = a ] && ok || bad "best match of q is not a: $(cat "$TMP/s_vid.csv")"
"$BIN" search --index "$TMP/idx" --top 0 --calib "$TMP/calib.vstf" --format jsonl "$TMP/q/q.mp4" > "$TMP/s_vid.jsonl" \
  2> /dev/null && [ "$(wc -l < "$TMP/s_vid.jsonl")" -eq 3 ] && ok || bad "search --calib --format jsonl: $(cat "$TMP/s_vid.jsonl")"

# ---- refusals and errors
"$BIN" search --index "$TMP/idx" --top 0 "$TMP/q/q.mp4" > "$TMP/r1.csv" 2> "$TMP/e1.txt"
[ $? -eq 1 ] && grep -q "was built with model $model" "$TMP/e1.txt" && grep -q "pass --calib" "$TMP/e1.txt" &&
  ! grep -q "(pass --pca)" "$TMP/e1.txt" && ok || bad "search without --calib: $(cat "$TMP/e1.txt")"
"$BIN" search --index "$TMP/idx" --calib "$MODELS/calib_inception_v3.vstf" "$TMP/q/q.mp4" > /dev/null 2> "$TMP/e2.txt"
[ $? -eq 1 ] && grep -q -- "--calib $MODELS/calib_inception_v3.vstf gives" "$TMP/e2.txt" && ok ||
  bad "search with another calibration: $(cat "$TMP/e2.txt")"
"$BIN" search --index "$TMP/idx" --calib "$TMP/nosuch.vstf" "$TMP/q/q.mp4" > /dev/null 2> "$TMP/e3.txt"
[ $? -eq 1 ] && grep -q "nosuch.vstf" "$TMP/e3.txt" && ok || bad "missing calibration: $(cat "$TMP/e3.txt")"
cp "$TMP/calib.vstf" "$TMP/broken.vstf"
printf '\x55' | dd of="$TMP/broken.vstf" bs=1 seek=300 conv=notrunc 2>/dev/null
"$BIN" search --index "$TMP/idx" --calib "$TMP/broken.vstf" "$TMP/q/q.mp4" > /dev/null 2> "$TMP/e4.txt"
[ $? -eq 1 ] && grep -q "broken.vstf" "$TMP/e4.txt" && ok || bad "damaged calibration: $(cat "$TMP/e4.txt")"
# the same message as extract's, command name aside
"$BIN" extract --precision int8 --calib "$TMP/broken.vstf" "$TMP/q/q.mp4" -o "$TMP/fb" 2> "$TMP/e4x.txt"
[ "$(sed 's/^vidsim search: //' "$TMP/e4.txt")" = "$(sed 's/^vidsim extract: //' "$TMP/e4x.txt")" ] && ok ||
  bad "search and extract word a damaged calibration differently: $(cat "$TMP/e4.txt" "$TMP/e4x.txt")"
"$BIN" search --index "$TMP/idx" --calib "$MODELS/inception_v3.vstf" "$TMP/q/q.mp4" > /dev/null 2> "$TMP/e5.txt"
[ $? -eq 1 ] && grep -q "inception_v3.vstf: not a backbone calibration file" "$TMP/e5.txt" && ok ||
  bad "weights as calibration: $(cat "$TMP/e5.txt")"
"$BIN" search --index "$TMP/idx" "$TMP/q/q.mp4" --calib > /dev/null 2> "$TMP/e6.txt"
[ $? -eq 2 ] && grep -q -- "--calib" "$TMP/e6.txt" && ok || bad "--calib without a value: $(cat "$TMP/e6.txt")"
"$BIN" search --help | grep -q -- "--calib FILE" && ok || bad "search --help lacks --calib"

# ---- clip vectors (--model clip): --calib extracts the video query as the normal search does
"$BIN" search --index "$TMP/idx" --model clip --top 0 "$TMP/f/q.mp4.vsf" > "$TMP/c_vsf.csv" 2> "$TMP/c_vsf.err" && ok ||
  bad "clip search of the .vsf: $(cat "$TMP/c_vsf.err")"
"$BIN" search --index "$TMP/idx" --model clip --top 0 --calib "$TMP/calib.vstf" "$TMP/q/q.mp4" > "$TMP/c_vid.csv" \
  2> "$TMP/c_vid.err" && ok || bad "clip search --calib: $(cat "$TMP/c_vid.err")"
[ "$(wc -l < "$TMP/c_vid.csv")" -eq 4 ] && cmp -s "$TMP/c_vid.csv" "$TMP/c_vsf.csv" && ok ||
  bad "clip search --calib of the video and of its .vsf differ: $(diff "$TMP/c_vid.csv" "$TMP/c_vsf.csv")"
"$BIN" search --index "$TMP/idx" --model clip "$TMP/q/q.mp4" > /dev/null 2> "$TMP/c_e1.txt"
[ $? -eq 1 ] && grep -q "was built with model $model" "$TMP/c_e1.txt" && grep -q "pass --calib" "$TMP/c_e1.txt" && ok ||
  bad "clip search without --calib: $(cat "$TMP/c_e1.txt")"
"$BIN" search --model clip --help | grep -q -- "--calib FILE" && ok || bad "search --model clip --help lacks --calib"
"$BIN" index verify --index "$TMP/idx" > /dev/null 2>&1 && ok || bad "verify after the refused searches"
snapshot "$TMP/idx" | cmp -s - "$TMP/before.txt" && ok || bad "a search changed the index"

# ---- an fp32 index does not read --calib (not even a missing file)
"$BIN" index add --backbone mobilenet --raw --index "$TMP/idx32" "$TMP/in/a.mp4" "$TMP/in/b.mp4" > /dev/null 2> "$TMP/a32.txt" &&
  ok || bad "index add mobilenet: $(cat "$TMP/a32.txt")"
"$BIN" search --index "$TMP/idx32" --calib "$TMP/nosuch.vstf" --top 1 "$TMP/q/q.mp4" > "$TMP/s32.csv" 2> "$TMP/s32.err" &&
  [ "$(sed -n 2p "$TMP/s32.csv" | cut -d, -f2)" = a ] && ok || bad "fp32 index with --calib: $(cat "$TMP/s32.csv" "$TMP/s32.err")"

# ---- the repair command of a damaged entry names the calibration (or says it is not known)
cp -r "$TMP/idx" "$TMP/idx_dmg"
fb=$("$BIN" index ls --index "$TMP/idx_dmg" 2>/dev/null | awk -F, '$2=="b"{print $11}')
printf 'XXXX' | dd of="$TMP/idx_dmg/$fb" bs=1 seek=200 conv=notrunc 2>/dev/null
"$BIN" search --index "$TMP/idx_dmg" "$TMP/f/q.mp4.vsf" > /dev/null 2> "$TMP/d2.txt"
[ $? -eq 1 ] && grep -q "calibration, not the file: if the index was added with --calib FILE" "$TMP/d2.txt" && ok ||
  bad "repair command without --calib: $(cat "$TMP/d2.txt")"
"$BIN" search --index "$TMP/idx_dmg" --calib "$TMP/calib.vstf" "$TMP/q/q.mp4" > /dev/null 2> "$TMP/d1.txt"
[ $? -eq 1 ] && grep -q -- "index add --index $TMP/idx_dmg --backbone inception_v3 --precision int8 --calib $TMP/calib.vstf PATH" \
  "$TMP/d1.txt" && ok || bad "repair command with --calib: $(cat "$TMP/d1.txt")"
# the command printed heals the entry
hint=$(sed -n 's/.*to heal, run `\(vidsim index add [^`]*\) PATH\.\.\.`.*/\1/p' "$TMP/d1.txt")
if [ -n "$hint" ]; then
  # shellcheck disable=SC2086
  "$BIN" ${hint#vidsim } "$TMP/in/b.mp4" > /dev/null 2>&1 && "$BIN" index verify --index "$TMP/idx_dmg" > /dev/null 2>&1 &&
    ok || bad "the hinted command did not heal the index: $hint"
else bad "no heal hint: $(cat "$TMP/d1.txt")"; fi
"$BIN" search --index "$TMP/idx_dmg" --top 0 --calib "$TMP/calib.vstf" "$TMP/q/q.mp4" 2>/dev/null | cmp -s - "$TMP/s_vid.csv" &&
  ok || bad "the healed index searches differently"

# ---- Python: Index.search(calib=...)
if [ -n "$LIB" ] && [ -r "$LIB" ] && [ -x /usr/bin/python3 ]; then
  VIDSIM_LIB=$LIB PYTHONPATH=$SRC/bindings/python /usr/bin/python3 - "$TMP" > "$TMP/py.csv" 2> "$TMP/py.err" <<'EOF'
import sys, vidsim
t = sys.argv[1]
with vidsim.Index(t + "/idx", readonly=True) as idx:
    r = idx.search(t + "/q/q.mp4", top=0, calib=t + "/calib.vstf", threads=2)
    print("query_id,ref_id,score")
    for h in r["hits"]:
        print("%s,%s,%.6f" % (r["query_id"], h["ref_id"], h["score"]))
    try:
        idx.search(t + "/q/q.mp4", calib=t + "/nosuch.vstf")
        print("NO ERROR")
    except vidsim.VidsimError as e:
        print("ERROR " + str(e), file=sys.stderr)
EOF
  cmp -s "$TMP/py.csv" "$TMP/s_vid.csv" && ok || bad "Python calib= rows differ: $(diff "$TMP/py.csv" "$TMP/s_vid.csv"; cat "$TMP/py.err")"
  grep -q "ERROR.*nosuch.vstf" "$TMP/py.err" && ok || bad "Python calib= missing file: $(cat "$TMP/py.err")"
  # Index.add(calib=): `index add --calib`'s model id and features; another calibration refused
  VIDSIM_LIB=$LIB PYTHONPATH=$SRC/bindings/python /usr/bin/python3 - "$TMP" "$MODELS" > "$TMP/pyadd.txt" 2>&1 <<'EOF'
import sys, vidsim
t, models = sys.argv[1], sys.argv[2]
with vidsim.Index(t + "/pyidx", create=True) as idx:
    r = idx.add([t + "/in/a.mp4", t + "/in/b.mp4", t + "/in/c.mp4"], jobs=2, backbone="inception", precision="int8",
                calib=t + "/calib.vstf")
    print("ADDED", r["added"], r["failed"])
    print("MODEL", idx.info()["model_id"])
    for calib in (models + "/calib_inception_v3.vstf", t + "/nosuch.vstf"):
        try:
            r = idx.add([t + "/in/a.mp4"], calib=calib)
            print("NO ERROR", calib, r)
        except vidsim.VidsimError as e:
            print("ERROR " + str(e).replace("\n", " "))
EOF
  grep -q "^ADDED 3 0$" "$TMP/pyadd.txt" && grep -q "^MODEL $model$" "$TMP/pyadd.txt" && ok ||
    bad "Python add(calib=): $(cat "$TMP/pyadd.txt") (index add --calib: $model)"
  grep -q "^ERROR .*was built with model $model.* gives " "$TMP/pyadd.txt" && ok ||
    bad "Python add(calib=) with another calibration: $(cat "$TMP/pyadd.txt")"
  grep -q "^ERROR .*nosuch.vstf" "$TMP/pyadd.txt" && ok || bad "Python add(calib=) of a missing file: $(cat "$TMP/pyadd.txt")"
  "$BIN" search --index "$TMP/idx" --norm off --top 0 "$TMP/f/q.mp4.vsf" > "$TMP/raw_cli.csv" 2>/dev/null
  "$BIN" search --index "$TMP/pyidx" --norm off --top 0 "$TMP/f/q.mp4.vsf" > "$TMP/raw_py.csv" 2>/dev/null
  [ "$(wc -l < "$TMP/raw_py.csv")" -eq 4 ] && cmp -s "$TMP/raw_py.csv" "$TMP/raw_cli.csv" && ok ||
    bad "Python add(calib=) and index add --calib index different features: $(diff "$TMP/raw_py.csv" "$TMP/raw_cli.csv")"
fi

# ---- the server: `vidsim serve --calib C` searches an uploaded video with C (the CLI's
# rows and scores) and adds an uploaded video with C (the model id of `index add --calib`);
# without --calib the upload is refused naming the model ids (422) and the add job fails
if ! "$BIN" serve --help 2>&1 | grep -q "built without libmicrohttpd" && command -v curl > /dev/null &&
   command -v python3 > /dev/null; then
  cp -r "$TMP/idx" "$TMP/sidx"
  mkdir -p "$TMP/stmp"
  PID=
  trap '[ -n "$PID" ] && kill $PID 2>/dev/null' EXIT
  start() {  # start [serve options]
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    TMPDIR="$TMP/stmp" "$BIN" serve --index "$TMP/sidx" --listen 127.0.0.1:$port -j 1 "$@" >"$TMP/serve.out" 2>>"$TMP/serve.err" &
    PID=$!
    U=http://127.0.0.1:$port
    for _ in $(seq 100); do curl -sf "$U/healthz" >/dev/null 2>&1 && return 0; sleep 0.1; done
    bad "server did not come up: $(cat "$TMP/serve.err")"; kill $PID 2>/dev/null; PID=; return 1
  }
  stop() { kill -TERM $PID; wait $PID; PID=; }
  req() { local m=$1 u=$2; shift 2; S=$(curl -s -o "$TMP/body" -w '%{http_code}' -X "$m" "$@" "$U$u"); }
  jget() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$TMP/body" "$1"; }
  add_job() {  # add_job FILE: the finished job's JSON in $TMP/body
    req POST /v1/videos -F file=@"$1"
    local id st
    id=$(jget 'd["job"]' 2>/dev/null)
    for _ in $(seq 600); do
      req GET /v1/jobs/$id; st=$(jget 'd["state"]' 2>/dev/null)
      [ "$st" != queued ] && [ "$st" != running ] && return 0
      sleep 0.1
    done
  }
  python3 -c 'import json,sys
for l in open(sys.argv[1]): d=json.loads(l); print(d["ref_id"], "%.6f" % d["score"])' "$TMP/s_vid.jsonl" > "$TMP/cli_rows.txt"
  if start --calib "$TMP/calib.vstf"; then
    req POST /v1/search -F file=@"$TMP/q/q.mp4" -F top=0
    python3 -c 'import json,sys
for m in json.load(open(sys.argv[1]))["matches"]: print(m["name"], "%.6f" % m["score"])' "$TMP/body" > "$TMP/srv_rows.txt" 2>/dev/null
    [ "$S" = 200 ] && [ -s "$TMP/cli_rows.txt" ] && cmp -s "$TMP/srv_rows.txt" "$TMP/cli_rows.txt" && ok ||
      bad "serve --calib, uploaded query: status $S, $(diff "$TMP/srv_rows.txt" "$TMP/cli_rows.txt"; head -c 300 "$TMP/body")"
    cp "$TMP/q/q.mp4" "$TMP/stmp/added.mp4"
    add_job "$TMP/stmp/added.mp4"
    [ "$(jget 'd["state"]')" = done ] && [ "$(jget 'd["outcome"]')" = added ] && ok ||
      bad "serve --calib, add job: $(cat "$TMP/body")"
    stop
  fi
  "$BIN" index verify --index "$TMP/sidx" > "$TMP/sverify.txt" 2>&1 &&
    [ "$("$BIN" index info --index "$TMP/sidx" 2>/dev/null | sed -n 's/^model_id: //p')" = "$model" ] && ok ||
    bad "index after the server's add: $(cat "$TMP/sverify.txt")"
  if start; then
    req POST /v1/search -F file=@"$TMP/q/q.mp4" -F top=0
    [ "$S" = 422 ] && grep -q "was built with model $model" "$TMP/body" && ok ||
      bad "serve without --calib, uploaded query: status $S (want 422), $(head -c 400 "$TMP/body")"
    cp "$TMP/q/q.mp4" "$TMP/stmp/added2.mp4"
    add_job "$TMP/stmp/added2.mp4"
    [ "$(jget 'd["state"]')" = failed ] && grep -q "was built with model $model" "$TMP/body" && ok ||
      bad "serve without --calib, add job: $(cat "$TMP/body")"
    stop
  fi
fi

# ---- over 2 MPI ranks: every rank extracts the query with the calibration
if "$BIN" --help | grep -q "^MPI: yes" && command -v mpirun > /dev/null; then
  export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
  env "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" timeout 120 mpirun --allow-run-as-root --oversubscribe \
    -x VIDSIM_MODELS -x ASAN_OPTIONS -np 2 "$BIN" search --index "$TMP/idx" --top 0 --calib "$TMP/calib.vstf" -j 1 \
    "$TMP/q/q.mp4" > "$TMP/mpi.csv" 2> "$TMP/mpi.txt" && cmp -s "$TMP/mpi.csv" "$TMP/s_vid.csv" && ok ||
    bad "mpirun search --calib: $(diff "$TMP/mpi.csv" "$TMP/s_vid.csv"; cat "$TMP/mpi.txt")"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
