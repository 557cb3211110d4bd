/*
 * report_table.c — the main table: per (data set, model) group one row per
 * activation, its summaries over seeds, and the paired comparison with the
 * baseline (by seed, only seeds both finished), Holm-corrected across the
 * activations of the group. All statistics come from actlab_stats_*.
 */
#include "report/report_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

#define MAX_SEEDS 4096

int rp_cells_of(const rp_set *set, const char *data, const char *model, const char *act, const rp_cell **out,
                int max) {
    int n = 0;
    for (int i = 0; i < set->ncells && n < max; i++) {
        const rp_cell *c = &set->cells[i];
        if (strcmp(c->data, data) || strcmp(c->model, model) || strcmp(c->act, act)) continue;
        int k = n++;
        /* Keep seed order: pairing and plots read cells by seed. */
        while (k > 0 && out[k - 1]->seed > c->seed) { out[k] = out[k - 1]; k--; }
        out[k] = c;
    }
    return n;
}

static int done(const rp_cell *c) { return c->state == RP_DONE && isfinite(c->final_acc); }

static double mean_of(double sum, int n) { return n ? sum / n : NAN; }

/* The row's own numbers (everything but the comparison). */
static int fill_row(const rp_set *set, rp_group *g, rp_row *r, const rp_cell *const *cells, int n, char *err,
                    size_t errlen) {
    double acc[MAX_SEEDS];
    double best = NAN, loss = 0, secs = 0, share = 0, dead = 0;
    int nacc = 0, nloss = 0, nsecs = 0, nshare = 0, ndead = 0;
    double tsum[RP_MAX_TARGETS] = {0};
    for (int i = 0; i < n; i++) {
        const rp_cell *c = cells[i];
        if (c->state == RP_FAILED) r->n_failed++;
        else if (!done(c)) r->n_running++;
        if (!done(c)) continue;
        r->n_done++;
        acc[nacc++] = c->final_acc;
        if (isfinite(c->final_loss)) loss += c->final_loss, nloss++;
        for (int e = 0; e < c->nep; e++) {
            const rp_epoch *ep = &c->ep[e];
            if (isfinite(ep->test_acc) && !(ep->test_acc <= best)) best = ep->test_acc;
            if (isfinite(ep->seconds)) secs += ep->seconds, nsecs++;
            if (isfinite(ep->act_share)) share += ep->act_share, nshare++;
        }
        if (isfinite(c->final_acc) && !(c->final_acc <= best)) best = c->final_acc;
        /* Dead share: the last epoch that probed, averaged over its layers. */
        for (int e = c->nep - 1; e >= 0; e--) {
            if (!c->ep[e].nlayers) continue;
            double s = 0;
            int k = 0;
            for (int l = 0; l < c->ep[e].nlayers; l++)
                if (isfinite(c->ep[e].dead[l])) s += c->ep[e].dead[l], k++;
            if (k) dead += s / k, ndead++;
            break;
        }
        for (int t = 0; t < g->ntargets; t++) {
            r->target_n[t]++;
            for (int k = 0; k < c->ntargets; k++)
                if (c->target_value[k] == g->target_value[t] && isfinite(c->target_epoch[k])) {
                    r->target_reached[t]++;
                    tsum[t] += c->target_epoch[k];
                }
        }
    }
    r->best = best;
    r->loss = mean_of(loss, nloss);
    r->epoch_s = mean_of(secs, nsecs);
    r->act_share = mean_of(share, nshare);
    r->dead = mean_of(dead, ndead);
    for (int t = 0; t < g->ntargets; t++) r->target_epochs[t] = mean_of(tsum[t], r->target_reached[t]);
    if (nacc) {
        if (actlab_stats_describe(acc, (size_t)nacc, set->conf, &r->acc, err, errlen)) return -1;
    } else {
        memset(&r->acc, 0, sizeof r->acc);
        r->acc.mean = r->acc.sd = r->acc.ci_lo = r->acc.ci_hi = r->acc.min = r->acc.max = r->acc.median = NAN;
        r->acc.conf = set->conf;
    }
    return 0;
}

/* The candidate against the baseline, paired by seed. */
static int compare_row(const rp_set *set, rp_row *r, const rp_cell *const *cand, int nc, const rp_cell *const *base,
                       int nb, char *err, size_t errlen) {
    double x[MAX_SEEDS], y[MAX_SEEDS];
    size_t n = 0;
    for (int i = 0; i < nc; i++)
        for (int k = 0; k < nb; k++)
            if (cand[i]->seed == base[k]->seed && done(cand[i]) && done(base[k])) {
                x[n] = cand[i]->final_acc;
                y[n] = base[k]->final_acc;
                n++;
            }
    r->npairs = n;
    r->diff = r->p_w = r->p_t = r->p_w_holm = r->p_t_holm = NAN;
    if (!n) return 0;
    actlab_stats_paired_opts o = actlab_stats_paired_defaults();
    o.conf = set->conf;
    o.tie_tol = set->tie_tol;
    actlab_stats_paired_result res;
    if (actlab_stats_paired(x, y, n, &o, &res, err, errlen)) return -1;
    r->has_test = 1;
    r->diff = res.diff.mean;
    r->p_w = res.wilcoxon.p;
    r->p_t = res.p_t;
    r->wins = res.wins;
    r->ties = res.ties;
    r->losses = res.losses;
    return 0;
}

