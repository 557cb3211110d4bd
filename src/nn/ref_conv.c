/*
 * ref_conv.c — reference 2-D convolution (torch.nn.Conv2d with groups=1,
 * dilation=1, zero padding), forward and backward.
 *
 * im2col in tiles: a tile of the unrolled input col[k][p] (k = c*KH*KW +
 * kh*KW + kw a kernel tap, p = oh*OW + ow an output position, zero where the
 * tap falls on padding) is gathered into a fixed stack buffer, and the layer
 * becomes small matrix products whose inner loops run along p, contiguous
 * and long enough to vectorise (a direct loop nest only gets rows of OW,
 * 8 floats in LeNet's second conv). Tiling bounds the buffer for any shape,
 * and never changes the order of a sum:
 *   forward  out[o][p] = b[o] + sum_k w[o][k] col[k][p], k ascending
 *   din      dcol[k][p] = sum_o w[o][k] dout[o][p], scattered back (col2im)
 *   dw       dw[o][k] += sum over n, p of dout[o][p] col[k][p]
 * Each thread owns whole results (a tile of output positions of one sample;
 * an input-gradient plane din[n][c]; a block of columns dw[:][k0..k1)), so
 * results are bit-identical for any thread count.
 */
#include <omp.h>
#include <stddef.h>
#include "layers_ref.h"
#include "ref_dot8.h"

/* Below this many multiply-adds a thread team costs more than it saves. */
#define PAR_MIN_WORK (1 << 16)
/* A col tile is at most TILE_K taps x TILE_P positions: 32 KiB on the stack. */
#define TILE_P 256
#define TILE_K 32
/* At most this many taps per dw work item: dout is re-read once per item. */
#define DW_TILE_K 8

static inline int imin(int a, int b) { return a < b ? a : b; }

int nn_conv_shape_init(nn_conv_shape *s, int B, int C, int H, int W, int O, int K, int stride, int pad) {
    if (B <= 0 || C <= 0 || H <= 0 || W <= 0 || O <= 0 || K <= 0 || stride <= 0 || pad < 0) return -1;
    /* checked before dividing: C division truncates toward zero, so a negative
     * numerator would give a bogus size of 1 */
    if ((int64_t)H + 2 * (int64_t)pad < K || (int64_t)W + 2 * (int64_t)pad < K) return -1;
    *s = (nn_conv_shape){.B = B, .C = C, .H = H, .W = W, .O = O, .KH = K, .KW = K, .stride = stride, .pad = pad};
    s->OH = (int)(((int64_t)H + 2 * pad - K) / stride + 1);
    s->OW = (int)(((int64_t)W + 2 * pad - K) / stride + 1);
    return 0;
}

/* Output columns [*lo, *hi) whose input column ow*stride - pad + kw lies inside [0, W). */
static inline void tap_cols(int *lo, int *hi, int kw, const nn_conv_shape *s) {
    const int a = s->pad - kw, t = s->W - 1 + s->pad - kw;
    *lo = a > 0 ? (a + s->stride - 1) / s->stride : 0;
    *hi = t < 0 ? 0 : imin(t / s->stride + 1, s->OW);
    if (*hi < *lo) *hi = *lo;
}

/*
 * Visits the tile [k0, k1) x [p0, p1) of col for one sample, output row segment by
 * segment; col row (k - k0) has length p1 - p0. Gathers col[k][p] = x[c][ih][iw] (0 on
 * padding) from x[C][H][W], or when dx is not NULL adds col back into dx[C][H][W].
 */
static inline void col_tile(float *col, const float *x, float *dx, const nn_conv_shape *s, int k0, int k1, int p0,
                            int p1) {
    const int KK = s->KH * s->KW, np = p1 - p0, st = s->stride;
    for (int k = k0; k < k1; k++) {
        const int c = k / KK, kh = k % KK / s->KW, kw = k % s->KW, off = kw - s->pad;
        const int64_t plane = (int64_t)c * s->H * s->W;
        float *row = col + (int64_t)(k - k0) * np;
        int lo, hi;
        tap_cols(&lo, &hi, kw, s);
        int oh = p0 / s->OW, ow = p0 % s->OW;
        for (int p = p0; p < p1; oh++, ow = 0) {
            const int end = ow + imin(p1 - p, s->OW - ow); /* this output row: [ow, end) */
            const int ih = oh * st - s->pad + kh;
            float *d = row + (p - p0) - ow; /* d[j] is output column j of this row */
            p += end - ow;
            if (ih < 0 || ih >= s->H) { /* a row of pure padding */
                if (!dx)
                    for (int j = ow; j < end; j++) d[j] = 0.0f;
                continue;
            }
            const int64_t r0 = plane + (int64_t)ih * s->W;
            const int a = lo > ow ? imin(lo, end) : ow, b = hi < end ? (hi > a ? hi : a) : end;
            if (dx) {
                float *xr = dx + r0;
                if (st == 1)
                    for (int j = a; j < b; j++) xr[j + off] += d[j];
                else
                    for (int j = a; j < b; j++) xr[j * st + off] += d[j];
            } else {
                const float *xr = x + r0;
                for (int j = ow; j < a; j++) d[j] = 0.0f;
                if (st == 1)
                    for (int j = a; j < b; j++) d[j] = xr[j + off];
                else
                    for (int j = a; j < b; j++) d[j] = xr[j * st + off];
                for (int j = b; j < end; j++) d[j] = 0.0f;
            }
        }
    }
}

