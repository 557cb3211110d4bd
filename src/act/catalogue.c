/*
 * catalogue.c — finding functions by name, registering user functions, and
 * parsing "NAME[:k=v,...]" specs into configured functions.
 *
 * The built-ins are a constant table (builtins.c); user formulas are appended
 * at run time. Names compare case-insensitively with '-' and '_' equal, so
 * "ReLU-Softsign", "relu_softsign" and "relu-softsign" are one function.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "builtins.h"
#include "catalogue_internal.h"

#define MAX_USER 256
static const actlab_act *user_entries[MAX_USER];
static int user_count;


int actlab_act_count(void) { return act_builtin_count + user_count; }

const actlab_act *actlab_act_at(int i) {
    if (i < 0 || i >= actlab_act_count()) return NULL;
    return i < act_builtin_count ? act_builtins[i] : user_entries[i - act_builtin_count];
}

static int name_char(int c) { return c == '-' ? '_' : tolower(c); }

static int same_name(const char *a, const char *b, size_t blen) {
    size_t i = 0;
    for (; i < blen && a[i]; i++)
        if (name_char((unsigned char)a[i]) != name_char((unsigned char)b[i])) return 0;
    return i == blen && a[i] == 0;
}

/* Does `name` match the entry's name or one of its space-separated aliases? */
static int entry_matches(const actlab_act *a, const char *name) {
    if (same_name(name, a->name, strlen(a->name))) return 1;
    for (const char *s = a->aliases; s && *s;) {
        while (*s == ' ') s++;
        size_t len = strcspn(s, " ");
        if (len && same_name(name, s, len)) return 1;
        s += len;
    }
    return 0;
}

const actlab_act *actlab_act_find(const char *name) {
    for (int i = 0; i < actlab_act_count(); i++)
        if (entry_matches(actlab_act_at(i), name)) return actlab_act_at(i);
    return NULL;
}

int act_catalogue_add(const actlab_act *a, char *err, size_t errlen) {
    if (actlab_act_find(a->name))
        return actlab_errorf(err, errlen, "a function named '%s' already exists", a->name);
    if (user_count == MAX_USER)
        return actlab_errorf(err, errlen, "too many user functions (at most %d)", MAX_USER);
    user_entries[user_count++] = a;
    return 0;
}

