/*
 * quantize.c - int8 post-training quantisation (loom_quantize, see
 * loom.h): BatchNormalization folding, calibration, and the QDQ model.
 *
 * Works on a copy of the declared graph (what import made, before any
 * pass), so the model written keeps the original's inputs, outputs,
 * symbolic dims and every float op as it was:
 *   1. fold each BatchNormalization whose input is a Conv's only reader
 *      into that Conv's weights and bias (exact in real arithmetic);
 *   2. pick the compute nodes: Conv (2-D) / Gemm / MatMul with constant
 *      weights; their input and their output (after a Relu that alone
 *      reads it) are the tensors to calibrate;
 *   3. calibrate: run the folded float graph on every batch (a session
 *      keeping every value) and record max |x| per tensor, and for the
 *      percentile and entropy methods a histogram of |x| in a second
 *      round;
 *   4. insert QuantizeLinear/DequantizeLinear pairs: activations per
 *      tensor (scale = range / 127, zero point 0), weights per output
 *      channel (scale = max |w| / 127), bias as int32 in the accumulator's
 *      scale; a produced tensor keeps its name as the DequantizeLinear's
 *      output (its producer writes "<name>_prequant"), a graph input gets
 *      "<name>_dequantized" for its readers;
 *   5. sort and write the ONNX file.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/exec.h"
#include "export/export.h"
#include "ir/model.h"
#include "passes/passes.h"
#include "quant/quant.h"

#define HIST_BINS 4096

typedef struct {
    int value;          /* in the folded graph */
    double absmax;
    uint64_t *hist;     /* percentile: HIST_BINS over [0, absmax] */
    uint64_t count;
    bool seen;
} calib_tensor;

typedef struct {
    int node;          /* compute node */
    int x, out;        /* its input and its (post-Relu) output value */
    int act_out;       /* the output of a Sigmoid/Tanh that alone reads out, or -1 */
} compute_node;

typedef struct {
    loom__graph *g;
    calib_tensor *t;
    int n_t;
    compute_node *c;
    int n_c;
    int *dq_of;        /* value -> the value its readers use after quantisation, or -1 */
    float *dq_scale;   /* scale of a DequantizeLinear output value, 0 if none */
    int cap_values;
    loom_quantize_summary sum;
} qctx;

/* ---- graph editing ---- */

/* A new value named base + suffix (+ a counter when taken). */
static int new_value(loom__graph *g, const char *base, const char *suffix)
{
    char name[512];
    snprintf(name, sizeof name, "%s%s", base, suffix);
    for (int k = 2; loom__graph_find_value(g, name) >= 0; k++)
        snprintf(name, sizeof name, "%s%s_%d", base, suffix, k);
    return loom__graph_add_value(g, name);
}

static int new_const(loom__graph *g, const char *base, const char *suffix, loom_tensor *t)
{
    int v = t ? new_value(g, base, suffix) : -1;
    if (v < 0) {
        loom_tensor_free(t);
        return -1;
    }
    loom__value_set_constant(&g->values[v], t);
    return v;
}

/* Zero-filled (zero points are these zeros). */
static loom_tensor *tensor(loom_dtype dt, int rank, const int64_t *dims)
{
    loom_tensor *t = NULL;
    return loom_tensor_create(dt, rank, dims, &t) == LOOM_OK ? t : NULL;
}

/* A node op(inputs) -> output with an optional int attribute; its index. */
static int add_node(loom__graph *g, loom__op op, const char *name, const int *in, int n_in, int out,
                    const char *attr, int64_t attr_value)
{
    loom__node *n = loom__graph_add_node(g, n_in, 1);
    char buf[512];
    if (!n)
        return -1;
    snprintf(buf, sizeof buf, "%s_%s", name, loom__op_name(op));
    n->name = loom__strdup(buf);
    n->op_type = loom__strdup(loom__op_name(op));
    n->op = op;
    memcpy(n->inputs, in, (size_t)n_in * sizeof *in);
    n->outputs[0] = out;
    if (attr && (n->attrs = loom__calloc(1, sizeof *n->attrs))) {
        n->n_attrs = 1;
        n->attrs[0].name = loom__strdup(attr);
        n->attrs[0].type = LOOM__ATTR_INT;
        n->attrs[0].i = attr_value;
    }
    if (!n->name || !n->op_type || (attr && (!n->attrs || !n->attrs[0].name)))
        return -1;
    return n->index;
}

static loom_status nomem(void)
{
    return loom__err(LOOM_E_NOMEM, "out of memory");
}

/* Room in the per-value maps for every value the graph has now. */
static loom_status grow_maps(qctx *q)
{
    if (q->g->n_values <= q->cap_values)
        return LOOM_OK;
    int cap = q->g->n_values * 2;
    int *d = realloc(q->dq_of, (size_t)cap * sizeof *d);
    float *s = d ? realloc(q->dq_scale, (size_t)cap * sizeof *s) : NULL;
    if (d)
        q->dq_of = d;
    if (s)
        q->dq_scale = s;
    if (!d || !s)
        return nomem();
    for (int v = q->cap_values; v < cap; v++)
        q->dq_of[v] = -1, q->dq_scale[v] = 0.0f;
    q->cap_values = cap;
    return LOOM_OK;
}

