#!/usr/bin/env bash
# test_serve_cli.sh - `vidsim serve` (docs/server.md) against a server this script
# starts on a free loopback port, over a small index of synthetic clips (mobilenet,
# raw features): every endpoint (page, healthz, metrics, search by name and by upload
# with segments, videos, video, thumbnail, add by upload and by path as jobs, job
# status, delete, pair JSON and heatmap PNG, verdict, verdicts, dedup groups paged
# and with rejected pairs hidden), the error codes (400, 401, 403, 404, 405, 413,
# 415, 422) with JSON errors, the security headers, the token (write endpoints need
# it, reads do not), path confinement (`..`, a symlink escape, a path outside
# --allow-dir), a truncated upload, a 0-byte upload and a non-video upload, the
# verdict persisting across a restart, and SIGTERM: a clean stop after which the
# index verifies. Search's options beyond the CLI's common ones (direction, mirror_view,
# inset_view, sim_precision, first_stage, top_k, gvec_segments, a named threshold) give
# `vidsim search`'s scores, and a bad value of each is a 400 naming it. Exit 77 when the build has no `serve` (no libmicrohttpd).
set -u
BIN=${VS_BIN:-build/vidsim}
TMP=${VS_TMP:-build/tmp}/serve_cli
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
rm -rf "$TMP"; mkdir -p "$TMP/in" "$TMP/q" "$TMP/allow" "$TMP/outside" "$TMP/tmp"
TMP=$(cd "$TMP" && pwd)
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
ff -f lavfi -i testsrc2=size=320x240:rate=25:duration=5 -pix_fmt yuv420p "$TMP/in/a.mp4"
ff -f lavfi -i mandelbrot=size=320x240:rate=25 -t 5 -pix_fmt yuv420p "$TMP/in/b.mp4"
ff -f lavfi -i life=seed=11:size=320x240:rate=25 -t 5 -pix_fmt yuv420p "$TMP/in/c.mp4"
ff -i "$TMP/in/a.mp4" -vf "crop=280:200,eq=brightness=0.1" -c:v libx264 -crf 35 "$TMP/q/a_copy.mp4"
ff -f lavfi -i smptehdbars=size=320x240:rate=25 -t 5 -pix_fmt yuv420p "$TMP/allow/d.mp4"
cp "$TMP/allow/d.mp4" "$TMP/outside/e.mp4"
ln -s /etc/passwd "$TMP/allow/passwd.mp4"
ln -s "$TMP/outside/e.mp4" "$TMP/allow/e_link.mp4"
: > "$TMP/q/empty.mp4"
echo "this is not a video" > "$TMP/q/junk.mp4"
head -c 300000 /dev/urandom > "$TMP/q/big.bin"
"$BIN" index add --index "$TMP/idx" "$TMP/in" --backbone mobilenet --raw -j 2 2>"$TMP/add.err" || { echo "FAIL: index add: $(cat "$TMP/add.err")"; exit 1; }
TOKEN=serve-test-token-0123456789
echo "$TOKEN" > "$TMP/token"

PID=
start() {   # start [extra options]: a server on a free port; sets U and PID
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  TMPDIR="$TMP/tmp" "$BIN" serve --index "${IDX:-$TMP/idx}" --listen 127.0.0.1:$port -j 2 --allow-dir "$TMP/allow" \
    --max-upload 200000 "$@" >"$TMP/serve.out" 2>>"$TMP/serve.err" &
  PID=$!
  U=http://127.0.0.1:$port
  for _ in $(seq 100); do curl -sf "$U/healthz" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "FAIL: server did not come up: $(cat "$TMP/serve.err")"; kill $PID 2>/dev/null; exit 1
}
stop() { kill -TERM $PID; wait $PID; local rc=$?; PID=; return $rc; }
trap '[ -n "$PID" ] && kill $PID 2>/dev/null' EXIT
# req METHOD URL [curl args]: body in $TMP/body, status in $S
req() { local m=$1 u=$2; shift 2; S=$(curl -s -o "$TMP/body" -w '%{http_code}' -X "$m" "$@" "$U$u"); }
expect() {  # expect STATUS WHAT [grep pattern of the body]
  if [ "$S" = "$1" ] && { [ -z "${3:-}" ] || grep -q -- "$3" "$TMP/body"; }; then ok
  else bad "$2: status $S (want $1), body $(head -c 400 "$TMP/body")"; fi
}
json_err() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert isinstance(d["error"], str) and d["error"]' "$TMP/body" \
  && ok || bad "$1: not a JSON error: $(head -c 300 "$TMP/body")"; }
