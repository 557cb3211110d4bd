/*
 * test_layers_ref.c — the plain C reference layers (src/nn/layers_ref.h):
 * forwards against naive double-precision loops or hand-computed values,
 * every backward against central finite differences in double (the float
 * forward at x +- h, through the scalar L = sum(out * r) for a random r, so
 * one number covers all outputs), the overwrite/accumulate conventions,
 * PyTorch's max-pooling rules (ties, NaN, padding), the losses at extreme
 * logits, dropout's mask, and bit-identical results for 1 and 2 threads.
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "nn/layers_ref.h"
#include "actlab/act.h"

/* ---- helpers ---- */

static uint64_t rng_state = 0x243f6a8885a308d3ull;
static double urand(void) { /* xorshift64*, uniform in [0,1) */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 0x2545f4914f6cdd1dull) >> 11) * 0x1.0p-53;
}
static void fill(float *x, int64_t n, double lo, double hi) {
    for (int64_t i = 0; i < n; i++) x[i] = (float)(lo + (hi - lo) * urand());
}
/* Distinct values spaced 0.05 apart in random order: no max-pool winner changes
 * under a perturbation of 1e-2. */
static void fill_distinct(float *x, int n) {
    for (int i = 0; i < n; i++) x[i] = (float)(0.05 * (i - n / 2));
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(urand() * (i + 1));
        float t = x[i];
        x[i] = x[j];
        x[j] = t;
    }
}
static float *falloc(int64_t n) { return calloc((size_t)(n > 0 ? n : 1), sizeof(float)); }
static double project(const float *out, const float *r, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)out[i] * r[i];
    return s;
}
static double maxabs(const float *x, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs(x[i]));
    return m;
}

/* Central differences of loss() with respect to each x[i], against grad[i]; the step is
 * the difference of the perturbed floats as stored. One CHECK per tensor. */
static void fd_check(const char *what, float *x, int64_t n, const float *grad, double (*loss)(void *), void *ctx,
                     float h, double rtol) {
    const double atol = 1e-3 * maxabs(grad, n) + 1e-6;
    int64_t bad = 0, worst = -1;
    double worst_err = 0, worst_num = 0;
    for (int64_t i = 0; i < n; i++) {
        const float x0 = x[i];
        x[i] = x0 + h;
        const double xp = x[i], lp = loss(ctx);
        x[i] = x0 - h;
        const double xm = x[i], lm = loss(ctx);
        x[i] = x0;
        const double num = (lp - lm) / (xp - xm);
        if (!check_close(grad[i], num, rtol, atol)) {
            bad++;
            double err = fabs(grad[i] - num);
            if (err > worst_err) worst_err = err, worst = i, worst_num = num;
        }
    }
    CHECK(bad == 0, "%s: %lld of %lld gradients off; worst [%lld] analytic %.6g numeric %.6g", what, (long long)bad,
          (long long)n, (long long)worst, worst >= 0 ? grad[worst] : 0.0, worst_num);
}

