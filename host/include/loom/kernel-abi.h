/*
 * loom/kernel-abi.h - the one kernel ABI of loom's accelerated operation,
 * written down once for every level that implements it: the host C
 * reference, OpenCL C (kernels-cl/), HLS C (hls/) and Verilog (rtl/).
 *
 *   C[M,N] = act( A[M,K] . B[K,N] + bias[N] )             fp32
 *   C[M,N] = act( requant( A.B + bias ) )                   int8 in, int32 acc
 *
 * Operands are row-major with leading dimensions (row strides, in
 * elements) lda, ldb, ldc; bias may be absent. Argument order, shared by
 * the OpenCL kernels, the HLS top function and the RTL register map:
 *   M, N, K, A, lda, B, ldb, bias, C, ldc, act            (fp32)
 *   M, N, K, A, lda, B, ldb, bias, mult, shift, C, ldc, act, lut   (int8)
 *
 * ---- int8 arithmetic contract ----
 *
 * Every level (host C reference, OpenCL C, HLS C, Verilog) computes the
 * int8 GEMM of the kernel ABI exactly like this, so that every device's
 * output equals the reference bit for bit:
 *
 *   acc[m,n] = bias[n] + sum_k A[m,k] * B[k,n]     int8 x int8 -> int32
 *   y        = requant(acc, mult[n], shift[n])     int32 -> int8
 *   out      = act(y)                              ReLU: max(y, 0)
 *                                                  LUT:  lut[y + 128]
 *
 * Quantisation: weights symmetric int8 (zero point 0) with a scale per
 * output channel n; activations symmetric int8 with one scale per tensor;
 * bias int32 in the accumulator's scale (in_scale * w_scale[n]).
 *
 * Requantisation multiplies by the real factor
 *     s[n] = in_scale * w_scale[n] / out_scale,  0 < s < 1,
 * represented as  s ~= mult / 2^(31 + shift)  with
 *     mult  in [2^30, 2^31)        (a Q0.31 fraction of at least 0.5)
 *     shift in [0, LOOM_REQUANT_SHIFT_MAX]
 * and rounds half up (towards +infinity at exactly .5), then saturates:
 *     y = clamp(((int64)acc * mult + 2^(30 + shift)) >> (31 + shift),
 *               -128, 127)
 * where >> is an arithmetic (sign-propagating) shift, i.e. floor division
 * by a power of two. With |acc| < 2^31, mult < 2^31 and shift <= 31 the
 * sum stays below 2^63: no intermediate overflows.
 *
 * The 256-entry LUT (sigmoid, tanh, GELU, ...) is computed by the host at
 * quantisation time and is identical on every level.
 *
 * This header is plain C99 and also valid OpenCL C and HLS C: it uses no
 * library beyond <stdint.h> (skipped under OpenCL).
 */
#ifndef LOOM_KERNEL_ABI_H
#define LOOM_KERNEL_ABI_H

#ifdef __OPENCL_C_VERSION__
typedef long loom_i64_t;
typedef int loom_i32_t;
#else
#include <stdint.h>
typedef int64_t loom_i64_t;
typedef int32_t loom_i32_t;
#endif

#define LOOM_REQUANT_MULT_MIN 0x40000000 /* 2^30 */
#define LOOM_REQUANT_MULT_MAX 0x7fffffff /* 2^31 - 1 */
#define LOOM_REQUANT_SHIFT_MAX 31

/* The `act` kernel argument. int8: NONE, RELU or LUT, applied after
 * requantisation. fp32: NONE, RELU, SIGMOID, TANH, GELU (the erf form,
 * x * (1 + erf(x / sqrt(2))) / 2), CLIP (min(max(x, a), b) with the two
 * float parameters a and b: ReLU6 is a = 0, b = 6), HARDSWISH
 * (x * max(0, min(1, x / 6 + 1 / 2))) or SILU (x * sigmoid(x)), applied
 * to acc + bias. */
#define LOOM_ACT_NONE 0
#define LOOM_ACT_RELU 1
#define LOOM_ACT_LUT 2
#define LOOM_ACT_SIGMOID 3
#define LOOM_ACT_TANH 4
#define LOOM_ACT_GELU 5
#define LOOM_ACT_CLIP 6
#define LOOM_ACT_HARDSWISH 7
#define LOOM_ACT_SILU 8

/* Saturating requantisation of one accumulator; see above. */
static inline int loom_requant(loom_i32_t acc, loom_i32_t mult,
                               loom_i32_t shift)
{
    loom_i64_t round = (loom_i64_t)1 << (30 + shift);
    loom_i64_t v = ((loom_i64_t)acc * (loom_i64_t)mult + round) >> (31 + shift);
    return v < -128 ? -128 : (v > 127 ? 127 : (int)v);
}

#ifndef __OPENCL_C_VERSION__
/* Host-side arguments of the int8 GEMM (same order as the kernel ABI). */
typedef struct {
    int64_t M, N, K;
    const int8_t *A;     /* M x K, row stride lda (elements) */
    int64_t lda;
    const int8_t *B;     /* K x N, row stride ldb */
    int64_t ldb;
    const int32_t *bias; /* N entries, or NULL for zero */
    const int32_t *mult; /* N entries, each in [2^30, 2^31) */
    const int32_t *shift;/* N entries, each in [0, 31] */
    int8_t *C;           /* M x N, row stride ldc */
    int64_t ldc;
    int act;             /* LOOM_ACT_* */
    const int8_t *lut;   /* 256 entries when act == LOOM_ACT_LUT */
} loom_gemm_i8_args;
#endif

#endif /* LOOM_KERNEL_ABI_H */
