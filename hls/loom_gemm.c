/*
 * loom_gemm.c - loom's int8 GEMM kernel in Vitis HLS C: the kernel ABI of
 * host/include/loom/kernel-abi.h on an Alveo card, with the same argument
 * order and the same register map as the RTL kernel (rtl/loom_kernel.sv),
 * so that the host's kernel control layer drives either.
 *
 *   C[M,N] = act( requant( A[M,K] . B[K,N] + bias[N] ) )
 *
 * B is passed transposed, Bt[N][K] (row stride ldb), as for the RTL: the
 * host packs weights once and both operands stream as rows of K bytes.
 *
 * Structure: output tiles of ROWS x COLS (the array size of
 * rtl/loom-array.json, through loom-array-config.h); per tile, K in
 * chunks of KT: load an A block and a Bt block into on-chip buffers,
 * partitioned by row so that every processing element reads its operand
 * in the same cycle, then a K loop pipelined at II=1 whose body is the
 * fully unrolled ROWS x COLS grid of int8 multiply-accumulates into int32
 * accumulators (one DSP each); load and compute of a chunk form a
 * DATAFLOW region so the next chunk loads while this one computes. The
 * requantise/activation stage is the contract's loom_requant, shared with
 * every other level.
 *
 * Compiled by gcc as plain C for C simulation (the pragmas are ignored,
 * as in Vitis csim): tests/test_hls.c runs it against the reference on the
 * same test vectors as the vsim tests.
 */
#include <stdint.h>

#include "loom-array-config.h"
#include "loom/kernel-abi.h"

#ifndef LOOM_HLS_ROWS
#define LOOM_HLS_ROWS LOOM_ARRAY_ROWS /* PE rows (output rows per tile) */
#endif
#ifndef LOOM_HLS_COLS
#define LOOM_HLS_COLS LOOM_ARRAY_COLS /* PE columns (output columns per tile) */
#endif
#ifndef LOOM_HLS_KT
#define LOOM_HLS_KT LOOM_ARRAY_K_TILE /* on-chip depth along K per block */
#endif

#define ROWS LOOM_HLS_ROWS
#define COLS LOOM_HLS_COLS
#define KT LOOM_HLS_KT

static int imin(int a, int b)
{
    return a < b ? a : b;
}

/* A rows m0.. (mrows of them) and Bt rows n0.., K range k0..k0+kc, into
 * the block buffers; rows past M or N are zero. */
static void load_block(const int8_t *A, int lda, const int8_t *Bt, int ldb, int m0, int n0, int k0,
                       int kc, int mrows, int ncols, int8_t a_blk[ROWS][KT], int8_t b_blk[COLS][KT])
{
load_a_rows:
    for (int i = 0; i < ROWS; i++) {
    load_a_k:
        for (int k = 0; k < KT; k++) {
#pragma HLS PIPELINE II = 1
            a_blk[i][k] = (i < mrows && k < kc) ? A[(int64_t)(m0 + i) * lda + k0 + k] : 0;
        }
    }
load_b_rows:
    for (int j = 0; j < COLS; j++) {
    load_b_k:
        for (int k = 0; k < KT; k++) {
#pragma HLS PIPELINE II = 1
            b_blk[j][k] = (j < ncols && k < kc) ? Bt[(int64_t)(n0 + j) * ldb + k0 + k] : 0;
        }
    }
}

/* acc += A block . Bt block^T over kc steps: one K step per cycle, the
 * whole PE grid in parallel. */
static void mac_block(int8_t a_blk[ROWS][KT], int8_t b_blk[COLS][KT], int kc,
                      int32_t acc[ROWS][COLS])
{
mac_k:
    for (int k = 0; k < kc; k++) {
#pragma HLS PIPELINE II = 1
    mac_rows:
        for (int i = 0; i < ROWS; i++) {
#pragma HLS UNROLL
        mac_cols:
            for (int j = 0; j < COLS; j++) {
#pragma HLS UNROLL
                acc[i][j] += (int32_t)a_blk[i][k] * (int32_t)b_blk[j][k];
            }
        }
    }
}

