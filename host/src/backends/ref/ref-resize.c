/* ref-resize.c - Resize and Upsample (ops/infer-resize.c), separably: one
 * 1-D pass per resized dim, in double, as the ONNX reference resamples.
 * For each output position the source coordinate follows the coordinate
 * mode; its n taps (2 for nearest and linear, 4 for cubic, more with
 * antialias when shrinking) are the n input positions nearest to it,
 * clamped to the edge, weighted by the mode's coefficients. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/ref/ref-impl.h"

#define MAX_TAPS 64

static double cubic_kernel(double x, double A)
{
    x = fabs(x);
    if (x <= 1)
        return ((A + 2) * x - (A + 3)) * x * x + 1;
    if (x < 2)
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
    return 0.0;
}

/* The tap weights for the fraction r in (0, 1] (1 when the coordinate is
 * an integer); returns their count, 0 when there would be too many. */
static int coeffs(const loom__resize_params *p, double r, double scale, double *c)
{
    int n = 0;
    switch (p->mode) {
    case LOOM__RS_NEAREST: {
        bool up;
        if (r == 1.0)
            up = true;
        else if (p->nearest == LOOM__NR_PREFER_FLOOR)
            up = r > 0.5;
        else if (p->nearest == LOOM__NR_PREFER_CEIL)
            up = r >= 0.5;
        else
            up = p->nearest == LOOM__NR_CEIL;
        c[0] = !up;
        c[1] = up;
        return 2;
    }
    case LOOM__RS_LINEAR:
        if (!p->antialias) {
            c[0] = 1 - r;
            c[1] = r;
            return 2;
        } else {
            double s = fmin(scale, 1.0), sum = 0.0;
            int start = (int)floor(-1 / s) + 1, foot = 2 - 2 * start;
            if (foot > MAX_TAPS)
                return 0;
            for (int k = 0; k < foot; k++) {
                c[k] = fmin(1.0, fmax(0.0, 1 - fabs((start + k - r) * s)));
                sum += c[k];
            }
            for (int k = 0; k < foot; k++)
                c[k] /= sum;
            return foot;
        }
    case LOOM__RS_CUBIC:
        if (!p->antialias) {
            c[0] = cubic_kernel(r + 1, p->cubic_a);
            c[1] = cubic_kernel(r, p->cubic_a);
            c[2] = cubic_kernel(1 - r, p->cubic_a);
            c[3] = cubic_kernel(2 - r, p->cubic_a);
            return 4;
        } else {
            double s = fmin(scale, 1.0), sum = 0.0;
            int i0 = (int)floor(-2 / s) + 1, i1 = 2 - i0;
            if (i1 - i0 > MAX_TAPS)
                return 0;
            for (int i = i0; i < i1; i++) {
                c[n] = cubic_kernel(s * (i - r), p->cubic_a);
                sum += c[n++];
            }
            for (int k = 0; k < n; k++)
                c[k] /= sum;
            return n;
        }
    }
    return 0;
}

/* Source coordinate of output position y along a dim; *outside for
 * tf_crop_and_resize positions outside the input. */
static double source_of(const loom__resize_params *p, int d, int rank, double y, int64_t in, int64_t out,
                        bool *outside)
{
    double s = p->scale[d], ow = s * (double)in, x;
    *outside = false;
    switch (p->coord) {
    case LOOM__CT_ALIGN_CORNERS: return ow == 1 ? 0.0 : y * (double)(in - 1) / (ow - 1);
    case LOOM__CT_ASYMMETRIC: return y / s;
    case LOOM__CT_TF_CROP_AND_RESIZE: {
        double lo = p->roi[d], hi = p->roi[rank + d];
        x = ow == 1 ? (hi - lo) * (double)(in - 1) / 2 : y * (hi - lo) * (double)(in - 1) / (ow - 1);
        x += lo * (double)(in - 1);
        *outside = x < 0 || x > (double)(in - 1);
        return x;
    }
    case LOOM__CT_PYTORCH_HALF_PIXEL: return ow == 1 ? -0.5 : (y + 0.5) / s - 0.5;
    case LOOM__CT_HALF_PIXEL_SYMMETRIC: {
        double adj = (double)out / ow, center = (double)in / 2;
        return center * (1 - adj) + (y + 0.5) / s - 0.5;
    }
    case LOOM__CT_HALF_PIXEL: break;
    }
    return (y + 0.5) / s - 0.5;
}

