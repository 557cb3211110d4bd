/*
 * bench/bench_common.h — small helpers the bench programs share: medians and
 * the "useful" floating-point work of a training step.
 */
#ifndef ACTLAB_BENCH_COMMON_H
#define ACTLAB_BENCH_COMMON_H

#include <stdlib.h>
#include <string.h>
#include "actlab/net.h"

static inline int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n) (sorts v); 0 for n = 0. */
static inline double bench_median(double *v, int n) {
    if (n < 1) return 0;
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/*
 * The multiply-add work of one training step per image, x 2 (FLOPs): forward,
 * backward data and backward weights of every conv and dense layer, each the
 * forward's count (2 x multiply-adds); the layer that reads the network's input
 * computes no input gradient (actlab_net_backward skips it), so it counts 2x,
 * the others 3x. Winograd convolutions count as the direct ones they replace
 * (useful FLOPs, not executed ones). Batch norm, activations, pooling and the
 * loss are left out: they are memory-bound and small in FLOPs.
 */
static inline double bench_step_flops_per_image(const actlab_net *net) {
    double f = 0;
    for (int i = 0; i < actlab_net_layers(net); i++) {
        actlab_layer_info li;
        actlab_net_layer_info(net, i, &li);
        if (strcmp(li.type, "conv") && strcmp(li.type, "dense")) continue;
        f += li.flops * (li.input < 0 ? 2.0 : 3.0);
    }
    return f;
}

#endif
