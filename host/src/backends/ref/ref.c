/* ref.c - the reference backend's kernel table and iteration helpers. */
#include <math.h>
#include <string.h>

#include "backends/ref/ref-impl.h"

/* The kernels as written: float data only as float32 in the ones listed
 * in widened() below. */
static loom__kernel_fn kernel_of(loom__op op)
{
    switch (op) {
    case LOOM__OP_Add: case LOOM__OP_Sub: case LOOM__OP_Mul: case LOOM__OP_Div:
    case LOOM__OP_Pow: case LOOM__OP_Equal: case LOOM__OP_Less: case LOOM__OP_Greater:
        return loom__ref_binary;
    case LOOM__OP_Where: return loom__ref_where;
    case LOOM__OP_Sqrt: case LOOM__OP_Erf: case LOOM__OP_Relu: case LOOM__OP_Sigmoid:
    case LOOM__OP_Tanh: case LOOM__OP_Abs: case LOOM__OP_Neg: case LOOM__OP_Exp:
    case LOOM__OP_Log: case LOOM__OP_Reciprocal:
        return loom__ref_unary;
    case LOOM__OP_Clip: return loom__ref_clip;
    case LOOM__OP_Cast: case LOOM__OP_CastLike: return loom__ref_cast;
    case LOOM__OP_QuantizeLinear: return loom__ref_quantize;
    case LOOM__OP_DequantizeLinear: return loom__ref_dequantize;
    case LOOM__OP_Identity: case LOOM__OP_Flatten: case LOOM__OP_Reshape:
    case LOOM__OP_Squeeze: case LOOM__OP_Unsqueeze:
        return loom__ref_copy;
    case LOOM__OP_Dropout: return loom__ref_dropout;
    case LOOM__OP_Expand: return loom__ref_expand;
    case LOOM__OP_Gemm: return loom__ref_gemm;
    case LOOM__OP_MatMul: return loom__ref_matmul;
    case LOOM__OP_Softmax: return loom__ref_softmax;
    case LOOM__OP_LayerNormalization: return loom__ref_layernorm;
    case LOOM__OP_BatchNormalization: return loom__ref_batchnorm;
    case LOOM__OP_Conv: return loom__ref_conv;
    case LOOM__OP_MaxPool: case LOOM__OP_AveragePool: case LOOM__OP_LpPool: return loom__ref_pool;
    case LOOM__OP_GlobalAveragePool: return loom__ref_global_avg_pool;
    case LOOM__OP_Pad: return loom__ref_pad;
    case LOOM__OP_Transpose: return loom__ref_transpose;
    case LOOM__OP_Concat: return loom__ref_concat;
    case LOOM__OP_Split: return loom__ref_split;
    case LOOM__OP_Slice: return loom__ref_slice;
    case LOOM__OP_Gather: return loom__ref_gather;
    case LOOM__OP_Constant: case LOOM__OP_ConstantOfShape: case LOOM__OP_Shape:
    case LOOM__OP_LoomQGemm: case LOOM__OP_LoomQConv: return loom__ref_qlinear;
    case LOOM__OP_Floor: case LOOM__OP_Ceil: case LOOM__OP_Round: case LOOM__OP_Sign:
    case LOOM__OP_Sin: case LOOM__OP_Cos: case LOOM__OP_Tan: case LOOM__OP_Asin:
    case LOOM__OP_Acos: case LOOM__OP_Atan: case LOOM__OP_Sinh: case LOOM__OP_Cosh:
    case LOOM__OP_Asinh: case LOOM__OP_Acosh: case LOOM__OP_Atanh: case LOOM__OP_Softplus:
    case LOOM__OP_Softsign: case LOOM__OP_Mish: case LOOM__OP_HardSigmoid:
    case LOOM__OP_HardSwish: case LOOM__OP_LeakyRelu: case LOOM__OP_Elu: case LOOM__OP_Selu:
    case LOOM__OP_Celu: case LOOM__OP_ThresholdedRelu: case LOOM__OP_Gelu: case LOOM__OP_Shrink:
    case LOOM__OP_IsNaN: case LOOM__OP_IsInf: case LOOM__OP_Not: case LOOM__OP_BitwiseNot:
    case LOOM__OP_Swish:
        return loom__ref_math_unary;
    case LOOM__OP_And: case LOOM__OP_Or: case LOOM__OP_Xor: case LOOM__OP_Mod:
    case LOOM__OP_LessOrEqual: case LOOM__OP_GreaterOrEqual: case LOOM__OP_PRelu:
    case LOOM__OP_BitShift: case LOOM__OP_BitwiseAnd: case LOOM__OP_BitwiseOr:
    case LOOM__OP_BitwiseXor:
        return loom__ref_math_binary;
    case LOOM__OP_Sum: case LOOM__OP_Mean: case LOOM__OP_Max: case LOOM__OP_Min:
        return loom__ref_math_variadic;
    case LOOM__OP_ReduceMean: case LOOM__OP_ReduceSum: case LOOM__OP_ReduceMax:
    case LOOM__OP_ReduceMin: case LOOM__OP_ReduceProd: case LOOM__OP_ReduceL1:
    case LOOM__OP_ReduceL2: case LOOM__OP_ReduceLogSum: case LOOM__OP_ReduceLogSumExp:
    case LOOM__OP_ReduceSumSquare:
        return loom__ref_reduce;
    case LOOM__OP_ArgMax: case LOOM__OP_ArgMin: return loom__ref_argminmax;
    case LOOM__OP_LogSoftmax: return loom__ref_log_softmax;
    case LOOM__OP_Hardmax: return loom__ref_hardmax;
    case LOOM__OP_GatherElements: case LOOM__OP_GatherND: case LOOM__OP_ScatterElements:
    case LOOM__OP_ScatterND: case LOOM__OP_Trilu: case LOOM__OP_Tile: case LOOM__OP_CumSum:
    case LOOM__OP_CumProd: case LOOM__OP_OneHot: case LOOM__OP_DepthToSpace:
    case LOOM__OP_SpaceToDepth: case LOOM__OP_EyeLike: case LOOM__OP_TopK:
    case LOOM__OP_ReverseSequence:
        return loom__ref_data;
    case LOOM__OP_LRN: case LOOM__OP_RMSNormalization: case LOOM__OP_InstanceNormalization:
    case LOOM__OP_GroupNormalization: case LOOM__OP_LpNormalization:
    case LOOM__OP_MeanVarianceNormalization: case LOOM__OP_GlobalMaxPool:
        return loom__ref_norm;
    case LOOM__OP_Attention: case LOOM__OP_RotaryEmbedding: return loom__ref_attention;
    case LOOM__OP_NegativeLogLikelihoodLoss: case LOOM__OP_SoftmaxCrossEntropyLoss: return loom__ref_loss;
    case LOOM__OP_Resize: case LOOM__OP_Upsample: return loom__ref_resize;
    case LOOM__OP_ConvTranspose: return loom__ref_conv_transpose;
    case LOOM__OP_Einsum: return loom__ref_einsum;
    case LOOM__OP_BitCast: case LOOM__OP_CenterCropPad: return loom__ref_data;
    case LOOM__OP_QLinearMatMul: return loom__ref_qlinear_matmul;
    case LOOM__OP_Range: case LOOM__OP_Size: case LOOM__OP_COUNT: case LOOM__OP_ALL:
        break;
    }
    return NULL;
}

