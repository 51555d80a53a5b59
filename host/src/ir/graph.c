/* graph.c - graph IR construction, copy, topological order, attributes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "loom/kernel-abi.h"

static const char *const op_names[] = {
#define LOOM__OP_NAME(name) #name,
    LOOM__OP_LIST(LOOM__OP_NAME)
    "?",
    LOOM__OP_INTERNAL_LIST(LOOM__OP_NAME)
#undef LOOM__OP_NAME
};

const char *loom__op_name(loom__op op)
{
    return (op >= 0 && op < LOOM__OP_ALL) ? op_names[op] : "?";
}

bool loom__op_from_name(const char *name, loom__op *out)
{
    for (int i = 0; i < LOOM__OP_COUNT; i++)
        if (strcmp(op_names[i], name) == 0) {
            *out = (loom__op)i;
            return true;
        }
    return false;
}

void loom__graph_needs_value(const loom__graph *g, int v)
{
    ((loom__graph *)g)->needs_value = v; /* the one field inference writes */
}

loom__graph *loom__graph_new(const char *source)
{
    loom__graph *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->max_tensor_bytes = UINT64_MAX;
    g->needs_value = -1;
    g->source = loom__strdup(source ? source : "<memory>");
    if (!g->source) {
        free(g);
        return NULL;
    }
    return g;
}

static void attr_clear(loom__attr *a)
{
    free(a->name);
    free(a->s);
    loom_tensor_free(a->t);
    free(a->floats);
    free(a->ints);
}

static void node_clear(loom__node *n)
{
    free(n->name);
    free(n->op_type);
    free(n->inputs);
    free(n->outputs);
    for (int i = 0; i < n->n_attrs; i++)
        attr_clear(&n->attrs[i]);
    free(n->attrs);
}

static void value_clear(loom__value *v)
{
    free(v->name);
    for (int i = 0; i < LOOM_MAX_RANK; i++)
        free(v->dim_params[i]);
    loom_tensor_free(v->constant);
}

void loom__graph_free(loom__graph *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->n_values; i++)
        value_clear(&g->values[i]);
    for (int i = 0; i < g->n_nodes; i++)
        node_clear(&g->nodes[i]);
    free(g->values);
    free(g->nodes);
    free(g->inputs);
    free(g->outputs);
    free(g->source);
    free(g);
}

void loom__graph_drop_dead(loom__graph *g)
{
    int k = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].dead) {
            node_clear(&g->nodes[i]);
            continue;
        }
        g->nodes[k++] = g->nodes[i];
    }
    g->n_nodes = k;
    for (int v = 0; v < g->n_values; v++)
        g->values[v].producer = -1;
    for (int i = 0; i < g->n_nodes; i++)
        for (int o = 0; o < g->nodes[i].n_outputs; o++)
            if (g->nodes[i].outputs[o] >= 0)
                g->values[g->nodes[i].outputs[o]].producer = i;
}

int loom__graph_add_value(loom__graph *g, const char *name)
{
    loom__value *v;
    if (g->n_values == g->cap_values) {
        int cap = g->cap_values ? g->cap_values * 2 : 64;
        loom__value *nv = realloc(g->values, (size_t)cap * sizeof *nv);
        if (!nv)
            return -1;
        g->values = nv;
        g->cap_values = cap;
    }
    v = &g->values[g->n_values];
    memset(v, 0, sizeof *v);
    v->name = loom__strdup(name);
    if (!v->name)
        return -1;
    v->rank = -1;
    v->producer = -1;
    return g->n_values++;
}

int loom__graph_find_value(const loom__graph *g, const char *name)
{
    for (int v = 0; v < g->n_values; v++)
        if (strcmp(g->values[v].name, name) == 0)
            return v;
    return -1;
}

void loom__value_set_constant(loom__value *v, loom_tensor *t)
{
    loom_tensor_free(v->constant);
    v->constant = t;
    v->dtype = t->dtype;
    v->rank = t->rank;
    memcpy(v->dims, t->dims, (size_t)t->rank * sizeof t->dims[0]);
    v->is_initializer = true;
    v->producer = -1;
}

loom__node *loom__graph_add_node(loom__graph *g, int n_inputs, int n_outputs)
{
    loom__node *n;
    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? g->cap_nodes * 2 : 32;
        loom__node *nn = realloc(g->nodes, (size_t)cap * sizeof *nn);
        if (!nn)
            return NULL;
        g->nodes = nn;
        g->cap_nodes = cap;
    }
    n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->inputs = loom__calloc((size_t)n_inputs, sizeof(int));
    n->outputs = loom__calloc((size_t)n_outputs, sizeof(int));
    if (!n->inputs || !n->outputs) {
        free(n->inputs);
        free(n->outputs);
        return NULL;
    }
    n->n_inputs = n_inputs;
    n->n_outputs = n_outputs;
    n->index = g->n_nodes;
    g->n_nodes++;
    return n;
}

