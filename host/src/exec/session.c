/*
 * session.c - the plan and its execution.
 *
 * loom_session_create() copies the model's graph, runs the passes and the
 * partitioner, and builds the plan once: a host tensor for every value
 * read at run time (constants shared with the graph), a device buffer for
 * every value a device touches (constants uploaded here, once), each
 * node's prepared kernel, and the steps of one inference: kernels, and
 * the uploads/downloads where values cross devices. loom_session_run()
 * walks the steps.
 *
 * Fallback: when a device fails (at plan time or during a run) it is
 * marked unhealthy for the process, a warning names what failed, the graph
 * is partitioned again without it and the inference re-runs from its
 * inputs, which stay on the host: the same outputs, later. Strict sessions
 * report the failure instead (LOOM_E_DEVICE_FAILED).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/ref/ref.h"
#include "exec/calibrate.h"
#include "exec/exec.h"
#include "ir/model.h"
#include "partition/partition.h"
#include "passes/passes.h"

typedef enum { STEP_KERNEL, STEP_UPLOAD, STEP_DOWNLOAD } step_kind;

typedef struct {
    step_kind kind;
    loom__device *dev;
    const loom__node *node; /* kernels */
    void *state;            /* from prepare() */
    loom__arg *in, *out;    /* kernels: one per node input/output */
    int value;              /* copies */
} loom__step;

/* What one partition of the graph needs at run time. */
/* One recorded step (the trace option). */
typedef struct {
    step_kind kind;
    int index;               /* graph node (kernels) or value (copies) */
    const char *device;      /* the device's name: lives as long as the registry */
    long run;
    double start_us, dur_us;
    uint64_t bytes;
} loom__trace_rec;

/* at most this many events are kept (about 56 MB) */
#define TRACE_MAX ((size_t)1 << 20)

typedef struct {
    loom__step *steps;
    int n_steps, cap_steps;
    loom__arg *args;        /* pool behind steps' in/out */
    void **dbuf;            /* [value * n_devs + d]: device buffers (shared by values
                               whose lifetimes do not overlap: see pool) */
    loom__device *devs[LOOM__MAX_DEVICES]; /* devices the plan uses */
    int n_devs;
    /* the memory plan: every device buffer the plan made, and which value
     * holds it while the plan is built (-1: free for the next value that
     * fits); a value's buffer goes back after the last node reading it */
    struct pool_buf {
        void *buf;
        size_t bytes;
        int d, holder;
    } *pool;
    int n_pool, cap_pool;
    int *last_use;          /* [value]: last node index reading it; INT_MAX: kept */
    int *view_of;           /* [value]: the value whose device buffer it shares
                               (a Reshape's output is its input's bytes: see
                               view_node), or itself */
} loom__plan;

struct loom_session {
    loom__graph *g;
    loom_tensor **vals; /* host tensor per value; NULL when nothing reads it */
    loom__partition_opts popts;
    loom__plan plan;
    size_t live_nodes;
    int *order;         /* live node indices, execution order */
    size_t n_subgraphs;
    loom_subgraph_info *subgraphs;
    bool infer_only;
    bool profile;
    bool keep_values;         /* every node's outputs come home after it runs */
    bool own_buffers;         /* no memory plan: a device buffer per value */
    bool ran;                 /* a run has completed */
    double *node_us;          /* profile: total per graph node index */
    uint64_t *node_cycles;    /* per graph node: kernel cycles, all runs (cycle-accurate devices) */
    uint64_t *node_predicted; /* ... and the analytic model's prediction */
    bool *node_counted;       /* the node ran on a device that counts cycles */
    double copy_us;
    long runs;
    bool trace;               /* record every step of every run */
    loom__trace_rec *trace_ev;
    size_t n_trace, cap_trace;
    long trace_runs;          /* runs completed, never reset */
    bool trace_full;          /* the cap was reached: later steps are not recorded */
    loom__device *failed_dev; /* the device behind the last plan failure */
    loom_status broken;       /* a failed re-plan left no plan: every run fails */
    char broken_msg[512];
    struct loom__deferred *deferred; /* inputs whose values decide shapes (below) */
};

/*
 * Inputs whose values decide shapes or attributes (a Reshape's shape, a
 * Slice's starts, a ReduceSum's axes that are graph inputs): the passes
 * need them as constants, so the plan is made when they are known, at
 * the first run, with those inputs bound to their values; a run with
 * other values makes (or takes from the cache) a plan for those. The
 * session's contents are always the current plan's: the others are kept
 * in the cache, swapped in when their values come back.
 */
#define DEFER_CACHE 8
/* graph inputs a deferred session can bind (models with more inputs
 * refuse run-time shapes, as before) */
#define LOOM__MAX_BOUND 256

typedef struct {
    loom_tensor **key;   /* the bound inputs' values, one per value input */
    int nkey;
    loom_session *parked; /* the plan's session; NULL while it is the current one */
    unsigned long used;   /* for evicting the least recently used */
} loom__deferred_plan;

typedef struct loom__deferred {
    const loom_model *model;
    loom_session_options opts;   /* a deep copy */
    loom_input_shape *shapes;
    int64_t *shape_dims;
    char *devices;
    int *value_inputs;           /* graph input positions */
    int n_value_inputs;
    loom__deferred_plan plans[DEFER_CACHE + 1]; /* [0]: the session before any plan */
    int n_plans, cur;
    unsigned long clock;
} loom__deferred;

static void deferred_free(loom__deferred *d);

/* ---- plan ---- */

static int dev_slot(loom__plan *p, loom__device *dev)
{
    for (int i = 0; i < p->n_devs; i++)
        if (p->devs[i] == dev)
            return i;
    p->devs[p->n_devs] = dev;
    return p->n_devs++;
}

static void plan_free(loom_session *s)
{
    loom__plan *p = &s->plan;
    for (int i = 0; i < p->n_steps; i++) {
        loom__step *st = &p->steps[i];
        if (st->kind == STEP_KERNEL && st->state && st->dev->backend->release)
            st->dev->backend->release(st->dev, st->state);
    }
    for (int i = 0; i < p->n_pool; i++)
        p->devs[p->pool[i].d]->backend->buffer_free(p->devs[p->pool[i].d], p->pool[i].buf);
    free(p->pool);
    free(p->last_use);
    free(p->view_of);
    free(p->steps);
    free(p->args);
    free(p->dbuf);
    memset(p, 0, sizeof *p);
}

static loom_status push_step(loom__plan *p, loom__step step)
{
    if (p->n_steps == p->cap_steps) {
        int cap = p->cap_steps ? p->cap_steps * 2 : 64;
        loom__step *grown = realloc(p->steps, (size_t)cap * sizeof *grown);
        if (!grown)
            return loom__err(LOOM_E_NOMEM, "out of memory building the plan");
        p->steps = grown;
        p->cap_steps = cap;
    }
    p->steps[p->n_steps++] = step;
    return LOOM_OK;
}

/* The host tensor for value v, allocated on first use. */
static loom_status host_tensor(loom_session *s, int v, loom_tensor **out)
{
    loom__value *val = &s->g->values[v];
    loom_status st;
    if (!s->vals[v]) {
        if (val->constant)
            s->vals[v] = loom__tensor_ref(val->constant);
        else if ((st = loom__tensor_new_zero(val->dtype, val->rank, val->dims, &s->vals[v])) != LOOM_OK)
            return loom__err_prefix(st, "%s: tensor \"%s\"", s->g->source, val->name);
    }
    *out = s->vals[v];
    return LOOM_OK;
}

static uint64_t value_nbytes(const loom__value *v)
{
    int64_t n = 0;
    loom__numel(v->rank, v->dims, &n);
    return (uint64_t)n * loom_dtype_size(v->dtype);
}

static bool has_buffers(const loom__device *dev)
{
    return dev->backend->buffer_alloc != NULL;
}

/* A device failure while planning: remember the device (the caller
 * decides on fallback) and name it in the message. */
static loom_status dev_err(loom_session *s, loom__device *dev, loom_status st, const char *what)
{
    if (st != LOOM_E_DEVICE_FAILED && st != LOOM_E_DEVICE_UNAVAILABLE)
        return st; /* host memory and the like: not the device's fault */
    s->failed_dev = dev;
    return loom__err_prefix(st, "device %s: %s", dev->name, what);
}

/* Value v's buffer on device slot d: the smallest free one of the pool
 * that holds it (values whose last reader has run gave theirs back), else
 * a new one. Constants keep theirs (uploaded once, read every run). */
