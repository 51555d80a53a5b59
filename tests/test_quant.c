/*
 * test_quant.c - int8 post-training quantisation (loom_quantize), the QDQ
 * model it writes, reading it back into int8 nodes, and the comparison
 * report. Calibration and evaluation data are seeded random normals.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "exec/exec.h"
#include "ir/model.h"
#include "loom/loom.h"
#include "onnx-builder.h"
#include "tmpdir.h"

#define SRC LOOM_SOURCE_DIR
#define LENET SRC "/tests/models/lenet/model.onnx"
#define RESBLOCK SRC "/tests/models/resblock/model.onnx"
#define OPSET7 SRC "/tests/models/opset7/model.onnx"

static void setup(void)
{
    tb_tmpdir("quant");
}

static void teardown(void)
{
    tb_tmpdir_remove();
}

TestSuite(quant, .init = setup, .fini = teardown, .timeout = 300);

static char path_buf[4][512];

static const char *tmp(int slot, const char *name)
{
    snprintf(path_buf[slot], sizeof path_buf[slot], "%s/%s", tb_tmpdir_path(), name);
    return path_buf[slot];
}

static bool exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static uint64_t rng_state;

/* Standard normal (Box-Muller on a xorshift). */
static float normal(void)
{
    double u[2];
    for (int i = 0; i < 2; i++) {
        rng_state ^= rng_state >> 12, rng_state ^= rng_state << 25, rng_state ^= rng_state >> 27;
        u[i] = ((double)((rng_state * 2685821657736338717ULL) >> 11) + 0.5) / 9007199254740992.0;
    }
    return (float)(sqrt(-2.0 * log(u[0])) * cos(6.283185307179586 * u[1]));
}

static loom_tensor *batch(uint64_t seed, int rank, const int64_t *dims)
{
    loom_tensor *t;
    cr_assert_eq(loom_tensor_create(LOOM_F32, rank, dims, &t), LOOM_OK);
    rng_state = seed * 0x9e3779b97f4a7c15ULL + 1;
    for (int64_t i = 0; i < loom_tensor_numel(t); i++)
        ((float *)loom_tensor_data(t))[i] = normal();
    return t;
}

static loom_model *load(const char *path)
{
    loom_model *m;
    cr_assert_eq(loom_model_load(path, NULL, &m), LOOM_OK, "%s: %s", path, loom_last_error());
    return m;
}

static size_t count_placements(const loom_model *m, const char *devices, const char *op, const char *device)
{
    loom_session_options so = {.devices = devices, .infer_only = true};
    loom_session *s;
    size_t count = 0;
    cr_assert_eq(loom_session_create(m, &so, &s), LOOM_OK, "%s", loom_last_error());
    for (size_t i = 0; i < loom_session_node_count(s); i++) {
        loom_node_placement p;
        cr_assert_eq(loom_session_placement(s, i, &p), LOOM_OK);
        count += strcmp(p.op_type, op) == 0 && (!device || strcmp(p.device, device) == 0);
    }
    loom_session_free(s);
    return count;
}

static bool have_device(const char *name)
{
    for (size_t i = 0; i < loom_device_count(); i++) {
        loom_device_info d;
        loom_device_get(i, &d);
        if (strncmp(d.name, name, strlen(name)) == 0)
            return true;
    }
    return false;
}

/* Quantise a fixture with `rows` calibration samples of its input shape. */
static loom_quantize_summary quantize(const char *model, const char *out, int64_t rows, uint64_t seed,
                                      loom_calib_method method)
{
    loom_model *m = load(model);
    loom_value_info vi;
    int64_t dims[LOOM_MAX_RANK];
    loom_tensor *c;
    loom_quantize_options o = {.method = method};
    loom_quantize_summary s;
    loom_model_input(m, 0, &vi);
    memcpy(dims, vi.dims, sizeof dims);
    dims[0] = rows;
    c = batch(seed, vi.rank, dims);
    cr_assert_eq(loom_quantize(m, (const loom_tensor *const *)&c, 1, &o, out, &s), LOOM_OK, "%s",
                 loom_last_error());
    loom_tensor_free(c);
    loom_model_free(m);
    return s;
}

/* The QDQ model: what was quantised, and that loom reads it back into
 * int8 nodes (every Conv/Gemm as LoomQConv/LoomQGemm on ref). */
