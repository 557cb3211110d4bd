/*
 * layout.h — how a layer's activations lie in memory.
 *
 * The reference path keeps every tensor in PyTorch's NCHW. The oneDNN path
 * keeps the tensors between conv, batch-norm, pooling, activation, dropout
 * and residual layers in oneDNN's channel-blocked layout nChw16c ("aBcd16b":
 * [N][C/16][H][W][16]) whenever the channel count is a multiple of 16, which
 * is what oneDNN's AVX-512 kernels run on: then no activation is reordered
 * between layers. Layers that need NCHW (flatten, dense, maxout, global
 * pooling, activations with per-channel parameters) get a plain copy made by
 * the network (net.c) at that one point.
 */
#ifndef ACTLAB_NN_LAYOUT_H
#define ACTLAB_NN_LAYOUT_H
#include <stdint.h>

#define NN_BLOCK 16

/* Whether a C-channel tensor of the oneDNN path is kept blocked. */
static inline int nn_layout_can_block(int c, int h, int w) { return c % NN_BLOCK == 0 && (int64_t)h * w > 1; }

/* NCHW -> nChw16c and back, for B samples of C (a multiple of 16) channels of hw pixels. */
void nn_layout_to_blocked(float *dst, const float *src, int64_t B, int C, int64_t hw);
void nn_layout_to_plain(float *dst, const float *src, int64_t B, int C, int64_t hw);

#endif
