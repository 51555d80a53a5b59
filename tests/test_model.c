/*
 * test_model.c - the analytic cycle model of the systolic array kernel
 * (loom_vsim_predict_cycles), without a simulator. test_vsim.c checks it
 * against the RTL on every shape it runs; here: its bounds, its response
 * to the memory model, and one pinned value measured on the RTL.
 */
#include <criterion/criterion.h>

#include "loom/loom.h"

static uint64_t predict(const loom_vsim_options *o, int64_t M, int64_t N, int64_t K, int act)
{
    uint64_t c = 0;
    loom_status st = loom_vsim_predict_cycles(o, M, N, K, act, &c);
    cr_assert_eq(st, LOOM_OK, "%s", loom_last_error());
    return c;
}

Test(model, empty_gemm_finishes_at_once)
{
    cr_assert_eq(predict(NULL, 0, 5, 5, LOOM_ACT_NONE), 1);
    cr_assert_eq(predict(NULL, 5, 0, 5, LOOM_ACT_NONE), 1);
}

/* `loom sim gemm -M 256 -N 256 -K 256` on the 16x16 RTL with the default
 * memory (64 B/cycle, 100 cycles) reported 65904 cycles. */
Test(model, pinned_to_the_rtl_256_cubed)
{
    loom_vsim_options o = {.rows = 16, .cols = 16, .read_bytes_per_cycle = 64, .read_latency = 100,
                           .write_bytes_per_cycle = 64, .write_latency = 100};
    cr_assert_eq(predict(&o, 256, 256, 256, LOOM_ACT_NONE), 65904);
}

Test(model, never_below_ideal_and_grows_with_k)
{
    static const int sizes[][2] = {{8, 8}, {16, 16}};
    for (int a = 0; a < 2; a++) {
        loom_vsim_options o = {.rows = sizes[a][0], .cols = sizes[a][1]};
        uint64_t prev = 0;
        for (int64_t K = 1; K <= 2048; K *= 2) {
            uint64_t c = predict(&o, 64, 48, K, LOOM_ACT_RELU);
            double ideal = 64.0 * 48.0 * (double)K / (o.rows * o.cols);
            cr_assert_geq((double)c, ideal, "K=%lld: %llu < ideal %.0f", (long long)K,
                          (unsigned long long)c, ideal);
            cr_assert_gt(c, prev, "K=%lld: %llu not above K/2's %llu", (long long)K,
                         (unsigned long long)c, (unsigned long long)prev);
            prev = c;
        }
    }
}

/* A slower or later memory never makes the kernel faster; a port that
 * cannot keep up bounds the time by bytes / rate. */
Test(model, memory_bound_follows_the_port)
{
    loom_vsim_options fast = {0}, slow = {.read_bytes_per_cycle = 4}, late = {.read_latency = 1000};
    uint64_t f = predict(&fast, 64, 64, 512, LOOM_ACT_NONE);
    uint64_t s = predict(&slow, 64, 64, 512, LOOM_ACT_NONE);
    uint64_t l = predict(&late, 64, 64, 512, LOOM_ACT_NONE);
    /* 16 tiles each read 16x512 of A and of Bt: 262144 bytes at 4 B/cycle */
    cr_assert_geq(s, 262144 / 4, "%llu", (unsigned long long)s);
    cr_assert_gt(s, f);
    cr_assert_geq(l, f + 900, "latency 1000: %llu vs %llu", (unsigned long long)l,
                  (unsigned long long)f);
    /* the LUT adds its 256 bytes up front */
    cr_assert_geq(predict(&fast, 64, 64, 512, LOOM_ACT_LUT), f);
}

Test(model, bad_arguments)
{
    uint64_t c;
    loom_vsim_options o = {.read_bytes_per_cycle = 1000};
    cr_assert_eq(loom_vsim_predict_cycles(&o, 4, 4, 4, 0, &c), LOOM_E_INVALID_ARG);
    cr_assert_eq(loom_vsim_predict_cycles(NULL, -1, 4, 4, 0, &c), LOOM_E_INVALID_ARG);
    cr_assert_eq(loom_vsim_predict_cycles(NULL, 4, 4, 4, 0, NULL), LOOM_E_INVALID_ARG);
    /* the kernel's limits, and work too large to walk beat by beat */
    cr_assert_eq(loom_vsim_predict_cycles(NULL, 4, 4, 65537, 0, &c), LOOM_E_INVALID_ARG);
    cr_assert_eq(loom_vsim_predict_cycles(NULL, (int64_t)1 << 40, 4, 4, 0, &c), LOOM_E_INVALID_ARG);
    cr_assert_eq(loom_vsim_predict_cycles(NULL, 1000000, 1000000, 65536, 0, &c), LOOM_E_LIMIT);
    cr_assert(strstr(loom_last_error(), "memory beats"), "%s", loom_last_error());
}
