/*
 * layer_kinds.c — the table of layer kinds a model file can name, each one
 * block: how its [section] is read, its shape, parameters and buffers, its
 * initialisation, and its forward and backward side by side. The arithmetic
 * is in layers_ref.c (plain C) and, for the fast path, the oneDNN backend.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "net_internal.h"
#include "backend/dnnl_backend.h"
#include "layout.h"
#include "maxpool_2x2.h"
#include "conv_1ch.h"

/* ---- helpers ---- */

/* He's gain for an activation: 1/sqrt(E[f(z)^2]) for z ~ N(0,1), so that
 * f(W x) keeps unit second moment when W ~ N(0, gain^2/fan_in). It gives
 * sqrt(2) for ReLU and sqrt(2/(1+a^2)) for leaky ReLU, as PyTorch's table
 * does, and a value for every other function, user formulas included. */
static double act_gain(const actlab_act_cfg *a) {
    double h = 24.0 / 4000, m2 = 0;
    for (int i = 0; i < 4000; i++) {
        double z = -12 + (i + 0.5) * h, f = actlab_act_ref_f(a, z);
        m2 += h * exp(-0.5 * z * z) * 0.39894228040143267794 * f * f;
    }
    return m2 > 1e-12 ? 1 / sqrt(m2) : 1;
}

/* The activation right after layer l, if any (for the init gain). */
static const nn_layer *next_activation(const actlab_net *net, const nn_layer *l) {
    const nn_layer *n = l + 1, *end = net->layers + net->nlayers;
    if (n < end && !strcmp(n->kind->name, "batchnorm")) n++; /* conv, batch norm, activation */
    return n < end && !strcmp(n->kind->name, "activation") ? n : NULL;
}

/* Weights ~ N(0, std^2) by He (fan in) or Xavier (fan in + out), from (seed, layer). */
static void init_weights(actlab_net *net, nn_layer *l, int64_t fan_in, int64_t fan_out, uint64_t seed, uint64_t index) {
    const nn_layer *a = next_activation(net, l);
    double gain = !a ? 1 : net->relu_gain ? sqrt(2.0) : act_gain(&a->act);
    double sd = net->xavier ? gain * sqrt(2.0 / (double)(fan_in + fan_out)) : gain / sqrt((double)fan_in);
    float *w = net->params + l->w_off;
    actlab_noise_fill(w, l->w_n, ACTLAB_NOISE_NORMAL, seed, 1000 + index, 0);
    for (int64_t i = 0; i < l->w_n; i++) w[i] *= (float)sd;
}

static const char *activation_key(nn_cfg_section *s) { return nn_cfg_str(s, "activation", "open"); }

/* The fast path of a conv, dense or pooling layer: oneDNN primitives are built for one
 * batch size, so a layer keeps one set for the full batch and one for the
 * smaller last batch of an epoch (the slot with the other size is rebuilt). */
typedef struct fast_path {
    int batch[2];
    void *obj[2];
    void (*free)(void *);
    nn_dnnl_temps *(*temps)(void *); /* where the object keeps its temporaries */
} fast_path;

static void fast_release(nn_layer *l) {
    fast_path *f = l->backend;
    if (!f) return;
    for (int i = 0; i < 2; i++)
        if (f->obj[i]) f->free(f->obj[i]);
    free(f);
    l->backend = NULL;
}

static void conv_free(void *o) { nn_dnnl_conv_free(o); }
static void dense_free(void *o) { nn_dnnl_dense_free(o); }
static void pool_free(void *o) { nn_dnnl_pool_free(o); }
static void bn_free(void *o) { nn_dnnl_bn_free(o); }
static nn_dnnl_temps *conv_temps(void *o) { return nn_dnnl_conv_temps(o); }
static nn_dnnl_temps *dense_temps(void *o) { return nn_dnnl_dense_temps(o); }
static nn_dnnl_temps *pool_temps(void *o) { return nn_dnnl_pool_temps(o); }
static nn_dnnl_temps *bn_temps(void *o) { return nn_dnnl_bn_temps(o); }

/* A conv or pooling layer's shape for B samples; 0, or -1 if it has no output. */
static int conv_shape_of(const nn_layer *l, int B, nn_conv_shape *cs) {
    return nn_conv_shape_init(cs, B, l->in_c, l->in_h, l->in_w, l->c, l->size, l->stride, l->pad);
}
static int pool_shape_of(const nn_layer *l, int B, nn_pool_shape *ps) {
    return nn_pool_shape_init(ps, B, l->in_c, l->in_h, l->in_w, l->size, l->stride, l->pad);
}
/* ... for the current batch (the net's layers were checked when the model was read). */
static nn_conv_shape conv_shape(const actlab_net *net, const nn_layer *l) {
    nn_conv_shape cs;
    conv_shape_of(l, net->batch, &cs);
    return cs;
}
static nn_pool_shape pool_shape(const actlab_net *net, const nn_layer *l) {
    nn_pool_shape ps;
    pool_shape_of(l, net->batch, &ps);
    return ps;
}

/* The oneDNN object of a layer for the current batch size, on the layer's layouts. */
static void *make_object(const actlab_net *net, const nn_layer *l, void (**free_fn)(void *),
                         nn_dnnl_temps *(**temps_fn)(void *), char *e, size_t el) {
    nn_dnnl_opts o = {0};
    o.src_blocked = l->in_blocked, o.dst_blocked = l->blocked;
    o.precision = net->precision == ACTLAB_PRECISION_BF16 ? NN_DNNL_BF16 : NN_DNNL_F32;
    const char *k = l->kind->name;
    if (!strcmp(k, "conv")) {
        nn_conv_shape cs = conv_shape(net, l);
        *free_fn = conv_free, *temps_fn = conv_temps;
        return nn_dnnl_conv_new_opts(&cs, l->bias, &o, e, el);
    }
    if (!strcmp(k, "dense")) {
        *free_fn = dense_free, *temps_fn = dense_temps;
        return nn_dnnl_dense_new(net->batch, l->in_c * l->in_h * l->in_w, l->c, l->bias, e, el);
    }
    if (!strcmp(k, "batchnorm")) {
        *free_fn = bn_free, *temps_fn = bn_temps;
        return nn_dnnl_bn_new(net->batch, l->c, l->h, l->w, l->eps, &o, e, el);
    }
    nn_pool_shape ps = pool_shape(net, l);
    *free_fn = pool_free, *temps_fn = pool_temps;
    return nn_dnnl_pool_new_opts(&ps, strcmp(k, "maxpool") ? NN_DNNL_POOL_AVG : NN_DNNL_POOL_MAX, &o, e, el);
}

