/*
 * builtins.c — every built-in activation function, each defined once.
 *
 * A function is one block: its double-precision reference (NAME_f, NAME_df),
 * its vector body (NAME_fv and NAME_dv or NAME_dyv, see kernel_macros.h), the
 * macro that makes its array kernels, and its catalogue entry. The table at
 * the bottom lists the entries in display order. Adding a function means
 * adding one block and one line in that table (plus its test values); nothing
 * else in the tree changes.
 *
 * Definitions follow ../shared/ACTIVATIONS.md; at a kink the derivative
 * follows PyTorch 1.13 so results compare with it. Vector bodies are written
 * so that no unused branch turns a finite or infinite input into NaN (an
 * inf * 0 is guarded where it can occur), and a NaN input gives a NaN output.
 */
#include <math.h>
#include "kernel_macros.h"
#include "builtins.h"

#define INF INFINITY
#define SQRT1_2 0.70710678118654752440
#define SQRT2_PI 0.79788456080286535588  /* sqrt(2/pi) */
#define INV_SQRT_2PI 0.39894228040143267794
#define P(...) .nparam = (int)(sizeof((actlab_param_info[]){__VA_ARGS__}) / sizeof(actlab_param_info)), .param = {__VA_ARGS__}
#define FIXED(n, d, lo, hi, h) {n, d, lo, hi, ACTLAB_PARAM_FIXED, 0, h}
#define LEARN(n, d, lo, hi, h) {n, d, lo, hi, ACTLAB_PARAM_LEARNABLE, 0, h}
#define RANDOM(n, d, lo, hi, h) {n, d, lo, hi, ACTLAB_PARAM_RANDOM, 0, h}
#define KINKS(NAME, ...)                                                                    \
    static int NAME##_kinks(double *out, const double *p, const void *c) {                  \
        (void)p; (void)c;                                                                    \
        const double k[] = {__VA_ARGS__};                                                    \
        for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) out[i] = k[i];                  \
        return (int)(sizeof k / sizeof k[0]);                                                \
    }
/* The fields every entry fills the same way from its NAME_ functions. */
#define KERNELS_OF(NAME) .ref_f = NAME##_ref_f, .ref_df = NAME##_ref_df, \
    .forward = NAME##_forward, .backward = NAME##_backward

static double sigmoid_d(double x) { return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)); }
static double softplus_d(double x) { return fmax(x, 0) + log1p(exp(-fabs(x))); }

/* ===================== Classic saturating ("S-type") ===================== */

static double sigmoid_f(double x, const double *p) { return sigmoid_d(x); }
static double sigmoid_df(double x, const double *p) { double s = sigmoid_d(x); return s * (1 - s); }
static inline vf sigmoid_fv(vf x, const vf *P) { return vsigmoid(x); }
static inline vf sigmoid_dyv(vf y, const vf *P) { return y * (1.0f - y); }
ACT_REF(sigmoid) ACT_KERNELS_FROM_Y(sigmoid)
static const actlab_act e_sigmoid = {
    .name = "sigmoid", .aliases = "logistic", .formula = "1/(1+e^-x)", .derivative = "f(1-f)",
    .citation = "logistic function; survey (Zhang et al. 2021) eq. 1", .flags = ACTLAB_ACT_FROM_Y,
    KERNELS_OF(sigmoid)};

static double tanh_f(double x, const double *p) { return tanh(x); }
static double tanh_df(double x, const double *p) { double t = tanh(x); return 1 - t * t; }
static inline vf tanh_fv(vf x, const vf *P) { return vtanh_fast(x); }
static inline vf tanh_dyv(vf y, const vf *P) { return 1.0f - y * y; }
ACT_REF(tanh) ACT_KERNELS_FROM_Y(tanh)
static const actlab_act e_tanh = {
    .name = "tanh", .aliases = "", .formula = "(e^x-e^-x)/(e^x+e^-x)", .derivative = "1-f^2",
    .citation = "hyperbolic tangent; survey (Zhang et al. 2021)", .flags = ACTLAB_ACT_FROM_Y,
    KERNELS_OF(tanh)};

static double softsign_f(double x, const double *p) { return isinf(x) ? copysign(1, x) : x / (1 + fabs(x)); }
static double softsign_df(double x, const double *p) { return 1 / ((1 + fabs(x)) * (1 + fabs(x))); }
/* x is clamped to +-1e30 so that inf/inf cannot occur; the result is +-1 there anyway. */
static inline vf softsign_fv(vf x, const vf *P) { vf c = vclamp(x, -1e30f, 1e30f); return c / (1.0f + vabs(c)); }
static inline vf softsign_dyv(vf y, const vf *P) { vf t = 1.0f - vabs(y); return t * t; }
ACT_REF(softsign) ACT_KERNELS_FROM_Y(softsign)
static const actlab_act e_softsign = {
    .name = "softsign", .aliases = "", .formula = "x/(1+|x|)", .derivative = "1/(1+|x|)^2 = (1-|f|)^2",
    .citation = "Turian et al. 2009; survey (Zhang et al. 2021)", .flags = ACTLAB_ACT_FROM_Y,
    KERNELS_OF(softsign)};

/* PyTorch: linear where beta*x > threshold, else log1p(exp(beta*x))/beta. */
static double softplus_f(double x, const double *p) { return p[0] * x > p[1] ? x : log1p(exp(p[0] * x)) / p[0]; }
static double softplus_df(double x, const double *p) { return p[0] * x > p[1] ? 1 : sigmoid_d(p[0] * x); }
static inline vf softplus_fv(vf x, const vf *P) {
    vf bx = P[0] * x;
    return vsel(bx > P[1], x, vlog1p(vexp(bx)) * (1.0f / P[0]));
}
/* From x, as PyTorch: from y the two sides of the threshold cannot be told apart
 * within e^-threshold of it. */
