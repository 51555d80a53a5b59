/* ref-norm.c - normalisations over slices (see ops/infer-norm.c) and
 * GlobalMaxPool, on every float dtype, in double. Each one takes the mean
 * and the variance (two passes) or a norm over a group of elements: the
 * elements that share the dims not reduced (loom__reduce_it). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/ref/ref-impl.h"

/* Per group: mean and (population) variance over the reduced dims; with
 * mean_only, var gets the mean of squares instead. */
static loom_status group_stats(const loom_tensor *x, int rank, const int64_t *dims, const bool *red,
                               bool mean_only, double **mean, double **var, int64_t *n_groups)
{
    loom__reduce_it it;
    int64_t count, groups = 1;
    for (int d = 0; d < rank; d++)
        if (!red[d])
            groups *= dims[d];
    *mean = calloc((size_t)(groups ? groups : 1), sizeof **mean);
    *var = calloc((size_t)(groups ? groups : 1), sizeof **var);
    if (!*mean || !*var) {
        free(*mean);
        free(*var);
        return loom__err(LOOM_E_NOMEM, "out of memory");
    }
    count = loom__reduce_begin(&it, rank, dims, red);
    for (int64_t i = 0; i < x->numel; i++, loom__reduce_next(&it)) {
        double v = loom__ref_get_f(x, i);
        (*mean)[it.off] += v;
        if (mean_only)
            (*var)[it.off] += v * v;
    }
    for (int64_t k = 0; k < groups; k++) {
        (*mean)[k] /= (double)(count ? count : 1);
        if (mean_only)
            (*var)[k] /= (double)(count ? count : 1);
    }
    if (!mean_only) {
        loom__reduce_begin(&it, rank, dims, red);
        for (int64_t i = 0; i < x->numel; i++, loom__reduce_next(&it)) {
            double d = loom__ref_get_f(x, i) - (*mean)[it.off];
            (*var)[it.off] += d * d;
        }
        for (int64_t k = 0; k < groups; k++)
            (*var)[k] /= (double)(count ? count : 1);
    }
    *n_groups = groups;
    return LOOM_OK;
}

static loom_status lrn(const loom__node *n, const loom_tensor *x, loom_tensor *y)
{
    const loom__misc_params *p = &n->p.misc;
    int64_t C = x->dims[1], inner = loom__span(x->dims, 2, x->rank), size = p->i[0];
    int64_t lo = (size - 1) / 2, hi = size - 1 - lo;
    for (int64_t i = 0; i < x->numel; i++) {
        int64_t c = (i / inner) % C, base = i - c * inner;
        double s = 0.0;
        for (int64_t k = c - lo; k <= c + hi; k++)
            if (k >= 0 && k < C) {
                double v = loom__ref_get_f(x, base + k * inner);
                s += v * v;
            }
        loom__ref_set_f(y, i, loom__ref_get_f(x, i) / pow(p->f[2] + p->f[0] / (double)size * s, p->f[1]));
    }
    return LOOM_OK;
}

