/*
 * onnx-builder.h - build small ONNX models in C for tests, with the same
 * protobuf-c code the importer uses: a model is made of graph inputs,
 * initializers, nodes (with attributes) and outputs, then packed to bytes.
 * The Onnx__ModelProto stays reachable (tb_proto) so that tests can break
 * any field on purpose before packing.
 *
 * Every allocation belongs to the builder and is released by tb_free().
 */
#ifndef LOOM_TEST_ONNX_BUILDER_H
#define LOOM_TEST_ONNX_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "loom/loom.h"
#include "onnx.pb-c.h"

typedef struct tb_model tb_model;

tb_model *tb_new(int64_t opset);
void tb_free(tb_model *b);
Onnx__ModelProto *tb_proto(tb_model *b);

/* Graph input: dims of -1 become the symbolic dim "N". */
Onnx__ValueInfoProto *tb_input(tb_model *b, const char *name, loom_dtype dt, int rank,
                               const int64_t *dims);
Onnx__ValueInfoProto *tb_output(tb_model *b, const char *name);
/* Initializer with raw_data copied from data (dtype x shape bytes). */
Onnx__TensorProto *tb_init(tb_model *b, const char *name, loom_dtype dt, int rank,
                           const int64_t *dims, const void *data);
/* A TensorProto owned by the builder, not attached anywhere (for
 * attributes), with raw_data. */
Onnx__TensorProto *tb_tensor(tb_model *b, const char *name, loom_dtype dt, int rank,
                             const int64_t *dims, const void *data);

/* Node: inputs and outputs are comma-separated names; an empty field
 * ("a,,c") is an omitted optional input. */
Onnx__NodeProto *tb_node(tb_model *b, const char *op_type, const char *inputs,
                         const char *outputs);
void tb_attr_int(tb_model *b, Onnx__NodeProto *n, const char *name, int64_t v);
void tb_attr_float(tb_model *b, Onnx__NodeProto *n, const char *name, float v);
void tb_attr_string(tb_model *b, Onnx__NodeProto *n, const char *name, const char *v);
void tb_attr_ints(tb_model *b, Onnx__NodeProto *n, const char *name, size_t count,
                  const int64_t *v);
void tb_attr_floats(tb_model *b, Onnx__NodeProto *n, const char *name, size_t count,
                    const float *v);
void tb_attr_tensor(tb_model *b, Onnx__NodeProto *n, const char *name, Onnx__TensorProto *t);

/* Serialise; the buffer belongs to the builder. */
const uint8_t *tb_pack(tb_model *b, size_t *len);

/* Memory owned by the builder (freed by tb_free). */
void *tb_alloc(tb_model *b, size_t size);
char *tb_strdup(tb_model *b, const char *s);

/* ---- running one model in a test ---- */

/* Load bytes (tb_pack) and run once with the given inputs (by graph
 * input order; shapes taken from the tensors). On success *outs[i] gets
 * a copy of output i. Returns the first failing status. */
loom_status tb_run(const uint8_t *bytes, size_t len, int n_in, loom_tensor *const *ins, int n_out,
                   loom_tensor **outs);

/* Tensor helpers. */
loom_tensor *tb_f32(int rank, const int64_t *dims, const float *data);
loom_tensor *tb_i64(int rank, const int64_t *dims, const int64_t *data);

#endif /* LOOM_TEST_ONNX_BUILDER_H */
