/*
 * report_fmt.c — the text of the main table's cells, shared by the printed
 * table, report.md and report.html so the three always agree, and the
 * growing string the writers build into.
 */
#include "report/report_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DASH "\xe2\x80\x94" /* "—": a value the records do not have */

void rp_printf(rp_buf *b, const char *fmt, ...) {
    if (b->oom) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) { b->oom = 1; return; }
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 8192;
        while (cap < b->len + (size_t)n + 1) cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) { b->oom = 1; return; }
        b->s = s;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void rp_puts(rp_buf *b, const char *s) { rp_printf(b, "%s", s); }

void rp_html_text(rp_buf *b, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '&': rp_puts(b, "&amp;"); break;
        case '<': rp_puts(b, "&lt;"); break;
        case '>': rp_puts(b, "&gt;"); break;
        case '"': rp_puts(b, "&quot;"); break;
        default: rp_printf(b, "%c", *s);
        }
    }
}

static int any(const rp_group *g, size_t off) {
    for (int i = 0; i < g->nrows; i++)
        if (isfinite(*(const double *)((const char *)&g->rows[i] + off))) return 1;
    return 0;
}

int rp_col_shown(const rp_group *g, int c) {
    if (c >= RP_COL_TARGET0 && c < RP_COL_TARGET0 + RP_MAX_TARGETS) return c - RP_COL_TARGET0 < g->ntargets;
    if (c == RP_COL_SHARE) return any(g, offsetof(rp_row, act_share));
    if (c == RP_COL_DEAD) return any(g, offsetof(rp_row, dead));
    return c < RP_COL_END;
}

void rp_col_header(const rp_set *set, const rp_group *g, int c, char *buf, size_t len) {
    switch (c) {
    case RP_COL_ACT: snprintf(buf, len, "activation"); break;
    case RP_COL_N: snprintf(buf, len, "seeds done"); break;
    case RP_COL_ACC: snprintf(buf, len, "test acc %% (mean ± sd)"); break;
    case RP_COL_CI: snprintf(buf, len, "%g %% CI", 100 * set->conf); break;
    case RP_COL_BEST: snprintf(buf, len, "best %%"); break;
    case RP_COL_LOSS: snprintf(buf, len, "test loss"); break;
    case RP_COL_EPOCH_S: snprintf(buf, len, "s/epoch"); break;
    case RP_COL_SHARE: snprintf(buf, len, "act. time %%"); break;
    case RP_COL_DEAD: snprintf(buf, len, "dead %%"); break;
    case RP_COL_DIFF: snprintf(buf, len, "Δ acc vs %s (pp)", set->baseline); break;
    case RP_COL_PW: snprintf(buf, len, "Wilcoxon p Holm (raw)"); break;
    case RP_COL_PT: snprintf(buf, len, "t-test p Holm (raw)"); break;
    case RP_COL_WTL: snprintf(buf, len, "win/tie/loss"); break;
    default:
        if (c >= RP_COL_TARGET0 && c - RP_COL_TARGET0 < g->ntargets) {
            double v = g->target_value[c - RP_COL_TARGET0];
            if (v <= 1) snprintf(buf, len, "epochs to %g %% (k/n)", 100 * v);
            else snprintf(buf, len, "epochs to %s (k/n)", g->target_key[c - RP_COL_TARGET0]);
        } else snprintf(buf, len, "?");
    }
}

/* A p-value: three decimals, or two digits in e-notation when tiny. */
static void fmt_p(char *buf, size_t len, double p) {
    if (!isfinite(p)) snprintf(buf, len, DASH);
    else if (p >= 0.001 || p == 0) snprintf(buf, len, "%.3f", p);
    else snprintf(buf, len, "%.1e", p);
}

static void fmt_num(char *buf, size_t len, const char *fmt, double v) {
    if (isfinite(v)) snprintf(buf, len, fmt, v);
    else snprintf(buf, len, DASH);
}

