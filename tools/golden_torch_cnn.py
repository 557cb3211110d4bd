#!/usr/bin/python3
"""Produce tests/golden/torch_cnn_resnet18.txt and tests/golden/torch_cnn_vgg16.txt: one
training step of ResNet-18 and VGG-16 with batch norm, at reduced widths, in PyTorch 1.13,
for tests/test_torch_cnn.c (which does not need torch).

The nets are models/resnet18.cfg and models/vgg16.cfg (kuangliu/pytorch-cifar's layout)
with fewer filters, so that a step takes a fraction of a second while every width stays a
multiple of 16 (oneDNN's nChw16c channel blocks, the layout the fast path keeps between
layers):

    resnet18: 3x32x32 input; Conv2d(3,16,3,pad 1,no bias) BN A; four stages of two
              BasicBlocks with 16, 32, 32, 64 filters (the first block of stages 2-4 with
              stride 2); global average pooling; Linear(64,10).
              BasicBlock: A(BN(conv2(A(BN(conv1(x))))) + shortcut(x)), convs 3x3 pad 1 no
              bias; shortcut = x, or Conv2d(1x1, stride 2, no bias) then BN where the
              shapes differ. The activation comes after the addition.
    vgg16:    3x32x32 input; 13 x (Conv2d(3x3, pad 1, no bias) BN A) with
              16,16,M,32,32,M,32,32,32,M,64,64,64,M,64,64,64,M (M = MaxPool2d(2));
              Flatten; Linear(64,10). (kuangliu's convs have biases, which BN cancels;
              actlab's vgg16.cfg leaves them out, and so does this script.)

BN is torch.nn.BatchNorm2d(eps=1e-5, momentum=0.1). A is the case's activation: ReLU, or
EReLU (actlab's "erelu", Du et al. 2022's f4: x for x >= 0, else -log(1 - x)), built as
torch.where(x >= 0, x, -log1p(-min(x, 0))) as tools/golden_torch.py does.

The parameters, in the order of model.parameters(), are actlab's arena order (conv
weight; BN weight = gamma, bias = beta; dense weight, bias), except that actlab's arena
also holds each BN layer's running mean and running variance (C each) right after the
layer's bias. The file gives each tensor's arena offset counting them.

Nothing random: parameters, running statistics and inputs come from an integer hash (the
one of tools/golden_torch_train.py, in tools/golden_common.py), so the C test regenerates
them:

    fmix32(h)  = MurmurHash3's finaliser: h ^= h >> 16; h *= 0x85EBCA6B; h ^= h >> 13;
                 h *= 0xC2B2AE35; h ^= h >> 16  (all mod 2^32)
    U(k, s)    = (2 * fmix32((k * 0x9E3779B1 + s * 0x632BE5AB) mod 2^32) + 1) / 2^32 - 1
                 a double in (-1, 1), exact
    tensor t (0-based, parameters() order), element k (flat index in PyTorch's layout):
      conv, dense weight  float32(sqrt(6 / fan_in) * U(k, t + 1))   fan_in = C*KH*KW or I
      dense bias          float32(U(k, t + 1) / sqrt(fan_in))
      BN weight (gamma)   float32(1 + 0.5 * U(k, t + 1))
      BN bias (beta)      float32(0.2 * U(k, t + 1))
    BN layer whose gamma is tensor t, channel c:
      running mean        float32(0.1 * U(c, 3000 + t))
      running var         float32(1 + 0.5 * U(c, 4000 + t))
    input x[b][ch][i][j], flat index k:  float32(U(k, 1000))
    labels y[b] = (3 b + 1) mod 10, b = 0..7   (batch of 8)

The step: model.train(); loss = CrossEntropyLoss (mean) of model(x) against y (this
forward also updates the running statistics: momentum 0.1, unbiased batch variance);
loss.backward(); torch.optim.SGD(lr=0.1, momentum=0.9, dampening=0, nesterov=False,
weight_decay=5e-4, foreach=False) over all parameters (BN's too, PyTorch's default); one
step(). Then model.eval() and model(x) again: the logits with the running statistics
and the new parameters. float32, one thread.

The file holds, per case (float32 values %.9g; init sums %.13g, other sums %.8g):

    case MODEL ACT
    model MODEL widths=W,W,... input=CxHxW
    act ACT
    batch 8
    optim sgd lr=0.1 momentum=0.9 dampening=0 nesterov=0 weight_decay=0.0005
    arena N                             (parameters + running statistics)
    loss L
    logits B v0 ... v9                  (training-mode model(x) before the step)
    activations N                       (activation layers)
    kink A K X                          (ReLU cases: near-zero activation inputs)
    tie P W I J GAP                     (max-pooling windows with a near tie)
    tensor T NAME TYPE OFFSET N FAN_IN DECAY SHAPE     (TYPE: conv, batchnorm, dense)
    stats T INIT_SUM INIT_ABS GRAD_SUM GRAD_ABS GRAD_MAX GRAD_CHK STEP_CHK
    s T K GRAD NEW                      (sampled elements)
    bn T OFFSET C MEAN0_SUM VAR0_SUM DMEAN_ABS DMEAN_MAX DMEAN_CHK DVAR_ABS DVAR_MAX DVAR_CHK
    r T C MEAN VAR                      (sampled channels: running stats after the forward)
    eval B v0 ... v9                    (eval-mode logits after the step)
    end

A "bn" line follows the BN layer's bias tensor; T is its gamma's tensor and OFFSET the
arena offset of its running mean (the variance follows at OFFSET + C). Sums are in double
over the float32 values in element order: INIT_SUM/INIT_ABS of the initial parameters
(they prove the two hash implementations agree), GRAD_SUM, GRAD_ABS, GRAD_MAX (max |g|),
and signed checksums with weights c_k = U(k, 2000 + t): GRAD_CHK = sum c_k g_k and
STEP_CHK = sum c_k (new_k - init_k), which any permutation (a layout error) changes. For
the running statistics: MEAN0_SUM/VAR0_SUM of the initial values, and the change made by
the forward, d = new - init: DMEAN_ABS = sum |d|, DMEAN_MAX = max |d|, DMEAN_CHK =
sum U(c, 5000 + t) d_c, and DVAR_ABS, DVAR_MAX, DVAR_CHK = sum U(c, 6000 + t) d_c.
Sampled elements: k = 0, p, 2p, ... and the last, with p the smallest prime >= n/5
(running statistics: channels, p >= C/4).

ReLU's derivative jumps at 0, so an activation input within rounding of 0 can land on
the other side of the kink in another float32 implementation, and then every gradient
before that layer differs by one element's share (seen: 3.5% of one BN bias gradient in
actlab's reference path for VGG, from an input of -9.4e-7 there and +4.8e-7 here). With
a million activation inputs per step (78 of ResNet's within 1e-4 of 0, differences
between implementations up to 3e-6 there) that is to be expected. So for ReLU the file
lists, per activation layer A (0-based, in forward order, which is actlab's layer order),
each input element K (flat NCHW index) with |X| < KINK_TAU, X the float32 value. The C
test checks actlab's value there against X and, where the signs differ, puts X into
actlab's buffers before backward, so its comparisons can stay strict.

Max pooling has the same hazard where a window's two largest inputs nearly tie: rounding
could send the window's gradient to the other one. The script fails if any window (with a
positive maximum) has its two largest inputs within TIE_MIN (5 times the float32 noise
measured there), and lists those within TIE_TAU: pooling layer P (0-based), output W,
PyTorch's largest input I and the next J (flat NCHW indices of the pooling's input), and
their difference; the C test checks that actlab orders them alike.

The script also runs the same step in float64 (from the same float32 starting values)
and writes, in the header, the largest differences between PyTorch's float32 and float64
results, in units of the C test's tolerances (RTOL, ATOL_FRAC, RTOL_LOSS): the rounding noise
any float32 implementation has. It fails if that noise reaches NOISE_MAX of them, and
checks PyTorch's updated parameters against the SGD formula.

Run with Debian's interpreter (the one with python3-torch), about 5 s:

    /usr/bin/python3 tools/golden_torch_cnn.py -o tests/golden
    (writes DIR/torch_cnn_resnet18.txt and DIR/torch_cnn_vgg16.txt atomically:
    temp file + rename; without -o both go to stdout)
"""
import math
import os

