/*
 * bench_act.c — throughput of every activation function's array kernels.
 *
 * For each built-in catalogue entry, and erelu written as two user formulas
 * ("expr:x >= 0 ? x : -log1p(-x)" and "expr:x >= 0 ? x : -log(1-x)", listed
 * right after erelu), or for the specs named on the command line, this times,
 * on n float inputs (default 16M = 16 * 2^20) drawn with a fixed seed from
 * N(0, sd 2) or U[-6, 6]:
 *
 *     fwd       y = f(x), into a separate output buffer
 *     fwd+bwd   the forward above, then dx = dy * f'(x) (from y for
 *               ACTLAB_ACT_FROM_Y entries, x passed as NULL; from x otherwise,
 *               y passed as NULL); the backward alone is reported too
 *
 * at each requested thread count (call.threads), as the median of R timed
 * repeats after one warm-up. Throughput is counted as the bytes the kernels
 * must move: forward reads x and writes y (8 B/element), backward reads dy and
 * x (or y) and writes dx (12 B/element), fwd+bwd is the sum (20 B/element).
 * Random functions in training mode also write their noise buffer in forward
 * (+4 B) and the backward of rrelu reads it instead of x.
 *
 * The yardstick is a STREAM-style copy, a[i] = b[i] over two other arrays of
 * the same n floats, OpenMP over the same thread count, plain (not
 * non-temporal) stores, counted as read + write = 8 B/element. It is timed
 * right before every timed forward and forward+backward: this machine's
 * bandwidth drifts with other load, so a function's share of STREAM is the
 * median of its per-repeat ratios to the adjacent copy, and the STREAM figure
 * of a thread count is the median of all its copies.
 *
 * Random functions (rrelu, noisy_relu) run in training mode (noise drawn per
 * element into call.noise) under their own name, and in evaluation mode as
 * "NAME[eval]" (see --random). Learnable functions (prelu, swish) accumulate
 * their parameter gradient into call.param_grad, as training does.
 *
 * Output: a human table per thread count on stdout, and with --tsv FILE a
 * tab-separated file (one row per function and thread count, plus a
 * STREAM_copy row per thread count) that bench/run joins with PyTorch's
 * figures from bench/act_torch.py. See bench/run for the whole procedure.
 *
 *     bench_act [--n N] [--threads 1,2] [--repeats R] [--dist normal|uniform]
 *               [--seed S] [--random train|eval|both] [--tsv FILE] [SPEC...]
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "actlab/act.h"

#define MAX_THREAD_COUNTS 16

/* The formula rows the issue asks for: erelu written as a user formula. */
static const char *const default_exprs[] = {
    "expr:x >= 0 ? x : -log1p(-x)",
    "expr:x >= 0 ? x : -log(1-x)",
};

typedef struct row {
    char key[256];   /* the row's name in the tables: spec, with "[eval]" for evaluation mode */
    actlab_act_cfg cfg;
    int training;    /* random functions: 1 = draw noise (training), 0 = evaluation */
} row;

typedef struct options {
    int64_t n;
    int threads[MAX_THREAD_COUNTS];
    int nthreads;
    int repeats;
    int uniform;     /* 0: N(0, sd 2); 1: U[-6, 6] */
    uint64_t seed;
    int random_train, random_eval;
    const char *tsv;
} options;

static void usage(FILE *f) {
    fprintf(f,
            "usage: bench_act [options] [SPEC...]\n"
            "Times forward and forward+backward of activation functions (all built-ins and\n"
            "two erelu formulas when no SPEC is given; SPEC is NAME[:k=v,...] or expr:FORMULA).\n"
            "  --n N               elements per array (default 16M; suffixes k, M, G = 2^10, 2^20, 2^30)\n"
            "  --threads LIST      comma-separated thread counts (default 1,2)\n"
            "  --repeats R         timed repeats per measurement, median reported (default 7)\n"
            "  --dist normal|uniform  inputs from N(0, sd 2) (default) or U[-6, 6]\n"
            "  --seed S            seed of the inputs and of the noise (default 1)\n"
            "  --random train|eval|both  mode(s) for random functions (default both;\n"
            "                      evaluation-mode rows are named NAME[eval])\n"
            "  --tsv FILE          also write the results as tab-separated values\n"
            "  -h, --help          this text\n");
}

static void die(const char *fmt, const char *a, const char *b) {
    fprintf(stderr, "bench_act: ");
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\n(bench_act --help for usage)\n");
    exit(2);
}

