/* test_augment.c — augmentation and the validation split: crop offsets and flips
 * are a pure function of (seed, epoch, index), cover every offset, pad with the fill
 * value and match a plain padded-then-cropped reference; a flip of a flip is the
 * identity; the loader's augmented batches are exactly the right images (labels
 * with them), resumable at any batch, and the data set itself is never changed;
 * the validation split is disjoint, sized, stratified, ordered and deterministic. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "actlab/data.h"
#include "check.h"

enum { C = 2, H = 5, W = 6, N = 103, K = 7 };

/* pixel values name their image, channel and place; labels are index mod K */
static actlab_dataset make_indexed(int64_t n) {
    actlab_dataset d;
    memset(&d, 0, sizeof d);
    d.count = n, d.channels = C, d.height = H, d.width = W, d.classes = K;
    d.images = malloc((size_t)n * C * H * W * sizeof(float));
    d.labels = malloc((size_t)n * sizeof(int32_t));
    for (int64_t i = 0; i < n; i++) {
        for (int j = 0; j < C * H * W; j++) d.images[i * C * H * W + j] = (float)(i * 1000 + j + 1);
        d.labels[i] = (int32_t)(i % K);
    }
    return d;
}

/* The obvious way: build the padded image, cut the crop out, mirror it. */
static void reference(const actlab_augment *a, const actlab_augment_draw *dr, float *out, const float *in) {
    int p = a->pad, PH = H + 2 * p, PW = W + 2 * p;
    float *padded = malloc((size_t)C * PH * PW * sizeof *padded);
    for (int c = 0; c < C; c++)
        for (int y = 0; y < PH; y++)
            for (int x = 0; x < PW; x++) {
                int sy = y - p, sx = x - p;
                padded[(c * PH + y) * PW + x] = sy >= 0 && sy < H && sx >= 0 && sx < W ? in[(c * H + sy) * W + sx]
                                                : a->fill ? a->fill[c] : 0.0f;
            }
    for (int c = 0; c < C; c++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                float v = padded[(c * PH + y + dr->dy) * PW + x + dr->dx];
                out[(c * H + y) * W + (dr->flip ? W - 1 - x : x)] = v;
            }
    free(padded);
}

static void test_parse(void) {
    char err[256], text[32];
    actlab_augment a;
    CHECK(actlab_augment_parse("crop,flip", 4, &a, err, sizeof err) == 0 && a.pad == 4 && a.flip == 1 && !a.fill,
          "crop,flip: pad %d flip %d", a.pad, a.flip);
    actlab_augment_describe(&a, text, sizeof text);
    CHECK(!strcmp(text, "crop,flip"), "described as '%s'", text);
    CHECK(actlab_augment_parse("Flip,crop", 2, &a, err, sizeof err) == 0 && a.pad == 2 && a.flip == 1, "any order and case");
    CHECK(actlab_augment_parse("flip", 4, &a, err, sizeof err) == 0 && a.pad == 0 && a.flip == 1, "flip alone: no pad");
    actlab_augment_describe(&a, text, sizeof text);
    CHECK(!strcmp(text, "flip"), "described as '%s'", text);
    CHECK(actlab_augment_parse("none", 4, &a, err, sizeof err) == 0 && a.pad == 0 && a.flip == 0, "none");
    CHECK(actlab_augment_parse(NULL, 4, &a, err, sizeof err) == 0 && a.pad == 0 && a.flip == 0, "NULL is none");
    actlab_augment_describe(&a, text, sizeof text);
    CHECK(!strcmp(text, "none"), "described as '%s'", text);
    CHECK(actlab_augment_parse("bogus", 4, &a, err, sizeof err) != 0 && strstr(err, "got 'bogus'") &&
          strstr(err, "crop and flip"), "bogus refused: %s", err);
    CHECK(actlab_augment_parse("crop,bogus", 4, &a, err, sizeof err) != 0 && strstr(err, "'bogus' in 'crop,bogus'") &&
          a.pad == 0, "crop,bogus refused and out cleared: %s", err);
    CHECK(actlab_augment_parse("", 4, &a, err, sizeof err) != 0, "empty text refused");
    CHECK(actlab_augment_parse("crop,", 4, &a, err, sizeof err) != 0, "trailing comma refused");
    CHECK(actlab_augment_parse("crop", 0, &a, err, sizeof err) != 0 && strstr(err, "padding"), "crop without padding: %s", err);
}

