/*
 * classify.c - the loom demo: a 10-10-1 binary classifier (bundled ONNX
 * model trained by train.py) run through the public API, one sample at a
 * time, with its accuracy on the 20 held-back test samples and the
 * latency per inference.
 *
 * usage: loom-classify [-d DEVICE] [-s] [DIR [MODEL]]
 *   DIR holds classifier.onnx, test_x.npy, test_y.npy and torch_probs.npy;
 *   MODEL replaces DIR/classifier.onnx (e.g. the int8 model loom quantize
 *   wrote); -d runs on DEVICE (nodes it does not take fall back to ref);
 *   -s prints one summary line instead of the table.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loom/loom.h"

#ifndef LOOM_CLASSIFIER_DIR
#define LOOM_CLASSIFIER_DIR "."
#endif

#define TIMED_ROUNDS 2000     /* at most, and at most ~1 s of runs */
#define TIMED_BUDGET_US 1e6

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int fail(const char *what, loom_status st)
{
    fprintf(stderr, "loom-classify: %s: %s\n", what, loom_last_error()[0] ? loom_last_error() : loom_strerror(st));
    return st == LOOM_E_NOT_FOUND ? 66 : 65;
}

static const char usage[] =
    "usage: loom-classify [-d DEVICE] [-s] [DIR [MODEL]]\n"
    "\n"
    "Run the bundled classifier (or MODEL, such as the int8 model of loom\n"
    "quantize) on its 20 test samples, one at a time: each prediction, the\n"
    "accuracy, the largest difference from PyTorch's probabilities and the\n"
    "latency per inference (default DIR: %s).\n"
    "\n"
    "  -d, --device DEV  run on DEV (nodes it does not take run on ref);\n"
    "                    default: the auto partitioner\n"
    "  -s, --summary     one line: device, nodes there, accuracy, latency\n"
    "  -h, --help        this text\n";

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"device", required_argument, NULL, 'd'},
                                         {"summary", no_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *dir = LOOM_CLASSIFIER_DIR, *device = NULL;
    char path[4096], model_path[4096];
    loom_model *model = NULL;
    loom_session *sess = NULL;
    loom_tensor *x = NULL, *y = NULL, *golden = NULL;
    loom_status st;
    int rc = 0, correct = 0, rounds = 0, c;
    bool summary = false, int8 = false;
    int64_t n, features;
    size_t on_device = 0, nodes = 0;
    double *lat = NULL, max_diff = 0.0, spent = 0.0;

    while ((c = getopt_long(argc, argv, "d:sh", opts, NULL)) != -1) {
        switch (c) {
        case 'd': device = optarg; break;
        case 's': summary = true; break;
        case 'h': printf(usage, LOOM_CLASSIFIER_DIR); return 0;
        default: fprintf(stderr, usage, LOOM_CLASSIFIER_DIR); return 64;
        }
    }
    if (argc - optind > 2) {
        fprintf(stderr, usage, LOOM_CLASSIFIER_DIR);
        return 64;
    }
    if (argc - optind > 0)
        dir = argv[optind];
    if (argc - optind > 1)
        snprintf(model_path, sizeof model_path, "%s", argv[optind + 1]);
    else
        snprintf(model_path, sizeof model_path, "%s/classifier.onnx", dir);
    if ((st = loom_model_load(model_path, NULL, &model)) != LOOM_OK)
        return fail("loading the model", st);
    snprintf(path, sizeof path, "%s/test_x.npy", dir);
    if ((st = loom_npy_load(path, &x)) != LOOM_OK) {
        rc = fail("loading the test features", st);
        goto done;
    }
    snprintf(path, sizeof path, "%s/test_y.npy", dir);
    if ((st = loom_npy_load(path, &y)) != LOOM_OK) {
        rc = fail("loading the test labels", st);
        goto done;
    }
    snprintf(path, sizeof path, "%s/torch_probs.npy", dir);
    if ((st = loom_npy_load(path, &golden)) != LOOM_OK) {
        rc = fail("loading PyTorch's probabilities", st);
        goto done;
    }
    n = loom_tensor_dims(x)[0];
    features = loom_tensor_dims(x)[1];
    if (loom_tensor_rank(x) != 2 || loom_tensor_dtype(x) != LOOM_F32 || n < 1 || loom_tensor_numel(y) != n ||
        loom_tensor_dtype(y) != LOOM_I64 || loom_tensor_numel(golden) != n) {
        fprintf(stderr, "loom-classify: test set files do not fit together\n");
        rc = 65;
        goto done;
    }

    /* one plan for batch 1, reused for every sample */
    st = loom_session_create(model,
                             &(loom_session_options){
                                 .input_shapes = &(loom_input_shape){.name = "features", .rank = 2,
                                                                     .dims = (int64_t[]){1, features}},
                                 .input_shape_count = 1,
                                 .devices = device},
                             &sess);
    if (st != LOOM_OK) {
        rc = fail("planning the model", st);
        goto done;
    }
    for (size_t i = 0; i < loom_model_op_type_count(model); i++) {
        const char *op;
        loom_model_op_type(model, i, &op, NULL);
        int8 |= strcmp(op, "QuantizeLinear") == 0;
    }
    for (size_t i = 0; i < loom_session_subgraph_count(sess); i++) {
        loom_subgraph_info sg;
        loom_session_subgraph(sess, i, &sg);
        nodes += sg.node_count;
        on_device += device && strcmp(sg.device, device) == 0 ? sg.node_count : 0;
    }
    if (!summary) {
        printf("loom %s demo: binary classifier (%lld features -> Dense(10, ReLU) -> Dense(1, sigmoid))\n",
               loom_version(), (long long)features);
        printf("model %s, %lld test samples, batch 1, placed on", model_path, (long long)n);
        for (size_t i = 0; i < loom_session_subgraph_count(sess); i++) {
            loom_subgraph_info sg;
            loom_session_subgraph(sess, i, &sg);
            printf("%s %s (%zu nodes)", i ? "," : "", sg.device, sg.node_count);
        }
        printf(device ? " (asked for %s)\n\n" : " by the auto partitioner\n\n", device);
        printf("sample  probability  predicted  label\n");
    }
    lat = malloc(sizeof *lat * TIMED_ROUNDS);
    if (!lat) {
        rc = 70;
        goto done;
    }
    for (int64_t i = 0; i < n; i++) {
        const float *row = (const float *)loom_tensor_cdata(x) + i * features;
        float p;
        int pred, label = (int)((const int64_t *)loom_tensor_cdata(y))[i];
        if ((st = loom_session_set_input_data(sess, 0, row, (size_t)features * sizeof(float))) != LOOM_OK ||
            (st = loom_session_run(sess)) != LOOM_OK) {
            rc = fail("running the model", st);
            goto done;
        }
        p = *(const float *)loom_tensor_cdata(loom_session_output_tensor(sess, 0));
        pred = p >= 0.5f;
        correct += pred == label;
        max_diff = fmax(max_diff, fabs((double)p - ((const float *)loom_tensor_cdata(golden))[i]));
        if (!summary)
            printf("%6lld  %11.4f  %9d  %5d%s\n", (long long)i, p, pred, label, pred == label ? "" : "  (miss)");
    }

    /* latency: set the input and run, one sample per inference (up to
     * TIMED_ROUNDS, or as many as fit in about a second: vsim is slow) */
    for (rounds = 0; rounds < TIMED_ROUNDS && (rounds < 10 || spent < TIMED_BUDGET_US); rounds++) {
        const float *row = (const float *)loom_tensor_cdata(x) + (rounds % n) * features;
        double t0 = now_us();
        if ((st = loom_session_set_input_data(sess, 0, row, (size_t)features * sizeof(float))) != LOOM_OK ||
            (st = loom_session_run(sess)) != LOOM_OK) {
            rc = fail("running the model", st);
            goto done;
        }
        lat[rounds] = now_us() - t0;
        spent += lat[rounds];
    }
    qsort(lat, (size_t)rounds, sizeof *lat, cmp_double);

    if (summary) {
        printf("%-7s on %-9s %zu of %zu nodes there; accuracy %d/%lld = %.1f%%; max |p - p_torch| %.2e; "
               "latency median %.2f us (%d runs)\n",
               int8 ? "int8" : "float32", device ? device : "auto", device ? on_device : nodes, nodes, correct,
               (long long)n, 100.0 * correct / (double)n, max_diff, lat[rounds / 2], rounds);
        goto done;
    }
    printf("\naccuracy          %d/%lld = %.1f%%\n", correct, (long long)n, 100.0 * correct / (double)n);
    printf("vs PyTorch        max |p_loom - p_torch| = %.2e\n", max_diff);
    printf("latency (batch 1) median %.2f us, min %.2f us over %d inferences\n", lat[rounds / 2], lat[0], rounds);
done:
    free(lat);
    loom_tensor_free(x);
    loom_tensor_free(y);
    loom_tensor_free(golden);
    loom_session_free(sess);
    loom_model_free(model);
    return rc;
}
