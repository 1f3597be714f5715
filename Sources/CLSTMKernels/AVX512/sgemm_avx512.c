#include "CLSTMKernels.h"
#include "../kernel_table.h"

#if LSTMKIT_X86_KERNELS
#include <immintrin.h>
#include <stdlib.h>

/* C (m × n) (+)= A (m × k) · Wᵀ with AVX-512F, W in 16-wide k-major panels (one panel row = one
   zmm). Tiles are R rows (1…12) × P panels (1 or 2), accumulators in registers; A is packed k-major
   per row group (a[k·R + r]) so that each step broadcasts from one contiguous stream. A narrow last
   panel is written through a column mask (its padding in W is zero, so it is loaded whole). Rows
   1 and 2 take four panels with two accumulator chains each (a GEMV step is bound by FMA latency
   and loads, not by width). */

#define TARGET __attribute__((target("avx512f")))
#define INLINE __attribute__((always_inline)) static inline
/* The row and panel loops run a compile-time count: unrolled, their accumulators stay in registers. */
#define UNROLL _Pragma("unroll")

/* Reduction blocks of up to 1024 (C, often the fresh gate rows not in cache, is then read and
   written once for layers up to 1024 wide) and row blocks of about 120 (a packed A block of
   480 KB stays in L2): measured best of 128…1024 × 96…480 on Zen 4 for the pass's shapes. */
enum { MR = 12, BLOCK_K = 1024, BLOCK_M = 120 };

/* Each panel's stream is prefetched this many reduction steps (cache lines) ahead: the pair's two
   streams, 64·k bytes apart, are read from L3 by the first row group (+7–10% on the recurrence
   and input shapes of a 1024-wide layer alone, two threads, Zen 4; in the pass, medians of 20–40
   calls: wide 364 → 321 ms, paper 488 → 459 ms). */
enum { PREFETCH_K = 16 };

TARGET INLINE void put(float *c, __m512 v, __mmask16 mask, int add) {
    if (add) v = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, c), v);
    _mm512_mask_storeu_ps(c, mask, v);
}

/* R rows (packed k-major) × P panels (b, b + stride). */
TARGET INLINE void tile(const int R, const int P, long kc, const float *a, const float *b, long stride,
                        float *c, long ldc, __mmask16 last, int add) {
    __m512 acc0[MR], acc1[MR];
    UNROLL
    for (int r = 0; r < R; r++) { acc0[r] = _mm512_setzero_ps(); acc1[r] = _mm512_setzero_ps(); }
    const float *b1 = b + stride;
    for (long k = 0; k < kc; k++, a += R, b += 16, b1 += 16) {
        _mm_prefetch((const char *)(b + PREFETCH_K * 16), _MM_HINT_T0);
        if (P == 2) _mm_prefetch((const char *)(b1 + PREFETCH_K * 16), _MM_HINT_T0);
        __m512 x0 = _mm512_loadu_ps(b), x1 = P == 2 ? _mm512_loadu_ps(b1) : x0;
        UNROLL
        for (int r = 0; r < R; r++) {
            __m512 s = _mm512_set1_ps(a[r]);
            acc0[r] = _mm512_fmadd_ps(s, x0, acc0[r]);
            if (P == 2) acc1[r] = _mm512_fmadd_ps(s, x1, acc1[r]);
        }
    }
    UNROLL
    for (int r = 0; r < R; r++) {
        put(c + r * ldc, acc0[r], P == 2 ? (__mmask16)0xFFFF : last, add);
        if (P == 2) put(c + r * ldc + 16, acc1[r], last, add);
    }
}

/* R (1 or 2) rows, A row-major (lda), × Q panels (1…4) with even and odd k in separate chains. */
TARGET INLINE void thin(const int R, const int Q, long kc, const float *a, long lda, const float *b, long stride,
                        float *c, long ldc, __mmask16 last, int add) {
    __m512 e[2][4], o[2][4];
    UNROLL
    for (int r = 0; r < R; r++) for (int q = 0; q < Q; q++) { e[r][q] = _mm512_setzero_ps(); o[r][q] = _mm512_setzero_ps(); }
    long k = 0;
    for (; k + 2 <= kc; k += 2) {
        UNROLL
        for (int r = 0; r < R; r++) {
            __m512 s = _mm512_set1_ps(a[r * lda + k]), t = _mm512_set1_ps(a[r * lda + k + 1]);
            UNROLL
            for (int q = 0; q < Q; q++) {
                e[r][q] = _mm512_fmadd_ps(s, _mm512_loadu_ps(b + q * stride + k * 16), e[r][q]);
                o[r][q] = _mm512_fmadd_ps(t, _mm512_loadu_ps(b + q * stride + k * 16 + 16), o[r][q]);
            }
        }
    }
    if (k < kc)
        UNROLL
        for (int r = 0; r < R; r++) {
            __m512 s = _mm512_set1_ps(a[r * lda + k]);
            UNROLL
            for (int q = 0; q < Q; q++) e[r][q] = _mm512_fmadd_ps(s, _mm512_loadu_ps(b + q * stride + k * 16), e[r][q]);
        }
    UNROLL
    for (int r = 0; r < R; r++)
        UNROLL
        for (int q = 0; q < Q; q++)
            put(c + r * ldc + q * 16, _mm512_add_ps(e[r][q], o[r][q]), q == Q - 1 ? last : (__mmask16)0xFFFF, add);
}

