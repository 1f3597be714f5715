#include "CLSTMKernels.h"
#include "../kernel_table.h"

#if LSTMKIT_X86_KERNELS
#include <immintrin.h>

#define TARGET __attribute__((target("avx2,fma")))
#define VF __m256
#define W 8
#define LOAD(p) _mm256_loadu_ps(p)
#define STORE(p, v) _mm256_storeu_ps(p, v)
#define SET1(x) _mm256_set1_ps(x)
#define ADD _mm256_add_ps
#define SUB _mm256_sub_ps
#define MUL _mm256_mul_ps
#define DIV _mm256_div_ps
#define MIN _mm256_min_ps
#define MAX _mm256_max_ps
#define FMADD _mm256_fmadd_ps
#define FNMADD _mm256_fnmadd_ps
#define ROUND(v) _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define POW2(n) _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23))
#define SELECT_ABS_LT(x, t, a, b) \
    _mm256_blendv_ps(b, a, _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), x), t, _CMP_LT_OQ))
#define KEEP_NAN(r, x) _mm256_blendv_ps(r, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q))
#define GATE_UNITS lstmkit_gate_units_avx2

#include "../Gates/gate_pass.h"
#endif
