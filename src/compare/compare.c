/*
 * compare.c — the comparison grid (see actlab/compare.h): checks the grid,
 * records it in OUT/compare.json, and trains each cell in-process with
 * actlab_train() into its own run folder, with a status.json beside the
 * records so that a rerun knows which cells to skip, resume or leave failed.
 */
#include "actlab/compare.h"
#include "util/error.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actlab/act.h"

#ifndef ACTLAB_VERSION
#define ACTLAB_VERSION "0.1.0"
#endif

void actlab_compare_free_list(char **items, int n) {
    for (int i = 0; i < n; i++) free(items[i]);
    free(items);
}

/* "key=value" continues a parameter list: an identifier, then '=', and no ':'. */
static int is_param_piece(const char *s, size_t len) {
    size_t i = 0;
    while (i < len && (isalnum((unsigned char)s[i]) || s[i] == '_')) i++;
    return i > 0 && i < len && s[i] == '=' && !memchr(s, ':', len);
}

int actlab_compare_split_acts(const char *text, char ***items, int *n, char *err, size_t errlen) {
    *items = NULL, *n = 0;
    size_t cap = strlen(text) + 1; /* never more items than characters */
    char **out = calloc(cap, sizeof *out);
    if (!out) return actlab_errorf(err, errlen, "out of memory");
    int k = 0;
    const char *s = text;
    while (*s) {
        const char *start = s, *end;
        if (!strncmp(s, "expr:", 5)) end = s + strlen(s); /* a formula has commas of its own */
        else {
            end = s;
            for (;;) {
                const char *comma = strchr(end, ',');
                if (!comma) { end += strlen(end); break; }
                const char *next = comma + 1, *stop = strchr(next, ',');
                size_t len = stop ? (size_t)(stop - next) : strlen(next);
                if (!strchr(start, ':') || comma < strchr(start, ':') || !is_param_piece(next, len)) { end = comma; break; }
                end = next + len;
            }
        }
        if (end == start) {
            actlab_compare_free_list(out, k);
            return actlab_errorf(err, errlen, "--acts: an empty item in '%s'", text);
        }
        if (!(out[k] = strndup(start, (size_t)(end - start)))) {
            actlab_compare_free_list(out, k);
            return actlab_errorf(err, errlen, "out of memory");
        }
        k++;
        s = *end ? end + 1 : end;
        if (*end && !*s) {
            actlab_compare_free_list(out, k);
            return actlab_errorf(err, errlen, "--acts: '%s' ends with a comma", text);
        }
    }
    if (!k) {
        free(out);
        return actlab_errorf(err, errlen, "--acts: no function given");
    }
    *items = out, *n = k;
    return 0;
}

/* ---- slugs: folder names ---- */

