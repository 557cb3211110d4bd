/*
 * test_stats.c — descriptive statistics, the paired comparison (t-test,
 * Wilcoxon signed-rank exact and approximate, win/tie/loss, d_z) and Holm /
 * Bonferroni, against reference values computed outside actlab:
 *
 *  - scipy 1.10.1 (Debian python3-scipy): numpy mean/std(ddof=1)/median,
 *    scipy.stats.ttest_rel, scipy.stats.wilcoxon(d, method='exact') (no ties,
 *    no zeros) and wilcoxon(d, method='approx', correction=True).
 *  - With ties or zeros scipy 1.10 has no exact test ('exact' truncates W+ to an
 *    integer, or falls back to the approximation), so those references come
 *    from brute force over all 2^n sign vectors of the mid-ranks of the nonzero
 *    |d| (Python, independent of the dynamic programme in wilcoxon.c):
 *        d = [v for v in d if v != 0]; rk = scipy.stats.rankdata(abs(d))
 *        wp = sum(rk[i] for i if d[i] > 0)
 *        over s in itertools.product([0, 1], repeat=n): w = sum(rk[i] for i if s[i])
 *        p = min(1, 2 min(#(w <= wp), #(w >= wp)) / 2^n)
 *  - t intervals mean -+ t_{(1+conf)/2, n-1} sd / sqrt(n): the quantile from
 *    mpmath at 40 digits (root of betainc(df/2, 1/2, 0, df/(df+t^2)) / 2 =
 *    1 - p), because scipy 1.10's t.ppf (cephes stdtrit) is off by up to 4e-10
 *    relative at df = 5 (2.5705818366 instead of 2.5705818356) while GSL's
 *    quantile is right to the last digits; scipy.stats.t.interval agrees to 1e-9.
 *  - Holm: the example worked by hand (and R's p.adjust formula
 *    pmin(1, cummax((m - i + 1) p[o]))[order]).
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actlab/stats.h"
#include "check.h"

#define LEN(a) (sizeof(a) / sizeof(a)[0])

/* ---- describe ---- */