/* ---- attributes ---- */

/* Integer attribute name (ONNX default dflt when absent) equals want. */
static bool attr_is(const loom__graph *g, const loom__node *n, const char *name, int64_t dflt, int64_t want)
{
    int64_t v = 0;
    return loom__attr_int(g, n, name, dflt, &v) == LOOM_OK && v == want;
}

static bool float_is(const loom__graph *g, const loom__node *n, const char *name, float dflt, float want)
{
    float v = 0;
    return loom__attr_float(g, n, name, dflt, &v) == LOOM_OK && v == want;
}

/* ---- 1. BatchNormalization folding ---- */

static int readers(const loom__graph *g, int v, int *only)
{
    int count = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const loom__node *n = &g->nodes[i];
        for (int k = 0; !n->dead && k < n->n_inputs; k++)
            if (n->inputs[k] == v) {
                count++;
                *only = i;
            }
    }
    for (int k = 0; k < g->n_outputs; k++)
        count += 2 * (g->outputs[k] == v);
    return count;
}

static const float *const_f32(const loom__graph *g, int v, int64_t numel)
{
    const loom__value *x = v >= 0 ? &g->values[v] : NULL;
    return x && x->constant && x->constant->dtype == LOOM_F32 && x->producer < 0 &&
                   (numel < 0 || x->constant->numel == numel)
               ? x->constant->data
               : NULL;
}

static loom_status fold_bn(qctx *q, int bi)
{
    loom__graph *g = q->g;
    loom__node *bn = &g->nodes[bi], *c;
    const loom__value *wv;
    const float *sc, *bb, *mu, *var, *w, *cb = NULL;
    int only = -1, p, vw, vb;
    float eps = 1e-5f;
    int64_t M, per;
    loom_tensor *nw, *nb;

    if (bn->n_inputs < 5 || bn->inputs[0] < 0 || bn->n_outputs < 1 || bn->outputs[0] < 0 ||
        (p = g->values[bn->inputs[0]].producer) < 0 || !attr_is(g, bn, "training_mode", 0, 0))
        return LOOM_OK;
    c = &g->nodes[p];
    if (c->op != LOOM__OP_Conv || c->dead || c->n_inputs < 2 || readers(g, bn->inputs[0], &only) != 1 ||
        (bn->n_outputs > 1 && ((bn->n_outputs > 1 && bn->outputs[1] >= 0) ||
                               (bn->n_outputs > 2 && bn->outputs[2] >= 0))))
        return LOOM_OK;
    if (!(w = const_f32(g, c->inputs[1], -1)))
        return LOOM_OK;
    wv = &g->values[c->inputs[1]];
    M = wv->constant->dims[0];
    if (wv->constant->rank < 3 || M <= 0)
        return LOOM_OK;
    per = wv->constant->numel / M;
    if (!(sc = const_f32(g, bn->inputs[1], M)) || !(bb = const_f32(g, bn->inputs[2], M)) ||
        !(mu = const_f32(g, bn->inputs[3], M)) || !(var = const_f32(g, bn->inputs[4], M)))
        return LOOM_OK;
    if (c->n_inputs > 2 && c->inputs[2] >= 0 && !(cb = const_f32(g, c->inputs[2], M)))
        return LOOM_OK;
    if (loom__attr_float(g, bn, "epsilon", 1e-5f, &eps) != LOOM_OK)
        return loom__err_prefix(LOOM_E_MODEL_INVALID, "folding BatchNormalization");
    nw = tensor(LOOM_F32, wv->constant->rank, wv->constant->dims);
    nb = tensor(LOOM_F32, 1, &M);
    if (!nw || !nb) {
        loom_tensor_free(nw);
        loom_tensor_free(nb);
        return nomem();
    }
    for (int64_t m = 0; m < M; m++) {
        double s = (double)sc[m] / sqrt((double)var[m] + (double)eps);
        for (int64_t k = 0; k < per; k++)
            ((float *)nw->data)[m * per + k] = (float)((double)w[m * per + k] * s);
        ((float *)nb->data)[m] = (float)(((cb ? (double)cb[m] : 0.0) - (double)mu[m]) * s + (double)bb[m]);
    }
    {
        char base[300];
        snprintf(base, sizeof base, "%s", g->values[c->inputs[1]].name);
        if ((vw = new_const(g, base, "_bnfolded", nw)) < 0 ||
            (vb = new_const(g, c->name[0] ? c->name : "conv", "_bias_bnfolded", nb)) < 0)
            return nomem();
    }
    c = &g->nodes[p];
    bn = &g->nodes[bi];
    if (c->n_inputs < 3) {
        int *ins = realloc(c->inputs, 3 * sizeof *ins);
        if (!ins)
            return nomem();
        c->inputs = ins;
        c->n_inputs = 3;
    }
    c->inputs[1] = vw;
    c->inputs[2] = vb;
    /* the Conv writes what the BatchNormalization wrote */
    c->outputs[0] = bn->outputs[0];
    g->values[bn->outputs[0]].producer = p;
    for (int k = 0; k < bn->n_inputs; k++)
        bn->inputs[k] = -1;
    for (int k = 0; k < bn->n_outputs; k++)
        bn->outputs[k] = -1;
    bn->dead = true;
    q->sum.bn_folded++;
    return LOOM_OK;
}