static void place_temps(const nn_layer *l, void *obj);
static int plain_2x2(const actlab_net *net, const nn_layer *l);
static int conv_1ch(const actlab_net *net, const nn_layer *l);
static int64_t conv_1ch_scratch_bytes(const nn_layer *l);

/* The layer's oneDNN object for this batch size, built on first use. */
static void *fast_object(const actlab_net *net, nn_layer *l, char *err, size_t errlen) {
    fast_path *f = l->backend;
    if (!f) {
        f = l->backend = calloc(1, sizeof *f);
        if (!f) return actlab_errorf(err, errlen, "out of memory"), NULL;
    }
    for (int i = 0; i < 2; i++)
        if (f->obj[i] && f->batch[i] == net->batch) return f->obj[i];
    int slot = f->obj[0] && f->batch[0] == net->max_batch ? 1 : 0;
    if (f->obj[slot]) f->free(f->obj[slot]);
    char e[512];
    f->obj[slot] = make_object(net, l, &f->free, &f->temps, e, sizeof e);
    f->batch[slot] = net->batch;
    if (!f->obj[slot]) actlab_errorf(err, errlen, "%s:%d: oneDNN: %s", net->path, l->line, e);
    else place_temps(l, f->obj[slot]);
    return f->obj[slot];
}

/* The object's temporaries go where the net planned them (nn_layer.temp), if it planned
 * any and they fit (a smaller last batch needs no more); otherwise the shared buffer. */
static void place_temps(const nn_layer *l, void *obj) {
    const fast_path *f = l->backend;
    nn_dnnl_temps *t = f->temps(obj);
    for (int p = 0; p < NN_DNNL_PHASES; p++)
        if (nn_dnnl_temps_need(t, p) && (!l->temp[p] || nn_dnnl_temps_need(t, p) > (size_t)l->temp_bytes[p])) return;
    void *base[NN_DNNL_PHASES] = {l->temp[0], l->temp[1]};
    nn_dnnl_temps_use(t, base);
}

int nn_layer_temp_needs(actlab_net *net, nn_layer *l, int64_t need[2], char *err, size_t errlen) {
    need[0] = need[1] = 0;
    if (conv_1ch(net, l)) { /* its padded planes and per-thread weight gradients */
        need[0] = need[1] = conv_1ch_scratch_bytes(l);
        return 0;
    }
    if (net->use_reference || l->kind->release != fast_release || plain_2x2(net, l)) return 0; /* no oneDNN object */
    int batch = net->batch;
    net->batch = net->max_batch; /* the object for full batches, built now rather than on first use */
    void *obj = fast_object(net, l, err, errlen);
    net->batch = batch;
    if (!obj) return -1;
    nn_dnnl_temps *t = ((fast_path *)l->backend)->temps(obj);
    for (int p = 0; p < 2; p++) need[p] = (int64_t)nn_dnnl_temps_need(t, p);
    return 0;
}

void nn_layer_place_temps(nn_layer *l) {
    fast_path *f = l->backend;
    for (int i = 0; f && i < 2; i++)
        if (f->obj[i]) place_temps(l, f->obj[i]);
}

static int64_t layer_elems(const actlab_net *net, const nn_layer *l) { return (int64_t)net->batch * l->c * l->h * l->w; }

/* ---- conv: torch.nn.Conv2d ---- */

static int conv_from_cfg(actlab_net *net, nn_layer *l, const nn_cfg *cfg, nn_cfg_section *s, char *err, size_t errlen) {
    int filters = 0, bn;
    /* filters=classes: as many as the data has classes (an all-convolutional head) */
    if (!strcmp(nn_cfg_str(s, "filters", ""), "classes")) filters = net->classes;
    else if (nn_cfg_int(cfg, s, "filters", 0, 1, 1 << 16, &filters, err, errlen))
        return -1;
    /* batchnorm=1 appends batch normalisation before the activation; the conv then needs no bias */
    if (nn_cfg_int(cfg, s, "batchnorm", 0, 0, 1, &bn, err, errlen) ||
        nn_cfg_int(cfg, s, "size", 3, 1, 64, &l->size, err, errlen) ||
        nn_cfg_int(cfg, s, "stride", 1, 1, 64, &l->stride, err, errlen) ||
        nn_cfg_int(cfg, s, "pad", 0, 0, 64, &l->pad, err, errlen) ||
        nn_cfg_int(cfg, s, "bias", !bn, 0, 1, &l->bias, err, errlen))
        return -1;
    if (filters == 0) return actlab_errorf(err, errlen, "%s:%d: [conv] needs filters=N", cfg->path, s->line);
    nn_conv_shape cs;
    if (nn_conv_shape_init(&cs, 1, l->in_c, l->in_h, l->in_w, filters, l->size, l->stride, l->pad))
        return actlab_errorf(err, errlen, "%s:%d: [conv] %dx%d stride %d pad %d does not fit its %dx%dx%d input", cfg->path,
                       s->line, l->size, l->size, l->stride, l->pad, l->in_c, l->in_h, l->in_w);
    l->c = filters, l->h = cs.OH, l->w = cs.OW;
    l->w_n = (int64_t)filters * l->in_c * l->size * l->size;
    l->b_n = l->bias ? filters : 0;
    if (bn && nn_append_batchnorm(net, s->line, err, errlen)) return -1;
    const char *act = activation_key(s);
    return strcmp(act, "none") ? nn_append_activation(net, act, s->line, err, errlen) : 0;
}