static inline vf softplus_dv(vf x, const vf *P) { vf bx = P[0] * x; return vsel(bx > P[1], vsplat(1), vsigmoid(bx)); }
ACT_REF(softplus) ACT_KERNELS(softplus)
static int softplus_kinks(double *out, const double *p, const void *c) { out[0] = p[1] / p[0]; return 1; }
static const actlab_act e_softplus = {
    .name = "softplus", .aliases = "", .formula = "ln(1+e^(beta x))/beta; x where beta x > threshold",
    .derivative = "sigmoid(beta x); 1 where beta x > threshold",
    .citation = "Dugas et al. 2001; PyTorch Softplus(beta=1, threshold=20)",
    .note = "the linear switch-over makes a tiny jump at threshold/beta, as in PyTorch",
    P(FIXED("beta", 1, 1e-6, INF, "sharpness"),
      FIXED("threshold", 20, 0, INF, "beta*x above which f(x) = x")),
    .kinks = softplus_kinks, KERNELS_OF(softplus)};

static const char *hardtanh_check(const double *p) { return p[0] < p[1] ? NULL : "min_val must be below max_val"; }
static double hardtanh_f(double x, const double *p) { return x < p[0] ? p[0] : x > p[1] ? p[1] : x; }
static double hardtanh_df(double x, const double *p) { return x > p[0] && x < p[1] ? 1 : 0; }
static inline vf hardtanh_fv(vf x, const vf *P) { return vsel(x < P[0], P[0], vsel(x > P[1], P[1], x)); }
static inline vf hardtanh_dyv(vf y, const vf *P) { return vsel((y > P[0]) & (y < P[1]), vsplat(1), vsplat(0)); }
ACT_REF(hardtanh) ACT_KERNELS_FROM_Y(hardtanh)
static int hardtanh_kinks(double *out, const double *p, const void *c) { out[0] = p[0]; out[1] = p[1]; return 2; }
static const actlab_act e_hardtanh = {
    .name = "hardtanh", .aliases = "", .formula = "clamp(x, min_val, max_val)",
    .derivative = "1 on (min_val, max_val), else 0", .citation = "Collobert 2004; PyTorch Hardtanh",
    P(FIXED("min_val", -1, -INF, INF, "lower limit"), FIXED("max_val", 1, -INF, INF, "upper limit")),
    .flags = ACTLAB_ACT_FROM_Y, .kinks = hardtanh_kinks, .check = hardtanh_check, KERNELS_OF(hardtanh)};

static double logsigmoid_f(double x, const double *p) { return -softplus_d(-x); }
static double logsigmoid_df(double x, const double *p) { return sigmoid_d(-x); }
static inline vf logsigmoid_fv(vf x, const vf *P) { return -vsoftplus(-x); }
static inline vf logsigmoid_dyv(vf y, const vf *P) { return -vexpm1(y); }
ACT_REF(logsigmoid) ACT_KERNELS_FROM_Y(logsigmoid)
static const actlab_act e_logsigmoid = {
    .name = "logsigmoid", .aliases = "log_sigmoid", .formula = "ln(1/(1+e^-x)) = -softplus(-x)",
    .derivative = "sigmoid(-x) = 1-e^f", .citation = "PyTorch LogSigmoid", .flags = ACTLAB_ACT_FROM_Y,
    KERNELS_OF(logsigmoid)};

static double hardsigmoid_f(double x, const double *p) { return x <= -3 ? 0 : x >= 3 ? 1 : x / 6 + 0.5; }
static double hardsigmoid_df(double x, const double *p) { return x > -3 && x < 3 ? 1.0 / 6 : 0; }
static inline vf hardsigmoid_fv(vf x, const vf *P) { return vclamp(x * (1.0f / 6) + 0.5f, 0, 1); }
/* From x, not y: near x = 3, x/6 + 1/2 rounds to 1 and y could not tell the edge. */
static inline vf hardsigmoid_dv(vf x, const vf *P) { return vsel((x > -3) & (x < 3), vsplat(1.0f / 6), vsplat(0)); }
ACT_REF(hardsigmoid) ACT_KERNELS(hardsigmoid)
KINKS(hardsigmoid, -3, 3)
static const actlab_act e_hardsigmoid = {
    .name = "hardsigmoid", .aliases = "hard_sigmoid", .formula = "relu6(x+3)/6",
    .derivative = "1/6 on (-3,3), else 0", .citation = "Howard et al. 2019 (MobileNetV3); PyTorch Hardsigmoid",
    .kinks = hardsigmoid_kinks, KERNELS_OF(hardsigmoid)};

static double tanhshrink_f(double x, const double *p) { return x - tanh(x); }
static double tanhshrink_df(double x, const double *p) { double t = tanh(x); return t * t; }
static inline vf tanhshrink_fv(vf x, const vf *P) { return x - vtanh_fast(x); }
static inline vf tanhshrink_dv(vf x, const vf *P) { vf t = vtanh_fast(x); return t * t; }
ACT_REF(tanhshrink) ACT_KERNELS(tanhshrink)
static const actlab_act e_tanhshrink = {
    .name = "tanhshrink", .aliases = "", .formula = "x - tanh(x)", .derivative = "tanh(x)^2",
    .citation = "PyTorch Tanhshrink", .note = "relative accuracy is poor near 0 (cancellation), as in PyTorch",
    KERNELS_OF(tanhshrink)};

/* ============================== ReLU family ============================== */

static double relu_f(double x, const double *p) { return x < 0 ? 0 : x; }
static double relu_df(double x, const double *p) { return x > 0 ? 1 : 0; }
static inline vf relu_fv(vf x, const vf *P) { return vmax0(x); }
static inline vf relu_dyv(vf y, const vf *P) { return vsel(y > 0, vsplat(1), vsplat(0)); }
ACT_REF(relu) ACT_KERNELS_FROM_Y(relu)
KINKS(relu, 0)
static const actlab_act e_relu = {
    .name = "relu", .aliases = "", .formula = "max(0, x)", .derivative = "1 if x > 0 else 0",
    .citation = "Nair & Hinton 2010", .note = "f'(0) = 0 (PyTorch)", .flags = ACTLAB_ACT_FROM_Y,
    .kinks = relu_kinks, KERNELS_OF(relu)};