/* Ops whose kernels read and write float data as float32 only: float16,
 * bfloat16 and float64 tensors are widened to float32 around them (float64
 * loses precision there; the ops of ref-math.c and ref-reduce.c compute in
 * double instead). */
static bool widened(loom__op op)
{
    switch (op) {
    case LOOM__OP_Gemm: case LOOM__OP_MatMul: case LOOM__OP_Softmax:
    case LOOM__OP_LayerNormalization: case LOOM__OP_BatchNormalization: case LOOM__OP_Conv:
    case LOOM__OP_MaxPool: case LOOM__OP_AveragePool: case LOOM__OP_GlobalAveragePool:
    case LOOM__OP_QuantizeLinear: case LOOM__OP_DequantizeLinear: case LOOM__OP_LpPool:
        return true;
    default:
        return false;
    }
}

static bool wide_float(const loom_tensor *t)
{
    return t && (t->dtype == LOOM_F16 || t->dtype == LOOM_BF16 || t->dtype == LOOM_F64);
}

/* A float32 copy of t (widened, or narrowed from float64). */
static loom_status as_f32(const loom_tensor *t, loom_tensor **out)
{
    loom_status st = loom__tensor_new(LOOM_F32, t->rank, t->dims, out);
    for (int64_t i = 0; st == LOOM_OK && i < t->numel; i++)
        ((float *)(*out)->data)[i] = (float)loom__ref_get_f(t, i);
    return st;
}

