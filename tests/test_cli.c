/*
 * test_cli.c - the `loom` command-line tool, run as a child process with
 * stdout and stderr captured: exit codes (cli.h), the exact messages, and
 * the files `loom run --out` writes, checked value by value.
 *
 * The process harness and the JSON reader are in support/cli-harness.h.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli-harness.h"
#include "loom/loom.h"
#include "onnx-builder.h"
#include "tmpdir.h"


#define SRC LOOM_SOURCE_DIR
#define LENET SRC "/tests/models/lenet/model.onnx"
#define LENET_X SRC "/tests/models/lenet/x.npy"

/* ---------------------------------------------------------------------- */
/* Temp folder                                                             */
/* ---------------------------------------------------------------------- */

static void setup(void)
{
    tb_tmpdir("cli");
}

static void teardown(void)
{
    tb_tmpdir_remove();
}

TestSuite(cli, .init = setup, .fini = teardown, .timeout = 120);

#define dir tb_tmpdir_path()
#define tpath tb_tpath

static loom_tensor *load_npy(const char *path)
{
    loom_tensor *t = NULL;
    loom_status st = loom_npy_load(path, &t);
    cr_assert_eq(st, LOOM_OK, "%s: %s", path, loom_last_error());
    return t;
}

static void check_close(const loom_tensor *got, const loom_tensor *want, double tol,
                        const char *what)
{
    const float *a, *b;
    cr_assert_eq(loom_tensor_dtype(got), LOOM_F32, "%s", what);
    cr_assert_eq(loom_tensor_dtype(want), LOOM_F32, "%s", what);
    cr_assert_eq(loom_tensor_rank(got), loom_tensor_rank(want), "%s", what);
    for (int d = 0; d < loom_tensor_rank(want); d++)
        cr_assert_eq(loom_tensor_dims(got)[d], loom_tensor_dims(want)[d], "%s: dim %d", what, d);
    a = loom_tensor_cdata(got);
    b = loom_tensor_cdata(want);
    for (int64_t i = 0; i < loom_tensor_numel(want); i++)
        cr_assert(fabs((double)a[i] - (double)b[i]) <= tol, "%s: element %lld: %.9g vs %.9g",
                  what, (long long)i, a[i], b[i]);
}

Test(cli, json_reader_self_check)
{
    /* the reader must reject what it is meant to catch */
    const char *doc = "{\"a\": [1, {\"b\": \"x\\\"y\"}], \"c\": -1.5e3, \"d\": null}";
    const char *root = j_ws(doc);
    cr_assert_not_null(j_value(root, 0));
    cr_assert_str_eq(j_compact(j_get(root, "a")), "[1,{\"b\":\"x\\\"y\"}]");
    cr_assert_float_eq(j_num(j_get(root, "c")), -1500.0, 0);
    cr_assert_str_eq(j_compact(j_get(root, "d")), "null");
    cr_assert_null(j_get(root, "b"));
    cr_assert_str_eq(j_compact(j_at(j_get(root, "a"), 1)), "{\"b\":\"x\\\"y\"}");
    cr_assert_null(j_value("{\"a\": 1,}", 0));
    cr_assert_null(j_value("[01]", 0));
    cr_assert_null(j_value("{'a': 1}", 0));
    cr_assert_null(j_value("[1 2]", 0));
    cr_assert_null(j_value("\"tab\there\"", 0));
    cr_assert_null(j_value("nan", 0));
}

/* ---------------------------------------------------------------------- */
/* Top level                                                               */
/* ---------------------------------------------------------------------- */

Test(cli, help)
{
    RUN("--help");
    expect_code(0);
    cr_assert_str_empty(res.err);
    cr_assert_eq(strncmp(res.out, "usage: loom ", 12), 0, "%s", res.out);
    cr_assert(strstr(res.out, "\n  info MODEL") != NULL, "%s", res.out);
    cr_assert(strstr(res.out, "\n  run MODEL") != NULL, "%s", res.out);
    cr_assert(strstr(res.out, "64 usage error") != NULL, "%s", res.out);
    {
        char *long_help = strdup(res.out);
        RUN("-h");
        expect_code(0);
        cr_assert_str_eq(res.out, long_help);
        RUN("help");
        expect_code(0);
        cr_assert_str_eq(res.out, long_help);
        free(long_help);
    }
}

Test(cli, help_for_commands)
{
    RUN("help", "run");
    expect_code(0);
    cr_assert_str_empty(res.err);
    cr_assert_eq(strncmp(res.out, "usage: loom run MODEL", 21), 0, "%s", res.out);
    cr_assert(strstr(res.out, "--repeat") != NULL);
    RUN("run", "--help");
    expect_code(0);
    cr_assert_eq(strncmp(res.out, "usage: loom run MODEL", 21), 0, "%s", res.out);
    RUN("help", "info");
    expect_code(0);
    cr_assert_eq(strncmp(res.out, "usage: loom info MODEL [--json]\n", 32), 0, "%s", res.out);
    RUN("info", "-h");
    expect_code(0);
    cr_assert_eq(strncmp(res.out, "usage: loom info MODEL [--json]\n", 32), 0, "%s", res.out);
    RUN("help", "bogus");
    expect_usage("'bogus' is not a loom command.", NULL);
}

Test(cli, version)
{
    char want[64];
    snprintf(want, sizeof want, "loom %s\n", loom_version());
    cr_assert_str_eq(want, "loom 0.1.0\n");
    RUN("--version");
    expect_code(0);
    cr_assert_str_eq(res.out, want);
    cr_assert_str_empty(res.err);
    RUN("-V");
    expect_code(0);
    cr_assert_str_eq(res.out, want);
}

Test(cli, no_arguments)
{
    RUN(NULL);
    expect_code(64);
    cr_assert_str_empty(res.out, "stdout: %s", res.out);
    cr_assert_eq(strncmp(res.err, "usage: loom ", 12), 0, "%s", res.err);
    cr_assert(strstr(res.err, "commands:") != NULL, "%s", res.err);
    /* the usage text, then one loom: error: line, last */
    cr_assert(strstr(res.err, "\nloom: error: a command is required (see 'loom --help')\n") != NULL, "%s", res.err);
    cr_assert_eq(res.err[strlen(res.err) - 1], '\n');
    /* a bare subcommand the same (loom sim printed its help and nothing else) */
    RUN("sim");
    expect_code(64);
    cr_assert_str_empty(res.out, "stdout: %s", res.out);
    cr_assert_eq(strncmp(res.err, "usage: loom sim gemm", 20), 0, "%s", res.err);
    cr_assert(strstr(res.err, "\nloom: error: a sim command is required: loom sim gemm (see 'loom sim --help')\n"),
              "%s", res.err);
}

Test(cli, unknown_command)
{
    RUN("frobnicate", LENET);
    expect_usage("'frobnicate' is not a loom command.", NULL);
}

/* ---------------------------------------------------------------------- */
/* loom info                                                               */
/* ---------------------------------------------------------------------- */

/* The line of text output that starts with prefix. */
static const char *line_starting(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, prefix, n) == 0)
            return p;
    return NULL;
}

static bool line_is(const char *text, const char *name, const char *type)
{
    /* "  NAME<spaces>TYPE\n" */
    char prefix[128];
    const char *p;
    snprintf(prefix, sizeof prefix, "  %s ", name);
    p = line_starting(text, prefix);
    if (!p)
        return false;
    p += strlen(prefix);
    while (*p == ' ')
        p++;
    return strncmp(p, type, strlen(type)) == 0 && p[strlen(type)] == '\n';
}

Test(cli, info_lenet)
{
    const char *ops;
    RUN("info", LENET);
    expect_code(0);
    cr_assert_str_empty(res.err, "stderr: %s", res.err);
    cr_assert(line_starting(res.out, "model     " LENET "\n") != NULL, "%s", res.out);
    cr_assert(line_starting(res.out, "producer  pytorch 1.13.0\n") != NULL, "%s", res.out);
    cr_assert(line_starting(res.out, "format    ONNX IR 7, opset 13\n") != NULL, "%s", res.out);
    cr_assert(line_is(res.out, "x", "float32[2,1,28,28]"), "%s", res.out);
    cr_assert(line_is(res.out, "y", "float32[2,10]"), "%s", res.out);
    ops = line_starting(res.out, "ops       15 nodes: Conv x2, Relu x4, MaxPool x1, Constant x1, "
                                 "Pad x1, AveragePool x1, Flatten x1, Gemm x3, Softmax x1\n");
    cr_assert_not_null(ops, "%s", res.out);
    cr_assert(line_starting(res.out, "params    10 tensors, 61706 elements, 246824 bytes\n") != NULL,
              "%s", res.out);
    cr_assert(line_starting(res.out, "plan      ok: 10 nodes to run after constant folding and fusion\n") != NULL,
              "%s", res.out);
}

Test(cli, info_symbolic_dims_by_name)
{
    RUN("info", SRC "/examples/classifier/classifier.onnx");
    expect_code(0);
    cr_assert(line_is(res.out, "features", "float32[batch,10]"), "%s", res.out);
    /* inferred with every symbolic dim set to 1 */
    cr_assert(line_is(res.out, "probability", "float32[1,1]"), "%s", res.out);
}

Test(cli, info_json_lenet)
{
    const char *root, *in0, *out0, *ops;
    RUN("info", "--json", LENET);
    expect_code(0);
    cr_assert_str_empty(res.err, "stderr: %s", res.err);
    root = j_doc(res.out);
    cr_assert_eq(*root, '{');
    cr_assert_str_eq(j_compact(j_get(root, "opset")), "13");
    cr_assert_str_eq(j_compact(j_get(root, "ir_version")), "7");
    cr_assert_str_eq(j_compact(j_get(root, "model")), "\"" LENET "\"");
    cr_assert_str_eq(j_compact(j_get(root, "producer")), "\"pytorch\"");
    cr_assert_str_eq(j_compact(j_get(root, "nodes")), "15");
    in0 = j_at(j_get(root, "inputs"), 0);
    cr_assert_str_eq(j_compact(in0), "{\"name\":\"x\",\"dtype\":\"float32\",\"shape\":[2,1,28,28]}");
    cr_assert_null(j_at(j_get(root, "inputs"), 1));
    out0 = j_at(j_get(root, "outputs"), 0);
    cr_assert_str_eq(j_compact(j_get(out0, "name")), "\"y\"");
    cr_assert_str_eq(j_compact(j_get(j_get(out0, "inferred"), "shape")), "[2,10]");
    ops = j_get(root, "ops");
    cr_assert_str_eq(j_compact(ops), "{\"Conv\":2,\"Relu\":4,\"MaxPool\":1,\"Constant\":1,\"Pad\":1,"
                                     "\"AveragePool\":1,\"Flatten\":1,\"Gemm\":3,\"Softmax\":1}");
    cr_assert_str_eq(j_compact(j_get(root, "params")),
                     "{\"tensors\":10,\"elements\":61706,\"bytes\":246824}");
    cr_assert_str_eq(j_compact(j_get(root, "plan")), "{\"ok\":true,\"nodes\":10}");
}

Test(cli, info_json_symbolic_dim)
{
    const char *root;
    RUN("info", SRC "/examples/classifier/classifier.onnx", "--json");
    expect_code(0);
    root = j_doc(res.out);
    cr_assert_str_eq(j_compact(j_get(j_at(j_get(root, "inputs"), 0), "shape")), "[\"batch\",10]");
}

Test(cli, info_usage_errors)
{
    RUN("info");
    expect_usage("info takes exactly one MODEL argument", "info");
    RUN("info", LENET, LENET);
    expect_usage("info takes exactly one MODEL argument", "info");
}

Test(cli, info_bad_option_is_one_loom_line)
{
    /* Every message starts with "loom:"; the option is named. */
    RUN("info", "--bogus", LENET);
    expect_code(64);
    cr_assert_str_empty(res.out);
    cr_assert_eq(count_lines(res.err), 1, "stderr: %s", res.err);
    cr_assert_eq(strncmp(res.err, "loom: error: ", 13), 0, "stderr: %s", res.err);
    cr_assert(strstr(res.err, "--bogus") != NULL, "stderr: %s", res.err);
    cr_assert(strstr(res.err, " (see 'loom info --help')\n") != NULL, "stderr: %s", res.err);
}

Test(cli, info_missing_model)
{
    RUN("info", tpath("missing.onnx"));
    expect_error_line(66, tpath("missing.onnx"), "No such file or directory");
}

static void write_corrupt_model(const char *path)
{
    /* 512 pseudo-random bytes (fixed seed) */
    unsigned char buf[512];
    uint32_t x = 0x12345678u;
    for (size_t i = 0; i < sizeof buf; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (unsigned char)(x >> 24);
    }
    write_bytes(path, buf, sizeof buf);
}

Test(cli, info_corrupt_model)
{
    write_corrupt_model(tpath("corrupt.onnx"));
    RUN("info", tpath("corrupt.onnx"));
    expect_error_line(65, tpath("corrupt.onnx"), NULL);
}

/* x[3] + y[4]: imports, but shape inference fails when planning. */
static void write_unplannable_model(const char *path)
{
    tb_model *b = tb_new(13);
    const uint8_t *bytes;
    size_t len;
    tb_input(b, "a", LOOM_F32, 1, (int64_t[]){3});
    tb_input(b, "b", LOOM_F32, 1, (int64_t[]){4});
    tb_node(b, "Add", "a,b", "c");
    tb_output(b, "c");
    bytes = tb_pack(b, &len);
    write_bytes(path, bytes, len);
    tb_free(b);
}

Test(cli, info_plan_failure)
{
    write_unplannable_model(tpath("bad.onnx"));
    RUN("info", tpath("bad.onnx"));
    expect_code(65);
    cr_assert(line_is(res.out, "a", "float32[3]"), "%s", res.out);
    cr_assert(line_starting(res.out, "outputs\n") != NULL, "%s", res.out);
    cr_assert(line_starting(res.out, "plan      FAILED: ") != NULL, "%s", res.out);
    cr_assert_eq(count_lines(res.err), 1, "stderr: %s", res.err);
    cr_assert_eq(strncmp(res.err, "loom: error: ", 13), 0, "stderr: %s", res.err);
    /* the same message on both */
    cr_assert(strstr(res.out, res.err + 13) != NULL, "stdout: %s\nstderr: %s", res.out, res.err);

    RUN("info", "--json", tpath("bad.onnx"));
    expect_code(65);
    {
        const char *root = j_doc(res.out), *plan = j_get(root, "plan");
        cr_assert_str_eq(j_compact(j_get(plan, "ok")), "false");
        cr_assert_eq(*j_get(plan, "error"), '"');
        cr_assert_null(j_get(j_at(j_get(root, "outputs"), 0), "inferred"));
    }
    cr_assert_eq(count_lines(res.err), 1, "stderr: %s", res.err);
}

/* ---------------------------------------------------------------------- */
/* loom run: every fixture against its golden output                        */
/* ---------------------------------------------------------------------- */

static void run_fixture(const char *model, const char *input, const char *x, const char *golden,
                        const char *out_name)
{
    char arg[1024], outdir[512], file[600], line[1024], names[256];
    loom_tensor *got, *want;
    snprintf(arg, sizeof arg, "%s=%s", input, x);
    snprintf(outdir, sizeof outdir, "%s", tpath("out"));
    RUN("run", model, "--input", arg, "--out", outdir);
    expect_code(0);
    cr_assert_str_empty(res.err, "stderr: %s", res.err);
    snprintf(file, sizeof file, "%s/%s.npy", outdir, out_name);
    want = load_npy(golden);
    got = load_npy(file);
    check_close(got, want, 1e-5, model);
    /* stdout: "NAME TYPE -> FILE" */
    {
        char type[128] = "float32[";
        for (int d = 0; d < loom_tensor_rank(want); d++)
            snprintf(type + strlen(type), sizeof type - strlen(type), "%s%lld", d ? "," : "",
                     (long long)loom_tensor_dims(want)[d]);
        snprintf(line, sizeof line, "%s %s] -> %s\n", out_name, type, file);
    }
    cr_assert_str_eq(res.out, line);
    tb_list_dir(outdir, names, sizeof names);
    snprintf(line, sizeof line, "%s.npy", out_name);
    cr_assert_str_eq(names, line);
    loom_tensor_free(got);
    loom_tensor_free(want);
}

