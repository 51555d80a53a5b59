/*
 * cl-ops.c - which nodes the OpenCL backend runs, and how.
 *
 * prepare() lowers a node to a list of kernel launches with every
 * argument bound (buffers are fixed for a plan's life), deriving constant
 * operands once (transposed or scaled weights, folded BatchNorm). run()
 * replays the list. All of it is fp32 except the buffer copies that
 * implement Reshape-like ops for any dtype.
 *
 * Launch geometries follow the comments at the top of each kernels-cl/
 * file; knob values come from the device's tuning entry.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/opencl/opencl.h"
#include "ops/ops.h"

/* Product of the first k dims. */
static int64_t loom__span_of(const int64_t *dims, int k)
{
    int64_t s = 1;
    for (int i = 0; i < k; i++)
        s *= dims[i];
    return s;
}

/* ---- launches ---- */

typedef enum { ARG_INT, ARG_FLOAT, ARG_MEM, ARG_INT8, ARG_SCRATCH } karg_kind;

typedef struct {
    karg_kind kind;
    union {
        cl_int i;
        cl_float f;
        cl_mem m;
        cl_int8 v;
    } u;
} karg;

#define MAX_KARGS 24

typedef struct {
    int kernel; /* loom__cl_kernel_id, or -1: a buffer copy */
    karg args[MAX_KARGS];
    int nargs;
    cl_uint dims;
    size_t gws[3], lws[3];
    bool use_lws;
    /* copies */
    cl_mem src, dst;
    size_t bytes;
} launch;

typedef struct {
    launch *l;
    int n, cap;
    cl_mem *owned; /* derived constants and scratch, released with the state */
    int n_owned, cap_owned;
} cl_state;

static launch *add_launch(cl_state *s, int kernel)
{
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 4;
        launch *grown = realloc(s->l, (size_t)cap * sizeof *grown);
        if (!grown)
            return NULL;
        s->l = grown;
        s->cap = cap;
    }
    memset(&s->l[s->n], 0, sizeof s->l[0]);
    s->l[s->n].kernel = kernel;
    return &s->l[s->n++];
}

static void a_int(launch *l, long v) { l->args[l->nargs].kind = ARG_INT; l->args[l->nargs++].u.i = (cl_int)v; }
static void a_flt(launch *l, float v) { l->args[l->nargs].kind = ARG_FLOAT; l->args[l->nargs++].u.f = v; }
/* A scratch slot stands in for a cl_mem as the small integer slot + 1
 * (never a real cl_mem); a_mem records it as such. */
#define SCRATCH_REF(slot) ((cl_mem)(uintptr_t)((slot) + 1))
static int scratch_slot(cl_mem m)
{
    return (uintptr_t)m >= 1 && (uintptr_t)m <= LOOM__CL_SCRATCH_SLOTS ? (int)(uintptr_t)m - 1 : -1;
}

static void a_mem(launch *l, cl_mem m)
{
    int slot = scratch_slot(m);
    if (slot >= 0) {
        l->args[l->nargs].kind = ARG_SCRATCH;
        l->args[l->nargs++].u.i = slot;
        return;
    }
    l->args[l->nargs].kind = ARG_MEM;
    l->args[l->nargs++].u.m = m;
}

static void a_int8(launch *l, const int64_t *v, int n)
{
    cl_int8 x;
    memset(&x, 0, sizeof x);
    for (int i = 0; i < n && i < 8; i++)
        x.s[i] = (cl_int)v[i];
    l->args[l->nargs].kind = ARG_INT8;
    l->args[l->nargs++].u.v = x;
}

static size_t round_up(size_t a, size_t b)
{
    return (a + b - 1) / b * b;
}

/* 1-D grid-stride kernels: a few work-groups per compute unit. */
/* per_unit work-groups (or work-items) per compute unit of the device. */
static size_t per_units(const loom__device *dev, size_t per_unit)
{
    return (size_t)(dev->compute_units > 0 ? dev->compute_units : 1) * per_unit;
}

static void geom_1d(launch *l, const loom__device *dev, int64_t n)
{
    size_t L = 64, groups = (size_t)((n + 63) / 64), cap = per_units(dev, 16);
    l->dims = 1;
    l->gws[0] = (groups < cap ? groups : cap) * L;
    if (l->gws[0] == 0)
        l->gws[0] = L;
    l->lws[0] = L;
    l->use_lws = true;
}

/* A work-item per item (a row, a plane, an output column), local size 1,
 * at most per_unit of them per compute unit at a time: the kernel strides
 * over the rest by the global size. */
static void geom_items(launch *l, const loom__device *dev, int64_t items, size_t per_unit)
{
    size_t cap = per_units(dev, per_unit);
    l->dims = 1;
    l->lws[0] = 1;
    l->gws[0] = (size_t)items < cap ? (size_t)items : cap;
    l->use_lws = true;
}

/* Row reductions: one work-group of L per row. */
static void geom_rows(launch *l, const loom__device *dev, int64_t rows, int64_t len)
{
    size_t L = 1;
    if (dev->kind == LOOM__DEV_GPU) {
        long wgmax = loom__cl_knob(&((loom__cl_dev *)dev->priv)->tuning, "NN_WG_MAX", 256);
        while (L < (size_t)len && L < (size_t)wgmax)
            L *= 2;
    }
    l->dims = 1;
    l->lws[0] = L;
    l->gws[0] = (size_t)rows * L;
    l->use_lws = true;
}

static loom_status own(loom__device *dev, cl_state *s, cl_mem m)
{
    if (s->n_owned == s->cap_owned) {
        int cap = s->cap_owned ? s->cap_owned * 2 : 4;
        cl_mem *grown = realloc(s->owned, (size_t)cap * sizeof *grown);
        if (!grown) {
            loom__cl_buffer_release(dev, m);
            return loom__err(LOOM_E_NOMEM, "out of memory");
        }
        s->owned = grown;
        s->cap_owned = cap;
    }
    s->owned[s->n_owned++] = m;
    return LOOM_OK;
}

/* A device buffer owned by the state, filled from host data (or left
 * uninitialised when data is NULL). */
static loom_status new_buffer(loom__device *dev, cl_state *s, const void *data, size_t nbytes,
                              cl_mem *out)
{
    loom_status st = loom__cl_buffer_new(dev, data, nbytes, out);
    return st == LOOM_OK ? own(dev, s, *out) : st;
}

/* Scratch of nbytes: the device's shared slot (at least that large, grown
 * here), or, in guard mode (LOOM_CL_GUARD=1), a buffer of exactly that
 * size owned by the state, so that the guard bytes sit right after it. */
static loom_status scratch_buffer(loom__device *dev, cl_state *s, int slot, size_t nbytes, cl_mem *out)
{
    loom__cl_dev *cd = dev->priv;
    cl_mem grown, old = NULL;
    loom_status st;
    if (loom__cl_guard_mode())
        return new_buffer(dev, s, NULL, nbytes, out);
    pthread_mutex_lock(&cd->lock);
    if (cd->scratch[slot] && cd->scratch_bytes[slot] >= nbytes) {
        pthread_mutex_unlock(&cd->lock);
        *out = SCRATCH_REF(slot);
        return LOOM_OK;
    }
    pthread_mutex_unlock(&cd->lock);
    if ((st = loom__cl_buffer_new(dev, NULL, nbytes, &grown)) != LOOM_OK)
        return st;
    pthread_mutex_lock(&cd->lock);
    if (cd->scratch[slot] && cd->scratch_bytes[slot] >= nbytes) {
        old = grown; /* another plan grew it meanwhile */
    } else {
        /* launches already queued keep the old one alive (OpenCL
         * releases a buffer when the commands using it are done) */
        old = cd->scratch[slot];
        cd->scratch[slot] = grown;
        cd->scratch_bytes[slot] = nbytes;
    }
    pthread_mutex_unlock(&cd->lock);
    if (old)
        loom__cl_buffer_release(dev, old);
    *out = SCRATCH_REF(slot);
    return LOOM_OK;
}

/* ---- support ---- */

static bool f32(const loom__value *v)
{
    return v && v->dtype == LOOM_F32;
}

static bool fits_int(const loom__value *v)
{
    int64_t n;
    return v && loom__numel(v->rank, v->dims, &n) && n < ((int64_t)1 << 31) - (1 << 20);
}

static bool is_const(const loom__graph *g, const loom__node *n, int i)
{
    const loom__value *v = loom__in(g, n, i);
    return v && v->constant;
}

/* How many leading inputs carry data (the rest are shapes, axes, ...). */
static int data_inputs(loom__op op)
{
    switch (op) {
    case LOOM__OP_Add: case LOOM__OP_Sub: case LOOM__OP_Mul: case LOOM__OP_Div: case LOOM__OP_Pow:
        return 2;
    case LOOM__OP_Gemm: case LOOM__OP_MatMul: case LOOM__OP_Conv: case LOOM__OP_LayerNormalization:
        return 3;
    case LOOM__OP_BatchNormalization:
        return 5;
    default:
        return 1;
    }
}

