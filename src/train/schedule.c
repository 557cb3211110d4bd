/*
 * schedule.c — learning-rate schedules as closed forms of the iteration
 * number, with PyTorch 1.13's lr_scheduler semantics, and their text form
 * (grammar in actlab/optim.h).
 *
 * PyTorch's schedulers keep the lr in the optimiser and multiply it step by
 * step; their documented closed forms (_get_closed_form_lr) give the same
 * values to rounding. A closed form needs no state, so a resumed run only
 * has to know its iteration number. The formulas below copy PyTorch's
 * closed forms operation for operation (gamma ** k as pow, cosine as
 * eta_min + (base - eta_min) * (1 + cos(pi * t / T)) / 2).
 */
#include "util/error.h"
#include "actlab/optim.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define TEXT_MAX 1024



actlab_schedule actlab_schedule_constant(double base_lr) {
    actlab_schedule s;
    memset(&s, 0, sizeof s);
    s.kind = ACTLAB_SCHED_CONSTANT;
    s.base_lr = base_lr;
    s.gamma = 0.1;
    s.warmup_start = 1.0 / 3; /* LinearLR's default start_factor */
    s.warmup_end = 1;
    return s;
}

/* ---- evaluation ---- */

static int64_t position(actlab_schedule_unit unit, int64_t iter, int64_t ipe) {
    return unit == ACTLAB_UNIT_ITER ? iter : iter / ipe;
}

double actlab_schedule_lr(const actlab_schedule *s, int64_t iter, int64_t iters_per_epoch) {
    int64_t ipe = iters_per_epoch < 1 ? 1 : iters_per_epoch;
    if (iter < 0) iter = 0;
    int64_t t = position(s->unit, iter, ipe);
    double lr = s->base_lr;
    switch (s->kind) {
    case ACTLAB_SCHED_CONSTANT: break;
    case ACTLAB_SCHED_STEP: lr = s->base_lr * pow(s->gamma, (double)(t / (s->step_size > 0 ? s->step_size : 1))); break;
    case ACTLAB_SCHED_MULTISTEP: {
        int k = 0; /* bisect_right(milestones, t) */
        while (k < s->nmilestones && s->milestones[k] <= t) k++;
        if (s->explicit_values) lr = k ? s->values[k - 1] : s->base_lr;
        else lr = s->base_lr * pow(s->gamma, (double)k);
        break;
    }
    case ACTLAB_SCHED_EXP: lr = s->base_lr * pow(s->gamma, (double)t); break;
    case ACTLAB_SCHED_COSINE:
        /* periodic past t_max, as PyTorch's: the lr climbs back to base_lr at 2 t_max */
        if (s->t_max > 0)
            lr = s->eta_min + (s->base_lr - s->eta_min) * (1 + cos(M_PI * (double)t / (double)s->t_max)) / 2;
        break;
    }
    if (s->warmup > 0) {
        /* LinearLR's closed form; chained with the schedule the factors multiply */
        int64_t tw = position(s->warmup_unit, iter, ipe);
        if (tw > s->warmup) tw = s->warmup;
        lr = lr * (s->warmup_start + (s->warmup_end - s->warmup_start) * (double)tw / (double)s->warmup);
    }
    return lr;
}

void actlab_schedule_resolve(actlab_schedule *s, int64_t epochs, int64_t iters_per_epoch) {
    if (s->kind != ACTLAB_SCHED_COSINE || s->t_max > 0) return;
    int64_t ipe = iters_per_epoch < 1 ? 1 : iters_per_epoch;
    s->t_max = s->unit == ACTLAB_UNIT_ITER ? epochs * ipe : epochs;
}

/* ---- validation ---- */

static const char *kind_name(actlab_schedule_kind k) {
    switch (k) {
    case ACTLAB_SCHED_CONSTANT: return "constant";
    case ACTLAB_SCHED_STEP: return "step";
    case ACTLAB_SCHED_MULTISTEP: return "multistep";
    case ACTLAB_SCHED_EXP: return "exp";
    case ACTLAB_SCHED_COSINE: return "cosine";
    }
    return "unknown";
}

