/* cmd-dse.c - `loom dse`: the systolic array's design space for one
 * model (or a list of GEMMs): for each array size the kernel cycles per
 * inference from the analytic cycle model, checked against the Verilated
 * RTL on a sample of the GEMMs where that size is built, and for each
 * FPGA board the latency and throughput at its kernel clock and memory
 * rate. */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char dse_usage[] =
    "usage: loom dse MODEL.onnx [options]\n"
    "       loom dse --gemm MxNxK[,MxNxK...] [options]\n"
    "\n"
    "Explore the systolic array's size for a quantised model (see loom\n"
    "quantize: its int8 Conv, Gemm and MatMul nodes, each an int8 GEMM, or\n"
    "one per image and group for a Conv) or for the GEMMs given. For each\n"
    "array size:\n"
    "  - kernel cycles per inference from the analytic cycle model (the one\n"
    "    loom sim gemm reports beside the RTL), and the PE utilisation;\n"
    "  - the model checked against the Verilated RTL on --rtl-samples of the\n"
    "    distinct GEMMs (spread from the smallest to the largest), where that\n"
    "    size is built into this loom (the sizes of loom sim gemm --array;\n"
    "    others are marked \"not built\": LOOM_SIM_ARRAYS at build time adds\n"
    "    them), with the model's worst error;\n"
    "  - for each FPGA board (boards/): the latency and inferences per second\n"
    "    at the board's kernel clock, the array reading at most what the\n"
    "    board's memory bandwidth gives per cycle (projected, not measured).\n"
    "Not yet: FPGA resources (synthesis), whether the array fits a board,\n"
    "and energy.\n"
    "\n"
    "  --gemm MxNxK[,...]     GEMMs instead of a model (act none)\n"
    "  --arrays LIST          array sizes, ROWSxCOLS each 2 to 64 (default\n"
    "                         4x4,8x8,16x16,32x32)\n"
    "  --boards LIST|all|none FPGA boards to project onto (default all)\n"
    "  --rtl-samples N        GEMMs simulated per built size (default 3;\n"
    "                         0: the model alone)\n"
    "  --json                 one JSON object instead of the table\n"
    "  -h, --help             this text\n"
    "\n"
    "Exit status: 0 done (the model within 5% of the RTL on every sample),\n"
    "1 the model is off by more than 5% on a sample or the RTL's result\n"
    "differs from ref, 64 usage error, 65 invalid model, one with no int8\n"
    "GEMM or a GEMM larger than the kernel takes, 66 missing file, 69 a\n"
    "simulation failed.\n";

#define MAX_ARRAYS 16
#define MAX_GEMMS 4096
#define MAX_BOARDS 64

typedef struct {
    loom_gemm_shape g[MAX_GEMMS];
    size_t n;
} gemm_list;

typedef struct {
    char name[32];
    double clock_mhz, bw_gbps;
} board_info;

/* "16x16" into rows and cols (2 to 64 each, as the RTL takes) */
static bool parse_array(const char *s, int *rows, int *cols)
{
    char part[16];
    const char *x = strchr(s, 'x');
    uint64_t r, c;
    if (!x || (size_t)(x - s) >= sizeof part)
        return false;
    memcpy(part, s, (size_t)(x - s));
    part[x - s] = '\0';
    if (!loom_cli_parse_u64(part, 64, &r) || !loom_cli_parse_u64(x + 1, 64, &c) || r < 2 || c < 2)
        return false;
    *rows = (int)r;
    *cols = (int)c;
    return true;
}

