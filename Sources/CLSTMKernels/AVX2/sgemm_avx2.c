#include "CLSTMKernels.h"
#include "../kernel_table.h"

#if LSTMKIT_X86_KERNELS

/* C (m × n) (+)= A (m × k) · Wᵀ with AVX2 + FMA, W in 16-wide k-major panels: 6 × 16 tiles over
   rows of A packed k-major, 4-, 2- and 1-row tiles for the rest, a 1 × 32 tile for a GEMV step. */
#include <immintrin.h>
#include <stdlib.h>

#define KERNEL_TARGET __attribute__((target("avx2,fma")))

KERNEL_TARGET static inline void put(float *c, __m256 v, int add) {
    if (add) v = _mm256_add_ps(_mm256_loadu_ps(c), v);
    _mm256_storeu_ps(c, v);
}

KERNEL_TARGET static void tile6(long kc, const float *a, long lda, const float *b, float *c, long ldc, int add) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda, *a4 = a + 4 * lda, *a5 = a + 5 * lda;
    for (long k = 0; k < kc; k++, b += 16) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8), s;
        s = _mm256_broadcast_ss(a0 + k); c00 = _mm256_fmadd_ps(s, b0, c00); c01 = _mm256_fmadd_ps(s, b1, c01);
        s = _mm256_broadcast_ss(a1 + k); c10 = _mm256_fmadd_ps(s, b0, c10); c11 = _mm256_fmadd_ps(s, b1, c11);
        s = _mm256_broadcast_ss(a2 + k); c20 = _mm256_fmadd_ps(s, b0, c20); c21 = _mm256_fmadd_ps(s, b1, c21);
        s = _mm256_broadcast_ss(a3 + k); c30 = _mm256_fmadd_ps(s, b0, c30); c31 = _mm256_fmadd_ps(s, b1, c31);
        s = _mm256_broadcast_ss(a4 + k); c40 = _mm256_fmadd_ps(s, b0, c40); c41 = _mm256_fmadd_ps(s, b1, c41);
        s = _mm256_broadcast_ss(a5 + k); c50 = _mm256_fmadd_ps(s, b0, c50); c51 = _mm256_fmadd_ps(s, b1, c51);
    }
    put(c, c00, add); put(c + 8, c01, add); c += ldc;
    put(c, c10, add); put(c + 8, c11, add); c += ldc;
    put(c, c20, add); put(c + 8, c21, add); c += ldc;
    put(c, c30, add); put(c + 8, c31, add); c += ldc;
    put(c, c40, add); put(c + 8, c41, add); c += ldc;
    put(c, c50, add); put(c + 8, c51, add);
}

KERNEL_TARGET static void tile4(long kc, const float *a, long lda, const float *b, float *c, long ldc, int add) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda;
    for (long k = 0; k < kc; k++, b += 16) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8), s;
        s = _mm256_broadcast_ss(a0 + k); c00 = _mm256_fmadd_ps(s, b0, c00); c01 = _mm256_fmadd_ps(s, b1, c01);
        s = _mm256_broadcast_ss(a1 + k); c10 = _mm256_fmadd_ps(s, b0, c10); c11 = _mm256_fmadd_ps(s, b1, c11);
        s = _mm256_broadcast_ss(a2 + k); c20 = _mm256_fmadd_ps(s, b0, c20); c21 = _mm256_fmadd_ps(s, b1, c21);
        s = _mm256_broadcast_ss(a3 + k); c30 = _mm256_fmadd_ps(s, b0, c30); c31 = _mm256_fmadd_ps(s, b1, c31);
    }
    put(c, c00, add); put(c + 8, c01, add); c += ldc;
    put(c, c10, add); put(c + 8, c11, add); c += ldc;
    put(c, c20, add); put(c + 8, c21, add); c += ldc;
    put(c, c30, add); put(c + 8, c31, add);
}

