/*
 * onnx-import.c - ONNX ModelProto (decoded by protobuf-c from the
 * system's onnx.proto) to the loom graph IR.
 *
 * Order of checks: file size, wire format and nesting (onnx-wire.c), then
 * protobuf-c decoding, then the model: IR version, opset, initializers,
 * inputs, nodes (known ops of the default domain only), outputs, and a
 * topological sort that rejects cycles and dangling tensors.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "import/import-impl.h"
#include "ir/model.h"

#define LOOM__OPSET_MIN 7
/* the newest default-domain opset of the onnx 1.23 package (its
 * onnx.defs.onnx_opset_version()); ops whose meaning changed on the way
 * read the model's opset (ops/infer-*.c) */
#define LOOM__OPSET_MAX 28
#define LOOM__DEFAULT_MAX_FILE ((size_t)2 << 30)
#define LOOM__DEFAULT_MAX_NESTING 64
/* protobuf-c recurses once per level: never let a caller ask for more */
#define LOOM__MAX_NESTING 100
#define LOOM__MAX_ATTRS 1024
#define LOOM__DEFAULT_MAX_TENSOR ((uint64_t)4 << 30)

/* ---- name -> value index (open addressing) ---- */

typedef struct {
    int *slots; /* value index or -1 */
    size_t cap;
} name_map;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static bool map_init(name_map *m, size_t expect)
{
    m->cap = 64;
    while (m->cap < expect * 2 + 1)
        m->cap *= 2;
    m->slots = malloc(m->cap * sizeof *m->slots);
    if (!m->slots)
        return false;
    for (size_t i = 0; i < m->cap; i++)
        m->slots[i] = -1;
    return true;
}

static int *map_slot(name_map *m, const loom__graph *g, const char *name)
{
    size_t i = hash_str(name) & (m->cap - 1);
    while (m->slots[i] >= 0 && strcmp(g->values[m->slots[i]].name, name) != 0)
        i = (i + 1) & (m->cap - 1);
    return &m->slots[i];
}

typedef struct {
    loom__import_ctx ctx;
    loom__graph *g;
    name_map names;
    size_t n_names; /* entries in the map */
} importer;

/* Find or create the value called name. */
static loom_status intern(importer *im, const char *name, int *out)
{
    int *slot;
    if (im->n_names * 2 + 2 > im->names.cap) {
        name_map bigger;
        if (!map_init(&bigger, im->names.cap))
            return loom__err(LOOM_E_NOMEM, "out of memory");
        for (size_t i = 0; i < im->names.cap; i++)
            if (im->names.slots[i] >= 0)
                *map_slot(&bigger, im->g, im->g->values[im->names.slots[i]].name) =
                    im->names.slots[i];
        free(im->names.slots);
        im->names = bigger;
    }
    slot = map_slot(&im->names, im->g, name);
    if (*slot < 0) {
        int v = loom__graph_add_value(im->g, name);
        if (v < 0)
            return loom__err(LOOM_E_NOMEM, "out of memory");
        *slot = v;
        im->n_names++;
    }
    *out = *slot;
    return LOOM_OK;
}

static int lookup(importer *im, const char *name)
{
    return *map_slot(&im->names, im->g, name);
}

/* ---- pieces ---- */

static loom_status import_initializers(importer *im, const Onnx__GraphProto *gp,
                                       loom_model *m)
{
    char what[300];
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *tp = gp->initializer[i];
        loom_tensor *t;
        loom_status st;
        int v;
        if (!tp->name || !*tp->name)
            return loom__err(LOOM_E_MODEL_INVALID, "%s: initializer #%zu has no name",
                             im->ctx.source, i);
        snprintf(what, sizeof what, "initializer \"%s\"", tp->name);
        if (lookup(im, tp->name) >= 0)
            return loom__err(LOOM_E_MODEL_INVALID, "%s: %s is defined twice", im->ctx.source,
                             what);
        if ((st = loom__tensor_from_proto(&im->ctx, tp, what, &t)) != LOOM_OK)
            return st;
        if ((st = intern(im, tp->name, &v)) != LOOM_OK) {
            loom_tensor_free(t);
            return st;
        }
        im->g->values[v].constant = t;
        im->g->values[v].is_initializer = true;
        im->g->values[v].dtype = t->dtype;
        im->g->values[v].rank = t->rank;
        memcpy(im->g->values[v].dims, t->dims, sizeof t->dims);
        m->param_count++;
        m->param_elements += (uint64_t)t->numel;
        m->param_bytes += t->nbytes;
    }
    if (gp->n_sparse_initializer)
        return loom__err(LOOM_E_MODEL_UNSUPPORTED, "%s: sparse initializers are not supported",
                         im->ctx.source);
    return LOOM_OK;
}