static void conv_init(actlab_net *net, nn_layer *l, uint64_t seed, uint64_t index) {
    int64_t k2 = (int64_t)l->size * l->size;
    init_weights(net, l, l->in_c * k2, l->c * k2, seed, index);
}

/* A one-input-channel, stride-1 conv on plain NCHW runs on conv_1ch.c, not oneDNN
 * (which pads the single channel to a block of 16); in f32 only, bf16 asks for oneDNN's. */
static int conv_1ch(const actlab_net *net, const nn_layer *l) {
    if (net->use_reference || strcmp(l->kind->name, "conv") || l->in_blocked || l->blocked ||
        net->precision != ACTLAB_PRECISION_F32)
        return 0;
    nn_conv_shape cs; /* one sample: net->batch is not set yet when buffers are planned */
    return !conv_shape_of(l, 1, &cs) && nn_conv_1ch_fits(&cs);
}

static int64_t conv_1ch_scratch_bytes(const nn_layer *l) {
    nn_conv_shape cs;
    conv_shape_of(l, 1, &cs);
    return 4 * (int64_t)nn_conv_1ch_scratch_floats(&cs, omp_get_max_threads());
}

/* The threads the layer's scratch (phase p) has room for, up to OpenMP's count. */
static int conv_1ch_threads(const nn_layer *l, const nn_conv_shape *cs, int p) {
    int64_t one = 4 * (int64_t)nn_conv_1ch_scratch_floats(cs, 1), fit = l->temp_bytes[p] / one;
    int all = omp_get_max_threads();
    return fit < all ? (int)fit : all;
}

static int conv_forward(actlab_net *net, nn_layer *l, const float *in, char *err, size_t errlen) {
    const float *w = net->params + l->w_off, *b = l->bias ? net->params + l->b_off : NULL;
    if (net->use_reference) {
        nn_conv_shape cs = conv_shape(net, l);
        ref_conv2d_forward(l->out, in, w, b, &cs);
        return 0;
    }
    if (conv_1ch(net, l)) {
        nn_conv_shape cs = conv_shape(net, l);
        nn_conv_1ch_forward(l->out, in, w, b, &cs, l->temp[0], conv_1ch_threads(l, &cs, 0));
        return 0;
    }
    nn_dnnl_conv *c = fast_object(net, l, err, errlen);
    if (!c) return -1;
    if (nn_dnnl_conv_forward(c, l->out, in, w, b))
        return actlab_errorf(err, errlen, "%s:%d: %s", net->path, l->line, nn_dnnl_conv_error(c));
    return 0;
}

static int conv_backward(actlab_net *net, nn_layer *l, const float *in, float *din, char *err, size_t errlen) {
    const float *w = net->params + l->w_off;
    float *dw = net->grads + l->w_off, *db = l->bias ? net->grads + l->b_off : NULL;
    if (net->use_reference) {
        nn_conv_shape cs = conv_shape(net, l);
        ref_conv2d_backward(din, dw, db, l->dout, in, w, &cs);
        return 0;
    }
    if (conv_1ch(net, l)) {
        nn_conv_shape cs = conv_shape(net, l);
        nn_conv_1ch_backward(din, dw, db, l->dout, in, w, &cs, l->temp[1], conv_1ch_threads(l, &cs, 1));
        return 0;
    }
    nn_dnnl_conv *c = fast_object(net, l, err, errlen);
    if (!c) return -1;
    if (nn_dnnl_conv_backward(c, din, dw, db, l->dout, in, w))
        return actlab_errorf(err, errlen, "%s:%d: %s", net->path, l->line, nn_dnnl_conv_error(c));
    return 0;
}

static void conv_describe(const nn_layer *l, char *buf, size_t len, double *flops) {
    snprintf(buf, len, "%d->%d %dx%d stride %d pad %d%s", l->in_c, l->c, l->size, l->size, l->stride, l->pad,
             l->bias ? "" : " no bias");
    *flops = 2.0 * l->in_c * l->size * l->size * l->c * l->h * l->w;
}

/* ---- dense: torch.nn.Linear over the flattened input ---- */

static int dense_from_cfg(actlab_net *net, nn_layer *l, const nn_cfg *cfg, nn_cfg_section *s, char *err, size_t errlen) {
    int outputs;
    /* outputs=0 (the default) means "as many as the data has classes": the usual last layer */
    if (nn_cfg_int(cfg, s, "outputs", 0, 0, 1 << 24, &outputs, err, errlen) ||
        nn_cfg_int(cfg, s, "bias", 1, 0, 1, &l->bias, err, errlen))
        return -1;
    l->c = outputs ? outputs : net->classes, l->h = l->w = 1;
    int64_t in = (int64_t)l->in_c * l->in_h * l->in_w;
    l->w_n = in * l->c;
    l->b_n = l->bias ? l->c : 0;
    const char *act = nn_cfg_str(s, "activation", outputs ? "open" : "none");
    return strcmp(act, "none") ? nn_append_activation(net, act, s->line, err, errlen) : 0;
}

/* Below this many multiply-adds per call, a second thread costs more (OpenMP's fork and
 * join around oneDNN's small sgemm) than it gives: the 8x128 MLP at batch 64 trains at
 * 60k img/s on 2 threads and 95k on 1 (2 cores, AVX-512). Such calls run on one thread. */
#define DENSE_ONE_THREAD_MACS (1 << 23)

static int dense_threads(const actlab_net *net, const nn_layer *l) {
    int64_t macs = (int64_t)net->batch * l->in_c * l->in_h * l->in_w * l->c;
    int all = omp_get_max_threads();
    if (macs < DENSE_ONE_THREAD_MACS && all > 1) omp_set_num_threads(1);
    return all;
}

static void dense_init(actlab_net *net, nn_layer *l, uint64_t seed, uint64_t index) {
    init_weights(net, l, (int64_t)l->in_c * l->in_h * l->in_w, l->c, seed, index);
}

