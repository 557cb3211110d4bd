/*
 * test_report.c — the comparison report on constructed compare directories
 * with known numbers: 3 activations x 4 seeds (and a failed fifth seed), the
 * table's means and intervals, the paired differences, the exact Wilcoxon p
 * of 4 pairs, the paired t p and Holm; fields missing from older or
 * unprobed runs; two directories merged; the same cell twice refused.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actlab/report.h"
#include "check.h"
#include "report/report_internal.h"

static char root[256];

static void mkdirs(const char *path) {
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *s = tmp + 1; *s; s++)
        if (*s == '/') { *s = 0; mkdir(tmp, 0777); *s = '/'; }
    mkdir(tmp, 0777);
}

static void put(const char *dir, const char *name, const char *text) {
    char path[2048];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) exit(1);
    FILE *f = fopen(path, "w");
    if (!f) { perror(path); exit(1); }
    fputs(text, f);
    fclose(f);
}

typedef struct cell_spec {
    const char *act, *slug;
    int seed;
    double acc;      /* final test accuracy; NaN: failed (no final.json) */
    int probe;       /* metrics carry probe layers */
    int timing;      /* metrics carry time.act_share */
    int metrics;     /* write metrics.jsonl at all */
    const char *state, *error;
} cell_spec;

/* A run folder: 3 epochs whose test accuracy climbs to acc, the probe of two layers
 * (dead 0.1 and 0.3 in the last epoch; a PReLU-like parameter on the first). */
static void make_cell(const char *dir, const cell_spec *c) {
    char path[1024], text[8192];
    snprintf(path, sizeof path, "%s/cells/fm/lenet/%s/seed-%d", dir, c->slug, c->seed);
    mkdirs(path);
    snprintf(text, sizeof text, "{\"act\": \"%s\", \"model\": \"/m/lenet.cfg\", \"data\": \"fashion-mnist\", \"seed\": %d, "
                                "\"epochs\": 3, \"batch\": 64}\n", c->act, c->seed);
    put(path, "config.json", text);
    int epochs = isnan(c->acc) ? 1 : 3;
    if (c->metrics) {
        size_t len = 0;
        for (int e = 1; e <= epochs; e++) {
            double acc = isnan(c->acc) ? 0.5 : c->acc - 0.05 * (3 - e);
            len += (size_t)snprintf(text + len, sizeof text - len,
                                    "{\"epoch\": %d, \"train_loss\": %g, \"train_acc\": %g, \"test_loss\": %g, "
                                    "\"test_acc\": %.17g, \"lr\": 0.01, \"epoch_seconds\": %g",
                                    e, 1.0 / e, acc - 0.01, 0.9 / e, acc, 2.0 + 0.1 * e);
            if (c->timing) len += (size_t)snprintf(text + len, sizeof text - len, ", \"time\": {\"step_ms\": 10, \"act_share\": 0.08}");
            if (c->probe)
                len += (size_t)snprintf(text + len, sizeof text - len,
                                        ", \"probe\": {\"images\": 256, \"layers\": ["
                                        "{\"layer\": \"conv1\", \"units\": 6, \"dead\": %g, \"mean\": %g, "
                                        "\"params\": {\"a\": {\"mean\": 0.25, \"std\": 0, \"min\": 0.25, \"max\": 0.25}}}, "
                                        "{\"layer\": \"conv2\", \"units\": 16, \"dead\": %g, \"mean\": %g}]}",
                                        e == 3 ? 0.1 : 0.0, 0.1 * e, e == 3 ? 0.3 : 0.0, 0.2 * e);
            len += (size_t)snprintf(text + len, sizeof text - len, "}\n");
        }
        put(path, "metrics.jsonl", text);
    }
    if (!isnan(c->acc)) {
        snprintf(text, sizeof text,
                 "{\"final\": true, \"epoch\": 3, \"test_loss\": %g, \"test_acc\": %.17g, "
                 "\"targets\": {\"0.8\": {\"epoch\": %d, \"seconds\": 4.2}, \"0.85\": %s}}\n",
                 1 - c->acc, c->acc, c->acc >= 0.85 ? 2 : 3,
                 c->acc >= 0.85 ? "{\"epoch\": 3, \"seconds\": 6.3}" : "null");
        put(path, "final.json", text);
    }
    if (c->state) {
        snprintf(text, sizeof text, "{\"state\": \"%s\"%s%s%s}\n", c->state, c->error ? ", \"error\": \"" : "",
                 c->error ? c->error : "", c->error ? "\"" : "");
        put(path, "status.json", text);
    }
}

static const rp_row *row_of(const rp_group *g, const char *act) {
    for (int i = 0; i < g->nrows; i++)
        if (!strcmp(g->rows[i].act, act)) return &g->rows[i];
    return NULL;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = 0;
    fclose(f);
    return s;
}