/* src [outer, in, inner] -> dst [outer, out, inner] along one dim. */
static loom_status pass(const loom__resize_params *p, int d, int rank, const double *src, double *dst,
                        int64_t outer, int64_t in, int64_t out, int64_t inner)
{
    double c[MAX_TAPS];
    for (int64_t y = 0; y < out; y++) {
        bool outside;
        double x = source_of(p, d, rank, (double)y, in, out, &outside), xi = floor(x);
        double r = x == xi ? 1.0 : x - xi;
        int nt = coeffs(p, r, p->scale[d], c), pad = (nt + 1) / 2;
        double xp = x + pad, pp = floor(xp), frac = xp - pp;
        int64_t start, off;
        if (nt == 0)
            return loom__err(LOOM_E_LIMIT, "Resize: the antialias filter of scale %g is too wide", p->scale[d]);
        if (nt % 2 == 0)
            off = frac == 0 ? -(nt / 2) : -(nt / 2) + 1;
        else
            off = frac <= 0.5 ? -((nt - 1) / 2) : -((nt - 1) / 2) + 1;
        start = (int64_t)pp + off - pad;
        if (p->exclude_outside) {
            double sum = 0.0;
            for (int k = 0; k < nt; k++) {
                if (start + k < 0 || start + k >= in)
                    c[k] = 0.0;
                sum += c[k];
            }
            for (int k = 0; k < nt; k++)
                c[k] /= sum == 0.0 ? 1.0 : sum;
        }
        for (int64_t o = 0; o < outer; o++)
            for (int64_t q = 0; q < inner; q++) {
                double acc = 0.0;
                if (outside) {
                    acc = p->extrapolation;
                } else {
                    for (int k = 0; k < nt; k++) {
                        int64_t j = start + k;
                        j = j < 0 ? 0 : j >= in ? in - 1 : j;
                        if (c[k] != 0.0)
                            acc += c[k] * src[(o * in + j) * inner + q];
                    }
                }
                dst[(o * out + y) * inner + q] = acc;
            }
    }
    return LOOM_OK;
}

loom_status loom__ref_resize(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out)
{
    const loom__resize_params *p = &n->p.resize;
    const loom_tensor *x = in[0];
    loom_tensor *y = out[0];
    int rank = x->rank;
    int64_t dims[LOOM_MAX_RANK], cap = x->numel > y->numel ? x->numel : y->numel;
    double *a, *b;
    loom_status st = LOOM_OK;

    memcpy(dims, x->dims, sizeof dims);
    for (int d = 0; d < rank; d++) {
        /* each intermediate has the dims resized so far */
        int64_t t = 1;
        for (int k = 0; k < rank; k++)
            t *= k <= d ? y->dims[k] : x->dims[k];
        cap = t > cap ? t : cap;
    }
    a = malloc((size_t)(cap ? cap : 1) * sizeof *a);
    b = malloc((size_t)(cap ? cap : 1) * sizeof *b);
    if (!a || !b) {
        free(a);
        free(b);
        return loom__err(LOOM_E_NOMEM, "Resize: out of memory");
    }
    for (int64_t i = 0; i < x->numel; i++)
        a[i] = loom__ref_get_f(x, i);
    for (int d = 0; d < rank && st == LOOM_OK; d++) {
        bool trivial = fabs(p->scale[d] - 1.0) < 1e-9 && y->dims[d] == dims[d] &&
                       (p->coord != LOOM__CT_TF_CROP_AND_RESIZE ||
                        (fabs(p->roi[d]) < 1e-9 && fabs(p->roi[rank + d] - 1.0) < 1e-9));
        double *t;
        if (trivial)
            continue;
        st = pass(p, d, rank, a, b, loom__span(dims, 0, d), dims[d], y->dims[d], loom__span(dims, d + 1, rank));
        dims[d] = y->dims[d];
        t = a, a = b, b = t;
    }
    if (st == LOOM_OK) {
        bool is_int = !loom__dtype_is_float(y->dtype);
        for (int64_t i = 0; i < y->numel; i++) {
            double v = a[i];
            if (is_int) { /* saturate, rounding to nearest as the reference's cast */
                double lo = loom__dtype_is_unsigned(y->dtype) ? 0.0 : -ldexp(1.0, (int)loom_dtype_size(y->dtype) * 8 - 1);
                double hi = loom__dtype_is_unsigned(y->dtype) ? ldexp(1.0, (int)loom_dtype_size(y->dtype) * 8) - 1
                                                              : -lo - 1;
                v = fmin(hi, fmax(lo, nearbyint(v)));
            }
            loom__ref_set_f(y, i, v);
        }
    }
    free(a);
    free(b);
    return st;
}
