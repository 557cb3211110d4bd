/*
 * dnnl_backend.h — the oneDNN (Debian libdnnl 2.6, C API) backend for the
 * layers that carry the arithmetic: 2-D convolution, dense (oneDNN sgemm calls, or
 * inner-product primitives when a format is asked for)
 * and max/avg pooling, forward and backward, float32 (convolutions optionally
 * multiply in bf16: nn_dnnl_precision).
 *
 * At this interface every tensor is a plain float buffer in the reference's
 * layout (src/nn/layers_ref.h), unless the options say that the activations
 * are channel-blocked (nChw16c, as the network keeps them): activations NCHW (dense: [B][I]), conv
 * weights [O][C][KH][KW], dense weights [O][I] (PyTorch's), biases [O]. The
 * semantics are the reference's: backward OVERWRITES din (NULL skips the
 * backward-data pass) and ACCUMULATES (+=) into dw and db.
 *
 * One object per layer instance and shape. Everything oneDNN needs is built
 * when the object is created: primitive descriptors, primitives, the reorders
 * between the plain buffers and the layouts oneDNN prefers, the memory
 * objects. A forward or backward call only points memory objects at the
 * caller's buffers and executes; it never creates a primitive or allocates.
 *
 * Layouts. Each primitive runs either on the plain layouts directly or on
 * the blocked layouts oneDNN picks (format_tag_any), with reorders in and out
 * inside the call. NN_DNNL_FMT_AUTO chooses per primitive from measurements
 * on this machine (table in dnnl_conv.c): blocked, reorders paid, beats the
 * plain (gemm) convolutions on every layer measured, LeNet's included, except
 * backward data into 1-4 input channels; dense layers and pooling run plain.
 *
 * Temporary storage (blocked copies, oneDNN's scratchpads, the weight
 * gradients before they are added to dw) comes from one buffer shared by all
 * objects of the process and sized at creation to the largest need; only max
 * pooling's workspace, which must live from forward to backward, is per
 * object. Hence: the objects share one oneDNN engine, stream and temporary
 * buffer, and calls on them must not run concurrently from several threads.
 * oneDNN parallelises each call itself with OpenMP.
 *
 * Threads and bits (observed with oneDNN 2.6.3, 1-4 threads): the same call on
 * the same inputs with the same thread count gives the same bits, every
 * time. Forward and backward data of convolutions, and pooling, give the same
 * bits for any thread count; the weight and bias gradients do not (oneDNN
 * splits the reduction over the batch between threads), nor does the dense
 * forward between 1 and more threads (its sgemm takes another path).
 *
 * Errors: creation fails with NULL and a message in err naming the layer,
 * its shape, the oneDNN call and its status, e.g.
 *   "conv 6->16 5x5 stride 1 pad 0 on 128x6x14x14: forward:
 *    dnnl_primitive_desc_create failed: unimplemented";
 * a call fails with -1 and the same kind of message in nn_dnnl_*_error().
 * Nothing here exits or prints.
 */
#ifndef ACTLAB_BACKEND_DNNL_BACKEND_H
#define ACTLAB_BACKEND_DNNL_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "nn/layers_ref.h" /* nn_conv_shape, nn_pool_shape */

/* How a layer lays out its tensors for oneDNN. */
typedef enum nn_dnnl_format {
    NN_DNNL_FMT_AUTO = 0, /* per-primitive choice from measurements (the default) */
    NN_DNNL_FMT_PLAIN,    /* the primitives run on NCHW / OIHW / NC / OI directly */
    NN_DNNL_FMT_BLOCKED,  /* format_tag_any: oneDNN's preferred layouts, reordered in the call */
} nn_dnnl_format;

/* Convolution algorithm. Winograd exists only for some shapes (3x3, stride 1,
 * blocked layouts); where oneDNN has no implementation for the requested
 * algorithm, the primitive falls back to direct and nn_dnnl_conv_info() says
 * what runs. */
