/*
 * loader.c — batches for training: the per-epoch shuffle and a prefetching
 * loader thread.
 *
 * The order of epoch e is a Fisher-Yates shuffle whose draws are splitmix64
 * outputs of (seed, e, position): a pure function, so a run resumed at
 * (epoch, batch) sees the same batches as one that never stopped.
 *
 * One plain pthread (no OpenMP: it must not compete with the compute threads'
 * team) gathers batch b into slot b % 2, augmenting each image when asked
 * (augment.c: draws of (seed, epoch, index)), while the caller trains on the other
 * slot. Slot states are guarded by one mutex; the thread sleeps on `work` when
 * there is nothing to fill, the caller sleeps on `done` while its batch is not
 * ready. A slot is `ready` from the moment it is filled until the caller
 * releases it (by asking for the next batch), so the thread never overwrites
 * a batch the caller still holds.
 */
#define _DEFAULT_SOURCE /* POSIX and Linux calls (stat, pthread_sigmask, madvise) even under -std=c11 */
#include "util/error.h"
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "actlab/data.h"


/* ---- the shuffle ---- */

static inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

__extension__ typedef unsigned __int128 u128; /* GCC and Clang on 64-bit targets */

void actlab_data_permutation(int64_t *out, int64_t n, uint64_t seed, int64_t epoch) {
    for (int64_t i = 0; i < n; i++) out[i] = i;
    /* splitmix64's stream from a key of (seed, epoch); mixing the epoch separately
     * keeps different (seed, epoch) pairs from sharing a stream */
    uint64_t key = mix64(mix64(seed ^ 0x6a09e667f3bcc909ull) + mix64((uint64_t)epoch + 0x9e3779b97f4a7c15ull));
    for (int64_t i = n - 1; i > 0; i--) {
        uint64_t r = mix64(key + (uint64_t)i * 0x9e3779b97f4a7c15ull);
        /* j uniform in [0, i] by multiply-shift (Lemire): bias below n / 2^64 */
        int64_t j = (int64_t)(((u128)r * (uint64_t)(i + 1)) >> 64);
        int64_t t = out[i];
        out[i] = out[j];
        out[j] = t;
    }
}

/* ---- the loader ---- */

typedef struct slot {
    float *x;
    int32_t *y;
    int n;
    int ready; /* filled, and not yet released by the caller */
} slot;

struct actlab_loader {
    const actlab_dataset *d;
    int batch, shuffle;
    uint64_t seed;
    int64_t nbatches;
    size_t sample; /* floats per image */
    int64_t *perm; /* this epoch's order; changed only while the thread is idle */
    int64_t epoch; /* the epoch being gathered; changed with perm */
    actlab_augment aug; /* changed only while the thread is idle; aug.fill points at fill */
    float *fill;
    slot slot[2];

    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work; /* to the thread: a slot was released, an epoch began, or quit */
    pthread_cond_t done; /* to the caller: a slot was filled, or the thread went idle */
    int64_t fill_next;   /* next batch the thread fills */
    int64_t take_next;   /* next batch the caller takes */
    int64_t end;         /* batches in the current epoch (0 before the first start) */
    int held;            /* slot the caller holds, -1 for none */
    int busy;            /* the thread is gathering outside the lock */
    int quit;
};

static void gather(actlab_loader *l, int64_t b, slot *s) {
    const actlab_dataset *d = l->d;
    int64_t first = b * l->batch, n = d->count - first;
    if (n > l->batch) n = l->batch;
    int augment = l->aug.pad > 0 || l->aug.flip;
    for (int64_t i = 0; i < n; i++) {
        int64_t k = l->perm[first + i];
        const float *src = d->images + (size_t)k * l->sample;
        float *dst = s->x + (size_t)i * l->sample;
        if (augment) { /* keyed by the image's index k, not its place in the batch */
            actlab_augment_draw draw = actlab_augment_draw_for(&l->aug, l->seed, l->epoch, k);
            actlab_augment_apply(&l->aug, &draw, dst, src, d->channels, d->height, d->width);
        } else {
            memcpy(dst, src, l->sample * sizeof(float));
        }
        s->y[i] = d->labels[k];
    }
    s->n = (int)n;
}

static void *loader_main(void *arg) {
    actlab_loader *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->quit && !(l->fill_next < l->end && !l->slot[l->fill_next & 1].ready))
            pthread_cond_wait(&l->work, &l->mu);
        if (l->quit) break;
        int64_t b = l->fill_next;
        slot *s = &l->slot[b & 1];
        l->busy = 1;
        pthread_mutex_unlock(&l->mu);
        gather(l, b, s);
        pthread_mutex_lock(&l->mu);
        l->busy = 0;
        s->ready = 1;
        l->fill_next = b + 1;
        pthread_cond_broadcast(&l->done);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

static void free_buffers(actlab_loader *l) {
    for (int i = 0; i < 2; i++) {
        free(l->slot[i].x);
        free(l->slot[i].y);
    }
    free(l->perm);
    free(l->fill);
    free(l);
}

