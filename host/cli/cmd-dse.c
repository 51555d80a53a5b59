/* cmd-dse.c - `loom dse`: the systolic array's design space for one
 * model (or a list of GEMMs): for each array size the kernel cycles per
 * inference from the analytic cycle model, checked against the Verilated
 * RTL on a sample of the GEMMs where that size is built, the FPGA
 * resources by yosys, and for each FPGA board the latency and throughput
 * at its kernel clock and memory rate, the fit, and the modelled energy;
 * the Pareto front over them. The report page is cli-report.c. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

static const char dse_usage[] =
    "usage: loom dse MODEL.onnx [options]\n"
    "       loom dse --gemm MxNxK[,MxNxK...] [options]\n"
    "       loom dse merge DIR [--json]\n"
    "\n"
    "Explore the systolic array's size for a quantised model (see loom\n"
    "quantize: its int8 Conv, Gemm and MatMul nodes, each an int8 GEMM, or\n"
    "one per image and group for a Conv; a symbolic dimension such as the\n"
    "batch is taken as 1) or for the GEMMs given. For each array size:\n"
    "  - kernel cycles per inference from the analytic cycle model (the one\n"
    "    loom sim gemm reports beside the RTL), and the PE utilisation;\n"
    "  - the model checked against the Verilated RTL on --rtl-samples of the\n"
    "    distinct GEMMs (spread from the smallest to the largest), where that\n"
    "    size is built into this loom (the sizes of loom sim gemm --array;\n"
    "    others are marked \"not built\": LOOM_SIM_ARRAYS at build time adds\n"
    "    them), with the model's worst error;\n"
    "  - FPGA resources (LUT, FF, DSP, BRAM, URAM): rtl/ synthesised by yosys\n"
    "    (synth_xilinx for UltraScale+; a yosys estimate, not Vivado's, for\n"
    "    the kernel without the Vitis shell). Minutes per size (about 1 at\n"
    "    2x2, 3 at 8x8, 10 at 16x16 here; 32x32 ran past an hour: see\n"
    "    --synth-timeout and --no-synth), then cached in loom's cache folder\n"
    "    ($LOOM_CACHE_DIR, else ~/.cache/loom); without yosys, said and left\n"
    "    out;\n"
    "  - for each FPGA board (boards/): the latency and inferences per second\n"
    "    at the board's kernel clock, the array reading at most what the\n"
    "    board's memory bandwidth gives per cycle (projected, not measured);\n"
    "    whether the resources fit the device (the tightest resource and its\n"
    "    share); the energy per inference, modelled from an energy table's\n"
    "    per-action energies (MACs, scratchpad and device-memory bytes of the\n"
    "    cycle model; a lower bound: dynamic energy of the kernel only) and\n"
    "    bounded above by the board's power limit for that latency;\n"
    "  - the Pareto front of latency, energy and LUTs over the points that fit.\n"
    "\n"
    "A sweep is one point per array size, in --arrays order (0, 1, ...):\n"
    "  --emit slurm DIR       write DIR/sweep.json and DIR/sweep.sh, a Slurm job\n"
    "                         array with one task per point (sbatch DIR/sweep.sh)\n"
    "  --point K --out DIR    run point K alone into DIR/point-K.json; a point\n"
    "                         already there is not run again (resume)\n"
    "  loom dse merge DIR [--json]\n"
    "                         the points of DIR as one result; missing points\n"
    "                         are named (exit 69)\n"
    "\n"
    "  --gemm MxNxK[,...]     GEMMs instead of a model (act none)\n"
    "  --arrays LIST          array sizes, ROWSxCOLS each 2 to 64 (default\n"
    "                         4x4,8x8,16x16,32x32)\n"
    "  --boards LIST|all|none FPGA boards to project onto (default all)\n"
    "  --rtl-samples N        GEMMs simulated per built size (default 3;\n"
    "                         0: the model alone)\n"
    "  --no-synth             no FPGA resources (and so no fit): no yosys run\n"
    "  --synth-timeout S      stop a size's synthesis after S seconds and go on\n"
    "                         without its resources (default 1800)\n"
    "  --energy TABLE|none    the energy table (default horowitz-45nm; loom\n"
    "                         boards lists the tables)\n"
    "  --jobs N               the array sizes in up to N processes at once\n"
    "                         (default 1)\n"
    "  --report DIR           also write DIR/index.html (tables and charts,\n"
    "                         offline; the charts need Debian's libjs-chart.js),\n"
    "                         DIR/dse.json and DIR/dse.csv\n"
    "  --json                 one JSON object instead of the tables\n"
    "  -h, --help             this text\n"
    "\n"
    "Exit status: 0 done (the model within 5% of the RTL on every sample),\n"
    "1 the model is off by more than 5% on a sample or the RTL's result\n"
    "differs from ref, 64 usage error, 65 invalid model, one with no int8\n"
    "GEMM or a GEMM larger than the kernel takes, 66 missing file, 69 a\n"
    "simulation or a synthesis failed, 73 an output cannot be written.\n";

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
    double res[5];          /* lut, ff, dsp, bram36, uram (0: not given) */
    double power_w;         /* power_limit_w */
    loom_board *bd;         /* kept for the energy model */
} board_info;

