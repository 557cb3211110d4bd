#!/usr/bin/python3
"""Produce tests/golden/torch_optim.txt: PyTorch 1.13 optimiser steps and learning-rate
schedules, for tests/test_optim.c (which does not need torch).

Optimisers. Three float32 parameter tensors, used as three parameter groups with weight
decay multipliers 1, 0 and 0.5 (a "weight", a "bias" that gets no decay, and a group at half
decay; PyTorch expresses this as param groups with their own weight_decay). Their initial
values and the gradient of every step come from simple formulas, rounded to float32 and
stored in the file; the gradients are assigned to .grad directly (no autograd). The
learning rate changes between steps, as a schedule would change it. For each case the file
holds, per step, the lr, the gradients and the parameters after torch.optim.SGD/Adam's
step() (single-tensor path, foreach=False):

    optim NAME
    config kind=sgd lr=0.1 momentum=0.9 dampening=0 nesterov=0 weight_decay=0.0005
    group INDEX NAME N DECAY_MULT
    init INDEX v...
    step K LR
    grad INDEX v...
    param INDEX v...
    end

Schedules. Each case is named by actlab's schedule text and recorded by running the
PyTorch scheduler the way a training loop does: scheduler.step() after every epoch of IPE
iterations (unit epoch) or after every iteration (unit iter); the lr of iteration I is
the optimizer's param_groups[0]['lr'] while iteration I runs. Warm-up is LinearLR chained
with the main scheduler through ChainedScheduler (the learning rates multiply). PyTorch
steps its schedulers recursively (lr *= ratio); actlab evaluates the closed forms, so the
two agree to rounding (about 1e-15 relative), not bit for bit.

    sched NAME BASE_LR IPE
    spec TEXT
    I LR        (one line per recorded iteration)
    end

All float32 values use %.9g (exact round trip through strtof); learning rates use %.17g.
The script replays every optimiser step in numpy float32 with the operation order actlab
uses and fails unless PyTorch's results are bit-identical, so a change in PyTorch's
kernels shows up here rather than as a puzzling test tolerance.

Run with Debian's interpreter (the one with python3-torch):

    /usr/bin/python3 tools/golden_torch_optim.py -o tests/golden/torch_optim.txt
"""
import argparse
import math
import os
import sys
import tempfile
import warnings


def _parse_args():
    ap = argparse.ArgumentParser(description="Write actlab's optimiser/schedule golden file.")
    ap.add_argument("-o", "--output", help="write here (atomically: temp file + rename); default stdout")
    return ap.parse_args()


if __name__ == "__main__":
    ARGS = _parse_args()
    # Portable (non-SIMD, no FMA) kernels, so the file does not depend on the machine.
    os.environ["ATEN_CPU_CAPABILITY"] = "default"

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch.optim import lr_scheduler as S  # noqa: E402

F32 = np.float32
STEPS = 6
GROUPS = [("weight", 7, 1.0), ("bias", 3, 0.0), ("half", 4, 0.5)]


def f32(x):
    return "%.9g" % float(F32(x))


def lr17(x):
    return "%.17g" % x


def init_values(gi, n):
    # element 0 of the bias is 0 (as biases start); the rest spread over about [-1, 1]
    return np.array([0.0 if (gi == 1 and i == 0) else 0.8 * math.sin(0.9 * i + 1.1 * gi + 0.3)
                     for i in range(n)], dtype=F32)


def grad_values(gi, n, k):
    # magnitudes from 1e-4 to 10, both signs; the last element of every group is always 0
    # (Adam: m = v = 0, so the update is 0/eps) and one element is 0 only at step 3
    g = []
    for i in range(n):
        if i == n - 1 or (k == 3 and i == 1):
            g.append(0.0)
        else:
            g.append(math.sin(1.7 * i + 2.3 * k + 0.6 * gi) * 10.0 ** (((i + k + gi) % 6) - 4))
    return np.array(g, dtype=F32)


