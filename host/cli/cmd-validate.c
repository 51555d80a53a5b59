/* cmd-validate.c - `loom validate MODEL`: each device against ref, node
 * by node (loom_validate). */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char validate_usage[] =
    "usage: loom validate MODEL [--devices LIST] [--input NAME=FILE.npy]... [--seed N] [--json]\n"
    "\n"
    "Run MODEL on each listed device and check every node it ran, in execution\n"
    "order, against the reference backend's kernels on that node's own inputs\n"
    "(so error carried in from earlier layers is not blamed on it): integers\n"
    "exactly, float32 within 1e-5 + 1e-5|ref| + 1e-6 K max(1, |ref|) + 8 ulp,\n"
    "K a node's reduction length (GEMM, MatMul, Conv, pooling). Nodes a device\n"
    "does not take run on ref. For each device: match or MISMATCH, how many\n"
    "nodes ran on it, the worst error of a node and its fraction of the\n"
    "allowed, the graph outputs' difference from a run wholly on ref (END TO\n"
    "END: error accumulated over the network, reported, not judged), and on a\n"
    "mismatch the first node whose output differs, with the element and both\n"
    "values. On vsim also the simulated kernel cycles per inference beside\n"
    "the analytic cycle model's.\n"
    "\n"
    "  --devices LIST          comma-separated devices (default: every device but ref)\n"
    "  -i, --input NAME=FILE   a graph input from an .npy file (NAME= may be left\n"
    "                          out for a one-input model; NAME is the longest part\n"
    "                          before an '=' that names an input); inputs not given\n"
    "                          are random float32 in [-1, 1) from --seed, symbolic dims 1\n"
    "  --input-file FILE       the only input's file, its name never split at '='\n"
    "  --seed N                seed of the random inputs (default 1)\n"
    "  --json                  print a JSON array, one object per device\n"
    "  -v                      log what the library does\n"
    "  -h, --help              this text\n"
    "\n"
    "A device that takes no node of the model (vsim with a float model) is\n"
    "'skipped' in the default list and 'UNCHECKED' when listed.\n"
    "\n"
    "Exit status: 0 when every device matches ref, 1 when one does not, 64 usage\n"
    "error, 65 invalid model or data, 66 input file missing, 69 a device is\n"
    "unavailable, fails while running, or (listed) takes no node.\n";

