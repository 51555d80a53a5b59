/* cmd-bench.c - `loom bench`: latency, throughput and, where a power
 * meter covers the device, energy per inference, per device, in one
 * schema; every figure says where it came from. This is the measured
 * part: modelled energy, projected boards and the report are still to
 * come (issue 12). */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char bench_usage[] =
    "usage: loom bench MODEL [--devices LIST|all] [--input NAME=FILE.npy]...\n"
    "                  [--duration S] [--repeats N] [--warmup N] [--json]\n"
    "\n"
    "Measure MODEL on each device (the nodes a device does not take run on\n"
    "ref, as loom run does; the table says how many ran on the device):\n"
    "after --warmup runs, --repeats windows of\n"
    "at least --duration seconds each, every inference timed. Per device:\n"
    "latency p50/p90/p99, mean, min and max, throughput, the spread of the\n"
    "windows' medians, and, where a power meter covers the device (RAPL for\n"
    "the CPU packages, NVML for NVIDIA GPUs, an Alveo card's xmc node), the\n"
    "energy per inference, with the idle power (read for a second before and\n"
    "after) subtracted too, inferences per joule and the energy-delay\n"
    "product. A device no meter covers has no energy figure, and the\n"
    "meters' absence is said (this is measured energy only: modelled energy\n"
    "and projected boards are not in loom bench yet; see loom dse).\n"
    "\n"
    "  -d, --devices LIST|all  devices, comma-separated (default all: every\n"
    "                          healthy device but vsim, which simulates)\n"
    "  -i, --input NAME=FILE   an input (.npy); inputs not given are seeded\n"
    "                          random values of the declared shape (a symbolic\n"
    "                          dimension is 1)\n"
    "      --duration S        seconds per window (default 10; 0.05 to 3600)\n"
    "      --repeats N         windows (default 3; 1 to 100)\n"
    "      --warmup N          untimed runs first (default 3)\n"
    "      --json              one JSON object, raw latencies included\n"
    "  -h, --help              this text\n"
    "\n"
    "Exit status: 0 done, 64 usage error, 65 invalid model or input, 66\n"
    "missing file, 69 a device unavailable or failed.\n";

/* the q-quantile of sorted v (nearest rank) */
static double quantile(const double *v, size_t n, double q)
{
    size_t k = (size_t)ceil(q * (double)n);
    return n ? v[k ? k - 1 : 0] : 0;
}

/* The meters that cover a device of this kind. */
static bool covers(const loom_meter *m, const char *kind)
{
    const char *mk = loom_meter_get_info(m)->kind;
    if (!strcmp(kind, "cpu") || !strcmp(kind, "host"))
        return !strcmp(mk, "rapl");
    if (!strcmp(kind, "gpu"))
        return !strcmp(mk, "nvml");
    return !strcmp(kind, "accelerator") && !strcmp(mk, "xmc");
}

/* The covering meters' energy since open, summed; false on a read error. */
static bool sample(loom_meter **m, size_t n, const char *kind, double *j)
{
    *j = 0;
    for (size_t i = 0; i < n; i++) {
        double x;
        if (!covers(m[i], kind))
            continue;
        if (loom_meter_sample(m[i], &x) != LOOM_OK)
            return false;
        *j += x;
    }
    return true;
}

static uint64_t updates(loom_meter **m, size_t n, const char *kind)
{
    uint64_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (covers(m[i], kind))
            u += loom_meter_get_info(m[i])->updates;
    return u;
}

/* Idle power over about s seconds, sampled every 0.1 s; < 0 on error. */
static double idle_w(loom_meter **m, size_t n, const char *kind, double s)
{
    double j0, j1, t0 = (loom_cli_now_us() * 1e-6), t;
    if (!sample(m, n, kind, &j0))
        return -1;
    do {
        nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
        if (!sample(m, n, kind, &j1))
            return -1;
        t = (loom_cli_now_us() * 1e-6);
    } while (t - t0 < s);
    return (j1 - j0) / (t - t0);
}

