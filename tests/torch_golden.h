/*
 * torch_golden.h — what test_torch_train.c and test_torch_cnn.c share: the
 * integer hash that both they and their scripts (tools/golden_torch_train.py,
 * tools/golden_torch_cnn.py, through tools/golden_common.py) make parameters
 * and inputs from, the lines the two kinds of golden file have in common, and
 * the checks that do not depend on the model: initial values, loss and logits,
 * gradients and one SGD step, per tensor.
 *
 *     fmix32(h) = MurmurHash3's finaliser: h ^= h >> 16; h *= 0x85EBCA6B; h ^= h >> 13;
 *                 h *= 0xC2B2AE35; h ^= h >> 16  (all mod 2^32)
 *     U(k,s)    = (2 fmix32(k*0x9E3779B1 + s*0x632BE5AB) + 1) / 2^32 - 1   (exact double in (-1, 1))
 *
 *     tensor t, element k (tg_init_value): weight float32(sqrt(6/fan_in) U(k,t+1)),
 *         bias float32(U(k,t+1)/sqrt(fan_in)), PReLU a 0.25,
 *         batch norm gamma float32(1 + 0.5 U(k,t+1)), beta float32(0.2 U(k,t+1))
 *     inputs x[k] = float32(U(k,1000)), labels y[b] = (3b+1) mod 10, batch 8 (tg_inputs)
 *     checksum weights U(k, 2000+t) for tensor t's gradient and step
 *
 * Lines both kinds of file have (a test reads the rest with its own hook):
 *
 *     case MODEL ACT / model ... / act ACT / batch 8 / optim sgd lr=0.1 momentum=0.9 ... /
 *     loss L / logits B v0 ... v9 / tensor T NAME [TYPE] OFFSET N FAN_IN DECAY SHAPE /
 *     stats T INIT_SUM INIT_ABS GRAD_SUM GRAD_ABS GRAD_MAX GRAD_CHK STEP_CHK / s T K GRAD NEW / end
 *
 * The checks made here use check.h's CHECK, so a failure gives this header's file
 * and line; each message names the model, activation and backend.
 */
#ifndef ACTLAB_TORCH_GOLDEN_H
#define ACTLAB_TORCH_GOLDEN_H
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "actlab/net.h"
#include "actlab/optim.h"
#include "check.h"

#define TG_BATCH 8
#define TG_CLASSES 10
#define TG_MAXT 96        /* parameter tensors per case */
#define TG_RTOL_LOSS 1e-5 /* the loss, relative */
#define TG_LR 0.1         /* SGD: momentum 0.9, weight decay 5e-4 where the tensor decays */
#define TG_ULP2 2.4e-7    /* 2 ulp of a float32, relative: the rounding of a stored value */

static inline uint32_t fmix32(uint32_t h) {
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h;
}

/* A double in (-1, 1) from element k of stream s; exact, as in the scripts. */
static inline double U(uint32_t k, uint32_t s) {
    uint32_t h = fmix32(k * 0x9E3779B1u + s * 0x632BE5ABu);
    return (2.0 * h + 1.0) / 4294967296.0 - 1.0;
}

/* A test's tolerances: an element passes within rtol of its value plus atol_frac
 * of the tensor's largest |value| (logits: logit_atol_frac of the largest |logit|). */
typedef struct tg_tol {
    double rtol, atol_frac, logit_atol_frac;
} tg_tol;

typedef struct tg_tensor {
    char name[64], role[16], type[16]; /* role: weight, bias, a (after the name's last dot); type: conv,
                                          batchnorm, dense where the file gives it, else empty */
    long long off, n;
    int fan_in, decay;
    double init_sum, init_abs, grad_sum, grad_abs, grad_max, grad_chk, step_chk;
    int ns, cap; /* the sampled elements k[], their gradients and values after the step */
    long long *k;
    float *grad, *next;
} tg_tensor;

