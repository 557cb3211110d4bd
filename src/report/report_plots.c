/*
 * report_plots.c — the report's plots as inline SVG (through svg_plot): per
 * (data set, model) group the learning curves with a min-max band over seeds,
 * dead share and learned parameters per layer, mean activation per layer over
 * epochs, time per epoch with the activation share; and the functions with
 * their derivatives. Each activation keeps one colour in every plot: its
 * index in the grid picks the palette entry.
 */
#include "report/report_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actlab/act.h"
#include "report/svg_plot.h"

#define MAX_CELLS 4096
#define MAX_LAYER_PANELS 6 /* mean activation: more layers would make a very tall figure */
#define PLOT_W 1000

/* The activation's colour (its band is filled with the same colour, faintly). */
static actlab_plot_style act_style(int index) {
    actlab_plot_style st = ACTLAB_PLOT_STYLE_DEFAULT;
    const char *hex = actlab_plot_palette(index);
    st.rgb = hex;
    st.dashed = index >= ACTLAB_PLOT_PALETTE_SIZE; /* past ten activations, colours repeat: dash them */
    st.width = 2.2;
    return st;
}

/* A width whose x ticks fall on whole numbers for an axis spanning `span` epochs or layers:
 * svg_plot aims at a tick per 80 px, so a short run on a wide plot gets ticks at 0.5 steps. */
static int width_for(double span) {
    if (!(span >= 1) || span >= 6) return PLOT_W;
    int w = (int)(80 * (2 * span - 1)) + 120; /* the y labels and the legend take more than 120 px */
    return w < 560 ? 560 : w > PLOT_W ? PLOT_W : w;
}

/* The largest epoch count over a group's rows (for width_for). */
static int max_epochs(const rp_set *set, const rp_group *g, const rp_cell **cells) {
    int ne = 0;
    for (int i = 0; i < g->nrows; i++) {
        int n = rp_cells_of(set, g->data, g->model, g->rows[i].act, cells, MAX_CELLS);
        for (int k = 0; k < n; k++)
            if (cells[k]->nep > ne) ne = cells[k]->nep;
    }
    return ne;
}

/* Append the plot's SVG without the XML declaration and namespace, which inline SVG in HTML does not need. */
static int emit(rp_buf *b, actlab_plot *p, const char *caption, char *err, size_t errlen) {
    char *svg = actlab_plot_svg(p, err, errlen);
    actlab_plot_free(p);
    if (!svg) return -1;
    const char *s = strstr(svg, "<svg");
    if (!s) s = svg;
    rp_puts(b, "<figure>\n");
    const char *ns = " xmlns=\"http://www.w3.org/2000/svg\"";
    const char *at = strstr(s, ns);
    if (at) {
        rp_printf(b, "%.*s", (int)(at - s), s);
        rp_puts(b, at + strlen(ns));
    } else rp_puts(b, s);
    if (caption) {
        rp_puts(b, "<figcaption>");
        rp_html_text(b, caption);
        rp_puts(b, "</figcaption>\n");
    }
    rp_puts(b, "</figure>\n");
    free(svg);
    return 0;
}

/* Cells of a row that finished (or, when none did, all of them). */
static int row_cells(const rp_set *set, const rp_group *g, const rp_row *r, const rp_cell **out) {
    int n = rp_cells_of(set, g->data, g->model, r->act, out, MAX_CELLS), k = 0;
    for (int i = 0; i < n; i++)
        if (out[i]->state == RP_DONE) out[k++] = out[i];
    return k ? k : n;
}

typedef double (*epoch_field)(const rp_epoch *e, int layer);
static double f_test_acc(const rp_epoch *e, int l) { (void)l; return 100 * e->test_acc; }
static double f_train_loss(const rp_epoch *e, int l) { (void)l; return e->train_loss; }
static double f_seconds(const rp_epoch *e, int l) { (void)l; return e->seconds; }
static double f_share(const rp_epoch *e, int l) { (void)l; return 100 * e->act_share; }
static double f_mean(const rp_epoch *e, int l) { return l < e->nlayers ? e->mean[l] : NAN; }
static double f_dead(const rp_epoch *e, int l) { return l < e->nlayers ? 100 * e->dead[l] : NAN; }
static double f_param(const rp_epoch *e, int l) { return l < e->nlayers ? e->param[l] : NAN; }

