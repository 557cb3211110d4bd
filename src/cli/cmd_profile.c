/*
 * cmd_profile.c — `actlab profile`: where a training step's time goes, layer
 * by layer (like `caffe time`): a net built for the data, a few warm-up steps,
 * then N timed steps (forward, loss, backward, SGD update) on real batches,
 * and a table of each layer's forward and backward time, its share of the
 * step, its achieved GFLOP/s, and the activation layers' total share; and each
 * layer's place under this machine's roofline (actlab/machine.h, measured before
 * the steps): the bytes it moves per step, GB/s, its shares of the peak FP32 rate
 * and of STREAM triad bandwidth, and whether its arithmetic intensity makes it
 * compute- or memory-bound.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "actlab/data.h"
#include "actlab/machine.h"
#include "actlab/net.h"
#include "actlab/optim.h"
#include "cli.h"

static void usage(void) {
    puts("usage: actlab profile --model M --data D --act A [--act-per-channel] [--batch B] [--threads T]\n"
         "                      [--steps N] [--warmup W] [--json] [--no-machine]\n"
         "Times N training steps (forward, loss, backward, SGD update; default 10, after W = 3 warm-up\n"
         "steps) of model M on batches of D (default: lenet, fashion-mnist, relu, batch 128, all cores)\n"
         "and prints each layer's forward and backward time per step, its share of the step, its\n"
         "achieved GFLOP/s (forward; backward for conv and dense, counted as the forward's FLOPs for\n"
         "the weight gradient plus as many again for the data gradient, which the first layer does\n"
         "not compute), and the activation layers' total share.\n"
         "Roofline columns, per layer over its forward + backward time: MB moved per step (4 B floats,\n"
         "each tensor counted once: forward reads the input(s) and weights and writes the output;\n"
         "backward reads the output's gradient, the input where the layer needs it, and the weights\n"
         "where it passes a gradient on, writes the input's gradient (not for the first layer) and the\n"
         "weights' gradients; activations 8 B per element forward, 12 backward; dropout and maxout also\n"
         "their masks; oneDNN workspaces, caches and layout conversions not counted), achieved GB/s,\n"
         "%peak (achieved GFLOP/s over the machine's peak FP32 rate), %triad (GB/s over STREAM triad)\n"
         "and the bound: compute when the layer's FLOPs per byte reach the machine balance (peak /\n"
         "triad), else memory. The machine is measured as `actlab machine` does (about 0.5 s) before\n"
         "the warm-up; --no-machine skips it (those columns say n/a). --json prints the same as one\n"
         "JSON object.");
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

/* ---- the roofline: bytes a layer moves, and where that puts it ---- */

/* Elements per sample of layer j's output (j = -1: the network's input). */
static double elems(const actlab_net *net, int j, const actlab_dataset *d) {
    if (j < 0) return (double)d->channels * d->height * d->width;
    actlab_layer_info li;
    actlab_net_layer_info(net, j, &li);
    return (double)li.c * li.h * li.w;
}

/* Bytes layer i moves in one step's forward and backward, floats of 4 B, each tensor read
 * or written once (the traffic a perfect kernel cannot avoid; oneDNN workspaces, caches and
 * layout conversions not counted). in, out: the input and output of the batch; w: weights
 * (biases, activation parameters). Forward reads in and w, writes out. Backward reads dout
 * and, where the layer needs them, in and w, and writes din (unless the layer reads the
 * network's input: nothing wants that gradient) and dw. Per kind:
 *   conv, dense, batchnorm: fwd in + w + out; bwd dout + in + dw, + w + din when passing on
 *     (batch norm always computes din)
 *   activation: fwd in + out (8 B/element; random functions in training also write their
 *     noise, +4) + w; bwd dout + x or y + din (12 B/element) + w + dw
 *   maxpool, avgpool, globalavgpool, flatten: fwd in + out; bwd dout + din
 *   maxout, dropout: as pooling, plus the winning piece / mask written forward, read backward
 *   shortcut: fwd in + the added output + out; bwd dout + din */
