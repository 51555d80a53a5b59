/*
 * onnx-tensor.c - TensorProto to loom_tensor: raw_data, the typed fields
 * and external data files, each checked against dtype x shape.
 *
 * External data must live inside the model's folder: the location may not
 * be absolute or contain "..", and its real path (links resolved) must
 * stay under the folder's real path.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "import/import-impl.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "raw_data and npy are little-endian; loom assumes a little-endian host");

loom_dtype loom__dtype_from_onnx(int32_t t)
{
    switch (t) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: return LOOM_F32;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8: return LOOM_U8;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8: return LOOM_I8;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: return LOOM_I32;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: return LOOM_I64;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: return LOOM_BOOL;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16: return LOOM_U16;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT16: return LOOM_I16;
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16: return LOOM_F16;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: return LOOM_F64;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32: return LOOM_U32;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64: return LOOM_U64;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16: return LOOM_BF16;
    default: return LOOM_DTYPE_INVALID;
    }
}

const char *loom__onnx_dtype_name(int32_t t)
{
    static const char *const names[] = {
        "undefined", "float32", "uint8",  "int8",    "uint16",    "int16",
        "int32",     "int64",   "string", "bool",    "float16",   "float64",
        "uint32",    "uint64",  "complex64", "complex128", "bfloat16"};
    if (t >= 0 && t < (int32_t)(sizeof names / sizeof names[0]))
        return names[t];
    return "unknown";
}

/* Parse a non-negative decimal string (external_data offset/length). */
static bool parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!s || !*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return true;
}

static bool has_dotdot(const char *path)
{
    const char *p = path;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return true;
        if (!e)
            break;
        p = e + 1;
    }
    return false;
}

/* Validate the external data reference, then allocate *out with the
 * tensor's shape and read it: nothing is allocated for a reference that
 * points outside the folder or past the end of its file. */
