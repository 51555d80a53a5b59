/* cmd-bench.c - `loom bench`: latency, throughput and energy per
 * inference, per device and batch size, in one schema; every figure says
 * where it came from. Measured here: latency on every device, energy
 * where a power meter covers the device (else modelled, bench-project.c).
 * Projected: every board in boards/ (bench-project.c), in rows of their
 * own. The report page is bench-report.c. */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli-bench.h"

static const char bench_usage[] =
    "usage: loom bench MODEL [--devices LIST|all|none] [--boards LIST|all|none]\n"
    "                  [--batch N]... [--input NAME=FILE.npy]... [--duration S]\n"
    "                  [--repeats N] [--warmup N] [--model] [--host DEVICE]\n"
    "                  [--energy TABLE|none] [--json | --csv] [--report DIR]\n"
    "\n"
    "Latency, throughput and energy per inference of MODEL, measured on the\n"
    "devices here and projected onto the boards in boards/, one row each per\n"
    "batch size. Every figure says where it came from: measured (which meter),\n"
    "modelled (which table) or projected (a device that is not here); projected\n"
    "rows are never mixed with measured ones.\n"
    "\n"
    "Measured, per device (the nodes a device does not take run on ref, as\n"
    "loom run does; the table says how many ran on the device): after\n"
    "--warmup runs, --repeats windows of at least --duration seconds each,\n"
    "every inference timed: latency p50/p90/p99, mean, min and max,\n"
    "throughput, the spread of the windows' medians, and the time per node\n"
    "(a profiled pass after the windows). Energy where a power meter covers\n"
    "the device (RAPL for the CPU packages, NVML for NVIDIA GPUs, an Alveo\n"
    "card's xmc node), with the idle power (read before and after)\n"
    "subtracted too; where none does, modelled: every node's MACs, other\n"
    "arithmetic and bytes at the energy table's per-action energies (a lower\n"
    "bound: no static power).\n"
    "\n"
    "Projected, per board: an FPGA board runs the int8 GEMM nodes on loom's\n"
    "systolic array, their cycles from the Verilated RTL (vsim; with --model\n"
    "the analytic cycle model) at the board's kernel clock and memory rate,\n"
    "the other nodes as measured on --host here, the copies over its PCIe\n"
    "link; energy from the table (the array's activity, scaled to the board's\n"
    "process) and a bound from its power limit. GPU and CPU boards get a\n"
    "roofline per node (peak rate, memory bandwidth, a launch overhead).\n"
    "\n"
    "  -d, --devices LIST|all|none  devices to measure, comma-separated\n"
    "                          (default all: every healthy device but vsim)\n"
    "  -b, --boards LIST|all|none  boards to project (default all; see loom\n"
    "                          boards)\n"
    "      --batch N           the inputs' first dimension (1 to 65536); give\n"
    "                          it more than once for several rows (default: the\n"
    "                          model's own, a symbolic one 1)\n"
    "  -i, --input NAME=FILE   an input (.npy); inputs not given are seeded\n"
    "                          random values of the declared shape (a symbolic\n"
    "                          dimension is 1)\n"
    "      --duration S        seconds per window (default 10; 0.05 to 3600)\n"
    "      --repeats N         windows (default 3; 1 to 100)\n"
    "      --warmup N          untimed runs first (default 3)\n"
    "      --model             project FPGA boards with the analytic cycle\n"
    "                          model instead of simulating the RTL (faster)\n"
    "      --host DEVICE       where a projection's host part is measured\n"
    "                          (default ref)\n"
    "      --energy TABLE|none  the per-action energy table (default\n"
    "                          horowitz-45nm; none: no modelled energy)\n"
    "      --json              one JSON object, raw latencies included\n"
    "      --csv               one CSV row per device or board and batch\n"
    "      --report DIR        also write DIR/index.html (charts, every figure\n"
    "                          with its provenance), bench.json and bench.csv\n"
    "  -h, --help              this text\n"
    "\n"
    "Exit status: 0 done, 64 usage error, 65 invalid model, input or board\n"
    "file, 66 missing file, 69 a device unavailable or failed, 73 a report\n"
    "file that cannot be written.\n";

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

