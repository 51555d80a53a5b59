/* cmd-quantize.c - `loom quantize MODEL --calib FILE.npy... -o OUT.onnx`:
 * int8 post-training quantisation (loom_quantize) and the float vs int8
 * report (loom_quant_compare). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char quantize_usage[] =
    "usage: loom quantize MODEL --calib FILE.npy... -o OUT.onnx [--method minmax|percentile|entropy]\n"
    "                     [--percentile P] [--eval FILE.npy]... [--labels FILE.npy]\n"
    "                     [--device DEV] [--json]\n"
    "\n"
    "Quantise MODEL to int8 after training: run it on the calibration batches,\n"
    "take a range per activation tensor, and write OUT.onnx as a standard QDQ\n"
    "model (QuantizeLinear/DequantizeLinear pairs; opset 13 or later). Conv,\n"
    "Gemm and MatMul with constant weights get int8 weights with one symmetric\n"
    "scale per output channel and an int32 bias; activations one symmetric scale\n"
    "per tensor; BatchNormalization after a Conv is folded into it; MaxPool,\n"
    "Flatten and Reshape keep their input's scale. Other ops stay float32\n"
    "between a dequantize and a quantize. loom runs OUT.onnx with int8 kernels\n"
    "(ref, opencl, vsim, xrt), bit-exact on every device: see loom validate.\n"
    "\n"
    "Then both models run on the evaluation batches (default: the calibration\n"
    "batches) and the report gives the top-1 agreement of int8 with float (argmax\n"
    "of the last axis; one column is a probability, class 1 above 0.5), the\n"
    "accuracy of each when --labels is given, and per quantised tensor its scale\n"
    "and SQNR, 10 log10(sum x^2 / sum (x - scale q)^2) dB.\n"
    "\n"
    "  --calib FILE.npy       a float32 batch for the model's input (repeatable)\n"
    "  -o, --output OUT.onnx  the quantised model (written only when all went well)\n"
    "  --method M             the range of each tensor: minmax (largest |x|, the\n"
    "                         default), percentile (--percentile of |x|) or entropy\n"
    "                         (the clipping whose 127 levels lose least, by the\n"
    "                         KL divergence of the |x| histograms)\n"
    "  --percentile P         the percentile of |x| kept, 50-100 (default 99.99)\n"
    "  --eval FILE.npy        a batch to compare on (repeatable)\n"
    "  --labels FILE.npy      int64/int32 class per evaluation sample, in order\n"
    "  --device DEV           where calibration and comparison run (default ref)\n"
    "  --json                 print the report as JSON\n"
    "  -v                     log what the library does (-vv: more)\n"
    "  -h, --help             this text\n"
    "\n"
    "Exit status: 0 written, 64 usage error, 65 invalid or unsupported model or\n"
    "data (wrong shape or dtype, empty set, NaN or Inf in calibration data),\n"
    "66 input file missing, 69 device unavailable, 73 cannot write OUT.onnx.\n";

typedef struct {
    const char **paths;
    loom_tensor **t;
    size_t n;
} batch_list;

static int add_path(batch_list *b, const char *path)
{
    const char **p = realloc(b->paths, (b->n + 1) * sizeof *p);
    loom_tensor **t = p ? realloc(b->t, (b->n + 1) * sizeof *t) : NULL;
    if (p)
        b->paths = p;
    if (t)
        b->t = t;
    if (!p || !t)
        return LOOM_EXIT_SOFTWARE;
    b->paths[b->n] = path;
    b->t[b->n++] = NULL;
    return 0;
}

static int load_all(batch_list *b)
{
    for (size_t i = 0; i < b->n; i++) {
        loom_status st = loom_npy_load(b->paths[i], &b->t[i]);
        if (st != LOOM_OK)
            return loom_cli_fail(st);
    }
    return 0;
}

static void free_all(batch_list *b)
{
    for (size_t i = 0; i < b->n; i++)
        loom_tensor_free(b->t[i]);
    free(b->t);
    free(b->paths);
}

static void print_text(const char *out, const loom_quantize_summary *s, const loom_quant_report *r)
{
    printf("wrote %s: %zu Conv/Gemm/MatMul in int8, %zu left float, %zu BatchNormalization folded,\n"
           "%zu activation tensors quantised; calibrated on %zu samples\n\n",
           out, s->compute_int8, s->compute_float, s->bn_folded, s->tensors, s->samples);
    printf("%-36s %-22s %-12s %s\n", "tensor", "made by", "scale", "SQNR dB");
    for (size_t i = 0; i < r->n_layers; i++) {
        const loom_quant_layer *l = &r->layers[i];
        printf("%-36s %-22s %-12.6g %.2f\n", l->tensor, l->op_type[0] ? l->op_type : l->node,
               (double)l->scale, l->sqnr_db);
    }
    printf("\ntop-1 agreement int8 vs float: %zu of %zu (%.2f%%)\n", r->agree, r->samples,
           r->samples ? 100.0 * (double)r->agree / (double)r->samples : 0.0);
    if (r->has_labels)
        printf("accuracy: float %.2f%% (%zu/%zu), int8 %.2f%% (%zu/%zu)\n",
               100.0 * (double)r->float_correct / (double)r->samples, r->float_correct, r->samples,
               100.0 * (double)r->int8_correct / (double)r->samples, r->int8_correct, r->samples);
}

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static void print_json(const char *out, const loom_quantize_summary *s, const loom_quant_report *r)
{
    json_t *o = json_object(), *layers = json_array();
    json_object_set_new(o, "output", json_string(out));
    json_object_set_new(o, "compute_int8", json_integer((json_int_t)s->compute_int8));
    json_object_set_new(o, "compute_float", json_integer((json_int_t)s->compute_float));
    json_object_set_new(o, "bn_folded", json_integer((json_int_t)s->bn_folded));
    json_object_set_new(o, "tensors", json_integer((json_int_t)s->tensors));
    json_object_set_new(o, "calibration_samples", json_integer((json_int_t)s->samples));
    json_object_set_new(o, "samples", json_integer((json_int_t)r->samples));
    json_object_set_new(o, "agree", json_integer((json_int_t)r->agree));
    json_object_set_new(o, "agreement", num(r->samples ? (double)r->agree / (double)r->samples : NAN));
    if (r->has_labels) {
        json_object_set_new(o, "float_accuracy", num((double)r->float_correct / (double)r->samples));
        json_object_set_new(o, "int8_accuracy", num((double)r->int8_correct / (double)r->samples));
    }
    for (size_t i = 0; i < r->n_layers; i++) {
        json_t *l = json_object();
        json_object_set_new(l, "tensor", json_string(r->layers[i].tensor));
        json_object_set_new(l, "node", json_string(r->layers[i].node));
        json_object_set_new(l, "op_type", json_string(r->layers[i].op_type));
        json_object_set_new(l, "scale", json_real(r->layers[i].scale));
        json_object_set_new(l, "sqnr_db", num(r->layers[i].sqnr_db)); /* null: exact */
        json_array_append_new(layers, l);
    }
    json_object_set_new(o, "layers", layers);
    json_dumpf(o, stdout, JSON_INDENT(2));
    putchar('\n');
    json_decref(o);
}

