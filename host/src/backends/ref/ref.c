/* ref.c - the reference backend's kernel table and iteration helpers. */
#include <math.h>
#include <string.h>

#include "backends/ref/ref-impl.h"

loom__kernel_fn loom__ref_kernel(loom__op op)
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
    case LOOM__OP_Cast: return loom__ref_cast;
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
    case LOOM__OP_ReduceMean: return loom__ref_reduce_mean;
    case LOOM__OP_Conv: return loom__ref_conv;
    case LOOM__OP_MaxPool: case LOOM__OP_AveragePool: return loom__ref_pool;
    case LOOM__OP_GlobalAveragePool: return loom__ref_global_avg_pool;
    case LOOM__OP_Pad: return loom__ref_pad;
    case LOOM__OP_Transpose: return loom__ref_transpose;
    case LOOM__OP_Concat: return loom__ref_concat;
    case LOOM__OP_Split: return loom__ref_split;
    case LOOM__OP_Slice: return loom__ref_slice;
    case LOOM__OP_Gather: return loom__ref_gather;
    case LOOM__OP_Constant: case LOOM__OP_ConstantOfShape: case LOOM__OP_Shape:
    case LOOM__OP_LoomQGemm: case LOOM__OP_LoomQConv: return loom__ref_qlinear;
    case LOOM__OP_Range: case LOOM__OP_COUNT: case LOOM__OP_ALL:
        break;
    }
    return NULL;
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

void loom__ref_act(float *y, int64_t n, int act)
{
    for (int64_t i = 0; i < n; i++) {
        float x = y[i];
        switch (act) {
        case LOOM_ACT_RELU: y[i] = x > 0.0f ? x : 0.0f; break;
        case LOOM_ACT_SIGMOID: y[i] = 1.0f / (1.0f + expf(-x)); break;
        case LOOM_ACT_TANH: y[i] = tanhf(x); break;
        case LOOM_ACT_GELU: y[i] = 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); break;
        default: return;
        }
    }
}