loom_session *bench_session(const bench_setup *b, const char *devices, bool profile, int *rc)
{
    loom_session *s = NULL;
    /* as a user runs it: what the devices do not take falls back to ref */
    loom_session_options so = {.input_shapes = b->shapes, .input_shape_count = b->n_shapes, .devices = devices,
                               .profile = profile};
    loom_status st;
    *rc = 0;
    if ((st = loom_session_create(b->model, &so, &s)) != LOOM_OK) {
        *rc = loom_cli_fail(st);
        return NULL;
    }
    for (size_t i = 0; i < loom_session_input_count(s); i++) {
        loom_value_info vi;
        bool given = false;
        loom_tensor *t = NULL;
        loom_session_input(s, i, &vi);
        for (int k = 0; k < b->given->n; k++)
            if (!strcmp(b->given->items[k].name, vi.name)) {
                st = loom_session_set_input(s, vi.name, b->given->items[k].t);
                given = true;
            }
        if (!given && (st = loom_tensor_create(vi.dtype, vi.rank, vi.dims, &t)) == LOOM_OK) {
            fill_random(t, i + 1);
            st = loom_session_set_input(s, vi.name, t);
            loom_tensor_free(t);
        }
        if (st != LOOM_OK) {
            *rc = loom_cli_fail(st);
            loom_session_free(s);
            return NULL;
        }
    }
    return s;
}

/* The per-node times of dev: a profiled session, one warm-up and three
 * runs; NULL with *rc set. */
static json_t *profile_nodes(const bench_setup *b, const char *dev, int *rc)
{
    loom_session *s = bench_session(b, dev, true, rc);
    json_t *a;
    loom_status st = LOOM_OK;
    if (!s)
        return NULL;
    for (int k = 0; k < 4 && st == LOOM_OK; k++) {
        if (k == 1)
            loom_session_profile_reset(s);
        st = loom_session_run(s);
    }
    if (st != LOOM_OK) {
        *rc = loom_cli_fail(st);
        loom_session_free(s);
        return NULL;
    }
    a = bench_node_times(s);
    loom_session_free(s);
    return a;
}

/* raw latencies kept in the JSON, per device and batch */
#define RAW_MAX 100000

typedef struct {
    double duration;
    int repeats, warmup;
    const loom_board *table; /* energy table, or NULL */
} bench_opts;

/* One device: warm-up, the windows, the idle power; its JSON or NULL
 * (the message printed, *rc set). */
