/* infer-nn.c - Gemm, MatMul, Softmax, normalisations, ReduceMean,
 * convolution and pooling. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

static loom_status infer_gemm(loom__graph *g, loom__node *n)
{
    loom__gemm_params *p = &n->p.gemm;
    const loom__value *a, *b, *c;
    int64_t ta, tb, M, K, Kb, N, dims[2];
    char s1[LOOM__SHAPE_STR_MAX], s2[LOOM__SHAPE_STR_MAX];
    loom_status st;

    if ((st = loom__check_arity(g, n, 2, 3, 1)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 0, LOOM__DT_FLOAT)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 1, LOOM__DT_FLOAT)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 2, LOOM__DT_FLOAT)) != LOOM_OK ||
        (st = loom__check_rank(g, n, 0, 2, 2)) != LOOM_OK ||
        (st = loom__check_rank(g, n, 1, 2, 2)) != LOOM_OK ||
        (st = loom__attr_float(g, n, "alpha", 1.0f, &p->alpha)) != LOOM_OK ||
        (st = loom__attr_float(g, n, "beta", 1.0f, &p->beta)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "transA", 0, &ta)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "transB", 0, &tb)) != LOOM_OK)
        return st;
    p->trans_a = ta != 0;
    p->trans_b = tb != 0;
    a = loom__in(g, n, 0);
    b = loom__in(g, n, 1);
    c = loom__in(g, n, 2);
    M = p->trans_a ? a->dims[1] : a->dims[0];
    K = p->trans_a ? a->dims[0] : a->dims[1];
    Kb = p->trans_b ? b->dims[1] : b->dims[0];
    N = p->trans_b ? b->dims[0] : b->dims[1];
    if (K != Kb)
        return loom__node_err(g, n, LOOM_E_SHAPE,
                              "A %s%s and B %s%s do not multiply (K %lld vs %lld)",
                              loom__shape_str(a->rank, a->dims, s1, sizeof s1),
                              p->trans_a ? " (transposed)" : "",
                              loom__shape_str(b->rank, b->dims, s2, sizeof s2),
                              p->trans_b ? " (transposed)" : "", (long long)K, (long long)Kb);
    dims[0] = M;
    dims[1] = N;
    if (c) {
        /* C broadcasts unidirectionally to [M, N] */
        if (c->rank > 2 || (c->rank >= 1 && c->dims[c->rank - 1] != N && c->dims[c->rank - 1] != 1) ||
            (c->rank == 2 && c->dims[0] != M && c->dims[0] != 1))
            return loom__node_err(g, n, LOOM_E_SHAPE, "C %s does not broadcast to [%lld,%lld]",
                                  loom__shape_str(c->rank, c->dims, s1, sizeof s1), (long long)M,
                                  (long long)N);
    }
    loom__set_output(g, n, 0, a->dtype, 2, dims);
    return LOOM_OK;
}

static loom_status infer_matmul(loom__graph *g, loom__node *n)
{
    const loom__value *a, *b;
    int64_t da[LOOM_MAX_RANK], db[LOOM_MAX_RANK], dims[LOOM_MAX_RANK];
    int ra, rb, rank;
    char s1[LOOM__SHAPE_STR_MAX], s2[LOOM__SHAPE_STR_MAX];
    loom_status st;

    if ((st = loom__check_arity(g, n, 2, 2, 1)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 0, LOOM__DT_FLOAT)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 1, LOOM__DT_FLOAT)) != LOOM_OK ||
        (st = loom__check_rank(g, n, 0, 1, LOOM_MAX_RANK)) != LOOM_OK ||
        (st = loom__check_rank(g, n, 1, 1, LOOM_MAX_RANK)) != LOOM_OK)
        return st;
    a = loom__in(g, n, 0);
    b = loom__in(g, n, 1);
    /* numpy.matmul: 1-D operands are promoted to matrices, then batch
     * dims broadcast; the promoted dims are dropped from the result */
    ra = a->rank;
    rb = b->rank;
    memcpy(da, a->dims, sizeof da);
    memcpy(db, b->dims, sizeof db);
    if (ra == 1) {
        da[1] = da[0];
        da[0] = 1;
        ra = 2;
    }
    if (rb == 1) {
        db[1] = 1;
        rb = 2;
    }
    if (da[ra - 1] != db[rb - 2])
        return loom__node_err(g, n, LOOM_E_SHAPE, "shapes %s and %s do not multiply",
                              loom__shape_str(a->rank, a->dims, s1, sizeof s1),
                              loom__shape_str(b->rank, b->dims, s2, sizeof s2));
    if ((st = loom__broadcast_shapes(g, n, ra - 2, da, rb - 2, db, &rank, dims)) != LOOM_OK)
        return st;
    if (a->rank > 1)
        dims[rank++] = da[ra - 2];
    if (b->rank > 1)
        dims[rank++] = db[rb - 1];
    loom__set_output(g, n, 0, a->dtype, rank, dims);
    return LOOM_OK;
}

