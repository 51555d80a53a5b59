/*
 * elementwise.cl - fp32 element-wise kernels: unary math, broadcasting
 * binary arithmetic, the strided copy behind Transpose / Slice / Expand, and
 * the per-channel affine map of a folded BatchNormalization.
 *
 * Launch geometry (all four kernels): 1-D NDRange over output elements,
 *   global = any size >= 1 (a multiple of local), local = any size or NULL.
 * Each work-item handles elements i = get_global_id(0), then i +
 * get_global_size(0), ... while i < n, so the host may launch one work-item
 * per element (global = ceil(n / L) * L) or cap the global size (e.g. at a
 * few work-groups per compute unit) for large n. n == 0 needs no launch.
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
#define EW_FAST_PATH 1 /* loom_binary: skip index arithmetic when a, b and y
                          are all contiguous with the same shape */
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

/* Whether strides st are the C-order contiguous strides of dims. */
static inline bool loom_ew_contiguous(int rank, const int *dims, const int *st)
{
    int expect = 1;
    bool ok = true;
#pragma unroll
    for (int d = LOOM_CL_MAX_RANK - 1; d >= 0; d--)
        if (d < rank) {
            /* a dim of extent 1 never advances, so its stride is free */
            ok = ok && (dims[d] == 1 || st[d] == expect);
            expect *= dims[d];
        }
    return ok;
}

__kernel void loom_unary(int n, __global const float *x, __global float *y,
                         int op, float a, float b)
{
    for (int i = (int)get_global_id(0); i < n; i += (int)get_global_size(0)) {
        const float v = x[i];
        float r;
        switch (op) {
        case LOOM_CL_RELU: r = v > 0.0f ? v : 0.0f; break;
        case LOOM_CL_SIGMOID: r = 1.0f / (1.0f + exp(-v)); break;
        case LOOM_CL_TANH: r = tanh(v); break;
        case LOOM_CL_ERF: r = erf(v); break;
        case LOOM_CL_SQRT: r = sqrt(v); break;
        case LOOM_CL_ABS: r = fabs(v); break;
        case LOOM_CL_NEG: r = -v; break;
        case LOOM_CL_EXP: r = exp(v); break;
        case LOOM_CL_LOG: r = log(v); break;
        case LOOM_CL_RECIPROCAL: r = 1.0f / v; break;
        case LOOM_CL_CLIP: {
            /* Min(max, Max(x, min)) as the reference: with a > b every
             * value becomes b, and NaN stays NaN */
            const float lo = v < a ? a : v;
            r = lo > b ? b : lo;
            break;
        }
        default: r = NAN; break;
        }
        y[i] = r;
    }
}

__kernel void loom_binary(int n, int rank, int8 dims, int8 sa, int8 sb,
                          __global const float *a, int a_off,
                          __global const float *b, int b_off,
                          __global float *y, int op)
{
    int dv[LOOM_CL_MAX_RANK], av[LOOM_CL_MAX_RANK], bv[LOOM_CL_MAX_RANK];
    bool flat;

    loom_ew_unpack8(dims, dv);
    loom_ew_unpack8(sa, av);
    loom_ew_unpack8(sb, bv);
    flat = EW_FAST_PATH && loom_ew_contiguous(rank, dv, av) && loom_ew_contiguous(rank, dv, bv);
    a += a_off;
    b += b_off;
    for (int i = (int)get_global_id(0); i < n; i += (int)get_global_size(0)) {
        int oa = i, ob = i;
        float x0, x1, r;

        if (!flat)
            loom_ew_offsets(i, rank, dv, av, bv, &oa, &ob);
        x0 = a[oa];
        x1 = b[ob];
        switch (op) {
        case LOOM_CL_ADD:
            r = x0 + x1;
#ifdef LOOM_FAULT_WRONG_ADD /* test-only: LOOM_TEST_FAULT=opencl-wrong-add */
            r += 1e-3f;
#endif
            break;
        case LOOM_CL_SUB: r = x0 - x1; break;
        case LOOM_CL_MUL: r = x0 * x1; break;
        case LOOM_CL_DIV: r = x0 / x1; break;
        case LOOM_CL_POW: r = pow(x0, x1); break;
        default: r = NAN; break;
        }
        y[i] = r;
    }
}

__kernel void loom_strided_copy(int n, int rank, int8 dims, int8 src_strides, int src_off,
                                __global const float *x, __global float *y)
{
    int dv[LOOM_CL_MAX_RANK], sv[LOOM_CL_MAX_RANK];

    loom_ew_unpack8(dims, dv);
    loom_ew_unpack8(src_strides, sv);
    x += src_off;
    for (int i = (int)get_global_id(0); i < n; i += (int)get_global_size(0)) {
        int off, same;
        loom_ew_offsets(i, rank, dv, sv, sv, &off, &same);
        y[i] = x[off];
    }
}

__kernel void loom_channel_affine(int n, int channels, int inner,
                                  __global const float *x, __global const float *scale,
                                  __global const float *shift, __global float *y)
{
    for (int i = (int)get_global_id(0); i < n; i += (int)get_global_size(0)) {
        const int c = (i / inner) % channels;
        y[i] = x[i] * scale[c] + shift[c];
    }
}
