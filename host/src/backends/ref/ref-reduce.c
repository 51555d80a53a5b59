/* ref-reduce.c - the Reduce* family, ArgMax/ArgMin, LogSoftmax and Hardmax,
 * on every numeric dtype. Floats accumulate in double; integer
 * sums, products and extremes in 64 bits, wrapping into the output's
 * width as numpy does. */
#include <math.h>
#include <stdlib.h>

#include "backends/ref/ref-impl.h"

static int64_t reduce_begin(loom__reduce_it *it, const loom_tensor *x, const loom__reduce_params *p)
{
    bool reduced[LOOM_MAX_RANK] = {false};
    for (int k = 0; k < p->naxes; k++)
        reduced[p->axes[k]] = true;
    return loom__reduce_begin(it, x->rank, x->dims, reduced);
}

static bool int_accumulates(loom__op op)
{
    return op == LOOM__OP_ReduceSum || op == LOOM__OP_ReduceProd || op == LOOM__OP_ReduceMax ||
           op == LOOM__OP_ReduceMin || op == LOOM__OP_ReduceL1 || op == LOOM__OP_ReduceSumSquare;
}

static loom_status reduce_int(const loom__node *n, const loom_tensor *x, loom_tensor *y)
{
    bool u = loom__dtype_is_unsigned(x->dtype) || x->dtype == LOOM_BOOL;
    int64_t *acc = malloc((size_t)(y->numel ? y->numel : 1) * sizeof *acc);
    loom__reduce_it it;
    if (!acc)
        return loom__err(LOOM_E_NOMEM, "%s: out of memory", loom__op_name(n->op));
    for (int64_t i = 0; i < y->numel; i++) {
        switch (n->op) {
        case LOOM__OP_ReduceProd: acc[i] = 1; break;
        case LOOM__OP_ReduceMax: acc[i] = u ? 0 : INT64_MIN; break;
        case LOOM__OP_ReduceMin: acc[i] = u ? -1 : INT64_MAX; break; /* -1: UINT64_MAX */
        default: acc[i] = 0; break;
        }
    }
    /* the extremes of an empty reduction are the output type's own */
    if (x->numel == 0 && (n->op == LOOM__OP_ReduceMax || n->op == LOOM__OP_ReduceMin)) {
        int bits = y->dtype == LOOM_BOOL ? 1 : (int)loom_dtype_size(y->dtype) * 8;
        for (int64_t i = 0; i < y->numel; i++) {
            if (bits == 64)
                continue;
            if (n->op == LOOM__OP_ReduceMax)
                acc[i] = u ? 0 : -((int64_t)1 << (bits - 1));
            else
                acc[i] = u ? ((int64_t)1 << bits) - 1 : ((int64_t)1 << (bits - 1)) - 1;
        }
    }
    reduce_begin(&it, x, &n->p.reduce);
    for (int64_t i = 0; i < x->numel; i++, loom__reduce_next(&it)) {
        int64_t v = loom__ref_get_i(x, i), *a = &acc[it.off];
        switch (n->op) {
        case LOOM__OP_ReduceSum: *a = (int64_t)((uint64_t)*a + (uint64_t)v); break;
        case LOOM__OP_ReduceProd: *a = (int64_t)((uint64_t)*a * (uint64_t)v); break;
        case LOOM__OP_ReduceMax: if (u ? (uint64_t)v > (uint64_t)*a : v > *a) *a = v; break;
        case LOOM__OP_ReduceMin: if (u ? (uint64_t)v < (uint64_t)*a : v < *a) *a = v; break;
        case LOOM__OP_ReduceL1: *a += !u && v < 0 ? -v : v; break;
        default: *a = (int64_t)((uint64_t)*a + (uint64_t)v * (uint64_t)v); break; /* SumSquare */
        }
    }
    for (int64_t i = 0; i < y->numel; i++)
        loom__ref_set_i(y, i, acc[i]);
    free(acc);
    return LOOM_OK;
}

