/* passes.c - specialisation, shape inference with constant folding, and
 * dead-node elimination. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/ref/ref.h"
#include "ops/ops.h"
#include "passes/passes.h"

/* Default largest tensor a session may plan. */
#define LOOM__DEFAULT_MAX_TENSOR ((uint64_t)8 << 30)

loom_status loom__pass_specialize(loom__graph *g, const loom_session_options *opts)
{
    char s1[LOOM__SHAPE_STR_MAX], s2[LOOM__SHAPE_STR_MAX];
    size_t nshapes = opts ? opts->input_shape_count : 0;
    uint64_t max_bytes = loom__max_tensor_bytes(opts);

    g->max_tensor_bytes = max_bytes;

    for (size_t k = 0; k < nshapes; k++) {
        const loom_input_shape *b = &opts->input_shapes[k];
        bool found = false;
        if (!b->name)
            return loom__err(LOOM_E_INVALID_ARG, "input shape #%zu has no name", k);
        for (int i = 0; i < g->n_inputs; i++)
            found |= strcmp(g->values[g->inputs[i]].name, b->name) == 0;
        if (!found)
            return loom__err(LOOM_E_INVALID_ARG, "%s: the model has no input called \"%s\"",
                             g->source, b->name);
    }
    for (int i = 0; i < g->n_inputs; i++) {
        loom__value *v = &g->values[g->inputs[i]];
        const loom_input_shape *b = NULL;
        int64_t numel;
        for (size_t k = 0; k < nshapes; k++)
            if (strcmp(opts->input_shapes[k].name, v->name) == 0)
                b = &opts->input_shapes[k];
        if (b) {
            bool ok = b->rank >= 0 && b->rank <= LOOM_MAX_RANK && (b->rank == 0 || b->dims) &&
                      (v->rank < 0 || v->rank == b->rank);
            for (int d = 0; ok && d < b->rank; d++)
                ok = b->dims[d] >= 0 && (v->rank < 0 || v->dims[d] < 0 || v->dims[d] == b->dims[d]);
            if (!ok)
                return loom__err(LOOM_E_SHAPE, "%s: input \"%s\": shape %s does not fit the declared %s",
                                 g->source, v->name,
                                 b->rank >= 0 && b->rank <= LOOM_MAX_RANK && (b->rank == 0 || b->dims)
                                     ? loom__shape_str(b->rank, b->dims, s1, sizeof s1)
                                     : "(invalid)",
                                 v->rank < 0 ? "(any)" : loom__shape_str(v->rank, v->dims, s2, sizeof s2));
            v->rank = b->rank;
            for (int d = 0; d < b->rank; d++)
                v->dims[d] = b->dims[d];
        } else if (v->rank < 0) {
            return loom__err(LOOM_E_SHAPE, "%s: input \"%s\" declares no shape; give it one",
                             g->source, v->name);
        } else {
            for (int d = 0; d < v->rank; d++)
                if (v->dims[d] < 0)
                    v->dims[d] = 1; /* symbolic dims default to 1 */
        }
        if (!loom__numel(v->rank, v->dims, &numel) ||
            (uint64_t)numel > max_bytes / (loom_dtype_size(v->dtype) ? loom_dtype_size(v->dtype) : 1))
            return loom__err(LOOM_E_LIMIT, "%s: input \"%s\": shape %s is larger than the limit of %llu bytes",
                             g->source, v->name, loom__shape_str(v->rank, v->dims, s1, sizeof s1),
                             (unsigned long long)max_bytes);
    }
    /* intermediate values forget what they knew: inference decides */
    for (int i = 0; i < g->n_values; i++) {
        loom__value *v = &g->values[i];
        if (v->producer >= 0 && !v->constant) {
            v->rank = -1;
            v->dtype = LOOM_DTYPE_INVALID;
        }
    }
    return LOOM_OK;
}

/* Shape inference or folding already made the outputs. */
bool loom__outputs_constant(const loom__graph *g, const loom__node *n)
{
    for (int i = 0; i < n->n_outputs; i++) {
        const loom__value *v = loom__out(g, n, i);
        if (v && !v->constant)
            return false;
    }
    return true;
}

static bool all_outputs_empty(const loom__graph *g, const loom__node *n)
{
    for (int i = 0; i < n->n_outputs; i++) {
        const loom__value *v = loom__out(g, n, i);
        int64_t numel;
        if (v && (!loom__numel(v->rank, v->dims, &numel) || numel > 0))
            return false;
    }
    return true;
}

