/*
 * train.c — one training run (see actlab/train.h): data, net, optimiser and
 * schedule set up from the configuration; then epochs of forward, loss,
 * backward and optimiser step over prefetched batches; an evaluation on the
 * test split (and the validation split), a metrics record and a checkpoint
 * after each epoch; the final record by class at the end.
 *
 * Everything random is a function of the seed and a counter (initial weights
 * of (seed, layer), data order of (seed, epoch), augmentation of (seed, epoch,
 * image), dropout and activation noise of (seed, layer, step), the validation
 * split of (val_seed, class)), so a run resumed from the checkpoint of epoch k
 * replays the rest exactly.
 */
#include "util/error.h"
#include "actlab/train.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actlab/act.h"
#include "actlab/checkpoint.h"
#include "actlab/data.h"
#include "actlab/net.h"
#include "actlab/optim.h"
#include "backend/dnnl_backend.h" /* nn_dnnl_bf16_check */

#ifndef ACTLAB_VERSION
#define ACTLAB_VERSION "0.1.0"
#endif

actlab_train_config actlab_train_config_default(void) {
    actlab_train_config c;
    memset(&c, 0, sizeof c);
    c.model = "models/lenet.cfg";
    c.data = "fashion-mnist";
    c.act = "relu";
    /* left unset: a flag, else the model file's [net], else the built-in default decides */
    c.lr = c.momentum = c.weight_decay = NAN;
    c.nesterov = -1;
    c.seed = 1;
    c.out = "runs/run";
    c.probe = 1024;
    return c;
}




/* Everything a run needs while it trains. */
typedef struct run {
    const actlab_train_config *cfg;
    actlab_dataset train, val, test; /* val: empty without --val-split */
    double mean[16], std[16];
    actlab_augment aug;
    float fill[16]; /* aug.fill: the normalised value of a black pixel */
    actlab_net *net;
    actlab_optim *optim;
    actlab_schedule schedule;
    actlab_loader *loader;
    char act_spec[512];
    cJSON *config;
    FILE *log;
    /* measurements (see add_measurements) */
    float *probe_x;                  /* the probe images, [probe_n][c][h][w] */
    int64_t probe_n;
    actlab_probe_stats *probe;       /* per activation layer */
    double *grad_norm;               /* per parameter block: the sum of its gradient norm over the epoch's steps */
} run;

static void run_free(run *r) {
    free(r->probe_x);
    free(r->probe);
    free(r->grad_norm);
    actlab_loader_free(r->loader);
    actlab_optim_free(r->optim);
    actlab_net_free(r->net);
    actlab_dataset_free(&r->train);
    actlab_dataset_free(&r->val);
    actlab_dataset_free(&r->test);
    cJSON_Delete(r->config);
}

/* Loss, top-1 and top-5 accuracy over a whole split, in evaluation mode, in batches
 * (never augmented); with `confusion`, also its counts [true class][predicted class],
 * added to what it holds. top5 is NAN for 5 classes or fewer. */
static int evaluate(actlab_net *net, const actlab_dataset *d, int batch, double *loss, double *acc, double *top5,
                    int64_t *confusion, char *err, size_t errlen) {
    double total = 0;
    int64_t correct = 0, correct5 = 0;
    int autoencoder = actlab_net_is_autoencoder(net);
    size_t per = (size_t)d->channels * d->height * d->width;
    for (int64_t i = 0; i < d->count; i += batch) {
        int n = (int)(d->count - i < batch ? d->count - i : batch), ok = 0;
        const float *x = d->images + i * per;
        if (actlab_net_forward(net, x, n, 0, 0, err, errlen)) return -1;
        /* an autoencoder's loss is its reconstruction error; it has no accuracy */
        total += (autoencoder ? actlab_net_loss_mse(net, x, n) : actlab_net_loss(net, d->labels + i, n, &ok)) * n;
        correct += ok;
        if (autoencoder) continue;
        int K;
        const float *z = actlab_net_output(net, &K);
        if (K != d->classes) return actlab_errorf(err, errlen, "the net has %d outputs for %d classes", K, d->classes);
        for (int s = 0; s < n; s++, z += K) {
            /* the label's rank with ties going to the lower class, as the loss's argmax:
             * rank 0 is exactly a top-1 hit */
            int y = d->labels[i + s], rank = 0, arg = 0;
            for (int k = 0; k < K; k++) {
                rank += z[k] > z[y] || (k < y && z[k] == z[y]);
                if (z[k] > z[arg]) arg = k;
            }
            correct5 += rank < 5;
            if (confusion) confusion[(size_t)y * K + arg]++;
        }
    }
    *loss = total / (double)d->count;
    *acc = (double)correct / (double)d->count;
    if (top5) *top5 = !autoencoder && d->classes > 5 ? (double)correct5 / (double)d->count : NAN;
    return 0;
}

/* Class names of the data sets whose labels have fixed names (actlab_dataset carries
 * none); label numbers otherwise. */
static void class_names(const actlab_dataset *d, char (*names)[32]) {
    static const struct {
        const char *data;
        int classes;
        const char *names[10];
    } known[] = {
        {"fashion-mnist", 10, {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}},
        {"cifar10", 10, {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}},
        {"fer2013", 7, {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}},
    };
    int which = -1;
    for (int i = 0; i < (int)(sizeof known / sizeof known[0]); i++)
        if (!strcmp(d->name, known[i].data) && d->classes == known[i].classes) which = i;
    for (int k = 0; k < d->classes; k++) {
        if (which >= 0) snprintf(names[k], sizeof names[k], "%s", known[which].names[k]);
        else snprintf(names[k], sizeof names[k], "%d", k);
    }
}

void actlab_class_report_free(actlab_class_report *r) {
    if (!r) return;
    free(r->confusion);
    free(r->names);
    memset(r, 0, sizeof *r);
}

/* A split's per-class results from its confusion matrix, into o: "classes",
 * "test_class_count", "test_class_correct", "test_class_acc" and "confusion". */
