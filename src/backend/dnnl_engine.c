/*
 * dnnl_engine.c — what the oneDNN layers share: the process's engine and
 * stream, error text, the temporary buffer shared by all objects, and the
 * helpers that build a primitive with its scratchpad and an argument with
 * its reorder (see dnnl_backend.h for the contract).
 */
#define NN_DNNL_INTERNAL
#include "dnnl_backend.h"

#include <dnnl_debug.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- engine and stream ---- */

static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;
static dnnl_engine_t ctx_engine;
static dnnl_stream_t ctx_stream;
static dnnl_status_t ctx_status = dnnl_success;
static const char *ctx_call = "";

static void ctx_init(void) {
    ctx_call = "dnnl_engine_create";
    ctx_status = dnnl_engine_create(&ctx_engine, dnnl_cpu, 0);
    if (ctx_status != dnnl_success) return;
    ctx_call = "dnnl_stream_create";
    ctx_status = dnnl_stream_create(&ctx_stream, ctx_engine, dnnl_stream_default_flags);
}

int nn_dnnl_context(dnnl_engine_t *engine, dnnl_stream_t *stream, char *err, size_t errlen) {
    pthread_once(&ctx_once, ctx_init);
    if (ctx_status != dnnl_success) return nn_dnnl_fail(err, errlen, "oneDNN CPU engine", NULL, ctx_call, ctx_status);
    if (engine) *engine = ctx_engine;
    if (stream) *stream = ctx_stream;
    return 0;
}

const char *nn_dnnl_version(void) {
    static char buf[64];
    const dnnl_version_t *v = dnnl_version();
    snprintf(buf, sizeof buf, "oneDNN %d.%d.%d, %d threads", v->major, v->minor, v->patch, omp_get_max_threads());
    return buf;
}

int nn_dnnl_fail(char *err, size_t errlen, const char *what, const char *stage, const char *call, dnnl_status_t st) {
    if (err && errlen)
        snprintf(err, errlen, "%s: %s%s%s failed: %s", what, stage ? stage : "", stage ? ": " : "", call,
                 dnnl_status2str(st));
    return -1;
}

