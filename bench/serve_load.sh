#!/usr/bin/env bash
# serve_load.sh - load test of `vidsim serve` on loopback (docs/server.md): for SECONDS
# (default 60) four clients search (by indexed name, every fifth by uploading a clip)
# while one client adds videos by server-side path and waits for each job. Prints the
# request count, errors (any non-2xx answer or failed job), p50/p99 latency of
# searches and of all requests, the server's RSS every 5 s (a leak shows as a
# steady climb), and checks that every added video is listed at the end. Bounded in
# time and requests. Exit 1 on any error or missing video.
#   bash bench/serve_load.sh [SECONDS]     (VS_BIN: the vidsim binary, default build/vidsim)
set -u
SECS=${1:-60}
BIN=${VS_BIN:-build/vidsim}
TMP=${VS_TMP:-build/tmp}/serve_load
export VIDSIM_MODELS=${VIDSIM_MODELS:-${VS_MODELS:-models}}
rm -rf "$TMP"; mkdir -p "$TMP/in" "$TMP/add" "$TMP/tmp"
TMP=$(cd "$TMP" && pwd)
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
seeded() { case $1 in life) echo "life=seed=11:$2" ;; cellauto) echo "cellauto=seed=5:$2" ;; *) echo "$1=$2" ;; esac; } # the same clips every run
srcs=(testsrc2 mandelbrot life smptehdbars cellauto rgbtestsrc)
for i in 0 1 2 3 4 5; do ff -f lavfi -i "$(seeded "${srcs[$i]}" size=320x240:rate=25)" -t 4 -pix_fmt yuv420p "$TMP/in/v$i.mp4"; done
for i in $(seq 0 59); do
  ff -f lavfi -i "$(seeded "${srcs[$((i % 6))]}" size=320x240:rate=25)" -t 3 -vf "hue=h=$((i * 6)),crop=300:220" -pix_fmt yuv420p "$TMP/add/n$i.mp4"
done
"$BIN" index add --index "$TMP/idx" "$TMP/in" --backbone mobilenet --raw -j 2 2>/dev/null || { echo "index add failed"; exit 1; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
TMPDIR="$TMP/tmp" "$BIN" serve --index "$TMP/idx" --listen 127.0.0.1:$port -j 2 --allow-dir "$TMP/add" >"$TMP/serve.out" 2>"$TMP/serve.err" &
PID=$!
trap 'kill $PID 2>/dev/null' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
python3 - "$port" "$SECS" "$PID" "$TMP" <<'PY'
import json, os, random, sys, threading, time, urllib.request, uuid
port, secs, pid, tmp = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
U = f"http://127.0.0.1:{port}"
lat, slat, errors, added, rss = [], [], [], [], []
lock = threading.Lock()
t_end = time.time() + secs
def call(method, path, body=None, ctype=None):
    req = urllib.request.Request(U + path, data=body, method=method)
    if ctype: req.add_header("Content-Type", ctype)
    t0 = time.time()
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            data, code = r.read(), r.status
    except urllib.error.HTTPError as e:
        data, code = e.read(), e.code
    except Exception as e:
        data, code = str(e).encode(), 0
    dt = time.time() - t0
    with lock:
        lat.append(dt)
        if not 200 <= code < 300: errors.append(f"{method} {path}: {code} {data[:200]!r}")
    return code, data, dt
def multipart(fields, fname, content):
    b = uuid.uuid4().hex
    parts = [f'--{b}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()]
    parts.append(f'--{b}\r\nContent-Disposition: form-data; name="file"; filename="{fname}"\r\nContent-Type: video/mp4\r\n\r\n'.encode() + content + b"\r\n")
    return b"".join(parts) + f"--{b}--\r\n".encode(), f"multipart/form-data; boundary={b}"
clip = open(os.path.join(tmp, "add", "n0.mp4"), "rb").read()
def searcher(k):
    rnd = random.Random(k); n = 0
    while time.time() < t_end:
        n += 1
        if n % 5 == 0:
            body, ct = multipart({"top": "5"}, "q.mp4", clip)
        else:
            body, ct = json.dumps({"name": f"v{rnd.randrange(6)}", "top": 5}).encode(), "application/json"
        code, _, dt = call("POST", "/v1/search", body, ct)
        if code == 200:
            with lock: slat.append(dt)
def adder():
    i = 0
    while time.time() < t_end and i < 60:
        code, data, _ = call("POST", "/v1/videos", f"path={tmp}/add/n{i}.mp4".encode(), "application/x-www-form-urlencoded")
        if code == 202:
            job = json.loads(data)["job"]
            while True:
                c, d, _ = call("GET", f"/v1/jobs/{job}")
                st = json.loads(d)["state"] if c == 200 else "error"
                if st not in ("queued", "running"): break
                time.sleep(0.2)
            if st != "done": errors.append(f"job {job} (n{i}): {d[:200]!r}")
            else: added.append(f"n{i}")
        i += 1
        time.sleep(0.5)
def rss_watch():
    while time.time() < t_end:
        try:
            for line in open(f"/proc/{pid}/status"):
                if line.startswith("VmRSS:"): rss.append((round(secs - (t_end - time.time())), int(line.split()[1]) // 1024))
        except OSError: pass
        time.sleep(5)
ths = [threading.Thread(target=searcher, args=(k,)) for k in range(4)] + [threading.Thread(target=adder), threading.Thread(target=rss_watch)]
for t in ths: t.start()
for t in ths: t.join()
code, data, _ = call("GET", "/v1/videos")
names = {v["name"] for v in json.loads(data)["videos"] if v["ok"]} if code == 200 else set()
missing = [n for n in added if n not in names]
def pct(v, p):
    v = sorted(v); return v[min(len(v) - 1, int(p * len(v)))] * 1000 if v else float("nan")
print(f"requests {len(lat)} in {secs:.0f} s, searches {len(slat)}, adds {len(added)}, errors {len(errors)}, missing after adds {len(missing)}")
print(f"search latency p50 {pct(slat, .5):.1f} ms, p99 {pct(slat, .99):.1f} ms; all requests p50 {pct(lat, .5):.1f} ms, p99 {pct(lat, .99):.1f} ms")
print("server RSS (s: MB): " + ", ".join(f"{t}: {m}" for t, m in rss))
for e in errors[:10]: print("error:", e)
sys.exit(1 if errors or missing else 0)
PY
rc=$?
kill -TERM $PID; wait $PID || rc=1
"$BIN" index verify --index "$TMP/idx" >/dev/null || { echo "index verify failed"; rc=1; }
exit $rc
