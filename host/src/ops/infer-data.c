/* infer-data.c - shape inference for the indexing and rearranging ops of
 * ref-data.c: GatherElements, GatherND, ScatterElements, ScatterND, Trilu,
 * Tile, CumSum, CumProd, OneHot, DepthToSpace, SpaceToDepth, EyeLike, TopK
 * and ReverseSequence. Index values are checked when the kernels run. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

static loom_status reduction_mode(const loom__graph *g, const loom__node *n, int *mode)
{
    static const char *const names[] = {"none", "add", "mul", "max", "min"};
    const char *r;
    loom_status st = loom__attr_string(g, n, "reduction", "none", &r);
    if (st != LOOM_OK)
        return st;
    for (int k = 0; k < 5; k++)
        if (strcmp(r, names[k]) == 0) {
            *mode = k;
            return LOOM_OK;
        }
    return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "reduction \"%s\" is not valid", r);
}

static loom_status infer_gather_elements(loom__graph *g, loom__node *n, bool scatter)
{
    const loom__value *x, *idx;
    int64_t axis;
    loom_status st;
    if ((st = loom__check_arity(g, n, scatter ? 3 : 2, scatter ? 3 : 2, 1)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 1, LOOM__DT_INDEX)) != LOOM_OK ||
        (st = loom__check_rank(g, n, 0, 1, LOOM_MAX_RANK)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "axis", 0, &axis)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    idx = loom__in(g, n, 1);
    if ((st = loom__norm_axis(g, n, "axis", axis, x->rank, &n->p.misc.axis)) != LOOM_OK)
        return st;
    if (idx->rank != x->rank)
        return loom__node_err(g, n, LOOM_E_SHAPE, "indices have rank %d, data %d", idx->rank, x->rank);
    if (scatter) {
        const loom__value *u = loom__in(g, n, 2);
        if ((st = reduction_mode(g, n, &n->p.misc.mode)) != LOOM_OK)
            return st;
        if (u->dtype != x->dtype || u->rank != idx->rank ||
            memcmp(u->dims, idx->dims, (size_t)idx->rank * sizeof *idx->dims))
            return loom__node_err(g, n, LOOM_E_SHAPE, "updates must have the indices' shape and the data's dtype");
        for (int d = 0; d < x->rank; d++)
            if (d != n->p.misc.axis && idx->dims[d] > x->dims[d])
                return loom__node_err(g, n, LOOM_E_SHAPE, "indices dim %d is larger than the data's", d);
        loom__set_output(g, n, 0, x->dtype, x->rank, x->dims);
    } else {
        loom__set_output(g, n, 0, x->dtype, idx->rank, idx->dims);
    }
    return LOOM_OK;
}

static loom_status infer_gather_nd(loom__graph *g, loom__node *n, bool scatter)
{
    const loom__value *x, *idx;
    int64_t b = 0, k, dims[LOOM_MAX_RANK];
    int rank = 0;
    loom_status st;
    if ((st = loom__check_arity(g, n, scatter ? 3 : 2, scatter ? 3 : 2, 1)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 1, LOOM__DT(LOOM_I64))) != LOOM_OK ||
        (st = loom__check_rank(g, n, 1, 1, LOOM_MAX_RANK)) != LOOM_OK)
        return st;
    if (!scatter && (st = loom__attr_int(g, n, "batch_dims", 0, &b)) != LOOM_OK)
        return st;
    if (scatter && (st = reduction_mode(g, n, &n->p.misc.mode)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    idx = loom__in(g, n, 1);
    k = idx->dims[idx->rank - 1];
    if (b < 0 || b >= idx->rank || b > x->rank || k < 1 || k > x->rank - b)
        return loom__node_err(g, n, LOOM_E_SHAPE, "indices' last dim %lld does not fit data of rank %d",
                              (long long)k, x->rank);
    for (int d = 0; d < b; d++)
        if (idx->dims[d] != x->dims[d])
            return loom__node_err(g, n, LOOM_E_SHAPE, "batch dim %d differs", d);
    for (int d = 0; d < idx->rank - 1; d++)
        dims[rank++] = idx->dims[d];
    for (int d = (int)(b + k); d < x->rank; d++)
        dims[rank++] = x->dims[d];
    if (rank > LOOM_MAX_RANK)
        return loom__node_err(g, n, LOOM_E_MODEL_UNSUPPORTED, "output rank %d exceeds %d", rank, LOOM_MAX_RANK);
    n->p.misc.i[0] = b;
    if (scatter) {
        const loom__value *u = loom__in(g, n, 2);
        if (u->dtype != x->dtype || u->rank != rank || memcmp(u->dims, dims, (size_t)rank * sizeof *dims))
            return loom__node_err(g, n, LOOM_E_SHAPE, "updates have the wrong shape or dtype");
        loom__set_output(g, n, 0, x->dtype, x->rank, x->dims);
    } else {
        loom__set_output(g, n, 0, x->dtype, rank, dims);
    }
    return LOOM_OK;
}

static loom_status infer_trilu(loom__graph *g, loom__node *n)
{
    const loom__value *x;
    int64_t upper;
    double k = 0;
    loom_status st;
    if ((st = loom__check_arity(g, n, 1, 2, 1)) != LOOM_OK ||
        (st = loom__check_rank(g, n, 0, 2, LOOM_MAX_RANK)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "upper", 1, &upper)) != LOOM_OK)
        return st;
    if (loom__in(g, n, 1) && (st = loom__const_scalar(g, n, 1, "k", &k)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    n->p.misc.i[0] = (int64_t)k;
    n->p.misc.mode = upper != 0;
    loom__set_output(g, n, 0, x->dtype, x->rank, x->dims);
    return LOOM_OK;
}

static loom_status infer_tile(loom__graph *g, loom__node *n)
{
    const loom__value *x;
    int64_t *rep, dims[LOOM_MAX_RANK];
    size_t count;
    loom_status st;
    if ((st = loom__check_arity(g, n, 2, 2, 1)) != LOOM_OK ||
        (st = loom__const_ints(g, n, 1, "repeats", &rep, &count)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    st = count == (size_t)x->rank ? LOOM_OK
                                  : loom__node_err(g, n, LOOM_E_SHAPE, "%zu repeats for rank %d", count, x->rank);
    for (int d = 0; st == LOOM_OK && d < x->rank; d++) {
        if (rep[d] < 0 || !loom__mul_i64(x->dims[d], rep[d], &dims[d]))
            st = loom__node_err(g, n, LOOM_E_SHAPE, "repeats[%d] = %lld is invalid", d, (long long)rep[d]);
    }
    free(rep);
    if (st == LOOM_OK)
        st = loom__check_size(g, n, "output", x->dtype, x->rank, dims);
    if (st == LOOM_OK)
        loom__set_output(g, n, 0, x->dtype, x->rank, dims);
    return st;
}

static loom_status infer_cumulative(loom__graph *g, loom__node *n)
{
    const loom__value *x;
    int64_t excl, rev;
    double axis;
    loom_status st;
    if ((st = loom__check_arity(g, n, 2, 2, 1)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 0, LOOM__DT_NUM)) != LOOM_OK ||
        (st = loom__check_rank(g, n, 0, 1, LOOM_MAX_RANK)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "exclusive", 0, &excl)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "reverse", 0, &rev)) != LOOM_OK ||
        (st = loom__const_scalar(g, n, 1, "axis", &axis)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    if ((st = loom__norm_axis(g, n, "axis", (int64_t)axis, x->rank, &n->p.misc.axis)) != LOOM_OK)
        return st;
    n->p.misc.i[0] = excl != 0;
    n->p.misc.i[1] = rev != 0;
    loom__set_output(g, n, 0, x->dtype, x->rank, x->dims);
    return LOOM_OK;
}

static loom_status infer_onehot(loom__graph *g, loom__node *n)
{
    const loom__value *x, *vals;
    int64_t axis, dims[LOOM_MAX_RANK];
    double depth;
    loom_status st;
    if ((st = loom__check_arity(g, n, 3, 3, 1)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 0, LOOM__DT_NUM)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "axis", -1, &axis)) != LOOM_OK ||
        (st = loom__const_scalar(g, n, 1, "depth", &depth)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    vals = loom__in(g, n, 2);
    if (x->rank >= LOOM_MAX_RANK)
        return loom__node_err(g, n, LOOM_E_MODEL_UNSUPPORTED, "output rank above %d", LOOM_MAX_RANK);
    if (vals->rank != 1 || vals->dims[0] != 2)
        return loom__node_err(g, n, LOOM_E_SHAPE, "values must be [off, on]");
    if (!(depth >= 1) || depth > (double)((int64_t)1 << 31))
        return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "depth %g is invalid", depth);
    if ((st = loom__norm_axis(g, n, "axis", axis, x->rank + 1, &n->p.misc.axis)) != LOOM_OK)
        return st;
    n->p.misc.i[0] = (int64_t)depth;
    for (int d = 0, k = 0; d <= x->rank; d++)
        dims[d] = d == n->p.misc.axis ? n->p.misc.i[0] : x->dims[k++];
    if ((st = loom__check_size(g, n, "output", vals->dtype, x->rank + 1, dims)) != LOOM_OK)
        return st;
    loom__set_output(g, n, 0, vals->dtype, x->rank + 1, dims);
    return LOOM_OK;
}

static loom_status infer_depth_space(loom__graph *g, loom__node *n)
{
    const loom__value *x;
    int64_t bs, dims[4];
    const char *mode = "DCR";
    bool to_space = n->op == LOOM__OP_DepthToSpace;
    loom_status st;
    if ((st = loom__check_arity(g, n, 1, 1, 1)) != LOOM_OK ||
        (st = loom__check_rank(g, n, 0, 4, 4)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "blocksize", 0, &bs)) != LOOM_OK ||
        (st = loom__attr_string(g, n, "mode", "DCR", &mode)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    if (bs < 1 || bs > 4096)
        return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "blocksize %lld is invalid", (long long)bs);
    if (strcmp(mode, "DCR") != 0 && strcmp(mode, "CRD") != 0)
        return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "mode \"%s\" is not valid", mode);
    n->p.misc.i[0] = bs;
    n->p.misc.mode = mode[0] == 'C';
    memcpy(dims, x->dims, sizeof dims);
    if (to_space) {
        if (x->dims[1] % (bs * bs))
            return loom__node_err(g, n, LOOM_E_SHAPE, "channels %lld are not a multiple of blocksize^2",
                                  (long long)x->dims[1]);
        dims[1] /= bs * bs;
        dims[2] *= bs;
        dims[3] *= bs;
    } else {
        if (x->dims[2] % bs || x->dims[3] % bs)
            return loom__node_err(g, n, LOOM_E_SHAPE, "height and width must be multiples of the blocksize");
        dims[1] *= bs * bs;
        dims[2] /= bs;
        dims[3] /= bs;
    }
    loom__set_output(g, n, 0, x->dtype, 4, dims);
    return LOOM_OK;
}

static loom_status infer_eyelike(loom__graph *g, loom__node *n)
{
    const loom__value *x;
    int64_t dt, k;
    loom_status st;
    if ((st = loom__check_arity(g, n, 1, 1, 1)) != LOOM_OK ||
        (st = loom__check_rank(g, n, 0, 2, 2)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "k", 0, &k)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    if ((st = loom__attr_int(g, n, "dtype", x->dtype, &dt)) != LOOM_OK)
        return st;
    if (dt < 1 || dt > 64 || !loom__dtype_valid((loom_dtype)dt))
        return loom__node_err(g, n, LOOM_E_DTYPE, "dtype %lld is not supported", (long long)dt);
    n->p.misc.i[0] = k;
    loom__set_output(g, n, 0, (loom_dtype)dt, 2, x->dims);
    return LOOM_OK;
}

static loom_status infer_topk(loom__graph *g, loom__node *n)
{
    const loom__value *x;
    int64_t axis, largest, sorted, k, dims[LOOM_MAX_RANK];
    loom_status st;
    if ((st = loom__check_arity(g, n, g->opset >= 10 ? 2 : 1, g->opset >= 10 ? 2 : 1, 2)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 0, LOOM__DT_NUM)) != LOOM_OK ||
        (st = loom__check_rank(g, n, 0, 1, LOOM_MAX_RANK)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "axis", -1, &axis)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "largest", 1, &largest)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "sorted", 1, &sorted)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    if (g->opset >= 10) {
        double kv;
        if ((st = loom__const_scalar(g, n, 1, "K", &kv)) != LOOM_OK)
            return st;
        k = (int64_t)kv;
    } else if ((st = loom__attr_int(g, n, "k", -1, &k)) != LOOM_OK) {
        return st;
    }
    if ((st = loom__norm_axis(g, n, "axis", axis, x->rank, &n->p.misc.axis)) != LOOM_OK)
        return st;
    if (k < 0 || k > x->dims[n->p.misc.axis])
        return loom__node_err(g, n, LOOM_E_SHAPE, "K = %lld for an axis of %lld", (long long)k,
                              (long long)x->dims[n->p.misc.axis]);
    n->p.misc.i[0] = k;
    n->p.misc.mode = largest != 0;
    memcpy(dims, x->dims, sizeof dims);
    dims[n->p.misc.axis] = k;
    loom__set_output(g, n, 0, x->dtype, x->rank, dims);
    loom__set_output(g, n, 1, LOOM_I64, x->rank, dims);
    return LOOM_OK;
}

static loom_status infer_reverse_sequence(loom__graph *g, loom__node *n)
{
    const loom__value *x, *lens;
    int64_t ba, ta;
    loom_status st;
    if ((st = loom__check_arity(g, n, 2, 2, 1)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 1, LOOM__DT(LOOM_I64))) != LOOM_OK ||
        (st = loom__check_rank(g, n, 0, 2, LOOM_MAX_RANK)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "batch_axis", 1, &ba)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "time_axis", 0, &ta)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    lens = loom__in(g, n, 1);
    if ((ba != 0 && ba != 1) || (ta != 0 && ta != 1) || ba == ta)
        return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "batch_axis and time_axis must be 0 and 1");
    if (lens->rank != 1 || lens->dims[0] != x->dims[ba])
        return loom__node_err(g, n, LOOM_E_SHAPE, "sequence_lens must have one value per batch");
    n->p.misc.i[0] = ba;
    n->p.misc.i[1] = ta;
    loom__set_output(g, n, 0, x->dtype, x->rank, x->dims);
    return LOOM_OK;
}

loom_status loom__infer_data(loom__graph *g, loom__node *n)
{
    memset(&n->p.misc, 0, sizeof n->p.misc);
    switch (n->op) {
    case LOOM__OP_GatherElements: return infer_gather_elements(g, n, false);
    case LOOM__OP_ScatterElements: return infer_gather_elements(g, n, true);
    case LOOM__OP_GatherND: return infer_gather_nd(g, n, false);
    case LOOM__OP_ScatterND: return infer_gather_nd(g, n, true);
    case LOOM__OP_Trilu: return infer_trilu(g, n);
    case LOOM__OP_Tile: return infer_tile(g, n);
    case LOOM__OP_CumSum: case LOOM__OP_CumProd: return infer_cumulative(g, n);
    case LOOM__OP_OneHot: return infer_onehot(g, n);
    case LOOM__OP_DepthToSpace: case LOOM__OP_SpaceToDepth: return infer_depth_space(g, n);
    case LOOM__OP_EyeLike: return infer_eyelike(g, n);
    case LOOM__OP_TopK: return infer_topk(g, n);
    case LOOM__OP_ReverseSequence: return infer_reverse_sequence(g, n);
    default: return loom__node_err(g, n, LOOM_E_INTERNAL, "not a data op");
    }
}

/* ---- BitCast, CenterCropPad, Einsum (called from ops.c) ---- */