/* the resources a fit is decided on, as board figures and JSON keys */
static const char *const res_keys[5] = {"lut", "ff", "dsp", "bram36", "uram"};

/* What every point of a sweep is run with. */
typedef struct {
    const board_info *bi;
    size_t n_boards;
    uint64_t samples;       /* RTL samples per built size */
    bool synth;             /* FPGA resources by yosys */
    double synth_timeout;   /* s; 0: none */
    loom_board *energy;     /* the energy table, or NULL */
} dse_cfg;

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
        memset(&b[*n], 0, sizeof b[*n]);
        snprintf(b[*n].name, sizeof b[*n].name, "%s", loom_board_name(bd));
        b[*n].clock_mhz = clk->number;
        b[*n].bw_gbps = bw->number;
        for (int r = 0; r < 5; r++) {
            const loom_board_figure *f = loom_board_find(bd, res_keys[r]);
            b[*n].res[r] = f && !f->is_text ? f->number : 0;
        }
        {
            const loom_board_figure *pw = loom_board_find(bd, "power_limit_w");
            b[*n].power_w = pw && !pw->is_text ? pw->number : 0;
        }
        b[*n].bd = bd;
        (*n)++;
    }
    loom_boards_list_free(names, count);
    return 0;
}

/* Cycles of the whole list under o (the model), and (act, may be NULL)
 * the activity the energy model takes: its counts do not depend on the
 * memory's rate. The error set on failure. */
