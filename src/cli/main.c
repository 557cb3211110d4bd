/*
 * main.c — the `actlab` command: dispatches argv[1] to one subcommand.
 * Each subcommand lives in its own file cmd_NAME.c and returns the exit status.
 */
#include <stdio.h>
#include <string.h>
#include "cli.h"

#ifndef ACTLAB_VERSION
#define ACTLAB_VERSION "0.1.0"
#endif

static const struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"list", cmd_list, "list every activation function (--json for JSON)"},
    {"eval", cmd_eval, "print x, f(x), f'(x) for a function at given points"},
    {"plot", cmd_plot, "draw f and f' of one or more functions into an SVG file"},
    {"analyse", cmd_analyse, "measure the properties of a good activation, one row per function"},
    {"train", cmd_train, "train a model with an activation function; records and checkpoints in a run folder"},
    {"test", cmd_test, "evaluate a checkpoint on a data set's test split"},
    {"compare", cmd_compare, "train functions x models x data sets x seeds (paired by seed) and report with statistics"},
    {"report", cmd_report, "rebuild report.md and report.html from compare directories (merged) and print the table"},
    {"model", cmd_model, "show a model's layers, shapes, parameters and FLOPs"},
    {"profile", cmd_profile, "time each layer's forward and backward over training steps (like caffe time)"},
    {"machine", cmd_machine, "measure this machine's peak FP32 GFLOP/s and STREAM bandwidth (the roofline)"},
};

static void usage(FILE *out) {
    fprintf(out, "actlab %s: design, analyse and benchmark activation functions\n\n"
                 "usage: actlab COMMAND [ARGS]   (actlab COMMAND --help for its flags)\n\ncommands:\n",
            ACTLAB_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nA function is NAME[:k=v,...] (e.g. leaky_relu:a=0.1) or a formula 'expr:x >= 0 ? x : -log(1-x)'.\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("actlab %s\n", ACTLAB_VERSION);
        return 0;
    }
    if (!strcmp(argv[1], "analyze")) argv[1] = "analyse";
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "actlab: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
