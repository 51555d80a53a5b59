/*
 * test_modern.c - what current exporters write: opsets 18 to 28, float16
 * and the other ONNX dtypes, the operators added with them, and shape
 * arguments that are graph inputs (planned when their values are known).
 *
 * Expected values were worked out by hand or with numpy, never with loom.
 * (ONNX's own node cases run as the onnx_conformance test too; these are
 * the semantics that must hold even where that suite cannot be fetched.)
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "loom/loom.h"
#include "onnx-builder.h"
#include "op-test.h"
#include "tmpdir.h"

#define T_U16(rank, dims, ...) mk(LOOM_U16, rank, dims, (const uint16_t[]){__VA_ARGS__}, NARGS(uint16_t, __VA_ARGS__))

static void expect_dims(const loom_tensor *t, loom_dtype dt, int rank, const int64_t *dims)
{
    cr_assert_not_null(t);
    cr_assert_eq(loom_tensor_dtype(t), dt, "dtype %s, expected %s", loom_dtype_name(loom_tensor_dtype(t)),
                 loom_dtype_name(dt));
    cr_assert_eq(loom_tensor_rank(t), rank, "rank %d, expected %d", loom_tensor_rank(t), rank);
    for (int d = 0; d < rank; d++)
        cr_assert_eq(loom_tensor_dims(t)[d], dims[d], "dim %d is %lld, expected %lld", d,
                     (long long)loom_tensor_dims(t)[d], (long long)dims[d]);
}

/* Values of t (any dtype of that size) equal want, byte for byte. */
static void expect_bytes(loom_tensor *t, const void *want, size_t nbytes)
{
    cr_assert_eq(loom_tensor_nbytes(t), nbytes, "%zu bytes, expected %zu", loom_tensor_nbytes(t), nbytes);
    for (size_t i = 0; i < nbytes; i++)
        cr_assert_eq(((const uint8_t *)loom_tensor_cdata(t))[i], ((const uint8_t *)want)[i],
                     "byte %zu differs", i);
    loom_tensor_free(t);
}

/* ---- float16 and the other dtypes ---- */

Test(dtypes, float16_casts_round_to_nearest_even)
{
    /* 1, 65504 (largest half), 65520 (rounds up to inf), 2^-24 (smallest
     * subnormal), 2^-26 (rounds to 0), 1 + 2^-11 (a tie: to even, 1),
     * 1 + 3 * 2^-11 (a tie: to even, 1 + 2^-9), -2, NaN */
    loom_tensor *x = T_F32(1, DIMS(9), 1.0f, 65504.0f, 65520.0f, 5.9604645e-8f, 1.4901161e-8f,
                           1.00048828125f, 1.00146484375f, -2.0f, NAN);
    Onnx__NodeProto *n;
    tb_model *b = single(19, "Cast", 1, &x, &n);
    loom_tensor *y;
    const uint16_t *h;
    tb_attr_int(b, n, "to", LOOM_F16);
    y = run1(b, 1, &x);
    expect_dims(y, LOOM_F16, 1, DIMS(9));
    h = loom_tensor_cdata(y);
    cr_assert_eq(h[0], 0x3c00);
    cr_assert_eq(h[1], 0x7bff);
    cr_assert_eq(h[2], 0x7c00);
    cr_assert_eq(h[3], 0x0001);
    cr_assert_eq(h[4], 0x0000);
    cr_assert_eq(h[5], 0x3c00);
    cr_assert_eq(h[6], 0x3c02);
    cr_assert_eq(h[7], 0xc000);
    cr_assert((h[8] & 0x7c00) == 0x7c00 && (h[8] & 0x3ff), "NaN stays NaN: %#x", h[8]);
    loom_tensor_free(y);
}

Test(dtypes, float16_conv_computes_in_float32_and_rounds_once)
{
    /* 1x1x2x2 input, one 2x2 filter of 0.5s: y = 0.5 * (1 + 2 + 3 + 4) = 5 */
    const uint16_t xv[4] = {0x3c00, 0x4000, 0x4200, 0x4400}; /* 1 2 3 4 */
    const uint16_t wv[4] = {0x3800, 0x3800, 0x3800, 0x3800}; /* 0.5 */
    loom_tensor *x = mk(LOOM_F16, 4, DIMS(1, 1, 2, 2), xv, 4);
    tb_model *b = tb_new(22);
    loom_tensor *y;
    input_like(b, "x", x);
    tb_init(b, "w", LOOM_F16, 4, DIMS(1, 1, 2, 2), wv);
    tb_node(b, "Conv", "x,w", "y");
    tb_output(b, "y");
    y = run1(b, 1, &x);
    expect_dims(y, LOOM_F16, 4, DIMS(1, 1, 1, 1));
    expect_bytes(y, (const uint16_t[]){0x4500}, 2); /* 5.0 */
}

