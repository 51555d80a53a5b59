/* ref-data.c - indexing and rearranging (see ops/infer-data.c). Element
 * moves copy bytes, so every dtype works; the ops that compute (Scatter*
 * reductions, CumSum, TopK's order) go through ref.c's get/set. Indices
 * are checked here, when their values are known: a negative one counts
 * from the end, one out of range is an error naming it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/ref/ref-impl.h"

static int64_t index_at(const loom_tensor *t, int64_t i)
{
    return t->dtype == LOOM_I32 ? ((const int32_t *)t->data)[i] : ((const int64_t *)t->data)[i];
}

static loom_status wrap_index(const loom__node *n, int64_t *v, int64_t dim)
{
    if (*v < -dim || *v >= dim)
        return loom__err(LOOM_E_DATA_INVALID, "%s: index %lld is out of range for a dim of %lld",
                         loom__op_name(n->op), (long long)*v, (long long)dim);
    if (*v < 0)
        *v += dim;
    return LOOM_OK;
}

/* C-order multi-index of flat position i in dims. */
static void unravel(int64_t i, int rank, const int64_t *dims, int64_t *idx)
{
    for (int d = rank - 1; d >= 0; d--) {
        idx[d] = dims[d] ? i % dims[d] : 0;
        i = dims[d] ? i / dims[d] : 0;
    }
}

static int64_t ravel(int rank, const int64_t *dims, const int64_t *idx)
{
    int64_t off = 0;
    for (int d = 0; d < rank; d++)
        off = off * dims[d] + idx[d];
    return off;
}

/* y[pos] = reduce(y[pos], u) for Scatter*'s reduction modes. */
static void combine(loom_tensor *y, int64_t pos, const loom_tensor *u, int64_t k, int mode)
{
    size_t es = loom_dtype_size(y->dtype);
    if (mode == 0) {
        memcpy((char *)y->data + pos * (int64_t)es, (const char *)u->data + k * (int64_t)es, es);
        return;
    }
    if (loom__dtype_is_float(y->dtype)) {
        double a = loom__ref_get_f(y, pos), b = loom__ref_get_f(u, k);
        double r = mode == 1 ? a + b : mode == 2 ? a * b : mode == 3 ? fmax(a, b) : fmin(a, b);
        loom__ref_set_f(y, pos, r);
    } else {
        int64_t a = loom__ref_get_i(y, pos), b = loom__ref_get_i(u, k), r;
        r = mode == 1 ? (int64_t)((uint64_t)a + (uint64_t)b) : mode == 2 ? (int64_t)((uint64_t)a * (uint64_t)b)
            : mode == 3 ? (a > b ? a : b) : (a < b ? a : b);
        loom__ref_set_i(y, pos, r);
    }
}

static loom_status gather_scatter_elements(const loom__node *n, const loom_tensor *const *in,
                                           loom_tensor *const *out)
{
    const loom_tensor *x = in[0], *ind = in[1];
    loom_tensor *y = out[0];
    bool scatter = n->op == LOOM__OP_ScatterElements;
    int axis = (int)n->p.misc.axis;
    size_t es = loom_dtype_size(x->dtype);
    int64_t idx[LOOM_MAX_RANK];
    loom_status st;

    if (scatter)
        memcpy(y->data, x->data, x->nbytes);
    for (int64_t i = 0; i < ind->numel; i++) {
        int64_t v = index_at(ind, i);
        unravel(i, ind->rank, ind->dims, idx);
        if ((st = wrap_index(n, &v, x->dims[axis])) != LOOM_OK)
            return st;
        idx[axis] = v;
        if (scatter)
            combine(y, ravel(x->rank, x->dims, idx), in[2], i, n->p.misc.mode);
        else
            memcpy((char *)y->data + i * (int64_t)es, (const char *)x->data + ravel(x->rank, x->dims, idx) * (int64_t)es,
                   es);
    }
    return LOOM_OK;
}

/* GatherND / ScatterND: indices [..., k] address slices of data (after
 * batch_dims leading dims that index and data share). */