static loom_status device_buffer(loom_session *s, int v, int d, void **out)
{
    loom__plan *p = &s->plan;
    loom__device *dev = p->devs[d];
    void **buf = &p->dbuf[v * LOOM__MAX_DEVICES + d];
    size_t need;
    int best = -1;
    loom_tensor *t;
    loom_status st;
    if ((st = host_tensor(s, v, &t)) != LOOM_OK)
        return st;
    if (*buf) {
        *out = *buf;
        return LOOM_OK;
    }
    need = t->nbytes ? t->nbytes : 1;
    for (int i = 0; !s->g->values[v].constant && i < p->n_pool; i++)
        if (p->pool[i].holder < 0 && p->pool[i].d == d && p->pool[i].bytes >= need &&
            (best < 0 || p->pool[i].bytes < p->pool[best].bytes))
            best = i;
    if (best < 0) {
        if (p->n_pool == p->cap_pool) {
            int cap = p->cap_pool ? 2 * p->cap_pool : 16;
            struct pool_buf *grown = realloc(p->pool, (size_t)cap * sizeof *grown);
            if (!grown)
                return loom__err(LOOM_E_NOMEM, "out of memory building the plan");
            p->pool = grown;
            p->cap_pool = cap;
        }
        if ((st = dev->backend->buffer_alloc(dev, need, &p->pool[p->n_pool].buf)) != LOOM_OK)
            return dev_err(s, dev, st, "allocating a buffer");
        p->pool[p->n_pool].bytes = need;
        p->pool[p->n_pool].d = d;
        best = p->n_pool++;
    }
    p->pool[best].holder = v;
    *buf = p->pool[best].buf;
    *out = *buf;
    return LOOM_OK;
}

/* Before node i: buffers of values no node from i on reads go back to the
 * pool (not a value read by node i itself: no kernel writes its output
 * over an input it is still reading). The value stays mapped to it in
 * dbuf for the steps before i that use it; none after i does. */
static void release_dead(loom__plan *p, int i, bool *dev_valid)
{
    for (int k = 0; p->last_use && k < p->n_pool; k++) {
        int v = p->pool[k].holder;
        if (v >= 0 && p->last_use[v] < i) {
            p->pool[k].holder = -1;
            dev_valid[v * LOOM__MAX_DEVICES + p->pool[k].d] = false;
        }
    }
}

/* Whether node n runs as a view on a device with buffers: an op that only
 * renames the bytes of its input (Reshape and its kin), so its output is
 * given the input's device buffer instead of a copy (no launch at all). */
static bool view_node(const loom_session *s, const loom__node *n)
{
    const loom__graph *g = s->g;
    const loom__value *x, *y;
    if (s->own_buffers)
        return false; /* every value its own buffer, views too */
    switch (n->op) {
    case LOOM__OP_Identity: case LOOM__OP_Reshape: case LOOM__OP_Flatten:
    case LOOM__OP_Squeeze: case LOOM__OP_Unsqueeze:
        break;
    default:
        return false;
    }
    if (n->dead || !n->device || !has_buffers(n->device) || n->n_inputs < 1 || n->inputs[0] < 0 ||
        n->n_outputs != 1 || n->outputs[0] < 0)
        return false;
    x = &g->values[n->inputs[0]];
    y = &g->values[n->outputs[0]];
    return !x->constant && x->dtype == y->dtype && value_nbytes(x) > 0 && value_nbytes(x) == value_nbytes(y);
}

/* The memory plan's lifetimes: the last live node reading each value;
 * constants, graph outputs and (keep_values, own_buffers) every value are
 * never given back. */
static loom_status plan_lifetimes(loom_session *s, bool share)
{
    const loom__graph *g = s->g;
    int *last = loom__malloc((size_t)(g->n_values ? g->n_values : 1) * sizeof *last);
    if (!last)
        return loom__err(LOOM_E_NOMEM, "out of memory building the plan");
    for (int v = 0; v < g->n_values; v++)
        last[v] = share && !g->values[v].constant ? -1 : INT_MAX;
    for (int i = 0; share && i < g->n_nodes; i++)
        for (int k = 0; !g->nodes[i].dead && k < g->nodes[i].n_inputs; k++)
            if (g->nodes[i].inputs[k] >= 0 && last[g->nodes[i].inputs[k]] != INT_MAX)
                last[g->nodes[i].inputs[k]] = i;
    for (int k = 0; k < g->n_outputs; k++)
        last[g->outputs[k]] = INT_MAX;
    /* a view's buffer is its input's: that lives as long as the view is
     * read (backwards, so a view of a view reaches the first input) */
    for (int i = g->n_nodes - 1; i >= 0; i--)
        if (view_node(s, &g->nodes[i])) {
            int x = g->nodes[i].inputs[0], y = g->nodes[i].outputs[0];
            if (last[y] > last[x])
                last[x] = last[y];
        }
    s->plan.last_use = last;
    return LOOM_OK;
}

/* Make the host copy of value v current: a download from the device that
 * made it, unless it is current already. */
static loom_status bring_home(loom_session *s, int v, bool *host_valid, const int *producer_slot)
{
    loom_status st;
    if (host_valid[v])
        return LOOM_OK;
    if (producer_slot[v] < 0)
        return loom__err(LOOM_E_INTERNAL, "value %s has no producer in the plan", s->g->values[v].name);
    if ((st = push_step(&s->plan, (loom__step){.kind = STEP_DOWNLOAD, .dev = s->plan.devs[producer_slot[v]],
                                              .value = v})) != LOOM_OK)
        return st;
    host_valid[v] = true;
    return LOOM_OK;
}

/* Make value v current on device slot d while building the plan: a
 * buffer, and (when it is not produced there) the copies that bring it. */
static loom_status make_resident(loom_session *s, int v, int d, bool *host_valid, bool *dev_valid,
                                 const int *producer_slot)
{
    loom__device *dev = s->plan.devs[d];
    void *buf;
    loom_status st;

    if ((st = device_buffer(s, v, d, &buf)) != LOOM_OK)
        return st;
    if (dev_valid[v * LOOM__MAX_DEVICES + d])
        return LOOM_OK;
    if (s->g->values[v].constant) {
        /* weights and other constants: uploaded once, now */
        const loom_tensor *t = s->vals[v];
        if ((st = dev->backend->upload(dev, buf, t->data, t->nbytes)) != LOOM_OK)
            return dev_err(s, dev, st, "uploading a constant");
    } else if ((st = bring_home(s, v, host_valid, producer_slot)) != LOOM_OK ||
               (st = push_step(&s->plan, (loom__step){.kind = STEP_UPLOAD, .dev = dev, .value = v})) != LOOM_OK) {
        return st;
    }
    dev_valid[v * LOOM__MAX_DEVICES + d] = true;
    return LOOM_OK;
}

