/*
 * cmd_profile.c — `actlab profile`: where a training step's time goes, layer
 * by layer (like `caffe time`): a net built for the data, a few warm-up steps,
 * then N timed steps (forward, loss, backward, SGD update) on real batches,
 * and a table of each layer's forward and backward time, its share of the
 * step, its achieved GFLOP/s, and the activation layers' total share.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "actlab/data.h"
#include "actlab/net.h"
#include "actlab/optim.h"
#include "cli.h"

static void usage(void) {
    puts("usage: actlab profile --model M --data D --act A [--act-per-channel] [--batch B] [--threads T]\n"
         "                      [--steps N] [--warmup W] [--json]\n"
         "                      [--precision f32|bf16]  (bf16: convolutions in bfloat16, as actlab train's)\n"
         "Times N training steps (forward, loss, backward, SGD update; default 10, after W = 3 warm-up\n"
         "steps) of model M on batches of D (default: lenet, fashion-mnist, relu, batch 128, all cores)\n"
         "and prints each layer's forward and backward time per step, its share of the step, its\n"
         "achieved GFLOP/s (forward; backward for conv and dense, counted as twice the forward's\n"
         "FLOPs), and the activation layers' total share. --json prints the same as one JSON object.");
}

/* A whole number in [lo, hi] for flag f. */
static int whole(const char *f, const char *v, double lo, double hi, int *out) {
    double d;
    if (!v || cli_parse_double(v, &d) || d < lo || d > hi || d != floor(d))
        return cli_fail("profile", "%s expects a whole number in [%g, %g], got '%s'", f, lo, hi, v ? v : "nothing");
    *out = (int)d;
    return 0;
}

typedef struct profile {
    actlab_net *net;
    actlab_optim *optim;
    actlab_dataset train;
} profile;

static void profile_free(profile *p) {
    actlab_optim_free(p->optim);
    actlab_net_free(p->net);
    actlab_dataset_free(&p->train);
}

/* One training step on batch k (consecutive images, wrapping around). */
static int step(profile *p, int B, int k, char *err, size_t errlen) {
    const actlab_dataset *d = &p->train;
    size_t per = (size_t)d->channels * d->height * d->width;
    int64_t first = ((int64_t)k * B) % (d->count - B + 1);
    const float *x = d->images + (size_t)first * per;
    if (actlab_net_forward(p->net, x, B, 1, (uint64_t)k, err, errlen)) return -1;
    int ok;
    double loss = actlab_net_is_autoencoder(p->net) ? actlab_net_loss_mse(p->net, x, B)
                                                    : actlab_net_loss(p->net, d->labels + first, B, &ok);
    if (!isfinite(loss)) return snprintf(err, errlen, "the loss is not finite at step %d", k + 1), -1;
    if (actlab_net_backward(p->net, B, err, errlen)) return -1;
    if (actlab_optim_step(p->optim, 0.01)) return snprintf(err, errlen, "the optimiser step failed"), -1;
    return 0;
}

