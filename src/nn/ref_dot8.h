/*
 * ref_dot8.h — the one SIMD helper the reference layers share: sums in 8
 * fixed float lanes, added in a fixed order at the end.
 *
 * Without -ffast-math the compiler may not reorder a float sum, so a plain
 * dot-product loop stays scalar. Writing the 8 lanes out as a GCC vector of
 * 8 (whatever the target's width) vectorises it without reordering anything:
 * the result is the same on every build and for any thread count.
 */
#ifndef ACTLAB_NN_REF_DOT8_H
#define ACTLAB_NN_REF_DOT8_H

#include <string.h>

typedef float ref_f8 __attribute__((vector_size(32)));

static inline ref_f8 ref_load8(const float *p) {
    ref_f8 v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Adds the lanes; a tail of n % 8 elements goes to lanes 0, 1, ... first. */
static inline float ref_lanes_sum(ref_f8 acc, const float *a, const float *b, int i, int n) {
    float l[8];
    memcpy(l, &acc, sizeof l);
    for (int k = 0; i < n; i++, k++) l[k] += b ? a[i] * b[i] : a[i];
    return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}

/* sum a[i] * b[i] */
static inline float ref_dot8(const float *a, const float *b, int n) {
    ref_f8 acc = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8) acc += ref_load8(a + i) * ref_load8(b + i);
    return ref_lanes_sum(acc, a, b, i, n);
}

/* out[r] = ref_dot8(a, b[r], n) for r = 0..3, bit for bit: four independent chains
 * sharing the loads of a, so the adds' latency overlaps. */
static inline void ref_dot8x4(float out[4], const float *a, const float *const b[4], int n) {
    ref_f8 acc0 = {0}, acc1 = {0}, acc2 = {0}, acc3 = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        const ref_f8 v = ref_load8(a + i);
        acc0 += v * ref_load8(b[0] + i);
        acc1 += v * ref_load8(b[1] + i);
        acc2 += v * ref_load8(b[2] + i);
        acc3 += v * ref_load8(b[3] + i);
    }
    out[0] = ref_lanes_sum(acc0, a, b[0], i, n);
    out[1] = ref_lanes_sum(acc1, a, b[1], i, n);
    out[2] = ref_lanes_sum(acc2, a, b[2], i, n);
    out[3] = ref_lanes_sum(acc3, a, b[3], i, n);
}

/* sum a[i] */
static inline float ref_sum8(const float *a, int n) {
    ref_f8 acc = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8) acc += ref_load8(a + i);
    return ref_lanes_sum(acc, a, NULL, i, n);
}

#endif