typedef enum nn_dnnl_conv_alg {
    NN_DNNL_ALG_DEFAULT = 0, /* Winograd where it measured faster (3x3 s1, >= 64 channels), else direct */
    NN_DNNL_ALG_DIRECT,
    NN_DNNL_ALG_AUTO,     /* dnnl_convolution_auto: oneDNN's own pick (also Winograd where it loses) */
    NN_DNNL_ALG_WINOGRAD, /* dnnl_convolution_winograd, falling back to direct */
} nn_dnnl_conv_alg;

/* The arithmetic of convolutions (--precision). The caller's buffers are f32 either way.
 * In bf16, inside each call, src, weights and diff_dst are converted (rounded to nearest
 * even) to bf16 by the reorders into the primitive's layouts; the primitive multiplies bf16
 * and accumulates in f32, and dst, diff_src, diff_weights and diff_bias are f32. Direct
 * algorithm only (oneDNN 2.6 has no bf16 Winograd). Needs AVX512-BF16 (nn_dnnl_bf16_check);
 * creation fails where oneDNN has only its reference kernel for bf16. */
typedef enum nn_dnnl_precision {
    NN_DNNL_F32 = 0, /* the default */
    /* The speed mode: bf16 wherever it measured faster than f32, i.e. everywhere but the 3x3
     * stride-1 layers with at least NN_DNNL_BF16_F32_WINO_CHANNELS input and output channels,
     * where f32 Winograd is faster (table in dnnl_conv.c): those stay f32, and
     * nn_dnnl_conv_info() begins with "f32 (bf16 is slower here)". */
    NN_DNNL_BF16,
    NN_DNNL_BF16_ALL, /* bf16 in every convolution (measurements, tests) */
} nn_dnnl_precision;

typedef struct nn_dnnl_opts {
    nn_dnnl_format format;
    nn_dnnl_conv_alg alg; /* convolution only */
    nn_dnnl_precision precision; /* convolution only */
    /* The caller's layouts of the data tensors (conv and pooling): 0 NCHW, 1 nChw16c
     * (src/nn/layout.h; needs C a multiple of 16). A blocked caller layout is also the
     * primitive's, so the network's activations flow between layers with no reorder. */
    int src_blocked, dst_blocked;
} nn_dnnl_opts;

/* oneDNN's version and the number of threads it will use, e.g. "oneDNN 2.6.3, 2 threads". */
const char *nn_dnnl_version(void);
/* 0 if this CPU and oneDNN run bf16 convolutions natively (AVX512-BF16; oneDNN's emulation
 * on plain AVX-512 is slower than f32, so it does not count); else -1 with a message
 * ("--precision bf16: this CPU has no AVX512-BF16 (...)"). Honours ONEDNN_MAX_CPU_ISA. */
int nn_dnnl_bf16_check(char *err, size_t errlen);

/* ---- convolution (torch.nn.Conv2d, groups 1, dilation 1, zero padding) ---- */

typedef struct nn_dnnl_conv nn_dnnl_conv;

/* s must be filled (nn_conv_shape_init). opts may be NULL (defaults). */
nn_dnnl_conv *nn_dnnl_conv_new(const nn_conv_shape *s, int with_bias, char *err, size_t errlen);
nn_dnnl_conv *nn_dnnl_conv_new_opts(const nn_conv_shape *s, int with_bias, const nn_dnnl_opts *opts, char *err,
                                    size_t errlen);
/* out[B][O][OH][OW] = conv(in, w) + b; b is ignored without bias. Returns 0 or -1. */
int nn_dnnl_conv_forward(nn_dnnl_conv *c, float *out, const float *in, const float *w, const float *b);
/* din overwritten (NULL: skipped); dw += (NULL: weight gradients skipped); db += (NULL or
 * no bias: skipped). Returns 0 or -1. */
int nn_dnnl_conv_backward(nn_dnnl_conv *c, float *din, float *dw, float *db, const float *dout, const float *in,
                          const float *w);
/* One line: oneDNN's implementation and the layouts of each primitive (oneDNN verbose
 * style: abcd is NCHW, aBcd16b blocks 16 channels), e.g. "fwd jit:avx512_core (src abcd,
 * wei Acbd16a, dst aBcd16b); bwd_data x64:gemm:jit (diff_src abcd, ...); ...". */
