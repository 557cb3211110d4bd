/*
 * svg_plot.c — the line-plot writer declared in svg_plot.h.
 *
 * Rendering is one pass over a fixed layout: ranges first (they decide the
 * tick labels), then margins from the widest tick label and the legend, then
 * the SVG text. Lines are clipped in data coordinates before anything is
 * printed, so exploding data never puts huge or non-finite numbers into the
 * file; the clipPath then trims what remains to the panel exactly.
 */
#include "svg_plot.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_LIMIT 1e6
#define DEFAULT_WIDTH 1.8
#define MARGIN_FRAC 0.05
/* Rough advance width of an average character, in em, for layout only. */
#define CHAR_EM 0.6
#define FONT_TICK 11.0
#define FONT_LABEL 13.0
#define FONT_TITLE 16.0
#define FONT_LEGEND 12.0
#define LEGEND_ROW 18.0

typedef struct panel {
    char *title, *ylabel;
    int yfixed;
    double ylo, yhi;
    double limit;
} plot_panel;

typedef struct series {
    int panel;
    char *label;
    double *x, *y;
    double *y2; /* a band: filled between y and y2 (no stroke, no legend); NULL for a line */
    int n;
    int color;  /* resolved palette index, or -1 when rgb is set */
    char *rgb;
    int dashed;
    double width;
} series;

typedef struct marker {
    int panel;
    int color;  /* used when there is no label */
    char *label;
    double x, y;
    actlab_plot_shape shape;
} marker;

typedef struct legend_marker {
    actlab_plot_shape shape;
    char *text;
} legend_marker;

/* Label -> colour, so a label looks the same in every panel. */
typedef struct colour_entry {
    char *label;
    int color;
    char *rgb;
    int from_series; /* 0: assigned for a marker only; the first series may override it */
} colour_entry;

struct actlab_plot {
    int width, height;
    char *title, *xlabel, *id;
    int xfixed;
    double xlo, xhi;
    plot_panel *panels;
    int npanels, panels_cap;
    series *series;
    int nseries, series_cap;
    marker *markers;
    int nmarkers, markers_cap;
    legend_marker *lmarkers;
    int nlmarkers, lmarkers_cap;
    colour_entry *colours;
    int ncolours, colours_cap;
    int next_auto;
    char err[256];
};

static const char *const palette[ACTLAB_PLOT_PALETTE_SIZE] = {
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
};

const char *actlab_plot_palette(int i) {
    int k = i % ACTLAB_PLOT_PALETTE_SIZE;
    return palette[k < 0 ? k + ACTLAB_PLOT_PALETTE_SIZE : k];
}

/* ---- small utilities ---- */

