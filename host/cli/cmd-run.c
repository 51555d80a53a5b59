/* cmd-run.c - `loom run MODEL [--input NAME=FILE.npy]... [--out DIR]`. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static const char run_usage[] =
    "usage: loom run MODEL [--input NAME=FILE.npy]... [--out DIR] [--device NAME|auto]\n"
    "                [--strict] [--repeat N] [--profile] [--trace FILE.json]\n"
    "                [--board NAME] [--json]\n"
    "\n"
    "Run a model once on the given inputs. Every graph input needs a value;\n"
    "the .npy shapes fix the model's symbolic dims (such as a batch size).\n"
    "\n"
    "  -d, --device NAME|auto     where to run (see loom devices): auto (default)\n"
    "                             places each node on the first device of the\n"
    "                             fallback chain that runs it, keeping work on the\n"
    "                             host where copies would cost more; a NAME (or a\n"
    "                             comma-separated list) runs there, falling back to\n"
    "                             ref for nodes it cannot run\n"
    "      --strict               never fall back: fail (exit 69) naming the node no\n"
    "                             device takes, or the device that failed\n"
    "  -i, --input NAME=FILE.npy  value of graph input NAME (a model with a\n"
    "                             single input also takes -i FILE.npy); NAME is\n"
    "                             the longest part before an '=' that names an\n"
    "                             input, so names and paths may hold '='; a\n"
    "                             FILE.pb is an ONNX TensorProto (any dtype,\n"
    "                             bfloat16 too)\n"
    "      --input-file FILE.npy  the only input's file, its name never split at '='\n"
    "  -o, --out DIR              write DIR/<output>.npy for every graph output\n"
    "                             (characters outside [A-Za-z0-9._-] become '_',\n"
    "                             names over 200 bytes are cut and end in a hash,\n"
    "                             and a name already taken gets -2, -3, ...: one\n"
    "                             file per output, each listed with its output;\n"
    "                             bfloat16 outputs, which .npy cannot hold, as\n"
    "                             DIR/<output>.pb TensorProtos); DIR is created\n"
    "                             if it does not exist\n"
    "  -n, --repeat N             after one warm-up run, time N more runs and\n"
    "                             report the latency per run (min, median, p90,\n"
    "                             mean, max)\n"
    "  -p, --profile              time every node (each device finishes a node\n"
    "                             before the next starts) over the --repeat runs\n"
    "                             (one run after the warm-up without --repeat)\n"
    "                             and print where the time went, each node's\n"
    "                             time beside the cost model's prediction (see\n"
    "                             loom devices --rates)\n"
    "      --trace FILE.json      write every run's kernels and copies, one track\n"
    "                             per device, and loom's own host work as a Chrome\n"
    "                             trace-event file (open it in Perfetto or\n"
    "                             chrome://tracing); devices finish each step\n"
    "                             before the next, as with --profile\n"
    "      --board NAME           on vsim: the simulated cycles at this FPGA board's\n"
    "                             kernel clock too (projected; see loom boards)\n"
    "      --json                 print a JSON summary on stdout instead of text\n"
    "  -v, --verbose              more messages on stderr: where the model ran\n"
    "                             (repeat for debug detail)\n"
    "  -h, --help                 this text\n"
    "\n"
    "Without --out the outputs are printed on stdout (at most 32 values each).\n"
    "On vsim (the Verilated array) the simulated kernel cycles per inference\n"
    "are printed too, beside the analytic cycle model's and with the latency\n"
    "at the array's clock (per node with --profile).\n";


static void print_values(const loom_tensor *t, int64_t max)
{
    int64_t n = loom_tensor_numel(t);
    const void *d = loom_tensor_cdata(t);
    for (int64_t i = 0; i < n && i < max; i++) {
        if (i)
            fputc(' ', stdout);
        switch (loom_tensor_dtype(t)) {
        case LOOM_F32: printf("%.9g", ((const float *)d)[i]); break;
        case LOOM_I8: printf("%d", ((const int8_t *)d)[i]); break;
        case LOOM_U8: case LOOM_BOOL: printf("%u", ((const uint8_t *)d)[i]); break;
        case LOOM_I32: printf("%d", ((const int32_t *)d)[i]); break;
        case LOOM_I64: printf("%lld", (long long)((const int64_t *)d)[i]); break;
        default: printf("?"); break;
        }
    }
    if (n > max)
        printf(" ... (%lld values)", (long long)n);
    fputc('\n', stdout);
}

/* Output file names: DIR/<safe name>.npy, one file per output whatever
 * the names. A safe name keeps [A-Za-z0-9._-] and turns the rest into
 * '_'; one longer than SAFE_MAX bytes keeps its start and ends in a
 * stable hash of the whole name (file systems stop at 255 bytes). Names
 * that sanitising leaves unchanged claim their file first; a name that
 * is taken then gets the first "-2", "-3", ... that is neither taken nor
 * another output's own safe name. Jansson objects serve as the sets, and
 * remember per name the next suffix to try (thousands of outputs of one
 * name cost n, not n^2). */
