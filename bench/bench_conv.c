/*
 * bench/bench_conv.c — actlab's side of the conv-layer benchmark in bench/run:
 * every distinct convolution of the named models (default models/resnet18.cfg
 * and models/vgg16.cfg, on 3x32x32 inputs, 10 classes, batch 128) timed
 *
 *   (a) inside a training step: the net is built with actlab_net_load and run
 *       for whole steps (forward, softmax cross-entropy, backward, SGD step, as
 *       bench_train does) on one batch of random normal images; each step's
 *       per-layer wall times come from actlab_net_reset_times /
 *       actlab_net_layer_times (forward + backward of the layer, the layout
 *       conversions and weight reorders made for it and the gradient it adds
 *       into its source included). Identical layers (ResNet's repeated blocks)
 *       are averaged within each step.
 *   (b) alone: the same oneDNN primitives built straight from the C API
 *       (dnnl.h) for that shape: forward_training, backward data and backward
 *       weights, the algorithm actlab picks (Winograd for 3x3 stride 1 with at
 *       least 64 input and output channels and an output of at least 4x4,
 *       direct otherwise; direct where oneDNN has no Winograd for a primitive),
 *       src/dst in nChw16c where the net keeps them so (channels a multiple of
 *       16; the network's input is NCHW), weights in the format the primitive
 *       asks for (format_any), scratchpads allocated up front. Only the three
 *       executions are timed: no reorder of weights or activations. As in the
 *       net, the layer that reads the network's input runs no backward data.
 *       A primitive oneDNN serves only with its reference kernel on the net's
 *       layouts is rebuilt on layouts of its own choosing, as actlab does.
 *
 * Both are measured in --rounds rounds, each round running --steps training
 * steps of every model and then --repeats repetitions of every shape alone
 * (after one untimed call), so that (a) and (b) see the same load on this
 * shared machine; figures are medians over all samples, with min and max.
 * The nets get --warmup untimed steps once before the first round.
 *
 * Output: a table per model on stdout; with --tsv FILE one row per model and
 * shape (columns in the header line), and with --models-tsv FILE one row per
 * model (the whole step's time, the sum of its conv layers' times, the useful
 * FLOPs of a step: bench_common.h). --list prints the shapes and exits.
 *
 *     bench_conv [--models resnet18,vgg16] [--batch 128] [--threads 2]
 *                [--rounds 3] [--steps 4] [--repeats 4] [--warmup 2]
 *                [--seed S] [--tsv FILE] [--models-tsv FILE] [--list]
 */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dnnl.h>
#include "actlab/net.h"
#include "actlab/optim.h"
#include "bench_common.h"

#define MAX_MODELS 8
#define MAX_GROUPS 256

static void usage(FILE *f) {
    fprintf(f,
            "usage: bench_conv [options]\n"
            "Times every distinct conv layer of the models inside training steps and as the\n"
            "same oneDNN primitives alone.\n"
            "  --models LIST     model names (models/NAME.cfg) or .cfg paths (default resnet18,vgg16)\n"
            "  --batch B         batch size (default 128)\n"
            "  --threads T       OpenMP threads (default 2)\n"
            "  --rounds N        rounds of steps and alone repetitions, interleaved (default 3)\n"
            "  --steps N         timed training steps per model and round (default 4)\n"
            "  --repeats N       timed repetitions per shape alone and round (default 4)\n"
            "  --warmup N        untimed training steps per model before the first round (default 2)\n"
            "  --seed S          seed of the weights and data (default 1)\n"
            "  --tsv FILE        one row per model and shape\n"
            "  --models-tsv FILE one row per model: step time, conv time, FLOPs\n"
            "  --list            print the distinct shapes and exit (no timing)\n"
            "  -h, --help        this text\n");
}

static void die(const char *msg, const char *a) {
    fprintf(stderr, "bench_conv: ");
    fprintf(stderr, msg, a);
    fprintf(stderr, "\n(bench_conv --help for usage)\n");
    exit(2);
}

static int parse_int(const char *flag, const char *s, int lo, int hi) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "bench_conv: %s expects a whole number in [%d, %d], got '%s'\n(bench_conv --help for usage)\n",
                flag, lo, hi, s);
        exit(2);
    }
    return (int)v;
}

/* ---- shapes ---- */

typedef struct conv_shape {
    int C, H, W, O, OH, OW, K, stride, pad, bias;
    int src_blocked, dst_blocked; /* the net keeps the input / output in nChw16c */
    int bwd_data;                 /* 0: the layer reads the network's input (no input gradient) */
} conv_shape;

static int shape_eq(const conv_shape *a, const conv_shape *b) {
    return a->C == b->C && a->H == b->H && a->W == b->W && a->O == b->O && a->OH == b->OH && a->OW == b->OW &&
           a->K == b->K && a->stride == b->stride && a->pad == b->pad && a->bias == b->bias &&
           a->src_blocked == b->src_blocked && a->dst_blocked == b->dst_blocked && a->bwd_data == b->bwd_data;
}

