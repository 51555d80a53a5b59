/* infer-math.c - shape inference for the ops of ref-math.c and
 * ref-reduce.c: elementwise math on every numeric dtype, the logical and
 * bitwise ops, the variadic Sum/Mean/Max/Min, the Reduce* family with
 * ArgMax/ArgMin, CastLike and Size. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

#define DT_BOOL LOOM__DT(LOOM_BOOL)

/* Attribute defaults of the unary activations (ONNX's). */
static loom_status unary_params(loom__graph *g, loom__node *n)
{
    loom__math_params *p = &n->p.math;
    const char *s;
    loom_status st = LOOM_OK;
    float a = 0.0f, b = 0.0f, c = 0.0f;
    const char *an = "alpha", *bn = "beta";

    memset(p, 0, sizeof *p);
    switch (n->op) {
    case LOOM__OP_HardSigmoid: a = 0.2f; b = 0.5f; break;
    case LOOM__OP_LeakyRelu: a = 0.01f; break;
    case LOOM__OP_Elu: case LOOM__OP_Celu: case LOOM__OP_ThresholdedRelu: case LOOM__OP_Swish: a = 1.0f; break;
    case LOOM__OP_Selu: a = 1.67326319217681884765625f; c = 1.05070102214813232421875f; break;
    case LOOM__OP_Shrink: a = 0.5f; an = "lambd"; bn = "bias"; break;
    case LOOM__OP_Gelu:
        if ((st = loom__attr_string(g, n, "approximate", "none", &s)) != LOOM_OK)
            return st;
        if (strcmp(s, "tanh") == 0)
            p->mode = 1;
        else if (strcmp(s, "none") != 0)
            return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "approximate \"%s\" is not valid", s);
        return LOOM_OK;
    case LOOM__OP_IsInf: {
        int64_t pos, neg;
        if ((st = loom__attr_int(g, n, "detect_positive", 1, &pos)) != LOOM_OK ||
            (st = loom__attr_int(g, n, "detect_negative", 1, &neg)) != LOOM_OK)
            return st;
        p->mode = (pos ? 1 : 0) | (neg ? 2 : 0);
        return LOOM_OK;
    }
    default: return LOOM_OK;
    }
    if ((st = loom__attr_float(g, n, an, a, &p->alpha)) != LOOM_OK ||
        (st = loom__attr_float(g, n, bn, b, &p->beta)) != LOOM_OK ||
        (st = loom__attr_float(g, n, "gamma", c, &p->gamma)) != LOOM_OK)
        return st;
    if (n->op == LOOM__OP_Celu && p->alpha == 0.0f)
        return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "alpha must not be 0");
    return LOOM_OK;
}

static loom_status infer_unary(loom__graph *g, loom__node *n)
{
    unsigned mask = LOOM__DT_FLOAT;
    loom_dtype out;
    const loom__value *x;
    loom_status st;

    switch (n->op) {
    case LOOM__OP_Sign: case LOOM__OP_Shrink: mask = LOOM__DT_NUM; break;
    case LOOM__OP_Not: mask = DT_BOOL; break;
    case LOOM__OP_BitwiseNot: mask = LOOM__DT_INT; break;
    default: break;
    }
    if ((st = loom__check_arity(g, n, 1, 1, 1)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 0, mask)) != LOOM_OK || (st = unary_params(g, n)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    out = n->op == LOOM__OP_IsNaN || n->op == LOOM__OP_IsInf ? LOOM_BOOL : x->dtype;
    loom__set_output(g, n, 0, out, x->rank, x->dims);
    return LOOM_OK;
}

static loom_status infer_binary(loom__graph *g, loom__node *n)
{
    unsigned mask = LOOM__DT_NUM;
    const loom__value *a, *b;
    int rank;
    int64_t dims[LOOM_MAX_RANK];
    loom_dtype out;
    loom_status st;

    memset(&n->p.math, 0, sizeof n->p.math);
    switch (n->op) {
    case LOOM__OP_And: case LOOM__OP_Or: case LOOM__OP_Xor: mask = DT_BOOL; break;
    case LOOM__OP_BitShift: mask = g->opset >= 28 ? LOOM__DT_INT : LOOM__DT_UINT; break;
    case LOOM__OP_BitwiseAnd: case LOOM__OP_BitwiseOr: case LOOM__OP_BitwiseXor:
        mask = LOOM__DT_INT | DT_BOOL;
        break;
    default: break;
    }
    if ((st = loom__check_arity(g, n, 2, 2, 1)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 0, mask)) != LOOM_OK)
        return st;
    a = loom__in(g, n, 0);
    b = loom__in(g, n, 1);
    if (a->dtype != b->dtype)
        return loom__node_err(g, n, LOOM_E_DTYPE, "inputs have different dtypes (%s and %s)",
                              loom_dtype_name(a->dtype), loom_dtype_name(b->dtype));
    if (n->op == LOOM__OP_Mod) {
        int64_t fmod;
        if ((st = loom__attr_int(g, n, "fmod", 0, &fmod)) != LOOM_OK)
            return st;
        n->p.math.mode = fmod != 0;
    }
    if (n->op == LOOM__OP_BitShift) {
        const char *dir;
        if ((st = loom__attr_string(g, n, "direction", "", &dir)) != LOOM_OK)
            return st;
        if (strcmp(dir, "LEFT") != 0 && strcmp(dir, "RIGHT") != 0)
            return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "direction must be LEFT or RIGHT, not \"%s\"",
                                  dir);
        n->p.math.mode = dir[0] == 'L';
    }
    if ((st = loom__broadcast_shapes(g, n, a->rank, a->dims, b->rank, b->dims, &rank, dims)) != LOOM_OK)
        return st;
    if (n->op == LOOM__OP_PRelu) {
        /* slope broadcasts to X, never the other way */
        char s1[LOOM__SHAPE_STR_MAX], s2[LOOM__SHAPE_STR_MAX];
        if (rank != a->rank || memcmp(dims, a->dims, (size_t)rank * sizeof *dims))
            return loom__node_err(g, n, LOOM_E_SHAPE, "slope %s does not broadcast to X %s",
                                  loom__shape_str(b->rank, b->dims, s1, sizeof s1),
                                  loom__shape_str(a->rank, a->dims, s2, sizeof s2));
    }
    out = n->op == LOOM__OP_LessOrEqual || n->op == LOOM__OP_GreaterOrEqual ? LOOM_BOOL : a->dtype;
    loom__set_output(g, n, 0, out, rank, dims);
    return LOOM_OK;
}