static double relu6_f(double x, const double *p) { return x < 0 ? 0 : x > 6 ? 6 : x; }
static double relu6_df(double x, const double *p) { return x > 0 && x < 6 ? 1 : 0; }
static inline vf relu6_fv(vf x, const vf *P) { return vclamp(x, 0, 6); }
static inline vf relu6_dyv(vf y, const vf *P) { return vsel((y > 0) & (y < 6), vsplat(1), vsplat(0)); }
ACT_REF(relu6) ACT_KERNELS_FROM_Y(relu6)
KINKS(relu6, 0, 6)
static const actlab_act e_relu6 = {
    .name = "relu6", .aliases = "", .formula = "min(max(0, x), 6)", .derivative = "1 on (0,6), else 0",
    .citation = "Krizhevsky 2010; Howard et al. 2017", .flags = ACTLAB_ACT_FROM_Y, .kinks = relu6_kinks,
    KERNELS_OF(relu6)};

static double leaky_relu_f(double x, const double *p) { return x < 0 ? p[0] * x : x; }
static double leaky_relu_df(double x, const double *p) { return x > 0 ? 1 : p[0]; }
static inline vf leaky_relu_fv(vf x, const vf *P) { return vsel(x < 0, P[0] * x, x); }
static inline vf leaky_relu_dyv(vf y, const vf *P) { return vsel(y > 0, vsplat(1), P[0]); }
ACT_REF(leaky_relu) ACT_KERNELS_FROM_Y(leaky_relu)
static const actlab_act e_leaky_relu = {
    .name = "leaky_relu", .aliases = "lrelu leakyrelu leaky", .formula = "x if x >= 0 else a x",
    .derivative = "1 if x > 0 else a", .citation = "Maas et al. 2013",
    .note = "default a=0.01 as PyTorch (Keras 0.2/0.3, darknet 0.1, ELU paper 0.1); f'(0) = a",
    P(FIXED("a", 0.01, 0, INF, "slope for x < 0 (>= 0, so backward can use y)")),
    .flags = ACTLAB_ACT_FROM_Y, .kinks = relu_kinks, KERNELS_OF(leaky_relu)};

static double prelu_f(double x, const double *p) { return x > 0 ? x : p[0] * x; }
static double prelu_df(double x, const double *p) { return x > 0 ? 1 : p[0]; }
static void prelu_dparam(double *out, double x, const double *p, const void *c) { out[0] = x > 0 ? 0 : x; }
static inline vf prelu_fv(vf x, const vf *P) { return vsel(x > 0, x, P[0] * x); }
static inline vf prelu_dv(vf x, const vf *P) { return vsel(x > 0, vsplat(1), P[0]); }
static inline void prelu_dpv(vf *d, vf x, const vf *P) { d[0] = vsel(x > 0, vsplat(0), x); }
ACT_REF(prelu) ACT_KERNELS_LEARNABLE(prelu)
static const actlab_act e_prelu = {
    .name = "prelu", .aliases = "", .formula = "x if x >= 0 else a x (a learned)",
    .derivative = "1 if x > 0 else a; df/da = x if x <= 0 else 0", .citation = "He et al. 2015",
    .note = "a is trained, one per layer (channel-shared) or per channel; init 0.25; no weight decay by default",
    P(LEARN("a", 0.25, -INF, INF, "learned slope for x < 0")),
    .ref_dparam = prelu_dparam, .kinks = relu_kinks, KERNELS_OF(prelu)};

/* RReLU: in training each element draws a ~ U(lower, upper) (kept in the noise
 * buffer for backward, 1 where x > 0, as PyTorch does); in evaluation
 * a = (lower+upper)/2. Written by hand: the noise makes it unlike the rest. */
static const char *rrelu_check(const double *p) { return p[0] <= p[1] ? NULL : "lower must not exceed upper"; }
static double rrelu_slope(const double *p, const double *noise) {
    return noise ? p[0] + (p[1] - p[0]) * noise[0] : 0.5 * (p[0] + p[1]);
}
static double rrelu_ref_f(double x, const double *p, const double *noise, const void *c) { return x > 0 ? x : rrelu_slope(p, noise) * x; }
static double rrelu_ref_df(double x, const double *p, const double *noise, const void *c) { return x > 0 ? 1 : rrelu_slope(p, noise); }
static void rrelu_forward(float *y, const float *x, int64_t n, const float *p, float *noise, const void *ctx) {
    if (!noise) {
        float eval_p[ACTLAB_ACT_MAX_PARAMS] = {0.5f * (p[0] + p[1])};
        leaky_relu_forward(y, x, n, eval_p, NULL, ctx);
        return;
    }
    vf lo = vsplat(p[0]), width = vsplat(p[1] - p[0]);
    for (int64_t i = 0; i < n; i += ACT_VW) { /* noise: U(0,1) in, the slope used out */
        int64_t m = n - i < ACT_VW ? n - i : ACT_VW;
        vf xv = vload_n(x + i, m), a = vsel(xv > 0, vsplat(1), lo + width * vload_n(noise + i, m));
        vstore_n(noise + i, a, m);
        vstore_n(y + i, a * xv, m);
    }
}
static void rrelu_backward(float *dx, float *dp, const float *dy, const float *x, const float *y, int64_t n,
                           const float *p, const float *noise, const void *ctx) {
    if (dp) for (int k = 0; k < ACTLAB_ACT_MAX_PARAMS; k++) dp[k] = 0;
    if (noise) {
        for (int64_t i = 0; i < n; i++) dx[i] = dy[i] * noise[i];
        return;
    }
    float eval_p[ACTLAB_ACT_MAX_PARAMS] = {0.5f * (p[0] + p[1])};
    prelu_backward(dx, NULL, dy, x, y, n, eval_p, NULL, ctx);
}
static const actlab_act e_rrelu = {
    .name = "rrelu", .aliases = "", .formula = "x if x >= 0 else a x, a ~ U(lower, upper) per element in training, (lower+upper)/2 in evaluation",
    .derivative = "1 if x > 0 else a (the drawn a)", .citation = "Xu et al. 2015",
    .note = "PyTorch defaults lower=1/8, upper=1/3",
    P(RANDOM("lower", 0.125, 0, 1, "lower bound of the random slope"),
      RANDOM("upper", 1.0 / 3, 0, 1, "upper bound of the random slope")),
    .flags = ACTLAB_ACT_RANDOM, .noise = ACTLAB_NOISE_UNIFORM, .kinks = relu_kinks,
    .check = rrelu_check, .ref_f = rrelu_ref_f, .ref_df = rrelu_ref_df,
    .forward = rrelu_forward, .backward = rrelu_backward};

