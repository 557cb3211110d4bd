/* net_internal.h — the network's insides, shared by net.c and the layer table (layer_kinds.c). */
#ifndef ACTLAB_NET_INTERNAL_H
#define ACTLAB_NET_INTERNAL_H

#include "actlab/net.h"
#include "cfg.h"
#include "layers_ref.h"
#include "util/error.h"

typedef struct nn_layer nn_layer;
typedef struct nn_layer_kind nn_layer_kind;

struct nn_layer {
    const nn_layer_kind *kind;
    int line;                       /* model-file line of its section */
    int in_c, in_h, in_w;           /* input shape per sample */
    int c, h, w;                    /* output shape per sample */
    int size, stride, pad, bias;    /* conv and pooling */
    float prob;                     /* dropout */
    actlab_act_cfg act;             /* activation layers */
    int act_open;                   /* took the run's function (--act) */
    int act_channels;               /* 1: one parameter set per layer, else per channel */
    int64_t w_off, w_n, b_off, b_n, p_off, p_n; /* parameter arena: weights, biases, activation params */
    float *out, *dout;              /* [max_batch][c][h][w] */
    void *aux, *aux2;               /* per kind: argmax, dropout mask, noise, parameter-gradient scratch */
    void *backend;                  /* a oneDNN primitive set, when used */
};

struct nn_layer_kind {
    const char *name;
    const char *keys;               /* the keys its section accepts, for messages */
    int (*from_cfg)(actlab_net *net, nn_layer *l, const nn_cfg *cfg, nn_cfg_section *s, char *err, size_t errlen);
    int (*allocate)(actlab_net *net, nn_layer *l, char *err, size_t errlen);
    void (*init)(actlab_net *net, nn_layer *l, uint64_t seed, uint64_t index);
    int (*forward)(actlab_net *net, nn_layer *l, const float *in, char *err, size_t errlen);
    /* din: gradient for the input (overwrite), NULL for the first layer; parameter gradients accumulate. */
    int (*backward)(actlab_net *net, nn_layer *l, const float *in, float *din, char *err, size_t errlen);
    void (*describe)(const nn_layer *l, char *buf, size_t len, double *flops);
    void (*release)(nn_layer *l);
};

enum { NN_LOSS_NONE, NN_LOSS_XENT, NN_LOSS_MSE };

struct actlab_net {
    char path[1024];
    char open_act[256];             /* the function for layers left open */
    int in_c, in_h, in_w, classes;
    int max_batch, batch, training, xavier, mse, act_per_channel, use_reference;
    uint64_t seed, step;            /* init seed (also seeds dropout and noise), optimiser step */
    nn_layer *layers;
    int nlayers, cap;
    int64_t nparams;
    float *params, *grads;
    const float *input;             /* the last forward's x */
    float *probs;                   /* softmax of the last forward, [max_batch][classes] */
    int loss_kind;
    const int32_t *labels;
    const float *target;
};

const nn_layer_kind *nn_find_kind(const char *name);
const char *nn_kind_names(void);
int nn_append_activation(actlab_net *net, const char *spec, int line, char *err, size_t errlen);

#endif
