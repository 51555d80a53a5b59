/* ops.c - shape-inference dispatch and the helpers every op family uses. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

loom_status loom__infer_node(loom__graph *g, loom__node *n)
{
    switch (n->op) {
    case LOOM__OP_Add: case LOOM__OP_Sub: case LOOM__OP_Mul: case LOOM__OP_Div:
    case LOOM__OP_Pow: case LOOM__OP_Equal: case LOOM__OP_Less: case LOOM__OP_Greater:
    case LOOM__OP_Where: case LOOM__OP_Sqrt: case LOOM__OP_Erf: case LOOM__OP_Relu:
    case LOOM__OP_Sigmoid: case LOOM__OP_Tanh: case LOOM__OP_Clip: case LOOM__OP_Abs:
    case LOOM__OP_Neg: case LOOM__OP_Exp: case LOOM__OP_Log: case LOOM__OP_Reciprocal:
    case LOOM__OP_Cast: case LOOM__OP_Identity: case LOOM__OP_Dropout:
        return loom__infer_elementwise(g, n);
    case LOOM__OP_Gemm: case LOOM__OP_MatMul: case LOOM__OP_Softmax:
    case LOOM__OP_LayerNormalization: case LOOM__OP_BatchNormalization:
    case LOOM__OP_Conv: case LOOM__OP_MaxPool:
    case LOOM__OP_AveragePool: case LOOM__OP_GlobalAveragePool:
        return loom__infer_nn(g, n);
    case LOOM__OP_Pad: case LOOM__OP_Flatten: case LOOM__OP_Reshape: case LOOM__OP_Transpose:
    case LOOM__OP_Concat: case LOOM__OP_Split: case LOOM__OP_Slice: case LOOM__OP_Gather:
    case LOOM__OP_Squeeze: case LOOM__OP_Unsqueeze: case LOOM__OP_Expand:
    case LOOM__OP_Constant: case LOOM__OP_ConstantOfShape: case LOOM__OP_Shape:
    case LOOM__OP_Range:
        return loom__infer_shape_ops(g, n);
    case LOOM__OP_QuantizeLinear: case LOOM__OP_DequantizeLinear:
        return loom__infer_quant(g, n);
    case LOOM__OP_ReduceMean:
        return loom__infer_math(g, n);
    case LOOM__OP_LogSoftmax: case LOOM__OP_Hardmax: case LOOM__OP_ConvTranspose: case LOOM__OP_LpPool:
        return loom__infer_nn(g, n);
    case LOOM__OP_GatherElements: case LOOM__OP_GatherND: case LOOM__OP_ScatterElements:
    case LOOM__OP_ScatterND: case LOOM__OP_Trilu: case LOOM__OP_Tile: case LOOM__OP_CumSum:
    case LOOM__OP_CumProd: case LOOM__OP_OneHot: case LOOM__OP_DepthToSpace:
    case LOOM__OP_SpaceToDepth: case LOOM__OP_EyeLike: case LOOM__OP_TopK:
    case LOOM__OP_ReverseSequence:
        return loom__infer_data(g, n);
    case LOOM__OP_LRN: case LOOM__OP_RMSNormalization: case LOOM__OP_InstanceNormalization:
    case LOOM__OP_GroupNormalization: case LOOM__OP_LpNormalization:
    case LOOM__OP_MeanVarianceNormalization: case LOOM__OP_GlobalMaxPool:
    case LOOM__OP_NegativeLogLikelihoodLoss: case LOOM__OP_SoftmaxCrossEntropyLoss:
        return loom__infer_norm(g, n);
    case LOOM__OP_Attention: case LOOM__OP_RotaryEmbedding:
        return loom__infer_attention(g, n);
    case LOOM__OP_Resize: case LOOM__OP_Upsample:
        return loom__infer_resize(g, n);
    case LOOM__OP_Einsum: return loom__infer_einsum(g, n);
    case LOOM__OP_BitCast: return loom__infer_bitcast(g, n);
    case LOOM__OP_CenterCropPad: return loom__infer_center_crop_pad(g, n);
    case LOOM__OP_QLinearMatMul: return loom__infer_qlinear_matmul(g, n);
    default:
        if (n->op > LOOM__OP_Range && n->op < LOOM__OP_COUNT)
            return loom__infer_math(g, n); /* the math ops after Range in op-list.h */
        break;
    case LOOM__OP_LoomQGemm: return loom__infer_loom_qgemm(g, n);
    case LOOM__OP_LoomQConv:
        return LOOM_OK; /* made after inference, shapes set (passes/lower-qdq.c) */
    case LOOM__OP_COUNT: case LOOM__OP_ALL:
        break;
    }
    return loom__node_err(g, n, LOOM_E_INTERNAL, "no shape inference for this op");
}

