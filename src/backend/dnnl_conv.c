/*
 * dnnl_conv.c — 2-D convolution on oneDNN: forward, backward data, backward
 * weights (+ bias), float32 (or bf16 arithmetic on float32 buffers, below), with
 * the reference's plain layouts at the interface (dnnl_backend.h).
 *
 * Three primitives are built at creation: forward (forward_training), backward
 * data and backward weights (both hinted by the forward). Each argument either
 * points straight at the caller's buffer, when the primitive runs on the plain
 * layout, or goes through a reorder into a blocked copy in the shared
 * temporary buffer. The weight gradient always goes through a copy: oneDNN
 * writes diff_weights, the interface accumulates, so the copy is reordered
 * into dw with a sum post-op (dw += copy); the same for the bias gradient.
 *
 * Activations given blocked (opts: nChw16c, as the network keeps them between
 * layers) are used as they are; the weights stay in PyTorch's OIHW in the
 * parameter arena (the optimiser, checkpoints and parity tests see one flat
 * array) and are reordered in each call, a cost of O(weights), small beside
 * the convolution's O(weights x pixels x batch).
 *
 * Layouts (NN_DNNL_FMT_AUTO) are chosen per primitive, from measurements on
 * this machine (2 cores, AVX-512, oneDNN 2.6.3, 2 threads, batch 128, direct
 * algorithm, best of 5-10 calls, ms; "plain" is oneDNN's gemm convolution on
 * NCHW, "blocked" its jit kernels on the format_tag_any layouts with the
 * reorders in and out included):
 *                                   fwd            bwd data        bwd weights
 *                                   plain blocked  plain blocked   plain blocked
 *   LeNet conv1 1->6 5x5 on 28x28    1.18  0.37     1.42  3.27      2.63  0.37
 *   LeNet conv2 6->16 5x5 on 14x14   0.82  0.20     1.14  0.54      0.84  0.75
 *   3->64 3x3 on 32x32               3.5   2.5      3.4   8.1      11.5   2.6
 *   16->32 3x3 on 32x32              9.1   5.0     10.8   5.4      31     4.7
 *   64->64 3x3 on 32x32             41    26       51    28       117    28
 *   256->512 3x3 on 4x4             20    13       22    11        26    17
 * Blocked wins everywhere, reorders paid, except backward data into very few
 * input channels (the blocked diff_src pads C to 16 channels): so forward and
 * backward weights run blocked, backward data plain up to
 * NN_DNNL_PLAIN_BWD_DATA_MAX_CHANNELS input channels and blocked above.
 *
 * Algorithm (NN_DNNL_ALG_DEFAULT): Winograd (oneDNN's jit_wino_4x3) for 3x3
 * stride-1 layers with at least NN_DNNL_WINO_MIN_CHANNELS input and output
 * channels and an output of at least 4x4, direct otherwise. Measured, fwd +
 * bwd data + bwd weights, batch 128, direct vs Winograd: 64->64 on 32x32 82 vs
 * 53 ms, 64->128 on 16x16 41 vs 26, 128->256 on 8x8 42 vs 22, 256->512 on 4x4
 * 47 vs 21, 512->512 on 2x2 37 vs 37; but 32->32 on 32x32 31 vs 34, 16->32 14
 * vs 22, 3->64 12 vs 27 (convolution_auto picks Winograd for those too, so it
 * is not the default). Winograd's error against the reference is about twice
 * the direct sum's (max |diff| / max |ref| ~2e-6 vs ~1e-6 on 64->64).
 * Where oneDNN has no Winograd for a primitive, that primitive falls back to
 * direct; nn_dnnl_conv_info() names what runs.
 *
 * bf16 (NN_DNNL_BF16, --precision bf16): the primitives' src, weights and diff_dst
 * are bf16 (the reorders from the caller's f32 buffers round them), dst, diff_src,
 * diff_weights and the bias f32; oneDNN 2.6 picks its jit_bf16:avx512_core_bf16
 * kernels (jit_bf16_1x1 for 1x1; LeNet's 1-channel backward weights: gemm). Measured
 * (ResNet-18's 3x3 shapes, batch 128, 2 threads, blocked layouts, best of 20 calls, ms,
 * fwd / bwd data / bwd weights; bf16's f32->bf16 reorders in brackets):
 *                        f32 direct         f32 Winograd       bf16 direct
 *   64->64 on 32x32      26.5/29.2/28.1     17.7/17.7/25.8     12.3/12.5/16.7 (+2.5)
 *   128->128 on 16x16    25.4/25.1/26.0     14.0/13.9/15.0     11.0/11.5/13.6 (+1.4)
 *   256->256 on 8x8      25.7/27.2/28.7      9.1/ 9.2/12.3     13.4/13.8/14.3 (+1.0)
 * bf16 direct is about 2x f32 direct on every shape, but Winograd's f32 gains with the
 * channel count and beats it from 256 channels: so NN_DNNL_BF16 keeps those layers f32
 * (NN_DNNL_BF16_F32_WINO_CHANNELS). Writing dst in bf16 too gained nothing: its
 * conversion back to f32 costs what the smaller store saves.
 */
