#!/usr/bin/python3
"""Produce tests/golden/torch_train_lenet.txt and tests/golden/torch_train_mlp.txt: one
training step of models/lenet.cfg and models/mlp.cfg in PyTorch 1.13, for
tests/test_torch_train.c (which does not need torch).

Each model is built as a torch.nn.Sequential equivalent of its model file:

    lenet: Conv2d(1,6,5,padding=2) A MaxPool2d(2) Conv2d(6,16,5) A MaxPool2d(2) Flatten
           Linear(400,120) A Linear(120,84) A Linear(84,10)
    mlp:   Flatten (Linear(784,128) A) (Linear(128,128) A) x 7 Linear(128,10)

where A is the activation of the case: lenet with ReLU and with PReLU (one a per layer,
nn.PReLU(num_parameters=1, init=0.25), a separate module per layer), mlp with ReLU and
with ELU (alpha 1). The parameters, in the order of model.parameters(), are actlab's
arena order: per layer its weight (Linear w[O][I], Conv2d w[O][C][KH][KW]), its bias,
then its learnable activation parameter (PReLU's a).

Nothing random: the initial parameters and the inputs come from an integer hash (shared
with tools/golden_torch_cnn.py through tools/golden_common.py), so the C test regenerates
them exactly without storing 61,706 (lenet) or 218,378 (mlp) numbers:

    fmix32(h)  = MurmurHash3's finaliser: h ^= h >> 16; h *= 0x85EBCA6B; h ^= h >> 13;
                 h *= 0xC2B2AE35; h ^= h >> 16  (all mod 2^32)
    U(k, s)    = (2 * fmix32((k * 0x9E3779B1 + s * 0x632BE5AB) mod 2^32) + 1) / 2^32 - 1
                 a double in (-1, 1), exact
    tensor t (0-based, arena order), element k (flat index in PyTorch's layout):
      weight   w = float32(sqrt(6 / fan_in) * U(k, t + 1))       He-uniform bound
      bias     b = float32(1 / sqrt(fan_in) * U(k, t + 1))       fan_in of the layer's weight
      PReLU a  = 0.25
    fan_in: Conv2d C*KH*KW, Linear I.
    input x[b][0][i][j], flat index k = (b*28 + i)*28 + j:  float32(U(k, 1000))
    labels y[b] = (3 b + 1) mod 10, b = 0..7   (batch of 8)

The step: model.train(); loss = CrossEntropyLoss (mean) of model(x) against y;
loss.backward(); torch.optim.SGD(lr=0.1, momentum=0.9, dampening=0, nesterov=False,
weight_decay=5e-4, foreach=False) with PReLU's a in its own parameter group with
weight_decay=0; one step(). float32, one thread.

The file holds, per case (all float32 values %.9g, sums %.17g):

    case MODEL ACT
    model MODEL.cfg
    act ACT
    batch 8
    optim sgd lr=0.1 momentum=0.9 dampening=0 nesterov=0 weight_decay=0.0005
    loss L
    logits B v0 ... v9                  (model(x) before the step, one line per sample)
    tensor T NAME OFFSET N FAN_IN DECAY SHAPE
    stats T INIT_SUM INIT_ABS GRAD_SUM GRAD_ABS GRAD_MAX GRAD_CHK STEP_CHK
    s T K GRAD NEW                      (sampled elements)
    end

Sums are in double over the float32 values in element order: INIT_SUM/INIT_ABS of the
initial parameters (they prove the two formula implementations agree), GRAD_SUM,
GRAD_ABS, GRAD_MAX (max |g|) of the gradient, and two signed checksums with weights
c_k = U(k, 2000 + t): GRAD_CHK = sum c_k g_k and STEP_CHK = sum c_k (new_k - init_k),
which any permutation of elements (a layout error) changes. Sampled elements: all of a
tensor with at most 256 elements (biases, PReLU a), else every 97th (lenet; k = 0, 97,
...) or 199th (mlp) element, and the last.

The script also runs the same step in float64 (from the same float32 starting values)
and writes, in the header, the largest difference between PyTorch's float32 and float64
gradients: the rounding noise any float32 implementation has, against which the C test's
tolerances (about 1e-4 relative) are set. It fails if that noise exceeds them, and checks
PyTorch's updated parameters against the SGD formula.

Run with Debian's interpreter (the one with python3-torch):

    /usr/bin/python3 tools/golden_torch_train.py -o tests/golden
    (writes DIR/torch_train_lenet.txt and DIR/torch_train_mlp.txt atomically:
    temp file + rename; without -o both go to stdout)
"""
import math
import os