loom_status loom__node_err(const loom__graph *g, const loom__node *n, loom_status st,
                           const char *fmt, ...)
{
    char lbl[LOOM__LABEL_MAX], msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return loom__err(st, "%s: %s: %s", g->source, loom__node_label(g, n, lbl, sizeof lbl), msg);
}

loom_status loom__check_arity(const loom__graph *g, const loom__node *n, int min_in, int max_in,
                              int max_out)
{
    if (n->n_inputs < min_in || n->n_inputs > max_in)
        return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "has %d inputs, expected %d to %d",
                              n->n_inputs, min_in, max_in);
    for (int i = 0; i < min_in; i++)
        if (n->inputs[i] < 0)
            return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "required input %d is empty", i);
    if (n->n_outputs < 1 || n->n_outputs > max_out)
        return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "has %d outputs, expected 1 to %d",
                              n->n_outputs, max_out);
    if (n->outputs[0] < 0)
        return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "output 0 is empty");
    for (int i = 0; i < n->n_inputs; i++) {
        const loom__value *v = loom__in(g, n, i);
        if (v && (v->rank < 0 || v->dtype == LOOM_DTYPE_INVALID))
            return loom__node_err(g, n, LOOM_E_MODEL_INVALID,
                                  "input \"%s\" has no known type or shape", v->name);
    }
    return LOOM_OK;
}

loom_status loom__check_dtype(const loom__graph *g, const loom__node *n, int i, unsigned mask)
{
    const loom__value *v = loom__in(g, n, i);
    if (v && !(mask & LOOM__DT(v->dtype)))
        return loom__node_err(g, n, LOOM_E_DTYPE, "input \"%s\" has dtype %s, not supported here",
                              v->name, loom_dtype_name(v->dtype));
    return LOOM_OK;
}

loom_status loom__check_rank(const loom__graph *g, const loom__node *n, int i, int min_rank,
                             int max_rank)
{
    const loom__value *v = loom__in(g, n, i);
    char sbuf[LOOM__SHAPE_STR_MAX];
    if (v && (v->rank < min_rank || v->rank > max_rank)) {
        char want[64];
        if (min_rank == max_rank)
            snprintf(want, sizeof want, "rank %d", min_rank);
        else
            snprintf(want, sizeof want, "rank %d to %d", min_rank, max_rank);
        return loom__node_err(g, n, LOOM_E_SHAPE, "input \"%s\" has shape %s, expected %s",
                              v->name, loom__shape_str(v->rank, v->dims, sbuf, sizeof sbuf), want);
    }
    return LOOM_OK;
}

loom_status loom__check_size(const loom__graph *g, const loom__node *n, const char *what,
                             loom_dtype dtype, int rank, const int64_t *dims)
{
    char sbuf[LOOM__SHAPE_STR_MAX];
    int64_t numel;
    uint64_t bytes;
    if (!loom__numel(rank, dims, &numel) ||
        !loom__mul_u64((uint64_t)numel, loom_dtype_size(dtype), &bytes) ||
        bytes > g->max_tensor_bytes)
        return loom__node_err(g, n, LOOM_E_LIMIT, "%s of shape %s is larger than the limit of %llu bytes",
                              what, loom__shape_str(rank, dims, sbuf, sizeof sbuf),
                              (unsigned long long)g->max_tensor_bytes);
    return LOOM_OK;
}