static bool implemented(loom__op op)
{
    switch (op) {
    case LOOM__OP_Identity: case LOOM__OP_Reshape: case LOOM__OP_Flatten: case LOOM__OP_Squeeze:
    case LOOM__OP_Unsqueeze: case LOOM__OP_Dropout: case LOOM__OP_Relu: case LOOM__OP_Sigmoid:
    case LOOM__OP_Tanh: case LOOM__OP_Erf: case LOOM__OP_Sqrt: case LOOM__OP_Abs: case LOOM__OP_Neg:
    case LOOM__OP_Exp: case LOOM__OP_Log: case LOOM__OP_Reciprocal: case LOOM__OP_Clip:
    case LOOM__OP_Add: case LOOM__OP_Sub: case LOOM__OP_Mul: case LOOM__OP_Div: case LOOM__OP_Pow:
    case LOOM__OP_Softmax: case LOOM__OP_GlobalAveragePool: case LOOM__OP_Transpose:
    case LOOM__OP_Slice: case LOOM__OP_Expand: case LOOM__OP_LayerNormalization:
    case LOOM__OP_BatchNormalization: case LOOM__OP_Gemm: case LOOM__OP_MatMul: case LOOM__OP_Conv:
    case LOOM__OP_MaxPool: case LOOM__OP_AveragePool: case LOOM__OP_LoomQGemm: case LOOM__OP_LoomQConv:
        return true;
    default:
        return false;
    }
}

/* Window geometry the kernels take as int: every value, and the extents
 * and padded sizes derived from it, must fit. */
static bool window_fits(int spatial, const int64_t *kernel, const int64_t *strides,
                        const int64_t *dilations, const int64_t *pads, const loom__value *x)
{
    for (int i = 0; i < spatial; i++) {
        int64_t extent = (kernel[i] - 1) * dilations[i] + 1;
        int64_t padded = x->dims[2 + i] + pads[i] + pads[i + spatial];
        if (kernel[i] > INT32_MAX || strides[i] > INT32_MAX || dilations[i] > INT32_MAX ||
            pads[i] > INT32_MAX || pads[i + spatial] > INT32_MAX || extent > INT32_MAX ||
            padded > INT32_MAX)
            return false;
    }
    return true;
}

/* A 1x1 convolution at stride 1 without padding reads its input as the
 * GEMM operand itself: no im2col. */
static bool pointwise(const loom__conv_params *p)
{
    return p->kernel[0] == 1 && p->kernel[1] == 1 && p->strides[0] == 1 && p->strides[1] == 1 &&
           p->pads[0] == 0 && p->pads[1] == 0 && p->pads[2] == 0 && p->pads[3] == 0;
}

bool loom__cl_supports(loom__device *dev, const loom__graph *g, const loom__node *n, const char **why)
{
    const loom__cl_dev *cd = dev->priv;
    bool copy_only = n->op == LOOM__OP_Identity || n->op == LOOM__OP_Reshape || n->op == LOOM__OP_Flatten ||
                     n->op == LOOM__OP_Squeeze || n->op == LOOM__OP_Unsqueeze || n->op == LOOM__OP_Dropout;
    const bool int8_op = n->op == LOOM__OP_LoomQGemm || n->op == LOOM__OP_LoomQConv ||
                         (n->op == LOOM__OP_MaxPool && n->n_inputs > 0 && n->inputs[0] >= 0 &&
                          g->values[n->inputs[0]].dtype == LOOM_I8);
    const loom__cl_tuning *t = &cd->tuning;
    if (cd->fpga)
        return *why = "an FPGA platform: loom's kernel comes as a binary there (the int8 GEMM only)", false;
    if (!implemented(n->op))
        return *why = "op not implemented in kernels-cl", false;
    /* fixed work-group sizes the device must accept */
    if ((n->op == LOOM__OP_Gemm || n->op == LOOM__OP_MatMul || n->op == LOOM__OP_Conv) && !t->systolic &&
        (size_t)(loom__cl_knob(t, "GEMM_WGM", 1) * loom__cl_knob(t, "GEMM_WGN", 1)) > cd->max_wg)
        return *why = "the GEMM work-group is larger than the device allows", false;
    if (n->op == LOOM__OP_LoomQConv &&
        (size_t)(loom__cl_knob(t, "TR_TILE", 16) * loom__cl_knob(t, "TR_TILE", 16)) > cd->max_wg)
        return *why = "the transpose work-group is larger than the device allows", false;
    /* every tensor and its buffer within the device's largest allocation */
    for (int i = 0; i < n->n_outputs; i++) {
        const loom__value *v = loom__out(g, n, i);
        int64_t ne;
        if (v && loom__numel(v->rank, v->dims, &ne) &&
            (uint64_t)ne * loom_dtype_size(v->dtype) + LOOM__CL_GUARD > cd->max_alloc)
            return *why = "an output is larger than the device's largest allocation", false;
    }
    for (int i = 0; i < n->n_inputs && i < data_inputs(n->op); i++) {
        const loom__value *v = loom__in(g, n, i);
        if (v && !fits_int(v))
            return *why = "tensor too large for int indexing", false;
        if (v && !copy_only && !int8_op && !f32(v))
            return *why = "float32 only", false;
    }
    for (int i = 0; i < n->n_outputs; i++) {
        const loom__value *v = loom__out(g, n, i);
        if (v && (!fits_int(v) || (!copy_only && !int8_op && !f32(v))))
            return *why = "float32 outputs below 2^31 elements only", false;
    }
    switch (n->op) {
    case LOOM__OP_Clip:
        if ((loom__in(g, n, 1) && !is_const(g, n, 1)) || (loom__in(g, n, 2) && !is_const(g, n, 2)))
            return *why = "min and max computed at run time", false;
        return true;
    case LOOM__OP_Dropout:
        if (n->n_outputs > 1 && n->outputs[1] >= 0)
            return *why = "the mask output is not implemented", false;
        return true;
    case LOOM__OP_LayerNormalization:
        if ((n->n_outputs > 1 && n->outputs[1] >= 0) || (n->n_outputs > 2 && n->outputs[2] >= 0))
            return *why = "the Mean/InvStdDev outputs are not implemented", false;
        return true;
    case LOOM__OP_BatchNormalization:
        for (int i = 1; i < 5; i++)
            if (!is_const(g, n, i))
                return *why = "scale, bias, mean and var must be constants", false;
        return true;
    case LOOM__OP_Gemm: {
        const loom__value *c = loom__in(g, n, 2);
        if (n->p.gemm.trans_a && !is_const(g, n, 0))
            return *why = "transA on a run-time A", false;
        if ((n->p.gemm.trans_b || n->p.gemm.alpha != 1.0f) && !is_const(g, n, 1))
            return *why = "transB or alpha on a run-time B", false;
        if (c) {
            int64_t N = loom__out(g, n, 0)->dims[1];
            bool row = c->constant && (c->constant->numel == 1 ||
                                       (c->rank >= 1 && c->dims[c->rank - 1] == N &&
                                        (c->rank == 1 || c->dims[0] == 1)));
            if (!row)
                return *why = "C must be a constant row (shape [N], [1,N] or a scalar)", false;
        }
        return true;
    }
    case LOOM__OP_Conv: case LOOM__OP_LoomQConv: {
        const loom__conv_params *p = &n->p.conv;
        const loom__value *x = loom__in(g, n, 0), *y = loom__out(g, n, 0);
        int64_t ck, pixels;
        if (p->spatial != 2)
            return *why = "only 2-D convolutions", false;
        if (!is_const(g, n, 1) || (loom__in(g, n, 2) && !is_const(g, n, 2)))
            return *why = "weights and bias must be constants", false;
        if (!window_fits(2, p->kernel, p->strides, p->dilations, p->pads, x))
            return *why = "window attributes too large for int", false;
        if (n->n_inputs > 3 && n->inputs[3] >= 0 && (p->group > 1 || t->systolic))
            return *why = "a fused residual Add needs the register-tiled GEMM (group 1)", false;
        /* the im2col scratch matrix: OH*OW x C/G*KH*KW elements (none for
         * a float grouped or pointwise layer) */
        ck = x->dims[1] / p->group * p->kernel[0] * p->kernel[1];
        pixels = y->dims[2] * y->dims[3];
        if (n->op == LOOM__OP_Conv && (p->group > 1 || pointwise(p)))
            return true;
        if (ck * pixels >= ((int64_t)1 << 31) - (1 << 20) ||
            (uint64_t)(ck * pixels) * 4 + LOOM__CL_GUARD > cd->max_alloc)
            return *why = "its im2col matrix is larger than the device's largest allocation", false;
        return true;
    }
    case LOOM__OP_MaxPool: case LOOM__OP_AveragePool:
        if (n->p.pool.spatial != 2)
            return *why = "only 2-D pooling", false;
        if (n->op == LOOM__OP_AveragePool && (n->p.pool.dilations[0] != 1 || n->p.pool.dilations[1] != 1))
            return *why = "AveragePool's dilations (opset 19) run on ref", false;
        if (!window_fits(2, n->p.pool.kernel, n->p.pool.strides, n->p.pool.dilations, n->p.pool.pads,
                         loom__in(g, n, 0)))
            return *why = "window attributes too large for int", false;
        return true;
    default:
        return true;
    }
}

/* Inputs the lowering reads on the device; the rest (weights it
 * rearranges, shape/axes/bounds operands) it takes from the host tensor at
 * prepare time, so the plan never uploads them. */