static int64_t parse_count(const char *flag, const char *s) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    double mult = 1;
    if (end != s && *end) {
        switch (*end) {
        case 'k': case 'K': mult = 1024.0; end++; break;
        case 'm': case 'M': mult = 1024.0 * 1024; end++; break;
        case 'g': case 'G': mult = 1024.0 * 1024 * 1024; end++; break;
        default: break;
        }
    }
    v *= mult;
    if (end == s || *end || errno || !(v >= 1) || v > 4e9 || v != floor(v))
        die("%s expects a whole positive count such as 16M or 1000000, got '%s'", flag, s);
    return (int64_t)v;
}

static int parse_int(const char *flag, const char *s, int lo, int hi) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi) {
        char range[64];
        snprintf(range, sizeof range, "a whole number in [%d, %d]", lo, hi);
        fprintf(stderr, "bench_act: %s expects %s, got '%s'\n(bench_act --help for usage)\n", flag, range, s);
        exit(2);
    }
    return (int)v;
}

static void parse_threads(options *o, const char *s) {
    char buf[256];
    if (strlen(s) >= sizeof buf) die("%s: list too long: '%s'", "--threads", s);
    strcpy(buf, s);
    o->nthreads = 0;
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (o->nthreads == MAX_THREAD_COUNTS) die("%s: at most 16 thread counts, got '%s'", "--threads", s);
        o->threads[o->nthreads++] = parse_int("--threads", tok, 1, 1024);
    }
    if (!o->nthreads) die("%s expects a list such as 1,2, got '%s'", "--threads", s);
}

/* ---- timing ---- */

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v in place. */
static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ---- STREAM copy ---- */

/* A plain copy loop, 64 bytes at a time (one AVX-512 register, or two AVX2
 * ones). GCC would otherwise turn it into a memcpy call, whose large-size path
 * uses non-temporal stores that no activation kernel uses. */
typedef float copy_vec __attribute__((vector_size(64)));
enum { COPY_VW = (int)(sizeof(copy_vec) / sizeof(float)) };

__attribute__((optimize("no-tree-loop-distribute-patterns"), noinline))
static void stream_copy(float *restrict a, const float *restrict b, int64_t n, int threads) {
    int64_t nv = n / COPY_VW;
    #pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t i = 0; i < nv; i++) {
        copy_vec v;
        memcpy(&v, b + i * COPY_VW, sizeof v);
        memcpy(a + i * COPY_VW, &v, sizeof v);
    }
    for (int64_t i = nv * COPY_VW; i < n; i++) a[i] = b[i];
}

static double time_copy(float *a, const float *b, int64_t n, int threads) {
    double t0 = now();
    stream_copy(a, b, n, threads);
    return now() - t0;
}

/* All STREAM samples (seconds) of one thread count, for its overall figure. */
static double *pool;
static int npool, cap_pool;

static void pool_add(double t) {
    if (npool == cap_pool) {
        cap_pool = cap_pool ? 2 * cap_pool : 256;
        pool = realloc(pool, sizeof(double) * (size_t)cap_pool);
        if (!pool) { fprintf(stderr, "bench_act: out of memory\n"); exit(1); }
    }
    pool[npool++] = t;
}

/* ---- data ---- */

static float *alloc_floats(int64_t n, const char *what) {
    size_t bytes = ((size_t)n * sizeof(float) + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes);
    if (!p) {
        fprintf(stderr, "bench_act: cannot allocate %zu bytes for %s\n", bytes, what);
        exit(1);
    }
    return p;
}

/* Fills (and so faults in) an array: draws from the library's counter-based
 * generator, so the data depend only on the seed, not on the thread count. */
static void fill(float *v, int64_t n, uint64_t seed, int kind) {
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        uint64_t k = (uint64_t)i;
        v[i] = kind == 0 ? 2.0f * actlab_noise_normal(seed, 0, k)
             : kind == 1 ? 12.0f * actlab_noise_uniform(seed, 0, k) - 6.0f
             : kind == 2 ? actlab_noise_normal(seed, 0, k)
                         : 0.0f;
    }
}

/* ---- one function at one thread count ---- */

typedef struct result {
    double fwd_ns, bwd_ns, fb_ns;     /* ns per element, medians */
    double fwd_share, fb_share;       /* medians of (GB/s / adjacent STREAM GB/s) */
    double stream_gbs, stream_lo, stream_hi; /* the adjacent STREAM samples: median, min, max */
    int fwd_bytes, bwd_bytes;         /* bytes per element, as counted */
} result;

