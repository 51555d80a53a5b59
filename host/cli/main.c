/* main.c - `loom`: the command-line front end of the loom runtime. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: loom [--help] [--version] [--max-memory SIZE] <command> [<args>]\n"
    "\n"
    "Run ONNX models on the devices this machine has (OpenCL CPUs, GPUs and\n"
    "FPGAs; the reference C backend for everything else) and check the results;\n"
    "simulate loom's own systolic array cycle by cycle (vsim).\n"
    "\n"
    "commands:\n"
    "  info MODEL        inputs, outputs, operators and parameters of a model\n"
    "  run MODEL         run a model on .npy inputs and write its outputs\n"
    "  devices           the devices found on this machine, in fallback order\n"
    "  partition MODEL   where each node would run, and why\n"
    "  validate MODEL    each device against ref, node by node\n"
    "  quantize MODEL    int8 post-training quantisation to a QDQ ONNX model,\n"
    "                    with the float vs int8 agreement and per-layer SQNR\n"
    "  boards [NAME]     board data: FPGA cards, GPUs, CPUs, with sources\n"
    "  sim gemm          one int8 GEMM on the Verilated systolic array (vsim):\n"
    "                    cycles, utilisation, bit-exact check against ref\n"
    "  dse MODEL         array sizes for a quantised model: cycles per inference\n"
    "                    (cycle model, checked on the RTL), FPGA resources (yosys),\n"
    "                    fit, latency and modelled energy per board\n"
    "  bench MODEL       latency and energy per inference: measured on the devices\n"
    "                    here (RAPL, NVML, xmc meters, else modelled energy) and\n"
    "                    projected onto every board; a report page with charts\n"
    "  help [COMMAND]    this text, or a command's own help\n"
    "\n"
    "  --max-memory SIZE  memory that loading a model or an .npy file may take\n"
    "                    (such as 512M or 8G; sets LOOM_MAX_MEMORY). Default:\n"
    "                    half of the least of physical memory, ulimit -v and -d,\n"
    "                    and the cgroup's limit. A file that needs more is\n"
    "                    refused (65), saying what it would need.\n"
    "\n"
    "environment:\n"
    "  LOOM_MAX_MEMORY       memory loading may take (as --max-memory)\n"
    "  LOOM_CACHE_DIR        OpenCL program cache (else $XDG_CACHE_HOME/loom, ~/.cache/loom)\n"
    "  LOOM_BOARDS_DIR       board files (else the installed share/loom/boards)\n"
    "  LOOM_XCLBIN           the kernel binary for Alveo cards and FPGA OpenCL platforms\n"
    "  LOOM_CL_TIMEOUT       seconds an OpenCL command may take (default 60)\n"
    "  LOOM_XRT_TIMEOUT_MS   milliseconds an XRT kernel run may take (default 10000)\n"
    "  LOOM_CL_GEMM          systolic|ndrange: force an OpenCL GEMM formulation\n"
    "  LOOM_CL_GUARD=1       guard bytes after OpenCL buffers (tests)\n"
    "  LOOM_CL_BINARY_ROUTE=1  treat any OpenCL platform as an FPGA one (tests)\n"
    "  LOOM_TEST_FAULT       inject a device fault (tests; see cl-fault.c)\n"
    "  XILINX_XRT, XCL_EMULATION_MODE   where XRT is, and its emulation mode\n"
    "  POCL_MAX_PTHREAD_COUNT, POCL_CACHE_DIR   PoCL's threads and cache (checked first)\n"
    "  NO_COLOR              no colour (loom prints none); progress shows on a terminal only\n"
    "\n"
    "Data goes to stdout, messages to stderr. Exit status: 0 success,\n"
    "1 results differ from ref (validate, sim gemm),\n"
    "64 usage error, 65 invalid or unsupported model or data, 66 input file\n"
    "missing or unreadable, 69 device unavailable, 70 internal error,\n"
    "73 cannot write an output file, 74 cannot write standard output.\n";

static int dispatch(int argc, char **argv)
{
    const char *cmd;
    if (argc < 2) {
        fputs(usage, stderr);
        fputc('\n', stderr);
        return loom_cli_usage_error(NULL, "a command is required");
    }
    /* global options before the command */
    while (argc >= 2 && strncmp(argv[1], "--max-memory", 12) == 0 &&
           (argv[1][12] == '\0' || argv[1][12] == '=')) {
        const char *v = argv[1][12] == '=' ? argv[1] + 13 : argc >= 3 ? argv[2] : NULL;
        uint64_t bytes;
        if (!v)
            return loom_cli_usage_error(NULL, "option '--max-memory' needs a value");
        /* checked here, as the library reads it, so that a bad size is a
         * usage error and not a warning later */
        if (!loom_parse_size(v, &bytes))
            return loom_cli_usage_error(NULL, "--max-memory takes a size such as 512M or 8G, not '%s'", v);
        setenv("LOOM_MAX_MEMORY", v, 1);
        argc -= argv[1][12] == '=' ? 1 : 2;
        argv += argv[1][12] == '=' ? 1 : 2;
    }
    if (argc < 2) {
        fputs(usage, stderr);
        fputc('\n', stderr);
        return loom_cli_usage_error(NULL, "a command is required");
    }
    cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        fputs(usage, stdout);
        return LOOM_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        printf("loom %s\n", loom_version());
        return LOOM_EXIT_OK;
    }
    if (strcmp(cmd, "help") == 0) {
        if (argc > 2) {
            char *sub[] = {argv[2], "--help", NULL};
            if (strcmp(argv[2], "info") == 0)
                return loom_cmd_info(2, sub);
            if (strcmp(argv[2], "run") == 0)
                return loom_cmd_run(2, sub);
            if (strcmp(argv[2], "devices") == 0)
                return loom_cmd_devices(2, sub);
            if (strcmp(argv[2], "partition") == 0)
                return loom_cmd_partition(2, sub);
            if (strcmp(argv[2], "validate") == 0)
                return loom_cmd_validate(2, sub);
            if (strcmp(argv[2], "quantize") == 0)
                return loom_cmd_quantize(2, sub);
            if (strcmp(argv[2], "boards") == 0)
                return loom_cmd_boards(2, sub);
            if (strcmp(argv[2], "dse") == 0)
                return loom_cmd_dse(2, sub);
            if (strcmp(argv[2], "bench") == 0)
                return loom_cmd_bench(2, sub);
            if (strcmp(argv[2], "sim") == 0) {
                char *simsub[] = {"sim", "gemm", "--help", NULL};
                return loom_cmd_sim(3, simsub);
            }
            return loom_cli_usage_error(NULL, "'%s' is not a loom command.", argv[2]);
        }
        fputs(usage, stdout);
        return LOOM_EXIT_OK;
    }
    if (strcmp(cmd, "info") == 0)
        return loom_cmd_info(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0)
        return loom_cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "devices") == 0)
        return loom_cmd_devices(argc - 1, argv + 1);
    if (strcmp(cmd, "partition") == 0)
        return loom_cmd_partition(argc - 1, argv + 1);
    if (strcmp(cmd, "sim") == 0)
        return loom_cmd_sim(argc - 1, argv + 1);
    if (strcmp(cmd, "validate") == 0)
        return loom_cmd_validate(argc - 1, argv + 1);
    if (strcmp(cmd, "quantize") == 0)
        return loom_cmd_quantize(argc - 1, argv + 1);
    if (strcmp(cmd, "boards") == 0)
        return loom_cmd_boards(argc - 1, argv + 1);
    if (strcmp(cmd, "dse") == 0)
        return loom_cmd_dse(argc - 1, argv + 1);
    if (strcmp(cmd, "bench") == 0)
        return loom_cmd_bench(argc - 1, argv + 1);
    return loom_cli_usage_error(NULL, "'%s' is not a loom command.", cmd);
}

/* Standard output is data: a write that failed (a full disk, /dev/full)
 * shows when it is flushed and closed, as cat and ls check it. */
static int close_stdout(int rc)
{
    if (fflush(stdout) == 0 && !ferror(stdout) && fclose(stdout) == 0)
        return rc;
    if (rc == LOOM_EXIT_OK || rc == 1) {
        loom_cli_errorf("cannot write to standard output: %s", strerror(errno ? errno : EIO));
        return LOOM_EXIT_IOERR;
    }
    return rc; /* the command's own failure comes first */
}

int main(int argc, char **argv)
{
    /* a file-size limit (ulimit -f) makes writes fail with EFBIG, which
     * becomes exit 73 naming the file, instead of killing the process */
    signal(SIGXFSZ, SIG_IGN);
    loom_cli_progress_on_terminal();
    return close_stdout(dispatch(argc, argv));
}
