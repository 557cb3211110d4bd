/*
 * test_formula.c — the formula engine: user-defined activation functions.
 *
 * Checks parsing (precedence, associativity, every function and constant),
 * the symbolic derivatives against central finite differences, the printed
 * derivative text, the float32 kernels against the double reference (odd
 * lengths for the block tails, aliasing, threads), special values, kinks,
 * error messages, the parameter list and definitions files.
 *
 * Prints every failure with details and ends with
 * "test_formula: N passed, M failed"; exits non-zero if anything failed.
 */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "act/formula.h"
#include "actlab/act.h"

static int passed, failed;

static void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(int ok, const char *fmt, ...) {
    if (ok) {
        passed++;
        return;
    }
    failed++;
    va_list ap;
    va_start(ap, fmt);
    fputs("FAIL: ", stdout);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
}

static int close_to(double got, double want, double rel, double abs_tol) {
    if (isnan(want)) return isnan(got);
    if (isinf(want)) return got == want;
    return fabs(got - want) <= rel * fabs(want) + abs_tol;
}

/* Deterministic uniform numbers in [lo, hi). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static double uniform(double lo, double hi) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return lo + (hi - lo) * (double)(rng_state >> 11) / 9007199254740992.0;
}

static fx_formula *compile_or_fail(const char *expr, const char *const *names, int np, unsigned learnable) {
    fx_error e;
    fx_formula *f = fx_compile(expr, names, np, learnable, &e);
    check(f != NULL, "compile '%s': column %d: %s", expr, e.col, e.msg);
    return f;
}

/* ---- parsing ---- */

static void test_precedence(void) {
    static const struct { const char *expr; double x, want; } cases[] = {
        {"1 + 2 * 3", 0, 7},          {"(1 + 2) * 3", 0, 9},        {"2 ^ 3 ^ 2", 0, 512},
        {"-2 ^ 2", 0, -4},            {"-x^2", 3, -9},              {"2 ^ -1", 0, 0.5},
        {"2^-x^2", 1, 0.5},           {"8 / 4 / 2", 0, 1},          {"8 - 4 - 2", 0, 2},
        {"x - 4 - 2", 8, 2},          {"x / 4 / 2", 8, 1},          {"2 * x ^ 2", 3, 18},
        {"x + 2 * x ^ 2", 3, 21},     {"1 - -1", 0, 2},             {"x*-2", 3, -6},
        {"--x", 3, 3},                {"+x", 3, 3},                 {"- -x", 3, 3},
        {".5 + 1e-3 + 1.5e2 + 2E+1", 0, 170.501},                  {"1 < 2", 0, 1},
        {"2 <= 2", 0, 1},             {"2 >= 3", 0, 0},             {"2 != 3", 0, 1},
        {"2 == 3", 0, 0},             {"3 > 2", 0, 1},              {"x + 1 == 4", 3, 1},
        {"(x >= 1) * 5", 2, 5},       {"(x >= 1) * 5", 0, 0},       {"x > 1 ? 10 : 20", 2, 10},
        {"x > 1 ? 10 : 20", 1, 20},   {"x < 0 ? 1 : x < 1 ? 2 : 3", 0.5, 2},
        {"x < 0 ? 1 : x < 1 ? 2 : 3", 5, 3},                       {"x < 0 ? 1 : x < 1 ? 2 : 3", -5, 1},
        {"x > 0 ? x > 2 ? 1 : 2 : 3", 3, 1},                       {"x > 0 ? x > 2 ? 1 : 2 : 3", 1, 2},
        {"x > 0 ? x > 2 ? 1 : 2 : 3", -1, 3},                      {"1 + x > 2 ? 1 : 0", 1.5, 1},
        {"x*x*x", 2, 8},              {"x^2^-1", 4, 2},             {"  x\t+ 1 ", 1, 2},
        {"((x))", 7, 7},              {"2*pi", 0, 2 * M_PI},        {"e", 0, M_E},
        {"x*e", 2, 2 * M_E},          {"pi^2/6", 0, M_PI * M_PI / 6},
        {"sin(x) ? 1 : 2", 0, 2},     {"sin(x) ? 1 : 2", 1, 1},     {"x - 1 ? 5 : 6", 1, 6},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fx_formula *f = compile_or_fail(cases[i].expr, NULL, 0, 0);
        if (!f) continue;
        double got = fx_ref_f(f, cases[i].x, NULL);
        check(close_to(got, cases[i].want, 1e-15, 0), "'%s' at x=%g: got %.17g, want %.17g", cases[i].expr,
              cases[i].x, got, cases[i].want);
        fx_free(f);
    }
}

static double sigmoid_d(double x) { return 1 / (1 + exp(-x)); }
static double softplus_d(double x) { return log1p(exp(x)); }
static double sign_d(double x) { return x > 0 ? 1 : x < 0 ? -1 : 0; }
static double min03(double x) { return fmin(x, 0.3); }
static double max03(double x) { return fmax(x, 0.3); }
static double pow25(double x) { return pow(x, 2.5); }
static double exp_e(double x) { return pow(M_E, x); }