void ref_conv2d_forward(float *out, const float *in, const float *w, const float *b, const nn_conv_shape *s) {
    const int O = s->O, P = s->OH * s->OW, K = s->C * s->KH * s->KW, ntiles = (P + TILE_P - 1) / TILE_P;
    const int64_t work = (int64_t)s->B * O * P * K;
#pragma omp parallel for collapse(2) schedule(static) if (work > PAR_MIN_WORK)
    for (int n = 0; n < s->B; n++)
        for (int t = 0; t < ntiles; t++) {
            float col[TILE_K * TILE_P];
            const int p0 = t * TILE_P, p1 = imin(p0 + TILE_P, P), np = p1 - p0;
            float *y = out + (int64_t)n * O * P + p0;
            const float *x = in + (int64_t)n * s->C * s->H * s->W;
            for (int o = 0; o < O; o++)
                for (int j = 0; j < np; j++) y[(int64_t)o * P + j] = b ? b[o] : 0.0f;
            for (int k0 = 0; k0 < K; k0 += TILE_K) {
                const int k1 = imin(k0 + TILE_K, K);
                col_tile(col, x, NULL, s, k0, k1, p0, p1);
                for (int o = 0; o < O; o++) {
                    float *restrict yr = y + (int64_t)o * P;
                    for (int k = k0; k < k1; k++) {
                        const float wv = w[(int64_t)o * K + k];
                        const float *restrict cr = col + (k - k0) * np;
                        for (int j = 0; j < np; j++) yr[j] += wv * cr[j];
                    }
                }
            }
        }
}

void ref_conv2d_backward(float *din, float *dw, float *db, const float *dout, const float *in, const float *w,
                         const nn_conv_shape *s) {
    const int B = s->B, C = s->C, O = s->O, P = s->OH * s->OW, KK = s->KH * s->KW, K = C * KK;
    const int ntiles = (P + TILE_P - 1) / TILE_P;
    const int64_t HW = (int64_t)s->H * s->W, work = (int64_t)B * O * P * K;

    /* din: each thread owns planes din[n][c]; for each tile of positions, the tile of
     * dcol for c's taps is built (o ascending) and scattered back, tiles in order */
    if (din) {
#pragma omp parallel for collapse(2) schedule(static) if (work > PAR_MIN_WORK)
        for (int n = 0; n < B; n++)
            for (int c = 0; c < C; c++) {
                float dcol[TILE_K * TILE_P];
                float *dx = din + ((int64_t)n * C + c) * HW;
                const float *dy = dout + (int64_t)n * O * P;
                for (int64_t i = 0; i < HW; i++) dx[i] = 0.0f;
                for (int t = 0; t < ntiles; t++) {
                    const int p0 = t * TILE_P, p1 = imin(p0 + TILE_P, P), np = p1 - p0;
                    for (int k0 = c * KK; k0 < (c + 1) * KK; k0 += TILE_K) {
                        const int k1 = imin(k0 + TILE_K, (c + 1) * KK);
                        for (int j = 0; j < (k1 - k0) * np; j++) dcol[j] = 0.0f;
                        for (int o = 0; o < O; o++) {
                            const float *restrict dyr = dy + (int64_t)o * P + p0;
                            for (int k = k0; k < k1; k++) {
                                const float wv = w[(int64_t)o * K + k];
                                float *restrict cr = dcol + (k - k0) * np;
                                for (int j = 0; j < np; j++) cr[j] += wv * dyr[j];
                            }
                        }
                        col_tile(dcol, NULL, din + (int64_t)n * C * HW, s, k0, k1, p0, p1);
                    }
                }
            }
    }

    /* dw: each thread owns blocks of taps dw[:][k0..k1), gathers their col tiles itself
     * and adds one dot product per (sample, tile) into dw, samples and tiles in order.
     * Each dw element gets the same sum however the taps are blocked, so the blocks
     * can be sized to balance the threads (LeNet's first conv has only 25 taps). */
    const int nthreads = omp_get_max_threads();
    int nkb = (K + DW_TILE_K - 1) / DW_TILE_K;
    nkb = imin((nkb + nthreads - 1) / nthreads * nthreads, K);
#pragma omp parallel for schedule(static) if (work > PAR_MIN_WORK)
    for (int kb = 0; kb < nkb; kb++) {
        float col[DW_TILE_K * TILE_P];
        const int k0 = (int)((int64_t)kb * K / nkb), k1 = (int)((int64_t)(kb + 1) * K / nkb);
        for (int n = 0; n < B; n++) {
            const float *x = in + (int64_t)n * C * HW;
            const float *dy = dout + (int64_t)n * O * P;
            for (int t = 0; t < ntiles; t++) {
                const int p0 = t * TILE_P, p1 = imin(p0 + TILE_P, P), np = p1 - p0;
                col_tile(col, x, NULL, s, k0, k1, p0, p1);
                for (int o = 0; o < O; o++) {
                    const float *dyr = dy + (int64_t)o * P + p0;
                    float *dwr = dw + (int64_t)o * K;
                    int k = k0;
                    for (; k + 4 <= k1; k += 4) {
                        const float *rows[4] = {col + (k - k0) * np, col + (k + 1 - k0) * np,
                                                col + (k + 2 - k0) * np, col + (k + 3 - k0) * np};
                        float d[4];
                        ref_dot8x4(d, dyr, rows, np);
                        for (int r = 0; r < 4; r++) dwr[k + r] += d[r];
                    }
                    for (; k < k1; k++) dwr[k] += ref_dot8(dyr, col + (k - k0) * np, np);
                }
            }
        }
    }

    if (db) {
#pragma omp parallel for schedule(static) if (work > PAR_MIN_WORK)
        for (int o = 0; o < O; o++) {
            /* per sample a plane sum in float lanes, across samples in double */
            double sum = 0.0;
            for (int n = 0; n < B; n++) {
                const float *dy = dout + ((int64_t)n * O + o) * P;
                sum += ref_sum8(dy, P);
            }
            db[o] += (float)sum;
        }
    }
}