void rp_col_cell(const rp_set *set, const rp_group *g, const rp_row *r, int c, char *buf, size_t len) {
    char a[64], b[64];
    switch (c) {
    case RP_COL_ACT: snprintf(buf, len, "%s%s", r->act, r->is_baseline ? " (baseline)" : ""); break;
    case RP_COL_N:
        if (r->n_failed && r->n_running) snprintf(buf, len, "%d (%d failed, %d not done)", r->n_done, r->n_failed, r->n_running);
        else if (r->n_failed) snprintf(buf, len, "%d (%d failed)", r->n_done, r->n_failed);
        else if (r->n_running) snprintf(buf, len, "%d (%d not done)", r->n_done, r->n_running);
        else snprintf(buf, len, "%d", r->n_done);
        break;
    case RP_COL_ACC:
        fmt_num(a, sizeof a, "%.2f", 100 * r->acc.mean);
        fmt_num(b, sizeof b, "%.2f", 100 * r->acc.sd);
        if (!isfinite(r->acc.mean)) snprintf(buf, len, DASH);
        else if (!isfinite(r->acc.sd)) snprintf(buf, len, "%s", a);
        else snprintf(buf, len, "%s ± %s", a, b);
        break;
    case RP_COL_CI:
        if (isfinite(r->acc.ci_lo) && isfinite(r->acc.ci_hi))
            snprintf(buf, len, "[%.2f, %.2f]", 100 * r->acc.ci_lo, 100 * r->acc.ci_hi);
        else snprintf(buf, len, DASH);
        break;
    case RP_COL_BEST: fmt_num(buf, len, "%.2f", 100 * r->best); break;
    case RP_COL_LOSS: fmt_num(buf, len, "%.4f", r->loss); break;
    case RP_COL_EPOCH_S: fmt_num(buf, len, r->epoch_s < 10 ? "%.2f" : "%.1f", r->epoch_s); break;
    case RP_COL_SHARE: fmt_num(buf, len, "%.1f", 100 * r->act_share); break;
    case RP_COL_DEAD: fmt_num(buf, len, "%.1f", 100 * r->dead); break;
    case RP_COL_DIFF:
        if (r->is_baseline) snprintf(buf, len, "baseline");
        else if (!r->has_test) snprintf(buf, len, DASH);
        else snprintf(buf, len, "%+.2f (n=%zu)", 100 * r->diff, r->npairs);
        break;
    case RP_COL_PW:
    case RP_COL_PT:
        if (!r->has_test) { snprintf(buf, len, DASH); break; }
        fmt_p(a, sizeof a, c == RP_COL_PW ? r->p_w_holm : r->p_t_holm);
        fmt_p(b, sizeof b, c == RP_COL_PW ? r->p_w : r->p_t);
        snprintf(buf, len, "%s (%s)", a, b);
        break;
    case RP_COL_WTL:
        if (!r->has_test) snprintf(buf, len, DASH);
        else snprintf(buf, len, "%zu/%zu/%zu", r->wins, r->ties, r->losses);
        break;
    default:
        if (c >= RP_COL_TARGET0 && c - RP_COL_TARGET0 < g->ntargets) {
            int t = c - RP_COL_TARGET0;
            fmt_num(a, sizeof a, "%.1f", r->target_epochs[t]);
            snprintf(buf, len, "%s (%d/%d)", a, r->target_reached[t], r->target_n[t]);
        } else snprintf(buf, len, "?");
    }
    (void)set;
}

/* Characters, not bytes: "±" and "—" are one column wide. */
static size_t width(const char *s) {
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

char *rp_table_text(const rp_set *set, const rp_group *groups, int ngroups) {
    rp_buf b = {0};
    char cell[512];
    for (int gi = 0; gi < ngroups; gi++) {
        const rp_group *g = &groups[gi];
        size_t w[RP_COL_END] = {0};
        for (int c = 0; c < RP_COL_END; c++) {
            if (!rp_col_shown(g, c)) continue;
            rp_col_header(set, g, c, cell, sizeof cell);
            w[c] = width(cell);
            for (int i = 0; i < g->nrows; i++) {
                rp_col_cell(set, g, &g->rows[i], c, cell, sizeof cell);
                if (width(cell) > w[c]) w[c] = width(cell);
            }
        }
        rp_printf(&b, "%s%s / %s\n", gi ? "\n" : "", g->data, g->model);
        for (int row = -1; row < g->nrows; row++) {
            for (int c = 0; c < RP_COL_END; c++) {
                if (!rp_col_shown(g, c)) continue;
                if (row < 0) rp_col_header(set, g, c, cell, sizeof cell);
                else rp_col_cell(set, g, &g->rows[row], c, cell, sizeof cell);
                /* Text left, numbers right, two spaces between columns. */
                size_t pad = w[c] - width(cell);
                if (c == RP_COL_ACT) rp_printf(&b, "%s%*s", cell, (int)pad, "");
                else rp_printf(&b, "  %*s%s", (int)pad, "", cell);
            }
            rp_puts(&b, "\n");
        }
    }
    if (b.oom) { free(b.s); return NULL; }
    if (!b.s) {
        b.s = malloc(1);
        if (b.s) b.s[0] = 0;
    }
    return b.s;
}