static void test_describe(void) {
    char err[256];
    actlab_stats_summary s;
    /* five accuracies, 95 % and 99 % (scipy) */
    const double a[] = {0.9812, 0.9790, 0.9825, 0.9801, 0.9818};
    CHECK(actlab_stats_describe(a, 5, 0.95, &s, err, sizeof err) == 0, "describe: %s", err);
    CHECK(s.n_given == 5 && s.n == 5, "describe n %zu of %zu", s.n, s.n_given);
    CHECK(check_close(s.mean, 0.9809199999999999, 1e-14, 0), "mean %.17g", s.mean);
    CHECK(check_close(s.sd, 0.0013881642554107417, 1e-11, 0), "sd %.17g", s.sd);
    CHECK(check_close(s.ci_lo, 0.97919636642046314, 1e-13, 0), "ci_lo %.17g", s.ci_lo);
    CHECK(check_close(s.ci_hi, 0.98264363357953684, 1e-13, 0), "ci_hi %.17g", s.ci_hi);
    CHECK(s.median == 0.9812 && s.min == 0.9790 && s.max == 0.9825, "median %g min %g max %g", s.median, s.min, s.max);
    CHECK(actlab_stats_describe(a, 5, 0.99, &s, err, sizeof err) == 0, "describe 0.99: %s", err);
    CHECK(check_close(s.ci_lo, 0.97806175061168122, 1e-13, 0) && check_close(s.ci_hi, 0.98377824938831877, 1e-13, 0),
          "99 %% interval [%.17g, %.17g]", s.ci_lo, s.ci_hi);

    /* even n: the median is the mean of the middle two */
    const double b[] = {0.61, 0.72, 0.55, 0.68, 0.70, 0.64};
    CHECK(actlab_stats_describe(b, 6, 0.95, &s, err, sizeof err) == 0, "describe b: %s", err);
    CHECK(check_close(s.mean, 0.65, 1e-14, 0) && check_close(s.sd, 0.06324555320336757, 1e-12, 0),
          "b mean %.17g sd %.17g", s.mean, s.sd);
    CHECK(check_close(s.median, 0.66, 1e-15, 0), "b median %.17g", s.median);
    CHECK(check_close(s.ci_lo, 0.58362786240344844, 1e-13, 0) && check_close(s.ci_hi, 0.71637213759655157, 1e-13, 0),
          "b interval [%.17g, %.17g]", s.ci_lo, s.ci_hi);
    actlab_stats_describe(b, 6, 0.99, &s, err, sizeof err);
    CHECK(check_close(s.ci_lo, 0.5458905158344235, 1e-13, 0) && check_close(s.ci_hi, 0.75410948416557651, 1e-13, 0),
          "b 99 %% interval [%.17g, %.17g]", s.ci_lo, s.ci_hi);

    /* failed runs (NaN, inf) are skipped: the same summary as the clean five */
    const double c[] = {NAN, 0.9812, 0.9790, INFINITY, 0.9825, 0.9801, -INFINITY, 0.9818, NAN};
    actlab_stats_summary t;
    CHECK(actlab_stats_describe(c, LEN(c), 0.95, &t, err, sizeof err) == 0, "describe with NaN: %s", err);
    actlab_stats_describe(a, 5, 0.95, &s, err, sizeof err);
    CHECK(t.n_given == 9 && t.n == 5, "NaN cells: used %zu of %zu, want 5 of 9", t.n, t.n_given);
    CHECK(t.mean == s.mean && t.sd == s.sd && t.ci_lo == s.ci_lo && t.median == s.median, "NaN cells changed the summary");

    /* n = 1: no spread, no interval */
    const double one[] = {NAN, 0.75};
    CHECK(actlab_stats_describe(one, 2, 0.95, &s, err, sizeof err) == 0, "describe n=1: %s", err);
    CHECK(s.n == 1 && s.mean == 0.75 && s.median == 0.75 && s.min == 0.75 && s.max == 0.75, "n=1 summary");
    CHECK(isnan(s.sd) && isnan(s.ci_lo) && isnan(s.ci_hi), "n=1: sd %g ci [%g, %g], want NaN", s.sd, s.ci_lo, s.ci_hi);

    /* all equal: sd exactly 0, the mean exactly the value */
    const double same[] = {0.1, 0.1, 0.1};
    CHECK(actlab_stats_describe(same, 3, 0.95, &s, err, sizeof err) == 0 && s.sd == 0 && s.mean == 0.1 &&
              s.ci_lo == 0.1 && s.ci_hi == 0.1,
          "equal values: mean %.17g sd %g", s.mean, s.sd);

    /* every run failed: not an error, n = 0 and NaN */
    const double none[] = {NAN, NAN};
    CHECK(actlab_stats_describe(none, 2, 0.95, &s, err, sizeof err) == 0, "all NaN: %s", err);
    CHECK(s.n == 0 && isnan(s.mean) && isnan(s.median) && isnan(s.min), "all NaN: n %zu mean %g", s.n, s.mean);

    /* refusals */
    err[0] = 0;
    CHECK(actlab_stats_describe(a, 0, 0.95, &s, err, sizeof err) == -1 && strstr(err, "n = 0"), "n = 0: '%s'", err);
    CHECK(actlab_stats_describe(NULL, 3, 0.95, &s, err, sizeof err) == -1, "NULL accepted");
    CHECK(actlab_stats_describe(a, 5, 1.0, &s, err, sizeof err) == -1 && strstr(err, "confidence"), "conf 1: '%s'", err);
    CHECK(actlab_stats_describe(a, 5, 0.0, &s, err, sizeof err) == -1, "conf 0 accepted");
    CHECK(actlab_stats_describe(a, 5, NAN, &s, err, sizeof err) == -1, "conf NaN accepted");
}

/* ---- Wilcoxon ---- */

typedef struct wcase {
    const char *name;
    double d[20];
    size_t n;
    double w_plus, statistic, p;
} wcase;