static loom_status gather_scatter_nd(const loom__node *n, const loom_tensor *const *in,
                                     loom_tensor *const *out)
{
    const loom_tensor *x = in[0], *ind = in[1];
    loom_tensor *y = out[0];
    bool scatter = n->op == LOOM__OP_ScatterND;
    int b = (int)n->p.misc.i[0];
    int64_t k = ind->dims[ind->rank - 1];
    int64_t slice = loom__span(x->dims, b + (int)k, x->rank);
    int64_t tuples = loom__span(ind->dims, 0, ind->rank - 1);
    int64_t per_batch = loom__span(ind->dims, b, ind->rank - 1);
    int64_t batch_size = loom__span(x->dims, b, x->rank);
    size_t es = loom_dtype_size(x->dtype);
    loom_status st;

    if (scatter)
        memcpy(y->data, x->data, x->nbytes);
    for (int64_t t = 0; t < tuples; t++) {
        int64_t bt = per_batch ? t / per_batch : 0, off = 0;
        for (int64_t j = 0; j < k; j++) {
            int64_t v = index_at(ind, t * k + j), dim = x->dims[b + j];
            if ((st = wrap_index(n, &v, dim)) != LOOM_OK)
                return st;
            off = off * dim + v;
        }
        off = bt * batch_size + off * slice;
        for (int64_t e = 0; e < slice; e++) {
            if (scatter)
                combine(y, off + e, in[2], t * slice + e, n->p.misc.mode);
            else
                memcpy((char *)y->data + (t * slice + e) * (int64_t)es,
                       (const char *)x->data + (off + e) * (int64_t)es, es);
        }
    }
    return LOOM_OK;
}

static loom_status trilu(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out)
{
    const loom_tensor *x = in[0];
    int64_t rows = x->dims[x->rank - 2], cols = x->dims[x->rank - 1], k = n->p.misc.i[0];
    size_t es = loom_dtype_size(x->dtype);
    memcpy(out[0]->data, x->data, x->nbytes);
    for (int64_t i = 0; i < x->numel; i++) {
        int64_t c = i % cols, r = (i / cols) % rows;
        bool keep = n->p.misc.mode ? c - r >= k : c - r <= k;
        if (!keep)
            memset((char *)out[0]->data + i * (int64_t)es, 0, es);
    }
    return LOOM_OK;
}

static loom_status tile(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out)
{
    const loom_tensor *x = in[0];
    loom_tensor *y = out[0];
    size_t es = loom_dtype_size(x->dtype);
    int64_t idx[LOOM_MAX_RANK];
    (void)n;
    for (int64_t o = 0; o < y->numel; o++) {
        unravel(o, y->rank, y->dims, idx);
        for (int d = 0; d < y->rank; d++)
            idx[d] %= x->dims[d];
        memcpy((char *)y->data + o * (int64_t)es, (const char *)x->data + ravel(x->rank, x->dims, idx) * (int64_t)es, es);
    }
    return LOOM_OK;
}

static loom_status cumulative(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out)
{
    const loom_tensor *x = in[0];
    int axis = (int)n->p.misc.axis;
    int64_t len = x->dims[axis], inner = loom__span(x->dims, axis + 1, x->rank);
    int64_t outer = loom__span(x->dims, 0, axis);
    bool excl = n->p.misc.i[0], rev = n->p.misc.i[1], prod = n->op == LOOM__OP_CumProd;
    bool is_float = loom__dtype_is_float(x->dtype);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t k = 0; k < inner; k++) {
            double fa = prod ? 1.0 : 0.0;
            int64_t ia = prod ? 1 : 0;
            for (int64_t s = 0; s < len; s++) {
                int64_t j = rev ? len - 1 - s : s, pos = (o * len + j) * inner + k;
                if (excl) {
                    if (is_float)
                        loom__ref_set_f(out[0], pos, fa);
                    else
                        loom__ref_set_i(out[0], pos, ia);
                }
                if (is_float) {
                    double v = loom__ref_get_f(x, pos);
                    fa = prod ? fa * v : fa + v;
                } else {
                    uint64_t v = (uint64_t)loom__ref_get_i(x, pos);
                    ia = (int64_t)(prod ? (uint64_t)ia * v : (uint64_t)ia + v);
                }
                if (!excl) {
                    if (is_float)
                        loom__ref_set_f(out[0], pos, fa);
                    else
                        loom__ref_set_i(out[0], pos, ia);
                }
            }
        }
    return LOOM_OK;
}