const char *loom__node_label(const loom__graph *g, const loom__node *n, char *buf, size_t size)
{
    if (n->name && n->name[0])
        snprintf(buf, size, "node \"%s\" (%s)", n->name, n->op_type);
    else
        snprintf(buf, size, "node #%d (%s)", n->index, n->op_type);
    (void)g;
    return buf;
}

/* ---- copy ---- */

static char *dup_or_null(const char *s, bool *ok)
{
    char *d;
    if (!s)
        return NULL;
    d = loom__strdup(s);
    if (!d)
        *ok = false;
    return d;
}

static void *dup_mem(const void *p, size_t n, bool *ok)
{
    void *d;
    if (!p)
        return NULL;
    d = loom__malloc(n);
    if (!d) {
        *ok = false;
        return NULL;
    }
    memcpy(d, p, n);
    return d;
}

loom_status loom__graph_clone(const loom__graph *src, loom__graph **out)
{
    bool ok = true;
    loom__graph *g = calloc(1, sizeof *g);

    *out = NULL;
    if (!g)
        return loom__err(LOOM_E_NOMEM, "out of memory copying the graph");
    g->opset = src->opset;
    g->max_tensor_bytes = src->max_tensor_bytes;
    g->needs_value = -1;
    g->source = dup_or_null(src->source, &ok);
    g->values = loom__calloc((size_t)src->n_values, sizeof *g->values);
    g->nodes = loom__calloc((size_t)src->n_nodes, sizeof *g->nodes);
    g->inputs = dup_mem(src->inputs, (size_t)src->n_inputs * sizeof(int), &ok);
    g->outputs = dup_mem(src->outputs, (size_t)src->n_outputs * sizeof(int), &ok);
    g->n_inputs = src->n_inputs;
    g->n_outputs = src->n_outputs;
    if (!g->values || !g->nodes)
        ok = false;
    if (g->values)
        g->cap_values = src->n_values ? src->n_values : 1;
    if (g->nodes)
        g->cap_nodes = src->n_nodes ? src->n_nodes : 1;
    for (int i = 0; ok && i < src->n_values; i++) {
        const loom__value *s = &src->values[i];
        loom__value *d = &g->values[i];
        *d = *s;
        d->name = NULL;
        d->constant = NULL;
        memset(d->dim_params, 0, sizeof d->dim_params);
        g->n_values++;
        d->name = dup_or_null(s->name, &ok);
        for (int k = 0; k < LOOM_MAX_RANK; k++)
            d->dim_params[k] = dup_or_null(s->dim_params[k], &ok);
        d->constant = loom__tensor_ref(s->constant);
    }
    for (int i = 0; ok && i < src->n_nodes; i++) {
        const loom__node *s = &src->nodes[i];
        loom__node *d = &g->nodes[i];
        *d = *s;
        d->name = d->op_type = NULL;
        d->inputs = d->outputs = NULL;
        d->attrs = NULL;
        d->n_attrs = 0;
        g->n_nodes++;
        d->name = dup_or_null(s->name, &ok);
        d->op_type = dup_or_null(s->op_type, &ok);
        d->inputs = dup_mem(s->inputs, (size_t)s->n_inputs * sizeof(int), &ok);
        d->outputs = dup_mem(s->outputs, (size_t)s->n_outputs * sizeof(int), &ok);
        if (s->n_attrs) {
            d->attrs = calloc((size_t)s->n_attrs, sizeof *d->attrs);
            if (!d->attrs) {
                ok = false;
                break;
            }
        }
        for (int k = 0; ok && k < s->n_attrs; k++) {
            const loom__attr *sa = &s->attrs[k];
            loom__attr *da = &d->attrs[k];
            *da = *sa;
            da->name = da->s = NULL;
            da->floats = NULL;
            da->ints = NULL;
            da->t = NULL;
            d->n_attrs++;
            da->name = dup_or_null(sa->name, &ok);
            da->s = dup_or_null(sa->s, &ok);
            da->floats = dup_mem(sa->floats, sa->count * sizeof(float), &ok);
            da->ints = dup_mem(sa->ints, sa->count * sizeof(int64_t), &ok);
            da->t = loom__tensor_ref(sa->t);
        }
    }
    if (!ok) {
        loom__graph_free(g);
        return loom__err(LOOM_E_NOMEM, "out of memory copying the graph");
    }
    *out = g;
    return LOOM_OK;
}

/* ---- topological order ---- */