static void run_wcase(const wcase *c, actlab_stats_method method, int want_exact, int want_ties, double rtol) {
    char err[256];
    actlab_stats_wilcoxon_result w;
    int rc = actlab_stats_wilcoxon(c->d, c->n, 0, method, &w, err, sizeof err);
    CHECK(rc == 0, "%s: %s", c->name, err);
    if (rc) return;
    CHECK(w.exact == want_exact, "%s: exact %d, want %d", c->name, w.exact, want_exact);
    CHECK(w.ties == want_ties, "%s: ties %d, want %d", c->name, w.ties, want_ties);
    if (c->w_plus >= 0) CHECK(w.w_plus == c->w_plus, "%s: W+ %g, want %g", c->name, w.w_plus, c->w_plus);
    CHECK(w.statistic == c->statistic, "%s: T %g, want %g", c->name, w.statistic, c->statistic);
    CHECK(check_close(w.p, c->p, rtol, 0), "%s: p %.17g, want %.17g", c->name, w.p, c->p);
    CHECK(w.w_plus + w.w_minus == w.n_ranked * (w.n_ranked + 1) / 2.0, "%s: W+ + W- = %g", c->name, w.w_plus + w.w_minus);

    /* Mirror image: same p, W+ and W- swap. */
    double neg[20];
    for (size_t i = 0; i < c->n; i++) neg[i] = -c->d[i];
    actlab_stats_wilcoxon_result m;
    actlab_stats_wilcoxon(neg, c->n, 0, method, &m, err, sizeof err);
    CHECK(m.p == w.p && m.w_plus == w.w_minus, "%s mirrored: p %.17g vs %.17g", c->name, m.p, w.p);
}