static loom_status onehot(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out)
{
    const loom_tensor *x = in[0], *vals = in[2];
    loom_tensor *y = out[0];
    int axis = (int)n->p.misc.axis;
    int64_t depth = n->p.misc.i[0], inner = loom__span(x->dims, axis, x->rank);
    size_t es = loom_dtype_size(y->dtype);
    for (int64_t o = 0; o < y->numel; o++) {
        /* y index (outer, d, inner) <- x index (outer, inner) */
        int64_t in_i = o % inner, d = (o / inner) % depth, outer = o / inner / depth;
        double v = loom__ref_get_f(x, outer * inner + in_i);
        int64_t c = (int64_t)v;
        if (c < 0)
            c += depth;
        memcpy((char *)y->data + o * (int64_t)es, (const char *)vals->data + (c == d ? es : 0), es);
    }
    return LOOM_OK;
}

static loom_status depth_space(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out)
{
    const loom_tensor *x = in[0];
    loom_tensor *y = out[0];
    int64_t bs = n->p.misc.i[0];
    size_t es = loom_dtype_size(x->dtype);
    bool to_space = n->op == LOOM__OP_DepthToSpace, crd = n->p.misc.mode;
    for (int64_t o = 0; o < y->numel; o++) {
        int64_t yi[4], xi[4];
        unravel(o, 4, y->dims, yi);
        if (to_space) {
            int64_t c = yi[1], bh = yi[2] % bs, bw = yi[3] % bs, C = y->dims[1];
            xi[0] = yi[0];
            xi[1] = crd ? c * bs * bs + bh * bs + bw : (bh * bs + bw) * C + c;
            xi[2] = yi[2] / bs;
            xi[3] = yi[3] / bs;
        } else {
            /* DCR: channel = block * C + c; CRD: c * bs^2 + block */
            int64_t C = x->dims[1], c = crd ? yi[1] / (bs * bs) : yi[1] % C;
            int64_t blk = crd ? yi[1] % (bs * bs) : yi[1] / C;
            xi[0] = yi[0];
            xi[1] = c;
            xi[2] = yi[2] * bs + blk / bs;
            xi[3] = yi[3] * bs + blk % bs;
        }
        memcpy((char *)y->data + o * (int64_t)es, (const char *)x->data + ravel(4, x->dims, xi) * (int64_t)es, es);
    }
    return LOOM_OK;
}

static loom_status eyelike(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out)
{
    loom_tensor *y = out[0];
    int64_t cols = y->dims[1];
    (void)in;
    for (int64_t i = 0; i < y->numel; i++)
        loom__ref_set_i(y, i, i % cols - i / cols == n->p.misc.i[0]);
    return LOOM_OK;
}

typedef struct {
    double v;
    int64_t i;
} keyed;

static int by_largest(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    /* NaN first among the largest, as numpy orders it last */
    if (x->v != y->v) {
        if (x->v != x->v)
            return -1;
        if (y->v != y->v)
            return 1;
        return x->v > y->v ? -1 : 1;
    }
    return (x->i > y->i) - (x->i < y->i); /* ties: the lower index first */
}

static int by_smallest(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->v != y->v) {
        if (x->v != x->v)
            return 1;
        if (y->v != y->v)
            return -1;
        return x->v < y->v ? -1 : 1;
    }
    return (x->i > y->i) - (x->i < y->i);
}

static loom_status topk(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out)
{
    const loom_tensor *x = in[0];
    int axis = (int)n->p.misc.axis;
    int64_t len = x->dims[axis], inner = loom__span(x->dims, axis + 1, x->rank);
    int64_t outer = loom__span(x->dims, 0, axis), k = n->p.misc.i[0];
    size_t es = loom_dtype_size(x->dtype);
    keyed *buf = malloc((size_t)(len ? len : 1) * sizeof *buf);
    if (!buf)
        return loom__err(LOOM_E_NOMEM, "TopK: out of memory");
    for (int64_t o = 0; o < outer; o++)
        for (int64_t q = 0; q < inner; q++) {
            for (int64_t j = 0; j < len; j++) {
                buf[j].v = loom__ref_get_f(x, (o * len + j) * inner + q);
                buf[j].i = j;
            }
            qsort(buf, (size_t)len, sizeof *buf, n->p.misc.mode ? by_largest : by_smallest);
            for (int64_t j = 0; j < k; j++) {
                int64_t dst = (o * k + j) * inner + q;
                memcpy((char *)out[0]->data + dst * (int64_t)es,
                       (const char *)x->data + ((o * len + buf[j].i) * inner + q) * (int64_t)es, es);
                if (n->n_outputs > 1 && out[1])
                    ((int64_t *)out[1]->data)[dst] = buf[j].i;
            }
        }
    free(buf);
    return LOOM_OK;
}

