/*
 * backend.h - the backend interface and the device registry.
 *
 * A backend (ref, opencl, later xrt and vsim) is one `static const
 * loom__backend` table of function pointers; hooks marked (optional) may
 * be NULL and the generic layer supplies the fallback. Backends never call
 * each other. A backend contributes zero or more devices, found at run
 * time; the registry lists every device in the automatic fallback order
 * (accelerators first, the host reference last), and remembers which ones
 * have failed (unhealthy) for the rest of the process.
 *
 * Data movement: every value of a plan has a host tensor. A device with
 * buffer hooks also gets a device buffer for each value it touches; the
 * plan inserts uploads/downloads where a value crosses devices. A device
 * without buffer hooks (the host reference) works on the host tensors.
 */
#ifndef LOOM_BACKEND_H
#define LOOM_BACKEND_H

#include "cost/cost.h"
#include "ir/ir.h"

#define LOOM__BACKEND_VERSION 1
#define LOOM__MAX_DEVICES 32

typedef enum {
    LOOM__DEV_ACCEL, /* FPGA cards, OpenCL accelerators */
    LOOM__DEV_GPU,
    LOOM__DEV_CPU,   /* a CPU behind a runtime (PoCL) */
    LOOM__DEV_HOST   /* the reference C code in this process */
} loom__dev_kind;

struct loom__backend;

typedef struct loom__device {
    const struct loom__backend *backend;
    char name[32];         /* "ref", "opencl:0", ... unique, stable within a process */
    loom__dev_kind kind;
    char model[128];       /* what the hardware calls itself */
    char platform[128];    /* runtime/platform name */
    uint64_t memory_bytes; /* global memory, 0 if unknown */
    int compute_units;
    loom__dev_caps caps;   /* host memory or not, rates (cost/cost.h) */
    bool healthy;          /* read with loom__device_healthy() */
    bool explicit_only;    /* never in "auto": chosen by name only (vsim) */
    char status[256];      /* "ok", or what failed (written once, when it fails) */
    void *priv;            /* the backend's own state */
} loom__device;

/* One argument of a kernel run: the host tensor (dtype, shape; its data is
 * current on host devices) and the device buffer (NULL on host devices). */
typedef struct {
    loom_tensor *host;
    void *buf;
} loom__arg;

typedef struct loom__backend {
    const char *name;
    int version; /* LOOM__BACKEND_VERSION */
    /* Find this backend's devices and add them with loom__device_new().
     * "No platform" is not an error: add nothing and log why. */
    void (*enumerate)(const struct loom__backend *be);
    /* (optional) release dev->priv at exit */
    void (*device_free)(loom__device *dev);
    /* Can dev run node n (op, dtypes, shapes, attributes)? When not, *why
     * gets a short static reason ("op Erf not implemented"). */
    bool (*supports)(loom__device *dev, const loom__graph *g, const loom__node *n,
                     const char **why);
    /* (optional) modelled time of node n on dev, microseconds; the
     * generic estimate (loom__work_cost_us at dev->caps.rates) when NULL */
    double (*cost_us)(loom__device *dev, const loom__graph *g, const loom__node *n);
    /* (optional, all four or none) device buffers */
    loom_status (*buffer_alloc)(loom__device *dev, size_t nbytes, void **buf);
    void (*buffer_free)(loom__device *dev, void *buf);
    loom_status (*upload)(loom__device *dev, void *buf, const void *src, size_t nbytes);
    loom_status (*download)(loom__device *dev, void *buf, void *dst, size_t nbytes);
    /* (optional) whether node n's kernels read input i from the device
     * (false: prepare() takes what it needs from the host tensor, e.g. a
     * weight it transposes, so the plan never uploads it); all when NULL */
    bool (*reads_input)(loom__device *dev, const loom__graph *g, const loom__node *n, int i);
    /* (optional) per-node preparation at plan time: compile kernels,
     * derive constant operands (transposed weights, ...), bind the
     * buffers (they stay fixed for the plan's life); *state goes to run()
     * and release(). Constant inputs are already on the device. */
    loom_status (*prepare)(loom__device *dev, const loom__graph *g, const loom__node *n,
                           const loom__arg *in, const loom__arg *out, void **state);
    /* Run node n. May queue work; finish() waits for it. */
    loom_status (*run)(loom__device *dev, void *state, const loom__node *n, const loom__arg *in,
                       const loom__arg *out);
    /* (optional) free what prepare() made */
    void (*release)(loom__device *dev, void *state);
    /* (optional) wait for queued work; report a failure of any of it */
    loom_status (*finish)(loom__device *dev);
    /* (optional) the int8 GEMM of the kernel ABI on host operands
     * (arguments already validated) */
    loom_status (*gemm_i8)(loom__device *dev, const loom_gemm_i8_args *args);
    /* (optional, cycle-accurate devices) kernel cycles this thread's runs
     * on dev took since the last call, and the analytic model's prediction
     * for the same work; both reset to 0 */
    void (*take_cycles)(loom__device *dev, uint64_t *cycles, uint64_t *predicted);
} loom__backend;

/* ---- registry ---- */

/* Every device, enumerated once per process, in fallback order. */
int loom__device_count(void);
loom__device *loom__device_at(int i);
loom__device *loom__device_find(const char *name);
/* The host reference device (always present). */
loom__device *loom__device_ref(void);
/* For backends' enumerate(): a zeroed, registered device, or NULL when the
 * table is full. */
loom__device *loom__device_new(const loom__backend *be, loom__dev_kind kind);
/* Health, safe to read while another thread marks the device failed. */
static inline bool loom__device_healthy(const loom__device *dev)
{
    return __atomic_load_n(&dev->healthy, __ATOMIC_ACQUIRE);
}
/* For backends' enumerate(): why this backend has no devices here (kept
 * for error messages naming the backend; logged at debug level). */
void loom__backend_absent(const loom__backend *be, const char *fmt, ...) LOOM__PRINTF(2, 3);
/* " (why)" for a device or backend name whose backend found nothing, or
 * "" (for appending to "not available" messages). */
const char *loom__absent_note(const char *device_name);
/* Mark dev failed for the rest of the process and log a warning. */
void loom__device_fail(loom__device *dev, const char *what);
const char *loom__dev_kind_name(loom__dev_kind kind);

/* supports/run for devices that run only the kernel ABI's int8 GEMM
 * (vsim, xrt): every graph node is refused, with the reason. */
bool loom__gemm_only_supports(loom__device *dev, const loom__graph *g, const loom__node *n,
                              const char **why);
loom_status loom__gemm_only_run(loom__device *dev, void *state, const loom__node *n, const loom__arg *in,
                                const loom__arg *out);

/* Argument checks of the int8 GEMM (every device uses the reference's). */
loom_status loom__gemm_i8_check(const loom_gemm_i8_args *args);

/* The backends (each backends/<name>/ defines one). */
extern const loom__backend loom__backend_ref;
#ifdef LOOM_WITH_OPENCL
extern const loom__backend loom__backend_opencl;
#endif
#ifdef LOOM_WITH_VERILATOR
extern const loom__backend loom__backend_vsim;
#endif
#ifdef LOOM_WITH_XRT
extern const loom__backend loom__backend_xrt;
#endif

#endif /* LOOM_BACKEND_H */
