/* cmd-sim.c - `loom sim gemm`: one int8 GEMM on the Verilated systolic
 * array (the vsim device), checked bit for bit against ref, with cycles,
 * the analytic model's prediction, utilisation and simulation speed. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char sim_usage[] =
    "usage: loom sim gemm -M M -N N -K K [options]\n"
    "\n"
    "Run one int8 GEMM, C = act(requant(A.B + bias)), on the Verilated\n"
    "systolic array (the vsim device), check C bit for bit against the host\n"
    "reference, and report cycles (start to done), the analytic cycle model's\n"
    "prediction and error, ideal cycles (M*N*K / PEs), PE utilisation and\n"
    "simulation speed. A, B, bias, requantisation parameters and the LUT are\n"
    "random int8/int32 data from --seed.\n"
    "\n"
    "  -M, -N, -K SIZE             the GEMM's sizes (required; 0 is allowed)\n"
    "  --act none|relu|lut         activation after requantisation (default none)\n"
    "  --array ROWSxCOLS           array size (default: rtl/loom-array.json's)\n"
    "  --read-bytes-per-cycle N    memory read rate, at most the port width\n"
    "  --read-latency N            cycles from a read request to its data\n"
    "  --write-bytes-per-cycle N   memory write rate\n"
    "  --write-latency N           cycles from a write to its acknowledgement\n"
    "                              (memory defaults: rtl/loom-array.json)\n"
    "  --seed N                    seed of the random data (default 1)\n"
    "  --reset-seed N              seed of the random initial register state\n"
    "                              (default: a fresh one, printed)\n"
    "  --waveform FILE.fst         write an FST waveform of the run\n"
    "  --watchdog CYCLES           give up after this many cycles (default:\n"
    "                              twice the model's prediction + 10000)\n"
    "  --json                      print one JSON object instead of text\n"
    "  -h, --help                  this text\n"
    "\n"
    "Exit status: 0 when vsim matches ref bit for bit, 1 when it does not,\n"
    "64 usage error, 65 the GEMM is larger than the simulator takes (its\n"
    "256 MiB memory, or about 2e8 memory beats), 69 no simulator in this\n"
    "build or the simulation failed (watchdog, an RTL $fatal).\n";

static const char *opt_name(const struct option *opts, int c)
{
    for (; opts->name; opts++)
        if (opts->val == c)
            return opts->name;
    return "?";
}

static int sim_gemm(int argc, char **argv)
{
    enum { O_ACT = 256, O_ARRAY, O_RBPC, O_RLAT, O_WBPC, O_WLAT, O_SEED, O_RSEED, O_WAVE, O_WDOG, O_JSON };
    static const struct option opts[] = {{"act", required_argument, NULL, O_ACT},
                                         {"array", required_argument, NULL, O_ARRAY},
                                         {"read-bytes-per-cycle", required_argument, NULL, O_RBPC},
                                         {"read-latency", required_argument, NULL, O_RLAT},
                                         {"write-bytes-per-cycle", required_argument, NULL, O_WBPC},
                                         {"write-latency", required_argument, NULL, O_WLAT},
                                         {"seed", required_argument, NULL, O_SEED},
                                         {"reset-seed", required_argument, NULL, O_RSEED},
                                         {"waveform", required_argument, NULL, O_WAVE},
                                         {"watchdog", required_argument, NULL, O_WDOG},
                                         {"json", no_argument, NULL, O_JSON},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    loom_vsim_options o = {0};
    loom_vsim_stats st = {0};
    loom_cli_gemm_data d = {.M = -1, .N = -1, .K = -1};
    loom_gemm_i8_args g;
    const char *act_name = "none";
    uint64_t seed = 1, v;
    bool as_json = false;
    int c, act = LOOM_ACT_NONE, rc;
    int64_t bad = 0, first = -1;
    loom_status s;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":M:N:K:h", opts, NULL)) != -1) {
        switch (c) {
        case 'M': case 'N': case 'K':
            if (!loom_cli_parse_u64(optarg, INT32_MAX, &v))
                return loom_cli_usage_error("sim gemm", "-%c takes a size from 0 to %d, not '%s'", c,
                                            INT32_MAX, optarg);
            *(c == 'M' ? &d.M : c == 'N' ? &d.N : &d.K) = (int64_t)v;
            break;
        case O_ACT:
            if (strcmp(optarg, "none") == 0)
                act = LOOM_ACT_NONE;
            else if (strcmp(optarg, "relu") == 0)
                act = LOOM_ACT_RELU;
            else if (strcmp(optarg, "lut") == 0)
                act = LOOM_ACT_LUT;
            else
                return loom_cli_usage_error("sim gemm", "--act takes none, relu or lut, not '%s'", optarg);
            act_name = optarg;
            break;
        case O_ARRAY: {
            /* two whole numbers, parsed without truncation (sscanf's %d
             * would take 4294967312 as 16) */
            char part[32], *x = strchr(optarg, 'x');
            uint64_t r = 0, cl = 0;
            bool ok = x && (size_t)(x - optarg) < sizeof part;
            if (ok) {
                memcpy(part, optarg, (size_t)(x - optarg));
                part[x - optarg] = '\0';
                ok = loom_cli_parse_u64(part, 4096, &r) && loom_cli_parse_u64(x + 1, 4096, &cl) && r && cl;
            }
            if (!ok)
                return loom_cli_usage_error("sim gemm",
                                            "--array takes ROWSxCOLS, each from 1 to 4096 (e.g. 16x16), not '%s'",
                                            optarg);
            o.rows = (int)r;
            o.cols = (int)cl;
            break;
        }
        case O_RBPC: case O_WBPC: case O_RLAT: case O_WLAT:
            if (!loom_cli_parse_u64(optarg, 1000000, &v) || v == 0)
                return loom_cli_usage_error("sim gemm", "--%s takes a whole number from 1, not '%s'",
                                            opt_name(opts, c), optarg);
            if (c == O_RBPC) o.read_bytes_per_cycle = (uint32_t)v;
            if (c == O_WBPC) o.write_bytes_per_cycle = (uint32_t)v;
            if (c == O_RLAT) o.read_latency = (uint32_t)v;
            if (c == O_WLAT) o.write_latency = (uint32_t)v;
            break;
        case O_SEED: case O_RSEED: case O_WDOG:
            if (!loom_cli_parse_u64(optarg, INT32_MAX, &v) || (c != O_SEED && v == 0))
                return loom_cli_usage_error("sim gemm", "--%s takes a whole number from %d to %d, not '%s'",
                                            opt_name(opts, c), c == O_SEED ? 0 : 1, INT32_MAX, optarg);
            if (c == O_SEED) seed = v;
            if (c == O_RSEED) o.reset_seed = v;
            if (c == O_WDOG) o.watchdog_cycles = v;
            break;
        case O_WAVE: o.waveform = optarg; break;
        case O_JSON: as_json = true; break;
        case 'h': fputs(sim_usage, stdout); return LOOM_EXIT_OK;
        default: return loom_cli_bad_option("sim gemm", c, argv);
        }
    }
    if (optind != argc)
        return loom_cli_usage_error("sim gemm", "unexpected argument '%s'", argv[optind]);
    if (d.M < 0 || d.N < 0 || d.K < 0)
        return loom_cli_usage_error("sim gemm", "-M, -N and -K are required");
    loom_cli_logging(0);
    {
        /* sizes the kernel and the simulator take, before any data is made */
        uint64_t predicted;
        if ((s = loom_vsim_predict_cycles(&o, d.M, d.N, d.K, act, &predicted)) != LOOM_OK)
            return loom_cli_fail(s);
        if ((uint64_t)d.M * (uint64_t)d.K + (uint64_t)d.K * (uint64_t)d.N + (uint64_t)d.M * (uint64_t)d.N +
                12 * (uint64_t)d.N > (uint64_t)255 << 20)
        {
            loom_cli_errorf("vsim: M=%" PRId64 " N=%" PRId64 " K=%" PRId64
                            ": the operands do not fit the simulated 256 MiB memory", d.M, d.N, d.K);
            return LOOM_EXIT_DATAERR;
        }
    }
    /* a waveform that cannot be written is exit 73, before the run (the
     * simulator writes it beside the target and renames it at the end) */
    if (o.waveform && (rc = loom_cli_output_ok(o.waveform)) != 0)
        return rc;

    if ((s = loom_cli_gemm_make(&d, seed)) != LOOM_OK) {
        loom_cli_gemm_free(&d);
        return loom_cli_fail(s);
    }
    g = (loom_gemm_i8_args){.M = d.M, .N = d.N, .K = d.K, .A = d.A, .lda = d.K, .B = d.B, .ldb = d.N,
                            .bias = d.bias, .mult = d.mult, .shift = d.shift, .C = d.R, .ldc = d.N,
                            .act = act, .lut = d.lut};
    if ((s = loom_gemm_i8_ref(&g)) != LOOM_OK) {
        loom_cli_gemm_free(&d);
        return loom_cli_fail(s);
    }
    g.C = d.C;
    if ((s = loom_vsim_gemm_i8(&o, &g, &st)) != LOOM_OK) {
        loom_cli_gemm_free(&d);
        return loom_cli_fail(s);
    }
    for (int64_t i = 0; i < d.M * d.N; i++)
        if (d.C[i] != d.R[i] && bad++ == 0)
            first = i;

    if (as_json) {
        json_t *j = json_object();
        json_object_set_new(j, "device", json_string("vsim"));
        json_object_set_new(j, "rows", json_integer(st.rows));
        json_object_set_new(j, "cols", json_integer(st.cols));
        json_object_set_new(j, "read_bytes_per_cycle", json_integer(st.read_bytes_per_cycle));
        json_object_set_new(j, "read_latency", json_integer(st.read_latency));
        json_object_set_new(j, "write_bytes_per_cycle", json_integer(st.write_bytes_per_cycle));
        json_object_set_new(j, "write_latency", json_integer(st.write_latency));
        json_object_set_new(j, "M", json_integer(d.M));
        json_object_set_new(j, "N", json_integer(d.N));
        json_object_set_new(j, "K", json_integer(d.K));
        json_object_set_new(j, "act", json_string(act_name));
        json_object_set_new(j, "seed", json_integer((json_int_t)seed));
        json_object_set_new(j, "reset_seed", json_integer((json_int_t)st.reset_seed));
        json_object_set_new(j, "bit_exact", json_boolean(bad == 0));
        json_object_set_new(j, "mismatches", json_integer(bad));
        json_object_set_new(j, "cycles", json_integer((json_int_t)st.cycles));
        json_object_set_new(j, "predicted_cycles", json_integer((json_int_t)st.predicted_cycles));
        json_object_set_new(j, "model_error",
                            json_real(st.cycles ? ((double)st.predicted_cycles - (double)st.cycles) /
                                                      (double)st.cycles
                                                : 0.0));
        json_object_set_new(j, "ideal_cycles", json_real(st.ideal_cycles));
        json_object_set_new(j, "utilisation", json_real(st.utilisation));
        json_object_set_new(j, "sim_cycles", json_integer((json_int_t)st.sim_cycles));
        json_object_set_new(j, "wall_seconds", json_real(st.wall_seconds));
        json_object_set_new(j, "sim_cycles_per_second",
                            json_real(st.wall_seconds > 0 ? (double)st.sim_cycles / st.wall_seconds : 0));
        json_object_set_new(j, "waveform", o.waveform ? json_string(o.waveform) : json_null());
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(j);
    } else {
        printf("device        vsim, %dx%d array; memory read %u B/cycle after %u cycles, write %u "
               "B/cycle after %u cycles\n",
               st.rows, st.cols, st.read_bytes_per_cycle, st.read_latency, st.write_bytes_per_cycle,
               st.write_latency);
        printf("gemm          M=%" PRId64 " N=%" PRId64 " K=%" PRId64 " act=%s (data seed %" PRIu64
               ", reset seed %" PRIu64 ")\n",
               d.M, d.N, d.K, act_name, seed, st.reset_seed);
        if (bad == 0)
            printf("result        bit-exact against ref (%" PRId64 " values)\n", d.M * d.N);
        else
            printf("result        MISMATCH: %" PRId64 " of %" PRId64 " values differ; first C[%" PRId64
                   "][%" PRId64 "] = %d, ref %d\n",
                   bad, d.M * d.N, first / d.N, first % d.N, d.C[first], d.R[first]);
        printf("cycles        %" PRIu64 " (start to done)\n", st.cycles);
        printf("model         %" PRIu64 " predicted (error %+.2f%%)\n", st.predicted_cycles,
               st.cycles ? 100.0 * ((double)st.predicted_cycles - (double)st.cycles) / (double)st.cycles
                         : 0.0);
        printf("ideal         %.0f (M*N*K / %d PEs)\n", st.ideal_cycles, st.rows * st.cols);
        printf("utilisation   %.1f%%\n", 100.0 * st.utilisation);
        printf("speed         %.0f simulated cycles/s (%" PRIu64 " cycles in %.2f s)\n",
               st.wall_seconds > 0 ? (double)st.sim_cycles / st.wall_seconds : 0.0, st.sim_cycles,
               st.wall_seconds);
        if (o.waveform)
            printf("waveform      %s\n", o.waveform);
    }
    rc = bad ? 1 : LOOM_EXIT_OK;
    if (bad)
        loom_cli_errorf("vsim differs from ref in %" PRId64 " of %" PRId64 " values", bad, d.M * d.N);
    loom_cli_gemm_free(&d);
    return rc;
}

int loom_cmd_sim(int argc, char **argv)
{
    static const char usage[] = "usage: loom sim gemm [options]   (loom sim gemm --help for details)\n"
                                "\n"
                                "Cycle-accurate simulation of loom's Verilog systolic array (vsim).\n";
    if (argc < 2) {
        fputs(usage, stderr);
        fputc('\n', stderr);
        return loom_cli_usage_error("sim", "a sim command is required: loom sim gemm");
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, stdout);
        return LOOM_EXIT_OK;
    }
    if (strcmp(argv[1], "gemm") == 0)
        return sim_gemm(argc - 1, argv + 1);
    return loom_cli_usage_error("sim", "'%s' is not a sim command (try: loom sim gemm)", argv[1]);
}
