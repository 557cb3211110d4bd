/*
 * cmd_train.c — `actlab train` (one training run into a run folder) and
 * `actlab test` (a checkpoint evaluated on a data set's test split).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "actlab/train.h"
#include "cli.h"

static void train_usage(void) {
    puts("usage: actlab train [--model M] [--data D] [--act A] [--act-param k=v]... [--act-per-channel]\n"
         "                    [--epochs N] [--batch B] [--optim sgd|adam] [--lr LR] [--momentum M] [--nesterov]\n"
         "                    [--weight-decay WD] [--act-weight-decay WD] [--schedule S] [--seed S]\n"
         "                    [--threads T] [--subset N] [--test-subset N] [--out DIR] [--resume] [--verbose]\n"
         "Defaults: --model lenet --data fashion-mnist --act relu --epochs 5 --batch 128 --optim sgd\n"
         "          --lr 0.01 --momentum 0.9 --weight-decay 0 --schedule constant --seed 1 --out runs/run\n"
         "Writes DIR/config.json, DIR/metrics.jsonl (one record per epoch) and DIR/last.ckpt (every epoch).\n"
         "--verbose lists the model file's keys left at their defaults.");
}

/* A flag's value as a number in [lo, hi] (whole if integer). */
static int number(const char *flag, const char *v, double lo, double hi, int integer, double *out) {
    if (!v || cli_parse_double(v, out) || !(*out >= lo && *out <= hi) || (integer && *out != floor(*out))) {
        cli_fail("train", "%s expects %s in [%g, %g], got '%s'", flag, integer ? "a whole number" : "a number", lo, hi,
                 v ? v : "nothing");
        return -1;
    }
    return 0;
}

