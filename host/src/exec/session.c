/*
 * session.c - the plan and its execution.
 *
 * loom_session_create() copies the model's graph, runs the passes, and
 * builds the plan once: a tensor for every value that is read at run time
 * (constants shared with the graph, inputs and intermediates allocated
 * here) and one step per live node, with its kernel and its input/output
 * tensors resolved. loom_session_run() is then a loop over the steps.
 */
#include <stdlib.h>
#include <string.h>

#include "backends/ref/ref.h"
#include "ir/model.h"
#include "passes/passes.h"

typedef struct {
    loom__kernel_fn fn;
    const loom__node *node;
    const loom_tensor **in;
    loom_tensor **out;
} loom__step;

struct loom_session {
    loom__graph *g;
    loom_tensor **vals; /* per value index; NULL when nothing reads it */
    loom__step *steps;
    int n_steps;
    const loom_tensor **in_pool;
    loom_tensor **out_pool;
    size_t live_nodes;
    bool infer_only;
};

void loom_session_free(loom_session *s)
{
    if (!s)
        return;
    if (s->vals && s->g)
        for (int i = 0; i < s->g->n_values; i++)
            loom_tensor_free(s->vals[i]);
    free(s->vals);
    free(s->steps);
    free(s->in_pool);
    free(s->out_pool);
    loom__graph_free(s->g);
    free(s);
}

/* The tensor for value v, allocated on first use. */
static loom_status value_tensor(loom_session *s, int v, loom_tensor **out)
{
    loom__value *val = &s->g->values[v];
    loom_status st;
    if (!s->vals[v]) {
        if (val->constant)
            s->vals[v] = loom__tensor_ref(val->constant);
        else if ((st = loom__tensor_new(val->dtype, val->rank, val->dims, &s->vals[v])) != LOOM_OK)
            return loom__err_prefix(st, "%s: tensor \"%s\"", s->g->source, val->name);
        else
            memset(s->vals[v]->data, 0, s->vals[v]->nbytes);
    }
    *out = s->vals[v];
    return LOOM_OK;
}

static loom_status build_plan(loom_session *s)
{
    loom__graph *g = s->g;
    size_t n_in = 0, n_out = 0;
    char lbl[LOOM__LABEL_MAX];
    loom_status st;
    loom_tensor *t;

    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead) {
            s->n_steps++;
            n_in += (size_t)g->nodes[i].n_inputs;
            n_out += (size_t)g->nodes[i].n_outputs;
        }
    s->steps = loom__calloc((size_t)s->n_steps, sizeof *s->steps);
    s->in_pool = loom__calloc(n_in, sizeof *s->in_pool);
    s->out_pool = loom__calloc(n_out, sizeof *s->out_pool);
    if (!s->steps || !s->in_pool || !s->out_pool)
        return loom__err(LOOM_E_NOMEM, "out of memory building the plan");
    n_in = n_out = 0;
    for (int i = 0, k = 0; i < g->n_nodes; i++) {
        const loom__node *n = &g->nodes[i];
        loom__step *step;
        if (n->dead)
            continue;
        step = &s->steps[k++];
        step->node = n;
        step->fn = loom__ref_kernel(n->op);
        if (!step->fn)
            return loom__err(LOOM_E_INTERNAL, "%s: %s has no kernel", g->source,
                             loom__node_label(g, n, lbl, sizeof lbl));
        step->in = &s->in_pool[n_in];
        step->out = &s->out_pool[n_out];
        n_in += (size_t)n->n_inputs;
        n_out += (size_t)n->n_outputs;
        for (int j = 0; j < n->n_inputs; j++) {
            step->in[j] = NULL;
            if (n->inputs[j] >= 0) {
                if ((st = value_tensor(s, n->inputs[j], &t)) != LOOM_OK)
                    return st;
                step->in[j] = t;
            }
        }
        for (int j = 0; j < n->n_outputs; j++) {
            step->out[j] = NULL;
            if (n->outputs[j] >= 0 && (st = value_tensor(s, n->outputs[j], &step->out[j])) != LOOM_OK)
                return st;
        }
    }
    /* every input and output has a tensor, even if no step touches it */
    for (int i = 0; i < g->n_inputs; i++)
        if ((st = value_tensor(s, g->inputs[i], &t)) != LOOM_OK)
            return st;
    for (int i = 0; i < g->n_outputs; i++)
        if ((st = value_tensor(s, g->outputs[i], &t)) != LOOM_OK)
            return st;
    return LOOM_OK;
}

