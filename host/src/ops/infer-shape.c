/* infer-shape.c - data movement (Pad, Flatten, Reshape, Transpose, Concat,
 * Split, Slice, Gather, Squeeze, Unsqueeze, Expand) and the ops that make
 * constants (Constant, ConstantOfShape, Shape, Range), whose outputs are
 * computed here outright. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

/* Attach a constant to output i (takes ownership of t). */
static void set_const_output(loom__graph *g, loom__node *n, int i, loom_tensor *t)
{
    loom__value *v = loom__out(g, n, i);
    if (!v) {
        loom_tensor_free(t);
        return;
    }
    loom_tensor_free(v->constant);
    v->constant = t;
    v->dtype = t->dtype;
    v->rank = t->rank;
    memcpy(v->dims, t->dims, sizeof t->dims);
}

/* Pad's axes (input 3, opset 18): *pads holds begin/end for those axes
 * only; widen it to every dim (the others unpadded). Frees *pads on error. */
static loom_status pads_on_axes(const loom__graph *g, const loom__node *n, int rank,
                                int64_t **pads, size_t *npads)
{
    int64_t *axes, *full;
    size_t naxes;
    loom_status st;

    if ((st = loom__const_ints(g, n, 3, "axes", &axes, &naxes)) != LOOM_OK) {
        free(*pads);
        return st;
    }
    full = loom__malloc(2 * (size_t)(rank ? rank : 1) * sizeof *full);
    if (!full) {
        free(axes);
        free(*pads);
        return loom__err(LOOM_E_NOMEM, "out of memory");
    }
    memset(full, 0, 2 * (size_t)rank * sizeof *full);
    st = *npads == 2 * naxes ? LOOM_OK
                             : loom__node_err(g, n, LOOM_E_SHAPE, "has %zu pads for %zu axes", *npads, naxes);
    for (size_t i = 0; st == LOOM_OK && i < naxes; i++) {
        int64_t a;
        if ((st = loom__norm_axis(g, n, "axis", axes[i], rank, &a)) == LOOM_OK) {
            full[a] = (*pads)[i];
            full[a + rank] = (*pads)[i + naxes];
        }
    }
    free(axes);
    free(*pads);
    if (st != LOOM_OK) {
        free(full);
        *pads = NULL;
        return st;
    }
    *pads = full;
    *npads = 2 * (size_t)rank;
    return LOOM_OK;
}

static loom_status infer_pad(loom__graph *g, loom__node *n)
{
    loom__pad_params *p = &n->p.pad;
    const loom__value *x;
    const char *mode;
    int64_t *pads = NULL, dims[LOOM_MAX_RANK];
    size_t npads = 0;
    loom_status st;

    memset(p, 0, sizeof *p);
    x = loom__in(g, n, 0);
    if (g->opset < 11) {
        const int64_t *ap;
        float value;
        if ((st = loom__check_arity(g, n, 1, 1, 1)) != LOOM_OK ||
            (st = loom__attr_ints(g, n, "pads", &ap, &npads)) != LOOM_OK ||
            (st = loom__attr_float(g, n, "value", 0.0f, &value)) != LOOM_OK)
            return st;
        if (!ap)
            return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "attribute \"pads\" is missing");
        pads = loom__malloc(npads * sizeof *pads);
        if (!pads)
            return loom__err(LOOM_E_NOMEM, "out of memory");
        memcpy(pads, ap, npads * sizeof *pads);
        if (x->dtype != LOOM_F32 && value != 0.0f) {
            free(pads);
            return loom__node_err(g, n, LOOM_E_MODEL_UNSUPPORTED,
                                  "a non-zero float pad value for a %s tensor", loom_dtype_name(x->dtype));
        }
        if (x->dtype == LOOM_F32)
            memcpy(p->value, &value, sizeof value);
    } else {
        if ((st = loom__check_arity(g, n, 2, g->opset >= 18 ? 4 : 3, 1)) != LOOM_OK ||
            (st = loom__const_ints(g, n, 1, "pads", &pads, &npads)) != LOOM_OK)
            return st;
        if (loom__in(g, n, 3) && (st = pads_on_axes(g, n, x->rank, &pads, &npads)) != LOOM_OK)
            return st;
        if (loom__in(g, n, 2)) {
            const loom__value *cv = loom__in(g, n, 2);
            int64_t one;
            /* a constant, or a value the kernel reads at run time */
            if (!loom__numel(cv->rank, cv->dims, &one) || one != 1) {
                free(pads);
                return loom__node_err(g, n, LOOM_E_SHAPE, "constant_value must be a single value");
            }
            if (cv->dtype != x->dtype) {
                free(pads);
                return loom__node_err(g, n, LOOM_E_DTYPE, "constant_value is %s, the data %s",
                                      loom_dtype_name(cv->dtype), loom_dtype_name(x->dtype));
            }
            if (cv->constant)
                memcpy(p->value, cv->constant->data, cv->constant->nbytes);
        }
    }
    if ((st = loom__attr_string(g, n, "mode", "constant", &mode)) != LOOM_OK) {
        free(pads);
        return st;
    }
    if (strcmp(mode, "constant") == 0)
        p->mode = LOOM__PAD_CONSTANT;
    else if (strcmp(mode, "reflect") == 0)
        p->mode = LOOM__PAD_REFLECT;
    else if (strcmp(mode, "edge") == 0)
        p->mode = LOOM__PAD_EDGE;
    else {
        free(pads);
        return loom__node_err(g, n, LOOM_E_MODEL_UNSUPPORTED, "pad mode \"%s\" is not supported", mode);
    }
    if (npads != (size_t)(2 * x->rank)) {
        st = loom__node_err(g, n, LOOM_E_SHAPE, "has %zu pads for rank %d (expected %d)", npads,
                            x->rank, 2 * x->rank);
        free(pads);
        return st;
    }
    for (int i = 0; i < x->rank; i++) {
        int64_t b = pads[i], e = pads[i + x->rank];
        if (b < -x->dims[i] || e < -x->dims[i] || b > ((int64_t)1 << 32) || e > ((int64_t)1 << 32) ||
            x->dims[i] + b + e < 0) {
            free(pads);
            return loom__node_err(g, n, LOOM_E_SHAPE, "pads for dim %d (%lld, %lld) are out of range",
                                  i, (long long)b, (long long)e);
        }
        if (p->mode != LOOM__PAD_CONSTANT && (b < 0 || e < 0 || x->dims[i] == 0 ||
                                              (p->mode == LOOM__PAD_REFLECT &&
                                               (b >= x->dims[i] || e >= x->dims[i])))) {
            free(pads);
            return loom__node_err(g, n, LOOM_E_SHAPE, "pads for dim %d do not fit mode \"%s\"", i, mode);
        }
        p->pads[i] = b;
        p->pads[i + x->rank] = e;
        dims[i] = x->dims[i] + b + e;
    }
    free(pads);
    loom__set_output(g, n, 0, x->dtype, x->rank, dims);
    return LOOM_OK;
}

