/*
 * test_cost.c - the cost model (cost/cost.c) and its calibration
 * (exec/calibrate.c), white box: on synthetic graphs and devices made
 * here, the partitioner's choices follow the devices' rates; int8 nodes
 * cost their GEMMs; a host-memory device pays no copies; and the measured
 * rates are cached, reused, and measured again when the cache is bad.
 * Nothing here is timed: the calibration's numbers are only checked to be
 * rates (finite, positive), its cache for being what the next process reads.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/backend.h"
#include "cli-harness.h"
#include "cost/cost.h"
#include "exec/calibrate.h"
#include "partition/partition.h"
#include "tmpdir.h"

/* ---- synthetic graphs ---- */

static int value(loom__graph *g, const char *name, loom_dtype dt, int64_t rows, int64_t cols)
{
    int v = loom__graph_add_value(g, name);
    cr_assert_geq(v, 0);
    g->values[v].dtype = dt;
    g->values[v].rank = 2;
    g->values[v].dims[0] = rows;
    g->values[v].dims[1] = cols;
    return v;
}

static void node(loom__graph *g, loom__op op, int a, int b, int y)
{
    loom__node *n = loom__graph_add_node(g, b >= 0 ? 2 : 1, 1);
    cr_assert_not_null(n);
    n->op = op;
    n->name = strdup(loom__op_name(op));
    n->op_type = strdup(loom__op_name(op));
    n->inputs[0] = a;
    if (b >= 0)
        n->inputs[1] = b;
    n->outputs[0] = y;
    g->values[y].producer = g->n_nodes - 1;
}

/* x [S, S] -> MatMul(W) -> Relu -> Add(x) -> y: three nodes, shapes set
 * (the partitioner and the costs need no more). */
static loom__graph *chain(int64_t S)
{
    loom__graph *g = loom__graph_new("<test>");
    int x, w, m, r, y;
    cr_assert_not_null(g);
    g->inputs = calloc(1, sizeof(int));
    g->outputs = calloc(1, sizeof(int));
    x = value(g, "x", LOOM_F32, S, S);
    g->values[x].is_input = true;
    g->inputs[g->n_inputs++] = x;
    w = value(g, "w", LOOM_F32, S, S);
    {
        loom_tensor *t;
        cr_assert_eq(loom_tensor_create(LOOM_F32, 2, (int64_t[]){S, S}, &t), LOOM_OK);
        loom__value_set_constant(&g->values[w], t);
    }
    m = value(g, "m", LOOM_F32, S, S);
    r = value(g, "r", LOOM_F32, S, S);
    y = value(g, "y", LOOM_F32, S, S);
    node(g, LOOM__OP_MatMul, x, w, m);
    node(g, LOOM__OP_Relu, m, -1, r);
    node(g, LOOM__OP_Add, r, x, y);
    g->outputs[g->n_outputs++] = y;
    return g;
}

/* A device of the reference backend (it supports every node and has no
 * cost hook: the generic estimate) with the given rates, not registered. */
static loom__device fake(const char *name, loom__dev_kind kind, loom__rates r, bool host_memory)
{
    loom__device d = {.backend = &loom__backend_ref, .kind = kind, .healthy = true};
    snprintf(d.name, sizeof d.name, "%s", name);
    d.caps.rates = r;
    d.caps.host_memory = host_memory;
    d.caps.source = LOOM__RATES_MEASURED;
    return d;
}

static const loom__rates fast = {.gflops = 100, .gops_i8 = 400, .mem_gbps = 50, .launch_us = 5,
                                 .xfer_gbps = 10, .xfer_us = 20};
static const loom__rates slow = {.gflops = 0.1, .gops_i8 = 0.1, .mem_gbps = 0.5, .launch_us = 500,
                                 .xfer_gbps = 10, .xfer_us = 20};
static const loom__rates host = {.gflops = 2, .gops_i8 = 2, .mem_gbps = 5, .launch_us = 0.1};

/* Place g automatically over devs (priority order); the devices each
 * live node went to, as a string "A,A,B". */
static void place(loom__graph *g, loom__device *const *devs, int n, char *out, size_t size)
{
    loom__partition_opts o = {.n_devs = n, .auto_mode = true};
    memcpy(o.devs, devs, (size_t)n * sizeof devs[0]);
    cr_assert_eq(loom__partition(g, &o), LOOM_OK, "%s", loom_last_error());
    out[0] = '\0';
    for (int i = 0; i < g->n_nodes; i++)
        snprintf(out + strlen(out), size - strlen(out), "%s%s", i ? "," : "", g->nodes[i].device->name);
}