static int dense_forward(actlab_net *net, nn_layer *l, const float *in, char *err, size_t errlen) {
    const float *w = net->params + l->w_off, *b = l->bias ? net->params + l->b_off : NULL;
    if (net->use_reference) {
        ref_dense_forward(l->out, in, w, b, net->batch, l->in_c * l->in_h * l->in_w, l->c);
        return 0;
    }
    nn_dnnl_dense *d = fast_object(net, l, err, errlen);
    if (!d) return -1;
    int threads = dense_threads(net, l);
    int rc = nn_dnnl_dense_forward(d, l->out, in, w, b);
    omp_set_num_threads(threads);
    if (rc)
        return actlab_errorf(err, errlen, "%s:%d: %s", net->path, l->line, nn_dnnl_dense_error(d));
    return 0;
}

static int dense_backward(actlab_net *net, nn_layer *l, const float *in, float *din, char *err, size_t errlen) {
    const float *w = net->params + l->w_off;
    float *dw = net->grads + l->w_off, *db = l->bias ? net->grads + l->b_off : NULL;
    if (net->use_reference) {
        ref_dense_backward(din, dw, db, l->dout, in, w, net->batch, l->in_c * l->in_h * l->in_w, l->c);
        return 0;
    }
    nn_dnnl_dense *d = fast_object(net, l, err, errlen);
    if (!d) return -1;
    int threads = dense_threads(net, l);
    int rc = nn_dnnl_dense_backward(d, din, dw, db, l->dout, in, w);
    omp_set_num_threads(threads);
    if (rc)
        return actlab_errorf(err, errlen, "%s:%d: %s", net->path, l->line, nn_dnnl_dense_error(d));
    return 0;
}

static void dense_describe(const nn_layer *l, char *buf, size_t len, double *flops) {
    int in = l->in_c * l->in_h * l->in_w;
    snprintf(buf, len, "%d->%d%s", in, l->c, l->bias ? "" : " no bias");
    *flops = 2.0 * in * l->c;
}

/* ---- maxpool and avgpool ---- */

static int pool_from_cfg(actlab_net *net, nn_layer *l, const nn_cfg *cfg, nn_cfg_section *s, char *err, size_t errlen) {
    if (nn_cfg_int(cfg, s, "size", 2, 1, 64, &l->size, err, errlen) ||
        nn_cfg_int(cfg, s, "stride", l->size, 1, 64, &l->stride, err, errlen) ||
        nn_cfg_int(cfg, s, "pad", 0, 0, 32, &l->pad, err, errlen))
        return -1;
    nn_pool_shape ps;
    if (nn_pool_shape_init(&ps, 1, l->in_c, l->in_h, l->in_w, l->size, l->stride, l->pad))
        return actlab_errorf(err, errlen, "%s:%d: [%s] %dx%d stride %d pad %d does not fit its %dx%dx%d input (pad <= size/2)",
                       cfg->path, s->line, s->name, l->size, l->size, l->stride, l->pad, l->in_c, l->in_h, l->in_w);
    l->c = l->in_c, l->h = ps.OH, l->w = ps.OW;
    return 0;
}

/* A max pooling whose tensors are plain NCHW and whose window is 2x2 stride 2 runs
 * on maxpool_2x2.c, not oneDNN (whose NCHW pooling is several times slower). */
static int plain_2x2(const actlab_net *net, const nn_layer *l) {
    if (net->use_reference || strcmp(l->kind->name, "maxpool") || l->in_blocked || l->blocked) return 0;
    nn_pool_shape ps; /* one sample: net->batch is not set yet when buffers are allocated */
    return !pool_shape_of(l, 1, &ps) && nn_maxpool_2x2_fits(&ps);
}

/* The reference path keeps its argmax here, the 2x2 kernel its winners' places;
 * oneDNN keeps its own workspace. */
static int maxpool_allocate(actlab_net *net, nn_layer *l, char *err, size_t errlen) {
    size_t n = (size_t)net->max_batch * l->c * l->h * l->w;
    if (net->use_reference) l->aux = malloc(sizeof(int32_t) * n);
    else if (plain_2x2(net, l)) l->aux = malloc(n);
    else return 0;
    return l->aux ? 0 : actlab_errorf(err, errlen, "out of memory");
}

static int pool_forward(actlab_net *net, nn_layer *l, const float *in, char *err, size_t errlen) {
    int max = !strcmp(l->kind->name, "maxpool");
    if (net->use_reference) {
        nn_pool_shape ps = pool_shape(net, l);
        if (max) ref_maxpool_forward(l->out, l->aux, in, &ps);
        else ref_avgpool_forward(l->out, in, &ps);
        return 0;
    }
    if (plain_2x2(net, l)) {
        nn_pool_shape ps = pool_shape(net, l);
        nn_maxpool_2x2_forward(l->out, l->aux, in, &ps);
        return 0;
    }
    nn_dnnl_pool *p = fast_object(net, l, err, errlen);
    if (!p) return -1;
    if (nn_dnnl_pool_forward(p, l->out, in))
        return actlab_errorf(err, errlen, "%s:%d: %s", net->path, l->line, nn_dnnl_pool_error(p));
    return 0;
}

static int pool_backward(actlab_net *net, nn_layer *l, const float *in, float *din, char *err, size_t errlen) {
    if (!din) return 0;
    if (net->use_reference) {
        nn_pool_shape ps = pool_shape(net, l);
        if (!strcmp(l->kind->name, "maxpool")) ref_maxpool_backward(din, l->dout, l->aux, &ps);
        else ref_avgpool_backward(din, l->dout, &ps);
        return 0;
    }
    if (plain_2x2(net, l)) {
        nn_pool_shape ps = pool_shape(net, l);
        nn_maxpool_2x2_backward(din, l->dout, l->aux, &ps);
        return 0;
    }
    nn_dnnl_pool *p = fast_object(net, l, err, errlen);
    if (!p) return -1;
    if (nn_dnnl_pool_backward(p, din, l->dout))
        return actlab_errorf(err, errlen, "%s:%d: %s", net->path, l->line, nn_dnnl_pool_error(p));
    return 0;
}

