/*
 * ref_dense.c — reference dense layer (torch.nn.Linear), forward and backward.
 *
 * w is [O][I] as in PyTorch. The forward is a dot product per output; the
 * backward loops are written as axpy's (y[:] += a * x[:]) over contiguous
 * rows, which the compiler vectorises without reordering any sum. Each thread
 * owns whole rows of the result (a sample for out and din, an output unit for
 * dw and db), so results do not depend on the thread count.
 */
#include "layers_ref.h"
#include "ref_dot8.h"

/* Below this many multiply-adds a thread team costs more than it saves. */
#define PAR_MIN_WORK (1 << 15)

void ref_dense_forward(float *out, const float *in, const float *w, const float *b, int B, int I, int O) {
    int64_t work = (int64_t)B * I * O;
#pragma omp parallel for schedule(static) if (work > PAR_MIN_WORK)
    for (int n = 0; n < B; n++) {
        const float *x = in + (int64_t)n * I;
        float *y = out + (int64_t)n * O;
        int o = 0;
        for (; o + 4 <= O; o += 4) { /* four rows of w at a time: the same sums, overlapped */
            const float *rows[4] = {w + (int64_t)o * I, w + (int64_t)(o + 1) * I, w + (int64_t)(o + 2) * I,
                                    w + (int64_t)(o + 3) * I};
            float d[4];
            ref_dot8x4(d, x, rows, I);
            for (int r = 0; r < 4; r++) y[o + r] = d[r] + (b ? b[o + r] : 0.0f);
        }
        for (; o < O; o++) y[o] = ref_dot8(x, w + (int64_t)o * I, I) + (b ? b[o] : 0.0f);
    }
}

void ref_dense_backward(float *din, float *dw, float *db, const float *dout, const float *in, const float *w,
                        int B, int I, int O) {
    int64_t work = (int64_t)B * I * O;
    if (din) {
        /* din[n][:] = sum_o dout[n][o] * w[o][:], rows of w in order */
#pragma omp parallel for schedule(static) if (work > PAR_MIN_WORK)
        for (int n = 0; n < B; n++) {
            float *dx = din + (int64_t)n * I;
            const float *dy = dout + (int64_t)n * O;
            for (int i = 0; i < I; i++) dx[i] = 0.0f;
            for (int o = 0; o < O; o++) {
                const float g = dy[o], *wr = w + (int64_t)o * I;
                for (int i = 0; i < I; i++) dx[i] += g * wr[i];
            }
        }
    }
    /* dw[o][:] += sum_n dout[n][o] * in[n][:], samples in order; db[o] likewise */
#pragma omp parallel for schedule(static) if (work > PAR_MIN_WORK)
    for (int o = 0; o < O; o++) {
        float *dwr = dw + (int64_t)o * I;
        float bsum = 0.0f;
        for (int n = 0; n < B; n++) {
            const float g = dout[(int64_t)n * O + o], *x = in + (int64_t)n * I;
            bsum += g;
            for (int i = 0; i < I; i++) dwr[i] += g * x[i];
        }
        if (db) db[o] += bsum;
    }
}
