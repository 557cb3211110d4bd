/*
 * test_optim.c — optimisers and learning-rate schedules: PyTorch 1.13 parity
 * from tests/golden/torch_optim.txt (written by tools/golden_torch_optim.py),
 * state save/restore, decay multipliers, and the refusals of bad settings,
 * bad state blobs and bad schedule text.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actlab/optim.h"
#include "check.h"

#define GOLDEN ACTLAB_TEST_DIR "/golden/torch_optim.txt"
#define MAXG 4
#define MAXN 64

/* ---- golden file ---- */

static int split(char *line, char **tok, int max) {
    int n = 0;
    for (char *save = NULL, *t = strtok_r(line, " \t\r\n", &save); t && n < max; t = strtok_r(NULL, " \t\r\n", &save))
        tok[n++] = t;
    return n;
}

typedef struct optim_case {
    char name[64];
    actlab_optim_config cfg;
    int ngroups;
    float w[MAXG][MAXN], g[MAXG][MAXN];
    actlab_param_group groups[MAXG];
    char gname[MAXG][32];
    actlab_optim *opt;
    double lr;
    int step, values, exact;
    double worst;        /* largest relative difference seen */
} optim_case;

static void read_floats(char **tok, int ntok, float *dst, int64_t n, const char *what, int line) {
    CHECK(ntok == n, "golden line %d: %s has %d values, expected %lld", line, what, ntok, (long long)n);
    for (int i = 0; i < ntok && i < n; i++) dst[i] = strtof(tok[i], NULL);
}

static void golden_optim_line(optim_case *c, char **tok, int n, int line) {
    char err[256];
    if (!strcmp(tok[0], "config")) {
        for (int i = 1; i < n; i++) {
            char *eq = strchr(tok[i], '=');
            if (!eq) continue;
            *eq = 0;
            if (!strcmp(tok[i], "kind")) {
                c->cfg = actlab_optim_config_default(actlab_optim_parse_kind(eq + 1));
                continue;
            }
            int rc = actlab_optim_config_set(&c->cfg, tok[i], eq + 1, err, sizeof err);
            CHECK(rc == 0, "%s: setting %s=%s: %s", c->name, tok[i], eq + 1, err);
        }
    } else if (!strcmp(tok[0], "group") && n == 5) {
        int gi = atoi(tok[1]);
        int64_t len = atoll(tok[3]);
        if (gi < 0 || gi >= MAXG || len > MAXN) {
            CHECK(0, "golden line %d: group %d of %lld values is more than this test holds", line, gi, (long long)len);
            return;
        }
        snprintf(c->gname[gi], sizeof c->gname[gi], "%s", tok[2]);
        c->groups[gi] = (actlab_param_group){c->w[gi], c->g[gi], len, strtof(tok[4], NULL), c->gname[gi]};
        if (gi + 1 > c->ngroups) c->ngroups = gi + 1;
    } else if (!strcmp(tok[0], "init") && n >= 2) {
        int gi = atoi(tok[1]);
        read_floats(tok + 2, n - 2, c->w[gi], c->groups[gi].n, "init", line);
    } else if (!strcmp(tok[0], "step") && n == 3) {
        if (!c->opt) {
            c->opt = actlab_optim_new(&c->cfg, c->groups, c->ngroups, err, sizeof err);
            CHECK(c->opt != NULL, "%s: actlab_optim_new: %s", c->name, err);
        }
        c->step = atoi(tok[1]);
        c->lr = strtod(tok[2], NULL);
    } else if (!strcmp(tok[0], "grad") && n >= 2) {
        int gi = atoi(tok[1]);
        read_floats(tok + 2, n - 2, c->g[gi], c->groups[gi].n, "grad", line);
        if (gi == c->ngroups - 1 && c->opt) {
            int rc = actlab_optim_step(c->opt, c->lr);
            CHECK(rc == 0, "%s: step %d failed", c->name, c->step);
            CHECK(actlab_optim_steps(c->opt) == c->step, "%s: step count %lld, expected %d", c->name,
                  (long long)actlab_optim_steps(c->opt), c->step);
        }
    } else if (!strcmp(tok[0], "param") && n >= 2) {
        int gi = atoi(tok[1]);
        float want[MAXN];
        read_floats(tok + 2, n - 2, want, c->groups[gi].n, "param", line);
        for (int64_t i = 0; i < c->groups[gi].n && i < n - 2; i++) {
            double got = c->w[gi][i], rel = fabs(got - want[i]) / (fabs(want[i]) + 1e-30);
            if (got != want[i] && rel > c->worst) c->worst = rel;
            CHECK(check_close(got, want[i], 1e-6, 1e-9), "%s step %d group %d [%lld]: %.9g, PyTorch %.9g", c->name,
                  c->step, gi, (long long)i, got, (double)want[i]);
            c->values++;
            c->exact += memcmp(&c->w[gi][i], &want[i], sizeof(float)) == 0;
        }
    }
}