static json_t *bench_device(const bench_setup *b, const char *dev, const char *kind, const bench_opts *bo,
                            loom_meter **meters, size_t nm, const char *why_not, int *rc)
{
    loom_session *s = NULL;
    loom_status st;
    double duration = bo->duration;
    int repeats = bo->repeats, warmup = bo->warmup, batch = b->batch;
    double *lat = NULL, j_total = 0, t_total = 0, idle_before = -1, idle_after = -1, med[100];
    size_t n = 0, cap = 0;
    json_t *jd = NULL, *jr = json_array(), *jl = json_array(), *je;
    bool metered = false, meter_ok = true;
    for (size_t i = 0; i < nm; i++)
        metered |= covers(meters[i], kind);
    if (!(s = bench_session(b, dev, false, rc)))
        goto out;
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
            if (i < RAW_MAX)
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
        json_object_set_new(jd, "batch", json_integer(batch));
        json_object_set_new(jd, "projected", json_false());
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
        json_object_set_new(jd, "latency_provenance",
                            json_string(batch > 1 ? "measured: wall time of each run (a batch) on this host"
                                                  : "measured: wall time of each inference on this host"));
        json_object_set_new(jlat, "p50", json_real(mid));
        json_object_set_new(jlat, "p90", json_real(quantile(v, n, 0.9)));
        json_object_set_new(jlat, "p99", json_real(quantile(v, n, 0.99)));
        json_object_set_new(jlat, "mean", json_real(mean));
        json_object_set_new(jlat, "min", json_real(v[0]));
        json_object_set_new(jlat, "max", json_real(v[n - 1]));
        json_object_set_new(jd, "latency_ms", jlat);
        json_object_set_new(jd, "inferences", json_integer((json_int_t)n));
        json_object_set_new(jd, "throughput_per_s", json_real((double)n * batch / t_total));
        json_object_set_new(jd, "window_median_spread", json_real(mid > 0 ? (hi - lo) / mid : 0));
        json_object_set_new(jd, "windows", jr);
        jr = NULL;
        if (!metered || !meter_ok || upd == 0 || idle_before < 0 || idle_after < 0) {
            char why[600];
            snprintf(why, sizeof why, "%s",
                     !metered ? "no meter covers this device here"
                     : !meter_ok ? "a meter could not be read during the run"
                                 : upd == 0 ? "the meter did not change during the run (stalled)"
                                            : "the idle power could not be read");
            if (bo->table) {
                je = bench_modelled_energy(s, bo->table, batch, mean);
            } else {
                je = json_object();
                json_object_set_new(je, "source", json_null());
                json_object_set_new(je, "provenance", json_null());
            }
            json_object_set_new(je, "why_not_measured", json_string(why));
            if (!metered && why_not[0])
                json_object_set_new(je, "meters_absent", json_string(why_not));
        } else {
            je = json_object();
            char prov[600] = "measured:";
            for (size_t i = 0; i < nm; i++)
                if (covers(meters[i], kind)) {
                    const loom_meter_info *mi = loom_meter_get_info(meters[i]);
                    size_t len = strlen(prov);
                    snprintf(prov + len, sizeof prov - len, " %s (%s; %s)", mi->name, mi->boundary, mi->unit);
                }
            per = j_total / (double)n / batch;
            idle = 0.5 * (idle_before + idle_after);
            json_object_set_new(je, "source", json_string("measured"));
            json_object_set_new(je, "provenance", json_string(prov));
            json_object_set_new(je, "per_inference_j", json_real(per));
            json_object_set_new(je, "per_inference_above_idle_j",
                                json_real((j_total - idle * t_total) / (double)n / batch));
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
        if (n > RAW_MAX)
            json_object_set_new(jd, "latencies_note", json_string("latencies_ms holds the first 100000 of them"));
        jl = NULL;
        free(v);
    }
    {
        json_t *pn = profile_nodes(b, dev, rc);
        if (!pn) {
            json_decref(jd);
            jd = NULL;
            goto out;
        }
        json_object_set_new(jd, "per_node", pn);
    }
out:
    json_decref(jr);
    json_decref(jl);
    free(lat);
    loom_session_free(s);
    return jd;
}

static const char *energy_mark(const json_t *e)
{
    const char *src = json_string_value(json_object_get(e, "source"));
    return !src ? "" : !strcmp(src, "measured") ? "" : " m";
}

