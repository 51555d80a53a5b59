/* cli.h - shared pieces of the `loom` command-line tool. */
#ifndef LOOM_CLI_H
#define LOOM_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "loom/loom.h"

/* getopt value of --input-file (every command that takes inputs). */
#define O_INPUT_FILE 1000

/* Exit codes (sysexits.h values). */
enum {
    LOOM_EXIT_OK = 0,
    LOOM_EXIT_USAGE = 64,       /* bad command line */
    LOOM_EXIT_DATAERR = 65,     /* invalid or unsupported model or data */
    LOOM_EXIT_NOINPUT = 66,     /* input file missing or unreadable */
    LOOM_EXIT_UNAVAILABLE = 69, /* device unavailable */
    LOOM_EXIT_SOFTWARE = 70,    /* internal error */
    LOOM_EXIT_CANTCREAT = 73,   /* cannot write an output file */
    LOOM_EXIT_IOERR = 74        /* cannot write standard output */
};

/* Exit code for a library status. */
int loom_cli_exit_code(loom_status st);
/* path ends in ".pb": an ONNX TensorProto file instead of a .npy */
bool loom_cli_is_pb(const char *path);
/* Print "loom: error: <msg>" on one line (control characters become '?'). */
void loom_cli_print_error(const char *msg);
/* Print loom_last_error() that way; return the exit code for st. */
int loom_cli_fail(loom_status st);
/* Print "loom: error: <fmt>" on one line. */
void loom_cli_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* After getopt_long (with opterr = 0 and optstring starting with ':')
 * returned c ('?' or ':'): name the offending option, return 64. */
int loom_cli_bad_option(const char *cmd, int c, char *const *argv);
/* Print "loom: error: <fmt> (see 'loom CMD --help')" on one line; return
 * LOOM_EXIT_USAGE. */
int loom_cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Route library logs to stderr at the given verbosity. */
void loom_cli_logging(int verbosity);
/* "float32[2,3]" */
const char *loom_cli_type_str(const loom_value_info *vi, char *buf, size_t size);
/* Copy name into buf with characters outside [A-Za-z0-9._-] replaced by
 * '_' (and a leading '.' too, so no hidden or relative names). */
void loom_cli_safe_name(const char *name, char *buf, size_t size);
double loom_cli_now_us(void);
/* qsort's comparison of doubles, ascending */
int loom_cli_cmp_double(const void *a, const void *b);
/* Show the library's progress on stderr, only when stderr is a terminal. */
void loom_cli_progress_on_terminal(void);
/* Output paths the CLI names itself (the library checks its own files
 * the same way): 0 when path may be written (it does not exist or is a
 * regular file, and its folder takes new files); otherwise the error is
 * printed and the exit code returned (73: a device, FIFO, socket or
 * folder is never replaced). */
int loom_cli_output_ok(const char *path);
/* Rename the finished file from into place at to (same folder), unless
 * to has meanwhile become something other than a regular file: 0, or the
 * message printed and 73 (from is then removed). */
int loom_cli_place_file(const char *from, const char *to);
/* n bytes of data into path, whole or not at all (written beside it, then
 * renamed): 0, or the message printed and 73. */
int loom_cli_write_whole(const char *path, const void *data, size_t n);
/* j as JSON (json_dumps flags) into path, whole or not at all: 0, or the
 * message printed and the exit code. */
int loom_cli_write_json(const char *path, const json_t *j, size_t flags);
/* loom dse --report DIR: dse.json, dse.csv and index.html (cli-report.c) */
int loom_cli_dse_report(const json_t *root, const char *dir);
/* The first string at key in a dse result's per-array "resources"
 * objects (where "resources") or per-board entries (where "boards"); NULL
 * when none has one. */
const char *loom_cli_dse_first(const json_t *root, const char *where, const char *key);
/* loom run --trace FILE (cli-trace.c): the session's recorded steps and
 * the host work around them (start_us on loom_now_us's clock) as a Chrome
 * trace-event file, written whole; 0 or an exit code. */
typedef struct {
    const char *name;
    double start_us, dur_us;
} loom_cli_host_event;
int loom_cli_write_trace(const char *path, const loom_session *s, const loom_cli_host_event *host, size_t n_host,
                         const char *model);
/* A whole decimal number from 0 to max (no sign, nothing after it). */
bool loom_cli_parse_u64(const char *s, uint64_t max, uint64_t *out);

/* --input NAME=FILE.npy values. */
typedef struct {
    const char *name; /* NULL until resolved: the model's only input */
    const char *path; /* the argument until it is split at a name */
    bool whole;       /* --input-file: the argument is a path, never split */
    loom_dtype dtype; /* from the file's header */
    int rank;
    int64_t dims[LOOM_MAX_RANK];
    loom_tensor *t;   /* the data, when read */
} loom_cli_input;

typedef struct {
    loom_cli_input *items;
    int n, cap;
    loom_input_shape *shapes; /* n entries after load */
} loom_cli_inputs;

/* Record one --input argument (whole: --input-file, never split); it is
 * split in place when loaded, at the longest NAME= that names a model
 * input; 0 or an exit code. */
int loom_cli_inputs_add(loom_cli_inputs *in, char *arg, bool whole);
/* Resolve names against the model, refuse duplicates (and, when
 * require_all, missing inputs), read every file's header and check its
 * dtype and shape against the model's declared input (65 otherwise),
 * and then, with read_data, the data; 0 or an exit code (the message
 * printed). */
int loom_cli_inputs_load(loom_cli_inputs *in, const loom_model *m, const char *cmd, bool require_all,
                         bool read_data);
void loom_cli_inputs_free(loom_cli_inputs *in);

int loom_cmd_info(int argc, char **argv);
int loom_cmd_devices(int argc, char **argv);
int loom_cmd_partition(int argc, char **argv);
int loom_cmd_run(int argc, char **argv);
int loom_cmd_sim(int argc, char **argv);
int loom_cmd_dse(int argc, char **argv);
int loom_cmd_bench(int argc, char **argv);
int loom_cmd_boards(int argc, char **argv);
int loom_cmd_validate(int argc, char **argv);
int loom_cmd_quantize(int argc, char **argv);

/* Random int8 GEMM operands (cli-gemm.c): M, N, K set by the caller;
 * make fills A, B, bias, mult, shift and the LUT from seed (results spread
 * over the int8 range) and allocates C and R (M*N each, zeroed C). */
typedef struct {
    int64_t M, N, K;
    int8_t *A, *B, *C, *R, lut[256];
    int32_t *bias, *mult, *shift;
} loom_cli_gemm_data;
loom_status loom_cli_gemm_make(loom_cli_gemm_data *d, uint64_t seed);
void loom_cli_gemm_free(loom_cli_gemm_data *d);

#endif /* LOOM_CLI_H */
