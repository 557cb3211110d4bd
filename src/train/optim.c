/*
 * optim.c — SGD (momentum, Nesterov, dampening, weight decay) and Adam
 * (weight decay as L2, optional AMSGrad), matching torch.optim.SGD/Adam of
 * PyTorch 1.13 (single-tensor path) bit for bit.
 *
 * Bit-identity rests on three things, checked by tests/golden/torch_optim.txt:
 *  - the same float32 operations in the same order as PyTorch's CPU kernels
 *    (add: a + alpha*b; addcmul: a + (value*b)*c; addcdiv: a + (value*b)/c);
 *  - hyper-parameters rounded to float32 where PyTorch turns a Python scalar
 *    into one, and the scalar arithmetic around them (bias corrections, step
 *    size) done in double as Python does;
 *  - no a*b+c -> fma contraction (the build passes -ffp-contract=off).
 * Element loops are split across OpenMP threads; every element is updated on
 * its own, so the result does not depend on the thread count.
 */
#include "util/error.h"
#include "actlab/optim.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Below this many elements a group is updated by one thread (spawning costs more). */
#define PAR_MIN 32768

typedef struct group {
    float *w;
    const float *g;
    int64_t n, off;   /* off: position in each state buffer */
    float decay_mult;
    const char *name; /* points into the optimiser's allocation */
} group;

struct actlab_optim {
    actlab_optim_config cfg;
    int ngroups;
    int nbuf;         /* float buffers per element: SGD 1 with momentum, Adam 2 (3 with amsgrad) */
    int64_t total;    /* elements over all groups */
    int64_t steps;
    float *state;     /* nbuf * total floats, buffer-major: buffer b of group i at b*total + off */
    group *groups;
};



/* ---- configuration ---- */

actlab_optim_config actlab_optim_config_default(actlab_optim_kind kind) {
    actlab_optim_config c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.lr = kind == ACTLAB_OPTIM_ADAM ? 1e-3 : 0.01;
    c.beta1 = 0.9;
    c.beta2 = 0.999;
    c.eps = 1e-8;
    return c;
}

actlab_optim_kind actlab_optim_parse_kind(const char *name) {
    if (!name) return 0;
    if (!strcasecmp(name, "sgd")) return ACTLAB_OPTIM_SGD;
    if (!strcasecmp(name, "adam")) return ACTLAB_OPTIM_ADAM;
    return 0;
}

const char *actlab_optim_kind_name(actlab_optim_kind kind) {
    return kind == ACTLAB_OPTIM_SGD ? "sgd" : kind == ACTLAB_OPTIM_ADAM ? "adam" : "unknown";
}

