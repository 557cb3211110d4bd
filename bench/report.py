#!/usr/bin/python3
"""bench/report.py -- writes bench/RESULTS.md from the files bench/run leaves in
bench/out/ (standard library only; bench/run calls it, and bench/run
--report-only calls it alone):

  machine.meta.json       CPU, kernel, compilers, package versions (this invocation)
  machine_t*_*.json       `actlab machine --threads T --json`, at the start and the end
  act.meta.json           activation kernels: command lines, date, load
  act_c.tsv, act_torch.tsv
  conv.meta.json          conv layers
  conv_c.tsv, conv_models.tsv, conv_torch.tsv
  train.meta.json         training steps
  train_*_r*.tsv

A part whose files are missing is reported as not run; parts from different
invocations of bench/run are each dated, with a note at the top. The file is
written atomically (temp file + rename).

    /usr/bin/python3 bench/report.py [--out bench/out] [--output bench/RESULTS.md]
"""
import argparse
import glob
import json
import os
import re
import sys
import tempfile

L = []
w = L.append
V = []  # verdict lines: (target, met: True/False/None, figures)


def load_json(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def read_tsv(path):
    rows, header, comments = [], None, []
    if not os.path.exists(path):
        return rows, comments
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            if line.startswith("#"):
                comments.append(line[1:].strip())
                continue
            cells = line.split("\t")
            if header is None:
                header = cells
                continue
            rows.append(dict(zip(header, cells)))
    return rows, comments


def median(v):
    v = sorted(v)
    k = len(v)
    return v[k // 2] if k % 2 else 0.5 * (v[k // 2 - 1] + v[k // 2])


def f(v, spec="%.1f"):
    return "—" if v is None else spec % v


def num(r, k):
    if r is None or r.get(k) in (None, "", "-"):
        return None
    return float(r[k])


# the targets, in its order
ORDER = ["ResNet-18 >= 4x PyTorch (ReLU)", "ResNet-18 >= 6x PyTorch (EReLU)", "VGG-16 >= 4x PyTorch",
         "LeNet >= 2x PyTorch", "MLP >= 2x PyTorch",
         "conv layers inside a training step >= 90 % of the same oneDNN primitives alone",
         "activation fwd+bwd >= 80 % of STREAM", "any activation within 5 % of ReLU's step time (ResNet-18)",
         "a user formula inside training <= 1.2x the built-in's step time",
         "ResNet-18 peak RSS <= 60 % of PyTorch's", "whole ResNet-18 step >= 70 % of peak in useful FLOPs"]


def verdict(target, met, figures):
    assert target in ORDER, target
    V.append((target, met, figures))


def plural(n, word):
    return "%d %s%s" % (n, word, "" if n == 1 else "s")


# ---------------------------------------------------------------- machine

def machine_figures(out):
    """{threads: {"peak": best peak, "copy": best copy, "triad": best triad, "runs": [...]}} from actlab machine."""
    res = {}
    for p in sorted(glob.glob(os.path.join(out, "machine_t*_*.json"))):
        m = load_json(p)
        if not m:
            continue
        t = int(m["threads"])
        d = res.setdefault(t, {"peak": 0.0, "copy": 0.0, "triad": 0.0, "runs": [], "isa": m.get("isa", "?")})
        d["runs"].append(m)
        d["peak"] = max(d["peak"], m["peak_gflops"])
        d["copy"] = max(d["copy"], m["stream_copy_gbs"])
        d["triad"] = max(d["triad"], m["stream_triad_gbs"])
    return res


def section_machine(mm, mach, act_stream):
    w("## Machine and software\n\n")
    if not mm:
        w("No machine description in bench/out/ (run bench/run).\n\n")
        return
    w("- CPU: %s, %s (%s), %s RAM; %s; transparent huge pages: %s\n"
      % (mm["cpu"], mm["cores"], mm["isa"], mm["mem"], mm["kernel"], mm["thp"]))
    for t in sorted(mach):
        d = mach[t]
        runs = d["runs"]
        w("- **Peak FP32: %.0f GFLOP/s on %s** (%s FMA chains); **STREAM copy %.1f GB/s, triad %.1f GB/s** "
          "(STREAM's byte counts: copy 16 B, triad 24 B per double); measured by `actlab machine --threads %d --json` "
          "%s, the best of %s: peaks %s GFLOP/s, triads %s GB/s\n"
          % (d["peak"], plural(t, "thread"), d["isa"], d["copy"], d["triad"], t,
             "at the start and at the end of the run" if len(runs) > 1 else "once",
             plural(len(runs), "measurement"), " / ".join("%.0f" % r["peak_gflops"] for r in runs),
             " / ".join("%.1f" % r["stream_triad_gbs"] for r in runs)))
    if act_stream:
        w("- bench_act's own STREAM copy (`a[i] = b[i]` on floats, 8 B per element, timed beside every activation "
          "run): %s\n" % "; ".join("%s %.1f GB/s (10th–90th percentile %.1f–%.1f)" % (plural(t, "thread"), m, lo, hi)
                                  for t, (m, lo, hi) in sorted(act_stream.items())))
    if not mach:
        w("- Peak FP32 and STREAM: not measured (no `actlab machine` output in bench/out/)\n")
    w("- A shared VM: a 4 KiB page fault (mmap + first touch) costs %s us here; bandwidth and CPU time drift with "
      "other tenants' load\n" % mm["pf_us"])
    w("- %s; %s; actlab %s built `-O3 -march=native` (CMake Release); oneDNN %s (runtime), "
      "kernels on inline exp/log polynomials and SLEEF u10 for erf/atan\n" % (mm["gcc"], mm["cmake"], mm["git"], mm.get("dnnl", "?")))
    w("- Debian packages: %s\n" % "; ".join(mm["pkgs"].split(";")))
    w("- PyTorch: %s\n\n" % mm["torch"])


# ---------------------------------------------------------------- command

def section_command(parts, mm):
    w("## Command\n\n")
    invs = sorted({p["invocation"] for p in parts.values() if p})
    for inv in invs:
        w("```\n%s\n```\n\n" % inv)
    if len({(p["invocation"], p["started"]) for p in parts.values() if p}) > 1:
        w("**Note:** the sections below come from different invocations of bench/run (each part is dated); "
          "rerun `bench/run` for one consistent set.\n\n")
    w("built with CMake Release in `build-bench/` (`bench_act`, `bench_conv`, `bench_train`, `actlab`) and ran, from "
      "the repository root, every benchmark command with OPENBLAS_NUM_THREADS=1 and OPENBLAS_CORETYPE / "
      "OPENBLAS_L2_SIZE unset for that command alone:\n\n")
    names = {"act": "Activation kernels", "conv": "Conv layers", "train": "Training steps"}
    for k in ("act", "conv", "train"):
        p = parts.get(k)
        if not p:
            w("- %s: not run (no results in bench/out/)\n" % names[k])
            continue
        w("- %s%s: %s, took %s s, load average %s%s\n"
          % (names[k], " (**--quick**: fewer repeats)" if p.get("quick") == "1" else "", p["date"], p["elapsed"],
             p["load"], "" if len(invs) == 1 else " (`%s`)" % p["invocation"]))
    w("\n")
    for k in ("act", "conv", "train"):
        p = parts.get(k)
        if p:
            w("%s:\n\n```\n%s\n```\n\n" % (names[k], p["cmds"].strip()))


# ---------------------------------------------------------------- activation kernels

CHEAP = ["relu", "relu6", "leaky_relu", "prelu", "rrelu[eval]", "noisy_relu[eval]", "srelu", "threshold",
         "hardshrink", "softshrink", "relu_softsign", "erelu_f1"]

CAUSES = {
    "rrelu": "training mode: every element's U(0,1) draw comes from the counter-based generator "
             "(src/act/noise.c, 64-bit splitmix mixing per element), which costs more than the memory traffic",
    "noisy_relu": "training mode: one N(0,1) per element from the counter-based generator and Box-Muller "
                  "(log, sqrt, cos): compute-bound, where PyTorch's normal_ draws from a cheaper generator",
    "elu": "compute-bound on expm1 in the forward",
    "gelu": "compute-bound: Phi(x) needs an erfc polynomial and an exp in forward, and again plus the "
            "density's exp in backward; PyTorch 1.13's vectorized gelu uses a cheaper erf polynomial",
    "gelu_tanh": "compute-bound on tanh (one expm1 and a reciprocal) and the cubic",
    "tanh": "compute-bound on tanh (one expm1 and a reciprocal per element)",
    "identity": "a plain copy on both sides: equal up to the bandwidth drift between the two processes",
}
CAUSES["selu"] = CAUSES["celu"] = CAUSES["elu"]
CAUSES["xwish"] = "compute-bound on SLEEF's atanf (u10) and a division"
for _k in ("sigmoid", "softplus", "logsigmoid", "tanhshrink", "trelu", "relu_softplus", "erelu", "swish", "silu",
           "xwish", "mish"):
    CAUSES.setdefault(_k, "compute-bound on its exp/log evaluations (src/act/vec_math.h)")


def section_act(out, meta):
    w("## Activation kernels\n\n")
    c_rows, c_comments = read_tsv(os.path.join(out, "act_c.tsv"))
    t_rows, t_comments = read_tsv(os.path.join(out, "act_torch.tsv"))
    if not meta or not c_rows:
        w("Not run (`bench/run --only act`).\n\n")
        verdict("activation fwd+bwd >= 80 % of STREAM", None, "not measured")
        return {}
    threads = []
    for r in c_rows:
        if int(r["threads"]) not in threads:
            threads.append(int(r["threads"]))
    C = {(r["key"], int(r["threads"])): r for r in c_rows}
    T = {(r["key"], int(r["threads"])): r for r in t_rows}
    keys = []
    for r in c_rows:
        if r["key"] != "STREAM_copy" and r["key"] not in keys:
            keys.append(r["key"])

    def figures(key, t):
        c, tr = C.get((key, t)), T.get((key, t))
        fb_bytes = int(c["fwd_bytes"]) + int(c["bwd_bytes"])
        d = dict(fwd=num(c, "fwd_gbs"), fwd_pct=num(c, "fwd_pct"), fb=num(c, "fwdbwd_gbs"),
                 fb_pct=num(c, "fwdbwd_pct"), fwd_ns=num(c, "fwd_ns"), fb_ns=num(c, "fwdbwd_ns"), t_fwd=None,
                 t_fb=None, sp_fwd=None, sp_fb=None, t_fwd_how="", t_fb_how="", composite=False)
        if tr:
            tf, tfb = num(tr, "fwd_ns"), num(tr, "fwdbwd_ns")
            d.update(t_fwd=int(c["fwd_bytes"]) / tf, t_fb=fb_bytes / tfb, sp_fwd=tf / d["fwd_ns"],
                     sp_fb=tfb / d["fb_ns"], t_fwd_how=tr["fwd_how"], t_fb_how=tr["fwdbwd_how"],
                     composite=tr["composite"] == "1")
        return d

    stream = {}
    for t in threads:
        s_ = C[("STREAM_copy", t)]
        med, lo, hi = float(s_["fwd_gbs"]), float(s_["stream_lo"]), float(s_["stream_hi"])
        stream[t] = (med, lo, hi)
        if lo < 0.75 * med:
            w("**Warning:** the bandwidth fell during the %d-thread runs (10th percentile of the STREAM copies "
              "%.1f GB/s against a median of %.1f): other load on the machine. Figures measured then are "
              "unreliable, the speed-ups most (PyTorch ran at another time); rerun on a quiet machine.\n\n"
              % (t, lo, med))
    w("Every activation function's array kernels, forward and forward+backward, against the memory bandwidth "
      "(a STREAM copy timed beside every run) and PyTorch's own functions. Raw data: `bench/out/act_c.tsv`, "
      "`bench/out/act_torch.tsv`.\n\n")
    for cm in c_comments[:1] + t_comments[:1]:
        w("- `%s`\n" % cm)
    w("- n = %s floats per array, inputs from the same distribution on both sides (not the same numbers); "
      "median of the repeats after a warm-up.\n" % c_rows[0]["n"])
    w("- GB/s counts the bytes the operation must move: forward reads x and writes y (8 B/element; random "
      "functions in training mode +4 B for their noise buffer), backward reads dy and x or y and writes dx "
      "(12 B/element), fwd+bwd the sum. PyTorch's GB/s use the same byte counts, so a speed-up is a ratio "
      "of times.\n")
    w("- **STREAM copy** (bench_act's): `a[i] = b[i]` over two other arrays of n floats, OpenMP on the same "
      "threads, plain stores, 8 B/element, timed right before every timed actlab run. *% of STREAM* is the "
      "median over repeats of each run's GB/s divided by the GB/s of the copy just before it, which cancels most "
      "of the bandwidth drift.\n")
    w("- actlab: `actlab_act_forward` into a separate y; fwd+bwd adds `actlab_act_backward` (from y for "
      "functions whose derivative needs only y, from x otherwise); prelu/swish accumulate their parameter "
      "gradient. rrelu and noisy_relu run in training mode (noise drawn per element) and, as NAME[eval], in "
      "evaluation mode.\n")
    w("- PyTorch 1.13 (torch.set_num_threads(t), `GLIBC_TUNABLES=glibc.malloc.hugetlb=1`: without transparent huge "
      "pages PyTorch's page faults on every fresh 64 MiB tensor, not its kernels, would dominate its times): "
      "forward is the faster of `f(x)` under no_grad (*call*, a fresh output tensor) and the ATen op's `out=` "
      "variant into a preallocated y (*out*); fwd+bwd is the faster of autograd `y = f(x); y.backward(dy)` "
      "(*autograd*) and the out= forward followed by the ATen backward op autograd itself uses "
      "(threshold_backward, elu_backward, gelu_backward, ...) into a preallocated dx (*manual*). Functions marked "
      "† have no PyTorch op: their plain composite (`torch.where(x >= 0, x, -torch.log1p(-x))` for erelu, ...) is "
      "timed, call and autograd only. `bench/act_torch.py --list` prints each function's PyTorch form.\n")
    w("- speed-up = PyTorch time / actlab time (> 1: actlab is faster). On this shared VM, repeated runs differ "
      "by about 10-15 % per figure; speed-ups within 0.9-1.1x are not significant.\n\n")

    w("### STREAM copy bandwidth\n\n| threads | STREAM copy GB/s (median) | 10th–90th percentile | "
      "PyTorch `copy_` GB/s (its own process, for reference) |\n|---:|---:|---|---:|\n")
    for t in threads:
        tc = T.get(("COPY", t))
        w("| %d | %.1f | %.1f–%.1f | %s |\n" % (t, stream[t][0], stream[t][1], stream[t][2],
                                             f(num(tc, "copy_gbs"))))
    w("\n")
    for t in threads:
        w("### %s\n\n" % plural(t, "thread"))
        w("| function | actlab fwd GB/s | % of STREAM | torch fwd GB/s | speed-up | actlab fwd+bwd GB/s | % of STREAM "
          "| torch fwd+bwd GB/s | speed-up |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
        for k in keys:
            d = figures(k, t)
            name = "`%s`" % k + (" †" if d["composite"] else "")
            w("| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n" % (
                name, f(d["fwd"]), f(d["fwd_pct"], "%.0f %%"),
                f(d["t_fwd"]) + (" (%s)" % d["t_fwd_how"] if d["t_fwd_how"] else ""),
                f(d["sp_fwd"], "%.2f×"), f(d["fb"]), f(d["fb_pct"], "%.0f %%"),
                f(d["t_fb"]) + (" (%s)" % d["t_fb_how"] if d["t_fb_how"] else ""), f(d["sp_fb"], "%.2f×")))
        w("\n")

    w("### Against the bandwidth and PyTorch\n\n")
    w("**Cheap ReLU family at >= 80 %% of STREAM** (%s; fwd and fwd+bwd, every thread count):\n\n"
      % ", ".join(CHEAP))
    met, missed, worst_fb = [], [], None
    for k in CHEAP:
        if not any((k, t) in C for t in threads):
            continue
        bad = []
        for t in threads:
            d = figures(k, t)
            for what, v in (("fwd", d["fwd_pct"]), ("fwd+bwd", d["fb_pct"])):
                if v is not None and v < 80:
                    bad.append("%s %d thr %.0f %%" % (what, t, v))
            if d["fb_pct"] is not None and (worst_fb is None or d["fb_pct"] < worst_fb[0]):
                worst_fb = (d["fb_pct"], k, t)
        (missed if bad else met).append((k, bad))
    w("- met: %s\n" % (", ".join("`%s`" % k for k, _ in met) or "none"))
    w("- missed: %s\n\n" % ("; ".join("`%s` (%s)" % (k, ", ".join(b)) for k, b in missed) or "none"))
    fb_missed = [(k, [b for b in bad if b.startswith("fwd+bwd")]) for k, bad in missed]
    fb_missed = [(k, b) for k, b in fb_missed if b]
    n_all = sum(1 for k in keys if all((figures(k, t)["fb_pct"] or 0) >= 80 for t in threads))
    verdict("activation fwd+bwd >= 80 % of STREAM", not fb_missed if worst_fb else None,
            ("ReLU family (%d functions), every thread count: lowest %.0f %% (`%s`, %s)%s; over all %d functions "
             "%d reach 80 %% at every thread count (the rest are compute-bound on exp/log/tanh: see above)"
             % (len(met) + len(missed), worst_fb[0], worst_fb[1], plural(worst_fb[2], "thread"),
                "; below 80 %%: %s" % "; ".join("`%s` (%s)" % (k, ", ".join(b)) for k, b in fb_missed)
                if fb_missed else "", len(keys), n_all)) if worst_fb else "no ReLU-family rows")

    if t_rows:
        w("**Every function faster than PyTorch** (speed-up > 1 for fwd and fwd+bwd, every thread count):\n\n")
        met, missed, absent = [], [], []
        membound = {}
        for k in keys:
            if not any((k, t) in T for t in threads):
                absent.append(k)
                continue
            bad = []
            for t in threads:
                d = figures(k, t)
                tr = T.get((k, t))
                for what, v, share, tshare in (
                        ("fwd", d["sp_fwd"], d["fwd_pct"], num(tr, "fwd_pct_copy")),
                        ("fwd+bwd", d["sp_fb"], d["fb_pct"], num(tr, "fwdbwd_pct_copy"))):
                    if v is not None and v <= 1:
                        bad.append("%s %d thr %.2f×" % (what, t, v))
                        # both at the memory bound: the gap is drift between the two processes
                        if share is not None and tshare is not None and share >= 90 and tshare >= 85:
                            membound.setdefault(k, []).append(
                                "%s %d thr: actlab %.0f %% of its STREAM copy, PyTorch %.0f %% of its copy_"
                                % (what, t, share, tshare))
                        else:
                            membound.setdefault(k, []).append(None)
            (missed if bad else met).append((k, bad))
        w("- faster everywhere: %s\n" % (", ".join("`%s`" % k for k, _ in met) or "none"))
        w("- not faster: %s\n" % ("; ".join("`%s` (%s)" % (k, ", ".join(b)) for k, b in missed) or "none"))
        if absent:
            w("- no PyTorch figure: %s\n" % ", ".join("`%s`" % k for k in absent))
        w("\n")
        if missed:
            w("Likely causes of the misses:\n\n")
            for k, _ in missed:
                mb = membound.get(k, [])
                if mb and all(mb):
                    w("- `%s`: memory-bound on both sides (%s); the gap is within the bandwidth drift between the "
                      "two processes' runs.\n" % (k, "; ".join(mb)))
                elif k in CAUSES:
                    w("- `%s`: %s.\n" % (k, CAUSES[k]))
                else:
                    w("- `%s`: no cause recorded here (see its kernel in src/act/builtins.c).\n" % k)
            w("\n")
    w("Reading the shares: `identity`'s backward never reads y (f' = 1), so it moves 8 B/element, not the 12 "
      "counted, and shows over 100 %; other shares slightly above 100 % are within the copy's drift.\n\n")

    exprs = [k for k in keys if k.startswith("expr:")]
    if exprs and any(("erelu", t) in C for t in threads):
        w("**erelu as a user formula vs the built-in** (time ratio; > 1: the formula is slower):\n\n"
          "| formula | threads | fwd | fwd+bwd |\n|---|---:|---:|---:|\n")
        for k in exprs:
            for t in threads:
                b, u = C.get(("erelu", t)), C.get((k, t))
                if b and u:
                    w("| `%s` | %d | %.2f | %.2f |\n" % (k, t, float(u["fwd_ns"]) / float(b["fwd_ns"]),
                                                        float(u["fwdbwd_ns"]) / float(b["fwdbwd_ns"])))
        w("\n")
    return stream


# ---------------------------------------------------------------- conv layers

def section_conv(out, meta, mach):
    w("## Conv layers\n\n")
    rows, comments = read_tsv(os.path.join(out, "conv_c.tsv"))
    mrows, _ = read_tsv(os.path.join(out, "conv_models.tsv"))
    trows, tcomments = read_tsv(os.path.join(out, "conv_torch.tsv"))
    if not meta or not rows:
        w("Not run (`bench/run --only conv`).\n\n")
        verdict("conv layers inside a training step >= 90 % of the same oneDNN primitives alone", None,
                "not measured")
        return {}
    settings = dict(kv.split("=", 1) for kv in (comments[0].split() if comments else []) if "=" in kv)
    threads = int(settings.get("threads") or (mrows[0]["threads"] if mrows else 0))
    peak = mach.get(threads, {}).get("peak")
    TK = ("C", "H", "W", "O", "OH", "OW", "K", "stride", "pad", "bwd_data")
    T = {tuple(r[k] for k in TK): r for r in trows}
    w("Every distinct convolution of `models/resnet18.cfg` and `models/vgg16.cfg` (3x32x32 inputs, 10 classes, "
      "batch 128, %s), three ways:\n\n" % plural(threads, "thread"))
    w("- **(a) in the step**: `bench_conv` trains the net (forward, softmax cross-entropy, backward, SGD step on one "
      "batch of random normal images) and reads each conv layer's forward + backward wall time per step with "
      "`actlab_net_reset_times` / `actlab_net_layer_times`: the oneDNN primitives plus what actlab does around "
      "them (the OIHW weights reordered into the primitive's format in every call, the weight gradient reordered "
      "back and added, the input gradient added into its source where a shortcut already put one there, the "
      "network's NCHW input reordered for the first layer). Identical layers (n > 1) are averaged within each "
      "step.\n")
    w("- **(b) alone**: the same oneDNN 2.6 primitives built from its C API for that shape — forward_training, "
      "backward data, backward weights, the algorithm actlab picks (Winograd `jit_wino_4x3` for 3x3 stride 1 with "
      ">= 64 channels in and out and an output >= 4x4, else direct), src/dst in nChw16c as the net keeps them, "
      "weights in the primitive's own format (format_any) — executed back to back with nothing else: no reorder "
      "is timed. The layer that reads the network's input computes no input gradient in (a), so (b) and (c) skip "
      "it there too.\n")
    w("- **(c) PyTorch**: `torch.nn.functional.conv2d` forward and `torch.autograd.grad` for the weight (and input) "
      "gradient of the same shape, no bias, torch.set_num_threads(%d), the faster median of NCHW and "
      "channels_last (`bench/conv_torch.py`).\n" % threads)
    w("- (a) and (b) run interleaved in rounds (%s) so both see the same load; (c) in its own process right "
      "after. Times: median over the samples, min–max in brackets.\n" % (comments[0] if comments else ""))
    w("- **alone/step** = (b) / (a): the share of the primitives' own speed the layer keeps inside a training step "
      "(target >= 90 %%). **× torch** = (c) / (a). **GFLOP/s** = the layer's step work / (a), the work being "
      "forward + backward weights + backward data, each 2 × multiply-adds of the direct convolution (Winograd "
      "layers count the FLOPs they replace), the first layer without backward data; **%% peak** against the "
      "peak FP32 rate above%s; Winograd's F(4x4, 3x3) does up to 4x fewer multiplications than the FLOPs "
      "counted, so its layers can pass 100 %%. **fwd, bwd**: the medians of (a)'s forward and backward against "
      "(b)'s forward and backward data + weights.\n\n" % (" (%.0f GFLOP/s on %s)" % (peak, plural(threads, "thread")) if peak else
                                       " (not measured)"))
    models = []
    for r in rows:
        if r["model"] not in models:
            models.append(r["model"])
    M = {r["model"]: r for r in mrows}
    ratios, worst = [], None
    totals = {}
    for m in models:
        mr = M.get(m)
        w("### %s\n\n" % m)
        w("| conv (in -> out, kernel, stride, on HxW) | n | (a) in the step, ms | (b) alone, ms | (c) PyTorch, ms "
          "| alone/step | × torch | GFLOP/s (a) | % peak | fwd, bwd ms: (a) / (b) "
          "| kernels (fwd / bwd data / bwd weights) |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n")
        sa = sb = sc = sfl = 0.0
        tc_ok = True
        for r in rows:
            if r["model"] != m:
                continue
            n = int(r["count"])
            a, b = float(r["step_ms"]), float(r["alone_ms"])
            t = T.get(tuple(r[k] for k in TK))
            c = num(t, "ms")
            fl = float(r["flops"])
            gf = fl / a / 1e6
            ratio = b / a
            ratios.append((ratio, m, r))
            if worst is None or ratio < worst[0]:
                worst = (ratio, m, r)
            sa += a * n
            sb += b * n
            sfl += fl * n
            if c is None:
                tc_ok = False
            else:
                sc += c * n
            kern = " / ".join(k.replace(":avx512_core", "") for k in
                              (r["impl_fwd"], r["impl_bwd_data"], r["impl_bwd_weights"]))
            shape = "%s->%s %sx%s s%s on %sx%s%s" % (r["C"], r["O"], r["K"], r["K"], r["stride"], r["H"], r["W"],
                                                    "" if r["bwd_data"] == "1" else " (no input grad)")
            split = "%.1f / %.1f, %.1f / %.1f" % (float(r["step_fwd_ms"]), float(r["alone_fwd_ms"]),
                                                 float(r["step_bwd_ms"]),
                                                 float(r["alone_bwd_data_ms"]) + float(r["alone_bwd_weights_ms"]))
            w("| %s | %d | %.1f (%.1f–%.1f) | %.1f (%.1f–%.1f) | %s | %.0f %% | %s | %.0f | %s | %s | %s |\n"
              % (shape, n, a, float(r["step_lo"]), float(r["step_hi"]), b, float(r["alone_lo"]),
                 float(r["alone_hi"]),
                 "%.1f (%.1f–%.1f) %s" % (c, float(t["lo"]), float(t["hi"]),
                                          "CL" if t["best"] == "channels_last" else "NCHW") if t else "—",
                 100 * ratio, "%.2f×" % (c / a) if c else "—", gf, "%.0f %%" % (100 * gf / peak) if peak else "—",
                 split, kern))
        gf = sfl / sa / 1e6
        w("| **all %s conv layers** | %d | **%.1f** | **%.1f** | %s | **%.0f %%** | %s | %.0f | %s | | |\n\n"
          % (m, sum(int(r["count"]) for r in rows if r["model"] == m), sa, sb, "%.1f" % sc if tc_ok else "—",
             100 * sb / sa, "%.2f×" % (sc / sa) if tc_ok else "—", gf, "%.0f %%" % (100 * gf / peak) if peak else "—"))
        totals[m] = (sa, sb, sc if tc_ok else None, gf)
        if mr:
            w("Whole step in this run: %.0f ms (median of %s; %.0f–%.0f); its conv layers %.0f ms (%.0f %%); "
              "useful FLOPs of the step (conv and dense layers, as above) %.2f G per image, so %.0f GFLOP/s%s.\n\n"
              % (float(mr["step_ms"]), mr["samples"], float(mr["step_lo"]), float(mr["step_hi"]), float(mr["conv_ms"]),
                 100 * float(mr["conv_ms"]) / float(mr["step_ms"]), float(mr["flops_per_image"]) / 1e9,
                 float(mr["flops_per_image"]) * int(mr["batch"]) / float(mr["step_ms"]) / 1e6,
                 " = %.0f %% of peak" % (100 * float(mr["flops_per_image"]) * int(mr["batch"]) /
                                         float(mr["step_ms"]) / 1e6 / peak) if peak else ""))
    below = [(x, m, r) for x, m, r in ratios if x < 0.9]
    w("Reading it: where (a) is slower than (b), the difference is what actlab adds around the primitives "
      "(above), plus the caches: alone, a primitive's inputs are still in cache from its previous repetition, "
      "while in the step every layer reads what the layers before it pushed out. Ratios above 100 % mean the "
      "step's samples saw less load than the repetitions alone.\n\n")
    verdict("conv layers inside a training step >= 90 % of the same oneDNN primitives alone",
            not below,
            "%d of %d shapes at >= 90 %%; all conv layers together: %s%s"
            % (len(ratios) - len(below), len(ratios),
               ", ".join("%s %.0f %% (%.0f ms alone vs %.0f ms in the step)" % (m, 100 * v[1] / v[0], v[1], v[0])
                         for m, v in totals.items()),
               "; below 90 %%: %s" % "; ".join("%s %s->%s %sx%s s%s on %sx%s %.0f %%" % (
                   m, r["C"], r["O"], r["K"], r["K"], r["stride"], r["H"], r["W"], 100 * x) for x, m, r in below)
               if below else ""))
    return {"totals": totals, "models": M}


# ---------------------------------------------------------------- training steps

SMALL = ("mlp", "lenet")
BIG = ("resnet18", "vgg16")
EPOCH = 50000  # CIFAR-10's training split


def read_pairs(out):
    """bench/run's back-to-back ResNet-18 runs: {threads: [(relu img/s, erelu img/s), ...]} by pair."""
    got = {}
    for p in glob.glob(os.path.join(out, "pair_actlab_resnet18_*_t*_p*.tsv")):
        m = re.search(r"_(relu|erelu)_t(\d+)_p(\d+)\.tsv$", p)
        rows, _ = read_tsv(p)
        if m and rows:
            got.setdefault((int(m.group(2)), int(m.group(3))), {})[m.group(1)] = float(rows[0]["img_s"])
    pairs = {}
    for (t, k), v in sorted(got.items()):
        if "relu" in v and "erelu" in v:
            pairs.setdefault(t, []).append((v["relu"], v["erelu"]))
    return pairs


def section_train(out, meta, conv, mach):
    w("## Training steps\n\n")
    rows = []
    for p in sorted(glob.glob(os.path.join(out, "train_*_r*.tsv"))):
        with open(p) as fh:
            lines = [l.rstrip("\n").split("\t") for l in fh if l.strip()]
        for l in lines[1:]:
            r = dict(zip(lines[0], l))
            r.setdefault("act", "relu")
            r.setdefault("layout", "nchw")
            if r["act"].startswith("expr:"):
                r["act"] = "erelu (formula)"  # bench/run's resnet18-erelu_expr
            if r.get("precision") == "bf16":
                r["act"] += " bf16"
            r["malloc"] = "plain" if "_plainmalloc_" in os.path.basename(p) else "keep"
            rows.append(r)
    names = {("resnet18", "relu"): "ResNet-18 >= 4x PyTorch (ReLU)", ("resnet18", "erelu"):
             "ResNet-18 >= 6x PyTorch (EReLU)", ("vgg16", "relu"): "VGG-16 >= 4x PyTorch",
             ("lenet", "relu"): "LeNet >= 2x PyTorch", ("mlp", "relu"): "MLP >= 2x PyTorch"}
    goal = {("resnet18", "relu"): 4, ("resnet18", "erelu"): 6, ("vgg16", "relu"): 4, ("lenet", "relu"): 2,
            ("mlp", "relu"): 2}
    if not meta or not rows:
        w("Not run (`bench/run --only train`).\n\n")
        for k in goal:
            verdict(names[k], None, "not measured")
        verdict("any activation within 5 % of ReLU's step time (ResNet-18)", None, "not measured")
        verdict("a user formula inside training <= 1.2x the built-in's step time", None, "not measured")
        verdict("ResNet-18 peak RSS <= 60 % of PyTorch's", None, "not measured")
        verdict("whole ResNet-18 step >= 70 % of peak in useful FLOPs", None, "not measured")
        return

    groups = {}
    for r in rows:
        key = (r["model"], r["act"], int(r["batch"]), int(r["threads"]), r["side"], r["layout"], r["malloc"])
        groups.setdefault(key, []).append(r)

    def stat(m, act, b, t, side, layout, malloc="keep"):
        g = groups.get((m, act, b, t, side, layout, malloc), [])
        if not g:
            return None
        ips = [float(r["img_s"]) for r in g]
        return dict(img_s=median(ips), lo=min(ips), hi=max(ips), rss=max(float(r["max_rss_mb"]) for r in g),
                    base=max(float(r["base_rss_mb"]) for r in g), n=len(g), batches=int(g[0]["batches"]),
                    images=int(g[0]["images"]), loss=median([float(r["loss_last"]) for r in g]),
                    flops=float(g[0]["flops_per_image"]) if g[0].get("flops_per_image") else None, layout=layout)

    def side(m, act, b, t, s):
        """actlab's figures, or PyTorch's at its best: the faster (median) of its layouts."""
        if s == "actlab":
            return stat(m, act, b, t, "actlab", "actlab")
        cands = [c for c in (stat(m, act, b, t, "torch", "nchw"), stat(m, act, b, t, "torch", "channels_last")) if c]
        return max(cands, key=lambda c: c["img_s"]) if cands else None

    def rng(c, fmt="%.0f"):
        return (fmt + " (" + fmt + "–" + fmt + ")") % (c["img_s"], c["lo"], c["hi"])

    def mins(img_s):
        return EPOCH / img_s / 60.0

    w("Images per second of whole training steps (forward, softmax cross-entropy, backward, SGD lr 0.01 momentum "
      "0.9) and each process's peak memory, actlab (`bench_train`) against the same networks in PyTorch 1.13 "
      "(`bench/train_torch.py`), each side its own process, alternating in every repeat (%s) so that both see the "
      "same load. Raw data: `bench/out/train_*.tsv`.\n\n" % plural(int(meta.get("repeats", "1")), "repeat"))
    small = sorted({(m, b, t) for m, a, b, t, s, l, ml in groups if m in SMALL}, key=lambda k: (k[0] != "mlp", k[2]))
    big = sorted({(m, a, b, t) for m, a, b, t, s, l, ml in groups if m in BIG and ml == "keep"},
                 key=lambda k: (BIG.index(k[0]), k[1] != "relu", k[3]))
    sp_of, fastest, rss_of, formula = {}, {}, {}, {}

    if small:
        w("### Fashion-MNIST: MLP and LeNet, one whole epoch\n\n")
        w("| model | batch | threads | actlab img/s | torch img/s | actlab/torch | actlab max RSS MB | torch max RSS MB "
          "|\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
        for m, b, t in small:
            c, p = side(m, "relu", b, t, "actlab"), side(m, "relu", b, t, "torch")
            if not c or not p:
                continue
            sp = c["img_s"] / p["img_s"]
            w("| %s | %d | %d | %s | %s | %.2fx | %.0f | %.0f |\n" % (m, b, t, rng(c), rng(p), sp, c["rss"], p["rss"]))
            sp_of.setdefault((m, "relu"), []).append((t, sp))
        w("\nimg/s: median over the repeats (range in brackets) of one full shuffled epoch of Fashion-MNIST's "
          "60000 training images%s, after 5 untimed warm-up batches. actlab/torch: the ratio of the medians (above "
          "1: actlab faster). Max RSS: the largest over the repeats of each process's "
          "getrusage(RUSAGE_SELF).ru_maxrss at its end.\n\n"
          % (" (**only the first %s batches**, --batches)" % meta["batches"] if meta.get("batches") else ""))

    if big:
        steps = meta.get("steps", "?")
        w("### CIFAR-shaped: ResNet-18 and VGG-16, batch 128, %s timed steps (epoch extrapolated)\n\n" % steps)
        w("| model | act | threads | actlab img/s | torch NCHW img/s | torch channels_last img/s | actlab/torch "
          "| actlab/torch, fastest runs | actlab max RSS MB | torch max RSS MB | epoch actlab | epoch torch |\n")
        w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
        for m, a, b, t in big:
            c = side(m, a, b, t, "actlab")
            pn, pc = stat(m, a, b, t, "torch", "nchw"), stat(m, a, b, t, "torch", "channels_last")
            p = side(m, a, b, t, "torch")
            if not c or not p:
                continue
            sp = c["img_s"] / p["img_s"]
            fast = c["hi"] / max(x["hi"] for x in (pn, pc) if x)
            w("| %s | %s | %d | %s | %s | %s | %.2fx | %.2fx | %.0f | %.0f | %.1f min | %.1f min |\n"
              % (m, a, t, rng(c, "%.1f"), rng(pn, "%.1f") if pn else "–", rng(pc, "%.1f") if pc else "–", sp, fast,
                 c["rss"], p["rss"], mins(c["img_s"]), mins(p["img_s"])))
            sp_of.setdefault((m, a), []).append((t, sp))
            fastest[(m, a, t)] = fast
            rss_of[(m, a, t)] = (c["rss"], p["rss"])
        imgs = 128 * int(steps) if str(steps).isdigit() else 0
        w("\nData: synthetic, not CIFAR-10 itself: %d random standard normal 3x32x32 images (already normalised) "
          "with uniform labels of 10 classes, made in memory by each program. img/s: median over the repeats (range "
          "in brackets) of %s timed steps of 128 images after %s untimed warm-up steps. actlab/torch: actlab's "
          "median against that of PyTorch's faster layout. Fastest runs: the same ratio from each side's best "
          "repeat (PyTorch: of either layout), the figure least disturbed by other jobs. torch max RSS: that of the "
          "faster layout. Epoch: 50,000 images at the median rate, **extrapolated**, not measured.\n\n"
          % (imgs, steps, meta.get("warmup", "?")))
        # actlab alone: EReLU as a user formula, bf16 convolutions; set against actlab's own runs
        solo = [(m, a, b, t) for m, a, b, t in big if side(m, a, b, t, "actlab") and not side(m, a, b, t, "torch")]
        if solo:
            w("actlab alone (no PyTorch counterpart), against actlab's own run of the same network:\n\n"
              "| model | variant | threads | actlab img/s | against | its img/s | step time ratio | max RSS MB |\n"
              "|---|---|---:|---:|---|---:|---:|---:|\n")
            for m, a, b, t in solo:
                c = side(m, a, b, t, "actlab")
                base = "erelu" if a.startswith("erelu") else "relu"
                r0 = side(m, base, b, t, "actlab")
                w("| %s | %s | %d | %s | %s | %s | %s | %.0f |\n"
                  % (m, a, t, rng(c, "%.1f"), base, "%.1f" % r0["img_s"] if r0 else "–",
                     "%.3f" % (r0["img_s"] / c["img_s"]) if r0 else "–", c["rss"]))
                formula[(m, t)] = (c, r0) if a == "erelu (formula)" else formula.get((m, t))
            w("\nStep time ratio: the variant's step time over the other's (above 1: the variant is slower). "
              "`erelu (formula)`: `--act 'expr:x >= 0 ? x : -log(1 - x)'`, the catalogue's formula engine "
              "(a user formula's derivative comes from the symbolic differentiator and is evaluated from x, so the "
              "layer cannot run in place). `bf16`: `--precision bf16`, convolutions on bfloat16 inputs with f32 "
              "sums (oneDNN 2.6 has no bf16 Winograd: those layers run direct).\n\n")
        er = [(m, t) for m, a, b, t in big if a == "erelu"]
        parts = []
        for m, t in er:
            cr, ce = side(m, "relu", 128, t, "actlab"), side(m, "erelu", 128, t, "actlab")
            pr, pe = side(m, "relu", 128, t, "torch"), side(m, "erelu", 128, t, "torch")
            if cr and ce and pr and pe:
                parts.append("%s: actlab %.2fx (%.1f -> %.1f img/s), PyTorch %.2fx (%.1f -> %.1f img/s, best layout "
                             "each)" % (plural(t, "thread"), ce["img_s"] / cr["img_s"], cr["img_s"], ce["img_s"],
                                        pe["img_s"] / pr["img_s"], pr["img_s"], pe["img_s"]))
        if parts:
            w("ReLU to EReLU (ResNet-18; the img/s ratio erelu/relu on each side, 1 = no cost): %s.\n\n"
              % "; ".join(parts))
        for t, pr in sorted(read_pairs(out).items()):
            w("ReLU and EReLU back to back (actlab, ResNet-18, %s, `--pairs`: a ReLU run and an EReLU run, pair "
              "after pair, so both see the same machine): img/s %s; EReLU's step time / ReLU's, pair by pair: %s, "
              "median %.3f.\n\n" % (plural(t, "thread"), ", ".join("%.1f / %.1f" % p for p in pr),
                                     ", ".join("%.3f" % (a / b) for a, b in pr), median([a / b for a, b in pr])))
        for (m, a, b, t, s, l, ml), g in sorted((k, v) for k, v in groups.items() if k[6] == "plain"):
            pl = stat(m, a, b, t, s, l, "plain")
            kp = stat(m, a, b, t, s, l, "keep")
            w("Context, PyTorch's allocator: the same PyTorch %s (%s, NCHW, %s) with `GLIBC_TUNABLES=%s` alone "
              "(glibc's defaults otherwise: blocks above its mmap threshold are unmapped when freed and faulted in "
              "again the next step) ran once in the last repeat: %.1f img/s, max RSS %.0f MB, against %s with the 4 "
              "GiB thresholds all other commands use. Without them PyTorch would look slower than it can be.\n\n"
              % (m, a, plural(t, "thread"), meta.get("malloc_plain", "?"), pl["img_s"], pl["rss"],
                 "%.1f img/s and %.0f MB (%.2fx)" % (kp["img_s"], kp["rss"], kp["img_s"] / pl["img_s"]) if kp
                 else "no figure"))

    ts = sorted({t for _, _, t in small})
    if len(ts) > 1:
        lo, hi = ts[0], ts[-1]
        sc = []
        for m in SMALL:
            b = 64 if m == "mlp" else 128
            c1, c2 = side(m, "relu", b, lo, "actlab"), side(m, "relu", b, hi, "actlab")
            p1, p2 = side(m, "relu", b, lo, "torch"), side(m, "relu", b, hi, "torch")
            if c1 and c2 and p1 and p2:
                sc.append("%s actlab %.2fx, torch %.2fx" % (m, c2["img_s"] / c1["img_s"], p2["img_s"] / p1["img_s"]))
        if sc:
            w("Scaling from %d to %d threads (img/s ratio): %s. Below 1x the threads cost more in fork/join and "
              "barriers than the small layers gain.\n\n" % (lo, hi, "; ".join(sc)))
    if small:
        cs = [c for c in (side(m, "relu", b, t, "actlab") for m, b, t in small) if c]
        ps = [p for p in (side(m, "relu", b, t, "torch") for m, b, t in small) if p]
        if cs and ps:
            w("Memory context: before loading any data the actlab program's max RSS is %.0f MB and PyTorch's "
              "(interpreter + torch imported) %.0f MB; Fashion-MNIST's training split is 60000 x 784 float32 = 188 MB "
              "on both sides.\n\n" % (max(c["base"] for c in cs), max(p["base"] for p in ps)))

    w("Method: the same networks on both sides (`models/mlp.cfg` = 8 x (Linear(., 128), ReLU), Linear(128, 10); "
      "`models/lenet.cfg` = Conv2d(1,6,5,padding=2), ReLU, MaxPool2d(2), Conv2d(6,16,5), ReLU, MaxPool2d(2), "
      "Linear(400,120), ReLU, Linear(120,84), ReLU, Linear(84,10); `models/resnet18.cfg` = kuangliu/pytorch-cifar's "
      "ResNet18, 11,173,962 parameters; `models/vgg16.cfg` = kuangliu's VGG('VGG16') with batch norm, convolutions "
      "without bias, 14,724,042 parameters), batch norm in training mode, He-normal initialisation. EReLU in PyTorch: "
      "the composite `torch.where(x >= 0, x, -torch.log1p(-x.clamp(max=0)))`, autograd's backward. Data held in "
      "memory (actlab: `actlab_loader`, shuffled, gathered by a background thread; PyTorch: `index_select` in a "
      "`torch.randperm` order). PyTorch: `torch.optim.SGD`, `zero_grad(set_to_none=True)`, mkldnn on, and "
      "`.to(memory_format=torch.channels_last)` in the channels_last runs. Threads: actlab "
      "`omp_set_num_threads(t)`, PyTorch `torch.set_num_threads(t)`. Every command with `GLIBC_TUNABLES=%s` "
      "(hugetlb=1 plus glibc keeping freed memory for reuse: PyTorch at its best here, see the context line; actlab "
      "allocates its buffers once and does not depend on it).\n\n" % meta.get("malloc_keep", "?"))

    # ---- the targets
    for k, g in goal.items():
        vs = sp_of.get(k)
        if not vs:
            verdict(names[k], None, "not measured")
            continue
        fast = "".join(" / fastest runs %.2fx" % fastest[(k[0], k[1], t)] for t, _ in vs[:1]
                       if (k[0], k[1], t) in fastest)
        verdict(names[k], all(sp >= g for _, sp in vs),
                ", ".join("%s %.2fx" % (plural(t, "thread"), sp) for t, sp in vs) + fast)
    tb = sorted({t for m, a, b, t in big if m == "resnet18"})
    done = False
    pairs = read_pairs(out)
    for t in sorted(pairs)[-1:]:
        ratios = [relu / erelu for relu, erelu in pairs[t]]  # EReLU's step time / ReLU's, pair by pair
        cost = median(ratios) - 1
        cr, ce = side("resnet18", "relu", 128, t, "actlab"), side("resnet18", "erelu", 128, t, "actlab")
        unpaired = (" (the repeats' medians above, unpaired: %+.1f %%)" % (100 * (cr["img_s"] / ce["img_s"] - 1))
                    if cr and ce else "")
        verdict("any activation within 5 % of ReLU's step time (ResNet-18)", cost <= 0.05,
                "EReLU's step time %+.1f %% against ReLU's, median of %d back-to-back pairs (%+.1f to %+.1f %%), "
                "%s%s; EReLU is the only other function this benchmark trains"
                % (100 * cost, len(ratios), 100 * (min(ratios) - 1), 100 * (max(ratios) - 1), plural(t, "thread"),
                   unpaired))
        done = True
    for t in ([] if done else tb[-1:]):
        cr, ce = side("resnet18", "relu", 128, t, "actlab"), side("resnet18", "erelu", 128, t, "actlab")
        if cr and ce:
            cost = cr["img_s"] / ce["img_s"] - 1
            verdict("any activation within 5 % of ReLU's step time (ResNet-18)", cost <= 0.05,
                    "EReLU's step time %+.1f %% against ReLU's (%.1f vs %.1f img/s, %s, the repeats' medians, "
                    "unpaired; EReLU is the only other function this benchmark trains)"
                    % (100 * cost, ce["img_s"], cr["img_s"], plural(t, "thread")))
            done = True
    if not done:
        verdict("any activation within 5 % of ReLU's step time (ResNet-18)", None, "not measured")
    fr = [(t, v) for (m, t), v in sorted(formula.items()) if m == "resnet18" and v and v[1]]
    if fr:
        t, (c, r0) = fr[-1]
        ratio = r0["img_s"] / c["img_s"]
        verdict("a user formula inside training <= 1.2x the built-in's step time", ratio <= 1.2,
                "EReLU as a formula %.3fx the built-in EReLU's step time (%.1f vs %.1f img/s, ResNet-18, %s)"
                % (ratio, c["img_s"], r0["img_s"], plural(t, "thread")))
    else:
        verdict("a user formula inside training <= 1.2x the built-in's step time", None, "not measured")
    done = False
    for t in tb[-1:]:
        if ("resnet18", "relu", t) in rss_of:
            c, p = rss_of[("resnet18", "relu", t)]
            verdict("ResNet-18 peak RSS <= 60 % of PyTorch's", c <= 0.6 * p,
                    "%.0f MB vs %.0f MB = %.0f %% (%s, ReLU)" % (c, p, 100 * c / p, plural(t, "thread")))
            done = True
    if not done:
        verdict("ResNet-18 peak RSS <= 60 % of PyTorch's", None, "not measured")
    done = False
    for t in tb[-1:]:
        c = side("resnet18", "relu", 128, t, "actlab")
        flops = c and c["flops"]
        if not flops and conv and "resnet18" in conv.get("models", {}):
            flops = float(conv["models"]["resnet18"]["flops_per_image"])
        peak = mach.get(t, {}).get("peak")
        if c and flops and peak:
            gf = flops * c["img_s"] / 1e9
            verdict("whole ResNet-18 step >= 70 % of peak in useful FLOPs", gf >= 0.7 * peak,
                    "%.0f GFLOP/s = %.0f %% of %.0f GFLOP/s (%.2f GFLOP per image: conv and dense layers' forward, "
                    "backward data and backward weights, Winograd counted as direct, so above 100 %% is possible; "
                    "%.1f img/s, %s)"
                    % (gf, 100 * gf / peak, peak, flops / 1e9, c["img_s"], plural(t, "thread")))
            done = True
    if not done:
        verdict("whole ResNet-18 step >= 70 % of peak in useful FLOPs", None, "needs the training steps and "
                "`actlab machine`")


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description="Write bench/RESULTS.md from bench/out/.")
    ap.add_argument("--out", default="bench/out")
    ap.add_argument("--output", default="bench/RESULTS.md")
    a = ap.parse_args()
    if not os.path.isdir(a.out):
        raise SystemExit("bench/report.py: no directory %s (run bench/run first)" % a.out)
    mm = load_json(os.path.join(a.out, "machine.meta.json"))
    parts = {k: load_json(os.path.join(a.out, k + ".meta.json")) for k in ("act", "conv", "train")}
    if not any(parts.values()):
        raise SystemExit("bench/report.py: no results in %s (run bench/run first)" % a.out)
    mach = machine_figures(a.out)

    # sections are built first (they fill V and the STREAM figures), then assembled in order
    global L, w
    body = []
    L, w = body, body.append
    stream = section_act(a.out, parts["act"])
    conv = section_conv(a.out, parts["conv"], mach)
    section_train(a.out, parts["train"], conv, mach)
    head = []
    L, w = head, head.append
    w("# actlab benchmarks: activation kernels, conv layers and training steps against PyTorch 1.13\n\n")
    w("Generated by `bench/run`; do not edit by hand (rerun it). Verdict against issue 7's targets at the end.\n\n")
    section_machine(mm, mach, stream)
    section_command(parts, mm)
    tail = []
    L, w = tail, tail.append
    w("## Verdict\n\n")
    w("Against the targets of issue 7 (\"Speed\"), from the figures above:\n\n")
    V.sort(key=lambda v: ORDER.index(v[0]))
    for target, met, figs in V:
        if met is None:
            w("- **%s**: not measured%s\n" % (target, "" if figs == "not measured" else " (%s)" % figs))
        else:
            w("- **%s**: %s — %s\n" % (target, "met" if met else "NOT met", figs))
    w("\n")
    text = "".join(head + body + tail)

    d = os.path.dirname(os.path.abspath(a.output))
    fd, tmp = tempfile.mkstemp(prefix=".RESULTS.", suffix=".tmp", dir=d)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, a.output)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    print("bench/run: wrote %s" % a.output)
    for target, met, figs in V:
        print("  %-8s %s: %s" % ("met" if met else "NOT met" if met is not None else "-", target, figs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