int actlab_schedule_validate(const actlab_schedule *s, char *err, size_t errlen) {
    const char *k = kind_name(s->kind);
    if ((unsigned)s->kind > ACTLAB_SCHED_COSINE) return actlab_errorf(err, errlen, "schedule: unknown kind %d", (int)s->kind);
    if (s->unit != ACTLAB_UNIT_EPOCH && s->unit != ACTLAB_UNIT_ITER)
        return actlab_errorf(err, errlen, "%s: unknown unit %d (expected epoch or iter)", k, (int)s->unit);
    if (!isfinite(s->base_lr) || s->base_lr < 0)
        return actlab_errorf(err, errlen, "%s: base learning rate must be >= 0 (got %g)", k, s->base_lr);
    int uses_gamma = s->kind == ACTLAB_SCHED_STEP || s->kind == ACTLAB_SCHED_EXP ||
                     (s->kind == ACTLAB_SCHED_MULTISTEP && !s->explicit_values);
    if (uses_gamma && !(isfinite(s->gamma) && s->gamma > 0))
        return actlab_errorf(err, errlen, "%s: gamma must be a number > 0 (got %g)", k, s->gamma);
    if (s->kind == ACTLAB_SCHED_STEP && s->step_size < 1)
        return actlab_errorf(err, errlen, "step: size must be a whole number >= 1 (got %lld)", (long long)s->step_size);
    if (s->kind == ACTLAB_SCHED_MULTISTEP) {
        if (s->nmilestones < 1 || s->nmilestones > ACTLAB_SCHEDULE_MAX_MILESTONES)
            return actlab_errorf(err, errlen, "multistep: needs 1 to %d milestones (got %d)", ACTLAB_SCHEDULE_MAX_MILESTONES,
                        s->nmilestones);
        for (int i = 0; i < s->nmilestones; i++) {
            if (s->milestones[i] < 1 || (i && s->milestones[i] <= s->milestones[i - 1]))
                return actlab_errorf(err, errlen, "multistep: milestones must be whole numbers >= 1 in increasing order "
                                         "(milestone %d is %lld)", i + 1, (long long)s->milestones[i]);
            if (s->explicit_values && !(isfinite(s->values[i]) && s->values[i] >= 0))
                return actlab_errorf(err, errlen, "multistep: learning rate %d must be >= 0 (got %g)", i + 1, s->values[i]);
        }
    }
    if (s->kind == ACTLAB_SCHED_COSINE) {
        if (s->t_max < 0) return actlab_errorf(err, errlen, "cosine: tmax must be >= 1 (got %lld)", (long long)s->t_max);
        if (!(isfinite(s->eta_min) && s->eta_min >= 0))
            return actlab_errorf(err, errlen, "cosine: eta_min must be >= 0 (got %g)", s->eta_min);
    }
    if (s->warmup < 0) return actlab_errorf(err, errlen, "warmup: length must be >= 0 (got %lld)", (long long)s->warmup);
    if (s->warmup > 0) {
        if (s->warmup_unit != ACTLAB_UNIT_EPOCH && s->warmup_unit != ACTLAB_UNIT_ITER)
            return actlab_errorf(err, errlen, "warmup: unknown unit %d", (int)s->warmup_unit);
        /* LinearLR's ranges */
        if (!(s->warmup_start > 0 && s->warmup_start <= 1))
            return actlab_errorf(err, errlen, "warmup: start must be in (0, 1] (got %g)", s->warmup_start);
        if (!(s->warmup_end >= 0 && s->warmup_end <= 1))
            return actlab_errorf(err, errlen, "warmup: end must be in [0, 1] (got %g)", s->warmup_end);
    }
    return 0;
}

/* ---- text ---- */