static int parse_bool(const char *v, int *out) {
    if (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on")) *out = 1;
    else if (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off")) *out = 0;
    else return -1;
    return 0;
}

int actlab_optim_config_set(actlab_optim_config *cfg, const char *key, const char *value, char *err,
                            size_t errlen) {
    static const char *const sgd_keys[] = {"lr", "weight_decay", "momentum", "dampening", "nesterov", NULL};
    static const char *const adam_keys[] = {"lr", "weight_decay", "beta1", "beta2", "eps", "amsgrad", NULL};
    const char *const *keys = cfg->kind == ACTLAB_OPTIM_ADAM ? adam_keys : sgd_keys;
    const char *kname = actlab_optim_kind_name(cfg->kind);
    int known = 0;
    for (int i = 0; keys[i]; i++) known |= !strcmp(key, keys[i]);
    if (!known) {
        const char *const *other = cfg->kind == ACTLAB_OPTIM_ADAM ? sgd_keys : adam_keys;
        for (int i = 0; other[i]; i++)
            if (!strcmp(key, other[i]))
                return actlab_errorf(err, errlen, "'%s' is not a setting of %s (it belongs to %s); %s takes %s", key, kname,
                            cfg->kind == ACTLAB_OPTIM_ADAM ? "sgd" : "adam", kname,
                            cfg->kind == ACTLAB_OPTIM_ADAM ? "lr, weight_decay, beta1, beta2, eps, amsgrad"
                                                           : "lr, weight_decay, momentum, dampening, nesterov");
        return actlab_errorf(err, errlen, "unknown optimiser setting '%s' (%s takes %s)", key, kname,
                    cfg->kind == ACTLAB_OPTIM_ADAM ? "lr, weight_decay, beta1, beta2, eps, amsgrad"
                                                   : "lr, weight_decay, momentum, dampening, nesterov");
    }
    if (!strcmp(key, "nesterov") || !strcmp(key, "amsgrad")) {
        int b;
        if (parse_bool(value, &b)) return actlab_errorf(err, errlen, "%s: expected 0 or 1, got '%s'", key, value);
        *(!strcmp(key, "nesterov") ? &cfg->nesterov : &cfg->amsgrad) = b;
        return 0;
    }
    char *end;
    errno = 0;
    double x = strtod(value, &end);
    if (end == value || *end || errno == ERANGE || !isfinite(x))
        return actlab_errorf(err, errlen, "%s: expected a number, got '%s'", key, value);
    double *dst = !strcmp(key, "lr")             ? &cfg->lr
                  : !strcmp(key, "weight_decay") ? &cfg->weight_decay
                  : !strcmp(key, "momentum")     ? &cfg->momentum
                  : !strcmp(key, "dampening")    ? &cfg->dampening
                  : !strcmp(key, "beta1")        ? &cfg->beta1
                  : !strcmp(key, "beta2")        ? &cfg->beta2
                                                 : &cfg->eps;
    *dst = x;
    return 0;
}

int actlab_optim_config_validate(const actlab_optim_config *c, char *err, size_t errlen) {
    if (c->kind != ACTLAB_OPTIM_SGD && c->kind != ACTLAB_OPTIM_ADAM)
        return actlab_errorf(err, errlen, "unknown optimiser kind %d (expected sgd or adam)", (int)c->kind);
    const char *k = actlab_optim_kind_name(c->kind);
    if (!isfinite(c->lr) || c->lr < 0) return actlab_errorf(err, errlen, "%s: learning rate must be >= 0 (got %g)", k, c->lr);
    if (!isfinite(c->weight_decay) || c->weight_decay < 0)
        return actlab_errorf(err, errlen, "%s: weight_decay must be >= 0 (got %g)", k, c->weight_decay);
    if (c->kind == ACTLAB_OPTIM_SGD) {
        if (!(c->momentum >= 0 && c->momentum < 1))
            return actlab_errorf(err, errlen, "sgd: momentum must be in [0, 1) (got %g)", c->momentum);
        if (!(c->dampening >= 0 && c->dampening <= 1))
            return actlab_errorf(err, errlen, "sgd: dampening must be in [0, 1] (got %g)", c->dampening);
        if (c->nesterov && (c->momentum <= 0 || c->dampening != 0))
            return actlab_errorf(err, errlen,
                        "sgd: Nesterov momentum needs momentum > 0 and dampening 0 (got momentum %g, dampening %g)",
                        c->momentum, c->dampening);
        if (c->amsgrad) return actlab_errorf(err, errlen, "sgd: amsgrad is an Adam setting");
    } else {
        if (!(c->beta1 >= 0 && c->beta1 < 1)) return actlab_errorf(err, errlen, "adam: beta1 must be in [0, 1) (got %g)", c->beta1);
        if (!(c->beta2 >= 0 && c->beta2 < 1)) return actlab_errorf(err, errlen, "adam: beta2 must be in [0, 1) (got %g)", c->beta2);
        if (!isfinite(c->eps) || c->eps < 0) return actlab_errorf(err, errlen, "adam: eps must be >= 0 (got %g)", c->eps);
        if (c->momentum != 0 || c->dampening != 0 || c->nesterov)
            return actlab_errorf(err, errlen, "adam: momentum, dampening and nesterov are SGD settings (Adam's momentum is beta1)");
    }
    return 0;
}

int actlab_optim_describe(const actlab_optim_config *c, char *buf, size_t len) {
    char lr[32], wd[32], a[32], b[32], e[32];
    actlab_format_double(lr, sizeof lr, c->lr);
    actlab_format_double(wd, sizeof wd, c->weight_decay);
    if (c->kind == ACTLAB_OPTIM_ADAM) {
        actlab_format_double(a, sizeof a, c->beta1);
        actlab_format_double(b, sizeof b, c->beta2);
        actlab_format_double(e, sizeof e, c->eps);
        return snprintf(buf, len, "adam:lr=%s,beta1=%s,beta2=%s,eps=%s,weight_decay=%s,amsgrad=%d", lr, a, b, e, wd,
                        c->amsgrad ? 1 : 0);
    }
    actlab_format_double(a, sizeof a, c->momentum);
    actlab_format_double(b, sizeof b, c->dampening);
    return snprintf(buf, len, "%s:lr=%s,momentum=%s,dampening=%s,nesterov=%d,weight_decay=%s",
                    actlab_optim_kind_name(c->kind), lr, a, b, c->nesterov ? 1 : 0, wd);
}

/* ---- creation ---- */

static int buffers_for(const actlab_optim_config *c) {
    if (c->kind == ACTLAB_OPTIM_SGD) return c->momentum != 0 ? 1 : 0;
    return c->amsgrad ? 3 : 2;
}

actlab_optim *actlab_optim_new(const actlab_optim_config *cfg, const actlab_param_group *groups, int ngroups,
                               char *err, size_t errlen) {
    if (actlab_optim_config_validate(cfg, err, errlen)) return NULL;
    if (ngroups < 0 || (ngroups > 0 && !groups)) {
        actlab_errorf(err, errlen, "optimiser: %d parameter groups given", ngroups);
        return NULL;
    }
    int64_t total = 0;
    size_t names = 0;
    for (int i = 0; i < ngroups; i++) {
        const actlab_param_group *p = &groups[i];
        const char *nm = p->name ? p->name : "";
        if (p->n < 0 || p->n > INT64_MAX / 16 - total) {
            actlab_errorf(err, errlen, "optimiser: parameter group %d (%s) has %lld parameters", i, nm, (long long)p->n);
            return NULL;
        }
        if (p->n > 0 && (!p->w || !p->g)) {
            actlab_errorf(err, errlen, "optimiser: parameter group %d (%s) has no %s array", i, nm, p->w ? "gradient" : "weight");
            return NULL;
        }
        if (!isfinite(p->decay_mult) || p->decay_mult < 0) {
            actlab_errorf(err, errlen, "optimiser: parameter group %d (%s): decay_mult must be >= 0 (got %g)", i, nm,
                 (double)p->decay_mult);
            return NULL;
        }
        total += p->n;
        names += strlen(nm) + 1;
    }
    /* The optimiser, its group table and the names in one block; the state in another. */
    size_t head = sizeof(actlab_optim) + (size_t)ngroups * sizeof(group);
    actlab_optim *o = calloc(1, head + names);
    if (!o) {
        actlab_errorf(err, errlen, "optimiser: out of memory");
        return NULL;
    }
    o->cfg = *cfg;
    o->ngroups = ngroups;
    o->nbuf = buffers_for(cfg);
    o->total = total;
    o->groups = (group *)(o + 1);
    char *name = (char *)o + head;
    int64_t off = 0;
    for (int i = 0; i < ngroups; i++) {
        const char *nm = groups[i].name ? groups[i].name : "";
        size_t l = strlen(nm) + 1;
        memcpy(name, nm, l);
        o->groups[i] = (group){groups[i].w, groups[i].g, groups[i].n, off, groups[i].decay_mult, name};
        name += l;
        off += groups[i].n;
    }
    size_t bytes = (size_t)o->nbuf * (size_t)total * sizeof(float);
    if (bytes) {
        o->state = calloc(1, bytes);
        if (!o->state) {
            free(o);
            actlab_errorf(err, errlen, "optimiser: out of memory for %zu bytes of state", bytes);
            return NULL;
        }
    }
    return o;
}

void actlab_optim_free(actlab_optim *o) {
    if (!o) return;
    free(o->state);
    free(o);
}

int64_t actlab_optim_steps(const actlab_optim *o) { return o->steps; }
const actlab_optim_config *actlab_optim_get_config(const actlab_optim *o) { return &o->cfg; }

/* ---- the updates ---- */

/* torch.optim.SGD, _single_tensor_sgd:
 *   d = g + wd*w;  buf = d (first step) or buf*momentum + (1-dampening)*d;
 *   d = nesterov ? d + momentum*buf : buf;  w = w + (-lr)*d. */
static void sgd_group(float *restrict w, const float *restrict g, float *restrict buf, int64_t n, int has_wd,
                      float wd, int has_mom, int first, float mom, float damp1, int nesterov, float neg_lr) {
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        float d = g[i];
        if (has_wd) d = d + wd * w[i];
        if (has_mom) {
            float b = first ? d : buf[i] * mom + damp1 * d;
            buf[i] = b;
            d = nesterov ? d + mom * b : b;
        }
        w[i] = w[i] + neg_lr * d;
    }
}

/* torch.optim.Adam, _single_tensor_adam (not capturable):
 *   d = g + wd*w;  m = m*b1 + (1-b1)*d;  v = v*b2 + ((1-b2)*d)*d;
 *   denom = sqrt(v or max(vmax, v)) / sqrt(1-b2^t) + eps;  w = w + (-lr/(1-b1^t) * m) / denom. */
static void adam_group(float *restrict w, const float *restrict g, float *restrict m, float *restrict v,
                       float *restrict vmax, int64_t n, int has_wd, float wd, float b1, float omb1, float b2,
                       float omb2, float bc2_sqrt, float eps, float neg_step) {
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        float d = g[i];
        if (has_wd) d = d + wd * w[i];
        float mi = m[i] * b1 + omb1 * d;
        float vi = v[i] * b2 + (omb2 * d) * d;
        m[i] = mi;
        v[i] = vi;
        if (vmax) {
            float a = vmax[i];
            vi = (a > vi || a != a) ? a : vi; /* torch.maximum: NaN wins */
            vmax[i] = vi;
        }
        float denom = sqrtf(vi) / bc2_sqrt + eps;
        w[i] = w[i] + (neg_step * mi) / denom;
    }
}

