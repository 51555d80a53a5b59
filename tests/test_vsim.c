/*
 * test_vsim.c - the vsim device (rtl/ Verilated, sim/ harness, the kernel
 * control layer) against the reference int8 GEMM, bit for bit, and the
 * analytic cycle model against the RTL's CYCLES register. Label `sim`.
 *
 * Shapes: fixed seeds; M, N or K of 1, sizes that are not multiples of
 * the array, K much larger than the scratchpad's K tile (256: several
 * chunks per tile), K = 0, every activation, row strides wider than the
 * rows, a missing bias; on an 8x8 and a 16x16 array.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loom/loom.h"
#include "tmpdir.h"

static uint64_t rng_state;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

/* One GEMM's operands, with row strides pad bytes wider than the rows and
 * guard bytes around C. */
typedef struct {
    loom_gemm_i8_args a;
    int8_t *A, *B, *C, *R, lut[256];
    int32_t *bias, *mult, *shift;
    size_t c_bytes;
} gemm_case;

#define GUARD 64
#define GUARD_BYTE 0x5a

static void case_make(gemm_case *g, int64_t M, int64_t N, int64_t K, int act, int pad, bool bias,
                      uint64_t seed)
{
    int64_t lda = K + pad, ldb = N + pad, ldc = N + pad;
    double sd = 5461.0 * sqrt((double)(K ? K : 1));
    memset(g, 0, sizeof *g);
    rng_state = seed * 0x9e3779b97f4a7c15ULL + 12345;
    g->A = malloc((size_t)(M * lda) + 1);
    g->B = malloc((size_t)(K * ldb) + 1);
    g->c_bytes = (size_t)(M * ldc);
    g->C = malloc(g->c_bytes + 2 * GUARD);
    g->R = malloc(g->c_bytes + 1);
    g->bias = malloc((size_t)N * 4 + 4);
    g->mult = malloc((size_t)N * 4 + 4);
    g->shift = malloc((size_t)N * 4 + 4);
    cr_assert(g->A && g->B && g->C && g->R && g->bias && g->mult && g->shift);
    for (int64_t i = 0; i < M * lda; i++)
        g->A[i] = (int8_t)rnd();
    for (int64_t i = 0; i < K * ldb; i++)
        g->B[i] = (int8_t)rnd();
    for (int64_t n = 0; n < N; n++) {
        double scale = 40.0 / sd * (0.75 + 0.5 * (rnd() % 1000) / 1000.0);
        cr_assert_eq(loom_requant_from_scale(scale, &g->mult[n], &g->shift[n]), LOOM_OK);
        g->bias[n] = (int32_t)(((int)(rnd() % 2001) - 1000) / 1000.0 * sd);
    }
    for (int i = 0; i < 256; i++)
        g->lut[i] = (int8_t)rnd();
    memset(g->C, GUARD_BYTE, g->c_bytes + 2 * GUARD);
    memset(g->R, GUARD_BYTE, g->c_bytes);
    g->a = (loom_gemm_i8_args){.M = M, .N = N, .K = K, .A = g->A, .lda = lda, .B = g->B, .ldb = ldb,
                               .bias = bias ? g->bias : NULL, .mult = g->mult, .shift = g->shift,
                               .C = g->R, .ldc = ldc, .act = act, .lut = g->lut};
    cr_assert_eq(loom_gemm_i8_ref(&g->a), LOOM_OK, "ref: %s", loom_last_error());
    g->a.C = g->C + GUARD;
}

static void case_free(gemm_case *g)
{
    free(g->A), free(g->B), free(g->C), free(g->R);
    free(g->bias), free(g->mult), free(g->shift);
}

/* C (gaps between rows included) equals ref's, and the guards are intact. */
static void expect_same(const gemm_case *g, const char *what)
{
    for (int i = 0; i < GUARD; i++) {
        cr_assert_eq((uint8_t)g->C[i], GUARD_BYTE, "%s: wrote before C (byte %d)", what, i - GUARD);
        cr_assert_eq((uint8_t)g->C[GUARD + g->c_bytes + (size_t)i], GUARD_BYTE,
                     "%s: wrote past C (byte %d)", what, i);
    }
    for (int64_t m = 0; m < g->a.M; m++)
        for (int64_t n = 0; n < g->a.ldc; n++) {
            int8_t got = g->C[GUARD + m * g->a.ldc + n], want = g->R[m * g->a.ldc + n];
            cr_assert_eq(got, want, "%s: C[%lld][%lld] = %d, ref %d%s", what, (long long)m,
                         (long long)n, got, want, n >= g->a.N ? " (a gap between rows)" : "");
        }
}

