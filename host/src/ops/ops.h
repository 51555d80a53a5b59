/*
 * ops.h - per-operator shape inference and attribute parsing.
 *
 * loom__infer_node() checks a node's arity, input dtypes and attributes,
 * parses the attributes into node->p, and sets the dtype and shape of
 * every output. It needs every input's shape, and the values of inputs
 * that determine shapes (Reshape's shape, Slice's starts, ...), which must
 * be constants by then (the fold pass makes them so). Constant and Shape
 * nodes get their outputs' constant tensors here directly.
 */
#ifndef LOOM_OPS_H
#define LOOM_OPS_H

#include "ir/ir.h"

loom_status loom__infer_node(loom__graph *g, loom__node *n);

/* ---- helpers shared by the infer-*.c files ---- */

/* "<source>: node "x" (Op): <message>" with status st. */
loom_status loom__node_err(const loom__graph *g, const loom__node *n, loom_status st,
                           const char *fmt, ...) LOOM__PRINTF(4, 5);

/* Inputs in [min_in, max_in] (omitted optional ones count by position),
 * outputs in [1, max_out]; required inputs present. */
loom_status loom__check_arity(const loom__graph *g, const loom__node *n, int min_in, int max_in,
                              int max_out);
/* Input i must have one of the dtypes in mask (bit per loom_dtype). */
#define LOOM__DT(d) (1u << (d))
#define LOOM__DT_F32 LOOM__DT(LOOM_F32)
/* float16, bfloat16 and float64 run the float32 kernels widened (ref.c) */
#define LOOM__DT_FLOAT (LOOM__DT_F32 | LOOM__DT(LOOM_F16) | LOOM__DT(LOOM_BF16) | LOOM__DT(LOOM_F64))
/* what index inputs (Gather, ...) may be */
#define LOOM__DT_INDEX (LOOM__DT(LOOM_I32) | LOOM__DT(LOOM_I64))
#define LOOM__DT_UINT (LOOM__DT(LOOM_U8) | LOOM__DT(LOOM_U16) | LOOM__DT(LOOM_U32) | LOOM__DT(LOOM_U64))
#define LOOM__DT_INT (LOOM__DT_INDEX | LOOM__DT_UINT | LOOM__DT(LOOM_I8) | LOOM__DT(LOOM_I16))
#define LOOM__DT_NUM (LOOM__DT_FLOAT | LOOM__DT_INT)
#define LOOM__DT_ANY (LOOM__DT_NUM | LOOM__DT(LOOM_BOOL))
loom_status loom__check_dtype(const loom__graph *g, const loom__node *n, int i, unsigned mask);
loom_status loom__check_rank(const loom__graph *g, const loom__node *n, int i, int min_rank,
                             int max_rank);

/* Outputs larger than this stay computed at run time instead of folded. */
#define LOOM__FOLD_MAX_BYTES ((size_t)64 << 20)

/* LOOM_E_LIMIT unless a tensor of this shape fits g->max_tensor_bytes;
 * call before allocating anything shaped by the model. */
loom_status loom__check_size(const loom__graph *g, const loom__node *n, const char *what,
                             loom_dtype dtype, int rank, const int64_t *dims);

/* Set output i's dtype and shape (no-op when the output is omitted). */
void loom__set_output(loom__graph *g, const loom__node *n, int i, loom_dtype dtype, int rank,
                      const int64_t *dims);

/* Normalise axis into [0, rank) (accepting [-rank, rank)); error names it. */
loom_status loom__norm_axis(const loom__graph *g, const loom__node *n, const char *what,
                            int64_t axis, int rank, int64_t *out);

/* Input i as a constant int64 vector (int32 accepted): *out is a
 * malloc'ed copy, *count its length. Error if not constant. */
loom_status loom__const_ints(const loom__graph *g, const loom__node *n, int i, const char *what,
                             int64_t **out, size_t *count);
/* Input i as constant numbers of any numeric dtype, as doubles: at most
 * cap of them into out, *count how many (0 when the input is omitted or
 * an empty tensor). A value computed at run time is an error, recorded
 * with loom__graph_needs_value. */
loom_status loom__const_numbers(const loom__graph *g, const loom__node *n, int i, const char *what,
                                double *out, size_t cap, size_t *count);
/* Input i as one constant number of any numeric dtype (present, one value). */
loom_status loom__const_scalar(const loom__graph *g, const loom__node *n, int i, const char *what,
                               double *out);
/* Input i as a constant scalar float (one element of any float dtype). */
loom_status loom__const_float(const loom__graph *g, const loom__node *n, int i, const char *what,
                              float *out);

/* numpy broadcast of two shapes; error names both. */
loom_status loom__broadcast_shapes(const loom__graph *g, const loom__node *n, int ra,
                                   const int64_t *da, int rb, const int64_t *db, int *rank,
                                   int64_t *dims);

/* MatMul's batching (numpy.matmul): 1-D operands promoted to matrices,
 * batch dims broadcast. Backends walk the batches with loom__matmul_batch,
 * which gives the matrix indices (not elements) of A and B for batch t. */
typedef struct {
    int64_t M, N, K, batches;
    int rank; /* batch dims */
    int64_t dims[LOOM_MAX_RANK], sa[LOOM_MAX_RANK], sb[LOOM_MAX_RANK];
} loom__matmul_shape;

void loom__matmul_shape_of(int ra, const int64_t *da, int rb, const int64_t *db, loom__matmul_shape *s);
void loom__matmul_batch(const loom__matmul_shape *s, int64_t t, int64_t *ia, int64_t *ib);
/* When every batch shares one B matrix and A's batches are contiguous
 * (B of rank 2, as in x[seq,batch,d] . W), the batches are rows of one
 * [batches * M, K] . [K, N] product: fold them into M (one GEMM, not a
 * GEMV per token). */
void loom__matmul_fold_rows(loom__matmul_shape *s);

/* Family inference functions (one per file). */
loom_status loom__infer_elementwise(loom__graph *g, loom__node *n);
loom_status loom__infer_nn(loom__graph *g, loom__node *n);
loom_status loom__infer_shape_ops(loom__graph *g, loom__node *n);
loom_status loom__infer_quant(loom__graph *g, loom__node *n);
loom_status loom__infer_math(loom__graph *g, loom__node *n);
loom_status loom__infer_data(loom__graph *g, loom__node *n);
loom_status loom__infer_norm(loom__graph *g, loom__node *n);
loom_status loom__infer_attention(loom__graph *g, loom__node *n);
loom_status loom__infer_resize(loom__graph *g, loom__node *n);
loom_status loom__infer_einsum(loom__graph *g, loom__node *n);
loom_status loom__infer_bitcast(loom__graph *g, loom__node *n);
loom_status loom__infer_center_crop_pad(loom__graph *g, loom__node *n);
loom_status loom__infer_qlinear_matmul(loom__graph *g, loom__node *n);
/* loom's own int8 GEMM node (passes/lower-qdq.c makes it with its shape
 * set; this is for graphs built with it, such as calibration's) */
loom_status loom__infer_loom_qgemm(loom__graph *g, loom__node *n);

#endif /* LOOM_OPS_H */
