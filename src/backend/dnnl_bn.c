/*
 * dnnl_bn.c — batch normalisation on oneDNN (torch.nn.BatchNorm2d, and
 * BatchNorm1d as H = W = 1), forward and backward, float32, on the caller's
 * layout (NCHW or nChw16c): normalisation reads and writes each element once
 * or twice, so it runs where the data already is.
 *
 * Training: oneDNN computes the batch's mean and biased variance (written to
 * the caller's mean/var) and normalises with them; the running statistics are
 * the caller's business (PyTorch's momentum update needs the unbiased
 * variance, net-level code). Evaluation: the caller's running mean and
 * variance are used (dnnl_use_global_stats). Backward is the training-mode
 * gradient through the batch statistics (prop backward): din overwritten,
 * dgamma and dbeta accumulated.
 */
#define NN_DNNL_INTERNAL
#include "dnnl_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct nn_dnnl_bn {
    int B, C, H, W;
    float eps;
    char what[128];
    char err[NN_DNNL_ERRLEN];
    char info[256];
    dnnl_stream_t strm;
    nn_dnnl_temps t;
    nn_dnnl_prim train, infer, bwd;
    /* data and per-channel vectors, all on the caller's layouts (no copies) except the
     * parameter gradients, which go through a copy that is added into dgamma/dbeta */
    nn_dnnl_arg src, dst, scale, shift, mean, var;
    nn_dnnl_arg b_src, b_ddst, b_dsrc, b_scale, b_mean, b_var, b_dscale, b_dshift, b_shift;
};

#define TRY(x)                                                                                                     \
    do {                                                                                                           \
        if (x) return -1;                                                                                          \
    } while (0)

static int build(nn_dnnl_bn *b, int blocked) {
    char *err = b->err;
    size_t el = sizeof b->err;
    const char *what = b->what;
    TRY(nn_dnnl_context(NULL, &b->strm, err, el));
    dnnl_dims_t dd = {b->B, b->C, b->H, b->W}, dc = {b->C};
    dnnl_memory_desc_t data, vec;
    dnnl_status_t st = dnnl_memory_desc_init_by_tag(&data, 4, dd, dnnl_f32, blocked ? dnnl_nChw16c : dnnl_nchw);
    if (st == dnnl_success) st = dnnl_memory_desc_init_by_tag(&vec, 1, dc, dnnl_f32, dnnl_x);
    if (st != dnnl_success) return nn_dnnl_fail(err, el, what, NULL, "dnnl_memory_desc_init_by_tag", st);
    unsigned ss = dnnl_use_scale | dnnl_use_shift;
    dnnl_batch_normalization_desc_t d;

    nn_dnnl_temps_phase(&b->t);
    st = dnnl_batch_normalization_forward_desc_init(&d, dnnl_forward_training, &data, b->eps, ss);
    if (st != dnnl_success) return nn_dnnl_fail(err, el, what, "forward", "dnnl_batch_normalization_forward_desc_init", st);
    TRY(nn_dnnl_prim_make(&b->train, &d, NULL, NULL, what, "forward", err, el));
    st = dnnl_batch_normalization_forward_desc_init(&d, dnnl_forward_inference, &data, b->eps,
                                                    ss | dnnl_use_global_stats);
    if (st != dnnl_success) return nn_dnnl_fail(err, el, what, "inference", "dnnl_batch_normalization_forward_desc_init", st);
    TRY(nn_dnnl_prim_make(&b->infer, &d, NULL, NULL, what, "inference", err, el));
    nn_dnnl_arg *fa[] = {&b->src, &b->dst, &b->scale, &b->shift, &b->mean, &b->var};
    for (int i = 0; i < 6; i++)
        TRY(nn_dnnl_arg_make(fa[i], &b->t, i < 2 ? &data : &vec, i < 2 ? &data : &vec, i == 1 ? NN_DNNL_OUT : NN_DNNL_IN,
                             what, "forward", err, el));
    nn_dnnl_prim *fp[] = {&b->train, &b->infer};
    TRY(nn_dnnl_prims_scratch(&b->t, fp, 2, what, err, el));

    nn_dnnl_temps_phase(&b->t);
    st = dnnl_batch_normalization_backward_desc_init(&d, dnnl_backward, &data, &data, b->eps, ss);
    if (st != dnnl_success) return nn_dnnl_fail(err, el, what, "backward", "dnnl_batch_normalization_backward_desc_init", st);
    TRY(nn_dnnl_prim_make(&b->bwd, &d, b->train.pd, NULL, what, "backward", err, el));
    nn_dnnl_arg *ba[] = {&b->b_src, &b->b_ddst, &b->b_dsrc, &b->b_scale, &b->b_mean, &b->b_var, &b->b_dscale, &b->b_dshift};
    for (int i = 0; i < 8; i++) {
        nn_dnnl_dir dir = i == 2 ? NN_DNNL_OUT : i >= 6 ? NN_DNNL_OUT_ADD : NN_DNNL_IN;
        TRY(nn_dnnl_arg_make(ba[i], &b->t, i < 3 ? &data : &vec, i < 3 ? &data : &vec, dir, what, "backward", err, el));
    }
    /* oneDNN 2.6 counts shift as an input of the backward pass too (unused by the math) */
    TRY(nn_dnnl_arg_make(&b->b_shift, &b->t, &vec, &vec, NN_DNNL_IN, what, "backward", err, el));
    nn_dnnl_prim *bp[] = {&b->bwd, &b->b_dscale.reorder, &b->b_dshift.reorder};
    TRY(nn_dnnl_prims_scratch(&b->t, bp, 3, what, err, el));
    TRY(nn_dnnl_temps_reserve(&b->t, what, err, el));
    snprintf(b->info, sizeof b->info, "fwd %s, bwd %s (%s)", b->train.impl, b->bwd.impl, blocked ? "aBcd16b" : "abcd");
    return 0;
}

