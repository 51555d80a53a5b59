/* onnx-builder.c - see onnx-builder.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx-builder.h"

struct tb_model {
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    Onnx__OperatorSetIdProto opset;
    Onnx__OperatorSetIdProto *opsets[1];
    void **allocs;
    size_t n_allocs, cap_allocs;
    uint8_t *packed;
};

void *tb_alloc(tb_model *b, size_t size)
{
    void *p = calloc(1, size ? size : 1);
    if (!p)
        abort(); /* tests only */
    if (b->n_allocs == b->cap_allocs) {
        b->cap_allocs = b->cap_allocs ? b->cap_allocs * 2 : 64;
        b->allocs = realloc(b->allocs, b->cap_allocs * sizeof *b->allocs);
        if (!b->allocs)
            abort();
    }
    b->allocs[b->n_allocs++] = p;
    return p;
}

char *tb_strdup(tb_model *b, const char *s)
{
    char *d = tb_alloc(b, strlen(s) + 1);
    strcpy(d, s);
    return d;
}

/* Grow a protobuf-c repeated pointer field by one. */
static void **push(tb_model *b, void ***arr, size_t *n)
{
    void **grown = tb_alloc(b, (*n + 1) * sizeof *grown);
    if (*n)
        memcpy(grown, *arr, *n * sizeof *grown);
    *arr = grown;
    return &grown[(*n)++];
}

tb_model *tb_new(int64_t opset)
{
    tb_model *b = calloc(1, sizeof *b);
    if (!b)
        abort();
    onnx__model_proto__init(&b->model);
    onnx__graph_proto__init(&b->graph);
    onnx__operator_set_id_proto__init(&b->opset);
    b->model.has_ir_version = 1;
    b->model.ir_version = 8;
    b->model.producer_name = tb_strdup(b, "loom-tests");
    b->opset.domain = tb_strdup(b, "");
    b->opset.has_version = 1;
    b->opset.version = opset;
    b->opsets[0] = &b->opset;
    b->model.n_opset_import = 1;
    b->model.opset_import = b->opsets;
    b->graph.name = tb_strdup(b, "test");
    b->model.graph = &b->graph;
    return b;
}

void tb_free(tb_model *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n_allocs; i++)
        free(b->allocs[i]);
    free(b->allocs);
    free(b->packed);
    free(b);
}

Onnx__ModelProto *tb_proto(tb_model *b)
{
    return &b->model;
}

static Onnx__ValueInfoProto *value_info(tb_model *b, const char *name)
{
    Onnx__ValueInfoProto *vi = tb_alloc(b, sizeof *vi);
    onnx__value_info_proto__init(vi);
    vi->name = tb_strdup(b, name);
    return vi;
}

Onnx__ValueInfoProto *tb_input(tb_model *b, const char *name, loom_dtype dt, int rank,
                               const int64_t *dims)
{
    Onnx__ValueInfoProto *vi = value_info(b, name);
    Onnx__TypeProto *tp = tb_alloc(b, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = tb_alloc(b, sizeof *tt);
    Onnx__TensorShapeProto *sp = tb_alloc(b, sizeof *sp);
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sp);
    tt->has_elem_type = 1;
    tt->elem_type = (int32_t)dt;
    sp->n_dim = (size_t)rank;
    sp->dim = tb_alloc(b, (size_t)(rank ? rank : 1) * sizeof *sp->dim);
    for (int i = 0; i < rank; i++) {
        Onnx__TensorShapeProto__Dimension *d = tb_alloc(b, sizeof *d);
        onnx__tensor_shape_proto__dimension__init(d);
        if (dims[i] < 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = tb_strdup(b, "N");
        } else {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = dims[i];
        }
        sp->dim[i] = d;
    }
    tt->shape = sp;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    vi->type = tp;
    *push(b, (void ***)&b->graph.input, &b->graph.n_input) = vi;
    return vi;
}

Onnx__ValueInfoProto *tb_output(tb_model *b, const char *name)
{
    Onnx__ValueInfoProto *vi = value_info(b, name);
    *push(b, (void ***)&b->graph.output, &b->graph.n_output) = vi;
    return vi;
}

Onnx__TensorProto *tb_tensor(tb_model *b, const char *name, loom_dtype dt, int rank,
                             const int64_t *dims, const void *data)
{
    Onnx__TensorProto *t = tb_alloc(b, sizeof *t);
    size_t n = 1;
    onnx__tensor_proto__init(t);
    t->name = tb_strdup(b, name ? name : "");
    t->has_data_type = 1;
    t->data_type = (int32_t)dt;
    t->n_dims = (size_t)rank;
    t->dims = tb_alloc(b, (size_t)(rank ? rank : 1) * sizeof *t->dims);
    for (int i = 0; i < rank; i++) {
        t->dims[i] = dims[i];
        n *= (size_t)(dims[i] > 0 ? dims[i] : 0);
    }
    n *= loom_dtype_size(dt);
    t->has_raw_data = 1;
    t->raw_data.len = n;
    t->raw_data.data = tb_alloc(b, n);
    if (data && n)
        memcpy(t->raw_data.data, data, n);
    return t;
}

Onnx__TensorProto *tb_init(tb_model *b, const char *name, loom_dtype dt, int rank,
                           const int64_t *dims, const void *data)
{
    Onnx__TensorProto *t = tb_tensor(b, name, dt, rank, dims, data);
    *push(b, (void ***)&b->graph.initializer, &b->graph.n_initializer) = t;
    return t;
}

