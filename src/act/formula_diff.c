/*
 * formula_diff.c — symbolic differentiation of the expression graph.
 *
 * d/dx (or d/dp_k) is built node by node with the chain rule, through the
 * simplifying constructors of formula_graph.c, with one memo slot per node so
 * shared subexpressions are differentiated once. At points where a function
 * is not differentiable the rules follow PyTorch's autograd:
 *
 *   abs(u)'       = sign(u) u'          (0 at u = 0)
 *   (c ? a : b)'  = c ? a' : b'         (so x >= 0 ? x : 0.1*x has f'(0) = 1)
 *   max(a,b)'     = a >= b ? a' : b'    min(a,b)' = a <= b ? a' : b'
 *   comparisons and sign() have derivative 0
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "formula.h"

typedef struct differ {
    fx_graph *g;
    unsigned var;   /* FX_DEP_X or FX_DEP_PARAM(k) */
    int *memo;      /* derivative of node i, or -1 when not yet known */
} differ;

static int d(differ *df, int id);

/* f'(u) * u' for a function f of one operand u. */
static int chain(differ *df, int outer, int u) { return fx_bin(df->g, FX_MUL, outer, d(df, u)); }

static int d_node(differ *df, int id) {
    fx_graph *g = df->g;
    fx_node nd = g->node[id];   /* a copy: g->node moves as nodes are added */
    int a = nd.a, b = nd.b, c = nd.c;
    if (!(nd.deps & df->var)) return fx_const(g, 0);
    switch (nd.op) {
    case FX_X:
    case FX_PARAM:
    case FX_DY:
        return fx_const(g, 1);   /* deps matched, so this leaf is the variable */
    case FX_NEG: return fx_un(g, FX_NEG, d(df, a));
    case FX_EXP: return chain(df, id, a);
    case FX_LOG: return fx_bin(g, FX_DIV, d(df, a), a);
    case FX_LOG1P: return fx_bin(g, FX_DIV, d(df, a), fx_bin(g, FX_ADD, fx_const(g, 1), a));
    case FX_EXPM1: return chain(df, fx_un(g, FX_EXP, a), a);
    case FX_SQRT: return chain(df, fx_bin(g, FX_DIV, fx_const(g, 0.5), id), a);
    case FX_ABS: return chain(df, fx_un(g, FX_SIGN, a), a);
    case FX_SIGN: return fx_const(g, 0);
    case FX_TANH: /* 1 - tanh(u)^2 */
        return chain(df, fx_bin(g, FX_SUB, fx_const(g, 1), fx_bin(g, FX_POW, id, fx_const(g, 2))), a);
    case FX_SIGMOID: /* s (1 - s) */
        return chain(df, fx_bin(g, FX_MUL, id, fx_bin(g, FX_SUB, fx_const(g, 1), id)), a);
    case FX_SOFTPLUS: return chain(df, fx_un(g, FX_SIGMOID, a), a);
    case FX_ERF: /* 2/sqrt(pi) exp(-u^2) */
        return chain(df, fx_bin(g, FX_MUL, fx_const(g, 2 / sqrt(M_PI)),
                                fx_un(g, FX_EXP, fx_un(g, FX_NEG, fx_bin(g, FX_POW, a, fx_const(g, 2))))),
                     a);
    case FX_ATAN: /* 1/(1 + u^2) */
        return fx_bin(g, FX_DIV, d(df, a),
                      fx_bin(g, FX_ADD, fx_const(g, 1), fx_bin(g, FX_POW, a, fx_const(g, 2))));
    case FX_SIN: return chain(df, fx_un(g, FX_COS, a), a);
    case FX_COS: return chain(df, fx_un(g, FX_NEG, fx_un(g, FX_SIN, a)), a);
    case FX_ADD: return fx_bin(g, FX_ADD, d(df, a), d(df, b));
    case FX_SUB: return fx_bin(g, FX_SUB, d(df, a), d(df, b));
    case FX_MUL:
        return fx_bin(g, FX_ADD, fx_bin(g, FX_MUL, d(df, a), b), fx_bin(g, FX_MUL, a, d(df, b)));
    case FX_DIV: {
        /* a'/b - a b'/b^2, written without the second term when b' = 0 */
        int da = d(df, a), db = d(df, b);
        if (db >= 0 && fx_is_const(g, db, 0)) return fx_bin(g, FX_DIV, da, b);
        int t2 = fx_bin(g, FX_DIV, fx_bin(g, FX_MUL, a, db), fx_bin(g, FX_POW, b, fx_const(g, 2)));
        return fx_bin(g, FX_SUB, fx_bin(g, FX_DIV, da, b), t2);
    }
    case FX_POW: {
        /* b a^(b-1) a', plus a^b log(a) b' only when the exponent depends on the variable */
        int da = d(df, a);
        int t1 = fx_bin(g, FX_MUL,
                        fx_bin(g, FX_MUL, b, fx_bin(g, FX_POW, a, fx_bin(g, FX_SUB, b, fx_const(g, 1)))),
                        da);
        if (!(g->node[b].deps & df->var)) return t1;
        int t2 = fx_bin(g, FX_MUL, fx_bin(g, FX_MUL, id, fx_un(g, FX_LOG, a)), d(df, b));
        return fx_bin(g, FX_ADD, t1, t2);
    }
    case FX_MIN:
    case FX_MAX:
        return fx_select(g, fx_bin(g, nd.op == FX_MAX ? FX_GE : FX_LE, a, b), d(df, a), d(df, b));
    case FX_LT: case FX_LE: case FX_GT: case FX_GE: case FX_EQ: case FX_NE:
        return fx_const(g, 0);
    case FX_SELECT: return fx_select(g, a, d(df, b), d(df, c));
    default:
        return -1;
    }
}

static int d(differ *df, int id) {
    if (id < 0 || df->g->failed) return -1;
    if (df->memo[id] < 0) df->memo[id] = d_node(df, id);
    return df->memo[id];
}

int fx_diff(fx_graph *g, int root, unsigned var) {
    if (root < 0 || g->failed) return -1;
    /* Only nodes up to root are ever differentiated (operands have smaller ids). */
    differ df = {g, var, malloc((size_t)(root + 1) * sizeof(int))};
    if (!df.memo) {
        g->failed = 1;
        snprintf(g->why, sizeof g->why, "out of memory");
        return -1;
    }
    for (int i = 0; i <= root; i++) df.memo[i] = -1;
    int r = d(&df, root);
    free(df.memo);
    return r;
}
