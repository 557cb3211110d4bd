/*
 * formula_parse.c — formula text to expression graph, by recursive descent.
 *
 * Grammar, lowest precedence first:
 *
 *   ternary  := compare [ '?' ternary ':' ternary ]          right-associative
 *   compare  := additive [ ('<'|'<='|'>'|'>='|'=='|'!=') additive ]   no chains
 *   additive := term { ('+'|'-') term }
 *   term     := unary { ('*'|'/') unary }
 *   unary    := ('-'|'+') unary | power
 *   power    := primary [ '^' unary ]      right-associative; -x^2 = -(x^2), 2^-x ok
 *   primary  := NUMBER | NAME | FUNCTION '(' args ')' | '(' ternary ')'
 *
 * NAME is x, pi, e or a declared parameter. Every error names the 1-based
 * column and what was expected there.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "formula.h"

#define MAX_DEPTH 200

typedef enum tok_kind {
    T_END, T_NUM, T_NAME, T_OP, T_BAD
} tok_kind;

typedef struct token {
    tok_kind kind;
    size_t pos, len;   /* where in the text */
    fx_op op;          /* T_OP: the operator, or FX_NOPS for punctuation */
    char punct;        /* T_OP punctuation: ( ) , ? : */
    double value;      /* T_NUM */
} token;

typedef struct parser {
    const char *s;
    token t;           /* the current token */
    fx_graph *g;
    const char *const *names;
    int nnames;
    unsigned mentioned;
    int depth;
    fx_error *e;
    int failed;
} parser;

