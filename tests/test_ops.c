/*
 * test_ops.c - one operator at a time, against hand-computed values.
 *
 * Every test builds a one- or few-node ONNX model with the test builder
 * (support/onnx-builder.h), runs it through the public API (tb_run), and
 * checks the dtype, the shape and every value of the outputs. Expected
 * values were worked out by hand or with numpy, never with loom.
 *
 * Comparison: data movement and integer results must match exactly.
 * Float arithmetic must be within |got - want| <= 1e-6 * |want| + 1e-7
 * (the absolute term only matters for expected values at or near 0);
 * an expected inf or NaN must be matched exactly.
 *
 * Groups, in order: broadcasting binary ops, comparisons and Where,
 * unary math, Clip, Gemm/MatMul, Softmax and normalisations, ReduceMean,
 * Conv, pooling, data movement, Cast, constants and shapes, constant
 * folding, error reporting.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "loom/loom.h"
#include "onnx-builder.h"
#include "op-test.h"

#define RTOL 1e-6
#define ATOL 1e-7

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */


/* Float tensor holding 0, 1, 2, ... */
static loom_tensor *iota_f32(int rank, const int64_t *dims)
{
    loom_tensor *t = NULL;
    cr_assert_eq(loom_tensor_create(LOOM_F32, rank, dims, &t), LOOM_OK);
    for (int64_t i = 0; i < loom_tensor_numel(t); i++)
        ((float *)loom_tensor_data(t))[i] = (float)i;
    return t;
}

/* Initializers and attributes from literal lists. */
#define INIT_F32(b, name, rank, dims, ...) tb_init(b, name, LOOM_F32, rank, dims, (const float[]){__VA_ARGS__})
#define INIT_I64(b, name, rank, dims, ...) tb_init(b, name, LOOM_I64, rank, dims, (const int64_t[]){__VA_ARGS__})
#define ATTR_INTS(b, n, name, ...) \
    tb_attr_ints(b, n, name, NARGS(int64_t, __VA_ARGS__), (const int64_t[]){__VA_ARGS__})



/* Same, for a model expected to fail: returns the status (frees all). */
static loom_status run_status(tb_model *b, int n_in, loom_tensor **ins)
{
    size_t len;
    const uint8_t *bytes = tb_pack(b, &len);
    loom_tensor *y = NULL;
    loom_status st = tb_run(bytes, len, n_in, ins, 1, &y);
    loom_tensor_free(y);
    tb_free(b);
    for (int i = 0; i < n_in; i++)
        loom_tensor_free(ins[i]);
    return st;
}

/* Run a model that must fail with status want, and whose message must
 * mention each non-NULL string in m1, m2. */
static void expect_fail(tb_model *b, int n_in, loom_tensor **ins, loom_status want, const char *m1,
                        const char *m2)
{
    loom_status st = run_status(b, n_in, ins);
    const char *msg = loom_last_error();
    cr_assert_eq(st, want, "status %s (%s), expected %s", loom_status_name(st), msg,
                 loom_status_name(want));
    if (m1)
        cr_assert(strstr(msg, m1), "message \"%s\" does not mention \"%s\"", msg, m1);
    if (m2)
        cr_assert(strstr(msg, m2), "message \"%s\" does not mention \"%s\"", msg, m2);
}


static void expect_shape(const loom_tensor *t, loom_dtype dt, int rank, const int64_t *dims)
{
    cr_assert_not_null(t, "no output tensor");
    cr_assert_eq(loom_tensor_dtype(t), dt, "dtype %s, expected %s", loom_dtype_name(loom_tensor_dtype(t)),
                 loom_dtype_name(dt));
    cr_assert_eq(loom_tensor_rank(t), rank, "rank %d, expected %d", loom_tensor_rank(t), rank);
    for (int d = 0; d < rank; d++)
        cr_assert_eq(loom_tensor_dims(t)[d], dims[d], "dim %d is %lld, expected %lld", d,
                     (long long)loom_tensor_dims(t)[d], (long long)dims[d]);
}

/* Check shape and values of t, then free it. */
static void expect_f32(loom_tensor *t, int rank, const int64_t *dims, const float *want, size_t n,
                       bool exact)
{
    const float *got;
    expect_shape(t, LOOM_F32, rank, dims);
    cr_assert_eq((size_t)loom_tensor_numel(t), n, "test has %zu expected values for %lld elements", n,
                 (long long)loom_tensor_numel(t));
    got = loom_tensor_cdata(t);
    for (size_t i = 0; i < n; i++) {
        double g = got[i], w = want[i];
        if (isnan(w))
            cr_assert(isnan(g), "element %zu: got %.9g, expected NaN", i, g);
        else if (exact || isinf(w))
            cr_assert(g == w, "element %zu: got %.9g, expected exactly %.9g", i, g, w);
        else
            cr_assert(fabs(g - w) <= ATOL + RTOL * fabs(w), "element %zu: got %.9g, expected %.9g", i, g, w);
    }
    loom_tensor_free(t);
}

static void expect_i64(loom_tensor *t, int rank, const int64_t *dims, const int64_t *want, size_t n)
{
    const int64_t *got;
    expect_shape(t, LOOM_I64, rank, dims);
    cr_assert_eq((size_t)loom_tensor_numel(t), n, "test has %zu expected values for %lld elements", n,
                 (long long)loom_tensor_numel(t));
    got = loom_tensor_cdata(t);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(got[i], want[i], "element %zu: got %lld, expected %lld", i, (long long)got[i],
                     (long long)want[i]);
    loom_tensor_free(t);
}

static void expect_i32(loom_tensor *t, int rank, const int64_t *dims, const int32_t *want, size_t n)
{
    const int32_t *got;
    expect_shape(t, LOOM_I32, rank, dims);
    cr_assert_eq((size_t)loom_tensor_numel(t), n);
    got = loom_tensor_cdata(t);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(got[i], want[i], "element %zu: got %d, expected %d", i, got[i], want[i]);
    loom_tensor_free(t);
}

static void expect_bool(loom_tensor *t, int rank, const int64_t *dims, const uint8_t *want, size_t n)
{
    const uint8_t *got;
    expect_shape(t, LOOM_BOOL, rank, dims);
    cr_assert_eq((size_t)loom_tensor_numel(t), n);
    got = loom_tensor_cdata(t);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(got[i], want[i], "element %zu: got %d, expected %d", i, got[i], want[i]);
    loom_tensor_free(t);
}

#define EXPECT_F32(t, rank, dims, ...) \
    expect_f32(t, rank, dims, (const float[]){__VA_ARGS__}, NARGS(float, __VA_ARGS__), false)
#define EXPECT_F32_EXACT(t, rank, dims, ...) \
    expect_f32(t, rank, dims, (const float[]){__VA_ARGS__}, NARGS(float, __VA_ARGS__), true)
#define EXPECT_I64(t, rank, dims, ...) \
    expect_i64(t, rank, dims, (const int64_t[]){__VA_ARGS__}, NARGS(int64_t, __VA_ARGS__))
#define EXPECT_I32(t, rank, dims, ...) \
    expect_i32(t, rank, dims, (const int32_t[]){__VA_ARGS__}, NARGS(int32_t, __VA_ARGS__))
#define EXPECT_BOOL(t, rank, dims, ...) \
    expect_bool(t, rank, dims, (const uint8_t[]){__VA_ARGS__}, NARGS(uint8_t, __VA_ARGS__))

/* Single-node runs with every input a graph input (computed at run time). */
static loom_tensor *binary(const char *op, loom_tensor *a, loom_tensor *b)
{
    loom_tensor *ins[2] = {a, b};
    return run1(single(13, op, 2, ins, NULL), 2, ins);
}

static loom_tensor *unary(const char *op, loom_tensor *x)
{
    return run1(single(13, op, 1, &x, NULL), 1, &x);
}

/* ------------------------------------------------------------------------ */
/* Broadcasting binary ops                                                   */
/* ------------------------------------------------------------------------ */

Test(ops, add_column_by_row_broadcast)
{
    loom_tensor *y = binary("Add", T_F32(2, DIMS(3, 1), 1, 2, 3), T_F32(2, DIMS(1, 4), 10, 20, 30, 40));
    EXPECT_F32(y, 2, DIMS(3, 4), 11, 21, 31, 41, 12, 22, 32, 42, 13, 23, 33, 43);
}

Test(ops, sub_rank_mismatch_broadcast)
{
    /* [2,3,4] holding 0..23 minus [1,2,3,4]: element k - (k % 4 + 1), so
     * each group of four is 4j - 1 */
    loom_tensor *y = binary("Sub", iota_f32(3, DIMS(2, 3, 4)), T_F32(1, DIMS(4), 1, 2, 3, 4));
    EXPECT_F32(y, 3, DIMS(2, 3, 4), -1, -1, -1, -1, 3, 3, 3, 3, 7, 7, 7, 7, 11, 11, 11, 11, 15, 15, 15,
               15, 19, 19, 19, 19);
}

Test(ops, add_both_operands_broadcast)
{
    /* [2,1,3] + [4,1] -> [2,4,3]: y[i,j,k] = a[i,0,k] + b[j,0] */
    loom_tensor *y = binary("Add", T_F32(3, DIMS(2, 1, 3), 0, 1, 2, 10, 11, 12),
                            T_F32(2, DIMS(4, 1), 100, 200, 300, 400));
    EXPECT_F32(y, 3, DIMS(2, 4, 3), 100, 101, 102, 200, 201, 202, 300, 301, 302, 400, 401, 402, 110,
               111, 112, 210, 211, 212, 310, 311, 312, 410, 411, 412);
}

Test(ops, mul_by_0d_scalar)
{
    loom_tensor *y = binary("Mul", T_F32(2, DIMS(2, 3), 1, -2, 3, -4, 5, -6), T_F32(0, NULL, 2.5));
    EXPECT_F32(y, 2, DIMS(2, 3), 2.5, -5, 7.5, -10, 12.5, -15);
}

Test(ops, add_0d_by_0d_gives_0d)
{
    loom_tensor *y = binary("Add", T_F32(0, NULL, 2.5), T_F32(0, NULL, -1));
    EXPECT_F32(y, 0, NULL, 1.5);
}

Test(ops, div_one_element_scalar_by_tensor)
{
    /* the [1] operand is on the left: 6 / b */
    loom_tensor *y = binary("Div", T_F32(1, DIMS(1), 6), T_F32(2, DIMS(2, 2), 1, 2, 3, 4));
    EXPECT_F32(y, 2, DIMS(2, 2), 6, 3, 2, 1.5);
}

Test(ops, div_float_by_zero_is_ieee)
{
    /* float division by zero is not an error: +inf, -inf, NaN */
    loom_tensor *y = binary("Div", T_F32(1, DIMS(3), 1, -1, 0), T_F32(1, DIMS(3), 0, 0, 0));
    EXPECT_F32(y, 1, DIMS(3), INFINITY, -INFINITY, NAN);
}

Test(ops, pow_row_broadcast)
{
    /* [1..6] as [2,3] raised to [2, 0.5, -1] per column */
    loom_tensor *y = binary("Pow", T_F32(2, DIMS(2, 3), 1, 2, 3, 4, 5, 6), T_F32(1, DIMS(3), 2, 0.5, -1));
    EXPECT_F32(y, 2, DIMS(2, 3), 1, 1.41421356, 0.333333333, 16, 2.23606798, 0.166666667);
}

Test(ops, pow_int64_0d_exponent)
{
    /* a negative base with an integer exponent is well defined */
    loom_tensor *y = binary("Pow", T_F32(1, DIMS(4), -2, 3, 0.5, 10), T_I64(0, NULL, 3));
    EXPECT_F32(y, 1, DIMS(4), -8, 27, 0.125, 1000);
}

Test(ops, add_int64_broadcast_is_exact)
{
    /* 2^53 + 1 is not representable in double: integer adds stay integer */
    loom_tensor *y = binary("Add", T_I64(2, DIMS(2, 2), 1, 9007199254740993, 3, -4), T_I64(1, DIMS(2), 10, 1));
    EXPECT_I64(y, 2, DIMS(2, 2), 11, 9007199254740994, 13, -3);
}

Test(ops, add_int32)
{
    loom_tensor *y = binary("Add", T_I32(1, DIMS(3), 1, -2, 100), T_I32(1, DIMS(1), 5));
    EXPECT_I32(y, 1, DIMS(3), 6, 3, 105);
}

Test(ops, mul_int64)
{
    loom_tensor *y = binary("Mul", T_I64(1, DIMS(4), 3, -4, 5, (int64_t)1 << 32),
                            T_I64(1, DIMS(4), 7, 7, -2, (int64_t)1 << 20));
    EXPECT_I64(y, 1, DIMS(4), 21, -28, -10, (int64_t)1 << 52);
}

Test(ops, div_int64_truncates_toward_zero)
{
    /* C semantics (as onnxruntime), not numpy's floor division */
    loom_tensor *y = binary("Div", T_I64(1, DIMS(8), -7, 7, -7, 7, 0, -1, 9, -9),
                            T_I64(1, DIMS(8), 2, -2, -2, 2, 3, 5, -1, 4));
    EXPECT_I64(y, 1, DIMS(8), -3, -3, 3, 3, 0, 0, -9, -2);
}

Test(ops, div_int64_by_zero_is_an_error)
{
    loom_tensor *ins[2] = {T_I64(1, DIMS(3), 1, 2, 3), T_I64(1, DIMS(3), 1, 0, 1)};
    loom_status st = run_status(single(13, "Div", 2, ins, NULL), 2, ins);
    cr_assert_neq(st, LOOM_OK, "integer division by zero succeeded");
    cr_assert(loom_last_error()[0] != '\0', "no error message");
}

/* ------------------------------------------------------------------------ */
/* Comparisons and Where                                                     */
/* ------------------------------------------------------------------------ */

Test(ops, equal_less_greater_broadcast_give_bool)
{
    tb_model *b = tb_new(13);
    loom_tensor *ins[2] = {T_F32(2, DIMS(2, 3), 1, 2, 3, 4, 5, 6), T_F32(1, DIMS(3), 1, 5, 3)};
    loom_tensor *outs[3];
    input_like(b, "a", ins[0]);
    input_like(b, "b", ins[1]);
    tb_node(b, "Equal", "a,b", "eq");
    tb_node(b, "Less", "a,b", "lt");
    tb_node(b, "Greater", "a,b", "gt");
    tb_output(b, "eq");
    tb_output(b, "lt");
    tb_output(b, "gt");
    run_ok(b, 2, ins, 3, outs);
    /* a = [[1,2,3],[4,5,6]] against [1,5,3] per row */
    EXPECT_BOOL(outs[0], 2, DIMS(2, 3), 1, 0, 1, 0, 1, 0);
    EXPECT_BOOL(outs[1], 2, DIMS(2, 3), 0, 1, 0, 0, 0, 0);
    EXPECT_BOOL(outs[2], 2, DIMS(2, 3), 0, 0, 0, 1, 0, 1);
}

