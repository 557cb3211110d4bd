/*
 * augment.c — the seeded per-sample choices made on a training set: the
 * augmentation of each image (random crop with padding, horizontal flip) and
 * the validation hold-out.
 *
 * Both are pure functions of a seed and counters, in the style of the
 * loader's shuffle: a crop offset or flip is a splitmix64 output of
 * (seed, epoch, index in the data set), the hold-out a Fisher-Yates shuffle
 * per class of (seed, class). Nothing depends on batch order, thread count or
 * what ran before, so resumed runs replay exactly.
 */
#include "util/error.h"
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "actlab/data.h"

/* splitmix64's finaliser, as the loader's shuffle uses it */
static inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

__extension__ typedef unsigned __int128 u128; /* GCC and Clang on 64-bit targets */

#define GOLDEN 0x9e3779b97f4a7c15ull
#define MAX_PAD 65536

/* ---- augmentation ---- */

int actlab_augment_parse(const char *text, int pad, actlab_augment *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (!text) return 0;
    if (!strcasecmp(text, "none")) return 0;
    int crop = 0;
    const char *p = text;
    for (;;) {
        size_t n = strcspn(p, ",");
        if (n == 4 && !strncasecmp(p, "crop", 4)) crop = 1;
        else if (n == 4 && !strncasecmp(p, "flip", 4)) out->flip = 1;
        else {
            int whole = p == text && !p[n];
            memset(out, 0, sizeof *out);
            return actlab_errorf(err, errlen, "expected none or a comma list of crop and flip, got '%.*s'%s%s%s", (int)n, p,
                                 whole ? "" : " in '", whole ? "" : text, whole ? "" : "'");
        }
        if (!p[n]) break;
        p += n + 1;
    }
    if (crop && (pad < 1 || pad > MAX_PAD)) {
        memset(out, 0, sizeof *out);
        return actlab_errorf(err, errlen, "crop: the padding must be in [1, %d] pixels, got %d", MAX_PAD, pad);
    }
    out->pad = crop ? pad : 0;
    return 0;
}

size_t actlab_augment_describe(const actlab_augment *a, char *buf, size_t len) {
    const char *s = !a || (!a->pad && !a->flip) ? "none" : a->pad && a->flip ? "crop,flip" : a->pad ? "crop" : "flip";
    int w = snprintf(buf, len, "%s", s);
    return w < 0 ? 0 : (size_t)w;
}

actlab_augment_draw actlab_augment_draw_for(const actlab_augment *a, uint64_t seed, int64_t epoch, int64_t index) {
    /* a key of (seed, epoch) as the shuffle's, with another constant so the two streams
     * are unrelated; then three outputs per sample, one per choice, so that the crop
     * offsets and the flip are independent of each other and of whether the other is on */
    uint64_t key = mix64(mix64(seed ^ 0xbb67ae8584caa73bull) + mix64((uint64_t)epoch + GOLDEN));
    uint64_t r1 = mix64(key + (uint64_t)index * GOLDEN);
    uint64_t r2 = mix64(r1 + GOLDEN), r3 = mix64(r2 + GOLDEN);
    uint64_t span = a && a->pad > 0 ? 2 * (uint64_t)a->pad + 1 : 1;
    actlab_augment_draw d;
    /* uniform in [0, span) by multiply-shift (Lemire): bias below span / 2^64 */
    d.dy = (int)(((u128)r1 * span) >> 64);
    d.dx = (int)(((u128)r2 * span) >> 64);
    d.flip = a && a->flip ? (int)(r3 >> 63) : 0;
    return d;
}

void actlab_augment_apply(const actlab_augment *a, const actlab_augment_draw *draw, float *out, const float *in,
                          int channels, int height, int width) {
    int pad = a ? a->pad : 0;
    /* out(y, x) = padded(y + dy, x' + dx) = in(y + dy - pad, x' + dx - pad), x' = x or
     * width-1-x (the flip after the crop, as torchvision's usual pipeline) */
    int oy = draw->dy - pad, ox = draw->dx - pad;
    for (int c = 0; c < channels; c++) {
        float fill = a && a->fill ? a->fill[c] : 0.0f;
        for (int y = 0; y < height; y++) {
            float *o = out + ((size_t)c * height + y) * width;
            int sy = y + oy;
            if (sy < 0 || sy >= height) {
                for (int x = 0; x < width; x++) o[x] = fill;
                continue;
            }
            const float *row = in + ((size_t)c * height + sy) * width;
            for (int x = 0; x < width; x++) {
                int sx = (draw->flip ? width - 1 - x : x) + ox;
                o[x] = sx >= 0 && sx < width ? row[sx] : fill;
            }
        }
    }
}

