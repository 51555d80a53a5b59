/* infer-elementwise.c - broadcasting binary ops, Where, unary math, Clip,
 * Cast, Identity and Dropout. */
#include <math.h>
#include <string.h>

#include "ops/ops.h"

static loom_status infer_binary(loom__graph *g, loom__node *n)
{
    const loom__value *a, *b;
    int rank;
    int64_t dims[LOOM_MAX_RANK];
    loom_dtype out_dt;
    loom_status st;

    if ((st = loom__check_arity(g, n, 2, 2, 1)) != LOOM_OK)
        return st;
    a = loom__in(g, n, 0);
    b = loom__in(g, n, 1);
    if (n->op == LOOM__OP_Pow) {
        /* base and exponent float or integer (opset 12+) */
        if ((st = loom__check_dtype(g, n, 0, LOOM__DT_NUM)) != LOOM_OK ||
            (st = loom__check_dtype(g, n, 1, LOOM__DT_NUM)) != LOOM_OK)
            return st;
    } else {
        if ((st = loom__check_dtype(g, n, 0, n->op == LOOM__OP_Equal ? LOOM__DT_ANY : LOOM__DT_NUM)) !=
            LOOM_OK)
            return st;
        if (a->dtype != b->dtype)
            return loom__node_err(g, n, LOOM_E_DTYPE, "inputs have different dtypes (%s and %s)",
                                  loom_dtype_name(a->dtype), loom_dtype_name(b->dtype));
    }
    if ((st = loom__broadcast_shapes(g, n, a->rank, a->dims, b->rank, b->dims, &rank, dims)) !=
        LOOM_OK)
        return st;
    out_dt = (n->op == LOOM__OP_Equal || n->op == LOOM__OP_Less || n->op == LOOM__OP_Greater)
                 ? LOOM_BOOL
                 : a->dtype;
    loom__set_output(g, n, 0, out_dt, rank, dims);
    return LOOM_OK;
}

static loom_status infer_where(loom__graph *g, loom__node *n)
{
    const loom__value *c, *x, *y;
    int r1, r2;
    int64_t d1[LOOM_MAX_RANK], d2[LOOM_MAX_RANK];
    loom_status st;

    if ((st = loom__check_arity(g, n, 3, 3, 1)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 0, LOOM__DT(LOOM_BOOL))) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 1, LOOM__DT_ANY)) != LOOM_OK)
        return st;
    c = loom__in(g, n, 0);
    x = loom__in(g, n, 1);
    y = loom__in(g, n, 2);
    if (x->dtype != y->dtype)
        return loom__node_err(g, n, LOOM_E_DTYPE, "X and Y have different dtypes (%s and %s)",
                              loom_dtype_name(x->dtype), loom_dtype_name(y->dtype));
    if ((st = loom__broadcast_shapes(g, n, c->rank, c->dims, x->rank, x->dims, &r1, d1)) != LOOM_OK ||
        (st = loom__broadcast_shapes(g, n, r1, d1, y->rank, y->dims, &r2, d2)) != LOOM_OK)
        return st;
    loom__set_output(g, n, 0, x->dtype, r2, d2);
    return LOOM_OK;
}