static uint32_t fnv1a(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Letters, digits, '.', '_', '=' and '-' kept; ':' ',' '/' become '-'; the rest '_'.
 * Long names keep their start and a hash of the whole, so they stay distinct. */
static void slugify(const char *s, char *out, size_t len) {
    size_t j = 0;
    for (const char *p = s; *p && j + 1 < len; p++) {
        char ch = *p;
        if (isalnum((unsigned char)ch) || ch == '.' || ch == '_' || ch == '=' || ch == '-') out[j++] = (char)tolower((unsigned char)ch);
        else if (ch == ':' || ch == ',' || ch == '/') {
            if (j && out[j - 1] != '-') out[j++] = '-';
        } else out[j++] = '_';
    }
    while (j && (out[j - 1] == '-' || out[j - 1] == '.')) j--;
    out[j] = 0;
    while (out[0] == '.' || out[0] == '-') memmove(out, out + 1, strlen(out)); /* never "..", never hidden */
    if (strlen(out) > 60 || strlen(s) >= len) snprintf(out + (strlen(out) > 50 ? 50 : strlen(out)), len - 50, "-%08x", fnv1a(s));
    if (!out[0]) snprintf(out, len, "x%08x", fnv1a(s));
}

/* An activation's folder: its name when every parameter is at its default, else the full
 * spec; a formula by a hash of its text. */
static void act_slug(const actlab_act_cfg *a, const char *spec, char *out, size_t len) {
    if (!strncmp(a->act->name, "expr:", 5)) {
        snprintf(out, len, "expr-%08x", fnv1a(spec));
        return;
    }
    actlab_act_cfg def;
    char e[256];
    if (!actlab_act_parse(a->act->name, &def, e, sizeof e) && !memcmp(def.p, a->p, sizeof def.p)) slugify(a->act->name, out, len);
    else slugify(spec, out, len);
}

static void model_slug(const char *name, char *out, size_t len) {
    const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", base);
    size_t n = strlen(tmp);
    if (n > 4 && !strcmp(tmp + n - 4, ".cfg")) tmp[n - 4] = 0;
    slugify(tmp, out, len);
}

/* ---- files ---- */


static cJSON *read_json(const char *path) {
    char *t = actlab_read_text(path);
    cJSON *j = t ? cJSON_Parse(t) : NULL;
    free(t);
    return j;
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static int mkdirs(const char *path, char *err, size_t errlen) {
    char p[4096];
    snprintf(p, sizeof p, "%s", path);
    for (char *s = p + 1;; s++) {
        if (*s == '/' || !*s) {
            char c = *s;
            *s = 0;
            if (mkdir(p, 0755) != 0 && errno != EEXIST) return actlab_errorf(err, errlen, "cannot create %s: %s", p, strerror(errno));
            *s = c;
            if (!c) break;
        }
    }
    return 0;
}

static int write_json(const char *path, const cJSON *o, char *err, size_t errlen) {
    char *text = cJSON_Print(o);
    if (!text) return actlab_errorf(err, errlen, "out of memory");
    size_t n = strlen(text);
    char *withnl = realloc(text, n + 2);
    if (!withnl) {
        free(text);
        return actlab_errorf(err, errlen, "out of memory");
    }
    withnl[n] = '\n', withnl[n + 1] = 0;
    int rc = actlab_write_atomic(path, withnl, n + 1, err, errlen);
    free(withnl);
    return rc;
}

/* ---- the grid ---- */

static void add_num_or_null(cJSON *o, const char *key, double v, int unset) {
    if (unset) cJSON_AddNullToObject(o, key);
    else cJSON_AddNumberToObject(o, key, v);
}

/* The shared settings as given (null: left to the model file or the default). */
static cJSON *train_json(const actlab_train_config *t) {
    cJSON *o = cJSON_CreateObject();
    if (t->optim) cJSON_AddStringToObject(o, "optim", t->optim);
    else cJSON_AddNullToObject(o, "optim");
    add_num_or_null(o, "lr", t->lr, isnan(t->lr));
    add_num_or_null(o, "momentum", t->momentum, isnan(t->momentum));
    add_num_or_null(o, "weight_decay", t->weight_decay, isnan(t->weight_decay));
    add_num_or_null(o, "nesterov", t->nesterov, t->nesterov < 0);
    if (t->schedule) cJSON_AddStringToObject(o, "schedule", t->schedule);
    else cJSON_AddNullToObject(o, "schedule");
    add_num_or_null(o, "epochs", t->epochs, !t->epochs);
    add_num_or_null(o, "batch", t->batch, !t->batch);
    cJSON_AddNumberToObject(o, "act_weight_decay", t->act_weight_decay);
    cJSON_AddBoolToObject(o, "act_per_channel", t->act_per_channel);
    cJSON_AddStringToObject(o, "init_gain", "relu");
    add_num_or_null(o, "threads", t->threads, !t->threads);
    add_num_or_null(o, "train_subset", (double)t->train_subset, !t->train_subset);
    add_num_or_null(o, "test_subset", (double)t->test_subset, !t->test_subset);
    cJSON_AddStringToObject(o, "augment", t->augment ? t->augment : "none");
    add_num_or_null(o, "crop_pad", t->crop_pad, !t->crop_pad);
    add_num_or_null(o, "val_split", t->val_split, t->val_split == 0);
    cJSON_AddNumberToObject(o, "val_seed", (double)t->val_seed);
    cJSON_AddNumberToObject(o, "probe", (double)t->probe);
    return o;
}

/* Every item of old's array `key` is in now's (items compared whole, or by their field `sub`). */
static const char *missing_item(const cJSON *old, const cJSON *now, const char *key, const char *sub) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(old, key), *b = cJSON_GetObjectItemCaseSensitive(now, key), *x, *y;
    cJSON_ArrayForEach(x, a) {
        const cJSON *xv = sub ? cJSON_GetObjectItemCaseSensitive(x, sub) : x;
        int found = 0;
        cJSON_ArrayForEach(y, b) found |= xv && cJSON_Compare(xv, sub ? cJSON_GetObjectItemCaseSensitive(y, sub) : y, 1);
        if (!found) return cJSON_IsString(xv) ? xv->valuestring : "a seed";
    }
    return NULL;
}

/* A grid already in OUT may grow (more functions, models, data sets, seeds), never change. */
static int check_old_grid(const char *path, const cJSON *old, const cJSON *now, char *err, size_t errlen) {
    static const struct { const char *key, *sub, *what; } dims[] = {
        {"acts", "full", "activation"}, {"models", "slug", "model"}, {"data", "spec", "data set"}, {"seeds", NULL, "seed"}};
    const cJSON *ot = cJSON_GetObjectItemCaseSensitive(old, "train"), *nt = cJSON_GetObjectItemCaseSensitive(now, "train");
    if (!ot || !nt) return actlab_errorf(err, errlen, "%s is not a compare record; use another --out", path);
    for (const cJSON *item = nt->child; item; item = item->next) {
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(ot, item->string);
        if (!o || !cJSON_Compare(item, o, 1)) {
            char *a = cJSON_PrintUnformatted(item), *b = o ? cJSON_PrintUnformatted(o) : NULL;
            actlab_errorf(err, errlen,
                          "%s holds another grid: the shared setting %s is %s now but was %s there (a grid may only "
                          "add activations, models, data sets and seeds); use another --out",
                          path, item->string, a ? a : "?", b ? b : "missing");
            free(a);
            free(b);
            return -1;
        }
    }
    /* done cells keep the targets their final.json was written with */
    const cJSON *otg = cJSON_GetObjectItemCaseSensitive(old, "targets"), *ntg = cJSON_GetObjectItemCaseSensitive(now, "targets");
    if (!otg || !cJSON_Compare(otg, ntg, 1)) {
        char *a = cJSON_PrintUnformatted(ntg), *b = otg ? cJSON_PrintUnformatted(otg) : NULL;
        actlab_errorf(err, errlen, "%s holds another grid: --targets is %s now but was %s there; use another --out", path,
                      a ? a : "?", b ? b : "missing");
        free(a);
        free(b);
        return -1;
    }
    for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++) {
        const char *m = missing_item(old, now, dims[d].key, dims[d].sub);
        if (m)
            return actlab_errorf(err, errlen,
                                 "%s holds another grid: its %s %s is not in this one (a rerun may only add "
                                 "activations, models, data sets and seeds: list it too, or use another --out)",
                                 path, dims[d].what, m);
    }
    return 0;
}