/* Declared type and shape of a graph input. */
static loom_status import_input_type(importer *im, const Onnx__ValueInfoProto *vi, int v)
{
    loom__value *val = &im->g->values[v];
    const Onnx__TypeProto__Tensor *tt;
    const Onnx__TypeProto *tp = vi->type;

    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
        return loom__err(LOOM_E_MODEL_UNSUPPORTED,
                         "%s: graph input \"%s\": only tensor types are supported",
                         im->ctx.source, vi->name);
    tt = tp->tensor_type;
    if (tt->has_elem_type && tt->elem_type != 0) {
        val->dtype = loom__dtype_from_onnx(tt->elem_type);
        if (val->dtype == LOOM_DTYPE_INVALID)
            return loom__err(LOOM_E_DTYPE, "%s: graph input \"%s\": element type %s is not supported",
                             im->ctx.source, vi->name, loom__onnx_dtype_name(tt->elem_type));
    } else {
        return loom__err(LOOM_E_MODEL_INVALID, "%s: graph input \"%s\": element type is missing",
                         im->ctx.source, vi->name);
    }
    if (!tt->shape) {
        val->rank = -1;
        return LOOM_OK;
    }
    if (tt->shape->n_dim > LOOM_MAX_RANK)
        return loom__err(LOOM_E_MODEL_UNSUPPORTED, "%s: graph input \"%s\": rank %zu exceeds loom's limit of %d",
                         im->ctx.source, vi->name, tt->shape->n_dim, LOOM_MAX_RANK);
    val->rank = (int)tt->shape->n_dim;
    for (size_t d = 0; d < tt->shape->n_dim; d++) {
        const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[d];
        if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            if (dim->dim_value < 0 || dim->dim_value > ((int64_t)1 << 40))
                return loom__err(LOOM_E_MODEL_INVALID,
                                 "%s: graph input \"%s\": dimension %zu is %lld (negative or absurd)",
                                 im->ctx.source, vi->name, d, (long long)dim->dim_value);
            val->dims[d] = dim->dim_value;
        } else {
            val->dims[d] = -1;
            if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
                dim->dim_param && *dim->dim_param) {
                val->dim_params[d] = loom__strdup(dim->dim_param);
                if (!val->dim_params[d])
                    return loom__err(LOOM_E_NOMEM, "out of memory");
            }
        }
    }
    return LOOM_OK;
}

static loom_status import_inputs(importer *im, const Onnx__GraphProto *gp)
{
    loom_status st;
    im->g->inputs = loom__calloc(gp->n_input, sizeof(int));
    if (!im->g->inputs)
        return loom__err(LOOM_E_NOMEM, "out of memory");
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        int v = vi->name ? lookup(im, vi->name) : -1;
        if (!vi->name || !*vi->name)
            return loom__err(LOOM_E_MODEL_INVALID, "%s: graph input #%zu has no name",
                             im->ctx.source, i);
        /* IR < 4 lists initializers as inputs too; they are constants here. */
        if (v >= 0 && im->g->values[v].is_initializer)
            continue;
        if (v >= 0)
            return loom__err(LOOM_E_MODEL_INVALID, "%s: graph input \"%s\" is listed twice",
                             im->ctx.source, vi->name);
        if ((st = intern(im, vi->name, &v)) != LOOM_OK)
            return st;
        im->g->values[v].is_input = true;
        if ((st = import_input_type(im, vi, v)) != LOOM_OK)
            return st;
        im->g->inputs[im->g->n_inputs++] = v;
    }
    return LOOM_OK;
}