import golden_common as gc
from golden_common import U, g9

if __name__ == "__main__":
    ARGS = gc.parse_args("Write actlab's one-training-step golden files.", "torch_train_{lenet,mlp}.txt")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

PRELU_INIT = 0.25
SMALL = 256     # tensors up to this size are stored whole
STRIDE = {"lenet": 97, "mlp": 199}  # else every STRIDE-th element (primes)
# The C test's tolerances; the float32-vs-float64 noise must stay well inside them.
RTOL, ATOL_FRAC = 1e-4, 1e-5   # |d| <= RTOL |want| + ATOL_FRAC * max|g| of the tensor
CASES = {"lenet": ["relu", "prelu"], "mlp": ["relu", "elu"]}


def make_act(name):
    if name == "relu":
        return nn.ReLU()
    if name == "elu":
        return nn.ELU(alpha=1.0)
    if name == "prelu":
        return nn.PReLU(num_parameters=1, init=PRELU_INIT)
    raise ValueError(name)


def build(model, act):
    """(Sequential, [(name, param, kind, fan_in)] in parameter order)."""
    if model == "lenet":
        spec = [("conv", 1, 6, 5, 2), "act", "pool", ("conv", 6, 16, 5, 0), "act", "pool", "flatten",
                ("fc", 400, 120), "act", ("fc", 120, 84), "act", ("fc", 84, 10)]
    elif model == "mlp":
        spec = ["flatten", ("fc", 784, 128), "act"]
        for _ in range(7):
            spec += [("fc", 128, 128), "act"]
        spec += [("fc", 128, 10)]
    else:
        raise ValueError(model)
    mods, plist = [], []
    nlayer = 0
    fan_in = None
    for s in spec:
        if s == "act":
            m = make_act(act)
            if act == "prelu":
                plist.append(("act%d.a" % nlayer, m.weight, "a", fan_in))
        elif s == "pool":
            m = nn.MaxPool2d(2)
        elif s == "flatten":
            m = nn.Flatten()
        elif s[0] == "conv":
            _, c, o, k, pad = s
            m = nn.Conv2d(c, o, k, padding=pad)
            nlayer += 1
            fan_in = c * k * k
            plist.append(("conv%d.weight" % nlayer, m.weight, "weight", fan_in))
            plist.append(("conv%d.bias" % nlayer, m.bias, "bias", fan_in))
        else:
            _, i, o = s
            m = nn.Linear(i, o)
            nlayer += 1
            fan_in = i
            plist.append(("fc%d.weight" % nlayer, m.weight, "weight", fan_in))
            plist.append(("fc%d.bias" % nlayer, m.bias, "bias", fan_in))
        mods.append(m)
    net = nn.Sequential(*mods)
    assert [id(p) for p in net.parameters()] == [id(p) for _, p, _, _ in plist], "parameter order"
    return net, plist


def init_values(t, kind, fan_in, n):
    if kind == "a":
        return [PRELU_INIT] * n
    scale = math.sqrt(6.0 / fan_in) if kind == "weight" else 1.0 / math.sqrt(fan_in)
    return [scale * U(k, t + 1) for k in range(n)]


def run(model, act, dtype):
    """One step; returns dict with loss, logits, and per tensor init/grad/new (float32 lists
    for float32, float lists for float64)."""
    torch.manual_seed(0)
    net, plist = build(model, act)
    init = []
    with torch.no_grad():
        for t, (name, p, kind, fan_in) in enumerate(plist):
            v = gc.f32(init_values(t, kind, fan_in, p.numel()))
            p.copy_(v.reshape(p.shape))
            init.append(v.tolist())
    net = net.to(dtype)
    x, y = gc.inputs((1, 28, 28))
    x = x.to(dtype)
    decay = [kind != "a" for _, _, kind, _ in plist]  # PReLU's a: no weight decay
    opt = gc.sgd([p for _, p, _, _ in plist], decay)
    net.train()
    opt.zero_grad()
    out = net(x)
    loss = F.cross_entropy(out, y)
    loss.backward()
    grads = [p.grad.detach().reshape(-1).clone() for _, p, _, _ in plist]
    opt.step()
    new = [p.detach().reshape(-1).clone() for _, p, _, _ in plist]
    return dict(plist=plist, decay=decay, init=init, loss=loss.item(), logits=out.detach().tolist(),
                grads=[g.tolist() for g in grads], new=[v.tolist() for v in new])


