/* cmd-devices.c - `loom devices [--rates] [--json]`. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char devices_usage[] =
    "usage: loom devices [--rates] [--json]\n"
    "\n"
    "List the devices loom finds on this machine, in the automatic fallback\n"
    "order (accelerators, GPUs, CPUs behind a runtime such as PoCL, then the\n"
    "host reference 'ref'), with their type, name, platform, memory and status.\n"
    "The NAME column is what --device and --devices take.\n"
    "\n"
    "  --rates     also measure each device's rates for the cost model (what\n"
    "              --device auto places nodes by): fp32 and int8 GEMM, memory,\n"
    "              the fixed cost of a node and of a copy; a micro-benchmark of\n"
    "              about a second per device, once per machine (cached in the\n"
    "              loom cache folder; LOOM_CALIBRATE=force measures again). vsim\n"
    "              keeps its modelled rates (it is never placed automatically)\n"
    "  --json      print a JSON array instead of a table\n"
    "  -v          log what each backend found (or why it found nothing)\n"
    "  -h, --help  this text\n";

/* vsim is never placed automatically and simulates slowly: its rates stay
 * modelled */
static void measure(size_t i, const loom_device_info *d, loom_device_rates *r)
{
    loom_device_rates_get(i, strcmp(d->name, "vsim") != 0 && d->healthy, r);
}

static json_t *rates_json(size_t i)
{
    loom_device_info d;
    loom_device_rates r;
    json_t *o = json_object();
    loom_device_get(i, &d);
    measure(i, &d, &r);
    json_object_set_new(o, "gflops", json_real(r.gflops));
    json_object_set_new(o, "gops_int8", json_real(r.gops_int8));
    json_object_set_new(o, "mem_gbps", json_real(r.mem_gbps));
    json_object_set_new(o, "node_us", json_real(r.launch_us));
    json_object_set_new(o, "copy_gbps", r.host_memory ? json_null() : json_real(r.copy_gbps));
    json_object_set_new(o, "copy_us", r.host_memory ? json_null() : json_real(r.copy_us));
    json_object_set_new(o, "host_memory", json_boolean(r.host_memory));
    json_object_set_new(o, "source", json_string(r.measured ? "measured" : "modelled"));
    return o;
}

int loom_cmd_devices(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"rates", no_argument, NULL, 'r'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    bool as_json = false, rates = false;
    int c, verbosity = 0;
    size_t n;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":vh", opts, NULL)) != -1) {
        switch (c) {
        case 'j': as_json = true; break;
        case 'r': rates = true; break;
        case 'v': verbosity++; break;
        case 'h': fputs(devices_usage, stdout); return LOOM_EXIT_OK;
        default: return loom_cli_bad_option("devices", c, argv);
        }
    }
    if (optind != argc)
        return loom_cli_usage_error("devices", "devices takes no arguments");
    loom_cli_logging(verbosity ? 2 : 0); /* what each backend found is debug detail */
    n = loom_device_count();
    if (as_json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) {
            loom_device_info d;
            json_t *o = json_object();
            loom_device_get(i, &d);
            json_object_set_new(o, "name", json_string(d.name));
            json_object_set_new(o, "backend", json_string(d.backend));
            json_object_set_new(o, "type", json_string(d.kind));
            json_object_set_new(o, "model", json_string(d.model));
            json_object_set_new(o, "platform", json_string(d.platform));
            json_object_set_new(o, "memory_bytes", json_integer((json_int_t)d.memory_bytes));
            json_object_set_new(o, "compute_units", json_integer(d.compute_units));
            json_object_set_new(o, "healthy", json_boolean(d.healthy));
            json_object_set_new(o, "status", json_string(d.status));
            if (rates)
                json_object_set_new(o, "rates", rates_json(i));
            json_array_append_new(arr, o);
        }
        json_dumpf(arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(arr);
        return LOOM_EXIT_OK;
    }
    printf("%-10s %-7s %-11s %-10s %-6s %-32s %-28s %s\n", "NAME", "BACKEND", "TYPE", "MEMORY", "UNITS",
           "MODEL", "PLATFORM", "STATUS");
    for (size_t i = 0; i < n; i++) {
        loom_device_info d;
        char mem[32], units[16];
        loom_device_get(i, &d);
        if (d.memory_bytes)
            snprintf(mem, sizeof mem, "%.1f GiB", (double)d.memory_bytes / (1u << 30));
        else
            snprintf(mem, sizeof mem, "-");
        if (d.compute_units)
            snprintf(units, sizeof units, "%d", d.compute_units);
        else
            snprintf(units, sizeof units, "-");
        printf("%-10s %-7s %-11s %-10s %-6s %-32.32s %-28.28s %s\n", d.name, d.backend, d.kind, mem, units,
               d.model, d.platform, d.status);
    }
    if (rates) {
        printf("\nrates (the cost model's):\n%-10s %10s %10s %9s %9s %10s %9s  %s\n", "NAME", "fp32 GF/s",
               "int8 GOP/s", "mem GB/s", "node us", "copy GB/s", "copy us", "SOURCE");
        for (size_t i = 0; i < n; i++) {
            loom_device_info d;
            loom_device_rates r;
            char gbps[16], cus[16];
            loom_device_get(i, &d);
            measure(i, &d, &r);
            snprintf(gbps, sizeof gbps, "%.2f", r.copy_gbps);
            snprintf(cus, sizeof cus, "%.1f", r.copy_us);
            printf("%-10s %10.2f %10.2f %9.2f %9.2f %10s %9s  %s\n", d.name, r.gflops, r.gops_int8, r.mem_gbps,
                   r.launch_us, r.host_memory ? "-" : gbps, r.host_memory ? "-" : cus,
                   r.measured ? "measured" : "modelled");
        }
        printf("(copies: '-' where the device's buffers are host memory and cost nothing)\n");
    }
    return LOOM_EXIT_OK;
}
