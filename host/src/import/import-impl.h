/* import-impl.h - private pieces of the ONNX importer. */
#ifndef LOOM_IMPORT_IMPL_H
#define LOOM_IMPORT_IMPL_H

#include "ir/ir.h"
#include "onnx.pb-c.h"

typedef struct {
    const char *source;   /* file name for messages */
    const char *base_dir; /* real path of the model's folder, NULL: no external data */
    uint64_t max_tensor_bytes;
} loom__import_ctx;

/* Walk the protobuf wire format of an onnx.ModelProto without decoding
 * it: every tag, length and wire type must be well formed and message
 * nesting must stay within max_depth (protobuf-c itself has no recursion
 * limit). Names the byte offset and field of the first problem.
 * *decoded_bytes gets an upper bound of what decoding will allocate. */
loom_status loom__wire_check(const uint8_t *data, size_t size, int max_depth,
                             const char *source, uint64_t *decoded_bytes);

/* Convert a TensorProto (initializer or tensor attribute) to a tensor.
 * what labels messages ("initializer \"W1\""). */
loom_status loom__tensor_from_proto(const loom__import_ctx *ctx, const Onnx__TensorProto *tp,
                                    const char *what, loom_tensor **out);

/* ONNX data type number -> loom dtype; LOOM_DTYPE_INVALID when loom has
 * no such dtype. onnx_dtype_name() names any ONNX type for messages. */
loom_dtype loom__dtype_from_onnx(int32_t t);
const char *loom__onnx_dtype_name(int32_t t);

#endif /* LOOM_IMPORT_IMPL_H */
