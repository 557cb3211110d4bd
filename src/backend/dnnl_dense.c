/*
 * dnnl_dense.c — the dense layer (torch.nn.Linear) as oneDNN inner products:
 * forward, backward data, backward weights (+ bias), float32, with the
 * reference's layouts at the interface (in[B][I], w[O][I], out[B][O]).
 *
 * Built like dnnl_conv.c: three primitives at creation, each argument on the
 * caller's buffer or through a reorder, the weight and bias gradients through
 * a copy that a sum-post-op reorder adds into dw and db.
 *
 * Layout: on plain nc / oi oneDNN runs the inner product as its JIT sgemm;
 * with format_tag_any it picks brgemm on blocked weights (AB16b64a), which
 * measured slower at every size here, reorders included (fwd + bwd, ms, 2
 * threads: 400->120 batch 128 0.15 vs 0.24, 120->84 0.06 vs 0.09, 84->10 0.03
 * vs 0.04, 784->128 batch 64 0.16 vs 0.29). NN_DNNL_FMT_PLAIN builds those
 * plain primitives; NN_DNNL_FMT_BLOCKED asks for format_tag_any.
 *
 * NN_DNNL_FMT_AUTO (what the net uses) calls oneDNN's sgemm itself, three
 * calls and no primitives: the same JIT kernels without the primitives'
 * per-call argument handling, and with the weight gradient accumulated by the
 * GEMM (beta = 1) instead of computed into a copy that a sum-post-op reorder
 * adds into dw. Measured (1 thread, batch 64, us per call, primitives vs
 * sgemm): 128->128 fwd 12.5 vs 11.8, bwd 24.8 vs 20.5; 784->128 fwd 73 vs 71,
 * bwd 145 vs 128: 5-8 % of the 8x128 MLP's step.
 */
#define NN_DNNL_INTERNAL
#include "dnnl_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct nn_dnnl_dense {
    int B, I, O, bias;
    int gemm;          /* NN_DNNL_FMT_AUTO: dnnl_sgemm calls instead of the primitives */
    char what[96];
    char err[NN_DNNL_ERRLEN];
    char info[512];
    dnnl_stream_t strm;
    nn_dnnl_temps t;
    nn_dnnl_prim fwd, bwd_d, bwd_w;
    nn_dnnl_arg f_src, f_w, f_b, f_dst;
    nn_dnnl_arg d_ddst, d_w, d_dsrc;
    nn_dnnl_arg w_src, w_ddst, w_dw, w_db;
    int share_ddst;
};

static const dnnl_memory_desc_t *q(const nn_dnnl_prim *p, dnnl_query_t what, int index) {
    return dnnl_primitive_desc_query_md(p->pd, what, index);
}

static void info_add(nn_dnnl_dense *d, const char *stage, const nn_dnnl_prim *p, const char *const *names,
                     const dnnl_query_t *qs, int n) {
    size_t k = strlen(d->info);
    k += (size_t)snprintf(d->info + k, sizeof d->info - k, "%s%s %s (", k ? "; " : "", stage, p->impl);
    for (int i = 0; i < n && k < sizeof d->info; i++) {
        char tag[32];
        nn_dnnl_md_tag(tag, sizeof tag, q(p, qs[i], 0));
        k += (size_t)snprintf(d->info + k, sizeof d->info - k, "%s%s %s", i ? ", " : "", names[i], tag);
    }
    if (k < sizeof d->info) snprintf(d->info + k, sizeof d->info - k, ")");
}

static int mdinit(nn_dnnl_dense *d, dnnl_memory_desc_t *md, int nd, const dnnl_dims_t dims, dnnl_format_tag_t tag) {
    dnnl_status_t st = dnnl_memory_desc_init_by_tag(md, nd, dims, dnnl_f32, tag);
    if (st != dnnl_success)
        return nn_dnnl_fail(d->err, sizeof d->err, d->what, NULL, "dnnl_memory_desc_init_by_tag", st);
    return 0;
}

