/*
 * formula.h — user-defined activation functions from formulas (the "formula engine").
 *
 * A formula such as "x >= 0 ? x : -log1p(-x)" goes through these steps:
 *
 *   formula_parse.c   text -> expression graph (syntax errors name a column)
 *   formula_graph.c   the graph: hash-consed nodes whose constructors simplify
 *                     (constant folding, x*1, x+0, select with equal branches),
 *                     so equal subexpressions are one node (shared work)
 *   formula_diff.c    symbolic d/dx and d/dp_k of a graph node
 *   formula_print.c   a node back to text (for the derivative's description)
 *   formula_vm.c      nodes -> a small register bytecode, run over float
 *                     arrays block by block with the vectors of vec.h, or
 *                     once in double precision with libm for the reference
 *   formula.c         ties them together: fx_compile() and the fx_* calls
 *                     that user.c wraps into catalogue kernels
 *
 * The first part of this header is what user.c (and the tests) use; the
 * second part is shared by the formula_*.c files only.
 */
#ifndef ACTLAB_FORMULA_H
#define ACTLAB_FORMULA_H

#include <stddef.h>
#include <stdint.h>
#include "actlab/act.h"

#define FX_MAX_PARAMS ACTLAB_ACT_MAX_PARAMS

/* An error in a formula: 1-based column in the expression text (0 when the
 * error has no position, e.g. "formula too large") and the message without
 * the column, e.g. "expected ')' to close '(' opened at column 3". */
typedef struct fx_error {
    int col;
    char msg[320];
} fx_error;

typedef struct fx_formula fx_formula;

/* Check the syntax of `expr` and report which of the names it mentions (bit k
 * set for names[k]). Used by definitions files, where a function takes only the
 * declared parameters its expression mentions. Returns 0, or -1 with e filled. */
int fx_mentions(const char *expr, const char *const *names, int nnames, unsigned *mask,
                fx_error *e);

/* Parse, differentiate and compile `expr` with parameters names[0..nparam-1];
 * bit k of `learnable` asks for df/dp_k. Returns NULL with e filled on error. */
fx_formula *fx_compile(const char *expr, const char *const *names, int nparam,
                       unsigned learnable, fx_error *e);
void fx_free(fx_formula *f);

/* The simplified derivative as text, e.g. "x >= 0 ? 1 : 1/(1 - x)". */
const char *fx_derivative_text(const fx_formula *f);
/* The simplified df/dp_k as text, or NULL when parameter k is not learnable. */
const char *fx_dparam_text(const fx_formula *f, int k);

/* Double-precision reference (libm). p holds the parameter values. */
double fx_ref_f(const fx_formula *f, double x, const double *p);
double fx_ref_df(const fx_formula *f, double x, const double *p);
/* out[k] = df/dp_k for k < nparam (0 for non-learnable parameters). */
void fx_ref_dparam(const fx_formula *f, double *out, double x, const double *p);
/* Points where f or f' may jump, for these parameter values: x CMP c, c CMP x,
 * abs(x), sign(x), max(x,c), min(x,c). Sorted, distinct, at most
 * ACTLAB_ACT_MAX_KINKS. Returns the count. */
int fx_kinks(const fx_formula *f, double *out, const double *p);

/* Float32 array kernels; thread-safe (all scratch lives on the caller's stack).
 * forward: y = f(x), y may alias x. backward: dx = dy * f'(x), dx may alias
 * dy; if dp is not NULL, dp[k] = sum of dy * df/dp_k over the n elements for
 * every k < ACTLAB_ACT_MAX_PARAMS (0 for non-learnable ones). */
void fx_forward(const fx_formula *f, float *y, const float *x, int64_t n, const float *p);
void fx_backward(const fx_formula *f, float *dx, float *dp, const float *dy, const float *x,
                 int64_t n, const float *p);

/* 1 if name[0..len) is reserved in formulas: x, pi, e or a function name. */
int fx_is_reserved(const char *name, size_t len);

/* ------------------------------------------------------------------------ */
/* Shared by the formula_*.c files.                                          */

typedef enum fx_op {
    /* leaves */
    FX_CONST, FX_X, FX_PARAM,
    FX_DY,      /* the incoming gradient, only in compiled backward programs */
    /* one operand (a) */
    FX_NEG, FX_EXP, FX_LOG, FX_LOG1P, FX_EXPM1, FX_SQRT, FX_ABS, FX_SIGN, FX_TANH,
    FX_SIGMOID, FX_SOFTPLUS, FX_ERF, FX_ATAN, FX_SIN, FX_COS,
    /* two operands (a, b) */
    FX_ADD, FX_SUB, FX_MUL, FX_DIV, FX_POW, FX_MIN, FX_MAX,
    FX_LT, FX_LE, FX_GT, FX_GE, FX_EQ, FX_NE, /* 1 or 0 */
    /* three operands: a ? b : c (a != 0 picks b; both sides are computed) */
    FX_SELECT,
    FX_NOPS
} fx_op;

