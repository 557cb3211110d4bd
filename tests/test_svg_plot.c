/*
 * test_svg_plot.c — unit tests of the SVG line-plot writer (src/report/svg_plot.c):
 * nice ticks and their labels, lines broken at non-finite points, clipping of
 * exploding data, XML escaping, the legend, colours by label, error reporting,
 * and that every document produced is well-formed XML.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "check.h"
#include "report/svg_plot.h"

/* ---- helpers ---- */

static int count_of(const char *hay, const char *needle) {
    int n = 0;
    for (const char *s = strstr(hay, needle); s; s = strstr(s + 1, needle)) n++;
    return n;
}

static int entity_ok(const char *s) {
    static const char *ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#"};
    for (int i = 0; i < 6; i++)
        if (strncmp(s, ents[i], strlen(ents[i])) == 0) return 1;
    return 0;
}

/* A minimal well-formedness check: tags nest and match, attributes are
 * quoted, '&' only starts a predefined or numeric entity, no raw '<' in
 * text or attributes. Returns NULL or what is wrong. */
static const char *xml_problem(const char *s) {
    static char why[160];
    const char *stack[256];
    size_t stack_len[256];
    int depth = 0, roots = 0;
    if (strncmp(s, "<?xml", 5) == 0) {
        s = strstr(s, "?>");
        if (!s) return "unterminated XML declaration";
        s += 2;
    }
    while (*s) {
        if (*s == '&') {
            if (!entity_ok(s)) { snprintf(why, sizeof why, "bad entity near '%.20s'", s); return why; }
            s++;
        } else if (*s == '<') {
            if (s[1] == '/') {
                const char *name = s + 2;
                size_t n = strcspn(name, " >");
                if (!depth || n != stack_len[depth - 1] || strncmp(name, stack[depth - 1], n)) {
                    snprintf(why, sizeof why, "mismatched closing tag near '%.30s'", s);
                    return why;
                }
                depth--;
                s = strchr(s, '>');
                if (!s) return "unterminated closing tag";
                s++;
                continue;
            }
            const char *name = s + 1;
            size_t n = strcspn(name, " />\n");
            if (!n || !isalpha((unsigned char)name[0])) { snprintf(why, sizeof why, "bad tag near '%.30s'", s); return why; }
            const char *p = name + n;
            /* attributes: name="value" with no '<' and valid entities inside */
            for (;;) {
                while (*p == ' ' || *p == '\n') p++;
                if (*p == '>' || (p[0] == '/' && p[1] == '>')) break;
                size_t an = strcspn(p, "= />");
                if (!an || p[an] != '=' || p[an + 1] != '"') { snprintf(why, sizeof why, "bad attribute near '%.30s'", p); return why; }
                p += an + 2;
                while (*p && *p != '"') {
                    if (*p == '<') return "'<' inside an attribute";
                    if (*p == '&' && !entity_ok(p)) return "bad entity inside an attribute";
                    p++;
                }
                if (!*p) return "unterminated attribute";
                p++;
            }
            int self = *p == '/';
            s = p + (self ? 2 : 1);
            if (!self) {
                if (depth == 256) return "too deep";
                if (!depth) roots++;
                stack[depth] = name;
                stack_len[depth] = n;
                depth++;
            } else if (!depth) {
                roots++;
            }
        } else {
            s++;
        }
    }
    if (depth) { snprintf(why, sizeof why, "%d unclosed element(s), innermost '%.*s'", depth, (int)stack_len[depth - 1], stack[depth - 1]); return why; }
    if (roots != 1) return "not exactly one root element";
    return NULL;
}

/* The d attribute of the path whose <title> is label (copied into buf). */
static int path_of(const char *svg, const char *label, char *buf, size_t len) {
    char key[256];
    snprintf(key, sizeof key, "<title>%s</title></path>", label);
    const char *t = strstr(svg, key);
    if (!t) return -1;
    const char *start = t;
    while (start > svg && strncmp(start, "<path d=\"", 9) != 0) start--;
    start += 9;
    size_t n = strcspn(start, "\"");
    if (n >= len) return -1;
    memcpy(buf, start, n);
    buf[n] = 0;
    return 0;
}