static loom_status build_plan(loom_session *s)
{
    loom__graph *g = s->g;
    loom__plan *p = &s->plan;
    size_t n_args = 0, used_args = 0;
    bool *host_valid = NULL, *dev_valid = NULL;
    int *producer_slot = NULL;
    char lbl[LOOM__LABEL_MAX];
    loom_status st = LOOM_OK;
    loom_tensor *t;

    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead)
            n_args += (size_t)g->nodes[i].n_inputs + (size_t)g->nodes[i].n_outputs;
    p->args = loom__calloc(n_args, sizeof *p->args);
    p->dbuf = loom__calloc((size_t)g->n_values * LOOM__MAX_DEVICES, sizeof *p->dbuf);
    host_valid = loom__calloc((size_t)g->n_values, sizeof *host_valid);
    dev_valid = loom__calloc((size_t)g->n_values * LOOM__MAX_DEVICES, sizeof *dev_valid);
    producer_slot = loom__malloc((size_t)(g->n_values ? g->n_values : 1) * sizeof *producer_slot);
    p->view_of = loom__malloc((size_t)(g->n_values ? g->n_values : 1) * sizeof *p->view_of);
    if (!p->args || !p->dbuf || !host_valid || !dev_valid || !producer_slot || !p->view_of) {
        st = loom__err(LOOM_E_NOMEM, "out of memory building the plan");
        goto done;
    }
    for (int v = 0; v < g->n_values; v++) {
        host_valid[v] = g->values[v].is_input || g->values[v].constant;
        producer_slot[v] = -1;
        p->view_of[v] = v;
    }
    if ((st = plan_lifetimes(s, !s->keep_values && !s->own_buffers)) != LOOM_OK)
        goto done;
    for (int i = 0; i < g->n_nodes; i++) {
        const loom__node *n = &g->nodes[i];
        loom__step step = {.kind = STEP_KERNEL, .node = n, .dev = n->device};
        int d;
        if (n->dead)
            continue;
        release_dead(p, i, dev_valid);
        d = dev_slot(p, n->device);
        if (view_node(s, n)) {
            /* no step: the output names the input's buffer */
            int x = n->inputs[0], y = n->outputs[0];
            used_args += (size_t)n->n_inputs + (size_t)n->n_outputs;
            if ((st = host_tensor(s, y, &t)) != LOOM_OK ||
                (st = make_resident(s, x, d, host_valid, dev_valid, producer_slot)) != LOOM_OK)
                goto done;
            p->dbuf[y * LOOM__MAX_DEVICES + d] = p->dbuf[x * LOOM__MAX_DEVICES + d];
            p->view_of[y] = p->view_of[x];
            producer_slot[y] = d;
            dev_valid[y * LOOM__MAX_DEVICES + d] = true;
            if (s->keep_values && (st = bring_home(s, y, host_valid, producer_slot)) != LOOM_OK)
                goto done;
            continue;
        }
        step.in = &p->args[used_args];
        used_args += (size_t)n->n_inputs;
        step.out = &p->args[used_args];
        used_args += (size_t)n->n_outputs;
        for (int k = 0; k < n->n_inputs; k++) {
            int v = n->inputs[k];
            if (v < 0)
                continue;
            if ((st = host_tensor(s, v, &step.in[k].host)) != LOOM_OK)
                goto done;
            if (has_buffers(n->device)) {
                /* inputs the backend reads only at prepare time (weights it
                 * rearranges, shapes, axes) never go to the device */
                if (n->device->backend->reads_input &&
                    !n->device->backend->reads_input(n->device, g, n, k))
                    continue;
                if ((st = make_resident(s, v, d, host_valid, dev_valid, producer_slot)) != LOOM_OK)
                    goto done;
                step.in[k].buf = p->dbuf[v * LOOM__MAX_DEVICES + d];
            } else if ((st = bring_home(s, v, host_valid, producer_slot)) != LOOM_OK) {
                goto done; /* a host device reads a value made on an accelerator */
            }
        }
        for (int k = 0; k < n->n_outputs; k++) {
            int v = n->outputs[k];
            if (v < 0)
                continue;
            if ((st = host_tensor(s, v, &step.out[k].host)) != LOOM_OK)
                goto done;
            producer_slot[v] = d;
            if (has_buffers(n->device)) {
                if ((st = device_buffer(s, v, d, &step.out[k].buf)) != LOOM_OK)
                    goto done;
                dev_valid[v * LOOM__MAX_DEVICES + d] = true;
            } else {
                host_valid[v] = true;
            }
        }
        if (n->device->backend->prepare &&
            (st = n->device->backend->prepare(n->device, g, n, step.in, step.out, &step.state)) != LOOM_OK) {
            st = dev_err(s, n->device, st, loom__node_label(g, n, lbl, sizeof lbl));
            goto done;
        }
        if ((st = push_step(p, step)) != LOOM_OK) {
            if (step.state && n->device->backend->release)
                n->device->backend->release(n->device, step.state);
            goto done;
        }
        /* validation: the node's outputs come home at once */
        for (int k = 0; s->keep_values && k < n->n_outputs; k++)
            if (n->outputs[k] >= 0 && (st = bring_home(s, n->outputs[k], host_valid, producer_slot)) != LOOM_OK)
                goto done;
    }
    /* outputs come home; every input and output has a host tensor */
    for (int i = 0; i < g->n_outputs; i++) {
        int v = g->outputs[i];
        if ((st = host_tensor(s, v, &t)) != LOOM_OK || (st = bring_home(s, v, host_valid, producer_slot)) != LOOM_OK)
            goto done;
    }
    for (int i = 0; i < g->n_inputs; i++)
        if ((st = host_tensor(s, g->inputs[i], &t)) != LOOM_OK)
            goto done;
done:
    free(host_valid);
    free(dev_valid);
    free(producer_slot);
    return st;
}

/* ---- the memory plan's check ---- */

static int pool_index(const loom__plan *p, const void *buf)
{
    for (int i = 0; buf && i < p->n_pool; i++)
        if (p->pool[i].buf == buf)
            return i;
    return -1;
}

loom_status loom__session_check_buffers(const loom_session *s, size_t *buffers, size_t *values)
{
    const loom__plan *p = &s->plan;
    const loom__graph *g = s->g;
    int *owner = loom__malloc((size_t)(p->n_pool ? p->n_pool : 1) * sizeof *owner);
    loom_status st = LOOM_OK;
    size_t mapped = 0;
    if (!owner)
        return loom__err(LOOM_E_NOMEM, "out of memory");
    for (int i = 0; i < p->n_pool; i++) /* constants: there from plan time */
        owner[i] = p->pool[i].holder >= 0 && g->values[p->pool[i].holder].constant ? p->pool[i].holder : -1;
    for (int i = 0; i < p->n_steps && st == LOOM_OK; i++) {
        const loom__step *step = &p->steps[i];
        if (step->kind == STEP_KERNEL) {
            const loom__node *n = step->node;
            for (int k = 0; k < n->n_inputs && st == LOOM_OK; k++) {
                int b = pool_index(p, step->in[k].buf);
                if (b >= 0 && owner[b] != p->view_of[n->inputs[k]])
                    st = loom__err(LOOM_E_INTERNAL, "memory plan: step %d reads \"%s\" from a buffer holding %s", i,
                                   g->values[n->inputs[k]].name, owner[b] >= 0 ? g->values[owner[b]].name : "nothing");
            }
            for (int k = 0; k < n->n_outputs; k++) {
                int b = pool_index(p, step->out[k].buf);
                for (int j = 0; b >= 0 && j < n->n_inputs && st == LOOM_OK; j++)
                    if (step->in[j].buf == step->out[k].buf)
                        st = loom__err(LOOM_E_INTERNAL, "memory plan: step %d writes \"%s\" over its input \"%s\"",
                                       i, g->values[n->outputs[k]].name, g->values[n->inputs[j]].name);
                if (b >= 0)
                    owner[b] = n->outputs[k];
            }
        } else {
            int d = -1, b;
            for (int k = 0; k < p->n_devs; k++)
                if (p->devs[k] == step->dev)
                    d = k;
            b = d >= 0 ? pool_index(p, p->dbuf[step->value * LOOM__MAX_DEVICES + d]) : -1;
            if (b >= 0 && step->kind == STEP_UPLOAD)
                owner[b] = step->value;
            else if (b >= 0 && owner[b] != p->view_of[step->value])
                st = loom__err(LOOM_E_INTERNAL, "memory plan: step %d downloads \"%s\" from a buffer holding %s", i,
                               g->values[step->value].name, owner[b] >= 0 ? g->values[owner[b]].name : "nothing");
        }
    }
    free(owner);
    for (int v = 0; p->dbuf && v < g->n_values; v++)
        for (int d = 0; d < p->n_devs; d++)
            mapped += p->dbuf[v * LOOM__MAX_DEVICES + d] != NULL;
    if (buffers)
        *buffers = (size_t)p->n_pool;
    if (values)
        *values = mapped;
    return st;
}

/* ---- placement report ---- */

/* Device that makes value v at run time (NULL: host data from the start). */
static const loom__device *made_on(const loom__graph *g, int v)
{
    int p = g->values[v].producer;
    return p >= 0 && !g->values[v].constant ? g->nodes[p].device : NULL;
}

static bool on_host(const loom__device *d)
{
    return !d || !d->backend->buffer_alloc; /* works on host tensors */
}

/* Execution order, subgraphs, and the copies at their boundaries (from
 * the placement alone, so that infer_only sessions can report them too). */
