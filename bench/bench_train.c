/*
 * bench/bench_train.c — actlab's side of bench/run's training steps: images per second of
 * one training epoch, or of its first N batches (forward, softmax cross-entropy,
 * backward, SGD step), of a model on Fashion-MNIST's training split held in
 * memory or on synthetic data, fed by actlab's shuffling batch loader, and the
 * process's peak memory (max RSS).
 *
 *     bench_train --model mlp --batch 64 --threads 1 [--batches N |
 *                 --epochs-fraction F] [--warmup W] [--act relu] [--data D]
 *                 [--synthetic CxHxW [--classes K] [--images N]]
 *                 [--seed S] [--precision f32|bf16] [--tsv FILE]
 *
 * --precision bf16 runs the convolutions on bf16 inputs with f32 accumulation
 * (actlab_net_options.precision; needs AVX512-BF16).
 *
 * --synthetic 3x32x32 replaces --data by N images (default: batch x max(N
 * batches, W, 1)) of standard normal floats (already normalised: no channel
 * statistics are applied) and labels uniform in [0, K) (default K 10), made in
 * memory from the seed (splitmix64 + Box-Muller); nothing is read. It is the
 * shape that matters there, not what the network learns.
 *
 * The net is built with actlab_net_load (max_batch = batch), initialised from
 * the seed; SGD lr 0.01 momentum 0.9 over one group per parameter block, as
 * `actlab train` does. W warm-up batches (default 5) run first and are not
 * timed; then the epoch starts afresh (actlab_loader_start(l, 1, 0)) and its
 * batches (all, or the first N) are timed with omp_get_wtime. Max RSS is
 * getrusage(RUSAGE_SELF).ru_maxrss at the end (the train_torch.py side does
 * the same), with its value at the start (the program, no data) for context.
 *
 * Each timed step is also timed on its own: the TSV gives their median and minimum.
 *
 * The TSV (one header line, one row): side model batch threads batches images
 * seconds img_s max_rss_mb loss_first loss_last base_rss_mb act layout data
 * step_s_median step_s_min flops_per_image precision (layout: "actlab", the engine's
 * own choice; flops_per_image: the useful FLOPs of a training step per image, see
 * bench_common.h; precision: f32 or bf16).
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
#include "bench_common.h"

static void usage(FILE *f) {
    fprintf(f, "usage: bench_train [--model M] [--batch B] [--threads T] [--batches N | --epochs-fraction F]\n"
               "                   [--warmup W] [--act A] [--data D | --synthetic CxHxW [--classes K] [--images N]]\n"
               "                   [--seed S] [--precision f32|bf16] [--tsv FILE]\n");
}

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A uniform double in (0, 1). */
static double uniform01(uint64_t *s) { return ((double)(splitmix64(s) >> 11) + 0.5) * 0x1.0p-53; }

/* count images of c x h x w standard normal floats and labels uniform in [0, classes). */
static int synthetic(actlab_dataset *d, int64_t count, int c, int h, int w, int classes, uint64_t seed) {
    memset(d, 0, sizeof *d);
    size_t n = (size_t)count * (size_t)c * (size_t)h * (size_t)w;
    d->images = malloc(n * sizeof *d->images);
    d->labels = malloc((size_t)count * sizeof *d->labels);
    if (!d->images || !d->labels) {
        actlab_dataset_free(d);
        return -1;
    }
    uint64_t s = seed ^ 0x5EED5EED5EED5EEDull;
    for (size_t i = 0; i < n; i += 2) { /* Box-Muller: two normals per pair of uniforms */
        double r = sqrt(-2.0 * log(uniform01(&s))), t = 6.283185307179586 * uniform01(&s);
        d->images[i] = (float)(r * cos(t));
        if (i + 1 < n) d->images[i + 1] = (float)(r * sin(t));
    }
    for (int64_t i = 0; i < count; i++) d->labels[i] = (int32_t)(splitmix64(&s) % (uint64_t)classes);
    d->count = count, d->channels = c, d->height = h, d->width = w, d->classes = classes;
    snprintf(d->name, sizeof d->name, "synthetic");
    snprintf(d->source, sizeof d->source, "synthetic:%dx%dx%d", c, h, w);
    return 0;
}

static const char *need(int argc, char **argv, int i) {
    if (i + 1 >= argc) {
        fprintf(stderr, "bench_train: %s needs a value\n", argv[i]);
        exit(2);
    }
    return argv[i + 1];
}

