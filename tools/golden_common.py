"""Helpers shared by tools/golden_torch_train.py and tools/golden_torch_cnn.py, which write
the golden files of tests/test_torch_train.c and tests/test_torch_cnn.c (whose own shared
part is tests/torch_golden.h):

  - the integer hash both scripts and both C tests make parameters and inputs from:

        fmix32(h)  = MurmurHash3's finaliser: h ^= h >> 16; h *= 0x85EBCA6B; h ^= h >> 13;
                     h *= 0xC2B2AE35; h ^= h >> 16  (all mod 2^32)
        U(k, s)    = (2 * fmix32((k * 0x9E3779B1 + s * 0x632BE5AB) mod 2^32) + 1) / 2^32 - 1
                     a double in (-1, 1), exact
        input x[k] = float32(U(k, 1000)), labels y[b] = (3 b + 1) mod 10, batch of 8

  - the SGD step both use (lr 0.1, momentum 0.9, weight decay 5e-4 where a tensor decays),
    and the check of PyTorch's own step against the formula;
  - the lines both kinds of file have (case, model, act, batch, optim, logits, s) and the
    per-tensor sums of the "stats" line;
  - the float32-vs-float64 noise in units of a test's tolerance;
  - the command line, the atomic write and the loop over models and cases.

Torch is imported inside the functions that need it only: a script calls parse_args(),
which sets ATEN_CPU_CAPABILITY, before it imports torch.
"""
import argparse
import os
import sys
import tempfile

BATCH = 8
CLASSES = 10
LR, MOMENTUM, WEIGHT_DECAY = 0.1, 0.9, 5e-4

M32 = 0xFFFFFFFF


def fmix32(h):
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & M32
    h ^= h >> 16
    return h


def U(k, s):
    """A double in (-1, 1) from element k of stream s (exact arithmetic)."""
    h = fmix32((k * 0x9E3779B1 + s * 0x632BE5AB) & M32)
    return (2.0 * h + 1.0) / 4294967296.0 - 1.0


def g9(v):
    return "%.9g" % v


def parse_args(description, files):
    """The scripts' command line; sets ATEN_CPU_CAPABILITY, so call it before importing torch."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("-o", "--output", help="directory for %s "
                    "(written atomically: temp file + rename); default stdout" % files)
    ap.add_argument("--cpu-capability", default="default",
                    help="ATEN_CPU_CAPABILITY for PyTorch's CPU kernels (default: 'default', the "
                         "portable non-SIMD kernels)")
    args = ap.parse_args()
    os.environ["ATEN_CPU_CAPABILITY"] = args.cpu_capability  # before torch is imported
    return args


def f32(vals):
    import torch
    return torch.tensor(vals, dtype=torch.float32)


def inputs(shape):
    """The batch: x of shape (BATCH,) + shape, flat index k, float32(U(k, 1000)); y[b] = (3b+1) mod 10."""
    import torch
    n = BATCH
    for d in shape:
        n *= d
    x = f32([U(k, 1000) for k in range(n)]).reshape(BATCH, *shape)
    y = torch.tensor([(3 * b + 1) % CLASSES for b in range(BATCH)], dtype=torch.long)
    return x, y


def sgd(params, decays):
    """torch.optim.SGD over params, weight decay only where decays[i] (the rest in a group of its own)."""
    import torch
    groups = [{"params": [p for p, d in zip(params, decays) if d]}]
    nodecay = [p for p, d in zip(params, decays) if not d]
    if nodecay:
        groups.append({"params": nodecay, "weight_decay": 0.0})
    return torch.optim.SGD(groups, lr=LR, momentum=MOMENTUM, dampening=0, nesterov=False,
                           weight_decay=WEIGHT_DECAY, foreach=False)


def check_step(r):
    """PyTorch's new values against p - lr (g + wd p) (momentum buffer = d_p on the first step).
    r: a run's result, with per tensor "plist" (name first), "decay", "init", "grads", "new"."""
    for t, entry in enumerate(r["plist"]):
        p, g, new = f32(r["init"][t]), f32(r["grads"][t]), f32(r["new"][t])
        wd = WEIGHT_DECAY if r["decay"][t] else 0.0
        want = p - LR * (g + wd * p)
        err = (new - want).abs().max().item()
        lim = 4 * 2.0 ** -24 * (p.abs().max().item() + LR * (g.abs().max().item() + 1e-30))
        if err > lim:
            raise AssertionError("%s: SGD step differs from the formula by %g (limit %g)" % (entry[0], err, lim))


