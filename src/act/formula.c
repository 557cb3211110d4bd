/*
 * formula.c — one compiled user formula: parse, differentiate, compile.
 *
 * fx_compile() builds everything a catalogue entry needs from the text:
 * f, f' and df/dp_k (learnable parameters) as graph nodes, the derivative as
 * text, bytecode programs for the float kernels and the double reference,
 * and the list of candidate kink points. See formula.h for the overview.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "formula.h"

#define MAX_KINK_NODES 32

struct fx_formula {
    fx_graph g;
    int nparam;
    char *names[FX_MAX_PARAMS];
    int root_f, root_df;
    char *df_text;
    char *dp_text[FX_MAX_PARAMS];      /* NULL for non-learnable parameters */
    int ndp;                           /* number of learnable parameters */
    int dp_param[FX_MAX_PARAMS];       /* the parameter of each df/dp root */
    fx_prog *fwd;      /* {f} -> output; also the double reference of f */
    fx_prog *bwd;      /* {dy f'} -> output */
    fx_prog *bwd_dp;   /* {dy f', dy df/dp_k...}: output and sums; NULL without learnable params */
    fx_prog *ref_df;   /* {f'} */
    fx_prog *ref_dp;   /* {df/dp_k...}; NULL without learnable params */
    int nkink;
    int kink_node[MAX_KINK_NODES];     /* x-independent nodes whose values are kink points */
};

void fx_free(fx_formula *f) {
    if (!f) return;
    fx_graph_free(&f->g);
    for (int k = 0; k < FX_MAX_PARAMS; k++) {
        free(f->names[k]);
        free(f->dp_text[k]);
    }
    free(f->df_text);
    fx_prog_free(f->fwd);
    fx_prog_free(f->bwd);
    fx_prog_free(f->bwd_dp);
    fx_prog_free(f->ref_df);
    fx_prog_free(f->ref_dp);
    free(f);
}

int fx_mentions(const char *expr, const char *const *names, int nnames, unsigned *mask,
                fx_error *e) {
    fx_graph g;
    fx_graph_init(&g);
    int root = fx_parse(&g, expr, names, nnames, mask, e);
    fx_graph_free(&g);
    return root < 0 ? -1 : 0;
}

/* ---- kinks ---- */

static void add_kink_node(fx_formula *f, int id) {
    for (int i = 0; i < f->nkink; i++)
        if (f->kink_node[i] == id) return;
    if (f->nkink < MAX_KINK_NODES) f->kink_node[f->nkink++] = id;
}

/* If one operand of nd is x and the other does not depend on x, that other one. */
static int other_than_x(const fx_graph *g, const fx_node *nd) {
    if (g->node[nd->a].op == FX_X && !(g->node[nd->b].deps & FX_DEP_X)) return nd->b;
    if (g->node[nd->b].op == FX_X && !(g->node[nd->a].deps & FX_DEP_X)) return nd->a;
    return -1;
}

