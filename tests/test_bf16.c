/* test_bf16.c — the bf16 speed mode (--precision bf16, actlab_net_options.precision).
 *
 * Convolution layer by layer: a bf16 convolution equals the f32 reference run on inputs
 * rounded to bf16 (round to nearest even), to f32 accuracy, since a product of two bf16
 * values is exact in f32 and oneDNN sums in f32: so the mode rounds src, weights and
 * diff_dst and nothing else (dst, diff_src, diff_weights and diff_bias stay f32, and the
 * gradients still accumulate into dw/db). Against the reference on the unrounded inputs it
 * is within bf16's error (~1e-2 relative) and not bit-identical. The speed mode keeps f32
 * Winograd where that is faster (256 channels and more), bit for bit.
 *
 * Whole nets (a residual net with batch norm whose activations are kept channel-blocked,
 * and a LeNet-like one with plain few-channel inputs): the bf16 net's output and every
 * parameter block's gradient are within ~1e-2 (relative, by norm) of the f32 net's from the
 * same weights and batch, and differ from them (the option really does something). With
 * smooth functions: where f' jumps (ReLU's kink, a max pooling's winner) a unit whose input
 * moves across the jump changes its gradient wholly, and in these small nets an f32 net
 * whose weights moved by 1e-3 (relative) already differs from the unmoved one by 5-10 %
 * in some ReLU gradient blocks; ReLU is checked more loosely for that.
 *
 * Skipped (exit 77, CTest's SKIP_RETURN_CODE) when the CPU has no AVX512-BF16.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actlab/net.h"
#include "backend/dnnl_backend.h"
#include "check.h"
#include "nn/layers_ref.h"

#define SKIP 77

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static float urand(void) { /* uniform in [-1, 1) */
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((double)(rng >> 40) / (double)(1ull << 23) - 1.0);
}
static float *rand_buf(int64_t n) {
    float *p = malloc((size_t)n * sizeof *p);
    for (int64_t i = 0; i < n; i++) p[i] = urand();
    return p;
}
static float *copy_buf(const float *a, int64_t n) {
    float *p = malloc((size_t)n * sizeof *p);
    memcpy(p, a, (size_t)n * sizeof *p);
    return p;
}

/* f32 -> bf16 -> f32, round to nearest even (finite inputs), as oneDNN's reorder does. */
static float bf16_round(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    u += 0x7fffu + ((u >> 16) & 1u);
    u &= 0xffff0000u;
    memcpy(&x, &u, sizeof x);
    return x;
}
static float *rounded(const float *a, int64_t n) {
    float *p = malloc((size_t)n * sizeof *p);
    for (int64_t i = 0; i < n; i++) p[i] = bf16_round(a[i]);
    return p;
}

/* ||a - b|| / ||b|| */
static double rel_err(const float *a, const float *b, int64_t n) {
    double d = 0, r = 0;
    for (int64_t i = 0; i < n; i++) d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]), r += (double)b[i] * b[i];
    return r > 0 ? sqrt(d / r) : sqrt(d);
}

/* Every element within f32 summation error of want: rtol 1e-5 plus a floor growing like
 * sqrt(n) for a sum of n products of values in [-1, 1] (as test_dnnl.c). */
static void compare_tight(const char *what, const char *tensor, const float *got, const float *want, int64_t n,
                          int64_t terms) {
    double atol = 2e-6 * sqrt((double)terms);
    int64_t bad = 0, worst = 0;
    double worst_d = -1;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (!check_close(got[i], want[i], 1e-5, atol)) bad++;
        if (d > worst_d) worst_d = d, worst = i;
    }
    CHECK(bad == 0, "%s %s vs the f32 reference on bf16-rounded inputs: %lld of %lld off; worst [%lld] %.9g vs %.9g",
          what, tensor, (long long)bad, (long long)n, (long long)worst, got[worst], want[worst]);
}