static void finish_optim(optim_case *c) {
    /* The float32 operation order is PyTorch's, so every value should be bit-identical. */
    CHECK(c->exact == c->values && c->values > 0, "%s: %d of %d values bit-identical to PyTorch (worst rel diff %.3g)",
          c->name, c->exact, c->values, c->worst);
    actlab_optim_free(c->opt);
}

typedef struct sched_case {
    char name[64], spec[512];
    double base;
    int64_t ipe;
    actlab_schedule s, again;
    int ok, n;
} sched_case;

static void golden_sched_line(sched_case *c, char **tok, int n) {
    char err[256];
    if (!strcmp(tok[0], "spec") && n == 2) {
        snprintf(c->spec, sizeof c->spec, "%s", tok[1]);
        c->ok = actlab_schedule_parse(c->spec, c->base, &c->s, err, sizeof err) == 0;
        CHECK(c->ok, "schedule %s '%s': %s", c->name, c->spec, err);
        /* the canonical text parses back to the same values */
        char text[512];
        actlab_schedule_describe(&c->s, text, sizeof text);
        int rc = actlab_schedule_parse(text, c->base, &c->again, err, sizeof err);
        CHECK(rc == 0, "schedule %s: describe gave '%s', which does not parse: %s", c->name, text, err);
        if (rc) c->again = c->s;
    } else if (c->ok && n == 2) {
        int64_t it = atoll(tok[0]);
        double want = strtod(tok[1], NULL), got = actlab_schedule_lr(&c->s, it, c->ipe);
        /* PyTorch multiplies step by step, actlab uses the closed form: equal to rounding */
        CHECK(check_close(got, want, 1e-9, 1e-15), "schedule %s '%s' iter %lld: %.17g, PyTorch %.17g", c->name, c->spec,
              (long long)it, got, want);
        double again = actlab_schedule_lr(&c->again, it, c->ipe);
        CHECK(again == got, "schedule %s iter %lld: %.17g after describe + parse, %.17g before", c->name, (long long)it,
              again, got);
        c->n++;
    }
}

