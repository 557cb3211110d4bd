/*
 * net.c — a network: layers built from a model file (via the layer table in
 * layer_kinds.c), their buffers, one parameter arena and one gradient arena
 * (llm.c style: a checkpoint or an optimiser sees one flat array), and the
 * forward and backward passes over a batch.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "net_internal.h"
#include "buffer_plan.h"
#include "layout.h"

actlab_net_options actlab_net_options_default(void) {
    actlab_net_options o;
    memset(&o, 0, sizeof o);
    o.max_batch = 128;
    return o;
}


/* The net with its per-layer timing counters: kept beside the struct (which
 * net_internal.h shares with the layer table) so that the table does not see them. */
typedef struct net_box {
    actlab_net net; /* first: a box's address is its net's */
    double *fwd_s, *bwd_s;
} net_box;

static net_box *box_of(const actlab_net *net) { return (net_box *)net; }

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
    (*out)->src = net->nlayers - 2; /* the previous layer, or the input for the first */
    (*out)->from = -2;
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

int nn_append_layer(actlab_net *net, const char *kind, int line, nn_layer **out, char *err, size_t errlen) {
    int c, h, w;
    next_input(net, &c, &h, &w);
    if (add_layer(net, out, err, errlen)) return -1;
    nn_layer *l = *out;
    l->kind = nn_find_kind(kind);
    l->line = line;
    l->in_c = l->c = c, l->in_h = l->h = h, l->in_w = l->w = w;
    return 0;
}

/* Batch norm with PyTorch's defaults, as `batchnorm=1` of a conv or dense section makes it. */
int nn_append_batchnorm(actlab_net *net, int line, char *err, size_t errlen) {
    nn_layer *l = NULL;
    if (nn_append_layer(net, "batchnorm", line, &l, err, errlen)) return -1;
    l->eps = 1e-5f, l->momentum = 0.1f;
    l->w_n = l->b_n = l->c;
    l->s_n = 2 * (int64_t)l->c;
    return 0;
}

