/*
 * test_catalogue.c — every catalogue entry, checked the same way:
 * float32 kernels against the double reference, the reference derivative
 * against central differences, exact values at kinks, extreme and NaN inputs,
 * learnable-parameter gradients, per-channel parameters, thread-count
 * independence, the random functions' train/eval semantics, and spec parsing.
 * The loops run over the table, so a new entry is tested without edits here.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "actlab/act.h"
#include "check.h"

#define RTOL 4e-6 /* a few float ulps */

static int near_kink(const actlab_act_cfg *cfg, double x, double dist) {
    double k[ACTLAB_ACT_MAX_KINKS];
    int nk = actlab_act_kinks(cfg, k);
    for (int i = 0; i < nk; i++)
        if (fabs(x - k[i]) <= dist) return 1;
    return 0;
}

/* Inputs: special values, kinks and their neighbours, and seeded random ones. */
static int make_inputs(const actlab_act_cfg *cfg, float *x, int max) {
    static const float special[] = {0, 1e-7f, -1e-7f, 1e-3f, -1e-3f, 0.5f, -0.5f, 1, -1, 2.5f, -2.5f, 3, -3,
                                    6, -6, 10, -10, 20, -20, 50, -50, 100, -100, 1e30f, -1e30f};
    int n = 0;
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) x[n++] = special[i];
    double k[ACTLAB_ACT_MAX_KINKS];
    int nk = actlab_act_kinks(cfg, k);
    for (int i = 0; i < nk; i++) {
        x[n++] = (float)k[i];
        /* the floats beside the kink; beside 0 the smallest normal ones, as subnormals
         * may be flushed to zero and f of one can round to 0 (see relu_softplus's note) */
        x[n++] = k[i] == 0 ? FLT_MIN : nextafterf((float)k[i], INFINITY);
        x[n++] = k[i] == 0 ? -FLT_MIN : nextafterf((float)k[i], -INFINITY);
        x[n++] = (float)k[i] + 1e-3f;
        x[n++] = (float)k[i] - 1e-3f;
    }
    for (uint64_t i = 0; n < max; i++) {
        float z = actlab_noise_normal(11, 0, i);
        x[n++] = i % 3 == 0 ? 30 * (actlab_noise_uniform(11, 1, i) - 0.5f) : 3 * z;
    }
    return n;
}

/* Kernels against the reference on many inputs and lengths (vector tails included). */
static void check_kernels(const actlab_act_cfg *cfg) {
    enum { N = 1027 };
    float x[N], y[N], dy[N], dx[N];
    int n = make_inputs(cfg, x, N);
    for (int i = 0; i < n; i++) dy[i] = 1;
    actlab_act_call call = actlab_act_call_default(cfg);
    const actlab_act *a = cfg->act;
    int from_y = (a->flags & ACTLAB_ACT_FROM_Y) != 0;
    char err[256];
    CHECK(actlab_act_forward(&call, y, x, n, err, sizeof err) == 0, "%s forward: %s", a->name, err);
    /* From-y functions get x = NULL: they must not read it. */
    CHECK(actlab_act_backward(&call, dx, dy, from_y ? NULL : x, from_y ? y : NULL, n, err, sizeof err) == 0,
          "%s backward: %s", a->name, err);
    int bad_f = 0, bad_d = 0;
    for (int i = 0; i < n; i++) {
        double wf = (float)actlab_act_ref_f(cfg, x[i]), wd = (float)actlab_act_ref_df(cfg, x[i]);
        double atol = 2e-7 * fmax(1, fabs(x[i]));
        if (!check_close(y[i], wf, RTOL, atol) && bad_f++ < 3)
            CHECK(0, "%s f(%.9g) = %.9g, reference %.9g", a->name, x[i], y[i], wf);
        if (!check_close(dx[i], wd, RTOL, 2e-6) && bad_d++ < 3)
            CHECK(0, "%s f'(%.9g) = %.9g, reference %.9g", a->name, x[i], dx[i], wd);
    }
    CHECK(bad_f == 0 && bad_d == 0, "%s: %d forward and %d backward mismatches", a->name, bad_f, bad_d);

    /* Same results for every length (each length exercises another vector tail), dx aliasing dy. */
    for (int len = 1; len <= 40; len += 3) {
        float y2[40], d2[40];
        for (int i = 0; i < len; i++) d2[i] = 1;
        actlab_act_forward(&call, y2, x + 5, len, err, sizeof err);
        actlab_act_backward(&call, d2, d2, from_y ? NULL : x + 5, from_y ? y2 : NULL, len, err, sizeof err);
        int same = 1;
        for (int i = 0; i < len; i++)
            same &= (y2[i] == y[5 + i] || (isnan(y2[i]) && isnan(y[5 + i]))) &&
                    (d2[i] == dx[5 + i] || (isnan(d2[i]) && isnan(dx[5 + i])));
        CHECK(same, "%s: length %d differs from the long run", a->name, len);
    }
}

