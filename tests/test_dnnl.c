/* test_dnnl.c — the oneDNN backend against the plain reference (layers_ref.h) on the
 * same random inputs: convolution (LeNet's, 3x3 pad 1 stride 1/2, 1x1, a CIFAR-sized
 * one; each with the plain layouts forced, the blocked ones forced, and the defaults:
 * per-primitive layouts, Winograd where it pays), dense (LeNet's and the MLP's, batch
 * 1/7/64), max and average pooling; forward and every backward output, with backward
 * accumulating into dw/db and overwriting din. Also: repeated calls give identical bits,
 * objects alive together share the temporary buffer correctly when it grows, Winograd
 * stays close to the direct sum, and bad shapes or oneDNN refusals give a message
 * naming the layer. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NN_DNNL_INTERNAL /* error_cases calls nn_dnnl_prim_make */
#include "backend/dnnl_backend.h"
#include "check.h"
#include "nn/layers_ref.h"

#define RTOL 1e-5
/* The absolute floor for a sum of n products of values in [-1, 1]: float rounding in a
 * different summation order grows like sqrt(n) times the terms' size. */
static double atol_for(int64_t n) { return 2e-6 * sqrt((double)n); }

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static float urand(void) { /* uniform in [-1, 1) */
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((double)(rng >> 40) / (double)(1ull << 23) - 1.0);
}
static float *rand_buf(int64_t n) {
    float *p = malloc((size_t)(n ? n : 1) * sizeof *p);
    for (int64_t i = 0; i < n; i++) p[i] = urand();
    return p;
}
static float *copy_buf(const float *a, int64_t n) {
    float *p = malloc((size_t)n * sizeof *p);
    memcpy(p, a, (size_t)n * sizeof *p);
    return p;
}
static float *nan_buf(int64_t n) {
    float *p = malloc((size_t)n * sizeof *p);
    for (int64_t i = 0; i < n; i++) p[i] = NAN;
    return p;
}

/* One CHECK per tensor: every element within tolerance; the worst one is reported. */
static void compare(const char *layer, const char *tensor, const float *got, const float *want, int64_t n,
                    double atol) {
    int64_t bad = 0, worst = 0;
    double worst_excess = -1;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]), lim = RTOL * fabs(want[i]) + atol;
        if (!check_close(got[i], want[i], RTOL, atol) || isnan(got[i])) bad++;
        if (isnan(got[i]) || d / lim > worst_excess) worst_excess = isnan(got[i]) ? INFINITY : d / lim, worst = i;
    }
    CHECK(bad == 0, "%s %s: %lld of %lld elements off; worst [%lld] got %.9g want %.9g (diff %.3g, %.2fx tolerance)",
          layer, tensor, (long long)bad, (long long)n, (long long)worst, got[worst], want[worst],
          fabs((double)got[worst] - want[worst]), worst_excess);
}

static int bits_equal(const float *a, const float *b, int64_t n) { return memcmp(a, b, (size_t)n * sizeof *a) == 0; }

/* ---- convolution ---- */

