/*
 * op-test.h - the helpers of the operator tests (test_ops.c, test_modern.c):
 * literal tensors, one-node models over graph inputs, running a model once.
 * Criterion asserts inside: for test programs only.
 */
#ifndef LOOM_TEST_OP_TEST_H
#define LOOM_TEST_OP_TEST_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "loom/loom.h"
#include "onnx-builder.h"

#define NARGS(T, ...) (sizeof((const T[]){__VA_ARGS__}) / sizeof(T))
#define DIMS(...) ((const int64_t[]){__VA_ARGS__})

/* Tensor of the given dtype; the number of values must equal its numel. */
static inline loom_tensor *mk(loom_dtype dt, int rank, const int64_t *dims, const void *data, size_t n)
{
    loom_tensor *t = NULL;
    cr_assert_eq(loom_tensor_create(dt, rank, dims, &t), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq((size_t)loom_tensor_numel(t), n, "test data: %zu values for %lld elements", n,
                 (long long)loom_tensor_numel(t));
    if (n)
        memcpy(loom_tensor_data(t), data, loom_tensor_nbytes(t));
    return t;
}

#define T_F32(rank, dims, ...) mk(LOOM_F32, rank, dims, (const float[]){__VA_ARGS__}, NARGS(float, __VA_ARGS__))
#define T_I64(rank, dims, ...) \
    mk(LOOM_I64, rank, dims, (const int64_t[]){__VA_ARGS__}, NARGS(int64_t, __VA_ARGS__))
#define T_I32(rank, dims, ...) \
    mk(LOOM_I32, rank, dims, (const int32_t[]){__VA_ARGS__}, NARGS(int32_t, __VA_ARGS__))
#define T_BOOL(rank, dims, ...) \
    mk(LOOM_BOOL, rank, dims, (const uint8_t[]){__VA_ARGS__}, NARGS(uint8_t, __VA_ARGS__))

/* Graph input called name, typed and shaped like t. */
static inline void input_like(tb_model *b, const char *name, const loom_tensor *t)
{
    tb_input(b, name, loom_tensor_dtype(t), loom_tensor_rank(t), loom_tensor_dims(t));
}

/* Pack b and run it once with ins (in graph-input order). Asserts success.
 * Frees b and the inputs; outs[i] belong to the caller. */
static inline void run_ok(tb_model *b, int n_in, loom_tensor **ins, int n_out, loom_tensor **outs)
{
    size_t len;
    const uint8_t *bytes = tb_pack(b, &len);
    loom_status st = tb_run(bytes, len, n_in, ins, n_out, outs);
    cr_assert_eq(st, LOOM_OK, "run failed with %s: %s", loom_status_name(st), loom_last_error());
    tb_free(b);
    for (int i = 0; i < n_in; i++)
        loom_tensor_free(ins[i]);
}

static inline loom_tensor *run1(tb_model *b, int n_in, loom_tensor **ins)
{
    loom_tensor *y = NULL;
    run_ok(b, n_in, ins, 1, &y);
    return y;
}

/* Graph inputs x0..x{n-1} shaped like ins feed one node op -> y (the
 * graph output). *node (if given) receives the node for attributes. */
static inline tb_model *single(int64_t opset, const char *op, int n_in, loom_tensor *const *ins,
                        Onnx__NodeProto **node)
{
    tb_model *b = tb_new(opset);
    char names[128] = "", nm[16];
    Onnx__NodeProto *n;
    for (int i = 0; i < n_in; i++) {
        snprintf(nm, sizeof nm, "x%d", i);
        input_like(b, nm, ins[i]);
        if (i)
            strcat(names, ",");
        strcat(names, nm);
    }
    n = tb_node(b, op, names, "y");
    tb_output(b, "y");
    if (node)
        *node = n;
    return b;
}

/* 1-D int64 initializer */
#define INIT_INTS(b, name, ...)                                                                  \
    tb_init(b, name, LOOM_I64, 1, DIMS((int64_t)NARGS(int64_t, __VA_ARGS__)),                      \
            (const int64_t[]){__VA_ARGS__})

#endif /* LOOM_TEST_OP_TEST_H */