static loom_status describe(loom_session *s)
{
    loom__graph *g = s->g;
    size_t k = 0;
    bool *seen;

    free(s->order);
    free(s->subgraphs);
    s->subgraphs = NULL;
    s->order = loom__calloc(s->live_nodes, sizeof *s->order);
    s->n_subgraphs = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead && (size_t)g->nodes[i].subgraph + 1 > s->n_subgraphs)
            s->n_subgraphs = (size_t)g->nodes[i].subgraph + 1;
    s->subgraphs = loom__calloc(s->n_subgraphs, sizeof *s->subgraphs);
    seen = loom__calloc((size_t)g->n_values * (s->n_subgraphs + 1), sizeof *seen);
    if (!s->order || !s->subgraphs || !seen) {
        free(seen);
        return loom__err(LOOM_E_NOMEM, "out of memory");
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const loom__node *n = &g->nodes[i];
        loom_subgraph_info *si;
        if (n->dead)
            continue;
        s->order[k] = i;
        si = &s->subgraphs[n->subgraph];
        if (si->node_count == 0) {
            si->device = n->device->name;
            si->first_node = k;
        }
        si->node_count++;
        k++;
        /* a value read here but made on another device (or given by the
         * host, for an accelerator) is copied in, once per subgraph */
        for (int q = 0; q < n->n_inputs; q++) {
            int v = n->inputs[q];
            const loom__device *from;
            bool *mark;
            if (v < 0 || g->values[v].constant)
                continue;
            from = made_on(g, v);
            mark = &seen[(size_t)v * (s->n_subgraphs + 1) + (size_t)n->subgraph];
            if (*mark || from == n->device || (on_host(from) && on_host(n->device)))
                continue;
            *mark = true;
            if (!on_host(n->device)) {
                si->copies_in++;
                si->bytes_in += value_nbytes(&g->values[v]);
            }
            if (!on_host(from) && !seen[(size_t)v * (s->n_subgraphs + 1) + s->n_subgraphs]) {
                /* downloaded from its producer's subgraph, once */
                loom_subgraph_info *src = &s->subgraphs[g->nodes[g->values[v].producer].subgraph];
                seen[(size_t)v * (s->n_subgraphs + 1) + s->n_subgraphs] = true;
                src->copies_out++;
                src->bytes_out += value_nbytes(&g->values[v]);
            }
        }
    }
    for (int i = 0; i < g->n_outputs; i++) {
        int v = g->outputs[i];
        const loom__device *from = made_on(g, v);
        if (!on_host(from) && !seen[(size_t)v * (s->n_subgraphs + 1) + s->n_subgraphs]) {
            loom_subgraph_info *src = &s->subgraphs[g->nodes[g->values[v].producer].subgraph];
            seen[(size_t)v * (s->n_subgraphs + 1) + s->n_subgraphs] = true;
            src->copies_out++;
            src->bytes_out += value_nbytes(&g->values[v]);
        }
    }
    free(seen);
    return LOOM_OK;
}

/* Partition and plan; on a device failure (unless strict) mark the device
 * unhealthy and try again without it. */
static loom_status place_and_plan(loom_session *s)
{
    for (;;) {
        char what[1024];
        loom__device *dev;
        loom_status st = loom__partition(s->g, &s->popts);
        if (st == LOOM_OK && !s->infer_only)
            st = build_plan(s);
        if (st == LOOM_OK)
            return describe(s);
        plan_free(s);
        dev = s->failed_dev;
        s->failed_dev = NULL;
        if (!dev || s->popts.strict || (st != LOOM_E_DEVICE_FAILED && st != LOOM_E_DEVICE_UNAVAILABLE))
            return st;
        snprintf(what, sizeof what, "%s", loom_last_error());
        loom__device_fail(dev, what);
    }
}

/* ---- public API ---- */

void loom_session_free(loom_session *s)
{
    if (!s)
        return;
    if (s->deferred) {
        deferred_free(s->deferred);
        s->deferred = NULL;
    }
    if (s->g)
        plan_free(s);
    if (s->vals && s->g)
        for (int i = 0; i < s->g->n_values; i++)
            loom_tensor_free(s->vals[i]);
    free(s->vals);
    free(s->order);
    free(s->subgraphs);
    free(s->node_us);
    free(s->node_cycles);
    free(s->node_predicted);
    free(s->node_counted);
    free(s->trace_ev);
    loom__graph_free(s->g);
    free(s);
}

/* Mark in need[] the graph inputs (positions in g->inputs) that value v
 * is computed from. */
static loom_status inputs_behind(const loom__graph *g, int v, bool *need)
{
    bool *seen = loom__calloc((size_t)g->n_values, sizeof *seen);
    int *stack = loom__calloc((size_t)g->n_values + 1, sizeof *stack);
    int top = 0;
    if (!seen || !stack) {
        free(seen);
        free(stack);
        return loom__err(LOOM_E_NOMEM, "out of memory");
    }
    stack[top++] = v;
    seen[v] = true;
    while (top) {
        int x = stack[--top];
        const loom__value *val = &g->values[x];
        if (val->is_input && !val->is_initializer) {
            for (int i = 0; i < g->n_inputs; i++)
                if (g->inputs[i] == x)
                    need[i] = true;
            continue;
        }
        if (val->producer < 0)
            continue;
        for (int k = 0; k < g->nodes[val->producer].n_inputs; k++) {
            int y = g->nodes[val->producer].inputs[k];
            if (y >= 0 && !seen[y]) {
                seen[y] = true;
                stack[top++] = y;
            }
        }
    }
    free(seen);
    free(stack);
    return LOOM_OK;
}

/* A session of m with the graph inputs at positions pos[0..nbound) bound
 * to the values val[] (constants of the plan). When the passes fail for
 * want of a value computed from graph inputs, need[] (one per graph input,
 * may be NULL) marks those inputs. */
static loom_status session_build(const loom_model *m, const loom_session_options *opts, const int *pos,
                                 loom_tensor *const *val, int nbound, bool *need, loom_session **out)
{
    loom_session *s;
    loom_status st;

    *out = NULL;
    s = calloc(1, sizeof *s);
    if (!s)
        return loom__err(LOOM_E_NOMEM, "out of memory");
    if ((st = loom__graph_clone(m->graph, &s->g)) != LOOM_OK)
        goto fail;
    for (int k = 0; k < nbound; k++) {
        loom_tensor *c;
        if ((st = loom__tensor_new(val[k]->dtype, val[k]->rank, val[k]->dims, &c)) != LOOM_OK)
            goto fail;
        memcpy(c->data, val[k]->data, c->nbytes);
        loom__value_set_constant(&s->g->values[s->g->inputs[pos[k]]], c);
    }
    if ((st = loom__passes_run(s->g, opts)) != LOOM_OK) {
        if (need && st == LOOM_E_MODEL_UNSUPPORTED && s->g->needs_value >= 0) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", loom_last_error());
            if (inputs_behind(s->g, s->g->needs_value, need) != LOOM_OK)
                goto fail;
            st = loom__err(st, "%s", msg);
        }
        goto fail;
    }
    if ((st = loom__partition_devices(opts ? opts->devices : NULL, opts && opts->strict, &s->popts)) !=
        LOOM_OK)
        goto fail;
    /* placement by cost: the devices' measured rates; else those cached */
    loom__calibrate_list(s->popts.devs, s->popts.n_devs, s->popts.auto_mode);
    for (int i = 0; i < s->g->n_nodes; i++)
        s->live_nodes += !s->g->nodes[i].dead;
    s->infer_only = opts && opts->infer_only;
    s->profile = opts && opts->profile;
    s->trace = opts && opts->trace;
    s->keep_values = opts && opts->keep_values;
    s->own_buffers = opts && opts->own_buffers;
    if (s->profile && !(s->node_us = loom__calloc((size_t)s->g->n_nodes, sizeof *s->node_us))) {
        st = loom__err(LOOM_E_NOMEM, "out of memory");
        goto fail;
    }
    s->vals = loom__calloc((size_t)s->g->n_values, sizeof *s->vals);
    s->node_cycles = loom__calloc((size_t)s->g->n_nodes + 1, sizeof *s->node_cycles);
    s->node_predicted = loom__calloc((size_t)s->g->n_nodes + 1, sizeof *s->node_predicted);
    s->node_counted = loom__calloc((size_t)s->g->n_nodes + 1, sizeof *s->node_counted);
    if (!s->vals || !s->node_cycles || !s->node_predicted || !s->node_counted) {
        st = loom__err(LOOM_E_NOMEM, "out of memory");
        goto fail;
    }
    if ((st = place_and_plan(s)) != LOOM_OK)
        goto fail;
    *out = s;
    return LOOM_OK;
fail:
    loom_session_free(s);
    return st;
}

static void deferred_free(loom__deferred *d)
{
    for (int j = 0; j < d->n_plans; j++) {
        loom_session_free(d->plans[j].parked);
        for (int k = 0; d->plans[j].key && k < d->plans[j].nkey; k++)
            loom_tensor_free(d->plans[j].key[k]);
        free(d->plans[j].key);
    }
    free(d->shapes);
    free(d->shape_dims);
    free(d->devices);
    free(d->value_inputs);
    free(d);
}

