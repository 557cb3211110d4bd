/*
 * ref_dropout.c — inverted dropout (torch.nn.Dropout), forward and backward.
 *
 * Kept elements are scaled by 1/(1-p) in training, so evaluation is a plain
 * copy. The draws come from the catalogue's counter-based generator: u_i is
 * a pure function of (seed, step, i), so the mask does not depend on how the
 * array is split between threads, and a resumed run redraws the same masks.
 */
#include "actlab/act.h"
#include "layers_ref.h"

/* Elements per parallel chunk; chunks draw their own index range. */
#define CHUNK 16384

void nn_dropout_forward(float *out, float *mask, const float *in, int64_t n, float p, uint64_t seed,
                        uint64_t step) {
    if (p <= 0.0f) {
#pragma omp parallel for schedule(static) if (n > 4 * CHUNK)
        for (int64_t i = 0; i < n; i++) {
            mask[i] = 1.0f;
            out[i] = in[i];
        }
        return;
    }
    const float scale = 1.0f / (1.0f - p); /* as PyTorch: the mask holds 1/(1-p) */
    const int64_t nchunks = (n + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static) if (nchunks > 4)
    for (int64_t k = 0; k < nchunks; k++) {
        const int64_t i0 = k * CHUNK, len = n - i0 < CHUNK ? n - i0 : CHUNK;
        actlab_noise_fill(mask + i0, len, ACTLAB_NOISE_UNIFORM, seed, step, (uint64_t)i0);
        for (int64_t i = i0; i < i0 + len; i++) {
            mask[i] = mask[i] >= p ? scale : 0.0f;
            out[i] = in[i] * mask[i];
        }
    }
}

void nn_dropout_backward(float *din, const float *dout, const float *mask, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 4 * CHUNK)
    for (int64_t i = 0; i < n; i++) din[i] = dout[i] * mask[i];
}
