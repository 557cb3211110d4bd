/*
 * actlab/checkpoint.h — a training run's state in one file, written
 * atomically, so that an interrupted run resumes bit-identically.
 *
 * Layout (little-endian): the 8-byte magic "ACTLABCK", a u32 format version,
 * a u32 CRC-32 of everything after the first 16 bytes, then the sections in
 * a fixed order, each a u64 byte length followed by its bytes: the run's
 * configuration (JSON text), the position (epoch, batch, step, seed), the
 * parameters (float32), and the optimiser state (opaque bytes from
 * actlab/optim.h). A wrong magic, an unknown version, a short file or a
 * CRC mismatch is refused with a message naming the file and what is wrong.
 */
#ifndef ACTLAB_CHECKPOINT_H
#define ACTLAB_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ACTLAB_CHECKPOINT_VERSION 1

typedef struct actlab_checkpoint {
    char *config_json;        /* every setting of the run (model, data, activation, optimiser...) */
    int64_t epoch;            /* the position to continue from: epoch and batch within it */
    int64_t batch;
    int64_t step;             /* optimiser steps taken (drives the schedule and the noise) */
    uint64_t seed;
    int64_t nparams;
    float *params;
    size_t optim_len;
    void *optim_state;
} actlab_checkpoint;

/* Write to path via path.tmp + fsync + rename: a crash leaves the old file or the new one. */
int actlab_checkpoint_save(const char *path, const actlab_checkpoint *c, char *err, size_t errlen);
/* Read and verify; on success the caller owns the buffers (actlab_checkpoint_free). */
int actlab_checkpoint_load(const char *path, actlab_checkpoint *c, char *err, size_t errlen);
void actlab_checkpoint_free(actlab_checkpoint *c);

#ifdef __cplusplus
}
#endif
#endif
