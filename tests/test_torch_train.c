/*
 * test_torch_train.c — one training step of models/lenet.cfg and models/mlp.cfg
 * against PyTorch 1.13: loss, logits, gradients and the parameters after one
 * SGD step (momentum 0.9, weight decay 5e-4, none for PReLU's a).
 *
 * tests/golden/torch_train_{lenet,mlp}.txt were written once by
 * tools/golden_torch_train.py (which needs torch); this test only reads them.
 * The initial parameters and the inputs are not in the files: both sides make
 * them from the same integer hash (see U() below and the script's docstring):
 *
 *     U(k,s)  = (2 fmix32(k*0x9E3779B1 + s*0x632BE5AB) + 1) / 2^32 - 1   (mod 2^32 hash, exact double)
 *     tensor t (arena order), element k:  weight float32(sqrt(6/fan_in) U(k,t+1)),
 *                                         bias   float32(U(k,t+1)/sqrt(fan_in)),  PReLU a 0.25
 *     x[k] = float32(U(k,1000)) for the batch of 8 1x28x28 images, y[b] = (3b+1) mod 10
 *
 * The files give, per case (model, activation): each parameter tensor's name,
 * arena offset, size, fan-in and whether it decays (checked against
 * actlab_net_param_blocks, so PyTorch's parameter order is actlab's arena
 * order by construction), sums of the initial values (proving the two hash
 * implementations agree), the loss, the logits, sums and signed checksums of
 * each gradient and step (any permutation of elements — a layout error —
 * changes them), and a sample of elements (gradient and new value).
 *
 * Tolerances: PyTorch's own float32 gradients differ from its float64 ones by
 * up to ~4e-4 relative on elements that nearly cancel (the file's header
 * says how much), so an element passes within 1e-4 relative plus 1e-5 of the
 * tensor's largest |gradient|. Each case runs on the default (oneDNN) layers
 * and on the plain C reference layers.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "actlab/net.h"
#include "actlab/optim.h"
#include "check.h"

#define BATCH 8
#define NPIX (28 * 28)
#define MAXT 64
#define RTOL 1e-4      /* per element, relative */
#define ATOL_FRAC 1e-5 /* per element, times the tensor's max |g| */
#define LR 0.1

static uint32_t fmix32(uint32_t h) {
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h;
}

/* A double in (-1, 1) from element k of stream s; exact, as in the script. */
static double U(uint32_t k, uint32_t s) {
    uint32_t h = fmix32(k * 0x9E3779B1u + s * 0x632BE5ABu);
    return (2.0 * h + 1.0) / 4294967296.0 - 1.0;
}

typedef struct gtensor {
    char name[64], kind[16]; /* kind: weight, bias, a */
    long long off, n;
    int fan_in, decay;
    double init_sum, init_abs, grad_sum, grad_abs, grad_max, grad_chk, step_chk;
    int ns, cap;
    long long *k;
    float *grad, *next;
} gtensor;

typedef struct gcase {
    char model[32], act[32];
    double loss;
    float logits[BATCH][10];
    int nt;
    gtensor t[MAXT];
} gcase;

/* Worst differences seen, for the summary line. */
typedef struct worst {
    double loss_rel, logit_rel, grad_rel, grad_tol, step_rel, step_tol, chk_tol;
} worst;

static void note(double *w, double v) {
    if (v > *w) *w = v;
}

static void free_case(gcase *c) {
    for (int i = 0; i < c->nt; i++) {
        free(c->t[i].k);
        free(c->t[i].grad);
        free(c->t[i].next);
    }
    memset(c, 0, sizeof *c);
}

static int tensor_kind(const char *name, char *kind, size_t len) {
    const char *dot = strrchr(name, '.');
    if (!dot) return -1;
    snprintf(kind, len, "%s", dot + 1);
    return 0;
}