Test(quant, lenet_qdq_reads_back_as_int8_nodes)
{
    const char *out = tmp(0, "lenet-int8.onnx");
    loom_quantize_summary s = quantize(LENET, out, 32, 1, LOOM_CALIB_MINMAX);
    loom_model *q = load(out);
    const char *op;
    size_t count, qn = 0, dqn = 0;
    cr_assert_eq(s.compute_int8, 5);
    cr_assert_eq(s.compute_float, 0);
    cr_assert_eq(s.bn_folded, 0);
    cr_assert_eq(s.samples, 32);
    /* input, 2 conv outputs, MaxPool, Flatten, 3 Gemm outputs */
    cr_assert_eq(s.tensors, 8);
    for (size_t i = 0; i < loom_model_op_type_count(q); i++) {
        loom_model_op_type(q, i, &op, &count);
        qn += strcmp(op, "QuantizeLinear") == 0 ? count : 0;
        dqn += strcmp(op, "DequantizeLinear") == 0 ? count : 0;
    }
    cr_assert_eq(qn, 8);
    cr_assert_eq(dqn, 8 + 5 + 5); /* activations, weights, biases */
    cr_assert_eq(count_placements(q, "ref", "LoomQConv", "ref"), 2);
    cr_assert_eq(count_placements(q, "ref", "LoomQGemm", "ref"), 3);
    cr_assert_eq(count_placements(q, "ref", "Conv", NULL), 0);
    loom_model_free(q);
}

/* Quantising is deterministic (same file twice), and the int8 nodes
 * compute what the QDQ file means: each int8 tensor equals the float
 * execution of the QuantizeLinear/DequantizeLinear graph within one
 * quantum (ties and float rounding), and almost everywhere exactly. */