void loom__matmul_shape_of(int ra, const int64_t *da, int rb, const int64_t *db, loom__matmul_shape *s)
{
    int ba = ra > 2 ? ra - 2 : 0, bb = rb > 2 ? rb - 2 : 0;
    int64_t sa = 1, sb = 1;
    s->M = ra > 1 ? da[ra - 2] : 1;
    s->K = da[ra - 1];
    s->N = rb > 1 ? db[rb - 1] : 1;
    s->rank = ba > bb ? ba : bb;
    s->batches = 1;
    /* walk the batch dims from the innermost; a dim of 1 broadcasts */
    for (int d = s->rank - 1; d >= 0; d--) {
        int ia = d - (s->rank - ba), ib = d - (s->rank - bb);
        int64_t na = ia >= 0 ? da[ia] : 1, nb = ib >= 0 ? db[ib] : 1;
        s->dims[d] = na > nb ? na : nb;
        s->sa[d] = na == 1 ? 0 : sa;
        s->sb[d] = nb == 1 ? 0 : sb;
        sa *= na;
        sb *= nb;
        s->batches *= s->dims[d];
    }
}

void loom__matmul_fold_rows(loom__matmul_shape *s)
{
    int64_t sa = 1;
    for (int d = s->rank - 1; d >= 0; d--) {
        if (s->sb[d] != 0 || (s->dims[d] != 1 && s->sa[d] != sa))
            return;
        sa *= s->dims[d];
    }
    s->M *= s->batches;
    s->batches = 1;
    s->rank = 0;
}

void loom__matmul_batch(const loom__matmul_shape *s, int64_t t, int64_t *ia, int64_t *ib)
{
    *ia = *ib = 0;
    for (int d = s->rank - 1; d >= 0; d--) {
        int64_t i = t % s->dims[d];
        t /= s->dims[d];
        *ia += i * s->sa[d];
        *ib += i * s->sb[d];
    }
}