/* "MxNxK" (each 1 to 2^31 - 1) */
static bool parse_gemm(const char *s, loom_gemm_shape *g)
{
    char buf[96], *save = NULL, *tok;
    uint64_t v[3];
    int k = 0;
    if (strlen(s) >= sizeof buf)
        return false;
    strcpy(buf, s);
    for (tok = strtok_r(buf, "x", &save); tok && k < 3; tok = strtok_r(NULL, "x", &save), k++)
        if (!loom_cli_parse_u64(tok, INT32_MAX, &v[k]) || v[k] == 0)
            return false;
    if (k != 3 || tok)
        return false;
    *g = (loom_gemm_shape){.M = (int64_t)v[0], .N = (int64_t)v[1], .K = (int64_t)v[2], .act = LOOM_ACT_NONE,
                           .count = 1};
    return true;
}

/* The int8 GEMMs of a quantised model, from an infer-only session. */
static int model_gemms(const char *path, gemm_list *gl)
{
    loom_model *m;
    loom_session *s;
    loom_session_options so = {.infer_only = true, .devices = "ref"};
    loom_status st;
    if ((st = loom_model_load(path, NULL, &m)) != LOOM_OK)
        return loom_cli_fail(st);
    st = loom_session_create(m, &so, &s);
    loom_model_free(m);
    if (st != LOOM_OK)
        return loom_cli_fail(st);
    for (size_t i = 0; i < loom_session_node_count(s); i++) {
        loom_gemm_shape g;
        if (!loom_session_node_gemm(s, i, &g) || g.count == 0)
            continue;
        if (gl->n == MAX_GEMMS) {
            loom_session_free(s);
            loom_cli_errorf("%s: more than %d int8 GEMM nodes", path, MAX_GEMMS);
            return LOOM_EXIT_DATAERR;
        }
        gl->g[gl->n++] = g;
    }
    loom_session_free(s);
    if (gl->n == 0) {
        loom_cli_errorf("%s: no int8 Conv, Gemm or MatMul node: quantise it first (loom quantize)", path);
        return LOOM_EXIT_DATAERR;
    }
    return 0;
}

static int load_boards(const char *list, board_info *b, size_t *n)
{
    char **names = NULL, buf[1024], *save = NULL;
    size_t count = 0;
    loom_status st;
    *n = 0;
    if (strcmp(list, "none") == 0)
        return 0;
    if (strcmp(list, "all") == 0) {
        if ((st = loom_boards_list(&names, &count)) != LOOM_OK)
            return loom_cli_fail(st);
    } else {
        if (strlen(list) >= sizeof buf)
            return loom_cli_usage_error("dse", "--boards: the list is too long");
        strcpy(buf, list);
    }
    for (size_t i = 0;; i++) {
        const char *name = names ? (i < count ? names[i] : NULL) : strtok_r(i ? NULL : buf, ",", &save);
        loom_board *bd;
        const loom_board_figure *clk, *bw;
        if (!name)
            break;
        if ((st = loom_board_load(name, &bd)) != LOOM_OK) {
            loom_boards_list_free(names, count);
            return loom_cli_fail(st);
        }
        if (strcmp(loom_board_kind(bd), "fpga") != 0) {
            if (!names) {
                char kind[16];
                snprintf(kind, sizeof kind, "%s", loom_board_kind(bd));
                loom_board_free(bd);
                return loom_cli_usage_error("dse", "--boards: %s is a %s board, not an FPGA one", name, kind);
            }
            loom_board_free(bd); /* "all": the FPGA boards */
            continue;
        }
        clk = loom_board_find(bd, "kernel_clock_mhz");
        bw = loom_board_find(bd, "memory_bandwidth_gbps");
        if (!clk || clk->is_text || clk->number <= 0 || !bw || bw->is_text || bw->number <= 0 || *n == MAX_BOARDS) {
            if (names && *n < MAX_BOARDS) {
                /* "all": said, and left out */
                fprintf(stderr, "loom: note: board %s has no kernel_clock_mhz or memory_bandwidth_gbps figure: "
                        "not projected\n", name);
                loom_board_free(bd);
                continue;
            }
            loom_cli_errorf("board %s: no kernel_clock_mhz or memory_bandwidth_gbps figure to project with%s", name,
                            *n == MAX_BOARDS ? " (or over 64 boards)" : "");
            loom_board_free(bd);
            loom_boards_list_free(names, count);
            return LOOM_EXIT_DATAERR;
        }
        snprintf(b[*n].name, sizeof b[*n].name, "%s", loom_board_name(bd));
        b[*n].clock_mhz = clk->number;
        b[*n].bw_gbps = bw->number;
        (*n)++;
        loom_board_free(bd);
    }
    loom_boards_list_free(names, count);
    return 0;
}