static void test_one_dir(const char *a) {
    const char *dirs[] = {a};
    rp_set set;
    char err[512] = "";
    CHECK(rp_read(&set, dirs, 1, NULL, err, sizeof err) == 0, "read: %s", err);
    set.conf = 0.95;
    rp_group *g = NULL;
    int ng = 0;
    CHECK(rp_groups(&set, &g, &ng, err, sizeof err) == 0, "groups: %s", err);
    CHECK(ng == 1, "groups %d", ng);
    CHECK(set.nacts == 3 && !strcmp(set.acts[2], "leaky_relu:a=0.01"), "acts in compare.json's order");
    CHECK(!strcmp(set.baseline, "relu"), "baseline %s", set.baseline);
    if (ng != 1) return;
    const rp_row *relu = row_of(g, "relu"), *elu = row_of(g, "elu"), *lk = row_of(g, "leaky_relu:a=0.01");
    CHECK(relu && elu && lk, "rows");
    if (!relu || !elu || !lk) return;
    CHECK(relu->is_baseline && !relu->has_test, "baseline row");
    CHECK(relu->n_done == 4 && relu->n_failed == 0, "relu n %d", relu->n_done);
    CHECK(elu->n_done == 4 && elu->n_failed == 1, "elu n %d failed %d", elu->n_done, elu->n_failed);
    CHECK(check_close(relu->acc.mean, 0.815, 1e-12, 0), "relu mean %.17g", relu->acc.mean);
    CHECK(check_close(relu->acc.sd, sqrt(0.0005 / 3), 1e-9, 0), "relu sd %.17g", relu->acc.sd);
    /* t_{0.975, 3} = 3.182446305284263 */
    double half = 3.182446305284263 * sqrt(0.0005 / 3) / 2;
    CHECK(check_close(relu->acc.ci_lo, 0.815 - half, 1e-9, 0) && check_close(relu->acc.ci_hi, 0.815 + half, 1e-9, 0),
          "relu CI [%g, %g]", relu->acc.ci_lo, relu->acc.ci_hi);
    CHECK(check_close(relu->best, 0.83, 1e-12, 0), "relu best %g", relu->best);
    CHECK(check_close(relu->loss, 1 - 0.815, 1e-9, 0), "relu loss %g", relu->loss);
    CHECK(check_close(relu->epoch_s, 2.2, 1e-12, 0), "relu s/epoch %g", relu->epoch_s);
    CHECK(check_close(relu->act_share, 0.08, 1e-12, 0), "relu act share %g", relu->act_share);
    CHECK(isnan(elu->act_share), "elu has no timing: NaN");
    CHECK(check_close(relu->dead, 0.2, 1e-12, 0), "relu dead %g (mean of 0.1 and 0.3)", relu->dead);
    CHECK(isnan(lk->dead), "leaky has no probe: NaN dead");
    /* Targets 0.8 and 0.85: relu reaches 0.8 in every seed (epoch 3), 0.85 in none. */
    CHECK(g->ntargets == 2 && g->target_value[0] == 0.8 && g->target_value[1] == 0.85, "targets %d", g->ntargets);
    CHECK(relu->target_reached[0] == 4 && relu->target_n[0] == 4 && relu->target_epochs[0] == 3, "relu to 0.8");
    CHECK(relu->target_reached[1] == 0 && isnan(relu->target_epochs[1]), "relu to 0.85");
    CHECK(elu->target_reached[1] == 2 && elu->target_epochs[1] == 3, "elu to 0.85: %d", elu->target_reached[1]);
    /* elu - relu = .02, .03, -.01, .04: W+ = 9 of 10, exact two-sided p = 4/16. */
    CHECK(elu->npairs == 4, "elu pairs %zu (the failed seed 5 has no partner)", elu->npairs);
    CHECK(check_close(elu->diff, 0.02, 1e-9, 0), "elu diff %.17g", elu->diff);
    CHECK(check_close(elu->p_w, 0.25, 1e-12, 0), "elu Wilcoxon p %.17g", elu->p_w);
    CHECK(elu->wins == 3 && elu->ties == 0 && elu->losses == 1, "elu w/t/l");
    /* leaky - relu = .01, .02, .03, .04: p = 2/16. */
    CHECK(check_close(lk->diff, 0.025, 1e-9, 0), "leaky diff %.17g", lk->diff);
    CHECK(check_close(lk->p_w, 0.125, 1e-12, 0), "leaky Wilcoxon p %.17g", lk->p_w);
    /* Paired t (df 3, closed form of the t CDF): 0.16116184721351945 and 0.030466291662170963. */
    CHECK(check_close(elu->p_t, 0.16116184721351945, 1e-7, 0), "elu t p %.17g", elu->p_t);
    CHECK(check_close(lk->p_t, 0.030466291662170963, 1e-7, 0), "leaky t p %.17g", lk->p_t);
    /* Holm over the two: Wilcoxon 2 x 0.125 = 0.25 and max(0.25, 0.25); t: 2 x 0.0305 and 0.161. */
    CHECK(check_close(lk->p_w_holm, 0.25, 1e-12, 0) && check_close(elu->p_w_holm, 0.25, 1e-12, 0), "Wilcoxon Holm");
    CHECK(check_close(lk->p_t_holm, 2 * 0.030466291662170963, 1e-7, 0), "leaky t Holm %.17g", lk->p_t_holm);
    CHECK(check_close(elu->p_t_holm, 0.16116184721351945, 1e-7, 0), "elu t Holm %.17g", elu->p_t_holm);

    char *text = rp_table_text(&set, g, ng);
    CHECK(text && strstr(text, "81.50 ± 1.29"), "table text:\n%s", text ? text : "(null)");
    CHECK(text && strstr(text, "+2.00 (n=4)") && strstr(text, "3/0/1"), "table diff");
    CHECK(text && strstr(text, "4 (1 failed)"), "failed count in the table");
    free(text);
    rp_groups_free(g, ng);
    rp_set_free(&set);

    /* Another baseline by an equivalent spec. */
    CHECK(rp_read(&set, dirs, 1, "leaky_relu", err, sizeof err) == 0, "read with baseline: %s", err);
    CHECK(set.baseline && !strcmp(set.baseline, "leaky_relu:a=0.01"), "baseline leaky_relu = leaky_relu:a=0.01");
    rp_set_free(&set);
    CHECK(rp_read(&set, dirs, 1, "swish", err, sizeof err) == -1 && strstr(err, "swish"), "unknown baseline: %s", err);

    /* The documents. */
    actlab_report_options o = actlab_report_options_default();
    char table[16384], out[512];
    snprintf(out, sizeof out, "%s/out1", root);
    CHECK(actlab_report_build(dirs, 1, out, &o, table, sizeof table, err, sizeof err) == 0, "build: %s", err);
    CHECK(strstr(table, "relu (baseline)") != NULL, "table:\n%s", table);
    char path[600];
    snprintf(path, sizeof path, "%s/report.md", out);
    char *md = slurp(path);
    CHECK(md && strstr(md, "NaN loss at epoch 2") && strstr(md, "failed"), "report.md lists the failed cell");
    CHECK(md && strstr(md, "| relu (baseline) |"), "report.md table");
    CHECK(md && strstr(md, "How to read"), "report.md how to read");
    free(md);
    snprintf(path, sizeof path, "%s/report.html", out);
    char *html = slurp(path);
    int nsvg = 0;
    for (const char *s = html; s && (s = strstr(s, "<svg")); s++) nsvg++;
    /* accuracy, loss, dead, mean activation, parameters, time, functions */
    CHECK(nsvg == 7, "%d plots in report.html", nsvg);
    CHECK(html && !strstr(html, "http://") && !strstr(html, "https://"), "no URLs in report.html");
    CHECK(html && strstr(html, "NaN loss at epoch 2"), "report.html lists the failed cell");
    free(html);
    o.conf = 1.5;
    CHECK(actlab_report_build(dirs, 1, out, &o, NULL, 0, err, sizeof err) == -1 && strstr(err, "(0, 1)"), "conf: %s", err);
}