/* A float comparison's bool output is smaller than the floats: nothing may
 * treat it as float (ref's fused-activation pass once read 4 bytes of a 3-byte
 * output: ASan's heap-buffer-overflow in the conformance cases' Clip). */
Test(ops, less_of_three_floats_gives_three_bools)
{
    loom_tensor *y = binary("Less", T_F32(1, DIMS(3), 1, 5, 3), T_F32(1, DIMS(3), 2, 4, 3));
    EXPECT_BOOL(y, 1, DIMS(3), 1, 0, 0);
}

Test(ops, equal_int64_with_0d)
{
    loom_tensor *y = binary("Equal", T_I64(1, DIMS(3), 1, 2, 3), T_I64(0, NULL, 2));
    EXPECT_BOOL(y, 1, DIMS(3), 0, 1, 0);
}

Test(ops, where_broadcasts_all_three_inputs)
{
    /* cond [2,1], X [1,3], Y 0-d -> [2,3]: row 0 takes X, row 1 takes Y */
    loom_tensor *ins[3] = {T_BOOL(2, DIMS(2, 1), 1, 0), T_F32(2, DIMS(1, 3), 1, 2, 3), T_F32(0, NULL, -1)};
    loom_tensor *y = run1(single(13, "Where", 3, ins, NULL), 3, ins);
    EXPECT_F32_EXACT(y, 2, DIMS(2, 3), 1, 2, 3, -1, -1, -1);
}

Test(ops, where_int64_condition_per_column)
{
    /* cond [3] picks columns 0 and 2 from X [2,3], column 1 from Y [2,1] */
    loom_tensor *ins[3] = {T_BOOL(1, DIMS(3), 1, 0, 1), T_I64(2, DIMS(2, 3), 1, 2, 3, 4, 5, 6),
                           T_I64(2, DIMS(2, 1), -10, -20)};
    loom_tensor *y = run1(single(13, "Where", 3, ins, NULL), 3, ins);
    EXPECT_I64(y, 2, DIMS(2, 3), 1, -10, 3, 4, -20, 6);
}

/* ------------------------------------------------------------------------ */
/* Unary math (expected values from numpy in double precision)              */
/* ------------------------------------------------------------------------ */

Test(ops, sqrt)
{
    EXPECT_F32(unary("Sqrt", T_F32(1, DIMS(5), 0, 1, 2, 9, 0.25)), 1, DIMS(5), 0, 1, 1.41421356, 3, 0.5);
}

Test(ops, erf)
{
    EXPECT_F32(unary("Erf", T_F32(1, DIMS(5), -1, 0, 0.5, 1, 2)), 1, DIMS(5), -0.842700793, 0,
               0.520499878, 0.842700793, 0.995322265);
}

Test(ops, relu)
{
    EXPECT_F32(unary("Relu", T_F32(2, DIMS(2, 3), -2, -0.0, 0, 0.5, 3, -1e-30)), 2, DIMS(2, 3), 0, 0, 0,
               0.5, 3, 0);
}

Test(ops, sigmoid)
{
    /* 1 / (1 + e^-x) */
    EXPECT_F32(unary("Sigmoid", T_F32(1, DIMS(4), -2, 0, 1, 4)), 1, DIMS(4), 0.119202922, 0.5,
               0.731058579, 0.982013790);
}

Test(ops, tanh)
{
    EXPECT_F32(unary("Tanh", T_F32(1, DIMS(4), -1, 0, 0.5, 3)), 1, DIMS(4), -0.761594156, 0, 0.462117157,
               0.995054754);
}

Test(ops, abs)
{
    EXPECT_F32(unary("Abs", T_F32(1, DIMS(4), -3.5, 0, 2, -0.25)), 1, DIMS(4), 3.5, 0, 2, 0.25);
}

Test(ops, neg)
{
    EXPECT_F32(unary("Neg", T_F32(1, DIMS(4), -3.5, 0, 2, 1e10)), 1, DIMS(4), 3.5, 0, -2, -1e10);
}

Test(ops, exp)
{
    EXPECT_F32(unary("Exp", T_F32(1, DIMS(4), -1, 0, 1, 2.5)), 1, DIMS(4), 0.367879441, 1, 2.71828183,
               12.1824940);
}

Test(ops, log)
{
    /* log(0) = -inf; 2.71828183f is e to float precision */
    EXPECT_F32(unary("Log", T_F32(1, DIMS(5), 1, 2.71828183, 0.5, 10, 0)), 1, DIMS(5), 0, 1,
               -0.693147181, 2.30258509, -INFINITY);
}

Test(ops, reciprocal)
{
    EXPECT_F32(unary("Reciprocal", T_F32(1, DIMS(4), 2, -4, 0.5, 3)), 1, DIMS(4), 0.5, -0.25, 2,
               0.333333333);
}

Test(ops, abs_neg_relu_on_int64)
{
    tb_model *b = tb_new(13);
    loom_tensor *x = T_I64(1, DIMS(4), -5, 0, 7, -INT64_MAX);
    loom_tensor *outs[3];
    input_like(b, "x", x);
    tb_node(b, "Abs", "x", "abs");
    tb_node(b, "Neg", "x", "neg");
    tb_node(b, "Relu", "x", "relu");
    tb_output(b, "abs");
    tb_output(b, "neg");
    tb_output(b, "relu");
    run_ok(b, 1, &x, 3, outs);
    EXPECT_I64(outs[0], 1, DIMS(4), 5, 0, 7, INT64_MAX);
    EXPECT_I64(outs[1], 1, DIMS(4), 5, 0, -7, INT64_MAX);
    EXPECT_I64(outs[2], 1, DIMS(4), 0, 0, 7, 0);
}

/* ------------------------------------------------------------------------ */
/* Clip                                                                      */
/* ------------------------------------------------------------------------ */

/* x = [-3, -1, 0, 0.5, 2, 5] through one Clip node with node inputs
 * `inputs`; lo and hi are 0-d initializers (when named in inputs). */
static tb_model *clip_model(int64_t opset, const char *inputs, float lo, float hi, loom_tensor **x,
                            Onnx__NodeProto **node)
{
    tb_model *b = tb_new(opset);
    *x = T_F32(1, DIMS(6), -3, -1, 0, 0.5, 2, 5);
    input_like(b, "x", *x);
    if (strstr(inputs, "lo"))
        INIT_F32(b, "lo", 0, NULL, lo);
    if (strstr(inputs, "hi"))
        INIT_F32(b, "hi", 0, NULL, hi);
    *node = tb_node(b, "Clip", inputs, "y");
    tb_output(b, "y");
    return b;
}

Test(ops, clip_opset13_min_max_inputs)
{
    loom_tensor *x;
    Onnx__NodeProto *n;
    tb_model *b = clip_model(13, "x,lo,hi", -1, 2, &x, &n);
    EXPECT_F32_EXACT(run1(b, 1, &x), 1, DIMS(6), -1, -1, 0, 0.5, 2, 2);
}

Test(ops, clip_opset11_only_max)
{
    /* min omitted by an empty input name */
    loom_tensor *x;
    Onnx__NodeProto *n;
    tb_model *b = clip_model(11, "x,,hi", 0, 1, &x, &n);
    EXPECT_F32_EXACT(run1(b, 1, &x), 1, DIMS(6), -3, -1, 0, 0.5, 1, 1);
}

Test(ops, clip_opset13_only_min)
{
    loom_tensor *x;
    Onnx__NodeProto *n;
    tb_model *b = clip_model(13, "x,lo", 0, 0, &x, &n);
    EXPECT_F32_EXACT(run1(b, 1, &x), 1, DIMS(6), 0, 0, 0, 0.5, 2, 5);
}

Test(ops, clip_opset13_bounds_from_constant_nodes)
{
    /* PyTorch exports the bounds as Constant nodes */
    tb_model *b = tb_new(13);
    loom_tensor *x = T_F32(1, DIMS(6), -3, -1, 0, 0.5, 2, 5);
    Onnx__NodeProto *n;
    input_like(b, "x", x);
    n = tb_node(b, "Constant", "", "lo");
    tb_attr_tensor(b, n, "value", tb_tensor(b, "", LOOM_F32, 0, NULL, (const float[]){0.25f}));
    n = tb_node(b, "Constant", "", "hi");
    tb_attr_tensor(b, n, "value", tb_tensor(b, "", LOOM_F32, 0, NULL, (const float[]){0.75f}));
    tb_node(b, "Clip", "x,lo,hi", "y");
    tb_output(b, "y");
    EXPECT_F32_EXACT(run1(b, 1, &x), 1, DIMS(6), 0.25, 0.25, 0.25, 0.5, 0.75, 0.75);
}

Test(ops, clip_min_greater_than_max_gives_max)
{
    /* ONNX Clip-13: "When 'min' is greater than 'max', the clip operator
     * sets all the 'input' values to the value of 'max'", i.e.
     * Min(max, Max(input, min)) */
    loom_tensor *x;
    Onnx__NodeProto *n;
    tb_model *b = clip_model(13, "x,lo,hi", 2, 1, &x, &n);
    EXPECT_F32_EXACT(run1(b, 1, &x), 1, DIMS(6), 1, 1, 1, 1, 1, 1);
}

Test(ops, clip_opset9_min_max_attributes)
{
    loom_tensor *x;
    Onnx__NodeProto *n;
    tb_model *b = clip_model(9, "x", 0, 0, &x, &n);
    tb_attr_float(b, n, "min", -1);
    tb_attr_float(b, n, "max", 2);
    EXPECT_F32_EXACT(run1(b, 1, &x), 1, DIMS(6), -1, -1, 0, 0.5, 2, 2);
}

Test(ops, clip_opset9_only_max_attribute)
{
    loom_tensor *x;
    Onnx__NodeProto *n;
    tb_model *b = clip_model(9, "x", 0, 0, &x, &n);
    tb_attr_float(b, n, "max", 1);
    EXPECT_F32_EXACT(run1(b, 1, &x), 1, DIMS(6), -3, -1, 0, 0.5, 1, 1);
}

/* ------------------------------------------------------------------------ */
/* Gemm and MatMul                                                           */
/* A = [[1,2,3],[4,5,6]], B = [[1,2],[3,4],[5,6]], A.B = [[22,28],[49,64]]  */
/* ------------------------------------------------------------------------ */

/* Gemm with A a graph input and B (and C when c_dims) initializers. */
static tb_model *gemm_model(loom_tensor **a, bool trans_a, bool trans_b, int c_rank, const int64_t *c_dims,
                            const float *c, Onnx__NodeProto **node)
{
    tb_model *b = tb_new(13);
    if (trans_a)
        *a = T_F32(2, DIMS(3, 2), 1, 4, 2, 5, 3, 6);
    else
        *a = T_F32(2, DIMS(2, 3), 1, 2, 3, 4, 5, 6);
    input_like(b, "a", *a);
    if (trans_b)
        INIT_F32(b, "b", 2, DIMS(2, 3), 1, 3, 5, 2, 4, 6);
    else
        INIT_F32(b, "b", 2, DIMS(3, 2), 1, 2, 3, 4, 5, 6);
    if (c)
        tb_init(b, "c", LOOM_F32, c_rank, c_dims, c);
    *node = tb_node(b, "Gemm", c ? "a,b,c" : "a,b", "y");
    if (trans_a)
        tb_attr_int(b, *node, "transA", 1);
    if (trans_b)
        tb_attr_int(b, *node, "transB", 1);
    tb_output(b, "y");
    return b;
}

Test(ops, gemm_without_c)
{
    loom_tensor *a;
    Onnx__NodeProto *n;
    tb_model *b = gemm_model(&a, false, false, 0, NULL, NULL, &n);
    EXPECT_F32(run1(b, 1, &a), 2, DIMS(2, 2), 22, 28, 49, 64);
}

Test(ops, gemm_trans_a_and_trans_b)
{
    /* both operands stored transposed: same product */
    loom_tensor *a;
    Onnx__NodeProto *n;
    tb_model *b = gemm_model(&a, true, true, 0, NULL, NULL, &n);
    EXPECT_F32(run1(b, 1, &a), 2, DIMS(2, 2), 22, 28, 49, 64);
}

Test(ops, gemm_alpha_beta_bias_n_trans_b)
{
    /* the nn.Linear pattern (B stored transposed): 0.5 * A.B + 2 * [1,-1] */
    loom_tensor *a;
    Onnx__NodeProto *n;
    tb_model *b = gemm_model(&a, false, true, 1, DIMS(2), (const float[]){1, -1}, &n);
    tb_attr_float(b, n, "alpha", 0.5f);
    tb_attr_float(b, n, "beta", 2.0f);
    EXPECT_F32(run1(b, 1, &a), 2, DIMS(2, 2), 13, 12, 26.5, 30);
}

Test(ops, gemm_bias_1xn)
{
    loom_tensor *a;
    Onnx__NodeProto *n;
    tb_model *b = gemm_model(&a, false, false, 2, DIMS(1, 2), (const float[]){10, 20}, &n);
    EXPECT_F32(run1(b, 1, &a), 2, DIMS(2, 2), 32, 48, 59, 84);
}

Test(ops, gemm_bias_mxn_with_beta)
{
    loom_tensor *a;
    Onnx__NodeProto *n;
    tb_model *b = gemm_model(&a, false, false, 2, DIMS(2, 2), (const float[]){1, 2, 3, 4}, &n);
    tb_attr_float(b, n, "beta", 0.5f);
    EXPECT_F32(run1(b, 1, &a), 2, DIMS(2, 2), 22.5, 29, 50.5, 66);
}

Test(ops, gemm_bias_mx1)
{
    /* a column bias broadcasts along the rows */
    loom_tensor *a;
    Onnx__NodeProto *n;
    tb_model *b = gemm_model(&a, false, false, 2, DIMS(2, 1), (const float[]){100, 200}, &n);
    EXPECT_F32(run1(b, 1, &a), 2, DIMS(2, 2), 122, 128, 249, 264);
}

Test(ops, matmul_2d)
{
    loom_tensor *y = binary("MatMul", T_F32(2, DIMS(2, 3), 1, 2, 3, 4, 5, 6), T_F32(2, DIMS(3, 2), 1, 2, 3, 4, 5, 6));
    EXPECT_F32(y, 2, DIMS(2, 2), 22, 28, 49, 64);
}

Test(ops, matmul_batched_3d)
{
    /* a = arange(12).reshape(2,2,3), b = arange(12).reshape(2,3,2) - 5 */
    loom_tensor *y = binary("MatMul", iota_f32(3, DIMS(2, 2, 3)),
                            T_F32(3, DIMS(2, 3, 2), -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6));
    EXPECT_F32(y, 3, DIMS(2, 2, 2), -5, -2, -32, -20, 67, 88, 94, 124);
}