import golden_common as gc
from golden_common import CLASSES, U, g9

if __name__ == "__main__":
    ARGS = gc.parse_args("Write actlab's ResNet-18/VGG-16 training-step golden files.",
                         "torch_cnn_{resnet18,vgg16}.txt")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

BN_EPS, BN_MOMENTUM = 1e-5, 0.1
NSAMPLE = 5       # sampled elements per tensor (about; the checksums cover the rest)
NSAMPLE_BN = 4    # running statistics: sampled channels per layer
RESNET_WIDTHS = (16, 32, 32, 64)
VGG_WIDTHS = (16, 16, "M", 32, 32, "M", 32, 32, 32, "M", 64, 64, 64, "M", 64, 64, 64, "M")
INPUT = {"resnet18": (3, 32, 32), "vgg16": (3, 32, 32)}
CASES = {"resnet18": ["relu", "erelu"], "vgg16": ["relu"]}
KINKED = {"relu"}  # activations whose derivative jumps at 0: their near-zero inputs are listed
KINK_TAU = 1e-4    # ... those within this of 0 (float32 noise there is below 2e-5)
TIE_TAU = 1e-4     # max-pooling windows whose two largest inputs are this close are listed
TIE_MIN = 5e-6     # ... and none may be closer than this (float32 noise there: about 1e-6)
# The C test's tolerances: |d| <= RTOL |want| + ATOL_FRAC * (the tensor's max |value|)
# (logits, gradients, step and running-statistics changes), the loss RTOL_LOSS relative.
# Keep in step with tests/test_torch_cnn.c. The float32-vs-float64 noise must stay
# below NOISE_MAX of them.
RTOL, ATOL_FRAC = 1e-3, 1e-4
RTOL_LOSS = 1e-5
NOISE_MAX = 0.25


