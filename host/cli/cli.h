/* cli.h - shared pieces of the `loom` command-line tool. */
#ifndef LOOM_CLI_H
#define LOOM_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "loom/loom.h"

/* Exit codes (sysexits.h values). */
enum {
    LOOM_EXIT_OK = 0,
    LOOM_EXIT_USAGE = 64,       /* bad command line */
    LOOM_EXIT_DATAERR = 65,     /* invalid or unsupported model or data */
    LOOM_EXIT_NOINPUT = 66,     /* input file missing or unreadable */
    LOOM_EXIT_UNAVAILABLE = 69, /* device unavailable */
    LOOM_EXIT_SOFTWARE = 70,    /* internal error */
    LOOM_EXIT_CANTCREAT = 73    /* cannot write an output file */
};

/* Exit code for a library status. */
int loom_cli_exit_code(loom_status st);
/* Print "loom: error: <msg>" on one line (control characters become '?'). */
void loom_cli_print_error(const char *msg);
/* Print loom_last_error() that way; return the exit code for st. */
int loom_cli_fail(loom_status st);
/* Print "loom: error: <fmt>" on one line. */
void loom_cli_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* After getopt_long (with opterr = 0 and optstring starting with ':')
 * returned c ('?' or ':'): name the offending option, return 64. */
int loom_cli_bad_option(const char *cmd, int c, char *const *argv);
/* Print "loom: <fmt>" (one line) and a hint; return LOOM_EXIT_USAGE. */
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

int loom_cmd_info(int argc, char **argv);
int loom_cmd_run(int argc, char **argv);

#endif /* LOOM_CLI_H */