static void split_names(tb_model *b, const char *list, char ***out, size_t *n)
{
    char *copy = tb_strdup(b, list), *p = copy;
    *out = NULL;
    *n = 0;
    if (!*list)
        return;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        *push(b, (void ***)out, n) = p;
        if (!comma)
            break;
        p = comma + 1;
    }
}

Onnx__NodeProto *tb_node(tb_model *b, const char *op_type, const char *inputs,
                         const char *outputs)
{
    Onnx__NodeProto *n = tb_alloc(b, sizeof *n);
    char name[64];
    onnx__node_proto__init(n);
    n->op_type = tb_strdup(b, op_type);
    snprintf(name, sizeof name, "%s_%zu", op_type, b->graph.n_node);
    n->name = tb_strdup(b, name);
    split_names(b, inputs, &n->input, &n->n_input);
    split_names(b, outputs, &n->output, &n->n_output);
    *push(b, (void ***)&b->graph.node, &b->graph.n_node) = n;
    return n;
}

static Onnx__AttributeProto *attr(tb_model *b, Onnx__NodeProto *n, const char *name,
                                  Onnx__AttributeProto__AttributeType type)
{
    Onnx__AttributeProto *a = tb_alloc(b, sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = tb_strdup(b, name);
    a->has_type = 1;
    a->type = type;
    *push(b, (void ***)&n->attribute, &n->n_attribute) = a;
    return a;
}

void tb_attr_int(tb_model *b, Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = v;
}

void tb_attr_float(tb_model *b, Onnx__NodeProto *n, const char *name, float v)
{
    Onnx__AttributeProto *a = attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = v;
}

void tb_attr_string(tb_model *b, Onnx__NodeProto *n, const char *name, const char *v)
{
    Onnx__AttributeProto *a = attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    a->has_s = 1;
    a->s.len = strlen(v);
    a->s.data = (uint8_t *)tb_strdup(b, v);
}

void tb_attr_ints(tb_model *b, Onnx__NodeProto *n, const char *name, size_t count,
                  const int64_t *v)
{
    Onnx__AttributeProto *a = attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = count;
    a->ints = tb_alloc(b, (count ? count : 1) * sizeof *a->ints);
    if (count)
        memcpy(a->ints, v, count * sizeof *a->ints);
}

void tb_attr_floats(tb_model *b, Onnx__NodeProto *n, const char *name, size_t count,
                    const float *v)
{
    Onnx__AttributeProto *a = attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
    a->n_floats = count;
    a->floats = tb_alloc(b, (count ? count : 1) * sizeof *a->floats);
    if (count)
        memcpy(a->floats, v, count * sizeof *a->floats);
}

void tb_attr_tensor(tb_model *b, Onnx__NodeProto *n, const char *name, Onnx__TensorProto *t)
{
    Onnx__AttributeProto *a = attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    a->t = t;
}

const uint8_t *tb_pack(tb_model *b, size_t *len)
{
    size_t n = onnx__model_proto__get_packed_size(&b->model);
    free(b->packed);
    b->packed = malloc(n ? n : 1);
    if (!b->packed)
        abort();
    *len = onnx__model_proto__pack(&b->model, b->packed);
    return b->packed;
}

loom_status tb_run(const uint8_t *bytes, size_t len, int n_in, loom_tensor *const *ins, int n_out,
                   loom_tensor **outs)
{
    loom_model *m = NULL;
    loom_session *s = NULL;
    loom_input_shape shapes[16];
    loom_value_info vi;
    loom_status st;

    for (int i = 0; i < n_out; i++)
        outs[i] = NULL;
    if ((st = loom_model_load_buffer(bytes, len, "test.onnx", NULL, NULL, &m)) != LOOM_OK)
        return st;
    for (int i = 0; i < n_in && i < 16; i++) {
        loom_model_input(m, (size_t)i, &vi);
        shapes[i].name = vi.name;
        shapes[i].rank = loom_tensor_rank(ins[i]);
        shapes[i].dims = loom_tensor_dims(ins[i]);
    }
    st = loom_session_create(m, &(loom_session_options){.input_shapes = shapes, .input_shape_count = (size_t)n_in}, &s);
    for (int i = 0; st == LOOM_OK && i < n_in; i++) {
        loom_session_input(s, (size_t)i, &vi);
        st = loom_session_set_input(s, vi.name, ins[i]);
    }
    if (st == LOOM_OK)
        st = loom_session_run(s);
    for (int i = 0; st == LOOM_OK && i < n_out; i++) {
        const loom_tensor *t = loom_session_output_tensor(s, (size_t)i);
        if (!t) {
            st = LOOM_E_INVALID_ARG;
            break;
        }
        st = loom_tensor_create(loom_tensor_dtype(t), loom_tensor_rank(t), loom_tensor_dims(t), &outs[i]);
        if (st == LOOM_OK)
            memcpy(loom_tensor_data(outs[i]), loom_tensor_cdata(t), loom_tensor_nbytes(t));
    }
    loom_session_free(s);
    loom_model_free(m);
    return st;
}

loom_tensor *tb_f32(int rank, const int64_t *dims, const float *data)
{
    loom_tensor *t;
    if (loom_tensor_create(LOOM_F32, rank, dims, &t) != LOOM_OK)
        abort();
    if (data)
        memcpy(loom_tensor_data(t), data, loom_tensor_nbytes(t));
    return t;
}

loom_tensor *tb_i64(int rank, const int64_t *dims, const int64_t *data)
{
    loom_tensor *t;
    if (loom_tensor_create(LOOM_I64, rank, dims, &t) != LOOM_OK)
        abort();
    if (data)
        memcpy(loom_tensor_data(t), data, loom_tensor_nbytes(t));
    return t;
}
