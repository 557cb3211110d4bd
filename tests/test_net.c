/*
 * test_net.c — networks built from model text: shapes and parameter counts,
 * the whole backward pass against finite differences of the loss (conv,
 * pooling, dense, dropout off, activations with learnable parameters per
 * channel), determinism of init, and model-file errors named by line.
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "actlab/net.h"
#include "check.h"

static const char *tiny =
    "[net]\nchannels=2\nheight=8\nwidth=8\nclasses=3\n"
    "[conv]\nfilters=3\nsize=3\npad=1\nactivation=open\n"
    "[maxpool]\nsize=2\n"
    "[conv]\nfilters=4\nsize=2\nstride=1\nactivation=elu:alpha=0.7\n"
    "[avgpool]\nsize=2\nstride=1\n"
    "[dense]\noutputs=5\nactivation=swish\n"
    "[dropout]\nprobability=0.3\n"
    "[dense]\n";

/* Maxout and global average pooling (the heads of the papers' larger nets). */
static const char *tiny_maxout =
    "[net]\nchannels=2\nheight=8\nwidth=8\nclasses=3\n"
    "[conv]\nfilters=8\nsize=3\npad=1\nactivation=none\n"
    "[maxout]\npieces=2\n"
    "[conv]\nfilters=6\nsize=3\nactivation=open\n"
    "[globalavgpool]\n"
    "[dense]\n";

/* Residual blocks with batch norm, as in the CIFAR ResNets: an identity shortcut on 16
 * channels (kept channel-blocked on the oneDNN path), then a stride-2 block whose
 * shortcut needs the 1x1 projection; batch norm after a dense layer too. */
static const char *tiny_res =
    "[net]\nchannels=3\nheight=6\nwidth=6\nclasses=3\n"
    "[conv]\nfilters=16\nsize=3\npad=1\nbatchnorm=1\nactivation=open\n"
    "[conv]\nfilters=16\nsize=3\npad=1\nbatchnorm=1\nactivation=none\n"
    "[shortcut]\nfrom=-2\nactivation=open\n"
    "[conv]\nfilters=32\nsize=3\nstride=2\npad=1\nbatchnorm=1\nactivation=open\n"
    "[conv]\nfilters=32\nsize=3\npad=1\nbatchnorm=1\nactivation=none\n"
    "[shortcut]\nfrom=-3\nactivation=open\n"
    "[globalavgpool]\n"
    "[dense]\n";

/* The same with batch norm after a dense layer (BatchNorm1d). */
static const char *tiny_res_bn1d =
    "[net]\nchannels=3\nheight=6\nwidth=6\nclasses=3\n"
    "[conv]\nfilters=16\nsize=3\npad=1\nbatchnorm=1\nactivation=open\n"
    "[conv]\nfilters=16\nsize=3\npad=1\nbatchnorm=1\nactivation=none\n"
    "[shortcut]\nfrom=-2\nactivation=open\n"
    "[globalavgpool]\n"
    "[dense]\noutputs=16\nactivation=none\n"
    "[batchnorm]\nactivation=open\n"
    "[dense]\n";

/* Evaluation mode (dropout off) unless the net has batch norm: then training mode, the
 * mode whose gradient backward computes (through the batch statistics). */
static int fd_training;

/* Maxout between blocked tensors: 32 channels in, 16 out (the net converts around it),
 * and a shortcut from the network's input (NCHW, 16 channels) onto a blocked tensor. */
static const char *tiny_convert =
    "[net]\nchannels=16\nheight=4\nwidth=4\nclasses=3\n"
    "[conv]\nfilters=32\nsize=3\npad=1\nactivation=none\n"
    "[maxout]\npieces=2\n"
    "[conv]\nfilters=16\nsize=3\npad=1\nactivation=open\n"
    "[shortcut]\nfrom=-3\n"
    "[globalavgpool]\n"
    "[dense]\n";

