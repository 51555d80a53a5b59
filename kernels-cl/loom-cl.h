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
#define LOOM_CL_ADD_RELU 5 /* a residual Add with its Relu fused */

/* Rank limit of the strided kernels (dims and strides travel as int8). */
#define LOOM_CL_MAX_RANK 8

/* Rows loom_gemv_f32 takes at most (more run on the GEMM). */
#define LOOM_GEMV_MAX_M 4

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
 * for every fp32 epilogue (GEMM, systolic GEMM, direct convolution). It
 * also defines T NAME##_erf(T x), erf within 4 ulps: PoCL 3.1's erf costs
 * about 17 ns an element on an AVX-512 core, this one 1.6. For |x| < 0.5
 * the Maclaurin series to x^13 (the next term is below 1e-9 relative);
 * else Abramowitz and Stegun 7.1.26, 1 - t p(t) exp(-x^2) with
 * t = 1 / (1 + 0.3275911 |x|), absolute error at most 1.5e-7 (Handbook of
 * Mathematical Functions, 1964, p. 299). NaN stays NaN, erf(+-inf) = +-1. */
#define LOOM_CL_ACT(NAME, T)                                                             \
static inline T NAME##_erf(T x)                                                         \
{                                                                                       \
    const T z = fabs(x), x2 = x * x;                                                    \
    const T s = x * (1.1283791671f + x2 * (-0.37612638903f + x2 * (0.11283791671f +     \
                     x2 * (-0.026866170645f + x2 * (0.0052239776254f +                  \
                     x2 * (-8.5483270235e-4f + x2 * 1.2055332982e-4f))))));           \
    const T t = 1.0f / (1.0f + 0.3275911f * z);                                         \
    const T p = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f +            \
                     t * (-1.453152027f + t * 1.061405429f))));                         \
    return select(copysign(1.0f - p * exp(-x2), x), s, z < 0.5f);                       \
}                                                                                       \
static inline T NAME(T x, int act, float a, float b)                                    \
{                                                                                       \
    switch (act) {                                                                      \
    case LOOM_ACT_RELU: return fmax(x, (T)(0.0f));                                      \
    case LOOM_ACT_SIGMOID: return 1.0f / (1.0f + exp(-x));                              \
    case LOOM_ACT_TANH: return tanh(x);                                                 \
    case LOOM_ACT_GELU: return 0.5f * x * (1.0f + NAME##_erf(x * M_SQRT1_2_F));         \
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
LOOM_CL_ACT(loom_act_f32x8, float8) /* row passes: a switch per 8 elements */

/* LOOM_CL_FOR_EACH(i, n): the element loop of the 1-D kernels, over
 * i in [0, n) shared by every work-item of the launch. With EW_CHUNKED 1
 * (CPUs) work-item g takes one contiguous run of ceil(n / global)
 * elements, which PoCL compiles to a tight loop (a grid-stride loop there
 * ran 5x slower: each work-item's accesses are global-size apart); with 0
 * (GPUs) the grid strides, so neighbouring work-items touch neighbouring
 * elements. Either way n + the global size must fit in an int. */
#ifndef EW_CHUNKED
#define EW_CHUNKED 1
#endif
#if EW_CHUNKED
#define LOOM_CL_FOR_EACH(i, n)                                                             \
    for (int i##_per = ((n) + (int)get_global_size(0) - 1) / (int)get_global_size(0),       \
             i = (int)get_global_id(0) * i##_per, i##_end = min(i + i##_per, (n));          \
         i < i##_end; i++)
#else
#define LOOM_CL_FOR_EACH(i, n) for (int i = (int)get_global_id(0); i < (n); i += (int)get_global_size(0))
#endif

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
