/*
 * nn.cl - neural-network kernels: softmax, layer normalisation, fp32
 * convolution (im2col and 2-D transpose around the GEMM, and a direct
 * kernel for grouped and depthwise layers), the int8 versions for LoomQConv,
 * max/average pooling and global average pooling. Semantics follow the
 * reference backend (host/src/backends/ref/ref-nn.c).
 *
 * All sizes, strides and offsets are element counts and must fit in an int
 * (so must n + the global size of the grid-stride kernels).
 *
 * Row reductions: loom_softmax, loom_layernorm, loom_global_avgpool
 *   One work-group per row; its work-items stride over the row and combine
 *   their partial results through local memory.
 *     local  = { L }, 1 <= L <= NN_WG_MAX (a power of two is fastest)
 *     global = { rows * L }
 *   rows = outer * inner (softmax), outer (layernorm), planes (global
 *   avgpool). L is chosen per launch: on GPUs L = min(NN_WG_MAX,
 *   next_pow2(len)) (at least the SIMD width); on CPUs small L (1..16) is
 *   best whenever rows alone give enough parallelism. L = 1 is one work-item
 *   per row, which also makes adjacent work-items read adjacent elements
 *   when softmax's inner > 1. Local memory: NN_WG_MAX floats, declared in
 *   the kernels (no local-memory argument).
 *
 *   loom_softmax(int outer, int len, int inner, __global const float *x,
 *                __global float *y)
 *     softmax along the middle dim of [outer, len, inner], the maximum
 *     subtracted first; row (o, i) is group o * inner + i.
 *
 *   loom_layernorm(int outer, int len, __global const float *x,
 *                  __global const float *scale, __global const float *bias,
 *                  int has_bias, float eps, __global float *y)
 *     each row of len: y = (x - mean) / sqrt(var + eps) * scale[k] + bias[k]
 *     with the population variance; bias may be a NULL buffer when
 *     has_bias is 0.
 *
 *   loom_global_avgpool(int planes, int len, __global const float *x,
 *                       __global float *y)
 *     y[p] = mean of x[p * len .. p * len + len); len == 0 gives NaN.
 *
 *   loom_softmax and loom_layernorm are safe in place (y == x);
 *   loom_global_avgpool is not (a group's y[p] may lie in another's row).
 *
 * loom_im2col / loom_im2col_i8(int C, int H, int W, int KH, int KW, int SH,
 *   (and the copies for one square window: loom_im2col_k1/_k3/_k5/_k7,
 *   loom_im2col_i8_k1/_k3/_k7, which need KH = KW = that size)
 *                int SW, int PH, int PW, int DH, int DW, int OH, int OW,
 *                __global const T *x, int x_off,
 *                __global T *col, int col_off, int ldcol)   (T float / char)
 *   The transposed im2col matrix of one image x[C, H, W] (at x_off):
 *     colT[p, ck] = x[c, oh*SH - PH + kh*DH, ow*SW - PW + kw*DW], or 0 where
 *     that is outside the image (padding), with p = oh * OW + ow and
 *     ck = (c * KH + kh) * KW + kw, stored at col[col_off + p * ldcol + ck];
 *     columns ck >= C*KH*KW of each row are not written.
 *   1-D NDRange over the pixels p (LOOM_CL_FOR_EACH: a run of pixels per
 *   work-item on CPUs), each writing its whole row of C*KH*KW values with
 *   running indices (no division per element): global any size >= 1, one
 *   pixel per work-item with global = ceil(OH*OW / L) * L; local any or
 *   NULL.
 *
 * loom_conv2d_direct(int C, int H, int W, int M, int G, int8 win, int OH,
 *                    int OW, int rows, __global const float *x,
 *                    __global const float *w, __global const float *bias,
 *                    int has_bias, __global float *y, int act, float act_a,
 *                    float act_b)
 *   A whole grouped 2-D convolution (depthwise included: C == G) in one
 *   launch, every image and group:
 *     y[b, m, oh, ow] = act(bias[m] + sum over c < C/G, kh, kw of
 *         x[b, g*(C/G) + c, oh*SH - PH + kh*DH, ow*SW - PW + kw*DW]
 *         * w[m, c, kh, kw]),  g = m / (M/G),
 *   zero outside the image; w in ONNX layout [M, C/G, KH, KW]; act any fp32
 *   LOOM_ACT_* (loom-cl.h's loom_act_f32); bias may be a NULL buffer when
 *   has_bias is 0. rows = batch * M * OH.
 *   1-D NDRange, grid-stride over the rows r = (b * M + m) * OH + oh of
 *   the output, one row per work-item at a time: global any size >= 1,
 *   local any (1 on CPUs: each row's loops are vectorised, not the
 *   work-items). Not in place (y must not alias x).
 *
 * loom_transpose2d / loom_transpose2d_i8(int rows, int cols,
 *                     __global const T *x, int x_off, __global T *y, int y_off)
 *   y[y_off + c * rows + r] = x[x_off + r * cols + c], through a local
 *   TR_TILE x TR_TILE tile so that both the reads and the writes are
 *   contiguous.
 *     local  = { TR_TILE, TR_TILE }   (fixed by reqd_work_group_size)
 *     global = { ceil(cols / TR_TILE) * TR_TILE,
 *                ceil(rows / TR_TILE) * TR_TILE }
 *   Local memory: TR_TILE * (TR_TILE + 1) floats, declared in the kernel.
 *   Not in place.
 *
 * loom_pool2d(int planes, int H, int W, int OH, int OW, int KH, int KW,
 *             int SH, int SW, int PT, int PL, int PB, int PR, int DH, int DW,
 *             int is_max, int count_include_pad,
 *             __global const float *x, __global float *y)
 *   Max or average pooling of planes x [H, W] into planes x [OH, OW] with
 *   pads top/left/bottom/right and dilation, as loom__ref_pool (PyTorch
 *   semantics, ceil-mode windows included): the window of output (oh, ow)
 *   starts at oh*SH - PT, ow*SW - PL and spans (KH-1)*DH+1 x (KW-1)*DW+1;
 *   max ignores padding (-inf for a window with no real element); average
 *   divides by the window clipped to the padded extent [-PT, H+PB) x
 *   [-PL, W+PR) when count_include_pad, else by the number of real
 *   elements (0 if there is none).
 *   1-D NDRange over the planes * OH * OW outputs, grid-stride:
 *     global = any size >= 1, one output per work-item with
 *     global = ceil(planes*OH*OW / L) * L; local = any or NULL.
 */