static void print_table(const json_t *root)
{
    const json_t *jd;
    size_t i;
    printf("%s\n", json_string_value(json_object_get(root, "model")));
    if (json_array_size(json_object_get(root, "devices"))) {
        printf("\nmeasured here (%.3g s x %d windows per device):\n", json_number_value(json_object_get(root, "duration_s")),
               (int)json_integer_value(json_object_get(root, "repeats")));
        printf("%-12s %5s %7s %9s %9s %9s %9s %10s %7s %12s %12s %9s\n", "device", "batch", "nodes", "p50 ms",
               "p90 ms", "p99 ms", "mean ms", "inf/s", "spread", "J/inf", "J/inf-idle", "inf/J");
    }
    json_array_foreach(json_object_get(root, "devices"), i, jd) {
        const json_t *l = json_object_get(jd, "latency_ms"), *e = json_object_get(jd, "energy");
        char nodes[32], ej[32] = "-", ei[32] = "-", ipj[32] = "-";
        snprintf(nodes, sizeof nodes, "%d/%d", (int)json_integer_value(json_object_get(jd, "nodes_on_device")),
                 (int)json_integer_value(json_object_get(jd, "nodes")));
        if (json_is_number(json_object_get(e, "per_inference_j"))) {
            snprintf(ej, sizeof ej, "%.4g%s", json_number_value(json_object_get(e, "per_inference_j")),
                     energy_mark(e));
            snprintf(ipj, sizeof ipj, "%.4g", json_number_value(json_object_get(e, "inferences_per_joule")));
        }
        if (json_is_number(json_object_get(e, "per_inference_above_idle_j")))
            snprintf(ei, sizeof ei, "%.4g", json_number_value(json_object_get(e, "per_inference_above_idle_j")));
        printf("%-12s %5d %7s %9.4g %9.4g %9.4g %9.4g %10.4g %6.1f%% %12s %12s %9s\n",
               json_string_value(json_object_get(jd, "device")), (int)json_integer_value(json_object_get(jd, "batch")),
               nodes, json_number_value(json_object_get(l, "p50")), json_number_value(json_object_get(l, "p90")),
               json_number_value(json_object_get(l, "p99")), json_number_value(json_object_get(l, "mean")),
               json_number_value(json_object_get(jd, "throughput_per_s")),
               100 * json_number_value(json_object_get(jd, "window_median_spread")), ej, ei, ipj);
    }
    if (json_array_size(json_object_get(root, "devices"))) {
        printf("latency: measured on this host. energy (m: modelled, else measured):");
        json_array_foreach(json_object_get(root, "devices"), i, jd) {
            const json_t *e = json_object_get(jd, "energy");
            const char *p = json_string_value(json_object_get(e, "provenance"));
            printf("\n  %s: %s", json_string_value(json_object_get(jd, "device")),
                   p ? p : json_string_value(json_object_get(e, "why_not_measured")));
            if (p && json_is_string(json_object_get(e, "why_not_measured")))
                printf(" (not measured: %s)", json_string_value(json_object_get(e, "why_not_measured")));
        }
        printf("\n");
    }
    if (json_array_size(json_object_get(root, "projected"))) {
        printf("\nprojected (devices that are not here; not measured):\n");
        printf("%-10s %-5s %5s %11s %10s %9s %12s %12s %9s\n", "board", "kind", "batch", "latency ms", "inf/s",
               "on card", "J/inf m", "bound J/inf", "inf/J");
    }
    json_array_foreach(json_object_get(root, "projected"), i, jd) {
        const json_t *e = json_object_get(jd, "energy"), *bd = json_object_get(jd, "energy_bound");
        const json_t *card = json_object_get(jd, "card");
        char ej[32] = "-", bj[32] = "-", ipj[32] = "-", on[32] = "-";
        if (json_is_number(json_object_get(e, "per_inference_j"))) {
            snprintf(ej, sizeof ej, "%.4g", json_number_value(json_object_get(e, "per_inference_j")));
            snprintf(ipj, sizeof ipj, "%.4g", json_number_value(json_object_get(e, "inferences_per_joule")));
        }
        if (json_is_number(json_object_get(bd, "per_inference_j")))
            snprintf(bj, sizeof bj, "%.4g", json_number_value(json_object_get(bd, "per_inference_j")));
        if (card)
            snprintf(on, sizeof on, "%d/%zu", (int)json_integer_value(json_object_get(card, "nodes")),
                     json_array_size(json_object_get(jd, "per_node")));
        printf("%-10s %-5s %5d %11.4g %10.4g %9s %12s %12s %9s\n", json_string_value(json_object_get(jd, "board")),
               json_string_value(json_object_get(jd, "kind")), (int)json_integer_value(json_object_get(jd, "batch")),
               json_number_value(json_object_get(jd, "latency_ms")),
               json_number_value(json_object_get(jd, "throughput_per_s")), on, ej, bj, ipj);
    }
    if (json_array_size(json_object_get(root, "projected"))) {
        const char *seen[8] = {0};
        size_t ns = 0;
        printf("how:");
        json_array_foreach(json_object_get(root, "projected"), i, jd) {
            const char *kind = json_string_value(json_object_get(jd, "kind"));
            bool dup = false;
            for (size_t k = 0; k < ns; k++)
                dup |= !strcmp(seen[k], kind);
            if (dup || ns == 8)
                continue;
            seen[ns++] = kind;
            printf("\n  %s: %s", kind, json_string_value(json_object_get(jd, "latency_provenance")));
            if (json_is_string(json_object_get(json_object_get(jd, "energy"), "provenance")))
                printf("\n  %s energy: %s", kind,
                       json_string_value(json_object_get(json_object_get(jd, "energy"), "provenance")));
        }
        printf("\n  bound: the board's power limit for the projected latency (an upper bound)\n");
    }
    json_array_foreach(json_object_get(root, "notes"), i, jd)
        printf("note: %s\n", json_string_value(jd));
    if (json_array_size(json_object_get(root, "meters_absent")))
        printf("meters not here:\n");
    json_array_foreach(json_object_get(root, "meters_absent"), i, jd)
        printf("  %s\n", json_string_value(jd));
}