static void pool_describe(const nn_layer *l, char *buf, size_t len, double *flops) {
    snprintf(buf, len, "%dx%d stride %d pad %d", l->size, l->size, l->stride, l->pad);
    *flops = (double)l->size * l->size * l->c * l->h * l->w;
}

/* ---- dropout: torch.nn.Dropout ---- */

static int dropout_from_cfg(actlab_net *net, nn_layer *l, const nn_cfg *cfg, nn_cfg_section *s, char *err,
                            size_t errlen) {
    double p;
    if (nn_cfg_float(cfg, s, "probability", 0.5, 0, 0.999, &p, err, errlen)) return -1;
    l->prob = (float)p;
    l->c = l->in_c, l->h = l->in_h, l->w = l->in_w;
    return 0;
}

static int dropout_allocate(actlab_net *net, nn_layer *l, char *err, size_t errlen) {
    l->aux = malloc(sizeof(float) * (size_t)net->max_batch * l->c * l->h * l->w);
    return l->aux ? 0 : actlab_errorf(err, errlen, "out of memory");
}

static uint64_t layer_seed(const actlab_net *net, const nn_layer *l) {
    return net->seed * 0x9e3779b97f4a7c15ull + (uint64_t)(l - net->layers);
}

static int dropout_forward(actlab_net *net, nn_layer *l, const float *in, char *err, size_t errlen) {
    if (net->training) nn_dropout_forward(l->out, l->aux, in, layer_elems(net, l), l->prob, layer_seed(net, l), net->step);
    else if (l->out != in) memcpy(l->out, in, sizeof(float) * (size_t)layer_elems(net, l));
    return 0;
}

static int dropout_backward(actlab_net *net, nn_layer *l, const float *in, float *din, char *err, size_t errlen) {
    if (!din) return 0;
    if (net->training) nn_dropout_backward(din, l->dout, l->aux, layer_elems(net, l));
    else memcpy(din, l->dout, sizeof(float) * (size_t)layer_elems(net, l));
    return 0;
}

static void dropout_describe(const nn_layer *l, char *buf, size_t len, double *flops) {
    snprintf(buf, len, "p=%g", l->prob);
    *flops = 0;
}

/* ---- flatten: a view, copied (shapes only change for display) ---- */

static int flatten_from_cfg(actlab_net *net, nn_layer *l, const nn_cfg *cfg, nn_cfg_section *s, char *err,
                            size_t errlen) {
    l->c = l->in_c * l->in_h * l->in_w, l->h = l->w = 1;
    return 0;
}

static int copy_forward(actlab_net *net, nn_layer *l, const float *in, char *err, size_t errlen) {
    memcpy(l->out, in, sizeof(float) * (size_t)layer_elems(net, l));
    return 0;
}

static int copy_backward(actlab_net *net, nn_layer *l, const float *in, float *din, char *err, size_t errlen) {
    if (din) memcpy(din, l->dout, sizeof(float) * (size_t)layer_elems(net, l));
    return 0;
}

static void none_describe(const nn_layer *l, char *buf, size_t len, double *flops) {
    buf[0] = 0;
    *flops = 0;
}

/* ---- global average pooling: each channel's plane to its mean (ResNet's head) ---- */

static int gap_from_cfg(actlab_net *net, nn_layer *l, const nn_cfg *cfg, nn_cfg_section *s, char *err, size_t errlen) {
    l->c = l->in_c, l->h = l->w = 1;
    return 0;
}

static int gap_forward(actlab_net *net, nn_layer *l, const float *in, char *err, size_t errlen) {
    int64_t planes = (int64_t)net->batch * l->in_c, hw = (int64_t)l->in_h * l->in_w;
    #pragma omp parallel for schedule(static) if (planes * hw > (1 << 16))
    for (int64_t p = 0; p < planes; p++) {
        double sum = 0;
        for (int64_t i = 0; i < hw; i++) sum += in[p * hw + i];
        l->out[p] = (float)(sum / (double)hw);
    }
    return 0;
}

static int gap_backward(actlab_net *net, nn_layer *l, const float *in, float *din, char *err, size_t errlen) {
    if (!din) return 0;
    int64_t planes = (int64_t)net->batch * l->in_c, hw = (int64_t)l->in_h * l->in_w;
    #pragma omp parallel for schedule(static) if (planes * hw > (1 << 16))
    for (int64_t p = 0; p < planes; p++) {
        float g = l->dout[p] / (float)hw;
        for (int64_t i = 0; i < hw; i++) din[p * hw + i] = g;
    }
    return 0;
}

static void gap_describe(const nn_layer *l, char *buf, size_t len, double *flops) {
    snprintf(buf, len, "%dx%d -> 1x1", l->in_h, l->in_w);
    *flops = (double)l->in_c * l->in_h * l->in_w;
}

/* ---- maxout (Goodfellow et al. 2013): groups of k channels (or units) to their maximum ---- */

static int maxout_from_cfg(actlab_net *net, nn_layer *l, const nn_cfg *cfg, nn_cfg_section *s, char *err,
                           size_t errlen) {
    if (nn_cfg_int(cfg, s, "pieces", 2, 1, 64, &l->size, err, errlen)) return -1;
    if (l->in_c % l->size)
        return actlab_errorf(err, errlen, "%s:%d: [maxout] pieces=%d does not divide the %d input channels", cfg->path,
                             s->line, l->size, l->in_c);
    l->c = l->in_c / l->size, l->h = l->in_h, l->w = l->in_w;
    return 0;
}

static int maxout_allocate(actlab_net *net, nn_layer *l, char *err, size_t errlen) {
    l->aux = malloc(sizeof(int32_t) * (size_t)net->max_batch * l->c * l->h * l->w); /* the winning piece */
    return l->aux ? 0 : actlab_errorf(err, errlen, "out of memory");
}

