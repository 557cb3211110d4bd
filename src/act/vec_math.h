/*
 * vec_math.h — e^x, e^x - 1, ln x and ln(1 + x) on `vf`, inline.
 *
 * These four carry every exp/log-shaped activation (ELU, SELU, CELU, EReLU,
 * softplus, Mish, sigmoid, tanh, GELU's tail, and user formulas). SLEEF's u10
 * versions are calls into the library with a longer polynomial and a
 * worst-case path; in a kernel that must keep pace with memory the call was
 * the difference between 56 % and 80+ % of STREAM. Here: Cody-Waite range
 * reduction and the Cephes single-precision polynomials (error below 2 ulp
 * over the whole float range, measured against double precision by
 * tests/test_vec_math.c), with the
 * scaling by 2^n done by AVX-512's vscalefps where the target has it (exact,
 * and it handles overflow, underflow to subnormals and NaN in one instruction)
 * and by two exponent-field multiplications elsewhere.
 *
 * Included by vec.h; not meant to be included on its own.
 */
#ifndef ACTLAB_VEC_MATH_H
#define ACTLAB_VEC_MATH_H

#define VM_LOG2E 1.44269504088896341f
#define VM_LN2_HI 0.693359375f      /* ln 2 split so that n * LN2_HI is exact for |n| < 2^9 */
#define VM_LN2_LO (-2.12194440e-4f)

