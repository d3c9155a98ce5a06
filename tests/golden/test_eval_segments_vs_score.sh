#!/bin/bash
# test_eval_segments_vs_score.sh - `vidsim eval --segments` must agree with the benchmark's
# segment scorer, shared/bench/score_segments.py: segmentAP and pair_uAP overall
# and per edit to 0.05 percent points (in practice ~1e-12: only the summation order
# differs), gt_pairs exactly, the same subsets in the same order, in both --format
# json and csv, and the text table byte for byte on a few cases. The inputs are
# made here by a seeded generator from a synthetic gt.csv + queries.json (no
# video, a few seconds in all): jittered, partial, stretched and split boxes,
# boxes in wrong pairs and for negative queries, boxes touching no gt, zero-length
# boxes, duplicate rows, rounded scores with many ties, several segments per pair,
# reordered / extra / quoted / CRLF columns, an edit named "all", edits with no gt.
# Malformed prediction files must fail with a message naming file and line.
# Exit 77 (skip) when score_segments.py or python3 is absent.
set -u
SHARED=${VS_SHARED:-../shared}
BIN=${VS_BIN:-build/vidsim}
SCORE=$SHARED/bench/score_segments.py
[ -f "$SCORE" ] || { echo "SKIP: $SCORE not found"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not found"; exit 77; }
[ -x "$BIN" ] || { echo "FAIL: $BIN not built"; exit 1; }
TMP=$(mktemp -d "${VS_TMP:-/tmp}/eval_segments.XXXXXX" 2>/dev/null || mktemp -d)
trap 'rm -rf "$TMP"' EXIT

python3 - "$SCORE" "$BIN" "$TMP" <<'PY'
import csv, json, os, random, subprocess, sys

score, vbin, tmp = sys.argv[1:4]
TOL = 0.05
fails = n_cases = n_figs = 0
max_diff = {"segmentAP": 0.0, "pair_uAP": 0.0}
COLS = ["query_id", "ref_id", "query_start", "query_end", "ref_start", "ref_end"]
EDITS = ["crop", "hflip", "blur", "text", "partial", "speed", "low_quality", "embedded"]


def fail(msg):
    global fails
    print("FAIL " + msg)
    fails += 1


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    # in a sanitizer build, error paths must not leak or misbehave either
    if any(w in r.stderr for w in ("AddressSanitizer", "LeakSanitizer", "runtime error:")):
        fail("%s: sanitizer report\n%s" % (" ".join(cmd[-6:]), r.stderr[-2000:]))
    return r


def write_csv(path, header, rows, crlf=False, quote_all=False):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n" if crlf else "\n",
                       quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
        w.writerow(header)
        w.writerows(rows)


def check_figures(name, fmt, want, got):
    global n_figs
    if list(want) != list(got):
        fail("%s %s: subsets %s != %s" % (name, fmt, list(want), list(got)))
        return
    for sub in want:
        for k in ("segmentAP", "pair_uAP"):
            n_figs += 1
            d = abs(float(want[sub][k]) - float(got[sub][k]))
            max_diff[k] = max(max_diff[k], d)
            if not d <= TOL:
                fail("%s %s [%s] %s: score_segments.py %r, vidsim %r" % (
                    name, fmt, sub, k, want[sub][k], got[sub][k]))
        if int(want[sub]["gt_pairs"]) != int(got[sub]["gt_pairs"]):
            fail("%s %s [%s] gt_pairs: score_segments.py %r, vidsim %r" % (
                name, fmt, sub, want[sub]["gt_pairs"], got[sub]["gt_pairs"]))


def compare(name, gt, pred, queries=None, text=False):
    global n_cases
    n_cases += 1
    extra = ["--queries", queries] if queries else []
    py = run(["python3", score, gt, pred, "--json"] + extra)
    vs = run([vbin, "eval", "--segments", "--gt", gt, "--pred", pred, "--format", "json"] + extra)
    if py.returncode != 0 or vs.returncode != 0:
        fail("%s: exit codes score_segments.py %d, vidsim %d\n%s%s" % (
            name, py.returncode, vs.returncode, py.stderr[-500:], vs.stderr[-500:]))
        return
    want = json.loads(py.stdout)
    check_figures(name, "json", want, json.loads(vs.stdout))
    vsc = run([vbin, "eval", "--segments", "--gt", gt, "--pred", pred, "--format", "csv"] + extra)
    lines = vsc.stdout.splitlines()
    if vsc.returncode != 0 or not lines or lines[0] != "subset,segmentAP,pair_uAP,gt_pairs":
        fail("%s csv: exit %d, header %r" % (name, vsc.returncode, lines[:1]))
    else:
        check_figures(name, "csv", want, {r["subset"]: r for r in csv.DictReader(lines)})
    if text:
        pyt = run(["python3", score, gt, pred] + extra)
        vst = run([vbin, "eval", "--segments", "--gt", gt, "--pred", pred] + extra)
        if pyt.stdout != vst.stdout:
            fail("%s: text tables differ\n--- score_segments.py\n%s--- vidsim\n%s" % (
                name, pyt.stdout, vst.stdout))


def rbox(rng, qlen=60.0, rlen=90.0):
    a = rng.uniform(0, qlen - 3); b = rng.uniform(0, rlen - 3)
    L = rng.uniform(1, min(20, qlen - a, rlen - b))
    return [round(a, 3), round(a + L, 3), round(b, 3), round(b + L * rng.uniform(0.5, 2.0), 3)]


def make_gt(rng, nq, nref, neg_frac, seg_max):
    refs = ["R%03d" % i for i in range(nref)]
    metas, gt = [], []
    for i in range(nq):
        qid = "Q%04d" % i
        ed = rng.sample(EDITS, rng.randint(0, 3))
        if rng.random() < neg_frac:
            metas.append({"query_id": qid, "source": "x", "edits": ed, "ref_id": None})
            continue
        r = rng.choice(refs)
        metas.append({"query_id": qid, "source": "x", "edits": ed, "ref_id": r})
        for _ in range(rng.randint(1, seg_max)):
            gt.append([qid, r] + rbox(rng))
        if rng.random() < 0.15:  # a second copied ref
            gt.append([qid, rng.choice(refs)] + rbox(rng))
    return refs, metas, gt


def jitter(rng, b, amt):
    q0 = b[0] + rng.uniform(-amt, amt); q1 = b[1] + rng.uniform(-amt, amt)
    r0 = b[2] + rng.uniform(-amt, amt); r1 = b[3] + rng.uniform(-amt, amt)
    return [min(q0, q1), max(q0, q1), min(r0, r1), max(r0, r1)]


def predictions(rng, refs, metas, gt, tie_round, dup, quality):
    pred = []
    def add(q, r, b, s):
        if tie_round is not None:
            s = round(s, tie_round)
        pred.append([q, r] + [round(x, 3) for x in b] + [s])
    for q, r, *b in gt:
        good = rng.random() < quality
        base = 0.5 + 0.5 * rng.random() if good else rng.random()
        kind = rng.random()
        if kind < 0.3:    # jittered box
            add(q, r, jitter(rng, b, 1.5), base)
        elif kind < 0.5:  # partial: a piece inside the gt box
            f0, f1 = sorted((rng.random(), rng.random()))
            add(q, r, [b[0] + f0 * (b[1] - b[0]), b[0] + f1 * (b[1] - b[0]),
                       b[2] + f0 * (b[3] - b[2]), b[2] + f1 * (b[3] - b[2])], base)
        elif kind < 0.65:  # stretched around the gt box
            add(q, r, [b[0] - rng.uniform(0, 5), b[1] + rng.uniform(0, 5),
                       max(0, b[2] - rng.uniform(0, 5)), b[3] + rng.uniform(0, 5)], base)
        elif kind < 0.85:  # split into several overlapping pieces with their own scores
            n = rng.randint(2, 4)
            for k in range(n):
                lo, hi = k / n - 0.1, (k + 1) / n + 0.1
                lo, hi = max(lo, 0), min(hi, 1)
                add(q, r, [b[0] + lo * (b[1] - b[0]), b[0] + hi * (b[1] - b[0]),
                           b[2] + lo * (b[3] - b[2]), b[2] + hi * (b[3] - b[2])],
                    base * rng.uniform(0.8, 1.0))
        # else: missed
        if rng.random() < 0.2:  # same pair, a box touching nothing copied
            add(q, r, rbox(rng), rng.random() * 0.6)
        if rng.random() < 0.2:  # wrong pair: right query, wrong ref
            add(q, rng.choice(refs), jitter(rng, b, 1.0), rng.random())
        if rng.random() < 0.05:  # zero-length on one axis
            add(q, r, [b[0], b[0], b[2], b[3]], rng.random())
    for m in metas:
        if m["ref_id"] is None and rng.random() < 0.7:  # false alarms of negative queries
            for _ in range(rng.randint(1, 3)):
                add(m["query_id"], rng.choice(refs), rbox(rng), rng.random() * 0.8)
    for _ in range(int(dup * len(pred))):  # repeated rows, same or other score
        row = list(rng.choice(pred))
        if rng.random() < 0.5:
            row[6] = round(rng.random(), tie_round) if tie_round is not None else rng.random()
        pred.append(row)
    for _ in range(3):  # unknown ids
        add("QX%02d" % rng.randint(0, 9), "RX%02d" % rng.randint(0, 9), rbox(rng), rng.random())
    rng.shuffle(pred)
    return pred


def write_case(name, metas, gt, pred, header=None, **kw):
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    g, p, q = (os.path.join(d, x) for x in ("gt.csv", "pred.csv", "queries.json"))
    write_csv(g, COLS, gt)
    full = COLS + ["score"]
    header = header or full
    rows = [[row[full.index(h)] if h in full else "x" for h in header] for row in pred]
    write_csv(p, header, rows, **kw)
    with open(q, "w") as f:
        json.dump(metas, f, indent=1)
    return g, p, q


def scenario(name, seed, nq=40, nref=25, neg_frac=0.3, seg_max=3, tie_round=None, dup=0.0,
             quality=0.7, text=False, no_queries=False, **kw):
    rng = random.Random(seed)
    refs, metas, gt = make_gt(rng, nq, nref, neg_frac, seg_max)
    pred = predictions(rng, refs, metas, gt, tie_round, dup, quality)
    g, p, q = write_case(name, metas, gt, pred, **kw)
    compare(name, g, p, q, text)
    if no_queries:  # "all" is the same either way: run this path on a few cases only
        compare(name + "/no-queries", g, p, None)


scenario("random", 1, text=True, no_queries=True)
scenario("good", 2, quality=1.0)
scenario("poor", 3, quality=0.0)
scenario("ties-1dp", 4, tie_round=1, text=True, no_queries=True)
scenario("ties-0dp", 5, tie_round=0)
scenario("duplicates", 6, dup=0.3, tie_round=2)
scenario("one-segment", 7, seg_max=1)
scenario("many-segments", 8, seg_max=8)
scenario("no-negatives", 9, neg_frac=0.0)
scenario("mostly-negative", 10, neg_frac=0.85)
scenario("crlf-quoted", 11, crlf=True, quote_all=True)
scenario("reordered-cols", 12, header=["score", "extra", "ref_end", "ref_id", "query_end",
                                       "query_start", "query_id", "ref_start"])
scenario("large", 13, nq=150, nref=80, seg_max=4, tie_round=2)

# Hand-made awkward cases: an edit named "all", an edit carried by negative
# queries only (no gt: left out), entries without edits, a gt box of zero length,
# blank lines, Python float spellings.
d = os.path.join(tmp, "awkward")
os.makedirs(d, exist_ok=True)
gt = os.path.join(d, "gt.csv")
with open(gt, "w", newline="") as f:
    f.write("ref_id,query_id,query_start,query_end,ref_start,ref_end,note\n"
            "R1,Q1,0,10,5,15,a\n"
            "R1,Q1,8,20,13,25,b\n"
            "R2,Q2,0,5,0,5,\n"
            "\n"
            "R3,Q3,2,2,4,9,zero\n"
            "R1,Q4,1,4,1,4,\n")
pred = os.path.join(d, "pred.csv")
with open(pred, "w", newline="") as f:
    f.write("query_id,ref_id,query_start,query_end,ref_start,ref_end,score\n"
            "Q1,R1,0,10,5,15, 0.9 \n"
            "Q1,R1,9,30,14,35,0.9\n"
            "Q1,R2,0,10,5,15,1_0\n"
            "QN,R1,0,10,0,10,.95\n"
            "Q2,R2,1,3,1,3,5.\n"
            "Q3,R3,2,3,4,9,1e-1\n"
            "Q4,R1,0,1,0,1,-0.0\n"
            "Q4,R1,5,6,5,6,0.0\n"
            "Q1,R1,40,50,40,50,0.9\n")
q = os.path.join(d, "queries.json")
json.dump([{"query_id": "Q1", "ref_id": "R1", "edits": ["crop", "crop", "all"]},
           {"query_id": "Q2", "ref_id": "R2", "edits": []},
           {"query_id": "Q3", "ref_id": "R3", "edits": ["blur"]},
           {"query_id": "Q4", "ref_id": "R1"},
           {"query_id": "QN", "ref_id": None, "edits": ["crop", "onlyneg"]},
           {"ref_id": None, "edits": []}], open(q, "w"))
compare("awkward", gt, pred, q, True)
compare("awkward/no-queries", gt, pred, None, True)
emp = os.path.join(d, "empty_pred.csv")
open(emp, "w").write(",".join(COLS + ["score"]) + "\n")
compare("awkward/empty-pred", gt, emp, q, True)
empg = os.path.join(d, "empty_gt.csv")
open(empg, "w").write(",".join(COLS) + "\n")
compare("awkward/empty-gt", empg, pred, q, True)

# Malformed prediction files: both tools fail; vidsim names the file and line.
H = ",".join(COLS + ["score"]) + "\n"
bad = [
    ("missing-col", "query_id,ref_id,query_start,query_end,ref_start,score\nQ1,R1,0,1,0,0.5\n", "pred.csv:1"),
    ("text", H + "Q1,R1,0,10,5,15,0.9\nQ1,R1,0,ten,5,15,0.9\n", "pred.csv:3"),
    ("text-score", H + "Q1,R1,0,10,5,15,high\n", "pred.csv:2"),
    ("end-before-start", H + "Q1,R1,0,10,5,15,0.9\nQ1,R1,0,10,5,15,0.8\nQ1,R1,0,10,15,5,0.9\n", "pred.csv:4"),
    ("nan", H + "Q1,R1,0,10,5,15,nan\n", "pred.csv:2"),
    ("inf", H + "Q1,R1,0,inf,5,15,0.5\n", "pred.csv:2"),
    ("empty-file", "", "pred.csv:1"),
    ("short-row", H + "Q1,R1,0,10,5,15,0.9\nQ1,R1,0,10\n", "pred.csv:3"),
]
for name, body, where in bad:
    p = os.path.join(d, "bad_" + name)
    os.makedirs(p, exist_ok=True)
    p = os.path.join(p, "pred.csv")
    open(p, "w").write(body)
    py = run(["python3", score, gt, p])
    vs = run([vbin, "eval", "--segments", "--gt", gt, "--pred", p])
    n_cases += 1
    if py.returncode == 0 or vs.returncode == 0 or where not in vs.stderr:
        fail("bad/%s: score_segments.py exit %d, vidsim exit %d, stderr %r (want %r)" % (
            name, py.returncode, vs.returncode, vs.stderr.strip(), where))
badg = os.path.join(d, "bad_gt.csv")
open(badg, "w").write(",".join(COLS) + "\nQ1,R1,0,10,5,15\nQ1,R1,3,1,5,15\n")
vs = run([vbin, "eval", "--segments", "--gt", badg, "--pred", pred])
n_cases += 1
if vs.returncode == 0 or "bad_gt.csv:3" not in vs.stderr:
    fail("bad/gt: exit %d, stderr %r" % (vs.returncode, vs.stderr))
badq = os.path.join(d, "bad_queries.json")
open(badq, "w").write('[{"query_id": "Q1", "edits": ["a"]},\n {"query_id": "Q2", "edits": "a"}]')
vs = run([vbin, "eval", "--segments", "--gt", gt, "--pred", pred, "--queries", badq])
n_cases += 1
if vs.returncode == 0 or "bad_queries.json:2" not in vs.stderr:
    fail("bad/queries: exit %d, stderr %r" % (vs.returncode, vs.stderr))

print("%d cases, %d figures compared with score_segments.py, max |diff| segmentAP %.3g, "
      "pair_uAP %.3g (tolerance %g), %d failures" % (
          n_cases, n_figs, max_diff["segmentAP"], max_diff["pair_uAP"], TOL, fails))
sys.exit(1 if fails else 0)
PY