typedef struct parser {
    const char *text; /* the whole text, for messages */
    char *err;
    size_t errlen;
} parser;

static int bad(parser *p, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return actlab_errorf(p->err, p->errlen, "schedule '%s': %s", p->text, msg);
}

static int parse_int(const char *v, int64_t *out) {
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (end == v || *end || errno == ERANGE) {
        /* accept 35e3 or 1e5 when it is a whole number */
        double d = strtod(v, &end);
        if (end == v || *end || !(d >= -9e15 && d <= 9e15) || d != floor(d)) return -1;
        x = (long long)d;
    }
    *out = x;
    return 0;
}

static int parse_num(const char *v, double *out) {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (end == v || *end || errno == ERANGE || !isfinite(x)) return -1;
    *out = x;
    return 0;
}

/* "a/b/c" into up to ACTLAB_SCHEDULE_MAX_MILESTONES numbers; returns the count or -1 (item index in *bad_item). */
static int parse_list(char *v, int integers, int64_t *ints, double *nums, int *bad_item) {
    int n = 0;
    for (char *item = v;; n++) {
        char *slash = strchr(item, '/');
        if (slash) *slash = 0;
        if (n >= ACTLAB_SCHEDULE_MAX_MILESTONES) {
            *bad_item = -2;
            return -1;
        }
        if (integers ? parse_int(item, &ints[n]) : parse_num(item, &nums[n])) {
            *bad_item = n;
            return -1;
        }
        if (!slash) return n + 1;
        item = slash + 1;
    }
}

static int parse_unit(parser *p, const char *kind, const char *v, actlab_schedule_unit *u) {
    if (!strcasecmp(v, "epoch") || !strcasecmp(v, "epochs")) *u = ACTLAB_UNIT_EPOCH;
    else if (!strcasecmp(v, "iter") || !strcasecmp(v, "iters") || !strcasecmp(v, "iteration") ||
             !strcasecmp(v, "iterations"))
        *u = ACTLAB_UNIT_ITER;
    else return bad(p, "%s: unit=%s (expected unit=epoch or unit=iter)", kind, v);
    return 0;
}

static void lower(char *s) {
    for (; *s; s++) *s = (char)tolower((unsigned char)*s);
}

static void trim(char **s) {
    while (isspace((unsigned char)**s)) (*s)++;
    char *e = *s + strlen(*s);
    while (e > *s && isspace((unsigned char)e[-1])) *--e = 0;
}