static loom_status reverse_sequence(const loom__node *n, const loom_tensor *const *in,
                                    loom_tensor *const *out)
{
    const loom_tensor *x = in[0], *lens = in[1];
    int ba = (int)n->p.misc.i[0], ta = (int)n->p.misc.i[1];
    size_t es = loom_dtype_size(x->dtype);
    int64_t idx[LOOM_MAX_RANK];
    for (int64_t i = 0; i < lens->numel; i++) {
        int64_t l = ((const int64_t *)lens->data)[i];
        if (l < 0 || l > x->dims[ta])
            return loom__err(LOOM_E_DATA_INVALID, "ReverseSequence: sequence_lens[%lld] = %lld is out of range",
                             (long long)i, (long long)l);
    }
    for (int64_t o = 0; o < x->numel; o++) {
        int64_t l;
        unravel(o, x->rank, x->dims, idx);
        l = ((const int64_t *)lens->data)[idx[ba]];
        if (idx[ta] < l)
            idx[ta] = l - 1 - idx[ta];
        memcpy((char *)out[0]->data + o * (int64_t)es, (const char *)x->data + ravel(x->rank, x->dims, idx) * (int64_t)es,
               es);
    }
    return LOOM_OK;
}

/* CenterCropPad: each dim centred, cropped or padded with zeros (an odd
 * difference leaves the extra element at the end). */
static loom_status center_crop_pad(const loom_tensor *const *in, loom_tensor *const *out)
{
    const loom_tensor *x = in[0];
    loom_tensor *y = out[0];
    size_t es = loom_dtype_size(x->dtype);
    int64_t idx[LOOM_MAX_RANK], shift[LOOM_MAX_RANK];
    for (int d = 0; d < x->rank; d++) /* x index = y index + shift */
        shift[d] = y->dims[d] <= x->dims[d] ? (x->dims[d] - y->dims[d]) / 2 : -((y->dims[d] - x->dims[d]) / 2);
    memset(y->data, 0, y->nbytes);
    for (int64_t o = 0; o < y->numel; o++) {
        bool inside = true;
        unravel(o, y->rank, y->dims, idx);
        for (int d = 0; d < y->rank; d++) {
            idx[d] += shift[d];
            inside &= idx[d] >= 0 && idx[d] < x->dims[d];
        }
        if (inside)
            memcpy((char *)y->data + o * (int64_t)es, (const char *)x->data + ravel(x->rank, x->dims, idx) * (int64_t)es,
                   es);
    }
    return LOOM_OK;
}

loom_status loom__ref_data(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out)
{
    switch (n->op) {
    case LOOM__OP_GatherElements: case LOOM__OP_ScatterElements: return gather_scatter_elements(n, in, out);
    case LOOM__OP_GatherND: case LOOM__OP_ScatterND: return gather_scatter_nd(n, in, out);
    case LOOM__OP_Trilu: return trilu(n, in, out);
    case LOOM__OP_Tile: return tile(n, in, out);
    case LOOM__OP_CumSum: case LOOM__OP_CumProd: return cumulative(n, in, out);
    case LOOM__OP_OneHot: return onehot(n, in, out);
    case LOOM__OP_DepthToSpace: case LOOM__OP_SpaceToDepth: return depth_space(n, in, out);
    case LOOM__OP_EyeLike: return eyelike(n, in, out);
    case LOOM__OP_TopK: return topk(n, in, out);
    case LOOM__OP_ReverseSequence: return reverse_sequence(n, in, out);
    case LOOM__OP_CenterCropPad: return center_crop_pad(in, out);
    case LOOM__OP_BitCast: memcpy(out[0]->data, in[0]->data, in[0]->nbytes); return LOOM_OK;
    default: return loom__err(LOOM_E_INTERNAL, "%s is not a data op", loom__op_name(n->op));
    }
}