static void add_by_class(cJSON *o, const actlab_class_report *rep) {
    int K = rep->classes;
    cJSON *names = cJSON_AddArrayToObject(o, "classes"), *count = cJSON_AddArrayToObject(o, "test_class_count");
    cJSON *right = cJSON_AddArrayToObject(o, "test_class_correct"), *acc = cJSON_AddArrayToObject(o, "test_class_acc");
    cJSON *conf = cJSON_AddArrayToObject(o, "confusion");
    for (int t = 0; t < K; t++) {
        const int64_t *row = rep->confusion + (size_t)t * K;
        int64_t n = 0;
        cJSON *r = cJSON_CreateArray();
        for (int p = 0; p < K; p++) n += row[p], cJSON_AddItemToArray(r, cJSON_CreateNumber((double)row[p]));
        cJSON_AddItemToArray(conf, r);
        cJSON_AddItemToArray(names, cJSON_CreateString(rep->names[t]));
        cJSON_AddItemToArray(count, cJSON_CreateNumber((double)n));
        cJSON_AddItemToArray(right, cJSON_CreateNumber((double)row[t]));
        cJSON_AddItemToArray(acc, n ? cJSON_CreateNumber((double)row[t] / (double)n) : cJSON_CreateNull());
    }
}

/* The run's settings as JSON: what config.json holds and what a resume must match. */
static cJSON *config_json(const run *r, int threads) {
    const actlab_train_config *c = r->cfg;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "actlab_version", ACTLAB_VERSION);
    cJSON_AddStringToObject(o, "model", c->model);
    cJSON_AddStringToObject(o, "data", c->data);
    cJSON_AddStringToObject(o, "data_name", r->train.name);
    cJSON_AddStringToObject(o, "data_source", r->train.source);
    cJSON_AddNumberToObject(o, "train_images", (double)r->train.count);
    cJSON_AddNumberToObject(o, "test_images", (double)r->test.count);
    cJSON *mean = cJSON_AddArrayToObject(o, "normalise_mean"), *sd = cJSON_AddArrayToObject(o, "normalise_std");
    for (int ch = 0; ch < r->train.channels; ch++) {
        cJSON_AddItemToArray(mean, cJSON_CreateNumber(r->mean[ch]));
        cJSON_AddItemToArray(sd, cJSON_CreateNumber(r->std[ch]));
    }
    cJSON_AddStringToObject(o, "act", r->act_spec);
    cJSON_AddBoolToObject(o, "act_per_channel", c->act_per_channel);
    cJSON_AddStringToObject(o, "init_gain", c->relu_gain ? "relu" : "act");
    cJSON_AddStringToObject(o, "precision", c->precision ? c->precision : "f32");
    cJSON_AddStringToObject(o, "optim", c->optim);
    cJSON_AddNumberToObject(o, "lr", c->lr);
    cJSON_AddNumberToObject(o, "momentum", c->momentum);
    cJSON_AddBoolToObject(o, "nesterov", c->nesterov);
    cJSON_AddNumberToObject(o, "weight_decay", c->weight_decay);
    cJSON_AddNumberToObject(o, "act_weight_decay", c->act_weight_decay);
    char text[512];
    actlab_schedule_describe(&r->schedule, text, sizeof text);
    cJSON_AddStringToObject(o, "schedule", text);
    actlab_optim_describe(actlab_optim_get_config(r->optim), text, sizeof text);
    cJSON_AddStringToObject(o, "optimiser", text);
    cJSON_AddNumberToObject(o, "epochs", c->epochs);
    cJSON_AddNumberToObject(o, "batch", c->batch);
    cJSON_AddNumberToObject(o, "seed", (double)c->seed);
    cJSON_AddNumberToObject(o, "threads", threads);
    cJSON_AddNumberToObject(o, "train_subset", (double)c->train_subset);
    cJSON_AddNumberToObject(o, "test_subset", (double)c->test_subset);
    char aug[32];
    actlab_augment_describe(&r->aug, aug, sizeof aug);
    cJSON_AddStringToObject(o, "augment", aug);
    cJSON_AddNumberToObject(o, "crop_pad", r->aug.pad);
    if (r->aug.pad) {
        cJSON *fill = cJSON_AddArrayToObject(o, "crop_fill");
        for (int ch = 0; ch < r->train.channels; ch++) cJSON_AddItemToArray(fill, cJSON_CreateNumber(r->fill[ch]));
    }
    cJSON_AddNumberToObject(o, "val_split", c->val_split);
    cJSON_AddNumberToObject(o, "val_seed", (double)c->val_seed);
    cJSON_AddNumberToObject(o, "val_images", (double)r->val.count);
    cJSON_AddNumberToObject(o, "parameters", (double)actlab_net_param_count(r->net));
    return o;
}

/* Settings newer than some checkpoints: missing from an old one means off. */
static int off_by_default(const cJSON *item) {
    static const char *const keys[] = {"augment", "crop_pad", "val_split", "val_seed", "val_images"};
    if (!strcmp(item->string, "init_gain")) return cJSON_IsString(item) && !strcmp(item->valuestring, "act");
    if (!strcmp(item->string, "precision")) return cJSON_IsString(item) && !strcmp(item->valuestring, "f32");
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(item->string, keys[i]))
            return cJSON_IsString(item) ? !strcmp(item->valuestring, "none") : cJSON_IsNumber(item) && item->valuedouble == 0;
    return 0;
}

/* Values that follow from the settings: a difference there is reported only when no setting differs. */
static int derived(const char *key) {
    static const char *const keys[] = {"data_name", "data_source", "train_images", "test_images", "val_images",
                                       "normalise_mean", "normalise_std", "crop_fill", "parameters"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(key, keys[i])) return 1;
    return 0;
}

