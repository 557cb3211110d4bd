/*
 * test_fusion.c — layers run in place (actlab_net_options.unfused = 0, the default) give
 * the same bits as every layer writing its own buffer (unfused = 1), for every function
 * of the catalogue and a user formula: two training steps of a small residual conv net
 * (conv -> BN -> f, conv -> BN -> + -> f, dropout, global pooling, dense) on the oneDNN
 * path with channel-blocked tensors and on the plain C reference path. In-place running
 * changes where values live, not the arithmetic, so loss, logits, every parameter
 * gradient and the updated parameters must match exactly. It also checks which layers
 * ran in place: the activations whose derivative needs only y (the catalogue's flag), the
 * residual add and dropout; the others not.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "actlab/act.h"
#include "actlab/net.h"
#include "check.h"

static const char *model = "[net]\nchannels=3\nheight=8\nwidth=8\nclasses=4\n"
                           "[conv]\nfilters=16\nsize=3\npad=1\nbatchnorm=1\n"
                           "[conv]\nfilters=16\nsize=3\npad=1\nbatchnorm=1\nactivation=none\n"
                           "[shortcut]\nfrom=-2\nactivation=open\n"
                           "[dropout]\nprobability=0.25\n"
                           "[globalavgpool]\n[dense]\n";

enum { B = 6, IN = 3 * 8 * 8, STEPS = 2 };

typedef struct result {
    double loss[STEPS];
    float logits[STEPS][B * 4];
    float *grads, *params;
    int64_t n;
    int in_place;
} result;

/* Two SGD steps from seed 7 on a fixed batch; returns 0 or -1 (a message was printed). */
static int train(const char *act, int per_channel, int reference, int unfused, result *r) {
    char err[512];
    actlab_net_options o = actlab_net_options_default();
    o.max_batch = B, o.act = act, o.act_per_channel = per_channel, o.use_reference = reference, o.unfused = unfused;
    actlab_net *net = actlab_net_parse("fusion", model, &o, err, sizeof err);
    CHECK(net != NULL, "%s: %s", act, err);
    if (!net) return -1;
    actlab_net_init(net, 7);
    static float x[B * IN];
    int32_t labels[B] = {0, 1, 2, 3, 1, 2};
    uint64_t s = 99;
    for (int i = 0; i < B * IN; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((s >> 40) / 16777216.0) * 4 - 2;
    }
    r->in_place = 0;
    for (int i = 0; i < actlab_net_layers(net); i++) {
        actlab_layer_info li;
        actlab_net_layer_info(net, i, &li);
        r->in_place += li.in_place;
    }
    r->n = actlab_net_param_count(net);
    r->grads = malloc(sizeof(float) * (size_t)r->n);
    r->params = malloc(sizeof(float) * (size_t)r->n);
    int rc = 0, correct;
    for (int k = 0; k < STEPS && !rc; k++) {
        if (actlab_net_forward(net, x, B, 1, (uint64_t)k, err, sizeof err)) rc = -1;
        if (!rc) {
            memcpy(r->logits[k], actlab_net_output(net, NULL), sizeof r->logits[k]);
            r->loss[k] = actlab_net_loss(net, labels, B, &correct);
        }
        if (!rc && actlab_net_backward(net, B, err, sizeof err)) rc = -1;
        float *p = actlab_net_params(net), *g = actlab_net_grads(net);
        for (int64_t j = 0; !rc && j < r->n; j++) p[j] -= 0.05f * g[j];
    }
    CHECK(rc == 0, "%s: %s", act, err);
    memcpy(r->grads, actlab_net_grads(net), sizeof(float) * (size_t)r->n);
    memcpy(r->params, actlab_net_params(net), sizeof(float) * (size_t)r->n);
    actlab_net_free(net);
    return rc;
}

static void compare(const char *act, int per_channel, int reference, int from_y) {
    result fused, unfused;
    const char *path = reference ? "reference" : "oneDNN";
    if (train(act, per_channel, reference, 0, &fused) || train(act, per_channel, reference, 1, &unfused)) return;
    CHECK(unfused.in_place == 0, "%s (%s): unfused, yet %d layers ran in place", act, path, unfused.in_place);
    /* the residual add always; both activations when f' needs only y (the second follows the
     * add, over a batch norm's output), and then not dropout, which would overwrite the y the
     * second activation's backward reads; dropout in place otherwise */
    int want = from_y ? 3 : 2;
    CHECK(fused.in_place == want, "%s (%s): %d layers in place, want %d", act, path, fused.in_place, want);
    for (int k = 0; k < STEPS; k++) {
        CHECK(memcmp(&fused.loss[k], &unfused.loss[k], sizeof(double)) == 0, "%s (%s) step %d: loss %.17g fused vs %.17g",
              act, path, k, fused.loss[k], unfused.loss[k]);
        CHECK(memcmp(fused.logits[k], unfused.logits[k], sizeof fused.logits[k]) == 0, "%s (%s) step %d: logits differ",
              act, path, k);
    }
    int64_t bad_g = 0, bad_p = 0;
    for (int64_t j = 0; j < fused.n && fused.n == unfused.n; j++) {
        bad_g += memcmp(&fused.grads[j], &unfused.grads[j], sizeof(float)) != 0;
        bad_p += memcmp(&fused.params[j], &unfused.params[j], sizeof(float)) != 0;
    }
    CHECK(fused.n == unfused.n && bad_g == 0 && bad_p == 0,
          "%s (%s): %lld of %lld gradients and %lld parameters differ between fused and unfused", act, path,
          (long long)bad_g, (long long)fused.n, (long long)bad_p);
    free(fused.grads), free(fused.params), free(unfused.grads), free(unfused.params);
}

int main(void) {
    int n = actlab_act_count(), from_y = 0;
    for (int i = 0; i < n; i++) {
        const actlab_act *a = actlab_act_at(i);
        int fy = (a->flags & ACTLAB_ACT_FROM_Y) != 0;
        from_y += fy;
        compare(a->name, 0, 0, fy);
        compare(a->name, 0, 1, fy);
    }
    CHECK(n >= 30 && from_y >= 10, "catalogue of %d functions, %d with f' from y", n, from_y);
    /* learnable parameters per channel: the net keeps those layers in NCHW */
    compare("prelu", 1, 0, 0);
    compare("erelu", 1, 0, 1); /* no parameters: per channel changes nothing, in place still */
    /* a user formula: EReLU written out (the analyser decides whether f' needs only y) */
    char err[256];
    const actlab_act *u = actlab_act_define("erelu_expr", "x >= 0 ? x : -log(1 - x)", NULL, err, sizeof err);
    CHECK(u != NULL, "user formula: %s", err);
    if (u) compare("erelu_expr", 0, 0, (u->flags & ACTLAB_ACT_FROM_Y) != 0);
    return check_summary("test_fusion");
}
