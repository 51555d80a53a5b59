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
 *
 * On the way it adds up what protobuf-c will allocate to decode the file
 * (an upper bound of its peak): per message its C struct, per field read
 * one scan record (protobuf-c keeps them until the message is done, in
 * slabs that double) and its slot in a repeated field's array, every
 * string and bytes value, every unknown field's copy, each block with
 * malloc's overhead. Empty messages cost about a hundred times their two
 * bytes on the wire, so a small file can ask for gigabytes: the importer
 * compares this with its memory budget before decoding anything.
 */
#include <string.h>

#include "import/import-impl.h"

typedef struct {
    const uint8_t *base;
    int max_depth;
    const char *source;
    uint64_t bytes; /* decoded size, estimated */
} wire_walk;

/* protobuf-c's costs: malloc's overhead per block, a ScannedMember (32
 * bytes, in slabs that double: 64 per field at worst), an unknown field
 * record. */
#define PB_BLOCK 16
#define PB_SCAN 64
#define PB_UNKNOWN 32

/* Bytes one element takes in a repeated field's array. */
static uint64_t elt_size(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE:
    case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_MESSAGE:
        return 8;
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    default:
        return 4;
    }
}

/* Bytes a packed repeated field of len wire bytes decodes to: fixed-size
 * elements take what they took on the wire, varints at most one element
 * a byte. */
static uint64_t packed_bytes(const ProtobufCFieldDescriptor *f, uint64_t len)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_FLOAT: case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_DOUBLE: case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_SFIXED64:
        return len;
    default:
        return len * elt_size(f);
    }
}

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

static loom_status walk(wire_walk *w, const uint8_t *p, const uint8_t *end,
                        const ProtobufCMessageDescriptor *desc, int depth)
{
    if (depth > w->max_depth)
        return loom__err(LOOM_E_MODEL_INVALID,
                         "%s: protobuf: messages nested deeper than %d levels at byte %zu (in %s)",
                         w->source, w->max_depth, (size_t)(p - w->base), desc->name);
    w->bytes += desc->sizeof_message + PB_BLOCK;
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
        w->bytes += PB_SCAN;
        if (!field)
            w->bytes += PB_UNKNOWN + PB_BLOCK; /* kept, with a copy of its bytes (added below) */
        else if (field->label == PROTOBUF_C_LABEL_REPEATED)
            w->bytes += elt_size(field) + PB_BLOCK / 4;
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
            if (!field || field->type == PROTOBUF_C_TYPE_STRING || field->type == PROTOBUF_C_TYPE_BYTES)
                w->bytes += len + 1 + PB_BLOCK;
            else if (field->type != PROTOBUF_C_TYPE_MESSAGE && field->label == PROTOBUF_C_LABEL_REPEATED)
                w->bytes += packed_bytes(field, len);
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

loom_status loom__wire_check(const uint8_t *data, size_t size, int max_depth, const char *source,
                             uint64_t *decoded_bytes)
{
    wire_walk w = {.base = data, .max_depth = max_depth, .source = source};
    loom_status st;
    if (size == 0)
        return loom__err(LOOM_E_MODEL_INVALID, "%s: file is empty, not an ONNX model", source);
    st = walk(&w, data, data + size, &onnx__model_proto__descriptor, 0);
    *decoded_bytes = w.bytes;
    return st;
}