static void conv_case(int B, int C, int H, int W, int O, int K, int stride, int pad, int bias, nn_dnnl_format fmt,
                      nn_dnnl_conv_alg alg) {
    nn_conv_shape s;
    if (nn_conv_shape_init(&s, B, C, H, W, O, K, stride, pad)) {
        CHECK(0, "bad test shape");
        return;
    }
    char name[160], err[512];
    const char *how = fmt == NN_DNNL_FMT_PLAIN     ? "plain"
                      : fmt == NN_DNNL_FMT_BLOCKED ? "blocked"
                      : alg == NN_DNNL_ALG_AUTO    ? "convolution_auto"
                                                   : "defaults";
    snprintf(name, sizeof name, "conv %d->%d %dx%d s%d p%d on %dx%dx%dx%d%s [%s]", C, O, K, K, stride, pad, B, C, H,
             W, bias ? "" : " no bias", how);
    nn_dnnl_opts o = {.format = fmt, .alg = alg};
    nn_dnnl_conv *c = nn_dnnl_conv_new_opts(&s, bias, &o, err, sizeof err);
    CHECK(c != NULL, "%s: %s", name, err);
    if (!c) return;
    int64_t nin = (int64_t)B * C * H * W, nout = (int64_t)B * O * s.OH * s.OW, nw = (int64_t)O * C * K * K;
    float *in = rand_buf(nin), *w = rand_buf(nw), *b = rand_buf(O), *dout = rand_buf(nout);
    float *dw0 = rand_buf(nw), *db0 = rand_buf(O); /* gradients accumulate onto these */
    float *out_r = nan_buf(nout), *out_d = nan_buf(nout), *din_r = nan_buf(nin), *din_d = nan_buf(nin);
    float *dw_r = copy_buf(dw0, nw), *dw_d = copy_buf(dw0, nw), *db_r = copy_buf(db0, O), *db_d = copy_buf(db0, O);

    ref_conv2d_forward(out_r, in, w, bias ? b : NULL, &s);
    ref_conv2d_backward(din_r, dw_r, bias ? db_r : NULL, dout, in, w, &s);
    int rc = nn_dnnl_conv_forward(c, out_d, in, w, b);
    CHECK(rc == 0, "%s forward: %s", name, nn_dnnl_conv_error(c));
    rc = nn_dnnl_conv_backward(c, din_d, dw_d, db_d, dout, in, w);
    CHECK(rc == 0, "%s backward: %s", name, nn_dnnl_conv_error(c));
    compare(name, "out", out_d, out_r, nout, atol_for((int64_t)C * K * K));
    compare(name, "din", din_d, din_r, nin, atol_for((int64_t)O * K * K));
    compare(name, "dw", dw_d, dw_r, nw, atol_for((int64_t)B * s.OH * s.OW));
    if (bias) compare(name, "db", db_d, db_r, O, atol_for((int64_t)B * s.OH * s.OW));
    else CHECK(bits_equal(db_d, db0, O), "%s: db touched without bias", name);

    /* Again on the same inputs: bit-identical (same thread count); din NULL skips
     * backward data and leaves the weight gradients as they would be. */
    float *out2 = nan_buf(nout), *dw2 = copy_buf(dw0, nw), *db2 = copy_buf(db0, O), *din2 = nan_buf(nin);
    float *dw3 = copy_buf(dw0, nw), *db3 = copy_buf(db0, O);
    rc = nn_dnnl_conv_forward(c, out2, in, w, b) || nn_dnnl_conv_backward(c, din2, dw2, db2, dout, in, w) ||
         nn_dnnl_conv_backward(c, NULL, dw3, db3, dout, in, w);
    CHECK(rc == 0, "%s repeat: %s", name, nn_dnnl_conv_error(c));
    CHECK(bits_equal(out2, out_d, nout) && bits_equal(din2, din_d, nin) && bits_equal(dw2, dw_d, nw) &&
              bits_equal(db2, db_d, O),
          "%s: a second call on the same inputs gives different bits", name);
    CHECK(bits_equal(dw3, dw_d, nw) && bits_equal(db3, db_d, O), "%s: din = NULL changes dw/db", name);
    if (nn_dnnl_conv_info(c)[0] == 0) CHECK(0, "%s: empty info", name);
    if (getenv("ACTLAB_TEST_VERBOSE")) printf("%s: %s\n", name, nn_dnnl_conv_info(c));

    nn_dnnl_conv_free(c);
    free(in), free(w), free(b), free(dout), free(dw0), free(db0), free(out_r), free(out_d), free(din_r), free(din_d);
    free(dw_r), free(dw_d), free(db_r), free(db_d), free(out2), free(dw2), free(db2), free(din2), free(dw3), free(db3);
}

/* Winograd (or whatever convolution_auto picks) on a shape where oneDNN 2.6 has it: close
 * to the direct sum, with a looser tolerance (its transforms round differently). */
