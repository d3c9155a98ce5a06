#!/usr/bin/env bash
# ffmpeg_signature.sh - peer baseline for copied-segment localisation: FFmpeg's `signature`
# filter (MPEG-7 video signature, ISO/IEC 15938-3) matching each (query, ref) pair.
#
# Usage:
#   bash bench/ffmpeg_signature.sh PAIRS.csv QUERY_DIR REF_DIR > matches.csv
#
#   PAIRS.csv  CSV with a header holding at least query_id,ref_id (more columns, e.g. a
#              search's score, are ignored; repeated pairs are run once).
#   QUERY_DIR, REF_DIR  video files named ID.EXT (the id is the basename without its last
#              extension; any extension).
#
# Output (stdout): the VSC22 matching-track CSV
#   query_id,ref_id,query_start,query_end,ref_start,ref_end,score
# in seconds, at most one row per pair (the filter reports only its best match per pair;
# pairs without a match give no row). score = the match length ffmpeg reports ("N frames
# matching") in seconds, N / VS_SIG_FPS; VS_SIG_SCORE=good uses the number of good frames
# of the replayed walk instead (see below why N can be inflated).
#
# How: per pair, one `ffmpeg -i Q -i R -filter_complex "[0:v]fps=F[a];[1:v]fps=F[b];
# [a][b]signature=nb_inputs=2:detectmode=full:format=xml:filename=sig%d.xml" -f null -`.
# At info level the filter prints
#   [Parsed_signature_4 @ 0x...] matching of video 0 at 3.480000 and 1 at 7.200000, 473 frames matching
#   [Parsed_signature_4 @ 0x...] whole video matching          (only when it reached both ends)
# or "no matching of video 0 and 1". The two times are pts * time_base of each input in
# seconds (input 0 = query, 1 = ref), but they are the ANCHOR frame pair the match was grown
# from (a frame inside the match, not its start), and N counts the frames walked from the
# anchor forwards and backwards. To localise, the script replays that walk
# (signature_lookup.c, evaluate_parameters: step along the diagonal while frame L1 <= th_xh,
# stop after 3 bad frames of non-zero confidence) from the anchor on the fine signatures the
# filter exported (XML), and reports the span of the walk's good frames on each axis. In
# ffmpeg the walk state (count, direction, tolerance) is not reset between the candidates of
# one coarse pair, so N is that walk's length only when the winning candidate came first
# (18 of 23 matches on the dev benchmark; otherwise N is inflated, once 3475 for a
# 188-frame walk): the replay runs a clean walk for the frame-step patterns ffmpeg can take
# (1:1, 1:2, 2:1), keeps the one that reproduces N, else the 1:1 one.
# Both inputs are resampled to one frame rate (fps filter) first: the walk steps the two
# streams frame by frame (its frame-rate-ratio estimate only ever gives steps 1:1, 1:2 or
# 2:1), so streams at different rates drift apart.
#
# Environment (all optional):
#   VS_SIG_FPS    common frame rate, integer or N/D (default 25; 10 lost 3 of 23 matches)
#   VS_SIG_SCALE  filter applied after fps to both inputs, e.g. scale=-2:144 (default none;
#                 on the dev benchmark 144p kept every match, found one more, and saved ~15%
#                 CPU: decoding dominates)
#   VS_SIG_MODE   detectmode full|fast (default full)
#   VS_SIG_OPTS   extra signature options, e.g. th_xh=150:th_di=10 (th_xh and th_di are
#                 honoured by the replay too)
#   VS_SIG_SCORE  frames (default: ffmpeg's N) | good (good frames of the replayed walk)
#   VS_SIG_JOBS   pairs run in parallel (default: nproc); each ffmpeg runs single-threaded
#   VS_SIG_DEBUG  1: one stderr line per match (anchor, N, whole, span, replay or not)
#   VS_FFMPEG     ffmpeg binary (default ffmpeg)
# Progress goes to stderr as one rewritten line, only when stderr is a terminal.
# Cost on the dev benchmark (videos of 2-135 s, median 10 s, up to 576p): 0.97 CPU-s per
# pair (0.82 with scale=-2:144); 408 pairs took 545 s wall with 2 jobs on a 2-core machine
# that other jobs kept at load ~9, so ~0.5 s per pair wall on 2 free cores.
# Exit status: 2 on bad usage or a missing file/folder/id (the message names it), 1 if an
# ffmpeg run fails (its log tail is printed). A crash of ffmpeg 5.1's signature lookup
# (SIGSEGV; 1 of 408 pairs on the dev benchmark) is not fatal: the pair gets no row and a
# warning names it.
set -euo pipefail