static void test_wilcoxon_exact(void) {
    /* No ties, no zeros: scipy.stats.wilcoxon(d, method='exact'); the brute force agrees. */
    static const wcase plain[] = {
        {"n5 all positive", {1, 2, 3, 4, 5}, 5, 15, 0, 0.0625},
        {"n6", {1.5, -2.25, 3.0, 4.5, 5.25, 6.0}, 6, 19, 2, 0.09375},
        {"n7", {-0.5, 1.0, -1.5, 2.0, 2.5, 3.0, 3.5}, 7, 24, 4, 0.109375},
        {"n8", {0.3, -0.1, 0.7, 1.2, -0.4, 0.9, 1.1, 0.6}, 8, 32, 4, 0.0546875},
        {"n9", {2, -7, 4, 11, 9, -3, 6, 8, 10}, 9, 38, 7, 0.07421875},
        {"n10", {1.1, 2.3, -0.2, 4.4, 5.6, -3.7, 7.9, 6.8, 9.1, 8.0}, 10, 50, 5, 0.01953125},
        {"n10 all negative", {-1, -2, -3, -4, -5, -6, -7, -8, -9, -10}, 10, 0, 0, 0.001953125},
    };
    for (size_t i = 0; i < LEN(plain); i++) {
        run_wcase(&plain[i], ACTLAB_STATS_AUTO, 1, 0, 1e-14);
        run_wcase(&plain[i], ACTLAB_STATS_EXACT, 1, 0, 1e-14);
    }
    /* Ties (mid-ranks) and zeros (dropped): brute force over 2^n sign vectors.
     * scipy 1.10's 'exact' gives 0.046875, 0.1953125, 0.25 for the first three:
     * it truncates the half-integer W+, which is why it is not the reference. */
    static const wcase tied[] = {
        {"ties n7", {1, 1, 2, 2, 3, 3, -1}, 7, 26, 2, 0.0625},
        {"ties n8", {0.5, -0.5, 1.0, 1.0, 1.0, 2.0, -2.0, 3.0}, 8, 28, 8, 0.203125},
        {"ties n9 half ranks", {2, 2, 2, 2, -2, 4, 4, -6, 6}, 9, 33.5, 11.5, 0.1953125},
        {"ties and zeros n11", {0, 1, 1, -1, 2, 3, 3, 3, 0, 4, 5}, 11, 43, 2, 0.015625},
        {"ties and a zero n17", {3, -1, 2, 2, 5, -3, 4, 1, 0, 6, 2, -2, 7, 3, 8, 1, -5}, 17, 107, 29, 0.04266357421875},
    };
    for (size_t i = 0; i < LEN(tied); i++) run_wcase(&tied[i], ACTLAB_STATS_AUTO, 1, 1, 1e-14);
    /* Zeros without ties: the rest is a plain n = 6 (brute force; scipy would fall back to the approximation). */
    static const wcase zeros = {"zeros n8", {0, 0, 1, -2, 3, 4, 5, 6}, 8, 19, 2, 0.09375};
    run_wcase(&zeros, ACTLAB_STATS_AUTO, 1, 0, 1e-14);

    char err[256];
    actlab_stats_wilcoxon_result w;
    actlab_stats_wilcoxon(tied[3].d, tied[3].n, 0, ACTLAB_STATS_AUTO, &w, err, sizeof err);
    CHECK(w.n == 11 && w.n_zero == 2 && w.n_ranked == 9, "zeros: n %zu zero %zu ranked %zu", w.n, w.n_zero, w.n_ranked);
    CHECK(isnan(w.z), "exact test reports z %g", w.z);

    /* A single nonzero difference: P(W+ >= 1) = 1/2, p = 1. */
    const double single[] = {0, 0.3, NAN};
    CHECK(actlab_stats_wilcoxon(single, 3, 0, ACTLAB_STATS_AUTO, &w, err, sizeof err) == 0 && w.p == 1 &&
              w.n == 2 && w.n_ranked == 1 && w.w_plus == 1,
          "one difference: p %g n %zu", w.p, w.n);
    /* Every difference zero: p = 1, whatever the method. */
    const double zero[] = {0, 0, 0, 0};
    CHECK(actlab_stats_wilcoxon(zero, 4, 0, ACTLAB_STATS_APPROX, &w, err, sizeof err) == 0 && w.p == 1 &&
              w.n_ranked == 0 && w.statistic == 0,
          "all zero: p %g", w.p);
    /* Nothing finite: NaN, not an error. */
    const double nan2[] = {NAN, INFINITY};
    CHECK(actlab_stats_wilcoxon(nan2, 2, 0, ACTLAB_STATS_AUTO, &w, err, sizeof err) == 0 && isnan(w.p) && w.n == 0,
          "all NaN: p %g", w.p);

    /* eq_tol: values within it of a run's first value tie, and |d| <= eq_tol is zero. */
    const double near[] = {1.0, 1.0 + 1e-12, 1.0 - 1e-13, -1e-13, 2.0, 3.0, -1.0 + 1e-12, 4.0, 5.0};
    CHECK(actlab_stats_wilcoxon(near, LEN(near), 1e-11, ACTLAB_STATS_AUTO, &w, err, sizeof err) == 0, "near: %s", err);
    /* -> d = {1, 1, 1, 0, 2, 3, -1, 4, 5}: brute force W+ = 33.5, p = 0.0390625 */
    CHECK(w.n_zero == 1 && w.ties && w.w_plus == 33.5 && check_close(w.p, 0.0390625, 1e-14, 0),
          "eq_tol: zeros %zu ties %d W+ %g p %.17g", w.n_zero, w.ties, w.w_plus, w.p);

    /* refusals */
    double big[ACTLAB_STATS_EXACT_MAX_N + 1];
    for (size_t i = 0; i < LEN(big); i++) big[i] = (double)(i + 1) * (i % 2 ? 1 : -1);
    err[0] = 0;
    CHECK(actlab_stats_wilcoxon(big, LEN(big), 0, ACTLAB_STATS_EXACT, &w, err, sizeof err) == -1 && strstr(err, "exact"),
          "exact for %zu values: '%s'", LEN(big), err);
    CHECK(actlab_stats_wilcoxon(big, LEN(big), 0, ACTLAB_STATS_AUTO, &w, err, sizeof err) == 0 && !w.exact,
          "auto for %zu values: %s", LEN(big), err);
    CHECK(actlab_stats_wilcoxon(big, 0, 0, ACTLAB_STATS_AUTO, &w, err, sizeof err) == -1, "n = 0 accepted");
    CHECK(actlab_stats_wilcoxon(NULL, 3, 0, ACTLAB_STATS_AUTO, &w, err, sizeof err) == -1, "NULL accepted");
    CHECK(actlab_stats_wilcoxon(big, 3, -1, ACTLAB_STATS_AUTO, &w, err, sizeof err) == -1, "eq_tol -1 accepted");
    CHECK(actlab_stats_wilcoxon(big, 3, NAN, ACTLAB_STATS_AUTO, &w, err, sizeof err) == -1, "eq_tol NaN accepted");
    CHECK(actlab_stats_wilcoxon(big, 3, 0, (actlab_stats_method)7, &w, err, sizeof err) == -1, "method 7 accepted");
}

/* 60 differences in quarters (numpy default_rng(7) normal(0.3, 1) rounded): many ties, 4 zeros. */
static const double quarters[60] = {
    0.25, 0.5,  0.0,  -0.5,  -0.25, -0.75, 0.25,  1.75, -0.25, -0.25, 0.75, 0.75, 0.5,   -0.75, 0.25,
    1.0,  -1.0, -0.25, -1.5, -1.0,  -1.5,  0.0,   -1.0, 0.5,   0.5,   0.0,  -2.25, -0.25, 0.25,  0.5,
    -1.25, -0.25, -0.75, -0.5, 1.25, -0.5,  0.25,  1.25, -0.25, 0.25,  0.5,  0.25, -1.0,  0.5,   1.75,
    -1.25, 1.25, 0.5,   -0.25, 2.25, 1.0,   -1.0,  0.25, 1.0,   0.0,   1.0,  0.25, 1.0,   1.75,  -0.5};