static loom_status fold_node(loom__graph *g, loom__node *n)
{
    const loom_tensor *in[64] = {NULL};
    loom_tensor *out[64] = {NULL};
    loom__kernel_fn fn = loom__ref_kernel(n->op);
    char lbl[LOOM__LABEL_MAX];
    loom_status st = LOOM_OK;

    if (n->n_inputs > 64 || n->n_outputs > 64 || loom__outputs_constant(g, n))
        return LOOM_OK;
    if (all_outputs_empty(g, n)) {
        /* nothing to compute: empty constants, and no kernel ever loops
         * over the (possibly huge) outer dims of an empty tensor */
        fn = NULL;
        goto allocate;
    }
    if (!fn)
        return LOOM_OK;
    for (int i = 0; i < n->n_inputs; i++) {
        const loom__value *v = loom__in(g, n, i);
        if (v && !v->constant)
            return LOOM_OK; /* depends on run-time data */
        in[i] = v ? v->constant : NULL;
    }
allocate:
    for (int i = 0; i < n->n_outputs; i++) {
        const loom__value *v = loom__out(g, n, i);
        int64_t numel;
        if (!v)
            continue;
        if (!loom__numel(v->rank, v->dims, &numel) ||
            (size_t)numel * loom_dtype_size(v->dtype) > LOOM__FOLD_MAX_BYTES)
            goto cleanup; /* too big to keep as a constant: compute at run time */
        if ((st = loom__tensor_new(v->dtype, v->rank, v->dims, &out[i])) != LOOM_OK)
            goto cleanup;
    }
    st = fn ? fn(n, in, out) : LOOM_OK;
    if (st != LOOM_OK) {
        st = loom__err_prefix(st, "%s: %s (folding constants)", g->source,
                              loom__node_label(g, n, lbl, sizeof lbl));
        goto cleanup;
    }
    for (int i = 0; i < n->n_outputs; i++) {
        loom__value *v = loom__out(g, n, i);
        if (v) {
            v->constant = out[i];
            out[i] = NULL;
        }
    }
    loom__log(LOOM_LOG_DEBUG, "%s: folded %s into a constant", g->source,
              loom__node_label(g, n, lbl, sizeof lbl));
cleanup:
    for (int i = 0; i < n->n_outputs; i++)
        loom_tensor_free(out[i]);
    return st;
}

loom_status loom__pass_infer_fold(loom__graph *g)
{
    for (int i = 0; i < g->n_nodes; i++) {
        loom__node *n = &g->nodes[i];
        loom_status st = loom__infer_node(g, n);
        if (st != LOOM_OK)
            return st;
        /* every output needs a size we can allocate */
        for (int k = 0; k < n->n_outputs; k++) {
            const loom__value *v = loom__out(g, n, k);
            char what[300];
            if (!v)
                continue;
            snprintf(what, sizeof what, "output \"%s\"", v->name);
            if ((st = loom__check_size(g, n, what, v->dtype, v->rank, v->dims)) != LOOM_OK)
                return st;
        }
        if ((st = fold_node(g, n)) != LOOM_OK)
            return st;
    }
    return LOOM_OK;
}

/* The activation a fuses as, with its parameters; LOOM_ACT_NONE when it
 * does not (Clip with bounds known only at run time). */
static int act_of(const loom__graph *g, const loom__node *a, float *pa, float *pb)
{
    *pa = *pb = 0.0f;
    switch (a->op) {
    case LOOM__OP_Relu: return LOOM_ACT_RELU;
    case LOOM__OP_Sigmoid: return LOOM_ACT_SIGMOID;
    case LOOM__OP_Tanh: return LOOM_ACT_TANH;
    case LOOM__OP_HardSwish: return LOOM_ACT_HARDSWISH;
    case LOOM__OP_Gelu: return a->p.math.mode == 0 ? LOOM_ACT_GELU : LOOM_ACT_NONE;
    case LOOM__OP_Clip:
        for (int i = 1; i < a->n_inputs && i <= 2; i++) {
            const loom__value *b = loom__in(g, a, i);
            if (b && !b->constant)
                return LOOM_ACT_NONE;
        }
        *pa = a->p.clip.min;
        *pb = a->p.clip.max;
        return LOOM_ACT_CLIP;
    default: return LOOM_ACT_NONE;
    }
}

/* SiLU as exporters write it: s = Sigmoid(v), y = Mul(v, s) (either
 * order), v read by those two nodes only and s by the Mul only. The Mul
 * reads s, so it is v's last reader (nodes are in topological order), and
 * the Sigmoid is the producer of its other operand. The Sigmoid's index,
 * or -1. */
