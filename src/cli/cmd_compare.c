/*
 * cmd_compare.c — `actlab compare`: the grid of activation functions x models x
 * data sets x seeds (actlab/compare.h), then the report (actlab/report.h).
 * Exit status: 0 every cell done, 1 some cell failed (or the report could not
 * be built), 2 bad input or a grid that does not fit OUT, 3 stopped by
 * --stop-after (tests: the cell stays resumable, as after Ctrl-C).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "actlab/compare.h"
#include "actlab/data.h"
#include "actlab/optim.h"
#include "actlab/report.h"
#include "cli.h"

static void compare_usage(void) {
    puts("usage: actlab compare --acts A[,A...] [--acts-file FILE] [--model M[,M...]] [--data D[,D...]] [--seeds N]\n"
         "                      [--seed-base S] [--out DIR] [--baseline A] [--targets 0.8,0.9] [--retry-failed]\n"
         "                      [--defs FILE] [--recipe FILE] [any flag of actlab train: --epochs --batch --lr --optim\n"
         "                      --momentum --nesterov --weight-decay --act-weight-decay --act-per-channel --schedule\n"
         "                      --threads --subset --test-subset --augment --crop-pad --val-split --val-seed --probe]\n"
         "Trains every function on every model and data set with seeds S..S+N-1 (default 1..5), ReLU's init\n"
         "gain for all, so one seed gives every function the same initial weights and data order (paired runs).\n"
         "Cells: DIR/cells/<data>/<model>/<act>/seed-<S>/ (a train run folder, status.json, train.log);\n"
         "the grid: DIR/compare.json; the report: DIR/report.md, DIR/report.html. Default --out cmp/run.\n"
         "--acts: items separated by commas; a 'key=value' piece continues the previous item's parameters\n"
         "(softplus:beta=2,threshold=10,elu is two items); an expr: item takes the rest of the list, so give\n"
         "formulas last, in another --acts (it may be repeated), or in --acts-file (one function per line).\n"
         "A rerun skips done cells, resumes interrupted ones, leaves failed ones (--retry-failed runs them\n"
         "again) and may add functions, models, data sets and seeds; other changes are refused.\n"
         "--targets: test accuracies whose first epoch every cell records (final.json) for the report.\n"
         "Exit status: 0 all cells done, 1 some failed, 2 bad input.");
}

typedef struct list {
    char **s;
    int n;
} list;

static int push(list *l, const char *s, size_t len) {
    char **g = realloc(l->s, sizeof *g * (size_t)(l->n + 1));
    if (!g) return -1;
    l->s = g;
    if (!(l->s[l->n] = strndup(s, len))) return -1;
    l->n++;
    return 0;
}

static void clear(list *l) {
    for (int i = 0; i < l->n; i++) free(l->s[i]);
    free(l->s);
    l->s = NULL, l->n = 0;
}

/* Models: plain comma-separated names or paths. Data sets: a piece without ':' or '/'
 * after an item with ':' is one of its options (folder:DIR,size=64x64,grey). */
static int split_list(const char *flag, const char *v, int options, list *out) {
    clear(out);
    const char *s = v;
    while (1) {
        const char *end = strchr(s, ',');
        while (options && end && strchr(s, ':') && strchr(s, ':') < end) {
            const char *next = end + 1, *stop = strchr(next, ',');
            size_t len = stop ? (size_t)(stop - next) : strlen(next);
            if (memchr(next, ':', len) || memchr(next, '/', len)) break;
            end = stop;
        }
        size_t len = end ? (size_t)(end - s) : strlen(s);
        if (!len) return cli_fail("compare", "%s: an empty item in '%s'", flag, v);
        if (push(out, s, len)) return cli_fail("compare", "out of memory");
        if (!end) break;
        s = end + 1;
    }
    return 0;
}

static int read_acts_file(const char *path, list *acts) {
    FILE *f = fopen(path, "r");
    if (!f) return cli_fail("compare", "--acts-file: cannot read %s", path);
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        char *s = line, *e;
        while (*s == ' ' || *s == '\t') s++;
        e = s + strlen(s);
        while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t')) e--;
        if (e == s || *s == '#') continue; /* blank lines and comments */
        if (push(acts, s, (size_t)(e - s))) {
            fclose(f);
            return cli_fail("compare", "out of memory");
        }
    }
    fclose(f);
    return 0;
}

static int number(const char *flag, const char *v, double lo, double hi, int integer, double *out) {
    if (!v || cli_parse_double(v, out) || !(*out >= lo && *out <= hi) || (integer && *out != floor(*out))) {
        cli_fail("compare", "%s expects %s in [%g, %g], got '%s'", flag, integer ? "a whole number" : "a number", lo, hi,
                 v ? v : "nothing");
        return -1;
    }
    return 0;
}

static int compare_main(int argc, char **argv);