KERNEL_TARGET static void tile2(long kc, const float *a, long lda, const float *b, float *c, long ldc, int add) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 d00 = _mm256_setzero_ps(), d01 = _mm256_setzero_ps(), d10 = _mm256_setzero_ps(), d11 = _mm256_setzero_ps();
    const float *a0 = a, *a1 = a + lda;
    long k = 0;
    for (; k + 2 <= kc; k += 2, b += 32) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8), e0 = _mm256_loadu_ps(b + 16), e1 = _mm256_loadu_ps(b + 24), s;
        s = _mm256_broadcast_ss(a0 + k); c00 = _mm256_fmadd_ps(s, b0, c00); c01 = _mm256_fmadd_ps(s, b1, c01);
        s = _mm256_broadcast_ss(a1 + k); c10 = _mm256_fmadd_ps(s, b0, c10); c11 = _mm256_fmadd_ps(s, b1, c11);
        s = _mm256_broadcast_ss(a0 + k + 1); d00 = _mm256_fmadd_ps(s, e0, d00); d01 = _mm256_fmadd_ps(s, e1, d01);
        s = _mm256_broadcast_ss(a1 + k + 1); d10 = _mm256_fmadd_ps(s, e0, d10); d11 = _mm256_fmadd_ps(s, e1, d11);
    }
    if (k < kc) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8), s;
        s = _mm256_broadcast_ss(a0 + k); c00 = _mm256_fmadd_ps(s, b0, c00); c01 = _mm256_fmadd_ps(s, b1, c01);
        s = _mm256_broadcast_ss(a1 + k); c10 = _mm256_fmadd_ps(s, b0, c10); c11 = _mm256_fmadd_ps(s, b1, c11);
    }
    put(c, _mm256_add_ps(c00, d00), add); put(c + 8, _mm256_add_ps(c01, d01), add); c += ldc;
    put(c, _mm256_add_ps(c10, d10), add); put(c + 8, _mm256_add_ps(c11, d11), add);
}

/* One row; two accumulator chains (even and odd k), summed as tile1x2 sums them, so that a row's
   values do not depend on whether its panel was paired. */
KERNEL_TARGET static void tile1(long kc, const float *a, const float *b, float *c, int add) {
    __m256 p0 = _mm256_setzero_ps(), p1 = _mm256_setzero_ps(), r0 = _mm256_setzero_ps(), r1 = _mm256_setzero_ps();
    long k = 0;
    for (; k + 2 <= kc; k += 2, b += 32) {
        __m256 x = _mm256_broadcast_ss(a + k), y = _mm256_broadcast_ss(a + k + 1);
        p0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b), p0); p1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b + 8), p1);
        r0 = _mm256_fmadd_ps(y, _mm256_loadu_ps(b + 16), r0); r1 = _mm256_fmadd_ps(y, _mm256_loadu_ps(b + 24), r1);
    }
    if (k < kc) {
        __m256 x = _mm256_broadcast_ss(a + k);
        p0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b), p0); p1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b + 8), p1);
    }
    put(c, _mm256_add_ps(p0, r0), add); put(c + 8, _mm256_add_ps(p1, r1), add);
}

/* One row against two adjacent panels (b and b + stride): each A value is broadcast once for 32
   columns, which is what a batch-1 step (a GEMV, bound by loads) saves. */
KERNEL_TARGET static void tile1x2(long kc, const float *a, const float *b, long stride, float *c, int add) {
    __m256 p0 = _mm256_setzero_ps(), p1 = _mm256_setzero_ps(), q0 = _mm256_setzero_ps(), q1 = _mm256_setzero_ps();
    __m256 r0 = _mm256_setzero_ps(), r1 = _mm256_setzero_ps(), s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    const float *b2 = b + stride;
    long k = 0;
    for (; k + 2 <= kc; k += 2, b += 32, b2 += 32) {
        __m256 x = _mm256_broadcast_ss(a + k), y = _mm256_broadcast_ss(a + k + 1);
        p0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b), p0); p1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b + 8), p1);
        q0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b2), q0); q1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b2 + 8), q1);
        r0 = _mm256_fmadd_ps(y, _mm256_loadu_ps(b + 16), r0); r1 = _mm256_fmadd_ps(y, _mm256_loadu_ps(b + 24), r1);
        s0 = _mm256_fmadd_ps(y, _mm256_loadu_ps(b2 + 16), s0); s1 = _mm256_fmadd_ps(y, _mm256_loadu_ps(b2 + 24), s1);
    }
    if (k < kc) {
        __m256 x = _mm256_broadcast_ss(a + k);
        p0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b), p0); p1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b + 8), p1);
        q0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b2), q0); q1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b2 + 8), q1);
    }
    put(c, _mm256_add_ps(p0, r0), add); put(c + 8, _mm256_add_ps(p1, r1), add);
    put(c + 16, _mm256_add_ps(q0, s0), add); put(c + 24, _mm256_add_ps(q1, s1), add);
}

