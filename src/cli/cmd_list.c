/* cmd_list.c — `actlab list [--json] [--defs FILE]`: the catalogue, one row per function. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static const char *kind_name(actlab_param_kind k) {
    return k == ACTLAB_PARAM_LEARNABLE ? "learnable" : k == ACTLAB_PARAM_RANDOM ? "random" : "fixed";
}

static void params_text(const actlab_act *a, char *buf, size_t len) {
    buf[0] = 0;
    for (int k = 0; k < a->nparam; k++) {
        const actlab_param_info *p = &a->param[k];
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%s=%g (%s, [%g, %g])", k ? "; " : "", p->name, p->def,
                 kind_name(p->kind), p->lo, p->hi);
    }
    if (!a->nparam) snprintf(buf, len, "-");
}

static cJSON *entry_json(const actlab_act *a) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", a->name);
    cJSON *al = cJSON_AddArrayToObject(o, "aliases");
    for (const char *s = a->aliases; s && *s;) {
        while (*s == ' ') s++;
        size_t n = strcspn(s, " ");
        if (n) {
            char buf[64];
            snprintf(buf, sizeof buf, "%.*s", (int)n, s);
            cJSON_AddItemToArray(al, cJSON_CreateString(buf));
        }
        s += n;
    }
    cJSON_AddStringToObject(o, "formula", a->formula);
    cJSON_AddStringToObject(o, "derivative", a->derivative);
    cJSON *ps = cJSON_AddArrayToObject(o, "params");
    for (int k = 0; k < a->nparam; k++) {
        const actlab_param_info *p = &a->param[k];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "name", p->name);
        cJSON_AddNumberToObject(j, "default", p->def);
        cJSON_AddStringToObject(j, "kind", kind_name(p->kind));
        /* JSON has no infinity: an open end is null. */
        if (isfinite(p->lo)) cJSON_AddNumberToObject(j, "min", p->lo); else cJSON_AddNullToObject(j, "min");
        if (isfinite(p->hi)) cJSON_AddNumberToObject(j, "max", p->hi); else cJSON_AddNullToObject(j, "max");
        if (p->integer) cJSON_AddTrueToObject(j, "integer");
        cJSON_AddStringToObject(j, "help", p->help ? p->help : "");
        cJSON_AddItemToArray(ps, j);
    }
    cJSON_AddBoolToObject(o, "backward_from_y", (a->flags & ACTLAB_ACT_FROM_Y) != 0);
    cJSON_AddBoolToObject(o, "random", (a->flags & ACTLAB_ACT_RANDOM) != 0);
    cJSON_AddBoolToObject(o, "user_defined", (a->flags & ACTLAB_ACT_USER) != 0);
    cJSON_AddBoolToObject(o, "in_pytorch", !(a->flags & ACTLAB_ACT_NO_TORCH));
    cJSON_AddStringToObject(o, "citation", a->citation ? a->citation : "");
    if (a->note) cJSON_AddStringToObject(o, "note", a->note);
    return o;
}

int cmd_list(int argc, char **argv) {
    int json = 0;
    for (int i = 1; i < argc; i++) {
        int d = cli_defs_flag("list", argc, argv, &i);
        if (d < 0) return 2;
        if (d) continue;
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--help")) {
            puts("usage: actlab list [--json] [--defs FILE]\n"
                 "Every activation function: name, aliases, parameters (default, kind, valid range),\n"
                 "whether backward needs only the output y, formula and citation.");
            return 0;
        } else return cli_fail("list", "unknown argument '%s' (expected --json or --defs FILE)", argv[i]);
    }
    if (json) {
        cJSON *arr = cJSON_CreateArray();
        for (int i = 0; i < actlab_act_count(); i++) cJSON_AddItemToArray(arr, entry_json(actlab_act_at(i)));
        char *s = cJSON_Print(arr);
        puts(s);
        free(s);
        cJSON_Delete(arr);
        return 0;
    }
    /* Column widths from the contents, so user functions with long names still line up. */
    int wn = 4, wa = 7, wp = 10;
    char params[512];
    for (int i = 0; i < actlab_act_count(); i++) {
        const actlab_act *a = actlab_act_at(i);
        params_text(a, params, sizeof params);
        if ((int)strlen(a->name) > wn) wn = (int)strlen(a->name);
        if ((int)strlen(a->aliases) > wa) wa = (int)strlen(a->aliases);
        if ((int)strlen(params) > wp) wp = (int)strlen(params);
    }
    if (wn > 40) wn = 40;
    printf("%-*s %-*s %-3s %-*s %s\n", wn, "NAME", wa, "ALIASES", "BWD", wp, "PARAMETERS (default, kind, range)",
           "FORMULA | CITATION");
    for (int i = 0; i < actlab_act_count(); i++) {
        const actlab_act *a = actlab_act_at(i);
        params_text(a, params, sizeof params);
        printf("%-*s %-*s %-3s %-*s %s | %s\n", wn, a->name, wa, *a->aliases ? a->aliases : "-",
               (a->flags & ACTLAB_ACT_FROM_Y) ? "y" : "x", wp, params, a->formula, a->citation);
    }
    printf("\n%d functions. BWD: what backward reads (y: only the output, so it can run in place; x: the input).\n",
           actlab_act_count());
    return 0;
}