static void test_draws(void) {
    actlab_augment a = {.pad = 4, .flip = 1};
    int seen_dy[9] = {0}, seen_dx[9] = {0}, flips = 0, in_range = 1, differ_seed = 0, differ_epoch = 0, same = 1;
    int both_offsets_equal = 0, flip_alone_same = 1;
    actlab_augment flip_only = {.flip = 1}, crop_only = {.pad = 4};
    const int M = 4000;
    for (int i = 0; i < M; i++) {
        actlab_augment_draw d = actlab_augment_draw_for(&a, 11, 3, i), e = actlab_augment_draw_for(&a, 11, 3, i);
        same &= d.dy == e.dy && d.dx == e.dx && d.flip == e.flip;
        in_range &= d.dy >= 0 && d.dy <= 8 && d.dx >= 0 && d.dx <= 8 && (d.flip == 0 || d.flip == 1);
        if (!in_range) break;
        seen_dy[d.dy]++, seen_dx[d.dx]++, flips += d.flip;
        both_offsets_equal += d.dy == d.dx;
        actlab_augment_draw s = actlab_augment_draw_for(&a, 12, 3, i), t = actlab_augment_draw_for(&a, 11, 4, i);
        differ_seed += s.dy != d.dy || s.dx != d.dx || s.flip != d.flip;
        differ_epoch += t.dy != d.dy || t.dx != d.dx || t.flip != d.flip;
        /* each choice is independent of whether the other is on */
        actlab_augment_draw f = actlab_augment_draw_for(&flip_only, 11, 3, i), c = actlab_augment_draw_for(&crop_only, 11, 3, i);
        flip_alone_same &= f.flip == d.flip && f.dy == 0 && f.dx == 0 && c.dy == d.dy && c.dx == d.dx && c.flip == 0;
    }
    CHECK(same, "the same (seed, epoch, index) gives the same draws");
    CHECK(in_range, "offsets in [0, 8], flip 0 or 1");
    for (int v = 0; v <= 8; v++)
        CHECK(seen_dy[v] > M / 9 / 2 && seen_dx[v] > M / 9 / 2, "offset %d occurs often enough: dy %d, dx %d times", v,
              seen_dy[v], seen_dx[v]);
    CHECK(flips > M * 45 / 100 && flips < M * 55 / 100, "flip with p = 1/2: %d of %d", flips, M);
    CHECK(both_offsets_equal < M / 9 * 3 / 2, "dy and dx independent: equal %d of %d times", both_offsets_equal, M);
    CHECK(differ_seed > M * 8 / 10, "another seed gives other draws (%d of %d differ)", differ_seed, M);
    CHECK(differ_epoch > M * 8 / 10, "another epoch gives other draws (%d of %d differ)", differ_epoch, M);
    CHECK(flip_alone_same, "crop and flip draws do not depend on each other being on");
    actlab_augment off = {0};
    actlab_augment_draw z = actlab_augment_draw_for(&off, 11, 3, 5);
    CHECK(z.dy == 0 && z.dx == 0 && z.flip == 0, "no augmentation: the identity draw");
}

