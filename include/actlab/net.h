/*
 * actlab/net.h — a network built from a model file: a sequence of layers
 * with their shapes, one arena of parameters (and one of their gradients),
 * and forward/backward over a batch.
 *
 *     char err[512];
 *     actlab_net *net = actlab_net_load("models/lenet.cfg", &opts, err, sizeof err);
 *     actlab_net_init(net, seed);                       // He/Xavier weights
 *     actlab_net_forward(net, x, batch, 1);             // training mode
 *     double loss = actlab_net_loss(net, labels, batch, &correct);
 *     actlab_net_backward(net, batch);                  // fills actlab_net_grads()
 *
 * Activation layers point into the catalogue (actlab/act.h): a layer whose
 * model file says `activation=open` takes the run's function (--act).
 */
#ifndef ACTLAB_NET_H
#define ACTLAB_NET_H

#include <stddef.h>
#include <stdint.h>
#include "actlab/act.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct actlab_net actlab_net;

/* The arithmetic of the convolutions (actlab_net_options.precision). */
typedef enum actlab_precision {
    ACTLAB_PRECISION_F32 = 0, /* the default */
    /* A speed mode (mixed precision): inside each convolution, its input, weights and output
     * gradient are rounded to bfloat16 and the products summed in f32; the results, every
     * buffer the net keeps, the activation functions, batch norm, dense layers, the
     * optimiser and checkpoints stay f32 (f32 master weights). Convolutions where f32
     * Winograd is faster (3x3 stride 1, >= 256 channels in and out) stay f32. Needs
     * AVX512-BF16: building the net fails with "--precision bf16: this CPU has no
     * AVX512-BF16 ..." without it. The reference layers (use_reference) ignore it. */
    ACTLAB_PRECISION_BF16,
} actlab_precision;

typedef struct actlab_net_options {
    int channels, height, width, classes; /* the data's shape; 0: take the model file's [net] values */
    int max_batch;                        /* buffers are sized for this many samples */
    const char *act;                      /* function for layers left open ("relu" if NULL) */
    int act_per_channel;                  /* learnable activation parameters per channel (else per layer) */
    int use_reference;                    /* 1: plain C layers instead of oneDNN (tests, debugging) */
    actlab_precision precision;           /* of the convolutions: f32 (default) or bf16 (above) */
    int relu_gain;                        /* 1: He's ReLU gain (sqrt 2) before every activation, whatever the
                                             function: a seed then gives every function the same initial
                                             weights (paired comparisons); 0: the function's own gain */
    int unfused;                          /* 1: every layer writes its own buffer: no layer runs in place
                                             over its input (the same results, more memory; the path
                                             the fused one is checked against) */
    int verbose;                          /* report keys left at their defaults into the log */
    char *log;                            /* optional buffer for --verbose notes */
    size_t loglen;
} actlab_net_options;

actlab_net_options actlab_net_options_default(void);

/* Training settings a model file may carry in its [net] section (batch, epochs,
 * optim, lr, momentum, nesterov, weight_decay, schedule); a run's flags override them. */
typedef struct actlab_net_hints {
    int batch, epochs;                  /* 0: not given */
    double lr, momentum, weight_decay;  /* NAN: not given */
    int nesterov;                       /* -1: not given */
    char optim[16], schedule[256];      /* "": not given */
} actlab_net_hints;
int actlab_net_read_hints(const char *path, actlab_net_hints *out, char *err, size_t errlen);

/* Build from a model file, or from model text in memory (name used in messages). */
actlab_net *actlab_net_load(const char *path, const actlab_net_options *opts, char *err, size_t errlen);
actlab_net *actlab_net_parse(const char *name, const char *text, const actlab_net_options *opts, char *err,
                             size_t errlen);
void actlab_net_free(actlab_net *net);

