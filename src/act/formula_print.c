/*
 * formula_print.c — an expression graph node back to formula text.
 *
 * The text uses the parser's syntax with as few parentheses as precedence
 * allows, so a printed derivative can be read back as a formula:
 * "x >= 0 ? 1 : 1/(1 - x)". Shared subexpressions are printed each time they
 * occur; text beyond MAX_TEXT characters is replaced by a short notice.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "formula.h"

#define MAX_TEXT 16384

/* Precedence levels, lowest first (as in the grammar of formula_parse.c). */
enum { P_TERNARY = 1, P_COMPARE, P_ADD, P_MUL, P_UNARY, P_POW, P_PRIMARY };

typedef struct out {
    char *buf;
    size_t len, cap;
    int overflow;
} out;

static void put(out *o, const char *s) {
    size_t n = strlen(s);
    if (o->overflow || o->len + n >= MAX_TEXT) {
        o->overflow = 1;
        return;
    }
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 64;
        while (cap < o->len + n + 1) cap *= 2;
        char *b = realloc(o->buf, cap);
        if (!b) {
            o->overflow = 1;
            return;
        }
        o->buf = b;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, s, n + 1);
    o->len += n;
}

/* The shortest decimal text that reads back as exactly v. */
static void put_number(out *o, double v) {
    char b[40];
    if (v == M_PI) { put(o, "pi"); return; }
    if (v == M_E) { put(o, "e"); return; }
    if (isnan(v)) { put(o, "(0/0)"); return; }
    if (isinf(v)) { put(o, v > 0 ? "(1/0)" : "(-1/0)"); return; }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(b, sizeof b, "%.*g", prec, v);
        if (strtod(b, NULL) == v) break;
    }
    put(o, b);
}

static const char *op_text(fx_op op) {
    switch (op) {
    case FX_ADD: return " + ";
    case FX_SUB: return " - ";
    case FX_MUL: return "*";
    case FX_DIV: return "/";
    case FX_POW: return "^";
    case FX_LT: return " < ";
    case FX_LE: return " <= ";
    case FX_GT: return " > ";
    case FX_GE: return " >= ";
    case FX_EQ: return " == ";
    case FX_NE: return " != ";
    default: return "?";
    }
}

static int precedence(const fx_graph *g, int id) {
    const fx_node *nd = &g->node[id];
    switch (nd->op) {
    case FX_CONST: return signbit(nd->value) && !isnan(nd->value) ? P_UNARY : P_PRIMARY;
    case FX_NEG: return P_UNARY;
    case FX_ADD: case FX_SUB: return P_ADD;
    case FX_MUL: case FX_DIV: return P_MUL;
    case FX_POW: return P_POW;
    case FX_SELECT: return P_TERNARY;
    default: return fx_is_compare(nd->op) ? P_COMPARE : P_PRIMARY;
    }
}

static void print_node(out *o, const fx_graph *g, int id, int min_prec, const char *const *names);

static void print_call(out *o, const fx_graph *g, const fx_node *nd, const char *const *names) {
    for (int i = 0; i < fx_nfuncs; i++) {
        if (fx_funcs[i].op != nd->op) continue;
        put(o, fx_funcs[i].name);
        put(o, "(");
        print_node(o, g, nd->a, P_TERNARY, names);
        if (fx_funcs[i].nargs == 2) {
            put(o, ", ");
            print_node(o, g, nd->b, P_TERNARY, names);
        }
        put(o, ")");
        return;
    }
    put(o, "?");
}

static void print_node(out *o, const fx_graph *g, int id, int min_prec, const char *const *names) {
    if (o->overflow) return;
    const fx_node *nd = &g->node[id];
    int prec = precedence(g, id);
    if (prec < min_prec) put(o, "(");
    switch (nd->op) {
    case FX_CONST: put_number(o, nd->value); break;
    case FX_X: put(o, "x"); break;
    case FX_PARAM: put(o, names ? names[nd->param] : "p"); break;
    case FX_DY: put(o, "dy"); break;
    case FX_NEG:
        put(o, "-");
        print_node(o, g, nd->a, P_UNARY, names);
        break;
    case FX_ADD: case FX_SUB: case FX_MUL: case FX_DIV:
        /* left-associative: the right operand needs one level more */
        print_node(o, g, nd->a, prec, names);
        put(o, op_text(nd->op));
        print_node(o, g, nd->b, prec + 1, names);
        break;
    case FX_POW:
        /* right-associative, and the exponent may be a unary minus */
        print_node(o, g, nd->a, P_PRIMARY, names);
        put(o, "^");
        print_node(o, g, nd->b, P_UNARY, names);
        break;
    case FX_LT: case FX_LE: case FX_GT: case FX_GE: case FX_EQ: case FX_NE:
        print_node(o, g, nd->a, P_ADD, names);
        put(o, op_text(nd->op));
        print_node(o, g, nd->b, P_ADD, names);
        break;
    case FX_SELECT:
        print_node(o, g, nd->a, P_COMPARE, names);
        put(o, " ? ");
        print_node(o, g, nd->b, P_COMPARE, names);   /* parenthesise a nested ?: for readability */
        put(o, " : ");
        print_node(o, g, nd->c, P_TERNARY, names);
        break;
    default:
        print_call(o, g, nd, names);
        break;
    }
    if (prec < min_prec) put(o, ")");
}

char *fx_print(const fx_graph *g, int root, const char *const *names) {
    out o = {0};
    print_node(&o, g, root, P_TERNARY, names);
    if (o.overflow) {
        free(o.buf);
        char notice[80];
        snprintf(notice, sizeof notice, "(too long to show: over %d characters)", MAX_TEXT);
        return strdup(notice);
    }
    return o.buf;
}