/* Per epoch index: mean, min and max over the cells; returns the number of epochs with any value. */
static int over_epochs(const rp_cell *const *cells, int n, epoch_field f, int layer, double *x, double *mean,
                       double *lo, double *hi, int cap) {
    int ne = 0;
    for (int i = 0; i < n; i++)
        if (cells[i]->nep > ne) ne = cells[i]->nep;
    if (ne > cap) ne = cap;
    int any = 0;
    for (int e = 0; e < ne; e++) {
        double s = 0, a = INFINITY, b = -INFINITY, ep = e + 1;
        int k = 0;
        for (int i = 0; i < n; i++) {
            if (e >= cells[i]->nep) continue;
            double v = f(&cells[i]->ep[e], layer);
            if (isfinite(cells[i]->ep[e].epoch)) ep = cells[i]->ep[e].epoch;
            if (!isfinite(v)) continue;
            s += v, k++;
            a = fmin(a, v), b = fmax(b, v);
        }
        x[e] = ep;
        mean[e] = k ? s / k : NAN;
        lo[e] = k ? a : NAN;
        hi[e] = k ? b : NAN;
        any += k > 0;
    }
    return any ? ne : 0;
}

/* Per layer of the last probed epoch: mean over the cells. */
static int over_layers(const rp_cell *const *cells, int n, epoch_field f, double *x, double *y, int cap) {
    int nl = 0, any = 0;
    for (int i = 0; i < n; i++)
        if (cells[i]->nlayers > nl) nl = cells[i]->nlayers;
    if (nl > cap) nl = cap;
    for (int l = 0; l < nl; l++) {
        double s = 0;
        int k = 0;
        for (int i = 0; i < n; i++)
            for (int e = cells[i]->nep - 1; e >= 0; e--) {
                if (!cells[i]->ep[e].nlayers) continue;
                double v = f(&cells[i]->ep[e], l);
                if (isfinite(v)) s += v, k++;
                break;
            }
        x[l] = l + 1;
        y[l] = k ? s / k : NAN;
        any += k > 0;
    }
    return any ? nl : 0;
}

typedef struct scratch {
    const rp_cell **cells;
    double *x, *m, *lo, *hi;
    int cap;
} scratch;

/* A per-epoch plot: one line per activation (mean over seeds), a shaded band from min to max. */
static int epoch_plot(rp_buf *b, const rp_set *set, const rp_group *g, scratch *s, const char *id, const char *title,
                      const char *ylabel, epoch_field f, int band, const char *caption, char *err, size_t errlen) {
    actlab_plot *p = actlab_plot_new(width_for(max_epochs(set, g, s->cells) - 1), 380, title);
    if (!p) return -1;
    actlab_plot_set_id(p, id);
    actlab_plot_set_xlabel(p, "epoch");
    int panel = actlab_plot_add_panel(p, NULL, ylabel), drawn = 0;
    for (int i = 0; i < g->nrows; i++) {
        int n = row_cells(set, g, &g->rows[i], s->cells);
        int ne = over_epochs(s->cells, n, f, 0, s->x, s->m, s->lo, s->hi, s->cap);
        if (!ne) continue;
        actlab_plot_style st = act_style(g->rows[i].act_index);
        if (band && n > 1) actlab_plot_add_band(p, panel, s->x, s->lo, s->hi, ne, &st);
        actlab_plot_add_series(p, panel, g->rows[i].act, s->x, s->m, ne, &st);
        if (ne == 1) actlab_plot_add_marker(p, panel, g->rows[i].act, s->x[0], s->m[0], ACTLAB_PLOT_DOT);
        drawn++;
    }
    if (!drawn) { actlab_plot_free(p); return 0; }
    return emit(b, p, caption, err, errlen);
}