bool loom__cl_reads_input(loom__device *dev, const loom__graph *g, const loom__node *n, int i)
{
    (void)dev;
    switch (n->op) {
    case LOOM__OP_Gemm:
        if (i == 2)
            return false; /* bias row derived */
        if (i == 1)
            return !(n->p.gemm.trans_b || n->p.gemm.alpha != 1.0f);
        return !n->p.gemm.trans_a;
    case LOOM__OP_Conv:
        return i == 0 || i == 3; /* the data, a fused residual */
    case LOOM__OP_BatchNormalization: case LOOM__OP_LoomQGemm: case LOOM__OP_LoomQConv:
        return i == 0;
    case LOOM__OP_Add: case LOOM__OP_Sub: case LOOM__OP_Mul: case LOOM__OP_Div: case LOOM__OP_Pow:
    case LOOM__OP_MatMul:
        return true;
    case LOOM__OP_LayerNormalization:
        return true;
    default:
        (void)g;
        return i == 0; /* unary, Clip, Reshape family, Transpose, Slice, Expand, pools, ... */
    }
}

/* ---- cost model: launches as lowered below, GEMM work padded to the
 * kernel's register tiles ---- */

static const loom__cl_tuning *tuning(const loom__device *dev);

/* Whether Gemm node n of M rows runs as loom_gemv_f32: a few rows (a
 * classifier at batch 1-4) against weights kept one output per row
 * (transB), on the register-tiled formulation's devices. */
static bool gemv_ok(const loom__device *dev, const loom__node *n, int64_t M)
{
    return !tuning(dev)->systolic && n->op == LOOM__OP_Gemm && n->p.gemm.trans_b && !n->p.gemm.trans_a &&
           M <= LOOM_GEMV_MAX_M;
}

/* Whether the device's GEMM has loom_gemm_f32_ex's additions (the
 * register-tiled formulation; the systolic one does not). */
static bool gemm_ex_ok(const loom__device *dev)
{
    return !tuning(dev)->systolic;
}

/* The direct convolution's arithmetic rate as a share of the GEMM's; the
 * depthwise kernels' (stride 1; half that strided), from their
 * microbenchmark on PoCL (AVX-512, 2 threads): 0.15-0.26 ns a tap at
 * stride 1, 0.3-0.4 at stride 2, beside 86 GFLOP/s of GEMM. */
#define CL_DIRECT_CONV_SHARE 0.25
#define CL_DW_CONV_SHARE 0.1

static double gemm_us(const loom__device *dev, double M, double N, double K)
{
    const loom__cl_tuning *t = tuning(dev);
    /* rows are computed in whole work-item tiles; with local memory
     * (modes 1, 2) a work-item whose rows all lie past M skips its work,
     * else the whole work-group's rows are computed */
    double tm = t->systolic ? (double)loom__cl_knob(t, "SYS_ROWS", 8)
                : loom__cl_knob(t, "GEMM_LOCAL", 0) > 0
                    ? (double)loom__cl_knob(t, "GEMM_MWI", 8)
                    : (double)(loom__cl_knob(t, "GEMM_MWI", 8) * loom__cl_knob(t, "GEMM_WGM", 1));
    double tn = t->systolic ? (double)loom__cl_knob(t, "SYS_COLS", 8)
                            : (double)(loom__cl_knob(t, "GEMM_NWI", 32) * loom__cl_knob(t, "GEMM_WGN", 1));
    double pm = ceil(M / tm) * tm, pn = ceil(N / tn) * tn;
    const loom__rates *r = &dev->caps.rates;
    return r->launch_us + 2.0 * pm * pn * K / (r->gflops > 0 ? r->gflops : 1) / 1e3;
}

/* Whether a MatMul's batches run as one batched GEMM launch: batch t
 * reads matrix t, or matrix 0 for every t (broadcast), of each operand;
 * sa, sb get 1 or 0 accordingly (matrices to advance per batch). */
static bool uniform_batches(const loom__matmul_shape *ms, int *sa, int *sb)
{
    bool a_t = true, a_0 = true, b_t = true, b_0 = true;
    if (ms->batches < 2 || ms->batches >= 65536)
        return false;
    for (int64_t t = 0; t < ms->batches; t++) {
        int64_t ia, ib;
        loom__matmul_batch(ms, t, &ia, &ib);
        a_t = a_t && ia == t, a_0 = a_0 && ia == 0;
        b_t = b_t && ib == t, b_0 = b_0 && ib == 0;
    }
    *sa = a_t ? 1 : 0;
    *sb = b_t ? 1 : 0;
    return (a_t || a_0) && (b_t || b_0);
}

double loom__cl_cost_us(loom__device *dev, const loom__graph *g, const loom__node *n)
{
    const loom__rates *r = &dev->caps.rates;
    const loom__value *y = loom__out(g, n, 0);
    double launch = r->launch_us, bw = r->mem_gbps > 0 ? r->mem_gbps : 1;
    double mem_us = loom__node_bytes(g, n) / bw / 1e3;
    switch (n->op) {
    case LOOM__OP_Gemm: {
        const loom__value *b = loom__in(g, n, 1);
        double K = (double)(n->p.gemm.trans_b ? b->dims[1] : b->dims[0]);
        if (gemv_ok(dev, n, y->dims[0])) /* memory-bound: the weights once */
            return launch + fmax(mem_us, 2.0 * (double)y->dims[0] * (double)y->dims[1] * K /
                                             (r->gflops > 0 ? r->gflops : 1) / 1e3);
        return gemm_us(dev, (double)y->dims[0], (double)y->dims[1], K) + mem_us;
    }
    case LOOM__OP_MatMul: {
        /* one GEMM launch per (broadcast) batch matrix */
        const loom__value *a = loom__in(g, n, 0), *b = loom__in(g, n, 1);
        loom__matmul_shape ms;
        int sa, sb;
        loom__matmul_shape_of(a->rank, a->dims, b->rank, b->dims, &ms);
        loom__matmul_fold_rows(&ms);
        /* one launch for a uniform batch (lower_matmul), else one each */
        return (double)ms.batches * gemm_us(dev, (double)ms.M, (double)ms.N, (double)ms.K) -
               (uniform_batches(&ms, &sa, &sb) ? (double)(ms.batches - 1) * launch : 0.0) + mem_us;
    }
    case LOOM__OP_Conv: {
        /* as lower_conv_f32: grouped ones direct, in one launch; else per
         * image a GEMM, with an im2col and a transpose unless pointwise */
        const loom__value *x = loom__in(g, n, 0);
        const loom__conv_params *p = &n->p.conv;
        double P = (double)(y->dims[2] * y->dims[3]), M = (double)y->dims[1], B = (double)x->dims[0];
        double CK = (double)(x->dims[1] / p->group * p->kernel[0] * p->kernel[1]);
        double gf = r->gflops > 0 ? r->gflops : 1;
        if (p->group > 1) {
            bool dw = p->group == x->dims[1] && p->group == y->dims[1];
            double share = !dw ? CL_DIRECT_CONV_SHARE
                           : p->strides[0] == 1 && p->strides[1] == 1 ? CL_DW_CONV_SHARE : CL_DW_CONV_SHARE / 2;
            return launch + 2.0 * B * M * P * CK / (gf * share) / 1e3 + mem_us;
        }
        if (pointwise(p) && P == 1)
            return gemm_us(dev, B, M, CK) + mem_us;
        if (pointwise(p))
            return B * gemm_us(dev, M, P, CK) + mem_us;
        /* the im2col copy (written, read back), and the transpose unless
         * the GEMM stores its result transposed */
        if (gemm_ex_ok(dev))
            return B * (gemm_us(dev, P, M, CK) + launch + 8.0 * CK * P / bw / 1e3) + mem_us;
        return B * (gemm_us(dev, P, M, CK) + 2 * launch + 8.0 * (CK + M) * P / bw / 1e3) + mem_us;
    }
    case LOOM__OP_LoomQGemm:
    case LOOM__OP_LoomQConv: {
        /* the int8 GEMM kernel, one launch per kernel-ABI GEMM */
        loom__work w;
        loom__node_work(g, n, &w);
        return loom__work_cost_us(r, &w, w.gemms > 0 ? w.gemms : 1);
    }
    default:
        return launch + mem_us;
    }
}

/* ---- lowering ---- */

static const loom__cl_tuning *tuning(const loom__device *dev)
{
    return &((const loom__cl_dev *)dev->priv)->tuning;
}

/* Launch geometry of the register-tiled GEMM kernels (fp32 and int8 name
 * their knobs differently): a wg_m x wg_n work-group, each work-item a
 * wpt_m x wpt_n tile of C, dim 0 along N; the systolic formulations run
 * as one work-item. */
static void gemm_geometry(launch *l, const loom__cl_tuning *t, int64_t M, int64_t N, const char *wg_m,
                          int wg_m_def, const char *wg_n, int wg_n_def, const char *wpt_m, int wpt_m_def,
                          const char *wpt_n, int wpt_n_def)
{
    size_t wm = (size_t)loom__cl_knob(t, wg_m, wg_m_def), wn = (size_t)loom__cl_knob(t, wg_n, wg_n_def);
    size_t pm = (size_t)loom__cl_knob(t, wpt_m, wpt_m_def), pn = (size_t)loom__cl_knob(t, wpt_n, wpt_n_def);
    l->use_lws = true;
    if (t->systolic) {
        l->dims = 1;
        l->gws[0] = l->lws[0] = 1;
        return;
    }
    l->dims = 2;
    l->lws[0] = wn;
    l->lws[1] = wm;
    l->gws[0] = ((size_t)N + wn * pn - 1) / (wn * pn) * wn;
    l->gws[1] = ((size_t)M + wm * pm - 1) / (wm * pm) * wm;
}

/* Where a GEMM's bias applies (the kernel's has_bias). */
enum { BIAS_NONE = 0, BIAS_COLUMN = 1, BIAS_ROW = 2 };