static int build(nn_dnnl_dense *d, const nn_dnnl_opts *o) {
    char *err = d->err;
    size_t el = sizeof d->err;
    const char *what = d->what;
    if (nn_dnnl_context(NULL, &d->strm, err, el)) return -1;
    int blocked = o->format == NN_DNNL_FMT_BLOCKED;
    dnnl_dims_t dsrc = {d->B, d->I}, dw = {d->O, d->I}, db = {d->O}, ddst = {d->B, d->O};
    dnnl_memory_desc_t p_src, p_w, p_b, p_dst, src, w, b, dst;
    if (mdinit(d, &p_src, 2, dsrc, dnnl_nc) || mdinit(d, &p_w, 2, dw, dnnl_oi) || mdinit(d, &p_b, 1, db, dnnl_x) ||
        mdinit(d, &p_dst, 2, ddst, dnnl_nc))
        return -1;
    if (blocked) {
        if (mdinit(d, &src, 2, dsrc, dnnl_format_tag_any) || mdinit(d, &w, 2, dw, dnnl_format_tag_any) ||
            mdinit(d, &b, 1, db, dnnl_format_tag_any) || mdinit(d, &dst, 2, ddst, dnnl_format_tag_any))
            return -1;
    } else {
        src = p_src, w = p_w, b = p_b, dst = p_dst;
    }
    dnnl_inner_product_desc_t desc;
    dnnl_status_t st;

    /* forward */
    nn_dnnl_temps_phase(&d->t);
    st = dnnl_inner_product_forward_desc_init(&desc, dnnl_forward_training, &src, &w, d->bias ? &b : NULL, &dst);
    if (st != dnnl_success) return nn_dnnl_fail(err, el, what, "forward", "dnnl_inner_product_forward_desc_init", st);
    if (nn_dnnl_prim_make(&d->fwd, &desc, NULL, NULL, what, "forward", err, el) ||
        nn_dnnl_arg_make(&d->f_src, &d->t, &p_src, q(&d->fwd, dnnl_query_src_md, 0), NN_DNNL_IN, what, "forward", err,
                         el) ||
        nn_dnnl_arg_make(&d->f_w, &d->t, &p_w, q(&d->fwd, dnnl_query_weights_md, 0), NN_DNNL_IN, what, "forward", err,
                         el) ||
        (d->bias && nn_dnnl_arg_make(&d->f_b, &d->t, &p_b, q(&d->fwd, dnnl_query_weights_md, 1), NN_DNNL_IN, what,
                                     "forward", err, el)) ||
        nn_dnnl_arg_make(&d->f_dst, &d->t, &p_dst, q(&d->fwd, dnnl_query_dst_md, 0), NN_DNNL_OUT, what, "forward", err,
                         el))
        return -1;
    nn_dnnl_prim *fp[] = {&d->fwd, &d->f_src.reorder, &d->f_w.reorder, &d->f_b.reorder, &d->f_dst.reorder};
    if (nn_dnnl_prims_scratch(&d->t, fp, 5, what, err, el)) return -1;

    /* backward */
    nn_dnnl_temps_phase(&d->t);
    st = dnnl_inner_product_backward_data_desc_init(&desc, &src, &w, &dst);
    if (st != dnnl_success)
        return nn_dnnl_fail(err, el, what, "backward data", "dnnl_inner_product_backward_data_desc_init", st);
    if (nn_dnnl_prim_make(&d->bwd_d, &desc, d->fwd.pd, NULL, what, "backward data", err, el)) return -1;
    st = dnnl_inner_product_backward_weights_desc_init(&desc, &src, &w, d->bias ? &b : NULL, &dst);
    if (st != dnnl_success)
        return nn_dnnl_fail(err, el, what, "backward weights", "dnnl_inner_product_backward_weights_desc_init", st);
    if (nn_dnnl_prim_make(&d->bwd_w, &desc, d->fwd.pd, NULL, what, "backward weights", err, el)) return -1;
    const dnnl_memory_desc_t *d_ddst_md = q(&d->bwd_d, dnnl_query_diff_dst_md, 0),
                             *w_ddst_md = q(&d->bwd_w, dnnl_query_diff_dst_md, 0);
    d->share_ddst = nn_dnnl_md_is(d_ddst_md, w_ddst_md);
    if (nn_dnnl_arg_make(&d->d_ddst, &d->t, &p_dst, d_ddst_md, NN_DNNL_IN, what, "backward data", err, el) ||
        nn_dnnl_arg_make(&d->d_w, &d->t, &p_w, q(&d->bwd_d, dnnl_query_weights_md, 0), NN_DNNL_IN, what,
                         "backward data", err, el) ||
        nn_dnnl_arg_make(&d->d_dsrc, &d->t, &p_src, q(&d->bwd_d, dnnl_query_diff_src_md, 0), NN_DNNL_OUT, what,
                         "backward data", err, el) ||
        nn_dnnl_arg_make(&d->w_src, &d->t, &p_src, q(&d->bwd_w, dnnl_query_src_md, 0), NN_DNNL_IN, what,
                         "backward weights", err, el) ||
        (!d->share_ddst &&
         nn_dnnl_arg_make(&d->w_ddst, &d->t, &p_dst, w_ddst_md, NN_DNNL_IN, what, "backward weights", err, el)) ||
        nn_dnnl_arg_make(&d->w_dw, &d->t, &p_w, q(&d->bwd_w, dnnl_query_diff_weights_md, 0), NN_DNNL_OUT_ADD, what,
                         "backward weights", err, el) ||
        (d->bias && nn_dnnl_arg_make(&d->w_db, &d->t, &p_b, q(&d->bwd_w, dnnl_query_diff_weights_md, 1),
                                     NN_DNNL_OUT_ADD, what, "backward weights", err, el)))
        return -1;
    nn_dnnl_prim *bp[] = {&d->bwd_d,         &d->bwd_w,         &d->d_ddst.reorder, &d->d_w.reorder,
                          &d->d_dsrc.reorder, &d->w_src.reorder, &d->w_ddst.reorder, &d->w_dw.reorder,
                          &d->w_db.reorder};
    if (nn_dnnl_prims_scratch(&d->t, bp, 9, what, err, el)) return -1;
    if (nn_dnnl_temps_reserve(&d->t, what, err, el)) return -1;

    static const char *const fn[] = {"src", "wei", "dst"}, *const dn[] = {"diff_src", "wei", "diff_dst"},
                             *const wn[] = {"src", "diff_wei", "diff_dst"};
    static const dnnl_query_t fq[] = {dnnl_query_src_md, dnnl_query_weights_md, dnnl_query_dst_md},
                              dq[] = {dnnl_query_diff_src_md, dnnl_query_weights_md, dnnl_query_diff_dst_md},
                              wq[] = {dnnl_query_src_md, dnnl_query_diff_weights_md, dnnl_query_diff_dst_md};
    info_add(d, "fwd", &d->fwd, fn, fq, 3);
    info_add(d, "bwd_data", &d->bwd_d, dn, dq, 3);
    info_add(d, "bwd_weights", &d->bwd_w, wn, wq, 3);
    return 0;
}

