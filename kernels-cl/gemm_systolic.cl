/*
 * gemm_systolic.cl - the GEMM of the kernel ABI (loom/kernel-abi.h) as an
 * output-stationary systolic array, written for FPGA OpenCL compilers
 * (Intel FPGA SDK for OpenCL, Xilinx Vitis): a single work-item kernel whose
 * loop nest the compiler turns into one pipeline, with the processing-element
 * (PE) grid and its shift registers fully unrolled into hardware. It is
 * correct on any OpenCL 1.2 device (PoCL runs it as plain sequential code),
 * but on CPUs and GPUs use the NDRange kernels (gemm_f32.cl, gemm_i8.cl).
 *
 * Kernels and launch geometry (both are single work-item kernels):
 *
 *   loom_gemm_f32_systolic   global = {1}, local = {1}   (work_dim 1;
 *   loom_gemm_i8_systolic    global = {1}, local = {1}    clEnqueueTask style)
 *
 *   loom_gemm_f32_systolic(int M, int N, int K,
 *       __global const float *A, int lda, int a_off,
 *       __global const float *B, int ldb, int b_off,
 *       __global const float *bias, int has_bias,
 *       __global float *C, int ldc, int c_off, int act,
 *       float act_a, float act_b, int batches, int batch_a,
 *       int batch_b, int batch_c)
 *     C = act(A.B + bias), act any fp32 LOOM_ACT_* with its parameters
 *     act_a, act_b; bias per column (bias[n], has_bias 1) or per row
 *     (bias[m], has_bias 2), as loom_gemm_f32; for batches matrices,
 *     matrix t at A, B, C advanced by t times batch_a, batch_b, batch_c.
 *
 *   loom_gemm_i8_systolic(int M, int N, int K,
 *       __global const char *A, int lda, int a_off,
 *       __global const char *B, int ldb, int b_off,
 *       __global const int *bias, int has_bias,
 *       __global const int *mult, __global const int *shift,
 *       __global char *C, int ldc, int c_off, int act,
 *       __global const char *lut)
 *     C = act(loom_requant(A.B + bias, mult[n], shift[n])),
 *     act in LOOM_ACT_{NONE,RELU,LUT}; bit-exact with loom_gemm_i8_ref.
 *
 *   All matrices are row-major; *_off are element offsets into the buffers
 *   and ld* row strides in elements. bias may be a NULL buffer when has_bias
 *   is 0, lut when act is not LUT. Every element offset must fit in an int.
 *
 * The array. A grid of SYS_ROWS x SYS_COLS PEs computes one SYS_ROWS x
 * SYS_COLS tile of C at a time. Rows of A enter at the left edge and move
 * one PE to the right per cycle; columns of B enter at the top edge and move
 * one PE down per cycle. Skew buffers in front of the edges delay row i of A
 * by i cycles and column j of B by j cycles (the wavefront), so that at cycle
 * t the PE (i, j) holds A[i][k] and B[k][j] for the same k = t - i - j and
 * accumulates their product. A tile takes K + SYS_ROWS + SYS_COLS - 2 cycles;
 * outside 0 <= k < K, and for rows and columns past the edge of C, zeros are
 * fed in, so a valid PE only ever multiplies a matching pair.
 *
 * Why output-stationary: each PE keeps its element of C in a local
 * accumulator for the whole K loop, so partial sums never move between PEs
 * or to memory, K is unbounded while the grid is fixed, and only the
 * operands stream (each A row and B column is read once per tile). The
 * epilogue (bias, requantisation, activation) then runs once per output, on
 * the finished int32 or fp32 sum, and the fp32 sum is formed in plain k order
 * like the reference. A weight-stationary array would pin a SYS_ROWS x
 * SYS_COLS block of B, pass partial sums down the columns, and for K larger
 * than the grid need K / SYS_ROWS passes with partial sums written back.
 *
 * The PE structure is written once (LOOM_SYS_DEFINE_TILE) and instantiated
 * for fp32 and for int8 x int8 -> int32; the kernels differ only in their
 * epilogue.
 *
 * FPGA notes: the cycle loop carries the accumulators; for fp32 on devices
 * without a single-cycle floating-point accumulator, expect an initiation
 * interval above 1 unless the compiler is allowed to relax fp order (e.g.
 * Intel -fp-relaxed; that changes rounding). The operand loads are one
 * sequential stream per A row and one SYS_COLS-wide contiguous load of a B
 * row per cycle; a production design would add on-chip double-buffered
 * tiles in front of the feeders.
 */

/* ---- tuning knobs (host: -DKNOB=value) ---- */

#ifndef SYS_ROWS
#define SYS_ROWS 8 /* PE rows: the height of the C tile computed at once */
#endif
#ifndef SYS_COLS
#define SYS_COLS 8 /* PE columns: the width of the C tile computed at once */
#endif
#ifndef LOOM_SYS_PIPELINE
#define LOOM_SYS_PIPELINE /* attribute/pragma put before the cycle loop, e.g.
                             __attribute__((xcl_pipeline_loop(1))) for Vitis */