/* What loom_gemm_f32_ex adds to a GEMM: C stored transposed, a summand R
 * read at C's indices (NULL: none). */
typedef struct {
    bool c_trans;
    cl_mem R;
} gemm_ex;

/* One fp32 GEMM launch: C[c_off..] = act(A[a_off..] B[b_off..] + bias),
 * act and its parameters those fused into n; bias per column or row;
 * for `batches` matrices, t-th at the offsets plus t times ba, bb, bc;
 * with ex (or NULL) loom_gemm_f32_ex's transposed store and summand
 * (never on the systolic formulation: the callers check gemm_ex_ok). */
static loom_status gemm_batch_launch(loom__device *dev, cl_state *s, int M, int N, int K, cl_mem A, int lda,
                                     int a_off, cl_mem B, int ldb, int b_off, cl_mem bias, int bias_mode,
                                     cl_mem C, int ldc, int c_off, const loom__node *n, int batches, int ba,
                                     int bb, int bc, const gemm_ex *ex)
{
    const loom__cl_tuning *t = tuning(dev);
    bool use_ex = ex && (ex->c_trans || ex->R);
    launch *l = add_launch(s, t->systolic ? K_loom_gemm_f32_systolic : use_ex ? K_loom_gemm_f32_ex : K_loom_gemm_f32);
    if (!l)
        return loom__err(LOOM_E_NOMEM, "out of memory");
    a_int(l, M), a_int(l, N), a_int(l, K);
    a_mem(l, A), a_int(l, lda), a_int(l, a_off);
    a_mem(l, B), a_int(l, ldb), a_int(l, b_off);
    a_mem(l, bias), a_int(l, bias ? bias_mode : BIAS_NONE);
    a_mem(l, C), a_int(l, ldc), a_int(l, c_off), a_int(l, n->act), a_flt(l, n->act_a), a_flt(l, n->act_b);
    a_int(l, batches), a_int(l, ba), a_int(l, bb), a_int(l, bc);
    if (use_ex)
        a_int(l, ex->c_trans), a_mem(l, ex->R ? ex->R : C), a_int(l, ex->R != NULL);
    gemm_geometry(l, t, M, N, "GEMM_WGM", 1, "GEMM_WGN", 1, "GEMM_MWI", 8, "GEMM_NWI", 32);
    if (!t->systolic) {
        l->dims = 3;
        l->gws[2] = (size_t)batches;
        l->lws[2] = 1;
    }
    return LOOM_OK;
}

static loom_status gemm_launch(loom__device *dev, cl_state *s, int M, int N, int K, cl_mem A, int lda,
                               int a_off, cl_mem B, int ldb, int b_off, cl_mem bias, int bias_mode,
                               cl_mem C, int ldc, int c_off, const loom__node *n)
{
    return gemm_batch_launch(dev, s, M, N, K, A, lda, a_off, B, ldb, b_off, bias, bias_mode, C, ldc, c_off, n,
                             1, 0, 0, 0, NULL);
}

/* One launch of the kernel ABI's int8 GEMM (loom_gemm_i8, or the
 * systolic formulation where the tuning says so); offsets in elements. */
static loom_status i8_launch(loom__device *dev, cl_state *s, int64_t M, int64_t N, int64_t K, cl_mem A,
                             int64_t lda, int64_t a_off, cl_mem B, int64_t ldb, int64_t b_off, cl_mem bias,
                             cl_mem mult, cl_mem shift, cl_mem C, int64_t ldc, int64_t c_off, int act,
                             cl_mem lut)
{
    const loom__cl_tuning *t = tuning(dev);
    launch *l = add_launch(s, t->systolic ? K_loom_gemm_i8_systolic : K_loom_gemm_i8);
    if (!l)
        return loom__err(LOOM_E_NOMEM, "out of memory");
    a_int(l, M), a_int(l, N), a_int(l, K);
    a_mem(l, A), a_int(l, lda), a_int(l, a_off);
    a_mem(l, B), a_int(l, ldb), a_int(l, b_off);
    a_mem(l, bias), a_int(l, bias != NULL);
    a_mem(l, mult), a_mem(l, shift);
    a_mem(l, C), a_int(l, ldc), a_int(l, c_off), a_int(l, act), a_mem(l, lut);
    gemm_geometry(l, t, M, N, "I8_WG_M", 8, "I8_WG_N", 8, "I8_WPT_M", 4, "I8_WPT_N", 4);
    return LOOM_OK;
}

static cl_mem mem(const loom__arg *a)
{
    return a && a->buf ? (cl_mem)a->buf : NULL;
}

/* A constant 2-D float operand rearranged on the host: transposed when
 * trans, scaled by alpha; uploaded once. */
static loom_status derived_matrix(loom__device *dev, cl_state *s, const loom_tensor *t, bool trans,
                                  float alpha, cl_mem *out)
{
    int64_t R = t->dims[0], C = t->rank > 1 ? t->dims[1] : 1;
    int64_t RC = R * C;
    float *tmp = malloc((size_t)(RC > 0 ? RC : 1) * sizeof *tmp);
    const float *x = t->data;
    loom_status st;
    if (!tmp)
        return loom__err(LOOM_E_NOMEM, "out of memory");
    for (int64_t r = 0; r < R; r++)
        for (int64_t c = 0; c < C; c++)
            tmp[trans ? c * R + r : r * C + c] = alpha * x[r * C + c];
    st = new_buffer(dev, s, tmp, (size_t)(R * C) * sizeof *tmp, out);
    free(tmp);
    return st;
}

static loom_status lower_gemm(loom__device *dev, const loom__graph *g, const loom__node *n,
                              const loom__arg *in, const loom__arg *out, cl_state *s)
{
    const loom__gemm_params *p = &n->p.gemm;
    const loom__value *y = loom__out(g, n, 0), *c = loom__in(g, n, 2);
    int M = (int)y->dims[0], N = (int)y->dims[1];
    const loom__value *b = loom__in(g, n, 1);
    int K = (int)(p->trans_b ? b->dims[1] : b->dims[0]);
    cl_mem A = mem(&in[0]), B = mem(&in[1]), bias = NULL;
    loom_status st;

    bool gemv = gemv_ok(dev, n, M);
    if (p->trans_a && (st = derived_matrix(dev, s, loom__in(g, n, 0)->constant, true, 1.0f, &A)) != LOOM_OK)
        return st;
    /* B as [K, N] for the GEMM; for the GEMV as the weights [N, K] the
     * Gemm keeps (transB: never read in place, loom__cl_reads_input), alpha
     * folded in either way */
    if ((p->trans_b || p->alpha != 1.0f) &&
        (st = derived_matrix(dev, s, b->constant, p->trans_b && !gemv, p->alpha, &B)) != LOOM_OK)
        return st;
    if (c && p->beta != 0.0f) {
        /* the bias row, broadcast to N and scaled by beta */
        float *row = malloc((size_t)N * sizeof *row);
        const float *cv = c->constant->data;
        if (!row)
            return loom__err(LOOM_E_NOMEM, "out of memory");
        for (int j = 0; j < N; j++)
            row[j] = p->beta * cv[c->constant->numel == 1 ? 0 : j];
        st = new_buffer(dev, s, row, (size_t)N * sizeof *row, &bias);
        free(row);
        if (st != LOOM_OK)
            return st;
    }
    if (gemv) {
        launch *l = add_launch(s, K_loom_gemv_f32);
        if (!l)
            return loom__err(LOOM_E_NOMEM, "out of memory");
        a_int(l, M), a_int(l, N), a_int(l, K), a_mem(l, A), a_int(l, K), a_int(l, 0), a_mem(l, B), a_int(l, K);
        a_mem(l, bias), a_int(l, bias != NULL), a_mem(l, mem(&out[0])), a_int(l, N), a_int(l, 0);
        a_int(l, n->act), a_flt(l, n->act_a), a_flt(l, n->act_b);
        geom_items(l, dev, N, 16);
        return LOOM_OK;
    }
    return gemm_launch(dev, s, M, N, K, A, K, 0, B, N, 0, bias, BIAS_COLUMN, mem(&out[0]), N, 0, n);
}

static loom_status lower_matmul(loom__device *dev, const loom__graph *g, const loom__node *n,
                                const loom__arg *in, const loom__arg *out, cl_state *s)
{
    const loom__value *a = loom__in(g, n, 0), *b = loom__in(g, n, 1);
    cl_mem bias = n->n_inputs > 2 ? mem(&in[2]) : NULL; /* fused from an Add: one per column */
    loom__matmul_shape ms;
    int sa, sb;
    loom_status st;

    loom__matmul_shape_of(a->rank, a->dims, b->rank, b->dims, &ms);
    loom__matmul_fold_rows(&ms);
    if (uniform_batches(&ms, &sa, &sb))
        /* one launch for the batch (attention's per-head products) */
        return gemm_batch_launch(dev, s, (int)ms.M, (int)ms.N, (int)ms.K, mem(&in[0]), (int)ms.K, 0, mem(&in[1]),
                                 (int)ms.N, 0, bias, bias ? BIAS_COLUMN : BIAS_NONE, mem(&out[0]), (int)ms.N, 0, n,
                                 (int)ms.batches, sa * (int)(ms.M * ms.K), sb * (int)(ms.K * ms.N),
                                 (int)(ms.M * ms.N), NULL);
    for (int64_t t = 0; t < ms.batches; t++) {
        int64_t ia, ib;
        loom__matmul_batch(&ms, t, &ia, &ib);
        if ((st = gemm_launch(dev, s, (int)ms.M, (int)ms.N, (int)ms.K, mem(&in[0]), (int)ms.K,
                              (int)(ia * ms.M * ms.K), mem(&in[1]), (int)ms.N, (int)(ib * ms.K * ms.N),
                              bias, bias ? BIAS_COLUMN : BIAS_NONE, mem(&out[0]), (int)ms.N,
                              (int)(t * ms.M * ms.N), n)) !=
            LOOM_OK)
            return st;
    }
    return LOOM_OK;
}