jget() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$TMP/body" "$1"; }
wait_job() {  # wait_job ID: state of the job when it is over
  local st
  for _ in $(seq 300); do
    req GET /v1/jobs/$1; st=$(jget 'd["state"]')
    [ "$st" != queued ] && [ "$st" != running ] && { echo "$st"; return; }
    sleep 0.1
  done
  echo timeout
}

# ---- a refusal before start: non-loopback without a token
"$BIN" serve --index "$TMP/idx" --listen 0.0.0.0:0 2>"$TMP/e.txt"; [ $? = 2 ] && grep -q "needs --token-file" "$TMP/e.txt" \
  && ok || bad "non-loopback without a token: $(cat "$TMP/e.txt")"

start
# ---- page, health, headers
req GET /; expect 200 "page" "<title>vidsim review</title>"
req GET /app.js; expect 200 "app.js" "v1/search"
req GET /app.css; expect 200 "app.css" "grid"
curl -s -D "$TMP/h.txt" -o /dev/null "$U/healthz"
grep -qi "^X-Content-Type-Options: nosniff" "$TMP/h.txt" && grep -qi "^Content-Security-Policy: default-src 'self'" "$TMP/h.txt" \
  && ok || bad "security headers: $(cat "$TMP/h.txt")"
req GET /healthz; expect 200 "healthz" '"videos": 3'
req GET /nope; expect 404 "unknown path"; json_err "404"
req POST /healthz; expect 405 "POST /healthz"; json_err "405"
req GET /v1/videos/0; expect 400 "id 0"
req GET "/v1/videos/1%2F..%2F2"; expect 404 "id with an encoded slash (unescaped: more path segments)"
req GET /v1/videos/12345678901234567890; expect 400 "id too long"
req GET /v1/videos/99; expect 404 "no such video"

# ---- videos
req GET /v1/videos; expect 200 "videos"
[ "$(jget 'len(d["videos"])')" = 3 ] && ok || bad "3 videos: $(cat "$TMP/body")"
req GET "/v1/videos?per_page=2&page=2"; expect 200 "videos paged" '"n": 3'
[ "$(jget 'len(d["videos"])')" = 1 ] && ok || bad "page 2 of 2-per-page: $(cat "$TMP/body")"
req GET "/v1/videos?per_page=0"; expect 400 "per_page 0"
req GET /v1/videos
IDA=$(jget '[v["id"] for v in d["videos"] if v["name"]=="a"][0]')
IDB=$(jget '[v["id"] for v in d["videos"] if v["name"]=="b"][0]')
IDC=$(jget '[v["id"] for v in d["videos"] if v["name"]=="c"][0]')
req GET /v1/videos/$IDA; expect 200 "video" '"name": "a"'
grep -q '"duration": 5.000' "$TMP/body" && ok || bad "duration: $(cat "$TMP/body")"
curl -s -o "$TMP/t.png" -w '%{http_code} %{content_type}' "$U/v1/videos/$IDA/thumbnail?t=2.5&size=64" > "$TMP/s.txt"
[ "$(cat "$TMP/s.txt")" = "200 image/png" ] && python3 -c '
import sys,struct; b=open(sys.argv[1],"rb").read(); assert b[:8]==b"\x89PNG\r\n\x1a\n"; assert struct.unpack(">II", b[16:24])==(64,64)' "$TMP/t.png" \
  && ok || bad "thumbnail: $(cat "$TMP/s.txt")"
req GET "/v1/videos/$IDA/thumbnail?size=5000"; expect 400 "thumbnail size"
req GET "/v1/videos/$IDA/thumbnail?t=-1"; expect 400 "thumbnail time"