/* The session before any plan: the graph with its inputs' shapes and a
 * host tensor for each input, no nodes; runs make the plans. */
static loom_status deferred_session(const loom_model *m, const loom_session_options *opts,
                                    const bool *need, loom_session **out)
{
    loom_session *s = calloc(1, sizeof *s);
    loom__deferred *d = calloc(1, sizeof *d);
    size_t ndims = 0;
    loom_status st;

    *out = NULL;
    if (!s || !d) {
        free(s);
        free(d);
        return loom__err(LOOM_E_NOMEM, "out of memory");
    }
    s->deferred = d;
    d->model = m;
    if (opts)
        d->opts = *opts;
    for (size_t k = 0; opts && k < opts->input_shape_count; k++)
        ndims += (size_t)(opts->input_shapes[k].rank > 0 ? opts->input_shapes[k].rank : 0);
    d->shapes = loom__calloc(d->opts.input_shape_count + 1, sizeof *d->shapes);
    d->shape_dims = loom__calloc(ndims + 1, sizeof *d->shape_dims);
    d->value_inputs = loom__calloc((size_t)m->graph->n_inputs + 1, sizeof *d->value_inputs);
    d->devices = opts && opts->devices ? loom__strdup(opts->devices) : NULL;
    if (!d->shapes || !d->shape_dims || !d->value_inputs || (opts && opts->devices && !d->devices)) {
        st = loom__err(LOOM_E_NOMEM, "out of memory");
        goto fail;
    }
    /* names point into the model's graph, which outlives the session */
    for (size_t k = 0, used = 0; k < d->opts.input_shape_count; k++) {
        const loom_input_shape *b = &opts->input_shapes[k];
        int gi = loom__graph_find_value(m->graph, b->name);
        d->shapes[k] = *b;
        d->shapes[k].name = gi >= 0 ? m->graph->values[gi].name : b->name;
        if (b->rank > 0 && b->dims) {
            memcpy(d->shape_dims + used, b->dims, (size_t)b->rank * sizeof *b->dims);
            d->shapes[k].dims = d->shape_dims + used;
            used += (size_t)b->rank;
        }
    }
    d->opts.input_shapes = d->shapes;
    d->opts.devices = d->devices;
    for (int i = 0; i < m->graph->n_inputs; i++)
        if (need[i])
            d->value_inputs[d->n_value_inputs++] = i;
    d->n_plans = 1;
    d->cur = 0;
    if ((st = loom__graph_clone(m->graph, &s->g)) != LOOM_OK ||
        (st = loom__pass_specialize(s->g, opts)) != LOOM_OK)
        goto fail;
    s->infer_only = opts && opts->infer_only;
    if (!(s->vals = loom__calloc((size_t)s->g->n_values, sizeof *s->vals))) {
        st = loom__err(LOOM_E_NOMEM, "out of memory");
        goto fail;
    }
    for (int i = 0; i < s->g->n_inputs; i++) {
        const loom__value *v = &s->g->values[s->g->inputs[i]];
        if ((st = loom__tensor_new(v->dtype, v->rank, v->dims, &s->vals[s->g->inputs[i]])) != LOOM_OK)
            goto fail;
    }
    *out = s;
    return LOOM_OK;
fail:
    loom_session_free(s);
    return st;
}

/* Make the session's contents plan j's (parking the current one). */
static void deferred_swap_in(loom_session *s, int j)
{
    loom__deferred *d = s->deferred;
    loom_session *shell = d->plans[j].parked, tmp = *s;
    *s = *shell;
    *shell = tmp;
    s->deferred = d;
    shell->deferred = NULL;
    d->plans[d->cur].parked = shell;
    d->plans[j].parked = NULL;
    d->cur = j;
    /* the inputs the caller set go with the contents */
    for (int i = 0; i < s->g->n_inputs; i++) {
        const loom_tensor *from = shell->vals[shell->g->inputs[i]];
        loom_tensor *to = s->vals[s->g->inputs[i]];
        if (from && to && from != to && from->nbytes == to->nbytes && to->nbytes)
            memcpy(to->data, from->data, to->nbytes);
    }
}

static bool key_matches(const loom_session *s, const loom__deferred_plan *p, int n_value_inputs)
{
    const loom__deferred *d = s->deferred;
    if (!p->key || p->nkey != n_value_inputs)
        return false;
    for (int k = 0; k < n_value_inputs; k++) {
        const loom_tensor *t = s->vals[s->g->inputs[d->value_inputs[k]]];
        if (!t || t->nbytes != p->key[k]->nbytes || memcmp(t->data, p->key[k]->data, t->nbytes))
            return false;
    }
    return true;
}

/* Before a run of a session whose plans depend on input values: make the
 * plan for the values set now the current one. */
static loom_status deferred_prepare(loom_session *s)
{
    loom__deferred *d = s->deferred;
    const loom__graph *mg = d->model->graph;
    loom_tensor *vals[LOOM__MAX_BOUND];
    bool need[LOOM__MAX_BOUND];
    loom_session *fresh = NULL;
    loom__deferred_plan *p;
    int j;
    loom_status st;

    if (key_matches(s, &d->plans[d->cur], d->n_value_inputs)) {
        d->plans[d->cur].used = ++d->clock;
        return LOOM_OK;
    }
    for (j = 1; j < d->n_plans; j++)
        if (j != d->cur && key_matches(s, &d->plans[j], d->n_value_inputs)) {
            deferred_swap_in(s, j);
            d->plans[j].used = ++d->clock;
            return LOOM_OK;
        }
    /* a new plan: bind the value inputs; the passes may ask for more */
    for (;;) {
        bool grew = false;
        for (int k = 0; k < d->n_value_inputs; k++)
            vals[k] = s->vals[s->g->inputs[d->value_inputs[k]]];
        memset(need, 0, sizeof need);
        st = session_build(d->model, &d->opts, d->value_inputs, vals, d->n_value_inputs, need, &fresh);
        if (st == LOOM_OK)
            break;
        for (int i = 0; i < mg->n_inputs && i < LOOM__MAX_BOUND; i++) {
            bool have = false;
            for (int k = 0; k < d->n_value_inputs; k++)
                have |= d->value_inputs[k] == i;
            if (need[i] && !have) {
                d->value_inputs[d->n_value_inputs++] = i;
                grew = true;
            }
        }
        if (!grew)
            return st;
        /* plans keyed on fewer inputs can no longer be matched */
        for (j = 1; j < d->n_plans; j++)
            if (j != d->cur) {
                loom_session_free(d->plans[j].parked);
                d->plans[j].parked = NULL;
                for (int k = 0; d->plans[j].key && k < d->plans[j].nkey; k++)
                    loom_tensor_free(d->plans[j].key[k]);
                free(d->plans[j].key);
                d->plans[j].key = NULL;
            }
    }
    /* a slot: a new one, else the least recently used (never 0 or cur) */
    if (d->n_plans <= DEFER_CACHE) {
        j = d->n_plans++;
    } else {
        j = d->cur == 1 ? 2 : 1;
        for (int i = 1; i < d->n_plans; i++)
            if (i != d->cur && d->plans[i].used < d->plans[j].used)
                j = i;
        loom_session_free(d->plans[j].parked);
    }
    p = &d->plans[j];
    for (int k = 0; p->key && k < p->nkey; k++)
        loom_tensor_free(p->key[k]);
    free(p->key);
    p->parked = fresh;
    p->nkey = d->n_value_inputs;
    p->key = loom__calloc((size_t)d->n_value_inputs, sizeof *p->key);
    st = p->key ? LOOM_OK : loom__err(LOOM_E_NOMEM, "out of memory");
    for (int k = 0; st == LOOM_OK && k < d->n_value_inputs; k++) {
        const loom_tensor *t = s->vals[s->g->inputs[d->value_inputs[k]]];
        if ((st = loom__tensor_new(t->dtype, t->rank, t->dims, &p->key[k])) == LOOM_OK)
            memcpy(p->key[k]->data, t->data, t->nbytes);
    }
    if (st != LOOM_OK) {
        /* an unusable slot: no key, so it never matches */
        for (int k = 0; p->key && k < p->nkey; k++)
            loom_tensor_free(p->key[k]);
        free(p->key);
        p->key = NULL;
        return st;
    }
    p->used = ++d->clock;
    deferred_swap_in(s, j);
    return LOOM_OK;
}

