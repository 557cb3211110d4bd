/*
 * cmd_plot.c — `actlab plot NAME[:k=v]... [--range LO,HI] [-o FILE.svg] ...`:
 * f (top panel) and f' (bottom panel) of one or more activation functions in
 * one self-contained SVG, from the double-precision reference.
 *
 * Kinks (points where f or f' may jump) get the textbook treatment: where a
 * function jumps, the line is broken instead of drawn as a vertical stroke,
 * the one-sided limits are open rings and the value actually taken there
 * (the library's convention, e.g. relu'(0) = 0) is a filled dot.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "report/svg_plot.h"

#define MAX_FUNCS 64
#define DEFAULT_OUT "activations.svg"
#define DEFAULT_SAMPLES 801
#define MAX_SAMPLES 1000000

static void usage(void) {
    puts("usage: actlab plot NAME[:k=v,...]... [-o FILE.svg] [--range LO,HI] [--samples N]\n"
         "                   [--ylim LO,HI] [--dylim LO,HI] [--no-derivative] [--title TEXT]\n"
         "                   [--defs FILE]\n"
         "Draws f(x) (top) and f'(x) (bottom) of each function into one SVG file, from the\n"
         "double-precision reference. At kinks, open rings are one-sided limits and filled\n"
         "dots the value the function takes there.\n"
         "  -o, --output FILE  where to write (default " DEFAULT_OUT ")\n"
         "  --range LO,HI      x range (default -5,5)\n"
         "  --samples N        points per curve, 2.." "1000000 (default 801)\n"
         "  --ylim LO,HI       fix the y range of the f panel (default: from the data, ignoring\n"
         "                     |y| above 10 times the largest |x|, so that one exploding curve\n"
         "                     does not flatten the others)\n"
         "  --dylim LO,HI      the same for the f' panel\n"
         "  --no-derivative    only the f panel\n"
         "  --title TEXT       figure title (default \"Activation functions\")\n"
         "  --defs FILE        load user-defined functions first");
}

/* The value of "--flag VALUE" or "--flag=VALUE"; NULL if argv[*i] is not the flag.
 * *missing is set when the flag is there without a value. */
static const char *flag_value(int argc, char **argv, int *i, const char *flag, int *missing) {
    size_t n = strlen(flag);
    if (strncmp(argv[*i], flag, n) != 0) return NULL;
    if (argv[*i][n] == '=') return argv[*i] + n + 1;
    if (argv[*i][n] != 0) return NULL;
    if (*i + 1 >= argc) { *missing = 1; return NULL; }
    return argv[++*i];
}

/* Values differ by more than rounding and the tiny step to a one-sided limit. */
static int differ(double a, double b) {
    if (!isfinite(a) || !isfinite(b)) return !(a == b);
    return fabs(a - b) > 1e-6 * fmax(1.0, fmax(fabs(a), fabs(b)));
}

/* Parse the LO,HI of a range flag; 0, or non-zero after printing what is expected. */
static int range_flag(const char *flag, const char *v, double *lo, double *hi) {
    if (!v) return cli_fail("plot", "%s expects LO,HI with LO < HI, e.g. %s -5,5", flag, flag);
    if (cli_parse_range(v, lo, hi)) return cli_fail("plot", "%s expects LO,HI with LO < HI, got '%s'", flag, v);
    return 0;
}

typedef struct curve {
    double *x, *f, *df;
    int n;
} curve;

typedef struct kink_info {
    double k, h;
    double fl, fr, fv;  /* f from the left, from the right, at k */
    double dl, dr, dv;  /* the same for f' */
    int fjump, djump;
} kink_info;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The kinks of cfg inside [lo, hi], sorted, with both one-sided limits. */
static int find_kinks(const actlab_act_cfg *cfg, double lo, double hi, kink_info *out) {
    double raw[ACTLAB_ACT_MAX_KINKS];
    int nraw = actlab_act_kinks(cfg, raw), n = 0;
    if (nraw > ACTLAB_ACT_MAX_KINKS) nraw = ACTLAB_ACT_MAX_KINKS;
    qsort(raw, (size_t)nraw, sizeof raw[0], cmp_double);
    for (int i = 0; i < nraw; i++) {
        double k = raw[i];
        if (!isfinite(k) || k < lo || k > hi || (n && k == out[n - 1].k)) continue;
        kink_info *ki = &out[n++];
        /* Close enough to be a limit for plotting, far enough not to round to k. */
        ki->k = k;
        ki->h = 1e-9 * fmax(1.0, fabs(k));
        ki->fl = actlab_act_ref_f(cfg, k - ki->h);
        ki->fr = actlab_act_ref_f(cfg, k + ki->h);
        ki->fv = actlab_act_ref_f(cfg, k);
        ki->dl = actlab_act_ref_df(cfg, k - ki->h);
        ki->dr = actlab_act_ref_df(cfg, k + ki->h);
        ki->dv = actlab_act_ref_df(cfg, k);
        ki->fjump = differ(ki->fl, ki->fr) || differ(ki->fv, ki->fl) || differ(ki->fv, ki->fr);
        ki->djump = differ(ki->dl, ki->dr) || differ(ki->dv, ki->dl) || differ(ki->dv, ki->dr);
    }
    return n;
}