/* ---- one cell ---- */

static int write_status(const char *dir, const char *state, const char *error, double seconds, const char *act,
                        uint64_t seed, double test_acc, char *err, size_t errlen) {
    cJSON *o = cJSON_CreateObject();
    char path[4200];
    cJSON_AddStringToObject(o, "state", state);
    cJSON_AddStringToObject(o, "error", error ? error : "");
    cJSON_AddNumberToObject(o, "seconds", seconds);
    cJSON_AddStringToObject(o, "act", act);
    cJSON_AddNumberToObject(o, "seed", (double)seed);
    if (!isnan(test_acc)) cJSON_AddNumberToObject(o, "test_acc", test_acc);
    snprintf(path, sizeof path, "%s/status.json", dir);
    int rc = write_json(path, o, err, errlen);
    cJSON_Delete(o);
    return rc;
}

static const char *state_of(const cJSON *status) {
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(status, "state");
    return cJSON_IsString(s) ? s->valuestring : "";
}

/* The final test accuracy from final.json (also right for a run resumed at its end). */
static double final_acc(const char *dir) {
    char path[4200];
    snprintf(path, sizeof path, "%s/final.json", dir);
    cJSON *f = read_json(path);
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(f, "test_acc");
    double v = cJSON_IsNumber(a) ? a->valuedouble : NAN;
    cJSON_Delete(f);
    return v;
}