static uint64_t rng(uint64_t *s)
{
    *s ^= *s >> 12, *s ^= *s << 25, *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

/* A random float32 tensor for model input i (declared shape, symbolic dims 1). */
static loom_status random_input(const loom_model *m, size_t i, uint64_t *seed, loom_tensor **out)
{
    loom_value_info vi;
    int64_t dims[LOOM_MAX_RANK];
    loom_status st = loom_model_input(m, i, &vi);
    float *d;
    if (st)
        return st;
    if (vi.dtype != LOOM_F32) {
        loom_cli_errorf("input \"%s\" is %s: give it with --input (only float32 inputs are made up)", vi.name,
                        loom_dtype_name(vi.dtype));
        return LOOM_E_INVALID_ARG;
    }
    for (int k = 0; k < vi.rank; k++)
        dims[k] = vi.dims[k] < 0 ? 1 : vi.dims[k];
    if ((st = loom_tensor_create(LOOM_F32, vi.rank, dims, out)) != LOOM_OK)
        return st;
    d = loom_tensor_data(*out);
    for (int64_t e = 0; e < loom_tensor_numel(*out); e++)
        d[e] = (float)((double)(rng(seed) >> 11) / 4503599627370496.0 - 1.0);
    return LOOM_OK;
}

/* A device that took no node checked nothing: not a match. */
static const char *verdict(const loom_validate_result *r, bool listed)
{
    if (r->nodes_on_device == 0)
        return listed ? "UNCHECKED" : "skipped";
    return r->match ? "match" : "MISMATCH";
}

static void print_text(const loom_validate_result *r, bool listed)
{
    char nodes[32], err[24], ratio[24], e2e[24];
    snprintf(nodes, sizeof nodes, "%zu of %zu", r->nodes_on_device, r->nodes);
    if (r->nodes_on_device) {
        snprintf(err, sizeof err, "%.3g", r->max_abs_error);
        snprintf(ratio, sizeof ratio, "%.3g", r->max_error_ratio);
        snprintf(e2e, sizeof e2e, isinf(r->output_max_abs_error) ? "differs" : "%.3g",
                 r->output_max_abs_error);
    } else {
        snprintf(err, sizeof err, "-");
        snprintf(ratio, sizeof ratio, "-");
        snprintf(e2e, sizeof e2e, "-");
    }
    printf("%-10s %-9s %-16s %-12s %-12s %-12s%s\n", r->device, verdict(r, listed), nodes, err, ratio, e2e,
           r->nodes_on_device ? "" : "(it takes no node of this model)");
    if (r->simulated_cycles)
        printf("  simulated: %" PRIu64 " kernel cycles per inference (cycle model %" PRIu64 ", %+.2f%%)\n",
               r->simulated_cycles, r->predicted_cycles,
               100.0 * ((double)r->predicted_cycles - (double)r->simulated_cycles) / (double)r->simulated_cycles);
    if (!r->match) {
        if (r->element < 0)
            printf("  first difference: node %zu \"%s\" (%s) on %s, output %zu: %s\n", r->node, r->node_name,
                   r->op_type, r->node_device, r->output, r->what);
        else
            printf("  first difference: node %zu \"%s\" (%s) on %s, output %zu element %" PRId64
                   ": %.9g vs ref %.9g (allowed %.3g)%s%s\n",
                   r->node, r->node_name, r->op_type, r->node_device, r->output, r->element, r->value,
                   r->ref_value, r->allowed, r->what[0] ? "; " : "", r->what);
    }
}

static json_t *result_json(const loom_validate_result *r, bool listed)
{
    json_t *o = json_object();
    json_object_set_new(o, "device", json_string(r->device));
    json_object_set_new(o, "verdict", json_string(verdict(r, listed)));
    json_object_set_new(o, "match", json_boolean(r->match && r->nodes_on_device > 0));
    json_object_set_new(o, "nodes", json_integer((json_int_t)r->nodes));
    json_object_set_new(o, "nodes_on_device", json_integer((json_int_t)r->nodes_on_device));
    json_object_set_new(o, "max_abs_error", json_real(r->max_abs_error));
    json_object_set_new(o, "max_error_ratio", json_real(r->max_error_ratio));
    /* null when a NaN, infinity or shape differs at the outputs */
    json_object_set_new(o, "output_max_abs_error",
                        isinf(r->output_max_abs_error) ? json_null() : json_real(r->output_max_abs_error));
    json_object_set_new(o, "simulated_cycles",
                        r->simulated_cycles ? json_integer((json_int_t)r->simulated_cycles) : json_null());
    json_object_set_new(o, "predicted_cycles",
                        r->simulated_cycles ? json_integer((json_int_t)r->predicted_cycles) : json_null());
    if (!r->match) {
        json_t *f = json_object();
        json_object_set_new(f, "node", json_integer((json_int_t)r->node));
        json_object_set_new(f, "name", json_string(r->node_name));
        json_object_set_new(f, "op_type", json_string(r->op_type));
        json_object_set_new(f, "device", json_string(r->node_device));
        json_object_set_new(f, "output", json_integer((json_int_t)r->output));
        json_object_set_new(f, "element", json_integer(r->element));
        json_object_set_new(f, "value", json_real(r->value));
        json_object_set_new(f, "ref_value", json_real(r->ref_value));
        json_object_set_new(f, "allowed", json_real(r->allowed));
        json_object_set_new(f, "what", json_string(r->what));
        json_object_set_new(o, "first_mismatch", f);
    }
    return o;
}

int loom_cmd_validate(int argc, char **argv)
{
    enum { O_DEVICES = 256, O_SEED, O_JSON };
    static const struct option opts[] = {{"devices", required_argument, NULL, O_DEVICES},
                                         {"input", required_argument, NULL, 'i'}, {"input-file", required_argument, NULL, O_INPUT_FILE},
                                         {"seed", required_argument, NULL, O_SEED},
                                         {"json", no_argument, NULL, O_JSON},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    loom_cli_inputs inputs = {0};
    const char *devices = NULL;
    char *list = NULL;
    bool as_json = false, all_match = true, unchecked = false;
    int c, rc = LOOM_EXIT_OK, verbosity = 0;
    uint64_t seed = 1;
    loom_model *m = NULL;
    loom_tensor **in = NULL, **made = NULL;
    size_t n_in = 0;
    json_t *arr = NULL;
    loom_validate_result *results = NULL;
    size_t n_results = 0;
    loom_status st;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":i:vh", opts, NULL)) != -1) {
        switch (c) {
        case O_DEVICES: devices = optarg; break;
        case 'i': case O_INPUT_FILE:
            if ((rc = loom_cli_inputs_add(&inputs, optarg, c == O_INPUT_FILE)) != 0)
                goto done;
            break;
        case O_SEED:
            if (!loom_cli_parse_u64(optarg, UINT64_MAX, &seed)) {
                rc = loom_cli_usage_error("validate", "--seed takes a whole number, not '%s'", optarg);
                goto done;
            }
            break;
        case O_JSON: as_json = true; break;
        case 'v': verbosity++; break;
        case 'h': fputs(validate_usage, stdout); goto done;
        default: rc = loom_cli_bad_option("validate", c, argv); goto done;
        }
    }
    if (argc - optind != 1) {
        rc = loom_cli_usage_error("validate", argc - optind ? "validate takes one model" : "a model is required");
        goto done;
    }
    loom_cli_logging(verbosity);
    if ((st = loom_model_load(argv[optind], NULL, &m)) != LOOM_OK) {
        rc = loom_cli_fail(st);
        goto done;
    }
    if ((rc = loom_cli_inputs_load(&inputs, m, "validate", false, true)) != 0)
        goto done;
    n_in = loom_model_input_count(m);
    in = calloc(n_in + 1, sizeof *in);
    made = calloc(n_in + 1, sizeof *made);
    if (!in || !made) {
        rc = LOOM_EXIT_SOFTWARE;
        goto done;
    }
    {
        uint64_t s = seed * 0x9e3779b97f4a7c15ULL + 7;
        for (size_t i = 0; i < n_in; i++) {
            loom_value_info vi;
            loom_model_input(m, i, &vi);
            for (int k = 0; k < inputs.n; k++)
                if (!strcmp(inputs.items[k].name, vi.name))
                    in[i] = inputs.items[k].t;
            if (!in[i]) {
                if ((st = random_input(m, i, &s, &made[i])) != LOOM_OK) {
                    rc = st == LOOM_E_INVALID_ARG ? LOOM_EXIT_USAGE : loom_cli_fail(st);
                    goto done;
                }
                in[i] = made[i];
            }
        }
    }
    /* the device list: as given, or every device but ref */
    if (devices) {
        list = strdup(devices);
    } else {
        size_t len = 1;
        for (size_t i = 0; i < loom_device_count(); i++) {
            loom_device_info d;
            loom_device_get(i, &d);
            len += strlen(d.name) + 1;
        }
        if ((list = calloc(1, len)))
            for (size_t i = 0; i < loom_device_count(); i++) {
                loom_device_info d;
                loom_device_get(i, &d);
                if (strcmp(d.name, "ref") != 0 && d.healthy)
                    strcat(strcat(list, list[0] ? "," : ""), d.name);
            }
    }
    if (!list) {
        rc = LOOM_EXIT_SOFTWARE;
        goto done;
    }
    if (!list[0]) {
        loom_cli_errorf("no device besides ref to validate (see loom devices)");
        rc = LOOM_EXIT_UNAVAILABLE;
        goto done;
    }
    /* every device first, then the report: an error prints no half table */
    for (char *save = NULL, *dev = strtok_r(list, ",", &save); dev; dev = strtok_r(NULL, ",", &save)) {
        loom_validate_result *more = realloc(results, (n_results + 1) * sizeof *results);
        if (!more) {
            rc = LOOM_EXIT_SOFTWARE;
            goto done;
        }
        results = more;
        if ((st = loom_validate(m, (const loom_tensor *const *)in, n_in, dev, &results[n_results])) != LOOM_OK) {
            rc = loom_cli_fail(st);
            goto done;
        }
        if (results[n_results].nodes_on_device == 0 && devices)
            unchecked = true;
        else if (results[n_results].nodes_on_device > 0)
            all_match &= results[n_results].match;
        n_results++;
    }
    if (n_results == 0) {
        rc = loom_cli_usage_error("validate", "--devices names no device");
        goto done;
    }
    if (as_json) {
        arr = json_array();
        for (size_t i = 0; i < n_results; i++)
            json_array_append_new(arr, result_json(&results[i], devices != NULL));
        json_dumpf(arr, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
    } else {
        printf("%-10s %-9s %-16s %-12s %-12s %-12s\n", "DEVICE", "VERDICT", "NODES ON IT", "WORST ERROR",
               "OF ALLOWED", "END TO END");
        for (size_t i = 0; i < n_results; i++)
            print_text(&results[i], devices != NULL);
    }
    if (!all_match) {
        loom_cli_errorf("a device's outputs differ from ref's");
        rc = 1;
    } else if (unchecked) {
        loom_cli_errorf("a listed device takes no node of this model: nothing was checked there");
        rc = LOOM_EXIT_UNAVAILABLE;
    }
done:
    json_decref(arr);
    free(results);
    for (size_t i = 0; made && i < n_in; i++)
        loom_tensor_free(made[i]);
    free(made);
    free(in);
    free(list);
    loom_cli_inputs_free(&inputs);
    loom_model_free(m);
    return rc;
}
