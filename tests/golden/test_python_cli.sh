#!/usr/bin/env bash
# test_python_cli.sh - the ctypes binding bindings/python/vidsim.py over libvidsim.so,
# with Debian's python3: an index built from Python (add reports every outcome, a
# non-video fails by name), the catalogue, a search whose hits and scores equal
# `vidsim search` to 1e-6 (normalised, and --norm off), segments, compare() equal to
# the pair's raw score, a feature file read as an array, and errors raised as
# VidsimError naming the file; add() follows the index's model (a precision other than
# the index's is refused naming the index), and a new index gets the CLI's default
# model (int8 inception on a VNNI/AMX CPU). Every search option of the CLI through
# search(): inset_view, mirror_view, sim_precision, symmetric, first_stage (gvec, with
# gvec_segments and two_stage_k), mode two_stage / hash_only with hash_model, a named
# threshold and store_gvec each give `vidsim search`'s rows with the same options (the
# view options off and on give different rows for a picture-in-picture and a mirrored
# copy); bad values raise VidsimError naming the option, an unknown option TypeError.
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
# seeded sources: the same clips every run
ff -f lavfi -i life=size=320x240:rate=25:seed=11 -t 5 -pix_fmt yuv420p "$TMP/in/c.mp4"
ff -f lavfi -i "gradients=s=320x240:r=25:speed=0.05:seed=1:c0=0x3050a0:c1=0xe0c040:nb_colors=2" -t 5 -pix_fmt yuv420p "$TMP/in/d.mp4"
head -c 3000 /dev/urandom > "$TMP/in/noise.mp4"
ff -i "$TMP/in/a.mp4" -vf "crop=280:200,eq=brightness=0.1" -c:v libx264 -crf 35 "$TMP/q/a_copy.mkv"
ff -i "$TMP/in/a.mp4" -vf "hflip" -c:v libx264 -crf 30 "$TMP/q/a_flip.mp4"
# b at 0.4 of the height, with a thin white frame, inside a host that is not indexed
ff -f lavfi -i "cellauto=size=640x360:rate=25:rule=110:seed=7" -i "$TMP/in/b.mp4" -filter_complex \
  "[1]scale=186:140,pad=192:146:3:3:white[i];[0][i]overlay=x=380:y=150:shortest=1" -t 5 -pix_fmt yuv420p \
  "$TMP/q/b_inset.mp4"

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

# ---- every search option of the CLI: search(**options) gives `vidsim search OPTIONS`'s rows
# (name | search() options as JSON | the CLI's options | query)
cat > "$TMP/cases.txt" <<EOF
inset_off|{"inset_view": false}|--inset-view off|$TMP/q/b_inset.mp4
inset_on|{"inset_view": "on"}|--inset-view on|$TMP/q/b_inset.mp4
mirror_off|{"mirror_view": "off"}|--mirror-view off|$TMP/q/a_flip.mp4
mirror_on|{"mirror_view": true}|--mirror-view on|$TMP/q/a_flip.mp4
sim_fp32|{"sim_precision": "fp32"}|--sim-precision fp32|$TMP/q/a_copy.mkv
sim_bf16|{"sim_precision": "bf16"}|--sim-precision bf16|$TMP/q/a_copy.mkv
q2r|{"symmetric": false}|--direction q2r|$TMP/q/a_copy.mkv
p90|{"threshold": "p90"}|--threshold p90|$TMP/q/a_copy.mkv
gvec|{"first_stage": "gvec", "gvec_segments": 2, "two_stage_k": 2}|--first-stage gvec --gvec-segments 2 --top-k 2|$TMP/q/a_copy.mkv
two_stage|{"mode": "two_stage", "hash_model": "lsh64", "two_stage_k": 3}|--two-stage --hash-model lsh64 --top-k 3|$TMP/q/a_copy.mkv
hash_only|{"mode": "hash_only", "hash_model": "lsh128"}|--hash-only --hash-model lsh128|$TMP/q/a_copy.mkv
store_gvec|{"first_stage": "gvec", "store_gvec": true}|--first-stage gvec|$TMP/q/a_copy.mkv
EOF
"$PY" - "$TMP" "$TMP/cases.txt" > "$TMP/opt.txt" 2> "$TMP/opt.err" <<'PY'
import json, sys
import vidsim
T, cases = sys.argv[1], sys.argv[2]
with vidsim.Index(f"{T}/idx") as idx:
    for line in open(cases).read().splitlines():
        name, kw, _, q = line.split("|")
        try:
            r = idx.search(q, top=0, **json.loads(kw))
            print("CASE", name, json.dumps([[h["ref_id"], h["score"]] for h in r["hits"]]))
        except vidsim.VidsimError as e:
            print("CASE", name, "error", str(e).replace("\n", " "))
    # bad values: VidsimError naming the option (the CLI exits 2 naming it); an unknown
    # option: TypeError
    bad = [("mirror_view", {"mirror_view": "maybe"}), ("inset_view", {"inset_view": 2}),
           ("sim_precision", {"sim_precision": "int8"}), ("first_stage", {"first_stage": "ivf"}),
           ("gvec_segments", {"first_stage": "gvec", "gvec_segments": 65}), ("gvec_segments", {"gvec_segments": 2}),
           ("two_stage_k", {"mode": "two_stage", "two_stage_k": 0}), ("store_gvec", {"store_gvec": True}),
           ("mode", {"mode": "fast"}), ("hash_model", {"mode": "two_stage", "hash_model": "lsh7"})]
    for opt, kw in bad:
        try:
            idx.search("b", **kw)
            print("BAD", opt, "no error")
        except vidsim.VidsimError as e:
            named = opt in str(e) if opt != "hash_model" else "lsh7" in str(e)
            print("BAD", opt, named, str(e).replace("\n", " "))
    try:
        idx.search("b", inset_veiw=False)
        print("UNKNOWN no error")
    except TypeError as e:
        print("UNKNOWN", "inset_veiw" in str(e))