/* A resumed run must be the same run: every setting but the number of epochs. */
static int same_run(const cJSON *now, const cJSON *then, char *what, size_t len) {
    for (int pass = 0; pass < 2; pass++) {
        for (const cJSON *item = now->child; item; item = item->next) {
            if (!strcmp(item->string, "epochs") || (pass == 0 && derived(item->string))) continue;
            const cJSON *old = cJSON_GetObjectItemCaseSensitive(then, item->string);
            if (!old && off_by_default(item)) continue;
            if (!old || !cJSON_Compare(item, old, 1)) {
                char *a = cJSON_PrintUnformatted(item), *b = old ? cJSON_PrintUnformatted(old) : NULL;
                snprintf(what, len, "%s is %s now but was %s", item->string, a, b ? b : "missing");
                free(a);
                free(b);
                return 0;
            }
        }
    }
    return 1;
}

static int setup(run *r, char *err, size_t errlen) {
    const actlab_train_config *c = r->cfg;
    char e[1024];
    if (c->epochs < 1 || c->batch < 1) return actlab_errorf(err, errlen, "epochs and batch must be at least 1");
    int bf16 = c->precision && !strcmp(c->precision, "bf16");
    if (c->precision && !bf16 && strcmp(c->precision, "f32"))
        return actlab_errorf(err, errlen, "--precision expects f32 or bf16, got '%s'", c->precision);
    /* now rather than at the first batch (the net builds its oneDNN objects then) */
    if (bf16 && nn_dnnl_bf16_check(e, sizeof e)) return actlab_errorf(err, errlen, "%s", e);
    if (actlab_augment_parse(c->augment, c->crop_pad ? c->crop_pad : 4, &r->aug, e, sizeof e))
        return actlab_errorf(err, errlen, "--augment: %s", e);
    if (c->crop_pad && !r->aug.pad) return actlab_errorf(err, errlen, "--crop-pad needs --augment crop (or crop,flip)");
    if (c->val_split != 0 && !(c->val_split > 0 && c->val_split < 1))
        return actlab_errorf(err, errlen, "--val-split: expected a fraction above 0 and below 1, got %g", c->val_split);
    if (actlab_data_open(c->data, &r->train, &r->test, e, sizeof e)) return actlab_errorf(err, errlen, "%s", e);
    if (c->train_subset) actlab_dataset_subset(&r->train, c->train_subset);
    if (c->test_subset) actlab_dataset_subset(&r->test, c->test_subset);
    /* the subset first, then the hold-out from it */
    if (c->val_split > 0 && actlab_dataset_split(&r->train, &r->val, c->val_split, c->val_seed, e, sizeof e))
        return actlab_errorf(err, errlen, "--val-split: %s", e);
    if (r->train.channels > 16) return actlab_errorf(err, errlen, "%d channels: at most 16 are supported", r->train.channels);
    /* statistics of the images trained on only: the validation images stay unseen */
    actlab_dataset_channel_stats(&r->train, r->mean, r->std);
    actlab_dataset_normalise(&r->train, r->mean, r->std);
    actlab_dataset_normalise(&r->val, r->mean, r->std);
    actlab_dataset_normalise(&r->test, r->mean, r->std);
    /* crops pad with a black pixel as normalised (torchvision pads before Normalize): one
     * zero pixel per channel through the same normalisation gives exactly that value */
    actlab_dataset black = {.count = 1, .channels = r->train.channels, .height = 1, .width = 1, .images = r->fill};
    memset(r->fill, 0, sizeof r->fill);
    actlab_dataset_normalise(&black, r->mean, r->std);
    r->aug.fill = r->fill;

    actlab_act_cfg act;
    if (actlab_act_parse(c->act, &act, e, sizeof e)) return actlab_errorf(err, errlen, "--act: %s", e);
    actlab_act_cfg_string(&act, r->act_spec, sizeof r->act_spec);
    actlab_net_options o = actlab_net_options_default();
    o.channels = r->train.channels, o.height = r->train.height, o.width = r->train.width;
    o.classes = r->train.classes;
    o.max_batch = c->batch;
    o.act = r->act_spec;
    o.act_per_channel = c->act_per_channel;
    o.relu_gain = c->relu_gain;
    o.unfused = c->unfused;
    o.precision = bf16 ? ACTLAB_PRECISION_BF16 : ACTLAB_PRECISION_F32;
    if (bf16)
        fprintf(r->log, "precision bf16: convolutions multiply bf16 (inputs, weights, gradients rounded) and sum in "
                        "f32; weights, optimiser and checkpoints stay f32\n");
    char notes[8192] = "";
    if (c->verbose) o.verbose = 1, o.log = notes, o.loglen = sizeof notes;
    r->net = actlab_net_load(c->model, &o, e, sizeof e);
    if (!r->net) return actlab_errorf(err, errlen, "%s", e);
    if (notes[0]) fputs(notes, r->log);
    actlab_net_init(r->net, c->seed);

    /* One optimiser group per parameter block: learnable activation parameters
     * get their own weight decay (none by default, as PyTorch's docs advise for PReLU). */
    int nb = actlab_net_param_blocks(r->net);
    actlab_param_group *groups = calloc((size_t)(nb ? nb : 1), sizeof *groups);
    if (!groups) return actlab_errorf(err, errlen, "out of memory");
    for (int i = 0; i < nb; i++) {
        actlab_net_param_block b = actlab_net_param_block_at(r->net, i);
        groups[i].w = actlab_net_params(r->net) + b.offset;
        groups[i].g = actlab_net_grads(r->net) + b.offset;
        groups[i].n = b.n;
        groups[i].decay_mult = b.decay ? 1.0f
                                       : (c->weight_decay > 0 ? (float)(c->act_weight_decay / c->weight_decay) : 0.0f);
        groups[i].name = b.name;
    }
    actlab_optim_kind kind = actlab_optim_parse_kind(c->optim);
    if (!kind) {
        free(groups);
        return actlab_errorf(err, errlen, "--optim: expected sgd or adam, got '%s'", c->optim);
    }
    if (c->act_weight_decay > 0 && c->weight_decay <= 0) {
        free(groups);
        return actlab_errorf(err, errlen, "--act-weight-decay needs a --weight-decay above 0 (it is applied through the same decay)");
    }
    actlab_optim_config oc = actlab_optim_config_default(kind);
    oc.lr = c->lr;
    oc.weight_decay = c->weight_decay;
    if (kind == ACTLAB_OPTIM_SGD) oc.momentum = c->momentum, oc.nesterov = c->nesterov;
    r->optim = actlab_optim_config_validate(&oc, e, sizeof e) ? NULL : actlab_optim_new(&oc, groups, nb, e, sizeof e);
    free(groups);
    if (!r->optim) return actlab_errorf(err, errlen, "%s", e);
    if (actlab_schedule_parse(c->schedule ? c->schedule : "constant", c->lr, &r->schedule, e, sizeof e))
        return actlab_errorf(err, errlen, "--schedule: %s", e);
    r->loader = actlab_loader_new(&r->train, c->batch, 1, 0, c->seed, e, sizeof e);
    if (!r->loader || actlab_loader_set_augment(r->loader, &r->aug, e, sizeof e)) return actlab_errorf(err, errlen, "%s", e);
    actlab_schedule_resolve(&r->schedule, c->epochs, actlab_loader_batches(r->loader));

    if (c->probe < 0) return actlab_errorf(err, errlen, "--probe: expected a number of images >= 0, got %lld", (long long)c->probe);
    if (c->ntargets && actlab_net_is_autoencoder(r->net))
        return actlab_errorf(err, errlen, "--targets: an autoencoder has no accuracy to reach");
    for (int i = 0; i < c->ntargets; i++)
        if (!(c->targets[i] > 0 && c->targets[i] <= 1))
            return actlab_errorf(err, errlen, "--targets: expected accuracies above 0 and at most 1, got %g", c->targets[i]);
    r->grad_norm = calloc((size_t)(nb ? nb : 1), sizeof *r->grad_norm);
    if (!r->grad_norm) return actlab_errorf(err, errlen, "out of memory");
    /* The probe set: training images (never the held-out ones) of the seed's own draw. */
    r->probe_n = c->probe < r->train.count ? c->probe : r->train.count;
    if (r->probe_n > 0) {
        size_t per = (size_t)r->train.channels * r->train.height * r->train.width;
        int64_t *idx = malloc(sizeof *idx * (size_t)r->probe_n);
        r->probe_x = malloc(sizeof(float) * per * (size_t)r->probe_n);
        r->probe = calloc((size_t)actlab_probe_layers(r->net) + 1, sizeof *r->probe);
        if (!idx || !r->probe_x || !r->probe) {
            free(idx);
            return actlab_errorf(err, errlen, "out of memory for %lld probe images", (long long)r->probe_n);
        }
        actlab_probe_pick(r->train.count, r->probe_n, c->seed, idx);
        for (int64_t i = 0; i < r->probe_n; i++)
            memcpy(r->probe_x + (size_t)i * per, r->train.images + (size_t)idx[i] * per, sizeof(float) * per);
        free(idx);
    }
    return 0;
}