/* ---- tuning knobs (host: -DKNOB=value) ---- */

#ifndef NN_WG_MAX
#define NN_WG_MAX 256 /* largest local size of the row reductions (the local
                         scratch holds this many floats) */
#endif
#ifndef TR_TILE
#define TR_TILE 16 /* loom_transpose2d tile edge: local size TR_TILE x TR_TILE */
#endif

/* ---- work-group reductions ---- */

/* Reduces v over the work-group with OP(acc, other) and returns the result
 * to every work-item. Any local size up to NN_WG_MAX: the tree runs over the
 * next power of two and skips partners past the end. Every work-item of the
 * group must call it (it contains barriers); scratch is free again on
 * return. */
#define LOOM_NN_DEFINE_WG_REDUCE(NAME, OP)                                     \
    static inline float NAME(float v, __local float *scratch)                  \
    {                                                                          \
        const int lid = (int)get_local_id(0), lsz = (int)get_local_size(0);    \
        int span = 1;                                                          \
        while (span < lsz)                                                     \
            span <<= 1;                                                        \
        scratch[lid] = v;                                                      \
        barrier(CLK_LOCAL_MEM_FENCE);                                          \
        for (int s = span >> 1; s > 0; s >>= 1) {                              \
            if (lid < s && lid + s < lsz)                                      \
                scratch[lid] = OP(scratch[lid], scratch[lid + s]);             \
            barrier(CLK_LOCAL_MEM_FENCE);                                      \
        }                                                                      \
        v = scratch[0];                                                        \
        barrier(CLK_LOCAL_MEM_FENCE);                                          \
        return v;                                                              \
    }

#define LOOM_NN_ADD(p, q) ((p) + (q))
/* the reference's running maximum: NaN never replaces a number */
#define LOOM_NN_MAX(p, q) ((q) > (p) ? (q) : (p))

LOOM_NN_DEFINE_WG_REDUCE(loom_nn_wg_sum, LOOM_NN_ADD)
LOOM_NN_DEFINE_WG_REDUCE(loom_nn_wg_max, LOOM_NN_MAX)

/* ---- row reductions ----
 *
 * Early returns: these kernels never `return` ahead of their barriers, not
 * even uniformly for a whole work-group. PoCL 3.1 miscompiled that form
 * (loom_layernorm with a `row >= outer` return crashed at local size 3), so
 * a group past the last row (none, with the geometry above) walks an empty
 * row instead and still takes part in every barrier. */

__kernel void loom_softmax(int outer, int len, int inner,
                           __global const float *x, __global float *y)
{
    __local float scratch[NN_WG_MAX];
    const int row = (int)get_group_id(0);
    const int lid = (int)get_local_id(0), lsz = (int)get_local_size(0);
    const bool live = row < outer * inner; /* see "Early returns" */
    const int n = live ? len : 0, r = live ? row : 0;
    const int o = live ? r / inner : 0, i = r - o * inner;
    float mx = -INFINITY, sum = 0.0f;

    x += (size_t)o * len * inner + i;
    y += (size_t)o * len * inner + i;
    for (int k = lid; k < n; k += lsz)
        mx = LOOM_NN_MAX(mx, x[(size_t)k * inner]);
    mx = loom_nn_wg_max(mx, scratch);
    for (int k = lid; k < n; k += lsz)
        sum += exp(x[(size_t)k * inner] - mx);
    sum = loom_nn_wg_sum(sum, scratch);
    /* recompute exp rather than re-read y: one store per element, and the
     * last pass reads each element just before its own work-item writes it,
     * so y == x is safe */
    for (int k = lid; k < n; k += lsz)
        y[(size_t)k * inner] = exp(x[(size_t)k * inner] - mx) / sum;
}

