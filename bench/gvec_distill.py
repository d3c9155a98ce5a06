#!/usr/bin/python3
"""gvec_distill.py - an experiment (docs/scale.md "Where the rest of the recall is lost"):
distil the untrained ViSiL_f into the first stage's global-vector map, as DnS distils its
teacher into its students, and write the map as a `vidsim train-gvec` file, so that
`bench_scale --gvec-whiten OUT` measures it. Not part of vidsim: it lost recall held out.

    /usr/bin/python3 bench/gvec_distill.py BANK INIT_MAP OUT [STEPS]

BANK      an augmentation bank of `vidsim train` / `vidsim train-gvec --bank` (VSTF)
INIT_MAP  a gvec map to start from (`vidsim train-gvec` output; its metadata is copied)
Environment: LOSS=kl|l1|mse (kl), TT, TS (temperatures of kl, 0.05), LR (1e-3), PER
(windows per view, 8), LMAX (longest window in frames, 8).

Teacher: ViSiL_f between windows of the bank's views: region Chamfer (each region's best
match in the other frame, averaged), then frame Chamfer, averaged both ways.
Student: normalise(W . mean region vector of the window), W initialised from INIT_MAP.
kl: per window, KL divergence of softmax(teacher / TT) to softmax(student / TS) over every
other window; l1 / mse: the student's similarity against an affine map of the teacher's
(fitted at the start, then learned with W). Needs python3-torch and python3-numpy.
"""
import os
import struct
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_backbone import read_vstf  # noqa: E402  (the bench's VSTF reader: float32 tensors, as banks and maps hold)


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for x in data:
        h = ((h ^ x) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def vstf_write(path, meta, tensors):
    """A VSTF file of float32 tensors, written whole to PATH.tmp and renamed."""
    hdr = bytearray(b'VIDSIMTF' + struct.pack('<IIII', 1, len(meta), len(tensors), 0) + b'\0' * 16)
    for k, v in meta.items():
        kb, vb = k.encode(), v.encode()
        hdr += struct.pack('<I', len(kb)) + kb + struct.pack('<I', len(vb)) + vb
    data = bytearray()
    for name, a in tensors.items():
        a = np.ascontiguousarray(a, dtype=np.float32)
        off = len(data)
        data += a.tobytes()
        data += b'\0' * (-len(data) % 64)
        nb = name.encode()
        hdr += struct.pack('<I', len(nb)) + nb + struct.pack('<II', 0, a.ndim)
        hdr += struct.pack('<%dQ' % a.ndim, *a.shape) + struct.pack('<QQ', off, a.nbytes)
    data_offset = (len(hdr) + 63) // 64 * 64
    hdr += b'\0' * (data_offset - len(hdr))
    struct.pack_into('<QQ', hdr, 24, data_offset, len(data))
    body = bytes(hdr) + bytes(data)
    with open(path + '.tmp', 'wb') as f:
        f.write(body + struct.pack('<Q', fnv1a64(body)) + b'VSTFEND1')
    os.replace(path + '.tmp', path)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    bank, init, out = sys.argv[1:4]
    steps = int(sys.argv[4]) if len(sys.argv) > 4 else 300
    env = os.environ.get
    loss_kind, tt, ts, lr = env('LOSS', 'kl'), float(env('TT', '0.05')), float(env('TS', '0.05')), float(env('LR', '1e-3'))
    per, lmax = int(env('PER', '8')), int(env('LMAX', '8'))
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    meta, tens = read_vstf(bank)
    nv, R, D = int(meta['bank.n_videos']), int(meta['bank.R']), int(meta['bank.D'])
    n_views = int(meta['bank.n_weak']) + int(meta['bank.n_strong']) + int(meta['bank.n_viv'])
    wins = []  # (video, region features [L, R, D]) of random windows of every view
    for v in range(nv):
        for k in range(n_views):
            x = tens['video.%d.view.%d' % (v, k)]
            for _ in range(per):
                L = int(rng.integers(1, max(1, min(lmax, x.shape[0] // 2)) + 1))
                s = int(rng.integers(0, x.shape[0] - L + 1))
                wins.append((v, x[s:s + L]))
    N = len(wins)
    F = np.zeros((N, lmax, R, D), np.float32)
    M = np.zeros((N, lmax), bool)
    for i, (_, x) in enumerate(wins):
        F[i, :len(x)] = x
        M[i, :len(x)] = True
    vid = np.array([w[0] for w in wins])
    Ft, Mt = torch.from_numpy(F), torch.from_numpy(M)
    flat = Ft.reshape(N * lmax * R, D)
    t0 = time.time()
    teacher = torch.zeros(N, N)
    for a0 in range(0, N, 16):  # blocks of 16 anchor windows against all
        a1 = min(N, a0 + 16)
        G = (Ft[a0:a1].reshape(-1, D) @ flat.T).reshape(a1 - a0, lmax, R, N, lmax, R)
        fs = G.max(dim=5).values.mean(dim=2)  # region Chamfer: [anchor, its frame, window, frame]
        fs = fs.masked_fill(~Mt[None, None], -1e9).max(dim=3).values  # best frame of the window
        ma = Mt[a0:a1].float()
        teacher[a0:a1] = (fs * ma[:, :, None]).sum(1) / ma.sum(1)[:, None]
    teacher = 0.5 * (teacher + teacher.T)
    print('%d windows of %d videos, teacher in %.0f s' % (N, nv, time.time() - t0), file=sys.stderr)

    X = torch.from_numpy(np.stack([x.reshape(-1, D).mean(0) for _, x in wins]))
    imeta, itens = read_vstf(init)
    W = torch.tensor(np.array(itens['whiten.W']), requires_grad=True)
    eye = torch.eye(N, dtype=torch.bool)

    def student():
        Y = torch.nn.functional.normalize(X @ W.T, dim=1)
        return Y @ Y.T

    def corr():
        with torch.no_grad():
            return np.corrcoef(student()[~eye].numpy(), teacher[~eye].numpy())[0, 1]

    params = [W]
    ab = torch.tensor([1.0, 0.0])
    if loss_kind != 'kl':
        with torch.no_grad():
            ab = torch.tensor(np.polyfit(teacher[~eye].double().numpy(), student()[~eye].double().numpy(), 1),
                              dtype=torch.float32)
        ab.requires_grad_(True)
        params.append(ab)
    target = torch.softmax(teacher.masked_fill(eye, -1e9) / tt, dim=1)
    opt = torch.optim.Adam(params, lr=lr)
    c0 = corr()
    for it in range(steps):
        S = student()
        if loss_kind == 'kl':
            loss = -(target * torch.log_softmax(S.masked_fill(eye, -1e9) / ts, dim=1)).sum(1).mean()
        else:
            d = (S - (ab[0] * teacher + ab[1]))[~eye]
            loss = (d * d).mean() if loss_kind == 'mse' else d.abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if it % 50 == 0 or it == steps - 1:
            print('step %d loss %.4f' % (it, loss.item()), file=sys.stderr)
    print('correlation of student and teacher similarities: %.3f -> %.3f' % (c0, corr()), file=sys.stderr)
    keep = {k: v for k, v in imeta.items() if k not in ('kind', 'dim')}
    keep['distill'] = 'loss=%s tt=%g ts=%g lr=%g steps=%d per=%d lmax=%d' % (loss_kind, tt, ts, lr, steps, per, lmax)
    vstf_write(out, {'kind': 'gvec_whitening', 'dim': str(D), **keep}, {'whiten.W': W.detach().numpy()})


if __name__ == '__main__':
    main()