#define SAFE_MAX 200

static void output_safe_name(const char *name, char *buf, size_t size)
{
    loom_cli_safe_name(name, buf, size);
    if (strlen(buf) > SAFE_MAX) {
        uint64_t h = 1469598103934665603ull; /* FNV-1a of the full name */
        for (const char *p = name; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ull;
        snprintf(buf + SAFE_MAX - 17, size - (SAFE_MAX - 17), "-%016llx", (unsigned long long)h);
    }
}

static char **output_paths(const loom_session *s, const char *dir)
{
    size_t n = loom_session_output_count(s);
    char (*safe)[SAFE_MAX + 64] = calloc(n ? n : 1, sizeof *safe);
    char **files = calloc(n ? n : 1, sizeof *files);
    json_t *own = json_object(), *taken = json_object(), *next = json_object();
    bool ok = safe && files && own && taken && next;

    for (size_t i = 0; ok && i < n; i++) {
        loom_value_info vi;
        loom_session_output(s, i, &vi);
        output_safe_name(vi.name, safe[i], sizeof safe[i]);
        ok = json_object_set_new(own, safe[i], json_true()) == 0;
    }
    for (int pass = 0; ok && pass < 2; pass++)
        for (size_t i = 0; ok && i < n; i++) {
            loom_value_info vi;
            char name[SAFE_MAX + 64];
            loom_session_output(s, i, &vi);
            if (files[i] || (pass == 0 && strcmp(vi.name, safe[i]) != 0))
                continue; /* the first pass: names kept as they are */
            snprintf(name, sizeof name, "%s", safe[i]);
            if (json_object_get(taken, name)) {
                json_int_t k = json_integer_value(json_object_get(next, safe[i]));
                for (k = k > 2 ? k : 2;; k++) {
                    snprintf(name, sizeof name, "%s-%lld", safe[i], (long long)k);
                    if (!json_object_get(taken, name) && !json_object_get(own, name))
                        break;
                }
                ok = json_object_set_new(next, safe[i], json_integer(k + 1)) == 0;
            }
            ok = ok && json_object_set_new(taken, name, json_true()) == 0 &&
                 (files[i] = malloc(strlen(dir) + strlen(name) + 8)) != NULL;
            /* bfloat16 has no .npy type: an ONNX TensorProto file */
            if (ok)
                sprintf(files[i], "%s/%s.%s", dir, name, vi.dtype == LOOM_BF16 ? "pb" : "npy");
        }
    free(safe);
    json_decref(own);
    json_decref(taken);
    json_decref(next);
    if (!ok && files) {
        for (size_t i = 0; i < n; i++)
            free(files[i]);
        free(files);
        files = NULL;
    }
    return files;
}

/* Every output to its file, all or nothing: each is written beside its
 * file first (".NAME.npy.partial-PID", itself through loom_npy_save's
 * temporary file), and renamed into place only when all were written. */
static int write_outputs(const loom_session *s, char **files)
{
    size_t n = loom_session_output_count(s), done = 0;
    char **partial = calloc(n ? n : 1, sizeof *partial);
    int rc = partial ? 0 : LOOM_EXIT_SOFTWARE;
    /* every target first: none is written when one cannot be */
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = loom_cli_output_ok(files[i]);
    for (; rc == 0 && done < n; done++) {
        const char *slash = strrchr(files[done], '/');
        size_t dir_len = slash ? (size_t)(slash - files[done]) + 1 : 0;
        loom_status st;
        if (!(partial[done] = malloc(strlen(files[done]) + 40))) {
            rc = LOOM_EXIT_SOFTWARE;
            break;
        }
        sprintf(partial[done], "%.*s.%s.partial-%ld", (int)dir_len, files[done], files[done] + dir_len,
                (long)getpid());
        loom_value_info vi;
        loom_session_output(s, done, &vi);
        st = loom_cli_is_pb(files[done]) ? loom_tensor_save_pb(partial[done], vi.name, loom_session_output_tensor(s, done))
                                         : loom_npy_save(partial[done], loom_session_output_tensor(s, done));
        if (st != LOOM_OK) {
            /* the message names the partial file: name the output's */
            loom_cli_errorf("%s: %s", files[done], strstr(loom_last_error(), ": ") ? strstr(loom_last_error(), ": ") + 2
                                                                                  : loom_last_error());
            rc = loom_cli_exit_code(st);
            break;
        }
    }
    if (rc == 0)
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = loom_cli_place_file(partial[i], files[i]);
    for (size_t i = 0; partial && i < n; i++) {
        if (rc != 0 && partial[i])
            unlink(partial[i]); /* quiet when it was renamed or never made */
        free(partial[i]);
    }
    free(partial);
    return rc;
}

static int ensure_dir(const char *dir)
{
    struct stat sb;
    if (stat(dir, &sb) == 0) {
        if (S_ISDIR(sb.st_mode))
            return 0;
        loom_cli_errorf("--out %s exists and is not a folder", dir);
        return LOOM_EXIT_CANTCREAT;
    }
    if (mkdir(dir, 0777) != 0) {
        loom_cli_errorf("cannot create folder %s: %s", dir, strerror(errno));
        return LOOM_EXIT_CANTCREAT;
    }
    return 0;
}

/* --trace: loom's own work, one event per step (and per run, up to
 * TRACE_RUNS of them), each from h0 to now */
#define TRACE_RUNS 1000
#define O_TRACE (O_INPUT_FILE + 1)
#define O_BOARD (O_INPUT_FILE + 2)
#define HOST_EVENT(what)                                                                                  \
    do {                                                                                                  \
        double now_ = loom_now_us();                                                                      \
        host[n_host++] = (loom_cli_host_event){.name = (what), .start_us = h0, .dur_us = now_ - h0};      \
        h0 = now_;                                                                                        \
    } while (0)

int loom_cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"input", required_argument, NULL, 'i'}, {"input-file", required_argument, NULL, O_INPUT_FILE}, {"out", required_argument, NULL, 'o'},
        {"device", required_argument, NULL, 'd'}, {"devices", required_argument, NULL, 'd'},
        {"strict", no_argument, NULL, 's'},       {"profile", no_argument, NULL, 'p'},
        {"repeat", required_argument, NULL, 'n'}, {"json", no_argument, NULL, 'j'},
        {"verbose", no_argument, NULL, 'v'},      {"help", no_argument, NULL, 'h'},
        {"trace", required_argument, NULL, O_TRACE}, {"board", required_argument, NULL, O_BOARD},
        {NULL, 0, NULL, 0}};
    const char *board_name = NULL;
    loom_board *board = NULL;
    double board_mhz = 0;
    loom_cli_host_event host[8 + TRACE_RUNS];
    size_t n_host = 0;
    const char *trace = NULL;
    double h0 = loom_now_us();
    loom_cli_inputs inputs = {0};
    const char *devices = NULL;
    bool strict = false, profile = false;
    int verbosity = 0, c, rc = LOOM_EXIT_OK;
    long repeat = 0;
    bool as_json = false;
    const char *out_dir = NULL, *path;
    loom_model *m = NULL;
    loom_session *s = NULL;
    double *times = NULL;
    char **files = NULL;
    loom_status st;
    char buf[512];

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":i:o:n:d:pvh", opts, NULL)) != -1) {
        switch (c) {
        case 'i': case O_INPUT_FILE:
            if ((rc = loom_cli_inputs_add(&inputs, optarg, c == O_INPUT_FILE)) != 0)
                goto done;
            break;
        case 'd': devices = optarg; break;
        case 's': strict = true; break;
        case 'p': profile = true; break;
        case 'o': out_dir = optarg; break;
        case O_TRACE: trace = optarg; break;
        case O_BOARD: board_name = optarg; break;
        case 'n': {
            char *end;
            repeat = strtol(optarg, &end, 10);
            if (*end || repeat < 1 || repeat > 100000000) {
                rc = loom_cli_usage_error("run", "--repeat wants a count from 1 to 100000000, not '%s'",
                                          optarg);
                goto done;
            }
            break;
        }
        case 'j': as_json = true; break;
        case 'v': verbosity++; break;
        case 'h': fputs(run_usage, stdout); goto done;
        default: rc = loom_cli_bad_option("run", c, argv); goto done;
        }
    }
    if (optind != argc - 1) {
        rc = loom_cli_usage_error("run", "run takes exactly one MODEL argument");
        goto done;
    }
    path = argv[optind];
    loom_cli_logging(verbosity);
    if (trace && (rc = loom_cli_output_ok(trace)) != 0)
        goto done;
    if (board_name) {
        const loom_board_figure *f;
        if (!devices || !strstr(devices, "vsim")) {
            rc = loom_cli_usage_error("run", "--board projects the simulated cycles: run with --device vsim");
            goto done;
        }
        if ((st = loom_board_load(board_name, &board)) != LOOM_OK) {
            rc = loom_cli_fail(st);
            goto done;
        }
        f = loom_board_find(board, "kernel_clock_mhz");
        if (strcmp(loom_board_kind(board), "fpga") != 0 || !f || f->is_text || f->number <= 0) {
            rc = loom_cli_usage_error("run", "--board: %s is not an FPGA board with a kernel clock", board_name);
            goto done;
        }
        board_mhz = f->number;
    }
    if ((st = loom_model_load(path, NULL, &m)) != LOOM_OK) {
        rc = loom_cli_fail(st);
        goto done;
    }
    HOST_EVENT("load model");

    if ((rc = loom_cli_inputs_load(&inputs, m, "run", true, true)) != 0)
        goto done;
    HOST_EVENT("read inputs");
    if ((st = loom_session_create(m,
                                  &(loom_session_options){.input_shapes = inputs.shapes,
                                                          .input_shape_count = (size_t)inputs.n,
                                                          .devices = devices, .strict = strict,
                                                          .profile = profile, .trace = trace != NULL},
                                  &s)) != LOOM_OK) {
        rc = loom_cli_fail(st);
        goto done;
    }
    HOST_EVENT("plan (passes, partition, buffers)");
    for (int k = 0; k < inputs.n; k++)
        if ((st = loom_session_set_input(s, inputs.items[k].name, inputs.items[k].t)) != LOOM_OK) {
            rc = loom_cli_fail(st);
            goto done;
        }
    HOST_EVENT("set inputs");
    if ((st = loom_session_run(s)) != LOOM_OK) {
        rc = loom_cli_fail(st);
        goto done;
    }
    HOST_EVENT("run 0 (warm-up)");
    if (profile && repeat == 0)
        repeat = 1; /* profile a warm run, not the first (kernel JIT, caches) */
    if (repeat > 0) {
        /* the first run was the warm-up */
        loom_session_profile_reset(s);
        times = malloc((size_t)repeat * sizeof *times);
        if (!times) {
            rc = LOOM_EXIT_SOFTWARE;
            goto done;
        }
        for (long r = 0; r < repeat; r++) {
            double t0 = loom_cli_now_us();
            st = loom_session_run(s);
            times[r] = loom_cli_now_us() - t0;
            if (r < TRACE_RUNS) {
                h0 = loom_now_us() - times[r];
                HOST_EVENT("timed run");
            }
            if (st != LOOM_OK) {
                rc = loom_cli_fail(st);
                goto done;
            }
        }
        qsort(times, (size_t)repeat, sizeof *times, loom_cli_cmp_double);
        h0 = loom_now_us();
    }

    if (out_dir && (rc = ensure_dir(out_dir)) != 0)
        goto done;
    if (out_dir && !(files = output_paths(s, out_dir))) {
        rc = LOOM_EXIT_SOFTWARE;
        goto done;
    }
    if (out_dir && (rc = write_outputs(s, files)) != 0)
        goto done;
    if (out_dir)
        HOST_EVENT("write outputs");
    if (trace && (rc = loom_cli_write_trace(trace, s, host, n_host, path)) != 0)
        goto done;
    {
        json_t *root = json_object(), *outs = json_array();
        json_object_set_new(root, "model", json_string(path));
        json_object_set_new(root, "devices", json_string(devices ? devices : "auto"));
        for (size_t i = 0; i < loom_session_output_count(s); i++) {
            const loom_tensor *t = loom_session_output_tensor(s, i);
            loom_value_info vi;
            json_t *o = json_object(), *shape = json_array();
            const char *file = NULL;
            loom_session_output(s, i, &vi);
            if (out_dir)
                file = files[i];
            json_object_set_new(o, "name", json_string(vi.name));
            json_object_set_new(o, "dtype", json_string(loom_dtype_name(vi.dtype)));
            for (int d = 0; d < vi.rank; d++)
                json_array_append_new(shape, json_integer(vi.dims[d]));
            json_object_set_new(o, "shape", shape);
            json_object_set_new(o, "file", file ? json_string(file) : json_null());
            json_array_append_new(outs, o);
            if (!as_json) {
                printf("%s %s", vi.name, loom_cli_type_str(&vi, buf, sizeof buf));
                if (file)
                    printf(" -> %s\n", file);
                else {
                    printf(":\n  ");
                    print_values(t, 32);
                }
            }
        }
        json_object_set_new(root, "outputs", outs);
        {
            json_t *sgs = json_array();
            for (size_t i = 0; i < loom_session_subgraph_count(s); i++) {
                loom_subgraph_info g;
                json_t *o = json_object();
                loom_session_subgraph(s, i, &g);
                json_object_set_new(o, "device", json_string(g.device));
                json_object_set_new(o, "nodes", json_integer((json_int_t)g.node_count));
                json_array_append_new(sgs, o);
            }
            json_object_set_new(root, "subgraphs", sgs);
        }
        if (verbosity > 0) {
            /* where it ran: a message (stderr), with -v */
            fprintf(stderr, "loom: info: ran on");
            for (size_t i = 0; i < loom_session_subgraph_count(s); i++) {
                loom_subgraph_info g;
                loom_session_subgraph(s, i, &g);
                fprintf(stderr, "%s %s (%zu node%s)", i ? "," : "", g.device, g.node_count,
                        g.node_count == 1 ? "" : "s");
            }
            fputc('\n', stderr);
        }
        if (times) {
            json_t *lat = json_object();
            double sum = 0;
            for (long r = 0; r < repeat; r++)
                sum += times[r];
            json_object_set_new(lat, "runs", json_integer(repeat));
            json_object_set_new(lat, "min_us", json_real(times[0]));
            json_object_set_new(lat, "median_us", json_real(times[repeat / 2]));
            json_object_set_new(lat, "p90_us", json_real(times[(9 * repeat + 9) / 10 - 1])); /* nearest rank */
            json_object_set_new(lat, "mean_us", json_real(sum / (double)repeat));
            json_object_set_new(lat, "max_us", json_real(times[repeat - 1]));
            json_object_set_new(lat, "predicted_us", json_real(loom_session_predicted_us(s)));
            json_object_set_new(root, "latency", lat);
            if (!as_json)
                printf("latency over %ld runs: min %.2f us, median %.2f us, p90 %.2f us, mean %.2f us, max %.2f us "
                       "(the cost model predicts %.2f us)\n",
                       repeat, times[0], times[repeat / 2], times[(9 * repeat + 9) / 10 - 1], sum / (double)repeat,
                       times[repeat - 1], loom_session_predicted_us(s));
        }
        {
            /* cycle-accurate devices: simulated cycles per inference, the
             * cycle model beside them, and what that is at the array's clock */
            uint64_t total_c = 0, total_p = 0;
            size_t counted = 0;
            for (size_t i = 0; i < loom_session_node_count(s); i++) {
                uint64_t c, p;
                if (loom_session_node_cycles(s, i, &c, &p)) {
                    total_c += c;
                    total_p += p;
                    counted++;
                }
            }
            if (counted) {
                json_t *cy = json_object();
                double err = total_c ? ((double)total_p - (double)total_c) / (double)total_c : 0.0;
                double ms = (double)total_c / (loom_vsim_clock_mhz() * 1e3);
                json_object_set_new(cy, "nodes", json_integer((json_int_t)counted));
                json_object_set_new(cy, "per_inference", json_integer((json_int_t)total_c));
                json_object_set_new(cy, "predicted", json_integer((json_int_t)total_p));
                json_object_set_new(cy, "model_error", json_real(err));
                json_object_set_new(cy, "clock_mhz", json_real(loom_vsim_clock_mhz()));
                json_object_set_new(cy, "ms_at_clock", json_real(ms));
                if (board) {
                    json_object_set_new(cy, "board", json_string(loom_board_name(board)));
                    json_object_set_new(cy, "board_clock_mhz", json_real(board_mhz));
                    json_object_set_new(cy, "ms_at_board_clock", json_real((double)total_c / (board_mhz * 1e3)));
                }
                json_object_set_new(root, "simulated_cycles", cy);
                if (!as_json)
                    printf("simulated: %llu kernel cycles per inference over %zu node%s (cycle model %llu, "
                           "%+.2f%%); %.4g ms at the array's %.0f MHz clock\n",
                           (unsigned long long)total_c, counted, counted == 1 ? "" : "s",
                           (unsigned long long)total_p, 100.0 * err, ms, loom_vsim_clock_mhz());
                if (!as_json && board)
                    printf("projected on %s: %.4g ms of kernel time at its %.0f MHz kernel clock (the int8 GEMM "
                           "nodes only; see loom bench for the whole inference)\n",
                           loom_board_name(board), (double)total_c / (board_mhz * 1e3), board_mhz);
            }
        }
        if (profile) {
            json_t *prof = json_array();
            double total = 0, pred_total = loom_session_predicted_us(s), pred_nodes = 0, pred_copies;
            for (size_t i = 0; i < loom_session_node_count(s); i++)
                pred_nodes += loom_session_node_predicted_us(s, i);
            pred_copies = pred_total - pred_nodes;
            if (!as_json)
                printf("profile (mean per run; the cost model's prediction beside it):\n  %13s %13s\n",
                       "measured", "predicted");
            for (size_t i = 0; i < loom_session_node_count(s); i++) {
                loom_node_placement p;
                double us = loom_session_node_time(s, i), pred = loom_session_node_predicted_us(s, i);
                json_t *o = json_object();
                char op[64];
                loom_session_placement(s, i, &p);
                snprintf(op, sizeof op, "%s%s%s", p.op_type, *p.fused ? "+" : "", p.fused);
                total += us;
                json_object_set_new(o, "name", json_string(p.name));
                json_object_set_new(o, "op", json_string(op));
                json_object_set_new(o, "device", json_string(p.device));
                json_object_set_new(o, "us", json_real(us));
                json_object_set_new(o, "predicted_us", json_real(pred));
                {
                    uint64_t c, pc;
                    bool has = loom_session_node_cycles(s, i, &c, &pc);
                    json_object_set_new(o, "cycles", has ? json_integer((json_int_t)c) : json_null());
                    json_object_set_new(o, "predicted_cycles", has ? json_integer((json_int_t)pc) : json_null());
                    if (!as_json && has)
                        printf("  %10.2f us %10.2f us  %-10s %-20s %s (%llu cycles, model %llu)\n", us, pred,
                               p.device, op, p.name, (unsigned long long)c, (unsigned long long)pc);
                    else if (!as_json)
                        printf("  %10.2f us %10.2f us  %-10s %-20s %s\n", us, pred, p.device, op, p.name);
                }
                json_array_append_new(prof, o);
            }
            if (!as_json)
                printf("  %10.2f us %10.2f us  copies between devices\n  %10.2f us %10.2f us  total (%+.0f%%)\n",
                       loom_session_copy_time(s), pred_copies, total + loom_session_copy_time(s), pred_total,
                       100.0 * (pred_total / (total + loom_session_copy_time(s)) - 1));
            json_object_set_new(root, "profile", prof);
            json_object_set_new(root, "copy_us", json_real(loom_session_copy_time(s)));
            json_object_set_new(root, "predicted_copy_us", json_real(pred_copies));
            json_object_set_new(root, "predicted_us", json_real(pred_total));
        }
        if (as_json) {
            json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            fputc('\n', stdout);
        }
        json_decref(root);
    }
done:
    if (files)
        for (size_t i = 0; i < loom_session_output_count(s); i++)
            free(files[i]);
    free(files);
    loom_cli_inputs_free(&inputs);
    free(times);
    loom_session_free(s);
    loom_model_free(m);
    loom_board_free(board);
    return rc;
}
