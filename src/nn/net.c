/*
 * net.c — a network: layers built from a model file (via the layer table in
 * layer_kinds.c), their buffers, one parameter arena and one gradient arena
 * (llm.c style: a checkpoint or an optimiser sees one flat array), and the
 * forward and backward passes over a batch.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "net_internal.h"

actlab_net_options actlab_net_options_default(void) {
    actlab_net_options o;
    memset(&o, 0, sizeof o);
    o.max_batch = 128;
    return o;
}


static int add_layer(actlab_net *net, nn_layer **out, char *err, size_t errlen) {
    if (net->nlayers == net->cap) {
        int cap = net->cap ? 2 * net->cap : 16;
        nn_layer *l = realloc(net->layers, sizeof *l * (size_t)cap);
        if (!l) return actlab_errorf(err, errlen, "out of memory");
        net->layers = l;
        net->cap = cap;
    }
    *out = &net->layers[net->nlayers++];
    memset(*out, 0, sizeof **out);
    return 0;
}

/* The input shape of the next layer: the data's, or the previous layer's output. */
static void next_input(const actlab_net *net, int *c, int *h, int *w) {
    if (net->nlayers == 0) {
        *c = net->in_c, *h = net->in_h, *w = net->in_w;
        return;
    }
    const nn_layer *p = &net->layers[net->nlayers - 1];
    *c = p->c, *h = p->h, *w = p->w;
}

/* Append an activation layer for `spec` ("open" takes the run's function). */
int nn_append_activation(actlab_net *net, const char *spec, int line, char *err, size_t errlen) {
    nn_layer *l = NULL;
    const char *use = strcmp(spec, "open") == 0 ? net->open_act : spec;
    int c, h, w;
    next_input(net, &c, &h, &w);
    if (add_layer(net, &l, err, errlen)) return -1;
    l->kind = nn_find_kind("activation");
    l->line = line;
    l->in_c = l->c = c, l->in_h = l->h = h, l->in_w = l->w = w;
    l->act_open = strcmp(spec, "open") == 0;
    char aerr[512];
    if (actlab_act_parse(use, &l->act, aerr, sizeof aerr))
        return actlab_errorf(err, errlen, "%s:%d: activation '%s': %s", net->path, line, use, aerr);
    /* Learnable parameters live in the arena, one set per layer or per channel; the
     * kernels take whole sets, so fixed parameters ride along (their gradient is 0). */
    if (actlab_act_has_learnable(l->act.act)) {
        l->act_channels = net->act_per_channel ? c : 1;
        l->p_n = (int64_t)l->act_channels * l->act.act->nparam;
    }
    return 0;
}

/* The [net] section's training settings, checked; reading them marks them known. */
static int read_hints(const nn_cfg *cfg, nn_cfg_section *s, actlab_net_hints *h, char *err, size_t errlen) {
    memset(h, 0, sizeof *h);
    h->lr = h->momentum = h->weight_decay = NAN;
    double v;
    if (nn_cfg_int(cfg, s, "batch", 0, 1, 65536, &h->batch, err, errlen) ||
        nn_cfg_int(cfg, s, "epochs", 0, 1, 1000000, &h->epochs, err, errlen) ||
        nn_cfg_int(cfg, s, "nesterov", -1, 0, 1, &h->nesterov, err, errlen) ||
        nn_cfg_float(cfg, s, "lr", NAN, 0, 1000, &v, err, errlen))
        return -1;
    h->lr = v;
    if (nn_cfg_float(cfg, s, "momentum", NAN, 0, 0.999999, &h->momentum, err, errlen) ||
        nn_cfg_float(cfg, s, "weight_decay", NAN, 0, 1, &h->weight_decay, err, errlen))
        return -1;
    const char *optim = nn_cfg_str(s, "optim", ""), *schedule = nn_cfg_str(s, "schedule", "");
    if (*optim && strcmp(optim, "sgd") && strcmp(optim, "adam"))
        return actlab_errorf(err, errlen, "%s:%d: [net] optim: expected sgd or adam, got '%s'", cfg->path, s->line, optim);
    snprintf(h->optim, sizeof h->optim, "%s", optim);
    snprintf(h->schedule, sizeof h->schedule, "%s", schedule);
    return 0;
}

#define NET_KEYS "channels, height, width, classes, loss, init, batch, epochs, optim, lr, momentum, nesterov, " \
                 "weight_decay, schedule"