OPTIM_CASES = [
    # name, kind, hyper-parameters, lr per step
    ("sgd_plain", "sgd", dict(momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0),
     [0.1, 0.1, 0.05, 0.05, 0.01, 0.01]),
    ("sgd_momentum", "sgd", dict(momentum=0.9, dampening=0.0, nesterov=False, weight_decay=0.0),
     [0.1, 0.1, 0.05, 0.05, 0.01, 0.01]),
    ("sgd_nesterov", "sgd", dict(momentum=0.9, dampening=0.0, nesterov=True, weight_decay=0.0),
     [0.1, 0.1, 0.05, 0.05, 0.01, 0.01]),
    ("sgd_momentum_wd", "sgd", dict(momentum=0.9, dampening=0.0, nesterov=False, weight_decay=5e-4),
     [0.1, 0.1, 0.05, 0.05, 0.01, 0.01]),
    ("sgd_dampening_wd", "sgd", dict(momentum=0.5, dampening=0.3, nesterov=False, weight_decay=0.01),
     [0.2, 0.1, 0.1, 0.03, 0.03, 0.01]),
    ("sgd_plain_wd", "sgd", dict(momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.05),
     [0.1, 0.1, 0.05, 0.05, 0.01, 0.01]),
    ("adam_default", "adam", dict(beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False),
     [1e-3, 1e-3, 5e-4, 5e-4, 1e-4, 1e-4]),
    ("adam_wd", "adam", dict(beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01, amsgrad=False),
     [1e-3, 1e-3, 5e-4, 5e-4, 1e-4, 1e-4]),
    ("adam_amsgrad", "adam", dict(beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=1e-3, amsgrad=True),
     [2e-3, 1e-3, 1e-3, 5e-4, 5e-4, 1e-4]),
]


def config_line(kind, hp):
    if kind == "sgd":
        return "config kind=sgd momentum=%r dampening=%r nesterov=%d weight_decay=%r" % (
            hp["momentum"], hp["dampening"], int(hp["nesterov"]), hp["weight_decay"])
    return "config kind=adam beta1=%r beta2=%r eps=%r weight_decay=%r amsgrad=%d" % (
        hp["beta1"], hp["beta2"], hp["eps"], hp["weight_decay"], int(hp["amsgrad"]))


class Emulator:
    """actlab's update in numpy float32, operation for operation (what src/train/optim.c does)."""

    def __init__(self, kind, hp, inits):
        self.kind, self.hp = kind, hp
        self.w = [x.copy() for x in inits]
        self.buf = [None] * len(inits)
        self.m = [np.zeros_like(x) for x in inits]
        self.v = [np.zeros_like(x) for x in inits]
        self.vmax = [np.zeros_like(x) for x in inits]
        self.t = 0

    def step(self, lr, grads):
        hp = self.hp
        self.t += 1
        for gi, (g, (_, _, mult)) in enumerate(zip(grads, GROUPS)):
            w = self.w[gi]
            wd = hp["weight_decay"] * mult
            d = g.copy()
            if wd != 0:
                d = d + F32(wd) * w
            if self.kind == "sgd":
                mom = hp["momentum"]
                if mom != 0:
                    if self.buf[gi] is None:
                        self.buf[gi] = d.copy()
                    else:
                        self.buf[gi] = self.buf[gi] * F32(mom) + F32(1 - hp["dampening"]) * d
                    d = d + F32(mom) * self.buf[gi] if hp["nesterov"] else self.buf[gi]
                self.w[gi] = w + F32(-lr) * d
            else:
                b1, b2 = hp["beta1"], hp["beta2"]
                self.m[gi] = self.m[gi] * F32(b1) + F32(1 - b1) * d
                self.v[gi] = self.v[gi] * F32(b2) + (F32(1 - b2) * d) * d
                bc1 = 1 - b1 ** self.t
                bc2 = 1 - b2 ** self.t
                step_size = lr / bc1
                v = self.v[gi]
                if hp["amsgrad"]:
                    self.vmax[gi] = np.maximum(self.vmax[gi], v)
                    v = self.vmax[gi]
                denom = np.sqrt(v) / F32(math.sqrt(bc2)) + F32(hp["eps"])
                self.w[gi] = w + (F32(-step_size) * self.m[gi]) / denom