#endif

#if SYS_ROWS < 1 || SYS_COLS < 1
#error "SYS_ROWS and SYS_COLS must be at least 1"
#endif

/* Marks a kernel single work-item: the standard attribute for every
 * compiler, and Intel's own on its FPGA compiler (which defines
 * INTELFPGA_CL). */
#ifdef INTELFPGA_CL
#define LOOM_SYS_TASK __attribute__((max_global_work_dim(0)))
#else
#define LOOM_SYS_TASK __attribute__((reqd_work_group_size(1, 1, 1)))
#endif

/*
 * LOOM_SYS_DEFINE_TILE(SUFFIX, TIN, TACC) defines
 *
 *   void loom_sys_tile_SUFFIX(int rows, int cols, int K,
 *                             __global const TIN *A, int lda,
 *                             __global const TIN *B, int ldb,
 *                             TACC acc[SYS_ROWS][SYS_COLS])
 *
 * which runs the array over one tile: acc[i][j] = sum_k A[i*lda + k] *
 * B[k*ldb + j] for i < rows, j < cols (A and B point at the tile's first
 * row and column; rows <= SYS_ROWS, cols <= SYS_COLS). TIN is the operand
 * type, TACC the accumulator type; products are formed in TACC.
 *
 * Registers, all private arrays that a full unroll maps to flip-flops:
 *   a_skew[i][0..i]  row i's delay line (i stages plus the input stage)
 *   b_skew[j][0..j]  column j's delay line
 *   a_pe[i][j]       the A operand register of PE (i, j), shifted right
 *   b_pe[i][j]       the B operand register of PE (i, j), shifted down
 *   acc[i][j]        the output-stationary accumulator of PE (i, j)
 * Each shift runs from the far end back to the input end, so every stage
 * takes its neighbour's value from the previous cycle.
 */
#define LOOM_SYS_DEFINE_TILE(SUFFIX, TIN, TACC)                                     \
    static inline void loom_sys_tile_##SUFFIX(int rows, int cols, int K,            \
                                              __global const TIN *A, int lda,       \
                                              __global const TIN *B, int ldb,       \
                                              TACC acc[SYS_ROWS][SYS_COLS])         \
    {                                                                               \
        TIN a_skew[SYS_ROWS][SYS_ROWS], b_skew[SYS_COLS][SYS_COLS];                 \
        TIN a_pe[SYS_ROWS][SYS_COLS], b_pe[SYS_ROWS][SYS_COLS];                     \
        const int cycles = K + SYS_ROWS + SYS_COLS - 2;                             \
                                                                                    \
        /* reset: empty pipeline, zero accumulators */                              \
        _Pragma("unroll") for (int i = 0; i < SYS_ROWS; i++)                        \
            _Pragma("unroll") for (int d = 0; d < SYS_ROWS; d++)                    \
                a_skew[i][d] = 0;                                                   \
        _Pragma("unroll") for (int j = 0; j < SYS_COLS; j++)                        \
            _Pragma("unroll") for (int d = 0; d < SYS_COLS; d++)                    \
                b_skew[j][d] = 0;                                                   \
        _Pragma("unroll") for (int i = 0; i < SYS_ROWS; i++)                        \
            _Pragma("unroll") for (int j = 0; j < SYS_COLS; j++) {                  \
                a_pe[i][j] = 0;                                                     \
                b_pe[i][j] = 0;                                                     \
                acc[i][j] = 0;                                                      \
            }                                                                       \
                                                                                    \
        /* one iteration = one clock cycle of the array */                          \
        LOOM_SYS_PIPELINE                                                           \
        for (int t = 0; t < cycles; t++) {                                          \
            const bool in_k = t < K;                                                \
            TIN a_edge[SYS_ROWS], b_edge[SYS_COLS];                                 \
                                                                                    \
            /* feeders: A[i][t] and B[t][j] (unskewed), zero past the edges,        \
             * pushed through delay lines of i and j cycles */                      \
            _Pragma("unroll") for (int i = 0; i < SYS_ROWS; i++) {                  \
                _Pragma("unroll") for (int d = SYS_ROWS - 1; d > 0; d--)            \
                    if (d <= i)                                                     \
                        a_skew[i][d] = a_skew[i][d - 1];                            \
                a_skew[i][0] = (in_k && i < rows) ? A[(size_t)i * lda + t] : 0;     \
                a_edge[i] = a_skew[i][i];                                           \
            }                                                                       \
            _Pragma("unroll") for (int j = 0; j < SYS_COLS; j++) {                  \
                _Pragma("unroll") for (int d = SYS_COLS - 1; d > 0; d--)            \
                    if (d <= j)                                                     \
                        b_skew[j][d] = b_skew[j][d - 1];                            \
                b_skew[j][0] = (in_k && j < cols) ? B[(size_t)t * ldb + j] : 0;     \
                b_edge[j] = b_skew[j][j];                                           \
            }                                                                       \
                                                                                    \
            /* systolic shift: A one PE right, B one PE down */                     \
            _Pragma("unroll") for (int i = 0; i < SYS_ROWS; i++) {                  \
                _Pragma("unroll") for (int j = SYS_COLS - 1; j > 0; j--)            \
                    a_pe[i][j] = a_pe[i][j - 1];                                    \
                a_pe[i][0] = a_edge[i];                                             \
            }                                                                       \
            _Pragma("unroll") for (int j = 0; j < SYS_COLS; j++) {                  \
                _Pragma("unroll") for (int i = SYS_ROWS - 1; i > 0; i--)            \
                    b_pe[i][j] = b_pe[i - 1][j];                                    \
                b_pe[0][j] = b_edge[j];                                             \
            }                                                                       \
                                                                                    \
            /* every PE: multiply-accumulate (k = t - i - j) */                     \
            _Pragma("unroll") for (int i = 0; i < SYS_ROWS; i++)                    \
                _Pragma("unroll") for (int j = 0; j < SYS_COLS; j++)                \
                    acc[i][j] += (TACC)a_pe[i][j] * (TACC)b_pe[i][j];               \
        }                                                                           \
    }