/* Loss of the net at its current parameters. */
static double loss_at(actlab_net *net, const float *x, const int32_t *y, int B) {
    char err[256];
    actlab_net_forward(net, x, B, fd_training, 0, err, sizeof err);
    return actlab_net_loss(net, y, B, NULL);
}

static void check_gradients_of(const char *model, const char *act, int per_channel) {
    actlab_net_options o = actlab_net_options_default();
    o.max_batch = 4;
    o.act = act;
    o.act_per_channel = per_channel;
    char err[512];
    actlab_net *net = actlab_net_parse("tiny", model, &o, err, sizeof err);
    CHECK(net != NULL, "tiny net: %s", err);
    if (!net) return;
    actlab_net_init(net, 3);
    enum { B = 4 };
    float x[B * 256];
    int32_t y[B] = {0, 2, 1, 2};
    for (int i = 0; i < B * 256; i++) x[i] = actlab_noise_normal(8, 0, (uint64_t)i);
    loss_at(net, x, y, B);
    CHECK(actlab_net_backward(net, B, err, sizeof err) == 0, "backward: %s", err);
    int64_t n = actlab_net_param_count(net);
    float *g = malloc(sizeof(float) * (size_t)n), *w = actlab_net_params(net);
    memcpy(g, actlab_net_grads(net), sizeof(float) * (size_t)n);
    int bad = 0, checked = 0;
    for (int64_t i = 0; i < n; i += (i % 7 == 6) ? 3 : 1) {
        if (g[i] == 0 && fd_training) continue; /* running statistics: state, not trained */
        float keep = w[i];
        double h = 1e-3 * fmax(1, fabs(keep)); /* small: a bigger step can flip a maxpool winner */
        w[i] = keep + (float)h;
        double up = loss_at(net, x, y, B);
        w[i] = keep - (float)h;
        double dn = loss_at(net, x, y, B);
        w[i] = keep;
        double fd = (up - dn) / (2 * h);
        checked++;
        if (!check_close(g[i], fd, 2e-2, 3e-4) && bad++ < 5)
            CHECK(0, "%s: dL/dw[%lld] = %.6g, finite difference %.6g", act, (long long)i, g[i], fd);
    }
    CHECK(bad == 0 && checked > 100, "%s%s: %d of %d parameter gradients differ", act, per_channel ? " per channel" : "",
          bad, checked);
    free(g);
    actlab_net_free(net);
}

static void check_gradients(const char *act, int per_channel) { check_gradients_of(tiny, act, per_channel); }

static void check_shapes_and_init(void) {
    char err[512];
    actlab_net_options o = actlab_net_options_default();
    actlab_net *a = actlab_net_parse("tiny", tiny, &o, err, sizeof err), *b = actlab_net_parse("tiny", tiny, &o, err, sizeof err);
    CHECK(a && b, "parse: %s", err);
    if (!a || !b) return;
    /* conv 2->3 3x3 pad 1: 3x8x8; pool: 3x4x4; conv 3->4 2x2: 4x3x3; avgpool 2 stride 1: 4x2x2; dense 16->5 */
    actlab_layer_info li;
    actlab_net_layer_info(a, 0, &li);
    CHECK(!strcmp(li.type, "conv") && li.c == 3 && li.h == 8 && li.w == 8 && li.params == 3 * 2 * 9 + 3,
          "conv1 shape %dx%dx%d params %lld", li.c, li.h, li.w, (long long)li.params);
    actlab_net_layer_info(a, 1, &li);
    CHECK(!strcmp(li.type, "activation") && strstr(li.detail, "relu (open)"), "open activation takes relu: %s", li.detail);
    actlab_net_layer_info(a, 5, &li);
    CHECK(!strcmp(li.type, "avgpool") && li.c == 4 && li.h == 2 && li.w == 2, "avgpool shape %dx%dx%d", li.c, li.h, li.w);
    actlab_net_init(a, 5);
    actlab_net_init(b, 5);
    CHECK(memcmp(actlab_net_params(a), actlab_net_params(b), sizeof(float) * (size_t)actlab_net_param_count(a)) == 0,
          "same seed, same weights");
    actlab_net_init(b, 6);
    CHECK(memcmp(actlab_net_params(a), actlab_net_params(b), sizeof(float) * (size_t)actlab_net_param_count(a)) != 0,
          "another seed, other weights");
    int blocks = actlab_net_param_blocks(a), decays = 0;
    for (int i = 0; i < blocks; i++) decays += actlab_net_param_block_at(a, i).decay;
    CHECK(decays == blocks - 1, "swish's learnable beta gets no weight decay (%d of %d blocks decay)", decays, blocks);
    actlab_net_free(a);
    actlab_net_free(b);
}