static void conv_winograd_case(void) {
    nn_conv_shape s;
    nn_conv_shape_init(&s, 2, 16, 8, 8, 32, 3, 1, 1);
    char err[512];
    nn_dnnl_opts o = {.format = NN_DNNL_FMT_BLOCKED, .alg = NN_DNNL_ALG_WINOGRAD};
    nn_dnnl_conv *c = nn_dnnl_conv_new_opts(&s, 1, &o, err, sizeof err);
    CHECK(c != NULL, "winograd (or its fallback) must be created: %s", err);
    if (!c) return;
    int64_t nin = 2 * 16 * 64, nout = 2 * 32 * 64, nw = 32 * 16 * 9;
    float *in = rand_buf(nin), *w = rand_buf(nw), *b = rand_buf(32), *dout = rand_buf(nout);
    float *out_r = nan_buf(nout), *out_d = nan_buf(nout), *din_r = nan_buf(nin), *din_d = nan_buf(nin);
    float *dw_r = calloc((size_t)nw, 4), *dw_d = calloc((size_t)nw, 4), *db_r = calloc(32, 4), *db_d = calloc(32, 4);
    ref_conv2d_forward(out_r, in, w, b, &s);
    ref_conv2d_backward(din_r, dw_r, db_r, dout, in, w, &s);
    CHECK(nn_dnnl_conv_forward(c, out_d, in, w, b) == 0 &&
              nn_dnnl_conv_backward(c, din_d, dw_d, db_d, dout, in, w) == 0,
          "winograd: %s", nn_dnnl_conv_error(c));
    double md[4] = {0};
    const float *g[4] = {out_d, din_d, dw_d, db_d}, *r[4] = {out_r, din_r, dw_r, db_r};
    int64_t n[4] = {nout, nin, nw, 32};
    for (int t = 0; t < 4; t++)
        for (int64_t i = 0; i < n[t]; i++) {
            double d = fabs((double)g[t][i] - r[t][i]) / (1 + fabs(r[t][i]));
            if (!(d <= md[t])) md[t] = d;
        }
    CHECK(md[0] < 1e-4 && md[1] < 1e-4 && md[2] < 1e-4 && md[3] < 1e-4,
          "winograd vs reference: max diff/(1+|ref|) out %.3g din %.3g dw %.3g db %.3g (%s)", md[0], md[1], md[2],
          md[3], nn_dnnl_conv_info(c));
    if (getenv("ACTLAB_TEST_VERBOSE"))
        printf("winograd 16->32 3x3: %s; max diff/(1+|ref|) out %.3g din %.3g dw %.3g db %.3g\n", nn_dnnl_conv_info(c),
               md[0], md[1], md[2], md[3]);
    nn_dnnl_conv_free(c);
    free(in), free(w), free(b), free(dout), free(out_r), free(out_d), free(din_r), free(din_d);
    free(dw_r), free(dw_d), free(db_r), free(db_d);
}

/* ---- dense ---- */

