/* machine.c — see actlab/machine.h: peak FP32 FLOP/s from chains of FMAs, memory
 * bandwidth from STREAM's copy and triad, on a given number of OpenMP threads. */
#include "actlab/machine.h"
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "util/error.h"
#ifdef __linux__
#include <sys/mman.h> /* madvise: huge pages for the STREAM arrays */
#endif

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#endif

#define MAX_THREADS 1024
/* Best of a few runs each, within a time budget: on a busy machine a run takes longer
 * (the threads wait for cores), and profile measures each time it runs. */
#define FMA_TRIALS 8              /* timed runs of the FMA loop, at most */
#define FMA_TRIAL_SECONDS 0.015   /* each run's target length */
#define STREAM_TRIALS 10          /* timed copy + triad pairs, after one untimed pair, at most */
#define MIN_TRIALS 3              /* runs (pairs) made whatever the budget */
#define FMA_BUDGET_SECONDS 0.2    /* no run started after this long... */
#define STREAM_BUDGET_SECONDS 0.3 /* ... or this long after the arrays are touched */

/* ---- peak: independent FMA chains ---- */

/* Each chain is acc = acc * A + B, whose fixed point is B / (1 - A) = 1: the values stay
 * near 1 (no overflow, no denormals) however long it runs. Returns a sum of the chains,
 * so that the compiler must compute them. FLOPs per iteration: FMA_FLOPS_PER_ITER. */
#define FMA_A 0.999999f
#define FMA_B 0.000001f

#if defined(__AVX512F__)
static const char isa_name[] = "avx512";
enum { CHAINS = 16, LANES = 16 }; /* 16 of the 32 zmm registers */

static float fma_chains(long iters, float start) {
    __m512 acc[CHAINS];
    const __m512 a = _mm512_set1_ps(FMA_A), b = _mm512_set1_ps(FMA_B);
    for (int k = 0; k < CHAINS; k++) acc[k] = _mm512_set1_ps(start + 0.001f * (float)k);
    for (long i = 0; i < iters; i++) {
        #pragma GCC unroll 16
        for (int k = 0; k < CHAINS; k++) acc[k] = _mm512_fmadd_ps(acc[k], a, b);
    }
    for (int k = 1; k < CHAINS; k++) acc[0] = _mm512_add_ps(acc[0], acc[k]);
    return _mm512_reduce_add_ps(acc[0]);
}
#elif defined(__AVX2__) && defined(__FMA__)
static const char isa_name[] = "avx2";
enum { CHAINS = 12, LANES = 8 }; /* 12 + the two constants fit the 16 ymm registers */

static float fma_chains(long iters, float start) {
    __m256 acc[CHAINS];
    const __m256 a = _mm256_set1_ps(FMA_A), b = _mm256_set1_ps(FMA_B);
    for (int k = 0; k < CHAINS; k++) acc[k] = _mm256_set1_ps(start + 0.001f * (float)k);
    for (long i = 0; i < iters; i++) {
        #pragma GCC unroll 12
        for (int k = 0; k < CHAINS; k++) acc[k] = _mm256_fmadd_ps(acc[k], a, b);
    }
    for (int k = 1; k < CHAINS; k++) acc[0] = _mm256_add_ps(acc[0], acc[k]);
    float v[LANES], s = 0;
    _mm256_storeu_ps(v, acc[0]);
    for (int j = 0; j < LANES; j++) s += v[j];
    return s;
}
#else
static const char isa_name[] = "scalar";
enum { CHAINS = 16, LANES = 1 }; /* a multiply and an add (no FMA unit assumed: fmaf could be a
                                    library call), the same 2 FLOPs */

static float fma_chains(long iters, float start) {
    float acc[CHAINS];
    for (int k = 0; k < CHAINS; k++) acc[k] = start + 0.001f * (float)k;
    for (long i = 0; i < iters; i++) {
        #pragma GCC unroll 16
        for (int k = 0; k < CHAINS; k++) acc[k] = acc[k] * FMA_A + FMA_B;
    }
    float s = 0;
    for (int k = 0; k < CHAINS; k++) s += acc[k];
    return s;
}
#endif

#define FMA_FLOPS_PER_ITER (2.0 * CHAINS * LANES)

/* The calling thread's CPU time in seconds (the time it ran, not the time it waited for a
 * core), or wall time where POSIX's thread clock is missing. */
static double thread_seconds(void) {
#ifdef CLOCK_THREAD_CPUTIME_ID
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0) return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
#endif
    return omp_get_wtime();
}

