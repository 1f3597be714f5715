#ifndef CLSTMKERNELS_H
#define CLSTMKERNELS_H

/// Float32 GEMM tiles for the LSTM reference pass, written with AVX2 + FMA intrinsics and
/// selected at run time (the rest of the package is compiled for baseline x86-64).
///
/// A tile is `C[r][j] (+)= sum_k A[r][k] * B[k][j]` for r < rows (1, 2, 4 or 6), j < 16, k < kc:
/// A row-major with leading dimension lda, B a packed 16-wide panel (16 floats per k, contiguous),
/// C row-major with leading dimension ldc. `add` = 0 overwrites C.

/// 1 when this CPU runs the AVX2 + FMA kernels (x86-64 with both features), else 0.
int lstmkit_sgemm_tile_available(void);

/// One tile; only call when `lstmkit_sgemm_tile_available()` returned 1.
void lstmkit_sgemm_tile(long rows, long kc, const float *a, long lda, const float *b, float *c, long ldc, int add);

#endif
