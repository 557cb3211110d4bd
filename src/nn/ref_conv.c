/*
 * ref_conv.c — reference 2-D convolution (torch.nn.Conv2d with groups=1,
 * dilation=1, zero padding), forward and backward.
 *
 * A direct loop nest, no im2col buffer. For each kernel tap (c, kh, kw) the
 * innermost loop runs along an output row, so for stride 1 both the output
 * and the input are read contiguously and the compiler vectorises it; the
 * valid range of each row is computed up front, so there are no padding
 * tests inside the loops. Each thread owns whole planes (an output plane in
 * forward, an input-gradient plane in backward) or whole weight slices
 * dw[o][c], and every sum runs in a fixed order: the result is the same for
 * any thread count.
 */
#include "layers_ref.h"

/* Below this many multiply-adds a thread team costs more than it saves. */
#define PAR_MIN_WORK (1 << 16)
/* dw accumulates along an output row in this many float lanes at a time. */
#define DW_LANES 64

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

/* Output positions [*lo, *hi) along one axis whose input position o*stride - pad + k
 * lies inside [0, in), for kernel offset k. */
static void tap_range(int *lo, int *hi, int k, int stride, int pad, int in, int out) {
    int a = pad - k, t = in - 1 + pad - k;
    *lo = a > 0 ? (a + stride - 1) / stride : 0;
    *hi = t < 0 ? 0 : t / stride + 1;
    if (*hi > out) *hi = out;
    if (*hi < *lo) *hi = *lo;
}

void ref_conv2d_forward(float *out, const float *in, const float *w, const float *b, const nn_conv_shape *s) {
    const int C = s->C, H = s->H, W = s->W, O = s->O, KH = s->KH, KW = s->KW;
    const int OH = s->OH, OW = s->OW, st = s->stride, pad = s->pad;
    const int64_t work = (int64_t)s->B * O * OH * OW * C * KH * KW;
#pragma omp parallel for collapse(2) schedule(static) if (work > PAR_MIN_WORK)
    for (int n = 0; n < s->B; n++)
        for (int o = 0; o < O; o++) {
            float *y = out + ((int64_t)n * O + o) * OH * OW;
            const float bias = b ? b[o] : 0.0f;
            for (int i = 0; i < OH * OW; i++) y[i] = bias;
            for (int c = 0; c < C; c++) {
                const float *x = in + ((int64_t)n * C + c) * H * W;
                const float *wk = w + ((int64_t)o * C + c) * KH * KW;
                for (int kh = 0; kh < KH; kh++) {
                    int oh0, oh1;
                    tap_range(&oh0, &oh1, kh, st, pad, H, OH);
                    for (int kw = 0; kw < KW; kw++) {
                        int ow0, ow1;
                        tap_range(&ow0, &ow1, kw, st, pad, W, OW);
                        const float wv = wk[kh * KW + kw];
                        for (int oh = oh0; oh < oh1; oh++) {
                            float *yr = y + (int64_t)oh * OW;
                            const float *xr = x + (int64_t)(oh * st - pad + kh) * W;
                            const int off = kw - pad; /* input column = ow*st + off */
                            if (st == 1)
                                for (int ow = ow0; ow < ow1; ow++) yr[ow] += wv * xr[ow + off];
                            else
                                for (int ow = ow0; ow < ow1; ow++) yr[ow] += wv * xr[ow * st + off];
                        }
                    }
                }
            }
        }
}