/* The Pareto front over (latency per run, energy per inference) of every
 * row with an energy figure, measured and projected alike: "pareto":
 * true on a row no other row matches on both and beats on one. */
static void mark_pareto(json_t *root)
{
    static const char *const sets[2] = {"devices", "projected"};
    for (int a = 0; a < 2; a++) {
        json_t *r;
        size_t i;
        json_array_foreach(json_object_get(root, sets[a]), i, r) {
            const json_t *e = json_object_get(json_object_get(r, "energy"), "per_inference_j"), *q;
            double ms = bench_row_ms(r), j;
            bool front = json_is_number(e);
            if (!front)
                continue;
            j = json_number_value(e);
            for (int b2 = 0; b2 < 2 && front; b2++) {
                size_t k;
                json_array_foreach(json_object_get(root, sets[b2]), k, q) {
                    const json_t *e2 = json_object_get(json_object_get(q, "energy"), "per_inference_j");
                    double ms2 = bench_row_ms(q), j2 = json_number_value(e2);
                    if (q != r && json_is_number(e2) && ms2 <= ms && j2 <= j && (ms2 < ms || j2 < j))
                        front = false;
                }
            }
            json_object_set_new(r, "pareto", json_boolean(front));
        }
    }
}

/* The input shapes for one batch: each input's given shape, else its
 * declared one with symbolic dimensions 1; batch > 0 sets every first
 * dimension (a fixed one that differs is an error). */
static int batch_shapes(const loom_model *m, const loom_cli_inputs *in, int batch, loom_input_shape *shapes,
                        int64_t (*dims)[LOOM_MAX_RANK], size_t *n)
{
    *n = loom_model_input_count(m);
    for (size_t i = 0; i < *n; i++) {
        loom_value_info vi;
        const loom_cli_input *given = NULL;
        loom_model_input(m, i, &vi);
        for (int k = 0; k < in->n; k++)
            if (!strcmp(in->items[k].name, vi.name))
                given = &in->items[k];
        for (int d = 0; d < vi.rank; d++)
            dims[i][d] = given ? given->dims[d] : vi.dims[d] < 0 ? 1 : vi.dims[d];
        if (batch > 0) {
            if (vi.rank == 0) {
                loom_cli_errorf("--batch: input %s is a scalar: it has no batch dimension", vi.name);
                return LOOM_EXIT_DATAERR;
            }
            if (given && given->dims[0] != batch) {
                loom_cli_errorf("--batch %d: the file given for input %s has a first dimension of %lld", batch,
                                vi.name, (long long)given->dims[0]);
                return LOOM_EXIT_DATAERR;
            }
            if (vi.dims[0] >= 0 && vi.dims[0] != batch) {
                loom_cli_errorf("--batch %d: input %s has a fixed first dimension of %lld (export the model with "
                                "a dynamic batch dimension)", batch, vi.name, (long long)vi.dims[0]);
                return LOOM_EXIT_DATAERR;
            }
            dims[i][0] = batch;
        }
        shapes[i] = (loom_input_shape){.name = vi.name, .rank = vi.rank, .dims = dims[i]};
    }
    return 0;
}