static loom_status import_attr(importer *im, const Onnx__AttributeProto *ap, loom__attr *a,
                               const char *label)
{
    char what[400];
    int type = ap->has_type ? (int)ap->type : 0;

    a->name = loom__strdup(ap->name ? ap->name : "");
    if (!a->name)
        return loom__err(LOOM_E_NOMEM, "out of memory");
    if (!ap->name || !*ap->name)
        return loom__err(LOOM_E_MODEL_INVALID, "%s: %s: an attribute has no name", im->ctx.source,
                         label);
    if (ap->ref_attr_name && *ap->ref_attr_name)
        return loom__err(LOOM_E_MODEL_UNSUPPORTED,
                         "%s: %s: attribute \"%s\" refers to a function attribute",
                         im->ctx.source, label, ap->name);
    if (type == 0) { /* IR < 3 left the type out: infer it from the set field */
        type = ap->has_f ? 1 : ap->has_i ? 2 : ap->has_s ? 3 : ap->t ? 4 : ap->g ? 5
             : ap->n_floats ? 6 : ap->n_ints ? 7 : 0;
    }
    switch (type) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
        a->type = LOOM__ATTR_FLOAT;
        a->f = ap->f;
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
        a->type = LOOM__ATTR_INT;
        a->i = ap->i;
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
        a->type = LOOM__ATTR_STRING;
        a->s = malloc(ap->s.len + 1);
        if (!a->s)
            return loom__err(LOOM_E_NOMEM, "out of memory");
        if (ap->s.len)
            memcpy(a->s, ap->s.data, ap->s.len);
        a->s[ap->s.len] = '\0';
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR:
        a->type = LOOM__ATTR_TENSOR;
        if (!ap->t)
            return loom__err(LOOM_E_MODEL_INVALID, "%s: %s: attribute \"%s\" has no tensor",
                             im->ctx.source, label, ap->name);
        snprintf(what, sizeof what, "%s: attribute \"%s\"", label, ap->name);
        return loom__tensor_from_proto(&im->ctx, ap->t, what, &a->t);
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
        a->type = LOOM__ATTR_FLOATS;
        a->count = ap->n_floats;
        a->floats = loom__malloc(ap->n_floats * sizeof(float));
        if (!a->floats)
            return loom__err(LOOM_E_NOMEM, "out of memory");
        if (ap->n_floats)
            memcpy(a->floats, ap->floats, ap->n_floats * sizeof(float));
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
        a->type = LOOM__ATTR_INTS;
        a->count = ap->n_ints;
        a->ints = loom__malloc(ap->n_ints * sizeof(int64_t));
        if (!a->ints)
            return loom__err(LOOM_E_NOMEM, "out of memory");
        if (ap->n_ints)
            memcpy(a->ints, ap->ints, ap->n_ints * sizeof(int64_t));
        break;
    default:
        a->type = LOOM__ATTR_OTHER;
        break;
    }
    return LOOM_OK;
}

static bool default_domain(const char *d)
{
    return !d || !*d || strcmp(d, "ai.onnx") == 0;
}

static loom_status count_op_use(loom_model *m, const char *op_type)
{
    loom__op_use *grown;
    for (size_t i = 0; i < m->n_op_uses; i++)
        if (strcmp(m->op_uses[i].op_type, op_type) == 0) {
            m->op_uses[i].count++;
            return LOOM_OK;
        }
    grown = realloc(m->op_uses, (m->n_op_uses + 1) * sizeof *grown);
    if (!grown)
        return loom__err(LOOM_E_NOMEM, "out of memory");
    m->op_uses = grown;
    grown[m->n_op_uses].op_type = loom__strdup(op_type);
    grown[m->n_op_uses].count = 1;
    if (!grown[m->n_op_uses].op_type)
        return loom__err(LOOM_E_NOMEM, "out of memory");
    m->n_op_uses++;
    return LOOM_OK;
}

