/*
 * maxpool_2x2.h — max pooling with a 2x2 window and stride 2 on plain NCHW
 * tensors (LeNet's and VGG's pooling), for the layers whose channel count
 * keeps them out of the blocked layout. oneDNN's kernel on NCHW took 0.9 ms
 * of LeNet's 6 ms step at batch 128 on one thread; this one a fraction of it.
 * Same results as ref_maxpool_* bit for bit: ties keep the first element in
 * row-major order and NaN wins.
 */
#ifndef ACTLAB_MAXPOOL_2X2_H
#define ACTLAB_MAXPOOL_2X2_H

#include <stdint.h>
#include "layers_ref.h"

/* Whether the shape is this kernel's: K = 2, stride 2, no padding. */
int nn_maxpool_2x2_fits(const nn_pool_shape *s);
/* out[B][C][OH][OW]; which[B][C][OH][OW] is the winner's place in its window
 * (0 top left, 1 top right, 2 bottom left, 3 bottom right). */
void nn_maxpool_2x2_forward(float *out, uint8_t *which, const float *in, const nn_pool_shape *s);
/* din[B][C][H][W] overwritten: each dout at its winner, 0 elsewhere. */
void nn_maxpool_2x2_backward(float *din, const float *dout, const uint8_t *which, const nn_pool_shape *s);

#endif
