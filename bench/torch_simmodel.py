#!/usr/bin/python3
"""torch_simmodel.py - PyTorch counterpart of bench_simmodel.c: the S2VS ViSiL
similarity network (attention=True, zero-padded comparator, Hardtanh; the operations
of gkordo/s2vs model/similarity_network.py and similarities.py, re-typed here so the
script needs nothing but torch) on random weights, one query (T x R x D) against N
targets (U x R x D), already indexed, in evaluation mode under torch.no_grad().
Two ways are timed, best of --reps each:
  pairwise  calculate_video_similarity(query, target) per target (what S2VS's
            evaluation loop does),
  batched   one call with all N targets stacked (einsum 'aiok,bjpk->aiopjb').
Prints one machine-readable line with the faster of the two (wall clock), and
pairs_per_cpu_s (process CPU time, robust to other load on a shared machine).

    /usr/bin/python3 bench/torch_simmodel.py --threads 1 --targets 32 --T 60 --U 60 --D 512
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Comparator(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.conv3 = nn.Conv2d(64, 128, 3)
        self.fconv = nn.Conv2d(128, 1, 1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, s):                       # s [N,1,T,U]
        s = F.relu(self.conv1(F.pad(s, (1, 1, 1, 1))))
        s = F.max_pool2d(s, 2, 2)
        s = F.relu(self.conv2(F.pad(s, (1, 1, 1, 1))))
        s = F.max_pool2d(s, 2, 2)
        s = F.relu(self.conv3(F.pad(s, (1, 1, 1, 1))))
        return self.fconv(s)


def video_sim(comp, q, t):
    """q [1,T,R,D], t [N,U,R,D] -> [N] (reference: einsum, Chamfer axes [3,2])."""
    sim = torch.einsum('aiok,bjpk->aiopjb', q, t)
    sim = sim.max(3)[0].mean(2)                  # max over target regions, mean over query regions
    sim = sim.permute(0, 3, 1, 2).reshape(-1, 1, sim.shape[1], sim.shape[2])  # (a b) () i j
    v = F.hardtanh(comp(sim))
    return v.max(3)[0].mean(2).view(-1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--targets', type=int, default=32)
    ap.add_argument('--T', type=int, default=60)
    ap.add_argument('--U', type=int, default=60)
    ap.add_argument('--D', type=int, default=512)
    ap.add_argument('--reps', type=int, default=7)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    R = 9
    comp = Comparator().eval()
    q = F.normalize(torch.randn(1, a.T, R, a.D), dim=-1)
    ts = F.normalize(torch.randn(a.targets, a.U, R, a.D), dim=-1)
    best, best_cpu = {}, {}
    with torch.no_grad():
        for mode in ('pairwise', 'batched'):
            b = bc = 1e30
            for r in range(a.reps + 1):              # first run is warm-up
                t0, c0 = time.perf_counter(), time.process_time()
                if mode == 'pairwise':
                    out = [video_sim(comp, q, ts[k:k + 1]) for k in range(a.targets)]
                else:
                    out = video_sim(comp, q, ts)
                dt, dc = time.perf_counter() - t0, time.process_time() - c0
                if r > 0:
                    b, bc = min(b, dt), min(bc, dc)
            best[mode], best_cpu[mode] = b, bc
    mode = min(best, key=best.get)
    cmode = min(best_cpu, key=best_cpu.get)
    print('torch_simmodel T=%d U=%d R=%d D=%d threads=%d targets=%d torch=%s pairwise_pairs_per_s=%.2f '
          'batched_pairs_per_s=%.2f best_mode=%s pairs_per_s=%.2f pairs_per_cpu_s=%.2f cpu_mode=%s' % (
              a.T, a.U, R, a.D, a.threads, a.targets, torch.__version__,
              a.targets / best['pairwise'], a.targets / best['batched'], mode, a.targets / best[mode],
              a.targets / best_cpu[cmode], cmode))


if __name__ == '__main__':
    main()