def erelu(x):
    xn = torch.clamp(x, max=0)  # keeps log1p finite (and its gradient) on the unused branch
    return torch.where(x >= 0, x, -torch.log1p(-xn))


class Recorded:
    """An activation function that keeps its inputs while `inputs` is a list (actlab's
    activation layers, in order: the forwards call them in actlab's layer order)."""

    def __init__(self, f):
        self.f = f
        self.inputs = None

    def __call__(self, x):
        if self.inputs is not None:
            self.inputs.append(x.detach().reshape(-1).clone())
        return self.f(x)


def make_act(name):
    if name == "relu":
        return Recorded(F.relu)
    if name == "erelu":
        return Recorded(erelu)
    raise ValueError(name)


def conv3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


def bn(c):
    return nn.BatchNorm2d(c, eps=BN_EPS, momentum=BN_MOMENTUM)


class BasicBlock(nn.Module):
    """kuangliu/pytorch-cifar's BasicBlock with the activation as a parameter; modules
    registered in actlab's arena order: conv1, bn1, conv2, bn2, shortcut conv, shortcut bn."""

    def __init__(self, cin, cout, stride, act):
        super().__init__()
        self.act = act
        self.conv1 = conv3(cin, cout, stride)
        self.bn1 = bn(cout)
        self.conv2 = conv3(cout, cout)
        self.bn2 = bn(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), bn(cout))

    def forward(self, x):
        out = self.act(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.act(out + self.shortcut(x))


class ResNet18(nn.Module):
    def __init__(self, widths, act):
        super().__init__()
        self.act = act
        self.conv1 = conv3(3, widths[0])
        self.bn1 = bn(widths[0])
        cin, stages = widths[0], []
        for i, w in enumerate(widths):
            stride = 1 if i == 0 else 2
            stages.append(nn.Sequential(BasicBlock(cin, w, stride, act), BasicBlock(w, w, 1, act)))
            cin = w
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.linear = nn.Linear(cin, CLASSES)

    def forward(self, x):
        out = self.act(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        out = out.mean(dim=(2, 3))  # actlab's [globalavgpool]
        return self.linear(out)


class Act(nn.Module):
    def __init__(self, f):
        super().__init__()
        self.f = f

    def forward(self, x):
        return self.f(x)


class VGG16(nn.Module):
    def __init__(self, widths, act):
        super().__init__()
        mods, cin = [], 3
        for w in widths:
            if w == "M":
                mods.append(nn.MaxPool2d(2))
            else:
                mods += [conv3(cin, w), bn(w), Act(act)]
                cin = w
        self.features = nn.Sequential(*mods)
        self.classifier = nn.Linear(cin, CLASSES)

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


def build(model, act):
    """(net, plist, bns, f): plist = [(name, param, type, role, fan_in)] in parameters() order;
    bns = [(module, t of its gamma)]; f the (Recorded) activation."""
    f = make_act(act)
    net = ResNet18(RESNET_WIDTHS, f) if model == "resnet18" else VGG16(VGG_WIDTHS, f)
    plist, bns = [], []
    owner = {}
    for mname, m in net.named_modules():
        for pname, p in m.named_parameters(recurse=False):
            owner[id(p)] = (mname, m, pname)
    for t, (name, p) in enumerate(net.named_parameters()):
        _, m, role = owner[id(p)]
        if isinstance(m, nn.Conv2d):
            typ, fan_in = "conv", m.in_channels * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            typ, fan_in = "dense", m.in_features
        elif isinstance(m, nn.BatchNorm2d):
            typ, fan_in = "batchnorm", 0
            if role == "weight":
                bns.append((m, t))
        else:
            raise ValueError(name)
        plist.append((name, p, typ, role, fan_in))
    return net, plist, bns, f


def init_values(t, typ, role, fan_in, n):
    if typ == "batchnorm":
        return [1.0 + 0.5 * U(k, t + 1) for k in range(n)] if role == "weight" else [0.2 * U(k, t + 1) for k in range(n)]
    if role == "weight":
        return [math.sqrt(6.0 / fan_in) * U(k, t + 1) for k in range(n)]
    return [U(k, t + 1) / math.sqrt(fan_in) for k in range(n)]


def run(model, act, dtype):
    """One step; returns dict with loss, logits, eval logits, per tensor init/grad/new and
    per BN layer the running statistics before and after (lists of Python floats)."""
    torch.manual_seed(0)
    net, plist, bns, f = build(model, act)
    init, stat0 = [], []
    with torch.no_grad():
        for t, (name, p, typ, role, fan_in) in enumerate(plist):
            v = gc.f32(init_values(t, typ, role, fan_in, p.numel()))
            p.copy_(v.reshape(p.shape))
            init.append(v.tolist())
        for m, t in bns:
            c = m.num_features
            m.running_mean.copy_(gc.f32([0.1 * U(k, 3000 + t) for k in range(c)]))
            m.running_var.copy_(gc.f32([1.0 + 0.5 * U(k, 4000 + t) for k in range(c)]))
            stat0.append((m.running_mean.tolist(), m.running_var.tolist()))
    net = net.to(dtype)
    x, y = gc.inputs(INPUT[model])
    x = x.to(dtype)
    decay = [True] * len(plist)  # every parameter, BN's too (PyTorch's default)
    opt = gc.sgd([p for _, p, _, _, _ in plist], decay)
    net.train()
    opt.zero_grad()
    f.inputs = []
    pool_inputs = []
    hooks = [m.register_forward_pre_hook(lambda m, a: pool_inputs.append(a[0].detach().clone()))
             for m in net.modules() if isinstance(m, nn.MaxPool2d)]
    out = net(x)
    act_inputs, f.inputs = f.inputs, None
    for h in hooks:
        h.remove()
    loss = F.cross_entropy(out, y)
    stat1 = [(m.running_mean.tolist(), m.running_var.tolist()) for m, _ in bns]
    loss.backward()
    grads = [p.grad.detach().reshape(-1).tolist() for _, p, _, _, _ in plist]
    opt.step()
    new = [p.detach().reshape(-1).tolist() for _, p, _, _, _ in plist]
    net.eval()
    with torch.no_grad():
        ev = net(x)
    return dict(plist=plist, bns=bns, decay=decay, init=init, loss=loss.item(), logits=out.detach().tolist(),
                grads=grads, new=new, stat0=stat0, stat1=stat1, eval=ev.tolist(),
                act_inputs=act_inputs, pool_inputs=pool_inputs)


def g8(v):
    return "%.8g" % v


def g13(v):
    return "%.13g" % v


def is_prime(p):
    return p >= 2 and all(p % d for d in range(2, int(math.isqrt(p)) + 1))


def samples(n, count):
    p = max(2, -(-n // count))
    while not is_prime(p):
        p += 1
    ks = list(range(0, n, p))
    if ks[-1] != n - 1:
        ks.append(n - 1)
    return ks


def near_ties(pool_inputs):
    """[(pool P, output W, input I, input J, gap)]: 2x2 max-pooling windows whose largest
    input I (flat NCHW, PyTorch's winner) is within TIE_TAU of the next, J; windows whose
    maximum is 0 (all ReLU zeros: each candidate's gradient is cut there) are left out."""
    ties = []
    for p, x in enumerate(pool_inputs):
        B, C, H, W = x.shape
        idx = torch.arange(x.numel()).reshape(B, C, H, W)
        win = x.reshape(B, C, H // 2, 2, W // 2, 2).permute(0, 1, 2, 4, 3, 5).reshape(-1, 4)
        wid = idx.reshape(B, C, H // 2, 2, W // 2, 2).permute(0, 1, 2, 4, 3, 5).reshape(-1, 4)
        top = win.topk(2, dim=1, sorted=True)
        gap = top.values[:, 0] - top.values[:, 1]
        for w in ((gap < TIE_TAU) & (top.values[:, 0] > 0)).nonzero().reshape(-1).tolist():
            i, j = top.indices[w].tolist()
            if top.values[w, 0] == top.values[w, 1] and wid[w, j] < wid[w, i]:
                i, j = j, i  # an exact tie goes to the first in row-major order, as in PyTorch
            ties.append((p, w, int(wid[w, i]), int(wid[w, j]), gap[w].item()))
    return ties


def noise(r32, r64):
    """float32-vs-float64 differences in units of the C test's tolerances, per quantity
    (each as the C test measures it), and the plain relative gradient difference of
    elements with |g| > 1e-3 max|g|."""
    n = {}
    n["loss"] = abs(r32["loss"] - r64["loss"]) / (RTOL_LOSS * abs(r64["loss"]))
    for key in ("logits", "eval"):
        flat32 = [v for row in r32[key] for v in row]
        flat64 = [v for row in r64[key] for v in row]
        n[key] = gc.tol_units(flat32, flat64, max(abs(v) for v in flat64), RTOL, ATOL_FRAC)
    worst_g, worst_rel = gc.grad_noise(r32, r64, RTOL, ATOL_FRAC)
    worst_step = 0.0
    for t in range(len(r32["plist"])):
        gmax = max(abs(v) for v in r64["grads"][t])
        p0 = r32["init"][t]
        d32 = [a - p for a, p in zip(r32["new"][t], p0)]
        d64 = [a - p for a, p in zip(r64["new"][t], p0)]
        # the step's change against lr times the gradient's tolerance, plus the rounding of p
        worst_step = max(worst_step, gc.tol_units(d32, d64, gc.LR * gmax, RTOL, ATOL_FRAC, p0))
    worst_run = 0.0
    for (m32, v32), (m64, v64), (m0, v0) in zip(r32["stat1"], r64["stat1"], r32["stat0"]):
        for new32, new64, old in ((m32, m64, m0), (v32, v64, v0)):
            d32 = [a - o for a, o in zip(new32, old)]
            d64 = [a - o for a, o in zip(new64, old)]
            worst_run = max(worst_run, gc.tol_units(d32, d64, max(abs(v) for v in d64), RTOL, ATOL_FRAC, old))
    n["grad"], n["step"], n["running"] = worst_g, worst_step, worst_run
    return n, worst_rel


def render_case(model, act, r, r64):
    nz, worst_rel = noise(r, r64)
    worst = max(nz.values())
    notes = ["# %s %s: PyTorch float32 vs float64, in units of the C test's tolerance: %s; gradients "
             "%.2g relative (|g| > 1e-3 max|g| of the tensor)\n"
             % (model, act, ", ".join("%s %.2g" % kv for kv in nz.items()), worst_rel)]
    if worst >= NOISE_MAX:
        raise AssertionError("%s %s: float32 differs from float64 by %.3g of the test's tolerance (%s)"
                             % (model, act, worst, nz))
    c, h, w = INPUT[model]
    widths = RESNET_WIDTHS if model == "resnet18" else VGG_WIDTHS
    body = gc.case_lines(model, act, "%s widths=%s input=%dx%dx%d" % (model, ",".join(str(v) for v in widths), c, h, w))
    bn_of = {t: i for i, (_, t) in enumerate(r["bns"])}
    arena = sum(p.numel() for _, p, _, _, _ in r["plist"]) + sum(2 * m.num_features for m, _ in r["bns"])
    body.append("arena %d\n" % arena)
    body.append("loss %s\n" % g9(r["loss"]))
    body += gc.logit_lines("logits", r["logits"])
    body.append("activations %d\n" % len(r["act_inputs"]))
    if act in KINKED:
        for a, xs in enumerate(r["act_inputs"]):
            for k in (xs.abs() < KINK_TAU).nonzero().reshape(-1).tolist():
                body.append("kink %d %d %s\n" % (a, k, g9(xs[k].item())))
    for p, w, i, j, gap in near_ties(r["pool_inputs"]):
        if gap < TIE_MIN:
            raise AssertionError("%s %s: max-pooling %d, output %d: inputs %d and %d only %.3g apart, which "
                                 "rounding could swap; choose other inputs" % (model, act, p, w, i, j, gap))
        body.append("tie %d %d %d %d %s\n" % (p, w, i, j, g9(gap)))
    off = 0
    for t, (name, p, typ, role, fan_in) in enumerate(r["plist"]):
        n = p.numel()
        grad, new = r["grads"][t], r["new"][t]
        stats = gc.tensor_stats(t, r["init"][t], grad, new)
        body.append("tensor %d %s %s %d %d %d %d %s\n" % (t, name, typ, off, n, fan_in, r["decay"][t],
                                                         "x".join(str(d) for d in p.shape)))
        body.append("stats %d %s %s\n" % (t, " ".join(g13(v) for v in stats[:2]), " ".join(g8(v) for v in stats[2:])))
        body += gc.sample_lines(t, samples(n, NSAMPLE), grad, new)
        off += n
        if typ == "batchnorm" and role == "bias":
            i = bn_of[t - 1]
            (m0, v0), (m1, v1) = r["stat0"][i], r["stat1"][i]
            dm = [a - b for a, b in zip(m1, m0)]
            dv = [a - b for a, b in zip(v1, v0)]
            body.append("bn %d %d %d %s %s %s %s %s %s %s %s\n" % (
                t - 1, off, n, g13(sum(m0)), g13(sum(v0)),
                g8(sum(abs(v) for v in dm)), g8(max(abs(v) for v in dm)),
                g8(sum(U(k, 5000 + t - 1) * v for k, v in enumerate(dm))),
                g8(sum(abs(v) for v in dv)), g8(max(abs(v) for v in dv)),
                g8(sum(U(k, 6000 + t - 1) * v for k, v in enumerate(dv)))))
            for k in samples(n, NSAMPLE_BN):
                body.append("r %d %d %s %s\n" % (t - 1, k, g9(m1[k]), g9(v1[k])))
            off += 2 * n
    assert off == arena
    body += gc.logit_lines("eval", r["eval"])
    body.append("end\n")
    return notes, body


def header(model):
    cap = os.environ.get("ATEN_CPU_CAPABILITY", "?")
    c, h, w = INPUT[model]
    return [
        "# generated by tools/golden_torch_cnn.py with torch %s -- do not edit\n" % torch.__version__,
        "# One SGD step of a reduced-width models/%s.cfg (%dx%dx%d input) in PyTorch (float32, CPU,\n"
        % (model, c, h, w),
        "# 1 thread, ATEN_CPU_CAPABILITY=%s), then an eval-mode forward.\n" % cap,
        "# Initial parameters, running statistics and inputs are not stored: both sides compute\n",
        "# them from a hash (fmix32 = MurmurHash3 finaliser, mod 2^32 arithmetic):\n",
        "#   U(k,s) = (2*fmix32(k*0x9E3779B1 + s*0x632BE5AB) + 1) / 2^32 - 1   (double, in (-1,1))\n",
        "#   tensor t (parameters() order), element k: conv/dense weight float32(sqrt(6/fan_in) U(k,t+1)),\n",
        "#   dense bias float32(U(k,t+1)/sqrt(fan_in)), BN gamma float32(1 + 0.5 U(k,t+1)),\n",
        "#   BN beta float32(0.2 U(k,t+1)); BN with gamma t, channel c: running mean\n",
        "#   float32(0.1 U(c,3000+t)), running var float32(1 + 0.5 U(c,4000+t));\n",
        "#   input x[k] = float32(U(k,1000)) (flat NCHW index); labels y[b] = (3b+1) mod 10, batch 8.\n",
        "# Step: train mode, CrossEntropyLoss (mean), SGD lr 0.1 momentum 0.9 weight_decay 5e-4\n",
        "# on every parameter, foreach=False; BN eps 1e-5 momentum 0.1.\n",
        "# Lines: tensor T NAME TYPE OFFSET N FAN_IN DECAY SHAPE (OFFSET counts the running stats) /\n",
        "# stats T INIT_SUM INIT_ABS GRAD_SUM GRAD_ABS GRAD_MAX GRAD_CHK STEP_CHK (CHK weights\n",
        "# U(k,2000+t)) / s T K GRAD NEW / bn T OFFSET C MEAN0_SUM VAR0_SUM DMEAN_ABS DMEAN_MAX\n",
        "# DMEAN_CHK DVAR_ABS DVAR_MAX DVAR_CHK (d = after - before the forward; CHK weights\n",
        "# U(c,5000+t), U(c,6000+t)) /\n",
        "# r T C MEAN VAR (after the forward) / eval B logits (eval mode, after the step) /\n",
        "# kink A K X: ReLU's input K (flat NCHW) of activation layer A with |X| < %g /\n" % KINK_TAU,
        "# tie P W I J GAP: max-pooling P's output W has inputs I > J within %g.\n" % TIE_TAU,
        "# Sampled: k = 0, p, 2p, ... and the last, p the smallest prime >= n/%d (channels: >= C/%d).\n"
        % (NSAMPLE, NSAMPLE_BN),
        "# See the script's docstring for the full description.\n",
    ]


if __name__ == "__main__":
    gc.main(ARGS, CASES, "torch_cnn_%s.txt", run, render_case, header)