static loom_status infer_unary(loom__graph *g, loom__node *n)
{
    const loom__value *x;
    unsigned mask = LOOM__DT_FLOAT;
    loom_status st;

    if (n->op == LOOM__OP_Abs || n->op == LOOM__OP_Neg || n->op == LOOM__OP_Relu)
        mask = LOOM__DT_NUM;
    if ((st = loom__check_arity(g, n, 1, 1, 1)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 0, mask)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    loom__set_output(g, n, 0, x->dtype, x->rank, x->dims);
    return LOOM_OK;
}

static loom_status infer_clip(loom__graph *g, loom__node *n)
{
    const loom__value *x;
    loom__clip_params *p = &n->p.clip;
    loom_status st;

    p->min = -INFINITY;
    p->max = INFINITY;
    if (g->opset < 11) {
        if ((st = loom__check_arity(g, n, 1, 1, 1)) != LOOM_OK ||
            (st = loom__attr_float(g, n, "min", -INFINITY, &p->min)) != LOOM_OK ||
            (st = loom__attr_float(g, n, "max", INFINITY, &p->max)) != LOOM_OK)
            return st;
    } else {
        if ((st = loom__check_arity(g, n, 1, 3, 1)) != LOOM_OK)
            return st;
        /* bounds: constants, or values of x's dtype only known at run
         * time (the kernel reads them then) */
        x = loom__in(g, n, 0);
        for (int i = 1; i <= 2; i++) {
            const loom__value *b = loom__in(g, n, i);
            if (!b)
                continue;
            if (b->dtype != x->dtype || (b->rank > 1) || (b->rank == 1 && b->dims[0] != 1))
                return loom__node_err(g, n, LOOM_E_SHAPE, "%s must be one value of the input's dtype",
                                      i == 1 ? "min" : "max");
            if (b->constant && x->dtype == LOOM_F32)
                memcpy(i == 1 ? &p->min : &p->max, b->constant->data, sizeof(float));
        }
    }
    if ((st = loom__check_dtype(g, n, 0, g->opset < 12 ? LOOM__DT_FLOAT : LOOM__DT_NUM)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    loom__set_output(g, n, 0, x->dtype, x->rank, x->dims);
    return LOOM_OK;
}

static loom_status infer_cast(loom__graph *g, loom__node *n)
{
    const loom__value *x;
    int64_t to;
    loom_status st;

    if ((st = loom__check_arity(g, n, 1, 1, 1)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 0, LOOM__DT_ANY)) != LOOM_OK)
        return st;
    if (!loom__attr_find(n, "to"))
        return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "attribute \"to\" is missing");
    if ((st = loom__attr_int(g, n, "to", 0, &to)) != LOOM_OK)
        return st;
    if (to < 0 || to > 64 || !loom__dtype_valid((loom_dtype)to))
        return loom__node_err(g, n, LOOM_E_DTYPE, "cast to ONNX type %lld is not supported",
                              (long long)to);
    n->p.cast.to = (loom_dtype)to;
    x = loom__in(g, n, 0);
    loom__set_output(g, n, 0, (loom_dtype)to, x->rank, x->dims);
    return LOOM_OK;
}

/* Identity; Dropout in inference: y = x, optional mask of ones. */
static loom_status infer_identity(loom__graph *g, loom__node *n)
{
    const loom__value *x;
    loom_status st;
    bool dropout = n->op == LOOM__OP_Dropout;

    if ((st = loom__check_arity(g, n, 1, dropout ? 3 : 1, dropout ? 2 : 1)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 0, LOOM__DT_ANY)) != LOOM_OK)
        return st;
    if (dropout) {
        const loom__value *training = loom__in(g, n, 2);
        int64_t is_test = 1;
        if (g->opset < 7 && (st = loom__attr_int(g, n, "is_test", 1, &is_test)) != LOOM_OK)
            return st;
        if (training) {
            if (!training->constant || training->constant->dtype != LOOM_BOOL ||
                training->constant->numel != 1)
                return loom__node_err(g, n, LOOM_E_MODEL_UNSUPPORTED,
                                      "training_mode must be a constant bool");
            if (*(const uint8_t *)training->constant->data)
                return loom__node_err(g, n, LOOM_E_MODEL_UNSUPPORTED,
                                      "training_mode is true; loom runs inference only");
        }
    }
    x = loom__in(g, n, 0);
    loom__set_output(g, n, 0, x->dtype, x->rank, x->dims);
    /* the mask is bool from opset 10, of the data's type before */
    loom__set_output(g, n, 1, g->opset >= 10 ? LOOM_BOOL : x->dtype, x->rank, x->dims);
    return LOOM_OK;
}

loom_status loom__infer_elementwise(loom__graph *g, loom__node *n)
{
    switch (n->op) {
    case LOOM__OP_Add: case LOOM__OP_Sub: case LOOM__OP_Mul: case LOOM__OP_Div:
    case LOOM__OP_Pow: case LOOM__OP_Equal: case LOOM__OP_Less: case LOOM__OP_Greater:
        return infer_binary(g, n);
    case LOOM__OP_Where:
        return infer_where(g, n);
    case LOOM__OP_Clip:
        return infer_clip(g, n);
    case LOOM__OP_Cast:
        return infer_cast(g, n);
    case LOOM__OP_Identity: case LOOM__OP_Dropout:
        return infer_identity(g, n);
    default:
        return infer_unary(g, n);
    }
}