static void layer_bytes(const actlab_net *net, int i, const actlab_layer_info *li, const actlab_dataset *d, int batch,
                        double *fwd, double *bwd) {
    const double F = sizeof(float), in = F * batch * elems(net, li->input, d), out = F * batch * li->c * li->h * li->w,
                 w = F * (double)li->params;
    const char *t = li->type;
    int pass = li->input >= 0;
    if (!strcmp(t, "activation")) {
        const actlab_act_cfg *a = actlab_net_layer_act(net, i, NULL, NULL);
        int noise = a && a->act && (a->act->flags & ACTLAB_ACT_RANDOM);
        *fwd = in + out + (noise ? out : 0) + w;
        *bwd = out + in + in + 2 * w;
    } else if (!strcmp(t, "maxpool") || !strcmp(t, "avgpool") || !strcmp(t, "globalavgpool") || !strcmp(t, "flatten")) {
        *fwd = in + out;
        *bwd = out + (pass ? in : 0);
    } else if (!strcmp(t, "maxout") || !strcmp(t, "dropout")) {
        *fwd = in + 2 * out;
        *bwd = 2 * out + (pass ? in : 0);
    } else if (!strcmp(t, "shortcut")) {
        *fwd = in + F * batch * elems(net, li->adds, d) + out;
        *bwd = out + (pass ? in : 0);
    } else { /* conv, dense, batchnorm (and any other kind with weights) */
        if (!strcmp(t, "batchnorm")) pass = 1;
        *fwd = in + w + out;
        *bwd = out + in + w + (pass ? w + in : 0);
    }
}

/* One layer's place under the roofline, per step. NAN where it cannot be had (no time
 * measured; no machine). */
typedef struct roof {
    double fwd_bytes, bwd_bytes, bytes; /* moved per step */
    double fwd_gbs, bwd_gbs, gbs;       /* achieved; gbs over forward + backward */
    double flops, gflops;               /* FLOPs per step counted (forward, + backward for conv and dense) */
    double intensity;                   /* flops / bytes */
    double peak_share, triad_share;     /* gflops / peak, gbs / STREAM triad */
    double roof_share;                  /* gflops / min(peak, intensity x triad): how near its own roof */
    const char *bound;                  /* "compute", "memory", or NULL without a machine */
} roof;

static double rate(double amount, double seconds) { return seconds > 0 ? amount / seconds / 1e9 : NAN; }

static roof layer_roof(double fwd_bytes, double bwd_bytes, double flops, double fwd_s, double bwd_s,
                       const actlab_machine *m) {
    roof r;
    r.fwd_bytes = fwd_bytes, r.bwd_bytes = bwd_bytes, r.bytes = fwd_bytes + bwd_bytes, r.flops = flops;
    r.fwd_gbs = rate(fwd_bytes, fwd_s), r.bwd_gbs = rate(bwd_bytes, bwd_s), r.gbs = rate(r.bytes, fwd_s + bwd_s);
    r.gflops = rate(flops, fwd_s + bwd_s);
    r.intensity = r.bytes > 0 ? flops / r.bytes : NAN;
    r.peak_share = r.triad_share = r.roof_share = NAN;
    r.bound = NULL;
    if (m) {
        r.peak_share = r.gflops / m->peak_gflops;
        r.triad_share = r.gbs / m->stream_triad_gbs;
        double roof_gflops = fmin(m->peak_gflops, r.intensity * m->stream_triad_gbs);
        r.roof_share = roof_gflops > 0 ? r.gflops / roof_gflops : NAN;
        if (!isnan(r.intensity)) r.bound = r.intensity >= actlab_machine_balance(m) ? "compute" : "memory";
    }
    return r;
}