static loom_status list_cycles(const loom_vsim_options *o, const gemm_list *gl, uint64_t *total, double *macs,
                               loom_energy_counts *act)
{
    *total = 0;
    *macs = 0;
    if (act)
        memset(act, 0, sizeof *act);
    for (size_t i = 0; i < gl->n; i++) {
        loom_vsim_activity a;
        double n = (double)gl->g[i].count;
        loom_status st = loom_vsim_predict(o, gl->g[i].M, gl->g[i].N, gl->g[i].K, gl->g[i].act, &a);
        if (st != LOOM_OK)
            return st;
        *total += a.cycles * (uint64_t)gl->g[i].count;
        *macs += a.macs * n;
        if (act) {
            act->mac_slots += n * (double)a.mac_slots;
            act->spad_bytes += n * (double)(a.spad_bytes_read + a.spad_bytes_written);
            act->dram_bytes += n * (double)(a.bytes_read + a.bytes_written);
        }
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

/* One sampled GEMM on the RTL: its cycles and memory traffic, with
 * random data; *same says whether C equals ref's bit for bit. */
static loom_status rtl_run(const loom_vsim_options *o, const loom_gemm_shape *g, uint64_t seed, loom_vsim_stats *vs,
                           bool *same)
{
    loom_cli_gemm_data d = {.M = g->M, .N = g->N, .K = g->K};
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
        s = loom_vsim_gemm_i8(o, &a, vs);
    }
    if (s == LOOM_OK)
        *same = memcmp(d.C, d.R, (size_t)(d.M * d.N)) == 0;
    loom_cli_gemm_free(&d);
    return s;
}

/* The array's FPGA resources by yosys (cached), as JSON; NULL with *why
 * set when there are none (no yosys, or --no-synth); a failed synthesis
 * is an error (the exit code returned). */
static int array_resources(int rows, int cols, const dse_cfg *cfg, json_t **out, const char **why)
{
    loom_rtl_resources r;
    loom_rtl_resources_options ro = {.cache_only = true, .timeout_s = cfg->synth_timeout};
    loom_status st;
    *out = NULL;
    *why = NULL;
    if (!cfg->synth) {
        *why = "not estimated (--no-synth)";
        return 0;
    }
    if ((st = loom_rtl_resources_estimate(rows, cols, &ro, &r)) != LOOM_OK) {
        if (st == LOOM_E_DEVICE_UNAVAILABLE) {
            *why = "not estimated: yosys is not installed (Debian package yosys)";
            return 0;
        }
        if (st != LOOM_E_NOT_FOUND)
            return loom_cli_fail(st);
        fprintf(stderr, "loom: dse: synthesising the %dx%d array with yosys (minutes; cached afterwards)...\n", rows,
                cols);
        ro.cache_only = false;
        if ((st = loom_rtl_resources_estimate(rows, cols, &ro, &r)) == LOOM_E_LIMIT) {
            /* too long: the sweep goes on without this size's resources */
            static char why_buf[160];
            snprintf(why_buf, sizeof why_buf, "not estimated: yosys ran past --synth-timeout (%.0f s) on %dx%d",
                     cfg->synth_timeout, rows, cols);
            fprintf(stderr, "loom: dse: %s\n", why_buf);
            *why = why_buf;
            return 0;
        }
        if (st != LOOM_OK)
            return loom_cli_fail(st);
        fprintf(stderr, "loom: dse: %dx%d synthesised in %.0f s\n", rows, cols, r.synth_seconds);
    }
    *out = json_object();
    json_object_set_new(*out, "lut", json_real(r.lut));
    json_object_set_new(*out, "lutram", json_real(r.lutram));
    json_object_set_new(*out, "ff", json_real(r.ff));
    json_object_set_new(*out, "dsp", json_real(r.dsp));
    json_object_set_new(*out, "bram36", json_real(r.bram36));
    json_object_set_new(*out, "uram", json_real(r.uram));
    json_object_set_new(*out, "tool", json_string(r.tool));
    json_object_set_new(*out, "synth_seconds", json_real(r.synth_seconds));
    json_object_set_new(*out, "provenance", json_string("estimated: yosys synth_xilinx -family xcup (UltraScale+), "
                                                        "not Vivado's; the kernel alone, without the Vitis shell"));
    return 0;
}

/* Does res fit board b: per resource the share used, the tightest, and
 * the margin left on it (against the whole device: the shell's share is
 * not known here). A resource the board file does not give is not
 * checked, and named. */
static json_t *board_fit(const json_t *res, const board_info *b)
{
    json_t *fit = json_object(), *use = json_object(), *unchecked = json_array();
    double worst = 0;
    const char *tight = "lut";
    for (int r = 0; r < 5; r++) {
        double need = json_number_value(json_object_get(res, res_keys[r]));
        if (b->res[r] <= 0) {
            if (need > 0)
                json_array_append_new(unchecked, json_string(res_keys[r]));
            continue;
        }
        json_object_set_new(use, res_keys[r], json_real(need / b->res[r]));
        if (need / b->res[r] > worst) {
            worst = need / b->res[r];
            tight = res_keys[r];
        }
    }
    json_object_set_new(fit, "fits", json_boolean(worst <= 1.0));
    json_object_set_new(fit, "tightest", json_string(tight));
    json_object_set_new(fit, "tightest_share", json_real(worst));
    json_object_set_new(fit, "share", use);
    json_object_set_new(fit, "not_checked", unchecked);
    json_object_set_new(fit, "note", json_string("against the whole device; the Vitis shell takes a share not "
                                                 "counted here"));
    return fit;
}

/* One point of the sweep: array rows x cols, as a JSON object (cycles,
 * utilisation, the RTL check, resources, the boards). *off: the model is
 * off by more than 5% on a sample. 0 or the exit code, the message
 * printed. */
static int array_point(const gemm_list *gl, int rows, int cols, const dse_cfg *cfg, json_t **out, bool *off)
{
    loom_vsim_options o = {.rows = rows, .cols = cols};
    uint64_t total;
    double macs, worst = 0;
    json_t *ja, *jr, *js, *jb, *jres = NULL, *jact;
    bool built = size_built(rows, cols);
    loom_gemm_shape pick[64];
    loom_energy_counts act;
    size_t np = 0;
    const char *res_why = NULL;
    int rc;
    loom_status st = list_cycles(&o, gl, &total, &macs, &act);
    *out = NULL;
    if (st != LOOM_OK)
        return loom_cli_fail(st);
    if ((rc = array_resources(rows, cols, cfg, &jres, &res_why)) != 0)
        return rc;
    ja = json_object(), jr = json_object(), js = json_array(), jb = json_array();
    if (built && cfg->samples)
        np = pick_samples(gl, (size_t)cfg->samples, pick);
    for (size_t k = 0; k < np; k++) {
        loom_vsim_stats vs;
        loom_vsim_activity pa;
        json_t *o1;
        double err;
        bool same = false;
        if ((st = rtl_run(&o, &pick[k], 1 + k, &vs, &same)) != LOOM_OK || !same ||
            (st = loom_vsim_predict(&o, pick[k].M, pick[k].N, pick[k].K, pick[k].act, &pa)) != LOOM_OK) {
            json_decref(ja), json_decref(jr), json_decref(js), json_decref(jb), json_decref(jres);
            if (st != LOOM_OK)
                return loom_cli_fail(st);
            loom_cli_errorf("vsim differs from ref on the %dx%d array for %" PRId64 "x%" PRId64 "x%" PRId64, rows,
                            cols, pick[k].M, pick[k].N, pick[k].K);
            return 1;
        }
        err = vs.cycles ? ((double)vs.predicted_cycles - (double)vs.cycles) / (double)vs.cycles : 0;
        if (fabs(err) > fabs(worst))
            worst = err;
        o1 = json_object();
        json_object_set_new(o1, "M", json_integer(pick[k].M));
        json_object_set_new(o1, "N", json_integer(pick[k].N));
        json_object_set_new(o1, "K", json_integer(pick[k].K));
        json_object_set_new(o1, "rtl_cycles", json_integer((json_int_t)vs.cycles));
        json_object_set_new(o1, "model_cycles", json_integer((json_int_t)vs.predicted_cycles));
        json_object_set_new(o1, "model_error", json_real(err));
        json_object_set_new(o1, "rtl_bytes", json_integer((json_int_t)(vs.bytes_read + vs.bytes_written)));
        json_object_set_new(o1, "model_bytes", json_integer((json_int_t)(pa.bytes_read + pa.bytes_written)));
        json_array_append_new(js, o1);
    }
    *off = np && fabs(worst) > 0.05;
    json_object_set_new(jr, "built", json_boolean(built));
    json_object_set_new(jr, "samples", js);
    json_object_set_new(jr, "worst_model_error", np ? json_real(worst) : json_null());
    json_object_set_new(ja, "rows", json_integer(rows));
    json_object_set_new(ja, "cols", json_integer(cols));
    json_object_set_new(ja, "cycles_per_inference", json_integer((json_int_t)total));
    json_object_set_new(ja, "macs_per_inference", json_real(macs));
    json_object_set_new(ja, "utilisation", json_real(total ? macs / ((double)total * rows * cols) : 0));
    json_object_set_new(ja, "rtl_check", jr);
    jact = json_object();
    json_object_set_new(jact, "mac_slots", json_real(act.mac_slots));
    json_object_set_new(jact, "spad_bytes", json_real(act.spad_bytes));
    json_object_set_new(jact, "dram_bytes", json_real(act.dram_bytes));
    json_object_set_new(ja, "activity_per_inference", jact);
    json_object_set_new(ja, "resources", jres ? jres : json_null());
    if (!jres)
        json_object_set_new(ja, "resources_note", json_string(res_why));
    for (size_t b = 0; b < cfg->n_boards; b++) {
        /* the board's memory, per kernel cycle, caps the read and write
         * rates (at most the port's width) */
        const board_info *bi = &cfg->bi[b];
        const uint32_t port = (uint32_t)loom_vsim_port_bytes();
        double per_cycle = bi->bw_gbps * 1e3 / bi->clock_mhz, mb, ms;
        loom_vsim_options ob = o;
        uint64_t tb;
        json_t *o1;
        ob.read_bytes_per_cycle = ob.write_bytes_per_cycle =
            per_cycle >= port ? 0 : (uint32_t)(per_cycle < 1 ? 1 : per_cycle);
        if ((st = list_cycles(&ob, gl, &tb, &mb, NULL)) != LOOM_OK) {
            json_decref(ja), json_decref(jb);
            return loom_cli_fail(st);
        }
        ms = (double)tb / (bi->clock_mhz * 1e3);
        o1 = json_object();
        json_object_set_new(o1, "board", json_string(bi->name));
        json_object_set_new(o1, "kernel_clock_mhz", json_real(bi->clock_mhz));
        json_object_set_new(o1, "memory_bandwidth_gbps", json_real(bi->bw_gbps));
        json_object_set_new(o1, "read_bytes_per_cycle",
                            json_integer(ob.read_bytes_per_cycle ? ob.read_bytes_per_cycle : port));
        json_object_set_new(o1, "cycles_per_inference", json_integer((json_int_t)tb));
        json_object_set_new(o1, "latency_ms", json_real(ms));
        json_object_set_new(o1, "inferences_per_second", json_real(ms > 0 ? 1e3 / ms : 0));
        json_object_set_new(o1, "provenance", json_string("projected: analytic cycle model at the board's "
                                                          "kernel clock and memory rate"));
        json_object_set_new(o1, "fit", jres ? board_fit(jres, bi) : json_null());
        if (cfg->energy) {
            loom_energy_estimate e;
            bool scaled = false;
            char prov[256];
            if ((st = loom_energy_int8_array(bi->bd, cfg->energy, &act, &e, &scaled)) != LOOM_OK) {
                json_decref(ja), json_decref(jb), json_decref(o1);
                return loom_cli_fail(st);
            }
            json_object_set_new(o1, "energy_mj", json_real(e.dynamic_j * 1e3));
            json_object_set_new(o1, "energy_mac_mj", json_real(e.mac_j * 1e3));
            json_object_set_new(o1, "energy_spad_mj", json_real(e.spad_j * 1e3));
            json_object_set_new(o1, "energy_dram_mj", json_real(e.dram_j * 1e3));
            json_object_set_new(o1, "inferences_per_joule", json_real(e.dynamic_j > 0 ? 1 / e.dynamic_j : 0));
            snprintf(prov, sizeof prov, "modelled: %s per action%s, dynamic energy of the kernel only (no static "
                     "power, routing or clock tree): a lower bound", loom_board_name(cfg->energy),
                     scaled ? ", on-chip energies scaled to the board's node and VCCINT" : " (not scaled: the board "
                     "gives no process_nm and vccint_v)");
            json_object_set_new(o1, "energy_scale", json_real(e.scale));
            json_object_set_new(o1, "energy_provenance", json_string(prov));
        }
        if (bi->power_w > 0) {
            json_object_set_new(o1, "energy_bound_mj", json_real(bi->power_w * ms));
            json_object_set_new(o1, "energy_bound_provenance",
                                json_string("bound: the board's power limit for the latency (an upper bound)"));
        }
        json_array_append_new(jb, o1);
    }
    json_object_set_new(ja, "boards", jb);
    *out = ja;
    return 0;
}

/* The Pareto front of the sweep over (latency, energy, LUTs): each board
 * entry of an array that fits (or whose fit is not known) gets "pareto":
 * true when no other such entry is as good on all three and better on
 * one. Energy is the modelled one, else the bound. */
static void mark_pareto(json_t *root)
{
    json_t *arrays = json_object_get(root, "arrays"), *ja, *jb, *ja2, *jb2;
    size_t i, b, i2, b2;
#define DSE_OBJ(ja_, jb_, k_)                                                                                         \
    ((k_) == 0   ? json_number_value(json_object_get(jb_, "latency_ms"))                                             \
     : (k_) == 1 ? (json_object_get(jb_, "energy_mj") ? json_number_value(json_object_get(jb_, "energy_mj"))        \
                                                      : json_number_value(json_object_get(jb_, "energy_bound_mj"))) \
                 : json_number_value(json_object_get(json_object_get(ja_, "resources"), "lut")))
    json_array_foreach(arrays, i, ja) {
        json_array_foreach(json_object_get(ja, "boards"), b, jb) {
            bool dominated = false;
            if (json_is_false(json_object_get(json_object_get(jb, "fit"), "fits"))) {
                json_object_set_new(jb, "pareto", json_false());
                continue;
            }
            json_array_foreach(arrays, i2, ja2) {
                json_array_foreach(json_object_get(ja2, "boards"), b2, jb2) {
                    bool le = true, lt = false;
                    if ((i2 == i && b2 == b) || json_is_false(json_object_get(json_object_get(jb2, "fit"), "fits")))
                        continue;
                    for (int k = 0; k < 3; k++) {
                        double x = DSE_OBJ(ja2, jb2, k), y = DSE_OBJ(ja, jb, k);
                        le &= x <= y;
                        lt |= x < y;
                    }
                    dominated |= le && lt;
                }
            }
            json_object_set_new(jb, "pareto", json_boolean(!dominated));
        }
    }
#undef DSE_OBJ
}

/* The tables of a finished sweep (root as --json prints it, Pareto
 * marked): one row per array size, then one per array and board. */
static void print_table(const json_t *root)
{
    const json_t *arrays = json_object_get(root, "arrays"), *ja, *jb;
    size_t n = json_array_size(json_object_get(root, "gemms")), i, b;
    const char *tool = loom_cli_dse_first(root, "resources", "tool");
    const char *energy = loom_cli_dse_first(root, "boards", "energy_provenance");
    bool any_boards = false;
    json_array_foreach(arrays, i, ja)
        any_boards |= json_array_size(json_object_get(ja, "boards")) > 0;
    printf("%zu int8 GEMM%s per inference; cycles from the analytic model, checked on the RTL where built\n", n,
           n == 1 ? "" : "s");
    if (tool)
        printf("resources: %s, synth_xilinx for UltraScale+ (an estimate, not Vivado's; the kernel alone)\n", tool);
    printf("\n%-7s %14s %7s  %-22s %9s %9s %6s %7s\n", "array", "cycles/inf", "util", "model vs RTL", "LUT", "FF",
           "DSP", "BRAM36");
    json_array_foreach(arrays, i, ja) {
        const json_t *rtl = json_object_get(ja, "rtl_check"), *worst = json_object_get(rtl, "worst_model_error");
        const json_t *res = json_object_get(ja, "resources");
        char label[16], check[64];
        snprintf(label, sizeof label, "%dx%d", (int)json_integer_value(json_object_get(ja, "rows")),
                 (int)json_integer_value(json_object_get(ja, "cols")));
        if (!json_is_true(json_object_get(rtl, "built")))
            snprintf(check, sizeof check, "not built");
        else if (!json_is_number(worst))
            snprintf(check, sizeof check, "not sampled");
        else
            snprintf(check, sizeof check, "%+.2f%% worst of %zu", 100 * json_number_value(worst),
                     json_array_size(json_object_get(rtl, "samples")));
        printf("%-7s %14" PRIu64 " %6.1f%%  %-22s", label,
               (uint64_t)json_integer_value(json_object_get(ja, "cycles_per_inference")),
               100 * json_number_value(json_object_get(ja, "utilisation")), check);
        if (json_is_object(res))
            printf(" %9.0f %9.0f %6.0f %7.1f\n", json_number_value(json_object_get(res, "lut")),
                   json_number_value(json_object_get(res, "ff")), json_number_value(json_object_get(res, "dsp")),
                   json_number_value(json_object_get(res, "bram36")));
        else
            printf(" %9s %9s %6s %7s\n", "-", "-", "-", "-");
    }
    json_array_foreach(arrays, i, ja) {
        if (!json_is_object(json_object_get(ja, "resources"))) {
            printf("(resources %s)\n", json_string_value(json_object_get(ja, "resources_note")));
            break;
        }
    }
    if (!any_boards)
        return;
    printf("\nprojected onto each board: latency at its kernel clock and memory rate%s%s\n",
           energy ? "; energy " : "", energy ? energy : "");
    printf("  (bound: the board's power limit for that latency; * on the Pareto front of latency, energy and LUTs)\n");
    printf("%-7s %-9s %12s %11s %11s %11s  %-22s %s\n", "array", "board", "latency ms", "inf/s", "energy mJ",
           "bound mJ", "fits (tightest)", "pareto");
    json_array_foreach(arrays, i, ja) {
        char label[16];
        snprintf(label, sizeof label, "%dx%d", (int)json_integer_value(json_object_get(ja, "rows")),
                 (int)json_integer_value(json_object_get(ja, "cols")));
        json_array_foreach(json_object_get(ja, "boards"), b, jb) {
            const json_t *fit = json_object_get(jb, "fit"), *e = json_object_get(jb, "energy_mj");
            const json_t *bound = json_object_get(jb, "energy_bound_mj");
            char fits[48], es[24], bs[24];
            if (json_is_object(fit)) {
                const json_t *sh = json_object_get(fit, "tightest_share");
                snprintf(fits, sizeof fits, "%s %s %.1f%%", json_is_true(json_object_get(fit, "fits")) ? "yes:" : "NO:",
                         json_string_value(json_object_get(fit, "tightest")), 100 * json_number_value(sh));
            } else {
                snprintf(fits, sizeof fits, "not known");
            }
            snprintf(es, sizeof es, json_is_number(e) ? "%.4g" : "-", json_number_value(e));
            snprintf(bs, sizeof bs, json_is_number(bound) ? "%.4g" : "-", json_number_value(bound));
            printf("%-7s %-9s %12.3f %11.1f %11s %11s  %-22s %s\n", label,
                   json_string_value(json_object_get(jb, "board")), json_number_value(json_object_get(jb, "latency_ms")),
                   json_number_value(json_object_get(jb, "inferences_per_second")), es, bs, fits,
                   json_is_true(json_object_get(jb, "pareto")) ? "*" : "");
        }
    }
}

static void point_path(char *buf, size_t size, const char *dir, size_t k)
{
    snprintf(buf, size, "%s/point-%03zu.json", dir, k);
}

/* j into path, whole or not at all (beside it first, then renamed). */
/* s in single quotes for sh */
static void put_quoted(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++)
        if (*s == '\'')
            fputs("'\\''", f);
        else
            fputc(*s, f);
    fputc('\'', f);
}