Test(ops, matmul_batch_broadcast_4d_by_3d)
{
    /* [2,1,2,3] x [3,3,2] -> [2,3,2,2]; a = arange(12),
     * b = arange(18) % 5 - 2 (numpy matmul) */
    loom_tensor *y = binary("MatMul", iota_f32(4, DIMS(2, 1, 2, 3)),
                            T_F32(3, DIMS(3, 3, 2), -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2,
                                  -1, 0));
    EXPECT_F32(y, 4, DIMS(2, 3, 2, 2), 4, -3, 4, -9, -3, 0, -9, 3, 0, -2, 3, -5, 4, -15, 4, -21, -15, 6,
               -21, 9, 6, -8, 9, -11);
}

Test(ops, matmul_1d_by_2d)
{
    /* [3] is promoted to [1,3]; the 1 is dropped again: shape [2] */
    loom_tensor *y = binary("MatMul", T_F32(1, DIMS(3), 1, 2, 3), T_F32(2, DIMS(3, 2), 1, 2, 3, 4, 5, 6));
    EXPECT_F32(y, 1, DIMS(2), 22, 28);
}

Test(ops, matmul_2d_by_1d)
{
    loom_tensor *y = binary("MatMul", T_F32(2, DIMS(2, 3), 1, 2, 3, 4, 5, 6), T_F32(1, DIMS(3), 1, 2, -1));
    EXPECT_F32(y, 1, DIMS(2), 2, 8);
}

Test(ops, matmul_1d_by_1d_gives_0d)
{
    loom_tensor *y = binary("MatMul", T_F32(1, DIMS(3), 1, 2, 3), T_F32(1, DIMS(3), 4, 5, 6));
    EXPECT_F32(y, 0, NULL, 32);
}

Test(ops, matmul_3d_by_1d)
{
    loom_tensor *y = binary("MatMul", iota_f32(3, DIMS(2, 2, 3)), T_F32(1, DIMS(3), 1, 2, -1));
    EXPECT_F32(y, 2, DIMS(2, 2), 0, 6, 12, 18);
}

Test(ops, matmul_k_equals_1_is_outer_product)
{
    loom_tensor *y = binary("MatMul", T_F32(2, DIMS(3, 1), 1, 2, 3), T_F32(2, DIMS(1, 2), 10, -1));
    EXPECT_F32(y, 2, DIMS(3, 2), 10, -1, 20, -2, 30, -3);
}

/* ------------------------------------------------------------------------ */
/* Softmax, LayerNormalization, BatchNormalization                           */
/* ------------------------------------------------------------------------ */

Test(ops, softmax_opset13_axis_minus1)
{
    /* softmax([1,2,3]) = e^k / (e + e^2 + e^3); the second row is the first
     * plus 999 and must not overflow */
    Onnx__NodeProto *n;
    loom_tensor *x = T_F32(2, DIMS(2, 3), 1, 2, 3, 1000, 1001, 1002);
    tb_model *b = single(13, "Softmax", 1, &x, &n);
    tb_attr_int(b, n, "axis", -1);
    EXPECT_F32(run1(b, 1, &x), 2, DIMS(2, 3), 0.0900305732, 0.244728471, 0.665240956, 0.0900305732,
               0.244728471, 0.665240956);
}

Test(ops, softmax_opset13_axis1_of_3d)
{
    /* x [2,3,2]; each (batch, column) is normalised over the 3 rows:
     * numpy exp(x - max) / sum along axis 1 */
    Onnx__NodeProto *n;
    loom_tensor *x = T_F32(3, DIMS(2, 3, 2), 0, 1, 2, 3, 4, 5, -1, 0, 1, 1, 1, 1);
    tb_model *b = single(13, "Softmax", 1, &x, &n);
    tb_attr_int(b, n, "axis", 1);
    EXPECT_F32(run1(b, 1, &x), 3, DIMS(2, 3, 2), 0.01587624, 0.01587624, 0.117310428, 0.117310428,
               0.866813332, 0.866813332, 0.0633789383, 0.155362403, 0.468310531, 0.422318798,
               0.468310531, 0.422318798);
}

Test(ops, softmax_opset11_flattens_at_axis)
{
    /* legacy semantics: default axis 1 on [2,2,2] normalises each batch's
     * 4 values together (x viewed as [2,4]) */
    loom_tensor *x = T_F32(3, DIMS(2, 2, 2), 1, 2, 3, 4, 0, 0, 1, -1);
    tb_model *b = single(11, "Softmax", 1, &x, NULL);
    EXPECT_F32(run1(b, 1, &x), 3, DIMS(2, 2, 2), 0.0320586033, 0.0871443187, 0.236882818, 0.64391426,
               0.196611933, 0.196611933, 0.534446645, 0.0723294881);
}

Test(ops, layernorm_opset17_scale_and_bias)
{
    /* rows [1,2,3,4] (mean 2.5, var 1.25) and [-1,0,1,6] (mean 1.5,
     * var 7.25), epsilon 1e-5, then * scale + bias per column */
    tb_model *b = tb_new(17);
    loom_tensor *x = T_F32(2, DIMS(2, 4), 1, 2, 3, 4, -1, 0, 1, 6);
    input_like(b, "x", x);
    INIT_F32(b, "scale", 1, DIMS(4), 1, 2, 0.5, -1);
    INIT_F32(b, "bias", 1, DIMS(4), 0, 0.5, -0.5, 1);
    tb_node(b, "LayerNormalization", "x,scale,bias", "y");
    tb_output(b, "y");
    EXPECT_F32(run1(b, 1, &x), 2, DIMS(2, 4), -1.34163542, -0.394423613, -0.276394097, -0.34163542,
               -0.928476051, -0.614171261, -0.592847605, -0.671256891);
}

Test(ops, layernorm_opset17_mean_and_inv_std_outputs)
{
    /* the optional outputs have shape [2,1]: mean and 1/sqrt(var + eps) */
    tb_model *b = tb_new(17);
    loom_tensor *x = T_F32(2, DIMS(2, 4), 1, 2, 3, 4, -1, 0, 1, 6);
    loom_tensor *outs[3];
    input_like(b, "x", x);
    INIT_F32(b, "scale", 1, DIMS(4), 1, 1, 1, 1);
    INIT_F32(b, "bias", 1, DIMS(4), 0, 0, 0, 0);
    tb_node(b, "LayerNormalization", "x,scale,bias", "y,mean,istd");
    tb_output(b, "y");
    tb_output(b, "mean");
    tb_output(b, "istd");
    run_ok(b, 1, &x, 3, outs);
    /* (x - mean) * istd */
    EXPECT_F32(outs[0], 2, DIMS(2, 4), -1.34163542, -0.447211807, 0.447211807, 1.34163542, -0.928476051,
               -0.55708563, -0.18569521, 1.67125689);
    EXPECT_F32(outs[1], 2, DIMS(2, 1), 2.5, 1.5);
    EXPECT_F32(outs[2], 2, DIMS(2, 1), 0.894423613, 0.37139042);
}

Test(ops, layernorm_opset17_axis1_without_bias)
{
    /* axis 1 of [2,2,2] normalises the last two dims together; scale [2,2];
     * B omitted. Batch 0 is [1,2,3,4], batch 1 is [0,0,4,8] (mean 3,
     * var 11). */
    Onnx__NodeProto *n;
    tb_model *b = tb_new(17);
    loom_tensor *x = T_F32(3, DIMS(2, 2, 2), 1, 2, 3, 4, 0, 0, 4, 8);
    input_like(b, "x", x);
    INIT_F32(b, "scale", 2, DIMS(2, 2), 1, 2, 3, -1);
    n = tb_node(b, "LayerNormalization", "x,scale", "y");
    tb_attr_int(b, n, "axis", 1);
    tb_output(b, "y");
    EXPECT_F32(run1(b, 1, &x), 3, DIMS(2, 2, 2), -1.34163542, -0.894423613, 1.34163542, -1.34163542,
               -0.904533623, -1.80906725, 0.904533623, -1.50755604);
}

Test(ops, layernorm_without_bias_followed_by_another_node)
{
    /* Same as above with a consumer after it: the result must not depend on
     * what the next node reads. */
    Onnx__NodeProto *n;
    tb_model *b = tb_new(17);
    loom_tensor *x = T_F32(3, DIMS(2, 2, 2), 1, 2, 3, 4, 0, 0, 4, 8);
    input_like(b, "x", x);
    INIT_F32(b, "scale", 2, DIMS(2, 2), 1, 2, 3, -1);
    n = tb_node(b, "LayerNormalization", "x,scale", "h");
    tb_attr_int(b, n, "axis", 1);
    tb_node(b, "Identity", "h", "y");
    tb_output(b, "y");
    EXPECT_F32(run1(b, 1, &x), 3, DIMS(2, 2, 2), -1.34163542, -0.894423613, 1.34163542, -1.34163542,
               -0.904533623, -1.80906725, 0.904533623, -1.50755604);
}

Test(ops, layernorm_without_bias_on_constant_input_folds)
{
    /* every input an initializer: the node is folded at session creation
     * (same values as layernorm_opset17_axis1_without_bias) */
    Onnx__NodeProto *n;
    tb_model *b = tb_new(17);
    loom_tensor *y;
    INIT_F32(b, "x", 3, DIMS(2, 2, 2), 1, 2, 3, 4, 0, 0, 4, 8);
    INIT_F32(b, "scale", 2, DIMS(2, 2), 1, 2, 3, -1);
    n = tb_node(b, "LayerNormalization", "x,scale", "y");
    tb_attr_int(b, n, "axis", 1);
    tb_output(b, "y");
    run_ok(b, 0, NULL, 1, &y);
    EXPECT_F32(y, 3, DIMS(2, 2, 2), -1.34163542, -0.894423613, 1.34163542, -1.34163542, -0.904533623,
               -1.80906725, 0.904533623, -1.50755604);
}

Test(ops, batchnorm_inference)
{
    /* epsilon 0 keeps it exact: channel 0 has mean 1, var 4 (x-1)/2;
     * channel 1 has mean -1, var 0.25, scale 2, bias 1: (x+1)*4 + 1 */
    Onnx__NodeProto *n;
    tb_model *b = tb_new(15);
    loom_tensor *x = T_F32(4, DIMS(2, 2, 1, 2), 1, 3, -1, 0, 5, 7, 1, 2);
    input_like(b, "x", x);
    INIT_F32(b, "scale", 1, DIMS(2), 1, 2);
    INIT_F32(b, "bias", 1, DIMS(2), 0, 1);
    INIT_F32(b, "mean", 1, DIMS(2), 1, -1);
    INIT_F32(b, "var", 1, DIMS(2), 4, 0.25);
    n = tb_node(b, "BatchNormalization", "x,scale,bias,mean,var", "y");
    tb_attr_float(b, n, "epsilon", 0.0f);
    tb_output(b, "y");
    EXPECT_F32(run1(b, 1, &x), 4, DIMS(2, 2, 1, 2), 0, 1, 1, 5, 2, 3, 9, 13);
}

/* ------------------------------------------------------------------------ */
/* ReduceMean (opset 13: axes attribute). x = arange(12) as [2,3,2].        */
/* ------------------------------------------------------------------------ */

static loom_tensor *reduce_mean(const int64_t *axes, size_t naxes, int keepdims)
{
    Onnx__NodeProto *n;
    loom_tensor *x = iota_f32(3, DIMS(2, 3, 2));
    tb_model *b = single(13, "ReduceMean", 1, &x, &n);
    if (axes)
        tb_attr_ints(b, n, "axes", naxes, axes);
    if (keepdims >= 0)
        tb_attr_int(b, n, "keepdims", keepdims);
    return run1(b, 1, &x);
}

Test(ops, reduce_mean_axis1_keepdims)
{
    /* mean over j of x[i,j,k]: (0+2+4)/3 = 2, (1+3+5)/3 = 3, 8, 9 */
    EXPECT_F32(reduce_mean(DIMS(1), 1, 1), 3, DIMS(2, 1, 2), 2, 3, 8, 9);
}

Test(ops, reduce_mean_two_axes_no_keepdims)
{
    /* axes listed out of order; column j averages {2j, 2j+1, 2j+6, 2j+7} */
    EXPECT_F32(reduce_mean(DIMS(2, 0), 2, 0), 1, DIMS(3), 3.5, 5.5, 7.5);
}

Test(ops, reduce_mean_negative_axis)
{
    EXPECT_F32(reduce_mean(DIMS(-1), 1, 0), 2, DIMS(2, 3), 0.5, 2.5, 4.5, 6.5, 8.5, 10.5);
}

Test(ops, reduce_mean_all_axes_keepdims_default)
{
    EXPECT_F32(reduce_mean(NULL, 0, -1), 3, DIMS(1, 1, 1), 5.5);
}

Test(ops, reduce_mean_all_axes_to_0d)
{
    EXPECT_F32(reduce_mean(NULL, 0, 0), 0, NULL, 5.5);
}

/* ------------------------------------------------------------------------ */
/* Conv (x a graph input, weights and bias initializers). Expected values   */
/* from a direct numpy loop over np.pad-ded input.                          */
/* ------------------------------------------------------------------------ */

static tb_model *conv_model(loom_tensor *x, int w_rank, const int64_t *w_dims, const float *w, const float *bias,
                            Onnx__NodeProto **node)
{
    tb_model *b = tb_new(13);
    input_like(b, "x", x);
    tb_init(b, "w", LOOM_F32, w_rank, w_dims, w);
    if (bias)
        tb_init(b, "bias", LOOM_F32, 1, DIMS(w_dims[0]), bias);
    *node = tb_node(b, "Conv", bias ? "x,w,bias" : "x,w", "y");
    tb_output(b, "y");
    return b;
}

Test(ops, conv2d_plain)
{
    /* x = 1..9 as 3x3, w = [[1,2],[3,4]]: y[0,0] = 1 + 4 + 12 + 20 */
    Onnx__NodeProto *n;
    loom_tensor *x = T_F32(4, DIMS(1, 1, 3, 3), 1, 2, 3, 4, 5, 6, 7, 8, 9);
    tb_model *b = conv_model(x, 4, DIMS(1, 1, 2, 2), (const float[]){1, 2, 3, 4}, NULL, &n);
    EXPECT_F32(run1(b, 1, &x), 4, DIMS(1, 1, 2, 2), 37, 47, 67, 77);
}

Test(ops, conv2d_pads)
{
    /* 3x3 box sums of 1..9 with a zero border: corner 1+2+4+5 = 12 */
    Onnx__NodeProto *n;
    loom_tensor *x = T_F32(4, DIMS(1, 1, 3, 3), 1, 2, 3, 4, 5, 6, 7, 8, 9);
    tb_model *b = conv_model(x, 4, DIMS(1, 1, 3, 3), (const float[]){1, 1, 1, 1, 1, 1, 1, 1, 1}, NULL, &n);
    ATTR_INTS(b, n, "pads", 1, 1, 1, 1);
    EXPECT_F32(run1(b, 1, &x), 4, DIMS(1, 1, 3, 3), 12, 21, 16, 27, 45, 33, 24, 39, 28);
}