static void test_apply(void) {
    actlab_dataset d = make_indexed(2);
    const float fill[C] = {-0.8125f, -2.5f};
    actlab_augment a = {.pad = 3, .flip = 1, .fill = fill};
    float out[C * H * W], want[C * H * W], back[C * H * W];
    const float *in = d.images;
    /* every draw against the reference, fill NULL too */
    int match = 1, match0 = 1;
    for (int dy = 0; dy <= 6; dy++)
        for (int dx = 0; dx <= 6; dx++)
            for (int f = 0; f < 2; f++) {
                actlab_augment_draw dr = {dy, dx, f};
                actlab_augment_apply(&a, &dr, out, in, C, H, W);
                reference(&a, &dr, want, in);
                match &= !memcmp(out, want, sizeof out);
                actlab_augment b = a;
                b.fill = NULL;
                actlab_augment_apply(&b, &dr, out, in, C, H, W);
                reference(&b, &dr, want, in);
                match0 &= !memcmp(out, want, sizeof out);
            }
    CHECK(match, "crop and flip equal padding, cutting and mirroring");
    CHECK(match0, "the same with fill NULL (zeros)");
    /* offset (0, 0): the top-left `pad` rows and columns are fill, then the image starts */
    actlab_augment_draw corner = {0, 0, 0};
    actlab_augment_apply(&a, &corner, out, in, C, H, W);
    int pads = 1;
    for (int c = 0; c < C; c++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                if (y < 3 || x < 3) pads &= out[(c * H + y) * W + x] == fill[c];
    CHECK(pads, "padded pixels hold the channel's fill value");
    CHECK(out[(0 * H + 3) * W + 3] == in[0] && out[(1 * H + 4) * W + 5] == in[(1 * H + 1) * W + 2],
          "after the padding, the image: %g %g", out[(0 * H + 3) * W + 3], out[(1 * H + 4) * W + 5]);
    /* the centre offset without flip is the identity; a flip of a flip is too */
    actlab_augment_draw centre = {3, 3, 0}, mirror = {3, 3, 1};
    actlab_augment_apply(&a, &centre, out, in, C, H, W);
    CHECK(!memcmp(out, in, sizeof out), "centre crop: the image itself");
    actlab_augment_apply(&a, &mirror, out, in, C, H, W);
    CHECK(out[0] == in[W - 1] && out[W - 1] == in[0], "a flip mirrors each row");
    actlab_augment_apply(&a, &mirror, back, out, C, H, W);
    CHECK(!memcmp(back, in, sizeof back), "a flip of a flip: the image itself");
    /* a crop that shifts by the whole padding keeps the rest of the image in place */
    actlab_augment_draw shift = {6, 6, 0};
    actlab_augment_apply(&a, &shift, out, in, C, H, W);
    CHECK(out[0] == in[3 * W + 3] && out[H * W - 1] == fill[0], "the crop at (6, 6) starts at pixel (3, 3): %g", out[0]);
    actlab_dataset_free(&d);
}

/* One epoch through the loader, checked against the permutation and the draws. */
static int check_epoch(actlab_loader *l, const actlab_dataset *d, const actlab_augment *a, int batch, uint64_t seed,
                       int64_t epoch, int64_t first, int *labels_ok) {
    int64_t *perm = malloc((size_t)d->count * sizeof *perm);
    size_t per = (size_t)C * H * W;
    float *want = malloc(per * sizeof *want);
    actlab_data_permutation(perm, d->count, seed, epoch);
    const float *x;
    const int32_t *y;
    int n, ok = 1;
    *labels_ok = 1;
    int64_t b = first;
    actlab_loader_start(l, epoch, first);
    while (actlab_loader_next(l, &x, &y, &n) == 1) {
        for (int i = 0; i < n; i++) {
            int64_t k = perm[b * batch + i];
            actlab_augment_draw dr = actlab_augment_draw_for(a, seed, epoch, k);
            reference(a, &dr, want, d->images + (size_t)k * per);
            ok &= !memcmp(x + (size_t)i * per, want, per * sizeof *want);
            *labels_ok &= y[i] == d->labels[k];
        }
        b++;
    }
    ok &= b == actlab_loader_batches(l);
    free(want);
    free(perm);
    return ok;
}

static void test_loader(void) {
    char err[256];
    actlab_dataset d = make_indexed(N);
    size_t bytes = (size_t)N * C * H * W * sizeof(float);
    float *copy = malloc(bytes);
    memcpy(copy, d.images, bytes);
    float fill[C] = {-1.25f, -3.0f};
    actlab_augment a = {.pad = 2, .flip = 1, .fill = fill};
    actlab_loader *l = actlab_loader_new(&d, 10, 1, 0, 9, err, sizeof err);
    CHECK(l != NULL, "loader: %s", err);
    if (!l) return;
    CHECK(actlab_loader_set_augment(l, &a, err, sizeof err) == 0, "set_augment: %s", err);
    fill[0] = 99; /* the loader keeps its own copy: the caller's may change */
    float theirs[C] = {-1.25f, -3.0f};
    a.fill = theirs;
    int labels_ok;
    for (int64_t e = 0; e < 3; e++) {
        CHECK(check_epoch(l, &d, &a, 10, 9, e, 0, &labels_ok), "epoch %lld: augmented images of the right samples", (long long)e);
        CHECK(labels_ok, "epoch %lld: labels move with their images", (long long)e);
    }
    /* resumed at batch 4 of epoch 1: the same batches as without the interruption */
    CHECK(check_epoch(l, &d, &a, 10, 9, 1, 4, &labels_ok) && labels_ok, "resumed at a batch: the same images");
    /* a second loader with the same seed gives the same; the data set is never written */
    actlab_loader *l2 = actlab_loader_new(&d, 7, 1, 0, 9, err, sizeof err);
    actlab_loader_set_augment(l2, &a, err, sizeof err);
    CHECK(check_epoch(l2, &d, &a, 7, 9, 2, 0, &labels_ok) && labels_ok, "another batch size: the same image augmentations");
    actlab_loader_free(l2);
    CHECK(!memcmp(copy, d.images, bytes), "the data set is untouched (evaluation reads it as it was)");
    /* switched off: plain images again */
    actlab_augment none = {0};
    CHECK(actlab_loader_set_augment(l, NULL, err, sizeof err) == 0, "set_augment(NULL)");
    CHECK(check_epoch(l, &d, &none, 10, 9, 1, 0, &labels_ok) && labels_ok, "augmentation off: the images themselves");
    actlab_augment bad = {.pad = -1};
    CHECK(actlab_loader_set_augment(l, &bad, err, sizeof err) != 0 && strstr(err, "padding"), "pad -1 refused: %s", err);
    /* flip alone and crop alone */
    actlab_augment flip = {.flip = 1}, crop = {.pad = 1, .fill = theirs};
    actlab_loader_set_augment(l, &flip, err, sizeof err);
    CHECK(check_epoch(l, &d, &flip, 10, 9, 0, 0, &labels_ok) && labels_ok, "flip alone");
    actlab_loader_set_augment(l, &crop, err, sizeof err);
    CHECK(check_epoch(l, &d, &crop, 10, 9, 0, 0, &labels_ok) && labels_ok, "crop alone");
    actlab_loader_free(l);
    free(copy);
    actlab_dataset_free(&d);
}

/* ---- the validation split ---- */

static actlab_dataset make_unbalanced(int64_t n) {
    actlab_dataset d = make_indexed(n);
    for (int64_t i = 0; i < n; i++) d.labels[i] = (int32_t)((i * i + 3 * i) % 11 % K); /* uneven class sizes */
    return d;
}

static int64_t index_of(const float *img) { return (int64_t)(img[0] - 1) / 1000; }

static void test_split(void) {
    char err[256];
    const int64_t n = 1000;
    const double f = 0.13;
    actlab_dataset d = make_unbalanced(n), v;
    int64_t count[K] = {0};
    for (int64_t i = 0; i < n; i++) count[d.labels[i]]++;
    CHECK(actlab_dataset_split(&d, &v, f, 5, err, sizeof err) == 0, "split: %s", err);
    int64_t want = llround(f * n);
    CHECK(v.count == want && d.count == n - want, "sizes: %lld validation, %lld training", (long long)v.count,
          (long long)d.count);
    CHECK(v.channels == C && v.height == H && v.width == W && v.classes == K, "validation set has the shape");
    /* disjoint, together everything, each in the original order, labels with images */
    unsigned char *seen = calloc((size_t)n, 1);
    int ordered = 1, labels = 1, whole = 1;
    int64_t prev = -1, vcount[K] = {0};
    size_t per = (size_t)C * H * W;
    for (int64_t i = 0; i < v.count; i++) {
        int64_t k = index_of(v.images + i * per);
        ordered &= k > prev, prev = k;
        seen[k]++;
        labels &= v.labels[i] == (int32_t)((k * k + 3 * k) % 11 % K);
        whole &= v.images[i * per + per - 1] == (float)(k * 1000 + (int64_t)per);
        vcount[v.labels[i]]++;
    }
    prev = -1;
    for (int64_t i = 0; i < d.count; i++) {
        int64_t k = index_of(d.images + i * per);
        ordered &= k > prev, prev = k;
        seen[k]++;
        labels &= d.labels[i] == (int32_t)((k * k + 3 * k) % 11 % K);
        whole &= d.images[i * per + per - 1] == (float)(k * 1000 + (int64_t)per);
    }
    int once = 1;
    for (int64_t k = 0; k < n; k++) once &= seen[k] == 1;
    CHECK(once, "every image on exactly one side");
    CHECK(ordered, "both sides keep the original order");
    CHECK(labels && whole, "images whole and with their labels");
    for (int c = 0; c < K; c++)
        CHECK(vcount[c] >= (int64_t)floor(f * count[c]) && vcount[c] <= (int64_t)ceil(f * count[c]),
              "class %d: %lld of %lld held out, want %.2f rounded", c, (long long)vcount[c], (long long)count[c], f * count[c]);
    /* deterministic: the same seed gives the same split; another seed another */
    actlab_dataset d2 = make_unbalanced(n), v2, d3 = make_unbalanced(n), v3;
    actlab_dataset_split(&d2, &v2, f, 5, err, sizeof err);
    actlab_dataset_split(&d3, &v3, f, 6, err, sizeof err);
    CHECK(v2.count == v.count && !memcmp(v2.images, v.images, (size_t)v.count * per * sizeof(float)) &&
          !memcmp(d2.labels, d.labels, (size_t)d.count * sizeof(int32_t)), "same seed, same split");
    CHECK(v3.count == v.count && memcmp(v3.images, v.images, (size_t)v.count * per * sizeof(float)) != 0,
          "another seed, another split");
    actlab_dataset_free(&d2), actlab_dataset_free(&v2), actlab_dataset_free(&d3), actlab_dataset_free(&v3);
    free(seen);
    actlab_dataset_free(&d), actlab_dataset_free(&v);

    /* errors leave the set as it was */
    actlab_dataset s = make_indexed(20);
    CHECK(actlab_dataset_split(&s, &v, 1.5, 1, err, sizeof err) != 0 && strstr(err, "above 0 and below 1") && s.count == 20 &&
          v.count == 0 && !v.images, "1.5 refused: %s", err);
    CHECK(actlab_dataset_split(&s, &v, 0, 1, err, sizeof err) != 0, "0 refused");
    CHECK(actlab_dataset_split(&s, &v, NAN, 1, err, sizeof err) != 0, "NaN refused");
    CHECK(actlab_dataset_split(&s, &v, 0.01, 1, err, sizeof err) != 0 && strstr(err, "no validation image") && s.count == 20,
          "too small a fraction of 20: %s", err);
    CHECK(actlab_dataset_split(&s, &v, 0.99, 1, err, sizeof err) != 0 && strstr(err, "no training image"),
          "too large a fraction of 20: %s", err);
    CHECK(actlab_dataset_split(&s, &v, 0.5, 1, err, sizeof err) == 0 && s.count == 10 && v.count == 10, "half of 20");
    actlab_dataset_free(&s), actlab_dataset_free(&v);
}

int main(void) {
    test_parse();
    test_draws();
    test_apply();
    test_loader();
    test_split();
    return check_summary("test_augment");
}
