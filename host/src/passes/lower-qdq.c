/*
 * lower-qdq.c - pass 3 (after infer+fold): turn the QuantizeLinear /
 * DequantizeLinear patterns of a QDQ model into loom's int8 nodes, so that
 * the tensors between them stay int8 and the GEMMs run the int8 kernel of
 * loom/kernel-abi.h.
 *
 * Matched, anchored on each QuantizeLinear q (its output y_q):
 *
 *   DQ(x_q) -> Conv|Gemm|MatMul(., DQ(W_q), [bias]) [-> Relu] -> q
 *       becomes  LoomQConv|LoomQGemm(x_q, W_q, bias32, mult, shift) -> y_q
 *   LoomQ*(...) -> y_q -> DQ -> Sigmoid|Tanh -> q  (y_q and the DQ output
 *       read only there) becomes the int8 node with act = LUT: the table
 *       is the float ops DQ -> activation -> q of the file, run by the
 *       reference kernels on all 256 int8 values (so both agree exactly)
 *   DQ(x_q) -> MaxPool|Flatten|Reshape|Squeeze|Unsqueeze|Identity -> q
 *       (q's scale equal to the DQ's) becomes the same op on x_q -> y_q
 *
 * when everything fits the int8 contract: x_q and y_q int8 with zero
 * point 0 and one scale each (sx, sy), W_q a constant int8 with zero point
 * 0 and one scale per output channel (or one for all: sw), the bias a
 * constant (its dequantised value, rounded to int32 in the accumulator's
 * scale sx * sw[n], below 2^30), Gemm with alpha = beta = 1 and no transA,
 * a 2-D Conv, K <= 65536, and every requantisation factor sx * sw[n] / sy
 * representable as mult / 2^(31 + shift) (mult in [2^30, 2^31), shift in
 * [0, 31]). The pre-quantisation value may have no other reader.
 *
 * Everything else stays as the model says: float ops between a
 * DequantizeLinear and a QuantizeLinear, computed in fp32 (this is also
 * how QDQ models from other tools with uint8 or asymmetric activations
 * run). The fold pass has already turned DQ(constant) into float
 * constants; the DQ nodes are still there to be matched and the dce pass
 * drops what the rewrite leaves unread.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/ref/ref.h"
#include "passes/passes.h"

typedef struct {
    loom__graph *g;
    int *readers; /* per value: live readers, +2 for a graph output */
} lower_ctx;

static loom__node *producer(const loom__graph *g, int v)
{
    int p = v >= 0 ? g->values[v].producer : -1;
    return p >= 0 && !g->nodes[p].dead ? &g->nodes[p] : NULL;
}

/* A constant with every element zero (or an absent input). */
static bool zero_or_absent(const loom__value *v)
{
    if (!v)
        return true;
    if (!v->constant)
        return false;
    for (size_t i = 0; i < v->constant->nbytes; i++)
        if (((const uint8_t *)v->constant->data)[i])
            return false;
    return true;
}

static bool scalar_scale(const loom__value *v, float *out)
{
    if (!v || !v->constant || v->dtype != LOOM_F32 || v->constant->numel != 1)
        return false;
    *out = *(const float *)v->constant->data;
    return *out > 0.0f && isfinite(*out);
}

/* x = DQ(x_q) with int8 x_q, zero point 0, one scale: x_q's index. */
static int dq_act(const loom__graph *g, int x, float *scale)
{
    const loom__node *d = producer(g, x);
    if (!d || d->op != LOOM__OP_DequantizeLinear || d->inputs[0] < 0)
        return -1;
    if (g->values[d->inputs[0]].dtype != LOOM_I8 || !scalar_scale(loom__in(g, d, 1), scale) ||
        !zero_or_absent(loom__in(g, d, 2)))
        return -1;
    return d->inputs[0];
}

/* y_q = Q(v) with int8 output, zero point 0 (present), one scale. */
static bool q_fits(const loom__graph *g, const loom__node *q, float *scale)
{
    const loom__value *zp = loom__in(g, q, 2);
    return zp && zp->dtype == LOOM_I8 && zero_or_absent(zp) && q->outputs[0] >= 0 &&
           g->values[q->outputs[0]].dtype == LOOM_I8 && scalar_scale(loom__in(g, q, 1), scale);
}

static int add_const(loom__graph *g, const char *base, const char *suffix, loom_tensor *t)
{
    char name[512];
    int v;
    snprintf(name, sizeof name, "%s%s", base, suffix);
    if ((v = loom__graph_add_value(g, name)) < 0) {
        loom_tensor_free(t);
        return -1;
    }
    loom__value_set_constant(&g->values[v], t);
    return v;
}