const char *nn_dnnl_conv_info(const nn_dnnl_conv *c);
const char *nn_dnnl_conv_error(const nn_dnnl_conv *c);
void nn_dnnl_conv_free(nn_dnnl_conv *c);

/* ---- dense (torch.nn.Linear): in[B][I], w[O][I], out[B][O] ---- */

typedef struct nn_dnnl_dense nn_dnnl_dense;

nn_dnnl_dense *nn_dnnl_dense_new(int B, int I, int O, int with_bias, char *err, size_t errlen);
nn_dnnl_dense *nn_dnnl_dense_new_opts(int B, int I, int O, int with_bias, const nn_dnnl_opts *opts, char *err,
                                      size_t errlen);
int nn_dnnl_dense_forward(nn_dnnl_dense *d, float *out, const float *in, const float *w, const float *b);
int nn_dnnl_dense_backward(nn_dnnl_dense *d, float *din, float *dw, float *db, const float *dout, const float *in,
                           const float *w);
const char *nn_dnnl_dense_info(const nn_dnnl_dense *d);
const char *nn_dnnl_dense_error(const nn_dnnl_dense *d);
void nn_dnnl_dense_free(nn_dnnl_dense *d);

/* ---- pooling (torch.nn.MaxPool2d / AvgPool2d with count_include_pad=True) ---- */
/* (opts: src_blocked selects nChw16c for input and output alike) */

typedef enum nn_dnnl_pool_kind { NN_DNNL_POOL_MAX, NN_DNNL_POOL_AVG } nn_dnnl_pool_kind;
typedef struct nn_dnnl_pool nn_dnnl_pool;

/* Max pooling keeps oneDNN's workspace (where each maximum was) inside the object from
 * forward to backward: backward uses the most recent forward. Ties keep the first element
 * in row-major order, as the reference; unlike PyTorch, a NaN does not win. */
nn_dnnl_pool *nn_dnnl_pool_new(const nn_pool_shape *s, nn_dnnl_pool_kind kind, char *err, size_t errlen);
nn_dnnl_pool *nn_dnnl_pool_new_opts(const nn_pool_shape *s, nn_dnnl_pool_kind kind, const nn_dnnl_opts *opts, char *err,
                                    size_t errlen);
int nn_dnnl_pool_forward(nn_dnnl_pool *p, float *out, const float *in);
/* din[B][C][H][W] overwritten. */
int nn_dnnl_pool_backward(nn_dnnl_pool *p, float *din, const float *dout);
const char *nn_dnnl_pool_info(const nn_dnnl_pool *p);
const char *nn_dnnl_pool_error(const nn_dnnl_pool *p);
void nn_dnnl_pool_free(nn_dnnl_pool *p);

/* ---- batch normalisation (torch.nn.BatchNorm2d; BatchNorm1d as H = W = 1) ---- */

typedef struct nn_dnnl_bn nn_dnnl_bn;

/* opts: src_blocked selects nChw16c (C a multiple of 16); NULL: NCHW. */
nn_dnnl_bn *nn_dnnl_bn_new(int B, int C, int H, int W, float eps, const nn_dnnl_opts *opts, char *err, size_t errlen);
/* training: normalise by the batch's mean and biased variance, which are written to
 * mean[C] and var[C]; else normalise by the given mean and var (running statistics). */
int nn_dnnl_bn_forward(nn_dnnl_bn *b, float *out, const float *in, const float *gamma, const float *beta, float *mean,
                       float *var, int training);
/* The training-mode gradient (through the batch statistics mean/var of the forward):
 * din overwritten, dgamma and dbeta accumulated (+=). */
int nn_dnnl_bn_backward(nn_dnnl_bn *b, float *din, float *dgamma, float *dbeta, const float *dout, const float *in,
                        const float *gamma, const float *beta, const float *mean, const float *var);
const char *nn_dnnl_bn_info(const nn_dnnl_bn *b);
const char *nn_dnnl_bn_error(const nn_dnnl_bn *b);
void nn_dnnl_bn_free(nn_dnnl_bn *b);