static loom_status infer_flatten(loom__graph *g, loom__node *n)
{
    const loom__value *x;
    int64_t axis, dims[2] = {1, 1};
    loom_status st;

    if ((st = loom__check_arity(g, n, 1, 1, 1)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "axis", 1, &axis)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    if (axis < -x->rank || axis > x->rank)
        return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "axis %lld out of range for rank %d",
                              (long long)axis, x->rank);
    if (axis < 0)
        axis += x->rank;
    for (int i = 0; i < x->rank; i++)
        dims[i < axis ? 0 : 1] *= x->dims[i];
    n->p.axis.axis = axis;
    loom__set_output(g, n, 0, x->dtype, 2, dims);
    return LOOM_OK;
}

/* Output shape of Reshape/Expand-like ops, checked against numel. */
static loom_status infer_reshape(loom__graph *g, loom__node *n)
{
    const loom__value *x;
    int64_t *shape = NULL, dims[LOOM_MAX_RANK], known = 1, numel, allowzero = 0;
    size_t count;
    int infer_at = -1;
    char s1[LOOM__SHAPE_STR_MAX], s2[LOOM__SHAPE_STR_MAX];
    loom_status st;

    if ((st = loom__check_arity(g, n, 2, 2, 1)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "allowzero", 0, &allowzero)) != LOOM_OK ||
        (st = loom__const_ints(g, n, 1, "shape", &shape, &count)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    if (count > LOOM_MAX_RANK) {
        free(shape);
        return loom__node_err(g, n, LOOM_E_MODEL_UNSUPPORTED, "target rank %zu exceeds %d", count,
                              LOOM_MAX_RANK);
    }
    for (size_t i = 0; i < count; i++) {
        int64_t d = shape[i];
        if (d == 0 && !allowzero) {
            if ((int)i >= x->rank) {
                free(shape);
                return loom__node_err(g, n, LOOM_E_SHAPE, "shape[%zu] = 0 copies a dim the input lacks", i);
            }
            d = x->dims[i];
        }
        if (d == -1) {
            if (infer_at >= 0) {
                free(shape);
                return loom__node_err(g, n, LOOM_E_SHAPE, "shape has more than one -1");
            }
            infer_at = (int)i;
            dims[i] = 1;
            continue;
        }
        if (d < 0 || !loom__mul_i64(known, d, &known)) {
            free(shape);
            return loom__node_err(g, n, LOOM_E_SHAPE, "shape[%zu] = %lld is invalid", i, (long long)d);
        }
        dims[i] = d;
    }
    free(shape);
    loom__numel(x->rank, x->dims, &numel);
    if (infer_at >= 0) {
        if (known == 0 || numel % known)
            return loom__node_err(g, n, LOOM_E_SHAPE, "cannot reshape %s: -1 does not divide evenly",
                                  loom__shape_str(x->rank, x->dims, s1, sizeof s1));
        dims[infer_at] = numel / known;
        known = numel;
    }
    if (known != numel)
        return loom__node_err(g, n, LOOM_E_SHAPE, "cannot reshape %s (%lld elements) to %s",
                              loom__shape_str(x->rank, x->dims, s1, sizeof s1), (long long)numel,
                              loom__shape_str((int)count, dims, s2, sizeof s2));
    loom__set_output(g, n, 0, x->dtype, (int)count, dims);
    return LOOM_OK;
}

static loom_status infer_transpose(loom__graph *g, loom__node *n)
{
    loom__transpose_params *p = &n->p.transpose;
    const loom__value *x;
    const int64_t *perm;
    size_t count;
    int64_t dims[LOOM_MAX_RANK];
    bool seen[LOOM_MAX_RANK] = {false};
    loom_status st;

    if ((st = loom__check_arity(g, n, 1, 1, 1)) != LOOM_OK ||
        (st = loom__attr_ints(g, n, "perm", &perm, &count)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    if (perm && count != (size_t)x->rank)
        return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "perm has %zu entries for rank %d", count,
                              x->rank);
    for (int i = 0; i < x->rank; i++) {
        int64_t a = perm ? perm[i] : x->rank - 1 - i;
        if (a < 0 || a >= x->rank || seen[a])
            return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "perm is not a permutation of 0..%d",
                                  x->rank - 1);
        seen[a] = true;
        p->perm[i] = a;
        dims[i] = x->dims[a];
    }
    loom__set_output(g, n, 0, x->dtype, x->rank, dims);
    return LOOM_OK;
}

static loom_status infer_concat(loom__graph *g, loom__node *n)
{
    const loom__value *x0;
    int64_t axis, dims[LOOM_MAX_RANK];
    char s1[LOOM__SHAPE_STR_MAX], s2[LOOM__SHAPE_STR_MAX];
    loom_status st;

    if ((st = loom__check_arity(g, n, 1, 1 << 20, 1)) != LOOM_OK)
        return st;
    if (!loom__attr_find(n, "axis"))
        return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "attribute \"axis\" is missing");
    x0 = loom__in(g, n, 0);
    if ((st = loom__attr_int(g, n, "axis", 0, &axis)) != LOOM_OK ||
        (st = loom__norm_axis(g, n, "axis", axis, x0->rank, &n->p.axis.axis)) != LOOM_OK)
        return st;
    memcpy(dims, x0->dims, sizeof dims);
    dims[n->p.axis.axis] = 0;
    for (int i = 0; i < n->n_inputs; i++) {
        const loom__value *x = loom__in(g, n, i);
        if (!x)
            return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "input %d is empty", i);
        if (x->dtype != x0->dtype || x->rank != x0->rank)
            return loom__node_err(g, n, LOOM_E_SHAPE, "input \"%s\" %s %s does not match %s %s",
                                  x->name, loom_dtype_name(x->dtype),
                                  loom__shape_str(x->rank, x->dims, s1, sizeof s1),
                                  loom_dtype_name(x0->dtype),
                                  loom__shape_str(x0->rank, x0->dims, s2, sizeof s2));
        for (int d = 0; d < x->rank; d++)
            if (d != n->p.axis.axis && x->dims[d] != x0->dims[d])
                return loom__node_err(g, n, LOOM_E_SHAPE, "input \"%s\" %s differs from %s off the axis",
                                      x->name, loom__shape_str(x->rank, x->dims, s1, sizeof s1),
                                      loom__shape_str(x0->rank, x0->dims, s2, sizeof s2));
        if (__builtin_add_overflow(dims[n->p.axis.axis], x->dims[n->p.axis.axis],
                                   &dims[n->p.axis.axis]))
            return loom__node_err(g, n, LOOM_E_LIMIT, "the concatenated axis overflows");
    }
    loom__set_output(g, n, 0, x0->dtype, x0->rank, dims);
    return LOOM_OK;
}

