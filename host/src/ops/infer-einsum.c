/* infer-einsum.c - shape inference for Einsum (ops/einsum.c parses). */
#include "ops/einsum.h"
#include "ops/ops.h"

loom_status loom__infer_einsum(loom__graph *g, loom__node *n)
{
    const char *eq, *why;
    int ranks[LOOM__EINSUM_MAX_IN];
    const int64_t *dims[LOOM__EINSUM_MAX_IN];
    int64_t out[LOOM_MAX_RANK];
    loom__einsum e;
    loom_status st;

    if ((st = loom__check_arity(g, n, 1, LOOM__EINSUM_MAX_IN, 1)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 0, LOOM__DT_NUM)) != LOOM_OK ||
        (st = loom__attr_string(g, n, "equation", "", &eq)) != LOOM_OK)
        return st;
    for (int i = 0; i < n->n_inputs; i++) {
        const loom__value *v = loom__in(g, n, i);
        if (!v || v->dtype != loom__in(g, n, 0)->dtype)
            return loom__node_err(g, n, LOOM_E_DTYPE, "every operand must be present, of one dtype");
        ranks[i] = v->rank;
        dims[i] = v->dims;
    }
    if (!loom__einsum_parse(eq, n->n_inputs, ranks, dims, &e, &why))
        return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "equation \"%s\": %s", eq, why);
    for (int d = 0; d < e.out_rank; d++)
        out[d] = e.size[e.out_code[d]];
    loom__set_output(g, n, 0, loom__in(g, n, 0)->dtype, e.out_rank, out);
    return LOOM_OK;
}