__kernel void loom_layernorm(int outer, int len, __global const float *x,
                             __global const float *scale, __global const float *bias,
                             int has_bias, float eps, __global float *y)
{
    __local float scratch[NN_WG_MAX];
    const int row = (int)get_group_id(0);
    const int lid = (int)get_local_id(0), lsz = (int)get_local_size(0);
    const bool live = row < outer; /* see "Early returns" */
    const int n = live ? len : 0;
    const float inv_len = 1.0f / (float)(len > 0 ? len : 1);
    float mean = 0.0f, var = 0.0f, inv;

    x += live ? (size_t)row * len : 0;
    y += live ? (size_t)row * len : 0;
    /* two passes (mean, then squared deviations) as the reference */
    for (int k = lid; k < n; k += lsz)
        mean += x[k];
    mean = loom_nn_wg_sum(mean, scratch) * inv_len;
    for (int k = lid; k < n; k += lsz) {
        const float d = x[k] - mean;
        var += d * d;
    }
    var = loom_nn_wg_sum(var, scratch) * inv_len;
    inv = 1.0f / sqrt(var + eps);
    for (int k = lid; k < n; k += lsz)
        y[k] = (x[k] - mean) * inv * scale[k] + (has_bias ? bias[k] : 0.0f);
}

__kernel void loom_global_avgpool(int planes, int len, __global const float *x,
                                  __global float *y)
{
    __local float scratch[NN_WG_MAX];
    const int plane = (int)get_group_id(0);
    const int lid = (int)get_local_id(0), lsz = (int)get_local_size(0);
    const bool live = plane < planes; /* see "Early returns" */
    const int n = live ? len : 0;
    float sum = 0.0f;

    x += live ? (size_t)plane * len : 0;
    for (int k = lid; k < n; k += lsz)
        sum += x[k];
    sum = loom_nn_wg_sum(sum, scratch);
    if (lid == 0 && live)
        y[plane] = sum / (float)len; /* 0 / 0 = NaN for an empty plane */
}

/* ---- convolution through GEMM ---- */

/* loom_im2col / loom_im2col_i8 (float / int8 tensors; zero padding is
 * exact for int8 too: loom's activations have zero point 0):
 * col[p, ck] = x[c, oh*SH - PH + kh*DH, ow*SW - PW + kw*DW] or 0 outside,
 * p = oh*OW + ow, ck = (c*KH + kh)*KW + kw. */
#define LOOM_IM2COL(NAME, T, KC, UNROLL)                                                      \
__kernel void NAME(int C, int H, int W, int KH, int KW, int SH, int SW, int PH, int PW,       \
                   int DH, int DW, int OH, int OW,                                            \
                   __global const T *x, int x_off,                                            \
                   __global T *col, int col_off, int ldcol)                                   \
{                                                                                             \
    const int P = OH * OW, kh_n = KC ? KC : KH, kw_n = KC ? KC : KW;                         \
                                                                                              \
    x += x_off;                                                                               \
    col += col_off;                                                                           \
    LOOM_CL_FOR_EACH(p, P) {                                                                  \
        const int oh = p / OW, ow = p - oh * OW;                                              \
        const int h0 = oh * SH - PH, w0 = ow * SW - PW;                                       \
        __global T *dst = col + (size_t)p * ldcol;                                            \
        for (int c = 0; c < C; c++) {                                                         \
            UNROLL                                                                            \
            for (int kh = 0; kh < kh_n; kh++) {                                               \
                const int ih = h0 + kh * DH;                                                  \
                const bool hin = ih >= 0 && ih < H;                                           \
                __global const T *src = x + ((size_t)c * H + (hin ? ih : 0)) * W;             \
                UNROLL                                                                        \
                for (int kw = 0; kw < kw_n; kw++) {                                           \
                    const int iw = w0 + kw * DW;                                              \
                    dst[kw] = hin && iw >= 0 && iw < W ? src[iw] : (T)0;                      \
                }                                                                             \
                dst += kw_n;                                                                  \
            }                                                                                 \
        }                                                                                     \
    }                                                                                         \
}
/* KH = KW a literal in the _kN copies, their window loops unrolled: 3x3
 * layers 3-4x faster than with the window at run time on PoCL here (and
 * a conditional load, not a clamped load and a select: 3x) */
