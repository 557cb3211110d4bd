/*
 * report_read.c — reading the cells of one or more compare directories:
 * DIR/compare.json (the grid; optional) and DIR/cells/<data>/<model>/<act>/seed-<k>/
 * with config.json, metrics.jsonl, final.json and status.json. Every field is
 * optional: records from older runs, runs without probing, or a cell killed
 * mid-write must still give a report, so anything missing becomes NaN.
 */
#include "report/report_internal.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "actlab/act.h"
#include "util/error.h"

#define MAX_FILE (256u << 20) /* a metrics.jsonl of a long run with probes stays far below this */

static char *xstrdup(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* The whole file, NUL-terminated; NULL when it is missing or unreadable. */
static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    char *s = malloc(cap);
    while (s) {
        if (len + 1 >= cap) {
            if (cap >= MAX_FILE) { free(s); s = NULL; break; }
            char *t = realloc(s, cap * 2);
            if (!t) { free(s); s = NULL; break; }
            s = t;
            cap *= 2;
        }
        size_t got = fread(s + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0) { s[len] = 0; break; }
    }
    fclose(f);
    return s;
}

/* dir/name into out; 0, or -1 when it does not fit (such a path cannot be opened anyway). */
static int join(char *out, size_t len, const char *dir, const char *name) {
    int n = snprintf(out, len, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

static cJSON *read_json(const char *dir, const char *name) {
    char path[4096];
    if (join(path, sizeof path, dir, name)) return NULL;
    char *text = slurp(path);
    if (!text) return NULL;
    cJSON *j = cJSON_Parse(text);
    free(text);
    return j;
}

static double num(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const char *str(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int rp_same_act(const char *a, const char *b) {
    if (!a || !b) return 0;
    if (!strcmp(a, b)) return 1;
    actlab_act_cfg ca, cb;
    char e[256], ta[512], tb[512];
    if (actlab_act_parse(a, &ca, e, sizeof e) || actlab_act_parse(b, &cb, e, sizeof e)) return 0;
    actlab_act_cfg_string(&ca, ta, sizeof ta);
    actlab_act_cfg_string(&cb, tb, sizeof tb);
    return !strcmp(ta, tb);
}

static int add_act(rp_set *set, const char *spec) {
    for (int i = 0; i < set->nacts; i++)
        if (!strcmp(set->acts[i], spec)) return 0;
    char **a = realloc(set->acts, sizeof *a * (size_t)(set->nacts + 1));
    if (!a) return -1;
    set->acts = a;
    if (!(a[set->nacts] = xstrdup(spec))) return -1;
    set->nacts++;
    return 0;
}

static int add_setting(rp_set *set, const char *line) {
    char **a = realloc(set->settings, sizeof *a * (size_t)(set->nsettings + 1));
    if (!a) return -1;
    set->settings = a;
    if (!(a[set->nsettings] = xstrdup(line))) return -1;
    set->nsettings++;
    return 0;
}

/* Sorted names of the sub-folders of path (hidden ones skipped). */
static int list_dirs(const char *path, char ***out, int *n) {
    *out = NULL;
    *n = 0;
    DIR *d = opendir(path);
    if (!d) return 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char full[4096];
        struct stat st;
        snprintf(full, sizeof full, "%s/%s", path, e->d_name);
        if (stat(full, &st) || !S_ISDIR(st.st_mode)) continue;
        char **a = realloc(*out, sizeof *a * (size_t)(*n + 1));
        if (!a || !(a[*n] = xstrdup(e->d_name))) { free(a ? a : *out); *out = NULL; rc = -1; break; }
        *out = a;
        (*n)++;
    }
    closedir(d);
    if (rc) { *n = 0; return -1; }
    /* Insertion sort: a handful of names, and seed-10 after seed-9 matters less than stability. */
    for (int i = 1; i < *n; i++)
        for (int k = i; k > 0 && strcmp((*out)[k - 1], (*out)[k]) > 0; k--) {
            char *t = (*out)[k];
            (*out)[k] = (*out)[k - 1];
            (*out)[k - 1] = t;
        }
    return 0;
}

static void free_names(char **a, int n) {
    for (int i = 0; i < n; i++) free(a[i]);
    free(a);
}

/* One metrics.jsonl record into e. */
static int read_epoch(const cJSON *m, rp_epoch *e, rp_cell *c) {
    memset(e, 0, sizeof *e);
    e->epoch = num(m, "epoch");
    e->train_loss = num(m, "train_loss");
    e->train_acc = num(m, "train_acc");
    e->test_loss = num(m, "test_loss");
    e->test_acc = num(m, "test_acc");
    e->seconds = num(m, "epoch_seconds");
    e->act_share = num(cJSON_GetObjectItemCaseSensitive(m, "time"), "act_share");
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "probe"), "layers");
    int n = cJSON_IsArray(layers) ? cJSON_GetArraySize(layers) : 0;
    if (n <= 0) return 0;
    e->dead = malloc(sizeof(double) * (size_t)n);
    e->mean = malloc(sizeof(double) * (size_t)n);
    e->param = malloc(sizeof(double) * (size_t)n);
    if (!e->dead || !e->mean || !e->param) return -1;
    e->nlayers = n;
    /* The names of the latest probe win: every epoch probes the same layers. */
    for (int i = 0; i < c->nlayers; i++) free(c->layer[i]);
    free(c->layer);
    c->nlayers = 0;
    if (!(c->layer = calloc((size_t)n, sizeof *c->layer))) return -1;
    c->nlayers = n;
    int i = 0;
    const cJSON *L;
    cJSON_ArrayForEach(L, layers) {
        double dead = num(L, "dead"), units = num(L, "units");
        /* A share; a count when it cannot be one (probes that count units). */
        if (dead > 1 && units > 0) dead /= units;
        e->dead[i] = dead;
        e->mean[i] = num(L, "mean");
        e->param[i] = NAN;
        const cJSON *params = cJSON_GetObjectItemCaseSensitive(L, "params");
        const cJSON *p = cJSON_IsObject(params) ? params->child : NULL;
        if (p && p->string) {
            e->param[i] = cJSON_IsNumber(p) ? p->valuedouble : num(p, "mean");
            if (!c->param_name && !(c->param_name = xstrdup(p->string))) return -1;
        }
        const char *name = str(L, "layer");
        char buf[32];
        if (!name) {
            double li = num(L, "layer");
            /* A net layer index: say so, it is what `actlab model show` numbers. */
            if (isfinite(li)) snprintf(buf, sizeof buf, "net layer %d", (int)li);
            else snprintf(buf, sizeof buf, "%d", i + 1);
            name = buf;
        }
        if (!(c->layer[i] = xstrdup(name))) return -1;
        i++;
    }
    return 0;
}

static int read_metrics(rp_cell *c) {
    char path[4096];
    snprintf(path, sizeof path, "%s/metrics.jsonl", c->dir);
    char *text = slurp(path);
    if (!text) return 0;
    int cap = 0, rc = 0;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        cJSON *m = cJSON_Parse(line);
        if (!m) continue; /* a truncated last line of a killed run */
        if (c->nep == cap) {
            cap = cap ? cap * 2 : 16;
            rp_epoch *a = realloc(c->ep, sizeof *a * (size_t)cap);
            if (!a) { cJSON_Delete(m); rc = -1; break; }
            c->ep = a;
        }
        rc = read_epoch(m, &c->ep[c->nep], c);
        c->nep++;
        cJSON_Delete(m);
        if (rc) break;
    }
    free(text);
    return rc;
}