static void check_bad(const char *text, const char *want) {
    char err[512] = "";
    actlab_net *net = actlab_net_parse("bad.cfg", text, NULL, err, sizeof err);
    CHECK(!net && strstr(err, want), "expected an error with '%s', got '%s'", want, err);
    actlab_net_free(net);
}

/* The oneDNN path against the plain reference on the same net and batch,
 * including a second, smaller batch (its own set of primitives). */
static void check_backends_agree_on(const char *model, const char *act, int per_channel, double rtol) {
    char err[512];
    actlab_net_options o = actlab_net_options_default();
    o.max_batch = 4;
    o.act = act;
    o.act_per_channel = per_channel;
    actlab_net *fast = actlab_net_parse("tiny", model, &o, err, sizeof err);
    o.use_reference = 1;
    actlab_net *ref = actlab_net_parse("tiny", model, &o, err, sizeof err);
    CHECK(fast && ref, "parse: %s", err);
    if (!fast || !ref) return;
    actlab_net_init(fast, 4);
    actlab_net_init(ref, 4);
    float x[4 * 256];
    int32_t y[4] = {1, 0, 2, 1};
    for (int i = 0; i < 4 * 256; i++) x[i] = actlab_noise_normal(2, 0, (uint64_t)i);
    int64_t np = actlab_net_param_count(fast);
    for (int batch = 4; batch >= 3; batch--) {
        double lf, lr;
        CHECK(actlab_net_forward(fast, x, batch, 1, 9, err, sizeof err) == 0, "fast forward: %s", err);
        lf = actlab_net_loss(fast, y, batch, NULL);
        actlab_net_backward(fast, batch, err, sizeof err);
        actlab_net_forward(ref, x, batch, 1, 9, err, sizeof err);
        lr = actlab_net_loss(ref, y, batch, NULL);
        actlab_net_backward(ref, batch, err, sizeof err);
        CHECK(check_close(lf, lr, 1e-5, 0), "batch %d: loss oneDNN %.9g, reference %.9g", batch, lf, lr);
        const float *gf = actlab_net_grads(fast), *gr = actlab_net_grads(ref);
        int bad = 0;
        for (int64_t i = 0; i < np; i++)
            if (!check_close(gf[i], gr[i], rtol, 1e-5) && bad++ < 3)
                fprintf(stderr, "  %s batch %d: gradient %lld: oneDNN %.9g, reference %.9g\n", act, batch, (long long)i, gf[i], gr[i]);
        CHECK(bad == 0, "%s, batch %d: %d gradients differ between oneDNN and the reference", act, batch, bad);
        /* parameters, batch norm's running statistics among them (updated by the forward) */
        const float *pf = actlab_net_params(fast), *pr = actlab_net_params(ref);
        bad = 0;
        for (int64_t i = 0; i < np; i++) bad += !check_close(pf[i], pr[i], 1e-5, 1e-7);
        CHECK(bad == 0, "%s, batch %d: %d parameters or running statistics differ", act, batch, bad);
        CHECK(actlab_net_forward(fast, x, batch, 0, 9, err, sizeof err) == 0, "eval forward: %s", err);
        actlab_net_forward(ref, x, batch, 0, 9, err, sizeof err);
        lf = actlab_net_loss(fast, y, batch, NULL);
        lr = actlab_net_loss(ref, y, batch, NULL);
        CHECK(check_close(lf, lr, 1e-5, 0), "%s, batch %d, evaluation: loss oneDNN %.9g, reference %.9g", act, batch, lf, lr);
    }
    actlab_net_free(fast);
    actlab_net_free(ref);
}

