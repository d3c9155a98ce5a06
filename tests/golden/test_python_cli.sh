#!/usr/bin/env bash
# test_python_cli.sh - the ctypes binding bindings/python/vidsim.py over libvidsim.so,
# with Debian's python3: an index built from Python (add reports every outcome, a
# non-video fails by name), the catalogue, a search whose hits and scores equal
# `vidsim search` to 1e-6 (normalised, and --norm off), segments, compare() equal to
# the pair's raw score, a feature file read as an array, and errors raised as
# VidsimError naming the file; add() follows the index's model (a precision other than
# the index's is refused naming the index), and a new index gets the CLI's default
# model (int8 inception on a VNNI/AMX CPU).
set -u
BIN=${VS_BIN:-build/vidsim}
LIB=${VS_LIB:-}
TMP=${VS_TMP:-build/tmp}/python_cli
MODELS=${VS_MODELS:-models}
SRC=${VS_SRC:-.}
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
[ -n "$LIB" ] && [ -e "$LIB" ] || { echo "SKIP: no shared library (VS_SHARED_LIB is off, e.g. a sanitizer build)"; exit 77; }
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "SKIP: no /usr/bin/python3"; exit 77; }
[ -r "$MODELS/mobilenet_v2.vstf" ] && [ -r "$MODELS/inception_v3.vstf" ] || { echo "SKIP: no weights (run scripts/fetch_weights.sh)"; exit 77; }
command -v ffmpeg >/dev/null || { echo "SKIP: no ffmpeg"; exit 77; }
export VIDSIM_MODELS=$MODELS VIDSIM_LIB=$LIB PYTHONPATH=$SRC/bindings/python
rm -rf "$TMP"; mkdir -p "$TMP/in" "$TMP/q"
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
ff -f lavfi -i testsrc2=size=320x240:rate=25:duration=5 -pix_fmt yuv420p "$TMP/in/a.mp4"
ff -f lavfi -i mandelbrot=size=320x240:rate=25 -t 5 -pix_fmt yuv420p "$TMP/in/b.mp4"
ff -f lavfi -i life=size=320x240:rate=25 -t 5 -pix_fmt yuv420p "$TMP/in/c.mp4"
ff -f lavfi -i cellauto=size=320x240:rate=25 -t 5 -pix_fmt yuv420p "$TMP/in/d.mp4"
head -c 3000 /dev/urandom > "$TMP/in/noise.mp4"
ff -i "$TMP/in/a.mp4" -vf "crop=280:200,eq=brightness=0.1" -c:v libx264 -crf 35 "$TMP/q/a_copy.mkv"

"$PY" - "$TMP" > "$TMP/py.txt" 2> "$TMP/py.err" <<'PY'
import json, os, sys
import vidsim
T = sys.argv[1]
vids = [f"{T}/in/{n}.mp4" for n in "abcd"] + [f"{T}/in/noise.mp4"]
with vidsim.Index(f"{T}/idx", create=True) as idx:
    r = idx.add(vids, jobs=2, backbone="mobilenet")
    print("ADD", r["added"], r["failed"], [v["outcome"] for v in r["videos"]])
    print("NOISE", r["videos"][4]["error"].find("noise.mp4") >= 0)
    info = idx.info()
    print("INFO", info["n_ok"], info["n_failed"], sorted(v["name"] for v in info["videos"] if v["ok"]))
    s = idx.search(f"{T}/q/a_copy.mkv", top=0, segments=True)
    print("SEARCH", json.dumps([[h["ref_id"], h["score"]] for h in s["hits"]]))
    print("SEGS", len(s["hits"][0].get("segments", [])) >= 1)
    raw = idx.search("b", top=0, normalize=False)
    print("RAW", json.dumps([[h["ref_id"], h["score"]] for h in raw["hits"]]))
    try:
        idx.search("/nonexistent/x.mp4")
        print("ERR none")
    except vidsim.VidsimError as e:
        print("ERR", "nonexistent" in str(e))
    try:
        idx.add([f"{T}/in/a.mp4"], precision="int8")
        print("CONFLICT none")
    except vidsim.VidsimError as e:
        print("CONFLICT", f"{T}/idx was built with model mobilenet_v2/224/pca256/" in str(e) and "mobilenet_v2-int8" in str(e))
    r2 = idx.add([f"{T}/in/a.mp4"])  # no backbone named: the index's (mobilenet fp32)
    print("FOLLOW", r2["unchanged"], r2["failed"], idx.info()["model_id"].split("/")[0])
with vidsim.Index(f"{T}/idx_inc", create=True) as i2:
    i2.add([f"{T}/in/a.mp4"], background=False)
    print("DEFMODEL", i2.info()["model_id"])
