/*
 * elementwise.cl - fp32 element-wise kernels: unary math, broadcasting
 * binary arithmetic, the strided copy behind Transpose / Slice / Expand, and
 * the per-channel affine map of a folded BatchNormalization.
 *
 * Launch geometry (all four kernels): 1-D NDRange over output elements,
 *   global = any size >= 1 (a multiple of local), local = any size or NULL.
 * The work-items share the elements as LOOM_CL_FOR_EACH (loom-cl.h) says:
 * one contiguous run each on CPUs, a grid-stride loop on GPUs; so the host
 * may launch one work-item per element (global = ceil(n / L) * L) or cap
 * the global size (e.g. at a few work-groups per compute unit) for large n.
 * n == 0 needs no launch.
 * All sizes, strides and offsets are element counts and must fit in an int,
 * and so must n + the global size.
 *
 *   loom_unary(int n, __global const float *x, __global float *y,
 *              int op, float a, float b)
 *     y[i] = op(x[i]); op is LOOM_CL_* from loom-cl.h (RELU .. CLIP);
 *     CLIP uses a = min, b = max. An unknown op writes NaN.
 *
 *   loom_binary(int n, int rank, int8 dims, int8 sa, int8 sb,
 *               __global const float *a, int a_off,
 *               __global const float *b, int b_off,
 *               __global float *y, int op)
 *     numpy broadcasting: element i of y (n = prod(dims[0..rank)), C
 *     order) is op(a[a_off + sum idx[d] * sa[d]], b[b_off + sum idx[d] *
 *     sb[d]]) with idx the multi-index of i over dims; sa/sb are the
 *     inputs' element strides, 0 along broadcast dims. Components at and
 *     past rank are ignored. op is LOOM_CL_ADD .. LOOM_CL_POW; an unknown op
 *     writes NaN.
 *
 *   loom_strided_copy(int n, int rank, int8 dims, int8 src_strides,
 *                     int src_off, __global const float *x,
 *                     __global float *y)
 *     y[i] = x[src_off + sum idx[d] * src_strides[d]]; strides may be 0
 *     (Expand) or negative (Slice with negative steps).
 *
 *   loom_channel_affine(int n, int channels, int inner,
 *                       __global const float *x, __global const float *scale,
 *                       __global const float *shift, __global float *y)
 *     y[i] = x[i] * scale[c] + shift[c], c = (i / inner) % channels.
 *
 * The int8 vector arguments (dims, strides) are OpenCL `int8` values: the
 * host sets them with clSetKernelArg(k, idx, sizeof(cl_int8), &v), unused
 * components zero. In-place use (y aliasing x, or an input of loom_binary
 * at the same offset and with the output's layout) is safe for loom_unary,
 * loom_channel_affine and loom_binary; never for loom_strided_copy.
 */

/* ---- tuning knobs (host: -DKNOB=value) ---- */

#ifndef EW_FAST_PATH
#define EW_FAST_PATH 1 /* loom_binary: skip the multi-index arithmetic when
                          each input is whole or repeats (bias, scalar) */
#endif

/* Copies an int8 vector argument into a private array: OpenCL C 1.2 has no
 * variable subscripts on vectors. */
static inline void loom_ew_unpack8(int8 v, int *out)
{
    out[0] = v.s0;
    out[1] = v.s1;
    out[2] = v.s2;
    out[3] = v.s3;
    out[4] = v.s4;
    out[5] = v.s5;
    out[6] = v.s6;
    out[7] = v.s7;
}

/* Element offsets of linear index i (C order over dims[0..rank)) for two
 * stride vectors at once (a caller with one passes it twice; the compiler
 * drops the unused sum). */
static inline void loom_ew_offsets(int i, int rank, const int *dims, const int *sa,
                                   const int *sb, int *oa, int *ob)
{
    int a = 0, b = 0;
#pragma unroll
    for (int d = LOOM_CL_MAX_RANK - 1; d >= 0; d--)
        if (d < rank) {
            const int q = i / dims[d], idx = i - q * dims[d];
            a += idx * sa[d];
            b += idx * sb[d];
            i = q;
        }
    *oa = a;
    *ob = b;
}

/* The op switches sit outside the element loops: with the switch inside,
 * PoCL computed every case for every element (erf 17 ns an element, Relu
 * 2.4; hoisted: 2.1 and 0.5). */
#define LOOM_EW_UNARY(EXPR)                                                                 \
    LOOM_CL_FOR_EACH(i, n) {                                                                \
        const float v = x[i];                                                               \
        y[i] = (EXPR);                                                                      \
    }                                                                                       \
    break

__kernel void loom_unary(int n, __global const float *x, __global float *y,
                         int op, float a, float b)
{
    switch (op) {
    case LOOM_CL_RELU: LOOM_EW_UNARY(v > 0.0f ? v : 0.0f);
    case LOOM_CL_SIGMOID: LOOM_EW_UNARY(1.0f / (1.0f + exp(-v)));
    case LOOM_CL_TANH: LOOM_EW_UNARY(tanh(v));
    case LOOM_CL_ERF: LOOM_EW_UNARY(loom_act_f32_erf(v));
    case LOOM_CL_SQRT: LOOM_EW_UNARY(sqrt(v));
    case LOOM_CL_ABS: LOOM_EW_UNARY(fabs(v));
    case LOOM_CL_NEG: LOOM_EW_UNARY(-v);
    case LOOM_CL_EXP: LOOM_EW_UNARY(exp(v));
    case LOOM_CL_LOG: LOOM_EW_UNARY(log(v));
    case LOOM_CL_RECIPROCAL: LOOM_EW_UNARY(1.0f / v);
    /* Min(max, Max(x, min)) as the reference: with a > b every value
     * becomes b, and NaN stays NaN */
    case LOOM_CL_CLIP: LOOM_EW_UNARY((v < a ? a : v) > b ? b : (v < a ? a : v));
    default: LOOM_EW_UNARY(NAN);
    }
}