static void run_model_fixture(const char *name)
{
    char model[512], x[512], y[512];
    snprintf(model, sizeof model, "%s/tests/models/%s/model.onnx", SRC, name);
    snprintf(x, sizeof x, "%s/tests/models/%s/x.npy", SRC, name);
    snprintf(y, sizeof y, "%s/tests/models/%s/y.npy", SRC, name);
    run_fixture(model, "x", x, y, "y");
}

Test(cli, run_lenet) { run_model_fixture("lenet"); }
Test(cli, run_resblock) { run_model_fixture("resblock"); }
Test(cli, run_transformer14) { run_model_fixture("transformer14"); }
Test(cli, run_transformer17) { run_model_fixture("transformer17"); }
Test(cli, run_misc) { run_model_fixture("misc"); }
Test(cli, run_opset7) { run_model_fixture("opset7"); }

Test(cli, run_classifier_batch20)
{
    /* the .npy shape binds the symbolic batch dim to 20 */
    run_fixture(SRC "/examples/classifier/classifier.onnx", "features",
                SRC "/examples/classifier/test_x.npy", SRC "/examples/classifier/torch_probs.npy",
                "probability");
}

Test(cli, run_prints_values_without_out)
{
    /* opset7: y is 3x4, printed with %.9g on one line */
    loom_tensor *want = load_npy(SRC "/tests/models/opset7/y.npy");
    const float *w = loom_tensor_cdata(want);
    const char *p;
    char *end;
    RUN("run", SRC "/tests/models/opset7/model.onnx", "-i", SRC "/tests/models/opset7/x.npy");
    expect_code(0);
    cr_assert_str_empty(res.err);
    cr_assert_eq(strncmp(res.out, "y float32[3,4]:\n  ", 18), 0, "%s", res.out);
    p = res.out + 18;
    for (int i = 0; i < 12; i++) {
        double v = strtod(p, &end);
        cr_assert_neq(end, p, "value %d missing: %s", i, res.out);
        cr_assert(fabs(v - w[i]) <= 1e-5, "value %d: %.9g vs %.9g", i, v, w[i]);
        p = end;
    }
    cr_assert_str_eq(p, "\n");
    loom_tensor_free(want);
}

Test(cli, run_truncates_long_outputs)
{
    /* a 2x8x32 transformer output has 512 values: 32 printed, then a count */
    const char *nl;
    RUN("run", SRC "/tests/models/transformer17/model.onnx", "-i",
        SRC "/tests/models/transformer17/x.npy");
    expect_code(0);
    cr_assert_eq(strncmp(res.out, "y float32[2,8,32]:\n  ", 21), 0, "%s", res.out);
    nl = strchr(res.out + 21, '\n');
    cr_assert_not_null(nl);
    {
        int values = 0;
        const char *p = res.out + 21;
        char *end;
        while (p < nl) {
            strtod(p, &end);
            if (end == p)
                break;
            values++;
            p = end;
        }
        cr_assert_eq(values, 32, "%s", res.out);
        cr_assert_str_eq(p, " ... (512 values)\n");
    }
}

/* ---------------------------------------------------------------------- */
/* loom run: output file names                                             */
/* ---------------------------------------------------------------------- */

Test(cli, run_sanitises_output_names)
{
    tb_model *b = tb_new(13);
    const uint8_t *bytes;
    size_t len;
    const float xv[3] = {-1.0f, 2.0f, -3.5f};
    const float relu[3] = {0.0f, 2.0f, 0.0f}, neg[3] = {1.0f, -2.0f, 3.5f};
    loom_tensor *x = tb_f32(1, (int64_t[]){3}, xv), *t;
    char names[1024], arg[600];
    struct {
        const char *name, *file;
        const float *want;
    } outs[] = {
        {"out/put:0", "out_put_0.npy", relu},
        {"../up", "_._up.npy", neg},
        {".hidden", "_hidden.npy", xv},
        {"a b\tc*?", "a_b_c__.npy", relu},
        {"ok-Name_1.2", "ok-Name_1.2.npy", neg},
    };

    tb_input(b, "x", LOOM_F32, 1, (int64_t[]){3});
    tb_node(b, "Relu", "x", "out/put:0");
    tb_node(b, "Neg", "x", "../up");
    tb_node(b, "Identity", "x", ".hidden");
    tb_node(b, "Relu", "x", "a b\tc*?");
    tb_node(b, "Neg", "x", "ok-Name_1.2");
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++)
        tb_output(b, outs[i].name);
    bytes = tb_pack(b, &len);
    write_bytes(tpath("odd.onnx"), bytes, len);
    tb_free(b);
    cr_assert_eq(loom_npy_save(tpath("x.npy"), x), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(mkdir(tpath("out"), 0755), 0);

    snprintf(arg, sizeof arg, "x=%s", tpath("x.npy"));
    RUN("run", tpath("odd.onnx"), "--input", arg, "--out", tpath("out"));
    expect_code(0);
    cr_assert_str_empty(res.err, "stderr: %s", res.err);
    tb_list_dir(tpath("out"), names, sizeof names);
    cr_assert_str_eq(names, "_._up.npy|_hidden.npy|a_b_c__.npy|ok-Name_1.2.npy|out_put_0.npy");
    /* nothing escaped the folder */
    tb_list_dir(dir, names, sizeof names);
    cr_assert_str_eq(names, "odd.onnx|out|x.npy");
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) {
        char file[600], line[800];
        snprintf(file, sizeof file, "%s/%s", tpath("out"), outs[i].file);
        t = load_npy(file);
        cr_assert_eq(loom_tensor_rank(t), 1);
        cr_assert_eq(loom_tensor_dims(t)[0], 3);
        cr_assert_eq(memcmp(loom_tensor_cdata(t), outs[i].want, sizeof xv), 0, "%s", file);
        loom_tensor_free(t);
        /* stdout keeps the real name and shows the file */
        snprintf(line, sizeof line, "%s float32[3] -> %s\n", outs[i].name, file);
        cr_assert(strstr(res.out, line) != NULL, "missing \"%s\" in:\n%s", line, res.out);
    }
    loom_tensor_free(x);
}

/* Two outputs whose names sanitise alike must not overwrite each other:
 * the later one gets "-2" (a bug found in review: a/b and a:b both
 * became a_b.npy and the first was lost). */
Test(cli, run_output_names_that_sanitise_alike)
{
    tb_model *b = tb_new(13);
    const uint8_t *bytes;
    size_t len;
    const float xv[2] = {-1.0f, 2.0f}, relu[2] = {0.0f, 2.0f}, neg[2] = {1.0f, -2.0f};
    loom_tensor *x = tb_f32(1, (int64_t[]){2}, xv), *t;
    char names[512], arg[600], file[600];

    tb_input(b, "x", LOOM_F32, 1, (int64_t[]){2});
    tb_node(b, "Relu", "x", "a/b");
    tb_node(b, "Neg", "x", "a:b");
    tb_output(b, "a/b");
    tb_output(b, "a:b");
    bytes = tb_pack(b, &len);
    write_bytes(tpath("clash.onnx"), bytes, len);
    tb_free(b);
    cr_assert_eq(loom_npy_save(tpath("x.npy"), x), LOOM_OK, "%s", loom_last_error());
    snprintf(arg, sizeof arg, "x=%s", tpath("x.npy"));
    RUN("run", tpath("clash.onnx"), "--input", arg, "--out", tpath("out"));
    expect_code(0);
    tb_list_dir(tpath("out"), names, sizeof names);
    cr_assert_str_eq(names, "a_b-2.npy|a_b.npy");
    snprintf(file, sizeof file, "%s/a_b.npy", tpath("out"));
    t = load_npy(file);
    cr_assert_eq(memcmp(loom_tensor_cdata(t), relu, sizeof relu), 0);
    loom_tensor_free(t);
    snprintf(file, sizeof file, "%s/a_b-2.npy", tpath("out"));
    t = load_npy(file);
    cr_assert_eq(memcmp(loom_tensor_cdata(t), neg, sizeof neg), 0);
    loom_tensor_free(t);
    loom_tensor_free(x);
}

/* Whatever the names, one file per output: "a b" sanitises to "a_b",
 * which another output has as its own name, and "a_b-2" is a third
 * output's own name (before the fix "a b" got a_b-2.npy and one output
 * overwrote another); a name too long for the file system is cut and
 * ends in a stable hash. The mapping is on stdout and in --json. */
Test(cli, run_output_file_names_are_unique_whatever_the_names)
{
    tb_model *b = tb_new(13);
    const uint8_t *bytes;
    size_t len;
    const float xv[2] = {-1.0f, 2.0f};
    loom_tensor *x = tb_f32(1, (int64_t[]){2}, xv), *t;
    char names[2048], arg[600], longname[301], want_long[300];
    const char *ops[4] = {"Relu", "Neg", "Abs", "Identity"};
    const float want[4][2] = {{0.0f, 2.0f}, {1.0f, -2.0f}, {1.0f, 2.0f}, {-1.0f, 2.0f}};
    const char *outs[4] = {"a b", "a_b", "a_b-2", longname};
    const char *root;

    memset(longname, 'n', 300);
    longname[300] = '\0';
    tb_input(b, "x", LOOM_F32, 1, (int64_t[]){2});
    for (int i = 0; i < 4; i++)
        tb_node(b, ops[i], "x", outs[i]);
    for (int i = 0; i < 4; i++)
        tb_output(b, outs[i]);
    bytes = tb_pack(b, &len);
    write_bytes(tpath("clash.onnx"), bytes, len);
    tb_free(b);
    cr_assert_eq(loom_npy_save(tpath("x.npy"), x), LOOM_OK, "%s", loom_last_error());
    snprintf(arg, sizeof arg, "x=%s", tpath("x.npy"));
    RUN("run", tpath("clash.onnx"), "--input", arg, "--out", tpath("out"), "--json");
    expect_code(0);
    root = j_doc(res.out);
    tb_list_dir(tpath("out"), names, sizeof names);
    /* the long name: 183 bytes of it, '-', 16 hex digits of FNV-1a */
    snprintf(want_long, sizeof want_long, "%.183s-", longname);
    cr_assert(strstr(names, want_long) != NULL, "%s", names);
    cr_assert_eq(strncmp(names, "a_b-2.npy|a_b-3.npy|a_b.npy|", 28), 0, "%s", names);
    for (int i = 0; i < 4; i++) {
        const char *o = j_at(j_get(root, "outputs"), i);
        char file[700];
        /* the file each output went to, as --json says: its own data */
        snprintf(file, sizeof file, "%s", j_compact(j_get(o, "file")) + 1);
        file[strlen(file) - 1] = '\0';
        cr_assert(strlen(strrchr(file, '/') + 1) <= 255, "%s", file);
        t = load_npy(file);
        cr_assert_eq(memcmp(loom_tensor_cdata(t), want[i], sizeof want[i]), 0, "output %d in %s", i, file);
        loom_tensor_free(t);
    }
    /* the names that are their own file names kept them */
    cr_assert(strstr(j_compact(j_at(j_get(root, "outputs"), 1)), "/a_b.npy\"") != NULL);
    cr_assert(strstr(j_compact(j_at(j_get(root, "outputs"), 2)), "/a_b-2.npy\"") != NULL);
    cr_assert(strstr(j_compact(j_at(j_get(root, "outputs"), 0)), "/a_b-3.npy\"") != NULL);
    /* the same names twice: the same files (the hash is stable) */
    RUN("run", tpath("clash.onnx"), "--input", arg, "--out", tpath("out"));
    expect_code(0);
    cr_assert(strstr(res.out, "a b float32[2] -> ") && strstr(res.out, "/a_b-3.npy\n"), "%s", res.out);
    {
        char again[2048];
        tb_list_dir(tpath("out"), again, sizeof again);
        cr_assert_str_eq(again, names);
    }
    loom_tensor_free(x);
}

/* ---------------------------------------------------------------------- */
/* loom run: failures                                                      */
/* ---------------------------------------------------------------------- */

Test(cli, run_missing_model)
{
    RUN("run", tpath("missing.onnx"), "-i", LENET_X);
    expect_error_line(66, tpath("missing.onnx"), "No such file or directory");
}

Test(cli, run_corrupt_model)
{
    write_corrupt_model(tpath("corrupt.onnx"));
    RUN("run", tpath("corrupt.onnx"), "-i", LENET_X);
    expect_error_line(65, tpath("corrupt.onnx"), NULL);
}

Test(cli, run_missing_input)
{
    RUN("run", LENET);
    expect_usage("no value for input 'x' (float32[2,1,28,28]): add --input x=FILE.npy", "run");
}

Test(cli, run_usage_errors)
{
    RUN("run");
    expect_usage("run takes exactly one MODEL argument", "run");
    RUN("run", LENET, LENET, "-i", LENET_X);
    expect_usage("run takes exactly one MODEL argument", "run");
    RUN("run", LENET, "-i", "x=" LENET_X, "-i", "x=" LENET_X);
    expect_usage("input 'x' is given twice", "run");
    RUN("run", LENET, "-i", LENET_X, "--repeat", "0");
    expect_usage("--repeat wants a count from 1 to 100000000, not '0'", "run");
    RUN("run", LENET, "-i", LENET_X, "--repeat", "5x");
    expect_usage("--repeat wants a count from 1 to 100000000, not '5x'", "run");
    RUN("run", LENET, "-i", LENET_X, "--repeat", "100000001");
    expect_usage("--repeat wants a count from 1 to 100000000, not '100000001'", "run");
}

Test(cli, run_unnamed_input_needs_single_input_model)
{
    write_unplannable_model(tpath("two.onnx"));
    RUN("run", tpath("two.onnx"), "-i", LENET_X);
    expect_usage("the model has 2 inputs: name each one, as --input NAME=FILE.npy", "run");
}

Test(cli, run_unknown_input_name)
{
    RUN("run", LENET, "-i", "x=" LENET_X, "-i", "nosuch=" LENET_X);
    expect_error_line(64, "\"nosuch\"", NULL);
}

Test(cli, run_wrong_input_shape)
{
    RUN("run", LENET, "--input", "x=" SRC "/tests/models/resblock/x.npy");
    expect_error_line(65, "[2,8,12,12]", "[2,1,28,28]");
}

Test(cli, run_wrong_input_dtype)
{
    loom_tensor *t;
    char arg[600];
    cr_assert_eq(loom_tensor_create(LOOM_I32, 4, (int64_t[]){2, 1, 28, 28}, &t), LOOM_OK);
    cr_assert_eq(loom_npy_save(tpath("i32.npy"), t), LOOM_OK, "%s", loom_last_error());
    loom_tensor_free(t);
    snprintf(arg, sizeof arg, "x=%s", tpath("i32.npy"));
    RUN("run", LENET, "--input", arg);
    expect_code(65);
    cr_assert_str_empty(res.out);
    cr_assert_eq(count_lines(res.err), 1, "stderr: %s", res.err);
    cr_assert_eq(strncmp(res.err, "loom: error: ", 13), 0, "stderr: %s", res.err);
    cr_assert(strstr(res.err, "int32") != NULL, "stderr: %s", res.err);
}

Test(cli, run_malformed_npy)
{
    char arg[600];
    /* a bad magic, then a file that ends inside its header */
    write_bytes(tpath("bad.npy"), "\x93NUMPX\x01\x00\x10\x00{}              \n", 26);
    snprintf(arg, sizeof arg, "x=%s", tpath("bad.npy"));
    RUN("run", LENET, "--input", arg);
    expect_error_line(65, tpath("bad.npy"), "bad magic");
    write_bytes(tpath("trunc.npy"), "\x93NUMPY\x01\x00\x76\x00{'descr'", 19);
    snprintf(arg, sizeof arg, "x=%s", tpath("trunc.npy"));
    RUN("run", LENET, "--input", arg);
    expect_error_line(65, tpath("trunc.npy"), "truncated");
}

Test(cli, run_input_file_missing)
{
    char arg[600];
    snprintf(arg, sizeof arg, "x=%s", tpath("nope.npy"));
    RUN("run", LENET, "--input", arg);
    expect_error_line(66, tpath("nope.npy"), "No such file or directory");
}

