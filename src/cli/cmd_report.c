/*
 * cmd_report.c — `actlab report DIR... [--out DIR] [--baseline ACT] [--conf 0.95] [--tie-tol T]`:
 * rebuilds report.md and report.html from the records of one or more
 * `actlab compare` directories (merged) and prints the main table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actlab/report.h"
#include "cli.h"

#define MAX_DIRS 256
#define TABLE_LEN (1 << 20)

static void usage(void) {
    puts("usage: actlab report DIR... [--out DIR] [--baseline ACT] [--conf LEVEL] [--tie-tol T]\n"
         "Rebuilds the comparison report from the records of `actlab compare` directories (several\n"
         "are merged; the same cell in two of them is an error) and prints the main table.\n"
         "  --out DIR       where report.md and report.html go (default: the first DIR)\n"
         "  --baseline ACT  the activation the others are paired with (default: compare.json's,\n"
         "                  else the first activation)\n"
         "  --conf LEVEL    confidence level of the intervals, in (0, 1) (default 0.95)\n"
         "  --tie-tol T     accuracy differences within T count as ties (default 0)");
}

int cmd_report(int argc, char **argv) {
    const char *dirs[MAX_DIRS];
    int ndirs = 0;
    const char *out = NULL;
    actlab_report_options o = actlab_report_options_default();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(); return 0; }
        int takes = !strcmp(a, "--out") || !strcmp(a, "-o") || !strcmp(a, "--baseline") || !strcmp(a, "--conf") ||
                    !strcmp(a, "--tie-tol");
        if (takes && i + 1 >= argc) return cli_fail("report", "%s needs a value", a);
        if (!strcmp(a, "--out") || !strcmp(a, "-o")) out = argv[++i];
        else if (!strcmp(a, "--baseline")) o.baseline = argv[++i];
        else if (!strcmp(a, "--conf")) {
            if (cli_parse_double(argv[++i], &o.conf) || !(o.conf > 0 && o.conf < 1))
                return cli_fail("report", "--conf expects a level in (0, 1) such as 0.95, got '%s'", argv[i]);
        } else if (!strcmp(a, "--tie-tol")) {
            if (cli_parse_double(argv[++i], &o.tie_tol) || !(o.tie_tol >= 0))
                return cli_fail("report", "--tie-tol expects a number >= 0, got '%s'", argv[i]);
        } else if (a[0] == '-' && a[1]) return cli_fail("report", "unknown flag '%s' (see actlab report --help)", a);
        else if (ndirs == MAX_DIRS) return cli_fail("report", "at most %d directories", MAX_DIRS);
        else dirs[ndirs++] = a;
    }
    if (!ndirs) return cli_fail("report", "give one or more compare directories (see actlab report --help)");
    if (!out) out = dirs[0];
    char *table = malloc(TABLE_LEN), err[1024];
    if (!table) return cli_fail("report", "out of memory");
    if (actlab_report_build(dirs, ndirs, out, &o, table, TABLE_LEN, err, sizeof err)) {
        free(table);
        return cli_fail("report", "%s", err);
    }
    fputs(table, stdout);
    printf("\nwrote %s/report.md and %s/report.html\n", out, out);
    free(table);
    return 0;
}