static loom_status read_external(const loom__import_ctx *ctx, const Onnx__TensorProto *tp,
                                 const char *what, loom_dtype dt, size_t nbytes, loom_tensor **out)
{
    loom_tensor *t = NULL;
    const char *location = NULL;
    uint64_t offset = 0, length = 0;
    bool have_length = false;
    char *joined = NULL, *real = NULL;
    size_t blen;
    struct stat sb;
    FILE *f = NULL;
    loom_status st = LOOM_OK;

    for (size_t i = 0; i < tp->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = tp->external_data[i];
        if (!e->key || !e->value)
            continue;
        if (strcmp(e->key, "location") == 0) {
            location = e->value;
        } else if (strcmp(e->key, "offset") == 0) {
            if (!parse_u64(e->value, &offset))
                return loom__err(LOOM_E_MODEL_INVALID,
                                 "%s: %s: external data offset \"%s\" is not a number",
                                 ctx->source, what, e->value);
        } else if (strcmp(e->key, "length") == 0) {
            if (!parse_u64(e->value, &length))
                return loom__err(LOOM_E_MODEL_INVALID,
                                 "%s: %s: external data length \"%s\" is not a number",
                                 ctx->source, what, e->value);
            have_length = true;
        }
    }
    if (!location || !*location)
        return loom__err(LOOM_E_MODEL_INVALID, "%s: %s: external data has no location",
                         ctx->source, what);
    if (!ctx->base_dir)
        return loom__err(LOOM_E_MODEL_INVALID,
                         "%s: %s: external data \"%s\" but the model was loaded from memory "
                         "without a folder",
                         ctx->source, what, location);
    if (location[0] == '/')
        return loom__err(LOOM_E_MODEL_INVALID,
                         "%s: %s: external data location \"%s\" is an absolute path; it must be "
                         "relative to the model's folder",
                         ctx->source, what, location);
    if (has_dotdot(location))
        return loom__err(LOOM_E_MODEL_INVALID,
                         "%s: %s: external data location \"%s\" contains \"..\"; it must stay in "
                         "the model's folder",
                         ctx->source, what, location);
    if (have_length && length != nbytes)
        return loom__err(LOOM_E_MODEL_INVALID,
                         "%s: %s: external data length is %llu bytes, expected %zu", ctx->source,
                         what, (unsigned long long)length, nbytes);

    joined = malloc(strlen(ctx->base_dir) + strlen(location) + 2);
    if (!joined)
        return loom__err(LOOM_E_NOMEM, "out of memory");
    sprintf(joined, "%s/%s", ctx->base_dir, location);
    real = realpath(joined, NULL);
    if (!real) {
        st = loom__err(errno == ENOENT ? LOOM_E_NOT_FOUND : LOOM_E_IO,
                       "%s: %s: external data file \"%s\": %s", ctx->source, what, location,
                       strerror(errno));
        goto done;
    }
    blen = strlen(ctx->base_dir);
    if (strncmp(real, ctx->base_dir, blen) != 0 ||
        (blen > 1 && real[blen] != '/' && real[blen] != '\0')) {
        st = loom__err(LOOM_E_MODEL_INVALID,
                       "%s: %s: external data \"%s\" resolves to \"%s\", outside the model's "
                       "folder",
                       ctx->source, what, location, real);
        goto done;
    }
    f = loom__fopen_regular(real, &sb);
    if (!f) {
        st = errno == EINVAL
                 ? loom__err(LOOM_E_MODEL_INVALID, "%s: %s: external data \"%s\" is not a regular file",
                             ctx->source, what, location)
                 : loom__err(LOOM_E_IO, "%s: %s: cannot open external data \"%s\": %s",
                             ctx->source, what, location, strerror(errno));
        goto done;
    }
    if (offset > (uint64_t)sb.st_size || (uint64_t)sb.st_size - offset < nbytes) {
        st = loom__err(LOOM_E_MODEL_INVALID,
                       "%s: %s: external data \"%s\" is %lld bytes; offset %llu + %zu bytes runs "
                       "past its end",
                       ctx->source, what, location, (long long)sb.st_size,
                       (unsigned long long)offset, nbytes);
        goto done;
    }
    if ((st = loom__tensor_new(dt, (int)tp->n_dims, tp->dims, &t)) != LOOM_OK) {
        st = loom__err_prefix(st, "%s: %s", ctx->source, what);
        goto done;
    }
    if (fseeko(f, (off_t)offset, SEEK_SET) != 0 || fread(t->data, 1, t->nbytes, f) != t->nbytes) {
        st = loom__err(LOOM_E_IO, "%s: %s: reading external data \"%s\" failed", ctx->source,
                       what, location);
        goto done;
    }
    *out = t;
    t = NULL;
done:
    loom_tensor_free(t);
    if (f)
        fclose(f);
    free(real);
    free(joined);
    return st;
}

static loom_status count_mismatch(const loom__import_ctx *ctx, const char *what,
                                  const char *field, size_t have, int64_t want)
{
    return loom__err(LOOM_E_MODEL_INVALID, "%s: %s: %s has %zu elements, expected %lld",
                     ctx->source, what, field, have, (long long)want);
}

/* Elements in the typed field that carries dt (ONNX IR spec), and its name. */
static size_t typed_count(const Onnx__TensorProto *tp, loom_dtype dt, const char **field)
{
    switch (dt) {
    case LOOM_F32: *field = "float_data"; return tp->n_float_data;
    case LOOM_I64: *field = "int64_data"; return tp->n_int64_data;
    case LOOM_F64: *field = "double_data"; return tp->n_double_data;
    case LOOM_U32: case LOOM_U64: *field = "uint64_data"; return tp->n_uint64_data;
    default: *field = "int32_data"; return tp->n_int32_data;
    }
}