static void test_wilcoxon_approx(void) {
    char err[256];
    actlab_stats_wilcoxon_result w;
    /* scipy.stats.wilcoxon(d, method='approx', correction=True) */
    CHECK(actlab_stats_wilcoxon(quarters, 60, 0, ACTLAB_STATS_AUTO, &w, err, sizeof err) == 0, "quarters: %s", err);
    CHECK(!w.exact && w.ties && w.n_zero == 4 && w.n_ranked == 56, "quarters: exact %d zeros %zu", w.exact, w.n_zero);
    CHECK(w.statistic == 710, "quarters: T %g, want 710", w.statistic);
    CHECK(check_close(w.z, -0.7176743460699667, 1e-12, 0), "quarters: z %.17g", w.z);
    CHECK(check_close(w.p, 0.4729581047696624, 1e-12, 0), "quarters: p %.17g", w.p);
    CHECK(actlab_stats_wilcoxon(quarters, 30, 0, ACTLAB_STATS_APPROX, &w, err, sizeof err) == 0, "quarters[:30]: %s", err);
    CHECK(w.statistic == 165 && w.n_zero == 3 && check_close(w.z, -0.5682066641746742, 1e-12, 0) &&
              check_close(w.p, 0.5698946468781589, 1e-12, 0),
          "quarters[:30]: T %g z %.17g p %.17g", w.statistic, w.z, w.p);

    /* Small samples forced to the approximation, zeros dropped first (scipy's 'approx' with 'wilcox'). */
    const double zeros[] = {0, 0, 1, -2, 3, 4, 5, 6};
    CHECK(actlab_stats_wilcoxon(zeros, 8, 0, ACTLAB_STATS_APPROX, &w, err, sizeof err) == 0 && !w.exact, "zeros approx");
    CHECK(check_close(w.z, -1.6772557387550693, 1e-12, 0) && check_close(w.p, 0.0934924836898357, 1e-12, 0),
          "zeros approx: z %.17g p %.17g", w.z, w.p);
    const double ties[] = {1, 1, 2, 2, 3, 3, -1};
    actlab_stats_wilcoxon(ties, 7, 0, ACTLAB_STATS_APPROX, &w, err, sizeof err);
    CHECK(check_close(w.z, -1.9650226127485502, 1e-12, 0) && check_close(w.p, 0.04941162039020987, 1e-12, 0),
          "ties approx: z %.17g p %.17g", w.z, w.p);

    /* AUTO's cut-off: +-1..+-50 (every third negative) exact, 51 approximate; 60 approximate. */
    double d2[60];
    for (int i = 0; i < 60; i++) d2[i] = (i + 1) * (i % 3 == 0 ? -1 : 1);
    actlab_stats_wilcoxon(d2, 50, 0, ACTLAB_STATS_AUTO, &w, err, sizeof err);
    CHECK(w.exact && w.statistic == 425 && check_close(w.p, 0.03996834652842374, 1e-12, 0),
          "n=50 auto: exact %d T %g p %.17g", w.exact, w.statistic, w.p);
    actlab_stats_wilcoxon(d2, 51, 0, ACTLAB_STATS_AUTO, &w, err, sizeof err);
    CHECK(!w.exact && w.statistic == 425 && check_close(w.z, -2.226198381116822, 1e-12, 0) &&
              check_close(w.p, 0.02600089636093067, 1e-12, 0),
          "n=51 auto: exact %d T %g z %.17g p %.17g", w.exact, w.statistic, w.z, w.p);
    actlab_stats_wilcoxon(d2, 60, 0, ACTLAB_STATS_AUTO, &w, err, sizeof err);
    CHECK(!w.exact && !w.ties && check_close(w.z, -2.3888401740278025, 1e-12, 0) &&
              check_close(w.p, 0.016901653275967522, 1e-12, 0),
          "n=60 auto: z %.17g p %.17g", w.z, w.p);
    /* Forced exact above the cut-off: scipy method='exact' at n = 60. */
    actlab_stats_wilcoxon(d2, 60, 0, ACTLAB_STATS_EXACT, &w, err, sizeof err);
    CHECK(w.exact && check_close(w.p, 0.016137123087551525, 1e-12, 0), "n=60 exact p %.17g", w.p);
}

