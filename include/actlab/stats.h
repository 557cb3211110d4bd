/*
 * actlab/stats.h — the statistics behind comparing activation functions over
 * seeds: descriptive summaries, the paired comparison of a candidate with a
 * baseline (paired t-test, Wilcoxon signed-rank test with an exact null
 * distribution, win/tie/loss counts, effect size) and multiple-comparison
 * adjustment of p-values (Holm, Bonferroni).
 *
 *     char err[256];
 *     actlab_stats_paired_result r;
 *     if (actlab_stats_paired(acc_swish, acc_relu, nseeds, NULL, &r, err, sizeof err)) ...
 *     p[k] = r.wilcoxon.p;
 *     ...
 *     actlab_stats_holm(p, m, p_adj, err, sizeof err);
 *
 * Conventions shared by every function:
 *  - Failed runs are non-finite cells (NaN, and +-inf from a diverged loss):
 *    they are skipped, pairs are dropped when either side is non-finite, and
 *    every result says how many values it used. Skipping all of them is not an
 *    error: the result then has n = 0 and NaN statistics.
 *  - Quantities that need more data than there is are NaN (the standard
 *    deviation and interval of one value, the t-test of one pair).
 *  - p-values are two-sided.
 *  - Invalid input (n < 1, NULL arrays, a level outside (0, 1), a negative
 *    tolerance, an exact test asked for too many values) returns -1 with a
 *    message in err; nothing prints and nothing exits.
 */
#ifndef ACTLAB_STATS_H
#define ACTLAB_STATS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- descriptive ---- */

typedef struct actlab_stats_summary {
    size_t n_given;          /* cells passed in */
    size_t n;                /* finite cells used */
    double mean;
    double sd;               /* sample standard deviation (divisor n - 1); NaN when n < 2 */
    double conf;             /* level of the interval, e.g. 0.95 */
    double ci_lo, ci_hi;     /* mean -+ t_{(1+conf)/2, n-1} sd / sqrt(n); NaN when n < 2 */
    double min, max, median; /* median: mean of the two middle values when n is even */
} actlab_stats_summary;

/* Summary of x[0..n): mean, sample sd, Student-t confidence interval of the
 * mean at level conf (0.95 for 95 %), min, max, median of the finite values.
 * Matches numpy mean/std(ddof=1)/median and scipy.stats.t.interval(conf,
 * n-1, mean, sem) (to 1e-9: scipy 1.10's t quantile is the less accurate one;
 * GSL's agrees with 40-digit mpmath). -1 when n < 1, x is NULL or conf is not
 * in (0, 1). */
int actlab_stats_describe(const double *x, size_t n, double conf, actlab_stats_summary *out, char *err,
                          size_t errlen);

/* ---- Wilcoxon signed-rank test ---- */

typedef enum actlab_stats_method {
    ACTLAB_STATS_AUTO = 0,   /* exact when at most ACTLAB_STATS_EXACT_AUTO_N differences are ranked */
    ACTLAB_STATS_EXACT = 1,  /* exact null distribution (at most ACTLAB_STATS_EXACT_MAX_N ranked) */
    ACTLAB_STATS_APPROX = 2, /* normal approximation */
} actlab_stats_method;

/* AUTO's cut-off: scipy's (its method='auto' is exact up to 50); R's is n < 50. */
#define ACTLAB_STATS_EXACT_AUTO_N 50
/* The exact distribution costs O(n^3) time and O(n^2) memory. */
#define ACTLAB_STATS_EXACT_MAX_N 500

typedef struct actlab_stats_wilcoxon_result {
    size_t n;                 /* finite differences */
    size_t n_zero;            /* of them, zero: dropped before ranking */
    size_t n_ranked;          /* nonzero differences: the test's sample size */
    double w_plus, w_minus;   /* sums of the (mid-)ranks of |d| over d > 0 and over d < 0 */
    double statistic;         /* min(w_plus, w_minus), what scipy and R's V report as T */
    double z;                 /* normal-approximation z (with corrections); NaN when exact */
    double p;                 /* two-sided p; 1 when nothing is ranked; NaN when n = 0 */
    int exact;                /* 1: exact distribution, 0: normal approximation */
    int ties;                 /* 1: |d| had ties, mid-ranks were used */
} actlab_stats_wilcoxon_result;