c = vidsim.compare(f"{T}/in/a.mp4", f"{T}/q/a_copy.mkv")
print("CMP", json.dumps([c["score"], c["a_to_b"], c["b_to_a"], len(c["segments"])]))
print("VER", vidsim.version())
PY
rc=$?
[ $rc = 0 ] && ok || bad "python exit $rc: $(cat "$TMP/py.err")"
grep -q "^ADD 4 1 \['added', 'added', 'added', 'added', 'failed'\]$" "$TMP/py.txt" && ok || bad "add: $(grep ADD "$TMP/py.txt")"
grep -q "^NOISE True$" "$TMP/py.txt" && ok || bad "the failed video is not named"
grep -q "^INFO 4 1 \['a', 'b', 'c', 'd'\]$" "$TMP/py.txt" && ok || bad "info: $(grep INFO "$TMP/py.txt")"
grep -q "^SEGS True$" "$TMP/py.txt" && ok || bad "no segments"
grep -q "^ERR True$" "$TMP/py.txt" && ok || bad "error: $(grep ERR "$TMP/py.txt")"
grep -q "^CONFLICT True$" "$TMP/py.txt" && ok || bad "conflicting precision: $(grep CONFLICT "$TMP/py.txt")"
grep -q "^FOLLOW 1 0 mobilenet_v2$" "$TMP/py.txt" && ok || bad "add without backbone: $(grep FOLLOW "$TMP/py.txt")"
"$BIN" index add --index "$TMP/idx_cli" --no-background "$TMP/in/a.mp4" > /dev/null 2>&1
cli_model=$("$BIN" index info --index "$TMP/idx_cli" | sed -n 's/^model_id: //p')
case "$cli_model" in inception_v3*) ok ;; *) bad "cli default model: '$cli_model'" ;; esac
grep -q "^DEFMODEL $cli_model$" "$TMP/py.txt" && ok || bad "python's default model is not the CLI's $cli_model: $(grep DEFMODEL "$TMP/py.txt")"
grep -q "^VER $("$BIN" version | awk '{print $2}')$" "$TMP/py.txt" && ok || bad "version: $(grep VER "$TMP/py.txt")"

# the same numbers as the CLI
"$BIN" search --index "$TMP/idx" --top 0 "$TMP/q/a_copy.mkv" > "$TMP/cli.csv" 2>/dev/null && ok || bad "cli search"
"$BIN" search --index "$TMP/idx" --top 0 --norm off b > "$TMP/cli_raw.csv" 2>/dev/null && ok || bad "cli search raw"
"$PY" - "$TMP/py.txt" "$TMP/cli.csv" "$TMP/cli_raw.csv" <<'PY' && ok || bad "python and CLI scores differ"
import csv, json, sys
lines = dict(l.split(" ", 1) for l in open(sys.argv[1]).read().splitlines())
for key, path in (("SEARCH", sys.argv[2]), ("RAW", sys.argv[3])):
    py = json.loads(lines[key])
    cli = [[r["ref_id"], float(r["score"])] for r in csv.DictReader(open(path))]
    assert [p[0] for p in py] == [c[0] for c in cli], (key, py, cli)
    assert all(abs(p[1] - c[1]) <= 1e-6 for p, c in zip(py, cli)), (key, py, cli)
PY
# compare: inception features of the two videos, raw score = `vidsim compare`'s
"$BIN" compare "$TMP/in/a.mp4" "$TMP/q/a_copy.mkv" > "$TMP/cmp.txt" 2>&1 && ok || bad "cli compare: $(cat "$TMP/cmp.txt")"
"$PY" - "$TMP/py.txt" "$TMP/cmp.txt" <<'PY' && ok || bad "compare differs: $(grep CMP "$TMP/py.txt") vs $(head -5 "$TMP/cmp.txt")"
import json, re, sys
lines = dict(l.split(" ", 1) for l in open(sys.argv[1]).read().splitlines())
score, ab, ba, nseg = json.loads(lines["CMP"])
text = open(sys.argv[2]).read()
# first line: "SCORE\t(A->B x, B->A y; ...)"
m = re.match(r"(-?[0-9.]+)\s+\(A->B (-?[0-9.]+), B->A (-?[0-9.]+);", text)
assert m, text
for got, want in zip((score, ab, ba), m.groups()):
    assert abs(float(want) - got) <= 1e-5, (want, got)
assert 0.5 < score <= 1.0 and nseg >= 1
PY
# a feature file as an array
"$BIN" extract --backbone mobilenet --raw "$TMP/in/a.mp4" -o "$TMP/f" 2>/dev/null
"$PY" - "$TMP/f/a.mp4.vsf" <<'PY' && ok || bad "load_features"
import sys, vidsim
f = vidsim.load_features(sys.argv[1])
assert f["T"] == 5 and f["R"] == 9 and f["D"] > 0, f
try:
    import numpy
    assert f["data"].shape == (5, 9, f["D"]) and str(f["data"].dtype) == "float32"
except ImportError:
    assert len(f["data"]) == 5 and len(f["data"][0]) == 9
PY
echo "$pass passed, $fail failed"
[ $fail = 0 ]
