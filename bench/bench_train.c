/*
 * bench/bench_train.c — actlab's side of bench/run-train: images per second of
 * one training epoch (forward, softmax cross-entropy, backward, SGD step) of a
 * model on Fashion-MNIST's training split held in memory, fed by actlab's
 * shuffling batch loader, and the process's peak memory (max RSS).
 *
 *     bench_train --model mlp --batch 64 --threads 1 [--batches N |
 *                 --epochs-fraction F] [--warmup W] [--act relu] [--data D]
 *                 [--seed S] [--tsv FILE]
 *
 * The net is built with actlab_net_load (max_batch = batch), initialised from
 * the seed; SGD lr 0.01 momentum 0.9 over one group per parameter block, as
 * `actlab train` does. W warm-up batches (default 5) run first and are not
 * timed; then the epoch starts afresh (actlab_loader_start(l, 1, 0)) and its
 * batches (all, or the first N) are timed with omp_get_wtime. Max RSS is
 * getrusage(RUSAGE_SELF).ru_maxrss at the end (the train_torch.py side does
 * the same), with its value at the start (the program, no data) for context.
 *
 * The TSV (one header line, one row): side model batch threads batches images
 * seconds img_s max_rss_mb loss_first loss_last base_rss_mb.
 */
#include <inttypes.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "actlab/data.h"
#include "actlab/net.h"
#include "actlab/optim.h"

static void usage(FILE *f) {
    fprintf(f, "usage: bench_train [--model M] [--batch B] [--threads T] [--batches N | --epochs-fraction F]\n"
               "                   [--warmup W] [--act A] [--data D] [--seed S] [--tsv FILE]\n");
}

static const char *need(int argc, char **argv, int i) {
    if (i + 1 >= argc) {
        fprintf(stderr, "bench_train: %s needs a value\n", argv[i]);
        exit(2);
    }
    return argv[i + 1];
}

