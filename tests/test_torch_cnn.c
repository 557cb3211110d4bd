/*
 * test_torch_cnn.c — one training step of ResNet-18 and VGG-16 with batch norm
 * (models/resnet18.cfg and models/vgg16.cfg at reduced widths) against PyTorch
 * 1.13: loss, logits, gradients, the parameters after one SGD step (momentum
 * 0.9, weight decay 5e-4 on every parameter, batch norm's too), batch norm's
 * running mean and variance after the training forward, and the eval-mode
 * logits after the step (which normalise by those running statistics).
 *
 * tests/golden/torch_cnn_{resnet18,vgg16}.txt were written once by
 * tools/golden_torch_cnn.py (which needs torch); this test only reads them.
 * The model text is made here (model_text) with the structure of the .cfg
 * files and widths that are multiples of 16, so that the oneDNN path keeps its
 * nChw16c channel blocks between layers — the layout this test is for. As in
 * test_torch_train.c, nothing random and no weights are stored: both sides make
 * the parameters, running statistics and inputs from one integer hash (U() and
 * tg_init_value() in torch_golden.h, which also reads the lines both kinds of
 * golden file have and makes the checks on the loss, logits, gradients and step):
 *
 *     U(k,s)  = (2 fmix32(k*0x9E3779B1 + s*0x632BE5AB) + 1) / 2^32 - 1   (mod 2^32 hash, exact double)
 *     tensor t, element k: conv/dense weight float32(sqrt(6/fan_in) U(k,t+1)),
 *                          dense bias float32(U(k,t+1)/sqrt(fan_in)),
 *                          BN gamma float32(1 + 0.5 U(k,t+1)), BN beta float32(0.2 U(k,t+1))
 *     BN with gamma t, channel c: running mean float32(0.1 U(c,3000+t)), var float32(1 + 0.5 U(c,4000+t))
 *     x[k] = float32(U(k,1000)) for the batch of 8 3x32x32 images, y[b] = (3b+1) mod 10
 *
 * The files give each parameter tensor's name, layer type, arena offset (the
 * running statistics sit in the arena after each BN layer's beta, outside the
 * blocks), size and fan-in, checked against actlab_net_param_blocks, so
 * PyTorch's parameter order is actlab's arena order by construction; sums of
 * the initial values; sums and signed checksums of each gradient, step and
 * running-statistics change (a permutation of elements — a layout error —
 * changes them) and a sample of elements.
 *
 * Cases: ResNet-18 with ReLU and with EReLU (-log(1-x) below 0, smooth), VGG-16
 * with ReLU; each on the default (oneDNN) layers and on the plain C reference
 * layers, and each path checks that its layers do (or do not) use nChw16c.
 *
 * Tolerances: 1e-3 relative plus 1e-4 of the tensor's largest |value|, per
 * element (gradients, logits, step changes, running-statistics changes); the
 * loss 1e-5 relative. PyTorch's own float32 results differ from its float64
 * ones by up to 0.04 of that on gradients, 0.1 on step changes (the rounding of
 * the new value), 0.02 on the rest (the files' headers give the figures per
 * case); actlab differs from PyTorch by up to 0.05 and 0.2. 13 to 20 layers of
 * batch norm over 8 samples, with planes down to 2x2, cancel more than LeNet
 * does: test_torch_train.c's 1e-4 would leave little room for a different
 * summation order.
 *
 * Two rounding hazards are not noise but switches, handled by what the files
 * list (align_kinks, check_ties): ReLU inputs within 1e-4 of 0, where the two
 * sides may disagree on the sign (the test then takes PyTorch's), and
 * max-pooling windows whose two largest inputs are close (the script keeps them
 * at least 5e-6 apart; the test checks that actlab orders them alike). Both
 * need the layers' buffers, hence net_internal.h.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "actlab/net.h"
#include "check.h"
#include "nn/layout.h"
#include "nn/net_internal.h" /* align_kinks reads and sets activation inputs in the layers' buffers */
#include "torch_golden.h"