nn_dnnl_dense *nn_dnnl_dense_new_opts(int B, int I, int O, int with_bias, const nn_dnnl_opts *opts, char *err,
                                      size_t errlen) {
    nn_dnnl_dense *d = calloc(1, sizeof *d);
    if (!d) {
        if (err && errlen) snprintf(err, errlen, "dense: out of memory");
        return NULL;
    }
    d->B = B, d->I = I, d->O = O, d->bias = with_bias != 0;
    snprintf(d->what, sizeof d->what, "dense %d->%d on %dx%d", I, O, B, I);
    nn_dnnl_opts o = opts ? *opts : (nn_dnnl_opts){0};
    d->gemm = o.format == NN_DNNL_FMT_AUTO;
    if (B <= 0 || I <= 0 || O <= 0)
        snprintf(d->err, sizeof d->err, "%s: sizes must be positive", d->what);
    else if (d->gemm) {
        snprintf(d->info, sizeof d->info, "dnnl_sgemm: fwd out = in w^T%s; bwd_data din = dout w; "
                 "bwd_weights dw += dout^T in%s", d->bias ? " + b" : "", d->bias ? ", db += column sums of dout" : "");
        return d;
    } else if (build(d, &o) == 0)
        return d;
    if (err && errlen) snprintf(err, errlen, "%s", d->err);
    nn_dnnl_dense_free(d);
    return NULL;
}

