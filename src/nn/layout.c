/* layout.c — NCHW <-> nChw16c conversions (see layout.h). */
#include "layout.h"

/* Parallel over (sample, channel block): each writes its own region. */
void nn_layout_to_blocked(float *dst, const float *src, int64_t B, int C, int64_t hw) {
    int64_t blocks = C / NN_BLOCK;
    #pragma omp parallel for schedule(static) if (B * C * hw > (1 << 16))
    for (int64_t nb = 0; nb < B * blocks; nb++) {
        const float *s = src + nb * NN_BLOCK * hw;
        float *d = dst + nb * NN_BLOCK * hw;
        for (int64_t i = 0; i < hw; i++)
            for (int k = 0; k < NN_BLOCK; k++) d[i * NN_BLOCK + k] = s[k * hw + i];
    }
}

void nn_layout_to_plain(float *dst, const float *src, int64_t B, int C, int64_t hw) {
    int64_t blocks = C / NN_BLOCK;
    #pragma omp parallel for schedule(static) if (B * C * hw > (1 << 16))
    for (int64_t nb = 0; nb < B * blocks; nb++) {
        const float *s = src + nb * NN_BLOCK * hw;
        float *d = dst + nb * NN_BLOCK * hw;
        for (int k = 0; k < NN_BLOCK; k++)
            for (int64_t i = 0; i < hw; i++) d[k * hw + i] = s[i * NN_BLOCK + k];
    }
}