/* ---- 2. compute nodes ---- */

static bool all_finite(const loom_tensor *t)
{
    for (int64_t i = 0; i < t->numel; i++)
        if (!isfinite(((const float *)t->data)[i]))
            return false;
    return true;
}

static bool computable(const loom__graph *g, const loom__node *n)
{
    const loom__value *w = n->n_inputs > 1 && n->inputs[1] >= 0 ? &g->values[n->inputs[1]] : NULL;
    if (n->dead || n->n_outputs != 1 || n->outputs[0] < 0 || n->inputs[0] < 0 || !w ||
        !const_f32(g, n->inputs[1], -1) || !all_finite(w->constant) ||
        (n->n_inputs > 2 && n->inputs[2] >= 0 && const_f32(g, n->inputs[2], -1) &&
         !all_finite(g->values[n->inputs[2]].constant)))
        return false;
    switch (n->op) {
    case LOOM__OP_Conv:
        return w->constant->rank == 4 && (n->n_inputs < 3 || n->inputs[2] < 0 ||
                                          const_f32(g, n->inputs[2], w->constant->dims[0]));
    case LOOM__OP_Gemm: {
        int64_t N = attr_is(g, n, "transB", 0, 1) ? w->constant->dims[0] : w->constant->dims[1];
        /* a bias per output column: [N] or [1, N] (not [M, 1]) */
        const loom__value *c = n->n_inputs > 2 && n->inputs[2] >= 0 ? &g->values[n->inputs[2]] : NULL;
        return w->constant->rank == 2 && attr_is(g, n, "transA", 0, 0) && float_is(g, n, "alpha", 1.0f, 1.0f) &&
               float_is(g, n, "beta", 1.0f, 1.0f) &&
               (!c || (const_f32(g, n->inputs[2], N) &&
                       (c->constant->rank == 1 || (c->constant->rank == 2 && c->constant->dims[0] == 1))));
    }
    case LOOM__OP_MatMul:
        return w->constant->rank == 2;
    default:
        return false;
    }
}

static int calib_index(qctx *q, int v)
{
    for (int i = 0; i < q->n_t; i++)
        if (q->t[i].value == v)
            return i;
    return -1;
}

static loom_status track(qctx *q, int v)
{
    calib_tensor *t;
    if (calib_index(q, v) >= 0)
        return LOOM_OK;
    if (!(t = realloc(q->t, (size_t)(q->n_t + 1) * sizeof *t)))
        return nomem();
    q->t = t;
    memset(&q->t[q->n_t], 0, sizeof q->t[0]);
    q->t[q->n_t++].value = v;
    return LOOM_OK;
}

static loom_status pick(qctx *q)
{
    loom__graph *g = q->g;
    loom_status st;
    for (int i = 0; i < g->n_nodes; i++) {
        loom__node *n = &g->nodes[i];
        compute_node *c;
        int out, only = -1;
        if (n->op != LOOM__OP_Conv && n->op != LOOM__OP_Gemm && n->op != LOOM__OP_MatMul)
            continue;
        if (!computable(g, n)) {
            q->sum.compute_float++;
            continue;
        }
        out = n->outputs[0];
        if (readers(g, out, &only) == 1 && g->nodes[only].op == LOOM__OP_Relu &&
            g->nodes[only].n_outputs == 1 && g->nodes[only].outputs[0] >= 0)
            out = g->nodes[only].outputs[0];
        if (!(c = realloc(q->c, (size_t)(q->n_c + 1) * sizeof *c)))
            return nomem();
        q->c = c;
        q->c[q->n_c] = (compute_node){.node = i, .x = n->inputs[0], .out = out, .act_out = -1};
        /* a Sigmoid or Tanh after it becomes the int8 kernel's 256-entry LUT */
        if (readers(g, out, &only) == 1 && (g->nodes[only].op == LOOM__OP_Sigmoid ||
                                            g->nodes[only].op == LOOM__OP_Tanh) &&
            g->nodes[only].n_outputs == 1 && g->nodes[only].outputs[0] >= 0) {
            q->c[q->n_c].act_out = g->nodes[only].outputs[0];
            if ((st = track(q, q->c[q->n_c].act_out)) != LOOM_OK)
                return st;
        }
        q->n_c++;
        if ((st = track(q, n->inputs[0])) != LOOM_OK || (st = track(q, out)) != LOOM_OK)
            return st;
    }
    return LOOM_OK;
}

/* ---- 3. calibration ---- */

