#!/usr/bin/python3
"""bench/act_torch.py -- PyTorch 1.13's side of bench/act: the same activation
functions, timed the same way as bench/bench_act.c, for bench/run to join.

For each function (rows keyed by actlab's catalogue names, as bench_act names
them) this times, on n float32 inputs (default 16M = 16 * 2^20) drawn from the
same distribution (not the same numbers) with torch.set_num_threads(t):

  fwd      y = f(x), two ways, the faster one is PyTorch's figure:
             call  y = f(x) as users write it (no_grad; a fresh output tensor)
             out   the ATen op's out= variant into a preallocated y (where the
                   op has one), i.e. what bench_act does
  fwd+bwd  forward then dx = dy * f'(x), two ways, the faster one counts:
             autograd  y = f(x) with x.requires_grad; y.backward(dy)
             manual    the out= forward, then the ATen backward op PyTorch's
                       autograd itself calls (threshold_backward, elu_backward,
                       gelu_backward, ...) into a preallocated dx

Functions PyTorch has no op for are plain composites (e.g. erelu is
torch.where(x >= 0, x, -torch.log1p(-x))): call and autograd only. Every figure
is the median of R timed repeats after a warm-up; slow cases get fewer repeats
(at least 3) to stay within --budget seconds per case. As in bench_act, each
timed run follows a copy of two other arrays (here torch's own copy_), timed
too, so shares of the copy bandwidth can be compared under this machine's
drifting bandwidth.

Output: --tsv FILE, one row per function and thread count (times in ns per
element); a human summary on stdout. Run with Debian's interpreter, which has
python3-torch (the python3 on PATH does not):

    /usr/bin/python3 bench/act_torch.py --threads 1,2 --tsv out/torch.tsv

bench/run runs it with GLIBC_TUNABLES=glibc.malloc.hugetlb=1: on this VM a page
fault costs ~11 us, and every 64 MiB tensor PyTorch allocates (it returns them
to the system on free) would otherwise pay ~180 ms of faults.
"""
import argparse
import math
import os
import sys
import time


def parse_count(s):
    mult = {"k": 1 << 10, "K": 1 << 10, "m": 1 << 20, "M": 1 << 20, "g": 1 << 30, "G": 1 << 30}
    try:
        if s and s[-1] in mult:
            v = float(s[:-1]) * mult[s[-1]]
        else:
            v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a count such as 16M or 1000000, got %r" % s)
    if not (v >= 1 and v == math.floor(v) and v <= 4e9):
        raise argparse.ArgumentTypeError("expected a whole positive count such as 16M, got %r" % s)
    return int(v)