static loom_status infer_variadic(loom__graph *g, loom__node *n)
{
    const loom__value *x;
    int rank;
    int64_t dims[LOOM_MAX_RANK];
    loom_status st;
    unsigned mask = n->op == LOOM__OP_Sum || n->op == LOOM__OP_Mean ? LOOM__DT_FLOAT : LOOM__DT_NUM;

    if ((st = loom__check_arity(g, n, 1, 1 << 16, 1)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    rank = x->rank;
    memcpy(dims, x->dims, sizeof dims);
    for (int i = 0; i < n->n_inputs; i++) {
        const loom__value *v = loom__in(g, n, i);
        if (!v)
            return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "input %d is empty", i);
        if ((st = loom__check_dtype(g, n, i, mask)) != LOOM_OK)
            return st;
        if (v->dtype != x->dtype)
            return loom__node_err(g, n, LOOM_E_DTYPE, "inputs have different dtypes (%s and %s)",
                                  loom_dtype_name(x->dtype), loom_dtype_name(v->dtype));
        if ((st = loom__broadcast_shapes(g, n, rank, dims, v->rank, v->dims, &rank, dims)) != LOOM_OK)
            return st;
    }
    loom__set_output(g, n, 0, x->dtype, rank, dims);
    return LOOM_OK;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The opset from which an op takes its axes as input 1 instead of an
 * attribute. */
static int64_t axes_input_since(loom__op op)
{
    return op == LOOM__OP_ReduceSum ? 13 : 18;
}

static loom_status infer_reduce(loom__graph *g, loom__node *n)
{
    loom__reduce_params *p = &n->p.reduce;
    const loom__value *x;
    int64_t *axes = NULL, keep, noop = 0, dims[LOOM_MAX_RANK];
    size_t naxes = 0;
    int rank = 0;
    bool from_input = g->opset >= axes_input_since(n->op);
    unsigned mask = LOOM__DT_NUM;
    loom_status st;

    if (n->op == LOOM__OP_ReduceMax || n->op == LOOM__OP_ReduceMin)
        mask |= DT_BOOL;
    memset(p, 0, sizeof *p);
    if ((st = loom__check_arity(g, n, 1, from_input ? 2 : 1, 1)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 0, mask)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "keepdims", 1, &keep)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    p->keepdims = keep != 0;
    if (from_input) {
        if ((st = loom__attr_int(g, n, "noop_with_empty_axes", 0, &noop)) != LOOM_OK)
            return st;
        if (loom__in(g, n, 1) && (st = loom__const_ints(g, n, 1, "axes", &axes, &naxes)) != LOOM_OK)
            return st;
    } else {
        const int64_t *a;
        if ((st = loom__attr_ints(g, n, "axes", &a, &naxes)) != LOOM_OK)
            return st;
        if (naxes) {
            if (!(axes = loom__malloc(naxes * sizeof *axes)))
                return loom__err(LOOM_E_NOMEM, "out of memory");
            memcpy(axes, a, naxes * sizeof *axes);
        }
    }
    if (naxes > (size_t)x->rank) {
        free(axes);
        return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "%zu axes for rank %d", naxes, x->rank);
    }
    if (naxes == 0) {
        /* no axes (absent, or an empty tensor): all of them, or none
         * with noop_with_empty_axes */
        free(axes);
        p->naxes = noop ? 0 : x->rank;
        for (int i = 0; i < p->naxes; i++)
            p->axes[i] = i;
    } else {
        p->naxes = (int)naxes;
        for (size_t i = 0; i < naxes && st == LOOM_OK; i++)
            st = loom__norm_axis(g, n, "axis", axes[i], x->rank, &p->axes[i]);
        free(axes);
        if (st != LOOM_OK)
            return st;
        qsort(p->axes, naxes, sizeof p->axes[0], cmp_i64);
        for (size_t i = 1; i < naxes; i++)
            if (p->axes[i] == p->axes[i - 1])
                return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "axis %lld is repeated",
                                      (long long)p->axes[i]);
    }
    for (int i = 0, k = 0; i < x->rank; i++) {
        bool reduced = k < p->naxes && p->axes[k] == i;
        if (reduced)
            k++;
        if (!reduced)
            dims[rank++] = x->dims[i];
        else if (p->keepdims)
            dims[rank++] = 1;
    }
    loom__set_output(g, n, 0, x->dtype, rank, dims);
    return LOOM_OK;
}

