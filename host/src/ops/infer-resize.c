/* infer-resize.c - shape inference for Resize (opsets 10 to 19: scales or
 * sizes, roi, axes, keep_aspect_ratio_policy, every coordinate and nearest
 * mode, linear and cubic with antialias) and Upsample (opsets 7 to 9). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

static loom_status pick(const loom__graph *g, const loom__node *n, const char *attr, const char *def,
                        const char *const *names, int count, int *out)
{
    const char *s;
    loom_status st = loom__attr_string(g, n, attr, def, &s);
    if (st != LOOM_OK)
        return st;
    for (int k = 0; k < count; k++)
        if (strcmp(s, names[k]) == 0) {
            *out = k;
            return LOOM_OK;
        }
    return loom__node_err(g, n, LOOM_E_MODEL_UNSUPPORTED, "%s \"%s\" is not supported", attr, s);
}

loom_status loom__infer_resize(loom__graph *g, loom__node *n)
{
    static const char *const modes[] = {"nearest", "linear", "cubic"};
    static const char *const coords[] = {"half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel",
                                         "tf_crop_and_resize", "half_pixel_symmetric"};
    static const char *const nearests[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    static const char *const policies[] = {"stretch", "not_larger", "not_smaller"};
    loom__resize_params *p = &n->p.resize;
    const loom__value *x;
    double scales[LOOM_MAX_RANK], sizes[LOOM_MAX_RANK], roi[2 * LOOM_MAX_RANK];
    size_t nscales = 0, nsizes = 0, nroi = 0, naxes;
    int64_t axes[LOOM_MAX_RANK], dims[LOOM_MAX_RANK], v;
    const int64_t *ax;
    int mode = 0, coord = 0, nearest = 0, policy = 0, r;
    bool upsample = n->op == LOOM__OP_Upsample;
    loom_status st;

    memset(p, 0, sizeof *p);
    if ((st = loom__check_arity(g, n, 1, upsample ? 2 : 4, 1)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 0, LOOM__DT_NUM)) != LOOM_OK ||
        (st = loom__check_rank(g, n, 0, 1, LOOM_MAX_RANK)) != LOOM_OK ||
        (st = pick(g, n, "mode", "nearest", modes, upsample ? 2 : 3, &mode)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    r = x->rank;
    if (upsample) {
        /* asymmetric coordinates; nearest takes the floor */
        coord = LOOM__CT_ASYMMETRIC;
        nearest = LOOM__NR_FLOOR;
        if (g->opset < 9) {
            const loom__attr *a = loom__attr_find(n, "scales");
            if (!a || a->type != LOOM__ATTR_FLOATS || a->count > LOOM_MAX_RANK)
                return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "attribute \"scales\" is missing");
            for (size_t k = 0; k < a->count; k++)
                scales[k] = a->floats[k];
            nscales = a->count;
        } else if ((st = loom__const_numbers(g, n, 1, "scales", scales, LOOM_MAX_RANK, &nscales)) != LOOM_OK) {
            return st;
        }
    } else {
        int si = g->opset < 11 ? 1 : 2;
        if ((st = pick(g, n, "coordinate_transformation_mode", g->opset < 11 ? "asymmetric" : "half_pixel",
                       coords, 6, &coord)) != LOOM_OK ||
            (st = pick(g, n, "nearest_mode", g->opset < 11 ? "floor" : "round_prefer_floor", nearests, 4,
                       &nearest)) != LOOM_OK ||
            (st = pick(g, n, "keep_aspect_ratio_policy", "stretch", policies, 3, &policy)) != LOOM_OK ||
            (st = loom__attr_float(g, n, "cubic_coeff_a", -0.75f, &p->cubic_a)) != LOOM_OK ||
            (st = loom__attr_float(g, n, "extrapolation_value", 0.0f, &p->extrapolation)) != LOOM_OK ||
            (st = loom__attr_int(g, n, "exclude_outside", 0, &v)) != LOOM_OK)
            return st;
        p->exclude_outside = v != 0;
        if ((st = loom__attr_int(g, n, "antialias", 0, &v)) != LOOM_OK)
            return st;
        p->antialias = v != 0 && mode != LOOM__RS_NEAREST;
        if ((si == 2 && (st = loom__const_numbers(g, n, 1, "roi", roi, 2 * LOOM_MAX_RANK, &nroi)) != LOOM_OK) ||
            (st = loom__const_numbers(g, n, si, "scales", scales, LOOM_MAX_RANK, &nscales)) != LOOM_OK ||
            (si == 2 && (st = loom__const_numbers(g, n, 3, "sizes", sizes, LOOM_MAX_RANK, &nsizes)) != LOOM_OK))
            return st;
        if (coord != LOOM__CT_TF_CROP_AND_RESIZE)
            nroi = 0; /* roi only matters there */
    }
    if ((st = loom__attr_ints(g, n, "axes", &ax, &naxes)) != LOOM_OK)
        return st;
    if (!ax || upsample) {
        naxes = (size_t)r;
        for (int d = 0; d < r; d++)
            axes[d] = d;
    } else {
        if (naxes > (size_t)r)
            return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "%zu axes for rank %d", naxes, r);
        for (size_t k = 0; k < naxes; k++)
            if ((st = loom__norm_axis(g, n, "axis", ax[k], r, &axes[k])) != LOOM_OK)
                return st;
    }
    if ((nscales == 0) == (nsizes == 0))
        return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "needs exactly one of scales and sizes");
    if ((nscales && nscales != naxes) || (nsizes && nsizes != naxes) || (nroi && nroi != 2 * naxes))
        return loom__node_err(g, n, LOOM_E_SHAPE, "scales, sizes or roi do not have one value per axis");
    for (int d = 0; d < r; d++) {
        p->scale[d] = 1.0;
        p->roi[d] = 0.0;
        p->roi[r + d] = 1.0;
        dims[d] = x->dims[d];
    }
    for (size_t k = 0; k < nroi / 2; k++) {
        p->roi[axes[k]] = roi[k];
        p->roi[r + axes[k]] = roi[naxes + k];
    }
    if (nscales) {
        for (size_t k = 0; k < naxes; k++) {
            double s = scales[k], o = floor(s * (double)x->dims[axes[k]]);
            if (!(s > 0) || !isfinite(s) || o > (double)((int64_t)1 << 40))
                return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "scale %g is invalid", s);
            p->scale[axes[k]] = s;
            dims[axes[k]] = (int64_t)o;
        }
    } else {
        double keep = policy == 1 ? INFINITY : -INFINITY;
        for (size_t k = 0; k < naxes; k++) {
            double s = x->dims[axes[k]] ? sizes[k] / (double)x->dims[axes[k]] : 1.0;
            if (sizes[k] < 0 || sizes[k] > (double)((int64_t)1 << 40))
                return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "size %g is invalid", sizes[k]);
            p->scale[axes[k]] = s;
            dims[axes[k]] = (int64_t)sizes[k];
            keep = policy == 1 ? fmin(keep, s) : fmax(keep, s);
        }
        if (policy != 0)
            for (size_t k = 0; k < naxes; k++) {
                p->scale[axes[k]] = keep;
                dims[axes[k]] = (int64_t)(keep * (double)x->dims[axes[k]] + 0.5);
            }
    }
    p->mode = (loom__resize_mode)mode;
    p->coord = (loom__coord_mode)coord;
    p->nearest = (loom__nearest_mode)nearest;
    if ((st = loom__check_size(g, n, "output", x->dtype, r, dims)) != LOOM_OK)
        return st;
    loom__set_output(g, n, 0, x->dtype, r, dims);
    return LOOM_OK;
}