/* The L2 norm of n gradients (the order of the sum does not matter: it is only reported). */
static double l2(const float *g, int64_t n) {
    double s = 0;
    #pragma omp parallel for reduction(+ : s) schedule(static) if (n > (1 << 16))
    for (int64_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    return sqrt(s);
}

/* Statistics of values v[0], v[stride], ... (n of them) into {"mean","std","min","max"}. */
static cJSON *spread(const float *v, int n, int stride) {
    double sum = 0, sumsq = 0, lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++) {
        double x = v[(size_t)i * stride];
        sum += x, sumsq += x * x, lo = x < lo ? x : lo, hi = x > hi ? x : hi;
    }
    double mean = sum / n, var = sumsq / n - mean * mean;
    cJSON *o = cJSON_CreateObject();
    if (n == 1) cJSON_AddNumberToObject(o, "value", mean);
    cJSON_AddNumberToObject(o, "mean", mean);
    cJSON_AddNumberToObject(o, "std", var > 0 ? sqrt(var) : 0);
    cJSON_AddNumberToObject(o, "min", lo);
    cJSON_AddNumberToObject(o, "max", hi);
    return o;
}

/* The epoch's "time" record (see README), read before the evaluations add their forwards.
 * steps: this epoch's optimiser steps; step_s: their summed wall time. */
static cJSON *time_record(const run *r, int64_t steps, double step_s) {
    const actlab_net *net = r->net;
    int L = actlab_net_layers(net);
    cJSON *time = cJSON_CreateObject();
    double all = 0, act = 0, per = steps > 0 ? 1000.0 / (double)steps : 0;
    cJSON_AddNumberToObject(time, "step_ms", step_s * per);
    cJSON *tl = cJSON_CreateArray();
    for (int i = 0; i < L; i++) {
        double f, b;
        actlab_layer_info li;
        actlab_net_layer_info(net, i, &li);
        actlab_net_layer_times(net, i, &f, &b);
        all += f + b;
        if (actlab_net_layer_act(net, i, NULL, NULL)) act += f + b;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "layer", i);
        cJSON_AddStringToObject(o, "type", li.type);
        cJSON_AddNumberToObject(o, "fwd_ms", f * per);
        cJSON_AddNumberToObject(o, "bwd_ms", b * per);
        cJSON_AddItemToArray(tl, o);
    }
    cJSON_AddNumberToObject(time, "act_share", all > 0 ? act / all : 0);
    cJSON_AddItemToObject(time, "layers", tl);
    return time;
}

/* An epoch's measurements into its record m: "grad_norm" (mean over the epoch's `steps`
 * of each block's gradient norm) and "probe" (when on; see README). */