/* Noisy ReLU: max(0, x + Y), Y ~ N(0, sigma^2) (or variance sigmoid(x), Nair &
 * Hinton's form) in training, plain ReLU in evaluation. Backward treats the
 * noise as constant, so f' = [y > 0] and only y is needed. */
static double noisy_sd(double x, const double *p) { return p[1] != 0 ? sqrt(sigmoid_d(x)) : p[0]; }
static double noisy_relu_ref_f(double x, const double *p, const double *noise, const void *c) {
    double v = noise ? x + noisy_sd(x, p) * noise[0] : x;
    return v < 0 ? 0 : v;
}
static double noisy_relu_ref_df(double x, const double *p, const double *noise, const void *c) {
    return (noise ? x + noisy_sd(x, p) * noise[0] : x) > 0 ? 1 : 0;
}
static void noisy_relu_forward(float *y, const float *x, int64_t n, const float *p, float *noise, const void *ctx) {
    if (!noise) { relu_forward(y, x, n, p, NULL, ctx); return; }
    int sigmoid_var = p[1] != 0;
    vf sigma = vsplat(p[0]);
    for (int64_t i = 0; i < n; i += ACT_VW) { /* noise: N(0,1) */
        int64_t m = n - i < ACT_VW ? n - i : ACT_VW;
        vf xv = vload_n(x + i, m);
        vf sd = sigmoid_var ? vsqrt(vsigmoid(xv)) : sigma;
        vstore_n(y + i, vmax0(xv + sd * vload_n(noise + i, m)), m);
    }
}
static const actlab_act e_noisy_relu = {
    .name = "noisy_relu", .aliases = "nrelu", .formula = "max(0, x + Y), Y ~ N(0, sigma^2) in training; max(0, x) in evaluation",
    .derivative = "1 if f > 0 else 0 (noise held constant)", .citation = "Nair & Hinton 2010",
    .note = "the survey writes sigma(x); sigmoid_var=1 uses Nair & Hinton's variance sigmoid(x)",
    P(RANDOM("sigma", 1, 0, INF, "noise standard deviation"),
      {"sigmoid_var", 0, 0, 1, ACTLAB_PARAM_RANDOM, 1, "1: noise variance sigmoid(x) instead of sigma^2"}),
    .flags = ACTLAB_ACT_RANDOM | ACTLAB_ACT_FROM_Y | ACTLAB_ACT_NO_TORCH, .noise = ACTLAB_NOISE_NORMAL,
    .kinks = relu_kinks, .ref_f = noisy_relu_ref_f, .ref_df = noisy_relu_ref_df,
    .forward = noisy_relu_forward, .backward = relu_backward};

static double srelu_f(double x, const double *p) { return x < -1 ? -1 : x; }
static double srelu_df(double x, const double *p) { return x > -1 ? 1 : 0; }
static inline vf srelu_fv(vf x, const vf *P) { return vsel(x < -1, vsplat(-1), x); }
static inline vf srelu_dyv(vf y, const vf *P) { return vsel(y > -1, vsplat(1), vsplat(0)); }
ACT_REF(srelu) ACT_KERNELS_FROM_Y(srelu)
KINKS(srelu, -1)
static const actlab_act e_srelu = {
    .name = "srelu", .aliases = "shifted_relu", .formula = "max(-1, x)", .derivative = "1 if x > -1 else 0",
    .citation = "Clevert et al. 2015 (ELU paper's SReLU)", .note = "= PyTorch Threshold(-1, -1)",
    .flags = ACTLAB_ACT_FROM_Y, .kinks = srelu_kinks, KERNELS_OF(srelu)};

static double threshold_f(double x, const double *p) { return x <= p[0] ? p[1] : x; }
static double threshold_df(double x, const double *p) { return x <= p[0] ? 0 : 1; }
static inline vf threshold_fv(vf x, const vf *P) { return vsel(x <= P[0], P[1], x); }
static inline vf threshold_dv(vf x, const vf *P) { return vsel(x <= P[0], vsplat(0), vsplat(1)); }
ACT_REF(threshold) ACT_KERNELS(threshold)
static int threshold_kinks(double *out, const double *p, const void *c) { out[0] = p[0]; return 1; }
static const actlab_act e_threshold = {
    .name = "threshold", .aliases = "", .formula = "x if x > threshold else value",
    .derivative = "1 if x > threshold else 0", .citation = "PyTorch Threshold",
    P(FIXED("threshold", 0, -INF, INF, "switch point"), FIXED("value", 0, -INF, INF, "output at or below it")),
    .kinks = threshold_kinks, KERNELS_OF(threshold)};

static double hardshrink_f(double x, const double *p) { return x >= -p[0] && x <= p[0] ? 0 : x; }
static double hardshrink_df(double x, const double *p) { return x >= -p[0] && x <= p[0] ? 0 : 1; }
static inline vf hardshrink_fv(vf x, const vf *P) { return vsel((x >= -P[0]) & (x <= P[0]), vsplat(0), x); }
static inline vf hardshrink_dyv(vf y, const vf *P) { return vsel(y != 0, vsplat(1), vsplat(0)); }
ACT_REF(hardshrink) ACT_KERNELS_FROM_Y(hardshrink)
static int shrink_kinks(double *out, const double *p, const void *c) { out[0] = -p[0]; out[1] = p[0]; return 2; }
static const actlab_act e_hardshrink = {
    .name = "hardshrink", .aliases = "", .formula = "0 if |x| <= lambda else x",
    .derivative = "0 if |x| <= lambda else 1", .citation = "PyTorch Hardshrink",
    P(FIXED("lambda", 0.5, 0, INF, "half-width of the zero band")),
    .flags = ACTLAB_ACT_FROM_Y, .kinks = shrink_kinks, KERNELS_OF(hardshrink)};

