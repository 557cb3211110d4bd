/*
 * actlab/act.h — the activation-function catalogue.
 *
 * Every activation function actlab knows is one `actlab_act` entry: its name,
 * parameters, formula text, citation, a double-precision scalar reference of
 * f and f' (used by tests and analysis), and float32 array kernels (used by
 * training). Built-ins live in one table (src/act/catalogue.c); user formulas
 * ("expr:x >= 0 ? x : -log(1-x)") become entries of the same shape at run time.
 *
 * Typical use:
 *
 *     char err[256];
 *     actlab_act_cfg cfg;
 *     if (actlab_act_parse("leaky_relu:a=0.1", &cfg, err, sizeof err)) { puts(err); ... }
 *     actlab_act_call call = actlab_act_call_default(&cfg);
 *     actlab_act_forward(&call, y, x, n);            // y = f(x)
 *     actlab_act_backward(&call, dx, dy, x, y, n);   // dx = dy * f'(x)
 *
 * Conventions: outputs first, then inputs, then sizes. Backward overwrites dx
 * (dx may alias dy; y may alias x in forward). Errors are returned as non-zero
 * with a message in the caller's buffer; the library never exits.
 */
#ifndef ACTLAB_ACT_H
#define ACTLAB_ACT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ACTLAB_ACT_MAX_PARAMS 4
#define ACTLAB_ACT_MAX_KINKS 4

/* How a parameter behaves during training. */
typedef enum actlab_param_kind {
    ACTLAB_PARAM_FIXED = 0,     /* a hyper-parameter, set by the user */
    ACTLAB_PARAM_LEARNABLE = 1, /* trained by back-propagation (PReLU a, Swish beta) */
    ACTLAB_PARAM_RANDOM = 2,    /* describes per-element noise drawn in training (RReLU l, u) */
} actlab_param_kind;

typedef struct actlab_param_info {
    const char *name;
    double def;         /* default value */
    double lo, hi;      /* valid closed range; +-INFINITY for none */
    actlab_param_kind kind;
    int integer;        /* 1: only whole numbers are valid (a mode switch) */
    const char *help;
} actlab_param_info;

/* Entry flags. */
enum {
    ACTLAB_ACT_FROM_Y = 1u << 0,   /* backward needs only y (x may be NULL): allows in-place */
    ACTLAB_ACT_RANDOM = 1u << 1,   /* draws per-element noise in training mode */
    ACTLAB_ACT_USER = 1u << 2,     /* defined by a user formula */
    ACTLAB_ACT_NO_TORCH = 1u << 3, /* PyTorch 1.13 has no module for it */
};

/* Per-element noise a random function needs, drawn by the driver. */
typedef enum actlab_noise_kind {
    ACTLAB_NOISE_NONE = 0,
    ACTLAB_NOISE_UNIFORM = 1, /* u ~ U(0,1) per element */
    ACTLAB_NOISE_NORMAL = 2,  /* z ~ N(0,1) per element */
} actlab_noise_kind;

/*
 * Kernels work on one contiguous run of n elements sharing one parameter set p
 * (p[k] is the k-th parameter's value). `noise` is NULL in evaluation mode and
 * for functions without noise; in training mode it holds n draws that the
 * forward kernel may transform in place (so backward sees what forward used).
 * `ctx` is the entry's own data (a compiled formula for user functions).
 *
 * Backward writes dx = dy * f'(x) and, for learnable parameters, dp[k] = the
 * sum over the n elements of dy * df/dp_k (dp may be NULL when not wanted).
 */
typedef void (*actlab_forward_kernel)(float *y, const float *x, int64_t n,
                                      const float *p, float *noise, const void *ctx);
typedef void (*actlab_backward_kernel)(float *dx, float *dp, const float *dy,
                                       const float *x, const float *y, int64_t n,
                                       const float *p, const float *noise, const void *ctx);

/* Double-precision scalar reference. noise: NULL in evaluation mode, else the
 * element's draw as the driver produced it (U(0,1) or N(0,1)). */
typedef double (*actlab_ref_fn)(double x, const double *p, const double *noise, const void *ctx);
/* out[k] = df/dp_k for each parameter (0 for non-learnable ones). */
typedef void (*actlab_ref_dparam_fn)(double *out, double x, const double *p, const void *ctx);
/* Points where f or f' may be discontinuous, for these parameters; returns the count. */
typedef int (*actlab_kinks_fn)(double *out, const double *p, const void *ctx);

typedef struct actlab_act {
    const char *name;
    const char *aliases;    /* space-separated other names, "" if none */
    const char *formula;    /* f(x) as text */
    const char *derivative; /* f'(x) as text */
    const char *citation;
    const char *note;       /* conventions worth knowing (kinks, defaults, modes) */
    int nparam;
    actlab_param_info param[ACTLAB_ACT_MAX_PARAMS];
    unsigned flags;
    actlab_noise_kind noise;
    actlab_ref_fn ref_f, ref_df;
    actlab_ref_dparam_fn ref_dparam; /* NULL when no parameter is learnable */
    actlab_kinks_fn kinks;           /* NULL: smooth everywhere */
    /* Cross-parameter check (e.g. lower <= upper); returns an error text or NULL. */
    const char *(*check)(const double *p);
    actlab_forward_kernel forward;
    actlab_backward_kernel backward;
    const void *ctx;
} actlab_act;