LOOM_SYS_DEFINE_TILE(f32, float, float)
LOOM_SYS_DEFINE_TILE(i8, char, int)

/* loom_act_f32(): in loom-cl.h, shared with the other fp32 kernels. */

/* loom_i8_epilogue(): in loom-cl.h, shared with the other int8 kernels. */

__kernel LOOM_SYS_TASK
void loom_gemm_f32_systolic(int M, int N, int K,
                            __global const float *A, int lda, int a_off,
                            __global const float *B, int ldb, int b_off,
                            __global const float *bias, int has_bias,
                            __global float *C, int ldc, int c_off, int act,
                            float act_a, float act_b, int batches, int batch_a,
                            int batch_b, int batch_c)
{
    /* the matrices of a batch one after another (see gemm_f32.cl) */
    A += a_off;
    B += b_off;
    C += c_off;
    for (int t = 0; t < batches; t++, A += batch_a, B += batch_b, C += batch_c)
        for (int m0 = 0; m0 < M; m0 += SYS_ROWS)
            for (int n0 = 0; n0 < N; n0 += SYS_COLS) {
                const int rows = min(SYS_ROWS, M - m0), cols = min(SYS_COLS, N - n0);
                float acc[SYS_ROWS][SYS_COLS];

                loom_sys_tile_f32(rows, cols, K, A + (size_t)m0 * lda, lda, B + n0, ldb, acc);
                /* drain: bias and activation, stores masked at the edges */
#pragma unroll
                for (int i = 0; i < SYS_ROWS; i++)
#pragma unroll
                    for (int j = 0; j < SYS_COLS; j++)
                        if (i < rows && j < cols) {
                            float v = acc[i][j] + (has_bias == 2   ? bias[m0 + i]
                                                   : has_bias ? bias[n0 + j]
                                                              : 0.0f);
                            C[(size_t)(m0 + i) * ldc + n0 + j] = loom_act_f32(v, act, act_a, act_b);
                        }
            }
}

__kernel LOOM_SYS_TASK
void loom_gemm_i8_systolic(int M, int N, int K,
                           __global const char *A, int lda, int a_off,
                           __global const char *B, int ldb, int b_off,
                           __global const int *bias, int has_bias,
                           __global const int *mult, __global const int *shift,
                           __global char *C, int ldc, int c_off, int act,
                           __global const char *lut)
{
    A += a_off;
    B += b_off;
    C += c_off;
    for (int m0 = 0; m0 < M; m0 += SYS_ROWS)
        for (int n0 = 0; n0 < N; n0 += SYS_COLS) {
            const int rows = min(SYS_ROWS, M - m0), cols = min(SYS_COLS, N - n0);
            int acc[SYS_ROWS][SYS_COLS];

            loom_sys_tile_i8(rows, cols, K, A + (size_t)m0 * lda, lda, B + n0, ldb, acc);
            /* drain: bias, requantisation and activation per column n */
#pragma unroll
            for (int i = 0; i < SYS_ROWS; i++)
#pragma unroll
                for (int j = 0; j < SYS_COLS; j++)
                    if (i < rows && j < cols) {
                        const int n = n0 + j;
                        int v = acc[i][j] + (has_bias ? bias[n] : 0);
                        C[(size_t)(m0 + i) * ldc + n] =
                            loom_i8_epilogue(v, mult[n], shift[n], act, lut);
                    }
        }
}
