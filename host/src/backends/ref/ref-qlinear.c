/*
 * ref-qlinear.c - loom's int8 nodes (LoomQGemm, LoomQConv) on host
 * tensors, through any device's int8 GEMM of the kernel ABI: the
 * reference passes loom_gemm_i8_ref, the GEMM-only devices (vsim, xrt)
 * their kernel. A convolution is im2col per image and group (zero padding
 * is exact: activations are symmetric, zero point 0), one GEMM
 * [OH*OW, Cin/g*KH*KW] x [Cin/g*KH*KW, Cout/g], and a scatter back to NCHW.
 */
#include <stdlib.h>
#include <string.h>

#include "backends/ref/ref-impl.h"

static loom_status qgemm(const loom__node *n, const loom_tensor *const *in, loom_tensor *out,
                         loom__gemm_i8_fn gemm, void *ctx)
{
    const loom_tensor *x = in[0], *w = in[1];
    int64_t K = w->dims[0], N = w->dims[1];
    loom_gemm_i8_args a = {
        .M = N ? out->numel / N : 0, .N = N, .K = K,
        .A = x->data, .lda = K, .B = w->data, .ldb = N,
        .bias = in[2]->data, .mult = in[3]->data, .shift = in[4]->data,
        .C = out->data, .ldc = N, .act = n->act,
        .lut = loom__opt_in(n, in, 5) ? loom__opt_in(n, in, 5)->data : NULL,
    };
    return gemm(ctx, &a);
}

static loom_status qconv(const loom__node *n, const loom_tensor *const *in, loom_tensor *out,
                         loom__gemm_i8_fn gemm, void *ctx)
{
    const loom__conv_params *p = &n->p.conv;
    const loom_tensor *x = in[0], *w = in[1];
    const int8_t *X = x->data, *W = w->data;
    const int32_t *bias = in[2]->data, *mult = in[3]->data, *shift = in[4]->data;
    const loom_tensor *lut = loom__opt_in(n, in, 5);
    int8_t *Y = out->data;
    int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], Wd = x->dims[3];
    int64_t M = w->dims[0], G = p->group, Cg = C / G, Mg = M / G;
    int64_t KH = p->kernel[0], KW = p->kernel[1], OH = out->dims[2], OW = out->dims[3];
    int64_t CK = Cg * KH * KW, P = OH * OW;
    int8_t *col = malloc((size_t)(P * CK > 0 ? P * CK : 1));
    int8_t *wt = malloc((size_t)(CK * Mg > 0 ? CK * Mg : 1));
    int8_t *tmp = malloc((size_t)(P * Mg > 0 ? P * Mg : 1));
    loom_status st = LOOM_OK;

    if (!col || !wt || !tmp) {
        st = loom__err(LOOM_E_NOMEM, "out of memory (im2col)");
        goto done;
    }
    for (int64_t gi = 0; gi < G && st == LOOM_OK; gi++) {
        /* this group's weights as B [CK, Mg] */
        for (int64_t m = 0; m < Mg; m++)
            for (int64_t k = 0; k < CK; k++)
                wt[k * Mg + m] = W[(gi * Mg + m) * CK + k];
        for (int64_t b = 0; b < N && st == LOOM_OK; b++) {
            const int8_t *xg = X + (b * C + gi * Cg) * H * Wd;
            loom_gemm_i8_args a = {
                .M = P, .N = Mg, .K = CK, .A = col, .lda = CK, .B = wt, .ldb = Mg,
                .bias = bias + gi * Mg, .mult = mult + gi * Mg, .shift = shift + gi * Mg,
                .C = tmp, .ldc = Mg, .act = n->act, .lut = lut ? lut->data : NULL,
            };
            for (int64_t oh = 0; oh < OH; oh++)
                for (int64_t ow = 0; ow < OW; ow++) {
                    int8_t *row = col + (oh * OW + ow) * CK;
                    for (int64_t c = 0; c < Cg; c++)
                        for (int64_t kh = 0; kh < KH; kh++)
                            for (int64_t kw = 0; kw < KW; kw++) {
                                int64_t ih = oh * p->strides[0] - p->pads[0] + kh * p->dilations[0];
                                int64_t iw = ow * p->strides[1] - p->pads[1] + kw * p->dilations[1];
                                bool inside = ih >= 0 && ih < H && iw >= 0 && iw < Wd;
                                *row++ = inside ? xg[(c * H + ih) * Wd + iw] : 0;
                            }
                }
            if ((st = gemm(ctx, &a)) != LOOM_OK)
                break;
            for (int64_t pi = 0; pi < P; pi++)
                for (int64_t m = 0; m < Mg; m++)
                    Y[(b * M + gi * Mg + m) * P + pi] = tmp[pi * Mg + m];
        }
    }
done:
    free(col);
    free(wt);
    free(tmp);
    return st;
}

loom_status loom__qlinear_run(const loom__node *n, const loom_tensor *const *in, loom_tensor *out,
                              loom__gemm_i8_fn gemm, void *ctx)
{
    return n->op == LOOM__OP_LoomQConv ? qconv(n, in, out, gemm, ctx) : qgemm(n, in, out, gemm, ctx);
}

static loom_status ref_gemm(void *ctx, const loom_gemm_i8_args *a)
{
    (void)ctx;
    return loom_gemm_i8_ref(a);
}

loom_status loom__ref_qlinear(const loom__node *n, const loom_tensor *const *in,
                              loom_tensor *const *out)
{
    return loom__qlinear_run(n, in, out[0], ref_gemm, NULL);
}
