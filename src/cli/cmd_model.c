/*
 * cmd_model.c — `actlab model show NAME|FILE [--act A] [--act-per-channel] [--input CxHxW] [--classes K]`:
 * every layer of a model with its output shape, parameter count and forward
 * FLOPs, and the totals (like darknet's layer table or torchsummary).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "actlab/net.h"
#include "cli.h"

static void usage(void) {
    puts("usage: actlab model show NAME|FILE [--act A] [--act-per-channel] [--input CxHxW] [--classes K] [--verbose]\n"
         "                       [--batch B] [--unfused]\n"
         "Prints each layer with its output shape, trainable parameters and forward FLOPs per image,\n"
         "which layers run in place over their input, and the memory of the buffers a training step\n"
         "uses at batch B (default 128; --unfused: with no layer in place).\n"
         "NAME is a model under models/ (lenet, mlp, autoencoder, resnet18, vgg16, ...); FILE a .cfg path.");
}

int cmd_model(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help")) {
        usage();
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "show") != 0) return cli_fail("model", "unknown action '%s' (expected: show)", argv[1]);
    const char *model = NULL;
    actlab_net_options o = actlab_net_options_default();
    o.max_batch = 128;
    char log[8192] = "";
    for (int i = 2; i < argc; i++) {
        int d = cli_defs_flag("model", argc, argv, &i);
        if (d < 0) return 2;
        if (d) continue;
        if (!strcmp(argv[i], "--act") && i + 1 < argc) o.act = argv[++i];
        else if (!strcmp(argv[i], "--act-per-channel")) o.act_per_channel = 1;
        else if (!strcmp(argv[i], "--verbose")) o.verbose = 1, o.log = log, o.loglen = sizeof log;
        else if (!strcmp(argv[i], "--unfused")) o.unfused = 1;
        else if (!strcmp(argv[i], "--batch")) {
            double b;
            if (i + 1 >= argc || cli_parse_double(argv[i + 1], &b) || b < 1 || b > 1 << 20 || b != (int)b)
                return cli_fail("model", "--batch expects a whole number >= 1, got '%s'", i + 1 < argc ? argv[i + 1] : "nothing");
            o.max_batch = (int)b, i++;
        }
        else if (!strcmp(argv[i], "--input") && i + 1 < argc) {
            if (sscanf(argv[++i], "%dx%dx%d", &o.channels, &o.height, &o.width) != 3 || o.channels < 1 ||
                o.height < 1 || o.width < 1)
                return cli_fail("model", "--input expects CxHxW, e.g. 3x32x32, got '%s'", argv[i]);
        } else if (!strcmp(argv[i], "--classes") && i + 1 < argc) {
            double k;
            if (cli_parse_double(argv[++i], &k) || k < 1 || k > 1e6 || k != (int)k)
                return cli_fail("model", "--classes expects a whole number >= 1, got '%s'", argv[i]);
            o.classes = (int)k;
        } else if (argv[i][0] == '-') return cli_fail("model", "unknown flag '%s' (see actlab model --help)", argv[i]);
        else if (!model) model = argv[i];
        else return cli_fail("model", "one model at a time (got '%s' and '%s')", model, argv[i]);
    }
    if (!model) return cli_fail("model", "which model? e.g. actlab model show lenet");
    char path[4096], err[1024];
    if (cli_model_path(model, path, sizeof path)) return cli_fail("model", "no model '%s': %s", model, path);
    actlab_net *net = actlab_net_load(path, &o, err, sizeof err);
    if (!net) return cli_fail("model", "%s", err);
    if (log[0]) fputs(log, stderr);
    printf("%s\n%-3s %-13s %-48s %16s %12s %14s\n", path, "#", "layer", "details", "output", "params", "MFLOPs/image");
    double flops = 0;
    long long params = 0;
    for (int i = 0; i < actlab_net_layers(net); i++) {
        actlab_layer_info li;
        actlab_net_layer_info(net, i, &li);
        char shape[48], detail[200];
        snprintf(shape, sizeof shape, "%dx%dx%d", li.c, li.h, li.w);
        /* a layer that does not read the one above it says which it reads */
        if (li.input != i - 1) snprintf(detail, sizeof detail, "%s (reads %d)", li.detail, li.input);
        else snprintf(detail, sizeof detail, "%s", li.detail);
        if (li.in_place) snprintf(detail + strlen(detail), sizeof detail - strlen(detail), ", in place");
        printf("%-3d %-13s %-48.48s %16s %12lld %14.3f\n", i, li.type, detail, shape, (long long)li.params,
               li.flops / 1e6);
        flops += li.flops;
        params += li.params;
    }
    long long state = (long long)actlab_net_param_count(net) - params;
    printf("total: %lld trained parameters (%.2f MB as float32)", params, params * 4 / 1e6);
    if (state) printf(" + %lld running statistics", state);
    printf(", %.3f MFLOPs per image forward (%.3f G multiply-adds)\n", flops / 1e6, flops / 2e9);
    int64_t act, grad;
    actlab_net_buffer_bytes(net, &act, &grad);
    printf("buffers at batch %d: %.1f MB of activations kept for backward, %.1f MB of gradients and oneDNN temporaries (shared by lifetime)%s\n",
           o.max_batch, act / 1e6, grad / 1e6, o.unfused ? ", unfused" : "");
    actlab_net_free(net);
    return 0;
}