def optim_case(name, kind, hp, lrs):
    out = ["optim " + name, config_line(kind, hp)]
    inits = [init_values(gi, n) for gi, (_, n, _) in enumerate(GROUPS)]
    params = [torch.tensor(x) for x in inits]
    groups = []
    for p, (_, _, mult) in zip(params, GROUPS):
        groups.append({"params": [p], "weight_decay": hp["weight_decay"] * mult})
    if kind == "sgd":
        opt = torch.optim.SGD(groups, lr=lrs[0], momentum=hp["momentum"], dampening=hp["dampening"],
                              nesterov=hp["nesterov"], foreach=False)
    else:
        opt = torch.optim.Adam(groups, lr=lrs[0], betas=(hp["beta1"], hp["beta2"]), eps=hp["eps"],
                               amsgrad=hp["amsgrad"], foreach=False)
    emu = Emulator(kind, hp, inits)
    for gi, (gname, n, mult) in enumerate(GROUPS):
        out.append("group %d %s %d %r" % (gi, gname, n, mult))
        out.append("init %d %s" % (gi, " ".join(f32(x) for x in inits[gi])))
    for k, lr in enumerate(lrs, start=1):
        grads = [grad_values(gi, n, k) for gi, (_, n, _) in enumerate(GROUPS)]
        for group in opt.param_groups:
            group["lr"] = lr
        for p, g in zip(params, grads):
            p.grad = torch.tensor(g)
        opt.step()
        emu.step(lr, grads)
        out.append("step %d %s" % (k, lr17(lr)))
        for gi, g in enumerate(grads):
            out.append("grad %d %s" % (gi, " ".join(f32(x) for x in g)))
        for gi, p in enumerate(params):
            got = p.detach().numpy()
            if not np.array_equal(got.view(np.uint32), emu.w[gi].view(np.uint32)):
                sys.exit("golden_torch_optim: %s step %d group %d: PyTorch %s, emulation %s" %
                         (name, k, gi, got.tolist(), emu.w[gi].tolist()))
            if not np.all(np.isfinite(got)):
                sys.exit("golden_torch_optim: %s produced a non-finite parameter" % name)
            out.append("param %d %s" % (gi, " ".join(f32(x) for x in got)))
    out.append("end")
    return out


def make_opt(base_lr):
    return torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)


