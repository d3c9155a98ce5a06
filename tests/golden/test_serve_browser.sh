#!/usr/bin/env bash
# test_serve_browser.sh - the review page of `vidsim serve` in headless Chromium,
# driven over the WebDriver protocol (chromedriver; python3 stdlib only): the page
# loads, a query picked from the list is searched and shows match cards with
# thumbnails, a pair opens with its heatmap, "Not a duplicate" is stored, and after a
# server restart the pair still shows that verdict; the duplicates view lists groups;
# the page at phone width has no horizontal scroll. Screenshots (1280x800 and
# 390x844) are saved under $VS_TMP/serve_browser/. Exit 77 when Chromium,
# chromedriver or `serve` (libmicrohttpd) is missing.
set -u
BIN=${VS_BIN:-build/vidsim}
TMP=${VS_TMP:-build/tmp}/serve_browser
MODELS=${VS_MODELS:-models}
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
"$BIN" serve --help 2>&1 | grep -q "built without libmicrohttpd" && { echo "SKIP: vidsim built without libmicrohttpd"; exit 77; }
command -v chromium >/dev/null || { echo "SKIP: no chromium (Debian package chromium)"; exit 77; }
command -v chromedriver >/dev/null || { echo "SKIP: no chromedriver (Debian package chromium-driver)"; exit 77; }
[ -r "$MODELS/mobilenet_v2.vstf" ] || { echo "SKIP: no weights"; exit 77; }
command -v ffmpeg >/dev/null || { echo "SKIP: no ffmpeg"; exit 77; }
export VIDSIM_MODELS=$MODELS
rm -rf "$TMP"; mkdir -p "$TMP/in" "$TMP/home"
TMP=$(cd "$TMP" && pwd)
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
ff -f lavfi -i testsrc2=size=320x240:rate=25:duration=5 -pix_fmt yuv420p "$TMP/in/a.mp4"
ff -f lavfi -i mandelbrot=size=320x240:rate=25 -t 5 -pix_fmt yuv420p "$TMP/in/b.mp4"
ff -f lavfi -i life=seed=11:size=320x240:rate=25 -t 5 -pix_fmt yuv420p "$TMP/in/c.mp4"
ff -i "$TMP/in/a.mp4" -vf "crop=280:200,eq=brightness=0.1" -c:v libx264 -crf 35 "$TMP/in/a_copy.mp4"
"$BIN" index add --index "$TMP/idx" "$TMP/in" --backbone mobilenet --raw -j 2 2>/dev/null || { echo "FAIL: index add"; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SPORT=$(free_port); DPORT=$(free_port)
PID=; DPID=
start() {
  "$BIN" serve --index "$TMP/idx" --listen 127.0.0.1:$SPORT -j 2 >"$TMP/serve.out" 2>>"$TMP/serve.err" &
  PID=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$SPORT/healthz" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "FAIL: server did not start: $(cat "$TMP/serve.err")"; exit 1
}
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; [ -n "$DPID" ] && kill $DPID 2>/dev/null' EXIT
start
HOME="$TMP/home" chromedriver --port=$DPORT >"$TMP/driver.log" 2>&1 &
DPID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$DPORT/status" >/dev/null 2>&1 && break; sleep 0.1; done
python3 - "$DPORT" "$SPORT" "$TMP" "$BIN" "$PID" <<'PY'
import base64, json, os, signal, subprocess, sys, time, urllib.request
dport, sport, tmp, binp, spid = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
W = f"http://127.0.0.1:{dport}"
U = f"http://127.0.0.1:{sport}"
fails = []
def wd(method, path, body=None):
    req = urllib.request.Request(W + path, data=json.dumps(body).encode() if body is not None else None, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r: return json.loads(r.read())["value"]
    except urllib.error.HTTPError as e: raise RuntimeError(f"{method} {path}: {e.read()[:300]!r}")
caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
    "binary": "/usr/bin/chromium",
    "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,800"]}}}}