# ---- search
req POST /v1/search -F name=a; expect 200 "search by name" '"query_id": "a"'
[ "$(jget '[m["name"] for m in d["matches"]]')" != "[]" ] && ! grep -q '"name": "a"' "$TMP/body" && ok || bad "search a: $(cat "$TMP/body")"
req POST /v1/search -H 'Content-Type: application/json' -d '{"name": "b", "top": 1, "norm": "off"}'
expect 200 "search JSON body" '"normalized": false'
[ "$(jget 'len(d["matches"])')" = 1 ] && ok || bad "top 1: $(cat "$TMP/body")"
req POST /v1/search -F file=@"$TMP/q/a_copy.mp4" -F segments=1
expect 200 "search by upload" '"query_id": "a_copy"'
[ "$(jget 'd["matches"][0]["name"]')" = a ] && [ "$(jget 'len(d["matches"][0]["segments"]) > 0')" = True ] \
  && ok || bad "upload's best match with segments: $(cat "$TMP/body")"
req POST /v1/search -F name=nosuch; expect 404 "unknown name"; json_err "unknown name"
req POST /v1/search -F name=../../etc/passwd; expect 400 "name with a path"
req POST /v1/search -F name=x.vsf; expect 400 "name of a feature file"
req POST /v1/search -F top=x -F name=a; expect 400 "bad top"
# search options as `vidsim search`'s (direction, mirror_view, inset_view, sim_precision, temporal,
# two_stage / first_stage / top_k / gvec_segments, a named threshold): the CLI's scores
srv_vs_cli() {  # srv_vs_cli WHAT CLI-ARGS...: the body's matches equal the CLI's rows to 1e-5
  "$BIN" search --index "$TMP/idx" --top 0 "$@" > "$TMP/cli.csv" 2>/dev/null
  python3 - "$TMP/body" "$TMP/cli.csv" <<'PY' && ok || bad "$WHAT: server $(head -c 400 "$TMP/body") vs CLI $(cat "$TMP/cli.csv")"
import csv, json, sys
got = [(m["name"], m["score"]) for m in json.load(open(sys.argv[1]))["matches"]]
want = [(r["ref_id"], float(r["score"])) for r in csv.DictReader(open(sys.argv[2]))]
assert [g[0] for g in got] == [w[0] for w in want] and all(abs(g[1] - w[1]) <= 1e-5 for g, w in zip(got, want)), (got, want)
PY
}
req POST /v1/search -F name=a -F top=0 -F direction=q2r; expect 200 "search direction q2r"
WHAT="direction q2r" srv_vs_cli a --direction q2r
req POST /v1/search -F file=@"$TMP/q/a_copy.mp4" -F top=0 -F mirror_view=off -F inset_view=off -F sim_precision=fp32
expect 200 "search with the views off, fp32"
WHAT="views off, fp32" srv_vs_cli "$TMP/q/a_copy.mp4" --mirror-view off --inset-view off --sim-precision fp32
req POST /v1/search -H 'Content-Type: application/json' -d '{"name": "a", "top": 0, "first_stage": "gvec", "gvec_segments": 2, "top_k": 1}'
expect 200 "search gvec first stage (JSON body)"
[ "$(jget 'len(d["matches"])')" = 1 ] && ok || bad "gvec top_k 1: $(cat "$TMP/body")"
WHAT="gvec first stage" srv_vs_cli a --first-stage gvec --gvec-segments 2 --top-k 1
req POST /v1/search -F name=a -F top=0 -F first_stage=gvec -F gvec_whiten=off; expect 200 "search gvec_whiten off"
WHAT="gvec_whiten off" srv_vs_cli a --first-stage gvec --gvec-whiten off
req POST "/v1/search?threshold=p90" -F name=a -F top=0; expect 200 "search threshold p90"
WHAT="threshold p90" srv_vs_cli a --threshold p90
req POST /v1/search -F name=a -F top=0 -F temporal=0; expect 200 "search temporal 0"
WHAT="temporal 0" srv_vs_cli a --temporal 0
req POST /v1/search -F name=a -F top=0 -F frame_levels=0; expect 200 "search frame_levels 0"
WHAT="frame_levels 0" srv_vs_cli a --frame-levels 0
for bad_req in "mirror_view=maybe mirror_view" "inset_view=2 inset_view" "sim_precision=int8 sim_precision" \
               "direction=up direction" "first_stage=gvec:faiss:HNSW32 first_stage" "top_k=0 top_k" \
               "two_stage=1&top_k=1e9 top_k" "first_stage=gvec&gvec_segments=65 gvec_segments" \
               "gvec_segments=2 gvec_segments" "top_k=5 top_k" "two_stage=0&first_stage=gvec first_stage" \
               "two_stage=x two_stage" "norm=off&threshold=p90 threshold" "temporal=1.5 temporal" \
               "temporal=0&threshold=p90 threshold" "frame_levels=1.5 frame_levels" \
               "frame_levels=0&threshold=p90 threshold" "first_stage=gvec&gvec_whiten=/etc/passwd gvec_whiten" \
               "gvec_whiten=off gvec_whiten"; do
  set -- $bad_req
  req POST "/v1/search?$1" -F name=a; expect 400 "search $1" "$2"; json_err "search $1"