/* The boards of a list ("all": every FPGA, GPU and CPU board; "none"). */
static int load_boards(const char *list, loom_board ***out, size_t *n)
{
    char **names = NULL, buf[1024], *save = NULL;
    size_t count = 0;
    loom_status st;
    *out = NULL;
    *n = 0;
    if (!strcmp(list, "none"))
        return 0;
    if (!strcmp(list, "all")) {
        if ((st = loom_boards_list(&names, &count)) != LOOM_OK)
            return loom_cli_fail(st);
    } else if (strlen(list) < sizeof buf) {
        strcpy(buf, list);
    } else {
        return loom_cli_usage_error("bench", "--boards: the list is too long");
    }
    if (!(*out = calloc(names ? count + 1 : strlen(list) + 1, sizeof **out))) {
        loom_boards_list_free(names, count);
        return LOOM_EXIT_SOFTWARE;
    }
    for (size_t i = 0;; i++) {
        const char *name = names ? (i < count ? names[i] : NULL) : strtok_r(i ? NULL : buf, ",", &save);
        loom_board *bd;
        if (!name)
            break;
        if ((st = loom_board_load(name, &bd)) != LOOM_OK) {
            loom_boards_list_free(names, count);
            return loom_cli_fail(st);
        }
        if (!strcmp(loom_board_kind(bd), "energy")) {
            loom_board_free(bd);
            if (names)
                continue; /* "all": the devices, not the tables */
            return loom_cli_usage_error("bench", "--boards: %s is an energy table, not a board (see --energy)", name);
        }
        (*out)[(*n)++] = bd;
    }
    loom_boards_list_free(names, count);
    return 0;
}