typedef struct tg_case {
    char model[32], act[32], model_line[160]; /* model_line: the file's "model" line */
    double loss;
    float logits[TG_BATCH][TG_CLASSES];
    int nt;
    tg_tensor t[TG_MAXT];
} tg_case;

/* Worst differences seen, for a test's summary line: relative, and in units of the tolerance. */
typedef struct tg_worst {
    double loss_rel, logit_rel, logit_tol, grad_rel, grad_tol, step_rel, step_tol, chk_tol;
    char grad_at[64]; /* the tensor of the worst sampled gradient */
} tg_worst;

static inline void note(double *w, double v) {
    if (v > *w) *w = v;
}

static inline void tg_free_case(tg_case *c) {
    for (int i = 0; i < c->nt; i++) {
        free(c->t[i].k);
        free(c->t[i].grad);
        free(c->t[i].next);
    }
    memset(c, 0, sizeof *c);
}

/* The expected initial value of element k of tensor t (fan_in as actlab sees it). */
static inline float tg_init_value(const tg_tensor *g, int t, int64_t k, int fan_in) {
    if (!strcmp(g->role, "a")) return 0.25f; /* PReLU */
    double u = U((uint32_t)k, (uint32_t)(t + 1));
    if (!strcmp(g->type, "batchnorm")) return (float)(!strcmp(g->role, "weight") ? 1.0 + 0.5 * u : 0.2 * u);
    double scale = !strcmp(g->role, "weight") ? sqrt(6.0 / fan_in) : 1.0 / sqrt((double)fan_in);
    return (float)(scale * u);
}

/* The arena against the file: as many blocks as tensors, `arena` floats in all (test_torch_cnn's
 * arena also holds the running statistics), and each block as block_ok(net, ctx, i, fan) judges
 * it, which also sets fan[i], the fan-in as actlab sees it. Returns whether all agree. */
static inline int tg_check_arena(actlab_net *net, const tg_case *c, int64_t arena, int fan[TG_MAXT],
                                 int (*block_ok)(actlab_net *net, const void *ctx, int i, int *fan), const void *ctx) {
    int nb = actlab_net_param_blocks(net);
    int64_t np = actlab_net_param_count(net);
    CHECK(nb == c->nt && np == arena, "%s %s: actlab has %d blocks, an arena of %lld; torch %d tensors, %lld",
          c->model, c->act, nb, (long long)np, c->nt, (long long)arena);
    if (nb != c->nt || np != arena) return 0;
    int ok = 1;
    for (int i = 0; i < nb; i++) ok &= block_ok(net, ctx, i, fan);
    return ok;
}

/* Initial parameters by the formula into the arena p; their sums prove both sides made the same
 * values. Returns a copy of the whole arena of np floats (the initial values; free it). */
static inline float *tg_init_params(const tg_case *c, float *p, int64_t np, const int *fan) {
    for (int i = 0; i < c->nt; i++) {
        const tg_tensor *t = &c->t[i];
        double s = 0, a = 0;
        for (int64_t k = 0; k < t->n; k++) {
            float v = tg_init_value(t, i, k, fan[i]);
            p[t->off + k] = v;
            s += v, a += fabs(v);
        }
        CHECK(check_close(s, t->init_sum, 1e-12, 1e-12 * a) && check_close(a, t->init_abs, 1e-12, 0),
              "%s %s %s: initial sum %.17g abs %.17g, torch %.17g %.17g (the hash formulas differ)", c->model, c->act,
              t->name, s, a, t->init_sum, t->init_abs);
    }
    float *p0 = malloc(sizeof(float) * (size_t)np);
    if (p0) memcpy(p0, p, sizeof(float) * (size_t)np);
    return p0;
}

/* The batch: n input values (all samples; free them) and the labels. */
static inline float *tg_inputs(int n, int32_t y[TG_BATCH]) {
    float *x = malloc(sizeof(float) * (size_t)n);
    for (int k = 0; x && k < n; k++) x[k] = (float)U((uint32_t)k, 1000);
    for (int b = 0; b < TG_BATCH; b++) y[b] = (3 * b + 1) % TG_CLASSES;
    return x;
}