/* Seeded random values for every input not given. */
static void fill_random(loom_tensor *t, uint64_t seed)
{
    uint64_t x = seed * 2862933555777941757ull + 3037000493ull;
    size_t n = loom_tensor_nbytes(t);
    unsigned char *p = loom_tensor_data(t);
    loom_dtype dt = loom_tensor_dtype(t);
    if (dt == LOOM_F32) {
        float *f = (float *)p;
        for (size_t i = 0; i < n / 4; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            f[i] = (float)((double)(x >> 40) / (double)(1ull << 24)) * 2.0f - 1.0f;
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (unsigned char)(dt == LOOM_I64 || dt == LOOM_I32 ? 0 : (x >> 56) & 0x3f);
    }
}

/* One device: warm-up, the windows, the idle power; its JSON or NULL
 * (the message printed, *rc set). */
static json_t *bench_device(const loom_model *model, const loom_cli_inputs *in, const char *dev, const char *kind,
                            double duration, int repeats, int warmup, loom_meter **meters, size_t nm,
                            const char *why_not, int *rc)
{
    loom_session *s = NULL;
    /* as a user runs it: what the device does not take falls back to ref */
    loom_session_options so = {.input_shapes = in->shapes, .input_shape_count = (size_t)in->n, .devices = dev};
    loom_status st;
    double *lat = NULL, j_total = 0, t_total = 0, idle_before = -1, idle_after = -1, med[100];
    size_t n = 0, cap = 0;
    json_t *jd = NULL, *jr = json_array(), *jl = json_array(), *je;
    bool metered = false, meter_ok = true;
    for (size_t i = 0; i < nm; i++)
        metered |= covers(meters[i], kind);
    *rc = 0;
    if ((st = loom_session_create(model, &so, &s)) != LOOM_OK) {
        *rc = loom_cli_fail(st);
        goto out;
    }
    for (size_t i = 0; i < loom_session_input_count(s); i++) {
        loom_value_info vi;
        bool given = false;
        loom_tensor *t = NULL;
        loom_session_input(s, i, &vi);
        for (int k = 0; k < in->n; k++)
            if (!strcmp(in->items[k].name, vi.name)) {
                st = loom_session_set_input(s, vi.name, in->items[k].t);
                given = true;
            }
        if (!given) {
            if ((st = loom_tensor_create(vi.dtype, vi.rank, vi.dims, &t)) == LOOM_OK) {
                fill_random(t, i + 1);
                st = loom_session_set_input(s, vi.name, t);
                loom_tensor_free(t);
            }
        }
        if (st != LOOM_OK) {
            *rc = loom_cli_fail(st);
            goto out;
        }
    }
    for (int w = 0; w < warmup; w++)
        if ((st = loom_session_run(s)) != LOOM_OK) {
            *rc = loom_cli_fail(st);
            goto out;
        }
    if (metered)
        idle_before = idle_w(meters, nm, kind, duration < 1 ? duration : 1);
    for (int r = 0; r < repeats; r++) {
        double t0 = (loom_cli_now_us() * 1e-6), t1 = t0, j0 = 0, j1 = 0, last = t0;
        size_t first = n;
        json_t *o = json_object();
        if (metered && !sample(meters, nm, kind, &j0))
            meter_ok = false;
        while (t1 - t0 < duration || n == first) {
            double a = (loom_cli_now_us() * 1e-6), b;
            if ((st = loom_session_run(s)) != LOOM_OK) {
                json_decref(o);
                *rc = loom_cli_fail(st);
                goto out;
            }
            b = (loom_cli_now_us() * 1e-6);
            if (n == cap) {
                double *p = realloc(lat, (cap = cap ? 2 * cap : 1024) * sizeof *lat);
                if (!p) {
                    json_decref(o);
                    loom_cli_errorf("out of memory");
                    *rc = LOOM_EXIT_SOFTWARE;
                    goto out;
                }
                lat = p;
            }
            lat[n++] = (b - a) * 1e3;
            t1 = b;
            if (metered && b - last >= 0.1) { /* power meters integrate between samples */
                double x;
                if (!sample(meters, nm, kind, &x))
                    meter_ok = false;
                last = b;
            }
            if (isatty(STDERR_FILENO) && b - last >= 0.1)
                fprintf(stderr, "\rloom: bench %s: window %d/%d, %.1f s ", dev, r + 1, repeats, b - t0);
        }
        if (metered && !sample(meters, nm, kind, &j1))
            meter_ok = false;
        {
            size_t k = n - first;
            double *w = malloc(k * sizeof *w);
            if (w) {
                memcpy(w, lat + first, k * sizeof *w);
                qsort(w, k, sizeof *w, loom_cli_cmp_double);
                med[r] = quantile(w, k, 0.5);
                free(w);
            }
            json_object_set_new(o, "inferences", json_integer((json_int_t)k));
            json_object_set_new(o, "seconds", json_real(t1 - t0));
            json_object_set_new(o, "latency_p50_ms", json_real(med[r]));
            json_object_set_new(o, "energy_j", metered && meter_ok ? json_real(j1 - j0) : json_null());
        }
        json_array_append_new(jr, o);
        j_total += j1 - j0;
        t_total += t1 - t0;
    }
    if (isatty(STDERR_FILENO))
        fprintf(stderr, "\r%-60s\r", "");
    if (metered)
        idle_after = idle_w(meters, nm, kind, duration < 1 ? duration : 1);
    {
        double *v = malloc(n * sizeof *v), sum = 0, lo = med[0], hi = med[0], mid, mean, per = 0, idle;
        json_t *jlat = json_object();
        uint64_t upd = metered ? updates(meters, nm, kind) : 0;
        if (!v) {
            *rc = LOOM_EXIT_SOFTWARE;
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            sum += lat[i];
            json_array_append_new(jl, json_real(lat[i]));
        }
        memcpy(v, lat, n * sizeof *v);
        qsort(v, n, sizeof *v, loom_cli_cmp_double);
        for (int r = 1; r < repeats; r++)
            lo = med[r] < lo ? med[r] : lo, hi = med[r] > hi ? med[r] : hi;
        mid = quantile(v, n, 0.5);
        mean = sum / (double)n;
        jd = json_object();
        json_object_set_new(jd, "device", json_string(dev));
        json_object_set_new(jd, "kind", json_string(kind));
        {
            size_t on = 0, total = loom_session_node_count(s);
            for (size_t i = 0; i < total; i++) {
                loom_node_placement np;
                if (loom_session_placement(s, i, &np) == LOOM_OK && !strcmp(np.device, dev))
                    on++;
            }
            json_object_set_new(jd, "nodes_on_device", json_integer((json_int_t)on));
            json_object_set_new(jd, "nodes", json_integer((json_int_t)total));
        }
        json_object_set_new(jd, "provenance", json_string("measured: wall time of each inference on this host"));
        json_object_set_new(jlat, "p50", json_real(mid));
        json_object_set_new(jlat, "p90", json_real(quantile(v, n, 0.9)));
        json_object_set_new(jlat, "p99", json_real(quantile(v, n, 0.99)));
        json_object_set_new(jlat, "mean", json_real(mean));
        json_object_set_new(jlat, "min", json_real(v[0]));
        json_object_set_new(jlat, "max", json_real(v[n - 1]));
        json_object_set_new(jd, "latency_ms", jlat);
        json_object_set_new(jd, "inferences", json_integer((json_int_t)n));
        json_object_set_new(jd, "throughput_per_s", json_real((double)n / t_total));
        json_object_set_new(jd, "window_median_spread", json_real(mid > 0 ? (hi - lo) / mid : 0));
        json_object_set_new(jd, "windows", jr);
        jr = NULL;
        je = json_object();
        if (!metered || !meter_ok || upd == 0 || idle_before < 0 || idle_after < 0) {
            char why[600];
            snprintf(why, sizeof why, "%s",
                     !metered ? "no meter covers this device here"
                     : !meter_ok ? "a meter could not be read during the run"
                                 : upd == 0 ? "the meter did not change during the run (stalled)"
                                            : "the idle power could not be read");
            json_object_set_new(je, "provenance", json_null());
            json_object_set_new(je, "why_not", json_string(why));
            if (!metered && why_not[0])
                json_object_set_new(je, "meters_absent", json_string(why_not));
        } else {
            char prov[600] = "measured:";
            for (size_t i = 0; i < nm; i++)
                if (covers(meters[i], kind)) {
                    const loom_meter_info *mi = loom_meter_get_info(meters[i]);
                    size_t len = strlen(prov);
                    snprintf(prov + len, sizeof prov - len, " %s (%s; %s)", mi->name, mi->boundary, mi->unit);
                }
            per = j_total / (double)n;
            idle = 0.5 * (idle_before + idle_after);
            json_object_set_new(je, "provenance", json_string(prov));
            json_object_set_new(je, "per_inference_j", json_real(per));
            json_object_set_new(je, "per_inference_above_idle_j",
                                json_real((j_total - idle * t_total) / (double)n));
            json_object_set_new(je, "idle_w_before", json_real(idle_before));
            json_object_set_new(je, "idle_w_after", json_real(idle_after));
            json_object_set_new(je, "average_w", json_real(j_total / t_total));
            json_object_set_new(je, "inferences_per_joule", json_real(per > 0 ? 1 / per : 0));
            json_object_set_new(je, "energy_delay_js", json_real(per * mean * 1e-3));
            json_object_set_new(je, "meter_updates", json_integer((json_int_t)upd));
            if (upd < 100)
                json_object_set_new(je, "warning", json_string("fewer than 100 meter updates in the windows: "
                                                               "lengthen --duration"));
        }
        json_object_set_new(jd, "energy", je);
        json_object_set_new(jd, "latencies_ms", jl);
        jl = NULL;
        free(v);
    }
out:
    json_decref(jr);
    json_decref(jl);
    free(lat);
    loom_session_free(s);
    return jd;
}

static void print_table(const json_t *root)
{
    const json_t *jd;
    size_t i;
    printf("%s: %.3g s x %d windows per device\n\n", json_string_value(json_object_get(root, "model")),
           json_number_value(json_object_get(root, "duration_s")),
           (int)json_integer_value(json_object_get(root, "repeats")));
    printf("%-12s %7s %9s %9s %9s %9s %10s %7s %12s %12s %9s\n", "device", "nodes", "p50 ms", "p90 ms", "p99 ms", "mean ms",
           "inf/s", "spread", "J/inf", "J/inf-idle", "inf/J");
    json_array_foreach(json_object_get(root, "devices"), i, jd) {
        const json_t *l = json_object_get(jd, "latency_ms"), *e = json_object_get(jd, "energy");
        char nodes[32];
        snprintf(nodes, sizeof nodes, "%d/%d", (int)json_integer_value(json_object_get(jd, "nodes_on_device")),
                 (int)json_integer_value(json_object_get(jd, "nodes")));
        printf("%-12s %7s %9.3f %9.3f %9.3f %9.3f %10.1f %6.1f%%", json_string_value(json_object_get(jd, "device")),
               nodes,
               json_number_value(json_object_get(l, "p50")), json_number_value(json_object_get(l, "p90")),
               json_number_value(json_object_get(l, "p99")), json_number_value(json_object_get(l, "mean")),
               json_number_value(json_object_get(jd, "throughput_per_s")),
               100 * json_number_value(json_object_get(jd, "window_median_spread")));
        if (json_is_number(json_object_get(e, "per_inference_j")))
            printf(" %12.4g %12.4g %9.1f\n", json_number_value(json_object_get(e, "per_inference_j")),
                   json_number_value(json_object_get(e, "per_inference_above_idle_j")),
                   json_number_value(json_object_get(e, "inferences_per_joule")));
        else
            printf(" %12s %12s %9s\n", "-", "-", "-");
    }
    printf("\nlatency: measured on this host. energy:");
    json_array_foreach(json_object_get(root, "devices"), i, jd) {
        const json_t *e = json_object_get(jd, "energy");
        const char *p = json_string_value(json_object_get(e, "provenance"));
        printf("\n  %s: %s", json_string_value(json_object_get(jd, "device")),
               p ? p : json_string_value(json_object_get(e, "why_not")));
    }
    printf("\n");
    if (json_array_size(json_object_get(root, "meters_absent")))
        printf("meters not here:\n");
    json_array_foreach(json_object_get(root, "meters_absent"), i, jd)
        printf("  %s\n", json_string_value(jd));
}

int loom_cmd_bench(int argc, char **argv)
{
    enum { O_DURATION = 256, O_REPEATS, O_WARMUP, O_JSON };
    static const struct option opts[] = {{"devices", required_argument, NULL, 'd'},
                                         {"input", required_argument, NULL, 'i'},
                                         {"duration", required_argument, NULL, O_DURATION},
                                         {"repeats", required_argument, NULL, O_REPEATS},
                                         {"warmup", required_argument, NULL, O_WARMUP},
                                         {"json", no_argument, NULL, O_JSON},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *devices = "all";
    double duration = 10;
    uint64_t repeats = 3, warmup = 3;
    bool as_json = false;
    int c, rc = 0;
    loom_cli_inputs inputs = {0};
    loom_model *m = NULL;
    loom_meter **meters = NULL;
    size_t nm = 0;
    char why[4096] = "", list[2048];
    json_t *root = NULL, *jdev, *jabs;
    loom_status st;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":d:i:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': devices = optarg; break;
        case 'i':
            if ((rc = loom_cli_inputs_add(&inputs, optarg, false)) != 0)
                goto done;
            break;
        case O_DURATION: {
            char *end;
            duration = strtod(optarg, &end);
            if (*end || !(duration >= 0.05 && duration <= 3600)) {
                rc = loom_cli_usage_error("bench", "--duration takes seconds from 0.05 to 3600, not '%s'", optarg);
                goto done;
            }
            break;
        }
        case O_REPEATS:
            if (!loom_cli_parse_u64(optarg, 100, &repeats) || repeats == 0) {
                rc = loom_cli_usage_error("bench", "--repeats takes a count from 1 to 100, not '%s'", optarg);
                goto done;
            }
            break;
        case O_WARMUP:
            if (!loom_cli_parse_u64(optarg, 10000, &warmup)) {
                rc = loom_cli_usage_error("bench", "--warmup takes a count from 0 to 10000, not '%s'", optarg);
                goto done;
            }
            break;
        case O_JSON: as_json = true; break;
        case 'h': fputs(bench_usage, stdout); goto done;
        default: rc = loom_cli_bad_option("bench", c, argv); goto done;
        }
    }
    if (optind != argc - 1) {
        rc = loom_cli_usage_error("bench", "bench takes exactly one MODEL argument");
        goto done;
    }
    loom_cli_logging(0);
    if ((st = loom_model_load(argv[optind], NULL, &m)) != LOOM_OK) {
        rc = loom_cli_fail(st);
        goto done;
    }
    if ((rc = loom_cli_inputs_load(&inputs, m, "bench", false, true)) != 0)
        goto done;
    /* the devices: named, or every healthy one but the simulator */
    list[0] = '\0';
    if (strcmp(devices, "all") == 0) {
        for (size_t i = 0; i < loom_device_count(); i++) {
            loom_device_info di;
            if (loom_device_get(i, &di) != LOOM_OK || !di.healthy || !strcmp(di.name, "vsim"))
                continue;
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", list[0] ? "," : "", di.name);
        }
    } else if (strlen(devices) < sizeof list) {
        strcpy(list, devices);
    } else {
        rc = loom_cli_usage_error("bench", "--devices: the list is too long");
        goto done;
    }
    if ((st = loom_meters_open(&meters, &nm, why, sizeof why)) != LOOM_OK) {
        rc = loom_cli_fail(st);
        goto done;
    }
    root = json_object();
    json_object_set_new(root, "model", json_string(argv[optind]));
    json_object_set_new(root, "duration_s", json_real(duration));
    json_object_set_new(root, "repeats", json_integer((json_int_t)repeats));
    json_object_set_new(root, "warmup", json_integer((json_int_t)warmup));
    {
        json_t *jm = json_array();
        for (size_t i = 0; i < nm; i++) {
            const loom_meter_info *mi = loom_meter_get_info(meters[i]);
            json_array_append_new(jm, json_pack("{s:s, s:s, s:s, s:s, s:f}", "name", mi->name, "kind", mi->kind,
                                                "boundary", mi->boundary, "unit", mi->unit, "resolution_j",
                                                mi->resolution_j));
        }
        json_object_set_new(root, "meters", jm);
        jabs = json_array();
        for (char *p = why, *nl; *p; p = nl + 1) {
            if (!(nl = strchr(p, '\n')))
                break;
            json_array_append_new(jabs, json_stringn(p, (size_t)(nl - p)));
        }
        json_object_set_new(root, "meters_absent", jabs);
    }
    jdev = json_array();
    json_object_set_new(root, "devices", jdev);
    {
        char *save = NULL;
        for (char *d = strtok_r(list, ",", &save); d; d = strtok_r(NULL, ",", &save)) {
            const char *kind = "host";
            json_t *jd;
            for (size_t i = 0; i < loom_device_count(); i++) {
                loom_device_info di;
                if (loom_device_get(i, &di) == LOOM_OK && !strcmp(di.name, d))
                    kind = di.kind;
            }
            if (!(jd = bench_device(m, &inputs, d, kind, duration, (int)repeats, (int)warmup, meters, nm, why, &rc)))
                goto done;
            json_array_append_new(jdev, jd);
        }
    }
    if (json_array_size(jdev) == 0) {
        loom_cli_errorf("no device to measure (--devices %s)", devices);
        rc = LOOM_EXIT_USAGE;
        goto done;
    }
    if (as_json) {
        json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
    } else {
        print_table(root);
    }
done:
    json_decref(root);
    loom_meters_free(meters, nm);
    loom_cli_inputs_free(&inputs);
    loom_model_free(m);
    return rc;
}