Test(quant, round_trip_same_file_and_int8_matches_float_qdq)
{
    const char *a = tmp(0, "a.onnx"), *b = tmp(1, "b.onnx");
    int64_t dims[4] = {2, 8, 12, 12};
    loom_tensor *x = batch(99, 4, dims);
    loom_model *q;
    loom_session *si, *sf;
    loom_session_options oi = {.devices = "ref", .keep_values = true};
    loom_session_options of = {.devices = "ref", .keep_values = true, .qdq_float = true};
    size_t compared = 0, differ = 0;
    FILE *fa, *fb;
    int ca, cb;

    quantize(RESBLOCK, a, 16, 2, LOOM_CALIB_MINMAX);
    quantize(RESBLOCK, b, 16, 2, LOOM_CALIB_MINMAX);
    fa = fopen(a, "rb");
    fb = fopen(b, "rb");
    cr_assert(fa && fb);
    do {
        ca = fgetc(fa);
        cb = fgetc(fb);
        cr_assert_eq(ca, cb, "the two quantised files differ");
    } while (ca != EOF);
    fclose(fa);
    fclose(fb);

    q = load(a);
    cr_assert_eq(loom_session_create(q, &oi, &si), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(loom_session_create(q, &of, &sf), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(loom_session_set_input(si, "x", x), LOOM_OK);
    cr_assert_eq(loom_session_set_input(sf, "x", x), LOOM_OK);
    cr_assert_eq(loom_session_run(si), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(loom_session_run(sf), LOOM_OK, "%s", loom_last_error());
    /* every QuantizeLinear output of the file (white box: the model's
     * graph), on the int8 path (made by LoomQConv/LoomQGemm, MaxPool, ...)
     * and on the float QDQ path */
    for (int i = 0; i < q->graph->n_nodes; i++) {
        const loom__node *n = &q->graph->nodes[i];
        const char *name;
        const loom_tensor *ti, *tf;
        if (n->op != LOOM__OP_QuantizeLinear)
            continue;
        name = q->graph->values[n->outputs[0]].name;
        ti = loom__session_value(si, name);
        tf = loom__session_value(sf, name);
        cr_assert(ti && tf, "%s: missing", name);
        cr_assert_eq(loom_tensor_dtype(ti), LOOM_I8);
        cr_assert_eq(loom_tensor_numel(ti), loom_tensor_numel(tf));
        for (int64_t k = 0; k < loom_tensor_numel(ti); k++) {
            int a8 = ((const int8_t *)loom_tensor_cdata(ti))[k], b8 = ((const int8_t *)loom_tensor_cdata(tf))[k];
            cr_assert_leq(abs(a8 - b8), 1, "%s[%lld]: int8 path %d, float QDQ %d", name, (long long)k, a8, b8);
            differ += a8 != b8;
            compared++;
        }
    }
    cr_assert_gt(compared, 5000);
    /* rounding ties and float rounding only: a small fraction */
    cr_assert_leq(differ * 100, compared, "%zu of %zu int8 values differ", differ, compared);
    loom_session_free(si);
    loom_session_free(sf);
    loom_model_free(q);
    loom_tensor_free(x);
}

/* Targets: the fixture CNN (resblock: Conv, BatchNormalization, a
 * residual Add, depthwise and dilated Conv, Gemm) agrees with its float
 * original on at least 98% of 300 inputs with each calibration method;
 * every quantised tensor keeps an SQNR above 20 dB. */
Test(quant, resblock_agreement_and_sqnr)
{
    static const loom_calib_method methods[3] = {LOOM_CALIB_MINMAX, LOOM_CALIB_PERCENTILE, LOOM_CALIB_ENTROPY};
    for (int k = 0; k < 3; k++) {
        const char *out = tmp(0, "res-int8.onnx");
        loom_quantize_summary s = quantize(RESBLOCK, out, 32, 3, methods[k]);
        loom_model *f = load(RESBLOCK), *q = load(out);
        int64_t dims[4] = {300, 8, 12, 12};
        loom_tensor *x = batch(4, 4, dims);
        loom_quant_report r;
        cr_assert_eq(s.bn_folded, 2);
        cr_assert_eq(s.compute_int8, 5);
        cr_assert_eq(loom_quant_compare(f, q, (const loom_tensor *const *)&x, 1, NULL, "ref", &r), LOOM_OK,
                     "%s", loom_last_error());
        cr_assert_eq(r.samples, 300);
        cr_assert_geq(r.agree, 294, "method %d: agreement %zu of 300", k, r.agree);
        cr_assert_eq(r.n_layers, s.tensors);
        for (size_t i = 0; i < r.n_layers; i++)
            cr_assert_gt(r.layers[i].sqnr_db, 20.0, "method %d: %s: SQNR %.2f dB", k, r.layers[i].tensor,
                         r.layers[i].sqnr_db);
        loom_quant_report_free(&r);
        loom_tensor_free(x);
        loom_model_free(f);
        loom_model_free(q);
    }
}

/* Labels: accuracy counted per model; a label count that does not fit is
 * an error. Percentile calibration works end to end. */
Test(quant, labels_and_percentile)
{
    const char *out = tmp(0, "lenet-pct.onnx");
    loom_model *f, *q;
    int64_t dims[4] = {20, 1, 28, 28}, n = 20, n_bad = 7;
    loom_tensor *x, *labels, *bad;
    loom_quant_report r;
    loom_session *s;
    loom_session_options so = {.devices = "ref"};
    quantize(LENET, out, 16, 5, LOOM_CALIB_PERCENTILE);
    f = load(LENET);
    q = load(out);
    x = batch(6, 4, dims);
    /* labels: the float model's own classes, so float accuracy is 100% */
    cr_assert_eq(loom_tensor_create(LOOM_I64, 1, &n, &labels), LOOM_OK);
    cr_assert_eq(loom_session_create(f, &so, &s), LOOM_OK);
    for (int64_t b = 0; b < 10; b++) {
        loom_tensor *xb;
        int64_t bd[4] = {2, 1, 28, 28};
        const float *y;
        cr_assert_eq(loom_tensor_create(LOOM_F32, 4, bd, &xb), LOOM_OK);
        memcpy(loom_tensor_data(xb), (const float *)loom_tensor_cdata(x) + b * 2 * 784, 2 * 784 * sizeof(float));
        cr_assert_eq(loom_session_set_input(s, "x", xb), LOOM_OK);
        cr_assert_eq(loom_session_run(s), LOOM_OK);
        y = loom_tensor_cdata(loom_session_output_tensor(s, 0));
        for (int r2 = 0; r2 < 2; r2++) {
            int64_t best = 0;
            for (int k = 1; k < 10; k++)
                best = y[r2 * 10 + k] > y[r2 * 10 + best] ? k : best;
            ((int64_t *)loom_tensor_data(labels))[b * 2 + r2] = best;
        }
        loom_tensor_free(xb);
    }
    loom_session_free(s);
    cr_assert_eq(loom_quant_compare(f, q, (const loom_tensor *const *)&x, 1, labels, "ref", &r), LOOM_OK, "%s",
                 loom_last_error());
    cr_assert(r.has_labels);
    cr_assert_eq(r.samples, 20);
    cr_assert_eq(r.float_correct, 20);
    cr_assert_eq(r.int8_correct, r.agree);
    loom_quant_report_free(&r);
    cr_assert_eq(loom_tensor_create(LOOM_I64, 1, &n_bad, &bad), LOOM_OK);
    cr_assert_eq(loom_quant_compare(f, q, (const loom_tensor *const *)&x, 1, bad, "ref", &r),
                 LOOM_E_DATA_INVALID);
    cr_assert(strstr(loom_last_error(), "7 labels for 20 samples"), "%s", loom_last_error());
    loom_tensor_free(bad);
    loom_tensor_free(labels);
    loom_tensor_free(x);
    loom_model_free(f);
    loom_model_free(q);
}

/* Every int8 node output identical, bit for bit, on opencl (PoCL) and
 * vsim (where built) against ref. */
Test(quant, int8_nodes_bit_exact_on_every_device)
{
    const char *models[2] = {LENET, RESBLOCK};
    const char *outs[2] = {tmp(0, "l.onnx"), tmp(1, "r.onnx")};
    const char *devs[2] = {"opencl:0", "vsim"};
    int checked = 0;
    for (int k = 0; k < 2; k++) {
        loom_model *q;
        loom_value_info vi;
        loom_tensor *x;
        quantize(models[k], outs[k], 8, 10 + (uint64_t)k, LOOM_CALIB_MINMAX);
        q = load(outs[k]);
        loom_model_input(q, 0, &vi);
        x = batch(20 + (uint64_t)k, vi.rank, vi.dims);
        for (int d = 0; d < 2; d++) {
            loom_validate_result r;
            if (!have_device(devs[d]))
                continue;
            cr_assert_eq(loom_validate(q, (const loom_tensor *const *)&x, 1, devs[d], &r), LOOM_OK, "%s",
                         loom_last_error());
            cr_assert(r.match, "%s on %s: node %s (%s) element %lld: %g vs ref %g", models[k], devs[d],
                      r.node_name, r.op_type, (long long)r.element, r.value, r.ref_value);
            cr_assert_geq(r.nodes_on_device, 5, "%s: %zu nodes on %s", models[k], r.nodes_on_device, devs[d]);
            checked++;
        }
        loom_tensor_free(x);
        loom_model_free(q);
    }
    if (!checked)
        cr_skip_test("no OpenCL device and no vsim: nothing to compare with ref");
}

/* Bad calibration data: a clear error, and no file at the output path. */
Test(quant, bad_calibration_data)
{
    const char *out = tmp(0, "never.onnx");
    loom_model *m = load(LENET), *old = load(OPSET7);
    int64_t good[4] = {2, 1, 28, 28}, wrong[4] = {2, 1, 27, 28}, empty[4] = {0, 1, 28, 28};
    loom_tensor *t;
    const loom_tensor *one[1];

    /* wrong dtype */
    cr_assert_eq(loom_tensor_create(LOOM_I32, 4, good, &t), LOOM_OK);
    one[0] = t;
    cr_assert_eq(loom_quantize(m, one, 1, NULL, out, NULL), LOOM_E_DTYPE);
    cr_assert(strstr(loom_last_error(), "int32") && strstr(loom_last_error(), "float32"), "%s", loom_last_error());
    loom_tensor_free(t);
    /* wrong shape */
    t = batch(1, 4, wrong);
    one[0] = t;
    cr_assert_eq(loom_quantize(m, one, 1, NULL, out, NULL), LOOM_E_DATA_INVALID);
    cr_assert(strstr(loom_last_error(), "[2,1,27,28]"), "%s", loom_last_error());
    loom_tensor_free(t);
    /* a batch of 3 for an input of batch 2 */
    good[0] = 3;
    t = batch(1, 4, good);
    one[0] = t;
    cr_assert_eq(loom_quantize(m, one, 1, NULL, out, NULL), LOOM_E_DATA_INVALID);
    loom_tensor_free(t);
    good[0] = 2;
    /* empty: no batches, or a batch of none */
    cr_assert_eq(loom_quantize(m, NULL, 0, NULL, out, NULL), LOOM_E_DATA_INVALID);
    cr_assert(strstr(loom_last_error(), "empty"), "%s", loom_last_error());
    cr_assert_eq(loom_tensor_create(LOOM_F32, 4, empty, &t), LOOM_OK);
    one[0] = t;
    cr_assert_eq(loom_quantize(m, one, 1, NULL, out, NULL), LOOM_E_DATA_INVALID);
    loom_tensor_free(t);
    /* NaN and Inf */
    for (int k = 0; k < 2; k++) {
        t = batch(2, 4, good);
        ((float *)loom_tensor_data(t))[77] = k ? INFINITY : NAN;
        one[0] = t;
        cr_assert_eq(loom_quantize(m, one, 1, NULL, out, NULL), LOOM_E_DATA_INVALID);
        cr_assert(strstr(loom_last_error(), "element 77"), "%s", loom_last_error());
        loom_tensor_free(t);
    }
    /* a bad percentile; an opset-7 model (per-channel scales need 13) */
    t = batch(3, 4, good);
    one[0] = t;
    {
        loom_quantize_options o = {.method = LOOM_CALIB_PERCENTILE, .percentile = 20};
        cr_assert_eq(loom_quantize(m, one, 1, &o, out, NULL), LOOM_E_INVALID_ARG);
    }
    cr_assert_eq(loom_quantize(old, one, 1, NULL, out, NULL), LOOM_E_MODEL_UNSUPPORTED);
    cr_assert(strstr(loom_last_error(), "opset 13"), "%s", loom_last_error());
    /* an output folder that does not exist: an error, nothing written */
    cr_assert_neq(loom_quantize(m, one, 1, NULL, tmp(1, "no/such/dir/q.onnx"), NULL), LOOM_OK);
    loom_tensor_free(t);
    cr_assert(!exists(out), "%s was written", out);
    loom_model_free(m);
    loom_model_free(old);
}

/* The demo classifier (Gemm, Relu, Gemm, Sigmoid): the Sigmoid becomes
 * the last int8 GEMM's 256-entry LUT, which equals the float QDQ path
 * exactly; on the 2000 held-out samples int8 accuracy is within one point
 * of float (the target), and the int8 nodes are bit-exact on the
 * devices here. */
Test(quant, classifier_lut_and_accuracy_target)
{
    const char *dir = SRC "/examples/classifier";
    const char *out = tmp(0, "classifier-int8.onnx");
    char p[600];
    loom_model *f, *q;
    loom_tensor *calib, *ex, *ey, *tx;
    loom_quantize_summary s;
    loom_quant_report r;
    loom_session *si, *sf;
    int64_t tdims[2] = {20, 10};
    loom_input_shape shape = {.name = "features", .rank = 2, .dims = tdims};
    loom_session_options oi = {.devices = "ref", .keep_values = true, .input_shapes = &shape,
                               .input_shape_count = 1};
    loom_session_options of = {.devices = "ref", .keep_values = true, .qdq_float = true,
                               .input_shapes = &shape, .input_shape_count = 1};
    const loom_tensor *pi, *pf;

    snprintf(p, sizeof p, "%s/calib_x.npy", dir);
    cr_assert_eq(loom_npy_load(p, &calib), LOOM_OK);
    snprintf(p, sizeof p, "%s/eval_x.npy", dir);
    cr_assert_eq(loom_npy_load(p, &ex), LOOM_OK);
    snprintf(p, sizeof p, "%s/eval_y.npy", dir);
    cr_assert_eq(loom_npy_load(p, &ey), LOOM_OK);
    snprintf(p, sizeof p, "%s/test_x.npy", dir);
    cr_assert_eq(loom_npy_load(p, &tx), LOOM_OK);
    snprintf(p, sizeof p, "%s/classifier.onnx", dir);
    f = load(p);
    cr_assert_eq(loom_quantize(f, (const loom_tensor *const *)&calib, 1, NULL, out, &s), LOOM_OK, "%s",
                 loom_last_error());
    cr_assert_eq(s.compute_int8, 2);
    cr_assert_eq(s.tensors, 4); /* input, Relu, Gemm, Sigmoid outputs */
    q = load(out);
    cr_assert_eq(count_placements(q, "ref", "LoomQGemm", "ref"), 2);
    cr_assert_eq(count_placements(q, "ref", "Sigmoid", NULL), 0);
    cr_assert_eq(loom_quant_compare(f, q, (const loom_tensor *const *)&ex, 1, ey, "ref", &r), LOOM_OK, "%s",
                 loom_last_error());
    cr_assert_eq(r.samples, 2000);
    cr_assert_leq(labs((long)r.int8_correct - (long)r.float_correct), 20, "float %zu, int8 %zu of 2000",
                  r.float_correct, r.int8_correct);
    loom_quant_report_free(&r);
    /* the LUT path equals the float QDQ path exactly */
    cr_assert_eq(loom_session_create(q, &oi, &si), LOOM_OK);
    cr_assert_eq(loom_session_create(q, &of, &sf), LOOM_OK);
    cr_assert_eq(loom_session_set_input(si, "features", tx), LOOM_OK);
    cr_assert_eq(loom_session_set_input(sf, "features", tx), LOOM_OK);
    cr_assert_eq(loom_session_run(si), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(loom_session_run(sf), LOOM_OK, "%s", loom_last_error());
    pi = loom__session_value(si, "probability_quantized");
    pf = loom__session_value(sf, "probability_quantized");
    cr_assert(pi && pf);
    cr_assert_eq(memcmp(loom_tensor_cdata(pi), loom_tensor_cdata(pf), loom_tensor_nbytes(pi)), 0);
    loom_session_free(si);
    loom_session_free(sf);
    for (int d = 0; d < 2; d++) {
        const char *dev = d ? "vsim" : "opencl:0";
        loom_validate_result v;
        if (!have_device(dev))
            continue;
        cr_assert_eq(loom_validate(q, (const loom_tensor *const *)&tx, 1, dev, &v), LOOM_OK, "%s",
                     loom_last_error());
        cr_assert(v.match, "%s: node %s element %lld", dev, v.node_name, (long long)v.element);
    }
    loom_tensor_free(calib);
    loom_tensor_free(ex);
    loom_tensor_free(ey);
    loom_tensor_free(tx);
    loom_model_free(f);
    loom_model_free(q);
}

/* A QDQ model as another tool writes it (weights [K, N] quantised along
 * axis 1 with no zero point input, MatMul, Relu): read into one int8 node
 * that computes what the file means; with uint8 activations (zero point
 * 128, outside loom's contract) the same graph stays float and still
 * runs. */
static const uint8_t *foreign_qdq(tb_model *b, bool u8, size_t *len)
{
    int64_t xd[2] = {-1, 16}, wd[2] = {16, 8}, sd[1] = {8};
    int8_t w[16 * 8];
    float ws[8], sx = 0.02f, sy = 0.05f;
    uint8_t zp8 = 128;
    int8_t zpi = 0;
    Onnx__NodeProto *n;
    for (int i = 0; i < 16 * 8; i++)
        w[i] = (int8_t)((i * 37) % 255 - 127);
    for (int i = 0; i < 8; i++)
        ws[i] = 0.002f + 0.0005f * (float)i;
    tb_input(b, "x", LOOM_F32, 2, xd);
    tb_init(b, "sx", LOOM_F32, 0, NULL, &sx);
    tb_init(b, "sy", LOOM_F32, 0, NULL, &sy);
    tb_init(b, "zp", u8 ? LOOM_U8 : LOOM_I8, 0, NULL, u8 ? (const void *)&zp8 : (const void *)&zpi);
    tb_init(b, "w", LOOM_I8, 2, wd, w);
    tb_init(b, "ws", LOOM_F32, 1, sd, ws);
    tb_node(b, "QuantizeLinear", "x,sx,zp", "xq");
    tb_node(b, "DequantizeLinear", "xq,sx,zp", "xd");
    n = tb_node(b, "DequantizeLinear", "w,ws", "wd");
    tb_attr_int(b, n, "axis", 1);
    tb_node(b, "MatMul", "xd,wd", "y0");
    tb_node(b, "Relu", "y0", "y1");
    tb_node(b, "QuantizeLinear", "y1,sy,zp", "yq");
    tb_node(b, "DequantizeLinear", "yq,sy,zp", "y");
    tb_output(b, "y");
    return tb_pack(b, len);
}

Test(quant, foreign_qdq_models)
{
    for (int u8 = 0; u8 < 2; u8++) {
        tb_model *b = tb_new(13);
        size_t len;
        const uint8_t *bytes = foreign_qdq(b, u8, &len);
        loom_model *m;
        int64_t xd[2] = {4, 16};
        loom_tensor *x = batch(7, 2, xd), *yi = NULL, *yf = NULL;
        loom_input_shape shape = {.name = "x", .rank = 2, .dims = xd};
        loom_session_options oi = {.devices = "ref", .input_shapes = &shape, .input_shape_count = 1};
        loom_session_options of = oi;
        loom_session *si, *sf;
        of.qdq_float = true;
        cr_assert_eq(loom_model_load_buffer(bytes, len, "foreign-qdq", NULL, NULL, &m), LOOM_OK, "%s", loom_last_error());
        cr_assert_eq(count_placements(m, "ref", "LoomQGemm", "ref"), u8 ? 0 : 1);
        cr_assert_eq(count_placements(m, "ref", "MatMul", NULL), u8 ? 1 : 0);
        cr_assert_eq(loom_session_create(m, &oi, &si), LOOM_OK, "%s", loom_last_error());
        cr_assert_eq(loom_session_create(m, &of, &sf), LOOM_OK, "%s", loom_last_error());
        cr_assert_eq(loom_session_set_input(si, "x", x), LOOM_OK);
        cr_assert_eq(loom_session_set_input(sf, "x", x), LOOM_OK);
        cr_assert_eq(loom_session_run(si), LOOM_OK, "%s", loom_last_error());
        cr_assert_eq(loom_session_run(sf), LOOM_OK, "%s", loom_last_error());
        yi = (loom_tensor *)loom_session_output_tensor(si, 0);
        yf = (loom_tensor *)loom_session_output_tensor(sf, 0);
        {
            const float *a = loom_tensor_cdata(yi), *f = loom_tensor_cdata(yf);
            int nonzero = 0;
            for (int64_t k = 0; k < loom_tensor_numel(yi); k++) {
                /* one quantum of 0.05 at most (rounding ties) */
                cr_assert_leq(fabsf(a[k] - f[k]), 0.0501f, "u8=%d y[%lld]: %g vs %g", u8, (long long)k,
                              (double)a[k], (double)f[k]);
                nonzero += f[k] != 0.0f;
            }
            cr_assert_gt(nonzero, 4); /* the data exercises the layer */
        }
        if (!u8 && have_device("opencl:0")) {
            loom_validate_result r;
            cr_assert_eq(loom_validate(m, (const loom_tensor *const *)&x, 1, "opencl:0", &r), LOOM_OK);
            cr_assert(r.match && r.nodes_on_device == 1, "match %d, %zu nodes", r.match, r.nodes_on_device);
        }
        loom_session_free(si);
        loom_session_free(sf);
        loom_tensor_free(x);
        loom_model_free(m);
        tb_free(b);
    }
}

/* MaxPool between a DequantizeLinear and a QuantizeLinear of one scale
 * runs on the int8 values; on OpenCL (window with pads, strides,
 * dilations, ceil mode) it equals ref bit for bit. */
Test(quant, int8_maxpool_windows_on_opencl)
{
    static const int64_t shapes[3][8] = {
        /* kh kw sh sw pad dil ceil H */
        {3, 3, 2, 2, 1, 1, 0, 9}, {2, 3, 2, 1, 0, 2, 1, 10}, {3, 2, 3, 2, 1, 1, 1, 7}};
    if (!have_device("opencl:0"))
        cr_skip_test("no OpenCL device here");
    for (int k = 0; k < 3; k++) {
        const int64_t *c = shapes[k];
        tb_model *b = tb_new(13);
        int64_t xd[4] = {2, 3, c[7], c[7] + 1}, kern[2] = {c[0], c[1]}, str[2] = {c[2], c[3]};
        int64_t pads[4] = {c[4], c[4], c[4], c[4]}, dil[2] = {c[5], c[5]};
        float sx = 0.03f;
        int8_t zp = 0;
        Onnx__NodeProto *n;
        size_t len;
        const uint8_t *bytes;
        loom_model *m;
        loom_tensor *x = batch(30 + (uint64_t)k, 4, xd);
        loom_validate_result r;
        tb_input(b, "x", LOOM_F32, 4, xd);
        tb_init(b, "s", LOOM_F32, 0, NULL, &sx);
        tb_init(b, "z", LOOM_I8, 0, NULL, &zp);
        tb_node(b, "QuantizeLinear", "x,s,z", "xq");
        tb_node(b, "DequantizeLinear", "xq,s,z", "xd");
        n = tb_node(b, "MaxPool", "xd", "p");
        tb_attr_ints(b, n, "kernel_shape", 2, kern);
        tb_attr_ints(b, n, "strides", 2, str);
        tb_attr_ints(b, n, "pads", 4, pads);
        tb_attr_ints(b, n, "dilations", 2, dil);
        tb_attr_int(b, n, "ceil_mode", c[6]);
        tb_node(b, "QuantizeLinear", "p,s,z", "pq");
        tb_node(b, "DequantizeLinear", "pq,s,z", "y");
        tb_output(b, "y");
        bytes = tb_pack(b, &len);
        cr_assert_eq(loom_model_load_buffer(bytes, len, "maxpool-qdq", NULL, NULL, &m), LOOM_OK, "%s",
                     loom_last_error());
        cr_assert_eq(loom_validate(m, (const loom_tensor *const *)&x, 1, "opencl:0", &r), LOOM_OK, "%s",
                     loom_last_error());
        cr_assert(r.match, "case %d: node %s element %lld: %g vs %g", k, r.node_name, (long long)r.element, r.value,
                  r.ref_value);
        /* Q, MaxPool on int8, DQ (not Q, DQ, MaxPool, Q, DQ) */
        cr_assert_eq(r.nodes, 3, "case %d: %zu nodes", k, r.nodes);
        cr_assert_eq(r.nodes_on_device, 1, "case %d: the int8 MaxPool did not run on opencl", k);
        loom_tensor_free(x);
        loom_model_free(m);
        tb_free(b);
    }
}

/* A plain MLP whose Gemms carry no transB attribute (ONNX's default is
 * transB = 0: B is [K, N]): both Gemms quantise to int8, with one weight
 * scale per output column, and read back as two LoomQGemm nodes whose
 * output follows the float model. (Before the fix the missing attribute
 * read as transB = 1: "0 in int8, 2 left float".) */
Test(quant, mlp_gemm_without_transb_is_int8)
{
    tb_model *b = tb_new(13);
    int64_t xd[2] = {-1, 6}, w1d[2] = {6, 5}, b1d[1] = {5}, w2d[2] = {5, 3}, b2d[1] = {3};
    float w1[30], b1[5], w2[15], b2[3];
    const char *path = tmp(0, "mlp.onnx"), *out = tmp(1, "mlp-int8.onnx");
    loom_quantize_summary s;
    loom_model *q;
    size_t len;
    const uint8_t *bytes;
    FILE *f;
    rng_state = 99;
    for (int i = 0; i < 30; i++)
        w1[i] = 0.4f * normal();
    for (int i = 0; i < 15; i++)
        w2[i] = 0.4f * normal();
    for (int i = 0; i < 5; i++)
        b1[i] = 0.1f * (float)i;
    for (int i = 0; i < 3; i++)
        b2[i] = -0.1f * (float)i;
    tb_input(b, "x", LOOM_F32, 2, xd);
    tb_init(b, "w1", LOOM_F32, 2, w1d, w1);
    tb_init(b, "b1", LOOM_F32, 1, b1d, b1);
    tb_init(b, "w2", LOOM_F32, 2, w2d, w2);
    tb_init(b, "b2", LOOM_F32, 1, b2d, b2);
    tb_node(b, "Gemm", "x,w1,b1", "h0");
    tb_node(b, "Relu", "h0", "h");
    tb_node(b, "Gemm", "h,w2,b2", "y");
    tb_output(b, "y");
    bytes = tb_pack(b, &len);
    f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(bytes, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
    tb_free(b);

    s = quantize(path, out, 64, 3, LOOM_CALIB_MINMAX);
    cr_assert_eq(s.compute_int8, 2, "%zu Gemms in int8", s.compute_int8);
    cr_assert_eq(s.compute_float, 0, "%zu Gemms left float", s.compute_float);
    q = load(out);
    cr_assert_eq(count_placements(q, "ref", "LoomQGemm", "ref"), 2);
    cr_assert_eq(count_placements(q, "ref", "Gemm", NULL), 0);
    {
        /* int8 follows float: the same arg max on most rows, close values */
        loom_model *m = load(path);
        int64_t ed[2] = {200, 6};
        loom_tensor *e = batch(11, 2, ed);
        loom_quant_report rep;
        cr_assert_eq(loom_quant_compare(m, q, (const loom_tensor *const *)&e, 1, NULL, "ref", &rep), LOOM_OK,
                     "%s", loom_last_error());
        cr_assert_eq(rep.samples, 200);
        cr_assert_geq(rep.agree, 190, "%zu of %zu rows agree", rep.agree, rep.samples);
        loom_quant_report_free(&rep);
        loom_tensor_free(e);
        loom_model_free(m);
    }
    loom_model_free(q);
}