done
req POST /v1/search; expect 400 "no query"; json_err "no query"
req POST /v1/search -F file=@"$TMP/q/empty.mp4"; expect 400 "0-byte upload" "empty"
req POST /v1/search -F file=@"$TMP/q/junk.mp4"; expect 422 "non-video upload"; json_err "non-video"
# over --max-upload: refused from Content-Length before the body (a client that sends
# the body anyway may see the connection close instead: curl waits with Expect), and,
# without a length (chunked), once the streamed part passes the cap
req POST /v1/search -H 'Expect: 100-continue' -F file=@"$TMP/q/big.bin"; expect 413 "upload over --max-upload"; json_err "413"
req POST /v1/search -H 'Transfer-Encoding: chunked' -F file=@"$TMP/q/big.bin"; expect 413 "chunked upload over --max-upload"
req POST /v1/search -H 'Content-Type: application/json' -d '{"name": '; expect 400 "malformed JSON"; json_err "malformed JSON"
req POST /v1/search -H 'Content-Type: text/plain' -d 'hello'; expect 415 "unknown body type"
req GET /v1/search; expect 405 "GET search"
# a multipart part without name= (the post processor hands the handler a NULL key: this
# killed the server with SIGSEGV before; found by tests/fuzz/fuzz_http.c)
req POST /v1/search -H 'Content-Type: multipart/form-data; boundary=XyZ' \
  --data-binary $'--XyZ\r\nContent-Disposition: form-data; filename="a.mp4"\r\n\r\nxx\r\n--XyZ--\r\n'
expect 400 "multipart part without a name"; json_err "nameless part"
req GET /healthz; expect 200 "alive after a nameless multipart part"
# a truncated upload: Content-Length promises more than is sent, then the client goes
python3 - "$U" <<'PY' && ok || bad "truncated upload client"
import socket, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
s = socket.create_connection((u.hostname, u.port))
body = b'--XX\r\nContent-Disposition: form-data; name="file"; filename="t.mp4"\r\n\r\n' + b'\0' * 5000
s.sendall(b'POST /v1/search HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=XX\r\n'
          b'Content-Length: 100000\r\n\r\n' + body)
s.close()
PY
sleep 0.5
req GET /healthz; expect 200 "alive after a truncated upload"
[ -z "$(find "$TMP/tmp" -mindepth 1 2>/dev/null | head -1)" ] && ok || bad "temporary upload files left: $(find "$TMP/tmp")"

# ---- adding and deleting are jobs
req POST /v1/videos -d "path=$TMP/allow/../../../../etc/passwd"; expect 403 "..-path"; json_err "..-path"
req POST /v1/videos -d "path=$TMP/allow/passwd.mp4"; expect 403 "symlink escape"
req POST /v1/videos -d "path=$TMP/allow/e_link.mp4"; expect 403 "symlink to outside"
req POST /v1/videos -d "path=$TMP/outside/e.mp4"; expect 403 "path outside"
req POST /v1/videos -d "path=relative.mp4"; expect 403 "relative path"
req POST /v1/videos -d "path=$TMP/allow/missing.mp4"; expect 404 "missing file"
req POST /v1/videos -F file=@"$TMP/q/empty.mp4"; expect 400 "0-byte add"
req POST /v1/videos -d "path=$TMP/allow/d.mp4" -H "Origin: http://evil.example"; expect 403 "cross-site add"; json_err "cross-site"
req PUT /v1/pairs/1/2/verdict -d verdict=duplicate -H "Host: evil.example"; expect 403 "rebound host name"
req POST /v1/videos -d "path=$TMP/allow/d.mp4"; expect 202 "add by path" '"job"'
J1=$(jget 'd["job"]')
req POST /v1/videos -F file=@"$TMP/q/a_copy.mp4"; expect 202 "add by upload"
J2=$(jget 'd["job"]')
req POST /v1/videos -F file=@"$TMP/q/junk.mp4"; expect 202 "add a non-video"
J3=$(jget 'd["job"]')
[ "$(wait_job $J1)" = done ] && ok || bad "job $J1: $(cat "$TMP/body")"
[ "$(wait_job $J2)" = done ] && ok || bad "job $J2: $(cat "$TMP/body")"
[ "$(wait_job $J3)" = failed ] && grep -q '"error"' "$TMP/body" && ok || bad "job $J3 (non-video): $(cat "$TMP/body")"
req GET /v1/jobs/999; expect 404 "no such job"
req GET /v1/jobs/x; expect 400 "bad job id"
req GET /v1/videos
IDD=$(jget '[v["id"] for v in d["videos"] if v["name"]=="d" and v["ok"]][0]')
IDQ=$(jget '[v["id"] for v in d["videos"] if v["name"]=="a_copy" and v["ok"]][0]')
[ -n "$IDD" ] && [ -n "$IDQ" ] && ok || bad "added videos listed: $(cat "$TMP/body")"
# searchers see the new state
req POST /v1/search -F name=a -F top=0; expect 200 "search after add" '"name": "a_copy"'