static int silu_sigmoid(const loom__graph *g, int v, const int *readers, const int *reader)
{
    const loom__node *m = &g->nodes[reader[v]], *sg;
    int sv, sig;
    if (m->dead || m->op != LOOM__OP_Mul || m->n_inputs != 2 || m->n_outputs != 1 || m->outputs[0] < 0 ||
        (m->inputs[0] != v && m->inputs[1] != v))
        return -1;
    sv = m->inputs[0] == v ? m->inputs[1] : m->inputs[0];
    if (sv < 0 || readers[sv] != 1 || (sig = g->values[sv].producer) < 0)
        return -1;
    sg = &g->nodes[sig];
    if (sg->dead || sg->op != LOOM__OP_Sigmoid || sg->n_inputs < 1 || sg->inputs[0] != v || sg->n_outputs != 1)
        return -1;
    return sig;
}

/* The float constant value v holds when it is a single number. */
static bool scalar_value(const loom__graph *g, int v, float *f)
{
    const loom__value *c = v >= 0 ? &g->values[v] : NULL;
    if (!c || !c->constant || c->dtype != LOOM_F32 || c->constant->numel != 1)
        return false;
    *f = *(const float *)c->constant->data;
    return true;
}

/* The operand of binary node b other than v, when b is an op node with
 * one output and v one of its two operands; else -1. */
static int other_operand(const loom__node *b, loom__op op, int v)
{
    if (b->dead || b->op != op || b->n_inputs != 2 || b->n_outputs != 1 || b->outputs[0] < 0 ||
        (b->inputs[0] != v && b->inputs[1] != v))
        return -1;
    return b->inputs[0] == v ? b->inputs[1] : b->inputs[0];
}

/* The node producing value v, when one does and is live; else NULL. */
static loom__node *producer_of(loom__graph *g, int v)
{
    int p = v >= 0 ? g->values[v].producer : -1;
    return p >= 0 && !g->nodes[p].dead ? &g->nodes[p] : NULL;
}

static bool near(float x, float want)
{
    return fabsf(x - want) <= 1e-6f * fabsf(want);
}

/* GELU in its erf form as PyTorch exports it: d = Div(v, sqrt 2) (or
 * Mul(v, 1 / sqrt 2)), e = Erf(d), a = Add(e, 1), m = Mul(v, a),
 * y = Mul(m, 0.5); operands of the Add and the Muls in either order, each
 * intermediate read once, v by the Div and m only. m reads v last
 * (nodes are in topological order). Returns y, with d, e, a and m in
 * inner[], or NULL. */
static loom__node *gelu_erf(loom__graph *g, int v, const int *readers, const int *reader, loom__node *inner[4])
{
    loom__node *m = &g->nodes[reader[v]], *a, *e, *d, *y;
    int av = other_operand(m, LOOM__OP_Mul, v), ev, dv, c;
    float f;
    if (av < 0 || readers[av] != 1 || readers[m->outputs[0]] != 1 || !(a = producer_of(g, av)) ||
        a->op != LOOM__OP_Add || a->n_inputs != 2)
        return NULL;
    if (scalar_value(g, a->inputs[1], &f))
        ev = a->inputs[0];
    else if (scalar_value(g, a->inputs[0], &f))
        ev = a->inputs[1];
    else
        return NULL;
    if (f != 1.0f || ev < 0 || readers[ev] != 1 || !(e = producer_of(g, ev)) || e->op != LOOM__OP_Erf ||
        e->n_inputs != 1 || (dv = e->inputs[0]) < 0 || readers[dv] != 1 || !(d = producer_of(g, dv)) ||
        d->n_inputs != 2 || d->inputs[0] != v || !scalar_value(g, d->inputs[1], &f) ||
        !((d->op == LOOM__OP_Div && near(f, 1.41421356f)) || (d->op == LOOM__OP_Mul && near(f, 0.70710678f))))
        return NULL;
    y = &g->nodes[reader[m->outputs[0]]];
    if ((c = other_operand(y, LOOM__OP_Mul, m->outputs[0])) < 0 || !scalar_value(g, c, &f) || f != 0.5f)
        return NULL;
    inner[0] = d, inner[1] = e, inner[2] = a, inner[3] = m;
    return y;
}

/* MatMul's bias as exporters write it: y = Add(MatMul(..), c) (either
 * order), c a float constant of N numbers (leading dims 1) along y's last
 * dim, and y of the MatMul's shape. The Add (c's value in *cv), or NULL.
 * The MatMul takes c as a third input: ref and OpenCL add it per column
 * before the activation, as the Add did. */