/* Per-group operands of an int8 convolution's GEMMs, uploaded once: the
 * int32 bias, mult and shift slices. */
typedef struct {
    cl_mem bias, mult, shift;
} group_operands;

static loom_status group_slices(loom__device *dev, const loom__graph *g, const loom__node *n,
                                cl_state *s, int64_t gi, int64_t Mg, group_operands *o)
{
    size_t bytes = (size_t)Mg * 4;
    loom_status st;
    memset(o, 0, sizeof *o);
    if ((st = new_buffer(dev, s, (const int32_t *)loom__in(g, n, 2)->constant->data + gi * Mg, bytes,
                         &o->bias)) != LOOM_OK ||
        (st = new_buffer(dev, s, (const int32_t *)loom__in(g, n, 3)->constant->data + gi * Mg, bytes,
                         &o->mult)) != LOOM_OK)
        return st;
    return new_buffer(dev, s, (const int32_t *)loom__in(g, n, 4)->constant->data + gi * Mg, bytes, &o->shift);
}

/* One im2col launch (loom_im2col or loom_im2col_i8): colT[P, CK] of the
 * C channels of one image at x_off, a pixel's row per work-item. */
static loom_status im2col_launch(loom__device *dev, cl_state *s, int kernel, const loom__conv_params *p,
                                 int64_t C, int64_t H, int64_t W, int64_t OH, int64_t OW, cl_mem x,
                                 int64_t x_off, cl_mem col)
{
    int64_t CK = C * p->kernel[0] * p->kernel[1], kw = p->kernel[0] == p->kernel[1] ? p->kernel[1] : 0;
    /* the copy for this square window, where there is one */
    if (kernel == K_loom_im2col)
        kernel = kw == 1 ? K_loom_im2col_k1 : kw == 3 ? K_loom_im2col_k3 : kw == 5 ? K_loom_im2col_k5
               : kw == 7 ? K_loom_im2col_k7 : kernel;
    else if (kernel == K_loom_im2col_i8)
        kernel = kw == 1 ? K_loom_im2col_i8_k1 : kw == 3 ? K_loom_im2col_i8_k3 : kw == 7 ? K_loom_im2col_i8_k7
               : kernel;
    launch *l = add_launch(s, kernel);
    if (!l)
        return loom__err(LOOM_E_NOMEM, "out of memory");
    a_int(l, C), a_int(l, H), a_int(l, W), a_int(l, p->kernel[0]), a_int(l, p->kernel[1]);
    a_int(l, p->strides[0]), a_int(l, p->strides[1]), a_int(l, p->pads[0]), a_int(l, p->pads[1]);
    a_int(l, p->dilations[0]), a_int(l, p->dilations[1]), a_int(l, OH), a_int(l, OW);
    a_mem(l, x), a_int(l, x_off), a_mem(l, col), a_int(l, 0), a_int(l, CK);
    geom_1d(l, dev, OH * OW);
    return LOOM_OK;
}

/* One transpose launch (loom_transpose2d or loom_transpose2d_i8) of the
 * rows x cols matrix x into y at y_off. */
static loom_status transpose_launch(loom__device *dev, cl_state *s, int kernel, int64_t rows, int64_t cols,
                                    cl_mem x, cl_mem y, int64_t y_off)
{
    size_t T = (size_t)loom__cl_knob(tuning(dev), "TR_TILE", 16);
    launch *l = add_launch(s, kernel);
    if (!l)
        return loom__err(LOOM_E_NOMEM, "out of memory");
    a_int(l, rows), a_int(l, cols), a_mem(l, x), a_int(l, 0), a_mem(l, y), a_int(l, y_off);
    l->dims = 2;
    l->lws[0] = l->lws[1] = T;
    l->gws[0] = round_up((size_t)cols, T);
    l->gws[1] = round_up((size_t)rows, T);
    l->use_lws = true;
    return LOOM_OK;
}

/* The window attributes as the kernels' int8 argument:
 * (KH, KW, SH, SW, PH, PW, DH, DW). */
static void a_window(launch *l, const loom__conv_params *p)
{
    const int64_t win[8] = {p->kernel[0], p->kernel[1], p->strides[0], p->strides[1],
                            p->pads[0],   p->pads[1],   p->dilations[0], p->dilations[1]};
    a_int8(l, win, 8);
}

/* float Conv. Depthwise: one launch of loom_dwconv2d (an output row per
 * work-item); other grouped ones: one direct launch for the whole layer. Pointwise: per image y[M, P] = W[M, C] . x[C, P], the input
 * read in place and the bias per row (NCHW out, no im2col, no transpose).
 * Otherwise im2col, GEMM and a transpose per image. */
/* Whether loom_dwconv2d_small_kK (nn.cl) takes this depthwise layer: the
 * zero-padded tile the windows span, with the kernel's slack, fits its
 * DW_TILE floats, and every weight is finite (the tile's padding adds
 * 0 * w to the sums, which is exact only then). */
enum { DW_TILE = 1024 }; /* nn.cl's default */
static bool dw_small_fits(const loom__conv_params *p, int64_t OH, int64_t OW, const loom_tensor *w)
{
    int64_t k = p->kernel[0];
    int64_t th = (OH - 1) * p->strides[0] + (k - 1) * p->dilations[0] + 1;
    int64_t tw = (OW - 1) * p->strides[1] + (k - 1) * p->dilations[1] + 1;
    size_t n = w->nbytes / sizeof(float);
    if (th * tw + k + 8 > DW_TILE || OH * tw + 8 > DW_TILE)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(((const float *)w->data)[i]))
            return false;
    return true;
}