static void dense_case(int B, int I, int O, int bias, nn_dnnl_format fmt) {
    char name[96], err[512];
    snprintf(name, sizeof name, "dense %d->%d batch %d%s [%s]", I, O, B, bias ? "" : " no bias",
             fmt == NN_DNNL_FMT_BLOCKED ? "blocked" : fmt == NN_DNNL_FMT_PLAIN ? "plain" : "auto: sgemm");
    nn_dnnl_opts o = {.format = fmt};
    nn_dnnl_dense *d = nn_dnnl_dense_new_opts(B, I, O, bias, &o, err, sizeof err);
    CHECK(d != NULL, "%s: %s", name, err);
    if (!d) return;
    int64_t nin = (int64_t)B * I, nout = (int64_t)B * O, nw = (int64_t)O * I;
    float *in = rand_buf(nin), *w = rand_buf(nw), *b = rand_buf(O), *dout = rand_buf(nout);
    float *dw0 = rand_buf(nw), *db0 = rand_buf(O);
    float *out_r = nan_buf(nout), *out_d = nan_buf(nout), *din_r = nan_buf(nin), *din_d = nan_buf(nin);
    float *dw_r = copy_buf(dw0, nw), *dw_d = copy_buf(dw0, nw), *db_r = copy_buf(db0, O), *db_d = copy_buf(db0, O);
    ref_dense_forward(out_r, in, w, bias ? b : NULL, B, I, O);
    ref_dense_backward(din_r, dw_r, bias ? db_r : NULL, dout, in, w, B, I, O);
    CHECK(nn_dnnl_dense_forward(d, out_d, in, w, b) == 0, "%s forward: %s", name, nn_dnnl_dense_error(d));
    CHECK(nn_dnnl_dense_backward(d, din_d, dw_d, db_d, dout, in, w) == 0, "%s backward: %s", name,
          nn_dnnl_dense_error(d));
    compare(name, "out", out_d, out_r, nout, atol_for(I));
    compare(name, "din", din_d, din_r, nin, atol_for(O));
    compare(name, "dw", dw_d, dw_r, nw, atol_for(B));
    if (bias) compare(name, "db", db_d, db_r, O, atol_for(B));
    else CHECK(bits_equal(db_d, db0, O), "%s: db touched without bias", name);
    float *out2 = nan_buf(nout), *din2 = nan_buf(nin), *dw2 = copy_buf(dw0, nw), *db2 = copy_buf(db0, O);
    CHECK(nn_dnnl_dense_forward(d, out2, in, w, b) == 0 && nn_dnnl_dense_backward(d, din2, dw2, db2, dout, in, w) == 0,
          "%s repeat: %s", name, nn_dnnl_dense_error(d));
    CHECK(bits_equal(out2, out_d, nout) && bits_equal(din2, din_d, nin) && bits_equal(dw2, dw_d, nw) &&
              bits_equal(db2, db_d, O),
          "%s: a second call on the same inputs gives different bits", name);
    if (getenv("ACTLAB_TEST_VERBOSE")) printf("%s: %s\n", name, nn_dnnl_dense_info(d));
    nn_dnnl_dense_free(d);
    free(in), free(w), free(b), free(dout), free(dw0), free(db0), free(out_r), free(out_d), free(din_r), free(din_d);
    free(dw_r), free(dw_d), free(db_r), free(db_d), free(out2), free(din2), free(dw2), free(db2);
}

/* ---- pooling ---- */

static void pool_case(nn_dnnl_pool_kind kind, int B, int C, int H, int W, int K, int stride, int pad, int ties) {
    nn_pool_shape s;
    if (nn_pool_shape_init(&s, B, C, H, W, K, stride, pad)) {
        CHECK(0, "bad test shape");
        return;
    }
    char name[128], err[512];
    snprintf(name, sizeof name, "%spool %dx%d s%d p%d on %dx%dx%dx%d%s", kind == NN_DNNL_POOL_MAX ? "max" : "avg", K,
             K, stride, pad, B, C, H, W, ties ? " (many ties)" : "");
    nn_dnnl_pool *p = nn_dnnl_pool_new(&s, kind, err, sizeof err);
    CHECK(p != NULL, "%s: %s", name, err);
    if (!p) return;
    int64_t nin = (int64_t)B * C * H * W, nout = (int64_t)B * C * s.OH * s.OW;
    float *in = rand_buf(nin), *dout = rand_buf(nout);
    if (ties)
        for (int64_t i = 0; i < nin; i++) in[i] = floorf(in[i] * 1.5f); /* -2 .. 1 */
    float *out_r = nan_buf(nout), *out_d = nan_buf(nout), *din_r = nan_buf(nin), *din_d = nan_buf(nin);
    int32_t *am = malloc((size_t)nout * sizeof *am);
    if (kind == NN_DNNL_POOL_MAX) {
        ref_maxpool_forward(out_r, am, in, &s);
        ref_maxpool_backward(din_r, dout, am, &s);
    } else {
        ref_avgpool_forward(out_r, in, &s);
        ref_avgpool_backward(din_r, dout, &s);
    }
    CHECK(nn_dnnl_pool_forward(p, out_d, in) == 0, "%s forward: %s", name, nn_dnnl_pool_error(p));
    CHECK(nn_dnnl_pool_backward(p, din_d, dout) == 0, "%s backward: %s", name, nn_dnnl_pool_error(p));
    double a = kind == NN_DNNL_POOL_MAX ? 0 : atol_for((int64_t)K * K);
    compare(name, "out", out_d, out_r, nout, a);
    /* max: din sums the gradients of the windows an element won (overlapping windows) */
    compare(name, "din", din_d, din_r, nin, kind == NN_DNNL_POOL_MAX ? atol_for(K * K) : a);
    if (getenv("ACTLAB_TEST_VERBOSE")) printf("%s: %s\n", name, nn_dnnl_pool_info(p));
    nn_dnnl_pool_free(p);
    free(in), free(dout), free(out_r), free(out_d), free(din_r), free(din_d), free(am);
}