static int add_measurements(run *r, cJSON *m, int64_t steps, char *err, size_t errlen) {
    actlab_net *net = r->net;

    /* gradient norms, one entry per layer with parameters: "weight", "bias", "act" */
    cJSON *gn = cJSON_AddArrayToObject(m, "grad_norm"), *cur = NULL;
    int cur_layer = -1;
    for (int k = 0; k < actlab_net_param_blocks(net); k++) {
        actlab_net_param_block b = actlab_net_param_block_at(net, k);
        if (b.layer != cur_layer) {
            actlab_layer_info li;
            actlab_net_layer_info(net, b.layer, &li);
            cur = cJSON_CreateObject();
            cJSON_AddNumberToObject(cur, "layer", b.layer);
            cJSON_AddStringToObject(cur, "type", li.type);
            cJSON_AddItemToArray(gn, cur);
            cur_layer = b.layer;
        }
        cJSON_AddNumberToObject(cur, b.name, steps > 0 ? r->grad_norm[k] / (double)steps : 0);
    }

    if (r->probe_n <= 0) return 0;
    double t0 = omp_get_wtime();
    size_t per_image = (size_t)r->train.channels * r->train.height * r->train.width;
    if (actlab_probe_run(net, r->probe_x, r->probe_n, (int64_t)per_image, r->cfg->batch, r->probe, err, errlen)) return -1;
    cJSON *probe = cJSON_AddObjectToObject(m, "probe");
    cJSON_AddNumberToObject(probe, "images", (double)r->probe_n);
    cJSON *layers = cJSON_AddArrayToObject(probe, "layers");
    for (int k = 0; k < actlab_probe_layers(net); k++) {
        const actlab_probe_stats *s = &r->probe[k];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "layer", s->layer);
        cJSON_AddNumberToObject(o, "act_index", s->act_index);
        cJSON_AddStringToObject(o, "function", s->function);
        cJSON_AddNumberToObject(o, "units", s->units);
        cJSON_AddNumberToObject(o, "dead", s->dead);
        cJSON_AddNumberToObject(o, "near_dead", s->near_dead);
        cJSON_AddNumberToObject(o, "mean", s->mean);
        cJSON_AddNumberToObject(o, "std", s->std);
        cJSON_AddNumberToObject(o, "negative", s->negative);
        /* learnable parameters: their value per layer, or their spread over the channels */
        const float *p;
        int sets;
        const actlab_act_cfg *a = actlab_net_layer_act(net, s->layer, &p, &sets);
        if (p && sets > 0) {
            cJSON *ps = cJSON_AddObjectToObject(o, "params");
            for (int j = 0; j < a->act->nparam; j++)
                if (a->act->param[j].kind == ACTLAB_PARAM_LEARNABLE)
                    cJSON_AddItemToObject(ps, a->act->param[j].name, spread(p + j, sets, a->act->nparam));
        }
        cJSON_AddItemToArray(layers, o);
    }
    cJSON_AddNumberToObject(probe, "seconds", omp_get_wtime() - t0);
    return 0;
}

/* The training seconds up to each record of `metrics` (elapsed_seconds, or the sum of
 * epoch_seconds for records without it) and, with targets, the first epoch whose test
 * (val) accuracy reached each: into targets as {"0.8": {"epoch", "seconds"} or null}.
 * Returns the seconds up to the last record. */
static double scan_records(const char *metrics, const actlab_train_config *c, int has_val, cJSON *targets) {
    double elapsed = 0;
    int64_t *epoch = calloc((size_t)c->ntargets + 1, sizeof *epoch);
    double *when = calloc((size_t)c->ntargets + 1, sizeof *when);
    for (const char *s = metrics; s && *s;) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        cJSON *m = cJSON_ParseWithLength(s, len);
        s += len + (nl != NULL);
        if (!m) continue;
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(m, "elapsed_seconds");
        const cJSON *es = cJSON_GetObjectItemCaseSensitive(m, "epoch_seconds");
        elapsed = cJSON_IsNumber(e) ? e->valuedouble : elapsed + (cJSON_IsNumber(es) ? es->valuedouble : 0);
        const cJSON *acc = cJSON_GetObjectItemCaseSensitive(m, has_val ? "val_acc" : "test_acc");
        const cJSON *ep = cJSON_GetObjectItemCaseSensitive(m, "epoch");
        for (int i = 0; epoch && when && i < c->ntargets; i++)
            if (!epoch[i] && cJSON_IsNumber(acc) && acc->valuedouble >= c->targets[i])
                epoch[i] = cJSON_IsNumber(ep) ? (int64_t)ep->valuedouble : 0, when[i] = elapsed;
        cJSON_Delete(m);
    }
    for (int i = 0; targets && epoch && when && i < c->ntargets; i++) {
        char key[32];
        snprintf(key, sizeof key, "%g", c->targets[i]);
        if (cJSON_GetObjectItemCaseSensitive(targets, key)) continue; /* a target given twice */
        if (!epoch[i]) {
            cJSON_AddNullToObject(targets, key);
            continue;
        }
        cJSON *o = cJSON_AddObjectToObject(targets, key);
        cJSON_AddNumberToObject(o, "epoch", (double)epoch[i]);
        cJSON_AddNumberToObject(o, "seconds", when[i]);
    }
    free(epoch);
    free(when);
    return elapsed;
}

/* The evaluations into a record: test_loss, and for a classifier test_acc and (more
 * than 5 classes) test_top5; then the same for the validation split, when there is one. */
static void add_eval(cJSON *m, const actlab_train_result *res, int autoencoder) {
    for (int v = 0; v <= res->has_val; v++) {
        const char *split = v ? "val" : "test";
        double top5 = v ? res->val_top5 : res->test_top5;
        char key[16];
        snprintf(key, sizeof key, "%s_loss", split);
        cJSON_AddNumberToObject(m, key, v ? res->val_loss : res->test_loss);
        if (autoencoder) continue;
        snprintf(key, sizeof key, "%s_acc", split);
        cJSON_AddNumberToObject(m, key, v ? res->val_acc : res->test_acc);
        snprintf(key, sizeof key, "%s_top5", split);
        if (!isnan(top5)) cJSON_AddNumberToObject(m, key, top5);
    }
}

/* OUT/final.json (see actlab/train.h), atomically. */
static int write_final(const char *out, int64_t epochs, int64_t steps, const actlab_train_result *res,
                       const actlab_class_report *rep, cJSON *targets, char *err, size_t errlen) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "final", 1);
    cJSON_AddNumberToObject(o, "epoch", (double)epochs);
    cJSON_AddNumberToObject(o, "steps", (double)steps);
    add_eval(o, res, rep == NULL);
    if (targets) cJSON_AddItemToObject(o, "targets", targets);
    if (rep) add_by_class(o, rep);
    char *text = cJSON_Print(o), path[4096];
    cJSON_Delete(o);
    if (!text) return actlab_errorf(err, errlen, "out of memory");
    snprintf(path, sizeof path, "%s/final.json", out);
    int rc = actlab_write_atomic(path, text, strlen(text), err, errlen);
    free(text);
    return rc;
}

