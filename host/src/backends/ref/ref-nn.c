/* ref-nn.c - Softmax, LayerNormalization, BatchNormalization, Conv,
 * ConvTranspose and the pools, as direct loops. Spatial ops treat 1-D and 2-D
 * inputs as 3-D with leading unit dims. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/ref/ref-impl.h"

loom_status loom__ref_softmax(const loom__node *n, const loom_tensor *const *in,
                              loom_tensor *const *out)
{
    const loom_tensor *x = in[0];
    const float *X = x->data;
    float *Y = out[0]->data;
    int axis = (int)n->p.softmax.axis;
    /* opset < 13 flattens to [outer, everything from axis]; later opsets
     * normalise along the one axis */
    int64_t outer = loom__span(x->dims, 0, axis);
    int64_t len = n->p.softmax.legacy ? loom__span(x->dims, axis, x->rank) : x->dims[axis];
    int64_t inner = n->p.softmax.legacy ? 1 : loom__span(x->dims, axis + 1, x->rank);

    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const float *xs = X + o * len * inner + i;
            float *ys = Y + o * len * inner + i;
            float mx = -INFINITY;
            double sum = 0.0;
            for (int64_t k = 0; k < len; k++)
                mx = xs[k * inner] > mx ? xs[k * inner] : mx;
            for (int64_t k = 0; k < len; k++) {
                float e = expf(xs[k * inner] - mx);
                ys[k * inner] = e;
                sum += e;
            }
            for (int64_t k = 0; k < len; k++)
                ys[k * inner] = (float)(ys[k * inner] / sum);
        }
    return LOOM_OK;
}

loom_status loom__ref_layernorm(const loom__node *n, const loom_tensor *const *in,
                                loom_tensor *const *out)
{
    const loom_tensor *x = in[0];
    const loom_tensor *bias = loom__opt_in(n, in, 2);
    const float *X = x->data, *S = in[1]->data, *B = bias ? bias->data : NULL;
    float *Y = out[0]->data;
    float *mean_out = n->n_outputs > 1 && out[1] ? out[1]->data : NULL;
    float *inv_out = n->n_outputs > 2 && out[2] ? out[2]->data : NULL;
    int axis = (int)n->p.norm.axis;
    int64_t outer = loom__span(x->dims, 0, axis), len = loom__span(x->dims, axis, x->rank);

    for (int64_t o = 0; o < outer; o++) {
        const float *xs = X + o * len;
        float *ys = Y + o * len;
        double mean = 0.0, var = 0.0, inv;
        for (int64_t k = 0; k < len; k++)
            mean += xs[k];
        mean /= (double)(len ? len : 1);
        for (int64_t k = 0; k < len; k++)
            var += ((double)xs[k] - mean) * ((double)xs[k] - mean);
        var /= (double)(len ? len : 1);
        inv = 1.0 / sqrt(var + (double)n->p.norm.epsilon);
        for (int64_t k = 0; k < len; k++)
            ys[k] = (float)(((double)xs[k] - mean) * inv * S[k] + (B ? B[k] : 0.0f));
        if (mean_out)
            mean_out[o] = (float)mean;
        if (inv_out)
            inv_out[o] = (float)inv;
    }
    return LOOM_OK;
}

loom_status loom__ref_batchnorm(const loom__node *n, const loom_tensor *const *in,
                                loom_tensor *const *out)
{
    const loom_tensor *x = in[0];
    const float *X = x->data, *scale = in[1]->data, *bias = in[2]->data;
    const float *mean = in[3]->data, *var = in[4]->data;
    float *Y = out[0]->data;
    int64_t N = x->dims[0], C = x->dims[1], inner = loom__span(x->dims, 2, x->rank);

    for (int64_t b = 0; b < N; b++)
        for (int64_t c = 0; c < C; c++) {
            double inv = 1.0 / sqrt((double)var[c] + (double)n->p.bn.epsilon);
            const float *xs = X + (b * C + c) * inner;
            float *ys = Y + (b * C + c) * inner;
            for (int64_t k = 0; k < inner; k++)
                ys[k] = (float)(((double)xs[k] - mean[c]) * inv * scale[c] + bias[c]);
        }
    return LOOM_OK;
}

/* Window geometry padded to 3 spatial dims (leading dims of size 1). */
typedef struct {
    int64_t in[3], out[3], k[3], s[3], d[3], pb[3], pe[3];
} geom3;

static void geom_init(geom3 *g, const loom_tensor *x, const loom_tensor *y, int spatial,
                      const int64_t *kernel, const int64_t *strides, const int64_t *dilations,
                      const int64_t *pads)
{
    for (int i = 0; i < 3; i++) {
        int j = i - (3 - spatial); /* index into the op's spatial dims */
        g->in[i] = j >= 0 ? x->dims[2 + j] : 1;
        g->out[i] = j >= 0 ? y->dims[2 + j] : 1;
        g->k[i] = j >= 0 ? kernel[j] : 1;
        g->s[i] = j >= 0 ? strides[j] : 1;
        g->d[i] = j >= 0 ? dilations[j] : 1;
        g->pb[i] = j >= 0 ? pads[j] : 0;
        g->pe[i] = j >= 0 ? pads[j + spatial] : 0;
    }
}