/* One convolution in bf16 against the reference, with plain layouts at the interface. */
static void conv_case(int B, int C, int H, int W, int O, int K, int stride, int pad, int bias) {
    nn_conv_shape s;
    if (nn_conv_shape_init(&s, B, C, H, W, O, K, stride, pad)) {
        CHECK(0, "bad test shape");
        return;
    }
    char what[128], err[512];
    snprintf(what, sizeof what, "bf16 conv %d->%d %dx%d s%d p%d on %dx%dx%dx%d", C, O, K, K, stride, pad, B, C, H, W);
    nn_dnnl_opts o = {.precision = NN_DNNL_BF16};
    nn_dnnl_conv *c = nn_dnnl_conv_new_opts(&s, bias, &o, err, sizeof err);
    CHECK(c != NULL, "%s: %s", what, err);
    if (!c) return;
    const char *info = nn_dnnl_conv_info(c);
    CHECK(strstr(info, "fwd jit_bf16") && strstr(info, "bwd_data jit_bf16") && strstr(info, "bwd_weights") &&
              strstr(info, "src bf16:") && strstr(info, "wei bf16:") && strstr(info, "diff_dst bf16:") &&
              !strstr(info, "diff_wei bf16") && !strstr(info, "diff_src bf16") && !strstr(info, "ref"),
          "%s: info should name oneDNN's bf16 kernels, bf16 inputs and f32 results: %s", what, info);
    int64_t nin = (int64_t)B * C * H * W, nout = (int64_t)B * O * s.OH * s.OW, nw = (int64_t)O * C * K * K;
    float *in = rand_buf(nin), *w = rand_buf(nw), *b = rand_buf(O), *dout = rand_buf(nout);
    float *dw0 = rand_buf(nw), *db0 = rand_buf(O);
    float *out = malloc(sizeof(float) * (size_t)nout), *din = malloc(sizeof(float) * (size_t)nin);
    float *dw = copy_buf(dw0, nw), *db = copy_buf(db0, O);
    CHECK(nn_dnnl_conv_forward(c, out, in, w, b) == 0, "%s forward: %s", what, nn_dnnl_conv_error(c));
    CHECK(nn_dnnl_conv_backward(c, din, dw, db, dout, in, w) == 0, "%s backward: %s", what, nn_dnnl_conv_error(c));

    /* the reference on the rounded inputs (bias, and the gradients accumulated onto, stay f32) */
    float *in_r = rounded(in, nin), *w_r = rounded(w, nw), *dout_r = rounded(dout, nout);
    float *out_r = malloc(sizeof(float) * (size_t)nout), *din_r = malloc(sizeof(float) * (size_t)nin);
    float *dw_r = copy_buf(dw0, nw), *db_r = copy_buf(db0, O);
    ref_conv2d_forward(out_r, in_r, w_r, bias ? b : NULL, &s);
    ref_conv2d_backward(din_r, dw_r, bias ? db_r : NULL, dout_r, in_r, w_r, &s);
    compare_tight(what, "out", out, out_r, nout, (int64_t)C * K * K);
    compare_tight(what, "din", din, din_r, nin, (int64_t)O * K * K);
    compare_tight(what, "dw", dw, dw_r, nw, (int64_t)B * s.OH * s.OW);
    if (bias) compare_tight(what, "db", db, db_r, O, (int64_t)B * s.OH * s.OW);

    /* the reference on the inputs as given: bf16's error, not f32's */
    float *out_f = malloc(sizeof(float) * (size_t)nout), *din_f = malloc(sizeof(float) * (size_t)nin);
    float *dw_f = calloc((size_t)nw, sizeof(float)), *db_f = calloc((size_t)O, sizeof(float));
    ref_conv2d_forward(out_f, in, w, bias ? b : NULL, &s);
    ref_conv2d_backward(din_f, dw_f, bias ? db_f : NULL, dout, in, w, &s);
    for (int64_t i = 0; i < nw; i++) dw[i] -= dw0[i]; /* this call's gradient only */
    double eo = rel_err(out, out_f, nout), ed = rel_err(din, din_f, nin), ew = rel_err(dw, dw_f, nw);
    CHECK(eo < 1e-2 && ed < 1e-2 && ew < 1e-2, "%s vs f32: relative errors out %.2g, din %.2g, dw %.2g (want < 1e-2)",
          what, eo, ed, ew);
    CHECK(eo > 1e-5 && ed > 1e-5 && ew > 1e-5, "%s vs f32: relative errors out %.2g, din %.2g, dw %.2g: bf16 rounds",
          what, eo, ed, ew);
    if (getenv("ACTLAB_TEST_VERBOSE"))
        printf("%s: vs f32 out %.2g din %.2g dw %.2g; %s\n", what, eo, ed, ew, info);

    nn_dnnl_conv_free(c);
    free(in), free(w), free(b), free(dout), free(dw0), free(db0), free(out), free(din), free(dw), free(db);
    free(in_r), free(w_r), free(dout_r), free(out_r), free(din_r), free(dw_r), free(db_r);
    free(out_f), free(din_f), free(dw_f), free(db_f);
}

/* The speed mode leaves f32 Winograd where it beats bf16 (3x3 stride 1, >= 256 channels in
 * and out): f32 there, bit for bit, and saying so; NN_DNNL_BF16_ALL takes bf16 anyway. */
