#!/usr/bin/python3
"""torch_backbone.py - the same backbone in PyTorch, for a speed ratio against
bench_backbone.c. Reads models/<model>.vstf with numpy (VSTF: docs/formats.md), builds
the graph from its "graph" metadata with BatchNorm folded into the convs exactly like
src/backbone/graph.c (so both do the same FLOPs), checks the output against the stored
tfjs activation when given --ref, and prints frames/s (best of N) at the same thread
count, input size and batch as the C bench.

  /usr/bin/python3 bench/torch_backbone.py [--models models] [--reps 5] [--batch 8]
        [--threads 1 2] [--ref /work/shared/data/backbone_ref]

Output, one line per configuration (same keys as bench_backbone):
  torch_backbone model=inception_v3 size=299 threads=1 batch=8 fps=.. ms_per_frame=..
Uses torch's default CPU conv path (oneDNN/mkldnn), NCHW and channels_last (best kept).
"""
import argparse
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F


def read_vstf(path):
    b = open(path, "rb").read()
    assert b[:8] == b"VIDSIMTF", f"{path}: not a VSTF file"
    ver, n_meta, n_t, _ = struct.unpack_from("<4I", b, 8)
    data_off, _ = struct.unpack_from("<2Q", b, 24)
    off = 40
    meta, tensors = {}, {}

    def rstr():
        nonlocal off
        (n,) = struct.unpack_from("<I", b, off)
        s = b[off + 4:off + 4 + n].decode()
        off += 4 + n
        return s

    for _ in range(n_meta):
        k = rstr()
        meta[k] = rstr()
    for _ in range(n_t):
        name = rstr()
        dt, nd = struct.unpack_from("<2I", b, off)
        off += 8
        dims = struct.unpack_from(f"<{nd}Q", b, off)
        off += 8 * nd
        o, nb = struct.unpack_from("<2Q", b, off)
        off += 16
        assert dt == 0
        tensors[name] = np.frombuffer(b, np.float32, nb // 4, data_off + o).reshape(dims)
    return meta, tensors


def same_pad(n, k, s):
    out = -(-n // s)
    tot = max((out - 1) * s + k - n, 0)
    return tot // 2, tot - tot // 2


class Net(torch.nn.Module):
    """Graph interpreter over fused nodes (conv+BN+act folded)."""

    def __init__(self, meta, T):
        super().__init__()
        self.nodes = []  # (name, op, inputs, params)
        alias = {}
        pending = {}
        for line in meta["graph"].split("\n"):
            tok = line.split(" ")
            name, cls, ins = tok[0], tok[1], ([] if tok[2] == "-" else tok[2].split(","))
            kv = dict(t.split("=", 1) for t in tok[3:])
            ins = [alias.get(i, i) for i in ins]
            if cls == "InputLayer":
                self.nodes.append([name, "input", [], {}])
            elif cls in ("Conv2D", "DepthwiseConv2D"):
                w = T[kv["w"]].astype(np.float64)
                k = [int(x) for x in kv["k"].split(",")]
                s = [int(x) for x in kv["s"].split(",")]
                zp = None
                if ins[0] in pending:
                    zp = True
                    ins = [pending[ins[0]]]
                dw = cls[0] == "D"
                p = dict(k=k, s=s, pad=kv["pad"], zp=zp, dw=dw, w=w, b=np.zeros(w.shape[-1] if not dw else w.shape[2]),
                         act=kv["act"])
                self.nodes.append([name, "conv", ins, p])
            elif cls == "BatchNormalization":
                n = next(n for n in self.nodes if n[0] == ins[0])
                assert n[1] == "conv"
                p, L = n[3], ins[0]
                C = p["b"].shape[0]
                g = T[f"{name}/gamma"].astype(np.float64) if kv["scale"] == "1" else np.ones(C)
                be = T[f"{name}/beta"].astype(np.float64) if kv["center"] == "1" else np.zeros(C)
                sc = g / np.sqrt(T[f"{name}/moving_variance"].astype(np.float64) + float(kv["eps"]))
                p["b"] = (p["b"] - T[f"{name}/moving_mean"]) * sc + be
                p["w"] = p["w"] * (sc if not p["dw"] else sc[None, None, :, None])
                n[0] = name
            elif cls in ("Activation", "ReLU"):
                n = next(n for n in self.nodes if n[0] == ins[0])
                assert n[1] == "conv"
                n[3]["act"] = "relu6" if kv.get("max") == "6" else "relu"
                n[0] = name
            elif cls == "ZeroPadding2D":
                pending[name] = ins[0]
            elif cls in ("MaxPooling2D", "AveragePooling2D"):
                self.nodes.append([name, "max" if cls[0] == "M" else "avg", ins,
                                   dict(k=int(kv["k"].split(",")[0]), s=int(kv["s"].split(",")[0]), pad=kv["pad"])])
            elif cls == "Concatenate":
                self.nodes.append([name, "cat", ins, {}])
            elif cls == "Add":
                self.nodes.append([name, "add", ins, {}])
            else:
                raise ValueError(cls)
        for n in self.nodes:
            if n[1] == "conv":
                p = n[3]
                w = p["w"]
                if p["dw"]:  # KH,KW,C,1 -> C,1,KH,KW
                    w = w.transpose(2, 3, 0, 1)
                else:  # KH,KW,Cin,Cout -> Cout,Cin,KH,KW
                    w = w.transpose(3, 2, 0, 1)
                p["wt"] = torch.tensor(np.ascontiguousarray(w), dtype=torch.float32)
                p["bt"] = torch.tensor(p["b"], dtype=torch.float32)
        self.out = self.nodes[-1][0]

    def forward(self, x, keep=()):
        v = {}
        for name, op, ins, p in self.nodes:
            a = v[ins[0]] if ins else x
            if op == "input":
                y = x
            elif op == "conv":
                k, s = p["k"], p["s"]
                if p["pad"] == "same" or p["zp"]:
                    pt, pb = same_pad(a.shape[2], k[0], s[0])
                    pl, pr = same_pad(a.shape[3], k[1], s[1])
                    if pt == pb and pl == pr:
                        pad = (pt, pl)
                    else:
                        a = F.pad(a, (pl, pr, pt, pb))
                        pad = 0
                else:
                    pad = 0
                y = F.conv2d(a, p["wt"], p["bt"], s, pad, 1, a.shape[1] if p["dw"] else 1)
                if p["act"] == "relu":
                    y = F.relu(y)
                elif p["act"] == "relu6":
                    y = F.hardtanh(y, 0.0, 6.0)
            elif op == "max":
                y = F.max_pool2d(a, p["k"], p["s"])
            elif op == "avg":
                y = F.avg_pool2d(a, p["k"], p["s"], p["k"] // 2 if p["pad"] == "same" else 0,
                                 count_include_pad=False)
            elif op == "cat":
                y = torch.cat([v[i] for i in ins], 1)
            else:
                y = v[ins[0]] + v[ins[1]]
            v[name] = y
        return v[self.out], {k: v[k] for k in keep}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="models")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--ref", default=None)
    a = ap.parse_args()
    nets = {}
    for m in ("inception_v3", "mobilenet_v2"):
        meta, T = read_vstf(f"{a.models}/{m}.vstf")
        nets[m] = (meta, Net(meta, T))
    if a.ref:  # same network? compare with the tfjs activation
        for m, S, tap in (("inception_v3", 299, "mixed5"), ("mobilenet_v2", 224, "block_10_project_BN")):
            rgb = np.fromfile(f"{a.ref}/input_vtest_f300_{S}.rgb", np.uint8).reshape(1, S, S, 3)
            x = torch.tensor(rgb.astype(np.float32) / np.float32(127.5) - 1).permute(0, 3, 1, 2)
            with torch.inference_mode():
                y, _ = nets[m][1](x)
            want = np.load(f"{a.ref}/{m}_{tap}_vtest_f300.npy")
            d = np.abs(y[0].permute(1, 2, 0).numpy() - want).max()
            print(f"torch_backbone check model={m} tap={tap} max_abs_diff={d:.3g}")
    rng = np.random.default_rng(1)
    for t in a.threads:
        torch.set_num_threads(t)
        for m, S in (("inception_v3", 299), ("inception_v3", 224), ("mobilenet_v2", 224)):
            net = nets[m][1]
            x0 = torch.tensor(rng.random((a.batch, 3, S, S), dtype=np.float32) * 2 - 1)
            best = {}
            for fmt, x in (("nchw", x0), ("channels_last", x0.contiguous(memory_format=torch.channels_last))):
                b = 1e30
                with torch.inference_mode():
                    for r in range(a.reps + 1):
                        t0 = time.perf_counter()
                        net(x)
                        dt = time.perf_counter() - t0
                        if r > 0:
                            b = min(b, dt)
                best[fmt] = b
            fmt = min(best, key=best.get)
            b = best[fmt]
            print(f"torch_backbone model={m} size={S} threads={t} batch={a.batch} fps={a.batch / b:.2f} "
                  f"ms_per_frame={1e3 * b / a.batch:.2f} layout={fmt} torch={torch.__version__}", flush=True)


if __name__ == "__main__":
    main()