loom_status loom__infer_bitcast(loom__graph *g, loom__node *n)
{
    const loom__value *x;
    int64_t to;
    loom_status st;
    if ((st = loom__check_arity(g, n, 1, 1, 1)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 0, LOOM__DT_ANY)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "to", 0, &to)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    /* never to bool: a byte other than 0 or 1 is no bool */
    if (to < 1 || to > 64 || !loom__dtype_valid((loom_dtype)to) || to == LOOM_BOOL)
        return loom__node_err(g, n, LOOM_E_DTYPE, "bit cast to ONNX type %lld is not supported", (long long)to);
    if (loom_dtype_size((loom_dtype)to) != loom_dtype_size(x->dtype))
        return loom__node_err(g, n, LOOM_E_DTYPE, "%s and %s differ in width", loom_dtype_name(x->dtype),
                              loom_dtype_name((loom_dtype)to));
    loom__set_output(g, n, 0, (loom_dtype)to, x->rank, x->dims);
    return LOOM_OK;
}

/* CenterCropPad: p.misc.i[0] is a mask of the changed axes; the output's
 * dims are the shapes asked for. */
loom_status loom__infer_center_crop_pad(loom__graph *g, loom__node *n)
{
    const loom__value *x;
    int64_t *shape, axes[LOOM_MAX_RANK], dims[LOOM_MAX_RANK];
    const int64_t *ax;
    size_t count, naxes;
    loom_status st;
    memset(&n->p.misc, 0, sizeof n->p.misc);
    if ((st = loom__check_arity(g, n, 2, 2, 1)) != LOOM_OK ||
        (st = loom__attr_ints(g, n, "axes", &ax, &naxes)) != LOOM_OK ||
        (st = loom__const_ints(g, n, 1, "shape", &shape, &count)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    st = LOOM_OK;
    if (!ax) {
        naxes = (size_t)x->rank;
        for (int d = 0; d < x->rank; d++)
            axes[d] = d;
    } else if (naxes > (size_t)x->rank) {
        st = loom__node_err(g, n, LOOM_E_MODEL_INVALID, "%zu axes for rank %d", naxes, x->rank);
    } else {
        for (size_t k = 0; k < naxes && st == LOOM_OK; k++)
            st = loom__norm_axis(g, n, "axis", ax[k], x->rank, &axes[k]);
    }
    if (st == LOOM_OK && count != naxes)
        st = loom__node_err(g, n, LOOM_E_SHAPE, "shape has %zu values for %zu axes", count, naxes);
    memcpy(dims, x->dims, sizeof dims);
    for (size_t k = 0; st == LOOM_OK && k < naxes; k++) {
        if (shape[k] < 0 || shape[k] > ((int64_t)1 << 40))
            st = loom__node_err(g, n, LOOM_E_SHAPE, "shape[%zu] = %lld is invalid", k, (long long)shape[k]);
        dims[axes[k]] = shape[k];
    }
    free(shape);
    if (st == LOOM_OK)
        st = loom__check_size(g, n, "output", x->dtype, x->rank, dims);
    if (st == LOOM_OK)
        loom__set_output(g, n, 0, x->dtype, x->rank, dims);
    return st;
}