static void test_golden(void) {
    FILE *f = fopen(GOLDEN, "r");
    CHECK(f != NULL, "cannot open %s", GOLDEN);
    if (!f) return;
    char line[8192], *tok[MAXN + 4];
    optim_case *oc = NULL;
    sched_case sc;
    int in_sched = 0, lineno = 0, noptim = 0, nsched = 0, nvalues = 0, nlrs = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        int n = split(line, tok, MAXN + 4);
        if (n == 0 || tok[0][0] == '#') continue;
        if (!strcmp(tok[0], "optim") && n == 2) {
            oc = calloc(1, sizeof *oc);
            snprintf(oc->name, sizeof oc->name, "%s", tok[1]);
        } else if (!strcmp(tok[0], "sched") && n == 4) {
            memset(&sc, 0, sizeof sc);
            snprintf(sc.name, sizeof sc.name, "%s", tok[1]);
            sc.base = strtod(tok[2], NULL);
            sc.ipe = atoll(tok[3]);
            in_sched = 1;
        } else if (!strcmp(tok[0], "end")) {
            if (oc) {
                finish_optim(oc);
                nvalues += oc->values;
                noptim++;
                free(oc);
                oc = NULL;
            } else if (in_sched) {
                CHECK(sc.n > 0, "schedule %s: no values", sc.name);
                nlrs += sc.n;
                nsched++;
                in_sched = 0;
            }
        } else if (oc) {
            golden_optim_line(oc, tok, n, lineno);
        } else if (in_sched) {
            golden_sched_line(&sc, tok, n);
        }
    }
    fclose(f);
    CHECK(noptim >= 9 && nsched >= 13, "golden file: %d optimiser cases and %d schedules, expected 9 and 13", noptim,
          nsched);
    printf("golden: %d optimiser cases (%d values), %d schedules (%d learning rates)\n", noptim, nvalues, nsched, nlrs);
}

/* ---- weight decay multipliers ---- */

static void test_decay_mult(void) {
    char err[256];
    for (int k = 0; k < 2; k++) {
        actlab_optim_config cfg = actlab_optim_config_default(k ? ACTLAB_OPTIM_ADAM : ACTLAB_OPTIM_SGD);
        cfg.weight_decay = 0.1;
        float w0[3] = {1, -2, 3}, w1[3] = {1, -2, 3}, g[3] = {0, 0, 0};
        actlab_param_group groups[2] = {{w0, g, 3, 1.0f, "weight"}, {w1, g, 3, 0.0f, "prelu.a"}};
        actlab_optim *o = actlab_optim_new(&cfg, groups, 2, err, sizeof err);
        CHECK(o != NULL, "decay_mult: %s", err);
        if (!o) continue;
        actlab_optim_step(o, 0.5);
        actlab_optim_step(o, 0.5);
        CHECK(w1[0] == 1 && w1[1] == -2 && w1[2] == 3, "%s: decay_mult 0 group changed: %g %g %g",
              actlab_optim_kind_name(cfg.kind), w1[0], w1[1], w1[2]);
        CHECK(w0[0] < 1 && w0[1] > -2 && w0[2] < 3, "%s: decayed group did not shrink: %g %g %g",
              actlab_optim_kind_name(cfg.kind), w0[0], w0[1], w0[2]);
        if (!k) CHECK(w0[0] == (1 - 0.05f) * (1 - 0.05f) || fabs(w0[0] - 0.9025) < 1e-6, "sgd decay: %.9g", w0[0]);
        actlab_optim_free(o);
    }
}

/* ---- state save / restore ---- */

enum { BIG = 40000, SMALL = 5 }; /* BIG is above the size that goes multi-threaded */

static void fill_grads(float *g, int64_t n, int step, int salt) {
    for (int64_t i = 0; i < n; i++) g[i] = (float)sin(0.37 * (double)i + 1.3 * step + salt) * (float)(1 + i % 7);
}

static void run_steps(actlab_optim *o, float *gb, float *gs, int from, int to) {
    for (int s = from; s < to; s++) {
        fill_grads(gb, BIG, s, 0);
        fill_grads(gs, SMALL, s, 1);
        actlab_optim_step(o, 0.01 / (1 + s));
    }
}