/* The stroke colour of the path whose text is at pos (searching back to its start). */
static int stroke_at(const char *svg, const char *pos, char *buf, size_t len) {
    if (!pos) return -1;
    const char *start = pos;
    while (start > svg && strncmp(start, "stroke=\"", 8) != 0) start--;
    start += 8;
    size_t n = strcspn(start, "\"");
    if (n >= len) return -1;
    memcpy(buf, start, n);
    buf[n] = 0;
    return 0;
}

static int stroke_of(const char *svg, const char *label, char *buf, size_t len) {
    char key[256];
    snprintf(key, sizeof key, "<title>%s</title></path>", label);
    return stroke_at(svg, strstr(svg, key), buf, len);
}

/* Non-finite values spelled out anywhere ("nan", "inf" as words, any case)? */
static const char *nonfinite_text(const char *svg) {
    for (const char *s = svg; *s; s++) {
        if (s > svg && isalpha((unsigned char)s[-1])) continue;
        if (strncasecmp(s, "nan", 3) == 0 && !isalpha((unsigned char)s[3])) return s;
        if (strncasecmp(s, "inf", 3) == 0 && !isalpha((unsigned char)s[3])) return s;
    }
    return NULL;
}

/* Every number in the path data lies within [lo, hi]. */
static int path_numbers_within(const char *d, double lo, double hi) {
    for (const char *s = d; *s;) {
        if (isdigit((unsigned char)*s) || *s == '-' || *s == '.') {
            char *end;
            double v = strtod(s, &end);
            if (end == s || !(v >= lo && v <= hi)) return 0;
            s = end;
        } else {
            s++;
        }
    }
    return 1;
}

static char *render(actlab_plot *p) {
    char err[256];
    char *svg = actlab_plot_svg(p, err, sizeof err);
    CHECK(svg != NULL, "render failed: %s", err);
    if (svg) {
        const char *why = xml_problem(svg);
        CHECK(why == NULL, "not well-formed XML: %s", why ? why : "");
        const char *bad = nonfinite_text(svg);
        CHECK(!bad, "nan/inf text in the SVG: '%.40s'", bad ? (bad - svg > 20 ? bad - 20 : svg) : "");
    }
    return svg;
}

/* ---- tests ---- */