static void check_backends_agree(void) {
    check_backends_agree_on(tiny, "prelu", 0, 1e-4);
    /* oneDNN's batch statistics are summed in another order: ~1e-4 apart after normalising */
    check_backends_agree_on(tiny_res, "relu", 0, 1e-3);
    check_backends_agree_on(tiny_res, "mish", 0, 1e-3);
    check_backends_agree_on(tiny_convert, "elu", 0, 1e-4);
    /* per-channel parameters index NCHW: the net converts around those layers */
    check_backends_agree_on(tiny_res, "prelu", 1, 1e-3);
}

/* The residual net's layers: a section with batchnorm=1 makes conv, batchnorm and
 * activation; a shortcut whose shapes differ makes the projection conv and its batch norm. */
static void check_residual_shapes(void) {
    char err[512];
    actlab_net *net = actlab_net_parse("tiny", tiny_res, NULL, err, sizeof err);
    CHECK(net != NULL, "residual net: %s", err);
    if (!net) return;
    static const char *const want[] = {"conv", "batchnorm", "activation", "conv", "batchnorm", "shortcut", "activation",
                                       "conv", "batchnorm", "activation", "conv", "batchnorm", "conv", "batchnorm",
                                       "shortcut", "activation", "globalavgpool", "dense"};
    int n = actlab_net_layers(net);
    CHECK(n == (int)(sizeof want / sizeof *want), "%d layers", n);
    for (int i = 0; i < n && i < (int)(sizeof want / sizeof *want); i++) {
        actlab_layer_info li;
        actlab_net_layer_info(net, i, &li);
        CHECK(!strcmp(li.type, want[i]), "layer %d is %s, expected %s", i, li.type, want[i]);
        if (i == 12) /* the projection: 16 -> 32 channels, 1x1 stride 2, no bias */
            CHECK(li.c == 32 && li.h == 3 && li.params == 16 * 32 && strstr(li.detail, "1x1 stride 2"),
                  "projection %dx%dx%d, %lld params, %s", li.c, li.h, li.w, (long long)li.params, li.detail);
        if (i == 1) CHECK(li.params == 32, "batch norm of 16 channels: gamma and beta, %lld", (long long)li.params);
        /* the oneDNN path keeps 16- and 32-channel planes in channel blocks, the head plain */
        if (i < 16) CHECK(!strcmp(li.layout, "nChw16c"), "layer %d (%s) is %s", i, li.type, li.layout);
        if (i == 5) CHECK(li.input == 4 && li.adds == 2, "identity shortcut reads %d and adds %d", li.input, li.adds);
        if (i == 14) CHECK(li.input == 11 && li.adds == 13, "projected shortcut reads %d and adds %d", li.input, li.adds);
        if (i == 12) CHECK(li.input == 6, "the projection reads the block's input, layer %d", li.input);
    }
    actlab_net_free(net);
}

/* relu_gain: one seed, the same initial weights whatever the function (paired runs). */
static void check_relu_gain(void) {
    char err[512];
    actlab_net_options o = actlab_net_options_default();
    float *w[2][2];
    int64_t n = 0;
    actlab_net *nets[2][2];
    for (int g = 0; g < 2; g++)
        for (int a = 0; a < 2; a++) {
            o.relu_gain = g;
            o.act = a ? "elu" : "relu";
            nets[g][a] = actlab_net_parse("tiny", tiny, &o, err, sizeof err);
            CHECK(nets[g][a] != NULL, "parse: %s", err);
            if (!nets[g][a]) return;
            actlab_net_init(nets[g][a], 11);
            w[g][a] = actlab_net_params(nets[g][a]);
            n = actlab_net_param_count(nets[g][a]);
        }
    CHECK(memcmp(w[1][0], w[1][1], sizeof(float) * (size_t)n) == 0, "relu_gain: relu and elu nets start equal");
    int far = 0; /* relu's own gain is sqrt 2 up to the quadrature's error: the first conv (open, relu) */
    for (int64_t i = 0; i < 3 * 2 * 9; i++) far += !check_close(w[0][0][i], w[1][0][i], 1e-5, 0);
    CHECK(far == 0, "relu's own gain is sqrt 2: %d weights differ", far);
    CHECK(memcmp(w[0][1], w[1][1], sizeof(float) * (size_t)n) != 0, "elu's own gain differs from sqrt 2");
    for (int g = 0; g < 2; g++)
        for (int a = 0; a < 2; a++) actlab_net_free(nets[g][a]);
}