/* The weights as int8 B [K, N] (GEMM) or [Cout, Cin/g, KH, KW] (Conv),
 * with their per-channel scales; -1 when they do not fit. */
static int weights(loom__graph *g, const loom__node *c, float **sw, int64_t *channels)
{
    const loom__node *d = producer(g, c->inputs[1]);
    const loom__value *wq, *sc;
    bool trans = c->op == LOOM__OP_Gemm && c->p.gemm.trans_b;
    int axis = c->op == LOOM__OP_Conv || trans ? 0 : 1;
    int64_t nch;

    if (!d || d->op != LOOM__OP_DequantizeLinear || !zero_or_absent(loom__in(g, d, 2)))
        return -1;
    wq = loom__in(g, d, 0);
    sc = loom__in(g, d, 1);
    if (!wq || !wq->constant || wq->dtype != LOOM_I8 || !sc || !sc->constant ||
        (c->op != LOOM__OP_Conv && wq->rank != 2))
        return -1;
    nch = wq->dims[axis];
    if (sc->constant->numel != 1 && (sc->constant->numel != nch || d->p.axis.axis != axis))
        return -1;
    if (!(*sw = loom__malloc((size_t)(nch ? nch : 1) * sizeof **sw)))
        return -1;
    for (int64_t i = 0; i < nch; i++)
        (*sw)[i] = ((const float *)sc->constant->data)[sc->constant->numel == 1 ? 0 : i];
    *channels = nch;
    if (!trans)
        return d->inputs[0];
    {
        /* Gemm with transB: W_q [N, K] -> B [K, N] */
        int64_t N = wq->dims[0], K = wq->dims[1], dims[2] = {K, N};
        loom_tensor *t;
        if (loom__tensor_new(LOOM_I8, 2, dims, &t) != LOOM_OK)
            return -1;
        for (int64_t n = 0; n < N; n++)
            for (int64_t k = 0; k < K; k++)
                ((int8_t *)t->data)[k * N + n] = ((const int8_t *)wq->constant->data)[n * K + k];
        return add_const(g, wq->name, "_kn", t);
    }
}

/* Rewrite compute node c (Conv/Gemm/MatMul) reading x_q into an int8 node
 * writing q's output. False (graph untouched) when it does not fit. */