Test(ops, conv2d_asymmetric_pads)
{
    /* pads [top=1, left=1, bottom=0, right=0]: 2x2 sums ending at (i,j) */
    Onnx__NodeProto *n;
    loom_tensor *x = T_F32(4, DIMS(1, 1, 3, 3), 1, 2, 3, 4, 5, 6, 7, 8, 9);
    tb_model *b = conv_model(x, 4, DIMS(1, 1, 2, 2), (const float[]){1, 1, 1, 1}, NULL, &n);
    ATTR_INTS(b, n, "pads", 1, 1, 0, 0);
    EXPECT_F32(run1(b, 1, &x), 4, DIMS(1, 1, 3, 3), 1, 3, 5, 5, 12, 16, 11, 24, 28);
}

Test(ops, conv2d_strides)
{
    /* 3x3 box sums of arange(25) as 5x5 at stride 2: 9 * centre value
     * (centres 6, 8, 16, 18) */
    Onnx__NodeProto *n;
    loom_tensor *x = iota_f32(4, DIMS(1, 1, 5, 5));
    tb_model *b = conv_model(x, 4, DIMS(1, 1, 3, 3), (const float[]){1, 1, 1, 1, 1, 1, 1, 1, 1}, NULL, &n);
    ATTR_INTS(b, n, "strides", 2, 2);
    EXPECT_F32(run1(b, 1, &x), 4, DIMS(1, 1, 2, 2), 54, 72, 144, 162);
}

Test(ops, conv2d_pads_and_strides)
{
    /* Sobel-like kernel over arange(25) as 5x5, pads 1, stride 2 -> 3x3 */
    Onnx__NodeProto *n;
    loom_tensor *x = iota_f32(4, DIMS(1, 1, 5, 5));
    tb_model *b = conv_model(x, 4, DIMS(1, 1, 3, 3), (const float[]){1, 0, -1, 2, 0, -2, 1, 0, -1}, NULL, &n);
    ATTR_INTS(b, n, "pads", 1, 1, 1, 1);
    ATTR_INTS(b, n, "strides", 2, 2);
    EXPECT_F32(run1(b, 1, &x), 4, DIMS(1, 1, 3, 3), -8, -6, 14, -44, -8, 52, -58, -6, 64);
}

Test(ops, conv2d_dilations)
{
    /* 2x2 kernel dilated by 2 spans 3x3: y[i,j] = x[i,j] + 2x[i,j+2] +
     * 3x[i+2,j] + 4x[i+2,j+2] on arange(25) as 5x5 */
    Onnx__NodeProto *n;
    loom_tensor *x = iota_f32(4, DIMS(1, 1, 5, 5));
    tb_model *b = conv_model(x, 4, DIMS(1, 1, 2, 2), (const float[]){1, 2, 3, 4}, NULL, &n);
    ATTR_INTS(b, n, "dilations", 2, 2);
    EXPECT_F32(run1(b, 1, &x), 4, DIMS(1, 1, 3, 3), 82, 92, 102, 132, 142, 152, 182, 192, 202);
}