#define ROWS_CASES(P) \
    case 1: tile(1, P, kc, a, b, stride, c, ldc, last, add); break; \
    case 2: tile(2, P, kc, a, b, stride, c, ldc, last, add); break; \
    case 3: tile(3, P, kc, a, b, stride, c, ldc, last, add); break; \
    case 4: tile(4, P, kc, a, b, stride, c, ldc, last, add); break; \
    case 5: tile(5, P, kc, a, b, stride, c, ldc, last, add); break; \
    case 6: tile(6, P, kc, a, b, stride, c, ldc, last, add); break; \
    case 7: tile(7, P, kc, a, b, stride, c, ldc, last, add); break; \
    case 8: tile(8, P, kc, a, b, stride, c, ldc, last, add); break; \
    case 9: tile(9, P, kc, a, b, stride, c, ldc, last, add); break; \
    case 10: tile(10, P, kc, a, b, stride, c, ldc, last, add); break; \
    case 11: tile(11, P, kc, a, b, stride, c, ldc, last, add); break; \
    default: tile(12, P, kc, a, b, stride, c, ldc, last, add); break;

TARGET static void tile_rows(long rows, int panels, long kc, const float *a, const float *b, long stride,
                             float *c, long ldc, __mmask16 last, int add) {
    if (panels == 2) { switch (rows) { ROWS_CASES(2) } }
    else { switch (rows) { ROWS_CASES(1) } }
}

TARGET static void thin_rows(long rows, int panels, long kc, const float *a, long lda, const float *b, long stride,
                             float *c, long ldc, __mmask16 last, int add) {
    switch (rows * 4 + panels) {
    case 5: thin(1, 1, kc, a, lda, b, stride, c, ldc, last, add); break;
    case 6: thin(1, 2, kc, a, lda, b, stride, c, ldc, last, add); break;
    case 7: thin(1, 3, kc, a, lda, b, stride, c, ldc, last, add); break;
    case 8: thin(1, 4, kc, a, lda, b, stride, c, ldc, last, add); break;
    case 9: thin(2, 1, kc, a, lda, b, stride, c, ldc, last, add); break;
    case 10: thin(2, 2, kc, a, lda, b, stride, c, ldc, last, add); break;
    case 11: thin(2, 3, kc, a, lda, b, stride, c, ldc, last, add); break;
    default: thin(2, 4, kc, a, lda, b, stride, c, ldc, last, add); break;
    }
}

static void zero_rows(long m, long n, float *c, long ldc) {
    for (long r = 0; r < m; r++) for (long j = 0; j < n; j++) c[r * ldc + j] = 0;
}

TARGET void lstmkit_sgemm_avx512(long m, long n, long k, const float *a, long lda, const float *packed, float *c,
                                 long ldc, int accumulate) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) { if (!accumulate) zero_rows(m, n, c, ldc); return; }
    long panels = (n + 15) / 16, stride = k * 16;
    __mmask16 last = (__mmask16)(0xFFFFu >> (16 * panels - n));
    if (m <= 2) {
        for (long k0 = 0; k0 < k; k0 += BLOCK_K) {
            long kc = k - k0 < BLOCK_K ? k - k0 : BLOCK_K;
            int add = accumulate || k0 > 0;
            for (long p = 0; p < panels; p += 4) {
                int q = panels - p < 4 ? (int)(panels - p) : 4;
                thin_rows(m, q, kc, a + k0, lda, packed + p * stride + k0 * 16, stride, c + p * 16, ldc,
                          p + q == panels ? last : (__mmask16)0xFFFF, add);
            }
        }
        return;
    }
    /* Row blocks of equal size (a multiple of MR, at most about BLOCK_M), packed once per block. */
    long blocks = (m + BLOCK_M - 1) / BLOCK_M;
    long blockM = ((m + blocks - 1) / blocks + MR - 1) / MR * MR;
    long packK = k < BLOCK_K ? k : BLOCK_K;
    long packM = m < blockM ? m : blockM;
    float *apack = aligned_alloc(64, (size_t)((packM * packK * 4 + 63) / 64 * 64));
    if (!apack) { lstmkit_sgemm_avx2(m, n, k, a, lda, packed, c, ldc, accumulate); return; }
    for (long k0 = 0; k0 < k; k0 += BLOCK_K) {
        long kc = k - k0 < BLOCK_K ? k - k0 : BLOCK_K;
        int add = accumulate || k0 > 0;
        for (long m0 = 0; m0 < m; m0 += blockM) {
            long mc = m - m0 < blockM ? m - m0 : blockM;
            const float *ab = a + m0 * lda + k0;
            for (long s = 0; s < mc; s += MR) {
                long rows = mc - s < MR ? mc - s : MR;
                float *dst = apack + s * kc;
                for (long kk = 0; kk < kc; kk++)
                    for (long r = 0; r < rows; r++) dst[kk * rows + r] = ab[(s + r) * lda + kk];
            }
            for (long p = 0; p < panels; p += 2) {
                int pair = p + 1 < panels ? 2 : 1;
                __mmask16 mask = p + pair == panels ? last : (__mmask16)0xFFFF;
                const float *bp = packed + p * stride + k0 * 16;
                for (long s = 0; s < mc; s += MR) {
                    long rows = mc - s < MR ? mc - s : MR;
                    tile_rows(rows, pair, kc, apack + s * kc, bp, stride, c + (m0 + s) * ldc + p * 16, ldc, mask, add);
                }
            }
        }
    }
    free(apack);
}

#endif
