/*
 * cmd_analyse.c — `actlab analyse [NAME[:k=v]...] [--json] [--n N] [--no-time]`:
 * one row per function with the properties the survey lists for a good
 * activation (see actlab/analyse.h), and the time per element against ReLU
 * measured in the same run. No names: every built-in function.
 */
#include <cjson/cJSON.h>
#include <omp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "actlab/analyse.h"
#include "cli.h"

static void usage(void) {
    puts("usage: actlab analyse [NAME[:k=v,...]...] [--json] [--n N] [--repeats R] [--no-time] [--defs FILE]\n"
         "Measures, per function: mean and variance of f(x) for x ~ N(0,1); P(f'=0) (dead units) and\n"
         "P(|f'|<1e-3) (saturation); the range of f' on [-10,10]; the gradient scale through 20 He-initialised\n"
         "dense layers of width 256; jumps of f and f' at kinks; monotonicity; forward and forward+backward\n"
         "time per element on N floats (default 16M) and as a ratio to relu timed in the same run.\n"
         "With no NAME, every built-in function.");
}

static cJSON *num(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

int cmd_analyse(int argc, char **argv) {
    int json = 0, timing = 1, repeats = 5;
    double n_d = 16 * 1024 * 1024;
    actlab_act_cfg *cfgs = calloc((size_t)argc + 64, sizeof *cfgs);
    int ncfg = 0;
    if (!cfgs) return cli_fail("analyse", "out of memory");
    for (int i = 1; i < argc; i++) {
        int d = cli_defs_flag("analyse", argc, argv, &i);
        if (d < 0) { free(cfgs); return 2; }
        if (d) continue;
        if (!strcmp(argv[i], "--help")) { usage(); free(cfgs); return 0; }
        else if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--no-time")) timing = 0;
        else if (!strcmp(argv[i], "--n") || !strcmp(argv[i], "--repeats")) {
            double v;
            int is_n = !strcmp(argv[i], "--n");
            if (i + 1 >= argc || cli_parse_double(argv[i + 1], &v) || v != floor(v) || v < 1 || v > (is_n ? 1e9 : 16)) {
                free(cfgs);
                return cli_fail("analyse", "%s expects a whole number in [1, %s]", argv[i], is_n ? "1e9" : "16");
            }
            if (is_n) n_d = v; else repeats = (int)v;
            i++;
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            free(cfgs);
            return cli_fail("analyse", "unknown flag '%s' (see actlab analyse --help)", argv[i]);
        } else if (cli_parse_act("analyse", argv[i], &cfgs[ncfg++])) {
            free(cfgs);
            return 2;
        }
    }
    if (ncfg == 0) { /* every built-in, at its defaults */
        for (int i = 0; i < actlab_act_count() && ncfg < argc + 64; i++) {
            const actlab_act *a = actlab_act_at(i);
            if (a->flags & ACTLAB_ACT_USER) continue;
            actlab_act_parse(a->name, &cfgs[ncfg++], NULL, 0);
        }
    }

    int64_t n = (int64_t)n_d;
    float *buf = NULL;
    double relu_f = NAN, relu_b = NAN;
    char err[512];
    if (timing) {
        buf = malloc(sizeof(float) * 4 * (size_t)n);
        if (!buf) { free(cfgs); return cli_fail("analyse", "cannot allocate %lld floats for timing (use --n)", (long long)(4 * n)); }
        actlab_noise_fill(buf, n, ACTLAB_NOISE_NORMAL, 7, 0, 0);
        for (int64_t i = 0; i < n; i++) {
            buf[i] *= 3.0f;
            buf[2 * n + i] = 1.0f;
        }
        actlab_act_cfg relu;
        actlab_act_parse("relu", &relu, NULL, 0);
        /* Twice: the first pass pays for page faults and clock ramp-up, which would flatter the rest. */
        if (actlab_time_act(&relu, buf, n, repeats, &relu_f, &relu_b, err, sizeof err) ||
            actlab_time_act(&relu, buf, n, repeats, &relu_f, &relu_b, err, sizeof err)) {
            free(buf); free(cfgs);
            return cli_fail("analyse", "%s", err);
        }
    }

    cJSON *arr = json ? cJSON_CreateArray() : NULL;
    int wname = 8; /* the function column fits the longest spec: a cut "a=0.0" would mislead */
    for (int c = 0; c < ncfg; c++) {
        char name[512];
        actlab_act_cfg_string(&cfgs[c], name, sizeof name);
        if ((int)strlen(name) > wname) wname = (int)strlen(name);
    }
    if (!json) {
        printf("%-*s %8s %7s %7s %7s %16s %9s %8s %8s %5s", wname, "function", "mean", "var", "P(f'=0)", "P(sat)",
               "f' range [-10,10]", "grad x20", "f jump", "f' jump", "mono");
        if (timing) printf(" %8s %6s %8s %6s", "fwd ns", "xrelu", "f+b ns", "xrelu");
        printf("\n");
    }
    int status = 0;
    for (int c = 0; c < ncfg; c++) {
        actlab_analysis r;
        double tf = NAN, tb = NAN;
        if (actlab_analyse(&cfgs[c], &r, err, sizeof err) ||
            (timing && actlab_time_act(&cfgs[c], buf, n, repeats, &tf, &tb, err, sizeof err))) {
            status = cli_fail("analyse", "%s: %s", cfgs[c].act->name, err);
            break;
        }
        char name[512];
        actlab_act_cfg_string(&cfgs[c], name, sizeof name);
        const char *mono = r.monotone == 2 ? "yes" : r.monotone == 1 ? "weak" : "no";
        if (json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "function", name);
            cJSON_AddItemToObject(o, "mean", num(r.mean));
            cJSON_AddItemToObject(o, "variance", num(r.var));
            cJSON_AddItemToObject(o, "p_zero_grad", num(r.p_zero_grad));
            cJSON_AddItemToObject(o, "p_saturated_grad", num(r.p_small_grad));
            cJSON_AddItemToObject(o, "df_min", num(r.df_min));
            cJSON_AddItemToObject(o, "df_max", num(r.df_max));
            cJSON_AddItemToObject(o, "grad_scale_20_layers", num(r.grad_scale));
            cJSON_AddBoolToObject(o, "grad_overflow", !isfinite(r.grad_scale));
            cJSON_AddItemToObject(o, "output_scale_20_layers", num(r.out_scale));
            cJSON *ks = cJSON_AddArrayToObject(o, "kinks");
            for (int k = 0; k < r.nkinks; k++) {
                cJSON *kj = cJSON_CreateObject();
                cJSON_AddItemToObject(kj, "x", num(r.kink[k]));
                cJSON_AddItemToObject(kj, "f_jump", num(r.f_jump[k]));
                cJSON_AddItemToObject(kj, "df_jump", num(r.df_jump[k]));
                cJSON_AddItemToArray(ks, kj);
            }
            cJSON_AddBoolToObject(o, "f_continuous", r.f_jump_max == 0);
            cJSON_AddBoolToObject(o, "df_continuous", r.df_jump_max == 0);
            cJSON_AddStringToObject(o, "monotonic", r.monotone == 2 ? "increasing" : r.monotone == 1 ? "non-decreasing" : "no");
            if (timing) {
                cJSON_AddItemToObject(o, "forward_ns_per_element", num(tf));
                cJSON_AddItemToObject(o, "forward_backward_ns_per_element", num(tb));
                cJSON_AddItemToObject(o, "forward_vs_relu", num(tf / relu_f));
                cJSON_AddItemToObject(o, "forward_backward_vs_relu", num(tb / relu_b));
                cJSON_AddNumberToObject(o, "timed_elements", (double)n);
            }
            cJSON_AddItemToArray(arr, o);
        } else {
            char range[40];
            snprintf(range, sizeof range, "%.3g..%.3g", r.df_min, r.df_max);
            char grad[16];
            /* an unbounded f' (erelu_f2) overflows float through 20 layers: say so, not "nan" */
            if (isfinite(r.grad_scale)) snprintf(grad, sizeof grad, "%.3g", r.grad_scale);
            else snprintf(grad, sizeof grad, "overflow");
            printf("%-*s %8.4f %7.4f %7.4f %7.4f %16s %9s %8.3g %8.3g %5s", wname, name, r.mean, r.var, r.p_zero_grad,
                   r.p_small_grad, range, grad, r.f_jump_max, r.df_jump_max, mono);
            if (timing) printf(" %8.3f %6.2f %8.3f %6.2f", tf, tf / relu_f, tb, tb / relu_b);
            printf("\n");
            fflush(stdout);
        }
    }
    if (json && !status) {
        char *s = cJSON_Print(arr);
        puts(s);
        free(s);
    }
    if (!json && !status && timing)
        printf("\ntimes: median of %d runs on %lld floats with %d thread(s); relu forward %.3f ns, forward+backward %.3f ns per element\n",
               repeats, (long long)n, omp_get_max_threads(), relu_f, relu_b);
    cJSON_Delete(arr);
    free(buf);
    free(cfgs);
    return status;
}