static double softshrink_f(double x, const double *p) { return x >= -p[0] && x <= p[0] ? 0 : x > p[0] ? x - p[0] : x + p[0]; }
static double softshrink_df(double x, const double *p) { return x >= -p[0] && x <= p[0] ? 0 : 1; }
static inline vf softshrink_fv(vf x, const vf *P) {
    return vsel((x >= -P[0]) & (x <= P[0]), vsplat(0), vsel(x > P[0], x - P[0], x + P[0]));
}
static inline vf softshrink_dyv(vf y, const vf *P) { return vsel(y != 0, vsplat(1), vsplat(0)); }
ACT_REF(softshrink) ACT_KERNELS_FROM_Y(softshrink)
static const actlab_act e_softshrink = {
    .name = "softshrink", .aliases = "", .formula = "x - lambda if x > lambda, x + lambda if x < -lambda, else 0",
    .derivative = "0 if |x| <= lambda else 1", .citation = "PyTorch Softshrink",
    P(FIXED("lambda", 0.5, 0, INF, "half-width of the zero band")),
    .flags = ACTLAB_ACT_FROM_Y, .kinks = shrink_kinks, KERNELS_OF(softshrink)};

static double elu_f(double x, const double *p) { return x > 0 ? x : p[0] * expm1(x); }
static double elu_df(double x, const double *p) { return x > 0 ? 1 : p[0] * exp(x); }
static inline vf elu_fv(vf x, const vf *P) { return vsel(x > 0, x, P[0] * vexpm1(x)); }
static inline vf elu_dyv(vf y, const vf *P) { return vsel(y > 0, vsplat(1), y + P[0]); }
ACT_REF(elu) ACT_KERNELS_FROM_Y(elu)
static const actlab_act e_elu = {
    .name = "elu", .aliases = "", .formula = "x if x > 0 else alpha (e^x - 1)",
    .derivative = "1 if x > 0 else f + alpha", .citation = "Clevert et al. 2015",
    .note = "f'(0) = alpha (PyTorch)", P(FIXED("alpha", 1, 0, INF, "saturation value for x -> -inf is -alpha")),
    .flags = ACTLAB_ACT_FROM_Y, .kinks = relu_kinks, KERNELS_OF(elu)};

#define SELU_L 1.0507009873554805
#define SELU_A 1.6732632423543772
static double selu_f(double x, const double *p) { return SELU_L * (x > 0 ? x : SELU_A * expm1(x)); }
static double selu_df(double x, const double *p) { return SELU_L * (x > 0 ? 1 : SELU_A * exp(x)); }
static inline vf selu_fv(vf x, const vf *P) { return (float)SELU_L * vsel(x > 0, x, (float)SELU_A * vexpm1(x)); }
static inline vf selu_dyv(vf y, const vf *P) { return vsel(y > 0, vsplat((float)SELU_L), y + (float)(SELU_L * SELU_A)); }
ACT_REF(selu) ACT_KERNELS_FROM_Y(selu)
static const actlab_act e_selu = {
    .name = "selu", .aliases = "", .formula = "lambda elu(x; alpha), lambda=1.0507009873554805, alpha=1.6732632423543772",
    .derivative = "lambda if x > 0 else f + lambda alpha", .citation = "Klambauer et al. 2017",
    .flags = ACTLAB_ACT_FROM_Y, .kinks = relu_kinks, KERNELS_OF(selu)};

static double celu_f(double x, const double *p) { return x > 0 ? x : p[0] * expm1(x / p[0]); }
static double celu_df(double x, const double *p) { return x > 0 ? 1 : exp(x / p[0]); }
static inline vf celu_fv(vf x, const vf *P) { return vsel(x > 0, x, P[0] * vexpm1(x / P[0])); }
static inline vf celu_dyv(vf y, const vf *P) { return vsel(y > 0, vsplat(1), y / P[0] + 1.0f); }
ACT_REF(celu) ACT_KERNELS_FROM_Y(celu)
static const actlab_act e_celu = {
    .name = "celu", .aliases = "", .formula = "max(0,x) + min(0, alpha (e^(x/alpha) - 1))",
    .derivative = "1 if x > 0 else e^(x/alpha)", .citation = "Barron 2017",
    P(FIXED("alpha", 1, 1e-6, INF, "saturation value for x -> -inf is -alpha")),
    .flags = ACTLAB_ACT_FROM_Y, .kinks = relu_kinks, KERNELS_OF(celu)};

static double trelu_f(double x, const double *p) { return x >= 0 ? x : p[0] * tanh(p[0] * x); }
static double trelu_df(double x, const double *p) { double t = tanh(p[0] * x); return x >= 0 ? 1 : p[0] * p[0] * (1 - t * t); }
static inline vf trelu_fv(vf x, const vf *P) { return vsel(x >= 0, x, P[0] * vtanh_fast(P[0] * x)); }
static inline vf trelu_dyv(vf y, const vf *P) { return vsel(y >= 0, vsplat(1), P[0] * P[0] - y * y); }
ACT_REF(trelu) ACT_KERNELS_FROM_Y(trelu)
static const actlab_act e_trelu = {
    .name = "trelu", .aliases = "tanh_relu", .formula = "x if x >= 0 else a tanh(a x)",
    .derivative = "1 if x >= 0 else a^2 (1 - tanh^2(a x)) = a^2 - f^2", .citation = "survey (Zhang et al. 2021) eq. 17",
    .note = "the survey prints only f'; f is its antiderivative with f(0) = 0",
    P(FIXED("a", 1, 1e-6, INF, "scale of the negative side")),
    .flags = ACTLAB_ACT_FROM_Y | ACTLAB_ACT_NO_TORCH, .kinks = relu_kinks, KERNELS_OF(trelu)};