static loom_status infer_split(loom__graph *g, loom__node *n)
{
    loom__axis_params *p = &n->p.axis;
    const loom__value *x;
    int64_t axis, *sizes = NULL, total = 0, dims[LOOM_MAX_RANK];
    size_t count = 0;
    const int64_t *attr_sizes;
    loom_status st;

    if ((st = loom__check_arity(g, n, 1, 2, 64)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "axis", 0, &axis)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    if ((st = loom__norm_axis(g, n, "axis", axis, x->rank, &p->axis)) != LOOM_OK)
        return st;
    if (loom__in(g, n, 1)) {
        if ((st = loom__const_ints(g, n, 1, "split", &sizes, &count)) != LOOM_OK)
            return st;
    } else {
        if ((st = loom__attr_ints(g, n, "split", &attr_sizes, &count)) != LOOM_OK)
            return st;
        if (attr_sizes) {
            sizes = loom__malloc(count * sizeof *sizes);
            if (!sizes)
                return loom__err(LOOM_E_NOMEM, "out of memory");
            memcpy(sizes, attr_sizes, count * sizeof *sizes);
        }
    }
    if (g->opset >= 18) {
        /* opset 18: num_outputs instead of split; uneven splits leave the
         * last chunk smaller (chunks of ceil(dim / num_outputs)) */
        int64_t num = -1;
        if ((st = loom__attr_int(g, n, "num_outputs", -1, &num)) != LOOM_OK) {
            free(sizes);
            return st;
        }
        if (num != -1 && sizes) {
            free(sizes);
            return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "has both split and num_outputs");
        }
        if (!sizes && num != (int64_t)n->n_outputs)
            return loom__node_err(g, n, LOOM_E_MODEL_INVALID,
                                  "num_outputs is %lld for %d outputs (opset 18 needs one of split or num_outputs)",
                                  (long long)num, n->n_outputs);
        if (!sizes) {
            int64_t dim = x->dims[p->axis], chunk = (dim + num - 1) / num, left = dim;
            for (int i = 0; i < n->n_outputs; i++) {
                p->sizes[i] = left < chunk ? left : chunk;
                left -= p->sizes[i];
            }
            if (num > dim && dim > 0)
                return loom__node_err(g, n, LOOM_E_SHAPE, "dim %lld cannot make %lld chunks",
                                      (long long)dim, (long long)num);
            goto shapes;
        }
    }
    if (sizes) {
        if (count != (size_t)n->n_outputs) {
            free(sizes);
            return loom__node_err(g, n, LOOM_E_SHAPE, "split has %zu sizes for %d outputs", count,
                                  n->n_outputs);
        }
        for (size_t i = 0; i < count; i++) {
            /* each size at most what is left: the sum never overflows */
            if (sizes[i] < 0 || sizes[i] > x->dims[p->axis] - total) {
                free(sizes);
                return loom__node_err(g, n, LOOM_E_SHAPE, "split size %zu is invalid", i);
            }
            p->sizes[i] = sizes[i];
            total += sizes[i];
        }
        free(sizes);
        if (total != x->dims[p->axis])
            return loom__node_err(g, n, LOOM_E_SHAPE, "split sizes add up to %lld, not %lld",
                                  (long long)total, (long long)x->dims[p->axis]);
    } else {
        if (x->dims[p->axis] % n->n_outputs)
            return loom__node_err(g, n, LOOM_E_SHAPE, "dim %lld does not split evenly into %d",
                                  (long long)x->dims[p->axis], n->n_outputs);
        for (int i = 0; i < n->n_outputs; i++)
            p->sizes[i] = x->dims[p->axis] / n->n_outputs;
    }
shapes:
    memcpy(dims, x->dims, sizeof dims);
    for (int i = 0; i < n->n_outputs; i++) {
        dims[p->axis] = p->sizes[i];
        loom__set_output(g, n, i, x->dtype, x->rank, dims);
    }
    return LOOM_OK;
}