/* Layers, for display and measurements. */
typedef struct actlab_layer_info {
    const char *type;        /* "conv", "dense", "maxpool", "activation", ... */
    char detail[160];        /* "6 5x5 stride 1 pad 0", "relu", "p=0.5" */
    int c, h, w;             /* output shape per sample */
    int64_t params;          /* trainable parameters */
    double flops;            /* forward multiply-adds x 2 per sample */
    int line;                /* in the model file */
    int input;               /* the layer it reads (-1: the network's input) */
    int adds;                /* a shortcut: the layer it adds (-1: the input); else -2 */
    const char *layout;      /* its output in memory: "NCHW", or "nChw16c" (oneDNN's channel blocks) */
    int in_place;            /* writes its output over its input's memory (actlab_net_options.unfused) */
} actlab_layer_info;
int actlab_net_layers(const actlab_net *net);
/* Bytes of the buffers sized for max_batch: activations kept for backward (layer outputs and
 * layout copies), and gradients with oneDNN's temporaries (which share memory where their
 * lifetimes in a step do not overlap). Parameters, their gradients and the optimiser's state
 * are not included. */
void actlab_net_buffer_bytes(const actlab_net *net, int64_t *activations, int64_t *gradients);
void actlab_net_layer_info(const actlab_net *net, int i, actlab_layer_info *out);

/* Parameters: one flat array, with groups for the optimiser. */
int64_t actlab_net_param_count(const actlab_net *net);
float *actlab_net_params(actlab_net *net);
float *actlab_net_grads(actlab_net *net);
typedef struct actlab_net_param_block {
    const char *name;        /* "weight", "bias", or "act" (learnable activation parameters) */
    int layer;               /* the layer it belongs to (actlab_net_layer_info) */
    int64_t offset, n;
    int decay;               /* 1: weight decay applies (weights, biases), 0: learnable activation parameters */
} actlab_net_param_block;
int actlab_net_param_blocks(const actlab_net *net);
actlab_net_param_block actlab_net_param_block_at(const actlab_net *net, int i);

/* Initialise weights (He normal scaled for the layer's activation, biases 0,
 * activation parameters at their defaults) from a seed. */
void actlab_net_init(actlab_net *net, uint64_t seed);

/* x: [batch][c][h][w]. training selects dropout and random activations;
 * step seeds their noise. Returns 0 or non-zero with a message. */
int actlab_net_forward(actlab_net *net, const float *x, int batch, int training, uint64_t step, char *err,
                       size_t errlen);
/* Softmax cross-entropy against labels, mean over the batch; counts correct top-1 answers. */
double actlab_net_loss(actlab_net *net, const int32_t *labels, int batch, int *correct);
/* Mean squared error of the output against a target of the output's shape (autoencoders). */
double actlab_net_loss_mse(actlab_net *net, const float *target, int batch);
/* Gradients of the last loss into actlab_net_grads() (overwritten, not accumulated). */
int actlab_net_backward(actlab_net *net, int batch, char *err, size_t errlen);
/* 1 if the model file says loss=mse (an autoencoder: the target is the input). */
int actlab_net_is_autoencoder(const actlab_net *net);
/* The last forward's output: [batch][outputs]. */
const float *actlab_net_output(const actlab_net *net, int *outputs);

/* ---- measurements (the training probe, actlab profile) ---- */

/* The batch size of the last forward (0 before any). */
int actlab_net_batch(const actlab_net *net);
/* Copies the last forward's output of `layer` (or its input: the output of the layer it
 * reads, or the network's input) into dst as [batch][c][h][w], whatever layout the net
 * keeps it in (oneDNN's nChw16c is converted). dst holds batch x c x h x w floats of the
 * layer's output (input) shape. Returns 0, or -1 for a bad layer or no forward yet.
 * A layer run in place (actlab_layer_info.in_place) wrote its output over its input:
 * actlab_net_layer_input then returns 1 and writes nothing, and its source's output reads
 * as this layer's. */
int actlab_net_layer_output(const actlab_net *net, int layer, float *dst);
int actlab_net_layer_input(const actlab_net *net, int layer, float *dst);
/* An activation layer's function (NULL for other layers). Its learnable parameters, when
 * it has any, are *params: *sets sets of cfg->act->nparam values (1 per layer, or one per
 * channel); else *params is NULL and *sets 0 (cfg->p holds the fixed values). */
const actlab_act_cfg *actlab_net_layer_act(const actlab_net *net, int layer, const float **params, int *sets);
/* Wall time spent in each layer's forward and backward (the layout conversions made for
 * it included) since the net was built or the last reset, in seconds; two clock reads per
 * layer call. */
void actlab_net_layer_times(const actlab_net *net, int layer, double *fwd_s, double *bwd_s);
void actlab_net_reset_times(actlab_net *net);

#ifdef __cplusplus
}
#endif
#endif