/* Every thread runs `iters` iterations, started together after a barrier, and puts the CPU
 * time its run took into seconds[thread]. *sink gathers the chains' sums (so they are
 * computed) and *team the threads there were (at most `threads`). */
static void time_fma(int threads, long iters, double *seconds, float *sink, int *team) {
    float s = 0;
    int n = 0;
    #pragma omp parallel num_threads(threads) reduction(+ : s)
    {
        int k = omp_get_thread_num();
        if (k == 0) n = omp_get_num_threads();
        #pragma omp barrier
        double t0 = thread_seconds();
        s += fma_chains(iters, 1.0f + 0.01f * (float)k);
        seconds[k] = thread_seconds() - t0;
    }
    *sink += s;
    *team = n;
}

/* The sum over threads of each one's best GFLOP/s in up to FMA_TRIALS runs (all threads
 * at once) of about FMA_TRIAL_SECONDS each, each timed by its thread's CPU time: on a
 * shared machine other processes hold one core or another most of the time, and a run
 * timed from barrier to barrier is only as fast as its slowest thread's share of its core
 * (2 threads measured 8-250 GFLOP/s that way here, against 2 x 215 each alone); the rate
 * of a thread while it runs is what its core can do, the roof the layers are held to.
 * The runs' length is set on the calling thread alone (doubling a short run until it
 * lasts 2 ms, which also lets the clock rise): a first parallel run would time the
 * threads' start, several ms when the cores are busy. */
static double measure_peak(int threads, int *team, float *sink, int *runs) {
    double start = omp_get_wtime();
    long iters = 1 << 12;
    for (;;) {
        double t0 = thread_seconds();
        *sink += fma_chains(iters, 1.0f);
        double t = thread_seconds() - t0;
        if (t >= 0.002 || iters >= (1L << 40)) {
            double scale = FMA_TRIAL_SECONDS / (t > 0 ? t : 1e-9);
            iters = (long)((double)iters * (scale > 1 ? scale : 1));
            break;
        }
        iters *= 2;
    }
    double seconds[MAX_THREADS], best[MAX_THREADS] = {0};
    int r = 0;
    for (; r < FMA_TRIALS && (r < MIN_TRIALS || omp_get_wtime() - start < FMA_BUDGET_SECONDS); r++) {
        time_fma(threads, iters, seconds, sink, team);
        double longest = 0;
        for (int k = 0; k < *team; k++) {
            double gflops = seconds[k] > 0 ? FMA_FLOPS_PER_ITER * (double)iters / seconds[k] / 1e9 : 0;
            if (gflops > best[k]) best[k] = gflops;
            if (seconds[k] > longest) longest = seconds[k];
        }
        /* the clock may have risen since: keep the runs near their target length */
        if (longest > 0 && longest < FMA_TRIAL_SECONDS / 2) {
            double scale = FMA_TRIAL_SECONDS / longest;
            iters = (long)((double)iters * (scale < 8 ? scale : 8));
        }
    }
    *runs = r;
    double peak = 0;
    for (int k = 0; k < *team; k++) peak += best[k];
    return peak;
}

/* ---- bandwidth: STREAM copy and triad ---- */

/* Plain loops with plain stores: without the attribute GCC turns the copy into a memcpy
 * call, whose large-size path uses non-temporal stores (STREAM's own figures come from
 * such plain loops, and so do the layers' kernels). */
__attribute__((optimize("no-tree-loop-distribute-patterns"), noinline))
static double time_copy(double *restrict c, const double *restrict a, long n, int threads) {
    double t0 = omp_get_wtime();
    #pragma omp parallel for schedule(static) num_threads(threads)
    for (long i = 0; i < n; i++) c[i] = a[i];
    return omp_get_wtime() - t0;
}

__attribute__((noinline))
static double time_triad(double *restrict a, const double *restrict b, const double *restrict c, double s, long n,
                         int threads) {
    double t0 = omp_get_wtime();
    #pragma omp parallel for schedule(static) num_threads(threads)
    for (long i = 0; i < n; i++) a[i] = b[i] + s * c[i];
    return omp_get_wtime() - t0;
}

#define TRIAD_SCALAR 0.5

/* One STREAM array, on 2 MiB huge pages where Linux gives them: first touching 192 MiB of
 * 4 KiB pages takes over a second in a virtual machine (1.3-1.5 s here), of huge pages a
 * quarter of that, and the runs then miss the TLB less. */
