/*
 * formula_graph.c — the expression graph behind user formulas.
 *
 * Nodes are hash-consed: asking for a node that already exists returns the
 * existing id, so equal subexpressions (sigmoid(x) in swish and in its
 * derivative) are computed once. The constructors also simplify as they
 * build — constant folding, x+0, x*1, 0*x, --x, constants moved to the left
 * of products, select with equal branches — so the parser and the
 * differentiator never need a separate simplification pass.
 *
 * Folding 0*u to 0 and u-u to 0 is done symbolically, as computer algebra
 * systems do, even though 0*inf is NaN in IEEE arithmetic.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "formula.h"

const fx_func fx_funcs[] = {
    {"exp", FX_EXP, 1},   {"log", FX_LOG, 1},         {"log1p", FX_LOG1P, 1},
    {"expm1", FX_EXPM1, 1}, {"sqrt", FX_SQRT, 1},     {"abs", FX_ABS, 1},
    {"sign", FX_SIGN, 1}, {"min", FX_MIN, 2},         {"max", FX_MAX, 2},
    {"pow", FX_POW, 2},   {"tanh", FX_TANH, 1},       {"sigmoid", FX_SIGMOID, 1},
    {"softplus", FX_SOFTPLUS, 1}, {"erf", FX_ERF, 1}, {"atan", FX_ATAN, 1},
    {"sin", FX_SIN, 1},   {"cos", FX_COS, 1},
};
const int fx_nfuncs = (int)(sizeof fx_funcs / sizeof fx_funcs[0]);

/* Keep in the order of fx_funcs. */
const char *fx_func_list(void) {
    return "exp, log, log1p, expm1, sqrt, abs, sign, min, max, pow, tanh, sigmoid, "
           "softplus, erf, atan, sin, cos";
}

int fx_is_reserved(const char *name, size_t len) {
    static const char *const words[] = {"x", "pi", "e"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strlen(words[i]) == len && memcmp(words[i], name, len) == 0) return 1;
    for (int i = 0; i < fx_nfuncs; i++)
        if (strlen(fx_funcs[i].name) == len && memcmp(fx_funcs[i].name, name, len) == 0) return 1;
    return 0;
}

/* ---- double-precision meaning of the operators ---- */

double fx_apply(fx_op op, double a, double b, double c) {
    switch (op) {
    case FX_NEG: return -a;
    case FX_EXP: return exp(a);
    case FX_LOG: return log(a);
    case FX_LOG1P: return log1p(a);
    case FX_EXPM1: return expm1(a);
    case FX_SQRT: return sqrt(a);
    case FX_ABS: return fabs(a);
    case FX_SIGN: return a > 0 ? 1 : a < 0 ? -1 : a;   /* sign(0) = 0, sign(NaN) = NaN */
    case FX_TANH: return tanh(a);
    case FX_SIGMOID: return 1 / (1 + exp(-a));
    case FX_SOFTPLUS: return isnan(a) ? a : fmax(a, 0) + log1p(exp(-fabs(a)));
    case FX_ERF: return erf(a);
    case FX_ATAN: return atan(a);
    case FX_SIN: return sin(a);
    case FX_COS: return cos(a);
    case FX_ADD: return a + b;
    case FX_SUB: return a - b;
    case FX_MUL: return a * b;
    case FX_DIV: return a / b;
    case FX_POW: return pow(a, b);
    /* NaN in either operand gives NaN, like torch.minimum/maximum. */
    case FX_MIN: return isnan(a) || isnan(b) ? a + b : b < a ? b : a;
    case FX_MAX: return isnan(a) || isnan(b) ? a + b : a < b ? b : a;
    case FX_LT: return a < b;
    case FX_LE: return a <= b;
    case FX_GT: return a > b;
    case FX_GE: return a >= b;
    case FX_EQ: return a == b;
    case FX_NE: return a != b;
    case FX_SELECT: return a != 0 ? b : c;
    default: return NAN;
    }
}

double fx_graph_eval(const fx_graph *g, int id, double x, const double *p) {
    const fx_node *nd = &g->node[id];
    switch (nd->op) {
    case FX_CONST: return nd->value;
    case FX_X: return x;
    case FX_PARAM: return p[nd->param];
    case FX_DY: return 1;
    default: break;
    }
    int ar = fx_arity(nd->op);
    double a = fx_graph_eval(g, nd->a, x, p);
    double b = ar >= 2 ? fx_graph_eval(g, nd->b, x, p) : 0;
    double c = ar >= 3 ? fx_graph_eval(g, nd->c, x, p) : 0;
    return fx_apply(nd->op, a, b, c);
}

/* ---- the node store ---- */