loom_status loom_session_create(const loom_model *m, const loom_session_options *opts,
                                loom_session **out)
{
    bool *need;
    loom_status st;
    bool any = false;

    if (!m || !out)
        return loom__err(LOOM_E_INVALID_ARG, "loom_session_create: NULL argument");
    *out = NULL;
    need = loom__calloc((size_t)m->graph->n_inputs + 1, sizeof *need);
    if (!need)
        return loom__err(LOOM_E_NOMEM, "out of memory");
    st = session_build(m, opts, NULL, NULL, 0, need, out);
    for (int i = 0; st != LOOM_OK && i < m->graph->n_inputs; i++)
        any |= need[i];
    if (st != LOOM_OK && any && m->graph->n_inputs <= LOOM__MAX_BOUND) {
        /* shapes that depend on input values: planned at the first run */
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", loom_last_error());
        if (opts && opts->infer_only)
            st = loom__err(st, "%s: it comes from a graph input's value, so the plan is made when the model runs "
                               "(loom run does that)", msg);
        else
            st = deferred_session(m, opts, need, out);
    }
    free(need);
    return st;
}

size_t loom_session_input_count(const loom_session *s) { return (size_t)s->g->n_inputs; }
size_t loom_session_output_count(const loom_session *s) { return (size_t)s->g->n_outputs; }
size_t loom_session_node_count(const loom_session *s) { return s->live_nodes; }
size_t loom_session_subgraph_count(const loom_session *s) { return s->n_subgraphs; }

loom_status loom_session_placement(const loom_session *s, size_t i, loom_node_placement *out)
{
    const loom__node *n;
    if (!s || !out || i >= s->live_nodes || !s->order)
        return loom__err(LOOM_E_INVALID_ARG, "loom_session_placement: index %zu out of range", i);
    n = &s->g->nodes[s->order[i]];
    out->name = n->name;
    out->op_type = n->op_type;
    out->fused = loom__fused_name(n);
    out->device = n->device ? n->device->name : "";
    out->reason = n->why;
    out->subgraph = n->subgraph;
    return LOOM_OK;
}

double loom__session_node_reduction(const loom_session *s, size_t i)
{
    const loom__node *n;
    const loom__value *in0, *out0;
    int64_t ni, no;
    double flops;
    if (!s || !s->order || i >= s->live_nodes)
        return 0.0;
    n = &s->g->nodes[s->order[i]];
    if (n->n_inputs < 1 || n->inputs[0] < 0 || n->n_outputs < 1 || n->outputs[0] < 0)
        return 0.0;
    in0 = &s->g->values[n->inputs[0]];
    out0 = &s->g->values[n->outputs[0]];
    if (!loom__numel(out0->rank, out0->dims, &no) || no == 0)
        return 0.0;
    flops = loom__node_flops(s->g, n);
    if (flops > 0) /* GEMM-like: 2 M N K */
        return flops / (2.0 * (double)no);
    switch (n->op) {
    case LOOM__OP_AveragePool: case LOOM__OP_GlobalAveragePool: case LOOM__OP_ReduceMean:
        /* inputs summed per output */
        return loom__numel(in0->rank, in0->dims, &ni) ? (double)ni / (double)no : 0.0;
    case LOOM__OP_LayerNormalization: case LOOM__OP_Softmax:
        /* sums along the normalised axes: at most the input's size per row */
        return in0->rank > 0 ? (double)in0->dims[in0->rank - 1] : 0.0;
    default:
        return 0.0;
    }
}

size_t loom_session_node_output_count(const loom_session *s, size_t i)
{
    return s && s->order && i < s->live_nodes ? (size_t)s->g->nodes[s->order[i]].n_outputs : 0;
}

const loom_tensor *loom_session_node_output(const loom_session *s, size_t i, size_t k)
{
    const loom__node *n;
    if (!s || !s->order || i >= s->live_nodes || !s->ran)
        return NULL;
    n = &s->g->nodes[s->order[i]];
    if (k >= (size_t)n->n_outputs || n->outputs[k] < 0)
        return NULL;
    if (!s->keep_values) {
        bool is_output = false;
        for (int j = 0; j < s->g->n_outputs; j++)
            is_output |= s->g->outputs[j] == n->outputs[k];
        if (!is_output)
            return NULL;
    }
    return s->vals[n->outputs[k]];
}

loom_status loom__session_node_reference(const loom_session *s, size_t i, loom_tensor **outs, size_t n_outs)
{
    const loom__node *n;
    const loom_tensor **tin;
    loom__kernel_fn fn;
    char lbl[LOOM__LABEL_MAX];
    loom_status st = LOOM_OK;

    if (!s || !outs || !s->order || i >= s->live_nodes || !s->ran || !s->keep_values)
        return loom__err(LOOM_E_INVALID_ARG, "loom__session_node_reference: no such node, or no kept values");
    n = &s->g->nodes[s->order[i]];
    if ((size_t)n->n_outputs > n_outs)
        return loom__err(LOOM_E_INTERNAL, "loom__session_node_reference: node %zu has %d outputs, room for %zu", i,
                         n->n_outputs, n_outs);
    if (!(fn = loom__ref_kernel(n->op)))
        return loom__err(LOOM_E_INTERNAL, "%s: no reference kernel", loom__node_label(s->g, n, lbl, sizeof lbl));
    for (int k = 0; k < n->n_outputs; k++)
        outs[k] = NULL;
    if (!(tin = loom__malloc((size_t)(n->n_inputs > 0 ? n->n_inputs : 1) * sizeof *tin)))
        return loom__err(LOOM_E_NOMEM, "out of memory");
    for (int k = 0; k < n->n_inputs; k++)
        tin[k] = n->inputs[k] >= 0 ? s->vals[n->inputs[k]] : NULL;
    for (int k = 0; k < n->n_outputs && st == LOOM_OK; k++) {
        const loom__value *v = n->outputs[k] >= 0 ? &s->g->values[n->outputs[k]] : NULL;
        if (v && (st = loom__tensor_new(v->dtype, v->rank, v->dims, &outs[k])) == LOOM_OK)
            memset(outs[k]->data, 0, outs[k]->nbytes);
    }
    if (st == LOOM_OK && (st = fn(n, tin, outs)) != LOOM_OK)
        st = loom__err_prefix(st, "%s: %s on ref", s->g->source, loom__node_label(s->g, n, lbl, sizeof lbl));
    free(tin);
    if (st != LOOM_OK)
        for (int k = 0; k < n->n_outputs; k++) {
            loom_tensor_free(outs[k]);
            outs[k] = NULL;
        }
    return st;
}

const loom_tensor *loom__session_value(const loom_session *s, const char *name)
{
    int v;
    if (!s || !name || !s->ran || !s->keep_values || (v = loom__graph_find_value(s->g, name)) < 0)
        return NULL;
    return s->vals[v];
}

loom_status loom_session_subgraph(const loom_session *s, size_t i, loom_subgraph_info *out)
{
    if (!s || !out || i >= s->n_subgraphs || !s->subgraphs)
        return loom__err(LOOM_E_INVALID_ARG, "loom_session_subgraph: index %zu out of range", i);
    *out = s->subgraphs[i];
    return LOOM_OK;
}

loom_status loom_session_input(const loom_session *s, size_t i, loom_value_info *out)
{
    if (!s || !out || i >= (size_t)s->g->n_inputs)
        return loom__err(LOOM_E_INVALID_ARG, "loom_session_input: index %zu out of range", i);
    loom__value_info(&s->g->values[s->g->inputs[i]], out);
    return LOOM_OK;
}

loom_status loom_session_output(const loom_session *s, size_t i, loom_value_info *out)
{
    if (!s || !out || i >= (size_t)s->g->n_outputs)
        return loom__err(LOOM_E_INVALID_ARG, "loom_session_output: index %zu out of range", i);
    loom__value_info(&s->g->values[s->g->outputs[i]], out);
    return LOOM_OK;
}

