#include "CLSTMKernels.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

struct lstmkit_barrier {
    _Atomic long arrived;
    _Atomic long generation;
    /* Set by a thread whose wait outlasted its patience; read by the last arrival of each round. */
    _Atomic int late;
    /* The round's answer, written by its last arrival before it releases the others. */
    _Atomic int stop;
    long count;
};

static long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

void *lstmkit_barrier_create(long count) {
    struct lstmkit_barrier *b = malloc(sizeof *b);
    if (!b) return NULL;
    atomic_init(&b->arrived, 0);
    atomic_init(&b->generation, 0);
    atomic_init(&b->late, 0);
    atomic_init(&b->stop, 0);
    b->count = count;
    return b;
}

void lstmkit_barrier_destroy(void *barrier) { free(barrier); }

int lstmkit_barrier_wait(void *barrier, long patience_ns) {
    struct lstmkit_barrier *b = barrier;
    long gen = atomic_load_explicit(&b->generation, memory_order_acquire);
    if (atomic_fetch_add_explicit(&b->arrived, 1, memory_order_acq_rel) + 1 == b->count) {
        atomic_store_explicit(&b->arrived, 0, memory_order_relaxed);
        int stop = atomic_load_explicit(&b->late, memory_order_relaxed);
        atomic_store_explicit(&b->stop, stop, memory_order_relaxed);
        atomic_fetch_add_explicit(&b->generation, 1, memory_order_release);
        return stop;
    }
    long start = 0;
    for (long spins = 0; atomic_load_explicit(&b->generation, memory_order_acquire) == gen; spins++) {
        if (spins < 2000) continue;
        if (start == 0) start = now_ns();
        else if (now_ns() - start > patience_ns) atomic_store_explicit(&b->late, 1, memory_order_relaxed);
        sched_yield();
    }
    return atomic_load_explicit(&b->stop, memory_order_relaxed);
}

int lstmkit_barrier_stopped(void *barrier) {
    return atomic_load_explicit(&((struct lstmkit_barrier *)barrier)->late, memory_order_acquire);
}