int actlab_optim_step(actlab_optim *o, double lr) {
    if (!isfinite(lr) || lr < 0) return -1;
    const actlab_optim_config *c = &o->cfg;
    int first = o->steps == 0;
    o->steps++;
    for (int gi = 0; gi < o->ngroups; gi++) {
        group *p = &o->groups[gi];
        if (p->n == 0) continue;
        /* PyTorch gives each group its own weight_decay (a double) and skips the add when it is 0 */
        double wd = c->weight_decay * (double)p->decay_mult;
        if (c->kind == ACTLAB_OPTIM_SGD) {
            float *buf = o->nbuf ? o->state + p->off : NULL;
            sgd_group(p->w, p->g, buf, p->n, wd != 0, (float)wd, c->momentum != 0, first, (float)c->momentum,
                      (float)(1 - c->dampening), c->nesterov, (float)-lr);
        } else {
            double t = (double)o->steps;
            double bc1 = 1 - pow(c->beta1, t), bc2 = 1 - pow(c->beta2, t);
            double step_size = lr / bc1;
            float *m = o->state + p->off, *v = m + o->total, *vmax = c->amsgrad ? v + o->total : NULL;
            adam_group(p->w, p->g, m, v, vmax, p->n, wd != 0, (float)wd, (float)c->beta1, (float)(1 - c->beta1),
                       (float)c->beta2, (float)(1 - c->beta2), (float)sqrt(bc2), (float)c->eps, (float)-step_size);
        }
    }
    return 0;
}

