/*
 * report_md.c — report.md: the main tables as Markdown, how to read them,
 * the cells that failed (with why) or did not finish, and the settings.
 */
#include "report/report_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A table cell: '|' would end it early. */
static void md_cell(rp_buf *b, const char *s) {
    for (; *s; s++) {
        if (*s == '|') rp_puts(b, "\\|");
        else if (*s == '\n') rp_puts(b, " ");
        else rp_printf(b, "%c", *s);
    }
}

static void md_table(rp_buf *b, const rp_set *set, const rp_group *g) {
    char cell[512];
    rp_puts(b, "|");
    for (int c = 0; c < RP_COL_END; c++)
        if (rp_col_shown(g, c)) {
            rp_col_header(set, g, c, cell, sizeof cell);
            rp_puts(b, " ");
            md_cell(b, cell);
            rp_puts(b, " |");
        }
    rp_puts(b, "\n|");
    for (int c = 0; c < RP_COL_END; c++)
        if (rp_col_shown(g, c)) rp_puts(b, c == RP_COL_ACT ? "---|" : "---:|");
    rp_puts(b, "\n");
    for (int i = 0; i < g->nrows; i++) {
        rp_puts(b, "|");
        for (int c = 0; c < RP_COL_END; c++)
            if (rp_col_shown(g, c)) {
                rp_col_cell(set, g, &g->rows[i], c, cell, sizeof cell);
                rp_puts(b, " ");
                md_cell(b, cell);
                rp_puts(b, " |");
            }
        rp_puts(b, "\n");
    }
}

/* The smallest and largest number of pairs behind the tests (for the how-to-read note). */
static void pair_range(const rp_group *groups, int ngroups, size_t *lo, size_t *hi) {
    *lo = (size_t)-1;
    *hi = 0;
    for (int g = 0; g < ngroups; g++)
        for (int i = 0; i < groups[g].nrows; i++)
            if (groups[g].rows[i].has_test) {
                size_t n = groups[g].rows[i].npairs;
                if (n < *lo) *lo = n;
                if (n > *hi) *hi = n;
            }
    if (*lo > *hi) *lo = *hi = 0;
}

char *rp_markdown(const rp_set *set, const rp_group *groups, int ngroups) {
    rp_buf b = {0};
    rp_puts(&b, "# Activation function comparison\n\n");
    rp_printf(&b, "Baseline: `%s`. Accuracies are final test accuracies in %%, over seeds; "
                  "%d cells read.\n\n", set->baseline, set->ncells);
    for (int g = 0; g < ngroups; g++) {
        rp_printf(&b, "## %s / %s\n\n", groups[g].data, groups[g].model);
        if (!groups[g].has_baseline) rp_printf(&b, "(No run of the baseline `%s` here: nothing to pair with.)\n\n", set->baseline);
        md_table(&b, set, &groups[g]);
        rp_puts(&b, "\n");
    }

    size_t lo, hi;
    pair_range(groups, ngroups, &lo, &hi);
    char npairs[64];
    if (lo == hi) snprintf(npairs, sizeof npairs, "%zu", lo);
    else snprintf(npairs, sizeof npairs, "%zu to %zu", lo, hi);
    rp_puts(&b, "## How to read the table\n\n");
    rp_printf(&b,
              "- *test acc*: the final epoch's test accuracy, mean ± sample standard deviation over the seeds "
              "that finished; *%g %% CI* is the Student-t interval of that mean (wide when there are few seeds). "
              "*best*: the highest test accuracy of any epoch of any seed.\n",
              100 * set->conf);
    rp_puts(&b, "- *s/epoch*: mean wall time of an epoch; *act. time %*: the activation layers' share of a "
                "training step (when the runs measured it). *epochs to X %*: mean epoch at which the test accuracy "
                "first reached X, over the seeds that reached it (k/n). *dead %*: share of units whose derivative "
                "was 0 on every probe image in the last epoch, averaged over the activation layers.\n");
    rp_printf(&b, "- *Δ acc*: mean over seeds of (candidate − baseline) final accuracy in percentage points, "
                  "paired by seed (the same seed gives both the same initial weights and data order); only seeds "
                  "both finished count (n). *win/tie/loss*: seeds where the candidate was better / equal / worse.\n");
    rp_printf(&b, "- *p*: two-sided p-values of the Wilcoxon signed-rank test (exact for n ≤ %d) and of the "
                  "paired t-test, of \"no difference from the baseline\". The first number is Holm-corrected across "
                  "the activations of the table (use it when asking \"is any of them different?\"), the raw p is in "
                  "parentheses. Here the tests rest on %s pairs: with n pairs the exact Wilcoxon p cannot go "
                  "below 2/2^n (0.0625 for n = 5), so a few seeds can never show significance with it; "
                  "a large p means \"not shown\", not \"no difference\".\n\n",
              ACTLAB_STATS_EXACT_AUTO_N, npairs);

    int nbad = 0;
    for (int i = 0; i < set->ncells; i++) nbad += set->cells[i].state != RP_DONE || !isfinite(set->cells[i].final_acc);
    rp_printf(&b, "## Failed or unfinished cells\n\n");
    if (!nbad) rp_puts(&b, "None: every cell finished.\n\n");
    else {
        rp_puts(&b, "| data | model | activation | seed | state | error | folder |\n|---|---|---|---:|---|---|---|\n");
        for (int i = 0; i < set->ncells; i++) {
            const rp_cell *c = &set->cells[i];
            if (c->state == RP_DONE && isfinite(c->final_acc)) continue;
            const char *st = c->state == RP_FAILED ? "failed" : c->state == RP_RUNNING ? "not done" : "no result";
            rp_puts(&b, "| ");
            md_cell(&b, c->data);
            rp_puts(&b, " | ");
            md_cell(&b, c->model);
            rp_puts(&b, " | ");
            md_cell(&b, c->act);
            rp_printf(&b, " | %ld | %s | ", c->seed, st);
            md_cell(&b, c->error ? c->error : "\xe2\x80\x94");
            rp_puts(&b, " | ");
            md_cell(&b, c->dir);
            rp_puts(&b, " |\n");
        }
        rp_puts(&b, "\n");
    }
    rp_puts(&b, "## Settings\n\n```\n");
    for (int i = 0; i < set->nsettings; i++) rp_printf(&b, "%s\n", set->settings[i]);
    rp_printf(&b, "report: baseline %s, %g %% intervals, ties within %g\n```\n", set->baseline, 100 * set->conf,
              set->tie_tol);
    if (b.oom) { free(b.s); return NULL; }
    return b.s;
}
