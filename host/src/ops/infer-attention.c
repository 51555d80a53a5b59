/* infer-attention.c - shape inference for Attention (opset 23: Q, K, V
 * with an optional mask and a past key/value cache, grouped-query heads,
 * causal and sliding-window masks, softcap) and RotaryEmbedding. */
#include <math.h>
#include <string.h>

#include "ops/ops.h"

static loom_status infer_attention(loom__graph *g, loom__node *n)
{
    loom__attn_params *p = &n->p.attn;
    const loom__value *q, *k, *v, *mask, *pk, *pv, *nonpad;
    int64_t causal, qh = 0, kvh = 0, mode, dims[4], total;
    loom_status st;

    memset(p, 0, sizeof *p);
    if ((st = loom__check_arity(g, n, 3, 7, 4)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 0, LOOM__DT_FLOAT)) != LOOM_OK ||
        (st = loom__check_rank(g, n, 0, 3, 4)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "is_causal", 0, &causal)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "q_num_heads", 0, &qh)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "kv_num_heads", 0, &kvh)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "qk_matmul_output_mode", 0, &mode)) != LOOM_OK ||
        (st = loom__attr_float(g, n, "softcap", 0.0f, &p->softcap)) != LOOM_OK ||
        (st = loom__attr_float(g, n, "scale", 0.0f, &p->scale)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "left_window_size", -1, &p->left)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "right_window_size", -1, &p->right)) != LOOM_OK)
        return st;
    q = loom__in(g, n, 0);
    k = loom__in(g, n, 1);
    v = loom__in(g, n, 2);
    mask = loom__in(g, n, 3);
    pk = loom__in(g, n, 4);
    pv = loom__in(g, n, 5);
    nonpad = loom__in(g, n, 6);
    p->has_scale = loom__attr_find(n, "scale") != NULL;
    p->causal = causal != 0;
    p->qk_mode = (int)mode;
    if (mode < 0 || mode > 3 || p->left < -1 || p->right < -1)
        return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "qk_matmul_output_mode or a window size is invalid");
    if (k->rank != q->rank || v->rank != q->rank || k->dtype != q->dtype || v->dtype != q->dtype)
        return loom__node_err(g, n, LOOM_E_SHAPE, "Q, K and V must share rank and dtype");
    if ((!pk) != (!pv))
        return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "past_key and past_value come together");
    if (nonpad && pk)
        return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "nonpad_kv_seqlen with a past cache");
    p->B = q->dims[0];
    if (q->rank == 3) {
        p->three_d = true;
        if (qh < 1 || kvh < 1 || q->dims[2] % qh || k->dims[2] % kvh || v->dims[2] % kvh)
            return loom__node_err(g, n, LOOM_E_MODEL_INVALID,
                                  "3-D inputs need q_num_heads and kv_num_heads that divide the hidden sizes");
        p->Hq = qh;
        p->Hkv = kvh;
        p->Sq = q->dims[1];
        p->Skv = k->dims[1];
        p->Dh = q->dims[2] / qh;
        if (k->dims[2] / kvh != p->Dh || v->dims[1] != p->Skv)
            return loom__node_err(g, n, LOOM_E_SHAPE, "K's head size or V's sequence differs from Q's");
        p->Dv = v->dims[2] / kvh;
    } else {
        p->Hq = q->dims[1];
        p->Hkv = k->dims[1];
        p->Sq = q->dims[2];
        p->Skv = k->dims[2];
        p->Dh = q->dims[3];
        p->Dv = v->dims[3];
        if (k->dims[3] != p->Dh || v->dims[1] != p->Hkv || v->dims[2] != p->Skv)
            return loom__node_err(g, n, LOOM_E_SHAPE, "K and V do not match Q");
    }
    if (k->dims[0] != p->B || v->dims[0] != p->B || p->Hkv < 1 || p->Hq % p->Hkv)
        return loom__node_err(g, n, LOOM_E_SHAPE, "batches differ, or %lld heads are not a multiple of %lld",
                              (long long)p->Hq, (long long)p->Hkv);
    if (pk) {
        if (pk->rank != 4 || pv->rank != 4 || pk->dims[0] != p->B || pk->dims[1] != p->Hkv ||
            pk->dims[3] != p->Dh || pv->dims[0] != p->B || pv->dims[1] != p->Hkv || pv->dims[2] != pk->dims[2] ||
            pv->dims[3] != p->Dv || pk->dtype != q->dtype || pv->dtype != q->dtype)
            return loom__node_err(g, n, LOOM_E_SHAPE, "past_key/past_value do not match K and V");
        p->past = pk->dims[2];
    }
    total = p->past + p->Skv;
    if (mask) {
        int64_t want[4] = {p->B, p->Hq, p->Sq, total};
        if (mask->rank < 1 || mask->rank > 4 || mask->dims[mask->rank - 1] > total ||
            (mask->dtype != LOOM_BOOL && mask->dtype != q->dtype))
            return loom__node_err(g, n, LOOM_E_SHAPE, "attn_mask does not fit [batch, heads, q, kv]");
        for (int i = 1; i < mask->rank; i++) {
            int64_t d = mask->dims[mask->rank - 1 - i], w = want[3 - i];
            if (d != 1 && d != w)
                return loom__node_err(g, n, LOOM_E_SHAPE, "attn_mask does not broadcast to [batch, heads, q, kv]");
        }
    }
    if (nonpad && (nonpad->rank != 1 || nonpad->dims[0] != p->B || !(LOOM__DT_INDEX & LOOM__DT(nonpad->dtype))))
        return loom__node_err(g, n, LOOM_E_SHAPE, "nonpad_kv_seqlen must be [batch] integers");
    if (p->three_d) {
        dims[0] = p->B, dims[1] = p->Sq, dims[2] = p->Hq * p->Dv;
        loom__set_output(g, n, 0, q->dtype, 3, dims);
    } else {
        dims[0] = p->B, dims[1] = p->Hq, dims[2] = p->Sq, dims[3] = p->Dv;
        loom__set_output(g, n, 0, q->dtype, 4, dims);
    }
    dims[0] = p->B, dims[1] = p->Hkv, dims[2] = total, dims[3] = p->Dh;
    loom__set_output(g, n, 1, q->dtype, 4, dims);
    dims[3] = p->Dv;
    loom__set_output(g, n, 2, q->dtype, 4, dims);
    dims[1] = p->Hq, dims[2] = p->Sq, dims[3] = total;
    loom__set_output(g, n, 3, q->dtype, 4, dims);
    return LOOM_OK;
}

