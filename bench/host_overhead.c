/*
 * host_overhead.c - what the plan and executor add per inference on top of
 * the kernels themselves: the demo classifier (batch 1) run through
 * loom_session_run() on "ref", against the same four reference kernels
 * called back to back on the same tensors.
 *
 *   build/host_overhead [MODEL] [ROUNDS]
 *
 * Prints the median time per inference of both and the difference. Uses
 * loom's internal headers (a benchmark of the executor, not an API user).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/ref/ref.h"
#include "ir/model.h"
#include "passes/passes.h"

#ifndef LOOM_SOURCE_DIR
#define LOOM_SOURCE_DIR "."
#endif

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return v[n / 2];
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : LOOM_SOURCE_DIR "/examples/classifier/classifier.onnx";
    int rounds = argc > 2 ? atoi(argv[2]) : 200000;
    loom_model *m;
    loom_session *s;
    loom__graph *g;
    loom_tensor **vals;
    double *ts = malloc((size_t)rounds * sizeof *ts), *tk = malloc((size_t)rounds * sizeof *tk);
    const loom_session_options so = {.devices = "ref"};

    if (!ts || !tk || rounds < 1 || loom_model_load(path, NULL, &m) != LOOM_OK ||
        loom_session_create(m, &so, &s) != LOOM_OK) {
        fprintf(stderr, "host_overhead: %s\n", loom_last_error());
        return 1;
    }
    /* the bare kernels: the same graph after the same passes, every value
     * a tensor, each live node's reference kernel called directly */
    if (loom__graph_clone(m->graph, &g) != LOOM_OK || loom__passes_run(g, &so) != LOOM_OK) {
        fprintf(stderr, "host_overhead: %s\n", loom_last_error());
        return 1;
    }
    vals = calloc((size_t)g->n_values, sizeof *vals);
    for (int v = 0; v < g->n_values; v++) {
        loom__value *val = &g->values[v];
        if (val->constant)
            vals[v] = val->constant;
        else if (val->rank >= 0 && val->dtype != LOOM_DTYPE_INVALID)
            loom_tensor_create(val->dtype, val->rank, val->dims, &vals[v]);
    }
    for (int r = 0; r < rounds; r++) {
        double t0 = loom__now_us();
        loom_session_run(s);
        ts[r] = loom__now_us() - t0;
        t0 = loom__now_us();
        for (int i = 0; i < g->n_nodes; i++) {
            const loom__node *n = &g->nodes[i];
            const loom_tensor *in[8] = {NULL};
            loom_tensor *out[4] = {NULL};
            if (n->dead)
                continue;
            for (int k = 0; k < n->n_inputs && k < 8; k++)
                in[k] = n->inputs[k] >= 0 ? vals[n->inputs[k]] : NULL;
            for (int k = 0; k < n->n_outputs && k < 4; k++)
                out[k] = n->outputs[k] >= 0 ? vals[n->outputs[k]] : NULL;
            loom__ref_kernel(n->op)(n, in, out);
        }
        tk[r] = loom__now_us() - t0;
    }
    {
        double ms = median(ts, rounds), mk = median(tk, rounds);
        printf("%s, batch 1, %d rounds: session %.3f us, bare kernels %.3f us, executor adds %.3f us "
               "per inference\n",
               path, rounds, ms, mk, ms - mk);
    }
    return 0;
}