static loom_status infer_softmax(loom__graph *g, loom__node *n)
{
    const loom__value *x;
    int64_t axis;
    loom_status st;

    if ((st = loom__check_arity(g, n, 1, 1, 1)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 0, LOOM__DT_FLOAT)) != LOOM_OK ||
        (st = loom__check_rank(g, n, 0, 1, LOOM_MAX_RANK)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    n->p.softmax.legacy = g->opset < 13;
    if ((st = loom__attr_int(g, n, "axis", g->opset < 13 ? 1 : -1, &axis)) != LOOM_OK ||
        (st = loom__norm_axis(g, n, "axis", axis, x->rank, &n->p.softmax.axis)) != LOOM_OK)
        return st;
    loom__set_output(g, n, 0, x->dtype, x->rank, x->dims);
    return LOOM_OK;
}

/* v has x's dims from axis on (leading 1s on either side aside): the
 * kernels read Scale and B as one element per normalised position. */
static bool same_trailing_shape(const loom__value *v, const loom__value *x, int axis)
{
    int nx = x->rank - axis;
    for (int i = 0; i < (v->rank > nx ? v->rank : nx); i++) {
        int64_t a = i < v->rank ? v->dims[v->rank - 1 - i] : 1;
        int64_t b = i < nx ? x->dims[x->rank - 1 - i] : 1;
        if (a != b)
            return false;
    }
    return true;
}

static loom_status infer_layernorm(loom__graph *g, loom__node *n)
{
    const loom__value *x, *scale, *bias;
    int64_t axis, stat_dims[LOOM_MAX_RANK];
    loom_status st;

    if ((st = loom__check_arity(g, n, 2, 3, 3)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 0, LOOM__DT_FLOAT)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 1, LOOM__DT_FLOAT)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 2, LOOM__DT_FLOAT)) != LOOM_OK ||
        (st = loom__check_rank(g, n, 0, 1, LOOM_MAX_RANK)) != LOOM_OK ||
        (st = loom__attr_float(g, n, "epsilon", 1e-5f, &n->p.norm.epsilon)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "axis", -1, &axis)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    if ((st = loom__norm_axis(g, n, "axis", axis, x->rank, &n->p.norm.axis)) != LOOM_OK)
        return st;
    scale = loom__in(g, n, 1);
    bias = loom__in(g, n, 2);
    if (!same_trailing_shape(scale, x, (int)n->p.norm.axis) ||
        (bias && !same_trailing_shape(bias, x, (int)n->p.norm.axis))) {
        char s1[LOOM__SHAPE_STR_MAX], s2[LOOM__SHAPE_STR_MAX], s3[LOOM__SHAPE_STR_MAX];
        return loom__node_err(g, n, LOOM_E_SHAPE, "Scale %s and B %s must have the normalised dims %s",
                              loom__shape_str(scale->rank, scale->dims, s1, sizeof s1),
                              bias ? loom__shape_str(bias->rank, bias->dims, s2, sizeof s2) : "(none)",
                              loom__shape_str(x->rank - (int)n->p.norm.axis, x->dims + n->p.norm.axis, s3,
                                              sizeof s3));
    }
    loom__set_output(g, n, 0, x->dtype, x->rank, x->dims);
    for (int i = 0; i < x->rank; i++)
        stat_dims[i] = i < n->p.norm.axis ? x->dims[i] : 1;
    loom__set_output(g, n, 1, LOOM_F32, x->rank, stat_dims);
    loom__set_output(g, n, 2, LOOM_F32, x->rank, stat_dims);
    return LOOM_OK;
}

static loom_status infer_batchnorm(loom__graph *g, loom__node *n)
{
    const loom__value *x;
    int64_t flag;
    loom_status st;

    if ((st = loom__check_arity(g, n, 5, 5, 5)) != LOOM_OK ||
        (st = loom__check_rank(g, n, 0, 2, LOOM_MAX_RANK)) != LOOM_OK ||
        (st = loom__attr_float(g, n, "epsilon", 1e-5f, &n->p.bn.epsilon)) != LOOM_OK)
        return st;
    for (int i = 0; i < 5; i++)
        if ((st = loom__check_dtype(g, n, i, LOOM__DT_FLOAT)) != LOOM_OK)
            return st;
    for (int i = 1; i < n->n_outputs; i++)
        if (n->outputs[i] >= 0)
            return loom__node_err(g, n, LOOM_E_MODEL_UNSUPPORTED,
                                  "training outputs (running mean/var) are not supported");
    if ((st = loom__attr_int(g, n, "training_mode", 0, &flag)) != LOOM_OK)
        return st;
    if (flag)
        return loom__node_err(g, n, LOOM_E_MODEL_UNSUPPORTED, "training_mode=1 is not supported");
    if (g->opset < 9) {
        if ((st = loom__attr_int(g, n, "spatial", 1, &flag)) != LOOM_OK)
            return st;
        if (!flag)
            return loom__node_err(g, n, LOOM_E_MODEL_UNSUPPORTED, "spatial=0 is not supported");
    }
    x = loom__in(g, n, 0);
    for (int i = 1; i < 5; i++) {
        const loom__value *v = loom__in(g, n, i);
        if (v->rank != 1 || v->dims[0] != x->dims[1])
            return loom__node_err(g, n, LOOM_E_SHAPE, "input \"%s\" must have shape [%lld]",
                                  v->name, (long long)x->dims[1]);
    }
    loom__set_output(g, n, 0, x->dtype, x->rank, x->dims);
    return LOOM_OK;
}