Test(cli, run_out_is_a_regular_file)
{
    char *content;
    write_bytes(tpath("file"), "keep me\n", 8);
    RUN("run", LENET, "-i", LENET_X, "--out", tpath("file"));
    expect_error_line(73, tpath("file"), "not a folder");
    content = slurp(tpath("file"));
    cr_assert_str_eq(content, "keep me\n");
    free(content);
}

Test(cli, run_out_cannot_be_created)
{
    RUN("run", LENET, "-i", LENET_X, "--out", tpath("no/such/dir"));
    expect_error_line(73, "cannot create folder", tpath("no/such/dir"));
}

Test(cli, run_out_folder_is_created)
{
    loom_tensor *got, *want;
    char file[600];
    RUN("run", LENET, "-i", LENET_X, "-o", tpath("new"));
    expect_code(0);
    snprintf(file, sizeof file, "%s/y.npy", tpath("new"));
    got = load_npy(file);
    want = load_npy(SRC "/tests/models/lenet/y.npy");
    check_close(got, want, 1e-5, "lenet");
    loom_tensor_free(got);
    loom_tensor_free(want);
}

/* ---------------------------------------------------------------------- */
/* Names from the command line or from files never break the one-line rule  */
/* ---------------------------------------------------------------------- */

Test(cli, newline_in_input_name)
{
    RUN("run", LENET, "-i", "x=" LENET_X, "-i", "a\nb=" LENET_X);
    expect_error_line(64, "\"a?b\"", NULL);
}

Test(cli, newline_in_model_path)
{
    char path[600];
    snprintf(path, sizeof path, "%s", tpath("x\ny.onnx"));
    RUN("info", path);
    expect_error_line(66, "x?y.onnx", "No such file or directory");
}

Test(cli, newline_in_out_path)
{
    char path[600];
    snprintf(path, sizeof path, "%s", tpath("f\ng"));
    write_bytes(path, "keep", 4);
    RUN("run", LENET, "-i", LENET_X, "--out", path);
    expect_error_line(73, "f?g", "not a folder");
}

Test(cli, newline_in_unknown_command)
{
    RUN("a\nb");
    expect_usage("'a?b' is not a loom command.", NULL);
}

/* ---------------------------------------------------------------------- */
/* loom run --repeat / --json                                              */
/* ---------------------------------------------------------------------- */

Test(cli, run_repeat_json_latency)
{
    const char *root, *lat, *out0;
    double mn, med, mean, mx, p90;
    RUN("run", LENET, "-i", LENET_X, "--repeat", "5", "--json", "--device", "ref");
    expect_code(0);
    cr_assert_str_empty(res.err, "stderr: %s", res.err);
    root = j_doc(res.out);
    cr_assert_str_eq(j_compact(j_get(root, "model")), "\"" LENET "\"");
    cr_assert_str_eq(j_compact(j_get(root, "devices")), "\"ref\"");
    cr_assert_str_eq(j_compact(j_get(j_at(j_get(root, "subgraphs"), 0), "device")), "\"ref\"");
    out0 = j_at(j_get(root, "outputs"), 0);
    cr_assert_str_eq(j_compact(out0),
                     "{\"name\":\"y\",\"dtype\":\"float32\",\"shape\":[2,10],\"file\":null}");
    cr_assert_null(j_at(j_get(root, "outputs"), 1));
    lat = j_get(root, "latency");
    cr_assert_not_null(lat, "%s", res.out);
    cr_assert_str_eq(j_compact(j_get(lat, "runs")), "5");
    mn = j_num(j_get(lat, "min_us"));
    med = j_num(j_get(lat, "median_us"));
    mean = j_num(j_get(lat, "mean_us"));
    mx = j_num(j_get(lat, "max_us"));
    p90 = j_num(j_get(lat, "p90_us"));
    cr_assert(med <= p90 && p90 <= mx, "median %g p90 %g max %g", med, p90, mx);
    cr_assert(mn > 0, "min %g", mn);
    cr_assert(mn <= med && med <= mx, "min %g median %g max %g", mn, med, mx);
    cr_assert(mn <= mean && mean <= mx, "min %g mean %g max %g", mn, mean, mx);
}

Test(cli, run_json_without_repeat_has_no_latency)
{
    const char *root;
    char want[800];
    RUN("run", LENET, "-i", LENET_X, "--json", "--out", tpath("o"));
    expect_code(0);
    root = j_doc(res.out);
    cr_assert_null(j_get(root, "latency"));
    snprintf(want, sizeof want, "\"%s/y.npy\"", tpath("o"));
    cr_assert_str_eq(j_compact(j_get(j_at(j_get(root, "outputs"), 0), "file")), want);
}

Test(cli, run_repeat_text)
{
    const char *p;
    double mn, med, p90, mean, mx;
    RUN("run", LENET, "-i", LENET_X, "-n", "3");
    expect_code(0);
    p = line_starting(res.out, "latency over 3 runs: ");
    cr_assert_not_null(p, "%s", res.out);
    cr_assert_eq(sscanf(p, "latency over 3 runs: min %lf us, median %lf us, p90 %lf us, mean %lf us, max %lf us",
                        &mn, &med, &p90, &mean, &mx),
                 5, "%s", p);
    cr_assert(mn > 0 && mn <= med && med <= p90 && p90 <= mx && mn <= mean && mean <= mx, "%s", p);
    cr_assert_eq(p90, mx, "p90 of 3 runs is the largest (nearest rank): %s", p); /* ceil(0.9 * 3) = 3 */
}

/* ---------------------------------------------------------------------- */
/* Every kind of malformed input, through `loom run`: exit 65 (or 66) and  */
/* one line naming the problem                                             */
/* ---------------------------------------------------------------------- */

typedef void (*breaker)(tb_model *b);

/* x[2] -> Relu -> y, with W (an unused initializer) to break */
static tb_model *relu_model(void)
{
    tb_model *b = tb_new(13);
    tb_input(b, "x", LOOM_F32, 1, (int64_t[]){2});
    tb_init(b, "W", LOOM_F32, 1, (int64_t[]){2}, (const float[]){1, 2});
    tb_node(b, "Relu", "x", "y");
    tb_output(b, "y");
    return b;
}

static void run_broken(breaker brk, int code, const char *frag1, const char *frag2)
{
    tb_model *b = relu_model();
    const uint8_t *bytes;
    size_t len;
    char arg[600];
    loom_tensor *x = tb_f32(1, (int64_t[]){2}, (const float[]){1, -1});
    brk(b);
    bytes = tb_pack(b, &len);
    write_bytes(tpath("broken.onnx"), bytes, len);
    tb_free(b);
    cr_assert_eq(loom_npy_save(tpath("x.npy"), x), LOOM_OK, "%s", loom_last_error());
    loom_tensor_free(x);
    snprintf(arg, sizeof arg, "x=%s", tpath("x.npy"));
    RUN("run", tpath("broken.onnx"), "--input", arg);
    expect_error_line(code, frag1, frag2);
}

static void brk_raw_data(tb_model *b) { tb_proto(b)->graph->initializer[0]->raw_data.len = 3; }
static void brk_negative_dim(tb_model *b) { tb_proto(b)->graph->initializer[0]->dims[0] = -2; }
static void brk_dtype(tb_model *b) { tb_proto(b)->graph->initializer[0]->data_type = 14; }
static void brk_unknown_op(tb_model *b) { tb_proto(b)->graph->node[0]->op_type = "FooBar"; }
static void brk_dangling(tb_model *b) { tb_proto(b)->graph->node[0]->input[0] = "nobody"; }
static void brk_opset(tb_model *b) { tb_proto(b)->opset_import[0]->version = 29; }
static void brk_overflow(tb_model *b)
{
    Onnx__TensorProto *t = tb_proto(b)->graph->initializer[0];
    int64_t *dims = tb_alloc(b, 2 * sizeof *dims);
    dims[0] = dims[1] = (int64_t)1 << 40;
    t->dims = dims;
    t->n_dims = 2;
}
static void brk_cycle(tb_model *b)
{
    tb_node(b, "Relu", "z", "w");
    tb_node(b, "Relu", "w", "z");
}
static void brk_attr_type(tb_model *b)
{
    Onnx__NodeProto *n = tb_node(b, "Softmax", "y", "s");
    tb_attr_float(b, n, "axis", 1.0f);
    tb_output(b, "s");
}
static void brk_shape(tb_model *b)
{
    tb_init(b, "V", LOOM_F32, 1, (int64_t[]){3}, (const float[]){1, 2, 3});
    tb_node(b, "Add", "y,V", "s");
    tb_output(b, "s");
}
static void brk_external(tb_model *b)
{
    Onnx__TensorProto *t = tb_proto(b)->graph->initializer[0];
    Onnx__StringStringEntryProto *e = tb_alloc(b, sizeof *e);
    Onnx__StringStringEntryProto **list = tb_alloc(b, sizeof *list);
    onnx__string_string_entry_proto__init(e);
    e->key = "location";
    e->value = "../../etc/passwd";
    list[0] = e;
    t->external_data = list;
    t->n_external_data = 1;
    t->has_raw_data = 0;
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
}
static void brk_external_missing(tb_model *b)
{
    brk_external(b);
    tb_proto(b)->graph->initializer[0]->external_data[0]->value = "weights.bin";
}

Test(cli, malformed_models_exit_65_with_one_line)
{
    run_broken(brk_raw_data, 65, "initializer \"W\"", "raw_data is 3 bytes, expected 8");
    run_broken(brk_negative_dim, 65, "initializer \"W\"", "negative");
    run_broken(brk_dtype, 65, "initializer \"W\"", "complex64");
    run_broken(brk_unknown_op, 65, "FooBar", "Relu_0");
    run_broken(brk_dangling, 65, "\"nobody\"", "not produced");
    run_broken(brk_opset, 65, "opset 29", NULL);
    run_broken(brk_overflow, 65, "initializer \"W\"", "overflow");
    run_broken(brk_cycle, 65, "cycle", NULL);
    run_broken(brk_attr_type, 65, "attribute \"axis\"", "float");
    run_broken(brk_shape, 65, "Add", "do not broadcast");
    run_broken(brk_external, 65, "initializer \"W\"", "..");
    run_broken(brk_external_missing, 66, "weights.bin", "No such file");
}

Test(cli, malformed_protobuf_exits_65_with_one_line)
{
    tb_model *b = relu_model();
    size_t len;
    const uint8_t *bytes = tb_pack(b, &len);
    unsigned char nested[4096];
    size_t n = 0;

    write_bytes(tpath("empty.onnx"), "", 0);
    RUN("info", tpath("empty.onnx"));
    expect_error_line(65, "empty", NULL);

    write_bytes(tpath("cut.onnx"), bytes, len - 5);
    RUN("info", tpath("cut.onnx"));
    expect_error_line(65, "protobuf", "byte");
    tb_free(b);

    /* ModelProto.graph -> GraphProto.node -> NodeProto.attribute ->
     * AttributeProto.g -> ... nested 200 deep, written inside out */
    {
        static unsigned char a[1 << 16], c[1 << 16];
        size_t la = 0;
        for (int d = 0; d < 200; d++) {
            /* node{attribute{g{<a>}}} as field 1 of a GraphProto */
            unsigned char tmp[1 << 16];
            size_t lt = 0;
            tmp[lt++] = 0x32; /* AttributeProto.g (6), length-delimited */
            tmp[lt++] = (unsigned char)(la | 0x80);
            tmp[lt++] = (unsigned char)(la >> 7);
            memcpy(tmp + lt, a, la);
            lt += la;
            c[0] = 0x2a; /* NodeProto.attribute (5) */
            c[1] = (unsigned char)(lt | 0x80);
            c[2] = (unsigned char)(lt >> 7);
            memcpy(c + 3, tmp, lt);
            a[0] = 0x0a; /* GraphProto.node (1) */
            a[1] = (unsigned char)((lt + 3) | 0x80);
            a[2] = (unsigned char)((lt + 3) >> 7);
            memcpy(a + 3, c, lt + 3);
            la = lt + 6;
            if (la > 16000)
                break;
        }
        nested[n++] = 0x08; /* ir_version 8 */
        nested[n++] = 8;
        nested[n++] = 0x3a; /* graph (7) */
        nested[n++] = (unsigned char)(la | 0x80);
        nested[n++] = (unsigned char)(la >> 7);
        cr_assert(n + la < sizeof nested);
        memcpy(nested + n, a, la);
        n += la;
    }
    write_bytes(tpath("nested.onnx"), nested, n);
    RUN("info", tpath("nested.onnx"));
    expect_error_line(65, "nested deeper than 64", NULL);
}

/* ---------------------------------------------------------------------- */
/* Devices and fallback: each fault leaves `auto` (and a non-strict device  */
/* list) with the right outputs, and makes --strict fail with exit 69      */
/* ---------------------------------------------------------------------- */

static bool have_opencl_device(void)
{
    for (size_t i = 0; i < loom_device_count(); i++) {
        loom_device_info d;
        loom_device_get(i, &d);
        if (strcmp(d.backend, "opencl") == 0 && d.healthy)
            return true;
    }
    return false;
}

#define NEED_OPENCL()                                                                          \
    do {                                                                                       \
        if (!have_opencl_device())                                                             \
            cr_skip_test("no OpenCL device here (install pocl-opencl-icd for a CPU device)"); \
    } while (0)

/* x[M,K] . W[K,N] -> Relu -> y, with M*N large enough that the cost
 * model places it on the OpenCL device in auto mode. Writes model.onnx
 * and x.npy; W and x are small integers so every GEMM gets exact sums. */
static void write_gemm_model(int64_t M, int64_t K, int64_t N, bool reduce)
{
    tb_model *b = tb_new(13);
    float *w = malloc((size_t)(K * N) * sizeof *w);
    loom_tensor *x;
    const uint8_t *bytes;
    size_t len;
    for (int64_t i = 0; i < K * N; i++)
        w[i] = (float)((i * 7) % 5) - 2.0f;
    tb_input(b, "x", LOOM_F32, 2, (int64_t[]){M, K});
    tb_init(b, "W", LOOM_F32, 2, (int64_t[]){K, N}, w);
    tb_node(b, "MatMul", "x,W", "h");
    if (reduce) {
        /* y = h . ones[N,1]: row sums (exact: small integers) */
        float *ones = malloc((size_t)N * sizeof *ones);
        for (int64_t i = 0; i < N; i++)
            ones[i] = 1.0f;
        tb_init(b, "V", LOOM_F32, 2, (int64_t[]){N, 1}, ones);
        free(ones);
        tb_node(b, "MatMul", "h,V", "y");
    } else {
        tb_node(b, "Relu", "h", "y");
    }
    tb_output(b, "y");
    bytes = tb_pack(b, &len);
    write_bytes(tpath("model.onnx"), bytes, len);
    tb_free(b);
    free(w);
    cr_assert_eq(loom_tensor_create(LOOM_F32, 2, (int64_t[]){M, K}, &x), LOOM_OK);
    for (int64_t i = 0; i < M * K; i++)
        ((float *)loom_tensor_data(x))[i] = (float)((i * 3) % 7) - 3.0f;
    cr_assert_eq(loom_npy_save(tpath("x.npy"), x), LOOM_OK, "%s", loom_last_error());
    loom_tensor_free(x);
}

/* out/y.npy equals what ref computes (run now into ref/). */
static void expect_same_as_ref(void)
{
    char x[600], a[600], b[600];
    loom_tensor *got, *want;
    snprintf(x, sizeof x, "x=%s", tpath("x.npy"));
    RUN("run", tpath("model.onnx"), "--input", x, "--device", "ref", "--out", tpath("ref"));
    expect_code(0);
    snprintf(a, sizeof a, "%s/y.npy", tpath("out"));
    snprintf(b, sizeof b, "%s/y.npy", tpath("ref"));
    got = load_npy(a);
    want = load_npy(b);
    /* small integers: exact in any summation order */
    cr_assert_eq(loom_tensor_nbytes(got), loom_tensor_nbytes(want));
    cr_assert_eq(memcmp(loom_tensor_cdata(got), loom_tensor_cdata(want), loom_tensor_nbytes(got)), 0,
                 "outputs differ from ref");
    loom_tensor_free(got);
    loom_tensor_free(want);
}

