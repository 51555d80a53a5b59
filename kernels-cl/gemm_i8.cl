/*
 * gemm_i8.cl - the int8 GEMM of the kernel ABI (loom/kernel-abi.h) as an
 * NDRange kernel for CPU and GPU devices: int8 x int8 products accumulated
 * in int32, then bias, loom_requant() and the activation, bit-exact with
 * loom_gemm_i8_ref. (The FPGA formulation is loom_gemm_i8_systolic in
 * gemm_systolic.cl.)
 *
 *   loom_gemm_i8(int M, int N, int K,
 *       __global const char *A, int lda, int a_off,
 *       __global const char *B, int ldb, int b_off,
 *       __global const int *bias, int has_bias,
 *       __global const int *mult, __global const int *shift,
 *       __global char *C, int ldc, int c_off, int act,
 *       __global const char *lut)
 *
 *   C[m, n] = act(loom_requant(bias[n] + sum_k A[m, k] B[k, n],
 *                              mult[n], shift[n]))
 *   act: LOOM_ACT_NONE, LOOM_ACT_RELU (max(y, 0)) or LOOM_ACT_LUT
 *   (lut[y + 128]). Row-major; *_off are element offsets, ld* row strides in
 *   elements; every element offset must fit in an int. bias may be a NULL
 *   buffer when has_bias is 0, lut when act is not LUT. K <= 65536 and
 *   |bias| < 2^30 keep the accumulator in range (as the reference checks).
 *
 * Launch geometry (2-D; local size is fixed by reqd_work_group_size):
 *   local  = { I8_WG_N, I8_WG_M }
 *   global = { ceil(N / (I8_WG_N * I8_WPT_N)) * I8_WG_N,
 *              ceil(M / (I8_WG_M * I8_WPT_M)) * I8_WG_M }
 *   Dimension 0 runs along N (columns of C), dimension 1 along M.
 *   Local memory: I8_TK * (I8_WG_M * I8_WPT_M + I8_WG_N * I8_WPT_N) bytes,
 *   declared in the kernel (no local-memory argument).
 *
 * Each work-group computes a block of (I8_WG_M * I8_WPT_M) x (I8_WG_N *
 * I8_WPT_N) outputs; it walks K in slices of I8_TK, staging the A and B
 * slices in local memory (zero-filled past the edges of A and B, so edge
 * blocks need no special path), and each work-item accumulates an I8_WPT_M x
 * I8_WPT_N register tile. A work-item's rows and columns are interleaved
 * with its neighbours' (stride I8_WG_M, I8_WG_N), so the local reads of
 * adjacent work-items and the final stores to C are contiguous.
 */

/* ---- tuning knobs (host: -DKNOB=value) ---- */

#ifndef I8_WG_M
#define I8_WG_M 8 /* work-items per work-group along M (local size, dim 1) */
#endif
#ifndef I8_WG_N
#define I8_WG_N 8 /* work-items per work-group along N (local size, dim 0) */
#endif
#ifndef I8_WPT_M
#define I8_WPT_M 4 /* rows of C per work-item (register tile height) */
#endif
#ifndef I8_WPT_N
#define I8_WPT_N 4 /* columns of C per work-item (register tile width) */
#endif
#ifndef I8_TK
#define I8_TK 16 /* depth along K of the local-memory slices of A and B */
#endif

#if I8_WG_M < 1 || I8_WG_N < 1 || I8_WPT_M < 1 || I8_WPT_N < 1 || I8_TK < 1
#error "gemm_i8.cl: every knob must be at least 1"
#endif

#define I8_BM (I8_WG_M * I8_WPT_M)  /* block rows of C per work-group */
#define I8_BN (I8_WG_N * I8_WPT_N)  /* block columns of C per work-group */
#define I8_NWI (I8_WG_M * I8_WG_N)  /* work-items per work-group */

/* loom_i8_epilogue(): in loom-cl.h, shared with the other int8 kernels. */

__kernel __attribute__((reqd_work_group_size(I8_WG_N, I8_WG_M, 1)))
void loom_gemm_i8(int M, int N, int K,
                  __global const char *A, int lda, int a_off,
                  __global const char *B, int ldb, int b_off,
                  __global const int *bias, int has_bias,
                  __global const int *mult, __global const int *shift,
                  __global char *C, int ldc, int c_off, int act,
                  __global const char *lut)
{
    __local char a_tile[I8_BM][I8_TK];
    __local char b_tile[I8_TK][I8_BN];
    const int tx = (int)get_local_id(0), ty = (int)get_local_id(1);
    const int lid = ty * I8_WG_N + tx;
    const int m_blk = (int)get_group_id(1) * I8_BM, n_blk = (int)get_group_id(0) * I8_BN;
    int acc[I8_WPT_M][I8_WPT_N];

    A += a_off;
    B += b_off;
    C += c_off;
#pragma unroll
    for (int r = 0; r < I8_WPT_M; r++)
#pragma unroll
        for (int c = 0; c < I8_WPT_N; c++)
            acc[r][c] = 0;

    for (int k0 = 0; k0 < K; k0 += I8_TK) {
        /* stage the slices; consecutive work-items take consecutive k (A)
         * and consecutive n (B): contiguous global reads */
        for (int e = lid; e < I8_BM * I8_TK; e += I8_NWI) {
            const int r = e / I8_TK, kk = e % I8_TK;
            const int m = m_blk + r, k = k0 + kk;
            a_tile[r][kk] = (m < M && k < K) ? A[(size_t)m * lda + k] : 0;
        }
        for (int e = lid; e < I8_TK * I8_BN; e += I8_NWI) {
            const int kk = e / I8_BN, c = e % I8_BN;
            const int k = k0 + kk, n = n_blk + c;
            b_tile[kk][c] = (k < K && n < N) ? B[(size_t)k * ldb + n] : 0;
        }
        barrier(CLK_LOCAL_MEM_FENCE);

#pragma unroll
        for (int kk = 0; kk < I8_TK; kk++) {
            int a_reg[I8_WPT_M], b_reg[I8_WPT_N];
#pragma unroll
            for (int r = 0; r < I8_WPT_M; r++)
                a_reg[r] = a_tile[ty + r * I8_WG_M][kk];
#pragma unroll
            for (int c = 0; c < I8_WPT_N; c++)
                b_reg[c] = b_tile[kk][tx + c * I8_WG_N];
#pragma unroll
            for (int r = 0; r < I8_WPT_M; r++)
#pragma unroll
                for (int c = 0; c < I8_WPT_N; c++)
                    acc[r][c] += a_reg[r] * b_reg[c];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    /* epilogue: bias, requantisation and activation per column n */
#pragma unroll
    for (int c = 0; c < I8_WPT_N; c++) {
        const int n = n_blk + tx + c * I8_WG_N;
        if (n >= N)
            continue;
        const int b = has_bias ? bias[n] : 0, mu = mult[n], sh = shift[n];
#pragma unroll
        for (int r = 0; r < I8_WPT_M; r++) {
            const int m = m_blk + ty + r * I8_WG_M;
            if (m < M)
                C[(size_t)m * ldc + n] = loom_i8_epilogue(acc[r][c] + b, mu, sh, act, lut);
        }
    }
}
