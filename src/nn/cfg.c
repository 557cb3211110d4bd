/*
 * cfg.c — model files read with libinih, with line numbers (see cfg.h).
 *
 * Debian's libinih is built without line numbers in its callback and without
 * a call at each new section, so two [conv] sections in a row would look like
 * one. Both are recovered here by reading through ini_parse_stream with our
 * own line reader: it counts lines, opens a section on every "[name]" line,
 * and cuts darknet-style '#' comments, which libinih only knows at a line start.
 */
#include "cfg.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct reader {
    nn_cfg *cfg;
    FILE *file;        /* either a file ... */
    const char *text;  /* ... or text in memory */
    int line;
    char err[512];     /* first error, "path:line: message" */
} reader;

static int fail(reader *r, int line, const char *fmt, ...) {
    if (r->err[0]) return 0;
    int n = snprintf(r->err, sizeof r->err, "%s:%d: ", r->cfg->path, line);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err + n, sizeof r->err - (size_t)n, fmt, ap);
    va_end(ap);
    return 0;
}

static char *dup_lower(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (!d) return NULL;
    for (size_t i = 0; i < n; i++) d[i] = (char)tolower((unsigned char)s[i]);
    d[n] = 0;
    return d;
}

static int add_section(reader *r, const char *name, size_t len) {
    nn_cfg *c = r->cfg;
    if (c->nsections == c->cap) {
        int cap = c->cap ? 2 * c->cap : 16;
        nn_cfg_section *s = realloc(c->sections, sizeof *s * (size_t)cap);
        if (!s) return fail(r, r->line, "out of memory");
        c->sections = s;
        c->cap = cap;
    }
    nn_cfg_section *s = &c->sections[c->nsections];
    memset(s, 0, sizeof *s);
    s->name = dup_lower(name, len);
    s->line = r->line;
    if (!s->name) return fail(r, r->line, "out of memory");
    c->nsections++;
    return 1;
}

/* ini_reader: one line into str, or NULL at the end (or after an error). */
static char *read_line(char *str, int num, void *stream) {
    reader *r = stream;
    if (r->err[0]) return NULL;
    if (r->file) {
        if (!fgets(str, num, r->file)) return NULL;
    } else {
        if (!*r->text) return NULL;
        size_t len = strcspn(r->text, "\n");
        size_t take = len + (r->text[len] == '\n');
        if (take >= (size_t)num) take = (size_t)num - 1;
        memcpy(str, r->text, take);
        str[take] = 0;
        r->text += take;
    }
    r->line++;
    size_t len = strlen(str);
    if (len == (size_t)num - 1 && str[len - 1] != '\n') {
        fail(r, r->line, "line longer than %d characters", num - 2);
        return NULL;
    }
    str[strcspn(str, "#")] = 0; /* darknet-style comment anywhere on the line */
    const char *p = str;
    while (isspace((unsigned char)*p)) p++;
    if (*p == '[') {
        const char *end = strchr(p, ']');
        if (!end || end == p + 1) {
            fail(r, r->line, "expected '[section]'");
            return NULL;
        }
        if (!add_section(r, p + 1, (size_t)(end - p - 1))) return NULL;
    }
    return str;
}

static int on_key(void *user, const char *section, const char *name, const char *value) {
    reader *r = user;
    nn_cfg *c = r->cfg;
    if (!section[0] || c->nsections == 0) return fail(r, r->line, "'%s' comes before any [section]", name);
    nn_cfg_section *s = &c->sections[c->nsections - 1];
    for (int i = 0; i < s->nkeys; i++)
        if (!strcasecmp(s->keys[i].key, name))
            return fail(r, r->line, "key '%s' given twice in [%s] (first at line %d)", name, s->name, s->keys[i].line);
    if (s->nkeys == s->cap) {
        int cap = s->cap ? 2 * s->cap : 8;
        nn_cfg_key *k = realloc(s->keys, sizeof *k * (size_t)cap);
        if (!k) return fail(r, r->line, "out of memory");
        s->keys = k;
        s->cap = cap;
    }
    nn_cfg_key *k = &s->keys[s->nkeys];
    k->key = dup_lower(name, strlen(name));
    k->value = strdup(value);
    k->line = r->line;
    k->used = 0;
    if (!k->key || !k->value) {
        free(k->key);
        free(k->value);
        return fail(r, r->line, "out of memory");
    }
    s->nkeys++;
    return 1;
}

