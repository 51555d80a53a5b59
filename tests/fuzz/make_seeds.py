#!/usr/bin/env python3
"""Write hand-made seed inputs for the loader fuzz target into corpus/.

Plain standard library: the protobuf wire format is written by hand so the
seeds can hold what no exporter would write (deep nesting, lying lengths).
Real models are seeded by copying small fixtures (see README in this folder).
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_len(num, payload):
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def field_varint(num, v):
    return varint(num << 3 | 0) + varint(v)


def opset(version):
    # ModelProto.opset_import = 8: OperatorSetIdProto{domain=1, version=2}
    return field_len(8, field_len(1, b"") + field_varint(2, version))


def model(graph, ir=8, ops=13):
    return field_varint(1, ir) + opset(ops) + field_len(7, graph)


def nested_graph(depth):
    # Graph.node(1) -> Node.attribute(5) -> Attribute.g(6) -> Graph ...
    g = b""
    for _ in range(depth):
        attr = field_len(1, b"body") + field_varint(20, 5) + field_len(6, g)
        node = field_len(4, b"If") + field_len(5, attr)
        g = field_len(1, node)
    return g


def write(name, data):
    with open(os.path.join(CORPUS, name), "wb") as f:
        f.write(data)


def main():
    os.makedirs(CORPUS, exist_ok=True)
    write("seed-empty-graph", model(b""))
    write("seed-nested-200", model(nested_graph(200)))
    write("seed-nested-10", model(nested_graph(10)))
    relu = field_len(1, b"x") + field_len(2, b"y") + field_len(4, b"Relu")
    tensor_type = field_len(1, field_varint(1, 1) + field_len(2, field_len(1, field_varint(1, 4))))
    vi_x = field_len(1, b"x") + field_len(2, tensor_type)
    graph = field_len(1, relu) + field_len(11, vi_x) + field_len(12, field_len(1, b"y"))
    write("seed-relu", model(graph))
    write("seed-relu-truncated", model(graph)[:-3])
    write("seed-lying-length", field_varint(1, 8) + varint(7 << 3 | 2) + varint(1 << 40))
    # initializer with dims whose product overflows int64
    init = (field_varint(1, 1 << 40) + field_varint(1, 1 << 40) + field_varint(2, 1) +
            field_len(8, b"w") + field_len(9, b"\0" * 4))
    write("seed-dims-overflow", model(field_len(5, init) + field_len(12, field_len(1, b"w"))))


if __name__ == "__main__":
    main()
