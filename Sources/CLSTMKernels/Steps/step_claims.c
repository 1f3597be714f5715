#include "CLSTMKernels.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

struct lstmkit_step_claims {
    long parts;
    /* Parts finished over all steps: step s is complete once it reaches (s + 1) · parts. */
    _Atomic long done;
    /* The last step each part was claimed for (−1 before step 0). */
    _Atomic long claims[];
};

void *lstmkit_step_claims_create(long parts) {
    if (parts < 1) return NULL;
    struct lstmkit_step_claims *c = malloc(sizeof *c + (size_t)parts * sizeof(_Atomic long));
    if (!c) return NULL;
    c->parts = parts;
    atomic_init(&c->done, 0);
    for (long p = 0; p < parts; p++) atomic_init(&c->claims[p], -1);
    return c;
}

void lstmkit_step_claims_destroy(void *claims) { free(claims); }

int lstmkit_step_claim(void *claims, long step, long part) {
    struct lstmkit_step_claims *c = claims;
    long expected = step - 1;
    return atomic_compare_exchange_strong_explicit(&c->claims[part], &expected, step, memory_order_acq_rel,
                                                   memory_order_relaxed);
}

void lstmkit_step_finish(void *claims) {
    atomic_fetch_add_explicit(&((struct lstmkit_step_claims *)claims)->done, 1, memory_order_release);
}

void lstmkit_step_wait(void *claims, long step) {
    struct lstmkit_step_claims *c = claims;
    long target = (step + 1) * c->parts;
    for (long spins = 0; atomic_load_explicit(&c->done, memory_order_acquire) < target; spins++)
        if (spins >= 2000) sched_yield();
}