sid = wd("POST", "/session", caps)["sessionId"]
S = f"/session/{sid}"
EL = "element-6066-11e4-a52e-4f735466cecf"
def js(script, *args): return wd("POST", S + "/execute/sync", {"script": script, "args": list(args)})
def find(css): return wd("POST", S + "/element", {"using": "css selector", "value": css})[EL]
def click(css): wd("POST", S + f"/element/{find(css)}/click", {})
def wait(cond, what, t=30):
    t0 = time.time()
    while time.time() - t0 < t:
        try:
            if js("return " + cond): return True
        except RuntimeError: pass
        time.sleep(0.2)
    fails.append(what); return False
def check(ok, what):
    if not ok: fails.append(what)
def shot(name):
    open(os.path.join(tmp, name), "wb").write(base64.b64decode(wd("GET", S + "/screenshot")))
try:
    wd("POST", S + "/url", {"url": U + "/"})
    check(js("return document.title") == "vidsim review", "title")
    wait("document.querySelectorAll('#qname option').length == 5", "query list filled")
    js("const s = document.getElementById('qname'); s.value = 'a'; s.dispatchEvent(new Event('change'));")
    click("#qform button[type=submit]")
    wait("document.querySelectorAll('#results .card').length >= 3", "match cards")
    wait("Array.from(document.querySelectorAll('#results img')).every(i => i.complete && i.naturalWidth > 0)", "thumbnails loaded")
    check(js("return document.getElementById('results').textContent.includes('a_copy')"), "a_copy among matches")
    shot("search_1280.png")
    js("Array.from(document.querySelectorAll('#results .card')).find(c => c.textContent.includes('a_copy')).click()")
    wait("document.getElementById('vstate').textContent.startsWith('verdict: none')", "pair view with verdict none")
    wait("document.getElementById('heat').complete && document.getElementById('heat').naturalWidth > 0", "heatmap loaded")
    wait("document.querySelectorAll('#psegs .seg').length >= 1", "segments listed")
    click("#vnot")
    wait("document.getElementById('vstate').textContent == 'verdict: not_duplicate'", "verdict stored")
    shot("pair_1280.png")
    # restart the server: the verdict persists
    pid = spid
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):  # the old server is bash's child: wait until its port is closed
        try: urllib.request.urlopen(U + "/healthz", timeout=2); time.sleep(0.1)
        except Exception: break
    srv = subprocess.Popen([binp, "serve", "--index", f"{tmp}/idx", "--listen", f"127.0.0.1:{sport}", "-j", "2"],
                           stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "serve2.err"), "w"))
    for _ in range(100):
        try: urllib.request.urlopen(U + "/healthz", timeout=2); break
        except Exception: time.sleep(0.1)
    wd("POST", S + "/refresh", {})
    wait("document.querySelectorAll('#qname option').length == 5", "query list after restart")
    js("const s = document.getElementById('qname'); s.value = 'a';")
    js("document.getElementById('qtop').value = '0';")
    click("#qform button[type=submit]")
    wait("document.getElementById('qstatus').textContent.includes('rejected hidden')", "rejected pair hidden after restart")
    check(not js("return document.getElementById('results').textContent.includes('a_copy')"), "a_copy hidden")
    click("#tab-dedup")
    js("document.getElementById('dthr').value = '-100';")
    click("#dform button[type=submit]")
    wait("document.querySelectorAll('#groups .group').length >= 1", "dedup groups")
    shot("dedup_1280.png")
    js("Array.from(document.querySelectorAll('#groups .pl a')).find(a => a.textContent.length > 0).click()")
    wait("document.getElementById('vstate').textContent.startsWith('verdict:')", "pair from dedup")
    # phone width
    wd("POST", S + "/window/rect", {"width": 390, "height": 844})
    click("#tab-search")
    time.sleep(0.5)
    sw = js("return [document.documentElement.scrollWidth, window.innerWidth]")
    check(sw[0] <= sw[1] + 1, f"no horizontal scroll at phone width: {sw}")
    shot("search_phone.png")
    srv.send_signal(signal.SIGTERM); srv.wait(timeout=30)
except Exception as e:
    fails.append(f"driver: {str(e)[:300]}")
finally:
    try: wd("DELETE", S)
    except Exception: pass
for f in fails: print("FAIL:", f)
print(f"test_serve_browser: {len(fails)} failed; screenshots in {tmp}")
sys.exit(1 if fails else 0)
PY
rc=$?
PID=
exit $rc
