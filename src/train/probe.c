/*
 * probe.c — what each activation layer does, measured on a fixed set of
 * training images after an epoch (actlab/train.h): dead and near-dead units
 * (f'(x) = 0, |f'(x)| < 1e-3 at every position of every image), the mean and
 * spread of the outputs and their share below zero.
 *
 * It runs the net in evaluation mode only (no dropout, no activation noise,
 * batch norm on its running statistics, which evaluation does not update) and
 * draws its images from its own generator, so a run trains exactly the same
 * with or without it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "actlab/train.h"
#include "util/error.h"

int actlab_probe_layers(const actlab_net *net) {
    int n = 0;
    for (int i = 0; i < actlab_net_layers(net); i++) n += actlab_net_layer_act(net, i, NULL, NULL) != NULL;
    return n;
}

/* splitmix64: the probe's own generator, so that no stream of the run moves */
static uint64_t mix(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

void actlab_probe_pick(int64_t count, int64_t n, uint64_t seed, int64_t *idx) {
    if (n > count) n = count;
    if (n <= 0) return;
    uint64_t s = seed ^ 0x70726F6265ull; /* "probe": not the seed's other streams */
    /* Floyd's sampling: n distinct draws without a count-sized array */
    for (int64_t j = count - n, k = 0; j < count; j++, k++) {
        int64_t t = (int64_t)(mix(&s) % (uint64_t)(j + 1)), hit = 0;
        for (int64_t m = 0; m < k && !hit; m++) hit = idx[m] == t;
        idx[k] = hit ? j : t;
    }
    qsort(idx, (size_t)n, sizeof *idx, cmp_i64);
}

/* Per activation layer while the batches go through. */
typedef struct acc {
    int layer, c;
    int64_t hw;
    unsigned char *alive, *awake; /* per unit: some f' != 0; some |f'| >= 1e-3 */
    double sum, sumsq;
    int64_t negative, n;
} acc;

int actlab_probe_run(actlab_net *net, const float *images, int64_t count, int64_t image_size, int batch,
                     actlab_probe_stats *out, char *err, size_t errlen) {
    int L = actlab_probe_layers(net), rc = 0;
    if (count < 1 || batch < 1) return actlab_errorf(err, errlen, "the probe needs at least one image and a batch of 1 or more");
    acc *a = calloc((size_t)(L ? L : 1), sizeof *a);
    int64_t largest = 1;
    for (int i = 0, k = 0; a && i < actlab_net_layers(net); i++) {
        if (!actlab_net_layer_act(net, i, NULL, NULL)) continue;
        actlab_layer_info li;
        actlab_net_layer_info(net, i, &li);
        a[k].layer = i, a[k].c = li.c, a[k].hw = (int64_t)li.h * li.w;
        a[k].alive = calloc((size_t)li.c, 1);
        a[k].awake = calloc((size_t)li.c, 1);
        if (!a[k].alive || !a[k].awake) rc = -1;
        if ((int64_t)li.c * a[k].hw > largest) largest = (int64_t)li.c * a[k].hw;
        k++;
    }
    float *x = a ? malloc(sizeof(float) * (size_t)(largest * batch)) : NULL;
    float *y = a ? malloc(sizeof(float) * (size_t)(largest * batch)) : NULL;
    float *d = a ? malloc(sizeof(float) * (size_t)(largest * batch)) : NULL;
    if (!a || !x || !y || !d || rc) rc = actlab_errorf(err, errlen, "out of memory for the probe");
    for (int64_t first = 0; !rc && first < count; first += batch) {
        int n = (int)(count - first < batch ? count - first : batch);
        if (actlab_net_forward(net, images + first * image_size, n, 0, 0, err, errlen)) {
            rc = -1;
            break;
        }
        for (int k = 0; k < L && !rc; k++) {
            acc *p = &a[k];
            const float *params;
            int sets;
            const actlab_act_cfg *cfg = actlab_net_layer_act(net, p->layer, &params, &sets);
            int64_t m = (int64_t)n * p->c * p->hw;
            /* a layer run in place has no input left: its function's derivative needs only y */
            int have_x = actlab_net_layer_input(net, p->layer, x) == 0;
            actlab_net_layer_output(net, p->layer, y);
            /* f'(x) is backward with dy = 1, from the kernels training uses (evaluation mode);
             * x (when kept) and y are given, so functions that read only y work too */
            actlab_act_call call = actlab_act_call_default(cfg);
            if (params) {
                call.param = params;
                if (sets > 1) call.channels = p->c, call.inner = p->hw;
            }
            for (int64_t i = 0; i < m; i++) d[i] = 1;
            if (actlab_act_backward(&call, d, d, have_x ? x : NULL, y, m, err, errlen)) {
                rc = -1;
                break;
            }
            double sum = 0, sumsq = 0;
            int64_t neg = 0;
            for (int64_t i = 0; i < m; i++) {
                int ch = (int)((i / p->hw) % p->c);
                float g = d[i];
                p->alive[ch] |= g != 0;
                p->awake[ch] |= fabsf(g) >= 1e-3f;
                sum += y[i], sumsq += (double)y[i] * y[i], neg += y[i] < 0;
            }
            p->sum += sum, p->sumsq += sumsq, p->negative += neg, p->n += m;
        }
    }
    for (int k = 0; k < L && !rc; k++) {
        acc *p = &a[k];
        int dead = 0, sleepy = 0;
        for (int ch = 0; ch < p->c; ch++) dead += !p->alive[ch], sleepy += !p->awake[ch];
        double mean = p->sum / (double)p->n, var = p->sumsq / (double)p->n - mean * mean;
        actlab_probe_stats s = {p->layer, k, actlab_net_layer_act(net, p->layer, NULL, NULL)->act->name, p->c,
                                (double)dead / p->c, (double)sleepy / p->c, mean, sqrt(var > 0 ? var : 0),
                                (double)p->negative / (double)p->n};
        out[k] = s;
    }
    for (int k = 0; a && k < L; k++) free(a[k].alive), free(a[k].awake);
    free(a);
    free(x);
    free(y);
    free(d);
    return rc;
}
