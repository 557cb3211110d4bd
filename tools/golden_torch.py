#!/usr/bin/python3
"""Produce tests/golden/torch_act.txt: PyTorch 1.13 reference values for actlab.

For every (activation function, parameter setting) this evaluates, in float32
on the CPU with one thread:

    f(x)            the module's forward
    df/dx           autograd of sum(f) with respect to x
    df/dp_k         for each LEARNABLE parameter (PReLU a, Swish beta): the
                    gradient of f(x) for that single element x alone

Each x is run as its own one-element tensor with a fresh copy of the
parameters: that takes PyTorch's scalar kernel path (a value does not depend
on where x sits in a batch) and keeps parameter gradients per element. The
whole input list is also run as one batch and any difference (vectorized
kernel bodies) is listed in the file's header.

and writes a plain-text file the C tests read without torch:

    case NAME SPEC [# composite]
    x f dfdx [dfdp...]
    ...
    end

All numbers are float32 values printed with %.9g (round-trips exactly through
strtof). Lines where PyTorch itself produced inf or nan are left out and listed
in the header instead, so every data line is finite.

Run with Debian's interpreter (the one with python3-torch):

    /usr/bin/python3 tools/golden_torch.py -o tests/golden/torch_act.txt
    /usr/bin/python3 tools/golden_torch.py > tests/golden/torch_act.txt
"""
import argparse
import math
import os
import struct
import sys
import tempfile


def _parse_args():
    ap = argparse.ArgumentParser(description="Write actlab's PyTorch golden file (tests/golden/torch_act.txt).")
    ap.add_argument("-o", "--output", help="write here (atomically: temp file + rename); default stdout")
    ap.add_argument("--cpu-capability", default="default",
                    help="ATEN_CPU_CAPABILITY for PyTorch's CPU kernels (default: 'default', i.e. the "
                         "portable non-SIMD kernels, so the file does not depend on the machine's "
                         "AVX2/AVX512 support; 'avx2' etc. give SIMD results that differ by ~1 ulp)")
    return ap.parse_args()


if __name__ == "__main__":
    ARGS = _parse_args()
    # must be set before torch is imported
    os.environ["ATEN_CPU_CAPABILITY"] = ARGS.cpu_capability

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

DT = torch.float32

BASE_INPUTS = [
    -1e30, -100, -20.5, -10, -6, -3.5, -3, -2, -1.5, -1, -0.75, -0.5, -0.25,
    -1e-3, -1e-7, 0, 1e-7, 1e-3, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 3.5, 6, 10,
    20.5, 100, 1e30,
]


def f32(v):
    """Round a Python float to the nearest float32, returned as a Python float."""
    return torch.tensor(v, dtype=DT).item()


FLT_MIN = 1.1754943508222875e-38  # smallest normal float32


def beside(k):
    """A kink point k, k +- 1e-3, and k's float32 neighbours (for k = 0: +-FLT_MIN,
    not the subnormals, which flush-to-zero builds would treat as 0)."""
    pts = [f32(k), f32(k - 1e-3), f32(k + 1e-3)]
    if k == 0:
        return pts + [-FLT_MIN, FLT_MIN]
    kt = torch.tensor(k, dtype=DT)
    pts.append(torch.nextafter(kt, torch.tensor(-math.inf, dtype=DT)).item())
    pts.append(torch.nextafter(kt, torch.tensor(math.inf, dtype=DT)).item())
    return pts


def inputs_for(kinks):
    pts = {f32(v) for v in BASE_INPUTS}
    for k in kinks:
        pts.update(beside(k))
    pts = sorted(p for p in pts if math.isfinite(p))
    return pts


def num(v):
    """Shortest text for a parameter value in a spec: 2.0 -> '2', 0.1 -> '0.1'."""
    s = repr(float(v))
    if s.endswith(".0"):
        s = s[:-2]
    return s


def spec_of(name, params):
    if not params:
        return name
    return name + ":" + ",".join("%s=%s" % (k, num(v)) for k, v in params)


# ---------------------------------------------------------------------------
# Composites for functions PyTorch has no module for. The unused branch of
# torch.where is still evaluated and differentiated, so every branch works on
# xn = clamp(x, max=0) and stays finite (a nan there would poison autograd:
# 0 * nan = nan).

LN2 = math.log(2.0)


def erelu(x):
    xn = torch.clamp(x, max=0)
    return torch.where(x >= 0, x, -torch.log1p(-xn))


def relu_softsign(x):
    xn = torch.clamp(x, max=0)
    return torch.where(x >= 0, x, xn / (1 - xn))


def relu_softplus(x):
    xn = torch.clamp(x, max=0)
    return torch.where(x >= 0, x, F.softplus(xn) - LN2)


