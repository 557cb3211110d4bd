/*
 * kernel_macros.h — turn one function's vector body into its array kernels.
 *
 * A catalogue entry NAME writes its math once, as small inline functions on
 * `vf` vectors (see vec.h), with P the entry's parameters broadcast to vectors:
 *
 *     static inline vf NAME_fv(vf x, const vf *P);    f(x)
 *     static inline vf NAME_dv(vf x, const vf *P);    f'(x)          (backward from x)
 *     static inline vf NAME_dyv(vf y, const vf *P);   f'(x) from y   (backward from y)
 *     static inline void NAME_dpv(vf *d, vf x, const vf *P);  d[k] = df/dp_k (learnable)
 *
 * and one of the macros below generates NAME_forward / NAME_backward with the
 * loop, the array tail and the parameter broadcast, matching the kernel
 * signatures of actlab/act.h. The loops contain no branch on the function.
 */
#ifndef ACTLAB_KERNEL_MACROS_H
#define ACTLAB_KERNEL_MACROS_H

#include "actlab/act.h"
#include "vec.h"

static inline void act_vparams(vf *P, const float *p) {
    for (int k = 0; k < ACTLAB_ACT_MAX_PARAMS; k++) P[k] = vsplat(p[k]);
}

#define ACT_FORWARD_KERNEL(NAME)                                                              \
    static void NAME##_forward(float *y, const float *x, int64_t n, const float *p,            \
                               float *noise, const void *ctx) {                                \
        (void)noise; (void)ctx;                                                                 \
        vf P[ACTLAB_ACT_MAX_PARAMS];                                                            \
        act_vparams(P, p);                                                                      \
        int64_t i = 0;                                                                          \
        for (; i + ACT_VW <= n; i += ACT_VW) vstore(y + i, NAME##_fv(vload(x + i), P));        \
        if (i < n) vstore_part(y + i, NAME##_fv(vload_part(x + i, n - i), P), n - i);          \
    }

/* dx = dy * f'(x), with f' computed by DERIV from SRC: x for NAME_dv, y for NAME_dyv. */
#define ACT_BACKWARD_KERNEL(NAME, SRC, DERIV)                                                  \
    static void NAME##_backward(float *dx, float *dp, const float *dy, const float *x,          \
                                const float *y, int64_t n, const float *p, const float *noise, \
                                const void *ctx) {                                              \
        (void)x; (void)y; (void)noise; (void)ctx;                                               \
        vf P[ACTLAB_ACT_MAX_PARAMS];                                                            \
        act_vparams(P, p);                                                                      \
        int64_t i = 0;                                                                          \
        for (; i + ACT_VW <= n; i += ACT_VW)                                                    \
            vstore(dx + i, vload(dy + i) * DERIV(vload(SRC + i), P));                          \
        if (i < n)                                                                              \
            vstore_part(dx + i, vload_part(dy + i, n - i) * DERIV(vload_part(SRC + i, n - i), P), n - i); \
        if (dp) for (int k = 0; k < ACTLAB_ACT_MAX_PARAMS; k++) dp[k] = 0;                      \
    }

/* Backward that reads x. */
#define ACT_KERNELS(NAME) ACT_FORWARD_KERNEL(NAME) ACT_BACKWARD_KERNEL(NAME, x, NAME##_dv)

/* Backward that reads only y (x may be NULL): the function can run in place. */
#define ACT_KERNELS_FROM_Y(NAME) ACT_FORWARD_KERNEL(NAME) ACT_BACKWARD_KERNEL(NAME, y, NAME##_dyv)

/* Backward from x that also sums dy * df/dp_k for learnable parameters. Sums
 * run in float vectors over blocks of 64 vectors, then in double, so a long
 * run keeps about float precision per block. Tail lanes read dy = 0. */
#define ACT_KERNELS_LEARNABLE(NAME)                                                            \
    ACT_FORWARD_KERNEL(NAME)                                                                   \
    static void NAME##_backward(float *dx, float *dp, const float *dy, const float *x,          \
                                const float *y, int64_t n, const float *p, const float *noise, \
                                const void *ctx) {                                              \
        (void)y; (void)noise; (void)ctx;                                                        \
        vf P[ACTLAB_ACT_MAX_PARAMS];                                                            \
        act_vparams(P, p);                                                                      \
        double total[ACTLAB_ACT_MAX_PARAMS] = {0};                                              \
        for (int64_t b = 0; b < n; b += 64 * ACT_VW) {                                          \
            int64_t end = b + 64 * ACT_VW < n ? b + 64 * ACT_VW : n;                            \
            vf acc[ACTLAB_ACT_MAX_PARAMS] = {{0}};                                              \
            for (int64_t i = b; i < end; i += ACT_VW) {                                         \
                int64_t m = end - i < ACT_VW ? end - i : ACT_VW;                                \
                vf xv = vload_n(x + i, m), g = vload_n(dy + i, m);                              \
                vf d[ACTLAB_ACT_MAX_PARAMS] = {{0}};                                            \
                NAME##_dpv(d, xv, P);                                                           \
                for (int k = 0; k < ACTLAB_ACT_MAX_PARAMS; k++) acc[k] += g * d[k];             \
                vf r = g * NAME##_dv(xv, P);                                                    \
                vstore_n(dx + i, r, m);                                                         \
            }                                                                                   \
            for (int k = 0; k < ACTLAB_ACT_MAX_PARAMS; k++) total[k] += vsum(acc[k]);           \
        }                                                                                       \
        if (dp) for (int k = 0; k < ACTLAB_ACT_MAX_PARAMS; k++) dp[k] = (float)total[k];        \
    }

/* Scalar reference wrappers with the catalogue's signatures. */
#define ACT_REF(NAME)                                                                          \
    static double NAME##_ref_f(double x, const double *p, const double *noise, const void *c) { \
        (void)noise; (void)c; return NAME##_f(x, p);                                            \
    }                                                                                           \
    static double NAME##_ref_df(double x, const double *p, const double *noise, const void *c) { \
        (void)noise; (void)c; return NAME##_df(x, p);                                           \
    }

#endif
