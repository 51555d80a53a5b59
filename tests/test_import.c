/*
 * test_import.c - malformed input never crashes or hangs; it gets a clear,
 * one-line error naming the field (or node, tensor) and the value seen.
 *
 * Every case starts from a valid baseline built with the test builder
 * (tests/support/onnx-builder.h) that loads and runs, and breaks exactly
 * one thing. Each case checks the exact status and the key words of
 * loom_last_error(). Wire-format cases hand-write protobuf bytes.
 *
 * Suites: baseline, wire, nesting, sizes, data (tensor payloads),
 * external (external data files, in a fresh mkdtemp folder), graph
 * (structure, versions, domains, ops), attrs and shapes (errors found
 * when a session is planned), messages (message hygiene).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "loom/loom.h"
#include "onnx-builder.h"
#include "tmpdir.h"

#define SRC "test.onnx"
#define I64(...) ((const int64_t[]){__VA_ARGS__})

/* Every suite runs under a timeout: a hang is a failure, not a stuck CI. */
TestSuite(baseline, .timeout = 60);
TestSuite(wire, .timeout = 120);
TestSuite(nesting, .timeout = 60);
TestSuite(sizes, .timeout = 60);
TestSuite(data, .timeout = 60);
TestSuite(graph, .timeout = 60);
TestSuite(attrs, .timeout = 60);
TestSuite(shapes, .timeout = 60);
TestSuite(messages, .timeout = 60);

/* ---------------------------------------------------------------------- */
/* Assertions on the error                                                 */
/* ---------------------------------------------------------------------- */

/* The last error is non-empty and one line. */
static void expect_one_line(void)
{
    const char *msg = loom_last_error();
    cr_assert(msg && msg[0], "loom_last_error() is empty after a failure");
    cr_assert(strchr(msg, '\n') == NULL && strchr(msg, '\r') == NULL,
              "error message spans several lines: \"%s\"", msg);
}

/* got == want, and loom_last_error() is one line containing every word of
 * the NULL-terminated list. */
static void expect_err(loom_status got, loom_status want, ...)
{
    const char *msg = loom_last_error();
    va_list ap;
    cr_assert_eq(got, want, "status %s (%d), expected %s (%d); message: \"%s\"",
                 loom_status_name(got), (int)got, loom_status_name(want), (int)want, msg);
    expect_one_line();
    va_start(ap, want);
    for (const char *w = va_arg(ap, const char *); w; w = va_arg(ap, const char *))
        cr_assert(strstr(msg, w) != NULL, "message \"%s\" does not contain \"%s\"", msg, w);
    va_end(ap);
}

static void expect_ok(loom_status st, const char *what)
{
    cr_assert_eq(st, LOOM_OK, "%s: %s (%d): \"%s\"", what, loom_status_name(st), (int)st,
                 loom_last_error());
}

/* ---------------------------------------------------------------------- */
/* Loading and planning helpers                                            */
/* ---------------------------------------------------------------------- */

static loom_status load_bytes(const uint8_t *p, size_t n, const loom_load_options *o,
                              loom_model **m)
{
    return loom_model_load_buffer(p, n, SRC, NULL, o, m);
}

/* Pack and load; the model is freed unless m is given. */
static loom_status load_opts(tb_model *b, const loom_load_options *o, loom_model **m)
{
    size_t n;
    const uint8_t *p = tb_pack(b, &n);
    loom_model *tmp = NULL;
    loom_status st = load_bytes(p, n, o, &tmp);
    if (m)
        *m = tmp;
    else
        loom_model_free(tmp);
    return st;
}

static loom_status load(tb_model *b)
{
    return load_opts(b, NULL, NULL);
}

/* Load (must succeed), then plan a session with opts; returns the
 * planning status. */
static loom_status plan_opts(tb_model *b, const loom_session_options *o)
{
    loom_model *m = NULL;
    loom_session *s = NULL;
    loom_status st;
    expect_ok(load_opts(b, NULL, &m), "loading the model");
    st = loom_session_create(m, o, &s);
    if (st == LOOM_OK)
        cr_assert_not_null(s);
    else
        cr_assert_null(s, "a failed loom_session_create left a session behind");
    loom_session_free(s);
    loom_model_free(m);
    return st;
}

static loom_status plan(tb_model *b)
{
    return plan_opts(b, NULL);
}

/* Create a session, feed zeros of the session's input shapes and run.
 * Used on anything that happened to load: must not crash. */
static loom_status plan_and_run_zeros(const loom_model *m, uint64_t max_tensor_bytes)
{
    loom_session_options so = {.max_tensor_bytes = max_tensor_bytes};
    loom_session *s = NULL;
    loom_status st = loom_session_create(m, &so, &s);
    for (size_t i = 0; st == LOOM_OK && i < loom_session_input_count(s); i++) {
        loom_value_info vi;
        loom_tensor *t = NULL;
        if ((st = loom_session_input(s, i, &vi)) != LOOM_OK)
            break;
        if ((st = loom_tensor_create(vi.dtype, vi.rank, vi.dims, &t)) != LOOM_OK)
            break;
        st = loom_session_set_input(s, vi.name, t);
        loom_tensor_free(t);
    }
    if (st == LOOM_OK)
        st = loom_session_run(s);
    loom_session_free(s);
    return st;
}

/* Load raw bytes; whatever happens must be a clean status. Returns it. */
static loom_status try_bytes(const uint8_t *p, size_t n)
{
    loom_model *m = NULL;
    loom_status st = load_bytes(p, n, NULL, &m);
    if (st != LOOM_OK) {
        cr_assert_null(m, "a failed load left a model behind");
        cr_assert(loom_last_error()[0], "status %s but loom_last_error() is empty",
                  loom_status_name(st));
        return st;
    }
    cr_assert_not_null(m);
    st = plan_and_run_zeros(m, 1 << 20);
    if (st != LOOM_OK)
        cr_assert(loom_last_error()[0], "status %s but loom_last_error() is empty",
                  loom_status_name(st));
    loom_model_free(m);
    return LOOM_OK;
}

/* ---------------------------------------------------------------------- */
/* Baseline models                                                         */
/* ---------------------------------------------------------------------- */

/* x[2,3] -> Relu -> y */
static tb_model *relu_model(void)
{
    tb_model *b = tb_new(13);
    tb_input(b, "x", LOOM_F32, 2, I64(2, 3));
    tb_node(b, "Relu", "x", "y");
    tb_output(b, "y");
    return b;
}

static const float gemm_w[12] = {1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1}; /* [3,4] */
static const float gemm_b[4] = {0.5f, -1, 2, 0};

/* y = Gemm(x[2,3], W[3,4], B[4]) */
static tb_model *gemm_model(void)
{
    tb_model *b = tb_new(13);
    tb_input(b, "x", LOOM_F32, 2, I64(2, 3));
    tb_init(b, "W", LOOM_F32, 2, I64(3, 4), gemm_w);
    tb_init(b, "B", LOOM_F32, 1, I64(4), gemm_b);
    tb_node(b, "Gemm", "x,W,B", "y");
    tb_output(b, "y");
    return b;
}

/* x[4] + W[4] -> y, W an initializer (made external by some tests) */
static tb_model *add_model(Onnx__TensorProto **w_out)
{
    static const float w[4] = {1, 2, 3, 4};
    tb_model *b = tb_new(13);
    Onnx__TensorProto *t;
    tb_input(b, "x", LOOM_F32, 1, I64(4));
    t = tb_init(b, "W", LOOM_F32, 1, I64(4), w);
    tb_node(b, "Add", "x,W", "y");
    tb_output(b, "y");
    if (w_out)
        *w_out = t;
    return b;
}

static Onnx__TensorShapeProto__Dimension *input_dim(tb_model *b, size_t input, size_t d)
{
    return tb_proto(b)->graph->input[input]->type->tensor_type->shape->dim[d];
}

/* Run a loaded model once with one float input; returns output 0 copied
 * into out (n floats). */
static void run_f32(const loom_model *m, const float *in, size_t n_in, float *out, size_t n_out)
{
    loom_session *s = NULL;
    loom_value_info vi;
    const loom_tensor *y;
    expect_ok(loom_session_create(m, NULL, &s), "planning");
    expect_ok(loom_session_input(s, 0, &vi), "session input 0");
    expect_ok(loom_session_set_input_data(s, 0, in, n_in * sizeof(float)), "setting the input");
    expect_ok(loom_session_run(s), "running");
    y = loom_session_output_tensor(s, 0);
    cr_assert_not_null(y);
    cr_assert_eq(loom_tensor_dtype(y), LOOM_F32);
    cr_assert_eq((size_t)loom_tensor_numel(y), n_out);
    memcpy(out, loom_tensor_cdata(y), n_out * sizeof(float));
    loom_session_free(s);
}

/* y[2,4] == x[2,3] . gemm_w + gemm_b */
static void check_gemm(const float *x, const float *y)
{
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 4; c++) {
            float want = gemm_b[c];
            for (int k = 0; k < 3; k++)
                want += x[r * 3 + k] * gemm_w[k * 4 + c];
            cr_assert_float_eq(y[r * 4 + c], want, 1e-6f, "y[%d,%d] = %g, want %g", r, c,
                               y[r * 4 + c], want);
        }
}

Test(baseline, relu_loads_and_runs)
{
    tb_model *b = relu_model();
    loom_model *m = NULL;
    const float x[6] = {-1, 2, -3, 4, 0, -0.5f};
    float y[6];
    expect_ok(load_opts(b, NULL, &m), "loading the Relu baseline");
    cr_assert_eq(loom_model_input_count(m), 1);
    cr_assert_eq(loom_model_output_count(m), 1);
    run_f32(m, x, 6, y, 6);
    for (int i = 0; i < 6; i++)
        cr_assert_float_eq(y[i], x[i] > 0 ? x[i] : 0, 0, "y[%d] = %g", i, y[i]);
    loom_model_free(m);
    tb_free(b);
}

Test(baseline, gemm_with_initializers_loads_and_runs)
{
    tb_model *b = gemm_model();
    loom_model *m = NULL;
    loom_model_summary sum;
    const float x[6] = {1, 2, 3, 4, 5, 6};
    float y[8];
    expect_ok(load_opts(b, NULL, &m), "loading the Gemm baseline");
    loom_model_summary_get(m, &sum);
    cr_assert_eq(sum.param_count, 2);
    cr_assert_eq(sum.param_elements, 16);
    cr_assert_eq(sum.opset, 13);
    run_f32(m, x, 6, y, 8);
    check_gemm(x, y);
    loom_model_free(m);
    tb_free(b);
}

/* ---------------------------------------------------------------------- */
/* wire: bytes that are not a well-formed ModelProto                       */
/* ---------------------------------------------------------------------- */

Test(wire, empty_buffer)
{
    static const uint8_t one[1] = {0};
    loom_model *m = (loom_model *)&m; /* must be reset to NULL */
    expect_err(loom_model_load_buffer(one, 0, SRC, NULL, NULL, &m), LOOM_E_MODEL_INVALID, SRC,
               "empty", NULL);
    cr_assert_null(m);
    expect_err(loom_model_load_buffer(NULL, 0, SRC, NULL, NULL, &m), LOOM_E_MODEL_INVALID,
               "empty", NULL);
    expect_err(loom_model_load_buffer(NULL, 5, SRC, NULL, NULL, &m), LOOM_E_INVALID_ARG, "NULL",
               NULL);
}

