/*
 * cmd_eval.c — `actlab eval SPEC X... [--reference | --both] [--train --seed S]`:
 * one line per X with x, f(x), f'(x) and df/dp for each learnable parameter,
 * from the float32 kernels (default), the double reference, or both side by side.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static void usage(void) {
    puts("usage: actlab eval NAME[:k=v,...] X... [--reference | --both] [--train [--seed S]] [--defs FILE]\n"
         "Prints x, f(x), f'(x) (and df/dp per learnable parameter) computed by the float32 kernels.\n"
         "  --reference   the double-precision reference instead\n"
         "  --both        kernels and reference side by side with their relative difference\n"
         "  --train       training mode for random functions (rrelu, noisy_relu): draw noise from --seed\n"
         "X may be a number, inf, -inf or nan.");
}

#define F(buf, v) actlab_format_float(buf, sizeof buf, (float)(v))

static double rel_diff(double a, double b) {
    if (a == b || (isnan(a) && isnan(b))) return 0;
    return fabs(a - b) / fmax(fabs(b), 1e-30);
}

int cmd_eval(int argc, char **argv) {
    const char *spec = NULL;
    int mode = 0; /* 0 kernels, 1 reference, 2 both */
    int train = 0;
    double seed = 1;
    double *xs = calloc((size_t)argc, sizeof(double));
    int nx = 0;
    if (!xs) return cli_fail("eval", "out of memory");
    for (int i = 1; i < argc; i++) {
        double v;
        int d = cli_defs_flag("eval", argc, argv, &i);
        if (d < 0) { free(xs); return 2; }
        if (d) continue;
        if (!strcmp(argv[i], "--help")) { usage(); free(xs); return 0; }
        else if (!strcmp(argv[i], "--reference")) mode = 1;
        else if (!strcmp(argv[i], "--both")) mode = 2;
        else if (!strcmp(argv[i], "--train")) train = 1;
        else if (!strcmp(argv[i], "--seed")) {
            if (i + 1 >= argc || cli_parse_double(argv[i + 1], &seed) || seed < 0 || seed != floor(seed)) {
                free(xs);
                return cli_fail("eval", "--seed expects a non-negative whole number");
            }
            i++;
        } else if (!spec && !(argv[i][0] == '-' && argv[i][1] == '-')) spec = argv[i];
        else if (spec && cli_parse_double(argv[i], &v) == 0) xs[nx++] = v;
        else {
            free(xs);
            return cli_fail("eval", "'%s' is neither a flag nor a number (X values must be numbers, inf or nan)", argv[i]);
        }
    }
    if (!spec || nx == 0) {
        free(xs);
        return cli_fail("eval", "expected a function and at least one X, e.g. actlab eval leaky_relu:a=0.1 -2 0 3");
    }
    actlab_act_cfg cfg;
    if (cli_parse_act("eval", spec, &cfg)) { free(xs); return 2; }
    const actlab_act *a = cfg.act;
    if (train && mode != 0 && (a->flags & ACTLAB_ACT_RANDOM)) {
        free(xs);
        return cli_fail("eval", "--train draws noise in the float kernels; use it without --reference/--both");
    }

    /* Float kernels on all X at once; learnable gradients one element at a time (per-x columns). */
    float *x = malloc(sizeof(float) * (size_t)nx * 5);
    if (!x) { free(xs); return cli_fail("eval", "out of memory"); }
    float *y = x + nx, *dy = y + nx, *dx = dy + nx, *noise = dx + nx;
    for (int i = 0; i < nx; i++) { x[i] = (float)xs[i]; dy[i] = 1; }
    actlab_act_call call = actlab_act_call_default(&cfg);
    call.training = train;
    call.seed = (uint64_t)seed;
    call.noise = noise;
    char err[256];
    if (actlab_act_forward(&call, y, x, nx, err, sizeof err) ||
        actlab_act_backward(&call, dx, dy, x, y, nx, err, sizeof err)) {
        free(x); free(xs);
        return cli_fail("eval", "%s", err);
    }

    char name[512];
    actlab_act_cfg_string(&cfg, name, sizeof name);
    printf("# %s%s\n", name, mode == 1 ? " (double reference)" : mode == 2 ? " (float32 kernels vs double reference)" : " (float32 kernels)");
    printf("# x f(x) f'(x)");
    for (int k = 0; k < a->nparam; k++)
        if (a->param[k].kind == ACTLAB_PARAM_LEARNABLE) printf(" df/d%s", a->param[k].name);
    if (mode == 2) printf("   [each value as: float32 double reldiff]");
    printf("\n");
    for (int i = 0; i < nx; i++) {
        double fr = actlab_act_ref_f(&cfg, xs[i]), dr = actlab_act_ref_df(&cfg, xs[i]);
        double dpr[ACTLAB_ACT_MAX_PARAMS];
        actlab_act_ref_dparam(&cfg, xs[i], dpr);
        double grad[ACTLAB_ACT_MAX_PARAMS] = {0};
        if (actlab_act_has_learnable(a)) {
            float one = 1, gx;
            actlab_act_call c1 = call;
            c1.param_grad = grad;
            actlab_act_backward(&c1, &gx, &one, &x[i], &y[i], 1, err, sizeof err);
        }
        char b1[32], b2[32], b3[32];
        if (mode == 1) printf("%.17g %.17g %.17g", xs[i], fr, dr);
        else if (mode == 0) printf("%s %s %s", F(b1, x[i]), F(b2, y[i]), F(b3, dx[i]));
        else printf("%s  %s %.17g %.2e  %s %.17g %.2e", F(b1, x[i]), F(b2, y[i]), fr, rel_diff(y[i], fr),
                    F(b3, dx[i]), dr, rel_diff(dx[i], dr));
        for (int k = 0; k < a->nparam; k++) {
            if (a->param[k].kind != ACTLAB_PARAM_LEARNABLE) continue;
            if (mode == 1) printf(" %.17g", dpr[k]);
            else if (mode == 0) printf(" %s", F(b1, grad[k]));
            else printf("  %s %.17g %.2e", F(b1, grad[k]), dpr[k], rel_diff(grad[k], dpr[k]));
        }
        printf("\n");
    }
    free(x);
    free(xs);
    return 0;
}