nn_dnnl_bn *nn_dnnl_bn_new(int B, int C, int H, int W, float eps, const nn_dnnl_opts *opts, char *err, size_t errlen) {
    nn_dnnl_bn *b = calloc(1, sizeof *b);
    if (!b) {
        if (err && errlen) snprintf(err, errlen, "batchnorm: out of memory");
        return NULL;
    }
    int blocked = opts && opts->src_blocked;
    b->B = B, b->C = C, b->H = H, b->W = W, b->eps = eps;
    snprintf(b->what, sizeof b->what, "batchnorm on %dx%dx%dx%d", B, C, H, W);
    if (B <= 0 || C <= 0 || H <= 0 || W <= 0 || !(eps > 0))
        snprintf(b->err, sizeof b->err, "%s: bad shape or eps %g", b->what, eps);
    else if (blocked && C % 16)
        snprintf(b->err, sizeof b->err, "%s: a channel-blocked layout needs a multiple of 16 channels", b->what);
    else if (build(b, blocked) == 0)
        return b;
    if (err && errlen) snprintf(err, errlen, "%s", b->err);
    nn_dnnl_bn_free(b);
    return NULL;
}

int nn_dnnl_bn_forward(nn_dnnl_bn *b, float *out, const float *in, const float *gamma, const float *beta, float *mean,
                       float *var, int training) {
    char *err = b->err;
    size_t el = sizeof b->err;
    TRY(nn_dnnl_temps_bind(&b->t, b->what, err, el));
    TRY(nn_dnnl_arg_set(&b->src, (void *)in, b->what, err, el));
    TRY(nn_dnnl_arg_set(&b->dst, out, b->what, err, el));
    TRY(nn_dnnl_arg_set(&b->scale, (void *)gamma, b->what, err, el));
    TRY(nn_dnnl_arg_set(&b->shift, (void *)beta, b->what, err, el));
    TRY(nn_dnnl_arg_set(&b->mean, mean, b->what, err, el));
    TRY(nn_dnnl_arg_set(&b->var, var, b->what, err, el));
    dnnl_exec_arg_t a[6] = {{DNNL_ARG_SRC, b->src.mem},     {DNNL_ARG_DST, b->dst.mem},
                            {DNNL_ARG_SCALE, b->scale.mem}, {DNNL_ARG_SHIFT, b->shift.mem},
                            {DNNL_ARG_MEAN, b->mean.mem},   {DNNL_ARG_VARIANCE, b->var.mem}};
    TRY(nn_dnnl_exec(training ? &b->train : &b->infer, b->strm, 6, a, b->what, training ? "forward" : "inference", err,
                     el));
    dnnl_status_t st = dnnl_stream_wait(b->strm);
    if (st != dnnl_success) return nn_dnnl_fail(err, el, b->what, "forward", "dnnl_stream_wait", st);
    return 0;
}