Test(dtypes, uint16_arithmetic_wraps_and_compares_unsigned)
{
    loom_tensor *in[2] = {T_U16(1, DIMS(3), 65535, 1, 40000), T_U16(1, DIMS(3), 2, 3, 30000)};
    loom_tensor *y = run1(single(14, "Add", 2, in, NULL), 2, in);
    expect_bytes(y, (const uint16_t[]){1, 4, 4464}, 6);
    in[0] = T_U16(1, DIMS(2), 65535, 1);
    in[1] = T_U16(1, DIMS(2), 2, 3);
    y = run1(single(13, "Greater", 2, in, NULL), 2, in);
    expect_bytes(y, (const uint8_t[]){1, 0}, 2);
}

Test(dtypes, tensorproto_files_carry_bfloat16)
{
    const uint16_t v[3] = {0x3f80, 0x4049, 0xc000}; /* bfloat16 1, 3.140625, -2 */
    loom_tensor *t = mk(LOOM_BF16, 2, DIMS(1, 3), v, 3), *back = NULL;
    FILE *f;
    tb_tmpdir("pb");
    cr_assert_eq(loom_tensor_save_pb(tb_tpath("t.pb"), "t", t), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(loom_tensor_load_pb(tb_tpath("t.pb"), &back), LOOM_OK, "%s", loom_last_error());
    expect_dims(back, LOOM_BF16, 2, DIMS(1, 3));
    expect_bytes(back, v, sizeof v);
    loom_tensor_free(t);
    /* not a TensorProto, and no file: clear errors, no tensor */
    f = fopen(tb_tpath("bad.pb"), "wb");
    cr_assert_not_null(f);
    fputs("\xff\xff\xff\xff not protobuf", f);
    fclose(f);
    back = NULL;
    cr_assert_eq(loom_tensor_load_pb(tb_tpath("bad.pb"), &back), LOOM_E_DATA_INVALID);
    cr_assert_null(back);
    cr_assert(strstr(loom_last_error(), "bad.pb") != NULL, "%s", loom_last_error());
    cr_assert_eq(loom_tensor_load_pb(tb_tpath("none.pb"), &back), LOOM_E_NOT_FOUND);
    tb_tmpdir_remove();
}

/* ---- new operators ---- */

Test(ops18, mod_follows_the_divisor_unless_fmod)
{
    loom_tensor *in[2] = {T_I32(1, DIMS(4), -7, 7, -7, 7), T_I32(1, DIMS(4), 3, -3, -3, 3)};
    Onnx__NodeProto *n;
    tb_model *b = single(13, "Mod", 2, in, NULL);
    loom_tensor *y = run1(b, 2, in);
    expect_bytes(y, (const int32_t[]){2, -2, -1, 1}, 16); /* numpy.mod */
    in[0] = T_I32(1, DIMS(4), -7, 7, -7, 7);
    in[1] = T_I32(1, DIMS(4), 3, -3, -3, 3);
    b = single(13, "Mod", 2, in, &n);
    tb_attr_int(b, n, "fmod", 1);
    y = run1(b, 2, in);
    expect_bytes(y, (const int32_t[]){-1, 1, -1, 1}, 16); /* C's % */
}

Test(ops18, reduce_axes_as_input_and_noop_with_empty_axes)
{
    loom_tensor *x = T_F32(2, DIMS(2, 3), 1, 2, 3, 4, 5, 6);
    Onnx__NodeProto *n;
    tb_model *b = tb_new(18);
    loom_tensor *y;
    input_like(b, "x", x);
    INIT_INTS(b, "axes", -1);
    n = tb_node(b, "ReduceSumSquare", "x,axes", "y");
    tb_attr_int(b, n, "keepdims", 0);
    tb_output(b, "y");
    y = run1(b, 1, &x);
    expect_dims(y, LOOM_F32, 1, DIMS(2));
    expect_bytes(y, (const float[]){14, 77}, 8);
    /* no axes with noop_with_empty_axes: nothing is reduced, x squared */
    x = T_F32(2, DIMS(2, 3), 1, 2, 3, 4, 5, 6);
    b = single(18, "ReduceSumSquare", 1, &x, &n);
    tb_attr_int(b, n, "noop_with_empty_axes", 1);
    y = run1(b, 1, &x);
    expect_dims(y, LOOM_F32, 2, DIMS(2, 3));
    expect_bytes(y, (const float[]){1, 4, 9, 16, 25, 36}, 24);
}

Test(ops18, reduce_sum_with_an_empty_axes_tensor)
{
    /* an empty axes input is no axes: everything, or (noop) nothing */
    loom_tensor *x = T_F32(2, DIMS(2, 2), 1, 2, 3, 4);
    Onnx__NodeProto *n;
    tb_model *b = tb_new(13);
    loom_tensor *y;
    input_like(b, "x", x);
    tb_init(b, "axes", LOOM_I64, 1, DIMS(0), NULL);
    n = tb_node(b, "ReduceSum", "x,axes", "y");
    tb_attr_int(b, n, "keepdims", 0);
    tb_output(b, "y");
    y = run1(b, 1, &x);
    expect_dims(y, LOOM_F32, 0, NULL);
    expect_bytes(y, (const float[]){10}, 4);
    x = T_F32(2, DIMS(2, 2), 1, 2, 3, 4);
    b = tb_new(13);
    input_like(b, "x", x);
    tb_init(b, "axes", LOOM_I64, 1, DIMS(0), NULL);
    n = tb_node(b, "ReduceSum", "x,axes", "y");
    tb_attr_int(b, n, "noop_with_empty_axes", 1);
    tb_output(b, "y");
    y = run1(b, 1, &x);
    expect_dims(y, LOOM_F32, 2, DIMS(2, 2));
    expect_bytes(y, (const float[]){1, 2, 3, 4}, 16);
}

Test(ops18, reduce_max_of_nothing_is_the_types_minimum)
{
    loom_tensor *x = mk(LOOM_I32, 2, DIMS(2, 0), NULL, 0);
    Onnx__NodeProto *n;
    tb_model *b = tb_new(18);
    loom_tensor *y;
    input_like(b, "x", x);
    INIT_INTS(b, "axes", 1);
    n = tb_node(b, "ReduceMax", "x,axes", "y");
    tb_attr_int(b, n, "keepdims", 1);
    tb_output(b, "y");
    y = run1(b, 1, &x);
    expect_dims(y, LOOM_I32, 2, DIMS(2, 1));
    expect_bytes(y, (const int32_t[]){INT32_MIN, INT32_MIN}, 8);
}

Test(ops18, argmax_first_or_last_of_ties)
{
    loom_tensor *x = T_F32(2, DIMS(2, 3), 5, 1, 5, 2, 7, 7);
    Onnx__NodeProto *n;
    tb_model *b = single(13, "ArgMax", 1, &x, &n);
    loom_tensor *y;
    tb_attr_int(b, n, "axis", 1);
    tb_attr_int(b, n, "keepdims", 0);
    y = run1(b, 1, &x);
    expect_dims(y, LOOM_I64, 1, DIMS(2));
    expect_bytes(y, (const int64_t[]){0, 1}, 16);
    x = T_F32(2, DIMS(2, 3), 5, 1, 5, 2, 7, 7);
    b = single(13, "ArgMax", 1, &x, &n);
    tb_attr_int(b, n, "axis", 1);
    tb_attr_int(b, n, "select_last_index", 1);
    y = run1(b, 1, &x);
    expect_dims(y, LOOM_I64, 2, DIMS(2, 1));
    expect_bytes(y, (const int64_t[]){2, 2}, 16);
}

Test(ops18, split_num_outputs_leaves_the_last_chunk_smaller)
{
    loom_tensor *x = T_F32(1, DIMS(5), 1, 2, 3, 4, 5), *out[3];
    tb_model *b = tb_new(18);
    Onnx__NodeProto *n;
    input_like(b, "x", x);
    n = tb_node(b, "Split", "x", "a,b,c");
    tb_attr_int(b, n, "num_outputs", 3);
    tb_output(b, "a");
    tb_output(b, "b");
    tb_output(b, "c");
    run_ok(b, 1, &x, 3, out);
    expect_dims(out[0], LOOM_F32, 1, DIMS(2));
    expect_bytes(out[0], (const float[]){1, 2}, 8);
    expect_bytes(out[1], (const float[]){3, 4}, 8);
    expect_dims(out[2], LOOM_F32, 1, DIMS(1));
    expect_bytes(out[2], (const float[]){5}, 4);
}

Test(ops18, pad_on_the_listed_axes_only)
{
    loom_tensor *x = T_F32(2, DIMS(2, 2), 1, 2, 3, 4);
    tb_model *b = tb_new(18);
    loom_tensor *y;
    input_like(b, "x", x);
    INIT_INTS(b, "pads", 1, 0); /* axis -1: one before, none after */
    tb_init(b, "v", LOOM_F32, 0, NULL, (const float[]){9});
    INIT_INTS(b, "axes", -1);
    tb_node(b, "Pad", "x,pads,v,axes", "y");
    tb_output(b, "y");
    y = run1(b, 1, &x);
    expect_dims(y, LOOM_F32, 2, DIMS(2, 3));
    expect_bytes(y, (const float[]){9, 1, 2, 9, 3, 4}, 24);
}

Test(ops18, clip_bounds_computed_at_run_time)
{
    loom_tensor *in[3] = {T_F32(1, DIMS(4), -2, 0.5f, 3, 9), T_F32(0, NULL, 0), T_F32(0, NULL, 2)};
    loom_tensor *y = run1(single(13, "Clip", 3, in, NULL), 3, in);
    expect_bytes(y, (const float[]){0, 0.5f, 2, 2}, 16);
}

/* ---- shape arguments from graph inputs ---- */

static void set_and_run(loom_session *s, loom_tensor *x, loom_tensor *shape)
{
    cr_assert_eq(loom_session_set_input(s, "x", x), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(loom_session_set_input(s, "shape", shape), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(loom_session_run(s), LOOM_OK, "%s", loom_last_error());
    loom_tensor_free(shape);
}

Test(runtime_shapes, reshape_to_a_shape_given_at_run_time_replans_and_caches)
{
    loom_tensor *x = T_F32(1, DIMS(6), 0, 1, 2, 3, 4, 5);
    tb_model *b = tb_new(14);
    loom_model *m = NULL;
    loom_session *s = NULL;
    const loom_tensor *y;
    size_t len;
    const uint8_t *bytes;

    input_like(b, "x", x);
    tb_input(b, "shape", LOOM_I64, 1, DIMS(2));
    tb_node(b, "Reshape", "x,shape", "r");
    tb_node(b, "Relu", "r", "y");
    tb_output(b, "y");
    bytes = tb_pack(b, &len);
    cr_assert_eq(loom_model_load_buffer(bytes, len, "rt.onnx", NULL, NULL, &m), LOOM_OK, "%s",
                 loom_last_error());
    /* inspecting such a model cannot plan it, and says why */
    cr_assert_eq(loom_session_create(m, &(loom_session_options){.infer_only = true}, &s),
                 LOOM_E_MODEL_UNSUPPORTED);
    cr_assert_null(s);
    cr_assert(strstr(loom_last_error(), "graph input's value") != NULL, "%s", loom_last_error());
    cr_assert_eq(loom_session_create(m, &(loom_session_options){.devices = "ref"}, &s), LOOM_OK, "%s",
                 loom_last_error());
    set_and_run(s, x, T_I64(1, DIMS(2), 2, 3));
    y = loom_session_output_tensor(s, 0);
    expect_dims(y, LOOM_F32, 2, DIMS(2, 3));
    cr_assert_eq(((const float *)loom_tensor_cdata(y))[5], 5.0f);
    set_and_run(s, x, T_I64(1, DIMS(2), 3, -1));
    expect_dims(loom_session_output_tensor(s, 0), LOOM_F32, 2, DIMS(3, 2));
    /* back to the first shape: the cached plan, with the new data */
    ((float *)loom_tensor_data(x))[5] = -1.0f;
    set_and_run(s, x, T_I64(1, DIMS(2), 2, 3));
    y = loom_session_output_tensor(s, 0);
    expect_dims(y, LOOM_F32, 2, DIMS(2, 3));
    cr_assert_eq(((const float *)loom_tensor_cdata(y))[5], 0.0f, "Relu of the new -1");
    cr_assert_eq(((const float *)loom_tensor_cdata(y))[4], 4.0f);
    /* a shape that does not fit is the run's error, and the session lives */
    {
        loom_tensor *bad = T_I64(1, DIMS(2), 4, 4);
        cr_assert_eq(loom_session_set_input(s, "shape", bad), LOOM_OK);
        cr_assert_eq(loom_session_run(s), LOOM_E_SHAPE, "%s", loom_last_error());
        loom_tensor_free(bad);
    }
    set_and_run(s, x, T_I64(1, DIMS(2), 1, 6));
    expect_dims(loom_session_output_tensor(s, 0), LOOM_F32, 2, DIMS(1, 6));
    loom_session_free(s);
    loom_model_free(m);
    loom_tensor_free(x);
    tb_free(b);
}
