/* multiple.c — adjusted p-values for m tests: Holm's step-down and Bonferroni. */
#include <math.h>
#include <stdlib.h>

#include "actlab/stats.h"
#include "util/error.h"

typedef struct indexed {
    double p;
    size_t i;
} indexed;

/* By p, then by input position, so equal p-values keep their order (qsort is not stable). */
static int cmp_indexed(const void *a, const void *b) {
    const indexed *u = a, *v = b;
    if (u->p != v->p) return (u->p > v->p) - (u->p < v->p);
    return (u->i > v->i) - (u->i < v->i);
}

/* Counts the p-values that take part (NaN ones do not); -1 when one is outside [0, 1]. */
static int count_tests(const char *who, const double *p, size_t m, double *adj, size_t *used, char *err,
                       size_t errlen) {
    if (!p || !adj || m < 1) return actlab_errorf(err, errlen, "%s: no p-values (m = %zu)", who, m);
    size_t k = 0;
    for (size_t i = 0; i < m; i++) {
        if (isnan(p[i])) continue;
        if (!(p[i] >= 0 && p[i] <= 1))
            return actlab_errorf(err, errlen, "%s: p-value %zu is %g, not in [0, 1]", who, i + 1, p[i]);
        k++;
    }
    *used = k;
    return 0;
}

int actlab_stats_bonferroni(const double *p, size_t m, double *adj, char *err, size_t errlen) {
    size_t k = 0;
    if (count_tests("bonferroni", p, m, adj, &k, err, errlen)) return -1;
    for (size_t i = 0; i < m; i++) adj[i] = isnan(p[i]) ? NAN : fmin(1.0, (double)k * p[i]);
    return 0;
}

int actlab_stats_holm(const double *p, size_t m, double *adj, char *err, size_t errlen) {
    size_t k = 0;
    if (count_tests("holm", p, m, adj, &k, err, errlen)) return -1;
    indexed *s = malloc((k ? k : 1) * sizeof *s);
    if (!s) return actlab_errorf(err, errlen, "holm: out of memory for %zu p-values", m);
    size_t j = 0;
    for (size_t i = 0; i < m; i++)
        if (isnan(p[i])) adj[i] = NAN;
        else s[j++] = (indexed){p[i], i};
    qsort(s, k, sizeof *s, cmp_indexed);
    /* Step-down: the j-th smallest is multiplied by the number of hypotheses
     * still standing, and the running maximum keeps the adjusted values in the
     * order of the raw ones. s holds copies, so writing adj over p is safe. */
    double run = 0;
    for (j = 0; j < k; j++) {
        run = fmax(run, fmin(1.0, (double)(k - j) * s[j].p));
        adj[s[j].i] = run;
    }
    free(s);
    return 0;
}