typedef struct buffers {
    float *x, *y, *dy, *dx, *noise;
    float *sa, *sb;                   /* the STREAM copy's own arrays: sa <- sb */
} buffers;

static void check(int rc, const char *key, const char *what, const char *err) {
    if (rc) {
        fprintf(stderr, "bench_act: %s %s failed: %s\n", key, what, err);
        exit(1);
    }
}

/*
 * Each repeat runs: STREAM copy, forward, STREAM copy, forward + backward, all
 * timed. The bandwidth of this shared machine drifts (other tenants), by up to
 * 2x over seconds, so a function's share of STREAM is taken against the copy
 * timed right before it, repeat by repeat, and the median of those ratios is
 * reported. Running the copy on other arrays also means no measurement starts
 * with its inputs still in the last-level cache from its own previous repeat.
 */
static result measure(const row *rw, const buffers *b, int64_t n, int threads, int repeats, uint64_t seed) {
    const actlab_act *a = rw->cfg.act;
    int from_y = (a->flags & ACTLAB_ACT_FROM_Y) != 0;
    int random_train = (a->flags & ACTLAB_ACT_RANDOM) && rw->training;
    double param_grad[ACTLAB_ACT_MAX_PARAMS] = {0};
    char err[256] = "";
    result res;
    res.fwd_bytes = 8 + (random_train ? 4 : 0);
    res.bwd_bytes = 12;

    actlab_act_call call = actlab_act_call_default(&rw->cfg);
    call.threads = threads;
    call.seed = seed;
    call.training = rw->training;
    call.noise = random_train ? b->noise : NULL;
    call.param_grad = actlab_act_has_learnable(a) ? param_grad : NULL;

    const float *bx = from_y ? NULL : b->x; /* the backward's inputs, as a caller would pass them */
    const float *by = from_y ? b->y : NULL;

    double *t = malloc(sizeof(double) * (size_t)repeats * 7);
    if (!t) { fprintf(stderr, "bench_act: out of memory\n"); exit(1); }
    double *tf = t, *tb = t + repeats, *tfb = t + 2 * repeats, *rf = t + 3 * repeats, *rfb = t + 4 * repeats;
    double *ts = t + 5 * repeats; /* 2 * repeats STREAM samples */

    /* warm-up: one of each */
    check(actlab_act_forward(&call, b->y, b->x, n, err, sizeof err), rw->key, "forward", err);
    check(actlab_act_backward(&call, b->dx, b->dy, bx, by, n, err, sizeof err), rw->key, "backward", err);

    for (int r = 0; r < repeats; r++) {
        call.step = (uint64_t)r;
        double s1 = time_copy(b->sa, b->sb, n, threads);
        double t0 = now();
        check(actlab_act_forward(&call, b->y, b->x, n, err, sizeof err), rw->key, "forward", err);
        tf[r] = now() - t0;
        double s2 = time_copy(b->sa, b->sb, n, threads);
        t0 = now();
        check(actlab_act_forward(&call, b->y, b->x, n, err, sizeof err), rw->key, "forward", err);
        double t1 = now();
        check(actlab_act_backward(&call, b->dx, b->dy, bx, by, n, err, sizeof err), rw->key, "backward", err);
        double t2 = now();
        tb[r] = t2 - t1;
        tfb[r] = t2 - t0;
        /* (bytes / time) / (8 bytes / copy time) */
        rf[r] = (double)res.fwd_bytes * s1 / (8.0 * tf[r]);
        rfb[r] = (double)(res.fwd_bytes + res.bwd_bytes) * s2 / (8.0 * tfb[r]);
        ts[2 * r] = s1;
        ts[2 * r + 1] = s2;
        pool_add(s1);
        pool_add(s2);
    }
    res.fwd_ns = median(tf, repeats) * 1e9 / (double)n;
    res.bwd_ns = median(tb, repeats) * 1e9 / (double)n;
    res.fb_ns = median(tfb, repeats) * 1e9 / (double)n;
    res.fwd_share = median(rf, repeats);
    res.fb_share = median(rfb, repeats);
    double ms = median(ts, 2 * repeats); /* sorts ts */
    res.stream_gbs = 8.0 * (double)n / ms / 1e9;
    res.stream_lo = 8.0 * (double)n / ts[2 * repeats - 1] / 1e9;
    res.stream_hi = 8.0 * (double)n / ts[0] / 1e9;
    free(t);
    return res;
}