static void test_functions(void) {
    static const struct { const char *expr; double (*fn)(double); double lo, hi; } cases[] = {
        {"exp(x)", exp, -5, 5},          {"log(x)", log, 0.01, 50},      {"log1p(x)", log1p, -0.9, 5},
        {"expm1(x)", expm1, -3, 3},      {"sqrt(x)", sqrt, 0, 20},       {"abs(x)", fabs, -5, 5},
        {"sign(x)", sign_d, -5, 5},      {"tanh(x)", tanh, -5, 5},       {"sigmoid(x)", sigmoid_d, -9, 9},
        {"softplus(x)", softplus_d, -9, 9}, {"erf(x)", erf, -3, 3},      {"atan(x)", atan, -9, 9},
        {"sin(x)", sin, -7, 7},          {"cos(x)", cos, -7, 7},         {"min(x, 0.3)", min03, -2, 2},
        {"max(x, 0.3)", max03, -2, 2},   {"pow(x, 2.5)", pow25, 0, 4},   {"e^x", exp_e, -3, 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fx_formula *f = compile_or_fail(cases[i].expr, NULL, 0, 0);
        if (!f) continue;
        for (int j = 0; j <= 20; j++) {
            double x = cases[i].lo + (cases[i].hi - cases[i].lo) * j / 20.0;
            double got = fx_ref_f(f, x, NULL), want = cases[i].fn(x);
            check(close_to(got, want, 1e-14, 1e-300), "%s at x=%g: got %.17g, want %.17g", cases[i].expr, x, got,
                  want);
        }
        fx_free(f);
    }
    /* sign(0) is 0, NaN propagates through min and max. */
    fx_formula *f = compile_or_fail("sign(x) + min(x, 1) + max(1, x)", NULL, 0, 0);
    if (f) {
        check(fx_ref_f(f, 0, NULL) == 1, "sign(0) + min(0,1) + max(1,0) should be 1, got %g", fx_ref_f(f, 0, NULL));
        check(isnan(fx_ref_f(f, NAN, NULL)), "NaN should propagate through sign/min/max");
        fx_free(f);
    }
    /* Softplus stays finite and accurate for large |x|. */
    f = compile_or_fail("softplus(x)", NULL, 0, 0);
    if (f) {
        check(fx_ref_f(f, 800, NULL) == 800, "softplus(800) should be 800, got %g", fx_ref_f(f, 800, NULL));
        check(fx_ref_f(f, -800, NULL) == 0, "softplus(-800) should be 0, got %g", fx_ref_f(f, -800, NULL));
        fx_free(f);
    }
}

/* ---- derivatives ---- */

typedef struct dcase {
    const char *expr;
    int np;
    const char *names[2];
    double p[2];
    unsigned learnable;
    double lo, hi;      /* where to test */
    double extra_kink;  /* a kink fx_kinks cannot see (NAN: none) */
} dcase;

static const dcase dcases[] = {
    {"x >= 0 ? x : -log(1-x)", 0, {0}, {0}, 0, -6, 6, NAN},
    {"x >= 0 ? x : -log1p(-x)", 0, {0}, {0}, 0, -6, 6, NAN},
    {"x*sigmoid(beta*x)", 1, {"beta"}, {1.3}, 1, -6, 6, NAN},
    {"x*tanh(log(1+exp(x)))", 0, {0}, {0}, 0, -6, 6, NAN},
    {"x*tanh(softplus(x))", 0, {0}, {0}, 0, -6, 6, NAN},
    {"0.5*x*(1+erf(x/sqrt(2)))", 0, {0}, {0}, 0, -6, 6, NAN},
    {"pow(abs(x)+1, a) - x^3/3", 1, {"a"}, {1.7}, 1, -3, 3, NAN},
    {"min(x, a) + max(x, -a) + min(2*x, 1)", 1, {"a"}, {0.5}, 1, -3, 3, 0.5},
    {"abs(x - 1) * x", 0, {0}, {0}, 0, -3, 3, 1},
    {"x > 1 ? sqrt(x) : x > -1 ? x^2/2 + 0.5 : exp(x+1)*0.5", 0, {0}, {0}, 0, -4, 4, NAN},
    {"atan(x)*cos(x) + sin(2*x)", 0, {0}, {0}, 0, -5, 5, NAN},
    {"log1p(x^2) + expm1(-x^2)", 0, {0}, {0}, 0, -3, 3, NAN},
    {"softplus(a*x)/a", 1, {"a"}, {2.5}, 1, -4, 4, NAN},
    {"tanh(x)/(1 + x^2)", 0, {0}, {0}, 0, -4, 4, NAN},
    {"2^x + e^(-x) + x/(1+abs(x))", 0, {0}, {0}, 0, -4, 4, NAN},
    {"sqrt(x)*log(x)", 0, {0}, {0}, 0, 0.1, 5, NAN},
    {"pow(x, b) + x^x", 1, {"b"}, {1.5}, 1, 0.2, 3, NAN},
    {"x > 0 ? x : a*(exp(x) - 1)", 1, {"a"}, {0.8}, 1, -4, 4, NAN},
    {"x > c ? x - c : s*(x - c)", 2, {"c", "s"}, {0.3, 0.05}, 3, -2, 2, NAN},
};

/* Central difference of g(t) at t: step scaled to t, error ~ h^2. */
static double central(double (*g)(const fx_formula *, double, const double *, int), const fx_formula *f,
                      double t, const double *p, int which) {
    double h = 1e-5 * fmax(1, fabs(t));
    return (g(f, t + h, p, which) - g(f, t - h, p, which)) / (2 * h);
}
static double f_of_x(const fx_formula *f, double x, const double *p, int which) {
    (void)which;
    return fx_ref_f(f, x, p);
}
static double x_fixed;
static double f_of_p(const fx_formula *f, double v, const double *p, int which) {
    double q[FX_MAX_PARAMS] = {p[0], p[1], p[2], p[3]};
    q[which] = v;
    return fx_ref_f(f, x_fixed, q);
}

static int near_kink(double x, const double *k, int nk, double extra) {
    for (int i = 0; i < nk; i++)
        if (fabs(x - k[i]) < 1e-3) return 1;
    return !isnan(extra) && fabs(x - extra) < 1e-3;
}

static void test_derivatives(void) {
    for (size_t i = 0; i < sizeof dcases / sizeof dcases[0]; i++) {
        const dcase *c = &dcases[i];
        fx_formula *f = compile_or_fail(c->expr, c->names, c->np, c->learnable);
        if (!f) continue;
        double p[FX_MAX_PARAMS] = {c->p[0], c->p[1]};
        double kinks[ACTLAB_ACT_MAX_KINKS];
        int nk = fx_kinks(f, kinks, p);
        int bad_df = 0, bad_dp = 0, points = 0;
        for (int j = 0; j <= 200; j++) {
            double x = c->lo + (c->hi - c->lo) * (j + 0.37) / 201.0;
            if (near_kink(x, kinks, nk, c->extra_kink)) continue;
            points++;
            double want = central(f_of_x, f, x, p, 0), got = fx_ref_df(f, x, p);
            if (!close_to(got, want, 1e-6, 1e-7) && bad_df++ < 3)
                check(0, "d/dx '%s' at x=%.6g: symbolic %.12g, finite difference %.12g", c->expr, x, got, want);
            double dp[FX_MAX_PARAMS];
            fx_ref_dparam(f, dp, x, p);
            x_fixed = x;
            for (int k = 0; k < c->np; k++) {
                double wantp = (c->learnable >> k & 1) ? central(f_of_p, f, p[k], p, k) : 0;
                if (!close_to(dp[k], wantp, 1e-6, 1e-7) && bad_dp++ < 3)
                    check(0, "d/d%s '%s' at x=%.6g: symbolic %.12g, finite difference %.12g", c->names[k], c->expr,
                          x, dp[k], wantp);
            }
        }
        check(bad_df == 0 && bad_dp == 0 && points > 150, "'%s': %d bad f', %d bad df/dp over %d points", c->expr,
              bad_df, bad_dp, points);

        /* The printed derivative reads back as a formula with the same values. */
        fx_formula *g = compile_or_fail(fx_derivative_text(f), c->names, c->np, 0);
        if (g) {
            int bad = 0;
            for (int j = 0; j <= 40; j++) {
                double x = c->lo + (c->hi - c->lo) * (j + 0.37) / 41.0;
                double a = fx_ref_df(f, x, p), b = fx_ref_f(g, x, p);
                bad += !close_to(b, a, 1e-12, 1e-14);
            }
            check(bad == 0, "'%s': printed derivative '%s' differs at %d points", c->expr, fx_derivative_text(f), bad);
            fx_free(g);
        }
        fx_free(f);
    }
}

static void test_derivative_text(void) {
    static const struct { const char *expr, *want; } cases[] = {
        {"x >= 0 ? x : -log(1-x)", "x >= 0 ? 1 : 1/(1 - x)"},
        {"x >= 0 ? x : -log1p(-x)", "x >= 0 ? 1 : 1/(1 - x)"},
        {"abs(x)", "sign(x)"},
        {"x^3", "3*x^2"},
        {"x*x", "2*x"},
        {"sqrt(x)", "0.5/sqrt(x)"},
        {"3*x + 2", "3"},
        {"max(x, 0)", "x >= 0 ? 1 : 0"},
        {"x > 0 ? 2*x : 2*x", "2"},
        {"tanh(x)", "1 - tanh(x)^2"},
        {"sigmoid(x)", "sigmoid(x)*(1 - sigmoid(x))"},
        {"softplus(x)", "sigmoid(x)"},
        {"atan(x)", "1/(1 + x^2)"},
        {"expm1(x)", "exp(x)"},
        {"log1p(x)", "1/(1 + x)"},
        {"x^2.5", "2.5*x^1.5"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fx_formula *f = compile_or_fail(cases[i].expr, NULL, 0, 0);
        if (!f) continue;
        check(strcmp(fx_derivative_text(f), cases[i].want) == 0, "derivative of '%s': got '%s', want '%s'",
              cases[i].expr, fx_derivative_text(f), cases[i].want);
        fx_free(f);
    }
    const char *names[] = {"beta"};
    fx_formula *f = compile_or_fail("x*sigmoid(beta*x)", names, 1, 1);
    if (f) {
        check(fx_dparam_text(f, 0) && strstr(fx_dparam_text(f, 0), "sigmoid(beta*x)"), "d/dbeta text: %s",
              fx_dparam_text(f, 0) ? fx_dparam_text(f, 0) : "(null)");
        fx_free(f);
    }
    f = compile_or_fail("x*sigmoid(beta*x)", names, 1, 0);
    if (f) {
        check(fx_dparam_text(f, 0) == NULL, "no df/dp text for a fixed parameter");
        fx_free(f);
    }
}

/* Conventions at the points where f is not differentiable (PyTorch's). */
static void test_conventions(void) {
    static const struct { const char *expr; double x, want; } cases[] = {
        {"abs(x)", 0, 0},                       {"x >= 0 ? x : 0.1*x", 0, 1},
        {"x > 0 ? x : 0.1*x", 0, 0.1},          {"max(x, 0)", 0, 1},
        {"min(x, 0)", 0, 1},                    {"max(x, 0)", -1, 0},
        {"max(0, x)", 0, 0},                    {"x >= 0 ? x : -log(1-x)", 0, 1},
        {"(x > 0) * x", 0, 0},                  {"(x > 0) * x", 2, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fx_formula *f = compile_or_fail(cases[i].expr, NULL, 0, 0);
        if (!f) continue;
        double got = fx_ref_df(f, cases[i].x, NULL);
        check(got == cases[i].want, "f' of '%s' at %g: got %g, want %g", cases[i].expr, cases[i].x, got, cases[i].want);
        fx_free(f);
    }
}

/* ---- float kernels ---- */

static const int lengths[] = {1, 7, 17, 1000, 4099};

/* Compare forward and backward of f with the double reference on arrays. */
static void check_kernels(const char *expr, const fx_formula *f, const double *pd, int np, unsigned learnable,
                          double lo, double hi) {
    float p[FX_MAX_PARAMS] = {0};
    for (int k = 0; k < np; k++) p[k] = (float)pd[k];
    double pr[FX_MAX_PARAMS] = {0};
    for (int k = 0; k < np; k++) pr[k] = p[k];   /* the reference sees exactly the float values */
    for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
        int n = lengths[li];
        float *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
        float *dy = malloc((size_t)n * sizeof *dy), *dx = malloc((size_t)n * sizeof *dx);
        for (int i = 0; i < n; i++) {
            x[i] = (float)uniform(lo, hi);
            dy[i] = (float)uniform(-1, 1);
        }
        fx_forward(f, y, x, n, p);
        float dp[ACTLAB_ACT_MAX_PARAMS];
        fx_backward(f, dx, dp, dy, x, n, p);
        int bad_f = 0, bad_d = 0;
        double sum_ref[FX_MAX_PARAMS] = {0}, sum_abs[FX_MAX_PARAMS] = {0};
        for (int i = 0; i < n; i++) {
            double xf = x[i], tol = 1e-6 * (1 + fabs(xf));
            double want = fx_ref_f(f, xf, pr), wantd = (double)dy[i] * fx_ref_df(f, xf, pr);
            if (!close_to(y[i], want, 2e-6, tol) && bad_f++ < 3)
                check(0, "forward '%s' n=%d x=%.9g: float %.9g, double %.9g", expr, n, xf, y[i], want);
            if (!close_to(dx[i], wantd, 2e-6, tol) && bad_d++ < 3)
                check(0, "backward '%s' n=%d x=%.9g: float %.9g, double %.9g", expr, n, xf, dx[i], wantd);
            double d[FX_MAX_PARAMS];
            fx_ref_dparam(f, d, xf, pr);
            for (int k = 0; k < np; k++) {
                sum_ref[k] += dy[i] * d[k];
                sum_abs[k] += fabs(dy[i] * d[k]);
            }
        }
        check(bad_f == 0 && bad_d == 0, "'%s' n=%d: %d forward and %d backward mismatches", expr, n, bad_f, bad_d);
        for (int k = 0; k < ACTLAB_ACT_MAX_PARAMS; k++) {
            double want = k < np && (learnable >> k & 1) ? sum_ref[k] : 0;
            double scale = k < np ? sum_abs[k] : 0;
            check(close_to(dp[k], want, 0, 1e-5 * scale + 1e-6), "'%s' n=%d: dp[%d] = %.9g, double sum %.9g", expr,
                  n, k, dp[k], want);
        }

        /* dx may alias dy, y may alias x; the results are the same bits. */
        float *buf = malloc((size_t)n * sizeof *buf), dp2[ACTLAB_ACT_MAX_PARAMS];
        memcpy(buf, dy, (size_t)n * sizeof *buf);
        fx_backward(f, buf, dp2, buf, x, n, p);
        check(memcmp(buf, dx, (size_t)n * sizeof *buf) == 0 && memcmp(dp, dp2, sizeof dp) == 0,
              "'%s' n=%d: backward with dx aliasing dy differs", expr, n);
        memcpy(buf, dy, (size_t)n * sizeof *buf);
        fx_backward(f, buf, NULL, buf, x, n, p);
        check(memcmp(buf, dx, (size_t)n * sizeof *buf) == 0, "'%s' n=%d: backward without dp differs", expr, n);
        memcpy(buf, x, (size_t)n * sizeof *buf);
        fx_forward(f, buf, buf, n, p);
        check(memcmp(buf, y, (size_t)n * sizeof *buf) == 0, "'%s' n=%d: in-place forward differs", expr, n);
        free(buf);
        free(x);
        free(y);
        free(dy);
        free(dx);
    }
}

static void test_kernels(void) {
    static const struct { const char *expr; int np; const char *names[2]; double p[2]; unsigned learnable; double lo, hi; } cases[] = {
        {"x >= 0 ? x : -log(1-x)", 0, {0}, {0}, 0, -6, 6},
        {"x >= 0 ? x : -log1p(-x)", 0, {0}, {0}, 0, -6, 6},
        {"x*sigmoid(beta*x)", 1, {"beta"}, {1.3}, 1, -6, 6},
        {"x*tanh(softplus(x))", 0, {0}, {0}, 0, -6, 6},
        {"x*tanh(log(1+exp(x)))", 0, {0}, {0}, 0, -6, 6},
        {"0.5*x*(1+erf(x/sqrt(2)))", 0, {0}, {0}, 0, -6, 6},
        {"x > 0 ? x : a*(exp(x) - 1)", 1, {"a"}, {0.8}, 1, -4, 4},
        {"max(x, a*x) + min(x, b)", 2, {"a", "b"}, {0.1, 2}, 3, -4, 4},
        {"x > 1 ? sqrt(x) : x > -1 ? x^2/2 + 0.5 : exp(x+1)*0.5", 0, {0}, {0}, 0, -4, 4},
        {"atan(x) + sin(x)*cos(x) + abs(x) + sign(x)", 0, {0}, {0}, 0, -4, 4},
        {"pow(x, b) + 2^x + x^3", 1, {"b"}, {1.5}, 1, 0.1, 3},
        {"expm1(x)/(1 + x^2) - tanh(x)", 0, {0}, {0}, 0, -4, 4},
        {"(x > 0) * x + (x < 0) * 0.5 + (x == 0) + (x != 1) + (x <= 2) + (x >= -2)", 0, {0}, {0}, 0, -3, 3},
        {"x", 0, {0}, {0}, 0, -3, 3},
        {"2.5", 0, {0}, {0}, 0, -3, 3},
        {"a*x + b", 2, {"a", "b"}, {0.5, -1}, 2, -3, 3},
        {"2*x + b", 1, {"b"}, {1}, 1, -3, 3},
        {"sin(x) ? 2*x : 3", 0, {0}, {0}, 0, -3, 3},
        {"-x", 0, {0}, {0}, 0, -3, 3},
        {"-(a*x)^2 + -x*-a", 1, {"a"}, {0.7}, 1, -3, 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fx_formula *f = compile_or_fail(cases[i].expr, cases[i].names, cases[i].np, cases[i].learnable);
        if (!f) continue;
        check_kernels(cases[i].expr, f, cases[i].p, cases[i].np, cases[i].learnable, cases[i].lo, cases[i].hi);
        fx_free(f);
    }
}

/* Kernels called from several OpenMP threads at once give the serial result. */
static void test_threads(void) {
    fx_formula *f = compile_or_fail("x*sigmoid(x) + (x > 0 ? log1p(x) : 0)", NULL, 0, 0);
    if (!f) return;
    enum { N = 1 << 16, CHUNK = 1000 };
    float *x = malloc(N * sizeof *x), *y1 = malloc(N * sizeof *y1), *y2 = malloc(N * sizeof *y2);
    for (int i = 0; i < N; i++) x[i] = (float)uniform(-5, 5);
    float p[FX_MAX_PARAMS] = {0};
    fx_forward(f, y1, x, N, p);
#pragma omp parallel for schedule(dynamic)
    for (int c = 0; c < N; c += CHUNK) fx_forward(f, y2 + c, x + c, N - c < CHUNK ? N - c : CHUNK, p);
    check(memcmp(y1, y2, N * sizeof *y1) == 0, "threaded forward differs from serial");
    free(x);
    free(y1);
    free(y2);
    fx_free(f);
}

/* erelu has no NaN for any finite or infinite input; NaN propagates. */
static void test_special_values(void) {
    const char *forms[] = {"x >= 0 ? x : -log1p(-x)", "x >= 0 ? x : -log(1-x)"};
    const float xs[] = {INFINITY, -INFINITY, 1e30f, -1e30f, FLT_MAX, -FLT_MAX, 0.0f, -0.0f, 1e-30f, -1e-30f};
    enum { N = sizeof xs / sizeof xs[0] };
    for (int i = 0; i < 2; i++) {
        fx_formula *f = compile_or_fail(forms[i], NULL, 0, 0);
        if (!f) continue;
        float p[FX_MAX_PARAMS] = {0}, y[N], dx[N], dy[N];
        for (int j = 0; j < N; j++) dy[j] = 1;
        fx_forward(f, y, xs, N, p);
        fx_backward(f, dx, NULL, dy, xs, N, p);
        for (int j = 0; j < N; j++) {
            check(!isnan(y[j]) && !isnan(dx[j]), "'%s' at %g: f = %g, f' = %g (no NaN expected)", forms[i], xs[j],
                  y[j], dx[j]);
            check(!isnan(fx_ref_f(f, xs[j], NULL)) && !isnan(fx_ref_df(f, xs[j], NULL)),
                  "'%s' reference at %g gives NaN", forms[i], xs[j]);
        }
        check(y[0] == INFINITY && y[1] == -INFINITY && dx[1] == 0 && dx[0] == 1,
              "'%s': f(inf) = %g, f(-inf) = %g, f'(-inf) = %g", forms[i], y[0], y[1], dx[1]);
        float nan_in[3] = {NAN, 1, -1}, out[3], one[3] = {1, 1, 1};
        fx_forward(f, out, nan_in, 3, p);
        check(isnan(out[0]) && out[1] == 1, "'%s': NaN should give NaN, got %g", forms[i], out[0]);
        fx_backward(f, out, NULL, one, nan_in, 3, p);
        check(isnan(out[0]), "'%s': NaN should give NaN gradient, got %g", forms[i], out[0]);
        check(isnan(fx_ref_f(f, NAN, NULL)), "'%s': reference of NaN should be NaN", forms[i]);
        fx_free(f);
    }
}

/* ---- kinks ---- */

static void test_kinks(void) {
    static const struct { const char *expr; double a; int n; double want[4]; } cases[] = {
        {"x >= 0 ? x : -log(1-x)", 0, 1, {0}},
        {"x > a ? x : 0", 0.3, 1, {0.3}},
        {"abs(x) + max(x, 1) + min(2, x)", 0, 3, {0, 1, 2}},
        {"1 > x ? 1 : 2", 0, 1, {1}},
        {"x*sigmoid(x)", 0, 0, {0}},
        {"abs(x) + (x > 0 ? 1 : 0) + (0 <= x)", 0, 1, {0}},
        {"x > 2*a ? x : 0", 0.5, 1, {1}},
        {"(x < -3) + (x < -2) + (x < -1) + (x < 1) + (x < 2) + (x < 3)", 0, 4, {-3, -2, -1, 1}},
        {"max(x, 0)^2", 0, 1, {0}},
        {"x > a ? 1 : 0", NAN, 0, {0}},
    };
    const char *names[] = {"a"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fx_formula *f = compile_or_fail(cases[i].expr, names, 1, 0);
        if (!f) continue;
        double p[FX_MAX_PARAMS] = {cases[i].a}, k[ACTLAB_ACT_MAX_KINKS];
        int n = fx_kinks(f, k, p);
        int ok = n == cases[i].n;
        for (int j = 0; ok && j < n; j++) ok = fabs(k[j] - cases[i].want[j]) < 1e-15;
        check(ok, "kinks of '%s': got %d (%g %g ...), want %d", cases[i].expr, n, n > 0 ? k[0] : 0, n > 1 ? k[1] : 0,
              cases[i].n);
        fx_free(f);
    }
}

/* ---- errors ---- */

static void test_expression_errors(void) {
    static const struct { const char *expr; const char *params; int col; const char *phrase; } cases[] = {
        {"max(x + (1", NULL, 11, "expected ')' to close '(' opened at column 9"},
        {"2*(x + 1", NULL, 9, "expected ')' to close '(' opened at column 3"},
        {"x + lg(x)", NULL, 5, "unknown function 'lg' (known: exp, log,"},
        {"x + a*b", "a=1", 7, "unknown name 'b': not x, pi, e or a parameter (declared: a)"},
        {"x + b", NULL, 5, "(no parameters declared)"},
        {"x +", NULL, 4, "expected an expression, found end of input"},
        {"", NULL, 1, "expected an expression, found end of input"},
        {"   ", NULL, 4, "expected an expression, found end of input"},
        {"sigmoid(x, 2)", NULL, 1, "sigmoid takes 1 argument, got 2"},
        {"max(x)", NULL, 1, "max takes 2 arguments, got 1"},
        {"x**2", NULL, 3, "write powers as x^2"},
        {"1 < x < 2", NULL, 7, "comparisons do not chain"},
        {"2x", NULL, 2, "expected an operator or end of input, found 'x'"},
        {"x)", NULL, 2, "unmatched ')'"},
        {"x > 0 ? 1", NULL, 10, "expected ':' to go with '?' at column 7"},
        {"exp + 1", NULL, 1, "'exp' is a function"},
        {"1e+", NULL, 1, "malformed number"},
        {"x $ 2", NULL, 3, "unexpected character '$'"},
        {"x = 1", NULL, 3, "write == to compare"},
        {"x(2)", NULL, 1, "unknown function 'x'"},
        {"1e999 * x", NULL, 1, "out of range"},
        {"max(x, 1", NULL, 9, "expected ',' or ')' to close '(' opened at column 4"},
        {"x ? : 1", NULL, 5, "expected an expression, found ':'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[512] = "", col[32];
        const actlab_act *a = actlab_act_define("fx_test_bad_expr", cases[i].expr, cases[i].params, err, sizeof err);
        snprintf(col, sizeof col, "column %d:", cases[i].col);
        check(a == NULL && strncmp(err, col, strlen(col)) == 0 && strstr(err, cases[i].phrase),
              "'%s': got \"%s\", want \"%s ...%s...\"", cases[i].expr, err, col, cases[i].phrase);
    }
    char deep[600];
    memset(deep, '(', 500);
    strcpy(deep + 500, "x");
    fx_error e;
    fx_formula *f = fx_compile(deep, NULL, 0, 0, &e);
    check(!f && strstr(e.msg, "nested too deeply") && e.col == 201, "deep nesting: column %d: %s", e.col, e.msg);
    fx_free(f);
    /* A sum of 1500 different terms is deeper than the graph allows. */
    size_t cap = 20000, len = 0;
    char *sum = malloc(cap);
    for (int i = 1; i <= 1500; i++) len += (size_t)snprintf(sum + len, cap - len, "%sx^%d", i > 1 ? "+" : "", i);
    f = fx_compile(sum, NULL, 0, 0, &e);
    check(!f && e.col == 0 && strstr(e.msg, "more than 1000 levels"), "long sum: column %d: %s", e.col, e.msg);
    fx_free(f);
    free(sum);
}

static void test_param_list(void) {
    static const struct { const char *params; const char *phrase; } bad[] = {
        {"a", "expected '=' after the name 'a'"},
        {"a=", "expected a number for the value"},
        {"a=x", "expected a number for the value, found 'x'"},
        {"1a=2", "expected a parameter name"},
        {"pi=1", "'pi' cannot be a parameter name"},
        {"exp=1", "'exp' cannot be a parameter name"},
        {"x=1", "'x' cannot be a parameter name"},
        {"a=1;a=2", "declared twice"},
        {"a=1;b=2;c=3;d=4;f=5", "too many parameters (at most 4)"},
        {"a=2 in [0,1]", "outside its range [0, 1]"},
        {"a=0.5 in [1,0]", "empty range"},
        {"a=0.5 in [0,1", "expected ']' to close the range"},
        {"a=1 foo", "expected 'in [LO, HI]'"},
        {"learnable", "'learnable' cannot be a parameter name: it is a keyword"},
        {"learnable a", "expected '=' after the name 'a'"},
        {"a=inf", "finite"},
        {"a=nan", "finite"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[512] = "";
        const actlab_act *a = actlab_act_define("fx_test_bad_params", "x", bad[i].params, err, sizeof err);
        check(a == NULL && strstr(err, "parameters, column") && strstr(err, bad[i].phrase),
              "params \"%s\": got \"%s\", want \"...%s...\"", bad[i].params, err, bad[i].phrase);
    }
    char err[512] = "";
    const actlab_act *a = actlab_act_define("fx_test_params", "a*x + b*x^2 + c", " a = 0.25 in [0, 1]; learnable b=-1.5e-1 ,c=2 in [-inf, inf];",
                                            err, sizeof err);
    check(a != NULL, "a good parameter list was refused: %s", err);
    if (!a) return;
    check(a->nparam == 3 && strcmp(a->param[0].name, "a") == 0 && a->param[0].def == 0.25 && a->param[0].lo == 0 &&
              a->param[0].hi == 1 && a->param[0].kind == ACTLAB_PARAM_FIXED,
          "parameter a parsed wrong");
    check(strcmp(a->param[1].name, "b") == 0 && a->param[1].def == -0.15 && a->param[1].kind == ACTLAB_PARAM_LEARNABLE &&
              isinf(a->param[1].lo) && isinf(a->param[1].hi),
          "parameter b parsed wrong");
    check(strcmp(a->param[2].name, "c") == 0 && a->param[2].def == 2 && a->param[2].lo == -INFINITY, "parameter c parsed wrong");
    check(a->ref_dparam != NULL, "a learnable parameter should give ref_dparam");
    double p[4] = {0.25, -0.15, 2}, out[4];
    a->ref_dparam(out, 2, p, a->ctx);
    check(out[0] == 0 && out[1] == 4 && out[2] == 0, "dparam at x=2: %g %g %g, want 0 4 0", out[0], out[1], out[2]);
}

/* ---- catalogue entries ---- */

static void test_define(void) {
    char err[512] = "";
    const actlab_act *a = actlab_act_define("fx_test_erelu", "  x >= 0 ? x : -log(1-x) ", NULL, err, sizeof err);
    check(a != NULL, "define fx_test_erelu: %s", err);
    if (!a) return;
    check(actlab_act_find("fx_test_erelu") == a, "actlab_act_find does not find fx_test_erelu");
    check(a->flags == (ACTLAB_ACT_USER | ACTLAB_ACT_NO_TORCH) && a->noise == ACTLAB_NOISE_NONE && a->nparam == 0,
          "entry flags/noise/nparam wrong");
    check(strcmp(a->formula, "x >= 0 ? x : -log(1-x)") == 0, "formula text '%s'", a->formula);
    check(strcmp(a->derivative, "x >= 0 ? 1 : 1/(1 - x)") == 0, "derivative text '%s'", a->derivative);
    check(strcmp(a->citation, "user formula") == 0 && strcmp(a->aliases, "") == 0, "citation/aliases");
    check(strstr(a->note, "command line") != NULL, "note '%s'", a->note);
    check(a->ref_dparam == NULL && a->kinks && a->forward && a->backward && a->ref_f && a->ref_df, "entry functions");
    double k[ACTLAB_ACT_MAX_KINKS], p[ACTLAB_ACT_MAX_PARAMS] = {0};
    check(a->kinks(k, p, a->ctx) == 1 && k[0] == 0, "entry kinks");
    check(a->ref_f(-1, p, NULL, a->ctx) == -log(2.0), "entry ref_f(-1) = %g", a->ref_f(-1, p, NULL, a->ctx));
    check(a->ref_df(-1, p, NULL, a->ctx) == 0.5, "entry ref_df(-1) = %g", a->ref_df(-1, p, NULL, a->ctx));

    /* The kernels through the entry, with the catalogue's signatures. */
    float x[5] = {-2, -0.5f, 0, 0.5f, 2}, y[5], dy[5] = {1, 1, 1, 1, 1}, fp[ACTLAB_ACT_MAX_PARAMS] = {0}, dp[ACTLAB_ACT_MAX_PARAMS] = {9, 9, 9, 9};
    a->forward(y, x, 5, fp, NULL, a->ctx);
    check(fabsf(y[0] - (float)-log(3.0)) < 1e-6f && y[4] == 2, "entry forward: %g %g", y[0], y[4]);
    a->backward(dy, dp, dy, x, y, 5, fp, NULL, a->ctx);
    check(fabsf(dy[0] - 1 / 3.0f) < 1e-6f && dy[2] == 1 && dy[4] == 1 && dp[0] == 0 && dp[3] == 0,
          "entry backward: %g %g %g, dp %g", dy[0], dy[2], dy[4], dp[0]);

    err[0] = 0;
    check(actlab_act_define("fx_test_erelu", "x", NULL, err, sizeof err) == NULL && err[0],
          "a duplicate name should be refused");
    a = actlab_act_define("fx_test_swish", "x*sigmoid(beta*x)", "learnable beta=1", err, sizeof err);
    check(a && a->nparam == 1 && a->param[0].kind == ACTLAB_PARAM_LEARNABLE && a->ref_dparam,
          "fx_test_swish with a learnable beta: %s", a ? "wrong entry" : err);
    if (a) {
        float xs[3] = {-1, 0.5f, 2}, g[3] = {1, 2, 3}, dpf[ACTLAB_ACT_MAX_PARAMS], bp[ACTLAB_ACT_MAX_PARAMS] = {1};
        a->backward(g, dpf, g, xs, NULL, 3, bp, NULL, a->ctx);
        double want = 0, pd[ACTLAB_ACT_MAX_PARAMS] = {1}, o[ACTLAB_ACT_MAX_PARAMS];
        const float gs[3] = {1, 2, 3};
        for (int i = 0; i < 3; i++) {
            a->ref_dparam(o, xs[i], pd, a->ctx);
            want += gs[i] * o[0];
        }
        check(fabs(dpf[0] - want) < 1e-5 && dpf[1] == 0, "swish dbeta = %g, want %g", dpf[0], want);
    }
}

/* ---- definitions files ---- */

static int write_file(const char *path, const char *text) {
    FILE *fp = fopen(path, "w");
    if (!fp) return -1;
    fputs(text, fp);
    return fclose(fp);
}

static void test_file(void) {
    char dir[] = "/tmp/test_formula_XXXXXX";
    if (!mkdtemp(dir)) {
        check(0, "mkdtemp failed");
        return;
    }
    char good[300], bad[300], err[512];
    snprintf(good, sizeof good, "%s/good.act", dir);
    snprintf(bad, sizeof bad, "%s/bad.act", dir);

    write_file(good,
               "# two functions\n"
               "param a = 0.25 in [0, 1]\n"
               "learnable beta = 1.5   # a trained parameter\n"
               "\n"
               "fx_file_swish = x * sigmoid(beta * x)\n"
               "  fx_file_leaky=x >= 0 ? x : a*x\n");
    err[0] = 0;
    int n = actlab_act_load_file(good, err, sizeof err);
    check(n == 2, "good file: got %d (%s)", n, err);
    const actlab_act *s = actlab_act_find("fx_file_swish"), *l = actlab_act_find("fx_file_leaky");
    check(s && s->nparam == 1 && strcmp(s->param[0].name, "beta") == 0 && s->param[0].def == 1.5 &&
              s->param[0].kind == ACTLAB_PARAM_LEARNABLE,
          "fx_file_swish should take only beta");
    check(l && l->nparam == 1 && strcmp(l->param[0].name, "a") == 0 && l->param[0].hi == 1 &&
              l->param[0].kind == ACTLAB_PARAM_FIXED && l->ref_dparam == NULL,
          "fx_file_leaky should take only a");
    if (l) {
        double p[ACTLAB_ACT_MAX_PARAMS] = {0.25};
        check(l->ref_f(-2, p, NULL, l->ctx) == -0.5, "fx_file_leaky(-2) = %g", l->ref_f(-2, p, NULL, l->ctx));
        check(strstr(l->note, "good.act:6") != NULL, "note '%s' should name good.act:6", l->note);
    }

    /* Every line of a bad file is checked before anything is registered. */
    static const struct { const char *text, *where, *phrase; } cases[] = {
        {"param a = 0.5\nfx_bad_1 = x + a\nfx_bad_2 = max(x, a\n", ":3:20:", "expected ',' or ')' to close '(' opened at column 15"},
        {"param 1a = 2\n", ":1:7:", "expected a parameter name"},
        {"foo bar\n", ":1:5:", "expected '=' after 'foo'"},
        {"fx_bad_3 = x + b\n", ":1:16:", "unknown name 'b'"},
        {"param b = 1\nfx_bad_4 = x\nfx_bad_4 = x + b\n", ":3:1:", "defined twice (first on line 2)"},
        {"fx_file_swish = x\n", ":1:1:", "already exists"},
        {"learnable k = 2 in [0, 1]\n", ":1:15:", "outside its range"},
        {"param a=1\nparam b=1\nparam c=1\nparam d=1\nparam f=1\nfx_bad_5 = a+b+c+d+f\n", ":6:12:",
         "more than 4 parameters"},
        {"= x\n", ":1:1:", "expected 'param NAME = VALUE'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file(bad, cases[i].text);
        err[0] = 0;
        n = actlab_act_load_file(bad, err, sizeof err);
        char where[400];
        snprintf(where, sizeof where, "%s%s", bad, cases[i].where);
        check(n == -1 && strncmp(err, where, strlen(where)) == 0 && strstr(err, cases[i].phrase),
              "bad file %zu: got %d \"%s\", want \"%s ...%s...\"", i, n, err, where, cases[i].phrase);
    }
    check(actlab_act_find("fx_bad_1") == NULL && actlab_act_find("fx_bad_4") == NULL,
          "a function from a bad file was registered");

    /* A later declaration replaces an earlier one for the functions below it. */
    write_file(bad, "param a = 1\nfx_file_a1 = a*x\nparam a = 2\nfx_file_a2 = a*x\n");
    n = actlab_act_load_file(bad, err, sizeof err);
    const actlab_act *a1 = actlab_act_find("fx_file_a1"), *a2 = actlab_act_find("fx_file_a2");
    check(n == 2 && a1 && a2 && a1->param[0].def == 1 && a2->param[0].def == 2, "redeclared parameter: %d %s", n,
          n < 0 ? err : "");

    char missing[320];
    snprintf(missing, sizeof missing, "%s/missing.act", dir);
    n = actlab_act_load_file(missing, err, sizeof err);
    check(n == -1 && strstr(err, missing) && strstr(err, "No such file"), "missing file: \"%s\"", err);

    unlink(good);
    unlink(bad);
    rmdir(dir);
}

int main(void) {
    test_precedence();
    test_functions();
    test_derivatives();
    test_derivative_text();
    test_conventions();
    test_kernels();
    test_threads();
    test_special_values();
    test_kinks();
    test_expression_errors();
    test_param_list();
    test_define();
    test_file();
    printf("test_formula: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
