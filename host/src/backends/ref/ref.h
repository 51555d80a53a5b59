/*
 * ref.h - the reference backend: plain, obviously-right C for every op.
 * It is the oracle every other device is compared with, and the kernels
 * the fold pass uses to evaluate constant subgraphs.
 */
#ifndef LOOM_REF_H
#define LOOM_REF_H

#include "ir/ir.h"

/* in[i] is NULL for an omitted optional input, out[i] for an omitted
 * output. Output tensors are allocated by the caller with the inferred
 * shapes. Errors carry a message; the caller adds the node's name. */
typedef loom_status (*loom__kernel_fn)(const loom__node *n, const loom_tensor *const *in,
                                       loom_tensor *const *out);

/* The kernel for op, or NULL for ops whose outputs shape inference
 * always makes constant (Constant, ConstantOfShape, Shape, Range, Size). */
loom__kernel_fn loom__ref_kernel(loom__op op);

/* The int8 GEMM of the kernel ABI as a device provides it. */
typedef loom_status (*loom__gemm_i8_fn)(void *ctx, const loom_gemm_i8_args *a);

/* LoomQGemm / LoomQConv on host tensors (in[] as the node's inputs, out
 * its int8 output) through gemm: shared by every device that runs these
 * nodes on host memory (ref, vsim, xrt). */
loom_status loom__qlinear_run(const loom__node *n, const loom_tensor *const *in, loom_tensor *out,
                              loom__gemm_i8_fn gemm, void *ctx);

#endif /* LOOM_REF_H */