/* ln((1+e^x)/2) written as log1p(expm1(x)/2): no cancellation near 0-. */
static double relu_softplus_f(double x, const double *p) { return x >= 0 ? x : log1p(expm1(x) / 2); }
static double relu_softplus_df(double x, const double *p) { return x >= 0 ? 1 : sigmoid_d(x); }
static inline vf relu_softplus_fv(vf x, const vf *P) { return vsel(x >= 0, x, vlog1p(vexpm1(x) * 0.5f)); }
static inline vf relu_softplus_dyv(vf y, const vf *P) { return vsel(y >= 0, vsplat(1), 1.0f - 0.5f * vexp(-y)); }
ACT_REF(relu_softplus) ACT_KERNELS_FROM_Y(relu_softplus)
static const actlab_act e_relu_softplus = {
    .name = "relu_softplus", .aliases = "relu-softplus", .formula = "x if x >= 0 else ln(1+e^x) - ln 2",
    .derivative = "1 if x >= 0 else sigmoid(x)", .citation = "survey (Zhang et al. 2021); Wang et al. 2019 compare with it",
    .note = "f' jumps from 0.5 to 1 at 0; from y, a subnormal x < 0 whose f rounds to -0 reads as x = 0", .flags = ACTLAB_ACT_FROM_Y | ACTLAB_ACT_NO_TORCH,
    .kinks = relu_kinks, KERNELS_OF(relu_softplus)};

/* x/(1-x) with x clamped at -1e30, so x = -inf gives -1 instead of inf/inf. */
static double relu_softsign_f(double x, const double *p) { return x >= 0 ? x : isinf(x) ? -1 : x / (1 - x); }
static double relu_softsign_df(double x, const double *p) { return x >= 0 ? 1 : 1 / ((1 - x) * (1 - x)); }
static inline vf relu_softsign_fv(vf x, const vf *P) { vf c = vmaxv(x, vsplat(-1e30f)); return vsel(x >= 0, x, c / (1.0f - c)); }
static inline vf relu_softsign_dyv(vf y, const vf *P) { return vsel(y >= 0, vsplat(1), (1.0f + y) * (1.0f + y)); }
ACT_REF(relu_softsign) ACT_KERNELS_FROM_Y(relu_softsign)
static const actlab_act e_relu_softsign = {
    .name = "relu_softsign", .aliases = "relu-softsign f3 erelu_f3", .formula = "x if x >= 0 else x/(1-x)",
    .derivative = "1 if x >= 0 else 1/(1-x)^2 = (1+f)^2", .citation = "Wang et al. 2019; EReLU paper's f3 (Du et al. 2022)",
    .flags = ACTLAB_ACT_FROM_Y | ACTLAB_ACT_NO_TORCH, .kinks = relu_kinks, KERNELS_OF(relu_softsign)};

static double erelu_f(double x, const double *p) { return x >= 0 ? x : -log1p(-x); }
static double erelu_df(double x, const double *p) { return x >= 0 ? 1 : 1 / (1 - x); }
static inline vf erelu_fv(vf x, const vf *P) { return vsel(x >= 0, x, -vlog1p(-x)); }
static inline vf erelu_dyv(vf y, const vf *P) { return vsel(y >= 0, vsplat(1), vexp(y)); }
ACT_REF(erelu) ACT_KERNELS_FROM_Y(erelu)
static const actlab_act e_erelu = {
    .name = "erelu", .aliases = "f4 erelu_f4", .formula = "x if x >= 0 else -ln(1-x)",
    .derivative = "1 if x >= 0 else 1/(1-x) = e^f", .citation = "Du et al. 2022 (EReLU, f4)",
    .note = "the paper's printed \"-ln^1 -x\" is garbled; -ln(1-x) matches its derivative",
    .flags = ACTLAB_ACT_FROM_Y | ACTLAB_ACT_NO_TORCH, .kinks = relu_kinks, KERNELS_OF(erelu)};

static double erelu_f1_f(double x, const double *p) { return x >= 0 ? x : -x; }
static double erelu_f1_df(double x, const double *p) { return x >= 0 ? 1 : -1; }
static inline vf erelu_f1_fv(vf x, const vf *P) { return vsel(x >= 0, x, -x); }
static inline vf erelu_f1_dv(vf x, const vf *P) { return vsel(x >= 0, vsplat(1), vsplat(-1)); }
ACT_REF(erelu_f1) ACT_KERNELS(erelu_f1)
static const actlab_act e_erelu_f1 = {
    .name = "erelu_f1", .aliases = "f1", .formula = "x if x >= 0 else -x (= |x|)",
    .derivative = "1 if x >= 0 else -1", .citation = "Du et al. 2022 (EReLU paper's f1)",
    .note = "f'(0) = 1 (the x >= 0 branch), unlike PyTorch abs'(0) = 0",
    .flags = ACTLAB_ACT_NO_TORCH, .kinks = relu_kinks, KERNELS_OF(erelu_f1)};

static double erelu_f2_f(double x, const double *p) { return x >= 0 ? x : -(2.0 / 3) * pow(-x, 1.5); }
static double erelu_f2_df(double x, const double *p) { return x >= 0 ? 1 : sqrt(-x); }
static inline vf erelu_f2_fv(vf x, const vf *P) { return vsel(x >= 0, x, (2.0f / 3) * x * vsqrt(-x)); }
static inline vf erelu_f2_dv(vf x, const vf *P) { return vsel(x >= 0, vsplat(1), vsqrt(-x)); }
ACT_REF(erelu_f2) ACT_KERNELS(erelu_f2)
static const actlab_act e_erelu_f2 = {
    .name = "erelu_f2", .aliases = "f2", .formula = "x if x >= 0 else -(2/3)(-x)^(3/2)",
    .derivative = "1 if x >= 0 else sqrt(-x)", .citation = "Du et al. 2022 (EReLU paper's f2)",
    .note = "the paper prints f' = -sqrt(-x), a sign error; f' -> 0 as x -> 0- and grows without bound",
    .flags = ACTLAB_ACT_NO_TORCH, .kinks = relu_kinks, KERNELS_OF(erelu_f2)};

/* ======================= Smooth self-gated and others ====================== */

/* x * g(x) with a gate g in [0,1]: where g rounds to 0, x * g is 0 (not -inf * 0). */
static inline vf gated(vf x, vf g) { return vsel(g == 0, vsplat(0), x * g); }