loom_status loom__quant_check_batches(const loom__graph *g, const loom_tensor *const *in, size_t n,
                                     const char *what)
{
    const loom__value *iv = &g->values[g->inputs[0]];
    char a[128], b[128];
    int64_t rows = 0;
    if (n == 0)
        return loom__err(LOOM_E_DATA_INVALID, "the %s set is empty", what);
    for (size_t i = 0; i < n; i++) {
        const loom_tensor *t = in[i];
        bool fits;
        if (!t)
            return loom__err(LOOM_E_INVALID_ARG, "%s batch %zu is NULL", what, i + 1);
        if (t->dtype != LOOM_F32)
            return loom__err(LOOM_E_DTYPE, "%s batch %zu is %s; input \"%s\" takes float32", what, i + 1,
                             loom_dtype_name(t->dtype), iv->name);
        fits = t->rank == iv->rank;
        for (int d = 1; fits && d < t->rank; d++)
            fits = iv->dims[d] < 0 || iv->dims[d] == t->dims[d];
        if (fits && t->rank > 0 && iv->dims[0] > 0 && t->dims[0] % iv->dims[0] != 0)
            fits = false; /* a fixed batch: any whole number of batches */
        if (!fits)
            return loom__err(LOOM_E_DATA_INVALID, "%s batch %zu has shape %s; input \"%s\" is %s", what, i + 1,
                             loom__shape_str(t->rank, t->dims, a, sizeof a), iv->name,
                             loom__shape_str(iv->rank, iv->dims, b, sizeof b));
        for (int64_t k = 0; k < t->numel; k++)
            if (!isfinite(((const float *)t->data)[k]))
                return loom__err(LOOM_E_DATA_INVALID, "%s batch %zu: element %lld is %g", what, i + 1,
                                 (long long)k, (double)((const float *)t->data)[k]);
        rows += t->rank > 0 ? t->dims[0] : 1;
        if (t->numel == 0)
            return loom__err(LOOM_E_DATA_INVALID, "%s batch %zu is empty (shape %s)", what, i + 1,
                             loom__shape_str(t->rank, t->dims, a, sizeof a));
    }
    if (rows == 0)
        return loom__err(LOOM_E_DATA_INVALID, "the %s set is empty", what);
    return LOOM_OK;
}

static loom_status observe(calib_tensor *c, const char *name, const loom_tensor *t, bool hist)
{
    const float *x = t->data;
    if (t->dtype != LOOM_F32)
        return LOOM_OK;
    c->seen = true;
    for (int64_t i = 0; i < t->numel; i++) {
        double a = fabs((double)x[i]);
        int64_t bin;
        if (!isfinite(a))
            return loom__err(LOOM_E_DATA_INVALID,
                             "tensor \"%s\" element %lld is %g on the calibration data: a scale needs finite "
                             "values", name, (long long)i, (double)x[i]);
        if (!hist) {
            c->absmax = a > c->absmax ? a : c->absmax;
            continue;
        }
        bin = c->absmax > 0 ? (int64_t)(a / c->absmax * HIST_BINS) : 0;
        c->hist[bin < 0 ? 0 : bin < HIST_BINS ? bin : HIST_BINS - 1]++;
        c->count++;
    }
    return LOOM_OK;
}

loom_status loom__quant_run(loom__quant_runner *r, const loom_model *m, const loom_tensor *x,
                            const char *device)
{
    const char *in_name = m->graph->values[m->graph->inputs[0]].name;
    loom_status st;
    if (!r->s || r->rank != x->rank || memcmp(r->dims, x->dims, (size_t)x->rank * sizeof x->dims[0]) != 0) {
        loom_input_shape shape = {.name = in_name, .rank = x->rank, .dims = x->dims};
        loom_session_options so = {.devices = device, .keep_values = true, .unfused = true,
                                   .input_shapes = &shape, .input_shape_count = 1};
        loom__quant_runner_free(r);
        if ((st = loom_session_create(m, &so, &r->s)) != LOOM_OK)
            return st;
        r->rank = x->rank;
        memcpy(r->dims, x->dims, (size_t)x->rank * sizeof x->dims[0]);
    }
    if ((st = loom_session_set_input(r->s, in_name, x)) != LOOM_OK)
        return st;
    return loom_session_run(r->s);
}

void loom__quant_runner_free(loom__quant_runner *r)
{
    loom_session_free(r->s);
    r->s = NULL;
}

/* Declared output types are not kept by import: the file gets what the
 * model computes (dtype, rank; dims only where the input has no symbolic
 * dim). */
static void record_outputs(loom__graph *g, const loom_session *s)
{
    const loom__value *in = &g->values[g->inputs[0]];
    bool symbolic = false;
    for (int d = 0; d < in->rank; d++)
        symbolic |= in->dims[d] < 0;
    for (int i = 0; i < g->n_outputs; i++) {
        loom_value_info vi;
        loom__value *o = &g->values[g->outputs[i]];
        if (o->rank >= 0 || loom_session_output(s, (size_t)i, &vi) != LOOM_OK)
            continue;
        o->dtype = vi.dtype;
        o->rank = vi.rank;
        for (int d = 0; d < vi.rank; d++)
            o->dims[d] = symbolic ? -1 : vi.dims[d];
    }
}