static void progress(run *r, int64_t epoch, int64_t b, int64_t nb, double img_s, double loss, double acc, int final) {
    if (!r->cfg->progress && !final) return;
    double eta = img_s > 0 ? (double)(nb - b) * r->cfg->batch / img_s : 0;
    char accuracy[32] = "";
    if (!actlab_net_is_autoencoder(r->net)) snprintf(accuracy, sizeof accuracy, " acc %.2f%%", 100 * acc);
    fprintf(r->log, "%sepoch %lld/%d [%lld/%lld] %.0f img/s ETA %d:%02d loss %.4f%s%s",
            r->cfg->progress ? "\r" : "", (long long)epoch + 1, r->cfg->epochs, (long long)b, (long long)nb, img_s,
            (int)eta / 60, (int)eta % 60, loss, accuracy, final ? "" : "   ");
    fflush(r->log);
}

/* Fill the settings left unset: from the model file's [net] section, else the defaults. */
static int resolve(actlab_train_config *c, actlab_net_hints *h, char *err, size_t errlen) {
    char e[1024];
    if (actlab_net_read_hints(c->model, h, e, sizeof e)) return actlab_errorf(err, errlen, "%s", e);
    if (!c->batch) c->batch = h->batch ? h->batch : 128;
    if (!c->epochs) c->epochs = h->epochs ? h->epochs : 5;
    if (!c->optim) c->optim = h->optim[0] ? h->optim : "sgd";
    if (!c->schedule) c->schedule = h->schedule[0] ? h->schedule : "constant";
    if (isnan(c->lr)) c->lr = !isnan(h->lr) ? h->lr : 0.01;
    if (isnan(c->momentum)) c->momentum = !isnan(h->momentum) ? h->momentum : 0.9;
    if (isnan(c->weight_decay)) c->weight_decay = !isnan(h->weight_decay) ? h->weight_decay : 0;
    if (c->nesterov < 0) c->nesterov = h->nesterov > 0;
    return 0;
}