int cmd_profile(int argc, char **argv) {
    const char *model = "lenet", *data = "fashion-mnist", *act = "relu";
    int batch = 128, threads = 0, steps = 10, warmup = 3, json = 0, per_channel = 0;
    actlab_precision precision = ACTLAB_PRECISION_F32;
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int dd = cli_defs_flag("profile", argc, argv, &i);
        if (dd < 0) return 2;
        if (dd) continue;
        if (!strcmp(f, "--help")) { usage(); return 0; }
        else if (!strcmp(f, "--json")) json = 1;
        else if (!strcmp(f, "--act-per-channel")) per_channel = 1;
        else if (!v || (v[0] == '-' && v[1] == '-')) return cli_fail("profile", "unknown flag or missing value: '%s' (see actlab profile --help)", f);
        else if (!strcmp(f, "--model")) model = v, i++;
        else if (!strcmp(f, "--data")) data = v, i++;
        else if (!strcmp(f, "--act")) act = v, i++;
        else if (!strcmp(f, "--batch")) { if (whole(f, v, 1, 65536, &batch)) return 2; i++; }
        else if (!strcmp(f, "--threads")) { if (whole(f, v, 1, 1024, &threads)) return 2; i++; }
        else if (!strcmp(f, "--steps")) { if (whole(f, v, 1, 1000000, &steps)) return 2; i++; }
        else if (!strcmp(f, "--warmup")) { if (whole(f, v, 0, 1000000, &warmup)) return 2; i++; }
        else if (!strcmp(f, "--precision")) { if (strcmp(v, "f32") && strcmp(v, "bf16")) return cli_fail("profile", "--precision expects f32 or bf16, got '%s'", v); precision = strcmp(v, "f32") ? ACTLAB_PRECISION_BF16 : ACTLAB_PRECISION_F32, i++; }
        else return cli_fail("profile", "unknown flag '%s' (see actlab profile --help)", f);
    }
    actlab_act_cfg acfg;
    if (cli_parse_act("profile", act, &acfg)) return 2;
    char model_path[4096], err[2048], spec[512];
    if (cli_model_path(model, model_path, sizeof model_path)) return cli_fail("profile", "no model '%s': %s", model, model_path);
    actlab_act_cfg_string(&acfg, spec, sizeof spec);
    if (threads > 0) omp_set_num_threads(threads);

    profile p;
    memset(&p, 0, sizeof p);
    int rc = 0;
    if (actlab_data_open(data, &p.train, NULL, err, sizeof err)) {
        cli_fail("profile", "%s", err);
        return 1;
    }
    if (p.train.count < batch) {
        cli_fail("profile", "%s has %lld training images, fewer than a batch of %d", data, (long long)p.train.count, batch);
        profile_free(&p);
        return 2;
    }
    /* only the images the steps read are kept and normalised */
    actlab_dataset_subset(&p.train, (int64_t)batch * (warmup + steps));
    if (p.train.count < batch) actlab_dataset_subset(&p.train, batch);
    double mean[16], sd[16];
    if (p.train.channels > 16) {
        cli_fail("profile", "%d channels: at most 16 are supported", p.train.channels);
        profile_free(&p);
        return 2;
    }
    actlab_dataset_channel_stats(&p.train, mean, sd);
    actlab_dataset_normalise(&p.train, mean, sd);
    actlab_net_options o = actlab_net_options_default();
    o.channels = p.train.channels, o.height = p.train.height, o.width = p.train.width, o.classes = p.train.classes;
    o.max_batch = batch;
    o.act = spec;
    o.act_per_channel = per_channel;
    o.precision = precision;
    p.net = actlab_net_load(model_path, &o, err, sizeof err);
    if (!p.net) {
        cli_fail("profile", "%s", err);
        profile_free(&p);
        return 1;
    }
    actlab_net_init(p.net, 1);
    /* plain SGD with momentum over every block: the update's cost is part of a step */
    int nb = actlab_net_param_blocks(p.net);
    actlab_param_group *groups = calloc((size_t)(nb ? nb : 1), sizeof *groups);
    for (int i = 0; groups && i < nb; i++) {
        actlab_net_param_block b = actlab_net_param_block_at(p.net, i);
        groups[i].w = actlab_net_params(p.net) + b.offset;
        groups[i].g = actlab_net_grads(p.net) + b.offset;
        groups[i].n = b.n;
        groups[i].decay_mult = 1;
        groups[i].name = b.name;
    }
    actlab_optim_config oc = actlab_optim_config_default(ACTLAB_OPTIM_SGD);
    oc.lr = 0.01, oc.momentum = 0.9;
    p.optim = groups ? actlab_optim_new(&oc, groups, nb, err, sizeof err) : NULL;
    free(groups);
    if (!p.optim) {
        cli_fail("profile", "%s", groups ? err : "out of memory");
        profile_free(&p);
        return 1;
    }

    for (int k = 0; k < warmup && !rc; k++) rc = step(&p, batch, k, err, sizeof err);
    actlab_net_reset_times(p.net);
    double t0 = omp_get_wtime();
    for (int k = 0; k < steps && !rc; k++) rc = step(&p, batch, warmup + k, err, sizeof err);
    double step_ms = (omp_get_wtime() - t0) * 1000 / steps;
    if (rc) {
        cli_fail("profile", "%s", err);
        profile_free(&p);
        return 1;
    }

    int L = actlab_net_layers(p.net);
    double layers_ms = 0, act_ms = 0;
    for (int i = 0; i < L; i++) {
        double f, b;
        actlab_net_layer_times(p.net, i, &f, &b);
        layers_ms += (f + b) * 1000 / steps;
        if (actlab_net_layer_act(p.net, i, NULL, NULL)) act_ms += (f + b) * 1000 / steps;
    }
    cJSON *root = json ? cJSON_CreateObject() : NULL, *jl = NULL;
    if (root) {
        cJSON_AddStringToObject(root, "model", model_path);
        cJSON_AddStringToObject(root, "data", data);
        cJSON_AddStringToObject(root, "act", spec);
        cJSON_AddNumberToObject(root, "batch", batch);
        cJSON_AddNumberToObject(root, "threads", omp_get_max_threads());
        cJSON_AddNumberToObject(root, "steps", steps);
        cJSON_AddNumberToObject(root, "warmup", warmup);
        cJSON_AddNumberToObject(root, "step_ms", step_ms);
        cJSON_AddNumberToObject(root, "layers_ms", layers_ms);
        cJSON_AddNumberToObject(root, "act_ms", act_ms);
        cJSON_AddNumberToObject(root, "act_share", act_ms / step_ms);
        jl = cJSON_AddArrayToObject(root, "layers");
    } else {
        printf("%s with %s on %s: batch %d, %d threads, %d steps after %d warm-up\n", model_path, spec, data, batch,
               omp_get_max_threads(), steps, warmup);
        printf("%-3s %-13s %-34s %12s %10s %10s %7s %9s %9s\n", "#", "layer", "details", "output", "fwd ms", "bwd ms",
               "share", "fwd GF/s", "bwd GF/s");
    }
    for (int i = 0; i < L; i++) {
        actlab_layer_info li;
        double f, b;
        actlab_net_layer_info(p.net, i, &li);
        actlab_net_layer_times(p.net, i, &f, &b);
        double fms = f * 1000 / steps, bms = b * 1000 / steps;
        /* achieved rate: the layer's forward FLOPs for the batch over its time; backward
         * (data and weight gradients) counts twice that, for the layers that multiply */
        int mult = !strcmp(li.type, "conv") || !strcmp(li.type, "dense");
        double gf = f > 0 ? li.flops * batch / (fms / 1000) / 1e9 : 0;
        double gb = mult && b > 0 ? 2 * li.flops * batch / (bms / 1000) / 1e9 : NAN;
        char shape[48], bwd_rate[16];
        snprintf(shape, sizeof shape, "%dx%dx%d", li.c, li.h, li.w);
        if (root) {
            cJSON *row = cJSON_CreateObject();
            cJSON_AddNumberToObject(row, "layer", i);
            cJSON_AddStringToObject(row, "type", li.type);
            cJSON_AddStringToObject(row, "detail", li.detail);
            cJSON_AddStringToObject(row, "output", shape);
            cJSON_AddStringToObject(row, "layout", li.layout);
            cJSON_AddNumberToObject(row, "fwd_ms", fms);
            cJSON_AddNumberToObject(row, "bwd_ms", bms);
            cJSON_AddNumberToObject(row, "share", (fms + bms) / step_ms);
            cJSON_AddNumberToObject(row, "flops", li.flops * batch);
            cJSON_AddNumberToObject(row, "fwd_gflops", gf);
            if (!isnan(gb)) cJSON_AddNumberToObject(row, "bwd_gflops", gb);
            cJSON_AddItemToArray(jl, row);
            continue;
        }
        if (isnan(gb)) snprintf(bwd_rate, sizeof bwd_rate, "-");
        else snprintf(bwd_rate, sizeof bwd_rate, "%.2f", gb);
        printf("%-3d %-13s %-34.34s %12s %10.3f %10.3f %6.1f%% %9.2f %9s\n", i, li.type, li.detail, shape, fms, bms,
               100 * (fms + bms) / step_ms, gf, bwd_rate);
    }
    if (root) {
        char *text = cJSON_Print(root);
        if (text) puts(text);
        free(text);
        cJSON_Delete(root);
    } else {
        printf("step: %.3f ms (%.0f images/s); layers %.3f ms, the rest (loss, update) %.3f ms\n", step_ms,
               batch / (step_ms / 1000), layers_ms, step_ms - layers_ms);
        printf("activation layers: %.3f ms per step, %.1f%% of the step (%.1f%% of the layers' time)\n", act_ms,
               100 * act_ms / step_ms, layers_ms > 0 ? 100 * act_ms / layers_ms : 0);
    }
    profile_free(&p);
    return 0;
}