/* Clamp like numpy: start/end adjusted for negatives, clamped per step. */
static loom_status infer_slice(loom__graph *g, loom__node *n)
{
    loom__slice_params *p = &n->p.slice;
    const loom__value *x;
    int64_t *starts = NULL, *ends = NULL, *axes = NULL, *steps = NULL, dims[LOOM_MAX_RANK];
    size_t ns = 0, ne = 0, na = 0, nst = 0;
    bool seen[LOOM_MAX_RANK] = {false};
    loom_status st = LOOM_OK;

    if (g->opset < 10) {
        const int64_t *a;
        size_t c;
        if ((st = loom__check_arity(g, n, 1, 1, 1)) != LOOM_OK)
            return st;
        const char *names[3] = {"starts", "ends", "axes"};
        int64_t **dst[3] = {&starts, &ends, &axes};
        size_t *cnt[3] = {&ns, &ne, &na};
        for (int k = 0; k < 3; k++) {
            if ((st = loom__attr_ints(g, n, names[k], &a, &c)) != LOOM_OK)
                goto done;
            if (!a)
                continue;
            *dst[k] = loom__malloc(c * sizeof(int64_t));
            if (!*dst[k]) {
                st = loom__err(LOOM_E_NOMEM, "out of memory");
                goto done;
            }
            memcpy(*dst[k], a, c * sizeof(int64_t));
            *cnt[k] = c;
        }
        if (!starts || !ends) {
            st = loom__node_err(g, n, LOOM_E_MODEL_INVALID, "attributes starts and ends are required");
            goto done;
        }
    } else {
        if ((st = loom__check_arity(g, n, 3, 5, 1)) != LOOM_OK ||
            (st = loom__const_ints(g, n, 1, "starts", &starts, &ns)) != LOOM_OK ||
            (st = loom__const_ints(g, n, 2, "ends", &ends, &ne)) != LOOM_OK ||
            (loom__in(g, n, 3) && (st = loom__const_ints(g, n, 3, "axes", &axes, &na)) != LOOM_OK) ||
            (loom__in(g, n, 4) && (st = loom__const_ints(g, n, 4, "steps", &steps, &nst)) != LOOM_OK))
            goto done;
    }
    x = loom__in(g, n, 0);
    if (ne != ns || (axes && na != ns) || (steps && nst != ns) || ns > (size_t)x->rank) {
        st = loom__node_err(g, n, LOOM_E_SHAPE, "starts, ends, axes and steps disagree in length");
        goto done;
    }
    for (int d = 0; d < x->rank; d++) {
        p->start[d] = 0;
        p->step[d] = 1;
        dims[d] = x->dims[d];
    }
    for (size_t i = 0; i < ns; i++) {
        int64_t axis = axes ? axes[i] : (int64_t)i, dim, s, e, step = steps ? steps[i] : 1;
        if ((st = loom__norm_axis(g, n, "axis", axis, x->rank, &axis)) != LOOM_OK)
            goto done;
        if (seen[axis]) {
            st = loom__node_err(g, n, LOOM_E_MODEL_INVALID, "axis %lld is repeated", (long long)axis);
            goto done;
        }
        seen[axis] = true;
        if (step == 0) {
            st = loom__node_err(g, n, LOOM_E_MODEL_INVALID, "step %lld is invalid", (long long)step);
            goto done;
        }
        dim = x->dims[axis];
        /* a step beyond the dim picks one element at most: keep it small
         * so that nothing below (or a kernel's step * stride) overflows */
        if (step > dim)
            step = dim > 0 ? dim : 1;
        else if (step < -dim)
            step = dim > 0 ? -dim : -1;
        s = starts[i];
        e = ends[i];
        /* negatives count from the end; then clamp as the spec says */
        if (s < 0)
            s += dim;
        if (e < 0)
            e += dim;
        if (dim == 0) {
            /* nothing to take (step < 0 would clamp start into [0, -1]) */
            s = 0;
            dims[axis] = 0;
        } else if (step > 0) {
            s = s < 0 ? 0 : (s > dim ? dim : s);
            e = e < 0 ? 0 : (e > dim ? dim : e);
            dims[axis] = e > s ? (e - s - 1) / step + 1 : 0;
        } else {
            s = s < 0 ? 0 : (s > dim - 1 ? dim - 1 : s);
            e = e < -1 ? -1 : (e > dim - 1 ? dim - 1 : e);
            dims[axis] = s > e ? (s - e - 1) / -step + 1 : 0;
        }
        p->start[axis] = s;
        p->step[axis] = step;
    }
    loom__set_output(g, n, 0, x->dtype, x->rank, dims);
done:
    free(starts);
    free(ends);
    free(axes);
    free(steps);
    return st;
}

