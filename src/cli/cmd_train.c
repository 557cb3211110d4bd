/*
 * cmd_train.c — `actlab train` (one training run into a run folder) and
 * `actlab test` (a checkpoint evaluated on a data set's test split).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "actlab/data.h"
#include "actlab/train.h"
#include "cli.h"

static void train_usage(void) {
    puts("usage: actlab train [--recipe FILE] [--model M] [--data D] [--act A] [--act-param k=v]... [--act-per-channel]\n"
         "                    [--epochs N] [--batch B] [--optim sgd|adam] [--lr LR] [--momentum M] [--nesterov]\n"
         "                    [--weight-decay WD] [--act-weight-decay WD] [--schedule S] [--seed S]\n"
         "                    [--threads T] [--subset N] [--test-subset N] [--augment none|crop,flip] [--crop-pad P]\n"
         "                    [--val-split F] [--val-seed S] [--init-gain act|relu] [--probe N] [--targets A,B,...]\n"
         "                    [--precision f32|bf16]\n"
         "                    [--out DIR] [--resume] [--verbose] [--unfused]\n"
         "Defaults: --model lenet --data fashion-mnist --act relu --epochs 5 --batch 128 --optim sgd\n"
         "          --lr 0.01 --momentum 0.9 --weight-decay 0 --schedule constant --seed 1 --out runs/run\n"
         "          --augment none (crop: --crop-pad 4) --val-seed 0 --probe 1024 --precision f32\n"
         "Writes DIR/config.json, DIR/metrics.jsonl (one record per epoch), DIR/last.ckpt (every epoch)\n"
         "and DIR/final.json (the last epoch's test results by class, with the confusion matrix).\n"
         "--augment crops (after padding P pixels of black) and flips training images; --val-split F\n"
         "holds out F of the training images (after --subset), stratified, as a validation set.\n"
         "--verbose lists the model file's keys left at their defaults. --unfused runs no layer in place\n"
         "over its input (the same results, more memory: the path the in-place one is tested against).\n"
         "--precision bf16 (a speed mode, needs AVX512-BF16): convolutions multiply in bfloat16 and sum in\n"
         "f32; everything else, weights and checkpoints included, stays f32.\n"
         "Each epoch's record also has per-layer times, gradient norms and (--probe N images, 0: off)\n"
         "dead units, mean, spread and negative share of every activation layer; --targets 0.8,0.9\n"
         "puts the epoch and seconds at which each test (val) accuracy was reached into final.json.\n"
         "--recipe FILE reads 'flag = value' lines (experiments/*.cfg: the papers' protocols); flags given\n"
         "on the command line override them.");
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

static int train_main(int argc, char **argv);

/* --recipe FILE: its settings go first, the command line's flags after them (and win). */
int cmd_train(int argc, char **argv) { return cli_with_recipe("train", argc, argv, train_main); }