#define LOOM_IM2COL_UNROLL _Pragma("unroll")
LOOM_IM2COL(loom_im2col, float, 0, )
LOOM_IM2COL(loom_im2col_k1, float, 1, LOOM_IM2COL_UNROLL)
LOOM_IM2COL(loom_im2col_k3, float, 3, LOOM_IM2COL_UNROLL)
LOOM_IM2COL(loom_im2col_k5, float, 5, LOOM_IM2COL_UNROLL)
LOOM_IM2COL(loom_im2col_k7, float, 7, LOOM_IM2COL_UNROLL)
LOOM_IM2COL(loom_im2col_i8, char, 0, )
LOOM_IM2COL(loom_im2col_i8_k1, char, 1, LOOM_IM2COL_UNROLL)
LOOM_IM2COL(loom_im2col_i8_k3, char, 3, LOOM_IM2COL_UNROLL)
LOOM_IM2COL(loom_im2col_i8_k7, char, 7, LOOM_IM2COL_UNROLL)

/* loom_conv2d_direct: one output row per work-item, accumulated in place
 * in y, one tap at a time over the row's pixels (inner loops without
 * branches, which the CPU compilers vectorise); the column range each tap
 * reads inside the image is computed, not tested per pixel. */
__kernel void loom_conv2d_direct(int C, int H, int W, int M, int G, int8 win, int OH, int OW,
                                 int rows, __global const float *x, __global const float *w,
                                 __global const float *bias, int has_bias, __global float *y,
                                 int act, float act_a, float act_b)
{
    const int KH = win.s0, KW = win.s1, SH = win.s2, SW = win.s3;
    const int PH = win.s4, PW = win.s5, DH = win.s6, DW = win.s7;
    const int Cg = C / G, Mg = M / G;

    for (int r = (int)get_global_id(0); r < rows; r += (int)get_global_size(0)) {
        const int oh = r % OH, bm = r / OH, m = bm % M, b = bm / M;
        const int h0 = oh * SH - PH;
        __global const float *xg = x + ((size_t)b * C + (size_t)(m / Mg) * Cg) * H * W;
        __global const float *wm = w + (size_t)m * Cg * KH * KW;
        __global float *yr = y + (size_t)r * OW;
        const float b0 = has_bias ? bias[m] : 0.0f;

        for (int ow = 0; ow < OW; ow++)
            yr[ow] = b0;
        for (int kw = 0; kw < KW; kw++) {
            /* the pixels whose input column iw = ow*SW - PW + kw*DW lies
             * in [0, W): ow in [lo, hi) */
            const int off = kw * DW - PW;
            const int lo = off >= 0 ? 0 : (-off + SW - 1) / SW;
            const int hi = W - off <= 0 ? 0 : min(OW, (W - off + SW - 1) / SW);
            for (int c = 0; c < Cg; c++)
                for (int kh = 0; kh < KH; kh++) {
                    const int ih = h0 + kh * DH;
                    if (ih < 0 || ih >= H)
                        continue;
                    __global const float *xr = xg + ((size_t)c * H + ih) * W + off;
                    const float wv = wm[(c * KH + kh) * KW + kw];
                    if (SW == 1)
                        for (int ow = lo; ow < hi; ow++)
                            yr[ow] = fma(xr[ow], wv, yr[ow]);
                    else
                        for (int ow = lo; ow < hi; ow++)
                            yr[ow] = fma(xr[ow * SW], wv, yr[ow]);
                }
        }
        if (act != LOOM_ACT_NONE)
            for (int ow = 0; ow < OW; ow++)
                yr[ow] = loom_act_f32(yr[ow], act, act_a, act_b);
    }
}

/* loom_dwconv2d_kK: depthwise convolution (each output channel reads its
 * own input channel: G == C == M), one output row per work-item (a few
 * per compute unit at a time), each pixel accumulated in a register. The
 * K x K window is a literal (0: KH x KW from win, at run time), so its
 * loops unroll and its weights sit in registers. Columns whose window
 * lies inside the image, [lo, hi), read their taps without tests (rows
 * outside the image are skipped as a range); the few border columns test
 * each tap. The interior's loops are bounded by the literal itself and
 * unrolled by pragma: bounded by KH/KW (the same value, folded) PoCL
 * left them rolled and ran 4x slower. The activation is a pass over the
 * finished row, its switch outside the loop (inside, PoCL computes every
 * case for every element).
 * On PoCL this ran 4-6x faster than one output element per step with the
 * window tests per element (144 channels at 56 x 56: 8.8 -> 1.5 ns an
 * output for 3 x 3, 16 -> 3.5 for 5 x 5). */
