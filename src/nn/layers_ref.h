/*
 * layers_ref.h — the plain C reference implementation of the layers: dense,
 * conv2d, max/avg pooling, dropout, softmax cross-entropy and MSE.
 *
 * It is the truth the oneDNN backend is tested against, and the fallback
 * where oneDNN is not used. Tensors are float32 NCHW, batch first, with
 * PyTorch's weight layouts (Linear w[O][I], Conv2d w[O][C][KH][KW]), so
 * weights can be exchanged with PyTorch.
 *
 * Conventions (llm.c's): outputs first, then inputs, then shapes; each
 * layer's forward and backward sit side by side in one file (ref_dense.c,
 * ref_conv.c, ref_pool.c, ref_dropout.c, ref_loss.c). Backward OVERWRITES
 * the input gradient din (skipped when din is NULL, e.g. the first layer)
 * and ACCUMULATES (+=) weight and bias gradients, which the caller zeroes
 * once per step. Loops run under OpenMP, but every output element is
 * computed by one thread in a fixed order, so results are bit-identical for
 * any thread count.
 */
#ifndef ACTLAB_NN_LAYERS_REF_H
#define ACTLAB_NN_LAYERS_REF_H

#include <stdint.h>

/* ---- dense (torch.nn.Linear) ---- */

/* out[B][O] = in[B][I] . w[O][I]^T + b[O] (b may be NULL). */
void ref_dense_forward(float *out, const float *in, const float *w, const float *b, int B, int I, int O);
/* din[B][I] = dout . w (overwrites; skipped if NULL); dw[O][I] += dout^T . in;
 * db[O] += column sums of dout (skipped if NULL). */
void ref_dense_backward(float *din, float *dw, float *db, const float *dout, const float *in, const float *w,
                        int B, int I, int O);

/* ---- conv2d (torch.nn.Conv2d, groups=1, dilation=1, zero padding) ---- */

typedef struct nn_conv_shape {
    int B, C, H, W;    /* input */
    int O, KH, KW;     /* output channels, kernel */
    int stride, pad;   /* the same along both axes */
    int OH, OW;        /* output, filled by nn_conv_shape_init */
} nn_conv_shape;

/* Fills every field, OH = (H + 2 pad - KH)/stride + 1 (likewise OW); returns 0, or
 * -1 if the output would be empty, a size or the stride is not positive, or pad < 0. */
int nn_conv_shape_init(nn_conv_shape *s, int B, int C, int H, int W, int O, int K, int stride, int pad);
/* out[B][O][OH][OW] = conv(in[B][C][H][W], w[O][C][KH][KW]) + b[O] (b may be NULL). */
void ref_conv2d_forward(float *out, const float *in, const float *w, const float *b, const nn_conv_shape *s);
/* din[B][C][H][W] overwritten (skipped if NULL); dw[O][C][KH][KW] += ; db[O] += (skipped if NULL). */
void ref_conv2d_backward(float *din, float *dw, float *db, const float *dout, const float *in, const float *w,
                         const nn_conv_shape *s);

/* ---- pooling (torch.nn.MaxPool2d / AvgPool2d, square windows) ---- */

typedef struct nn_pool_shape {
    int B, C, H, W;
    int K, stride, pad;
    int OH, OW;
} nn_pool_shape;

/* Floor mode: OH = (H + 2 pad - K)/stride + 1. Returns 0, or -1 if a size or the stride
 * is not positive, pad < 0, pad > K/2 (PyTorch's rule) or the output would be empty. */
int nn_pool_shape_init(nn_pool_shape *s, int B, int C, int H, int W, int K, int stride, int pad);

/* torch.nn.MaxPool2d: padding acts as -inf. argmax[B][C][OH][OW] is the flat index
 * h*W+w of the winner in its input plane; ties keep the first in row-major order, and
 * NaN wins (as PyTorch's CPU kernel). */
void ref_maxpool_forward(float *out, int32_t *argmax, const float *in, const nn_pool_shape *s);
/* din[B][C][H][W] overwritten: each dout goes to its argmax (overlapping windows add up). */
void ref_maxpool_backward(float *din, const float *dout, const int32_t *argmax, const nn_pool_shape *s);

/* torch.nn.AvgPool2d with count_include_pad=True (its default): the divisor is K*K. */
void ref_avgpool_forward(float *out, const float *in, const nn_pool_shape *s);
/* din overwritten. */
void ref_avgpool_backward(float *din, const float *dout, const nn_pool_shape *s);

/* ---- batch normalisation (torch.nn.BatchNorm2d; BatchNorm1d with hw = 1) ---- */

/* in/out [B][C][hw]. training: mean[C] and var[C] receive the batch's mean and biased
 * variance and normalise; else the given mean/var (running statistics) do. */
void ref_bn_forward(float *out, const float *in, const float *gamma, const float *beta, float *mean, float *var,
                    int B, int C, int64_t hw, float eps, int training);
/* The training-mode gradient through the batch statistics: din overwritten (skipped if
 * NULL), dgamma and dbeta accumulated. */
void ref_bn_backward(float *din, float *dgamma, float *dbeta, const float *dout, const float *in, const float *gamma,
                     const float *mean, const float *var, int B, int C, int64_t hw, float eps);

/* ---- dropout (torch.nn.Dropout, inverted) ---- */

/* mask[i] = 0 or 1/(1-p): u_i = actlab_noise_fill(..., ACTLAB_NOISE_UNIFORM, seed, step, 0)[i],
 * kept where u_i >= p; out = in * mask. p in [0,1); p = 0 copies (mask all 1). */
void nn_dropout_forward(float *out, float *mask, const float *in, int64_t n, float p, uint64_t seed,
                        uint64_t step);
/* din = dout * mask (overwrites). */
void nn_dropout_backward(float *din, const float *dout, const float *mask, int64_t n);

/* ---- losses ---- */

/* Softmax cross-entropy (torch.nn.CrossEntropyLoss, mean reduction): per row, max
 * subtraction and log-sum-exp in double. probs[B][K] are kept for backward. Returns the
 * mean loss (NaN if a label is outside [0,K)); *correct, if not NULL, gets the number of
 * rows whose argmax (first maximum) equals the label. */
double nn_softmax_xent_forward(float *probs, const float *logits, const int32_t *labels, int B, int K, int *correct);
/* dlogits[B][K] = (probs - onehot(label)) / B (overwrites). */
void nn_softmax_xent_backward(float *dlogits, const float *probs, const int32_t *labels, int B, int K);

/* Mean squared error (torch.nn.MSELoss, mean over all n elements), summed in double. */
double nn_mse_forward(const float *out, const float *target, int64_t n);
/* dout = 2 (out - target) / n (overwrites). */
void nn_mse_backward(float *dout, const float *out, const float *target, int64_t n);

#endif
