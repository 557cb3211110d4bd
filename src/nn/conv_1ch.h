/*
 * conv_1ch.h — convolution of a one-channel image (a grayscale network's first
 * layer: LeNet's 1->6 5x5 on MNIST-family data), stride 1, NCHW in and out.
 * oneDNN pads its channel blocks to 16 for one input channel and six outputs
 * and ran LeNet's first layer at about 40 GFLOP/s (forward plus a reorder
 * out of the padded layout, backward weights plus a reorder into it); here
 * each output row is a run of vectors, each a sum of K*K shifted input rows
 * times a broadcast weight. Results agree with ref_conv2d within float
 * rounding (the sums run in another order) and do not depend on timing: each
 * thread owns a fixed range of images and the weight gradient's per-thread
 * sums are added in thread order.
 */
#ifndef ACTLAB_CONV_1CH_H
#define ACTLAB_CONV_1CH_H

#include <stddef.h>
#include "layers_ref.h"

/* Whether the shape is this kernel's: one input channel, stride 1, a square
 * kernel of at most 7 and a pad below the kernel size. */
int nn_conv_1ch_fits(const nn_conv_shape *s);
/* Floats of scratch the calls need for `threads` threads (padded planes and the
 * per-thread weight gradients); the caller owns it, so nothing is allocated in a step. */
size_t nn_conv_1ch_scratch_floats(const nn_conv_shape *s, int threads);
/* out[B][O][OH][OW] = conv(in[B][1][H][W], w[O][1][K][K]) + b[O] (b may be NULL). */
void nn_conv_1ch_forward(float *out, const float *in, const float *w, const float *b, const nn_conv_shape *s,
                         float *scratch, int threads);
/* din[B][1][H][W] overwritten (skipped if NULL); dw[O][1][K][K] += ; db[O] += (skipped if NULL). */
void nn_conv_1ch_backward(float *din, float *dw, float *db, const float *dout, const float *in, const float *w,
                          const nn_conv_shape *s, float *scratch, int threads);

#endif
