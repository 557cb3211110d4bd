/*
 * actlab/compare.h — a comparison grid: every activation function trained on
 * every model and data set with several seeds, one `actlab train` run folder
 * per cell, paired by seed (the same seed gives every function the same
 * initial weights, with ReLU's init gain, and the same data order):
 *
 *     OUT/compare.json   the grid: "acts" [{"spec" (as given), "slug" (its folder), "full" (every
 *                        parameter)}], "models" [{"spec", "slug", "path"}], "data" [{"spec",
 *                        "slug"}], "seeds", "seed_base", "baseline" (a spec as given), "targets",
 *                        "train" (the shared settings; null: the model file's or the default),
 *                        "actlab_version"
 *     OUT/cells/<data>/<model>/<act>/seed-<S>/
 *                        config.json, metrics.jsonl, final.json, last.ckpt (actlab/train.h),
 *                        status.json {"state": "done"|"failed"|"running", "error", "seconds", ...},
 *                        train.log (the run's per-epoch lines, appended)
 *
 * A rerun into the same OUT skips cells that are done, resumes interrupted
 * ones from their checkpoint, and leaves failed ones failed (retry_failed
 * runs them again). It may add activations, models, data sets and seeds; a
 * grid that drops any of them or changes a shared setting is refused.
 */
#ifndef ACTLAB_COMPARE_H
#define ACTLAB_COMPARE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "actlab/train.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct actlab_compare_config {
    const char *const *acts;        /* function specs as given ("leaky_relu:a=0.01", "expr:...") */
    int nacts;
    const char *const *models;      /* model names as given ("lenet") */
    const char *const *model_paths; /* their files */
    int nmodels;
    const char *const *data;        /* data set specs */
    int ndata;
    int seeds;                      /* seeds seed_base, seed_base + 1, ... */
    uint64_t seed_base;
    const char *baseline;           /* one of acts; NULL: acts[0] */
    const double *targets;          /* accuracies each cell's final.json says when it reached (train.h) */
    int ntargets;
    int retry_failed;               /* run failed cells again */
    /* Settings shared by every cell (model, data, act, seed, out, resume, relu_gain,
     * progress and log are set per cell); stop_after (tests) stops the whole grid as if
     * it were killed in the first cell that trains. */
    actlab_train_config train;
    const char *out;
    FILE *log;                      /* one line per cell; NULL: silent */
} actlab_compare_config;

typedef struct actlab_compare_summary {
    int cells, done, failed;
    int trained, resumed, skipped;  /* of this invocation */
    int stopped;                    /* stopped by train.stop_after: the cell stays resumable */
} actlab_compare_summary;

/* Splits an --acts list into specs: commas separate items, except that a piece that
 * looks like "key=value" (an identifier, '=', no ':') continues the previous item's
 * parameters ("softplus:beta=2,threshold=10,elu" is two items), and an "expr:" item
 * takes the rest of the text (formulas have commas). *items is malloc'd, each string too. */
int actlab_compare_split_acts(const char *text, char ***items, int *n, char *err, size_t errlen);
void actlab_compare_free_list(char **items, int n);

/* Checks the grid, writes OUT/compare.json, then runs every cell. Returns 0 when the
 * grid ran (cells may have failed: see summary), -1 with a message when it could not
 * start (bad grid, a different grid in OUT, a folder that cannot be written). */
int actlab_compare_run(const actlab_compare_config *c, actlab_compare_summary *summary, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