/* Output channel c takes input channels c*k .. c*k+k-1; ties keep the first piece; NaN wins. */
static int maxout_forward(actlab_net *net, nn_layer *l, const float *in, char *err, size_t errlen) {
    int k = l->size;
    int64_t hw = (int64_t)l->h * l->w, outs = (int64_t)net->batch * l->c;
    int32_t *arg = l->aux;
    #pragma omp parallel for schedule(static) if (outs * hw * k > (1 << 16))
    for (int64_t o = 0; o < outs; o++) {
        const float *src = in + o * k * hw;
        for (int64_t i = 0; i < hw; i++) {
            float best = src[i];
            int32_t at = 0;
            for (int j = 1; j < k; j++) {
                float v = src[j * hw + i];
                if (v > best || (v != v && best == best)) best = v, at = j;
            }
            l->out[o * hw + i] = best;
            arg[o * hw + i] = at;
        }
    }
    return 0;
}

static int maxout_backward(actlab_net *net, nn_layer *l, const float *in, float *din, char *err, size_t errlen) {
    if (!din) return 0;
    int k = l->size;
    int64_t hw = (int64_t)l->h * l->w, outs = (int64_t)net->batch * l->c;
    const int32_t *arg = l->aux;
    #pragma omp parallel for schedule(static) if (outs * hw * k > (1 << 16))
    for (int64_t o = 0; o < outs; o++)
        for (int j = 0; j < k; j++)
            for (int64_t i = 0; i < hw; i++) din[(o * k + j) * hw + i] = arg[o * hw + i] == j ? l->dout[o * hw + i] : 0;
    return 0;
}

static void maxout_describe(const nn_layer *l, char *buf, size_t len, double *flops) {
    snprintf(buf, len, "%d pieces: %d -> %d channels", l->size, l->in_c, l->c);
    *flops = (double)l->in_c * l->h * l->w;
}

/* ---- batchnorm: torch.nn.BatchNorm2d (BatchNorm1d after a dense layer) ---- */

/* Parameters: gamma (the weight block), beta (the bias block); state: running mean, then
 * running variance (in the arena, so checkpoints keep them, but not trained). */
static int bn_from_cfg(actlab_net *net, nn_layer *l, const nn_cfg *cfg, nn_cfg_section *s, char *err, size_t errlen) {
    double eps, momentum;
    if (nn_cfg_float(cfg, s, "eps", 1e-5, 1e-12, 1, &eps, err, errlen) ||
        nn_cfg_float(cfg, s, "momentum", 0.1, 0, 1, &momentum, err, errlen))
        return -1;
    l->eps = (float)eps, l->momentum = (float)momentum;
    l->c = l->in_c, l->h = l->in_h, l->w = l->in_w;
    l->w_n = l->b_n = l->c;
    l->s_n = 2 * (int64_t)l->c;
    const char *act = nn_cfg_str(s, "activation", "none");
    return strcmp(act, "none") ? nn_append_activation(net, act, s->line, err, errlen) : 0;
}

static int bn_allocate(actlab_net *net, nn_layer *l, char *err, size_t errlen) {
    l->aux = malloc(sizeof(float) * 2 * (size_t)l->c); /* this batch's mean and biased variance */
    return l->aux ? 0 : actlab_errorf(err, errlen, "out of memory");
}

static void bn_init(actlab_net *net, nn_layer *l, uint64_t seed, uint64_t index) {
    for (int c = 0; c < l->c; c++) {
        net->params[l->w_off + c] = 1;
        net->params[l->b_off + c] = 0;
        net->params[l->s_off + c] = 0;
        net->params[l->s_off + l->c + c] = 1;
    }
}

static int bn_forward(actlab_net *net, nn_layer *l, const float *in, char *err, size_t errlen) {
    const float *g = net->params + l->w_off, *b = net->params + l->b_off;
    float *run_mean = net->params + l->s_off, *run_var = run_mean + l->c;
    float *mean = net->training ? l->aux : run_mean, *var = net->training ? (float *)l->aux + l->c : run_var;
    int64_t hw = (int64_t)l->h * l->w, n = (int64_t)net->batch * hw;
    if (net->training && n < 2)
        return actlab_errorf(err, errlen, "%s:%d: [batchnorm] needs more than one value per channel in training (batch %d of %dx%d)",
                             net->path, l->line, net->batch, l->h, l->w);
    if (net->use_reference) {
        ref_bn_forward(l->out, in, g, b, mean, var, net->batch, l->c, hw, l->eps, net->training);
    } else {
        nn_dnnl_bn *d = fast_object(net, l, err, errlen);
        if (!d) return -1;
        if (nn_dnnl_bn_forward(d, l->out, in, g, b, mean, var, net->training))
            return actlab_errorf(err, errlen, "%s:%d: %s", net->path, l->line, nn_dnnl_bn_error(d));
    }
    if (net->training) /* PyTorch: running = (1 - m) running + m batch, with the unbiased variance */
        for (int c = 0; c < l->c; c++) {
            run_mean[c] = (float)(l->momentum * (double)mean[c] + (1 - (double)l->momentum) * run_mean[c]);
            run_var[c] = (float)(l->momentum * (double)var[c] * (double)n / (double)(n - 1) +
                                 (1 - (double)l->momentum) * run_var[c]);
        }
    return 0;
}

static int bn_backward(actlab_net *net, nn_layer *l, const float *in, float *din, char *err, size_t errlen) {
    const float *g = net->params + l->w_off, *beta = net->params + l->b_off, *mean = l->aux,
                *var = (const float *)l->aux + l->c;
    float *dg = net->grads + l->w_off, *db = net->grads + l->b_off;
    if (net->use_reference) {
        ref_bn_backward(din, dg, db, l->dout, in, g, mean, var, net->batch, l->c, (int64_t)l->h * l->w, l->eps);
        return 0;
    }
    nn_dnnl_bn *d = fast_object(net, l, err, errlen);
    if (!d) return -1;
    /* oneDNN always computes diff_src: for a first layer, into scratch nobody reads */
    if (nn_dnnl_bn_backward(d, din ? din : l->grad_conv, dg, db, l->dout, in, g, beta, mean, var))
        return actlab_errorf(err, errlen, "%s:%d: %s", net->path, l->line, nn_dnnl_bn_error(d));
    return 0;
}