static void push(curve *c, double x, double f, double df) {
    c->x[c->n] = x;
    c->f[c->n] = f;
    c->df[c->n] = df;
    c->n++;
}

/* Samples of f and f' on a uniform grid, with each kink inserted exactly:
 * a point on the curve where it is continuous, else the two one-sided
 * limits around a NaN that breaks the line. Separate breaks for f and f'. */
static void sample(const actlab_act_cfg *cfg, double lo, double hi, int samples,
                   const kink_info *kinks, int nk, curve *c) {
    int kj = 0;
    c->n = 0;
    for (int i = 0; i < samples; i++) {
        double x = i == samples - 1 ? hi : lo + (hi - lo) * i / (samples - 1);
        while (kj < nk && kinks[kj].k <= x + 2 * kinks[kj].h) {
            const kink_info *ki = &kinks[kj++];
            if (!ki->fjump && !ki->djump) {
                push(c, ki->k, ki->fv, ki->dv);
                continue;
            }
            push(c, ki->k - ki->h, ki->fl, ki->dl);
            push(c, ki->k, ki->fjump ? NAN : ki->fv, ki->djump ? NAN : ki->dv);
            push(c, ki->k + ki->h, ki->fr, ki->dr);
        }
        /* A grid point on (or within rounding of) a kink is already covered. */
        if (kj > 0 && fabs(x - kinks[kj - 1].k) <= 2 * kinks[kj - 1].h) continue;
        push(c, x, actlab_act_ref_f(cfg, x), actlab_act_ref_df(cfg, x));
    }
}

/* Rings at the one-sided limits and a dot at the value, where a curve jumps;
 * on f, a dot marks every kink (that is where f bends). Returns which shapes
 * were used: bit 0 ring, bit 1 dot. */
static int mark_kink(actlab_plot *pl, int panel, const char *label, double k, double l, double r, double v, int jump,
                     int always_dot) {
    int used = 0;
    if (jump) {
        actlab_plot_add_marker(pl, panel, label, k, l, ACTLAB_PLOT_RING);
        if (differ(l, r)) actlab_plot_add_marker(pl, panel, label, k, r, ACTLAB_PLOT_RING);
        used |= 1;
    }
    if (jump || always_dot) {
        actlab_plot_add_marker(pl, panel, label, k, v, ACTLAB_PLOT_DOT);
        used |= 2;
    }
    return used;
}

