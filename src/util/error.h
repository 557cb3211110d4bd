/* error.h — the library's one way to report an error: a message into the
 * caller's buffer, and -1 to return. Internal; the public API passes
 * `char *err, size_t errlen` through every call that can fail. */
#ifndef ACTLAB_UTIL_ERROR_H
#define ACTLAB_UTIL_ERROR_H
#include <stddef.h>

/* snprintf into err (when err is not NULL and errlen > 0); returns -1, so that
 * callers can write `return actlab_errorf(err, errlen, "...", ...);`. */
int actlab_errorf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