static inline actlab_net_options tg_net_options(const tg_case *c, int use_reference) {
    actlab_net_options o = actlab_net_options_default();
    o.max_batch = TG_BATCH;
    o.act = c->act;
    o.use_reference = use_reference;
    return o;
}

/* Logits [TG_BATCH][TG_CLASSES] against the file's (what: "training", "eval"); notes the
 * worst relative difference in *worst_rel (if given) and in units of the tolerance in *worst_tol. */
static inline int tg_compare_logits(const tg_case *c, const char *backend, const char *what, const float *got,
                                    int nout, const float want[TG_BATCH][TG_CLASSES], const tg_tol *tol,
                                    double *worst_rel, double *worst_tol) {
    double lmax = 0;
    for (int b = 0; b < TG_BATCH; b++)
        for (int j = 0; j < TG_CLASSES; j++) lmax = fmax(lmax, fabs(want[b][j]));
    int bad = 0;
    for (int b = 0; b < TG_BATCH && got && nout == TG_CLASSES; b++)
        for (int j = 0; j < TG_CLASSES; j++) {
            double g = got[b * TG_CLASSES + j], w = want[b][j], t = tol->rtol * fabs(w) + tol->logit_atol_frac * lmax;
            if (worst_rel) note(worst_rel, fabs(g - w) / fabs(w));
            note(worst_tol, fabs(g - w) / t);
            if (!(fabs(g - w) <= t) && bad++ < 3)
                CHECK(0, "%s %s (%s): %s logit[%d][%d] %.9g, torch %.9g", c->model, c->act, backend, what, b, j, g, w);
        }
    CHECK(bad == 0, "%s %s (%s): %d %s logits differ", c->model, c->act, backend, bad, what);
    return bad;
}

/* The training-mode forward (step 0: nothing random), the loss and the logits. */
static inline void tg_forward(actlab_net *net, const tg_case *c, const char *backend, const float *x,
                              const int32_t y[TG_BATCH], const tg_tol *tol, tg_worst *w) {
    char err[512];
    int rc = actlab_net_forward(net, x, TG_BATCH, 1, 0, err, sizeof err);
    CHECK(rc == 0, "%s %s forward: %s", c->model, c->act, err);
    double loss = actlab_net_loss(net, y, TG_BATCH, NULL);
    w->loss_rel = fabs(loss - c->loss) / fabs(c->loss);
    CHECK(check_close(loss, c->loss, TG_RTOL_LOSS, 0), "%s %s (%s): loss %.9g, torch %.9g", c->model, c->act, backend,
          loss, c->loss);
    int nout = 0;
    const float *out = actlab_net_output(net, &nout);
    CHECK(nout == TG_CLASSES, "%s: %d outputs", c->model, nout);
    tg_compare_logits(c, backend, "training", out, nout, c->logits, tol, &w->logit_rel, &w->logit_tol);
}

/* Backward, and each gradient against the file's: the sampled elements, and sums over
 * the whole tensor (the signed checksum catches permuted elements). per[i], if given,
 * gets tensor i's worst difference in units of the tolerance. Returns the gradients. */
