/* cost.c - the work a node does, and what a device's rates make of it
 * (cost.h). */
#include "cost/cost.h"

#include "backends/backend.h"

static int64_t numel_of(const loom__value *v)
{
    int64_t n = 0;
    return v && v->rank >= 0 && loom__numel(v->rank, v->dims, &n) ? n : 0;
}

double loom__node_flops(const loom__graph *g, const loom__node *n)
{
    const loom__value *y = loom__out(g, n, 0);
    double out = (double)numel_of(y);
    switch (n->op) {
    case LOOM__OP_Gemm: {
        const loom__value *a = loom__in(g, n, 0);
        return 2.0 * out * (double)(n->p.gemm.trans_a ? a->dims[0] : a->dims[1]);
    }
    case LOOM__OP_MatMul: {
        const loom__value *a = loom__in(g, n, 0);
        return 2.0 * out * (double)a->dims[a->rank - 1];
    }
    case LOOM__OP_Conv: {
        const loom__value *w = loom__in(g, n, 1);
        return 2.0 * out * (double)numel_of(w) / (double)(w->dims[0] ? w->dims[0] : 1);
    }
    default:
        return 0.0;
    }
}

double loom__node_bytes(const loom__graph *g, const loom__node *n)
{
    double bytes = 0;
    for (int i = 0; i < n->n_inputs; i++) {
        const loom__value *v = loom__in(g, n, i);
        if (v)
            bytes += (double)numel_of(v) * (double)loom_dtype_size(v->dtype);
    }
    for (int i = 0; i < n->n_outputs; i++) {
        const loom__value *v = loom__out(g, n, i);
        if (v)
            bytes += (double)numel_of(v) * (double)loom_dtype_size(v->dtype);
    }
    return bytes;
}

bool loom__node_gemm_i8(const loom__graph *g, const loom__node *n, int64_t *M, int64_t *N, int64_t *K,
                        int64_t *count)
{
    const loom__value *x, *w, *y;
    *M = *N = *K = *count = 0;
    if ((n->op != LOOM__OP_LoomQGemm && n->op != LOOM__OP_LoomQConv) || n->n_inputs < 2 || n->n_outputs < 1 ||
        !(x = loom__in(g, n, 0)) || !(w = loom__in(g, n, 1)) || !(y = loom__out(g, n, 0)))
        return false;
    if (n->op == LOOM__OP_LoomQGemm) {
        /* as the kernels run it: A [M, K] . W [K, N] (ref-qlinear.c) */
        if (w->rank != 2 || y->rank < 1)
            return false;
        *K = w->dims[0];
        *N = w->dims[1];
        *M = *N > 0 ? numel_of(y) / *N : 0;
        *count = 1;
    } else {
        /* im2col per image and group: [OH*OW, Cg*KH*KW] . [Cg*KH*KW, M/G] */
        const loom__conv_params *p = &n->p.conv;
        int64_t groups = p->group > 0 ? p->group : 1;
        if (x->rank != 4 || w->rank != 4 || y->rank != 4)
            return false;
        *M = y->dims[2] * y->dims[3];
        *N = w->dims[0] / groups;
        *K = x->dims[1] / groups * p->kernel[0] * p->kernel[1];
        *count = groups * x->dims[0];
    }
    if (*M < 0 || *N < 0 || *K < 0 || *count < 0) {
        /* a dim not known yet (symbolic, and not specialised) */
        *M = *N = *K = *count = 0;
        return false;
    }
    return true;
}

void loom__node_work(const loom__graph *g, const loom__node *n, loom__work *w)
{
    int64_t M, N, K, count;
    w->bytes = loom__node_bytes(g, n);
    w->elements = (double)numel_of(loom__out(g, n, 0));
    w->flops = loom__node_flops(g, n);
    w->ops_i8 = 0;
    w->gemms = 0;
    if (loom__node_gemm_i8(g, n, &M, &N, &K, &count)) {
        w->ops_i8 = 2.0 * (double)M * (double)N * (double)K * (double)count;
        w->gemms = (double)count;
    }
}

static double rate(double r)
{
    return r > 0 ? r : 1e-3; /* an unknown rate is a slow one, never a division by 0 */
}

double loom__work_cost_us(const loom__rates *r, const loom__work *w, double launches)
{
    return launches * r->launch_us + w->flops / rate(r->gflops) / 1e3 + w->ops_i8 / rate(r->gops_i8) / 1e3 +
           w->bytes / rate(r->mem_gbps) / 1e3;
}

double loom__node_cost_us(const loom__device *dev, const loom__graph *g, const loom__node *n)
{
    loom__work w;
    if (dev->backend->cost_us)
        return dev->backend->cost_us((loom__device *)dev, g, n);
    loom__node_work(g, n, &w);
    return loom__work_cost_us(&dev->caps.rates, &w, w.gemms > 0 ? w.gemms : 1);
}

double loom__copy_cost_us(const loom__device *dev, uint64_t copies, uint64_t nbytes)
{
    const loom__rates *r = &dev->caps.rates;
    if (dev->kind == LOOM__DEV_HOST || dev->caps.host_memory)
        return 0.0;
    return (double)copies * r->xfer_us + (double)nbytes / rate(r->xfer_gbps) / 1e3;
}

const char *loom__rates_source_name(loom__rates_source s)
{
    return s == LOOM__RATES_MEASURED ? "measured" : "modelled";
}
