#!/usr/bin/env bash
# localize_draws.sh WORKDIR - copied-segment localisation (VSC22 matching track) on
# the dev benchmark's draws, built by bench/copydetect_draws.sh in the same WORKDIR
# (run that first, or this script runs it for you with visil_f).
# For every seed in VS_BENCH_SEEDS (default "1 2 3 4 5") it scores, with
# ../shared/bench/score_segments.py (segment AP and pairwise uAP, per edit):
#   vidsim   `vidsim search --top 0 --segments` (ViSiL_f, symmetric; docs/localize.md)
#   whole    the baseline: every pair of plain `vidsim search --top 0` boxed as whole
#            query x whole ref, with the pair's score
#   ffmpeg   with PEER=1: FFmpeg's signature filter (bench/ffmpeg_signature.sh) on the
#            pairs of the top PEER_TOP (default 3) refs per query of plain search
# Output: CSV on stdout, header method,seed,subset,segAP,pair_uAP,gt_pairs, and one
# row per method and subset with seed=mean (the mean over the seeds). Also the
# search time with and without --segments per draw on stderr (loc_overhead).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 1 ] || { echo "usage: $0 WORKDIR" >&2; exit 2; }
W=$1
SHARED=${VS_SHARED:-../shared}
V=${VS_BIN:-build/vidsim}
SEEDS=${VS_BENCH_SEEDS:-1 2 3 4 5}
for s in $SEEDS; do
  [ -f "$W/seed$s/ready" ] || VS_BENCH_SEEDS="$s" bash bench/copydetect_draws.sh "$W" visil_f > /dev/null
done
score() { # method seed gt pred queries
  python3 "$SHARED/bench/score_segments.py" "$3" "$4" --queries "$5" --json |
    python3 -c 'import json,sys
r=json.load(sys.stdin)
for k,v in r.items(): print("%s,%s,%s,%.4f,%.4f,%d" % (sys.argv[1], sys.argv[2], k, v["segmentAP"], v["pair_uAP"], v["gt_pairs"]))' "$1" "$2"
}
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
for s in $SEEDS; do
  d=$W/seed$s
  echo "draw $s: search, search --segments" >&2
  t0=$(date +%s.%N)
  $V search --index "$d/index" --top 0 -j 1 "$d"/qf/*.vsf > "$d/pred_pairs.csv"
  t1=$(date +%s.%N)
  $V search --index "$d/index" --top 0 -j 1 --segments "$d"/qf/*.vsf > "$d/pred_segments.csv"
  t2=$(date +%s.%N)
  awk -v s="$s" -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN {printf "draw %s: search %.1f s, with --segments %.1f s (loc_overhead %+.1f%%)\n", s, b-a, c-b, 100*((c-b)/(b-a)-1)}' >&2
  # the whole-box baseline: query and ref durations from ffprobe and the catalogue
  $V index ls --index "$d/index" > "$d/refs.csv"
  python3 - "$d" <<'PY' > "$d/pred_whole.csv"
import csv, json, os, subprocess, sys
d = sys.argv[1]
rdur = {r["name"]: float(r["duration"]) for r in csv.DictReader(open(d + "/refs.csv"))}
qdur = {}
for f in os.listdir(d + "/dev/queries"):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                          d + "/dev/queries/" + f], capture_output=True, text=True).stdout.strip()
    qdur[os.path.splitext(f)[0]] = float(out or 0)
print("query_id,ref_id,query_start,query_end,ref_start,ref_end,score")
for r in csv.DictReader(open(d + "/pred_pairs.csv")):
    print("%s,%s,0,%.3f,0,%.3f,%s" % (r["query_id"], r["ref_id"], qdur[r["query_id"]], rdur[r["ref_id"]], r["score"]))
PY
  score vidsim "$s" "$d/dev/gt.csv" "$d/pred_segments.csv" "$d/dev/queries.json" >> "$OUT"
  # vidsim eval --segments must agree with the Python scorer (issue 13: to 0.05)
  $V eval --segments --gt "$d/dev/gt.csv" --pred "$d/pred_segments.csv" --queries "$d/dev/queries.json" --format csv |
    awk -F, -v s="$s" 'NR==FNR { if (FNR > 1) { a[$1] = $2; b[$1] = $3 } next }
      $1 == "vidsim" && $2 == s { d1 = a[$3] - $4; d2 = b[$3] - $5; d1 = d1 < 0 ? -d1 : d1; d2 = d2 < 0 ? -d2 : d2;
        m = d1 > m ? d1 : m; m = d2 > m ? d2 : m }
      END { printf "draw %s: eval_vs_score max |diff| %.2g (segAP and pair_uAP, every subset)\n", s, m }' - "$OUT" >&2
  score whole "$s" "$d/dev/gt.csv" "$d/pred_whole.csv" "$d/dev/queries.json" >> "$OUT"
  if [ "${PEER:-0}" = 1 ]; then
    echo "draw $s: ffmpeg signature" >&2
    awk -F, -v k="${PEER_TOP:-3}" 'NR==1{print;next} {n[$1]++; if(n[$1]<=k) print}' "$d/pred_pairs.csv" > "$d/pairs_top.csv"
    bash bench/ffmpeg_signature.sh "$d/pairs_top.csv" "$d/dev/queries" "$d/dev/refs" > "$d/pred_ffmpeg.csv"
    score ffmpeg "$s" "$d/dev/gt.csv" "$d/pred_ffmpeg.csv" "$d/dev/queries.json" >> "$OUT"
  fi
done
echo "method,seed,subset,segAP,pair_uAP,gt_pairs"
awk -F, '{printf "%s,%s,%s,%.1f,%.1f,%s\n", $1, $2, $3, $4, $5, $6}' "$OUT"
awk -F, '{k=$1","$3; a[k]+=$4; b[k]+=$5; g[k]+=$6; n[k]++} END {for (k in a) printf "%s,mean,%.1f,%.1f,%d\n", k, a[k]/n[k], b[k]/n[k], g[k]/n[k]}' "$OUT" |
  awk -F, '{print $1","$3","$2","$4","$5","$6}' | sort
