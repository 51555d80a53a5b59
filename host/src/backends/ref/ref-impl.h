/* ref-impl.h - helpers shared by the reference kernels. */
#ifndef LOOM_REF_IMPL_H
#define LOOM_REF_IMPL_H

#include "backends/ref/ref.h"

/*
 * Row-wise iteration of an output shape with up to three broadcast
 * inputs. Each call of loom__bcast_row() yields the element offset of
 * every input at the start of the next row (the last output dim); within
 * a row, input k advances by inner[k] (0 when broadcast).
 */
typedef struct {
    int rank;                        /* >= 1 */
    int n_in;
    int64_t dims[LOOM_MAX_RANK];
    int64_t strides[3][LOOM_MAX_RANK];
    int64_t idx[LOOM_MAX_RANK];
    int64_t off[3];
    int64_t row_len;                 /* dims[rank-1] */
    int64_t inner[3];
    int64_t rows_left;
} loom__bcast_it;

void loom__bcast_begin(loom__bcast_it *it, const loom_tensor *out, const loom_tensor *const *in,
                       int n_in);
bool loom__bcast_row(loom__bcast_it *it, int64_t *off);

/* For each element of a tensor in C order, the offset of its group: the
 * element of the tensor with the reduced dims removed (the output of a
 * reduction over them). begin returns the group size (elements per group). */
typedef struct {
    int rank;
    int64_t dims[LOOM_MAX_RANK], ostride[LOOM_MAX_RANK], idx[LOOM_MAX_RANK], off;
} loom__reduce_it;

int64_t loom__reduce_begin(loom__reduce_it *it, int rank, const int64_t *dims, const bool *reduced);
void loom__reduce_next(loom__reduce_it *it);

/* Copy an n-d view: dst gets dims (C order), element i of dst comes from
 * src[src_offset + sum(idx[d] * src_strides[d])] (strides in elements,
 * may be 0 or negative). */
void loom__strided_copy(void *dst, const void *src, size_t esize, int rank, const int64_t *dims,
                        const int64_t *src_strides, int64_t src_offset);

/* C-order element strides of a shape. */
void loom__contiguous_strides(int rank, const int64_t *dims, int64_t *strides);

/* Product of dims[from..to). */
int64_t loom__span(const int64_t *dims, int from, int to);

/* Optional input i of n: NULL when omitted or beyond the node's inputs
 * (kernels must never index in[] past n->n_inputs). */
static inline const loom_tensor *loom__opt_in(const loom__node *n, const loom_tensor *const *in,
                                              int i)
{
    return i < n->n_inputs ? in[i] : NULL;
}

/* Element i of any tensor, widened: as double (float16/bfloat16/float32/
 * float64 exactly, integers rounded above 2^53), and as int64 (integers
 * exactly, uint64 as its bits; floats truncated toward zero, saturated,
 * NaN 0). */
double loom__ref_get_f(const loom_tensor *t, int64_t i);
int64_t loom__ref_get_i(const loom_tensor *t, int64_t i);
/* Store into element i in t's dtype: set_f rounds to a float dtype
 * (integer dtypes: as set_i of the truncated value), set_i wraps modulo
 * 2^bits (float dtypes: converted; bool: v != 0). */
void loom__ref_set_f(loom_tensor *t, int64_t i, double v);
void loom__ref_set_i(loom_tensor *t, int64_t i, int64_t v);

/* The fused activation of a Gemm/MatMul/Conv (node->act), in place. */
void loom__ref_act(float *y, int64_t count, const loom__node *n);

/* Kernel families. */
loom_status loom__ref_binary(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_where(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_unary(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_clip(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_cast(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_quantize(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_dequantize(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_qlinear(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_copy(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_dropout(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_expand(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_gemm(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_matmul(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_softmax(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_layernorm(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_batchnorm(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_conv(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_pool(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_global_avg_pool(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_pad(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_transpose(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_concat(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_split(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_slice(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_gather(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
/* ref-math.c: every numeric dtype (float16/bfloat16 computed in double) */
loom_status loom__ref_math_unary(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_math_binary(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_math_variadic(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_math_clip(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
/* ref-reduce.c */
loom_status loom__ref_reduce(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_argminmax(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_log_softmax(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_hardmax(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
/* ref-data.c, ref-norm.c */
loom_status loom__ref_data(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_norm(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_attention(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_loss(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_resize(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_conv_transpose(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_einsum(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);
loom_status loom__ref_qlinear_matmul(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out);

#endif /* LOOM_REF_IMPL_H */
