/*
 * passes.h - graph passes, run in this numbered order on a session's copy
 * of the model's graph:
 *
 *   1. specialise   bind every graph input to a concrete shape
 *   2. infer+fold   in topological order: infer each node's output
 *                   shapes, then evaluate it outright when all its inputs
 *                   are constants (folds PyTorch's Shape/Gather/Concat
 *                   chains feeding Reshape, constant Transposes, ...)
 *   3. lower-qdq    QuantizeLinear/DequantizeLinear patterns of a QDQ
 *                   model become int8 nodes (LoomQConv, LoomQGemm) and
 *                   int8 data movement (lower-qdq.c)
 *   4. fuse         an activation (Relu, Sigmoid, Tanh) that is the only
 *                   reader of a Gemm/MatMul/Conv output becomes that node's
 *                   fused activation (the kernel ABI's `act`)
 *   5. dce          drop nodes whose outputs are constant or unused
 */
#ifndef LOOM_PASSES_H
#define LOOM_PASSES_H

#include "ir/ir.h"

loom_status loom__pass_specialize(loom__graph *g, const loom_session_options *opts);
loom_status loom__pass_infer_fold(loom__graph *g);
/* The session's tensor size limit (its option, or the default). */
uint64_t loom__max_tensor_bytes(const loom_session_options *opts);
loom_status loom__pass_lower_qdq(loom__graph *g);
/* Ops that move int8 values unchanged between a DequantizeLinear and a
 * QuantizeLinear of one scale (MaxPool, Flatten, Reshape, ...): the
 * lowering runs them on int8 and loom_quantize gives their output their
 * input's scale. */
bool loom__op_moves_int8(loom__op op);
loom_status loom__pass_fuse(loom__graph *g);
loom_status loom__pass_dce(loom__graph *g);

/* True when every output of n is already a constant. */
bool loom__outputs_constant(const loom__graph *g, const loom__node *n);

/* All of the above, in order. */
loom_status loom__passes_run(loom__graph *g, const loom_session_options *opts);

#endif /* LOOM_PASSES_H */