Test(wire, empty_file)
{
    char dir[] = "/tmp/loom-imp-empty-XXXXXX", path[64];
    loom_model *m = NULL;
    FILE *f;
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/empty.onnx", dir);
    f = fopen(path, "wb");
    cr_assert_not_null(f);
    fclose(f);
    expect_err(loom_model_load(path, NULL, &m), LOOM_E_MODEL_INVALID, "empty.onnx", "empty", NULL);
    unlink(path);
    rmdir(dir);
}

Test(wire, missing_file_and_directory)
{
    loom_model *m = NULL;
    expect_err(loom_model_load("/nonexistent-loom/model.onnx", NULL, &m), LOOM_E_NOT_FOUND,
               "/nonexistent-loom/model.onnx", NULL);
    expect_err(loom_model_load("/tmp", NULL, &m), LOOM_E_IO, "/tmp", "not a regular file", NULL);
    cr_assert_null(m);
}

static void every_prefix_fails(tb_model *b)
{
    size_t n;
    const uint8_t *full = tb_pack(b, &n);
    uint8_t *copy = malloc(n);
    cr_assert_not_null(copy);
    cr_assert_gt(n, 20);
    /* a private, exact-size copy per prefix so ASan sees any over-read */
    for (size_t len = 0; len < n; len++) {
        uint8_t *p = malloc(len ? len : 1);
        loom_model *m = NULL;
        loom_status st;
        cr_assert_not_null(p);
        memcpy(p, full, len);
        st = load_bytes(p, len, NULL, &m);
        cr_assert_neq(st, LOOM_OK, "the first %zu of %zu bytes loaded as a model", len, n);
        cr_assert_null(m);
        expect_one_line();
        free(p);
    }
    memcpy(copy, full, n);
    expect_ok(try_bytes(copy, n), "the full model");
    free(copy);
}

Test(wire, every_prefix_of_relu_model_is_rejected)
{
    tb_model *b = relu_model();
    every_prefix_fails(b);
    tb_free(b);
}

Test(wire, every_prefix_of_gemm_model_is_rejected)
{
    tb_model *b = gemm_model();
    every_prefix_fails(b);
    tb_free(b);
}

Test(wire, cut_last_byte_names_field)
{
    tb_model *b = relu_model();
    size_t n;
    const uint8_t *p = tb_pack(b, &n);
    loom_model *m = NULL;
    /* opset_import (field 8) is the last field written */
    expect_err(load_bytes(p, n - 1, NULL, &m), LOOM_E_MODEL_INVALID, SRC, "protobuf",
               "past the end", "opset_import", NULL);
    tb_free(b);
}

Test(wire, cut_inside_graph_names_nested_field)
{
    /* graph { node { (cut) } }: graph claims more bytes than there are */
    static const uint8_t bytes[] = {0x08, 0x08, 0x3a, 0x04, 0x0a, 0x10, 0x0a};
    expect_err(load_bytes(bytes, sizeof bytes, NULL, &(loom_model *){NULL}), LOOM_E_MODEL_INVALID,
               "past the end", "byte 2", "graph", NULL);
}

static uint32_t rng_state = 0x12345678u;
static uint32_t rng(void)
{
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return rng_state = x;
}

static void flip_every_byte(tb_model *b)
{
    static const uint8_t masks[] = {0xff, 0x80, 0x01, 0x7f, 0x40};
    size_t n;
    const uint8_t *full = tb_pack(b, &n);
    for (size_t off = 0; off < n; off++)
        for (size_t k = 0; k < sizeof masks; k++) {
            uint8_t *p = malloc(n);
            cr_assert_not_null(p);
            memcpy(p, full, n);
            p[off] ^= masks[k];
            try_bytes(p, n);
            free(p);
        }
}

Test(wire, flipped_bytes_never_crash)
{
    tb_model *b = relu_model();
    flip_every_byte(b);
    tb_free(b);
    b = gemm_model();
    flip_every_byte(b);
    tb_free(b);
}

Test(wire, flipped_bytes_at_chosen_offsets)
{
    tb_model *b = gemm_model();
    size_t n;
    const uint8_t *full = tb_pack(b, &n);
    size_t offsets[] = {0, 1, 2, n / 4, n / 3, n / 2, (2 * n) / 3, n - 3, n - 2, n - 1};
    for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++)
        for (int v = 0; v < 256; v += 17) {
            uint8_t *p = malloc(n);
            cr_assert_not_null(p);
            memcpy(p, full, n);
            p[offsets[i]] = (uint8_t)v;
            try_bytes(p, n);
            free(p);
        }
    tb_free(b);
}

Test(wire, random_garbage_is_rejected)
{
    rng_state = 0xdeadbeefu;
    for (int iter = 0; iter < 3000; iter++) {
        size_t n = 1 + rng() % 600;
        uint8_t *p = malloc(n);
        loom_model *m = NULL;
        loom_status st;
        cr_assert_not_null(p);
        for (size_t i = 0; i < n; i++)
            p[i] = (uint8_t)rng();
        st = load_bytes(p, n, NULL, &m);
        cr_assert_neq(st, LOOM_OK, "%zu random bytes (iteration %d) loaded as a model", n, iter);
        cr_assert_null(m);
        expect_one_line();
        free(p);
    }
}

Test(wire, valid_head_random_tail_never_crashes)
{
    tb_model *b = gemm_model();
    size_t n;
    const uint8_t *full = tb_pack(b, &n);
    rng_state = 0xc0ffee11u;
    for (int iter = 0; iter < 2000; iter++) {
        size_t keep = rng() % n, extra = rng() % 64;
        uint8_t *p = malloc(keep + extra + 1);
        cr_assert_not_null(p);
        memcpy(p, full, keep);
        for (size_t i = 0; i < extra; i++)
            p[keep + i] = (uint8_t)rng();
        try_bytes(p, keep + extra);
        free(p);
    }
    tb_free(b);
}

Test(wire, invalid_wire_types)
{
    /* field 1 (ir_version) with wire type 7 */
    static const uint8_t wt7[] = {0x0f, 0x00};
    /* field 7 (graph) with wire type 6 */
    static const uint8_t wt6[] = {0x08, 0x08, 0x3e, 0x00};
    /* field 1 with wire type 3 (group start; ONNX has no groups) */
    static const uint8_t wt3[] = {0x0b, 0x0c};
    /* graph { field 1 (node) with wire type 7 } */
    static const uint8_t nested[] = {0x3a, 0x02, 0x0f, 0x00};
    loom_model *m = NULL;

    expect_err(load_bytes(wt7, sizeof wt7, NULL, &m), LOOM_E_MODEL_INVALID, SRC,
               "wire type", "byte 0", "onnx.ModelProto", "ir_version", NULL);
    expect_err(load_bytes(wt6, sizeof wt6, NULL, &m), LOOM_E_MODEL_INVALID, "wire type",
               "byte 2", "graph", NULL);
    expect_err(load_bytes(wt3, sizeof wt3, NULL, &m), LOOM_E_MODEL_INVALID, "wire type",
               "byte 0", NULL);
    expect_err(load_bytes(nested, sizeof nested, NULL, &m), LOOM_E_MODEL_INVALID, "wire type",
               "byte 2", "onnx.GraphProto", "node", NULL);
    cr_assert_null(m);
}

Test(wire, known_field_with_the_wrong_wire_type)
{
    /* ir_version (a varint) sent as a length-delimited field: well formed
     * on the wire, rejected by the decoder */
    static const uint8_t bytes[] = {0x0a, 0x01, 0x08};
    expect_err(load_bytes(bytes, sizeof bytes, NULL, &(loom_model *){NULL}), LOOM_E_MODEL_INVALID,
               SRC, "protobuf", NULL);
}

Test(wire, length_runs_past_the_end)
{
    /* graph: length 5, one byte present */
    static const uint8_t short_len[] = {0x3a, 0x05, 0x08};
    /* graph: length 2^63 */
    static const uint8_t huge_len[] = {0x3a, 0x80, 0x80, 0x80, 0x80, 0x80,
                                       0x80, 0x80, 0x80, 0x80, 0x01};
    /* producer_name: length 0xffffffff */
    static const uint8_t str_len[] = {0x12, 0xff, 0xff, 0xff, 0xff, 0x0f, 'a'};
    loom_model *m = NULL;
    expect_err(load_bytes(short_len, sizeof short_len, NULL, &m), LOOM_E_MODEL_INVALID,
               "length runs past the end", "byte 0", "graph", NULL);
    expect_err(load_bytes(huge_len, sizeof huge_len, NULL, &m), LOOM_E_MODEL_INVALID,
               "past the end", "graph", NULL);
    expect_err(load_bytes(str_len, sizeof str_len, NULL, &m), LOOM_E_MODEL_INVALID,
               "past the end", "producer_name", NULL);
}