#define LOOM_DWCONV(NAME, KS)                                                                  \
__kernel void NAME(int planes, int C, int H, int W, int OH, int OW, int8 win,                   \
                   __global const float *x, __global const float *w,                           \
                   __global const float *bias, int has_bias, __global float *y,                \
                   int act, float act_a, float act_b)                                          \
{                                                                                              \
    const int KH = KS ? KS : win.s0, KW = KS ? KS : win.s1, SH = win.s2, SW = win.s3;          \
    const int PH = win.s4, PW = win.s5, DH = win.s6, DW = win.s7;                              \
    const int rows = planes * OH, reach = (KW - 1) * DW;                                       \
    /* ow in [lo, hi): ow * SW - PW >= 0 and ow * SW - PW + reach < W */                       \
    const int lo = min(OW, (PW + SW - 1) / SW);                                                \
    const int hi = W - 1 - reach + PW >= 0 ? max(lo, min(OW, (W - 1 - reach + PW) / SW + 1)) : lo; \
                                                                                               \
    for (int r = (int)get_global_id(0); r < rows; r += (int)get_global_size(0)) {              \
        const int oh = r % OH, plane = r / OH, m = plane % C, h0 = oh * SH - PH;               \
        __global const float *xp = x + (size_t)plane * H * W;                                  \
        __global const float *wm = w + (size_t)m * KH * KW;                                    \
        __global float *yr = y + (size_t)r * OW;                                               \
        const float b0 = has_bias ? bias[m] : 0.0f;                                            \
        float wk[KS ? KS * KS : 1];                                                            \
        int k0 = 0, k1 = KH; /* the window rows inside the image */                            \
        if (KS)                                                                                \
            for (int k = 0; k < KS * KS; k++)                                                  \
                wk[k] = wm[k];                                                                 \
        while (k0 < KH && h0 + k0 * DH < 0)                                                    \
            k0++;                                                                              \
        while (k1 > k0 && h0 + (k1 - 1) * DH >= H)                                             \
            k1--;                                                                              \
        for (int ow = 0; ow < OW; ow++) {                                                      \
            float acc = b0;                                                                    \
            if (ow == lo)                                                                      \
                ow = hi;                                                                       \
            if (ow >= OW)                                                                      \
                break;                                                                         \
            for (int kh = k0; kh < k1; kh++)                                                   \
                for (int kw = 0; kw < KW; kw++) {                                              \
                    const int iw = ow * SW - PW + kw * DW;                                     \
                    if (iw >= 0 && iw < W)                                                     \
                        acc = fma(xp[(size_t)(h0 + kh * DH) * W + iw],                         \
                                  KS ? wk[kh * KW + kw] : wm[kh * KW + kw], acc);              \
                }                                                                              \
            yr[ow] = acc;                                                                      \
        }                                                                                      \
        if (KS && k0 == 0 && k1 == KH) {                                                       \
            __global const float *xr = xp + (size_t)h0 * W - PW;                               \
            int ow = lo;                                                                       \
            /* 8 outputs at a time from contiguous loads (stride 2: the even \
             * lanes of 16, the 16th past the 8th output's window, so one    \
             * output more must be interior) */                              \
            if (DW == 1 && SW == 1)                                                            \
                for (; ow + 8 <= hi; ow += 8) {                                                \
                    float8 acc = (float8)(b0);                                                 \
                    _Pragma("unroll") for (int kh = 0; kh < KS; kh++)                          \
                        _Pragma("unroll") for (int kw = 0; kw < KS; kw++)                      \
                            acc = fma(vload8(0, xr + kh * DH * W + ow + kw),                   \
                                      (float8)(wk[kh * KS + kw]), acc);                        \
                    vstore8(acc, 0, yr + ow);                                                  \
                }                                                                              \
            else if (DW == 1 && SW == 2)                                                       \
                for (; ow + 9 <= hi; ow += 8) {                                                \
                    float8 acc = (float8)(b0);                                                 \
                    _Pragma("unroll") for (int kh = 0; kh < KS; kh++)                          \
                        _Pragma("unroll") for (int kw = 0; kw < KS; kw++)                      \
                            acc = fma(vload16(0, xr + kh * DH * W + 2 * ow + kw).even,         \
                                      (float8)(wk[kh * KS + kw]), acc);                        \
                    vstore8(acc, 0, yr + ow);                                                  \
                }                                                                              \
            for (; ow < hi; ow++) {                                                            \
                float acc = b0;                                                                \
                _Pragma("unroll") for (int kh = 0; kh < KS; kh++)                              \
                    _Pragma("unroll") for (int kw = 0; kw < KS; kw++)                          \
                        acc = fma(xr[kh * DH * W + ow * SW + kw * DW], wk[kh * KS + kw], acc); \
                yr[ow] = acc;                                                                  \
            }                                                                                  \
        } else {                                                                               \
            for (int ow = lo; ow < hi; ow++) {                                                 \
                float acc = b0;                                                                \
                for (int kh = k0; kh < k1; kh++)                                               \
                    for (int kw = 0; kw < KW; kw++)                                            \
                        acc = fma(xp[(size_t)(h0 + kh * DH) * W + ow * SW - PW + kw * DW],     \
                                  KS ? wk[kh * KW + kw] : wm[kh * KW + kw], acc);              \
                yr[ow] = acc;                                                                  \
            }                                                                                  \
        }                                                                                      \
        if (act != LOOM_ACT_NONE) {                                                            \
            int ow = 0;                                                                        \
            for (; ow + 8 <= OW; ow += 8)                                                      \
                vstore8(loom_act_f32x8(vload8(0, yr + ow), act, act_a, act_b), 0, yr + ow);    \
            for (; ow < OW; ow++)                                                              \
                yr[ow] = loom_act_f32(yr[ow], act, act_a, act_b);                              \
        }                                                                                      \
    }                                                                                          \
}