static loom_status import_nodes(importer *im, const Onnx__GraphProto *gp, loom_model *m)
{
    char lbl[LOOM__LABEL_MAX];
    loom_status st;

    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        loom__node *n;
        const char *op_type = np->op_type ? np->op_type : "";

        if (np->n_input > INT_MAX / 2 || np->n_output > INT_MAX / 2)
            return loom__err(LOOM_E_LIMIT, "%s: node #%zu has too many inputs or outputs",
                             im->ctx.source, i);
        /* no op has more than a handful; the limit keeps the duplicate
         * check below cheap */
        if (np->n_attribute > LOOM__MAX_ATTRS)
            return loom__err(LOOM_E_LIMIT, "%s: node #%zu has %zu attributes (at most %d)",
                             im->ctx.source, i, np->n_attribute, LOOM__MAX_ATTRS);
        n = loom__graph_add_node(im->g, (int)np->n_input, (int)np->n_output);
        if (!n)
            return loom__err(LOOM_E_NOMEM, "out of memory");
        n->name = loom__strdup(np->name ? np->name : "");
        n->op_type = loom__strdup(op_type);
        if (!n->name || !n->op_type)
            return loom__err(LOOM_E_NOMEM, "out of memory");
        loom__node_label(im->g, n, lbl, sizeof lbl);
        if (!*op_type)
            return loom__err(LOOM_E_MODEL_INVALID, "%s: %s has no op_type", im->ctx.source, lbl);
        if (!default_domain(np->domain))
            return loom__err(LOOM_E_UNSUPPORTED_OP,
                             "%s: %s: op domain \"%s\" is not supported (only the default ONNX "
                             "domain)",
                             im->ctx.source, lbl, np->domain);
        if (!loom__op_from_name(op_type, &n->op))
            return loom__err(LOOM_E_UNSUPPORTED_OP, "%s: %s: operator %s is not supported by loom",
                             im->ctx.source, lbl, op_type);
        if ((st = count_op_use(m, op_type)) != LOOM_OK)
            return st;
        for (size_t k = 0; k < np->n_input; k++) {
            const char *name = np->input[k];
            n->inputs[k] = -1;
            if (name && *name && (st = intern(im, name, &n->inputs[k])) != LOOM_OK)
                return st;
        }
        for (size_t k = 0; k < np->n_output; k++) {
            const char *name = np->output[k];
            n->outputs[k] = -1;
            if (name && *name && (st = intern(im, name, &n->outputs[k])) != LOOM_OK)
                return st;
        }
        if (np->n_attribute) {
            n->attrs = calloc(np->n_attribute, sizeof *n->attrs);
            if (!n->attrs)
                return loom__err(LOOM_E_NOMEM, "out of memory");
        }
        for (size_t k = 0; k < np->n_attribute; k++) {
            n->n_attrs++;
            if ((st = import_attr(im, np->attribute[k], &n->attrs[k], lbl)) != LOOM_OK)
                return st;
            for (size_t j = 0; j < k; j++)
                if (strcmp(n->attrs[j].name, n->attrs[k].name) == 0)
                    return loom__err(LOOM_E_MODEL_INVALID, "%s: %s: attribute \"%s\" appears twice",
                                     im->ctx.source, lbl, n->attrs[k].name);
        }
    }
    return LOOM_OK;
}

static loom_status import_outputs(importer *im, const Onnx__GraphProto *gp)
{
    if (gp->n_output == 0)
        return loom__err(LOOM_E_MODEL_INVALID, "%s: graph has no outputs", im->ctx.source);
    im->g->outputs = loom__calloc(gp->n_output, sizeof(int));
    if (!im->g->outputs)
        return loom__err(LOOM_E_NOMEM, "out of memory");
    for (size_t i = 0; i < gp->n_output; i++) {
        const Onnx__ValueInfoProto *vi = gp->output[i];
        int v;
        if (!vi->name || !*vi->name)
            return loom__err(LOOM_E_MODEL_INVALID, "%s: graph output #%zu has no name",
                             im->ctx.source, i);
        v = lookup(im, vi->name);
        if (v < 0)
            return loom__err(LOOM_E_MODEL_INVALID,
                             "%s: graph output \"%s\" is not produced by any node", im->ctx.source,
                             vi->name);
        /* declared output types are advisory: shape inference decides */
        im->g->outputs[im->g->n_outputs++] = v;
    }
    return LOOM_OK;
}

