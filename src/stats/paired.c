/* paired.c — candidate against baseline over paired seeds: the differences'
 * summary, paired t-test, Cohen's d_z, win/tie/loss and the Wilcoxon test. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_cdf.h>

#include "actlab/stats.h"
#include "util/error.h"

actlab_stats_paired_opts actlab_stats_paired_defaults(void) {
    return (actlab_stats_paired_opts){.conf = 0.95, .tie_tol = 0, .method = ACTLAB_STATS_AUTO};
}

int actlab_stats_paired(const double *x, const double *y, size_t n, const actlab_stats_paired_opts *opts,
                        actlab_stats_paired_result *out, char *err, size_t errlen) {
    actlab_stats_paired_opts o = opts ? *opts : actlab_stats_paired_defaults();
    if (!out) return actlab_errorf(err, errlen, "paired: no result to fill");
    if (!x || !y || n < 1) return actlab_errorf(err, errlen, "paired: no pairs (n = %zu)", n);
    if (!(o.conf > 0 && o.conf < 1))
        return actlab_errorf(err, errlen, "paired: confidence level %g is not in (0, 1)", o.conf);
    if (!(o.tie_tol >= 0)) return actlab_errorf(err, errlen, "paired: tie tolerance %g is not >= 0", o.tie_tol);
    *out = (actlab_stats_paired_result){.n_given = n, .t = NAN, .df = NAN, .p_t = NAN, .d_z = NAN};

    double *d = malloc(n * sizeof *d);
    if (!d) return actlab_errorf(err, errlen, "paired: out of memory for %zu pairs", n);
    size_t m = 0;
    double scale = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i])) continue; /* a failed run on either side */
        d[m++] = x[i] - y[i];
        scale = fmax(scale, fmax(fabs(x[i]), fabs(y[i])));
    }
    out->n = m;
    /* The inputs are rounded to the nearest double (k/N accuracies), so their
     * difference carries up to about 1 ulp of max(|x|, |y|) of noise; 8 ulp
     * keeps equal differences equal and is far below any real one. */
    double eq_tol = 8 * DBL_EPSILON * scale;
    out->eq_tol = eq_tol;
    for (size_t i = 0; i < m; i++) {
        if (fabs(d[i]) <= eq_tol) d[i] = 0;
        if (d[i] > o.tie_tol) out->wins++;
        else if (d[i] < -o.tie_tol) out->losses++;
        else out->ties++;
    }

    /* With no usable pair, describe and wilcoxon still fill NaN results; pass them one NaN cell. */
    double nan_cell = NAN;
    const double *dd = m ? d : &nan_cell;
    size_t dn = m ? m : 1;
    int rc = actlab_stats_describe(dd, dn, o.conf, &out->diff, err, errlen);
    if (rc == 0) rc = actlab_stats_wilcoxon(dd, dn, eq_tol, o.method, &out->wilcoxon, err, errlen);
    free(d);
    if (rc) return rc;
    out->diff.n_given = n;

    if (m >= 2) {
        double mean = out->diff.mean, sd = out->diff.sd;
        out->df = (double)(m - 1);
        if (sd > 0) {
            out->d_z = mean / sd;
            out->t = out->d_z * sqrt((double)m);
            out->p_t = 2 * gsl_cdf_tdist_Q(fabs(out->t), out->df);
        } else if (mean == 0) {
            /* Every difference is 0: no evidence either way. */
            out->t = out->d_z = 0;
            out->p_t = 1;
        } else {
            /* Every difference is the same nonzero value: the limit sd -> 0. */
            out->t = out->d_z = copysign(INFINITY, mean);
            out->p_t = 0;
        }
    }
    return 0;
}