static void bn_describe(const nn_layer *l, char *buf, size_t len, double *flops) {
    snprintf(buf, len, "eps %g momentum %g", l->eps, l->momentum);
    *flops = 2.0 * l->c * l->h * l->w;
}

/* ---- shortcut: a residual connection, out = in + (the output of an earlier section) ---- */

/* 1x1 projection stride: the s with (from - 1)/s + 1 == to along both axes, or 0. */
static int projection_stride(int fh, int fw, int h, int w) {
    for (int st = 1; st <= 16; st++)
        if ((fh - 1) / st + 1 == h && (fw - 1) / st + 1 == w) return st;
    return 0;
}

/* from=-k names the section k back (its last layer's output; -k reaching [net] is the
 * input). Where the shapes differ (or projection=1), the earlier output goes through a 1x1
 * convolution (no bias) and batch norm first, as in ResNet's downsampling blocks; this
 * section then makes three layers: the projection conv, its batch norm, the addition. */
static int shortcut_from_cfg(actlab_net *net, nn_layer *l, const nn_cfg *cfg, nn_cfg_section *s, char *err,
                             size_t errlen) {
    int k, proj;
    if (nn_cfg_int(cfg, s, "from", 0, -1000000, 1000000, &k, err, errlen) ||
        nn_cfg_int(cfg, s, "projection", -1, -1, 1, &proj, err, errlen))
        return -1;
    if (k == 0) return actlab_errorf(err, errlen, "%s:%d: [shortcut] needs from=-K (the section K back)", cfg->path, s->line);
    int from = nn_section_output(net, (int)(s - cfg->sections), k, cfg->path, s->line, err, errlen);
    if (from < -1) return -1;
    int idx = (int)(l - net->layers), fc = from < 0 ? net->in_c : net->layers[from].c,
        fh = from < 0 ? net->in_h : net->layers[from].h, fw = from < 0 ? net->in_w : net->layers[from].w;
    l->c = l->in_c, l->h = l->in_h, l->w = l->in_w;
    int differ = fc != l->c || fh != l->h || fw != l->w;
    if (differ && proj == 0)
        return actlab_errorf(err, errlen, "%s:%d: [shortcut] from=%d: its %dx%dx%d output and this %dx%dx%d input differ, "
                             "and projection=0 forbids the 1x1 projection", cfg->path, s->line, k, fc, fh, fw, l->c, l->h, l->w);
    if (differ || proj == 1) {
        int st = projection_stride(fh, fw, l->h, l->w);
        if (!st)
            return actlab_errorf(err, errlen, "%s:%d: [shortcut] from=%d: no 1x1 stride takes %dx%d to %dx%d", cfg->path,
                                 s->line, k, fh, fw, l->h, l->w);
        int c = l->c;
        /* this slot becomes the projection conv, reading `from` */
        l->kind = nn_find_kind("conv");
        l->src = from;
        l->in_c = fc, l->in_h = fh, l->in_w = fw;
        l->size = 1, l->stride = st, l->pad = 0, l->bias = 0;
        l->w_n = (int64_t)c * fc;
        nn_layer *add;
        if (nn_append_batchnorm(net, s->line, err, errlen) ||
            nn_append_layer(net, "shortcut", s->line, &add, err, errlen))
            return -1;
        add->src = idx - 1;
        add->from = idx + 1;
    } else {
        l->from = from;
    }
    const char *act = nn_cfg_str(s, "activation", "none");
    return strcmp(act, "none") ? nn_append_activation(net, act, s->line, err, errlen) : 0;
}

/* The earlier output converted to this layer's layout, where the two differ. */
static int shortcut_allocate(actlab_net *net, nn_layer *l, char *err, size_t errlen) {
    int fb = l->from >= 0 && net->layers[l->from].blocked;
    if (fb == l->in_blocked || (int64_t)l->h * l->w == 1) return 0;
    l->aux = malloc(sizeof(float) * (size_t)net->max_batch * l->c * l->h * l->w);
    return l->aux ? 0 : actlab_errorf(err, errlen, "out of memory");
}

static int shortcut_forward(actlab_net *net, nn_layer *l, const float *in, char *err, size_t errlen) {
    const float *other = l->from < 0 ? net->input : net->layers[l->from].out;
    int64_t n = layer_elems(net, l), hw = (int64_t)l->h * l->w;
    if (l->aux) {
        if (l->in_blocked) nn_layout_to_blocked(l->aux, other, net->batch, l->c, hw);
        else nn_layout_to_plain(l->aux, other, net->batch, l->c, hw);
        other = l->aux;
    }
    float *out = l->out;
    #pragma omp parallel for schedule(static) if (n > (1 << 16))
    for (int64_t i = 0; i < n; i++) out[i] = in[i] + other[i];
    return 0;
}

/* The gradient for `from` is dout as well: net.c passes it on. */
static int shortcut_backward(actlab_net *net, nn_layer *l, const float *in, float *din, char *err, size_t errlen) {
    if (din) memcpy(din, l->dout, sizeof(float) * (size_t)layer_elems(net, l));
    return 0;
}

static void shortcut_describe(const nn_layer *l, char *buf, size_t len, double *flops) {
    if (l->from < 0) snprintf(buf, len, "+ the input");
    else snprintf(buf, len, "+ layer %d", l->from);
    *flops = (double)l->c * l->h * l->w;
}

/* ---- activation: a catalogue function (actlab/act.h) ---- */

static int activation_from_cfg(actlab_net *net, nn_layer *l, const nn_cfg *cfg, nn_cfg_section *s, char *err,
                               size_t errlen) {
    /* The [activation] section itself is replaced by the layer nn_append_activation makes. */
    const char *spec = nn_cfg_str(s, "function", "open");
    net->nlayers--;
    return nn_append_activation(net, spec, s->line, err, errlen);
}