int cmd_plot(int argc, char **argv) {
    const char *out = DEFAULT_OUT, *title = "Activation functions";
    const char *specs[MAX_FUNCS];
    int nspec = 0, samples = DEFAULT_SAMPLES, derivative = 1, yfixed = 0, dyfixed = 0;
    double lo = -5, hi = 5, ylo = 0, yhi = 0, dylo = 0, dyhi = 0;

    for (int i = 1; i < argc; i++) {
        int d = cli_defs_flag("plot", argc, argv, &i);
        if (d < 0) return 2;
        if (d) continue;
        const char *a = argv[i], *v;
        int missing = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage();
            return 0;
        } else if (!strcmp(a, "--no-derivative")) {
            derivative = 0;
        } else if ((v = flag_value(argc, argv, &i, "--range", &missing)) || missing) {
            if (range_flag("--range", missing ? NULL : v, &lo, &hi)) return 2;
        } else if ((v = flag_value(argc, argv, &i, "--ylim", &missing)) || missing) {
            if (range_flag("--ylim", missing ? NULL : v, &ylo, &yhi)) return 2;
            yfixed = 1;
        } else if ((v = flag_value(argc, argv, &i, "--dylim", &missing)) || missing) {
            if (range_flag("--dylim", missing ? NULL : v, &dylo, &dyhi)) return 2;
            dyfixed = 1;
        } else if ((v = flag_value(argc, argv, &i, "--samples", &missing)) || missing) {
            double s;
            if (missing) return cli_fail("plot", "--samples expects a whole number from 2 to %d", MAX_SAMPLES);
            if (cli_parse_double(v, &s) || s != floor(s) || s < 2 || s > MAX_SAMPLES)
                return cli_fail("plot", "--samples expects a whole number from 2 to %d, got '%s'", MAX_SAMPLES, v);
            samples = (int)s;
        } else if ((v = flag_value(argc, argv, &i, "--output", &missing)) ||
                   (!missing && (v = flag_value(argc, argv, &i, "-o", &missing))) || missing) {
            if (missing || !*v) return cli_fail("plot", "-o expects an output file name, e.g. -o activations.svg");
            out = v;
        } else if ((v = flag_value(argc, argv, &i, "--title", &missing)) || missing) {
            if (missing) return cli_fail("plot", "--title expects a text");
            title = v;
        } else if (a[0] == '-' && a[1]) {
            return cli_fail("plot", "unknown flag '%s' (actlab plot --help lists the flags)", a);
        } else {
            if (nspec == MAX_FUNCS) return cli_fail("plot", "too many functions (at most %d in one plot)", MAX_FUNCS);
            specs[nspec++] = a;
        }
    }
    if (!nspec)
        return cli_fail("plot", "no activation function given; e.g. actlab plot relu elu:alpha=0.5 -o act.svg");

    /* Parse every spec before any work, so a typo costs nothing. */
    actlab_act_cfg cfgs[MAX_FUNCS];
    for (int i = 0; i < nspec; i++)
        if (cli_parse_act("plot", specs[i], &cfgs[i])) return 2;

    actlab_plot *pl = actlab_plot_new(900, derivative ? 760 : 460, title);
    if (!pl) return cli_fail("plot", "out of memory");
    actlab_plot_set_xlabel(pl, "x");
    actlab_plot_set_xrange(pl, lo, hi);
    int pf = actlab_plot_add_panel(pl, NULL, "f(x)");
    int pd = derivative ? actlab_plot_add_panel(pl, NULL, "f'(x)") : -1;
    /* Activations grow at most about linearly; one that explodes (exp(x) on
     * [-20, 20]) would flatten every other curve, so the automatic y range
     * ignores values far beyond the x range and lets that curve leave the panel. */
    double reach = fmax(1.0, fmax(fabs(lo), fabs(hi)));
    actlab_plot_set_ylimit(pl, pf, 10 * reach);
    if (derivative) actlab_plot_set_ylimit(pl, pd, 10 * reach);
    if (yfixed) actlab_plot_set_yrange(pl, pf, ylo, yhi);
    if (dyfixed && derivative) actlab_plot_set_yrange(pl, pd, dylo, dyhi);

    size_t cap = (size_t)samples + 3 * ACTLAB_ACT_MAX_KINKS;
    curve c = {malloc(cap * sizeof(double)), malloc(cap * sizeof(double)), malloc(cap * sizeof(double)), 0};
    int shapes = 0, status = 0;
    if (!c.x || !c.f || !c.df) {
        status = cli_fail("plot", "out of memory");
        goto done;
    }
    for (int i = 0; i < nspec; i++) {
        char label[512];
        actlab_act_cfg_string(&cfgs[i], label, sizeof label);
        kink_info kinks[ACTLAB_ACT_MAX_KINKS];
        int nk = find_kinks(&cfgs[i], lo, hi, kinks);
        sample(&cfgs[i], lo, hi, samples, kinks, nk, &c);
        /* Past ten functions the colours repeat; dashes keep the curves apart. */
        actlab_plot_style st = ACTLAB_PLOT_STYLE_DEFAULT;
        st.dashed = (i / ACTLAB_PLOT_PALETTE_SIZE) % 2;
        actlab_plot_add_series(pl, pf, label, c.x, c.f, c.n, &st);
        if (derivative) actlab_plot_add_series(pl, pd, label, c.x, c.df, c.n, &st);
        for (int k = 0; k < nk; k++) {
            const kink_info *ki = &kinks[k];
            shapes |= mark_kink(pl, pf, label, ki->k, ki->fl, ki->fr, ki->fv, ki->fjump, 1);
            if (derivative) shapes |= mark_kink(pl, pd, label, ki->k, ki->dl, ki->dr, ki->dv, ki->djump, 0);
        }
    }
    if (shapes & 1) actlab_plot_add_legend_marker(pl, ACTLAB_PLOT_RING, "one-sided limit at a kink");
    if (shapes & 2) actlab_plot_add_legend_marker(pl, ACTLAB_PLOT_DOT, "value at a kink");

    char err[512];
    char *svg = actlab_plot_svg(pl, err, sizeof err);
    if (!svg) {
        status = cli_fail("plot", "%s", err);
        goto done;
    }
    if (actlab_write_atomic(out, svg, strlen(svg), err, sizeof err)) status = cli_fail("plot", "%s", err);
    else printf("wrote %s (%d function%s)\n", out, nspec, nspec == 1 ? "" : "s");
    free(svg);
done:
    free(c.x);
    free(c.f);
    free(c.df);
    actlab_plot_free(pl);
    return status;
}