/* Shared window geometry of Conv and the pools: kernel, strides, pads,
 * dilations and auto_pad for `spatial` dims of x. */
typedef struct {
    int spatial;
    int64_t kernel[3], strides[3], dilations[3], pads[6];
} window;

static loom_status read_ints_attr(const loom__graph *g, const loom__node *n, const char *name,
                                  size_t want, int64_t def, int64_t *out, int64_t min)
{
    const int64_t *v;
    size_t count;
    loom_status st = loom__attr_ints(g, n, name, &v, &count);
    if (st != LOOM_OK)
        return st;
    if (!v) {
        for (size_t i = 0; i < want; i++)
            out[i] = def;
        return LOOM_OK;
    }
    if (count != want)
        return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "attribute \"%s\" has %zu values, expected %zu",
                              name, count, want);
    for (size_t i = 0; i < want; i++) {
        if (v[i] < min || v[i] >= ((int64_t)1 << 31))
            return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "attribute \"%s\"[%zu] is %lld",
                                  name, i, (long long)v[i]);
        out[i] = v[i];
    }
    return LOOM_OK;
}

static loom_status window_read(const loom__graph *g, const loom__node *n, const loom__value *x,
                               const int64_t *kernel_from_weights, bool ceil_mode, window *w,
                               int64_t *out_dims)
{
    const char *auto_pad;
    loom_status st;
    int s = x->rank - 2;

    if (s < 1 || s > 3)
        return loom__node_err(g, n, LOOM_E_SHAPE, "input must have 1 to 3 spatial dims, has %d", s);
    w->spatial = s;
    if (kernel_from_weights) {
        const int64_t *ks;
        size_t count;
        if ((st = loom__attr_ints(g, n, "kernel_shape", &ks, &count)) != LOOM_OK)
            return st;
        for (int i = 0; i < s; i++) {
            /* ONNX: a kernel has at least one element per spatial dim;
             * below 2^31 (as strides and dilations) the window's extent
             * dilation * (kernel - 1) + 1 stays below 2^62 */
            if (kernel_from_weights[i] < 1 || kernel_from_weights[i] >= ((int64_t)1 << 31))
                return loom__node_err(g, n, LOOM_E_MODEL_INVALID,
                                      "weights' spatial dim %d is %lld; a kernel dim is 1 to 2^31-1", i,
                                      (long long)kernel_from_weights[i]);
            w->kernel[i] = kernel_from_weights[i];
        }
        if (ks && (count != (size_t)s || memcmp(ks, kernel_from_weights, (size_t)s * sizeof *ks)))
            return loom__node_err(g, n, LOOM_E_SHAPE, "kernel_shape does not match the weights");
    } else {
        if (!loom__attr_find(n, "kernel_shape"))
            return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "attribute \"kernel_shape\" is missing");
        if ((st = read_ints_attr(g, n, "kernel_shape", (size_t)s, 1, w->kernel, 1)) != LOOM_OK)
            return st;
    }
    if ((st = read_ints_attr(g, n, "strides", (size_t)s, 1, w->strides, 1)) != LOOM_OK ||
        (st = read_ints_attr(g, n, "dilations", (size_t)s, 1, w->dilations, 1)) != LOOM_OK ||
        (st = read_ints_attr(g, n, "pads", (size_t)(2 * s), 0, w->pads, 0)) != LOOM_OK ||
        (st = loom__attr_string(g, n, "auto_pad", "NOTSET", &auto_pad)) != LOOM_OK)
        return st;
    for (int i = 0; i < s; i++) {
        int64_t in = x->dims[2 + i];
        int64_t extent = w->dilations[i] * (w->kernel[i] - 1) + 1;
        int64_t out;
        if (strcmp(auto_pad, "SAME_UPPER") == 0 || strcmp(auto_pad, "SAME_LOWER") == 0) {
            int64_t total;
            out = (in + w->strides[i] - 1) / w->strides[i];
            total = (out - 1) * w->strides[i] + extent - in;
            if (total < 0)
                total = 0;
            w->pads[i] = auto_pad[5] == 'U' ? total / 2 : total - total / 2;
            w->pads[i + s] = total - w->pads[i];
        } else if (strcmp(auto_pad, "VALID") == 0) {
            w->pads[i] = w->pads[i + s] = 0;
        } else if (strcmp(auto_pad, "NOTSET") != 0) {
            return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "auto_pad \"%s\" is not valid", auto_pad);
        }
        {
            int64_t padded = in + w->pads[i] + w->pads[i + s];
            if (padded < extent)
                return loom__node_err(g, n, LOOM_E_SHAPE,
                                      "window of %lld does not fit spatial dim %d of %lld (padded %lld)",
                                      (long long)extent, i, (long long)in, (long long)padded);
            if (ceil_mode) {
                out = (padded - extent + w->strides[i] - 1) / w->strides[i] + 1;
                /* the last window must start inside the input or left pad */
                if ((out - 1) * w->strides[i] >= in + w->pads[i])
                    out--;
            } else {
                out = (padded - extent) / w->strides[i] + 1;
            }
        }
        out_dims[2 + i] = out;
    }
    out_dims[0] = x->dims[0];
    return LOOM_OK;
}

