#include "CLSTMKernels.h"
#include "../kernel_table.h"

#if LSTMKIT_X86_KERNELS

static const lstmkit_kernel_table avx512 = { lstmkit_sgemm_avx512, lstmkit_gate_units_avx512 };
static const lstmkit_kernel_table avx2 = { lstmkit_sgemm_avx2, lstmkit_gate_units_avx2 };

/* __builtin_cpu_supports also checks that the OS saves the registers (XCR0). */
const lstmkit_kernel_table *lstmkit_kernels(int isa) {
    __builtin_cpu_init();
    int has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    switch (isa) {
    case LSTMKIT_ISA_AVX512: return has_avx2 && __builtin_cpu_supports("avx512f") ? &avx512 : 0;
    case LSTMKIT_ISA_AVX2: return has_avx2 ? &avx2 : 0;
    default: return 0;
    }
}

#else

const lstmkit_kernel_table *lstmkit_kernels(int isa) {
    (void)isa;
    return 0;
}

#endif