static void test_ticks(void) {
    double t[64], step;
    int n = actlab_plot_ticks(-5, 5, 5, t, 64, &step);
    CHECK(step == 2 && n == 5 && t[0] == -4 && t[4] == 4, "[-5,5]/5: step %g, %d ticks from %g", step, n, t[0]);
    n = actlab_plot_ticks(-5, 5, 10, t, 64, &step);
    CHECK(step == 1 && n == 11 && t[0] == -5 && t[10] == 5, "[-5,5]/10: step %g, %d ticks", step, n);
    int zero = 0;
    for (int i = 0; i < n; i++) zero |= t[i] == 0 && !signbit(t[i]);
    CHECK(zero, "[-5,5] ticks include +0");

    n = actlab_plot_ticks(0, 0.25, 5, t, 64, &step);
    CHECK(check_close(step, 0.05, 1e-12, 0) && n == 6, "[0,0.25]/5: step %g, %d ticks", step, n);
    CHECK(t[0] == 0 && check_close(t[n - 1], 0.25, 1e-12, 0), "[0,0.25] ends: %g %g", t[0], t[n - 1]);
    char buf[64];
    const char *want[] = {"0", "0.05", "0.1", "0.15", "0.2", "0.25"};
    for (int i = 0; i < n && i < 6; i++) {
        actlab_plot_format_tick(buf, sizeof buf, t[i], step);
        CHECK(strcmp(buf, want[i]) == 0, "[0,0.25] tick %d: '%s', want '%s'", i, buf, want[i]);
    }

    n = actlab_plot_ticks(-1e-3, 2e-3, 6, t, 64, &step);
    CHECK(check_close(step, 5e-4, 1e-12, 0) && n == 7, "[-1e-3,2e-3]/6: step %g, %d ticks", step, n);
    const char *want2[] = {"-0.001", "-0.0005", "0", "0.0005", "0.001", "0.0015", "0.002"};
    for (int i = 0; i < n && i < 7; i++) {
        actlab_plot_format_tick(buf, sizeof buf, t[i], step);
        CHECK(strcmp(buf, want2[i]) == 0, "[-1e-3,2e-3] tick %d: '%s', want '%s'", i, buf, want2[i]);
    }

    /* Every step is 1, 2 or 5 x 10^k and ticks cover the range. */
    const double ranges[][2] = {{0, 1}, {-3.7, 12.2}, {1e-9, 3e-9}, {-1e12, 1e12}, {0.1, 0.1000001}, {-7, -6.99}};
    for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
        for (int target = 2; target <= 12; target += 5) {
            n = actlab_plot_ticks(ranges[r][0], ranges[r][1], target, t, 64, &step);
            double mant = step / pow(10, floor(log10(step)));
            int nice = check_close(mant, 1, 1e-9, 0) || check_close(mant, 2, 1e-9, 0) || check_close(mant, 5, 1e-9, 0);
            CHECK(nice, "[%g,%g]/%d: step %g is not 1, 2 or 5 x 10^k", ranges[r][0], ranges[r][1], target, step);
            CHECK(n >= 1 && n <= 2 * target + 2, "[%g,%g]/%d: %d ticks", ranges[r][0], ranges[r][1], target, n);
            CHECK(n >= 1 && t[0] >= ranges[r][0] - step * 1e-9 && t[n - 1] <= ranges[r][1] + step * 1e-9,
                  "[%g,%g]/%d: ticks outside the range", ranges[r][0], ranges[r][1], target);
            CHECK(n >= 1 && t[0] - ranges[r][0] < step * (1 + 1e-9), "[%g,%g]/%d: first tick too far in",
                  ranges[r][0], ranges[r][1], target);
        }
    }

    CHECK(actlab_plot_ticks(1, 1, 5, t, 64, &step) == 0, "empty range gives no ticks");
    CHECK(actlab_plot_ticks(NAN, 1, 5, t, 64, &step) == 0, "NaN range gives no ticks");
    CHECK(actlab_plot_ticks(0, INFINITY, 5, t, 64, &step) == 0, "infinite range gives no ticks");
    CHECK(actlab_plot_ticks(0, 1000, 5, t, 3, &step) == 3, "max caps the count");
}

