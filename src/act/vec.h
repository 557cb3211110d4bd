/*
 * vec.h — the small SIMD vocabulary the activation kernels are written in.
 *
 * `vf` is a GCC vector of ACT_VW floats (16 with AVX-512, 8 with AVX2, 4
 * otherwise); arithmetic on it is plain C operators, comparisons give an
 * all-ones/zero mask `vm`; exp and log are inline polynomials (vec_math.h)
 * and the other transcendental functions come from SLEEF (Debian's libsleef,
 * the vector math library PyTorch uses). Kernels are
 * written once against this header and compiled at whatever width the build
 * targets, so no per-element switch or function pointer sits in a hot loop.
 */
#ifndef ACTLAB_VEC_H
#define ACTLAB_VEC_H

#include <stdint.h>
#include <string.h>
#include <math.h>
#include <sleef.h>

#if defined(__AVX512F__)
#define ACT_VW 16
#define ACT_SLEEF(fn, acc) Sleef_##fn##f16_##acc
#define ACT_MVEC __m512
#elif defined(__AVX2__) || defined(__AVX__)
#define ACT_VW 8
#define ACT_SLEEF(fn, acc) Sleef_##fn##f8_##acc
#define ACT_MVEC __m256
#else
#define ACT_VW 4
#define ACT_SLEEF(fn, acc) Sleef_##fn##f4_##acc
#define ACT_MVEC __m128
#endif

typedef float vf __attribute__((vector_size(ACT_VW * 4)));
typedef int32_t vm __attribute__((vector_size(ACT_VW * 4)));

static inline vf vsplat(float s) { return s - (vf){0}; } /* s - 0 keeps -0, 0 + s would not */
static inline vf vload(const float *p) { vf v; memcpy(&v, p, sizeof v); return v; }
static inline void vstore(float *p, vf v) { memcpy(p, &v, sizeof v); }
/* Tail of an array: the missing lanes read as 0 and are never written (masked
 * loads and stores with AVX-512: a memcpy of a run-time size is a library call). */
#if defined(__AVX512F__)
static inline vf vload_part(const float *p, int64_t n) { return (vf)_mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1), p); }
static inline void vstore_part(float *p, vf v, int64_t n) { _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1), (__m512)v); }
#else
static inline vf vload_part(const float *p, int64_t n) { vf v = {0}; memcpy(&v, p, (size_t)n * 4); return v; }
static inline void vstore_part(float *p, vf v, int64_t n) { memcpy(p, &v, (size_t)n * 4); }
#endif

/* The first m <= ACT_VW lanes: a whole vector when m allows, else the tail path. */
static inline vf vload_n(const float *p, int64_t m) { return m == ACT_VW ? vload(p) : vload_part(p, m); }
static inline void vstore_n(float *p, vf v, int64_t m) { if (m == ACT_VW) vstore(p, v); else vstore_part(p, v, m); }

/* a*b + c with one rounding where the target has FMA. Written out, not left to
 * -ffp-contract, so every copy of an inlined kernel rounds the same way. */
static inline vf vfma(vf a, vf b, vf c) {
#if defined(__AVX512F__)
    return (vf)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)c);
#elif defined(__FMA__)
    return (vf)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)c);
#else
    return a * b + c;
#endif
}

/* m ? a : b, lane by lane. */
static inline vf vsel(vm m, vf a, vf b) { return (vf)((m & (vm)a) | (~m & (vm)b)); }
static inline vf vabs(vf x) { return (vf)((vm)x & 0x7fffffff); }
static inline vm visnan(vf x) { return x != x; }
/* a < b ? b : a and b < a ? b : a: a NaN in a stays, and so does a's sign of zero.
 * vmaxps/vminps return their second operand in exactly those cases. */
static inline vf vmaxv(vf a, vf b) {
#if defined(__AVX512F__)
    return (vf)_mm512_max_ps((__m512)b, (__m512)a);
#else
    return vsel(a < b, b, a);
#endif
}
static inline vf vminv(vf a, vf b) {
#if defined(__AVX512F__)
    return (vf)_mm512_min_ps((__m512)b, (__m512)a);
#else
    return vsel(b < a, b, a);
#endif
}
static inline vf vmax0(vf x) { return vmaxv(x, vsplat(0)); }   /* NaN stays NaN */
static inline vf vclamp(vf x, float lo, float hi) { return vminv(vmaxv(x, vsplat(lo)), vsplat(hi)); }
static inline float vsum(vf v) { float s = 0; for (int i = 0; i < ACT_VW; i++) s += v[i]; return s; }

#include "vec_math.h" /* vexp, vexpm1, vlog, vlog1p */

#define ACT_SLEEF1(NAME, FN, ACC) \
    static inline vf NAME(vf x) { return (vf)ACT_SLEEF(FN, ACC)((ACT_MVEC)x); }
ACT_SLEEF1(vtanh, tanh, u10)
ACT_SLEEF1(verf, erf, u10)
ACT_SLEEF1(vatan, atan, u10)
ACT_SLEEF1(vsin, sin, u10)
ACT_SLEEF1(vcos, cos, u10)
#undef ACT_SLEEF1
/* The hardware square root is correctly rounded and far cheaper than a library call. */
static inline vf vsqrt(vf x) {
#if defined(__AVX512F__)
    return (vf)_mm512_sqrt_ps((__m512)x);
#elif defined(__AVX__)
    return (vf)_mm256_sqrt_ps((__m256)x);
#else
    return (vf)_mm_sqrt_ps((__m128)x);
#endif
}
static inline vf vpow(vf x, vf y) { return (vf)ACT_SLEEF(pow, u10)((ACT_MVEC)x, (ACT_MVEC)y); }

/* tanh(x) = e/(e+2) with e = e^(2x) - 1: one exp instead of SLEEF's tanh. Past
 * |x| = 10 tanh is +-1 in float; the clamp keeps e finite. */
static inline vf vtanh_fast(vf x) {
    vf e = vexpm1(2.0f * vclamp(x, -10, 10));
    return e * vrecip_finite(e + 2.0f);
}

/* erfc(z) for z >= 0 with relative error below 1.2e-7 (Numerical Recipes'
 * Chebyshev fit), from one exp: much cheaper than 1 - erf and exact in the tail. */
static inline vf verfc_pos(vf z) {
    z = vminv(z, vsplat(11)); /* e^-121 is 0 in float: erfc is exactly 0 from here on, as in libm */
    vf t = vrecip_finite(1.0f + 0.5f * z);
    static const float c[] = {0.17087277f, -0.82215223f, 1.48851587f, -1.13520398f, 0.27886807f,
                              -0.18628806f, 0.09678418f, 0.37409196f, 1.00002368f, -1.26551223f};
    vf p = vsplat(c[0]);
    for (int i = 1; i < 10; i++) p = vfma(p, t, vsplat(c[i]));
    return t * vexp(p - z * z);
}

/* 1/(1+e^-x): exp overflows to inf for x < -88, giving exactly 0. */
static inline vf vsigmoid(vf x) { return 1.0f / (1.0f + vexp(-x)); }
/* ln(1+e^x) without overflow: max(x,0) + log1p(e^-|x|). */
static inline vf vsoftplus(vf x) {
    vf r = vmax0(x) + vlog1p(vexp(-vabs(x)));
    return vsel(visnan(x), x, r);
}

#endif