#define NN_DNNL_INTERNAL
#include "dnnl_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* AUTO layouts: backward data on the plain layouts up to this many input channels */
#define NN_DNNL_PLAIN_BWD_DATA_MAX_CHANNELS 4
/* default algorithm: Winograd from this many input and output channels */
#define NN_DNNL_WINO_MIN_CHANNELS 64
/* NN_DNNL_BF16: layers that run f32 Winograd by default stay f32 from this many input and
 * output channels (Winograd's f32 beats bf16 direct there) */
#define NN_DNNL_BF16_F32_WINO_CHANNELS 256

struct nn_dnnl_conv {
    nn_conv_shape s;
    int bias;
    int bf16; /* NN_DNNL_BF16: bf16 inputs, f32 accumulation and results */
    char what[128];
    char err[NN_DNNL_ERRLEN];
    char info[640];
    dnnl_stream_t strm;
    nn_dnnl_temps t;
    /* forward */
    nn_dnnl_prim fwd;
    nn_dnnl_arg f_src, f_w, f_b, f_dst;
    /* backward data */
    nn_dnnl_prim bwd_d;
    nn_dnnl_arg d_ddst, d_w, d_dsrc;
    /* backward weights */
    nn_dnnl_prim bwd_w;
    nn_dnnl_arg w_src, w_ddst, w_dw, w_db;
    int share_ddst; /* backward weights reads d_ddst's copy (same layout) */
};

static dnnl_alg_kind_t default_alg(const nn_conv_shape *s) {
    return s->KH == 3 && s->KW == 3 && s->stride == 1 && s->C >= NN_DNNL_WINO_MIN_CHANNELS &&
                   s->O >= NN_DNNL_WINO_MIN_CHANNELS && s->OH * s->OW >= 16
               ? dnnl_convolution_winograd
               : dnnl_convolution_direct;
}

static dnnl_alg_kind_t alg_kind(nn_dnnl_conv_alg a, const nn_conv_shape *s) {
    switch (a) {
    case NN_DNNL_ALG_DEFAULT: return default_alg(s);
    case NN_DNNL_ALG_AUTO: return dnnl_convolution_auto;
    case NN_DNNL_ALG_WINOGRAD: return dnnl_convolution_winograd;
    default: return dnnl_convolution_direct;
    }
}

/* Whether a convolution runs in bf16 under the given precision and algorithm. */
static int runs_bf16(nn_dnnl_precision p, nn_dnnl_conv_alg a, const nn_conv_shape *s) {
    if (p == NN_DNNL_BF16_ALL) return 1;
    if (p != NN_DNNL_BF16) return 0;
    return !(alg_kind(a, s) == dnnl_convolution_winograd && default_alg(s) == dnnl_convolution_winograd &&
             s->C >= NN_DNNL_BF16_F32_WINO_CHANNELS && s->O >= NN_DNNL_BF16_F32_WINO_CHANNELS);
}

static const dnnl_memory_desc_t *q(const nn_dnnl_prim *p, dnnl_query_t what, int index) {
    return dnnl_primitive_desc_query_md(p->pd, what, index);
}

