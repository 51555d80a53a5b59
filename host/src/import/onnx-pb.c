/* onnx-pb.c - single ONNX TensorProto files (.pb), the files ONNX's test
 * data sets hold: loom_tensor_load_pb / loom_tensor_save_pb. They carry
 * every dtype loom has, bfloat16 included, which .npy cannot. A file is
 * untrusted input: its size is checked against the memory budget before
 * it is read, the decoded tensor as an initializer would be (external
 * data is refused: a lone .pb has no model folder). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "import/import-impl.h"

loom_status loom_tensor_load_pb(const char *path, loom_tensor **out)
{
    struct stat sb;
    FILE *f;
    uint8_t *buf;
    Onnx__TensorProto *tp;
    loom__import_ctx ctx;
    loom_status st;

    if (!path || !out)
        return loom__err(LOOM_E_INVALID_ARG, "loom_tensor_load_pb: NULL argument");
    *out = NULL;
    if (!(f = loom__fopen_regular(path, &sb)))
        return loom__err(errno == ENOENT ? LOOM_E_NOT_FOUND : LOOM_E_IO, "%s: %s", path,
                         errno == EINVAL ? "not a regular file" : strerror(errno));
    if ((st = loom__budget_check(path, "reading and decoding the tensor", 3 * (uint64_t)sb.st_size + 1,
                                 loom_memory_budget())) != LOOM_OK) {
        fclose(f);
        return st;
    }
    if (!(buf = loom__malloc((size_t)sb.st_size + 1))) {
        fclose(f);
        return loom__err(LOOM_E_NOMEM, "%s: cannot allocate %lld bytes", path, (long long)sb.st_size);
    }
    if (fread(buf, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size) {
        fclose(f);
        free(buf);
        return loom__err(LOOM_E_IO, "%s: read failed", path);
    }
    fclose(f);
    tp = onnx__tensor_proto__unpack(NULL, (size_t)sb.st_size, buf);
    free(buf);
    if (!tp)
        return loom__err(LOOM_E_DATA_INVALID, "%s: not an ONNX TensorProto", path);
    ctx.source = path;
    ctx.base_dir = NULL;
    ctx.max_tensor_bytes = loom_memory_budget();
    if (!tp->has_data_type)
        st = loom__err(LOOM_E_DATA_INVALID, "%s: the tensor has no data_type", path);
    else
        st = loom__tensor_from_proto(&ctx, tp, "tensor", out);
    if (st != LOOM_OK && st != LOOM_E_NOMEM && st != LOOM_E_LIMIT && st != LOOM_E_DTYPE)
        st = loom__err(LOOM_E_DATA_INVALID, "%s", loom_last_error()); /* a bad data file, not a bad model */
    onnx__tensor_proto__free_unpacked(tp, NULL);
    return st;
}

loom_status loom_tensor_save_pb(const char *path, const char *name, const loom_tensor *t)
{
    Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
    int64_t dims[LOOM_MAX_RANK];
    uint8_t *buf;
    size_t len;
    loom_status st;

    if (!path || !t)
        return loom__err(LOOM_E_INVALID_ARG, "loom_tensor_save_pb: NULL argument");
    for (int d = 0; d < t->rank; d++)
        dims[d] = t->dims[d];
    tp.n_dims = (size_t)t->rank;
    tp.dims = dims;
    tp.has_data_type = 1;
    tp.data_type = (int32_t)t->dtype; /* loom_dtype uses ONNX's numbers */
    tp.name = (char *)(name ? name : "");
    tp.has_raw_data = 1;
    tp.raw_data.len = t->nbytes;
    tp.raw_data.data = t->data;
    len = onnx__tensor_proto__get_packed_size(&tp);
    if (!(buf = loom__malloc(len ? len : 1)))
        return loom__err(LOOM_E_NOMEM, "%s: out of memory", path);
    onnx__tensor_proto__pack(&tp, buf);
    st = loom__write_file(path, buf, len, NULL, 0);
    free(buf);
    return st;
}
