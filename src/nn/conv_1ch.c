/* conv_1ch.c — one-input-channel convolution, stride 1, NCHW (see conv_1ch.h). */
#include "conv_1ch.h"
#include <omp.h>
#include <string.h>
#include "act/vec.h"

#define MAX_K 7
#define ALWAYS_INLINE static inline __attribute__((always_inline))

int nn_conv_1ch_fits(const nn_conv_shape *s) {
    return s->C == 1 && s->stride == 1 && s->KH == s->KW && s->KH <= MAX_K && s->pad < s->KH;
}

/* A plane padded by p on every side, with three vectors (and a kernel row) of
 * slack after its last row: the kernels read whole vectors past a row's end
 * (into the next row or the slack) and drop those lanes. */
static int64_t padded_floats(int64_t h, int64_t w, int p) {
    int64_t n = (h + 2 * p) * (w + 2 * p) + 3 * ACT_VW + MAX_K;
    return (n + 15) / 16 * 16; /* 64-byte multiples */
}

/* Per thread: the input plane, the output gradient's O planes (backward data) and
 * O*K*K + O partial weight and bias gradients. */
static int64_t per_thread(const nn_conv_shape *s) {
    int q = s->KH - 1 - s->pad;
    return padded_floats(s->H, s->W, s->pad) + (int64_t)s->O * padded_floats(s->OH, s->OW, q) +
           ((int64_t)s->O * (s->KH * s->KH + 1) + 15) / 16 * 16;
}

size_t nn_conv_1ch_scratch_floats(const nn_conv_shape *s, int threads) { return (size_t)(threads * per_thread(s)); }

/* dst (h + 2p rows of w + 2p) = src (h x w) with p zeros around. */
static void pad_plane(float *dst, const float *src, int h, int w, int p) {
    int pw = w + 2 * p;
    memset(dst, 0, sizeof(float) * (size_t)padded_floats(h, w, p));
    for (int i = 0; i < h; i++) memcpy(dst + (int64_t)(i + p) * pw + p, src + (int64_t)i * w, sizeof(float) * (size_t)w);
}

#if defined(__AVX512F__)
/* Lanes k.. of a followed by the first k of b: the row vector starting k floats after
 * a's start, from two loads instead of one unaligned load per k. */
ALWAYS_INLINE vf shift_in(vf a, vf b, const int k) {
    switch (k) {
    case 0: return a;
    case 1: return (vf)_mm512_alignr_epi32((__m512i)b, (__m512i)a, 1);
    case 2: return (vf)_mm512_alignr_epi32((__m512i)b, (__m512i)a, 2);
    case 3: return (vf)_mm512_alignr_epi32((__m512i)b, (__m512i)a, 3);
    case 4: return (vf)_mm512_alignr_epi32((__m512i)b, (__m512i)a, 4);
    case 5: return (vf)_mm512_alignr_epi32((__m512i)b, (__m512i)a, 5);
    default: return (vf)_mm512_alignr_epi32((__m512i)b, (__m512i)a, 6);
    }
}

/* R output rows from y, 2 vectors of columns from x0 (n0 and n1 of their lanes
 * kept): 2R independent sums, enough to keep both FMA units busy past their
 * latency; each input row is loaded once as three vectors and shifted in
 * registers, and each weight broadcast once for 2 multiply-adds. */
ALWAYS_INLINE void correlate_block(float *out, const float *xp, int pw, const float *f, float bias, int ow, int y,
                                   int x0, int64_t n0, int64_t n1, int accumulate, const int K, const int R) {
    vf acc[4][2];
    for (int r = 0; r < R; r++) {
        float *o = out + (int64_t)(y + r) * ow + x0;
        acc[r][0] = accumulate ? vload_n(o, n0) : vsplat(bias);
        acc[r][1] = accumulate && n1 ? vload_n(o + ACT_VW, n1) : vsplat(bias);
    }
#pragma GCC unroll 10
    for (int ir = 0; ir < K + R - 1; ir++) {
        const float *row = xp + (int64_t)(y + ir) * pw + x0;
        vf a0 = vload(row), a1 = vload(row + ACT_VW), a2 = vload(row + 2 * ACT_VW);
#pragma GCC unroll 7
        for (int kw = 0; kw < K; kw++) {
            vf x0v = shift_in(a0, a1, kw), x1v = shift_in(a1, a2, kw);
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) {
                int kh = ir - r;
                if (kh < 0 || kh >= K) continue;
                vf wb = vsplat(f[kh * K + kw]);
                acc[r][0] = vfma(x0v, wb, acc[r][0]);
                acc[r][1] = vfma(x1v, wb, acc[r][1]);
            }
        }
    }
    for (int r = 0; r < R; r++) {
        float *o = out + (int64_t)(y + r) * ow + x0;
        vstore_n(o, acc[r][0], n0);
        if (n1) vstore_n(o + ACT_VW, acc[r][1], n1);
    }
}

