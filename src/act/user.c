/*
 * user.c — user-defined activation functions: catalogue entries from formulas.
 *
 * actlab_act_define() turns a formula plus a parameter list such as
 * "a=0.25; learnable b=1 in [0, 10]" into a heap-allocated catalogue entry
 * whose reference functions and kernels run the compiled formula (formula.h),
 * and registers it. actlab_act_load_file() does the same for every
 * "NAME = EXPRESSION" line of a definitions file:
 *
 *     # comments and blank lines are ignored
 *     param a = 0.25 in [0, 1]     fixed parameter for the functions below
 *     learnable beta = 1           learnable parameter
 *     swish_b = x * sigmoid(beta * x)
 *
 * A function in a file takes the parameters declared above it that its
 * expression mentions, in declaration order. A file is checked completely
 * before any of its functions is registered.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "catalogue_internal.h"
#include "formula.h"

#define MAX_NAME 31           /* parameter names */
#define MAX_FILE_PARAMS 32    /* parameters declared in one definitions file */

typedef struct user_param {
    char name[MAX_NAME + 1];
    double def, lo, hi;
    int learnable;
} user_param;

/* ---- kernels and references: thin wrappers around the compiled formula ---- */

static void user_forward(float *y, const float *x, int64_t n, const float *p, float *noise,
                         const void *ctx) {
    (void)noise;
    fx_forward(ctx, y, x, n, p);
}

static void user_backward(float *dx, float *dp, const float *dy, const float *x, const float *y,
                          int64_t n, const float *p, const float *noise, const void *ctx) {
    (void)y;
    (void)noise;
    fx_backward(ctx, dx, dp, dy, x, n, p);
}

static double user_ref_f(double x, const double *p, const double *noise, const void *ctx) {
    (void)noise;
    return fx_ref_f(ctx, x, p);
}

static double user_ref_df(double x, const double *p, const double *noise, const void *ctx) {
    (void)noise;
    return fx_ref_df(ctx, x, p);
}

static void user_ref_dparam(double *out, double x, const double *p, const void *ctx) {
    fx_ref_dparam(ctx, out, x, p);
}

static int user_kinks(double *out, const double *p, const void *ctx) { return fx_kinks(ctx, out, p); }

/* ---- entries ---- */

static void entry_free(actlab_act *a) {
    if (!a) return;
    free((void *)a->name);
    free((void *)a->formula);
    free((void *)a->note);
    for (int k = 0; k < a->nparam; k++) free((void *)a->param[k].name);
    fx_free((fx_formula *)a->ctx);   /* owns a->derivative too */
    free(a);
}

/* The expression without surrounding blanks, as a new string. */
static char *trimmed_copy(const char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) n--;
    char *r = malloc(n + 1);
    if (r) {
        memcpy(r, s, n);
        r[n] = 0;
    }
    return r;
}

/* Compile expr and build an unregistered entry. On failure returns NULL with
 * fe filled (fe->col is the column in expr, or 0). */