/* Wilcoxon signed-rank test of the differences d[0..n) against a symmetric
 * distribution about 0.
 *  - Zeros are dropped before ranking (zero_method "wilcox": scipy's default and
 *    R's wilcox.test); |d| <= eq_tol counts as zero.
 *  - Ties in |d| get mid-ranks; values within eq_tol of the first value of a run
 *    of sorted |d| tie (eq_tol = 0: exact equality, as scipy and R).
 *  - Exact: the null distribution of W+ over all 2^n sign assignments of the
 *    ranks actually observed (mid-ranks included, counted on doubled ranks so
 *    they stay integers), by a dynamic programme over the ranks; p =
 *    min(1, 2 min(P(W+ <= w), P(W+ >= w))). Without ties this is scipy's
 *    method='exact' and R's exact p; with ties it is the exact conditional
 *    test of R's exactRankTests::wilcox.exact / coin::wilcoxsign_test
 *    (scipy 1.10 has no exact test with ties: it truncates W+).
 *  - Approximation: z = (T - n(n+1)/4 - 0.5 sign(T - n(n+1)/4)) / sigma, with
 *    T = min(W+, W-), sigma^2 = n(n+1)(2n+1)/24 - sum(t^3 - t)/48 over tie
 *    groups of size t; p = 2 P(Z > |z|): scipy's method='approx',
 *    correction=True, and R's correct=TRUE.
 * -1 when n < 1, d is NULL, eq_tol is negative or NaN, or method is EXACT with
 * more than ACTLAB_STATS_EXACT_MAX_N ranked values (or memory runs out). */
int actlab_stats_wilcoxon(const double *d, size_t n, double eq_tol, actlab_stats_method method,
                          actlab_stats_wilcoxon_result *out, char *err, size_t errlen);

/* ---- paired comparison ---- */

typedef struct actlab_stats_paired_opts {
    double conf;                /* level of the intervals; default 0.95 */
    double tie_tol;             /* |x - y| <= tie_tol is a tie in win/tie/loss; default 0 */
    actlab_stats_method method; /* Wilcoxon p; default ACTLAB_STATS_AUTO */
} actlab_stats_paired_opts;

/* conf 0.95, tie_tol 0, method AUTO. */
actlab_stats_paired_opts actlab_stats_paired_defaults(void);

typedef struct actlab_stats_paired_result {
    size_t n_given;              /* pairs passed in */
    size_t n;                    /* pairs with both values finite: the ones used */
    actlab_stats_summary diff;   /* describe() of d = x - y: mean difference, its sd and interval */
    double t, df, p_t;           /* paired t-test: t = mean(d) / (sd(d) / sqrt(n)), df = n - 1 */
    double d_z;                  /* effect size, Cohen's d_z = mean(d) / sd(d) */
    size_t wins, ties, losses;   /* d > tie_tol, |d| <= tie_tol, d < -tie_tol */
    double eq_tol;               /* rounding-noise level below which differences are 0 (see below) */
    actlab_stats_wilcoxon_result wilcoxon;
} actlab_stats_paired_result;

/* Compares x (the candidate) with y (the baseline) paired by index (seed k
 * gives both the same initial weights and data order). d = x - y, so a win is
 * x greater: pass the arguments the other way round when lower is better.
 *  - Accuracies are ratios k/N stored as doubles, so two equal differences can
 *    differ in the last bits. Differences within eq_tol = 8 DBL_EPSILON
 *    max(|x|, |y|) (over the pairs used) are rounding noise: such a d is set to
 *    0, and |d| within eq_tol tie in the Wilcoxon ranks. Above that level the
 *    results are scipy's and R's.
 *  - Paired t-test as scipy.stats.ttest_rel (p from GSL's t distribution).
 *    When sd(d) = 0: t = d_z = 0 and p_t = 1 if mean(d) = 0, else t = d_z =
 *    +-inf and p_t = 0 (scipy gives NaN for the first); NaN when n < 2.
 * opts NULL means actlab_stats_paired_defaults(). -1 when n < 1, x or y is
 * NULL, conf is not in (0, 1), tie_tol is negative or NaN, or the Wilcoxon
 * test refuses (see actlab_stats_wilcoxon). */
int actlab_stats_paired(const double *x, const double *y, size_t n, const actlab_stats_paired_opts *opts,
                        actlab_stats_paired_result *out, char *err, size_t errlen);

/* ---- multiple comparisons ---- */

/* Holm-Bonferroni step-down adjusted p-values of m tests, in input order:
 * sorted ascending, adj_(i) = min(1, max_{j <= i} (m - j + 1) p_(j)). Matches
 * R's p.adjust(method = "holm") and statsmodels' multipletests(method="holm").
 * NaN p-values (tests that could not be run) stay NaN and do not count in m.
 * adj may be p itself. -1 when m < 1, an array is NULL, a p is outside
 * [0, 1], or memory runs out. */
int actlab_stats_holm(const double *p, size_t m, double *adj, char *err, size_t errlen);

/* Bonferroni: adj_i = min(1, m p_i), same conventions as actlab_stats_holm
 * (R's p.adjust(method = "bonferroni")). */
int actlab_stats_bonferroni(const double *p, size_t m, double *adj, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