static loom__node *matmul_bias(loom__graph *g, const loom__node *n, int v, const int *readers, const int *reader,
                               int *cv)
{
    const loom__value *mv = &g->values[v], *c, *y;
    loom__node *a;
    if (n->op != LOOM__OP_MatMul || n->n_inputs != 2 || readers[v] != 1 || mv->rank < 1)
        return NULL;
    a = &g->nodes[reader[v]];
    if ((*cv = other_operand(a, LOOM__OP_Add, v)) < 0 || *cv == v)
        return NULL;
    c = &g->values[*cv];
    y = &g->values[a->outputs[0]];
    if (!c->constant || c->dtype != LOOM_F32 || c->rank < 1 || c->rank > mv->rank ||
        c->dims[c->rank - 1] != mv->dims[mv->rank - 1] || c->constant->numel != mv->dims[mv->rank - 1] ||
        y->rank != mv->rank || memcmp(y->dims, mv->dims, sizeof(int64_t) * (size_t)mv->rank) != 0)
        return NULL;
    return a;
}

/* A residual Add after a convolution: y = Add(Conv(..), r) (either order),
 * r a float value of the convolution's shape that is computed before it
 * (or a graph input), not a constant; the Conv of one group, float, read
 * by the Add only. The Add (r's value in *rv), or NULL. The Conv takes r
 * as a fourth input and adds it after the bias, before the activation:
 * the GEMM's epilogue reads it where it stores the output (ref and
 * OpenCL), one pass over the data fewer. */
static loom__node *conv_residual(loom__graph *g, int i, int v, const int *readers, const int *reader, int *rv)
{
    const loom__node *n = &g->nodes[i];
    const loom__value *cv = &g->values[v], *r, *y;
    loom__node *a;
    if (n->op != LOOM__OP_Conv || n->n_inputs > 3 || n->p.conv.group != 1 || readers[v] != 1)
        return NULL;
    a = &g->nodes[reader[v]];
    if ((*rv = other_operand(a, LOOM__OP_Add, v)) < 0 || *rv == v)
        return NULL;
    r = &g->values[*rv];
    y = &g->values[a->outputs[0]];
    if (r->constant || r->dtype != LOOM_F32 || r->producer >= i || r->rank != cv->rank || y->rank != cv->rank ||
        memcmp(r->dims, cv->dims, sizeof(int64_t) * (size_t)cv->rank) != 0 ||
        memcmp(y->dims, cv->dims, sizeof(int64_t) * (size_t)cv->rank) != 0)
        return NULL;
    return a;
}

/* n now writes the output of its last fused node; that node and the
 * n_inner between are gone. what names them for the log. */
static void absorb(loom__graph *g, int i, loom__node *last, loom__node *const *inner, int n_inner, const char *what)
{
    loom__node *n = &g->nodes[i];
    char lbl[LOOM__LABEL_MAX];
    n->outputs[0] = last->outputs[0];
    g->values[last->outputs[0]].producer = i;
    last->dead = true;
    for (int k = 0; k < n_inner; k++)
        inner[k]->dead = true;
    loom__log(LOOM_LOG_DEBUG, "%s: fused %s into %s", g->source, what ? what : last->op_type,
              loom__node_label(g, n, lbl, sizeof lbl));
}

