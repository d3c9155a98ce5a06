#!/usr/bin/env python3
"""Where the insets of a copy benchmark really are: one CSV row per inset query.

bench/copydetect_draws.sh builds its draws with ../shared/bench/make_copies.py, which
records each query's edits but not where it put a picture-in-picture. This replays one
draw (the same --seed over the same sources: make_copies.py's random draws without its
encoding, checked against the draw's queries.json) and renders each inset query's filter
graph once more with the inset painted white and everything else black, so that the
white box in the output is the inset, in the query's own pictures:

  video_in_video  the copy shown small inside another video (the inset is the copy)
  donor_overlay   another video pasted over the copy (the inset is not the copy)

Output (CSV with a header): query_id,kind,x0,y0,x1,y1,t0,t1 - the rectangle as fractions
of the picture (x1, y1 exclusive), and the seconds t0 <= t < t1 it is shown; t0 = t1 = 0
when it is shown over the whole query. bench/bench_inset.c reads it (docs/hard_copies.md
"How far the inset detector is from the truth").

Usage:
  inset_truth.py --draw WORKDIR/seedN/dev --seed N [--sources ../shared/data/videos]
                 [--make-copies ../shared/bench/make_copies.py] [--fps 10] -o truth.csv

Needs numpy (/usr/bin/python3 on Debian), ffmpeg, and the sources the draw was made from.
The replay follows make_copies.py's filter labels ([hK] host, [sK] shrunk copy, [dK] donor,
[fK] filler, [c] the copy); a make_copies.py that changes them needs this script changed.
"""
import argparse
import contextlib
import csv
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np


def load_make_copies(path):
    spec = importlib.util.spec_from_file_location("make_copies", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def replay(mc, sources, seed, scratch):
    """make_copies.main() without encoding: {query id: ffmpeg arguments}, and its metas."""
    cmds = {}

    def record(args):
        if args[-1].endswith(".mp4") and os.sep + "queries" + os.sep in args[-1]:
            cmds[os.path.splitext(os.path.basename(args[-1]))[0]] = args

    real_ffmpeg, real_copy, real_argv = mc.ffmpeg, shutil.copyfile, sys.argv
    mc.ffmpeg = record
    shutil.copyfile = lambda a, b: None
    sys.argv = ["make_copies.py", "--sources", sources, "--out", scratch, "--seed", str(seed), "--copies", "3"]
    try:
        with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
            mc.main()
    finally:
        mc.ffmpeg, shutil.copyfile, sys.argv = real_ffmpeg, real_copy, real_argv
    with open(os.path.join(scratch, "queries.json")) as f:
        return cmds, json.load(f)


def white_box(args, kind, fps):
    """Renders the query's graph with the inset white and the rest black; (rect, t0, t1)."""
    a = list(args)
    i = a.index("-filter_complex")
    g = a[i + 1]
    g = re.sub(r"\[c\];", ",drawbox=c=black:t=fill[c];", g, count=1)
    g = re.sub(r"\[(h|f)(\d+)\];", r",drawbox=c=black:t=fill[\1\2];", g)
    inset = "s" if kind == "video_in_video" else "d"
    g, n = re.subn(r"\[(%s)(\d+)\];" % inset, r",drawbox=c=white:t=fill[\1\2];", g)
    if n != 1:
        raise RuntimeError("no [%sK] label in the filter graph" % inset)
    a[i + 1] = g
    j = a.index("-map")
    head = ["ffmpeg", "-nostdin", "-v", "error"] + a[:j + 2]
    one = subprocess.run(head + ["-frames:v", "1", "-f", "image2pipe", "-c:v", "pgm", "-"],
                         capture_output=True, check=True).stdout
    w, h = map(int, one.split(b"\n")[1].split())
    raw = subprocess.run(head + ["-r", str(fps), "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                         capture_output=True, check=True).stdout
    fr = np.frombuffer(raw, np.uint8).reshape(-1, h, w) > 200
    on = np.nonzero(fr.reshape(len(fr), -1).sum(1) > 0.002 * w * h)[0]
    if len(on) == 0:
        raise RuntimeError("the inset is never shown")
    box = fr[on].any(0)
    ys, xs = np.nonzero(box.any(1))[0], np.nonzero(box.any(0))[0]
    rect = (xs[0] / w, ys[0] / h, (xs[-1] + 1) / w, (ys[-1] + 1) / h)
    if on[0] == 0 and on[-1] == len(fr) - 1:
        return rect, 0.0, 0.0
    return rect, on[0] / fps, (on[-1] + 1) / fps


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    shared = os.environ.get("VS_SHARED", os.path.join(here, "..", "..", "shared"))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--draw", required=True, help="the draw's dev folder (refs/, queries/, queries.json)")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--sources", default=os.path.join(shared, "data", "videos"))
    ap.add_argument("--make-copies", default=os.path.join(shared, "bench", "make_copies.py"))
    ap.add_argument("--fps", type=float, default=10.0, help="pictures a second rendered to find the span")
    ap.add_argument("-o", "--out", required=True)
    args = ap.parse_args()
    for p in (args.make_copies, args.sources, os.path.join(args.draw, "queries.json")):
        if not os.path.exists(p):
            sys.exit("inset_truth.py: %s: not found" % p)
    mc = load_make_copies(args.make_copies)
    scratch = tempfile.mkdtemp(prefix="inset_truth.")
    try:
        cmds, metas = replay(mc, args.sources, args.seed, scratch)
        with open(os.path.join(args.draw, "queries.json")) as f:
            if json.load(f) != metas:
                sys.exit("inset_truth.py: seed %d over %s does not give %s/queries.json (another seed, "
                         "other sources or another make_copies.py)" % (args.seed, args.sources, args.draw))
        rows = []
        for m in metas:
            kind = next((k for k in ("video_in_video", "donor_overlay") if k in m["edits"]), None)
            if not kind:
                continue
            q = m["query_id"]
            # the replay's references live in its scratch folder; the draw has the real ones
            a = [x.replace(os.path.join(scratch, "refs"), os.path.join(args.draw, "refs")) for x in cmds[q]]
            try:
                rect, t0, t1 = white_box(a, kind, args.fps)
            except (RuntimeError, subprocess.CalledProcessError) as e:
                sys.exit("inset_truth.py: %s: %s" % (q, e))
            rows.append([q, kind] + ["%.4f" % v for v in rect] + ["%.3f" % t0, "%.3f" % t1])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    tmp = args.out + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["query_id", "kind", "x0", "y0", "x1", "y1", "t0", "t1"])
        w.writerows(rows)
    os.replace(tmp, args.out)
    print("%s: %d inset queries (%d video_in_video, %d donor_overlay)" % (
        args.out, len(rows), sum(r[1] == "video_in_video" for r in rows),
        sum(r[1] == "donor_overlay" for r in rows)), file=sys.stderr)


if __name__ == "__main__":
    main()
