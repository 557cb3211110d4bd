#!/usr/bin/python3
"""bench/train_torch.py -- PyTorch 1.13's side of bench/run's training steps: images per
second of one training epoch (or its first N batches) of the same networks as
bench/bench_train.c, on Fashion-MNIST's training split held in memory as one
float32 tensor or on synthetic data (--synthetic CxHxW), and the process's peak
memory (max RSS).

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
    /usr/bin/python3 bench/train_torch.py --model resnet18 --batch 128 --threads 2 \
        --synthetic 3x32x32 --classes 10 --images 1280 --batches 10 --warmup 3 --tsv out.tsv
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


class EReLU(nn.Module):
    """x if x >= 0 else -ln(1-x), as a composite of PyTorch operations."""

    def forward(self, x):
        return torch.where(x >= 0, x, -torch.log1p(-x.clamp(max=0)))


def act_module(act):
    return nn.ReLU() if act == "relu" else EReLU()


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride, act):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.act1 = act_module(act)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))
        self.act2 = act_module(act)

    def forward(self, x):
        out = self.act1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.act2(out + self.shortcut(x))


class ResNet18(nn.Module):
    def __init__(self, channels, classes, act):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(channels, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64),
                                  act_module(act))
        blocks, cin = [], 64
        for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            blocks += [BasicBlock(cin, cout, stride, act), BasicBlock(cout, cout, 1, act)]
            cin = cout
        self.layers = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(512, classes)

    def forward(self, x):
        return self.linear(torch.flatten(self.pool(self.layers(self.stem(x))), 1))


def vgg16(channels, classes, act):
    layers, cin = [], channels
    for v in (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"):
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(cin, v, 3, padding=1, bias=False), nn.BatchNorm2d(v), act_module(act)]
            cin = v
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(512, classes))


def init_cnn(net):
    """He normal (fan in) as actlab: the gain of a ReLU for every convolution (each feeds batch
    norm and then the activation), 1 for the output Linear, biases 0; batch norm scale 1, shift 0."""
    for m in net.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu" if isinstance(m, nn.Conv2d) else "linear")
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def build(model, channels=1, classes=10, act="relu"):
    if model == "resnet18":
        return ResNet18(channels, classes, act)
    if model == "vgg16":
        return vgg16(channels, classes, act)
    if act != "relu":
        raise SystemExit("train_torch.py: --act %s only with resnet18 and vgg16" % act)
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
    raise SystemExit("train_torch.py: unknown model %r (mlp, lenet, resnet18, vgg16)" % model)


def main():
    ap = argparse.ArgumentParser(description="Time one training epoch in PyTorch like bench/bench_train.c does.")
    ap.add_argument("--model", default="mlp", choices=["mlp", "lenet", "resnet18", "vgg16"])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batches", type=int, default=0, help="time only the first N batches (default: the epoch)")
    ap.add_argument("--epochs-fraction", type=float, default=1.0)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--act", default="relu", choices=["relu", "erelu"])
    ap.add_argument("--channels-last", action="store_true", help="model and batches in torch.channels_last")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--synthetic", metavar="CxHxW", help="random normal images of this shape instead of --data")
    ap.add_argument("--classes", type=int, default=10, help="classes of the synthetic labels")
    ap.add_argument("--images", type=int, default=0, help="synthetic images (default: batch x max(batches, warmup))")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tsv")
    a = ap.parse_args()

    base_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # interpreter + torch, no data
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    torch.autograd.set_detect_anomaly(False)
    if not torch.__version__.startswith("1.13"):
        sys.stderr.write("train_torch.py: warning: torch %s, not 1.13\n" % torch.__version__)

    if a.synthetic:
        try:
            c, h, w = (int(v) for v in a.synthetic.lower().split("x"))
            assert c > 0 and h > 0 and w > 0 and a.classes > 1 and a.images >= 0
        except (ValueError, AssertionError):
            raise SystemExit("train_torch.py: --synthetic takes CxHxW (e.g. 3x32x32), --classes >= 2")
        count = a.images or a.batch * max(a.batches or 1, a.warmup, 1)
        x = torch.randn(count, c, h, w)
        y = torch.randint(0, a.classes, (count,))
        data_name = "synthetic %s" % a.synthetic
    else:
        imgs = read_idx(find(a.data, "train-images-idx3-ubyte"))
        labs = read_idx(find(a.data, "train-labels-idx1-ubyte"))
        x = torch.from_numpy(imgs.astype(np.float32)).div_(255.0).unsqueeze(1).contiguous()  # [N,1,28,28]
        del imgs
        mean, std = x.mean().item(), x.std(unbiased=False).item()
        x.sub_(mean).div_(std)
        y = torch.from_numpy(labs.astype(np.int64))
        count, c, data_name = x.shape[0], 1, "fashion-mnist"

    net = build(a.model, c, a.classes if a.synthetic else 10, a.act)
    if a.model in ("resnet18", "vgg16"):
        init_cnn(net)
    else:
        # actlab's initialisation (He normal with the gain of the following activation: sqrt 2 before a
        # ReLU, 1 for the output layer; biases 0) instead of PyTorch's default, so both learn alike
        mods = list(net)
        for i, m in enumerate(mods):
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                relu_next = i + 1 < len(mods) and isinstance(mods[i + 1], nn.ReLU)
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu" if relu_next else "linear")
                nn.init.zeros_(m.bias)
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    if a.channels_last:
        net = net.to(memory_format=fmt)
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    nb = (count + a.batch - 1) // a.batch
    timed = min(a.batches, nb) if a.batches else max(1, int(math.ceil(a.epochs_fraction * nb)))

    def step(idx):
        xb = x.index_select(0, idx)
        if a.channels_last:
            xb = xb.contiguous(memory_format=fmt)
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
    steps = []
    t0 = time.perf_counter()
    for b in range(timed):
        idx = perm[b * a.batch:(b + 1) * a.batch]
        ts = time.perf_counter()
        loss = step(idx)
        steps.append(time.perf_counter() - ts)
        if b == 0:
            loss_first = loss.item()
        images += idx.shape[0]
    loss_last = loss.item()  # one sync at the end (CPU: no effect on timing)
    seconds = time.perf_counter() - t0
    steps.sort()
    step_med = steps[len(steps) // 2] if len(steps) % 2 else 0.5 * (steps[len(steps) // 2 - 1] + steps[len(steps) // 2])

    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    img_s = images / seconds
    layout = "channels_last" if a.channels_last else "nchw"
    print("torch %s %s %s %s batch %d threads %d (%s): %d/%d batches, %d images in %.3f s = %.1f img/s "
          "(step median %.3f s); max RSS %.1f MB (%.1f before the data); loss %.4f -> %.4f"
          % (torch.__version__, a.model, a.act, layout, a.batch, a.threads, data_name, timed, nb, images, seconds,
             img_s, step_med, rss_mb, base_rss_mb, loss_first, loss_last))
    if a.tsv:
        tmp = a.tsv + ".tmp"
        with open(tmp, "w") as f:
            f.write("side\tmodel\tbatch\tthreads\tbatches\timages\tseconds\timg_s\tmax_rss_mb\tloss_first\tloss_last"
                    "\tbase_rss_mb\tact\tlayout\tdata\tstep_s_median\tstep_s_min\n")
            f.write("torch\t%s\t%d\t%d\t%d\t%d\t%.4f\t%.2f\t%.1f\t%.4f\t%.4f\t%.1f\t%s\t%s\t%s\t%.4f\t%.4f\n" % (
                a.model, a.batch, a.threads, timed, images, seconds, img_s, rss_mb, loss_first, loss_last,
                base_rss_mb, a.act, layout, a.synthetic and "synthetic:" + a.synthetic or "fashion-mnist",
                step_med, steps[0]))
        os.replace(tmp, a.tsv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