static loom_status calibrate_round(qctx *q, loom__quant_runner *run, const loom_model *fm,
                                   const loom_tensor *const *calib, size_t n, const char *device, bool hist)
{
    loom_status st = LOOM_OK;
    for (size_t b = 0; b < n && st == LOOM_OK; b++) {
        loom__progress(hist ? "calibrating (histograms)" : "calibrating", b, n);
        if ((st = loom__quant_run(run, fm, calib[b], device)) != LOOM_OK)
            return loom__err_prefix(st, "calibration batch %zu", b + 1);
        for (int i = 0; i < q->n_t && st == LOOM_OK; i++) {
            const char *name = q->g->values[q->t[i].value].name;
            const loom_tensor *t = loom__session_value(run->s, name);
            if (t && (st = observe(&q->t[i], name, t, hist)) != LOOM_OK)
                st = loom__err_prefix(st, "calibration batch %zu", b + 1);
        }
    }
    if (st == LOOM_OK)
        loom__progress(hist ? "calibrating (histograms)" : "calibrating", n, n);
    if (st == LOOM_OK && run->s)
        record_outputs(q->g, run->s);
    return st;
}

/* Entropy calibration: the clipping threshold whose 127-level
 * quantisation of the |x| histogram loses the least information, by the
 * Kullback-Leibler divergence KL(P || Q) of the clipped histogram P
 * (what lies beyond the threshold added to its last bin) and Q, P merged
 * into 127 levels and spread back over the non-empty bins of each level.
 * (The method of TensorRT's INT8 calibrator, on loom's symmetric scale.) */
static double entropy_range(const calib_tensor *c)
{
    const int levels = 127;
    double best_kl = INFINITY;
    int best = HIST_BINS;
    double *p = malloc(HIST_BINS * sizeof *p), *qd = malloc(HIST_BINS * sizeof *qd);
    if (!p || !qd) {
        free(p);
        free(qd);
        return c->absmax;
    }
    for (int i = levels; i <= HIST_BINS; i += 8) {
        double outliers = 0, total = 0, kl = 0;
        for (int b = 0; b < i; b++)
            p[b] = b ? (double)c->hist[b] : 0.0; /* exact zeros (ReLU) quantise exactly */
        for (int b = i; b < HIST_BINS; b++)
            outliers += (double)c->hist[b];
        p[i - 1] += outliers;
        /* Q: each of the 127 levels spreads its count evenly over the
         * bins of P it covers that are not empty */
        for (int l = 0; l < levels; l++) {
            int lo = (int)((int64_t)l * i / levels), hi = (int)((int64_t)(l + 1) * i / levels);
            double sum = 0;
            int nonzero = 0;
            /* from the histogram itself, without the outliers P adds */
            for (int b = lo; b < hi; b++) {
                double h = b ? (double)c->hist[b] : 0.0;
                sum += h;
                nonzero += h != 0;
            }
            for (int b = lo; b < hi; b++)
                qd[b] = b && c->hist[b] && nonzero ? sum / nonzero : 0;
        }
        for (int b = 0; b < i; b++)
            total += p[b];
        {
            double qt = 0;
            for (int b = 0; b < i; b++)
                qt += qd[b];
            for (int b = 0; b < i; b++) {
                double pb = p[b] / total, qb = qt > 0 ? qd[b] / qt : 0;
                if (pb > 0)
                    kl += qb > 0 ? pb * log(pb / qb) : pb * 30.0; /* a bin Q cannot hold */
            }
        }
        if (kl < best_kl) {
            best_kl = kl;
            best = i;
        }
    }
    free(p);
    free(qd);
    return c->absmax * (double)best / HIST_BINS;
}

static double range_of(const calib_tensor *c, const loom_quantize_options *o)
{
    double pct = o && o->percentile > 0 ? o->percentile : 99.99, want, cum = 0;
    if (!o || o->method == LOOM_CALIB_MINMAX || !c->count)
        return c->absmax;
    if (o->method == LOOM_CALIB_ENTROPY)
        return entropy_range(c);
    want = pct / 100.0 * (double)c->count;
    for (int b = 0; b < HIST_BINS; b++) {
        cum += (double)c->hist[b];
        if (cum >= want)
            return c->absmax * (double)(b + 1) / HIST_BINS;
    }
    return c->absmax;
}

/* ---- 4. QDQ ---- */

static float scale_of(double range)
{
    float s = (float)(range / 127.0);
    return s > 0.0f && isfinite(s) ? s : 1.0f / 127.0f;
}

/* Quantise value v with scale s (once): returns the value its readers
 * use afterwards (v itself for a produced value, a new one for a graph
 * input or initializer), or -1 on OOM. */
