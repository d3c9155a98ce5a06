#!/bin/bash
# test_eval_vs_score.sh - `vidsim eval` must agree with the benchmark's own scorer,
# shared/bench/score.py, on every figure (uAP, mAP, R@1 overall and per edit, to
# 1e-6; query counts exactly; the text table byte for byte). The inputs are made
# here at test time by a seeded generator: perfect, random and reversed rankings,
# heavy ties, missing pairs, negative queries, duplicate rows, unknown ids, empty
# edit lists, an edit named "all", quoted / CRLF / reordered CSV, Python float
# spellings. Malformed inputs must fail with a message naming file and line.
# Exit 77 (skip) when score.py or python3 is absent.
set -u
SHARED=${VS_SHARED:-../shared}
BIN=${VS_BIN:-build/vidsim}
SCORE=$SHARED/bench/score.py
[ -f "$SCORE" ] || { echo "SKIP: $SCORE not found"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not found"; exit 77; }
[ -x "$BIN" ] || { echo "FAIL: $BIN not built"; exit 1; }
TMP=$(mktemp -d "${VS_TMP:-/tmp}/eval_vs_score.XXXXXX" 2>/dev/null || mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# score.py averages per-query APs over a set: fix the hash seed so its summation
# order (and so the last bits of mAP) is the same on every run.
export PYTHONHASHSEED=0

python3 - "$SCORE" "$BIN" "$TMP" <<'PY'
import csv, json, math, os, random, subprocess, sys

score, vbin, tmp = sys.argv[1:4]
fails = 0
n_cases = 0
n_figs = 0


def write_csv(path, header, rows, crlf=False, quote_all=False):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n" if crlf else "\n",
                       quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
        w.writerow(header)
        w.writerows(rows)


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def same(a, b):
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    if b is None or (isinstance(b, float) and math.isnan(b)):
        return False
    return abs(a - b) <= 1e-6


def compare(name, gt, pred, queries=None, formats=False):
    global fails, n_cases, n_figs
    n_cases += 1
    extra = ["--queries", queries] if queries else []
    py = run(["python3", score, gt, pred, "--json"] + extra)
    vs = run([vbin, "eval", "--gt", gt, "--pred", pred, "--format", "json"] + extra)
    if py.returncode != 0 or vs.returncode != 0:
        print("FAIL %s: exit codes score.py %d, vidsim %d\n%s%s" % (
            name, py.returncode, vs.returncode, py.stderr[-500:], vs.stderr[-500:]))
        fails += 1
        return
    want, got = json.loads(py.stdout), json.loads(vs.stdout)
    if list(want) != list(got):
        print("FAIL %s: subsets %s != %s" % (name, list(want), list(got)))
        fails += 1
        return
    for sub in want:
        for k in ("uAP", "mAP", "R@1"):
            n_figs += 1
            if not same(want[sub][k], got[sub][k]):
                print("FAIL %s [%s] %s: score.py %r, vidsim %r" % (name, sub, k, want[sub][k], got[sub][k]))
                fails += 1
        for k in ("queries", "positive_queries"):
            if want[sub][k] != got[sub][k]:
                print("FAIL %s [%s] %s: score.py %r, vidsim %r" % (name, sub, k, want[sub][k], got[sub][k]))
                fails += 1
    if not formats:  # each run costs a process start; the formats are checked on a few cases
        return
    # the default text output is score.py's table
    pyt = run(["python3", score, gt, pred] + extra)
    vst = run([vbin, "eval", "--gt", gt, "--pred", pred] + extra)
    if pyt.stdout != vst.stdout:
        print("FAIL %s: text tables differ\n--- score.py\n%s--- vidsim\n%s" % (name, pyt.stdout, vst.stdout))
        fails += 1
    # csv output carries the same numbers
    vsc = run([vbin, "eval", "--gt", gt, "--pred", pred, "--format", "csv"] + extra)
    rows = list(csv.DictReader(vsc.stdout.splitlines()))
    if [r["subset"] for r in rows] != list(want) or not all(
            same(want[r["subset"]]["uAP"], float(r["uAP"])) for r in rows):
        print("FAIL %s: csv output disagrees:\n%s" % (name, vsc.stdout))
        fails += 1


EDITS = ["crop", "hflip", "color", "blur", "text", "partial", "speed", "low_quality"]


def make_bench(rng, nq, nref, neg_frac, seg_max=2):
    """Queries with a source ref (or negative), gt rows (one per segment)."""
    refs = ["R%03d" % i for i in range(nref)]
    metas, gt = [], []
    for i in range(nq):
        qid = "Q%04d" % i
        if rng.random() < neg_frac:
            metas.append({"query_id": qid, "source": "x", "edits": rng.sample(EDITS, rng.randint(0, 2)),
                          "ref_id": None})
            continue
        r = rng.choice(refs)
        k = rng.randint(0, 3)
        metas.append({"query_id": qid, "source": "x", "edits": rng.sample(EDITS, k), "ref_id": r})
        for _ in range(rng.randint(1, seg_max)):
            gt.append((qid, r, 0, 1, 2, 3))
        if rng.random() < 0.1:  # a second copied ref
            gt.append((qid, rng.choice(refs), 0, 1, 2, 3))
    return refs, metas, gt


def write_case(name, metas, gt, pred, pred_header=("query_id", "ref_id", "score"), **kw):
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    g, p, q = (os.path.join(d, x) for x in ("gt.csv", "pred.csv", "queries.json"))
    write_csv(g, ["query_id", "ref_id", "query_start", "query_end", "ref_start", "ref_end"], gt)
    order = [("query_id", "ref_id", "score").index(h) if h in ("query_id", "ref_id", "score") else None
             for h in pred_header]
    rows = [[row[i] if i is not None else "x" for i in order] for row in pred]
    write_csv(p, list(pred_header), rows, **kw)
    with open(q, "w") as f:
        json.dump(metas, f, indent=1)
    return g, p, q


def scenario(name, seed, nq=60, nref=40, neg_frac=0.3, kind="random", cover=1.0, tie_round=None,
             dup=0.0, unknown=0.0, formats=False, **kw):
    rng = random.Random(seed)
    refs, metas, gt = make_bench(rng, nq, nref, neg_frac)
    pos = {(a, b) for a, b, *_ in gt}
    pred = []
    for m in metas:
        for r in refs:
            if rng.random() > cover:
                continue
            p = (m["query_id"], r) in pos
            if kind == "perfect":
                s = 0.9 + 0.1 * rng.random() if p else 0.5 * rng.random()
            elif kind == "reversed":
                s = 0.1 * rng.random() if p else 0.5 + 0.5 * rng.random()
            elif kind == "good":
                s = rng.gauss(1.0 if p else 0.0, 0.7)
            elif kind == "constant":
                s = 0.5
            else:
                s = rng.random()
            if tie_round is not None:
                s = round(s, tie_round)
            pred.append([m["query_id"], r, s])
            if rng.random() < dup:  # a duplicate row, lower or higher
                pred.append([m["query_id"], r, s + rng.choice([-0.3, 0.3])])
    for _ in range(int(unknown * len(pred))):
        pred.append(["QX%03d" % rng.randint(0, 20), "RX%03d" % rng.randint(0, 20), rng.random()])
        pred.append([rng.choice(metas)["query_id"], "RX%03d" % rng.randint(0, 20), rng.random()])
    rng.shuffle(pred)
    g, p, q = write_case(name, metas, gt, pred, **kw)
    compare(name, g, p, q, formats)
    compare(name + "/no-queries", g, p, None, formats)


scenario("perfect", 1, kind="perfect")
scenario("random", 2)
scenario("reversed", 3, kind="reversed")
scenario("good", 4, kind="good")
scenario("ties-1dp", 5, kind="good", tie_round=1, formats=True)
scenario("ties-0dp", 6, kind="random", tie_round=0)
scenario("all-tied", 7, kind="constant")
scenario("missing-pairs", 8, kind="good", cover=0.2)
scenario("very-sparse", 9, kind="good", cover=0.02)
scenario("duplicates", 10, kind="good", dup=0.3, tie_round=2)
scenario("unknown-ids", 11, kind="good", unknown=0.2)
scenario("no-negatives", 12, neg_frac=0.0, kind="good")
scenario("mostly-negative", 13, neg_frac=0.9, kind="good")
scenario("crlf-quoted", 14, kind="good", crlf=True, quote_all=True)
scenario("reordered-cols", 15, kind="good", pred_header=("score", "extra", "ref_id", "query_id"))
scenario("large", 16, nq=300, nref=200, kind="good", cover=0.5, tie_round=3, formats=True)

# Hand-made awkward cases.
d = os.path.join(tmp, "awkward")
os.makedirs(d, exist_ok=True)
gt = os.path.join(d, "gt.csv")
with open(gt, "w", newline="") as f:
    f.write('ref_id,query_id,extra\r\nR1,Q1,x\r\nR2,Q1,y\r\n"R1",Q2,\r\nR1,Q1,dup\r\n\r\nR3,"Q,3",z\r\nR9,Q9,\r\n')
pred = os.path.join(d, "pred.csv")
with open(pred, "w", newline="") as f:
    f.write('note,score,ref_id,query_id\n'
            'a, 0.9 ,R1,Q1\n'
            'b,1e-1,R2,Q1\n'
            '"c, quoted",inf,R5,Q1\n'
            'd,-inf,R1,Q2\n'
            'e,1_0,R3,"Q,3"\n'
            '\n'
            'f,.5,R4,"Q,3"\n'
            'g,5.,R1,Q2\n'
            'h,0.9,R1,Q1\n'
            'i,-0.0,R7,QNEG\n'
            'j,0.0,R1,QNEG\n'
            'k,+3E+2,R8,Q8\n'
            'l,"0.25",R2,Q2\n')
q = os.path.join(d, "queries.json")
json.dump([{"query_id": "Q1", "ref_id": "R1", "edits": ["crop", "crop", "blur"]},
           {"query_id": "Q2", "ref_id": "R1", "edits": []},
           {"query_id": "Q,3", "ref_id": "R3", "edits": ["all", "blur"]},
           {"query_id": "QNEG", "ref_id": ""},
           {"query_id": "Q9", "ref_id": None, "edits": ["crop"]},
           {"query_id": "Q1", "ref_id": "R1", "edits": ["zoom"]}], open(q, "w"))
compare("awkward", gt, pred, q, True)
compare("awkward/no-queries", gt, pred, None, True)
emp = os.path.join(d, "empty_pred.csv")
open(emp, "w").write("query_id,ref_id,score\n")
compare("awkward/empty-pred", gt, emp, q, True)
compare("awkward/empty-pred-no-queries", gt, emp)
empq = os.path.join(d, "empty_queries.json")
open(empq, "w").write("[]")
compare("awkward/empty-queries", gt, pred, empq)
empg = os.path.join(d, "empty_gt.csv")
open(empg, "w").write("")
compare("awkward/empty-gt", empg, pred)

# Malformed inputs: both tools fail; vidsim names the file and line.
bad = [
    ("nan", "query_id,ref_id,score\nQ1,R1,0.5\nQ1,R2,nan\n", "pred.csv:3"),
    ("text-score", "query_id,ref_id,score\nQ1,R1,0.5\nQ1,R2,high\n", "pred.csv:3"),
    ("missing-col", "query_id,ref,score\nQ1,R1,0.5\n", "pred.csv:1"),
    ("short-row", "query_id,ref_id,score\nQ1,R1,0.5\nQ1,R2\n", "pred.csv:3"),
    ("hex", "query_id,ref_id,score\nQ1,R1,0x10\n", "pred.csv:2"),
    ("empty-file", "", "pred.csv:1"),
]
for name, text, where in bad:
    p = os.path.join(d, "bad_%s" % name)
    os.makedirs(p, exist_ok=True)
    p = os.path.join(p, "pred.csv")
    open(p, "w").write(text)
    py = run(["python3", score, gt, p])
    vs = run([vbin, "eval", "--gt", gt, "--pred", p])
    n_cases += 1
    if py.returncode == 0 or vs.returncode == 0 or where not in vs.stderr:
        print("FAIL bad/%s: score.py exit %d, vidsim exit %d, stderr %r (want %r)" % (
            name, py.returncode, vs.returncode, vs.stderr.strip(), where))
        fails += 1
badq = os.path.join(d, "bad_queries.json")
open(badq, "w").write('[{"query_id": "Q1", "ref_id": "R1", "edits": ["a"]},\n {"query_id": "Q2", "ref_id": "R1"}]')
vs = run([vbin, "eval", "--gt", gt, "--pred", pred, "--queries", badq])
n_cases += 1
if vs.returncode == 0 or "bad_queries.json:2" not in vs.stderr:
    print("FAIL bad/queries: exit %d, stderr %r" % (vs.returncode, vs.stderr))
    fails += 1
badg = os.path.join(d, "bad_gt.csv")
open(badg, "w").write("query_id,ref_id\nQ1,R1\nQ2\n")
vs = run([vbin, "eval", "--gt", badg, "--pred", pred])
n_cases += 1
if vs.returncode == 0 or "bad_gt.csv:3" not in vs.stderr:
    print("FAIL bad/gt-short-row: exit %d, stderr %r" % (vs.returncode, vs.stderr))
    fails += 1

# A dataset pickle through reference/python/convert_annotations.py and --dataset:
# the VCDB toy of tests/unit/test_eval_datasets.c (answers worked out there).
import pickle
conv = os.path.join(os.environ.get("VS_SRC", "."), "reference/python/convert_annotations.py")
pk = os.path.join(d, "vcdb.pickle")
pickle.dump({"queries": ["v1", "v2", "v3"], "positives": {"v1": {"v2", "v3"}, "v2": {"v1"}, "v3": {"v1", "v3"}},
             "dataset": ["z1", "z2"]}, open(pk, "wb"))
js = os.path.join(d, "vcdb.json")
sims = os.path.join(d, "vcdb_sims.csv")
open(sims, "w").write("query_id,ref_id,score\nv1,v2,.9\nv1,z1,.95\nv1,v3,.3\nv1,v1,1.0\nv2,v1,.2\nv2,v3,.8\nv3,v1,.5\n")
n_cases += 1
cv = run(["python3", conv, "vcdb", pk, js])
vs = run([vbin, "eval", "--dataset", js, "--pred", sims, "--format", "json"])
try:
    got = json.loads(vs.stdout)
    ok = abs(got["VCDB_mAP"] - 2.0 / 3) < 1e-12 and abs(got["VCDB_uAP"] - (1 + 2 / 3 + 3 / 4 + 4 / 5) / 5) < 1e-12
except (ValueError, KeyError, TypeError):
    ok = False
if cv.returncode != 0 or not ok:
    print("FAIL convert_annotations + --dataset: %s %s %s" % (cv.stderr[-300:], vs.stdout, vs.stderr))
    fails += 1
evil = os.path.join(d, "evil.pickle")
pickle.dump({"queries": ["v1"], "positives": __import__("collections").OrderedDict()}, open(evil, "wb"))
n_cases += 1
if run(["python3", conv, "vcdb", evil, js]).returncode == 0:
    print("FAIL convert_annotations accepted a pickle with a non-builtin object")
    fails += 1

print("%d cases, %d figures compared with score.py, %d failures" % (n_cases, n_figs, fails))
sys.exit(1 if fails else 0)
PY
