#ifndef LSTMKIT_KERNEL_TABLE_H
#define LSTMKIT_KERNEL_TABLE_H

/* The kernels behind each table of `lstmkit_kernels` (private to CLSTMKernels). Each file is
   compiled for baseline x86-64 and marks its functions with the instruction set they use, so a
   function may only be called once `lstmkit_kernels` has returned its table. */

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define LSTMKIT_X86_KERNELS 1
#else
#define LSTMKIT_X86_KERNELS 0
#endif

#if LSTMKIT_X86_KERNELS
void lstmkit_sgemm_avx2(long m, long n, long k, const float *a, long lda, const float *packed, float *c, long ldc,
                        int accumulate);
void lstmkit_sgemm_avx512(long m, long n, long k, const float *a, long lda, const float *packed, float *c, long ldc,
                          int accumulate);
void lstmkit_gate_units_avx2(long rows, long count, long stride, float *gates, long ldg, float *c, long ldc, float *h,
                             long ldh);
void lstmkit_gate_units_avx512(long rows, long count, long stride, float *gates, long ldg, float *c, long ldc, float *h,
                               long ldh);
#endif

#endif