def g17(v):
    return "%.17g" % v


def samples(n, stride):
    if n <= SMALL:
        return list(range(n))
    ks = list(range(0, n, stride))
    if ks[-1] != n - 1:
        ks.append(n - 1)
    return ks


def render_case(model, act, r, r64):
    out = []
    worst_tol, worst_rel = gc.grad_noise(r, r64, RTOL, ATOL_FRAC)
    loss_rel = abs(r["loss"] - r64["loss"]) / abs(r64["loss"])
    if worst_tol > 0.1:
        raise AssertionError("%s %s: float32 gradients differ from float64 by %.3g of the test's tolerance"
                             % (model, act, worst_tol))
    out.append("# %s %s: PyTorch float32 vs float64: loss %.2g relative; gradients %.2g relative "
               "(|g| > 1e-3 max|g| of the tensor), %.2g of the test's tolerance\n"
               % (model, act, loss_rel, worst_rel, worst_tol))
    body = gc.case_lines(model, act, "%s.cfg" % model)
    body.append("loss %s\n" % g9(r["loss"]))
    body += gc.logit_lines("logits", r["logits"])
    off = 0
    for t, (name, p, kind, fan_in) in enumerate(r["plist"]):
        n = p.numel()
        grad, new = r["grads"][t], r["new"][t]
        body.append("tensor %d %s %d %d %d %d %s\n" % (t, name, off, n, fan_in, r["decay"][t],
                                                       "x".join(str(d) for d in p.shape)))
        body.append("stats %d %s\n" % (t, " ".join(g17(v) for v in gc.tensor_stats(t, r["init"][t], grad, new))))
        body += gc.sample_lines(t, samples(n, STRIDE[model]), grad, new)
        off += n
    body.append("end\n")
    return out, body


def header(model):
    cap = os.environ.get("ATEN_CPU_CAPABILITY", "?")
    return [
        "# generated by tools/golden_torch_train.py with torch %s -- do not edit\n" % torch.__version__,
        "# One SGD step of models/%s.cfg in PyTorch (float32, CPU, 1 thread, ATEN_CPU_CAPABILITY=%s).\n"
        % (model, cap),
        "# Initial parameters and inputs are not stored: both sides compute them from a hash\n",
        "# (fmix32 = MurmurHash3 finaliser, mod 2^32 arithmetic):\n",
        "#   U(k,s) = (2*fmix32(k*0x9E3779B1 + s*0x632BE5AB) + 1) / 2^32 - 1   (double, in (-1,1))\n",
        "#   tensor t (arena order), element k: weight float32(sqrt(6/fan_in) U(k,t+1)),\n",
        "#   bias float32(U(k,t+1)/sqrt(fan_in)), PReLU a 0.25; input x[k] = float32(U(k,1000)),\n",
        "#   k = (b*28+i)*28+j; labels y[b] = (3b+1) mod 10, batch 8.\n",
        "# Step: train mode, CrossEntropyLoss (mean), SGD lr 0.1 momentum 0.9 weight_decay 5e-4\n",
        "# (PReLU a: own group, weight_decay 0), foreach=False.\n",
        "# Lines: tensor T NAME OFFSET N FAN_IN DECAY SHAPE / stats T INIT_SUM INIT_ABS GRAD_SUM\n",
        "# GRAD_ABS GRAD_MAX GRAD_CHK STEP_CHK (doubles; CHK weights c_k = U(k,2000+t)) /\n",
        "# s T K GRAD NEW (sampled: every element of tensors <= 256, else every %dth and the last).\n"
        % STRIDE[model],
        "# See the script's docstring for the full description.\n",
    ]


if __name__ == "__main__":
    gc.main(ARGS, CASES, "torch_train_%s.txt", run, render_case, header)