static double swish_f(double x, const double *p) { double s = sigmoid_d(p[0] * x); return s == 0 ? 0 : x * s; }
static double swish_df(double x, const double *p) {
    double s = sigmoid_d(p[0] * x), u = s * (1 - s);
    return s + (u == 0 ? 0 : p[0] * x * u);
}
static void swish_dparam(double *out, double x, const double *p, const void *c) {
    double s = sigmoid_d(p[0] * x), u = s * (1 - s);
    out[0] = u == 0 ? 0 : x * x * u;
}
static inline vf swish_fv(vf x, const vf *P) { return gated(x, vsigmoid(P[0] * x)); }
static inline vf swish_dv(vf x, const vf *P) {
    vf s = vsigmoid(P[0] * x), u = s * (1.0f - s);
    return s + gated(P[0] * x, u);
}
static inline void swish_dpv(vf *d, vf x, const vf *P) {
    vf s = vsigmoid(P[0] * x);
    d[0] = gated(x * x, s * (1.0f - s));
}
ACT_REF(swish) ACT_KERNELS_LEARNABLE(swish)
static const actlab_act e_swish = {
    .name = "swish", .aliases = "", .formula = "x sigmoid(beta x) (beta learned)",
    .derivative = "s + beta x s (1-s), s = sigmoid(beta x); df/dbeta = x^2 s (1-s)",
    .citation = "Ramachandran et al. 2017 (Swish-beta)", .note = "beta is trained; for a fixed beta=1 use silu",
    P(LEARN("beta", 1, -INF, INF, "gate sharpness")), .flags = ACTLAB_ACT_NO_TORCH,
    .ref_dparam = swish_dparam, KERNELS_OF(swish)};

static double silu_f(double x, const double *p) { return swish_f(x, (const double[]){1}); }
static double silu_df(double x, const double *p) { return swish_df(x, (const double[]){1}); }
static inline vf silu_fv(vf x, const vf *P) { return gated(x, vsigmoid(x)); }
static inline vf silu_dv(vf x, const vf *P) { vf s = vsigmoid(x); return s + gated(x, s * (1.0f - s)); }
ACT_REF(silu) ACT_KERNELS(silu)
static const actlab_act e_silu = {
    .name = "silu", .aliases = "swish1", .formula = "x sigmoid(x)", .derivative = "s + x s (1-s), s = sigmoid(x)",
    .citation = "Elfwing et al. 2017; Hendrycks & Gimpel 2016", KERNELS_OF(silu)};

/* Xwish: x (atan(beta x) + pi/2)/pi. For beta x < 0 the gate is written as
 * -atan(1/(beta x))/pi (the same value without cancellation), and x is held at
 * -1e30 so that f(-inf) is its true limit -1/(pi beta), not -inf * 0. */
static double xwish_gate(double t) { return t < 0 ? -atan(1 / t) / M_PI : (atan(t) + M_PI / 2) / M_PI; }
static double xwish_f(double x, const double *p) {
    double c = fmax(x, -1e30);
    return p[0] * c < 0 ? -(c * atan(1 / (p[0] * c))) / M_PI : x * xwish_gate(p[0] * x);
}
static double xwish_df(double x, const double *p) {
    double t = p[0] * fmax(fmin(x, 1e15), -1e15);
    return xwish_gate(p[0] * x) + t / (M_PI * (1 + t * t));
}
static inline vf xwish_gatev(vf t) {
    return vsel(t < 0, -vatan(1.0f / t), vatan(t) + (float)(M_PI / 2)) * (float)(1 / M_PI);
}
static inline vf xwish_fv(vf x, const vf *P) {
    vf c = vmaxv(x, vsplat(-1e30f)), t = P[0] * c;
    return vsel(t < 0, -(c * vatan(1.0f / t)) * (float)(1 / M_PI), x * xwish_gatev(P[0] * x));
}
static inline vf xwish_dv(vf x, const vf *P) {
    vf t = P[0] * vclamp(x, -1e15f, 1e15f);
    return xwish_gatev(P[0] * x) + t / ((float)M_PI * (1.0f + t * t));
}
ACT_REF(xwish) ACT_KERNELS(xwish)
static const actlab_act e_xwish = {
    .name = "xwish", .aliases = "", .formula = "x (atan(beta x) + pi/2)/pi",
    .derivative = "(atan(beta x) + pi/2)/pi + beta x/(pi (1 + (beta x)^2))",
    .citation = "Liu et al. 2019, as given in the survey (Zhang et al. 2021) eqs. 12-13",
    .note = "f(-inf) = -1/(pi beta), not 0", P(FIXED("beta", 1, 0, INF, "gate sharpness")),
    .flags = ACTLAB_ACT_NO_TORCH, KERNELS_OF(xwish)};

static double mish_f(double x, const double *p) { double t = tanh(softplus_d(x)); return t == 0 ? 0 : x * t; }
static double mish_df(double x, const double *p) {
    double t = tanh(softplus_d(x)), w = (1 - t * t) * sigmoid_d(x);
    return t + (w == 0 ? 0 : x * w);
}
/* One exp instead of exp, log1p and tanh: with n = e^x, tanh(softplus(x)) =
 * u/(u+2) where u = n(n+2), and sigmoid(x) = n/(n+1); all terms are positive,
 * so nothing cancels. Past x = 20 the gate is 1 in float (and n^2 could overflow). */
static inline void mish_gate(vf x, vf *t, vf *s) {
    vf n = vexp(vminv(x, vsplat(20))), u = n * (n + 2.0f);
    *t = vsel(x > 20, vsplat(1), u * vrecip_finite(u + 2.0f));
    *s = n * vrecip_finite(n + 1.0f);
}
static inline vf mish_fv(vf x, const vf *P) { vf t, s; mish_gate(x, &t, &s); return gated(x, t); }
static inline vf mish_dv(vf x, const vf *P) {
    vf t, s;
    mish_gate(x, &t, &s);
    return t + gated(x, (1.0f - t * t) * vsel(x > 20, vsplat(1), s));
}
ACT_REF(mish) ACT_KERNELS(mish)
static const actlab_act e_mish = {
    .name = "mish", .aliases = "", .formula = "x tanh(softplus(x))",
    .derivative = "t + x (1-t^2) sigmoid(x), t = tanh(softplus(x))", .citation = "Misra 2019", KERNELS_OF(mish)};

