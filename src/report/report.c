/*
 * report.c — actlab_report_build: read the cells, compute the table, write
 * report.md and report.html (each atomically), and hand back the table text.
 */
#include "report/report_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/error.h"

actlab_report_options actlab_report_options_default(void) {
    actlab_report_options o = {NULL, 0.95, 0.0};
    return o;
}

static int write_doc(const char *out_dir, const char *name, char *text, char *err, size_t errlen) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", out_dir, name);
    if (!text) return actlab_errorf(err, errlen, "out of memory writing %s", path);
    int rc = actlab_write_atomic(path, text, strlen(text), err, errlen);
    free(text);
    return rc;
}

int actlab_report_build(const char *const *dirs, int ndirs, const char *out_dir, const actlab_report_options *opt,
                        char *table, size_t tablelen, char *err, size_t errlen) {
    char dummy[8];
    if (!err || !errlen) { err = dummy; errlen = sizeof dummy; }
    err[0] = 0;
    if (table && tablelen) table[0] = 0;
    actlab_report_options o = opt ? *opt : actlab_report_options_default();
    if (!(o.conf > 0 && o.conf < 1)) return actlab_errorf(err, errlen, "the confidence level must be in (0, 1), got %g", o.conf);
    if (!(o.tie_tol >= 0)) return actlab_errorf(err, errlen, "the tie tolerance must be >= 0, got %g", o.tie_tol);
    if (!out_dir) out_dir = ndirs > 0 && dirs ? dirs[0] : NULL;
    if (!out_dir) return actlab_errorf(err, errlen, "no output directory");
    if (mkdir(out_dir, 0777) && errno != EEXIST)
        return actlab_errorf(err, errlen, "cannot create %s: %s", out_dir, strerror(errno));

    rp_set set;
    if (rp_read(&set, dirs, ndirs, o.baseline, err, errlen)) return -1;
    set.conf = o.conf;
    set.tie_tol = o.tie_tol;
    rp_group *groups = NULL;
    int ngroups = 0, rc = -1;
    if (rp_groups(&set, &groups, &ngroups, err, errlen)) goto out;
    if (write_doc(out_dir, "report.md", rp_markdown(&set, groups, ngroups), err, errlen)) goto out;
    char *html = rp_html(&set, groups, ngroups, err, errlen);
    if (!html) goto out;
    if (write_doc(out_dir, "report.html", html, err, errlen)) goto out;
    if (table && tablelen) {
        char *text = rp_table_text(&set, groups, ngroups);
        if (!text) { actlab_errorf(err, errlen, "out of memory"); goto out; }
        snprintf(table, tablelen, "%s", text);
        free(text);
    }
    rc = 0;
out:
    rp_groups_free(groups, ngroups);
    rp_set_free(&set);
    return rc;
}