/* ConvTranspose: x [N, C, spatial...], W [C, M/group, k...]. Pads come
 * from the attribute, or from auto_pad and output_shape as the ONNX
 * reference derives them; output_shape, when given, is the output. */
static loom_status infer_conv_transpose(loom__graph *g, loom__node *n)
{
    loom__conv_params *p = &n->p.conv;
    const loom__value *x, *w, *b;
    int64_t outpad[3], oshape[3], dims[LOOM_MAX_RANK];
    const int64_t *os;
    size_t nos;
    const char *auto_pad;
    int s;
    loom_status st;

    memset(p, 0, sizeof *p);
    if ((st = loom__check_arity(g, n, 2, 3, 1)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 0, LOOM__DT_FLOAT)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 1, LOOM__DT_FLOAT)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 2, LOOM__DT_FLOAT)) != LOOM_OK ||
        (st = loom__check_rank(g, n, 0, 3, 5)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "group", 1, &p->group)) != LOOM_OK ||
        (st = loom__attr_string(g, n, "auto_pad", "NOTSET", &auto_pad)) != LOOM_OK ||
        (st = loom__attr_ints(g, n, "output_shape", &os, &nos)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    w = loom__in(g, n, 1);
    b = loom__in(g, n, 2);
    s = x->rank - 2;
    p->spatial = s;
    if (w->rank != x->rank || p->group < 1 || x->dims[1] % p->group || w->dims[0] != x->dims[1])
        return loom__node_err(g, n, LOOM_E_SHAPE, "weights must be [C, M/group, kernel...] for the input's C");
    for (int i = 0; i < s; i++)
        p->kernel[i] = w->dims[2 + i];
    if ((st = read_ints_attr(g, n, "strides", (size_t)s, 1, p->strides, 1)) != LOOM_OK ||
        (st = read_ints_attr(g, n, "dilations", (size_t)s, 1, p->dilations, 1)) != LOOM_OK ||
        (st = read_ints_attr(g, n, "output_padding", (size_t)s, 0, outpad, 0)) != LOOM_OK ||
        (st = read_ints_attr(g, n, "pads", (size_t)(2 * s), 0, p->pads, 0)) != LOOM_OK)
        return st;
    if (os && nos != (size_t)s && nos != (size_t)x->rank)
        return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "output_shape has %zu values for %d spatial dims", nos, s);
    for (int i = 0; i < s; i++) {
        int64_t extent = (p->kernel[i] - 1) * p->dilations[i] + 1;
        int64_t full = p->strides[i] * (x->dims[2 + i] - 1) + outpad[i] + extent;
        oshape[i] = os ? os[nos - (size_t)s + (size_t)i] : -1;
        if (strcmp(auto_pad, "SAME_UPPER") == 0 || strcmp(auto_pad, "SAME_LOWER") == 0) {
            int64_t total;
            if (oshape[i] < 0)
                oshape[i] = x->dims[2 + i] * p->strides[i];
            total = full - oshape[i];
            p->pads[i] = auto_pad[5] == 'U' ? total / 2 : total - total / 2;
            p->pads[i + s] = total - p->pads[i];
        } else if (strcmp(auto_pad, "NOTSET") != 0 && strcmp(auto_pad, "VALID") != 0) {
            return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "auto_pad \"%s\" is not valid", auto_pad);
        }
        if (oshape[i] < 0)
            oshape[i] = full - p->pads[i] - p->pads[i + s];
        if (oshape[i] < 0)
            return loom__node_err(g, n, LOOM_E_SHAPE, "spatial dim %d would be negative", i);
        dims[2 + i] = oshape[i];
    }
    dims[0] = x->dims[0];
    dims[1] = w->dims[1] * p->group;
    if (b && (b->rank != 1 || b->dims[0] != dims[1]))
        return loom__node_err(g, n, LOOM_E_SHAPE, "B must have one value per output channel");
    if ((st = loom__check_size(g, n, "output", x->dtype, x->rank, dims)) != LOOM_OK)
        return st;
    loom__set_output(g, n, 0, x->dtype, x->rank, dims);
    return LOOM_OK;
}

