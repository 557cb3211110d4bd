/*
 * cmd_machine.c — `actlab machine [--threads T] [--json]`: this machine's roofline,
 * measured (actlab/machine.h): peak FP32 GFLOP/s from FMA chains, STREAM copy and triad
 * GB/s, on T OpenMP threads. --json prints {"threads", "isa", "peak_gflops",
 * "stream_copy_gbs", "stream_triad_gbs", ...}; scripts read those keys.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "actlab/machine.h"
#include "cli.h"

static void usage(void) {
    puts("usage: actlab machine [--threads T] [--json]\n"
         "Measures this machine on T OpenMP threads (default: all cores), in about half a second:\n"
         "peak FP32 GFLOP/s (independent chains of fused multiply-adds in the widest vectors the\n"
         "build targets, an FMA = 2 FLOPs; the threads run together up to 8 times for 15 ms, each\n"
         "timed by its own CPU time; the sum of each thread's best rate) and STREAM copy and triad\n"
         "GB/s (three arrays of 64 MiB; copy counted as 16 B per element, triad as 24 B, as STREAM\n"
         "counts them; wall clock, best of up to 10). --json prints one object: threads, isa,\n"
         "peak_gflops, stream_copy_gbs, stream_triad_gbs, balance (peak / triad, FLOPs per byte),\n"
         "stream_array_mib, seconds.");
}

int cmd_machine(int argc, char **argv) {
    int threads = 0, json = 0;
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(f, "--help") || !strcmp(f, "-h")) { usage(); return 0; }
        else if (!strcmp(f, "--json")) json = 1;
        else if (!strcmp(f, "--threads")) {
            double d;
            if (!v || cli_parse_double(v, &d) || d < 1 || d > 1024 || d != floor(d))
                return cli_fail("machine", "--threads expects a whole number in [1, 1024], got '%s'", v ? v : "nothing");
            threads = (int)d, i++;
        } else return cli_fail("machine", "unknown flag '%s' (expected --threads T or --json; see actlab machine --help)", f);
    }
    if (!threads) threads = omp_get_max_threads();
    actlab_machine m;
    char err[512];
    if (actlab_machine_measure(&m, threads, err, sizeof err)) {
        cli_fail("machine", "%s", err);
        return 1;
    }
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "threads", m.threads);
        cJSON_AddStringToObject(o, "isa", m.isa);
        cJSON_AddNumberToObject(o, "peak_gflops", m.peak_gflops);
        cJSON_AddNumberToObject(o, "stream_copy_gbs", m.stream_copy_gbs);
        cJSON_AddNumberToObject(o, "stream_triad_gbs", m.stream_triad_gbs);
        cJSON_AddNumberToObject(o, "balance", actlab_machine_balance(&m));
        cJSON_AddNumberToObject(o, "stream_array_mib", (double)(m.stream_array_bytes >> 20));
        cJSON_AddNumberToObject(o, "seconds", m.seconds);
        char *text = cJSON_Print(o);
        if (text) puts(text);
        free(text);
        cJSON_Delete(o);
        return text ? 0 : 1;
    }
    printf("machine: %d thread%s, %s FMA loop\n", m.threads, m.threads == 1 ? "" : "s", m.isa);
    printf("peak FP32:    %8.1f GFLOP/s\n", m.peak_gflops);
    printf("STREAM copy:  %8.1f GB/s (16 B per element; 3 arrays of %zu MiB)\n", m.stream_copy_gbs,
           m.stream_array_bytes >> 20);
    printf("STREAM triad: %8.1f GB/s (24 B per element)\n", m.stream_triad_gbs);
    printf("balance:      %8.1f FLOP/B (peak / triad): below it a kernel is memory-bound\n", actlab_machine_balance(&m));
    printf("measured in %.2f s (the best of %d FMA runs, of %d copies and of %d triads)\n", m.seconds, m.peak_runs, m.stream_runs, m.stream_runs);
    return 0;
}