/* bytes per element / ns per element = GB/s */
static double gbs(int bytes, double ns) { return (double)bytes / ns; }

/* ---- rows ---- */

static row *rows;
static int nrows, cap_rows;

static row *new_row(void) {
    if (nrows == cap_rows) {
        cap_rows = cap_rows ? 2 * cap_rows : 64;
        rows = realloc(rows, sizeof(row) * (size_t)cap_rows);
        if (!rows) { fprintf(stderr, "bench_act: out of memory\n"); exit(1); }
    }
    row *r = &rows[nrows++];
    memset(r, 0, sizeof *r);
    return r;
}

/* Adds the row(s) of one configured function: random ones once per mode. */
static void add_rows(const char *key, const actlab_act_cfg *cfg, const options *o) {
    int random = (cfg->act->flags & ACTLAB_ACT_RANDOM) != 0;
    for (int mode = 1; mode >= 0; mode--) {
        if (random && !(mode ? o->random_train : o->random_eval)) continue;
        if (!random && mode == 0) continue;
        row *r = new_row();
        snprintf(r->key, sizeof r->key, "%s%s", key, random && !mode ? "[eval]" : "");
        r->cfg = *cfg;
        r->training = random ? mode : 0;
    }
}

/* The default formula rows; one the formula engine rejects is skipped with a warning. */
static void add_expr_rows(const options *o) {
    char err[512];
    for (size_t i = 0; i < sizeof default_exprs / sizeof default_exprs[0]; i++) {
        actlab_act_cfg cfg;
        if (actlab_act_parse(default_exprs[i], &cfg, err, sizeof err)) {
            fprintf(stderr, "bench_act: warning: skipping '%s': %s\n", default_exprs[i], err);
            continue;
        }
        add_rows(default_exprs[i], &cfg, o);
    }
}

static const char *mode_of(const row *r) {
    if (!(r->cfg.act->flags & ACTLAB_ACT_RANDOM)) return "-";
    return r->training ? "train" : "eval";
}