/* ---- the shared temporary buffer ---- */

/* A small object computes, a bigger one grows the shared buffer (moving it), the small one
 * computes again (its memories re-pointed): same bits; objects freed out of order. */
static void shared_temp_case(void) {
    char err[512];
    nn_conv_shape s1, s2;
    nn_conv_shape_init(&s1, 2, 16, 8, 8, 32, 3, 1, 1);
    nn_conv_shape_init(&s2, 4, 32, 16, 16, 32, 3, 1, 1);
    nn_dnnl_opts o = {.format = NN_DNNL_FMT_BLOCKED, .alg = NN_DNNL_ALG_DIRECT};
    nn_dnnl_conv *a = nn_dnnl_conv_new_opts(&s1, 1, &o, err, sizeof err);
    CHECK(a != NULL, "shared temp: %s", err);
    if (!a) return;
    int64_t nin = 2 * 16 * 64, nout = 2 * 32 * 64, nw = 32 * 16 * 9;
    float *in = rand_buf(nin), *w = rand_buf(nw), *b = rand_buf(32), *dout = rand_buf(nout);
    float *out1 = nan_buf(nout), *out2 = nan_buf(nout), *din1 = nan_buf(nin), *din2 = nan_buf(nin);
    float *dw1 = calloc((size_t)nw, 4), *dw2 = calloc((size_t)nw, 4), *db1 = calloc(32, 4), *db2 = calloc(32, 4);
    int rc = nn_dnnl_conv_forward(a, out1, in, w, b) || nn_dnnl_conv_backward(a, din1, dw1, db1, dout, in, w);
    nn_dnnl_conv *big = nn_dnnl_conv_new_opts(&s2, 1, &o, err, sizeof err);
    nn_dnnl_pool *p = nn_dnnl_pool_new(&(nn_pool_shape){2, 32, 8, 8, 2, 2, 0, 4, 4}, NN_DNNL_POOL_MAX, err, sizeof err);
    CHECK(big && p, "shared temp: %s", err);
    nn_dnnl_conv_free(big); /* the buffer stays: a and p still hold it */
    rc = rc || nn_dnnl_conv_forward(a, out2, in, w, b) || nn_dnnl_conv_backward(a, din2, dw2, db2, dout, in, w);
    CHECK(rc == 0, "shared temp: %s", nn_dnnl_conv_error(a));
    CHECK(bits_equal(out1, out2, nout) && bits_equal(din1, din2, nin) && bits_equal(dw1, dw2, nw) &&
              bits_equal(db1, db2, 32),
          "after the shared buffer moved, the same inputs give different bits");
    nn_dnnl_conv_free(a);
    nn_dnnl_pool_free(p);
    free(in), free(w), free(b), free(dout), free(out1), free(out2), free(din1), free(din2);
    free(dw1), free(dw2), free(db1), free(db2);
}