static void run_shapes(int rows, int cols, uint64_t seed0)
{
    /* {M, N, K, act, pad, bias} */
    static const int shapes[][6] = {
        {1, 1, 1, 0, 0, 1},      {1, 1, 1, 2, 3, 0},     {1, 37, 5, 1, 0, 1},    {37, 1, 5, 2, 0, 1},
        {5, 5, 1, 0, 1, 1},      {16, 16, 16, 1, 0, 1},  {8, 8, 8, 2, 0, 1},     {9, 9, 9, 0, 0, 0},
        {17, 15, 33, 1, 5, 1},   {3, 50, 70, 2, 0, 1},   {50, 3, 70, 0, 2, 1},   {24, 40, 7, 1, 0, 1},
        {7, 7, 600, 0, 0, 1},    {2, 20, 1000, 1, 0, 1}, {20, 2, 1000, 2, 1, 1}, {10, 11, 257, 0, 0, 1},
        {16, 16, 256, 1, 0, 1},  {16, 16, 512, 2, 0, 0}, {33, 17, 0, 1, 0, 1},   {4, 4, 0, 2, 0, 1},
        {1, 64, 64, 0, 0, 1},    {64, 1, 64, 1, 0, 1},   {31, 33, 31, 2, 7, 1},  {40, 40, 40, 0, 0, 1},
        {12, 20, 100, 1, 0, 0},  {100, 12, 30, 2, 0, 1}, {6, 6, 1500, 0, 0, 1},  {2, 2, 2, 1, 0, 1},
        {15, 17, 255, 2, 0, 1},  {18, 14, 129, 0, 4, 1}, {48, 16, 16, 1, 0, 1},  {16, 48, 16, 2, 0, 1},
        {3, 3, 300, 1, 0, 1},    {25, 9, 64, 0, 0, 1},   {9, 25, 65, 2, 0, 1},   {64, 64, 1, 1, 0, 1},
        {1, 1, 777, 2, 0, 1},    {11, 13, 17, 0, 3, 0},  {29, 31, 2, 1, 0, 1},   {32, 32, 32, 2, 0, 1},
        {5, 80, 20, 0, 0, 1},    {80, 5, 20, 1, 0, 1},   {13, 13, 390, 2, 2, 1}, {7, 30, 3, 0, 0, 1},
        {30, 7, 3, 1, 0, 1},     {19, 23, 47, 2, 0, 1},  {8, 24, 300, 0, 0, 1},  {24, 8, 300, 1, 1, 1},
        {1, 16, 1, 2, 0, 1},     {16, 1, 1, 0, 0, 1},    {21, 21, 21, 1, 0, 0},  {45, 3, 9, 2, 0, 1},
    };
    int n = (int)(sizeof shapes / sizeof shapes[0]);
    double worst = 0.0;
    int acts[3] = {0, 0, 0};
    cr_assert_geq(n, 50);
    for (int i = 0; i < n; i++) {
        gemm_case g;
        loom_vsim_options o = {.rows = rows, .cols = cols, .reset_seed = 1000 + (uint64_t)i};
        loom_vsim_stats st;
        char what[128];
        const int *s = shapes[i];
        loom_status rc;
        double err;
        case_make(&g, s[0], s[1], s[2], s[3], s[4], s[5], seed0 + (uint64_t)i);
        snprintf(what, sizeof what, "%dx%d array, M=%d N=%d K=%d act=%d pad=%d bias=%d", rows, cols, s[0],
                 s[1], s[2], s[3], s[4], s[5]);
        rc = loom_vsim_gemm_i8(&o, &g.a, &st);
        cr_assert_eq(rc, LOOM_OK, "%s: %s: %s", what, loom_status_name(rc), loom_last_error());
        expect_same(&g, what);
        cr_assert_eq(st.rows, rows);
        cr_assert_eq(st.reset_seed, 1000 + (uint64_t)i);
        cr_assert_gt(st.cycles, 0, "%s: no cycles", what);
        /* the array cannot beat one MAC per PE per cycle */
        cr_assert_geq((double)st.cycles, st.ideal_cycles, "%s: %llu cycles, ideal %.0f", what,
                      (unsigned long long)st.cycles, st.ideal_cycles);
        err = fabs((double)st.predicted_cycles - (double)st.cycles) / (double)st.cycles;
        cr_assert_leq(err, 0.05, "%s: model %llu vs RTL %llu cycles (%.1f%%)", what,
                      (unsigned long long)st.predicted_cycles, (unsigned long long)st.cycles,
                      100 * err);
        if (err > worst)
            worst = err;
        acts[s[3]]++;
        case_free(&g);
    }
    cr_assert(acts[0] && acts[1] && acts[2], "every activation is covered");
    cr_log_info("%dx%d: %d shapes bit-exact; worst model error %.2f%%", rows, cols, n, 100 * worst);
}

