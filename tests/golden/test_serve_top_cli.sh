#!/usr/bin/env bash
# test_serve_top_cli.sh - `top` of `POST /v1/search` (docs/server.md) with the server's
# pooled searchers (the default search: normalised, no segments): over an index of 13
# short synthetic clips (mobilenet, raw features), a search by name or by upload gets
# every other video with top=0 (all) and with top above 10, the library's default top
# (the pooled searchers once kept only 10 hits, so top=0 and top=12 gave 10); the
# default is 10 and top=3 gives 3; the matches are those of `vidsim search --top 0
# --format jsonl`, in its order, with its scores; a `not_duplicate` verdict hides its
# pair without taking a place of the top, also with segments=1 (a searcher of its own
# that localises the listed pairs only). Exit 77 when the build has no `serve`.
set -u
BIN=${VS_BIN:-build/vidsim}
TMP=${VS_TMP:-build/tmp}/serve_top_cli
MODELS=${VS_MODELS:-models}
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
if "$BIN" serve --help 2>&1 | grep -q "built without libmicrohttpd"; then
  echo "SKIP: vidsim was built without libmicrohttpd (install libmicrohttpd-dev)"; exit 77
fi
[ -r "$MODELS/mobilenet_v2.vstf" ] || { echo "SKIP: no weights (run scripts/fetch_weights.sh)"; exit 77; }
command -v ffmpeg >/dev/null || { echo "SKIP: no ffmpeg"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: no curl"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }
export VIDSIM_MODELS=$MODELS
rm -rf "$TMP"; mkdir -p "$TMP/in" "$TMP/q" "$TMP/tmp"
TMP=$(cd "$TMP" && pwd)
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
# 13 clips of 3 s: more than the library's default top of 10 besides the query
src=(testsrc testsrc2 mandelbrot smptebars smptehdbars rgbtestsrc yuvtestsrc pal75bars pal100bars
     "life=seed=1:ratio=0.3" "life=seed=2:ratio=0.5" "cellauto=rule=30:seed=5" "cellauto=rule=110:seed=6")
for i in "${!src[@]}"; do
  s=${src[$i]}
  case $s in *=*) s="$s:size=320x240:rate=25" ;; *) s="$s=size=320x240:rate=25" ;; esac
  ff -f lavfi -i "$s" -t 3 -pix_fmt yuv420p "$TMP/in/v$(printf %02d "$i").mp4" || { echo "SKIP: ffmpeg $s"; exit 77; }
done
ff -i "$TMP/in/v01.mp4" -vf "crop=300:220,eq=brightness=0.05" -c:v libx264 -crf 28 "$TMP/q/v01_copy.mp4"
"$BIN" index add --index "$TMP/idx" "$TMP/in" --backbone mobilenet --raw -j 2 2>"$TMP/add.err" ||
  { echo "FAIL: index add: $(cat "$TMP/add.err")"; exit 1; }
N=$("$BIN" index ls --index "$TMP/idx" 2>/dev/null | tail -n +2 | wc -l)
[ "$N" -eq 13 ] || { echo "FAIL: 13 videos wanted, the index has $N: $(cat "$TMP/add.err")"; exit 1; }