static inline const float *tg_backward(actlab_net *net, const tg_case *c, const char *backend, const tg_tol *tol,
                                       tg_worst *w, double *per) {
    char err[512];
    int rc = actlab_net_backward(net, TG_BATCH, err, sizeof err);
    CHECK(rc == 0, "%s %s backward: %s", c->model, c->act, err);
    const float *g = actlab_net_grads(net);
    int bad = 0, checked = 0;
    for (int i = 0; i < c->nt; i++) {
        const tg_tensor *t = &c->t[i];
        const float *gt = g + t->off;
        double atol = tol->atol_frac * t->grad_max, worst_here = 0;
        for (int s = 0; s < t->ns; s++) {
            double got = gt[t->k[s]], want = t->grad[s];
            double tl = tol->rtol * fabs(want) + atol;
            if (fabs(got - want) / tl > w->grad_tol) snprintf(w->grad_at, sizeof w->grad_at, "%s", t->name);
            note(&w->grad_tol, fabs(got - want) / tl);
            note(&worst_here, fabs(got - want) / tl);
            if (fabs(want) > 1e-3 * t->grad_max) note(&w->grad_rel, fabs(got - want) / fabs(want));
            checked++;
            if (!(fabs(got - want) <= tl) && bad++ < 5)
                CHECK(0, "%s %s (%s): d loss / d %s[%lld] = %.9g, torch %.9g", c->model, c->act, backend, t->name,
                      t->k[s], got, want);
        }
        double sum = 0, abs_ = 0, max = 0, chk = 0;
        for (int64_t k = 0; k < t->n; k++) {
            sum += gt[k], abs_ += fabs(gt[k]), max = fmax(max, fabs(gt[k]));
            chk += U((uint32_t)k, (uint32_t)(2000 + i)) * gt[k];
        }
        double tl = tol->rtol * t->grad_abs;
        note(&w->chk_tol, fabs(chk - t->grad_chk) / tl);
        note(&w->chk_tol, fabs(sum - t->grad_sum) / tl);
        note(&worst_here, fabs(chk - t->grad_chk) / tl);
        if (per) per[i] = worst_here;
        CHECK(fabs(sum - t->grad_sum) <= tl && fabs(chk - t->grad_chk) <= tl &&
                  check_close(abs_, t->grad_abs, tol->rtol, 0) && check_close(max, t->grad_max, tol->rtol, 0),
              "%s %s (%s) %s gradient: sum %.9g abs %.9g max %.9g checksum %.9g; torch %.9g %.9g %.9g %.9g", c->model,
              c->act, backend, t->name, sum, abs_, max, chk, t->grad_sum, t->grad_abs, t->grad_max, t->grad_chk);
    }
    CHECK(bad == 0, "%s %s (%s): %d of %d sampled gradients differ", c->model, c->act, backend, bad, checked);
    return g;
}

/* One SGD step over the net's parameter blocks (no weight decay where .decay == 0),
 * and the change of each tensor, new - init (p0 the initial arena), against the file's:
 * lr (g + wd p) with the gradient's tolerance, plus 2 ulp of p. Returns 0 if it stepped. */
