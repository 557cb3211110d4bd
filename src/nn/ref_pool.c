/*
 * ref_pool.c — reference max and average pooling (torch.nn.MaxPool2d and
 * AvgPool2d, square windows, floor mode), forward and backward.
 *
 * Max pooling follows PyTorch's CPU kernel exactly: padding acts as -inf
 * (padded positions are simply not visited), a later element wins only if it
 * is strictly greater, so ties keep the first in row-major order, and NaN
 * always wins. The winner's index within its input plane is kept for
 * backward. Average pooling counts padding in the divisor
 * (count_include_pad=True, PyTorch's default); in floor mode with pad <= K/2
 * every window then holds K*K positions. Threads own whole planes (n, c).
 */
#include <math.h>
#include "layers_ref.h"

/* Below this many window elements a thread team costs more than it saves. */
#define PAR_MIN_WORK (1 << 16)

int nn_pool_shape_init(nn_pool_shape *s, int B, int C, int H, int W, int K, int stride, int pad) {
    if (B <= 0 || C <= 0 || H <= 0 || W <= 0 || K <= 0 || stride <= 0 || pad < 0) return -1;
    if (pad > K / 2) return -1; /* PyTorch: "pad should be at most half of kernel size" */
    if ((int64_t)H + 2 * (int64_t)pad < K || (int64_t)W + 2 * (int64_t)pad < K) return -1;
    *s = (nn_pool_shape){.B = B, .C = C, .H = H, .W = W, .K = K, .stride = stride, .pad = pad};
    s->OH = (int)(((int64_t)H + 2 * pad - K) / stride + 1);
    s->OW = (int)(((int64_t)W + 2 * pad - K) / stride + 1);
    return 0;
}

/* The window of output position o along one axis, clipped to the input: [*lo, *hi). */
static inline void window(int *lo, int *hi, int o, const nn_pool_shape *s, int in) {
    int a = o * s->stride - s->pad, b = a + s->K;
    *lo = a < 0 ? 0 : a;
    *hi = b > in ? in : b;
}

void ref_maxpool_forward(float *out, int32_t *argmax, const float *in, const nn_pool_shape *s) {
    const int H = s->H, W = s->W, OH = s->OH, OW = s->OW;
    const int64_t planes = (int64_t)s->B * s->C;
    const int64_t work = planes * OH * OW * s->K * s->K;
#pragma omp parallel for schedule(static) if (work > PAR_MIN_WORK)
    for (int64_t p = 0; p < planes; p++) {
        const float *x = in + p * H * W;
        float *y = out + p * OH * OW;
        int32_t *am = argmax + p * OH * OW;
        for (int oh = 0; oh < OH; oh++) {
            int h0, h1;
            window(&h0, &h1, oh, s, H);
            for (int ow = 0; ow < OW; ow++) {
                int w0, w1;
                window(&w0, &w1, ow, s, W);
                /* as PyTorch: start from -inf at the first valid position */
                int32_t best = h0 * W + w0;
                float m = -INFINITY;
                for (int h = h0; h < h1; h++)
                    for (int w = w0; w < w1; w++) {
                        float v = x[h * W + w];
                        if (v > m || isnan(v)) {
                            m = v;
                            best = h * W + w;
                        }
                    }
                y[oh * OW + ow] = m;
                am[oh * OW + ow] = best;
            }
        }
    }
}

void ref_maxpool_backward(float *din, const float *dout, const int32_t *argmax, const nn_pool_shape *s) {
    const int HW = s->H * s->W, OHW = s->OH * s->OW;
    const int64_t planes = (int64_t)s->B * s->C;
#pragma omp parallel for schedule(static) if (planes * (HW + OHW) > PAR_MIN_WORK)
    for (int64_t p = 0; p < planes; p++) {
        float *dx = din + p * HW;
        const float *dy = dout + p * OHW;
        const int32_t *am = argmax + p * OHW;
        for (int i = 0; i < HW; i++) dx[i] = 0.0f;
        for (int i = 0; i < OHW; i++) dx[am[i]] += dy[i]; /* in output order: fixed */
    }
}

void ref_avgpool_forward(float *out, const float *in, const nn_pool_shape *s) {
    const int H = s->H, W = s->W, OH = s->OH, OW = s->OW;
    const int64_t planes = (int64_t)s->B * s->C;
    const int64_t work = planes * OH * OW * s->K * s->K;
    const float div = (float)(s->K * s->K);
#pragma omp parallel for schedule(static) if (work > PAR_MIN_WORK)
    for (int64_t p = 0; p < planes; p++) {
        const float *x = in + p * H * W;
        float *y = out + p * OH * OW;
        for (int oh = 0; oh < OH; oh++) {
            int h0, h1;
            window(&h0, &h1, oh, s, H);
            for (int ow = 0; ow < OW; ow++) {
                int w0, w1;
                window(&w0, &w1, ow, s, W);
                float sum = 0.0f;
                for (int h = h0; h < h1; h++)
                    for (int w = w0; w < w1; w++) sum += x[h * W + w];
                y[oh * OW + ow] = sum / div; /* sum, then divide: as PyTorch */
            }
        }
    }
}

void ref_avgpool_backward(float *din, const float *dout, const nn_pool_shape *s) {
    const int H = s->H, W = s->W, OH = s->OH, OW = s->OW;
    const int64_t planes = (int64_t)s->B * s->C;
    const int64_t work = planes * OH * OW * s->K * s->K;
    const float div = (float)(s->K * s->K);
#pragma omp parallel for schedule(static) if (work > PAR_MIN_WORK)
    for (int64_t p = 0; p < planes; p++) {
        float *dx = din + p * H * W;
        const float *dy = dout + p * OH * OW;
        for (int i = 0; i < H * W; i++) dx[i] = 0.0f;
        for (int oh = 0; oh < OH; oh++) {
            int h0, h1;
            window(&h0, &h1, oh, s, H);
            for (int ow = 0; ow < OW; ow++) {
                int w0, w1;
                window(&w0, &w1, ow, s, W);
                const float g = dy[oh * OW + ow] / div;
                for (int h = h0; h < h1; h++)
                    for (int w = w0; w < w1; w++) dx[h * W + w] += g;
            }
        }
    }
}