static loom_status infer_gather(loom__graph *g, loom__node *n)
{
    const loom__value *x, *idx;
    int64_t axis, dims[LOOM_MAX_RANK];
    int rank = 0;
    loom_status st;

    if ((st = loom__check_arity(g, n, 2, 2, 1)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 1, LOOM__DT_INDEX)) != LOOM_OK ||
        (st = loom__check_rank(g, n, 0, 1, LOOM_MAX_RANK)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "axis", 0, &axis)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    idx = loom__in(g, n, 1);
    if ((st = loom__norm_axis(g, n, "axis", axis, x->rank, &n->p.axis.axis)) != LOOM_OK)
        return st;
    if (x->rank - 1 + idx->rank > LOOM_MAX_RANK)
        return loom__node_err(g, n, LOOM_E_MODEL_UNSUPPORTED, "output rank exceeds %d", LOOM_MAX_RANK);
    for (int i = 0; i < n->p.axis.axis; i++)
        dims[rank++] = x->dims[i];
    for (int i = 0; i < idx->rank; i++)
        dims[rank++] = idx->dims[i];
    for (int i = (int)n->p.axis.axis + 1; i < x->rank; i++)
        dims[rank++] = x->dims[i];
    loom__set_output(g, n, 0, x->dtype, rank, dims);
    return LOOM_OK;
}

/* axes from the attribute (opset < 13) or the constant input 1 */
static loom_status read_axes(loom__graph *g, loom__node *n, int64_t **axes, size_t *count)
{
    const int64_t *a;
    loom_status st;
    *axes = NULL;
    *count = 0;
    if (g->opset >= 13) {
        if (!loom__in(g, n, 1))
            return LOOM_OK;
        return loom__const_ints(g, n, 1, "axes", axes, count);
    }
    if ((st = loom__attr_ints(g, n, "axes", &a, count)) != LOOM_OK || !a)
        return st;
    *axes = loom__malloc(*count * sizeof **axes);
    if (!*axes)
        return loom__err(LOOM_E_NOMEM, "out of memory");
    memcpy(*axes, a, *count * sizeof **axes);
    return LOOM_OK;
}

