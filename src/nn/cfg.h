/*
 * cfg.h — reading model files: darknet-style INI text, one [section] per
 * layer, "key = value" lines, '#' or ';' comments.
 *
 * The file is read with Debian's libinih; a line-counting reader around it
 * gives every section and key its line number, so that errors can say
 * "models/lenet.cfg:12: unknown key 'fliters' in [conv]". The result is a
 * plain list of sections with their keys, in file order; what the keys mean
 * is up to the layer registry (layers.c), which marks each key it reads so
 * unread (unknown) keys can be reported.
 */
#ifndef ACTLAB_NN_CFG_H
#define ACTLAB_NN_CFG_H

#include <stddef.h>

typedef struct nn_cfg_key {
    char *key, *value;
    int line;
    int used; /* set by whoever reads it */
} nn_cfg_key;

typedef struct nn_cfg_section {
    char *name; /* lower-case, without brackets */
    int line;
    nn_cfg_key *keys;
    int nkeys, cap;
} nn_cfg_section;

typedef struct nn_cfg {
    char path[1024];
    nn_cfg_section *sections;
    int nsections, cap;
} nn_cfg;

/* Parse a file; returns 0, or -1 with "path:line: message" in err. */
int nn_cfg_load(nn_cfg *cfg, const char *path, char *err, size_t errlen);
/* Parse text held in memory (tests, built-in models); `name` stands in for the path in messages. */
int nn_cfg_parse_string(nn_cfg *cfg, const char *name, const char *text, char *err, size_t errlen);
void nn_cfg_free(nn_cfg *cfg);

/* Typed lookups in one section; each marks the key used. A missing key gives
 * the default and returns 0; a malformed value returns -1 with
 * "path:line: [section] key: expected ..., got '...'" in err. */
int nn_cfg_int(const nn_cfg *cfg, nn_cfg_section *s, const char *key, int def, int lo, int hi, int *out, char *err,
               size_t errlen);
int nn_cfg_float(const nn_cfg *cfg, nn_cfg_section *s, const char *key, double def, double lo, double hi, double *out,
                 char *err, size_t errlen);
/* The value text or `def`; never fails. */
const char *nn_cfg_str(nn_cfg_section *s, const char *key, const char *def);
/* The first key of s that nothing read, or NULL: the caller reports it as unknown. */
const nn_cfg_key *nn_cfg_unused(const nn_cfg_section *s);

#endif
