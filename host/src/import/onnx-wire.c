/*
 * onnx-wire.c - bounded walk over the protobuf wire format before decoding.
 *
 * protobuf-c decodes nested messages recursively with no depth limit, so a
 * few kilobytes of nested GraphProto/AttributeProto can exhaust the stack.
 * This walk follows the same schema (protobuf-c's descriptors for
 * onnx.ModelProto), descends only into fields that are messages, and stops
 * at max_depth. It also checks tags, varints, lengths and wire types so
 * that the error names the byte offset and field of the first problem.
 * The walk itself is recursive but bounded by max_depth.
 */
#include <string.h>

#include "import/import-impl.h"

typedef struct {
    const uint8_t *base;
    int max_depth;
    const char *source;
} wire_walk;

static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        uint8_t b;
        if (*p >= end)
            return false;
        b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false; /* more than 10 bytes */
}

static loom_status wire_error(const wire_walk *w, const uint8_t *at,
                              const ProtobufCMessageDescriptor *desc,
                              const ProtobufCFieldDescriptor *field, const char *what)
{
    return loom__err(LOOM_E_MODEL_INVALID, "%s: protobuf: %s at byte %zu (in %s%s%s)", w->source,
                     what, (size_t)(at - w->base), desc->name, field ? " field " : "",
                     field ? field->name : "");
}

static loom_status walk(const wire_walk *w, const uint8_t *p, const uint8_t *end,
                        const ProtobufCMessageDescriptor *desc, int depth)
{
    if (depth > w->max_depth)
        return loom__err(LOOM_E_MODEL_INVALID,
                         "%s: protobuf: messages nested deeper than %d levels at byte %zu (in %s)",
                         w->source, w->max_depth, (size_t)(p - w->base), desc->name);
    while (p < end) {
        const uint8_t *at = p;
        uint64_t tag, len;
        uint32_t id;
        const ProtobufCFieldDescriptor *field;

        if (!read_varint(&p, end, &tag))
            return wire_error(w, at, desc, NULL, "truncated or overlong tag");
        id = (uint32_t)(tag >> 3);
        if (id == 0 || (tag >> 3) > 0x1fffffff)
            return wire_error(w, at, desc, NULL, "invalid field number");
        field = protobuf_c_message_descriptor_get_field(desc, id);
        switch (tag & 7) {
        case 0: /* varint */
            if (!read_varint(&p, end, &len))
                return wire_error(w, at, desc, field, "truncated varint");
            break;
        case 1: /* 64-bit */
            if (end - p < 8)
                return wire_error(w, at, desc, field, "truncated 64-bit value");
            p += 8;
            break;
        case 5: /* 32-bit */
            if (end - p < 4)
                return wire_error(w, at, desc, field, "truncated 32-bit value");
            p += 4;
            break;
        case 2: /* length-delimited */
            if (!read_varint(&p, end, &len))
                return wire_error(w, at, desc, field, "truncated length");
            if (len > (uint64_t)(end - p))
                return wire_error(w, at, desc, field, "length runs past the end of the data");
            if (field && field->type == PROTOBUF_C_TYPE_MESSAGE) {
                loom_status st = walk(w, p, p + len,
                                      (const ProtobufCMessageDescriptor *)field->descriptor,
                                      depth + 1);
                if (st != LOOM_OK)
                    return st;
            }
            p += len;
            break;
        default: /* 3, 4: groups (unused by ONNX); 6, 7: invalid */
            return wire_error(w, at, desc, field, "unsupported wire type");
        }
    }
    return LOOM_OK;
}

loom_status loom__wire_check(const uint8_t *data, size_t size, int max_depth, const char *source)
{
    wire_walk w = {.base = data, .max_depth = max_depth, .source = source};
    if (size == 0)
        return loom__err(LOOM_E_MODEL_INVALID, "%s: file is empty, not an ONNX model", source);
    return walk(&w, data, data + size, &onnx__model_proto__descriptor, 0);
}
