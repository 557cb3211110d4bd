/*
 * run.c — running a configured function over an array: the driver between
 * the public API and an entry's kernels.
 *
 * The array is cut into pieces that share one parameter set (one channel's
 * run with per-channel parameters, else fixed-size chunks). Pieces run in
 * parallel with OpenMP; each keeps its own learnable-parameter gradient
 * partial, summed afterwards in piece order, so results do not depend on the
 * number of threads. Noise for random functions is drawn per element from
 * (seed, step, index), for the same reason.
 */
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "catalogue_internal.h"
#include "actlab/act.h"

enum { CHUNK = 16384,            /* elements per piece: large enough to amortise a call */
       PARALLEL_MIN = 1 << 16 }; /* below this, threads cost more than they give */

typedef struct piece {
    int64_t start, len, channel;
} piece;

static int per_channel(const actlab_act_call *c) { return c->param && c->channels > 1; }

/* Fill out (if not NULL) and return the number of pieces. */
static int64_t plan(const actlab_act_call *c, int64_t n, piece *out) {
    int64_t count = 0;
    if (!per_channel(c)) {
        for (int64_t s = 0; s < n; s += CHUNK, count++)
            if (out) out[count] = (piece){s, n - s < CHUNK ? n - s : CHUNK, 0};
        return count;
    }
    for (int64_t seg = 0; seg * c->inner < n; seg++) {
        int64_t base = seg * c->inner;
        for (int64_t s = 0; s < c->inner; s += CHUNK, count++)
            if (out) out[count] = (piece){base + s, c->inner - s < CHUNK ? c->inner - s : CHUNK, seg % c->channels};
    }
    return count;
}

/* The pieces of a call, malloc'd (the caller frees); NULL when out of memory. */
static piece *plan_pieces(const actlab_act_call *c, int64_t n, int64_t *count) {
    *count = plan(c, n, NULL);
    piece *pieces = malloc(sizeof(piece) * (size_t)(*count ? *count : 1));
    if (pieces) plan(c, n, pieces);
    return pieces;
}

static void piece_params(const actlab_act_call *c, int64_t channel, float *p) {
    int np = c->cfg.act->nparam;
    memset(p, 0, sizeof(float) * ACTLAB_ACT_MAX_PARAMS);
    memcpy(p, c->param ? c->param + channel * np : c->cfg.p, sizeof(float) * (size_t)np);
}

static int check_call(const actlab_act_call *c, int64_t n, char *err, size_t errlen) {
    if (!c->cfg.act) return actlab_errorf(err, errlen, "no activation function set");
    if (n < 0) return actlab_errorf(err, errlen, "negative element count %lld", (long long)n);
    if (per_channel(c) && (c->inner <= 0 || n % (c->channels * c->inner) != 0))
        return actlab_errorf(err, errlen, "%lld elements do not divide into %lld channels x %lld", (long long)n,
                         (long long)c->channels, (long long)c->inner);
    if ((c->cfg.act->flags & ACTLAB_ACT_RANDOM) && c->training && !c->noise)
        return actlab_errorf(err, errlen, "%s draws noise in training: the call needs a noise buffer of n floats",
                         c->cfg.act->name);
    return 0;
}

static int thread_count(const actlab_act_call *c, int64_t n) {
    if (n < PARALLEL_MIN) return 1;
    return c->threads > 0 ? c->threads : omp_get_max_threads();
}

actlab_act_call actlab_act_call_default(const actlab_act_cfg *cfg) {
    actlab_act_call c;
    memset(&c, 0, sizeof c);
    c.cfg = *cfg;
    c.channels = c.inner = 1;
    return c;
}

int actlab_act_forward(const actlab_act_call *c, float *y, const float *x, int64_t n, char *err, size_t errlen) {
    if (check_call(c, n, err, errlen)) return -1;
    const actlab_act *a = c->cfg.act;
    int64_t np;
    piece *pieces = plan_pieces(c, n, &np);
    if (!pieces) return actlab_errorf(err, errlen, "out of memory");
    int noisy = (a->flags & ACTLAB_ACT_RANDOM) && c->training;
    int threads = thread_count(c, n);

    #pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
    for (int64_t i = 0; i < np; i++) {
        const piece *pc = &pieces[i];
        float p[ACTLAB_ACT_MAX_PARAMS];
        piece_params(c, pc->channel, p);
        float *noise = noisy ? c->noise + pc->start : NULL;
        if (noisy) actlab_noise_fill(noise, pc->len, a->noise, c->seed, c->step, (uint64_t)pc->start);
        a->forward(y + pc->start, x + pc->start, pc->len, p, noise, a->ctx);
    }
    free(pieces);
    return 0;
}