/* One "kind:k=v,..." component of the text. */
static int parse_component(parser *p, char *comp, actlab_schedule *s, int *have_main, int *have_warmup) {
    char *args = strchr(comp, ':');
    if (args) *args++ = 0;
    trim(&comp);
    lower(comp);
    const char *kind = comp;
    static const char *const KINDS = "constant, step, multistep, exp, cosine (optionally followed by +warmup:...)";
    int is_warmup = !strcmp(kind, "warmup");
    const char *keys; /* what this kind takes, for messages */
    if (is_warmup) {
        if (*have_warmup) return bad(p, "warmup given twice");
        *have_warmup = 1;
        keys = "iters or epochs, start, end";
    } else {
        if (*have_main) return bad(p, "'%s' after a schedule was already given (one of %s)", kind, KINDS);
        *have_main = 1;
        if (!strcmp(kind, "constant") || !strcmp(kind, "const")) {
            s->kind = ACTLAB_SCHED_CONSTANT;
            keys = "unit";
        } else if (!strcmp(kind, "step")) {
            s->kind = ACTLAB_SCHED_STEP;
            keys = "size, gamma, unit";
        } else if (!strcmp(kind, "multistep") || !strcmp(kind, "multi_step")) {
            s->kind = ACTLAB_SCHED_MULTISTEP;
            keys = "milestones (or at), gamma or lr, unit";
        } else if (!strcmp(kind, "exp") || !strcmp(kind, "exponential")) {
            s->kind = ACTLAB_SCHED_EXP;
            keys = "gamma, unit";
        } else if (!strcmp(kind, "cosine") || !strcmp(kind, "cos")) {
            s->kind = ACTLAB_SCHED_COSINE;
            keys = "tmax, eta_min, unit";
        } else if (!*kind) {
            return bad(p, "a schedule name is missing (expected %s)", KINDS);
        } else {
            return bad(p, "unknown schedule '%s' (expected %s)", kind, KINDS);
        }
    }
    int seen_gamma = 0, seen_values = 0, seen_milestones = 0, seen_size = 0, seen_len = 0;
    unsigned seen = 0;
    int64_t nm_values = -1;
    char *save = NULL;
    for (char *kv = args ? strtok_r(args, ",", &save) : NULL; kv; kv = strtok_r(NULL, ",", &save)) {
        trim(&kv);
        if (!*kv) return bad(p, "%s: an empty setting (expected %s)", kind, keys);
        char *v = strchr(kv, '=');
        if (!v) return bad(p, "%s: '%s' has no value (expected key=value; %s takes %s)", kind, kv, kind, keys);
        *v++ = 0;
        trim(&kv);
        trim(&v);
        lower(kv);
        if (!*v) return bad(p, "%s: %s= has no value", kind, kv);
        /* each key once: a bit per key name below */
        static const char *const ALL[] = {"unit", "size", "gamma", "milestones", "lr", "tmax", "eta_min",
                                          "iters", "start", "end"};
        const char *canon = !strcmp(kv, "step_size")                        ? "size"
                            : !strcmp(kv, "at")                             ? "milestones"
                            : !strcmp(kv, "t_max")                          ? "tmax"
                            : !strcmp(kv, "epochs") || !strcmp(kv, "iter") ? "iters"
                                                                            : kv;
        for (unsigned i = 0; i < sizeof ALL / sizeof ALL[0]; i++)
            if (!strcmp(canon, ALL[i])) {
                if (seen & (1u << i))
                    return !strcmp(canon, "iters") && is_warmup ? bad(p, "warmup: its length is given twice")
                                                                : bad(p, "%s: %s given twice", kind, kv);
                seen |= 1u << i;
            }
        int ok = 1;
        if (is_warmup) {
            if (!strcmp(kv, "iters") || !strcmp(kv, "iter") || !strcmp(kv, "epochs")) {
                if (parse_int(v, &s->warmup) || s->warmup < 1)
                    return bad(p, "warmup: %s=%s is not a whole number >= 1", kv, v);
                s->warmup_unit = kv[0] == 'e' ? ACTLAB_UNIT_EPOCH : ACTLAB_UNIT_ITER;
                seen_len = 1;
            } else if (!strcmp(kv, "start")) {
                if (parse_num(v, &s->warmup_start) || !(s->warmup_start > 0 && s->warmup_start <= 1))
                    return bad(p, "warmup: start=%s is not a factor in (0, 1]", v);
            } else if (!strcmp(kv, "end")) {
                if (parse_num(v, &s->warmup_end) || !(s->warmup_end >= 0 && s->warmup_end <= 1))
                    return bad(p, "warmup: end=%s is not a factor in [0, 1]", v);
            } else ok = 0;
        } else if (!strcmp(kv, "unit")) {
            if (parse_unit(p, kind, v, &s->unit)) return -1;
        } else if (s->kind == ACTLAB_SCHED_STEP && (!strcmp(kv, "size") || !strcmp(kv, "step_size"))) {
            if (parse_int(v, &s->step_size) || s->step_size < 1)
                return bad(p, "step: %s=%s is not a whole number >= 1", kv, v);
            seen_size = 1;
        } else if ((s->kind == ACTLAB_SCHED_STEP || s->kind == ACTLAB_SCHED_MULTISTEP || s->kind == ACTLAB_SCHED_EXP) &&
                   !strcmp(kv, "gamma")) {
            if (parse_num(v, &s->gamma) || !(s->gamma > 0))
                return bad(p, "%s: gamma=%s is not a number > 0", kind, v);
            seen_gamma = 1;
        } else if (s->kind == ACTLAB_SCHED_MULTISTEP && (!strcmp(kv, "milestones") || !strcmp(kv, "at"))) {
            int item;
            int n = parse_list(v, 1, s->milestones, NULL, &item);
            if (n < 0 && item == -2)
                return bad(p, "multistep: more than %d milestones", ACTLAB_SCHEDULE_MAX_MILESTONES);
            if (n < 0) return bad(p, "multistep: %s: item %d is not a whole number (expected e.g. 30/60/90)", kv, item + 1);
            for (int i = 0; i < n; i++)
                if (s->milestones[i] < 1 || (i && s->milestones[i] <= s->milestones[i - 1]))
                    return bad(p, "multistep: %s must be whole numbers >= 1 in increasing order (item %d is %lld)", kv,
                               i + 1, (long long)s->milestones[i]);
            s->nmilestones = n;
            seen_milestones = 1;
        } else if (s->kind == ACTLAB_SCHED_MULTISTEP && !strcmp(kv, "lr")) {
            int item;
            int n = parse_list(v, 0, NULL, s->values, &item);
            if (n < 0 && item == -2) return bad(p, "multistep: more than %d values in lr=", ACTLAB_SCHEDULE_MAX_MILESTONES);
            if (n < 0) return bad(p, "multistep: lr: item %d is not a number (expected e.g. lr=0.005/0.0005)", item + 1);
            for (int i = 0; i < n; i++)
                if (!(s->values[i] >= 0)) return bad(p, "multistep: lr: item %d is negative", i + 1);
            nm_values = n;
            seen_values = 1;
        } else if (s->kind == ACTLAB_SCHED_COSINE && (!strcmp(kv, "tmax") || !strcmp(kv, "t_max"))) {
            if (parse_int(v, &s->t_max) || s->t_max < 1) return bad(p, "cosine: %s=%s is not a whole number >= 1", kv, v);
        } else if (s->kind == ACTLAB_SCHED_COSINE && !strcmp(kv, "eta_min")) {
            if (parse_num(v, &s->eta_min) || !(s->eta_min >= 0)) return bad(p, "cosine: eta_min=%s is not a number >= 0", v);
        } else ok = 0;
        if (!ok) return bad(p, "%s takes %s; got '%s'", kind, keys, kv);
    }
    if (is_warmup) {
        if (!seen_len) return bad(p, "warmup needs its length: iters=N or epochs=N");
        return 0;
    }
    if (s->kind == ACTLAB_SCHED_STEP && !seen_size) return bad(p, "step needs size=N (the decay period)");
    if (s->kind == ACTLAB_SCHED_EXP && !seen_gamma) return bad(p, "exp needs gamma=G (the factor per epoch or iteration)");
    if (s->kind == ACTLAB_SCHED_MULTISTEP) {
        if (!seen_milestones) return bad(p, "multistep needs milestones=A/B/... (or at=A/B/...)");
        if (seen_values && seen_gamma) return bad(p, "multistep takes either gamma= or lr= values, not both");
        if (seen_values && nm_values != s->nmilestones)
            return bad(p, "multistep: %lld values in lr= for %d milestones (expected one value per milestone)",
                       (long long)nm_values, s->nmilestones);
        s->explicit_values = seen_values;
    }
    if (s->kind == ACTLAB_SCHED_CONSTANT) s->unit = ACTLAB_UNIT_EPOCH; /* meaningless there; keeps describe canonical */
    return 0;
}