int cmd_train(int argc, char **argv) {
    actlab_train_config c = actlab_train_config_default();
    char model_path[4096], act[2048] = "", extra[1024] = "";
    const char *model = "lenet";
    c.progress = isatty(2);
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        double d;
        int dd = cli_defs_flag("train", argc, argv, &i);
        if (dd < 0) return 2;
        if (dd) continue;
        if (!strcmp(f, "--help")) { train_usage(); return 0; }
        else if (!strcmp(f, "--act-per-channel")) c.act_per_channel = 1;
        else if (!strcmp(f, "--nesterov")) c.nesterov = 1;
        else if (!strcmp(f, "--resume")) c.resume = 1;
        else if (!strcmp(f, "--verbose")) c.verbose = 1;
        else if (!v || (v[0] == '-' && v[1] == '-')) return cli_fail("train", "unknown flag or missing value: '%s' (see actlab train --help)", f);
        else if (!strcmp(f, "--model")) model = v, i++;
        else if (!strcmp(f, "--data")) c.data = v, i++;
        else if (!strcmp(f, "--act")) snprintf(act, sizeof act, "%s", v), i++;
        else if (!strcmp(f, "--act-param")) {
            if (!strchr(v, '=')) return cli_fail("train", "--act-param expects KEY=VALUE, got '%s'", v);
            snprintf(extra + strlen(extra), sizeof extra - strlen(extra), "%s%s", extra[0] ? "," : "", v), i++;
        }
        else if (!strcmp(f, "--optim")) c.optim = v, i++;
        else if (!strcmp(f, "--schedule")) c.schedule = v, i++;
        else if (!strcmp(f, "--out")) c.out = v, i++;
        else if (!strcmp(f, "--epochs")) { if (number(f, v, 1, 1e6, 1, &d)) return 2; c.epochs = (int)d, i++; }
        else if (!strcmp(f, "--batch")) { if (number(f, v, 1, 65536, 1, &d)) return 2; c.batch = (int)d, i++; }
        else if (!strcmp(f, "--lr")) { if (number(f, v, 0, 1e3, 0, &d)) return 2; c.lr = d, i++; }
        else if (!strcmp(f, "--momentum")) { if (number(f, v, 0, 0.999999, 0, &d)) return 2; c.momentum = d, i++; }
        else if (!strcmp(f, "--weight-decay")) { if (number(f, v, 0, 1, 0, &d)) return 2; c.weight_decay = d, i++; }
        else if (!strcmp(f, "--act-weight-decay")) { if (number(f, v, 0, 1, 0, &d)) return 2; c.act_weight_decay = d, i++; }
        else if (!strcmp(f, "--seed")) { if (number(f, v, 0, 9007199254740992.0, 1, &d)) return 2; c.seed = (uint64_t)d, i++; }
        else if (!strcmp(f, "--threads")) { if (number(f, v, 1, 1024, 1, &d)) return 2; c.threads = (int)d, i++; }
        else if (!strcmp(f, "--subset")) { if (number(f, v, 1, 1e12, 1, &d)) return 2; c.train_subset = (int64_t)d, i++; }
        else if (!strcmp(f, "--test-subset")) { if (number(f, v, 1, 1e12, 1, &d)) return 2; c.test_subset = (int64_t)d, i++; }
        else if (!strcmp(f, "--stop-after")) { if (number(f, v, 1, 1e15, 1, &d)) return 2; c.stop_after = (int64_t)d, i++; }
        else return cli_fail("train", "unknown flag '%s' (see actlab train --help)", f);
    }
    if (cli_model_path(model, model_path, sizeof model_path)) return cli_fail("train", "no model '%s': %s", model, model_path);
    c.model = model_path;
    /* --act-param k=v merges into the function's spec */
    if (!act[0]) snprintf(act, sizeof act, "relu");
    if (extra[0]) {
        if (!strncmp(act, "expr:", 5)) return cli_fail("train", "--act-param does not apply to an expr: function; put the parameters after ';'");
        snprintf(act + strlen(act), sizeof act - strlen(act), "%s%s", strchr(act, ':') ? "," : ":", extra);
    }
    c.act = act;
    char err[2048];
    actlab_train_result r;
    if (actlab_train(&c, &r, err, sizeof err)) {
        cli_fail("train", "%s", err);
        return 1;
    }
    if (r.autoencoder)
        printf("trained %s with %s on %s: %d epochs in %.1f s; test reconstruction MSE %.5f; records in %s/\n", model,
               act, c.data, r.epochs_done, r.seconds, r.test_loss, c.out);
    else
        printf("trained %s with %s on %s: %d epochs in %.1f s; test accuracy %.2f%%, test loss %.4f; records in %s/\n",
               model, act, c.data, r.epochs_done, r.seconds, 100 * r.test_acc, r.test_loss, c.out);
    return 0;
}

int cmd_test(int argc, char **argv) {
    const char *ckpt = NULL, *data = NULL;
    double subset = 0, threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(f, "--help")) {
            puts("usage: actlab test --checkpoint FILE [--data D] [--test-subset N] [--threads T]\n"
                 "Evaluates a checkpoint on the test split of D (default: the data it was trained on).");
            return 0;
        } else if (!v) return cli_fail("test", "'%s' needs a value", f);
        else if (!strcmp(f, "--checkpoint")) ckpt = v, i++;
        else if (!strcmp(f, "--data")) data = v, i++;
        else if (!strcmp(f, "--test-subset")) { if (cli_parse_double(v, &subset) || subset < 1) return cli_fail("test", "--test-subset expects a whole number >= 1"); i++; }
        else if (!strcmp(f, "--threads")) { if (cli_parse_double(v, &threads) || threads < 1) return cli_fail("test", "--threads expects a whole number >= 1"); i++; }
        else return cli_fail("test", "unknown flag '%s' (see actlab test --help)", f);
    }
    if (!ckpt) return cli_fail("test", "which checkpoint? --checkpoint runs/NAME/last.ckpt");
    char err[2048];
    actlab_train_result r;
    if (actlab_test_checkpoint(ckpt, data, (int64_t)subset, (int)threads, &r, err, sizeof err)) {
        cli_fail("test", "%s", err);
        return 1;
    }
    if (r.autoencoder) printf("%s: test reconstruction MSE %.5f\n", ckpt, r.test_loss);
    else printf("%s: test loss %.4f, accuracy %.2f%%\n", ckpt, r.test_loss, 100 * r.test_acc);
    return 0;
}