Test(cost, placement_follows_the_rates)
{
    loom__graph *g = chain(256);
    loom__device a = fake("a", LOOM__DEV_CPU, fast, true), h = fake("h", LOOM__DEV_HOST, host, true);
    loom__device *devs[] = {&a, &h};
    char where[128];
    place(g, devs, 2, where, sizeof where);
    cr_expect_str_eq(where, "a,a,a", "a fast device keeps the work: %s", where);
    /* the same device, measured slow: every node is cheaper on the host */
    a.caps.rates = slow;
    place(g, devs, 2, where, sizeof where);
    cr_expect_str_eq(where, "h,h,h", "a slow device loses it: %s", where);
    cr_expect(strstr(g->nodes[0].why, "moved off a") != NULL, "why: %s", g->nodes[0].why);
    /* the node costs themselves follow the rates */
    cr_expect_gt(loom__node_cost_us(&a, g, &g->nodes[0]), loom__node_cost_us(&h, g, &g->nodes[0]));
    a.caps.rates = fast;
    cr_expect_lt(loom__node_cost_us(&a, g, &g->nodes[0]), loom__node_cost_us(&h, g, &g->nodes[0]) / 10);
    loom__graph_free(g);
}

Test(cost, generic_estimate_is_launch_plus_work_at_the_rates)
{
    loom__graph *g = chain(64);
    loom__device a = fake("a", LOOM__DEV_CPU, fast, true);
    double flops = 2.0 * 64 * 64 * 64, bytes = 3.0 * 64 * 64 * 4;
    cr_expect_float_eq(loom__node_flops(g, &g->nodes[0]), flops, 1e-9);
    cr_expect_float_eq(loom__node_bytes(g, &g->nodes[0]), bytes, 1e-9);
    cr_expect_float_eq(loom__node_cost_us(&a, g, &g->nodes[0]),
                       fast.launch_us + flops / fast.gflops / 1e3 + bytes / fast.mem_gbps / 1e3, 1e-9);
    /* Relu: no GEMM work, bytes only */
    cr_expect_float_eq(loom__node_flops(g, &g->nodes[1]), 0, 1e-12);
    cr_expect_float_eq(loom__node_cost_us(&a, g, &g->nodes[1]),
                       fast.launch_us + 2.0 * 64 * 64 * 4 / fast.mem_gbps / 1e3, 1e-9);
    loom__graph_free(g);
}

Test(cost, int8_nodes_cost_their_gemms)
{
    loom__graph *g = loom__graph_new("<test>");
    loom__device a = fake("a", LOOM__DEV_ACCEL, fast, true);
    loom__work w;
    int x = value(g, "x", LOOM_I8, 49, 576), wt = value(g, "w", LOOM_I8, 576, 64), y = value(g, "y", LOOM_I8, 49, 64);
    int b = value(g, "b", LOOM_I32, 1, 64), m = value(g, "m", LOOM_I32, 1, 64), s = value(g, "s", LOOM_I32, 1, 64);
    loom__node *n = loom__graph_add_node(g, 5, 1);
    int64_t M, N, K, count;
    n->op = LOOM__OP_LoomQGemm;
    n->inputs[0] = x, n->inputs[1] = wt, n->inputs[2] = b, n->inputs[3] = m, n->inputs[4] = s;
    n->outputs[0] = y;
    cr_assert(loom__node_gemm_i8(g, n, &M, &N, &K, &count));
    cr_expect(M == 49 && N == 64 && K == 576 && count == 1, "%lld x %lld x %lld, %lld", (long long)M,
              (long long)N, (long long)K, (long long)count);
    loom__node_work(g, n, &w);
    cr_expect_float_eq(w.ops_i8, 2.0 * 49 * 64 * 576, 1e-9);
    cr_expect_float_eq(w.flops, 0, 1e-12, "int8 work is not fp32 work");
    /* non-zero, and at the int8 rate: above the launch by the GEMM's time */
    cr_expect_gt(loom__node_cost_us(&a, g, n), fast.launch_us + w.ops_i8 / fast.gops_i8 / 1e3 * 0.999);
    a.caps.rates.gops_i8 = fast.gops_i8 / 100;
    cr_expect_gt(loom__node_cost_us(&a, g, n), fast.launch_us + w.ops_i8 / (fast.gops_i8 / 100) / 1e3 * 0.999);
    loom__graph_free(g);
}

Test(cost, host_memory_devices_pay_no_copies)
{
    loom__graph *g = chain(512);
    /* compute a little faster than the host's; copies at 0.01 GB/s */
    loom__rates r = {.gflops = 3, .gops_i8 = 3, .mem_gbps = 6, .launch_us = 0.1, .xfer_gbps = 0.01, .xfer_us = 100};
    loom__device a = fake("a", LOOM__DEV_GPU, r, true), h = fake("h", LOOM__DEV_HOST, host, true);
    loom__device *devs[] = {&a, &h};
    char where[128];
    cr_expect_float_eq(loom__copy_cost_us(&a, 3, 1 << 20), 0, 1e-12);
    cr_expect_float_eq(loom__copy_cost_us(&h, 3, 1 << 20), 0, 1e-12);
    place(g, devs, 2, where, sizeof where);
    cr_expect_str_eq(where, "a,a,a", "on host memory the copies are free: %s", where);
    /* the same device with its own memory: 1 MiB in and 1 MiB out at 0.01
     * GB/s cost more than it saves */
    a.caps.host_memory = false;
    cr_expect_float_eq(loom__copy_cost_us(&a, 3, 1 << 20), 300 + (double)(1 << 20) / 0.01 / 1e3, 1e-6);
    place(g, devs, 2, where, sizeof where);
    cr_expect_str_eq(where, "h,h,h", "with copies it stays on the host: %s", where);
    loom__graph_free(g);
}