/* The reference derivative against central differences of the reference f. */
static void check_reference_derivative(const actlab_act_cfg *cfg) {
    int bad = 0;
    for (int i = 0; i < 400; i++) {
        double x = -12 + 24.0 * (i + 0.37) / 400;
        double h = 1e-5 * fmax(1, fabs(x));
        if (near_kink(cfg, x, 20 * h)) continue;
        double fd = (actlab_act_ref_f(cfg, x + h) - actlab_act_ref_f(cfg, x - h)) / (2 * h);
        double d = actlab_act_ref_df(cfg, x);
        if (!check_close(d, fd, 1e-5, 1e-7) && bad++ < 3)
            CHECK(0, "%s: f'(%g) = %.10g but central difference gives %.10g", cfg->act->name, x, d, fd);
    }
    CHECK(bad == 0, "%s: %d derivative mismatches", cfg->act->name, bad);
}

/* +-inf, +-1e30, +-100 give no NaN in f or f'; NaN in gives NaN out. */
static void check_extremes(const actlab_act_cfg *cfg) {
    float x[8] = {INFINITY, -INFINITY, 1e30f, -1e30f, 100, -100, NAN, 0}, y[8], dy[8], dx[8];
    for (int i = 0; i < 8; i++) dy[i] = 1;
    actlab_act_call call = actlab_act_call_default(cfg);
    char err[256];
    actlab_act_forward(&call, y, x, 8, err, sizeof err);
    actlab_act_backward(&call, dx, dy, x, y, 8, err, sizeof err);
    for (int i = 0; i < 6; i++) {
        CHECK(!isnan(y[i]) && !isnan(dx[i]), "%s at %g: f = %g, f' = %g", cfg->act->name, x[i], y[i], dx[i]);
        double wf = (float)actlab_act_ref_f(cfg, x[i]);
        CHECK(check_close(y[i], wf, RTOL, 1e-7), "%s f(%g) = %.9g, reference %.9g", cfg->act->name, x[i], y[i], wf);
    }
    CHECK(isnan(y[6]), "%s: f(NaN) = %g, expected NaN", cfg->act->name, y[6]);
}

