/*
 * test_maxpool_2x2.c — the vectorised 2x2 stride-2 max pooling (src/nn/maxpool_2x2.c)
 * against the reference pooling, bit for bit: outputs, winners and input gradients,
 * on planes narrower and wider than a vector, odd sizes (the last row and column
 * are in no window), ties (values drawn from a few levels) and NaN and -inf.
 */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "nn/maxpool_2x2.h"

static void one_shape(int B, int C, int H, int W, int special) {
    nn_pool_shape s;
    CHECK(!nn_pool_shape_init(&s, B, C, H, W, 2, 2, 0) && nn_maxpool_2x2_fits(&s), "shape %dx%d", H, W);
    size_t n = (size_t)B * C * H * W, m = (size_t)B * C * s.OH * s.OW;
    float *x = malloc(n * 4), *y = malloc(m * 4), *y_ref = malloc(m * 4), *dy = malloc(m * 4);
    float *dx = malloc(n * 4), *dx_ref = malloc(n * 4);
    uint8_t *which = malloc(m);
    int32_t *argmax = malloc(m * 4);
    srand(7 + H * 31 + W);
    for (size_t i = 0; i < n; i++) {
        x[i] = (float)(rand() % 5) - 2.0f; /* five levels: many ties */
        if (special && rand() % 50 == 0) x[i] = rand() % 2 ? NAN : -INFINITY;
    }
    for (size_t i = 0; i < m; i++) dy[i] = (float)rand() / RAND_MAX - 0.5f;
    memset(dx, 0x7f, n * 4); /* every element must be written */
    nn_maxpool_2x2_forward(y, which, x, &s);
    ref_maxpool_forward(y_ref, argmax, x, &s);
    nn_maxpool_2x2_backward(dx, dy, which, &s);
    ref_maxpool_backward(dx_ref, dy, argmax, &s);
    int bad_y = 0, bad_w = 0, bad_dx = 0;
    for (size_t i = 0; i < m; i++) {
        bad_y += memcmp(&y[i], &y_ref[i], 4) != 0;
        int plane_i = (int)(i % ((size_t)s.OH * s.OW)), oh = plane_i / s.OW, ow = plane_i % s.OW;
        bad_w += argmax[i] != (2 * oh + which[i] / 2) * W + 2 * ow + which[i] % 2;
    }
    for (size_t i = 0; i < n; i++) bad_dx += memcmp(&dx[i], &dx_ref[i], 4) != 0;
    CHECK(!bad_y, "%dx%dx%dx%d%s: %d outputs differ from the reference", B, C, H, W, special ? " (NaN, -inf)" : "", bad_y);
    CHECK(!bad_w, "%dx%dx%dx%d%s: %d winners differ from the reference", B, C, H, W, special ? " (NaN, -inf)" : "", bad_w);
    CHECK(!bad_dx, "%dx%dx%dx%d%s: %d input gradients differ", B, C, H, W, special ? " (NaN, -inf)" : "", bad_dx);
    free(x), free(y), free(y_ref), free(dy), free(dx), free(dx_ref), free(which), free(argmax);
}

int main(void) {
    const int sizes[][2] = {{28, 28}, {2, 2}, {3, 5}, {14, 14}, {10, 10}, {32, 32}, {33, 35}, {64, 66}, {7, 31}, {5, 34}};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        for (int special = 0; special < 2; special++) one_shape(3, 2, sizes[i][0], sizes[i][1], special);
    one_shape(128, 6, 28, 28, 1); /* LeNet's first pooling, threads over planes */
    nn_pool_shape s;
    nn_pool_shape_init(&s, 1, 1, 8, 8, 3, 2, 1);
    CHECK(!nn_maxpool_2x2_fits(&s), "a 3x3 window is not this kernel's");
    nn_pool_shape_init(&s, 1, 1, 8, 8, 2, 1, 0);
    CHECK(!nn_maxpool_2x2_fits(&s), "stride 1 is not this kernel's");
    return check_summary("test_maxpool_2x2");
}