/* Typed fields: which repeated field carries which dtype (ONNX IR spec). */
static loom_status read_typed(const loom__import_ctx *ctx, const Onnx__TensorProto *tp,
                              const char *what, loom_tensor *t)
{
    int64_t n = t->numel;
    switch (t->dtype) {
    case LOOM_F32:
        if (tp->n_float_data != (size_t)n)
            return count_mismatch(ctx, what, "float_data", tp->n_float_data, n);
        memcpy(t->data, tp->float_data, t->nbytes);
        return LOOM_OK;
    case LOOM_I64:
        if (tp->n_int64_data != (size_t)n)
            return count_mismatch(ctx, what, "int64_data", tp->n_int64_data, n);
        memcpy(t->data, tp->int64_data, t->nbytes);
        return LOOM_OK;
    case LOOM_F64:
        if (tp->n_double_data != (size_t)n)
            return count_mismatch(ctx, what, "double_data", tp->n_double_data, n);
        memcpy(t->data, tp->double_data, t->nbytes);
        return LOOM_OK;
    case LOOM_U32:
    case LOOM_U64:
        if (tp->n_uint64_data != (size_t)n)
            return count_mismatch(ctx, what, "uint64_data", tp->n_uint64_data, n);
        for (int64_t i = 0; i < n; i++) {
            if (t->dtype == LOOM_U64) {
                ((uint64_t *)t->data)[i] = tp->uint64_data[i];
            } else if (tp->uint64_data[i] > UINT32_MAX) {
                return loom__err(LOOM_E_MODEL_INVALID, "%s: %s: uint64_data[%lld] does not fit uint32",
                                 ctx->source, what, (long long)i);
            } else {
                ((uint32_t *)t->data)[i] = (uint32_t)tp->uint64_data[i];
            }
        }
        return LOOM_OK;
    case LOOM_I16:
    case LOOM_U16:
    case LOOM_F16:
    case LOOM_BF16:
        /* int32_data holds each value (float16/bfloat16: its bit pattern) */
        if (tp->n_int32_data != (size_t)n)
            return count_mismatch(ctx, what, "int32_data", tp->n_int32_data, n);
        for (int64_t i = 0; i < n; i++) {
            int32_t v = tp->int32_data[i];
            bool fits = t->dtype == LOOM_I16 ? v >= INT16_MIN && v <= INT16_MAX : v >= 0 && v <= UINT16_MAX;
            if (!fits)
                return loom__err(LOOM_E_MODEL_INVALID,
                                 "%s: %s: int32_data[%lld] = %d does not fit %s", ctx->source,
                                 what, (long long)i, v, loom_dtype_name(t->dtype));
            ((uint16_t *)t->data)[i] = (uint16_t)v;
        }
        return LOOM_OK;
    case LOOM_I32:
    case LOOM_I8:
    case LOOM_U8:
    case LOOM_BOOL:
        if (tp->n_int32_data != (size_t)n)
            return count_mismatch(ctx, what, "int32_data", tp->n_int32_data, n);
        for (int64_t i = 0; i < n; i++) {
            int32_t v = tp->int32_data[i];
            int32_t lo = t->dtype == LOOM_I8 ? -128 : 0;
            int32_t hi = t->dtype == LOOM_I8 ? 127 : t->dtype == LOOM_U8 ? 255 : 1;
            if (t->dtype == LOOM_I32) {
                ((int32_t *)t->data)[i] = v;
                continue;
            }
            if (v < lo || v > hi)
                return loom__err(LOOM_E_MODEL_INVALID,
                                 "%s: %s: int32_data[%lld] = %d does not fit %s", ctx->source,
                                 what, (long long)i, v, loom_dtype_name(t->dtype));
            ((uint8_t *)t->data)[i] = (uint8_t)v;
        }
        return LOOM_OK;
    default:
        return loom__err(LOOM_E_INTERNAL, "unhandled dtype");
    }
}

