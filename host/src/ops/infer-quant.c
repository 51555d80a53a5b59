/* infer-quant.c - shape inference for QuantizeLinear and DequantizeLinear
 * (opsets 10 and 13: per-tensor, and per-axis from 13), the operators of
 * QDQ models:
 *   QuantizeLinear(x, scale, zero_point)   y = saturate(rint(x / scale) + zero_point)
 *   DequantizeLinear(x, scale, zero_point) y = (x - zero_point) * scale
 * scale is float32, a scalar (or one element) or, per axis, one value per
 * slice of x along `axis` (default 1); zero_point has scale's shape and
 * the int type (int8 or uint8; int32 too for DequantizeLinear). A scale
 * that is a constant must be positive and finite: a model with a zero,
 * negative or NaN scale is invalid. */
#include <math.h>
#include <string.h>

#include "ops/ops.h"

loom_status loom__infer_quant(loom__graph *g, loom__node *n)
{
    const bool quant = n->op == LOOM__OP_QuantizeLinear;
    const loom__value *x, *scale, *zp = NULL;
    loom_dtype out_dtype;
    int64_t axis = 1, per = 1;
    loom_status st;

    if ((st = loom__check_arity(g, n, 2, 3, 1)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 0,
                                quant ? LOOM__DT_F32
                                      : LOOM__DT(LOOM_I8) | LOOM__DT(LOOM_U8) | LOOM__DT(LOOM_I32))) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 1, LOOM__DT_F32)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    scale = loom__in(g, n, 1);
    if (n->n_inputs > 2 && n->inputs[2] >= 0) {
        if ((st = loom__check_dtype(g, n, 2, quant ? LOOM__DT(LOOM_I8) | LOOM__DT(LOOM_U8)
                                                   : LOOM__DT(x->dtype))) != LOOM_OK)
            return st;
        zp = loom__in(g, n, 2);
    }
    if (scale->rank > 1)
        return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "scale has rank %d: a scalar or one value per axis slice",
                              scale->rank);
    if (scale->rank == 1 && scale->dims[0] != 1) {
        if (g->opset < 13)
            return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "per-axis scales need opset 13 (model: %lld)",
                                  (long long)g->opset);
        if ((st = loom__attr_int(g, n, "axis", 1, &axis)) != LOOM_OK ||
            (st = loom__norm_axis(g, n, "axis", axis, x->rank, &axis)) != LOOM_OK)
            return st;
        if (x->dims[axis] != scale->dims[0])
            return loom__node_err(g, n, LOOM_E_SHAPE, "%lld scales for %lld slices along axis %lld",
                                  (long long)scale->dims[0], (long long)x->dims[axis], (long long)axis);
        per = scale->dims[0];
    } else {
        axis = -1; /* per tensor */
    }
    if (zp && (zp->rank != scale->rank || (zp->rank == 1 && zp->dims[0] != scale->dims[0])))
        return loom__node_err(g, n, LOOM_E_SHAPE, "zero_point's shape differs from scale's");
    if (scale->constant) {
        const float *s = scale->constant->data;
        for (int64_t i = 0; i < per; i++)
            if (!(s[i] > 0.0f) || isinf(s[i]))
                return loom__node_err(g, n, LOOM_E_MODEL_INVALID,
                                      "scale[%lld] is %g: scales must be positive and finite", (long long)i,
                                      (double)s[i]);
    }
    {
        /* opset 21: blocked quantisation and an explicit output type */
        int64_t block = 0, want = 0;
        if ((st = loom__attr_int(g, n, "block_size", 0, &block)) != LOOM_OK ||
            (st = loom__attr_int(g, n, "output_dtype", 0, &want)) != LOOM_OK)
            return st;
        if (block != 0)
            return loom__node_err(g, n, LOOM_E_MODEL_UNSUPPORTED,
                                  "blocked quantisation (block_size %lld) is not supported",
                                  (long long)block);
        out_dtype = quant ? (zp ? zp->dtype : LOOM_U8) : LOOM_F32;
        if (quant && !zp && (want == LOOM_I8 || want == LOOM_U8))
            out_dtype = (loom_dtype)want;
        if (want != 0 && want != (int64_t)out_dtype)
            return loom__node_err(g, n, zp || !quant ? LOOM_E_MODEL_INVALID : LOOM_E_DTYPE,
                                  "output_dtype %lld: %s", (long long)want,
                                  zp || !quant ? "differs from the type the inputs give"
                                               : "loom quantises to int8 or uint8");
    }
    n->p.axis.axis = axis;
    loom__set_output(g, n, 0, out_dtype, x->rank, x->dims);
    return LOOM_OK;
}