static int read_final(rp_cell *c) {
    cJSON *f = read_json(c->dir, "final.json");
    c->final_acc = num(f, "test_acc");
    c->final_loss = num(f, "test_loss");
    const cJSON *t, *targets = cJSON_GetObjectItemCaseSensitive(f, "targets");
    double order[RP_MAX_TARGETS][2];
    int n = 0;
    if (!cJSON_IsObject(targets)) targets = NULL;
    cJSON_ArrayForEach(t, targets) {
        if (n == RP_MAX_TARGETS || !t->string) break;
        char *end;
        double v = strtod(t->string, &end);
        if (*end || !isfinite(v)) continue;
        order[n][0] = v;
        order[n][1] = cJSON_IsObject(t) ? num(t, "epoch") : NAN;
        if (!(c->target_key[n] = xstrdup(t->string))) { cJSON_Delete(f); return -1; }
        n++;
    }
    /* Sorted by value, keys along with them. */
    for (int i = 1; i < n; i++)
        for (int k = i; k > 0 && order[k - 1][0] > order[k][0]; k--) {
            double t0 = order[k][0], t1 = order[k][1];
            char *key = c->target_key[k];
            order[k][0] = order[k - 1][0]; order[k][1] = order[k - 1][1];
            order[k - 1][0] = t0; order[k - 1][1] = t1;
            c->target_key[k] = c->target_key[k - 1];
            c->target_key[k - 1] = key;
        }
    for (int i = 0; i < n; i++) { c->target_value[i] = order[i][0]; c->target_epoch[i] = order[i][1]; }
    c->ntargets = n;
    /* A run without final.json that ended anyway: its last record is the final one. */
    if (f == NULL && c->state == RP_DONE && c->nep > 0) {
        c->final_acc = c->ep[c->nep - 1].test_acc;
        c->final_loss = c->ep[c->nep - 1].test_loss;
    }
    int had = f != NULL;
    cJSON_Delete(f);
    return had;
}

