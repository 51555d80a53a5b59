/* ref-move.c - Pad, Transpose, Concat, Split, Slice and Gather: pure data
 * movement, any dtype. */
#include <string.h>

#include "backends/ref/ref-impl.h"

/* Input coordinate for output coordinate o along a padded dim, or -1 for
 * the constant fill. */
static int64_t pad_source(loom__pad_mode mode, int64_t o, int64_t begin, int64_t dim)
{
    int64_t i = o - begin;
    if (i >= 0 && i < dim)
        return i;
    switch (mode) {
    case LOOM__PAD_EDGE:
        return i < 0 ? 0 : dim - 1;
    case LOOM__PAD_REFLECT:
        /* mirror without repeating the edge; pads < dim, so one bounce */
        return i < 0 ? -i : 2 * (dim - 1) - i;
    case LOOM__PAD_CONSTANT:
        break;
    }
    return -1;
}

loom_status loom__ref_pad(const loom__node *n, const loom_tensor *const *in,
                          loom_tensor *const *out)
{
    const loom__pad_params *p = &n->p.pad;
    const loom_tensor *x = in[0];
    loom_tensor *y = out[0];
    size_t es = loom_dtype_size(x->dtype);
    int64_t idx[LOOM_MAX_RANK] = {0}, xs[LOOM_MAX_RANK];
    /* constant_value (opset 11+) may be computed at run time */
    const char *fill = loom__opt_in(n, in, 2) ? (const char *)in[2]->data : (const char *)p->value;

    loom__contiguous_strides(x->rank, x->dims, xs);
    for (int64_t o = 0; o < y->numel; o++) {
        int64_t src = 0;
        for (int d = 0; d < x->rank && src >= 0; d++) {
            int64_t i = pad_source(p->mode, idx[d], p->pads[d], x->dims[d]);
            src = i < 0 ? -1 : src + i * xs[d];
        }
        memcpy((char *)y->data + o * (int64_t)es,
               src < 0 ? fill : (const char *)x->data + src * (int64_t)es, es);
        for (int d = x->rank - 1; d >= 0; d--) {
            if (++idx[d] < y->dims[d])
                break;
            idx[d] = 0;
        }
    }
    return LOOM_OK;
}

loom_status loom__ref_transpose(const loom__node *n, const loom_tensor *const *in,
                                loom_tensor *const *out)
{
    const loom_tensor *x = in[0];
    int64_t xs[LOOM_MAX_RANK], src_strides[LOOM_MAX_RANK];
    loom__contiguous_strides(x->rank, x->dims, xs);
    for (int d = 0; d < x->rank; d++)
        src_strides[d] = xs[n->p.transpose.perm[d]];
    loom__strided_copy(out[0]->data, x->data, loom_dtype_size(x->dtype), x->rank, out[0]->dims,
                       src_strides, 0);
    return LOOM_OK;
}

loom_status loom__ref_concat(const loom__node *n, const loom_tensor *const *in,
                             loom_tensor *const *out)
{
    int axis = (int)n->p.axis.axis;
    loom_tensor *y = out[0];
    size_t es = loom_dtype_size(y->dtype);
    int64_t outer = loom__span(y->dims, 0, axis), inner = loom__span(y->dims, axis + 1, y->rank);
    int64_t ychunk = y->dims[axis] * inner * (int64_t)es, pos = 0;

    for (int k = 0; k < n->n_inputs; k++) {
        int64_t chunk = in[k]->dims[axis] * inner * (int64_t)es;
        for (int64_t o = 0; o < outer; o++)
            memcpy((char *)y->data + o * ychunk + pos, (const char *)in[k]->data + o * chunk,
                   (size_t)chunk);
        pos += chunk;
    }
    return LOOM_OK;
}

loom_status loom__ref_split(const loom__node *n, const loom_tensor *const *in,
                            loom_tensor *const *out)
{
    int axis = (int)n->p.axis.axis;
    const loom_tensor *x = in[0];
    size_t es = loom_dtype_size(x->dtype);
    int64_t outer = loom__span(x->dims, 0, axis), inner = loom__span(x->dims, axis + 1, x->rank);
    int64_t xchunk = x->dims[axis] * inner * (int64_t)es, pos = 0;

    for (int k = 0; k < n->n_outputs; k++) {
        int64_t chunk = n->p.axis.sizes[k] * inner * (int64_t)es;
        if (out[k])
            for (int64_t o = 0; o < outer; o++)
                memcpy((char *)out[k]->data + o * chunk, (const char *)x->data + o * xchunk + pos,
                       (size_t)chunk);
        pos += chunk;
    }
    return LOOM_OK;
}

loom_status loom__ref_slice(const loom__node *n, const loom_tensor *const *in,
                            loom_tensor *const *out)
{
    const loom_tensor *x = in[0];
    int64_t xs[LOOM_MAX_RANK], src_strides[LOOM_MAX_RANK], offset = 0;
    loom__contiguous_strides(x->rank, x->dims, xs);
    for (int d = 0; d < x->rank; d++) {
        offset += n->p.slice.start[d] * xs[d];
        src_strides[d] = n->p.slice.step[d] * xs[d];
    }
    loom__strided_copy(out[0]->data, x->data, loom_dtype_size(x->dtype), x->rank, out[0]->dims,
                       src_strides, offset);
    return LOOM_OK;
}

loom_status loom__ref_gather(const loom__node *n, const loom_tensor *const *in,
                             loom_tensor *const *out)
{
    const loom_tensor *x = in[0], *idx = in[1];
    int axis = (int)n->p.axis.axis;
    size_t es = loom_dtype_size(x->dtype);
    int64_t outer = loom__span(x->dims, 0, axis), inner = loom__span(x->dims, axis + 1, x->rank);
    int64_t dim = x->dims[axis], block = inner * (int64_t)es;
    char *dst = out[0]->data;

    for (int64_t o = 0; o < outer; o++)
        for (int64_t k = 0; k < idx->numel; k++) {
            int64_t i = idx->dtype == LOOM_I64 ? ((const int64_t *)idx->data)[k]
                                               : ((const int32_t *)idx->data)[k];
            if (i < -dim || i >= dim)
                return loom__err(LOOM_E_DATA_INVALID, "index %lld is out of range for axis %d of size %lld",
                                 (long long)i, axis, (long long)dim);
            if (i < 0)
                i += dim;
            memcpy(dst, (const char *)x->data + (o * dim + i) * block, (size_t)block);
            dst += block;
        }
    return LOOM_OK;
}