me=ffmpeg_signature.sh
die() { echo "$me: $*" >&2; exit 2; }

# ---- one pair (internal: called through xargs) ---------------------------------------
if [ "${1:-}" = "--one-pair" ]; then
  # --one-pair WORKROOT INDEX  (reads the pair from WORKROOT/pairs.tsv line INDEX)
  root=$2; i=$3
  IFS=$'\t' read -r q r qf rf < <(sed -n "${i}p" "$root/pairs.tsv")
  w="$root/w$i"; mkdir -p "$w"
  pre="fps=${VS_SIG_FPS:-25}${VS_SIG_SCALE:+,$VS_SIG_SCALE}"
  sig="signature=nb_inputs=2:detectmode=${VS_SIG_MODE:-full}:format=xml:filename=sig%d.xml${VS_SIG_OPTS:+:$VS_SIG_OPTS}"
  rc=0
  ( (cd "$w" && exec "${VS_FFMPEG:-ffmpeg}" -hide_banner -nostdin -nostats -loglevel info \
      -filter_threads 1 \
      -threads 1 -an -sn -dn -i "$qf" -threads 1 -an -sn -dn -i "$rf" \
      -filter_complex "[0:v:0]${pre}[a];[1:v:0]${pre}[b];[a][b]${sig}" \
      -an -sn -dn -f null - ) > "$w/log" 2>&1; exit $?; ) 2>/dev/null || rc=$?
  if [ $rc -ge 128 ]; then
    if ! grep -aq 'matching of video 0' "$w/log"; then
      # ffmpeg 5.1's signature lookup can crash (its walk state is shared across the
      # candidates of a coarse pair and goes stale): no verdict, the pair counts as no match.
      echo "$me: ffmpeg crashed (signal $((rc - 128))) in the signature lookup of $q / $r; counted as no match" >&2
      : > "$root/out/$i.csv"; echo "$q,$r" >> "$root/crashed"; rm -rf "$w"; exit 0
    fi   # else it crashed after printing its verdict: use it
  elif [ $rc -ne 0 ]; then
    echo "$me: ffmpeg failed (status $rc) on $q ($qf) / $r ($rf):" >&2; tail -n 5 "$w/log" >&2
    exit 255   # makes xargs stop
  fi
  m=$(grep -a -o 'matching of video 0 at [0-9.]* and 1 at [0-9.]*, [0-9]* frames matching' "$w/log" || true)
  if [ -n "$m" ]; then
    whole=0; grep -aq 'whole video matching' "$w/log" && whole=1
    python3 "$root/localise.py" "$w/sig0.xml" "$w/sig1.xml" "$m" "$whole" "$q" "$r" > "$root/out/$i.csv" \
      || { echo "$me: localisation failed on $q / $r" >&2; exit 255; }
  else
    grep -aq 'no matching of video 0 and 1' "$w/log" \
      || { echo "$me: no signature verdict for $q / $r (see ffmpeg log below):" >&2; tail -n 5 "$w/log" >&2; exit 255; }
    : > "$root/out/$i.csv"
  fi
  rm -rf "$w"
  exit 0
fi

# ---- main ----------------------------------------------------------------------------
[ $# -eq 3 ] || { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
pairs=$1; qdir=$2; rdir=$3
[ -f "$pairs" ] || die "pairs file not found: $pairs"
[ -d "$qdir" ] || die "query folder not found: $qdir"
[ -d "$rdir" ] || die "ref folder not found: $rdir"
command -v "${VS_FFMPEG:-ffmpeg}" >/dev/null || die "ffmpeg not found: ${VS_FFMPEG:-ffmpeg}"
command -v python3 >/dev/null || die "python3 not found"
fps=${VS_SIG_FPS:-25}
[[ $fps =~ ^[1-9][0-9]*(/[1-9][0-9]*)?$ ]] || die "VS_SIG_FPS must be N or N/D: $fps"
case ${VS_SIG_MODE:-full} in full|fast) ;; *) die "VS_SIG_MODE must be full or fast";; esac
jobs=${VS_SIG_JOBS:-$(nproc 2>/dev/null || echo 2)}
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "VS_SIG_JOBS must be a positive integer: $jobs"