PY
rc=$?
[ $rc = 0 ] && ok || bad "python options exit $rc: $(cat "$TMP/opt.err")"
while IFS='|' read -r name kw cli q; do
  # shellcheck disable=SC2086
  rm -f "$TMP/cli_$name.refused"
  "$BIN" search --index "$TMP/idx" --top 0 $cli "$q" > "$TMP/cli_$name.csv" 2> "$TMP/cli_$name.err" ||
    if [ "$name" = sim_bf16 ] && grep -q "which this one lacks" "$TMP/cli_$name.err"; then
      touch "$TMP/cli_$name.refused"  # a CPU without bf16 products: refused by name (Python must say the same)
    else bad "cli search $cli: $(cat "$TMP/cli_$name.err")"; fi
done < "$TMP/cases.txt"
"$PY" - "$TMP/opt.txt" "$TMP" "$TMP/cases.txt" <<'PY' && ok || bad "python search options differ from the CLI's"
import csv, json, os, sys
got = {}
for l in open(sys.argv[1]).read().splitlines():
    if l.startswith("CASE "):
        _, name, rest = l.split(" ", 2)
        got[name] = rest
bad = 0
for line in open(sys.argv[3]).read().splitlines():
    name, kw, cli, _ = line.split("|")
    if os.path.exists(f"{sys.argv[2]}/cli_{name}.refused"):  # the CLI refused it: Python refuses it too
        if not got.get(name, "").startswith("error") or "which this one lacks" not in got[name]:
            print(f"FAIL: search({kw}) is refused by the CLI, not by Python: {got.get(name)}", file=sys.stderr)
            bad += 1
        continue
    want = [[r["ref_id"], float(r["score"])] for r in csv.DictReader(open(f"{sys.argv[2]}/cli_{name}.csv"))]
    if name not in got or got[name].startswith("error"):
        print(f"FAIL: search({kw}): {got.get(name)}", file=sys.stderr)
        bad += 1
        continue
    py = json.loads(got[name])
    if [p[0] for p in py] != [w[0] for w in want] or any(abs(p[1] - w[1]) > 1e-6 for p, w in zip(py, want)):
        print(f"FAIL: search({kw}) {py} != vidsim search {cli} {want}", file=sys.stderr)
        bad += 1
# the options change the result where they should
g = {k: json.loads(v) for k, v in got.items() if not v.startswith("error")}
def score(case, ref):
    return dict((r, s) for r, s in g[case]).get(ref, -1e9)
def hits(case):
    return g.get(case, [])
checks = [("inset view on scores b higher", score("inset_on", "b") > score("inset_off", "b") + 0.05),
          ("inset view on ranks b first",
           [r for r, _ in hits("inset_on")].index("b") == 0 < [r for r, _ in hits("inset_off")].index("b")),
          ("mirror view on scores a higher", score("mirror_on", "a") > score("mirror_off", "a") + 0.05),
          ("q2r differs from sym", hits("q2r") and hits("q2r") != hits("sim_fp32") and hits("q2r") != hits("sim_bf16")),
          ("gvec top_k 2: two hits", len(hits("gvec")) == 2),
          ("two_stage top_k 3: three hits", len(hits("two_stage")) == 3),
          ("hash_only: every video, scores 1 - d/128",
           len(hits("hash_only")) == 4 and all(abs(s * 128 - round(s * 128)) < 1e-3 for _, s in hits("hash_only"))),
          ("p90 keeps fewer rows", len(hits("p90")) < 4)]
for what, good in checks:
    if not good:
        print(f"FAIL: {what}: {g}", file=sys.stderr)
        bad += 1
sys.exit(1 if bad else 0)
PY
for opt in mirror_view inset_view sim_precision first_stage two_stage_k store_gvec mode hash_model; do
  grep -q "^BAD $opt True " "$TMP/opt.txt" && ok || bad "bad $opt: $(grep "^BAD $opt " "$TMP/opt.txt")"
done
[ "$(grep -c "^BAD gvec_segments True " "$TMP/opt.txt")" = 2 ] && ok || bad "bad gvec_segments: $(grep "^BAD gvec_segments" "$TMP/opt.txt")"
grep -q "^UNKNOWN True$" "$TMP/opt.txt" && ok || bad "unknown option: $(grep UNKNOWN "$TMP/opt.txt")"
# store_gvec stored the global vectors, as --store-gvec does
"$BIN" index info --index "$TMP/idx" 2>/dev/null | grep -q "^extras: .*gvec" && ok ||
  bad "store_gvec: no gvec extras: $("$BIN" index info --index "$TMP/idx" 2>&1)"
"$BIN" index verify --index "$TMP/idx" > /dev/null 2>&1 && ok || bad "the index does not verify after the searches"

echo "$pass passed, $fail failed"
[ $fail = 0 ]