int actlab_net_read_hints(const char *path, actlab_net_hints *out, char *err, size_t errlen) {
    nn_cfg cfg;
    if (nn_cfg_load(&cfg, path, err, errlen)) return -1;
    int rc = strcmp(cfg.sections[0].name, "net") == 0 ? read_hints(&cfg, &cfg.sections[0], out, err, errlen)
                                                       : actlab_errorf(err, errlen, "%s:%d: the first section must be [net]",
                                                                       path, cfg.sections[0].line);
    nn_cfg_free(&cfg);
    return rc;
}

static int build(actlab_net *net, nn_cfg *cfg, const actlab_net_options *o, char *err, size_t errlen) {
    nn_cfg_section *s = &cfg->sections[0];
    if (strcmp(s->name, "net") != 0)
        return actlab_errorf(err, errlen, "%s:%d: the first section must be [net] (input shape), found [%s]", cfg->path,
                       s->line, s->name);
    int c, h, w, classes;
    if (nn_cfg_int(cfg, s, "channels", 1, 1, 4096, &c, err, errlen) ||
        nn_cfg_int(cfg, s, "height", 28, 1, 65536, &h, err, errlen) ||
        nn_cfg_int(cfg, s, "width", 28, 1, 65536, &w, err, errlen) ||
        nn_cfg_int(cfg, s, "classes", 10, 1, 1 << 20, &classes, err, errlen))
        return -1;
    const char *loss = nn_cfg_str(s, "loss", "xent");
    if (strcmp(loss, "xent") && strcmp(loss, "mse"))
        return actlab_errorf(err, errlen, "%s:%d: [net] loss: expected xent (softmax cross-entropy) or mse, got '%s'",
                       cfg->path, s->line, loss);
    net->mse = strcmp(loss, "mse") == 0;
    const char *init = nn_cfg_str(s, "init", "he");
    if (strcmp(init, "he") && strcmp(init, "xavier"))
        return actlab_errorf(err, errlen, "%s:%d: [net] init: expected he or xavier, got '%s'", cfg->path, s->line, init);
    net->xavier = strcmp(init, "xavier") == 0;
    actlab_net_hints hints;
    if (read_hints(cfg, s, &hints, err, errlen)) return -1;
    const nn_cfg_key *unknown = nn_cfg_unused(s);
    if (unknown)
        return actlab_errorf(err, errlen, "%s:%d: unknown key '%s' in [net] (known: " NET_KEYS ")", cfg->path,
                             unknown->line, unknown->key);
    /* The data decides where it knows better than the file. */
    net->in_c = o->channels ? o->channels : c;
    net->in_h = o->height ? o->height : h;
    net->in_w = o->width ? o->width : w;
    net->classes = o->classes ? o->classes : classes;

    for (int i = 1; i < cfg->nsections; i++) {
        s = &cfg->sections[i];
        const nn_layer_kind *k = nn_find_kind(s->name);
        if (!k || !k->from_cfg)
            return actlab_errorf(err, errlen, "%s:%d: unknown section [%s] (known: %s)", cfg->path, s->line, s->name,
                           nn_kind_names());
        for (int j = 0; j < s->nkeys; j++) { /* unknown keys first: a typo explains the errors it causes */
            const char *key = s->keys[j].key, *known = k->keys;
            size_t n = strlen(key);
            const char *hit = strstr(known, key);
            while (hit && ((hit > known && hit[-1] != ' ') || (hit[n] && hit[n] != ',')))
                hit = strstr(hit + 1, key);
            if (!hit)
                return actlab_errorf(err, errlen, "%s:%d: unknown key '%s' in [%s] (known: %s)", cfg->path, s->keys[j].line,
                               key, s->name, *known ? known : "none");
        }
        nn_layer *l = NULL;
        int ic, ih, iw;
        next_input(net, &ic, &ih, &iw);
        if (add_layer(net, &l, err, errlen)) return -1;
        l->kind = k;
        l->line = s->line;
        l->in_c = ic, l->in_h = ih, l->in_w = iw;
        int index = net->nlayers - 1;
        if (k->from_cfg(net, l, cfg, s, err, errlen)) return -1;
        l = &net->layers[index]; /* from_cfg may append an activation layer, moving the array */
        unknown = nn_cfg_unused(s);
        if (unknown)
            return actlab_errorf(err, errlen, "%s:%d: unknown key '%s' in [%s] (known: %s)", cfg->path, unknown->line,
                           unknown->key, s->name, k->keys);
        if (o->verbose && o->log)
            for (const char *key = k->keys; *key;) {
                size_t n = strcspn(key, ", ");
                int given = 0;
                for (int j = 0; j < s->nkeys; j++) given |= strlen(s->keys[j].key) == n && !strncmp(s->keys[j].key, key, n);
                if (!given && n)
                    snprintf(o->log + strlen(o->log), o->loglen - strlen(o->log), "%s:%d: [%s] %.*s left at its default\n",
                             cfg->path, s->line, s->name, (int)n, key);
                key += n;
                while (*key == ',' || *key == ' ') key++;
            }
    }
    if (net->nlayers == 0) return actlab_errorf(err, errlen, "%s: no layers after [net]", cfg->path);
    const nn_layer *last = &net->layers[net->nlayers - 1];
    if (net->mse && last->c * last->h * last->w != net->in_c * net->in_h * net->in_w)
        return actlab_errorf(err, errlen, "%s: loss=mse reconstructs the input, so the last layer must give %d outputs, not %d",
                       cfg->path, net->in_c * net->in_h * net->in_w, last->c * last->h * last->w);
    if (!net->mse && last->c * last->h * last->w != net->classes)
        return actlab_errorf(err, errlen, "%s: the last layer gives %d outputs per sample but the data has %d classes",
                       cfg->path, last->c * last->h * last->w, net->classes);
    return 0;
}

