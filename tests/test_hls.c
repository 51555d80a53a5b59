/*
 * test_hls.c - C simulation of the HLS kernel (hls/loom_gemm.c compiled by
 * gcc as plain C, pragmas ignored, as Vitis csim does) against the host
 * reference, bit for bit, on the same test vectors as the vsim tests
 * (tests/support/gemm-vectors.c), at the configured array size and at
 * 8x8. The kernel takes B transposed, like the RTL kernel: Bt[N][K].
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "gemm-vectors.h"
#include "loom/loom.h"

/* the kernel, built twice (tests/CMakeLists.txt) */
void loom_gemm_i8_kernel(int M, int N, int K, const int8_t *A, int lda, const int8_t *B, int ldb,
                         const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *C,
                         int ldc, int act, const int8_t *lut);
void loom_gemm_i8_kernel_8x8(int M, int N, int K, const int8_t *A, int lda, const int8_t *B, int ldb,
                             const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *C,
                             int ldc, int act, const int8_t *lut);
typedef void kernel_fn(int, int, int, const int8_t *, int, const int8_t *, int, const int32_t *,
                       const int32_t *, const int32_t *, int8_t *, int, int, const int8_t *);

static void run_vectors(kernel_fn *kernel, const char *name, uint64_t seed0)
{
    for (int i = 0; i < gemm_shape_count; i++) {
        const int *s = gemm_shapes[i];
        gemm_case g;
        int8_t *bt;
        int32_t *zero;
        char what[128];
        int64_t M = s[0], N = s[1], K = s[2];
        gemm_case_make(&g, M, N, K, s[3], s[4], s[5], seed0 + (uint64_t)i);
        /* the host packs Bt[N][K] (row stride K) and a zero bias, as kctl does */
        bt = malloc((size_t)(N * K) + 1);
        zero = calloc((size_t)N + 1, sizeof *zero);
        cr_assert(bt && zero);
        for (int64_t k = 0; k < K; k++)
            for (int64_t n = 0; n < N; n++)
                bt[n * K + k] = g.B[k * g.a.ldb + n];
        kernel((int)M, (int)N, (int)K, g.A, (int)g.a.lda, bt, (int)K, g.a.bias ? g.a.bias : zero, g.mult,
               g.shift, g.a.C, (int)g.a.ldc, s[3], g.lut);
        snprintf(what, sizeof what, "HLS csim %s, M=%d N=%d K=%d act=%d pad=%d bias=%d", name, s[0], s[1],
                 s[2], s[3], s[4], s[5]);
        gemm_case_expect_same(&g, what);
        free(bt);
        free(zero);
        gemm_case_free(&g);
    }
}

Test(hls, csim_configured_array_bit_exact)
{
    run_vectors(loom_gemm_i8_kernel, "configured array", 101);
}

Test(hls, csim_8x8_bit_exact)
{
    run_vectors(loom_gemm_i8_kernel_8x8, "8x8", 1);
}
