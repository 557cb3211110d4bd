/*
 * actlab/optim.h — optimisers (SGD with momentum/Nesterov, Adam) and
 * learning-rate schedules, with PyTorch 1.13's semantics.
 *
 * Optimisers update float32 parameters in place from their gradients, group by
 * group, exactly as torch.optim.SGD and torch.optim.Adam do on the CPU
 * (single-tensor path, foreach=False): same formulas, same float32 operation
 * order, hyper-parameters rounded to float32 where PyTorch rounds them, so a
 * step gives bit-identical parameters (tests/golden/torch_optim.txt).
 *
 *     char err[256];
 *     actlab_optim_config cfg = actlab_optim_config_default(ACTLAB_OPTIM_SGD);
 *     cfg.momentum = 0.9; cfg.weight_decay = 5e-4;
 *     actlab_param_group groups[] = {{w, gw, nw, 1, "conv1.weight"}, {b, gb, nb, 0, "act1.a"}};
 *     actlab_optim *opt = actlab_optim_new(&cfg, groups, 2, err, sizeof err);
 *     ...
 *     actlab_optim_step(opt, actlab_schedule_lr(&sched, iter, iters_per_epoch));
 *
 * Schedules give the learning rate of an iteration in closed form (no state:
 * the iteration number is the whole position), with the values PyTorch's
 * schedulers give when stepped once per epoch (or per iteration). They are
 * written as text for flags, model files and config.json:
 *
 *     constant
 *     step:size=30,gamma=0.1                     StepLR
 *     multistep:milestones=30/60/90,gamma=0.1    MultiStepLR
 *     multistep:at=35000/85000,lr=0.005/0.0005,unit=iter
 *                                                explicit values from each boundary on
 *     exp:gamma=0.95                             ExponentialLR
 *     cosine:tmax=100,eta_min=0                  CosineAnnealingLR (no tmax: the whole run)
 *     ...+warmup:iters=500,start=0.1[,end=1]     LinearLR chained (ChainedScheduler): the
 *                                                factor multiplies the schedule's lr
 *
 * Every main kind takes unit=epoch (default: the lr changes only between
 * epochs, as with scheduler.step() once per epoch) or unit=iter. Warm-up
 * counts iters= or epochs=.
 */
#ifndef ACTLAB_OPTIM_H
#define ACTLAB_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- optimisers ---- */

typedef enum actlab_optim_kind {
    ACTLAB_OPTIM_SGD = 1,
    ACTLAB_OPTIM_ADAM = 2,
} actlab_optim_kind;

typedef struct actlab_optim_config {
    actlab_optim_kind kind;
    double lr;            /* base learning rate (the schedule's starting point; step() takes the lr) */
    double weight_decay;  /* L2 added to the gradient (g + wd * w), scaled per group by decay_mult */
    /* SGD */
    double momentum;      /* [0, 1) */
    double dampening;     /* [0, 1] */
    int nesterov;         /* needs momentum > 0 and dampening 0 */
    /* Adam */
    double beta1, beta2;  /* [0, 1) */
    double eps;           /* >= 0 */
    int amsgrad;
} actlab_optim_config;

/* PyTorch's defaults: SGD lr 0.01 (PyTorch has none), no momentum or decay;
 * Adam lr 1e-3, betas (0.9, 0.999), eps 1e-8, no decay, no amsgrad. */
actlab_optim_config actlab_optim_config_default(actlab_optim_kind kind);
/* "sgd" or "adam" (any case); 0 if unknown. */
actlab_optim_kind actlab_optim_parse_kind(const char *name);
const char *actlab_optim_kind_name(actlab_optim_kind kind);
/* Set one hyper-parameter by name (for flags and model files): lr, weight_decay,
 * momentum, dampening, nesterov (SGD), beta1, beta2, eps, amsgrad (Adam).
 * A key the kind does not have, or a value that is not a number, is refused. */
int actlab_optim_config_set(actlab_optim_config *cfg, const char *key, const char *value, char *err,
                            size_t errlen);
/* Check the hyper-parameters as PyTorch does (and a little more: momentum < 1). */
int actlab_optim_config_validate(const actlab_optim_config *cfg, char *err, size_t errlen);
/* Canonical text with every setting, e.g. "sgd:lr=0.01,momentum=0.9,dampening=0,
 * nesterov=0,weight_decay=0.0005". Returns the length snprintf would (truncated if >= len). */
int actlab_optim_describe(const actlab_optim_config *cfg, char *buf, size_t len);

/* Parameters the optimiser updates: w -= update(g). The arrays belong to the
 * caller and must outlive the optimiser; the name is copied. */
typedef struct actlab_param_group {
    float *w;
    const float *g;
    int64_t n;
    float decay_mult;     /* weight decay = cfg.weight_decay * decay_mult; 0: none (biases, BN, PReLU a) */
    const char *name;     /* for messages; may be NULL */
} actlab_param_group;