/* ---- the catalogue ---- */

/* Number of entries (built-ins first, then registered user functions). */
int actlab_act_count(void);
const actlab_act *actlab_act_at(int i);
/* Lookup by name or alias (case-insensitive, '-' and '_' equivalent). NULL if unknown. */
const actlab_act *actlab_act_find(const char *name);
/* Up to max names closest to `name` (edit distance), for "did you mean". Returns count. */
int actlab_act_suggest(const char *name, const char **out, int max);
/* Index of parameter `name` in a, or -1. */
int actlab_act_param_index(const actlab_act *a, const char *name);
/* 1 if any parameter is learnable. */
int actlab_act_has_learnable(const actlab_act *a);

/* ---- a configured function: an entry with parameter values ---- */

typedef struct actlab_act_cfg {
    const actlab_act *act;
    float p[ACTLAB_ACT_MAX_PARAMS];
} actlab_act_cfg;

/* Parse "NAME[:k=v,...]" or "expr:FORMULA[;k=v...]". Returns 0, or non-zero
 * with a message in err (unknown names come with suggestions; out-of-range
 * values name the valid range). */
int actlab_act_parse(const char *spec, actlab_act_cfg *out, char *err, size_t errlen);
/* Set one parameter by name, checking its range. */
int actlab_act_set(actlab_act_cfg *cfg, const char *key, double value, char *err, size_t errlen);
/* The shortest decimal text (6 to 9 digits) that reads back as the same float; returns buf. */
const char *actlab_format_float(char *buf, size_t len, float v);
/* Write "name:k=v,..." with every parameter (defaults included) into buf. */
void actlab_act_cfg_string(const actlab_act_cfg *cfg, char *buf, size_t len);

/* ---- running a function over arrays ---- */

/*
 * One call's context. The tensor is viewed as (outer, channels, inner) in
 * row-major order, so element i belongs to channel (i / inner) % channels.
 * With per-channel parameters (channels > 1 and param != cfg.p) `param`
 * holds channels x nparam values; otherwise one shared set.
 */
typedef struct actlab_act_call {
    actlab_act_cfg cfg;
    int64_t channels, inner;  /* 1, 1 for a plain array */
    const float *param;       /* [channels][nparam] or NULL: use cfg.p for every channel */
    double *param_grad;       /* [channels or 1][nparam], accumulated (+=) by backward; NULL: skip */
    int training;             /* random functions draw noise only in training */
    uint64_t seed, step;      /* noise of element i depends only on (seed, step, i) */
    float *noise;             /* [n] scratch kept from forward to backward (random functions) */
    int threads;              /* 0: OpenMP default */
} actlab_act_call;

actlab_act_call actlab_act_call_default(const actlab_act_cfg *cfg);

/* y = f(x). Returns 0, or non-zero with a message (e.g. a random function in
 * training mode without a noise buffer). */
int actlab_act_forward(const actlab_act_call *c, float *y, const float *x, int64_t n,
                       char *err, size_t errlen);
/* dx = dy * f'(x); x may be NULL for ACTLAB_ACT_FROM_Y functions, y may be NULL
 * for the others. Accumulates learnable-parameter gradients into c->param_grad. */
int actlab_act_backward(const actlab_act_call *c, float *dx, const float *dy,
                        const float *x, const float *y, int64_t n, char *err, size_t errlen);

/* Scalar reference at double precision (evaluation mode). dparam may be NULL. */
double actlab_act_ref_f(const actlab_act_cfg *cfg, double x);
double actlab_act_ref_df(const actlab_act_cfg *cfg, double x);
void actlab_act_ref_dparam(const actlab_act_cfg *cfg, double x, double *out);
int actlab_act_kinks(const actlab_act_cfg *cfg, double *out);

/* The counter-based generator behind the noise: deterministic per (seed, step, index).
 * actlab_noise_fill writes the draws for indices first .. first+n-1 (vectorised). */
void actlab_noise_fill(float *out, int64_t n, actlab_noise_kind kind, uint64_t seed, uint64_t step, uint64_t first);
float actlab_noise_uniform(uint64_t seed, uint64_t step, uint64_t index);
float actlab_noise_normal(uint64_t seed, uint64_t step, uint64_t index);

/* ---- user-defined functions ---- */

/* Define a function from a formula in x with named parameters. `params` is a
 * string like "a=0.25;learnable b=1" (may be NULL). The derivative is derived
 * symbolically. On success the entry is added to the catalogue and returned. */
const actlab_act *actlab_act_define(const char *name, const char *expr, const char *params,
                                    char *err, size_t errlen);
/* Load a definitions file: lines "param a = 0.25", "learnable b = 1",
 * "name = expression", '#' comments. Returns the number of functions defined,
 * or -1 with "file:line:col: message" in err. */
int actlab_act_load_file(const char *path, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