static loom_status lower_conv_f32(loom__device *dev, const loom__graph *g, const loom__node *n,
                                  const loom__arg *in, const loom__arg *out, cl_state *s)
{
    const loom__conv_params *p = &n->p.conv;
    const loom__value *x = loom__in(g, n, 0), *y = loom__out(g, n, 0);
    const loom_tensor *w = loom__in(g, n, 1)->constant;
    const loom__value *bv = loom__in(g, n, 2);
    int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
    int64_t M = y->dims[1], OH = y->dims[2], OW = y->dims[3], G = p->group;
    int64_t CK = C / G * p->kernel[0] * p->kernel[1], P = OH * OW;
    cl_mem wb = NULL, wt, bias = NULL, col, tmp = NULL;
    /* a residual Add fused into the convolution (loom__pass_fuse): added
     * in the GEMM's epilogue, at the output's own indices */
    cl_mem res = n->n_inputs > 3 && n->inputs[3] >= 0 ? mem(&in[3]) : NULL;
    bool ex_ok = gemm_ex_ok(dev);
    loom_status st;
    launch *l;

    if (bv && (st = new_buffer(dev, s, bv->constant->data, (size_t)M * sizeof(float), &bias)) != LOOM_OK)
        return st;
    /* the weights in their ONNX layout [M, CK] (direct, pointwise), or
     * transposed to [CK, M] (im2col, a pointwise one of a 1 x 1 image),
     * never both */
    bool pw_image = pointwise(p) && P == 1 && N * CK < ((int64_t)1 << 31) && N * M < ((int64_t)1 << 31);
    if ((G > 1 || (pointwise(p) && !pw_image)) &&
        (st = new_buffer(dev, s, w->data, (size_t)(M * CK) * sizeof(float), &wb)) != LOOM_OK)
        return st;
    if (G > 1) {
        /* an output row per work-item, a few per compute unit at a time;
         * depthwise layers have their own kernel (the window a literal
         * where it is square and 3 or 5) */
        bool dw = G == C && G == M;
        int64_t kh = p->kernel[0], kw = p->kernel[1];
        bool small = dw && kh == kw && (kh == 3 || kh == 5) && dw_small_fits(p, OH, OW, w);
        int64_t items = small ? N * M : N * M * OH; /* a plane, or a row, per work-item */
        if (N * M * OH >= (dw ? INT32_MAX / 2 : INT32_MAX) || (dw && OH * OW >= INT32_MAX / 2))
            return loom__err(LOOM_E_DEVICE_FAILED, "convolution too large for int indexing");
        if (!(l = add_launch(s, !dw ? K_loom_conv2d_direct
                                : small ? (kh == 3 ? K_loom_dwconv2d_small_k3 : K_loom_dwconv2d_small_k5)
                                : kh == kw && kh == 3 ? K_loom_dwconv2d_k3
                                : kh == kw && kh == 5 ? K_loom_dwconv2d_k5 : K_loom_dwconv2d)))
            return loom__err(LOOM_E_NOMEM, "out of memory");
        if (dw) {
            a_int(l, N * C), a_int(l, C), a_int(l, H), a_int(l, W), a_int(l, OH), a_int(l, OW), a_window(l, p);
        } else {
            a_int(l, C), a_int(l, H), a_int(l, W), a_int(l, M), a_int(l, G), a_window(l, p);
            a_int(l, OH), a_int(l, OW), a_int(l, N * M * OH);
        }
        a_mem(l, mem(&in[0])), a_mem(l, wb), a_mem(l, bias), a_int(l, bias != NULL), a_mem(l, mem(&out[0]));
        a_int(l, n->act), a_flt(l, n->act_a), a_flt(l, n->act_b);
        geom_items(l, dev, items, 256);
        return LOOM_OK;
    }
    if (CK * P >= ((int64_t)1 << 31) || M * P >= ((int64_t)1 << 31))
        return loom__err(LOOM_E_DEVICE_FAILED, "im2col matrix too large for int indexing");
    if (pw_image) {
        /* a 1 x 1 image (squeeze-excitation blocks): x [N, C] . Wt [C, M]
         * is the output [N, M] itself, in one GEMM whose wide side is M
         * (W . x per image is a GEMM one column wide) */
        if ((st = derived_matrix(dev, s, &(loom_tensor){.dtype = LOOM_F32, .rank = 2, .dims = {M, CK},
                                                         .data = w->data},
                                 true, 1.0f, &wt)) != LOOM_OK)
            return st;
        return gemm_batch_launch(dev, s, (int)N, (int)M, (int)CK, mem(&in[0]), (int)CK, 0, wt, (int)M, 0, bias,
                                 BIAS_COLUMN, mem(&out[0]), (int)M, 0, n, 1, 0, 0, 0, &(gemm_ex){.R = res});
    }
    if (pointwise(p)) {
        for (int64_t b = 0; b < N; b++)
            if ((st = gemm_batch_launch(dev, s, (int)M, (int)P, (int)CK, wb, (int)CK, 0, mem(&in[0]), (int)P,
                                        (int)(b * C * H * W), bias, BIAS_ROW, mem(&out[0]), (int)P,
                                        (int)(b * M * P), n, 1, 0, 0, 0, &(gemm_ex){.R = res})) != LOOM_OK)
                return st;
        return LOOM_OK;
    }
    /* Else per image colT[P, CK] . Wt[CK, M] and a transpose into NCHW:
     * the GEMM's B (the weights) stays in cache, where W . col would
     * stream a col matrix of megabytes per column tile (1.5x slower on
     * resnet18 here). */
    if ((st = derived_matrix(dev, s, &(loom_tensor){.dtype = LOOM_F32, .rank = 2, .dims = {M, CK},
                                                     .data = w->data},
                             true, 1.0f, &wt)) != LOOM_OK ||
        (st = scratch_buffer(dev, s, 0, (size_t)(CK * P) * sizeof(float), &col)) != LOOM_OK ||
        (!ex_ok && (st = scratch_buffer(dev, s, 1, (size_t)(P * M) * sizeof(float), &tmp)) != LOOM_OK))
        return st;
    for (int64_t b = 0; b < N; b++) {
        if ((st = im2col_launch(dev, s, K_loom_im2col, p, C, H, W, OH, OW, mem(&in[0]), b * C * H * W, col)) !=
            LOOM_OK)
            return st;
        if (ex_ok) {
            /* stored transposed: NCHW straight from the GEMM */
            st = gemm_batch_launch(dev, s, (int)P, (int)M, (int)CK, col, (int)CK, 0, wt, (int)M, 0, bias,
                                   BIAS_COLUMN, mem(&out[0]), (int)P, (int)(b * M * P), n, 1, 0, 0, 0,
                                   &(gemm_ex){.c_trans = true, .R = res});
        } else if ((st = gemm_launch(dev, s, (int)P, (int)M, (int)CK, col, (int)CK, 0, wt, (int)M, 0, bias,
                                     BIAS_COLUMN, tmp, (int)M, 0, n)) == LOOM_OK)
            st = transpose_launch(dev, s, K_loom_transpose2d, P, M, tmp, mem(&out[0]), b * M * P);
        if (st != LOOM_OK)
            return st;
    }
    return LOOM_OK;
}

/* LoomQConv: per group and image, im2col, the kernel ABI's int8 GEMM
 * colT[P, CK] . Wt[CK, Mg] (requantised per output channel: per column)
 * and a transpose into NCHW. */
static loom_status lower_qconv(loom__device *dev, const loom__graph *g, const loom__node *n,
                               const loom__arg *in, const loom__arg *out, cl_state *s)
{
    const loom__conv_params *p = &n->p.conv;
    const loom__value *x = loom__in(g, n, 0), *y = loom__out(g, n, 0);
    const loom_tensor *w = loom__in(g, n, 1)->constant;
    const loom_tensor *lut = n->act == LOOM_ACT_LUT ? loom__in(g, n, 5)->constant : NULL;
    int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
    int64_t M = y->dims[1], OH = y->dims[2], OW = y->dims[3], G = p->group;
    int64_t Cg = C / G, Mg = M / G, KH = p->kernel[0], KW = p->kernel[1];
    int64_t CK = Cg * KH * KW, P = OH * OW;
    cl_mem wt, col, tmp, lut_buf = NULL;
    char *buf;
    loom_status st;

    if (CK * P >= ((int64_t)1 << 31) || P * Mg >= ((int64_t)1 << 31))
        return loom__err(LOOM_E_DEVICE_FAILED, "im2col matrix too large for int indexing");
    /* int8 weights per group, transposed to [CK, Mg] */
    buf = malloc((size_t)(G * CK * Mg));
    if (!buf)
        return loom__err(LOOM_E_NOMEM, "out of memory");
    for (int64_t gi = 0; gi < G; gi++)
        for (int64_t m = 0; m < Mg; m++)
            for (int64_t k = 0; k < CK; k++)
                buf[(gi * CK + k) * Mg + m] = ((const char *)w->data)[(gi * Mg + m) * CK + k];
    st = new_buffer(dev, s, buf, (size_t)(G * CK * Mg), &wt);
    free(buf);
    if (st != LOOM_OK || (st = scratch_buffer(dev, s, 0, (size_t)(CK * P), &col)) != LOOM_OK ||
        (st = scratch_buffer(dev, s, 1, (size_t)(P * Mg), &tmp)) != LOOM_OK ||
        (lut && (st = new_buffer(dev, s, lut->data, 256, &lut_buf)) != LOOM_OK))
        return st;
    for (int64_t gi = 0; gi < G; gi++) {
        group_operands go;
        if ((st = group_slices(dev, g, n, s, gi, Mg, &go)) != LOOM_OK)
            return st;
        for (int64_t b = 0; b < N; b++)
            if ((st = im2col_launch(dev, s, K_loom_im2col_i8, p, Cg, H, W, OH, OW, mem(&in[0]),
                                    (b * C + gi * Cg) * H * W, col)) != LOOM_OK ||
                (st = i8_launch(dev, s, P, Mg, CK, col, CK, 0, wt, Mg, gi * CK * Mg, go.bias, go.mult, go.shift,
                                tmp, Mg, 0, n->act, lut_buf)) != LOOM_OK ||
                (st = transpose_launch(dev, s, K_loom_transpose2d_i8, P, Mg, tmp, mem(&out[0]),
                                       (b * M + gi * Mg) * P)) != LOOM_OK)
                return st;
    }
    return LOOM_OK;
}

/* LoomQGemm: x [M, K] (leading dims folded) times the constant B [K, N]. */
static loom_status lower_qgemm(loom__device *dev, const loom__graph *g, const loom__node *n,
                               const loom__arg *in, const loom__arg *out, cl_state *s)
{
    const loom_tensor *w = loom__in(g, n, 1)->constant;
    const loom__value *y = loom__out(g, n, 0);
    int64_t K = w->dims[0], N = w->dims[1], ny = 0;
    cl_mem B, bias, mult, shift, lut = NULL;
    loom_status st;

    loom__numel(y->rank, y->dims, &ny);
    if ((st = new_buffer(dev, s, w->data, w->nbytes ? w->nbytes : 1, &B)) != LOOM_OK ||
        (st = new_buffer(dev, s, loom__in(g, n, 2)->constant->data, (size_t)N * 4, &bias)) != LOOM_OK ||
        (st = new_buffer(dev, s, loom__in(g, n, 3)->constant->data, (size_t)N * 4, &mult)) != LOOM_OK ||
        (st = new_buffer(dev, s, loom__in(g, n, 4)->constant->data, (size_t)N * 4, &shift)) != LOOM_OK ||
        (n->act == LOOM_ACT_LUT &&
         (st = new_buffer(dev, s, loom__in(g, n, 5)->constant->data, 256, &lut)) != LOOM_OK))
        return st;
    return i8_launch(dev, s, N ? ny / N : 0, N, K, mem(&in[0]), K, 0, B, N, 0, bias, mult, shift,
                     mem(&out[0]), N, 0, n->act, lut);
}

