/*
 * test_machine.c — actlab_machine_measure (actlab/machine.h): on 1 and 2 threads the
 * figures are positive, finite and sane (peak FP32 between 1 GFLOP/s and 10 TFLOP/s,
 * STREAM copy and triad above 0.5 GB/s), the record names the ISA and the threads, the
 * balance is peak / triad; a thread count below 1 (or above 1024) is refused with a
 * message. No speed is asserted beyond those sanity bounds: the machine is shared.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "actlab/machine.h"
#include "check.h"

static void check_figures(int threads) {
    actlab_machine m;
    char err[256] = "";
    int rc = actlab_machine_measure(&m, threads, err, sizeof err);
    CHECK(rc == 0, "measure on %d threads: rc %d (%s)", threads, rc, err);
    if (rc) return;
    printf("%d thread(s): %s, peak %.1f GFLOP/s, copy %.1f GB/s, triad %.1f GB/s, %.2f s\n", m.threads, m.isa,
           m.peak_gflops, m.stream_copy_gbs, m.stream_triad_gbs, m.seconds);
    CHECK(m.threads == threads, "threads %d, asked for %d", m.threads, threads);
    CHECK(!strcmp(m.isa, "avx512") || !strcmp(m.isa, "avx2") || !strcmp(m.isa, "scalar"), "isa '%s'", m.isa);
#if defined(__AVX512F__)
    CHECK(!strcmp(m.isa, "avx512"), "an AVX-512 build measures with avx512, not '%s'", m.isa);
#endif
    CHECK(isfinite(m.peak_gflops) && m.peak_gflops > 1 && m.peak_gflops < 10000, "peak %g GFLOP/s", m.peak_gflops);
    CHECK(isfinite(m.stream_copy_gbs) && m.stream_copy_gbs > 0.5 && m.stream_copy_gbs < 100000, "copy %g GB/s",
          m.stream_copy_gbs);
    CHECK(isfinite(m.stream_triad_gbs) && m.stream_triad_gbs > 0.5 && m.stream_triad_gbs < 100000, "triad %g GB/s",
          m.stream_triad_gbs);
    CHECK(m.stream_array_bytes == ACTLAB_MACHINE_STREAM_BYTES, "array bytes %zu", m.stream_array_bytes);
    CHECK(m.peak_runs >= 3 && m.peak_runs <= 8 && m.stream_runs >= 3 && m.stream_runs <= 10, "runs %d, %d",
          m.peak_runs, m.stream_runs);
    CHECK(m.seconds > 0 && isfinite(m.seconds), "seconds %g", m.seconds);
    CHECK(check_close(actlab_machine_balance(&m), m.peak_gflops / m.stream_triad_gbs, 1e-12, 0), "balance %g",
          actlab_machine_balance(&m));
}

static void check_refused(int threads) {
    actlab_machine m;
    memset(&m, 0x5a, sizeof m);
    char err[256] = "";
    int rc = actlab_machine_measure(&m, threads, err, sizeof err);
    CHECK(rc == -1, "threads %d: rc %d, expected -1", threads, rc);
    CHECK(strstr(err, "threads") && strstr(err, "[1, 1024]"), "threads %d: message '%s' names threads and [1, 1024]",
          threads, err);
    CHECK(m.threads == 0 && m.peak_gflops == 0 && m.isa[0] == 0, "threads %d: the record is zeroed", threads);
}

int main(void) {
    check_figures(1);
    check_figures(2);
    check_refused(0);
    check_refused(-3);
    check_refused(1025);
    CHECK(actlab_machine_balance(NULL) == 0, "balance of nothing");
    actlab_machine zero;
    memset(&zero, 0, sizeof zero);
    CHECK(actlab_machine_balance(&zero) == 0, "balance of an unmeasured machine");
    return check_summary("test_machine");
}