loom_status loom__ref_conv(const loom__node *n, const loom_tensor *const *in,
                           loom_tensor *const *out)
{
    const loom__conv_params *p = &n->p.conv;
    const loom_tensor *x = in[0], *w = in[1], *b = loom__opt_in(n, in, 2), *r = loom__opt_in(n, in, 3);
    const float *X = x->data, *W = w->data, *B = b ? b->data : NULL, *R = r ? r->data : NULL;
    float *Y = out[0]->data;
    int64_t N = x->dims[0], C = x->dims[1], M = w->dims[0], G = p->group;
    int64_t cg = C / G, mg = M / G;
    geom3 g;

    geom_init(&g, x, out[0], p->spatial, p->kernel, p->strides, p->dilations, p->pads);
    for (int64_t bn = 0; bn < N; bn++)
        for (int64_t m = 0; m < M; m++) {
            int64_t grp = m / mg;
            for (int64_t od = 0; od < g.out[0]; od++)
                for (int64_t oh = 0; oh < g.out[1]; oh++)
                    for (int64_t ow = 0; ow < g.out[2]; ow++) {
                        double acc = B ? B[m] : 0.0;
                        for (int64_t c = 0; c < cg; c++)
                            for (int64_t kd = 0; kd < g.k[0]; kd++) {
                                int64_t id = od * g.s[0] - g.pb[0] + kd * g.d[0];
                                if (id < 0 || id >= g.in[0])
                                    continue;
                                for (int64_t kh = 0; kh < g.k[1]; kh++) {
                                    int64_t ih = oh * g.s[1] - g.pb[1] + kh * g.d[1];
                                    if (ih < 0 || ih >= g.in[1])
                                        continue;
                                    for (int64_t kw = 0; kw < g.k[2]; kw++) {
                                        int64_t iw = ow * g.s[2] - g.pb[2] + kw * g.d[2];
                                        if (iw < 0 || iw >= g.in[2])
                                            continue;
                                        acc += (double)X[(((bn * C + grp * cg + c) * g.in[0] + id) *
                                                              g.in[1] + ih) * g.in[2] + iw] *
                                               (double)W[(((m * cg + c) * g.k[0] + kd) * g.k[1] + kh) *
                                                             g.k[2] + kw];
                                    }
                                }
                            }
                        Y[(((bn * M + m) * g.out[0] + od) * g.out[1] + oh) * g.out[2] + ow] = (float)acc;
                    }
        }
    if (R) /* a fused residual Add (loom__pass_fuse): one float add, as the Add */
        for (int64_t i = 0; i < out[0]->numel; i++)
            Y[i] += R[i];
    loom__ref_act(Y, out[0]->numel, n);
    return LOOM_OK;
}

/* One pooling window along one dim: [lo, hi) in input coordinates and
 * the element count PyTorch divides by with count_include_pad (the taps
 * of the window, dilated, that lie within the padded extent). */
static void pool_range(const geom3 *g, int i, int64_t o, int64_t *lo, int64_t *hi, int64_t *padded)
{
    int64_t start = o * g->s[i] - g->pb[i];
    int64_t end = start + (g->k[i] - 1) * g->d[i] + 1;
    int64_t pend = end < g->in[i] + g->pe[i] ? end : g->in[i] + g->pe[i];
    *padded = (pend - start + g->d[i] - 1) / g->d[i];
    *lo = start;
    *hi = end;
}