#define IN_C 3
#define IN_H 32
#define IN_W 32
#define MAXS 16        /* sampled channels per BN layer */
#define RTOL 1e-3      /* per element, relative */
#define ATOL_FRAC 1e-4 /* per element, times the tensor's max |value| */
#define KINK_TAU 1e-4 /* the file lists ReLU inputs within this of 0, as the script's KINK_TAU */
#define MAXKINK 512

static const tg_tol TOL = {RTOL, ATOL_FRAC, ATOL_FRAC}; /* the loss: TG_RTOL_LOSS (1e-5) relative */

static const int resnet_widths[] = {16, 32, 32, 64};
static const int vgg_widths[] = {16, 16, 0, 32, 32, 0, 32, 32, 32, 0, 64, 64, 64, 0, 64, 64, 64, 0}; /* 0: max-pool */
#define NW(a) ((int)(sizeof(a) / sizeof((a)[0])))

typedef struct gbn { /* a BN layer's running statistics, kept with its gamma tensor */
    int has;
    long long off;
    int c, ns, k[MAXS];
    double mean0_sum, var0_sum, dmean_abs, dmean_max, dmean_chk, dvar_abs, dvar_max, dvar_chk;
    float mean[MAXS], var[MAXS];
} gbn;

typedef struct gkink { /* a ReLU input near 0 in PyTorch: activation layer a, flat NCHW element k */
    int a;
    long long k;
    float x;
} gkink;

typedef struct gtie { /* a near tie in PyTorch: max-pooling p's output w, its largest input i, the next j */
    int p;
    long long w, i, j;
    float gap;
} gtie;

typedef struct gcase {
    tg_case c; /* the lines every golden file has; the rest is this test's, cleared by begin_case */
    long long arena;
    float eval[TG_BATCH][TG_CLASSES];
    int neval, nact, nkink, ntie;
    gkink kink[MAXKINK];
    gtie tie[MAXKINK];
    gbn bn[TG_MAXT]; /* per tensor: the running statistics of the BN layer whose gamma it is */
} gcase;

/* Worst differences seen, for the summary line, beyond those of torch_golden.h. */
typedef struct worst {
    tg_worst tg;
    double run_tol, eval_tol, kink_diff;
    int flips;
} worst;

static void append(char *buf, size_t len, const char *fmt, ...) {
    size_t used = strlen(buf);
    va_list ap;
    va_start(ap, fmt);
    if (used < len) vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

static void conv_section(char *buf, size_t len, int filters, int stride, const char *act) {
    append(buf, len, "\n[conv]\nfilters=%d\nsize=3\nstride=%d\npad=1\nbatchnorm=1\nactivation=%s\n", filters, stride, act);
}

/* The reduced-width model text (the structure of models/MODEL.cfg) and its one-line
 * description as the golden file's "model" line gives it. */
static int model_text(const char *model, char *text, size_t len, char *desc, size_t dlen) {
    text[0] = desc[0] = 0;
    append(text, len, "[net]\nchannels=%d\nheight=%d\nwidth=%d\nclasses=%d\n", IN_C, IN_H, IN_W, TG_CLASSES);
    append(desc, dlen, "model %s widths=", model);
    if (!strcmp(model, "resnet18")) {
        conv_section(text, len, resnet_widths[0], 1, "open");
        for (int s = 0; s < NW(resnet_widths); s++) {
            append(desc, dlen, "%s%d", s ? "," : "", resnet_widths[s]);
            for (int b = 0; b < 2; b++) { /* two basic blocks; the first of stages 2-4 halves the plane */
                conv_section(text, len, resnet_widths[s], s > 0 && b == 0 ? 2 : 1, "open");
                conv_section(text, len, resnet_widths[s], 1, "none");
                append(text, len, "\n[shortcut]\nfrom=-3\nactivation=open\n");
            }
        }
        append(text, len, "\n[globalavgpool]\n");
    } else if (!strcmp(model, "vgg16")) {
        for (int i = 0; i < NW(vgg_widths); i++) {
            if (vgg_widths[i]) conv_section(text, len, vgg_widths[i], 1, "open");
            else append(text, len, "\n[maxpool]\nsize=2\n");
            if (vgg_widths[i]) append(desc, dlen, "%s%d", i ? "," : "", vgg_widths[i]);
            else append(desc, dlen, ",M");
        }
    } else {
        return -1;
    }
    append(text, len, "\n[dense]\n");
    append(desc, dlen, " input=%dx%dx%d", IN_C, IN_H, IN_W);
    return 0;
}


static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}


