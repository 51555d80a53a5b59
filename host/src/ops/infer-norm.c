/* infer-norm.c - shape inference for the normalisations over slices of
 * ref-norm.c (LRN, RMSNormalization, InstanceNormalization,
 * GroupNormalization, LpNormalization, MeanVarianceNormalization) and
 * GlobalMaxPool. Outputs have the input's shape and dtype. */
#include <string.h>

#include "ops/ops.h"

/* v holds one value per element of dims (C order) after broadcasting to
 * them (numpy's rules, v no larger). */
static bool broadcasts_to(const loom__value *v, int rank, const int64_t *dims)
{
    if (v->rank > rank)
        return false;
    for (int i = 0; i < v->rank; i++) {
        int64_t a = v->dims[v->rank - 1 - i], b = dims[rank - 1 - i];
        if (a != b && a != 1)
            return false;
    }
    return true;
}

static loom_status per_channel(const loom__graph *g, const loom__node *n, int i, int64_t want)
{
    const loom__value *v = loom__in(g, n, i);
    if (v && (v->rank != 1 || v->dims[0] != want))
        return loom__node_err(g, n, LOOM_E_SHAPE, "input \"%s\" must have shape [%lld]", v->name,
                              (long long)want);
    return LOOM_OK;
}

/* NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss: scores
 * [N, C, d...], integer targets [N, d...], optional weights [C]. */
static loom_status infer_loss(loom__graph *g, loom__node *n)
{
    loom__misc_params *p = &n->p.misc;
    const loom__value *x, *t, *w;
    const char *red;
    bool sce = n->op == LOOM__OP_SoftmaxCrossEntropyLoss;
    loom_status st;

    memset(p, 0, sizeof *p);
    if ((st = loom__check_arity(g, n, 2, 3, sce ? 2 : 1)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 0, LOOM__DT_FLOAT)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 1, LOOM__DT_INDEX)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 2, LOOM__DT_FLOAT)) != LOOM_OK ||
        (st = loom__check_rank(g, n, 0, 2, LOOM_MAX_RANK)) != LOOM_OK ||
        (st = loom__attr_string(g, n, "reduction", "mean", &red)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "ignore_index", 0, &p->i[0])) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    t = loom__in(g, n, 1);
    w = loom__in(g, n, 2);
    p->i[1] = loom__attr_find(n, "ignore_index") != NULL;
    if (strcmp(red, "none") == 0)
        p->mode = 0;
    else if (strcmp(red, "sum") == 0)
        p->mode = 1;
    else if (strcmp(red, "mean") == 0)
        p->mode = 2;
    else
        return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "reduction \"%s\" is not valid", red);
    if (t->rank != x->rank - 1 || t->dims[0] != x->dims[0] ||
        memcmp(t->dims + 1, x->dims + 2, (size_t)(t->rank - 1) * sizeof *t->dims))
        return loom__node_err(g, n, LOOM_E_SHAPE, "target must be the scores' shape without C");
    if (w && (w->rank != 1 || w->dims[0] != x->dims[1]))
        return loom__node_err(g, n, LOOM_E_SHAPE, "weight must have one value per class");
    loom__set_output(g, n, 0, x->dtype, p->mode ? 0 : t->rank, t->dims);
    loom__set_output(g, n, 1, x->dtype, x->rank, x->dims);
    return LOOM_OK;
}