int actlab_train(const actlab_train_config *given, actlab_train_result *result, char *err, size_t errlen) {
    actlab_train_config resolved = *given, *cfg = &resolved;
    actlab_net_hints hints; /* owns the strings resolve() may point at */
    if (resolve(cfg, &hints, err, errlen)) return -1;
    run r;
    memset(&r, 0, sizeof r);
    r.cfg = cfg;
    r.log = cfg->log ? cfg->log : stderr;
    if (cfg->threads > 0) omp_set_num_threads(cfg->threads);
    int threads = omp_get_max_threads();
    actlab_train_result res;
    memset(&res, 0, sizeof res);
    char path[4096], e[1024];
    if (mkdir(cfg->out, 0755) != 0 && errno != EEXIST)
        return actlab_errorf(err, errlen, "cannot create run folder %s: %s", cfg->out, strerror(errno));
    if (setup(&r, err, errlen)) {
        run_free(&r);
        return -1;
    }
    r.config = config_json(&r, threads);

    /* Resume: the same run's checkpoint gives weights, optimiser state and position. */
    int64_t epoch0 = 0, step = 0;
    char *metrics = NULL;
    snprintf(path, sizeof path, "%s/last.ckpt", cfg->out);
    if (cfg->resume) {
        actlab_checkpoint ck;
        if (actlab_checkpoint_load(path, &ck, e, sizeof e)) {
            run_free(&r);
            return actlab_errorf(err, errlen, "--resume: %s", e);
        }
        cJSON *then = cJSON_Parse(ck.config_json);
        char what[1024] = "its configuration is not JSON";
        int ok = then && same_run(r.config, then, what, sizeof what);
        if (ok && ck.nparams != actlab_net_param_count(r.net))
            ok = 0, snprintf(what, sizeof what, "it holds %lld parameters, the net has %lld", (long long)ck.nparams,
                             (long long)actlab_net_param_count(r.net));
        if (ok && actlab_optim_state_load(r.optim, ck.optim_state, ck.optim_len, what, sizeof what)) ok = 0;
        cJSON_Delete(then);
        if (ok) {
            memcpy(actlab_net_params(r.net), ck.params, sizeof(float) * (size_t)ck.nparams);
            epoch0 = ck.epoch, step = ck.step;
        }
        actlab_checkpoint_free(&ck);
        if (!ok) {
            run_free(&r);
            return actlab_errorf(err, errlen, "--resume: %s is not this run's checkpoint: %s", path, what);
        }
        /* keep the records of the epochs the checkpoint has */
        snprintf(path, sizeof path, "%s/metrics.jsonl", cfg->out);
        metrics = actlab_read_text(path);
        char *s = metrics;
        for (int64_t i = 0; s && i < epoch0; i++) s = strchr(s, '\n') ? strchr(s, '\n') + 1 : s + strlen(s);
        if (s) *s = 0;
    }
    if (!metrics) metrics = calloc(1, 1);
    double elapsed = scan_records(metrics, cfg, 0, NULL); /* the training seconds of the epochs kept */
    /* final.json belongs to the run's last epoch: one from an earlier end is stale */
    snprintf(path, sizeof path, "%s/final.json", cfg->out);
    if (epoch0 < cfg->epochs) unlink(path);
    char *cfg_text = cJSON_Print(r.config);
    snprintf(path, sizeof path, "%s/config.json", cfg->out);
    int rc = actlab_write_atomic(path, cfg_text, strlen(cfg_text), err, errlen);
    free(cfg_text);

    int64_t nb = actlab_loader_batches(r.loader);
    int autoencoder = actlab_net_is_autoencoder(r.net);
    res.autoencoder = autoencoder;
    res.has_val = r.val.count > 0;
    res.test_top5 = res.val_top5 = NAN;
    actlab_class_report rep = {0}; /* the last epoch's test split by class */
    double t_start = omp_get_wtime();
    for (int64_t epoch = epoch0; epoch < cfg->epochs && !rc; epoch++) {
        double t0 = omp_get_wtime(), loss_sum = 0, lr = 0, step_s = 0;
        int64_t seen = 0, correct = 0, b = 0;
        int npb = actlab_net_param_blocks(r.net);
        actlab_net_reset_times(r.net);
        memset(r.grad_norm, 0, sizeof(double) * (size_t)npb);
        const float *x;
        const int32_t *y;
        int n;
        actlab_loader_start(r.loader, epoch, 0);
        while (!rc && actlab_loader_next(r.loader, &x, &y, &n) == 1) {
            int ok = 0;
            double ts = omp_get_wtime();
            rc = actlab_net_forward(r.net, x, n, 1, (uint64_t)step, err, errlen);
            double loss = rc ? 0 : autoencoder ? actlab_net_loss_mse(r.net, x, n) : actlab_net_loss(r.net, y, n, &ok);
            if (!rc && !isfinite(loss))
                rc = actlab_errorf(err, errlen, "epoch %lld batch %lld: the loss is %s; try a lower --lr (%s)", (long long)epoch + 1,
                          (long long)b + 1, isnan(loss) ? "NaN" : "infinite",
                          epoch > 0 ? "the last good state is in last.ckpt of the run folder" : "no epoch finished, so no checkpoint");
            if (!rc) rc = actlab_net_backward(r.net, n, err, errlen);
            /* the loss's gradient norms, before the optimiser adds weight decay; not timed as the step */
            double tn = omp_get_wtime();
            for (int k = 0; !rc && k < npb; k++) {
                actlab_net_param_block pb = actlab_net_param_block_at(r.net, k);
                r.grad_norm[k] += l2(actlab_net_grads(r.net) + pb.offset, pb.n);
            }
            ts += omp_get_wtime() - tn;
            lr = actlab_schedule_lr(&r.schedule, step, nb);
            if (!rc) rc = actlab_optim_step(r.optim, lr);
            step_s += omp_get_wtime() - ts;
            step++, b++;
            loss_sum += loss * n, seen += n, correct += ok;
            double dt = omp_get_wtime() - t0;
            if (cfg->progress && (b % 8 == 0 || b == nb)) progress(&r, epoch, b, nb, seen / dt, loss_sum / seen, (double)correct / seen, 0);
            if (cfg->stop_after && step >= cfg->stop_after) { /* as if killed: nothing more is written */
                free(metrics);
                actlab_class_report_free(&rep);
                run_free(&r);
                return actlab_errorf(err, errlen, "stopped after %lld steps (--stop-after)", (long long)step);
            }
        }
        if (rc) break;
        double seconds = omp_get_wtime() - t0;
        res.train_loss = loss_sum / (double)seen, res.train_acc = (double)correct / (double)seen;
        int last = epoch + 1 == cfg->epochs;
        if (last && !autoencoder) {
            int K = rep.classes = r.test.classes;
            rep.confusion = calloc((size_t)K * K, sizeof *rep.confusion);
            rep.names = calloc((size_t)K, sizeof *rep.names);
            if (!rep.confusion || !rep.names) {
                rc = actlab_errorf(err, errlen, "out of memory");
                break;
            }
            class_names(&r.test, rep.names);
        }
        cJSON *time = time_record(&r, b, step_s); /* before the evaluations' forwards count */
        rc = evaluate(r.net, &r.test, cfg->batch, &res.test_loss, &res.test_acc, &res.test_top5, rep.confusion, err, errlen);
        if (!rc && res.has_val)
            rc = evaluate(r.net, &r.val, cfg->batch, &res.val_loss, &res.val_acc, &res.val_top5, NULL, err, errlen);
        if (rc) {
            cJSON_Delete(time);
            break;
        }
        progress(&r, epoch, nb, nb, (double)seen / seconds, res.train_loss, res.train_acc, 1);
        if (res.has_val && autoencoder) fprintf(r.log, " | val reconstruction MSE %.5f", res.val_loss);
        else if (res.has_val) fprintf(r.log, " | val loss %.4f acc %.2f%%", res.val_loss, 100 * res.val_acc);
        if (autoencoder) fprintf(r.log, " | test reconstruction MSE %.5f (%.1f s)\n", res.test_loss, seconds);
        else fprintf(r.log, " | test loss %.4f acc %.2f%% (%.1f s)\n", res.test_loss, 100 * res.test_acc, seconds);

        cJSON *m = cJSON_CreateObject();
        cJSON_AddNumberToObject(m, "epoch", (double)epoch + 1);
        cJSON_AddNumberToObject(m, "train_loss", res.train_loss);
        if (!autoencoder) cJSON_AddNumberToObject(m, "train_acc", res.train_acc);
        add_eval(m, &res, autoencoder);
        cJSON_AddNumberToObject(m, "lr", lr);
        cJSON_AddNumberToObject(m, "epoch_seconds", seconds);
        cJSON_AddNumberToObject(m, "images_per_second", (double)seen / seconds);
        cJSON_AddNumberToObject(m, "steps", (double)step);
        elapsed += seconds;
        cJSON_AddNumberToObject(m, "elapsed_seconds", elapsed);
        cJSON_AddItemToObject(m, "time", time);
        if (add_measurements(&r, m, b, err, errlen)) {
            cJSON_Delete(m);
            rc = -1;
            break;
        }
        char *line = cJSON_PrintUnformatted(m);
        cJSON_Delete(m);
        char *grown = realloc(metrics, strlen(metrics) + strlen(line) + 2);
        if (!grown) {
            free(line);
            rc = actlab_errorf(err, errlen, "out of memory");
            break;
        }
        metrics = grown;
        strcat(strcat(metrics, line), "\n");
        free(line);
        snprintf(path, sizeof path, "%s/metrics.jsonl", cfg->out);
        rc = actlab_write_atomic(path, metrics, strlen(metrics), err, errlen);
        /* before the checkpoint: a run killed in between redoes this epoch and writes it again */
        if (!rc && last) {
            cJSON *targets = cfg->ntargets ? cJSON_CreateObject() : NULL;
            if (targets) scan_records(metrics, cfg, res.has_val, targets);
            rc = write_final(cfg->out, epoch + 1, step, &res, autoencoder ? NULL : &rep, targets, err, errlen);
        }

        /* the checkpoint: the state after this epoch */
        size_t olen = actlab_optim_state_size(r.optim);
        void *ostate = malloc(olen ? olen : 1);
        char *ctext = cJSON_PrintUnformatted(r.config);
        actlab_checkpoint ck = {.config_json = ctext, .epoch = epoch + 1, .batch = 0, .step = step, .seed = cfg->seed,
                                .nparams = actlab_net_param_count(r.net), .params = actlab_net_params(r.net),
                                .optim_len = olen, .optim_state = ostate};
        snprintf(path, sizeof path, "%s/last.ckpt", cfg->out);
        if (!rc && (!ostate || actlab_optim_state_save(r.optim, ostate)))
            rc = actlab_errorf(err, errlen, "cannot save the optimiser state");
        if (!rc) rc = actlab_checkpoint_save(path, &ck, err, errlen);
        free(ostate);
        free(ctext);
        res.epochs_done = (int)(epoch + 1);
    }
    res.seconds = omp_get_wtime() - t_start;
    if (result) *result = res;
    actlab_class_report_free(&rep);
    free(metrics);
    run_free(&r);
    return rc;
}