/* Run a float32 kernel on float16/bfloat16/float64 tensors through float32
 * copies of them. */
static loom_status run_widened(const loom__node *n, const loom_tensor *const *in,
                               loom_tensor *const *out)
{
    loom__kernel_fn fn = kernel_of(n->op);
    const loom_tensor *tin[n->n_inputs > 0 ? n->n_inputs : 1];
    loom_tensor *tout[n->n_outputs > 0 ? n->n_outputs : 1];
    loom_tensor *own_in[n->n_inputs > 0 ? n->n_inputs : 1];
    bool any = false;
    loom_status st = LOOM_OK;

    for (int i = 0; i < n->n_inputs; i++)
        any |= wide_float(in[i]);
    for (int i = 0; i < n->n_outputs; i++)
        any |= wide_float(out[i]);
    if (!any)
        return fn(n, in, out);
    for (int i = 0; i < n->n_inputs; i++) {
        own_in[i] = NULL;
        tin[i] = in[i];
        if (st == LOOM_OK && wide_float(in[i]) && (st = as_f32(in[i], &own_in[i])) == LOOM_OK)
            tin[i] = own_in[i];
    }
    for (int i = 0; i < n->n_outputs; i++) {
        tout[i] = out[i];
        if (wide_float(out[i])) {
            tout[i] = NULL;
            if (st == LOOM_OK)
                st = loom__tensor_new(LOOM_F32, out[i]->rank, out[i]->dims, &tout[i]);
        }
    }
    if (st == LOOM_OK)
        st = fn(n, tin, tout);
    for (int i = 0; i < n->n_outputs; i++) {
        if (!wide_float(out[i]))
            continue;
        for (int64_t k = 0; st == LOOM_OK && k < out[i]->numel; k++)
            loom__ref_set_f(out[i], k, ((const float *)tout[i]->data)[k]);
        loom_tensor_free(tout[i]);
    }
    for (int i = 0; i < n->n_inputs; i++)
        loom_tensor_free(own_in[i]);
    return st;
}

loom__kernel_fn loom__ref_kernel(loom__op op)
{
    loom__kernel_fn fn = kernel_of(op);
    return fn && widened(op) ? run_widened : fn;
}

double loom__ref_get_f(const loom_tensor *t, int64_t i)
{
    const void *d = t->data;
    switch (t->dtype) {
    case LOOM_F32: return ((const float *)d)[i];
    case LOOM_F64: return ((const double *)d)[i];
    case LOOM_F16: return loom__f16_to_f32(((const uint16_t *)d)[i]);
    case LOOM_BF16: return loom__bf16_to_f32(((const uint16_t *)d)[i]);
    case LOOM_I8: return ((const int8_t *)d)[i];
    case LOOM_U8: case LOOM_BOOL: return ((const uint8_t *)d)[i];
    case LOOM_I16: return ((const int16_t *)d)[i];
    case LOOM_U16: return ((const uint16_t *)d)[i];
    case LOOM_I32: return ((const int32_t *)d)[i];
    case LOOM_U32: return ((const uint32_t *)d)[i];
    case LOOM_I64: return (double)((const int64_t *)d)[i];
    case LOOM_U64: return (double)((const uint64_t *)d)[i];
    case LOOM_DTYPE_INVALID: break;
    }
    return 0;
}