static int ensure_q(qctx *q, int v, float s)
{
    loom__graph *g = q->g;
    int64_t one = 1;
    int vs, vz, vq, pre, readers_v, qi, di, prod = g->values[v].producer;
    char base[300];
    loom_tensor *ts, *tz;

    if (grow_maps(q) != LOOM_OK)
        return -1;
    if (q->dq_of[v] >= 0)
        return q->dq_of[v];
    snprintf(base, sizeof base, "%s", g->values[v].name);
    ts = tensor(LOOM_F32, 0, &one);
    tz = tensor(LOOM_I8, 0, &one);
    if (ts)
        *(float *)ts->data = s;
    vs = new_const(g, base, "_scale", ts);
    vz = vs < 0 ? (loom_tensor_free(tz), -1) : new_const(g, base, "_zero_point", tz);
    vq = vz < 0 ? -1 : new_value(g, base, "_quantized");
    if (vq < 0)
        return -1;
    g->values[vq].dtype = LOOM_I8;
    if (prod >= 0) {
        /* the producer writes <v>_prequant; the DequantizeLinear writes v */
        loom__node *p = &g->nodes[prod];
        if ((pre = new_value(g, base, "_prequant")) < 0)
            return -1;
        p = &g->nodes[prod];
        for (int k = 0; k < p->n_outputs; k++)
            if (p->outputs[k] == v)
                p->outputs[k] = pre;
        g->values[pre].producer = prod;
        readers_v = v;
    } else {
        /* a graph input: its readers move to <v>_dequantized */
        pre = v;
        if ((readers_v = new_value(g, base, "_dequantized")) < 0)
            return -1;
        for (int i = 0; i < g->n_nodes; i++)
            for (int k = 0; k < g->nodes[i].n_inputs; k++)
                if (g->nodes[i].inputs[k] == v)
                    g->nodes[i].inputs[k] = readers_v;
    }
    {
        int qin[3] = {pre, vs, vz}, dqin[3] = {vq, vs, vz};
        if ((qi = add_node(g, LOOM__OP_QuantizeLinear, base, qin, 3, vq, NULL, 0)) < 0 ||
            (di = add_node(g, LOOM__OP_DequantizeLinear, base, dqin, 3, readers_v, NULL, 0)) < 0)
            return -1;
        g->values[vq].producer = qi;
        g->values[readers_v].producer = di;
    }
    if (grow_maps(q) != LOOM_OK)
        return -1;
    q->dq_of[v] = readers_v;
    q->dq_of[readers_v] = readers_v;
    q->dq_scale[readers_v] = s;
    q->sum.tensors++;
    return readers_v;
}

/* The constant <base>_quantized (tq) with its scale and zero point (all
 * taken over) and the DequantizeLinear along axis that reads it back as
 * <base>_dequantized: that value, or -1 (out of memory). */
static int dq_const(loom__graph *g, const char *base, loom_tensor *tq, loom_tensor *ts, loom_tensor *tz,
                    int64_t axis)
{
    int vq, vs, vz, vd;
    vq = new_const(g, base, "_quantized", tq);
    vs = vq < 0 ? (loom_tensor_free(ts), loom_tensor_free(tz), -1) : new_const(g, base, "_scale", ts);
    vz = vs < 0 ? (loom_tensor_free(tz), -1) : new_const(g, base, "_zero_point", tz);
    vd = vz < 0 ? -1 : new_value(g, base, "_dequantized");
    if (vd < 0)
        return -1;
    {
        int in[3] = {vq, vs, vz};
        if (add_node(g, LOOM__OP_DequantizeLinear, base, in, 3, vd, "axis", axis) < 0)
            return -1;
    }
    return vd;
}

/* Per-channel int8 weights of compute node c and their DequantizeLinear;
 * the value c reads now, or -1 (OOM). sw gets the scales. */
static int quantize_weights(qctx *q, int ci, float **sw, int64_t *nch)
{
    loom__graph *g = q->g;
    const loom_tensor *w = g->values[g->nodes[ci].inputs[1]].constant;
    const loom__node *c = &g->nodes[ci];
    int axis = c->op == LOOM__OP_Conv || (c->op == LOOM__OP_Gemm && attr_is(g, c, "transB", 0, 1)) ? 0 : 1;
    int64_t N = w->dims[axis], outer = axis == 0 ? N : w->dims[0], inner = w->numel / (outer ? outer : 1);
    loom_tensor *tq = tensor(LOOM_I8, w->rank, w->dims), *ts = tensor(LOOM_F32, 1, &N),
                *tz = tensor(LOOM_I8, 1, &N);
    const float *x = w->data;
    double overall = 0;
    char base[300];

    *sw = malloc((size_t)(N ? N : 1) * sizeof **sw);
    if (!tq || !ts || !tz || !*sw) {
        loom_tensor_free(tq), loom_tensor_free(ts), loom_tensor_free(tz);
        return -1;
    }
    /* element (o, i) of the weights, channel o (axis 0) or i (axis 1) */
    for (int64_t ch = 0; ch < N; ch++)
        (*sw)[ch] = 0.0f;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            float a = fabsf(x[o * inner + i]);
            int64_t ch = axis == 0 ? o : i;
            (*sw)[ch] = a > (*sw)[ch] ? a : (*sw)[ch];
            overall = a > overall ? a : overall;
        }
    for (int64_t ch = 0; ch < N; ch++) /* an all-zero channel takes the largest scale */
        (*sw)[ch] = scale_of((*sw)[ch] > 0 ? (*sw)[ch] : overall);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            double r = rint((double)x[o * inner + i] / (double)(*sw)[axis == 0 ? o : i]);
            ((int8_t *)tq->data)[o * inner + i] = (int8_t)(r > 127 ? 127 : r < -127 ? -127 : r);
        }
    memcpy(ts->data, *sw, (size_t)N * sizeof **sw);
    snprintf(base, sizeof base, "%s", g->values[c->inputs[1]].name);
    *nch = N;
    return dq_const(g, base, tq, ts, tz, axis);
}