nn_dnnl_dense *nn_dnnl_dense_new(int B, int I, int O, int with_bias, char *err, size_t errlen) {
    return nn_dnnl_dense_new_opts(B, I, O, with_bias, NULL, err, errlen);
}

#define TRY(x)                                                                                                     \
    do {                                                                                                           \
        if (x) return -1;                                                                                          \
    } while (0)

/* Row-major C = A op(B) (+ C when beta is 1) through oneDNN's sgemm. */
static int sgemm(nn_dnnl_dense *d, const char *stage, char ta, char tb, int M, int N, int K, const float *A, int lda,
                 const float *Bm, int ldb, float beta, float *C, int ldc) {
    dnnl_status_t st = dnnl_sgemm(ta, tb, M, N, K, 1.0f, A, lda, Bm, ldb, beta, C, ldc);
    return st == dnnl_success ? 0 : nn_dnnl_fail(d->err, sizeof d->err, d->what, stage, "dnnl_sgemm", st);
}

/* out[B][O] = in[B][I] w[O][I]^T + b, as torch.addmm: the bias first, the product added. */
static int gemm_forward(nn_dnnl_dense *d, float *out, const float *in, const float *w, const float *b) {
    if (d->bias)
        for (int r = 0; r < d->B; r++) memcpy(out + (size_t)r * d->O, b, sizeof(float) * (size_t)d->O);
    return sgemm(d, "forward", 'N', 'T', d->B, d->O, d->I, in, d->I, w, d->I, d->bias ? 1.0f : 0.0f, out, d->O);
}

static int gemm_backward(nn_dnnl_dense *d, float *din, float *dw, float *db, const float *dout, const float *in,
                         const float *w) {
    if (din && sgemm(d, "backward data", 'N', 'N', d->B, d->I, d->O, dout, d->O, w, d->I, 0.0f, din, d->I)) return -1;
    if (dw && sgemm(d, "backward weights", 'T', 'N', d->O, d->I, d->B, dout, d->O, in, d->I, 1.0f, dw, d->I)) return -1;
    if (dw && d->bias && db) /* rows in order: the same sums on any thread count */
        for (int r = 0; r < d->B; r++)
            for (int o = 0; o < d->O; o++) db[o] += dout[(size_t)r * d->O + o];
    return 0;
}

int nn_dnnl_dense_forward(nn_dnnl_dense *d, float *out, const float *in, const float *w, const float *b) {
    if (d->gemm) return gemm_forward(d, out, in, w, b);
    char *err = d->err;
    size_t el = sizeof d->err;
    TRY(nn_dnnl_temps_bind(&d->t, d->what, err, el));
    TRY(nn_dnnl_arg_in(&d->f_src, in, d->strm, d->what, err, el));
    TRY(nn_dnnl_arg_in(&d->f_w, w, d->strm, d->what, err, el));
    if (d->bias) TRY(nn_dnnl_arg_in(&d->f_b, b, d->strm, d->what, err, el));
    TRY(nn_dnnl_arg_set(&d->f_dst, out, d->what, err, el));
    dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, d->f_src.mem}, {DNNL_ARG_WEIGHTS, d->f_w.mem}, {DNNL_ARG_DST, d->f_dst.mem},
                            {DNNL_ARG_BIAS, d->f_b.mem}};
    TRY(nn_dnnl_exec(&d->fwd, d->strm, d->bias ? 4 : 3, a, d->what, "forward", err, el));
    TRY(nn_dnnl_arg_out(&d->f_dst, d->strm, d->what, err, el));
    dnnl_status_t st = dnnl_stream_wait(d->strm);
    if (st != dnnl_success) return nn_dnnl_fail(err, el, d->what, "forward", "dnnl_stream_wait", st);
    return 0;
}

