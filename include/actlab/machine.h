/*
 * actlab/machine.h — this machine's roofline, measured rather than assumed: the
 * peak FP32 rate of its FMA units and its memory bandwidth (STREAM copy and triad),
 * on a given number of OpenMP threads, in well under a second and a half.
 *
 *     actlab_machine m;
 *     char err[256];
 *     if (actlab_machine_measure(&m, 2, err, sizeof err)) fprintf(stderr, "%s\n", err);
 *     printf("%s: %.1f GFLOP/s, triad %.1f GB/s\n", m.isa, m.peak_gflops, m.stream_triad_gbs);
 *
 * Peak: each thread runs independent chains of fused multiply-adds (acc = acc * a + b;
 * 16 chains with AVX-512, 12 with AVX2 + FMA, 16 scalar ones otherwise: more than FMA
 * latency x FMA units, so the units never wait) in the widest vectors the library was
 * compiled for (chosen at compile time; -march=native builds for this machine), an FMA
 * counted as 2 FLOPs. All threads run together, 3 to 8 times for about 15 ms; each thread
 * times its runs by its own CPU time (the time it ran, not the time it waited for a core
 * that another process held), and the peak is the sum of each thread's best rate: what
 * the cores can do, not what a busy machine happened to leave free.
 *
 * Bandwidth: STREAM's copy (c[i] = a[i]) and triad (a[i] = b[i] + s * c[i]) over three
 * arrays of ACTLAB_MACHINE_STREAM_BYTES each (doubles, far larger than the caches),
 * allocated and first touched by the same threads before any timing, plain (not
 * non-temporal) stores; bytes counted as STREAM counts them: copy 16 B per element
 * (8 read + 8 written), triad 24 B (16 read + 8 written), write-allocate reads not
 * counted; the best of 3 to 10 runs of each (a copy of 128 MiB lasts a few ms: more runs,
 * more chances of one while no other process holds a core).
 *
 * The machine may be shared and noisy: the peak holds steady (within a few per cent here),
 * the bandwidths are wall-clock best-of figures, lower while other work runs.
 */
#ifndef ACTLAB_MACHINE_H
#define ACTLAB_MACHINE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ACTLAB_MACHINE_STREAM_BYTES ((size_t)64 << 20) /* each of the three STREAM arrays */

typedef struct actlab_machine {
    int threads;              /* OpenMP threads the figures were measured on */
    char isa[16];             /* the FMA loop's instruction set: "avx512", "avx2" or "scalar" */
    double peak_gflops;       /* FP32 GFLOP/s (1e9 FLOP/s), all threads together */
    double stream_copy_gbs;   /* GB/s (1e9 B/s), 16 B per element */
    double stream_triad_gbs;  /* GB/s, 24 B per element */
    size_t stream_array_bytes;/* the size of each STREAM array */
    int peak_runs;            /* timed FMA runs the peak is the best of (3 to 8, by a time budget) */
    int stream_runs;          /* timed copies (and triads) the bandwidths are the best of (3 to 10) */
    double seconds;           /* wall time the whole measurement took */
} actlab_machine;

/* Measures peak FP32 FLOP/s and STREAM bandwidth on `threads` OpenMP threads (>= 1; more
 * threads than cores is allowed and measures the oversubscribed machine). Returns 0, or
 * -1 with a message in err (threads < 1, out of memory, a figure not positive and
 * finite); *out is then zeroed. */
int actlab_machine_measure(actlab_machine *out, int threads, char *err, size_t errlen);

/* The machine balance, FLOPs per byte of memory traffic at which the roofline bends:
 * peak_gflops / stream_triad_gbs. A kernel with a lower arithmetic intensity (FLOPs per
 * byte it must move) is bound by memory, a higher one by compute. 0 if unmeasured. */
double actlab_machine_balance(const actlab_machine *m);

#ifdef __cplusplus
}
#endif
#endif