/* One BN layer's running statistics after the training forward: the change from the
 * initial values, sampled channels and checksums over all of them. */
static void compare_running(const gcase *gc, const char *backend, int t, const float *now, const float *before,
                            worst *w) {
    const tg_case *c = &gc->c;
    const gbn *r = &gc->bn[t];
    const char *name = c->t[t].name;
    for (int half = 0; half < 2; half++) { /* 0: mean, 1: variance */
        const float *p = now + (int64_t)half * r->c, *q = before + (int64_t)half * r->c;
        double dmax = half ? r->dvar_max : r->dmean_max, dabs = half ? r->dvar_abs : r->dmean_abs;
        double chk_want = half ? r->dvar_chk : r->dmean_chk;
        int bad = 0;
        for (int s = 0; s < r->ns; s++) {
            int k = r->k[s];
            double d_got = (double)p[k] - q[k], d_want = (double)(half ? r->var[s] : r->mean[s]) - q[k];
            double tol = RTOL * fabs(d_want) + ATOL_FRAC * dmax + TG_ULP2 * fabs(q[k]);
            note(&w->run_tol, fabs(d_got - d_want) / tol);
            if (!(fabs(d_got - d_want) <= tol) && bad++ < 3)
                CHECK(0, "%s %s (%s): %s running %s[%d] %.9g (from %.9g), torch %.9g", c->model, c->act, backend, name,
                      half ? "var" : "mean", k, p[k], q[k], half ? r->var[s] : r->mean[s]);
        }
        double chk = 0, a = 0, q_abs = 0;
        for (int k = 0; k < r->c; k++) {
            double d = (double)p[k] - q[k];
            chk += U((uint32_t)k, (uint32_t)((half ? 6000 : 5000) + t)) * d;
            a += fabs(d), q_abs += fabs(q[k]);
        }
        double tol = RTOL * dabs + TG_ULP2 * q_abs;
        note(&w->tg.chk_tol, fabs(chk - chk_want) / tol);
        CHECK(bad == 0 && fabs(chk - chk_want) <= tol && check_close(a, dabs, RTOL, TG_ULP2 * q_abs),
              "%s %s (%s) %s running %s: change abs %.9g checksum %.9g; torch %.9g %.9g", c->model, c->act, backend,
              name, half ? "var" : "mean", a, chk, dabs, chk_want);
    }
}

/* Where element k (flat NCHW index) of a C x hw tensor lies in its buffer. */
static int64_t elem_in(int C, int64_t hw, int blocked, long long k) {
    if (!blocked || hw == 1) return k;
    int64_t q = k % hw, ch = (k / hw) % C, b = k / (hw * C);
    return ((b * (C / NN_BLOCK) + ch / NN_BLOCK) * hw + q) * NN_BLOCK + ch % NN_BLOCK;
}

static int64_t elem_at(const nn_layer *l, int blocked, long long k) { return elem_in(l->c, (int64_t)l->h * l->w, blocked, k); }

/* Rounding must not swap a max-pooling window's two largest inputs either (the script
 * keeps them TIE_MIN apart): that would send the window's gradient elsewhere. */