/* A sweep's folder: sweep.json (the header of the result: what was
 * swept), point-NNN.json per finished point, sweep.sh for Slurm. */
static int emit_slurm(const char *dir, json_t *root, int n_arrays, char **argv, int argc)
{
    char path[1100];
    FILE *f;
    int rc;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        loom_cli_errorf("%s: cannot make the folder: %s", dir, strerror(errno));
        return LOOM_EXIT_CANTCREAT;
    }
    snprintf(path, sizeof path, "%s/sweep.json", dir);
    if ((rc = loom_cli_write_json(path, root, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) != 0)
        return rc;
    snprintf(path, sizeof path, "%s/sweep.sh", dir);
    if ((rc = loom_cli_output_ok(path)) != 0)
        return rc;
    if (!(f = fopen(path, "w"))) {
        loom_cli_errorf("%s: %s", path, strerror(errno));
        return LOOM_EXIT_CANTCREAT;
    }
    {
        /* the task runs this loom, from this folder (paths in the command
         * stay what they meant here) */
        char exe[1024], cwd[1024];
        ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (len <= 0 || !getcwd(cwd, sizeof cwd)) {
            fclose(f);
            unlink(path);
            loom_cli_errorf("%s: cannot find this loom's path or the current folder", path);
            return LOOM_EXIT_SOFTWARE;
        }
        exe[len] = '\0';
        if (strchr(cwd, '\n') || strchr(dir, '\n')) {
            fclose(f);
            unlink(path);
            loom_cli_errorf("%s: a folder name holds a newline: no Slurm script is written for it", path);
            return LOOM_EXIT_CANTCREAT;
        }
        fprintf(f, "#!/bin/sh\n# Written by loom dse --emit slurm: one array task per point of the sweep.\n"
                   "# sbatch %s, then: loom dse merge %s\n#SBATCH --job-name=loom-dse\n#SBATCH --array=0-%d\n"
                   "#SBATCH --output=%s/slurm-%%A_%%a.log\nset -eu\ncd ",
                path, dir, n_arrays - 1, dir);
        put_quoted(f, cwd);
        fputs("\nexec ", f);
        put_quoted(f, exe);
    }
    for (int i = 0; i < argc; i++) {
        /* the same command, one point of it */
        if (strcmp(argv[i], "--emit") == 0) {
            i += 2;
            continue;
        }
        fputc(' ', f);
        put_quoted(f, argv[i]);
    }
    fputs(" --point \"$SLURM_ARRAY_TASK_ID\" --out ", f);
    put_quoted(f, dir);
    fputc('\n', f);
    if (fclose(f) != 0) {
        loom_cli_errorf("%s: write failed", path);
        return LOOM_EXIT_CANTCREAT;
    }
    chmod(path, 0755);
    printf("%s: %d points; run it with sbatch %s, then loom dse merge %s\n", dir, n_arrays, path, dir);
    return 0;
}

