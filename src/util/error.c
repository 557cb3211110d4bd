/* error.c — see error.h. */
#include "error.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int actlab_errorf(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void actlab_format_double(char *buf, size_t len, double x) {
    snprintf(buf, len, "%.15g", x);
    if (strtod(buf, NULL) != x) snprintf(buf, len, "%.17g", x);
}