/* Appends "STAGE IMPL (name TAG, ...)" to the info line; a bf16 tensor's tag reads "bf16:TAG". */
static void info_add(nn_dnnl_conv *c, const char *stage, const nn_dnnl_prim *p, const char *const *names,
                     const dnnl_query_t *qs, int n) {
    size_t k = strlen(c->info);
    k += (size_t)snprintf(c->info + k, sizeof c->info - k, "%s%s %s (", k ? "; " : "", stage, p->impl);
    for (int i = 0; i < n && k < sizeof c->info; i++) {
        char tag[32];
        const dnnl_memory_desc_t *md = q(p, qs[i], 0);
        nn_dnnl_md_tag(tag, sizeof tag, md);
        k += (size_t)snprintf(c->info + k, sizeof c->info - k, "%s%s %s%s", i ? ", " : "", names[i],
                              md->data_type == dnnl_bf16 ? "bf16:" : "", tag);
    }
    if (k < sizeof c->info) snprintf(c->info + k, sizeof c->info - k, ")");
}

typedef struct conv_mds {
    dnnl_memory_desc_t src, w, b, dst;
    dnnl_dims_t strides, pad_l, pad_r;
    int bias;
} conv_mds;

typedef dnnl_status_t (*conv_init_fn)(dnnl_convolution_desc_t *d, dnnl_alg_kind_t alg, const conv_mds *m);

static dnnl_status_t init_fwd(dnnl_convolution_desc_t *d, dnnl_alg_kind_t alg, const conv_mds *m) {
    return dnnl_convolution_forward_desc_init(d, dnnl_forward_training, alg, &m->src, &m->w, m->bias ? &m->b : NULL,
                                              &m->dst, m->strides, m->pad_l, m->pad_r);
}
static dnnl_status_t init_bwd_d(dnnl_convolution_desc_t *d, dnnl_alg_kind_t alg, const conv_mds *m) {
    return dnnl_convolution_backward_data_desc_init(d, alg, &m->src, &m->w, &m->dst, m->strides, m->pad_l,
                                                    m->pad_r);
}
static dnnl_status_t init_bwd_w(dnnl_convolution_desc_t *d, dnnl_alg_kind_t alg, const conv_mds *m) {
    return dnnl_convolution_backward_weights_desc_init(d, alg, &m->src, &m->w, m->bias ? &m->b : NULL, &m->dst,
                                                       m->strides, m->pad_l, m->pad_r);
}

/* Builds the op descriptor with init(alg) and its primitive; where the algorithm has no
 * implementation, retries with direct. */
static int make_conv(nn_dnnl_conv *c, nn_dnnl_prim *p, conv_init_fn init, const conv_mds *m, dnnl_alg_kind_t alg,
                     const_dnnl_primitive_desc_t hint, const char *stage) {
    dnnl_convolution_desc_t d;
    dnnl_status_t st = init(&d, alg, m);
    if (st == dnnl_success && nn_dnnl_prim_make(p, &d, hint, NULL, c->what, stage, c->err, sizeof c->err) == 0)
        return 0;
    if (alg == dnnl_convolution_direct) {
        if (st != dnnl_success) return nn_dnnl_fail(c->err, sizeof c->err, c->what, stage, "desc_init", st);
        return -1;
    }
    nn_dnnl_prim_free(p);
    return make_conv(c, p, init, m, dnnl_convolution_direct, hint, stage);
}

/* make_conv on the caller's blocked layouts (no reorders); where oneDNN has only its
 * reference kernel for those (backward weights from a few-channel plain input into a
 * blocked output, for one), on its own choice of layouts instead, reorders paid. */
static int make_conv_on(nn_dnnl_conv *c, nn_dnnl_prim *p, conv_init_fn init, const conv_mds *on, const conv_mds *any,
                        dnnl_alg_kind_t alg, const_dnnl_primitive_desc_t hint, const char *stage) {
    if (make_conv(c, p, init, on, alg, hint, stage)) return -1;
    if (on == any || strncmp(p->impl, "ref", 3)) return 0;
    nn_dnnl_prim_free(p);
    return make_conv(c, p, init, any, alg, hint, stage);
}