Test(wire, truncated_values_and_bad_tags)
{
    static const uint8_t trunc_len[] = {0x3a, 0x80};                  /* length varint cut */
    static const uint8_t trunc_varint[] = {0x08, 0xff, 0xff};         /* ir_version cut */
    static const uint8_t trunc_32[] = {0x08, 0x08, 0x0d, 0x00, 0x00}; /* fixed32 cut */
    static const uint8_t trunc_64[] = {0x09, 0x00, 0x00, 0x00};       /* fixed64 cut */
    static const uint8_t field0[] = {0x00, 0x00};                     /* field number 0 */
    static const uint8_t overlong[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                       0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    loom_model *m = NULL;
    expect_err(load_bytes(trunc_len, sizeof trunc_len, NULL, &m), LOOM_E_MODEL_INVALID,
               "truncated length", "graph", NULL);
    expect_err(load_bytes(trunc_varint, sizeof trunc_varint, NULL, &m), LOOM_E_MODEL_INVALID,
               "truncated varint", "ir_version", NULL);
    expect_err(load_bytes(trunc_32, sizeof trunc_32, NULL, &m), LOOM_E_MODEL_INVALID,
               "truncated 32-bit", "byte 2", NULL);
    expect_err(load_bytes(trunc_64, sizeof trunc_64, NULL, &m), LOOM_E_MODEL_INVALID,
               "truncated 64-bit", NULL);
    expect_err(load_bytes(field0, sizeof field0, NULL, &m), LOOM_E_MODEL_INVALID,
               "invalid field number", "byte 0", NULL);
    expect_err(load_bytes(overlong, sizeof overlong, NULL, &m), LOOM_E_MODEL_INVALID,
               "overlong tag", "byte 0", NULL);
}

Test(wire, not_onnx_at_all)
{
    static const char text[] = "this is not a model\n";
    loom_model *m = NULL;
    loom_status st = load_bytes((const uint8_t *)text, sizeof text - 1, NULL, &m);
    cr_assert_neq(st, LOOM_OK);
    cr_assert_null(m);
    expect_one_line();
}

Test(wire, file_size_limit)
{
    tb_model *b = relu_model();
    loom_load_options o = {.max_file_bytes = 10};
    size_t n;
    char want[32];
    tb_pack(b, &n);
    snprintf(want, sizeof want, "%zu bytes", n);
    expect_err(load_opts(b, &o, NULL), LOOM_E_LIMIT, SRC, want, "limit of 10", NULL);
    o.max_file_bytes = n;
    expect_ok(load_opts(b, &o, NULL), "a model exactly at max_file_bytes");
    tb_free(b);
}

/* ---------------------------------------------------------------------- */
/* nesting                                                                 */
/* ---------------------------------------------------------------------- */

/* ir_version 8, opset_import { version 13 }, then
 * graph { node { attribute { g { node { attribute { g ... } } } } } }
 * with `levels` nested messages below the model. Built back to front. */
static uint8_t *nested_model(int levels, size_t *len)
{
    static const uint8_t head[] = {0x08, 0x08, 0x42, 0x02, 0x10, 0x0d};
    size_t cap = (size_t)levels * 6 + sizeof head + 16, pos = cap;
    uint8_t *buf = malloc(cap);
    cr_assert_not_null(buf);
    for (int k = levels; k >= 1; k--) {
        uint8_t tag;
        uint8_t v[10];
        int nv = 0;
        uint64_t content = cap - pos;
        switch ((k - 1) % 3) {
        case 0: tag = k == 1 ? (7 << 3 | 2) : (6 << 3 | 2); break; /* Model.graph / Attr.g */
        case 1: tag = 1 << 3 | 2; break;                            /* Graph.node */
        default: tag = 5 << 3 | 2; break;                           /* Node.attribute */
        }
        do {
            v[nv++] = (uint8_t)((content & 0x7f) | (content >= 0x80 ? 0x80 : 0));
            content >>= 7;
        } while (content);
        pos -= (size_t)nv;
        memcpy(buf + pos, v, (size_t)nv);
        buf[--pos] = tag;
    }
    pos -= sizeof head;
    memcpy(buf + pos, head, sizeof head);
    *len = cap - pos;
    memmove(buf, buf + pos, *len);
    return buf;
}

Test(nesting, hundred_thousand_levels_are_refused)
{
    size_t n;
    uint8_t *p = nested_model(100000, &n);
    loom_model *m = NULL;
    cr_assert_gt(n, 300000);
    expect_err(load_bytes(p, n, NULL, &m), LOOM_E_MODEL_INVALID, SRC, "nested", "64", NULL);
    cr_assert_null(m);
    free(p);
}

Test(nesting, just_past_the_default_limit)
{
    size_t n;
    uint8_t *p = nested_model(65, &n);
    expect_err(load_bytes(p, n, NULL, &(loom_model *){NULL}), LOOM_E_MODEL_INVALID, "nested",
               "64", NULL);
    free(p);
    /* 64 levels pass the wire check; the model itself is then invalid
     * (nodes without op_type) and says so */
    p = nested_model(64, &n);
    expect_err(load_bytes(p, n, NULL, &(loom_model *){NULL}), LOOM_E_MODEL_INVALID, "op_type",
               NULL);
    cr_assert(strstr(loom_last_error(), "nested") == NULL, "%s", loom_last_error());
    free(p);
}

Test(nesting, lowered_max_nesting)
{
    size_t n;
    uint8_t *p = nested_model(10, &n);
    loom_load_options o = {.max_nesting = 5};
    loom_model *m = NULL;
    expect_err(load_bytes(p, n, &o, &m), LOOM_E_MODEL_INVALID, "nested deeper than 5", NULL);
    cr_assert_null(m);
    /* default limit: the nesting is fine, the empty nodes are not */
    expect_err(load_bytes(p, n, NULL, &m), LOOM_E_MODEL_INVALID, "op_type", NULL);
    cr_assert(strstr(loom_last_error(), "nested") == NULL, "%s", loom_last_error());
    free(p);
}

Test(nesting, lowered_max_nesting_applies_to_real_models)
{
    /* model > graph > input > type > tensor_type > shape > dim: 6 deep */
    tb_model *b = relu_model();
    loom_load_options o = {.max_nesting = 5};
    expect_err(load_opts(b, &o, NULL), LOOM_E_MODEL_INVALID, "nested deeper than 5", NULL);
    o.max_nesting = 6;
    expect_ok(load_opts(b, &o, NULL), "max_nesting 6");
    expect_ok(load_opts(b, NULL, NULL), "default max_nesting");
    tb_free(b);
}

/* ---------------------------------------------------------------------- */
/* sizes: counts and products that overflow or exceed limits               */
/* ---------------------------------------------------------------------- */

Test(sizes, initializer_dims_product_overflows_int64)
{
    tb_model *b = gemm_model();
    Onnx__TensorProto *w = tb_proto(b)->graph->initializer[0];
    w->dims[0] = (int64_t)1 << 40;
    w->dims[1] = (int64_t)1 << 40;
    expect_err(load(b), LOOM_E_MODEL_INVALID, SRC, "initializer \"W\"", "overflow",
               "[1099511627776,1099511627776]", NULL);
    tb_free(b);
}

Test(sizes, initializer_byte_count_overflows_uint64)
{
    /* 2^31 x 2^31 = 2^62 elements fit, x 4 bytes does not */
    tb_model *b = gemm_model();
    Onnx__TensorProto *w = tb_proto(b)->graph->initializer[0];
    w->dims[0] = (int64_t)1 << 31;
    w->dims[1] = (int64_t)1 << 31;
    expect_err(load(b), LOOM_E_MODEL_INVALID, "initializer \"W\"", "overflow", "2147483648",
               NULL);
    tb_free(b);
}

Test(sizes, initializer_over_default_tensor_limit)
{
    tb_model *b = gemm_model();
    Onnx__TensorProto *w = tb_proto(b)->graph->initializer[0];
    w->dims[0] = (int64_t)1 << 20;
    w->dims[1] = (int64_t)1 << 20; /* 4 TiB of float32, raw_data still 48 bytes */
    expect_err(load(b), LOOM_E_LIMIT, SRC, "initializer \"W\"", "4398046511104",
               "4294967296", NULL);
    tb_free(b);
}

Test(sizes, initializer_over_lowered_tensor_limit)
{
    tb_model *b = gemm_model();
    loom_load_options o = {.max_tensor_bytes = 40};
    /* W is 48 bytes */
    expect_err(load_opts(b, &o, NULL), LOOM_E_LIMIT, "initializer \"W\"", "48 bytes",
               "limit of 40", NULL);
    o.max_tensor_bytes = 48;
    expect_ok(load_opts(b, &o, NULL), "W exactly at the limit");
    tb_free(b);
}

/* The memory budget (loom_load_options.max_memory_bytes): decoding is
 * estimated before it starts, tensors are counted before any is made,
 * and the message says what the model would need. */
Test(sizes, memory_budget)
{
    tb_model *b = gemm_model();
    loom_load_options o = {.max_memory_bytes = 64};
    expect_err(load_opts(b, &o, NULL), LOOM_E_LIMIT, "decoding the file needs", "over the budget of 64 bytes",
               "LOOM_MAX_MEMORY", NULL);
    o.max_memory_bytes = 16384;
    expect_ok(load_opts(b, &o, NULL), "a small model in 16 KiB");
    {
        /* W of 1 MiB in raw_data, budget 1.5 MiB: the file and its copy
         * in the decoded form fit, the tensor made from it does not */
        Onnx__TensorProto *w = tb_proto(b)->graph->initializer[0];
        w->dims[0] = 512;
        w->dims[1] = 512;
        w->raw_data.len = (size_t)512 * 512 * 4;
        w->raw_data.data = tb_alloc(b, w->raw_data.len);
        o.max_memory_bytes = 4 << 20;
        expect_ok(load_opts(b, &o, NULL), "1 MiB of weights in 4 MiB");
        o.max_memory_bytes = (5 << 20) / 2;
        expect_err(load_opts(b, &o, NULL), LOOM_E_LIMIT, "tensors) needs 3.0 MiB", "over the budget of 2.5 MiB",
                   NULL);
        /* the same weights as float_data (packed fixed32 on the wire):
         * estimated at their size, not four times it (a review found
         * 19 MiB estimated for 4 MiB of floats) */
        w->has_raw_data = 0;
        w->raw_data.len = 0;
        w->n_float_data = (size_t)512 * 512;
        w->float_data = tb_alloc(b, w->n_float_data * sizeof(float));
        memset(w->float_data, 0, w->n_float_data * sizeof(float));
        o.max_memory_bytes = 4 << 20;
        expect_ok(load_opts(b, &o, NULL), "1 MiB of float_data in 4 MiB");
    }
    tb_free(b);
}

/* loom_memory_budget: LOOM_MAX_MEMORY when it is a size, else the
 * machine's (half of what the process may have). */
Test(sizes, memory_budget_default)
{
    uint64_t machine;
    unsetenv("LOOM_MAX_MEMORY");
    machine = loom_memory_budget();
    cr_assert_gt(machine, (uint64_t)64 << 20);
    setenv("LOOM_MAX_MEMORY", "3G", 1);
    cr_assert_eq(loom_memory_budget(), (uint64_t)3 << 30);
    setenv("LOOM_MAX_MEMORY", "512MiB", 1);
    cr_assert_eq(loom_memory_budget(), (uint64_t)512 << 20);
    setenv("LOOM_MAX_MEMORY", "1234", 1);
    cr_assert_eq(loom_memory_budget(), 1234);
    setenv("LOOM_MAX_MEMORY", "lots", 1);
    cr_assert_eq(loom_memory_budget(), machine, "not a size: the machine's budget");
    setenv("LOOM_MAX_MEMORY", "0", 1);
    cr_assert_eq(loom_memory_budget(), machine);
    unsetenv("LOOM_MAX_MEMORY");
}

Test(sizes, initializer_negative_dims)
{
    tb_model *b = gemm_model();
    Onnx__TensorProto *w = tb_proto(b)->graph->initializer[0];
    w->dims[1] = -4;
    expect_err(load(b), LOOM_E_MODEL_INVALID, "initializer \"W\"", "dims[1]", "negative", "-4",
               NULL);
    w->dims[1] = INT64_MIN;
    expect_err(load(b), LOOM_E_MODEL_INVALID, "dims[1]", "-9223372036854775808", NULL);
    tb_free(b);
}

Test(sizes, initializer_rank_over_limit)
{
    tb_model *b = gemm_model();
    Onnx__TensorProto *w = tb_proto(b)->graph->initializer[0];
    int64_t *d = tb_alloc(b, 9 * sizeof *d);
    for (int i = 0; i < 9; i++)
        d[i] = 1;
    d[0] = 3;
    d[1] = 4;
    w->dims = d;
    w->n_dims = 9;
    expect_err(load(b), LOOM_E_MODEL_UNSUPPORTED, "initializer \"W\"", "rank 9", NULL);
    tb_free(b);
}

Test(sizes, graph_input_negative_dim)
{
    tb_model *b = relu_model();
    Onnx__TensorShapeProto__Dimension *d = input_dim(b, 0, 1);
    d->dim_value = -5;
    expect_err(load(b), LOOM_E_MODEL_INVALID, SRC, "graph input \"x\"", "dimension 1", "-5",
               NULL);
    tb_free(b);
}

Test(sizes, graph_input_absurd_dim)
{
    tb_model *b = relu_model();
    input_dim(b, 0, 0)->dim_value = (int64_t)1 << 50;
    expect_err(load(b), LOOM_E_MODEL_INVALID, "graph input \"x\"", "dimension 0",
               "1125899906842624", NULL);
    tb_free(b);
}

Test(sizes, graph_input_rank_over_limit)
{
    tb_model *b = tb_new(13);
    int64_t dims[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    tb_input(b, "x", LOOM_F32, 9, dims);
    tb_node(b, "Relu", "x", "y");
    tb_output(b, "y");
    expect_err(load(b), LOOM_E_MODEL_UNSUPPORTED, "graph input \"x\"", "rank 9", NULL);
    tb_free(b);
}

Test(sizes, huge_declared_input_fails_planning_with_limit)
{
    /* every dim is plausible on its own, the product is 2^60 elements */
    tb_model *b = tb_new(13);
    tb_input(b, "x", LOOM_F32, 3, I64((int64_t)1 << 20, (int64_t)1 << 20, (int64_t)1 << 20));
    tb_node(b, "Relu", "x", "y");
    tb_output(b, "y");
    expect_err(plan(b), LOOM_E_LIMIT, SRC, "input \"x\"", "[1048576,1048576,1048576]",
               "8589934592", NULL);
    tb_free(b);
}

Test(sizes, declared_input_product_overflows)
{
    tb_model *b = tb_new(13);
    tb_input(b, "x", LOOM_F32, 3, I64((int64_t)1 << 40, (int64_t)1 << 40, (int64_t)1 << 40));
    tb_node(b, "Relu", "x", "y");
    tb_output(b, "y");
    expect_err(plan(b), LOOM_E_LIMIT, "input \"x\"", "1099511627776", NULL);
    tb_free(b);
}

Test(sizes, session_tensor_limit_on_inputs)
{
    tb_model *b = tb_new(13);
    loom_session_options so = {.max_tensor_bytes = 1000};
    tb_input(b, "x", LOOM_F32, 1, I64(1000));
    tb_node(b, "Relu", "x", "y");
    tb_output(b, "y");
    expect_err(plan_opts(b, &so), LOOM_E_LIMIT, "input \"x\"", "[1000]", "1000 bytes", NULL);
    so.max_tensor_bytes = 4000;
    expect_ok(plan_opts(b, &so), "4000 bytes allowed");
    tb_free(b);
}

Test(sizes, session_tensor_limit_on_intermediates)
{
    /* [1000,1] x [1,1000] -> [1000,1000]: 4 MB out of 4 kB inputs */
    tb_model *b = tb_new(13);
    loom_session_options so = {.max_tensor_bytes = 1 << 20};
    tb_input(b, "x", LOOM_F32, 2, I64(1000, 1));
    tb_init(b, "W", LOOM_F32, 2, I64(1, 1000), NULL);
    tb_node(b, "MatMul", "x,W", "y");
    tb_output(b, "y");
    expect_err(plan_opts(b, &so), LOOM_E_LIMIT, SRC, "MatMul", "output \"y\"", "[1000,1000]",
               "1048576", NULL);
    tb_free(b);
}

Test(sizes, symbolic_input_bound_to_huge_shape)
{
    tb_model *b = tb_new(13);
    loom_input_shape is = {.name = "x", .rank = 2, .dims = I64((int64_t)1 << 40, 3)};
    loom_session_options so = {.input_shapes = &is, .input_shape_count = 1};
    tb_input(b, "x", LOOM_F32, 2, I64(-1, 3));
    tb_node(b, "Relu", "x", "y");
    tb_output(b, "y");
    expect_err(plan_opts(b, &so), LOOM_E_LIMIT, "input \"x\"", "1099511627776", NULL);
    is.dims = I64(-7, 3);
    expect_err(plan_opts(b, &so), LOOM_E_SHAPE, "input \"x\"", "-7", "does not fit", NULL);
    is.dims = I64(5, 3);
    expect_ok(plan_opts(b, &so), "binding N = 5");
    tb_free(b);
}

Test(sizes, constant_of_shape_huge_fails_with_limit)
{
    /* ConstantOfShape([2^59]) would be 2^61 bytes of float32: planning must
     * say LOOM_E_LIMIT, never try to allocate it */
    tb_model *b = tb_new(13);
    loom_session_options so = {.max_tensor_bytes = 1 << 20};
    tb_input(b, "x", LOOM_F32, 1, I64(1));
    tb_init(b, "shape", LOOM_I64, 1, I64(1), I64((int64_t)1 << 59));
    loom_status st;
    tb_node(b, "ConstantOfShape", "shape", "c");
    tb_node(b, "Add", "x,c", "y");
    tb_output(b, "y");
    st = plan_opts(b, &so);
    tb_free(b);
    expect_err(st, LOOM_E_LIMIT, SRC, "ConstantOfShape", NULL);
}

Test(sizes, range_too_long)
{
    tb_model *b = tb_new(13);
    tb_input(b, "x", LOOM_I64, 1, I64(1));
    tb_init(b, "start", LOOM_I64, 0, NULL, I64(0));
    tb_init(b, "limit", LOOM_I64, 0, NULL, I64((int64_t)1 << 40));
    tb_init(b, "delta", LOOM_I64, 0, NULL, I64(1));
    tb_node(b, "Range", "start,limit,delta", "r");
    tb_node(b, "Add", "x,r", "y");
    tb_output(b, "y");
    expect_err(plan(b), LOOM_E_LIMIT, "Range", "[1099511627776]", "larger than the limit", NULL);
    tb_free(b);
}

/* ---------------------------------------------------------------------- */
/* data: tensor payloads that disagree with dtype x shape                  */
/* ---------------------------------------------------------------------- */

Test(data, raw_data_too_short)
{
    tb_model *b = gemm_model();
    Onnx__TensorProto *w = tb_proto(b)->graph->initializer[0];
    w->raw_data.len = 44; /* [3,4] float32 is 48 */
    expect_err(load(b), LOOM_E_MODEL_INVALID, SRC, "initializer \"W\"", "raw_data", "44 bytes",
               "expected 48", "[3,4]", NULL);
    w->raw_data.len = 0;
    expect_err(load(b), LOOM_E_MODEL_INVALID, "initializer \"W\"", "0 bytes", "expected 48",
               NULL);
    tb_free(b);
}

Test(data, raw_data_too_long)
{
    tb_model *b = gemm_model();
    Onnx__TensorProto *w = tb_proto(b)->graph->initializer[0];
    uint8_t *more = tb_alloc(b, 52);
    memcpy(more, w->raw_data.data, 48);
    w->raw_data.data = more;
    w->raw_data.len = 52;
    expect_err(load(b), LOOM_E_MODEL_INVALID, "initializer \"W\"", "raw_data", "52 bytes",
               "expected 48", NULL);
    tb_free(b);
}

static void use_float_data(tb_model *b, Onnx__TensorProto *t, size_t n, const float *v)
{
    t->has_raw_data = 0;
    t->raw_data.len = 0;
    t->raw_data.data = NULL;
    t->n_float_data = n;
    t->float_data = tb_alloc(b, (n ? n : 1) * sizeof(float));
    if (n)
        memcpy(t->float_data, v, n * sizeof(float));
}

Test(data, float_data_count_mismatch)
{
    tb_model *b = gemm_model();
    Onnx__TensorProto *w = tb_proto(b)->graph->initializer[0];
    loom_model *m = NULL;
    const float x[6] = {1, 2, 3, 4, 5, 6};
    float y[8];

    /* the right count loads and gives the same results as raw_data */
    use_float_data(b, w, 12, gemm_w);
    expect_ok(load_opts(b, NULL, &m), "float_data with 12 values");
    run_f32(m, x, 6, y, 8);
    check_gemm(x, y);
    loom_model_free(m);

    use_float_data(b, w, 11, gemm_w);
    expect_err(load(b), LOOM_E_MODEL_INVALID, SRC, "initializer \"W\"", "float_data",
               "11 elements", "expected 12", NULL);
    use_float_data(b, w, 13, (const float[13]){0});
    expect_err(load(b), LOOM_E_MODEL_INVALID, "float_data", "13 elements", "expected 12", NULL);
    /* no payload at all for a non-empty tensor */
    use_float_data(b, w, 0, NULL);
    expect_err(load(b), LOOM_E_MODEL_INVALID, "float_data", "0 elements", "expected 12", NULL);
    tb_free(b);
}

Test(data, int64_data_count_mismatch)
{
    tb_model *b = relu_model();
    Onnx__TensorProto *t = tb_init(b, "shape", LOOM_I64, 1, I64(2), I64(3, 2));
    t->has_raw_data = 0;
    t->n_int64_data = 3;
    t->int64_data = tb_alloc(b, 3 * sizeof(int64_t));
    expect_err(load(b), LOOM_E_MODEL_INVALID, "initializer \"shape\"", "int64_data",
               "3 elements", "expected 2", NULL);
    tb_free(b);
}

static Onnx__TensorProto *int32_payload(tb_model *b, const char *name, loom_dtype dt, size_t n,
                                        const int32_t *v)
{
    Onnx__TensorProto *t = tb_init(b, name, dt, 1, I64((int64_t)n), NULL);
    t->has_raw_data = 0;
    t->raw_data.len = 0;
    t->n_int32_data = n;
    t->int32_data = tb_alloc(b, n * sizeof(int32_t));
    memcpy(t->int32_data, v, n * sizeof(int32_t));
    return t;
}

Test(data, int32_data_out_of_range)
{
    tb_model *b = relu_model();
    int32_payload(b, "q", LOOM_I8, 3, (const int32_t[]){1, 200, 3});
    expect_err(load(b), LOOM_E_MODEL_INVALID, SRC, "initializer \"q\"", "int32_data[1]", "200",
               "int8", NULL);
    tb_free(b);

    b = relu_model();
    int32_payload(b, "q", LOOM_I8, 3, (const int32_t[]){-128, 127, -129});
    expect_err(load(b), LOOM_E_MODEL_INVALID, "int32_data[2]", "-129", "int8", NULL);
    tb_free(b);

    b = relu_model();
    int32_payload(b, "u", LOOM_U8, 2, (const int32_t[]){255, 256});
    expect_err(load(b), LOOM_E_MODEL_INVALID, "initializer \"u\"", "int32_data[1]", "256",
               "uint8", NULL);
    tb_free(b);

    b = relu_model();
    int32_payload(b, "f", LOOM_BOOL, 2, (const int32_t[]){0, 2});
    expect_err(load(b), LOOM_E_MODEL_INVALID, "initializer \"f\"", "int32_data[1]", "bool",
               NULL);
    tb_free(b);

    /* in range: loads */
    b = relu_model();
    int32_payload(b, "q", LOOM_I8, 3, (const int32_t[]){-128, 0, 127});
    expect_ok(load(b), "int8 values in range");
    tb_free(b);
}

Test(data, bool_raw_data_not_0_or_1)
{
    tb_model *b = relu_model();
    tb_init(b, "mask", LOOM_BOOL, 1, I64(3), (const uint8_t[]){1, 0, 7});
    expect_err(load(b), LOOM_E_MODEL_INVALID, "initializer \"mask\"", "bool", "element 2", "7",
               NULL);
    tb_free(b);
}

Test(data, unsupported_data_types)
{
    static const struct {
        int32_t type;
        const char *name;
    } cases[] = {{8, "string"}, {14, "complex64"}, {15, "complex128"}, {17, "17"}, {999, "999"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tb_model *b = gemm_model();
        Onnx__TensorProto *w = tb_proto(b)->graph->initializer[0];
        char num[32];
        w->data_type = cases[i].type;
        snprintf(num, sizeof num, "data_type %d", (int)cases[i].type);
        expect_err(load(b), LOOM_E_DTYPE, SRC, "initializer \"W\"", num, cases[i].name, NULL);
        tb_free(b);
    }
}

Test(data, missing_data_type)
{
    tb_model *b = gemm_model();
    Onnx__TensorProto *w = tb_proto(b)->graph->initializer[0];
    w->has_data_type = 0;
    expect_err(load(b), LOOM_E_MODEL_INVALID, "initializer \"W\"", "data_type", "missing", NULL);
    w->has_data_type = 1;
    w->data_type = 0;
    expect_err(load(b), LOOM_E_MODEL_INVALID, "initializer \"W\"", "data_type", NULL);
    tb_free(b);
}

Test(data, graph_input_element_types)
{
    tb_model *b = relu_model();
    Onnx__TypeProto__Tensor *tt = tb_proto(b)->graph->input[0]->type->tensor_type;
    tt->elem_type = 14;
    expect_err(load(b), LOOM_E_DTYPE, "graph input \"x\"", "complex64", NULL);
    tt->elem_type = 8;
    expect_err(load(b), LOOM_E_DTYPE, "graph input \"x\"", "string", NULL);
    tt->has_elem_type = 0;
    expect_err(load(b), LOOM_E_MODEL_INVALID, "graph input \"x\"", "element type", "missing",
               NULL);
    tb_free(b);
}

Test(data, segmented_tensor)
{
    tb_model *b = gemm_model();
    Onnx__TensorProto *w = tb_proto(b)->graph->initializer[0];
    Onnx__TensorProto__Segment *seg = tb_alloc(b, sizeof *seg);
    onnx__tensor_proto__segment__init(seg);
    seg->has_begin = seg->has_end = 1;
    seg->begin = 0;
    seg->end = 12;
    w->segment = seg;
    expect_err(load(b), LOOM_E_MODEL_UNSUPPORTED, "initializer \"W\"", "segment", NULL);
    tb_free(b);
}

Test(data, initializer_without_name)
{
    tb_model *b = gemm_model();
    tb_proto(b)->graph->initializer[1]->name = tb_strdup(b, "");
    expect_err(load(b), LOOM_E_MODEL_INVALID, "initializer #1", "no name", NULL);
    tb_free(b);
}

Test(data, constant_attribute_tensor_is_checked_too)
{
    tb_model *b = relu_model();
    Onnx__TensorProto *t = tb_tensor(b, "", LOOM_F32, 1, I64(4), NULL);
    Onnx__NodeProto *n = tb_node(b, "Constant", "", "c");
    n->name = tb_strdup(b, "k");
    t->raw_data.len = 3;
    tb_attr_tensor(b, n, "value", t);
    expect_err(load(b), LOOM_E_MODEL_INVALID, "node \"k\"", "attribute \"value\"",
               "raw_data is 3 bytes", "expected 16", NULL);
    tb_free(b);
}

/* ---------------------------------------------------------------------- */
/* external data                                                           */
/* ---------------------------------------------------------------------- */

static char ext_dir[64];     /* the model's folder */
static char ext_out[64];     /* a folder outside it */
static char ext_sib[96];     /* ext_dir + "-sib": shares its prefix */

#define rm_tree tb_rmtree

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[256];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s: %s", path, strerror(errno));
    cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

static const float ext_vals[4] = {1.5f, -2.0f, 3.25f, 1e6f};

static void ext_setup(void)
{
    uint8_t blob[32];
    strcpy(ext_dir, "/tmp/loom-imp-XXXXXX");
    strcpy(ext_out, "/tmp/loom-imp-out-XXXXXX");
    cr_assert_not_null(mkdtemp(ext_dir), "mkdtemp: %s", strerror(errno));
    cr_assert_not_null(mkdtemp(ext_out), "mkdtemp: %s", strerror(errno));
    snprintf(ext_sib, sizeof ext_sib, "%s-sib", ext_dir);
    /* w.bin: 8 junk bytes, the 16 bytes of W, 8 junk bytes */
    memset(blob, 0xab, sizeof blob);
    memcpy(blob + 8, ext_vals, sizeof ext_vals);
    write_file(ext_dir, "w.bin", blob, sizeof blob);
    write_file(ext_dir, "exact.bin", ext_vals, sizeof ext_vals);
    write_file(ext_out, "secret.bin", blob, sizeof blob);
}

static void ext_teardown(void)
{
    rm_tree(ext_dir);
    rm_tree(ext_out);
    rm_tree(ext_sib);
}

TestSuite(external, .init = ext_setup, .fini = ext_teardown, .timeout = 60);

static void ext_entry(tb_model *b, Onnx__TensorProto *t, const char *key, const char *value)
{
    Onnx__StringStringEntryProto *e = tb_alloc(b, sizeof *e);
    Onnx__StringStringEntryProto **arr =
        tb_alloc(b, (t->n_external_data + 1) * sizeof *arr);
    onnx__string_string_entry_proto__init(e);
    e->key = tb_strdup(b, key);
    e->value = tb_strdup(b, value);
    if (t->n_external_data)
        memcpy(arr, t->external_data, t->n_external_data * sizeof *arr);
    arr[t->n_external_data++] = e;
    t->external_data = arr;
}

/* add_model() with W stored externally; NULL leaves a key out. */
static tb_model *ext_model(const char *location, const char *offset, const char *length)
{
    Onnx__TensorProto *w;
    tb_model *b = add_model(&w);
    w->has_raw_data = 0;
    w->raw_data.len = 0;
    w->raw_data.data = NULL;
    w->has_data_location = 1;
    w->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    if (location)
        ext_entry(b, w, "location", location);
    if (offset)
        ext_entry(b, w, "offset", offset);
    if (length)
        ext_entry(b, w, "length", length);
    return b;
}

/* Write the model into ext_dir and load it from the file. */
static loom_status ext_load_file(tb_model *b, loom_model **m)
{
    char path[128];
    size_t n;
    const uint8_t *p = tb_pack(b, &n);
    loom_model *tmp = NULL;
    loom_status st;
    write_file(ext_dir, "model.onnx", p, n);
    snprintf(path, sizeof path, "%s/model.onnx", ext_dir);
    st = loom_model_load(path, NULL, &tmp);
    if (m)
        *m = tmp;
    else
        loom_model_free(tmp);
    return st;
}

static loom_status ext_load_buffer(tb_model *b, const char *base_dir, loom_model **m)
{
    size_t n;
    const uint8_t *p = tb_pack(b, &n);
    loom_model *tmp = NULL;
    loom_status st = loom_model_load_buffer(p, n, SRC, base_dir, NULL, &tmp);
    if (m)
        *m = tmp;
    else
        loom_model_free(tmp);
    return st;
}

static void expect_ext_values(loom_model *m)
{
    const float zeros[4] = {0};
    float y[4];
    run_f32(m, zeros, 4, y, 4);
    for (int i = 0; i < 4; i++)
        cr_assert_float_eq(y[i], ext_vals[i], 0, "W[%d] = %g, want %g", i, y[i], ext_vals[i]);
}

Test(external, valid_offset_and_length_from_file)
{
    tb_model *b = ext_model("w.bin", "8", "16");
    loom_model *m = NULL;
    expect_ok(ext_load_file(b, &m), "external W at offset 8");
    expect_ext_values(m);
    loom_model_free(m);
    tb_free(b);
}

Test(external, valid_from_buffer_with_base_dir)
{
    tb_model *b = ext_model("w.bin", "8", "16");
    loom_model *m = NULL;
    expect_ok(ext_load_buffer(b, ext_dir, &m), "external W, buffer + base_dir");
    expect_ext_values(m);
    loom_model_free(m);
    tb_free(b);
}

Test(external, valid_whole_file_without_offset_or_length)
{
    tb_model *b = ext_model("exact.bin", NULL, NULL);
    loom_model *m = NULL;
    expect_ok(ext_load_file(b, &m), "external W, whole file");
    expect_ext_values(m);
    loom_model_free(m);
    tb_free(b);
}

Test(external, valid_in_subfolder_and_through_inner_symlink)
{
    char sub[128], target[128], link[128];
    tb_model *b;
    loom_model *m = NULL;
    snprintf(sub, sizeof sub, "%s/data", ext_dir);
    cr_assert_eq(mkdir(sub, 0700), 0);
    write_file(sub, "w.bin", ext_vals, sizeof ext_vals);
    b = ext_model("data/w.bin", "0", "16");
    expect_ok(ext_load_file(b, &m), "external W in a subfolder");
    expect_ext_values(m);
    loom_model_free(m);
    tb_free(b);

    /* a link that stays inside the folder is fine */
    snprintf(target, sizeof target, "%s/exact.bin", ext_dir);
    snprintf(link, sizeof link, "%s/inner-link.bin", ext_dir);
    cr_assert_eq(symlink(target, link), 0, "symlink: %s", strerror(errno));
    b = ext_model("inner-link.bin", NULL, "16");
    expect_ok(ext_load_file(b, &m), "external W through an inner symlink");
    expect_ext_values(m);
    loom_model_free(m);
    tb_free(b);
}

Test(external, absolute_location_refused)
{
    tb_model *b = ext_model("/etc/passwd", "0", "16");
    expect_err(ext_load_file(b, NULL), LOOM_E_MODEL_INVALID, "initializer \"W\"", "/etc/passwd",
               "absolute", NULL);
    expect_err(ext_load_buffer(b, ext_dir, NULL), LOOM_E_MODEL_INVALID, "/etc/passwd",
               "absolute", NULL);
    tb_free(b);
}

Test(external, dotdot_location_refused)
{
    static const char *const locs[] = {"../w.bin", "data/../../w.bin", "..", "a/.."};
    char rel[128];
    for (size_t i = 0; i < sizeof locs / sizeof locs[0]; i++) {
        tb_model *b = ext_model(locs[i], "0", "16");
        expect_err(ext_load_file(b, NULL), LOOM_E_MODEL_INVALID, "initializer \"W\"", locs[i],
                   "\"..\"", NULL);
        tb_free(b);
    }
    /* a real file one level up, reachable by "..": still refused */
    snprintf(rel, sizeof rel, "../%s/secret.bin", ext_out + strlen("/tmp/"));
    {
        tb_model *b = ext_model(rel, "0", "16");
        expect_err(ext_load_file(b, NULL), LOOM_E_MODEL_INVALID, "\"..\"", NULL);
        tb_free(b);
    }
}

Test(external, symlink_to_outside_file_refused)
{
    char target[128], link[128];
    tb_model *b;
    snprintf(target, sizeof target, "%s/secret.bin", ext_out);
    snprintf(link, sizeof link, "%s/link.bin", ext_dir);
    cr_assert_eq(symlink(target, link), 0, "symlink: %s", strerror(errno));
    b = ext_model("link.bin", "0", "16");
    expect_err(ext_load_file(b, NULL), LOOM_E_MODEL_INVALID, "initializer \"W\"", "link.bin",
               "outside", NULL);
    tb_free(b);
}

Test(external, symlink_to_outside_folder_refused)
{
    char link[128];
    tb_model *b;
    snprintf(link, sizeof link, "%s/ldir", ext_dir);
    cr_assert_eq(symlink(ext_out, link), 0, "symlink: %s", strerror(errno));
    b = ext_model("ldir/secret.bin", "0", "16");
    expect_err(ext_load_file(b, NULL), LOOM_E_MODEL_INVALID, "ldir/secret.bin", "outside", NULL);
    tb_free(b);
}

Test(external, symlink_to_sibling_with_same_prefix_refused)
{
    /* /tmp/loom-imp-ABC-sib/... starts with /tmp/loom-imp-ABC but is not in it */
    char target[160], link[128];
    tb_model *b;
    uint8_t blob[32] = {0};
    cr_assert_eq(mkdir(ext_sib, 0700), 0, "mkdir %s: %s", ext_sib, strerror(errno));
    write_file(ext_sib, "secret.bin", blob, sizeof blob);
    snprintf(target, sizeof target, "%s/secret.bin", ext_sib);
    snprintf(link, sizeof link, "%s/sib.bin", ext_dir);
    cr_assert_eq(symlink(target, link), 0, "symlink: %s", strerror(errno));
    b = ext_model("sib.bin", "0", "16");
    expect_err(ext_load_file(b, NULL), LOOM_E_MODEL_INVALID, "sib.bin", "outside", NULL);
    tb_free(b);
}

Test(external, offset_plus_length_past_end_refused)
{
    tb_model *b = ext_model("w.bin", "24", "16"); /* w.bin is 32 bytes */
    expect_err(ext_load_file(b, NULL), LOOM_E_MODEL_INVALID, "initializer \"W\"", "w.bin",
               "32 bytes", "offset 24", "past", NULL);
    tb_free(b);
    b = ext_model("w.bin", "33", NULL);
    expect_err(ext_load_file(b, NULL), LOOM_E_MODEL_INVALID, "offset 33", "past", NULL);
    tb_free(b);
    b = ext_model("w.bin", "18446744073709551600", "16");
    expect_err(ext_load_file(b, NULL), LOOM_E_MODEL_INVALID, "18446744073709551600", "past",
               NULL);
    tb_free(b);
    /* UINT64_MAX: refused either way */
    b = ext_model("w.bin", "18446744073709551615", "16");
    expect_err(ext_load_file(b, NULL), LOOM_E_MODEL_INVALID, "18446744073709551615", NULL);
    tb_free(b);
    /* exactly at the end is fine */
    b = ext_model("w.bin", "16", "16");
    expect_ok(ext_load_file(b, NULL), "offset 16 + 16 bytes of a 32-byte file");
    tb_free(b);
}

Test(external, length_not_matching_tensor_refused)
{
    tb_model *b = ext_model("w.bin", "8", "12");
    expect_err(ext_load_file(b, NULL), LOOM_E_MODEL_INVALID, "initializer \"W\"", "length",
               "12 bytes", "expected 16", NULL);
    tb_free(b);
    b = ext_model("w.bin", "0", "32");
    expect_err(ext_load_file(b, NULL), LOOM_E_MODEL_INVALID, "32 bytes", "expected 16", NULL);
    tb_free(b);
}

Test(external, bad_numbers_refused)
{
    tb_model *b = ext_model("w.bin", "-8", "16");
    expect_err(ext_load_file(b, NULL), LOOM_E_MODEL_INVALID, "offset", "\"-8\"", "not a number",
               NULL);
    tb_free(b);
    b = ext_model("w.bin", "8", "16 bytes");
    expect_err(ext_load_file(b, NULL), LOOM_E_MODEL_INVALID, "length", "\"16 bytes\"",
               "not a number", NULL);
    tb_free(b);
    b = ext_model("w.bin", "99999999999999999999999", "16");
    expect_err(ext_load_file(b, NULL), LOOM_E_MODEL_INVALID, "offset", "not a number", NULL);
    tb_free(b);
}

Test(external, missing_file)
{
    tb_model *b = ext_model("missing.bin", "0", "16");
    expect_err(ext_load_file(b, NULL), LOOM_E_NOT_FOUND, "initializer \"W\"", "missing.bin",
               NULL);
    tb_free(b);
}

Test(external, missing_or_empty_location)
{
    tb_model *b = ext_model(NULL, "0", "16");
    expect_err(ext_load_file(b, NULL), LOOM_E_MODEL_INVALID, "initializer \"W\"", "location",
               NULL);
    tb_free(b);
    b = ext_model("", "0", "16");
    expect_err(ext_load_file(b, NULL), LOOM_E_MODEL_INVALID, "location", NULL);
    tb_free(b);
}

Test(external, location_is_a_directory)
{
    char sub[128];
    tb_model *b;
    snprintf(sub, sizeof sub, "%s/adir", ext_dir);
    cr_assert_eq(mkdir(sub, 0700), 0);
    b = ext_model("adir", NULL, NULL);
    expect_err(ext_load_file(b, NULL), LOOM_E_MODEL_INVALID, "adir", "not a regular file", NULL);
    tb_free(b);
    b = ext_model(".", NULL, NULL);
    expect_err(ext_load_file(b, NULL), LOOM_E_MODEL_INVALID, "not a regular file", NULL);
    tb_free(b);
}

Test(external, base_dir_is_the_root_folder)
{
    /* every file is inside "/": a model loaded with base_dir "/" may use
     * external data anywhere below it */
    char loc[128];
    tb_model *b;
    loom_model *m = NULL;
    snprintf(loc, sizeof loc, "%s/w.bin", ext_dir + 1);
    loom_status st;
    b = ext_model(loc, "8", "16");
    st = ext_load_buffer(b, "/", &m);
    tb_free(b);
    expect_ok(st, "external data below base_dir \"/\"");
    expect_ext_values(m);
    loom_model_free(m);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

Test(external, fifo_location_is_refused_without_blocking)
{
    /* a named pipe inside the folder: must be refused at once, not opened
     * and waited on. A helper process opens the write end after 2 s so
     * that a blocking open cannot hang the test forever. */
    char fifo[128];
    tb_model *b;
    loom_status st;
    double t0, elapsed;
    pid_t pid;
    snprintf(fifo, sizeof fifo, "%s/pipe", ext_dir);
    cr_assert_eq(mkfifo(fifo, 0600), 0, "mkfifo: %s", strerror(errno));
    b = ext_model("pipe", NULL, NULL);
    pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        int fd;
        sleep(2);
        fd = open(fifo, O_WRONLY | O_NONBLOCK);
        if (fd >= 0)
            close(fd);
        _exit(0);
    }
    t0 = now_s();
    st = ext_load_file(b, NULL);
    elapsed = now_s() - t0;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    tb_free(b);
    cr_assert_neq(st, LOOM_OK, "a FIFO was accepted as external data");
    expect_one_line();
    cr_assert(strstr(loom_last_error(), "pipe"), "%s", loom_last_error());
    cr_assert_lt(elapsed, 1.0, "loading blocked %.1f s on a FIFO named as external data", elapsed);
}

Test(external, buffer_without_base_dir_refused)
{
    tb_model *b = ext_model("w.bin", "8", "16");
    expect_err(ext_load_buffer(b, NULL, NULL), LOOM_E_MODEL_INVALID, SRC, "initializer \"W\"",
               "w.bin", "without a folder", NULL);
    tb_free(b);
}

Test(external, base_dir_that_does_not_exist)
{
    tb_model *b = ext_model("w.bin", "8", "16");
    expect_err(ext_load_buffer(b, "/nonexistent-loom-dir", NULL), LOOM_E_NOT_FOUND,
               "/nonexistent-loom-dir", NULL);
    tb_free(b);
}

/* ---------------------------------------------------------------------- */
/* graph: structure, versions, domains, operators                          */
/* ---------------------------------------------------------------------- */

Test(graph, cycle)
{
    /* a = Add(x, b); b = Relu(a) */
    tb_model *b = tb_new(13);
    const char *msg;
    tb_input(b, "x", LOOM_F32, 1, I64(4));
    tb_node(b, "Add", "x,b", "a");
    tb_node(b, "Relu", "a", "b");
    tb_output(b, "a");
    expect_err(load(b), LOOM_E_MODEL_INVALID, SRC, "cycle", "node \"", NULL);
    msg = loom_last_error();
    cr_assert(strstr(msg, "Add_0") || strstr(msg, "Relu_1"), "no node of the cycle in \"%s\"",
              msg);
    tb_free(b);
}

Test(graph, self_loop)
{
    tb_model *b = tb_new(13);
    tb_input(b, "x", LOOM_F32, 1, I64(4));
    tb_node(b, "Add", "x,y", "y");
    tb_output(b, "y");
    expect_err(load(b), LOOM_E_MODEL_INVALID, "cycle", "Add_0", NULL);
    tb_free(b);
}

Test(graph, node_input_nobody_produces)
{
    tb_model *b = relu_model();
    tb_proto(b)->graph->node[0]->input[0] = tb_strdup(b, "ghost");
    expect_err(load(b), LOOM_E_MODEL_INVALID, SRC, "Relu_0", "\"ghost\"", "not produced", NULL);
    tb_free(b);
}

Test(graph, graph_output_nobody_produces)
{
    tb_model *b = relu_model();
    tb_output(b, "nowhere");
    expect_err(load(b), LOOM_E_MODEL_INVALID, SRC, "graph output \"nowhere\"", "not produced",
               NULL);
    tb_free(b);
}

Test(graph, two_nodes_produce_the_same_tensor)
{
    tb_model *b = relu_model();
    tb_node(b, "Sigmoid", "x", "y");
    expect_err(load(b), LOOM_E_MODEL_INVALID, "\"y\"", "already produced", "Sigmoid_1", NULL);
    tb_free(b);
}

Test(graph, node_overwrites_a_graph_input_or_initializer)
{
    tb_model *b = relu_model();
    tb_node(b, "Sigmoid", "y", "x");
    expect_err(load(b), LOOM_E_MODEL_INVALID, "Sigmoid_1", "\"x\"", "graph input", NULL);
    tb_free(b);
    b = gemm_model();
    tb_node(b, "Relu", "y", "W");
    expect_err(load(b), LOOM_E_MODEL_INVALID, "Relu_1", "\"W\"", "initializer", NULL);
    tb_free(b);
}

Test(graph, duplicate_initializer_names)
{
    tb_model *b = gemm_model();
    tb_init(b, "W", LOOM_F32, 2, I64(3, 4), gemm_w);
    expect_err(load(b), LOOM_E_MODEL_INVALID, SRC, "initializer \"W\"", "twice", NULL);
    tb_free(b);
}

Test(graph, duplicate_graph_inputs)
{
    tb_model *b = relu_model();
    tb_input(b, "x", LOOM_F32, 2, I64(2, 3));
    expect_err(load(b), LOOM_E_MODEL_INVALID, "graph input \"x\"", "twice", NULL);
    tb_free(b);
}

Test(graph, initializer_listed_as_input_is_a_constant)
{
    /* IR < 4 style: legal, W stays an initializer, x the only input */
    tb_model *b = gemm_model();
    loom_model *m = NULL;
    tb_input(b, "W", LOOM_F32, 2, I64(3, 4));
    expect_ok(load_opts(b, NULL, &m), "initializer also listed as an input");
    cr_assert_eq(loom_model_input_count(m), 1);
    loom_model_free(m);
    tb_free(b);
}

Test(graph, no_outputs)
{
    tb_model *b = relu_model();
    tb_proto(b)->graph->n_output = 0;
    expect_err(load(b), LOOM_E_MODEL_INVALID, SRC, "no outputs", NULL);
    tb_free(b);
}

Test(graph, unnamed_inputs_and_outputs)
{
    tb_model *b = relu_model();
    tb_proto(b)->graph->input[0]->name = tb_strdup(b, "");
    expect_err(load(b), LOOM_E_MODEL_INVALID, "graph input #0", "no name", NULL);
    tb_free(b);
    b = relu_model();
    tb_proto(b)->graph->output[0]->name = tb_strdup(b, "");
    expect_err(load(b), LOOM_E_MODEL_INVALID, "graph output #0", "no name", NULL);
    tb_free(b);
}

Test(graph, input_that_is_not_a_tensor)
{
    tb_model *b = relu_model();
    tb_proto(b)->graph->input[0]->type = NULL;
    expect_err(load(b), LOOM_E_MODEL_UNSUPPORTED, "graph input \"x\"", "tensor", NULL);
    tb_free(b);
}

Test(graph, input_without_shape_needs_one_at_planning)
{
    tb_model *b = relu_model();
    tb_proto(b)->graph->input[0]->type->tensor_type->shape = NULL;
    expect_err(plan(b), LOOM_E_SHAPE, "input \"x\"", "no shape", NULL);
    tb_free(b);
}

Test(graph, missing_ir_version)
{
    tb_model *b = relu_model();
    tb_proto(b)->has_ir_version = 0;
    expect_err(load(b), LOOM_E_MODEL_INVALID, SRC, "ir_version", "missing", NULL);
    tb_proto(b)->has_ir_version = 1;
    tb_proto(b)->ir_version = 2;
    expect_err(load(b), LOOM_E_MODEL_UNSUPPORTED, "ir_version 2", NULL);
    tb_free(b);
}

Test(graph, missing_graph)
{
    tb_model *b = relu_model();
    tb_proto(b)->graph = NULL;
    expect_err(load(b), LOOM_E_MODEL_INVALID, SRC, "no graph", NULL);
    tb_free(b);
}

Test(graph, missing_default_domain_opset)
{
    tb_model *b = relu_model();
    tb_proto(b)->n_opset_import = 0;
    expect_err(load(b), LOOM_E_MODEL_INVALID, SRC, "opset_import", "default-domain", NULL);
    tb_proto(b)->n_opset_import = 1;
    tb_proto(b)->opset_import[0]->domain = tb_strdup(b, "com.microsoft");
    expect_err(load(b), LOOM_E_MODEL_INVALID, "opset_import", "default-domain", NULL);
    tb_proto(b)->opset_import[0]->domain = tb_strdup(b, "");
    tb_proto(b)->opset_import[0]->has_version = 0;
    expect_err(load(b), LOOM_E_MODEL_INVALID, "opset_import", NULL);
    tb_free(b);
}

Test(graph, unsupported_opsets)
{
    static const int64_t bad[] = {6, 29, 0, 1000};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tb_model *b = relu_model();
        char want[32];
        tb_proto(b)->opset_import[0]->version = bad[i];
        snprintf(want, sizeof want, "opset %lld", (long long)bad[i]);
        expect_err(load(b), LOOM_E_MODEL_UNSUPPORTED, SRC, want, "7-28", NULL);
        tb_free(b);
    }
    /* the edges of the range load */
    for (int64_t v = 7; v <= 28; v += 21) {
        tb_model *b = relu_model();
        tb_proto(b)->opset_import[0]->version = v;
        expect_ok(load(b), "opset 7 / 28");
        tb_free(b);
    }
}

Test(graph, node_in_another_domain)
{
    tb_model *b = relu_model();
    Onnx__NodeProto *n = tb_proto(b)->graph->node[0];
    n->domain = tb_strdup(b, "com.microsoft");
    expect_err(load(b), LOOM_E_UNSUPPORTED_OP, SRC, "Relu_0", "com.microsoft", NULL);
    n->domain = tb_strdup(b, "ai.onnx");
    expect_ok(load(b), "the ai.onnx domain is the default one");
    tb_free(b);
}

Test(graph, unknown_op)
{
    tb_model *b = relu_model();
    Onnx__NodeProto *n = tb_node(b, "FooBar", "y", "z");
    n->name = tb_strdup(b, "my_foo");
    expect_err(load(b), LOOM_E_UNSUPPORTED_OP, SRC, "node \"my_foo\"", "FooBar", NULL);
    tb_free(b);
}

Test(graph, unknown_op_without_node_name)
{
    tb_model *b = relu_model();
    Onnx__NodeProto *n = tb_node(b, "FooBar", "y", "z");
    n->name = NULL;
    expect_err(load(b), LOOM_E_UNSUPPORTED_OP, "node #1", "FooBar", NULL);
    tb_free(b);
}

Test(graph, op_type_is_case_sensitive)
{
    tb_model *b = relu_model();
    tb_proto(b)->graph->node[0]->op_type = tb_strdup(b, "relu");
    expect_err(load(b), LOOM_E_UNSUPPORTED_OP, "Relu_0", "relu", NULL);
    tb_free(b);
}

Test(graph, node_without_op_type)
{
    tb_model *b = relu_model();
    tb_proto(b)->graph->node[0]->op_type = tb_strdup(b, "");
    expect_err(load(b), LOOM_E_MODEL_INVALID, "Relu_0", "op_type", NULL);
    tb_free(b);
}

Test(graph, sparse_initializer)
{
    tb_model *b = relu_model();
    Onnx__GraphProto *g = tb_proto(b)->graph;
    Onnx__SparseTensorProto *sp = tb_alloc(b, sizeof *sp);
    Onnx__SparseTensorProto **arr = tb_alloc(b, sizeof *arr);
    onnx__sparse_tensor_proto__init(sp);
    arr[0] = sp;
    g->n_sparse_initializer = 1;
    g->sparse_initializer = arr;
    expect_err(load(b), LOOM_E_MODEL_UNSUPPORTED, "sparse", NULL);
    tb_free(b);
}

Test(graph, missing_required_input)
{
    tb_model *b = gemm_model();
    tb_proto(b)->graph->node[0]->input[1] = tb_strdup(b, "");
    expect_err(plan(b), LOOM_E_MODEL_INVALID, "Gemm_0", "input 1", "empty", NULL);
    tb_free(b);
}

Test(graph, wrong_input_count)
{
    tb_model *b = relu_model();
    tb_node(b, "Relu", "x,y", "z");
    tb_output(b, "z");
    expect_err(plan(b), LOOM_E_MODEL_INVALID, "Relu_1", "2 inputs", NULL);
    tb_free(b);
}

/* ---------------------------------------------------------------------- */
/* attrs: attributes of the wrong type or missing, found when planning     */
/* ---------------------------------------------------------------------- */

Test(attrs, gemm_transB_as_float)
{
    tb_model *b = gemm_model();
    tb_attr_float(b, tb_proto(b)->graph->node[0], "transB", 1.0f);
    expect_err(plan(b), LOOM_E_MODEL_INVALID, SRC, "Gemm_0", "attribute \"transB\"", "float",
               "expected int", NULL);
    tb_free(b);
}

Test(attrs, gemm_alpha_as_int)
{
    tb_model *b = gemm_model();
    tb_attr_int(b, tb_proto(b)->graph->node[0], "alpha", 2);
    expect_err(plan(b), LOOM_E_MODEL_INVALID, "Gemm_0", "attribute \"alpha\"", "expected float",
               NULL);
    tb_free(b);
}

static tb_model *conv_model(void)
{
    tb_model *b = tb_new(13);
    tb_input(b, "X", LOOM_F32, 4, I64(1, 1, 4, 4));
    tb_init(b, "Wc", LOOM_F32, 4, I64(1, 1, 3, 3), NULL);
    tb_node(b, "Conv", "X,Wc", "Y");
    tb_output(b, "Y");
    return b;
}

Test(attrs, conv_strides_as_string)
{
    tb_model *b = conv_model();
    expect_ok(plan(b), "the Conv baseline");
    tb_attr_string(b, tb_proto(b)->graph->node[0], "strides", "1,1");
    expect_err(plan(b), LOOM_E_MODEL_INVALID, "Conv_0", "attribute \"strides\"", "string",
               "expected ints", NULL);
    tb_free(b);
}

Test(attrs, conv_strides_wrong_count_and_values)
{
    tb_model *b = conv_model();
    tb_attr_ints(b, tb_proto(b)->graph->node[0], "strides", 3, I64(1, 1, 1));
    expect_err(plan(b), LOOM_E_MODEL_INVALID, "Conv_0", "\"strides\"", "3 values", "expected 2",
               NULL);
    tb_free(b);
    b = conv_model();
    tb_attr_ints(b, tb_proto(b)->graph->node[0], "strides", 2, I64(1, 0));
    expect_err(plan(b), LOOM_E_MODEL_INVALID, "Conv_0", "\"strides\"[1]", "is 0", NULL);
    tb_free(b);
}

static tb_model *softmax_model(void)
{
    tb_model *b = tb_new(13);
    tb_input(b, "x", LOOM_F32, 2, I64(2, 3));
    tb_node(b, "Softmax", "x", "y");
    tb_output(b, "y");
    return b;
}

Test(attrs, softmax_axis_as_ints)
{
    tb_model *b = softmax_model();
    expect_ok(plan(b), "the Softmax baseline");
    tb_attr_ints(b, tb_proto(b)->graph->node[0], "axis", 1, I64(1));
    expect_err(plan(b), LOOM_E_MODEL_INVALID, "Softmax_0", "attribute \"axis\"", "ints",
               "expected int", NULL);
    tb_free(b);
}

Test(attrs, softmax_axis_out_of_range)
{
    tb_model *b = softmax_model();
    tb_attr_int(b, tb_proto(b)->graph->node[0], "axis", 5);
    expect_err(plan(b), LOOM_E_MODEL_INVALID, "Softmax_0", "axis 5", "rank 2", NULL);
    tb_free(b);
}

Test(attrs, constant_without_value)
{
    tb_model *b = relu_model();
    tb_node(b, "Constant", "", "c");
    tb_node(b, "Add", "y,c", "z");
    tb_output(b, "z");
    expect_err(plan(b), LOOM_E_MODEL_INVALID, "Constant_1", "value", NULL);
    tb_free(b);
}

Test(attrs, constant_with_unknown_attribute)
{
    tb_model *b = relu_model();
    Onnx__NodeProto *n = tb_node(b, "Constant", "", "c");
    tb_attr_int(b, n, "valeu", 3);
    tb_node(b, "Add", "y,c", "z");
    tb_output(b, "z");
    expect_err(plan(b), LOOM_E_MODEL_UNSUPPORTED, "Constant_1", "\"valeu\"", NULL);
    tb_free(b);
}

Test(attrs, duplicate_attribute)
{
    tb_model *b = gemm_model();
    tb_attr_float(b, tb_proto(b)->graph->node[0], "alpha", 1.0f);
    tb_attr_float(b, tb_proto(b)->graph->node[0], "alpha", 2.0f);
    expect_err(load(b), LOOM_E_MODEL_INVALID, "Gemm_0", "attribute \"alpha\"", "twice", NULL);
    tb_free(b);
}

Test(attrs, attribute_without_name)
{
    tb_model *b = gemm_model();
    tb_attr_float(b, tb_proto(b)->graph->node[0], "", 1.0f);
    expect_err(load(b), LOOM_E_MODEL_INVALID, "Gemm_0", "attribute", "no name", NULL);
    tb_free(b);
}

Test(attrs, tensor_attribute_without_tensor)
{
    tb_model *b = relu_model();
    Onnx__NodeProto *n = tb_node(b, "Constant", "", "c");
    tb_attr_tensor(b, n, "value", NULL);
    expect_err(load(b), LOOM_E_MODEL_INVALID, "Constant_1", "attribute \"value\"", "no tensor",
               NULL);
    tb_free(b);
}

Test(attrs, cast_to_unsupported_type)
{
    tb_model *b = relu_model();
    Onnx__NodeProto *n = tb_node(b, "Cast", "y", "z");
    tb_attr_int(b, n, "to", 17);
    tb_output(b, "z");
    expect_err(plan(b), LOOM_E_DTYPE, "Cast_1", "17", NULL);
    tb_free(b);
}

Test(attrs, concat_without_axis)
{
    tb_model *b = relu_model();
    tb_node(b, "Concat", "x,y", "z");
    tb_output(b, "z");
    expect_err(plan(b), LOOM_E_MODEL_INVALID, "Concat_1", "\"axis\"", "missing", NULL);
    tb_free(b);
}

/* ---------------------------------------------------------------------- */
/* shapes: mismatches found when planning or feeding inputs                */
/* ---------------------------------------------------------------------- */

Test(shapes, gemm_k_mismatch)
{
    tb_model *b = gemm_model();
    Onnx__TensorProto *w = tb_proto(b)->graph->initializer[0];
    Onnx__TensorProto *bias = tb_proto(b)->graph->initializer[1];
    /* W [3,4] -> [4,5] (same 20 floats would not fit; give it fresh data) */
    Onnx__TensorProto *w2 = tb_tensor(b, "W", LOOM_F32, 2, I64(4, 5), NULL);
    Onnx__TensorProto *b2 = tb_tensor(b, "B", LOOM_F32, 1, I64(5), NULL);
    *w = *w2;
    *bias = *b2;
    expect_err(plan(b), LOOM_E_SHAPE, SRC, "Gemm_0", "[2,3]", "[4,5]", "K 3 vs 4", NULL);
    tb_free(b);
}

Test(shapes, conv_weights_do_not_match_input_channels)
{
    tb_model *b = tb_new(13);
    tb_input(b, "X", LOOM_F32, 4, I64(1, 3, 8, 8));
    tb_init(b, "Wc", LOOM_F32, 4, I64(4, 2, 3, 3), NULL);
    tb_node(b, "Conv", "X,Wc", "Y");
    tb_output(b, "Y");
    expect_err(plan(b), LOOM_E_SHAPE, "Conv_0", "[1,3,8,8]", "[4,2,3,3]", "channels", NULL);
    tb_free(b);
}

Test(shapes, conv_weights_of_wrong_rank)
{
    tb_model *b = tb_new(13);
    tb_input(b, "X", LOOM_F32, 4, I64(1, 3, 8, 8));
    tb_init(b, "Wc", LOOM_F32, 3, I64(4, 3, 3), NULL);
    tb_node(b, "Conv", "X,Wc", "Y");
    tb_output(b, "Y");
    expect_err(plan(b), LOOM_E_SHAPE, "Conv_0", "[4,3,3]", "[1,3,8,8]", NULL);
    tb_free(b);
}

Test(shapes, concat_of_different_ranks)
{
    tb_model *b = tb_new(13);
    Onnx__NodeProto *n;
    tb_input(b, "a", LOOM_F32, 2, I64(2, 3));
    tb_input(b, "b", LOOM_F32, 3, I64(2, 3, 1));
    n = tb_node(b, "Concat", "a,b", "y");
    tb_attr_int(b, n, "axis", 0);
    tb_output(b, "y");
    expect_err(plan(b), LOOM_E_SHAPE, "Concat_0", "\"b\"", "[2,3,1]", "[2,3]", NULL);
    tb_free(b);
}

Test(shapes, concat_off_axis_mismatch)
{
    tb_model *b = tb_new(13);
    Onnx__NodeProto *n;
    tb_input(b, "a", LOOM_F32, 2, I64(2, 3));
    tb_input(b, "b", LOOM_F32, 2, I64(2, 4));
    n = tb_node(b, "Concat", "a,b", "y");
    tb_attr_int(b, n, "axis", 0);
    tb_output(b, "y");
    expect_err(plan(b), LOOM_E_SHAPE, "Concat_0", "\"b\"", "[2,4]", "[2,3]", NULL);
    tb_free(b);
}

Test(shapes, broadcast_mismatch)
{
    tb_model *b = tb_new(13);
    tb_input(b, "a", LOOM_F32, 2, I64(2, 3));
    tb_input(b, "b", LOOM_F32, 1, I64(4));
    tb_node(b, "Add", "a,b", "y");
    tb_output(b, "y");
    expect_err(plan(b), LOOM_E_SHAPE, "Add_0", "[2,3]", "[4]", "broadcast", NULL);
    tb_free(b);
}

Test(shapes, reshape_to_wrong_count)
{
    tb_model *b = relu_model();
    tb_init(b, "shape", LOOM_I64, 1, I64(2), I64(4, 2));
    tb_node(b, "Reshape", "y,shape", "z");
    tb_output(b, "z");
    expect_err(plan(b), LOOM_E_SHAPE, "Reshape_1", "[2,3]", "[4,2]", NULL);
    tb_free(b);
}

Test(shapes, set_input_with_the_wrong_shape_or_dtype)
{
    tb_model *b = relu_model();
    loom_model *m = NULL;
    loom_session *s = NULL;
    loom_tensor *t = NULL;
    float buf[6] = {0};

    expect_ok(load_opts(b, NULL, &m), "loading");
    expect_ok(loom_session_create(m, NULL, &s), "planning");

    t = tb_f32(2, I64(3, 2), NULL);
    expect_err(loom_session_set_input(s, "x", t), LOOM_E_SHAPE, "input \"x\"", "[3,2]", "[2,3]",
               NULL);
    loom_tensor_free(t);

    t = tb_f32(1, I64(6), NULL);
    expect_err(loom_session_set_input(s, "x", t), LOOM_E_SHAPE, "input \"x\"", "[6]", "[2,3]",
               NULL);
    loom_tensor_free(t);

    t = tb_i64(2, I64(2, 3), NULL);
    expect_err(loom_session_set_input(s, "x", t), LOOM_E_SHAPE, "input \"x\"", "int64",
               "float32", NULL);
    expect_err(loom_session_set_input(s, "nope", t), LOOM_E_INVALID_ARG, "\"nope\"", NULL);
    loom_tensor_free(t);

    expect_err(loom_session_set_input_data(s, 0, buf, 4), LOOM_E_SHAPE, "input \"x\"",
               "4 bytes", "expected 24", NULL);
    expect_err(loom_session_set_input_data(s, 1, buf, 24), LOOM_E_INVALID_ARG, NULL);

    /* the session still works with the right input */
    t = tb_f32(2, I64(2, 3), buf);
    expect_ok(loom_session_set_input(s, "x", t), "the right input");
    expect_ok(loom_session_run(s), "running");
    loom_tensor_free(t);
    loom_session_free(s);
    loom_model_free(m);
    tb_free(b);
}

Test(shapes, input_shapes_option_that_does_not_fit)
{
    tb_model *b = relu_model();
    loom_input_shape is = {.name = "x", .rank = 2, .dims = I64(2, 4)};
    loom_session_options so = {.input_shapes = &is, .input_shape_count = 1};
    expect_err(plan_opts(b, &so), LOOM_E_SHAPE, "input \"x\"", "[2,4]", "[2,3]", NULL);
    is.rank = 3;
    is.dims = I64(2, 3, 1);
    expect_err(plan_opts(b, &so), LOOM_E_SHAPE, "input \"x\"", "[2,3,1]", NULL);
    is.rank = 99;
    expect_err(plan_opts(b, &so), LOOM_E_SHAPE, "input \"x\"", NULL);
    is.name = "nope";
    is.rank = 2;
    is.dims = I64(2, 3);
    expect_err(plan_opts(b, &so), LOOM_E_INVALID_ARG, "\"nope\"", NULL);
    tb_free(b);
}

/* ---------------------------------------------------------------------- */
/* messages: one line, bounded, whatever the model's names contain          */
/* ---------------------------------------------------------------------- */

Test(messages, newline_in_node_name_stays_one_line)
{
    tb_model *b = relu_model();
    Onnx__NodeProto *n = tb_node(b, "FooBar", "y", "z");
    loom_status st;
    n->name = tb_strdup(b, "evil\nname");
    st = load(b);
    tb_free(b);
    expect_err(st, LOOM_E_UNSUPPORTED_OP, "FooBar", "evil", NULL);
}

Test(messages, newline_in_tensor_name_stays_one_line)
{
    tb_model *b = relu_model();
    loom_status st;
    tb_proto(b)->graph->node[0]->input[0] = tb_strdup(b, "gh\nost");
    st = load(b);
    tb_free(b);
    expect_err(st, LOOM_E_MODEL_INVALID, "not produced", NULL);
}

Test(messages, newline_in_initializer_name_stays_one_line)
{
    tb_model *b = gemm_model();
    Onnx__TensorProto *w = tb_proto(b)->graph->initializer[0];
    w->name = tb_strdup(b, "W\r\n1");
    loom_status st;
    w->raw_data.len = 4;
    st = load(b);
    tb_free(b);
    expect_err(st, LOOM_E_MODEL_INVALID, "raw_data", "4 bytes", NULL);
}

Test(messages, format_directives_in_names_are_printed_verbatim)
{
    tb_model *b = relu_model();
    Onnx__NodeProto *n = tb_node(b, "FooBar", "y", "z");
    n->name = tb_strdup(b, "%s%n%x%p");
    expect_err(load(b), LOOM_E_UNSUPPORTED_OP, "node \"%s%n%x%p\"", "FooBar", NULL);
    tb_free(b);
}

Test(messages, very_long_names_are_bounded)
{
    tb_model *b = relu_model();
    size_t len = 100000;
    char *name = tb_alloc(b, len + 1);
    Onnx__NodeProto *n = tb_node(b, "FooBar", "y", "z");
    const char *msg;
    memset(name, 'n', len);
    name[len] = '\0';
    n->name = name;
    n->op_type = tb_strdup(b, "FooBar");
    expect_err(load(b), LOOM_E_UNSUPPORTED_OP, SRC, "nnnnnnnn", NULL);
    msg = loom_last_error();
    cr_assert_lt(strlen(msg), 4096, "message of %zu bytes", strlen(msg));
    tb_free(b);
}

Test(messages, failure_after_success_replaces_message)
{
    tb_model *b = relu_model();
    expect_ok(load(b), "baseline");
    tb_proto(b)->graph->node[0]->op_type = tb_strdup(b, "FooBar");
    expect_err(load(b), LOOM_E_UNSUPPORTED_OP, "FooBar", NULL);
    tb_proto(b)->graph->node[0]->op_type = tb_strdup(b, "BarBaz");
    expect_err(load(b), LOOM_E_UNSUPPORTED_OP, "BarBaz", NULL);
    cr_assert(strstr(loom_last_error(), "FooBar") == NULL, "stale message: %s", loom_last_error());
    tb_free(b);
}

/* A node with a huge attribute list is refused up front: the duplicate
 * check is quadratic, and 150k attributes took 35 s before the limit. */
Test(attrs, too_many_attributes_is_refused_quickly, .timeout = 20)
{
    tb_model *b = tb_new(13);
    Onnx__NodeProto *n;
    tb_input(b, "x", LOOM_F32, 1, I64(2));
    n = tb_node(b, "Relu", "x", "y");
    for (int i = 0; i < 1025; i++) {
        char name[32];
        snprintf(name, sizeof name, "a%d", i);
        tb_attr_int(b, n, name, i);
    }
    tb_output(b, "y");
    expect_err(load(b), LOOM_E_LIMIT, "1025 attributes", "1024", NULL);
    tb_free(b);
}
