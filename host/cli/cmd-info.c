/* cmd-info.c - `loom info MODEL [--json]`. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char info_usage[] =
    "usage: loom info MODEL [--json]\n"
    "\n"
    "Show a model's inputs and outputs (declared types; symbolic dims by\n"
    "name), the operators it uses and its parameter count, then check that\n"
    "loom can plan it (shape inference and constant folding with every\n"
    "symbolic dim set to 1) and show the inferred output shapes.\n"
    "\n"
    "  --json      print one JSON object instead of text\n"
    "  -h, --help  this text\n";

static json_t *value_json(const loom_value_info *vi)
{
    json_t *o = json_object(), *shape = json_array();
    json_object_set_new(o, "name", json_string(vi->name));
    json_object_set_new(o, "dtype", json_string(loom_dtype_name(vi->dtype)));
    for (int i = 0; i < vi->rank; i++)
        json_array_append_new(shape, vi->dims[i] >= 0 ? json_integer(vi->dims[i])
                                     : json_string(vi->dim_params[i] ? vi->dim_params[i] : "?"));
    json_object_set_new(o, "shape", vi->rank >= 0 ? shape : (json_decref(shape), json_null()));
    return o;
}

int loom_cmd_info(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    bool as_json = false;
    int c;
    const char *path;
    loom_model *m = NULL;
    loom_session *s = NULL;
    loom_model_summary sum;
    loom_value_info vi;
    loom_status st, plan_st;
    char buf[512];
    char plan_err[1024] = "";

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': as_json = true; break;
        case 'h': fputs(info_usage, stdout); return LOOM_EXIT_OK;
        default: return loom_cli_bad_option("info", c, argv);
        }
    }
    if (optind != argc - 1)
        return loom_cli_usage_error("info", "info takes exactly one MODEL argument");
    path = argv[optind];
    loom_cli_logging(0);
    if ((st = loom_model_load(path, NULL, &m)) != LOOM_OK)
        return loom_cli_fail(st);
    loom_model_summary_get(m, &sum);
    plan_st = loom_session_create(m, &(loom_session_options){.infer_only = true}, &s);
    if (plan_st != LOOM_OK)
        snprintf(plan_err, sizeof plan_err, "%s", loom_last_error());

    if (as_json) {
        json_t *root = json_object(), *ins = json_array(), *outs = json_array(), *ops = json_object();
        json_t *params = json_object(), *plan = json_object();
        json_object_set_new(root, "model", json_string(path));
        json_object_set_new(root, "producer", json_string(sum.producer));
        json_object_set_new(root, "producer_version", json_string(sum.producer_version));
        json_object_set_new(root, "ir_version", json_integer(sum.ir_version));
        json_object_set_new(root, "opset", json_integer(sum.opset));
        for (size_t i = 0; i < loom_model_input_count(m); i++) {
            loom_model_input(m, i, &vi);
            json_array_append_new(ins, value_json(&vi));
        }
        for (size_t i = 0; i < loom_model_output_count(m); i++) {
            json_t *o;
            loom_model_output(m, i, &vi);
            o = json_object();
            json_object_set_new(o, "name", json_string(vi.name));
            if (s) {
                loom_value_info si;
                loom_session_output(s, i, &si);
                json_object_set_new(o, "inferred", value_json(&si));
            }
            json_array_append_new(outs, o);
        }
        json_object_set_new(root, "inputs", ins);
        json_object_set_new(root, "outputs", outs);
        json_object_set_new(root, "nodes", json_integer((json_int_t)sum.node_count));
        for (size_t i = 0; i < loom_model_op_type_count(m); i++) {
            const char *op;
            size_t count;
            loom_model_op_type(m, i, &op, &count);
            json_object_set_new(ops, op, json_integer((json_int_t)count));
        }
        json_object_set_new(root, "ops", ops);
        json_object_set_new(params, "tensors", json_integer((json_int_t)sum.param_count));
        json_object_set_new(params, "elements", json_integer((json_int_t)sum.param_elements));
        json_object_set_new(params, "bytes", json_integer((json_int_t)sum.param_bytes));
        json_object_set_new(root, "params", params);
        json_object_set_new(plan, "ok", json_boolean(s != NULL));
        if (s)
            json_object_set_new(plan, "nodes", json_integer((json_int_t)loom_session_node_count(s)));
        else
            json_object_set_new(plan, "error", json_string(plan_err));
        json_object_set_new(root, "plan", plan);
        json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(root);
    } else {
        printf("model     %s\n", path);
        printf("producer  %s %s\n", *sum.producer ? sum.producer : "(unknown)", sum.producer_version);
        printf("format    ONNX IR %lld, opset %lld\n", (long long)sum.ir_version, (long long)sum.opset);
        printf("inputs\n");
        for (size_t i = 0; i < loom_model_input_count(m); i++) {
            loom_model_input(m, i, &vi);
            printf("  %-20s %s\n", vi.name, loom_cli_type_str(&vi, buf, sizeof buf));
        }
        printf("outputs%s\n", s ? " (inferred, symbolic dims = 1)" : "");
        for (size_t i = 0; i < loom_model_output_count(m); i++) {
            loom_model_output(m, i, &vi);
            if (s) {
                loom_value_info si;
                loom_session_output(s, i, &si);
                printf("  %-20s %s\n", vi.name, loom_cli_type_str(&si, buf, sizeof buf));
            } else {
                printf("  %s\n", vi.name);
            }
        }
        printf("ops       %zu nodes:", sum.node_count);
        for (size_t i = 0; i < loom_model_op_type_count(m); i++) {
            const char *op;
            size_t count;
            loom_model_op_type(m, i, &op, &count);
            printf("%s %s x%zu", i ? "," : "", op, count);
        }
        printf("\nparams    %zu tensors, %llu elements, %llu bytes\n", sum.param_count,
               (unsigned long long)sum.param_elements, (unsigned long long)sum.param_bytes);
        if (s)
            printf("plan      ok: %zu nodes to run after constant folding and fusion\n",
                   loom_session_node_count(s));
        else
            printf("plan      FAILED: %s\n", plan_err);
    }
    loom_session_free(s);
    loom_model_free(m);
    if (plan_st != LOOM_OK) {
        loom_cli_print_error(plan_err);
        return loom_cli_exit_code(plan_st);
    }
    return LOOM_EXIT_OK;
}