/* The same descriptors with the data types of one primitive's tensors (bf16: which of src,
 * weights and dst are bf16; the rest, and the bias, stay f32). Layouts are kept: a blocked
 * layout counts elements, not bytes. */
static conv_mds typed(const conv_mds *m, int bf16, dnnl_data_type_t src, dnnl_data_type_t w, dnnl_data_type_t dst) {
    conv_mds t = *m;
    if (bf16) t.src.data_type = src, t.w.data_type = w, t.dst.data_type = dst;
    return t;
}

/* bf16: the primitive must be one of oneDNN's bf16 kernels, not its reference loops (which
 * would run many times slower than f32): no silent slow path. */
static int bf16_native(nn_dnnl_conv *c, const nn_dnnl_prim *p, const char *stage) {
    if (!c->bf16 || strncmp(p->impl, "ref", 3)) return 0;
    snprintf(c->err, sizeof c->err, "%s: %s: --precision bf16: oneDNN has no bf16 kernel here; use --precision f32",
             c->what, stage);
    return -1;
}

static int mdinit(nn_dnnl_conv *c, dnnl_memory_desc_t *md, int nd, const dnnl_dims_t dims, dnnl_format_tag_t tag) {
    dnnl_status_t st = dnnl_memory_desc_init_by_tag(md, nd, dims, dnnl_f32, tag);
    if (st != dnnl_success)
        return nn_dnnl_fail(c->err, sizeof c->err, c->what, NULL, "dnnl_memory_desc_init_by_tag", st);
    return 0;
}

/* The right padding oneDNN needs for PyTorch's floor-mode output size: what the last window
 * actually reaches past the input (never more than pad). */
static int pad_right(int in, int out, int k, int stride, int pad) {
    int r = (out - 1) * stride + k - in - pad;
    return r > 0 ? r : 0;
}