static loom_status infer_conv(loom__graph *g, loom__node *n)
{
    loom__conv_params *p = &n->p.conv;
    const loom__value *x, *w, *b;
    int64_t dims[LOOM_MAX_RANK];
    window win;
    char s1[LOOM__SHAPE_STR_MAX], s2[LOOM__SHAPE_STR_MAX];
    loom_status st;

    if ((st = loom__check_arity(g, n, 2, 3, 1)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 0, LOOM__DT_FLOAT)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 1, LOOM__DT_FLOAT)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 2, LOOM__DT_FLOAT)) != LOOM_OK ||
        (st = loom__check_rank(g, n, 0, 3, 5)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "group", 1, &p->group)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    w = loom__in(g, n, 1);
    b = loom__in(g, n, 2);
    if (w->rank != x->rank)
        return loom__node_err(g, n, LOOM_E_SHAPE, "weights %s do not match input %s",
                              loom__shape_str(w->rank, w->dims, s1, sizeof s1),
                              loom__shape_str(x->rank, x->dims, s2, sizeof s2));
    if (p->group < 1 || x->dims[1] % p->group || w->dims[0] % p->group ||
        w->dims[1] != x->dims[1] / p->group)
        return loom__node_err(g, n, LOOM_E_SHAPE,
                              "input %s, weights %s and group %lld do not agree on channels",
                              loom__shape_str(x->rank, x->dims, s2, sizeof s2),
                              loom__shape_str(w->rank, w->dims, s1, sizeof s1),
                              (long long)p->group);
    if (b && (b->rank != 1 || b->dims[0] != w->dims[0]))
        return loom__node_err(g, n, LOOM_E_SHAPE, "bias must have shape [%lld]", (long long)w->dims[0]);
    if ((st = window_read(g, n, x, w->dims + 2, false, &win, dims)) != LOOM_OK)
        return st;
    p->spatial = win.spatial;
    memcpy(p->kernel, win.kernel, sizeof p->kernel);
    memcpy(p->strides, win.strides, sizeof p->strides);
    memcpy(p->dilations, win.dilations, sizeof p->dilations);
    memcpy(p->pads, win.pads, sizeof p->pads);
    dims[1] = w->dims[0];
    loom__set_output(g, n, 0, x->dtype, x->rank, dims);
    return LOOM_OK;
}