/* Phi(x) = erfc(-x/sqrt 2)/2: 1 + erf(x/sqrt 2) would cancel for x << 0, even in double. */
static double gelu_f(double x, const double *p) { double c = 0.5 * erfc(-x * SQRT1_2); return c == 0 ? 0 : x * c; }
static double gelu_df(double x, const double *p) {
    double phi = exp(-0.5 * x * x) * INV_SQRT_2PI;
    return 0.5 * erfc(-x * SQRT1_2) + (phi == 0 ? 0 : x * phi);
}
/* Phi(x) from erfc of |x|/sqrt 2: relative accuracy in the tail, one exp. */
static inline vf gelu_phi(vf x) {
    vf c = 0.5f * verfc_pos(vabs(x) * (float)SQRT1_2);
    return vsel(x >= 0, 1.0f - c, c);
}
static inline vf gelu_fv(vf x, const vf *P) { return gated(x, gelu_phi(x)); }
static inline vf gelu_dv(vf x, const vf *P) {
    vf phi = vexp(-0.5f * x * x) * (float)INV_SQRT_2PI;
    return gelu_phi(x) + gated(x, phi);
}
ACT_REF(gelu) ACT_KERNELS(gelu)
static const actlab_act e_gelu = {
    .name = "gelu", .aliases = "gelu_erf", .formula = "x Phi(x) = x (1 + erf(x/sqrt 2))/2",
    .derivative = "Phi(x) + x phi(x)", .citation = "Hendrycks & Gimpel 2016", KERNELS_OF(gelu)};

#define GELU_K 0.044715
static double gelu_tanh_f(double x, const double *p) {
    double c = 0.5 * (1 + tanh(SQRT2_PI * (x + GELU_K * x * x * x)));
    return c == 0 ? 0 : x * c;
}
static double gelu_tanh_df(double x, const double *p) {
    double t = tanh(SQRT2_PI * (x + GELU_K * x * x * x)), w = 1 - t * t;
    return 0.5 * (1 + t) + (w == 0 ? 0 : 0.5 * x * w * SQRT2_PI * (1 + 3 * GELU_K * x * x));
}
static inline vf gelu_tanh_fv(vf x, const vf *P) {
    return gated(x, 0.5f * (1.0f + vtanh_fast((float)SQRT2_PI * (x + (float)GELU_K * x * x * x))));
}
static inline vf gelu_tanh_dv(vf x, const vf *P) {
    vf t = vtanh_fast((float)SQRT2_PI * (x + (float)GELU_K * x * x * x)), w = 1.0f - t * t;
    return 0.5f * (1.0f + t) + gated(0.5f * x * (float)SQRT2_PI * (1.0f + (float)(3 * GELU_K) * x * x), w);
}
ACT_REF(gelu_tanh) ACT_KERNELS(gelu_tanh)
static const actlab_act e_gelu_tanh = {
    .name = "gelu_tanh", .aliases = "gelu_approx", .formula = "x (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3)))/2",
    .derivative = "(1+t)/2 + x (1-t^2) sqrt(2/pi)(1 + 3*0.044715 x^2)/2", .citation = "Hendrycks & Gimpel 2016",
    .note = "PyTorch GELU(approximate='tanh')", KERNELS_OF(gelu_tanh)};

static double hardswish_f(double x, const double *p) { return x < -3 ? 0 : x > 3 ? x : x * (x + 3) / 6; }
static double hardswish_df(double x, const double *p) { return x < -3 ? 0 : x <= 3 ? x / 3 + 0.5 : 1; }
static inline vf hardswish_fv(vf x, const vf *P) { return vsel(x < -3, vsplat(0), vsel(x > 3, x, x * (x + 3.0f) * (1.0f / 6))); }
static inline vf hardswish_dv(vf x, const vf *P) {
    return vsel(x < -3, vsplat(0), vsel(x <= 3, x * (1.0f / 3) + 0.5f, vsplat(1)));
}
ACT_REF(hardswish) ACT_KERNELS(hardswish)
static const actlab_act e_hardswish = {
    .name = "hardswish", .aliases = "hard_swish", .formula = "x relu6(x+3)/6",
    .derivative = "0 if x < -3, x/3 + 1/2 if x <= 3, else 1", .citation = "Howard et al. 2019 (MobileNetV3)",
    .note = "f'(-3) = -1/2, f'(3) = 3/2 (PyTorch)", .kinks = hardsigmoid_kinks, KERNELS_OF(hardswish)};

static double identity_f(double x, const double *p) { return x; }
static double identity_df(double x, const double *p) { return 1; }
static inline vf identity_fv(vf x, const vf *P) { return x; }
static inline vf identity_dyv(vf y, const vf *P) { return vsplat(1); }
ACT_REF(identity) ACT_KERNELS_FROM_Y(identity)
static const actlab_act e_identity = {
    .name = "identity", .aliases = "linear none", .formula = "x", .derivative = "1",
    .citation = "no activation (a linear network), a baseline", .flags = ACTLAB_ACT_FROM_Y,
    KERNELS_OF(identity)};

/* ============================== The table ============================== */

const actlab_act *const act_builtins[] = {
    /* classic saturating */
    &e_sigmoid, &e_tanh, &e_softsign, &e_softplus, &e_hardtanh, &e_logsigmoid, &e_hardsigmoid, &e_tanhshrink,
    /* ReLU family */
    &e_relu, &e_relu6, &e_leaky_relu, &e_prelu, &e_rrelu, &e_noisy_relu, &e_srelu, &e_threshold,
    &e_hardshrink, &e_softshrink, &e_elu, &e_selu, &e_celu, &e_trelu, &e_relu_softplus,
    &e_relu_softsign, &e_erelu, &e_erelu_f1, &e_erelu_f2,
    /* smooth self-gated and others */
    &e_swish, &e_silu, &e_xwish, &e_mish, &e_gelu, &e_gelu_tanh, &e_hardswish, &e_identity,
};
const int act_builtin_count = (int)(sizeof act_builtins / sizeof act_builtins[0]);
