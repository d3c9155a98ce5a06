#!/usr/bin/env bash
# dedup_draws.sh DRAWS [TAG] - `vidsim dedup` on the dev draws: for every seed in
# VS_BENCH_SEEDS (default "1 2 3 4 5") of DRAWS (as bench/copydetect_draws.sh builds them:
# seedN/dev/{refs,queries,gt.csv}) an index of the draw's references *and* its query videos
# (DRAWS/seedN/dedup_index, built once: the collection holds each reference with its
# copies, as a user's collection does), then `vidsim dedup --threshold -1e9` (every pair)
# with DEDUP_OPTS, scored over the pairs that have a reference on one side: a pair
# (query, the reference it copies, from dev/gt.csv) is a positive, every other such pair a
# negative; query-query pairs are left out (two copies of different parts of a reference
# need not share a frame). Printed per draw and as the mean: pair AP (the ranked list of
# all scored pairs, as μAP ranks a search's), and at the default threshold p90 the pair
# precision and recall.
# Output: CSV on stdout, header tag,seed,ap,prec_p90,rec_p90,pos,neg; progress on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: $0 DRAWS [TAG]" >&2; exit 2; }
W=$1
TAG=${2:-dedup}
V=${VS_BIN:-build/vidsim}
SEEDS=${VS_BENCH_SEEDS:-1 2 3 4 5}
P90=$($V dedup --help 2>&1 | sed -n 's/.*defaults to p90 (\([-0-9.]*\):.*/\1/p')
[ -n "$P90" ] || { echo "$0: cannot read p90 from vidsim dedup --help" >&2; exit 1; }
echo "tag,seed,ap,prec_p90,rec_p90,pos,neg"
rows=""
for s in $SEEDS; do
  d=$W/seed$s
  [ -f "$d/dev/gt.csv" ] || { echo "$0: no draw in $d (bench/copydetect_draws.sh builds them)" >&2; exit 2; }
  if [ ! -f "$d/dedup_ready" ]; then
    echo "building the dedup index of draw $s" >&2
    rm -rf "$d/dedup_index"
    $V index add --index "$d/dedup_index" "$d/dev/refs" > "$d/dedup_add.log" 2>&1
    $V index add --index "$d/dedup_index" "$d/dev/queries" >> "$d/dedup_add.log" 2>&1
    touch "$d/dedup_ready"
  fi
  echo "dedup of draw $s" >&2
  # shellcheck disable=SC2086
  $V dedup --index "$d/dedup_index" --threshold -1e9 ${DEDUP_OPTS:-} > "$d/dedup_$TAG.csv"
  row=$(python3 - "$d/dev/gt.csv" "$d/dedup_$TAG.csv" "$P90" <<'PY'
import csv, sys
gt = set()
for r in csv.DictReader(open(sys.argv[1])):
    gt.add((r["query_id"], r["ref_id"]))
refs = {r for _, r in gt}
pairs = []
for r in csv.DictReader(open(sys.argv[2])):
    a, b = r["query_id"], r["ref_id"]
    qa, qb = a.startswith("Q"), b.startswith("Q")
    if qa and qb:
        continue  # query-query: left out
    q, ref = (a, b) if qa else (b, a)
    pairs.append((float(r["score"]), (q, ref) in gt))
pairs.sort(key=lambda p: -p[0])
npos = sum(1 for _, y in pairs if y)
tp = 0
ap = 0.0
for k, (_, y) in enumerate(pairs, 1):
    if y:
        tp += 1
        ap += tp / k
ap = ap / npos if npos else 0.0
thr = float(sys.argv[3])
sel = [y for s, y in pairs if s >= thr]
prec = sum(sel) / len(sel) if sel else 1.0
rec = sum(sel) / npos if npos else 0.0
print("%.4f,%.4f,%.4f,%d,%d" % (100 * ap, prec, rec, npos, len(pairs) - npos))
PY
)
  echo "$TAG,$s,$row"
  rows="$rows $row"
done
echo "$rows" | tr ' ' '\n' | awk -F, -v t="$TAG" 'NF>=3 { a+=$1; p+=$2; r+=$3; n++ } END { if (n) printf "%s,mean,%.4f,%.4f,%.4f,,\n", t, a/n, p/n, r/n }'