static actlab_act *entry_build(const char *name, const char *expr, const user_param *ps, int np,
                               const char *note, fx_error *fe) {
    const char *names[FX_MAX_PARAMS];
    unsigned learnable = 0;
    for (int k = 0; k < np; k++) {
        names[k] = ps[k].name;
        if (ps[k].learnable) learnable |= 1u << k;
    }
    fx_formula *fx = fx_compile(expr, names, np, learnable, fe);
    if (!fx) return NULL;
    actlab_act *a = calloc(1, sizeof *a);
    if (!a) {
        fx_free(fx);
        goto oom;
    }
    a->ctx = fx;
    a->nparam = np;
    a->name = strdup(name);
    a->formula = trimmed_copy(expr);
    a->note = strdup(note);
    int ok = a->name && a->formula && a->note;
    for (int k = 0; k < np; k++) {
        actlab_param_info *pi = &a->param[k];
        ok &= (pi->name = strdup(ps[k].name)) != NULL;
        pi->def = ps[k].def;
        pi->lo = ps[k].lo;
        pi->hi = ps[k].hi;
        pi->kind = ps[k].learnable ? ACTLAB_PARAM_LEARNABLE : ACTLAB_PARAM_FIXED;
        pi->help = ps[k].learnable ? "learnable parameter of a user formula"
                                   : "fixed parameter of a user formula";
    }
    if (!ok) {
        entry_free(a);
        goto oom;
    }
    a->aliases = "";
    a->derivative = fx_derivative_text(fx);
    a->citation = "user formula";
    a->flags = ACTLAB_ACT_USER | ACTLAB_ACT_NO_TORCH;
    a->noise = ACTLAB_NOISE_NONE;
    a->ref_f = user_ref_f;
    a->ref_df = user_ref_df;
    a->ref_dparam = learnable ? user_ref_dparam : NULL;
    a->kinks = user_kinks;
    a->forward = user_forward;
    a->backward = user_backward;
    return a;
oom:
    fe->col = 0;
    snprintf(fe->msg, sizeof fe->msg, "out of memory");
    return NULL;
}

/* ---- parameter declarations: "NAME = VALUE [in [LO, HI]]" ---- */

typedef struct cursor {
    const char *s;   /* NUL-terminated */
    size_t i;
    size_t errpos;   /* where the error is, as an offset into s */
    char *msg;
    size_t msglen;
} cursor;

static int cur_error(cursor *c, size_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int cur_error(cursor *c, size_t pos, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg, c->msglen, fmt, ap);
    va_end(ap);
    c->errpos = pos;
    return -1;
}

static void skip_blank(cursor *c) {
    while (isspace((unsigned char)c->s[c->i])) c->i++;
}

/* The text at the cursor for "found ..." in messages. */
static const char *found(const cursor *c, char *buf, size_t len) {
    if (!c->s[c->i]) return "end of input";
    size_t n = strcspn(c->s + c->i, " \t");
    snprintf(buf, len, "'%.*s'", (int)(n > 20 ? 20 : n), c->s + c->i);
    return buf;
}

static size_t ident_len(const char *s) {
    size_t n = 0;
    if (!isalpha((unsigned char)s[0]) && s[0] != '_') return 0;
    while (isalnum((unsigned char)s[n]) || s[n] == '_') n++;
    return n;
}

/* A number at the cursor; finite unless allow_inf. */
static int read_number(cursor *c, double *v, int allow_inf, const char *what) {
    char buf[32];
    skip_blank(c);
    char *end;
    *v = strtod(c->s + c->i, &end);
    size_t n = (size_t)(end - (c->s + c->i));
    if (n == 0) return cur_error(c, c->i, "expected a number for %s, found %s", what, found(c, buf, sizeof buf));
    if (isnan(*v) || (!allow_inf && isinf(*v)))
        return cur_error(c, c->i, "%s must be a finite number, not '%.*s'", what, (int)n, c->s + c->i);
    c->i += n;
    return 0;
}

static int expect_char(cursor *c, char ch, const char *context) {
    char buf[32];
    skip_blank(c);
    if (c->s[c->i] != ch) return cur_error(c, c->i, "expected '%c' %s, found %s", ch, context, found(c, buf, sizeof buf));
    c->i++;
    return 0;
}