static inline int tg_step(actlab_net *net, const tg_case *c, const char *backend, float *p, const float *p0,
                          const float *g, const tg_tol *tol, tg_worst *w) {
    char err[512];
    actlab_optim_config cfg = actlab_optim_config_default(ACTLAB_OPTIM_SGD);
    cfg.lr = TG_LR, cfg.momentum = 0.9, cfg.weight_decay = 5e-4;
    actlab_param_group groups[TG_MAXT];
    int nb = actlab_net_param_blocks(net);
    for (int i = 0; i < nb && i < TG_MAXT; i++) {
        actlab_net_param_block b = actlab_net_param_block_at(net, i);
        groups[i] = (actlab_param_group){p + b.offset, g + b.offset, b.n, b.decay ? 1.0f : 0.0f, c->t[i].name};
    }
    actlab_optim *opt = actlab_optim_new(&cfg, groups, nb, err, sizeof err);
    CHECK(opt != NULL, "optimiser: %s", err);
    if (!opt) return -1;
    CHECK(actlab_optim_step(opt, TG_LR) == 0, "step");
    int bad = 0, checked = 0;
    for (int i = 0; i < c->nt; i++) {
        const tg_tensor *t = &c->t[i];
        const float *pt = p + t->off, *q = p0 + t->off;
        for (int s = 0; s < t->ns; s++) {
            int64_t k = t->k[s];
            double d_got = (double)pt[k] - q[k], d_want = (double)t->next[s] - q[k];
            double tl = tol->rtol * fabs(d_want) + TG_LR * tol->atol_frac * t->grad_max + TG_ULP2 * fabs(q[k]);
            note(&w->step_tol, fabs(d_got - d_want) / tl);
            if (fabs(d_want) > 1e-3 * TG_LR * t->grad_max) note(&w->step_rel, fabs(d_got - d_want) / fabs(d_want));
            checked++;
            if (!(fabs(d_got - d_want) <= tl) && bad++ < 5)
                CHECK(0, "%s %s (%s): %s[%lld] after the step %.9g (from %.9g), torch %.9g", c->model, c->act, backend,
                      t->name, (long long)k, pt[k], q[k], t->next[s]);
        }
        double chk = 0, dabs = 0;
        for (int64_t k = 0; k < t->n; k++) {
            double d = (double)pt[k] - q[k];
            chk += U((uint32_t)k, (uint32_t)(2000 + i)) * d;
            dabs += fabs(d);
        }
        double tl = tol->rtol * dabs + TG_ULP2 * t->init_abs;
        note(&w->chk_tol, fabs(chk - t->step_chk) / tl);
        CHECK(fabs(chk - t->step_chk) <= tl, "%s %s (%s) %s step checksum %.9g, torch %.9g", c->model, c->act, backend,
              t->name, chk, t->step_chk);
    }
    CHECK(bad == 0, "%s %s (%s): %d of %d sampled updated parameters differ", c->model, c->act, backend, bad, checked);
    actlab_optim_free(opt);
    return 0;
}

/* ---- reading a golden file ---- */