loom_status loom__graph_toposort(loom__graph *g)
{
    char lbl[LOOM__LABEL_MAX];
    int *pending = NULL, *order = NULL, *queue = NULL, *first_use = NULL, *next_use = NULL;
    int *use_node = NULL;
    int n = g->n_nodes, n_uses = 0, head = 0, tail = 0, done = 0;
    loom_status st = LOOM_OK;
    loom__node *sorted = NULL;

    /* producers: each value at most once; inputs/constants have none */
    for (int v = 0; v < g->n_values; v++)
        g->values[v].producer = -1;
    for (int i = 0; i < n; i++) {
        loom__node *nd = &g->nodes[i];
        for (int k = 0; k < nd->n_outputs; k++) {
            int v = nd->outputs[k];
            if (v < 0)
                continue;
            if (g->values[v].is_input || g->values[v].constant)
                return loom__err(LOOM_E_MODEL_INVALID,
                                 "%s: %s: output \"%s\" is also a graph input or initializer",
                                 g->source, loom__node_label(g, nd, lbl, sizeof lbl),
                                 g->values[v].name);
            if (g->values[v].producer >= 0)
                return loom__err(LOOM_E_MODEL_INVALID,
                                 "%s: %s: output \"%s\" is already produced by another node",
                                 g->source, loom__node_label(g, nd, lbl, sizeof lbl),
                                 g->values[v].name);
            g->values[v].producer = i;
        }
    }
    for (int i = 0; i < n; i++) {
        loom__node *nd = &g->nodes[i];
        for (int k = 0; k < nd->n_inputs; k++) {
            int v = nd->inputs[k];
            if (v < 0)
                continue;
            if (g->values[v].producer < 0 && !g->values[v].is_input && !g->values[v].constant)
                return loom__err(LOOM_E_MODEL_INVALID,
                                 "%s: %s: input \"%s\" is not produced by any node, initializer "
                                 "or graph input",
                                 g->source, loom__node_label(g, nd, lbl, sizeof lbl),
                                 g->values[v].name);
            n_uses++;
        }
    }
    for (int k = 0; k < g->n_outputs; k++) {
        const loom__value *v = &g->values[g->outputs[k]];
        if (v->producer < 0 && !v->is_input && !v->constant)
            return loom__err(LOOM_E_MODEL_INVALID,
                             "%s: graph output \"%s\" is not produced by any node", g->source,
                             v->name);
    }
    if (n == 0)
        return LOOM_OK;

    /* Kahn's algorithm over producer -> consumer edges; a node's pending
     * count is the number of its inputs made by other nodes. */
    pending = calloc((size_t)n, sizeof *pending);
    order = malloc((size_t)n * sizeof *order);
    queue = malloc((size_t)n * sizeof *queue);
    first_use = malloc((size_t)g->n_values * sizeof *first_use);
    next_use = malloc((size_t)(n_uses + 1) * sizeof *next_use);
    use_node = malloc((size_t)(n_uses + 1) * sizeof *use_node);
    sorted = malloc((size_t)n * sizeof *sorted);
    if (!pending || !order || !queue || !first_use || !next_use || !use_node || !sorted) {
        st = loom__err(LOOM_E_NOMEM, "out of memory sorting the graph");
        goto done;
    }
    for (int v = 0; v < g->n_values; v++)
        first_use[v] = -1;
    n_uses = 0;
    for (int i = n - 1; i >= 0; i--) {
        loom__node *nd = &g->nodes[i];
        for (int k = 0; k < nd->n_inputs; k++) {
            int v = nd->inputs[k];
            if (v < 0 || g->values[v].producer < 0)
                continue;
            pending[i]++;
            use_node[n_uses] = i;
            next_use[n_uses] = first_use[v];
            first_use[v] = n_uses++;
        }
    }
    for (int i = 0; i < n; i++)
        if (pending[i] == 0)
            queue[tail++] = i;
    while (head < tail) {
        int i = queue[head++];
        loom__node *nd = &g->nodes[i];
        order[done++] = i;
        for (int k = 0; k < nd->n_outputs; k++) {
            int v = nd->outputs[k];
            if (v < 0)
                continue;
            for (int u = first_use[v]; u >= 0; u = next_use[u])
                if (--pending[use_node[u]] == 0)
                    queue[tail++] = use_node[u];
        }
    }
    if (done < n) {
        int stuck = 0;
        while (pending[stuck] == 0)
            stuck++;
        st = loom__err(LOOM_E_MODEL_INVALID, "%s: graph has a cycle through %s", g->source,
                       loom__node_label(g, &g->nodes[stuck], lbl, sizeof lbl));
        goto done;
    }
    for (int i = 0; i < n; i++)
        sorted[i] = g->nodes[order[i]];
    memcpy(g->nodes, sorted, (size_t)n * sizeof *sorted);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < g->nodes[i].n_outputs; k++)
            if (g->nodes[i].outputs[k] >= 0)
                g->values[g->nodes[i].outputs[k]].producer = i;