/* Parse "NAME = VALUE [in [LO, HI]]" at the cursor up to the end of c->s. */
static int parse_decl(cursor *c, int learnable, user_param *out) {
    char buf[32];
    skip_blank(c);
    size_t start = c->i, len = ident_len(c->s + c->i);
    if (len == 0) return cur_error(c, start, "expected a parameter name, found %s", found(c, buf, sizeof buf));
    if (len > MAX_NAME) return cur_error(c, start, "parameter name longer than %d characters", MAX_NAME);
    const char *name = c->s + start;
    if (fx_is_reserved(name, len))
        return cur_error(c, start, "'%.*s' cannot be a parameter name: x, pi, e and function names are reserved",
                         (int)len, name);
    if ((len == 9 && memcmp(name, "learnable", 9) == 0) || (len == 5 && memcmp(name, "param", 5) == 0))
        return cur_error(c, start, "'%.*s' cannot be a parameter name: it is a keyword", (int)len, name);
    memset(out, 0, sizeof *out);
    memcpy(out->name, name, len);
    out->learnable = learnable;
    out->lo = -INFINITY;
    out->hi = INFINITY;
    c->i += len;
    char context[64];
    snprintf(context, sizeof context, "after the name '%s'", out->name);
    if (expect_char(c, '=', context)) return -1;
    skip_blank(c);
    size_t value_pos = c->i;
    if (read_number(c, &out->def, 0, "the value")) return -1;
    skip_blank(c);
    if (!c->s[c->i]) return 0;
    if (strncmp(c->s + c->i, "in", 2) != 0 || isalnum((unsigned char)c->s[c->i + 2]))
        return cur_error(c, c->i, "expected 'in [LO, HI]' or the end of the declaration, found %s",
                         found(c, buf, sizeof buf));
    c->i += 2;
    size_t range_pos = c->i;
    if (expect_char(c, '[', "after 'in'") || read_number(c, &out->lo, 1, "the lower bound") ||
        expect_char(c, ',', "between the bounds") || read_number(c, &out->hi, 1, "the upper bound") ||
        expect_char(c, ']', "to close the range"))
        return -1;
    skip_blank(c);
    if (c->s[c->i]) return cur_error(c, c->i, "unexpected %s after the range", found(c, buf, sizeof buf));
    if (out->lo > out->hi) return cur_error(c, range_pos, "empty range [%g, %g]", out->lo, out->hi);
    if (out->def < out->lo || out->def > out->hi)
        return cur_error(c, value_pos, "value %g of '%s' is outside its range [%g, %g]", out->def, out->name,
                         out->lo, out->hi);
    return 0;
}

/* Add or (with replace) overwrite a declaration in list[0..*n). */
static int add_param(cursor *c, size_t pos, user_param *list, int *n, int max, const user_param *p,
                     int replace) {
    for (int k = 0; k < *n; k++) {
        if (strcmp(list[k].name, p->name) != 0) continue;
        if (!replace) return cur_error(c, pos, "parameter '%s' is declared twice", p->name);
        list[k] = *p;
        return 0;
    }
    if (*n == max) return cur_error(c, pos, "too many parameters (at most %d)", max);
    list[(*n)++] = *p;
    return 0;
}

/* The parameter list of actlab_act_define: items separated by ';' or ','
 * (commas inside [..] belong to a range), each "[learnable] NAME = VALUE [in [LO, HI]]". */
static int parse_param_list(const char *s, user_param *out, int *np, char *err, size_t errlen) {
    *np = 0;
    if (!s) return 0;
    char msg[200];
    size_t start = 0;
    while (s[start]) {
        size_t end = start;
        for (int depth = 0; s[end] && !(depth == 0 && (s[end] == ';' || s[end] == ',')); end++)
            depth += (s[end] == '[') - (s[end] == ']');
        char item[256];
        if (end - start >= sizeof item)
            return actlab_errorf(err, errlen, "parameters, column %zu: declaration too long", start + 1);
        memcpy(item, s + start, end - start);
        item[end - start] = 0;
        cursor c = {item, 0, 0, msg, sizeof msg};
        skip_blank(&c);
        if (item[c.i]) {   /* empty items (e.g. a trailing ';') are skipped */
            int learnable = 0;
            if (strncmp(item + c.i, "learnable", 9) == 0 && isspace((unsigned char)item[c.i + 9])) {
                learnable = 1;
                c.i += 9;
            }
            user_param p;
            size_t pos = c.i;
            if (parse_decl(&c, learnable, &p) ||
                add_param(&c, pos, out, np, ACTLAB_ACT_MAX_PARAMS, &p, 0))
                return actlab_errorf(err, errlen, "parameters, column %zu: %s", start + c.errpos + 1, msg);
        }
        start = s[end] ? end + 1 : end;
    }
    return 0;
}