static loom_status infer_argminmax(loom__graph *g, loom__node *n)
{
    loom__reduce_params *p = &n->p.reduce;
    const loom__value *x;
    int64_t axis, keep, last, dims[LOOM_MAX_RANK];
    int rank = 0;
    loom_status st;

    memset(p, 0, sizeof *p);
    if ((st = loom__check_arity(g, n, 1, 1, 1)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 0, LOOM__DT_NUM)) != LOOM_OK ||
        (st = loom__check_rank(g, n, 0, 1, LOOM_MAX_RANK)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "axis", 0, &axis)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "keepdims", 1, &keep)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "select_last_index", 0, &last)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    if ((st = loom__norm_axis(g, n, "axis", axis, x->rank, &p->axes[0])) != LOOM_OK)
        return st;
    if (x->dims[p->axes[0]] == 0)
        return loom__node_err(g, n, LOOM_E_SHAPE, "the axis is empty: no index to return");
    p->naxes = 1;
    p->keepdims = keep != 0;
    p->select_last = last != 0;
    for (int i = 0; i < x->rank; i++) {
        if (i != p->axes[0])
            dims[rank++] = x->dims[i];
        else if (p->keepdims)
            dims[rank++] = 1;
    }
    loom__set_output(g, n, 0, LOOM_I64, rank, dims);
    return LOOM_OK;
}

static loom_status infer_castlike(loom__graph *g, loom__node *n)
{
    const loom__value *x, *like;
    loom_status st;
    if ((st = loom__check_arity(g, n, 2, 2, 1)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 0, LOOM__DT_ANY)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 1, LOOM__DT_ANY)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    like = loom__in(g, n, 1);
    n->p.cast.to = like->dtype;
    loom__set_output(g, n, 0, like->dtype, x->rank, x->dims);
    return LOOM_OK;
}

/* Size: known from the shape, so a constant here (as Shape is). */
static loom_status infer_size(loom__graph *g, loom__node *n)
{
    const loom__value *x;
    loom__value *y;
    loom_tensor *t;
    int64_t numel;
    loom_status st;
    if ((st = loom__check_arity(g, n, 1, 1, 1)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    if (!loom__numel(x->rank, x->dims, &numel))
        return loom__node_err(g, n, LOOM_E_LIMIT, "the input's size overflows");
    if ((st = loom__tensor_new(LOOM_I64, 0, NULL, &t)) != LOOM_OK)
        return st;
    *(int64_t *)t->data = numel;
    y = loom__out(g, n, 0);
    loom_tensor_free(y->constant);
    y->constant = t;
    loom__set_output(g, n, 0, LOOM_I64, 0, NULL);
    return LOOM_OK;
}

loom_status loom__infer_math(loom__graph *g, loom__node *n)
{
    switch (n->op) {
    case LOOM__OP_And: case LOOM__OP_Or: case LOOM__OP_Xor: case LOOM__OP_Mod:
    case LOOM__OP_LessOrEqual: case LOOM__OP_GreaterOrEqual: case LOOM__OP_PRelu:
    case LOOM__OP_BitShift: case LOOM__OP_BitwiseAnd: case LOOM__OP_BitwiseOr:
    case LOOM__OP_BitwiseXor:
        return infer_binary(g, n);
    case LOOM__OP_Sum: case LOOM__OP_Mean: case LOOM__OP_Max: case LOOM__OP_Min:
        return infer_variadic(g, n);
    case LOOM__OP_ReduceMean: case LOOM__OP_ReduceSum: case LOOM__OP_ReduceMax:
    case LOOM__OP_ReduceMin: case LOOM__OP_ReduceProd: case LOOM__OP_ReduceL1:
    case LOOM__OP_ReduceL2: case LOOM__OP_ReduceLogSum: case LOOM__OP_ReduceLogSumExp:
    case LOOM__OP_ReduceSumSquare:
        return infer_reduce(g, n);
    case LOOM__OP_ArgMax: case LOOM__OP_ArgMin: return infer_argminmax(g, n);
    case LOOM__OP_CastLike: return infer_castlike(g, n);
    case LOOM__OP_Size: return infer_size(g, n);
    default: return infer_unary(g, n);
    }
}
