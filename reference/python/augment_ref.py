#!/usr/bin/env python3
"""augment_ref.py - reference outputs for vidsim's augment module (tests/unit/test_augment_parity.c).

Runs the libraries the S2VS training code uses - torchvision 0.14 (Debian python3-torchvision)
and Pillow 9.4 (python3-pil) - on small synthetic uint8 images with fixed parameters, and writes
tests/data/augment/ref.txt (one record per line: name T H W C offset [params...]) and
tests/data/augment/ref.bin (the raw uint8 arrays, HWC per frame, concatenated).

Records:
  input/ra      [2,16,20,3]  frames for RandAugment (frame 1 has a different histogram)
  ra/<Op>/<sign> [2,16,20,3] torchvision autoaugment._apply_op(op, magnitude of bin 9 of 31,
                             nearest, fill None) on the uint8 [T,C,H,W] tensor; params: op index,
                             the signed magnitude
  input/img     [1,24,32,3]  image for resize / blur
  rrc/<k>       [1,oh,ow,3]  F.resized_crop(img, top, left, h, w, [oh, ow], bilinear, antialias);
                             params: top left h w oh ow antialias
  blur/<r>      [1,24,32,3]  PIL ImageFilter.GaussianBlur(r); params: r
Usage: /usr/bin/python3 reference/python/augment_ref.py [outdir]
"""
import os
import sys

import numpy as np
import torch
import torchvision
from PIL import Image, ImageFilter
from torchvision.transforms import InterpolationMode, autoaugment
from torchvision.transforms import functional as F

OPS = ["Identity", "ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "Brightness", "Color",
       "Contrast", "Sharpness", "Posterize", "Solarize", "AutoContrast", "Equalize"]


def synth(rng, T, H, W):
    """Smooth gradients, a disc, a bar and noise: every value range and edges occur."""
    y, x = np.mgrid[0:H, 0:W].astype(np.float64)
    out = np.zeros((T, H, W, 3), np.uint8)
    for t in range(T):
        r = 255 * x / (W - 1)
        g = 255 * y / (H - 1)
        b = 128 + 100 * np.sin((x + 2 * y) / 3.0 + t)
        img = np.stack([r, g, b], -1)
        disc = (x - W * 0.6) ** 2 + (y - H * 0.4) ** 2 < (min(H, W) * 0.25) ** 2
        img[disc] = [250, 30 + 60 * t, 20]
        img[H // 5:H // 5 + 2, :] = 0
        img += rng.normal(0, 12, img.shape)
        if t == 1:
            img = 40 + img * 0.5  # narrower histogram: autocontrast / equalize / contrast differ per frame
        out[t] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return out


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "augment")
    os.makedirs(outdir, exist_ok=True)
    torch.manual_seed(0)
    rng = np.random.default_rng(1234)
    recs = []  # (name, array THWC uint8, params)

    frames = synth(rng, 2, 16, 20)
    recs.append(("input/ra", frames, []))
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).contiguous()  # [T,C,H,W] as in S2VS
    space = autoaugment.RandAugment(num_ops=2, magnitude=9)._augmentation_space(31, (16, 20))
    assert list(space.keys()) == OPS
    for k, op in enumerate(OPS):
        mags, signed = space[op]
        m = float(mags[9].item()) if mags.ndim > 0 else 0.0
        for sign in ([1, -1] if signed else [1]):
            y = autoaugment._apply_op(x.clone(), op, m * sign, interpolation=InterpolationMode.NEAREST, fill=None)
            recs.append((f"ra/{op}/{'+' if sign > 0 else '-'}", y.permute(0, 2, 3, 1).numpy(), [k, repr(m * sign)]))

    img = synth(rng, 1, 24, 32)
    recs.append(("input/img", img, []))
    t = torch.from_numpy(img).permute(0, 3, 1, 2).contiguous()
    cases = [(0, 0, 24, 32, 24, 32), (3, 5, 18, 22, 32, 32), (1, 2, 21, 29, 13, 17), (4, 6, 10, 12, 40, 36),
             (0, 0, 24, 32, 7, 9)]
    for k, (top, left, h, w, oh, ow) in enumerate(cases):
        for aa in (False, True):
            y = F.resized_crop(t, top, left, h, w, [oh, ow], InterpolationMode.BILINEAR, antialias=aa)
            recs.append((f"rrc/{k}{'aa' if aa else ''}", y.permute(0, 2, 3, 1).numpy(),
                         [top, left, h, w, oh, ow, int(aa)]))

    pil = Image.fromarray(img[0])
    for r in (0.1, 0.45, 0.8, 1.0, 1.37, 2.0, 5.5):
        y = np.asarray(pil.filter(ImageFilter.GaussianBlur(r)))
        recs.append((f"blur/{r}", y[None], [repr(r)]))

    off = 0
    lines = [f"# augment_ref.py: torchvision {torchvision.__version__}, torch {torch.__version__}, "
             f"Pillow {Image.__version__}, numpy {np.__version__}",
             "# name T H W C offset params..."]
    blob = bytearray()
    for name, a, params in recs:
        a = np.ascontiguousarray(a, dtype=np.uint8)
        T, H, W, C = a.shape
        lines.append(" ".join([name, str(T), str(H), str(W), str(C), str(off)] + [str(p) for p in params]))
        blob += a.tobytes()
        off += a.nbytes
    with open(os.path.join(outdir, "ref.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(outdir, "ref.bin"), "wb") as f:
        f.write(bytes(blob))
    print(f"{len(recs)} records, {off} bytes -> {outdir}")


if __name__ == "__main__":
    main()