/* out (oh x ow) += or = the correlation of the padded plane xp (row pitch pw) with f
 * (K x K), plus bias. */
ALWAYS_INLINE void correlate(float *out, const float *xp, int pw, const float *f, float bias, int oh, int ow,
                             int accumulate, const int K) {
    for (int x0 = 0; x0 < ow; x0 += 2 * ACT_VW) {
        int64_t n0 = ow - x0 < ACT_VW ? ow - x0 : ACT_VW, rest = ow - x0 - ACT_VW;
        int64_t n1 = rest <= 0 ? 0 : rest < ACT_VW ? rest : ACT_VW;
        int y = 0;
        for (; y + 4 <= oh; y += 4) correlate_block(out, xp, pw, f, bias, ow, y, x0, n0, n1, accumulate, K, 4);
        for (; y < oh; y++) correlate_block(out, xp, pw, f, bias, ow, y, x0, n0, n1, accumulate, K, 1);
    }
}
#else
/* out (oh x ow) += or = the correlation of the padded plane xp (row pitch pw) with f
 * (K x K), plus bias: each output vector a sum of K*K shifted input rows. */
ALWAYS_INLINE void correlate(float *out, const float *xp, int pw, const float *f, float bias, int oh, int ow,
                             int accumulate, const int K) {
    for (int y = 0; y < oh; y++)
        for (int x0 = 0; x0 < ow; x0 += ACT_VW) {
            int64_t n = ow - x0 < ACT_VW ? ow - x0 : ACT_VW;
            vf acc = accumulate ? vload_n(out + (int64_t)y * ow + x0, n) : vsplat(bias);
            for (int kh = 0; kh < K; kh++) {
                const float *row = xp + (int64_t)(y + kh) * pw + x0;
                for (int kw = 0; kw < K; kw++) acc = vfma(vload(row + kw), vsplat(f[kh * K + kw]), acc);
            }
            vstore_n(out + (int64_t)y * ow + x0, acc, n);
        }
}
#endif

ALWAYS_INLINE void forward_image(float *out, const float *x, const float *w, const float *b, const nn_conv_shape *s,
                                 float *xp, const int K) {
    int pw = s->W + 2 * s->pad;
    pad_plane(xp, x, s->H, s->W, s->pad);
    for (int o = 0; o < s->O; o++)
        correlate(out + (int64_t)o * s->OH * s->OW, xp, pw, w + o * K * K, b ? b[o] : 0.0f, s->OH, s->OW, 0, K);
}

/* Images [lo, hi) of thread t of T: a fixed split, so results do not depend on timing. */
static void image_range(int B, int t, int T, int *lo, int *hi) {
    *lo = (int)((int64_t)B * t / T);
    *hi = (int)((int64_t)B * (t + 1) / T);
}

#define DISPATCH_K(K, CALL)                                            \
    switch (K) {                                                       \
    case 1: CALL(1); break;                                            \
    case 2: CALL(2); break;                                            \
    case 3: CALL(3); break;                                            \
    case 4: CALL(4); break;                                            \
    case 5: CALL(5); break;                                            \
    case 6: CALL(6); break;                                            \
    default: CALL(7); break;                                           \
    }

void nn_conv_1ch_forward(float *out, const float *in, const float *w, const float *b, const nn_conv_shape *s,
                         float *scratch, int threads) {
    const int64_t in_plane = (int64_t)s->H * s->W, out_image = (int64_t)s->O * s->OH * s->OW;
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        int T = omp_get_num_threads(), t = omp_get_thread_num(), lo, hi;
        float *xp = scratch + t * per_thread(s);
        image_range(s->B, t, T, &lo, &hi);
        for (int i = lo; i < hi; i++) {
#define FWD(KK) forward_image(out + i * out_image, in + i * in_plane, w, b, s, xp, KK)
            DISPATCH_K(s->KH, FWD)
#undef FWD
        }
    }
}

/* dw_t[o][kh][kw] += sum over the image of dy_o[y][x] xp[y + kh][x + kw]; db_t[o] += sum
 * of dy_o. Two output rows at a time: each input vector serves both; the K*K sums
 * are independent chains, so latency is no issue here. (Splitting the kernel rows
 * into passes to keep the sums of a 5x5 kernel out of the stack was slower.) */
