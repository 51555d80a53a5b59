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
                          each input is whole or repeats (bias, channel
                          scale, scalar) */
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

/* Whether an operand read with strides st over dims repeats as
 * element (i / inner) % period of a contiguous run: strides 0 over the
 * trailing dims (their extents multiplying to inner), C-order contiguous
 * over the next ones (to period), 0 over the leading ones. The whole
 * operand (inner 1, period n), a bias along the last dims (inner 1), a
 * per-channel scale of NCHW (inner H*W, period C), a scalar (period 1). */
static inline bool loom_ew_pattern(int rank, const int *dims, const int *st, int *inner, int *period)
{
    int in = 1, per = 1, phase = 0; /* 0: trailing zeros, 1: contiguous, 2: leading zeros */
    bool ok = true;
#pragma unroll
    for (int d = LOOM_CL_MAX_RANK - 1; d >= 0; d--)
        if (d < rank && dims[d] != 1) {
            if (phase == 0 && st[d] == 0)
                in *= dims[d];
            else if (phase <= 1 && st[d] == per) {
                phase = 1;
                per *= dims[d];
            } else if (st[d] == 0)
                phase = 2;
            else
                ok = false;
        }
    if (per == 1)
        in = 1; /* a scalar */
    *inner = in;
    *period = per;
    return ok;
}

#ifdef LOOM_FAULT_WRONG_ADD /* test-only: LOOM_TEST_FAULT=opencl-wrong-add */
#define LOOM_EW_ADD(x0, x1) ((x0) + (x1) + 1e-3f)
#else
#define LOOM_EW_ADD(x0, x1) ((x0) + (x1))
#endif

static inline float loom_ew_relu(float x)
{
    return x > 0.0f ? x : 0.0f;
}

/* One element loop per layout: both operands whole (no index arithmetic);
 * both repeating (loom_ew_pattern), where on CPUs a work-item's run is cut
 * into segments along which each operand either advances by one or stays
 * put, each segment a plain loop (on GPUs, where work-items stride, a
 * division per element); or any strides (the multi-index of each
 * element). */
#if EW_CHUNKED
#define LOOM_EW_REPEATING(EXPR)                                                             \
    {                                                                                       \
        const int per_ = (n + (int)get_global_size(0) - 1) / (int)get_global_size(0);      \
        const int s_ = (int)get_global_id(0) * per_, e_ = min(s_ + per_, n);               \
        int ra = s_ % ia, oa = (s_ / ia) % pa, rb = s_ % ib, ob = (s_ / ib) % pb;           \
        for (int i = s_; i < e_;) {                                                         \
            const int la = ia == 1 ? pa - oa : ia - ra, lb = ib == 1 ? pb - ob : ib - rb;   \
            const int len = min(min(la, lb), e_ - i);                                       \
            __global const float *a_ = a + oa, *b_ = b + ob;                                \
            __global float *y_ = y + i;                                                     \
            if (ia == 1 && ib == 1) {                                                       \
                for (int j = 0; j < len; j++) {                                             \
                    const float x0 = a_[j], x1 = b_[j];                                     \
                    y_[j] = (EXPR);                                                         \
                }                                                                           \
            } else if (ia == 1) {                                                           \
                const float x1 = *b_;                                                       \
                for (int j = 0; j < len; j++) {                                             \
                    const float x0 = a_[j];                                                 \
                    y_[j] = (EXPR);                                                         \
                }                                                                           \
            } else if (ib == 1) {                                                           \
                const float x0 = *a_;                                                       \
                for (int j = 0; j < len; j++) {                                             \
                    const float x1 = b_[j];                                                 \
                    y_[j] = (EXPR);                                                         \
                }                                                                           \
            } else {                                                                        \
                const float x0 = *a_, x1 = *b_, r_ = (EXPR);                                \
                for (int j = 0; j < len; j++)                                               \
                    y_[j] = r_;                                                             \
            }                                                                               \
            i += len;                                                                       \
            if (ia == 1)                                                                    \
                oa = oa + len == pa ? 0 : oa + len;                                         \
            else if ((ra += len) == ia)                                                     \
                ra = 0, oa = oa + 1 == pa ? 0 : oa + 1;                                     \
            if (ib == 1)                                                                    \
                ob = ob + len == pb ? 0 : ob + len;                                         \
            else if ((rb += len) == ib)                                                     \
                rb = 0, ob = ob + 1 == pb ? 0 : ob + 1;                                     \
        }                                                                                   \
    }
#else
#define LOOM_EW_REPEATING(EXPR)                                                             \
    LOOM_CL_FOR_EACH(i, n) {                                                                \
        const float x0 = a[(i / ia) % pa], x1 = b[(i / ib) % pb];                           \
        y[i] = (EXPR);                                                                      \
    }
#endif
#define LOOM_EW_BINARY(EXPR)                                                                \
    if (whole) {                                                                            \
        LOOM_CL_FOR_EACH(i, n) {                                                            \
            const float x0 = a[i], x1 = b[i];                                               \
            y[i] = (EXPR);                                                                  \
        }                                                                                   \
    } else if (pat) {                                                                       \
        LOOM_EW_REPEATING(EXPR)                                                             \
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
    int ia, pa, ib, pb;
    bool pat, whole;

    loom_ew_unpack8(dims, dv);
    loom_ew_unpack8(sa, av);
    loom_ew_unpack8(sb, bv);
    pat = EW_FAST_PATH && loom_ew_pattern(rank, dv, av, &ia, &pa) && loom_ew_pattern(rank, dv, bv, &ib, &pb);
    whole = pat && ia == 1 && pa == n && ib == 1 && pb == n;
    /* a scalar stays put over the whole range */
    ia = pa == 1 ? max(n, 1) : ia;
    ib = pb == 1 ? max(n, 1) : ib;
    a += a_off;
    b += b_off;
    switch (op) {
    case LOOM_CL_ADD: LOOM_EW_BINARY(LOOM_EW_ADD(x0, x1));
    case LOOM_CL_SUB: LOOM_EW_BINARY(x0 - x1);
    case LOOM_CL_MUL: LOOM_EW_BINARY(x0 * x1);
    case LOOM_CL_DIV: LOOM_EW_BINARY(x0 / x1);
    case LOOM_CL_POW: LOOM_EW_BINARY(pow(x0, x1));
    /* as the reference's Relu: x > 0 ? x : 0 (NaN -> 0) */
    case LOOM_CL_ADD_RELU: LOOM_EW_BINARY(loom_ew_relu(LOOM_EW_ADD(x0, x1)));
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
#if EW_CHUNKED
    /* a work-item's elements are consecutive: the multi-index of its first
     * one, then an odometer (Transpose and Slice 5x faster on PoCL than a
     * division per dim and element) */
    int idx[LOOM_CL_MAX_RANK], off = 0;
    bool first = true;
    LOOM_CL_FOR_EACH(i, n) {
        if (first) {
            int t = i;
            for (int d = rank - 1; d >= 0; d--) {
                const int q = t / dv[d];
                idx[d] = t - q * dv[d];
                off += idx[d] * sv[d];
                t = q;
            }
            first = false;
        }
        y[i] = x[off];
        for (int d = rank - 1; d >= 0; d--) {
            off += sv[d];
            if (++idx[d] < dv[d])
                break;
            off -= sv[d] * dv[d];
            idx[d] = 0;
        }
    }
#else
    LOOM_CL_FOR_EACH(i, n) {
        int off, same;
        loom_ew_offsets(i, rank, dv, sv, sv, &off, &same);
        y[i] = x[off];
    }
#endif
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
