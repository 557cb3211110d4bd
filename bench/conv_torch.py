#!/usr/bin/python3
"""bench/conv_torch.py -- PyTorch 1.13's side of the conv-layer benchmark in
bench/run: each distinct convolution shape that bench_conv lists (its --list
output or its --tsv file), timed as torch.nn.functional.conv2d forward plus
backward (the weight gradient, and the input gradient where the net computes
it: not for the layer that reads the network's input), no bias, float32.

Every repeat runs the shape once in NCHW (PyTorch's default) and once in
torch.channels_last (input, weight and output gradient converted up front),
so that both layouts see the same load; each is the median of --repeats timed
runs after --warmup untimed ones, and the faster layout is PyTorch's figure.
A run: y = F.conv2d(x, w, None, stride, padding) with autograd recording,
then torch.autograd.grad(y, [x, w] or [w], dy), timed with
time.perf_counter around each part.

    /usr/bin/python3 bench/conv_torch.py --shapes bench/out/conv_c.tsv --threads 2 --tsv out.tsv
"""
import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F

KEY = ("C", "H", "W", "O", "OH", "OW", "K", "stride", "pad", "bwd_data", "batch")


def read_shapes(path):
    shapes, header = [], None
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            cells = line.split("\t")
            if header is None:
                header = cells
                missing = [k for k in KEY if k not in header]
                if missing:
                    raise SystemExit("conv_torch.py: %s has no column(s) %s (give bench_conv's --list or --tsv "
                                     "output)" % (path, ", ".join(missing)))
                continue
            r = dict(zip(header, cells))
            s = tuple(int(r[k]) for k in KEY)
            if s not in shapes:
                shapes.append(s)
    if not shapes:
        raise SystemExit("conv_torch.py: no shapes in %s" % path)
    return shapes


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


def main():
    ap = argparse.ArgumentParser(description="Time PyTorch's conv2d forward + backward for bench_conv's shapes.")
    ap.add_argument("--shapes", required=True, help="bench_conv --list or --tsv output")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tsv")
    a = ap.parse_args()
    if a.threads < 1 or a.repeats < 1 or a.warmup < 0:
        raise SystemExit("conv_torch.py: --threads and --repeats must be >= 1, --warmup >= 0")
    if not os.path.exists(a.shapes):
        raise SystemExit("conv_torch.py: no file %s" % a.shapes)
    shapes = read_shapes(a.shapes)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    if not torch.__version__.startswith("1.13"):
        sys.stderr.write("conv_torch.py: warning: torch %s, not 1.13\n" % torch.__version__)

    rows = []
    for C, H, W, O, OH, OW, K, stride, pad, bwd_data, batch in shapes:
        base = dict(x=torch.randn(batch, C, H, W), w=torch.randn(O, C, K, K) * (3.0 / (C * K * K)) ** 0.5,
                    dy=torch.randn(batch, O, OH, OW) * 1e-3)
        cases = {}
        for layout, fmt in (("nchw", torch.contiguous_format), ("channels_last", torch.channels_last)):
            x = base["x"].contiguous(memory_format=fmt).requires_grad_(bool(bwd_data))
            w = base["w"].contiguous(memory_format=fmt).requires_grad_(True)
            dy = base["dy"].contiguous(memory_format=fmt)
            cases[layout] = (x, w, dy, [x, w] if bwd_data else [w])
        times = {k: ([], [], []) for k in cases}

        def run(layout, record):
            x, w, dy, wrt = cases[layout]
            t0 = time.perf_counter()
            y = F.conv2d(x, w, None, stride, pad)
            t1 = time.perf_counter()
            torch.autograd.grad(y, wrt, dy)
            t2 = time.perf_counter()
            if record:
                tf, tb, ts = times[layout]
                tf.append(t1 - t0)
                tb.append(t2 - t1)
                ts.append(t2 - t0)

        for _ in range(a.warmup):
            for k in cases:
                run(k, False)
        for _ in range(a.repeats):
            for k in cases:
                run(k, True)
        r = dict(C=C, H=H, W=W, O=O, OH=OH, OW=OW, K=K, stride=stride, pad=pad, bwd_data=bwd_data, batch=batch,
                 threads=a.threads)
        for k, (tf, tb, ts) in times.items():
            r[k] = (median(ts), min(ts), max(ts), median(tf), median(tb))
        best = min(cases, key=lambda k: r[k][0])
        r["best"] = best
        rows.append(r)
        n, c = r["nchw"], r["channels_last"]
        print("torch %d->%d %dx%d s%d p%d on %dx%d (batch %d%s): NCHW %.2f ms (%.2f-%.2f), channels_last %.2f ms "
              "(%.2f-%.2f); best %s" % (C, O, K, K, stride, pad, H, W, batch, "" if bwd_data else ", no input grad",
                                        1e3 * n[0], 1e3 * n[1], 1e3 * n[2], 1e3 * c[0], 1e3 * c[1], 1e3 * c[2], best))
        sys.stdout.flush()

    if a.tsv:
        tmp = a.tsv + ".tmp"
        with open(tmp, "w") as f:
            f.write("# conv_torch torch=%s threads=%d repeats=%d warmup=%d\n"
                    % (torch.__version__, a.threads, a.repeats, a.warmup))
            f.write("\t".join(KEY) + "\tthreads\tbest\tms\tlo\thi\tfwd_ms\tbwd_ms"
                    "\tnchw_ms\tnchw_lo\tnchw_hi\tcl_ms\tcl_lo\tcl_hi\n")
            for r in rows:
                b, n, c = r[r["best"]], r["nchw"], r["channels_last"]
                f.write("\t".join(str(r[k]) for k in KEY) + "\t%d\t%s\t%s\n" % (r["threads"], r["best"], "\t".join(
                    "%.4f" % (1e3 * v) for v in (b[0], b[1], b[2], b[3], b[4], n[0], n[1], n[2], c[0], c[1], c[2]))))
        os.replace(tmp, a.tsv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
