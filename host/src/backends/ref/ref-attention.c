/* ref-attention.c - Attention and RotaryEmbedding (ops/infer-attention.c)
 * as the ONNX reference defines them, in double: scores Q.K^T with the
 * scale split over both (sqrt(scale) each), softcap, the bias of the mask,
 * the causal frontier (bottom-right aligned with a past cache) and the
 * sliding window, a softmax whose fully masked rows give 0, then .V. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/ref/ref-impl.h"

typedef struct {
    const loom__attn_params *p;
    const loom_tensor *q, *k, *v, *mask, *pk, *pv, *nonpad;
    int64_t total;
} attn;

/* element (b, h, s, d) of a [B, H, S, D] tensor, or of its 3-D [B, S, H*D] form */
static int64_t at4(bool three_d, int64_t H, int64_t S, int64_t D, int64_t b, int64_t h, int64_t s, int64_t d)
{
    return three_d ? (b * S + s) * H * D + h * D + d : ((b * H + h) * S + s) * D + d;
}

static double key_at(const attn *a, int64_t b, int64_t kh, int64_t j, int64_t d, bool value)
{
    const loom__attn_params *p = a->p;
    int64_t D = value ? p->Dv : p->Dh;
    if (j < p->past)
        return loom__ref_get_f(value ? a->pv : a->pk, ((b * p->Hkv + kh) * p->past + j) * D + d);
    return loom__ref_get_f(value ? a->v : a->k, at4(p->three_d, p->Hkv, p->Skv, D, b, kh, j - p->past, d));
}

/* The mask's additive bias at (b, h, i, j): 0 or -inf for a bool mask
 * (padded with false), the value for a float one (padded with -inf). */
static double mask_at(const attn *a, int64_t b, int64_t h, int64_t i, int64_t j)
{
    const loom_tensor *m = a->mask;
    int64_t idx[4] = {b, h, i, j}, off = 0;
    int r = m->rank;
    if (j >= m->dims[r - 1])
        return -INFINITY;
    for (int k = 0; k < r; k++) {
        int64_t dim = m->dims[k], x = idx[4 - r + k];
        off = off * dim + (dim == 1 ? 0 : x);
    }
    if (m->dtype == LOOM_BOOL)
        return ((const uint8_t *)m->data)[off] ? 0.0 : -INFINITY;
    return loom__ref_get_f(m, off);
}

static double bias_at(const attn *a, int64_t b, int64_t h, int64_t i, int64_t j)
{
    const loom__attn_params *p = a->p;
    double bias = a->mask ? mask_at(a, b, h, i, j) : 0.0;
    int64_t offset = p->past;
    if (a->nonpad)
        offset = loom__ref_get_i(a->nonpad, b) - p->Sq;
    if (p->causal && j > i + offset)
        bias = -INFINITY;
    if (p->left >= 0 || p->right >= 0) {
        int64_t diff = i + offset - j;
        if ((p->left >= 0 && diff > p->left) || (p->right >= 0 && -diff > p->right))
            bias = -INFINITY;
    }
    if (a->nonpad && j >= loom__ref_get_i(a->nonpad, b))
        bias = -INFINITY;
    return bias;
}