/* Cycles of the whole list under o (the model); 0 with the error set. */
static loom_status list_cycles(const loom_vsim_options *o, const gemm_list *gl, uint64_t *total, double *macs)
{
    *total = 0;
    *macs = 0;
    for (size_t i = 0; i < gl->n; i++) {
        uint64_t c;
        loom_status st = loom_vsim_predict_cycles(o, gl->g[i].M, gl->g[i].N, gl->g[i].K, gl->g[i].act, &c);
        if (st != LOOM_OK)
            return st;
        *total += c * (uint64_t)gl->g[i].count;
        *macs += (double)gl->g[i].M * (double)gl->g[i].N * (double)gl->g[i].K * (double)gl->g[i].count;
    }
    return LOOM_OK;
}

static int cmp_macs(const void *a, const void *b)
{
    const loom_gemm_shape *x = a, *y = b;
    double mx = (double)x->M * (double)x->N * (double)x->K, my = (double)y->M * (double)y->N * (double)y->K;
    return (mx > my) - (mx < my);
}

/* Up to want distinct shapes, from the smallest to the largest. */
static size_t pick_samples(const gemm_list *gl, size_t want, loom_gemm_shape *out)
{
    loom_gemm_shape *d = malloc(gl->n * sizeof *d);
    size_t nd = 0, n = 0;
    if (!d)
        return 0;
    for (size_t i = 0; i < gl->n; i++) {
        bool seen = false;
        for (size_t j = 0; j < nd && !seen; j++)
            seen = d[j].M == gl->g[i].M && d[j].N == gl->g[i].N && d[j].K == gl->g[i].K && d[j].act == gl->g[i].act;
        if (!seen)
            d[nd++] = gl->g[i];
    }
    qsort(d, nd, sizeof *d, cmp_macs);
    if (want > nd)
        want = nd;
    for (size_t k = 0; k < want; k++)
        out[n++] = d[want == 1 ? nd - 1 : k * (nd - 1) / (want - 1)];
    free(d);
    return n;
}

static bool size_built(int rows, int cols)
{
    int sizes[32][2];
    int n = loom_vsim_sizes(sizes, 32);
    for (int i = 0; i < n && i < 32; i++)
        if (sizes[i][0] == rows && sizes[i][1] == cols)
            return true;
    return false;
}

/* One sampled GEMM on the RTL: its cycles and the model's, with random
 * data; *same says whether C equals ref's bit for bit. */
static loom_status rtl_cycles(const loom_vsim_options *o, const loom_gemm_shape *g, uint64_t seed, uint64_t *cycles,
                              uint64_t *predicted, bool *same)
{
    loom_cli_gemm_data d = {.M = g->M, .N = g->N, .K = g->K};
    loom_vsim_stats st;
    loom_gemm_i8_args a;
    loom_status s = loom_cli_gemm_make(&d, seed);
    if (s == LOOM_OK) {
        a = (loom_gemm_i8_args){.M = d.M, .N = d.N, .K = d.K, .A = d.A, .lda = d.K, .B = d.B, .ldb = d.N,
                                .bias = d.bias, .mult = d.mult, .shift = d.shift, .C = d.R, .ldc = d.N,
                                .act = g->act, .lut = d.lut};
        s = loom_gemm_i8_ref(&a);
    }
    if (s == LOOM_OK) {
        a.C = d.C;
        s = loom_vsim_gemm_i8(o, &a, &st);
    }
    if (s == LOOM_OK) {
        *cycles = st.cycles;
        *predicted = st.predicted_cycles;
        *same = memcmp(d.C, d.R, (size_t)(d.M * d.N)) == 0;
    }
    loom_cli_gemm_free(&d);
    return s;
}