Test(vsim, random_shapes_8x8_bit_exact_and_modelled, .timeout = 300)
{
    run_shapes(8, 8, 1);
}

Test(vsim, random_shapes_16x16_bit_exact_and_modelled, .timeout = 300)
{
    run_shapes(16, 16, 101);
}

/* Three random initial register states: the same results and cycles. */
Test(vsim, reset_seed_does_not_change_results, .timeout = 120)
{
    static const uint64_t seeds[3] = {1, 77, 123456789};
    uint64_t cycles0 = 0;
    for (int s = 0; s < 3; s++) {
        gemm_case g;
        loom_vsim_options o = {.rows = 8, .cols = 8, .reset_seed = seeds[s]};
        loom_vsim_stats st;
        char what[64];
        case_make(&g, 19, 21, 300, LOOM_ACT_LUT, 1, true, 42);
        snprintf(what, sizeof what, "reset seed %llu", (unsigned long long)seeds[s]);
        cr_assert_eq(loom_vsim_gemm_i8(&o, &g.a, &st), LOOM_OK, "%s: %s", what, loom_last_error());
        expect_same(&g, what);
        cr_assert_eq(st.reset_seed, seeds[s]);
        if (s == 0)
            cycles0 = st.cycles;
        cr_assert_eq(st.cycles, cycles0, "%s: %llu cycles, seed 1 took %llu", what,
                     (unsigned long long)st.cycles, (unsigned long long)cycles0);
        case_free(&g);
    }
}

/* The target: at least 90% PE utilisation for M = N = K = 256 on
 * a 16x16 array with a 64-byte, 100-cycle memory port. */
Test(vsim, utilisation_target_256_cubed_16x16, .timeout = 300)
{
    gemm_case g;
    loom_vsim_options o = {.rows = 16, .cols = 16, .read_bytes_per_cycle = 64, .read_latency = 100,
                           .write_bytes_per_cycle = 64, .write_latency = 100, .reset_seed = 5};
    loom_vsim_stats st;
    case_make(&g, 256, 256, 256, LOOM_ACT_RELU, 0, true, 7);
    cr_assert_eq(loom_vsim_gemm_i8(&o, &g.a, &st), LOOM_OK, "%s", loom_last_error());
    expect_same(&g, "256^3");
    cr_assert_float_eq(st.ideal_cycles, 65536.0, 1e-9);
    cr_assert_geq(st.utilisation, 0.90, "utilisation %.3f (%llu cycles)", st.utilisation,
                  (unsigned long long)st.cycles);
    cr_assert_eq(st.predicted_cycles, st.cycles, "model %llu, RTL %llu",
                 (unsigned long long)st.predicted_cycles, (unsigned long long)st.cycles);
    cr_log_info("256^3 on 16x16: %llu cycles, utilisation %.1f%%, %.0f cycles/s",
                (unsigned long long)st.cycles, 100 * st.utilisation, st.sim_cycles / st.wall_seconds);
    case_free(&g);
}

/* A memory that never answers: the watchdog ends the run with an error
 * that says what the kernel was waiting for. */
Test(vsim, watchdog_names_the_stuck_state, .timeout = 60)
{
    gemm_case g;
    loom_vsim_options o = {.rows = 8, .cols = 8, .test_withhold_reads = 1, .watchdog_cycles = 5000};
    loom_status rc;
    const char *e;
    case_make(&g, 10, 10, 10, LOOM_ACT_NONE, 0, true, 3);
    rc = loom_vsim_gemm_i8(&o, &g.a, NULL);
    e = loom_last_error();
    cr_assert_eq(rc, LOOM_E_DEVICE_FAILED, "%s: %s", loom_status_name(rc), e);
    cr_log_info("%s", e);
    cr_assert(strstr(e, "watchdog") && strstr(e, "5000 cycles"), "%s", e);
    cr_assert(strstr(e, "read responses left to take"), "names the stage: %s", e);
    cr_assert(strstr(e, "read beats outstanding"), "counts the reads: %s", e);
    cr_assert(!strchr(e, '\n'), "one line: %s", e);
    /* C was not touched */
    for (size_t i = 0; i < g.c_bytes + 2 * GUARD; i++)
        cr_assert_eq((uint8_t)g.C[i], GUARD_BYTE);
    case_free(&g);
}

