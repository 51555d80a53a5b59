/* export.h - writing graphs as ONNX model files. */
#ifndef LOOM_EXPORT_H
#define LOOM_EXPORT_H

#include "ir/ir.h"

/* Write g's live nodes, the constants they read (as initializers), its
 * inputs and outputs to path as an ONNX model of g->opset; through a
 * temporary file, so a failure leaves nothing at path. Internal nodes
 * (LoomQConv, ...) and fused activations have no ONNX form: an error. */
loom_status loom__onnx_export(const loom__graph *g, const char *producer, const char *path);

#endif