/* Learnable parameters: kernel sums against the reference, reference against differences. */
static void check_learnable(const actlab_act_cfg *cfg) {
    const actlab_act *a = cfg->act;
    enum { N = 300 };
    float x[N], y[N], dy[N], dx[N];
    double want[ACTLAB_ACT_MAX_PARAMS] = {0}, got[ACTLAB_ACT_MAX_PARAMS] = {0};
    for (int i = 0; i < N; i++) {
        x[i] = 4 * actlab_noise_normal(5, 0, (uint64_t)i);
        dy[i] = actlab_noise_uniform(5, 1, (uint64_t)i) - 0.3f;
        double d[ACTLAB_ACT_MAX_PARAMS];
        actlab_act_ref_dparam(cfg, x[i], d);
        for (int k = 0; k < a->nparam; k++) want[k] += dy[i] * d[k];
    }
    actlab_act_call call = actlab_act_call_default(cfg);
    call.param_grad = got;
    char err[256];
    actlab_act_forward(&call, y, x, N, err, sizeof err);
    actlab_act_backward(&call, dx, dy, x, y, N, err, sizeof err);
    for (int k = 0; k < a->nparam; k++) {
        if (a->param[k].kind != ACTLAB_PARAM_LEARNABLE) continue;
        CHECK(check_close(got[k], want[k], 1e-5, 1e-5), "%s d/d%s: kernel %.9g, reference %.9g", a->name,
              a->param[k].name, got[k], want[k]);
        /* the reference itself against a central difference in the parameter */
        for (int i = 0; i < 40; i++) {
            double xv = -6 + 12.0 * (i + 0.4) / 40, h = 1e-5;
            actlab_act_cfg up = *cfg, dn = *cfg;
            up.p[k] += (float)h;
            dn.p[k] -= (float)h;
            double step = (double)up.p[k] - dn.p[k];
            double fd = (actlab_act_ref_f(&up, xv) - actlab_act_ref_f(&dn, xv)) / step;
            double d[ACTLAB_ACT_MAX_PARAMS];
            actlab_act_ref_dparam(cfg, xv, d);
            CHECK(check_close(d[k], fd, 1e-4, 1e-6), "%s d/d%s at x=%g: %.9g vs difference %.9g", a->name,
                  a->param[k].name, xv, d[k], fd);
        }
    }
}

/* PReLU with one a per channel, on an (outer=2, channels=3, inner=7) tensor. */
static void check_per_channel(void) {
    actlab_act_cfg cfg;
    actlab_act_parse("prelu", &cfg, NULL, 0);
    enum { O = 2, C = 3, I = 7, N = O * C * I };
    float x[N], y[N], dy[N], dx[N], a[C] = {0.1f, 0.5f, -0.2f};
    double grad[C] = {0}, want[C] = {0};
    for (int i = 0; i < N; i++) {
        x[i] = actlab_noise_normal(3, 0, (uint64_t)i);
        dy[i] = 1 + 0.1f * (float)i;
        int ch = (i / I) % C;
        if (x[i] <= 0) want[ch] += dy[i] * x[i];
    }
    actlab_act_call call = actlab_act_call_default(&cfg);
    call.channels = C;
    call.inner = I;
    call.param = a;
    call.param_grad = grad;
    char err[256];
    CHECK(actlab_act_forward(&call, y, x, N, err, sizeof err) == 0, "per-channel forward: %s", err);
    CHECK(actlab_act_backward(&call, dx, dy, x, y, N, err, sizeof err) == 0, "per-channel backward: %s", err);
    for (int i = 0; i < N; i++) {
        float s = a[(i / I) % C];
        CHECK(y[i] == (x[i] > 0 ? x[i] : s * x[i]), "per-channel y[%d]", i);
        CHECK(dx[i] == dy[i] * (x[i] > 0 ? 1 : s), "per-channel dx[%d]", i);
    }
    for (int c = 0; c < C; c++) CHECK(check_close(grad[c], want[c], 1e-6, 1e-6), "channel %d: da %g vs %g", c, grad[c], want[c]);
    CHECK(actlab_act_forward(&call, y, x, N - 1, err, sizeof err) != 0 && strstr(err, "channels"),
          "a length that does not divide into channels is refused");
}