/* Run `loom run` with env under auto and under --device opencl --strict. */
static void fault_case(const char *const *env, const char *warn_frag, const char *strict_frag)
{
    char x[600];
    snprintf(x, sizeof x, "x=%s", tpath("x.npy"));
    RUN_ENV(env, "run", tpath("model.onnx"), "--input", x, "--out", tpath("out"));
    expect_code(0);
    if (warn_frag)
        cr_assert(strstr(res.err, warn_frag) != NULL, "no warning with \"%s\": %s", warn_frag, res.err);
    expect_same_as_ref();
    RUN_ENV(env, "run", tpath("model.onnx"), "--input", x, "--device", "opencl", "--strict", "--out",
            tpath("strict"));
    /* exit 69 and loom's one-line error last (an OpenCL compiler may
     * have printed its own diagnostics before it) */
    expect_code(69);
    cr_assert_str_empty(res.out);
    {
        const char *last = res.err + strlen(res.err);
        cr_assert(last > res.err && last[-1] == '\n', "stderr: %s", res.err);
        for (last -= 1; last > res.err && last[-1] != '\n'; last--)
            ;
        cr_assert_eq(strncmp(last, "loom: error: ", 13), 0, "stderr: %s", res.err);
        cr_assert(strstr(last, strict_frag) != NULL, "no \"%s\" in: %s", strict_frag, last);
    }
    {
        struct stat sb;
        cr_assert_neq(stat(tpath("strict"), &sb), 0, "a failed strict run left an output folder");
    }
}

Test(cli, auto_places_a_big_gemm_on_opencl)
{
    char x[600];
    NEED_OPENCL();
    write_gemm_model(128, 64, 128, false);
    RUN("partition", tpath("model.onnx"), "--json");
    expect_code(0);
    cr_assert(strstr(res.out, "\"device\": \"opencl:") != NULL, "%s", res.out);
    snprintf(x, sizeof x, "x=%s", tpath("x.npy"));
    RUN("run", tpath("model.onnx"), "--input", x, "--out", tpath("out"));
    expect_code(0);
    cr_assert_str_empty(res.err);
    expect_same_as_ref();
}

Test(cli, no_opencl_platform)
{
    char x[600];
    cr_assert_eq(mkdir(tpath("vendors"), 0755), 0);
    write_gemm_model(128, 64, 128, false);
    {
        char env[600];
        snprintf(env, sizeof env, "OCL_ICD_VENDORS=%s", tpath("vendors"));
        RUN_ENV(ENV(env), "devices");
        expect_code(0);
        cr_assert(strstr(res.out, "opencl:") == NULL, "%s", res.out);
        cr_assert(strstr(res.out, "ref ") != NULL, "%s", res.out);
        fault_case(ENV(env), NULL, "\"opencl\" is not available");
        /* non-strict: a warning, then ref */
        snprintf(x, sizeof x, "x=%s", tpath("x.npy"));
        RUN_ENV(ENV(env), "run", tpath("model.onnx"), "--input", x, "--device", "opencl", "--out", tpath("out"));
        expect_code(0);
        cr_assert(strstr(res.err, "warning: device \"opencl\" is not available") != NULL, "%s", res.err);
        expect_same_as_ref();
    }
}

Test(cli, opencl_platform_without_devices)
{
    write_gemm_model(128, 64, 128, false);
    fault_case(ENV("POCL_DEVICES=bogus"), NULL, "\"opencl\" is not available");
}

Test(cli, opencl_build_failure_falls_back)
{
    NEED_OPENCL();
    write_gemm_model(128, 64, 128, false);
    /* a fresh cache, so the injected failure cannot be masked by a binary */
    {
        char cache[600];
        snprintf(cache, sizeof cache, "LOOM_CACHE_DIR=%s", tpath("cache"));
        fault_case(ENV("LOOM_TEST_FAULT=opencl-build", cache), "clBuildProgram",
                   "clBuildProgram: OpenCL error -11 CL_BUILD_PROGRAM_FAILURE");
    }
}

Test(cli, opencl_enqueue_failure_mid_graph_falls_back)
{
    NEED_OPENCL();
    write_gemm_model(128, 64, 128, false);
    /* enqueue 1 uploads W while planning, 2 uploads x, 3 is the GEMM */
    fault_case(ENV("LOOM_TEST_FAULT=opencl-enqueue=3"), "CL_OUT_OF_RESOURCES", "CL_OUT_OF_RESOURCES");
}

Test(cli, opencl_allocation_too_large_falls_back, .timeout = 300)
{
    NEED_OPENCL();
    /* h = x[8192,1] . W[1,8200] is 268.7 MB, over the 256 MiB largest
     * allocation of a PoCL device limited to 1 GB; y = h . ones keeps the
     * output small */
    write_gemm_model(8192, 1, 8200, true);
    /* the partitioner sees the limit: the node goes to ref without
     * costing the device its health, and --strict names it */
    fault_case(ENV("POCL_MEMORY_LIMIT=1"), NULL, "larger than the device's largest allocation");
}

/* A device whose memory is full (clCreateBuffer fails while planning):
 * marked unhealthy, the plan is rebuilt on ref. */
Test(cli, opencl_allocation_failure_falls_back)
{
    NEED_OPENCL();
    write_gemm_model(128, 64, 128, false);
    fault_case(ENV("LOOM_TEST_FAULT=opencl-alloc"), "CL_MEM_OBJECT_ALLOCATION_FAILURE",
               "CL_MEM_OBJECT_ALLOCATION_FAILURE");
}

/* A command that does not complete within LOOM_CL_TIMEOUT is a device
 * failure, not a hung process (the blocking copies used to wait forever). */
Test(cli, opencl_timeout_falls_back)
{
    NEED_OPENCL();
    write_gemm_model(128, 64, 128, false);
    fault_case(ENV("LOOM_TEST_FAULT=opencl-stall", "LOOM_CL_TIMEOUT=0.05"), "timed out after 0.05 s",
               "timed out after 0.05 s");
}

/* The program cache: a second process loads the binary; a truncated or
 * corrupt cache file is removed and rebuilt, never handed to the driver
 * (PoCL does not check a binary's lengths against the file). */
Test(cli, opencl_program_cache_hit_and_bad_files)
{
    char x[600], cache[600], file[700] = "";
    struct stat sb;
    off_t full;
    NEED_OPENCL();
    write_gemm_model(128, 64, 128, false);
    snprintf(x, sizeof x, "x=%s", tpath("x.npy"));
    snprintf(cache, sizeof cache, "LOOM_CACHE_DIR=%s", tpath("cache"));
    RUN_ENV(ENV(cache), "run", tpath("model.onnx"), "--input", x, "--device", "opencl", "--strict", "-vv",
            "--out", tpath("out"));
    expect_code(0);
    cr_assert(strstr(res.err, "program cached in") != NULL, "%s", res.err);
    {
        DIR *d = opendir(tpath("cache"));
        struct dirent *e;
        cr_assert_not_null(d);
        while ((e = readdir(d)))
            if (strncmp(e->d_name, "cl-", 3) == 0)
                snprintf(file, sizeof file, "%s/%s", tpath("cache"), e->d_name);
        closedir(d);
    }
    cr_assert(file[0], "no cache file written");
    cr_assert_eq(stat(file, &sb), 0);
    full = sb.st_size;
    RUN_ENV(ENV(cache), "run", tpath("model.onnx"), "--input", x, "--device", "opencl", "--strict", "-vv",
            "--out", tpath("out"));
    expect_code(0);
    cr_assert(strstr(res.err, "program loaded from") != NULL, "no cache hit: %s", res.err);
    expect_same_as_ref();

    cr_assert_eq(truncate(file, full / 2), 0);
    RUN_ENV(ENV(cache), "run", tpath("model.onnx"), "--input", x, "--device", "opencl", "--strict", "-vv",
            "--out", tpath("out"));
    expect_code(0);
    cr_assert(strstr(res.err, "is truncated: removed, rebuilding") != NULL, "%s", res.err);
    cr_assert_eq(stat(file, &sb), 0);
    /* rebuilt whole: the next run loads it. (Not compared with the first
     * size: PoCL's binary grows with what its own cache already holds, so
     * a rebuild can be larger than a cold first build.) */
    cr_assert_gt(sb.st_size, full / 2, "the cache file was rebuilt");
    expect_same_as_ref();
    RUN_ENV(ENV(cache), "run", tpath("model.onnx"), "--input", x, "--device", "opencl", "--strict", "-vv",
            "--out", tpath("out"));
    expect_code(0);
    cr_assert(strstr(res.err, "program loaded from") != NULL, "the rebuilt file is used: %s", res.err);
    cr_assert_eq(stat(file, &sb), 0);
    full = sb.st_size;

    {
        FILE *f = fopen(file, "r+b");
        cr_assert_not_null(f);
        fseek(f, (long)(full / 2), SEEK_SET);
        fputs("not what the driver wrote", f);
        fclose(f);
    }
    RUN_ENV(ENV(cache), "run", tpath("model.onnx"), "--input", x, "--device", "opencl", "--strict", "-vv",
            "--out", tpath("out"));
    expect_code(0);
    cr_assert(strstr(res.err, "is corrupt (checksum): removed, rebuilding") != NULL, "%s", res.err);
    expect_same_as_ref();
}

/* Window attributes beyond int are refused by the OpenCL backend (the
 * kernels take int: a dilation of 2^31-1 used to wrap and make the pool
 * kernel loop forever); ref runs the node. */
Test(cli, opencl_refuses_windows_beyond_int, .timeout = 60)
{
    tb_model *b = tb_new(13);
    Onnx__NodeProto *n;
    const uint8_t *bytes;
    size_t len;
    char x[600];
    loom_tensor *xt = tb_f32(4, (int64_t[]){1, 1, 8, 8}, NULL);
    NEED_OPENCL();
    for (int i = 0; i < 64; i++)
        ((float *)loom_tensor_data(xt))[i] = (float)(i % 9);
    tb_input(b, "x", LOOM_F32, 4, (int64_t[]){1, 1, 8, 8});
    n = tb_node(b, "MaxPool", "x", "y");
    tb_attr_ints(b, n, "kernel_shape", 2, (int64_t[]){2, 1});
    tb_attr_ints(b, n, "dilations", 2, (int64_t[]){INT32_MAX, 1});
    tb_attr_ints(b, n, "pads", 4, (int64_t[]){INT32_MAX - 3, 0, 0, 0});
    tb_output(b, "y");
    bytes = tb_pack(b, &len);
    write_bytes(tpath("model.onnx"), bytes, len);
    tb_free(b);
    cr_assert_eq(loom_npy_save(tpath("x.npy"), xt), LOOM_OK, "%s", loom_last_error());
    loom_tensor_free(xt);
    snprintf(x, sizeof x, "x=%s", tpath("x.npy"));
    RUN("run", tpath("model.onnx"), "--input", x, "--device", "opencl", "--strict", "--out", tpath("strict"));
    expect_error_line(69, "MaxPool", "window attributes too large for int");
    RUN("run", tpath("model.onnx"), "--input", x, "--device", "opencl", "--out", tpath("out"));
    expect_code(0);
    expect_same_as_ref();
}

/* ---- loom sim gemm ---- */

Test(cli, sim_usage_errors)
{
    RUN("sim", "gemm", "-M", "4", "-N", "4");
    expect_usage("-M, -N and -K are required", "sim gemm");
    RUN("sim", "gemm", "-M", "4", "-N", "4", "-K", "x");
    expect_usage("-K takes a size from 0 to 2147483647, not 'x'", "sim gemm");
    RUN("sim", "gemm", "-M", "4", "-N", "4", "-K", "4", "--act", "gelu");
    expect_usage("--act takes none, relu or lut, not 'gelu'", "sim gemm");
    RUN("sim", "gemm", "-M", "4", "-N", "4", "-K", "4", "--array", "16");
    expect_usage("--array takes ROWSxCOLS, each from 1 to 4096 (e.g. 16x16), not '16'", "sim gemm");
    /* no truncation: 4294967312 is not 16 */
    RUN("sim", "gemm", "-M", "4", "-N", "4", "-K", "4", "--array", "4294967312x16");
    expect_usage("--array takes ROWSxCOLS, each from 1 to 4096 (e.g. 16x16), not '4294967312x16'", "sim gemm");
    RUN("sim", "gemm", "-M", "4", "-N", "4", "-K", "4", "--array", "16x+16");
    expect_usage("--array takes ROWSxCOLS, each from 1 to 4096 (e.g. 16x16), not '16x+16'", "sim gemm");
    RUN("sim", "gemm", "-M", " 4", "-N", "4", "-K", "4");
    expect_usage("-M takes a size from 0 to 2147483647, not ' 4'", "sim gemm");
    RUN("sim", "gemm", "-M", "4", "-N", "4", "-K", "4", "--read-latency", "0");
    expect_usage("--read-latency takes a whole number from 1, not '0'", "sim gemm");
    RUN("sim", "frobnicate");
    expect_usage("'frobnicate' is not a sim command (try: loom sim gemm)", "sim");
    RUN("sim", "gemm", "--help");
    expect_code(0);
    cr_assert(strstr(res.out, "usage: loom sim gemm") && strstr(res.out, "--waveform"), "%s", res.out);
    /* a GEMM beyond the simulator is exit 65, and the help says so */
    cr_assert(strstr(res.out, "65 the GEMM is larger than the simulator takes"), "%s", res.out);
    RUN("sim", "gemm", "-M", "99999999", "-N", "16", "-K", "16");
    expect_error_line(65, "M=99999999 N=16 K=16", "simulator stop");
    RUN("sim", "gemm", "-M", "20000", "-N", "20000", "-K", "1");
    expect_error_line(65, "M=20000 N=20000 K=1", "do not fit the simulated 256 MiB memory");
}

/* What loom dse --json printed, parsed by jansson. */
static json_t *dse_json(void)
{
    json_error_t je;
    json_t *root = json_loads(res.out, 0, &je);
    cr_assert_not_null(root, "loom dse --json: %s: %s", je.text, res.out);
    return root;
}

#ifdef LOOM_WITH_VERILATOR
Test(cli, sim_gemm_json_reports_a_bit_exact_run)
{
    const char *root;
    RUN("sim", "gemm", "-M", "20", "-N", "9", "-K", "300", "--array", "8x8", "--act", "lut",
        "--reset-seed", "11", "--json");
    expect_code(0);
    cr_assert_str_empty(res.err, "stderr: %s", res.err);
    root = j_doc(res.out);
    cr_assert_str_eq(j_compact(j_get(root, "bit_exact")), "true");
    cr_assert_float_eq(j_num(j_get(root, "mismatches")), 0, 0);
    cr_assert_float_eq(j_num(j_get(root, "rows")), 8, 0);
    cr_assert_float_eq(j_num(j_get(root, "reset_seed")), 11, 0);
    cr_assert_float_eq(j_num(j_get(root, "ideal_cycles")), 20.0 * 9 * 300 / 64, 1e-6);
    cr_assert_gt(j_num(j_get(root, "cycles")), j_num(j_get(root, "ideal_cycles")));
    cr_assert_leq(fabs(j_num(j_get(root, "model_error"))), 0.05);
    cr_assert_gt(j_num(j_get(root, "sim_cycles_per_second")), 0);
}

Test(cli, sim_gemm_text_and_watchdog)
{
    RUN("sim", "gemm", "-M", "16", "-N", "16", "-K", "16");
    expect_code(0);
    cr_assert(strstr(res.out, "bit-exact against ref (256 values)"), "%s", res.out);
    cr_assert(strstr(res.out, "utilisation") && strstr(res.out, "reset seed"), "%s", res.out);
    RUN("sim", "gemm", "-M", "64", "-N", "64", "-K", "64", "--watchdog", "100");
    expect_error_line(69, "watchdog: the kernel did not finish in 100 cycles", "state 0x");
    RUN("sim", "gemm", "-M", "4", "-N", "4", "-K", "4", "--array", "3x5");
    expect_error_line(64, "no Verilated model for a 3x5 array", NULL);
}