static loom_status import_model(importer *im, const Onnx__ModelProto *mp, loom_model *m)
{
    const Onnx__GraphProto *gp = mp->graph;
    int64_t opset = -1;
    loom_status st;

    if (!mp->has_ir_version)
        return loom__err(LOOM_E_MODEL_INVALID, "%s: ir_version is missing (is this an ONNX file?)",
                         im->ctx.source);
    if (mp->ir_version < 3)
        return loom__err(LOOM_E_MODEL_UNSUPPORTED, "%s: ir_version %lld is older than 3",
                         im->ctx.source, (long long)mp->ir_version);
    m->ir_version = mp->ir_version;
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *os = mp->opset_import[i];
        if (default_domain(os->domain))
            opset = os->has_version ? os->version : -1;
    }
    if (opset < 0)
        return loom__err(LOOM_E_MODEL_INVALID, "%s: opset_import has no default-domain opset",
                         im->ctx.source);
    if (opset < LOOM__OPSET_MIN || opset > LOOM__OPSET_MAX)
        return loom__err(LOOM_E_MODEL_UNSUPPORTED, "%s: opset %lld is outside the supported %d-%d",
                         im->ctx.source, (long long)opset, LOOM__OPSET_MIN, LOOM__OPSET_MAX);
    if (!gp)
        return loom__err(LOOM_E_MODEL_INVALID, "%s: model has no graph", im->ctx.source);
    im->g->opset = opset;
    m->producer = loom__strdup(mp->producer_name ? mp->producer_name : "");
    m->producer_version = loom__strdup(mp->producer_version ? mp->producer_version : "");
    if (!m->producer || !m->producer_version)
        return loom__err(LOOM_E_NOMEM, "out of memory");
    if (!map_init(&im->names, gp->n_initializer + gp->n_input + gp->n_node * 2))
        return loom__err(LOOM_E_NOMEM, "out of memory");

    if ((st = import_initializers(im, gp, m)) != LOOM_OK ||
        (st = import_inputs(im, gp)) != LOOM_OK || (st = import_nodes(im, gp, m)) != LOOM_OK ||
        (st = import_outputs(im, gp)) != LOOM_OK)
        return st;
    return loom__graph_toposort(im->g);
}

/* protobuf-c's allocations, counted against the memory budget: each
 * block carries its size in a 16-byte header (alignment kept), so frees
 * are counted too; a block over the limit fails the decode. */
typedef struct {
    uint64_t limit, used, peak;
    bool over;
} pb_count;

static void protobuf_free(void *allocator_data, void *p)
{
    pb_count *c = allocator_data;
    if (!p)
        return;
    p = (char *)p - 16;
    c->used -= *(uint64_t *)p;
    free(p);
}

static void *protobuf_alloc(void *allocator_data, size_t size)
{
    pb_count *c = allocator_data;
    uint64_t n = (uint64_t)size + 16 + 16; /* header and malloc's own */
    char *p;
    if (n > c->limit - c->used || n < size) {
        c->over = true;
        return NULL;
    }
    if (!(p = malloc(size + 16)))
        return NULL;
    *(uint64_t *)p = n;
    c->used += n;
    if (c->used > c->peak)
        c->peak = c->used;
    return p + 16;
}

/* Bytes of a TensorProto's data once imported (0 when it cannot be
 * computed: the importer then refuses it with the reason). */