/* The spec of the act folder `slug`: compare.json's entry with that slug, else config.json's. */
static const char *spec_of(const cJSON *compare, const char *slug, const cJSON *config) {
    const cJSON *a, *acts = cJSON_GetObjectItemCaseSensitive(compare, "acts");
    if (!cJSON_IsArray(acts)) acts = NULL;
    cJSON_ArrayForEach(a, acts) {
        const char *s = cJSON_IsString(a) ? a->valuestring : str(a, "spec");
        const char *sl = cJSON_IsString(a) ? a->valuestring : str(a, "slug");
        if (s && sl && !strcmp(sl, slug)) return s;
    }
    const char *s = str(config, "act");
    return s ? s : slug;
}

static int read_cell(rp_set *set, const char *src, const cJSON *compare, const char *data, const char *model,
                     const char *act, const char *seeddir, char *err, size_t errlen) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/cells/%s/%s/%s/%s", src, data, model, act, seeddir);
    cJSON *config = read_json(dir, "config.json"), *status = read_json(dir, "status.json");
    rp_cell c;
    memset(&c, 0, sizeof c);
    c.final_acc = c.final_loss = NAN;
    for (int i = 0; i < RP_MAX_TARGETS; i++) c.target_epoch[i] = NAN;
    double seed = num(config, "seed");
    if (!isfinite(seed)) {
        char *end;
        const char *digits = strncmp(seeddir, "seed-", 5) ? seeddir : seeddir + 5;
        seed = (double)strtol(digits, &end, 10);
        if (*end || end == digits) seed = NAN;
    }
    int rc = -1;
    if (!isfinite(seed)) { rc = 0; goto out; } /* not a run folder */
    c.seed = (long)seed;
    c.data = xstrdup(data);
    c.model = xstrdup(model);
    c.act_slug = xstrdup(act);
    /* One function spelled two ways in two directories (leaky_relu, leaky_relu:a=0.01) is one row. */
    const char *spec = spec_of(compare, act, config);
    for (int i = 0; i < set->nacts; i++)
        if (rp_same_act(set->acts[i], spec)) { spec = set->acts[i]; break; }
    c.act = xstrdup(spec);
    c.dir = xstrdup(dir);
    c.src = xstrdup(src);
    if (!c.data || !c.model || !c.act_slug || !c.act || !c.dir || !c.src) goto oom;
    const char *state = str(status, "state");
    c.state = state && !strcmp(state, "failed") ? RP_FAILED : state && !strcmp(state, "running") ? RP_RUNNING : RP_DONE;
    const char *e = str(status, "error");
    if (e && !(c.error = xstrdup(e))) goto oom;
    if (read_metrics(&c)) goto oom;
    int had_final = read_final(&c);
    if (had_final < 0) goto oom;
    /* No status.json (older runs): a run is done when it wrote final.json. */
    if (!status && !had_final) c.state = RP_RUNNING;
    for (int i = 0; i < set->ncells; i++) {
        const rp_cell *o = &set->cells[i];
        if (!strcmp(o->data, c.data) && !strcmp(o->model, c.model) && rp_same_act(o->act, c.act) && o->seed == c.seed) {
            actlab_errorf(err, errlen, "the cell %s/%s/%s seed %ld is in two places: %s and %s", data, model, c.act,
                          c.seed, o->dir, c.dir);
            goto fail;
        }
    }
    if (set->ncells == set->cap) {
        int ncap = set->cap ? set->cap * 2 : 32;
        rp_cell *a = realloc(set->cells, sizeof *a * (size_t)ncap);
        if (!a) goto oom;
        set->cells = a;
        set->cap = ncap;
    }
    if (add_act(set, c.act)) goto oom;
    set->cells[set->ncells++] = c;
    memset(&c, 0, sizeof c);
    rc = 0;
    goto out;
oom:
    actlab_errorf(err, errlen, "out of memory reading %s", dir);
fail:
    rc = -1;