/* Edit distance between normalised names, for suggestions. */
static int edit_distance(const char *a, const char *b, size_t blen) {
    size_t alen = strlen(a);
    if (alen > 63 || blen > 63) return 99;
    int row[64];
    for (size_t j = 0; j <= blen; j++) row[j] = (int)j;
    for (size_t i = 1; i <= alen; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= blen; j++) {
            int up = row[j];
            int cost = name_char((unsigned char)a[i - 1]) != name_char((unsigned char)b[j - 1]);
            int best = diag + cost;
            if (row[j] + 1 < best) best = row[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[blen];
}

static int entry_distance(const actlab_act *a, const char *name) {
    int best = edit_distance(name, a->name, strlen(a->name));
    for (const char *s = a->aliases; s && *s;) {
        while (*s == ' ') s++;
        size_t len = strcspn(s, " ");
        if (len) {
            int d = edit_distance(name, s, len);
            if (d < best) best = d;
        }
        s += len;
    }
    /* A name that starts the same way ("leaky" for leaky_relu) is a good guess. */
    size_t nlen = strlen(name);
    if (nlen >= 3 && strncmp(a->name, name, nlen) == 0 && best > 1) best = 1;
    return best;
}

int actlab_act_suggest(const char *name, const char **out, int max) {
    int limit = (int)strlen(name) / 3 + 2, count = 0;
    for (int d = 0; d <= limit && count < max; d++)
        for (int i = 0; i < actlab_act_count() && count < max; i++) {
            const actlab_act *a = actlab_act_at(i);
            if (entry_distance(a, name) == d && strncmp(a->name, "expr:", 5) != 0) out[count++] = a->name;
        }
    return count;
}

int actlab_act_param_index(const actlab_act *a, const char *name) {
    for (int k = 0; k < a->nparam; k++)
        if (strcmp(a->param[k].name, name) == 0) return k;
    return -1;
}

int actlab_act_has_learnable(const actlab_act *a) {
    for (int k = 0; k < a->nparam; k++)
        if (a->param[k].kind == ACTLAB_PARAM_LEARNABLE) return 1;
    return 0;
}

static void param_names(const actlab_act *a, char *buf, size_t len) {
    buf[0] = 0;
    for (int k = 0; k < a->nparam; k++)
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", k ? ", " : "", a->param[k].name);
    if (!a->nparam) snprintf(buf, len, "none");
}

int actlab_act_set(actlab_act_cfg *cfg, const char *key, double value, char *err, size_t errlen) {
    const actlab_act *a = cfg->act;
    int k = actlab_act_param_index(a, key);
    if (k < 0) {
        char names[128];
        param_names(a, names, sizeof names);
        return actlab_errorf(err, errlen, "%s has no parameter '%s' (its parameters: %s)", a->name, key, names);
    }
    const actlab_param_info *pi = &a->param[k];
    if (!(value >= pi->lo && value <= pi->hi))
        return actlab_errorf(err, errlen, "parameter %s of %s must be in [%g, %g], got %g", key, a->name, pi->lo, pi->hi, value);
    if (pi->integer && value != floor(value))
        return actlab_errorf(err, errlen, "parameter %s of %s must be a whole number, got %g", key, a->name, value);
    cfg->p[k] = (float)value;
    return 0;
}

static void set_defaults(actlab_act_cfg *cfg, const actlab_act *a) {
    memset(cfg, 0, sizeof *cfg);
    cfg->act = a;
    for (int k = 0; k < a->nparam; k++) cfg->p[k] = (float)a->param[k].def;
}

static int check_combination(const actlab_act_cfg *cfg, char *err, size_t errlen) {
    if (!cfg->act->check) return 0;
    double p[ACTLAB_ACT_MAX_PARAMS];
    for (int k = 0; k < ACTLAB_ACT_MAX_PARAMS; k++) p[k] = cfg->p[k];
    const char *why = cfg->act->check(p);
    return why ? actlab_errorf(err, errlen, "%s: %s", cfg->act->name, why) : 0;
}

static int parse_expr_spec(const char *spec, actlab_act_cfg *out, char *err, size_t errlen) {
    const actlab_act *a = actlab_act_find(spec);
    if (!a) {
        const char *body = spec + 5;
        size_t elen = strcspn(body, ";");
        char *expr = malloc(elen + 1);
        if (!expr) return actlab_errorf(err, errlen, "out of memory");
        memcpy(expr, body, elen);
        expr[elen] = 0;
        a = actlab_act_define(spec, expr, body[elen] ? body + elen + 1 : NULL, err, errlen);
        free(expr);
        if (!a) return -1;
    }
    set_defaults(out, a);
    return 0;
}

int actlab_act_parse(const char *spec, actlab_act_cfg *out, char *err, size_t errlen) {
    if (!spec || !*spec) return actlab_errorf(err, errlen, "empty activation name");
    if (strncmp(spec, "expr:", 5) == 0) return parse_expr_spec(spec, out, err, errlen);

    size_t nlen = strcspn(spec, ":");
    char name[128];
    if (nlen >= sizeof name) return actlab_errorf(err, errlen, "activation name too long: '%.40s...'", spec);
    memcpy(name, spec, nlen);
    name[nlen] = 0;
    const actlab_act *a = actlab_act_find(name);
    if (!a) {
        const char *sugg[4];
        int ns = actlab_act_suggest(name, sugg, 4);
        char hint[200] = "";
        for (int i = 0; i < ns; i++)
            snprintf(hint + strlen(hint), sizeof hint - strlen(hint), "%s%s", i ? ", " : "; did you mean ", sugg[i]);
        return actlab_errorf(err, errlen, "unknown activation '%s'%s%s ('actlab list' shows all)", name, hint, ns ? "?" : "");
    }
    set_defaults(out, a);

    /* "k=v,k=v" after the colon. */
    const char *s = spec[nlen] ? spec + nlen + 1 : "";
    while (*s) {
        size_t ilen = strcspn(s, ",");
        char item[128];
        if (ilen >= sizeof item) return actlab_errorf(err, errlen, "parameter setting too long in '%s'", spec);
        memcpy(item, s, ilen);
        item[ilen] = 0;
        char *eq = strchr(item, '=');
        if (!eq || eq == item)
            return actlab_errorf(err, errlen, "bad parameter setting '%s' in '%s': expected KEY=VALUE", item, spec);
        *eq = 0;
        char *end;
        double v = strtod(eq + 1, &end);
        if (end == eq + 1 || *end || isnan(v))
            return actlab_errorf(err, errlen, "bad value '%s' for parameter %s of %s: expected a number", eq + 1, item, a->name);
        if (actlab_act_set(out, item, v, err, errlen)) return -1;
        s += ilen;
        if (*s == ',') s++;
    }
    return check_combination(out, err, errlen);
}

const char *actlab_format_float(char *buf, size_t len, float v) {
    if (!buf || !len) return buf; /* (also keeps GCC's -Wformat-truncation quiet under the sanitizers) */
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(buf, len, "%.*g", digits, (double)v);
        if (isnan(v) || strtof(buf, NULL) == v) break;
    }
    return buf;
}

void actlab_act_cfg_string(const actlab_act_cfg *cfg, char *buf, size_t len) {
    const actlab_act *a = cfg->act;
    int is_expr = strncmp(a->name, "expr:", 5) == 0;
    if (is_expr) {
        snprintf(buf, len, "expr:%s", a->formula);
        for (int k = 0; k < a->nparam; k++) {
            char v[32];
            snprintf(buf + strlen(buf), len - strlen(buf), ";%s%s=%s",
                     a->param[k].kind == ACTLAB_PARAM_LEARNABLE ? "learnable " : "", a->param[k].name,
                     actlab_format_float(v, sizeof v, cfg->p[k]));
        }
        return;
    }
    snprintf(buf, len, "%s", a->name);
    for (int k = 0; k < a->nparam; k++) {
        char v[32];
        snprintf(buf + strlen(buf), len - strlen(buf), "%c%s=%s", k ? ',' : ':', a->param[k].name,
                 actlab_format_float(v, sizeof v, cfg->p[k]));
    }
}