/* ---- public: define one function ---- */

const actlab_act *actlab_act_define(const char *name, const char *expr, const char *params,
                                    char *err, size_t errlen) {
    const char *bad = NULL;
    if (!name || !*name) bad = "a user function needs a name";
    for (const char *s = name; !bad && *s; s++)
        if (iscntrl((unsigned char)*s)) bad = "function name contains a control character";
    if (!bad && !expr) bad = "no formula given";
    if (bad) {
        actlab_errorf(err, errlen, "%s", bad);
        return NULL;
    }
    user_param ps[ACTLAB_ACT_MAX_PARAMS];
    int np;
    if (parse_param_list(params, ps, &np, err, errlen)) return NULL;
    fx_error fe;
    actlab_act *a = entry_build(name, expr, ps, np, "defined on the command line", &fe);
    if (!a) {
        if (fe.col > 0) actlab_errorf(err, errlen, "column %d: %s", fe.col, fe.msg);
        else actlab_errorf(err, errlen, "%s", fe.msg);
        return NULL;
    }
    if (act_catalogue_add(a, err, errlen)) {
        entry_free(a);
        return NULL;
    }
    return a;
}

/* ---- public: definitions files ---- */

typedef struct pending {
    actlab_act *act;
    int line;
} pending;

typedef struct loader {
    const char *path;
    user_param decl[MAX_FILE_PARAMS];
    int ndecl;
    pending *defs;
    int ndefs, cap;
    char *err;
    size_t errlen;
} loader;

static int load_error(loader *ld, int line, size_t col, const char *msg) {
    if (col > 0) return actlab_errorf(ld->err, ld->errlen, "%s:%d:%zu: %s", ld->path, line, col, msg);
    return actlab_errorf(ld->err, ld->errlen, "%s:%d: %s", ld->path, line, msg);
}

static int same_name(const char *a, const char *b) {
    for (; *a && *b; a++, b++) {
        int ca = *a == '-' ? '_' : tolower((unsigned char)*a);
        int cb = *b == '-' ? '_' : tolower((unsigned char)*b);
        if (ca != cb) return 0;
    }
    return *a == *b;
}

/* "NAME = EXPRESSION": line[name_pos..) is the name (name_len long), line[expr_pos..) the
 * expression. Overwrites the start of line. */
static int load_function(loader *ld, char *line, int lineno, size_t name_pos, size_t name_len,
                         size_t expr_pos) {
    char name[64], msg[400];
    if (name_len >= sizeof name) return load_error(ld, lineno, name_pos + 1, "function name too long");
    memcpy(name, line + name_pos, name_len);
    name[name_len] = 0;
    for (int i = 0; i < ld->ndefs; i++) {
        if (!same_name(ld->defs[i].act->name, name)) continue;
        snprintf(msg, sizeof msg, "'%s' is defined twice (first on line %d)", name, ld->defs[i].line);
        return load_error(ld, lineno, name_pos + 1, msg);
    }
    if (actlab_act_find(name)) {
        snprintf(msg, sizeof msg, "a function named '%s' already exists", name);
        return load_error(ld, lineno, name_pos + 1, msg);
    }

    /* The line with everything before the expression blanked out: the parser
     * skips the blanks, so every column it reports (also inside messages,
     * "opened at column 12") is a column of the line. */
    memset(line, ' ', expr_pos);
    const char *expr = line;

    /* Its parameters: the declared ones the expression mentions. */
    const char *names[MAX_FILE_PARAMS];
    for (int k = 0; k < ld->ndecl; k++) names[k] = ld->decl[k].name;
    unsigned mask;
    fx_error fe;
    if (fx_mentions(expr, names, ld->ndecl, &mask, &fe))
        return load_error(ld, lineno, (size_t)fe.col, fe.msg);
    user_param ps[ACTLAB_ACT_MAX_PARAMS];
    int np = 0;
    for (int k = 0; k < ld->ndecl; k++) {
        if (!(mask & (1u << k))) continue;
        if (np == ACTLAB_ACT_MAX_PARAMS) {
            size_t at = strspn(expr, " \t");
            snprintf(msg, sizeof msg, "'%s' uses more than %d parameters", name, ACTLAB_ACT_MAX_PARAMS);
            return load_error(ld, lineno, at + 1, msg);
        }
        ps[np++] = ld->decl[k];
    }

    char note[300];
    snprintf(note, sizeof note, "defined in %s:%d", ld->path, lineno);
    actlab_act *a = entry_build(name, expr, ps, np, note, &fe);
    if (!a) return load_error(ld, lineno, (size_t)fe.col, fe.msg);
    if (ld->ndefs == ld->cap) {
        int cap = ld->cap ? 2 * ld->cap : 8;
        pending *d = realloc(ld->defs, (size_t)cap * sizeof *d);
        if (!d) {
            entry_free(a);
            return load_error(ld, lineno, 0, "out of memory");
        }
        ld->defs = d;
        ld->cap = cap;
    }
    ld->defs[ld->ndefs++] = (pending){a, lineno};
    return 0;
}