static double *stream_array(void) {
    const size_t huge = (size_t)2 << 20;
    double *p = aligned_alloc(huge, ACTLAB_MACHINE_STREAM_BYTES); /* the size is a multiple of 2 MiB */
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (p) madvise(p, ACTLAB_MACHINE_STREAM_BYTES, MADV_HUGEPAGE); /* a hint: failure only costs time */
#endif
    return p;
}

/* Best copy and triad GB/s over STREAM_TRIALS pairs, after an untimed pair; the arrays are
 * first touched by the threads (static schedule, as the kernels) that later stream them.
 * Checks the values at the end, as STREAM does. 0, or -1 with a message. */
static int measure_stream(int threads, double *copy_gbs, double *triad_gbs, int *runs, char *err, size_t errlen) {
    const long n = (long)(ACTLAB_MACHINE_STREAM_BYTES / sizeof(double));
    double *a = stream_array(), *b = stream_array(), *c = stream_array();
    if (!a || !b || !c) {
        free(a), free(b), free(c);
        return actlab_errorf(err, errlen, "out of memory: the STREAM measurement needs 3 arrays of %zu MiB",
                             ACTLAB_MACHINE_STREAM_BYTES >> 20);
    }
    #pragma omp parallel for schedule(static) num_threads(threads)
    for (long i = 0; i < n; i++) a[i] = 1.0, b[i] = 2.0, c[i] = 0.0;
    double av = 1.0, bv = 2.0, cv = 0.0, best_copy = 0, best_triad = 0, start = omp_get_wtime();
    int r = 0;
    for (; r <= STREAM_TRIALS && (r <= MIN_TRIALS || omp_get_wtime() - start < STREAM_BUDGET_SECONDS); r++) {
        double tc = time_copy(c, a, n, threads);
        cv = av;
        double tt = time_triad(a, b, c, TRIAD_SCALAR, n, threads);
        av = bv + TRIAD_SCALAR * cv;
        if (r == 0) continue; /* the untimed pair */
        double gc = tc > 0 ? 2.0 * sizeof(double) * (double)n / tc / 1e9 : 0;
        double gt = tt > 0 ? 3.0 * sizeof(double) * (double)n / tt / 1e9 : 0;
        if (gc > best_copy) best_copy = gc;
        if (gt > best_triad) best_triad = gt;
    }
    int bad = 0;
    for (long i = 0; i < n; i += n / 64 + 1) bad |= a[i] != av || b[i] != bv || c[i] != cv;
    bad |= a[n - 1] != av || c[n - 1] != cv;
    free(a), free(b), free(c);
    if (bad) return actlab_errorf(err, errlen, "the STREAM arrays hold wrong values after the runs");
    *copy_gbs = best_copy, *triad_gbs = best_triad, *runs = r - 1;
    return 0;
}

/* ---- the API ---- */

int actlab_machine_measure(actlab_machine *out, int threads, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (threads < 1 || threads > MAX_THREADS)
        return actlab_errorf(err, errlen, "threads must be a whole number in [1, %d], got %d", MAX_THREADS, threads);
    double t0 = omp_get_wtime();
    float sink = 0;
    int team = 0, peak_runs = 0, stream_runs = 0;
    double peak = measure_peak(threads, &team, &sink, &peak_runs);
    if (!isfinite(sink)) return actlab_errorf(err, errlen, "the FMA chains did not stay finite (%g)", (double)sink);
    double copy = 0, triad = 0;
    if (measure_stream(team, &copy, &triad, &stream_runs, err, errlen)) return -1;
    if (!(isfinite(peak) && peak > 0 && isfinite(copy) && copy > 0 && isfinite(triad) && triad > 0))
        return actlab_errorf(err, errlen, "a measurement came out not positive and finite: peak %g GFLOP/s, copy %g GB/s, "
                             "triad %g GB/s (a clock too coarse?)", peak, copy, triad);
    out->threads = team;
    snprintf(out->isa, sizeof out->isa, "%s", isa_name);
    out->peak_gflops = peak;
    out->stream_copy_gbs = copy;
    out->stream_triad_gbs = triad;
    out->stream_array_bytes = ACTLAB_MACHINE_STREAM_BYTES;
    out->peak_runs = peak_runs, out->stream_runs = stream_runs;
    out->seconds = omp_get_wtime() - t0;
    return 0;
}

double actlab_machine_balance(const actlab_machine *m) {
    return m && m->peak_gflops > 0 && m->stream_triad_gbs > 0 ? m->peak_gflops / m->stream_triad_gbs : 0;
}