int main(int argc, char **argv) {
    const char *model = "mlp", *act = "relu", *data = "fashion-mnist", *tsv = NULL;
    int batch = 64, threads = 1, warmup = 5;
    int64_t batches = 0;
    double fraction = 1.0;
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--model")) model = need(argc, argv, i), i++;
        else if (!strcmp(a, "--batch")) batch = atoi(need(argc, argv, i)), i++;
        else if (!strcmp(a, "--threads")) threads = atoi(need(argc, argv, i)), i++;
        else if (!strcmp(a, "--batches")) batches = strtoll(need(argc, argv, i), NULL, 10), i++;
        else if (!strcmp(a, "--epochs-fraction")) fraction = atof(need(argc, argv, i)), i++;
        else if (!strcmp(a, "--warmup")) warmup = atoi(need(argc, argv, i)), i++;
        else if (!strcmp(a, "--act")) act = need(argc, argv, i), i++;
        else if (!strcmp(a, "--data")) data = need(argc, argv, i), i++;
        else if (!strcmp(a, "--seed")) seed = strtoull(need(argc, argv, i), NULL, 10), i++;
        else if (!strcmp(a, "--tsv")) tsv = need(argc, argv, i), i++;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout), 0;
        else {
            fprintf(stderr, "bench_train: unknown argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (batch < 1 || threads < 1 || warmup < 0 || batches < 0 || !(fraction > 0 && fraction <= 1)) {
        fprintf(stderr, "bench_train: bad --batch, --threads, --warmup, --batches or --epochs-fraction\n");
        return 2;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double base_rss_mb = (double)ru.ru_maxrss / 1024.0; /* the program before any data */
    omp_set_num_threads(threads);

    char err[1024];
    actlab_dataset train;
    if (actlab_data_open(data, &train, NULL, err, sizeof err)) {
        fprintf(stderr, "bench_train: %s\n", err);
        return 1;
    }
    double mean[8], sd[8];
    actlab_dataset_channel_stats(&train, mean, sd);
    actlab_dataset_normalise(&train, mean, sd);

    char path[1024];
    if (strchr(model, '/') || strstr(model, ".cfg")) snprintf(path, sizeof path, "%s", model);
    else snprintf(path, sizeof path, "models/%s.cfg", model);
    actlab_net_options o = actlab_net_options_default();
    o.channels = train.channels, o.height = train.height, o.width = train.width, o.classes = train.classes;
    o.max_batch = batch;
    o.act = act;
    actlab_net *net = actlab_net_load(path, &o, err, sizeof err);
    if (!net) {
        fprintf(stderr, "bench_train: %s\n", err);
        return 1;
    }
    actlab_net_init(net, seed);

    int nblocks = actlab_net_param_blocks(net);
    actlab_param_group *groups = calloc((size_t)(nblocks ? nblocks : 1), sizeof *groups);
    for (int i = 0; i < nblocks; i++) {
        actlab_net_param_block b = actlab_net_param_block_at(net, i);
        groups[i].w = actlab_net_params(net) + b.offset;
        groups[i].g = actlab_net_grads(net) + b.offset;
        groups[i].n = b.n;
        groups[i].decay_mult = b.decay ? 1.0f : 0.0f;
        groups[i].name = b.name;
    }
    actlab_optim_config oc = actlab_optim_config_default(ACTLAB_OPTIM_SGD);
    oc.lr = 0.01, oc.momentum = 0.9;
    actlab_optim *opt = actlab_optim_new(&oc, groups, nblocks, err, sizeof err);
    free(groups);
    if (!opt) {
        fprintf(stderr, "bench_train: %s\n", err);
        return 1;
    }

    actlab_loader *l = actlab_loader_new(&train, batch, 1, 0, seed, err, sizeof err);
    if (!l) {
        fprintf(stderr, "bench_train: %s\n", err);
        return 1;
    }
    int64_t nb = actlab_loader_batches(l);
    int64_t timed = batches ? (batches < nb ? batches : nb) : (int64_t)ceil(fraction * (double)nb);
    if (timed < 1) timed = 1;

    const float *x;
    const int32_t *y;
    int n;
    uint64_t step = 0;
#define STEP(lossvar)                                                                                        \
    do {                                                                                                     \
        int ok_;                                                                                             \
        if (actlab_net_forward(net, x, n, 1, step, err, sizeof err)) goto fail;                              \
        lossvar = actlab_net_loss(net, y, n, &ok_);                                                          \
        if (actlab_net_backward(net, n, err, sizeof err)) goto fail;                                         \
        if (actlab_optim_step(opt, 0.01)) {                                                                  \
            snprintf(err, sizeof err, "optimiser step failed");                                              \
            goto fail;                                                                                       \
        }                                                                                                    \
        step++;                                                                                              \
    } while (0)

    /* warm-up: not timed (first touches of buffers, oneDNN primitive creation) */
    double loss = 0;
    actlab_loader_start(l, 0, 0);
    for (int w = 0; w < warmup && actlab_loader_next(l, &x, &y, &n) == 1; w++) STEP(loss);

    /* the timed epoch: a fresh shuffled order, batches from the loader */
    double loss_first = NAN, loss_last = NAN;
    int64_t images = 0, done = 0;
    actlab_loader_start(l, 1, 0);
    double t0 = omp_get_wtime();
    while (done < timed && actlab_loader_next(l, &x, &y, &n) == 1) {
        STEP(loss);
        if (done == 0) loss_first = loss;
        loss_last = loss;
        images += n, done++;
    }
    double seconds = omp_get_wtime() - t0;
#undef STEP

    getrusage(RUSAGE_SELF, &ru);
    double rss_mb = (double)ru.ru_maxrss / 1024.0; /* ru_maxrss is in KiB on Linux */
    double img_s = (double)images / seconds;
    printf("actlab %s batch %d threads %d: %" PRId64 "/%" PRId64 " batches, %" PRId64
           " images in %.3f s = %.0f img/s; max RSS %.1f MB (%.1f before the data); loss %.4f -> %.4f\n",
           model, batch, threads, done, nb, images, seconds, img_s, rss_mb, base_rss_mb, loss_first, loss_last);
    if (tsv) {
        char tmp[1100];
        snprintf(tmp, sizeof tmp, "%s.tmp", tsv);
        FILE *f = fopen(tmp, "w");
        if (!f) {
            perror(tmp);
            return 1;
        }
        fprintf(f, "side\tmodel\tbatch\tthreads\tbatches\timages\tseconds\timg_s\tmax_rss_mb\tloss_first\tloss_last\tbase_rss_mb\n");
        fprintf(f, "actlab\t%s\t%d\t%d\t%" PRId64 "\t%" PRId64 "\t%.4f\t%.1f\t%.1f\t%.4f\t%.4f\t%.1f\n", model,
                batch, threads, done, images, seconds, img_s, rss_mb, loss_first, loss_last, base_rss_mb);
        if (fclose(f) || rename(tmp, tsv)) {
            perror(tsv);
            return 1;
        }
    }
    actlab_loader_free(l);
    actlab_optim_free(opt);
    actlab_net_free(net);
    actlab_dataset_free(&train);
    return 0;
fail:
    fprintf(stderr, "bench_train: %s\n", err);
    return 1;
}
