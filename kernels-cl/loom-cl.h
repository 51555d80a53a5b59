/*
 * loom-cl.h - codes shared by the OpenCL kernels in kernels-cl/ and the
 * host's OpenCL backend (host/src/backends/opencl/). Plain C: included by
 * the host, and prepended to every kernel source (after loom/kernel-abi.h)
 * when the host builds an OpenCL program; the OpenCL-only helpers at the
 * end are compiled there only.
 */
#ifndef LOOM_CL_H
#define LOOM_CL_H

/* loom_unary `op` */
#define LOOM_CL_RELU 0
#define LOOM_CL_SIGMOID 1
#define LOOM_CL_TANH 2
#define LOOM_CL_ERF 3
#define LOOM_CL_SQRT 4
#define LOOM_CL_ABS 5
#define LOOM_CL_NEG 6
#define LOOM_CL_EXP 7
#define LOOM_CL_LOG 8
#define LOOM_CL_RECIPROCAL 9
#define LOOM_CL_CLIP 10 /* a = min, b = max */

/* loom_binary `op` */
#define LOOM_CL_ADD 0
#define LOOM_CL_SUB 1
#define LOOM_CL_MUL 2
#define LOOM_CL_DIV 3
#define LOOM_CL_POW 4

/* Rank limit of the strided kernels (dims and strides travel as int8). */
#define LOOM_CL_MAX_RANK 8

/* Test-only: the host defines LOOM_FAULT_BUILD (LOOM_TEST_FAULT=opencl-build)
 * to check what happens when a device cannot build the program. */
#if defined(__OPENCL_C_VERSION__) && defined(LOOM_FAULT_BUILD)
#error "build failure injected by LOOM_TEST_FAULT=opencl-build"
#endif

#ifdef __OPENCL_C_VERSION__
/* LOOM_CL_ACT(NAME, T) defines T NAME(T x, int act, float a, float b): the
 * fp32 activations of the kernel ABI (LOOM_ACT_*, loom/kernel-abi.h) on a
 * float or floatN, computed as the reference computes the unfused ops
 * (Clip keeps NaN; HardSwish and SiLU as x times the gate). One definition
 * for every fp32 epilogue (GEMM, systolic GEMM, direct convolution). */
#define LOOM_CL_ACT(NAME, T)                                                             \
static inline T NAME(T x, int act, float a, float b)                                    \
{                                                                                       \
    switch (act) {                                                                      \
    case LOOM_ACT_RELU: return fmax(x, (T)(0.0f));                                      \
    case LOOM_ACT_SIGMOID: return 1.0f / (1.0f + exp(-x));                              \
    case LOOM_ACT_TANH: return tanh(x);                                                 \
    case LOOM_ACT_GELU: return 0.5f * x * (1.0f + erf(x * M_SQRT1_2_F));                \
    case LOOM_ACT_CLIP: {                                                               \
        const T lo = select(x, (T)(a), x < (T)(a));                                     \
        return select(lo, (T)(b), lo > (T)(b));                                         \
    }                                                                                   \
    case LOOM_ACT_HARDSWISH: return x * fmax((T)(0.0f), fmin((T)(1.0f), x / 6.0f + 0.5f)); \
    case LOOM_ACT_SILU: return x * (1.0f / (1.0f + exp(-x)));                           \
    default: return x;                                                                  \
    }                                                                                   \
}

LOOM_CL_ACT(loom_act_f32, float)

/* The int8 epilogue of the kernel ABI (loom/kernel-abi.h): requantise,
 * then NONE, RELU or the LUT. One copy for every int8 kernel. */
static inline char loom_i8_epilogue(int acc, int mult, int shift, int act, __global const char *lut)
{
#ifdef LOOM_FAULT_MISROUND /* test-only: LOOM_TEST_FAULT=opencl-misround */
    /* rounds down: the 2^(30+shift) of round-half-up left out */
    long v = ((long)acc * mult) >> (31 + shift);
    int y = v < -128 ? -128 : (v > 127 ? 127 : (int)v);
#else
    int y = loom_requant(acc, mult, shift);
#endif
    if (act == LOOM_ACT_RELU)
        y = max(y, 0);
    else if (act == LOOM_ACT_LUT)
        y = lut[y + 128];
    return (char)y;
}
#endif

#endif /* LOOM_CL_H */
