#!/usr/bin/env python3
"""Which queries sink an edit family on a draw: the cells of "every edit family's mAP >= 85
on every draw" (issue 14) that fail, and the queries inside them.

A cell is one edit family on one draw of bench/copydetect_draws.sh: the mean AP of that
draw's positive queries that carry the edit (score.py's per-edit mAP). A query carries
4.3 edits on average, so one missed query sits in several cells, and a family with a
handful of queries on a draw fails with one of them. This lists, for every cell below the
limit, each of its queries below AP 100 with its edits (docs/hard_copies.md "What the last
target rests on").

Usage:
  family_cells.py WORKDIR [--seeds 1,2,3,4,5] [--pred pred_visil_f.csv] [--below 85]
                  [--shared ../shared]

WORKDIR/seedN holds a draw (dev/gt.csv, dev/queries.json) and PRED, the search's CSV.
Output (CSV with a header, stdout): seed,family,cell_queries,cell_map,query_id,query_ap,
n_edits,edits (edits joined by '+'), one row per such query of each failing cell. One
summary line per draw goes to stderr. The AP is score.py's (read_gt, read_pred,
average_precision), imported from SHARED/bench.
"""
import argparse
import csv
import json
import os
import sys
from collections import defaultdict


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("workdir")
    ap.add_argument("--seeds", default="1,2,3,4,5")
    ap.add_argument("--pred", default="pred_visil_f.csv")
    ap.add_argument("--below", type=float, default=85.0)
    ap.add_argument("--shared", default=os.environ.get("VS_SHARED", "../shared"))
    a = ap.parse_args()
    sys.path.insert(0, os.path.join(a.shared, "bench"))
    try:
        from score import read_gt, read_pred, average_precision
    except ImportError:
        sys.exit("family_cells.py: no score.py in %s/bench (--shared)" % a.shared)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["seed", "family", "cell_queries", "cell_map", "query_id", "query_ap", "n_edits", "edits"])
    for seed in a.seeds.split(","):
        d = os.path.join(a.workdir, "seed" + seed)
        for f in ("dev/gt.csv", "dev/queries.json", a.pred):
            if not os.path.isfile(os.path.join(d, f)):
                sys.exit("family_cells.py: %s: missing" % os.path.join(d, f))
        pos = read_gt(os.path.join(d, "dev/gt.csv"))
        pred = read_pred(os.path.join(d, a.pred))
        metas = [m for m in json.load(open(os.path.join(d, "dev/queries.json"))) if m.get("ref_id")]
        by_q = defaultdict(list)
        for (q, r), s in pred.items():
            by_q[q].append((s, (q, r) in pos))
        n_pos = defaultdict(int)
        for q, _ in pos:
            n_pos[q] += 1
        qap = {m["query_id"]: average_precision(by_q[m["query_id"]], n_pos[m["query_id"]]) or 0.0
               for m in metas}
        fam = defaultdict(list)
        for m in metas:
            for e in set(m["edits"]):
                fam[e].append(m)
        failing = 0
        for e, ms in sorted(fam.items()):
            cell = sum(qap[m["query_id"]] for m in ms) / len(ms)
            if cell >= a.below:
                continue
            failing += 1
            for m in ms:
                if qap[m["query_id"]] < 100.0 - 1e-9:
                    out.writerow([seed, e, len(ms), "%.1f" % cell, m["query_id"], "%.1f" % qap[m["query_id"]],
                                  len(m["edits"]), "+".join(m["edits"])])
        many = sum(1 for m in metas if len(m["edits"]) >= 5)
        print("draw %s: %d positive queries, %.2f edits each, %d with 5 or more; %d of %d cells below %g"
              % (seed, len(metas), sum(len(m["edits"]) for m in metas) / max(len(metas), 1), many, failing,
                 len(fam), a.below), file=sys.stderr)


if __name__ == "__main__":
    main()