Test(vsim, bad_options_are_clear_errors)
{
    gemm_case g;
    loom_vsim_options o = {.rows = 12, .cols = 12};
    loom_status rc;
    case_make(&g, 4, 4, 4, LOOM_ACT_NONE, 0, true, 3);
    rc = loom_vsim_gemm_i8(&o, &g.a, NULL);
    cr_assert_eq(rc, LOOM_E_INVALID_ARG, "%s", loom_last_error());
    cr_assert(strstr(loom_last_error(), "no Verilated model for a 12x12 array") &&
                  strstr(loom_last_error(), "16x16"),
              "%s", loom_last_error());
    o = (loom_vsim_options){.read_bytes_per_cycle = 65};
    cr_assert_eq(loom_vsim_gemm_i8(&o, &g.a, NULL), LOOM_E_INVALID_ARG);
    cr_assert(strstr(loom_last_error(), "exceed the 64-byte port"), "%s", loom_last_error());
    o = (loom_vsim_options){0};
    g.a.act = LOOM_ACT_SIGMOID; /* fp32-only code: the int8 kernel takes NONE/RELU/LUT */
    cr_assert_eq(loom_vsim_gemm_i8(&o, &g.a, NULL), LOOM_E_INVALID_ARG);
    case_free(&g);
}

Test(vsim, waveform_is_written_and_a_bad_path_is_an_error, .timeout = 60)
{
    gemm_case g;
    loom_vsim_options o = {.rows = 8, .cols = 8, .waveform = NULL};
    struct stat sb;
    char bad[512];
    tb_tmpdir("vsim-wave");
    o.waveform = tb_tpath("run.fst");
    case_make(&g, 9, 9, 9, LOOM_ACT_RELU, 0, true, 4);
    cr_assert_eq(loom_vsim_gemm_i8(&o, &g.a, NULL), LOOM_OK, "%s", loom_last_error());
    expect_same(&g, "with a waveform");
    cr_assert_eq(stat(o.waveform, &sb), 0, "no waveform at %s", o.waveform);
    cr_assert_gt(sb.st_size, 1000, "waveform of %lld bytes", (long long)sb.st_size);
    snprintf(bad, sizeof bad, "%s/no/such/folder/run.fst", tb_tmpdir_path());
    o.waveform = bad;
    cr_assert_eq(loom_vsim_gemm_i8(&o, &g.a, NULL), LOOM_E_DEVICE_FAILED);
    cr_assert(strstr(loom_last_error(), "cannot write waveform"), "%s", loom_last_error());
    case_free(&g);
    tb_tmpdir_remove();
}

/* The device registry: "vsim" is listed, explicit-only, and runs the
 * kernel ABI through loom_gemm_i8 like any device. */
Test(vsim, device_registry_and_gemm_entry_point, .timeout = 60)
{
    gemm_case g;
    bool found = false;
    for (size_t i = 0; i < loom_device_count(); i++) {
        loom_device_info d;
        cr_assert_eq(loom_device_get(i, &d), LOOM_OK);
        if (strcmp(d.name, "vsim") == 0) {
            found = true;
            cr_assert_str_eq(d.kind, "accelerator");
            cr_assert(strstr(d.model, "16x16"), "%s", d.model);
        }
    }
    cr_assert(found, "vsim is listed");
    case_make(&g, 21, 19, 70, LOOM_ACT_RELU, 2, true, 9);
    cr_assert_eq(loom_gemm_i8("vsim", &g.a), LOOM_OK, "%s", loom_last_error());
    expect_same(&g, "loom_gemm_i8(\"vsim\")");
    case_free(&g);
}

/* An RTL $fatal (here the read side's protocol check, provoked by a
 * memory that answers a read nobody made) ends the run with an error that
 * carries the RTL's message; the process goes on. */
Test(vsim, rtl_fatal_is_an_error_not_an_exit, .timeout = 60)
{
    gemm_case g;
    loom_vsim_options o = {.rows = 8, .cols = 8, .test_spurious_read = 1};
    loom_status rc;
    const char *e;
    case_make(&g, 10, 10, 10, LOOM_ACT_NONE, 0, true, 3);
    rc = loom_vsim_gemm_i8(&o, &g.a, NULL);
    e = loom_last_error();
    cr_assert_eq(rc, LOOM_E_DEVICE_FAILED, "%s: %s", loom_status_name(rc), e);
    cr_log_info("%s", e);
    cr_assert(strstr(e, "the RTL stopped the simulation"), "%s", e);
    cr_assert(strstr(e, "a read response arrived with no read outstanding"), "%s", e);
    cr_assert(!strchr(e, '\n'), "one line: %s", e);
    /* the next simulator in this process works */
    o.test_spurious_read = 0;
    cr_assert_eq(loom_vsim_gemm_i8(&o, &g.a, NULL), LOOM_OK, "%s", loom_last_error());
    expect_same(&g, "after a $fatal");
    case_free(&g);
}