/* Results do not depend on the thread count (bit for bit), gradients included. */
static void check_threads(void) {
    actlab_act_cfg cfg;
    actlab_act_parse("swish:beta=0.7", &cfg, NULL, 0);
    int64_t n = 1 << 20;
    float *buf = malloc(sizeof(float) * 6 * (size_t)n);
    float *x = buf, *dy = buf + n, *y1 = buf + 2 * n, *y2 = buf + 3 * n, *d1 = buf + 4 * n, *d2 = buf + 5 * n;
    for (int64_t i = 0; i < n; i++) {
        x[i] = 3 * actlab_noise_normal(9, 0, (uint64_t)i);
        dy[i] = actlab_noise_normal(9, 1, (uint64_t)i);
    }
    double g1[ACTLAB_ACT_MAX_PARAMS] = {0}, g2[ACTLAB_ACT_MAX_PARAMS] = {0};
    actlab_act_call c1 = actlab_act_call_default(&cfg), c2 = c1;
    c1.threads = 1;
    c1.param_grad = g1;
    c2.threads = 2;
    c2.param_grad = g2;
    char err[256];
    actlab_act_forward(&c1, y1, x, n, err, sizeof err);
    actlab_act_backward(&c1, d1, dy, x, y1, n, err, sizeof err);
    actlab_act_forward(&c2, y2, x, n, err, sizeof err);
    actlab_act_backward(&c2, d2, dy, x, y2, n, err, sizeof err);
    CHECK(memcmp(y1, y2, sizeof(float) * (size_t)n) == 0, "forward differs between 1 and 2 threads");
    CHECK(memcmp(d1, d2, sizeof(float) * (size_t)n) == 0, "backward differs between 1 and 2 threads");
    CHECK(g1[0] == g2[0], "dbeta differs between 1 and 2 threads: %.17g vs %.17g", g1[0], g2[0]);
    free(buf);
}

/* RReLU and Noisy ReLU: noise in training only, reproducible from the seed, kept for backward. */
static void check_random(void) {
    enum { N = 100000 };
    float *x = malloc(sizeof(float) * N * 6), *y = x + N, *y2 = y + N, *noise = y2 + N, *noise2 = noise + N, *dx = noise2 + N;
    char err[256];
    actlab_act_cfg cfg;
    actlab_act_parse("rrelu:lower=0.1,upper=0.3", &cfg, NULL, 0);
    for (int i = 0; i < N; i++) x[i] = -1 - (float)(i % 7);
    actlab_act_call call = actlab_act_call_default(&cfg);
    CHECK(actlab_act_forward(&call, y, x, N, err, sizeof err) == 0, "rrelu eval: %s", err);
    CHECK(fabsf(y[0] - 0.2f * x[0]) < 1e-6f, "rrelu eval slope is (lower+upper)/2: %g", y[0] / x[0]);
    call.training = 1;
    CHECK(actlab_act_forward(&call, y, x, N, err, sizeof err) != 0 && strstr(err, "noise"),
          "rrelu training without a noise buffer is refused");
    call.noise = noise;
    call.seed = 7;
    actlab_act_forward(&call, y, x, N, err, sizeof err);
    double mean = 0, lo = 1, hi = 0;
    for (int i = 0; i < N; i++) {
        double s = y[i] / x[i];
        mean += s / N;
        lo = fmin(lo, s);
        hi = fmax(hi, s);
    }
    CHECK(fabs(mean - 0.2) < 0.002 && lo >= 0.1 - 1e-6 && hi <= 0.3 + 1e-6, "rrelu slopes: mean %g in [%g, %g]", mean, lo, hi);
    actlab_act_backward(&call, dx, x, x, y, N, err, sizeof err); /* dy = x, so dx = slope * x = y */
    int same = 1;
    for (int i = 0; i < N; i++) same &= fabsf(dx[i] - y[i]) <= 1e-6f * fabsf(y[i]);
    CHECK(same, "rrelu backward uses the slopes forward drew");
    actlab_act_call again = call;
    again.noise = noise2;
    actlab_act_forward(&again, y2, x, N, err, sizeof err);
    CHECK(memcmp(y, y2, sizeof(float) * N) == 0, "rrelu: same seed and step, same output");
    again.step = 1;
    actlab_act_forward(&again, y2, x, N, err, sizeof err);
    CHECK(memcmp(y, y2, sizeof(float) * N) != 0, "rrelu: another step draws other slopes");

    actlab_act_parse("noisy_relu:sigma=0.5", &cfg, NULL, 0);
    for (int i = 0; i < N; i++) x[i] = 0;
    call = actlab_act_call_default(&cfg);
    actlab_act_forward(&call, y, x, N, err, sizeof err);
    int zero = 1;
    for (int i = 0; i < N; i++) zero &= y[i] == 0;
    CHECK(zero, "noisy_relu in evaluation is relu");
    call.training = 1;
    call.noise = noise;
    actlab_act_forward(&call, y, x, N, err, sizeof err);
    double m = 0;
    for (int i = 0; i < N; i++) m += y[i] / N;
    /* E[max(0, sigma z)] = sigma / sqrt(2 pi) */
    CHECK(fabs(m - 0.5 / sqrt(2 * M_PI)) < 0.005, "noisy_relu training mean %g, expected %g", m, 0.5 / sqrt(2 * M_PI));
    free(x);
}