loom_status loom__pass_fuse(loom__graph *g)
{
    int *readers = loom__calloc((size_t)g->n_values, sizeof *readers);
    int *reader = loom__malloc((size_t)(g->n_values ? g->n_values : 1) * sizeof *reader);
    if (!readers || !reader) {
        free(readers);
        free(reader);
        return loom__err(LOOM_E_NOMEM, "out of memory");
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const loom__node *n = &g->nodes[i];
        if (n->dead || loom__outputs_constant(g, n))
            continue;
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] >= 0) {
                readers[n->inputs[k]]++;
                reader[n->inputs[k]] = i; /* the last reader */
            }
    }
    for (int k = 0; k < g->n_outputs; k++)
        readers[g->outputs[k]] += 3; /* a graph output keeps its value: never 1 or 2 readers */
    for (int i = 0; i < g->n_nodes; i++) {
        loom__node *n = &g->nodes[i], *a;
        int v, act, sig, cv;
        float pa, pb;
        if (n->dead || n->act || n->n_outputs != 1 || loom__outputs_constant(g, n))
            continue;
        if (n->op == LOOM__OP_Add) {
            /* a residual Add and its Relu, one pass over the data */
            v = n->outputs[0];
            if (g->values[v].dtype == LOOM_F32 && readers[v] == 1 &&
                (a = &g->nodes[reader[v]])->op == LOOM__OP_Relu && !a->dead && a->inputs[0] == v &&
                a->n_outputs == 1 && a->outputs[0] >= 0) {
                n->act = LOOM_ACT_RELU;
                absorb(g, i, a, NULL, 0, NULL);
            }
            continue;
        }
        if (n->op != LOOM__OP_Gemm && n->op != LOOM__OP_MatMul && n->op != LOOM__OP_Conv)
            continue;
        v = n->outputs[0];
        if (g->values[v].dtype != LOOM_F32)
            continue; /* the fused epilogues are float ones */
        if ((a = matmul_bias(g, n, v, readers, reader, &cv)) ||
            (a = conv_residual(g, i, v, readers, reader, &cv))) {
            /* the MatMul's bias as input 2; the Conv's residual as input 3
             * (after its bias, or an absent one) */
            int at = n->op == LOOM__OP_Conv ? 3 : 2;
            int *ins = realloc(n->inputs, (size_t)(at + 1) * sizeof *ins);
            if (!ins) {
                free(readers);
                free(reader);
                return loom__err(LOOM_E_NOMEM, "out of memory");
            }
            for (int k = n->n_inputs; k < at; k++)
                ins[k] = -1;
            ins[at] = cv;
            n->inputs = ins;
            n->n_inputs = at + 1;
            absorb(g, i, a, NULL, 0, at == 3 ? "the residual Add" : "the bias Add");
            v = n->outputs[0];
        }
        if (readers[v] == 2) {
            loom__node *inner[4];
            if ((sig = silu_sigmoid(g, v, readers, reader)) >= 0) {
                n->act = LOOM_ACT_SILU;
                inner[0] = &g->nodes[sig];
                absorb(g, i, &g->nodes[reader[v]], inner, 1, "Sigmoid then Mul");
            } else if ((a = gelu_erf(g, v, readers, reader, inner))) {
                n->act = LOOM_ACT_GELU;
                absorb(g, i, a, inner, 4, "GELU (Div, Erf, Add, Mul, Mul)");
            }
            continue;
        }
        if (readers[v] != 1)
            continue;
        a = &g->nodes[reader[v]];
        act = act_of(g, a, &pa, &pb);
        if (!act || a->dead || a->inputs[0] != v || a->n_outputs != 1 || a->outputs[0] < 0)
            continue;
        n->act = act;
        n->act_a = pa;
        n->act_b = pb;
        absorb(g, i, a, NULL, 0, NULL);
    }
    free(readers);
    free(reader);
    return LOOM_OK;
}

loom_status loom__pass_dce(loom__graph *g)
{
    bool *live = calloc((size_t)g->n_values + 1, sizeof *live);
    if (!live)
        return loom__err(LOOM_E_NOMEM, "out of memory");
    for (int k = 0; k < g->n_outputs; k++)
        live[g->outputs[k]] = true;
    /* reverse topological order: a node is needed when one of its
     * outputs is live and not already a constant */
    for (int i = g->n_nodes - 1; i >= 0; i--) {
        loom__node *n = &g->nodes[i];
        bool needed = false;
        if (n->dead)
            continue; /* fused into another node */
        for (int k = 0; k < n->n_outputs; k++) {
            const loom__value *v = loom__out(g, n, k);
            if (v && live[n->outputs[k]] && !v->constant)
                needed = true;
        }
        n->dead = !needed;
        if (needed)
            for (int k = 0; k < n->n_inputs; k++)
                if (n->inputs[k] >= 0)
                    live[n->inputs[k]] = true;
    }
    free(live);
    return LOOM_OK;
}

uint64_t loom__max_tensor_bytes(const loom_session_options *opts)
{
    return opts && opts->max_tensor_bytes ? opts->max_tensor_bytes : LOOM__DEFAULT_MAX_TENSOR;
}

loom_status loom__passes_run(loom__graph *g, const loom_session_options *opts)
{
    loom_status st;
    if ((st = loom__pass_specialize(g, opts)) != LOOM_OK ||
        (st = loom__pass_infer_fold(g)) != LOOM_OK || (!(opts && opts->qdq_float) && (st = loom__pass_lower_qdq(g)) != LOOM_OK) ||
        (!(opts && opts->unfused) && (st = loom__pass_fuse(g)) != LOOM_OK) ||
        (st = loom__pass_dce(g)) != LOOM_OK)
        return st;
    return LOOM_OK;
}