# ---- pairs, verdicts, dedup
req GET /v1/pairs/$IDA/$IDQ; expect 200 "pair" '"verdict": "none"'
[ "$(jget 'd["score"] > 0.5 and len(d["segments"]) > 0')" = True ] && ok || bad "pair score/segments: $(cat "$TMP/body")"
curl -s -o "$TMP/h.png" -w '%{http_code} %{content_type}' "$U/v1/pairs/$IDA/$IDQ?format=png" > "$TMP/s.txt"
[ "$(cat "$TMP/s.txt")" = "200 image/png" ] && [ "$(head -c 4 "$TMP/h.png" | tail -c 3)" = PNG ] && ok || bad "heatmap: $(cat "$TMP/s.txt")"
req GET "/v1/pairs/$IDA/$IDQ?format=gif"; expect 400 "pair format"
req GET /v1/pairs/$IDA/$IDA; expect 400 "pair of one video"
req GET /v1/pairs/$IDA/999; expect 404 "pair with a missing video"
req GET "/v1/dedup"; expect 200 "dedup, normalised" '"normalized": true'
req GET "/v1/dedup?threshold=p99"; expect 200 "dedup, named threshold" '"threshold": 0.03'
req GET "/v1/dedup?threshold=p99&norm=off"; expect 400 "named threshold with norm=off"
req GET "/v1/dedup?threshold=0.5&norm=off&per_page=1"; expect 200 "dedup raw"
[ "$(jget 'd["n_groups"] >= 1 and len(d["groups"]) == 1')" = True ] && ok || bad "dedup groups: $(cat "$TMP/body")"
NP=$(jget 'd["n_pairs"]')
req GET "/v1/dedup?per_page=0"; expect 400 "per_page 0"
req GET "/v1/dedup?threshold=abc"; expect 400 "dedup threshold"
req PUT /v1/pairs/$IDA/$IDQ/verdict -H 'Content-Type: application/json' -d '{"verdict": "maybe"}'; expect 400 "bad verdict"
req PUT /v1/pairs/$IDA/$IDQ/verdict -d verdict=not_duplicate; expect 200 "verdict" '"verdict": "not_duplicate"'
req GET /v1/verdicts; expect 200 "verdicts" '"not_duplicate"'
req GET "/v1/dedup?threshold=0.5&norm=off"; expect 200 "dedup hides rejected" '"hidden_rejected": 1'
[ "$(jget 'd["n_pairs"]')" = $((NP - 1)) ] && ok || bad "dedup pairs after the verdict: $(jget 'd["n_pairs"]') (was $NP)"
req GET "/v1/dedup?threshold=0.5&norm=off&show_rejected=1"; expect 200 "dedup show_rejected" '"hidden_rejected": 0'
req POST /v1/search -F name=a -F top=0; expect 200 "search hides rejected" '"hidden_rejected": 1'
grep -q '"name": "a_copy"' "$TMP/body" && bad "a_copy still listed: $(cat "$TMP/body")" || ok
req POST "/v1/search?show_rejected=1" -F name=a -F top=0; expect 200 "search show_rejected" '"name": "a_copy"'
req POST /v1/search -H 'Content-Type: application/json' -d '{"name": "a", "top": 0, "show_rejected": true}'
expect 200 "search show_rejected in a JSON body" '"name": "a_copy"'
"$BIN" dedup --index "$TMP/idx" --hide-rejected --threshold -100 > "$TMP/dd.csv" 2>/dev/null
grep -Eq '^(a,a_copy|a_copy,a),' "$TMP/dd.csv" && bad "CLI --hide-rejected: $(cat "$TMP/dd.csv")" || ok
"$BIN" dedup --index "$TMP/idx" --groups --threshold -100 > "$TMP/dg.csv" && head -1 "$TMP/dg.csv" | grep -q '^group,name,best_score$' \
  && grep -q '^1,a_copy,' "$TMP/dg.csv" \
  && ok || bad "CLI --groups: $(cat "$TMP/dg.csv")"