int main(int argc, char **argv) {
    options o = {.n = 16 << 20, .threads = {1, 2}, .nthreads = 2, .repeats = 7, .uniform = 0,
                 .seed = 1, .random_train = 1, .random_eval = 1, .tsv = NULL};
    const char **specs = malloc(sizeof(char *) * (size_t)(argc + 1));
    int nspecs = 0;
    if (!specs) return 1;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *val = NULL;
        /* --flag VALUE or --flag=VALUE */
        char flag[64] = "";
        if (strncmp(arg, "--", 2) == 0 && arg[2]) {
            const char *eq = strchr(arg, '=');
            size_t fl = eq ? (size_t)(eq - arg) : strlen(arg);
            if (fl >= sizeof flag) die("unknown option '%s'%s", arg, "");
            memcpy(flag, arg, fl);
            flag[fl] = 0;
            static const char *const known[] = {"--help", "--n", "--threads", "--repeats", "--seed",
                                                "--tsv", "--dist", "--random"};
            int found = 0;
            for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) found |= strcmp(flag, known[k]) == 0;
            if (!found) die("unknown option '%s'%s", flag, "");
            if (strcmp(flag, "--help") != 0) {
                if (eq) val = eq + 1;
                else if (i + 1 < argc) val = argv[++i];
                else die("%s needs a value%s", flag, "");
            }
        } else if (strcmp(arg, "-h") == 0) {
            strcpy(flag, "--help");
        } else if (arg[0] == '-' && arg[1]) {
            die("unknown option '%s'%s", arg, "");
        } else {
            specs[nspecs++] = arg;
            continue;
        }
        if (strcmp(flag, "--help") == 0) { usage(stdout); return 0; }
        else if (strcmp(flag, "--n") == 0) o.n = parse_count("--n", val);
        else if (strcmp(flag, "--threads") == 0) parse_threads(&o, val);
        else if (strcmp(flag, "--repeats") == 0) o.repeats = parse_int("--repeats", val, 1, 1000);
        else if (strcmp(flag, "--seed") == 0) o.seed = (uint64_t)parse_int("--seed", val, 0, 2147483647);
        else if (strcmp(flag, "--tsv") == 0) o.tsv = val;
        else if (strcmp(flag, "--dist") == 0) {
            if (strcmp(val, "normal") == 0) o.uniform = 0;
            else if (strcmp(val, "uniform") == 0) o.uniform = 1;
            else die("--dist expects normal or uniform, got '%s'%s", val, "");
        } else if (strcmp(flag, "--random") == 0) {
            if (strcmp(val, "train") == 0) o.random_train = 1, o.random_eval = 0;
            else if (strcmp(val, "eval") == 0) o.random_train = 0, o.random_eval = 1;
            else if (strcmp(val, "both") == 0) o.random_train = o.random_eval = 1;
            else die("--random expects train, eval or both, got '%s'%s", val, "");
        } else die("unknown option '%s'%s", flag, "");
    }

    /* The rows: the specs given, or every built-in plus the formula rows. */
    char err[512];
    if (nspecs) {
        for (int i = 0; i < nspecs; i++) {
            actlab_act_cfg cfg;
            if (actlab_act_parse(specs[i], &cfg, err, sizeof err)) {
                fprintf(stderr, "bench_act: bad function '%s': %s\n", specs[i], err);
                return 2;
            }
            add_rows(specs[i], &cfg, &o);
        }
    } else {
        int count = actlab_act_count(), exprs_added = 0;
        for (int i = 0; i < count; i++) {
            const actlab_act *a = actlab_act_at(i);
            if (a->flags & ACTLAB_ACT_USER) continue;
            actlab_act_cfg cfg;
            if (actlab_act_parse(a->name, &cfg, err, sizeof err)) {
                fprintf(stderr, "bench_act: cannot configure %s: %s\n", a->name, err);
                return 1;
            }
            add_rows(a->name, &cfg, &o);
            /* the formula rows right after the built-in they restate, so both see the same machine */
            if (strcmp(a->name, "erelu") == 0) {
                add_expr_rows(&o);
                exprs_added = 1;
            }
        }
        if (!exprs_added) add_expr_rows(&o);
    }
    free(specs);

    FILE *tsv = NULL;
    if (o.tsv) {
        tsv = fopen(o.tsv, "w");
        if (!tsv) {
            fprintf(stderr, "bench_act: cannot write %s: %s\n", o.tsv, strerror(errno));
            return 1;
        }
    }

    /* Buffers; all filled up front so that no timed run takes page faults. */
    int64_t n = o.n;
    int need_noise = 0;
    for (int i = 0; i < nrows; i++) need_noise |= (rows[i].cfg.act->flags & ACTLAB_ACT_RANDOM) && rows[i].training;
    buffers b = {alloc_floats(n, "x"), alloc_floats(n, "y"), alloc_floats(n, "dy"), alloc_floats(n, "dx"),
                 need_noise ? alloc_floats(n, "noise") : NULL, alloc_floats(n, "copy target"),
                 alloc_floats(n, "copy source")};
    fill(b.x, n, o.seed, o.uniform ? 1 : 0);
    fill(b.dy, n, o.seed + 1, 2);
    fill(b.sb, n, o.seed + 2, 2);
    fill(b.y, n, 0, 3);
    fill(b.dx, n, 0, 3);
    fill(b.sa, n, 0, 3);
    if (b.noise) fill(b.noise, n, 0, 3);

    const char *dist = o.uniform ? "U[-6,6]" : "N(0,sd=2)";
    printf("bench_act: n = %" PRId64 " floats (%.0f MiB per array), inputs %s, seed %" PRIu64
           ", median of %d repeats after a warm-up\n",
           n, (double)n * 4 / (1 << 20), dist, o.seed, o.repeats);
    printf("bytes counted per element: fwd 8 (read x, write y; +4 noise for random in training), "
           "bwd 12 (read dy and x or y, write dx), fwd+bwd the sum; GB = 1e9 B\n");
    printf("%%STRM: median over repeats of GB/s / GB/s of the STREAM copy timed just before\n");
    if (tsv) {
        fprintf(tsv, "# bench_act n=%" PRId64 " dist=%s seed=%" PRIu64 " repeats=%d\n", n, dist, o.seed, o.repeats);
        fprintf(tsv, "# fwd_pct, fwdbwd_pct: median of per-repeat ratios to the STREAM copy timed just before;\n"
                     "# stream_gbs/lo/hi: those adjacent copies' median/min/max (STREAM_copy rows: all of the\n"
                     "# thread count's copies, median and 10th/90th percentiles)\n");
        fprintf(tsv, "key\tname\tthreads\tmode\tn\tfwd_bytes\tbwd_bytes\tfwd_ns\tfwd_gbs\tfwd_pct\t"
                     "bwd_ns\tbwd_gbs\tfwdbwd_ns\tfwdbwd_gbs\tfwdbwd_pct\tstream_gbs\tstream_lo\tstream_hi\n");
    }

    result *res = malloc(sizeof(result) * (size_t)(nrows ? nrows : 1));
    if (!res) { fprintf(stderr, "bench_act: out of memory\n"); return 1; }

    for (int ti = 0; ti < o.nthreads; ti++) {
        int t = o.threads[ti];
        if (t > omp_get_num_procs())
            fprintf(stderr, "bench_act: warning: %d threads on %d processors\n", t, omp_get_num_procs());
        fprintf(stderr, "bench_act: %d thread%s, %d functions...\n", t, t == 1 ? "" : "s", nrows);

        npool = 0;
        stream_copy(b.sa, b.sb, n, t); /* warm-up */
        for (int r = 0; r < o.repeats; r++) pool_add(time_copy(b.sa, b.sb, n, t));
        for (int i = 0; i < nrows; i++) res[i] = measure(&rows[i], &b, n, t, o.repeats, o.seed);
        double stream_s = median(pool, npool); /* sorts the pool */
        double stream = 8.0 * (double)n / stream_s / 1e9;
        double stream_ns = stream_s * 1e9 / (double)n;
        double p10 = 8.0 * (double)n / pool[(int)(0.9 * (npool - 1))] / 1e9;
        double p90 = 8.0 * (double)n / pool[(int)(0.1 * (npool - 1))] / 1e9;

        printf("\n== %d thread%s: STREAM copy %.2f GB/s (median of %d copies; 10th-90th percentile %.2f-%.2f) ==\n",
               t, t == 1 ? "" : "s", stream, npool, p10, p90);
        printf("%-34s %-5s | %8s %7s %6s | %8s %7s | %8s %7s %6s | %s\n", "function", "mode", "fwd ns/e", "GB/s",
               "%STRM", "bwd ns/e", "GB/s", "f+b ns/e", "GB/s", "%STRM", "adjacent STREAM");
        if (tsv)
            fprintf(tsv, "STREAM_copy\tSTREAM_copy\t%d\t-\t%" PRId64 "\t8\t-\t%.4f\t%.3f\t100.0\t-\t-\t-\t-\t-"
                         "\t%.3f\t%.3f\t%.3f\n",
                    t, n, stream_ns, stream, stream, p10, p90);
        for (int i = 0; i < nrows; i++) {
            const result *r = &res[i];
            int fb_bytes = r->fwd_bytes + r->bwd_bytes;
            double fg = gbs(r->fwd_bytes, r->fwd_ns), bg = gbs(r->bwd_bytes, r->bwd_ns), fbg = gbs(fb_bytes, r->fb_ns);
            printf("%-34s %-5s | %8.3f %7.2f %5.0f%% | %8.3f %7.2f | %8.3f %7.2f %5.0f%% | %.1f (%.1f-%.1f)\n",
                   rows[i].key, mode_of(&rows[i]), r->fwd_ns, fg, 100 * r->fwd_share, r->bwd_ns, bg, r->fb_ns, fbg,
                   100 * r->fb_share, r->stream_gbs, r->stream_lo, r->stream_hi);
            if (tsv)
                fprintf(tsv, "%s\t%s\t%d\t%s\t%" PRId64 "\t%d\t%d\t%.4f\t%.3f\t%.1f\t%.4f\t%.3f\t%.4f\t%.3f\t%.1f"
                             "\t%.3f\t%.3f\t%.3f\n",
                        rows[i].key, rows[i].cfg.act->name, t, mode_of(&rows[i]), n, r->fwd_bytes, r->bwd_bytes,
                        r->fwd_ns, fg, 100 * r->fwd_share, r->bwd_ns, bg, r->fb_ns, fbg, 100 * r->fb_share,
                        r->stream_gbs, r->stream_lo, r->stream_hi);
        }
        fflush(stdout);
    }

    if (tsv && fclose(tsv)) {
        fprintf(stderr, "bench_act: error writing %s: %s\n", o.tsv, strerror(errno));
        return 1;
    }
    free(res);
    free(pool);
    free(b.x); free(b.y); free(b.dy); free(b.dx); free(b.noise); free(b.sa); free(b.sb);
    free(rows);
    return 0;
}
