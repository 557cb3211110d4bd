/*
 * actlab/report.h — the comparison report: from the run folders of one or more
 * `actlab compare` directories, the main table (per activation: accuracy mean
 * +- std and 95 % interval, best, final loss, time per epoch, activation time
 * share, epochs to target, dead fraction, and against the baseline: mean
 * paired difference, Wilcoxon signed-rank p and paired t p, Holm-corrected,
 * win/tie/loss), written as report.md and as one self-contained report.html
 * (inline SVG plots, no network).
 *
 * A compare directory holds compare.json (the grid) and one run folder per
 * cell: DIR/cells/<data>/<model>/<act>/seed-<k>/ with config.json,
 * metrics.jsonl, final.json (as `actlab train` writes them) and status.json
 * ({"state": "done" | "failed" | "running", "error": "..."}).
 */
#ifndef ACTLAB_REPORT_H
#define ACTLAB_REPORT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct actlab_report_options {
    const char *baseline; /* activation spec as in compare.json; NULL: the first of the first directory */
    double conf;          /* confidence level of the intervals (0.95) */
    double tie_tol;       /* accuracy differences within this count as ties (0) */
} actlab_report_options;

actlab_report_options actlab_report_options_default(void);

/*
 * Reads every cell of the directories (merging them: cells of the same data set,
 * model, activation and seed from two directories are an error naming both),
 * writes out_dir/report.md and out_dir/report.html atomically (temporary file +
 * rename), and puts the main table as plain text into table (like snprintf,
 * truncated to tablelen; may be NULL). Returns 0, or -1 with a message.
 */
int actlab_report_build(const char *const *dirs, int ndirs, const char *out_dir, const actlab_report_options *opt,
                        char *table, size_t tablelen, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