int loom_cmd_dse(int argc, char **argv)
{
    enum { O_GEMM = 256, O_ARRAYS, O_BOARDS, O_SAMPLES, O_JSON };
    static const struct option opts[] = {{"gemm", required_argument, NULL, O_GEMM},
                                         {"arrays", required_argument, NULL, O_ARRAYS},
                                         {"boards", required_argument, NULL, O_BOARDS},
                                         {"rtl-samples", required_argument, NULL, O_SAMPLES},
                                         {"json", no_argument, NULL, O_JSON},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *gemms = NULL, *arrays = "4x4,8x8,16x16,32x32", *boards = "all", *model = NULL;
    int rows[MAX_ARRAYS], cols[MAX_ARRAYS], n_arrays = 0, c, rc = 0;
    uint64_t samples = 3;
    bool as_json = false, off = false;
    gemm_list *gl = NULL;
    board_info bi[MAX_BOARDS];
    size_t n_boards = 0;
    json_t *root = NULL, *jarr;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case O_GEMM: gemms = optarg; break;
        case O_ARRAYS: arrays = optarg; break;
        case O_BOARDS: boards = optarg; break;
        case O_SAMPLES:
            if (!loom_cli_parse_u64(optarg, 64, &samples))
                return loom_cli_usage_error("dse", "--rtl-samples takes a whole number from 0 to 64, not '%s'",
                                            optarg);
            break;
        case O_JSON: as_json = true; break;
        case 'h': fputs(dse_usage, stdout); return LOOM_EXIT_OK;
        default: return loom_cli_bad_option("dse", c, argv);
        }
    }
    if (optind < argc)
        model = argv[optind++];
    if (optind < argc)
        return loom_cli_usage_error("dse", "unexpected argument '%s'", argv[optind]);
    if (!model == !gemms)
        return loom_cli_usage_error("dse", "give a MODEL.onnx or --gemm, one of the two");
    {
        char buf[512], *save = NULL;
        if (strlen(arrays) >= sizeof buf)
            return loom_cli_usage_error("dse", "--arrays: the list is too long");
        strcpy(buf, arrays);
        for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (n_arrays == MAX_ARRAYS)
                return loom_cli_usage_error("dse", "--arrays: at most %d sizes", MAX_ARRAYS);
            if (!parse_array(t, &rows[n_arrays], &cols[n_arrays]))
                return loom_cli_usage_error("dse", "--arrays takes ROWSxCOLS sizes, each 2 to 64 (e.g. 8x8,16x16), "
                                            "not '%s'", t);
            n_arrays++;
        }
        if (n_arrays == 0)
            return loom_cli_usage_error("dse", "--arrays names no size");
    }
    if (!(gl = calloc(1, sizeof *gl)))
        return LOOM_EXIT_SOFTWARE;
    if (gemms) {
        char buf[4096], *save = NULL;
        if (strlen(gemms) >= sizeof buf) {
            free(gl);
            return loom_cli_usage_error("dse", "--gemm: the list is too long");
        }
        strcpy(buf, gemms);
        for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
            if (gl->n == MAX_GEMMS || !parse_gemm(t, &gl->g[gl->n++])) {
                free(gl);
                return loom_cli_usage_error("dse", "--gemm takes MxNxK sizes from 1 (e.g. 256x256x256), not '%s'", t);
            }
    } else if ((rc = model_gemms(model, gl)) != 0) {
        free(gl);
        return rc;
    }
    if ((rc = load_boards(boards, bi, &n_boards)) != 0) {
        free(gl);
        return rc;
    }
    loom_cli_logging(0);
    /* every GEMM within what the kernel takes, on every size, before any
     * output: a GEMM too large is the data's fault (65), not the usage's */
    for (int a = 0; a < n_arrays; a++) {
        loom_vsim_options o = {.rows = rows[a], .cols = cols[a]};
        uint64_t t;
        double m;
        if (list_cycles(&o, gl, &t, &m) != LOOM_OK) {
            loom_cli_errorf("%s", loom_last_error());
            free(gl);
            return LOOM_EXIT_DATAERR;
        }
    }

    root = json_object();
    json_object_set_new(root, model ? "model" : "gemms_given", json_string(model ? model : gemms));
    {
        json_t *jg = json_array();
        for (size_t i = 0; i < gl->n; i++) {
            json_t *o = json_object();
            json_object_set_new(o, "M", json_integer(gl->g[i].M));
            json_object_set_new(o, "N", json_integer(gl->g[i].N));
            json_object_set_new(o, "K", json_integer(gl->g[i].K));
            json_object_set_new(o, "act", json_integer(gl->g[i].act));
            json_object_set_new(o, "count", json_integer(gl->g[i].count));
            json_array_append_new(jg, o);
        }
        json_object_set_new(root, "gemms", jg);
    }
    jarr = json_array();
    if (!as_json) {
        printf("%zu int8 GEMM%s per inference; cycles from the analytic model, checked on the RTL where built\n\n",
               gl->n, gl->n == 1 ? "" : "s");
        printf("%-7s %14s %7s  %-24s", "array", "cycles/inf", "util", "model vs RTL");
        for (size_t b = 0; b < n_boards; b++)
            printf(" %12s", bi[b].name);
        printf("\n%-7s %14s %7s  %-24s", "", "", "", "");
        for (size_t b = 0; b < n_boards; b++)
            printf(" %12s", "ms (proj.)");
        printf("\n");
    }
    for (int a = 0; a < n_arrays && rc == 0; a++) {
        loom_vsim_options o = {.rows = rows[a], .cols = cols[a]};
        uint64_t total;
        double macs, worst = 0, util;
        json_t *ja = json_object(), *jr = json_object(), *js = json_array(), *jb = json_array();
        bool built = size_built(rows[a], cols[a]);
        loom_gemm_shape pick[64];
        size_t np = 0;
        char check[64];
        loom_status st = list_cycles(&o, gl, &total, &macs);
        if (st != LOOM_OK) {
            json_decref(ja), json_decref(jr), json_decref(js), json_decref(jb);
            rc = loom_cli_fail(st);
            break;
        }
        util = total ? macs / ((double)total * rows[a] * cols[a]) : 0;
        if (built && samples)
            np = pick_samples(gl, (size_t)samples, pick);
        for (size_t k = 0; k < np; k++) {
            uint64_t cy = 0, pr = 0;
            json_t *o1 = json_object();
            double err;
            bool same = false;
            if ((st = rtl_cycles(&o, &pick[k], 1 + k, &cy, &pr, &same)) != LOOM_OK || !same) {
                json_decref(o1);
                if (st != LOOM_OK) {
                    rc = loom_cli_fail(st);
                } else {
                    loom_cli_errorf("vsim differs from ref on the %dx%d array for %" PRId64 "x%" PRId64 "x%" PRId64,
                                    rows[a], cols[a], pick[k].M, pick[k].N, pick[k].K);
                    rc = 1;
                }
                break;
            }
            err = cy ? ((double)pr - (double)cy) / (double)cy : 0;
            if (fabs(err) > fabs(worst))
                worst = err;
            json_object_set_new(o1, "M", json_integer(pick[k].M));
            json_object_set_new(o1, "N", json_integer(pick[k].N));
            json_object_set_new(o1, "K", json_integer(pick[k].K));
            json_object_set_new(o1, "rtl_cycles", json_integer((json_int_t)cy));
            json_object_set_new(o1, "model_cycles", json_integer((json_int_t)pr));
            json_object_set_new(o1, "model_error", json_real(err));
            json_array_append_new(js, o1);
        }
        if (rc != 0) {
            json_decref(ja), json_decref(jr), json_decref(js), json_decref(jb);
            break;
        }
        if (np && fabs(worst) > 0.05)
            off = true;
        json_object_set_new(jr, "built", json_boolean(built));
        json_object_set_new(jr, "samples", js);
        json_object_set_new(jr, "worst_model_error", np ? json_real(worst) : json_null());
        json_object_set_new(ja, "rows", json_integer(rows[a]));
        json_object_set_new(ja, "cols", json_integer(cols[a]));
        json_object_set_new(ja, "cycles_per_inference", json_integer((json_int_t)total));
        json_object_set_new(ja, "macs_per_inference", json_real(macs));
        json_object_set_new(ja, "utilisation", json_real(util));
        json_object_set_new(ja, "rtl_check", jr);
        if (!built)
            snprintf(check, sizeof check, "not built");
        else if (!np)
            snprintf(check, sizeof check, "not sampled");
        else
            snprintf(check, sizeof check, "%+.2f%% worst of %zu", 100 * worst, np);
        if (!as_json) {
            char label[16];
            snprintf(label, sizeof label, "%dx%d", rows[a], cols[a]);
            printf("%-7s %14" PRIu64 " %6.1f%%  %-24s", label, total, 100 * util, check);
        }
        for (size_t b = 0; b < n_boards; b++) {
            /* the board's memory, per kernel cycle, caps the read and
             * write rates (at most the port's width) */
            const uint32_t port = (uint32_t)loom_vsim_port_bytes();
            double per_cycle = bi[b].bw_gbps * 1e3 / bi[b].clock_mhz;
            loom_vsim_options ob = o;
            uint64_t tb;
            double mb, ms;
            json_t *o1 = json_object();
            ob.read_bytes_per_cycle = ob.write_bytes_per_cycle =
                per_cycle >= port ? 0 : (uint32_t)(per_cycle < 1 ? 1 : per_cycle);
            if ((st = list_cycles(&ob, gl, &tb, &mb)) != LOOM_OK) {
                json_decref(o1);
                rc = loom_cli_fail(st);
                break;
            }
            ms = (double)tb / (bi[b].clock_mhz * 1e3);
            json_object_set_new(o1, "board", json_string(bi[b].name));
            json_object_set_new(o1, "kernel_clock_mhz", json_real(bi[b].clock_mhz));
            json_object_set_new(o1, "memory_bandwidth_gbps", json_real(bi[b].bw_gbps));
            json_object_set_new(o1, "read_bytes_per_cycle",
                                json_integer(ob.read_bytes_per_cycle ? ob.read_bytes_per_cycle
                                                                     : port));
            json_object_set_new(o1, "cycles_per_inference", json_integer((json_int_t)tb));
            json_object_set_new(o1, "latency_ms", json_real(ms));
            json_object_set_new(o1, "inferences_per_second", json_real(ms > 0 ? 1e3 / ms : 0));
            json_object_set_new(o1, "provenance", json_string("projected: analytic cycle model at the board's "
                                                              "kernel clock and memory rate"));
            json_array_append_new(jb, o1);
            if (!as_json)
                printf(" %12.3f", ms);
        }
        if (!as_json)
            printf("\n");
        json_object_set_new(ja, "boards", jb);
        json_array_append_new(jarr, ja);
    }
    json_object_set_new(root, "arrays", jarr);
    if (rc == 0 && as_json) {
        json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
    }
    json_decref(root);
    free(gl);
    if (rc == 0 && off) {
        loom_cli_errorf("the cycle model is off by more than 5%% on a sampled GEMM");
        rc = 1;
    }
    return rc;
}
