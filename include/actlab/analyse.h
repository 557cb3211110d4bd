/*
 * actlab/analyse.h — numerical measurements of an activation function's
 * properties (the survey's list of what a good activation should have).
 */
#ifndef ACTLAB_ANALYSE_H
#define ACTLAB_ANALYSE_H

#include "actlab/act.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct actlab_analysis {
    /* For x ~ N(0,1), by quadrature with the double reference: */
    double mean, var;          /* of f(x): zero-centredness */
    double p_zero_grad;        /* P(f'(x) = 0): risk of dead ("necrotic") units */
    double p_small_grad;       /* P(|f'(x)| < 1e-3): saturation */
    /* On [-10, 10]: */
    double df_min, df_max;     /* range of f' */
    int monotone;              /* 2 strictly increasing, 1 non-decreasing, 0 not monotonic */
    /* At the kinks the entry declares: */
    int nkinks;
    double kink[ACTLAB_ACT_MAX_KINKS];
    double f_jump[ACTLAB_ACT_MAX_KINKS], df_jump[ACTLAB_ACT_MAX_KINKS]; /* |jump| of f and f' (0: continuous) */
    double f_jump_max, df_jump_max;
    /* 20 dense layers of width 256, He-initialised, batch 64, float kernels: */
    double grad_scale;         /* |gradient at the input| / |gradient at the output|: <<1 vanishing, >>1 exploding */
    double out_scale;          /* RMS of the last layer's output / RMS of the input */
} actlab_analysis;

/* Everything but the timings. Returns 0, or non-zero with a message. */
int actlab_analyse(const actlab_act_cfg *cfg, actlab_analysis *out, char *err, size_t errlen);

/* Median time per element of forward and of forward+backward over `repeats`
 * runs on n elements. buf holds 4n floats: x (filled by the caller), then y,
 * dy (filled by the caller) and dx. */
int actlab_time_act(const actlab_act_cfg *cfg, float *buf, int64_t n, int repeats, double *fwd_ns,
                    double *fwdbwd_ns, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