/* Collect the candidate kinks of every node reachable from f or f'. */
static int find_kinks(fx_formula *f) {
    fx_graph *g = &f->g;
    int zero = fx_const(g, 0);
    int top = f->root_f > f->root_df ? f->root_f : f->root_df;
    char *seen = calloc((size_t)top + 1, 1);
    int *stack = malloc(((size_t)top + 1) * sizeof *stack);
    if (zero < 0 || !seen || !stack) {
        free(seen);
        free(stack);
        return -1;
    }
    int sp = 0;
    stack[sp++] = f->root_f;
    stack[sp++] = f->root_df;
    seen[f->root_f] = seen[f->root_df] = 1;
    while (sp > 0) {
        const fx_node *nd = &g->node[stack[--sp]];
        int c = -1;
        if (fx_is_compare(nd->op) || nd->op == FX_MIN || nd->op == FX_MAX) c = other_than_x(g, nd);
        else if ((nd->op == FX_ABS || nd->op == FX_SIGN) && g->node[nd->a].op == FX_X) c = zero;
        if (c >= 0) add_kink_node(f, c);
        int kids[3] = {nd->a, nd->b, nd->c};
        for (int j = 0; j < fx_arity(nd->op); j++) {
            if (seen[kids[j]]) continue;
            seen[kids[j]] = 1;
            stack[sp++] = kids[j];
        }
    }
    free(seen);
    free(stack);
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int fx_kinks(const fx_formula *f, double *out, const double *p) {
    double v[MAX_KINK_NODES];
    int n = 0, m = 0;
    for (int i = 0; i < f->nkink; i++) {
        double c = fx_graph_eval(&f->g, f->kink_node[i], 0, p);
        if (isfinite(c)) v[n++] = c;
    }
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    for (int i = 0; i < n && m < ACTLAB_ACT_MAX_KINKS; i++)
        if (m == 0 || v[i] != out[m - 1]) out[m++] = v[i] == 0 ? 0 : v[i];   /* -0 -> 0 */
    return m;
}

/* ---- compile ---- */

static fx_formula *fail(fx_formula *f, fx_error *e) {
    if (f && f->g.failed) {
        e->col = 0;
        snprintf(e->msg, sizeof e->msg, "%s", f->g.why[0] ? f->g.why : "out of memory");
    }
    fx_free(f);
    return NULL;
}

static fx_prog *compile(fx_formula *f, const int *roots, int nroot, int to_output, fx_error *e) {
    for (int k = 0; k < nroot; k++)
        if (roots[k] < 0) return NULL;   /* the graph failed; fail() reports it */
    return fx_prog_compile(&f->g, roots, nroot, to_output, e);
}

fx_formula *fx_compile(const char *expr, const char *const *names, int nparam,
                       unsigned learnable, fx_error *e) {
    e->col = 0;
    e->msg[0] = 0;
    if (nparam < 0 || nparam > FX_MAX_PARAMS) {
        snprintf(e->msg, sizeof e->msg, "at most %d parameters", FX_MAX_PARAMS);
        return NULL;
    }
    fx_formula *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(e->msg, sizeof e->msg, "out of memory");
        return NULL;
    }
    fx_graph *g = &f->g;
    fx_graph_init(g);
    f->nparam = nparam;
    for (int k = 0; k < nparam; k++)
        if (!(f->names[k] = strdup(names[k]))) return fail(f, e);

    f->root_f = fx_parse(g, expr, names, nparam, NULL, e);
    if (f->root_f < 0) {
        fx_free(f);   /* e already says what is wrong */
        return NULL;
    }
    f->root_df = fx_diff(g, f->root_f, FX_DEP_X);
    int dp[FX_MAX_PARAMS];
    for (int k = 0; k < nparam; k++) {
        if (!(learnable & (1u << k))) continue;
        f->dp_param[f->ndp] = k;
        dp[f->ndp++] = fx_diff(g, f->root_f, FX_DEP_PARAM(k));
    }
    /* Backward multiplies by dy inside the program, so it fuses with the last step. */
    int dy = fx_leaf(g, FX_DY, 0);
    int bwd[1 + FX_MAX_PARAMS];
    bwd[0] = fx_bin(g, FX_MUL, dy, f->root_df);
    for (int j = 0; j < f->ndp; j++) bwd[1 + j] = fx_bin(g, FX_MUL, dy, dp[j]);
    if (g->failed || find_kinks(f)) return fail(f, e);

    const char *const *cnames = (const char *const *)f->names;
    if (!(f->df_text = fx_print(g, f->root_df, cnames))) return fail(f, e);
    for (int j = 0; j < f->ndp; j++)
        if (!(f->dp_text[f->dp_param[j]] = fx_print(g, dp[j], cnames))) return fail(f, e);

    if (!(f->fwd = compile(f, &f->root_f, 1, 1, e)) ||
        !(f->bwd = compile(f, bwd, 1, 1, e)) ||
        !(f->ref_df = compile(f, &f->root_df, 1, 0, e)))
        return fail(f, e);
    if (f->ndp > 0 && (!(f->bwd_dp = compile(f, bwd, 1 + f->ndp, 1, e)) ||
                       !(f->ref_dp = compile(f, dp, f->ndp, 0, e))))
        return fail(f, e);
    return f;
}

const char *fx_derivative_text(const fx_formula *f) { return f->df_text; }

const char *fx_dparam_text(const fx_formula *f, int k) {
    return k >= 0 && k < FX_MAX_PARAMS ? f->dp_text[k] : NULL;
}

/* ---- evaluation ---- */

double fx_ref_f(const fx_formula *f, double x, const double *p) {
    double v;
    fx_prog_eval(f->fwd, x, 0, p, &v);
    return v;
}

double fx_ref_df(const fx_formula *f, double x, const double *p) {
    double v;
    fx_prog_eval(f->ref_df, x, 0, p, &v);
    return v;
}

void fx_ref_dparam(const fx_formula *f, double *out, double x, const double *p) {
    double v[FX_MAX_PARAMS];
    for (int k = 0; k < f->nparam; k++) out[k] = 0;
    if (!f->ref_dp) return;
    fx_prog_eval(f->ref_dp, x, 0, p, v);
    for (int j = 0; j < f->ndp; j++) out[f->dp_param[j]] = v[j];
}

void fx_forward(const fx_formula *f, float *y, const float *x, int64_t n, const float *p) {
    fx_prog_run(f->fwd, y, x, NULL, n, p, NULL);
}

void fx_backward(const fx_formula *f, float *dx, float *dp, const float *dy, const float *x,
                 int64_t n, const float *p) {
    if (!dp || !f->bwd_dp) {
        fx_prog_run(f->bwd, dx, x, dy, n, p, NULL);
        if (dp)
            for (int k = 0; k < ACTLAB_ACT_MAX_PARAMS; k++) dp[k] = 0;
        return;
    }
    double sums[FX_MAX_PARAMS];
    fx_prog_run(f->bwd_dp, dx, x, dy, n, p, sums);
    for (int k = 0; k < ACTLAB_ACT_MAX_PARAMS; k++) dp[k] = 0;
    for (int j = 0; j < f->ndp; j++) dp[f->dp_param[j]] = (float)sums[j];
}