int actlab_schedule_parse(const char *text, double base_lr, actlab_schedule *out, char *err, size_t errlen) {
    parser p = {text ? text : "", err, errlen};
    char buf[TEXT_MAX];
    size_t len = strlen(p.text);
    if (len >= sizeof buf) return actlab_errorf(err, errlen, "schedule text is %zu characters long (at most %d)", len, TEXT_MAX - 1);
    memcpy(buf, p.text, len + 1);
    char *whole = buf;
    trim(&whole);
    if (!*whole) return bad(&p, "empty (expected constant, step, multistep, exp or cosine, optionally +warmup:...)");
    actlab_schedule s = actlab_schedule_constant(base_lr);
    int have_main = 0, have_warmup = 0;
    /* components are joined by '+' before a letter ('+' inside a number such as 1e+3 is not a join) */
    char *comp = buf;
    for (char *c = buf;; c++) {
        if (*c == 0 || (*c == '+' && isalpha((unsigned char)c[1]))) {
            int last = *c == 0;
            *c = 0;
            char *t = comp;
            trim(&t);
            if (*t) {
                if (parse_component(&p, t, &s, &have_main, &have_warmup)) return -1;
            } else if (!(comp == buf && !last)) {
                return bad(&p, "an empty part (expected e.g. step:size=30,gamma=0.1 or cosine:tmax=100+warmup:iters=500)");
            }
            if (last) break;
            comp = c + 1;
        }
    }
    if (actlab_schedule_validate(&s, err, errlen)) return -1;
    *out = s;
    return 0;
}