/* The repeat period of an operand read with strides st over dims: P when
 * the strides are C-order contiguous over the trailing dims (extents
 * multiplying to P) and 0 over the leading ones, so that element i reads
 * element i % P: the whole operand (P = n), a bias along the last dims, a
 * scalar (P = 1). 0 for any other layout. */
static inline int loom_ew_period(int rank, const int *dims, const int *st)
{
    int expect = 1, period = 1;
    bool lead = false;
#pragma unroll
    for (int d = LOOM_CL_MAX_RANK - 1; d >= 0; d--)
        if (d < rank && dims[d] != 1) {
            if (!lead && st[d] == expect)
                expect *= dims[d];
            else if (st[d] == 0)
                lead = true;
            else
                period = 0;
        }
    return period ? expect : 0;
}

#ifdef LOOM_FAULT_WRONG_ADD /* test-only: LOOM_TEST_FAULT=opencl-wrong-add */
#define LOOM_EW_ADD(x0, x1) ((x0) + (x1) + 1e-3f)
#else
#define LOOM_EW_ADD(x0, x1) ((x0) + (x1))
#endif

/* One element loop per layout: both operands whole (no index arithmetic),
 * both periodic (a running index each, wrapped; modulo on GPUs, where
 * work-items stride), or any strides (the multi-index of each element). */
#if EW_CHUNKED
#define LOOM_EW_PERIODIC_INDEX(o, p) (o = o < 0 ? i % (p) : (o + 1 == (p) ? 0 : o + 1))
#else
#define LOOM_EW_PERIODIC_INDEX(o, p) (o = i % (p))
#endif
#define LOOM_EW_BINARY(EXPR)                                                                \
    if (pa == n && pb == n) {                                                               \
        LOOM_CL_FOR_EACH(i, n) {                                                            \
            const float x0 = a[i], x1 = b[i];                                               \
            y[i] = (EXPR);                                                                  \
        }                                                                                   \
    } else if (pa && pb) {                                                                  \
        int oa = -1, ob = -1;                                                               \
        LOOM_CL_FOR_EACH(i, n) {                                                            \
            const float x0 = a[LOOM_EW_PERIODIC_INDEX(oa, pa)];                             \
            const float x1 = b[LOOM_EW_PERIODIC_INDEX(ob, pb)];                             \
            y[i] = (EXPR);                                                                  \
        }                                                                                   \
    } else {                                                                                \
        LOOM_CL_FOR_EACH(i, n) {                                                            \
            int oa, ob;                                                                     \
            loom_ew_offsets(i, rank, dv, av, bv, &oa, &ob);                                 \
            const float x0 = a[oa], x1 = b[ob];                                             \
            y[i] = (EXPR);                                                                  \
        }                                                                                   \
    }                                                                                       \
    break

__kernel void loom_binary(int n, int rank, int8 dims, int8 sa, int8 sb,
                          __global const float *a, int a_off,
                          __global const float *b, int b_off,
                          __global float *y, int op)
{
    int dv[LOOM_CL_MAX_RANK], av[LOOM_CL_MAX_RANK], bv[LOOM_CL_MAX_RANK];
    int pa, pb;

    loom_ew_unpack8(dims, dv);
    loom_ew_unpack8(sa, av);
    loom_ew_unpack8(sb, bv);
    pa = EW_FAST_PATH ? loom_ew_period(rank, dv, av) : 0;
    pb = EW_FAST_PATH ? loom_ew_period(rank, dv, bv) : 0;
    a += a_off;
    b += b_off;
    switch (op) {
    case LOOM_CL_ADD: LOOM_EW_BINARY(LOOM_EW_ADD(x0, x1));
    case LOOM_CL_SUB: LOOM_EW_BINARY(x0 - x1);
    case LOOM_CL_MUL: LOOM_EW_BINARY(x0 * x1);
    case LOOM_CL_DIV: LOOM_EW_BINARY(x0 / x1);
    case LOOM_CL_POW: LOOM_EW_BINARY(pow(x0, x1));
    default: LOOM_EW_BINARY(NAN);
    }
}

__kernel void loom_strided_copy(int n, int rank, int8 dims, int8 src_strides, int src_off,
                                __global const float *x, __global float *y)
{
    int dv[LOOM_CL_MAX_RANK], sv[LOOM_CL_MAX_RANK];

    loom_ew_unpack8(dims, dv);
    loom_ew_unpack8(src_strides, sv);
    x += src_off;
    LOOM_CL_FOR_EACH(i, n) {
        int off, same;
        loom_ew_offsets(i, rank, dv, sv, sv, &off, &same);
        y[i] = x[off];
    }
}

__kernel void loom_channel_affine(int n, int channels, int inner,
                                  __global const float *x, __global const float *scale,
                                  __global const float *shift, __global float *y)
{
    LOOM_CL_FOR_EACH(i, n) {
        const int c = (i / inner) % channels;
        y[i] = x[i] * scale[c] + shift[c];
    }
}