def trelu(a):
    def fn(x):
        xn = torch.clamp(x, max=0)
        return torch.where(x >= 0, x, a * torch.tanh(a * xn))
    return fn


def xwish(beta):
    def fn(x):
        return x * (torch.atan(beta * x) + math.pi / 2) / math.pi
    return fn


def f1(x):
    xn = torch.clamp(x, max=0)
    return torch.where(x >= 0, x, -xn)


def f2(x):
    xn = torch.clamp(x, max=0)
    return torch.where(x >= 0, x, -(2.0 / 3.0) * torch.pow(-xn, 1.5))


# ---------------------------------------------------------------------------
# Learnable-parameter functions: make(value) -> (fn(x), [param tensors]).

def prelu_maker(a):
    def make():
        m = nn.PReLU(num_parameters=1, init=a)
        return m, [m.weight]
    return make


def swish_maker(beta):
    def make():
        b = torch.tensor(beta, dtype=DT, requires_grad=True)
        return (lambda x: x * torch.sigmoid(b * x)), [b]
    return make


# ---------------------------------------------------------------------------
# The case list: (name, [(param, value)...] as shown in the spec, callable or
# maker, kinks, learnable column names, composite?)

def build_cases():
    C = []

    def add(name, params, fn, kinks=(), learn=None, composite=False):
        C.append(dict(name=name, spec=spec_of(name, params), fn=fn, kinks=list(kinks),
                      learn=learn, composite=composite))

    add("sigmoid", [], nn.Sigmoid())
    add("tanh", [], nn.Tanh())
    add("softsign", [], nn.Softsign())
    add("logsigmoid", [], nn.LogSigmoid())
    add("tanhshrink", [], nn.Tanhshrink())

    add("softplus", [], nn.Softplus(), kinks=[20.0])
    add("softplus", [("beta", 2), ("threshold", 10)], nn.Softplus(beta=2, threshold=10),
        kinks=[10.0 / 2.0])

    add("hardtanh", [], nn.Hardtanh(), kinks=[-1.0, 1.0])
    add("hardtanh", [("min_val", -2), ("max_val", 3)], nn.Hardtanh(-2.0, 3.0), kinks=[-2.0, 3.0])

    add("hardsigmoid", [], nn.Hardsigmoid(), kinks=[-3.0, 3.0])
    add("hardswish", [], nn.Hardswish(), kinks=[-3.0, 3.0])

    add("relu", [], nn.ReLU(), kinks=[0.0])
    add("relu6", [], nn.ReLU6(), kinks=[0.0, 6.0])

    add("leaky_relu", [], nn.LeakyReLU(0.01), kinks=[0.0])
    add("leaky_relu", [("a", 0.1)], nn.LeakyReLU(0.1), kinks=[0.0])

    add("prelu", [], prelu_maker(0.25), kinks=[0.0], learn=["dfda"])
    add("prelu", [("a", 0.1)], prelu_maker(0.1), kinks=[0.0], learn=["dfda"])

    add("rrelu", [], nn.RReLU(0.125, 1.0 / 3.0).eval(), kinks=[0.0])
    add("rrelu", [("lower", 0.1), ("upper", 0.3)], nn.RReLU(0.1, 0.3).eval(), kinks=[0.0])

    add("srelu", [], nn.Threshold(-1.0, -1.0), kinks=[-1.0])
    add("threshold", [], nn.Threshold(0.0, 0.0), kinks=[0.0])
    add("threshold", [("threshold", 1), ("value", -2)], nn.Threshold(1.0, -2.0), kinks=[1.0])

    add("hardshrink", [], nn.Hardshrink(0.5), kinks=[-0.5, 0.5])
    add("hardshrink", [("lambda", 1)], nn.Hardshrink(1.0), kinks=[-1.0, 1.0])
    add("softshrink", [], nn.Softshrink(0.5), kinks=[-0.5, 0.5])
    add("softshrink", [("lambda", 1)], nn.Softshrink(1.0), kinks=[-1.0, 1.0])

    add("elu", [], nn.ELU(1.0), kinks=[0.0])
    add("elu", [("alpha", 0.5)], nn.ELU(0.5), kinks=[0.0])
    add("selu", [], nn.SELU(), kinks=[0.0])
    add("celu", [], nn.CELU(1.0), kinks=[0.0])
    add("celu", [("alpha", 2)], nn.CELU(2.0), kinks=[0.0])

    add("silu", [], nn.SiLU())
    add("swish", [], swish_maker(1.0), learn=["dfdbeta"])
    add("swish", [("beta", 0.5)], swish_maker(0.5), learn=["dfdbeta"])

    add("mish", [], nn.Mish())
    add("gelu", [], nn.GELU())
    add("gelu_tanh", [], nn.GELU(approximate="tanh"))

    # Composites (no PyTorch module): x >= 0 takes the identity branch, so f'(0) = 1.
    add("erelu", [], erelu, kinks=[0.0], composite=True)
    add("relu_softsign", [], relu_softsign, kinks=[0.0], composite=True)
    add("relu_softplus", [], relu_softplus, kinks=[0.0], composite=True)
    add("trelu", [], trelu(1.0), kinks=[0.0], composite=True)
    add("trelu", [("a", 0.5)], trelu(0.5), kinks=[0.0], composite=True)
    add("xwish", [], xwish(1.0), composite=True)
    add("xwish", [("beta", 2)], xwish(2.0), composite=True)
    add("f1", [], f1, kinks=[0.0], composite=True)
    add("f2", [], f2, kinks=[0.0], composite=True)
    return C