void ref_conv2d_backward(float *din, float *dw, float *db, const float *dout, const float *in, const float *w,
                         const nn_conv_shape *s) {
    const int B = s->B, C = s->C, H = s->H, W = s->W, O = s->O, KH = s->KH, KW = s->KW;
    const int OH = s->OH, OW = s->OW, st = s->stride, pad = s->pad;
    const int64_t work = (int64_t)B * O * OH * OW * C * KH * KW;

    /* din: each thread owns input-gradient planes din[n][c] and scatters into them
     * in the order o, kh, kw, oh, ow */
    if (din) {
#pragma omp parallel for collapse(2) schedule(static) if (work > PAR_MIN_WORK)
        for (int n = 0; n < B; n++)
            for (int c = 0; c < C; c++) {
                float *dx = din + ((int64_t)n * C + c) * H * W;
                for (int i = 0; i < H * W; i++) dx[i] = 0.0f;
                for (int o = 0; o < O; o++) {
                    const float *dy = dout + ((int64_t)n * O + o) * OH * OW;
                    const float *wk = w + ((int64_t)o * C + c) * KH * KW;
                    for (int kh = 0; kh < KH; kh++) {
                        int oh0, oh1;
                        tap_range(&oh0, &oh1, kh, st, pad, H, OH);
                        for (int kw = 0; kw < KW; kw++) {
                            int ow0, ow1;
                            tap_range(&ow0, &ow1, kw, st, pad, W, OW);
                            const float wv = wk[kh * KW + kw];
                            const int off = kw - pad;
                            for (int oh = oh0; oh < oh1; oh++) {
                                float *dxr = dx + (int64_t)(oh * st - pad + kh) * W;
                                const float *dyr = dy + (int64_t)oh * OW;
                                if (st == 1)
                                    for (int ow = ow0; ow < ow1; ow++) dxr[ow + off] += wv * dyr[ow];
                                else
                                    for (int ow = ow0; ow < ow1; ow++) dxr[ow * st + off] += wv * dyr[ow];
                            }
                        }
                    }
                }
            }
    }

    /* dw[o][c][kh][kw] += sum over n, oh, ow of dout * in: each thread owns whole slices
     * dw[o][c]. The sum runs in float lanes along the output row (independent, so they
     * vectorise), and the lanes are added in a fixed order at the end. */
#pragma omp parallel for collapse(2) schedule(static) if (work > PAR_MIN_WORK)
    for (int o = 0; o < O; o++)
        for (int c = 0; c < C; c++) {
            float *dwk = dw + ((int64_t)o * C + c) * KH * KW;
            for (int kh = 0; kh < KH; kh++) {
                int oh0, oh1;
                tap_range(&oh0, &oh1, kh, st, pad, H, OH);
                for (int kw = 0; kw < KW; kw++) {
                    int ow0, ow1;
                    tap_range(&ow0, &ow1, kw, st, pad, W, OW);
                    const int off = kw - pad;
                    double sum = 0.0;
                    for (int j0 = ow0; j0 < ow1; j0 += DW_LANES) {
                        const int j1 = ow1 - j0 < DW_LANES ? ow1 : j0 + DW_LANES;
                        float acc[DW_LANES] = {0};
                        for (int n = 0; n < B; n++) {
                            const float *dy = dout + ((int64_t)n * O + o) * OH * OW;
                            const float *x = in + ((int64_t)n * C + c) * H * W;
                            for (int oh = oh0; oh < oh1; oh++) {
                                const float *dyr = dy + (int64_t)oh * OW;
                                const float *xr = x + (int64_t)(oh * st - pad + kh) * W;
                                if (st == 1)
                                    for (int ow = j0; ow < j1; ow++) acc[ow - j0] += dyr[ow] * xr[ow + off];
                                else
                                    for (int ow = j0; ow < j1; ow++) acc[ow - j0] += dyr[ow] * xr[ow * st + off];
                            }
                        }
                        for (int j = 0; j < j1 - j0; j++) sum += acc[j];
                    }
                    dwk[kh * KW + kw] += (float)sum;
                }
            }
        }

    if (db) {
#pragma omp parallel for schedule(static) if (work > PAR_MIN_WORK)
        for (int o = 0; o < O; o++) {
            double sum = 0.0;
            for (int n = 0; n < B; n++) {
                const float *dy = dout + ((int64_t)n * O + o) * OH * OW;
                for (int i = 0; i < OH * OW; i++) sum += dy[i];
            }
            db[o] += (float)sum;
        }
    }
}