static loom_status lower_pool(loom__device *dev, const loom__graph *g, const loom__node *n,
                              const loom__arg *in, const loom__arg *out, cl_state *s)
{
    const loom__pool_params *p = &n->p.pool;
    const loom__value *x = loom__in(g, n, 0), *y = loom__out(g, n, 0);
    launch *l = add_launch(s, x->dtype == LOOM_I8 ? K_loom_maxpool2d_i8 : K_loom_pool2d);
    if (!l)
        return loom__err(LOOM_E_NOMEM, "out of memory");
    if (x->dtype == LOOM_I8) { /* MaxPool of a quantised model */
        a_int(l, x->dims[0] * x->dims[1]), a_int(l, x->dims[2]), a_int(l, x->dims[3]);
        a_int(l, y->dims[2]), a_int(l, y->dims[3]), a_int(l, p->kernel[0]), a_int(l, p->kernel[1]);
        a_int(l, p->strides[0]), a_int(l, p->strides[1]), a_int(l, p->pads[0]), a_int(l, p->pads[1]);
        a_int(l, p->dilations[0]), a_int(l, p->dilations[1]);
        a_mem(l, mem(&in[0])), a_mem(l, mem(&out[0]));
        geom_1d(l, dev, y->dims[0] * y->dims[1] * y->dims[2] * y->dims[3]);
        return LOOM_OK;
    }
    if (n->op == LOOM__OP_MaxPool && y->dims[0] * y->dims[1] * y->dims[2] < INT32_MAX / 2) {
        /* an output row per work-item, a few per compute unit at a time */
        int64_t rows = y->dims[0] * y->dims[1] * y->dims[2];
        bool k3 = p->kernel[0] == 3 && p->kernel[1] == 3;
        int64_t w8[8] = {p->kernel[0], p->kernel[1], p->strides[0], p->strides[1],
                         p->pads[0],   p->pads[1],   p->dilations[0], p->dilations[1]};
        l->kernel = k3 ? K_loom_maxpool2d_rows_k3 : K_loom_maxpool2d_rows;
        a_int(l, x->dims[0] * x->dims[1]), a_int(l, x->dims[2]), a_int(l, x->dims[3]);
        a_int(l, y->dims[2]), a_int(l, y->dims[3]), a_int8(l, w8, 8);
        a_mem(l, mem(&in[0])), a_mem(l, mem(&out[0]));
        geom_items(l, dev, rows, 256);
        return LOOM_OK;
    }
    a_int(l, x->dims[0] * x->dims[1]), a_int(l, x->dims[2]), a_int(l, x->dims[3]);
    a_int(l, y->dims[2]), a_int(l, y->dims[3]), a_int(l, p->kernel[0]), a_int(l, p->kernel[1]);
    a_int(l, p->strides[0]), a_int(l, p->strides[1]);
    a_int(l, p->pads[0]), a_int(l, p->pads[1]), a_int(l, p->pads[2]), a_int(l, p->pads[3]);
    a_int(l, p->dilations[0]), a_int(l, p->dilations[1]);
    a_int(l, n->op == LOOM__OP_MaxPool), a_int(l, p->count_include_pad);
    a_mem(l, mem(&in[0])), a_mem(l, mem(&out[0]));
    geom_1d(l, dev, y->dims[0] * y->dims[1] * y->dims[2] * y->dims[3]);
    return LOOM_OK;
}

static int unary_code(loom__op op)
{
    switch (op) {
    case LOOM__OP_Relu: return LOOM_CL_RELU;
    case LOOM__OP_Sigmoid: return LOOM_CL_SIGMOID;
    case LOOM__OP_Tanh: return LOOM_CL_TANH;
    case LOOM__OP_Erf: return LOOM_CL_ERF;
    case LOOM__OP_Sqrt: return LOOM_CL_SQRT;
    case LOOM__OP_Abs: return LOOM_CL_ABS;
    case LOOM__OP_Neg: return LOOM_CL_NEG;
    case LOOM__OP_Exp: return LOOM_CL_EXP;
    case LOOM__OP_Log: return LOOM_CL_LOG;
    case LOOM__OP_Reciprocal: return LOOM_CL_RECIPROCAL;
    default: return LOOM_CL_CLIP;
    }
}

static int binary_code(loom__op op)
{
    switch (op) {
    case LOOM__OP_Add: return LOOM_CL_ADD;
    case LOOM__OP_Sub: return LOOM_CL_SUB;
    case LOOM__OP_Mul: return LOOM_CL_MUL;
    case LOOM__OP_Div: return LOOM_CL_DIV;
    default: return LOOM_CL_POW;
    }
}

/* Element strides of input v aligned to the output's dims (0 where v
 * broadcasts). */
static void bcast_strides(const loom__value *v, const loom__value *y, int64_t *st)
{
    int64_t s = 1;
    for (int d = y->rank - 1; d >= 0; d--) {
        int id = v->rank - (y->rank - d);
        int64_t dim = id >= 0 ? v->dims[id] : 1;
        st[d] = dim == 1 ? 0 : s;
        s *= dim;
    }
}

static loom_status lower_strided(loom__device *dev, const loom__graph *g, const loom__node *n,
                                 const loom__arg *in, const loom__arg *out, cl_state *s)
{
    const loom__value *x = loom__in(g, n, 0), *y = loom__out(g, n, 0);
    int64_t xs[LOOM_MAX_RANK], src[LOOM_MAX_RANK] = {0}, off = 0, step = 1;
    launch *l;
    for (int d = x->rank - 1; d >= 0; d--) {
        xs[d] = step;
        step *= x->dims[d];
    }
    if (n->op == LOOM__OP_Transpose) {
        for (int d = 0; d < y->rank; d++)
            src[d] = xs[n->p.transpose.perm[d]];
    } else if (n->op == LOOM__OP_Slice) {
        for (int d = 0; d < x->rank; d++) {
            off += n->p.slice.start[d] * xs[d];
            src[d] = n->p.slice.step[d] * xs[d];
        }
    } else { /* Expand */
        bcast_strides(x, y, src);
    }
    if (!(l = add_launch(s, K_loom_strided_copy)))
        return loom__err(LOOM_E_NOMEM, "out of memory");
    {
        int64_t n_out;
        loom__numel(y->rank, y->dims, &n_out);
        a_int(l, n_out), a_int(l, y->rank), a_int8(l, y->dims, y->rank), a_int8(l, src, y->rank);
        a_int(l, off), a_mem(l, mem(&in[0])), a_mem(l, mem(&out[0]));
        geom_1d(l, dev, n_out);
    }
    return LOOM_OK;
}

static loom_status lower(loom__device *dev, const loom__graph *g, const loom__node *n,
                         const loom__arg *in, const loom__arg *out, cl_state *s)
{
    const loom__value *x = loom__in(g, n, 0), *y = loom__out(g, n, 0);
    int64_t ny = 0;
    launch *l;
    loom__numel(y->rank, y->dims, &ny);

    switch (n->op) {
    case LOOM__OP_Identity: case LOOM__OP_Reshape: case LOOM__OP_Flatten:
    case LOOM__OP_Squeeze: case LOOM__OP_Unsqueeze: case LOOM__OP_Dropout:
        if (!(l = add_launch(s, -1)))
            return loom__err(LOOM_E_NOMEM, "out of memory");
        l->src = mem(&in[0]);
        l->dst = mem(&out[0]);
        l->bytes = (size_t)ny * loom_dtype_size(y->dtype);
        return LOOM_OK;
    case LOOM__OP_Gemm: return lower_gemm(dev, g, n, in, out, s);
    case LOOM__OP_MatMul: return lower_matmul(dev, g, n, in, out, s);
    case LOOM__OP_Conv: return lower_conv_f32(dev, g, n, in, out, s);
    case LOOM__OP_LoomQConv: return lower_qconv(dev, g, n, in, out, s);
    case LOOM__OP_LoomQGemm: return lower_qgemm(dev, g, n, in, out, s);
    case LOOM__OP_MaxPool: case LOOM__OP_AveragePool: return lower_pool(dev, g, n, in, out, s);
    case LOOM__OP_Transpose: case LOOM__OP_Slice: case LOOM__OP_Expand:
        return lower_strided(dev, g, n, in, out, s);
    case LOOM__OP_Add: case LOOM__OP_Sub: case LOOM__OP_Mul: case LOOM__OP_Div: case LOOM__OP_Pow: {
        int64_t sa[LOOM_MAX_RANK] = {0}, sb[LOOM_MAX_RANK] = {0};
        bcast_strides(x, y, sa);
        bcast_strides(loom__in(g, n, 1), y, sb);
        if (!(l = add_launch(s, K_loom_binary)))
            return loom__err(LOOM_E_NOMEM, "out of memory");
        a_int(l, ny), a_int(l, y->rank), a_int8(l, y->dims, y->rank), a_int8(l, sa, y->rank),
            a_int8(l, sb, y->rank);
        a_mem(l, mem(&in[0])), a_int(l, 0), a_mem(l, mem(&in[1])), a_int(l, 0);
        a_mem(l, mem(&out[0])), a_int(l, n->act == LOOM_ACT_RELU ? LOOM_CL_ADD_RELU : binary_code(n->op));
        geom_1d(l, dev, ny);
        return LOOM_OK;
    }
    case LOOM__OP_Softmax: {
        int axis = (int)n->p.softmax.axis;
        int64_t outer = loom__span_of(x->dims, axis);
        int64_t len = n->p.softmax.legacy ? ny / (outer ? outer : 1) : x->dims[axis];
        int64_t rows = outer * len;
        int64_t inner = n->p.softmax.legacy ? 1 : ny / (rows > 0 ? rows : 1);
        if (!(l = add_launch(s, K_loom_softmax)))
            return loom__err(LOOM_E_NOMEM, "out of memory");
        a_int(l, outer), a_int(l, len), a_int(l, inner), a_mem(l, mem(&in[0])), a_mem(l, mem(&out[0]));
        geom_rows(l, dev, outer * inner, len);
        return LOOM_OK;
    }
    case LOOM__OP_LayerNormalization: {
        int64_t outer = loom__span_of(x->dims, (int)n->p.norm.axis), len = ny / (outer ? outer : 1);
        if (!(l = add_launch(s, K_loom_layernorm)))
            return loom__err(LOOM_E_NOMEM, "out of memory");
        a_int(l, outer), a_int(l, len), a_mem(l, mem(&in[0])), a_mem(l, mem(&in[1]));
        a_mem(l, n->n_inputs > 2 ? mem(&in[2]) : NULL), a_int(l, n->n_inputs > 2 && mem(&in[2]) != NULL);
        a_flt(l, n->p.norm.epsilon), a_mem(l, mem(&out[0]));
        geom_rows(l, dev, outer, len);
        return LOOM_OK;
    }
    case LOOM__OP_GlobalAveragePool: {
        int64_t planes = x->dims[0] * x->dims[1];
        if (!(l = add_launch(s, K_loom_global_avgpool)))
            return loom__err(LOOM_E_NOMEM, "out of memory");
        int64_t len = planes ? loom__span_of(x->dims, x->rank) / planes : 0;
        a_int(l, planes), a_int(l, len), a_mem(l, mem(&in[0])), a_mem(l, mem(&out[0]));
        geom_rows(l, dev, planes, len);
        return LOOM_OK;
    }
    case LOOM__OP_BatchNormalization: {
        const float *sc = loom__in(g, n, 1)->constant->data, *bi = loom__in(g, n, 2)->constant->data;
        const float *mu = loom__in(g, n, 3)->constant->data, *var = loom__in(g, n, 4)->constant->data;
        int64_t C = x->dims[1];
        float *ab = malloc((size_t)(2 * C) * sizeof *ab);
        cl_mem ma, mb;
        loom_status st;
        if (!ab)
            return loom__err(LOOM_E_NOMEM, "out of memory");
        for (int64_t c = 0; c < C; c++) {
            double inv = 1.0 / sqrt((double)var[c] + (double)n->p.bn.epsilon);
            ab[c] = (float)(sc[c] * inv);
            ab[C + c] = (float)(bi[c] - mu[c] * sc[c] * inv);
        }
        st = new_buffer(dev, s, ab, (size_t)C * sizeof *ab, &ma);
        if (st == LOOM_OK)
            st = new_buffer(dev, s, ab + C, (size_t)C * sizeof *ab, &mb);
        free(ab);
        if (st != LOOM_OK)
            return st;
        if (!(l = add_launch(s, K_loom_channel_affine)))
            return loom__err(LOOM_E_NOMEM, "out of memory");
        int64_t planes = x->dims[0] * C;
        a_int(l, ny), a_int(l, C), a_int(l, ny / (planes > 0 ? planes : 1));
        a_mem(l, mem(&in[0])), a_mem(l, ma), a_mem(l, mb), a_mem(l, mem(&out[0]));
        geom_1d(l, dev, ny);
        return LOOM_OK;
    }
    default: /* the unary family */
        if (!(l = add_launch(s, K_loom_unary)))
            return loom__err(LOOM_E_NOMEM, "out of memory");
        a_int(l, ny), a_mem(l, mem(&in[0])), a_mem(l, mem(&out[0])), a_int(l, unary_code(n->op));
        a_flt(l, n->op == LOOM__OP_Clip ? n->p.clip.min : 0.0f);
        a_flt(l, n->op == LOOM__OP_Clip ? n->p.clip.max : 0.0f);
        geom_1d(l, dev, ny);
        return LOOM_OK;
    }
}