int64_t loom__ref_get_i(const loom_tensor *t, int64_t i)
{
    const void *d = t->data;
    switch (t->dtype) {
    case LOOM_I8: return ((const int8_t *)d)[i];
    case LOOM_U8: case LOOM_BOOL: return ((const uint8_t *)d)[i];
    case LOOM_I16: return ((const int16_t *)d)[i];
    case LOOM_U16: return ((const uint16_t *)d)[i];
    case LOOM_I32: return ((const int32_t *)d)[i];
    case LOOM_U32: return ((const uint32_t *)d)[i];
    case LOOM_I64: return ((const int64_t *)d)[i];
    case LOOM_U64: return (int64_t)((const uint64_t *)d)[i];
    default: {
        double v = loom__ref_get_f(t, i);
        if (v != v)
            return 0;
        if (v >= 9.2233720368547758e18)
            return INT64_MAX;
        if (v <= -9.2233720368547758e18)
            return INT64_MIN;
        return (int64_t)v;
    }
    }
}

void loom__ref_set_i(loom_tensor *t, int64_t i, int64_t v)
{
    void *d = t->data;
    switch (t->dtype) {
    case LOOM_F32: ((float *)d)[i] = (float)v; break;
    case LOOM_F64: ((double *)d)[i] = (double)v; break;
    case LOOM_F16: ((uint16_t *)d)[i] = loom__f32_to_f16((float)v); break;
    case LOOM_BF16: ((uint16_t *)d)[i] = loom__f32_to_bf16((float)v); break;
    case LOOM_BOOL: ((uint8_t *)d)[i] = v != 0; break;
    case LOOM_I8: case LOOM_U8: ((uint8_t *)d)[i] = (uint8_t)(uint64_t)v; break;
    case LOOM_I16: case LOOM_U16: ((uint16_t *)d)[i] = (uint16_t)(uint64_t)v; break;
    case LOOM_I32: case LOOM_U32: ((uint32_t *)d)[i] = (uint32_t)(uint64_t)v; break;
    case LOOM_I64: case LOOM_U64: ((uint64_t *)d)[i] = (uint64_t)v; break;
    case LOOM_DTYPE_INVALID: break;
    }
}

void loom__ref_set_f(loom_tensor *t, int64_t i, double v)
{
    void *d = t->data;
    switch (t->dtype) {
    case LOOM_F32: ((float *)d)[i] = (float)v; break;
    case LOOM_F64: ((double *)d)[i] = v; break;
    case LOOM_F16: ((uint16_t *)d)[i] = loom__f32_to_f16((float)v); break;
    case LOOM_BF16: ((uint16_t *)d)[i] = loom__f32_to_bf16((float)v); break;
    case LOOM_BOOL: ((uint8_t *)d)[i] = v != 0; break;
    default: {
        /* truncate toward zero, NaN 0, saturate to int64, then wrap */
        int64_t k = v != v ? 0 : v >= 9.2233720368547758e18 ? INT64_MAX
                   : v <= -9.2233720368547758e18 ? INT64_MIN : (int64_t)v;
        if (loom__dtype_is_unsigned(t->dtype) && v >= 9.2233720368547758e18)
            k = v >= 1.8446744073709552e19 ? -1 : (int64_t)(uint64_t)v;
        loom__ref_set_i(t, i, k);
        break;
    }
    }
}

int64_t loom__reduce_begin(loom__reduce_it *it, int rank, const int64_t *dims, const bool *reduced)
{
    int64_t s = 1, count = 1;
    it->rank = rank;
    it->off = 0;
    for (int d = rank - 1; d >= 0; d--) {
        it->dims[d] = dims[d];
        it->idx[d] = 0;
        it->ostride[d] = reduced[d] ? 0 : s;
        if (reduced[d])
            count *= dims[d];
        else
            s *= dims[d];
    }
    return count;
}

void loom__reduce_next(loom__reduce_it *it)
{
    for (int d = it->rank - 1; d >= 0; d--) {
        it->idx[d]++;
        it->off += it->ostride[d];
        if (it->idx[d] < it->dims[d])
            return;
        it->off -= it->ostride[d] * it->dims[d];
        it->idx[d] = 0;
    }
}

int64_t loom__span(const int64_t *dims, int from, int to)
{
    int64_t s = 1;
    for (int i = from; i < to; i++)
        s *= dims[i];
    return s;
}

