/*
 * ref_bn.c — batch normalisation in plain C (the reference for the oneDNN
 * path and the finite-difference tests), torch.nn.BatchNorm2d's semantics:
 * training normalises each channel by the batch's mean and biased variance
 * over (N, H, W); evaluation by the running statistics. Sums in double.
 */
#include <math.h>
#include "layers_ref.h"

void ref_bn_forward(float *out, const float *in, const float *gamma, const float *beta, float *mean, float *var,
                    int B, int C, int64_t hw, float eps, int training) {
    double n = (double)B * (double)hw;
    #pragma omp parallel for schedule(static) if ((int64_t)B * C * hw > (1 << 16))
    for (int c = 0; c < C; c++) {
        if (training) {
            double s = 0, q = 0;
            for (int b = 0; b < B; b++)
                for (int64_t i = 0; i < hw; i++) s += in[((int64_t)b * C + c) * hw + i];
            double m = s / n;
            for (int b = 0; b < B; b++)
                for (int64_t i = 0; i < hw; i++) {
                    double d = in[((int64_t)b * C + c) * hw + i] - m;
                    q += d * d;
                }
            mean[c] = (float)m;
            var[c] = (float)(q / n);
        }
        double inv = 1.0 / sqrt((double)var[c] + eps), g = gamma[c] * inv, m = mean[c];
        for (int b = 0; b < B; b++)
            for (int64_t i = 0; i < hw; i++) {
                int64_t k = ((int64_t)b * C + c) * hw + i;
                out[k] = (float)((in[k] - m) * g + beta[c]);
            }
    }
}

/* xhat = (x - mean) inv; dbeta = sum dy; dgamma = sum dy xhat;
 * dx = gamma inv / n (n dy - dbeta - xhat dgamma). */
void ref_bn_backward(float *din, float *dgamma, float *dbeta, const float *dout, const float *in, const float *gamma,
                     const float *mean, const float *var, int B, int C, int64_t hw, float eps) {
    double n = (double)B * (double)hw;
    #pragma omp parallel for schedule(static) if ((int64_t)B * C * hw > (1 << 16))
    for (int c = 0; c < C; c++) {
        double inv = 1.0 / sqrt((double)var[c] + eps), m = mean[c], sdy = 0, sdyx = 0;
        for (int b = 0; b < B; b++)
            for (int64_t i = 0; i < hw; i++) {
                int64_t k = ((int64_t)b * C + c) * hw + i;
                sdy += dout[k];
                sdyx += dout[k] * (in[k] - m) * inv;
            }
        dgamma[c] += (float)sdyx;
        dbeta[c] += (float)sdy;
        if (!din) continue;
        double g = gamma[c] * inv / n;
        for (int b = 0; b < B; b++)
            for (int64_t i = 0; i < hw; i++) {
                int64_t k = ((int64_t)b * C + c) * hw + i;
                din[k] = (float)(g * (n * dout[k] - sdy - (in[k] - m) * inv * sdyx));
            }
    }
}
