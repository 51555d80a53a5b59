/* exec.h - what other library modules (validation) may ask a session
 * beyond the public API. */
#ifndef LOOM_EXEC_H
#define LOOM_EXEC_H

#include "loom/loom.h"

/* Reduction length of node i (execution order): K of a GEMM-like node,
 * the inputs summed per output of pooling and ReduceMean, the last axis of
 * LayerNormalization and Softmax; 0 for element-wise nodes. */
double loom__session_node_reduction(const loom_session *s, size_t i);

#endif
