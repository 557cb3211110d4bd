/*
 * analyse.c — numerical measurements of the properties the survey (Zhang et
 * al. 2021, section 2) asks of a good activation function.
 *
 * Expectations over x ~ N(0,1) are integrals computed on a fine grid with the
 * double reference (deterministic, no sampling noise); the deep-network
 * gradient scale and the timings use the float32 kernels, because that is
 * what training runs.
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "actlab/analyse.h"
#include "catalogue_internal.h"
#include "actlab/act.h"

#define GRID_HALF 12.0  /* N(0,1) mass beyond 12 sigma is below 1e-32 */
#define GRID_N 48000    /* cells of the midpoint rule */

static double normal_pdf(double x) { return exp(-0.5 * x * x) * 0.39894228040143267794; }

/* Mean and variance of f(x), and the probability mass where f' is zero or tiny.
 * The midpoint rule never samples a cell edge, so a kink at a round number
 * (relu's 0) is not sampled exactly and the indicator integrals stay unbiased. */
static void moments(const actlab_act_cfg *cfg, actlab_analysis *r) {
    double h = 2 * GRID_HALF / GRID_N, m1 = 0, m2 = 0, dead = 0, sat = 0;
    for (int i = 0; i < GRID_N; i++) {
        double x = -GRID_HALF + (i + 0.5) * h, w = h * normal_pdf(x);
        double f = actlab_act_ref_f(cfg, x), d = actlab_act_ref_df(cfg, x);
        m1 += w * f;
        m2 += w * f * f;
        if (d == 0) dead += w;
        if (fabs(d) < 1e-3) sat += w;
    }
    r->mean = m1;
    r->var = m2 - m1 * m1;
    r->p_zero_grad = dead;
    r->p_small_grad = sat;
}

/* f' range and monotonicity on [-10, 10], including the values at kinks. */
static void shape(const actlab_act_cfg *cfg, actlab_analysis *r) {
    const int n = 20001;
    double lo = INFINITY, hi = -INFINITY, prev = actlab_act_ref_f(cfg, -10);
    int increasing = 1, nondecreasing = 1;
    for (int i = 0; i < n; i++) {
        double x = -10 + 20.0 * i / (n - 1), d = actlab_act_ref_df(cfg, x), f = actlab_act_ref_f(cfg, x);
        if (d < lo) lo = d;
        if (d > hi) hi = d;
        if (i > 0) {
            if (!(f > prev)) increasing = 0;
            if (f < prev - 1e-12 * fabs(prev)) nondecreasing = 0;
        }
        prev = f;
    }
    for (int k = 0; k < r->nkinks; k++) {
        double d = actlab_act_ref_df(cfg, r->kink[k]);
        if (r->kink[k] >= -10 && r->kink[k] <= 10) {
            if (d < lo) lo = d;
            if (d > hi) hi = d;
        }
    }
    r->df_min = lo;
    r->df_max = hi;
    r->monotone = increasing ? 2 : nondecreasing ? 1 : 0;
}

static void kinks(const actlab_act_cfg *cfg, actlab_analysis *r) {
    r->nkinks = actlab_act_kinks(cfg, r->kink);
    r->f_jump_max = r->df_jump_max = 0;
    for (int k = 0; k < r->nkinks; k++) {
        double c = r->kink[k], h = 1e-9 * fmax(1, fabs(c));
        r->f_jump[k] = fabs(actlab_act_ref_f(cfg, c + h) - actlab_act_ref_f(cfg, c - h));
        r->df_jump[k] = fabs(actlab_act_ref_df(cfg, c + h) - actlab_act_ref_df(cfg, c - h));
        /* A continuous f moves by about |f'| h across the gap: not a jump. */
        double slope = fmax(fabs(actlab_act_ref_df(cfg, c + h)), fabs(actlab_act_ref_df(cfg, c - h)));
        if (r->f_jump[k] <= 4 * slope * h + 1e-12) r->f_jump[k] = 0;
        if (r->df_jump[k] < 1e-6) r->df_jump[k] = 0;
        if (r->f_jump[k] > r->f_jump_max) r->f_jump_max = r->f_jump[k];
        if (r->df_jump[k] > r->df_jump_max) r->df_jump_max = r->df_jump[k];
    }
}

/* out[b x m] = a[b x k] * w[k x m] (transpose_w: w is m x k). Plain loops: the sizes are small. */
static void matmul(float *out, const float *a, const float *w, int b, int k, int m, int transpose_w) {
    #pragma omp parallel for schedule(static)
    for (int i = 0; i < b; i++) {
        float *o = out + (size_t)i * m;
        memset(o, 0, sizeof(float) * (size_t)m);
        for (int j = 0; j < k; j++) {
            float av = a[(size_t)i * k + j];
            if (transpose_w)
                for (int t = 0; t < m; t++) o[t] += av * w[(size_t)t * k + j];
            else
                for (int t = 0; t < m; t++) o[t] += av * w[(size_t)j * m + t];
        }
    }
}