int nn_dnnl_bn_backward(nn_dnnl_bn *b, float *din, float *dgamma, float *dbeta, const float *dout, const float *in,
                        const float *gamma, const float *beta, const float *mean, const float *var) {
    char *err = b->err;
    size_t el = sizeof b->err;
    TRY(nn_dnnl_temps_bind(&b->t, b->what, err, el));
    TRY(nn_dnnl_arg_set(&b->b_src, (void *)in, b->what, err, el));
    TRY(nn_dnnl_arg_set(&b->b_ddst, (void *)dout, b->what, err, el));
    TRY(nn_dnnl_arg_set(&b->b_dsrc, din, b->what, err, el));
    TRY(nn_dnnl_arg_set(&b->b_scale, (void *)gamma, b->what, err, el));
    TRY(nn_dnnl_arg_set(&b->b_shift, (void *)beta, b->what, err, el));
    TRY(nn_dnnl_arg_set(&b->b_mean, (void *)mean, b->what, err, el));
    TRY(nn_dnnl_arg_set(&b->b_var, (void *)var, b->what, err, el));
    TRY(nn_dnnl_arg_set(&b->b_dscale, dgamma, b->what, err, el));
    TRY(nn_dnnl_arg_set(&b->b_dshift, dbeta, b->what, err, el));
    dnnl_exec_arg_t a[9] = {{DNNL_ARG_SHIFT, b->b_shift.mem},{DNNL_ARG_SRC, b->b_src.mem},           {DNNL_ARG_DIFF_DST, b->b_ddst.mem},
                            {DNNL_ARG_DIFF_SRC, b->b_dsrc.mem},     {DNNL_ARG_SCALE, b->b_scale.mem},
                            {DNNL_ARG_MEAN, b->b_mean.mem},         {DNNL_ARG_VARIANCE, b->b_var.mem},
                            {DNNL_ARG_DIFF_SCALE, b->b_dscale.mem}, {DNNL_ARG_DIFF_SHIFT, b->b_dshift.mem}};
    TRY(nn_dnnl_exec(&b->bwd, b->strm, 9, a, b->what, "backward", err, el));
    TRY(nn_dnnl_arg_out(&b->b_dscale, b->strm, b->what, err, el));
    TRY(nn_dnnl_arg_out(&b->b_dshift, b->strm, b->what, err, el));
    dnnl_status_t st = dnnl_stream_wait(b->strm);
    if (st != dnnl_success) return nn_dnnl_fail(err, el, b->what, "backward", "dnnl_stream_wait", st);
    return 0;
}

const char *nn_dnnl_bn_info(const nn_dnnl_bn *b) { return b->info; }
const char *nn_dnnl_bn_error(const nn_dnnl_bn *b) { return b->err; }

void nn_dnnl_bn_free(nn_dnnl_bn *b) {
    if (!b) return;
    nn_dnnl_arg *args[] = {&b->src,    &b->dst,    &b->scale,  &b->shift,  &b->mean,   &b->var,   &b->b_src,
                           &b->b_ddst, &b->b_dsrc, &b->b_scale, &b->b_mean, &b->b_var, &b->b_dscale, &b->b_dshift, &b->b_shift};
    for (size_t i = 0; i < sizeof args / sizeof *args; i++) nn_dnnl_arg_free(args[i]);
    nn_dnnl_prim_free(&b->train);
    nn_dnnl_prim_free(&b->infer);
    nn_dnnl_prim_free(&b->bwd);
    nn_dnnl_temps_release(&b->t);
    free(b);
}

nn_dnnl_temps *nn_dnnl_bn_temps(nn_dnnl_bn *b) { return &b->t; }