static int train_main(int argc, char **argv) {
    actlab_train_config c = actlab_train_config_default();
    char model_path[4096], act[2048] = "", extra[1024] = "";
    const char *model = "lenet";
    c.progress = isatty(2);
    actlab_augment aug = {0};
    double targets[16];
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        double d;
        int dd = cli_defs_flag("train", argc, argv, &i);
        if (dd < 0) return 2;
        if (dd) continue;
        if (!strcmp(f, "--help")) { train_usage(); return 0; }
        else if (!strcmp(f, "--act-per-channel")) c.act_per_channel = 1;
        else if (!strcmp(f, "--nesterov")) c.nesterov = 1;
        else if (!strcmp(f, "--unfused")) c.unfused = 1;
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
        else if (!strcmp(f, "--init-gain")) {
            if (strcmp(v, "act") && strcmp(v, "relu"))
                return cli_fail("train", "--init-gain: expected act (the function's own He gain) or relu (sqrt 2 for every function), got '%s'", v);
            c.relu_gain = !strcmp(v, "relu"), i++;
        }
        else if (!strcmp(f, "--schedule")) c.schedule = v, i++;
        else if (!strcmp(f, "--precision")) {
            if (strcmp(v, "f32") && strcmp(v, "bf16")) return cli_fail("train", "--precision expects f32 or bf16, got '%s'", v);
            c.precision = v, i++;
        }
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
        else if (!strcmp(f, "--augment")) {
            char e[256];
            if (actlab_augment_parse(v, 4, &aug, e, sizeof e)) return cli_fail("train", "--augment: %s", e);
            c.augment = v, i++;
        }
        else if (!strcmp(f, "--crop-pad")) { if (number(f, v, 1, 1024, 1, &d)) return 2; c.crop_pad = (int)d, i++; }
        else if (!strcmp(f, "--val-split")) {
            if (cli_parse_double(v, &d) || !(d > 0 && d < 1))
                return cli_fail("train", "--val-split expects a fraction above 0 and below 1, got '%s'", v);
            c.val_split = d, i++;
        }
        else if (!strcmp(f, "--val-seed")) { if (number(f, v, 0, 9007199254740992.0, 1, &d)) return 2; c.val_seed = (uint64_t)d, i++; }
        else if (!strcmp(f, "--probe")) { if (number(f, v, 0, 1e9, 1, &d)) return 2; c.probe = (int64_t)d, i++; }
        else if (!strcmp(f, "--targets")) {
            /* accuracies, comma-separated: "0.8,0.9" */
            char buf[512], *save = NULL;
            snprintf(buf, sizeof buf, "%s", v);
            c.ntargets = 0;
            for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (c.ntargets == 16) return cli_fail("train", "--targets: at most 16 accuracies");
                if (cli_parse_double(t, &d) || !(d > 0 && d <= 1))
                    return cli_fail("train", "--targets expects accuracies above 0 and at most 1, comma-separated (0.8,0.9), got '%s'", v);
                targets[c.ntargets++] = d;
            }
            if (!c.ntargets) return cli_fail("train", "--targets expects accuracies, e.g. 0.8,0.9");
            c.targets = targets, i++;
        }
        else if (!strcmp(f, "--stop-after")) { if (number(f, v, 1, 1e15, 1, &d)) return 2; c.stop_after = (int64_t)d, i++; }
        else return cli_fail("train", "unknown flag '%s' (see actlab train --help)", f);
    }
    if (c.crop_pad && !aug.pad) return cli_fail("train", "--crop-pad needs --augment crop (or crop,flip)");
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
    const char *prec = c.precision && !strcmp(c.precision, "bf16") ? " (bf16)" : "";
    if (r.autoencoder) {
        char val[64] = "";
        if (r.has_val) snprintf(val, sizeof val, "val reconstruction MSE %.5f; ", r.val_loss);
        printf("trained %s with %s on %s%s: %d epochs in %.1f s; %stest reconstruction MSE %.5f; records in %s/\n", model,
               act, c.data, prec, r.epochs_done, r.seconds, val, r.test_loss, c.out);
    } else {
        char val[96] = "", top5[32] = "";
        if (r.has_val) snprintf(val, sizeof val, "val accuracy %.2f%%, val loss %.4f; ", 100 * r.val_acc, r.val_loss);
        if (!isnan(r.test_top5)) snprintf(top5, sizeof top5, " (top-5 %.2f%%)", 100 * r.test_top5);
        printf("trained %s with %s on %s%s: %d epochs in %.1f s; %stest accuracy %.2f%%%s, test loss %.4f; records in %s/\n",
               model, act, c.data, prec, r.epochs_done, r.seconds, val, 100 * r.test_acc, top5, r.test_loss, c.out);
    }
    return 0;
}

/* actlab test --json: the results and the split by class as one JSON object. */
static void print_test_json(const char *ckpt, const actlab_train_result *r, const actlab_class_report *rep) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "checkpoint", ckpt);
    cJSON_AddNumberToObject(o, "test_loss", r->test_loss);
    if (!r->autoencoder) cJSON_AddNumberToObject(o, "test_acc", r->test_acc);
    if (!isnan(r->test_top5)) cJSON_AddNumberToObject(o, "test_top5", r->test_top5);
    if (rep->classes) {
        int K = rep->classes;
        cJSON *names = cJSON_AddArrayToObject(o, "classes"), *count = cJSON_AddArrayToObject(o, "test_class_count");
        cJSON *right = cJSON_AddArrayToObject(o, "test_class_correct"), *acc = cJSON_AddArrayToObject(o, "test_class_acc");
        cJSON *conf = cJSON_AddArrayToObject(o, "confusion");
        for (int t = 0; t < K; t++) {
            int64_t n = 0;
            cJSON *row = cJSON_CreateArray();
            for (int p = 0; p < K; p++)
                n += rep->confusion[(size_t)t * K + p], cJSON_AddItemToArray(row, cJSON_CreateNumber((double)rep->confusion[(size_t)t * K + p]));
            cJSON_AddItemToArray(conf, row);
            cJSON_AddItemToArray(names, cJSON_CreateString(rep->names[t]));
            cJSON_AddItemToArray(count, cJSON_CreateNumber((double)n));
            cJSON_AddItemToArray(right, cJSON_CreateNumber((double)rep->confusion[(size_t)t * K + t]));
            cJSON_AddItemToArray(acc, n ? cJSON_CreateNumber((double)rep->confusion[(size_t)t * K + t] / (double)n) : cJSON_CreateNull());
        }
    }
    char *text = cJSON_Print(o);
    if (text) puts(text);
    free(text);
    cJSON_Delete(o);
}