loom_status loom__ref_reduce(const loom__node *n, const loom_tensor *const *in,
                             loom_tensor *const *out)
{
    const loom_tensor *x = in[0];
    loom_tensor *y = out[0];
    int64_t count, ny = y->numel ? y->numel : 1;
    double *acc, *mx = NULL;
    loom__reduce_it it;
    loom__op op = n->op;

    if (!loom__dtype_is_float(x->dtype) && int_accumulates(op))
        return reduce_int(n, x, y);
    acc = malloc((size_t)ny * sizeof *acc);
    if (op == LOOM__OP_ReduceLogSumExp)
        mx = malloc((size_t)ny * sizeof *mx);
    if (!acc || (op == LOOM__OP_ReduceLogSumExp && !mx)) {
        free(acc);
        free(mx);
        return loom__err(LOOM_E_NOMEM, "%s: out of memory", loom__op_name(op));
    }
    for (int64_t i = 0; i < ny; i++) {
        acc[i] = op == LOOM__OP_ReduceProd ? 1.0 : op == LOOM__OP_ReduceMax ? -INFINITY
                 : op == LOOM__OP_ReduceMin ? INFINITY : 0.0;
        if (mx)
            mx[i] = -INFINITY;
    }
    count = reduce_begin(&it, x, &n->p.reduce);
    if (mx) { /* log-sum-exp shifted by the largest finite value */
        for (int64_t i = 0; i < x->numel; i++, loom__reduce_next(&it)) {
            double v = loom__ref_get_f(x, i);
            if (isfinite(v) && v > mx[it.off])
                mx[it.off] = v;
        }
        for (int64_t i = 0; i < ny; i++)
            if (mx[i] == -INFINITY)
                mx[i] = 0.0;
        reduce_begin(&it, x, &n->p.reduce);
    }
    for (int64_t i = 0; i < x->numel; i++, loom__reduce_next(&it)) {
        double v = loom__ref_get_f(x, i), *a = &acc[it.off];
        switch (op) {
        case LOOM__OP_ReduceProd: *a *= v; break;
        case LOOM__OP_ReduceMax: if (v > *a || v != v) *a = v; break;
        case LOOM__OP_ReduceMin: if (v < *a || v != v) *a = v; break;
        case LOOM__OP_ReduceL1: *a += fabs(v); break;
        case LOOM__OP_ReduceL2: case LOOM__OP_ReduceSumSquare: *a += v * v; break;
        case LOOM__OP_ReduceLogSumExp: *a += exp(v - mx[it.off]); break;
        default: *a += v; break; /* Sum, Mean, LogSum */
        }
    }
    for (int64_t i = 0; i < y->numel; i++) {
        double r = acc[i];
        switch (op) {
        case LOOM__OP_ReduceMean: r = count ? r / (double)count : NAN; break;
        case LOOM__OP_ReduceL2: r = sqrt(r); break;
        case LOOM__OP_ReduceLogSum: r = log(r); break;
        case LOOM__OP_ReduceLogSumExp: r = log(r) + mx[i]; break;
        default: break;
        }
        loom__ref_set_f(y, i, r);
    }
    free(acc);
    free(mx);
    return LOOM_OK;
}

loom_status loom__ref_argminmax(const loom__node *n, const loom_tensor *const *in,
                                loom_tensor *const *out)
{
    const loom_tensor *x = in[0];
    int64_t axis = n->p.reduce.axes[0], len = x->dims[axis];
    int64_t inner = loom__span(x->dims, (int)axis + 1, x->rank);
    int64_t outer = loom__span(x->dims, 0, (int)axis);
    bool is_max = n->op == LOOM__OP_ArgMax, last = n->p.reduce.select_last;
    bool is_float = loom__dtype_is_float(x->dtype), u = loom__dtype_is_unsigned(x->dtype);
    int64_t *y = out[0]->data;

    for (int64_t o = 0; o < outer; o++)
        for (int64_t k = 0; k < inner; k++) {
            int64_t best = 0, base = o * len * inner + k;
            for (int64_t j = 1; j < len; j++) {
                int64_t ia = base + j * inner, ib = base + best * inner;
                int c; /* sign of x[j] - x[best] */
                if (is_float) {
                    double a = loom__ref_get_f(x, ia), b = loom__ref_get_f(x, ib);
                    if (b != b) /* a NaN is the extreme, as numpy's */
                        continue;
                    c = a != a ? (is_max ? 1 : -1) : (a > b) - (a < b);
                } else {
                    int64_t a = loom__ref_get_i(x, ia), b = loom__ref_get_i(x, ib);
                    c = u ? ((uint64_t)a > (uint64_t)b) - ((uint64_t)a < (uint64_t)b) : (a > b) - (a < b);
                }
                if ((is_max ? c > 0 : c < 0) || (last && c == 0))
                    best = j;
            }
            y[o * inner + k] = best;
        }
    return LOOM_OK;
}

/* The softmax layout: outer x len x inner, len the normalised extent
 * (opset < 13: everything from the axis on). */
static void softmax_layout(const loom__node *n, const loom_tensor *x, int64_t *outer, int64_t *len,
                           int64_t *inner)
{
    int axis = (int)n->p.softmax.axis;
    *outer = loom__span(x->dims, 0, axis);
    if (n->p.softmax.legacy) {
        *len = loom__span(x->dims, axis, x->rank);
        *inner = 1;
    } else {
        *len = x->dims[axis];
        *inner = loom__span(x->dims, axis + 1, x->rank);
    }
}

loom_status loom__ref_log_softmax(const loom__node *n, const loom_tensor *const *in,
                                  loom_tensor *const *out)
{
    int64_t outer, len, inner;
    softmax_layout(n, in[0], &outer, &len, &inner);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t k = 0; k < inner; k++) {
            int64_t base = o * len * inner + k;
            double m = -INFINITY, s = 0.0;
            for (int64_t j = 0; j < len; j++)
                m = fmax(m, loom__ref_get_f(in[0], base + j * inner));
            for (int64_t j = 0; j < len; j++)
                s += exp(loom__ref_get_f(in[0], base + j * inner) - m);
            for (int64_t j = 0; j < len; j++)
                loom__ref_set_f(out[0], base + j * inner,
                                loom__ref_get_f(in[0], base + j * inner) - m - log(s));
        }
    return LOOM_OK;
}

loom_status loom__ref_hardmax(const loom__node *n, const loom_tensor *const *in,
                              loom_tensor *const *out)
{
    int64_t outer, len, inner;
    softmax_layout(n, in[0], &outer, &len, &inner);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t k = 0; k < inner; k++) {
            int64_t base = o * len * inner + k, best = 0;
            for (int64_t j = 0; j < len; j++) {
                if (loom__ref_get_f(in[0], base + j * inner) > loom__ref_get_f(in[0], base + best * inner))
                    best = j;
                loom__ref_set_f(out[0], base + j * inner, 0.0);
            }
            if (len)
                loom__ref_set_f(out[0], base + best * inner, 1.0);
        }
    return LOOM_OK;
}
