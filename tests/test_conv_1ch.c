/*
 * test_conv_1ch.c — the one-input-channel convolution (src/nn/conv_1ch.c)
 * against the reference convolution: outputs, input gradients, weight and
 * bias gradients (which it adds to what is there), for kernels 1 to 7, every
 * pad below the kernel, planes narrower and wider than a vector, on 1 and 2
 * threads; and the same bits on a second run with the same thread count.
 */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "nn/conv_1ch.h"

static float frand(void) { return (float)rand() / RAND_MAX * 2 - 1; }

static int close_all(const float *a, const float *b, size_t n, double rtol, double *worst) {
    double scale = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(b[i]));
    *worst = 0;
    for (size_t i = 0; i < n; i++) *worst = fmax(*worst, fabs(a[i] - b[i]) / (scale > 0 ? scale : 1));
    return *worst <= rtol;
}

static void one_shape(int B, int O, int H, int W, int K, int pad, int threads) {
    nn_conv_shape s;
    if (nn_conv_shape_init(&s, B, 1, H, W, O, K, 1, pad)) return; /* empty output */
    CHECK(nn_conv_1ch_fits(&s), "fits K=%d pad=%d", K, pad);
    size_t nx = (size_t)B * H * W, ny = (size_t)B * O * s.OH * s.OW, nw = (size_t)O * K * K;
    float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc((size_t)O * 4), *dy = malloc(ny * 4);
    float *y = malloc(ny * 4), *y_ref = malloc(ny * 4), *dx = malloc(nx * 4), *dx_ref = malloc(nx * 4);
    float *dw = malloc(nw * 4), *dw_ref = malloc(nw * 4), *db = malloc((size_t)O * 4), *db_ref = malloc((size_t)O * 4);
    float *scratch = malloc(nn_conv_1ch_scratch_floats(&s, threads) * 4);
    for (size_t i = 0; i < nx; i++) x[i] = frand();
    for (size_t i = 0; i < nw; i++) w[i] = frand();
    for (int i = 0; i < O; i++) b[i] = frand();
    for (size_t i = 0; i < ny; i++) dy[i] = frand();
    for (size_t i = 0; i < nw; i++) dw[i] = dw_ref[i] = 0.5f; /* gradients are added to */
    for (int i = 0; i < O; i++) db[i] = db_ref[i] = -0.25f;
    nn_conv_1ch_forward(y, x, w, b, &s, scratch, threads);
    ref_conv2d_forward(y_ref, x, w, b, &s);
    nn_conv_1ch_backward(dx, dw, db, dy, x, w, &s, scratch, threads);
    ref_conv2d_backward(dx_ref, dw_ref, db_ref, dy, x, w, &s);
    double e;
    const char *fmt = "B%d O%d %dx%d K%d pad %d, %d thread(s): %s off by %.3g of its largest value";
    CHECK(close_all(y, y_ref, ny, 1e-6, &e), fmt, B, O, H, W, K, pad, threads, "output", e);
    CHECK(close_all(dx, dx_ref, nx, 1e-6, &e), fmt, B, O, H, W, K, pad, threads, "input gradient", e);
    CHECK(close_all(dw, dw_ref, nw, 1e-5, &e), fmt, B, O, H, W, K, pad, threads, "weight gradient", e);
    CHECK(close_all(db, db_ref, (size_t)O, 1e-5, &e), fmt, B, O, H, W, K, pad, threads, "bias gradient", e);

    /* Again: the same bits, and without din the weight gradients are unchanged. */
    float *y2 = malloc(ny * 4), *dw2 = malloc(nw * 4), *db2 = malloc((size_t)O * 4);
    for (size_t i = 0; i < nw; i++) dw2[i] = 0.5f;
    for (int i = 0; i < O; i++) db2[i] = -0.25f;
    nn_conv_1ch_forward(y2, x, w, b, &s, scratch, threads);
    nn_conv_1ch_backward(NULL, dw2, db2, dy, x, w, &s, scratch, threads);
    CHECK(!memcmp(y, y2, ny * 4) && !memcmp(dw, dw2, nw * 4) && !memcmp(db, db2, (size_t)O * 4),
          "B%d O%d %dx%d K%d pad %d, %d thread(s): a second run differs", B, O, H, W, K, pad, threads);
    free(x), free(w), free(b), free(dy), free(y), free(y_ref), free(dx), free(dx_ref), free(dw), free(dw_ref);
    free(db), free(db_ref), free(scratch), free(y2), free(dw2), free(db2);
}

int main(void) {
    srand(3);
    for (int K = 1; K <= 7; K++)
        for (int pad = 0; pad < K; pad++) one_shape(3, 2, 9 + K, 11, K, pad, 1 + (K + pad) % 2);
    one_shape(5, 6, 28, 28, 5, 2, 2); /* LeNet's first layer */
    one_shape(5, 6, 28, 28, 5, 2, 1);
    one_shape(2, 3, 7, 40, 3, 1, 2);  /* wider than two vectors */
    one_shape(4, 1, 33, 17, 5, 0, 2);
    nn_conv_shape s;
    nn_conv_shape_init(&s, 1, 3, 8, 8, 4, 3, 1, 1);
    CHECK(!nn_conv_1ch_fits(&s), "three input channels are not this kernel's");
    nn_conv_shape_init(&s, 1, 1, 8, 8, 4, 3, 2, 1);
    CHECK(!nn_conv_1ch_fits(&s), "stride 2 is not this kernel's");
    nn_conv_shape_init(&s, 1, 1, 16, 16, 4, 9, 1, 4);
    CHECK(!nn_conv_1ch_fits(&s), "a 9x9 kernel is not this kernel's");
    return check_summary("test_conv_1ch");
}