LOOM_DWCONV(loom_dwconv2d, 0)
LOOM_DWCONV(loom_dwconv2d_k3, 3)
LOOM_DWCONV(loom_dwconv2d_k5, 5)

/* loom_dwconv2d_small_kK: the same convolution for small planes (the late
 * layers: 14 x 14, 7 x 7), where the row kernel spends most outputs on
 * border tests: a plane per work-item, copied once into a zero-padded tile
 * in private memory (TH x TW <= DW_TILE floats, the extent the windows
 * span), then every output is an interior one (stride 1: 8 at a time;
 * the host keeps TH * TW + KS + 8 and OH * TW + 8 within DW_TILE). The padding's taps add
 * fma(0, w, acc) == acc: exact for finite weights (the host picks this
 * kernel only when every weight is finite; -0 sums may become +0). */
#ifndef DW_TILE
#define DW_TILE 1024
#endif
#define LOOM_DWCONV_SMALL(NAME, KS)                                                            \
__kernel void NAME(int planes, int C, int H, int W, int OH, int OW, int8 win,                   \
                   __global const float *x, __global const float *w,                           \
                   __global const float *bias, int has_bias, __global float *y,                \
                   int act, float act_a, float act_b)                                          \
{                                                                                              \
    const int SH = win.s2, SW = win.s3, PH = win.s4, PW = win.s5, DH = win.s6, DW = win.s7;    \
    const int TH = (OH - 1) * SH + (KS - 1) * DH + 1, TW = (OW - 1) * SW + (KS - 1) * DW + 1;  \
                                                                                               \
    for (int pl = (int)get_global_id(0); pl < planes; pl += (int)get_global_size(0)) {         \
        __global const float *xp = x + (size_t)pl * H * W, *wm = w + (size_t)(pl % C) * KS * KS; \
        __global float *yp = y + (size_t)pl * OH * OW;                                         \
        const float b0 = has_bias ? bias[pl % C] : 0.0f;                                       \
        float t[DW_TILE], wk[KS * KS];                                                         \
        for (int k = 0; k < KS * KS; k++)                                                      \
            wk[k] = wm[k];                                                                     \
        for (int j = 0; j < TH * TW; j++)                                                      \
            t[j] = 0.0f;                                                                       \
        for (int ih = max(0, -PH); ih < min(H, TH - PH); ih++)                                 \
            for (int iw = max(0, -PW); iw < min(W, TW - PW); iw++)                             \
                t[(ih + PH) * TW + iw + PW] = xp[ih * W + iw];                                 \
        if (SH == 1 && SW == 1 && DH == 1 && DW == 1) {                                        \
            /* outputs over the tile's whole width, 8 at a time along the  \
             * flattened rows (the TW - OW columns past each row's end are \
             * computed and dropped): contiguous loads, a vector FMA a tap */ \
            float u[DW_TILE];                                                                  \
            const int n = OH * TW;                                                             \
            for (int j = TH * TW; j < TH * TW + KS + 8; j++)                                   \
                t[j] = 0.0f;                                                                   \
            for (int j = 0; j < n; j += 8) {                                                   \
                float8 acc = (float8)(b0);                                                     \
                _Pragma("unroll") for (int kh = 0; kh < KS; kh++)                              \
                    _Pragma("unroll") for (int kw = 0; kw < KS; kw++)                          \
                        acc = fma(vload8(0, t + j + kh * TW + kw), (float8)(wk[kh * KS + kw]), acc); \
                vstore8(act != LOOM_ACT_NONE ? loom_act_f32x8(acc, act, act_a, act_b) : acc, 0, u + j); \
            }                                                                                  \
            for (int oh = 0; oh < OH; oh++)                                                    \
                for (int ow = 0; ow < OW; ow++)                                                \
                    yp[oh * OW + ow] = u[oh * TW + ow];                                        \
            continue;                                                                          \
        }                                                                                      \
        for (int oh = 0; oh < OH; oh++) {                                                      \
            const float *tr = t + oh * SH * TW;                                                \
            __global float *yr = yp + oh * OW;                                                 \
            for (int ow = 0; ow < OW; ow++) {                                                  \
                float acc = b0;                                                                \
                _Pragma("unroll") for (int kh = 0; kh < KS; kh++)                              \
                    _Pragma("unroll") for (int kw = 0; kw < KS; kw++)                          \
                        acc = fma(tr[kh * DH * TW + ow * SW + kw * DW], wk[kh * KS + kw], acc); \
                yr[ow] = acc;                                                                  \
            }                                                                                  \
        }                                                                                      \
        if (act != LOOM_ACT_NONE) {                                                            \
            const int n = OH * OW;                                                             \
            int i = 0;                                                                         \
            for (; i + 8 <= n; i += 8)                                                         \
                vstore8(loom_act_f32x8(vload8(0, yp + i), act, act_a, act_b), 0, yp + i);      \
            for (; i < n; i++)                                                                 \
                yp[i] = loom_act_f32(yp[i], act, act_a, act_b);                                \
        }                                                                                      \
    }                                                                                          \
}

