/*
 * ref_loss.c — the losses: softmax cross-entropy (classification) and mean
 * squared error (the autoencoder), forward and backward.
 *
 * Both reduce by the mean, as PyTorch's defaults. Sums run serially in
 * double: they are cheap next to the layers, and a fixed order keeps the
 * loss identical for any thread count.
 */
#include <math.h>
#include "layers_ref.h"

double nn_softmax_xent_forward(float *probs, const float *logits, const int32_t *labels, int B, int K, int *correct) {
    double total = 0.0;
    int right = 0;
    for (int n = 0; n < B; n++) {
        const float *z = logits + (int64_t)n * K;
        float *q = probs + (int64_t)n * K;
        /* subtracting the max keeps exp() in range for any logits (1e4 included) */
        int arg = 0;
        for (int k = 1; k < K; k++)
            if (z[k] > z[arg]) arg = k;
        const double m = z[arg];
        double sum = 0.0;
        for (int k = 0; k < K; k++) sum += exp((double)z[k] - m);
        for (int k = 0; k < K; k++) q[k] = (float)(exp((double)z[k] - m) / sum);
        const int32_t y = labels[n];
        if (y < 0 || y >= K) {
            total = NAN; /* the caller validates labels; do not read out of bounds */
            continue;
        }
        total += m + log(sum) - (double)z[y];
        right += arg == y;
    }
    if (correct) *correct = right;
    return total / B;
}

void nn_softmax_xent_backward(float *dlogits, const float *probs, const int32_t *labels, int B, int K) {
    const float inv = 1.0f / (float)B;
    for (int n = 0; n < B; n++) {
        const float *q = probs + (int64_t)n * K;
        float *d = dlogits + (int64_t)n * K;
        for (int k = 0; k < K; k++) d[k] = (q[k] - (k == labels[n] ? 1.0f : 0.0f)) * inv;
    }
}

double nn_mse_forward(const float *out, const float *target, int64_t n) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)out[i] - (double)target[i];
        sum += d * d;
    }
    return sum / (double)n;
}

void nn_mse_backward(float *dout, const float *out, const float *target, int64_t n) {
    const float scale = (float)(2.0 / (double)n);
#pragma omp parallel for schedule(static) if (n > (1 << 16))
    for (int64_t i = 0; i < n; i++) dout[i] = scale * (out[i] - target[i]);
}