/* ---- the validation hold-out ---- */

int actlab_dataset_split(actlab_dataset *d, actlab_dataset *val, double fraction, uint64_t seed, char *err,
                         size_t errlen) {
    memset(val, 0, sizeof *val);
    if (!(fraction > 0 && fraction < 1))
        return actlab_errorf(err, errlen, "validation split: the fraction must be above 0 and below 1, got %g", fraction);
    int64_t n = d->count, total = llround(fraction * (double)n);
    int K = d->classes;
    if (total < 1 || total >= n)
        return actlab_errorf(err, errlen, "validation split: %g of %lld images leaves %s", fraction, (long long)n,
                             total < 1 ? "no validation image" : "no training image");
    if (K < 1) return actlab_errorf(err, errlen, "validation split: the data set has no classes");
    for (int64_t i = 0; i < n; i++)
        if (d->labels[i] < 0 || d->labels[i] >= K)
            return actlab_errorf(err, errlen, "validation split: image %lld has label %d, outside [0, %d)", (long long)i,
                                 d->labels[i], K);
    size_t per = (size_t)d->channels * d->height * d->width;
    int64_t *count = calloc((size_t)K + 1, sizeof *count), *take = calloc((size_t)K, sizeof *take);
    int64_t *byclass = malloc((size_t)n * sizeof *byclass), *perm = malloc((size_t)n * sizeof *perm);
    unsigned char *held = calloc((size_t)n, 1);
    unsigned char *extra = calloc((size_t)K, 1);
    float *vx = malloc((size_t)total * per * sizeof *vx);
    int32_t *vy = malloc((size_t)total * sizeof *vy);
    if (!count || !take || !byclass || !perm || !held || !extra || !vx || !vy) {
        free(count), free(take), free(byclass), free(perm), free(held), free(extra), free(vx), free(vy);
        return actlab_errorf(err, errlen, "validation split: out of memory");
    }
    /* each class's share, rounded down; the rest of the total to the largest remainders */
    for (int64_t i = 0; i < n; i++) count[d->labels[i] + 1]++;
    int64_t sum = 0;
    for (int c = 0; c < K; c++) {
        take[c] = (int64_t)floor(fraction * (double)count[c + 1]);
        sum += take[c];
    }
    for (; sum < total; sum++) {
        int best = -1;
        double best_rem = -1;
        for (int c = 0; c < K; c++) {
            double rem = fraction * (double)count[c + 1] - (double)take[c];
            if (!extra[c] && take[c] < count[c + 1] && rem > best_rem) best = c, best_rem = rem;
        }
        if (best < 0) break; /* cannot happen: the rounded-up shares sum to at least the total */
        extra[best] = 1, take[best]++;
    }
    /* indices grouped by class (in data order within a class), then a seeded pick per class;
     * the seed is mixed with a constant so the split never shares a stream with an epoch's order */
    for (int c = 0; c < K; c++) count[c + 1] += count[c];
    for (int64_t i = 0; i < n; i++) byclass[count[d->labels[i]]++] = i;
    for (int64_t c = 0, first = 0; c < K; c++) {
        int64_t m = count[c] - first;
        actlab_data_permutation(perm, m, seed ^ 0x73706c6974ull, c);
        for (int64_t j = 0; j < take[c]; j++) held[byclass[first + perm[j]]] = 1;
        first = count[c];
    }
    /* both sides keep the original order; the training side is compacted in place */
    int64_t v = 0, t = 0;
    for (int64_t i = 0; i < n; i++) {
        const float *src = d->images + (size_t)i * per;
        if (held[i]) {
            memcpy(vx + (size_t)v * per, src, per * sizeof *vx);
            vy[v++] = d->labels[i];
        } else {
            if (t != i) memcpy(d->images + (size_t)t * per, src, per * sizeof *vx);
            d->labels[t++] = d->labels[i];
        }
    }
    free(count), free(take), free(byclass), free(perm), free(held), free(extra);
    *val = *d;
    val->count = v;
    val->images = vx;
    val->labels = vy;
    d->count = t;
    /* give the memory back; a failed shrink leaves the larger block, still valid */
    float *x = realloc(d->images, (size_t)t * per * sizeof *x);
    if (x) d->images = x;
    int32_t *y = realloc(d->labels, (size_t)t * sizeof *y);
    if (y) d->labels = y;
    return 0;
}