/* ---- state blob ----
 * "ACTOPTST", u32 version, u32 kind, u32 flags, u32 ngroups, i64 steps, i64 total,
 * i64 n per group, then nbuf * total float32 (buffer-major, as in memory). Native
 * byte order (little-endian on every machine actlab builds for). */
static const char STATE_MAGIC[8] = {'A', 'C', 'T', 'O', 'P', 'T', 'S', 'T'};
enum { STATE_HEADER = 8 + 4 * 4 + 2 * 8, FLAG_MOMENTUM = 1, FLAG_AMSGRAD = 2 };

static uint32_t state_flags(const actlab_optim *o) {
    return (o->cfg.kind == ACTLAB_OPTIM_SGD && o->nbuf ? FLAG_MOMENTUM : 0) |
           (o->cfg.kind == ACTLAB_OPTIM_ADAM && o->cfg.amsgrad ? FLAG_AMSGRAD : 0);
}

size_t actlab_optim_state_size(const actlab_optim *o) {
    return STATE_HEADER + 8 * (size_t)o->ngroups + sizeof(float) * (size_t)o->nbuf * (size_t)o->total;
}

int actlab_optim_state_save(const actlab_optim *o, void *buf) {
    unsigned char *p = buf;
    uint32_t u[4] = {ACTLAB_OPTIM_STATE_VERSION, (uint32_t)o->cfg.kind, state_flags(o), (uint32_t)o->ngroups};
    int64_t s[2] = {o->steps, o->total};
    memcpy(p, STATE_MAGIC, 8);
    memcpy(p + 8, u, sizeof u);
    memcpy(p + 24, s, sizeof s);
    p += STATE_HEADER;
    for (int i = 0; i < o->ngroups; i++, p += 8) memcpy(p, &o->groups[i].n, 8);
    if (o->nbuf) memcpy(p, o->state, sizeof(float) * (size_t)o->nbuf * (size_t)o->total);
    return 0;
}

