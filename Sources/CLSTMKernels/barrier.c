#include "CLSTMKernels.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

struct lstmkit_barrier {
    _Atomic long arrived;
    _Atomic long generation;
    long count;
};

void *lstmkit_barrier_create(long count) {
    struct lstmkit_barrier *b = malloc(sizeof *b);
    if (!b) return NULL;
    atomic_init(&b->arrived, 0);
    atomic_init(&b->generation, 0);
    b->count = count;
    return b;
}

void lstmkit_barrier_destroy(void *barrier) { free(barrier); }

void lstmkit_barrier_wait(void *barrier) {
    struct lstmkit_barrier *b = barrier;
    long gen = atomic_load_explicit(&b->generation, memory_order_acquire);
    if (atomic_fetch_add_explicit(&b->arrived, 1, memory_order_acq_rel) + 1 == b->count) {
        atomic_store_explicit(&b->arrived, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(&b->generation, 1, memory_order_release);
        return;
    }
    for (long spins = 0; atomic_load_explicit(&b->generation, memory_order_acquire) == gen; spins++) {
        if (spins > 2000) sched_yield();
    }
}
