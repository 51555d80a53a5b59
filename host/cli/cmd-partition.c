/* cmd-partition.c - `loom partition MODEL [--devices LIST] [--json]`. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char partition_usage[] =
    "usage: loom partition MODEL [--devices LIST] [--strict] [--input NAME=FILE.npy]... [--json]\n"
    "\n"
    "Show where every node of the model would run and why: the device each\n"
    "node is placed on, the reason the partitioner recorded, and the\n"
    "subgraphs (consecutive nodes on one device) with the copies at their\n"
    "boundaries, each with the cost model's predicted time (from the devices'\n"
    "rates: measured once per machine in auto mode, see loom devices --rates).\n"
    "The model is not run.\n"
    "\n"
    "  -d, --devices LIST         devices in priority order, comma-separated\n"
    "                             (default: auto, every device in fallback order;\n"
    "                             'ref' is appended unless --strict)\n"
    "      --strict               fail when a node has no device in LIST\n"
    "  -i, --input NAME=FILE.npy  fix an input's shape from a file's header\n"
    "                             (symbolic dims are 1 otherwise); NAME is the\n"
    "                             longest part before an '=' that names an input\n"
    "      --input-file FILE.npy  the only input's file, its name never split at '='\n"
    "      --json                 print one JSON object instead of text\n"
    "  -v, --verbose              more messages on stderr\n"
    "  -h, --help                 this text\n";

int loom_cmd_partition(int argc, char **argv)
{
    static const struct option opts[] = {
        {"devices", required_argument, NULL, 'd'}, {"device", required_argument, NULL, 'd'},
        {"strict", no_argument, NULL, 's'},        {"input", required_argument, NULL, 'i'}, {"input-file", required_argument, NULL, O_INPUT_FILE},
        {"json", no_argument, NULL, 'j'},          {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    const char *devices = NULL;
    bool strict = false, as_json = false;
    int c, verbosity = 0, rc = LOOM_EXIT_OK;
    loom_cli_inputs inputs = {0};
    loom_model *m = NULL;
    loom_session *s = NULL;
    loom_status st;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":d:i:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'd': devices = optarg; break;
        case 's': strict = true; break;
        case 'i': case O_INPUT_FILE:
            if ((rc = loom_cli_inputs_add(&inputs, optarg, c == O_INPUT_FILE)) != 0)
                goto done;
            break;
        case 'j': as_json = true; break;
        case 'v': verbosity++; break;
        case 'h': fputs(partition_usage, stdout); goto done;
        default: rc = loom_cli_bad_option("partition", c, argv); goto done;
        }
    }
    if (optind != argc - 1) {
        rc = loom_cli_usage_error("partition", "partition takes exactly one MODEL argument");
        goto done;
    }
    loom_cli_logging(verbosity);
    if ((st = loom_model_load(argv[optind], NULL, &m)) != LOOM_OK) {
        rc = loom_cli_fail(st);
        goto done;
    }
    if ((rc = loom_cli_inputs_load(&inputs, m, "partition", false, false)) != 0)
        goto done;
    st = loom_session_create(m,
                             &(loom_session_options){.input_shapes = inputs.shapes,
                                                     .input_shape_count = (size_t)inputs.n,
                                                     .devices = devices, .strict = strict,
                                                     .infer_only = true},
                             &s);
    if (st != LOOM_OK) {
        rc = loom_cli_fail(st);
        goto done;
    }
    if (as_json) {
        json_t *root = json_object(), *nodes = json_array(), *sgs = json_array();
        json_object_set_new(root, "model", json_string(argv[optind]));
        json_object_set_new(root, "devices", json_string(devices ? devices : "auto"));
        for (size_t i = 0; i < loom_session_node_count(s); i++) {
            loom_node_placement p;
            json_t *o = json_object();
            loom_session_placement(s, i, &p);
            json_object_set_new(o, "name", json_string(p.name));
            json_object_set_new(o, "op", json_string(p.op_type));
            json_object_set_new(o, "fused", json_string(p.fused));
            json_object_set_new(o, "device", json_string(p.device));
            json_object_set_new(o, "subgraph", json_integer(p.subgraph));
            json_object_set_new(o, "reason", json_string(p.reason));
            json_object_set_new(o, "predicted_us", json_real(loom_session_node_predicted_us(s, i)));
            json_array_append_new(nodes, o);
        }
        for (size_t i = 0; i < loom_session_subgraph_count(s); i++) {
            loom_subgraph_info g;
            json_t *o = json_object();
            loom_session_subgraph(s, i, &g);
            json_object_set_new(o, "device", json_string(g.device));
            json_object_set_new(o, "first_node", json_integer((json_int_t)g.first_node));
            json_object_set_new(o, "nodes", json_integer((json_int_t)g.node_count));
            json_object_set_new(o, "copies_in", json_integer((json_int_t)g.copies_in));
            json_object_set_new(o, "bytes_in", json_integer((json_int_t)g.bytes_in));
            json_object_set_new(o, "copies_out", json_integer((json_int_t)g.copies_out));
            json_object_set_new(o, "bytes_out", json_integer((json_int_t)g.bytes_out));
            json_object_set_new(o, "predicted_us", json_real(loom_session_subgraph_predicted_us(s, i)));
            json_array_append_new(sgs, o);
        }
        json_object_set_new(root, "predicted_us", json_real(loom_session_predicted_us(s)));
        json_object_set_new(root, "nodes", nodes);
        json_object_set_new(root, "subgraphs", sgs);
        json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(root);
    } else {
        printf("%-4s %-28s %-20s %-10s %12s  %s\n", "#", "NODE", "OP", "DEVICE", "PREDICTED", "REASON");
        for (size_t i = 0; i < loom_session_node_count(s); i++) {
            loom_node_placement p;
            char op[64];
            loom_session_placement(s, i, &p);
            snprintf(op, sizeof op, "%s%s%s", p.op_type, *p.fused ? "+" : "", p.fused);
            printf("%-4zu %-28.28s %-20.20s %-10s %9.1f us  %s\n", i, *p.name ? p.name : "-", op, p.device,
                   loom_session_node_predicted_us(s, i), p.reason);
        }
        printf("\nsubgraphs: %zu\n", loom_session_subgraph_count(s));
        for (size_t i = 0; i < loom_session_subgraph_count(s); i++) {
            loom_subgraph_info g;
            loom_session_subgraph(s, i, &g);
            printf("  %zu: %-10s nodes %zu-%zu", i, g.device, g.first_node,
                   g.first_node + g.node_count - 1);
            if (g.copies_in || g.copies_out)
                printf(", copies in %zu (%llu bytes), out %zu (%llu bytes)", g.copies_in,
                       (unsigned long long)g.bytes_in, g.copies_out, (unsigned long long)g.bytes_out);
            printf(", predicted %.1f us\n", loom_session_subgraph_predicted_us(s, i));
        }
        printf("predicted per run: %.1f us\n", loom_session_predicted_us(s));
    }
done:
    loom_cli_inputs_free(&inputs);
    loom_session_free(s);
    loom_model_free(m);
    return rc;
}