static void test_merge(const char *a, const char *b, const char *c) {
    const char *dirs[] = {a, b};
    rp_set set;
    char err[512] = "";
    CHECK(rp_read(&set, dirs, 2, NULL, err, sizeof err) == 0, "merge: %s", err);
    set.conf = 0.95;
    rp_group *g = NULL;
    int ng = 0;
    CHECK(rp_groups(&set, &g, &ng, err, sizeof err) == 0, "groups: %s", err);
    CHECK(set.nacts == 4 && !strcmp(set.acts[3], "swish"), "swish from config.json, after compare.json's acts");
    const rp_row *sw = ng == 1 ? row_of(g, "swish") : NULL;
    CHECK(sw && sw->n_done == 4 && sw->npairs == 4, "swish merged and paired");
    /* swish - relu = +.01 each: all wins, p = 2/16, sd 0 (t p 0). */
    CHECK(sw && check_close(sw->p_w, 0.125, 1e-12, 0) && sw->wins == 4, "swish p %g", sw ? sw->p_w : NAN);
    CHECK(sw && isnan(sw->dead) && isnan(sw->act_share), "swish: no probe, no timing");
    /* Three tests now: leaky 0.125 x 3, swish 0.125 x 3 (tied order), elu max(0.375, 0.25). */
    const rp_row *lk = ng == 1 ? row_of(g, "leaky_relu:a=0.01") : NULL;
    CHECK(lk && check_close(lk->p_w_holm, 0.375, 1e-12, 0), "leaky Holm of 3: %g", lk ? lk->p_w_holm : NAN);
    rp_groups_free(g, ng);
    rp_set_free(&set);

    const char *dup[] = {a, c};
    CHECK(rp_read(&set, dup, 2, NULL, err, sizeof err) == -1, "duplicate cell refused");
    CHECK(strstr(err, "two places") && strstr(err, a) && strstr(err, c), "names both: %s", err);
    char out[512];
    snprintf(out, sizeof out, "%s/out2", root);
    CHECK(actlab_report_build(dup, 2, out, NULL, NULL, 0, err, sizeof err) == -1, "build refuses the duplicate");
    char path[600];
    snprintf(path, sizeof path, "%s/report.html", out);
    CHECK(access(path, F_OK) != 0, "nothing written on error");

    /* The same function spelled another way in another directory joins its row. */
    char d[300];
    snprintf(d, sizeof d, "%s/d", root);
    make_cell(d, &(cell_spec){"leaky_relu", "leaky_relu", 9, 0.8, 0, 0, 1, "done", NULL});
    const char *spelt[] = {a, d};
    CHECK(rp_read(&set, spelt, 2, NULL, err, sizeof err) == 0, "merge spellings: %s", err);
    set.conf = 0.95;
    CHECK(set.nacts == 3, "leaky_relu = leaky_relu:a=0.01: %d acts", set.nacts);
    if (rp_groups(&set, &g, &ng, err, sizeof err) == 0 && ng == 1) {
        lk = row_of(g, "leaky_relu:a=0.01");
        CHECK(lk && lk->n_done == 5 && lk->npairs == 4, "leaky row has 5 seeds, 4 paired");
        rp_groups_free(g, ng);
    } else CHECK(0, "groups: %s", err);
    rp_set_free(&set);

    const char *none[] = {root};
    CHECK(rp_read(&set, none, 1, NULL, err, sizeof err) == -1 && strstr(err, "cells"), "not a compare dir: %s", err);
}