# name, actlab text, base lr, iterations per epoch, iterations run, iterations recorded (None: all),
# unit ('epoch': the scheduler steps after each epoch; 'iter': after each iteration), builder
SCHED_CASES = [
    ("constant", "constant", 0.1, 1, 5, None, "epoch", lambda o: []),
    ("step", "step:size=3,gamma=0.5", 0.1, 1, 12, None, "epoch",
     lambda o: [S.StepLR(o, step_size=3, gamma=0.5)]),
    ("step_ipe4", "step:size=3,gamma=0.5", 0.1, 4, 40, None, "epoch",
     lambda o: [S.StepLR(o, step_size=3, gamma=0.5)]),
    ("step_iter", "step:size=7,gamma=0.1,unit=iter", 0.05, 10, 30, None, "iter",
     lambda o: [S.StepLR(o, step_size=7, gamma=0.1)]),
    ("multistep", "multistep:milestones=2/5/7,gamma=0.1", 0.1, 1, 10, None, "epoch",
     lambda o: [S.MultiStepLR(o, milestones=[2, 5, 7], gamma=0.1)]),
    # the ELU paper's CIFAR schedule: explicit values at iteration boundaries (LambdaLR in PyTorch)
    ("multistep_values", "multistep:at=35000/85000/135000,lr=0.005/0.0005/0.00005,unit=iter",
     0.01, 390, 165000, [0, 1, 34999, 35000, 35001, 84999, 85000, 85001, 134999, 135000, 164999], "iter",
     lambda o: [S.LambdaLR(o, lambda t: (1.0 if t < 35000 else 0.5 if t < 85000 else
                                         0.05 if t < 135000 else 0.005))]),
    ("exp", "exp:gamma=0.9", 0.1, 1, 10, None, "epoch", lambda o: [S.ExponentialLR(o, gamma=0.9)]),
    # runs past T_max: PyTorch's cosine is periodic, the lr climbs back up
    ("cosine", "cosine:tmax=10,eta_min=0.001", 0.1, 1, 25, None, "epoch",
     lambda o: [S.CosineAnnealingLR(o, T_max=10, eta_min=0.001)]),
    ("cosine_iter", "cosine:tmax=200,unit=iter", 0.1, 50, 201, None, "iter",
     lambda o: [S.CosineAnnealingLR(o, T_max=200)]),
    ("cosine_warmup", "cosine:tmax=10+warmup:epochs=3,start=0.1", 0.1, 1, 12, None, "epoch",
     lambda o: [S.LinearLR(o, start_factor=0.1, total_iters=3), S.CosineAnnealingLR(o, T_max=10)]),
    ("multistep_warmup", "multistep:milestones=3/6,gamma=0.2+warmup:epochs=2,start=0.25", 0.1, 2, 18, None,
     "epoch", lambda o: [S.LinearLR(o, start_factor=0.25, total_iters=2),
                         S.MultiStepLR(o, milestones=[3, 6], gamma=0.2)]),
    ("step_iter_warmup", "step:size=50,gamma=0.5,unit=iter+warmup:iters=20,start=0.01", 0.05, 30, 120, None,
     "iter", lambda o: [S.LinearLR(o, start_factor=0.01, total_iters=20),
                        S.StepLR(o, step_size=50, gamma=0.5)]),
    ("constant_warmup", "constant+warmup:iters=5,start=0.2,end=0.8", 0.1, 3, 9, None, "iter",
     lambda o: [S.LinearLR(o, start_factor=0.2, end_factor=0.8, total_iters=5)]),
]


def sched_case(name, text, base_lr, ipe, iters, record, unit, build):
    opt = make_opt(base_lr)
    scheds = build(opt)
    chain = S.ChainedScheduler(scheds) if len(scheds) > 1 else (scheds[0] if scheds else None)
    want = set(range(iters)) if record is None else set(record)
    out = ["sched %s %s %d" % (name, lr17(base_lr), ipe), "spec " + text]
    for it in range(iters):
        boundary = it > 0 and (unit == "iter" or it % ipe == 0)
        if boundary and chain is not None:
            opt.step()
            chain.step()
        if it in want:
            out.append("%d %s" % (it, lr17(opt.param_groups[0]["lr"])))
    out.append("end")
    return out


def main():
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")  # LambdaLR/ChainedScheduler chatter; values are what matter
    lines = ["# PyTorch %s optimiser steps and learning-rate schedules for tests/test_optim.c." % torch.__version__,
             "# Written by tools/golden_torch_optim.py (format in its docstring); do not edit by hand.",
             "# Optimiser steps: torch.optim.SGD/Adam, foreach=False, ATEN_CPU_CAPABILITY=default,",
             "# checked bit-identical against a float32 replay of actlab's operation order."]
    for case in OPTIM_CASES:
        lines += optim_case(*case)
    for case in SCHED_CASES:
        lines += sched_case(*case)
    text = "\n".join(lines) + "\n"
    if ARGS.output:
        d = os.path.dirname(os.path.abspath(ARGS.output))
        fd, tmp = tempfile.mkstemp(prefix=".torch_optim.", dir=d)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(text)
            os.chmod(tmp, 0o644)
            os.replace(tmp, ARGS.output)
        except BaseException:
            os.unlink(tmp)
            raise
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