# ---------------------------------------------------------------------------

def make_fn(case):
    if case["learn"]:
        return case["fn"]()
    return case["fn"], []


def evaluate(case, notes):
    """Rows (x, f, dfdx, dfdp...) for one case.

    The golden values come from running each element ALONE (a one-element
    tensor, fresh parameters): that takes PyTorch's scalar kernel path, so a
    value does not depend on where x sits in a batch, and the parameter
    gradient is d f(x)/d p for that x only. The whole input list is also run
    as one batch (autograd of sum(f)), which goes through the vectorized
    kernel bodies; any disagreement is recorded in `notes`."""
    xs = inputs_for(case["kinks"])
    fn, _ = make_fn(case)
    xb = torch.tensor(xs, dtype=DT, requires_grad=True)
    yb = fn(xb)
    yb.sum().backward()
    ys_b, dxs_b = yb.detach().tolist(), xb.grad.tolist()

    rows = []
    diffs = {}
    for i, xv in enumerate(xs):
        fn1, params1 = make_fn(case)
        x1 = torch.tensor([xv], dtype=DT, requires_grad=True)
        y1 = fn1(x1)
        y1.sum().backward()
        y, dx = y1.item(), x1.grad.item()
        dps = [p.grad.reshape(-1)[0].item() for p in params1]
        for what, single, batch in (("f", y, ys_b[i]), ("dfdx", dx, dxs_b[i])):
            if ulps(single, batch) != 0:
                diffs.setdefault(what, []).append((xv, single, batch))
        rows.append((xv, y, dx, *dps))
    for what, d in diffs.items():
        if len(d) <= 3:
            for xv, single, batch in d:
                notes.append("#   %s x=%s %s: one element %s, in a batch %s\n"
                             % (case["spec"], g(xv), what, g(single), g(batch)))
        else:
            worst = max(d, key=lambda t: abs(t[1] - t[2]) / max(abs(t[1]), abs(t[2])))
            notes.append("#   %s %s: %d of %d points differ, relatively worst x=%s: one element %s, in a batch %s\n"
                         % (case["spec"], what, len(d), len(xs), g(worst[0]), g(worst[1]), g(worst[2])))
    return rows


def g(v):
    return "%.9g" % v


def self_check(results):
    """Spot checks of values known by hand; also analytic checks of the
    learnable-parameter columns. Fails loudly rather than writing a bad file."""
    def row(spec, x):
        for r in results[spec]:
            if r[0] == f32(x):
                return r
        raise KeyError((spec, x))

    def eq(got, want, tol=0.0, what=""):
        ok = abs(got - want) <= tol * max(1.0, abs(want))
        if not ok:
            raise AssertionError("self-check %s: got %r want %r" % (what, got, want))

    eq(row("relu", 0)[2], 0.0, what="relu'(0)")
    eq(row("leaky_relu", 0)[2], f32(0.01), what="leaky'(0)")
    eq(row("leaky_relu:a=0.1", 0)[2], f32(0.1), what="leaky'(0) a=0.1")
    eq(row("elu", 0)[2], 1.0, what="elu'(0)")
    eq(row("elu:alpha=0.5", 0)[2], 0.5, what="elu'(0) alpha=0.5")
    eq(row("hardswish", -3)[2], -0.5, what="hardswish'(-3)")
    eq(row("hardswish", 3)[2], 1.5, what="hardswish'(3)")
    eq(row("softplus", 1e30)[1], f32(1e30), what="softplus(1e30)")
    eq(row("softplus", -1e30)[1], 0.0, what="softplus(-1e30)")
    eq(row("prelu", 0)[2], 0.25, what="prelu'(0)")
    eq(row("rrelu", -2)[1], -2 * f32((0.125 + 1 / 3) / 2), tol=1e-7, what="rrelu eval slope")
    eq(row("erelu", 0)[2], 1.0, what="erelu'(0)")
    eq(row("f1", -2)[2], -1.0, what="f1'(-2)")
    eq(row("threshold:threshold=1,value=-2", 1)[1], -2.0, what="threshold(T)")

    # Learnable columns against analytic per-element derivatives.
    for spec in ("prelu", "prelu:a=0.1"):
        for x, _, _, dfda in results[spec]:
            eq(dfda, x if x < 0 else 0.0, what="%s dfda at %r" % (spec, x))
    for spec, beta in (("swish", 1.0), ("swish:beta=0.5", 0.5)):
        for x, _, _, dfdb in results[spec]:
            s = 1.0 / (1.0 + math.exp(-beta * x)) if beta * x > -700 else 0.0
            want = x * x * s * (1.0 - s) if abs(x) < 1e6 else 0.0
            # PyTorch forms sigmoid' as y*(1-y) in float32: 1-y cancels when y ~ 1,
            # an absolute error of a few 2^-24 * x^2 here.
            if abs(dfdb - want) > 1e-5 * abs(want) + 4 * 2.0 ** -24 * x * x:
                raise AssertionError("self-check %s dfdbeta at %r: got %r want %r" % (spec, x, dfdb, want))


