/*
 * actlab/train.h — one training run: a model, a data set, an activation
 * function and an optimiser, trained for some epochs with records written to
 * a run folder:
 *
 *     OUT/config.json    every setting used, defaults included, version, threads
 *     OUT/metrics.jsonl  one record per epoch (train/test loss and accuracy, lr, time, images/s;
 *                        test_top5 when there are more than 5 classes; val_loss, val_acc,
 *                        val_top5 with a validation split; elapsed_seconds; the measurements
 *                        "time", "grad_norm" and "probe", described in README.md)
 *     OUT/final.json     written when the last epoch ends (before its checkpoint): the final
 *                        test (and val) metrics and, for a classifier, the test split by class:
 *                        "classes" (names, or label numbers when the data set has none),
 *                        "test_class_count", "test_class_correct", "test_class_acc" (null for
 *                        a class without images) and "confusion" (counts, row = true class,
 *                        column = predicted; each row sums to that class's count), and
 *                        "targets" with accuracy targets. A separate
 *                        file, so that metrics.jsonl stays one record per epoch.
 *     OUT/last.ckpt      the state after the last finished epoch (resume point)
 *
 * Same seed and thread count give bit-identical results; a run killed at any
 * point and resumed from last.ckpt ends with the same weights as one that
 * was never interrupted.
 */
#ifndef ACTLAB_TRAIN_H
#define ACTLAB_TRAIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "actlab/net.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct actlab_train_config {
    const char *model;        /* model file path */
    const char *data;         /* data set spec (actlab/data.h) */
    const char *act;          /* function for open activation layers, "NAME[:k=v]" or "expr:..." */
    int act_per_channel;      /* learnable activation parameters per channel */
    int relu_gain;            /* initialise with ReLU's gain before every activation (actlab_net_options) */
    int unfused;              /* no layer in place (actlab_net_options.unfused): the same results, more memory */
    const char *precision;    /* the convolutions' arithmetic: "f32" (or NULL) or "bf16", a speed mode
                                 (actlab_net_options.precision); checkpoints hold f32 weights either way */
    /* Left unset (NULL, NAN, -1 or 0 as actlab_train_config_default leaves them), these come
     * from the model file's [net] section, else default to sgd, lr 0.01, momentum 0.9,
     * weight decay 0, no Nesterov, constant schedule, 5 epochs, batch 128. */
    const char *optim;        /* "sgd" or "adam" */
    double lr, momentum, weight_decay;
    int nesterov;
    const char *schedule;     /* text for actlab/optim.h's schedule parser */
    int epochs, batch;
    double act_weight_decay;
    uint64_t seed;
    int threads;              /* 0: OpenMP's default */
    int64_t train_subset, test_subset; /* 0: all */
    /* Training images only, in the loader thread (evaluation never augments): random crop
     * after padding crop_pad pixels (0: 4) with the value a black pixel has after
     * normalisation (-mean/std per channel, as torchvision pads before Normalize), and
     * horizontal flip with p = 1/2; each draw is a function of (seed, epoch, image). */
    const char *augment;      /* "none" (or NULL), "crop", "flip", "crop,flip" */
    int crop_pad;
    /* 0, or hold out this fraction of the training set (after train_subset) as a
     * validation set, stratified by class, never trained on. The split's seed is val_seed,
     * not seed: runs that differ only in seed (repeats for statistics) share one split. */
    double val_split;
    uint64_t val_seed;
    const char *out;          /* run folder */
    int resume;               /* continue from OUT/last.ckpt */
    int progress;             /* 1: a live line (terminal), 0: a line per epoch */
    int verbose;              /* report model-file keys left at their defaults */
    /* Measurements in each epoch's record (see README): the probe runs this many training
     * images (a fixed set drawn from the seed; default 1024, 0: none) through the net in
     * evaluation mode after each epoch. It touches no state: runs are bit-identical with and
     * without it. */
    int64_t probe;
    /* Accuracy targets (test accuracy, or val with a validation split): final.json gets the
     * epoch and training seconds at which each was first reached. ntargets up to 16. */
    const double *targets;
    int ntargets;
    int64_t stop_after;       /* tests: stop (as if killed) after this many optimiser steps; 0: never */
    FILE *log;                /* where progress goes (stderr if NULL) */
} actlab_train_config;

actlab_train_config actlab_train_config_default(void);

typedef struct actlab_train_result {
    int epochs_done;
    int autoencoder;          /* losses are reconstruction MSE; there is no accuracy */
    double train_loss, train_acc, test_loss, test_acc, seconds;
    double test_top5;         /* NAN when there are 5 classes or fewer */
    int has_val;              /* a validation split: */
    double val_loss, val_acc, val_top5;
} actlab_train_result;

/* A test split by class. */
typedef struct actlab_class_report {
    int classes;
    int64_t *confusion;       /* [classes][classes] counts: row = true class, column = predicted */
    char (*names)[32];        /* [classes]: the data set's class names, or label numbers */
} actlab_class_report;
void actlab_class_report_free(actlab_class_report *r);

/* ---- the probe: what each activation layer does on a fixed set of images ---- */

/* One activation layer's statistics over the probe images. A unit is a channel (conv) or
 * a neuron (dense); it is dead when f'(x) = 0 at every position of every probe image, near
 * dead when |f'(x)| < 1e-3 everywhere (dead units included). */
typedef struct actlab_probe_stats {
    int layer, act_index;     /* the net's layer, and its rank among the activation layers */
    const char *function;     /* the catalogue name */
    int units;
    double dead, near_dead;   /* fractions of the units */
    double mean, std;         /* of the outputs (all units, positions and images) */
    double negative;          /* share of outputs below 0 */
} actlab_probe_stats;

/* The activation layers of a net (the size of actlab_probe_run's out). */
int actlab_probe_layers(const actlab_net *net);
/* `n` distinct indices below `count` (n <= count), drawn from seed only, in increasing
 * order: the probe set. */
void actlab_probe_pick(int64_t count, int64_t n, uint64_t seed, int64_t *idx);
/* Runs images ([count][image_size] floats, normalised) through net in evaluation mode,
 * `batch` at a time (at most the net's max_batch), and fills out[actlab_probe_layers(net)].
 * Returns 0 or -1 with a message. */
int actlab_probe_run(actlab_net *net, const float *images, int64_t count, int64_t image_size, int batch,
                     actlab_probe_stats *out, char *err, size_t errlen);

/* Returns 0, or non-zero with a message (bad setting, unreadable data, NaN loss, ...). */
int actlab_train(const actlab_train_config *cfg, actlab_train_result *result, char *err, size_t errlen);

/* Evaluate a checkpoint on a data set's test split (test_loss, test_acc, test_top5). */
int actlab_test_checkpoint(const char *checkpoint, const char *data, int64_t test_subset, int threads,
                           actlab_train_result *result, char *err, size_t errlen);
/* The same, and for a classifier *report gets the split by class (free it with
 * actlab_class_report_free; it is zeroed for an autoencoder or on error). */
int actlab_test_checkpoint_report(const char *checkpoint, const char *data, int64_t test_subset, int threads,
                                  actlab_train_result *result, actlab_class_report *report, char *err,
                                  size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