/* A per-layer plot (last epoch): dots joined by lines, one per activation. */
static int layer_plot(rp_buf *b, const rp_set *set, const rp_group *g, scratch *s, const char *id, const char *title,
                      const char *ylabel, epoch_field f, const char *caption, char *err, size_t errlen) {
    int nlayers = 0;
    for (int i = 0; i < g->nrows; i++) {
        int n = rp_cells_of(set, g->data, g->model, g->rows[i].act, s->cells, MAX_CELLS);
        for (int k = 0; k < n; k++)
            if (s->cells[k]->nlayers > nlayers) nlayers = s->cells[k]->nlayers;
    }
    actlab_plot *p = actlab_plot_new(width_for(nlayers), 340, title);
    if (!p) return -1;
    actlab_plot_set_id(p, id);
    actlab_plot_set_xlabel(p, "activation layer (1 = nearest the input)");
    int panel = actlab_plot_add_panel(p, NULL, ylabel), drawn = 0, nlmax = 0;
    for (int i = 0; i < g->nrows; i++) {
        int n = row_cells(set, g, &g->rows[i], s->cells);
        int nl = over_layers(s->cells, n, f, s->x, s->m, s->cap);
        if (!nl) continue;
        actlab_plot_style st = act_style(g->rows[i].act_index);
        /* Parameters differ between functions (PReLU's a, Swish's beta): name them in the legend. */
        char label[600];
        const char *pname = f == f_param && n ? s->cells[0]->param_name : NULL;
        snprintf(label, sizeof label, "%s%s%s", g->rows[i].act, pname ? ": " : "", pname ? pname : "");
        actlab_plot_add_series(p, panel, label, s->x, s->m, nl, &st);
        /* A lone point needs a dot to be seen; on lines, dots of equal values pile up into rings. */
        if (nl == 1) actlab_plot_add_marker(p, panel, label, s->x[0], s->m[0], ACTLAB_PLOT_DOT);
        if (nl > nlmax) nlmax = nl;
        drawn++;
    }
    if (!drawn) { actlab_plot_free(p); return 0; }
    actlab_plot_set_xrange(p, 0.5, nlmax + 0.5);
    return emit(b, p, caption, err, errlen);
}

/* "1 = conv1 (relu), 2 = ..." from the first cell with probe names. */
static void layer_legend(const rp_set *set, const rp_group *g, scratch *s, char *buf, size_t len) {
    buf[0] = 0;
    for (int i = 0; i < g->nrows; i++) {
        int n = row_cells(set, g, &g->rows[i], s->cells);
        for (int k = 0; k < n; k++) {
            const rp_cell *c = s->cells[k];
            if (!c->nlayers) continue;
            size_t at = (size_t)snprintf(buf, len, "Layers: ");
            for (int l = 0; l < c->nlayers && at + 40 < len; l++)
                at += (size_t)snprintf(buf + at, len - at, "%s%d = %s", l ? ", " : "", l + 1, c->layer[l]);
            snprintf(buf + at, len > at ? len - at : 0, ".");
            return;
        }
    }
}

static int mean_act_plot(rp_buf *b, const rp_set *set, const rp_group *g, scratch *s, int gi, char *err,
                         size_t errlen) {
    int nl = 0;
    for (int i = 0; i < g->nrows; i++) {
        int n = row_cells(set, g, &g->rows[i], s->cells);
        for (int k = 0; k < n; k++)
            if (s->cells[k]->nlayers > nl) nl = s->cells[k]->nlayers;
    }
    if (!nl) return 0;
    /* Up to MAX_LAYER_PANELS layers, spread from the first to the last. */
    int shown = nl < MAX_LAYER_PANELS ? nl : MAX_LAYER_PANELS;
    actlab_plot *p = actlab_plot_new(width_for(max_epochs(set, g, s->cells) - 1), 150 + 170 * shown,
                                     "Mean activation per layer over epochs");
    if (!p) return -1;
    char id[64], t[96];
    snprintf(id, sizeof id, "g%d-meanact", gi);
    actlab_plot_set_id(p, id);
    actlab_plot_set_xlabel(p, "epoch");
    int drawn = 0;
    for (int k = 0; k < shown; k++) {
        int l = shown == 1 ? 0 : (int)lround((double)k * (nl - 1) / (shown - 1));
        snprintf(t, sizeof t, "layer %d", l + 1);
        int panel = actlab_plot_add_panel(p, t, "mean output");
        for (int i = 0; i < g->nrows; i++) {
            int n = row_cells(set, g, &g->rows[i], s->cells);
            int ne = over_epochs(s->cells, n, f_mean, l, s->x, s->m, s->lo, s->hi, s->cap);
            if (!ne) continue;
            actlab_plot_style st = act_style(g->rows[i].act_index);
            actlab_plot_add_series(p, panel, g->rows[i].act, s->x, s->m, ne, &st);
            drawn++;
        }
    }
    if (!drawn) { actlab_plot_free(p); return 0; }
    char cap[2048], layers[1800];
    layer_legend(set, g, s, layers, sizeof layers);
    snprintf(cap, sizeof cap,
             "Mean output of the activation layers on the probe images, per epoch, mean over seeds (the ELU paper's "
             "mean-activation curves: closer to 0 is what ELU-like functions aim for)%s. %s",
             nl > shown ? "; an evenly spaced selection of the layers" : "", layers);
    return emit(b, p, cap, err, errlen);
}