static int quantize_bias(qctx *q, int ci, float sx, const float *sw, int64_t N)
{
    loom__graph *g = q->g;
    const loom__node *c = &g->nodes[ci];
    const float *b = g->values[c->inputs[2]].constant->data;
    loom_tensor *tq = tensor(LOOM_I32, 1, &N), *ts = tensor(LOOM_F32, 1, &N), *tz = tensor(LOOM_I32, 1, &N);
    char base[300];

    if (!tq || !ts || !tz) {
        loom_tensor_free(tq), loom_tensor_free(ts), loom_tensor_free(tz);
        return -1;
    }
    for (int64_t n = 0; n < N; n++) {
        float s = sx * sw[n];
        double r = rint((double)b[n] / (double)s), lim = (double)(1 << 30) - 1;
        ((float *)ts->data)[n] = s;
        ((int32_t *)tq->data)[n] = (int32_t)(r > lim ? lim : r < -lim ? -lim : r);
    }
    snprintf(base, sizeof base, "%s", g->values[c->inputs[2]].name);
    return dq_const(g, base, tq, ts, tz, 0);
}

static float tensor_scale(const qctx *q, int v, const loom_quantize_options *o)
{
    int i = calib_index((qctx *)q, v);
    return scale_of(i >= 0 ? range_of(&q->t[i], o) : 0.0);
}

static loom_status insert_qdq(qctx *q, const loom_quantize_options *o)
{
    loom__graph *g = q->g;
    int n_orig = g->n_nodes;
    for (int i = 0; i < n_orig; i++) {
        loom__node *n = &g->nodes[i];
        int ci = -1;
        if (n->dead)
            continue;
        for (int k = 0; k < q->n_c; k++)
            ci = q->c[k].node == i ? k : ci;
        if (ci >= 0) {
            compute_node cn = q->c[ci];
            calib_tensor *tx = &q->t[calib_index(q, cn.x)], *to = &q->t[calib_index(q, cn.out)];
            float sx, *sw = NULL;
            int64_t N = 0;
            int xv, wv, bv = -1;
            if (!tx->seen || !to->seen) { /* not float, or not computed */
                q->sum.compute_float++;
                continue;
            }
            if (grow_maps(q) != LOOM_OK)
                return nomem();
            xv = q->dq_of[cn.x] >= 0 ? q->dq_of[cn.x] : ensure_q(q, cn.x, tensor_scale(q, cn.x, o));
            if (xv < 0)
                return nomem();
            sx = q->dq_scale[xv];
            if ((wv = quantize_weights(q, i, &sw, &N)) < 0 ||
                (g->nodes[i].op != LOOM__OP_MatMul && g->nodes[i].n_inputs > 2 && g->nodes[i].inputs[2] >= 0 &&
                 (bv = quantize_bias(q, i, sx, sw, N)) < 0)) {
                free(sw);
                return nomem();
            }
            free(sw);
            n = &g->nodes[i];
            n->inputs[0] = xv;
            n->inputs[1] = wv;
            if (bv >= 0)
                n->inputs[2] = bv;
            if (ensure_q(q, cn.out, tensor_scale(q, cn.out, o)) < 0 ||
                (cn.act_out >= 0 && q->t[calib_index(q, cn.act_out)].seen &&
                 ensure_q(q, cn.act_out, tensor_scale(q, cn.act_out, o)) < 0))
                return nomem();
            q->sum.compute_int8++;
        } else if (loom__op_moves_int8(n->op) && n->inputs[0] >= 0 && n->n_outputs >= 1 && n->outputs[0] >= 0 &&
                   (n->n_outputs < 2 || n->outputs[1] < 0)) {
            int x = n->inputs[0];
            if (grow_maps(q) != LOOM_OK)
                return nomem();
            if (q->dq_scale[x] > 0.0f && ensure_q(q, n->outputs[0], q->dq_scale[x]) < 0)
                return nomem();
        }
    }
    return LOOM_OK;
}

/* ---- batches ---- */

loom_status loom__quant_batches(const loom__graph *g, const loom_tensor *const *in, size_t n,
                                loom_tensor ***out, size_t *n_out)
{
    int64_t b = g->values[g->inputs[0]].dims[0];
    size_t total = 0, k = 0;
    *out = NULL;
    *n_out = 0;
    for (size_t i = 0; i < n; i++)
        total += b > 0 && in[i]->rank > 0 ? (size_t)(in[i]->dims[0] / b) : 1;
    if (!(*out = loom__calloc(total ? total : 1, sizeof **out)))
        return nomem();
    for (size_t i = 0; i < n; i++) {
        int64_t parts = b > 0 && in[i]->rank > 0 ? in[i]->dims[0] / b : 1;
        for (int64_t p = 0; p < parts; p++) {
            int64_t dims[LOOM_MAX_RANK];
            size_t bytes = in[i]->nbytes / (size_t)parts;
            memcpy(dims, in[i]->dims, (size_t)in[i]->rank * sizeof dims[0]);
            if (parts > 1)
                dims[0] = b;
            if (!((*out)[k] = tensor(in[i]->dtype, in[i]->rank, dims))) {
                loom__quant_batches_free(*out, k);
                *out = NULL;
                return nomem();
            }
            memcpy((*out)[k++]->data, (const char *)in[i]->data + (size_t)p * bytes, bytes);
        }
    }
    *n_out = k;
    return LOOM_OK;
}