/* loom dse merge DIR: the points of a sweep into its result. */
static int dse_merge(int argc, char **argv)
{
    char path[1100];
    const char *dir;
    bool as_json = false;
    json_t *root, *arrays;
    json_error_t je;
    size_t n, missing = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            as_json = true;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(dse_usage, stdout);
            return LOOM_EXIT_OK;
        }
    }
    if (argc < 2 || argv[1][0] == '-')
        return loom_cli_usage_error("dse merge", "a sweep folder is required: loom dse merge DIR");
    dir = argv[1];
    snprintf(path, sizeof path, "%s/sweep.json", dir);
    if (!(root = json_load_file(path, 0, &je))) {
        loom_cli_errorf("%s: not a sweep folder of loom dse --emit (%s)", dir, je.text);
        return LOOM_EXIT_NOINPUT;
    }
    n = (size_t)json_integer_value(json_object_get(root, "points"));
    arrays = json_array();
    for (size_t k = 0; k < n; k++) {
        json_t *p;
        point_path(path, sizeof path, dir, k);
        if (!(p = json_load_file(path, 0, &je))) {
            fprintf(stderr, "loom: note: point %zu of %s is missing (not run yet, or it failed): %s\n", k, dir,
                    path);
            missing++;
            continue;
        }
        json_array_append_new(arrays, p);
    }
    json_object_del(root, "points");
    json_object_set_new(root, "arrays", arrays);
    mark_pareto(root);
    if (as_json) {
        json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
    } else {
        print_table(root);
    }
    json_decref(root);
    if (missing) {
        loom_cli_errorf("%zu of %zu points of %s are missing: run them again (loom dse ... --point K --out %s)",
                        missing, n, dir, dir);
        return LOOM_EXIT_UNAVAILABLE;
    }
    return 0;
}