static int time_plot(rp_buf *b, const rp_set *set, const rp_group *g, scratch *s, int gi, char *err, size_t errlen) {
    int share = 0, secs = 0;
    for (int i = 0; i < g->nrows; i++) share |= isfinite(g->rows[i].act_share), secs |= isfinite(g->rows[i].epoch_s);
    if (!secs) return 0;
    actlab_plot *p = actlab_plot_new(width_for(max_epochs(set, g, s->cells) - 1), share ? 560 : 360, "Time per epoch");
    if (!p) return -1;
    char id[64];
    snprintf(id, sizeof id, "g%d-time", gi);
    actlab_plot_set_id(p, id);
    actlab_plot_set_xlabel(p, "epoch");
    int top = actlab_plot_add_panel(p, "wall time of the epoch", "seconds");
    int bottom = share ? actlab_plot_add_panel(p, "activation layers' share of a training step", "share (%)") : -1;
    for (int i = 0; i < g->nrows; i++) {
        int n = row_cells(set, g, &g->rows[i], s->cells);
        actlab_plot_style st = act_style(g->rows[i].act_index);
        int ne = over_epochs(s->cells, n, f_seconds, 0, s->x, s->m, s->lo, s->hi, s->cap);
        if (ne) actlab_plot_add_series(p, top, g->rows[i].act, s->x, s->m, ne, &st);
        if (ne == 1) actlab_plot_add_marker(p, top, g->rows[i].act, s->x[0], s->m[0], ACTLAB_PLOT_DOT);
        if (bottom < 0) continue;
        ne = over_epochs(s->cells, n, f_share, 0, s->x, s->m, s->lo, s->hi, s->cap);
        if (ne) actlab_plot_add_series(p, bottom, g->rows[i].act, s->x, s->m, ne, &st);
    }
    return emit(b, p,
                share ? "Seconds per epoch (mean over seeds) and the share of a training step spent in the activation "
                        "layers, forward and backward: what a faster activation can save at most."
                      : "Seconds per epoch, mean over seeds (the runs did not time the layers).",
                err, errlen);
}

int rp_group_plots(rp_buf *b, const rp_set *set, const rp_group *g, int gi, char *err, size_t errlen) {
    scratch s = {0};
    s.cap = 100000;
    s.cells = malloc(sizeof *s.cells * MAX_CELLS);
    s.x = malloc(sizeof(double) * (size_t)s.cap);
    s.m = malloc(sizeof(double) * (size_t)s.cap);
    s.lo = malloc(sizeof(double) * (size_t)s.cap);
    s.hi = malloc(sizeof(double) * (size_t)s.cap);
    int rc = -1;
    char id[64], cap[2048], layers[1800];
    if (!s.cells || !s.x || !s.m || !s.lo || !s.hi) goto out;
    snprintf(id, sizeof id, "g%d-acc", gi);
    if (epoch_plot(b, set, g, &s, id, "Test accuracy per epoch", "test accuracy (%)", f_test_acc, 1,
                   "Test accuracy after each epoch: the line is the mean over seeds; the shaded band of the same "
                   "colour spans the lowest to the highest seed.", err, errlen))
        goto out;
    snprintf(id, sizeof id, "g%d-loss", gi);
    if (epoch_plot(b, set, g, &s, id, "Training loss per epoch", "training loss (cross-entropy)", f_train_loss, 1,
                   "Mean training loss of each epoch: mean over seeds, the shaded band from the lowest to the highest seed.", err,
                   errlen))
        goto out;
    layer_legend(set, g, &s, layers, sizeof layers);
    snprintf(id, sizeof id, "g%d-dead", gi);
    snprintf(cap, sizeof cap,
             "Share of dead units per activation layer in the last epoch (a unit is dead when its derivative is 0 "
             "on every probe image), mean over seeds. %s", layers);
    if (layer_plot(b, set, g, &s, id, "Dead units per layer (last epoch)", "dead units (%)", f_dead, cap, err, errlen))
        goto out;
    if (mean_act_plot(b, set, g, &s, gi, err, errlen)) goto out;
    snprintf(id, sizeof id, "g%d-param", gi);
    snprintf(cap, sizeof cap,
             "Learned activation parameter per layer after the last epoch (the mean over channels when "
             "per channel), mean over seeds; He et al. report a large first-layer PReLU slope that shrinks with "
             "depth. %s", layers);
    if (layer_plot(b, set, g, &s, id, "Learned activation parameters per layer (last epoch)", "parameter value",
                   f_param, cap, err, errlen))
        goto out;
    if (time_plot(b, set, g, &s, gi, err, errlen)) goto out;
    rc = 0;
out:
    if (rc && !err[0]) snprintf(err, errlen, "out of memory drawing the plots");
    free(s.cells); free(s.x); free(s.m); free(s.lo); free(s.hi);
    return rc;
}

