/*
 * onnx-export.c - write a graph back out as an ONNX model file, with the
 * protobuf-c code generated from the system onnx.proto (the same code the
 * importer reads with).
 *
 * What is written: the graph inputs with their declared shapes (symbolic
 * dims kept), every constant a live node reads (as an initializer, raw
 * little-endian data), the live nodes in order with their attributes, and
 * the graph outputs with dtype and shape. Only default-domain ONNX ops are
 * written; loom's internal int8 nodes never reach a file.
 */
#include <stdlib.h>
#include <string.h>

#include "export/export.h"
#include "onnx.pb-c.h"

/* Every allocation of one export, freed together. */
typedef struct {
    void **p;
    size_t n, cap;
    bool oom;
} arena;

static void *alloc(arena *a, size_t size)
{
    void *p;
    if (a->oom)
        return NULL;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 256;
        void **grown = realloc(a->p, cap * sizeof *grown);
        if (!grown) {
            a->oom = true;
            return NULL;
        }
        a->p = grown;
        a->cap = cap;
    }
    if (!(p = calloc(1, size ? size : 1))) {
        a->oom = true;
        return NULL;
    }
    return a->p[a->n++] = p;
}

static char *dup(arena *a, const char *s)
{
    char *d = alloc(a, strlen(s) + 1);
    if (d)
        strcpy(d, s);
    return d;
}

static void arena_free(arena *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->p[i]);
    free(a->p);
}

static Onnx__TensorProto *tensor_proto(arena *a, const char *name, const loom_tensor *t)
{
    Onnx__TensorProto *tp = alloc(a, sizeof *tp);
    if (!tp)
        return NULL;
    onnx__tensor_proto__init(tp);
    tp->name = dup(a, name);
    tp->has_data_type = 1;
    tp->data_type = (int32_t)t->dtype; /* loom_dtype uses ONNX's codes */
    tp->n_dims = (size_t)t->rank;
    tp->dims = alloc(a, (size_t)(t->rank ? t->rank : 1) * sizeof *tp->dims);
    if (tp->dims)
        memcpy(tp->dims, t->dims, (size_t)t->rank * sizeof *tp->dims);
    tp->has_raw_data = 1;
    tp->raw_data.len = t->nbytes;
    tp->raw_data.data = alloc(a, t->nbytes);
    if (tp->raw_data.data && t->nbytes)
        memcpy(tp->raw_data.data, t->data, t->nbytes); /* hosts are little-endian */
    return tp;
}

static Onnx__ValueInfoProto *value_info(arena *a, const loom__value *v)
{
    Onnx__ValueInfoProto *vi = alloc(a, sizeof *vi);
    Onnx__TypeProto *tp = alloc(a, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = alloc(a, sizeof *tt);
    Onnx__TensorShapeProto *sp = alloc(a, sizeof *sp);
    if (!vi || !tp || !tt || !sp)
        return NULL;
    onnx__value_info_proto__init(vi);
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sp);
    vi->name = dup(a, v->name);
    vi->type = tp;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    if (v->dtype != LOOM_DTYPE_INVALID) {
        tt->has_elem_type = 1;
        tt->elem_type = (int32_t)v->dtype;
    }
    if (v->rank < 0)
        return vi; /* shape unknown: leave it out */
    tt->shape = sp;
    sp->n_dim = (size_t)v->rank;
    sp->dim = alloc(a, (size_t)(v->rank ? v->rank : 1) * sizeof *sp->dim);
    for (int i = 0; sp->dim && i < v->rank; i++) {
        Onnx__TensorShapeProto__Dimension *d = alloc(a, sizeof *d);
        if (!d)
            return NULL;
        onnx__tensor_shape_proto__dimension__init(d);
        if (v->dim_params[i]) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = dup(a, v->dim_params[i]);
        } else if (v->dims[i] >= 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = v->dims[i];
        }
        sp->dim[i] = d;
    }
    return vi;
}

static loom_status attribute(arena *a, const loom__graph *g, const loom__node *n,
                             const loom__attr *at, Onnx__AttributeProto **out)
{
    Onnx__AttributeProto *ap = alloc(a, sizeof *ap);
    char lbl[LOOM__LABEL_MAX];
    if (!ap)
        return LOOM_E_NOMEM;
    onnx__attribute_proto__init(ap);
    ap->name = dup(a, at->name);
    ap->has_type = 1;
    switch (at->type) {
    case LOOM__ATTR_FLOAT:
        ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
        ap->has_f = 1, ap->f = at->f;
        break;
    case LOOM__ATTR_INT:
        ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
        ap->has_i = 1, ap->i = at->i;
        break;
    case LOOM__ATTR_STRING:
        ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
        ap->has_s = 1;
        ap->s.len = strlen(at->s);
        ap->s.data = (uint8_t *)dup(a, at->s);
        break;
    case LOOM__ATTR_TENSOR:
        ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
        ap->t = tensor_proto(a, "", at->t);
        break;
    case LOOM__ATTR_FLOATS:
        ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
        ap->n_floats = at->count;
        ap->floats = alloc(a, (at->count ? at->count : 1) * sizeof *ap->floats);
        if (ap->floats && at->count)
            memcpy(ap->floats, at->floats, at->count * sizeof *ap->floats);
        break;
    case LOOM__ATTR_INTS:
        ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
        ap->n_ints = at->count;
        ap->ints = alloc(a, (at->count ? at->count : 1) * sizeof *ap->ints);
        if (ap->ints && at->count)
            memcpy(ap->ints, at->ints, at->count * sizeof *ap->ints);
        break;
    default:
        return loom__err(LOOM_E_MODEL_UNSUPPORTED, "%s: %s: attribute \"%s\" is of a kind loom cannot write",
                         g->source, loom__node_label(g, n, lbl, sizeof lbl), at->name);
    }
    *out = ap;
    return LOOM_OK;
}

