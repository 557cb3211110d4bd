/*
 * report_internal.h — what the report's files share: the cells read from the
 * compare directories (report_read.c), the main table computed from them
 * (report_table.c), and the writers (report_md.c, report_html.c), tied
 * together by report.c. Exposed to tests/test_report.c so the numbers can be
 * checked directly, not parsed back out of text.
 */
#ifndef ACTLAB_REPORT_INTERNAL_H
#define ACTLAB_REPORT_INTERNAL_H

#include <stddef.h>
#include "actlab/report.h"
#include "actlab/stats.h"

#define RP_MAX_TARGETS 8

typedef enum rp_state { RP_DONE = 0, RP_FAILED = 1, RP_RUNNING = 2 } rp_state;

/* One epoch's record; NaN (or 0 layers) where metrics.jsonl lacks a field. */
typedef struct rp_epoch {
    double epoch, train_loss, train_acc, test_loss, test_acc, seconds, act_share;
    int nlayers;                 /* probe layers */
    double *dead, *mean, *param; /* [nlayers]; param: mean of the first learnable parameter */
} rp_epoch;

typedef struct rp_cell {
    char *data, *model, *act; /* act: the spec (compare.json's, else config.json's, else the folder) */
    char *act_slug;
    long seed;
    char *dir, *src;          /* the run folder; the compare directory it came from */
    rp_state state;
    char *error;              /* status.json's error, or NULL */
    rp_epoch *ep;
    int nep;
    char **layer;             /* probe layer names of the last epoch with a probe [nlayers] */
    int nlayers;
    char *param_name;         /* the learnable parameter plotted, or NULL */
    double final_acc, final_loss; /* NaN when unknown */
    int ntargets;
    char *target_key[RP_MAX_TARGETS];
    double target_value[RP_MAX_TARGETS];
    double target_epoch[RP_MAX_TARGETS]; /* NaN: not reached */
} rp_cell;

typedef struct rp_set {
    rp_cell *cells;
    int ncells, cap;
    char **acts;        /* activation specs in order: compare.json's, then ones found */
    int nacts;
    char *baseline;     /* the baseline's spec (one of acts when present) */
    char **settings;    /* "key: value" lines for the settings section */
    int nsettings;
    double conf, tie_tol;
} rp_set;

typedef struct rp_row {
    const char *act;
    int act_index;                    /* into set->acts: the colour */
    int n_done, n_failed, n_running;
    actlab_stats_summary acc;         /* final test accuracy over done seeds */
    double best, loss, epoch_s, act_share, dead;
    int target_reached[RP_MAX_TARGETS], target_n[RP_MAX_TARGETS];
    double target_epochs[RP_MAX_TARGETS];
    int is_baseline, has_test;        /* has_test: paired against the baseline */
    size_t npairs;
    double diff, p_w, p_t, p_w_holm, p_t_holm;
    size_t wins, ties, losses;
} rp_row;

typedef struct rp_group {
    const char *data, *model;
    rp_row *rows;
    int nrows;
    int ntargets;
    char *target_key[RP_MAX_TARGETS];
    double target_value[RP_MAX_TARGETS];
    int has_baseline;
} rp_group;

/* report_read.c: every cell of the directories into set (duplicates across
 * directories are an error naming both). baseline: NULL for compare.json's. */
int rp_read(rp_set *set, const char *const *dirs, int ndirs, const char *baseline, char *err, size_t errlen);
void rp_set_free(rp_set *set);
/* 1 when two activation specs mean the same function (same canonical text). */
int rp_same_act(const char *a, const char *b);

/* report_table.c: the main table, one group per (data set, model). */
int rp_groups(const rp_set *set, rp_group **groups, int *ngroups, char *err, size_t errlen);
void rp_groups_free(rp_group *groups, int ngroups);
/* The table as aligned plain text (what the command prints). */
char *rp_table_text(const rp_set *set, const rp_group *groups, int ngroups);

/* Cells of one (data, model, act) in seed order. */
int rp_cells_of(const rp_set *set, const char *data, const char *model, const char *act, const rp_cell **out,
                int max);

/* report_md.c, report_html.c: the documents as malloc'd strings (NULL: out of memory). */
char *rp_markdown(const rp_set *set, const rp_group *groups, int ngroups);
char *rp_html(const rp_set *set, const rp_group *groups, int ngroups, char *err, size_t errlen);

typedef struct rp_buf {
    char *s;
    size_t len, cap;
    int oom;
} rp_buf;

/* report_plots.c: a group's plots, and the functions with their derivatives, as <figure>s with inline SVG. */
int rp_group_plots(rp_buf *b, const rp_set *set, const rp_group *g, int gi, char *err, size_t errlen);
int rp_function_plot(rp_buf *b, const rp_set *set, char *err, size_t errlen);

/* report_fmt.c: a growing string and the cell formats shared by the writers. */
void rp_printf(rp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rp_puts(rp_buf *b, const char *s);
/* HTML-escaped text. */
void rp_html_text(rp_buf *b, const char *s);
/* The columns of the main table; each cell's text for row r ("—" when unknown). */
typedef enum rp_col {
    RP_COL_ACT, RP_COL_N, RP_COL_ACC, RP_COL_CI, RP_COL_BEST, RP_COL_LOSS, RP_COL_EPOCH_S, RP_COL_SHARE,
    RP_COL_TARGET0, /* one per target, then: */
    RP_COL_DEAD = RP_COL_TARGET0 + RP_MAX_TARGETS, RP_COL_DIFF, RP_COL_PW, RP_COL_PT, RP_COL_WTL, RP_COL_END
} rp_col;
/* Whether group g shows column c (target columns only for its targets). */
int rp_col_shown(const rp_group *g, int c);
void rp_col_header(const rp_set *set, const rp_group *g, int c, char *buf, size_t len);
void rp_col_cell(const rp_set *set, const rp_group *g, const rp_row *r, int c, char *buf, size_t len);

#endif
