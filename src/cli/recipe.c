/*
 * recipe.c — `actlab train --recipe FILE`: a protocol written down once (the
 * papers' recipes under experiments/) as `key = value` lines, one per flag of
 * `actlab train` (lr = 0.001 is --lr 0.001; weight_decay and weight-decay are
 * the same key; a switch takes 1/0, true/false or yes/no). The recipe's
 * settings come first and the command line's flags after them, so a flag
 * overrides the recipe. An unknown key or a bad switch value is an error
 * naming the file and line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "nn/cfg.h"

/* Flags a recipe may set: those taking a value, then the switches. */
static const char *const value_flags[] = {"model", "data", "act", "act-param", "epochs", "batch", "optim", "lr",
                                          "momentum", "weight-decay", "act-weight-decay", "schedule", "seed",
                                          "threads", "subset", "test-subset", "augment", "crop-pad", "val-split",
                                          "val-seed", "out", "defs", "init-gain"};
static const char *const switch_flags[] = {"nesterov", "act-per-channel", "verbose"};

static int known(const char *key, const char *const *list, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(key, list[i])) return 1;
    return 0;
}

/* Appends "--key" (and its value) to args; 0 when out of memory. */
static int push(char **args, int *n, const char *s) { return (args[(*n)++] = strdup(s)) != NULL; }

static int recipe_args(const char *cmd, const char *path, char ***out, int *nout) {
    nn_cfg cfg;
    char err[1024];
    if (nn_cfg_load(&cfg, path, err, sizeof err)) return cli_fail(cmd, "--recipe: %s", err), -1;
    int total = 0;
    for (int i = 0; i < cfg.nsections; i++) total += cfg.sections[i].nkeys;
    char **args = calloc((size_t)(2 * total + 1), sizeof *args);
    int n = 0, rc = args ? 0 : -1;
    if (!args) cli_fail(cmd, "out of memory");
    for (int i = 0; i < cfg.nsections && !rc; i++) {
        nn_cfg_section *s = &cfg.sections[i];
        if (strcmp(s->name, "train")) {
            rc = -1;
            cli_fail(cmd, "%s:%d: unknown section [%s] (a recipe is one [train] section)", path, s->line, s->name);
            break;
        }
        for (int j = 0; j < s->nkeys && !rc; j++) {
            const nn_cfg_key *k = &s->keys[j];
            char key[64], flag[70];
            snprintf(key, sizeof key, "%s", k->key);
            for (char *p = key; *p; p++)
                if (*p == '_') *p = '-';
            snprintf(flag, sizeof flag, "--%s", key);
            if (known(key, switch_flags, sizeof switch_flags / sizeof *switch_flags)) {
                int on = !strcmp(k->value, "1") || !strcmp(k->value, "true") || !strcmp(k->value, "yes");
                int off = !strcmp(k->value, "0") || !strcmp(k->value, "false") || !strcmp(k->value, "no");
                if (!on && !off) {
                    rc = cli_fail(cmd, "%s:%d: %s: expected 1/0, true/false or yes/no, got '%s'", path, k->line,
                                  k->key, k->value);
                } else if (on && !push(args, &n, flag)) {
                    rc = cli_fail(cmd, "out of memory");
                }
            } else if (known(key, value_flags, sizeof value_flags / sizeof *value_flags)) {
                if (!push(args, &n, flag) || !push(args, &n, k->value)) rc = cli_fail(cmd, "out of memory");
            } else {
                rc = cli_fail(cmd, "%s:%d: unknown key '%s' (a recipe takes the flags of actlab train, e.g. lr = 0.01)",
                              path, k->line, k->key);
            }
        }
    }
    nn_cfg_free(&cfg);
    if (rc) {
        for (int i = 0; i < n; i++) free(args[i]);
        free(args);
        return -1;
    }
    *out = args, *nout = n;
    return 0;
}

int cli_with_recipe(const char *cmd, int argc, char **argv, int (*run)(int, char **)) {
    const char *recipe = NULL;
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--recipe")) recipe = argv[i + 1];
    if (!recipe) {
        if (argc > 1 && !strcmp(argv[argc - 1], "--recipe")) return cli_fail(cmd, "--recipe needs a file");
        return run(argc, argv);
    }
    char **rargs;
    int rn;
    if (recipe_args(cmd, recipe, &rargs, &rn)) return 2;
    char **all = malloc(sizeof *all * (size_t)(argc + rn + 1));
    if (!all) return cli_fail(cmd, "out of memory");
    int n = 0;
    all[n++] = argv[0];
    for (int i = 0; i < rn; i++) all[n++] = rargs[i];
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--recipe")) { i++; continue; }
        all[n++] = argv[i];
    }
    all[n] = NULL;
    int rc = run(n, all);
    for (int i = 0; i < rn; i++) free(rargs[i]);
    free(rargs);
    free(all);
    return rc;
}
