/*
 * buffer_plan.h — one arena for buffers whose lifetimes are known in advance.
 *
 * The network knows, once the model is read, when each of its gradient
 * buffers is first written and last read during a backward pass. Buffers
 * whose lifetimes do not overlap can share memory: nn_plan_offsets places
 * every request at an offset in one arena (greedy by size: the largest first,
 * each at the lowest offset free for its whole lifetime), so the arena is
 * sized once, nothing is allocated inside a step, and ResNet-18's seventy
 * gradient tensors fit in a handful of slots.
 */
#ifndef ACTLAB_NN_BUFFER_PLAN_H
#define ACTLAB_NN_BUFFER_PLAN_H
#include <stdint.h>

typedef struct nn_buffer_request {
    int64_t floats;  /* size; 0: needs no memory */
    int first, last; /* live from time `first` to `last`, inclusive */
    int64_t offset;  /* out: in floats from the arena's start */
} nn_buffer_request;

/* Offsets (aligned to NN_ARENA_ALIGN floats) for n requests; returns the arena's size in
 * floats, or -1 when out of memory. Requests whose lifetimes overlap never share memory. */
int64_t nn_plan_offsets(nn_buffer_request *req, int n);

#define NN_ARENA_ALIGN 1024 /* floats: 4 KiB, a page */

/* An arena of n floats, page-aligned, backed by transparent huge pages where the system
 * gives them on request (a 4 KiB page fault costs ~10 us on the VMs this runs on, and the
 * convolutions read these buffers with large strides). Free with free(). NULL: no memory. */
float *nn_arena_alloc(int64_t n);

#endif