def parse_threads(s):
    try:
        ts = [int(t) for t in s.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError("expected a comma-separated list such as 1,2, got %r" % s)
    if not ts or any(t < 1 for t in ts):
        raise argparse.ArgumentTypeError("thread counts must be >= 1, got %r" % s)
    return ts


def parse_args():
    ap = argparse.ArgumentParser(description="Time PyTorch's activation functions like bench/bench_act does.")
    ap.add_argument("keys", nargs="*", help="functions to time (bench_act row names); default all")
    ap.add_argument("--n", type=parse_count, default=16 << 20, help="elements (default 16M; suffixes k, M, G)")
    ap.add_argument("--threads", type=parse_threads, default=[1, 2], help="thread counts (default 1,2)")
    ap.add_argument("--repeats", type=int, default=7, help="timed repeats, median reported (default 7)")
    ap.add_argument("--budget", type=float, default=3.0,
                    help="seconds of timed runs per function and thread count before repeats are cut "
                         "(to no fewer than 3; default 3)")
    ap.add_argument("--dist", choices=["normal", "uniform"], default="normal",
                    help="inputs from N(0, sd 2) (default) or U[-6, 6]")
    ap.add_argument("--seed", type=int, default=1, help="torch.manual_seed (default 1)")
    ap.add_argument("--random", choices=["train", "eval", "both"], default="both",
                    help="mode(s) for random functions, as bench_act (default both)")
    ap.add_argument("--cpu-capability", default=None,
                    help="set ATEN_CPU_CAPABILITY (default, avx2, avx512) before importing torch; "
                         "default: leave PyTorch's own choice")
    ap.add_argument("--tsv", help="write the results here")
    ap.add_argument("--list", action="store_true", help="list the functions and their PyTorch forms, then exit")
    a = ap.parse_args()
    if a.repeats < 1:
        ap.error("--repeats must be at least 1")
    return a


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None and ARGS.cpu_capability:
    os.environ["ATEN_CPU_CAPABILITY"] = ARGS.cpu_capability

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

A = torch.ops.aten
LN2 = math.log(2.0)
SELU_A = 1.6732632423543772
SELU_L = 1.0507009873554805
RRELU_L, RRELU_U = 0.125, 1.0 / 3.0


# ---------------------------------------------------------------------------
# The functions. Each case: key -> dict with
#   desc      what PyTorch runs
#   call(x)   the function as users call it
#   out(x, y, s)      forward into y (s: scratch dict for buffers), or None
#   bwd(dy, x, y, dx, s)  manual backward into dx after out(), or None
#   params    learnable tensors (autograd also computes their gradients)
#   random    1 when training-mode noise is drawn (+4 B/element forward, as bench_act)
#   composite 1 when PyTorch has no op of its own for it

CASES = {}


def case(key, desc, call, out=None, bwd=None, params=None, random=0, composite=0):
    CASES[key] = dict(desc=desc, call=call, out=out, bwd=bwd, params=params or [], random=random,
                      composite=composite)


def build_cases():
    # classic saturating
    case("sigmoid", "torch.sigmoid; sigmoid_backward(dy, y)", torch.sigmoid,
         lambda x, y, s: A.sigmoid.out(x, out=y),
         lambda dy, x, y, dx, s: A.sigmoid_backward.grad_input(dy, y, grad_input=dx))
    case("tanh", "torch.tanh; tanh_backward(dy, y)", torch.tanh,
         lambda x, y, s: A.tanh.out(x, out=y),
         lambda dy, x, y, dx, s: A.tanh_backward.grad_input(dy, y, grad_input=dx))
    case("softsign", "F.softsign = x / (1 + |x|) (a composite in PyTorch too)", F.softsign, composite=1)
    case("softplus", "F.softplus(beta=1, threshold=20); softplus_backward", F.softplus,
         lambda x, y, s: A.softplus.out(x, 1, 20, out=y),
         lambda dy, x, y, dx, s: A.softplus_backward.grad_input(dy, x, 1, 20, grad_input=dx))
    case("hardtanh", "F.hardtanh; hardtanh_backward", F.hardtanh,
         lambda x, y, s: A.hardtanh.out(x, -1, 1, out=y),
         lambda dy, x, y, dx, s: A.hardtanh_backward.grad_input(dy, x, -1, 1, grad_input=dx))

    def logsig_out(x, y, s):
        A.log_sigmoid_forward.output(x, output=y, buffer=s.setdefault("buf", torch.empty_like(x)))

    case("logsigmoid", "F.logsigmoid; log_sigmoid_forward + log_sigmoid_backward", F.logsigmoid, logsig_out,
         lambda dy, x, y, dx, s: A.log_sigmoid_backward.grad_input(dy, x, s["buf"], grad_input=dx))
    case("hardsigmoid", "F.hardsigmoid; hardsigmoid_backward", F.hardsigmoid,
         lambda x, y, s: A.hardsigmoid.out(x, out=y),
         lambda dy, x, y, dx, s: A.hardsigmoid_backward.grad_input(dy, x, grad_input=dx))
    case("tanhshrink", "F.tanhshrink = x - tanh(x) (a composite in PyTorch too)", F.tanhshrink, composite=1)

    # ReLU family
    # torch.relu is clamp_min(x, 0); aten relu.out computes into a temporary and copies, so the
    # out= form is clamp_min.out, relu's own kernel.
    case("relu", "torch.relu (out=: clamp_min.out, its kernel); threshold_backward(dy, y, 0)", torch.relu,
         lambda x, y, s: A.clamp_min.out(x, 0, out=y),
         lambda dy, x, y, dx, s: A.threshold_backward.grad_input(dy, y, 0, grad_input=dx))
    case("relu6", "F.relu6 = hardtanh(0, 6); hardtanh_backward", F.relu6,
         lambda x, y, s: A.hardtanh.out(x, 0, 6, out=y),
         lambda dy, x, y, dx, s: A.hardtanh_backward.grad_input(dy, x, 0, 6, grad_input=dx))
    case("leaky_relu", "F.leaky_relu(0.01); leaky_relu_backward", F.leaky_relu,
         lambda x, y, s: A.leaky_relu.out(x, 0.01, out=y),
         lambda dy, x, y, dx, s: A.leaky_relu_backward.grad_input(dy, x, 0.01, False, grad_input=dx))

    w = torch.full((1,), 0.25, requires_grad=True)

    def prelu_bwd(dy, x, y, dx, s):
        A.prelu_backward.out(dy, x, w.detach(), out0=dx, out1=s.setdefault("dw", torch.empty_like(w.detach())))

    case("prelu", "F.prelu (one learnable weight); prelu_backward (dx and dw)", lambda x: F.prelu(x, w),
         lambda x, y, s: A.prelu.out(x, w.detach(), out=y), prelu_bwd, params=[w])

    def rrelu_out(x, y, s):
        A.rrelu_with_noise.out(x, s.setdefault("noise", torch.empty_like(x)), RRELU_L, RRELU_U, True, None, out=y)

    case("rrelu", "F.rrelu(training=True) = rrelu_with_noise; rrelu_with_noise_backward",
         lambda x: F.rrelu(x, RRELU_L, RRELU_U, training=True), rrelu_out,
         lambda dy, x, y, dx, s: A.rrelu_with_noise_backward.out(dy, x, s["noise"], RRELU_L, RRELU_U, True, False,
                                                                 out=dx), random=1)
    slope = (RRELU_L + RRELU_U) / 2
    case("rrelu[eval]", "F.rrelu(training=False) = leaky_relu((l+u)/2); leaky_relu_backward",
         lambda x: F.rrelu(x, RRELU_L, RRELU_U, training=False),
         lambda x, y, s: A.leaky_relu.out(x, slope, out=y),
         lambda dy, x, y, dx, s: A.leaky_relu_backward.grad_input(dy, x, slope, False, grad_input=dx))

    def noisy_out(x, y, s):
        z = s.setdefault("noise", torch.empty_like(x))
        z.normal_()
        torch.add(x, z, out=y)
        y.relu_()

    case("noisy_relu", "composite relu(x + randn_like(x)) (sigma 1); threshold_backward(dy, y, 0)",
         lambda x: torch.relu(x + torch.randn_like(x)), noisy_out,
         lambda dy, x, y, dx, s: A.threshold_backward.grad_input(dy, y, 0, grad_input=dx), random=1, composite=1)
    case("noisy_relu[eval]", "torch.relu (evaluation mode; out=: clamp_min.out); threshold_backward(dy, y, 0)",
         torch.relu, lambda x, y, s: A.clamp_min.out(x, 0, out=y),
         lambda dy, x, y, dx, s: A.threshold_backward.grad_input(dy, y, 0, grad_input=dx))
    case("srelu", "F.threshold(x, -1, -1); threshold_backward", lambda x: F.threshold(x, -1.0, -1.0),
         lambda x, y, s: A.threshold.out(x, -1, -1, out=y),
         lambda dy, x, y, dx, s: A.threshold_backward.grad_input(dy, x, -1, grad_input=dx))
    case("threshold", "F.threshold(x, 0, 0); threshold_backward", lambda x: F.threshold(x, 0.0, 0.0),
         lambda x, y, s: A.threshold.out(x, 0, 0, out=y),
         lambda dy, x, y, dx, s: A.threshold_backward.grad_input(dy, x, 0, grad_input=dx))
    case("hardshrink", "F.hardshrink(0.5); hardshrink_backward", F.hardshrink,
         lambda x, y, s: A.hardshrink.out(x, 0.5, out=y),
         lambda dy, x, y, dx, s: A.hardshrink_backward.grad_input(dy, x, 0.5, grad_input=dx))
    case("softshrink", "F.softshrink(0.5); softshrink_backward", F.softshrink,
         lambda x, y, s: A.softshrink.out(x, 0.5, out=y),
         lambda dy, x, y, dx, s: A.softshrink_backward.grad_input(dy, x, 0.5, grad_input=dx))
    case("elu", "F.elu; elu_backward from y", F.elu,
         lambda x, y, s: A.elu.out(x, 1, 1, 1, out=y),
         lambda dy, x, y, dx, s: A.elu_backward.grad_input(dy, 1, 1, 1, True, y, grad_input=dx))
    case("selu", "F.selu (= elu with scale); elu_backward from y", F.selu,
         lambda x, y, s: A.elu.out(x, SELU_A, SELU_L, 1, out=y),
         lambda dy, x, y, dx, s: A.elu_backward.grad_input(dy, SELU_A, SELU_L, 1, True, y, grad_input=dx))
    # celu.out goes through a temporary; F.celu itself is elu(x, alpha, 1, 1/alpha)
    case("celu", "F.celu (out=: elu.out with input_scale 1/alpha, its kernel); elu_backward from y", F.celu,
         lambda x, y, s: A.elu.out(x, 1, 1, 1, out=y),
         lambda dy, x, y, dx, s: A.elu_backward.grad_input(dy, 1, 1, 1, True, y, grad_input=dx))

    case("trelu", "composite torch.where(x >= 0, x, tanh(x))",
         lambda x: torch.where(x >= 0, x, torch.tanh(x)), composite=1)
    case("relu_softplus", "composite torch.where(x >= 0, x, F.softplus(x) - ln 2)",
         lambda x: torch.where(x >= 0, x, F.softplus(x) - LN2), composite=1)
    case("relu_softsign", "composite torch.where(x >= 0, x, x / (1 - x))",
         lambda x: torch.where(x >= 0, x, x / (1 - x)), composite=1)
    erelu = lambda x: torch.where(x >= 0, x, -torch.log1p(-x))  # noqa: E731
    case("erelu", "composite torch.where(x >= 0, x, -torch.log1p(-x))", erelu, composite=1)
    # the formula rows (erelu written as a user formula), next to erelu as in bench_act; PyTorch's
    # form is the same composite
    case("expr:x >= 0 ? x : -log1p(-x)", "composite torch.where(x >= 0, x, -torch.log1p(-x))", erelu,
         composite=1)
    case("expr:x >= 0 ? x : -log(1-x)", "composite torch.where(x >= 0, x, -torch.log(1 - x))",
         lambda x: torch.where(x >= 0, x, -torch.log(1 - x)), composite=1)
    case("erelu_f1", "torch.abs (abs'(0) = 0 where erelu_f1'(0) = 1)", torch.abs,
         lambda x, y, s: A.abs.out(x, out=y))
    case("erelu_f2", "composite torch.where(x >= 0, x, -(2/3) * (-x) ** 1.5)",
         lambda x: torch.where(x >= 0, x, -(2.0 / 3.0) * torch.pow(-x, 1.5)), composite=1)

    # smooth self-gated and others
    beta = torch.ones((), requires_grad=True)
    case("swish", "composite x * torch.sigmoid(beta * x) (beta learnable)",
         lambda x: x * torch.sigmoid(beta * x), params=[beta], composite=1)
    case("silu", "F.silu; silu_backward", F.silu,
         lambda x, y, s: A.silu.out(x, out=y),
         lambda dy, x, y, dx, s: A.silu_backward.grad_input(dy, x, grad_input=dx))
    case("xwish", "composite x * (torch.atan(x) + pi/2) / pi",
         lambda x: x * (torch.atan(x) + math.pi / 2) / math.pi, composite=1)

    def mish_bwd(dy, x, y, dx, s):  # mish_backward has no out= variant: keep its result like dx
        s["dx"] = A.mish_backward(dy, x)

    case("mish", "F.mish; mish_backward (returns a new tensor: no out= variant)", F.mish,
         lambda x, y, s: A.mish.out(x, out=y), mish_bwd)
    case("gelu", "F.gelu; gelu_backward", F.gelu,
         lambda x, y, s: A.gelu.out(x, out=y),
         lambda dy, x, y, dx, s: A.gelu_backward.grad_input(dy, x, grad_input=dx))
    case("gelu_tanh", "F.gelu(approximate='tanh'); gelu_backward", lambda x: F.gelu(x, approximate="tanh"),
         lambda x, y, s: A.gelu.out(x, approximate="tanh", out=y),
         lambda dy, x, y, dx, s: A.gelu_backward.grad_input(dy, x, approximate="tanh", grad_input=dx))
    case("hardswish", "F.hardswish; hardswish_backward", F.hardswish,
         lambda x, y, s: A.hardswish.out(x, out=y),
         lambda dy, x, y, dx, s: A.hardswish_backward.out(dy, x, out=dx))
    case("identity", "x.clone() (nn.Identity returns x itself, no work); dx = dy copy",
         lambda x: x.clone(), lambda x, y, s: y.copy_(x), lambda dy, x, y, dx, s: dx.copy_(dy))


# ---------------------------------------------------------------------------

def median(v):
    v = sorted(v)
    k = len(v)
    return v[k // 2] if k % 2 else 0.5 * (v[k // 2 - 1] + v[k // 2])


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def measure(c, bufs, repeats, budget):
    """Median seconds of each variant, and per-repeat shares of the adjacent copy."""
    x, y, dy, dx, sa, sb = bufs["x"], bufs["y"], bufs["dy"], bufs["dx"], bufs["sa"], bufs["sb"]
    scratch = {}
    xg = bufs["xg"]  # a leaf copy of x that requires grad

    def fwd_call():
        with torch.no_grad():
            r = c["call"](x)
        del r

    def fwd_out():
        with torch.no_grad():
            c["out"](x, y, scratch)

    def fb_autograd():
        xg.grad = None
        for p in c["params"]:
            p.grad = None
        r = c["call"](xg)
        r.backward(dy)
        del r

    def fb_manual():
        with torch.no_grad():
            c["out"](x, y, scratch)
            c["bwd"](dy, x, y, dx, scratch)

    variants = [("fwd_call", fwd_call), ("fb_autograd", fb_autograd)]
    if c["out"]:
        variants.insert(1, ("fwd_out", fwd_out))
    if c["out"] and c["bwd"]:
        variants.append(("fb_manual", fb_manual))

    # warm-up, which also sizes the repeats
    warm = sum(timed(fn) for _, fn in variants)
    reps = repeats
    if warm * repeats > budget:
        reps = max(3, min(repeats, int(budget / max(warm, 1e-9))))
    times = {k: [] for k, _ in variants}
    shares = {k: [] for k, _ in variants}
    copies = []
    for _ in range(reps):
        for k, fn in variants:
            s = timed(lambda: sa.copy_(sb))
            t = timed(fn)
            copies.append(s)
            times[k].append(t)
            shares[k].append(s / t)  # (bytes/t) / (bytes/s) for 8 B: times bytes/8 later
    return {k: median(v) for k, v in times.items()}, {k: median(v) for k, v in shares.items()}, copies, reps


def fmt(v, spec="%.4f"):
    return "-" if v is None else spec % v


def main(args):
    n = args.n
    build_cases()
    if args.list:
        for k, c in CASES.items():
            print("%-32s %s" % (k, c["desc"]))
        return 0
    keys = args.keys or [k for k in CASES
                         if not (k.endswith("[eval]") and args.random == "train")
                         and not (CASES[k]["random"] and args.random == "eval")]
    unknown = [k for k in keys if k not in CASES]
    if unknown:
        sys.stderr.write("act_torch.py: no PyTorch form for %s (--list shows the known ones)\n"
                         % ", ".join(repr(k) for k in unknown))
        return 2
    if not torch.__version__.startswith("1.13"):
        sys.stderr.write("act_torch.py: warning: torch %s, not 1.13\n" % torch.__version__)

    torch.manual_seed(args.seed)
    if args.dist == "normal":
        x = torch.randn(n) * 2.0
    else:
        x = torch.rand(n) * 12.0 - 6.0
    bufs = dict(x=x, y=torch.zeros(n), dy=torch.randn(n), dx=torch.zeros(n), sa=torch.zeros(n),
                sb=torch.randn(n), xg=x.clone().requires_grad_(True))

    cap = os.environ.get("ATEN_CPU_CAPABILITY", "PyTorch's default")
    dist = "N(0,sd=2)" if args.dist == "normal" else "U[-6,6]"
    header = ("# act_torch torch=%s n=%d dist=%s seed=%d repeats=%d budget=%g ATEN_CPU_CAPABILITY=%s "
              "GLIBC_TUNABLES=%s\n" % (torch.__version__, n, dist, args.seed, args.repeats, args.budget, cap,
                                       os.environ.get("GLIBC_TUNABLES", "")))
    cols = ["key", "threads", "n", "repeats", "fwd_ns", "fwd_how", "fwd_call_ns", "fwd_out_ns", "fwdbwd_ns",
            "fwdbwd_how", "fwdbwd_autograd_ns", "fwdbwd_manual_ns", "fwd_pct_copy", "fwdbwd_pct_copy",
            "copy_gbs", "composite", "desc"]
    lines = [header, "\t".join(cols) + "\n"]
    print(header.strip())
    print("ns per element, median; fwd = best of call/out, fwd+bwd = best of autograd/manual")
    for t in args.threads:
        torch.set_num_threads(t)
        all_copies = []
        print("\n== %d thread%s ==" % (t, "" if t == 1 else "s"))
        print("%-32s %8s %-5s %8s %-8s %6s %s" % ("function", "fwd", "how", "fwd+bwd", "how", "reps", "copy GB/s"))
        for k in keys:
            c = CASES[k]
            med, share, copies, reps = measure(c, bufs, args.repeats, args.budget)
            all_copies += copies
            ns = {v: med[v] * 1e9 / n for v in med}
            fwd_how = min((v for v in ("fwd_call", "fwd_out") if v in ns), key=lambda v: ns[v])
            fb_how = min((v for v in ("fb_autograd", "fb_manual") if v in ns), key=lambda v: ns[v])
            fwd_bytes = 8 + (4 if c["random"] else 0)
            fb_bytes = fwd_bytes + 12
            copy_gbs = 8.0 * n / median(copies) / 1e9
            row = [k, str(t), str(n), str(reps), fmt(ns[fwd_how]), fwd_how[4:], fmt(ns.get("fwd_call")),
                   fmt(ns.get("fwd_out")), fmt(ns[fb_how]), fb_how[3:], fmt(ns.get("fb_autograd")),
                   fmt(ns.get("fb_manual")), "%.1f" % (100 * share[fwd_how] * fwd_bytes / 8),
                   "%.1f" % (100 * share[fb_how] * fb_bytes / 8), "%.3f" % copy_gbs, str(c["composite"]),
                   c["desc"]]
            lines.append("\t".join(row) + "\n")
            print("%-32s %8.3f %-5s %8.3f %-8s %6d %.1f" % (k, ns[fwd_how], fwd_how[4:], ns[fb_how], fb_how[3:],
                                                           reps, copy_gbs))
            sys.stdout.flush()
        cg = 8.0 * n / median(all_copies) / 1e9
        lines.append("COPY\t%d\t%d\t-\t%.4f\tcopy_\t-\t-\t-\t-\t-\t-\t100.0\t-\t%.3f\t0\ttorch copy_ of two "
                     "other arrays, timed before every run\n" % (t, n, median(all_copies) * 1e9 / n, cg))
        print("torch copy_ (%d threads): %.2f GB/s, median of %d" % (t, cg, len(all_copies)))
    if args.tsv:
        tmp = args.tsv + ".tmp"
        with open(tmp, "w") as f:
            f.writelines(lines)
        os.replace(tmp, args.tsv)
    return 0


if __name__ == "__main__":
    sys.exit(main(ARGS))