int actlab_act_backward(const actlab_act_call *c, float *dx, const float *dy, const float *x, const float *y,
                        int64_t n, char *err, size_t errlen) {
    if (check_call(c, n, err, errlen)) return -1;
    const actlab_act *a = c->cfg.act;
    if ((a->flags & ACTLAB_ACT_FROM_Y) ? !y : !x)
        return actlab_errorf(err, errlen, "%s backward needs %s", a->name, (a->flags & ACTLAB_ACT_FROM_Y) ? "y" : "x");
    int64_t np;
    piece *pieces = plan_pieces(c, n, &np);
    int want_dp = c->param_grad && actlab_act_has_learnable(a);
    float *partial = want_dp ? malloc(sizeof(float) * ACTLAB_ACT_MAX_PARAMS * (size_t)(np ? np : 1)) : NULL;
    if (!pieces || (want_dp && !partial)) {
        free(pieces);
        free(partial);
        return actlab_errorf(err, errlen, "out of memory");
    }
    int noisy = (a->flags & ACTLAB_ACT_RANDOM) && c->training;
    int threads = thread_count(c, n);

    #pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
    for (int64_t i = 0; i < np; i++) {
        const piece *pc = &pieces[i];
        float p[ACTLAB_ACT_MAX_PARAMS];
        piece_params(c, pc->channel, p);
        a->backward(dx + pc->start, partial ? partial + i * ACTLAB_ACT_MAX_PARAMS : NULL, dy + pc->start,
                    x ? x + pc->start : NULL, y ? y + pc->start : NULL, pc->len, p,
                    noisy ? c->noise + pc->start : NULL, a->ctx);
    }
    if (want_dp) /* in piece order, whatever the thread count */
        for (int64_t i = 0; i < np; i++) {
            double *g = c->param_grad + (per_channel(c) ? pieces[i].channel * a->nparam : 0);
            for (int k = 0; k < a->nparam; k++)
                if (a->param[k].kind == ACTLAB_PARAM_LEARNABLE) g[k] += partial[i * ACTLAB_ACT_MAX_PARAMS + k];
        }
    free(pieces);
    free(partial);
    return 0;
}

/* ---- the scalar reference, with a configured function's parameters ---- */

static void params_double(const actlab_act_cfg *cfg, double *p) {
    for (int k = 0; k < ACTLAB_ACT_MAX_PARAMS; k++) p[k] = cfg->p[k];
}

double actlab_act_ref_f(const actlab_act_cfg *cfg, double x) {
    double p[ACTLAB_ACT_MAX_PARAMS];
    params_double(cfg, p);
    return cfg->act->ref_f(x, p, NULL, cfg->act->ctx);
}

double actlab_act_ref_df(const actlab_act_cfg *cfg, double x) {
    double p[ACTLAB_ACT_MAX_PARAMS];
    params_double(cfg, p);
    return cfg->act->ref_df(x, p, NULL, cfg->act->ctx);
}

void actlab_act_ref_dparam(const actlab_act_cfg *cfg, double x, double *out) {
    double p[ACTLAB_ACT_MAX_PARAMS];
    params_double(cfg, p);
    for (int k = 0; k < ACTLAB_ACT_MAX_PARAMS; k++) out[k] = 0;
    if (cfg->act->ref_dparam) cfg->act->ref_dparam(out, x, p, cfg->act->ctx);
}

int actlab_act_kinks(const actlab_act_cfg *cfg, double *out) {
    double p[ACTLAB_ACT_MAX_PARAMS];
    params_double(cfg, p);
    return cfg->act->kinks ? cfg->act->kinks(out, p, cfg->act->ctx) : 0;
}