static uint64_t tensor_bytes(const Onnx__TensorProto *tp)
{
    loom_dtype dt = tp && tp->has_data_type ? loom__dtype_from_onnx(tp->data_type) : LOOM_DTYPE_INVALID;
    int64_t numel;
    uint64_t n;
    if (dt == LOOM_DTYPE_INVALID || tp->n_dims > LOOM_MAX_RANK)
        return 0;
    for (size_t i = 0; i < tp->n_dims; i++)
        if (tp->dims[i] < 0)
            return 0;
    if (!loom__numel((int)tp->n_dims, tp->dims, &numel) || !loom__mul_u64((uint64_t)numel, loom_dtype_size(dt), &n))
        return 0;
    return n;
}

/* Every tensor the import will make: initializers and tensor
 * attributes (Constant's value, ...); one over max (refused by the
 * importer with its own message) is left out. */
static uint64_t model_tensor_bytes(const Onnx__ModelProto *mp, uint64_t max, size_t *count)
{
    const Onnx__GraphProto *gp = mp->graph;
    uint64_t sum = 0;
    *count = 0;
    if (!gp)
        return 0;
    for (size_t i = 0; i < gp->n_initializer; i++, (*count)++)
        if (tensor_bytes(gp->initializer[i]) <= max && !loom__add_u64(sum, tensor_bytes(gp->initializer[i]), &sum))
            return UINT64_MAX;
    for (size_t i = 0; i < gp->n_node; i++)
        for (size_t k = 0; gp->node[i] && k < gp->node[i]->n_attribute; k++) {
            const Onnx__AttributeProto *a = gp->node[i]->attribute[k];
            if (a && a->t && tensor_bytes(a->t) <= max) {
                if (!loom__add_u64(sum, tensor_bytes(a->t), &sum))
                    return UINT64_MAX;
                (*count)++;
            }
        }
    return sum;
}

loom_status loom_model_load_buffer(const void *data, size_t size, const char *name,
                                   const char *base_dir, const loom_load_options *opts,
                                   loom_model **out)
{
    pb_count count = {0};
    ProtobufCAllocator alloc = {.alloc = protobuf_alloc, .free = protobuf_free, .allocator_data = &count};
    Onnx__ModelProto *mp = NULL;
    loom_model *m = NULL;
    importer im = {0};
    char *real_base = NULL;
    loom_status st;
    size_t max_file = opts && opts->max_file_bytes ? opts->max_file_bytes : LOOM__DEFAULT_MAX_FILE;
    int max_nesting = opts && opts->max_nesting > 0 ? opts->max_nesting : LOOM__DEFAULT_MAX_NESTING;
    uint64_t budget = opts && opts->max_memory_bytes ? opts->max_memory_bytes : loom_memory_budget();
    uint64_t decoded = 0, tensors;
    size_t n_tensors;

    if (!out || (!data && size))
        return loom__err(LOOM_E_INVALID_ARG, "loom_model_load_buffer: NULL argument");
    *out = NULL;
    if (!name)
        name = "<memory>";
    im.ctx.source = name;
    im.ctx.max_tensor_bytes =
        opts && opts->max_tensor_bytes ? opts->max_tensor_bytes : LOOM__DEFAULT_MAX_TENSOR;
    if (size > max_file)
        return loom__err(LOOM_E_LIMIT, "%s: model is %zu bytes, over the limit of %zu", name, size,
                         max_file);
    if (max_nesting > LOOM__MAX_NESTING)
        max_nesting = LOOM__MAX_NESTING;
    if ((st = loom__wire_check(data, size, max_nesting, name, &decoded)) != LOOM_OK)
        return st;
    /* memory: the file (held by the caller), its decoded form, then its
     * tensors; each said before it is allocated */
    if ((st = loom__budget_check(name, "decoding the file", size + decoded, budget)) != LOOM_OK)
        return st;
    count.limit = budget - size;
    if (base_dir) {
        real_base = realpath(base_dir, NULL);
        if (!real_base)
            return loom__err(LOOM_E_NOT_FOUND, "%s: model folder \"%s\": %s", name, base_dir,
                             strerror(errno));
        im.ctx.base_dir = real_base;
    }
    mp = onnx__model_proto__unpack(&alloc, size, data);
    if (!mp) {
        char s1[32];
        st = count.over ? loom__err(LOOM_E_LIMIT,
                                    "%s: decoding the file needs more than its memory budget of %s "
                                    "(LOOM_MAX_MEMORY raises it)",
                                    name, loom__bytes_str(budget, s1, sizeof s1))
                        : loom__err(LOOM_E_MODEL_INVALID,
                                    "%s: protobuf: not a valid onnx.ModelProto (a field has the wrong "
                                    "wire type or a string is not UTF-8)",
                                    name);
        goto fail;
    }
    tensors = model_tensor_bytes(mp, im.ctx.max_tensor_bytes, &n_tensors);
    {
        char what[80];
        snprintf(what, sizeof what, "the model (the file, decoded, and its %zu tensor%s)", n_tensors,
                 n_tensors == 1 ? "" : "s");
        if ((st = loom__budget_check(name, what, tensors > UINT64_MAX / 2 ? UINT64_MAX : size + count.peak + tensors,
                                     budget)) != LOOM_OK)
            goto fail;
    }
    m = calloc(1, sizeof *m);
    im.g = loom__graph_new(name);
    if (!m || !im.g) {
        st = loom__err(LOOM_E_NOMEM, "out of memory");
        goto fail;
    }
    m->graph = im.g;
    if ((st = import_model(&im, mp, m)) != LOOM_OK)
        goto fail;
    onnx__model_proto__free_unpacked(mp, &alloc);
    free(im.names.slots);
    free(real_base);
    *out = m;
    return LOOM_OK;
fail:
    if (mp)
        onnx__model_proto__free_unpacked(mp, &alloc);
    free(im.names.slots);
    free(real_base);
    if (m)
        loom_model_free(m);
    else
        loom__graph_free(im.g);
    return st;
}