/* QLinearMatMul(a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp): int8
 * or uint8 operands, numpy.matmul's shapes; scales a scalar each (b's and
 * y's may be one per output column). */
loom_status loom__infer_qlinear_matmul(loom__graph *g, loom__node *n)
{
    const loom__value *a, *b, *yzp;
    loom__matmul_shape ms;
    int64_t dims[LOOM_MAX_RANK];
    int rank = 0;
    loom_status st;
    const unsigned q8 = LOOM__DT(LOOM_I8) | LOOM__DT(LOOM_U8);

    if ((st = loom__check_arity(g, n, 8, 8, 1)) != LOOM_OK || (st = loom__check_dtype(g, n, 0, q8)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 3, q8)) != LOOM_OK || (st = loom__check_dtype(g, n, 7, q8)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 1, LOOM__DT_FLOAT)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 4, LOOM__DT_FLOAT)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 6, LOOM__DT_FLOAT)) != LOOM_OK)
        return st;
    a = loom__in(g, n, 0);
    b = loom__in(g, n, 3);
    yzp = loom__in(g, n, 7);
    if (a->rank < 1 || b->rank < 1 || (a->rank > 1 && b->rank > 1 && a->dims[a->rank - 1] != b->dims[b->rank - 2]) ||
        (a->rank == 1 && b->rank > 1 && a->dims[0] != b->dims[b->rank - 2]) ||
        (b->rank == 1 && a->dims[a->rank - 1] != b->dims[0]))
        return loom__node_err(g, n, LOOM_E_SHAPE, "a and b do not multiply");
    loom__matmul_shape_of(a->rank, a->dims, b->rank, b->dims, &ms);
    for (int d = 0; d < ms.rank; d++)
        dims[rank++] = ms.dims[d];
    if (a->rank > 1)
        dims[rank++] = ms.M;
    if (b->rank > 1)
        dims[rank++] = ms.N;
    for (int i = 1; i < 8; i++) {
        const loom__value *v = loom__in(g, n, i);
        int64_t numel;
        if (i == 3)
            continue;
        if (!loom__numel(v->rank, v->dims, &numel) || (numel != 1 && !((i >= 4) && numel == ms.N)))
            return loom__node_err(g, n, LOOM_E_MODEL_UNSUPPORTED,
                                  "scales and zero points must be scalars (b's and y's: or one per column)");
    }
    loom__set_output(g, n, 0, yzp->dtype, rank, dims);
    return LOOM_OK;
}

loom_status loom__infer_loom_qgemm(loom__graph *g, loom__node *n)
{
    const loom__value *x, *w;
    int64_t dims[LOOM_MAX_RANK];
    loom_status st;
    if ((st = loom__check_arity(g, n, 5, 5, 1)) != LOOM_OK || (st = loom__check_dtype(g, n, 0, LOOM__DT(LOOM_I8))) ||
        (st = loom__check_dtype(g, n, 1, LOOM__DT(LOOM_I8))) != LOOM_OK)
        return st;
    for (int i = 2; i < 5; i++)
        if ((st = loom__check_dtype(g, n, i, LOOM__DT(LOOM_I32))) != LOOM_OK)
            return st;
    x = loom__in(g, n, 0);
    w = loom__in(g, n, 1);
    /* as the kernels run it: x [..., K] . W [K, N] -> [..., N] int8 */
    if (x->rank < 1 || w->rank != 2 || x->dims[x->rank - 1] != w->dims[0])
        return loom__node_err(g, n, LOOM_E_SHAPE, "x [..., K] and W [K, N] do not multiply");
    memcpy(dims, x->dims, (size_t)x->rank * sizeof dims[0]);
    dims[x->rank - 1] = w->dims[1];
    loom__set_output(g, n, 0, LOOM_I8, x->rank, dims);
    return LOOM_OK;
}