int loom_cmd_bench(int argc, char **argv)
{
    enum { O_DURATION = 256, O_REPEATS, O_WARMUP, O_JSON, O_CSV, O_BATCH, O_MODEL, O_HOST, O_ENERGY, O_REPORT };
    static const struct option opts[] = {{"devices", required_argument, NULL, 'd'},
                                         {"boards", required_argument, NULL, 'b'},
                                         {"batch", required_argument, NULL, O_BATCH},
                                         {"input", required_argument, NULL, 'i'},
                                         {"duration", required_argument, NULL, O_DURATION},
                                         {"repeats", required_argument, NULL, O_REPEATS},
                                         {"warmup", required_argument, NULL, O_WARMUP},
                                         {"model", no_argument, NULL, O_MODEL},
                                         {"host", required_argument, NULL, O_HOST},
                                         {"energy", required_argument, NULL, O_ENERGY},
                                         {"json", no_argument, NULL, O_JSON},
                                         {"csv", no_argument, NULL, O_CSV},
                                         {"report", required_argument, NULL, O_REPORT},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *devices = "all", *boards = "all", *host = "ref", *energy = "horowitz-45nm", *report = NULL;
    double duration = 10;
    uint64_t repeats = 3, warmup = 3;
    int batches[16], n_batches = 0;
    bool as_json = false, as_csv = false, use_model = false;
    int c, rc = 0;
    loom_cli_inputs inputs = {0};
    loom_model *m = NULL;
    loom_meter **meters = NULL;
    loom_board **bds = NULL, *table = NULL;
    size_t nm = 0, nb = 0;
    char why[4096] = "", list[2048];
    json_t *root = NULL, *jdev, *jproj, *jnotes, *jabs;
    loom_status st;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":d:b:i:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': devices = optarg; break;
        case 'b': boards = optarg; break;
        case 'i':
            if ((rc = loom_cli_inputs_add(&inputs, optarg, false)) != 0)
                goto done;
            break;
        case O_BATCH: {
            uint64_t v;
            if (!loom_cli_parse_u64(optarg, 65536, &v) || v == 0) {
                rc = loom_cli_usage_error("bench", "--batch takes a size from 1 to 65536, not '%s'", optarg);
                goto done;
            }
            if (n_batches == 16) {
                rc = loom_cli_usage_error("bench", "--batch: at most 16 sizes");
                goto done;
            }
            batches[n_batches++] = (int)v;
            break;
        }
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
        case O_MODEL: use_model = true; break;
        case O_HOST: host = optarg; break;
        case O_ENERGY: energy = optarg; break;
        case O_JSON: as_json = true; break;
        case O_CSV: as_csv = true; break;
        case O_REPORT: report = optarg; break;
        case 'h': fputs(bench_usage, stdout); goto done;
        default: rc = loom_cli_bad_option("bench", c, argv); goto done;
        }
    }
    if (optind != argc - 1) {
        rc = loom_cli_usage_error("bench", "bench takes exactly one MODEL argument");
        goto done;
    }
    if (as_json && as_csv) {
        rc = loom_cli_usage_error("bench", "--json and --csv: choose one");
        goto done;
    }
    if (!strcmp(host, "vsim") || strchr(host, ',')) {
        rc = loom_cli_usage_error("bench", "--host takes one device of this host (ref, opencl:0, ...), not '%s'",
                                  host);
        goto done;
    }
    loom_cli_logging(0);
    if ((st = loom_model_load(argv[optind], NULL, &m)) != LOOM_OK) {
        rc = loom_cli_fail(st);
        goto done;
    }
    if ((rc = loom_cli_inputs_load(&inputs, m, "bench", false, true)) != 0)
        goto done;
    if (strcmp(energy, "none") != 0) {
        if ((st = loom_board_load(energy, &table)) != LOOM_OK) {
            rc = loom_cli_fail(st);
            goto done;
        }
        if (strcmp(loom_board_kind(table), "energy") != 0) {
            rc = loom_cli_usage_error("bench", "--energy: %s is a %s board, not an energy table", energy,
                                      loom_board_kind(table));
            goto done;
        }
    }
    if ((rc = load_boards(boards, &bds, &nb)) != 0)
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
    } else if (strcmp(devices, "none") == 0) {
        list[0] = '\0';
    } else if (strlen(devices) < sizeof list) {
        strcpy(list, devices);
    } else {
        rc = loom_cli_usage_error("bench", "--devices: the list is too long");
        goto done;
    }
    if (!list[0] && nb == 0) {
        rc = loom_cli_usage_error("bench", "nothing to do: --devices none and --boards none");
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
    json_object_set_new(root, "energy_table", table ? json_string(loom_board_name(table)) : json_null());
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
    jproj = json_array();
    jnotes = json_array();
    json_object_set_new(root, "devices", jdev);
    json_object_set_new(root, "projected", jproj);
    json_object_set_new(root, "notes", jnotes);
    if (n_batches == 0)
        batches[n_batches++] = 0; /* the model's own */
    {
        json_t *jb = json_array();
        json_object_set_new(root, "batches", jb);
        for (int bi = 0; bi < n_batches; bi++) {
            loom_input_shape shapes[64];
            int64_t dims[64][LOOM_MAX_RANK];
            bench_setup b = {.model = m, .given = &inputs, .shapes = shapes};
            bench_opts bo = {.duration = duration, .repeats = (int)repeats, .warmup = (int)warmup, .table = table};
            bench_projection pr = {.boards = bds, .n_boards = nb, .table = table, .host = host,
                                   .use_model = use_model};
            char dl[2048], *save = NULL;
            if (loom_model_input_count(m) > 64) {
                loom_cli_errorf("%s: more than 64 inputs", argv[optind]);
                rc = LOOM_EXIT_DATAERR;
                goto done;
            }
            if ((rc = batch_shapes(m, &inputs, batches[bi], shapes, dims, &b.n_shapes)) != 0)
                goto done;
            b.batch = b.n_shapes && shapes[0].rank > 0 ? (int)shapes[0].dims[0] : 1;
            if (b.batch < 1)
                b.batch = 1;
            json_array_append_new(jb, json_integer(b.batch));
            strcpy(dl, list);
            for (char *d = strtok_r(dl, ",", &save); d; d = strtok_r(NULL, ",", &save)) {
                const char *kind = "host";
                json_t *jd;
                for (size_t i = 0; i < loom_device_count(); i++) {
                    loom_device_info di;
                    if (loom_device_get(i, &di) == LOOM_OK && !strcmp(di.name, d))
                        kind = di.kind;
                }
                if (!(jd = bench_device(&b, d, kind, &bo, meters, nm, why, &rc)))
                    goto done;
                json_array_append_new(jdev, jd);
            }
            if ((rc = bench_project(&b, &pr, jproj, jnotes)) != 0)
                goto done;
        }
    }
    mark_pareto(root);
    if (as_json) {
        json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
    } else if (as_csv) {
        rc = bench_csv(root, NULL);
    } else {
        print_table(root);
    }
    if (rc == 0 && report)
        rc = bench_report(root, report);
    if (rc == 0 && fflush(stdout) != 0) {
        loom_cli_errorf("cannot write standard output");
        rc = LOOM_EXIT_IOERR;
    }
done:
    json_decref(root);
    loom_meters_free(meters, nm);
    for (size_t i = 0; i < nb; i++)
        loom_board_free(bds[i]);
    free(bds);
    loom_board_free(table);
    loom_cli_inputs_free(&inputs);
    loom_model_free(m);
    return rc;
}