/* loom dse --gemm: per array size the cycles per inference are the cycle
 * model's sum over the GEMMs, checked on the RTL for the sizes this loom
 * has built (within 5%, bit-exact data) and marked "not built" for the
 * others; each board's latency is those cycles at its kernel clock. */
Test(cli, dse_gemms_over_array_sizes_and_boards, .timeout = 120)
{
    static const int64_t g[3][3] = {{64, 48, 200}, {17, 9, 33}, {100, 16, 64}};
    static const int sizes[3][2] = {{8, 8}, {16, 16}, {5, 3}};
    const char *root, *arrays;
    loom_board *u50;
    double clock;
    RUN("dse", "--no-synth", "--gemm", "64x48x200,17x9x33,100x16x64", "--arrays", "8x8,16x16,5x3", "--boards", "u250,u50",
        "--json");
    expect_code(0);
    cr_assert_str_empty(res.err, "stderr: %s", res.err);
    root = j_doc(res.out);
    arrays = j_get(root, "arrays");
    cr_assert_null(j_at(arrays, 3));
    cr_assert_eq(loom_board_load("u50", &u50), LOOM_OK);
    clock = loom_board_find(u50, "kernel_clock_mhz")->number;
    loom_board_free(u50);
    for (int a = 0; a < 3; a++) {
        const char *ja = j_at(arrays, a), *rtl = j_get(ja, "rtl_check"), *b1;
        loom_vsim_options o = {.rows = sizes[a][0], .cols = sizes[a][1]};
        uint64_t sum = 0, c;
        bool built = a < 2;
        cr_assert_float_eq(j_num(j_get(ja, "rows")), sizes[a][0], 0);
        for (int k = 0; k < 3; k++) {
            cr_assert_eq(loom_vsim_predict_cycles(&o, g[k][0], g[k][1], g[k][2], LOOM_ACT_NONE, &c), LOOM_OK);
            sum += c;
        }
        cr_assert_float_eq(j_num(j_get(ja, "cycles_per_inference")), (double)sum, 0, "array %d", a);
        cr_assert_str_eq(j_compact(j_get(rtl, "built")), built ? "true" : "false");
        if (built) {
            cr_assert_not_null(j_at(j_get(rtl, "samples"), 2), "three samples on %dx%d", o.rows, o.cols);
            cr_assert_leq(fabs(j_num(j_get(rtl, "worst_model_error"))), 0.05);
            cr_assert_gt(j_num(j_get(j_at(j_get(rtl, "samples"), 0), "rtl_cycles")), 0);
        } else {
            cr_assert_str_eq(j_compact(j_get(rtl, "samples")), "[]");
            cr_assert_str_eq(j_compact(j_get(rtl, "worst_model_error")), "null");
        }
        b1 = j_at(j_get(ja, "boards"), 1);
        cr_assert_str_eq(j_compact(j_get(b1, "board")), "\"u50\"");
        cr_assert_float_eq(j_num(j_get(b1, "latency_ms")),
                           j_num(j_get(b1, "cycles_per_inference")) / (clock * 1e3), 1e-9);
        cr_assert(strstr(j_compact(j_get(b1, "provenance")), "projected"));
    }
    RUN("dse", "--no-synth", "--gemm", "64x48x200", "--arrays", "8x8", "--boards", "none");
    expect_code(0);
    cr_assert(strstr(res.out, "8x8") && strstr(res.out, "worst of 1"), "%s", res.out);
}

/* A sweep past one process: --emit slurm writes the points' job array,
 * --point K --out DIR runs one point (and skips one already done), merge
 * joins them into the result a single run gives, naming missing points.
 * (The job array itself is not run under Slurm here: this runs its
 * tasks' command line as Slurm would, SLURM_ARRAY_TASK_ID set.) */
Test(cli, dse_sweep_points_merge_and_resume, .timeout = 120)
{
    char sweep[600], path[700], cmd[800], msg[800], *whole, *script, *merged;
    struct stat sb1, sb2;
    tb_tmpdir("cli-dse-sweep");
    snprintf(sweep, sizeof sweep, "%s/sweep", tb_tmpdir_path());
    RUN("dse", "--no-synth", "--gemm", "64x48x200,17x9x33", "--arrays", "8x8,5x3,16x16", "--boards", "u50", "--json");
    expect_code(0);
    whole = strdup(j_compact(j_get(j_doc(res.out), "arrays")));
    /* the points in two local processes: the same result */
    RUN("dse", "--no-synth", "--gemm", "64x48x200,17x9x33", "--arrays", "8x8,5x3,16x16", "--boards", "u50", "--json", "--jobs", "2");
    expect_code(0);
    cr_assert_str_eq(j_compact(j_get(j_doc(res.out), "arrays")), whole, "--jobs 2 gives what one process gives");
    RUN("dse", "--no-synth", "--gemm", "64x48x200", "--jobs", "0");
    expect_usage("--jobs takes a number of processes from 1 to 64, not '0'", "dse");
    RUN("dse", "--no-synth", "--gemm", "64x48x200,17x9x33", "--arrays", "8x8,5x3,16x16", "--boards", "u50", "--emit", "slurm",
        sweep);
    expect_code(0);
    snprintf(path, sizeof path, "%s/sweep.sh", sweep);
    script = slurp(path);
    cr_assert_eq(access(path, X_OK), 0);
    cr_assert(strstr(script, "#SBATCH --array=0-2\n"), "%s", script);
    snprintf(msg, sizeof msg, "--point \"$SLURM_ARRAY_TASK_ID\" --out '%s'\n", sweep);
    cr_assert(strstr(script, msg), "%s", script);
    free(script);
    /* tasks 0 and 2 run, task 1 "fails" (is not run): merge names it */
    for (int k = 0; k < 3; k += 2) {
        snprintf(cmd, sizeof cmd, "SLURM_ARRAY_TASK_ID=%d sh '%s' >/dev/null", k, path);
        cr_assert_eq(system(cmd), 0, "%s", cmd);
    }
    RUN("dse", "merge", sweep, "--json");
    cr_assert_eq(res.code, 69);
    snprintf(msg, sizeof msg, "point 1 of %s is missing", sweep);
    cr_assert(strstr(res.err, msg), "%s", res.err);
    snprintf(msg, sizeof msg, "1 of 3 points of %s are missing", sweep);
    cr_assert(strstr(res.err, msg), "%s", res.err);
    /* resume: the missing point runs, a done one is not run again */
    snprintf(path, sizeof path, "%s/point-000.json", sweep);
    cr_assert_eq(stat(path, &sb1), 0);
    RUN("dse", "--no-synth", "--gemm", "64x48x200,17x9x33", "--arrays", "8x8,5x3,16x16", "--boards", "u50", "--point", "0",
        "--out", sweep);
    expect_code(0);
    cr_assert(strstr(res.out, "done already"), "%s", res.out);
    cr_assert_eq(stat(path, &sb2), 0);
    cr_assert(sb1.st_ino == sb2.st_ino && sb1.st_mtim.tv_nsec == sb2.st_mtim.tv_nsec, "point 0 was rewritten");
    RUN("dse", "--no-synth", "--gemm", "64x48x200,17x9x33", "--arrays", "8x8,5x3,16x16", "--boards", "u50", "--point", "1",
        "--out", sweep);
    expect_code(0);
    cr_assert(strstr(res.out, "point-001.json: written"), "%s", res.out);
    RUN("dse", "merge", sweep, "--json");
    expect_code(0);
    merged = strdup(j_compact(j_get(j_doc(res.out), "arrays")));
    cr_assert_str_eq(merged, whole, "the merged points are the single run's result");
    RUN("dse", "merge", sweep);
    expect_code(0);
    cr_assert(strstr(res.out, "5x3") && strstr(res.out, "not built"), "%s", res.out);
    RUN("dse", "merge", "/nowhere/at/all");
    expect_error_line(66, "/nowhere/at/all: not a sweep folder of loom dse --emit", NULL);
    RUN("dse", "--no-synth", "--gemm", "4x4x4", "--point", "1");
    expect_usage("--point and --out go together: --point K --out DIR", "dse");
    RUN("dse", "--no-synth", "--gemm", "4x4x4", "--arrays", "8x8", "--point", "1", "--out", sweep);
    expect_usage("--point 1: the sweep has points 0 to 0", "dse");
    free(merged);
    free(whole);
    tb_tmpdir_remove();
}

/* A file copied from src into the test folder under name. */
static void copy_into(const char *src, const char *name)
{
    char *text = slurp(src);
    write_bytes(tpath(name), text, strlen(text));
    free(text);
}


/* loom dse's FPGA resources (yosys) and board fit: two array sizes
 * synthesised into a private cache, their cells counted (a DSP per PE at
 * least; more DSPs, flip-flops and LUT RAM for the larger one), each board's fit
 * decided from its own figures (a board too small is marked, names the
 * resource, and is off the Pareto front), the modelled energy from the
 * energy table's per-action figures scaled to the board's node, and the
 * power-limit bound; a second run reads the cache; --report writes the
 * page, the CSV and the JSON. Skipped without yosys. */
Test(cli, dse_resources_fit_energy_and_report, .timeout = 1800)
{
    const char *env[] = {NULL, NULL, NULL, NULL}; /* NULL-terminated: the last stays NULL */
    char cache_env[1200], boards_env[1200];
    cli_opts o = {.timeout_s = 1500};
    json_t *root, *arrays;
    size_t i, k;
    const json_t *ja, *jb;
    loom_board *u50, *tab;
    double dsp_prev = 0, ff_prev = 0, lutram_prev = 0;
    if (system("command -v yosys >/dev/null 2>&1") != 0)
        cr_skip_test("yosys is not installed (Debian package yosys): no resources to check");
    cr_assert_eq(mkdir(tpath("boards"), 0700), 0);
    copy_into(SRC "/boards/u50.json", "boards/u50.json");
    copy_into(SRC "/boards/horowitz-45nm.json", "boards/horowitz-45nm.json");
    {
        /* a card with a few thousand LUTs: nothing fits on it */
        static const char tiny[] =
            "{\"name\": \"tiny\", \"kind\": \"fpga\", \"title\": \"A small test card\", \"figures\": {"
            "\"part\": {\"value\": \"xcup-test\", \"source\": \"T\"},"
            "\"xrt_platform\": {\"value\": \"none\", \"source\": \"T\"},"
            "\"lut\": {\"value\": 4000, \"unit\": \"count\", \"source\": \"T\"},"
            "\"dsp\": {\"value\": 9000, \"unit\": \"count\", \"source\": \"T\"},"
            "\"bram36\": {\"value\": 10, \"unit\": \"count\", \"source\": \"T\"},"
            "\"kernel_clock_mhz\": {\"value\": 100, \"unit\": \"MHz\", \"source\": \"T\"},"
            "\"memory_type\": {\"value\": \"DDR4\", \"source\": \"T\"},"
            "\"memory_gib\": {\"value\": 1, \"unit\": \"GiB\", \"source\": \"T\"},"
            "\"memory_bandwidth_gbps\": {\"value\": 10, \"unit\": \"GB/s\", \"source\": \"T\"},"
            "\"power_limit_w\": {\"value\": 10, \"unit\": \"W\", \"source\": \"T\"}},"
            "\"sources\": {\"T\": \"made up for a test\"}}";
        write_bytes(tpath("boards/tiny.json"), tiny, strlen(tiny));
    }
    snprintf(cache_env, sizeof cache_env, "LOOM_CACHE_DIR=%s", tpath("cache"));
    snprintf(boards_env, sizeof boards_env, "LOOM_BOARDS_DIR=%s", tpath("boards"));
    env[0] = cache_env;
    env[1] = boards_env;
    o.env = env;
    RUN_OPTS(o, "dse", "--gemm", "64x48x200,17x9x33", "--arrays", "2x2,3x2", "--boards", "u50,tiny", "--jobs", "2",
             "--json");
    expect_code(0);
    cr_assert(strstr(res.err, "synthesising the 2x2 array with yosys"), "%s", res.err);
    root = dse_json();
    arrays = json_object_get(root, "arrays");
    cr_assert_eq(json_array_size(arrays), 2);
    cr_assert_eq(loom_board_load(SRC "/boards/u50.json", &u50), LOOM_OK);
    cr_assert_eq(loom_board_load(SRC "/boards/horowitz-45nm.json", &tab), LOOM_OK);
    json_array_foreach(arrays, i, ja) {
        const json_t *r = json_object_get(ja, "resources"), *act = json_object_get(ja, "activity_per_inference");
        int rows = (int)json_integer_value(json_object_get(ja, "rows"));
        int cols = (int)json_integer_value(json_object_get(ja, "cols"));
        loom_vsim_options vo = {.rows = rows, .cols = cols};
        double slots = 0, dram = 0, lut = json_number_value(json_object_get(r, "lut"));
        double dsp = json_number_value(json_object_get(r, "dsp"));
        static const int64_t g[2][3] = {{64, 48, 200}, {17, 9, 33}};
        cr_assert(json_is_object(r), "resources for %dx%d", rows, cols);
        cr_assert(strncmp(json_string_value(json_object_get(r, "tool")), "Yosys ", 6) == 0);
        cr_assert_geq(dsp, rows * cols, "a DSP per PE at least: %g on %dx%d", dsp, rows, cols);
        cr_assert_gt(lut, 1000);
        cr_assert_gt(json_number_value(json_object_get(r, "ff")), 1000);
        /* a row more: more cells, accumulators and scratchpad lanes (the
         * LUT count is ABC's mapping: not compared, it can go either way) */
        cr_assert_gt(dsp, dsp_prev);
        cr_assert_gt(json_number_value(json_object_get(r, "ff")), ff_prev);
        cr_assert_gt(json_number_value(json_object_get(r, "lutram")), lutram_prev);
        dsp_prev = dsp, ff_prev = json_number_value(json_object_get(r, "ff"));
        lutram_prev = json_number_value(json_object_get(r, "lutram"));
        /* the activity is the model's, GEMM by GEMM */
        for (int q = 0; q < 2; q++) {
            loom_vsim_activity a;
            cr_assert_eq(loom_vsim_predict(&vo, g[q][0], g[q][1], g[q][2], LOOM_ACT_NONE, &a), LOOM_OK);
            cr_assert_geq((double)a.mac_slots, a.macs);
            slots += (double)a.mac_slots;
            dram += (double)(a.bytes_read + a.bytes_written);
        }
        cr_assert_float_eq(json_number_value(json_object_get(act, "mac_slots")), slots, 0);
        cr_assert_float_eq(json_number_value(json_object_get(act, "dram_bytes")), dram, 0);
        json_array_foreach(json_object_get(ja, "boards"), k, jb) {
            const json_t *fit = json_object_get(jb, "fit");
            const char *name = json_string_value(json_object_get(jb, "board"));
            double lat = json_number_value(json_object_get(jb, "latency_ms"));
            if (strcmp(name, "u50") == 0) {
                /* the tightest share, from the board file's figures */
                double want = 0;
                static const char *const keys[] = {"lut", "ff", "dsp", "bram36", "uram"};
                for (int q = 0; q < 5; q++) {
                    const loom_board_figure *f = loom_board_find(u50, keys[q]);
                    double need = json_number_value(json_object_get(r, keys[q]));
                    if (f && need / f->number > want)
                        want = need / f->number;
                }
                cr_assert(json_is_true(json_object_get(fit, "fits")), "%dx%d fits a U50", rows, cols);
                cr_assert_float_eq(json_number_value(json_object_get(fit, "tightest_share")), want, 1e-12);
                /* energy: (int8 mul + int32 add) per MAC slot, scaled by
                 * (16 / 45) x (0.85 / 0.9)^2; the bound is 75 W x latency */
                cr_assert_float_eq(json_number_value(json_object_get(jb, "energy_mac_mj")),
                                   slots * (0.2 + 0.1) * 1e-12 * (16.0 / 45) * (0.85 / 0.9) * (0.85 / 0.9) * 1e3,
                                   1e-15);
                cr_assert_float_eq(json_number_value(json_object_get(jb, "energy_dram_mj")),
                                   dram * 1300 / 8 * 1e-12 * 1e3, 1e-15);
                cr_assert_float_eq(json_number_value(json_object_get(jb, "energy_bound_mj")), 75 * lat, 1e-9);
                cr_assert_gt(json_number_value(json_object_get(jb, "energy_bound_mj")),
                             json_number_value(json_object_get(jb, "energy_mj")));
            } else {
                cr_assert_str_eq(name, "tiny");
                cr_assert(json_is_false(json_object_get(fit, "fits")), "nothing fits the tiny card");
                cr_assert_str_eq(json_string_value(json_object_get(fit, "tightest")), "lut");
                cr_assert_float_eq(json_number_value(json_object_get(fit, "tightest_share")), lut / 4000, 1e-12);
                cr_assert_str_eq(json_string_value(json_array_get(json_object_get(fit, "not_checked"), 0)), "ff");
                cr_assert(json_is_false(json_object_get(jb, "pareto")));
                /* unscaled: the tiny card gives no node or voltage */
                cr_assert_float_eq(json_number_value(json_object_get(jb, "energy_scale")), 1.0, 0);
            }
        }
    }
    loom_board_free(u50);
    loom_board_free(tab);
    json_decref(root);

    /* again: from the cache, nothing synthesised; the table says it all */
    RUN_OPTS(o, "dse", "--gemm", "64x48x200,17x9x33", "--arrays", "2x2,3x2", "--boards", "u50,tiny", "--report",
             tpath("report"));
    expect_code(0);
    cr_assert(!strstr(res.err, "synthesising"), "the cached estimates were not used: %s", res.err);
    cr_assert(strstr(res.err, "report written to"), "%s", res.err);
    cr_assert(strstr(res.out, "resources: Yosys ") && strstr(res.out, "NO: lut") && strstr(res.out, "yes: "),
              "%s", res.out);
    {
        char *html = slurp(tpath("report/index.html")), *csv = slurp(tpath("report/dse.csv"));
        char *js = slurp(tpath("report/dse.json"));
        cr_assert_eq(count_lines(csv), 1 + 2 * 2, "%s", csv);
        cr_assert(strncmp(csv, "array,rows,cols,board,", 22) == 0);
        cr_assert(strstr(csv, "\n2x2,2,2,tiny,") && strstr(csv, ",no,lut,"), "%s", csv);
        cr_assert(strstr(js, "\"resources\"") && strstr(js, "\"pareto\""));
        cr_assert(strstr(html, "<table>") && strstr(html, "application/json"));
        if (access("/usr/share/javascript/chart.js/chart.min.js", R_OK) == 0)
            cr_assert(strstr(html, "Chart.js v") && strstr(html, "new Chart("), "Chart.js is embedded");
        else
            cr_assert(strstr(html, "No charts: Chart.js is not installed"));
        free(html), free(csv), free(js);
    }

    /* no yosys: the sweep still runs, and says why there are no resources */
    env[2] = "LOOM_YOSYS=/nonexistent/yosys";
    RUN_OPTS(o, "dse", "--gemm", "64x48x200", "--arrays", "2x2", "--boards", "tiny", "--json");
    expect_code(0);
    root = dse_json();
    ja = json_array_get(json_object_get(root, "arrays"), 0);
    cr_assert(json_is_null(json_object_get(ja, "resources")));
    cr_assert(strstr(json_string_value(json_object_get(ja, "resources_note")), "yosys is not installed"));
    cr_assert(json_is_null(json_object_get(json_array_get(json_object_get(ja, "boards"), 0), "fit")));
    json_decref(root);
    /* a yosys that fails: exit 69 with its log's end */
    {
        static const char fake[] = "#!/bin/sh\n[ \"$1\" = -V ] && { echo 'Yosys 0.0 (fake)'; exit 0; }\n"
                                   "echo 'ERROR: the fake yosys fails on purpose' >&2\nexit 1\n";
        static char fenv[1200];
        write_bytes(tpath("yosys"), fake, strlen(fake));
        cr_assert_eq(chmod(tpath("yosys"), 0755), 0);
        snprintf(fenv, sizeof fenv, "LOOM_YOSYS=%s", tpath("yosys"));
        env[2] = fenv;
    }
    RUN_OPTS(o, "dse", "--gemm", "64x48x200", "--arrays", "2x2", "--boards", "tiny");
    expect_code(69);
    cr_assert(strstr(res.err, "loom: error: resources: yosys failed on the 2x2 array: ERROR: the fake yosys fails "
                              "on purpose"), "%s", res.err);
    cr_assert_str_empty(res.out);
    RUN("dse", "--gemm", "64x48x200", "--boards", "none", "--energy", "u50");
    expect_error_line(64, "--energy: u50 is not an energy table (its kind is fpga", NULL);
}