static const char *flags_text(uint32_t kind, uint32_t f) {
    if (kind == ACTLAB_OPTIM_SGD) return f & FLAG_MOMENTUM ? "with momentum" : "without momentum";
    return f & FLAG_AMSGRAD ? "with amsgrad" : "without amsgrad";
}

int actlab_optim_state_load(actlab_optim *o, const void *buf, size_t len, char *err, size_t errlen) {
    const unsigned char *p = buf;
    if (len < STATE_HEADER)
        return actlab_errorf(err, errlen, "optimiser state: %zu bytes, shorter than its %d-byte header", len, STATE_HEADER);
    if (memcmp(p, STATE_MAGIC, 8)) return actlab_errorf(err, errlen, "optimiser state: not an actlab optimiser state (bad magic)");
    uint32_t u[4];
    int64_t s[2];
    memcpy(u, p + 8, sizeof u);
    memcpy(s, p + 24, sizeof s);
    if (u[0] != ACTLAB_OPTIM_STATE_VERSION)
        return actlab_errorf(err, errlen, "optimiser state: version %u, this actlab reads version %d", u[0],
                    ACTLAB_OPTIM_STATE_VERSION);
    if (u[1] != (uint32_t)o->cfg.kind)
        return actlab_errorf(err, errlen, "optimiser state is for %s, this optimiser is %s",
                    actlab_optim_kind_name((actlab_optim_kind)u[1]), actlab_optim_kind_name(o->cfg.kind));
    if (u[2] != state_flags(o))
        return actlab_errorf(err, errlen, "optimiser state was saved %s, this %s optimiser runs %s", flags_text(u[1], u[2]),
                    actlab_optim_kind_name(o->cfg.kind), flags_text(u[1], state_flags(o)));
    if (u[3] != (uint32_t)o->ngroups)
        return actlab_errorf(err, errlen, "optimiser state has %u parameter groups, this optimiser %d", u[3], o->ngroups);
    size_t want = actlab_optim_state_size(o);
    if (len < STATE_HEADER + 8 * (size_t)o->ngroups)
        return actlab_errorf(err, errlen, "optimiser state: %zu bytes, expected %zu", len, want);
    for (int i = 0; i < o->ngroups; i++) {
        int64_t n;
        memcpy(&n, p + STATE_HEADER + 8 * (size_t)i, 8);
        if (n != o->groups[i].n)
            return actlab_errorf(err, errlen, "optimiser state: parameter group %d (%s) has %lld parameters, this model %lld", i,
                        o->groups[i].name, (long long)n, (long long)o->groups[i].n);
    }
    if (s[1] != o->total || len != want)
        return actlab_errorf(err, errlen, "optimiser state: %zu bytes, expected %zu", len, want);
    if (s[0] < 0) return actlab_errorf(err, errlen, "optimiser state: negative step count %lld", (long long)s[0]);
    o->steps = s[0];
    if (o->nbuf) memcpy(o->state, p + STATE_HEADER + 8 * (size_t)o->ngroups, sizeof(float) * (size_t)o->nbuf * (size_t)o->total);
    return 0;
}
