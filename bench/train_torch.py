#!/usr/bin/python3
"""bench/train_torch.py -- PyTorch 1.13's side of bench/run-train: images per
second of one training epoch of the same networks as bench/bench_train.c, on
Fashion-MNIST's training split held in memory as one float32 tensor, and the
process's peak memory (max RSS).

  mlp    8 x (Linear(., 128), ReLU), Linear(128, 10)            (models/mlp.cfg)
  lenet  Conv2d(1,6,5,padding=2), ReLU, MaxPool2d(2), Conv2d(6,16,5), ReLU,
         MaxPool2d(2), Flatten, Linear(400,120), ReLU, Linear(120,84), ReLU,
         Linear(84,10)                                          (models/lenet.cfg)

Data: the IDX .gz files read with gzip + numpy, scaled to [0,1] and normalised
with the split's mean and standard deviation (as actlab). Training: SGD(lr=0.01,
momentum=0.9), F.cross_entropy, zero_grad(set_to_none=True), a fresh
torch.randperm order, batches gathered with index_select from the in-memory
tensor. W warm-up batches (default 5) are not timed; then every batch of the
epoch (or the first N, --batches) is timed with time.perf_counter. Max RSS is
resource.getrusage(RUSAGE_SELF).ru_maxrss at the end, as bench_train does;
the value at the start (interpreter and torch loaded, no data) is reported too.

    /usr/bin/python3 bench/train_torch.py --model mlp --batch 64 --threads 1 --tsv out.tsv
"""
import argparse
import gzip
import math
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[0:4], "big")
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(d, stem):
    for name in (stem + ".gz", stem):
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    raise SystemExit("train_torch.py: no %s[.gz] in %s" % (stem, d))


def build(model):
    if model == "mlp":
        layers, width = [nn.Flatten()], 784
        for _ in range(8):
            layers += [nn.Linear(width, 128), nn.ReLU()]
            width = 128
        layers.append(nn.Linear(128, 10))
        return nn.Sequential(*layers)
    if model == "lenet":
        return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    raise SystemExit("train_torch.py: unknown model %r (mlp, lenet)" % model)


def main():
    ap = argparse.ArgumentParser(description="Time one training epoch in PyTorch like bench/bench_train.c does.")
    ap.add_argument("--model", default="mlp", choices=["mlp", "lenet"])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batches", type=int, default=0, help="time only the first N batches (default: the epoch)")
    ap.add_argument("--epochs-fraction", type=float, default=1.0)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tsv")
    a = ap.parse_args()

    base_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # interpreter + torch, no data
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    torch.autograd.set_detect_anomaly(False)
    if not torch.__version__.startswith("1.13"):
        sys.stderr.write("train_torch.py: warning: torch %s, not 1.13\n" % torch.__version__)

    imgs = read_idx(find(a.data, "train-images-idx3-ubyte"))
    labs = read_idx(find(a.data, "train-labels-idx1-ubyte"))
    x = torch.from_numpy(imgs.astype(np.float32)).div_(255.0).unsqueeze(1).contiguous()  # [N,1,28,28]
    del imgs
    mean, std = x.mean().item(), x.std(unbiased=False).item()
    x.sub_(mean).div_(std)
    y = torch.from_numpy(labs.astype(np.int64))
    count = x.shape[0]

    net = build(a.model)
    # actlab's initialisation (He normal with the gain of the following activation: sqrt 2 before a
    # ReLU, 1 for the output layer; biases 0) instead of PyTorch's default, so both learn alike
    mods = list(net)
    for i, m in enumerate(mods):
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            relu_next = i + 1 < len(mods) and isinstance(mods[i + 1], nn.ReLU)
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu" if relu_next else "linear")
            nn.init.zeros_(m.bias)
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    nb = (count + a.batch - 1) // a.batch
    timed = min(a.batches, nb) if a.batches else max(1, int(math.ceil(a.epochs_fraction * nb)))

    def step(idx):
        xb = x.index_select(0, idx)
        yb = y.index_select(0, idx)
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(xb), yb)
        loss.backward()
        opt.step()
        return loss

    perm = torch.randperm(count)
    for b in range(min(a.warmup, nb)):
        step(perm[b * a.batch:(b + 1) * a.batch])

    perm = torch.randperm(count)
    images = 0
    loss_first = loss_last = float("nan")
    t0 = time.perf_counter()
    for b in range(timed):
        idx = perm[b * a.batch:(b + 1) * a.batch]
        loss = step(idx)
        if b == 0:
            loss_first = loss.item()
        images += idx.shape[0]
    loss_last = loss.item()  # one sync at the end (CPU: no effect on timing)
    seconds = time.perf_counter() - t0

    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    img_s = images / seconds
    print("torch %s %s batch %d threads %d: %d/%d batches, %d images in %.3f s = %.0f img/s; max RSS %.1f MB (%.1f before the data); "
          "loss %.4f -> %.4f" % (torch.__version__, a.model, a.batch, a.threads, timed, nb, images, seconds, img_s,
                                 rss_mb, base_rss_mb, loss_first, loss_last))
    if a.tsv:
        tmp = a.tsv + ".tmp"
        with open(tmp, "w") as f:
            f.write("side\tmodel\tbatch\tthreads\tbatches\timages\tseconds\timg_s\tmax_rss_mb\tloss_first\tloss_last\tbase_rss_mb\n")
            f.write("torch\t%s\t%d\t%d\t%d\t%d\t%.4f\t%.1f\t%.1f\t%.4f\t%.4f\t%.1f\n" % (
                a.model, a.batch, a.threads, timed, images, seconds, img_s, rss_mb, loss_first, loss_last,
                base_rss_mb))
        os.replace(tmp, a.tsv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
