/* describe.c — mean, sample sd, Student-t interval, min, max, median of the
 * finite values of a sample (non-finite cells are failed runs). */
#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_cdf.h>

#include "actlab/stats.h"
#include "util/error.h"

static int cmp_double(const void *a, const void *b) {
    double u = *(const double *)a, v = *(const double *)b;
    return (u > v) - (u < v);
}

int actlab_stats_describe(const double *x, size_t n, double conf, actlab_stats_summary *out, char *err,
                          size_t errlen) {
    if (!out) return actlab_errorf(err, errlen, "describe: no result to fill");
    if (!x || n < 1) return actlab_errorf(err, errlen, "describe: no values (n = %zu)", n);
    if (!(conf > 0 && conf < 1)) return actlab_errorf(err, errlen, "describe: confidence level %g is not in (0, 1)", conf);
    *out = (actlab_stats_summary){.n_given = n, .conf = conf, .mean = NAN, .sd = NAN, .ci_lo = NAN, .ci_hi = NAN,
                                  .min = NAN, .max = NAN, .median = NAN};
    double *v = malloc(n * sizeof *v);
    if (!v) return actlab_errorf(err, errlen, "describe: out of memory for %zu values", n);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i])) v[m++] = x[i];
    out->n = m;
    if (m == 0) {
        free(v);
        return 0;
    }
    qsort(v, m, sizeof *v, cmp_double);
    out->min = v[0];
    out->max = v[m - 1];
    out->median = m % 2 ? v[m / 2] : 0.5 * (v[m / 2 - 1] + v[m / 2]);
    /* Two passes: the sum of squared deviations from the mean, not sum x^2 - n mean^2,
     * which cancels catastrophically for accuracies that agree to 4 digits. */
    double s = 0;
    for (size_t i = 0; i < m; i++) s += v[i];
    double mean = s / (double)m;
    /* Keep the mean inside [min, max] when rounding pushes it out (all values equal). */
    if (mean < out->min) mean = out->min;
    if (mean > out->max) mean = out->max;
    out->mean = mean;
    if (m >= 2) {
        double ss = 0;
        for (size_t i = 0; i < m; i++) ss += (v[i] - mean) * (v[i] - mean);
        out->sd = sqrt(ss / (double)(m - 1));
        double half = gsl_cdf_tdist_Pinv(0.5 + 0.5 * conf, (double)(m - 1)) * out->sd / sqrt((double)m);
        out->ci_lo = mean - half;
        out->ci_hi = mean + half;
    }
    free(v);
    return 0;
}