/* Round to the nearest integer (ties to even), as a float. */
static inline vf vround(vf x) {
#if defined(__AVX512F__)
    return (vf)_mm512_roundscale_ps((__m512)x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
#else /* |x| < 2^22 here: adding and removing 1.5 * 2^23 rounds in the current (nearest) mode */
    return (x + 12582912.0f) - 12582912.0f;
#endif
}

/* p * 2^n for an integral n in [-159, 128]. */
static inline vf vscale2(vf p, vf n) {
#if defined(__AVX512F__)
    return (vf)_mm512_scalef_ps((__m512)p, (__m512)n);
#else /* 2^n as two factors, each a normal float: n/2 and n - n/2 lie in [-80, 64] */
    vm ni = __builtin_convertvector(n, vm);
    vm a = ni >> 1, b = ni - a;
    return p * (vf)((a + 127) << 23) * (vf)((b + 127) << 23);
#endif
}

/* e^r - 1 for |r| <= ln2/2, as r + r^2 (1/2 + r/6 + ...): Cephes expf's polynomial. */
static inline vf vexp_reduced_m1(vf r) {
    vf p = vfma(vsplat(1.9875691500e-4f), r, vsplat(1.3981999507e-3f));
    p = vfma(p, r, vsplat(8.3334519073e-3f));
    p = vfma(p, r, vsplat(4.1665795894e-2f));
    p = vfma(p, r, vsplat(1.6666665459e-1f));
    p = vfma(p, r, vsplat(5.0000001201e-1f));
    return vfma(p, r * r, r);
}

/* x = n ln2 + r with n integral and |r| <= ln2/2. Past the clamp e^x is 0 or
 * inf in float anyway; NaN passes through (comparisons are false). */
static inline vf vexp_reduce(vf x, vf *n) {
    x = vclamp(x, -110.0f, 89.0f);
    *n = vround(x * VM_LOG2E);
    vf r = vfma(*n, vsplat(-VM_LN2_HI), x);
    return vfma(*n, vsplat(-VM_LN2_LO), r);
}

static inline vf vexp(vf x) {
    vf n, r = vexp_reduce(x, &n);
    vf e = vscale2(vexp_reduced_m1(r) + 1.0f, n);
#if defined(__AVX512F__)
    return e;
#else
    return vsel(visnan(x), x, e);
#endif
}

/* e^x - 1 = 2^n (q + 1 - 2^-n) with q = e^r - 1: for n = 0 (|x| < ln2/2, where
 * e^x - 1 would cancel) it is q itself; elsewhere one rounding of a sum that
 * does not cancel badly. Below x = -30 the result is -1 in float. */
static inline vf vexpm1(vf x) {
    vf n, r = vexp_reduce(vmaxv(x, vsplat(-30.0f)), &n);
    vf e = vscale2(vexp_reduced_m1(r) + (1.0f - vscale2(vsplat(1.0f), -n)), n);
#if defined(__AVX512F__)
    return e; /* NaN went through the reduction and vscalefps */
#else
    return vsel(visnan(x), x, e);
#endif
}

#if defined(__AVX512F__) && defined(__AVX512DQ__)
/* ln x from a 32-entry table, in half the instructions of the polynomial
 * below. x = 2^e m with m in [0.75, 1.5) (vgetmantps); the top five mantissa
 * bits of m pick an interval of width 1/32 (1/64 below 1), whose centre c
 * gives r = m/c - 1 with |r| <= 1/32, exactly as one FMA with the table's
 * float 1/c; ln m = ln(1/c)^-1 + ln(1 + r), the first from the table (computed
 * in double from that same float 1/c, so nothing is lost), the second a
 * degree-5 Taylor polynomial (truncation below 0.1 ulp). The intervals next
 * to m = 1 use c = 1, so ln x near x = 1 is r itself and does not cancel.
 * Entry j < 16 covers m in [1 + j/32, 1 + (j+1)/32); entry j >= 16 covers
 * m in [(1 + j/32)/2, (1 + (j+1)/32)/2). */
static const float vm_log_inv_c[32] __attribute__((aligned(64))) = {
    1.0f, 0.955223858f, 0.927536249f, 0.901408434f, 0.876712322f, 0.853333354f, 0.83116883f, 0.810126603f,
    0.790123463f, 0.771084309f, 0.752941191f, 0.735632181f, 0.719101131f, 0.703296721f, 0.688172042f, 0.673684239f,
    1.31958759f, 1.29292929f, 1.26732671f, 1.24271846f, 1.21904767f, 1.19626164f, 1.17431188f, 1.15315318f,
    1.13274336f, 1.11304343f, 1.09401715f, 1.07563031f, 1.0578512f, 1.04065037f, 1.02400005f, 1.0f};
static const float vm_log_c[32] __attribute__((aligned(64))) = { /* -ln(vm_log_inv_c[j]) = ln c */
    0.0f, 0.0458095595f, 0.0752234012f, 0.10379681f, 0.131576359f, 0.158605009f, 0.184922338f, 0.210564747f,
    0.235566065f, 0.259957552f, 0.283768147f, 0.307025045f, 0.32975328f, 0.351976395f, 0.373716414f, 0.394993752f,
    -0.277319252f, -0.256910414f, -0.236909732f, -0.217301279f, -0.198069945f, -0.179201394f, -0.160682335f,
    -0.142500088f, -0.124642439f, -0.107098088f, -0.0898563787f, -0.072906822f, -0.0562396757f, -0.0398458727f,
    -0.0237165745f, 0.0f};

static inline vf vlog(vf x) {
    __m512 m = _mm512_getmant_ps((__m512)x, _MM_MANT_NORM_p75_1p5, _MM_MANT_SIGN_zero);
    vf e = (vf)_mm512_sub_ps(_mm512_getexp_ps((__m512)x), _mm512_getexp_ps(m)); /* subnormal x too */
    __m512i j = _mm512_srli_epi32(_mm512_castps_si512(m), 18);                  /* permutes read its low 5 bits */
    vf inv_c = (vf)_mm512_permutex2var_ps(_mm512_load_ps(vm_log_inv_c), j, _mm512_load_ps(vm_log_inv_c + 16));
    vf log_c = (vf)_mm512_permutex2var_ps(_mm512_load_ps(vm_log_c), j, _mm512_load_ps(vm_log_c + 16));
    vf r = vfma((vf)m, inv_c, vsplat(-1.0f));
    vf p = vfma(r, vsplat(0.2f), vsplat(-0.25f));
    p = vfma(p, r, vsplat(1.0f / 3));
    p = vfma(p, r, vsplat(-0.5f));
    vf q = vfma(p, r * r, r);
    vf y = vfma(e, vsplat(VM_LN2_HI), vfma(e, vsplat(VM_LN2_LO), log_c) + q);
    /* 0, negative, inf, NaN: ln 0 = -inf, ln inf = inf, NaN otherwise (vgetexpps gives the first two). */
    __mmask16 special = _mm512_fpclass_ps_mask((__m512)x, 0x01 | 0x02 | 0x04 | 0x08 | 0x10 | 0x40 | 0x80);
    vf sv = vsel(x < 0, vsplat(NAN), (vf)_mm512_getexp_ps((__m512)x));
    return (vf)_mm512_mask_mov_ps((__m512)y, special, (__m512)sv);
}
#else
/* ln x: x = 2^e m with m in [sqrt(1/2), sqrt 2), ln m = f - f^2/2 + f^3 P(f) with
 * f = m - 1 (Cephes logf). ln 0 = -inf, ln inf = inf, ln of a negative = NaN. */
static inline vf vlog(vf x) {
#if defined(__AVX512F__)
    vf e = (vf)_mm512_getexp_ps((__m512)x);                               /* floor(log2 x), subnormals too */
    vf m = (vf)_mm512_getmant_ps((__m512)x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_zero); /* [1, 2) */
#else
    vm tiny = x < 1.17549435e-38f;                                        /* subnormal: scale by 2^23 first */
    vf xs = vsel(tiny, x * 8388608.0f, x);
    vm bits = (vm)xs;
    vf e = __builtin_convertvector((bits >> 23) - 127, vf) - vsel(tiny, vsplat(23), vsplat(0));
    vf m = (vf)((bits & 0x007fffff) | 0x3f800000);
#endif
    vm big = m > 1.41421356f;
    m = vsel(big, 0.5f * m, m);
    e = vsel(big, e + 1.0f, e);
    vf f = m - 1.0f, z = f * f;
    vf p = vfma(vsplat(7.0376836292e-2f), f, vsplat(-1.1514610310e-1f));
    p = vfma(p, f, vsplat(1.1676998740e-1f));
    p = vfma(p, f, vsplat(-1.2420140846e-1f));
    p = vfma(p, f, vsplat(1.4249322787e-1f));
    p = vfma(p, f, vsplat(-1.6668057665e-1f));
    p = vfma(p, f, vsplat(2.0000714765e-1f));
    p = vfma(p, f, vsplat(-2.4999993993e-1f));
    p = vfma(p, f, vsplat(3.3333331174e-1f));
    vf y = vfma(e, vsplat(VM_LN2_LO), f * z * p);
    y = vfma(vsplat(-0.5f), z, y);
    vf r = vfma(e, vsplat(VM_LN2_HI), f + y);
    const vf inf = vsplat(INFINITY);
    r = vsel(x == 0, -inf, r);
    r = vsel(x == inf, inf, r);
    return vsel((x < 0) | visnan(x), vsplat(NAN), r);
}
#endif

/* 1/x to about 1 ulp for a finite x whose reciprocal is a normal float:
 * AVX-512's 14-bit estimate and one Newton step (a divide costs several times
 * as much and would set the pace of the kernels using it). No checks: the
 * callers' denominators are sums like e + 2 that cannot be 0 or inf (at those
 * the step would give NaN). */
static inline vf vrecip_finite(vf x) {
#if defined(__AVX512F__)
    vf r = (vf)_mm512_rcp14_ps((__m512)x);
    return vfma(r, vfma(-x, r, vsplat(1.0f)), r);
#else
    return 1.0f / x;
#endif
}

/* ln(1 + x): u = 1 + x rounds, and (x - (u - 1)) / u puts back to first order
 * what the rounding lost (Goldberg's correction), so tiny x give x. */
static inline vf vlog1p(vf x) {
    vf u = 1.0f + x, log_u = vlog(u);
    vf r = log_u + (x - (u - 1.0f)) / u;
    return vsel((u == 0) | (vabs(x) == INFINITY), log_u, r);
}

#endif