static void check_ties(actlab_net *net, const gcase *gc, const char *backend) {
    const tg_case *c = &gc->c;
    for (int j = 0; j < gc->ntie; j++) {
        const gtie *t = &gc->tie[j];
        int li = -1;
        for (int i = 0, n = 0; i < net->nlayers && li < 0; i++)
            if (!strcmp(net->layers[i].kind->name, "maxpool") && n++ == t->p) li = i;
        const nn_layer *l = li >= 0 ? &net->layers[li] : NULL;
        int64_t hw = l ? (int64_t)l->in_h * l->in_w : 0;
        int64_t nin = l ? (int64_t)TG_BATCH * l->in_c * hw : 0;
        int ok = l && l->src >= 0 && t->i < nin && t->j < nin;
        CHECK(ok, "%s %s: max-pooling %d of the file does not fit", c->model, c->act, t->p);
        if (!ok) continue;
        const float *in = l->in_conv ? l->in_conv : net->layers[l->src].out;
        int blocked = l->in_conv ? l->in_blocked : net->layers[l->src].blocked;
        float a = in[elem_in(l->in_c, hw, blocked, t->i)], b = in[elem_in(l->in_c, hw, blocked, t->j)];
        CHECK(a > b || (a == b && t->i < t->j),
              "%s %s (%s): max-pooling layer %d, output %lld: inputs %lld = %.9g and %lld = %.9g, torch's larger "
              "first by %.3g — a tie broken the other way by rounding, so the gradients before layer %d cannot match",
              c->model, c->act, backend, li, t->w, t->i, a, t->j, b, t->gap, li);
    }
}

/* ReLU's derivative jumps at 0: an input within rounding of 0 may fall on the other
 * side here than in PyTorch, and then every gradient before that layer differs by one
 * element's share of dy (seen: 3.5% of a BN bias gradient in VGG's reference path, from
 * an input of -9.4e-7 against PyTorch's +4.8e-7). The file lists PyTorch's inputs
 * within KINK_TAU of 0; each must agree to rounding, and where the sign differs,
 * PyTorch's value (and ReLU's output of it) goes into the buffers that the activation's
 * backward reads (it decides by its output), so the gradients can be compared strictly.
 * Returns -1 if the activation layers do not match the file. */
static int align_kinks(actlab_net *net, const gcase *gc, const char *backend, worst *w) {
    const tg_case *c = &gc->c;
    int *at = malloc(sizeof(int) * (size_t)(net->nlayers + 1)), nact = 0;
    for (int i = 0; i < net->nlayers; i++)
        if (!strcmp(net->layers[i].kind->name, "activation")) at[nact++] = i;
    CHECK(nact == gc->nact, "%s %s (%s): %d activation layers, torch %d", c->model, c->act, backend, nact, gc->nact);
    if (nact != gc->nact) {
        free(at);
        return -1;
    }
    for (int j = 0; j < gc->nkink; j++) {
        const gkink *g = &gc->kink[j];
        nn_layer *a = &net->layers[at[g->a]];
        nn_layer *s = a->src >= 0 ? &net->layers[a->src] : NULL;
        int ok = s && g->k < (long long)TG_BATCH * a->c * a->h * a->w;
        CHECK(ok, "%s %s: kink %d of activation %d out of range", c->model, c->act, j, g->a);
        if (!ok) continue;
        float *in = s->out + elem_at(a, s->blocked, g->k);
        note(&w->kink_diff, fabs(*in - g->x));
        CHECK(fabs(*in - g->x) <= KINK_TAU, "%s %s (%s): activation layer %d's input %lld is %.9g, torch %.9g", c->model,
              c->act, backend, at[g->a], g->k, *in, g->x);
        if ((*in > 0) == (g->x > 0)) continue;
        if (w->flips++ < 3)
            printf("%s %s (%s): ReLU input %lld of layer %d is %.3g here, %.3g in torch: PyTorch's side taken\n", c->model,
                   c->act, backend, g->k, at[g->a], *in, g->x);
        *in = g->x;
        if (a->in_conv) a->in_conv[elem_at(a, a->in_blocked, g->k)] = g->x;
        a->out[elem_at(a, a->blocked, g->k)] = g->x > 0 ? g->x : 0.0f;
    }
    free(at);
    return 0;
}

