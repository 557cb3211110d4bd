/* catalogue_internal.h — what the catalogue's own files share, not public API. */
#ifndef ACTLAB_CATALOGUE_INTERNAL_H
#define ACTLAB_CATALOGUE_INTERNAL_H
#include "actlab/act.h"
#include "util/error.h"

/* Add a run-time entry (a user formula). The catalogue keeps the pointer: the
 * entry and everything it points to must live until the program ends. Fails
 * (non-zero, message in err) if the name or an alias is already taken. */
int act_catalogue_add(const actlab_act *a, char *err, size_t errlen);

/* snprintf into err when err is not NULL; returns -1 so callers can `return actlab_errorf(...)`. */


#endif