/* ---- shared by the backend's files (dnnl_*.c), not for callers ---- */
/* ---- where an object's temporaries live ----
 * Each object (conv, dense, pooling, batch norm) needs temporary memory while it runs:
 * oneDNN's scratchpads and the copies reordered for its primitives, in two phases (forward;
 * backward). By default all objects share one buffer; a network that knows when each
 * object runs may instead give each phase its own place (see src/nn/net.c). */
#define NN_DNNL_PHASES 2 /* forward, backward */
typedef struct nn_dnnl_temps nn_dnnl_temps;
nn_dnnl_temps *nn_dnnl_conv_temps(nn_dnnl_conv *c);
nn_dnnl_temps *nn_dnnl_dense_temps(nn_dnnl_dense *d);
nn_dnnl_temps *nn_dnnl_pool_temps(nn_dnnl_pool *p);
nn_dnnl_temps *nn_dnnl_bn_temps(nn_dnnl_bn *b);
/* Bytes phase p needs (0: none). */
size_t nn_dnnl_temps_need(const nn_dnnl_temps *t, int phase);
/* From now on, phase p's temporaries live at base[p] (64-byte aligned, at least
 * nn_dnnl_temps_need(t, p) bytes; NULL where a phase needs none), not in the shared buffer. */
void nn_dnnl_temps_use(nn_dnnl_temps *t, void *const base[NN_DNNL_PHASES]);

#ifdef NN_DNNL_INTERNAL
#include <dnnl.h>

#define NN_DNNL_ERRLEN 256
#define NN_DNNL_MAX_TEMPS 24

/* The process's engine and stream, created on first use. 0, or -1 with err. */
int nn_dnnl_context(dnnl_engine_t *engine, dnnl_stream_t *stream, char *err, size_t errlen);
/* Writes "WHAT: STAGE: CALL failed: STATUS" to err and returns -1. stage may be NULL. */
int nn_dnnl_fail(char *err, size_t errlen, const char *what, const char *stage, const char *call, dnnl_status_t st);
/* A short layout name in oneDNN verbose style ("abcd", "aBcd16b", "ABcd16a16b"). */
void nn_dnnl_md_tag(char *buf, size_t n, const dnnl_memory_desc_t *md);
int nn_dnnl_md_is(const dnnl_memory_desc_t *md, const dnnl_memory_desc_t *want);

/* The temporary memory of one object. Memory objects are registered with an offset in the
 * phase they belong to (the first nn_dnnl_temps_phase call starts the forward phase, the
 * second the backward one); a phase's registrations never overlap one another; the object's
 * need is its largest phase. Before each call nn_dnnl_temps_bind points every registered
 * memory at its phase's buffer: by default one buffer shared by all objects (any object
 * may use it while it runs), or the caller's own per phase (nn_dnnl_temps_use), so that a
 * network can place each layer's temporaries where nothing else lives at that moment. */
struct nn_dnnl_temps {
    dnnl_memory_t mem[NN_DNNL_MAX_TEMPS];
    size_t off[NN_DNNL_MAX_TEMPS];
    int phase_of[NN_DNNL_MAX_TEMPS];
    int n;
    int phase;                           /* the phase being built (-1 before the first) */
    size_t phase_used;                   /* bytes of the current phase given out so far */
    size_t phase_need[NN_DNNL_PHASES];   /* bytes each phase needs */
    size_t need;                         /* max over phases */
    void *own[NN_DNNL_PHASES];           /* the caller's buffers (nn_dnnl_temps_use), else NULL */
    void *bound;                         /* base the memories point into now */
    int reserved;                        /* counted in the shared buffer's users */
};

void nn_dnnl_temps_phase(nn_dnnl_temps *t); /* start a new phase at offset 0 */
/* Reserves size bytes (64-byte aligned) in the current phase; returns the offset. */
size_t nn_dnnl_temps_take(nn_dnnl_temps *t, size_t size);
/* Creates a memory object of md with no buffer and registers it at offset off. */
int nn_dnnl_temps_mem(nn_dnnl_temps *t, dnnl_memory_t *mem, const dnnl_memory_desc_t *md, size_t off,
                      const char *what, char *err, size_t errlen);
/* Grows the shared buffer to hold t->need bytes (creation time only; virtual memory until
 * an object without its own buffers runs). */
