/* exec.h - what other library modules (validation) may ask a session
 * beyond the public API. */
#ifndef LOOM_EXEC_H
#define LOOM_EXEC_H

#include "loom/loom.h"

/* Reduction length of node i (execution order): K of a GEMM-like node,
 * the inputs summed per output of pooling and ReduceMean, the last axis of
 * LayerNormalization and Softmax; 0 for element-wise nodes. */
double loom__session_node_reduction(const loom_session *s, size_t i);

/* The host tensor of the value called name after a run of a session with
 * keep_values (graph inputs and every node output); NULL when there is no
 * such value or it was not computed (a folded constant, a dead node). */
const loom_tensor *loom__session_value(const loom_session *s, const char *name);

#endif