int main(void) {
    snprintf(root, sizeof root, "/tmp/actlab-test-report-XXXXXX");
    if (!mkdtemp(root)) { perror("mkdtemp"); return 1; }
    char a[300], b[300], c[300];
    snprintf(a, sizeof a, "%s/a", root);
    snprintf(b, sizeof b, "%s/b", root);
    snprintf(c, sizeof c, "%s/c", root);
    mkdirs(a);
    put(a, "compare.json",
        "{\"acts\": [{\"spec\": \"relu\", \"slug\": \"relu\"}, {\"spec\": \"elu\", \"slug\": \"elu\"}, "
        "{\"spec\": \"leaky_relu:a=0.01\", \"slug\": \"leaky_relu-a-0.01\"}], \"models\": [\"lenet\"], "
        "\"data\": [\"fashion-mnist\"], \"seeds\": [1, 2, 3, 4, 5], \"baseline\": \"relu\", \"epochs\": 3}\n");
    const double relu[] = {0.80, 0.82, 0.81, 0.83}, elu[] = {0.82, 0.85, 0.80, 0.87}, lk[] = {0.81, 0.84, 0.84, 0.87};
    for (int s = 0; s < 4; s++) {
        make_cell(a, &(cell_spec){"relu", "relu", s + 1, relu[s], 1, 1, 1, "done", NULL});
        make_cell(a, &(cell_spec){"elu", "elu", s + 1, elu[s], 1, 0, 1, "done", NULL});
        /* Older records: no probe, no timing, no status.json (done because final.json is there). */
        make_cell(a, &(cell_spec){"leaky_relu:a=0.01", "leaky_relu-a-0.01", s + 1, lk[s], 0, 0, 1, NULL, NULL});
        /* Another directory without compare.json; one cell without metrics.jsonl. */
        mkdirs(b);
        make_cell(b, &(cell_spec){"swish", "swish", s + 1, relu[s] + 0.01, 0, 0, s != 3, "done", NULL});
    }
    make_cell(a, &(cell_spec){"elu", "elu", 5, NAN, 1, 0, 1, "failed", "NaN loss at epoch 2"});
    make_cell(c, &(cell_spec){"relu", "relu", 1, 0.5, 0, 0, 1, "done", NULL});

    test_one_dir(a);
    test_merge(a, b, c);

    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (!check_failed && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
    return check_summary("test_report");
}