loom_status loom__ref_norm(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out)
{
    const loom__misc_params *p = &n->p.misc;
    const loom_tensor *x = in[0];
    loom_tensor *y = out[0];
    bool red[LOOM_MAX_RANK] = {false};
    int64_t dims[LOOM_MAX_RANK], groups, spatial;
    int rank = x->rank;
    double *mean = NULL, *var = NULL;
    loom__reduce_it it;
    loom_status st;

    memcpy(dims, x->dims, sizeof dims);
    switch (n->op) {
    case LOOM__OP_LRN:
        return lrn(n, x, y);
    case LOOM__OP_RMSNormalization:
    case LOOM__OP_LpNormalization:
        for (int d = (int)p->axis; d < (n->op == LOOM__OP_LpNormalization ? (int)p->axis + 1 : rank); d++)
            red[d] = true;
        break;
    case LOOM__OP_InstanceNormalization:
    case LOOM__OP_GlobalMaxPool:
        for (int d = 2; d < rank; d++)
            red[d] = true;
        break;
    case LOOM__OP_GroupNormalization:
        /* the view [N, groups, C / groups * spatial] */
        rank = 3;
        dims[1] = p->i[0];
        dims[2] = loom__span(x->dims, 1, x->rank) / p->i[0];
        red[2] = true;
        break;
    case LOOM__OP_MeanVarianceNormalization:
        for (int d = 0; d < rank; d++)
            red[d] = (p->i[0] >> d) & 1;
        break;
    default:
        return loom__err(LOOM_E_INTERNAL, "%s is not a normalisation", loom__op_name(n->op));
    }
    if (n->op == LOOM__OP_GlobalMaxPool || n->op == LOOM__OP_LpNormalization) {
        /* a max or a norm per group */
        int64_t ng = 1;
        for (int d = 0; d < rank; d++)
            ng *= red[d] ? 1 : dims[d];
        if (!(mean = calloc((size_t)(ng ? ng : 1), sizeof *mean)))
            return loom__err(LOOM_E_NOMEM, "out of memory");
        for (int64_t k = 0; k < ng; k++)
            mean[k] = n->op == LOOM__OP_GlobalMaxPool ? -INFINITY : 0.0;
        loom__reduce_begin(&it, rank, dims, red);
        for (int64_t i = 0; i < x->numel; i++, loom__reduce_next(&it)) {
            double v = loom__ref_get_f(x, i);
            if (n->op == LOOM__OP_GlobalMaxPool)
                mean[it.off] = v > mean[it.off] || v != v ? v : mean[it.off];
            else
                mean[it.off] += p->i[0] == 1 ? fabs(v) : v * v;
        }
        if (n->op == LOOM__OP_GlobalMaxPool) {
            for (int64_t k = 0; k < y->numel; k++)
                loom__ref_set_f(y, k, mean[k]);
        } else {
            loom__reduce_begin(&it, rank, dims, red);
            for (int64_t i = 0; i < x->numel; i++, loom__reduce_next(&it)) {
                double norm = p->i[0] == 1 ? mean[it.off] : sqrt(mean[it.off]);
                loom__ref_set_f(y, i, norm == 0.0 ? 0.0 : loom__ref_get_f(x, i) / norm);
            }
        }
        free(mean);
        return LOOM_OK;
    }
    st = group_stats(x, rank, dims, red,
                     n->op == LOOM__OP_RMSNormalization || n->op == LOOM__OP_MeanVarianceNormalization, &mean,
                     &var, &groups);
    if (st != LOOM_OK)
        return st;
    spatial = loom__span(x->dims, 2, x->rank);
    loom__reduce_begin(&it, rank, dims, red);
    for (int64_t i = 0; i < x->numel; i++, loom__reduce_next(&it)) {
        double v = loom__ref_get_f(x, i), m = mean[it.off], r;
        int64_t c = x->rank > 1 ? (i / spatial) % x->dims[1] : 0; /* the channel */
        switch (n->op) {
        case LOOM__OP_RMSNormalization: r = v / sqrt(var[it.off] + p->f[0]); break;
        case LOOM__OP_MeanVarianceNormalization: r = (v - m) / (sqrt(var[it.off] - m * m) + 1e-9); break;
        case LOOM__OP_InstanceNormalization:
            r = (v - m) / sqrt(var[it.off] + p->f[0]) * loom__ref_get_f(in[1], c) + loom__ref_get_f(in[2], c);
            break;
        default: { /* GroupNormalization */
            int64_t k = p->mode ? c / (x->dims[1] / p->i[0]) : c;
            r = (v - m) / sqrt(var[it.off] + p->f[0]) * loom__ref_get_f(in[1], k) + loom__ref_get_f(in[2], k);
            break;
        }
        }
        loom__ref_set_f(y, i, r);
    }
    free(mean);
    free(var);
    if (n->op == LOOM__OP_RMSNormalization) {
        /* times the scale, broadcast */
        const loom_tensor *sc[1] = {in[1]};
        loom__bcast_it bit;
        int64_t off[3], o = 0;
        loom__bcast_begin(&bit, y, sc, 1);
        while (loom__bcast_row(&bit, off))
            for (int64_t j = 0; j < bit.row_len; j++, o++)
                loom__ref_set_f(y, o, loom__ref_get_f(y, o) * loom__ref_get_f(in[1], off[0] + j * bit.inner[0]));
    }
    return LOOM_OK;
}
