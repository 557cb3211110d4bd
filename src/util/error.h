/* error.h — the library's one way to report an error (and to print a number exactly, and to write a file whole): a message into the
 * caller's buffer, and -1 to return. Internal; the public API passes
 * `char *err, size_t errlen` through every call that can fail. */
#ifndef ACTLAB_UTIL_ERROR_H
#define ACTLAB_UTIL_ERROR_H
#include <stddef.h>

/* snprintf into err (when err is not NULL and errlen > 0); returns -1, so that
 * callers can write `return actlab_errorf(err, errlen, "...", ...);`. */
int actlab_errorf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The shortest %g text (15 or 17 digits) that reads back as the same double, so
 * settings written out (config.json, describe functions) parse back exactly. */
void actlab_format_double(char *buf, size_t len, double x);

/* Write a whole file atomically: data goes to PATH.tmp.PID, then rename(), so a
 * reader sees the old file or the new one, never half of one. 0 on success. */
int actlab_write_atomic(const char *path, const char *data, size_t len, char *err, size_t errlen);

/* The whole of a (small, text) file, NUL-terminated, malloc'd; NULL when it is missing or
 * unreadable. */
char *actlab_read_text(const char *path);

#endif