loom_status loom_session_set_input(loom_session *s, const char *name, const loom_tensor *t)
{
    char s1[LOOM__SHAPE_STR_MAX], s2[LOOM__SHAPE_STR_MAX];
    if (!s || !name || !t)
        return loom__err(LOOM_E_INVALID_ARG, "loom_session_set_input: NULL argument");
    for (int i = 0; i < s->g->n_inputs; i++) {
        const loom__value *v = &s->g->values[s->g->inputs[i]];
        loom_tensor *dst = s->vals[s->g->inputs[i]];
        if (strcmp(v->name, name) != 0)
            continue;
        if (!dst)
            return loom__err(LOOM_E_INVALID_ARG, "input \"%s\": the session was made with infer_only", name);
        if (t->dtype != dst->dtype || t->rank != dst->rank ||
            memcmp(t->dims, dst->dims, (size_t)t->rank * sizeof t->dims[0]) != 0)
            return loom__err(LOOM_E_SHAPE, "input \"%s\": got %s %s, the session expects %s %s", name,
                             loom_dtype_name(t->dtype), loom__shape_str(t->rank, t->dims, s1, sizeof s1),
                             loom_dtype_name(dst->dtype),
                             loom__shape_str(dst->rank, dst->dims, s2, sizeof s2));
        if (t->nbytes)
            memcpy(dst->data, t->data, t->nbytes);
        return LOOM_OK;
    }
    return loom__err(LOOM_E_INVALID_ARG, "the model has no input called \"%s\"", name);
}

loom_status loom_session_set_input_data(loom_session *s, size_t i, const void *data, size_t size)
{
    loom_tensor *dst;
    if (!s || (!data && size) || i >= (size_t)s->g->n_inputs)
        return loom__err(LOOM_E_INVALID_ARG, "loom_session_set_input_data: bad argument");
    dst = s->vals[s->g->inputs[i]];
    if (!dst)
        return loom__err(LOOM_E_INVALID_ARG, "loom_session_set_input_data: the session was made with infer_only");
    if (size != dst->nbytes)
        return loom__err(LOOM_E_SHAPE, "input \"%s\": got %zu bytes, expected %zu",
                         s->g->values[s->g->inputs[i]].name, size, dst->nbytes);
    if (size)
        memcpy(dst->data, data, size);
    return LOOM_OK;
}

/* After a failure with status st: wait for whatever the plan's devices
 * still have queued (their errors ignored, st's message kept), so that
 * nothing keeps running behind our back. */
static loom_status drain(loom_session *s, loom_status st)
{
    char keep[1024];
    snprintf(keep, sizeof keep, "%s", loom_last_error());
    for (int d = 0; d < s->plan.n_devs; d++) {
        loom__device *dev = s->plan.devs[d];
        if (dev->backend->finish)
            (void)dev->backend->finish(dev);
    }
    return loom__err(st, "%s", keep);
}

/* The trace option: step, which started at t0, has just finished. */
static void trace_record(loom_session *s, const loom__step *step, double t0)
{
    loom__trace_rec *r;
    if (!s->trace || s->trace_full)
        return;
    if (s->n_trace == s->cap_trace) {
        size_t cap = s->cap_trace ? 2 * s->cap_trace : 1024;
        loom__trace_rec *grown;
        if (cap > TRACE_MAX)
            cap = TRACE_MAX;
        if (s->n_trace == cap || !(grown = realloc(s->trace_ev, cap * sizeof *grown))) {
            s->trace_full = true; /* said by loom_session_trace_truncated */
            return;
        }
        s->trace_ev = grown;
        s->cap_trace = cap;
    }
    r = &s->trace_ev[s->n_trace++];
    r->kind = step->kind;
    r->index = step->kind == STEP_KERNEL ? (int)(step->node - s->g->nodes) : step->value;
    r->device = step->dev->name;
    r->run = s->trace_runs;
    r->start_us = t0;
    r->dur_us = loom__now_us() - t0;
    r->bytes = step->kind == STEP_KERNEL ? 0 : (uint64_t)s->vals[step->value]->nbytes;
}

/* One pass over the steps; *failed names the device of a failing step. */
static loom_status run_steps(loom_session *s, loom__device **failed)
{
    loom__plan *p = &s->plan;
    char lbl[LOOM__LABEL_MAX];
    bool slow = false; /* a simulated device: a run can take minutes, say how far */
    *failed = NULL;
    for (int d = 0; d < p->n_devs; d++)
        slow |= p->devs[d]->explicit_only;
    for (int i = 0; i < p->n_steps; i++) {
        const loom__step *step = &p->steps[i];
        loom__device *dev = step->dev;
        loom_status st;
        double t0 = s->profile || s->trace ? loom__now_us() : 0;
        if (slow)
            loom__progress("running (simulated)", (uint64_t)i, (uint64_t)p->n_steps);
        if (step->kind == STEP_KERNEL) {
            uint64_t cyc = 0, pred = 0;
            if (dev->backend->take_cycles)
                dev->backend->take_cycles(dev, &cyc, &pred); /* start from zero */
            st = dev->backend->run(dev, step->state, step->node, step->in, step->out);
            if (st == LOOM_OK && dev->backend->take_cycles) {
                size_t at = (size_t)(step->node - s->g->nodes);
                dev->backend->take_cycles(dev, &cyc, &pred);
                s->node_cycles[at] += cyc;
                s->node_predicted[at] += pred;
                s->node_counted[at] = true;
            }
            if (st == LOOM_OK && (s->profile || s->trace) && dev->backend->finish)
                st = dev->backend->finish(dev);
            if (s->profile)
                s->node_us[step->node - s->g->nodes] += loom__now_us() - t0;
            if (st == LOOM_OK)
                trace_record(s, step, t0);
            if (st != LOOM_OK) {
                *failed = dev;
                st = loom__err_prefix(st, "%s: %s on %s", s->g->source,
                                      loom__node_label(s->g, step->node, lbl, sizeof lbl), dev->name);
                return drain(s, st);
            }
        } else {
            loom_tensor *t = s->vals[step->value];
            void *buf = p->dbuf[step->value * LOOM__MAX_DEVICES + dev_slot(p, dev)];
            st = step->kind == STEP_UPLOAD ? dev->backend->upload(dev, buf, t->data, t->nbytes)
                                           : dev->backend->download(dev, buf, t->data, t->nbytes);
            if (st == LOOM_OK && s->trace && dev->backend->finish)
                st = dev->backend->finish(dev);
            if (s->profile)
                s->copy_us += loom__now_us() - t0;
            if (st == LOOM_OK)
                trace_record(s, step, t0);
            if (st != LOOM_OK) {
                *failed = dev;
                st = loom__err_prefix(st, "%s: copying \"%s\" %s %s", s->g->source,
                                      s->g->values[step->value].name,
                                      step->kind == STEP_UPLOAD ? "to" : "from", dev->name);
                return drain(s, st);
            }
        }
    }
    if (slow)
        loom__progress("running (simulated)", (uint64_t)p->n_steps, (uint64_t)p->n_steps);
    for (int d = 0; d < p->n_devs; d++) {
        loom__device *dev = p->devs[d];
        loom_status st;
        if (dev->backend->finish && (st = dev->backend->finish(dev)) != LOOM_OK) {
            *failed = dev;
            st = loom__err_prefix(st, "%s: finishing the work queued on %s", s->g->source, dev->name);
            return drain(s, st);
        }
    }
    return LOOM_OK;
}

/* Forget the cycles counted so far (and, with counted, which nodes ran
 * on a device that counts them). */
static void cycles_clear(loom_session *s, bool counted)
{
    size_t n = (size_t)s->g->n_nodes;
    memset(s->node_cycles, 0, n * sizeof *s->node_cycles);
    memset(s->node_predicted, 0, n * sizeof *s->node_predicted);
    if (counted)
        memset(s->node_counted, 0, n * sizeof *s->node_counted);
}

loom_status loom_session_run(loom_session *s)
{
    if (!s)
        return loom__err(LOOM_E_INVALID_ARG, "loom_session_run: NULL session");
    if (s->infer_only)
        return loom__err(LOOM_E_INVALID_ARG, "loom_session_run: the session was made with infer_only");
    if (s->deferred) {
        loom_status st = deferred_prepare(s);
        if (st != LOOM_OK)
            return st;
    }
    if (s->broken)
        return loom__err(s->broken, "the session could not be planned again after a device failed: %s",
                         s->broken_msg);
    s->ran = false; /* node outputs are those of a run that completed */
    for (;;) {
        loom__device *failed;
        loom_status st = run_steps(s, &failed);
        char what[1024];
        if (st == LOOM_OK) {
            s->runs++;
            s->trace_runs++;
            s->ran = true;
            return LOOM_OK;
        }
        /* only device failures fall back; errors about the data (a
         * reference kernel's, say) are the caller's */
        if (!failed || (st != LOOM_E_DEVICE_FAILED && st != LOOM_E_DEVICE_UNAVAILABLE))
            return st;
        if (s->popts.strict)
            return loom__err_prefix(LOOM_E_DEVICE_FAILED, "device %s failed (strict: no fallback)",
                                    failed->name);
        snprintf(what, sizeof what, "%s", loom_last_error());
        loom__device_fail(failed, what);
        plan_free(s);
        /* the nodes move: cycles counted on the failed plan are not theirs */
        cycles_clear(s, true);
        if ((st = place_and_plan(s)) != LOOM_OK) {
            s->broken = st;
            snprintf(s->broken_msg, sizeof s->broken_msg, "%s", loom_last_error());
            return st;
        }
    }
}