LOOM_DWCONV_SMALL(loom_dwconv2d_small_k3, 3)
LOOM_DWCONV_SMALL(loom_dwconv2d_small_k5, 5)

/* loom_transpose2d / loom_transpose2d_i8: y[c, r] = x[r, c] for a
 * rows x cols matrix, through a local tile. */
#define LOOM_TRANSPOSE2D(NAME, T)                                                             \
__kernel __attribute__((reqd_work_group_size(TR_TILE, TR_TILE, 1)))                           \
void NAME(int rows, int cols, __global const T *x, int x_off, __global T *y, int y_off)       \
{                                                                                             \
    /* one spare column: the column-wise reads hit distinct local banks */                    \
    __local T tile[TR_TILE][TR_TILE + 1];                                                     \
    const int lx = (int)get_local_id(0), ly = (int)get_local_id(1);                           \
    const int c0 = (int)get_group_id(0) * TR_TILE, r0 = (int)get_group_id(1) * TR_TILE;       \
                                                                                              \
    x += x_off;                                                                               \
    y += y_off;                                                                               \
    /* read a row-major tile of x: work-item (lx, ly) takes x[r0+ly, c0+lx] */                \
    if (r0 + ly < rows && c0 + lx < cols)                                                     \
        tile[ly][lx] = x[(size_t)(r0 + ly) * cols + c0 + lx];                                 \
    barrier(CLK_LOCAL_MEM_FENCE);                                                             \
    /* write it transposed: work-item (lx, ly) writes y[c0+ly, r0+lx] */                      \
    if (c0 + ly < cols && r0 + lx < rows)                                                     \
        y[(size_t)(c0 + ly) * rows + r0 + lx] = tile[lx][ly];                                 \
}
LOOM_TRANSPOSE2D(loom_transpose2d, float)
LOOM_TRANSPOSE2D(loom_transpose2d_i8, char)

/* ---- pooling ---- */

__kernel void loom_pool2d(int planes, int H, int W, int OH, int OW, int KH, int KW,
                          int SH, int SW, int PT, int PL, int PB, int PR, int DH, int DW,
                          int is_max, int count_include_pad,
                          __global const float *x, __global float *y)
{
    const int n = planes * OH * OW;

    LOOM_CL_FOR_EACH(i, n) {
        const int ow = i % OW, t = i / OW;
        const int oh = t % OH, plane = t / OH;
        __global const float *xp = x + (size_t)plane * H * W;
        /* window [h0, h1) x [w0, w1) in input coordinates (ceil-mode
         * windows may run past the padding); padded extent for the divisor */
        const int h0 = oh * SH - PT, h1 = h0 + (KH - 1) * DH + 1;
        const int w0 = ow * SW - PL, w1 = w0 + (KW - 1) * DW + 1;
        const int ph = min(h1, H + PB) - h0, pw = min(w1, W + PR) - w0;
        float mx = -INFINITY, sum = 0.0f;
        int real = 0;

        for (int ih = h0; ih < h1; ih += DH) {
            if (ih < 0 || ih >= H)
                continue;
            for (int iw = w0; iw < w1; iw += DW) {
                float v;
                if (iw < 0 || iw >= W)
                    continue;
                v = xp[(size_t)ih * W + iw];
                mx = LOOM_NN_MAX(mx, v);
                sum += v;
                real++;
            }
        }
        if (is_max) {
            y[i] = mx;
        } else {
            const int div = count_include_pad ? ph * pw : real;
            y[i] = div ? sum / (float)div : 0.0f;
        }
    }
}

/* MaxPool of int8 tensors (a quantised model's, same scale on both
 * sides): the largest value of each window, -128 for a window that holds
 * no input (like ref). Geometry as loom_pool2d. */