int nn_dnnl_temps_reserve(nn_dnnl_temps *t, const char *what, char *err, size_t errlen);
int nn_dnnl_temps_bind(nn_dnnl_temps *t, const char *what, char *err, size_t errlen);
/* Releases the object's hold on the shared buffer (freed with its last user). The memory
 * objects themselves are destroyed by their owners. */
void nn_dnnl_temps_release(nn_dnnl_temps *t);

/* A primitive with its descriptor and, if it needs one, its scratchpad in the temporary
 * buffer (primitives of one phase run one after another and share the region). */
typedef struct nn_dnnl_prim {
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t p;
    dnnl_memory_t scratch; /* NULL if none */
    char impl[48];         /* implementation name, e.g. "jit:avx512_common" */
} nn_dnnl_prim;

/* Creates the descriptor (user scratchpad mode; post_ops if given) and the primitive, and
 * records the implementation's name. The scratchpad comes later (nn_dnnl_prims_scratch). */
int nn_dnnl_prim_make(nn_dnnl_prim *pr, const_dnnl_op_desc_t desc, const_dnnl_primitive_desc_t hint,
                      dnnl_post_ops_t post_ops, const char *what, const char *stage, char *err, size_t errlen);
/* Reorder from src to dst layout; accumulate: dst += src (sum post-op) instead of dst = src. */
int nn_dnnl_reorder_make(nn_dnnl_prim *pr, const dnnl_memory_desc_t *src, const dnnl_memory_desc_t *dst,
                         int accumulate, const char *what, const char *stage, char *err, size_t errlen);
/* Once all arguments and primitives of a phase are made (reorders included): takes the
 * largest scratchpad among them from the phase and creates their scratchpad memories there. */
int nn_dnnl_prims_scratch(nn_dnnl_temps *t, nn_dnnl_prim **prims, int n, const char *what, char *err,
                          size_t errlen);
void nn_dnnl_prim_free(nn_dnnl_prim *pr);

/* An argument of a primitive: the caller's plain buffer and, when the primitive wants another
 * layout (or the result must be added, not written), a copy in the temporary buffer with the
 * reorder between the two. */
typedef enum nn_dnnl_dir { NN_DNNL_IN, NN_DNNL_OUT, NN_DNNL_OUT_ADD } nn_dnnl_dir;
typedef struct nn_dnnl_arg {
    dnnl_memory_t user;  /* plain layout, pointed at the caller's buffer per call */
    dnnl_memory_t mem;   /* what the primitive uses: user itself or the copy */
    nn_dnnl_prim reorder; /* .p NULL when mem == user */
    int own_mem;         /* mem is a separate copy (destroy it too) */
} nn_dnnl_arg;

/* Builds the argument: plain is the caller's layout, want the primitive's. The copy (if
 * any) is taken from the current phase of t; list the reorder in nn_dnnl_prims_scratch. */
int nn_dnnl_arg_make(nn_dnnl_arg *a, nn_dnnl_temps *t, const dnnl_memory_desc_t *plain,
                     const dnnl_memory_desc_t *want, nn_dnnl_dir dir, const char *what, const char *stage,
                     char *err, size_t errlen);
/* Per call: points user at ptr; for an input, runs the reorder into the copy. */
int nn_dnnl_arg_in(nn_dnnl_arg *a, const void *ptr, dnnl_stream_t s, const char *what, char *err, size_t errlen);
int nn_dnnl_arg_set(nn_dnnl_arg *a, void *ptr, const char *what, char *err, size_t errlen);
/* For an output, after the primitive: runs the reorder from the copy into the user buffer. */
int nn_dnnl_arg_out(nn_dnnl_arg *a, dnnl_stream_t s, const char *what, char *err, size_t errlen);
void nn_dnnl_arg_free(nn_dnnl_arg *a);

/* Executes pr with args (the scratchpad is appended here). */
int nn_dnnl_exec(nn_dnnl_prim *pr, dnnl_stream_t s, int nargs, const dnnl_exec_arg_t *args, const char *what,
                 const char *stage, char *err, size_t errlen);
#endif /* NN_DNNL_INTERNAL */

#endif