static int error_at(parser *ps, size_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int error_at(parser *ps, size_t pos, const char *fmt, ...) {
    if (ps->failed) return -1;
    ps->failed = 1;
    ps->e->col = (int)pos + 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->e->msg, sizeof ps->e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

/* "end of input", "')'", "'foo'": how error messages name a token. */
static const char *describe(const parser *ps, const token *t, char *buf, size_t len) {
    if (t->kind == T_END) return "end of input";
    int n = t->len > 40 ? 40 : (int)t->len;
    unsigned char ch = (unsigned char)ps->s[t->pos];
    if (t->kind == T_BAD && !isprint(ch)) snprintf(buf, len, "byte 0x%02x", ch);
    else snprintf(buf, len, "'%.*s'", n, ps->s + t->pos);
    return buf;
}

/* ---- lexer ---- */

static size_t scan_number(const char *s, size_t i, int *bad) {
    *bad = 0;
    while (isdigit((unsigned char)s[i])) i++;
    if (s[i] == '.') {
        i++;
        while (isdigit((unsigned char)s[i])) i++;
    }
    if (s[i] == 'e' || s[i] == 'E') {
        size_t j = i + 1;
        if (s[j] == '+' || s[j] == '-') j++;
        if (!isdigit((unsigned char)s[j])) { *bad = 1; return j; }
        while (isdigit((unsigned char)s[j])) j++;
        i = j;
    }
    return i;
}

/* Read the token at or after position pos into ps->t. */
static int lex(parser *ps, size_t pos) {
    const char *s = ps->s;
    while (isspace((unsigned char)s[pos])) pos++;
    token t = {T_END, pos, 0, FX_NOPS, 0, 0};
    char c = s[pos], c2 = c ? s[pos + 1] : 0;
    if (!c) {
        ps->t = t;
        return 0;
    }
    if (isdigit((unsigned char)c) || (c == '.' && isdigit((unsigned char)c2))) {
        int bad;
        size_t end = scan_number(s, pos, &bad);
        t.kind = T_NUM;
        t.len = end - pos;
        if (bad)
            return error_at(ps, pos, "malformed number '%.*s': expected digits after the exponent",
                            (int)t.len, s + pos);
        char buf[64];
        if (t.len >= sizeof buf) return error_at(ps, pos, "number too long");
        memcpy(buf, s + pos, t.len);
        buf[t.len] = 0;
        errno = 0;
        t.value = strtod(buf, NULL);
        if (errno == ERANGE && isinf(t.value))
            return error_at(ps, pos, "number '%s' is out of range", buf);
        ps->t = t;
        return 0;
    }
    if (isalpha((unsigned char)c) || c == '_') {
        size_t end = pos;
        while (isalnum((unsigned char)s[end]) || s[end] == '_') end++;
        t.kind = T_NAME;
        t.len = end - pos;
        ps->t = t;
        return 0;
    }
    t.kind = T_OP;
    t.len = 1;
    switch (c) {
    case '+': t.op = FX_ADD; break;
    case '-': t.op = FX_SUB; break;
    case '*': t.op = FX_MUL; break;
    case '/': t.op = FX_DIV; break;
    case '^': t.op = FX_POW; break;
    case '<': t.op = c2 == '=' ? FX_LE : FX_LT; break;
    case '>': t.op = c2 == '=' ? FX_GE : FX_GT; break;
    case '=':
        if (c2 != '=') return error_at(ps, pos, "unexpected '=' (write == to compare)");
        t.op = FX_EQ;
        break;
    case '!':
        if (c2 != '=') return error_at(ps, pos, "unexpected '!' (write != to compare)");
        t.op = FX_NE;
        break;
    case '(': case ')': case ',': case '?': case ':':
        t.punct = c;
        break;
    default:
        t.kind = T_BAD;
        ps->t = t;
        if (isprint((unsigned char)c)) return error_at(ps, pos, "unexpected character '%c'", c);
        return error_at(ps, pos, "unexpected byte 0x%02x", (unsigned char)c);
    }
    if (t.op == FX_LE || t.op == FX_GE || t.op == FX_EQ || t.op == FX_NE) t.len = 2;
    ps->t = t;
    return 0;
}

static int next(parser *ps) { return lex(ps, ps->t.pos + ps->t.len); }
static int is_punct(const parser *ps, char c) { return ps->t.kind == T_OP && ps->t.punct == c; }
static int is_op(const parser *ps, fx_op op) {
    return ps->t.kind == T_OP && ps->t.punct == 0 && ps->t.op == op;
}

/* The graph ran out of memory or hit a size limit. */
static int graph_check(parser *ps, int id) {
    if (id < 0 && !ps->failed) {
        ps->failed = 1;
        ps->e->col = 0;
        snprintf(ps->e->msg, sizeof ps->e->msg, "%s", ps->g->why[0] ? ps->g->why : "out of memory");
    }
    return id;
}

/* ---- grammar ---- */

static int parse_ternary(parser *ps);
static int parse_unary(parser *ps);

/* Arguments of a call, after the name; the current token is '('. */
static int parse_call(parser *ps, const fx_func *fn, size_t name_pos) {
    size_t open = ps->t.pos;
    int args[2] = {-1, -1}, nargs = 0;
    if (next(ps)) return -1;
    if (!is_punct(ps, ')')) {
        for (;;) {
            int a = parse_ternary(ps);
            if (a < 0) return -1;
            if (nargs < 2) args[nargs] = a;
            nargs++;
            if (!is_punct(ps, ',')) break;
            if (next(ps)) return -1;
        }
    }
    if (!is_punct(ps, ')')) {
        char buf[64];
        return error_at(ps, ps->t.pos, "expected ',' or ')' to close '(' opened at column %zu, found %s",
                        open + 1, describe(ps, &ps->t, buf, sizeof buf));
    }
    if (nargs != fn->nargs)
        return error_at(ps, name_pos, "%s takes %d argument%s, got %d", fn->name, fn->nargs,
                        fn->nargs == 1 ? "" : "s", nargs);
    if (next(ps)) return -1;
    return graph_check(ps, fx_make(ps->g, fn->op, args[0], args[1], -1));
}

static int parse_name(parser *ps) {
    const char *name = ps->s + ps->t.pos;
    size_t pos = ps->t.pos, len = ps->t.len;
    if (next(ps)) return -1;
    int called = is_punct(ps, '(');
    for (int i = 0; i < fx_nfuncs; i++) {
        if (strlen(fx_funcs[i].name) != len || memcmp(fx_funcs[i].name, name, len) != 0) continue;
        if (!called)
            return error_at(ps, pos, "'%.*s' is a function: write %.*s(...)", (int)len, name,
                            (int)len, name);
        return parse_call(ps, &fx_funcs[i], pos);
    }
    if (called)
        return error_at(ps, pos, "unknown function '%.*s' (known: %s)", (int)len, name, fx_func_list());
    if (len == 1 && name[0] == 'x') return graph_check(ps, fx_leaf(ps->g, FX_X, 0));
    if (len == 2 && memcmp(name, "pi", 2) == 0) return graph_check(ps, fx_const(ps->g, M_PI));
    if (len == 1 && name[0] == 'e') return graph_check(ps, fx_const(ps->g, M_E));
    for (int k = 0; k < ps->nnames; k++) {
        if (strlen(ps->names[k]) == len && memcmp(ps->names[k], name, len) == 0) {
            ps->mentioned |= 1u << k;
            return graph_check(ps, fx_leaf(ps->g, FX_PARAM, k));
        }
    }
    char declared[200] = "";
    size_t used = 0;
    for (int k = 0; k < ps->nnames && used < sizeof declared; k++)
        used += (size_t)snprintf(declared + used, sizeof declared - used, "%s%s", k ? ", " : "", ps->names[k]);
    if (ps->nnames == 0)
        return error_at(ps, pos, "unknown name '%.*s': not x, pi, e or a parameter (no parameters declared)",
                        (int)len, name);
    return error_at(ps, pos, "unknown name '%.*s': not x, pi, e or a parameter (declared: %s)",
                    (int)len, name, declared);
}

static int parse_primary(parser *ps) {
    char buf[64];
    if (ps->t.kind == T_NUM) {
        double v = ps->t.value;
        if (next(ps)) return -1;
        return graph_check(ps, fx_const(ps->g, v));
    }
    if (ps->t.kind == T_NAME) return parse_name(ps);
    if (is_punct(ps, '(')) {
        size_t open = ps->t.pos;
        if (next(ps)) return -1;
        int r = parse_ternary(ps);
        if (r < 0) return -1;
        if (!is_punct(ps, ')'))
            return error_at(ps, ps->t.pos, "expected ')' to close '(' opened at column %zu, found %s",
                            open + 1, describe(ps, &ps->t, buf, sizeof buf));
        if (next(ps)) return -1;
        return r;
    }
    const char *hint = "";
    if (is_op(ps, FX_MUL) && ps->t.pos > 0 && ps->s[ps->t.pos - 1] == '*') hint = " (write powers as x^2)";
    return error_at(ps, ps->t.pos, "expected an expression, found %s%s",
                    describe(ps, &ps->t, buf, sizeof buf), hint);
}

static int parse_power(parser *ps) {
    int base = parse_primary(ps);
    if (base < 0 || !is_op(ps, FX_POW)) return base;
    if (next(ps)) return -1;
    int ex = parse_unary(ps);   /* right-associative, and allows 2^-x */
    return graph_check(ps, fx_bin(ps->g, FX_POW, base, ex));
}

static int parse_unary(parser *ps) {
    if (!is_op(ps, FX_SUB) && !is_op(ps, FX_ADD)) return parse_power(ps);
    int neg = is_op(ps, FX_SUB);
    if (++ps->depth > MAX_DEPTH)
        return error_at(ps, ps->t.pos, "expression nested too deeply (more than %d levels)", MAX_DEPTH);
    if (next(ps)) return -1;
    int a = parse_unary(ps);
    ps->depth--;
    return neg ? graph_check(ps, fx_un(ps->g, FX_NEG, a)) : a;
}

static int parse_term(parser *ps) {
    int a = parse_unary(ps);
    while (a >= 0 && (is_op(ps, FX_MUL) || is_op(ps, FX_DIV))) {
        fx_op op = ps->t.op;
        if (next(ps)) return -1;
        int b = parse_unary(ps);
        if (b < 0) return -1;
        a = graph_check(ps, fx_bin(ps->g, op, a, b));
    }
    return a;
}

static int parse_additive(parser *ps) {
    int a = parse_term(ps);
    while (a >= 0 && (is_op(ps, FX_ADD) || is_op(ps, FX_SUB))) {
        fx_op op = ps->t.op;
        if (next(ps)) return -1;
        int b = parse_term(ps);
        if (b < 0) return -1;
        a = graph_check(ps, fx_bin(ps->g, op, a, b));
    }
    return a;
}

static int is_compare_token(const parser *ps) {
    return ps->t.kind == T_OP && ps->t.punct == 0 && fx_is_compare(ps->t.op);
}

static int parse_compare(parser *ps) {
    int a = parse_additive(ps);
    if (a < 0 || !is_compare_token(ps)) return a;
    fx_op op = ps->t.op;
    if (next(ps)) return -1;
    int b = parse_additive(ps);
    if (b < 0) return -1;
    if (is_compare_token(ps))
        return error_at(ps, ps->t.pos, "comparisons do not chain: add parentheses, "
                        "e.g. (a < b) * (b < c) for a < b < c");
    return graph_check(ps, fx_bin(ps->g, op, a, b));
}

static int parse_ternary(parser *ps) {
    if (++ps->depth > MAX_DEPTH)
        return error_at(ps, ps->t.pos, "expression nested too deeply (more than %d levels)", MAX_DEPTH);
    int c = parse_compare(ps);
    if (c >= 0 && is_punct(ps, '?')) {
        size_t q = ps->t.pos;
        int a = -1, b = -1;
        if (next(ps)) return -1;
        a = parse_ternary(ps);
        if (a < 0) return -1;
        if (!is_punct(ps, ':')) {
            char buf[64];
            return error_at(ps, ps->t.pos, "expected ':' to go with '?' at column %zu, found %s",
                            q + 1, describe(ps, &ps->t, buf, sizeof buf));
        }
        if (next(ps)) return -1;
        b = parse_ternary(ps);
        if (b < 0) return -1;
        c = graph_check(ps, fx_select(ps->g, c, a, b));
    }
    ps->depth--;
    return c;
}

int fx_parse(fx_graph *g, const char *expr, const char *const *names, int nnames,
             unsigned *mentioned, fx_error *e) {
    parser ps = {.s = expr, .g = g, .names = names, .nnames = nnames, .e = e};
    e->col = 0;
    e->msg[0] = 0;
    if (lex(&ps, 0)) return -1;
    int root = parse_ternary(&ps);
    if (root < 0) return -1;
    if (ps.t.kind != T_END) {
        char buf[64];
        if (is_punct(&ps, ')')) return error_at(&ps, ps.t.pos, "unmatched ')'");
        return error_at(&ps, ps.t.pos, "expected an operator or end of input, found %s",
                        describe(&ps, &ps.t, buf, sizeof buf));
    }
    if (mentioned) *mentioned = ps.mentioned;
    return root;
}