/* Push a batch through `depth` He-initialised dense layers of width `width`
 * followed by f, then a unit-variance gradient back; report how the gradient
 * norm and the output scale change. Same seed for every function, so the
 * numbers compare. */
static int deep_scale(const actlab_act_cfg *cfg, int depth, int width, actlab_analysis *r, char *err, size_t errlen) {
    const int batch = 64;
    size_t act = (size_t)batch * width, wsz = (size_t)width * width;
    float *w = malloc(sizeof(float) * wsz * depth);
    float *h = malloc(sizeof(float) * act * depth); /* pre-activations per layer */
    float *y = malloc(sizeof(float) * act * (depth + 1));
    float *g = malloc(sizeof(float) * act), *gh = malloc(sizeof(float) * act);
    if (!w || !h || !y || !g || !gh) {
        free(w); free(h); free(y); free(g); free(gh);
        return actlab_errorf(err, errlen, "out of memory");
    }
    float sd = sqrtf(2.0f / (float)width);
    actlab_noise_fill(w, (int64_t)(wsz * depth), ACTLAB_NOISE_NORMAL, 42, 1, 0);
    for (size_t i = 0; i < wsz * depth; i++) w[i] *= sd;
    actlab_noise_fill(y, (int64_t)act, ACTLAB_NOISE_NORMAL, 42, 2, 0);
    actlab_act_call call = actlab_act_call_default(cfg);
    int rc = 0;
    for (int l = 0; l < depth && !rc; l++) {
        matmul(h + l * act, y + l * act, w + l * wsz, batch, width, width, 0);
        rc = actlab_act_forward(&call, y + (l + 1) * act, h + l * act, (int64_t)act, err, errlen);
    }
    double gin = 0, gout = 0, yin = 0, yout = 0;
    actlab_noise_fill(g, (int64_t)act, ACTLAB_NOISE_NORMAL, 42, 3, 0);
    for (size_t i = 0; i < act && !rc; i++) {
        gout += (double)g[i] * g[i];
        yin += (double)y[i] * y[i];
        yout += (double)y[depth * act + i] * y[depth * act + i];
    }
    for (int l = depth - 1; l >= 0 && !rc; l--) {
        rc = actlab_act_backward(&call, gh, g, h + l * act, y + (l + 1) * act, (int64_t)act, err, errlen);
        if (!rc) matmul(g, gh, w + l * wsz, batch, width, width, 1);
    }
    for (size_t i = 0; i < act && !rc; i++) gin += (double)g[i] * g[i];
    r->grad_scale = sqrt(gin / gout);
    r->out_scale = sqrt(yout / yin);
    free(w); free(h); free(y); free(g); free(gh);
    return rc;
}

static double now_seconds(void) { return omp_get_wtime(); }

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int actlab_time_act(const actlab_act_cfg *cfg, float *buf, int64_t n, int repeats, double *fwd_ns, double *fwdbwd_ns,
                    char *err, size_t errlen) {
    float *x = buf, *y = buf + n, *dy = buf + 2 * n, *dx = buf + 3 * n;
    double times_f[16], times_b[16], grad[ACTLAB_ACT_MAX_PARAMS * 4] = {0};
    if (repeats > 16) repeats = 16;
    actlab_act_call call = actlab_act_call_default(cfg);
    call.param_grad = grad;
    for (int r = -1; r < repeats; r++) { /* r = -1 warms caches and pages */
        double t0 = now_seconds();
        if (actlab_act_forward(&call, y, x, n, err, errlen)) return -1;
        double t1 = now_seconds();
        if (actlab_act_backward(&call, dx, dy, x, y, n, err, errlen)) return -1;
        double t2 = now_seconds();
        if (r >= 0) {
            times_f[r] = t1 - t0;
            times_b[r] = t2 - t0;
        }
    }
    qsort(times_f, (size_t)repeats, sizeof(double), cmp_double);
    qsort(times_b, (size_t)repeats, sizeof(double), cmp_double);
    *fwd_ns = times_f[repeats / 2] * 1e9 / (double)n;
    *fwdbwd_ns = times_b[repeats / 2] * 1e9 / (double)n;
    return 0;
}

int actlab_analyse(const actlab_act_cfg *cfg, actlab_analysis *r, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    kinks(cfg, r);
    moments(cfg, r);
    shape(cfg, r);
    return deep_scale(cfg, 20, 256, r, err, errlen);
}