/* The split by class as text: accuracy per class and, with `confusion`, the matrix. */
static void print_by_class(const actlab_class_report *rep, int confusion) {
    int K = rep->classes, wide = 5;
    for (int t = 0; t < K; t++)
        if ((int)strlen(rep->names[t]) > wide) wide = (int)strlen(rep->names[t]);
    printf("per class (accuracy, images):\n");
    for (int t = 0; t < K; t++) {
        int64_t n = 0;
        for (int p = 0; p < K; p++) n += rep->confusion[(size_t)t * K + p];
        if (n) printf("  %3d %-*s %7.2f%% %8lld\n", t, wide, rep->names[t], 100.0 * rep->confusion[(size_t)t * K + t] / n, (long long)n);
        else printf("  %3d %-*s %8s %8lld\n", t, wide, rep->names[t], "-", 0LL);
    }
    if (!confusion) return;
    /* columns as wide as the largest count; rows labelled by class number and name */
    int64_t most = 0;
    for (size_t i = 0; i < (size_t)K * K; i++)
        if (rep->confusion[i] > most) most = rep->confusion[i];
    int cw = snprintf(NULL, 0, "%lld", (long long)most);
    if (cw < 3) cw = 3;
    printf("confusion matrix (rows: true class, columns: predicted class):\n  %*s", wide + 4, "");
    for (int p = 0; p < K; p++) printf(" %*d", cw, p);
    printf("\n");
    for (int t = 0; t < K; t++) {
        printf("  %3d %-*s", t, wide, rep->names[t]);
        for (int p = 0; p < K; p++) printf(" %*lld", cw, (long long)rep->confusion[(size_t)t * K + p]);
        printf("\n");
    }
}

int cmd_test(int argc, char **argv) {
    const char *ckpt = NULL, *data = NULL;
    double subset = 0, threads = 0;
    int confusion = 0, json = 0;
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(f, "--help")) {
            puts("usage: actlab test --checkpoint FILE [--data D] [--test-subset N] [--threads T] [--confusion] [--json]\n"
                 "Evaluates a checkpoint on the test split of D (default: the data it was trained on):\n"
                 "loss, top-1 and top-5 accuracy, and the accuracy of each class. --confusion adds the\n"
                 "confusion matrix (rows: true class, columns: predicted); --json prints one JSON object.");
            return 0;
        } else if (!strcmp(f, "--confusion")) confusion = 1;
        else if (!strcmp(f, "--json")) json = 1;
        else if (!v) return cli_fail("test", "'%s' needs a value", f);
        else if (!strcmp(f, "--checkpoint")) ckpt = v, i++;
        else if (!strcmp(f, "--data")) data = v, i++;
        else if (!strcmp(f, "--test-subset")) { if (cli_parse_double(v, &subset) || subset < 1) return cli_fail("test", "--test-subset expects a whole number >= 1"); i++; }
        else if (!strcmp(f, "--threads")) { if (cli_parse_double(v, &threads) || threads < 1) return cli_fail("test", "--threads expects a whole number >= 1"); i++; }
        else return cli_fail("test", "unknown flag '%s' (see actlab test --help)", f);
    }
    if (!ckpt) return cli_fail("test", "which checkpoint? --checkpoint runs/NAME/last.ckpt");
    char err[2048];
    actlab_train_result r;
    actlab_class_report rep;
    if (actlab_test_checkpoint_report(ckpt, data, (int64_t)subset, (int)threads, &r, &rep, err, sizeof err)) {
        cli_fail("test", "%s", err);
        return 1;
    }
    if (json) print_test_json(ckpt, &r, &rep);
    else if (r.autoencoder) printf("%s: test reconstruction MSE %.5f\n", ckpt, r.test_loss);
    else {
        printf("%s: test loss %.4f, accuracy %.2f%%", ckpt, r.test_loss, 100 * r.test_acc);
        if (!isnan(r.test_top5)) printf(", top-5 %.2f%%", 100 * r.test_top5);
        printf("\n");
        print_by_class(&rep, confusion);
    }
    actlab_class_report_free(&rep);
    return 0;
}