static void test_resume(const char *what, actlab_optim_config cfg) {
    char err[256];
    float *wa = malloc(sizeof(float) * BIG), *wb = malloc(sizeof(float) * BIG), *gb = malloc(sizeof(float) * BIG);
    float sa[SMALL], sb[SMALL], gs[SMALL];
    for (int i = 0; i < BIG; i++) wa[i] = wb[i] = (float)cos(0.1 * i);
    for (int i = 0; i < SMALL; i++) sa[i] = sb[i] = (float)i - 2;
    actlab_param_group ga[2] = {{wa, gb, BIG, 1, "conv.weight"}, {sa, gs, SMALL, 0, "act.a"}};
    actlab_param_group gbb[2] = {{wb, gb, BIG, 1, "conv.weight"}, {sb, gs, SMALL, 0, "act.a"}};
    cfg.weight_decay = 1e-3;

    actlab_optim *a = actlab_optim_new(&cfg, ga, 2, err, sizeof err);
    CHECK(a != NULL, "%s: %s", what, err);
    run_steps(a, gb, gs, 0, 5);

    actlab_optim *b = actlab_optim_new(&cfg, gbb, 2, err, sizeof err);
    run_steps(b, gb, gs, 0, 2);
    size_t len = actlab_optim_state_size(b);
    unsigned char *blob = malloc(len + 1);
    CHECK(actlab_optim_state_save(b, blob + 1) == 0, "%s: save", what); /* +1: any alignment */
    actlab_optim_free(b);
    b = actlab_optim_new(&cfg, gbb, 2, err, sizeof err);
    int rc = actlab_optim_state_load(b, blob + 1, len, err, sizeof err);
    CHECK(rc == 0, "%s: load: %s", what, err);
    CHECK(actlab_optim_steps(b) == 2, "%s: steps after load %lld", what, (long long)actlab_optim_steps(b));
    run_steps(b, gb, gs, 2, 5);

    CHECK(memcmp(wa, wb, sizeof(float) * BIG) == 0 && memcmp(sa, sb, sizeof sa) == 0,
          "%s: 2 steps + save/load + 3 steps differ from 5 steps", what);
    size_t la = actlab_optim_state_size(a);
    unsigned char *sa_blob = malloc(la), *sb_blob = malloc(la);
    actlab_optim_state_save(a, sa_blob);
    actlab_optim_state_save(b, sb_blob);
    CHECK(la == actlab_optim_state_size(b) && memcmp(sa_blob, sb_blob, la) == 0, "%s: final states differ", what);
    free(sa_blob);
    free(sb_blob);
    free(blob);
    actlab_optim_free(a);
    actlab_optim_free(b);
    free(wa);
    free(wb);
    free(gb);
}

/* ---- refusals ---- */

static void expect_new_fails(const char *what, actlab_optim_config cfg, const actlab_param_group *g, int ng,
                             const char *needle) {
    char err[256] = "";
    actlab_optim *o = actlab_optim_new(&cfg, g, ng, err, sizeof err);
    CHECK(o == NULL, "%s: accepted", what);
    CHECK(strstr(err, needle) != NULL, "%s: message '%s' does not mention '%s'", what, err, needle);
    actlab_optim_free(o);
}

