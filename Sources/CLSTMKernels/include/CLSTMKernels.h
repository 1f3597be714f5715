#ifndef CLSTMKERNELS_H
#define CLSTMKERNELS_H

/// Float32 kernels for the LSTM reference pass, one table per instruction set, and the step claims
/// of the unit-split recurrence. The package is compiled for baseline x86-64; each kernel is built
/// for its own instruction set and is only reachable through the table that `lstmkit_kernels`
/// returns on a CPU that runs it. Other CPUs (arm64) use LSTMReference's portable Swift kernels.

enum {
    /// AVX-512F: 12 × 32 GEMM tiles, 16-lane gate pass (requires AVX2 + FMA too: the GEMM falls
    /// back to them when its packing buffer cannot be allocated).
    LSTMKIT_ISA_AVX512 = 2,
    /// AVX2 + FMA: 6 × 16 GEMM tiles, 8-lane gate pass.
    LSTMKIT_ISA_AVX2 = 1,
};

/// One instruction set's kernels.
///
/// `sgemm`: the whole product `C (m × n) (+)= A (m × k) · Wᵀ`, A row-major with leading dimension
/// lda, C with ldc, W packed as LSTMReference's `PackedMatrix` packs it (⌈n/16⌉ panels of
/// k × 16 floats, k-major, zero-padded past row n). `accumulate` = 0 overwrites C. Nothing past
/// column n of C is touched.
///
/// `gate_units`: the default LSTM gate pass (sigmoid, tanh, tanh) for units 0..<count of `rows`
/// rows whose gate blocks are `stride` apart: unit j of row r reads the pre-activations
/// gates[r·ldg + q·stride + j] (q = i, f, g, o; PyTorch order), updates the cell state
/// c[r·ldc + j] and writes h[r·ldh + j] = o·tanh(c'). A whole row of H units is count = stride = H,
/// ldg = 4H. exp / sigmoid / tanh are Cephes-style polynomials (a few ulp; NaN stays NaN).
typedef struct lstmkit_kernel_table {
    void (*sgemm)(long m, long n, long k, const float *a, long lda, const float *packed, float *c, long ldc,
                  int accumulate);
    void (*gate_units)(long rows, long count, long stride, float *gates, long ldg, float *c, long ldc, float *h,
                       long ldh);
} lstmkit_kernel_table;

/// The kernels for `isa` (an `LSTMKIT_ISA_*` value) when this CPU and OS run them, else NULL.
const lstmkit_kernel_table *lstmkit_kernels(int isa);

/// The steps of a recurrence whose hidden units are split into `parts`, shared by threads that
/// take parts instead of owning them: each part of each step is computed exactly once, by the
/// first thread that claims it, so a thread that lost its core (another process) delays nobody
/// unless it was inside a part. Steps are numbered 0, 1, … in the order they run.
///
/// `claim` returns 1 when the caller now owns `part` of `step` (step − 1 is complete and nobody
/// claimed it yet), else 0; the owner computes it and calls `finish`. `wait` returns once every
/// part of `step` is finished (spinning briefly, then yielding the CPU); what the owners wrote
/// before `finish` is visible after it. `create` returns NULL when out of memory.
void *lstmkit_step_claims_create(long parts);
int lstmkit_step_claim(void *claims, long step, long part);
void lstmkit_step_finish(void *claims);
void lstmkit_step_wait(void *claims, long step);
void lstmkit_step_claims_destroy(void *claims);

#endif
