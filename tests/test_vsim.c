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
#include "backends/vsim/vsim-impl.h"
#include "gemm-vectors.h"
#include "tmpdir.h"

static void run_shapes(int rows, int cols, uint64_t seed0)
{
    int n = gemm_shape_count;
    double worst = 0.0;
    int acts[3] = {0, 0, 0};
    cr_assert_geq(n, 50);
    for (int i = 0; i < n; i++) {
        gemm_case g;
        loom_vsim_options o = {.rows = rows, .cols = cols, .reset_seed = 1000 + (uint64_t)i};
        loom_vsim_stats st;
        char what[128];
        const int *s = gemm_shapes[i];
        loom_status rc;
        double err;
        gemm_case_make(&g, s[0], s[1], s[2], s[3], s[4], s[5], seed0 + (uint64_t)i);
        snprintf(what, sizeof what, "%dx%d array, M=%d N=%d K=%d act=%d pad=%d bias=%d", rows, cols, s[0],
                 s[1], s[2], s[3], s[4], s[5]);
        rc = loom_vsim_gemm_i8(&o, &g.a, &st);
        cr_assert_eq(rc, LOOM_OK, "%s: %s: %s", what, loom_status_name(rc), loom_last_error());
        gemm_case_expect_same(&g, what);
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
        {
            /* the model's memory traffic is the RTL's, byte for byte (the
             * energy model multiplies it) */
            loom_vsim_activity pa;
            cr_assert_eq(loom_vsim_predict(&o, s[0], s[1], s[2], s[3], &pa), LOOM_OK, "%s", loom_last_error());
            cr_assert_eq(pa.cycles, st.predicted_cycles, "%s", what);
            cr_assert_eq(st.bytes_read, pa.bytes_read, "%s: RTL read %llu bytes, model %llu", what,
                         (unsigned long long)st.bytes_read, (unsigned long long)pa.bytes_read);
            cr_assert_eq(st.bytes_written, pa.bytes_written, "%s: RTL wrote %llu bytes, model %llu", what,
                         (unsigned long long)st.bytes_written, (unsigned long long)pa.bytes_written);
            cr_assert_eq(pa.bytes_written, (uint64_t)s[0] * (uint64_t)s[1], "%s", what);
            cr_assert_geq(pa.mac_slots, (uint64_t)s[0] * (uint64_t)s[1] * (uint64_t)s[2], "%s", what);
        }
        acts[s[3]]++;
        gemm_case_free(&g);
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
        gemm_case_make(&g, 19, 21, 300, LOOM_ACT_LUT, 1, true, 42);
        snprintf(what, sizeof what, "reset seed %llu", (unsigned long long)seeds[s]);
        cr_assert_eq(loom_vsim_gemm_i8(&o, &g.a, &st), LOOM_OK, "%s: %s", what, loom_last_error());
        gemm_case_expect_same(&g, what);
        cr_assert_eq(st.reset_seed, seeds[s]);
        if (s == 0)
            cycles0 = st.cycles;
        cr_assert_eq(st.cycles, cycles0, "%s: %llu cycles, seed 1 took %llu", what,
                     (unsigned long long)st.cycles, (unsigned long long)cycles0);
        gemm_case_free(&g);
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
    gemm_case_make(&g, 256, 256, 256, LOOM_ACT_RELU, 0, true, 7);
    cr_assert_eq(loom_vsim_gemm_i8(&o, &g.a, &st), LOOM_OK, "%s", loom_last_error());
    gemm_case_expect_same(&g, "256^3");
    cr_assert_float_eq(st.ideal_cycles, 65536.0, 1e-9);
    cr_assert_geq(st.utilisation, 0.90, "utilisation %.3f (%llu cycles)", st.utilisation,
                  (unsigned long long)st.cycles);
    cr_assert_eq(st.predicted_cycles, st.cycles, "model %llu, RTL %llu",
                 (unsigned long long)st.predicted_cycles, (unsigned long long)st.cycles);
    cr_log_info("256^3 on 16x16: %llu cycles, utilisation %.1f%%, %.0f cycles/s",
                (unsigned long long)st.cycles, 100 * st.utilisation, st.sim_cycles / st.wall_seconds);
    gemm_case_free(&g);
}

/* A memory that never answers: the watchdog ends the run with an error
 * that says what the kernel was waiting for. */
Test(vsim, watchdog_names_the_stuck_state, .timeout = 60)
{
    gemm_case g;
    loom_vsim_options o = {.rows = 8, .cols = 8, .test_withhold_reads = 1, .watchdog_cycles = 5000};
    loom_status rc;
    const char *e;
    gemm_case_make(&g, 10, 10, 10, LOOM_ACT_NONE, 0, true, 3);
    rc = loom_vsim_gemm_i8(&o, &g.a, NULL);
    e = loom_last_error();
    cr_assert_eq(rc, LOOM_E_DEVICE_FAILED, "%s: %s", loom_status_name(rc), e);
    cr_log_info("%s", e);
    cr_assert(strstr(e, "watchdog") && strstr(e, "5000 cycles"), "%s", e);
    cr_assert(strstr(e, "read responses left to take"), "names the stage: %s", e);
    cr_assert(strstr(e, "read beats outstanding"), "counts the reads: %s", e);
    cr_assert(!strchr(e, '\n'), "one line: %s", e);
    /* C was not touched */
    for (size_t i = 0; i < g.c_bytes + 2 * GEMM_GUARD; i++)
        cr_assert_eq((uint8_t)g.C[i], GEMM_GUARD_BYTE);
    gemm_case_free(&g);
}

Test(vsim, bad_options_are_clear_errors)
{
    gemm_case g;
    loom_vsim_options o = {.rows = 12, .cols = 12};
    loom_status rc;
    gemm_case_make(&g, 4, 4, 4, LOOM_ACT_NONE, 0, true, 3);
    rc = loom_vsim_gemm_i8(&o, &g.a, NULL);
    cr_assert_eq(rc, LOOM_E_INVALID_ARG, "%s", loom_last_error());
    cr_assert(strstr(loom_last_error(), "no Verilated model for a 12x12 array") &&
                  strstr(loom_last_error(), "16x16"),
              "%s", loom_last_error());
    o = (loom_vsim_options){.read_bytes_per_cycle = 65};
    cr_assert_eq(loom_vsim_gemm_i8(&o, &g.a, NULL), LOOM_E_INVALID_ARG);
    cr_assert(strstr(loom_last_error(), "exceed the 64-byte port"), "%s", loom_last_error());
    o = (loom_vsim_options){.reset_seed = 1ULL << 31};
    cr_assert_eq(loom_vsim_gemm_i8(&o, &g.a, NULL), LOOM_E_INVALID_ARG);
    cr_assert(strstr(loom_last_error(), "31-bit"), "%s", loom_last_error());
    o = (loom_vsim_options){0};
    g.a.act = LOOM_ACT_SIGMOID; /* fp32-only code: the int8 kernel takes NONE/RELU/LUT */
    cr_assert_eq(loom_vsim_gemm_i8(&o, &g.a, NULL), LOOM_E_INVALID_ARG);
    gemm_case_free(&g);
}

Test(vsim, waveform_is_written_and_a_bad_path_is_an_error, .timeout = 60)
{
    gemm_case g;
    loom_vsim_options o = {.rows = 8, .cols = 8, .waveform = NULL};
    struct stat sb;
    char bad[512];
    tb_tmpdir("vsim-wave");
    o.waveform = tb_tpath("run.fst");
    gemm_case_make(&g, 9, 9, 9, LOOM_ACT_RELU, 0, true, 4);
    cr_assert_eq(loom_vsim_gemm_i8(&o, &g.a, NULL), LOOM_OK, "%s", loom_last_error());
    gemm_case_expect_same(&g, "with a waveform");
    cr_assert_eq(stat(o.waveform, &sb), 0, "no waveform at %s", o.waveform);
    cr_assert_gt(sb.st_size, 1000, "waveform of %lld bytes", (long long)sb.st_size);
    snprintf(bad, sizeof bad, "%s/no/such/folder/run.fst", tb_tmpdir_path());
    o.waveform = bad;
    cr_assert_eq(loom_vsim_gemm_i8(&o, &g.a, NULL), LOOM_E_WRITE);
    cr_assert(strstr(loom_last_error(), "no/such/folder/run.fst: cannot create a file beside it"), "%s",
              loom_last_error());
    {
        /* written beside the target and renamed: a FIFO there is refused
         * (it blocked), and nothing but run.fst is left in the folder */
        char names[512];
        cr_assert_eq(mkfifo(tb_tpath("fifo.fst"), 0600), 0);
        o.waveform = tb_tpath("fifo.fst");
        cr_assert_eq(loom_vsim_gemm_i8(&o, &g.a, NULL), LOOM_E_WRITE);
        cr_assert(strstr(loom_last_error(), "is not a regular file (a FIFO)"), "%s", loom_last_error());
        tb_list_dir(tb_tmpdir_path(), names, sizeof names);
        cr_assert_str_eq(names, "fifo.fst|run.fst");
    }
    gemm_case_free(&g);
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
    gemm_case_make(&g, 21, 19, 70, LOOM_ACT_RELU, 2, true, 9);
    cr_assert_eq(loom_gemm_i8("vsim", &g.a), LOOM_OK, "%s", loom_last_error());
    gemm_case_expect_same(&g, "loom_gemm_i8(\"vsim\")");
    gemm_case_free(&g);
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
    gemm_case_make(&g, 10, 10, 10, LOOM_ACT_NONE, 0, true, 3);
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
    gemm_case_expect_same(&g, "after a $fatal");
    gemm_case_free(&g);
}

/* tests/models/lenet quantised into the test's temporary folder (tb_tmpdir
 * made by the caller) on a calibration batch of 8, loaded; *c gets an
 * input batch of 2 (free both). */
static loom_model *quantised_lenet(loom_tensor **c)
{
    char out[600];
    loom_model *m, *q;
    int64_t dims[4] = {8, 1, 28, 28};
    snprintf(out, sizeof out, "%s/lenet-int8.onnx", tb_tmpdir_path());
    cr_assert_eq(loom_model_load(LOOM_SOURCE_DIR "/tests/models/lenet/model.onnx", NULL, &m), LOOM_OK);
    cr_assert_eq(loom_tensor_create(LOOM_F32, 4, dims, c), LOOM_OK);
    for (int64_t i = 0; i < loom_tensor_numel(*c); i++)
        ((float *)loom_tensor_data(*c))[i] = (float)sin((double)i * 0.37) * 2.0f;
    cr_assert_eq(loom_quantize(m, (const loom_tensor *const *)c, 1, NULL, out, NULL), LOOM_OK, "%s",
                 loom_last_error());
    cr_assert_eq(loom_model_load(out, NULL, &q), LOOM_OK);
    loom_model_free(m);
    loom_tensor_free(*c);
    dims[0] = 2;
    cr_assert_eq(loom_tensor_create(LOOM_F32, 4, dims, c), LOOM_OK);
    for (int64_t i = 0; i < loom_tensor_numel(*c); i++)
        ((float *)loom_tensor_data(*c))[i] = (float)cos((double)i * 0.11);
    return q;
}

/* A quantised CNN on vsim: its int8 Conv/Gemm nodes run on the Verilated
 * array and every node output equals ref's bit for bit. */
Test(vsim, quantised_lenet_bit_exact, .timeout = 300)
{
    loom_model *q;
    loom_tensor *c;
    loom_validate_result r;
    tb_tmpdir("vsim-quant");
    q = quantised_lenet(&c);
    cr_assert_eq(loom_validate(q, (const loom_tensor *const *)&c, 1, "vsim", &r), LOOM_OK, "%s", loom_last_error());
    cr_assert(r.match, "node %s (%s) element %lld: %g vs ref %g", r.node_name, r.op_type, (long long)r.element,
              r.value, r.ref_value);
    cr_assert_eq(r.nodes_on_device, 5); /* 2 LoomQConv, 3 LoomQGemm */
    /* the device run's kernel cycles, with the cycle model's beside them */
    cr_assert_gt(r.simulated_cycles, 0);
    cr_assert_leq(fabs((double)r.predicted_cycles - (double)r.simulated_cycles) / (double)r.simulated_cycles, 0.05,
                  "model %llu, RTL %llu", (unsigned long long)r.predicted_cycles,
                  (unsigned long long)r.simulated_cycles);
    cr_assert_eq(loom_validate(q, (const loom_tensor *const *)&c, 1, "ref", &r), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(r.simulated_cycles, 0, "ref counts no cycles");
    loom_tensor_free(c);
    loom_model_free(q);
    tb_tmpdir_remove();
}

/* The vsim device keeps one simulator and resets it between GEMMs. A kept
 * simulator, reset between GEMMs of different shapes (and activations,
 * and a K = 0 one), gives the same C bit for bit and the same CYCLES as a
 * fresh simulator per GEMM: nothing a GEMM leaves behind (scratchpads,
 * result registers, the requantiser's parameters, device memory) changes
 * the next. */
Test(vsim, kept_simulator_matches_fresh_ones, .timeout = 300)
{
    static const int shapes[][4] = {{37, 29, 300, LOOM_ACT_LUT}, {5, 70, 9, LOOM_ACT_RELU}, {64, 64, 64, LOOM_ACT_NONE},
                                    {3, 3, 0, LOOM_ACT_NONE},    {1, 100, 513, LOOM_ACT_LUT}, {40, 8, 17, LOOM_ACT_RELU}};
    loom_sim_config cfg = {.rows = 8, .cols = 8, .seed = 77};
    loom_sim *kept;
    char err[256];
    cr_assert_eq(loom_sim_open(&cfg, &kept, err, sizeof err), 0, "%s", err);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const int *s = shapes[i];
        gemm_case g;
        loom_sim *fresh;
        uint64_t c_kept = 0, c_fresh = 0;
        char what[96];
        size_t cbytes;
        int8_t *c_first;
        snprintf(what, sizeof what, "GEMM %zu (M=%d N=%d K=%d act=%d)", i, s[0], s[1], s[2], s[3]);
        gemm_case_make(&g, s[0], s[1], s[2], s[3], i % 2 ? 3 : 0, true, 500 + i);
        cfg.seed = 900 + i;
        cr_assert_eq(loom_sim_open(&cfg, &fresh, err, sizeof err), 0, "%s", err);
        cr_assert_eq(loom__vsim_gemm_on(fresh, &g.a, 10000000, &c_fresh), LOOM_OK, "%s: %s", what, loom_last_error());
        loom_sim_close(fresh);
        gemm_case_expect_same(&g, what);
        cbytes = (size_t)g.a.M * (size_t)g.a.ldc;
        c_first = malloc(cbytes ? cbytes : 1);
        cr_assert(c_first);
        memcpy(c_first, g.a.C, cbytes);
        memset(g.a.C, 0x5a, cbytes);
        if (i > 0)
            cr_assert_eq(loom_sim_reset(kept), 0, "%s", loom_sim_error(kept));
        cr_assert_eq(loom__vsim_gemm_on(kept, &g.a, 10000000, &c_kept), LOOM_OK, "%s: %s", what, loom_last_error());
        cr_assert_eq(memcmp(c_first, g.a.C, cbytes), 0, "%s: the kept simulator's C differs", what);
        cr_assert_eq(c_kept, c_fresh, "%s: %llu cycles on the kept simulator, %llu on a fresh one", what,
                     (unsigned long long)c_kept, (unsigned long long)c_fresh);
        free(c_first);
        gemm_case_free(&g);
    }
    loom_sim_close(kept);
}

/* A session on vsim counts every int8 node's kernel cycles, per run, with
 * the cycle model's prediction beside them; ref's nodes count none. */
Test(vsim, session_counts_cycles_per_node, .timeout = 300)
{
    loom_model *q;
    loom_tensor *c;
    loom_session *s;
    loom_session_options so = {.devices = "vsim"};
    size_t counted = 0;
    uint64_t total = 0, run1 = 0;
    tb_tmpdir("vsim-cycles");
    q = quantised_lenet(&c);
    cr_assert_eq(loom_session_create(q, &so, &s), LOOM_OK, "%s", loom_last_error());
    cr_assert_not(loom_session_node_cycles(s, 0, NULL, NULL), "no cycles before a run");
    {
        loom_value_info vi;
        cr_assert_eq(loom_session_input(s, 0, &vi), LOOM_OK);
        cr_assert_eq(loom_session_set_input(s, vi.name, c), LOOM_OK, "%s", loom_last_error());
    }
    for (int r = 0; r < 2; r++) {
        cr_assert_eq(loom_session_run(s), LOOM_OK, "%s", loom_last_error());
        counted = 0;
        total = 0;
        for (size_t i = 0; i < loom_session_node_count(s); i++) {
            loom_node_placement p;
            uint64_t cy, pred;
            bool has = loom_session_node_cycles(s, i, &cy, &pred);
            cr_assert_eq(loom_session_placement(s, i, &p), LOOM_OK);
            cr_assert_eq(has, strcmp(p.device, "vsim") == 0, "node %zu (%s on %s)", i, p.op_type, p.device);
            if (!has)
                continue;
            counted++;
            total += cy;
            cr_assert_gt(cy, 0);
            cr_assert_leq(fabs((double)pred - (double)cy) / (double)cy, 0.05, "node %zu: model %llu, RTL %llu", i,
                          (unsigned long long)pred, (unsigned long long)cy);
        }
        if (r == 0)
            run1 = total;
    }
    cr_assert_eq(counted, 5); /* 2 LoomQConv, 3 LoomQGemm */
    cr_assert_eq(total, run1, "the same input takes the same cycles each run (per-run means)");
    loom_session_free(s);
    loom_tensor_free(c);
    loom_model_free(q);
    tb_tmpdir_remove();
}