/* The expected value of parameter element k of tensor t (fan_in from actlab's own blocks). */
static float init_value(const char *kind, int t, int64_t k, int fan_in) {
    if (!strcmp(kind, "act")) return 0.25f;
    double scale = !strcmp(kind, "weight") ? sqrt(6.0 / fan_in) : 1.0 / sqrt((double)fan_in);
    return (float)(scale * U((uint32_t)k, (uint32_t)(t + 1)));
}

static void run_case(const gcase *c, int use_reference) {
    const char *backend = use_reference ? "reference" : "default";
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/../models/%s.cfg", ACTLAB_TEST_DIR, c->model);
    actlab_net_options o = actlab_net_options_default();
    o.max_batch = BATCH;
    o.act = c->act;
    o.use_reference = use_reference;
    actlab_net *net = actlab_net_load(path, &o, err, sizeof err);
    CHECK(net != NULL, "%s %s: %s", c->model, c->act, err);
    if (!net) return;
    worst w = {0};

    /* The arena: the same tensors at the same offsets as PyTorch's parameters(). */
    int nb = actlab_net_param_blocks(net);
    int64_t np = actlab_net_param_count(net), total = 0;
    for (int i = 0; i < c->nt; i++) total += c->t[i].n;
    CHECK(nb == c->nt && np == total, "%s %s: actlab has %d blocks, %lld parameters; torch %d tensors, %lld", c->model,
          c->act, nb, (long long)np, c->nt, (long long)total);
    if (nb != c->nt || np != total) {
        actlab_net_free(net);
        return;
    }
    int fan[MAXT];
    int layout_ok = 1;
    for (int i = 0; i < nb; i++) {
        actlab_net_param_block b = actlab_net_param_block_at(net, i);
        const gtensor *t = &c->t[i];
        const char *want_kind = !strcmp(t->kind, "a") ? "act" : t->kind;
        /* fan-in as actlab sees it: a weight block's size over its bias's (= outputs) */
        if (!strcmp(b.name, "weight")) {
            actlab_net_param_block bias = actlab_net_param_block_at(net, i + 1);
            fan[i] = bias.name && !strcmp(bias.name, "bias") ? (int)(b.n / bias.n) : -1;
        } else
            fan[i] = i > 0 ? fan[i - 1] : -1;
        int ok = b.name && !strcmp(b.name, want_kind) && b.offset == t->off && b.n == t->n && b.decay == t->decay &&
                 (!strcmp(b.name, "act") || fan[i] == t->fan_in);
        CHECK(ok, "%s %s block %d: actlab %s offset %lld n %lld decay %d fan-in %d; torch %s offset %lld n %lld decay %d fan-in %d",
              c->model, c->act, i, b.name ? b.name : "?", (long long)b.offset, (long long)b.n, b.decay, fan[i], t->name,
              t->off, t->n, t->decay, t->fan_in);
        layout_ok &= ok;
    }
    if (!layout_ok) {
        actlab_net_free(net);
        return;
    }

    /* Initial parameters by the formula; their sums prove both sides made the same values. */
    float *p = actlab_net_params(net);
    for (int i = 0; i < nb; i++) {
        const gtensor *t = &c->t[i];
        const char *kind = actlab_net_param_block_at(net, i).name;
        double s = 0, a = 0;
        for (int64_t k = 0; k < t->n; k++) {
            float v = init_value(kind, i, k, fan[i]);
            p[t->off + k] = v;
            s += v, a += fabs(v);
        }
        CHECK(check_close(s, t->init_sum, 1e-12, 1e-12 * a) && check_close(a, t->init_abs, 1e-12, 0),
              "%s %s %s: initial sum %.17g abs %.17g, torch %.17g %.17g (the hash formulas differ)", c->model, c->act,
              t->name, s, a, t->init_sum, t->init_abs);
    }
    float *p0 = malloc(sizeof(float) * (size_t)np);
    memcpy(p0, p, sizeof(float) * (size_t)np);
    float *x = malloc(sizeof(float) * BATCH * NPIX);
    int32_t y[BATCH];
    for (int k = 0; k < BATCH * NPIX; k++) x[k] = (float)U((uint32_t)k, 1000);
    for (int b = 0; b < BATCH; b++) y[b] = (3 * b + 1) % 10;

    /* Forward (training mode, step 0: nothing random in these models), loss, backward. */
    int rc = actlab_net_forward(net, x, BATCH, 1, 0, err, sizeof err);
    CHECK(rc == 0, "%s %s forward: %s", c->model, c->act, err);
    double loss = actlab_net_loss(net, y, BATCH, NULL);
    w.loss_rel = fabs(loss - c->loss) / fabs(c->loss);
    CHECK(check_close(loss, c->loss, 1e-5, 0), "%s %s (%s): loss %.9g, torch %.9g", c->model, c->act, backend, loss,
          c->loss);
    int nout = 0;
    const float *out = actlab_net_output(net, &nout);
    CHECK(nout == 10, "%s: %d outputs", c->model, nout);
    double lmax = 0;
    for (int b = 0; b < BATCH; b++)
        for (int j = 0; j < 10; j++) lmax = fmax(lmax, fabs(c->logits[b][j]));
    int bad = 0;
    for (int b = 0; b < BATCH && nout == 10; b++)
        for (int j = 0; j < 10; j++) {
            double got = out[b * 10 + j], want = c->logits[b][j];
            note(&w.logit_rel, fabs(got - want) / fabs(want));
            if (!check_close(got, want, RTOL, 1e-6 * lmax) && bad++ < 3)
                CHECK(0, "%s %s (%s): logit[%d][%d] %.9g, torch %.9g", c->model, c->act, backend, b, j, got, want);
        }
    CHECK(bad == 0, "%s %s (%s): %d logits differ", c->model, c->act, backend, bad);

    rc = actlab_net_backward(net, BATCH, err, sizeof err);
    CHECK(rc == 0, "%s %s backward: %s", c->model, c->act, err);
    const float *g = actlab_net_grads(net);
    bad = 0;
    int checked = 0;
    for (int i = 0; i < nb; i++) {
        const gtensor *t = &c->t[i];
        const float *gt = g + t->off;
        double atol = ATOL_FRAC * t->grad_max;
        for (int s = 0; s < t->ns; s++) {
            double got = gt[t->k[s]], want = t->grad[s];
            double tol = RTOL * fabs(want) + atol;
            note(&w.grad_tol, fabs(got - want) / tol);
            if (fabs(want) > 1e-3 * t->grad_max) note(&w.grad_rel, fabs(got - want) / fabs(want));
            checked++;
            if (!(fabs(got - want) <= tol) && bad++ < 5)
                CHECK(0, "%s %s (%s): d loss / d %s[%lld] = %.9g, torch %.9g", c->model, c->act, backend, t->name,
                      t->k[s], got, want);
        }
        /* Sums over the whole tensor; the signed checksum catches permuted elements. */
        double sum = 0, abs_ = 0, max = 0, chk = 0;
        for (int64_t k = 0; k < t->n; k++) {
            sum += gt[k], abs_ += fabs(gt[k]), max = fmax(max, fabs(gt[k]));
            chk += U((uint32_t)k, (uint32_t)(2000 + i)) * gt[k];
        }
        double tol = RTOL * t->grad_abs;
        note(&w.chk_tol, fabs(chk - t->grad_chk) / tol);
        note(&w.chk_tol, fabs(sum - t->grad_sum) / tol);
        CHECK(fabs(sum - t->grad_sum) <= tol && fabs(chk - t->grad_chk) <= tol &&
                  check_close(abs_, t->grad_abs, RTOL, 0) && check_close(max, t->grad_max, RTOL, 0),
              "%s %s (%s) %s gradient: sum %.9g abs %.9g max %.9g checksum %.9g; torch %.9g %.9g %.9g %.9g", c->model,
              c->act, backend, t->name, sum, abs_, max, chk, t->grad_sum, t->grad_abs, t->grad_max, t->grad_chk);
    }
    CHECK(bad == 0, "%s %s (%s): %d of %d sampled gradients differ", c->model, c->act, backend, bad, checked);

    /* One SGD step, groups from the blocks (no weight decay where .decay == 0). */
    actlab_optim_config cfg = actlab_optim_config_default(ACTLAB_OPTIM_SGD);
    cfg.lr = LR, cfg.momentum = 0.9, cfg.weight_decay = 5e-4;
    actlab_param_group groups[MAXT];
    for (int i = 0; i < nb; i++) {
        actlab_net_param_block b = actlab_net_param_block_at(net, i);
        groups[i] = (actlab_param_group){p + b.offset, g + b.offset, b.n, b.decay ? 1.0f : 0.0f, c->t[i].name};
    }
    actlab_optim *opt = actlab_optim_new(&cfg, groups, nb, err, sizeof err);
    CHECK(opt != NULL, "optimiser: %s", err);
    if (opt) {
        CHECK(actlab_optim_step(opt, LR) == 0, "step");
        bad = checked = 0;
        for (int i = 0; i < nb; i++) {
            const gtensor *t = &c->t[i];
            const float *pt = p + t->off, *q = p0 + t->off;
            /* compare the change new - init: lr (g + wd p) with the gradient's tolerance, plus 2 ulp of p */
            for (int s = 0; s < t->ns; s++) {
                int64_t k = t->k[s];
                double d_got = (double)pt[k] - q[k], d_want = (double)t->next[s] - q[k];
                double tol = RTOL * fabs(d_want) + LR * ATOL_FRAC * t->grad_max + 2.4e-7 * fabs(q[k]);
                note(&w.step_tol, fabs(d_got - d_want) / tol);
                if (fabs(d_want) > 1e-3 * LR * t->grad_max) note(&w.step_rel, fabs(d_got - d_want) / fabs(d_want));
                checked++;
                if (!(fabs(d_got - d_want) <= tol) && bad++ < 5)
                    CHECK(0, "%s %s (%s): %s[%lld] after the step %.9g (from %.9g), torch %.9g", c->model, c->act,
                          backend, t->name, (long long)k, pt[k], q[k], t->next[s]);
            }
            double chk = 0, dabs = 0;
            for (int64_t k = 0; k < t->n; k++) {
                double d = (double)pt[k] - q[k];
                chk += U((uint32_t)k, (uint32_t)(2000 + i)) * d;
                dabs += fabs(d);
            }
            double tol = RTOL * dabs + 2.4e-7 * t->init_abs;
            note(&w.chk_tol, fabs(chk - t->step_chk) / tol);
            CHECK(fabs(chk - t->step_chk) <= tol, "%s %s (%s) %s step checksum %.9g, torch %.9g", c->model, c->act,
                  backend, t->name, chk, t->step_chk);
        }
        CHECK(bad == 0, "%s %s (%s): %d of %d sampled updated parameters differ", c->model, c->act, backend, bad,
              checked);
        actlab_optim_free(opt);
    }
    printf("%-5s %-5s %-9s loss %.1e, logits %.1e, gradients %.1e (%.2f of tol), step %.1e (%.2f of tol), sums "
           "%.2f of tol  [relative differences]\n",
           c->model, c->act, backend, w.loss_rel, w.logit_rel, w.grad_rel, w.grad_tol, w.step_rel, w.step_tol, w.chk_tol);
    free(x);
    free(p0);
    actlab_net_free(net);
}