static bool lower_compute(lower_ctx *cx, loom__node *c, loom__node *q, int act, float sy)
{
    loom__graph *g = cx->g;
    /* the bias constant: a tensor pointer, because weights() may add values
     * (and move g->values) */
    const loom__value *bval = c->op == LOOM__OP_MatMul ? NULL : loom__in(g, c, 2);
    const loom_tensor *bt = bval ? bval->constant : NULL;
    float sx, *sw = NULL;
    int64_t nch = 0, K;
    int xq, wv, vb = -1, vm = -1, vs = -1, *ins;
    loom_tensor *tb = NULL, *tm = NULL, *ts = NULL;
    char lbl[LOOM__LABEL_MAX];
    const char *why = NULL;

    if ((xq = dq_act(g, c->inputs[0], &sx)) < 0)
        return false;
    if (c->op == LOOM__OP_Gemm && (c->p.gemm.trans_a || c->p.gemm.alpha != 1.0f ||
                                   (bval && c->p.gemm.beta != 1.0f)))
        return false;
    if (c->op == LOOM__OP_Conv && c->p.conv.spatial != 2)
        return false;
    if (bval && (!bt || bval->dtype != LOOM_F32))
        return false;
    if ((wv = weights(g, c, &sw, &nch)) < 0)
        goto refuse;
    {
        const loom__value *w = &g->values[wv];
        K = c->op == LOOM__OP_Conv ? w->dims[1] * w->dims[2] * w->dims[3] : w->dims[0];
    }
    if (bt && ((bt->numel != 1 && bt->numel != nch) || bt->rank > 2 || (bt->rank == 2 && bt->dims[0] != 1))) {
        why = "the bias is not one value per output channel";
        goto refuse;
    }
    if (K > ((int64_t)1 << 16)) {
        why = "K is above 65536 (int32 accumulator)";
        goto refuse;
    }
    if (loom__tensor_new(LOOM_I32, 1, &nch, &tb) != LOOM_OK ||
        loom__tensor_new(LOOM_I32, 1, &nch, &tm) != LOOM_OK ||
        loom__tensor_new(LOOM_I32, 1, &nch, &ts) != LOOM_OK)
        goto refuse;
    for (int64_t n = 0; n < nch; n++) {
        double acc_scale = (double)sx * (double)sw[n], b = 0.0;
        int32_t *mult = tm->data, *shift = ts->data;
        if (bt)
            b = rint((double)((const float *)bt->data)[bt->numel == 1 ? 0 : n] /
                     acc_scale);
        if (!(fabs(b) < (double)(1 << 30))) {
            why = "a bias does not fit below 2^30 in the accumulator's scale";
            goto refuse;
        }
        ((int32_t *)tb->data)[n] = (int32_t)b;
        if (loom_requant_from_scale(acc_scale / (double)sy, &mult[n], &shift[n]) != LOOM_OK) {
            why = "a requantisation factor in_scale * w_scale / out_scale is outside [2^-32, 1)";
            goto refuse;
        }
    }
    /* add_const() owns its tensor from the call on (kept or freed) */
    if (!(ins = loom__malloc(5 * sizeof *ins)))
        goto refuse;
    vb = add_const(g, c->name, "_bias_i32", tb), tb = NULL;
    vm = vb < 0 ? -1 : add_const(g, c->name, "_mult", tm), tm = vb < 0 ? tm : NULL;
    vs = vm < 0 ? -1 : add_const(g, c->name, "_shift", ts), ts = vm < 0 ? ts : NULL;
    if (vs < 0) {
        free(ins);
        goto refuse;
    }
    ins[0] = xq, ins[1] = wv, ins[2] = vb, ins[3] = vm, ins[4] = vs;
    free(c->inputs);
    c->inputs = ins;
    c->n_inputs = 5;
    c->op = c->op == LOOM__OP_Conv ? LOOM__OP_LoomQConv : LOOM__OP_LoomQGemm;
    free(c->op_type);
    c->op_type = loom__strdup(loom__op_name(c->op));
    c->act = act;
    c->outputs[0] = q->outputs[0];
    g->values[q->outputs[0]].producer = (int)(c - g->nodes);
    q->dead = true;
    free(sw);
    loom__log(LOOM_LOG_DEBUG, "%s: %s: int8", g->source, loom__node_label(g, c, lbl, sizeof lbl));
    return true;
refuse:
    if (why)
        loom__log(LOOM_LOG_INFO, "%s: %s stays float: %s", g->source,
                  loom__node_label(g, c, lbl, sizeof lbl), why);
    loom_tensor_free(tb);
    loom_tensor_free(tm);
    loom_tensor_free(ts);
    free(sw);
    return false;
}

/* The LUT of dq -> act -> q over every int8 input (index y + 128), by the
 * reference kernels of those very nodes; NULL when out of memory. */
static loom_tensor *act_lut(const loom__graph *g, const loom__node *dq, const loom__node *act,
                            const loom__node *q)
{
    int64_t n = 256;
    loom_tensor *xi = NULL, *xf = NULL, *yf = NULL, *yq = NULL;
    const loom_tensor *in[3];
    bool ok;
    if (loom_tensor_create(LOOM_I8, 1, &n, &xi) != LOOM_OK || loom_tensor_create(LOOM_F32, 1, &n, &xf) != LOOM_OK ||
        loom_tensor_create(LOOM_F32, 1, &n, &yf) != LOOM_OK || loom_tensor_create(LOOM_I8, 1, &n, &yq) != LOOM_OK) {
        ok = false;
        goto done;
    }
    for (int i = 0; i < 256; i++)
        ((int8_t *)xi->data)[i] = (int8_t)(i - 128);
    in[0] = xi, in[1] = loom__in(g, dq, 1)->constant, in[2] = loom__in(g, dq, 2) ? loom__in(g, dq, 2)->constant : NULL;
    ok = loom__ref_kernel(dq->op)(dq, in, &xf) == LOOM_OK;
    in[0] = xf;
    ok = ok && loom__ref_kernel(act->op)(act, in, &yf) == LOOM_OK;
    in[0] = yf, in[1] = loom__in(g, q, 1)->constant, in[2] = loom__in(g, q, 2)->constant;
    ok = ok && loom__ref_kernel(q->op)(q, in, &yq) == LOOM_OK;
done:
    loom_tensor_free(xi);
    loom_tensor_free(xf);
    loom_tensor_free(yf);
    if (!ok) {
        loom_tensor_free(yq);
        return NULL;
    }
    return yq;
}

/* q = Q(act(DQ(y_q))) with y_q from an int8 node without activation:
 * the activation becomes that node's LUT. */