int actlab_test_checkpoint(const char *checkpoint, const char *data, int64_t test_subset, int threads,
                           actlab_train_result *result, char *err, size_t errlen) {
    return actlab_test_checkpoint_report(checkpoint, data, test_subset, threads, result, NULL, err, errlen);
}

int actlab_test_checkpoint_report(const char *checkpoint, const char *data, int64_t test_subset, int threads,
                                  actlab_train_result *result, actlab_class_report *report, char *err,
                                  size_t errlen) {
    actlab_class_report rep = {0};
    if (report) memset(report, 0, sizeof *report);
    actlab_checkpoint ck;
    char e[1024];
    if (actlab_checkpoint_load(checkpoint, &ck, err, errlen)) return -1;
    if (threads > 0) omp_set_num_threads(threads);
    cJSON *cfg = cJSON_Parse(ck.config_json);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(cfg, "model"), *act = cJSON_GetObjectItemCaseSensitive(cfg, "act");
    const cJSON *pc = cJSON_GetObjectItemCaseSensitive(cfg, "act_per_channel");
    const cJSON *mean = cJSON_GetObjectItemCaseSensitive(cfg, "normalise_mean");
    const cJSON *sd = cJSON_GetObjectItemCaseSensitive(cfg, "normalise_std");
    const cJSON *dspec = cJSON_GetObjectItemCaseSensitive(cfg, "data");
    int rc = 0;
    actlab_dataset test;
    memset(&test, 0, sizeof test);
    actlab_net *net = NULL;
    if (!cJSON_IsString(model) || !cJSON_IsString(act) || !cJSON_IsArray(mean) || !cJSON_IsArray(sd)) {
        rc = actlab_errorf(err, errlen, "%s: its configuration lacks the model, activation or normalisation", checkpoint);
        goto done;
    }
    if (actlab_data_open(data ? data : dspec->valuestring, NULL, &test, e, sizeof e)) {
        rc = actlab_errorf(err, errlen, "%s", e);
        goto done;
    }
    if (test_subset) actlab_dataset_subset(&test, test_subset);
    double m[16] = {0}, s[16] = {0};
    if (cJSON_GetArraySize(mean) != test.channels || test.channels > 16) {
        rc = actlab_errorf(err, errlen, "%s was trained on %d-channel data, %s has %d channels", checkpoint,
                  cJSON_GetArraySize(mean), test.source, test.channels);
        goto done;
    }
    for (int ch = 0; ch < test.channels; ch++)
        m[ch] = cJSON_GetArrayItem(mean, ch)->valuedouble, s[ch] = cJSON_GetArrayItem(sd, ch)->valuedouble;
    actlab_dataset_normalise(&test, m, s);
    actlab_net_options o = actlab_net_options_default();
    o.channels = test.channels, o.height = test.height, o.width = test.width, o.classes = test.classes;
    o.act = act->valuestring;
    o.act_per_channel = cJSON_IsTrue(pc);
    net = actlab_net_load(model->valuestring, &o, e, sizeof e);
    if (!net) {
        rc = actlab_errorf(err, errlen, "%s", e);
        goto done;
    }
    if (actlab_net_param_count(net) != ck.nparams) {
        rc = actlab_errorf(err, errlen, "%s holds %lld parameters but %s on this data has %lld", checkpoint,
                  (long long)ck.nparams, model->valuestring, (long long)actlab_net_param_count(net));
        goto done;
    }
    memcpy(actlab_net_params(net), ck.params, sizeof(float) * (size_t)ck.nparams);
    actlab_train_result res;
    memset(&res, 0, sizeof res);
    res.autoencoder = actlab_net_is_autoencoder(net);
    if (report && !res.autoencoder) {
        rep.classes = test.classes;
        rep.confusion = calloc((size_t)test.classes * test.classes, sizeof *rep.confusion);
        rep.names = calloc((size_t)test.classes, sizeof *rep.names);
        if (!rep.confusion || !rep.names) {
            rc = actlab_errorf(err, errlen, "out of memory");
            goto done;
        }
        class_names(&test, rep.names);
    }
    rc = evaluate(net, &test, 128, &res.test_loss, &res.test_acc, &res.test_top5, rep.confusion, err, errlen);
    if (result) *result = res;
    if (!rc && report) *report = rep, memset(&rep, 0, sizeof rep);
done:
    actlab_class_report_free(&rep);
    actlab_net_free(net);
    actlab_dataset_free(&test);
    cJSON_Delete(cfg);
    actlab_checkpoint_free(&ck);
    return rc;
}