static loom_status infer_rotary(loom__graph *g, loom__node *n)
{
    loom__misc_params *p = &n->p.misc;
    const loom__value *x, *cosc;
    int64_t heads, rot, inter, head;
    loom_status st;

    memset(p, 0, sizeof *p);
    if ((st = loom__check_arity(g, n, 3, 4, 1)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 0, LOOM__DT_FLOAT)) != LOOM_OK ||
        (st = loom__check_rank(g, n, 0, 3, 4)) != LOOM_OK ||
        (st = loom__check_dtype(g, n, 3, LOOM__DT_INDEX)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "num_heads", 0, &heads)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "rotary_embedding_dim", 0, &rot)) != LOOM_OK ||
        (st = loom__attr_int(g, n, "interleaved", 0, &inter)) != LOOM_OK)
        return st;
    x = loom__in(g, n, 0);
    cosc = loom__in(g, n, 1);
    if (x->rank == 3 && (heads < 1 || x->dims[2] % heads))
        return loom__node_err(g, n, LOOM_E_MODEL_INVALID, "3-D input needs num_heads dividing the hidden size");
    head = x->rank == 4 ? x->dims[3] : x->dims[2] / heads;
    if (rot == 0)
        rot = head;
    if (rot < 2 || rot > head || rot % 2 || cosc->dims[cosc->rank - 1] != rot / 2 ||
        !loom__in(g, n, 2) || loom__in(g, n, 2)->rank != cosc->rank)
        return loom__node_err(g, n, LOOM_E_SHAPE, "the caches' last dim must be rotary_embedding_dim / 2");
    if (!loom__in(g, n, 3) ? cosc->rank != 3 : cosc->rank != 2)
        return loom__node_err(g, n, LOOM_E_SHAPE, "the caches are [positions, dim/2] with position_ids, else [batch, sequence, dim/2]");
    p->i[0] = x->rank == 3 ? heads : x->dims[1];
    p->i[1] = rot;
    p->i[2] = head;
    p->mode = inter != 0;
    loom__set_output(g, n, 0, x->dtype, x->rank, x->dims);
    return LOOM_OK;
}

loom_status loom__infer_attention(loom__graph *g, loom__node *n)
{
    return n->op == LOOM__OP_Attention ? infer_attention(g, n) : infer_rotary(g, n);
}
