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
 * the parameters, running statistics and inputs from one integer hash:
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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "actlab/net.h"
#include "actlab/optim.h"
#include "check.h"
#include "nn/layout.h"
#include "nn/net_internal.h" /* align_kinks reads and sets activation inputs in the layers' buffers */

#define BATCH 8
#define CLASSES 10
#define IN_C 3
#define IN_H 32
#define IN_W 32
#define MAXT 96
#define MAXS 16        /* sampled channels per BN layer */
#define RTOL 1e-3      /* per element, relative */
#define ATOL_FRAC 1e-4 /* per element, times the tensor's max |value| */
#define RTOL_LOSS 1e-5
#define LR 0.1
#define ULP2 2.4e-7 /* 2 ulp of a float32, relative: the rounding of a stored value */
#define KINK_TAU 1e-4 /* the file lists ReLU inputs within this of 0, as the script's KINK_TAU */
#define MAXKINK 512

static const int resnet_widths[] = {16, 32, 32, 64};
static const int vgg_widths[] = {16, 16, 0, 32, 32, 0, 32, 32, 32, 0, 64, 64, 64, 0, 64, 64, 64, 0}; /* 0: max-pool */
#define NW(a) ((int)(sizeof(a) / sizeof((a)[0])))

static uint32_t fmix32(uint32_t h) {
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h;
}

/* A double in (-1, 1) from element k of stream s; exact, as in the script. */
static double U(uint32_t k, uint32_t s) {
    uint32_t h = fmix32(k * 0x9E3779B1u + s * 0x632BE5ABu);
    return (2.0 * h + 1.0) / 4294967296.0 - 1.0;
}

typedef struct gbn { /* a BN layer's running statistics, attached to its gamma tensor */
    long long off;
    int c, ns, k[MAXS];
    double mean0_sum, var0_sum, dmean_abs, dmean_max, dmean_chk, dvar_abs, dvar_max, dvar_chk;
    float mean[MAXS], var[MAXS];
} gbn;

typedef struct gtensor {
    char name[64], role[16], type[16]; /* role: weight, bias; type: conv, batchnorm, dense */
    long long off, n;
    int fan_in, decay, has_bn;
    double init_sum, init_abs, grad_sum, grad_abs, grad_max, grad_chk, step_chk;
    int ns, cap;
    long long *k;
    float *grad, *next;
    gbn bn;
} gtensor;

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
    char model[32], act[32], desc[160];
    long long arena;
    double loss;
    float logits[BATCH][CLASSES], eval[BATCH][CLASSES];
    int nact, nkink, ntie;
    gkink kink[MAXKINK];
    gtie tie[MAXKINK];
    int nt;
    gtensor t[MAXT];
} gcase;

/* Worst differences seen, for the summary line: relative, and in units of the tolerance. */
typedef struct worst {
    double loss_rel, logit_tol, grad_rel, grad_tol, step_tol, run_tol, eval_tol, chk_tol, kink_diff;
    int flips;
    char grad_at[64];
} worst;

static void note(double *w, double v) {
    if (v > *w) *w = v;
}

static void free_case(gcase *c) {
    for (int i = 0; i < c->nt; i++) {
        free(c->t[i].k);
        free(c->t[i].grad);
        free(c->t[i].next);
    }
    memset(c, 0, sizeof *c);
}

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
    append(text, len, "[net]\nchannels=%d\nheight=%d\nwidth=%d\nclasses=%d\n", IN_C, IN_H, IN_W, CLASSES);
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

/* The expected initial value of element k of tensor t. */
static float init_value(const gtensor *g, int t, int64_t k, int fan_in) {
    double u = U((uint32_t)k, (uint32_t)(t + 1));
    if (!strcmp(g->type, "batchnorm")) return (float)(!strcmp(g->role, "weight") ? 1.0 + 0.5 * u : 0.2 * u);
    return (float)(!strcmp(g->role, "weight") ? sqrt(6.0 / fan_in) * u : u / sqrt((double)fan_in));
}

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* Logits [BATCH][CLASSES] against the file's; returns how many differ. */
static int compare_logits(const gcase *c, const char *backend, const char *what, const float *got,
                          const float want[BATCH][CLASSES], double *worst_tol) {
    double lmax = 0;
    for (int b = 0; b < BATCH; b++)
        for (int j = 0; j < CLASSES; j++) lmax = fmax(lmax, fabs(want[b][j]));
    int bad = 0;
    for (int b = 0; b < BATCH; b++)
        for (int j = 0; j < CLASSES; j++) {
            double g = got[b * CLASSES + j], w = want[b][j], tol = RTOL * fabs(w) + ATOL_FRAC * lmax;
            note(worst_tol, fabs(g - w) / tol);
            if (!(fabs(g - w) <= tol) && bad++ < 3)
                CHECK(0, "%s %s (%s): %s logit[%d][%d] %.9g, torch %.9g", c->model, c->act, backend, what, b, j, g, w);
        }
    CHECK(bad == 0, "%s %s (%s): %d %s logits differ", c->model, c->act, backend, bad, what);
    return bad;
}