/* Buffers and arenas, once the shapes are known. */
static int allocate(actlab_net *net, char *err, size_t errlen) {
    int64_t params = 0;
    for (int i = 0; i < net->nlayers; i++) {
        nn_layer *l = &net->layers[i];
        l->w_off = params, params += l->w_n;
        l->b_off = params, params += l->b_n;
        l->p_off = params, params += l->p_n;
    }
    net->nparams = params;
    net->params = calloc((size_t)(params ? params : 1), sizeof(float));
    net->grads = calloc((size_t)(params ? params : 1), sizeof(float));
    if (!net->params || !net->grads) return actlab_errorf(err, errlen, "out of memory for %lld parameters", (long long)params);
    int64_t B = net->max_batch;
    for (int i = 0; i < net->nlayers; i++) {
        nn_layer *l = &net->layers[i];
        int64_t n = B * l->c * l->h * l->w;
        l->out = malloc(sizeof(float) * (size_t)n);
        l->dout = malloc(sizeof(float) * (size_t)n);
        if (!l->out || !l->dout) return actlab_errorf(err, errlen, "out of memory for layer %d's %lld outputs", i, (long long)n);
        if (l->kind->allocate && l->kind->allocate(net, l, err, errlen)) return -1;
    }
    net->probs = malloc(sizeof(float) * (size_t)(B * net->classes));
    if (!net->probs) return actlab_errorf(err, errlen, "out of memory");
    return 0;
}