/* Grow a protobuf-c repeated field by one. */
static void **push(arena *a, void ***arr, size_t *n)
{
    void **grown = alloc(a, (*n + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    if (*n)
        memcpy(grown, *arr, *n * sizeof *grown);
    *arr = grown;
    return &grown[(*n)++];
}
#define PUSH(a, arr, n, v)                                                                         \
    do {                                                                                           \
        void **slot_ = push((a), (void ***)&(arr), &(n));                                          \
        if (slot_)                                                                                 \
            *slot_ = (v);                                                                          \
    } while (0)

static loom_status build(arena *a, const loom__graph *g, const char *producer,
                         Onnx__ModelProto *m, Onnx__GraphProto *gp)
{
    bool *written = loom__calloc((size_t)g->n_values + 1, sizeof *written);
    Onnx__OperatorSetIdProto *os = alloc(a, sizeof *os);
    char lbl[LOOM__LABEL_MAX];
    loom_status st = LOOM_OK;

    if (!written || !os) {
        free(written);
        return LOOM_E_NOMEM;
    }
    onnx__model_proto__init(m);
    onnx__graph_proto__init(gp);
    onnx__operator_set_id_proto__init(os);
    m->has_ir_version = 1;
    m->ir_version = 8;
    m->producer_name = dup(a, producer);
    m->producer_version = dup(a, loom_version());
    os->domain = dup(a, "");
    os->has_version = 1;
    os->version = g->opset;
    PUSH(a, m->opset_import, m->n_opset_import, os);
    gp->name = dup(a, "loom");
    m->graph = gp;
    for (int i = 0; i < g->n_inputs; i++) {
        PUSH(a, gp->input, gp->n_input, value_info(a, &g->values[g->inputs[i]]));
        written[g->inputs[i]] = true;
    }
    for (int i = 0; i < g->n_nodes && st == LOOM_OK; i++) {
        const loom__node *n = &g->nodes[i];
        Onnx__NodeProto *np;
        if (n->dead)
            continue;
        if (n->op >= LOOM__OP_COUNT || n->act != LOOM_ACT_NONE) {
            st = loom__err(LOOM_E_MODEL_UNSUPPORTED, "%s: %s is internal to loom and has no ONNX form",
                           g->source, loom__node_label(g, n, lbl, sizeof lbl));
            break;
        }
        if (!(np = alloc(a, sizeof *np)))
            break;
        onnx__node_proto__init(np);
        np->name = dup(a, n->name);
        np->op_type = dup(a, n->op_type);
        np->domain = dup(a, "");
        np->n_input = (size_t)n->n_inputs;
        np->input = alloc(a, (size_t)(n->n_inputs ? n->n_inputs : 1) * sizeof *np->input);
        for (int k = 0; np->input && k < n->n_inputs; k++) {
            const loom__value *v = loom__in(g, n, k);
            np->input[k] = dup(a, v ? v->name : "");
            if (v && !written[n->inputs[k]] && v->constant && v->producer < 0) {
                PUSH(a, gp->initializer, gp->n_initializer, tensor_proto(a, v->name, v->constant));
                written[n->inputs[k]] = true;
            }
        }
        np->n_output = (size_t)n->n_outputs;
        np->output = alloc(a, (size_t)(n->n_outputs ? n->n_outputs : 1) * sizeof *np->output);
        for (int k = 0; np->output && k < n->n_outputs; k++) {
            const loom__value *v = loom__out(g, n, k);
            np->output[k] = dup(a, v ? v->name : "");
        }
        for (int k = 0; k < n->n_attrs && st == LOOM_OK; k++) {
            Onnx__AttributeProto *ap = NULL;
            if ((st = attribute(a, g, n, &n->attrs[k], &ap)) == LOOM_OK)
                PUSH(a, np->attribute, np->n_attribute, ap);
        }
        PUSH(a, gp->node, gp->n_node, np);
    }
    for (int i = 0; i < g->n_outputs && st == LOOM_OK; i++) {
        const loom__value *v = &g->values[g->outputs[i]];
        if (!written[g->outputs[i]] && v->constant && v->producer < 0) {
            PUSH(a, gp->initializer, gp->n_initializer, tensor_proto(a, v->name, v->constant));
            written[g->outputs[i]] = true;
        }
        PUSH(a, gp->output, gp->n_output, value_info(a, v));
    }
    free(written);
    return st;
}

loom_status loom__onnx_export(const loom__graph *g, const char *producer, const char *path)
{
    arena a = {0};
    Onnx__ModelProto m;
    Onnx__GraphProto gp;
    uint8_t *buf = NULL;
    size_t size;
    loom_status st = build(&a, g, producer, &m, &gp);

    if (st == LOOM_OK && a.oom)
        st = loom__err(LOOM_E_NOMEM, "%s: out of memory building the ONNX model", path);
    if (st == LOOM_E_NOMEM)
        st = loom__err(LOOM_E_NOMEM, "%s: out of memory building the ONNX model", path);
    if (st != LOOM_OK)
        goto done;
    size = onnx__model_proto__get_packed_size(&m);
    if (size > ((size_t)2 << 30) - 1) {
        st = loom__err(LOOM_E_LIMIT, "%s: the model would be %zu bytes, above protobuf's 2 GiB",
                       path, size);
        goto done;
    }
    if (!(buf = malloc(size ? size : 1))) {
        st = loom__err(LOOM_E_NOMEM, "%s: out of memory packing the model", path);
        goto done;
    }
    onnx__model_proto__pack(&m, buf);
    st = loom__write_file(path, buf, size, NULL, 0);
done:
    free(buf);
    arena_free(&a);
    return st;
}