void loom__cl_release(loom__device *dev, void *state)
{
    cl_state *s = state;
    if (!s)
        return;
    for (int i = 0; i < s->n_owned; i++)
        loom__cl_buffer_release(dev, s->owned[i]);
    free(s->owned);
    free(s->l);
    free(s);
}

loom_status loom__cl_prepare(loom__device *dev, const loom__graph *g, const loom__node *n,
                             const loom__arg *in, const loom__arg *out, void **state)
{
    cl_state *s;
    loom_status st;
    *state = NULL;
    if ((st = loom__cl_program_get(dev)) != LOOM_OK)
        return st;
    s = calloc(1, sizeof *s);
    if (!s)
        return loom__err(LOOM_E_NOMEM, "out of memory");
    if ((st = lower(dev, g, n, in, out, s)) != LOOM_OK) {
        loom__cl_release(dev, s);
        return st;
    }
    *state = s;
    return LOOM_OK;
}

loom_status loom__cl_run(loom__device *dev, void *state, const loom__node *n, const loom__arg *in,
                         const loom__arg *out)
{
    loom__cl_dev *cd = dev->priv;
    cl_state *s = state;
    cl_int err = CL_SUCCESS;
    const char *call = "";
    (void)n;
    (void)in;
    (void)out;
    pthread_mutex_lock(&cd->lock);
    for (int i = 0; i < s->n && err == CL_SUCCESS; i++) {
        const launch *l = &s->l[i];
        if (loom__cl_fault_enqueue()) {
            err = CL_OUT_OF_RESOURCES;
            call = "an injected enqueue failure";
            break;
        }
        if (l->kernel < 0) {
            call = "clEnqueueCopyBuffer";
            if (l->bytes)
                err = clEnqueueCopyBuffer(cd->queue, l->src, l->dst, 0, 0, l->bytes, 0, NULL, NULL);
            continue;
        }
        call = "clSetKernelArg";
        for (int a = 0; a < l->nargs && err == CL_SUCCESS; a++) {
            cl_kernel k = cd->kernels[l->kernel];
            const karg *ka = &l->args[a];
            switch (ka->kind) {
            case ARG_INT: err = clSetKernelArg(k, (cl_uint)a, sizeof(cl_int), &ka->u.i); break;
            case ARG_FLOAT: err = clSetKernelArg(k, (cl_uint)a, sizeof(cl_float), &ka->u.f); break;
            case ARG_INT8: err = clSetKernelArg(k, (cl_uint)a, sizeof(cl_int8), &ka->u.v); break;
            case ARG_MEM:
                err = clSetKernelArg(k, (cl_uint)a, sizeof(cl_mem), ka->u.m ? &ka->u.m : NULL);
                break;
            case ARG_SCRATCH: err = clSetKernelArg(k, (cl_uint)a, sizeof(cl_mem), &cd->scratch[ka->u.i]); break;
            }
        }
        if (err == CL_SUCCESS) {
            call = "clEnqueueNDRangeKernel";
            err = clEnqueueNDRangeKernel(cd->queue, cd->kernels[l->kernel], l->dims, NULL, l->gws,
                                         l->use_lws ? l->lws : NULL, 0, NULL, NULL);
        }
    }
    pthread_mutex_unlock(&cd->lock);
    return err == CL_SUCCESS ? LOOM_OK : loom__cl_fail(err, call);
}

/* ---- the int8 GEMM of the kernel ABI on host operands ---- */

static size_t extent(int64_t rows, int64_t ld, int64_t cols)
{
    return rows > 0 && cols > 0 ? (size_t)((rows - 1) * ld + cols) : 0;
}

loom_status loom__cl_gemm_i8(loom__device *dev, const loom_gemm_i8_args *a)
{
    size_t ea = extent(a->M, a->lda, a->K), eb = extent(a->K, a->ldb, a->N), ec = extent(a->M, a->ldc, a->N);
    cl_state s = {0};
    cl_mem A, B, C, mult, shift, bias = NULL, lut = NULL;
    loom_status st;

    if (((loom__cl_dev *)dev->priv)->fpga)
        return loom__cl_binary_gemm_i8(dev, a);
    if (ea >= INT32_MAX || eb >= INT32_MAX || ec >= INT32_MAX)
        return loom__err(LOOM_E_DEVICE_FAILED, "int8 gemm: operands too large for int indexing");
    if (a->M == 0 || a->N == 0)
        return LOOM_OK;
    if ((st = loom__cl_program_get(dev)) != LOOM_OK)
        return st;
    /* C goes up too: the kernel writes only the M x N window, the rest of
     * the caller's rows (ldc > N) must come back unchanged */
    if ((st = new_buffer(dev, &s, ea ? (const void *)a->A : NULL, ea ? ea : 1, &A)) != LOOM_OK ||
        (st = new_buffer(dev, &s, eb ? (const void *)a->B : NULL, eb ? eb : 1, &B)) != LOOM_OK ||
        (st = new_buffer(dev, &s, a->C, ec, &C)) != LOOM_OK ||
        (st = new_buffer(dev, &s, a->mult, (size_t)a->N * 4, &mult)) != LOOM_OK ||
        (st = new_buffer(dev, &s, a->shift, (size_t)a->N * 4, &shift)) != LOOM_OK ||
        (a->bias && (st = new_buffer(dev, &s, a->bias, (size_t)a->N * 4, &bias)) != LOOM_OK) ||
        (a->act == LOOM_ACT_LUT && (st = new_buffer(dev, &s, a->lut, 256, &lut)) != LOOM_OK))
        goto done;
    if ((st = i8_launch(dev, &s, a->M, a->N, a->K, A, a->lda, 0, B, a->ldb, 0, bias, mult, shift, C, a->ldc,
                        0, a->act, lut)) != LOOM_OK)
        goto done;
    if ((st = loom__cl_run(dev, &s, NULL, NULL, NULL)) == LOOM_OK &&
        (st = dev->backend->download(dev, C, a->C, ec)) == LOOM_OK)
        st = loom__cl_guard_verify(dev);
done:
    if (st != LOOM_OK)
        (void)dev->backend->finish(dev); /* nothing left running on our buffers */
    for (int i = 0; i < s.n_owned; i++)
        loom__cl_buffer_release(dev, s.owned[i]);
    free(s.owned);
    free(s.l);
    return st;
}