void nn_dnnl_md_tag(char *buf, size_t n, const dnnl_memory_desc_t *md) {
    if (md->format_kind != dnnl_blocked) {
        snprintf(buf, n, "%s", dnnl_fmt_kind2str(md->format_kind));
        return;
    }
    const dnnl_blocking_desc_t *bd = &md->format_desc.blocking;
    int order[DNNL_MAX_NDIMS], nd = md->ndims;
    for (int i = 0; i < nd; i++) order[i] = i;
    for (int i = 1; i < nd; i++) /* outermost (largest stride) first; stable */
        for (int j = i; j > 0 && bd->strides[order[j]] > bd->strides[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    size_t k = 0;
    for (int i = 0; i < nd && k + 1 < n; i++) {
        int d = order[i], blocked = 0;
        for (int b = 0; b < bd->inner_nblks; b++) blocked |= bd->inner_idxs[b] == d;
        buf[k++] = (char)((blocked ? 'A' : 'a') + d);
    }
    buf[k] = 0;
    for (int b = 0; b < bd->inner_nblks && k + 1 < n; b++) {
        int w = snprintf(buf + k, n - k, "%d%c", (int)bd->inner_blks[b], (char)('a' + bd->inner_idxs[b]));
        if (w < 0) break;
        k += (size_t)w;
        if (k >= n) k = n - 1;
    }
}

int nn_dnnl_md_is(const dnnl_memory_desc_t *md, const dnnl_memory_desc_t *want) {
    return dnnl_memory_desc_equal(md, want);
}

/* ---- the shared temporary buffer ---- */

#define TEMP_ALIGN 64
static pthread_mutex_t temp_lock = PTHREAD_MUTEX_INITIALIZER;
static void *temp_base;
static size_t temp_size;
static int temp_users;

/* Objects are zeroed at creation: phase 0 is "before the first phase" until one starts. */
static int phase_index(const nn_dnnl_temps *t) { return t->phase > 0 ? (t->phase < NN_DNNL_PHASES ? t->phase : NN_DNNL_PHASES) - 1 : 0; }

void nn_dnnl_temps_phase(nn_dnnl_temps *t) {
    t->phase_used = 0;
    t->phase++;
}

size_t nn_dnnl_temps_take(nn_dnnl_temps *t, size_t size) {
    size_t off = t->phase_used;
    t->phase_used += (size + TEMP_ALIGN - 1) / TEMP_ALIGN * TEMP_ALIGN;
    if (t->phase_used > t->need) t->need = t->phase_used;
    if (t->phase_used > t->phase_need[phase_index(t)]) t->phase_need[phase_index(t)] = t->phase_used;
    return off;
}

int nn_dnnl_temps_mem(nn_dnnl_temps *t, dnnl_memory_t *mem, const dnnl_memory_desc_t *md, size_t off,
                      const char *what, char *err, size_t errlen) {
    dnnl_engine_t eng;
    if (nn_dnnl_context(&eng, NULL, err, errlen)) return -1;
    if (t->n >= NN_DNNL_MAX_TEMPS) {
        snprintf(err, errlen, "%s: more than %d temporary tensors", what, NN_DNNL_MAX_TEMPS);
        return -1;
    }
    dnnl_status_t st = dnnl_memory_create(mem, md, eng, DNNL_MEMORY_NONE);
    if (st != dnnl_success) return nn_dnnl_fail(err, errlen, what, NULL, "dnnl_memory_create", st);
    t->mem[t->n] = *mem;
    t->off[t->n] = off;
    t->phase_of[t->n] = phase_index(t);
    t->n++;
    t->bound = NULL;
    return 0;
}

int nn_dnnl_temps_reserve(nn_dnnl_temps *t, const char *what, char *err, size_t errlen) {
    if (t->need == 0) return 0;
    pthread_mutex_lock(&temp_lock);
    int rc = 0;
    if (t->need > temp_size) {
        size_t size = (t->need + 4095) / 4096 * 4096;
        void *p = aligned_alloc(4096, size);
        if (!p) {
            snprintf(err, errlen, "%s: out of memory for %zu bytes of temporary buffers", what, size);
            rc = -1;
        } else {
            free(temp_base);
            temp_base = p;
            temp_size = size;
        }
    }
    if (rc == 0 && !t->reserved) {
        t->reserved = 1;
        temp_users++;
    }
    pthread_mutex_unlock(&temp_lock);
    return rc;
}

size_t nn_dnnl_temps_need(const nn_dnnl_temps *t, int phase) {
    return phase >= 0 && phase < NN_DNNL_PHASES ? t->phase_need[phase] : 0;
}

void nn_dnnl_temps_use(nn_dnnl_temps *t, void *const base[NN_DNNL_PHASES]) {
    for (int p = 0; p < NN_DNNL_PHASES; p++) t->own[p] = base[p];
    t->bound = NULL;
}

int nn_dnnl_temps_bind(nn_dnnl_temps *t, const char *what, char *err, size_t errlen) {
    int own = t->own[0] || t->own[1];
    void *now = own ? (void *)t->own : temp_base; /* own buffers never move: bound once */
    if (t->n == 0 || t->bound == now) return 0;
    for (int i = 0; i < t->n; i++) {
        char *base = own ? t->own[t->phase_of[i]] : temp_base;
        dnnl_status_t st = dnnl_memory_set_data_handle(t->mem[i], base + t->off[i]);
        if (st != dnnl_success) return nn_dnnl_fail(err, errlen, what, NULL, "dnnl_memory_set_data_handle", st);
    }
    t->bound = now;
    return 0;
}

void nn_dnnl_temps_release(nn_dnnl_temps *t) {
    if (!t->reserved) return;
    pthread_mutex_lock(&temp_lock);
    t->reserved = 0;
    if (--temp_users == 0) {
        free(temp_base);
        temp_base = NULL;
        temp_size = 0;
    }
    pthread_mutex_unlock(&temp_lock);
}

/* ---- primitives ---- */

static int attr_make(dnnl_primitive_attr_t *attr, dnnl_post_ops_t post_ops, const char *what, const char *stage,
                     char *err, size_t errlen) {
    dnnl_status_t st = dnnl_primitive_attr_create(attr);
    if (st != dnnl_success) return nn_dnnl_fail(err, errlen, what, stage, "dnnl_primitive_attr_create", st);
    st = dnnl_primitive_attr_set_scratchpad_mode(*attr, dnnl_scratchpad_mode_user);
    if (st == dnnl_success && post_ops) st = dnnl_primitive_attr_set_post_ops(*attr, post_ops);
    if (st != dnnl_success) {
        dnnl_primitive_attr_destroy(*attr);
        return nn_dnnl_fail(err, errlen, what, stage, "dnnl_primitive_attr_set", st);
    }
    return 0;
}

static int prim_finish(nn_dnnl_prim *pr, const char *what, const char *stage, char *err, size_t errlen) {
    const char *impl = NULL;
    if (dnnl_primitive_desc_query(pr->pd, dnnl_query_impl_info_str, 0, (void *)&impl) == dnnl_success && impl)
        snprintf(pr->impl, sizeof pr->impl, "%s", impl);
    else
        snprintf(pr->impl, sizeof pr->impl, "?");
    dnnl_status_t st = dnnl_primitive_create(&pr->p, pr->pd);
    if (st != dnnl_success) {
        pr->p = NULL;
        return nn_dnnl_fail(err, errlen, what, stage, "dnnl_primitive_create", st);
    }
    return 0;
}

int nn_dnnl_prim_make(nn_dnnl_prim *pr, const_dnnl_op_desc_t desc, const_dnnl_primitive_desc_t hint,
                      dnnl_post_ops_t post_ops, const char *what, const char *stage, char *err, size_t errlen) {
    dnnl_engine_t eng;
    memset(pr, 0, sizeof *pr);
    if (nn_dnnl_context(&eng, NULL, err, errlen)) return -1;
    dnnl_primitive_attr_t attr;
    if (attr_make(&attr, post_ops, what, stage, err, errlen)) return -1;
    dnnl_status_t st = dnnl_primitive_desc_create(&pr->pd, desc, attr, eng, hint);
    dnnl_primitive_attr_destroy(attr);
    if (st != dnnl_success) {
        pr->pd = NULL;
        return nn_dnnl_fail(err, errlen, what, stage, "dnnl_primitive_desc_create", st);
    }
    return prim_finish(pr, what, stage, err, errlen);
}

int nn_dnnl_reorder_make(nn_dnnl_prim *pr, const dnnl_memory_desc_t *src, const dnnl_memory_desc_t *dst,
                         int accumulate, const char *what, const char *stage, char *err, size_t errlen) {
    dnnl_engine_t eng;
    memset(pr, 0, sizeof *pr);
    if (nn_dnnl_context(&eng, NULL, err, errlen)) return -1;
    dnnl_post_ops_t po = NULL;
    dnnl_status_t st;
    if (accumulate) {
        st = dnnl_post_ops_create(&po);
        if (st == dnnl_success) st = dnnl_post_ops_append_sum(po, 1.0f);
        if (st != dnnl_success) {
            if (po) dnnl_post_ops_destroy(po);
            return nn_dnnl_fail(err, errlen, what, stage, "dnnl_post_ops_append_sum", st);
        }
    }
    dnnl_primitive_attr_t attr;
    int rc = attr_make(&attr, po, what, stage, err, errlen);
    if (po) dnnl_post_ops_destroy(po);
    if (rc) return -1;
    st = dnnl_reorder_primitive_desc_create(&pr->pd, src, eng, dst, eng, attr);
    dnnl_primitive_attr_destroy(attr);
    if (st != dnnl_success) {
        pr->pd = NULL;
        return nn_dnnl_fail(err, errlen, what, stage, "dnnl_reorder_primitive_desc_create", st);
    }
    return prim_finish(pr, what, stage, err, errlen);
}

int nn_dnnl_prims_scratch(nn_dnnl_temps *t, nn_dnnl_prim **prims, int n, const char *what, char *err,
                          size_t errlen) {
    size_t most = 0;
    for (int i = 0; i < n; i++) {
        if (!prims[i] || !prims[i]->pd) continue;
        const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(prims[i]->pd, dnnl_query_scratchpad_md, 0);
        size_t sz = md ? dnnl_memory_desc_get_size(md) : 0;
        if (sz > most) most = sz;
    }
    if (most == 0) return 0;
    size_t off = nn_dnnl_temps_take(t, most);
    for (int i = 0; i < n; i++) {
        if (!prims[i] || !prims[i]->pd) continue;
        const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(prims[i]->pd, dnnl_query_scratchpad_md, 0);
        if (md && dnnl_memory_desc_get_size(md) > 0 &&
            nn_dnnl_temps_mem(t, &prims[i]->scratch, md, off, what, err, errlen))
            return -1;
    }
    return 0;
}

void nn_dnnl_prim_free(nn_dnnl_prim *pr) {
    if (pr->p) dnnl_primitive_destroy(pr->p);
    if (pr->pd) dnnl_primitive_desc_destroy(pr->pd);
    if (pr->scratch) dnnl_memory_destroy(pr->scratch);
    memset(pr, 0, sizeof *pr);
}

int nn_dnnl_exec(nn_dnnl_prim *pr, dnnl_stream_t s, int nargs, const dnnl_exec_arg_t *args, const char *what,
                 const char *stage, char *err, size_t errlen) {
    dnnl_exec_arg_t a[12];
    if (nargs > 11) return nn_dnnl_fail(err, errlen, what, stage, "dnnl_primitive_execute", dnnl_invalid_arguments);
    memcpy(a, args, (size_t)nargs * sizeof *a);
    if (pr->scratch) a[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, pr->scratch};
    dnnl_status_t st = dnnl_primitive_execute(pr->p, s, nargs, a);
    if (st != dnnl_success) return nn_dnnl_fail(err, errlen, what, stage, "dnnl_primitive_execute", st);
    return 0;
}

/* ---- arguments ---- */

int nn_dnnl_arg_make(nn_dnnl_arg *a, nn_dnnl_temps *t, const dnnl_memory_desc_t *plain,
                     const dnnl_memory_desc_t *want, nn_dnnl_dir dir, const char *what, const char *stage,
                     char *err, size_t errlen) {
    dnnl_engine_t eng;
    memset(a, 0, sizeof *a);
    if (nn_dnnl_context(&eng, NULL, err, errlen)) return -1;
    dnnl_status_t st = dnnl_memory_create(&a->user, plain, eng, DNNL_MEMORY_NONE);
    if (st != dnnl_success) {
        a->user = NULL;
        return nn_dnnl_fail(err, errlen, what, stage, "dnnl_memory_create", st);
    }
    if (dir != NN_DNNL_OUT_ADD && nn_dnnl_md_is(want, plain)) {
        a->mem = a->user;
        return 0;
    }
    size_t off = nn_dnnl_temps_take(t, dnnl_memory_desc_get_size(want));
    if (nn_dnnl_temps_mem(t, &a->mem, want, off, what, err, errlen)) return -1;
    a->own_mem = 1;
    if (dir == NN_DNNL_IN) return nn_dnnl_reorder_make(&a->reorder, plain, want, 0, what, stage, err, errlen);
    return nn_dnnl_reorder_make(&a->reorder, want, plain, dir == NN_DNNL_OUT_ADD, what, stage, err, errlen);
}

int nn_dnnl_arg_set(nn_dnnl_arg *a, void *ptr, const char *what, char *err, size_t errlen) {
    dnnl_status_t st = dnnl_memory_set_data_handle(a->user, ptr);
    if (st != dnnl_success) return nn_dnnl_fail(err, errlen, what, NULL, "dnnl_memory_set_data_handle", st);
    return 0;
}

int nn_dnnl_arg_in(nn_dnnl_arg *a, const void *ptr, dnnl_stream_t s, const char *what, char *err, size_t errlen) {
    if (nn_dnnl_arg_set(a, (void *)ptr, what, err, errlen)) return -1;
    if (!a->reorder.p) return 0;
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, a->user}, {DNNL_ARG_TO, a->mem}};
    return nn_dnnl_exec(&a->reorder, s, 2, args, what, "reorder in", err, errlen);
}

int nn_dnnl_arg_out(nn_dnnl_arg *a, dnnl_stream_t s, const char *what, char *err, size_t errlen) {
    if (!a->reorder.p) return 0;
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, a->mem}, {DNNL_ARG_TO, a->user}};
    return nn_dnnl_exec(&a->reorder, s, 2, args, what, "reorder out", err, errlen);
}

void nn_dnnl_arg_free(nn_dnnl_arg *a) {
    nn_dnnl_prim_free(&a->reorder);
    if (a->own_mem && a->mem) dnnl_memory_destroy(a->mem);
    if (a->user) dnnl_memory_destroy(a->user);
    memset(a, 0, sizeof *a);
}