static loom_status attention(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out)
{
    const loom__attn_params *p = &n->p.attn;
    attn a = {p, in[0], in[1], in[2], loom__opt_in(n, in, 3), loom__opt_in(n, in, 4), loom__opt_in(n, in, 5),
              loom__opt_in(n, in, 6), p->past + p->Skv};
    loom_tensor *y = out[0], *pres_k = n->n_outputs > 1 ? out[1] : NULL;
    loom_tensor *pres_v = n->n_outputs > 2 ? out[2] : NULL, *qk_out = n->n_outputs > 3 ? out[3] : NULL;
    int64_t T = a.total, group = p->Hq / p->Hkv;
    double scale = p->has_scale ? p->scale : 1.0 / sqrt((double)p->Dh), s = sqrt(scale);
    double *qk = malloc((size_t)(T ? T : 1) * 3 * sizeof *qk), *biased = qk + T, *w = qk + 2 * T;

    if (!qk)
        return loom__err(LOOM_E_NOMEM, "Attention: out of memory");
    if (a.nonpad)
        for (int64_t b = 0; b < p->B; b++) {
            int64_t l = loom__ref_get_i(a.nonpad, b);
            if (l < 0 || l > T) {
                free(qk);
                return loom__err(LOOM_E_DATA_INVALID, "Attention: nonpad_kv_seqlen[%lld] = %lld is out of range",
                                 (long long)b, (long long)l);
            }
        }
    for (int64_t b = 0; b < p->B; b++)
        for (int64_t h = 0; h < p->Hq; h++)
            for (int64_t i = 0; i < p->Sq; i++) {
                double mx = -INFINITY, bmx = -INFINITY, sum = 0.0;
                int64_t kh = h / group;
                for (int64_t j = 0; j < T; j++) {
                    double dot = 0.0, bias = bias_at(&a, b, h, i, j);
                    for (int64_t d = 0; d < p->Dh; d++)
                        dot += loom__ref_get_f(a.q, at4(p->three_d, p->Hq, p->Sq, p->Dh, b, h, i, d)) * s *
                               (key_at(&a, b, kh, j, d, false) * s);
                    if (p->softcap > 0.0f)
                        dot = p->softcap * tanh(dot / p->softcap);
                    qk[j] = dot;
                    biased[j] = dot + bias;
                    mx = fmax(mx, biased[j]);
                    bmx = fmax(bmx, bias);
                }
                if (mx == -INFINITY)
                    mx = 0.0;
                for (int64_t j = 0; j < T; j++)
                    sum += (w[j] = exp(biased[j] - mx));
                for (int64_t j = 0; j < T; j++)
                    w[j] = bmx == -INFINITY ? 0.0 : w[j] / (sum == 0.0 ? 1.0 : sum);
                if (qk_out) {
                    const double *src = p->qk_mode == 3 ? w : p->qk_mode == 2 ? biased : qk;
                    for (int64_t j = 0; j < T; j++)
                        loom__ref_set_f(qk_out, ((b * p->Hq + h) * p->Sq + i) * T + j, src[j]);
                }
                for (int64_t d = 0; d < p->Dv; d++) {
                    double acc = 0.0;
                    for (int64_t j = 0; j < T; j++)
                        acc += w[j] * key_at(&a, b, kh, j, d, true);
                    loom__ref_set_f(y, at4(p->three_d, p->Hq, p->Sq, p->Dv, b, h, i, d), acc);
                }
            }
    for (int64_t b = 0; b < p->B; b++)
        for (int64_t kh = 0; kh < p->Hkv; kh++)
            for (int64_t j = 0; j < T; j++) {
                for (int64_t d = 0; pres_k && d < p->Dh; d++)
                    loom__ref_set_f(pres_k, ((b * p->Hkv + kh) * T + j) * p->Dh + d, key_at(&a, b, kh, j, d, false));
                for (int64_t d = 0; pres_v && d < p->Dv; d++)
                    loom__ref_set_f(pres_v, ((b * p->Hkv + kh) * T + j) * p->Dv + d, key_at(&a, b, kh, j, d, true));
            }
    free(qk);
    return LOOM_OK;
}

/* x as [B, S, H, D] (a 4-D input is [B, H, S, D]); the first rot dims
 * of each head rotate by the cached angle of its position. */
static loom_status rotary(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out)
{
    const loom__misc_params *p = &n->p.misc;
    const loom_tensor *x = in[0], *cs = in[1], *sn = in[2], *pos = loom__opt_in(n, in, 3);
    int64_t H = p->i[0], rot = p->i[1], D = p->i[2], half = rot / 2;
    bool four = x->rank == 4, inter = p->mode;
    int64_t B = x->dims[0], S = four ? x->dims[2] : x->dims[1];
    for (int64_t b = 0; b < B; b++)
        for (int64_t s = 0; s < S; s++) {
            int64_t row; /* of the caches */
            if (pos) {
                row = loom__ref_get_i(pos, b * S + s);
                if (row < 0 || row >= cs->dims[0])
                    return loom__err(LOOM_E_DATA_INVALID, "RotaryEmbedding: position %lld is outside the cache",
                                     (long long)row);
            } else {
                if (b >= cs->dims[0] || s >= cs->dims[1])
                    return loom__err(LOOM_E_SHAPE, "RotaryEmbedding: the caches are smaller than the input");
                row = b * cs->dims[1] + s;
            }
            for (int64_t h = 0; h < H; h++) {
                int64_t base = four ? ((b * H + h) * S + s) * D : ((b * S + s) * H + h) * D;
                for (int64_t d = rot; d < D; d++)
                    loom__ref_set_f(out[0], base + d, loom__ref_get_f(x, base + d));
                for (int64_t k = 0; k < half; k++) {
                    int64_t i1 = inter ? 2 * k : k, i2 = inter ? 2 * k + 1 : k + half;
                    double c = loom__ref_get_f(cs, row * half + k), si = loom__ref_get_f(sn, row * half + k);
                    double x1 = loom__ref_get_f(x, base + i1), x2 = loom__ref_get_f(x, base + i2);
                    loom__ref_set_f(out[0], base + i1, c * x1 - si * x2);
                    loom__ref_set_f(out[0], base + i2, si * x1 + c * x2);
                }
            }
        }
    return LOOM_OK;
}

loom_status loom__ref_attention(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out)
{
    return n->op == LOOM__OP_Attention ? attention(n, in, out) : rotary(n, in, out);
}
