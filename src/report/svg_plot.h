/*
 * svg_plot.h — a small line-plot writer producing one self-contained SVG.
 *
 * It knows nothing about activation functions: a plot is one or more panels
 * stacked vertically that share the x axis, each holding labelled series
 * (polylines) and point markers. The output is a malloc'd string of valid XML
 * that can be written to a .svg file or inlined into an HTML report.
 *
 *     actlab_plot *p = actlab_plot_new(800, 500, "Training loss");
 *     actlab_plot_set_xlabel(p, "epoch");
 *     int top = actlab_plot_add_panel(p, NULL, "loss");
 *     actlab_plot_add_series(p, top, "relu", epochs, loss, n, NULL);
 *     char err[256];
 *     char *svg = actlab_plot_svg(p, err, sizeof err);   // NULL on error
 *     ...
 *     free(svg);
 *     actlab_plot_free(p);
 *
 * Conventions:
 *  - Colours come from a 10-colour palette (Tableau 10). Unless a series asks
 *    for a colour, its colour is chosen by its label, so the same label has
 *    the same colour in every panel (and markers given that label match it).
 *  - Non-finite points (NaN, +-inf) break a line: the path starts a new
 *    segment after them. Nothing non-finite is ever printed.
 *  - Each panel's y range is, unless fixed by the caller, the range of its
 *    finite data inside the x range, ignoring |y| above a limit (default
 *    1e6), plus a 5% margin. Lines leaving the range are clipped.
 *  - Errors are sticky: a failing call returns -1 and records a message;
 *    actlab_plot_svg then fails with that message. The writer never exits.
 */
#ifndef ACTLAB_SVG_PLOT_H
#define ACTLAB_SVG_PLOT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct actlab_plot actlab_plot;

/* Marker shapes. Hollow shapes are drawn before filled ones, so a filled dot
 * at the same place as a ring stays visible. */
typedef enum actlab_plot_shape {
    ACTLAB_PLOT_DOT = 0,    /* filled circle */
    ACTLAB_PLOT_RING = 1,   /* hollow circle (white inside): "this point is excluded" */
    ACTLAB_PLOT_SQUARE = 2, /* filled square */
} actlab_plot_shape;

typedef struct actlab_plot_style {
    int color;        /* palette index (wraps around), or -1: chosen by label */
    const char *rgb;  /* explicit colour such as "#336699"; overrides color; NULL: palette */
    int dashed;       /* 1: dashed line */
    double width;     /* stroke width in px; <= 0: the default (1.8) */
} actlab_plot_style;

#define ACTLAB_PLOT_STYLE_DEFAULT {-1, NULL, 0, 0.0}
#define ACTLAB_PLOT_PALETTE_SIZE 10

/* A new, empty plot of width x height px (legend below the plot, if it does
 * not fit on the right, adds to the height). title may be NULL. NULL if out
 * of memory or the size is unreasonable (below 120 x 80 or above 20000). */
actlab_plot *actlab_plot_new(int width, int height, const char *title);
void actlab_plot_free(actlab_plot *p);

/* Label of the shared x axis (drawn under the bottom panel). */
int actlab_plot_set_xlabel(actlab_plot *p, const char *xlabel);
/* Prefix for the ids inside the SVG (clip paths). Give each plot inlined in
 * one HTML page its own; the default is derived from the plot's contents. */
int actlab_plot_set_id(actlab_plot *p, const char *id);
/* Fix the x range (default: the range of all series' finite x values). */
int actlab_plot_set_xrange(actlab_plot *p, double lo, double hi);

/* Add a panel below the existing ones; returns its index (0 for the first)
 * or -1. title and ylabel may be NULL. */
int actlab_plot_add_panel(actlab_plot *p, const char *title, const char *ylabel);
/* Fix a panel's y range instead of choosing it from the data. */
int actlab_plot_set_yrange(actlab_plot *p, int panel, double lo, double hi);
/* The automatic y range ignores values with |y| > limit (default 1e6). */
int actlab_plot_set_ylimit(actlab_plot *p, int panel, double limit);

/* Add a line through the n points (x[i], y[i]) (the data are copied).
 * label may be NULL (no legend entry); style may be NULL (defaults). */
int actlab_plot_add_series(actlab_plot *p, int panel, const char *label, const double *x,
                           const double *y, int n, const actlab_plot_style *style);
/* Add a marker at (x, y) in the colour of the series labelled `label` (or
 * the colour that label will get). Markers with non-finite coordinates or
 * outside the x range are skipped when drawing. */
/* A filled band between lo[i] and hi[i] (the spread over seeds around a mean line, say),
 * in the style's colour at low opacity, drawn under every line; no legend entry. */
int actlab_plot_add_band(actlab_plot *p, int panel, const double *x, const double *lo, const double *hi, int n,
                         const actlab_plot_style *style);
int actlab_plot_add_marker(actlab_plot *p, int panel, const char *label, double x, double y,
                           actlab_plot_shape shape);
/* A legend entry explaining a marker shape (drawn in grey), e.g. "value at a kink". */
int actlab_plot_add_legend_marker(actlab_plot *p, actlab_plot_shape shape, const char *text);

/* The first error recorded, or NULL. */
const char *actlab_plot_error(const actlab_plot *p);

/* Render to a malloc'd, NUL-terminated SVG document (caller frees), or NULL
 * with a message in err. */
char *actlab_plot_svg(const actlab_plot *p, char *err, size_t errlen);

/* ---- pieces exposed for reuse and tests ---- */

/* "Nice" ticks covering [lo, hi]: the step is 1, 2 or 5 x 10^k, chosen so
 * that there are about `target` intervals; ticks are the multiples of the step
 * inside [lo, hi]. Writes at most max ticks to out, stores the step (may be
 * NULL) and returns the count, or 0 if the range is empty or not finite. */
int actlab_plot_ticks(double lo, double hi, int target, double *out, int max, double *step);
/* Format a tick value compactly: plain decimals when the step is between
 * 1e-4 and 1e4 ("0.25", "-4", "1500", "1" not "1.0"), otherwise
 * the shortest %g that identifies it ("1e6", "2.5e-5"); "0", never "-0" or
 * 1e-17. */
void actlab_plot_format_tick(char *buf, size_t len, double v, double step);
/* Palette colour i (wraps around), "#rrggbb". */
const char *actlab_plot_palette(int i);

#ifdef __cplusplus
}
#endif
#endif