/* One BN layer's running statistics after the training forward: the change from the
 * initial values, sampled channels and checksums over all of them. */
static void compare_running(const gcase *c, const char *backend, int t, const float *now, const float *before,
                            worst *w) {
    const gbn *r = &c->t[t].bn;
    const char *name = c->t[t].name;
    for (int half = 0; half < 2; half++) { /* 0: mean, 1: variance */
        const float *p = now + (int64_t)half * r->c, *q = before + (int64_t)half * r->c;
        double dmax = half ? r->dvar_max : r->dmean_max, dabs = half ? r->dvar_abs : r->dmean_abs;
        double chk_want = half ? r->dvar_chk : r->dmean_chk;
        int bad = 0;
        for (int s = 0; s < r->ns; s++) {
            int k = r->k[s];
            double d_got = (double)p[k] - q[k], d_want = (double)(half ? r->var[s] : r->mean[s]) - q[k];
            double tol = RTOL * fabs(d_want) + ATOL_FRAC * dmax + ULP2 * fabs(q[k]);
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
        double tol = RTOL * dabs + ULP2 * q_abs;
        note(&w->chk_tol, fabs(chk - chk_want) / tol);
        CHECK(bad == 0 && fabs(chk - chk_want) <= tol && check_close(a, dabs, RTOL, ULP2 * q_abs),
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
static void check_ties(actlab_net *net, const gcase *c, const char *backend) {
    for (int j = 0; j < c->ntie; j++) {
        const gtie *t = &c->tie[j];
        int li = -1;
        for (int i = 0, n = 0; i < net->nlayers && li < 0; i++)
            if (!strcmp(net->layers[i].kind->name, "maxpool") && n++ == t->p) li = i;
        const nn_layer *l = li >= 0 ? &net->layers[li] : NULL;
        int64_t hw = l ? (int64_t)l->in_h * l->in_w : 0;
        int ok = l && l->src >= 0 && t->i < (long long)BATCH * l->in_c * hw && t->j < (long long)BATCH * l->in_c * hw;
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
static int align_kinks(actlab_net *net, const gcase *c, const char *backend, worst *w) {
    int *at = malloc(sizeof(int) * (size_t)(net->nlayers + 1)), nact = 0;
    for (int i = 0; i < net->nlayers; i++)
        if (!strcmp(net->layers[i].kind->name, "activation")) at[nact++] = i;
    CHECK(nact == c->nact, "%s %s (%s): %d activation layers, torch %d", c->model, c->act, backend, nact, c->nact);
    if (nact != c->nact) {
        free(at);
        return -1;
    }
    for (int j = 0; j < c->nkink; j++) {
        const gkink *g = &c->kink[j];
        nn_layer *a = &net->layers[at[g->a]];
        nn_layer *s = a->src >= 0 ? &net->layers[a->src] : NULL;
        int ok = s && g->k < (long long)BATCH * a->c * a->h * a->w;
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

static void run_case(const gcase *c, int use_reference) {
    const char *backend = use_reference ? "reference" : "default";
    double t0 = seconds();
    char text[8192], desc[160], err[512];
    CHECK(model_text(c->model, text, sizeof text, desc, sizeof desc) == 0, "unknown model %s", c->model);
    CHECK(!strcmp(desc, c->desc), "%s: the golden file is for '%s', this test builds '%s'", c->model, c->desc, desc);
    if (strcmp(desc, c->desc)) return;
    actlab_net_options o = actlab_net_options_default();
    o.max_batch = BATCH;
    o.act = c->act;
    o.use_reference = use_reference;
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
    int nb = actlab_net_param_blocks(net);
    int64_t np = actlab_net_param_count(net);
    CHECK(nb == c->nt && np == c->arena, "%s %s: actlab has %d blocks, an arena of %lld; torch %d tensors, %lld",
          c->model, c->act, nb, (long long)np, c->nt, c->arena);
    if (nb != c->nt || np != c->arena) {
        actlab_net_free(net);
        return;
    }
    int fan[MAXT];
    int layout_ok = 1;
    for (int i = 0; i < nb; i++) {
        actlab_net_param_block b = actlab_net_param_block_at(net, i);
        const gtensor *t = &c->t[i];
        actlab_layer_info li;
        actlab_net_layer_info(net, b.layer, &li);
        /* fan-in as actlab sees it: a weight's size over the layer's outputs; none for BN */
        fan[i] = !strcmp(li.type, "batchnorm") ? 0 : !strcmp(b.name, "weight") ? (int)(b.n / li.c) : fan[i - 1];
        int ok = b.name && !strcmp(b.name, t->role) && !strcmp(li.type, t->type) && b.offset == t->off &&
                 b.n == t->n && b.decay == t->decay && fan[i] == t->fan_in;
        CHECK(ok, "%s %s block %d: actlab %s %s offset %lld n %lld decay %d fan-in %d; torch %s %s offset %lld n %lld decay %d fan-in %d",
              c->model, c->act, i, li.type, b.name ? b.name : "?", (long long)b.offset, (long long)b.n, b.decay, fan[i],
              t->name, t->type, t->off, t->n, t->decay, t->fan_in);
        if (ok && t->has_bn) { /* the running statistics right after beta, which comes next */
            actlab_net_param_block beta = actlab_net_param_block_at(net, i + 1);
            ok = beta.layer == b.layer && beta.offset + beta.n == t->bn.off && t->bn.c == b.n;
            CHECK(ok, "%s %s: %s's running statistics at %lld, torch %lld", c->model, c->act, t->name,
                  (long long)(beta.offset + beta.n), t->bn.off);
        }
        layout_ok &= ok;
    }
    if (!layout_ok) {
        actlab_net_free(net);
        return;
    }

    /* Initial values by the formula; their sums prove both sides made the same ones. */
    float *p = actlab_net_params(net);
    for (int i = 0; i < nb; i++) {
        const gtensor *t = &c->t[i];
        double s = 0, a = 0;
        for (int64_t k = 0; k < t->n; k++) {
            float v = init_value(t, i, k, fan[i]);
            p[t->off + k] = v;
            s += v, a += fabs(v);
        }
        CHECK(check_close(s, t->init_sum, 1e-12, 1e-12 * a) && check_close(a, t->init_abs, 1e-12, 0),
              "%s %s %s: initial sum %.17g abs %.17g, torch %.17g %.17g (the hash formulas differ)", c->model, c->act,
              t->name, s, a, t->init_sum, t->init_abs);
        if (!t->has_bn) continue;
        float *mean = p + t->bn.off, *var = mean + t->bn.c;
        double sm = 0, sv = 0;
        for (int k = 0; k < t->bn.c; k++) {
            mean[k] = (float)(0.1 * U((uint32_t)k, (uint32_t)(3000 + i)));
            var[k] = (float)(1.0 + 0.5 * U((uint32_t)k, (uint32_t)(4000 + i)));
            sm += mean[k], sv += var[k];
        }
        CHECK(check_close(sm, t->bn.mean0_sum, 1e-12, 1e-12 * t->bn.c) && check_close(sv, t->bn.var0_sum, 1e-12, 0),
              "%s %s %s: initial running mean sum %.17g var sum %.17g, torch %.17g %.17g", c->model, c->act, t->name,
              sm, sv, t->bn.mean0_sum, t->bn.var0_sum);
    }
    float *p0 = malloc(sizeof(float) * (size_t)np);
    memcpy(p0, p, sizeof(float) * (size_t)np);
    enum { NX = BATCH * IN_C * IN_H * IN_W };
    float *x = malloc(sizeof(float) * NX);
    int32_t y[BATCH];
    for (int k = 0; k < NX; k++) x[k] = (float)U((uint32_t)k, 1000);
    for (int b = 0; b < BATCH; b++) y[b] = (3 * b + 1) % CLASSES;

    /* Forward in training mode (batch statistics; updates the running ones), loss. */
    int rc = actlab_net_forward(net, x, BATCH, 1, 0, err, sizeof err);
    CHECK(rc == 0, "%s %s forward: %s", c->model, c->act, err);
    double loss = actlab_net_loss(net, y, BATCH, NULL);
    w.loss_rel = fabs(loss - c->loss) / fabs(c->loss);
    CHECK(check_close(loss, c->loss, RTOL_LOSS, 0), "%s %s (%s): loss %.9g, torch %.9g", c->model, c->act, backend,
          loss, c->loss);
    int nout = 0;
    const float *out = actlab_net_output(net, &nout);
    CHECK(nout == CLASSES, "%s: %d outputs", c->model, nout);
    compare_logits(c, backend, "training", out, c->logits, &w.logit_tol);
    for (int i = 0; i < nb; i++)
        if (c->t[i].has_bn) compare_running(c, backend, i, p + c->t[i].bn.off, p0 + c->t[i].bn.off, &w);
    align_kinks(net, c, backend, &w);
    check_ties(net, c, backend);

    rc = actlab_net_backward(net, BATCH, err, sizeof err);
    CHECK(rc == 0, "%s %s backward: %s", c->model, c->act, err);
    const float *g = actlab_net_grads(net);
    int bad = 0, checked = 0, last_bad = -1;
    double per[MAXT] = {0}; /* worst per tensor, to name the layer where a difference starts */
    for (int i = 0; i < nb; i++) {
        const gtensor *t = &c->t[i];
        const float *gt = g + t->off;
        double atol = ATOL_FRAC * t->grad_max;
        for (int s = 0; s < t->ns; s++) {
            double got = gt[t->k[s]], want = t->grad[s];
            double tol = RTOL * fabs(want) + atol;
            if (fabs(got - want) / tol > w.grad_tol) snprintf(w.grad_at, sizeof w.grad_at, "%s", t->name);
            note(&w.grad_tol, fabs(got - want) / tol);
            note(&per[i], fabs(got - want) / tol);
            if (fabs(want) > 1e-3 * t->grad_max) note(&w.grad_rel, fabs(got - want) / fabs(want));
            checked++;
            if (!(fabs(got - want) <= tol) && bad++ < 5)
                CHECK(0, "%s %s (%s): d loss / d %s[%lld] = %.9g, torch %.9g", c->model, c->act, backend, t->name,
                      t->k[s], got, want);
        }
        /* Sums over the whole tensor; the signed checksum catches permuted elements. */
        double sum = 0, abs_ = 0, max = 0, chk = 0;
        for (int64_t k = 0; k < t->n; k++) {
            sum += gt[k], abs_ += fabs(gt[k]), max = fmax(max, fabs(gt[k]));
            chk += U((uint32_t)k, (uint32_t)(2000 + i)) * gt[k];
        }
        double tol = RTOL * t->grad_abs;
        note(&w.chk_tol, fabs(chk - t->grad_chk) / tol);
        note(&w.chk_tol, fabs(sum - t->grad_sum) / tol);
        note(&per[i], fabs(chk - t->grad_chk) / tol);
        if (per[i] > 1) last_bad = i;
        CHECK(fabs(sum - t->grad_sum) <= tol && fabs(chk - t->grad_chk) <= tol &&
                  check_close(abs_, t->grad_abs, RTOL, 0) && check_close(max, t->grad_max, RTOL, 0),
              "%s %s (%s) %s gradient: sum %.9g abs %.9g max %.9g checksum %.9g; torch %.9g %.9g %.9g %.9g", c->model,
              c->act, backend, t->name, sum, abs_, max, chk, t->grad_sum, t->grad_abs, t->grad_max, t->grad_chk);
    }
    CHECK(bad == 0, "%s %s (%s): %d of %d sampled gradients differ", c->model, c->act, backend, bad, checked);
    if (last_bad >= 0) { /* backward runs from the last tensor: the last one that differs is where it starts */
        fprintf(stderr, "%s %s (%s): gradient difference per tensor, in units of the tolerance:", c->model, c->act, backend);
        for (int i = 0; i < nb; i++) fprintf(stderr, " %s %.2g", c->t[i].name, per[i]);
        fprintf(stderr, "\n%s %s (%s): the last tensor (in arena order) whose gradient differs: %s\n", c->model,
                c->act, backend, c->t[last_bad].name);
    }

    /* One SGD step over the blocks; the running statistics are in none, so it leaves them. */
    actlab_optim_config cfg = actlab_optim_config_default(ACTLAB_OPTIM_SGD);
    cfg.lr = LR, cfg.momentum = 0.9, cfg.weight_decay = 5e-4;
    actlab_param_group groups[MAXT];
    for (int i = 0; i < nb; i++) {
        actlab_net_param_block b = actlab_net_param_block_at(net, i);
        groups[i] = (actlab_param_group){p + b.offset, g + b.offset, b.n, b.decay ? 1.0f : 0.0f, c->t[i].name};
    }
    float *running = malloc(sizeof(float) * (size_t)np); /* the arena before the step */
    memcpy(running, p, sizeof(float) * (size_t)np);
    actlab_optim *opt = actlab_optim_new(&cfg, groups, nb, err, sizeof err);
    CHECK(opt != NULL, "optimiser: %s", err);
    if (opt) {
        CHECK(actlab_optim_step(opt, LR) == 0, "step");
        bad = checked = 0;
        for (int i = 0; i < nb; i++) {
            const gtensor *t = &c->t[i];
            const float *pt = p + t->off, *q = p0 + t->off;
            /* compare the change new - init: lr (g + wd p) with the gradient's tolerance, plus 2 ulp of p */
            for (int s = 0; s < t->ns; s++) {
                int64_t k = t->k[s];
                double d_got = (double)pt[k] - q[k], d_want = (double)t->next[s] - q[k];
                double tol = RTOL * fabs(d_want) + LR * ATOL_FRAC * t->grad_max + ULP2 * fabs(q[k]);
                note(&w.step_tol, fabs(d_got - d_want) / tol);
                checked++;
                if (!(fabs(d_got - d_want) <= tol) && bad++ < 5)
                    CHECK(0, "%s %s (%s): %s[%lld] after the step %.9g (from %.9g), torch %.9g", c->model, c->act,
                          backend, t->name, (long long)k, pt[k], q[k], t->next[s]);
            }
            double chk = 0, dabs = 0;
            for (int64_t k = 0; k < t->n; k++) {
                double d = (double)pt[k] - q[k];
                chk += U((uint32_t)k, (uint32_t)(2000 + i)) * d;
                dabs += fabs(d);
            }
            double tol = RTOL * dabs + ULP2 * t->init_abs;
            note(&w.chk_tol, fabs(chk - t->step_chk) / tol);
            CHECK(fabs(chk - t->step_chk) <= tol, "%s %s (%s) %s step checksum %.9g, torch %.9g", c->model, c->act,
                  backend, t->name, chk, t->step_chk);
            if (t->has_bn) {
                const float *r0 = running + t->bn.off, *r1 = p + t->bn.off;
                CHECK(!memcmp(r0, r1, sizeof(float) * 2 * (size_t)t->bn.c), "%s %s (%s): the step changed %s's running statistics",
                      c->model, c->act, backend, t->name);
            }
        }
        CHECK(bad == 0, "%s %s (%s): %d of %d sampled updated parameters differ", c->model, c->act, backend, bad,
              checked);
        actlab_optim_free(opt);

        /* Eval mode after the step: the running statistics and the new parameters. */
        rc = actlab_net_forward(net, x, BATCH, 0, 1, err, sizeof err);
        CHECK(rc == 0, "%s %s eval forward: %s", c->model, c->act, err);
        compare_logits(c, backend, "eval", actlab_net_output(net, NULL), c->eval, &w.eval_tol);
    }
    char kinks[128] = "";
    if (c->nkink)
        snprintf(kinks, sizeof kinks, "; ReLU inputs near 0: %d, within %.1e of torch's, %d on the other side", c->nkink,
                 w.kink_diff, w.flips);
    printf("%-8s %-5s %-9s loss %.1e; in units of the tolerance: logits %.2f, running stats %.2f, gradients %.2f "
           "(%.1e relative, worst %s), step %.2f, eval logits %.2f, sums %.2f%s; %.2f s\n",
           c->model, c->act, backend, w.loss_rel, w.logit_tol, w.run_tol, w.grad_tol, w.grad_rel, w.grad_at,
           w.step_tol, w.eval_tol, w.chk_tol, kinks, seconds() - t0);
    free(running);
    free(x);
    free(p0);
    actlab_net_free(net);
}

static int add_sample(gtensor *t, long long k, float gv, float nv) {
    if (t->ns == t->cap) {
        int cap = t->cap ? 2 * t->cap : 16;
        long long *kk = realloc(t->k, sizeof *kk * (size_t)cap);
        if (kk) t->k = kk;
        float *gg = realloc(t->grad, sizeof *gg * (size_t)cap);
        if (gg) t->grad = gg;
        float *nn = realloc(t->next, sizeof *nn * (size_t)cap);
        if (nn) t->next = nn;
        if (!kk || !gg || !nn) return -1;
        t->cap = cap;
    }
    t->k[t->ns] = k, t->grad[t->ns] = gv, t->next[t->ns] = nv;
    t->ns++;
    return 0;
}

/* A line of CLASSES logits after its "KEY B" prefix, which must be sample `want_b`. */
static int read_logits(const char *line, const char *key, int want_b, float row[CLASSES]) {
    int b, pos = 0, used;
    char fmt[32];
    snprintf(fmt, sizeof fmt, "%s %%d%%n", key);
    int ok = sscanf(line, fmt, &b, &pos) == 1 && b == want_b && b < BATCH;
    for (int j = 0; ok && j < CLASSES; j++, pos += used) ok = sscanf(line + pos, "%f%n", &row[j], &used) == 1;
    return ok;
}

/* Reads one golden file, running each case as its "end" line is reached. Returns cases run. */
static int run_file(const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/golden/%s", ACTLAB_TEST_DIR, name);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "cannot open %s", path);
    if (!f) return 0;
    static gcase c;
    memset(&c, 0, sizeof c);
    char line[4096];
    int lineno = 0, ncases = 0, incase = 0, have_loss = 0, nlogits = 0, neval = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n') continue;
        int ok = 1;
        if (!strncmp(line, "case ", 5)) {
            free_case(&c);
            ok = sscanf(line, "case %31s %31s", c.model, c.act) == 2;
            incase = 1, have_loss = 0, nlogits = neval = 0;
        } else if (!incase) {
            ok = 0;
        } else if (!strncmp(line, "s ", 2)) {
            int t;
            long long k;
            float gv, nv;
            ok = sscanf(line, "s %d %lld %f %f", &t, &k, &gv, &nv) == 4 && t >= 0 && t < c.nt && k >= 0 && k < c.t[t].n &&
                 add_sample(&c.t[t], k, gv, nv) == 0;
        } else if (!strncmp(line, "r ", 2)) {
            int t, k;
            float m, v;
            ok = sscanf(line, "r %d %d %f %f", &t, &k, &m, &v) == 4 && t >= 0 && t < c.nt && c.t[t].has_bn && k >= 0 &&
                 k < c.t[t].bn.c && c.t[t].bn.ns < MAXS;
            if (ok) {
                gbn *r = &c.t[t].bn;
                r->k[r->ns] = k, r->mean[r->ns] = m, r->var[r->ns] = v;
                r->ns++;
            }
        } else if (!strncmp(line, "tensor ", 7)) {
            int t;
            ok = sscanf(line, "tensor %d", &t) == 1 && t == c.nt && t < MAXT;
            if (ok) {
                gtensor *g = &c.t[c.nt++];
                ok = sscanf(line, "tensor %*d %63s %15s %lld %lld %d %d", g->name, g->type, &g->off, &g->n, &g->fan_in,
                            &g->decay) == 6;
                const char *dot = strrchr(g->name, '.');
                ok = ok && dot && snprintf(g->role, sizeof g->role, "%s", dot + 1) > 0;
            }
        } else if (!strncmp(line, "stats ", 6)) {
            int t;
            ok = sscanf(line, "stats %d", &t) == 1 && t == c.nt - 1;
            if (ok) {
                gtensor *g = &c.t[t];
                ok = sscanf(line, "stats %*d %lf %lf %lf %lf %lf %lf %lf", &g->init_sum, &g->init_abs, &g->grad_sum,
                            &g->grad_abs, &g->grad_max, &g->grad_chk, &g->step_chk) == 7;
            }
        } else if (!strncmp(line, "bn ", 3)) {
            int t;
            ok = sscanf(line, "bn %d", &t) == 1 && t >= 0 && t < c.nt && !strcmp(c.t[t].type, "batchnorm") &&
                 !strcmp(c.t[t].role, "weight");
            if (ok) {
                gbn *r = &c.t[t].bn;
                ok = sscanf(line, "bn %*d %lld %d %lf %lf %lf %lf %lf %lf %lf %lf", &r->off, &r->c, &r->mean0_sum,
                            &r->var0_sum, &r->dmean_abs, &r->dmean_max, &r->dmean_chk, &r->dvar_abs, &r->dvar_max,
                            &r->dvar_chk) == 10 && r->c == c.t[t].n;
                c.t[t].has_bn = ok;
            }
        } else if (!strncmp(line, "logits ", 7)) {
            ok = read_logits(line, "logits", nlogits, c.logits[nlogits < BATCH ? nlogits : 0]);
            nlogits += ok;
        } else if (!strncmp(line, "eval ", 5)) {
            ok = read_logits(line, "eval", neval, c.eval[neval < BATCH ? neval : 0]);
            neval += ok;
        } else if (!strncmp(line, "kink ", 5)) {
            gkink *g = &c.kink[c.nkink < MAXKINK ? c.nkink : 0];
            ok = c.nkink < MAXKINK && sscanf(line, "kink %d %lld %f", &g->a, &g->k, &g->x) == 3 && g->a >= 0 &&
                 g->a < c.nact && g->k >= 0 && fabsf(g->x) < KINK_TAU;
            c.nkink += ok;
        } else if (!strncmp(line, "tie ", 4)) {
            gtie *t = &c.tie[c.ntie < MAXKINK ? c.ntie : 0];
            ok = c.ntie < MAXKINK && sscanf(line, "tie %d %lld %lld %lld %f", &t->p, &t->w, &t->i, &t->j, &t->gap) == 5 &&
                 t->p >= 0 && t->w >= 0 && t->i >= 0 && t->j >= 0;
            c.ntie += ok;
        } else if (!strncmp(line, "activations ", 12)) {
            ok = sscanf(line, "activations %d", &c.nact) == 1 && c.nact > 0;
        } else if (!strncmp(line, "loss ", 5)) {
            ok = sscanf(line, "loss %lf", &c.loss) == 1;
            have_loss = ok;
        } else if (!strncmp(line, "arena ", 6)) {
            ok = sscanf(line, "arena %lld", &c.arena) == 1;
        } else if (!strncmp(line, "model ", 6)) {
            snprintf(c.desc, sizeof c.desc, "%.*s", (int)strcspn(line, "\r\n"), line);
        } else if (!strncmp(line, "batch ", 6)) {
            int b = 0;
            ok = sscanf(line, "batch %d", &b) == 1 && b == BATCH;
        } else if (!strncmp(line, "optim ", 6)) {
            ok = strstr(line, "lr=0.1 momentum=0.9 dampening=0 nesterov=0 weight_decay=0.0005") != NULL;
        } else if (!strncmp(line, "act ", 4)) {
            /* repeated from the case line */
        } else if (!strncmp(line, "end", 3)) {
            int nbn = 0;
            for (int i = 0; i < c.nt; i++) nbn += c.t[i].has_bn;
            ok = have_loss && nlogits == BATCH && neval == BATCH && c.nt > 0 && nbn > 0 && c.desc[0] && c.nact > 0;
            if (ok) {
                run_case(&c, 0);
                run_case(&c, 1);
                ncases++;
            }
            incase = 0;
        } else {
            ok = 0;
        }
        CHECK(ok, "%s:%d: cannot read: %.60s", path, lineno, line);
        if (!ok) break;
    }
    free_case(&c);
    fclose(f);
    return ncases;
}

int main(void) {
    int n = run_file("torch_cnn_resnet18.txt");
    CHECK(n == 2, "torch_cnn_resnet18.txt: %d cases (want relu, erelu)", n);
    n = run_file("torch_cnn_vgg16.txt");
    CHECK(n == 1, "torch_cnn_vgg16.txt: %d cases (want relu)", n);
    return check_summary("test_torch_cnn");
}
