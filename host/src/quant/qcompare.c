/*
 * qcompare.c - a quantised model against its float original
 * (loom_quant_compare, see loom.h): top-1 agreement, accuracy on labels,
 * and per quantised tensor the SQNR of its int8 value.
 *
 * The quantised tensors are read off the QDQ model: every QuantizeLinear
 * with an int8 output. Its float counterpart is the QuantizeLinear's input
 * when the float model has a tensor of that name, else the name of the
 * DequantizeLinear that reads it back (loom_quantize renames a producer's
 * output to <name>_prequant and gives <name> to the DequantizeLinear).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/exec.h"
#include "ir/model.h"
#include "quant/quant.h"

typedef struct {
    char q_name[256];     /* the int8 value in the quantised model */
    char f_name[256];     /* the float value in the float model */
    double signal, noise;
    bool found;           /* both values existed (an int8 value fused into a
                           * LUT has none) */
} layer_acc;

static const loom__node *producer_node(const loom__graph *g, int v)
{
    return v >= 0 && g->values[v].producer >= 0 ? &g->nodes[g->values[v].producer] : NULL;
}

static loom_status collect_layers(const loom__graph *qg, const loom__graph *fg, layer_acc **out,
                                  loom_quant_layer **info, size_t *n)
{
    *n = 0;
    *out = NULL;
    *info = NULL;
    for (int i = 0; i < qg->n_nodes; i++) {
        const loom__node *q = &qg->nodes[i], *p, *d = NULL;
        const loom__value *sc;
        int vin, vq;
        layer_acc *la;
        loom_quant_layer *li;
        if (q->dead || q->op != LOOM__OP_QuantizeLinear || (vq = q->outputs[0]) < 0 ||
            (vin = q->inputs[0]) < 0 || !(sc = loom__in(qg, q, 1)) || !sc->constant ||
            sc->constant->numel != 1 || sc->constant->dtype != LOOM_F32)
            continue;
        for (int j = 0; j < qg->n_nodes && !d; j++)
            if (!qg->nodes[j].dead && qg->nodes[j].op == LOOM__OP_DequantizeLinear &&
                qg->nodes[j].inputs[0] == vq)
                d = &qg->nodes[j];
        la = realloc(*out, (*n + 1) * sizeof *la);
        if (la)
            *out = la;
        li = la ? realloc(*info, (*n + 1) * sizeof *li) : NULL;
        if (li)
            *info = li;
        if (!la || !li)
            return loom__err(LOOM_E_NOMEM, "out of memory");
        memset(&la[*n], 0, sizeof la[0]);
        memset(&li[*n], 0, sizeof li[0]);
        snprintf(la[*n].q_name, sizeof la[0].q_name, "%s", qg->values[vq].name);
        if (loom__graph_find_value(fg, qg->values[vin].name) >= 0 || !d || d->outputs[0] < 0)
            snprintf(la[*n].f_name, sizeof la[0].f_name, "%s", qg->values[vin].name);
        else
            snprintf(la[*n].f_name, sizeof la[0].f_name, "%s", qg->values[d->outputs[0]].name);
        snprintf(li[*n].tensor, sizeof li[0].tensor, "%.127s", la[*n].f_name);
        li[*n].scale = *(const float *)sc->constant->data;
        if ((p = producer_node(qg, vin))) {
            const loom__node *c = p->op == LOOM__OP_Relu ? producer_node(qg, p->inputs[0]) : NULL;
            snprintf(li[*n].node, sizeof li[0].node, "%s", (c ? c : p)->name);
            snprintf(li[*n].op_type, sizeof li[0].op_type, "%s%s", (c ? c : p)->op_type, c ? "+Relu" : "");
        } else {
            snprintf(li[*n].node, sizeof li[0].node, "(graph input)");
        }
        (*n)++;
    }
    return LOOM_OK;
}

/* Class of row r of a [rows, classes] output. */
static int64_t top1(const loom_tensor *y, int64_t r)
{
    int64_t cls = y->rank > 0 ? y->dims[y->rank - 1] : 1, best = 0;
    const float *p = (const float *)y->data + r * cls;
    if (cls == 1)
        return p[0] > 0.5f;
    for (int64_t k = 1; k < cls; k++)
        best = p[k] > p[best] ? k : best;
    return best;
}

static int64_t label_at(const loom_tensor *l, int64_t i)
{
    return l->dtype == LOOM_I64 ? ((const int64_t *)l->data)[i] : ((const int32_t *)l->data)[i];
}