out:
    {
        /* Free the cell's own allocations (a no-op once it was moved into the set). */
        free(c.data); free(c.model); free(c.act); free(c.act_slug); free(c.dir); free(c.src); free(c.error);
        for (int i = 0; i < c.nep; i++) { free(c.ep[i].dead); free(c.ep[i].mean); free(c.ep[i].param); }
        free(c.ep);
        for (int i = 0; i < c.nlayers; i++) free(c.layer[i]);
        free(c.layer);
        free(c.param_name);
        for (int i = 0; i < c.ntargets; i++) free(c.target_key[i]);
    }
    cJSON_Delete(config);
    cJSON_Delete(status);
    return rc;
}

/* compare.json's settings as "key: value" lines (scalars and lists of scalars). */
static int add_compare_settings(rp_set *set, const char *src, const cJSON *compare) {
    char line[1024];
    snprintf(line, sizeof line, "compare directory: %s", src);
    if (add_setting(set, line)) return -1;
    const cJSON *it;
    cJSON_ArrayForEach(it, compare) {
        if (!it->string) continue;
        size_t len = (size_t)snprintf(line, sizeof line, "  %s: ", it->string);
        if (cJSON_IsString(it)) snprintf(line + len, sizeof line - len, "%s", it->valuestring);
        else if (cJSON_IsNumber(it)) snprintf(line + len, sizeof line - len, "%.10g", it->valuedouble);
        else if (cJSON_IsBool(it)) snprintf(line + len, sizeof line - len, "%s", cJSON_IsTrue(it) ? "true" : "false");
        else if (cJSON_IsArray(it)) {
            const cJSON *a;
            int first = 1;
            cJSON_ArrayForEach(a, it) {
                char v[256] = "";
                if (cJSON_IsString(a)) snprintf(v, sizeof v, "%s", a->valuestring);
                else if (cJSON_IsNumber(a)) snprintf(v, sizeof v, "%.10g", a->valuedouble);
                else if (str(a, "spec")) snprintf(v, sizeof v, "%s", str(a, "spec"));
                else continue;
                if (len + strlen(v) + 3 >= sizeof line) break;
                len += (size_t)snprintf(line + len, sizeof line - len, "%s%s", first ? "" : ", ", v);
                first = 0;
            }
        } else continue;
        if (add_setting(set, line)) return -1;
    }
    return 0;
}

/* The training settings the cells share (or "varies"), from their config.json. */
static int add_config_settings(rp_set *set) {
    static const char *const keys[] = {"model", "data", "data_name", "train_images", "test_images", "epochs", "batch",
                                       "optimiser", "schedule", "augment", "val_split", "init_gain", "act_per_channel",
                                       "threads", "actlab_version"};
    if (!set->ncells) return 0;
    if (add_setting(set, "training settings (config.json of the cells):")) return -1;
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        char first[512] = "", v[512];
        int found = 0, differ = 0;
        for (int i = 0; i < set->ncells; i++) {
            cJSON *cfg = read_json(set->cells[i].dir, "config.json");
            const cJSON *it = cJSON_GetObjectItemCaseSensitive(cfg, keys[k]);
            int have = 1;
            if (cJSON_IsString(it)) snprintf(v, sizeof v, "%s", it->valuestring);
            else if (cJSON_IsNumber(it)) snprintf(v, sizeof v, "%.10g", it->valuedouble);
            else if (cJSON_IsBool(it)) snprintf(v, sizeof v, "%s", cJSON_IsTrue(it) ? "true" : "false");
            else have = 0;
            cJSON_Delete(cfg);
            if (!have) continue;
            if (!found) { snprintf(first, sizeof first, "%s", v); found = 1; }
            else if (strcmp(first, v)) differ = 1;
            /* Enough to know it varies; configs are small but a big grid reads many. */
            if (differ) break;
        }
        if (!found) continue;
        char line[700];
        snprintf(line, sizeof line, "  %s: %s", keys[k], differ ? "(varies between cells)" : first);
        if (add_setting(set, line)) return -1;
    }
    return 0;
}