# ---- delete
req DELETE /v1/videos/999; expect 404 "delete missing"
req DELETE /v1/videos/$IDC; expect 202 "delete"
[ "$(wait_job "$(jget 'd["job"]')")" = done ] && ok || bad "delete job: $(cat "$TMP/body")"
req GET /v1/videos/$IDC; expect 404 "deleted video gone"
req POST /v1/search -F name=a -F top=0; expect 200 "search after delete"
grep -q '"name": "c"' "$TMP/body" && bad "deleted c still found" || ok

# ---- metrics
req GET /metrics; expect 200 "metrics" 'vidsim_http_requests_total{endpoint="/v1/search",status="200"}'
grep -q 'vidsim_http_request_duration_seconds_bucket{endpoint="/v1/search",le="+Inf"}' "$TMP/body" && ok || bad "histogram"
grep -q 'status="404"' "$TMP/body" && ok || bad "404 counted"
stop && ok || bad "SIGTERM exit status"

# ---- with a token: writes need it, reads do not; the verdict persisted
start --token-file "$TMP/token"
req GET /v1/pairs/$IDA/$IDQ; expect 200 "verdict after restart" '"verdict": "not_duplicate"'
req PUT /v1/pairs/$IDA/$IDQ/verdict -d verdict=duplicate; expect 401 "no token"; json_err "401"
req PUT /v1/pairs/$IDA/$IDQ/verdict -d verdict=duplicate -H "Authorization: Bearer wrong-token-0123456789"; expect 401 "bad token"
req DELETE /v1/videos/$IDB; expect 401 "delete without token"
req POST /v1/videos -F file=@"$TMP/q/a_copy.mp4"; expect 401 "upload without token"
req PUT /v1/pairs/$IDA/$IDQ/verdict -d verdict=duplicate -H "Authorization: Bearer $TOKEN"; expect 200 "with token" '"duplicate"'
req GET /v1/videos; expect 200 "reads need no token"
# SIGTERM while a job runs: it finishes, the index verifies
req POST /v1/videos -F file=@"$TMP/q/a_copy.mp4" -H "Authorization: Bearer $TOKEN"; expect 202 "add before stop"
stop && ok || bad "SIGTERM with a job"
grep -q "SIGTERM: stopping" "$TMP/serve.err" && ok || bad "stop message: $(cat "$TMP/serve.err")"
"$BIN" index verify --index "$TMP/idx" > "$TMP/verify.txt" 2>&1 && ok || bad "verify after stop: $(cat "$TMP/verify.txt")"

# ---- an index sampled at 2 frames/s: a server add samples at the index's rate, not the default 1
"$BIN" index add --index "$TMP/idx2" "$TMP/in/b.mp4" --backbone mobilenet --raw --fps 2 2>"$TMP/add2.err" \
  || { echo "FAIL: index add --fps 2: $(cat "$TMP/add2.err")"; exit 1; }
IDX=$TMP/idx2 start
req POST /v1/videos -d "path=$TMP/allow/d.mp4"; expect 202 "add to a 2-fps index"
J4=$(jget 'd["job"]')
[ "$(wait_job $J4)" = done ] && ok || bad "add to a 2-fps index: $(cat "$TMP/body")"
req GET /v1/videos
[ "$(jget '[v["frames"] for v in d["videos"] if v["name"]=="d"][0]')" = 10 ] && ok || bad "5 s at 2 frames/s: $(cat "$TMP/body")"
stop && ok || bad "SIGTERM (2-fps index)"

echo "test_serve_cli: $pass passed, $fail failed"
[ $fail -eq 0 ]