void loom__set_output(loom__graph *g, const loom__node *n, int i, loom_dtype dtype, int rank,
                      const int64_t *dims)
{
    loom__value *v = loom__out(g, n, i);
    if (!v)
        return;
    v->dtype = dtype;
    v->rank = rank;
    for (int d = 0; d < rank; d++)
        v->dims[d] = dims[d];
}

loom_status loom__norm_axis(const loom__graph *g, const loom__node *n, const char *what,
                            int64_t axis, int rank, int64_t *out)
{
    if (axis < -rank || axis >= rank)
        return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "%s %lld is out of range for rank %d",
                              what, (long long)axis, rank);
    *out = axis < 0 ? axis + rank : axis;
    return LOOM_OK;
}

loom_status loom__const_ints(const loom__graph *g, const loom__node *n, int i, const char *what,
                             int64_t **out, size_t *count)
{
    const loom__value *v = loom__in(g, n, i);
    const loom_tensor *t;
    int64_t *vals;

    *out = NULL;
    *count = 0;
    if (!v)
        return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "%s (input %d) is missing", what, i);
    t = v->constant;
    if (!t) {
        loom__graph_needs_value(g, n->inputs[i]);
        return loom__node_err(g, n, LOOM_E_MODEL_UNSUPPORTED,
                              "%s \"%s\" must be a constant (it is computed at run time)", what,
                              v->name);
    }
    if (t->dtype != LOOM_I64 && t->dtype != LOOM_I32)
        return loom__node_err(g, n, LOOM_E_DTYPE, "%s \"%s\" has dtype %s, expected int64", what,
                              v->name, loom_dtype_name(t->dtype));
    if (t->rank > 1)
        return loom__node_err(g, n, LOOM_E_SHAPE, "%s \"%s\" has rank %d, expected a 1-D tensor",
                              what, v->name, t->rank);
    vals = loom__malloc((size_t)t->numel * sizeof *vals);
    if (!vals)
        return loom__err(LOOM_E_NOMEM, "out of memory");
    for (int64_t k = 0; k < t->numel; k++)
        vals[k] = t->dtype == LOOM_I64 ? ((const int64_t *)t->data)[k]
                                       : ((const int32_t *)t->data)[k];
    *out = vals;
    *count = (size_t)t->numel;
    return LOOM_OK;
}

loom_status loom__const_numbers(const loom__graph *g, const loom__node *n, int i, const char *what,
                                double *out, size_t cap, size_t *count)
{
    const loom__value *v = loom__in(g, n, i);
    const loom_tensor *t;
    *count = 0;
    if (!v)
        return LOOM_OK;
    if (!(t = v->constant)) {
        int64_t numel;
        if (loom__numel(v->rank, v->dims, &numel) && numel == 0)
            return LOOM_OK;
        loom__graph_needs_value(g, n->inputs[i]);
        return loom__node_err(g, n, LOOM_E_MODEL_UNSUPPORTED,
                              "%s \"%s\" must be a constant (it is computed at run time)", what, v->name);
    }
    if ((size_t)t->numel > cap)
        return loom__node_err(g, n, LOOM_E_SHAPE, "%s has %lld values, at most %zu", what, (long long)t->numel, cap);
    for (int64_t k = 0; k < t->numel; k++) {
        const void *d = t->data;
        switch (t->dtype) {
        case LOOM_F32: out[k] = ((const float *)d)[k]; break;
        case LOOM_F64: out[k] = ((const double *)d)[k]; break;
        case LOOM_F16: out[k] = loom__f16_to_f32(((const uint16_t *)d)[k]); break;
        case LOOM_BF16: out[k] = loom__bf16_to_f32(((const uint16_t *)d)[k]); break;
        case LOOM_I64: out[k] = (double)((const int64_t *)d)[k]; break;
        case LOOM_I32: out[k] = ((const int32_t *)d)[k]; break;
        case LOOM_U32: out[k] = ((const uint32_t *)d)[k]; break;
        case LOOM_I16: out[k] = ((const int16_t *)d)[k]; break;
        case LOOM_U16: out[k] = ((const uint16_t *)d)[k]; break;
        case LOOM_I8: out[k] = ((const int8_t *)d)[k]; break;
        case LOOM_U8: out[k] = ((const uint8_t *)d)[k]; break;
        default:
            return loom__node_err(g, n, LOOM_E_DTYPE, "%s has dtype %s", what, loom_dtype_name(t->dtype));
        }
    }
    *count = (size_t)t->numel;
    return LOOM_OK;
}