PID=
start() {
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  TMPDIR="$TMP/tmp" "$BIN" serve --index "$TMP/idx" --listen 127.0.0.1:$port -j 2 >"$TMP/serve.out" 2>>"$TMP/serve.err" &
  PID=$!
  U=http://127.0.0.1:$port
  for _ in $(seq 100); do curl -sf "$U/healthz" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "FAIL: server did not come up: $(cat "$TMP/serve.err")"; kill $PID 2>/dev/null; exit 1
}
stop() { kill -TERM $PID; wait $PID; local rc=$?; PID=; return $rc; }
trap '[ -n "$PID" ] && kill $PID 2>/dev/null' EXIT
req() { local m=$1 u=$2; shift 2; S=$(curl -s -o "$TMP/body" -w '%{http_code}' -X "$m" "$@" "$U$u"); }
nmatch() { python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["matches"]))' "$TMP/body"; }
# the matches as "name score" lines, and the CLI's rows the same way
matches() { python3 -c 'import json,sys
for m in json.load(open(sys.argv[1]))["matches"]: print(m["name"], "%.6f" % m["score"])' "$TMP/body"; }
cli_rows() { "$BIN" search --index "$TMP/idx" --top 0 --format jsonl "$1" 2>"$TMP/cli.err" | python3 -c 'import json,sys
for l in sys.stdin: d=json.loads(l); print(d["ref_id"], "%.6f" % d["score"])'; }

start
# ---- by name: top=0 is all 12 others, top=12 and top=100 too, the default 10, top=3 three
for t in 0 12 100; do
  req POST /v1/search -F name=v00 -F top=$t
  [ "$S" = 200 ] && [ "$(nmatch)" = 12 ] && ok || bad "name v00, top=$t: status $S, $(nmatch 2>/dev/null) matches (want 12)"
done
req POST /v1/search -F name=v00
[ "$S" = 200 ] && [ "$(nmatch)" = 10 ] && ok || bad "name v00, default top: $(nmatch 2>/dev/null) matches (want 10)"
req POST /v1/search -F name=v00 -F top=11
[ "$(nmatch)" = 11 ] && ok || bad "name v00, top=11: $(nmatch 2>/dev/null) matches (want 11)"
req POST /v1/search -F name=v00 -F top=3
[ "$(nmatch)" = 3 ] && ok || bad "name v00, top=3: $(nmatch 2>/dev/null) matches (want 3)"
# the same matches, order and scores as the CLI's
req POST /v1/search -F name=v00 -F top=0
matches > "$TMP/srv.txt"
cli_rows v00 > "$TMP/cli.txt"
[ -s "$TMP/cli.txt" ] && cmp -s "$TMP/srv.txt" "$TMP/cli.txt" && ok ||
  bad "server and CLI differ (top=0): $(diff "$TMP/srv.txt" "$TMP/cli.txt" | head -20; cat "$TMP/cli.err")"
# ---- by upload (a video extracted on the fly): every indexed video
req POST /v1/search -F file=@"$TMP/q/v01_copy.mp4" -F top=0
[ "$S" = 200 ] && [ "$(nmatch)" = 13 ] && ok || bad "upload, top=0: status $S, $(nmatch 2>/dev/null) matches (want 13)"
matches > "$TMP/srv_up.txt"
cli_rows "$TMP/q/v01_copy.mp4" > "$TMP/cli_up.txt"
[ -s "$TMP/cli_up.txt" ] && cmp -s "$TMP/srv_up.txt" "$TMP/cli_up.txt" && ok ||
  bad "server and CLI differ (upload, top=0): $(diff "$TMP/srv_up.txt" "$TMP/cli_up.txt" | head -20; cat "$TMP/cli.err")"
[ "$(head -1 "$TMP/srv_up.txt" | cut -d' ' -f1)" = v01 ] && ok || bad "upload: best match $(head -1 "$TMP/srv_up.txt")"
# ---- a rejected pair is hidden without taking a place: still 10 shown by default
IDA=$("$BIN" index ls --index "$TMP/idx" | awk -F, '$2=="v00"{print $1}')
best=$(head -1 "$TMP/srv.txt" | cut -d' ' -f1)
IDB=$("$BIN" index ls --index "$TMP/idx" | awk -F, -v n="$best" '$2==n{print $1}')
req PUT /v1/pairs/$IDA/$IDB/verdict -H 'Content-Type: application/json' -d '{"verdict": "not_duplicate"}'
[ "$S" = 200 ] && ok || bad "verdict: status $S $(cat "$TMP/body")"
req POST /v1/search -F name=v00
[ "$(nmatch)" = 10 ] && ! grep -q "\"name\": \"$best\"" "$TMP/body" && grep -q '"hidden_rejected": 1' "$TMP/body" && ok ||
  bad "default top with a rejected pair: $(nmatch 2>/dev/null) matches (want 10, $best hidden): $(head -c 400 "$TMP/body")"
req POST /v1/search -F name=v00 -F top=0
[ "$(nmatch)" = 11 ] && ok || bad "top=0 with a rejected pair: $(nmatch 2>/dev/null) matches (want 11)"
# with segments (a searcher of the request's own, localising the listed pairs only)
req POST /v1/search -F name=v00 -F top=3 -F segments=1
[ "$S" = 200 ] && [ "$(nmatch)" = 3 ] && ! grep -q "\"name\": \"$best\"" "$TMP/body" && ok ||
  bad "top=3, segments=1 with a rejected pair: $(nmatch 2>/dev/null) matches (want 3): $(head -c 400 "$TMP/body")"
req POST /v1/search -F name=v00 -F top=0 -F segments=1
[ "$(nmatch)" = 11 ] && ok || bad "top=0, segments=1 with a rejected pair: $(nmatch 2>/dev/null) matches (want 11)"
stop && ok || bad "serve exit status after SIGTERM"
"$BIN" index verify --index "$TMP/idx" >/dev/null 2>&1 && ok || bad "index verify after the server"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