/* Forward FLOPs of one batch (2 x multiply-adds). */
static double fwd_flops(const conv_shape *s, int batch) {
    return 2.0 * batch * s->C * s->K * s->K * (double)s->O * s->OH * s->OW;
}

/* The FLOPs of one training step's work on the layer: fwd, bwd weights and (where run) bwd data. */
static double step_flops(const conv_shape *s, int batch) { return fwd_flops(s, batch) * (s->bwd_data ? 3 : 2); }

static int use_winograd(const conv_shape *s) {
    return s->K == 3 && s->stride == 1 && s->C >= 64 && s->O >= 64 && s->OH * s->OW >= 16;
}

/* ---- samples ---- */

typedef struct samples {
    double *v;
    int n, cap;
} samples;

static void add(samples *s, double x) {
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 32;
        s->v = realloc(s->v, sizeof(double) * (size_t)s->cap);
        if (!s->v) {
            fprintf(stderr, "bench_conv: out of memory\n");
            exit(1);
        }
    }
    s->v[s->n++] = x;
}

typedef struct stat3 {
    double med, lo, hi;
} stat3;

static stat3 stats(samples *s) {
    stat3 r = {NAN, NAN, NAN};
    if (!s->n) return r;
    r.med = bench_median(s->v, s->n); /* sorts */
    r.lo = s->v[0], r.hi = s->v[s->n - 1];
    return r;
}

/* ---- (b): the primitives alone ---- */

static dnnl_engine_t engine;
static dnnl_stream_t stream;

#define DNNL_OK(call, what)                                                                                        \
    do {                                                                                                           \
        dnnl_status_t st_ = (call);                                                                                \
        if (st_ != dnnl_success) {                                                                                 \
            fprintf(stderr, "bench_conv: %s: %s failed (status %d)\n", what, #call, (int)st_);                     \
            exit(1);                                                                                               \
        }                                                                                                          \
    } while (0)

typedef struct prim {
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t p;
    dnnl_memory_t scratch;
    char impl[64];
} prim;

typedef struct alone {
    conv_shape s;
    char what[128];
    prim fwd, bwd_d, bwd_w;
    dnnl_memory_t f_src, f_w, f_dst, d_ddst, d_w, d_dsrc, w_src, w_ddst, w_dw;
    samples t_sum, t_fwd, t_bd, t_bw;
} alone;

typedef struct mds {
    dnnl_memory_desc_t src, w, dst;
} mds;

static void md_init(dnnl_memory_desc_t *md, int nd, const dnnl_dims_t dims, dnnl_format_tag_t tag, const char *what) {
    DNNL_OK(dnnl_memory_desc_init_by_tag(md, nd, dims, dnnl_f32, tag), what);
}

/* Builds one convolution primitive: op descriptor by kind, user scratchpad. 0, or -1 when
 * oneDNN has no implementation for it (the caller tries something else). */
static int prim_try(prim *p, int kind, dnnl_alg_kind_t alg, const mds *m, const conv_shape *s,
                    const_dnnl_primitive_desc_t hint, const char *what) {
    dnnl_dims_t strides = {s->stride, s->stride}, pad_l = {s->pad, s->pad};
    int rh = (s->OH - 1) * s->stride + s->K - s->H - s->pad, rw = (s->OW - 1) * s->stride + s->K - s->W - s->pad;
    dnnl_dims_t pad_r = {rh > 0 ? rh : 0, rw > 0 ? rw : 0}; /* PyTorch's floor-mode output, as actlab */
    dnnl_convolution_desc_t d;
    dnnl_status_t st;
    if (kind == 0)
        st = dnnl_convolution_forward_desc_init(&d, dnnl_forward_training, alg, &m->src, &m->w, NULL, &m->dst, strides,
                                                pad_l, pad_r);
    else if (kind == 1)
        st = dnnl_convolution_backward_data_desc_init(&d, alg, &m->src, &m->w, &m->dst, strides, pad_l, pad_r);
    else
        st = dnnl_convolution_backward_weights_desc_init(&d, alg, &m->src, &m->w, NULL, &m->dst, strides, pad_l,
                                                         pad_r);
    if (st != dnnl_success) return -1;
    dnnl_primitive_attr_t attr;
    DNNL_OK(dnnl_primitive_attr_create(&attr), what);
    DNNL_OK(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), what);
    st = dnnl_primitive_desc_create(&p->pd, &d, attr, engine, hint);
    dnnl_primitive_attr_destroy(attr);
    if (st != dnnl_success) {
        p->pd = NULL;
        return -1;
    }
    const char *impl = NULL;
    if (dnnl_primitive_desc_query(p->pd, dnnl_query_impl_info_str, 0, (void *)&impl) != dnnl_success || !impl)
        impl = "?";
    snprintf(p->impl, sizeof p->impl, "%s", impl);
    DNNL_OK(dnnl_primitive_create(&p->p, p->pd), what);
    const dnnl_memory_desc_t *sp = dnnl_primitive_desc_query_md(p->pd, dnnl_query_scratchpad_md, 0);
    if (sp && dnnl_memory_desc_get_size(sp) > 0) DNNL_OK(dnnl_memory_create(&p->scratch, sp, engine, DNNL_MEMORY_ALLOCATE), what);
    return 0;
}