int nn_section_output(actlab_net *net, int section, int k, const char *path, int line, char *err, size_t errlen) {
    if (k >= 0 || section + k < 0)
        return actlab_errorf(err, errlen, "%s:%d: from=%d: expected -1 .. -%d (sections back from this one; -%d is the input)",
                             path, line, k, section, section), -2;
    return net->sec_last[section + k];
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

/* A layer that does not fit its input: when the data set's shape replaced the model
 * file's, say so, since that is the likely reason. */
static int model_misfit(const actlab_net *net, const nn_cfg *cfg, const actlab_net_options *o, const nn_cfg_section *s,
                        char *err, size_t errlen) {
    const nn_cfg_section *n = &cfg->sections[0];
    char file[96];
    int fc = 0, fh = 0, fw = 0;
    for (int j = 0; j < n->nkeys; j++) {
        int *at = !strcmp(n->keys[j].key, "channels") ? &fc : !strcmp(n->keys[j].key, "height") ? &fh
                : !strcmp(n->keys[j].key, "width")    ? &fw : NULL;
        if (at) *at = atoi(n->keys[j].value);
    }
    if ((o->height && o->height != fh) || (o->width && o->width != fw) || (o->channels && o->channels != fc)) {
        snprintf(file, sizeof file, "%dx%dx%d", fc ? fc : 1, fh ? fh : 28, fw ? fw : 28);
        size_t len = strlen(err);
        if (len + 1 < errlen)
            snprintf(err + len, errlen - len, " — the data's %dx%dx%d images do not fit this model (written for %s)",
                     net->in_c, net->in_h, net->in_w, file);
    }
    (void)s;
    return -1;
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

    net->nsec = cfg->nsections;
    net->sec_last = malloc(sizeof(int) * (size_t)cfg->nsections);
    if (!net->sec_last) return actlab_errorf(err, errlen, "out of memory");
    net->sec_last[0] = -1;
    for (int i = 1; i < cfg->nsections; i++) {
        s = &cfg->sections[i];
        net->sec_last[i] = net->nlayers - 1; /* while the section is read: its input */
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
        if (k->from_cfg(net, l, cfg, s, err, errlen)) return model_misfit(net, cfg, o, s, err, errlen);
        l = &net->layers[index]; /* from_cfg may append an activation layer, moving the array */
        net->sec_last[i] = net->nlayers - 1;
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

/* Where layouts differ: both blocked or both plain, or a 1x1 plane (the same bytes). */
static int same_layout(int a, int b, int64_t hw) { return a == b || hw == 1; }

static int src_blocked(const actlab_net *net, int src) { return src < 0 ? 0 : net->layers[src].blocked; }

/* Each tensor's layout (layout.h): channel-blocked where oneDNN runs and the channels
 * allow, except the network's input and output, which are the caller's NCHW. */
static void plan_layouts(actlab_net *net) {
    for (int i = 0; i < net->nlayers; i++) {
        nn_layer *l = &net->layers[i];
        nn_layout_rule rule = l->kind->layout;
        if (l->p_n && l->act_channels > 1) rule = NN_LAYOUT_PLAIN; /* per-channel parameters index NCHW */
        l->plain_kind = rule == NN_LAYOUT_PLAIN;
        l->blocked = !net->use_reference && i < net->nlayers - 1 && l->c % NN_BLOCK == 0;
        l->in_blocked = rule == NN_LAYOUT_OWN ? src_blocked(net, l->src) : rule == NN_LAYOUT_KEEP ? l->blocked : 0;
        if (l->in_blocked && l->in_c % NN_BLOCK) l->in_blocked = 0; /* KEEP kinds keep the channel count */
    }
}

/* Every layer but the last must feed another; a dangling branch would get no gradient. */
static int check_consumers(const actlab_net *net, char *err, size_t errlen) {
    for (int i = 0; i < net->nlayers - 1; i++) {
        int used = 0;
        for (int j = i + 1; j < net->nlayers && !used; j++) used = net->layers[j].src == i || net->layers[j].from == i;
        if (!used)
            return actlab_errorf(err, errlen, "%s:%d: the output of this [%s] is used by no later layer", net->path,
                                 net->layers[i].line, net->layers[i].kind->name);
    }
    return 0;
}

/* Whether layer l gets its input converted to another layout (in_conv, din_conv). */
static int converts_input(const actlab_net *net, const nn_layer *l) {
    return !same_layout(src_blocked(net, l->src), l->in_blocked, (int64_t)l->in_h * l->in_w);
}

/* Whether a plain kind in a blocked place works on NCHW copies (out_plain, dout_plain). */
static int converts_output(const nn_layer *l) { return l->plain_kind && !same_layout(l->blocked, 0, (int64_t)l->h * l->w); }

/* The last layer reading layer i's output: in backward, the first to give it a gradient
 * (net->nlayers for the last layer, whose gradient the loss gives). */
static int last_consumer(const actlab_net *net, int i) {
    int last = i == net->nlayers - 1 ? net->nlayers : i;
    for (int j = i + 1; j < net->nlayers; j++)
        if (net->layers[j].src == i || net->layers[j].from == i) last = j;
    return last;
}

static int consumers(const actlab_net *net, int i) {
    int n = 0;
    for (int j = i + 1; j < net->nlayers; j++) n += (net->layers[j].src == i) + (net->layers[j].from == i);
    return n;
}

/* Which layers write their output over their input (unless net->unfused): an element-wise
 * layer whose backward needs neither (an activation whose derivative needs only y, a residual
 * add, dropout), reading a tensor that nothing else reads and whose own backward does not need
 * it (conv and batch-norm outputs do not: their backward reads their input). So conv -> BN ->
 * ReLU keeps two tensors for backward, not three, and conv -> BN -> add -> ReLU two, not four. */
static void plan_in_place(actlab_net *net) {
    for (int i = 0; i < net->nlayers; i++) {
        nn_layer *l = &net->layers[i];
        l->in_place = 0;
        if (net->unfused || l->src < 0 || !l->kind->may_run_in_place || !l->kind->may_run_in_place(l)) continue;
        const nn_layer *s = &net->layers[l->src];
        int64_t hw = (int64_t)l->h * l->w;
        if (converts_input(net, l) || converts_output(l) || !same_layout(s->blocked, l->blocked, hw) ||
            (int64_t)s->c * s->h * s->w != l->c * hw)
            continue;
        if (consumers(net, l->src) != 1 || (s->kind->reads_own_output && s->kind->reads_own_output(s))) continue;
        l->in_place = 1;
    }
}

/* Forward buffers: each layer's output (shared along a chain of in-place layers) and the
 * copies converted for a layer, all kept for backward, one after another in one arena.
 * Everything else lives only for part of a step, and shares a second arena by lifetime
 * (buffer_plan.h): gradients, from the backward step of their tensor's last reader to their
 * own, and each oneDNN layer's temporaries (scratchpads, reordered copies) while it runs.
 * Time: layer i's forward is t = i, its backward t = 2L - 1 - i, the loss t = L - 1. So the
 * 160 MB of Winograd temporaries of ResNet-18's last layers sit where the large gradients of
 * its first layers are at other times. */
static int plan_buffers(actlab_net *net, char *err, size_t errlen) {
    int L = net->nlayers;
    int64_t B = net->max_batch, act = 0;
    int64_t *off = malloc(sizeof(int64_t) * 3 * (size_t)L);
    enum { R = 7 }; /* requests per layer in the second arena */
    int rc = 0;
    nn_buffer_request *req = malloc(sizeof *req * R * (size_t)L);
    if (!off || !req) {
        free(off), free(req);
        return actlab_errorf(err, errlen, "out of memory");
    }
    for (int i = 0; i < L; i++) { /* forward: out, in_conv, out_plain at off[3i..3i+2] (-1: none) */
        const nn_layer *l = &net->layers[i];
        int64_t n = B * l->c * l->h * l->w, in = B * l->in_c * l->in_h * l->in_w;
        const int64_t size[3] = {l->in_place ? 0 : n, converts_input(net, l) ? in : 0, converts_output(l) ? n : 0};
        for (int k = 0; k < 3; k++) {
            off[3 * i + k] = size[k] ? act : -1;
            act += (size[k] + NN_ARENA_ALIGN - 1) / NN_ARENA_ALIGN * NN_ARENA_ALIGN;
        }
    }
    for (int i = 0; i < L && !rc; i++) { /* dout, din_conv, dout_plain, grad_sum, grad_conv, temps */
        nn_layer *l = &net->layers[i];
        int t = 2 * L - 1 - i;
        int64_t n = B * l->c * l->h * l->w, in = B * l->in_c * l->in_h * l->in_w, conv = 0, temp[2];
        const nn_layer *s = l->src >= 0 ? &net->layers[l->src] : NULL, *f = l->from >= 0 ? &net->layers[l->from] : NULL;
        if (s && !same_layout(l->in_blocked, s->blocked, (int64_t)s->h * s->w)) conv = in;
        if (f && !same_layout(l->blocked, f->blocked, (int64_t)f->h * f->w) && n > conv) conv = n;
        if (!s && n > conv) conv = n; /* a first layer's din, computed and dropped (batch norm) */
        int adds = s && !converts_input(net, l) && last_consumer(net, l->src) != i;
        rc = nn_layer_temp_needs(net, l, temp, err, errlen);
        req[R * i] = (nn_buffer_request){n, 2 * L - 1 - last_consumer(net, i), t, 0};
        req[R * i + 1] = (nn_buffer_request){converts_input(net, l) ? in : 0, t, t, 0};
        req[R * i + 2] = (nn_buffer_request){converts_output(l) ? n : 0, t, t, 0};
        req[R * i + 3] = (nn_buffer_request){adds ? in : 0, t, t, 0};
        req[R * i + 4] = (nn_buffer_request){conv, t, t, 0};
        req[R * i + 5] = (nn_buffer_request){(temp[0] + 3) / 4, i, i, 0};
        req[R * i + 6] = (nn_buffer_request){(temp[1] + 3) / 4, t, t, 0};
    }
    if (rc) {
        free(off), free(req);
        return -1;
    }
    int64_t grad = nn_plan_offsets(req, R * L);
    net->act_floats = act, net->grad_floats = grad;
    net->act_arena = grad < 0 ? NULL : nn_arena_alloc(act);
    net->grad_arena = grad < 0 ? NULL : nn_arena_alloc(grad);
    if (!net->act_arena || !net->grad_arena) {
        free(off), free(req);
        return actlab_errorf(err, errlen, "out of memory for %.0f MB of activations and %.0f MB of gradients",
                             4e-6 * (double)act, 4e-6 * (double)grad);
    }
    float *a = net->act_arena, *g = net->grad_arena;
    for (int i = 0; i < L; i++) {
        nn_layer *l = &net->layers[i];
        l->out = l->in_place ? net->layers[l->src].out : a + off[3 * i];
        l->in_conv = off[3 * i + 1] >= 0 ? a + off[3 * i + 1] : NULL;
        l->out_plain = off[3 * i + 2] >= 0 ? a + off[3 * i + 2] : NULL;
        l->dout = g + req[R * i].offset;
        l->din_conv = l->in_conv ? g + req[R * i + 1].offset : NULL;
        l->dout_plain = l->out_plain ? g + req[R * i + 2].offset : NULL;
        l->grad_sum = req[R * i + 3].floats ? g + req[R * i + 3].offset : NULL;
        l->grad_conv = req[R * i + 4].floats ? g + req[R * i + 4].offset : NULL;
        for (int p = 0; p < 2; p++) {
            l->temp_bytes[p] = 4 * req[R * i + 5 + p].floats;
            l->temp[p] = l->temp_bytes[p] ? g + req[R * i + 5 + p].offset : NULL;
        }
        nn_layer_place_temps(l);
    }
    free(off), free(req);
    return 0;
}

/* Buffers and arenas, once the shapes are known. */
static int allocate(actlab_net *net, char *err, size_t errlen) {
    if (check_consumers(net, err, errlen)) return -1;
    plan_layouts(net);
    plan_in_place(net);
    int64_t params = 0;
    for (int i = 0; i < net->nlayers; i++) {
        nn_layer *l = &net->layers[i];
        l->w_off = params, params += l->w_n;
        l->b_off = params, params += l->b_n;
        l->p_off = params, params += l->p_n;
        l->s_off = params, params += l->s_n;
    }
    net->nparams = params;
    net->params = calloc((size_t)(params ? params : 1), sizeof(float));
    net->grads = calloc((size_t)(params ? params : 1), sizeof(float));
    if (!net->params || !net->grads) return actlab_errorf(err, errlen, "out of memory for %lld parameters", (long long)params);
    if (plan_buffers(net, err, errlen)) return -1;
    for (int i = 0; i < net->nlayers; i++) {
        nn_layer *l = &net->layers[i];
        if (l->kind->allocate && l->kind->allocate(net, l, err, errlen)) return -1;
    }
    net->probs = malloc(sizeof(float) * (size_t)net->max_batch * net->classes);
    if (!net->probs) return actlab_errorf(err, errlen, "out of memory");
    return 0;
}

static actlab_net *make(nn_cfg *cfg, int loaded, const actlab_net_options *opts, char *err, size_t errlen) {
    if (!loaded) return NULL;
    actlab_net_options o = opts ? *opts : actlab_net_options_default();
    if (o.max_batch < 1) o.max_batch = 1;
    net_box *box = calloc(1, sizeof *box);
    actlab_net *net = box ? &box->net : NULL;
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
    net->relu_gain = o.relu_gain;
    net->unfused = o.unfused;
    net->precision = o.precision;
    int rc = build(net, cfg, &o, err, errlen);
    nn_cfg_free(cfg);
    if (!rc) {
        box->fwd_s = calloc((size_t)net->nlayers, sizeof(double));
        box->bwd_s = calloc((size_t)net->nlayers, sizeof(double));
        if (!box->fwd_s || !box->bwd_s) rc = actlab_errorf(err, errlen, "out of memory");
    }
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
        free(l->aux);
        free(l->aux2);
    }
    free(net->act_arena);
    free(net->grad_arena);
    free(net->sec_last);
    free(net->layers);
    free(net->params);
    free(net->grads);
    free(net->probs);
    free(box_of(net)->fwd_s);
    free(box_of(net)->bwd_s);
    free(box_of(net));
}

int actlab_net_layers(const actlab_net *net) { return net->nlayers; }
void actlab_net_buffer_bytes(const actlab_net *net, int64_t *activations, int64_t *gradients) {
    if (activations) *activations = (int64_t)sizeof(float) * net->act_floats;
    if (gradients) *gradients = (int64_t)sizeof(float) * net->grad_floats;
}

int actlab_net_is_autoencoder(const actlab_net *net) { return net->mse; }

void actlab_net_layer_info(const actlab_net *net, int i, actlab_layer_info *out) {
    const nn_layer *l = &net->layers[i];
    memset(out, 0, sizeof *out);
    out->type = l->kind->name;
    out->c = l->c, out->h = l->h, out->w = l->w;
    out->params = l->w_n + l->b_n + l->p_n;
    out->line = l->line;
    out->input = l->src;
    out->adds = l->from;
    out->in_place = l->in_place;
    out->layout = l->blocked && (int64_t)l->h * l->w > 1 ? "nChw16c" : "NCHW";
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

const float *nn_layer_input(const actlab_net *net, const nn_layer *l) {
    return l->src < 0 ? net->input : net->layers[l->src].out;
}

/* Converts a batch of n samples to the `to_blocked` layout from the other one. */
static void convert(float *dst, const float *src, int to_blocked, int64_t n, int c, int64_t hw) {
    if (to_blocked) nn_layout_to_blocked(dst, src, n, c, hw);
    else nn_layout_to_plain(dst, src, n, c, hw);
}

/* Adds gradient g (in layout g_blocked) into layer t's dout, or writes it there if it is
 * the first to arrive; tmp holds a conversion to t's layout. t < 0 (the network's input)
 * takes none. */
static void give_grad(actlab_net *net, int t, const float *g, int g_blocked, float *tmp) {
    if (t < 0) return;
    nn_layer *s = &net->layers[t];
    int64_t hw = (int64_t)s->h * s->w, n = (int64_t)net->batch * s->c * hw;
    if (!same_layout(g_blocked, s->blocked, hw)) {
        float *c = tmp;
        convert(c, g, s->blocked, net->batch, s->c, hw);
        g = c;
    }
    if (!s->dout_ready) {
        if (g != s->dout) memcpy(s->dout, g, sizeof(float) * (size_t)n);
        s->dout_ready = 1;
        return;
    }
    float *d = s->dout;
    #pragma omp parallel for schedule(static) if (n > (1 << 16))
    for (int64_t i = 0; i < n; i++) d[i] += g[i];
}

int actlab_net_forward(actlab_net *net, const float *x, int batch, int training, uint64_t step, char *err,
                       size_t errlen) {
    if (batch < 1 || batch > net->max_batch)
        return actlab_errorf(err, errlen, "batch of %d outside 1..%d (the size the net was built for)", batch, net->max_batch);
    net->batch = batch;
    net->input = x;
    net->training = training;
    net->step = step;
    double *fwd_s = box_of(net)->fwd_s;
    for (int i = 0; i < net->nlayers; i++) {
        nn_layer *l = &net->layers[i];
        double t0 = omp_get_wtime(); /* the layer's time includes the conversions made for it */
        const float *in = nn_layer_input(net, l);
        if (l->in_conv) { /* the source's layout is not the one this layer works on */
            convert(l->in_conv, in, l->in_blocked, batch, l->in_c, (int64_t)l->in_h * l->in_w);
            in = l->in_conv;
        }
        float *out = l->out;
        if (l->out_plain) l->out = l->out_plain;
        int rc = l->kind->forward(net, l, in, err, errlen);
        l->out = out;
        if (rc) return -1;
        if (l->out_plain) convert(l->out, l->out_plain, 1, batch, l->c, (int64_t)l->h * l->w);
        fwd_s[i] += omp_get_wtime() - t0;
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
    for (int i = 0; i < net->nlayers; i++) net->layers[i].dout_ready = 0;
    last->dout_ready = 1;
    /* Reverse order: by the time a layer runs, every consumer has added its gradient. */
    double *bwd_s = box_of(net)->bwd_s;
    for (int i = net->nlayers - 1; i >= 0; i--) {
        nn_layer *l = &net->layers[i];
        double t0 = omp_get_wtime();
        /* an in-place layer's input is gone (its output took the memory); its backward needs none */
        const float *in = l->in_place ? NULL : l->in_conv ? l->in_conv : nn_layer_input(net, l);
        nn_layer *s = l->src >= 0 ? &net->layers[l->src] : NULL;
        /* din: straight into the source's dout when this is its first gradient and the layouts agree */
        float *din = !s ? NULL : l->din_conv ? l->din_conv : s->dout_ready ? l->grad_sum : s->dout;
        float *out = l->out, *dout = l->dout;
        if (l->out_plain) {
            convert(l->dout_plain, l->dout, 0, batch, l->c, (int64_t)l->h * l->w);
            l->out = l->out_plain, l->dout = l->dout_plain;
        }
        int rc = l->kind->backward(net, l, in, din, err, errlen);
        l->out = out, l->dout = dout;
        if (rc) return -1;
        if (s) give_grad(net, l->src, din, l->in_blocked, l->grad_conv);
        if (l->from >= -1) give_grad(net, l->from, l->dout, l->blocked, l->grad_conv); /* a shortcut: d(in + from)/d(from) = 1 */
        bwd_s[i] += omp_get_wtime() - t0;
    }
    return 0;
}

/* ---- measurements (probe, profile) ---- */

int actlab_net_batch(const actlab_net *net) { return net->batch; }

/* A tensor of n samples in the layer's layout `blocked`, to NCHW. */
static void to_plain(float *dst, const float *src, int blocked, int64_t n, int c, int64_t hw) {
    if (!same_layout(blocked, 0, hw)) nn_layout_to_plain(dst, src, n, c, hw);
    else memcpy(dst, src, sizeof(float) * (size_t)(n * c * hw));
}

int actlab_net_layer_output(const actlab_net *net, int layer, float *dst) {
    if (layer < 0 || layer >= net->nlayers || net->batch < 1) return -1;
    const nn_layer *l = &net->layers[layer];
    to_plain(dst, l->out, l->blocked, net->batch, l->c, (int64_t)l->h * l->w);
    return 0;
}

int actlab_net_layer_input(const actlab_net *net, int layer, float *dst) {
    if (layer < 0 || layer >= net->nlayers || net->batch < 1) return -1;
    const nn_layer *l = &net->layers[layer];
    if (l->in_place) return 1;
    to_plain(dst, nn_layer_input(net, l), src_blocked(net, l->src), net->batch, l->in_c, (int64_t)l->in_h * l->in_w);
    return 0;
}

const actlab_act_cfg *actlab_net_layer_act(const actlab_net *net, int layer, const float **params, int *sets) {
    const nn_layer *l = layer >= 0 && layer < net->nlayers ? &net->layers[layer] : NULL;
    int is_act = l && strcmp(l->kind->name, "activation") == 0;
    if (params) *params = is_act && l->p_n ? net->params + l->p_off : NULL;
    if (sets) *sets = is_act && l->p_n ? l->act_channels : 0;
    return is_act ? &l->act : NULL;
}

void actlab_net_layer_times(const actlab_net *net, int layer, double *fwd_s, double *bwd_s) {
    int ok = layer >= 0 && layer < net->nlayers;
    if (fwd_s) *fwd_s = ok ? box_of(net)->fwd_s[layer] : 0;
    if (bwd_s) *bwd_s = ok ? box_of(net)->bwd_s[layer] : 0;
}

void actlab_net_reset_times(actlab_net *net) {
    memset(box_of(net)->fwd_s, 0, sizeof(double) * (size_t)net->nlayers);
    memset(box_of(net)->bwd_s, 0, sizeof(double) * (size_t)net->nlayers);
}