Test(ops, conv2d_group2)
{
    /* 4 input channels (1..16), 2 groups of 2: out 0 = ch0 + ch1,
     * out 1 = ch2 - ch3 */
    Onnx__NodeProto *n;
    loom_tensor *x = T_F32(4, DIMS(1, 4, 2, 2), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
    tb_model *b = conv_model(x, 4, DIMS(2, 2, 1, 1), (const float[]){1, 1, 1, -1}, NULL, &n);
    tb_attr_int(b, n, "group", 2);
    EXPECT_F32(run1(b, 1, &x), 4, DIMS(1, 2, 2, 2), 6, 8, 10, 12, -4, -4, -4, -4);
}

Test(ops, conv2d_depthwise)
{
    /* group = channels = 2; ch0 (0..8) with [[1,0],[0,1]] gives
     * x[i,j] + x[i+1,j+1]; ch1 (9..17) with [[0,1],[-1,0]] gives
     * x[i,j+1] - x[i+1,j] = (v + 1) - (v + 3) = -2 */
    Onnx__NodeProto *n;
    loom_tensor *x = iota_f32(4, DIMS(1, 2, 3, 3));
    tb_model *b = conv_model(x, 4, DIMS(2, 1, 2, 2), (const float[]){1, 0, 0, 1, 0, 1, -1, 0}, NULL, &n);
    tb_attr_int(b, n, "group", 2);
    EXPECT_F32(run1(b, 1, &x), 4, DIMS(1, 2, 2, 2), 4, 6, 10, 12, -2, -2, -2, -2);
}

Test(ops, conv2d_bias_batch2_two_out_channels)
{
    /* 1x1 kernels [2] and [-1], bias [0.5, 10]: 2x + 0.5 and 10 - x */
    Onnx__NodeProto *n;
    loom_tensor *x = T_F32(4, DIMS(2, 1, 2, 2), 1, 2, 3, 4, 5, 6, 7, 8);
    tb_model *b = conv_model(x, 4, DIMS(2, 1, 1, 1), (const float[]){2, -1}, (const float[]){0.5, 10}, &n);
    EXPECT_F32(run1(b, 1, &x), 4, DIMS(2, 2, 2, 2), 2.5, 4.5, 6.5, 8.5, 9, 8, 7, 6, 10.5, 12.5, 14.5, 16.5, 5,
               4, 3, 2);
}

Test(ops, conv1d_pads)
{
    /* 2 channels of length 5, kernel [1,0,-1] on ch0 and [1,1,1] on ch1,
     * pads 1: y[t] = x0[t-1] - x0[t+1] + x1[t-1] + x1[t] + x1[t+1] */
    Onnx__NodeProto *n;
    loom_tensor *x = T_F32(3, DIMS(1, 2, 5), 1, 2, 3, 4, 5, 0, 1, 0, 1, 0);
    tb_model *b = conv_model(x, 3, DIMS(1, 2, 3), (const float[]){1, 0, -1, 1, 1, 1}, NULL, &n);
    ATTR_INTS(b, n, "pads", 1, 1);
    EXPECT_F32(run1(b, 1, &x), 3, DIMS(1, 1, 5), -1, -1, 0, -1, 5);
}

Test(ops, conv2d_auto_pad_same_upper)
{
    /* 4x4 input, 3x3 kernel, stride 2: output ceil(4/2) = 2, total pad
     * (2-1)*2 + 3 - 4 = 1 per dim, all of it at the end (SAME_UPPER) */
    Onnx__NodeProto *n;
    loom_tensor *x = iota_f32(4, DIMS(1, 1, 4, 4));
    tb_model *b = conv_model(x, 4, DIMS(1, 1, 3, 3), (const float[]){1, 2, 1, 0, 1, 0, 1, 2, 1}, NULL, &n);
    tb_attr_string(b, n, "auto_pad", "SAME_UPPER");
    ATTR_INTS(b, n, "strides", 2, 2);
    EXPECT_F32(run1(b, 1, &x), 4, DIMS(1, 1, 2, 2), 45, 47, 49, 47);
}

Test(ops, conv2d_auto_pad_same_lower)
{
    /* as above with the pad at the beginning */
    Onnx__NodeProto *n;
    loom_tensor *x = iota_f32(4, DIMS(1, 1, 4, 4));
    tb_model *b = conv_model(x, 4, DIMS(1, 1, 3, 3), (const float[]){1, 2, 1, 0, 1, 0, 1, 2, 1}, NULL, &n);
    tb_attr_string(b, n, "auto_pad", "SAME_LOWER");
    ATTR_INTS(b, n, "strides", 2, 2);
    EXPECT_F32(run1(b, 1, &x), 4, DIMS(1, 1, 2, 2), 13, 26, 58, 90);
}

/* ------------------------------------------------------------------------ */
/* Pooling                                                                   */
/* ------------------------------------------------------------------------ */

static tb_model *pool_model(const char *op, loom_tensor *x, int64_t k, int64_t s, Onnx__NodeProto **node)
{
    tb_model *b = single(13, op, 1, &x, node);
    ATTR_INTS(b, *node, "kernel_shape", k, k);
    ATTR_INTS(b, *node, "strides", s, s);
    return b;
}

Test(ops, maxpool_2x2_stride2)
{
    /* channel 1 is minus channel 0 */
    Onnx__NodeProto *n;
    loom_tensor *x = T_F32(4, DIMS(1, 2, 4, 4), 1, 5, 2, 0, 3, -1, 7, 4, 9, 8, -2, 6, 0, 2, 3, 11, -1, -5, -2,
                           0, -3, 1, -7, -4, -9, -8, 2, -6, 0, -2, -3, -11);
    tb_model *b = pool_model("MaxPool", x, 2, 2, &n);
    EXPECT_F32_EXACT(run1(b, 1, &x), 4, DIMS(1, 2, 2, 2), 5, 7, 9, 11, 1, 0, 0, 2);
}

Test(ops, maxpool_odd_size_floor_and_ceil_mode)
{
    /* arange(25) as 5x5, kernel 2 stride 2: floor mode gives 2x2;
     * ceil_mode=1 gives 3x3 with clipped last windows (x[1,4] = 9,
     * x[4,1] = 21, ...) */
    Onnx__NodeProto *n;
    loom_tensor *x = iota_f32(4, DIMS(1, 1, 5, 5)), *x2 = iota_f32(4, DIMS(1, 1, 5, 5));
    tb_model *b = pool_model("MaxPool", x, 2, 2, &n);
    EXPECT_F32_EXACT(run1(b, 1, &x), 4, DIMS(1, 1, 2, 2), 6, 8, 16, 18);
    b = pool_model("MaxPool", x2, 2, 2, &n);
    tb_attr_int(b, n, "ceil_mode", 1);
    EXPECT_F32_EXACT(run1(b, 1, &x2), 4, DIMS(1, 1, 3, 3), 6, 8, 9, 16, 18, 19, 21, 23, 24);
}

Test(ops, maxpool_pads_are_not_zeros)
{
    /* all-negative input: a zero pad would win every window */
    Onnx__NodeProto *n;
    loom_tensor *x = T_F32(4, DIMS(1, 1, 3, 3), -1, -2, -3, -4, -5, -6, -7, -8, -9);
    tb_model *b = pool_model("MaxPool", x, 3, 1, &n);
    ATTR_INTS(b, n, "pads", 1, 1, 1, 1);
    EXPECT_F32_EXACT(run1(b, 1, &x), 4, DIMS(1, 1, 3, 3), -1, -1, -2, -1, -1, -2, -4, -4, -5);
}

Test(ops, avgpool_2x2_stride2)
{
    Onnx__NodeProto *n;
    loom_tensor *x = iota_f32(4, DIMS(1, 1, 4, 4));
    tb_model *b = pool_model("AveragePool", x, 2, 2, &n);
    EXPECT_F32(run1(b, 1, &x), 4, DIMS(1, 1, 2, 2), 2.5, 4.5, 10.5, 12.5);
}

Test(ops, avgpool_pads_count_include_pad_0)
{
    /* 3x3 windows over 1..9 with pads 1; divide by the real elements:
     * corner (1+2+4+5)/4 = 3, edge (1+2+3+4+5+6)/6 = 3.5 */
    Onnx__NodeProto *n;
    loom_tensor *x = T_F32(4, DIMS(1, 1, 3, 3), 1, 2, 3, 4, 5, 6, 7, 8, 9);
    tb_model *b = pool_model("AveragePool", x, 3, 1, &n);
    ATTR_INTS(b, n, "pads", 1, 1, 1, 1);
    tb_attr_int(b, n, "count_include_pad", 0);
    EXPECT_F32(run1(b, 1, &x), 4, DIMS(1, 1, 3, 3), 3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7);
}

Test(ops, avgpool_pads_count_include_pad_1)
{
    /* same windows, always divided by 9: 12/9, 21/9, 16/9, ... */
    Onnx__NodeProto *n;
    loom_tensor *x = T_F32(4, DIMS(1, 1, 3, 3), 1, 2, 3, 4, 5, 6, 7, 8, 9);
    tb_model *b = pool_model("AveragePool", x, 3, 1, &n);
    ATTR_INTS(b, n, "pads", 1, 1, 1, 1);
    tb_attr_int(b, n, "count_include_pad", 1);
    EXPECT_F32(run1(b, 1, &x), 4, DIMS(1, 1, 3, 3), 1.33333333, 2.33333333, 1.77777778, 3, 5, 3.66666667,
               2.66666667, 4.33333333, 3.11111111);
}

Test(ops, global_average_pool)
{
    /* channel means: (1+...+6)/6 = 3.5 and (-3 + 15)/6 = 2 */
    loom_tensor *x = T_F32(4, DIMS(1, 2, 2, 3), 1, 2, 3, 4, 5, 6, -1, -1, -1, 5, 5, 5);
    EXPECT_F32(unary("GlobalAveragePool", x), 4, DIMS(1, 2, 1, 1), 3.5, 2);
}

/* ------------------------------------------------------------------------ */
/* Pad (opset 13: pads and constant_value are inputs). x = [[1,2,3],[4,5,6]] */
/* pads are [begin dim0, begin dim1, end dim0, end dim1].                   */
/* ------------------------------------------------------------------------ */

static loom_tensor *pad(const char *mode, const int64_t *pads, const float *value)
{
    tb_model *b = tb_new(13);
    loom_tensor *x = T_F32(2, DIMS(2, 3), 1, 2, 3, 4, 5, 6);
    Onnx__NodeProto *n;
    input_like(b, "x", x);
    tb_init(b, "pads", LOOM_I64, 1, DIMS(4), pads);
    if (value)
        tb_init(b, "value", LOOM_F32, 0, NULL, value);
    n = tb_node(b, "Pad", value ? "x,pads,value" : "x,pads", "y");
    if (mode)
        tb_attr_string(b, n, "mode", mode);
    tb_output(b, "y");
    return run1(b, 1, &x);
}

Test(ops, pad_constant_value_input)
{
    loom_tensor *y = pad("constant", DIMS(0, 1, 1, 2), (const float[]){9.5});
    EXPECT_F32_EXACT(y, 2, DIMS(3, 6), 9.5, 1, 2, 3, 9.5, 9.5, 9.5, 4, 5, 6, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5,
                     9.5);
}

Test(ops, pad_default_mode_and_value_is_zero)
{
    EXPECT_F32_EXACT(pad(NULL, DIMS(1, 0, 0, 0), NULL), 2, DIMS(3, 3), 0, 0, 0, 1, 2, 3, 4, 5, 6);
}

Test(ops, pad_reflect)
{
    /* numpy.pad(x, [(1,1),(2,2)], 'reflect'): the edge is not repeated */
    EXPECT_F32_EXACT(pad("reflect", DIMS(1, 2, 1, 2), NULL), 2, DIMS(4, 7), 6, 5, 4, 5, 6, 5, 4, 3, 2, 1, 2, 3,
                     2, 1, 6, 5, 4, 5, 6, 5, 4, 3, 2, 1, 2, 3, 2, 1);
}

Test(ops, pad_edge)
{
    /* numpy.pad(x, [(1,0),(1,2)], 'edge') */
    EXPECT_F32_EXACT(pad("edge", DIMS(1, 1, 0, 2), NULL), 2, DIMS(3, 6), 1, 1, 2, 3, 3, 3, 1, 1, 2, 3, 3, 3, 4,
                     4, 5, 6, 6, 6);
}

Test(ops, pad_negative_pads_crop)
{
    /* dim 0 drops its last row; dim 1 drops its first column and gains a
     * zero column at the end */
    EXPECT_F32_EXACT(pad("constant", DIMS(0, -1, -1, 1), NULL), 2, DIMS(1, 3), 2, 3, 0);
}

Test(ops, pad_opset10_attributes)
{
    Onnx__NodeProto *n;
    loom_tensor *x = T_F32(2, DIMS(2, 3), 1, 2, 3, 4, 5, 6);
    tb_model *b = single(10, "Pad", 1, &x, &n);
    ATTR_INTS(b, n, "pads", 1, 0, 0, 1);
    tb_attr_float(b, n, "value", 7);
    EXPECT_F32_EXACT(run1(b, 1, &x), 2, DIMS(3, 4), 7, 7, 7, 7, 1, 2, 3, 7, 4, 5, 6, 7);
}

/* ------------------------------------------------------------------------ */
/* Flatten, Reshape, Transpose, Concat, Split                                */
/* ------------------------------------------------------------------------ */

/* Check that t is 0, 1, 2, ... in the given shape (a pure re-view). */
static void expect_iota(loom_tensor *t, int rank, const int64_t *dims)
{
    float want[64];
    int64_t n = 1;
    for (int d = 0; d < rank; d++)
        n *= dims[d];
    cr_assert_leq(n, 64);
    for (int64_t i = 0; i < n; i++)
        want[i] = (float)i;
    expect_f32(t, rank, dims, want, (size_t)n, true);
}

Test(ops, flatten_axis_0_1_minus1)
{
    tb_model *b = tb_new(13);
    loom_tensor *x = iota_f32(3, DIMS(2, 3, 4));
    loom_tensor *outs[3];
    Onnx__NodeProto *n;
    input_like(b, "x", x);
    n = tb_node(b, "Flatten", "x", "f0");
    tb_attr_int(b, n, "axis", 0);
    tb_node(b, "Flatten", "x", "f1"); /* default axis 1 */
    n = tb_node(b, "Flatten", "x", "fm1");
    tb_attr_int(b, n, "axis", -1);
    tb_output(b, "f0");
    tb_output(b, "f1");
    tb_output(b, "fm1");
    run_ok(b, 1, &x, 3, outs);
    expect_iota(outs[0], 2, DIMS(1, 24));
    expect_iota(outs[1], 2, DIMS(2, 12));
    expect_iota(outs[2], 2, DIMS(6, 4));
}

Test(ops, reshape_zero_copies_dim_and_minus1_infers)
{
    /* [2,3,4]: [0,-1] -> [2,12]; [4,0,-1] -> [4,3,2] (0 copies dim 1) */
    tb_model *b = tb_new(13);
    loom_tensor *x = iota_f32(3, DIMS(2, 3, 4));
    loom_tensor *outs[2];
    input_like(b, "x", x);
    INIT_INTS(b, "s1", 0, -1);
    INIT_INTS(b, "s2", 4, 0, -1);
    tb_node(b, "Reshape", "x,s1", "y1");
    tb_node(b, "Reshape", "x,s2", "y2");
    tb_output(b, "y1");
    tb_output(b, "y2");
    run_ok(b, 1, &x, 2, outs);
    expect_iota(outs[0], 2, DIMS(2, 12));
    expect_iota(outs[1], 3, DIMS(4, 3, 2));
}

Test(ops, transpose_default_reverses_dims)
{
    /* numpy arange(24).reshape(2,3,4).transpose(): y[k,j,i] = 12i + 4j + k */
    loom_tensor *y = unary("Transpose", iota_f32(3, DIMS(2, 3, 4)));
    EXPECT_F32_EXACT(y, 3, DIMS(4, 3, 2), 0, 12, 4, 16, 8, 20, 1, 13, 5, 17, 9, 21, 2, 14, 6, 18, 10, 22, 3, 15,
                     7, 19, 11, 23);
}

Test(ops, transpose_perm_int64)
{
    /* arange(12).reshape(2,3,2).transpose(1,0,2) */
    Onnx__NodeProto *n;
    loom_tensor *x = T_I64(3, DIMS(2, 3, 2), 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
    tb_model *b = single(13, "Transpose", 1, &x, &n);
    ATTR_INTS(b, n, "perm", 1, 0, 2);
    EXPECT_I64(run1(b, 1, &x), 3, DIMS(3, 2, 2), 0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11);
}

Test(ops, concat_axis0_three_inputs)
{
    Onnx__NodeProto *n;
    loom_tensor *ins[3] = {T_F32(2, DIMS(1, 3), 1, 2, 3), T_F32(2, DIMS(2, 3), 4, 5, 6, 7, 8, 9),
                           T_F32(2, DIMS(1, 3), 10, 11, 12)};
    tb_model *b = single(13, "Concat", 3, ins, &n);
    tb_attr_int(b, n, "axis", 0);
    EXPECT_F32_EXACT(run1(b, 3, ins), 2, DIMS(4, 3), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
}

Test(ops, concat_axis_minus1_int64)
{
    Onnx__NodeProto *n;
    loom_tensor *ins[2] = {T_I64(2, DIMS(2, 1), 1, 2), T_I64(2, DIMS(2, 3), 10, 11, 12, 20, 21, 22)};
    tb_model *b = single(13, "Concat", 2, ins, &n);
    tb_attr_int(b, n, "axis", -1);
    EXPECT_I64(run1(b, 2, ins), 2, DIMS(2, 4), 1, 10, 11, 12, 2, 20, 21, 22);
}

Test(ops, split_equal_parts_axis1)
{
    tb_model *b = tb_new(13);
    loom_tensor *x = iota_f32(2, DIMS(2, 6));
    loom_tensor *outs[3];
    Onnx__NodeProto *n;
    input_like(b, "x", x);
    n = tb_node(b, "Split", "x", "a,b,c");
    tb_attr_int(b, n, "axis", 1);
    tb_output(b, "a");
    tb_output(b, "b");
    tb_output(b, "c");
    run_ok(b, 1, &x, 3, outs);
    EXPECT_F32_EXACT(outs[0], 2, DIMS(2, 2), 0, 1, 6, 7);
    EXPECT_F32_EXACT(outs[1], 2, DIMS(2, 2), 2, 3, 8, 9);
    EXPECT_F32_EXACT(outs[2], 2, DIMS(2, 2), 4, 5, 10, 11);
}

Test(ops, split_sizes_input_opset13)
{
    tb_model *b = tb_new(13);
    loom_tensor *x = iota_f32(2, DIMS(5, 2));
    loom_tensor *outs[2];
    input_like(b, "x", x);
    INIT_INTS(b, "sizes", 2, 3);
    tb_node(b, "Split", "x,sizes", "a,b");
    tb_output(b, "a");
    tb_output(b, "b");
    run_ok(b, 1, &x, 2, outs);
    EXPECT_F32_EXACT(outs[0], 2, DIMS(2, 2), 0, 1, 2, 3);
    EXPECT_F32_EXACT(outs[1], 2, DIMS(3, 2), 4, 5, 6, 7, 8, 9);
}

Test(ops, split_sizes_attribute_opset11)
{
    tb_model *b = tb_new(11);
    loom_tensor *x = iota_f32(1, DIMS(6));
    loom_tensor *outs[3];
    Onnx__NodeProto *n;
    input_like(b, "x", x);
    n = tb_node(b, "Split", "x", "a,b,c");
    ATTR_INTS(b, n, "split", 1, 2, 3);
    tb_output(b, "a");
    tb_output(b, "b");
    tb_output(b, "c");
    run_ok(b, 1, &x, 3, outs);
    EXPECT_F32_EXACT(outs[0], 1, DIMS(1), 0);
    EXPECT_F32_EXACT(outs[1], 1, DIMS(2), 1, 2);
    EXPECT_F32_EXACT(outs[2], 1, DIMS(3), 3, 4, 5);
}

/* ------------------------------------------------------------------------ */
/* Slice (opset 13: starts, ends, axes, steps are inputs)                    */
/* ------------------------------------------------------------------------ */

/* x (a graph input) sliced with the given 1-D int64 initializers; axes and
 * steps may be NULL (omitted). */
static loom_tensor *slice(loom_tensor *x, size_t n, const int64_t *starts, const int64_t *ends,
                          const int64_t *axes, const int64_t *steps)
{
    tb_model *b = tb_new(13);
    const int64_t *d = DIMS((int64_t)n);
    input_like(b, "x", x);
    tb_init(b, "starts", LOOM_I64, 1, d, starts);
    tb_init(b, "ends", LOOM_I64, 1, d, ends);
    if (axes)
        tb_init(b, "axes", LOOM_I64, 1, d, axes);
    if (steps)
        tb_init(b, "steps", LOOM_I64, 1, d, steps);
    tb_node(b, "Slice", steps ? "x,starts,ends,axes,steps" : axes ? "x,starts,ends,axes" : "x,starts,ends", "y");
    tb_output(b, "y");
    return run1(b, 1, &x);
}

#define X5 T_F32(1, DIMS(5), 10, 11, 12, 13, 14)

Test(ops, slice_negative_start_int64_max_end)
{
    EXPECT_F32_EXACT(slice(X5, 1, DIMS(-3), DIMS(INT64_MAX), NULL, NULL), 1, DIMS(3), 12, 13, 14);
}

Test(ops, slice_step_2)
{
    EXPECT_F32_EXACT(slice(X5, 1, DIMS(0), DIMS(INT64_MAX), DIMS(0), DIMS(2)), 1, DIMS(3), 10, 12, 14);
}

Test(ops, slice_step_minus1_reverses)
{
    /* x[::-1] as exported: start -1, end INT64_MIN, step -1 */
    EXPECT_F32_EXACT(slice(X5, 1, DIMS(-1), DIMS(INT64_MIN), DIMS(0), DIMS(-1)), 1, DIMS(5), 14, 13, 12, 11,
                     10);
}

Test(ops, slice_step_minus2_clamps_out_of_range_bounds)
{
    /* x[10:-10:-2] on 5 elements = x[4::-2] */
    EXPECT_F32_EXACT(slice(X5, 1, DIMS(10), DIMS(-10), DIMS(0), DIMS(-2)), 1, DIMS(3), 14, 12, 10);
}

Test(ops, slice_axes_subset)
{
    /* arange(12) as [3,4], columns 1:-1 only */
    EXPECT_F32_EXACT(slice(iota_f32(2, DIMS(3, 4)), 1, DIMS(1), DIMS(-1), DIMS(1), NULL), 2, DIMS(3, 2), 1, 2,
                     5, 6, 9, 10);
}

Test(ops, slice_negative_axes_and_steps_2d)
{
    /* numpy arange(12).reshape(3,4)[2:-4:-1, 3:0:-2] (axes given as 0, -1) */
    EXPECT_F32_EXACT(slice(iota_f32(2, DIMS(3, 4)), 2, DIMS(2, 3), DIMS(-4, 0), DIMS(0, -1), DIMS(-1, -2)), 2,
                     DIMS(3, 2), 11, 9, 7, 5, 3, 1);
}

/* Steps far beyond the dim take one element; found by the fuzzer
 * (step * stride overflowed int64 in the kernel). */
Test(ops, slice_huge_steps_take_one_element)
{
    EXPECT_F32_EXACT(slice(iota_f32(2, DIMS(3, 4)), 2, DIMS(1, 2), DIMS(INT64_MAX, INT64_MAX), DIMS(0, 1),
                           DIMS(INT64_MAX, INT64_MAX)),
                     2, DIMS(1, 1), 6);
    EXPECT_F32_EXACT(slice(X5, 1, DIMS(-1), DIMS(INT64_MIN), DIMS(0), DIMS(INT64_MIN + 1)), 1, DIMS(1), 14);
}

/* A reversing slice of an empty axis is empty; found by the fuzzer (the
 * start clamp into [0, dim - 1] gave one element of nothing). */
Test(ops, slice_reversed_empty_axis_is_empty)
{
    loom_tensor *y = slice(mk(LOOM_F32, 2, DIMS(0, 2), NULL, 0), 1, DIMS(-1), DIMS(INT64_MIN + 1), DIMS(0),
                           DIMS(-1));
    expect_shape(y, LOOM_F32, 2, DIMS(0, 2));
    loom_tensor_free(y);
}

Test(ops, slice_start_past_end_is_empty)
{
    loom_tensor *y = slice(X5, 1, DIMS(10), DIMS(20), NULL, NULL);
    expect_shape(y, LOOM_F32, 1, DIMS(0));
    loom_tensor_free(y);
}

Test(ops, slice_opset9_attributes)
{
    Onnx__NodeProto *n;
    loom_tensor *x = T_F32(2, DIMS(2, 3), 1, 2, 3, 4, 5, 6);
    tb_model *b = single(9, "Slice", 1, &x, &n);
    ATTR_INTS(b, n, "starts", 1);
    ATTR_INTS(b, n, "ends", 1000);
    ATTR_INTS(b, n, "axes", 1);
    EXPECT_F32_EXACT(run1(b, 1, &x), 2, DIMS(2, 2), 2, 3, 5, 6);
}

/* ------------------------------------------------------------------------ */
/* Gather                                                                    */
/* ------------------------------------------------------------------------ */

/* data (graph input) gathered with an int64 initializer of indices. */
static tb_model *gather_model(loom_tensor *data, int idx_rank, const int64_t *idx_dims, const int64_t *idx,
                              int64_t axis)
{
    tb_model *b = tb_new(13);
    Onnx__NodeProto *n;
    input_like(b, "data", data);
    tb_init(b, "idx", LOOM_I64, idx_rank, idx_dims, idx);
    n = tb_node(b, "Gather", "data,idx", "y");
    tb_attr_int(b, n, "axis", axis);
    tb_output(b, "y");
    return b;
}

Test(ops, gather_axis0_negative_indices)
{
    /* rows of [[1,2],[3,4],[5,6]] picked by [[2,-3],[-1,1]] = rows 2,0,2,1 */
    loom_tensor *x = T_F32(2, DIMS(3, 2), 1, 2, 3, 4, 5, 6);
    tb_model *b = gather_model(x, 2, DIMS(2, 2), DIMS(2, -3, -1, 1), 0);
    EXPECT_F32_EXACT(run1(b, 1, &x), 3, DIMS(2, 2, 2), 5, 6, 1, 2, 5, 6, 3, 4);
}

Test(ops, gather_axis1_negative_indices)
{
    /* columns -1 (= 2) and 1 of [[1,2,3],[4,5,6]] */
    loom_tensor *x = T_F32(2, DIMS(2, 3), 1, 2, 3, 4, 5, 6);
    tb_model *b = gather_model(x, 1, DIMS(2), DIMS(-1, 1), 1);
    EXPECT_F32_EXACT(run1(b, 1, &x), 2, DIMS(2, 2), 3, 2, 6, 5);
}

Test(ops, gather_0d_index_drops_the_axis)
{
    loom_tensor *x = T_F32(2, DIMS(3, 2), 1, 2, 3, 4, 5, 6);
    tb_model *b = gather_model(x, 0, NULL, DIMS(-2), 0);
    EXPECT_F32_EXACT(run1(b, 1, &x), 1, DIMS(2), 3, 4);
}

Test(ops, gather_index_out_of_range_is_an_error)
{
    /* 3 and -4 are both outside [-3, 3) */
    loom_tensor *x = T_F32(2, DIMS(3, 2), 1, 2, 3, 4, 5, 6);
    loom_status st = run_status(gather_model(x, 1, DIMS(2), DIMS(0, 3), 0), 1, &x);
    cr_assert_neq(st, LOOM_OK, "index 3 on a dim of 3 was accepted");
    x = T_F32(2, DIMS(3, 2), 1, 2, 3, 4, 5, 6);
    st = run_status(gather_model(x, 1, DIMS(1), DIMS(-4), 0), 1, &x);
    cr_assert_neq(st, LOOM_OK, "index -4 on a dim of 3 was accepted");
}

/* ------------------------------------------------------------------------ */
/* Squeeze, Unsqueeze, Expand, Identity, Dropout                             */
/* ------------------------------------------------------------------------ */

Test(ops, squeeze_opset13_axes_input)
{
    tb_model *b = tb_new(13);
    loom_tensor *x = iota_f32(4, DIMS(1, 3, 1, 2));
    input_like(b, "x", x);
    INIT_INTS(b, "axes", 0, -2);
    tb_node(b, "Squeeze", "x,axes", "y");
    tb_output(b, "y");
    expect_iota(run1(b, 1, &x), 2, DIMS(3, 2));
}

Test(ops, squeeze_opset11_axes_attribute)
{
    Onnx__NodeProto *n;
    loom_tensor *x = iota_f32(4, DIMS(1, 3, 1, 2));
    tb_model *b = single(11, "Squeeze", 1, &x, &n);
    ATTR_INTS(b, n, "axes", 2);
    expect_iota(run1(b, 1, &x), 3, DIMS(1, 3, 2));
}

Test(ops, squeeze_without_axes_drops_all_ones)
{
    loom_tensor *x = iota_f32(4, DIMS(1, 3, 1, 2));
    expect_iota(unary("Squeeze", x), 2, DIMS(3, 2));
}

Test(ops, unsqueeze_opset13_axes_input)
{
    /* axes index the output (rank 4): -1 is the last */
    tb_model *b = tb_new(13);
    loom_tensor *x = iota_f32(2, DIMS(2, 3));
    input_like(b, "x", x);
    INIT_INTS(b, "axes", 0, -1);
    tb_node(b, "Unsqueeze", "x,axes", "y");
    tb_output(b, "y");
    expect_iota(run1(b, 1, &x), 4, DIMS(1, 2, 3, 1));
}

Test(ops, unsqueeze_opset11_axes_attribute)
{
    Onnx__NodeProto *n;
    loom_tensor *x = iota_f32(2, DIMS(2, 3));
    tb_model *b = single(11, "Unsqueeze", 1, &x, &n);
    ATTR_INTS(b, n, "axes", 1);
    expect_iota(run1(b, 1, &x), 3, DIMS(2, 1, 3));
}

Test(ops, expand_adds_and_broadcasts_dims)
{
    /* [3,1] to [2,1,4] -> [2,3,4]: each value repeated along the last dim,
     * the whole repeated twice */
    tb_model *b = tb_new(13);
    loom_tensor *x = T_F32(2, DIMS(3, 1), 1, 2, 3);
    input_like(b, "x", x);
    INIT_INTS(b, "shape", 2, 1, 4);
    tb_node(b, "Expand", "x,shape", "y");
    tb_output(b, "y");
    EXPECT_F32_EXACT(run1(b, 1, &x), 3, DIMS(2, 3, 4), 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 1, 1, 1, 1, 2, 2, 2,
                     2, 3, 3, 3, 3);
}

Test(ops, identity_int64)
{
    EXPECT_I64(unary("Identity", T_I64(2, DIMS(2, 2), 1, -2, 3, INT64_MIN)), 2, DIMS(2, 2), 1, -2, 3, INT64_MIN);
}

Test(ops, dropout_inference_is_identity)
{
    tb_model *b = tb_new(13);
    loom_tensor *x = T_F32(2, DIMS(2, 2), 1.5, -2, 0, 4);
    input_like(b, "x", x);
    INIT_F32(b, "ratio", 0, NULL, 0.5);
    tb_node(b, "Dropout", "x,ratio", "y");
    tb_output(b, "y");
    EXPECT_F32_EXACT(run1(b, 1, &x), 2, DIMS(2, 2), 1.5, -2, 0, 4);
}

Test(ops, dropout_mask_output_is_all_true)
{
    tb_model *b = tb_new(13);
    loom_tensor *x = T_F32(1, DIMS(3), 1, 2, 3);
    loom_tensor *outs[2];
    input_like(b, "x", x);
    INIT_F32(b, "ratio", 0, NULL, 0.25);
    tb_init(b, "training", LOOM_BOOL, 0, NULL, (const uint8_t[]){0});
    tb_node(b, "Dropout", "x,ratio,training", "y,mask");
    tb_output(b, "y");
    tb_output(b, "mask");
    run_ok(b, 1, &x, 2, outs);
    EXPECT_F32_EXACT(outs[0], 1, DIMS(3), 1, 2, 3);
    EXPECT_BOOL(outs[1], 1, DIMS(3), 1, 1, 1);
}

/* ------------------------------------------------------------------------ */
/* Cast                                                                      */
/* ------------------------------------------------------------------------ */

static loom_tensor *cast(loom_tensor *x, loom_dtype to)
{
    Onnx__NodeProto *n;
    tb_model *b = single(13, "Cast", 1, &x, &n);
    tb_attr_int(b, n, "to", to);
    return run1(b, 1, &x);
}

Test(ops, cast_float_to_int32_truncates_toward_zero)
{
    EXPECT_I32(cast(T_F32(1, DIMS(8), 2.7, -2.7, -0.5, 0.5, 100.99, -100.99, 0, 1e6), LOOM_I32), 1, DIMS(8), 2, -2,
               0, 0, 100, -100, 0, 1000000);
}

Test(ops, cast_float_to_bool)
{
    /* nonzero (NaN and inf included) is true; -0 is false */
    EXPECT_BOOL(cast(T_F32(1, DIMS(6), 0, -0.0, 0.1, -3, NAN, INFINITY), LOOM_BOOL), 1, DIMS(6), 0, 0, 1, 1, 1, 1);
}

Test(ops, cast_int64_to_float_rounds_to_nearest)
{
    /* 2^24 + 1 -> 2^24 (tie to even), 2^40 + 1 -> 2^40, -(2^53 + 1) -> -2^53 */
    EXPECT_F32_EXACT(cast(T_I64(1, DIMS(5), -3, 0, 16777217, 1099511627777, -9007199254740993), LOOM_F32), 1,
                     DIMS(5), -3, 0, 16777216, 1099511627776, -9007199254740992);
}

/* ------------------------------------------------------------------------ */
/* Constant, ConstantOfShape, Shape, Range (outputs of the graph directly)  */
/* ------------------------------------------------------------------------ */

Test(ops, constant_value_tensor_float_ints_and_int)
{
    tb_model *b = tb_new(13);
    loom_tensor *outs[4];
    Onnx__NodeProto *n;
    n = tb_node(b, "Constant", "", "c1");
    tb_attr_tensor(b, n, "value", tb_tensor(b, "", LOOM_I64, 2, DIMS(2, 2), (const int64_t[]){1, 2, 3, -4}));
    n = tb_node(b, "Constant", "", "c2");
    tb_attr_float(b, n, "value_float", 3.25f);
    n = tb_node(b, "Constant", "", "c3");
    ATTR_INTS(b, n, "value_ints", 5, -6, 7);
    n = tb_node(b, "Constant", "", "c4");
    tb_attr_int(b, n, "value_int", -9);
    tb_output(b, "c1");
    tb_output(b, "c2");
    tb_output(b, "c3");
    tb_output(b, "c4");
    run_ok(b, 0, NULL, 4, outs);
    EXPECT_I64(outs[0], 2, DIMS(2, 2), 1, 2, 3, -4);
    EXPECT_F32_EXACT(outs[1], 0, NULL, 3.25);
    EXPECT_I64(outs[2], 1, DIMS(3), 5, -6, 7);
    EXPECT_I64(outs[3], 0, NULL, -9);
}

Test(ops, constant_of_shape_float_value)
{
    tb_model *b = tb_new(13);
    loom_tensor *y;
    Onnx__NodeProto *n;
    INIT_INTS(b, "shape", 2, 3);
    n = tb_node(b, "ConstantOfShape", "shape", "y");
    tb_attr_tensor(b, n, "value", tb_tensor(b, "", LOOM_F32, 1, DIMS(1), (const float[]){1.5f}));
    tb_output(b, "y");
    run_ok(b, 0, NULL, 1, &y);
    EXPECT_F32_EXACT(y, 2, DIMS(2, 3), 1.5, 1.5, 1.5, 1.5, 1.5, 1.5);
}

Test(ops, constant_of_shape_default_zero_and_int64_value)
{
    tb_model *b = tb_new(13);
    loom_tensor *outs[2];
    Onnx__NodeProto *n;
    INIT_INTS(b, "s3", 3);
    INIT_INTS(b, "s2", 2);
    tb_node(b, "ConstantOfShape", "s3", "zeros"); /* no value: float 0 */
    n = tb_node(b, "ConstantOfShape", "s2", "sevens");
    tb_attr_tensor(b, n, "value", tb_tensor(b, "", LOOM_I64, 1, DIMS(1), (const int64_t[]){7}));
    tb_output(b, "zeros");
    tb_output(b, "sevens");
    run_ok(b, 0, NULL, 2, outs);
    EXPECT_F32_EXACT(outs[0], 1, DIMS(3), 0, 0, 0);
    EXPECT_I64(outs[1], 1, DIMS(2), 7, 7);
}

Test(ops, shape_and_shape_start_end_opset15)
{
    tb_model *b = tb_new(15);
    loom_tensor *x = iota_f32(3, DIMS(2, 3, 4));
    loom_tensor *outs[3];
    Onnx__NodeProto *n;
    input_like(b, "x", x);
    tb_node(b, "Shape", "x", "all");
    n = tb_node(b, "Shape", "x", "tail");
    tb_attr_int(b, n, "start", 1);
    n = tb_node(b, "Shape", "x", "mid");
    tb_attr_int(b, n, "start", -2);
    tb_attr_int(b, n, "end", -1);
    tb_output(b, "all");
    tb_output(b, "tail");
    tb_output(b, "mid");
    run_ok(b, 1, &x, 3, outs);
    EXPECT_I64(outs[0], 1, DIMS(3), 2, 3, 4);
    EXPECT_I64(outs[1], 1, DIMS(2), 3, 4);
    EXPECT_I64(outs[2], 1, DIMS(1), 3);
}

Test(ops, range_int64_float_and_negative_delta)
{
    /* ceil((limit - start) / delta) elements */
    tb_model *b = tb_new(11);
    loom_tensor *outs[3];
    INIT_I64(b, "i1", 0, NULL, 1);
    INIT_I64(b, "i10", 0, NULL, 10);
    INIT_I64(b, "i3", 0, NULL, 3);
    INIT_I64(b, "i5", 0, NULL, 5);
    INIT_I64(b, "im2", 0, NULL, -2);
    INIT_F32(b, "f0", 0, NULL, 0);
    INIT_F32(b, "f1", 0, NULL, 1);
    INIT_F32(b, "fq", 0, NULL, 0.25);
    tb_node(b, "Range", "i1,i10,i3", "r1");
    tb_node(b, "Range", "i5,i1,im2", "r2");
    tb_node(b, "Range", "f0,f1,fq", "r3");
    tb_output(b, "r1");
    tb_output(b, "r2");
    tb_output(b, "r3");
    run_ok(b, 0, NULL, 3, outs);
    EXPECT_I64(outs[0], 1, DIMS(3), 1, 4, 7);
    EXPECT_I64(outs[1], 1, DIMS(2), 5, 3);
    EXPECT_F32_EXACT(outs[2], 1, DIMS(4), 0, 0.25, 0.5, 0.75);
}

/* ------------------------------------------------------------------------ */
/* Constant folding                                                          */
/* ------------------------------------------------------------------------ */

Test(ops, folded_shape_chain_feeds_reshape)
{
    /* x.view(x.size(0), -1) as PyTorch exports it: Shape -> Gather(0) ->
     * Unsqueeze -> Concat([-1]) -> Reshape. Everything but the Reshape
     * folds at session creation. */
    tb_model *b = tb_new(13);
    loom_tensor *x = iota_f32(3, DIMS(2, 3, 4));
    loom_model *m = NULL;
    loom_session *s = NULL;
    const loom_tensor *y;
    const float *yd;
    Onnx__NodeProto *n;
    const uint8_t *bytes;
    size_t len;

    input_like(b, "x", x);
    INIT_I64(b, "zero", 0, NULL, 0);
    INIT_INTS(b, "axes0", 0);
    INIT_INTS(b, "minus1", -1);
    tb_node(b, "Shape", "x", "shape");
    tb_node(b, "Gather", "shape,zero", "batch");
    tb_node(b, "Unsqueeze", "batch,axes0", "batch1");
    n = tb_node(b, "Concat", "batch1,minus1", "target");
    tb_attr_int(b, n, "axis", 0);
    tb_node(b, "Reshape", "x,target", "y");
    tb_output(b, "y");
    bytes = tb_pack(b, &len);

    cr_assert_eq(loom_model_load_buffer(bytes, len, "fold.onnx", NULL, NULL, &m), LOOM_OK, "%s",
                 loom_last_error());
    cr_assert_eq(loom_session_create(m, NULL, &s), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(loom_session_node_count(s), 1, "%zu nodes left after folding, expected 1 (Reshape)",
                 loom_session_node_count(s));
    cr_assert_eq(loom_session_set_input(s, "x", x), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(loom_session_run(s), LOOM_OK, "%s", loom_last_error());
    y = loom_session_output_tensor(s, 0);
    expect_shape(y, LOOM_F32, 2, DIMS(2, 12));
    yd = loom_tensor_cdata(y);
    for (int i = 0; i < 24; i++)
        cr_assert_eq(yd[i], (float)i, "element %d is %g", i, yd[i]);
    loom_session_free(s);
    loom_model_free(m);
    loom_tensor_free(x);
    tb_free(b);
}

/* ------------------------------------------------------------------------ */
/* Errors: a status and a message, never a crash                            */
/* ------------------------------------------------------------------------ */

Test(ops, error_add_shapes_do_not_broadcast)
{
    loom_tensor *ins[2] = {iota_f32(2, DIMS(2, 3)), iota_f32(1, DIMS(4))};
    /* the builder names the node "Add_0" */
    expect_fail(single(13, "Add", 2, ins, NULL), 2, ins, LOOM_E_SHAPE, "Add_0", NULL);
}

Test(ops, error_add_dtype_mismatch)
{
    loom_tensor *ins[2] = {iota_f32(1, DIMS(2)), T_I64(1, DIMS(2), 1, 2)};
    expect_fail(single(13, "Add", 2, ins, NULL), 2, ins, LOOM_E_DTYPE, "Add_0", NULL);
}

Test(ops, error_conv_channel_mismatch)
{
    /* 3 input channels, weights made for 2 */
    Onnx__NodeProto *n;
    loom_tensor *x = iota_f32(4, DIMS(1, 3, 4, 4));
    float w[2 * 2 * 3 * 3] = {0};
    tb_model *b = conv_model(x, 4, DIMS(2, 2, 3, 3), w, NULL, &n);
    expect_fail(b, 1, &x, LOOM_E_SHAPE, "Conv_0", NULL);
}

/* Shape arithmetic on sizes from the file (an adversarial run, finding
 * 6): a Conv kernel of 2^40 with dilation 2^31 - 1 (empty weights, so a
 * tiny file) overflowed the window extent and gave an output of
 * [1,0,1101659111431,8]; a zero-size kernel gave an output larger than
 * its input. ONNX kernels have at least one element per spatial dim. */
Test(ops, error_conv_kernel_sizes)
{
    Onnx__NodeProto *n;
    loom_tensor *x = iota_f32(4, DIMS(1, 1, 4, 8));
    tb_model *b = conv_model(x, 4, DIMS(0, 1, (int64_t)1 << 40, 1), NULL, NULL, &n);
    ATTR_INTS(b, n, "dilations", 2147483647, 1);
    expect_fail(b, 1, &x, LOOM_E_MODEL_INVALID, "Conv_0", "spatial dim 0 is 1099511627776");

    x = iota_f32(4, DIMS(1, 1, 4, 4));
    b = conv_model(x, 4, DIMS(2, 1, 0, 3), NULL, NULL, &n);
    expect_fail(b, 1, &x, LOOM_E_MODEL_INVALID, "Conv_0", "spatial dim 0 is 0");

    x = iota_f32(3, DIMS(1, 0, 5));
    b = conv_model(x, 3, DIMS(1, 0, (int64_t)1 << 61), NULL, NULL, &n);
    ATTR_INTS(b, n, "dilations", 3);
    tb_attr_string(b, n, "auto_pad", "SAME_UPPER");
    expect_fail(b, 1, &x, LOOM_E_MODEL_INVALID, "Conv_0", "a kernel dim is 1 to 2^31-1");
}

/* Split sizes that each fit the dim but add up past 2^63 wrapped around
 * to the dim (five times 2^62 of an empty [0, 2^62] constant). */
Test(ops, error_split_sizes_overflow)
{
    tb_model *b = tb_new(11);
    Onnx__NodeProto *n;
    int64_t big = (int64_t)1 << 62;
    tb_init(b, "x", LOOM_F32, 2, DIMS(0, big), NULL);
    n = tb_node(b, "Split", "x", "a,b,c,d,e");
    tb_attr_int(b, n, "axis", 1);
    ATTR_INTS(b, n, "split", big, big, big, big, big);
    tb_output(b, "a");
    expect_fail(b, 0, NULL, LOOM_E_SHAPE, "Split_0", "split size 1 is invalid");
}

/* ConstantOfShape and Range are made while the graph is inferred: a
 * few bytes of model asked for up to 8 GiB before anything read them;
 * now within the memory budget (here LOOM_MAX_MEMORY=256M). */
Test(ops, error_constants_made_at_inference_are_bounded)
{
    tb_model *b = tb_new(13);
    setenv("LOOM_MAX_MEMORY", "256M", 1);
    tb_init(b, "shape", LOOM_I64, 1, DIMS(1), DIMS((int64_t)1 << 27));
    tb_node(b, "ConstantOfShape", "shape", "c");
    tb_node(b, "Shape", "c", "y");
    tb_output(b, "y");
    expect_fail(b, 0, NULL, LOOM_E_LIMIT, "ConstantOfShape", "an output of 134217728 elements needs 512.0 MiB");

    b = tb_new(13);
    tb_init(b, "start", LOOM_I64, 0, NULL, DIMS(0));
    tb_init(b, "limit", LOOM_I64, 0, NULL, DIMS((int64_t)1 << 26));
    tb_init(b, "delta", LOOM_I64, 0, NULL, DIMS(1));
    tb_node(b, "Range", "start,limit,delta", "y");
    tb_output(b, "y");
    expect_fail(b, 0, NULL, LOOM_E_LIMIT, "Range", "over the budget of 256.0 MiB");

    /* just under the limit still folds */
    b = tb_new(13);
    tb_init(b, "shape", LOOM_I64, 1, DIMS(1), DIMS((int64_t)1 << 20));
    tb_node(b, "ConstantOfShape", "shape", "c");
    tb_node(b, "Shape", "c", "y");
    tb_output(b, "y");
    {
        loom_tensor *y = run1(b, 0, NULL);
        cr_assert_eq(((const int64_t *)loom_tensor_cdata(y))[0], (int64_t)1 << 20);
        loom_tensor_free(y);
    }
}

/* LayerNormalization's Scale and B have the normalised dims, not only
 * their element count: [4,3] for dims [3,4] was run as if flattened. */
Test(ops, error_layernorm_scale_shape)
{
    tb_model *b = tb_new(17);
    Onnx__NodeProto *n;
    loom_tensor *x = iota_f32(3, DIMS(2, 3, 4));
    float ones[12];
    for (int i = 0; i < 12; i++)
        ones[i] = 1.0f;
    input_like(b, "x", x);
    tb_init(b, "s", LOOM_F32, 2, DIMS(4, 3), ones);
    n = tb_node(b, "LayerNormalization", "x,s", "y");
    tb_attr_int(b, n, "axis", 1);
    tb_output(b, "y");
    expect_fail(b, 1, &x, LOOM_E_SHAPE, "Scale [4,3]", "normalised dims [3,4]");

    /* the same dims with a leading 1 are fine */
    b = tb_new(17);
    x = iota_f32(3, DIMS(2, 3, 4));
    input_like(b, "x", x);
    tb_init(b, "s", LOOM_F32, 3, DIMS(1, 3, 4), ones);
    n = tb_node(b, "LayerNormalization", "x,s", "y");
    tb_attr_int(b, n, "axis", 1);
    tb_output(b, "y");
    {
        loom_tensor *y = run1(b, 1, &x);
        cr_assert_eq(loom_tensor_numel(y), 24);
        loom_tensor_free(y);
    }
}

Test(ops, error_reshape_wrong_element_count)
{
    tb_model *b = tb_new(13);
    loom_tensor *x = iota_f32(2, DIMS(2, 3));
    input_like(b, "x", x);
    INIT_INTS(b, "shape", 4, 2);
    tb_node(b, "Reshape", "x,shape", "y");
    tb_output(b, "y");
    expect_fail(b, 1, &x, LOOM_E_SHAPE, "Reshape_0", NULL);
}

Test(ops, error_softmax_axis_of_wrong_attribute_type)
{
    Onnx__NodeProto *n;
    loom_tensor *x = iota_f32(2, DIMS(2, 3));
    tb_model *b = single(13, "Softmax", 1, &x, &n);
    tb_attr_float(b, n, "axis", 1.0f);
    expect_fail(b, 1, &x, LOOM_E_MODEL_INVALID, "\"axis\"", "Softmax_0");
}

Test(ops, error_matmul_inner_dims_differ)
{
    loom_tensor *ins[2] = {iota_f32(2, DIMS(2, 3)), iota_f32(2, DIMS(2, 3))};
    expect_fail(single(13, "MatMul", 2, ins, NULL), 2, ins, LOOM_E_SHAPE, "MatMul_0", NULL);
}

Test(ops, error_gemm_bias_does_not_broadcast)
{
    loom_tensor *a;
    Onnx__NodeProto *n;
    tb_model *b = gemm_model(&a, false, false, 1, DIMS(3), (const float[]){1, 2, 3}, &n);
    expect_fail(b, 1, &a, LOOM_E_SHAPE, "Gemm_0", NULL);
}

Test(ops, error_where_condition_not_bool)
{
    loom_tensor *ins[3] = {iota_f32(1, DIMS(2)), iota_f32(1, DIMS(2)), iota_f32(1, DIMS(2))};
    expect_fail(single(13, "Where", 3, ins, NULL), 3, ins, LOOM_E_DTYPE, "Where_0", NULL);
}

Test(ops, error_concat_shapes_differ_off_axis)
{
    Onnx__NodeProto *n;
    loom_tensor *ins[2] = {iota_f32(2, DIMS(2, 3)), iota_f32(2, DIMS(3, 3))};
    tb_model *b = single(13, "Concat", 2, ins, &n);
    tb_attr_int(b, n, "axis", 1);
    expect_fail(b, 2, ins, LOOM_E_SHAPE, "Concat_0", NULL);
}

Test(ops, error_split_uneven)
{
    tb_model *b = tb_new(13);
    loom_tensor *x = iota_f32(1, DIMS(5));
    input_like(b, "x", x);
    tb_node(b, "Split", "x", "a,b");
    tb_output(b, "a");
    tb_output(b, "b");
    expect_fail(b, 1, &x, LOOM_E_SHAPE, "Split_0", NULL);
}

Test(ops, error_slice_zero_step)
{
    tb_model *b = tb_new(13);
    loom_tensor *x = iota_f32(1, DIMS(5));
    input_like(b, "x", x);
    INIT_INTS(b, "starts", 0);
    INIT_INTS(b, "ends", 5);
    INIT_INTS(b, "axes", 0);
    INIT_INTS(b, "steps", 0);
    tb_node(b, "Slice", "x,starts,ends,axes,steps", "y");
    tb_output(b, "y");
    expect_fail(b, 1, &x, LOOM_E_MODEL_INVALID, "Slice_0", NULL);
}

Test(ops, error_unknown_operator)
{
    loom_tensor *x = iota_f32(1, DIMS(2));
    expect_fail(single(13, "NoSuchOp", 1, &x, NULL), 1, &x, LOOM_E_UNSUPPORTED_OP, "NoSuchOp", NULL);
}

/* ------------------------------------------------------------------------ */
/* Regressions from review                                                   */
/* ------------------------------------------------------------------------ */

/* Pad keeps an integer fill value exactly (it went through a double:
 * INT64_MAX came out as INT64_MIN, 2^53 + 1 as 2^53). */
Test(ops, pad_int64_fill_value_is_exact)
{
    tb_model *b = tb_new(13);
    loom_tensor *x = T_I64(1, DIMS(1), 7);
    input_like(b, "x", x);
    tb_init(b, "pads", LOOM_I64, 1, DIMS(2), DIMS(1, 1));
    INIT_I64(b, "v", 0, NULL, INT64_MAX);
    tb_node(b, "Pad", "x,pads,v", "y");
    tb_output(b, "y");
    EXPECT_I64(run1(b, 1, &x), 1, DIMS(3), INT64_MAX, 7, INT64_MAX);

    b = tb_new(13);
    x = T_I64(1, DIMS(1), 7);
    input_like(b, "x", x);
    tb_init(b, "pads", LOOM_I64, 1, DIMS(2), DIMS(0, 1));
    INIT_I64(b, "v", 0, NULL, ((int64_t)1 << 53) + 1);
    tb_node(b, "Pad", "x,pads,v", "y");
    tb_output(b, "y");
    EXPECT_I64(run1(b, 1, &x), 1, DIMS(2), 7, ((int64_t)1 << 53) + 1);
}

Test(ops, pad_value_of_another_dtype_is_an_error)
{
    tb_model *b = tb_new(13);
    loom_tensor *x = T_I64(1, DIMS(1), 7);
    input_like(b, "x", x);
    tb_init(b, "pads", LOOM_I64, 1, DIMS(2), DIMS(1, 1));
    INIT_F32(b, "v", 0, NULL, 0.5);
    tb_node(b, "Pad", "x,pads,v", "y");
    tb_output(b, "y");
    expect_fail(b, 1, &x, LOOM_E_DTYPE, "constant_value", "int64");
}

/* Range needs one dtype for its three inputs, and counts integers exactly
 * (it used doubles: wrong beyond 2^53, UB converting 5e9 to int32). */
Test(ops, range_int64_is_exact_beyond_2_pow_53)
{
    tb_model *b = tb_new(11);
    loom_tensor *out;
    INIT_I64(b, "s", 0, NULL, ((int64_t)1 << 60) + 1);
    INIT_I64(b, "l", 0, NULL, ((int64_t)1 << 60) + 4);
    INIT_I64(b, "d", 0, NULL, 1);
    tb_node(b, "Range", "s,l,d", "r");
    tb_output(b, "r");
    run_ok(b, 0, NULL, 1, &out);
    EXPECT_I64(out, 1, DIMS(3), ((int64_t)1 << 60) + 1, ((int64_t)1 << 60) + 2, ((int64_t)1 << 60) + 3);
}

Test(ops, range_mixed_dtypes_is_an_error)
{
    tb_model *b = tb_new(11);
    tb_init(b, "s", LOOM_I32, 0, NULL, (const int32_t[]){0});
    INIT_F32(b, "l", 0, NULL, 5e9f);
    tb_init(b, "d", LOOM_I32, 0, NULL, (const int32_t[]){2000000000});
    tb_node(b, "Range", "s,l,d", "r");
    tb_output(b, "r");
    expect_fail(b, 0, NULL, LOOM_E_DTYPE, "Range", "dtype");
}

/* Dropout's mask has the data's type before opset 10 (bool after). */
Test(ops, dropout_mask_is_float_before_opset_10)
{
    tb_model *b = tb_new(7);
    loom_tensor *x = T_F32(1, DIMS(2), 3, 4);
    loom_tensor *outs[2];
    input_like(b, "x", x);
    tb_node(b, "Dropout", "x", "y,mask");
    tb_output(b, "y");
    tb_output(b, "mask");
    run_ok(b, 1, &x, 2, outs);
    EXPECT_F32_EXACT(outs[0], 1, DIMS(2), 3, 4);
    EXPECT_F32_EXACT(outs[1], 1, DIMS(2), 1, 1);
}

/* An empty tensor with huge outer dims is never looped over: planning
 * these used to spin for 2^62 iterations (Softmax, Concat, MatMul). */
Test(ops, empty_tensors_with_huge_outer_dims_plan_at_once, .timeout = 20)
{
    const int64_t big = (int64_t)1 << 40;
    const char *ops[] = {"Softmax", "Concat", "Relu"};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        tb_model *b = tb_new(13);
        loom_tensor *out;
        Onnx__NodeProto *n;
        tb_init(b, "e", LOOM_F32, 2, DIMS(big, 0), NULL);
        n = tb_node(b, ops[k], strcmp(ops[k], "Concat") == 0 ? "e,e" : "e", "y");
        if (strcmp(ops[k], "Concat") == 0)
            tb_attr_int(b, n, "axis", 1);
        tb_output(b, "y");
        run_ok(b, 0, NULL, 1, &out);
        expect_shape(out, LOOM_F32, 2, DIMS(big, 0));
        loom_tensor_free(out);
    }
    {
        /* a run-time input: [2^40, 0, 5] x [5, 3] */
        tb_model *b = tb_new(13);
        loom_tensor *x = mk(LOOM_F32, 3, DIMS(big, 0, 5), NULL, 0), *out;
        input_like(b, "x", x);
        tb_init(b, "w", LOOM_F32, 2, DIMS(5, 3), (const float[15]){0});
        tb_node(b, "MatMul", "x,w", "y");
        tb_output(b, "y");
        out = run1(b, 1, &x);
        expect_shape(out, LOOM_F32, 3, DIMS(big, 0, 3));
        loom_tensor_free(out);
    }
}

/* A negative dim in Expand's or ConstantOfShape's shape is a shape error,
 * not a size-limit one. */
Test(ops, negative_dims_in_shape_inputs)
{
    tb_model *b = tb_new(13);
    tb_init(b, "shape", LOOM_I64, 1, DIMS(2), DIMS(2, -5));
    tb_node(b, "ConstantOfShape", "shape", "y");
    tb_output(b, "y");
    expect_fail(b, 0, NULL, LOOM_E_SHAPE, "ConstantOfShape", "negative");

    b = tb_new(13);
    {
        loom_tensor *x = T_F32(1, DIMS(1), 1);
        input_like(b, "x", x);
        tb_init(b, "shape", LOOM_I64, 1, DIMS(1), DIMS(-5));
        tb_node(b, "Expand", "x,shape", "y");
        tb_output(b, "y");
        expect_fail(b, 1, &x, LOOM_E_SHAPE, "Expand", "negative");
    }
}

/* An empty ConstantOfShape is made once (the empty-output fold used to
 * replace it and leak the first tensor: caught by the ASan run). */
Test(ops, constant_of_shape_empty)
{
    tb_model *b = tb_new(13);
    loom_tensor *out;
    tb_init(b, "shape", LOOM_I64, 1, DIMS(2), DIMS(0, 3));
    tb_node(b, "ConstantOfShape", "shape", "y");
    tb_output(b, "y");
    run_ok(b, 0, NULL, 1, &out);
    expect_shape(out, LOOM_F32, 2, DIMS(0, 3));
    loom_tensor_free(out);
}

/* ------------------------------------------------------------------------ */
/* The fuse pass                                                             */
/* ------------------------------------------------------------------------ */

/* Nodes left to run, and output 0, of a model run on ref. */
static size_t plan_nodes(tb_model *b, loom_tensor *x, loom_tensor **y)
{
    size_t len, nodes;
    const uint8_t *bytes = tb_pack(b, &len);
    loom_model *m = NULL;
    loom_session *s = NULL;
    cr_assert_eq(loom_model_load_buffer(bytes, len, "fuse.onnx", NULL, NULL, &m), LOOM_OK, "%s",
                 loom_last_error());
    cr_assert_eq(loom_session_create(m, &(loom_session_options){.devices = "ref"}, &s), LOOM_OK, "%s",
                 loom_last_error());
    cr_assert_eq(loom_session_set_input(s, "x", x), LOOM_OK);
    cr_assert_eq(loom_session_run(s), LOOM_OK, "%s", loom_last_error());
    nodes = loom_session_node_count(s);
    {
        const loom_tensor *t = loom_session_output_tensor(s, 0);
        cr_assert_eq(loom_tensor_create(LOOM_F32, loom_tensor_rank(t), loom_tensor_dims(t), y), LOOM_OK);
        memcpy(loom_tensor_data(*y), loom_tensor_cdata(t), loom_tensor_nbytes(t));
    }
    loom_session_free(s);
    loom_model_free(m);
    tb_free(b);
    return nodes;
}

Test(ops, fuse_gemm_relu_and_matmul_sigmoid)
{
    /* x[1,2] . W[2,2] = [-3, 1] -> Relu -> [0, 1]; . V[2,1] = 2 -> Sigmoid */
    tb_model *b = tb_new(13);
    loom_tensor *x = T_F32(2, DIMS(1, 2), 1, 2), *y;
    INIT_F32(b, "W", 2, DIMS(2, 2), 1, -1, -2, 1);
    INIT_F32(b, "V", 2, DIMS(2, 1), 5, 2);
    input_like(b, "x", x);
    tb_node(b, "Gemm", "x,W", "h");
    tb_node(b, "Relu", "h", "r");
    tb_node(b, "MatMul", "r,V", "m");
    tb_node(b, "Sigmoid", "m", "y");
    tb_output(b, "y");
    cr_assert_eq(plan_nodes(b, x, &y), 2, "both activations fused");
    EXPECT_F32(y, 2, DIMS(1, 1), 0.880797077f); /* sigmoid(2) */
    loom_tensor_free(x);
}

Test(ops, no_fusion_when_the_gemm_output_is_needed_elsewhere)
{
    /* h is read by the Relu and by the Add: both must see the raw h */
    tb_model *b = tb_new(13);
    loom_tensor *x = T_F32(2, DIMS(1, 2), 1, 2), *y;
    INIT_F32(b, "W", 2, DIMS(2, 2), 1, -1, -2, 1);
    input_like(b, "x", x);
    tb_node(b, "Gemm", "x,W", "h");
    tb_node(b, "Relu", "h", "r");
    tb_node(b, "Add", "h,r", "y");
    tb_output(b, "y");
    cr_assert_eq(plan_nodes(b, x, &y), 3);
    EXPECT_F32(y, 2, DIMS(1, 2), -3, 2); /* [-3,1] + [0,1] */
    loom_tensor_free(x);

    /* h is itself a graph output */
    b = tb_new(13);
    x = T_F32(2, DIMS(1, 2), 1, 2);
    INIT_F32(b, "W", 2, DIMS(2, 2), 1, -1, -2, 1);
    input_like(b, "x", x);
    tb_node(b, "Gemm", "x,W", "h");
    tb_node(b, "Relu", "h", "y");
    tb_output(b, "h");
    tb_output(b, "y");
    cr_assert_eq(plan_nodes(b, x, &y), 2);
    EXPECT_F32(y, 2, DIMS(1, 2), -3, 1); /* output 0 is the raw h */
    loom_tensor_free(x);
}

/* ------------------------------------------------------------------------ */
/* QuantizeLinear, DequantizeLinear (QDQ models)                            */
/* ------------------------------------------------------------------------ */

/* x (graph input) -> op(x, scale, zero_point) with scale and zero point as
 * initializers; per axis when ns > 1. */
static loom_tensor *qdq(const char *op, int64_t opset, loom_tensor *x, int ns, const float *scale,
                        loom_dtype zdt, const void *zp, int64_t axis)
{
    tb_model *b = tb_new(opset);
    int64_t sd[1] = {ns};
    Onnx__NodeProto *n;
    input_like(b, "x", x);
    tb_init(b, "s", LOOM_F32, ns > 1 ? 1 : 0, sd, scale);
    if (zp)
        tb_init(b, "z", zdt, ns > 1 ? 1 : 0, sd, zp);
    n = tb_node(b, op, zp ? "x,s,z" : "x,s", "y");
    if (axis != 1)
        tb_attr_int(b, n, "axis", axis);
    tb_output(b, "y");
    return run1(b, 1, &x);
}

static void expect_bytes(loom_tensor *t, loom_dtype dt, const void *want, int64_t n)
{
    cr_assert_not_null(t);
    cr_assert_eq(loom_tensor_dtype(t), dt, "dtype %s", loom_dtype_name(loom_tensor_dtype(t)));
    cr_assert_eq(loom_tensor_numel(t), n);
    for (int64_t i = 0; i < n; i++)
        cr_assert_eq(((const uint8_t *)loom_tensor_cdata(t))[i], ((const uint8_t *)want)[i],
                     "element %lld: %d, expected %d", (long long)i, ((const uint8_t *)loom_tensor_cdata(t))[i],
                     ((const uint8_t *)want)[i]);
    loom_tensor_free(t);
}

Test(ops, quantize_int8_rounds_half_to_even_and_saturates)
{
    const float s = 0.5f;
    const int8_t z = 3;
    /* x / 0.5: 0.5 -> 0 (even), 1.5 -> 2, 2.5 -> 2, -0.5 -> -0, -1.5 -> -2; +3; then saturate */
    const int8_t want[] = {3, 5, 5, 3, 1, 127, -128, 2};
    expect_bytes(qdq("QuantizeLinear", 13, T_F32(1, DIMS(8), 0.25, 0.75, 1.25, -0.25, -0.75, 1000, -1000, -0.26),
                     1, &s, LOOM_I8, &z, 1),
                 LOOM_I8, want, 8);
}

Test(ops, quantize_without_zero_point_is_uint8)
{
    const float s = 2.0f;
    const uint8_t want[] = {0, 0, 1, 2, 255};
    expect_bytes(qdq("QuantizeLinear", 10, T_F32(1, DIMS(5), -5, 0.9, 1.1, 3.0, 1e9), 1, &s, LOOM_U8, NULL, 1),
                 LOOM_U8, want, 5);
}

Test(ops, quantize_per_axis)
{
    /* x [2, 3], axis 1: column scales 1, 0.5, 0.25 */
    const float s[3] = {1.0f, 0.5f, 0.25f};
    const int8_t z[3] = {0, 0, -1};
    const int8_t want[6] = {1, 2, 3, -1, -2, -5};
    expect_bytes(qdq("QuantizeLinear", 13, T_F32(2, DIMS(2, 3), 1, 1, 1, -1, -1, -1), 3, s, LOOM_I8, z, 1), LOOM_I8,
                 want, 6);
}

Test(ops, dequantize_per_tensor_and_per_axis)
{
    const float s = 0.5f, sa[2] = {2.0f, 0.25f};
    const int8_t z = -2, za[2] = {1, 0};
    EXPECT_F32_EXACT(qdq("DequantizeLinear", 13, mk(LOOM_I8, 1, DIMS(4), (const int8_t[]){-128, -2, 0, 127}, 4), 1,
                         &s, LOOM_I8, &z, 1),
                     1, DIMS(4), -63.0, 0.0, 1.0, 64.5);
    /* x [2, 2] along axis 0: rows scaled 2 (zero point 1) and 0.25 */
    EXPECT_F32_EXACT(qdq("DequantizeLinear", 13, mk(LOOM_I8, 2, DIMS(2, 2), (const int8_t[]){1, 3, 4, -8}, 4), 2, sa,
                         LOOM_I8, za, 0),
                     2, DIMS(2, 2), 0.0, 4.0, 1.0, -2.0);
}

Test(ops, qdq_round_trip_uint8)
{
    const float s = 0.1f;
    const uint8_t z = 128;
    loom_tensor *q = qdq("QuantizeLinear", 13, T_F32(1, DIMS(3), -1.0, 0.0, 1.0), 1, &s, LOOM_U8, &z, 1);
    EXPECT_F32(qdq("DequantizeLinear", 13, q, 1, &s, LOOM_U8, &z, 1), 1, DIMS(3), -1.0, 0.0, 1.0);
}

/* Scales of zero, negative or NaN make the model invalid (a clear error,
 * LOOM_E_MODEL_INVALID: exit 65 from the CLI). */
Test(ops, qdq_bad_scales_are_invalid_models)
{
    static const float bad[] = {0.0f, -0.5f, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tb_model *b = tb_new(13);
        loom_tensor *x = T_F32(1, DIMS(2), 1, 2);
        input_like(b, "x", x);
        tb_init(b, "s", LOOM_F32, 0, NULL, &bad[i]);
        tb_node(b, i % 2 ? "DequantizeLinear" : "QuantizeLinear", "x,s", "y");
        if (i % 2) { /* DequantizeLinear wants an int input */
            tb_free(b);
            b = tb_new(13);
            loom_tensor_free(x);
            x = mk(LOOM_I8, 1, DIMS(2), (const int8_t[]){1, 2}, 2);
            input_like(b, "x", x);
            tb_init(b, "s", LOOM_F32, 0, NULL, &bad[i]);
            tb_node(b, "DequantizeLinear", "x,s", "y");
        }
        tb_output(b, "y");
        expect_fail(b, 1, &x, LOOM_E_MODEL_INVALID, "scale[0]", "must be positive and finite");
    }
}

Test(ops, qdq_shape_and_type_errors)
{
    const float s[2] = {1.0f, 1.0f};
    tb_model *b = tb_new(13);
    loom_tensor *x = T_F32(2, DIMS(2, 3), 1, 2, 3, 4, 5, 6);
    input_like(b, "x", x);
    tb_init(b, "s", LOOM_F32, 1, DIMS(2), s);
    tb_node(b, "QuantizeLinear", "x,s", "y"); /* 2 scales for 3 columns (axis 1) */
    tb_output(b, "y");
    expect_fail(b, 1, &x, LOOM_E_SHAPE, "2 scales for 3 slices along axis 1", NULL);

    b = tb_new(10);
    x = T_F32(2, DIMS(2, 2), 1, 2, 3, 4);
    input_like(b, "x", x);
    tb_init(b, "s", LOOM_F32, 1, DIMS(2), s);
    tb_node(b, "QuantizeLinear", "x,s", "y");
    tb_output(b, "y");
    expect_fail(b, 1, &x, LOOM_E_MODEL_INVALID, "per-axis scales need opset 13", NULL);
}

/* loom validate on a node with more than 64 inputs (a Concat of 70):
 * each node is re-run by ref on its own inputs, whatever their number
 * (a fixed array of 64 refused it, naming its outputs). */
Test(ops, validate_node_with_many_inputs)
{
    tb_model *b = tb_new(13);
    Onnx__NodeProto *n;
    char names[70 * 2 + 1] = "";
    loom_tensor *x = iota_f32(1, DIMS(3));
    loom_model *m;
    loom_validate_result r;
    size_t len;
    const uint8_t *bytes;
    for (int i = 0; i < 70; i++)
        strcat(names, i ? ",x" : "x");
    input_like(b, "x", x);
    n = tb_node(b, "Concat", names, "c");
    tb_attr_int(b, n, "axis", 0);
    tb_node(b, "Relu", "c", "y");
    tb_output(b, "y");
    bytes = tb_pack(b, &len);
    cr_assert_eq(loom_model_load_buffer(bytes, len, "concat70", NULL, NULL, &m), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(loom_validate(m, (const loom_tensor *const *)&x, 1, "ref", &r), LOOM_OK, "%s", loom_last_error());
    cr_assert(r.match);
    cr_assert_eq(r.nodes, 2);
    cr_assert_eq(r.nodes_on_device, 2);
    loom_model_free(m);
    loom_tensor_free(x);
    tb_free(b);
}
