/* buffer_plan.c — offsets in one arena for buffers with known lifetimes (buffer_plan.h). */
#define _DEFAULT_SOURCE /* madvise */
#include "buffer_plan.h"

#include <stdlib.h>
#include <sys/mman.h>

static int64_t aligned(int64_t n) { return (n + NN_ARENA_ALIGN - 1) / NN_ARENA_ALIGN * NN_ARENA_ALIGN; }

static int overlap_in_time(const nn_buffer_request *a, const nn_buffer_request *b) {
    return a->first <= b->last && b->first <= a->last;
}

int64_t nn_plan_offsets(nn_buffer_request *req, int n) {
    int *order = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    int *placed = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    if (!order || !placed) {
        free(order);
        free(placed);
        return -1;
    }
    for (int i = 0; i < n; i++) order[i] = i, req[i].offset = 0;
    /* largest first (insertion sort: a net has tens to hundreds of buffers); ties keep model order */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && req[order[j]].floats > req[order[j - 1]].floats; j--) {
            int t = order[j];
            order[j] = order[j - 1], order[j - 1] = t;
        }
    int64_t total = 0;
    int nplaced = 0;
    for (int k = 0; k < n; k++) {
        nn_buffer_request *r = &req[order[k]];
        if (r->floats <= 0) continue;
        int64_t size = aligned(r->floats), at = 0;
        /* the lowest offset that clears every placed buffer alive at the same time: try 0 and
         * the end of each such buffer, keep the smallest that fits */
        int64_t best = -1;
        for (int c = -1; c < nplaced; c++) {
            const nn_buffer_request *p = c < 0 ? NULL : &req[placed[c]];
            if (p && !overlap_in_time(p, r)) continue;
            at = p ? p->offset + aligned(p->floats) : 0;
            if (best >= 0 && at >= best) continue;
            int fits = 1;
            for (int d = 0; d < nplaced && fits; d++) {
                const nn_buffer_request *q = &req[placed[d]];
                fits = !overlap_in_time(q, r) || at + size <= q->offset || q->offset + aligned(q->floats) <= at;
            }
            if (fits) best = at;
        }
        r->offset = best;
        placed[nplaced++] = order[k];
        if (best + size > total) total = best + size;
    }
    free(order);
    free(placed);
    return total;
}

float *nn_arena_alloc(int64_t n) {
    size_t bytes = sizeof(float) * (size_t)(n > 0 ? n : 1), huge = (size_t)2 << 20;
    void *p = NULL;
    if (posix_memalign(&p, bytes >= huge ? huge : 4096, bytes)) return NULL;
#ifdef MADV_HUGEPAGE
    if (bytes >= huge) (void)madvise(p, bytes / huge * huge, MADV_HUGEPAGE); /* a hint: fine if refused */
#endif
    return p;
}
