/* model.c - the public read-only view of an imported model. */
#include <stdlib.h>
#include <string.h>

#include "ir/model.h"

void loom_model_free(loom_model *m)
{
    if (!m)
        return;
    loom__graph_free(m->graph);
    free(m->producer);
    free(m->producer_version);
    for (size_t i = 0; i < m->n_op_uses; i++)
        free(m->op_uses[i].op_type);
    free(m->op_uses);
    free(m);
}

void loom_model_summary_get(const loom_model *m, loom_model_summary *out)
{
    memset(out, 0, sizeof *out);
    out->ir_version = m->ir_version;
    out->opset = m->graph->opset;
    out->producer = m->producer;
    out->producer_version = m->producer_version;
    out->node_count = (size_t)m->graph->n_nodes;
    out->param_count = m->param_count;
    out->param_elements = m->param_elements;
    out->param_bytes = m->param_bytes;
}

void loom__value_info(const loom__value *v, loom_value_info *out)
{
    memset(out, 0, sizeof *out);
    out->name = v->name;
    out->dtype = v->dtype;
    out->rank = v->rank;
    for (int i = 0; i < v->rank && i < LOOM_MAX_RANK; i++) {
        out->dims[i] = v->dims[i];
        out->dim_params[i] = v->dim_params[i];
    }
}

size_t loom_model_input_count(const loom_model *m) { return (size_t)m->graph->n_inputs; }
size_t loom_model_output_count(const loom_model *m) { return (size_t)m->graph->n_outputs; }

loom_status loom_model_input(const loom_model *m, size_t i, loom_value_info *out)
{
    if (!m || !out || i >= (size_t)m->graph->n_inputs)
        return loom__err(LOOM_E_INVALID_ARG, "loom_model_input: index %zu out of range", i);
    loom__value_info(&m->graph->values[m->graph->inputs[i]], out);
    return LOOM_OK;
}

loom_status loom_model_output(const loom_model *m, size_t i, loom_value_info *out)
{
    if (!m || !out || i >= (size_t)m->graph->n_outputs)
        return loom__err(LOOM_E_INVALID_ARG, "loom_model_output: index %zu out of range", i);
    loom__value_info(&m->graph->values[m->graph->outputs[i]], out);
    return LOOM_OK;
}

size_t loom_model_op_type_count(const loom_model *m) { return m->n_op_uses; }

loom_status loom_model_op_type(const loom_model *m, size_t i, const char **op_type,
                               size_t *count)
{
    if (!m || i >= m->n_op_uses)
        return loom__err(LOOM_E_INVALID_ARG, "loom_model_op_type: index %zu out of range", i);
    if (op_type)
        *op_type = m->op_uses[i].op_type;
    if (count)
        *count = m->op_uses[i].count;
    return LOOM_OK;
}

loom_status loom__model_from_graph(loom__graph *g, loom_model **out)
{
    loom_model *m = calloc(1, sizeof *m);
    if (!m) {
        loom__graph_free(g);
        return loom__err(LOOM_E_NOMEM, "out of memory");
    }
    m->graph = g;
    m->ir_version = 8;
    *out = m;
    return LOOM_OK;
}