static void prim_free(prim *p) {
    if (p->p) dnnl_primitive_destroy(p->p);
    if (p->pd) dnnl_primitive_desc_destroy(p->pd);
    if (p->scratch) dnnl_memory_destroy(p->scratch);
    memset(p, 0, sizeof *p);
}

/* As actlab's make_conv_on: the algorithm on the net's layouts (direct where the algorithm
 * has no implementation); where that gives only oneDNN's reference kernel, everything on
 * oneDNN's own choice of layouts instead. */
static void prim_make(prim *p, int kind, dnnl_alg_kind_t alg, const mds *on, const mds *any, const conv_shape *s,
                      const_dnnl_primitive_desc_t hint, const char *what) {
    static const char *const stage[] = {"forward", "backward data", "backward weights"};
    for (int pass = 0; pass < 2; pass++) {
        const mds *m = pass ? any : on;
        if (prim_try(p, kind, alg, m, s, hint, what) && (alg == dnnl_convolution_direct ||
                                                         prim_try(p, kind, dnnl_convolution_direct, m, s, hint, what))) {
            fprintf(stderr, "bench_conv: %s: no oneDNN %s primitive\n", what, stage[kind]);
            exit(1);
        }
        if (pass == 1 || strncmp(p->impl, "ref", 3)) return;
        prim_free(p);
    }
}

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A memory of layout md holding uniform values in [-scale, scale): filled in the plain
 * layout `plain_tag` and reordered into md, so that any padding of md is zero. */
static dnnl_memory_t mem_filled(const dnnl_memory_desc_t *md, int nd, const dnnl_dims_t dims,
                                dnnl_format_tag_t plain_tag, float scale, uint64_t seed, const char *what) {
    dnnl_memory_desc_t pmd;
    md_init(&pmd, nd, dims, plain_tag, what);
    dnnl_memory_t plain, m;
    DNNL_OK(dnnl_memory_create(&plain, &pmd, engine, DNNL_MEMORY_ALLOCATE), what);
    DNNL_OK(dnnl_memory_create(&m, md, engine, DNNL_MEMORY_ALLOCATE), what);
    void *h;
    DNNL_OK(dnnl_memory_get_data_handle(plain, &h), what);
    float *f = h;
    size_t n = dnnl_memory_desc_get_size(&pmd) / sizeof(float);
    for (size_t i = 0; i < n; i++) f[i] = scale * (float)((double)(splitmix64(&seed) >> 11) * 0x1.0p-52 - 1.0);
    dnnl_primitive_desc_t rpd;
    dnnl_primitive_t r;
    DNNL_OK(dnnl_reorder_primitive_desc_create(&rpd, &pmd, engine, md, engine, NULL), what);
    DNNL_OK(dnnl_primitive_create(&r, rpd), what);
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, plain}, {DNNL_ARG_TO, m}};
    DNNL_OK(dnnl_primitive_execute(r, stream, 2, a), what);
    DNNL_OK(dnnl_stream_wait(stream), what);
    dnnl_primitive_destroy(r);
    dnnl_primitive_desc_destroy(rpd);
    dnnl_memory_destroy(plain);
    return m;
}

/* An output memory of layout md, zeroed (and so faulted in). */
static dnnl_memory_t mem_zero(const dnnl_memory_desc_t *md, const char *what) {
    dnnl_memory_t m;
    DNNL_OK(dnnl_memory_create(&m, md, engine, DNNL_MEMORY_ALLOCATE), what);
    void *h;
    DNNL_OK(dnnl_memory_get_data_handle(m, &h), what);
    memset(h, 0, dnnl_memory_desc_get_size(md));
    return m;
}

static const dnnl_memory_desc_t *qmd(const prim *p, dnnl_query_t q) { return dnnl_primitive_desc_query_md(p->pd, q, 0); }

