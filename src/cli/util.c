/* util.c — helpers the subcommands share: error printing, argument parsing, atomic writes. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

int cli_fail(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "actlab %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 2;
}

int cli_parse_act(const char *cmd, const char *spec, actlab_act_cfg *out) {
    char err[512];
    if (actlab_act_parse(spec, out, err, sizeof err) == 0) return 0;
    cli_fail(cmd, "%s", err);
    return -1;
}

int cli_defs_flag(const char *cmd, int argc, char **argv, int *i) {
    if (strcmp(argv[*i], "--defs") != 0) return 0;
    if (*i + 1 >= argc) {
        cli_fail(cmd, "--defs expects a definitions file");
        return -1;
    }
    char err[512];
    if (actlab_act_load_file(argv[++*i], err, sizeof err) < 0) {
        cli_fail(cmd, "%s", err);
        return -1;
    }
    return 1;
}

int cli_parse_double(const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || (errno == ERANGE && fabs(v) == HUGE_VAL)) return -1;
    *out = v;
    return 0;
}

int cli_parse_range(const char *s, double *lo, double *hi) {
    const char *comma = strchr(s, ',');
    if (!comma) return -1;
    char left[64];
    size_t n = (size_t)(comma - s);
    if (n >= sizeof left) return -1;
    memcpy(left, s, n);
    left[n] = 0;
    double a, b;
    if (cli_parse_double(left, &a) || cli_parse_double(comma + 1, &b)) return -1;
    if (!isfinite(a) || !isfinite(b) || !(a < b)) return -1;
    *lo = a;
    *hi = b;
    return 0;
}



int cli_model_path(const char *name, char *path, size_t len) {
    /* A path as given; else NAME.cfg under ./models, beside the binary's ../models, and the source tree's. */
    char tried[3][2048];
    snprintf(tried[0], sizeof tried[0], "%s", name);
    snprintf(tried[1], sizeof tried[1], "models/%s.cfg", name);
    snprintf(tried[2], sizeof tried[2], "%s/%s.cfg", ACTLAB_MODELS_DIR, name);
    for (int i = 0; i < 3; i++) {
        FILE *f = fopen(tried[i], "r");
        if (f) {
            fclose(f);
            snprintf(path, len, "%s", tried[i]);
            return 0;
        }
    }
    snprintf(path, len, "tried %s, %s and %s", tried[0], tried[1], tried[2]);
    return -1;
}