static void say(const actlab_compare_config *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const actlab_compare_config *c, const char *fmt, ...) {
    if (!c->log) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(c->log, fmt, ap);
    va_end(ap);
    fflush(c->log);
}

typedef struct cell {
    const char *data, *model_path, *act, *act_spec;
    char dir[4096], label[512];
    uint64_t seed;
} cell;

/* Runs (or skips, or resumes) one cell. Returns 0, 1 when stopped by stop_after,
 * -1 when its records cannot be written at all (then the grid stops). */
static int run_cell(const actlab_compare_config *c, const cell *k, int i, int n, actlab_compare_summary *s, char *err,
                    size_t errlen) {
    char path[4200], e[2048];
    if (mkdirs(k->dir, err, errlen)) return -1;
    snprintf(path, sizeof path, "%s/status.json", k->dir);
    cJSON *status = read_json(path);
    const char *state = state_of(status);
    snprintf(path, sizeof path, "%s/final.json", k->dir);
    int has_final = exists(path);
    if (!strcmp(state, "done") && has_final) {
        s->done++, s->skipped++;
        say(c, "cell %d/%d %s: done earlier, test acc %.2f%%\n", i, n, k->label, 100 * final_acc(k->dir));
        cJSON_Delete(status);
        return 0;
    }
    if (!strcmp(state, "failed") && !c->retry_failed) {
        const cJSON *why = cJSON_GetObjectItemCaseSensitive(status, "error");
        s->failed++, s->skipped++;
        say(c, "cell %d/%d %s: failed earlier (%s); --retry-failed runs it again\n", i, n, k->label,
            cJSON_IsString(why) ? why->valuestring : "?");
        cJSON_Delete(status);
        return 0;
    }
    cJSON_Delete(status);

    snprintf(path, sizeof path, "%s/last.ckpt", k->dir);
    actlab_train_config t = c->train;
    t.model = k->model_path, t.data = k->data, t.act = k->act, t.seed = k->seed, t.out = k->dir;
    t.targets = c->targets, t.ntargets = c->ntargets;
    t.relu_gain = 1; /* the same seed, the same initial weights for every function: paired runs */
    t.resume = exists(path);
    t.progress = 0;
    snprintf(path, sizeof path, "%s/train.log", k->dir);
    FILE *log = fopen(path, "a");
    if (!log) return actlab_errorf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    t.log = log;
    say(c, "cell %d/%d %s: %s\n", i, n, k->label, t.resume ? "resuming from its checkpoint" : "training");
    fprintf(log, "# actlab compare: %s seed %llu%s\n", k->act_spec, (unsigned long long)k->seed, t.resume ? " (resumed)" : "");
    fflush(log);
    if (write_status(k->dir, "running", NULL, 0, k->act_spec, k->seed, NAN, err, errlen)) {
        fclose(log);
        return -1;
    }
    double t0 = omp_get_wtime();
    actlab_train_result r;
    int rc = actlab_train(&t, &r, e, sizeof e);
    double seconds = omp_get_wtime() - t0;
    if (rc && t.stop_after && strstr(e, "(--stop-after)")) { /* the test hook: as if killed, status stays running */
        fprintf(log, "# %s\n", e);
        fclose(log);
        s->stopped = 1;
        say(c, "cell %d/%d %s: %s; a rerun resumes it\n", i, n, k->label, e);
        return 1;
    }
    s->trained++, s->resumed += t.resume;
    if (rc) {
        fprintf(log, "# failed: %s\n", e);
        fclose(log);
        s->failed++;
        say(c, "cell %d/%d %s: FAILED after %.1f s: %s\n", i, n, k->label, seconds, e);
        return write_status(k->dir, "failed", e, seconds, k->act_spec, k->seed, NAN, err, errlen);
    }
    fclose(log);
    double acc = final_acc(k->dir);
    s->done++;
    say(c, "cell %d/%d %s: done, test acc %.2f%% (%.1f s)\n", i, n, k->label, 100 * acc, seconds);
    return write_status(k->dir, "done", NULL, seconds, k->act_spec, k->seed, acc, err, errlen);
}

/* ---- the whole grid ---- */

