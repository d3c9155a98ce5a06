#!/usr/bin/env python3
"""Convert the S2VS / ViSiL evaluation annotations (Python pickles) to the JSON that
`vidsim eval --dataset` reads (src/eval/datasets.c). Standard library only.

  convert_annotations.py fivr fivr_audio.pickle OUT.json [--easy fivr_easy_duplicates.txt]
  convert_annotations.py vcdb vcdb.pickle OUT.json
  convert_annotations.py evve evve.pickle OUT.json
  convert_annotations.py cc_web_video cc_web_video.pickle OUT.json

The pickles come with the official code (github.com/gkordo/s2vs, data/). They hold
only builtin types (dict, list, set, tuple, str, int), so they are loaded with a
restricted unpickler that refuses anything else. Sets become sorted lists; the
integer keys of CC_WEB_VIDEO's ground truth become strings. Output formats:

  fivr:  {"dataset": "fivr", "versions": {"200k": {"queries": [..], "database": [..]}, "5k": ..},
          "annotation": {query: {label: [video, ..]}}, "easy_duplicates": [..] (with --easy)}
  vcdb:  {"dataset": "vcdb", "queries": [..], "positives": {query: [..]}, "distractors": [..]}
  evve:  {"dataset": "evve", "events": {name: {"queries": [..], "positives": [..], "null": [..]}},
          "queries": [..], "database": [..]}
  cc_web_video: {"dataset": "cc_web_video", "index": {"set/name": int}, "queries": [..],
          "ground_truth": [{"int": label}], "excluded": [[int, ..]]}
"""
import argparse
import json
import pickle


class _BuiltinsOnly(pickle.Unpickler):
    def find_class(self, module, name):
        if module == "builtins" and name in ("set", "frozenset", "dict", "list", "tuple", "str", "int"):
            return getattr(__import__("builtins"), name)
        raise pickle.UnpicklingError("refusing %s.%s in an annotation pickle" % (module, name))


def load(path):
    with open(path, "rb") as f:
        return _BuiltinsOnly(f, encoding="latin1").load()


def ids(xs):
    return sorted(str(x) for x in xs)


def convert(kind, d, easy=None):
    if kind == "fivr":
        out = {"dataset": "fivr", "versions": {}, "annotation": {}}
        for v in ("200k", "5k"):
            if v in d:
                out["versions"][v] = {"queries": ids(d[v]["queries"]), "database": ids(d[v]["database"])}
        for q, labels in d["annotation"].items():
            out["annotation"][str(q)] = {str(l): [str(x) for x in vs] for l, vs in labels.items()}
        if easy:
            with open(easy) as f:
                out["easy_duplicates"] = sorted({line.strip() for line in f if line.strip()})
        return out
    if kind == "vcdb":
        return {"dataset": "vcdb", "queries": [str(q) for q in d["queries"]],
                "positives": {str(q): ids(v) for q, v in d["positives"].items()},
                "distractors": [str(x) for x in d.get("dataset", [])]}
    if kind == "evve":
        return {"dataset": "evve",
                "events": {str(e): {"queries": ids(q), "positives": ids(p), "null": ids(n)}
                           for e, (q, p, n) in d["annotation"].items()},
                "queries": ids(d["queries"]), "database": ids(d["database"])}
    if kind == "cc_web_video":
        return {"dataset": "cc_web_video",
                "index": {str(k): int(v) for k, v in d["index"].items()},
                "queries": [str(q) for q in d["queries"]],
                "ground_truth": [{str(int(k)): str(v) for k, v in gt.items()} for gt in d["ground_truth"]],
                "excluded": [sorted(int(x) for x in ex) for ex in d["excluded"]]}
    raise SystemExit("unknown dataset kind %r" % kind)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("kind", choices=["fivr", "vcdb", "evve", "cc_web_video"])
    ap.add_argument("pickle")
    ap.add_argument("out")
    ap.add_argument("--easy", help="fivr_easy_duplicates.txt, for the hard FIVR metrics")
    args = ap.parse_args()
    out = convert(args.kind, load(args.pickle), args.easy)
    with open(args.out, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