int main(void) {
    check_shapes_and_init();
    check_relu_gain();
    check_residual_shapes();
    check_backends_agree();
    /* The finite differences run thousands of forward passes of tiny nets: on one thread,
     * since a second one only adds waits at OpenMP barriers (which, with other tests
     * running beside this one on 2 cores, took this test past its timeout). */
    omp_set_num_threads(1);
    /* smooth functions: with batch norm a weight's step moves every unit, and a ReLU kink
     * crossed by the finite difference would look like a wrong gradient */
    fd_training = 1;
    check_gradients_of(tiny_res, "elu", 0);
    check_gradients_of(tiny_convert, "elu", 0);
    check_gradients_of(tiny_res_bn1d, "swish", 1);
    fd_training = 0;
    check_gradients("relu", 0);
    check_gradients("prelu", 1);
    check_gradients("erelu", 0);
    check_gradients("expr:x >= 0 ? x : a*(exp(x)-1);learnable a=0.5", 0);
    check_gradients_of(tiny_maxout, "elu", 0);
    check_bad("[net]\n[conv]\nfilters=8\n[maxout]\npieces=3\n[dense]\n", "bad.cfg:4: [maxout] pieces=3 does not divide the 8");
    check_bad("[conv]\nfilters=3\n", "bad.cfg:1: the first section must be [net]");
    check_bad("[net]\n[cnv]\nfilters=3\n", "bad.cfg:2: unknown section [cnv]");
    check_bad("[net]\n[conv]\nfliters=3\n", "bad.cfg:3: unknown key 'fliters' in [conv]");
    check_bad("[net]\n[conv]\nsize=3\n", "bad.cfg:2: [conv] needs filters=N");
    check_bad("[net]\nheight=4\nwidth=4\n[conv]\nfilters=3\nsize=7\n", "does not fit its 1x4x4 input");
    check_bad("[net]\n[dense]\noutputs=7\n", "gives 7 outputs per sample but the data has 10 classes");
    check_bad("[net]\n[dense]\nactivation=relux\n", "bad.cfg:2: activation 'relux': unknown activation");
    check_bad("[net]\nloss=hinge\n[dense]\n", "[net] loss: expected xent");
    check_bad("[net]\n[dropout]\nprobability=1.5\n", "bad.cfg:3: [dropout] probability");
    check_bad("[net]\n[conv]\nfilters=4\n[shortcut]\n[dense]\n", "bad.cfg:4: [shortcut] needs from=-K");
    check_bad("[net]\n[conv]\nfilters=4\n[shortcut]\nfrom=-3\n[dense]\n", "bad.cfg:4: from=-3: expected -1 .. -2");
    check_bad("[net]\n[conv]\nfilters=4\npad=1\n[conv]\nfilters=8\npad=1\n[shortcut]\nfrom=-2\nprojection=0\n[dense]\n",
              "projection=0 forbids the 1x1 projection");
    check_bad("[net]\nheight=8\nwidth=8\n[conv]\nfilters=4\nsize=5\n[conv]\nfilters=4\nsize=2\n[shortcut]\nfrom=-2\n[dense]\n",
              "no 1x1 stride takes 4x4 to 3x3");
    check_bad("[net]\n[batchnorm]\neps=0\n[dense]\n", "bad.cfg:3: [batchnorm] eps");
    return check_summary("test_net");
}