static void lower_lut(lower_ctx *cx, loom__node *act, loom__node *q)
{
    loom__graph *g = cx->g;
    loom__node *d = producer(g, act->inputs[0]), *c;
    float s;
    int yq, v, *ins;
    loom_tensor *lut;
    if (!d || act->inputs[0] < 0 || cx->readers[act->inputs[0]] != 1 || (yq = dq_act(g, act->inputs[0], &s)) < 0 ||
        cx->readers[yq] != 1 || !(c = producer(g, yq)) ||
        (c->op != LOOM__OP_LoomQGemm && c->op != LOOM__OP_LoomQConv) || c->act != LOOM_ACT_NONE ||
        c->n_inputs != 5 || !(lut = act_lut(g, d, act, q)))
        return;
    if ((v = add_const(g, c->name, "_lut", lut)) < 0 || !(ins = realloc(c->inputs, 6 * sizeof *ins)))
        return;
    c->inputs = ins;
    c->inputs[5] = v;
    c->n_inputs = 6;
    c->act = LOOM_ACT_LUT;
    c->outputs[0] = q->outputs[0];
    g->values[q->outputs[0]].producer = (int)(c - g->nodes);
    q->dead = act->dead = d->dead = true;
}

bool loom__op_moves_int8(loom__op op)
{
    switch (op) {
    case LOOM__OP_MaxPool: case LOOM__OP_Flatten: case LOOM__OP_Reshape: case LOOM__OP_Squeeze:
    case LOOM__OP_Unsqueeze: case LOOM__OP_Identity:
        return true;
    default:
        return false;
    }
}

static void lower_one(lower_ctx *cx, loom__node *q)
{
    loom__graph *g = cx->g;
    int v = q->inputs[0];
    float sy, sx;
    loom__node *p, *c;
    int act = LOOM_ACT_NONE, xq;

    if (!q_fits(g, q, &sy) || v < 0 || cx->readers[v] != 1 || !(p = producer(g, v)) ||
        p->n_outputs < 1 || p->outputs[0] != v)
        return;
    if (loom__op_moves_int8(p->op)) {
        /* the same scale on both sides: the op moves int8 values as they are */
        if ((xq = dq_act(g, p->inputs[0], &sx)) < 0 || sx != sy ||
            (p->n_outputs > 1 && p->outputs[1] >= 0))
            return;
        p->inputs[0] = xq;
        p->outputs[0] = q->outputs[0];
        g->values[q->outputs[0]].producer = (int)(p - g->nodes);
        q->dead = true;
        return;
    }
    if (p->op == LOOM__OP_Sigmoid || p->op == LOOM__OP_Tanh) {
        lower_lut(cx, p, q);
        return;
    }
    c = p;
    if (p->op == LOOM__OP_Relu) {
        if (p->inputs[0] < 0 || cx->readers[p->inputs[0]] != 1 || !(c = producer(g, p->inputs[0])))
            return;
        act = LOOM_ACT_RELU;
    }
    if ((c->op != LOOM__OP_Conv && c->op != LOOM__OP_Gemm && c->op != LOOM__OP_MatMul) ||
        c->act != LOOM_ACT_NONE || c->n_outputs != 1)
        return;
    if (lower_compute(cx, c, q, act, sy) && c != p)
        p->dead = true; /* the Relu is now the int8 node's act */
}

loom_status loom__pass_lower_qdq(loom__graph *g)
{
    lower_ctx cx = {.g = g};
    int n_nodes = g->n_nodes;
    bool any = false;

    for (int i = 0; i < n_nodes; i++)
        any |= g->nodes[i].op == LOOM__OP_QuantizeLinear && !g->nodes[i].dead;
    if (!any)
        return LOOM_OK;
    if (!(cx.readers = loom__calloc((size_t)g->n_values + 1, sizeof *cx.readers)))
        return loom__err(LOOM_E_NOMEM, "out of memory");
    for (int i = 0; i < n_nodes; i++) {
        const loom__node *n = &g->nodes[i];
        if (n->dead || loom__outputs_constant(g, n))
            continue;
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] >= 0)
                cx.readers[n->inputs[k]]++;
    }
    for (int k = 0; k < g->n_outputs; k++)
        cx.readers[g->outputs[k]] += 2;
    for (int i = 0; i < n_nodes; i++) {
        loom__node *q = &g->nodes[i];
        if (q->op == LOOM__OP_QuantizeLinear && !q->dead && !loom__outputs_constant(g, q))
            lower_one(&cx, q);
    }
    free(cx.readers);
    return LOOM_OK;
}