/* Block i against tensor i of the file; fan[i]: a weight's size over the layer's outputs, none for BN.
 * A BN layer's running statistics come right after its beta, which follows gamma. */
static int block_ok(actlab_net *net, const void *ctx, int i, int *fan) {
    const gcase *gc = ctx;
    const tg_case *c = &gc->c;
    const tg_tensor *t = &c->t[i];
    const gbn *r = &gc->bn[i];
    actlab_net_param_block b = actlab_net_param_block_at(net, i);
    actlab_layer_info li;
    actlab_net_layer_info(net, b.layer, &li);
    fan[i] = !strcmp(li.type, "batchnorm") ? 0 : !strcmp(b.name, "weight") ? (int)(b.n / li.c) : fan[i - 1];
    int ok = b.name && !strcmp(b.name, t->role) && !strcmp(li.type, t->type) && b.offset == t->off && b.n == t->n &&
             b.decay == t->decay && fan[i] == t->fan_in;
    CHECK(ok, "%s %s block %d: actlab %s %s offset %lld n %lld decay %d fan-in %d; torch %s %s offset %lld n %lld decay %d fan-in %d",
          c->model, c->act, i, li.type, b.name ? b.name : "?", (long long)b.offset, (long long)b.n, b.decay, fan[i],
          t->name, t->type, t->off, t->n, t->decay, t->fan_in);
    if (ok && r->has) {
        actlab_net_param_block beta = actlab_net_param_block_at(net, i + 1);
        ok = beta.layer == b.layer && beta.offset + beta.n == r->off && r->c == b.n;
        CHECK(ok, "%s %s: %s's running statistics at %lld, torch %lld", c->model, c->act, t->name,
              (long long)(beta.offset + beta.n), r->off);
    }
    return ok;
}