/* Holm across the activations compared in the group. */
static int holm_rows(rp_group *g, int which, char *err, size_t errlen) {
    double p[256], adj[256];
    int idx[256], m = 0;
    for (int i = 0; i < g->nrows && m < 256; i++) {
        if (!g->rows[i].has_test) continue;
        idx[m] = i;
        p[m++] = which ? g->rows[i].p_t : g->rows[i].p_w;
    }
    if (!m) return 0;
    if (actlab_stats_holm(p, (size_t)m, adj, err, errlen)) return -1;
    for (int k = 0; k < m; k++) {
        if (which) g->rows[idx[k]].p_t_holm = adj[k];
        else g->rows[idx[k]].p_w_holm = adj[k];
    }
    return 0;
}

void rp_groups_free(rp_group *groups, int ngroups) {
    for (int i = 0; i < ngroups; i++) {
        free(groups[i].rows);
        for (int t = 0; t < groups[i].ntargets; t++) free(groups[i].target_key[t]);
    }
    free(groups);
}

static int add_target(rp_group *g, const rp_cell *c) {
    for (int k = 0; k < c->ntargets; k++) {
        int have = 0;
        for (int t = 0; t < g->ntargets; t++) have |= g->target_value[t] == c->target_value[k];
        if (have || g->ntargets == RP_MAX_TARGETS) continue;
        int t = g->ntargets;
        while (t > 0 && g->target_value[t - 1] > c->target_value[k]) {
            g->target_value[t] = g->target_value[t - 1];
            g->target_key[t] = g->target_key[t - 1];
            t--;
        }
        g->target_value[t] = c->target_value[k];
        size_t len = strlen(c->target_key[k]) + 1;
        if (!(g->target_key[t] = malloc(len))) return -1;
        memcpy(g->target_key[t], c->target_key[k], len);
        g->ntargets++;
    }
    return 0;
}

int rp_groups(const rp_set *set, rp_group **groups, int *ngroups, char *err, size_t errlen) {
    *groups = NULL;
    *ngroups = 0;
    rp_group *gs = NULL;
    int ng = 0;
    const rp_cell **cells = malloc(sizeof *cells * MAX_SEEDS), **base = malloc(sizeof *base * MAX_SEEDS);
    if (!cells || !base) goto oom;
    /* Groups in the order their first cell was found (data set, then model folders, sorted). */
    for (int i = 0; i < set->ncells; i++) {
        const rp_cell *c = &set->cells[i];
        int g = 0;
        while (g < ng && (strcmp(gs[g].data, c->data) || strcmp(gs[g].model, c->model))) g++;
        if (g == ng) {
            rp_group *a = realloc(gs, sizeof *a * (size_t)(ng + 1));
            if (!a) goto oom;
            gs = a;
            memset(&gs[ng], 0, sizeof gs[ng]);
            gs[ng].data = c->data;
            gs[ng].model = c->model;
            ng++;
        }
        if (add_target(&gs[g], c)) goto oom;
    }
    for (int g = 0; g < ng; g++) {
        rp_group *G = &gs[g];
        if (!(G->rows = calloc((size_t)set->nacts, sizeof *G->rows))) goto oom;
        int nb = rp_cells_of(set, G->data, G->model, set->baseline, base, MAX_SEEDS);
        G->has_baseline = nb > 0;
        for (int a = 0; a < set->nacts; a++) {
            int n = rp_cells_of(set, G->data, G->model, set->acts[a], cells, MAX_SEEDS);
            if (!n) continue;
            rp_row *r = &G->rows[G->nrows++];
            r->act = set->acts[a];
            r->act_index = a;
            r->is_baseline = !strcmp(set->acts[a], set->baseline);
            r->diff = r->p_w = r->p_t = r->p_w_holm = r->p_t_holm = NAN;
            if (fill_row(set, G, r, cells, n, err, errlen)) goto fail;
            if (!r->is_baseline && nb && compare_row(set, r, cells, n, base, nb, err, errlen)) goto fail;
        }
        if (holm_rows(G, 0, err, errlen) || holm_rows(G, 1, err, errlen)) goto fail;
    }
    free(cells);
    free(base);
    *groups = gs;
    *ngroups = ng;
    return 0;
oom:
    actlab_errorf(err, errlen, "out of memory");
fail:
    free(cells);
    free(base);
    rp_groups_free(gs, ng);
    return -1;
}
