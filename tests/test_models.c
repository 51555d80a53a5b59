/*
 * test_models.c - every fixture model (tests/models, exported from
 * PyTorch by make_fixtures.py) and the demo classifier run through the
 * public API and match PyTorch's outputs.
 *
 * Tolerance: |loom - torch| <= 1e-5 + 1e-5 * |torch| per element. The
 * reference backend accumulates in double, PyTorch in float; the largest
 * difference seen on these models is 7.2e-7 (transformer, |y| < 3.7).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>

#include "loom/loom.h"

#define ATOL 1e-5
#define RTOL 1e-5

static loom_tensor *load_npy(const char *path)
{
    loom_tensor *t = NULL;
    loom_status st = loom_npy_load(path, &t);
    cr_assert_eq(st, LOOM_OK, "%s: %s", path, loom_last_error());
    return t;
}

/* Run model on input file, compare output 0 with golden; returns nodes in the plan. */
static size_t check_model(const char *model_path, const char *input_name, const char *x_path,
                          const char *y_path)
{
    loom_model *m = NULL;
    loom_session *s = NULL;
    loom_tensor *x = load_npy(x_path), *y = load_npy(y_path);
    const loom_tensor *out;
    const float *a, *b;
    double worst = 0;
    size_t nodes;

    cr_assert_eq(loom_model_load(model_path, NULL, &m), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(loom_session_create(m,
                                     &(loom_session_options){
                                         .input_shapes = &(loom_input_shape){.name = input_name,
                                                                             .rank = loom_tensor_rank(x),
                                                                             .dims = loom_tensor_dims(x)},
                                         .input_shape_count = 1},
                                     &s),
                 LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(loom_session_set_input(s, input_name, x), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(loom_session_run(s), LOOM_OK, "%s", loom_last_error());
    out = loom_session_output_tensor(s, 0);
    cr_assert_not_null(out);
    cr_assert_eq(loom_tensor_dtype(out), LOOM_F32);
    cr_assert_eq(loom_tensor_rank(out), loom_tensor_rank(y));
    for (int d = 0; d < loom_tensor_rank(y); d++)
        cr_assert_eq(loom_tensor_dims(out)[d], loom_tensor_dims(y)[d], "dim %d", d);
    a = loom_tensor_cdata(out);
    b = loom_tensor_cdata(y);
    for (int64_t i = 0; i < loom_tensor_numel(y); i++) {
        double diff = fabs((double)a[i] - (double)b[i]);
        worst = diff > worst ? diff : worst;
        cr_assert(diff <= ATOL + RTOL * fabs((double)b[i]), "%s: element %lld: loom %.9g, torch %.9g",
                  model_path, (long long)i, a[i], b[i]);
    }
    cr_log_info("%s: max |loom - torch| = %.3g", model_path, worst);
    nodes = loom_session_node_count(s);
    loom_session_free(s);
    loom_model_free(m);
    loom_tensor_free(x);
    loom_tensor_free(y);
    return nodes;
}

static size_t check_fixture(const char *name)
{
    char model[512], x[512], y[512];
    snprintf(model, sizeof model, "%s/tests/models/%s/model.onnx", LOOM_SOURCE_DIR, name);
    snprintf(x, sizeof x, "%s/tests/models/%s/x.npy", LOOM_SOURCE_DIR, name);
    snprintf(y, sizeof y, "%s/tests/models/%s/y.npy", LOOM_SOURCE_DIR, name);
    return check_model(model, "x", x, y);
}

Test(models, lenet)
{
    /* 15 nodes; the Constant feeding Pad folds away, and the four ReLUs
     * after a Conv or Gemm are fused into it */
    cr_assert_eq(check_fixture("lenet"), 10);
}

Test(models, resblock_with_batchnorm)
{
    /* no constants to fold: of the 12 nodes, the residual Add's Relu fuses
     * into it, 11 run */
    cr_assert_eq(check_fixture("resblock"), 11);
}

Test(models, transformer_opset14)
{
    /* 77 nodes; the 20 Constants and the Shape -> Gather -> Add -> Div ->
     * Mul (x3) chain that computes the q/k/v split fold into constants;
     * three bias Adds fuse into their MatMuls, and the feed-forward GELU
     * (Div, Erf, Add, Mul, Mul) into its MatMul */
    cr_assert_eq(check_fixture("transformer14"), 42);
}

Test(models, transformer_opset17)
{
    /* 57 nodes less 16 Constants and the same 7-node chain, 3 bias Adds
     * and the 5-node GELU fused */
    cr_assert_eq(check_fixture("transformer17"), 26);
}

Test(models, misc_ops)
{
    /* 65 nodes; the 33 Constants and the ConstantOfShape -> Concat ->
     * Reshape -> Slice -> Transpose -> Reshape -> Cast chain that builds
     * Pad's pads fold away */
    cr_assert_eq(check_fixture("misc"), 25);
}

Test(models, opset7_initializers_listed_as_inputs)
{
    loom_model *m = NULL;
    char path[512];
    snprintf(path, sizeof path, "%s/tests/models/opset7/model.onnx", LOOM_SOURCE_DIR);
    cr_assert_eq(loom_model_load(path, NULL, &m), LOOM_OK, "%s", loom_last_error());
    /* IR 3 lists the weights among the graph inputs: they are not inputs */
    cr_assert_eq(loom_model_input_count(m), 1);
    loom_model_free(m);
    /* Gemm, Relu (fused into the Gemm), Softmax */
    cr_assert_eq(check_fixture("opset7"), 2);
}

Test(models, demo_classifier_batch20)
{
    char model[512], x[512], y[512];
    snprintf(model, sizeof model, "%s/examples/classifier/classifier.onnx", LOOM_SOURCE_DIR);
    snprintf(x, sizeof x, "%s/examples/classifier/test_x.npy", LOOM_SOURCE_DIR);
    snprintf(y, sizeof y, "%s/examples/classifier/torch_probs.npy", LOOM_SOURCE_DIR);
    /* Gemm+Relu (fused), Gemm+Sigmoid (fused) */
    cr_assert_eq(check_model(model, "features", x, y), 2);
}