static void alone_build(alone *a, int batch, uint64_t seed) {
    const conv_shape *s = &a->s;
    snprintf(a->what, sizeof a->what, "conv %d->%d %dx%d stride %d pad %d on %dx%dx%dx%d", s->C, s->O, s->K, s->K,
             s->stride, s->pad, batch, s->C, s->H, s->W);
    dnnl_dims_t dsrc = {batch, s->C, s->H, s->W}, dw = {s->O, s->C, s->K, s->K}, ddst = {batch, s->O, s->OH, s->OW};
    /* on: the net's layouts (nChw16c where it keeps them, else oneDNN's choice), weights any;
     * any: everything oneDNN's choice; plain: NCHW / OIHW (backward data into <= 4 channels) */
    mds on, any, plain;
    md_init(&on.src, 4, dsrc, s->src_blocked ? dnnl_nChw16c : dnnl_format_tag_any, a->what);
    md_init(&on.w, 4, dw, dnnl_format_tag_any, a->what);
    md_init(&on.dst, 4, ddst, s->dst_blocked ? dnnl_nChw16c : dnnl_format_tag_any, a->what);
    md_init(&any.src, 4, dsrc, dnnl_format_tag_any, a->what);
    md_init(&any.w, 4, dw, dnnl_format_tag_any, a->what);
    md_init(&any.dst, 4, ddst, dnnl_format_tag_any, a->what);
    md_init(&plain.src, 4, dsrc, dnnl_nchw, a->what);
    md_init(&plain.w, 4, dw, dnnl_oihw, a->what);
    md_init(&plain.dst, 4, ddst, s->dst_blocked ? dnnl_nChw16c : dnnl_nchw, a->what);
    dnnl_alg_kind_t alg = use_winograd(s) ? dnnl_convolution_winograd : dnnl_convolution_direct;

    prim_make(&a->fwd, 0, alg, &on, &any, s, NULL, a->what);
    if (s->bwd_data) {
        const mds *m = s->C <= 4 ? &plain : &on; /* actlab's AUTO layouts (dnnl_conv.c) */
        prim_make(&a->bwd_d, 1, alg, m, s->C <= 4 ? &plain : &any, s, a->fwd.pd, a->what);
    }
    prim_make(&a->bwd_w, 2, alg, &on, &any, s, a->fwd.pd, a->what);

    /* memories: inputs filled, outputs zeroed; one buffer where two primitives want the same layout */
    float wscale = (float)sqrt(3.0 / (s->C * s->K * s->K)); /* He-like magnitudes */
    a->f_src = mem_filled(qmd(&a->fwd, dnnl_query_src_md), 4, dsrc, dnnl_nchw, 1.0f, seed + 1, a->what);
    a->f_w = mem_filled(qmd(&a->fwd, dnnl_query_weights_md), 4, dw, dnnl_oihw, wscale, seed + 2, a->what);
    a->f_dst = mem_zero(qmd(&a->fwd, dnnl_query_dst_md), a->what);
    const dnnl_memory_desc_t *ddst_md = qmd(&a->bwd_w, dnnl_query_diff_dst_md);
    if (s->bwd_data) {
        const dnnl_memory_desc_t *wmd = qmd(&a->bwd_d, dnnl_query_weights_md);
        a->d_w = dnnl_memory_desc_equal(wmd, qmd(&a->fwd, dnnl_query_weights_md))
                     ? NULL
                     : mem_filled(wmd, 4, dw, dnnl_oihw, wscale, seed + 2, a->what);
        a->d_ddst = mem_filled(qmd(&a->bwd_d, dnnl_query_diff_dst_md), 4, ddst, dnnl_nchw, 1e-3f, seed + 3, a->what);
        a->d_dsrc = mem_zero(qmd(&a->bwd_d, dnnl_query_diff_src_md), a->what);
        if (!dnnl_memory_desc_equal(ddst_md, qmd(&a->bwd_d, dnnl_query_diff_dst_md)))
            a->w_ddst = mem_filled(ddst_md, 4, ddst, dnnl_nchw, 1e-3f, seed + 3, a->what);
    } else {
        a->w_ddst = mem_filled(ddst_md, 4, ddst, dnnl_nchw, 1e-3f, seed + 3, a->what);
    }
    const dnnl_memory_desc_t *wsrc_md = qmd(&a->bwd_w, dnnl_query_src_md);
    if (!dnnl_memory_desc_equal(wsrc_md, qmd(&a->fwd, dnnl_query_src_md)))
        a->w_src = mem_filled(wsrc_md, 4, dsrc, dnnl_nchw, 1.0f, seed + 1, a->what);
    a->w_dw = mem_zero(qmd(&a->bwd_w, dnnl_query_diff_weights_md), a->what);
}

static void exec(prim *p, int n, dnnl_exec_arg_t *args, const char *what) {
    if (p->scratch) args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, p->scratch};
    DNNL_OK(dnnl_primitive_execute(p->p, stream, n, args), what);
    DNNL_OK(dnnl_stream_wait(stream), what);
}

/* One forward, backward data (where the net runs it), backward weights; each timed when record. */
static void alone_run(alone *a, int record) {
    dnnl_exec_arg_t args[5];
    double t0 = omp_get_wtime();
    args[0] = (dnnl_exec_arg_t){DNNL_ARG_SRC, a->f_src};
    args[1] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, a->f_w};
    args[2] = (dnnl_exec_arg_t){DNNL_ARG_DST, a->f_dst};
    exec(&a->fwd, 3, args, a->what);
    double t1 = omp_get_wtime();
    if (a->s.bwd_data) {
        args[0] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_DST, a->d_ddst};
        args[1] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, a->d_w ? a->d_w : a->f_w};
        args[2] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_SRC, a->d_dsrc};
        exec(&a->bwd_d, 3, args, a->what);
    }
    double t2 = omp_get_wtime();
    args[0] = (dnnl_exec_arg_t){DNNL_ARG_SRC, a->w_src ? a->w_src : a->f_src};
    args[1] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_DST, a->w_ddst ? a->w_ddst : a->d_ddst};
    args[2] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_WEIGHTS, a->w_dw};
    exec(&a->bwd_w, 3, args, a->what);
    double t3 = omp_get_wtime();
    if (!record) return;
    add(&a->t_fwd, t1 - t0);
    add(&a->t_bd, t2 - t1);
    add(&a->t_bw, t3 - t2);
    add(&a->t_sum, t3 - t0);
}

