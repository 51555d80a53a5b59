/* ref-quant.c - QuantizeLinear and DequantizeLinear (see
 * ops/infer-quant.c). Division and rounding in float32 with rint (round
 * half to even), as the ONNX reference implementation does; NaN
 * quantises to the zero point. */
#include <math.h>

#include "backends/ref/ref-impl.h"
#include "ops/ops.h"

/* scale/zero-point index of element i: 0 per tensor, else its slice
 * along the axis */
static int64_t slice_of(const loom_tensor *x, int64_t axis, int64_t i)
{
    int64_t inner = 1;
    if (axis < 0)
        return 0;
    for (int d = (int)axis + 1; d < x->rank; d++)
        inner *= x->dims[d];
    return (i / inner) % x->dims[axis];
}

static loom_status check_scales(const loom_tensor *s)
{
    const float *v = s->data;
    for (int64_t i = 0; i < s->numel; i++)
        if (!(v[i] > 0.0f) || isinf(v[i]))
            return loom__err(LOOM_E_DATA_INVALID, "quantisation scale[%lld] is %g: it must be positive and finite",
                             (long long)i, (double)v[i]);
    return LOOM_OK;
}

loom_status loom__ref_quantize(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out)
{
    const loom_tensor *x = in[0], *s = in[1], *zp = n->n_inputs > 2 ? in[2] : NULL;
    loom_tensor *y = out[0];
    const float *xv = x->data, *sv = s->data;
    loom_status st = check_scales(s);
    if (st)
        return st;
    for (int64_t i = 0; i < x->numel; i++) {
        int64_t c = slice_of(x, n->p.axis.axis, i);
        /* NaN has no integer: it quantises like 0 (ONNX leaves it open) */
        float q = isnan(xv[i]) ? 0.0f : rintf(xv[i] / sv[c]);
        if (y->dtype == LOOM_I8) {
            float v = q + (zp ? (float)((const int8_t *)zp->data)[c] : 0.0f);
            ((int8_t *)y->data)[i] = (int8_t)(v < -128.0f ? -128.0f : v > 127.0f ? 127.0f : v);
        } else {
            float v = q + (zp ? (float)((const uint8_t *)zp->data)[c] : 0.0f);
            ((uint8_t *)y->data)[i] = (uint8_t)(v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v);
        }
    }
    return LOOM_OK;
}

loom_status loom__ref_dequantize(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out)
{
    const loom_tensor *x = in[0], *s = in[1], *zp = n->n_inputs > 2 ? in[2] : NULL;
    float *y = out[0]->data;
    const float *sv = s->data;
    loom_status st = check_scales(s);
    if (st)
        return st;
    for (int64_t i = 0; i < x->numel; i++) {
        int64_t c = slice_of(x, n->p.axis.axis, i);
        int32_t v, z = 0;
        switch (x->dtype) {
        case LOOM_I8: v = ((const int8_t *)x->data)[i]; if (zp) z = ((const int8_t *)zp->data)[c]; break;
        case LOOM_U8: v = ((const uint8_t *)x->data)[i]; if (zp) z = ((const uint8_t *)zp->data)[c]; break;
        default: v = ((const int32_t *)x->data)[i]; if (zp) z = ((const int32_t *)zp->data)[c]; break;
        }
        y[i] = (float)((int64_t)v - z) * sv[c];
    }
    return LOOM_OK;
}

/* Element of a scalar-or-per-column parameter for column j. */
static double per_col(const loom_tensor *t, int64_t j)
{
    return loom__ref_get_f(t, t->numel == 1 ? 0 : j);
}

loom_status loom__ref_qlinear_matmul(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out)
{
    const loom_tensor *a = in[0], *b = in[3];
    loom_tensor *y = out[0];
    loom__matmul_shape ms;
    bool y8 = y->dtype == LOOM_I8;
    (void)n;
    loom__matmul_shape_of(a->rank, a->dims, b->rank, b->dims, &ms);
    for (int64_t t = 0; t < ms.batches; t++) {
        int64_t ia, ib;
        loom__matmul_batch(&ms, t, &ia, &ib);
        for (int64_t i = 0; i < ms.M; i++)
            for (int64_t j = 0; j < ms.N; j++) {
                int64_t acc = 0, azp = loom__ref_get_i(in[2], 0), bzp = loom__ref_get_i(in[5], in[5]->numel == 1 ? 0 : j);
                float sc;
                double v;
                for (int64_t k = 0; k < ms.K; k++)
                    acc += (loom__ref_get_i(a, (ia * ms.M + i) * ms.K + k) - azp) *
                           (loom__ref_get_i(b, (ib * ms.K + k) * ms.N + j) - bzp);
                /* the scales combine in float32, as the reference's arrays */
                sc = (float)((float)loom__ref_get_f(in[1], 0) * (float)per_col(in[4], j)) / (float)per_col(in[6], j);
                v = nearbyint((double)acc * (double)sc + (double)loom__ref_get_i(in[7], in[7]->numel == 1 ? 0 : j));
                v = y8 ? fmin(127.0, fmax(-128.0, v)) : fmin(255.0, fmax(0.0, v));
                loom__ref_set_f(y, (t * ms.M + i) * ms.N + j, v);
            }
    }
    return LOOM_OK;
}
