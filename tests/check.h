/*
 * check.h — the few macros the C tests share. A test program counts its
 * checks, prints each failure with the values involved, and ends with
 * "NAME: N passed, M failed"; it exits non-zero when anything failed.
 */
#ifndef ACTLAB_CHECK_H
#define ACTLAB_CHECK_H
#include <math.h>
#include <stdio.h>

static int check_passed, check_failed;

#define CHECK(cond, ...)                                             \
    do {                                                             \
        if (cond) check_passed++;                                    \
        else {                                                       \
            check_failed++;                                          \
            if (check_failed <= 60) {                                \
                fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
                fprintf(stderr, __VA_ARGS__);                        \
                fputc('\n', stderr);                                 \
            }                                                        \
        }                                                            \
    } while (0)

/* |got - want| <= rtol |want| + atol; NaN equals NaN; equal infinities are equal. */
static inline int check_close(double got, double want, double rtol, double atol) {
    if (isnan(want)) return isnan(got);
    if (isinf(want)) return got == want;
    return fabs(got - want) <= rtol * fabs(want) + atol;
}

static inline int check_summary(const char *name) {
    printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
    return check_failed ? 1 : 0;
}
#endif
