/* draft v1 */
#ifndef GEMM_MWI
#define GEMM_MWI 8
#endif
#ifndef GEMM_NWI
#define GEMM_NWI 32
#endif
#ifndef GEMM_VW
#define GEMM_VW 16
#endif
#ifndef GEMM_WGM
#define GEMM_WGM 1
#endif
#ifndef GEMM_WGN
#define GEMM_WGN 1
#endif

#define NV (GEMM_NWI / GEMM_VW)
#define NWG (GEMM_NWI * GEMM_WGN)
#define MWG (GEMM_MWI * GEMM_WGM)

#if GEMM_VW == 16
typedef float16 vfloat;
#define VLOAD vload16
#define VSTORE vstore16
#elif GEMM_VW == 8
typedef float8 vfloat;
#define VLOAD vload8
#define VSTORE vstore8
#endif

__kernel __attribute__((reqd_work_group_size(GEMM_WGN, GEMM_WGM, 1)))
void loom_gemm_f32(int M, int N, int K,
                   __global const float *A, int lda, int a_off,
                   __global const float *B, int ldb, int b_off,
                   __global const float *bias, int has_bias,
                   __global float *C, int ldc, int c_off, int act)
{
    const int n0 = get_group_id(0) * NWG + get_local_id(0) * GEMM_NWI;
    const int m0 = get_group_id(1) * MWG + get_local_id(1) * GEMM_MWI;
    A += a_off;
    B += b_off + n0;
    C += c_off;
    __global const float *ap[GEMM_MWI];
#pragma unroll
    for (int r = 0; r < GEMM_MWI; r++)
        ap[r] = A + (size_t)min(m0 + r, M - 1) * lda;

    vfloat acc[GEMM_MWI][NV];
#pragma unroll
    for (int r = 0; r < GEMM_MWI; r++)
#pragma unroll
        for (int v = 0; v < NV; v++)
            acc[r][v] = 0.0f;

    if (n0 + GEMM_NWI <= N) {
        for (int k = 0; k < K; k++) {
            vfloat b[NV];
#pragma unroll
            for (int v = 0; v < NV; v++)
                b[v] = VLOAD(v, B + (size_t)k * ldb);
#pragma unroll
            for (int r = 0; r < GEMM_MWI; r++) {
                vfloat a = (vfloat)(ap[r][k]);
#pragma unroll
                for (int v = 0; v < NV; v++)
                    acc[r][v] = fma(a, b[v], acc[r][v]);
            }
        }
    }
#pragma unroll
    for (int r = 0; r < GEMM_MWI; r++) {
        if (m0 + r < M && n0 + GEMM_NWI <= N) {
#pragma unroll
            for (int v = 0; v < NV; v++)
                VSTORE(acc[r][v], v, C + (size_t)(m0 + r) * ldc + n0);
        }
    }
}