typedef struct grid {
    char (*act_specs)[1024], (*act_slugs)[128], (*model_slugs)[128], (*data_slugs)[128];
} grid;

static void grid_free(grid *g) {
    free(g->act_specs), free(g->act_slugs), free(g->model_slugs), free(g->data_slugs);
}

static int dup_slug(char (*slugs)[128], int n, const char *what, const char *const *given, char *err, size_t errlen) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(slugs[i], slugs[j]))
                return actlab_errorf(err, errlen, "%s %s and %s would share the folder '%s'%s", what, given[j], given[i],
                                     slugs[i], strcmp(given[i], given[j]) ? "" : " (given twice)");
    return 0;
}

static int build_grid(const actlab_compare_config *c, grid *g, char *err, size_t errlen) {
    if (c->nacts < 1) return actlab_errorf(err, errlen, "no activation functions given (--acts)");
    if (c->nmodels < 1 || c->ndata < 1) return actlab_errorf(err, errlen, "no model or no data set given");
    if (c->seeds < 1) return actlab_errorf(err, errlen, "--seeds must be at least 1, got %d", c->seeds);
    g->act_specs = calloc((size_t)c->nacts, sizeof *g->act_specs);
    g->act_slugs = calloc((size_t)c->nacts, sizeof *g->act_slugs);
    g->model_slugs = calloc((size_t)c->nmodels, sizeof *g->model_slugs);
    g->data_slugs = calloc((size_t)c->ndata, sizeof *g->data_slugs);
    if (!g->act_specs || !g->act_slugs || !g->model_slugs || !g->data_slugs) return actlab_errorf(err, errlen, "out of memory");
    char e[1024];
    for (int i = 0; i < c->nacts; i++) {
        actlab_act_cfg a;
        if (actlab_act_parse(c->acts[i], &a, e, sizeof e)) return actlab_errorf(err, errlen, "%s", e);
        actlab_act_cfg_string(&a, g->act_specs[i], sizeof g->act_specs[i]);
        act_slug(&a, g->act_specs[i], g->act_slugs[i], sizeof g->act_slugs[i]);
        for (int j = 0; j < i; j++)
            if (!strcmp(g->act_specs[i], g->act_specs[j]))
                return actlab_errorf(err, errlen, "--acts: %s and %s are the same function (%s)", c->acts[j], c->acts[i],
                                     g->act_specs[i]);
    }
    for (int i = 0; i < c->nmodels; i++) model_slug(c->models[i], g->model_slugs[i], sizeof g->model_slugs[i]);
    for (int i = 0; i < c->ndata; i++) slugify(c->data[i], g->data_slugs[i], sizeof g->data_slugs[i]);
    if (dup_slug(g->act_slugs, c->nacts, "activations", c->acts, err, errlen) ||
        dup_slug(g->model_slugs, c->nmodels, "models", c->models, err, errlen) ||
        dup_slug(g->data_slugs, c->ndata, "data sets", c->data, err, errlen))
        return -1;
    if (c->baseline) {
        actlab_act_cfg a;
        char spec[1024];
        if (actlab_act_parse(c->baseline, &a, e, sizeof e)) return actlab_errorf(err, errlen, "--baseline: %s", e);
        actlab_act_cfg_string(&a, spec, sizeof spec);
        int found = 0;
        for (int i = 0; i < c->nacts; i++) found |= !strcmp(spec, g->act_specs[i]);
        if (!found) return actlab_errorf(err, errlen, "--baseline %s is not one of --acts", c->baseline);
    }
    for (int i = 0; i < c->ntargets; i++)
        if (!(c->targets[i] > 0 && c->targets[i] <= 1))
            return actlab_errorf(err, errlen, "--targets: accuracies are fractions in (0, 1], got %g", c->targets[i]);
    return 0;
}

/* acts, models and data as objects: the spec as given, its folder (slug) and more. */
static cJSON *item(cJSON *array, const char *spec, const char *slug) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "spec", spec);
    cJSON_AddStringToObject(o, "slug", slug);
    cJSON_AddItemToArray(array, o);
    return o;
}