static void test_bad_configs(void) {
    float w[4] = {0}, g[4] = {0};
    actlab_param_group one = {w, g, 4, 1, "w"};
    actlab_optim_config sgd = actlab_optim_config_default(ACTLAB_OPTIM_SGD), adam = actlab_optim_config_default(ACTLAB_OPTIM_ADAM), c;
    c = sgd; c.lr = -0.1; expect_new_fails("negative lr", c, &one, 1, "learning rate must be >= 0");
    c = sgd; c.lr = NAN; expect_new_fails("NaN lr", c, &one, 1, "learning rate");
    c = sgd; c.momentum = 1; expect_new_fails("momentum 1", c, &one, 1, "momentum must be in [0, 1)");
    c = sgd; c.momentum = -0.5; expect_new_fails("momentum -0.5", c, &one, 1, "momentum must be in [0, 1)");
    c = sgd; c.dampening = 2; expect_new_fails("dampening 2", c, &one, 1, "dampening");
    c = sgd; c.nesterov = 1; expect_new_fails("nesterov without momentum", c, &one, 1, "Nesterov momentum needs momentum > 0");
    c = sgd; c.nesterov = 1; c.momentum = 0.9; c.dampening = 0.1;
    expect_new_fails("nesterov with dampening", c, &one, 1, "dampening 0");
    c = sgd; c.weight_decay = -1e-4; expect_new_fails("negative weight decay", c, &one, 1, "weight_decay");
    c = sgd; c.amsgrad = 1; expect_new_fails("sgd amsgrad", c, &one, 1, "amsgrad is an Adam setting");
    c = adam; c.beta1 = 1; expect_new_fails("beta1 1", c, &one, 1, "beta1 must be in [0, 1)");
    c = adam; c.beta2 = -0.1; expect_new_fails("beta2 -0.1", c, &one, 1, "beta2");
    c = adam; c.eps = -1; expect_new_fails("eps -1", c, &one, 1, "eps must be >= 0");
    c = adam; c.momentum = 0.9; expect_new_fails("adam momentum", c, &one, 1, "SGD settings");
    c = sgd; c.kind = (actlab_optim_kind)7; expect_new_fails("kind 7", c, &one, 1, "unknown optimiser kind");
    actlab_param_group neg = {w, g, -1, 1, "neg"}, nul = {NULL, g, 4, 1, "nul"}, dm = {w, g, 4, -1, "dm"};
    expect_new_fails("negative n", sgd, &neg, 1, "group 0 (neg)");
    expect_new_fails("NULL weights", sgd, &nul, 1, "no weight array");
    expect_new_fails("negative decay_mult", sgd, &dm, 1, "decay_mult");

    /* a bad lr at step time changes nothing */
    w[0] = 1;
    g[0] = 1;
    char err[256];
    actlab_optim *o = actlab_optim_new(&sgd, &one, 1, err, sizeof err);
    CHECK(o && actlab_optim_step(o, -1) != 0 && actlab_optim_step(o, INFINITY) != 0, "step accepted a bad lr");
    CHECK(w[0] == 1 && actlab_optim_steps(o) == 0, "a refused step changed something");
    actlab_optim_free(o);

    /* settings by name */
    c = sgd;
    CHECK(actlab_optim_config_set(&c, "momentum", "0.9", err, sizeof err) == 0 && c.momentum == 0.9, "set momentum");
    CHECK(actlab_optim_config_set(&c, "nesterov", "true", err, sizeof err) == 0 && c.nesterov == 1, "set nesterov");
    CHECK(actlab_optim_config_set(&c, "beta1", "0.9", err, sizeof err) != 0 && strstr(err, "belongs to adam"),
          "beta1 on sgd: '%s'", err);
    CHECK(actlab_optim_config_set(&c, "momentun", "0.9", err, sizeof err) != 0 && strstr(err, "unknown optimiser setting"),
          "misspelt key: '%s'", err);
    CHECK(actlab_optim_config_set(&c, "lr", "0.1x", err, sizeof err) != 0 && strstr(err, "expected a number"),
          "bad number: '%s'", err);
    c = adam;
    CHECK(actlab_optim_config_set(&c, "momentum", "0.9", err, sizeof err) != 0 && strstr(err, "belongs to sgd"),
          "momentum on adam: '%s'", err);
    CHECK(actlab_optim_parse_kind("SGD") == ACTLAB_OPTIM_SGD && actlab_optim_parse_kind("adam") == ACTLAB_OPTIM_ADAM &&
              actlab_optim_parse_kind("adamw") == 0,
          "parse_kind");
    char text[256];
    c = sgd;
    c.momentum = 0.9;
    c.weight_decay = 5e-4;
    actlab_optim_describe(&c, text, sizeof text);
    CHECK(!strcmp(text, "sgd:lr=0.01,momentum=0.9,dampening=0,nesterov=0,weight_decay=0.0005"), "describe sgd: %s", text);
    actlab_optim_describe(&adam, text, sizeof text);
    CHECK(!strcmp(text, "adam:lr=0.001,beta1=0.9,beta2=0.999,eps=1e-08,weight_decay=0,amsgrad=0"), "describe adam: %s",
          text);
}

