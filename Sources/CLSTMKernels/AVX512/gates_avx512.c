#include "CLSTMKernels.h"
#include "../kernel_table.h"

#if LSTMKIT_X86_KERNELS
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f")))
#define VF __m512
#define W 16
#define LOAD(p) _mm512_loadu_ps(p)
#define STORE(p, v) _mm512_storeu_ps(p, v)
#define SET1(x) _mm512_set1_ps(x)
#define ADD _mm512_add_ps
#define SUB _mm512_sub_ps
#define MUL _mm512_mul_ps
#define DIV _mm512_div_ps
#define MIN _mm512_min_ps
#define MAX _mm512_max_ps
#define FMADD _mm512_fmadd_ps
#define FNMADD _mm512_fnmadd_ps
#define ROUND(v) _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define POW2(n) _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23))
#define SELECT_ABS_LT(x, t, a, b) _mm512_mask_blend_ps(_mm512_cmp_ps_mask(_mm512_abs_ps(x), t, _CMP_LT_OQ), b, a)
#define KEEP_NAN(r, x) _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), r, x)
#define GATE_UNITS lstmkit_gate_units_avx512

#include "../Gates/gate_pass.h"
#endif