static void run_case(const void *ctx, int use_reference) {
    const gcase *gc = ctx;
    const tg_case *c = &gc->c;
    const char *backend = use_reference ? "reference" : "default";
    double t0 = seconds();
    char text[8192], desc[160], err[512];
    CHECK(model_text(c->model, text, sizeof text, desc, sizeof desc) == 0, "unknown model %s", c->model);
    CHECK(!strcmp(desc, c->model_line), "%s: the golden file is for '%s', this test builds '%s'", c->model,
          c->model_line, desc);
    if (strcmp(desc, c->model_line)) return;
    actlab_net_options o = tg_net_options(c, use_reference);
    actlab_net *net = actlab_net_parse(c->model, text, &o, err, sizeof err);
    CHECK(net != NULL, "%s %s: %s", c->model, c->act, err);
    if (!net) return;
    worst w = {0};

    /* The fast path keeps channel blocks between layers (the point of these widths). */
    int blocked = 0;
    for (int i = 0; i < actlab_net_layers(net); i++) {
        actlab_layer_info li;
        actlab_net_layer_info(net, i, &li);
        blocked += !strcmp(li.layout, "nChw16c");
    }
    CHECK(use_reference ? blocked == 0 : blocked > actlab_net_layers(net) / 2, "%s (%s): %d of %d layers nChw16c",
          c->model, backend, blocked, actlab_net_layers(net));

    /* The arena: the same tensors at the same offsets as PyTorch's parameters(), with
     * each BN layer's running statistics after its beta. */
    int fan[TG_MAXT];
    if (!tg_check_arena(net, c, gc->arena, fan, block_ok, gc)) {
        actlab_net_free(net);
        return;
    }

    /* Initial values by the formula; their sums prove both sides made the same ones. */
    int64_t np = actlab_net_param_count(net);
    float *p = actlab_net_params(net);
    for (int i = 0; i < c->nt; i++) { /* the running statistics */
        const gbn *r = &gc->bn[i];
        if (!r->has) continue;
        float *mean = p + r->off, *var = mean + r->c;
        double sm = 0, sv = 0;
        for (int k = 0; k < r->c; k++) {
            mean[k] = (float)(0.1 * U((uint32_t)k, (uint32_t)(3000 + i)));
            var[k] = (float)(1.0 + 0.5 * U((uint32_t)k, (uint32_t)(4000 + i)));
            sm += mean[k], sv += var[k];
        }
        CHECK(check_close(sm, r->mean0_sum, 1e-12, 1e-12 * r->c) && check_close(sv, r->var0_sum, 1e-12, 0),
              "%s %s %s: initial running mean sum %.17g var sum %.17g, torch %.17g %.17g", c->model, c->act,
              c->t[i].name, sm, sv, r->mean0_sum, r->var0_sum);
    }
    float *p0 = tg_init_params(c, p, np, fan); /* the parameters, and a copy of the whole arena */
    int32_t y[TG_BATCH];
    float *x = tg_inputs(TG_BATCH * IN_C * IN_H * IN_W, y);

    /* Forward in training mode (batch statistics; updates the running ones), loss, logits. */
    tg_forward(net, c, backend, x, y, &TOL, &w.tg);
    for (int i = 0; i < c->nt; i++)
        if (gc->bn[i].has) compare_running(gc, backend, i, p + gc->bn[i].off, p0 + gc->bn[i].off, &w);
    align_kinks(net, gc, backend, &w);
    check_ties(net, gc, backend);

    double per[TG_MAXT] = {0}; /* worst per tensor, to name the layer where a difference starts */
    const float *g = tg_backward(net, c, backend, &TOL, &w.tg, per);
    int last_bad = -1;
    for (int i = 0; i < c->nt; i++)
        if (per[i] > 1) last_bad = i;
    if (last_bad >= 0) { /* backward runs from the last tensor: the last one that differs is where it starts */
        fprintf(stderr, "%s %s (%s): gradient difference per tensor, in units of the tolerance:", c->model, c->act, backend);
        for (int i = 0; i < c->nt; i++) fprintf(stderr, " %s %.2g", c->t[i].name, per[i]);
        fprintf(stderr, "\n%s %s (%s): the last tensor (in arena order) whose gradient differs: %s\n", c->model,
                c->act, backend, c->t[last_bad].name);
    }

    /* One SGD step over the blocks; the running statistics are in none, so it leaves them. */
    float *running = malloc(sizeof(float) * (size_t)np); /* the arena before the step */
    memcpy(running, p, sizeof(float) * (size_t)np);
    if (tg_step(net, c, backend, p, p0, g, &TOL, &w.tg) == 0) {
        for (int i = 0; i < c->nt; i++) {
            const gbn *r = &gc->bn[i];
            if (r->has)
                CHECK(!memcmp(running + r->off, p + r->off, sizeof(float) * 2 * (size_t)r->c),
                      "%s %s (%s): the step changed %s's running statistics", c->model, c->act, backend, c->t[i].name);
        }

        /* Eval mode after the step: the running statistics and the new parameters. */
        int rc = actlab_net_forward(net, x, TG_BATCH, 0, 1, err, sizeof err), nout = 0;
        CHECK(rc == 0, "%s %s eval forward: %s", c->model, c->act, err);
        const float *out = actlab_net_output(net, &nout);
        tg_compare_logits(c, backend, "eval", out, nout, gc->eval, &TOL, NULL, &w.eval_tol);
    }
    char kinks[128] = "";
    if (gc->nkink)
        snprintf(kinks, sizeof kinks, "; ReLU inputs near 0: %d, within %.1e of torch's, %d on the other side", gc->nkink,
                 w.kink_diff, w.flips);
    printf("%-8s %-5s %-9s loss %.1e; in units of the tolerance: logits %.2f, running stats %.2f, gradients %.2f "
           "(%.1e relative, worst %s), step %.2f, eval logits %.2f, sums %.2f%s; %.2f s\n",
           c->model, c->act, backend, w.tg.loss_rel, w.tg.logit_tol, w.run_tol, w.tg.grad_tol, w.tg.grad_rel,
           w.tg.grad_at, w.tg.step_tol, w.eval_tol, w.tg.chk_tol, kinks, seconds() - t0);
    free(running);
    free(x);
    free(p0);
    actlab_net_free(net);
}

