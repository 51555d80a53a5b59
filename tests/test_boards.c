/*
 * test_boards.c - the board data files in boards/ and their loader: every
 * shipped file loads and has its required figures, each with a source;
 * crafted broken files are refused naming the file and the key.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loom/loom.h"
#include "tmpdir.h"

static const char *const shipped[] = {"u50", "u55c", "u200", "u250", "u280", "vck5000",
                                      "h200", "h100", "a100", "l4",  "t4",   "epyc9654"};
/* energy tables (kind "energy"): listed with the boards, not targets */
static const char *const tables[] = {"horowitz-45nm"};

Test(boards, every_shipped_board_loads_with_sources)
{
    char **names;
    size_t n;
    setenv("LOOM_BOARDS_DIR", LOOM_SOURCE_DIR "/boards", 1);
    cr_assert_eq(loom_boards_list(&names, &n), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(n, sizeof shipped / sizeof shipped[0] + sizeof tables / sizeof tables[0], "%zu boards", n);
    for (size_t i = 0; i < sizeof shipped / sizeof shipped[0]; i++) {
        loom_board *b;
        bool listed = false;
        for (size_t j = 0; j < n; j++)
            listed |= !strcmp(names[j], shipped[i]);
        cr_assert(listed, "%s is listed", shipped[i]);
        cr_assert_eq(loom_board_load(shipped[i], &b), LOOM_OK, "%s", loom_last_error());
        cr_assert_str_eq(loom_board_name(b), shipped[i]);
        cr_assert_gt(loom_board_figure_count(b), 5);
        for (size_t k = 0; k < loom_board_figure_count(b); k++) {
            const loom_board_figure *f = loom_board_figure_at(b, k);
            cr_assert(f->source && f->source[0] && f->source_key[0], "%s.%s has a source", shipped[i],
                      f->key);
        }
        cr_assert_not_null(loom_board_find(b, "power_limit_w"), "%s", shipped[i]);
        if (!strcmp(loom_board_kind(b), "fpga")) {
            cr_assert(loom_board_find(b, "xrt_platform")->is_text);
            cr_assert_gt(loom_board_find(b, "dsp")->number, 1000);
        }
        loom_board_free(b);
    }
    loom_boards_list_free(names, n);
}

/* The energy table and the model that multiplies it: per-action energies
 * at 45 nm / 0.9 V scaled to a 16 nm, 0.85 V card by (16/45)(0.85/0.9)^2
 * on chip, device memory unscaled. */
Test(boards, energy_table_and_the_int8_array_model)
{
    loom_board *t, *u50, *h200;
    loom_energy_counts c = {.mac_slots = 1e6, .spad_bytes = 8e6, .dram_bytes = 8e6};
    loom_energy_estimate e;
    bool scaled = false;
    const double k = (16.0 / 45) * (0.85 / 0.9) * (0.85 / 0.9);
    setenv("LOOM_BOARDS_DIR", LOOM_SOURCE_DIR "/boards", 1);
    cr_assert_eq(loom_board_load(tables[0], &t), LOOM_OK, "%s", loom_last_error());
    cr_assert_str_eq(loom_board_kind(t), "energy");
    cr_assert_float_eq(loom_board_find(t, "int8_mul_pj")->number, 0.2, 0);
    cr_assert(loom_board_find(t, "int8_mul_pj")->estimate);
    cr_assert_eq(loom_board_load("u50", &u50), LOOM_OK);
    cr_assert_float_eq(loom_board_find(u50, "process_nm")->number, 16, 0);
    cr_assert_eq(loom_energy_int8_array(u50, t, &c, &e, &scaled), LOOM_OK, "%s", loom_last_error());
    cr_assert(scaled);
    cr_assert_float_eq(e.scale, k, 1e-12);
    cr_assert_float_eq(e.mac_j, 1e6 * 0.3e-12 * k, 1e-18);
    cr_assert_float_eq(e.spad_j, 8e6 * (10.0 / 8) * 1e-12 * k, 1e-18);
    cr_assert_float_eq(e.dram_j, 8e6 * (1300.0 / 8) * 1e-12, 1e-18);
    cr_assert_float_eq(e.dynamic_j, e.mac_j + e.spad_j + e.dram_j, 1e-18);
    /* no node or voltage on the board (a GPU file): the table's own */
    cr_assert_eq(loom_board_load("h200", &h200), LOOM_OK);
    cr_assert_eq(loom_energy_int8_array(h200, t, &c, &e, &scaled), LOOM_OK);
    cr_assert(!scaled);
    cr_assert_float_eq(e.mac_j, 1e6 * 0.3e-12, 1e-18);
    /* a processor's float work: a MAC is a multiply and an add (3.7 + 0.9
     * pJ), another operation an add, both on chip */
    c = (loom_energy_counts){.fp32_macs = 1e6, .fp32_ops = 2e6, .dram_bytes = 800};
    cr_assert_eq(loom_energy_int8_array(h200, t, &c, &e, &scaled), LOOM_OK);
    cr_assert_float_eq(e.fp32_j, (1e6 * 4.6 + 2e6 * 0.9) * 1e-12, 1e-18);
    cr_assert_float_eq(e.mac_j, 0, 0);
    cr_assert_float_eq(e.dynamic_j, e.fp32_j + 800 * (1300.0 / 8) * 1e-12, 1e-18);
    cr_assert_eq(loom_energy_int8_array(u50, t, &c, &e, &scaled), LOOM_OK);
    cr_assert_float_eq(e.fp32_j, (1e6 * 4.6 + 2e6 * 0.9) * 1e-12 * k, 1e-18);
    cr_assert_eq(loom_energy_int8_array(u50, h200, &c, &e, &scaled), LOOM_E_INVALID_ARG);
    cr_assert(strstr(loom_last_error(), "h200 is a gpu board, not an energy table"), "%s", loom_last_error());
    loom_board_free(h200);
    loom_board_free(u50);
    loom_board_free(t);
}

/* An energy table needs its node, voltage and the int8 MAC's figures. */
Test(boards, energy_table_without_a_required_figure_is_refused)
{
    loom_board *b = NULL;
    static const char text[] =
        "{\"name\": \"e1\", \"kind\": \"energy\", \"title\": \"t\", \"figures\": {"
        "\"process_nm\": {\"value\": 45, \"source\": \"S\"}, \"voltage_v\": {\"value\": 0.9, \"source\": \"S\"},"
        "\"int8_mul_pj\": {\"value\": 0.2, \"source\": \"S\"}, \"int32_add_pj\": {\"value\": 0.1, \"source\": \"S\"},"
        "\"sram_8kb_64b_pj\": {\"value\": 10, \"source\": \"S\"}}, \"sources\": {\"S\": \"a test\"}}";
    FILE *f;
    tb_tmpdir("boards-energy");
    cr_assert_not_null(f = fopen(tb_tpath("e1.json"), "w"));
    fputs(text, f);
    fclose(f);
    cr_assert_eq(loom_board_load(tb_tpath("e1.json"), &b), LOOM_E_DATA_INVALID);
    cr_assert(strstr(loom_last_error(), "e1.json") && strstr(loom_last_error(), "\"dram_64b_pj\" is missing"),
              "%s", loom_last_error());
    tb_tmpdir_remove();
}

Test(boards, figures_carry_values_and_marks)
{
    loom_board *b;
    setenv("LOOM_BOARDS_DIR", LOOM_SOURCE_DIR "/boards", 1);
    cr_assert_eq(loom_board_load("u250", &b), LOOM_OK, "%s", loom_last_error());
    cr_assert_float_eq(loom_board_find(b, "dsp")->number, 12288, 0);
    cr_assert_str_eq(loom_board_find(b, "xrt_platform")->text, "xilinx_u250_gen3x16_xdma_4_1_202210_1");
    cr_assert(loom_board_find(b, "peak_int8_tops")->derived);
    cr_assert_null(loom_board_find(b, "peak_fp32_tflops"));
    loom_board_free(b);
    cr_assert_eq(loom_board_load("u200", &b), LOOM_OK);
    cr_assert(loom_board_find(b, "power_limit_w")->estimate, "U200's 225 W is an estimate");
    loom_board_free(b);
}

Test(boards, unknown_names_are_clear_errors)
{
    loom_board *b = (loom_board *)1;
    setenv("LOOM_BOARDS_DIR", LOOM_SOURCE_DIR "/boards", 1);
    cr_assert_eq(loom_board_load("u9000", &b), LOOM_E_NOT_FOUND);
    cr_assert_null(b);
    cr_assert(strstr(loom_last_error(), "no board \"u9000\"") && strstr(loom_last_error(), "u250"),
              "%s", loom_last_error());
    cr_assert_eq(loom_board_load("../etc", &b), LOOM_E_INVALID_ARG, "%s", loom_last_error());
    cr_assert_eq(loom_board_load("U250", &b), LOOM_E_INVALID_ARG, "%s", loom_last_error());
}

/* A minimal valid GPU file with one thing changed. */
static void write_board(const char *file, const char *name, const char *extra_top,
                        const char *figure_extra, const char *sources)
{
    FILE *f = fopen(tb_tpath(file), "w");
    cr_assert_not_null(f);
    fprintf(f,
            "{\"name\": \"%s\", \"kind\": \"gpu\", \"title\": \"Test GPU\"%s,\n"
            " \"figures\": {\n"
            "  \"memory_type\": {\"value\": \"GDDR6\", \"source\": \"S1\"},\n"
            "  \"memory_gib\": {\"value\": 16, \"unit\": \"GB\", \"source\": \"S1\"},\n"
            "  \"memory_bandwidth_gbps\": {\"value\": 320, \"unit\": \"GB/s\", \"source\": \"S1\"},\n"
            "  \"peak_fp32_tflops\": {\"value\": 8.1, \"unit\": \"TFLOPS\", \"source\": \"S1\"}%s\n"
            " },\n"
            " \"sources\": {%s}}\n",
            name, extra_top, figure_extra, sources);
    fclose(f);
}

static void expect_refused(const char *file, const char *frag1, const char *frag2)
{
    loom_board *b = (loom_board *)1;
    loom_status st = loom_board_load(tb_tpath(file), &b);
    cr_assert_eq(st, LOOM_E_DATA_INVALID, "%s: %s: %s", file, loom_status_name(st), loom_last_error());
    cr_assert_null(b);
    cr_assert(strstr(loom_last_error(), file), "names the file: %s", loom_last_error());
    cr_assert(strstr(loom_last_error(), frag1), "%s", loom_last_error());
    if (frag2)
        cr_assert(strstr(loom_last_error(), frag2), "%s", loom_last_error());
}

#define POWER ",\n  \"power_limit_w\": {\"value\": 70, \"unit\": \"W\", \"source\": \"S1\"}"
#define S1 "\"S1\": \"a datasheet\""

Test(boards, broken_files_are_refused_naming_the_key)
{
    loom_board *b;
    tb_tmpdir("boards");
    write_board("ok.json", "ok", "", POWER, S1);
    cr_assert_eq(loom_board_load(tb_tpath("ok.json"), &b), LOOM_OK, "%s", loom_last_error());
    cr_assert_float_eq(loom_board_find(b, "power_limit_w")->number, 70, 0);
    loom_board_free(b);

    write_board("top.json", "top", ", \"colour\": \"red\"", POWER, S1);
    expect_refused("top.json", "unknown key \"colour\"", NULL);
    write_board("fig.json", "fig", "", POWER ",\n  \"lut\": {\"value\": 5, \"source\": \"S1\"}", S1);
    expect_refused("fig.json", "unknown figure \"lut\" for a gpu board", NULL);
    write_board("src.json", "src", "", ",\n  \"power_limit_w\": {\"value\": 70, \"source\": \"S2\"}", S1);
    expect_refused("src.json", "source \"S2\" is not in \"sources\"", NULL);
    write_board("uncited.json", "uncited", "", POWER, S1 ", \"S9\": \"unused\"");
    expect_refused("uncited.json", "source \"S9\" is not cited", NULL);
    write_board("missing.json", "missing", "", "", S1);
    expect_refused("missing.json", "required figure \"power_limit_w\" is missing", NULL);
    write_board("nan.json", "nan", "", ",\n  \"power_limit_w\": {\"value\": \"lots\", \"source\": \"S1\"}", S1);
    expect_refused("nan.json", "\"power_limit_w\": value must be a number", NULL);
    write_board("neg.json", "neg", "", ",\n  \"power_limit_w\": {\"value\": -3, \"source\": \"S1\"}", S1);
    expect_refused("neg.json", "must be positive", NULL);
    write_board("nosrc.json", "nosrc", "", ",\n  \"power_limit_w\": {\"value\": 3}", S1);
    expect_refused("nosrc.json", "\"power_limit_w\" has no source", NULL);
    write_board("fkey.json", "fkey", "", ",\n  \"power_limit_w\": {\"value\": 3, \"source\": \"S1\", \"guess\": 1}", S1);
    expect_refused("fkey.json", "unknown key \"guess\"", NULL);
    write_board("renamed.json", "other", "", POWER, S1);
    expect_refused("renamed.json", "\"name\" is \"other\" but the file is renamed.json", NULL);
    write_board("dup.json", "dup", ", \"title\": \"again\"", POWER, S1);
    expect_refused("dup.json", "duplicate", NULL);
    {
        FILE *f = fopen(tb_tpath("trunc.json"), "w");
        fputs("{\"name\": \"trunc\", \"kind\": ", f);
        fclose(f);
        expect_refused("trunc.json", "trunc.json:1", NULL);
    }
    tb_tmpdir_remove();
}

Test(boards, cli_lists_and_shows)
{
    /* the CLI is exercised in test_cli; here only that the folder can be
     * switched and listing sees exactly the files there */
    char **names;
    size_t n;
    tb_tmpdir("boards-list");
    write_board("one.json", "one", "", POWER, S1);
    setenv("LOOM_BOARDS_DIR", tb_tmpdir_path(), 1);
    cr_assert_str_eq(loom_boards_dir(), tb_tmpdir_path());
    cr_assert_eq(loom_boards_list(&names, &n), LOOM_OK);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(names[0], "one");
    loom_boards_list_free(names, n);
    unsetenv("LOOM_BOARDS_DIR");
    tb_tmpdir_remove();
}
