/*
 * actlab/train.h — one training run: a model, a data set, an activation
 * function and an optimiser, trained for some epochs with records written to
 * a run folder:
 *
 *     OUT/config.json    every setting used, defaults included, version, threads
 *     OUT/metrics.jsonl  one record per epoch (train/test loss and accuracy, lr, time, images/s)
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

#ifdef __cplusplus
extern "C" {
#endif

typedef struct actlab_train_config {
    const char *model;        /* model file path */
    const char *data;         /* data set spec (actlab/data.h) */
    const char *act;          /* function for open activation layers, "NAME[:k=v]" or "expr:..." */
    int act_per_channel;      /* learnable activation parameters per channel */
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
    const char *out;          /* run folder */
    int resume;               /* continue from OUT/last.ckpt */
    int progress;             /* 1: a live line (terminal), 0: a line per epoch */
    int verbose;              /* report model-file keys left at their defaults */
    int64_t stop_after;       /* tests: stop (as if killed) after this many optimiser steps; 0: never */
    FILE *log;                /* where progress goes (stderr if NULL) */
} actlab_train_config;

actlab_train_config actlab_train_config_default(void);

typedef struct actlab_train_result {
    int epochs_done;
    int autoencoder;          /* losses are reconstruction MSE; there is no accuracy */
    double train_loss, train_acc, test_loss, test_acc, seconds;
} actlab_train_result;

/* Returns 0, or non-zero with a message (bad setting, unreadable data, NaN loss, ...). */
int actlab_train(const actlab_train_config *cfg, actlab_train_result *result, char *err, size_t errlen);

/* Evaluate a checkpoint on a data set's test split. */
int actlab_test_checkpoint(const char *checkpoint, const char *data, int64_t test_subset, int threads,
                           actlab_train_result *result, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