/* ---- paired ---- */

static void test_paired(void) {
    char err[256];
    actlab_stats_paired_result r;
    /* Accuracies of eight seeds (counts out of 10000). scipy.stats.ttest_rel(x, y), and t.interval
     * on d = x - y. The differences in counts are 11 -2 11 6 6 8 -2 6; as doubles, the three 6s and
     * the two -2s differ in the last bits, so scipy ranks them apart (p = 0.0390625); actlab ties
     * them, and the brute force on the counts gives W+ = 33, p = 0.03125. */
    const double x[] = {0.9912, 0.9905, 0.9921, 0.9899, 0.9917, 0.9908, 0.9913, 0.9902};
    const double y[] = {0.9901, 0.9907, 0.9910, 0.9893, 0.9911, 0.9900, 0.9915, 0.9896};
    CHECK(actlab_stats_paired(x, y, 8, NULL, &r, err, sizeof err) == 0, "paired: %s", err);
    CHECK(r.n_given == 8 && r.n == 8 && r.diff.n == 8 && r.wilcoxon.n == 8, "paired n %zu", r.n);
    CHECK(check_close(r.diff.mean, 0.0005499999999999949, 1e-12, 0), "mean diff %.17g", r.diff.mean);
    CHECK(check_close(r.diff.sd, 0.0005070925528371229, 1e-12, 0), "sd diff %.17g", r.diff.sd);
    CHECK(check_close(r.diff.ci_lo, 0.00012606001662554028, 1e-12, 0) &&
              check_close(r.diff.ci_hi, 0.00097393998337444959, 1e-12, 0),
          "diff interval [%.17g, %.17g]", r.diff.ci_lo, r.diff.ci_hi);
    CHECK(check_close(r.t, 3.067753430624837, 1e-12, 0) && r.df == 7, "t %.17g df %g", r.t, r.df);
    CHECK(check_close(r.p_t, 0.018124670662389347, 1e-12, 0), "p_t %.17g", r.p_t);
    CHECK(check_close(r.d_z, 1.0846146269015586, 1e-12, 0), "d_z %.17g", r.d_z);
    CHECK(r.wins == 6 && r.ties == 0 && r.losses == 2, "w/t/l %zu/%zu/%zu", r.wins, r.ties, r.losses);
    CHECK(r.wilcoxon.exact && r.wilcoxon.ties && r.wilcoxon.w_plus == 33 && check_close(r.wilcoxon.p, 0.03125, 1e-14, 0),
          "paired wilcoxon: ties %d W+ %g p %.17g", r.wilcoxon.ties, r.wilcoxon.w_plus, r.wilcoxon.p);
    CHECK(r.eq_tol > 0 && r.eq_tol < 1e-14, "eq_tol %g", r.eq_tol);

    /* Failed runs on either side drop the pair: same results as the clean eight. */
    const double xn[] = {0.9912, NAN, 0.9905, 0.9921, 0.9899, 0.5, 0.9917, 0.9908, 0.9913, 0.9902};
    const double yn[] = {0.9901, 0.9, 0.9907, 0.9910, 0.9893, INFINITY, 0.9911, 0.9900, 0.9915, 0.9896};
    actlab_stats_paired_result q;
    CHECK(actlab_stats_paired(xn, yn, 10, NULL, &q, err, sizeof err) == 0, "paired NaN: %s", err);
    CHECK(q.n_given == 10 && q.n == 8 && q.diff.n_given == 10 && q.t == r.t && q.p_t == r.p_t &&
              q.wilcoxon.p == r.wilcoxon.p && q.wins == 6 && q.losses == 2,
          "paired NaN: n %zu t %.17g p %.17g", q.n, q.t, q.p_t);

    /* Win/tie/loss with a tolerance. Counts: d = 12 12 0 12 32 -19 (brute force: W+ = 11, p = 0.5). */
    const double ax[] = {0.9812, 0.9912, 0.9790, 0.9650, 0.9833, 0.9741};
    const double ay[] = {0.9800, 0.9900, 0.9790, 0.9638, 0.9801, 0.9760};
    actlab_stats_paired_opts o = actlab_stats_paired_defaults();
    CHECK(o.conf == 0.95 && o.tie_tol == 0 && o.method == ACTLAB_STATS_AUTO, "defaults");
    actlab_stats_paired(ax, ay, 6, &o, &r, err, sizeof err);
    CHECK(r.wins == 4 && r.ties == 1 && r.losses == 1, "tol 0: w/t/l %zu/%zu/%zu", r.wins, r.ties, r.losses);
    CHECK(r.wilcoxon.n_zero == 1 && r.wilcoxon.w_plus == 11 && r.wilcoxon.p == 0.5, "counts: W+ %g p %.17g",
          r.wilcoxon.w_plus, r.wilcoxon.p);
    CHECK(check_close(r.t, 1.1883546615184841, 1e-12, 0) && check_close(r.p_t, 0.2880558507724825, 1e-12, 0),
          "counts t %.17g p %.17g (scipy ttest_rel)", r.t, r.p_t);
    o.tie_tol = 0.0015;
    actlab_stats_paired(ax, ay, 6, &o, &r, err, sizeof err);
    CHECK(r.wins == 1 && r.ties == 4 && r.losses == 1, "tol 0.0015: w/t/l %zu/%zu/%zu", r.wins, r.ties, r.losses);
    o.method = ACTLAB_STATS_APPROX;
    actlab_stats_paired(ax, ay, 6, &o, &r, err, sizeof err);
    CHECK(!r.wilcoxon.exact, "paired method APPROX ignored");

    /* Equal runs: every difference 0 -> t = 0, both p = 1, all ties. */
    actlab_stats_paired(x, x, 8, NULL, &r, err, sizeof err);
    CHECK(r.t == 0 && r.p_t == 1 && r.d_z == 0 && r.wilcoxon.p == 1 && r.ties == 8 && r.diff.sd == 0,
          "x vs x: t %g p_t %g p_w %g ties %zu", r.t, r.p_t, r.wilcoxon.p, r.ties);
    /* The same nonzero difference on every seed: t = +inf, p_t = 0; exact Wilcoxon 2/2^5. */
    const double c1[] = {1.5, 2.5, 3.5, 4.5, 5.5}, c0[] = {1, 2, 3, 4, 5};
    actlab_stats_paired(c1, c0, 5, NULL, &r, err, sizeof err);
    CHECK(isinf(r.t) && r.t > 0 && r.p_t == 0 && r.diff.sd == 0 && r.wilcoxon.p == 0.0625,
          "constant difference: t %g p_t %g p_w %g", r.t, r.p_t, r.wilcoxon.p);
    actlab_stats_paired(c0, c1, 5, NULL, &r, err, sizeof err);
    CHECK(isinf(r.t) && r.t < 0 && r.losses == 5, "constant negative difference: t %g", r.t);
    /* One usable pair: a mean difference and nothing else. */
    const double x1[] = {0.9, NAN}, y1[] = {0.8, 0.7};
    CHECK(actlab_stats_paired(x1, y1, 2, NULL, &r, err, sizeof err) == 0 && r.n == 1, "one pair: %s", err);
    CHECK(check_close(r.diff.mean, 0.1, 1e-14, 0) && isnan(r.diff.sd) && isnan(r.t) && isnan(r.p_t) && isnan(r.d_z) &&
              isnan(r.df) && r.wilcoxon.p == 1 && r.wins == 1,
          "one pair: mean %g sd %g t %g p %g p_w %g", r.diff.mean, r.diff.sd, r.t, r.p_t, r.wilcoxon.p);
    /* No usable pair: NaN, not an error. */
    const double xx[] = {NAN, 0.5}, yy[] = {0.5, NAN};
    CHECK(actlab_stats_paired(xx, yy, 2, NULL, &r, err, sizeof err) == 0 && r.n == 0 && isnan(r.diff.mean) &&
              isnan(r.p_t) && isnan(r.wilcoxon.p) && r.wins + r.ties + r.losses == 0,
          "no pair: %s", err);

    /* refusals */
    err[0] = 0;
    CHECK(actlab_stats_paired(x, y, 0, NULL, &r, err, sizeof err) == -1 && strstr(err, "n = 0"), "n = 0: '%s'", err);
    CHECK(actlab_stats_paired(x, NULL, 8, NULL, &r, err, sizeof err) == -1, "NULL y accepted");
    o = actlab_stats_paired_defaults();
    o.tie_tol = -0.1;
    CHECK(actlab_stats_paired(x, y, 8, &o, &r, err, sizeof err) == -1 && strstr(err, "tie"), "tie_tol < 0: '%s'", err);
    o = actlab_stats_paired_defaults();
    o.conf = 1.5;
    CHECK(actlab_stats_paired(x, y, 8, &o, &r, err, sizeof err) == -1, "conf 1.5 accepted");
}