static void alone_free(alone *a) {
    prim_free(&a->fwd);
    prim_free(&a->bwd_d);
    prim_free(&a->bwd_w);
    dnnl_memory_t m[] = {a->f_src, a->f_w, a->f_dst, a->d_ddst, a->d_w, a->d_dsrc, a->w_src, a->w_ddst, a->w_dw};
    for (size_t i = 0; i < sizeof m / sizeof *m; i++)
        if (m[i]) dnnl_memory_destroy(m[i]);
    free(a->t_sum.v), free(a->t_fwd.v), free(a->t_bd.v), free(a->t_bw.v);
}

/* ---- (a): inside training steps ---- */

typedef struct group {
    int model;
    conv_shape s;
    int layers[64], count;
    int alone;                   /* index into the alone shapes */
    samples t_sum, t_fwd, t_bwd; /* per step: the mean over the group's layers */
} group;

typedef struct model {
    char name[256], path[1024];
    actlab_net *net;
    actlab_optim *opt;
    float *x;
    int32_t *y;
    double flops_img;   /* useful FLOPs of a step per image (bench_common.h) */
    samples t_step, t_conv;
    uint64_t step;
} model;

static model models[MAX_MODELS];
static int nmodels;
static group groups[MAX_GROUPS];
static int ngroups;
static alone *alones;
static int nalones;

