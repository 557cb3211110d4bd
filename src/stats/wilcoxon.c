/* wilcoxon.c — Wilcoxon signed-rank test: zeros dropped, mid-ranks for ties,
 * exact null distribution by a dynamic programme over doubled ranks, or the
 * normal approximation with tie and continuity corrections. */
#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_cdf.h>

#include "actlab/stats.h"
#include "util/error.h"

typedef struct ranked {
    double a;    /* |d| */
    int sign;    /* +1 or -1 */
} ranked;

static int cmp_abs(const void *p, const void *q) {
    const ranked *u = p, *v = q;
    if (u->a != v->a) return (u->a > v->a) - (u->a < v->a);
    return u->sign - v->sign; /* only to make the order deterministic */
}

/* P(W2+ <= w2) and P(W2+ >= w2) where W2+ is the sum of the doubled ranks r2
 * that get a + sign, all 2^n sign vectors equally likely. prob[s] holds
 * P(W2+ = s) over the ranks seen so far; each rank halves the mass and shifts
 * one half by r2. Probabilities, not counts: no overflow, and they stay exact
 * (multiples of 2^-n) up to n = 53. */
static int exact_tails(const long *r2, size_t n, long w2, double *lower, double *upper) {
    long total = 0;
    for (size_t i = 0; i < n; i++) total += r2[i];
    double *prob = calloc((size_t)total + 1, sizeof *prob);
    if (!prob) return -1;
    prob[0] = 1;
    long top = 0; /* largest reachable sum so far */
    for (size_t i = 0; i < n; i++) {
        long r = r2[i];
        top += r;
        for (long s = top; s >= 0; s--) prob[s] = 0.5 * (prob[s] + (s >= r ? prob[s - r] : 0));
    }
    double lo = 0, hi = 0;
    for (long s = 0; s <= total; s++) {
        if (s <= w2) lo += prob[s];
        if (s >= w2) hi += prob[s];
    }
    free(prob);
    *lower = lo;
    *upper = hi;
    return 0;
}

int actlab_stats_wilcoxon(const double *d, size_t n, double eq_tol, actlab_stats_method method,
                          actlab_stats_wilcoxon_result *out, char *err, size_t errlen) {
    if (!out) return actlab_errorf(err, errlen, "wilcoxon: no result to fill");
    if (!d || n < 1) return actlab_errorf(err, errlen, "wilcoxon: no differences (n = %zu)", n);
    if (!(eq_tol >= 0)) return actlab_errorf(err, errlen, "wilcoxon: equality tolerance %g is not >= 0", eq_tol);
    if (method != ACTLAB_STATS_AUTO && method != ACTLAB_STATS_EXACT && method != ACTLAB_STATS_APPROX)
        return actlab_errorf(err, errlen, "wilcoxon: unknown method %d", (int)method);
    *out = (actlab_stats_wilcoxon_result){.w_plus = NAN, .w_minus = NAN, .statistic = NAN, .z = NAN, .p = NAN};

    size_t nfin = 0, nz = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(d[i])) continue;
        nfin++;
        if (fabs(d[i]) <= eq_tol) nz++;
    }
    out->n = nfin;
    out->n_zero = nz;
    out->n_ranked = m = nfin - nz;
    if (nfin == 0) return 0;
    if (method == ACTLAB_STATS_EXACT && m > ACTLAB_STATS_EXACT_MAX_N)
        return actlab_errorf(err, errlen, "wilcoxon: exact test of %zu differences asked; at most %d", m,
                             ACTLAB_STATS_EXACT_MAX_N);
    int exact = method == ACTLAB_STATS_EXACT || (method == ACTLAB_STATS_AUTO && m <= ACTLAB_STATS_EXACT_AUTO_N);
    if (m == 0) {
        /* Nothing to rank: the null distribution is a point mass at W+ = 0, so p = 1. */
        out->w_plus = out->w_minus = out->statistic = 0;
        out->p = 1;
        out->exact = 1;
        return 0;
    }

    ranked *v = malloc(m * sizeof *v);
    long *r2 = malloc(m * sizeof *r2);
    if (!v || !r2) {
        free(v);
        free(r2);
        return actlab_errorf(err, errlen, "wilcoxon: out of memory for %zu differences", m);
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(d[i]) && fabs(d[i]) > eq_tol) v[k++] = (ranked){fabs(d[i]), d[i] > 0 ? 1 : -1};
    qsort(v, m, sizeof *v, cmp_abs);

    /* Mid-ranks, doubled: positions a..b (1-based) of a tie group share rank
     * (a + b) / 2, so 2 x rank = a + b is an integer. */
    long w2_plus = 0;
    double tie_sum = 0; /* sum of t^3 - t over tie groups */
    for (size_t a = 0; a < m;) {
        size_t b = a + 1;
        while (b < m && v[b].a - v[a].a <= eq_tol) b++;
        long two_rank = (long)(a + 1) + (long)b;
        for (size_t i = a; i < b; i++) {
            r2[i] = two_rank;
            if (v[i].sign > 0) w2_plus += two_rank;
        }
        double t = (double)(b - a);
        if (b - a > 1) {
            out->ties = 1;
            tie_sum += t * t * t - t;
        }
        a = b;
    }
    double nm = (double)m, total = nm * (nm + 1) / 2;
    out->w_plus = 0.5 * (double)w2_plus;
    out->w_minus = total - out->w_plus;
    out->statistic = fmin(out->w_plus, out->w_minus);
    out->exact = exact;

    if (exact) {
        double lower, upper;
        if (exact_tails(r2, m, w2_plus, &lower, &upper)) {
            free(v);
            free(r2);
            return actlab_errorf(err, errlen, "wilcoxon: out of memory for the exact distribution of %zu ranks", m);
        }
        out->p = fmin(1.0, 2 * fmin(lower, upper));
    } else {
        double mean = total / 2;
        double sigma = sqrt(nm * (nm + 1) * (2 * nm + 1) / 24 - tie_sum / 48);
        double diff = out->statistic - mean;
        double cc = diff > 0 ? 0.5 : diff < 0 ? -0.5 : 0;
        out->z = (diff - cc) / sigma;
        out->p = fmin(1.0, 2 * gsl_cdf_ugaussian_Q(fabs(out->z)));
    }
    free(v);
    free(r2);
    return 0;
}
