/* ref-einsum.c - Einsum by the definition: every combination of every
 * label's index, the product of the operands' elements summed into the
 * output element its output labels name (double for floats, wrapping
 * 64-bit for integers). */
#include <stdlib.h>
#include <string.h>

#include "backends/ref/ref-impl.h"
#include "ops/einsum.h"

loom_status loom__ref_einsum(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out)
{
    const loom__attr *a = loom__attr_find(n, "equation");
    const char *why;
    int ranks[LOOM__EINSUM_MAX_IN], codes[LOOM__EINSUM_CODES], nc = 0;
    const int64_t *dims[LOOM__EINSUM_MAX_IN];
    int64_t idx[LOOM__EINSUM_CODES] = {0}, total = 1;
    bool is_float = loom__dtype_is_float(out[0]->dtype);
    double *facc;
    int64_t *iacc;
    loom__einsum e;

    for (int i = 0; i < n->n_inputs; i++) {
        ranks[i] = in[i]->rank;
        dims[i] = in[i]->dims;
    }
    if (!a || !a->s || !loom__einsum_parse(a->s, n->n_inputs, ranks, dims, &e, &why))
        return loom__err(LOOM_E_INTERNAL, "Einsum: the equation no longer parses");
    for (int c = 0; c < LOOM__EINSUM_CODES; c++)
        if (e.size[c] >= 0) {
            codes[nc++] = c;
            total *= e.size[c];
        }
    facc = calloc((size_t)(out[0]->numel ? out[0]->numel : 1), sizeof *facc);
    iacc = calloc((size_t)(out[0]->numel ? out[0]->numel : 1), sizeof *iacc);
    if (!facc || !iacc) {
        free(facc);
        free(iacc);
        return loom__err(LOOM_E_NOMEM, "Einsum: out of memory");
    }
    for (int64_t t = 0; t < total; t++) {
        int64_t o = 0, rem = t;
        double fp = 1.0;
        uint64_t ip = 1;
        for (int k = nc - 1; k >= 0; k--) {
            idx[codes[k]] = rem % e.size[codes[k]];
            rem /= e.size[codes[k]];
        }
        for (int i = 0; i < n->n_inputs; i++) {
            int64_t off = 0;
            for (int d = 0; d < e.rank[i]; d++)
                off = off * in[i]->dims[d] + (in[i]->dims[d] == 1 ? 0 : idx[e.code[i][d]]);
            if (is_float)
                fp *= loom__ref_get_f(in[i], off);
            else
                ip *= (uint64_t)loom__ref_get_i(in[i], off);
        }
        for (int d = 0; d < e.out_rank; d++)
            o = o * e.size[e.out_code[d]] + idx[e.out_code[d]];
        if (is_float)
            facc[o] += fp;
        else
            iacc[o] = (int64_t)((uint64_t)iacc[o] + ip);
    }
    for (int64_t i = 0; i < out[0]->numel; i++) {
        if (is_float)
            loom__ref_set_f(out[0], i, facc[i]);
        else
            loom__ref_set_i(out[0], i, iacc[i]);
    }
    free(facc);
    free(iacc);
    return LOOM_OK;
}