/* ---- errors ---- */

static void error_cases(void) {
    char err[512] = "";
    nn_conv_shape s;
    nn_conv_shape_init(&s, 128, 6, 14, 14, 16, 5, 1, 0);
    s.OH = 11; /* inconsistent */
    CHECK(nn_dnnl_conv_new(&s, 1, err, sizeof err) == NULL &&
              strstr(err, "conv 6->16 5x5 stride 1 pad 0 on 128x6x14x14") && strstr(err, "inconsistent"),
          "bad conv shape names the layer: '%s'", err);
    err[0] = 0;
    CHECK(nn_dnnl_dense_new(0, 400, 120, 1, err, sizeof err) == NULL && strstr(err, "dense 400->120"),
          "bad dense shape named: '%s'", err);
    /* a window larger than the padded input: C's division would make the output 1 wide */
    nn_pool_shape ps = {.B = 1, .C = 1, .H = 1, .W = 1, .K = 3, .stride = 2, .pad = 0, .OH = 1, .OW = 1};
    err[0] = 0;
    nn_dnnl_pool *p = nn_dnnl_pool_new(&ps, NN_DNNL_POOL_MAX, err, sizeof err);
    CHECK(p == NULL && strstr(err, "maxpool 3x3 stride 2 pad 0 on 1x1x1x1"), "window larger than the input: '%s'",
          err);
    nn_dnnl_pool_free(p);
    /* what oneDNN itself refuses comes back with the layer, the stage, the call and the
     * status: an f32 convolution writing u8 has no implementation for training */
    dnnl_memory_desc_t src, wei, dst;
    dnnl_dims_t ds = {2, 8, 6, 6}, dw = {4, 8, 3, 3}, dd = {2, 4, 4, 4}, st = {1, 1}, pad = {0, 0};
    dnnl_memory_desc_init_by_tag(&src, 4, ds, dnnl_f32, dnnl_nchw);
    dnnl_memory_desc_init_by_tag(&wei, 4, dw, dnnl_f32, dnnl_oihw);
    dnnl_memory_desc_init_by_tag(&dst, 4, dd, dnnl_u8, dnnl_nchw);
    dnnl_convolution_desc_t cd;
    CHECK(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training, dnnl_convolution_direct, &src, &wei, NULL,
                                             &dst, st, pad, pad) == dnnl_success,
          "desc init");
    nn_dnnl_prim pr;
    err[0] = 0;
    CHECK(nn_dnnl_prim_make(&pr, &cd, NULL, NULL, "conv 8->4 3x3 stride 1 pad 0 on 2x8x6x6", "forward", err,
                            sizeof err) == -1 &&
              !strcmp(err, "conv 8->4 3x3 stride 1 pad 0 on 2x8x6x6: forward: dnnl_primitive_desc_create failed: "
                           "unimplemented"),
          "oneDNN's refusal named: '%s'", err);
    nn_dnnl_prim_free(&pr);
}