typedef struct actlab_optim actlab_optim;

/* Validates cfg and the groups; allocates all state (momentum buffers, Adam
 * moments) once, zeroed. NULL with a message on error. */
actlab_optim *actlab_optim_new(const actlab_optim_config *cfg, const actlab_param_group *groups, int ngroups,
                               char *err, size_t errlen);
void actlab_optim_free(actlab_optim *opt);
/* One update of every group with this learning rate. Returns non-zero (and
 * changes nothing) if lr is negative or not finite. */
int actlab_optim_step(actlab_optim *opt, double lr);
/* Steps taken so far (restored by state_load). */
int64_t actlab_optim_steps(const actlab_optim *opt);
const actlab_optim_config *actlab_optim_get_config(const actlab_optim *opt);

/* The state as one flat blob, for checkpoints: a header (magic, version,
 * kind, flags, step count, group sizes) and the float32 buffers. Loading
 * into an optimiser of another kind, other flags (momentum on/off, amsgrad)
 * or other group sizes is refused with a message saying which; loading the
 * blob saved after k steps makes the next steps bit-identical to an
 * optimiser that took those k steps itself. */
#define ACTLAB_OPTIM_STATE_VERSION 1
size_t actlab_optim_state_size(const actlab_optim *opt);
/* buf must hold actlab_optim_state_size() bytes (any alignment). Returns 0. */
int actlab_optim_state_save(const actlab_optim *opt, void *buf);
int actlab_optim_state_load(actlab_optim *opt, const void *buf, size_t len, char *err, size_t errlen);

/* ---- learning-rate schedules ---- */

typedef enum actlab_schedule_kind {
    ACTLAB_SCHED_CONSTANT = 0,
    ACTLAB_SCHED_STEP = 1,      /* base * gamma^(t / step_size) */
    ACTLAB_SCHED_MULTISTEP = 2, /* base * gamma^(milestones <= t), or values[k] from milestone k on */
    ACTLAB_SCHED_EXP = 3,       /* base * gamma^t */
    ACTLAB_SCHED_COSINE = 4,    /* eta_min + (base - eta_min) (1 + cos(pi t / t_max)) / 2 */
} actlab_schedule_kind;

typedef enum actlab_schedule_unit {
    ACTLAB_UNIT_EPOCH = 0,      /* t = iter / iters_per_epoch (whole epochs) */
    ACTLAB_UNIT_ITER = 1,       /* t = iter */
} actlab_schedule_unit;

#define ACTLAB_SCHEDULE_MAX_MILESTONES 32

/* A plain value: copy it freely, nothing to free. */
typedef struct actlab_schedule {
    actlab_schedule_kind kind;
    actlab_schedule_unit unit;
    double base_lr;
    double gamma;               /* step, multistep (without values), exp */
    int64_t step_size;          /* step */
    int nmilestones;            /* multistep: strictly increasing, >= 1 */
    int64_t milestones[ACTLAB_SCHEDULE_MAX_MILESTONES];
    int explicit_values;        /* multistep: 1 = values[k] is the lr from milestones[k] on */
    double values[ACTLAB_SCHEDULE_MAX_MILESTONES];
    int64_t t_max;              /* cosine; 0 = the whole run (set by actlab_schedule_resolve) */
    double eta_min;
    int64_t warmup;             /* warm-up length; 0: none */
    actlab_schedule_unit warmup_unit;
    double warmup_start, warmup_end; /* factor start + (end - start) min(t, warmup) / warmup */
} actlab_schedule;

/* Constant at base_lr. */
actlab_schedule actlab_schedule_constant(double base_lr);
/* Parse schedule text (see the top of this file). base_lr is the lr before any
 * decay (the optimiser's lr). A bad part is named in the message together
 * with what was expected. */
int actlab_schedule_parse(const char *text, double base_lr, actlab_schedule *out, char *err, size_t errlen);
/* Check a schedule filled in by hand (parse already does). */
int actlab_schedule_validate(const actlab_schedule *s, char *err, size_t errlen);
/* Fill what depends on the run's length: cosine without tmax anneals over the
 * whole run (epochs, or epochs * iters_per_epoch with unit=iter). */
void actlab_schedule_resolve(actlab_schedule *s, int64_t epochs, int64_t iters_per_epoch);
/* The learning rate for (0-based) iteration iter; iters_per_epoch < 1 counts as 1. */
double actlab_schedule_lr(const actlab_schedule *s, int64_t iter, int64_t iters_per_epoch);
/* Canonical text, every setting spelt out, parseable again (with the same
 * base_lr) to the same schedule. Returns the length snprintf would. */
int actlab_schedule_describe(const actlab_schedule *s, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