/* A synthesis past --synth-timeout is stopped (yosys and what it
 * started) and the sweep goes on without that size's resources. */
Test(cli, dse_synthesis_past_its_timeout_is_left_out, .timeout = 60)
{
    static const char fake[] = "#!/bin/sh\n[ \"$1\" = -V ] && { echo 'Yosys 0.0 (slow fake)'; exit 0; }\n"
                               "sleep 30\n";
    char yenv[1200], cenv[1200];
    const char *env[] = {yenv, cenv, NULL};
    json_t *root;
    const json_t *ja;
    double t0;
    write_bytes(tpath("yosys"), fake, strlen(fake));
    cr_assert_eq(chmod(tpath("yosys"), 0755), 0);
    snprintf(yenv, sizeof yenv, "LOOM_YOSYS=%s", tpath("yosys"));
    snprintf(cenv, sizeof cenv, "LOOM_CACHE_DIR=%s", tpath("cache"));
    t0 = (double)time(NULL);
    RUN_ENV(env, "dse", "--gemm", "64x48x200", "--arrays", "2x2", "--boards", "u50", "--synth-timeout", "1",
            "--json");
    expect_code(0);
    cr_assert_lt((double)time(NULL) - t0, 20, "the fake yosys was not stopped");
    cr_assert(strstr(res.err, "yosys ran past --synth-timeout (1 s) on 2x2"), "%s", res.err);
    root = dse_json();
    ja = json_array_get(json_object_get(root, "arrays"), 0);
    cr_assert(json_is_null(json_object_get(ja, "resources")));
    cr_assert(strstr(json_string_value(json_object_get(ja, "resources_note")), "ran past --synth-timeout"));
    cr_assert(json_is_null(json_object_get(json_array_get(json_object_get(ja, "boards"), 0), "fit")));
    json_decref(root);
    RUN("dse", "--gemm", "64x48x200", "--synth-timeout", "0");
    expect_usage("--synth-timeout takes seconds from 1 to 86400, not '0'", "dse");
}

/* loom dse MODEL: the GEMMs are the quantised model's int8 nodes. */
Test(cli, dse_of_a_quantised_model_and_its_errors, .timeout = 120)
{
    const char *lenet = LOOM_SOURCE_DIR "/tests/models/lenet/model.onnx";
    const char *root;
    char q[600];
    tb_tmpdir("cli-dse");
    snprintf(q, sizeof q, "%s/q.onnx", tb_tmpdir_path());
    RUN("quantize", lenet, "--calib", LOOM_SOURCE_DIR "/tests/models/lenet/x.npy", "-o", q);
    expect_code(0);
    RUN("dse", "--no-synth", q, "--arrays", "16x16", "--boards", "none", "--rtl-samples", "1", "--json");
    expect_code(0);
    root = j_doc(res.out);
    cr_assert_not_null(j_at(j_get(root, "gemms"), 4), "LeNet's 5 int8 nodes");
    cr_assert_null(j_at(j_get(root, "gemms"), 5));
    cr_assert_not_null(j_at(j_get(j_get(j_at(j_get(root, "arrays"), 0), "rtl_check"), "samples"), 0));
    RUN("dse", "--no-synth", lenet);
    expect_error_line(65, "no int8 Conv, Gemm or MatMul node", "loom quantize");
    RUN("dse");
    expect_usage("give a MODEL.onnx or --gemm, one of the two", "dse");
    RUN("dse", "--no-synth", q, "--gemm", "4x4x4");
    expect_usage("give a MODEL.onnx or --gemm, one of the two", "dse");
    RUN("dse", "--no-synth", "--gemm", "4x4");
    expect_usage("--gemm takes MxNxK sizes from 1 (e.g. 256x256x256), not '4x4'", "dse");
    RUN("dse", "--no-synth", "--gemm", "4x4x4", "--arrays", "1x4");
    expect_usage("--arrays takes ROWSxCOLS sizes, each 2 to 64 (e.g. 8x8,16x16), not '1x4'", "dse");
    RUN("dse", "--no-synth", "--gemm", "4x4x4", "--boards", "a100");
    expect_usage("--boards: a100 is a gpu board, not an FPGA one", "dse");
    /* a GEMM the kernel does not take: 65, before any table is printed */
    RUN("dse", "--no-synth", "--gemm", "16x16x100000", "--boards", "none");
    expect_error_line(65, "M=16 N=16 K=100000 is outside the kernel's limits", NULL);
    RUN("dse", "--no-synth", "/nowhere/missing.onnx");
    expect_code(66);
    tb_tmpdir_remove();
}
#else
Test(cli, sim_gemm_without_verilator_is_unavailable)
{
    RUN("sim", "gemm", "-M", "4", "-N", "4", "-K", "4");
    expect_error_line(69, "built without Verilator", "apt-get install verilator");
}
#endif

/* ---- loom bench, loom run --trace ---- */

/* A fake RAPL package under root whose counter rises by 1000 uJ every
 * 5 ms (0.2 W), written whole each time (a rename), until killed. */
static pid_t rapl_writer(const char *root, bool moving)
{
    char d[1024], path[1200], tmp[1200];
    pid_t pid;
    snprintf(d, sizeof d, "%s/sys", root);
    mkdir(d, 0755);
    snprintf(d, sizeof d, "%s/sys/class", root);
    mkdir(d, 0755);
    snprintf(d, sizeof d, "%s/sys/class/powercap", root);
    mkdir(d, 0755);
    snprintf(d, sizeof d, "%s/sys/class/powercap/intel-rapl:0", root);
    mkdir(d, 0755);
    snprintf(path, sizeof path, "%s/name", d);
    write_bytes(path, "package-0\n", 10);
    snprintf(path, sizeof path, "%s/max_energy_range_uj", d);
    write_bytes(path, "262143328850\n", 13);
    snprintf(path, sizeof path, "%s/energy_uj", d);
    write_bytes(path, "1000\n", 5);
    if (!moving)
        return 0;
    snprintf(tmp, sizeof tmp, "%s/.energy_uj.tmp", d);
    fflush(NULL);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        for (unsigned long long uj = 1000;; uj += 1000) {
            FILE *f = fopen(tmp, "w");
            if (f) {
                fprintf(f, "%llu\n", uj);
                fclose(f);
                rename(tmp, path);
            }
            nanosleep(&(struct timespec){.tv_nsec = 5 * 1000 * 1000}, NULL);
        }
    }
    return pid;
}

/* loom bench: per device the windows, the latency figures from the raw
 * latencies, and energy from the meter that covers the device (a fake
 * RAPL package: measured, idle power read, about as much above idle as
 * the counter's constant rate allows); a stalled counter and no meter
 * are said, never shown as energy. */
Test(cli, bench_latency_and_metered_energy, .timeout = 120)
{
    char root_env[1200];
    const char *env[] = {root_env, "LOOM_NVML_LIB=/nonexistent/libnvidia-ml.so.1", NULL};
    json_t *root, *dev, *e, *lat;
    pid_t w;
    size_t i, total = 0;
    const json_t *win;
    double prev = 0;
    snprintf(root_env, sizeof root_env, "LOOM_SYSFS_ROOT=%s", dir);
    chmod(dir, 0755);
    w = rapl_writer(dir, true);
    RUN_ENV(env, "bench", LENET, "--devices", "ref", "--duration", "0.3", "--repeats", "3", "--warmup", "1",
            "--json");
    kill(w, SIGKILL);
    waitpid(w, NULL, 0);
    expect_code(0);
    root = dse_json();
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(root, "meters"), 0), "name")),
                     "rapl:package-0");
    dev = json_array_get(json_object_get(root, "devices"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(dev, "device")), "ref");
    cr_assert_eq(json_integer_value(json_object_get(dev, "nodes_on_device")),
                 json_integer_value(json_object_get(dev, "nodes")));
    cr_assert_eq(json_array_size(json_object_get(dev, "windows")), 3);
    json_array_foreach(json_object_get(dev, "windows"), i, win) {
        cr_assert_geq(json_number_value(json_object_get(win, "seconds")), 0.3);
        total += (size_t)json_integer_value(json_object_get(win, "inferences"));
    }
    cr_assert_eq((json_int_t)total, json_integer_value(json_object_get(dev, "inferences")));
    cr_assert_eq(json_array_size(json_object_get(dev, "latencies_ms")), total);
    lat = json_object_get(dev, "latency_ms");
    {
        /* the figures are the raw latencies' */
        double *v = malloc(total * sizeof *v), sum = 0;
        for (i = 0; i < total; i++)
            sum += v[i] = json_number_value(json_array_get(json_object_get(dev, "latencies_ms"), i));
        cr_assert_float_eq(json_number_value(json_object_get(lat, "mean")), sum / (double)total, 1e-9);
        for (i = 0; i < total; i++) {
            cr_assert_geq(v[i], json_number_value(json_object_get(lat, "min")));
            cr_assert_leq(v[i], json_number_value(json_object_get(lat, "max")));
        }
        free(v);
    }
    static const char *const order[] = {"min", "p50", "p90", "p99", "max"};
    for (int q = 0; q < 5; q++) {
        double x = json_number_value(json_object_get(lat, order[q]));
        cr_assert_geq(x, prev, "%s", order[q]);
        prev = x;
    }
    e = json_object_get(dev, "energy");
    cr_assert(strstr(json_string_value(json_object_get(e, "provenance")), "measured: rapl:package-0 (CPU package"),
              "%s", res.out);
    cr_assert_gt(json_integer_value(json_object_get(e, "meter_updates")), 10);
    /* at most 0.2 W busy and idle alike (the writer only falls behind on
     * a loaded machine), and per inference that power over the throughput */
    cr_assert(json_number_value(json_object_get(e, "average_w")) > 0.02 &&
                  json_number_value(json_object_get(e, "average_w")) < 0.3, "%s", res.out);
    cr_assert(json_number_value(json_object_get(e, "idle_w_before")) > 0.02 &&
                  json_number_value(json_object_get(e, "idle_w_before")) < 0.3, "%s", res.out);
    cr_assert_float_eq(json_number_value(json_object_get(e, "per_inference_j")),
                       json_number_value(json_object_get(e, "average_w")) /
                           json_number_value(json_object_get(dev, "throughput_per_s")),
                       1e-9);
    cr_assert_float_eq(json_number_value(json_object_get(e, "inferences_per_joule")),
                       1 / json_number_value(json_object_get(e, "per_inference_j")), 1e-6);
    json_decref(root);

    /* the counter stalls: no energy, and why */
    RUN_ENV(env, "bench", LENET, "--devices", "ref", "--duration", "0.1", "--repeats", "1", "--json");
    expect_code(0);
    root = dse_json();
    e = json_object_get(json_array_get(json_object_get(root, "devices"), 0), "energy");
    cr_assert_str_eq(json_string_value(json_object_get(e, "source")), "modelled");
    cr_assert(strstr(json_string_value(json_object_get(e, "why_not_measured")), "stalled"), "%s", res.out);
    json_decref(root);
    /* no meter at all: said in the table */
    tb_rmtree(tpath("sys"));
    RUN_ENV(env, "bench", LENET, "--devices", "ref", "--duration", "0.1", "--repeats", "1");
    expect_code(0);
    cr_assert(strstr(res.out, "ref: modelled: horowitz-45nm per action") &&
                  strstr(res.out, "(not measured: no meter covers this device here)") && strstr(res.out, "rapl: no "),
              "%s", res.out);
    RUN("bench", LENET, "--duration", "0");
    expect_usage("--duration takes seconds from 0.05 to 3600, not '0'", "bench");
    RUN("bench", LENET, "--repeats", "0");
    expect_usage("--repeats takes a count from 1 to 100, not '0'", "bench");
    RUN("bench");
    expect_usage("bench takes exactly one MODEL argument", "bench");
    RUN("bench", LENET, "--devices", "nosuch", "--duration", "0.05", "--repeats", "1");
    cr_assert_neq(res.code, 0);
}