static void model_load(model *m, int batch, uint64_t seed) {
    char err[1024];
    actlab_net_options o = actlab_net_options_default();
    o.channels = 3, o.height = 32, o.width = 32, o.classes = 10, o.max_batch = batch, o.act = "relu";
    m->net = actlab_net_load(m->path, &o, err, sizeof err);
    if (!m->net) {
        fprintf(stderr, "bench_conv: %s\n", err);
        exit(1);
    }
    actlab_net_init(m->net, seed);
    m->flops_img = bench_step_flops_per_image(m->net);
    int nl = actlab_net_layers(m->net);
    for (int i = 0; i < nl; i++) {
        actlab_layer_info li;
        actlab_net_layer_info(m->net, i, &li);
        if (strcmp(li.type, "conv")) continue;
        conv_shape s = {0};
        if (sscanf(li.detail, "%d->%d %dx%*d stride %d pad %d", &s.C, &s.O, &s.K, &s.stride, &s.pad) != 5) {
            fprintf(stderr, "bench_conv: %s layer %d: cannot read the conv's shape from '%s'\n", m->path, i, li.detail);
            exit(1);
        }
        s.bias = strstr(li.detail, "no bias") == NULL;
        if (li.input < 0) {
            s.H = 32, s.W = 32;
        } else {
            actlab_layer_info src;
            actlab_net_layer_info(m->net, li.input, &src);
            s.H = src.h, s.W = src.w;
        }
        s.OH = li.h, s.OW = li.w;
        /* the net's layouts (net.c plan_layouts): channel blocks of 16 between layers, never
         * for the network's input or the last layer's output */
        s.src_blocked = li.input >= 0 && s.C % 16 == 0;
        s.dst_blocked = i < nl - 1 && s.O % 16 == 0;
        s.bwd_data = li.input >= 0;
        int g = 0;
        while (g < ngroups && !(groups[g].model == m - models && shape_eq(&groups[g].s, &s))) g++;
        if (g == ngroups) {
            if (ngroups == MAX_GROUPS) {
                fprintf(stderr, "bench_conv: more than %d distinct conv shapes\n", MAX_GROUPS);
                exit(1);
            }
            memset(&groups[g], 0, sizeof groups[g]);
            groups[g].model = (int)(m - models), groups[g].s = s;
            ngroups++;
        }
        if (groups[g].count == (int)(sizeof groups[g].layers / sizeof groups[g].layers[0])) {
            fprintf(stderr, "bench_conv: too many identical conv layers\n");
            exit(1);
        }
        groups[g].layers[groups[g].count++] = i;
    }

    int nblocks = actlab_net_param_blocks(m->net);
    actlab_param_group *pg = calloc((size_t)(nblocks ? nblocks : 1), sizeof *pg);
    if (!pg) {
        fprintf(stderr, "bench_conv: out of memory\n");
        exit(1);
    }
    for (int i = 0; i < nblocks; i++) {
        actlab_net_param_block b = actlab_net_param_block_at(m->net, i);
        pg[i].w = actlab_net_params(m->net) + b.offset;
        pg[i].g = actlab_net_grads(m->net) + b.offset;
        pg[i].n = b.n;
        pg[i].decay_mult = b.decay ? 1.0f : 0.0f;
        pg[i].name = b.name;
    }
    actlab_optim_config oc = actlab_optim_config_default(ACTLAB_OPTIM_SGD);
    oc.lr = 0.01, oc.momentum = 0.9;
    m->opt = actlab_optim_new(&oc, pg, nblocks, err, sizeof err);
    free(pg);
    if (!m->opt) {
        fprintf(stderr, "bench_conv: %s\n", err);
        exit(1);
    }
    /* one batch of standard normal images (Box-Muller) and uniform labels */
    size_t n = (size_t)batch * 3 * 32 * 32;
    m->x = malloc(n * sizeof *m->x);
    m->y = malloc((size_t)batch * sizeof *m->y);
    if (!m->x || !m->y) {
        fprintf(stderr, "bench_conv: out of memory\n");
        exit(1);
    }
    uint64_t r = seed ^ 0x5EED5EED5EED5EEDull;
    for (size_t i = 0; i < n; i++) {
        double u1 = ((double)(splitmix64(&r) >> 11) + 0.5) * 0x1.0p-53, u2 = (double)(splitmix64(&r) >> 11) * 0x1.0p-53;
        m->x[i] = (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
    }
    for (int i = 0; i < batch; i++) m->y[i] = (int32_t)(splitmix64(&r) % 10);
}

/* One training step as bench_train runs it; with record, its per-layer times go to the groups. */
static void model_step(model *m, int batch, int record) {
    char err[1024];
    int correct;
    int mi = (int)(m - models);
    actlab_net_reset_times(m->net);
    double t0 = omp_get_wtime();
    if (actlab_net_forward(m->net, m->x, batch, 1, m->step, err, sizeof err)) goto fail;
    actlab_net_loss(m->net, m->y, batch, &correct);
    if (actlab_net_backward(m->net, batch, err, sizeof err)) goto fail;
    if (actlab_optim_step(m->opt, 0.01)) {
        snprintf(err, sizeof err, "optimiser step failed");
        goto fail;
    }
    double t = omp_get_wtime() - t0;
    m->step++;
    if (!record) return;
    add(&m->t_step, t);
    double conv = 0;
    for (int g = 0; g < ngroups; g++) {
        if (groups[g].model != mi) continue;
        double sf = 0, sb = 0;
        for (int k = 0; k < groups[g].count; k++) {
            double f, b;
            actlab_net_layer_times(m->net, groups[g].layers[k], &f, &b);
            sf += f, sb += b;
        }
        conv += sf + sb;
        add(&groups[g].t_fwd, sf / groups[g].count);
        add(&groups[g].t_bwd, sb / groups[g].count);
        add(&groups[g].t_sum, (sf + sb) / groups[g].count);
    }
    add(&m->t_conv, conv);
    return;
fail:
    fprintf(stderr, "bench_conv: %s: %s\n", m->name, err);
    exit(1);
}

static void shape_text(char *buf, size_t n, const conv_shape *s) {
    snprintf(buf, n, "%d->%d %dx%d s%d p%d on %dx%d", s->C, s->O, s->K, s->K, s->stride, s->pad, s->H, s->W);
}

int main(int argc, char **argv) {
    const char *model_list = "resnet18,vgg16", *tsv = NULL, *models_tsv = NULL;
    int batch = 128, threads = 2, rounds = 3, steps = 4, repeats = 4, warmup = 2, list = 0;
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--list")) {
            list = 1;
            continue;
        }
        static const char *const valued[] = {"--models", "--batch", "--threads", "--rounds", "--steps", "--repeats",
                                             "--warmup", "--seed", "--tsv", "--models-tsv"};
        int known = 0;
        for (size_t k = 0; k < sizeof valued / sizeof *valued; k++) known |= !strcmp(a, valued[k]);
        if (!known) die("unknown argument '%s'", a);
        if (i + 1 >= argc) die("%s needs a value", a);
        const char *v = argv[++i];
        if (!strcmp(a, "--models")) model_list = v;
        else if (!strcmp(a, "--batch")) batch = parse_int(a, v, 1, 65536);
        else if (!strcmp(a, "--threads")) threads = parse_int(a, v, 1, 1024);
        else if (!strcmp(a, "--rounds")) rounds = parse_int(a, v, 1, 1000);
        else if (!strcmp(a, "--steps")) steps = parse_int(a, v, 1, 100000);
        else if (!strcmp(a, "--repeats")) repeats = parse_int(a, v, 1, 100000);
        else if (!strcmp(a, "--warmup")) warmup = parse_int(a, v, 0, 100000);
        else if (!strcmp(a, "--seed")) seed = (uint64_t)parse_int(a, v, 0, 2147483647);
        else if (!strcmp(a, "--tsv")) tsv = v;
        else models_tsv = v;
    }
    omp_set_num_threads(threads);

    /* models and their conv shapes */
    char buf[1024];
    if (strlen(model_list) >= sizeof buf) die("--models: list too long: '%s'", model_list);
    strcpy(buf, model_list);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (nmodels == MAX_MODELS) die("--models: at most 8 models, got '%s'", model_list);
        model *m = &models[nmodels++];
        snprintf(m->name, sizeof m->name, "%s", tok);
        if (strchr(tok, '/') || strstr(tok, ".cfg")) snprintf(m->path, sizeof m->path, "%s", tok);
        else snprintf(m->path, sizeof m->path, "models/%s.cfg", tok);
        model_load(m, batch, seed);
    }
    if (!nmodels) die("--models is empty%s", "");

    /* the distinct shapes over all models, for (b) */
    alones = calloc((size_t)ngroups, sizeof *alones);
    if (!alones) return 1;
    for (int g = 0; g < ngroups; g++) {
        int k = 0;
        while (k < nalones && !shape_eq(&alones[k].s, &groups[g].s)) k++;
        if (k == nalones) alones[nalones++].s = groups[g].s;
        groups[g].alone = k;
    }

    if (list) {
        FILE *f = tsv ? fopen(tsv, "w") : stdout;
        if (!f) {
            fprintf(stderr, "bench_conv: cannot write %s: %s\n", tsv, strerror(errno));
            return 1;
        }
        fprintf(f, "model\tlayers\tcount\tC\tH\tW\tO\tOH\tOW\tK\tstride\tpad\tbias\tbwd_data\tbatch\n");
        for (int g = 0; g < ngroups; g++) {
            const conv_shape *s = &groups[g].s;
            fprintf(f, "%s\t", models[groups[g].model].name);
            for (int k = 0; k < groups[g].count; k++) fprintf(f, "%s%d", k ? "," : "", groups[g].layers[k]);
            fprintf(f, "\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", groups[g].count, s->C, s->H, s->W, s->O,
                    s->OH, s->OW, s->K, s->stride, s->pad, s->bias, s->bwd_data, batch);
        }
        if (f != stdout && fclose(f)) return 1;
        return 0;
    }

    DNNL_OK(dnnl_engine_create(&engine, dnnl_cpu, 0), "engine");
    DNNL_OK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags), "stream");
    for (int k = 0; k < nalones; k++) alone_build(&alones[k], batch, seed + 10 * (uint64_t)k);

    const dnnl_version_t *dv = dnnl_version();
    fprintf(stderr, "bench_conv: %d model(s), %d conv shapes (%d distinct), batch %d, %d thread(s), oneDNN %d.%d.%d; "
                    "%d rounds of %d steps + %d repeats alone\n",
            nmodels, ngroups, nalones, batch, threads, dv->major, dv->minor, dv->patch, rounds, steps, repeats);
    for (int i = 0; i < nmodels; i++)
        for (int w = 0; w < warmup; w++) model_step(&models[i], batch, 0);
    for (int k = 0; k < nalones; k++) alone_run(&alones[k], 0);
    for (int r = 0; r < rounds; r++) {
        fprintf(stderr, "bench_conv: round %d/%d\n", r + 1, rounds);
        for (int i = 0; i < nmodels; i++)
            for (int s = 0; s < steps; s++) model_step(&models[i], batch, 1);
        for (int k = 0; k < nalones; k++) {
            alone_run(&alones[k], 0); /* its data back in cache: the primitive at its best */
            for (int s = 0; s < repeats; s++) alone_run(&alones[k], 1);
        }
    }

    /* results */
    FILE *f = NULL, *fm = NULL;
    if (tsv && !(f = fopen(tsv, "w"))) {
        fprintf(stderr, "bench_conv: cannot write %s: %s\n", tsv, strerror(errno));
        return 1;
    }
    if (models_tsv && !(fm = fopen(models_tsv, "w"))) {
        fprintf(stderr, "bench_conv: cannot write %s: %s\n", models_tsv, strerror(errno));
        return 1;
    }
    if (f)
        fprintf(f, "# bench_conv batch=%d threads=%d rounds=%d steps=%d repeats=%d warmup=%d oneDNN=%d.%d.%d\n"
                   "model\tlayers\tcount\tC\tH\tW\tO\tOH\tOW\tK\tstride\tpad\tbias\tbwd_data\tsrc_layout\tdst_layout"
                   "\tflops\tstep_ms\tstep_lo\tstep_hi\tstep_fwd_ms\tstep_bwd_ms\talone_ms\talone_lo\talone_hi"
                   "\talone_fwd_ms\talone_bwd_data_ms\talone_bwd_weights_ms\tratio\tstep_gflops\talone_gflops"
                   "\timpl_fwd\timpl_bwd_data\timpl_bwd_weights\tsamples_step\tsamples_alone\tbatch\tthreads\n",
                batch, threads, rounds, steps, repeats, warmup, dv->major, dv->minor, dv->patch);
    if (fm)
        fprintf(fm, "model\tbatch\tthreads\tstep_ms\tstep_lo\tstep_hi\tconv_ms\tconv_alone_ms\tconv_layers"
                    "\tflops_per_image\tsamples\n");
    stat3 *alone_sum = calloc((size_t)nalones, sizeof *alone_sum), *alone_f = calloc((size_t)nalones, sizeof *alone_f),
          *alone_d = calloc((size_t)nalones, sizeof *alone_d), *alone_w = calloc((size_t)nalones, sizeof *alone_w);
    if (!alone_sum || !alone_f || !alone_d || !alone_w) return 1;
    for (int k = 0; k < nalones; k++) {
        alone_sum[k] = stats(&alones[k].t_sum), alone_f[k] = stats(&alones[k].t_fwd);
        alone_d[k] = stats(&alones[k].t_bd), alone_w[k] = stats(&alones[k].t_bw);
    }
    for (int i = 0; i < nmodels; i++) {
        model *m = &models[i];
        stat3 st = stats(&m->t_step), sc = stats(&m->t_conv);
        double alone_total = 0;
        int nconv = 0;
        printf("\n== %s, batch %d, %d thread%s: step %.1f ms (median of %d; %.1f-%.1f), conv layers %.1f ms of it ==\n",
               m->name, batch, threads, threads == 1 ? "" : "s", 1e3 * st.med, m->t_step.n, 1e3 * st.lo, 1e3 * st.hi,
               1e3 * sc.med);
        printf("%-28s %3s | %9s %9s | %9s %9s %9s | %6s | %8s | %s\n", "conv (C->O KxK stride pad on HxW)", "n",
               "step ms", "(min-max)", "alone ms", "fwd", "bwd d+w", "alone/", "GFLOP/s", "alone's kernels");
        for (int g = 0; g < ngroups; g++) {
            group *gr = &groups[g];
            if (gr->model != i) continue;
            int k = gr->alone;
            stat3 a = stats(&gr->t_sum), af = stats(&gr->t_fwd), ab = stats(&gr->t_bwd);
            double fl = step_flops(&gr->s, batch);
            alone_total += alone_sum[k].med * gr->count;
            nconv += gr->count;
            char txt[96];
            shape_text(txt, sizeof txt, &gr->s);
            printf("%-28s %3d | %9.2f %4.1f-%-4.1f | %9.2f %9.2f %9.2f | %5.0f%% | %8.1f | %s / %s / %s\n", txt,
                   gr->count, 1e3 * a.med, 1e3 * a.lo, 1e3 * a.hi, 1e3 * alone_sum[k].med, 1e3 * alone_f[k].med,
                   1e3 * (alone_d[k].med + alone_w[k].med), 100 * alone_sum[k].med / a.med, fl / a.med / 1e9,
                   alones[k].fwd.impl, gr->s.bwd_data ? alones[k].bwd_d.impl : "-", alones[k].bwd_w.impl);
            if (f) {
                fprintf(f, "%s\t", m->name);
                for (int j = 0; j < gr->count; j++) fprintf(f, "%s%d", j ? "," : "", gr->layers[j]);
                const conv_shape *s = &gr->s;
                fprintf(f,
                        "\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%.6g\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f"
                        "\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.2f\t%.2f\t%s\t%s\t%s\t%d\t%d\t%d\t%d\n",
                        gr->count, s->C, s->H, s->W, s->O, s->OH, s->OW, s->K, s->stride, s->pad, s->bias, s->bwd_data,
                        s->src_blocked ? "nChw16c" : "NCHW", s->dst_blocked ? "nChw16c" : "NCHW", fl, 1e3 * a.med,
                        1e3 * a.lo, 1e3 * a.hi, 1e3 * af.med, 1e3 * ab.med, 1e3 * alone_sum[k].med,
                        1e3 * alone_sum[k].lo, 1e3 * alone_sum[k].hi, 1e3 * alone_f[k].med, 1e3 * alone_d[k].med,
                        1e3 * alone_w[k].med, alone_sum[k].med / a.med, fl / a.med / 1e9, fl / alone_sum[k].med / 1e9,
                        alones[k].fwd.impl, s->bwd_data ? alones[k].bwd_d.impl : "-", alones[k].bwd_w.impl, gr->t_sum.n,
                        alones[k].t_sum.n, batch, threads);
            }
        }
        printf("all %d conv layers: %.1f ms in the step, %.1f ms alone (%.0f%%); useful FLOPs of a step %.3f G/image\n",
               nconv, 1e3 * sc.med, 1e3 * alone_total, 100 * alone_total / sc.med, m->flops_img / 1e9);
        if (fm)
            fprintf(fm, "%s\t%d\t%d\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%d\t%.6g\t%d\n", m->name, batch, threads, 1e3 * st.med,
                    1e3 * st.lo, 1e3 * st.hi, 1e3 * sc.med, 1e3 * alone_total, nconv, m->flops_img, m->t_step.n);
    }
    if ((f && fclose(f)) || (fm && fclose(fm))) {
        fprintf(stderr, "bench_conv: error writing the TSV files\n");
        return 1;
    }
    free(alone_sum), free(alone_f), free(alone_d), free(alone_w);
    for (int k = 0; k < nalones; k++) alone_free(&alones[k]);
    free(alones);
    for (int g = 0; g < ngroups; g++) free(groups[g].t_sum.v), free(groups[g].t_fwd.v), free(groups[g].t_bwd.v);
    for (int i = 0; i < nmodels; i++) {
        actlab_optim_free(models[i].opt);
        actlab_net_free(models[i].net);
        free(models[i].x), free(models[i].y), free(models[i].t_step.v), free(models[i].t_conv.v);
    }
    dnnl_stream_destroy(stream);
    dnnl_engine_destroy(engine);
    return 0;
}
