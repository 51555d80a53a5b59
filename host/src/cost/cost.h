/*
 * cost.h - the cost model, in one place: the work a node does (counted
 * from its shapes: fp32 and int8 multiply-adds, bytes moved, elements),
 * each device's capabilities and rates, and what the partitioner asks of
 * them (a node's time on a device, a copy's time).
 *
 * Rates start as modelled values that each backend sets when it finds a
 * device (from its type, clock and compute units) and are replaced by
 * measured ones (exec/calibrate.c: a short micro-benchmark per device,
 * cached beside the OpenCL program cache) before a session places nodes
 * automatically. A backend whose kernels do not follow the generic
 * estimate (launches per node, padded tiles) gives a cost hook that uses
 * the same rates and the same work counts (opencl/cl-ops.c).
 */
#ifndef LOOM_COST_H
#define LOOM_COST_H

#include "ir/ir.h"

struct loom__device;

/* What a device does per second, and its fixed costs. */
typedef struct {
    double gflops;    /* fp32 GEMM-like work, GFLOP/s (2 flops a multiply-add) */
    double gops_i8;   /* int8 GEMM work, GOP/s (2 ops a multiply-add) */
    double mem_gbps;  /* memory-bound work (element-wise, copies inside the device), GB/s */
    double launch_us; /* fixed cost of one kernel launch */
    double xfer_gbps; /* copies between the host and the device, GB/s */
    double xfer_us;   /* fixed cost of one such copy */
} loom__rates;

typedef enum {
    LOOM__RATES_MODELLED, /* the backend's estimate from the device's type and size */
    LOOM__RATES_MEASURED  /* calibrated on this machine (exec/calibrate.c) */
} loom__rates_source;

/* The capabilities block every device carries (backend.h). */
typedef struct {
    /* its buffers are host memory (a CPU behind PoCL, an integrated GPU):
     * values cross between it and the host without a transfer, so the
     * partitioner charges it no copies */
    bool host_memory;
    loom__rates rates;
    loom__rates_source source;
    /* what a measurement stays valid for besides the device's name, model
     * and platform: a driver version, a thread count (the cache key) */
    char fingerprint[160];
} loom__dev_caps;

/* The work of one node, from its shapes. */
typedef struct {
    double flops;    /* fp32 Gemm, MatMul, Conv: 2 per multiply-add */
    double ops_i8;   /* loom's int8 GEMM nodes (LoomQGemm, LoomQConv): 2 per multiply-add */
    double gemms;    /* int8 nodes: kernel-ABI GEMMs they run (one launch each) */
    double bytes;    /* every input read and output written, once */
    double elements; /* output elements (one operation each for the other ops) */
} loom__work;

void loom__node_work(const loom__graph *g, const loom__node *n, loom__work *w);
/* fp32 GEMM-like flops alone (0 for other nodes, int8 ones included). */
double loom__node_flops(const loom__graph *g, const loom__node *n);
double loom__node_bytes(const loom__graph *g, const loom__node *n);

/* The int8 GEMMs an int8 node runs in the kernel ABI's terms (a LoomQConv
 * one per image and group, from its im2col); false for other nodes or
 * while a dim is unknown. */
bool loom__node_gemm_i8(const loom__graph *g, const loom__node *n, int64_t *M, int64_t *N, int64_t *K,
                        int64_t *count);

/* Modelled time of node n on dev, microseconds: the backend's cost hook,
 * else the generic estimate below. */
double loom__node_cost_us(const struct loom__device *dev, const loom__graph *g, const loom__node *n);
/* launches x launch_us + flops / gflops + int8 ops / gops_i8 + bytes /
 * mem_gbps (a node is one launch, an int8 node one per GEMM). */
double loom__work_cost_us(const loom__rates *r, const loom__work *w, double launches);
/* Modelled time of copies values of nbytes in all between dev and the
 * host: nothing for the host itself and for host-memory devices. */
double loom__copy_cost_us(const struct loom__device *dev, uint64_t copies, uint64_t nbytes);

/* "measured" or "modelled" */
const char *loom__rates_source_name(loom__rates_source s);

#endif /* LOOM_COST_H */