loom_status loom_session_create(const loom_model *m, const loom_session_options *opts,
                                loom_session **out)
{
    loom_session *s;
    loom_status st;

    if (!m || !out)
        return loom__err(LOOM_E_INVALID_ARG, "loom_session_create: NULL argument");
    *out = NULL;
    s = calloc(1, sizeof *s);
    if (!s)
        return loom__err(LOOM_E_NOMEM, "out of memory");
    if ((st = loom__graph_clone(m->graph, &s->g)) != LOOM_OK ||
        (st = loom__passes_run(s->g, opts)) != LOOM_OK)
        goto fail;
    for (int i = 0; i < s->g->n_nodes; i++)
        s->live_nodes += !s->g->nodes[i].dead;
    s->infer_only = opts && opts->infer_only;
    s->vals = loom__calloc((size_t)s->g->n_values, sizeof *s->vals);
    if (!s->vals) {
        st = loom__err(LOOM_E_NOMEM, "out of memory");
        goto fail;
    }
    if (!s->infer_only && (st = build_plan(s)) != LOOM_OK)
        goto fail;
    *out = s;
    return LOOM_OK;
fail:
    loom_session_free(s);
    return st;
}

size_t loom_session_input_count(const loom_session *s) { return (size_t)s->g->n_inputs; }
size_t loom_session_output_count(const loom_session *s) { return (size_t)s->g->n_outputs; }
size_t loom_session_node_count(const loom_session *s) { return s->live_nodes; }

loom_status loom_session_input(const loom_session *s, size_t i, loom_value_info *out)
{
    if (!s || !out || i >= (size_t)s->g->n_inputs)
        return loom__err(LOOM_E_INVALID_ARG, "loom_session_input: index %zu out of range", i);
    loom__value_info(&s->g->values[s->g->inputs[i]], out);
    return LOOM_OK;
}

loom_status loom_session_output(const loom_session *s, size_t i, loom_value_info *out)
{
    if (!s || !out || i >= (size_t)s->g->n_outputs)
        return loom__err(LOOM_E_INVALID_ARG, "loom_session_output: index %zu out of range", i);
    loom__value_info(&s->g->values[s->g->outputs[i]], out);
    return LOOM_OK;
}

loom_status loom_session_set_input(loom_session *s, const char *name, const loom_tensor *t)
{
    char s1[LOOM__SHAPE_STR_MAX], s2[LOOM__SHAPE_STR_MAX];
    if (!s || !name || !t)
        return loom__err(LOOM_E_INVALID_ARG, "loom_session_set_input: NULL argument");
    for (int i = 0; i < s->g->n_inputs; i++) {
        const loom__value *v = &s->g->values[s->g->inputs[i]];
        loom_tensor *dst = s->vals[s->g->inputs[i]];
        if (strcmp(v->name, name) != 0)
            continue;
        if (!dst)
            return loom__err(LOOM_E_INVALID_ARG, "input \"%s\": the session was made with infer_only", name);
        if (t->dtype != dst->dtype || t->rank != dst->rank ||
            memcmp(t->dims, dst->dims, (size_t)t->rank * sizeof t->dims[0]) != 0)
            return loom__err(LOOM_E_SHAPE, "input \"%s\": got %s %s, the session expects %s %s", name,
                             loom_dtype_name(t->dtype), loom__shape_str(t->rank, t->dims, s1, sizeof s1),
                             loom_dtype_name(dst->dtype),
                             loom__shape_str(dst->rank, dst->dims, s2, sizeof s2));
        memcpy(dst->data, t->data, t->nbytes);
        return LOOM_OK;
    }
    return loom__err(LOOM_E_INVALID_ARG, "the model has no input called \"%s\"", name);
}

loom_status loom_session_set_input_data(loom_session *s, size_t i, const void *data, size_t size)
{
    loom_tensor *dst;
    if (!s || (!data && size) || i >= (size_t)s->g->n_inputs)
        return loom__err(LOOM_E_INVALID_ARG, "loom_session_set_input_data: bad argument");
    dst = s->vals[s->g->inputs[i]];
    if (!dst)
        return loom__err(LOOM_E_INVALID_ARG, "loom_session_set_input_data: the session was made with infer_only");
    if (size != dst->nbytes)
        return loom__err(LOOM_E_SHAPE, "input \"%s\": got %zu bytes, expected %zu",
                         s->g->values[s->g->inputs[i]].name, size, dst->nbytes);
    if (size)
        memcpy(dst->data, data, size);
    return LOOM_OK;
}

loom_status loom_session_run(loom_session *s)
{
    char lbl[LOOM__LABEL_MAX];
    if (!s)
        return loom__err(LOOM_E_INVALID_ARG, "loom_session_run: NULL session");
    if (s->infer_only)
        return loom__err(LOOM_E_INVALID_ARG, "loom_session_run: the session was made with infer_only");
    for (int i = 0; i < s->n_steps; i++) {
        const loom__step *step = &s->steps[i];
        loom_status st = step->fn(step->node, step->in, step->out);
        if (st != LOOM_OK)
            return loom__err_prefix(st, "%s: %s", s->g->source,
                                    loom__node_label(s->g, step->node, lbl, sizeof lbl));
    }
    return LOOM_OK;
}

const loom_tensor *loom_session_output_tensor(const loom_session *s, size_t i)
{
    if (!s || i >= (size_t)s->g->n_outputs)
        return NULL;
    return s->vals[s->g->outputs[i]];
}