static inline int tg_add_sample(tg_tensor *t, long long k, float gv, float nv) {
    if (t->ns == t->cap) {
        int cap = t->cap ? 2 * t->cap : 16;
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

/* A line of TG_CLASSES logits after its "KEY B" prefix, which must be sample `want_b`. */
static inline int tg_read_logits(const char *line, const char *key, int want_b, float row[TG_CLASSES]) {
    int b, pos = 0, used;
    char fmt[32];
    snprintf(fmt, sizeof fmt, "%s %%d%%n", key);
    int ok = sscanf(line, fmt, &b, &pos) == 1 && b == want_b && b < TG_BATCH;
    for (int j = 0; ok && j < TG_CLASSES; j++, pos += used) ok = sscanf(line + pos, "%f%n", &row[j], &used) == 1;
    return ok;
}

/* What a test adds to the reading of its files; ctx is the test's case, of which *c is part. */
typedef struct tg_reader {
    int typed; /* tensor lines carry a TYPE after the name */
    void (*begin)(void *ctx); /* a "case" line: clear the test's own fields (c is cleared already) */
    int (*line)(void *ctx, const char *line); /* another line: 1 read, 0 malformed, -1 not the test's */
    int (*complete)(const void *ctx);         /* at "end": whether the test's own lines were all there */
    void (*run)(const void *ctx, int use_reference);
} tg_reader;

/* A line of the kinds every file has: 1 read, 0 malformed, -1 another kind. */
static inline int tg_read_line(tg_case *c, const tg_reader *rd, const char *line, int *have_loss, int *nlogits) {
    if (!strncmp(line, "s ", 2)) {
        int t;
        long long k;
        float gv, nv;
        return sscanf(line, "s %d %lld %f %f", &t, &k, &gv, &nv) == 4 && t >= 0 && t < c->nt && k >= 0 &&
               k < c->t[t].n && tg_add_sample(&c->t[t], k, gv, nv) == 0;
    }
    if (!strncmp(line, "tensor ", 7)) {
        int t;
        if (!(sscanf(line, "tensor %d", &t) == 1 && t == c->nt && t < TG_MAXT)) return 0;
        tg_tensor *g = &c->t[c->nt++];
        int ok = rd->typed ? sscanf(line, "tensor %*d %63s %15s %lld %lld %d %d", g->name, g->type, &g->off, &g->n,
                                    &g->fan_in, &g->decay) == 6
                           : sscanf(line, "tensor %*d %63s %lld %lld %d %d", g->name, &g->off, &g->n, &g->fan_in,
                                    &g->decay) == 5;
        const char *dot = strrchr(g->name, '.');
        return ok && dot && snprintf(g->role, sizeof g->role, "%s", dot + 1) > 0;
    }
    if (!strncmp(line, "stats ", 6)) {
        int t;
        if (!(sscanf(line, "stats %d", &t) == 1 && t == c->nt - 1)) return 0;
        tg_tensor *g = &c->t[t];
        return sscanf(line, "stats %*d %lf %lf %lf %lf %lf %lf %lf", &g->init_sum, &g->init_abs, &g->grad_sum,
                      &g->grad_abs, &g->grad_max, &g->grad_chk, &g->step_chk) == 7;
    }
    if (!strncmp(line, "logits ", 7)) {
        int ok = tg_read_logits(line, "logits", *nlogits, c->logits[*nlogits < TG_BATCH ? *nlogits : 0]);
        *nlogits += ok;
        return ok;
    }
    if (!strncmp(line, "loss ", 5)) return *have_loss = sscanf(line, "loss %lf", &c->loss) == 1;
    if (!strncmp(line, "model ", 6)) {
        snprintf(c->model_line, sizeof c->model_line, "%.*s", (int)strcspn(line, "\r\n"), line);
        return 1;
    }
    if (!strncmp(line, "batch ", 6)) {
        int b = 0;
        return sscanf(line, "batch %d", &b) == 1 && b == TG_BATCH;
    }
    if (!strncmp(line, "optim ", 6))
        return strstr(line, "lr=0.1 momentum=0.9 dampening=0 nesterov=0 weight_decay=0.0005") != NULL;
    if (!strncmp(line, "act ", 4)) return 1; /* repeated from the case line */
    return -1;
}

/* Reads the golden file tests/golden/NAME into *c (part of the test's case ctx), running
 * each case on both backends as its "end" line is reached; checks that it ran the cases
 * named in `want` ("relu, prelu"). */
static inline void tg_run_file(const char *name, const char *want, tg_case *c, void *ctx, const tg_reader *rd) {
    char path[512];
    snprintf(path, sizeof path, "%s/golden/%s", ACTLAB_TEST_DIR, name);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "cannot open %s", path);
    if (!f) return;
    tg_free_case(c);
    if (rd->begin) rd->begin(ctx);
    char line[4096];
    int lineno = 0, ncases = 0, incase = 0, have_loss = 0, nlogits = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n') continue;
        int ok = 1;
        if (!strncmp(line, "case ", 5)) {
            tg_free_case(c);
            if (rd->begin) rd->begin(ctx);
            ok = sscanf(line, "case %31s %31s", c->model, c->act) == 2;
            incase = 1, have_loss = 0, nlogits = 0;
        } else if (!incase) {
            ok = 0;
        } else if (!strncmp(line, "end", 3)) {
            ok = have_loss && nlogits == TG_BATCH && c->nt > 0 && (!rd->complete || rd->complete(ctx));
            if (ok) {
                rd->run(ctx, 0);
                rd->run(ctx, 1);
                ncases++;
            }
            incase = 0;
        } else {
            ok = tg_read_line(c, rd, line, &have_loss, &nlogits);
            if (ok < 0) ok = rd->line ? rd->line(ctx, line) : 0;
            ok = ok > 0;
        }
        CHECK(ok, "%s:%d: cannot read: %.60s", path, lineno, line);
        if (!ok) break;
    }
    tg_free_case(c);
    fclose(f);
    int nwant = 1;
    for (const char *q = want; *q; q++) nwant += *q == ',';
    CHECK(ncases == nwant, "%s: %d cases (want %s)", name, ncases, want);
}
#endif