static void kept_f32_case(void) {
    nn_conv_shape s;
    nn_conv_shape_init(&s, 2, 256, 4, 4, 256, 3, 1, 1);
    char err[512];
    nn_dnnl_opts of = {0}, ob = {.precision = NN_DNNL_BF16}, oa = {.precision = NN_DNNL_BF16_ALL};
    nn_dnnl_conv *f = nn_dnnl_conv_new_opts(&s, 0, &of, err, sizeof err), *b = nn_dnnl_conv_new_opts(&s, 0, &ob, err, sizeof err),
                 *a = nn_dnnl_conv_new_opts(&s, 0, &oa, err, sizeof err);
    CHECK(f && b && a, "256->256 3x3 on 4x4: %s", err);
    if (f && b && a) {
        CHECK(!strncmp(nn_dnnl_conv_info(b), "f32 (bf16 is slower here", 24) && strstr(nn_dnnl_conv_info(b), "wino") &&
                  !strstr(nn_dnnl_conv_info(b), "bf16:"),
              "bf16 mode, 256->256: f32 Winograd, said so: %s", nn_dnnl_conv_info(b));
        CHECK(strstr(nn_dnnl_conv_info(a), "jit_bf16") != NULL, "bf16 everywhere, 256->256: %s", nn_dnnl_conv_info(a));
        int64_t nin = 2 * 256 * 16, nw = 256 * 256 * 9;
        float *in = rand_buf(nin), *w = rand_buf(nw), *o1 = malloc(sizeof(float) * (size_t)nin),
              *o2 = malloc(sizeof(float) * (size_t)nin), *o3 = malloc(sizeof(float) * (size_t)nin);
        CHECK(nn_dnnl_conv_forward(f, o1, in, w, NULL) == 0 && nn_dnnl_conv_forward(b, o2, in, w, NULL) == 0 &&
                  nn_dnnl_conv_forward(a, o3, in, w, NULL) == 0,
              "256->256 forward");
        CHECK(memcmp(o1, o2, sizeof(float) * (size_t)nin) == 0, "bf16 mode, 256->256: not f32's bits");
        CHECK(rel_err(o3, o1, nin) > 1e-5 && rel_err(o3, o1, nin) < 1e-2, "bf16 everywhere, 256->256: %.3g from f32",
              rel_err(o3, o1, nin));
        free(in), free(w), free(o1), free(o2), free(o3);
    }
    nn_dnnl_conv_free(f);
    nn_dnnl_conv_free(b);
    nn_dnnl_conv_free(a);
}

/* ---- whole nets ---- */

/* Residual blocks with batch norm on 16 and 32 channels (activations channel-blocked,
 * nChw16c, between the layers), a strided projection shortcut, global pooling, dense. */
static const char *res_net =
    "[net]\nchannels=3\nheight=8\nwidth=8\nclasses=5\n"
    "[conv]\nfilters=16\nsize=3\npad=1\nbatchnorm=1\nactivation=open\n"
    "[conv]\nfilters=16\nsize=3\npad=1\nbatchnorm=1\nactivation=none\n"
    "[shortcut]\nfrom=-2\nactivation=open\n"
    "[conv]\nfilters=32\nsize=3\nstride=2\npad=1\nbatchnorm=1\nactivation=open\n"
    "[conv]\nfilters=32\nsize=3\npad=1\nbatchnorm=1\nactivation=none\n"
    "[shortcut]\nfrom=-3\nactivation=open\n"
    "[globalavgpool]\n"
    "[dense]\n";

/* LeNet's pattern: few channels (plain layouts), 5x5 kernels with biases; average pooling
 * (a max pooling's winner can flip, see above). */
static const char *lenet_like =
    "[net]\nchannels=1\nheight=16\nwidth=16\nclasses=5\n"
    "[conv]\nfilters=6\nsize=5\npad=2\nactivation=open\n"
    "[avgpool]\nsize=2\n"
    "[conv]\nfilters=16\nsize=5\nactivation=open\n"
    "[avgpool]\nsize=2\n"
    "[dense]\noutputs=32\nactivation=open\n"
    "[dense]\n";

