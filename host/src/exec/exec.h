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

/* Node i (execution order) of a session that ran with keep_values,
 * computed again by the reference kernels on the session's own input
 * values (what its device was given): outs[k] gets a new tensor for each
 * output k the node produces (NULL for an omitted one), n_outs at least
 * loom_session_node_output_count(s, i). The caller frees them. */
loom_status loom__session_node_reference(const loom_session *s, size_t i, loom_tensor **outs, size_t n_outs);

/* Checks the memory plan by walking the plan's steps: every device
 * buffer a step reads (a kernel's input, a download) holds the value it
 * is read as, and no kernel writes over one of its inputs: no two values
 * sharing a buffer are live at once.
 * LOOM_E_INTERNAL naming the first clash, else LOOM_OK with *buffers the
 * device buffers made and *values the values mapped to them (more values
 * than buffers: some are shared). */
loom_status loom__session_check_buffers(const loom_session *s, size_t *buffers, size_t *values);

#endif