static void check_parsing(void) {
    actlab_act_cfg cfg;
    char err[512];
    CHECK(actlab_act_parse("ReLU-Softsign", &cfg, err, sizeof err) == 0 && !strcmp(cfg.act->name, "relu_softsign"),
          "names ignore case and '-' vs '_'");
    CHECK(actlab_act_parse("f4", &cfg, err, sizeof err) == 0 && !strcmp(cfg.act->name, "erelu"), "alias f4 is erelu");
    CHECK(actlab_act_parse("leaky_relu:a=0.1", &cfg, err, sizeof err) == 0 && cfg.p[0] == 0.1f, "parameter set");
    CHECK(actlab_act_parse("leaky_relu", &cfg, err, sizeof err) == 0 && cfg.p[0] == 0.01f, "default a = 0.01");
    CHECK(actlab_act_parse("leaky_rleu", &cfg, err, sizeof err) != 0 && strstr(err, "did you mean leaky_relu"),
          "suggestion for a typo: %s", err);
    CHECK(actlab_act_parse("elu:alpha=-1", &cfg, err, sizeof err) != 0 && strstr(err, "[0, inf]"),
          "range named: %s", err);
    CHECK(actlab_act_parse("elu:gamma=1", &cfg, err, sizeof err) != 0 && strstr(err, "alpha"),
          "unknown parameter lists the valid ones: %s", err);
    CHECK(actlab_act_parse("elu:alpha", &cfg, err, sizeof err) != 0 && strstr(err, "KEY=VALUE"), "malformed: %s", err);
    CHECK(actlab_act_parse("elu:alpha=1x", &cfg, err, sizeof err) != 0 && strstr(err, "expected a number"), "bad number: %s", err);
    CHECK(actlab_act_parse("noisy_relu:sigmoid_var=0.5", &cfg, err, sizeof err) != 0 && strstr(err, "whole number"),
          "integer parameter: %s", err);
    CHECK(actlab_act_parse("hardtanh:min_val=2", &cfg, err, sizeof err) != 0 && strstr(err, "below"),
          "cross-parameter check: %s", err);
    CHECK(actlab_act_parse("", &cfg, err, sizeof err) != 0, "empty name refused");
    char buf[256];
    actlab_act_parse("softplus:beta=2", &cfg, NULL, 0);
    actlab_act_cfg_string(&cfg, buf, sizeof buf);
    CHECK(!strcmp(buf, "softplus:beta=2,threshold=20"), "cfg string with defaults: %s", buf);
    actlab_act_cfg back;
    CHECK(actlab_act_parse(buf, &back, err, sizeof err) == 0 && back.p[0] == 2 && back.p[1] == 20, "cfg string re-parses");
}