void fx_graph_init(fx_graph *g) { memset(g, 0, sizeof *g); }

void fx_graph_free(fx_graph *g) {
    free(g->node);
    free(g->table);
    fx_graph_init(g);
}

static int fail(fx_graph *g, const char *why) {
    if (!g->failed) snprintf(g->why, sizeof g->why, "%s", why);
    g->failed = 1;
    return -1;
}

static uint64_t mix(uint64_t h, uint64_t v) {
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h ^= h >> 31;
    return h * 0xbf58476d1ce4e5b9ull;
}

static uint64_t node_hash(const fx_node *nd) {
    uint64_t bits;
    memcpy(&bits, &nd->value, sizeof bits);
    uint64_t h = mix(0, (uint64_t)nd->op);
    h = mix(h, (uint32_t)nd->a);
    h = mix(h, (uint32_t)nd->b);
    h = mix(h, (uint32_t)nd->c);
    h = mix(h, (uint32_t)nd->param);
    return mix(h, bits);
}

/* Same node? Constants compare by bit pattern, so 0 and -0 stay distinct. */
static int node_same(const fx_node *p, const fx_node *q) {
    return p->op == q->op && p->a == q->a && p->b == q->b && p->c == q->c &&
           p->param == q->param && memcmp(&p->value, &q->value, sizeof p->value) == 0;
}

static int table_grow(fx_graph *g) {
    int cap = g->tcap ? g->tcap * 2 : 256;
    int *t = malloc((size_t)cap * sizeof *t);
    if (!t) return -1;
    for (int i = 0; i < cap; i++) t[i] = -1;
    for (int id = 0; id < g->n; id++) {
        size_t i = node_hash(&g->node[id]) & (size_t)(cap - 1);
        while (t[i] >= 0) i = (i + 1) & (size_t)(cap - 1);
        t[i] = id;
    }
    free(g->table);
    g->table = t;
    g->tcap = cap;
    return 0;
}

/* The id of the node (op, a, b, c, param, value), created if new. */
static int intern(fx_graph *g, fx_op op, int a, int b, int c, int param, double value) {
    if (g->failed) return -1;
    if (2 * (g->n + 1) > g->tcap && table_grow(g)) return fail(g, "out of memory");
    fx_node key = {op, a, b, c, param, value, 0, 1};
    size_t mask = (size_t)g->tcap - 1, i = node_hash(&key) & mask;
    for (; g->table[i] >= 0; i = (i + 1) & mask)
        if (node_same(&g->node[g->table[i]], &key)) return g->table[i];

    if (g->n >= FX_MAX_NODES) return fail(g, "formula too large (more than 200000 operations)");
    int kids[3] = {a, b, c};
    for (int k = 0; k < 3; k++) {
        if (kids[k] < 0) continue;
        const fx_node *kid = &g->node[kids[k]];
        key.deps |= kid->deps;
        if (kid->height + 1 > key.height) key.height = kid->height + 1;
    }
    if (op == FX_X) key.deps = FX_DEP_X;
    if (op == FX_PARAM) key.deps = FX_DEP_PARAM(param);
    if (op == FX_DY) key.deps = FX_DEP_DY;
    if (key.height > FX_MAX_HEIGHT) return fail(g, "formula too long or nested too deeply (more than 1000 levels of operations)");
    if (g->n == g->cap) {
        int cap = g->cap ? g->cap * 2 : 64;
        fx_node *nn = realloc(g->node, (size_t)cap * sizeof *nn);
        if (!nn) return fail(g, "out of memory");
        g->node = nn;
        g->cap = cap;
    }
    g->node[g->n] = key;
    g->table[i] = g->n;
    return g->n++;
}

/* ---- simplifying constructors ---- */

int fx_const(fx_graph *g, double v) { return intern(g, FX_CONST, -1, -1, -1, 0, v); }

int fx_leaf(fx_graph *g, fx_op op, int param) {
    return intern(g, op, -1, -1, -1, op == FX_PARAM ? param : 0, 0);
}

static int is_const(const fx_graph *g, int id) { return g->node[id].op == FX_CONST; }

int fx_un(fx_graph *g, fx_op op, int a) {
    if (a < 0 || g->failed) return -1;
    fx_node A = g->node[a];   /* a copy: constructing may move g->node */
    if (A.op == FX_CONST) return fx_const(g, fx_apply(op, A.value, 0, 0));
    switch (op) {
    case FX_NEG:
        if (A.op == FX_NEG) return A.a;                                  /* --u = u */
        if (A.op == FX_SUB) return fx_bin(g, FX_SUB, A.b, A.a);          /* -(a-b) = b-a */
        if ((A.op == FX_MUL || A.op == FX_DIV) && is_const(g, A.a))      /* -(c*u) = (-c)*u */
            return fx_bin(g, A.op, fx_const(g, -g->node[A.a].value), A.b);
        break;
    case FX_ABS:
        if (A.op == FX_ABS) return a;                                    /* ||u|| = |u| */
        if (A.op == FX_NEG) return fx_un(g, FX_ABS, A.a);                /* |-u| = |u| */
        break;
    default:
        break;
    }
    return intern(g, op, a, -1, -1, 0, 0);
}