/* One K chunk: load and compute overlap across chunks (ping-pong buffers). */
static void chunk(const int8_t *A, int lda, const int8_t *Bt, int ldb, int m0, int n0, int k0, int kc,
                  int mrows, int ncols, int32_t acc[ROWS][COLS])
{
#pragma HLS DATAFLOW
    int8_t a_blk[ROWS][KT];
    int8_t b_blk[COLS][KT];
#pragma HLS ARRAY_PARTITION variable = a_blk complete dim = 1
#pragma HLS ARRAY_PARTITION variable = b_blk complete dim = 1
    load_block(A, lda, Bt, ldb, m0, n0, k0, kc, mrows, ncols, a_blk, b_blk);
    mac_block(a_blk, b_blk, kc, acc);
}

/* Requantise, activate and write one finished tile. */
static void store_tile(int32_t acc[ROWS][COLS], const int32_t *bias, const int32_t *mult,
                       const int32_t *shift, int act, const int8_t *lut, int8_t *C, int ldc, int m0,
                       int n0, int mrows, int ncols)
{
store_rows:
    for (int i = 0; i < ROWS; i++) {
    store_cols:
        for (int j = 0; j < COLS; j++) {
#pragma HLS PIPELINE II = 1
            if (i < mrows && j < ncols) {
                int n = n0 + j;
                int y = loom_requant(acc[i][j] + bias[n], mult[n], shift[n]);
                if (act == LOOM_ACT_RELU && y < 0)
                    y = 0;
                else if (act == LOOM_ACT_LUT)
                    y = lut[y + 128];
                C[(int64_t)(m0 + i) * ldc + n] = (int8_t)y;
            }
        }
    }
}

/* The kernel: the top function. Arguments in the kernel ABI's order. */
void loom_gemm_i8_kernel(int M, int N, int K, const int8_t *A, int lda, const int8_t *B, int ldb,
                  const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *C, int ldc,
                  int act, const int8_t *lut)
{
#pragma HLS INTERFACE m_axi port = A offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = B offset = slave bundle = gmem1
#pragma HLS INTERFACE m_axi port = bias offset = slave bundle = gmem2
#pragma HLS INTERFACE m_axi port = mult offset = slave bundle = gmem2
#pragma HLS INTERFACE m_axi port = shift offset = slave bundle = gmem2
#pragma HLS INTERFACE m_axi port = C offset = slave bundle = gmem3
#pragma HLS INTERFACE m_axi port = lut offset = slave bundle = gmem2
#pragma HLS INTERFACE s_axilite port = M
#pragma HLS INTERFACE s_axilite port = N
#pragma HLS INTERFACE s_axilite port = K
#pragma HLS INTERFACE s_axilite port = A
#pragma HLS INTERFACE s_axilite port = lda
#pragma HLS INTERFACE s_axilite port = B
#pragma HLS INTERFACE s_axilite port = ldb
#pragma HLS INTERFACE s_axilite port = bias
#pragma HLS INTERFACE s_axilite port = mult
#pragma HLS INTERFACE s_axilite port = shift
#pragma HLS INTERFACE s_axilite port = C
#pragma HLS INTERFACE s_axilite port = ldc
#pragma HLS INTERFACE s_axilite port = act
#pragma HLS INTERFACE s_axilite port = lut
#pragma HLS INTERFACE s_axilite port = return
    int32_t acc[ROWS][COLS];
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 0

tiles_n:
    for (int n0 = 0; n0 < N; n0 += COLS) {
    tiles_m:
        for (int m0 = 0; m0 < M; m0 += ROWS) {
            int mrows = imin(ROWS, M - m0), ncols = imin(COLS, N - n0);
        clear_rows:
            for (int i = 0; i < ROWS; i++) {
#pragma HLS UNROLL
            clear_cols:
                for (int j = 0; j < COLS; j++) {
#pragma HLS UNROLL
                    acc[i][j] = 0;
                }
            }
        chunks:
            for (int k0 = 0; k0 < K; k0 += KT)
                chunk(A, lda, B, ldb, m0, n0, k0, imin(KT, K - k0), mrows, ncols, acc);
            store_tile(acc, bias, mult, shift, act, lut, C, ldc, m0, n0, mrows, ncols);
        }
    }
}