static void net_case(const char *name, const char *model, const char *act, int training, double grad_tol) {
    enum { B = 16 };
    char err[512];
    actlab_net_options o = actlab_net_options_default();
    o.max_batch = B;
    o.act = act;
    actlab_net *f = actlab_net_parse(name, model, &o, err, sizeof err);
    o.precision = ACTLAB_PRECISION_BF16;
    actlab_net *h = actlab_net_parse(name, model, &o, err, sizeof err);
    CHECK(f && h, "%s: %s", name, err);
    if (!f || !h) {
        actlab_net_free(f);
        actlab_net_free(h);
        return;
    }
    actlab_net_init(f, 11);
    actlab_net_init(h, 11);
    /* the input's size, from the model text's [net] */
    int ch = 0, hh = 0, ww = 0;
    sscanf(strstr(model, "channels="), "channels=%d", &ch);
    sscanf(strstr(model, "height="), "height=%d", &hh);
    sscanf(strstr(model, "width="), "width=%d", &ww);
    int64_t n_in = (int64_t)B * ch * hh * ww;
    float *x = malloc(sizeof(float) * (size_t)n_in);
    for (int64_t i = 0; i < n_in; i++) x[i] = actlab_noise_normal(5, 0, (uint64_t)i);
    int32_t y[B];
    for (int i = 0; i < B; i++) y[i] = i % 5;

    int rc = actlab_net_forward(f, x, B, training, 1, err, sizeof err);
    CHECK(rc == 0, "%s f32 forward: %s", name, err);
    double lf = actlab_net_loss(f, y, B, NULL);
    rc = rc || actlab_net_backward(f, B, err, sizeof err);
    int rh = actlab_net_forward(h, x, B, training, 1, err, sizeof err);
    CHECK(rh == 0, "%s bf16 forward: %s", name, err);
    double lh = actlab_net_loss(h, y, B, NULL);
    rh = rh || actlab_net_backward(h, B, err, sizeof err);
    CHECK(rc == 0 && rh == 0, "%s backward: %s", name, err);
    if (rc || rh) goto out;

    int K;
    const float *of = actlab_net_output(f, &K), *oh = actlab_net_output(h, &K);
    double eo = rel_err(oh, of, (int64_t)B * K);
    CHECK(eo < 1e-2, "%s, %s: bf16 output %.3g from f32's (relative, want < 1e-2)", name, act, eo);
    CHECK(memcmp(oh, of, sizeof(float) * (size_t)B * K) != 0, "%s: bf16 output bit-identical to f32's", name);
    CHECK(fabs(lh - lf) < 1e-2 * fabs(lf), "%s: loss bf16 %.6f, f32 %.6f", name, lh, lf);

    const float *gf = actlab_net_grads(f), *gh = actlab_net_grads(h);
    int64_t np = actlab_net_param_count(f);
    CHECK(memcmp(gh, gf, sizeof(float) * (size_t)np) != 0, "%s: bf16 gradients bit-identical to f32's", name);
    double worst = 0;
    int nb = actlab_net_param_blocks(f);
    for (int i = 0; i < nb; i++) {
        actlab_net_param_block pb = actlab_net_param_block_at(f, i);
        double e = rel_err(gh + pb.offset, gf + pb.offset, pb.n);
        if (e > worst) worst = e;
        CHECK(e < grad_tol, "%s, %s: block %d (%s of layer %d, %lld values): bf16 gradient %.3g from f32's (relative, "
              "want < %g)", name, act, i, pb.name, pb.layer, (long long)pb.n, e, grad_tol);
    }
    if (getenv("ACTLAB_TEST_VERBOSE"))
        printf("%s (%s): output %.2g, loss %.6f vs %.6f, worst gradient block %.2g\n", name, act, eo, lh, lf, worst);
out:
    free(x);
    actlab_net_free(f);
    actlab_net_free(h);
}

int main(void) {
    char why[256];
    if (nn_dnnl_bf16_check(why, sizeof why)) {
        printf("test_bf16: SKIP: %s\n", why);
        return SKIP;
    }
    conv_case(4, 1, 28, 28, 6, 5, 1, 0, 1);  /* LeNet's conv1 */
    conv_case(4, 6, 14, 14, 16, 5, 1, 0, 1); /* LeNet's conv2 */
    conv_case(2, 3, 16, 16, 32, 3, 1, 1, 0); /* a CIFAR net's first layer */
    conv_case(2, 32, 8, 8, 32, 3, 1, 1, 0);  /* 3x3 same, where f32 runs Winograd from 64 channels */
    conv_case(2, 32, 8, 8, 64, 3, 2, 1, 0);  /* strided */
    conv_case(2, 32, 8, 8, 64, 1, 2, 0, 1);  /* the 1x1 projection */
    kept_f32_case();
    net_case("res_net", res_net, "elu", 1, 2e-2);
    net_case("res_net", res_net, "swish", 1, 2e-2);
    net_case("res_net", res_net, "relu", 1, 0.3);
    net_case("lenet_like", lenet_like, "elu", 0, 2e-2);
    net_case("lenet_like", lenet_like, "relu", 0, 0.3);
    return check_summary("test_bf16");
}