actlab_loader *actlab_loader_new(const actlab_dataset *d, int batch, int shuffle, int drop_last, uint64_t seed,
                                 char *err, size_t errlen) {
    if (!d || d->count < 1 || !d->images || !d->labels) {
        actlab_errorf(err, errlen, "loader: the data set is empty");
        return NULL;
    }
    if (batch < 1) {
        actlab_errorf(err, errlen, "loader: batch size must be at least 1, got %d", batch);
        return NULL;
    }
    if (drop_last && d->count < batch) {
        actlab_errorf(err, errlen, "loader: %s has %lld images, fewer than one batch of %d (and the partial batch is dropped)",
             d->source[0] ? d->source : "the data set", (long long)d->count, batch);
        return NULL;
    }
    actlab_loader *l = calloc(1, sizeof *l);
    if (!l) {
        actlab_errorf(err, errlen, "loader: out of memory");
        return NULL;
    }
    l->d = d;
    l->batch = batch;
    l->shuffle = shuffle;
    l->seed = seed;
    l->nbatches = drop_last ? d->count / batch : (d->count + batch - 1) / batch;
    l->sample = (size_t)d->channels * d->height * d->width;
    l->held = -1;
    l->perm = malloc((size_t)d->count * sizeof *l->perm);
    int ok = l->perm != NULL;
    for (int i = 0; i < 2 && ok; i++) {
        l->slot[i].x = malloc((size_t)batch * l->sample * sizeof(float));
        l->slot[i].y = malloc((size_t)batch * sizeof(int32_t));
        ok = l->slot[i].x && l->slot[i].y;
    }
    if (!ok) {
        actlab_errorf(err, errlen, "loader: out of memory for two batches of %d images of %zu values", batch, l->sample);
        free_buffers(l);
        return NULL;
    }
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->work, NULL);
    pthread_cond_init(&l->done, NULL);
    /* signals go to the caller's threads (a Ctrl-C handler that checkpoints), never to this one */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&l->thread, NULL, loader_main, l);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        actlab_errorf(err, errlen, "loader: cannot start the loader thread: %s", strerror(rc));
        pthread_cond_destroy(&l->done);
        pthread_cond_destroy(&l->work);
        pthread_mutex_destroy(&l->mu);
        free_buffers(l);
        return NULL;
    }
    return l;
}

int actlab_loader_start(actlab_loader *l, int64_t epoch, int64_t first_batch) {
    if (epoch < 0 || first_batch < 0 || first_batch > l->nbatches) return -1;
    pthread_mutex_lock(&l->mu);
    /* stop the current epoch where it is, and wait for a gather in flight: the
     * permutation and the slots may change only while the thread is idle */
    l->end = 0;
    while (l->busy) pthread_cond_wait(&l->done, &l->mu);
    l->epoch = epoch;
    if (l->shuffle) actlab_data_permutation(l->perm, l->d->count, l->seed, epoch);
    else
        for (int64_t i = 0; i < l->d->count; i++) l->perm[i] = i;
    l->slot[0].ready = l->slot[1].ready = 0;
    l->held = -1;
    l->fill_next = l->take_next = first_batch;
    l->end = l->nbatches;
    pthread_cond_signal(&l->work);
    pthread_mutex_unlock(&l->mu);
    return 0;
}

int actlab_loader_next(actlab_loader *l, const float **x, const int32_t **y, int *n) {
    pthread_mutex_lock(&l->mu);
    if (l->held >= 0) { /* the caller is done with the previous batch: its slot may be refilled */
        l->slot[l->held].ready = 0;
        l->held = -1;
        pthread_cond_signal(&l->work);
    }
    if (l->take_next >= l->end) {
        pthread_mutex_unlock(&l->mu);
        *x = NULL;
        *y = NULL;
        *n = 0;
        return 0;
    }
    int s = (int)(l->take_next & 1);
    while (!l->slot[s].ready) pthread_cond_wait(&l->done, &l->mu);
    l->held = s;
    l->take_next++;
    pthread_mutex_unlock(&l->mu);
    *x = l->slot[s].x;
    *y = l->slot[s].y;
    *n = l->slot[s].n;
    return 1;
}

int64_t actlab_loader_batches(const actlab_loader *l) { return l->nbatches; }

int actlab_loader_set_augment(actlab_loader *l, const actlab_augment *a, char *err, size_t errlen) {
    if (a && (a->pad < 0 || a->pad > 65536))
        return actlab_errorf(err, errlen, "loader: the crop padding must be in [0, 65536], got %d", a->pad);
    float *fill = NULL;
    if (a && a->pad > 0 && a->fill) {
        fill = malloc((size_t)l->d->channels * sizeof *fill);
        if (!fill) return actlab_errorf(err, errlen, "loader: out of memory");
        memcpy(fill, a->fill, (size_t)l->d->channels * sizeof *fill);
    }
    pthread_mutex_lock(&l->mu);
    /* as in start: stop the epoch and wait for a gather in flight before changing what it reads */
    l->end = 0;
    while (l->busy) pthread_cond_wait(&l->done, &l->mu);
    l->slot[0].ready = l->slot[1].ready = 0;
    l->held = -1;
    free(l->fill);
    l->fill = fill;
    memset(&l->aug, 0, sizeof l->aug);
    if (a) l->aug.pad = a->pad, l->aug.flip = a->flip != 0, l->aug.fill = fill;
    pthread_mutex_unlock(&l->mu);
    return 0;
}

void actlab_loader_free(actlab_loader *l) {
    if (!l) return;
    pthread_mutex_lock(&l->mu);
    l->quit = 1;
    pthread_cond_signal(&l->work);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
    pthread_cond_destroy(&l->done);
    pthread_cond_destroy(&l->work);
    pthread_mutex_destroy(&l->mu);
    free_buffers(l);
}