def tol_units(a32, b64, scale, rtol, atol_frac, base=None):
    """Largest |a - b| / (rtol |b| + atol_frac scale + 2 ulp of base) over paired lists."""
    base = base or [0.0] * len(b64)
    return max(abs(a - b) / (rtol * abs(b) + atol_frac * scale + 2.4e-7 * abs(p) + 1e-30)
               for a, b, p in zip(a32, b64, base))


def grad_noise(r32, r64, rtol, atol_frac):
    """The largest float32-vs-float64 gradient difference in units of a test's tolerance
    (atol_frac times the tensor's max |g|), and as a plain relative difference of elements
    with |g| > 1e-3 max|g|."""
    worst_tol, worst_rel = 0.0, 0.0
    for g32, g64 in zip(r32["grads"], r64["grads"]):
        gmax = max(abs(v) for v in g64)
        worst_tol = max(worst_tol, tol_units(g32, g64, gmax, rtol, atol_frac))
        for a, b in zip(g32, g64):
            if abs(b) > 1e-3 * gmax:
                worst_rel = max(worst_rel, abs(a - b) / abs(b))
    return worst_tol, worst_rel


def case_lines(model, act, model_line):
    """The lines that open a case."""
    return ["case %s %s\n" % (model, act),
            "model %s\n" % model_line,
            "act %s\n" % act,
            "batch %d\n" % BATCH,
            "optim sgd lr=%g momentum=%g dampening=0 nesterov=0 weight_decay=%g\n" % (LR, MOMENTUM, WEIGHT_DECAY)]


def logit_lines(key, rows):
    return ["%s %d %s\n" % (key, b, " ".join(g9(v) for v in row)) for b, row in enumerate(rows)]


def tensor_stats(t, init, grad, new):
    """(INIT_SUM, INIT_ABS, GRAD_SUM, GRAD_ABS, GRAD_MAX, GRAD_CHK, STEP_CHK) of tensor t: sums in
    double over the values in element order, checksums with weights c_k = U(k, 2000 + t)."""
    c = [U(k, 2000 + t) for k in range(len(init))]
    return (sum(init), sum(abs(v) for v in init), sum(grad), sum(abs(v) for v in grad), max(abs(v) for v in grad),
            sum(ci * gi for ci, gi in zip(c, grad)), sum(ci * (ni - pi) for ci, ni, pi in zip(c, new, init)))


def sample_lines(t, ks, grad, new):
    return ["s %d %d %s %s\n" % (t, k, g9(grad[k]), g9(new[k])) for k in ks]


def write_atomic(path, text):
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=d)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main(args, cases, filename, run, render_case, header):
    """For each model of cases ({model: [act, ...]}): each case's step in float32 (checked
    against the SGD formula) and float64, render_case(model, act, r32, r64) -> (header notes,
    body lines), the file header(model) + notes + bodies to args.output/filename % model
    or stdout."""
    import torch
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    for model, acts in cases.items():
        notes, body = [], []
        for act in acts:
            r = run(model, act, torch.float32)
            check_step(r)
            r64 = run(model, act, torch.float64)
            n, b = render_case(model, act, r, r64)
            notes += n
            body += b
        text = "".join(header(model) + notes + body)
        if args.output:
            path = os.path.join(args.output, filename % model)
            write_atomic(path, text)
            sys.stderr.write("wrote %s (%d bytes)\n" % (path, len(text)))
        else:
            sys.stdout.write(text)
