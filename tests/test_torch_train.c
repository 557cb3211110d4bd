/*
 * test_torch_train.c — one training step of models/lenet.cfg and models/mlp.cfg
 * against PyTorch 1.13: loss, logits, gradients and the parameters after one
 * SGD step (momentum 0.9, weight decay 5e-4, none for PReLU's a).
 *
 * tests/golden/torch_train_{lenet,mlp}.txt were written once by
 * tools/golden_torch_train.py (which needs torch); this test only reads them.
 * The initial parameters and the inputs are not in the files: both sides make
 * them from the same integer hash (see U() and tg_init_value() in torch_golden.h,
 * which test_torch_cnn.c shares, and the script's docstring):
 *
 *     U(k,s)  = (2 fmix32(k*0x9E3779B1 + s*0x632BE5AB) + 1) / 2^32 - 1   (mod 2^32 hash, exact double)
 *     tensor t (arena order), element k:  weight float32(sqrt(6/fan_in) U(k,t+1)),
 *                                         bias   float32(U(k,t+1)/sqrt(fan_in)),  PReLU a 0.25
 *     x[k] = float32(U(k,1000)) for the batch of 8 1x28x28 images, y[b] = (3b+1) mod 10
 *
 * The files give, per case (model, activation): each parameter tensor's name,
 * arena offset, size, fan-in and whether it decays (checked against
 * actlab_net_param_blocks, so PyTorch's parameter order is actlab's arena
 * order by construction), sums of the initial values (proving the two hash
 * implementations agree), the loss, the logits, sums and signed checksums of
 * each gradient and step (any permutation of elements — a layout error —
 * changes them), and a sample of elements (gradient and new value).
 *
 * Tolerances: PyTorch's own float32 gradients differ from its float64 ones by
 * up to ~4e-4 relative on elements that nearly cancel (the file's header
 * says how much), so an element passes within 1e-4 relative plus 1e-5 of the
 * tensor's largest |gradient| (logits: 1e-6 of the largest |logit|). Each case
 * runs on the default (oneDNN) layers and on the plain C reference layers.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "actlab/net.h"
#include "check.h"
#include "torch_golden.h"

#define NPIX (28 * 28)

/* per element: 1e-4 relative plus 1e-5 of the tensor's max |g| (logits: 1e-6 of the max |logit|) */
static const tg_tol TOL = {1e-4, 1e-5, 1e-6};

/* Block i against tensor i of the file; fan[i]: a weight block's size over its bias's (= outputs). */
static int block_ok(actlab_net *net, const void *ctx, int i, int *fan) {
    const tg_case *c = ctx;
    const tg_tensor *t = &c->t[i];
    actlab_net_param_block b = actlab_net_param_block_at(net, i);
    const char *want_kind = !strcmp(t->role, "a") ? "act" : t->role;
    if (!strcmp(b.name, "weight")) {
        actlab_net_param_block bias = actlab_net_param_block_at(net, i + 1);
        fan[i] = bias.name && !strcmp(bias.name, "bias") ? (int)(b.n / bias.n) : -1;
    } else
        fan[i] = i > 0 ? fan[i - 1] : -1;
    int ok = b.name && !strcmp(b.name, want_kind) && b.offset == t->off && b.n == t->n && b.decay == t->decay &&
             (!strcmp(b.name, "act") || fan[i] == t->fan_in);
    CHECK(ok, "%s %s block %d: actlab %s offset %lld n %lld decay %d fan-in %d; torch %s offset %lld n %lld decay %d fan-in %d",
          c->model, c->act, i, b.name ? b.name : "?", (long long)b.offset, (long long)b.n, b.decay, fan[i], t->name,
          t->off, t->n, t->decay, t->fan_in);
    return ok;
}

static void run_case(const void *ctx, int use_reference) {
    const tg_case *c = ctx;
    const char *backend = use_reference ? "reference" : "default";
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/../models/%s.cfg", ACTLAB_TEST_DIR, c->model);
    actlab_net_options o = tg_net_options(c, use_reference);
    actlab_net *net = actlab_net_load(path, &o, err, sizeof err);
    CHECK(net != NULL, "%s %s: %s", c->model, c->act, err);
    if (!net) return;
    tg_worst w = {0};

    /* The arena: the same tensors at the same offsets as PyTorch's parameters(). */
    int64_t total = 0;
    for (int i = 0; i < c->nt; i++) total += c->t[i].n;
    int fan[TG_MAXT];
    if (!tg_check_arena(net, c, total, fan, block_ok, c)) {
        actlab_net_free(net);
        return;
    }
    int64_t np = actlab_net_param_count(net);
    float *p = actlab_net_params(net), *p0 = tg_init_params(c, p, np, fan);
    int32_t y[TG_BATCH];
    float *x = tg_inputs(TG_BATCH * NPIX, y);

    tg_forward(net, c, backend, x, y, &TOL, &w); /* nothing random in these models */
    const float *g = tg_backward(net, c, backend, &TOL, &w, NULL);
    tg_step(net, c, backend, p, p0, g, &TOL, &w); /* groups from the blocks: no weight decay where .decay == 0 */
    printf("%-5s %-5s %-9s loss %.1e, logits %.1e, gradients %.1e (%.2f of tol), step %.1e (%.2f of tol), sums "
           "%.2f of tol  [relative differences]\n",
           c->model, c->act, backend, w.loss_rel, w.logit_rel, w.grad_rel, w.grad_tol, w.step_rel, w.step_tol, w.chk_tol);
    free(x);
    free(p0);
    actlab_net_free(net);
}

int main(void) {
    static tg_case c;
    const tg_reader rd = {.run = run_case};
    tg_run_file("torch_train_lenet.txt", "relu, prelu", &c, &c, &rd);
    tg_run_file("torch_train_mlp.txt", "relu, elu", &c, &c, &rd);
    return check_summary("test_torch_train");
}