static cJSON *grid_json(const actlab_compare_config *c, const grid *g) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "actlab_version", ACTLAB_VERSION);
    cJSON *a = cJSON_AddArrayToObject(o, "acts");
    for (int i = 0; i < c->nacts; i++) cJSON_AddStringToObject(item(a, c->acts[i], g->act_slugs[i]), "full", g->act_specs[i]);
    a = cJSON_AddArrayToObject(o, "models");
    for (int i = 0; i < c->nmodels; i++) cJSON_AddStringToObject(item(a, c->models[i], g->model_slugs[i]), "path", c->model_paths[i]);
    a = cJSON_AddArrayToObject(o, "data");
    for (int i = 0; i < c->ndata; i++) item(a, c->data[i], g->data_slugs[i]);
    cJSON *seeds = cJSON_AddArrayToObject(o, "seeds");
    for (int k = 0; k < c->seeds; k++) cJSON_AddItemToArray(seeds, cJSON_CreateNumber((double)(c->seed_base + (uint64_t)k)));
    cJSON_AddNumberToObject(o, "seed_base", (double)c->seed_base);
    cJSON_AddStringToObject(o, "baseline", c->baseline ? c->baseline : c->acts[0]);
    cJSON *targets = cJSON_AddArrayToObject(o, "targets");
    for (int i = 0; i < c->ntargets; i++) cJSON_AddItemToArray(targets, cJSON_CreateNumber(c->targets[i]));
    cJSON_AddItemToObject(o, "train", train_json(&c->train));
    return o;
}

int actlab_compare_run(const actlab_compare_config *c, actlab_compare_summary *summary, char *err, size_t errlen) {
    actlab_compare_summary s;
    memset(&s, 0, sizeof s);
    if (summary) *summary = s;
    grid g = {0};
    int rc = build_grid(c, &g, err, errlen), lock = -1;
    char path[4200];
    cJSON *now = NULL, *old = NULL;
    if (rc) goto done;
    if ((rc = mkdirs(c->out, err, errlen))) goto done;
    /* one compare per folder at a time: two would train the same cells */
    snprintf(path, sizeof path, "%s/.compare.lock", c->out);
    lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) != 0) {
        rc = actlab_errorf(err, errlen, "%s: %s", path, lock < 0 ? strerror(errno) : "another actlab compare is running in this folder");
        goto done;
    }
    now = grid_json(c, &g);
    snprintf(path, sizeof path, "%s/compare.json", c->out);
    if (exists(path)) {
        if (!(old = read_json(path))) {
            rc = actlab_errorf(err, errlen, "%s is not valid JSON; use another --out or delete it", path);
            goto done;
        }
        if ((rc = check_old_grid(path, old, now, err, errlen))) goto done;
    }
    if (!old || !cJSON_Compare(old, now, 1)) /* unchanged records stay byte for byte */
        if ((rc = write_json(path, now, err, errlen))) goto done;

    /* seeds outermost: an interrupted grid has whole seeds for every function */
    int n = c->ndata * c->nmodels * c->nacts * c->seeds, i = 0;
    s.cells = n;
    for (int d = 0; d < c->ndata && !rc; d++)
        for (int m = 0; m < c->nmodels && !rc; m++)
            for (int k = 0; k < c->seeds && !rc; k++)
                for (int a = 0; a < c->nacts && !rc; a++) {
                    cell cl = {.data = c->data[d], .model_path = c->model_paths[m], .act = c->acts[a],
                               .act_spec = g.act_specs[a], .seed = c->seed_base + (uint64_t)k};
                    snprintf(cl.dir, sizeof cl.dir, "%s/cells/%s/%s/%s/seed-%llu", c->out, g.data_slugs[d], g.model_slugs[m],
                             g.act_slugs[a], (unsigned long long)cl.seed);
                    snprintf(cl.label, sizeof cl.label, "%s %s %s seed %llu", g.data_slugs[d], g.model_slugs[m],
                             g.act_slugs[a], (unsigned long long)cl.seed);
                    int r = run_cell(c, &cl, ++i, n, &s, err, errlen);
                    if (r < 0) rc = -1;
                    if (r > 0) goto done; /* stopped: the rest stays to do */
                }
done:
    if (summary) *summary = s;
    if (lock >= 0) close(lock);
    cJSON_Delete(now);
    cJSON_Delete(old);
    grid_free(&g);
    return rc;
}