static int parse(nn_cfg *cfg, reader *r, char *err, size_t errlen) {
    int bad = ini_parse_stream(read_line, r, on_key, r);
    if (!r->err[0] && bad > 0) fail(r, bad, "expected 'key = value', '[section]' or a comment");
    if (!r->err[0] && cfg->nsections == 0) fail(r, r->line, "no [section] in the file");
    if (r->err[0]) {
        snprintf(err, errlen, "%s", r->err);
        nn_cfg_free(cfg);
        return -1;
    }
    return 0;
}

int nn_cfg_load(nn_cfg *cfg, const char *path, char *err, size_t errlen) {
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->path, sizeof cfg->path, "%s", path);
    reader r = {.cfg = cfg};
    r.file = fopen(path, "r");
    if (!r.file) {
        snprintf(err, errlen, "cannot read model file %s: %s", path, strerror(errno));
        return -1;
    }
    int rc = parse(cfg, &r, err, errlen);
    fclose(r.file);
    return rc;
}

int nn_cfg_parse_string(nn_cfg *cfg, const char *name, const char *text, char *err, size_t errlen) {
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->path, sizeof cfg->path, "%s", name);
    reader r = {.cfg = cfg, .text = text};
    return parse(cfg, &r, err, errlen);
}

void nn_cfg_free(nn_cfg *cfg) {
    for (int i = 0; i < cfg->nsections; i++) {
        for (int k = 0; k < cfg->sections[i].nkeys; k++) {
            free(cfg->sections[i].keys[k].key);
            free(cfg->sections[i].keys[k].value);
        }
        free(cfg->sections[i].keys);
        free(cfg->sections[i].name);
    }
    free(cfg->sections);
    cfg->sections = NULL;
    cfg->nsections = cfg->cap = 0;
}

static nn_cfg_key *find(nn_cfg_section *s, const char *key) {
    for (int i = 0; i < s->nkeys; i++)
        if (!strcmp(s->keys[i].key, key)) {
            s->keys[i].used = 1;
            return &s->keys[i];
        }
    return NULL;
}

int nn_cfg_int(const nn_cfg *cfg, nn_cfg_section *s, const char *key, int def, int lo, int hi, int *out, char *err,
               size_t errlen) {
    nn_cfg_key *k = find(s, key);
    if (!k) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    long v = strtol(k->value, &end, 10);
    if (end == k->value || *end || errno || v < lo || v > hi) {
        snprintf(err, errlen, "%s:%d: [%s] %s: expected a whole number in [%d, %d], got '%s'", cfg->path, k->line,
                 s->name, key, lo, hi, k->value);
        return -1;
    }
    *out = (int)v;
    return 0;
}

int nn_cfg_float(const nn_cfg *cfg, nn_cfg_section *s, const char *key, double def, double lo, double hi, double *out,
                 char *err, size_t errlen) {
    nn_cfg_key *k = find(s, key);
    if (!k) {
        *out = def;
        return 0;
    }
    char *end;
    double v = strtod(k->value, &end);
    if (end == k->value || *end || !(v >= lo && v <= hi)) {
        snprintf(err, errlen, "%s:%d: [%s] %s: expected a number in [%g, %g], got '%s'", cfg->path, k->line, s->name,
                 key, lo, hi, k->value);
        return -1;
    }
    *out = v;
    return 0;
}

const char *nn_cfg_str(nn_cfg_section *s, const char *key, const char *def) {
    nn_cfg_key *k = find(s, key);
    return k ? k->value : def;
}

const nn_cfg_key *nn_cfg_unused(const nn_cfg_section *s) {
    for (int i = 0; i < s->nkeys; i++)
        if (!s->keys[i].used) return &s->keys[i];
    return NULL;
}