static const char *unit_name(actlab_schedule_unit u) { return u == ACTLAB_UNIT_ITER ? "iter" : "epoch"; }

int actlab_schedule_describe(const actlab_schedule *s, char *buf, size_t len) {
    char out[TEXT_MAX * 2], num[32];
    size_t n = 0;
#define PUT(...) (n += (size_t)snprintf(out + n, n < sizeof out ? sizeof out - n : 0, __VA_ARGS__), n = n < sizeof out ? n : sizeof out)
    switch (s->kind) {
    case ACTLAB_SCHED_CONSTANT: PUT("constant"); break;
    case ACTLAB_SCHED_STEP:
        actlab_format_double(num, sizeof num, s->gamma);
        PUT("step:size=%lld,gamma=%s,unit=%s", (long long)s->step_size, num, unit_name(s->unit));
        break;
    case ACTLAB_SCHED_MULTISTEP:
        PUT("multistep:%s=", s->explicit_values ? "at" : "milestones");
        for (int i = 0; i < s->nmilestones; i++) PUT("%s%lld", i ? "/" : "", (long long)s->milestones[i]);
        if (s->explicit_values) {
            PUT(",lr=");
            for (int i = 0; i < s->nmilestones; i++) {
                actlab_format_double(num, sizeof num, s->values[i]);
                PUT("%s%s", i ? "/" : "", num);
            }
        } else {
            actlab_format_double(num, sizeof num, s->gamma);
            PUT(",gamma=%s", num);
        }
        PUT(",unit=%s", unit_name(s->unit));
        break;
    case ACTLAB_SCHED_EXP:
        actlab_format_double(num, sizeof num, s->gamma);
        PUT("exp:gamma=%s,unit=%s", num, unit_name(s->unit));
        break;
    case ACTLAB_SCHED_COSINE:
        actlab_format_double(num, sizeof num, s->eta_min);
        PUT("cosine:");
        if (s->t_max > 0) PUT("tmax=%lld,", (long long)s->t_max); /* none: the whole run, still to be resolved */
        PUT("eta_min=%s,unit=%s", num, unit_name(s->unit));
        break;
    default: PUT("unknown"); break;
    }
    if (s->warmup > 0) {
        char a[32], b[32];
        actlab_format_double(a, sizeof a, s->warmup_start);
        actlab_format_double(b, sizeof b, s->warmup_end);
        PUT("+warmup:%s=%lld,start=%s,end=%s", s->warmup_unit == ACTLAB_UNIT_ITER ? "iters" : "epochs",
            (long long)s->warmup, a, b);
    }
#undef PUT
    return snprintf(buf, len, "%s", out);
}
