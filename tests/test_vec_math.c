/*
 * test_vec_math.c — vexp, vexpm1, vlog, vlog1p and vrecip_finite (src/act/vec_math.h) against
 * libm in double precision: every 97th float bit pattern of the ranges where
 * the result is a normal float, plus the special values. The same file is
 * compiled twice (tests/CMakeLists.txt): once for the build's target and once
 * without AVX-512, so the portable scaling/exponent code is checked on an
 * AVX-512 machine too.
 */
#include "act/vec.h"
#include "check.h"
#include <float.h>
#include <stdint.h>

/* Distance in units in the last place of the float nearest to want. */
static double ulps(float got, double want) {
    float w = (float)want;
    double ulp = nextafterf(fabsf(w), INFINITY) - fabsf(w);
    return fabs((double)got - want) / ulp;
}

typedef struct fn {
    const char *name;
    vf (*v)(vf);
    double (*ref)(double);
    float lo, hi;       /* inputs swept */
    double max_ulps;
} fn;

static vf vexp_(vf x) { return vexp(x); }
static vf vexpm1_(vf x) { return vexpm1(x); }
static vf vlog_(vf x) { return vlog(x); }
static vf vlog1p_(vf x) { return vlog1p(x); }
static vf vrecip_(vf x) { return vrecip_finite(x); }
static double recip(double x) { return 1 / x; }

static float from_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static uint32_t to_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

/* Sweeps the floats of [lo, hi] (same sign), one vector at a time. */
static void sweep(const fn *f, float lo, float hi, double *worst, float *worst_x) {
    uint32_t a = to_bits(lo), b = to_bits(hi);
    if (a > b) { uint32_t t = a; a = b; b = t; }
    float xs[ACT_VW];
    int k = 0;
    for (uint64_t u = a; u <= b; u += 97) {
        xs[k++] = from_bits((uint32_t)u);
        if (k < ACT_VW && u + 97 <= b) continue;
        vf y = f->v(vload_part(xs, k));
        for (int i = 0; i < k; i++) {
            double want = f->ref(xs[i]);
            if (fabs(want) < FLT_MIN || fabs(want) > FLT_MAX) continue; /* subnormal or overflowing result */
            double e = ulps(y[i], want);
            if (e > *worst) { *worst = e; *worst_x = xs[i]; }
        }
        k = 0;
    }
}

int main(void) {
    const fn fns[] = {
        {"exp", vexp_, exp, -87.3f, 88.7f, 2},
        {"expm1", vexpm1_, expm1, -87.3f, 88.7f, 2},
        {"log", vlog_, log, FLT_MIN, FLT_MAX, 2},
        {"log1p", vlog1p_, log1p, -0.99999994f, FLT_MAX, 2},
        {"recip", vrecip_, recip, -FLT_MAX, FLT_MAX, 1},
    };
    for (size_t i = 0; i < sizeof fns / sizeof *fns; i++) {
        const fn *f = &fns[i];
        double worst = 0;
        float worst_x = 0;
        if (f->lo < 0) {
            sweep(f, f->lo, -FLT_MIN, &worst, &worst_x);
            sweep(f, FLT_MIN, f->hi, &worst, &worst_x);
        } else
            sweep(f, f->lo, f->hi, &worst, &worst_x);
        printf("%-6s worst %.2f ulp at x = %.9g (%s)\n", f->name, worst, worst_x, ACT_VW == 16 ? "AVX-512" : "portable");
        CHECK(worst <= f->max_ulps, "%s: %.2f ulp at x = %.9g, allowed %.0f", f->name, worst, worst_x, f->max_ulps);
    }

    /* Special values: each function against libm's float version, exactly. */
    const float sp[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN, 1.0f, -1.0f, 1e-30f, -1e-30f, 1e-40f, -1e-40f,
                        FLT_MIN, 0.5f, -0.5f, 88.8f, -88.8f, 89.0f, 100.0f, -100.0f, -104.0f, -110.0f, 1e30f, -1e30f,
                        2.0f, FLT_MAX, -FLT_MAX, -0.99999994f, -1.0000001f};
    const int nsp = (int)(sizeof sp / sizeof *sp);
    for (int s = 0; s < nsp; s++) {
        float x = sp[s];
        vf vx = vsplat(x);
        struct { const char *name; float got; double want; } r[] = {
            {"exp", vexp(vx)[0], exp(x)}, {"expm1", vexpm1(vx)[0], expm1(x)},
            {"log", vlog(vx)[0], log(x)}, {"log1p", vlog1p(vx)[0], log1p(x)}, {"recip", vrecip_finite(vx)[0], 1.0 / x},
        };
        /* vrecip_finite's contract: finite x with a normal reciprocal (it has no special cases) */
        int recip_domain = isfinite(x) && x != 0 && fabs(1.0 / x) >= FLT_MIN && fabs(1.0 / x) <= FLT_MAX;
        for (int i = 0; i < 5; i++) {
            if (i == 4 && !recip_domain) continue;
            double w = r[i].want;
            int ok;
            if (isnan(w)) ok = isnan(r[i].got);
            else if (isinf(w) || fabs(w) > FLT_MAX) ok = r[i].got == (float)w;
            else if (fabs(w) < FLT_MIN) ok = fabs(r[i].got - w) <= 2 * FLT_TRUE_MIN + 1e-2 * fabs(w); /* subnormal */
            else ok = ulps(r[i].got, w) <= 2;
            CHECK(ok, "%s(%.9g) = %.9g, libm %.9g", r[i].name, x, r[i].got, w);
        }
    }
    /* Tiny arguments come back unchanged where the function is x to first order. */
    CHECK(vexpm1(vsplat(1e-20f))[0] == 1e-20f, "expm1(1e-20) = %g", vexpm1(vsplat(1e-20f))[0]);
    CHECK(vlog1p(vsplat(-1e-20f))[0] == -1e-20f, "log1p(-1e-20) = %g", vlog1p(vsplat(-1e-20f))[0]);
    return check_summary(ACT_VW == 16 ? "test_vec_math" : "test_vec_math (portable)");
}
