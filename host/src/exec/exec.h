/* exec.h - what other library modules (validation) may ask a session
 * beyond the public API. */
#ifndef LOOM_EXEC_H
#define LOOM_EXEC_H

#include "loom/loom.h"

/* Modelled GEMM-like flops of node i (execution order), 0 for other ops. */
double loom__session_node_flops(const loom_session *s, size_t i);

#endif