static int build(nn_dnnl_conv *c, const nn_dnnl_opts *o) {
    const nn_conv_shape *s = &c->s;
    char *err = c->err;
    size_t el = sizeof c->err;
    if (nn_dnnl_context(NULL, &c->strm, err, el)) return -1;

    /* the layout of each primitive: forward, backward data, backward weights */
    nn_dnnl_format ff = o->format, fd = o->format, fw = o->format;
    if (o->format == NN_DNNL_FMT_AUTO) {
        ff = fw = NN_DNNL_FMT_BLOCKED;
        /* bf16 has no plain (gemm) backward data here, only oneDNN's reference loops */
        fd = s->C <= NN_DNNL_PLAIN_BWD_DATA_MAX_CHANNELS && !c->bf16 ? NN_DNNL_FMT_PLAIN : NN_DNNL_FMT_BLOCKED;
    }
    /* oneDNN 2.6 has Winograd for f32 only */
    dnnl_alg_kind_t alg = c->bf16 ? dnnl_convolution_direct : alg_kind(o->alg, s);

    dnnl_dims_t dsrc = {s->B, s->C, s->H, s->W}, dw = {s->O, s->C, s->KH, s->KW}, db = {s->O},
                ddst = {s->B, s->O, s->OH, s->OW};
    conv_mds mp = {.strides = {s->stride, s->stride}, /* the caller's layouts */
                   .pad_l = {s->pad, s->pad},
                   .pad_r = {pad_right(s->H, s->OH, s->KH, s->stride, s->pad),
                             pad_right(s->W, s->OW, s->KW, s->stride, s->pad)},
                   .bias = c->bias};
    dnnl_format_tag_t src_tag = o->src_blocked ? dnnl_nChw16c : dnnl_nchw, dst_tag = o->dst_blocked ? dnnl_nChw16c : dnnl_nchw;
    if (mdinit(c, &mp.src, 4, dsrc, src_tag) || mdinit(c, &mp.w, 4, dw, dnnl_oihw) ||
        mdinit(c, &mp.b, 1, db, dnnl_x) || mdinit(c, &mp.dst, 4, ddst, dst_tag))
        return -1;
    /* oneDNN's choice, except that a blocked caller layout is taken as it is (no reorder) */
    conv_mds ma = mp;
    if (mdinit(c, &ma.src, 4, dsrc, o->src_blocked ? src_tag : dnnl_format_tag_any) ||
        mdinit(c, &ma.w, 4, dw, dnnl_format_tag_any) || mdinit(c, &ma.b, 1, db, dnnl_format_tag_any) ||
        mdinit(c, &ma.dst, 4, ddst, o->dst_blocked ? dst_tag : dnnl_format_tag_any))
        return -1;
    conv_mds many = ma; /* everything oneDNN's choice */
    if (mdinit(c, &many.src, 4, dsrc, dnnl_format_tag_any) || mdinit(c, &many.dst, 4, ddst, dnnl_format_tag_any))
        return -1;
    const conv_mds *mf = ff == NN_DNNL_FMT_BLOCKED ? &ma : &mp, *md = fd == NN_DNNL_FMT_BLOCKED ? &ma : &mp,
                   *mw = fw == NN_DNNL_FMT_BLOCKED ? &ma : &mp;
    const conv_mds *af = ff == NN_DNNL_FMT_BLOCKED ? &many : &mp, *ad = fd == NN_DNNL_FMT_BLOCKED ? &many : &mp,
                   *aw = fw == NN_DNNL_FMT_BLOCKED ? &many : &mp;
    /* bf16: each primitive reads bf16 (src, weights, diff_dst) and writes f32 (dst, diff_src,
     * diff_weights, diff_bias); the caller's buffers (mp) stay f32 and the reorders into the
     * primitive's layouts convert. */
    const int bf = c->bf16;
    const dnnl_data_type_t B16 = dnnl_bf16, F32 = dnnl_f32;
    conv_mds tf[2] = {typed(mf, bf, B16, B16, F32), typed(af, bf, B16, B16, F32)},
             td[2] = {typed(md, bf, F32, B16, B16), typed(ad, bf, F32, B16, B16)},
             tw[2] = {typed(mw, bf, B16, F32, B16), typed(aw, bf, B16, F32, B16)};
    /* make_conv_on tells "no other layouts to try" by the two pointers being equal */
    const conv_mds *af_ = mf == af ? &tf[0] : &tf[1], *ad_ = md == ad ? &td[0] : &td[1],
                   *aw_ = mw == aw ? &tw[0] : &tw[1];

    /* forward */
    nn_dnnl_temps_phase(&c->t);
    if (make_conv_on(c, &c->fwd, init_fwd, &tf[0], af_, alg, NULL, "forward") || bf16_native(c, &c->fwd, "forward"))
        return -1;
    if (nn_dnnl_arg_make(&c->f_src, &c->t, &mp.src, q(&c->fwd, dnnl_query_src_md, 0), NN_DNNL_IN, c->what,
                         "forward", err, el) ||
        nn_dnnl_arg_make(&c->f_w, &c->t, &mp.w, q(&c->fwd, dnnl_query_weights_md, 0), NN_DNNL_IN, c->what,
                         "forward", err, el) ||
        (c->bias && nn_dnnl_arg_make(&c->f_b, &c->t, &mp.b, q(&c->fwd, dnnl_query_weights_md, 1), NN_DNNL_IN,
                                     c->what, "forward", err, el)) ||
        nn_dnnl_arg_make(&c->f_dst, &c->t, &mp.dst, q(&c->fwd, dnnl_query_dst_md, 0), NN_DNNL_OUT, c->what,
                         "forward", err, el))
        return -1;
    nn_dnnl_prim *fp[] = {&c->fwd, &c->f_src.reorder, &c->f_w.reorder, &c->f_b.reorder, &c->f_dst.reorder};
    if (nn_dnnl_prims_scratch(&c->t, fp, 5, c->what, err, el)) return -1;

    /* backward: data, then weights, in one phase */
    nn_dnnl_temps_phase(&c->t);
    if (make_conv_on(c, &c->bwd_d, init_bwd_d, &td[0], ad_, alg, c->fwd.pd, "backward data") ||
        bf16_native(c, &c->bwd_d, "backward data") ||
        make_conv_on(c, &c->bwd_w, init_bwd_w, &tw[0], aw_, alg, c->fwd.pd, "backward weights") ||
        bf16_native(c, &c->bwd_w, "backward weights"))
        return -1;
    const dnnl_memory_desc_t *d_ddst_md = q(&c->bwd_d, dnnl_query_diff_dst_md, 0),
                             *w_ddst_md = q(&c->bwd_w, dnnl_query_diff_dst_md, 0);
    c->share_ddst = nn_dnnl_md_is(d_ddst_md, w_ddst_md);
    if (nn_dnnl_arg_make(&c->d_ddst, &c->t, &mp.dst, d_ddst_md, NN_DNNL_IN, c->what, "backward data", err, el) ||
        nn_dnnl_arg_make(&c->d_w, &c->t, &mp.w, q(&c->bwd_d, dnnl_query_weights_md, 0), NN_DNNL_IN, c->what,
                         "backward data", err, el) ||
        nn_dnnl_arg_make(&c->d_dsrc, &c->t, &mp.src, q(&c->bwd_d, dnnl_query_diff_src_md, 0), NN_DNNL_OUT, c->what,
                         "backward data", err, el) ||
        nn_dnnl_arg_make(&c->w_src, &c->t, &mp.src, q(&c->bwd_w, dnnl_query_src_md, 0), NN_DNNL_IN, c->what,
                         "backward weights", err, el) ||
        (!c->share_ddst && nn_dnnl_arg_make(&c->w_ddst, &c->t, &mp.dst, w_ddst_md, NN_DNNL_IN, c->what,
                                            "backward weights", err, el)) ||
        nn_dnnl_arg_make(&c->w_dw, &c->t, &mp.w, q(&c->bwd_w, dnnl_query_diff_weights_md, 0), NN_DNNL_OUT_ADD,
                         c->what, "backward weights", err, el) ||
        (c->bias && nn_dnnl_arg_make(&c->w_db, &c->t, &mp.b, q(&c->bwd_w, dnnl_query_diff_weights_md, 1),
                                     NN_DNNL_OUT_ADD, c->what, "backward weights", err, el)))
        return -1;
    nn_dnnl_prim *bp[] = {&c->bwd_d,          &c->bwd_w,         &c->d_ddst.reorder, &c->d_w.reorder,
                          &c->d_dsrc.reorder, &c->w_src.reorder, &c->w_ddst.reorder, &c->w_dw.reorder,
                          &c->w_db.reorder};
    if (nn_dnnl_prims_scratch(&c->t, bp, 9, c->what, err, el)) return -1;
    if (nn_dnnl_temps_reserve(&c->t, c->what, err, el)) return -1;

    static const char *const fn[] = {"src", "wei", "dst"}, *const dn[] = {"diff_src", "wei", "diff_dst"},
                             *const wn[] = {"src", "diff_wei", "diff_dst"};
    static const dnnl_query_t fq[] = {dnnl_query_src_md, dnnl_query_weights_md, dnnl_query_dst_md},
                              dq[] = {dnnl_query_diff_src_md, dnnl_query_weights_md, dnnl_query_diff_dst_md},
                              wq[] = {dnnl_query_src_md, dnnl_query_diff_weights_md, dnnl_query_diff_dst_md};
    if (o->precision == NN_DNNL_BF16 && !c->bf16)
        snprintf(c->info, sizeof c->info, "f32 (bf16 is slower here: f32 Winograd)");
    info_add(c, "fwd", &c->fwd, fn, fq, 3);
    info_add(c, "bwd_data", &c->bwd_d, dn, dq, 3);
    info_add(c, "bwd_weights", &c->bwd_w, wn, wq, 3);
    return 0;
}