static void test_bad_state(void) {
    char err[256];
    float w[8] = {0}, g[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    actlab_param_group g8 = {w, g, 8, 1, "fc.weight"}, g6 = {w, g, 6, 1, "fc.weight"};
    actlab_optim_config sgdm = actlab_optim_config_default(ACTLAB_OPTIM_SGD), sgd = sgdm;
    sgdm.momentum = 0.9;
    actlab_optim_config adam = actlab_optim_config_default(ACTLAB_OPTIM_ADAM), ams = adam;
    ams.amsgrad = 1;
    actlab_optim *src = actlab_optim_new(&sgdm, &g8, 1, err, sizeof err);
    actlab_optim_step(src, 0.1);
    size_t len = actlab_optim_state_size(src);
    unsigned char *blob = malloc(len);
    actlab_optim_state_save(src, blob);
    struct {
        const char *what;
        actlab_optim_config cfg;
        actlab_param_group *grp;
        size_t len;
        int corrupt; /* 1: magic, 2: version */
        const char *needle;
    } cases[] = {
        {"into adam", adam, &g8, len, 0, "is for sgd, this optimiser is adam"},
        {"without momentum", sgd, &g8, len, 0, "saved with momentum, this sgd optimiser runs without momentum"},
        {"other group size", sgdm, &g6, len, 0, "group 0 (fc.weight) has 8 parameters, this model 6"},
        {"truncated", sgdm, &g8, len - 1, 0, "expected"},
        {"header only", sgdm, &g8, 10, 0, "shorter than its"},
        {"bad magic", sgdm, &g8, len, 1, "bad magic"},
        {"future version", sgdm, &g8, len, 2, "version 99"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char *copy = malloc(len);
        memcpy(copy, blob, len);
        if (cases[i].corrupt == 1) copy[0] ^= 0x55;
        if (cases[i].corrupt == 2) copy[8] = 99;
        actlab_optim *o = actlab_optim_new(&cases[i].cfg, cases[i].grp, 1, err, sizeof err);
        err[0] = 0;
        int rc = actlab_optim_state_load(o, copy, cases[i].len, err, sizeof err);
        CHECK(rc != 0, "state %s: accepted", cases[i].what);
        CHECK(strstr(err, cases[i].needle) != NULL, "state %s: message '%s' lacks '%s'", cases[i].what, err,
              cases[i].needle);
        CHECK(actlab_optim_steps(o) == 0, "state %s: a refused load changed the step count", cases[i].what);
        actlab_optim_free(o);
        free(copy);
    }
    /* adam with and without amsgrad */
    actlab_optim *a = actlab_optim_new(&ams, &g8, 1, err, sizeof err), *b = actlab_optim_new(&adam, &g8, 1, err, sizeof err);
    unsigned char *ab = malloc(actlab_optim_state_size(a));
    actlab_optim_state_save(a, ab);
    CHECK(actlab_optim_state_load(b, ab, actlab_optim_state_size(a), err, sizeof err) != 0 &&
              strstr(err, "with amsgrad"),
          "amsgrad mismatch: '%s'", err);
    CHECK(actlab_optim_state_size(a) > actlab_optim_state_size(b), "amsgrad state is not larger");
    free(ab);
    actlab_optim_free(a);
    actlab_optim_free(b);
    free(blob);
    actlab_optim_free(src);
}

/* ---- schedules ---- */

static void test_schedule_parse(void) {
    char err[256], text[512];
    actlab_schedule s;
    struct {
        const char *in, *canonical;
    } good[] = {
        {"constant", "constant"},
        {"step:size=30,gamma=0.1", "step:size=30,gamma=0.1,unit=epoch"},
        {"Step: step_size = 30 , gamma=0.5, unit=ITER", "step:size=30,gamma=0.5,unit=iter"},
        {"multistep:milestones=30/60/90,gamma=0.1", "multistep:milestones=30/60/90,gamma=0.1,unit=epoch"},
        {"multistep:at=35000/85000/135000,lr=0.005/0.0005/0.00005,unit=iter",
         "multistep:at=35000/85000/135000,lr=0.005/0.0005/5e-05,unit=iter"},
        {"multistep:at=35e3/85e3,lr=0.005/0.0005,unit=iter", "multistep:at=35000/85000,lr=0.005/0.0005,unit=iter"},
        {"cosine:tmax=100,eta_min=0", "cosine:tmax=100,eta_min=0,unit=epoch"},
        {"cosine", "cosine:eta_min=0,unit=epoch"},
        {"exp:gamma=1e+0", "exp:gamma=1,unit=epoch"},
        {"cosine:tmax=100+warmup:iters=500,start=0.1", "cosine:tmax=100,eta_min=0,unit=epoch+warmup:iters=500,start=0.1,end=1"},
        {"+warmup:epochs=5,start=0.25", "constant+warmup:epochs=5,start=0.25,end=1"},
        {"warmup:iters=3", "constant+warmup:iters=3,start=0.33333333333333331,end=1"},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int rc = actlab_schedule_parse(good[i].in, 0.1, &s, err, sizeof err);
        CHECK(rc == 0, "parse '%s': %s", good[i].in, err);
        if (rc) continue;
        actlab_schedule_describe(&s, text, sizeof text);
        CHECK(!strcmp(text, good[i].canonical), "describe '%s': '%s', expected '%s'", good[i].in, text, good[i].canonical);
        actlab_schedule again;
        CHECK(actlab_schedule_parse(text, 0.1, &again, err, sizeof err) == 0 && memcmp(&again, &s, sizeof s) == 0,
              "'%s' does not parse back to the same schedule", text);
    }
    struct {
        const char *in, *needle;
    } badin[] = {
        {"", "empty"},
        {"cosin", "unknown schedule 'cosin'"},
        {"step", "step needs size=N"},
        {"step:size=0", "size=0 is not a whole number >= 1"},
        {"step:size=3,gama=0.1", "got 'gama'"},
        {"step:size", "'size' has no value"},
        {"step:size=3,size=4", "size given twice"},
        {"step:size=3,gamma=-1", "gamma=-1"},
        {"exp", "exp needs gamma"},
        {"multistep:gamma=0.1", "needs milestones"},
        {"multistep:milestones=30/x/90", "item 2 is not a whole number"},
        {"multistep:milestones=60/30", "increasing order"},
        {"multistep:at=1/2,lr=0.1", "1 values in lr= for 2 milestones"},
        {"multistep:at=1,lr=0.1,gamma=0.1", "not both"},
        {"multistep:at=1,lr=abc", "lr: item 1 is not a number"},
        {"cosine:tmax=10,unit=week", "unit=week"},
        {"cosine:tmax=1.5", "tmax=1.5"},
        {"cosine:eta_min=-1", "eta_min=-1"},
        {"step:size=3+warmup:start=0.1", "warmup needs its length"},
        {"step:size=3+warmup:iters=5,start=0", "start=0 is not a factor"},
        {"step:size=3+cosine:tmax=3", "already given"},
        {"step:size=3+warmup:iters=2+warmup:iters=3", "warmup given twice"},
        {"step:size=3++warmup:iters=2", "size=3+ is not a whole number"},
    };
    for (size_t i = 0; i < sizeof badin / sizeof badin[0]; i++) {
        err[0] = 0;
        int rc = actlab_schedule_parse(badin[i].in, 0.1, &s, err, sizeof err);
        CHECK(rc != 0, "parse '%s' accepted", badin[i].in);
        CHECK(strstr(err, badin[i].needle) != NULL, "parse '%s': message '%s' lacks '%s'", badin[i].in, err,
              badin[i].needle);
        CHECK(!strncmp(err, "schedule '", 10), "parse '%s': message '%s' does not quote the text", badin[i].in, err);
    }
}

static void test_schedule_values(void) {
    char err[256];
    actlab_schedule s;
    /* the ELU paper: lr 0.01 until 35k iterations, 0.005 to 85k, 5e-4 to 135k, 5e-5 to 165k */
    actlab_schedule_parse("multistep:at=35000/85000/135000,lr=0.005/0.0005/0.00005,unit=iter", 0.01, &s, err, sizeof err);
    CHECK(actlab_schedule_lr(&s, 0, 390) == 0.01 && actlab_schedule_lr(&s, 34999, 390) == 0.01 &&
              actlab_schedule_lr(&s, 35000, 390) == 0.005 && actlab_schedule_lr(&s, 84999, 390) == 0.005 &&
              actlab_schedule_lr(&s, 85000, 390) == 0.0005 && actlab_schedule_lr(&s, 164999, 390) == 0.00005,
          "ELU schedule values");
    /* warm-up in iterations over a schedule in epochs (4 iterations per epoch) */
    actlab_schedule_parse("step:size=2,gamma=0.1+warmup:iters=10,start=0.1", 1.0, &s, err, sizeof err);
    CHECK(check_close(actlab_schedule_lr(&s, 0, 4), 0.1, 1e-15, 0), "warm-up iter 0: %g", actlab_schedule_lr(&s, 0, 4));
    CHECK(check_close(actlab_schedule_lr(&s, 5, 4), 0.55, 1e-15, 0), "warm-up iter 5: %g", actlab_schedule_lr(&s, 5, 4));
    CHECK(check_close(actlab_schedule_lr(&s, 7, 4), 0.73, 1e-15, 0), "warm-up iter 7: %g", actlab_schedule_lr(&s, 7, 4));
    CHECK(check_close(actlab_schedule_lr(&s, 8, 4), 0.1 * 0.82, 1e-15, 0), "iter 8 (epoch 2): %g",
          actlab_schedule_lr(&s, 8, 4));
    CHECK(check_close(actlab_schedule_lr(&s, 12, 4), 0.1, 1e-15, 0), "iter 12: %g", actlab_schedule_lr(&s, 12, 4));
    /* cosine over the whole run */
    actlab_schedule_parse("cosine", 0.1, &s, err, sizeof err);
    CHECK(actlab_schedule_lr(&s, 50, 10) == 0.1, "unresolved cosine is constant");
    actlab_schedule t = s;
    actlab_schedule_resolve(&t, 20, 10);
    CHECK(t.t_max == 20 && check_close(actlab_schedule_lr(&t, 100, 10), 0.05, 1e-12, 0), "cosine resolved by epochs: %lld %g",
          (long long)t.t_max, actlab_schedule_lr(&t, 100, 10));
    actlab_schedule_parse("cosine:unit=iter", 0.1, &s, err, sizeof err);
    actlab_schedule_resolve(&s, 20, 10);
    CHECK(s.t_max == 200, "cosine resolved by iterations: %lld", (long long)s.t_max);
    /* a schedule filled by hand is checked */
    s = actlab_schedule_constant(0.1);
    s.kind = ACTLAB_SCHED_MULTISTEP;
    CHECK(actlab_schedule_validate(&s, err, sizeof err) != 0 && strstr(err, "milestones"), "validate: '%s'", err);
    s = actlab_schedule_constant(-1);
    CHECK(actlab_schedule_validate(&s, err, sizeof err) != 0 && strstr(err, ">= 0"), "validate lr: '%s'", err);
}

int main(void) {
    test_golden();
    test_decay_mult();
    actlab_optim_config c = actlab_optim_config_default(ACTLAB_OPTIM_SGD);
    test_resume("sgd", c);
    c.momentum = 0.9;
    c.nesterov = 1;
    test_resume("sgd nesterov", c);
    c = actlab_optim_config_default(ACTLAB_OPTIM_ADAM);
    test_resume("adam", c);
    c.amsgrad = 1;
    test_resume("adam amsgrad", c);
    test_bad_configs();
    test_bad_state();
    test_schedule_parse();
    test_schedule_values();
    return check_summary("test_optim");
}