loom_status loom_quant_compare(const loom_model *fm, const loom_model *qm, const loom_tensor *const *batches,
                               size_t n_batches, const loom_tensor *labels, const char *device,
                               loom_quant_report *out)
{
    layer_acc *acc = NULL;
    loom_tensor **split = NULL;
    loom__quant_runner rf = {0}, rq = {0};
    size_t n_layers = 0, seen = 0, n_split = 0;
    loom_status st;

    if (!fm || !qm || !out || (!batches && n_batches))
        return loom__err(LOOM_E_INVALID_ARG, "loom_quant_compare: NULL argument");
    memset(out, 0, sizeof *out);
    if (fm->graph->n_inputs != 1 || qm->graph->n_inputs != 1 || fm->graph->n_outputs < 1 ||
        qm->graph->n_outputs < 1)
        return loom__err(LOOM_E_MODEL_UNSUPPORTED, "comparing needs models with one input and an output");
    if ((st = loom__quant_check_batches(fm->graph, batches, n_batches, "evaluation")) != LOOM_OK)
        return st;
    for (size_t b = 0; b < n_batches; b++)
        seen += batches[b]->rank > 0 ? (size_t)batches[b]->dims[0] : 1;
    if (labels) {
        if (labels->dtype != LOOM_I64 && labels->dtype != LOOM_I32)
            return loom__err(LOOM_E_DTYPE, "labels are %s; int64 or int32 class indices expected",
                             loom_dtype_name(labels->dtype));
        if ((size_t)labels->numel != seen)
            return loom__err(LOOM_E_DATA_INVALID, "%lld labels for %zu samples", (long long)labels->numel,
                             seen);
    }
    if ((st = loom__quant_batches(fm->graph, batches, n_batches, &split, &n_split)) != LOOM_OK)
        return st;
    batches = (const loom_tensor *const *)split;
    n_batches = n_split;
    if ((st = collect_layers(qm->graph, fm->graph, &acc, &out->layers, &n_layers)) != LOOM_OK)
        goto done;
    out->n_layers = n_layers;
    out->has_labels = labels != NULL;
    for (size_t b = 0; b < n_batches; b++) {
        loom_session *sf, *sq;
        const loom_tensor *yf, *yq;
        loom__progress("comparing int8 with float", b, n_batches);
        if ((st = loom__quant_run(&rf, fm, batches[b], device)) != LOOM_OK ||
            (st = loom__quant_run(&rq, qm, batches[b], device)) != LOOM_OK) {
            st = loom__err_prefix(st, "batch %zu", b + 1);
            goto done;
        }
        sf = rf.s;
        sq = rq.s;
        yf = loom_session_output_tensor(sf, 0);
        yq = loom_session_output_tensor(sq, 0);
        if (!yf || !yq || yf->dtype != LOOM_F32 || yq->dtype != LOOM_F32 || yf->rank != yq->rank ||
            memcmp(yf->dims, yq->dims, (size_t)yf->rank * sizeof yf->dims[0]) != 0 ||
            (yf->rank > 1 ? yf->dims[0] : 1) != (batches[b]->rank > 0 ? batches[b]->dims[0] : 1)) {
            st = loom__err(LOOM_E_MODEL_UNSUPPORTED,
                           "output 0 of the two models is not float32 of one shape [batch, ...]");
            goto done;
        }
        {
            int64_t rows = yf->rank > 1 ? yf->dims[0] : 1;
            for (int64_t r = 0; r < rows; r++) {
                int64_t cf = top1(yf, r), cq = top1(yq, r);
                out->agree += cf == cq;
                if (labels) {
                    int64_t want = label_at(labels, (int64_t)out->samples);
                    out->float_correct += cf == want;
                    out->int8_correct += cq == want;
                }
                out->samples++;
            }
        }
        for (size_t l = 0; l < n_layers; l++) {
            const loom_tensor *x = loom__session_value(sf, acc[l].f_name);
            const loom_tensor *q = loom__session_value(sq, acc[l].q_name);
            float s = out->layers[l].scale;
            if (!x || !q || x->dtype != LOOM_F32 || q->numel != x->numel)
                continue;
            acc[l].found = true;
            for (int64_t k = 0; k < x->numel; k++) {
                double xv = ((const float *)x->data)[k];
                double qv = q->dtype == LOOM_I8 ? (double)((const int8_t *)q->data)[k] * s
                                                : (double)((const uint8_t *)q->data)[k] * s;
                acc[l].signal += xv * xv;
                acc[l].noise += (xv - qv) * (xv - qv);
            }
        }
    }
    loom__progress("comparing int8 with float", n_batches, n_batches);
    out->n_layers = 0;
    for (size_t l = 0; l < n_layers; l++) {
        if (!acc[l].found)
            continue;
        out->layers[out->n_layers] = out->layers[l];
        out->layers[out->n_layers++].sqnr_db = acc[l].noise > 0 ? 10.0 * log10(acc[l].signal / acc[l].noise)
                                               : acc[l].signal > 0 ? INFINITY : NAN;
    }
done:
    loom__quant_runner_free(&rf);
    loom__quant_runner_free(&rq);
    free(acc);
    loom__quant_batches_free(split, n_split);
    if (st != LOOM_OK)
        loom_quant_report_free(out);
    return st;
}

void loom_quant_report_free(loom_quant_report *r)
{
    if (!r)
        return;
    free(r->layers);
    r->layers = NULL;
    r->n_layers = 0;
}
