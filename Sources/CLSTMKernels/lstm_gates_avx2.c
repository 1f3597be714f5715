#include "CLSTMKernels.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#include <math.h>

#define KERNEL_TARGET __attribute__((target("avx2,fma")))

/* Cephes expf: x clamped to [-87.3, 88], n = round(x / ln 2), r = x - n ln 2 (two parts),
   degree-6 polynomial, times 2^n built in the exponent bits. About 1 ulp. */
KERNEL_TARGET static inline __m256 exp8(__m256 v) {
    __m256 x = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 z = _mm256_mul_ps(r, r);
    __m256 y = _mm256_set1_ps(1.9875691500e-4f);
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.3981999507e-3f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(8.3334519073e-3f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(4.1665795894e-2f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.6666665459e-1f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(5.0000001201e-1f));
    y = _mm256_fmadd_ps(y, z, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

/* NaN lanes of x stay NaN. */
KERNEL_TARGET static inline __m256 keep_nan(__m256 r, __m256 x) {
    return _mm256_blendv_ps(r, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

KERNEL_TARGET static inline __m256 sigmoid8(__m256 x) {
    __m256 one = _mm256_set1_ps(1.0f);
    __m256 r = _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), x))));
    return keep_nan(r, x);
}

/* Cephes tanhf: odd polynomial for |x| < 0.625, 1 - 2 / (e^{2x} + 1) above. */
KERNEL_TARGET static inline __m256 tanh8(__m256 x) {
    __m256 one = _mm256_set1_ps(1.0f);
    __m256 z = _mm256_mul_ps(x, x);
    __m256 p = _mm256_set1_ps(-5.70498872745e-3f);
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.06390887954e-2f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-5.37397155531e-2f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.33314422036e-1f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-3.33332819422e-1f));
    __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), x, x);
    __m256 large = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(exp8(_mm256_add_ps(x, x)), one)));
    __m256 absx = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    __m256 r = _mm256_blendv_ps(large, small, _mm256_cmp_ps(absx, _mm256_set1_ps(0.625f), _CMP_LT_OQ));
    return keep_nan(r, x);
}

static inline float sigmoid1(float x) { return x >= 0 ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x)); }

KERNEL_TARGET static void gates_row(long count, long H, float *g, float *c, float *h) {
    long j = 0;
    for (; j + 8 <= count; j += 8) {
        __m256 i = sigmoid8(_mm256_loadu_ps(g + j));
        __m256 f = sigmoid8(_mm256_loadu_ps(g + H + j));
        __m256 gg = tanh8(_mm256_loadu_ps(g + 2 * H + j));
        __m256 o = sigmoid8(_mm256_loadu_ps(g + 3 * H + j));
        __m256 cn = _mm256_fmadd_ps(f, _mm256_loadu_ps(c + j), _mm256_mul_ps(i, gg));
        _mm256_storeu_ps(c + j, cn);
        _mm256_storeu_ps(h + j, _mm256_mul_ps(o, tanh8(cn)));
    }
    for (; j < count; j++) {
        float i = sigmoid1(g[j]), f = sigmoid1(g[H + j]), gg = tanhf(g[2 * H + j]), o = sigmoid1(g[3 * H + j]);
        float cn = f * c[j] + i * gg;
        c[j] = cn;
        h[j] = o * tanhf(cn);
    }
}

void lstmkit_lstm_gate_units(long rows, long count, long stride, float *gates, long ldg, float *c, long ldc,
                             float *h, long ldh) {
    for (long r = 0; r < rows; r++) gates_row(count, stride, gates + r * ldg, c + r * ldc, h + r * ldh);
}

#else

void lstmkit_lstm_gate_units(long rows, long count, long stride, float *gates, long ldg, float *c, long ldc,
                             float *h, long ldh) {
    (void)rows; (void)count; (void)stride; (void)gates; (void)ldg; (void)c; (void)ldc; (void)h; (void)ldh;
}

#endif
