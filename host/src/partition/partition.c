/* partition.c - device placement in numbered passes (see partition.h). */
#include <stdio.h>
#include <string.h>

#include "partition/partition.h"

/* ---- device lists ---- */

static bool listed(const loom__partition_opts *o, const loom__device *d)
{
    for (int i = 0; i < o->n_devs; i++)
        if (o->devs[i] == d)
            return true;
    return false;
}

static void add_dev(loom__partition_opts *o, loom__device *d)
{
    if (!listed(o, d) && o->n_devs < LOOM__MAX_DEVICES)
        o->devs[o->n_devs++] = d;
}

loom_status loom__partition_devices(const char *list, bool strict, loom__partition_opts *o)
{
    char name[64];
    memset(o, 0, sizeof *o);
    o->strict = strict;
    if (!list || !*list || strcmp(list, "auto") == 0) {
        o->auto_mode = true;
        for (int i = 0; i < loom__device_count(); i++)
            if (!loom__device_at(i)->explicit_only)
                add_dev(o, loom__device_at(i));
        return LOOM_OK;
    }
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        bool found = false;
        if (len == 0 || len >= sizeof name)
            return loom__err(LOOM_E_INVALID_ARG, "device list \"%s\": empty or overlong name", list);
        memcpy(name, p, len);
        name[len] = '\0';
        /* a backend name stands for all of its devices, in fallback order */
        for (int i = 0; i < loom__device_count(); i++) {
            loom__device *d = loom__device_at(i);
            if (strcmp(d->name, name) == 0 || strcmp(d->backend->name, name) == 0) {
                add_dev(o, d);
                found = true;
            }
        }
        if (!found) {
            /* a backend's name, or its "name:N" device, that this machine lacks */
            bool known = false;
            static const char *const backends[] = {"opencl", "xrt", "vsim"};
            for (size_t b = 0; b < sizeof backends / sizeof backends[0]; b++) {
                size_t bl = strlen(backends[b]);
                if (strncmp(name, backends[b], bl) == 0 &&
                    (name[bl] == '\0' ||
                     (name[bl] == ':' && name[bl + 1] && strspn(name + bl + 1, "0123456789") == strlen(name + bl + 1))))
                    known = true;
            }
            if (!known)
                return loom__err(LOOM_E_INVALID_ARG, "unknown device \"%s\" (see loom devices)", name);
            if (strict)
                return loom__err(LOOM_E_DEVICE_UNAVAILABLE,
                                 "device \"%s\" is not available on this machine%s (see loom devices)",
                                 name, loom__absent_note(name));
            loom__log(LOOM_LOG_WARN, "device \"%s\" is not available on this machine%s; falling back",
                      name, loom__absent_note(name));
        }
        p += len + (comma ? 1 : 0);
    }
    if (!strict)
        add_dev(o, loom__device_ref());
    return LOOM_OK;
}

/* ---- passes ---- */

/* Pass 1+2: the first healthy listed device that supports the node. */
static loom_status assign(loom__graph *g, loom__node *n, const loom__partition_opts *o)
{
    char refusals[160] = "";
    char lbl[LOOM__LABEL_MAX];
    size_t used = 0;

    for (int d = 0; d < o->n_devs; d++) {
        loom__device *dev = o->devs[d];
        const char *why = "";
        if (!loom__device_healthy(dev)) {
            why = dev->status;
        } else if (dev->backend->supports(dev, g, n, &why)) {
            n->device = dev;
            if (d == 0)
                snprintf(n->why, sizeof n->why, "first device in priority order that runs %s",
                         n->op_type);
            else
                snprintf(n->why, sizeof n->why, "fallback: %s", refusals);
            return LOOM_OK;
        }
        if (used < sizeof refusals)
            used += (size_t)snprintf(refusals + used, sizeof refusals - used, "%s%s: %s",
                                     used ? "; " : "", dev->name, why);
    }
    n->device = NULL;
    return loom__err(o->strict ? LOOM_E_DEVICE_UNAVAILABLE : LOOM_E_INTERNAL,
                     "%s: %s: no device takes it (%s)", g->source,
                     loom__node_label(g, n, lbl, sizeof lbl), refusals[0] ? refusals : "no devices");
}

/* The next listed healthy device after n->device that supports n. */
static loom__device *next_device(const loom__graph *g, const loom__node *n,
                                 const loom__partition_opts *o)
{
    bool past = false;
    for (int d = 0; d < o->n_devs; d++) {
        loom__device *dev = o->devs[d];
        const char *why;
        if (dev == n->device) {
            past = true;
            continue;
        }
        if (past && loom__device_healthy(dev) && dev->backend->supports(dev, g, n, &why))
            return dev;
    }
    return NULL;
}

