/* ref-backend.c - the reference kernels as a backend: one host device,
 * "ref", that runs every op on host tensors. Always last in the fallback
 * order, so every node has a home. */
#include <stdio.h>

#include "backends/backend.h"
#include "backends/ref/ref.h"

static void ref_enumerate(const loom__backend *be)
{
    loom__device *d = loom__device_new(be, LOOM__DEV_HOST);
    if (!d)
        return;
    snprintf(d->name, sizeof d->name, "ref");
    snprintf(d->model, sizeof d->model, "reference C kernels (host CPU)");
    snprintf(d->platform, sizeof d->platform, "loom %s", loom_version());
    /* plain loops with double accumulation: measured here (lenet, the
     * transformer fixtures) at about 2 GFLOP/s and 4 GB/s */
    d->caps.rates = (loom__rates){.gflops = 2.0, .gops_i8 = 2.0, .mem_gbps = 4.0, .launch_us = 0.05};
    d->caps.host_memory = true;
}

static bool ref_supports(loom__device *dev, const loom__graph *g, const loom__node *n,
                         const char **why)
{
    (void)dev;
    (void)g;
    if (!loom__ref_kernel(n->op)) {
        *why = "op is always folded to a constant";
        return false;
    }
    return true;
}

static loom_status ref_run(loom__device *dev, void *state, const loom__node *n,
                           const loom__arg *in, const loom__arg *out)
{
    const loom_tensor *tin[n->n_inputs > 0 ? n->n_inputs : 1];
    loom_tensor *tout[n->n_outputs > 0 ? n->n_outputs : 1];
    (void)dev;
    (void)state;
    for (int i = 0; i < n->n_inputs; i++)
        tin[i] = in[i].host;
    for (int i = 0; i < n->n_outputs; i++)
        tout[i] = out[i].host;
    return loom__ref_kernel(n->op)(n, tin, tout);
}

static loom_status ref_gemm_i8(loom__device *dev, const loom_gemm_i8_args *args)
{
    (void)dev;
    return loom_gemm_i8_ref(args);
}

const loom__backend loom__backend_ref = {
    .name = "ref",
    .version = LOOM__BACKEND_VERSION,
    .enumerate = ref_enumerate,
    .supports = ref_supports,
    .run = ref_run,
    .gemm_i8 = ref_gemm_i8,
};