int main(int argc, char **argv) {
    const char *model = "mlp", *act = "relu", *data = "fashion-mnist", *tsv = NULL, *synth = NULL, *precision = "f32";
    int batch = 64, threads = 1, warmup = 5, classes = 10;
    int64_t batches = 0, images_wanted = 0;
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
        else if (!strcmp(a, "--synthetic")) synth = need(argc, argv, i), i++;
        else if (!strcmp(a, "--classes")) classes = atoi(need(argc, argv, i)), i++;
        else if (!strcmp(a, "--images")) images_wanted = strtoll(need(argc, argv, i), NULL, 10), i++;
        else if (!strcmp(a, "--seed")) seed = strtoull(need(argc, argv, i), NULL, 10), i++;
        else if (!strcmp(a, "--tsv")) tsv = need(argc, argv, i), i++;
        else if (!strcmp(a, "--precision")) precision = need(argc, argv, i), i++;
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
    if (strcmp(precision, "f32") && strcmp(precision, "bf16")) {
        fprintf(stderr, "bench_train: --precision expects f32 or bf16, got '%s'\n", precision);
        return 2;
    }
    int sc = 0, sh = 0, sw = 0;
    if (synth) {
        char tail = 0;
        if (sscanf(synth, "%dx%dx%d%c", &sc, &sh, &sw, &tail) != 3 || sc < 1 || sh < 1 || sw < 1 || classes < 2 ||
            images_wanted < 0) {
            fprintf(stderr, "bench_train: --synthetic takes CxHxW (e.g. 3x32x32), --classes at least 2\n");
            return 2;
        }
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double base_rss_mb = (double)ru.ru_maxrss / 1024.0; /* the program before any data */
    omp_set_num_threads(threads);

    char err[1024];
    actlab_dataset train;
    if (synth) {
        int64_t most = batches > warmup ? batches : warmup;
        int64_t count = images_wanted ? images_wanted : (int64_t)batch * (most > 1 ? most : 1);
        if (synthetic(&train, count, sc, sh, sw, classes, seed)) {
            fprintf(stderr, "bench_train: out of memory for %" PRId64 " synthetic images\n", count);
            return 1;
        }
    } else {
        if (actlab_data_open(data, &train, NULL, err, sizeof err)) {
            fprintf(stderr, "bench_train: %s\n", err);
            return 1;
        }
        double mean[8], sd[8];
        actlab_dataset_channel_stats(&train, mean, sd);
        actlab_dataset_normalise(&train, mean, sd);
    }

    char path[1024];
    if (strchr(model, '/') || strstr(model, ".cfg")) snprintf(path, sizeof path, "%s", model);
    else snprintf(path, sizeof path, "models/%s.cfg", model);
    actlab_net_options o = actlab_net_options_default();
    o.channels = train.channels, o.height = train.height, o.width = train.width, o.classes = train.classes;
    o.max_batch = batch;
    o.act = act;
    o.precision = strcmp(precision, "bf16") ? ACTLAB_PRECISION_F32 : ACTLAB_PRECISION_BF16;
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
    double *steps = malloc((size_t)timed * sizeof *steps);
    if (!steps) {
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
    actlab_loader_start(l, 1, 0);
    double t0 = omp_get_wtime();
    while (done < timed && actlab_loader_next(l, &x, &y, &n) == 1) {
        double ts = omp_get_wtime();
        STEP(loss);
        steps[done] = omp_get_wtime() - ts;
        if (done == 0) loss_first = loss;
        loss_last = loss;
        images += n, done++;
    }
    double seconds = omp_get_wtime() - t0;
#undef STEP
    double step_med = done ? bench_median(steps, (int)done) : NAN; /* sorts steps */
    double step_min = done ? steps[0] : NAN;
    free(steps);

    getrusage(RUSAGE_SELF, &ru);
    double rss_mb = (double)ru.ru_maxrss / 1024.0; /* ru_maxrss is in KiB on Linux */
    double img_s = (double)images / seconds;
    printf("actlab %s %s %s batch %d threads %d (%s): %" PRId64 "/%" PRId64 " batches, %" PRId64
           " images in %.3f s = %.1f img/s (step median %.3f s); max RSS %.1f MB (%.1f before the data); "
           "loss %.4f -> %.4f\n",
           model, act, precision, batch, threads, synth ? train.source : train.name, done, nb, images, seconds, img_s, step_med,
           rss_mb, base_rss_mb, loss_first, loss_last);
    if (tsv) {
        char tmp[1100];
        snprintf(tmp, sizeof tmp, "%s.tmp", tsv);
        FILE *f = fopen(tmp, "w");
        if (!f) {
            perror(tmp);
            return 1;
        }
        fprintf(f, "side\tmodel\tbatch\tthreads\tbatches\timages\tseconds\timg_s\tmax_rss_mb\tloss_first\tloss_last"
                   "\tbase_rss_mb\tact\tlayout\tdata\tstep_s_median\tstep_s_min\tflops_per_image\tprecision\n");
        fprintf(f, "actlab\t%s\t%d\t%d\t%" PRId64 "\t%" PRId64 "\t%.4f\t%.2f\t%.1f\t%.4f\t%.4f\t%.1f\t%s\tactlab\t%s"
                   "\t%.4f\t%.4f\t%.6g\t%s\n",
                model, batch, threads, done, images, seconds, img_s, rss_mb, loss_first, loss_last, base_rss_mb, act,
                synth ? train.source : train.name, step_med, step_min, bench_step_flops_per_image(net), precision);
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
    actlab_loader_free(l); /* stops its thread, which would otherwise read freed data while the process exits */
    actlab_optim_free(opt);
    actlab_net_free(net);
    actlab_dataset_free(&train);
    return 1;
}