/* Samples of f or f' on [lo, hi] with each kink inserted: a point where the curve is continuous, else the
 * two one-sided limits around a NaN that breaks the line (no vertical strokes at jumps). */
static int sample_fn(const actlab_act_cfg *cfg, int deriv, double lo, double hi, int n, double *x, double *y) {
    double kinks[ACTLAB_ACT_MAX_KINKS];
    int nk = actlab_act_kinks(cfg, kinks), m = 0, kj = 0;
    if (nk > ACTLAB_ACT_MAX_KINKS) nk = ACTLAB_ACT_MAX_KINKS;
    for (int i = 1; i < nk; i++)
        for (int k = i; k > 0 && kinks[k - 1] > kinks[k]; k--) { double t = kinks[k]; kinks[k] = kinks[k - 1]; kinks[k - 1] = t; }
    for (int i = 0; i < n; i++) {
        double v = lo + (hi - lo) * i / (n - 1);
        while (kj < nk && kinks[kj] <= v) {
            double k = kinks[kj++], h = 1e-9 * fmax(1, fabs(k));
            if (!(k >= lo && k <= hi)) continue;
            double l = deriv ? actlab_act_ref_df(cfg, k - h) : actlab_act_ref_f(cfg, k - h);
            double r = deriv ? actlab_act_ref_df(cfg, k + h) : actlab_act_ref_f(cfg, k + h);
            int jump = fabs(l - r) > 1e-6 * fmax(1, fmax(fabs(l), fabs(r)));
            x[m] = k - h, y[m++] = l;
            if (jump) x[m] = k, y[m++] = NAN;
            x[m] = k + h, y[m++] = r;
        }
        /* A grid point on a kink would undo the break with the value at the kink. */
        if (kj > 0 && fabs(v - kinks[kj - 1]) <= 2e-9 * fmax(1, fabs(kinks[kj - 1]))) continue;
        x[m] = v;
        y[m++] = deriv ? actlab_act_ref_df(cfg, v) : actlab_act_ref_f(cfg, v);
    }
    return m;
}

int rp_function_plot(rp_buf *b, const rp_set *set, char *err, size_t errlen) {
    enum { N = 801 };
    double x[N + 3 * ACTLAB_ACT_MAX_KINKS], y[N + 3 * ACTLAB_ACT_MAX_KINKS];
    actlab_plot *p = actlab_plot_new(PLOT_W, 640, "The activation functions and their derivatives");
    if (!p) return -1;
    actlab_plot_set_id(p, "functions");
    actlab_plot_set_xlabel(p, "x (input of the activation)");
    actlab_plot_set_xrange(p, -4, 4);
    int top = actlab_plot_add_panel(p, "f(x)", "f(x)"), bottom = actlab_plot_add_panel(p, "f'(x)", "f'(x)");
    actlab_plot_set_ylimit(p, top, 40);
    actlab_plot_set_ylimit(p, bottom, 10);
    int drawn = 0;
    rp_buf skipped = {0};
    for (int a = 0; a < set->nacts; a++) {
        actlab_act_cfg cfg;
        char e[256];
        if (actlab_act_parse(set->acts[a], &cfg, e, sizeof e)) {
            rp_printf(&skipped, "%s%s", skipped.len ? ", " : "", set->acts[a]);
            continue;
        }
        actlab_plot_style st = act_style(a);
        int m = sample_fn(&cfg, 0, -4, 4, N, x, y);
        actlab_plot_add_series(p, top, set->acts[a], x, y, m, &st);
        m = sample_fn(&cfg, 1, -4, 4, N, x, y);
        actlab_plot_add_series(p, bottom, set->acts[a], x, y, m, &st);
        drawn++;
    }
    int rc = 0;
    if (drawn) {
        char cap[1024];
        snprintf(cap, sizeof cap,
                 "Each function f (top) and its derivative f' (bottom) on [-4, 4] at its compared setting, from the "
                 "double-precision reference; lines break where f' jumps.%s%s%s",
                 skipped.len ? " Not drawn (user formulas without their definitions): " : "",
                 skipped.len && skipped.s ? skipped.s : "", skipped.len ? "." : "");
        rc = emit(b, p, cap, err, errlen);
    } else actlab_plot_free(p);
    free(skipped.s);
    return rc;
}