int fx_bin(fx_graph *g, fx_op op, int a, int b) {
    if (a < 0 || b < 0 || g->failed) return -1;
    fx_node A = g->node[a], B = g->node[b];
    int ca = A.op == FX_CONST, cb = B.op == FX_CONST;
    if (ca && cb) return fx_const(g, fx_apply(op, A.value, B.value, 0));
    switch (op) {
    case FX_ADD:
        if (ca && A.value == 0) return b;
        if (cb && B.value == 0) return a;
        if (B.op == FX_NEG) return fx_bin(g, FX_SUB, a, B.a);            /* a + -b = a - b */
        if (A.op == FX_NEG) return fx_bin(g, FX_SUB, b, A.a);            /* -a + b = b - a */
        if (a == b) return fx_bin(g, FX_MUL, fx_const(g, 2), a);         /* u + u = 2*u (exact) */
        if (cb && B.value < 0) return fx_bin(g, FX_SUB, a, fx_const(g, -B.value)); /* u + -2 = u - 2 */
        break;
    case FX_SUB:
        if (cb && B.value == 0) return a;
        if (ca && A.value == 0) return fx_un(g, FX_NEG, b);
        if (a == b) return fx_const(g, 0);
        if (B.op == FX_NEG) return fx_bin(g, FX_ADD, a, B.a);            /* a - -b = a + b */
        if (cb && B.value < 0) return fx_bin(g, FX_ADD, a, fx_const(g, -B.value)); /* u - -2 = u + 2 */
        break;
    case FX_MUL:
        if (cb) return fx_bin(g, FX_MUL, b, a);                          /* constants go left */
        if (ca) {
            double c = A.value;
            if (c == 0) return a;
            if (c == 1) return b;
            if (c == -1) return fx_un(g, FX_NEG, b);
            if ((B.op == FX_MUL || B.op == FX_DIV) && is_const(g, B.a))  /* c*(d*u) = (c*d)*u */
                return fx_bin(g, B.op, fx_const(g, c * g->node[B.a].value), B.b);
        }
        /* Negations move outwards, where they merge with constants or a sum. */
        if (A.op == FX_NEG) return fx_un(g, FX_NEG, fx_bin(g, FX_MUL, A.a, b));
        if (B.op == FX_NEG) return fx_un(g, FX_NEG, fx_bin(g, FX_MUL, a, B.a));
        break;
    case FX_DIV:
        if (cb && B.value == 1) return a;
        if (cb && B.value == -1) return fx_un(g, FX_NEG, a);
        if (ca && A.value == 0) return a;                                 /* 0/u = 0 */
        if (A.op == FX_NEG) return fx_un(g, FX_NEG, fx_bin(g, FX_DIV, A.a, b));
        if (B.op == FX_NEG) return fx_un(g, FX_NEG, fx_bin(g, FX_DIV, a, B.a));
        break;
    case FX_POW:
        if (cb && B.value == 1) return a;
        if (cb && B.value == 0) return fx_const(g, 1);
        break;
    case FX_MIN:
    case FX_MAX:
        if (a == b) return a;
        break;
    default:
        break;
    }
    return intern(g, op, a, b, -1, 0, 0);
}

int fx_select(fx_graph *g, int c, int a, int b) {
    if (c < 0 || a < 0 || b < 0 || g->failed) return -1;
    fx_node C = g->node[c], A = g->node[a], B = g->node[b];
    if (C.op == FX_CONST) return C.value != 0 ? a : b;   /* NaN counts as true, as in the VM */
    if (a == b) return a;
    if (A.op == FX_SELECT && A.a == c) return fx_select(g, c, A.b, b);   /* c ? (c ? u : _) : v */
    if (B.op == FX_SELECT && B.a == c) return fx_select(g, c, a, B.c);   /* c ? u : (c ? _ : v) */
    return intern(g, FX_SELECT, c, a, b, 0, 0);
}

int fx_make(fx_graph *g, fx_op op, int a, int b, int c) {
    switch (fx_arity(op)) {
    case 1: return fx_un(g, op, a);
    case 2: return fx_bin(g, op, a, b);
    case 3: return fx_select(g, a, b, c);
    default: return -1;
    }
}