int loom_cmd_quantize(int argc, char **argv)
{
    enum { O_CALIB = 256, O_METHOD, O_PERCENTILE, O_EVAL, O_LABELS, O_DEVICE, O_JSON };
    static const struct option opts[] = {{"calib", required_argument, NULL, O_CALIB},
                                         {"output", required_argument, NULL, 'o'},
                                         {"method", required_argument, NULL, O_METHOD},
                                         {"percentile", required_argument, NULL, O_PERCENTILE},
                                         {"eval", required_argument, NULL, O_EVAL},
                                         {"labels", required_argument, NULL, O_LABELS},
                                         {"device", required_argument, NULL, O_DEVICE},
                                         {"json", no_argument, NULL, O_JSON},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    batch_list calib = {0}, eval = {0};
    loom_quantize_options qo = {.method = LOOM_CALIB_MINMAX};
    loom_quantize_summary sum = {0};
    loom_quant_report rep = {0};
    const char *out = NULL, *labels_path = NULL;
    loom_tensor *labels = NULL;
    loom_model *m = NULL, *qm = NULL;
    bool as_json = false, wrote = false;
    char partial[4200];
    int c, rc = LOOM_EXIT_OK, verbosity = 0;
    loom_status st;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:vh", opts, NULL)) != -1) {
        switch (c) {
        case O_CALIB:
            if ((rc = add_path(&calib, optarg)) != 0)
                goto done;
            break;
        case O_EVAL:
            if ((rc = add_path(&eval, optarg)) != 0)
                goto done;
            break;
        case 'o': out = optarg; break;
        case O_METHOD:
            if (strcmp(optarg, "minmax") == 0)
                qo.method = LOOM_CALIB_MINMAX;
            else if (strcmp(optarg, "percentile") == 0)
                qo.method = LOOM_CALIB_PERCENTILE;
            else if (strcmp(optarg, "entropy") == 0)
                qo.method = LOOM_CALIB_ENTROPY;
            else {
                rc = loom_cli_usage_error("quantize", "--method takes minmax, percentile or entropy, not '%s'",
                                          optarg);
                goto done;
            }
            break;
        case O_PERCENTILE: {
            char *end;
            qo.percentile = strtod(optarg, &end);
            if (*end || end == optarg || !(qo.percentile >= 50.0 && qo.percentile <= 100.0)) {
                rc = loom_cli_usage_error("quantize", "--percentile takes a number from 50 to 100, not '%s'",
                                          optarg);
                goto done;
            }
            qo.method = LOOM_CALIB_PERCENTILE;
            break;
        }
        case O_LABELS: labels_path = optarg; break;
        case O_DEVICE: qo.device = optarg; break;
        case O_JSON: as_json = true; break;
        case 'v': verbosity++; break;
        case 'h': fputs(quantize_usage, stdout); goto done;
        default: rc = loom_cli_bad_option("quantize", c, argv); goto done;
        }
    }
    if (argc - optind != 1) {
        rc = loom_cli_usage_error("quantize", argc - optind ? "quantize takes one model" : "a model is required");
        goto done;
    }
    if (out && strlen(out) > 4000) {
        rc = loom_cli_usage_error("quantize", "-o: the path is longer than 4000 bytes");
        goto done;
    }
    if (!calib.n || !out) {
        rc = loom_cli_usage_error("quantize", "%s is required", !calib.n ? "--calib FILE.npy" : "-o OUT.onnx");
        goto done;
    }
    loom_cli_logging(verbosity);
    if ((st = loom_model_load(argv[optind], NULL, &m)) != LOOM_OK) {
        rc = loom_cli_fail(st);
        goto done;
    }
    if ((rc = load_all(&calib)) != 0 || (rc = load_all(&eval)) != 0)
        goto done;
    if (labels_path && (st = loom_npy_load(labels_path, &labels)) != LOOM_OK) {
        rc = loom_cli_fail(st);
        goto done;
    }
    /* OUT must be writable (its folder takes files, and it is no
     * device, FIFO or folder): say so before calibrating */
    if ((rc = loom_cli_output_ok(out)) != 0)
        goto done;
    /* written beside OUT first and renamed when the report is made: a
     * failure at any step leaves OUT as it was */
    snprintf(partial, sizeof partial, "%s.partial-%ld", out, (long)getpid());
    if ((st = loom_quantize(m, (const loom_tensor *const *)calib.t, calib.n, &qo, partial, &sum)) != LOOM_OK) {
        rc = loom_cli_fail(st);
        goto done;
    }
    wrote = true;
    if ((st = loom_model_load(partial, NULL, &qm)) != LOOM_OK) {
        rc = loom_cli_fail(st);
        goto done;
    }
    {
        batch_list *e = eval.n ? &eval : &calib;
        if ((st = loom_quant_compare(m, qm, (const loom_tensor *const *)e->t, e->n, labels,
                                     qo.device ? qo.device : "ref", &rep)) != LOOM_OK) {
            rc = loom_cli_fail(st);
            goto done;
        }
    }
    if ((rc = loom_cli_place_file(partial, out)) != 0)
        goto done;
    wrote = false;
    if (as_json)
        print_json(out, &sum, &rep);
    else
        print_text(out, &sum, &rep);
done:
    if (wrote)
        unlink(partial);
    loom_quant_report_free(&rep);
    loom_tensor_free(labels);
    loom_model_free(qm);
    loom_model_free(m);
    free_all(&calib);
    free_all(&eval);
    return rc;
}