static uint64_t value_bytes(const loom__value *v)
{
    int64_t n = 0;
    loom__numel(v->rank, v->dims, &n);
    return (uint64_t)n * loom_dtype_size(v->dtype);
}

static bool is_graph_output(const loom__graph *g, int v)
{
    for (int k = 0; k < g->n_outputs; k++)
        if (g->outputs[k] == v)
            return true;
    return false;
}

/* Bytes a run of nodes [first, last] on dev must copy per inference: run-
 * time inputs made elsewhere, and outputs read elsewhere or returned
 * (*copies counts them). */
static uint64_t run_copy_bytes(const loom__graph *g, int first, int last, const loom__device *dev,
                               uint64_t *copies)
{
    uint64_t bytes = 0;
    for (int i = first; i <= last; i++) {
        const loom__node *n = &g->nodes[i];
        if (n->dead)
            continue;
        for (int k = 0; k < n->n_inputs; k++) {
            const loom__value *v = loom__in(g, n, k);
            if (!v || v->constant)
                continue; /* constants are uploaded once, at plan time */
            if (v->producer < first || v->producer > last || g->nodes[v->producer].device != dev)
                bytes += value_bytes(v), ++*copies;
        }
        for (int k = 0; k < n->n_outputs; k++) {
            int vi = n->outputs[k];
            bool leaves = vi >= 0 && is_graph_output(g, vi);
            for (int j = last + 1; vi >= 0 && !leaves && j < g->n_nodes; j++) {
                const loom__node *m = &g->nodes[j];
                if (m->dead || m->device == dev)
                    continue;
                for (int q = 0; q < m->n_inputs && !leaves; q++)
                    leaves = m->inputs[q] == vi;
            }
            if (leaves)
                bytes += value_bytes(&g->values[vi]), ++*copies;
        }
    }
    return bytes;
}

/* Pass 3: move runs whose copies cost more than they save. */
static void pass_transfers(loom__graph *g, const loom__partition_opts *o)
{
    for (int round = 0; round < 4; round++) {
        bool moved = false;
        for (int i = 0; i < g->n_nodes;) {
            loom__device *dev = g->nodes[i].device;
            double here = 0, there = 0, copy;
            int last = i, count = 0;
            bool movable = true;
            if (g->nodes[i].dead || !dev || dev->kind == LOOM__DEV_HOST) {
                i++;
                continue;
            }
            /* the maximal run of live nodes on dev */
            for (int j = i; j < g->n_nodes; j++) {
                const loom__node *n = &g->nodes[j];
                loom__device *alt;
                if (n->dead)
                    continue;
                if (n->device != dev)
                    break;
                last = j;
                count++;
                alt = next_device(g, n, o);
                if (!alt)
                    movable = false;
                here += loom__node_cost_us(dev, g, n);
                there += alt ? loom__node_cost_us(alt, g, n) : 0;
            }
            uint64_t copies = 0, bytes = run_copy_bytes(g, i, last, dev, &copies);
            copy = loom__copy_cost_us(dev, copies, bytes);
            if (movable && copy + here >= there) {
                for (int j = i; j <= last; j++) {
                    loom__node *n = &g->nodes[j];
                    loom__device *alt;
                    if (n->dead)
                        continue;
                    alt = next_device(g, n, o);
                    snprintf(n->why, sizeof n->why,
                             "moved off %s: its %d-node run would cost ~%.1f us there plus ~%.1f "
                             "us of copies, against ~%.1f us here",
                             dev->name, count, here, copy, there);
                    n->device = alt;
                }
                moved = true;
            }
            i = last + 1;
        }
        if (!moved)
            break;
    }
}

/* Pass 4: consecutive live nodes on one device share a subgraph. */
static void pass_subgraphs(loom__graph *g)
{
    const loom__device *prev = NULL;
    int sg = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        loom__node *n = &g->nodes[i];
        if (n->dead)
            continue;
        if (n->device != prev)
            sg++;
        n->subgraph = sg;
        prev = n->device;
    }
}

loom_status loom__partition(loom__graph *g, const loom__partition_opts *o)
{
    for (int i = 0; i < g->n_nodes; i++) {
        loom__node *n = &g->nodes[i];
        loom_status st;
        n->device = NULL;
        n->subgraph = -1;
        n->why[0] = '\0';
        if (n->dead)
            continue;
        if ((st = assign(g, n, o)) != LOOM_OK)
            return st;
    }
    if (o->auto_mode)
        pass_transfers(g, o);
    pass_subgraphs(g);
    return LOOM_OK;
}