static actlab_net *make(nn_cfg *cfg, int loaded, const actlab_net_options *opts, char *err, size_t errlen) {
    if (!loaded) return NULL;
    actlab_net_options o = opts ? *opts : actlab_net_options_default();
    if (o.max_batch < 1) o.max_batch = 1;
    actlab_net *net = calloc(1, sizeof *net);
    if (!net) {
        nn_cfg_free(cfg);
        actlab_errorf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(net->path, sizeof net->path, "%s", cfg->path);
    snprintf(net->open_act, sizeof net->open_act, "%s", o.act ? o.act : "relu");
    net->max_batch = o.max_batch;
    net->act_per_channel = o.act_per_channel;
    net->use_reference = o.use_reference;
    int rc = build(net, cfg, &o, err, errlen);
    nn_cfg_free(cfg);
    if (rc || allocate(net, err, errlen)) {
        actlab_net_free(net);
        return NULL;
    }
    return net;
}

actlab_net *actlab_net_load(const char *path, const actlab_net_options *opts, char *err, size_t errlen) {
    nn_cfg cfg;
    return make(&cfg, nn_cfg_load(&cfg, path, err, errlen) == 0, opts, err, errlen);
}

actlab_net *actlab_net_parse(const char *name, const char *text, const actlab_net_options *opts, char *err,
                             size_t errlen) {
    nn_cfg cfg;
    return make(&cfg, nn_cfg_parse_string(&cfg, name, text, err, errlen) == 0, opts, err, errlen);
}

void actlab_net_free(actlab_net *net) {
    if (!net) return;
    for (int i = 0; i < net->nlayers; i++) {
        nn_layer *l = &net->layers[i];
        if (l->kind && l->kind->release) l->kind->release(l);
        free(l->out);
        free(l->dout);
        free(l->aux);
        free(l->aux2);
    }
    free(net->layers);
    free(net->params);
    free(net->grads);
    free(net->probs);
    free(net);
}

int actlab_net_layers(const actlab_net *net) { return net->nlayers; }
int actlab_net_is_autoencoder(const actlab_net *net) { return net->mse; }

void actlab_net_layer_info(const actlab_net *net, int i, actlab_layer_info *out) {
    const nn_layer *l = &net->layers[i];
    memset(out, 0, sizeof *out);
    out->type = l->kind->name;
    out->c = l->c, out->h = l->h, out->w = l->w;
    out->params = l->w_n + l->b_n + l->p_n;
    out->line = l->line;
    if (l->kind->describe) l->kind->describe(l, out->detail, sizeof out->detail, &out->flops);
}

int64_t actlab_net_param_count(const actlab_net *net) { return net->nparams; }
float *actlab_net_params(actlab_net *net) { return net->params; }
float *actlab_net_grads(actlab_net *net) { return net->grads; }

/* Blocks: each layer's weight, bias and activation parameters, in arena order. */
int actlab_net_param_blocks(const actlab_net *net) {
    int n = 0;
    for (int i = 0; i < net->nlayers; i++) n += (net->layers[i].w_n > 0) + (net->layers[i].b_n > 0) + (net->layers[i].p_n > 0);
    return n;
}

actlab_net_param_block actlab_net_param_block_at(const actlab_net *net, int index) {
    static const char *const what[3] = {"weight", "bias", "act"};
    for (int i = 0; i < net->nlayers; i++) {
        const nn_layer *l = &net->layers[i];
        const int64_t off[3] = {l->w_off, l->b_off, l->p_off}, n[3] = {l->w_n, l->b_n, l->p_n};
        for (int k = 0; k < 3; k++) {
            if (!n[k]) continue;
            if (index-- == 0) {
                actlab_net_param_block b = {what[k], i, off[k], n[k], k < 2};
                return b;
            }
        }
    }
    actlab_net_param_block none = {NULL, -1, 0, 0, 0};
    return none;
}

void actlab_net_init(actlab_net *net, uint64_t seed) {
    net->seed = seed;
    memset(net->params, 0, sizeof(float) * (size_t)net->nparams);
    for (int i = 0; i < net->nlayers; i++)
        if (net->layers[i].kind->init) net->layers[i].kind->init(net, &net->layers[i], seed, (uint64_t)i);
}

int actlab_net_forward(actlab_net *net, const float *x, int batch, int training, uint64_t step, char *err,
                       size_t errlen) {
    if (batch < 1 || batch > net->max_batch)
        return actlab_errorf(err, errlen, "batch of %d outside 1..%d (the size the net was built for)", batch, net->max_batch);
    net->batch = batch;
    net->input = x;
    net->training = training;
    net->step = step;
    const float *in = x;
    for (int i = 0; i < net->nlayers; i++) {
        nn_layer *l = &net->layers[i];
        if (l->kind->forward(net, l, in, err, errlen)) return -1;
        in = l->out;
    }
    return 0;
}

const float *actlab_net_output(const actlab_net *net, int *outputs) {
    const nn_layer *l = &net->layers[net->nlayers - 1];
    if (outputs) *outputs = l->c * l->h * l->w;
    return l->out;
}

double actlab_net_loss(actlab_net *net, const int32_t *labels, int batch, int *correct) {
    const nn_layer *l = &net->layers[net->nlayers - 1];
    net->loss_kind = NN_LOSS_XENT;
    net->labels = labels;
    return nn_softmax_xent_forward(net->probs, l->out, labels, batch, net->classes, correct);
}

double actlab_net_loss_mse(actlab_net *net, const float *target, int batch) {
    const nn_layer *l = &net->layers[net->nlayers - 1];
    net->loss_kind = NN_LOSS_MSE;
    net->target = target;
    return nn_mse_forward(l->out, target, (int64_t)batch * l->c * l->h * l->w);
}

int actlab_net_backward(actlab_net *net, int batch, char *err, size_t errlen) {
    if (batch != net->batch) return actlab_errorf(err, errlen, "backward for a batch of %d after a forward of %d", batch, net->batch);
    nn_layer *last = &net->layers[net->nlayers - 1];
    if (net->loss_kind == NN_LOSS_XENT)
        nn_softmax_xent_backward(last->dout, net->probs, net->labels, batch, net->classes);
    else if (net->loss_kind == NN_LOSS_MSE)
        nn_mse_backward(last->dout, last->out, net->target, (int64_t)batch * last->c * last->h * last->w);
    else
        return actlab_errorf(err, errlen, "backward before a loss was computed");
    memset(net->grads, 0, sizeof(float) * (size_t)net->nparams);
    for (int i = net->nlayers - 1; i >= 0; i--) {
        nn_layer *l = &net->layers[i];
        const float *in = i ? net->layers[i - 1].out : net->input;
        float *din = i ? net->layers[i - 1].dout : NULL;
        if (l->kind->backward(net, l, in, din, err, errlen)) return -1;
    }
    return 0;
}
