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
    int src;                        /* the layer whose output it reads (-1: the network's input) */
    int from;                       /* shortcut: the layer added to src's output (-1: the input), else -2 */
    int in_c, in_h, in_w;           /* input shape per sample */
    int c, h, w;                    /* output shape per sample */
    int size, stride, pad, bias;    /* conv and pooling */
    float prob;                     /* dropout */
    float eps, momentum;            /* batchnorm */
    actlab_act_cfg act;             /* activation layers */
    int act_open;                   /* took the run's function (--act) */
    int act_channels;               /* 1: one parameter set per layer, else per channel */
    int64_t w_off, w_n, b_off, b_n, p_off, p_n; /* parameter arena: weights, biases, activation params */
    int64_t s_off, s_n;             /* arena state that is not trained (batch norm's running statistics) */
    float *out, *dout;              /* [max_batch][c][h][w], nChw16c when `blocked`; in the net's arenas */
    int in_place;                   /* out is its source's out: the layer overwrote its input */
    /* Layouts (layout.h): the net converts where a layer's input or output layout differs
     * from its neighbour's; these buffers exist only where that happens. */
    int blocked;                    /* out and dout are channel-blocked */
    int in_blocked;                 /* the layout the kind gets its input (and gives din) in */
    int plain_kind;                 /* works on NCHW only (the net converts around it) */
    float *in_conv, *din_conv;      /* the source's output converted to in_blocked; its gradient */
    float *out_plain, *dout_plain;  /* a plain kind's own output and gradient when `blocked` */
    int dout_ready;                 /* backward: dout already holds some consumer's gradient */
    float *grad_sum, *grad_conv;    /* backward, this layer's step only: its din when that must be added to
                                       a gradient already there; a gradient converted to another layout */
    void *aux, *aux2;               /* per kind: argmax, dropout mask, noise, parameter-gradient scratch */
    void *backend;                  /* a oneDNN primitive set, when used */
    void *temp[2];                  /* where its oneDNN temporaries live in forward and backward (NULL: */
    int64_t temp_bytes[2];          /* the backend's shared buffer), planned with the gradients */
};

/* How a kind treats layouts: OWN reads either and writes the net's choice itself (conv);
 * KEEP works on blocked or plain alike, input in the output's layout (batch norm, pooling,
 * element-wise layers); PLAIN needs NCHW in and out. */
typedef enum nn_layout_rule { NN_LAYOUT_OWN, NN_LAYOUT_KEEP, NN_LAYOUT_PLAIN } nn_layout_rule;

struct nn_layer_kind {
    const char *name;
    nn_layout_rule layout;
    const char *keys;               /* the keys its section accepts, for messages */
    int (*from_cfg)(actlab_net *net, nn_layer *l, const nn_cfg *cfg, nn_cfg_section *s, char *err, size_t errlen);
    int (*allocate)(actlab_net *net, nn_layer *l, char *err, size_t errlen);
    void (*init)(actlab_net *net, nn_layer *l, uint64_t seed, uint64_t index);
    int (*forward)(actlab_net *net, nn_layer *l, const float *in, char *err, size_t errlen);
    /* din: gradient for the input (overwrite), NULL for the first layer; parameter gradients accumulate. */
    int (*backward)(actlab_net *net, nn_layer *l, const float *in, float *din, char *err, size_t errlen);
    void (*describe)(const nn_layer *l, char *buf, size_t len, double *flops);
    void (*release)(nn_layer *l);
    /* In-place execution (NULL: never). may_run_in_place: the forward is element-wise, so it may
     * write its output over its input, and the backward reads neither (in is NULL then).
     * reads_own_output: the backward reads l->out, so nothing may overwrite it. */
    int (*may_run_in_place)(const nn_layer *l);
    int (*reads_own_output)(const nn_layer *l);
};

enum { NN_LOSS_NONE, NN_LOSS_XENT, NN_LOSS_MSE };

struct actlab_net {
    char path[1024];
    char open_act[256];             /* the function for layers left open */
    int in_c, in_h, in_w, classes;
    int max_batch, batch, training, xavier, mse, act_per_channel, use_reference, relu_gain;
    actlab_precision precision;     /* of the oneDNN convolutions */
    uint64_t seed, step;            /* init seed (also seeds dropout and noise), optimiser step */
    nn_layer *layers;
    int nlayers, cap;
    int *sec_last, nsec;            /* while building: the last layer of each model-file section (-1: input) */
    int unfused;                    /* every layer writes its own buffer (the path fused runs are checked against) */
    float *act_arena, *grad_arena;  /* every layer's out (and in_conv), and every gradient buffer */
    int64_t act_floats, grad_floats;
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
/* The output of the layer l reads (the network's input for the first), in its source's layout. */
const float *nn_layer_input(const actlab_net *net, const nn_layer *l);
/* Appends a layer of `kind` (by name) reading the previous layer; *out points at it. */
int nn_append_layer(actlab_net *net, const char *kind, int line, nn_layer **out, char *err, size_t errlen);
/* A oneDNN layer's temporary bytes in forward and backward (need[0], need[1]; 0 for other
 * layers): builds its oneDNN object for max_batch now. Then nn_layer_place_temps moves the
 * temporaries of its objects to l->temp. */
int nn_layer_temp_needs(actlab_net *net, nn_layer *l, int64_t need[2], char *err, size_t errlen);
void nn_layer_place_temps(nn_layer *l);
int nn_append_batchnorm(actlab_net *net, int line, char *err, size_t errlen);
/* The layer a section's from=-k names (-1: the network's input), or -2 with a message. */
int nn_section_output(actlab_net *net, int section, int k, const char *path, int line, char *err, size_t errlen);

#endif