/* ---- calibration ---- */

Test(cost, calibration_measures_the_reference_and_caches_it)
{
    loom__device *ref = loom__device_ref();
    char env[1100], list[512];
    const char *dir = tb_tmpdir("cost");
    loom__rates modelled = ref->caps.rates;
    snprintf(env, sizeof env, "%s/cache", dir);
    setenv("LOOM_CACHE_DIR", env, 1);
    cr_assert_eq(ref->caps.source, LOOM__RATES_MODELLED);
    /* LOOM_CALIBRATE=0: an automatic placement keeps the modelled rates */
    setenv("LOOM_CALIBRATE", "0", 1);
    loom__calibrate_list(&ref, 1, true);
    cr_expect_eq(ref->caps.source, LOOM__RATES_MODELLED);
    cr_expect_float_eq(ref->caps.rates.gflops, modelled.gflops, 1e-12);
    unsetenv("LOOM_CALIBRATE");
    /* a placement the user named reads cached rates only: none yet */
    loom__calibrate_list(&ref, 1, false);
    cr_expect_eq(ref->caps.source, LOOM__RATES_MODELLED, "measured for a named placement");
    loom__calibrate_list(&ref, 1, true);
    cr_assert_eq(ref->caps.source, LOOM__RATES_MEASURED, "%s", loom_last_error());
    cr_expect(isfinite(ref->caps.rates.gflops) && ref->caps.rates.gflops > 0);
    cr_expect(isfinite(ref->caps.rates.gops_i8) && ref->caps.rates.gops_i8 > 0);
    cr_expect(isfinite(ref->caps.rates.mem_gbps) && ref->caps.rates.mem_gbps > 0);
    cr_expect(ref->caps.rates.launch_us > 0 && ref->caps.rates.launch_us < 1e5);
    cr_expect(ref->caps.rates.gflops != modelled.gflops || ref->caps.rates.mem_gbps != modelled.mem_gbps,
              "the rates were measured, not kept");
    tb_list_dir(env, list, sizeof list);
    cr_expect(strncmp(list, "rates-", 6) == 0 && strstr(list, ".json"), "cache folder: %s", list);
    tb_tmpdir_remove();
}

/* Through the CLI, one process per step: the second process reads what
 * the first measured (a rate planted in the file shows); a file that is
 * not a rates file is measured again and replaced; LOOM_CALIBRATE=0 keeps
 * the modelled rates. */
Test(cost, cached_rates_are_read_and_bad_ones_replaced)
{
    const char *dir = tb_tmpdir("cost-cli");
    char env[1100], list[512], path[1400], *text, *p;
    const char *ref_rates;
    FILE *f;
    snprintf(env, sizeof env, "LOOM_CACHE_DIR=%s/cache", dir);
    RUN_ENV(ENV(env), "devices", "--rates", "--json");
    expect_code(0);
    tb_list_dir(tb_tpath("cache"), list, sizeof list);
    /* the ref device's rates file (an OpenCL device has its own) */
    text = NULL;
    for (char *tok = strtok(list, "|"); tok && !text; tok = strtok(NULL, "|")) {
        snprintf(path, sizeof path, "%s/cache/%s", dir, tok);
        if (strncmp(tok, "rates-", 6) != 0)
            continue;
        text = slurp(path);
        if (!strstr(text, "\"device\": \"ref\""))
            free(text), text = NULL;
    }
    cr_assert_not_null(text, "no rates file for ref in %s", list);
    /* plant a rate: the next process reports it, measured */
    p = strstr(text, "\"gflops\": ");
    cr_assert_not_null(p);
    {
        char *end = strchr(p, ',');
        size_t head = (size_t)(p - text) + strlen("\"gflops\": ");
        f = fopen(path, "w");
        cr_assert_not_null(f);
        fprintf(f, "%.*s1234.5%s", (int)head, text, end);
        fclose(f);
    }
    RUN_ENV(ENV(env), "devices", "--rates", "--json");
    expect_code(0);
    ref_rates = NULL;
    for (int i = 0; j_at(j_doc(res.out), i); i++) {
        const char *d = j_at(j_doc(res.out), i);
        if (!strcmp(j_compact(j_get(d, "name")), "\"ref\""))
            ref_rates = j_get(d, "rates");
    }
    cr_assert_not_null(ref_rates);
    cr_expect_float_eq(j_num(j_get(ref_rates, "gflops")), 1234.5, 1e-9);
    cr_expect_str_eq(j_compact(j_get(ref_rates, "source")), "\"measured\"");
    /* a broken file: measured again, and the file replaced by a whole one */
    write_bytes(path, "{\"key\": 3", 9);
    RUN_ENV(ENV(env), "devices", "--rates", "--json");
    expect_code(0);
    free(text);
    text = slurp(path);
    cr_expect(strstr(text, "\"key\": \"loom-rates") && !strstr(text, "1234.5"), "%s", text);
    free(text);
    tb_tmpdir_remove();
}