nn_dnnl_conv *nn_dnnl_conv_new_opts(const nn_conv_shape *s, int with_bias, const nn_dnnl_opts *opts, char *err,
                                    size_t errlen) {
    nn_dnnl_conv *c = calloc(1, sizeof *c);
    if (!c) {
        if (err && errlen) snprintf(err, errlen, "conv: out of memory");
        return NULL;
    }
    c->s = *s;
    c->bias = with_bias != 0;
    snprintf(c->what, sizeof c->what, "conv %d->%d %dx%d stride %d pad %d on %dx%dx%dx%d", s->C, s->O, s->KH, s->KW,
             s->stride, s->pad, s->B, s->C, s->H, s->W);
    nn_dnnl_opts o = opts ? *opts : (nn_dnnl_opts){0};
    c->bf16 = runs_bf16(o.precision, o.alg, s);
    if (o.precision != NN_DNNL_F32 && o.precision != NN_DNNL_BF16 && o.precision != NN_DNNL_BF16_ALL) {
        snprintf(c->err, sizeof c->err, "%s: precision %d: expected f32 (%d), bf16 (%d) or bf16 everywhere (%d)",
                 c->what, (int)o.precision, NN_DNNL_F32, NN_DNNL_BF16, NN_DNNL_BF16_ALL);
    } else if (o.precision != NN_DNNL_F32 && nn_dnnl_bf16_check(c->err, sizeof c->err)) {
        /* c->err says why */
    } else if ((o.src_blocked && s->C % 16) || (o.dst_blocked && s->O % 16)) {
        snprintf(c->err, sizeof c->err, "%s: a channel-blocked layout needs a multiple of 16 channels", c->what);
    } else if (s->B <= 0 || s->C <= 0 || s->H <= 0 || s->W <= 0 || s->O <= 0 || s->KH <= 0 || s->KW <= 0 || s->stride <= 0 ||
        s->pad < 0 || s->H + 2 * s->pad < s->KH || s->W + 2 * s->pad < s->KW ||
        s->OH != (s->H + 2 * s->pad - s->KH) / s->stride + 1 || s->OW != (s->W + 2 * s->pad - s->KW) / s->stride + 1) {
        snprintf(c->err, sizeof c->err, "%s: inconsistent shape (output %dx%d)", c->what, s->OH, s->OW);
    } else if (build(c, &o) == 0) {
        return c;
    }
    if (err && errlen) snprintf(err, errlen, "%s", c->err);
    nn_dnnl_conv_free(c);
    return NULL;
}