static int add_sample(gtensor *t, long long k, float gv, float nv) {
    if (t->ns == t->cap) {
        int cap = t->cap ? 2 * t->cap : 256;
        long long *kk = realloc(t->k, sizeof *kk * (size_t)cap);
        if (kk) t->k = kk;
        float *gg = realloc(t->grad, sizeof *gg * (size_t)cap);
        if (gg) t->grad = gg;
        float *nn = realloc(t->next, sizeof *nn * (size_t)cap);
        if (nn) t->next = nn;
        if (!kk || !gg || !nn) return -1;
        t->cap = cap;
    }
    t->k[t->ns] = k, t->grad[t->ns] = gv, t->next[t->ns] = nv;
    t->ns++;
    return 0;
}

/* Reads one golden file, running each case as its "end" line is reached. Returns cases run. */
static int run_file(const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/golden/%s", ACTLAB_TEST_DIR, name);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "cannot open %s", path);
    if (!f) return 0;
    static gcase c;
    memset(&c, 0, sizeof c);
    char line[4096];
    int lineno = 0, ncases = 0, incase = 0, have_loss = 0, nlogits = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n') continue;
        int ok = 1;
        if (!strncmp(line, "case ", 5)) {
            free_case(&c);
            ok = sscanf(line, "case %31s %31s", c.model, c.act) == 2;
            incase = 1, have_loss = 0, nlogits = 0;
        } else if (!incase) {
            ok = 0;
        } else if (!strncmp(line, "s ", 2)) {
            int t;
            long long k;
            float gv, nv;
            ok = sscanf(line, "s %d %lld %f %f", &t, &k, &gv, &nv) == 4 && t >= 0 && t < c.nt && k >= 0 && k < c.t[t].n &&
                 add_sample(&c.t[t], k, gv, nv) == 0;
        } else if (!strncmp(line, "tensor ", 7)) {
            int t;
            char nm[64];
            ok = sscanf(line, "tensor %d %63s", &t, nm) == 2 && t == c.nt && t < MAXT;
            if (ok) {
                gtensor *g = &c.t[c.nt++];
                ok = sscanf(line, "tensor %*d %63s %lld %lld %d %d", g->name, &g->off, &g->n, &g->fan_in, &g->decay) == 5 &&
                     tensor_kind(g->name, g->kind, sizeof g->kind) == 0;
            }
        } else if (!strncmp(line, "stats ", 6)) {
            int t;
            ok = sscanf(line, "stats %d", &t) == 1 && t == c.nt - 1;
            if (ok) {
                gtensor *g = &c.t[t];
                ok = sscanf(line, "stats %*d %lf %lf %lf %lf %lf %lf %lf", &g->init_sum, &g->init_abs, &g->grad_sum,
                            &g->grad_abs, &g->grad_max, &g->grad_chk, &g->step_chk) == 7;
            }
        } else if (!strncmp(line, "logits ", 7)) {
            int b, pos = 0, used;
            ok = sscanf(line, "logits %d%n", &b, &pos) == 1 && b == nlogits && b < BATCH;
            for (int j = 0; ok && j < 10; j++, pos += used) ok = sscanf(line + pos, "%f%n", &c.logits[b][j], &used) == 1;
            nlogits += ok;
        } else if (!strncmp(line, "loss ", 5)) {
            ok = sscanf(line, "loss %lf", &c.loss) == 1;
            have_loss = ok;
        } else if (!strncmp(line, "batch ", 6)) {
            int b = 0;
            ok = sscanf(line, "batch %d", &b) == 1 && b == BATCH;
        } else if (!strncmp(line, "optim ", 6)) {
            ok = strstr(line, "lr=0.1 momentum=0.9 dampening=0 nesterov=0 weight_decay=0.0005") != NULL;
        } else if (!strncmp(line, "model ", 6) || !strncmp(line, "act ", 4)) {
            /* repeated from the case line */
        } else if (!strncmp(line, "end", 3)) {
            ok = have_loss && nlogits == BATCH && c.nt > 0;
            if (ok) {
                run_case(&c, 0);
                run_case(&c, 1);
                ncases++;
            }
            incase = 0;
        } else {
            ok = 0;
        }
        CHECK(ok, "%s:%d: cannot read: %.60s", path, lineno, line);
        if (!ok) break;
    }
    free_case(&c);
    fclose(f);
    return ncases;
}

int main(void) {
    int n = run_file("torch_train_lenet.txt");
    CHECK(n == 2, "torch_train_lenet.txt: %d cases (want relu, prelu)", n);
    n = run_file("torch_train_mlp.txt");
    CHECK(n == 2, "torch_train_mlp.txt: %d cases (want relu, elu)", n);
    return check_summary("test_torch_train");
}