static int read_dir(rp_set *set, const char *src, char **baseline, char *err, size_t errlen) {
    struct stat st;
    if (stat(src, &st) || !S_ISDIR(st.st_mode))
        return actlab_errorf(err, errlen, "%s: not a directory (%s)", src, stat(src, &st) ? strerror(errno) : "a file");
    cJSON *compare = read_json(src, "compare.json");
    char cells[4096];
    snprintf(cells, sizeof cells, "%s/cells", src);
    if (stat(cells, &st) || !S_ISDIR(st.st_mode)) {
        cJSON_Delete(compare);
        return actlab_errorf(err, errlen, "%s: no cells/ folder (is it an `actlab compare` directory?)", src);
    }
    int rc = 0;
    const cJSON *a, *acts = cJSON_GetObjectItemCaseSensitive(compare, "acts");
    if (!cJSON_IsArray(acts)) acts = NULL;
    cJSON_ArrayForEach(a, acts) {
        const char *s = cJSON_IsString(a) ? a->valuestring : str(a, "spec");
        if (s && add_act(set, s)) rc = -1;
    }
    const char *b = str(compare, "baseline");
    if (!b && set->nacts) b = set->acts[0];
    if (!*baseline && b && !(*baseline = xstrdup(b))) rc = -1;
    if (compare && add_compare_settings(set, src, compare)) rc = -1;
    if (rc) { cJSON_Delete(compare); return actlab_errorf(err, errlen, "out of memory"); }

    char **dn, **mn, **an, **sn;
    int nd, nm, na, ns;
    if (list_dirs(cells, &dn, &nd)) { cJSON_Delete(compare); return actlab_errorf(err, errlen, "out of memory"); }
    for (int d = 0; d < nd && !rc; d++) {
        char p1[4096];
        if (join(p1, sizeof p1, cells, dn[d])) continue;
        if (list_dirs(p1, &mn, &nm)) { rc = actlab_errorf(err, errlen, "out of memory"); break; }
        for (int m = 0; m < nm && !rc; m++) {
            char p2[4096];
            if (join(p2, sizeof p2, p1, mn[m])) continue;
            if (list_dirs(p2, &an, &na)) { rc = actlab_errorf(err, errlen, "out of memory"); break; }
            for (int k = 0; k < na && !rc; k++) {
                char p3[4096];
                if (join(p3, sizeof p3, p2, an[k])) continue;
                if (list_dirs(p3, &sn, &ns)) { rc = actlab_errorf(err, errlen, "out of memory"); break; }
                for (int s = 0; s < ns && !rc; s++)
                    rc = read_cell(set, src, compare, dn[d], mn[m], an[k], sn[s], err, errlen);
                free_names(sn, ns);
            }
            free_names(an, na);
        }
        free_names(mn, nm);
    }
    free_names(dn, nd);
    cJSON_Delete(compare);
    return rc;
}

void rp_set_free(rp_set *set) {
    if (!set) return;
    for (int k = 0; k < set->ncells; k++) {
        rp_cell *c = &set->cells[k];
        free(c->data); free(c->model); free(c->act); free(c->act_slug); free(c->dir); free(c->src); free(c->error);
        for (int i = 0; i < c->nep; i++) { free(c->ep[i].dead); free(c->ep[i].mean); free(c->ep[i].param); }
        free(c->ep);
        for (int i = 0; i < c->nlayers; i++) free(c->layer[i]);
        free(c->layer);
        free(c->param_name);
        for (int i = 0; i < c->ntargets; i++) free(c->target_key[i]);
    }
    free(set->cells);
    free_names(set->acts, set->nacts);
    free_names(set->settings, set->nsettings);
    free(set->baseline);
    memset(set, 0, sizeof *set);
}

int rp_read(rp_set *set, const char *const *dirs, int ndirs, const char *baseline, char *err, size_t errlen) {
    memset(set, 0, sizeof *set);
    if (ndirs < 1 || !dirs) return actlab_errorf(err, errlen, "no compare directory given");
    char *base = NULL;
    for (int i = 0; i < ndirs; i++)
        if (read_dir(set, dirs[i], &base, err, errlen)) { free(base); rp_set_free(set); return -1; }
    if (!set->ncells) {
        free(base);
        rp_set_free(set);
        return actlab_errorf(err, errlen, "no cells found under %s%s", dirs[0], ndirs > 1 ? " and the others" : "");
    }
    if (baseline) {
        free(base);
        base = xstrdup(baseline);
    }
    if (!base && set->nacts) base = xstrdup(set->acts[0]);
    /* The baseline by its spec as the grid spells it, so rows and the header agree. */
    int found = 0;
    for (int i = 0; base && i < set->nacts; i++)
        if (rp_same_act(set->acts[i], base)) {
            free(base);
            base = xstrdup(set->acts[i]);
            found = 1;
            break;
        }
    if (!base || add_config_settings(set)) { free(base); rp_set_free(set); return actlab_errorf(err, errlen, "out of memory"); }
    if (!found) {
        actlab_errorf(err, errlen, "baseline '%s' is not one of the activations compared", base);
        free(base);
        rp_set_free(set);
        return -1;
    }
    set->baseline = base;
    return 0;
}