static void test_format(void) {
    char buf[64];
    struct { double v, step; const char *want; } cases[] = {
        {-0.0, 1, "0"}, {1e-17, 0.1, "0"}, {0.30000000000000004, 0.1, "0.3"}, {1, 0.2, "1"},
        {-4, 2, "-4"}, {1500, 500, "1500"}, {1e6, 2e5, "1e6"}, {4e5, 2e5, "4e5"},
        {2.5e-5, 5e-6, "2.5e-5"}, {-1e-6, 1e-6, "-1e-6"}, {1.5e12, 5e11, "1.5e12"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        actlab_plot_format_tick(buf, sizeof buf, cases[i].v, cases[i].step);
        CHECK(strcmp(buf, cases[i].want) == 0, "format(%g, step %g) = '%s', want '%s'", cases[i].v, cases[i].step, buf,
              cases[i].want);
    }
    actlab_plot_format_tick(buf, sizeof buf, NAN, 1);
    CHECK(strcmp(buf, "?") == 0, "format(NaN) = '%s'", buf);
}

static void test_nan_breaks_line(void) {
    double x[10], y[10], y2[10];
    for (int i = 0; i < 10; i++) { x[i] = i; y[i] = i * 0.5; y2[i] = 1 - i * 0.1; }
    y[5] = NAN;
    y2[3] = INFINITY;
    actlab_plot *p = actlab_plot_new(600, 400, "gaps");
    int pn = actlab_plot_add_panel(p, NULL, "y");
    CHECK(pn == 0, "first panel index %d", pn);
    actlab_plot_add_series(p, pn, "gap-a", x, y, 10, NULL);
    actlab_plot_add_series(p, pn, "gap-b", x, y2, 10, NULL);
    char *svg = render(p);
    if (svg) {
        char d[4096];
        CHECK(path_of(svg, "gap-a", d, sizeof d) == 0, "path of gap-a found");
        CHECK(count_of(d, "M") == 2, "NaN splits the line into 2 segments: d=%s", d);
        CHECK(count_of(d, "L") == 7, "segments 0-4 and 6-9 have 4 + 3 line-tos: d=%s", d);
        CHECK(path_of(svg, "gap-b", d, sizeof d) == 0, "path of gap-b found");
        CHECK(count_of(d, "M") == 2, "inf splits the line too: d=%s", d);
    }
    free(svg);
    actlab_plot_free(p);

    /* All non-finite: no path at all, still a valid document. */
    double bad[3] = {NAN, INFINITY, -INFINITY};
    p = actlab_plot_new(400, 300, NULL);
    actlab_plot_add_panel(p, NULL, NULL);
    actlab_plot_add_series(p, 0, "nothing", bad, bad, 3, NULL);
    svg = render(p);
    if (svg) CHECK(strstr(svg, "<title>nothing</title></path>") == NULL, "no path for an all-NaN series");
    free(svg);
    actlab_plot_free(p);
}

static void test_clipping(void) {
    /* An exploding value with a fixed y range: the path stays near the plot. */
    double x[5] = {0, 1, 2, 3, 4}, y[5] = {0, 0.5, 1e300, 0.5, 0};
    actlab_plot *p = actlab_plot_new(500, 300, NULL);
    actlab_plot_add_panel(p, NULL, NULL);
    actlab_plot_set_yrange(p, 0, -1, 1);
    actlab_plot_add_series(p, 0, "boom", x, y, 5, NULL);
    char *svg = render(p);
    if (svg) {
        char d[4096];
        CHECK(path_of(svg, "boom", d, sizeof d) == 0, "path of boom found");
        CHECK(path_numbers_within(d, -1000, 1000), "clipped path coordinates stay near the plot: %s", d);
        CHECK(count_of(d, "M") == 2, "the line leaves and re-enters: two segments: %s", d);
    }
    free(svg);
    actlab_plot_free(p);

    /* Automatic range ignores |y| above the limit. */
    double y2[5] = {0, 1, 5e7, 2, 0};
    p = actlab_plot_new(500, 300, NULL);
    actlab_plot_add_panel(p, NULL, NULL);
    actlab_plot_add_series(p, 0, "big", x, y2, 5, NULL);
    svg = render(p);
    if (svg) {
        CHECK(strstr(svg, ">2</text>") != NULL, "a tick at 2 (range from the finite, unexploded data)");
        CHECK(strstr(svg, "e7<") == NULL && strstr(svg, "e6<") == NULL, "no tick near the ignored 5e7");
    }
    free(svg);
    actlab_plot_set_ylimit(p, 0, 1e9);
    svg = render(p);
    if (svg) CHECK(strstr(svg, "e7<") != NULL, "a larger limit takes the big value in");
    free(svg);
    actlab_plot_free(p);
}

static void test_escaping(void) {
    double x[2] = {0, 1}, y[2] = {0, 1};
    actlab_plot *p = actlab_plot_new(600, 400, "a<b & c>\"d'");
    actlab_plot_set_xlabel(p, "x & <y>");
    actlab_plot_add_panel(p, "<panel>", "f'(x)");
    actlab_plot_add_series(p, 0, "expr:x<0 ? a&b : x", x, y, 2, NULL);
    actlab_plot_add_series(p, 0, "bad\x01utf8\xff\xfe end", x, y, 2, NULL);
    char *svg = render(p);
    if (svg) {
        CHECK(strstr(svg, "a&lt;b &amp; c&gt;&quot;d&apos;") != NULL, "title escaped");
        CHECK(strstr(svg, "x &amp; &lt;y&gt;") != NULL, "x label escaped");
        CHECK(strstr(svg, "&lt;panel&gt;") != NULL, "panel title escaped");
        CHECK(strstr(svg, "f&apos;(x)") != NULL, "y label escaped");
        CHECK(strstr(svg, "expr:x&lt;0 ? a&amp;b : x") != NULL, "series label escaped");
        CHECK(strstr(svg, "a<b") == NULL && strstr(svg, "<panel>") == NULL, "no raw special characters");
        CHECK(strstr(svg, "bad?utf8?? end") != NULL, "control bytes and broken UTF-8 replaced");
    }
    free(svg);
    actlab_plot_free(p);
}

static void test_legend_and_colours(void) {
    double x[3] = {-1, 0, 1}, y[3] = {0, 0, 1}, dy[3] = {0, 1, 1};
    actlab_plot *p = actlab_plot_new(900, 700, "two panels");
    int top = actlab_plot_add_panel(p, NULL, "f");
    int bot = actlab_plot_add_panel(p, NULL, "df");
    CHECK(top == 0 && bot == 1, "panel indices %d %d", top, bot);
    actlab_plot_add_series(p, top, "alpha", x, y, 3, NULL);
    actlab_plot_add_series(p, top, "beta", x, dy, 3, NULL);
    actlab_plot_add_series(p, bot, "beta", x, y, 3, NULL);   /* other order in the second panel */
    actlab_plot_add_series(p, bot, "alpha", x, dy, 3, NULL);
    actlab_plot_add_series(p, bot, NULL, x, x, 3, NULL);      /* unlabelled: no legend entry */
    actlab_plot_style dashed = ACTLAB_PLOT_STYLE_DEFAULT;
    dashed.dashed = 1;
    dashed.rgb = "#123456";
    actlab_plot_add_series(p, top, "gamma", x, x, 3, &dashed);
    actlab_plot_add_marker(p, bot, "gamma", 0, 0.5, ACTLAB_PLOT_RING);
    actlab_plot_add_marker(p, bot, "alpha", 0, 0, ACTLAB_PLOT_DOT);
    actlab_plot_add_legend_marker(p, ACTLAB_PLOT_RING, "one-sided limit");
    char *svg = render(p);
    if (svg) {
        const char *legend = strstr(svg, "<g class=\"legend\"");
        CHECK(legend != NULL, "legend present");
        if (legend) {
            CHECK(count_of(legend, ">alpha</text>") == 1, "alpha once in the legend");
            CHECK(count_of(legend, ">beta</text>") == 1, "beta once in the legend");
            CHECK(count_of(legend, ">gamma</text>") == 1, "gamma in the legend");
            CHECK(count_of(legend, ">one-sided limit</text>") == 1, "legend marker entry");
            CHECK(count_of(legend, "<text") == 4, "exactly 4 legend entries, got %d", count_of(legend, "<text"));
            CHECK(strstr(legend, "stroke-dasharray") != NULL, "dashed sample for the dashed series");
            CHECK(strstr(legend, "<circle") != NULL, "ring sample for the marker entry");
            CHECK(strstr(legend, ">alpha<") < strstr(legend, ">beta<") && strstr(legend, ">beta<") < strstr(legend, ">gamma<"),
                  "legend in order of first appearance");
        }
        char c1[32] = "", c2[32] = "";
        CHECK(stroke_of(svg, "alpha", c1, sizeof c1) == 0, "alpha path found");
        CHECK(strcmp(c1, actlab_plot_palette(0)) == 0, "alpha has palette colour 0, got %s", c1);
        const char *second = strstr(svg, "<title>alpha</title></path>");
        second = second ? strstr(second + 1, "<title>alpha</title></path>") : NULL;
        CHECK(second != NULL, "alpha drawn in both panels");
        if (second) {
            CHECK(stroke_at(svg, second, c2, sizeof c2) == 0, "second alpha path");
            CHECK(strcmp(c1, c2) == 0, "alpha has one colour in both panels: %s vs %s", c1, c2);
        }
        CHECK(stroke_of(svg, "beta", c1, sizeof c1) == 0 && strcmp(c1, actlab_plot_palette(1)) == 0,
              "beta has palette colour 1, got %s", c1);
        CHECK(stroke_of(svg, "gamma", c1, sizeof c1) == 0 && strcmp(c1, "#123456") == 0, "gamma keeps its colour");
        CHECK(strstr(svg, "fill=\"white\" stroke=\"#123456\"") != NULL, "gamma's ring marker in gamma's colour");
        char dot[64];
        snprintf(dot, sizeof dot, "r=\"3.5\" fill=\"%s\"", actlab_plot_palette(0));
        CHECK(strstr(svg, dot) != NULL, "alpha's dot marker in alpha's colour");
        /* Short labels: the legend sits right of the plot, the height is as asked. */
        CHECK(strstr(svg, "height=\"700\"") != NULL, "height unchanged with the legend on the right");
        CHECK(count_of(svg, "<clipPath") == 2, "one clip path per panel");
    }
    free(svg);
    actlab_plot_free(p);

    /* A long label moves the legend below the plot; the picture grows. */
    p = actlab_plot_new(600, 400, NULL);
    actlab_plot_add_panel(p, NULL, NULL);
    actlab_plot_add_series(p, 0, "expr:x >= 0 ? x : a*(exp(x)-1) + b*x*x*sin(x);a=0.7;b=0.01", x, y, 3, NULL);
    svg = render(p);
    if (svg) CHECK(strstr(svg, "height=\"400\"") == NULL, "legend below makes the SVG taller");
    free(svg);
    actlab_plot_free(p);
}

static void test_ids_and_errors(void) {
    double x[2] = {0, 1};
    actlab_plot *p = actlab_plot_new(400, 300, NULL);
    actlab_plot_add_panel(p, NULL, NULL);
    CHECK(actlab_plot_set_id(p, "fig1") == 0, "set id");
    actlab_plot_add_series(p, 0, "s", x, x, 2, NULL);
    char *svg = render(p);
    if (svg) CHECK(strstr(svg, "id=\"fig1-clip0\"") && strstr(svg, "url(#fig1-clip0)"), "clip id uses the given prefix");
    free(svg);
    actlab_plot_free(p);

    /* Different plots get different default ids, so they can share an HTML page. */
    actlab_plot *a = actlab_plot_new(400, 300, "A"), *b = actlab_plot_new(400, 300, "B");
    actlab_plot_add_panel(a, NULL, NULL);
    actlab_plot_add_panel(b, NULL, NULL);
    char *sa = render(a), *sb = render(b);
    if (sa && sb) {
        const char *ia = strstr(sa, "clipPath id=\""), *ib = strstr(sb, "clipPath id=\"");
        CHECK(ia && ib && strncmp(ia, ib, 40) != 0, "default ids differ between plots");
    }
    free(sa); free(sb);
    actlab_plot_free(a); actlab_plot_free(b);

    char err[256];
    p = actlab_plot_new(400, 300, NULL);
    CHECK(actlab_plot_svg(p, err, sizeof err) == NULL && strstr(err, "no panels"), "no panels is an error: %s", err);
    actlab_plot_add_panel(p, NULL, NULL);
    CHECK(actlab_plot_set_xrange(p, 1, 0) == -1, "reversed x range refused");
    CHECK(actlab_plot_svg(p, err, sizeof err) == NULL && strstr(err, "x range"), "errors are sticky: %s", err);
    CHECK(actlab_plot_error(p) != NULL, "actlab_plot_error reports it");
    actlab_plot_free(p);

    p = actlab_plot_new(400, 300, NULL);
    actlab_plot_add_panel(p, NULL, NULL);
    CHECK(actlab_plot_add_series(p, 3, "s", x, x, 2, NULL) == -1, "series on a missing panel refused");
    CHECK(actlab_plot_svg(p, err, sizeof err) == NULL && strstr(err, "panel 3"), "message names the panel: %s", err);
    actlab_plot_free(p);

    p = actlab_plot_new(400, 300, NULL);
    CHECK(actlab_plot_set_id(p, "bad id\"") == -1, "unsafe id refused");
    actlab_plot_free(p);
    p = actlab_plot_new(400, 300, NULL);
    actlab_plot_add_panel(p, NULL, NULL);
    actlab_plot_style st = ACTLAB_PLOT_STYLE_DEFAULT;
    st.rgb = "red\"/><script>";
    CHECK(actlab_plot_add_series(p, 0, "s", x, x, 2, &st) == -1, "unsafe colour refused");
    actlab_plot_free(p);

    CHECK(actlab_plot_new(10, 10, NULL) == NULL, "absurd size refused");
    p = actlab_plot_new(200, 120, NULL);
    for (int i = 0; i < 5; i++) actlab_plot_add_panel(p, NULL, NULL);
    CHECK(actlab_plot_svg(p, err, sizeof err) == NULL && strstr(err, "too small"), "5 panels in 120 px: %s", err);
    actlab_plot_free(p);
    actlab_plot_free(NULL);
}

static void test_constant_and_markers_outside(void) {
    /* A constant series (f' of identity) still gets a sensible range and ticks. */
    double x[3] = {-2, 0, 2}, one[3] = {1, 1, 1};
    actlab_plot *p = actlab_plot_new(500, 300, NULL);
    actlab_plot_add_panel(p, NULL, NULL);
    actlab_plot_set_xrange(p, -1, 1);
    actlab_plot_add_series(p, 0, "const", x, one, 3, NULL);
    actlab_plot_add_marker(p, 0, "const", 5, 1, ACTLAB_PLOT_DOT);        /* outside x: left out */
    actlab_plot_add_marker(p, 0, "const", NAN, 1, ACTLAB_PLOT_DOT);      /* non-finite: left out */
    actlab_plot_add_marker(p, 0, "const", 0.5, 1, ACTLAB_PLOT_SQUARE);  /* drawn */
    char *svg = render(p);
    if (svg) {
        CHECK(strstr(svg, ">1</text>") != NULL, "a tick at 1 for a constant 1");
        CHECK(count_of(svg, "<circle") == 0, "markers outside the x range or non-finite are left out");
        CHECK(count_of(svg, "<rect x=") >= 2, "square marker drawn");
        char d[1024];
        CHECK(path_of(svg, "const", d, sizeof d) == 0 && count_of(d, "M") == 1, "x range clips the line to one segment");
    }
    free(svg);
    actlab_plot_free(p);
}

/* A band: one filled path under the lines, no legend entry, its edges in the y range,
 * a point with a NaN edge left out, huge values held near the panel. */
static void test_band(void) {
    actlab_plot *p = actlab_plot_new(400, 300, "band");
    int panel = actlab_plot_add_panel(p, NULL, "acc");
    double x[4] = {1, 2, 3, 4}, m[4] = {1, 2, 3, 4}, lo[4] = {0, 1, NAN, 3}, hi[4] = {2, 3, 4, 1e300};
    actlab_plot_style st = ACTLAB_PLOT_STYLE_DEFAULT;
    st.rgb = "#336699";
    CHECK(actlab_plot_add_band(p, panel, x, lo, hi, 4, &st) == 0, "add band: %s", actlab_plot_error(p));
    CHECK(actlab_plot_add_series(p, panel, "mean", x, m, 4, &st) == 0, "add series");
    actlab_plot *q = actlab_plot_new(400, 300, "bad band");
    int qp = actlab_plot_add_panel(q, NULL, "acc");
    CHECK(actlab_plot_add_band(q, qp, x, lo, NULL, 4, &st) != 0, "a band without its upper edge is refused");
    actlab_plot_free(q);
    char *svg = render(p);
    if (svg) {
        const char *band = strstr(svg, "fill-opacity=\"0.18\""), *line = strstr(svg, "<title>mean</title>");
        CHECK(band && count_of(svg, "fill-opacity=\"0.18\"") == 1, "one filled band");
        CHECK(band && line && band < line, "the band is drawn before (under) the line");
        CHECK(band && !strncmp(band + strlen("fill-opacity=\"0.18\""), " stroke=\"none\"/>", 16),
              "the band has no stroke and no title");
        CHECK(count_of(svg, "<title>mean</title>") == 1, "the line keeps its title");
        /* 3 of 4 points have both edges: 3 forward + 3 back */
        const char *d = band ? band : svg;
        while (d > svg && strncmp(d, "<path d=\"", 9)) d--;
        int pts = 0;
        for (const char *c = d + 9; *c && *c != '"'; c++) pts += *c == 'M' || *c == 'L';
        CHECK(pts == 6, "band path with %d points, expected 6 (NaN edge left out)", pts);
    }
    free(svg);
    actlab_plot_free(p);
}

int main(void) {
    test_ticks();
    test_band();
    test_format();
    test_nan_breaks_line();
    test_clipping();
    test_escaping();
    test_legend_and_colours();
    test_ids_and_errors();
    test_constant_and_markers_outside();
    return check_summary("test_svg_plot");
}