done:
    free(pending);
    free(order);
    free(queue);
    free(first_use);
    free(next_use);
    free(use_node);
    free(sorted);
    return st;
}

/* ---- attributes ---- */

const loom__attr *loom__attr_find(const loom__node *n, const char *name)
{
    for (int i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0)
            return &n->attrs[i];
    return NULL;
}

static const char *attr_type_name(loom__attr_type t)
{
    switch (t) {
    case LOOM__ATTR_FLOAT: return "float";
    case LOOM__ATTR_INT: return "int";
    case LOOM__ATTR_STRING: return "string";
    case LOOM__ATTR_TENSOR: return "tensor";
    case LOOM__ATTR_FLOATS: return "floats";
    case LOOM__ATTR_INTS: return "ints";
    case LOOM__ATTR_OTHER: break;
    }
    return "other";
}

static loom_status wrong_type(const loom__graph *g, const loom__node *n, const loom__attr *a,
                              const char *want)
{
    char lbl[LOOM__LABEL_MAX];
    return loom__err(LOOM_E_MODEL_INVALID, "%s: %s: attribute \"%s\" is %s, expected %s",
                     g->source, loom__node_label(g, n, lbl, sizeof lbl), a->name,
                     attr_type_name(a->type), want);
}

loom_status loom__attr_int(const loom__graph *g, const loom__node *n, const char *name,
                           int64_t def, int64_t *out)
{
    const loom__attr *a = loom__attr_find(n, name);
    if (!a) {
        *out = def;
        return LOOM_OK;
    }
    if (a->type != LOOM__ATTR_INT)
        return wrong_type(g, n, a, "int");
    *out = a->i;
    return LOOM_OK;
}

loom_status loom__attr_float(const loom__graph *g, const loom__node *n, const char *name,
                             float def, float *out)
{
    const loom__attr *a = loom__attr_find(n, name);
    if (!a) {
        *out = def;
        return LOOM_OK;
    }
    if (a->type != LOOM__ATTR_FLOAT)
        return wrong_type(g, n, a, "float");
    *out = a->f;
    return LOOM_OK;
}

loom_status loom__attr_ints(const loom__graph *g, const loom__node *n, const char *name,
                            const int64_t **out, size_t *count)
{
    const loom__attr *a = loom__attr_find(n, name);
    *out = NULL;
    *count = 0;
    if (!a)
        return LOOM_OK;
    if (a->type != LOOM__ATTR_INTS)
        return wrong_type(g, n, a, "ints");
    *out = a->ints;
    *count = a->count;
    return LOOM_OK;
}

loom_status loom__attr_string(const loom__graph *g, const loom__node *n, const char *name,
                              const char *def, const char **out)
{
    const loom__attr *a = loom__attr_find(n, name);
    if (!a) {
        *out = def;
        return LOOM_OK;
    }
    if (a->type != LOOM__ATTR_STRING)
        return wrong_type(g, n, a, "string");
    *out = a->s;
    return LOOM_OK;
}

/* Each fused activation and its name. */
#define LOOM__ACTS(X)                                                          \
    X(LOOM_ACT_RELU, "Relu") X(LOOM_ACT_LUT, "LUT") X(LOOM_ACT_SIGMOID, "Sigmoid") \
    X(LOOM_ACT_TANH, "Tanh") X(LOOM_ACT_GELU, "Gelu") X(LOOM_ACT_CLIP, "Clip")     \
    X(LOOM_ACT_HARDSWISH, "HardSwish") X(LOOM_ACT_SILU, "SiLU")

const char *loom__act_name(int act)
{
    switch (act) {
#define LOOM__ACT_NAME(id, name) case id: return name;
    LOOM__ACTS(LOOM__ACT_NAME)
#undef LOOM__ACT_NAME
    default: return "";
    }
}

const char *loom__fused_name(const loom__node *n)
{
    /* a Conv's fourth input is the residual Add it absorbed */
    if (!(n->op == LOOM__OP_Conv && n->n_inputs > 3 && n->inputs[3] >= 0))
        return loom__act_name(n->act);
    switch (n->act) {
#define LOOM__ADD_ACT_NAME(id, name) case id: return "Add+" name;
    LOOM__ACTS(LOOM__ADD_ACT_NAME)
#undef LOOM__ADD_ACT_NAME
    default: return "Add";
    }
}