/* loom bench's schema: measured rows (latency measured, energy modelled
 * where no meter covers the device) apart from projected ones (every
 * board: an FPGA card's int8 GEMM nodes at its kernel clock, the rest on
 * the host, the copies over its link; a GPU or CPU roofline); every
 * figure has its provenance; the sums add up. */
Test(cli, bench_modelled_energy_and_projected_boards, .timeout = 300)
{
    char root_env[1200];
    const char *env[] = {root_env, "LOOM_NVML_LIB=/nonexistent/libnvidia-ml.so.1", NULL};
    char q[1100];
    json_t *root, *r, *e;
    size_t i;
    snprintf(q, sizeof q, "%s/q.onnx", dir);
    snprintf(root_env, sizeof root_env, "LOOM_SYSFS_ROOT=%s", dir); /* no meter: modelled energy */
    RUN("quantize", SRC "/examples/classifier/classifier.onnx", "--calib", SRC "/examples/classifier/calib_x.npy",
        "-o", q);
    expect_code(0);
    RUN_ENV(env, "bench", q, "--devices", "ref", "--boards", "u250,u50,h100,epyc9654", "--model", "--duration",
            "0.1", "--repeats", "1", "--warmup", "1", "--json");
    expect_code(0);
    root = dse_json();
    cr_assert_eq(json_array_size(json_object_get(root, "devices")), 1);
    r = json_array_get(json_object_get(root, "devices"), 0);
    cr_assert(json_is_false(json_object_get(r, "projected")));
    cr_assert_null(json_object_get(r, "board"));
    cr_assert(!strncmp(json_string_value(json_object_get(r, "latency_provenance")), "measured:", 9));
    e = json_object_get(r, "energy");
    cr_assert_str_eq(json_string_value(json_object_get(e, "source")), "modelled");
    cr_assert(!strncmp(json_string_value(json_object_get(e, "provenance")), "modelled: horowitz-45nm", 23));
    cr_assert_str_eq(json_string_value(json_object_get(e, "why_not_measured")), "no meter covers this device here");
    /* the classifier's two int8 GEMMs (10x32 and 32x1 weights) and the
     * rest, at the table's energies: a positive figure, its parts adding up */
    cr_assert_gt(json_number_value(json_object_get(e, "per_inference_j")), 0);
    cr_assert_float_eq(json_number_value(json_object_get(e, "arithmetic_j")) +
                           json_number_value(json_object_get(e, "memory_j")),
                       json_number_value(json_object_get(e, "per_inference_j")), 1e-18);
    cr_assert_float_eq(json_number_value(json_object_get(e, "inferences_per_joule")),
                       1 / json_number_value(json_object_get(e, "per_inference_j")), 1);
    cr_assert_eq(json_array_size(json_object_get(r, "per_node")), json_integer_value(json_object_get(r, "nodes")));
    cr_assert_eq(json_array_size(json_object_get(root, "projected")), 4);
    json_array_foreach(json_object_get(root, "projected"), i, r) {
        const char *kind = json_string_value(json_object_get(r, "kind"));
        const json_t *bd = json_object_get(r, "energy_bound"), *pn = json_object_get(r, "per_node"), *x;
        double ms = json_number_value(json_object_get(r, "latency_ms")), sum = 0;
        size_t k;
        cr_assert(json_is_true(json_object_get(r, "projected")));
        cr_assert_null(json_object_get(r, "device"));
        cr_assert(!strncmp(json_string_value(json_object_get(r, "latency_provenance")), "projected:", 10), "%s",
                  json_string_value(json_object_get(r, "latency_provenance")));
        e = json_object_get(r, "energy");
        cr_assert_str_eq(json_string_value(json_object_get(e, "source")), "modelled");
        cr_assert(!strncmp(json_string_value(json_object_get(e, "provenance")), "modelled:", 9));
        cr_assert(!strncmp(json_string_value(json_object_get(bd, "provenance")), "bound:", 6));
        json_array_foreach(pn, k, x)
            sum += json_number_value(json_object_get(x, "us"));
        if (!strcmp(kind, "fpga")) {
            const json_t *card = json_object_get(r, "card"), *host = json_object_get(r, "host");
            const json_t *cp = json_object_get(r, "copies");
            double power = !strcmp(json_string_value(json_object_get(r, "board")), "u50") ? 75 : 225;
            cr_assert_eq(json_integer_value(json_object_get(card, "nodes")), 2);
            cr_assert_str_eq(json_string_value(json_object_get(card, "cycles_from")), "model");
            cr_assert_float_eq(json_number_value(json_object_get(card, "us")),
                               (double)json_integer_value(json_object_get(card, "cycles")) / 300, 1e-9);
            /* features in (10 float32), the probability out */
            cr_assert_eq(json_integer_value(json_object_get(cp, "bytes_to_card")), 10);
            cr_assert_eq(json_integer_value(json_object_get(cp, "bytes_to_host")), 1);
            cr_assert_float_eq(json_number_value(json_object_get(cp, "link_gbps")), 8.0 * 128 / 130 * 2, 1e-9);
            cr_assert_float_eq(ms * 1e3,
                               json_number_value(json_object_get(card, "us")) +
                                   json_number_value(json_object_get(host, "us")) +
                                   json_number_value(json_object_get(cp, "us")),
                               1e-6);
            cr_assert_float_eq(sum, json_number_value(json_object_get(card, "us")) +
                                        json_number_value(json_object_get(host, "us")), 1e-6);
            cr_assert_float_eq(json_number_value(json_object_get(bd, "per_inference_j")), power * ms * 1e-3, 1e-12);
            cr_assert_float_eq(json_number_value(json_object_get(e, "card_j")) +
                                   json_number_value(json_object_get(e, "host_j")),
                               json_number_value(json_object_get(e, "per_inference_j")), 1e-18);
        } else {
            /* the roofline: the nodes' times add up to the latency, each at
             * least its launch overhead */
            cr_assert_float_eq(sum, ms * 1e3, 1e-6);
            json_array_foreach(pn, k, x)
                cr_assert_geq(json_number_value(json_object_get(x, "us")), strcmp(kind, "gpu") ? 2.0 : 5.0);
        }
    }
    json_decref(root);

    /* a batch of 4: per-run latency, four inferences per run */
    RUN_ENV(env, "bench", q, "--devices", "ref", "--boards", "u250", "--model", "--batch", "4", "--duration",
            "0.1", "--repeats", "1", "--warmup", "1", "--json");
    expect_code(0);
    root = dse_json();
    r = json_array_get(json_object_get(root, "devices"), 0);
    cr_assert_eq(json_integer_value(json_object_get(r, "batch")), 4);
    {
        const json_t *w = json_array_get(json_object_get(r, "windows"), 0);
        cr_assert_float_eq(json_number_value(json_object_get(r, "throughput_per_s")),
                           4.0 * (double)json_integer_value(json_object_get(w, "inferences")) /
                               json_number_value(json_object_get(w, "seconds")),
                           1e-6 * json_number_value(json_object_get(r, "throughput_per_s")));
    }
    r = json_array_get(json_object_get(root, "projected"), 0);
    cr_assert_eq(json_integer_value(json_object_get(r, "batch")), 4);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(r, "copies"), "bytes_to_card")), 40);
    json_decref(root);

    /* CSV: a header and one row per device or board */
    RUN_ENV(env, "bench", q, "--devices", "ref", "--boards", "u250,h100", "--model", "--duration", "0.05",
            "--repeats", "1", "--warmup", "0", "--csv");
    expect_code(0);
    cr_assert(!strncmp(res.out, "row,device,kind,batch,", 22), "%s", res.out);
    cr_assert(strstr(res.out, "\nmeasured,\"ref\",\"host\",1,") && strstr(res.out, "\nprojected,\"u250\",\"fpga\",1,2,") &&
                  strstr(res.out, "\nprojected,\"h100\",\"gpu\",1,"),
              "%s", res.out);
    {
        size_t lines = 0;
        for (const char *p = res.out; *p; p++)
            lines += *p == '\n';
        cr_assert_eq(lines, 4, "%s", res.out);
    }

    /* errors */
    RUN("bench", LENET, "--batch", "3", "--devices", "ref", "--boards", "none");
    expect_error_line(65, "--batch 3: input x has a fixed first dimension of 2", NULL);
    RUN("bench", q, "--boards", "horowitz-45nm");
    expect_usage("--boards: horowitz-45nm is an energy table, not a board (see --energy)", "bench");
    RUN("bench", q, "--energy", "u250");
    expect_usage("--energy: u250 is a fpga board, not an energy table", "bench");
    RUN("bench", q, "--json", "--csv");
    expect_usage("--json and --csv: choose one", "bench");
    RUN("bench", q, "--devices", "none", "--boards", "none");
    expect_usage("nothing to do: --devices none and --boards none", "bench");
    RUN("bench", q, "--host", "vsim");
    expect_usage("--host takes one device of this host (ref, opencl:0, ...), not 'vsim'", "bench");
    RUN("bench", q, "--batch", "0");
    expect_usage("--batch takes a size from 1 to 65536, not '0'", "bench");
}

#ifdef LOOM_WITH_VERILATOR
/* A projection from the Verilated RTL: an FPGA board's card cycles are
 * the vsim run's, its card time those cycles at the board's clock; with
 * --model they are the cycle model's prediction beside them. */
Test(cli, bench_projection_takes_the_vsim_cycles, .timeout = 300)
{
    char q[1100];
    json_t *root, *card;
    json_int_t sim, pred;
    snprintf(q, sizeof q, "%s/q.onnx", dir);
    RUN("quantize", SRC "/examples/classifier/classifier.onnx", "--calib", SRC "/examples/classifier/calib_x.npy",
        "-o", q);
    expect_code(0);
    RUN("run", q, "--device", "vsim", "-i", SRC "/examples/classifier/test_x.npy", "--board", "u50", "--json");
    expect_code(0);
    root = dse_json();
    sim = json_integer_value(json_object_get(json_object_get(root, "simulated_cycles"), "per_inference"));
    pred = json_integer_value(json_object_get(json_object_get(root, "simulated_cycles"), "predicted"));
    cr_assert_gt(sim, 0);
    /* loom run --board: the same cycles at the board's clock */
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(root, "simulated_cycles"), "board")), "u50");
    cr_assert_float_eq(json_number_value(json_object_get(json_object_get(root, "simulated_cycles"),
                                                         "ms_at_board_clock")),
                       (double)sim / 300e3, 1e-12);
    json_decref(root);
    RUN("run", q, "-i", SRC "/examples/classifier/test_x.npy", "--board", "u50");
    expect_usage("--board projects the simulated cycles: run with --device vsim", "run");
    RUN("run", q, "-i", SRC "/examples/classifier/test_x.npy", "--device", "vsim", "--board", "h100");
    expect_usage("--board: h100 is not an FPGA board with a kernel clock", "run");
    /* test_x holds 20 samples: the same shapes */
    RUN("bench", q, "--devices", "none", "--boards", "u250", "--batch", "20", "--json");
    expect_code(0);
    root = dse_json();
    card = json_object_get(json_array_get(json_object_get(root, "projected"), 0), "card");
    cr_assert_str_eq(json_string_value(json_object_get(card, "cycles_from")), "vsim");
    cr_assert_eq(json_integer_value(json_object_get(card, "cycles")), sim);
    cr_assert_float_eq(json_number_value(json_object_get(card, "us")), (double)sim / 300, 1e-9);
    json_decref(root);
    RUN("bench", q, "--devices", "none", "--boards", "u250", "--batch", "20", "--model", "--json");
    expect_code(0);
    root = dse_json();
    card = json_object_get(json_array_get(json_object_get(root, "projected"), 0), "card");
    cr_assert_eq(json_integer_value(json_object_get(card, "cycles")), pred);
    json_decref(root);
}
#endif

/* loom run --trace: a Chrome trace-event file, one track per device and
 * one for loom's own work, one kernel event per node and run. */
Test(cli, run_trace_file, .timeout = 120)
{
    char t[1100];
    const char *devs[] = {"ref", "opencl:0"};
    for (int d = 0; d < 2; d++) {
        json_error_t je;
        json_t *root, *ev, *x, *names = json_object();
        size_t i, kernels[3] = {0}, copies = 0, host = 0, nodes;
        if (d == 1 && !have_opencl_device())
            break;
        snprintf(t, sizeof t, "%s/t.json", dir);
        RUN("run", LENET, "-i", LENET_X, "--device", devs[d], "--repeat", "2", "--profile", "--json");
        expect_code(0);
        root = dse_json();
        nodes = json_array_size(json_object_get(root, "profile"));
        /* on a device with buffers a Flatten is a view of its input's
         * buffer: no kernel, and no time */
        for (i = 0; d == 1 && i < json_array_size(json_object_get(root, "profile")); i++) {
            json_t *pn = json_array_get(json_object_get(root, "profile"), i);
            if (!strcmp(json_string_value(json_object_get(pn, "op")), "Flatten")) {
                cr_assert_eq(json_number_value(json_object_get(pn, "us")), 0.0);
                nodes--;
            }
        }
        cr_assert_eq(nodes, d == 1 ? 9 : 10);
        json_decref(root);
        RUN("run", LENET, "-i", LENET_X, "--device", devs[d], "--repeat", "2", "--trace", t);
        expect_code(0);
        root = json_load_file(t, 0, &je);
        cr_assert_not_null(root, "%s: %s", t, je.text);
        ev = json_object_get(root, "traceEvents");
        json_array_foreach(ev, i, x) {
            const char *ph = json_string_value(json_object_get(x, "ph"));
            if (!strcmp(ph, "M") && !strcmp(json_string_value(json_object_get(x, "name")), "thread_name"))
                json_object_set(names, json_string_value(json_object_get(json_object_get(x, "args"), "name")),
                                json_object_get(x, "tid"));
        }
        json_array_foreach(ev, i, x) {
            const char *cat = json_string_value(json_object_get(x, "cat"));
            if (strcmp(json_string_value(json_object_get(x, "ph")), "X") != 0)
                continue;
            cr_assert_geq(json_number_value(json_object_get(x, "ts")), 0);
            cr_assert_geq(json_number_value(json_object_get(x, "dur")), 0);
            cr_assert(json_is_string(json_object_get(x, "name")));
            cr_assert_eq(json_object_get(x, "pid") != NULL, true);
            if (!strcmp(cat, "kernel")) {
                json_int_t run = json_integer_value(json_object_get(json_object_get(x, "args"), "run"));
                cr_assert(run >= 0 && run < 3);
                kernels[run]++;
            } else if (!strncmp(cat, "copy", 4)) {
                copies++;
                cr_assert_gt(json_integer_value(json_object_get(json_object_get(x, "args"), "bytes")), 0);
            } else {
                cr_assert_str_eq(cat, "host");
                cr_assert_eq(json_integer_value(json_object_get(x, "tid")),
                             json_integer_value(json_object_get(names, "host (loom)")));
                host++;
            }
        }
        /* the warm-up and the two timed runs, every node each time */
        for (int k = 0; k < 3; k++)
            cr_assert_eq(kernels[k], nodes, "run %d: %zu kernel events for %zu nodes", k, kernels[k], nodes);
        cr_assert_not_null(json_object_get(names, devs[d]));
        cr_assert_geq(host, 6); /* load, inputs, plan, set inputs, three runs */
        if (d == 1)
            cr_assert_gt(copies, 0, "on opencl:0 the input goes to the device and the output comes back");
        json_decref(names);
        json_decref(root);
    }
    RUN("run", LENET, "-i", LENET_X, "--trace", "/nonexistent-loom-dir/t.json");
    cr_assert_eq(res.code, 73, "%s", res.err);
}


/* ---- loom boards ---- */