/* One line, with the comment and line end already cut off. */
static int load_line(loader *ld, char *line, int lineno) {
    char msg[300];
    cursor c = {line, 0, 0, msg, sizeof msg};
    skip_blank(&c);
    if (!line[c.i]) return 0;
    size_t word = c.i, wlen = ident_len(line + c.i);
    if (wlen == 0)
        return load_error(ld, lineno, word + 1,
                          "expected 'param NAME = VALUE', 'learnable NAME = VALUE' or 'NAME = EXPRESSION'");
    c.i += wlen;
    skip_blank(&c);
    if (line[c.i] == '=' && line[c.i + 1] != '=') return load_function(ld, line, lineno, word, wlen, c.i + 1);

    int is_param = wlen == 5 && memcmp(line + word, "param", 5) == 0;
    int is_learnable = wlen == 9 && memcmp(line + word, "learnable", 9) == 0;
    if (!is_param && !is_learnable) {
        snprintf(msg, sizeof msg, "expected '=' after '%.*s' (a definition is NAME = EXPRESSION)",
                 (int)(wlen > 40 ? 40 : wlen), line + word);
        return load_error(ld, lineno, c.i + 1, msg);
    }
    user_param p;
    size_t pos = c.i;
    /* A later declaration of the same name replaces the earlier one. */
    if (parse_decl(&c, is_learnable, &p) || add_param(&c, pos, ld->decl, &ld->ndecl, MAX_FILE_PARAMS, &p, 1))
        return load_error(ld, lineno, c.errpos + 1, msg);
    return 0;
}

int actlab_act_load_file(const char *path, char *err, size_t errlen) {
    FILE *fp = fopen(path, "r");
    if (!fp) return actlab_errorf(err, errlen, "%s: %s", path, strerror(errno));
    loader ld = {.path = path, .err = err, .errlen = errlen};
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int lineno = 0, rc = 0;
    while (rc == 0 && (got = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        if (strlen(line) != (size_t)got) {
            rc = load_error(&ld, lineno, 0, "contains a NUL byte (not a text file?)");
            break;
        }
        line[strcspn(line, "#\r\n")] = 0;
        rc = load_line(&ld, line, lineno);
    }
    if (rc == 0 && ferror(fp)) rc = actlab_errorf(err, errlen, "%s: %s", path, strerror(errno));
    free(line);
    fclose(fp);

    /* Register only when the whole file is good. */
    for (int i = 0; rc == 0 && i < ld.ndefs; i++) {
        char why[256];
        if (act_catalogue_add(ld.defs[i].act, why, sizeof why)) rc = load_error(&ld, ld.defs[i].line, 1, why);
        else ld.defs[i].act = NULL;   /* the catalogue owns it now */
    }
    for (int j = 0; j < ld.ndefs; j++) entry_free(ld.defs[j].act);
    free(ld.defs);
    return rc == 0 ? ld.ndefs : -1;
}
