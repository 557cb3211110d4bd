/*
 * report_html.c — report.html: one self-contained page (inline CSS and SVG, no
 * scripts, fonts or anything fetched) with the main tables, the plots of each
 * (data set, model) group, the functions, how to read it, failed cells and
 * the settings.
 */
#include "report/report_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/svg_plot.h"

static const char *const css =
    "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;margin:24px auto;max-width:1500px;color:#222;"
    "line-height:1.45;padding:0 16px}\n"
    "h1{font-size:26px;margin-bottom:4px}h2{font-size:21px;margin-top:36px;border-bottom:2px solid #ddd;"
    "padding-bottom:4px}h3{font-size:17px;margin-top:26px}\n"
    "table{border-collapse:collapse;font-size:13px;margin:10px 0 18px}\n"
    "th,td{border:1px solid #d4d4d4;padding:4px 8px}th{background:#f0f0f0;text-align:center;vertical-align:bottom}\n"
    "td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}tr:nth-child(even) td{background:#fafafa}\n"
    "td.act{white-space:nowrap;font-family:'DejaVu Sans Mono',monospace}\n"
    ".sw{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:6px;vertical-align:-1px}\n"
    ".sig{font-weight:bold}\n"
    "figure{margin:18px 0 28px}figcaption{font-size:13px;color:#555;max-width:1000px;margin-top:4px}\n"
    "svg{max-width:100%;height:auto}pre{background:#f6f6f6;padding:10px;font-size:12px;overflow-x:auto}\n"
    ".note{font-size:14px;color:#444}.wrap{overflow-x:auto;max-width:100%}\n";

static void table_html(rp_buf *b, const rp_set *set, const rp_group *g) {
    char cell[512];
    rp_puts(b, "<div class=\"wrap\"><table>\n<thead><tr>");
    for (int c = 0; c < RP_COL_END; c++)
        if (rp_col_shown(g, c)) {
            rp_col_header(set, g, c, cell, sizeof cell);
            rp_puts(b, "<th>");
            rp_html_text(b, cell);
            rp_puts(b, "</th>");
        }
    rp_puts(b, "</tr></thead>\n<tbody>\n");
    for (int i = 0; i < g->nrows; i++) {
        const rp_row *r = &g->rows[i];
        rp_puts(b, "<tr>");
        for (int c = 0; c < RP_COL_END; c++) {
            if (!rp_col_shown(g, c)) continue;
            rp_col_cell(set, g, r, c, cell, sizeof cell);
            if (c == RP_COL_ACT) {
                /* The swatch ties the row to its lines in the plots. */
                rp_printf(b, "<td class=\"act\"><span class=\"sw\" style=\"background:%s\"></span>",
                          actlab_plot_palette(r->act_index));
            } else {
                int sig = (c == RP_COL_PW && r->p_w_holm < 0.05) || (c == RP_COL_PT && r->p_t_holm < 0.05);
                rp_printf(b, "<td class=\"num%s\">", sig ? " sig" : "");
            }
            rp_html_text(b, cell);
            rp_puts(b, "</td>");
        }
        rp_puts(b, "</tr>\n");
    }
    rp_puts(b, "</tbody></table></div>\n");
}

static void failed_html(rp_buf *b, const rp_set *set) {
    int nbad = 0;
    for (int i = 0; i < set->ncells; i++) nbad += set->cells[i].state != RP_DONE || !isfinite(set->cells[i].final_acc);
    rp_puts(b, "<h2 id=\"failed\">Failed or unfinished cells</h2>\n");
    if (!nbad) { rp_puts(b, "<p>None: every cell finished.</p>\n"); return; }
    rp_puts(b, "<table><thead><tr><th>data</th><th>model</th><th>activation</th><th>seed</th><th>state</th>"
               "<th>error</th><th>folder</th></tr></thead><tbody>\n");
    for (int i = 0; i < set->ncells; i++) {
        const rp_cell *c = &set->cells[i];
        if (c->state == RP_DONE && isfinite(c->final_acc)) continue;
        const char *st = c->state == RP_FAILED ? "failed" : c->state == RP_RUNNING ? "not done" : "no result";
        rp_puts(b, "<tr><td>");
        rp_html_text(b, c->data);
        rp_puts(b, "</td><td>");
        rp_html_text(b, c->model);
        rp_puts(b, "</td><td class=\"act\">");
        rp_html_text(b, c->act);
        rp_printf(b, "</td><td class=\"num\">%ld</td><td>%s</td><td>", c->seed, st);
        rp_html_text(b, c->error ? c->error : "\xe2\x80\x94");
        rp_puts(b, "</td><td>");
        rp_html_text(b, c->dir);
        rp_puts(b, "</td></tr>\n");
    }
    rp_puts(b, "</tbody></table>\n");
}