void loom__quant_batches_free(loom_tensor **t, size_t n)
{
    for (size_t i = 0; t && i < n; i++)
        loom_tensor_free(t[i]);
    free(t);
}

/* ---- the whole ---- */

loom_status loom_quantize(const loom_model *m, const loom_tensor *const *calib, size_t n_calib,
                          const loom_quantize_options *opts, const char *out_path,
                          loom_quantize_summary *summary)
{
    qctx q = {0};
    loom__graph *fg = NULL;
    loom_model *fm = NULL;
    const char *device = opts && opts->device ? opts->device : "ref";
    loom_tensor **batches = NULL;
    size_t n_batches = 0;
    loom__quant_runner run = {0};
    loom_status st;

    if (!m || (!calib && n_calib) || !out_path)
        return loom__err(LOOM_E_INVALID_ARG, "loom_quantize: NULL argument");
    if (opts && opts->method == LOOM_CALIB_PERCENTILE && opts->percentile != 0 &&
        !(opts->percentile >= 50.0 && opts->percentile <= 100.0))
        return loom__err(LOOM_E_INVALID_ARG, "percentile %g is outside [50, 100]", opts->percentile);
    if (opts && opts->method != LOOM_CALIB_MINMAX && opts->method != LOOM_CALIB_PERCENTILE &&
        opts->method != LOOM_CALIB_ENTROPY)
        return loom__err(LOOM_E_INVALID_ARG, "unknown calibration method %d", (int)opts->method);
    if (m->graph->n_inputs != 1)
        return loom__err(LOOM_E_MODEL_UNSUPPORTED,
                         "%s: quantisation takes models with one input (this one has %d)",
                         m->graph->source, m->graph->n_inputs);
    if (m->graph->opset < 13)
        return loom__err(LOOM_E_MODEL_UNSUPPORTED,
                         "%s: opset %lld; per-channel QuantizeLinear/DequantizeLinear need opset 13 "
                         "(re-export the model with opset 13 or later)",
                         m->graph->source, (long long)m->graph->opset);
    if ((st = loom__quant_check_batches(m->graph, calib, n_calib, "calibration")) != LOOM_OK ||
        (st = loom__quant_batches(m->graph, calib, n_calib, &batches, &n_batches)) != LOOM_OK)
        return st;
    calib = (const loom_tensor *const *)batches;
    n_calib = n_batches;
    if ((st = loom__graph_clone(m->graph, &q.g)) != LOOM_OK)
        goto done;
    for (int i = 0; i < q.g->n_nodes && st == LOOM_OK; i++)
        if (q.g->nodes[i].op == LOOM__OP_BatchNormalization && !q.g->nodes[i].dead)
            st = fold_bn(&q, i);
    if (st != LOOM_OK)
        goto done;
    loom__graph_drop_dead(q.g);
    if ((st = pick(&q)) != LOOM_OK)
        goto done;
    /* calibrate on a copy of the folded graph */
    if ((st = loom__graph_clone(q.g, &fg)) != LOOM_OK || (st = loom__graph_toposort(fg)) != LOOM_OK)
        goto done;
    st = loom__model_from_graph(fg, &fm); /* takes fg, also on failure */
    fg = NULL;
    if (st != LOOM_OK)
        goto done;
    for (size_t b = 0; b < n_calib; b++)
        q.sum.samples += calib[b]->rank > 0 ? (size_t)calib[b]->dims[0] : 1;
    if ((st = calibrate_round(&q, &run, fm, calib, n_calib, device, false)) != LOOM_OK)
        goto done;
    if (opts && opts->method != LOOM_CALIB_MINMAX) { /* histograms: a second round */
        for (int i = 0; i < q.n_t; i++)
            if (!(q.t[i].hist = loom__calloc(HIST_BINS, sizeof *q.t[i].hist))) {
                st = nomem();
                goto done;
            }
        if ((st = calibrate_round(&q, &run, fm, calib, n_calib, device, true)) != LOOM_OK)
            goto done;
    }
    if ((st = insert_qdq(&q, opts)) != LOOM_OK || (st = loom__graph_toposort(q.g)) != LOOM_OK)
        goto done;
    st = loom__onnx_export(q.g, "loom quantize", out_path);
    if (st == LOOM_OK && summary)
        *summary = q.sum;
done:
    loom__quant_runner_free(&run);
    loom_model_free(fm);
    loom__graph_free(fg);
    loom__graph_free(q.g);
    for (int i = 0; i < q.n_t; i++)
        free(q.t[i].hist);
    free(q.t);
    free(q.c);
    free(q.dq_of);
    free(q.dq_scale);
    loom__quant_batches_free(batches, n_batches);
    return st;
}
