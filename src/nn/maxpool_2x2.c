/*
 * maxpool_2x2.c — 2x2 stride-2 max pooling on NCHW (see maxpool_2x2.h).
 *
 * A window's four candidates are lane-wise across ACT_VW windows of one output
 * row: the two input rows are loaded whole and split into even and odd columns,
 * so every comparison and choice is a vector select. (Written as scalar code
 * with data-dependent choices, the branch mispredictions on random data made
 * it slower than oneDNN's.)
 */
#include "maxpool_2x2.h"
#include "act/vec.h"

/* Below this many input elements a thread team costs more than it saves. */
#define PAR_MIN_WORK (1 << 16)

typedef uint8_t vbytes __attribute__((vector_size(ACT_VW)));

int nn_maxpool_2x2_fits(const nn_pool_shape *s) { return s->K == 2 && s->stride == 2 && s->pad == 0; }

/* Lane i takes element 2i + odd of the pair (lo, hi). */
static inline vm pick_mask(int odd) {
    vm m;
    for (int i = 0; i < ACT_VW; i++) m[i] = 2 * i + odd;
    return m;
}

/* Lanes i of `half` (0: the first ACT_VW) of the interleaving e0 o0 e1 o1 ... */
static inline vm weave_mask(int half) {
    vm m;
    for (int i = 0; i < ACT_VW; i++) {
        int k = half * ACT_VW + i;
        m[i] = k / 2 + (k % 2) * ACT_VW;
    }
    return m;
}

/* Columns 2 ow0 .. 2 (ow0 + n) - 1 of a row, split into even and odd. */
static inline void load_pairs(const float *row, int64_t n, vf *even, vf *odd) {
    int64_t lo = 2 * n < ACT_VW ? 2 * n : ACT_VW;
    vf a = vload_n(row, lo), b = 2 * n > ACT_VW ? vload_n(row + ACT_VW, 2 * n - ACT_VW) : vsplat(0);
    *even = __builtin_shuffle(a, b, pick_mask(0));
    *odd = __builtin_shuffle(a, b, pick_mask(1));
}

static inline void store_pairs(float *row, int64_t n, vf even, vf odd) {
    int64_t lo = 2 * n < ACT_VW ? 2 * n : ACT_VW;
    vstore_n(row, __builtin_shuffle(even, odd, weave_mask(0)), lo);
    if (2 * n > ACT_VW) vstore_n(row + ACT_VW, __builtin_shuffle(even, odd, weave_mask(1)), 2 * n - ACT_VW);
}

/* The first n <= ACT_VW bytes (masked where AVX-512 has byte masks: a memcpy of a
 * run-time size is a library call). */
static inline vbytes load_bytes(const uint8_t *p, int64_t n) {
#if defined(__AVX512BW__) && defined(__AVX512VL__) && ACT_VW == 16
    return (vbytes)_mm_maskz_loadu_epi8((__mmask16)((1u << n) - 1), p);
#else
    vbytes b = {0};
    memcpy(&b, p, (size_t)n);
    return b;
#endif
}
static inline void store_bytes(uint8_t *p, vbytes b, int64_t n) {
#if defined(__AVX512BW__) && defined(__AVX512VL__) && ACT_VW == 16
    _mm_mask_storeu_epi8(p, (__mmask16)((1u << n) - 1), (__m128i)b);
#else
    memcpy(p, &b, (size_t)n);
#endif
}

/* The later candidate wins if strictly greater or NaN: ref_maxpool's rule. */
static inline void take(vf v, int k, vf *m, vm *w) {
    vm win = (v > *m) | (v != v);
    *m = vsel(win, v, *m);
    *w = (win & k) | (~win & *w);
}

void nn_maxpool_2x2_forward(float *out, uint8_t *which, const float *in, const nn_pool_shape *s) {
    const int W = s->W, OH = s->OH, OW = s->OW;
    const int64_t planes = (int64_t)s->B * s->C, HW = (int64_t)s->H * W, OHW = (int64_t)OH * OW;
#pragma omp parallel for schedule(static) if (planes * HW > PAR_MIN_WORK)
    for (int64_t p = 0; p < planes; p++)
        for (int oh = 0; oh < OH; oh++) {
            const float *r0 = in + p * HW + (int64_t)2 * oh * W, *r1 = r0 + W;
            float *y = out + p * OHW + (int64_t)oh * OW;
            uint8_t *wh = which + p * OHW + (int64_t)oh * OW;
            for (int ow = 0; ow < OW; ow += ACT_VW) {
                int64_t n = OW - ow < ACT_VW ? OW - ow : ACT_VW;
                vf e0, o0, e1, o1;
                load_pairs(r0 + 2 * ow, n, &e0, &o0);
                load_pairs(r1 + 2 * ow, n, &e1, &o1);
                vf m = e0;
                vm w = {0};
                take(o0, 1, &m, &w);
                take(e1, 2, &m, &w);
                take(o1, 3, &m, &w);
                vstore_n(y + ow, m, n);
                store_bytes(wh + ow, __builtin_convertvector(w, vbytes), n);
            }
        }
}

void nn_maxpool_2x2_backward(float *din, const float *dout, const uint8_t *which, const nn_pool_shape *s) {
    const int H = s->H, W = s->W, OH = s->OH, OW = s->OW;
    const int64_t planes = (int64_t)s->B * s->C, HW = (int64_t)H * W, OHW = (int64_t)OH * OW;
    const vf zero = vsplat(0);
#pragma omp parallel for schedule(static) if (planes * HW > PAR_MIN_WORK)
    for (int64_t p = 0; p < planes; p++) {
        float *dx = din + p * HW;
        for (int oh = 0; oh < OH; oh++) {
            float *r0 = dx + (int64_t)2 * oh * W, *r1 = r0 + W;
            const float *g = dout + p * OHW + (int64_t)oh * OW;
            const uint8_t *wh = which + p * OHW + (int64_t)oh * OW;
            for (int ow = 0; ow < OW; ow += ACT_VW) {
                int64_t n = OW - ow < ACT_VW ? OW - ow : ACT_VW;
                vf gv = vload_n(g + ow, n);
                vm w = __builtin_convertvector(load_bytes(wh + ow, n), vm);
                store_pairs(r0 + 2 * ow, n, vsel(w == 0, gv, zero), vsel(w == 1, gv, zero));
                store_pairs(r1 + 2 * ow, n, vsel(w == 2, gv, zero), vsel(w == 3, gv, zero));
            }
            if (W & 1) r0[W - 1] = r1[W - 1] = 0.0f; /* the odd last column is in no window */
        }
        if (H & 1)
            for (int w = 0; w < W; w++) dx[(int64_t)(H - 1) * W + w] = 0.0f;
    }
}
