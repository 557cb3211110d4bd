/*
 * test_torch_golden.c — the float32 kernels against PyTorch 1.13's values.
 *
 * tests/golden/torch_act.txt was written once by tools/golden_torch.py (which
 * needs torch); this test only reads it. Each "case NAME SPEC" block holds
 * lines "x f dfdx [dfdp...]". Kinks are included, so PyTorch's conventions
 * there (relu'(0) = 0, elu'(0) = alpha, hardswish'(3) = 1.5, ...) are checked
 * exactly; elsewhere a float tolerance absorbs PyTorch's own rounding (it
 * computes elu with exp(x)-1, sigmoid' as y(1-y), ...).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "actlab/act.h"
#include "check.h"

#define MAXL 512
#define RTOL 2e-5
#define ATOL 2e-6

typedef struct golden_case {
    char spec[128];
    int composite, n, ncol;
    float x[MAXL], col[MAXL][6]; /* f, dfdx, dfdp... */
} golden_case;

/* Where PyTorch's composite is the one that is wrong, with the reason. */
static int known_torch_error(const golden_case *c, float x) {
    /* torch: x * (atan(b x) + pi/2)/pi rounds the gate to 0 at -1e30; the limit is -1/(pi b) */
    return !strncmp(c->spec, "xwish", 5) && x <= -1e29f;
}

static void run_case(const golden_case *c) {
    actlab_act_cfg cfg;
    char err[512];
    if (actlab_act_parse(c->spec, &cfg, err, sizeof err)) {
        CHECK(0, "golden spec '%s' does not parse: %s", c->spec, err);
        return;
    }
    float y[MAXL], dy[MAXL], dx[MAXL];
    for (int i = 0; i < c->n; i++) dy[i] = 1;
    actlab_act_call call = actlab_act_call_default(&cfg);
    actlab_act_forward(&call, y, c->x, c->n, err, sizeof err);
    actlab_act_backward(&call, dx, dy, c->x, y, c->n, err, sizeof err);
    int bad = 0;
    for (int i = 0; i < c->n; i++) {
        if (known_torch_error(c, c->x[i])) continue;
        int ok = check_close(y[i], c->col[i][0], RTOL, ATOL) && check_close(dx[i], c->col[i][1], RTOL, ATOL);
        if (!ok && bad++ < 4)
            CHECK(0, "%s x=%.9g: actlab f=%.9g f'=%.9g, torch f=%.9g f'=%.9g", c->spec, c->x[i], y[i], dx[i],
                  c->col[i][0], c->col[i][1]);
        /* learnable-parameter gradient, one element at a time as the golden file has it */
        for (int k = 2; k < c->ncol; k++) {
            double g[ACTLAB_ACT_MAX_PARAMS] = {0};
            float one = 1, gx;
            actlab_act_call c1 = call;
            c1.param_grad = g;
            actlab_act_backward(&c1, &gx, &one, &c->x[i], &y[i], 1, err, sizeof err);
            int learn = 0, which = -1;
            for (int p = 0; p < cfg.act->nparam; p++)
                if (cfg.act->param[p].kind == ACTLAB_PARAM_LEARNABLE && learn++ == k - 2) which = p;
            CHECK(which >= 0 && check_close(g[which], c->col[i][k], 1e-3, ATOL), "%s x=%.9g: df/dp %.9g, torch %.9g",
                  c->spec, c->x[i], which >= 0 ? g[which] : NAN, c->col[i][k]);
        }
    }
    CHECK(bad == 0, "%s: %d of %d points differ from PyTorch", c->spec, bad, c->n);
}

int main(void) {
    const char *path = ACTLAB_TEST_DIR "/golden/torch_act.txt";
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "cannot open %s", path);
    if (!f) return check_summary("test_torch_golden");
    golden_case *c = calloc(1, sizeof *c);
    char line[1024];
    int cases = 0, in_case = 0, names_seen = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        if (!strncmp(line, "case ", 5)) {
            if (in_case) { run_case(c); cases++; }
            char name[64];
            memset(c, 0, sizeof *c);
            CHECK(sscanf(line, "case %63s %127s", name, c->spec) == 2, "bad case line: %s", line);
            c->composite = strstr(line, "# composite") != NULL;
            in_case = 1;
            names_seen++;
            continue;
        }
        if (!strncmp(line, "end", 3)) continue;
        if (c->n >= MAXL) continue;
        char *s = line, *end;
        c->x[c->n] = strtof(s, &end);
        int col = 0;
        for (s = end; col < 6; s = end) {
            float v = strtof(s, &end);
            if (end == s) break;
            c->col[c->n][col++] = v;
        }
        if (c->n == 0) c->ncol = col;
        CHECK(col == c->ncol && col >= 2, "%s: bad data line: %s", c->spec, line);
        c->n++;
    }
    if (in_case) { run_case(c); cases++; }
    fclose(f);
    free(c);
    CHECK(cases >= 40, "golden file has %d cases, expected at least 40", cases);
    return check_summary("test_torch_golden");
}