loom_status loom__ref_pool(const loom__node *n, const loom_tensor *const *in,
                           loom_tensor *const *out)
{
    const loom__pool_params *p = &n->p.pool;
    const loom_tensor *x = in[0];
    const bool i8 = x->dtype == LOOM_I8; /* MaxPool of a QDQ model's int8 tensor */
    const float *X = x->data;
    const int8_t *X8 = x->data;
    float *Y = out[0]->data;
    int8_t *Y8 = out[0]->data;
    int64_t planes = x->dims[0] * x->dims[1];
    bool is_max = n->op == LOOM__OP_MaxPool, lp = n->op == LOOM__OP_LpPool;
    geom3 g;

    geom_init(&g, x, out[0], p->spatial, p->kernel, p->strides, p->dilations, p->pads);
    for (int64_t pl = 0; pl < planes; pl++) {
        int64_t xo = pl * g.in[0] * g.in[1] * g.in[2], yo = pl * g.out[0] * g.out[1] * g.out[2];
        for (int64_t od = 0; od < g.out[0]; od++)
            for (int64_t oh = 0; oh < g.out[1]; oh++)
                for (int64_t ow = 0; ow < g.out[2]; ow++) {
                    int64_t lo[3], hi[3], padded[3], o[3] = {od, oh, ow}, real = 0;
                    double sum = 0.0;
                    float mx = -INFINITY;
                    for (int i = 0; i < 3; i++)
                        pool_range(&g, i, o[i], &lo[i], &hi[i], &padded[i]);
                    for (int64_t id = lo[0]; id < hi[0]; id += g.d[0]) {
                        if (id < 0 || id >= g.in[0])
                            continue;
                        for (int64_t ih = lo[1]; ih < hi[1]; ih += g.d[1]) {
                            if (ih < 0 || ih >= g.in[1])
                                continue;
                            for (int64_t iw = lo[2]; iw < hi[2]; iw += g.d[2]) {
                                float v;
                                if (iw < 0 || iw >= g.in[2])
                                    continue;
                                int64_t xi = xo + (id * g.in[1] + ih) * g.in[2] + iw;
                                v = i8 ? (float)X8[xi] : X[xi];
                                mx = v > mx ? v : mx;
                                sum += lp ? pow(fabs((double)v), (double)p->p) : v;
                                real++;
                            }
                        }
                    }
                    int64_t yi = yo + (od * g.out[1] + oh) * g.out[2] + ow;
                    if (is_max && i8)
                        Y8[yi] = (int8_t)(real ? mx : -128.0f);
                    else if (is_max)
                        Y[yi] = mx;
                    else if (lp)
                        Y[yi] = (float)pow(sum, 1.0 / (double)p->p);
                    else {
                        int64_t div = p->count_include_pad ? padded[0] * padded[1] * padded[2] : real;
                        Y[yi] = div ? (float)(sum / (double)div) : 0.0f;
                    }
                }
    }
    return LOOM_OK;
}

loom_status loom__ref_global_avg_pool(const loom__node *n, const loom_tensor *const *in,
                                      loom_tensor *const *out)
{
    const loom_tensor *x = in[0];
    const float *X = x->data;
    float *Y = out[0]->data;
    int64_t planes = x->dims[0] * x->dims[1], len = loom__span(x->dims, 2, x->rank);
    (void)n;
    for (int64_t pl = 0; pl < planes; pl++) {
        double sum = 0.0;
        for (int64_t k = 0; k < len; k++)
            sum += X[pl * len + k];
        Y[pl] = len ? (float)(sum / (double)len) : NAN;
    }
    return LOOM_OK;
}

/* ConvTranspose: every input element scatters into the outputs its
 * kernel taps reach, o = i * stride + k * dilation - pad_begin. */
loom_status loom__ref_conv_transpose(const loom__node *n, const loom_tensor *const *in,
                                     loom_tensor *const *out)
{
    const loom__conv_params *p = &n->p.conv;
    const loom_tensor *x = in[0], *w = in[1], *b = loom__opt_in(n, in, 2);
    loom_tensor *y = out[0];
    int s = p->spatial;
    int64_t N = x->dims[0], C = x->dims[1], M = y->dims[1], G = p->group, cg = C / G, mg = M / G;
    int64_t isz = loom__span(x->dims, 2, x->rank), osz = loom__span(y->dims, 2, y->rank);
    int64_t ksz = loom__span(w->dims, 2, w->rank);
    double *acc = calloc((size_t)(y->numel ? y->numel : 1), sizeof *acc);

    if (!acc)
        return loom__err(LOOM_E_NOMEM, "ConvTranspose: out of memory");
    for (int64_t bn = 0; bn < N; bn++)
        for (int64_t c = 0; c < C; c++) {
            int64_t grp = c / cg;
            for (int64_t i = 0; i < isz; i++) {
                double xv = loom__ref_get_f(x, (bn * C + c) * isz + i);
                int64_t ii[3] = {0, 0, 0};
                int64_t r = i;
                for (int d = s - 1; d >= 0; d--) {
                    ii[d] = r % x->dims[2 + d];
                    r /= x->dims[2 + d];
                }
                for (int64_t k = 0; k < ksz; k++) {
                    int64_t kk[3] = {0, 0, 0}, o = 0, rk = k;
                    bool inside = true;
                    for (int d = s - 1; d >= 0; d--) {
                        kk[d] = rk % p->kernel[d];
                        rk /= p->kernel[d];
                    }
                    for (int d = 0; d < s; d++) {
                        int64_t od = ii[d] * p->strides[d] + kk[d] * p->dilations[d] - p->pads[d];
                        inside &= od >= 0 && od < y->dims[2 + d];
                        o = o * y->dims[2 + d] + od;
                    }
                    if (!inside)
                        continue;
                    for (int64_t m = 0; m < mg; m++)
                        acc[(bn * M + grp * mg + m) * osz + o] +=
                            xv * loom__ref_get_f(w, (c * mg + m) * ksz + k);
                }
            }
        }
    for (int64_t i = 0; i < y->numel; i++)
        loom__ref_set_f(y, i, acc[i] + (b ? loom__ref_get_f(b, (i / osz) % M) : 0.0));
    free(acc);
    return LOOM_OK;
}