__kernel void loom_maxpool2d_i8(int planes, int H, int W, int OH, int OW, int KH, int KW,
                                int SH, int SW, int PT, int PL, int DH, int DW,
                                __global const char *x, __global char *y)
{
    const int n = planes * OH * OW;

    LOOM_CL_FOR_EACH(i, n) {
        const int ow = i % OW, t = i / OW;
        const int oh = t % OH, plane = t / OH;
        __global const char *xp = x + (size_t)plane * H * W;
        const int h0 = oh * SH - PT, h1 = h0 + (KH - 1) * DH + 1;
        const int w0 = ow * SW - PL, w1 = w0 + (KW - 1) * DW + 1;
        int mx = -128;

        for (int ih = max(h0, 0); ih < min(h1, H); ih++) {
            if ((ih - h0) % DH)
                continue;
            for (int iw = max(w0, 0); iw < min(w1, W); iw++)
                if ((iw - w0) % DW == 0)
                    mx = max(mx, (int)xp[(size_t)ih * W + iw]);
        }
        y[i] = (char)mx;
    }
}

/* loom_maxpool2d_rows_kK: max pooling as loom_pool2d computes it (padding
 * ignored, -inf for a window with no real element, NaN never replacing a
 * number, so the order of the comparisons does not matter), an output row
 * per work-item like the depthwise kernels: the window rows inside the
 * image found once per row, the interior columns without tests, the K x K
 * window a literal (0: KH x KW from win at run time). win = KH, KW, SH,
 * SW, PT, PL, DH, DW. On PoCL the per-element loom_pool2d spent ~10 ns an
 * output of ResNet's 3 x 3 stride-2 stem pool. */
#define LOOM_MAXPOOL_ROWS(NAME, KS)                                                            \
__kernel void NAME(int planes, int H, int W, int OH, int OW, int8 win,                          \
                   __global const float *x, __global float *y)                                 \
{                                                                                              \
    const int KH = KS ? KS : win.s0, KW = KS ? KS : win.s1, SH = win.s2, SW = win.s3;          \
    const int PH = win.s4, PW = win.s5, DH = win.s6, DW = win.s7;                              \
    const int rows = planes * OH, reach = (KW - 1) * DW;                                       \
    const int lo = min(OW, (PW + SW - 1) / SW);                                                \
    const int hi = W - 1 - reach + PW >= 0 ? max(lo, min(OW, (W - 1 - reach + PW) / SW + 1)) : lo; \
                                                                                               \
    for (int r = (int)get_global_id(0); r < rows; r += (int)get_global_size(0)) {              \
        const int oh = r % OH, plane = r / OH, h0 = oh * SH - PH;                              \
        __global const float *xp = x + (size_t)plane * H * W;                                  \
        __global float *yr = y + (size_t)r * OW;                                               \
        int k0 = 0, k1 = KH;                                                                   \
        while (k0 < KH && h0 + k0 * DH < 0)                                                    \
            k0++;                                                                              \
        while (k1 > k0 && h0 + (k1 - 1) * DH >= H)                                             \
            k1--;                                                                              \
        for (int ow = 0; ow < OW; ow++) {                                                      \
            float m = -INFINITY;                                                               \
            if (ow == lo)                                                                      \
                ow = hi;                                                                       \
            if (ow >= OW)                                                                      \
                break;                                                                         \
            for (int kh = k0; kh < k1; kh++)                                                   \
                for (int kw = 0; kw < KW; kw++) {                                              \
                    const int iw = ow * SW - PW + kw * DW;                                     \
                    if (iw >= 0 && iw < W)                                                     \
                        m = LOOM_NN_MAX(m, xp[(size_t)(h0 + kh * DH) * W + iw]);               \
                }                                                                              \
            yr[ow] = m;                                                                        \
        }                                                                                      \
        if (KS && k0 == 0 && k1 == KH) {                                                       \
            __global const float *xr = xp + (size_t)h0 * W - PW;                               \
            for (int ow = lo; ow < hi; ow++) {                                                 \
                float m = -INFINITY;                                                           \
                _Pragma("unroll") for (int kh = 0; kh < KS; kh++)                              \
                    _Pragma("unroll") for (int kw = 0; kw < KS; kw++)                          \
                        m = LOOM_NN_MAX(m, xr[kh * DH * W + ow * SW + kw * DW]);               \
                yr[ow] = m;                                                                    \
            }                                                                                  \
        } else {                                                                               \
            for (int ow = lo; ow < hi; ow++) {                                                 \
                float m = -INFINITY;                                                           \
                for (int kh = k0; kh < k1; kh++)                                               \
                    for (int kw = 0; kw < KW; kw++)                                            \
                        m = LOOM_NN_MAX(m, xp[(size_t)(h0 + kh * DH) * W + ow * SW - PW + kw * DW]); \
                yr[ow] = m;                                                                    \
            }                                                                                  \
        }                                                                                      \
    }                                                                                          \
}

LOOM_MAXPOOL_ROWS(loom_maxpool2d_rows, 0)
LOOM_MAXPOOL_ROWS(loom_maxpool2d_rows_k3, 3)