/* Shape and parameter count are set here, since activation layers are also made by conv and dense. */
static int activation_allocate(actlab_net *net, nn_layer *l, char *err, size_t errlen) {
    const actlab_act *a = l->act.act;
    int64_t n = (int64_t)net->max_batch * l->c * l->h * l->w;
    if (a->flags & ACTLAB_ACT_RANDOM) {
        l->aux = malloc(sizeof(float) * (size_t)n);
        if (!l->aux) return actlab_errorf(err, errlen, "out of memory");
    }
    if (l->p_n) {
        l->aux2 = calloc((size_t)l->p_n, sizeof(double));
        if (!l->aux2) return actlab_errorf(err, errlen, "out of memory");
    }
    return 0;
}

static actlab_act_call activation_call(const actlab_net *net, const nn_layer *l) {
    actlab_act_call c = actlab_act_call_default(&l->act);
    if (l->p_n) {
        c.param = net->params + l->p_off;
        if (l->act_channels > 1) c.channels = l->act_channels, c.inner = (int64_t)l->h * l->w;
    }
    c.training = net->training;
    c.seed = layer_seed(net, l);
    c.step = net->step;
    c.noise = l->aux;
    return c;
}

static void activation_init(actlab_net *net, nn_layer *l, uint64_t seed, uint64_t index) {
    const actlab_act *a = l->act.act;
    for (int64_t ch = 0; ch < l->act_channels && l->p_n; ch++)
        for (int k = 0; k < a->nparam; k++) net->params[l->p_off + ch * a->nparam + k] = l->act.p[k];
}

static int activation_forward(actlab_net *net, nn_layer *l, const float *in, char *err, size_t errlen) {
    actlab_act_call c = activation_call(net, l);
    return actlab_act_forward(&c, l->out, in, layer_elems(net, l), err, errlen);
}

static int activation_backward(actlab_net *net, nn_layer *l, const float *in, float *din, char *err, size_t errlen) {
    actlab_act_call c = activation_call(net, l);
    double *pg = l->aux2;
    if (pg) memset(pg, 0, sizeof(double) * (size_t)l->p_n);
    c.param_grad = pg;
    /* din may be NULL only for a first layer, which still has parameter gradients to compute */
    float *dx = din;
    if (!dx) dx = l->dout; /* overwrite our own gradient: nothing reads it after this */
    if (actlab_act_backward(&c, dx, l->dout, in, l->out, layer_elems(net, l), err, errlen)) return -1;
    for (int64_t k = 0; pg && k < l->p_n; k++) net->grads[l->p_off + k] += (float)pg[k];
    return 0;
}

/* y over x when the derivative needs only y (the catalogue's flag): the backward then
 * reads y, so nothing after it may overwrite it either. */
static int activation_from_y(const nn_layer *l) { return (l->act.act->flags & ACTLAB_ACT_FROM_Y) != 0; }

/* Element-wise layers whose backward needs neither input nor output. */
static int always(const nn_layer *l) { return 1; }

static void activation_describe(const nn_layer *l, char *buf, size_t len, double *flops) {
    actlab_act_cfg_string(&l->act, buf, len);
    if (l->act_open) snprintf(buf + strlen(buf), len - strlen(buf), " (open)");
    if (l->p_n) snprintf(buf + strlen(buf), len - strlen(buf), " %s", l->act_channels > 1 ? "per channel" : "per layer");
    *flops = (double)l->c * l->h * l->w;
}

static const nn_layer_kind kinds[] = {
    {"conv", NN_LAYOUT_OWN, "filters, size, stride, pad, bias, batchnorm, activation", conv_from_cfg, NULL, conv_init,
     conv_forward, conv_backward, conv_describe, fast_release, NULL, NULL},
    {"dense", NN_LAYOUT_PLAIN, "outputs, bias, activation", dense_from_cfg, NULL, dense_init, dense_forward,
     dense_backward, dense_describe, fast_release, NULL, NULL},
    {"batchnorm", NN_LAYOUT_KEEP, "eps, momentum, activation", bn_from_cfg, bn_allocate, bn_init, bn_forward,
     bn_backward, bn_describe, fast_release, NULL, NULL},
    {"shortcut", NN_LAYOUT_KEEP, "from, projection, activation", shortcut_from_cfg, shortcut_allocate, NULL,
     shortcut_forward, shortcut_backward, shortcut_describe, NULL, always, NULL},
    {"maxpool", NN_LAYOUT_KEEP, "size, stride, pad", pool_from_cfg, maxpool_allocate, NULL, pool_forward,
     pool_backward, pool_describe, fast_release, NULL, NULL},
    {"avgpool", NN_LAYOUT_KEEP, "size, stride, pad", pool_from_cfg, NULL, NULL, pool_forward, pool_backward,
     pool_describe, fast_release, NULL, NULL},
    {"dropout", NN_LAYOUT_KEEP, "probability", dropout_from_cfg, dropout_allocate, NULL, dropout_forward,
     dropout_backward, dropout_describe, NULL, always, NULL},
    {"flatten", NN_LAYOUT_PLAIN, "", flatten_from_cfg, NULL, NULL, copy_forward, copy_backward, none_describe, NULL, NULL, NULL},
    {"globalavgpool", NN_LAYOUT_PLAIN, "", gap_from_cfg, NULL, NULL, gap_forward, gap_backward, gap_describe, NULL, NULL, NULL},
    {"maxout", NN_LAYOUT_PLAIN, "pieces", maxout_from_cfg, maxout_allocate, NULL, maxout_forward, maxout_backward,
     maxout_describe, NULL, NULL, NULL},
    {"activation", NN_LAYOUT_KEEP, "function", activation_from_cfg, activation_allocate, activation_init,
     activation_forward, activation_backward, activation_describe, NULL, activation_from_y, activation_from_y},
};

const nn_layer_kind *nn_find_kind(const char *name) {
    static const char *const aliases[][2] = {{"convolutional", "conv"}, {"connected", "dense"}, {"linear", "dense"}};
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (!strcmp(name, aliases[i][0])) name = aliases[i][1];
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (!strcmp(kinds[i].name, name)) return &kinds[i];
    return NULL;
}

const char *nn_kind_names(void) {
    return "net, conv, dense, batchnorm, shortcut, maxpool, avgpool, globalavgpool, dropout, flatten, maxout, activation";
}