static loom_status infer_pool(loom__graph *g, loom__node *n)
{
    loom__pool_params *p = &n->p.pool;
    const loom__value *x;
    int64_t dims[LOOM_MAX_RANK], ceil_mode = 0, cip = 0, storage = 0;
    window win;
    loom_status st;

    if ((st = loom__check_arity(g, n, 1, 1, n->op == LOOM__OP_MaxPool ? 2 : 1)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 0, LOOM__DT_FLOAT)) != LOOM_OK ||
        (st = loom__check_rank(g, n, 0, 3, 5)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "ceil_mode", 0, &ceil_mode)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "count_include_pad", 0, &cip)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "storage_order", 0, &storage)) != LOOM_OK)
        return st;
    if (n->n_outputs > 1 && n->outputs[1] >= 0)
        return loom__node_err(g, n, LOOM_E_MODEL_UNSUPPORTED, "the Indices output is not supported");
    if (n->op == LOOM__OP_AveragePool && g->opset < 19 && loom__attr_find(n, "dilations"))
        return loom__node_err(g, n, LOOM_E_MODEL_UNSUPPORTED, "dilations need opset 19");
    x = loom__in(g, n, 0);
    if ((st = window_read(g, n, x, NULL, ceil_mode != 0, &win, dims)) != LOOM_OK)
        return st;
    p->spatial = win.spatial;
    memcpy(p->kernel, win.kernel, sizeof p->kernel);
    memcpy(p->strides, win.strides, sizeof p->strides);
    memcpy(p->dilations, win.dilations, sizeof p->dilations);
    memcpy(p->pads, win.pads, sizeof p->pads);
    p->count_include_pad = cip != 0;
    if (n->op == LOOM__OP_LpPool) {
        if ((st = loom__attr_int(g, n, "p", 2, &p->p)) != LOOM_OK)
            return st;
        if (p->p < 1 || p->p > 64)
            return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "p = %lld is invalid", (long long)p->p);
    }
    dims[1] = x->dims[1];
    loom__set_output(g, n, 0, x->dtype, x->rank, dims);
    return LOOM_OK;
}

static loom_status infer_global_pool(loom__graph *g, loom__node *n)
{
    const loom__value *x;
    int64_t dims[LOOM_MAX_RANK];
    loom_status st;

    if ((st = loom__check_arity(g, n, 1, 1, 1)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 0, LOOM__DT_FLOAT)) != LOOM_OK ||
        (st = loom__check_rank(g, n, 0, 3, LOOM_MAX_RANK)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    for (int i = 0; i < x->rank; i++)
        dims[i] = i < 2 ? x->dims[i] : 1;
    loom__set_output(g, n, 0, x->dtype, x->rank, dims);
    return LOOM_OK;
}

loom_status loom__infer_nn(loom__graph *g, loom__node *n)
{
    switch (n->op) {
    case LOOM__OP_Gemm: return infer_gemm(g, n);
    case LOOM__OP_MatMul: return infer_matmul(g, n);
    case LOOM__OP_Softmax: case LOOM__OP_LogSoftmax: case LOOM__OP_Hardmax: return infer_softmax(g, n);
    case LOOM__OP_LayerNormalization: return infer_layernorm(g, n);
    case LOOM__OP_BatchNormalization: return infer_batchnorm(g, n);
    case LOOM__OP_Conv: return infer_conv(g, n);
    case LOOM__OP_ConvTranspose: return infer_conv_transpose(g, n);
    case LOOM__OP_MaxPool: case LOOM__OP_AveragePool: case LOOM__OP_LpPool: return infer_pool(g, n);
    case LOOM__OP_GlobalAveragePool: return infer_global_pool(g, n);
    default: break;
    }
    return loom__node_err(g, n, LOOM_E_INTERNAL, "not an nn op");
}