static int fail(actlab_plot *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(actlab_plot *p, const char *fmt, ...) {
    if (p && !p->err[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err, sizeof p->err, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static char *dup_or_null(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* Make room for one more element of size `elem` in *arr. */
static int grow(void **arr, int *cap, int n, size_t elem) {
    if (n < *cap) return 0;
    int ncap = *cap ? *cap * 2 : 8;
    void *a = realloc(*arr, (size_t)ncap * elem);
    if (!a) return -1;
    *arr = a;
    *cap = ncap;
    return 0;
}

/* Number of characters (UTF-8 code points) in s, for width estimates. */
static size_t text_chars(const char *s) {
    size_t n = 0;
    for (; s && *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) n++;
    return n;
}

static double text_width(const char *s, double font) { return (double)text_chars(s) * font * CHAR_EM; }

/* ---- output buffer ---- */

typedef struct sbuf {
    char *s;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_reserve(sbuf *b, size_t extra) {
    if (b->oom || b->len + extra + 1 <= b->cap) return;
    size_t ncap = b->cap ? b->cap : 4096;
    while (ncap < b->len + extra + 1) ncap *= 2;
    char *s = realloc(b->s, ncap);
    if (!s) { b->oom = 1; return; }
    b->s = s;
    b->cap = ncap;
}

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) { b->oom = 1; return; }
    sb_reserve(b, (size_t)n);
    if (b->oom) return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void sb_putc(sbuf *b, char c) {
    sb_reserve(b, 1);
    if (b->oom) return;
    b->s[b->len++] = c;
    b->s[b->len] = 0;
}

/* Length of the valid UTF-8 sequence starting at s, or 0 if invalid. */
static int utf8_len(const unsigned char *s) {
    int n;
    unsigned min;
    unsigned cp;
    if (s[0] < 0x80) return 1;
    if ((s[0] & 0xE0) == 0xC0) { n = 2; cp = s[0] & 0x1Fu; min = 0x80; }
    else if ((s[0] & 0xF0) == 0xE0) { n = 3; cp = s[0] & 0x0Fu; min = 0x800; }
    else if ((s[0] & 0xF8) == 0xF0) { n = 4; cp = s[0] & 0x07u; min = 0x10000; }
    else return 0;
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF) return 0;
    return n;
}

/* Append text escaped for XML character data and attribute values. At most
 * max_chars characters are written (longer text ends in "..."); bytes XML
 * cannot hold (control characters, broken UTF-8) become '?'. */
static void sb_text(sbuf *b, const char *text, size_t max_chars) {
    if (!text) return;
    size_t total = text_chars(text), written = 0;
    int cut = total > max_chars && max_chars >= 4;
    size_t keep = cut ? max_chars - 3 : total;
    const unsigned char *s = (const unsigned char *)text;
    while (*s && written < keep) {
        switch (*s) {
        case '&': sb_printf(b, "&amp;"); s++; break;
        case '<': sb_printf(b, "&lt;"); s++; break;
        case '>': sb_printf(b, "&gt;"); s++; break;
        case '"': sb_printf(b, "&quot;"); s++; break;
        case '\'': sb_printf(b, "&apos;"); s++; break;
        default:
            if (*s < 0x20 && *s != '\t') { sb_putc(b, '?'); s++; break; }
            int n = utf8_len(s);
            if (!n) { sb_putc(b, '?'); s++; break; }
            for (int i = 0; i < n; i++) sb_putc(b, (char)s[i]);
            s += n;
        }
        written++;
    }
    if (cut) sb_printf(b, "...");
}

/* A pixel coordinate: two decimals, no trailing zeros, never "-0". */
static void sb_num(sbuf *b, double v) {
    char tmp[48];
    if (!isfinite(v)) v = 0; /* callers clip first; this is only a safety net */
    snprintf(tmp, sizeof tmp, "%.2f", v);
    char *dot = strchr(tmp, '.');
    if (dot) {
        char *end = tmp + strlen(tmp) - 1;
        while (end > dot && *end == '0') *end-- = 0;
        if (end == dot) *end = 0;
    }
    sb_printf(b, "%s", strcmp(tmp, "-0") == 0 ? "0" : tmp);
}

/* ---- ticks ---- */

int actlab_plot_ticks(double lo, double hi, int target, double *out, int max, double *step) {
    if (!isfinite(lo) || !isfinite(hi) || !(hi > lo) || max <= 0) return 0;
    if (target < 1) target = 1;
    double raw = (hi - lo) / target;
    if (!isfinite(raw) || raw <= 0) return 0;
    double mag = pow(10, floor(log10(raw)));
    double st = 10 * mag;
    static const double mult[] = {1, 2, 5, 10};
    for (int i = 0; i < 4; i++)
        if (mult[i] * mag >= raw * (1 - 1e-9)) { st = mult[i] * mag; break; }
    if (step) *step = st;
    /* Integer multiples, so ticks do not accumulate rounding error. */
    double first = ceil(lo / st - 1e-9), last = floor(hi / st + 1e-9);
    int n = 0;
    for (double k = first; k <= last && n < max; k++) {
        double v = k * st;
        if (fabs(v) < st * 1e-9) v = 0;
        out[n++] = v;
    }
    return n;
}

void actlab_plot_format_tick(char *buf, size_t len, double v, double step) {
    if (!len) return;
    if (!isfinite(v)) { snprintf(buf, len, "?"); return; }
    if (step > 0 && fabs(v) < step * 1e-6) v = 0;
    char tmp[64];
    if (step >= 1e-4 && step < 1e4 && fabs(v) < 1e6) {
        /* Plain decimals, as many as the step needs (0.25 -> 2, 5 -> 0), so no 0.30000000000000004. */
        int decimals = 0;
        while (decimals < 8 && fabs(step * pow(10, decimals) - nearbyint(step * pow(10, decimals))) > 1e-6 * step * pow(10, decimals))
            decimals++;
        snprintf(tmp, sizeof tmp, "%.*f", decimals, v);
        /* Compact like %g: "1.0" -> "1", "0.50" -> "0.5". */
        if (strchr(tmp, '.')) {
            char *end = tmp + strlen(tmp) - 1;
            while (*end == '0') *end-- = 0;
            if (*end == '.') *end = 0;
        }
    } else {
        /* Shortest %g that reads back as this tick (to well within a step). */
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(tmp, sizeof tmp, "%.*g", prec, v);
            double back = strtod(tmp, NULL);
            double tol = step > 0 ? step * 1e-6 : fabs(v) * 1e-12;
            if (fabs(back - v) <= tol) break;
        }
        /* "1e+06" -> "1e6", "2.5e-05" -> "2.5e-5". */
        char *e = strchr(tmp, 'e');
        if (e) {
            char *src = e + 1, *dst = e + 1;
            if (*src == '+') src++;
            else if (*src == '-') *dst++ = *src++;
            while (*src == '0' && src[1]) src++;
            memmove(dst, src, strlen(src) + 1);
        }
    }
    snprintf(buf, len, "%s", strcmp(tmp, "-0") == 0 ? "0" : tmp);
}

/* ---- building a plot ---- */

actlab_plot *actlab_plot_new(int width, int height, const char *title) {
    if (width < 120 || height < 80 || width > 20000 || height > 20000) return NULL;
    actlab_plot *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->width = width;
    p->height = height;
    if (title && !(p->title = dup_or_null(title))) { free(p); return NULL; }
    return p;
}

void actlab_plot_free(actlab_plot *p) {
    if (!p) return;
    for (int i = 0; i < p->npanels; i++) { free(p->panels[i].title); free(p->panels[i].ylabel); }
    for (int i = 0; i < p->nseries; i++) {
        free(p->series[i].label); free(p->series[i].x); free(p->series[i].y); free(p->series[i].y2); free(p->series[i].rgb);
    }
    for (int i = 0; i < p->nmarkers; i++) free(p->markers[i].label);
    for (int i = 0; i < p->nlmarkers; i++) free(p->lmarkers[i].text);
    for (int i = 0; i < p->ncolours; i++) { free(p->colours[i].label); free(p->colours[i].rgb); }
    free(p->panels); free(p->series); free(p->markers); free(p->lmarkers); free(p->colours);
    free(p->title); free(p->xlabel); free(p->id);
    free(p);
}

const char *actlab_plot_error(const actlab_plot *p) { return p && p->err[0] ? p->err : NULL; }

static int set_string(actlab_plot *p, char **dst, const char *s) {
    char *d = dup_or_null(s);
    if (s && !d) return fail(p, "out of memory");
    free(*dst);
    *dst = d;
    return 0;
}

int actlab_plot_set_xlabel(actlab_plot *p, const char *xlabel) { return set_string(p, &p->xlabel, xlabel); }

int actlab_plot_set_id(actlab_plot *p, const char *id) {
    /* Ids end up in url(#...) references: keep them to safe characters. */
    for (const char *s = id; s && *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
            return fail(p, "plot id '%s' may only hold letters, digits, '-' and '_'", id);
    if (id && !((*id >= 'a' && *id <= 'z') || (*id >= 'A' && *id <= 'Z')))
        return fail(p, "plot id '%s' must start with a letter", id);
    return set_string(p, &p->id, id);
}

int actlab_plot_set_xrange(actlab_plot *p, double lo, double hi) {
    if (!isfinite(lo) || !isfinite(hi) || !(lo < hi)) return fail(p, "x range needs finite lo < hi, got [%g, %g]", lo, hi);
    p->xfixed = 1;
    p->xlo = lo;
    p->xhi = hi;
    return 0;
}

int actlab_plot_add_panel(actlab_plot *p, const char *title, const char *ylabel) {
    if (grow((void **)&p->panels, &p->panels_cap, p->npanels, sizeof *p->panels)) return fail(p, "out of memory");
    plot_panel *pn = &p->panels[p->npanels];
    memset(pn, 0, sizeof *pn);
    pn->limit = DEFAULT_LIMIT;
    pn->title = dup_or_null(title);
    pn->ylabel = dup_or_null(ylabel);
    if ((title && !pn->title) || (ylabel && !pn->ylabel)) {
        free(pn->title); free(pn->ylabel);
        return fail(p, "out of memory");
    }
    return p->npanels++;
}

static int check_panel(actlab_plot *p, int panel) {
    if (panel < 0 || panel >= p->npanels) return fail(p, "no panel %d (the plot has %d)", panel, p->npanels);
    return 0;
}

int actlab_plot_set_yrange(actlab_plot *p, int panel, double lo, double hi) {
    if (check_panel(p, panel)) return -1;
    if (!isfinite(lo) || !isfinite(hi) || !(lo < hi)) return fail(p, "y range needs finite lo < hi, got [%g, %g]", lo, hi);
    p->panels[panel].yfixed = 1;
    p->panels[panel].ylo = lo;
    p->panels[panel].yhi = hi;
    return 0;
}

int actlab_plot_set_ylimit(actlab_plot *p, int panel, double limit) {
    if (check_panel(p, panel)) return -1;
    if (!(limit > 0)) return fail(p, "y limit must be positive, got %g", limit);
    p->panels[panel].limit = limit;
    return 0;
}

/* The colour entry of a label, created if new. from_series: a series is
 * asking (its explicit style wins over an entry a marker created). */
static colour_entry *colour_of(actlab_plot *p, const char *label, int from_series, const actlab_plot_style *st) {
    int explicit_colour = st && (st->rgb || st->color >= 0);
    for (int i = 0; i < p->ncolours; i++) {
        colour_entry *c = &p->colours[i];
        if (strcmp(c->label, label) != 0) continue;
        if (from_series && !c->from_series) {
            c->from_series = 1;
            if (explicit_colour) {
                char *rgb = dup_or_null(st->rgb);
                if (st->rgb && !rgb) return NULL;
                free(c->rgb);
                c->rgb = rgb;
                c->color = st->color;
            }
        }
        return c;
    }
    if (grow((void **)&p->colours, &p->colours_cap, p->ncolours, sizeof *p->colours)) return NULL;
    colour_entry *c = &p->colours[p->ncolours];
    memset(c, 0, sizeof *c);
    if (!(c->label = dup_or_null(label))) return NULL;
    if (st && st->rgb && !(c->rgb = dup_or_null(st->rgb))) { free(c->label); return NULL; }
    c->color = explicit_colour ? st->color : p->next_auto++;
    c->from_series = from_series;
    p->ncolours++;
    return c;
}

static int check_rgb(actlab_plot *p, const char *rgb) {
    /* Explicit colours go into an attribute unescaped by design: allow what CSS colours use. */
    for (const char *s = rgb; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("#(),.% ", *s)))
            return fail(p, "bad colour '%s'", rgb);
    return 0;
}

int actlab_plot_add_series(actlab_plot *p, int panel, const char *label, const double *x,
                           const double *y, int n, const actlab_plot_style *style) {
    if (check_panel(p, panel)) return -1;
    if (n < 0 || (n > 0 && (!x || !y))) return fail(p, "series '%s': bad data (n = %d)", label ? label : "", n);
    if (style && style->rgb && check_rgb(p, style->rgb)) return -1;
    if (grow((void **)&p->series, &p->series_cap, p->nseries, sizeof *p->series)) return fail(p, "out of memory");
    series *s = &p->series[p->nseries];
    memset(s, 0, sizeof *s);
    s->panel = panel;
    s->n = n;
    s->dashed = style ? style->dashed : 0;
    s->width = style && style->width > 0 ? style->width : DEFAULT_WIDTH;
    size_t bytes = sizeof(double) * (size_t)(n ? n : 1);
    s->x = malloc(bytes);
    s->y = malloc(bytes);
    s->label = dup_or_null(label);
    if (!s->x || !s->y || (label && !s->label)) goto oom;
    if (n) {
        memcpy(s->x, x, sizeof(double) * (size_t)n);
        memcpy(s->y, y, sizeof(double) * (size_t)n);
    }
    if (label) {
        colour_entry *c = colour_of(p, label, 1, style);
        if (!c) goto oom;
        s->color = c->color;
        if (c->rgb && !(s->rgb = dup_or_null(c->rgb))) goto oom;
        /* A later series with the same label but its own explicit style keeps that style. */
        if (style && (style->rgb || style->color >= 0)) {
            free(s->rgb);
            s->rgb = dup_or_null(style->rgb);
            if (style->rgb && !s->rgb) goto oom;
            s->color = style->color;
        }
    } else if (style && (style->rgb || style->color >= 0)) {
        s->color = style->color;
        if (style->rgb && !(s->rgb = dup_or_null(style->rgb))) goto oom;
    } else {
        s->color = p->next_auto++;
    }
    p->nseries++;
    return 0;
oom:
    free(s->x); free(s->y); free(s->label); free(s->rgb);
    return fail(p, "out of memory");
}

int actlab_plot_add_band(actlab_plot *p, int panel, const double *x, const double *lo, const double *hi, int n,
                         const actlab_plot_style *style) {
    if (n > 0 && !hi) return fail(p, "band: bad data (n = %d)", n);
    if (actlab_plot_add_series(p, panel, NULL, x, lo, n, style)) return -1;
    series *s = &p->series[p->nseries - 1];
    s->y2 = malloc(sizeof(double) * (size_t)(n ? n : 1));
    if (!s->y2) return fail(p, "out of memory");
    if (n) memcpy(s->y2, hi, sizeof(double) * (size_t)n);
    return 0;
}

int actlab_plot_add_marker(actlab_plot *p, int panel, const char *label, double x, double y,
                           actlab_plot_shape shape) {
    if (check_panel(p, panel)) return -1;
    if (shape < ACTLAB_PLOT_DOT || shape > ACTLAB_PLOT_SQUARE) return fail(p, "bad marker shape %d", (int)shape);
    if (grow((void **)&p->markers, &p->markers_cap, p->nmarkers, sizeof *p->markers)) return fail(p, "out of memory");
    marker *m = &p->markers[p->nmarkers];
    memset(m, 0, sizeof *m);
    m->panel = panel;
    m->x = x;
    m->y = y;
    m->shape = shape;
    if (label) {
        if (!(m->label = dup_or_null(label)) || !colour_of(p, label, 0, NULL)) {
            free(m->label);
            return fail(p, "out of memory");
        }
    } else {
        m->color = 7; /* grey */
    }
    p->nmarkers++;
    return 0;
}

int actlab_plot_add_legend_marker(actlab_plot *p, actlab_plot_shape shape, const char *text) {
    if (shape < ACTLAB_PLOT_DOT || shape > ACTLAB_PLOT_SQUARE) return fail(p, "bad marker shape %d", (int)shape);
    if (!text) return fail(p, "legend marker without text");
    if (grow((void **)&p->lmarkers, &p->lmarkers_cap, p->nlmarkers, sizeof *p->lmarkers)) return fail(p, "out of memory");
    legend_marker *l = &p->lmarkers[p->nlmarkers];
    l->shape = shape;
    if (!(l->text = dup_or_null(text))) return fail(p, "out of memory");
    p->nlmarkers++;
    return 0;
}

/* ---- rendering ---- */

typedef struct layout {
    double left, pw;             /* plot area, shared by the panels */
    double top[64], ph;          /* per-panel top edge; common height */
    double ylo[64], yhi[64];
    double yticks[64][32];
    int nyticks[64];
    double ystep[64];
    double xticks[64], xstep;
    int nxticks;
    int legend_right;            /* 1: right of the plot; 0: below it */
    double legend_x, legend_y, legend_w, legend_h;
    double total_h;
    int nlegend;                 /* entries: unique series labels then legend markers */
} layout;

static const char *series_colour(const series *s) { return s->rgb ? s->rgb : actlab_plot_palette(s->color); }

/* A marker takes the colour of its label (whatever series set it). */
static const char *marker_colour(const actlab_plot *p, const marker *m) {
    if (m->label)
        for (int i = 0; i < p->ncolours; i++)
            if (strcmp(p->colours[i].label, m->label) == 0)
                return p->colours[i].rgb ? p->colours[i].rgb : actlab_plot_palette(p->colours[i].color);
    return actlab_plot_palette(m->color);
}

static int finite2(double x, double y) { return isfinite(x) && isfinite(y); }

static void pad_range(double *lo, double *hi) {
    if (*hi > *lo) return;
    double d = *lo == 0 ? 1 : fabs(*lo) * 0.5;
    *lo -= d;
    *hi += d;
}

static void x_range(const actlab_plot *p, double *lo, double *hi) {
    if (p->xfixed) { *lo = p->xlo; *hi = p->xhi; return; }
    double a = INFINITY, b = -INFINITY;
    for (int i = 0; i < p->nseries; i++)
        for (int k = 0; k < p->series[i].n; k++)
            if (isfinite(p->series[i].x[k])) { a = fmin(a, p->series[i].x[k]); b = fmax(b, p->series[i].x[k]); }
    if (a > b)
        for (int i = 0; i < p->nmarkers; i++)
            if (isfinite(p->markers[i].x)) { a = fmin(a, p->markers[i].x); b = fmax(b, p->markers[i].x); }
    if (a > b) { a = 0; b = 1; }
    pad_range(&a, &b);
    *lo = a;
    *hi = b;
}

static void y_range(const actlab_plot *p, int pi, double xlo, double xhi, double *lo, double *hi) {
    const plot_panel *pn = &p->panels[pi];
    if (pn->yfixed) { *lo = pn->ylo; *hi = pn->yhi; return; }
    double a = INFINITY, b = -INFINITY;
    for (int i = 0; i < p->nseries; i++) {
        const series *s = &p->series[i];
        if (s->panel != pi) continue;
        for (int k = 0; k < s->n; k++)
            for (int e = 0; e < (s->y2 ? 2 : 1); e++) {
                double x = s->x[k], y = e ? s->y2[k] : s->y[k];
                if (!finite2(x, y) || x < xlo || x > xhi || fabs(y) > pn->limit) continue;
                a = fmin(a, y);
                b = fmax(b, y);
            }
    }
    for (int i = 0; i < p->nmarkers; i++) {
        const marker *m = &p->markers[i];
        if (m->panel != pi || !finite2(m->x, m->y) || m->x < xlo || m->x > xhi || fabs(m->y) > pn->limit) continue;
        a = fmin(a, m->y);
        b = fmax(b, m->y);
    }
    if (a > b) { a = 0; b = 1; }
    pad_range(&a, &b);
    double m = (b - a) * MARGIN_FRAC;
    *lo = a - m;
    *hi = b + m;
}

/* Is series i the first one carrying its label (so it gets a legend entry)? */
static int first_with_label(const actlab_plot *p, int i) {
    if (!p->series[i].label) return 0;
    for (int k = 0; k < i; k++)
        if (p->series[k].label && strcmp(p->series[k].label, p->series[i].label) == 0) return 0;
    return 1;
}

#define LEGEND_SAMPLE 28.0 /* length of the line sample */
#define LEGEND_PAD 10.0
#define LEGEND_MAX_CHARS 60

static double legend_entry_width(const char *text) {
    size_t n = text_chars(text);
    if (n > LEGEND_MAX_CHARS) n = LEGEND_MAX_CHARS;
    return LEGEND_SAMPLE + 8 + (double)n * FONT_LEGEND * CHAR_EM;
}

/* The legend's entries in order; returns the count. texts may be NULL. */
static int legend_entries(const actlab_plot *p, const char **texts, int max) {
    int n = 0;
    for (int i = 0; i < p->nseries; i++)
        if (first_with_label(p, i)) { if (texts && n < max) texts[n] = p->series[i].label; n++; }
    for (int i = 0; i < p->nlmarkers; i++) { if (texts && n < max) texts[n] = p->lmarkers[i].text; n++; }
    return n;
}

static int compute_layout(const actlab_plot *p, layout *L, char *err, size_t errlen) {
    const double W = p->width, H = p->height;
    int np = p->npanels;
    memset(L, 0, sizeof *L);
    double xlo, xhi;
    x_range(p, &xlo, &xhi);

    /* Legend: on the right if it takes at most a third of the width, else below... */
    int ne = legend_entries(p, NULL, 0);
    const char **texts = ne ? malloc(sizeof(char *) * (size_t)ne) : NULL;
    if (ne && !texts) { snprintf(err, errlen, "out of memory"); return -1; }
    legend_entries(p, texts, ne);
    double widest = 0;
    for (int i = 0; i < ne; i++) widest = fmax(widest, legend_entry_width(texts[i]));
    L->nlegend = ne;
    L->legend_w = ne ? widest + 2 * LEGEND_PAD : 0;
    /* ... and only if it is not taller than the picture. */
    L->legend_right = ne && L->legend_w + 16 <= W / 3 && ne * LEGEND_ROW + 2 * LEGEND_PAD + 50 <= H;
    double right = L->legend_right ? L->legend_w + 24 : 20;

    /* Vertical layout. */
    int titled = 0, ylabels = 0;
    for (int i = 0; i < np; i++) {
        titled |= p->panels[i].title != NULL;
        ylabels |= p->panels[i].ylabel != NULL;
    }
    double top = p->title ? 40 : 14;
    double head = titled ? 22 : 0;      /* per-panel title above it */
    double gap = 14;
    double bottom = 8 + FONT_TICK + 6 + (p->xlabel ? 22 : 0) + 6;
    L->ph = (H - top - bottom - np * head - (np - 1) * gap) / np;
    if (L->ph < 30) {
        free(texts);
        snprintf(err, errlen, "plot too small: %d x %d px for %d panels", p->width, p->height, np);
        return -1;
    }
    for (int i = 0; i < np; i++) L->top[i] = top + head + i * (L->ph + head + gap);

    /* Y ticks decide the left margin. */
    double widest_tick = 0;
    for (int i = 0; i < np; i++) {
        y_range(p, i, xlo, xhi, &L->ylo[i], &L->yhi[i]);
        int target = (int)(L->ph / 45);
        if (target < 2) target = 2;
        if (target > 12) target = 12; /* stays well inside the 32 slots per panel */
        L->nyticks[i] = actlab_plot_ticks(L->ylo[i], L->yhi[i], target, L->yticks[i], 32, &L->ystep[i]);
        for (int k = 0; k < L->nyticks[i]; k++) {
            char buf[64];
            actlab_plot_format_tick(buf, sizeof buf, L->yticks[i][k], L->ystep[i]);
            widest_tick = fmax(widest_tick, text_width(buf, FONT_TICK));
        }
    }
    L->left = 10 + (ylabels ? 22 : 0) + widest_tick + 8;
    L->pw = W - L->left - right;
    if (L->pw < 40) {
        free(texts);
        snprintf(err, errlen, "plot too narrow: %d px wide, legend and labels need most of it", p->width);
        return -1;
    }

    /* X ticks: fewer until the labels have room between them. */
    int xtarget = (int)(L->pw / 80) + 1;
    if (xtarget > 25) xtarget = 25; /* stays well inside the 64 slots */
    for (int target = xtarget; target >= 1; target--) {
        L->nxticks = actlab_plot_ticks(xlo, xhi, target, L->xticks, 64, &L->xstep);
        double w = 0;
        for (int k = 0; k < L->nxticks; k++) {
            char buf[64];
            actlab_plot_format_tick(buf, sizeof buf, L->xticks[k], L->xstep);
            w = fmax(w, text_width(buf, FONT_TICK));
        }
        if (L->nxticks < 2 || L->xstep / (xhi - xlo) * L->pw >= w + 14) break;
    }

    /* Legend position and size. */
    L->total_h = H;
    if (ne && L->legend_right) {
        L->legend_x = L->left + L->pw + 16;
        L->legend_y = L->top[0];
        L->legend_h = ne * LEGEND_ROW + 2 * LEGEND_PAD - 4;
    } else if (ne) {
        /* Entries flow left to right, wrapping at the plot width. */
        double avail = W - 2 * 12 - 2 * LEGEND_PAD, x = 0;
        int rows = 1;
        for (int i = 0; i < ne; i++) {
            /* The same rule as draw_legend, so the rows counted are the rows drawn. */
            double w = fmin(legend_entry_width(texts[i]), avail);
            if (x > 0 && x + w > avail) { rows++; x = 0; }
            x += w + 18;
        }
        L->legend_x = 12;
        L->legend_y = H;
        L->legend_w = W - 24;
        L->legend_h = rows * LEGEND_ROW + 2 * LEGEND_PAD - 4;
        L->total_h = H + L->legend_h + 10;
    }
    free(texts);
    return 0;
}

/* Liang–Barsky: clip the segment to the box [x0,x1] x [y0,y1] (in data
 * coordinates). Returns 0 if nothing is left; sets *moved0 / *moved1 when an
 * end point had to move. */
static int clip_segment(const double box[4], double *ax, double *ay, double *bx, double *by, int *moved0, int *moved1) {
    double dx = *bx - *ax, dy = *by - *ay;
    if (!isfinite(dx) || !isfinite(dy)) return 0;
    double t0 = 0, t1 = 1;
    double pq[4][2] = {{-dx, *ax - box[0]}, {dx, box[1] - *ax}, {-dy, *ay - box[2]}, {dy, box[3] - *ay}};
    for (int i = 0; i < 4; i++) {
        double pp = pq[i][0], q = pq[i][1];
        if (pp == 0) {
            if (q < 0) return 0;
            continue;
        }
        double r = q / pp;
        if (pp < 0) { if (r > t1) return 0; if (r > t0) t0 = r; }
        else { if (r < t0) return 0; if (r < t1) t1 = r; }
    }
    double x0 = *ax, y0 = *ay;
    *moved0 = t0 > 0;
    *moved1 = t1 < 1;
    if (*moved0) { *ax = x0 + t0 * dx; *ay = y0 + t0 * dy; }
    if (*moved1) { *bx = x0 + t1 * dx; *by = y0 + t1 * dy; }
    return 1;
}

typedef struct xform {
    double xlo, xhi, ylo, yhi;
    double left, top, w, h;
} xform;

static double px(const xform *t, double x) { return t->left + (x - t->xlo) / (t->xhi - t->xlo) * t->w; }
static double py(const xform *t, double y) { return t->top + (t->yhi - y) / (t->yhi - t->ylo) * t->h; }

/* A band: the upper edge forward, the lower edge back, filled at low opacity. Points
 * where either edge is not finite are left out; values are held within a little of the
 * panel (the group's clip path cuts the rest), so huge numbers never reach the file. */
static void band_path(sbuf *b, const series *s, const xform *t) {
    int first = 1;
    size_t mark = b->len;
    sb_printf(b, "<path d=\"");
    for (int pass = 0; pass < 2; pass++)
        for (int j = 0; j < s->n; j++) {
            int k = pass ? s->n - 1 - j : j;
            double x = s->x[k], y = pass ? s->y[k] : s->y2[k];
            if (!finite2(x, s->y[k]) || !isfinite(s->y2[k])) continue;
            double X = px(t, x), Y = py(t, y);
            X = fmin(fmax(X, t->left - 10), t->left + t->w + 10);
            Y = fmin(fmax(Y, t->top - 10), t->top + t->h + 10);
            sb_putc(b, first ? 'M' : 'L');
            sb_num(b, X); sb_putc(b, ' '); sb_num(b, Y);
            first = 0;
        }
    if (first) { b->len = mark; if (b->s) b->s[mark] = 0; return; }
    sb_printf(b, "Z\" fill=\"%s\" fill-opacity=\"0.18\" stroke=\"none\"/>\n", series_colour(s));
}

/* The path data of one series: segments broken at non-finite points and
 * where the line leaves the (slightly enlarged) visible box. */
static void series_path(sbuf *b, const series *s, const xform *t) {
    double mx = (t->xhi - t->xlo) * 0.5, my = (t->yhi - t->ylo) * 0.5;
    double box[4] = {t->xlo - mx, t->xhi + mx, t->ylo - my, t->yhi + my};
    int pen = 0;             /* the path's current point is the previous data point */
    long lastx = LONG_MIN, lasty = LONG_MIN;
    for (int i = 1; i < s->n; i++) {
        double ax = s->x[i - 1], ay = s->y[i - 1], bx = s->x[i], by = s->y[i];
        int m0 = 0, m1 = 0;
        if (!finite2(ax, ay) || !finite2(bx, by) || !clip_segment(box, &ax, &ay, &bx, &by, &m0, &m1)) {
            pen = 0;
            continue;
        }
        double X0 = px(t, ax), Y0 = py(t, ay), X1 = px(t, bx), Y1 = py(t, by);
        if (!pen || m0) {
            sb_putc(b, 'M');
            sb_num(b, X0); sb_putc(b, ' '); sb_num(b, Y0);
            lastx = lround(X0 * 100);
            lasty = lround(Y0 * 100);
        }
        /* Skip points that land on the same hundredth of a pixel as the last one. */
        long ix = lround(X1 * 100), iy = lround(Y1 * 100);
        if (ix != lastx || iy != lasty) {
            sb_putc(b, 'L');
            sb_num(b, X1); sb_putc(b, ' '); sb_num(b, Y1);
            lastx = ix;
            lasty = iy;
        }
        pen = !m1;
    }
}

/* grow: extra radius in px, so markers stacked on one spot stay distinguishable. */
static void draw_marker(sbuf *b, actlab_plot_shape shape, double x, double y, const char *colour, double grow_px) {
    switch (shape) {
    case ACTLAB_PLOT_RING:
        sb_printf(b, "<circle cx=\""); sb_num(b, x); sb_printf(b, "\" cy=\""); sb_num(b, y);
        sb_printf(b, "\" r=\""); sb_num(b, 4 + grow_px);
        sb_printf(b, "\" fill=\"white\" stroke=\"%s\" stroke-width=\"1.6\"/>\n", colour);
        break;
    case ACTLAB_PLOT_SQUARE:
        sb_printf(b, "<rect x=\""); sb_num(b, x - 3.5 - grow_px); sb_printf(b, "\" y=\""); sb_num(b, y - 3.5 - grow_px);
        sb_printf(b, "\" width=\""); sb_num(b, 7 + 2 * grow_px); sb_printf(b, "\" height=\""); sb_num(b, 7 + 2 * grow_px);
        sb_printf(b, "\" fill=\"%s\"/>\n", colour);
        break;
    default:
        sb_printf(b, "<circle cx=\""); sb_num(b, x); sb_printf(b, "\" cy=\""); sb_num(b, y);
        sb_printf(b, "\" r=\""); sb_num(b, 3.5 + grow_px); sb_printf(b, "\" fill=\"%s\"/>\n", colour);
    }
}

#define STACK_STEP 2.5      /* px added to the radius per marker already on the spot */
#define STACK_MAX_LEVEL 4      /* at most this many steps */
#define STACK_MAX_MARKERS 2000 /* above this, skip the quadratic overlap search */

/* A panel's markers. Hollow ones go first so a dot on a ring stays visible.
 * Markers of one shape on the same pixel in different colours (several
 * functions with a jump at the same point) become concentric, bigger ones
 * drawn first; repeats in the same colour are drawn once. Markers outside
 * the panel are left out rather than cut in half. */
static void draw_panel_markers(sbuf *b, const actlab_plot *p, int pi, const xform *t) {
    int n = 0;
    int *idx = malloc(sizeof(int) * (size_t)(p->nmarkers ? p->nmarkers : 1));
    int *stack = malloc(sizeof(int) * (size_t)(p->nmarkers ? p->nmarkers : 1));
    if (!idx || !stack) { free(idx); free(stack); b->oom = 1; return; }
    double ex = (t->xhi - t->xlo) * 1e-9, ey = (t->yhi - t->ylo) * 1e-9;
    for (int i = 0; i < p->nmarkers; i++) {
        const marker *m = &p->markers[i];
        if (m->panel != pi || !finite2(m->x, m->y)) continue;
        if (m->x < t->xlo - ex || m->x > t->xhi + ex || m->y < t->ylo - ey || m->y > t->yhi + ey) continue;
        idx[n++] = i;
    }
    int most = 0;
    for (int a = 0; a < n; a++) {
        const marker *m = &p->markers[idx[a]];
        stack[a] = 0;
        if (n > STACK_MAX_MARKERS) continue;
        for (int c = 0; c < a; c++) {
            const marker *o = &p->markers[idx[c]];
            if (stack[c] < 0 || o->shape != m->shape || fabs(px(t, o->x) - px(t, m->x)) > 0.5 ||
                fabs(py(t, o->y) - py(t, m->y)) > 0.5)
                continue;
            if (strcmp(marker_colour(p, o), marker_colour(p, m)) == 0) { stack[a] = -1; break; }
            stack[a]++;
        }
        /* Past a few rings the target would swamp the plot; the rest share the outer size. */
        if (stack[a] > STACK_MAX_LEVEL) stack[a] = STACK_MAX_LEVEL;
        if (stack[a] > most) most = stack[a];
    }
    for (int pass = 0; pass < 2; pass++)
        for (int level = most; level >= 0; level--)
            for (int a = 0; a < n; a++) {
                const marker *m = &p->markers[idx[a]];
                if ((m->shape == ACTLAB_PLOT_RING) != (pass == 0) || stack[a] != level) continue;
                draw_marker(b, m->shape, px(t, m->x), py(t, m->y), marker_colour(p, m), STACK_STEP * level);
            }
    free(idx);
    free(stack);
}

/* A stable default id, so plots inlined into one page get different clip ids. */
static unsigned long content_hash(const actlab_plot *p) {
    uint32_t h = 2166136261u;
#define MIX(byte) (h = (h ^ (uint8_t)(byte)) * 16777619u)
    for (const char *s = p->title; s && *s; s++) MIX(*s);
    for (int i = 0; i < p->nseries; i++) {
        for (const char *s = p->series[i].label; s && *s; s++) MIX(*s);
        for (int k = 0; k < 4; k++) MIX(p->series[i].n >> (8 * k));
        if (p->series[i].n) {
            unsigned char bytes[sizeof(double)];
            memcpy(bytes, &p->series[i].y[p->series[i].n / 2], sizeof bytes);
            for (size_t k = 0; k < sizeof bytes; k++) MIX(bytes[k]);
        }
    }
    MIX(p->npanels);
#undef MIX
    return h;
}

static void draw_legend(sbuf *b, const actlab_plot *p, const layout *L) {
    if (!L->nlegend) return;
    sb_printf(b, "<g class=\"legend\" font-size=\"%g\">\n", FONT_LEGEND);
    sb_printf(b, "<rect x=\""); sb_num(b, L->legend_x); sb_printf(b, "\" y=\""); sb_num(b, L->legend_y);
    sb_printf(b, "\" width=\""); sb_num(b, L->legend_w); sb_printf(b, "\" height=\""); sb_num(b, L->legend_h);
    sb_printf(b, "\" rx=\"3\" fill=\"white\" stroke=\"#cccccc\"/>\n");
    double x = L->legend_x + LEGEND_PAD, y = L->legend_y + LEGEND_PAD + LEGEND_ROW / 2 - 2;
    double avail = L->legend_w - 2 * LEGEND_PAD;
    int n = 0;
    for (int i = 0; i < p->nseries + p->nlmarkers; i++) {
        const char *text;
        const series *s = NULL;
        const legend_marker *lm = NULL;
        if (i < p->nseries) {
            if (!first_with_label(p, i)) continue;
            s = &p->series[i];
            text = s->label;
        } else {
            lm = &p->lmarkers[i - p->nseries];
            text = lm->text;
        }
        double w = fmin(legend_entry_width(text), avail);
        if (!L->legend_right && n > 0) {
            if (x - (L->legend_x + LEGEND_PAD) + w > avail) { x = L->legend_x + LEGEND_PAD; y += LEGEND_ROW; }
        } else if (L->legend_right && n > 0) {
            y += LEGEND_ROW;
        }
        if (s) {
            sb_printf(b, "<path d=\"M"); sb_num(b, x); sb_putc(b, ' '); sb_num(b, y);
            sb_printf(b, "h%g\" stroke=\"%s\" stroke-width=\"%g\" fill=\"none\"%s/>\n", LEGEND_SAMPLE,
                      series_colour(s), s->width,
                      s->dashed ? " stroke-dasharray=\"6 4\"" : "");
        } else {
            draw_marker(b, lm->shape, x + LEGEND_SAMPLE / 2, y, "#555555", 0);
        }
        /* Truncate to the room there is (below: the whole row; right: as sized). */
        size_t max_chars = (size_t)((avail - LEGEND_SAMPLE - 8) / (FONT_LEGEND * CHAR_EM));
        if (max_chars > LEGEND_MAX_CHARS) max_chars = LEGEND_MAX_CHARS;
        sb_printf(b, "<text x=\""); sb_num(b, x + LEGEND_SAMPLE + 8); sb_printf(b, "\" y=\""); sb_num(b, y + 4);
        sb_printf(b, "\">");
        sb_text(b, text, max_chars);
        sb_printf(b, "</text>\n");
        if (!L->legend_right) x += w + 18;
        n++;
    }
    sb_printf(b, "</g>\n");
}

char *actlab_plot_svg(const actlab_plot *p, char *err, size_t errlen) {
    char dummy[8];
    if (!err || !errlen) { err = dummy; errlen = sizeof dummy; }
    err[0] = 0;
    if (!p) { snprintf(err, errlen, "no plot"); return NULL; }
    if (p->err[0]) { snprintf(err, errlen, "%s", p->err); return NULL; }
    if (p->npanels < 1) { snprintf(err, errlen, "the plot has no panels"); return NULL; }
    if (p->npanels > 64) { snprintf(err, errlen, "too many panels (%d, at most 64)", p->npanels); return NULL; }

    layout *L = malloc(sizeof *L);
    if (!L) { snprintf(err, errlen, "out of memory"); return NULL; }
    if (compute_layout(p, L, err, errlen)) { free(L); return NULL; }
    double xlo, xhi;
    x_range(p, &xlo, &xhi);
    char id[64];
    if (p->id) snprintf(id, sizeof id, "%.60s", p->id);
    else snprintf(id, sizeof id, "actlab-plot-%08lx", content_hash(p));

    sbuf b = {0};
    const double W = p->width;
    sb_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    sb_printf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"", p->width);
    sb_num(&b, L->total_h);
    sb_printf(&b, "\" viewBox=\"0 0 %d ", p->width);
    sb_num(&b, L->total_h);
    sb_printf(&b, "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"%g\">\n", FONT_TICK);
    if (p->title) { sb_printf(&b, "<title>"); sb_text(&b, p->title, SIZE_MAX); sb_printf(&b, "</title>\n"); }
    sb_printf(&b, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n<defs>\n");
    for (int i = 0; i < p->npanels; i++) {
        sb_printf(&b, "<clipPath id=\"%s-clip%d\"><rect x=\"", id, i);
        sb_num(&b, L->left); sb_printf(&b, "\" y=\""); sb_num(&b, L->top[i]);
        sb_printf(&b, "\" width=\""); sb_num(&b, L->pw); sb_printf(&b, "\" height=\""); sb_num(&b, L->ph);
        sb_printf(&b, "\"/></clipPath>\n");
    }
    sb_printf(&b, "</defs>\n");
    if (p->title) {
        sb_printf(&b, "<text x=\""); sb_num(&b, L->left + L->pw / 2);
        sb_printf(&b, "\" y=\"26\" text-anchor=\"middle\" font-size=\"%g\" font-weight=\"bold\" fill=\"#222222\">", FONT_TITLE);
        sb_text(&b, p->title, (size_t)(W / (FONT_TITLE * CHAR_EM)));
        sb_printf(&b, "</text>\n");
    }

    for (int pi = 0; pi < p->npanels; pi++) {
        const plot_panel *pn = &p->panels[pi];
        xform t = {xlo, xhi, L->ylo[pi], L->yhi[pi], L->left, L->top[pi], L->pw, L->ph};
        double bottom = t.top + t.h, right = t.left + t.w;
        int last = pi == p->npanels - 1;
        sb_printf(&b, "<g class=\"panel\">\n");
        if (pn->title) {
            sb_printf(&b, "<text x=\""); sb_num(&b, t.left);
            sb_printf(&b, "\" y=\""); sb_num(&b, t.top - 7);
            sb_printf(&b, "\" font-size=\"%g\" font-weight=\"bold\" fill=\"#333333\">", FONT_LABEL);
            sb_text(&b, pn->title, (size_t)(t.w / (FONT_LABEL * CHAR_EM)));
            sb_printf(&b, "</text>\n");
        }
        /* Grid, then zero lines a little darker, then the frame. */
        sb_printf(&b, "<g stroke=\"#e6e6e6\" stroke-width=\"1\">\n");
        for (int k = 0; k < L->nxticks; k++) {
            double X = px(&t, L->xticks[k]);
            sb_printf(&b, "<path d=\"M"); sb_num(&b, X); sb_putc(&b, ' '); sb_num(&b, t.top);
            sb_printf(&b, "V"); sb_num(&b, bottom); sb_printf(&b, "\"/>\n");
        }
        for (int k = 0; k < L->nyticks[pi]; k++) {
            double Y = py(&t, L->yticks[pi][k]);
            sb_printf(&b, "<path d=\"M"); sb_num(&b, t.left); sb_putc(&b, ' '); sb_num(&b, Y);
            sb_printf(&b, "H"); sb_num(&b, right); sb_printf(&b, "\"/>\n");
        }
        sb_printf(&b, "</g>\n");
        if (t.ylo < 0 && t.yhi > 0) {
            sb_printf(&b, "<path d=\"M"); sb_num(&b, t.left); sb_putc(&b, ' '); sb_num(&b, py(&t, 0));
            sb_printf(&b, "H"); sb_num(&b, right); sb_printf(&b, "\" stroke=\"#aaaaaa\" stroke-width=\"1\"/>\n");
        }
        if (xlo < 0 && xhi > 0) {
            sb_printf(&b, "<path d=\"M"); sb_num(&b, px(&t, 0)); sb_putc(&b, ' '); sb_num(&b, t.top);
            sb_printf(&b, "V"); sb_num(&b, bottom); sb_printf(&b, "\" stroke=\"#aaaaaa\" stroke-width=\"1\"/>\n");
        }
        sb_printf(&b, "<rect x=\""); sb_num(&b, t.left); sb_printf(&b, "\" y=\""); sb_num(&b, t.top);
        sb_printf(&b, "\" width=\""); sb_num(&b, t.w); sb_printf(&b, "\" height=\""); sb_num(&b, t.h);
        sb_printf(&b, "\" fill=\"none\" stroke=\"#888888\" stroke-width=\"1\"/>\n");

        /* Y ticks and labels. */
        sb_printf(&b, "<g fill=\"#333333\" text-anchor=\"end\">\n");
        for (int k = 0; k < L->nyticks[pi]; k++) {
            char buf[64];
            double Y = py(&t, L->yticks[pi][k]);
            actlab_plot_format_tick(buf, sizeof buf, L->yticks[pi][k], L->ystep[pi]);
            sb_printf(&b, "<path d=\"M"); sb_num(&b, t.left - 4); sb_putc(&b, ' '); sb_num(&b, Y);
            sb_printf(&b, "h4\" stroke=\"#888888\"/>\n");
            sb_printf(&b, "<text x=\""); sb_num(&b, t.left - 7); sb_printf(&b, "\" y=\""); sb_num(&b, Y + 4);
            sb_printf(&b, "\">%s</text>\n", buf);
        }
        sb_printf(&b, "</g>\n");
        if (pn->ylabel) {
            double X = 10 + FONT_LABEL, Y = t.top + t.h / 2;
            sb_printf(&b, "<text x=\""); sb_num(&b, X); sb_printf(&b, "\" y=\""); sb_num(&b, Y);
            sb_printf(&b, "\" transform=\"rotate(-90 "); sb_num(&b, X); sb_putc(&b, ' '); sb_num(&b, Y);
            sb_printf(&b, ")\" text-anchor=\"middle\" font-size=\"%g\" fill=\"#222222\">", FONT_LABEL);
            sb_text(&b, pn->ylabel, (size_t)(t.h / (FONT_LABEL * CHAR_EM)));
            sb_printf(&b, "</text>\n");
        }
        /* X tick labels only under the bottom panel: the axis is shared. */
        if (last) {
            sb_printf(&b, "<g fill=\"#333333\" text-anchor=\"middle\">\n");
            for (int k = 0; k < L->nxticks; k++) {
                char buf[64];
                double X = px(&t, L->xticks[k]);
                actlab_plot_format_tick(buf, sizeof buf, L->xticks[k], L->xstep);
                sb_printf(&b, "<path d=\"M"); sb_num(&b, X); sb_putc(&b, ' '); sb_num(&b, bottom);
                sb_printf(&b, "v4\" stroke=\"#888888\"/>\n");
                sb_printf(&b, "<text x=\""); sb_num(&b, X); sb_printf(&b, "\" y=\""); sb_num(&b, bottom + 8 + FONT_TICK);
                sb_printf(&b, "\">%s</text>\n", buf);
            }
            sb_printf(&b, "</g>\n");
            if (p->xlabel) {
                sb_printf(&b, "<text x=\""); sb_num(&b, t.left + t.w / 2);
                sb_printf(&b, "\" y=\""); sb_num(&b, bottom + 8 + FONT_TICK + 8 + FONT_LABEL);
                sb_printf(&b, "\" text-anchor=\"middle\" font-size=\"%g\" fill=\"#222222\">", FONT_LABEL);
                sb_text(&b, p->xlabel, (size_t)(t.w / (FONT_LABEL * CHAR_EM)));
                sb_printf(&b, "</text>\n");
            }
        }

        /* Data, clipped to the panel. */
        sb_printf(&b, "<g clip-path=\"url(#%s-clip%d)\" fill=\"none\" stroke-linejoin=\"round\" stroke-linecap=\"round\">\n", id, pi);
        for (int i = 0; i < p->nseries; i++) /* bands first, under every line */
            if (p->series[i].panel == pi && p->series[i].y2) band_path(&b, &p->series[i], &t);
        for (int i = 0; i < p->nseries; i++) {
            const series *s = &p->series[i];
            if (s->panel != pi || s->y2) continue;
            size_t mark = b.len;
            sb_printf(&b, "<path d=\"");
            size_t data_start = b.len;
            series_path(&b, s, &t);
            if (b.oom) break;
            if (b.len == data_start) { b.len = mark; b.s[mark] = 0; continue; } /* nothing visible */
            sb_printf(&b, "\" stroke=\"%s\" stroke-width=\"%g\"%s>",
                      series_colour(s), s->width,
                      s->dashed ? " stroke-dasharray=\"6 4\"" : "");
            if (s->label) { sb_printf(&b, "<title>"); sb_text(&b, s->label, SIZE_MAX); sb_printf(&b, "</title>"); }
            sb_printf(&b, "</path>\n");
        }
        sb_printf(&b, "</g>\n");

        draw_panel_markers(&b, p, pi, &t);
        sb_printf(&b, "</g>\n");
    }
    draw_legend(&b, p, L);
    sb_printf(&b, "</svg>\n");
    free(L);
    if (b.oom) {
        free(b.s);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    return b.s;
}
