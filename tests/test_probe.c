/*
 * test_probe.c — the training probe and the net's measurement API: dead and
 * near-dead units counted on a dense layer built so that the answer is known,
 * output statistics against a direct computation, a layer's output as NCHW on
 * the oneDNN path (channel-blocked) equal to the reference path's, an
 * activation layer's function and parameters, the probe set's draw, and the
 * per-layer timing counters.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "actlab/net.h"
#include "actlab/train.h"
#include "check.h"

/* 4 inputs, 8 ReLU-family units (the run's function), 2 outputs */
static const char *dense_model = "[net]\nchannels=1\nheight=2\nwidth=2\nclasses=2\n[dense]\noutputs=8\n[dense]\n";
/* two 16-channel convs (kept channel-blocked by oneDNN), batch norm, pooling, a head */
static const char *conv_model = "[net]\nchannels=3\nheight=8\nwidth=8\nclasses=4\n"
                                "[conv]\nfilters=16\nsize=3\npad=1\n"
                                "[conv]\nfilters=16\nsize=3\npad=1\nbatchnorm=1\n"
                                "[maxpool]\nsize=2\nstride=2\n"
                                "[globalavgpool]\n[dense]\n";

static uint64_t lcg = 12345;
static float uniform(float lo, float hi) { /* a fixed stream, for reproducible inputs */
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * (float)((lcg >> 40) / 16777216.0);
}

enum { N_IMG = 100, IN = 4, UNITS = 8 };
static const int dead_unit[UNITS] = {1, 0, 0, 1, 0, 1, 0, 0}; /* k = 3 units with a negative input for every image */

static actlab_net *dense_net(const char *act, int per_channel, float *w, float *b) {
    char err[512];
    actlab_net_options o = actlab_net_options_default();
    o.max_batch = 32;
    o.act = act;
    o.act_per_channel = per_channel;
    actlab_net *net = actlab_net_parse("dense", dense_model, &o, err, sizeof err);
    CHECK(net != NULL, "dense net: %s", err);
    if (!net) return NULL;
    actlab_net_init(net, 1);
    /* |W x| <= 0.4 for x in [-1, 1]: a bias of -1 keeps a unit's input negative, +1 positive */
    actlab_net_param_block wb = actlab_net_param_block_at(net, 0), bb = actlab_net_param_block_at(net, 1);
    CHECK(!strcmp(wb.name, "weight") && wb.n == UNITS * IN && !strcmp(bb.name, "bias") && bb.n == UNITS, "blocks");
    float *p = actlab_net_params(net);
    for (int i = 0; i < UNITS * IN; i++) p[wb.offset + i] = w[i];
    for (int u = 0; u < UNITS; u++) p[bb.offset + u] = b[u];
    return net;
}

static void test_dead_units(void) {
    float w[UNITS * IN], b[UNITS], x[N_IMG * IN];
    for (int i = 0; i < UNITS * IN; i++) w[i] = uniform(-0.1f, 0.1f);
    for (int u = 0; u < UNITS; u++) b[u] = dead_unit[u] ? -1.0f : 1.0f;
    for (int i = 0; i < N_IMG * IN; i++) x[i] = uniform(-1, 1);
    struct { const char *act; double slope, dead, near; } cases[] = {
        {"relu", 0, 3.0 / 8, 3.0 / 8},
        {"leaky_relu:a=0.01", 0.01, 0, 0},        /* a slope everywhere: no dead unit */
        {"leaky_relu:a=0.0001", 0.0001, 0, 3.0 / 8}, /* a tiny slope: near dead, not dead */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        actlab_net *net = dense_net(cases[c].act, 0, w, b);
        if (!net) return;
        CHECK(actlab_probe_layers(net) == 1, "one activation layer");
        actlab_probe_stats s;
        char err[512];
        int rc = actlab_probe_run(net, x, N_IMG, IN, 32, &s, err, sizeof err); /* 100 = 3 x 32 + 4 */
        CHECK(rc == 0, "%s: probe: %s", cases[c].act, err);
        CHECK(s.layer == 1 && s.act_index == 0 && s.units == UNITS, "%s: layer %d index %d units %d", cases[c].act, s.layer,
              s.act_index, s.units);
        CHECK(!strcmp(s.function, cases[c].slope ? "leaky_relu" : "relu"), "function %s", s.function);
        CHECK(s.dead == cases[c].dead, "%s: dead %g, want %g", cases[c].act, s.dead, cases[c].dead);
        CHECK(s.near_dead == cases[c].near, "%s: near dead %g, want %g", cases[c].act, s.near_dead, cases[c].near);
        /* mean, std and negative share straight from W x + b */
        double sum = 0, sumsq = 0, neg = 0, n = 0;
        for (int i = 0; i < N_IMG; i++)
            for (int u = 0; u < UNITS; u++) {
                double z = b[u];
                for (int k = 0; k < IN; k++) z += (double)w[u * IN + k] * x[i * IN + k];
                double y = z >= 0 ? z : cases[c].slope * z;
                sum += y, sumsq += y * y, neg += y < 0, n++;
            }
        double mean = sum / n, sd = sqrt(sumsq / n - mean * mean);
        CHECK(check_close(s.mean, mean, 1e-5, 1e-6), "%s: mean %.9g, want %.9g", cases[c].act, s.mean, mean);
        CHECK(check_close(s.std, sd, 1e-5, 1e-6), "%s: std %.9g, want %.9g", cases[c].act, s.std, sd);
        CHECK(s.negative == neg / n, "%s: negative %g, want %g", cases[c].act, s.negative, neg / n);
        /* the function and parameters of the layer */
        const float *params = (const float *)1;
        int sets = -1;
        const actlab_act_cfg *a = actlab_net_layer_act(net, 1, &params, &sets);
        CHECK(a && params == NULL && sets == 0, "fixed function: no arena parameters");
        CHECK(actlab_net_layer_act(net, 0, NULL, NULL) == NULL && actlab_net_layer_act(net, 99, NULL, NULL) == NULL,
              "not an activation layer");
        actlab_net_free(net);
    }
    /* learnable parameters: per channel, one set per unit, in the arena */
    actlab_net *net = dense_net("prelu", 1, w, b);
    if (!net) return;
    const float *params;
    int sets;
    const actlab_act_cfg *a = actlab_net_layer_act(net, 1, &params, &sets);
    CHECK(a && !strcmp(a->act->name, "prelu") && sets == UNITS && params, "prelu per channel: %d sets", sets);
    CHECK(params && params[0] == 0.25f && params[UNITS - 1] == 0.25f, "prelu's a starts at 0.25");
    actlab_probe_stats s;
    char err[512];
    CHECK(actlab_probe_run(net, x, N_IMG, IN, 32, &s, err, sizeof err) == 0 && s.dead == 0 && s.near_dead == 0,
          "prelu: no dead unit (%g)", s.dead);
    actlab_net_free(net);
}