void loom__contiguous_strides(int rank, const int64_t *dims, int64_t *strides)
{
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) {
        strides[i] = s;
        s *= dims[i];
    }
}

void loom__bcast_begin(loom__bcast_it *it, const loom_tensor *out, const loom_tensor *const *in,
                       int n_in)
{
    memset(it, 0, sizeof *it);
    it->n_in = n_in;
    it->rank = out->rank > 0 ? out->rank : 1;
    for (int d = 0; d < it->rank; d++)
        it->dims[d] = out->rank > 0 ? out->dims[d] : 1;
    for (int k = 0; k < n_in; k++) {
        int64_t s = 1;
        /* align trailing dims; a dim of 1 (or a missing one) broadcasts */
        for (int d = it->rank - 1; d >= 0; d--) {
            int id = in[k]->rank - (it->rank - d);
            int64_t dim = id >= 0 ? in[k]->dims[id] : 1;
            it->strides[k][d] = dim == 1 ? 0 : s;
            s *= dim;
        }
        it->inner[k] = it->strides[k][it->rank - 1];
    }
    it->row_len = it->dims[it->rank - 1];
    it->rows_left = it->row_len ? loom__span(it->dims, 0, it->rank - 1) : 0;
}

bool loom__bcast_row(loom__bcast_it *it, int64_t *off)
{
    if (it->rows_left == 0)
        return false;
    for (int k = 0; k < it->n_in; k++)
        off[k] = it->off[k];
    if (--it->rows_left == 0)
        return true;
    /* advance the odometer over the outer dims */
    for (int d = it->rank - 2; d >= 0; d--) {
        it->idx[d]++;
        for (int k = 0; k < it->n_in; k++)
            it->off[k] += it->strides[k][d];
        if (it->idx[d] < it->dims[d])
            break;
        for (int k = 0; k < it->n_in; k++)
            it->off[k] -= it->strides[k][d] * it->dims[d];
        it->idx[d] = 0;
    }
    return true;
}

void loom__strided_copy(void *dst, const void *src, size_t esize, int rank, const int64_t *dims,
                        const int64_t *src_strides, int64_t src_offset)
{
    int64_t idx[LOOM_MAX_RANK] = {0};
    int64_t total = loom__span(dims, 0, rank), off = src_offset;
    char *d = dst;
    const char *s = src;

    if (total == 0)
        return;
    if (rank == 0) {
        memcpy(d, s + off * (int64_t)esize, esize);
        return;
    }
    for (int64_t i = 0; i < total; i++) {
        memcpy(d + i * (int64_t)esize, s + off * (int64_t)esize, esize);
        for (int k = rank - 1; k >= 0; k--) {
            idx[k]++;
            off += src_strides[k];
            if (idx[k] < dims[k])
                break;
            off -= src_strides[k] * dims[k];
            idx[k] = 0;
        }
    }
}

void loom__ref_act(float *y, int64_t count, const loom__node *n)
{
    const float lo = n->act_a, hi = n->act_b;
    if (n->act == LOOM_ACT_NONE)
        return; /* y need not be float then (a comparison's bool output) */
    for (int64_t i = 0; i < count; i++) {
        float x = y[i];
        switch (n->act) {
        case LOOM_ACT_RELU: y[i] = x > 0.0f ? x : 0.0f; break;
        case LOOM_ACT_SIGMOID: y[i] = 1.0f / (1.0f + expf(-x)); break;
        case LOOM_ACT_TANH: y[i] = tanhf(x); break;
        case LOOM_ACT_GELU: y[i] = 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); break;
        /* as the unfused ops compute them (Clip, HardSwish, Sigmoid then Mul) */
        case LOOM_ACT_CLIP: y[i] = (x < lo ? lo : x) > hi ? hi : (x < lo ? lo : x); break;
        case LOOM_ACT_HARDSWISH: y[i] = (float)(x * fmax(0.0, fmin(1.0, x / 6.0 + 0.5))); break;
        case LOOM_ACT_SILU: y[i] = x * (1.0f / (1.0f + expf(-x))); break;
        default: return;
        }
    }
}