/* --recipe FILE: its settings go first, the command line's flags after them (and win). */
int cmd_compare(int argc, char **argv) { return cli_with_recipe("compare", argc, argv, compare_main); }

static int compare_main(int argc, char **argv) {
    actlab_compare_config c;
    memset(&c, 0, sizeof c);
    c.train = actlab_train_config_default();
    c.seeds = 5, c.seed_base = 1, c.out = "cmp/run", c.log = stdout;
    list acts = {0}, models = {0}, data = {0}, paths = {0};
    double targets[16];
    int rc = 2;
    char e[256];
    actlab_augment aug = {0};
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        double d;
        int dd = cli_defs_flag("compare", argc, argv, &i);
        if (dd < 0) goto out;
        if (dd) continue;
        if (!strcmp(f, "--help")) { compare_usage(); rc = 0; goto out; }
        else if (!strcmp(f, "--act-per-channel")) c.train.act_per_channel = 1;
        else if (!strcmp(f, "--nesterov")) c.train.nesterov = 1;
        else if (!strcmp(f, "--verbose")) c.train.verbose = 1;
        else if (!strcmp(f, "--retry-failed")) c.retry_failed = 1;
        else if (!strcmp(f, "--act") || !strcmp(f, "--act-param") || !strcmp(f, "--seed") || !strcmp(f, "--resume") ||
                 !strcmp(f, "--init-gain")) {
            cli_fail("compare", "%s is not a compare flag: compare takes --acts, --seeds and --seed-base, resumes by itself, "
                     "and initialises every function with ReLU's gain so that runs pair by seed", f);
            goto out;
        }
        else if (!v || (v[0] == '-' && v[1] == '-')) { cli_fail("compare", "unknown flag or missing value: '%s' (see actlab compare --help)", f); goto out; }
        else if (!strcmp(f, "--acts")) {
            char **items;
            int n;
            char err[512];
            if (actlab_compare_split_acts(v, &items, &n, err, sizeof err)) { cli_fail("compare", "%s", err); goto out; }
            for (int k = 0; k < n; k++) push(&acts, items[k], strlen(items[k]));
            actlab_compare_free_list(items, n);
            i++;
        }
        else if (!strcmp(f, "--acts-file")) { if (read_acts_file(v, &acts)) goto out; i++; }
        else if (!strcmp(f, "--model")) { if (split_list(f, v, 0, &models)) goto out; i++; }
        else if (!strcmp(f, "--data")) { if (split_list(f, v, 1, &data)) goto out; i++; }
        else if (!strcmp(f, "--seeds")) { if (number(f, v, 1, 100000, 1, &d)) goto out; c.seeds = (int)d, i++; }
        else if (!strcmp(f, "--seed-base")) { if (number(f, v, 0, 9007199254740992.0, 1, &d)) goto out; c.seed_base = (uint64_t)d, i++; }
        else if (!strcmp(f, "--out")) c.out = v, i++;
        else if (!strcmp(f, "--baseline")) c.baseline = v, i++;
        else if (!strcmp(f, "--targets")) {
            c.ntargets = 0;
            for (const char *s = v; *s;) {
                char *end;
                double t = strtod(s, &end);
                if (end == s || (*end && *end != ',') || c.ntargets == 16 || !(t > 0 && t <= 1)) {
                    cli_fail("compare", "--targets expects up to 16 accuracies in (0, 1] separated by commas, got '%s'", v);
                    goto out;
                }
                targets[c.ntargets++] = t;
                s = *end ? end + 1 : end;
            }
            i++;
        }
        else if (!strcmp(f, "--optim")) {
            if (!actlab_optim_parse_kind(v)) { cli_fail("compare", "--optim: expected sgd or adam, got '%s'", v); goto out; }
            c.train.optim = v, i++;
        }
        else if (!strcmp(f, "--schedule")) {
            actlab_schedule sch;
            if (actlab_schedule_parse(v, 0.01, &sch, e, sizeof e)) { cli_fail("compare", "--schedule: %s", e); goto out; }
            c.train.schedule = v, i++;
        }
        else if (!strcmp(f, "--epochs")) { if (number(f, v, 1, 1e6, 1, &d)) goto out; c.train.epochs = (int)d, i++; }
        else if (!strcmp(f, "--batch")) { if (number(f, v, 1, 65536, 1, &d)) goto out; c.train.batch = (int)d, i++; }
        else if (!strcmp(f, "--lr")) { if (number(f, v, 0, 1e3, 0, &d)) goto out; c.train.lr = d, i++; }
        else if (!strcmp(f, "--momentum")) { if (number(f, v, 0, 0.999999, 0, &d)) goto out; c.train.momentum = d, i++; }
        else if (!strcmp(f, "--weight-decay")) { if (number(f, v, 0, 1, 0, &d)) goto out; c.train.weight_decay = d, i++; }
        else if (!strcmp(f, "--act-weight-decay")) { if (number(f, v, 0, 1, 0, &d)) goto out; c.train.act_weight_decay = d, i++; }
        else if (!strcmp(f, "--threads")) { if (number(f, v, 1, 1024, 1, &d)) goto out; c.train.threads = (int)d, i++; }
        else if (!strcmp(f, "--subset")) { if (number(f, v, 1, 1e12, 1, &d)) goto out; c.train.train_subset = (int64_t)d, i++; }
        else if (!strcmp(f, "--test-subset")) { if (number(f, v, 1, 1e12, 1, &d)) goto out; c.train.test_subset = (int64_t)d, i++; }
        else if (!strcmp(f, "--augment")) {
            if (actlab_augment_parse(v, 4, &aug, e, sizeof e)) { cli_fail("compare", "--augment: %s", e); goto out; }
            c.train.augment = v, i++;
        }
        else if (!strcmp(f, "--crop-pad")) { if (number(f, v, 1, 1024, 1, &d)) goto out; c.train.crop_pad = (int)d, i++; }
        else if (!strcmp(f, "--val-split")) {
            if (cli_parse_double(v, &d) || !(d > 0 && d < 1)) { cli_fail("compare", "--val-split expects a fraction above 0 and below 1, got '%s'", v); goto out; }
            c.train.val_split = d, i++;
        }
        else if (!strcmp(f, "--val-seed")) { if (number(f, v, 0, 9007199254740992.0, 1, &d)) goto out; c.train.val_seed = (uint64_t)d, i++; }
        else if (!strcmp(f, "--probe")) { if (number(f, v, 0, 1e9, 1, &d)) goto out; c.train.probe = (int64_t)d, i++; }
        else if (!strcmp(f, "--stop-after")) { if (number(f, v, 1, 1e15, 1, &d)) goto out; c.train.stop_after = (int64_t)d, i++; }
        else { cli_fail("compare", "unknown flag '%s' (see actlab compare --help)", f); goto out; }
    }
    if (c.train.crop_pad && !aug.pad) { cli_fail("compare", "--crop-pad needs --augment crop (or crop,flip)"); goto out; }
    if (!acts.n) { cli_fail("compare", "which functions? --acts relu,elu (or --acts-file FILE)"); goto out; }
    /* every function checked before anything trains: a typo fails now, with suggestions */
    for (int k = 0; k < acts.n; k++) {
        actlab_act_cfg a;
        if (cli_parse_act("compare", acts.s[k], &a)) goto out;
    }
    if (!models.n) push(&models, "lenet", 5);
    if (!data.n) push(&data, "fashion-mnist", 13);
    for (int k = 0; k < models.n; k++) {
        char path[4096], full[4096];
        if (cli_model_path(models.s[k], path, sizeof path)) { cli_fail("compare", "no model '%s': %s", models.s[k], path); goto out; }
        /* absolute, so that a rerun from another directory resumes the same run */
        if (!realpath(path, full)) snprintf(full, sizeof full, "%s", path);
        push(&paths, full, strlen(full));
    }
    c.acts = (const char *const *)acts.s, c.nacts = acts.n;
    c.models = (const char *const *)models.s, c.model_paths = (const char *const *)paths.s, c.nmodels = models.n;
    c.data = (const char *const *)data.s, c.ndata = data.n;
    c.targets = targets;

    char err[4096];
    actlab_compare_summary s;
    if (actlab_compare_run(&c, &s, err, sizeof err)) {
        cli_fail("compare", "%s", err);
        rc = s.cells ? 1 : 2; /* refused before any cell: bad input */
        goto out;
    }
    if (s.stopped) {
        printf("stopped (--stop-after); %d of %d cells done, rerun to resume\n", s.done, s.cells);
        rc = 3;
        goto out;
    }
    printf("%d cells: %d done, %d failed (this run trained %d, of them %d resumed; %d finished earlier)\n", s.cells, s.done,
           s.failed, s.trained, s.resumed, s.skipped);
    rc = s.failed ? 1 : 0;
    if (s.failed) printf("some cells failed: their status.json and train.log say why; the exit status is 1\n");

    static char table[65536];
    const char *dirs[] = {c.out};
    actlab_report_options opts = actlab_report_options_default();
    opts.baseline = c.baseline;
    if (actlab_report_build(dirs, 1, c.out, &opts, table, sizeof table, err, sizeof err)) {
        cli_fail("compare", "report: %s", err);
        rc = 1;
        goto out;
    }
    fputs(table, stdout);
    if (table[0] && table[strlen(table) - 1] != '\n') putchar('\n');
    printf("report: %s/report.html\n", c.out);
out:
    clear(&acts), clear(&models), clear(&data), clear(&paths);
    return rc;
}