static int all_finite(const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

/* ---- dense ---- */

typedef struct {
    float *out, *in, *w, *b;
    const float *r;
    int B, I, O;
} dense_ctx;

static double dense_loss(void *p) {
    dense_ctx *c = p;
    ref_dense_forward(c->out, c->in, c->w, c->b, c->B, c->I, c->O);
    return project(c->out, c->r, (int64_t)c->B * c->O);
}

static void test_dense(int B, int I, int O) {
    float *in = falloc((int64_t)B * I), *w = falloc((int64_t)O * I), *b = falloc(O), *out = falloc((int64_t)B * O);
    float *r = falloc((int64_t)B * O), *din = falloc((int64_t)B * I), *dw = falloc((int64_t)O * I), *db = falloc(O);
    fill(in, (int64_t)B * I, -1, 1);
    fill(w, (int64_t)O * I, -1, 1);
    fill(b, O, -1, 1);
    fill(r, (int64_t)B * O, -1, 1);

    /* forward against the naive triple loop, with and without bias */
    for (int withb = 0; withb < 2; withb++) {
        ref_dense_forward(out, in, w, withb ? b : NULL, B, I, O);
        int bad = 0;
        for (int n = 0; n < B; n++)
            for (int o = 0; o < O; o++) {
                double s = withb ? b[o] : 0;
                for (int i = 0; i < I; i++) s += (double)in[n * I + i] * w[o * I + i];
                bad += !check_close(out[n * O + o], s, 1e-5, 1e-5);
            }
        CHECK(bad == 0, "dense %dx%dx%d forward (bias %d): %d outputs differ from the naive loop", B, I, O, withb, bad);
    }

    /* backward against naive loops, then against finite differences */
    for (int64_t i = 0; i < (int64_t)B * I; i++) din[i] = NAN; /* must be overwritten */
    ref_dense_backward(din, dw, db, r, in, w, B, I, O);
    int bad = 0;
    for (int n = 0; n < B; n++)
        for (int i = 0; i < I; i++) {
            double s = 0;
            for (int o = 0; o < O; o++) s += (double)r[n * O + o] * w[o * I + i];
            bad += !check_close(din[n * I + i], s, 1e-5, 1e-5);
        }
    for (int o = 0; o < O; o++) {
        double sb = 0;
        for (int n = 0; n < B; n++) sb += r[n * O + o];
        bad += !check_close(db[o], sb, 1e-5, 1e-5);
        for (int i = 0; i < I; i++) {
            double s = 0;
            for (int n = 0; n < B; n++) s += (double)r[n * O + o] * in[n * I + i];
            bad += !check_close(dw[o * I + i], s, 1e-5, 1e-5);
        }
    }
    CHECK(bad == 0, "dense %dx%dx%d backward: %d values differ from the naive loops", B, I, O, bad);

    dense_ctx c = {out, in, w, b, r, B, I, O};
    char name[64];
    snprintf(name, sizeof name, "dense %dx%dx%d din", B, I, O);
    fd_check(name, in, (int64_t)B * I, din, dense_loss, &c, 1e-2f, 1e-2);
    snprintf(name, sizeof name, "dense %dx%dx%d dw", B, I, O);
    fd_check(name, w, (int64_t)O * I, dw, dense_loss, &c, 1e-2f, 1e-2);
    snprintf(name, sizeof name, "dense %dx%dx%d db", B, I, O);
    fd_check(name, b, O, db, dense_loss, &c, 1e-2f, 1e-2);

    /* dw, db accumulate; din NULL and db NULL are skipped */
    float *dw2 = falloc((int64_t)O * I), *db2 = falloc(O);
    for (int64_t i = 0; i < (int64_t)O * I; i++) dw2[i] = 0.5f;
    for (int o = 0; o < O; o++) db2[o] = -0.25f;
    ref_dense_backward(NULL, dw2, db2, r, in, w, B, I, O);
    bad = 0;
    for (int64_t i = 0; i < (int64_t)O * I; i++) bad += !check_close(dw2[i] - 0.5, dw[i], 1e-5, 1e-5);
    for (int o = 0; o < O; o++) bad += !check_close(db2[o] + 0.25, db[o], 1e-5, 1e-5);
    CHECK(bad == 0, "dense backward does not accumulate into dw/db (%d off)", bad);
    memcpy(dw2, dw, sizeof(float) * O * I);
    ref_dense_backward(NULL, dw2, NULL, r, in, w, B, I, O);
    bad = 0;
    for (int64_t i = 0; i < (int64_t)O * I; i++) bad += !check_close(dw2[i], 2.0 * dw[i], 1e-5, 1e-6);
    CHECK(bad == 0, "dense backward with din = db = NULL: %d dw values off", bad);

    free(dw2), free(db2);
    free(in), free(w), free(b), free(out), free(r), free(din), free(dw), free(db);
}

/* ---- conv2d ---- */

typedef struct {
    float *out, *in, *w, *b;
    const float *r;
    const nn_conv_shape *s;
} conv_ctx;

static double conv_loss(void *p) {
    conv_ctx *c = p;
    ref_conv2d_forward(c->out, c->in, c->w, c->b, c->s);
    const nn_conv_shape *s = c->s;
    return project(c->out, c->r, (int64_t)s->B * s->O * s->OH * s->OW);
}

static void test_conv_shape(void) {
    nn_conv_shape s;
    CHECK(nn_conv_shape_init(&s, 2, 1, 28, 28, 6, 5, 1, 0) == 0 && s.OH == 24 && s.OW == 24 && s.KH == 5 &&
              s.KW == 5 && s.C == 1 && s.O == 6,
          "conv shape 28x28 k5: OH %d OW %d", s.OH, s.OW);
    CHECK(nn_conv_shape_init(&s, 1, 3, 7, 8, 4, 3, 2, 1) == 0 && s.OH == 4 && s.OW == 4,
          "conv shape 7x8 k3 s2 p1: OH %d OW %d", s.OH, s.OW);
    CHECK(nn_conv_shape_init(&s, 1, 1, 3, 4, 1, 3, 1, 2) == 0 && s.OH == 5 && s.OW == 6,
          "conv shape 3x4 k3 p2: OH %d OW %d", s.OH, s.OW);
    CHECK(nn_conv_shape_init(&s, 1, 1, 4, 4, 1, 7, 2, 1) == -1, "conv: kernel larger than padded input accepted");
    CHECK(nn_conv_shape_init(&s, 1, 1, 4, 4, 1, 3, 0, 0) == -1, "conv: stride 0 accepted");
    CHECK(nn_conv_shape_init(&s, 1, 1, 4, 4, 1, 3, 1, -1) == -1, "conv: negative pad accepted");
    CHECK(nn_conv_shape_init(&s, 0, 1, 4, 4, 1, 3, 1, 0) == -1, "conv: batch 0 accepted");
    CHECK(nn_conv_shape_init(&s, 1, 1, 4, 4, 0, 3, 1, 0) == -1, "conv: 0 output channels accepted");
}

static void test_conv(int B, int C, int H, int W, int O, int K, int stride, int pad) {
    nn_conv_shape s;
    if (nn_conv_shape_init(&s, B, C, H, W, O, K, stride, pad) != 0) {
        CHECK(0, "conv shape %d %d %d %d %d %d %d %d rejected", B, C, H, W, O, K, stride, pad);
        return;
    }
    const int64_t nin = (int64_t)B * C * H * W, nw = (int64_t)O * C * K * K, nout = (int64_t)B * O * s.OH * s.OW;
    float *in = falloc(nin), *w = falloc(nw), *b = falloc(O), *out = falloc(nout), *r = falloc(nout);
    float *din = falloc(nin), *dw = falloc(nw), *db = falloc(O);
    fill(in, nin, -1, 1);
    fill(w, nw, -1, 1);
    fill(b, O, -1, 1);
    fill(r, nout, -1, 1);
    char tag[80];
    snprintf(tag, sizeof tag, "conv B%d C%d %dx%d O%d k%d s%d p%d", B, C, H, W, O, K, stride, pad);

    for (int withb = 0; withb < 2; withb++) {
        ref_conv2d_forward(out, in, w, withb ? b : NULL, &s);
        int bad = 0;
        for (int n = 0; n < B; n++)
            for (int o = 0; o < O; o++)
                for (int oh = 0; oh < s.OH; oh++)
                    for (int ow = 0; ow < s.OW; ow++) {
                        double acc = withb ? b[o] : 0;
                        for (int c = 0; c < C; c++)
                            for (int kh = 0; kh < K; kh++)
                                for (int kw = 0; kw < K; kw++) {
                                    int ih = oh * stride - pad + kh, iw = ow * stride - pad + kw;
                                    if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                                    acc += (double)in[((n * C + c) * H + ih) * W + iw] *
                                           w[((o * C + c) * K + kh) * K + kw];
                                }
                        bad += !check_close(out[((n * O + o) * s.OH + oh) * s.OW + ow], acc, 1e-5, 1e-5);
                    }
        CHECK(bad == 0, "%s forward (bias %d): %d outputs differ from the naive loop", tag, withb, bad);
    }

    for (int64_t i = 0; i < nin; i++) din[i] = NAN; /* must be overwritten */
    ref_conv2d_backward(din, dw, db, r, in, w, &s);
    conv_ctx c = {out, in, w, b, r, &s};
    char name[120];
    snprintf(name, sizeof name, "%s din", tag);
    fd_check(name, in, nin, din, conv_loss, &c, 1e-2f, 1e-2);
    snprintf(name, sizeof name, "%s dw", tag);
    fd_check(name, w, nw, dw, conv_loss, &c, 1e-2f, 1e-2);
    snprintf(name, sizeof name, "%s db", tag);
    fd_check(name, b, O, db, conv_loss, &c, 1e-2f, 1e-2);

    /* accumulation, and NULL din/db */
    float *dw2 = falloc(nw), *db2 = falloc(O);
    for (int64_t i = 0; i < nw; i++) dw2[i] = 1.0f;
    for (int o = 0; o < O; o++) db2[o] = 2.0f;
    ref_conv2d_backward(NULL, dw2, db2, r, in, w, &s);
    int bad = 0;
    for (int64_t i = 0; i < nw; i++) bad += !check_close(dw2[i] - 1.0, dw[i], 1e-5, 1e-5);
    for (int o = 0; o < O; o++) bad += !check_close(db2[o] - 2.0, db[o], 1e-5, 1e-5);
    float *db3 = falloc(O);
    memcpy(db3, db2, sizeof(float) * O);
    ref_conv2d_backward(NULL, dw2, NULL, r, in, w, &s);
    for (int64_t i = 0; i < nw; i++) bad += !check_close(dw2[i] - 1.0, 2.0 * dw[i], 1e-5, 1e-5);
    bad += memcmp(db2, db3, sizeof(float) * O) != 0; /* db NULL: the caller's db untouched */
    free(db3);
    CHECK(bad == 0, "%s backward accumulate / NULL: %d off", tag, bad);

    free(dw2), free(db2);
    free(in), free(w), free(b), free(out), free(r), free(din), free(dw), free(db);
}

/* ---- pooling ---- */

typedef struct {
    float *out, *in;
    int32_t *am;
    const float *r;
    const nn_pool_shape *s;
    int avg;
} pool_ctx;

static double pool_loss(void *p) {
    pool_ctx *c = p;
    if (c->avg) ref_avgpool_forward(c->out, c->in, c->s);
    else ref_maxpool_forward(c->out, c->am, c->in, c->s);
    return project(c->out, c->r, (int64_t)c->s->B * c->s->C * c->s->OH * c->s->OW);
}

static void test_pool_shape(void) {
    nn_pool_shape s;
    CHECK(nn_pool_shape_init(&s, 1, 6, 24, 24, 2, 2, 0) == 0 && s.OH == 12 && s.OW == 12, "pool 24 k2 s2: %d", s.OH);
    CHECK(nn_pool_shape_init(&s, 1, 1, 5, 7, 2, 2, 0) == 0 && s.OH == 2 && s.OW == 3, "pool floor: %d %d", s.OH, s.OW);
    CHECK(nn_pool_shape_init(&s, 1, 1, 5, 5, 3, 2, 1) == 0 && s.OH == 3, "pool k3 s2 p1: %d", s.OH);
    CHECK(nn_pool_shape_init(&s, 1, 1, 5, 5, 2, 2, 2) == -1, "pool: pad 2 > k2/2 accepted");
    CHECK(nn_pool_shape_init(&s, 1, 1, 5, 5, 3, 1, 2) == -1, "pool: pad 2 > k3/2 accepted");
    CHECK(nn_pool_shape_init(&s, 1, 1, 2, 2, 3, 1, 0) == -1, "pool: window larger than input accepted");
    CHECK(nn_pool_shape_init(&s, 1, 1, 4, 4, 2, 0, 0) == -1, "pool: stride 0 accepted");
    CHECK(nn_pool_shape_init(&s, 1, 1, 4, 4, 2, 1, -1) == -1, "pool: negative pad accepted");
}

static void test_pool(int avg, int B, int C, int H, int W, int K, int stride, int pad) {
    nn_pool_shape s;
    if (nn_pool_shape_init(&s, B, C, H, W, K, stride, pad) != 0) {
        CHECK(0, "pool shape %d %d %d %d %d %d %d rejected", B, C, H, W, K, stride, pad);
        return;
    }
    const int64_t nin = (int64_t)B * C * H * W, nout = (int64_t)B * C * s.OH * s.OW;
    float *in = falloc(nin), *out = falloc(nout), *r = falloc(nout), *din = falloc(nin);
    int32_t *am = calloc((size_t)nout, sizeof(int32_t));
    fill_distinct(in, (int)nin);
    fill(r, nout, -1, 1);
    char tag[80];
    snprintf(tag, sizeof tag, "%s B%d C%d %dx%d k%d s%d p%d", avg ? "avgpool" : "maxpool", B, C, H, W, K, stride, pad);

    if (avg) ref_avgpool_forward(out, in, &s);
    else ref_maxpool_forward(out, am, in, &s);
    int bad = 0;
    for (int p = 0; p < B * C; p++)
        for (int oh = 0; oh < s.OH; oh++)
            for (int ow = 0; ow < s.OW; ow++) {
                double acc = 0, m = -INFINITY;
                int arg = -1;
                for (int kh = 0; kh < K; kh++)
                    for (int kw = 0; kw < K; kw++) {
                        int ih = oh * stride - pad + kh, iw = ow * stride - pad + kw;
                        if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                        double v = in[(int64_t)p * H * W + ih * W + iw];
                        acc += v;
                        if (v > m) m = v, arg = ih * W + iw;
                    }
                int64_t i = ((int64_t)p * s.OH + oh) * s.OW + ow;
                if (avg) bad += !check_close(out[i], acc / (K * K), 1e-6, 1e-6);
                else bad += out[i] != m || am[i] != arg;
            }
    CHECK(bad == 0, "%s forward: %d outputs differ from the naive loop", tag, bad);

    for (int64_t i = 0; i < nin; i++) din[i] = NAN;
    if (avg) ref_avgpool_backward(din, r, &s);
    else ref_maxpool_backward(din, r, am, &s);
    pool_ctx c = {out, in, am, r, &s, avg};
    char name[100];
    snprintf(name, sizeof name, "%s din", tag);
    fd_check(name, in, nin, din, pool_loss, &c, 1e-2f, 1e-2);
    free(in), free(out), free(r), free(din), free(am);
}

static void test_maxpool_rules(void) {
    nn_pool_shape s;
    float out[9], din[9];
    int32_t am[9];
    /* ties keep the first; a tie later in the window does not move the index */
    nn_pool_shape_init(&s, 1, 1, 2, 2, 2, 2, 0);
    float ties[4] = {1, 1, 1, 1}, later[4] = {0, 3, 3, 1};
    ref_maxpool_forward(out, am, ties, &s);
    CHECK(out[0] == 1 && am[0] == 0, "maxpool tie: out %g argmax %d, want 1 at 0", out[0], am[0]);
    ref_maxpool_forward(out, am, later, &s);
    CHECK(out[0] == 3 && am[0] == 1, "maxpool tie: out %g argmax %d, want 3 at 1", out[0], am[0]);
    /* NaN wins over larger values before and after it */
    float withnan[4] = {1, NAN, 5, 2};
    ref_maxpool_forward(out, am, withnan, &s);
    CHECK(isnan(out[0]) && am[0] == 1, "maxpool NaN: out %g argmax %d, want NaN at 1", out[0], am[0]);
    /* all -inf: -inf at the first valid position */
    float ninf[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    ref_maxpool_forward(out, am, ninf, &s);
    CHECK(out[0] == -INFINITY && am[0] == 0, "maxpool -inf: out %g argmax %d", out[0], am[0]);

    /* padding is -inf, not 0: negative inputs survive */
    nn_pool_shape_init(&s, 1, 1, 3, 3, 3, 1, 1);
    float neg[9];
    for (int i = 0; i < 9; i++) neg[i] = -5.0f - (float)i;
    ref_maxpool_forward(out, am, neg, &s);
    CHECK(out[0] == -5 && am[0] == 0 && out[8] == -9 && am[8] == 4 && out[4] == -5 && am[4] == 0,
          "maxpool padding: corner %g (arg %d), want -9 at 4", out[8], am[8]);
    /* overlapping windows all pick the centre: its gradient is the sum */
    float centre[9] = {1, 2, 3, 4, 9, 5, 6, 7, 8}, dy[9];
    double sum = 0;
    for (int i = 0; i < 9; i++) dy[i] = (float)(i + 1) * 0.5f, sum += dy[i];
    ref_maxpool_forward(out, am, centre, &s);
    ref_maxpool_backward(din, dy, am, &s);
    int bad = 0;
    for (int i = 0; i < 9; i++) bad += am[i] != 4 || (i != 4 && din[i] != 0);
    CHECK(bad == 0 && din[4] == (float)sum, "maxpool overlapping windows: din[4] %g want %g (%d off)", din[4], sum,
          bad);

    /* average pooling counts padding: a 2x2 plane of ones with k3 p1 gives 4/9 */
    nn_pool_shape_init(&s, 1, 1, 2, 2, 3, 1, 1);
    float ones[4] = {1, 1, 1, 1};
    ref_avgpool_forward(out, ones, &s);
    CHECK(s.OH == 2 && check_close(out[0], 4.0 / 9, 1e-6, 0) && check_close(out[3], 4.0 / 9, 1e-6, 0),
          "avgpool count_include_pad: %g, want 4/9", out[0]);
}

/* ---- losses ---- */

typedef struct {
    float *probs, *logits;
    const int32_t *labels;
    int B, K;
} xent_ctx;
static double xent_loss(void *p) {
    xent_ctx *c = p;
    return nn_softmax_xent_forward(c->probs, c->logits, c->labels, c->B, c->K, NULL);
}

typedef struct {
    float *out;
    const float *target;
    int64_t n;
} mse_ctx;
static double mse_loss(void *p) {
    mse_ctx *c = p;
    return nn_mse_forward(c->out, c->target, c->n);
}

static void test_losses(void) {
    /* uniform logits: loss ln K, probabilities 1/K, argmax the first */
    enum { B = 3, K = 10 };
    float logits[B * K], probs[B * K], d[B * K];
    int32_t labels[B] = {0, 3, 9};
    for (int i = 0; i < B * K; i++) logits[i] = 0.7f;
    int correct = -1;
    double L = nn_softmax_xent_forward(probs, logits, labels, B, K, &correct);
    int bad = 0;
    for (int i = 0; i < B * K; i++) bad += !check_close(probs[i], 0.1, 1e-6, 0);
    CHECK(check_close(L, log(10.0), 1e-12, 0) && bad == 0 && correct == 1,
          "xent uniform: loss %.17g want ln 10, %d probs off, correct %d want 1", L, bad, correct);

    /* hand-computed: logits (0, ln 3) give p = (1/4, 3/4) */
    float two[4] = {0, (float)log(3.0), 0, (float)log(3.0)}, p2[4], d2[4];
    int32_t lab2[2] = {0, 1};
    L = nn_softmax_xent_forward(p2, two, lab2, 2, 2, &correct);
    double want = (log(1 + exp((double)two[1])) + (log(1 + exp((double)two[1])) - (double)two[1])) / 2;
    CHECK(check_close(L, want, 1e-12, 0) && check_close(L, (log(4.0) + log(4.0 / 3)) / 2, 1e-7, 0) && correct == 1,
          "xent two classes: loss %.17g want %.17g, correct %d", L, want, correct);
    nn_softmax_xent_backward(d2, p2, lab2, 2, 2);
    CHECK(check_close(d2[0], (0.25 - 1) / 2, 1e-6, 0) && check_close(d2[1], 0.75 / 2, 1e-6, 0) &&
              check_close(d2[2], 0.25 / 2, 1e-6, 0) && check_close(d2[3], (0.75 - 1) / 2, 1e-6, 0),
          "xent two classes gradient: %g %g %g %g", d2[0], d2[1], d2[2], d2[3]);

    /* extreme logits: no overflow, no NaN */
    float ext[8] = {1e4f, -1e4f, 0, 1e4f, 1e4f, -1e4f, 0, -3e4f}, pe[8], de[8];
    int32_t labe[2] = {1, 0};
    L = nn_softmax_xent_forward(pe, ext, labe, 2, 4, &correct);
    CHECK(check_close(L, (2e4 + log(2.0) + 0) / 2, 1e-12, 0) && all_finite(pe, 8) && correct == 1,
          "xent extreme logits: loss %.17g want %.17g, correct %d", L, (2e4 + log(2.0)) / 2, correct);
    nn_softmax_xent_backward(de, pe, labe, 2, 4);
    CHECK(all_finite(de, 8) && check_close(de[0], 0.25, 1e-6, 0) && check_close(de[1], -0.5, 1e-6, 0) &&
              de[4] == 0 && de[7] == 0,
          "xent extreme logits gradient: %g %g %g %g", de[0], de[1], de[4], de[7]);

    /* a label out of range gives NaN, not an out-of-bounds read */
    int32_t badlab[2] = {0, 4};
    CHECK(isnan(nn_softmax_xent_forward(pe, ext, badlab, 2, 4, NULL)), "xent: label out of range not NaN");

    /* gradient against finite differences */
    int32_t lab3[B] = {2, 7, 0};
    fill(logits, B * K, -3, 3);
    nn_softmax_xent_forward(probs, logits, lab3, B, K, NULL);
    nn_softmax_xent_backward(d, probs, lab3, B, K);
    xent_ctx xc = {probs, logits, lab3, B, K};
    fd_check("softmax xent dlogits", logits, B * K, d, xent_loss, &xc, 1e-3f, 1e-3);

    /* MSE: hand value and gradient, then finite differences */
    float o3[3] = {1, 2, 3}, t3[3] = {0, 2, 5}, g3[3];
    L = nn_mse_forward(o3, t3, 3);
    nn_mse_backward(g3, o3, t3, 3);
    CHECK(check_close(L, 5.0 / 3, 1e-15, 0) && check_close(g3[0], 2.0 / 3, 1e-6, 0) && g3[1] == 0 &&
              check_close(g3[2], -4.0 / 3, 1e-6, 0),
          "mse: loss %.17g want 5/3, grad %g %g %g", L, g3[0], g3[1], g3[2]);
    float mo[40], mt[40], mg[40];
    fill(mo, 40, -2, 2);
    fill(mt, 40, -2, 2);
    nn_mse_backward(mg, mo, mt, 40);
    mse_ctx mc = {mo, mt, 40};
    fd_check("mse dout", mo, 40, mg, mse_loss, &mc, 1e-2f, 1e-3);
}

/* ---- dropout ---- */

static void test_dropout(void) {
    enum { N = 100000 };
    float *in = falloc(N), *out = falloc(N), *mask = falloc(N), *mask2 = falloc(N), *out2 = falloc(N);
    float *dy = falloc(N), *dx = falloc(N);
    fill(in, N, -1, 1);
    fill(dy, N, -1, 1);

    nn_dropout_forward(out, mask, in, N, 0.0f, 7, 3);
    int bad = 0;
    for (int i = 0; i < N; i++) bad += out[i] != in[i] || mask[i] != 1.0f;
    CHECK(bad == 0, "dropout p=0 does not copy (%d off)", bad);

    const float p = 0.3f, scale = 1.0f / (1.0f - p);
    nn_dropout_forward(out, mask, in, N, p, 7, 3);
    double msum = 0;
    int dropped = 0, notnoise = 0;
    bad = 0;
    for (int i = 0; i < N; i++) {
        bad += !(mask[i] == 0 || mask[i] == scale) || out[i] != in[i] * mask[i];
        msum += mask[i];
        dropped += mask[i] == 0;
    }
    actlab_noise_fill(mask2, N, ACTLAB_NOISE_UNIFORM, 7, 3, 0); /* the documented draws */
    for (int i = 0; i < N; i++) notnoise += (mask2[i] >= p) != (mask[i] != 0);
    CHECK(bad == 0, "dropout: %d elements not 0 or 1/(1-p), or out != in * mask", bad);
    CHECK(fabs(msum / N - 1) < 0.01 && fabs((double)dropped / N - p) < 0.01,
          "dropout: mean mask %g (want ~1), dropped %g (want ~%g)", msum / N, (double)dropped / N, p);
    CHECK(notnoise == 0, "dropout: %d masks disagree with u >= p, u from actlab_noise_fill(seed, step, 0)", notnoise);

    nn_dropout_forward(out2, mask2, in, N, p, 7, 3);
    CHECK(memcmp(mask, mask2, sizeof(float) * N) == 0 && memcmp(out, out2, sizeof(float) * N) == 0,
          "dropout: same seed and step give a different mask");
    nn_dropout_forward(out2, mask2, in, N, p, 7, 4);
    CHECK(memcmp(mask, mask2, sizeof(float) * N) != 0, "dropout: another step gives the same mask");
    nn_dropout_forward(out2, mask2, in, N, p, 8, 3);
    CHECK(memcmp(mask, mask2, sizeof(float) * N) != 0, "dropout: another seed gives the same mask");

    nn_dropout_backward(dx, dy, mask, N);
    bad = 0;
    for (int i = 0; i < N; i++) bad += mask[i] == 0 ? dx[i] != 0 : dx[i] != dy[i] * scale;
    CHECK(bad == 0, "dropout backward: %d gradients wrong (dropped ones must be 0)", bad);

    /* a large p still averages to 1 */
    nn_dropout_forward(out2, mask2, in, N, 0.8f, 11, 0);
    msum = 0;
    for (int i = 0; i < N; i++) msum += mask2[i];
    CHECK(fabs(msum / N - 1) < 0.03, "dropout p=0.8: mean mask %g, want ~1", msum / N);

    /* thread count does not change the mask */
    omp_set_num_threads(1);
    nn_dropout_forward(out2, mask2, in, N, p, 7, 3);
    omp_set_num_threads(2);
    CHECK(memcmp(mask, mask2, sizeof(float) * N) == 0, "dropout: 1 thread gives another mask than 2");
    free(in), free(out), free(mask), free(mask2), free(out2), free(dy), free(dx);
}

/* ---- thread-count independence ---- */

/* Runs forward and backward with 1 and then 2 threads; every buffer must match bit for bit. */
static void test_threads_conv(int B, int C, int H, int W, int O, int K, int stride, int pad) {
    nn_conv_shape s;
    nn_conv_shape_init(&s, B, C, H, W, O, K, stride, pad);
    const int64_t nin = (int64_t)B * C * H * W, nw = (int64_t)O * C * K * K, nout = (int64_t)B * O * s.OH * s.OW;
    float *in = falloc(nin), *w = falloc(nw), *b = falloc(O), *dy = falloc(nout);
    float *out[2], *din[2], *dw[2], *db[2];
    fill(in, nin, -1, 1);
    fill(w, nw, -1, 1);
    fill(b, O, -1, 1);
    fill(dy, nout, -1, 1);
    for (int t = 0; t < 2; t++) {
        out[t] = falloc(nout), din[t] = falloc(nin), dw[t] = falloc(nw), db[t] = falloc(O);
        for (int64_t i = 0; i < nw; i++) dw[t][i] = 0.1f;
        omp_set_num_threads(t + 1);
        ref_conv2d_forward(out[t], in, w, b, &s);
        ref_conv2d_backward(din[t], dw[t], db[t], dy, in, w, &s);
    }
    omp_set_num_threads(2);
    CHECK(memcmp(out[0], out[1], sizeof(float) * nout) == 0 && memcmp(din[0], din[1], sizeof(float) * nin) == 0 &&
              memcmp(dw[0], dw[1], sizeof(float) * nw) == 0 && memcmp(db[0], db[1], sizeof(float) * O) == 0,
          "conv B%d C%d %dx%d O%d k%d s%d p%d: 1 and 2 threads differ", B, C, H, W, O, K, stride, pad);
    for (int t = 0; t < 2; t++) free(out[t]), free(din[t]), free(dw[t]), free(db[t]);
    free(in), free(w), free(b), free(dy);
}

static void test_threads_dense(int B, int I, int O) {
    float *in = falloc((int64_t)B * I), *w = falloc((int64_t)O * I), *b = falloc(O), *dy = falloc((int64_t)B * O);
    float *out[2], *din[2], *dw[2], *db[2];
    fill(in, (int64_t)B * I, -1, 1);
    fill(w, (int64_t)O * I, -1, 1);
    fill(b, O, -1, 1);
    fill(dy, (int64_t)B * O, -1, 1);
    for (int t = 0; t < 2; t++) {
        out[t] = falloc((int64_t)B * O), din[t] = falloc((int64_t)B * I), dw[t] = falloc((int64_t)O * I),
        db[t] = falloc(O);
        omp_set_num_threads(t + 1);
        ref_dense_forward(out[t], in, w, b, B, I, O);
        ref_dense_backward(din[t], dw[t], db[t], dy, in, w, B, I, O);
    }
    omp_set_num_threads(2);
    CHECK(memcmp(out[0], out[1], sizeof(float) * B * O) == 0 && memcmp(din[0], din[1], sizeof(float) * B * I) == 0 &&
              memcmp(dw[0], dw[1], sizeof(float) * O * I) == 0 && memcmp(db[0], db[1], sizeof(float) * O) == 0,
          "dense %dx%dx%d: 1 and 2 threads differ", B, I, O);
    for (int t = 0; t < 2; t++) free(out[t]), free(din[t]), free(dw[t]), free(db[t]);
    free(in), free(w), free(b), free(dy);
}

static void test_threads_pool(void) {
    nn_pool_shape s;
    nn_pool_shape_init(&s, 8, 32, 16, 16, 3, 1, 1);
    const int64_t nin = 8 * 32 * 16 * 16, nout = nin;
    float *in = falloc(nin), *dy = falloc(nout), *out[2][2], *din[2][2];
    int32_t *am[2];
    fill(in, nin, -1, 1);
    fill(dy, nout, -1, 1);
    for (int t = 0; t < 2; t++) {
        am[t] = calloc((size_t)nout, sizeof(int32_t));
        for (int k = 0; k < 2; k++) out[t][k] = falloc(nout), din[t][k] = falloc(nin);
        omp_set_num_threads(t + 1);
        ref_maxpool_forward(out[t][0], am[t], in, &s);
        ref_maxpool_backward(din[t][0], dy, am[t], &s);
        ref_avgpool_forward(out[t][1], in, &s);
        ref_avgpool_backward(din[t][1], dy, &s);
    }
    omp_set_num_threads(2);
    int same = memcmp(am[0], am[1], sizeof(int32_t) * nout) == 0;
    for (int k = 0; k < 2; k++)
        same &= memcmp(out[0][k], out[1][k], sizeof(float) * nout) == 0 &&
                memcmp(din[0][k], din[1][k], sizeof(float) * nin) == 0;
    CHECK(same, "pooling: 1 and 2 threads differ");
    for (int t = 0; t < 2; t++) {
        free(am[t]);
        for (int k = 0; k < 2; k++) free(out[t][k]), free(din[t][k]);
    }
    free(in), free(dy);
}

int main(void) {
    omp_set_num_threads(2);

    test_dense(3, 8, 4);   /* I a multiple of the dot product's 8 lanes */
    test_dense(5, 37, 11); /* lanes plus a tail */
    test_dense(2, 3, 1);   /* tail only */

    test_conv_shape();
    test_conv(2, 2, 5, 7, 3, 3, 1, 1); /* 3x3, padding, non-square */
    test_conv(2, 3, 4, 6, 2, 1, 1, 0); /* 1x1 */
    test_conv(1, 2, 5, 5, 2, 1, 2, 0); /* 1x1 stride 2 */
    test_conv(1, 2, 7, 6, 3, 3, 2, 1); /* stride 2 and padding */
    test_conv(2, 1, 9, 8, 2, 5, 2, 2); /* 5x5 stride 2 pad 2 */
    test_conv(1, 2, 6, 5, 2, 3, 3, 0); /* stride 3: some inputs unused */
    test_conv(1, 1, 3, 4, 2, 3, 1, 2); /* pad 2 on a 3x3 kernel: rows of pure padding */
    test_conv(2, 1, 12, 12, 3, 5, 1, 0); /* LeNet-like */
    /* more than one im2col tile: 36 taps > 32, 323 positions > 256 (a tile edge mid-row) */
    test_conv(1, 4, 19, 17, 2, 3, 1, 1);
    test_conv(1, 3, 36, 31, 2, 3, 2, 1); /* 288 positions, stride 2 */

    test_pool_shape();
    test_maxpool_rules();
    test_pool(0, 2, 2, 6, 5, 2, 2, 0);
    test_pool(0, 1, 2, 7, 6, 3, 2, 1);
    test_pool(0, 1, 1, 5, 5, 3, 1, 1);
    test_pool(0, 1, 2, 4, 7, 4, 3, 2);
    test_pool(1, 1, 2, 5, 6, 3, 2, 1);
    test_pool(1, 2, 1, 4, 4, 2, 2, 0);
    test_pool(1, 1, 1, 5, 5, 3, 1, 1);

    test_losses();
    test_dropout();

    test_threads_conv(8, 3, 12, 10, 5, 3, 1, 1);
    test_threads_conv(8, 4, 13, 11, 6, 5, 2, 2);
    test_threads_conv(16, 1, 28, 28, 6, 5, 1, 0); /* LeNet's first conv */
    test_threads_dense(16, 100, 30);
    test_threads_dense(64, 400, 120);
    test_threads_pool();

    return check_summary("test_layers_ref");
}