static void how_to_read(rp_buf *b, const rp_set *set) {
    rp_puts(b, "<h2 id=\"read\">How to read the tables</h2>\n<ul class=\"note\">\n");
    rp_printf(b, "<li><b>test acc</b>: the final epoch's test accuracy, mean &plusmn; sample standard deviation over "
                 "the seeds that finished; <b>%g %% CI</b>: the Student-t interval of that mean (wide with few "
                 "seeds); <b>best</b>: the highest test accuracy of any epoch of any seed.</li>\n",
              100 * set->conf);
    rp_puts(b, "<li><b>s/epoch</b>: mean wall time of an epoch; <b>act. time %</b>: the activation layers' share of a "
               "training step, when measured. <b>epochs to X %</b>: mean epoch at which the test accuracy first "
               "reached X, over the seeds that reached it (k/n). <b>dead %</b>: units whose derivative was 0 on every "
               "probe image in the last epoch, averaged over the activation layers.</li>\n");
    rp_puts(b, "<li><b>&Delta; acc</b>: mean over seeds of candidate &minus; baseline final accuracy, in percentage "
               "points, paired by seed (a seed gives both the same initial weights and data order); only seeds both "
               "finished count (n). <b>win/tie/loss</b>: seeds where the candidate was better, equal, worse.</li>\n");
    rp_printf(b, "<li><b>p</b>: two-sided p-values of the Wilcoxon signed-rank test (exact up to %d pairs) and the "
                 "paired t-test of &ldquo;no difference from the baseline&rdquo;, Holm-corrected across the "
                 "activations of the table (bold when below 0.05), raw p in parentheses. With n pairs the exact "
                 "Wilcoxon p is at least 2/2<sup>n</sup> (0.0625 for 5 seeds): a large p means &ldquo;not "
                 "shown&rdquo;, not &ldquo;no difference&rdquo;.</li>\n</ul>\n",
              ACTLAB_STATS_EXACT_AUTO_N);
}

char *rp_html(const rp_set *set, const rp_group *groups, int ngroups, char *err, size_t errlen) {
    rp_buf b = {0};
    rp_printf(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                  "<title>actlab: activation function comparison</title>\n<style>\n%s</style>\n</head>\n<body>\n",
              css);
    rp_puts(&b, "<h1>Activation function comparison</h1>\n<p class=\"note\">Baseline <code>");
    rp_html_text(&b, set->baseline);
    rp_printf(&b, "</code>; %d cells read. Accuracies in %%. Contents: ", set->ncells);
    for (int g = 0; g < ngroups; g++) {
        rp_printf(&b, "<a href=\"#g%d\">", g);
        rp_html_text(&b, groups[g].data);
        rp_puts(&b, " / ");
        rp_html_text(&b, groups[g].model);
        rp_puts(&b, "</a> &middot; ");
    }
    rp_puts(&b, "<a href=\"#functions\">functions</a> &middot; <a href=\"#read\">how to read</a> &middot; "
                "<a href=\"#failed\">failed cells</a> &middot; <a href=\"#settings\">settings</a></p>\n");
    for (int g = 0; g < ngroups; g++) {
        rp_printf(&b, "<h2 id=\"g%d\">", g);
        rp_html_text(&b, groups[g].data);
        rp_puts(&b, " / ");
        rp_html_text(&b, groups[g].model);
        rp_puts(&b, "</h2>\n");
        if (!groups[g].has_baseline) {
            rp_puts(&b, "<p class=\"note\">No run of the baseline here: nothing to pair with.</p>\n");
        }
        table_html(&b, set, &groups[g]);
        if (rp_group_plots(&b, set, &groups[g], g, err, errlen)) { free(b.s); return NULL; }
    }
    rp_puts(&b, "<h2 id=\"functions\">The functions</h2>\n");
    if (rp_function_plot(&b, set, err, errlen)) { free(b.s); return NULL; }
    how_to_read(&b, set);
    failed_html(&b, set);
    rp_puts(&b, "<h2 id=\"settings\">Settings</h2>\n<pre>");
    for (int i = 0; i < set->nsettings; i++) {
        rp_html_text(&b, set->settings[i]);
        rp_puts(&b, "\n");
    }
    rp_printf(&b, "report: %g %% intervals, ties within %g</pre>\n</body>\n</html>\n", 100 * set->conf, set->tie_tol);
    if (b.oom) {
        free(b.s);
        snprintf(err, errlen, "out of memory writing the HTML report");
        return NULL;
    }
    return b.s;
}