nn_dnnl_conv *nn_dnnl_conv_new(const nn_conv_shape *s, int with_bias, char *err, size_t errlen) {
    return nn_dnnl_conv_new_opts(s, with_bias, NULL, err, errlen);
}

#define TRY(x)                                                                                                     \
    do {                                                                                                           \
        if (x) return -1;                                                                                          \
    } while (0)

int nn_dnnl_conv_forward(nn_dnnl_conv *c, float *out, const float *in, const float *w, const float *b) {
    char *err = c->err;
    size_t el = sizeof c->err;
    TRY(nn_dnnl_temps_bind(&c->t, c->what, err, el));
    TRY(nn_dnnl_arg_in(&c->f_src, in, c->strm, c->what, err, el));
    TRY(nn_dnnl_arg_in(&c->f_w, w, c->strm, c->what, err, el));
    if (c->bias) TRY(nn_dnnl_arg_in(&c->f_b, b, c->strm, c->what, err, el));
    TRY(nn_dnnl_arg_set(&c->f_dst, out, c->what, err, el));
    dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, c->f_src.mem}, {DNNL_ARG_WEIGHTS, c->f_w.mem}, {DNNL_ARG_DST, c->f_dst.mem},
                            {DNNL_ARG_BIAS, c->f_b.mem}};
    TRY(nn_dnnl_exec(&c->fwd, c->strm, c->bias ? 4 : 3, a, c->what, "forward", err, el));
    TRY(nn_dnnl_arg_out(&c->f_dst, c->strm, c->what, err, el));
    dnnl_status_t st = dnnl_stream_wait(c->strm);
    if (st != dnnl_success) return nn_dnnl_fail(err, el, c->what, "forward", "dnnl_stream_wait", st);
    return 0;
}

