/* data_internal.h — what the data readers share, not public API. */
#ifndef ACTLAB_DATA_INTERNAL_H
#define ACTLAB_DATA_INTERNAL_H
#include <stddef.h>

/* malloc for large arrays, on transparent huge pages where the system allows it
 * (fewer page faults while filling them); free() releases it. */
void *data_alloc_big(size_t bytes);

#endif