int nn_dnnl_dense_backward(nn_dnnl_dense *d, float *din, float *dw, float *db, const float *dout, const float *in,
                           const float *w) {
    if (d->gemm) return gemm_backward(d, din, dw, db, dout, in, w);
    char *err = d->err;
    size_t el = sizeof d->err;
    TRY(nn_dnnl_temps_bind(&d->t, d->what, err, el));
    int ddst_ready = 0;
    if (din) {
        TRY(nn_dnnl_arg_in(&d->d_ddst, dout, d->strm, d->what, err, el));
        ddst_ready = 1;
        TRY(nn_dnnl_arg_in(&d->d_w, w, d->strm, d->what, err, el));
        TRY(nn_dnnl_arg_set(&d->d_dsrc, din, d->what, err, el));
        dnnl_exec_arg_t a[3] = {{DNNL_ARG_DIFF_DST, d->d_ddst.mem}, {DNNL_ARG_WEIGHTS, d->d_w.mem},
                                {DNNL_ARG_DIFF_SRC, d->d_dsrc.mem}};
        TRY(nn_dnnl_exec(&d->bwd_d, d->strm, 3, a, d->what, "backward data", err, el));
        TRY(nn_dnnl_arg_out(&d->d_dsrc, d->strm, d->what, err, el));
    }
    if (dw) {
        nn_dnnl_arg *ddst = d->share_ddst ? &d->d_ddst : &d->w_ddst;
        if (!(d->share_ddst && ddst_ready)) TRY(nn_dnnl_arg_in(ddst, dout, d->strm, d->what, err, el));
        TRY(nn_dnnl_arg_in(&d->w_src, in, d->strm, d->what, err, el));
        TRY(nn_dnnl_arg_set(&d->w_dw, dw, d->what, err, el));
        if (d->bias) TRY(nn_dnnl_arg_set(&d->w_db, db, d->what, err, el));
        dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, d->w_src.mem}, {DNNL_ARG_DIFF_DST, ddst->mem},
                                {DNNL_ARG_DIFF_WEIGHTS, d->w_dw.mem}, {DNNL_ARG_DIFF_BIAS, d->w_db.mem}};
        TRY(nn_dnnl_exec(&d->bwd_w, d->strm, d->bias ? 4 : 3, a, d->what, "backward weights", err, el));
        TRY(nn_dnnl_arg_out(&d->w_dw, d->strm, d->what, err, el));
        if (d->bias && db) TRY(nn_dnnl_arg_out(&d->w_db, d->strm, d->what, err, el));
    }
    dnnl_status_t st = dnnl_stream_wait(d->strm);
    if (st != dnnl_success) return nn_dnnl_fail(err, el, d->what, "backward", "dnnl_stream_wait", st);
    return 0;
}

const char *nn_dnnl_dense_info(const nn_dnnl_dense *d) { return d->info; }
const char *nn_dnnl_dense_error(const nn_dnnl_dense *d) { return d->err; }

void nn_dnnl_dense_free(nn_dnnl_dense *d) {
    if (!d) return;
    nn_dnnl_arg *args[] = {&d->f_src, &d->f_w,   &d->f_b,    &d->f_dst,  &d->d_ddst, &d->d_w,
                           &d->d_dsrc, &d->w_src, &d->w_ddst, &d->w_dw, &d->w_db};
    for (size_t i = 0; i < sizeof args / sizeof *args; i++) nn_dnnl_arg_free(args[i]);
    nn_dnnl_prim_free(&d->fwd);
    nn_dnnl_prim_free(&d->bwd_d);
    nn_dnnl_prim_free(&d->bwd_w);
    nn_dnnl_temps_release(&d->t);
    free(d);
}

nn_dnnl_temps *nn_dnnl_dense_temps(nn_dnnl_dense *d) { return &d->t; }
