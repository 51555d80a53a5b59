/* registry.c - the backends, the devices they find, the fallback order,
 * device health (costs: cost/cost.c). */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "backends/backend.h"
#include "backends/ref/ref.h"

/* Enumeration order; the fallback order is then by device kind. */
static const loom__backend *const backends[] = {
#ifdef LOOM_WITH_XRT
    &loom__backend_xrt,
#endif
#ifdef LOOM_WITH_VERILATOR
    &loom__backend_vsim,
#endif
#ifdef LOOM_WITH_OPENCL
    &loom__backend_opencl,
#endif
    &loom__backend_ref,
};

static loom__device devices[LOOM__MAX_DEVICES];
static char absent[sizeof backends / sizeof backends[0]][256];
static int n_devices;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t health_lock = PTHREAD_MUTEX_INITIALIZER;

loom__device *loom__device_new(const loom__backend *be, loom__dev_kind kind)
{
    loom__device *d;
    if (n_devices == LOOM__MAX_DEVICES)
        return NULL;
    d = &devices[n_devices++];
    memset(d, 0, sizeof *d);
    d->backend = be;
    d->kind = kind;
    d->healthy = true;
    snprintf(d->status, sizeof d->status, "ok");
    return d;
}

static void enumerate_all(void)
{
    for (size_t b = 0; b < sizeof backends / sizeof backends[0]; b++)
        if (backends[b]->version == LOOM__BACKEND_VERSION)
            backends[b]->enumerate(backends[b]);
        else
            loom__log(LOOM_LOG_WARN, "backend %s: interface version %d, expected %d: skipped",
                      backends[b]->name, backends[b]->version, LOOM__BACKEND_VERSION);
    /* stable sort by kind: accelerators, GPUs, CPUs, host */
    for (int i = 1; i < n_devices; i++) {
        loom__device d = devices[i];
        int j = i;
        while (j > 0 && devices[j - 1].kind > d.kind) {
            devices[j] = devices[j - 1];
            j--;
        }
        devices[j] = d;
    }
}

static void init(void)
{
    pthread_once(&once, enumerate_all);
}

int loom__device_count(void)
{
    init();
    return n_devices;
}

loom__device *loom__device_at(int i)
{
    init();
    return i >= 0 && i < n_devices ? &devices[i] : NULL;
}

loom__device *loom__device_find(const char *name)
{
    init();
    for (int i = 0; i < n_devices; i++)
        if (strcmp(devices[i].name, name) == 0)
            return &devices[i];
    return NULL;
}

loom__device *loom__device_ref(void)
{
    init();
    for (int i = 0; i < n_devices; i++)
        if (devices[i].backend == &loom__backend_ref)
            return &devices[i];
    return NULL; /* unreachable: ref always enumerates itself */
}

void loom__backend_absent(const loom__backend *be, const char *fmt, ...)
{
    va_list ap;
    for (size_t b = 0; b < sizeof backends / sizeof backends[0]; b++)
        if (backends[b] == be) {
            va_start(ap, fmt);
            vsnprintf(absent[b], sizeof absent[b], fmt, ap);
            va_end(ap);
            loom__log(LOOM_LOG_DEBUG, "%s: no device: %s", be->name, absent[b]);
        }
}

const char *loom__absent_note(const char *name)
{
    static __thread char note[300];
    init();
    for (size_t b = 0; b < sizeof backends / sizeof backends[0]; b++) {
        size_t bl = strlen(backends[b]->name);
        if (absent[b][0] && strncmp(name, backends[b]->name, bl) == 0 && (name[bl] == 0 || name[bl] == ':')) {
            snprintf(note, sizeof note, ": %s", absent[b]);
            return note;
        }
    }
    return "";
}

void loom__device_fail(loom__device *dev, const char *what)
{
    char prefix[64];
    /* what may already start with "device NAME: " */
    snprintf(prefix, sizeof prefix, "device %s: ", dev->name);
    if (strncmp(what, prefix, strlen(prefix)) == 0)
        what += strlen(prefix);
    pthread_mutex_lock(&health_lock);
    if (dev->healthy) {
        snprintf(dev->status, sizeof dev->status, "unhealthy: %s", what);
        __atomic_store_n(&dev->healthy, false, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&health_lock);
    loom__log(LOOM_LOG_WARN, "device %s failed: %s", dev->name, what);
}

const char *loom__dev_kind_name(loom__dev_kind kind)
{
    switch (kind) {
    case LOOM__DEV_ACCEL: return "accelerator";
    case LOOM__DEV_GPU: return "gpu";
    case LOOM__DEV_CPU: return "cpu";
    case LOOM__DEV_HOST: return "host";
    }
    return "?";
}

size_t loom_device_count(void)
{
    return (size_t)loom__device_count();
}

loom_status loom_device_get(size_t i, loom_device_info *out)
{
    loom__device *d = loom__device_at((int)i);
    if (!d || !out)
        return loom__err(LOOM_E_INVALID_ARG, "loom_device_get: index %zu out of range", i);
    out->name = d->name;
    out->backend = d->backend->name;
    out->kind = loom__dev_kind_name(d->kind);
    out->model = d->model;
    out->platform = d->platform;
    out->memory_bytes = d->memory_bytes;
    out->compute_units = d->compute_units;
    out->healthy = loom__device_healthy(d);
    out->status = d->status;
    return LOOM_OK;
}

bool loom__gemm_only_supports(loom__device *dev, const loom__graph *g, const loom__node *n,
                              const char **why)
{
    (void)dev, (void)g;
    if (n->op == LOOM__OP_LoomQGemm || n->op == LOOM__OP_LoomQConv)
        return true;
    *why = "it runs the int8 GEMM kernel only: the int8 Conv/Gemm/MatMul of a quantised model "
           "(loom quantize)";
    return false;
}

static loom_status device_gemm(void *ctx, const loom_gemm_i8_args *a)
{
    loom__device *dev = ctx;
    loom_status st = loom__gemm_i8_check(a);
    return st == LOOM_OK ? dev->backend->gemm_i8(dev, a) : st;
}

loom_status loom__gemm_only_run(loom__device *dev, void *state, const loom__node *n, const loom__arg *in,
                                const loom__arg *out)
{
    const loom_tensor *tin[8] = {NULL};
    (void)state;
    if ((n->op != LOOM__OP_LoomQGemm && n->op != LOOM__OP_LoomQConv) || n->n_inputs > 8)
        return loom__err(LOOM_E_INTERNAL, "device %s: asked to run node %s, which it does not support",
                         dev->name, n->name);
    for (int i = 0; i < n->n_inputs; i++)
        tin[i] = in[i].host;
    return loom__qlinear_run(n, tin, out[0].host, device_gemm, dev);
}

loom_status loom_gemm_i8(const char *device, const loom_gemm_i8_args *args)
{
    loom__device *dev = loom__device_find(device ? device : "ref");
    loom_status st;
    if (!dev)
        return loom__err(LOOM_E_DEVICE_UNAVAILABLE, "device \"%s\" is not available%s (see loom devices)",
                         device, loom__absent_note(device));
    if (!loom__device_healthy(dev))
        return loom__err(LOOM_E_DEVICE_UNAVAILABLE, "device %s is %s", dev->name, dev->status);
    if (!dev->backend->gemm_i8)
        return loom__err(LOOM_E_DEVICE_UNAVAILABLE, "device %s has no int8 GEMM", dev->name);
    /* the reference checks the arguments for every device */
    if ((st = loom__gemm_i8_check(args)) != LOOM_OK)
        return st;
    return dev->backend->gemm_i8(dev, args);
}