int nn_dnnl_conv_backward(nn_dnnl_conv *c, float *din, float *dw, float *db, const float *dout, const float *in,
                          const float *w) {
    char *err = c->err;
    size_t el = sizeof c->err;
    TRY(nn_dnnl_temps_bind(&c->t, c->what, err, el));
    int ddst_ready = 0;
    if (din) {
        TRY(nn_dnnl_arg_in(&c->d_ddst, dout, c->strm, c->what, err, el));
        ddst_ready = 1;
        TRY(nn_dnnl_arg_in(&c->d_w, w, c->strm, c->what, err, el));
        TRY(nn_dnnl_arg_set(&c->d_dsrc, din, c->what, err, el));
        dnnl_exec_arg_t a[3] = {{DNNL_ARG_DIFF_DST, c->d_ddst.mem}, {DNNL_ARG_WEIGHTS, c->d_w.mem},
                                {DNNL_ARG_DIFF_SRC, c->d_dsrc.mem}};
        TRY(nn_dnnl_exec(&c->bwd_d, c->strm, 3, a, c->what, "backward data", err, el));
        TRY(nn_dnnl_arg_out(&c->d_dsrc, c->strm, c->what, err, el));
    }
    if (dw) {
        nn_dnnl_arg *ddst = c->share_ddst ? &c->d_ddst : &c->w_ddst;
        if (!(c->share_ddst && ddst_ready)) TRY(nn_dnnl_arg_in(ddst, dout, c->strm, c->what, err, el));
        TRY(nn_dnnl_arg_in(&c->w_src, in, c->strm, c->what, err, el));
        TRY(nn_dnnl_arg_set(&c->w_dw, dw, c->what, err, el));
        if (c->bias) TRY(nn_dnnl_arg_set(&c->w_db, db, c->what, err, el));
        dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, c->w_src.mem}, {DNNL_ARG_DIFF_DST, ddst->mem},
                                {DNNL_ARG_DIFF_WEIGHTS, c->w_dw.mem}, {DNNL_ARG_DIFF_BIAS, c->w_db.mem}};
        TRY(nn_dnnl_exec(&c->bwd_w, c->strm, c->bias ? 4 : 3, a, c->what, "backward weights", err, el));
        TRY(nn_dnnl_arg_out(&c->w_dw, c->strm, c->what, err, el));
        if (c->bias && db) TRY(nn_dnnl_arg_out(&c->w_db, c->strm, c->what, err, el));
    }
    dnnl_status_t st = dnnl_stream_wait(c->strm);
    if (st != dnnl_success) return nn_dnnl_fail(err, el, c->what, "backward", "dnnl_stream_wait", st);
    return 0;
}

int nn_dnnl_bf16_check(char *err, size_t errlen) {
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    if ((isa & dnnl_cpu_isa_avx512_core_bf16) == dnnl_cpu_isa_avx512_core_bf16) return 0;
    const char *name = (isa & dnnl_cpu_isa_avx512_core_vnni) == dnnl_cpu_isa_avx512_core_vnni ? "avx512_core_vnni"
                       : (isa & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core           ? "avx512_core"
                       : (isa & dnnl_cpu_isa_avx2) == dnnl_cpu_isa_avx2                         ? "avx2"
                                                                                                : "below avx2";
    if (err && errlen)
        snprintf(err, errlen,
                 "--precision bf16: this CPU has no AVX512-BF16 (oneDNN's instruction set here: %s%s); "
                 "use --precision f32",
                 name, getenv("ONEDNN_MAX_CPU_ISA") || getenv("DNNL_MAX_CPU_ISA") ? ", limited by ONEDNN_MAX_CPU_ISA" : "");
    return -1;
}

const char *nn_dnnl_conv_info(const nn_dnnl_conv *c) { return c->info; }
const char *nn_dnnl_conv_error(const nn_dnnl_conv *c) { return c->err; }

void nn_dnnl_conv_free(nn_dnnl_conv *c) {
    if (!c) return;
    nn_dnnl_arg *args[] = {&c->f_src,  &c->f_w,   &c->f_b,    &c->f_dst, &c->d_ddst, &c->d_w,
                           &c->d_dsrc, &c->w_src, &c->w_ddst, &c->w_dw,  &c->w_db};
    for (size_t i = 0; i < sizeof args / sizeof *args; i++) nn_dnnl_arg_free(args[i]);
    nn_dnnl_prim_free(&c->fwd);
    nn_dnnl_prim_free(&c->bwd_d);
    nn_dnnl_prim_free(&c->bwd_w);
    nn_dnnl_temps_release(&c->t);
    free(c);
}

nn_dnnl_temps *nn_dnnl_conv_temps(nn_dnnl_conv *c) { return &c->t; }