root=$(mktemp -d "${TMPDIR:-/tmp}/ffsig.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/out"

# id -> file, one listing per folder (first match in sort order if an id has several)
declare -A QF RF
index_dir() {  # index_dir DIR ARRAYNAME
  local f b
  local -n arr=$2
  while IFS= read -r -d '' f; do
    b=${f##*/}; b=${b%.*}
    [ -n "${arr[$b]+x}" ] || arr["$b"]=$f
  done < <(find "$1" -maxdepth 1 \( -type f -o -type l \) -name '*.*' -print0 | sort -z)
}
index_dir "$(cd "$qdir" && pwd)" QF
index_dir "$(cd "$rdir" && pwd)" RF

# pairs: header columns by name, CRLF tolerated, unique pairs in first-seen order
python3 - "$pairs" "$root/ids.tsv" <<'EOF' || exit 2
import csv, sys
src, dst = sys.argv[1], sys.argv[2]
with open(src, newline="") as f:
    r = csv.DictReader(f)
    miss = {"query_id", "ref_id"} - set(r.fieldnames or [])
    if miss:
        sys.exit(f"ffmpeg_signature.sh: {src}: missing column(s) {', '.join(sorted(miss))}")
    seen, out = set(), []
    for row in r:
        k = (row["query_id"].strip(), row["ref_id"].strip())
        if k[0] and k[1] and k not in seen:
            seen.add(k); out.append(k)
with open(dst, "w") as f:
    for q, r_ in out:
        if "\t" in q + r_ or "\n" in q + r_:
            sys.exit(f"ffmpeg_signature.sh: {src}: id with a tab or newline")
        f.write(f"{q}\t{r_}\n")
EOF
: > "$root/pairs.tsv"
while IFS=$'\t' read -r q r; do
  [ -n "${QF[$q]+x}" ] || die "no video for query id '$q' in $qdir (listed in $pairs)"
  [ -n "${RF[$r]+x}" ] || die "no video for ref id '$r' in $rdir (listed in $pairs)"
  printf '%s\t%s\t%s\t%s\n' "$q" "$r" "${QF[$q]}" "${RF[$r]}" >> "$root/pairs.tsv"
done < "$root/ids.tsv"
n=$(wc -l < "$root/pairs.tsv")

cat > "$root/localise.py" <<'EOF'
# localise.py SIG0.xml SIG1.xml "MATCH LINE" WHOLE QID RID -> one CSV row (no header)
# Replays vf_signature's evaluate_parameters walk from the reported anchor pair.
import os, re, sys
from fractions import Fraction

x0, x1, line, whole, qid, rid = sys.argv[1:7]
m = re.search(r"video 0 at ([0-9.]+) and 1 at ([0-9.]+), (\d+) frames matching", line)
t0, t1, nmatch = float(m.group(1)), float(m.group(2)), int(m.group(3))
F = Fraction(os.environ.get("VS_SIG_FPS", "25"))
tb = 1 / F                                   # the fps filter's output time base
opts = os.environ.get("VS_SIG_OPTS", "")
mm = re.search(r"(?:^|:)th_xh=(\d+)", opts)
thl1 = int(mm.group(1)) if mm else 116
mm = re.search(r"(?:^|:)th_di=(\d+)", opts)
thdi = int(mm.group(1)) if mm else 0

frame_re = re.compile(r"<MediaTimeOfFrame>(\d+)</MediaTimeOfFrame>\s*"
                      r"<FrameConfidence>(\d+)</FrameConfidence>.*?"
                      r"<FrameSignature>([^<]*)</FrameSignature>", re.S)

def load(path):
    with open(path) as f:
        txt = f.read()
    fr = frame_re.findall(txt)
    return [int(p) for p, _, _ in fr], [int(c) for _, c, _ in fr], [s for _, _, s in fr]

pts0, conf0, raw0 = load(x0)
pts1, conf1, raw1 = load(x1)
cache = {}
def sig(k, i):
    key = (k, i)
    if key not in cache:
        cache[key] = [int(v) for v in (raw0 if k == 0 else raw1)[i].split()]
    return cache[key]
def l1(i, j):
    return sum(abs(a - b) for a, b in zip(sig(0, i), sig(1, j)))

def anchor(pts, t):
    p = round(Fraction(t).limit_denominator(10**6) / tb)
    return min(range(len(pts)), key=lambda i: abs(pts[i] - p))

ia, ib = anchor(pts0, t0), anchor(pts1, t1)
NA, NB = len(pts0), len(pts1)
NEXT, PREV, NEXT_END, PREV_END = 0, 1, 2, 3

def walk(kind):
    """evaluate_parameters() for one candidate; kind: steps of (a, b) per frame:
    (1,1) frame-rate ratio in [1,2), (1,2) ratio 2, (2,1) ratio < 1."""
    da, db = kind
    def it(a, b, bc, d):
        s = 1 if d == NEXT else -1
        end = NEXT_END if d == NEXT else PREV_END
        if da == 1:                       # frr >= 1: a first, then b by 1 or 2
            if not 0 <= a + s < NA: return a, b, bc, end
            a += s
            if not 0 <= b + s * db < NB: return a, b, bc, end
            b += s * db; bc += 1
        else:                             # frr < 1: b first, then a by 2
            if not 0 <= b + s < NB: return a, b, bc, end
            b += s; bc += 1
            if not 0 <= a + 2 * s < NA: return a, b, bc, end
            a += 2 * s
        return a, b, bc, d
    a, b, d, bc, tol = ia, ib, NEXT, 1, 0
    good = []
    while True:
        if l1(a, b) > thl1:
            if conf0[a] >= 1 or conf1[b] >= 1:
                tol += 1
            if tol > 2:
                if d == NEXT:
                    a, b, d = ia, ib, PREV
                else:
                    break
        else:
            tol = 0
            good.append((a, b))
        a, b, bc, d = it(a, b, bc, d)
        if d == NEXT_END:
            a, b = ia, ib
            a, b, bc, d = it(a, b, bc, PREV)
        if d == PREV_END:
            break
        if thdi and bc >= thdi:
            break
    return bc, good

# ffmpeg's evaluate_parameters() keeps its walk state (frame count, direction, tolerance)
# across the candidates of one coarse pair, so N is the walk of this candidate only when it
# came first. Replay a clean walk per step kind; keep the kind that reproduces N, else the
# 1:1 walk (inputs share one frame rate).
runs = [(kind,) + walk(kind) for kind in ((1, 1), (1, 2), (2, 1))]
exact = [x for x in runs if x[1] == nmatch and x[2]]
kind, bc, good = exact[0] if exact else runs[0]
how = "replay" if exact else "clean-walk"
if good:
    span = (min(g[0] for g in good), max(g[0] for g in good),
            min(g[1] for g in good), max(g[1] for g in good))
else:   # not expected (the anchor pair is below th_xh): centre N frames on the anchors
    lo = max(-ia, -ib, -(nmatch // 2))
    hi = min(NA - 1 - ia, NB - 1 - ib, lo + nmatch - 1)
    lo = max(-ia, -ib, hi - nmatch + 1)
    span = (ia + lo, ia + hi, ib + lo, ib + hi)
    how = "anchor"

qs, qe = float(pts0[span[0]] * tb), float((pts0[span[1]] + 1) * tb)
rs, re_ = float(pts1[span[2]] * tb), float((pts1[span[3]] + 1) * tb)
score = float((len(good) if os.environ.get("VS_SIG_SCORE") == "good" else nmatch) * tb)
print(f"{qid},{rid},{qs:.3f},{qe:.3f},{rs:.3f},{re_:.3f},{score:.3f}")
if os.environ.get("VS_SIG_DEBUG"):
    print(f"{qid},{rid}: anchor {ia},{ib} N={nmatch} whole={whole} span={span} via {how} kind={kind} walk={bc} good={len(good)}",
          file=sys.stderr)
EOF

export VS_SIG_FPS=$fps
tty=0; [ -t 2 ] && tty=1
t0=$(date +%s)
seq 1 "$n" | xargs -P "$jobs" -I{} bash "$0" --one-pair "$root" {} &
xpid=$!
progress() {
  local done_ hit el
  done_=$(find "$root/out" -name '*.csv' | wc -l)
  hit=$(find "$root/out" -name '*.csv' -size +0 | wc -l)
  el=$(( $(date +%s) - t0 ))
  printf '\r%s: %d/%d pairs, %d matched, %ds' "$me" "$done_" "$n" "$hit" "$el" >&2
}
if [ $tty = 1 ]; then
  while kill -0 $xpid 2>/dev/null; do progress; sleep 1; done
fi
rc=0; wait $xpid || rc=$?
if [ $tty = 1 ]; then progress; printf '\n' >&2; fi
[ $rc = 0 ] || { echo "$me: stopped after an error (xargs status $rc)" >&2; exit 1; }

echo "query_id,ref_id,query_start,query_end,ref_start,ref_end,score"
for i in $(seq 1 "$n"); do cat "$root/out/$i.csv"; done
nc=0; [ -f "$root/crashed" ] && nc=$(wc -l < "$root/crashed")
[ "$nc" = 0 ] || echo "$me: ffmpeg crashed on $nc of $n pairs (no row for them)" >&2