static inline int fx_is_compare(fx_op op) { return op >= FX_LT && op <= FX_NE; }
static inline int fx_arity(fx_op op) {
    return op <= FX_DY ? 0 : op <= FX_COS ? 1 : op <= FX_NE ? 2 : 3;
}

/* What a node depends on, as bits: x, each parameter, dy. */
#define FX_DEP_X 1u
#define FX_DEP_PARAM(k) (2u << (k))
#define FX_DEP_DY (2u << FX_MAX_PARAMS)

typedef struct fx_node {
    fx_op op;
    int a, b, c;     /* operand node ids (always smaller than this node's id), -1 if unused */
    int param;       /* FX_PARAM: which parameter */
    double value;    /* FX_CONST */
    unsigned deps;   /* FX_DEP_* bits */
    int height;      /* 1 for leaves; bounds the recursion of diff/print */
} fx_node;

/* The expression graph. Nodes only ever get added, and a node's operands are
 * created before it, so ids are a topological order. */
typedef struct fx_graph {
    fx_node *node;
    int n, cap;
    int *table;      /* hash-consing: open addressing over node ids, -1 = empty */
    int tcap;
    int failed;      /* set on out-of-memory or a size limit; constructors then return -1 */
    char why[96];    /* what failed */
} fx_graph;

#define FX_MAX_NODES 200000
#define FX_MAX_HEIGHT 1000

/* A function callable in formulas. */
typedef struct fx_func {
    const char *name;
    fx_op op;
    int nargs;
} fx_func;
extern const fx_func fx_funcs[];
extern const int fx_nfuncs;
/* ", "-separated names of fx_funcs, for error messages. */
const char *fx_func_list(void);

void fx_graph_init(fx_graph *g);
void fx_graph_free(fx_graph *g);
/* Constructors: return a node id, or -1 (and propagate -1 operands). They
 * simplify as they build, so every graph is already in simplified form. */
int fx_const(fx_graph *g, double v);
int fx_leaf(fx_graph *g, fx_op op, int param);          /* FX_X, FX_PARAM, FX_DY */
int fx_un(fx_graph *g, fx_op op, int a);
int fx_bin(fx_graph *g, fx_op op, int a, int b);
int fx_select(fx_graph *g, int c, int a, int b);
int fx_make(fx_graph *g, fx_op op, int a, int b, int c); /* any arity, by fx_arity(op) */
static inline int fx_is_const(const fx_graph *g, int id, double v) {
    return g->node[id].op == FX_CONST && g->node[id].value == v;
}

/* The double-precision meaning of each operator (libm), for folding and the reference. */
double fx_apply(fx_op op, double a, double b, double c);
/* Evaluate node id by walking the graph (no sharing; for small subexpressions). */
double fx_graph_eval(const fx_graph *g, int id, double x, const double *p);

/* Parse expr into g. Parameters become FX_PARAM nodes; *mentioned gets bit k
 * for each names[k] used. Returns the root id or -1 with e filled. */
int fx_parse(fx_graph *g, const char *expr, const char *const *names, int nnames,
             unsigned *mentioned, fx_error *e);

/* d(root)/d(var), var = FX_DEP_X or FX_DEP_PARAM(k). Returns a node id or -1. */
int fx_diff(fx_graph *g, int root, unsigned var);

/* Node as text with minimal parentheses; names[] gives parameter names.
 * Returns a malloc'ed string or NULL (out of memory). */
char *fx_print(const fx_graph *g, int root, const char *const *names);

/* A compiled bytecode program computing one or more roots. */
typedef struct fx_prog fx_prog;
/* Compile roots[0..nroot) of g. With to_output, root 0 is written to the
 * output array (the program's last instruction). NULL with e filled on error. */
fx_prog *fx_prog_compile(const fx_graph *g, const int *roots, int nroot, int to_output,
                         fx_error *e);
void fx_prog_free(fx_prog *pg);
/* Run over n floats: out = root 0 (when compiled with to_output), and
 * sums[k-1] = sum over the elements of root k for k >= 1 (sums may be NULL
 * when nroot == 1). x, dy: the inputs (dy may be NULL if unused). */
void fx_prog_run(const fx_prog *pg, float *out, const float *x, const float *dy, int64_t n,
                 const float *p, double *sums);
/* Evaluate once in double precision: vals[k] = root k. */
void fx_prog_eval(const fx_prog *pg, double x, double dy, const double *p, double *vals);

#endif