ALWAYS_INLINE void weight_grad_image(float *dw_t, float *db_t, const float *dy, const float *xp, const nn_conv_shape *s,
                                     const int K) {
    const int pw = s->W + 2 * s->pad, oh = s->OH, ow = s->OW;
    for (int o = 0; o < s->O; o++) {
        const float *g = dy + (int64_t)o * oh * ow;
        vf acc[MAX_K * MAX_K], bacc = vsplat(0);
        for (int k = 0; k < K * K; k++) acc[k] = vsplat(0);
        for (int y = 0; y < oh; y += 2) {
            const int two = y + 1 < oh;
            for (int x0 = 0; x0 < ow; x0 += ACT_VW) {
                int64_t n = ow - x0 < ACT_VW ? ow - x0 : ACT_VW;
                vf g0 = vload_n(g + (int64_t)y * ow + x0, n); /* lanes past the row are 0 */
                vf g1 = two ? vload_n(g + (int64_t)(y + 1) * ow + x0, n) : vsplat(0);
                bacc += g0 + g1;
#pragma GCC unroll 8
                for (int kh = 0; kh <= K; kh++) {
                    if (kh == K && !two) break;
                    const float *row = xp + (int64_t)(y + kh) * pw + x0;
#if defined(__AVX512F__)
                    vf r0 = vload(row), r1 = vload(row + ACT_VW);
#endif
#pragma GCC unroll 7
                    for (int kw = 0; kw < K; kw++) {
#if defined(__AVX512F__)
                        vf x = shift_in(r0, r1, kw);
#else
                        vf x = vload(row + kw);
#endif
                        if (kh < K) acc[kh * K + kw] = vfma(g0, x, acc[kh * K + kw]);
                        if (kh > 0) acc[(kh - 1) * K + kw] = vfma(g1, x, acc[(kh - 1) * K + kw]);
                    }
                }
            }
        }
        for (int k = 0; k < K * K; k++) dw_t[o * K * K + k] += vsum(acc[k]);
        db_t[o] += vsum(bacc);
    }
}

/* dx (H x W) = sum over o of the correlation of dy_o padded by K-1-p with w_o turned 180 degrees. */
ALWAYS_INLINE void data_grad_image(float *dx, const float *dy, const float *w, const nn_conv_shape *s, float *dp,
                                   const int K) {
    const int q = K - 1 - s->pad, pw = s->OW + 2 * q;
    const int64_t plane = padded_floats(s->OH, s->OW, q);
    float flipped[MAX_K * MAX_K];
    for (int o = 0; o < s->O; o++) pad_plane(dp + o * plane, dy + (int64_t)o * s->OH * s->OW, s->OH, s->OW, q);
    for (int o = 0; o < s->O; o++) {
        for (int k = 0; k < K * K; k++) flipped[k] = w[o * K * K + (K * K - 1 - k)];
        correlate(dx, dp + o * plane, pw, flipped, 0.0f, s->H, s->W, o > 0, K);
    }
}

void nn_conv_1ch_backward(float *din, float *dw, float *db, const float *dout, const float *in, const float *w,
                          const nn_conv_shape *s, float *scratch, int threads) {
    const int64_t in_plane = (int64_t)s->H * s->W, out_image = (int64_t)s->O * s->OH * s->OW;
    const int K = s->KH, nw = s->O * K * K;
    const int64_t xp_floats = padded_floats(s->H, s->W, s->pad);
    const int64_t dp_floats = (int64_t)s->O * padded_floats(s->OH, s->OW, K - 1 - s->pad);
    int used = 1;
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        int T = omp_get_num_threads(), t = omp_get_thread_num(), lo, hi;
        float *xp = scratch + t * per_thread(s), *dp = xp + xp_floats, *dw_t = dp + dp_floats, *db_t = dw_t + nw;
        memset(dw_t, 0, sizeof(float) * (size_t)(nw + s->O));
        image_range(s->B, t, T, &lo, &hi);
        for (int i = lo; i < hi; i++) {
            const float *dy = dout + i * out_image;
            pad_plane(xp, in + i * in_plane, s->H, s->W, s->pad);
#define BWD(KK)                                                                         \
    do {                                                                                \
        weight_grad_image(dw_t, db_t, dy, xp, s, KK);                                   \
        if (din) data_grad_image(din + i * in_plane, dy, w, s, dp, KK);                 \
    } while (0)
            DISPATCH_K(K, BWD)
#undef BWD
        }
        if (t == 0) used = T;
    }
    for (int t = 0; t < used; t++) { /* in thread order: the same sums whatever the timing */
        const float *dw_t = scratch + t * per_thread(s) + xp_floats + dp_floats, *db_t = dw_t + nw;
        for (int k = 0; k < nw; k++) dw[k] += dw_t[k];
        if (db)
            for (int o = 0; o < s->O; o++) db[o] += db_t[o];
    }
}