static loom_status infer_squeeze(loom__graph *g, loom__node *n)
{
    const loom__value *x;
    int64_t *axes = NULL, dims[LOOM_MAX_RANK];
    size_t count;
    bool drop[LOOM_MAX_RANK] = {false};
    int rank = 0;
    loom_status st;

    if ((st = loom__check_arity(g, n, 1, g->opset >= 13 ? 2 : 1, 1)) != LOOM_OK ||
        (st = read_axes(g, n, &axes, &count)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    for (size_t i = 0; i < count; i++) {
        int64_t a;
        if ((st = loom__norm_axis(g, n, "axis", axes[i], x->rank, &a)) != LOOM_OK) {
            free(axes);
            return st;
        }
        if (x->dims[a] != 1) {
            free(axes);
            return loom__node_err(g, n, LOOM_E_SHAPE, "cannot squeeze axis %lld of size %lld",
                                  (long long)a, (long long)x->dims[a]);
        }
        drop[a] = true;
    }
    for (int i = 0; i < x->rank; i++)
        if (axes ? !drop[i] : x->dims[i] != 1)
            dims[rank++] = x->dims[i];
    free(axes);
    loom__set_output(g, n, 0, x->dtype, rank, dims);
    return LOOM_OK;
}

static loom_status infer_unsqueeze(loom__graph *g, loom__node *n)
{
    const loom__value *x;
    int64_t *axes = NULL, dims[LOOM_MAX_RANK];
    size_t count;
    bool ins[LOOM_MAX_RANK] = {false};
    int rank;
    loom_status st;

    if ((st = loom__check_arity(g, n, 1, g->opset >= 13 ? 2 : 1, 1)) != LOOM_OK ||
        (st = read_axes(g, n, &axes, &count)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    if (!axes) {
        return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "axes are missing");
    }
    if (count > (size_t)(LOOM_MAX_RANK - x->rank)) { /* before any cast to int */
        free(axes);
        return loom__node_err(g, n, LOOM_E_MODEL_UNSUPPORTED, "output rank %d + %zu exceeds %d", x->rank,
                              count, LOOM_MAX_RANK);
    }
    rank = x->rank + (int)count;
    for (size_t i = 0; i < count; i++) {
        int64_t a;
        if ((st = loom__norm_axis(g, n, "axis", axes[i], rank, &a)) != LOOM_OK) {
            free(axes);
            return st;
        }
        if (ins[a]) {
            free(axes);
            return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "axis %lld is repeated", (long long)a);
        }
        ins[a] = true;
    }
    free(axes);
    for (int i = 0, k = 0; i < rank; i++)
        dims[i] = ins[i] ? 1 : x->dims[k++];
    loom__set_output(g, n, 0, x->dtype, rank, dims);
    return LOOM_OK;
}

static loom_status infer_expand(loom__graph *g, loom__node *n)
{
    const loom__value *x;
    int64_t *shape, dims[LOOM_MAX_RANK];
    size_t count;
    int rank;
    loom_status st;

    if ((st = loom__check_arity(g, n, 2, 2, 1)) != LOOM_OK ||
        (st = loom__const_ints(g, n, 1, "shape", &shape, &count)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    if (count > LOOM_MAX_RANK) {
        free(shape);
        return loom__node_err(g, n, LOOM_E_MODEL_UNSUPPORTED, "shape rank exceeds %d", LOOM_MAX_RANK);
    }
    for (size_t i = 0; i < count; i++)
        if (shape[i] < 0) {
            st = loom__node_err(g, n, LOOM_E_SHAPE, "shape[%zu] is negative (%lld)", i,
                                (long long)shape[i]);
            free(shape);
            return st;
        }
    st = loom__broadcast_shapes(g, n, x->rank, x->dims, (int)count, shape, &rank, dims);
    free(shape);
    if (st != LOOM_OK)
        return st;
    loom__set_output(g, n, 0, x->dtype, rank, dims);
    return LOOM_OK;
}

static loom_status infer_constant(loom__graph *g, loom__node *n)
{
    loom_tensor *t = NULL;
    const loom__attr *a;
    loom_status st;

    if ((st = loom__check_arity(g, n, 0, 0, 1)) != LOOM_OK)
        return st;
    if (n->n_attrs != 1)
        return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "needs exactly one value attribute, has %d",
                              n->n_attrs);
    a = &n->attrs[0];
    if (strcmp(a->name, "value") == 0 && a->type == LOOM__ATTR_TENSOR) {
        set_const_output(g, n, 0, loom__tensor_ref(a->t));
        return LOOM_OK;
    }
    if (strcmp(a->name, "value_float") == 0 && a->type == LOOM__ATTR_FLOAT) {
        if ((st = loom__tensor_new(LOOM_F32, 0, NULL, &t)) != LOOM_OK)
            return st;
        *(float *)t->data = a->f;
    } else if (strcmp(a->name, "value_int") == 0 && a->type == LOOM__ATTR_INT) {
        if ((st = loom__tensor_new(LOOM_I64, 0, NULL, &t)) != LOOM_OK)
            return st;
        *(int64_t *)t->data = a->i;
    } else if (strcmp(a->name, "value_floats") == 0 && a->type == LOOM__ATTR_FLOATS) {
        int64_t d = (int64_t)a->count;
        if ((st = loom__tensor_new(LOOM_F32, 1, &d, &t)) != LOOM_OK)
            return st;
        memcpy(t->data, a->floats, t->nbytes);
    } else if (strcmp(a->name, "value_ints") == 0 && a->type == LOOM__ATTR_INTS) {
        int64_t d = (int64_t)a->count;
        if ((st = loom__tensor_new(LOOM_I64, 1, &d, &t)) != LOOM_OK)
            return st;
        memcpy(t->data, a->ints, t->nbytes);
    } else {
        return loom__node_err(g, n, LOOM_E_MODEL_UNSUPPORTED,
                              "attribute \"%s\" of this type is not a supported constant", a->name);
    }
    set_const_output(g, n, 0, t);
    return LOOM_OK;
}

/* ConstantOfShape and Range are made while the graph is inferred (there
 * is no kernel to run them later), so a few bytes of model ask for their
 * whole output at once: within the memory budget (loom_memory_budget),
 * not just the 8 GiB a tensor may have. (check_size bounded the product.) */
static loom_status const_size_check(const loom__graph *g, const loom__node *n, loom_dtype dt, int rank,
                                    const int64_t *dims)
{
    int64_t numel = 0;
    uint64_t budget = loom_memory_budget();
    char what[64], lbl[LOOM__LABEL_MAX];
    loom__numel(rank, dims, &numel);
    if ((uint64_t)numel * loom_dtype_size(dt) <= budget)
        return LOOM_OK; /* the message is made only when it is needed */
    snprintf(what, sizeof what, "an output of %lld elements", (long long)numel);
    return loom__budget_check(loom__node_label(g, n, lbl, sizeof lbl), what, (uint64_t)numel * loom_dtype_size(dt),
                              budget);
}

static loom_status infer_constant_of_shape(loom__graph *g, loom__node *n)
{
    const loom__attr *a = loom__attr_find(n, "value");
    int64_t *shape;
    size_t count;
    loom_tensor *t;
    loom_dtype dt = LOOM_F32;
    loom_status st;

    if ((st = loom__check_arity(g, n, 1, 1, 1)) != LOOM_OK)
        return st;
    if (a && (a->type != LOOM__ATTR_TENSOR || a->t->numel != 1))
        return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "value must be a one-element tensor");
    if (a)
        dt = a->t->dtype;
    if ((st = loom__const_ints(g, n, 0, "shape", &shape, &count)) != LOOM_OK)
        return st;
    if (count > LOOM_MAX_RANK) {
        free(shape);
        return loom__node_err(g, n, LOOM_E_MODEL_UNSUPPORTED, "rank %zu exceeds %d", count, LOOM_MAX_RANK);
    }
    st = LOOM_OK;
    for (size_t i = 0; i < count && st == LOOM_OK; i++)
        if (shape[i] < 0)
            st = loom__node_err(g, n, LOOM_E_SHAPE, "shape[%zu] is negative (%lld)", i,
                                (long long)shape[i]);
    if (st == LOOM_OK)
        st = loom__check_size(g, n, "output", dt, (int)count, shape);
    if (st == LOOM_OK)
        st = const_size_check(g, n, dt, (int)count, shape);
    if (st == LOOM_OK)
        st = loom__tensor_new(dt, (int)count, shape, &t);
    free(shape);
    if (st != LOOM_OK)
        return st;
    for (int64_t i = 0; i < t->numel; i++)
        memcpy((char *)t->data + (size_t)i * loom_dtype_size(dt), a ? a->t->data : &(float){0},
               loom_dtype_size(dt));
    set_const_output(g, n, 0, t);
    return LOOM_OK;
}

static loom_status infer_shape_op(loom__graph *g, loom__node *n)
{
    const loom__value *x;
    int64_t start, end, len;
    loom_tensor *t;
    loom_status st;

    if ((st = loom__check_arity(g, n, 1, 1, 1)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "start", 0, &start)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "end", INT64_MAX, &end)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    if (start < 0)
        start = start < -x->rank ? 0 : start + x->rank;
    if (end < 0)
        end = end < -x->rank ? 0 : end + x->rank;
    start = start > x->rank ? x->rank : start;
    end = end > x->rank ? x->rank : end;
    len = end > start ? end - start : 0;
    if ((st = loom__tensor_new(LOOM_I64, 1, &len, &t)) != LOOM_OK)
        return st;
    for (int64_t i = 0; i < len; i++)
        ((int64_t *)t->data)[i] = x->dims[start + i];
    set_const_output(g, n, 0, t);
    return LOOM_OK;
}

/* Input i as a constant scalar; integers exactly (as int64), floats as
 * double. */
static loom_status scalar_of(const loom__graph *g, const loom__node *n, int i, int64_t *iv,
                             double *fv)
{
    const loom__value *v = loom__in(g, n, i);
    const loom_tensor *t = v->constant;
    if (!t)
        loom__graph_needs_value(g, n->inputs[i]);
    if (!t || t->numel != 1)
        return loom__node_err(g, n, LOOM_E_MODEL_UNSUPPORTED, "input \"%s\" must be a constant scalar",
                              v->name);
    switch (t->dtype) {
    case LOOM_F32: *fv = *(const float *)t->data; break;
    case LOOM_I32: *iv = *(const int32_t *)t->data; break;
    case LOOM_I64: *iv = *(const int64_t *)t->data; break;
    default:
        return loom__node_err(g, n, LOOM_E_DTYPE, "input \"%s\" has dtype %s", v->name,
                              loom_dtype_name(t->dtype));
    }
    return LOOM_OK;
}

static loom_status infer_range(loom__graph *g, loom__node *n)
{
    int64_t is = 0, il = 0, id = 0, len;
    double fs = 0, fl = 0, fd = 0;
    loom_dtype dt;
    loom_tensor *t;
    loom_status st;

    if ((st = loom__check_arity(g, n, 3, 3, 1)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 0, LOOM__DT_F32 | LOOM__DT_INDEX)) != LOOM_OK)
        return st;
    dt = loom__in(g, n, 0)->dtype;
    if (loom__in(g, n, 1)->dtype != dt || loom__in(g, n, 2)->dtype != dt)
        return loom__node_err(g, n, LOOM_E_DTYPE, "start, limit and delta must share one dtype");
    if ((st = scalar_of(g, n, 0, &is, &fs)) != LOOM_OK || (st = scalar_of(g, n, 1, &il, &fl)) != LOOM_OK ||
        (st = scalar_of(g, n, 2, &id, &fd)) != LOOM_OK)
        return st;
    if (dt == LOOM_F32) {
        double c;
        if (fd == 0 || !isfinite(fs) || !isfinite(fl) || !isfinite(fd))
            return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "delta is 0 or a bound is not finite");
        c = ceil((fl - fs) / fd);
        if (c > (double)((int64_t)1 << 32))
            return loom__node_err(g, n, LOOM_E_LIMIT, "range of %.0f elements is too long", c);
        len = c > 0 ? (int64_t)c : 0;
    } else {
        /* exact integer arithmetic: ceil((limit - start) / delta) */
        int64_t diff;
        if (id == 0)
            return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "delta is 0");
        if (__builtin_sub_overflow(il, is, &diff) || id == INT64_MIN)
            return loom__node_err(g, n, LOOM_E_LIMIT, "range bounds overflow int64");
        if ((diff > 0) != (id > 0) || diff == 0)
            len = 0;
        else
            len = diff / id + (diff % id != 0);
    }
    if ((st = loom__check_size(g, n, "output", dt, 1, &len)) != LOOM_OK ||
        (st = const_size_check(g, n, dt, 1, &len)) != LOOM_OK ||
        (st = loom__tensor_new(dt, 1, &len, &t)) != LOOM_OK)
        return st;
    /* every element lies between start and limit: no overflow */
    for (int64_t i = 0; i < len; i++) {
        if (dt == LOOM_F32)
            ((float *)t->data)[i] = (float)(fs + (double)i * fd);
        else if (dt == LOOM_I32)
            ((int32_t *)t->data)[i] = (int32_t)(is + i * id);
        else
            ((int64_t *)t->data)[i] = is + i * id;
    }
    set_const_output(g, n, 0, t);
    return LOOM_OK;
}

loom_status loom__infer_shape_ops(loom__graph *g, loom__node *n)
{
    switch (n->op) {
    case LOOM__OP_Pad: return infer_pad(g, n);
    case LOOM__OP_Flatten: return infer_flatten(g, n);
    case LOOM__OP_Reshape: return infer_reshape(g, n);
    case LOOM__OP_Transpose: return infer_transpose(g, n);
    case LOOM__OP_Concat: return infer_concat(g, n);
    case LOOM__OP_Split: return infer_split(g, n);
    case LOOM__OP_Slice: return infer_slice(g, n);
    case LOOM__OP_Gather: return infer_gather(g, n);
    case LOOM__OP_Squeeze: return infer_squeeze(g, n);
    case LOOM__OP_Unsqueeze: return infer_unsqueeze(g, n);
    case LOOM__OP_Expand: return infer_expand(g, n);
    case LOOM__OP_Constant: return infer_constant(g, n);
    case LOOM__OP_ConstantOfShape: return infer_constant_of_shape(g, n);
    case LOOM__OP_Shape: return infer_shape_op(g, n);
    case LOOM__OP_Range: return infer_range(g, n);
    default: break;
    }
    return loom__node_err(g, n, LOOM_E_INTERNAL, "not a shape op");
}