loom_status loom_model_load(const char *path, const loom_load_options *opts, loom_model **out)
{
    FILE *f;
    struct stat sb;
    uint8_t *buf = NULL;
    char *dir = NULL, *slash;
    size_t max_file = opts && opts->max_file_bytes ? opts->max_file_bytes : LOOM__DEFAULT_MAX_FILE;
    loom_status st;

    if (!path || !out)
        return loom__err(LOOM_E_INVALID_ARG, "loom_model_load: NULL argument");
    *out = NULL;
    f = loom__fopen_regular(path, &sb);
    if (!f)
        return loom__err(errno == ENOENT ? LOOM_E_NOT_FOUND : LOOM_E_IO, "%s: %s", path,
                         errno == EINVAL ? "not a regular file" : strerror(errno));
    if ((uint64_t)sb.st_size > max_file) {
        fclose(f);
        return loom__err(LOOM_E_LIMIT, "%s: model is %lld bytes, over the limit of %zu", path,
                         (long long)sb.st_size, max_file);
    }
    /* the file in memory and, at the least, a decoded copy of its bytes:
     * said before the file is read */
    if ((st = loom__budget_check(path, "reading and decoding the file", 2 * (uint64_t)sb.st_size,
                                 opts && opts->max_memory_bytes ? opts->max_memory_bytes : loom_memory_budget())) !=
        LOOM_OK) {
        fclose(f);
        return st;
    }
    buf = loom__malloc((size_t)sb.st_size);
    if (!buf) {
        fclose(f);
        return loom__err(LOOM_E_NOMEM, "%s: cannot allocate %lld bytes", path,
                         (long long)sb.st_size);
    }
    if (fread(buf, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size) {
        fclose(f);
        free(buf);
        return loom__err(LOOM_E_IO, "%s: read failed", path);
    }
    fclose(f);
    dir = loom__strdup(path);
    if (!dir) {
        free(buf);
        return loom__err(LOOM_E_NOMEM, "out of memory");
    }
    slash = strrchr(dir, '/');
    if (slash)
        slash == dir ? (void)(dir[1] = '\0') : (void)(*slash = '\0');
    else
        strcpy(dir, ".");
    st = loom_model_load_buffer(buf, (size_t)sb.st_size, path, dir, opts, out);
    free(dir);
    free(buf);
    return st;
}