/* ---- multiple comparisons ---- */

static void check_adj(const char *name, const double *got, const double *want, size_t m) {
    for (size_t i = 0; i < m; i++)
        CHECK(check_close(got[i], want[i], 1e-14, 0), "%s[%zu]: %.17g, want %.17g", name, i, got[i], want[i]);
}

static void test_multiple(void) {
    char err[256];
    double adj[8];
    /* By hand: sorted 0.005 0.01 0.03 0.04 times 4 3 2 1 = 0.02 0.03 0.06 0.04; running max
     * 0.02 0.03 0.06 0.06; back in input order: */
    const double p[] = {0.01, 0.04, 0.03, 0.005};
    const double holm[] = {0.03, 0.06, 0.06, 0.02}, bonf[] = {0.04, 0.16, 0.12, 0.02};
    CHECK(actlab_stats_holm(p, 4, adj, err, sizeof err) == 0, "holm: %s", err);
    check_adj("holm", adj, holm, 4);
    CHECK(actlab_stats_bonferroni(p, 4, adj, err, sizeof err) == 0, "bonferroni: %s", err);
    check_adj("bonferroni", adj, bonf, 4);

    /* Equal p-values and the cap at 1 (R's p.adjust formula). */
    const double p2[] = {0.2, 0.01, 0.6, 0.01, 0.04, 0.3};
    const double holm2[] = {0.6, 0.06, 0.6, 0.06, 0.16, 0.6}, bonf2[] = {1, 0.06, 1, 0.06, 0.24, 1};
    actlab_stats_holm(p2, 6, adj, err, sizeof err);
    check_adj("holm ties", adj, holm2, 6);
    actlab_stats_bonferroni(p2, 6, adj, err, sizeof err);
    check_adj("bonferroni cap", adj, bonf2, 6);
    const double big[] = {0.5, 0.9, 0.7};
    actlab_stats_holm(big, 3, adj, err, sizeof err);
    CHECK(adj[0] == 1 && adj[1] == 1 && adj[2] == 1, "holm cap: %g %g %g", adj[0], adj[1], adj[2]);

    /* A test that could not run (NaN) stays NaN and does not count: the same as the hand example. */
    const double pn[] = {0.01, NAN, 0.04, 0.03, 0.005};
    const double holmn[] = {0.03, NAN, 0.06, 0.06, 0.02}, bonfn[] = {0.04, NAN, 0.16, 0.12, 0.02};
    actlab_stats_holm(pn, 5, adj, err, sizeof err);
    check_adj("holm NaN", adj, holmn, 5);
    actlab_stats_bonferroni(pn, 5, adj, err, sizeof err);
    check_adj("bonferroni NaN", adj, bonfn, 5);

    /* In place. */
    double q[] = {0.01, 0.04, 0.03, 0.005};
    CHECK(actlab_stats_holm(q, 4, q, err, sizeof err) == 0, "holm in place: %s", err);
    check_adj("holm in place", q, holm, 4);
    /* One test: unchanged. */
    double one = 0.02;
    actlab_stats_holm(&one, 1, adj, err, sizeof err);
    CHECK(adj[0] == 0.02, "holm m=1: %g", adj[0]);

    /* refusals */
    const double bad[] = {0.01, 1.5};
    err[0] = 0;
    CHECK(actlab_stats_holm(bad, 2, adj, err, sizeof err) == -1 && strstr(err, "1.5"), "p 1.5: '%s'", err);
    const double neg[] = {-0.1};
    CHECK(actlab_stats_bonferroni(neg, 1, adj, err, sizeof err) == -1, "p -0.1 accepted");
    CHECK(actlab_stats_holm(p, 0, adj, err, sizeof err) == -1, "m = 0 accepted");
    CHECK(actlab_stats_holm(p, 4, NULL, err, sizeof err) == -1, "NULL adj accepted");
}

int main(void) {
    test_describe();
    test_wilcoxon_exact();
    test_wilcoxon_approx();
    test_paired();
    test_multiple();
    return check_summary("test_stats");
}
