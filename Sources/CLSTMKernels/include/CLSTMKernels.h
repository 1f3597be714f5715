#ifndef CLSTMKERNELS_H
#define CLSTMKERNELS_H

/// Float32 kernels for the LSTM reference pass (GEMM tiles, the whole GEMM, the fused gate pass),
/// written with AVX2 + FMA intrinsics and selected at run time (the rest of the package is compiled
/// for baseline x86-64). On other CPUs the Swift kernels of LSTMReference run instead.
///
/// A tile is `C[r][j] (+)= sum_k A[r][k] * B[k][j]` for r < rows (1, 2, 4 or 6), j < 16, k < kc:
/// A row-major with leading dimension lda, B a packed 16-wide panel (16 floats per k, contiguous),
/// C row-major with leading dimension ldc. `add` = 0 overwrites C.

/// 1 when this CPU runs the AVX2 + FMA kernels (x86-64 with both features), else 0.
int lstmkit_sgemm_tile_available(void);

/// One tile; only call when `lstmkit_sgemm_tile_available()` returned 1.
void lstmkit_sgemm_tile(long rows, long kc, const float *a, long lda, const float *b, float *c, long ldc, int add);

/// The whole product `C (m × n) (+)= A (m × k) · Wᵀ`, W packed as ``PackedMatrix`` packs it
/// (⌈n/16⌉ panels of k × 16 floats, zero-padded): blocks of 256 reduction steps and 240 rows; rows
/// in groups of six are copied into a k-major buffer for the 6 × 16 tile, the rest use the 4-, 2-
/// and 1-row tiles. `accumulate` = 0 overwrites C. Only call when the tiles are available.
void lstmkit_sgemm(long m, long n, long k, const float *a, long lda, const float *packed, float *c, long ldc, int accumulate);

/// The default LSTM gate pass (sigmoid, tanh, tanh), eight lanes at a time, for units 0..<count of
/// `rows` rows whose gate blocks are `stride` apart: unit j of row r reads the pre-activations
/// gates[r·ldg + q·stride + j] (q = i, f, g, o; PyTorch order), updates the cell state
/// c[r·ldc + j] and writes h[r·ldh + j] = o·tanh(c'). A whole row of H units is count = stride = H,
/// ldg = 4H. exp / sigmoid / tanh are Cephes-style polynomials (a few ulp; NaN stays NaN).
/// Only call when `lstmkit_sgemm_tile_available()` returned 1.
void lstmkit_lstm_gate_units(long rows, long count, long stride, float *gates, long ldg, float *c, long ldc,
                             float *h, long ldh);

/// A reusable barrier for `count` threads: each `wait` returns once all `count` threads have
/// called it (spinning briefly, then yielding the CPU). Returns NULL when out of memory.
///
/// A thread whose wait lasts longer than `patience_ns` (its partner lost its core to another
/// process) marks the barrier late. Each round's `wait` returns the same value to every thread:
/// 1 once a thread was late (in this round, if it was marked before the last thread arrived, else
/// in the next), so that all stop sharing work at the same step; `lstmkit_barrier_stopped` then
/// stays 1.
void *lstmkit_barrier_create(long count);
int lstmkit_barrier_wait(void *barrier, long patience_ns);
int lstmkit_barrier_stopped(void *barrier);
void lstmkit_barrier_destroy(void *barrier);

#endif