/* Six rows of A packed k-major (a[6k + r]): one contiguous stream of broadcasts. */
KERNEL_TARGET static void tile6_packed(long kc, const float *a, const float *b, float *c, long ldc, int add, const float *pf) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
#define STEP(off, boff) do { \
        __m256 b0 = _mm256_loadu_ps(b + (boff)), b1 = _mm256_loadu_ps(b + (boff) + 8), s; \
        s = _mm256_broadcast_ss(a + (off)); c00 = _mm256_fmadd_ps(s, b0, c00); c01 = _mm256_fmadd_ps(s, b1, c01); \
        s = _mm256_broadcast_ss(a + (off) + 1); c10 = _mm256_fmadd_ps(s, b0, c10); c11 = _mm256_fmadd_ps(s, b1, c11); \
        s = _mm256_broadcast_ss(a + (off) + 2); c20 = _mm256_fmadd_ps(s, b0, c20); c21 = _mm256_fmadd_ps(s, b1, c21); \
        s = _mm256_broadcast_ss(a + (off) + 3); c30 = _mm256_fmadd_ps(s, b0, c30); c31 = _mm256_fmadd_ps(s, b1, c31); \
        s = _mm256_broadcast_ss(a + (off) + 4); c40 = _mm256_fmadd_ps(s, b0, c40); c41 = _mm256_fmadd_ps(s, b1, c41); \
        s = _mm256_broadcast_ss(a + (off) + 5); c50 = _mm256_fmadd_ps(s, b0, c50); c51 = _mm256_fmadd_ps(s, b1, c51); \
    } while (0)
    long k = 0;
    if (pf) {
        for (; k + 4 <= kc; k += 4, a += 24, b += 64, pf += 64) {
            _mm_prefetch((const char *)pf, _MM_HINT_T0); _mm_prefetch((const char *)(pf + 16), _MM_HINT_T0);
            _mm_prefetch((const char *)(pf + 32), _MM_HINT_T0); _mm_prefetch((const char *)(pf + 48), _MM_HINT_T0);
            STEP(0, 0); STEP(6, 16); STEP(12, 32); STEP(18, 48);
        }
    }
    for (; k + 4 <= kc; k += 4, a += 24, b += 64) {
        STEP(0, 0); STEP(6, 16); STEP(12, 32); STEP(18, 48);
    }
    for (; k < kc; k++, a += 6, b += 16) STEP(0, 0);
#undef STEP
    put(c, c00, add); put(c + 8, c01, add); c += ldc;
    put(c, c10, add); put(c + 8, c11, add); c += ldc;
    put(c, c20, add); put(c + 8, c21, add); c += ldc;
    put(c, c30, add); put(c + 8, c31, add); c += ldc;
    put(c, c40, add); put(c + 8, c41, add); c += ldc;
    put(c, c50, add); put(c + 8, c51, add);
}

KERNEL_TARGET static void sgemm_tile(long rows, long kc, const float *a, long lda, const float *b, float *c, long ldc, int add);

enum { BLOCK_K = 256, BLOCK_M = 240, SHORT_M = 48, SHORT_BLOCK_K = 1024 };

KERNEL_TARGET static void edge(long rows, long cols, long kc, const float *a, long lda, const float *b, float *c, long ldc, int add) {
    float tmp[6 * 16];
    sgemm_tile(rows, kc, a, lda, b, tmp, 16, 0);
    for (long r = 0; r < rows; r++)
        for (long j = 0; j < cols; j++) c[r * ldc + j] = add ? c[r * ldc + j] + tmp[r * 16 + j] : tmp[r * 16 + j];
}