Test(cli, boards_list_show_and_errors)
{
    const char *root;
    RUN("boards");
    expect_code(0);
    cr_assert(strstr(res.out, "u250") && strstr(res.out, "xilinx_u250_gen3x16_xdma_4_1_202210_1") &&
                  strstr(res.out, "h200") && strstr(res.out, "epyc9654"),
              "%s", res.out);
    RUN("boards", "u55c", "--json");
    expect_code(0);
    root = j_doc(res.out);
    cr_assert_str_eq(j_compact(j_get(root, "kind")), "\"fpga\"");
    cr_assert_float_eq(j_num(j_get(j_get(j_get(root, "figures"), "power_limit_w"), "value")), 150, 0);
    cr_assert(strstr(j_compact(j_get(j_get(j_get(root, "figures"), "power_limit_w"), "source")),
                     "xbtest"),
              "%s", res.out);
    RUN("boards", "u9");
    expect_error_line(66, "no board \"u9\"", "u250");
    RUN("boards", "a", "b");
    expect_usage("boards takes at most one board name", "boards");
}

#ifdef LOOM_WITH_XRT
/* No card here: --device xrt --strict exits 69 with XRT's reason, and
 * without --strict the model falls back and runs. */
Test(cli, xrt_absent_strict_exits_69_and_auto_falls_back)
{
    const char *model = LOOM_SOURCE_DIR "/tests/models/lenet/model.onnx";
    const char *x = LOOM_SOURCE_DIR "/tests/models/lenet/x.npy";
    RUN_ENV(ENV("XILINX_XRT="), "run", model, "-i", x, "-o", tpath("out"), "--device", "xrt", "--strict");
    expect_error_line(69, "device \"xrt\" is not available", "XILINX_XRT is not set");
    RUN_ENV(ENV("XILINX_XRT="), "run", model, "-i", x, "-o", tpath("out"), "--device", "xrt");
    expect_code(0);
    cr_assert(strstr(res.err, "falling back"), "%s", res.err);
}
#endif

/* ---- loom validate ---- */

Test(cli, validate_matches_and_names_the_first_wrong_node)
{
    const char *model = LOOM_SOURCE_DIR "/tests/models/resblock/model.onnx";
    const char *root, *first;
    NEED_OPENCL();
    RUN("validate", model, "--devices", "opencl", "--json");
    expect_code(0);
    root = j_doc(res.out);
    cr_assert_str_eq(j_compact(j_get(j_at(root, 0), "match")), "true", "%s", res.out);
    cr_assert_gt(j_num(j_get(j_at(root, 0), "nodes_on_device")), 0);
    cr_assert_lt(j_num(j_get(j_at(root, 0), "max_error_ratio")), 1.0);
    /* a kernel that adds 1e-3 in Add: caught, and the Add node (with its
     * fused Relu) named */
    RUN_ENV(ENV("LOOM_TEST_FAULT=opencl-wrong-add"), "validate", model, "--devices", "opencl", "--json");
    expect_code(1);
    root = j_doc(res.out);
    cr_assert_str_eq(j_compact(j_get(j_at(root, 0), "match")), "false", "%s", res.out);
    first = j_get(j_at(root, 0), "first_mismatch");
    cr_assert_str_eq(j_compact(j_get(first, "op_type")), "\"Add+Relu\"", "%s", res.out);
    cr_assert_str_eq(j_compact(j_get(first, "device")), "\"opencl:0\"", "%s", res.out);
    cr_assert_float_eq(j_num(j_get(first, "value")) - j_num(j_get(first, "ref_value")), 1e-3, 2e-4);
    cr_assert(strstr(res.err, "differ from ref"), "%s", res.err);
    /* the text report says the same */
    RUN_ENV(ENV("LOOM_TEST_FAULT=opencl-wrong-add"), "validate", model, "--devices", "opencl");
    expect_code(1);
    cr_assert(strstr(res.out, "MISMATCH") && strstr(res.out, "first difference: node") &&
                  strstr(res.out, "(Add+Relu) on opencl:0"),
              "%s", res.out);
}

/* A device that fails while running is an error (exit 69), not a quiet
 * fallback to ref compared with itself; a listed device that takes no node
 * is UNCHECKED (exit 69); optional outputs a model leaves out are skipped. */
Test(cli, validate_device_failure_unchecked_and_omitted_outputs)
{
    const char *lenet = LOOM_SOURCE_DIR "/tests/models/lenet/model.onnx";
    tb_model *b;
    Onnx__NodeProto *n;
    size_t len;
    const uint8_t *bytes;
    FILE *f;
    NEED_OPENCL();
    RUN_ENV(ENV("LOOM_TEST_FAULT=opencl-enqueue=3"), "validate", lenet, "--devices", "opencl:0");
    expect_error_line(69, "failed (strict: no fallback)", "injected enqueue failure");
    RUN("validate", lenet, "--devices", "vsim,opencl:0", "--json");
#ifdef LOOM_WITH_VERILATOR
    expect_code(69);
    cr_assert(strstr(res.out, "\"UNCHECKED\"") && strstr(res.err, "takes no node"), "%s%s", res.out, res.err);
#else
    expect_error_line(69, "device \"vsim\" is not available", NULL);
#endif
    /* MaxPool with its optional Indices output left out */
    b = tb_new(13);
    tb_input(b, "x", LOOM_F32, 4, (const int64_t[]){1, 2, 8, 8});
    n = tb_node(b, "MaxPool", "x", "y,");
    tb_attr_ints(b, n, "kernel_shape", 2, (const int64_t[]){2, 2});
    tb_output(b, "y");
    bytes = tb_pack(b, &len);
    f = fopen(tpath("pool.onnx"), "wb");
    cr_assert_eq(fwrite(bytes, 1, len, f), len);
    fclose(f);
    tb_free(b);
    RUN("validate", tpath("pool.onnx"), "--devices", "opencl:0", "--json");
    expect_code(0);
    cr_assert(strstr(res.out, "\"verdict\": \"match\""), "%s", res.out);
}

Test(cli, validate_usage_and_inputs)
{
    RUN("validate");
    expect_usage("a model is required", "validate");
    RUN("validate", LOOM_SOURCE_DIR "/tests/models/lenet/model.onnx", "--devices", "nosuch");
    expect_error_line(64, "unknown device \"nosuch\"", NULL);
    RUN("validate", LOOM_SOURCE_DIR "/tests/models/lenet/model.onnx", "--devices", "ref", "--seed", "x");
    expect_usage("--seed takes a whole number, not 'x'", "validate");
    /* ref against itself, with the fixture's own input: trivially equal */
    RUN("validate", LOOM_SOURCE_DIR "/tests/models/lenet/model.onnx", "-i",
        LOOM_SOURCE_DIR "/tests/models/lenet/x.npy", "--devices", "ref", "--json");
    expect_code(0);
    cr_assert_float_eq(j_num(j_get(j_at(j_doc(res.out), 0), "max_abs_error")), 0, 0);
}

/* A QDQ model whose scale is zero, negative or NaN is invalid: exit 65,
 * one line naming the node and the value. */
Test(cli, qdq_model_with_a_bad_scale_exits_65)
{
    static const float bad[] = {0.0f, -1.0f, NAN};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tb_model *b = tb_new(13);
        size_t len;
        const uint8_t *bytes;
        FILE *f;
        tb_input(b, "x", LOOM_F32, 1, (const int64_t[]){4});
        tb_init(b, "s", LOOM_F32, 0, NULL, &bad[i]);
        tb_init(b, "z", LOOM_I8, 0, NULL, (const int8_t[]){0});
        tb_node(b, "QuantizeLinear", "x,s,z", "q");
        tb_node(b, "DequantizeLinear", "q,s,z", "y");
        tb_output(b, "y");
        bytes = tb_pack(b, &len);
        f = fopen(tpath("qdq.onnx"), "wb");
        cr_assert_eq(fwrite(bytes, 1, len, f), len);
        fclose(f);
        tb_free(b);
        {
            loom_tensor *x;
            cr_assert_eq(loom_tensor_create(LOOM_F32, 1, (const int64_t[]){4}, &x), LOOM_OK);
            cr_assert_eq(loom_npy_save(tpath("x.npy"), x), LOOM_OK);
            loom_tensor_free(x);
        }
        RUN("run", tpath("qdq.onnx"), "-i", tpath("x.npy"), "-o", tpath("out"));
        expect_error_line(65, "QuantizeLinear", "must be positive and finite");
    }
}

/* ---------------------------------------------------------------------- */
/* loom quantize                                                           */
/* ---------------------------------------------------------------------- */

/* A seeded float32 batch of lenet's input shape, saved as .npy; poke
 * one element when bad is set. */
static void save_lenet_batch(const char *path, int64_t rows, loom_dtype dt, float poke)
{
    int64_t dims[4] = {rows, 1, 28, 28};
    loom_tensor *t;
    uint64_t s = 12345;
    cr_assert_eq(loom_tensor_create(dt, 4, dims, &t), LOOM_OK);
    for (int64_t i = 0; dt == LOOM_F32 && i < loom_tensor_numel(t); i++) {
        s ^= s >> 12, s ^= s << 25, s ^= s >> 27;
        ((float *)loom_tensor_data(t))[i] = (float)((double)((s * 2685821657736338717ULL) >> 11) / 4503599627370496.0 - 1.0);
    }
    if (poke != 0.0f && rows > 0)
        ((float *)loom_tensor_data(t))[5] = poke;
    cr_assert_eq(loom_npy_save(path, t), LOOM_OK);
    loom_tensor_free(t);
}

/* quantize -> validate: the report, the int8 nodes bit-exact on opencl,
 * and a mis-rounding int8 kernel caught at the first int8 node. */
Test(cli, quantize_then_validate_int8_and_misround)
{
    char calib[600], out[600];
    const char *root, *first;
    snprintf(calib, sizeof calib, "%s/calib.npy", dir);
    snprintf(out, sizeof out, "%s/lenet-int8.onnx", dir);
    save_lenet_batch(calib, 16, LOOM_F32, 0.0f);
    RUN("quantize", LENET, "--calib", calib, "-o", out, "--json");
    expect_code(0);
    root = j_doc(res.out);
    cr_assert_eq(j_num(j_get(root, "compute_int8")), 5, "%s", res.out);
    cr_assert_eq(j_num(j_get(root, "calibration_samples")), 16, "%s", res.out);
    cr_assert_eq(j_num(j_get(root, "samples")), 16, "%s", res.out);
    cr_assert_gt(j_num(j_get(j_at(j_get(root, "layers"), 1), "sqnr_db")), 20.0, "%s", res.out);
    RUN("quantize", LENET, "--calib", calib, "-o", out, "--method", "percentile");
    expect_code(0);
    cr_assert(strstr(res.out, "top-1 agreement int8 vs float:") && strstr(res.out, "SQNR dB"), "%s", res.out);
    NEED_OPENCL();
    RUN("validate", out, "--devices", "opencl:0", "--json");
    expect_code(0);
    root = j_doc(res.out);
    cr_assert_str_eq(j_compact(j_get(j_at(root, 0), "match")), "true", "%s", res.out);
    cr_assert_geq(j_num(j_get(j_at(root, 0), "nodes_on_device")), 5, "%s", res.out);
    RUN_ENV(ENV("LOOM_TEST_FAULT=opencl-misround"), "validate", out, "--devices", "opencl:0", "--json");
    expect_code(1);
    first = j_get(j_at(j_doc(res.out), 0), "first_mismatch");
    cr_assert_str_eq(j_compact(j_get(first, "op_type")), "\"LoomQConv+Relu\"", "%s", res.out);
    cr_assert_str_eq(j_compact(j_get(first, "name")), "\"/features/features.0/Conv\"", "%s", res.out);
    cr_assert_float_eq(j_num(j_get(first, "ref_value")) - j_num(j_get(first, "value")), 1.0, 1e-9);
}

/* Bad calibration input: exit 65 with one line, no output file; usage
 * errors exit 64. */
Test(cli, quantize_bad_calibration)
{
    char calib[600], out[600];
    struct stat sb;
    snprintf(calib, sizeof calib, "%s/bad.npy", dir);
    snprintf(out, sizeof out, "%s/q.onnx", dir);
    save_lenet_batch(calib, 4, LOOM_F32, NAN);
    RUN("quantize", LENET, "--calib", calib, "-o", out);
    expect_error_line(65, "calibration batch 1", "is nan");
    save_lenet_batch(calib, 4, LOOM_F32, INFINITY);
    RUN("quantize", LENET, "--calib", calib, "-o", out);
    expect_error_line(65, "calibration batch 1", "is inf");
    save_lenet_batch(calib, 4, LOOM_I32, 0.0f);
    RUN("quantize", LENET, "--calib", calib, "-o", out);
    expect_error_line(65, "int32", "float32");
    save_lenet_batch(calib, 0, LOOM_F32, 0.0f);
    RUN("quantize", LENET, "--calib", calib, "-o", out);
    expect_error_line(65, "calibration batch 1", "empty");
    cr_assert(stat(out, &sb) != 0, "%s written", out);
    /* labels that do not fit: exit 65 after quantising, OUT untouched */
    {
        char labels[600];
        int64_t n = 3;
        loom_tensor *l;
        snprintf(labels, sizeof labels, "%s/labels.npy", dir);
        cr_assert_eq(loom_tensor_create(LOOM_I64, 1, &n, &l), LOOM_OK);
        cr_assert_eq(loom_npy_save(labels, l), LOOM_OK);
        loom_tensor_free(l);
        save_lenet_batch(calib, 4, LOOM_F32, 0.0f);
        write_bytes(out, "keep", 4);
        RUN("quantize", LENET, "--calib", calib, "--labels", labels, "-o", out);
        expect_error_line(65, "3 labels for 4 samples", "");
        {
            char *kept = slurp(out);
            DIR *d = opendir(dir);
            struct dirent *e;
            cr_assert_str_eq(kept, "keep");
            free(kept);
            cr_assert_not_null(d);
            while ((e = readdir(d)))
                cr_assert(!strstr(e->d_name, ".partial"), "left behind: %s", e->d_name);
            closedir(d);
        }
        unlink(out);
    }
    RUN("quantize", LENET, "--calib", calib, "-o", "/nonexistent-loom-dir/q.onnx");
    expect_error_line(73, "cannot write into /nonexistent-loom-dir", "");
    RUN("quantize", LENET, "-o", out);
    expect_usage("--calib FILE.npy is required", "quantize");
    save_lenet_batch(calib, 4, LOOM_F32, 0.0f);
    RUN("quantize", LENET, "--calib", calib, "-o", out, "--method", "kl");
    expect_usage("--method takes minmax, percentile or entropy, not 'kl'", "quantize");
    RUN("quantize", LENET, "--calib", calib, "-o", out, "--percentile", "101");
    expect_usage("--percentile takes a number from 50 to 100, not '101'", "quantize");
    cr_assert(stat(out, &sb) != 0, "%s written", out);
}

/* ---- progress ---- */

/* Long work shows progress on a terminal (one line rewritten in place,
 * cleared at the end) and never otherwise: on a pseudo-terminal made by
 * script(1) the calibration is shown; with stderr a file (every other
 * test here) stderr stays exactly the messages. */
Test(cli, progress_only_on_a_terminal)
{
    char cmd[2000], *text;
    snprintf(cmd, sizeof cmd,
             "script -qec '%s quantize %s/examples/classifier/classifier.onnx --calib "
             "%s/examples/classifier/calib_x.npy -o %s >/dev/null' /dev/null > %s 2>&1",
             LOOM_CLI_PATH, SRC, SRC, tpath("q.onnx"), tpath("tty.txt"));
    if (system("command -v script >/dev/null 2>&1") != 0)
        cr_skip_test("script(1) (util-linux) is not installed: no pseudo-terminal to test on");
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    text = slurp(tpath("tty.txt"));
    cr_assert(strstr(text, "\rloom: calibrating 0/1") != NULL, "%s", text);
    cr_assert(strstr(text, "\rloom: comparing int8 with float 0/1") != NULL, "%s", text);
    free(text);
    RUN("quantize", SRC "/examples/classifier/classifier.onnx", "--calib", SRC "/examples/classifier/calib_x.npy",
        "-o", tpath("q2.onnx"));
    expect_code(0);
    cr_assert_str_empty(res.err, "stderr is not a terminal: no progress, got: %s", res.err);
}