loom_status loom__tensor_from_proto(const loom__import_ctx *ctx, const Onnx__TensorProto *tp,
                                    const char *what, loom_tensor **out)
{
    char sbuf[LOOM__SHAPE_STR_MAX];
    loom_dtype dt;
    int64_t numel;
    uint64_t nbytes;
    loom_tensor *t = NULL;
    loom_status st;
    bool external = (tp->has_data_location &&
                     tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL);

    *out = NULL;
    if (!tp->has_data_type || tp->data_type == 0)
        return loom__err(LOOM_E_MODEL_INVALID, "%s: %s: data_type is missing", ctx->source, what);
    dt = loom__dtype_from_onnx(tp->data_type);
    if (dt == LOOM_DTYPE_INVALID)
        return loom__err(LOOM_E_DTYPE,
                         "%s: %s: data_type %d (%s) is not supported (float32, uint8, int8, "
                         "int32, int64, bool)",
                         ctx->source, what, (int)tp->data_type,
                         loom__onnx_dtype_name(tp->data_type));
    if (tp->n_dims > LOOM_MAX_RANK)
        return loom__err(LOOM_E_MODEL_UNSUPPORTED, "%s: %s: rank %zu exceeds loom's limit of %d",
                         ctx->source, what, tp->n_dims, LOOM_MAX_RANK);
    if (tp->segment)
        return loom__err(LOOM_E_MODEL_UNSUPPORTED, "%s: %s: segmented tensors are not supported",
                         ctx->source, what);
    for (size_t i = 0; i < tp->n_dims; i++)
        if (tp->dims[i] < 0)
            return loom__err(LOOM_E_MODEL_INVALID, "%s: %s: dims[%zu] is negative (%lld)",
                             ctx->source, what, i, (long long)tp->dims[i]);
    if (!loom__numel((int)tp->n_dims, tp->dims, &numel) ||
        !loom__mul_u64((uint64_t)numel, loom_dtype_size(dt), &nbytes))
        return loom__err(LOOM_E_MODEL_INVALID, "%s: %s: dims %s overflow the element count",
                         ctx->source, what,
                         loom__shape_str((int)tp->n_dims, tp->dims, sbuf, sizeof sbuf));
    if (nbytes > ctx->max_tensor_bytes)
        return loom__err(LOOM_E_LIMIT, "%s: %s: %llu bytes exceeds the limit of %llu",
                         ctx->source, what, (unsigned long long)nbytes,
                         (unsigned long long)ctx->max_tensor_bytes);
    /* Check embedded sizes before allocating, so a lying header costs nothing. */
    if (!external && tp->has_raw_data && tp->raw_data.len != nbytes)
        return loom__err(LOOM_E_MODEL_INVALID, "%s: %s: raw_data is %zu bytes, expected %llu (%s %s)",
                         ctx->source, what, tp->raw_data.len, (unsigned long long)nbytes,
                         loom_dtype_name(dt),
                         loom__shape_str((int)tp->n_dims, tp->dims, sbuf, sizeof sbuf));
    if (!external && !tp->has_raw_data && numel > 0) {
        const char *field;
        size_t have = typed_count(tp, dt, &field);
        if (have != (size_t)numel)
            return count_mismatch(ctx, what, field, have, numel);
    }
    if (external) {
        st = read_external(ctx, tp, what, dt, (size_t)nbytes, &t);
    } else {
        if ((st = loom__tensor_new(dt, (int)tp->n_dims, tp->dims, &t)) != LOOM_OK)
            return loom__err_prefix(st, "%s: %s", ctx->source, what);
        if (tp->has_raw_data && t->nbytes)
            memcpy(t->data, tp->raw_data.data, t->nbytes);
        else if (numel > 0)
            st = read_typed(ctx, tp, what, t);
    }
    if (st == LOOM_OK && dt == LOOM_BOOL) {
        const uint8_t *b = t->data;
        for (int64_t i = 0; i < numel; i++)
            if (b[i] > 1) {
                st = loom__err(LOOM_E_MODEL_INVALID, "%s: %s: bool element %lld is %u",
                               ctx->source, what, (long long)i, b[i]);
                break;
            }
    }
    if (st != LOOM_OK) {
        loom_tensor_free(t);
        return st;
    }
    *out = t;
    return LOOM_OK;
}