KERNEL_TARGET void lstmkit_sgemm_avx2(long m, long n, long k, const float *a, long lda, const float *packed, float *c, long ldc, int accumulate) {
    if (m <= 0 || n <= 0) return;
    long panels = (n + 15) / 16;
    if (k <= 0) {
        if (!accumulate) for (long r = 0; r < m; r++) for (long j = 0; j < n; j++) c[r * ldc + j] = 0;
        return;
    }
    /* Row blocks of equal size (a multiple of 6, at most about BLOCK_M): a short last block would
       stream all of B for a few rows. */
    long blocks = (m + BLOCK_M - 1) / BLOCK_M;
    long blockM = ((m + blocks - 1) / blocks + 5) / 6 * 6;
    long packRows = (m < blockM ? m : blockM) / 6 * 6;
    /* A short A (a recurrent step's few batch rows) takes the reduction in blocks of up to 1024, so
       that each C tile is read and written once or twice rather than once per 256 (C is then often
       the step's fresh gate rows, not in cache), while the panel slice it streams is reused by
       the other row tiles from L2. A tall A keeps 256-deep blocks whose panel slice stays in L1. */
    long blockK = m <= SHORT_M ? SHORT_BLOCK_K : BLOCK_K;
    long packK = k < blockK ? k : blockK;
    if (m == 1) {
        /* One row: full panels in pairs (tile1x2), then the rest. */
        for (long k0 = 0; k0 < k; k0 += blockK) {
            long kc = k - k0 < blockK ? k - k0 : blockK;
            int add = accumulate || k0 > 0;
            long p = 0;
            for (; p + 2 <= n / 16; p += 2) tile1x2(kc, a + k0, packed + p * k * 16 + k0 * 16, k * 16, c + p * 16, add);
            for (; p < panels; p++) {
                long cols = n - p * 16 < 16 ? n - p * 16 : 16;
                const float *bp = packed + p * k * 16 + k0 * 16;
                if (cols == 16) tile1(kc, a + k0, bp, c + p * 16, add);
                else edge(1, cols, kc, a + k0, lda, bp, c + p * 16, ldc, add);
            }
        }
        return;
    }
    float *apack = packRows > 0 ? aligned_alloc(64, (size_t)((packRows * packK * 4 + 63) / 64 * 64)) : NULL;
    if (packRows > 0 && !apack) packRows = 0;
    for (long k0 = 0; k0 < k; k0 += blockK) {
        long kc = k - k0 < blockK ? k - k0 : blockK;
        int add = accumulate || k0 > 0;
        for (long m0 = 0; m0 < m; m0 += blockM) {
            long mc = m - m0 < blockM ? m - m0 : blockM;
            long full = packRows > 0 ? mc / 6 * 6 : 0;
            const float *ab = a + m0 * lda + k0;
            for (long s = 0; s < full; s += 6)
                for (long kk = 0; kk < kc; kk++)
                    for (long r = 0; r < 6; r++) apack[s * kc + kk * 6 + r] = ab[(s + r) * lda + kk];
            for (long p = 0; p < panels; p++) {
                const float *bp = packed + p * k * 16 + k0 * 16;
                long cols = n - p * 16 < 16 ? n - p * 16 : 16;
                float *cp = c + m0 * ldc + p * 16;
                for (long s = 0; s < full; s += 6) {
                    /* The first tile of a panel prefetches the next panel's slice (k-major panels are
                       k·64 bytes apart, which breaks the hardware's sequential stream). */
                    const float *pf = s == 0 && p + 1 < panels ? bp + k * 16 : 0;
                    if (cols == 16) tile6_packed(kc, apack + s * kc, bp, cp + s * ldc, ldc, add, pf);
                    else edge(6, cols, kc, ab + s * lda, lda, bp, cp + s * ldc, ldc, add);
                }
                for (long r = full; r < mc;) {
                    long rows = mc - r >= 4 ? 4 : mc - r >= 2 ? 2 : 1;
                    if (cols == 16) sgemm_tile(rows, kc, ab + r * lda, lda, bp, cp + r * ldc, ldc, add);
                    else edge(rows, cols, kc, ab + r * lda, lda, bp, cp + r * ldc, ldc, add);
                    r += rows;
                }
            }
        }
    }
    free(apack);
}

KERNEL_TARGET static void sgemm_tile(long rows, long kc, const float *a, long lda, const float *b, float *c, long ldc, int add) {
    switch (rows) {
    case 6: tile6(kc, a, lda, b, c, ldc, add); break;
    case 4: tile4(kc, a, lda, b, c, ldc, add); break;
    case 2: tile2(kc, a, lda, b, c, ldc, add); break;
    default: tile1(kc, a, b, c, add); break;
    }
}

#endif