/* --jobs N: the points in up to N local processes, each writing its
 * point to a private folder, then read back in order (the same result as
 * one process; a failed point fails the run, its message printed by the
 * process that ran it). */
static int run_local(const gemm_list *gl, const int *rows, const int *cols, int n, const dse_cfg *cfg, int jobs,
                     json_t *jarr, bool *off)
{
    char dir[] = "/tmp/loom-dse-XXXXXX", path[128];
    pid_t *pid = calloc((size_t)n, sizeof *pid);
    int rc = 0, running = 0, next = 0, done = 0;
    if (!pid || !mkdtemp(dir)) {
        free(pid);
        loom_cli_errorf("--jobs: cannot make a temporary folder: %s", strerror(errno));
        return LOOM_EXIT_SOFTWARE;
    }
    fflush(NULL);
    while (done < n) {
        int status;
        pid_t w;
        while (rc == 0 && next < n && running < jobs) {
            pid_t p = fork();
            if (p == 0) {
                json_t *ja;
                bool a_off = false;
                int crc = array_point(gl, rows[next], cols[next], cfg, &ja, &a_off);
                if (crc == 0) {
                    json_object_set_new(ja, "off", json_boolean(a_off));
                    point_path(path, sizeof path, dir, (size_t)next);
                    if (json_dump_file(ja, path, JSON_COMPACT) != 0)
                        crc = LOOM_EXIT_SOFTWARE;
                }
                fflush(NULL);
                _exit(crc);
            }
            if (p < 0) {
                loom_cli_errorf("--jobs: cannot start a process: %s", strerror(errno));
                rc = LOOM_EXIT_SOFTWARE;
                break;
            }
            pid[next++] = p;
            running++;
        }
        if (running == 0)
            break;
        if ((w = wait(&status)) < 0)
            break;
        running--;
        done++;
        for (int k = 0; k < next; k++)
            if (pid[k] == w && rc == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
                rc = WIFEXITED(status) ? WEXITSTATUS(status) : LOOM_EXIT_SOFTWARE;
    }
    for (int k = 0; k < n && rc == 0; k++) {
        json_error_t je;
        json_t *ja;
        point_path(path, sizeof path, dir, (size_t)k);
        if (!(ja = json_load_file(path, 0, &je))) {
            loom_cli_errorf("--jobs: point %d left no result", k);
            rc = LOOM_EXIT_SOFTWARE;
            break;
        }
        *off |= json_is_true(json_object_get(ja, "off"));
        json_object_del(ja, "off");
        json_array_append_new(jarr, ja);
    }
    for (int k = 0; k < n; k++) {
        point_path(path, sizeof path, dir, (size_t)k);
        unlink(path);
    }
    rmdir(dir);
    free(pid);
    return rc;
}

int loom_cmd_dse(int argc, char **argv)
{
    enum { O_GEMM = 256, O_ARRAYS, O_BOARDS, O_SAMPLES, O_JSON, O_POINT, O_OUT, O_EMIT, O_JOBS, O_NO_SYNTH,
           O_SYNTH_TIMEOUT, O_ENERGY, O_REPORT };
    static const struct option opts[] = {{"gemm", required_argument, NULL, O_GEMM},
                                         {"arrays", required_argument, NULL, O_ARRAYS},
                                         {"boards", required_argument, NULL, O_BOARDS},
                                         {"rtl-samples", required_argument, NULL, O_SAMPLES},
                                         {"json", no_argument, NULL, O_JSON},
                                         {"point", required_argument, NULL, O_POINT},
                                         {"out", required_argument, NULL, O_OUT},
                                         {"emit", required_argument, NULL, O_EMIT},
                                         {"jobs", required_argument, NULL, O_JOBS},
                                         {"no-synth", no_argument, NULL, O_NO_SYNTH},
                                         {"synth-timeout", required_argument, NULL, O_SYNTH_TIMEOUT},
                                         {"energy", required_argument, NULL, O_ENERGY},
                                         {"report", required_argument, NULL, O_REPORT},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *gemms = NULL, *arrays = "4x4,8x8,16x16,32x32", *boards = "all", *model = NULL, *out_dir = NULL;
    const char *emit = NULL, *energy = "horowitz-45nm", *report = NULL;
    int rows[MAX_ARRAYS], cols[MAX_ARRAYS], n_arrays = 0, c, rc = 0;
    uint64_t samples = 3, point = UINT64_MAX, jobs = 1, synth_timeout = 1800;
    bool synth = true;
    dse_cfg cfg = {0};
    bool as_json = false, off = false;
    gemm_list *gl = NULL;
    board_info bi[MAX_BOARDS];
    size_t n_boards = 0;
    json_t *root = NULL, *jarr;

    if (argc >= 2 && strcmp(argv[1], "merge") == 0)
        return dse_merge(argc - 1, argv + 1);
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
        case O_POINT:
            if (!loom_cli_parse_u64(optarg, MAX_ARRAYS - 1, &point))
                return loom_cli_usage_error("dse", "--point takes a point's number from 0 to %d, not '%s'",
                                            MAX_ARRAYS - 1, optarg);
            break;
        case O_OUT: out_dir = optarg; break;
        case O_JOBS:
            if (!loom_cli_parse_u64(optarg, 64, &jobs) || jobs == 0)
                return loom_cli_usage_error("dse", "--jobs takes a number of processes from 1 to 64, not '%s'",
                                            optarg);
            break;
        case O_EMIT:
            if (strcmp(optarg, "slurm") != 0 || optind >= argc)
                return loom_cli_usage_error("dse", "--emit takes slurm and a folder: --emit slurm DIR");
            emit = argv[optind++];
            break;
        case O_JSON: as_json = true; break;
        case O_NO_SYNTH: synth = false; break;
        case O_SYNTH_TIMEOUT:
            if (!loom_cli_parse_u64(optarg, 86400, &synth_timeout) || synth_timeout == 0)
                return loom_cli_usage_error("dse", "--synth-timeout takes seconds from 1 to 86400, not '%s'", optarg);
            break;
        case O_ENERGY: energy = optarg; break;
        case O_REPORT: report = optarg; break;
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
    if ((point != UINT64_MAX) != (out_dir != NULL))
        return loom_cli_usage_error("dse", "--point and --out go together: --point K --out DIR");
    if (emit && out_dir)
        return loom_cli_usage_error("dse", "--emit writes a sweep; --point runs one of its points: not both");
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
        if (point != UINT64_MAX && point >= (uint64_t)n_arrays)
            return loom_cli_usage_error("dse", "--point %" PRIu64 ": the sweep has points 0 to %d", point,
                                        n_arrays - 1);
    }
    if (out_dir) {
        /* resume: a point already done is not run again */
        char path[1100];
        struct stat sb;
        point_path(path, sizeof path, out_dir, (size_t)point);
        if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
            printf("%s: done already\n", path);
            return 0;
        }
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
    cfg = (dse_cfg){.bi = bi, .n_boards = n_boards, .samples = samples, .synth = synth,
                    .synth_timeout = (double)synth_timeout};
    if (strcmp(energy, "none") != 0) {
        loom_status st = loom_board_load(energy, &cfg.energy);
        if (st == LOOM_OK && strcmp(loom_board_kind(cfg.energy), "energy") != 0) {
            loom_cli_errorf("--energy: %s is not an energy table (its kind is %s; loom boards lists the tables)",
                            energy, loom_board_kind(cfg.energy));
            rc = LOOM_EXIT_USAGE;
        } else if (st != LOOM_OK) {
            rc = loom_cli_fail(st);
        }
        if (rc)
            goto out;
    }
    loom_cli_logging(0);
    /* every GEMM within what the kernel takes, on every size, before any
     * output: a GEMM too large is the data's fault (65), not the usage's */
    for (int a = 0; a < n_arrays; a++) {
        loom_vsim_options o = {.rows = rows[a], .cols = cols[a]};
        uint64_t t;
        double m;
        if (list_cycles(&o, gl, &t, &m, NULL) != LOOM_OK) {
            loom_cli_errorf("%s", loom_last_error());
            rc = LOOM_EXIT_DATAERR;
            goto out;
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
    if (emit) {
        json_object_set_new(root, "points", json_integer(n_arrays));
        rc = emit_slurm(emit, root, n_arrays, argv, argc);
        goto out;
    }
    jarr = json_array();
    if (jobs > 1 && !out_dir) {
        rc = run_local(gl, rows, cols, n_arrays, &cfg, (int)jobs, jarr, &off);
        n_arrays = 0; /* done: the points are in jarr */
    }
    for (int a = 0; a < n_arrays && rc == 0; a++) {
        json_t *ja;
        bool a_off = false;
        if (point != UINT64_MAX && (uint64_t)a != point)
            continue;
        if ((rc = array_point(gl, rows[a], cols[a], &cfg, &ja, &a_off)) != 0)
            break;
        off |= a_off;
        if (out_dir) {
            char path[1100];
            point_path(path, sizeof path, out_dir, (size_t)a);
            rc = loom_cli_write_json(path, ja, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            json_decref(ja);
            if (rc == 0)
                printf("%s: written\n", path);
            continue;
        }
        json_array_append_new(jarr, ja);
    }
    json_object_set_new(root, "arrays", jarr);
    if (rc == 0 && !out_dir) {
        mark_pareto(root);
        if (report)
            rc = loom_cli_dse_report(root, report);
        if (rc == 0 && as_json) {
            json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            fputc('\n', stdout);
        } else if (rc == 0) {
            print_table(root);
        }
    }
    if (rc == 0 && off) {
        loom_cli_errorf("the cycle model is off by more than 5%% on a sampled GEMM");
        rc = 1;
    }
out:
    json_decref(root);
    free(gl);
    for (size_t b = 0; b < n_boards; b++)
        loom_board_free(bi[b].bd);
    loom_board_free(cfg.energy);
    return rc;
}