loom_status loom__infer_norm(loom__graph *g, loom__node *n)
{
    loom__misc_params *p = &n->p.misc;
    const loom__value *x;
    int64_t v;
    loom_status st;
    int max_in = n->op == LOOM__OP_RMSNormalization ? 2
                 : n->op == LOOM__OP_InstanceNormalization || n->op == LOOM__OP_GroupNormalization ? 3 : 1;

    if (n->op == LOOM__OP_NegativeLogLikelihoodLoss || n->op == LOOM__OP_SoftmaxCrossEntropyLoss)
        return infer_loss(g, n);
    memset(p, 0, sizeof *p);
    if ((st = loom__check_arity(g, n, max_in, max_in, 1)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 0, LOOM__DT_FLOAT)) != LOOM_OK ||
        (st = loom__check_rank(g, n, 0, 1, LOOM_MAX_RANK)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    for (int i = 1; i < max_in; i++)
        if ((st = loom__check_dtype(g, n, i, LOOM__DT_FLOAT)) != LOOM_OK)
            return st;
    switch (n->op) {
    case LOOM__OP_LRN:
        if (!loom__attr_find(n, "size"))
            return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "attribute \"size\" is missing");
        if ((st = loom__attr_int(g, n, "size", 1, &p->i[0])) != LOOM_OK ||
            (st = loom__attr_float(g, n, "alpha", 1e-4f, &p->f[0])) != LOOM_OK ||
            (st = loom__attr_float(g, n, "beta", 0.75f, &p->f[1])) != LOOM_OK ||
            (st = loom__attr_float(g, n, "bias", 1.0f, &p->f[2])) != LOOM_OK)
            return st;
        if (p->i[0] < 1 || x->rank < 3)
            return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "size must be positive, the input NCHW-like");
        break;
    case LOOM__OP_RMSNormalization: {
        int64_t stash;
        if ((st = loom__attr_int(g, n, "axis", -1, &v)) != LOOM_OK ||
            (st = loom__norm_axis(g, n, "axis", v, x->rank, &p->axis)) != LOOM_OK ||
            (st = loom__attr_float(g, n, "epsilon", 1e-5f, &p->f[0])) != LOOM_OK ||
            (st = loom__attr_int(g, n, "stash_type", 1, &stash)) != LOOM_OK)
            return st;
        if (stash != 1)
            return loom__node_err(g, n, LOOM_E_MODEL_UNSUPPORTED, "stash_type %lld (only 1, float32)",
                                  (long long)stash);
        if (!broadcasts_to(loom__in(g, n, 1), x->rank, x->dims))
            return loom__node_err(g, n, LOOM_E_SHAPE, "scale does not broadcast to the input");
        break;
    }
    case LOOM__OP_InstanceNormalization:
        if (x->rank < 3)
            return loom__node_err(g, n, LOOM_E_SHAPE, "the input needs N, C and spatial dims");
        if ((st = loom__attr_float(g, n, "epsilon", 1e-5f, &p->f[0])) != LOOM_OK ||
            (st = per_channel(g, n, 1, x->dims[1])) != LOOM_OK || (st = per_channel(g, n, 2, x->dims[1])) != LOOM_OK)
            return st;
        break;
    case LOOM__OP_GroupNormalization:
        if (!loom__attr_find(n, "num_groups"))
            return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "attribute \"num_groups\" is missing");
        if ((st = loom__attr_int(g, n, "num_groups", 1, &p->i[0])) != LOOM_OK ||
            (st = loom__attr_float(g, n, "epsilon", 1e-5f, &p->f[0])) != LOOM_OK)
            return st;
        if (x->rank < 2 || p->i[0] < 1 || x->dims[1] % p->i[0])
            return loom__node_err(g, n, LOOM_E_SHAPE, "%lld groups do not divide the channels",
                                  (long long)p->i[0]);
        /* opset 18-20: one scale and bias per group; 21: per channel */
        p->mode = g->opset < 21;
        if ((st = per_channel(g, n, 1, p->mode ? p->i[0] : x->dims[1])) != LOOM_OK ||
            (st = per_channel(g, n, 2, p->mode ? p->i[0] : x->dims[1])) != LOOM_OK)
            return st;
        break;
    case LOOM__OP_LpNormalization:
        if ((st = loom__attr_int(g, n, "axis", -1, &v)) != LOOM_OK ||
            (st = loom__norm_axis(g, n, "axis", v, x->rank, &p->axis)) != LOOM_OK ||
            (st = loom__attr_int(g, n, "p", 2, &p->i[0])) != LOOM_OK)
            return st;
        if (p->i[0] != 1 && p->i[0] != 2)
            return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "p must be 1 or 2, not %lld", (long long)p->i[0]);
        break;
    case LOOM__OP_MeanVarianceNormalization: {
        const int64_t *axes;
        size_t count;
        if ((st = loom__attr_ints(g, n, "axes", &axes, &count)) != LOOM_OK)
            return st;
        if (!axes) {
            static const int64_t def[] = {0, 2, 3};
            axes = def;
            count = 3;
        }
        for (size_t k = 0; k < count; k++) {
            int64_t a;
            if ((st = loom__norm_axis(g, n, "axis", axes[k], x->rank, &a)) != LOOM_OK)
                return st;
            p->i[0] |= (int64_t)1 << a; /* a mask of the reduced axes */
        }
        break;
    }
    case LOOM__OP_GlobalMaxPool: {
        int64_t dims[LOOM_MAX_RANK];
        if (x->rank < 3)
            return loom__node_err(g, n, LOOM_E_SHAPE, "the input needs N, C and spatial dims");
        for (int d = 0; d < x->rank; d++)
            dims[d] = d < 2 ? x->dims[d] : 1;
        loom__set_output(g, n, 0, x->dtype, x->rank, dims);
        return LOOM_OK;
    }
    default:
        return loom__node_err(g, n, LOOM_E_INTERNAL, "not a normalisation");
    }
    loom__set_output(g, n, 0, x->dtype, x->rank, x->dims);
    return LOOM_OK;
}