def render(cases, results, notes):
    out = []
    out.append("# generated by tools/golden_torch.py with torch %s -- do not edit\n" % torch.__version__)
    out.append("# case NAME SPEC  then lines: x f dfdx [dfdp...]   values printed with %.9g (float32)\n")
    cap = os.environ.get("ATEN_CPU_CAPABILITY", "?")
    out.append("# float32 on CPU, 1 thread, ATEN_CPU_CAPABILITY=%s%s.\n"
               % (cap, " (portable kernels, no FMA/SIMD)" if cap == "default" else ""))
    out.append("# dfdx = autograd of sum(f) w.r.t. x. Learnable parameter columns (prelu: dfda,\n")
    out.append("# swish: dfdbeta) are d f(x)/d p for that single x. Kink points k come with\n")
    out.append("# k +- 1e-3 and k's float32 neighbours (+-FLT_MIN for k = 0).\n")
    out.append("# rrelu is in evaluation mode (slope (lower+upper)/2). '# composite' cases are\n")
    out.append("# torch.where compositions, not PyTorch modules (x >= 0 takes the identity branch).\n")
    out.append("# These are PyTorch's float32 results, cancellation included (elu/selu/celu use\n")
    out.append("# exp(x)-1, gelu 1+erf, sigmoid' y*(1-y), xwish atan(b*x)+pi/2): compare with tolerances.\n")
    skipped = []
    body = []
    for c in cases:
        line = "case %s %s" % (c["name"], c["spec"])
        if c["composite"]:
            line += " # composite"
        body.append(line + "\n")
        for r in results[c["spec"]]:
            if not all(math.isfinite(v) for v in r):
                skipped.append("#   %s x=%s -> %s\n" % (c["spec"], g(r[0]), " ".join(g(v) for v in r[1:])))
                continue
            body.append(" ".join(g(v) for v in r) + "\n")
        body.append("end\n")
    if notes:
        out.append("# values below are from one-element runs (PyTorch's scalar kernels); run as\n")
        out.append("# one batch (vectorized kernel bodies) these differ:\n")
        out.extend(notes)
    if skipped:
        out.append("# lines left out because PyTorch produced inf/nan (x f dfdx ...):\n")
        out.extend(skipped)
    return "".join(out + body)


def ulps(a, b):
    """Distance in float32 units in the last place (0 for equal, inf for nan mismatch)."""
    if a == b or (math.isnan(a) and math.isnan(b)):
        return 0
    if not (math.isfinite(a) and math.isfinite(b)):
        return math.inf
    ia = struct.unpack("<i", struct.pack("<f", a))[0]
    ib = struct.unpack("<i", struct.pack("<f", b))[0]
    ia = ia if ia >= 0 else -(ia & 0x7FFFFFFF)
    ib = ib if ib >= 0 else -(ib & 0x7FFFFFFF)
    return abs(ia - ib)


def main(args):

    torch.set_num_threads(1)
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)

    cases = build_cases()
    specs = [c["spec"] for c in cases]
    assert len(specs) == len(set(specs)), "duplicate spec"
    results = {}
    notes = []
    for c in cases:
        results[c["spec"]] = evaluate(c, notes)
    self_check(results)
    text = render(cases, results, notes)

    if args.output:
        d = os.path.dirname(os.path.abspath(args.output))
        fd, tmp = tempfile.mkstemp(prefix=".torch_act.", suffix=".tmp", dir=d)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(text)
            os.chmod(tmp, 0o644)
            os.replace(tmp, args.output)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main(ARGS)