/* The golden file's lines beyond torch_golden.h's: running statistics, eval logits, kinks, ties. */
static void begin_case(void *ctx) {
    memset((char *)ctx + offsetof(gcase, arena), 0, sizeof(gcase) - offsetof(gcase, arena));
}

static int read_line(void *ctx, const char *line) {
    gcase *gc = ctx;
    tg_case *c = &gc->c;
    if (!strncmp(line, "r ", 2)) {
        int t, k;
        float m, v;
        int ok = sscanf(line, "r %d %d %f %f", &t, &k, &m, &v) == 4 && t >= 0 && t < c->nt && gc->bn[t].has &&
                 k >= 0 && k < gc->bn[t].c && gc->bn[t].ns < MAXS;
        if (ok) {
            gbn *r = &gc->bn[t];
            r->k[r->ns] = k, r->mean[r->ns] = m, r->var[r->ns] = v;
            r->ns++;
        }
        return ok;
    }
    if (!strncmp(line, "bn ", 3)) {
        int t;
        if (!(sscanf(line, "bn %d", &t) == 1 && t >= 0 && t < c->nt && !strcmp(c->t[t].type, "batchnorm") &&
              !strcmp(c->t[t].role, "weight")))
            return 0;
        gbn *r = &gc->bn[t];
        r->has = sscanf(line, "bn %*d %lld %d %lf %lf %lf %lf %lf %lf %lf %lf", &r->off, &r->c, &r->mean0_sum,
                        &r->var0_sum, &r->dmean_abs, &r->dmean_max, &r->dmean_chk, &r->dvar_abs, &r->dvar_max,
                        &r->dvar_chk) == 10 && r->c == c->t[t].n;
        return r->has;
    }
    if (!strncmp(line, "eval ", 5)) {
        int ok = tg_read_logits(line, "eval", gc->neval, gc->eval[gc->neval < TG_BATCH ? gc->neval : 0]);
        gc->neval += ok;
        return ok;
    }
    if (!strncmp(line, "kink ", 5)) {
        gkink *g = &gc->kink[gc->nkink < MAXKINK ? gc->nkink : 0];
        int ok = gc->nkink < MAXKINK && sscanf(line, "kink %d %lld %f", &g->a, &g->k, &g->x) == 3 && g->a >= 0 &&
                 g->a < gc->nact && g->k >= 0 && fabsf(g->x) < KINK_TAU;
        gc->nkink += ok;
        return ok;
    }
    if (!strncmp(line, "tie ", 4)) {
        gtie *t = &gc->tie[gc->ntie < MAXKINK ? gc->ntie : 0];
        int ok = gc->ntie < MAXKINK && sscanf(line, "tie %d %lld %lld %lld %f", &t->p, &t->w, &t->i, &t->j, &t->gap) == 5 &&
                 t->p >= 0 && t->w >= 0 && t->i >= 0 && t->j >= 0;
        gc->ntie += ok;
        return ok;
    }
    if (!strncmp(line, "activations ", 12)) return sscanf(line, "activations %d", &gc->nact) == 1 && gc->nact > 0;
    if (!strncmp(line, "arena ", 6)) return sscanf(line, "arena %lld", &gc->arena) == 1;
    return -1;
}

static int complete(const void *ctx) {
    const gcase *gc = ctx;
    int nbn = 0;
    for (int i = 0; i < gc->c.nt; i++) nbn += gc->bn[i].has;
    return gc->neval == TG_BATCH && nbn > 0 && gc->c.model_line[0] && gc->nact > 0;
}

int main(void) {
    static gcase gc;
    const tg_reader rd = {.typed = 1, .begin = begin_case, .line = read_line, .complete = complete, .run = run_case};
    tg_run_file("torch_cnn_resnet18.txt", "relu, erelu", &gc.c, &gc, &rd);
    tg_run_file("torch_cnn_vgg16.txt", "relu", &gc.c, &gc, &rd);
    return check_summary("test_torch_cnn");
}