/* The oneDNN path keeps the convs' outputs as nChw16c; the API gives NCHW equal to the reference path's. */
static void test_layout_and_times(void) {
    char err[512];
    actlab_net_options o = actlab_net_options_default();
    o.max_batch = 8;
    o.act = "relu";
    actlab_net *fast = actlab_net_parse("conv", conv_model, &o, err, sizeof err);
    CHECK(fast != NULL, "conv net: %s", err);
    o.use_reference = 1;
    actlab_net *ref = actlab_net_parse("conv", conv_model, &o, err, sizeof err);
    CHECK(ref != NULL, "conv net (reference): %s", err);
    if (!fast || !ref) return;
    actlab_net_init(fast, 3);
    actlab_net_init(ref, 3);
    enum { B = 5 };
    float x[B * 3 * 8 * 8];
    int32_t labels[B] = {0, 1, 2, 3, 1};
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) x[i] = uniform(-2, 2);
    int L = actlab_net_layers(fast), blocked = 0, in_place = 0;
    CHECK(L == actlab_net_layers(ref), "same layers");
    for (int i = 0; i < L; i++) {
        double f, b;
        actlab_net_layer_times(fast, i, &f, &b);
        CHECK(f == 0 && b == 0, "layer %d: no time before any pass", i);
    }
    CHECK(actlab_net_layer_output(fast, 0, x) == -1, "no output before a forward");
    CHECK(actlab_net_forward(fast, x, B, 1, 0, err, sizeof err) == 0, "forward: %s", err);
    CHECK(actlab_net_forward(ref, x, B, 1, 0, err, sizeof err) == 0, "forward (reference): %s", err);
    CHECK(actlab_net_batch(fast) == B, "batch");
    static float a[B * 16 * 8 * 8], r[B * 16 * 8 * 8], in[B * 16 * 8 * 8];
    for (int i = 0; i < L; i++) {
        actlab_layer_info li;
        actlab_net_layer_info(fast, i, &li);
        blocked += !strcmp(li.layout, "nChw16c");
        int64_t n = (int64_t)B * li.c * li.h * li.w;
        CHECK(actlab_net_layer_output(fast, i, a) == 0 && actlab_net_layer_output(ref, i, r) == 0, "layer %d output", i);
        double worst = 0, scale = 1e-6;
        for (int64_t k = 0; k < n; k++) worst = fmax(worst, fabs(a[k] - r[k])), scale = fmax(scale, fabs(r[k]));
        CHECK(worst <= 1e-4 * scale, "layer %d (%s, %s): NCHW output differs from the reference path by %g (scale %g)", i,
              li.type, li.layout, worst, scale);
        in_place += li.in_place;
        if (i > 0 && li.in_place) { /* its output took its input's memory: the source reads as this layer */
            CHECK(actlab_net_layer_input(fast, i, in) == 1, "layer %d (in place): no input kept", i);
            CHECK(actlab_net_layer_output(fast, li.input, in) == 0 && !memcmp(in, a, sizeof(float) * (size_t)n),
                  "layer %d (in place): layer %d's output reads as this layer's", i, li.input);
        } else if (i > 0) { /* a layer's input is the output of the layer it reads, in NCHW */
            CHECK(actlab_net_layer_input(fast, i, in) == 0 && actlab_net_layer_output(fast, li.input, a) == 0, "input");
            actlab_layer_info si;
            actlab_net_layer_info(fast, li.input, &si);
            CHECK(!memcmp(in, a, sizeof(float) * (size_t)(B * si.c * si.h * si.w)), "layer %d: input = layer %d's output", i,
                  li.input);
        }
    }
    CHECK(in_place >= 2, "%d layers run in place (want the ReLUs after batch norm and conv)", in_place);
    CHECK(blocked >= 3, "the fast path keeps %d layers channel-blocked (want the convs, batch norm, activations)", blocked);
    CHECK(actlab_net_layer_output(fast, L, a) == -1 && actlab_net_layer_output(fast, -1, a) == -1, "bad layer refused");

    /* the probe on blocked tensors: dead channels of the ReLUs as counted from the outputs */
    float imgs[20 * 3 * 8 * 8];
    for (size_t i = 0; i < sizeof imgs / sizeof imgs[0]; i++) imgs[i] = uniform(-2, 2);
    actlab_probe_stats s[2], sr[2];
    CHECK(actlab_probe_layers(fast) == 2, "two ReLUs");
    CHECK(actlab_probe_run(fast, imgs, 20, 3 * 8 * 8, 8, s, err, sizeof err) == 0, "probe: %s", err);
    CHECK(actlab_probe_run(ref, imgs, 20, 3 * 8 * 8, 8, sr, err, sizeof err) == 0, "probe (reference): %s", err);
    for (int k = 0; k < 2; k++) {
        CHECK(s[k].units == 16 && s[k].dead == sr[k].dead && s[k].near_dead == sr[k].near_dead, "ReLU %d: dead %g vs %g", k,
              s[k].dead, sr[k].dead);
        CHECK(check_close(s[k].mean, sr[k].mean, 1e-4, 1e-6) && check_close(s[k].std, sr[k].std, 1e-4, 1e-6) &&
                  s[k].negative == 0,
              "ReLU %d: mean %g/%g std %g/%g negative %g", k, s[k].mean, sr[k].mean, s[k].std, sr[k].std, s[k].negative);
        CHECK(s[k].dead >= 0 && s[k].dead <= s[k].near_dead && s[k].near_dead <= 1, "fractions");
    }

    /* timing: every layer's forward counted; backward after a loss; reset to zero */
    actlab_net_reset_times(fast);
    CHECK(actlab_net_forward(fast, x, B, 1, 1, err, sizeof err) == 0, "forward");
    actlab_net_loss(fast, labels, B, NULL);
    CHECK(actlab_net_backward(fast, B, err, sizeof err) == 0, "backward: %s", err);
    double f1[16], b1[16];
    for (int i = 0; i < L; i++) {
        actlab_net_layer_times(fast, i, &f1[i], &b1[i]);
        CHECK(f1[i] > 0 && b1[i] > 0, "layer %d timed: fwd %g bwd %g", i, f1[i], b1[i]);
    }
    CHECK(actlab_net_forward(fast, x, B, 1, 2, err, sizeof err) == 0, "forward");
    for (int i = 0; i < L; i++) {
        double f, b;
        actlab_net_layer_times(fast, i, &f, &b);
        CHECK(f > f1[i] && b == b1[i], "layer %d: forward time grows (%g -> %g), backward stays", i, f1[i], f);
    }
    actlab_net_reset_times(fast);
    double f, b;
    actlab_net_layer_times(fast, 0, &f, &b);
    CHECK(f == 0 && b == 0, "reset");
    actlab_net_free(fast);
    actlab_net_free(ref);
}

static void test_pick(void) {
    int64_t a[50], b[50], c[50];
    actlab_probe_pick(1000, 50, 7, a);
    actlab_probe_pick(1000, 50, 7, b);
    actlab_probe_pick(1000, 50, 8, c);
    int sorted = 1, same = 1, other = 0;
    for (int i = 0; i < 50; i++) {
        sorted &= a[i] >= 0 && a[i] < 1000 && (i == 0 || a[i] > a[i - 1]); /* increasing: distinct */
        same &= a[i] == b[i];
        other |= a[i] != c[i];
    }
    CHECK(sorted && same && other, "probe set: distinct, in range, of the seed (sorted %d same %d other %d)", sorted, same, other);
    int64_t all[10];
    actlab_probe_pick(10, 10, 3, all);
    int full = 1;
    for (int i = 0; i < 10; i++) full &= all[i] == i;
    CHECK(full, "n = count takes every image");
}

int main(void) {
    test_dead_units();
    test_layout_and_times();
    test_pick();
    return check_summary("test_probe");
}