/* A number, or null when it is not one (JSON has no NaN). */
static void add_number(cJSON *o, const char *key, double v) {
    if (isfinite(v)) cJSON_AddNumberToObject(o, key, v);
    else cJSON_AddNullToObject(o, key);
}

/* "12.3%", or "n/a" without a machine, "-" without a time. */
static void percent(char *buf, size_t len, double share, int have_machine) {
    if (!have_machine) snprintf(buf, len, "n/a");
    else if (isnan(share)) snprintf(buf, len, "-");
    else snprintf(buf, len, "%.1f%%", 100 * share);
}

int cmd_profile(int argc, char **argv) {
    const char *model = "lenet", *data = "fashion-mnist", *act = "relu";
    int batch = 128, threads = 0, steps = 10, warmup = 3, json = 0, per_channel = 0, no_machine = 0;
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int dd = cli_defs_flag("profile", argc, argv, &i);
        if (dd < 0) return 2;
        if (dd) continue;
        if (!strcmp(f, "--help")) { usage(); return 0; }
        else if (!strcmp(f, "--json")) json = 1;
        else if (!strcmp(f, "--act-per-channel")) per_channel = 1;
        else if (!strcmp(f, "--no-machine")) no_machine = 1;
        else if (!v || (v[0] == '-' && v[1] == '-')) return cli_fail("profile", "unknown flag or missing value: '%s' (see actlab profile --help)", f);
        else if (!strcmp(f, "--model")) model = v, i++;
        else if (!strcmp(f, "--data")) data = v, i++;
        else if (!strcmp(f, "--act")) act = v, i++;
        else if (!strcmp(f, "--batch")) { if (whole(f, v, 1, 65536, &batch)) return 2; i++; }
        else if (!strcmp(f, "--threads")) { if (whole(f, v, 1, 1024, &threads)) return 2; i++; }
        else if (!strcmp(f, "--steps")) { if (whole(f, v, 1, 1000000, &steps)) return 2; i++; }
        else if (!strcmp(f, "--warmup")) { if (whole(f, v, 0, 1000000, &warmup)) return 2; i++; }
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

    /* the machine, measured on the steps' threads before the warm-up (which warms the
     * caches again after the STREAM arrays went through them) */
    actlab_machine machine, *m = NULL;
    if (!no_machine) {
        if (actlab_machine_measure(&machine, omp_get_max_threads(), err, sizeof err)) {
            cli_fail("profile", "measuring the machine: %s (--no-machine skips it)", err);
            profile_free(&p);
            return 1;
        }
        m = &machine;
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
        if (m) {
            cJSON *jm = cJSON_AddObjectToObject(root, "machine");
            cJSON_AddNumberToObject(jm, "threads", m->threads);
            cJSON_AddStringToObject(jm, "isa", m->isa);
            cJSON_AddNumberToObject(jm, "peak_gflops", m->peak_gflops);
            cJSON_AddNumberToObject(jm, "stream_copy_gbs", m->stream_copy_gbs);
            cJSON_AddNumberToObject(jm, "stream_triad_gbs", m->stream_triad_gbs);
            cJSON_AddNumberToObject(jm, "balance", actlab_machine_balance(m));
            cJSON_AddNumberToObject(jm, "seconds", m->seconds);
        } else {
            cJSON_AddNullToObject(root, "machine");
        }
        jl = cJSON_AddArrayToObject(root, "layers");
    } else {
        int t = omp_get_max_threads();
        printf("%s with %s on %s: batch %d, %d thread%s, %d steps after %d warm-up\n", model_path, spec, data, batch, t,
               t == 1 ? "" : "s", steps, warmup);
        if (m)
            printf("machine (%d thread%s, %s): peak %.1f GFLOP/s, STREAM copy %.1f GB/s, triad %.1f GB/s; balance %.1f "
                   "FLOP/B (peak / triad)\n", m->threads, m->threads == 1 ? "" : "s", m->isa, m->peak_gflops,
                   m->stream_copy_gbs, m->stream_triad_gbs, actlab_machine_balance(m));
        else
            printf("machine: not measured (--no-machine): %%peak, %%triad and bound are n/a\n");
        printf("%-3s %-13s %-30s %10s %9s %9s %7s %9s %9s %8s %7s %6s %6s %7s\n", "#", "layer", "details", "output",
               "fwd ms", "bwd ms", "share", "fwd GF/s", "bwd GF/s", "MB/step", "GB/s", "%peak", "%triad", "bound");
    }
    for (int i = 0; i < L; i++) {
        actlab_layer_info li;
        double f, b;
        actlab_net_layer_info(p.net, i, &li);
        actlab_net_layer_times(p.net, i, &f, &b);
        double fms = f * 1000 / steps, bms = b * 1000 / steps;
        /* achieved rate: the layer's forward FLOPs for the batch over its time; backward
         * counts that again for the weight gradient and again for the data gradient (which
         * the first layer does not compute), for the layers that multiply */
        int mult = !strcmp(li.type, "conv") || !strcmp(li.type, "dense");
        double fwd_flops = li.flops * batch, bwd_flops = mult ? fwd_flops * (li.input >= 0 ? 2 : 1) : 0;
        double gf = f > 0 ? fwd_flops / (fms / 1000) / 1e9 : 0;
        double gb = mult && b > 0 ? bwd_flops / (bms / 1000) / 1e9 : NAN;
        double fwd_bytes, bwd_bytes;
        layer_bytes(p.net, i, &li, &p.train, batch, &fwd_bytes, &bwd_bytes);
        roof r = layer_roof(fwd_bytes, bwd_bytes, fwd_flops + bwd_flops, fms / 1000, bms / 1000, m);
        char shape[48], bwd_rate[16], gbs[16], peak[16], triad[16];
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
            cJSON_AddNumberToObject(row, "step_flops", r.flops);
            cJSON_AddNumberToObject(row, "fwd_bytes", r.fwd_bytes);
            cJSON_AddNumberToObject(row, "bwd_bytes", r.bwd_bytes);
            cJSON_AddNumberToObject(row, "bytes", r.bytes);
            add_number(row, "fwd_gbs", r.fwd_gbs);
            add_number(row, "bwd_gbs", r.bwd_gbs);
            add_number(row, "gbs", r.gbs);
            add_number(row, "gflops", r.gflops);
            add_number(row, "intensity", r.intensity);
            add_number(row, "peak_share", r.peak_share);
            add_number(row, "triad_share", r.triad_share);
            add_number(row, "roofline_share", r.roof_share);
            if (r.bound) cJSON_AddStringToObject(row, "bound", r.bound);
            else cJSON_AddNullToObject(row, "bound");
            cJSON_AddItemToArray(jl, row);
            continue;
        }
        if (isnan(gb)) snprintf(bwd_rate, sizeof bwd_rate, "-");
        else snprintf(bwd_rate, sizeof bwd_rate, "%.2f", gb);
        if (isnan(r.gbs)) snprintf(gbs, sizeof gbs, "-");
        else snprintf(gbs, sizeof gbs, "%.2f", r.gbs);
        percent(peak, sizeof peak, r.peak_share, m != NULL);
        percent(triad, sizeof triad, r.triad_share, m != NULL);
        printf("%-3d %-13s %-30.30s %10s %9.3f %9.3f %6.1f%% %9.2f %9s %8.2f %7s %6s %6s %7s\n", i, li.type, li.detail,
               shape, fms, bms, 100 * (fms + bms) / step_ms, gf, bwd_rate, r.bytes / 1e6, gbs, peak, triad,
               r.bound ? r.bound : m ? "-" : "n/a");
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
        printf("MB/step, GB/s, %%peak, %%triad: over each layer's forward + backward (actlab profile --help for "
               "what is counted)\n");
    }
    profile_free(&p);
    return 0;
}