double loom_session_node_time(const loom_session *s, size_t i)
{
    if (!s || !s->node_us || i >= s->live_nodes || s->runs == 0)
        return 0.0;
    return s->node_us[s->order[i]] / (double)s->runs;
}

bool loom_session_node_cycles(const loom_session *s, size_t i, uint64_t *cycles, uint64_t *predicted)
{
    size_t at;
    if (cycles)
        *cycles = 0;
    if (predicted)
        *predicted = 0;
    if (!s || !s->node_counted || i >= s->live_nodes || s->runs == 0 || !s->node_counted[s->order[i]])
        return false;
    at = (size_t)s->order[i];
    if (cycles)
        *cycles = s->node_cycles[at] / (uint64_t)s->runs;
    if (predicted)
        *predicted = s->node_predicted[at] / (uint64_t)s->runs;
    return true;
}

static int64_t numel_of(const loom__value *v)
{
    int64_t n = 1;
    for (int d = 0; d < v->rank; d++)
        n *= v->dims[d];
    return n;
}

bool loom_session_node_gemm(const loom_session *s, size_t i, loom_gemm_shape *out)
{
    const loom__node *n;
    if (out)
        memset(out, 0, sizeof *out);
    if (!s || !out || i >= s->live_nodes)
        return false;
    n = &s->g->nodes[s->order[i]];
    out->act = n->act;
    if (!loom__node_gemm_i8(s->g, n, &out->M, &out->N, &out->K, &out->count)) {
        memset(out, 0, sizeof *out);
        return false;
    }
    return true;
}

double loom_session_node_predicted_us(const loom_session *s, size_t i)
{
    const loom__node *n;
    if (!s || !s->order || i >= s->live_nodes)
        return 0.0;
    n = &s->g->nodes[s->order[i]];
    return n->device ? loom__node_cost_us(n->device, s->g, n) : 0.0;
}

double loom_session_subgraph_predicted_us(const loom_session *s, size_t i)
{
    const loom_subgraph_info *si;
    double us = 0;
    if (!s || !s->order || i >= s->n_subgraphs)
        return 0.0;
    si = &s->subgraphs[i];
    for (size_t k = si->first_node; k < si->first_node + si->node_count; k++)
        us += loom_session_node_predicted_us(s, k);
    if (si->node_count > 0) {
        const loom__device *dev = s->g->nodes[s->order[si->first_node]].device;
        us += loom__copy_cost_us(dev, si->copies_in + si->copies_out, si->bytes_in + si->bytes_out);
    }
    return us;
}

double loom_session_predicted_us(const loom_session *s)
{
    double us = 0;
    for (size_t i = 0; s && i < s->n_subgraphs; i++)
        us += loom_session_subgraph_predicted_us(s, i);
    return us;
}

void loom_session_profile_reset(loom_session *s)
{
    if (!s)
        return;
    if (s->node_us)
        memset(s->node_us, 0, (size_t)s->g->n_nodes * sizeof *s->node_us);
    if (s->node_cycles)
        cycles_clear(s, false);
    s->copy_us = 0;
    s->runs = 0;
}

double loom_session_copy_time(const loom_session *s)
{
    return s && s->runs ? s->copy_us / (double)s->runs : 0.0;
}

const loom_tensor *loom_session_output_tensor(const loom_session *s, size_t i)
{
    if (!s || i >= (size_t)s->g->n_outputs)
        return NULL;
    return s->vals[s->g->outputs[i]];
}

size_t loom_session_trace_count(const loom_session *s)
{
    return s ? s->n_trace : 0;
}

bool loom_session_trace_truncated(const loom_session *s)
{
    return s && s->trace_full;
}

bool loom_session_trace_event(const loom_session *s, size_t i, loom_trace_event *out)
{
    const loom__trace_rec *r;
    if (!s || !out || i >= s->n_trace)
        return false;
    r = &s->trace_ev[i];
    memset(out, 0, sizeof *out);
    out->device = r->device;
    out->run = r->run;
    out->start_us = r->start_us;
    out->dur_us = r->dur_us;
    out->bytes = r->bytes;
    out->node = SIZE_MAX;
    if (r->kind == STEP_KERNEL) {
        const loom__node *n = &s->g->nodes[r->index];
        out->category = "kernel";
        out->name = n->name && n->name[0] ? n->name : n->op_type;
        out->op_type = n->op_type;
        for (size_t k = 0; k < s->live_nodes; k++)
            if (s->order[k] == r->index)
                out->node = k;
    } else {
        out->category = r->kind == STEP_UPLOAD ? "copy to device" : "copy to host";
        out->name = s->g->values[r->index].name;
        out->op_type = "";
    }
    return true;
}

loom_status loom_session_node_work(const loom_session *s, size_t i, loom_node_work *out)
{
    loom__work w;
    if (out)
        memset(out, 0, sizeof *out);
    if (!s || !out || i >= s->live_nodes)
        return loom__err(LOOM_E_INVALID_ARG, "loom_session_node_work: no node %zu", i);
    loom__node_work(s->g, &s->g->nodes[s->order[i]], &w);
    out->bytes = w.bytes;
    if (w.ops_i8 > 0) {
        out->macs = w.ops_i8 / 2;
        out->int8 = true;
    } else if ((out->macs = w.flops / 2) == 0) {
        out->elementwise = w.elements;
    }
    return LOOM_OK;
}

loom_status loom_session_cut_bytes(const loom_session *s, const bool *in_set, uint64_t *to_set, uint64_t *from_set)
{
    const loom__graph *g;
    char *seen; /* per value: 1 counted into the set, 2 out of it */
    int *where; /* per graph node: 1 in the set, 0 not, -1 dead */
    if (!s || !in_set || !to_set || !from_set)
        return loom__err(LOOM_E_INVALID_ARG, "loom_session_cut_bytes: NULL argument");
    g = s->g;
    *to_set = *from_set = 0;
    seen = calloc((size_t)g->n_values + 1, 1);
    where = malloc(((size_t)g->n_nodes + 1) * sizeof *where);
    if (!seen || !where) {
        free(seen);
        free(where);
        return loom__err(LOOM_E_NOMEM, "out of memory");
    }
    for (int i = 0; i < g->n_nodes; i++)
        where[i] = -1;
    for (size_t k = 0; k < s->live_nodes; k++)
        where[s->order[k]] = in_set[k] ? 1 : 0;
    for (size_t k = 0; k < s->live_nodes; k++) {
        const loom__node *n = &g->nodes[s->order[k]];
        for (int j = 0; j < n->n_inputs; j++) {
            int v = n->inputs[j];
            const loom__value *x;
            bool inside;
            if (v < 0)
                continue;
            x = &g->values[v];
            if (x->constant && x->producer < 0)
                continue; /* weights: on the device once, not per run */
            inside = x->producer >= 0 && where[x->producer] == 1;
            if (in_set[k] && !inside && !(seen[v] & 1)) {
                seen[v] |= 1;
                *to_set += (uint64_t)(numel_of(x) * (int64_t)loom_dtype_size(x->dtype));
            } else if (!in_set[k] && inside && !(seen[v] & 2)) {
                seen[v] |= 2;
                *from_set += (uint64_t)(numel_of(x) * (int64_t)loom_dtype_size(x->dtype));
            }
        }
    }
    for (int i = 0; i < g->n_outputs; i++) {
        int v = g->outputs[i];
        const loom__value *x = &g->values[v];
        if (x->producer >= 0 && where[x->producer] == 1 && !(seen[v] & 2)) {
            seen[v] |= 2;
            *from_set += (uint64_t)(numel_of(x) * (int64_t)loom_dtype_size(x->dtype));
        }
    }
    free(seen);
    free(where);
    return LOOM_OK;
}