loom_status loom__const_scalar(const loom__graph *g, const loom__node *n, int i, const char *what,
                               double *out)
{
    const loom__value *v = loom__in(g, n, i);
    size_t count;
    loom_status st;
    if (!v)
        return loom__node_err(g, n, LOOM_E_MODEL_UNSUPPORTED, "%s must be a constant (it is computed at run time)",
                              what);
    if (v->rank > 1 || (v->constant && v->constant->numel != 1))
        return loom__node_err(g, n, LOOM_E_SHAPE, "%s must be a single value", what);
    if ((st = loom__const_numbers(g, n, i, what, out, 1, &count)) != LOOM_OK)
        return st;
    if (count != 1)
        return loom__node_err(g, n, LOOM_E_SHAPE, "%s must be a single value", what);
    return LOOM_OK;
}

loom_status loom__const_float(const loom__graph *g, const loom__node *n, int i, const char *what,
                              float *out)
{
    const loom__value *v = loom__in(g, n, i);
    if (v && !v->constant)
        loom__graph_needs_value(g, n->inputs[i]);
    if (!v || !v->constant)
        return loom__node_err(g, n, LOOM_E_MODEL_UNSUPPORTED, "%s must be a constant", what);
    if (!loom__dtype_is_float(v->constant->dtype) || v->constant->numel != 1)
        return loom__node_err(g, n, LOOM_E_SHAPE, "%s \"%s\" must be a single float value", what,
                              v->name);
    switch (v->constant->dtype) {
    case LOOM_F16: *out = loom__f16_to_f32(*(const uint16_t *)v->constant->data); break;
    case LOOM_BF16: *out = loom__bf16_to_f32(*(const uint16_t *)v->constant->data); break;
    case LOOM_F64: *out = (float)*(const double *)v->constant->data; break;
    default: *out = *(const float *)v->constant->data; break;
    }
    return LOOM_OK;
}

loom_status loom__broadcast_shapes(const loom__graph *g, const loom__node *n, int ra,
                                   const int64_t *da, int rb, const int64_t *db, int *rank,
                                   int64_t *dims)
{
    char s1[LOOM__SHAPE_STR_MAX], s2[LOOM__SHAPE_STR_MAX];
    int r = ra > rb ? ra : rb;
    for (int i = 0; i < r; i++) {
        int64_t a = i < r - ra ? 1 : da[i - (r - ra)];
        int64_t b = i < r - rb ? 1 : db[i - (r - rb)];
        if (a != b && a != 1 && b != 1)
            return loom__node_err(g, n, LOOM_E_SHAPE, "shapes %s and %s do not broadcast",
                                  loom__shape_str(ra, da, s1, sizeof s1),
                                  loom__shape_str(rb, db, s2, sizeof s2));
        dims[i] = a == 1 ? b : a;
    }
    *rank = r;
    return LOOM_OK;
}