/* Every entry is well-formed. */
static void check_entry(const actlab_act *a) {
    CHECK(a->name && *a->name && a->formula && a->derivative && a->citation && a->aliases, "%s: text fields set", a->name);
    CHECK(a->ref_f && a->ref_df && a->forward && a->backward, "%s: functions set", a->name);
    CHECK(actlab_act_has_learnable(a) == (a->ref_dparam != NULL), "%s: learnable params need ref_dparam", a->name);
    CHECK(((a->flags & ACTLAB_ACT_RANDOM) != 0) == (a->noise != ACTLAB_NOISE_NONE), "%s: random flag and noise kind agree", a->name);
    for (int k = 0; k < a->nparam; k++)
        CHECK(a->param[k].def >= a->param[k].lo && a->param[k].def <= a->param[k].hi, "%s: default of %s in range",
              a->name, a->param[k].name);
    const actlab_act *found = actlab_act_find(a->name);
    CHECK(found == a, "%s: found by its own name", a->name);
}

/* Derivatives exactly at kinks for the functions PyTorch lacks (the golden file
 * covers the others): the x >= 0 branch for the EReLU family, as ACTIVATIONS.md says. */
static void check_kink_conventions(void) {
    static const struct { const char *spec; float x, df; } want[] = {
        {"erelu", 0, 1}, {"relu_softsign", 0, 1}, {"relu_softplus", 0, 1}, {"trelu", 0, 1},
        {"erelu_f1", 0, 1}, {"erelu_f2", 0, 1}, {"srelu", -1, 0}, {"noisy_relu", 0, 0},
        {"rrelu:lower=0.1,upper=0.3", 0, 0.2f}, {"relu", 0, 0}, {"leaky_relu:a=0.3", 0, 0.3f},
        {"elu:alpha=0.5", 0, 0.5f}, {"hardswish", -3, -0.5f}, {"hardswish", 3, 1.5f},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        actlab_act_cfg cfg;
        char err[256];
        actlab_act_parse(want[i].spec, &cfg, NULL, 0);
        float x = want[i].x, y, one = 1, dx;
        actlab_act_call call = actlab_act_call_default(&cfg);
        actlab_act_forward(&call, &y, &x, 1, err, sizeof err);
        actlab_act_backward(&call, &dx, &one, &x, &y, 1, err, sizeof err);
        CHECK(dx == want[i].df, "%s: f'(%g) = %g, expected %g", want[i].spec, x, dx, want[i].df);
        CHECK(fabs(actlab_act_ref_df(&cfg, x) - want[i].df) < 1e-7, "%s: reference f'(%g)", want[i].spec, x);
    }
}

int main(void) {
    CHECK(actlab_act_count() >= 35, "catalogue has %d entries", actlab_act_count());
    for (int i = 0; i < actlab_act_count(); i++) {
        const actlab_act *a = actlab_act_at(i);
        actlab_act_cfg cfg;
        char err[256];
        CHECK(actlab_act_parse(a->name, &cfg, err, sizeof err) == 0, "%s: parse: %s", a->name, err);
        check_entry(a);
        check_kernels(&cfg);
        check_reference_derivative(&cfg);
        check_extremes(&cfg);
        check_learnable(&cfg);
        /* and once more away from the defaults, where a parameter exists */
        if (a->nparam && a->param[0].kind != ACTLAB_PARAM_RANDOM && !(a->param[0].integer)) {
            double v = a->param[0].def * 0.5 + 0.3;
            if (v > a->param[0].hi) v = a->param[0].def;
            if (actlab_act_set(&cfg, a->param[0].name, v, err, sizeof err) == 0 &&
                (!a->check || actlab_act_parse(a->name, &cfg, NULL, 0) == 0)) {
                actlab_act_set(&cfg, a->param[0].name, v, err, sizeof err);
                check_kernels(&cfg);
                check_reference_derivative(&cfg);
                check_learnable(&cfg);
            }
        }
    }
    check_kink_conventions();
    check_per_channel();
    check_threads();
    check_random();
    check_parsing();
    return check_summary("test_catalogue");
}