int main(void) {
    if (getenv("ACTLAB_TEST_VERBOSE")) printf("%s\n", nn_dnnl_version());
    /* every shape with each layout forced (direct) and with the defaults (per-primitive
     * layouts, Winograd where it pays) */
    static const nn_dnnl_format fmts[] = {NN_DNNL_FMT_PLAIN, NN_DNNL_FMT_BLOCKED, NN_DNNL_FMT_AUTO};
    for (int f = 0; f < 3; f++) {
        nn_dnnl_format fmt = fmts[f];
        nn_dnnl_conv_alg alg = fmt == NN_DNNL_FMT_AUTO ? NN_DNNL_ALG_DEFAULT : NN_DNNL_ALG_DIRECT;
        conv_case(4, 1, 28, 28, 6, 5, 1, 2, 1, fmt, alg);   /* LeNet conv1 */
        conv_case(4, 6, 14, 14, 16, 5, 1, 0, 1, fmt, alg);  /* LeNet conv2 */
        conv_case(4, 3, 8, 8, 16, 3, 1, 1, 1, fmt, alg);    /* 3x3 pad 1 */
        conv_case(4, 3, 8, 8, 16, 3, 2, 1, 1, fmt, alg);    /* stride 2 */
        conv_case(4, 16, 8, 8, 32, 3, 1, 1, 1, fmt, alg);
        conv_case(4, 16, 8, 8, 32, 3, 2, 1, 0, fmt, alg);
        conv_case(2, 3, 32, 32, 16, 3, 1, 1, 1, fmt, alg);  /* CIFAR-like */
        conv_case(2, 16, 32, 32, 32, 3, 2, 1, 1, fmt, alg);
        conv_case(4, 16, 8, 8, 32, 1, 1, 0, 1, fmt, alg);   /* 1x1 */
        conv_case(4, 32, 8, 8, 16, 1, 2, 0, 0, fmt, alg);   /* 1x1 stride 2 (a ResNet shortcut) */
        conv_case(3, 5, 9, 7, 7, 3, 2, 1, 1, fmt, alg);     /* odd sizes: floor-mode right edge */
    }
    /* wide enough for the default Winograd; the reference tolerance still holds */
    conv_case(2, 64, 8, 8, 64, 3, 1, 1, 1, NN_DNNL_FMT_AUTO, NN_DNNL_ALG_DEFAULT);
    conv_case(2, 64, 8, 8, 64, 3, 1, 1, 1, NN_DNNL_FMT_AUTO, NN_DNNL_ALG_AUTO);
    conv_winograd_case();

    static const int dims[][2] = {{400, 120}, {84, 10}, {784, 128}};
    static const int batches[] = {1, 7, 64};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            dense_case(batches[j], dims[i][0], dims[i][1], 1, NN_DNNL_FMT_PLAIN);
            dense_case(batches[j], dims[i][0], dims[i][1], 1, NN_DNNL_FMT_AUTO); /* the net's: sgemm calls */
        }
    dense_case(7, 120, 84, 0, NN_DNNL_FMT_PLAIN);
    dense_case(7, 120, 84, 0, NN_DNNL_FMT_AUTO);
    dense_case(64, 128, 128, 1, NN_DNNL_FMT_AUTO);
    dense_case(64, 400, 120, 1, NN_DNNL_FMT_BLOCKED);
    dense_case(7, 84, 10, 1, NN_DNNL_FMT_BLOCKED);

    pool_case(NN_DNNL_POOL_MAX, 4, 6, 28, 28, 2, 2, 0, 0);  /* LeNet pool1 */
    pool_case(NN_DNNL_POOL_MAX, 4, 16, 10, 10, 2, 2, 0, 0); /* LeNet pool2 */
    pool_case(NN_DNNL_POOL_MAX, 4, 16, 9, 9, 2, 2, 0, 0);   /* odd size: last row/column dropped */
    pool_case(NN_DNNL_POOL_MAX, 4, 8, 15, 15, 3, 2, 1, 0);  /* 3x3 s2 pad 1, overlapping windows */
    pool_case(NN_DNNL_POOL_MAX, 4, 8, 16, 16, 3, 2, 1, 0);
    pool_case(NN_DNNL_POOL_MAX, 4, 8, 16, 16, 3, 2, 1, 1);  /* ties: the first in row-major order wins */
    pool_case(NN_DNNL_POOL_MAX, 4, 6, 28, 28, 2, 2, 0, 1);
    pool_case(NN_DNNL_POOL_AVG, 4, 6, 28, 28, 2, 2, 0, 0);
    pool_case(NN_DNNL_POOL_AVG, 4, 16, 9, 9, 2, 2, 0, 0);
    pool_case(NN_DNNL_POOL_AVG, 4, 8, 15, 15, 3, 2, 1, 0);  /* padding counted in the divisor */

    shared_temp_case();
    error_cases();
    return check_summary("test_dnnl");
}
