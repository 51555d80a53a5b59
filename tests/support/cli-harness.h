/*
 * cli-harness.h - running the `loom` command-line tool from tests: a child
 * process with stdin from /dev/null, stdout and stderr captured (or
 * stdout sent to a given file), an environment of the test's own,
 * optional resource limits, and a deadline (a hang is a test failure,
 * never a stuck test); checks of exit codes and the one-line messages;
 * and a small strict JSON reader (RFC 8259 grammar; values compared as
 * their text with insignificant whitespace removed). It predates the
 * tests' link to jansson (they have it now, through libloom.a); its
 * pointers into the text are what the tests' assertions are written on.
 */
#ifndef LOOM_TEST_CLI_HARNESS_H
#define LOOM_TEST_CLI_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int code;   /* exit status; -1 when killed by a signal */
    int signal; /* the signal that killed it, or 0 */
    char *out;  /* stdout ("" when sent to a file) */
    char *err;  /* stderr */
} cli_result;

/* The last run's result. */
extern cli_result res;

typedef struct {
    const char *const *env;  /* "NAME=value" added or replacing; "NAME" removes; NULL-terminated */
    const char *stdout_path; /* stdout goes here (not captured), e.g. "/dev/full" */
    uint64_t rlimit_as;      /* RLIMIT_AS of the child, bytes (0: unchanged) */
    uint64_t rlimit_fsize;   /* RLIMIT_FSIZE of the child, bytes (0: unchanged) */
    double timeout_s;        /* killed and failed after this (0: 100 s) */
    bool allow_signal;       /* a death by signal is recorded, not a failure */
} cli_opts;

/* Run `loom ARGS...` (args NULL-terminated) in the current test folder
 * (tmpdir.h) with the options (NULL: defaults). */
void cli_run(const cli_opts *o, const char *const *args);
void run_cli_env(const char *const *env_add, const char *const *args);

#define RUN(...) run_cli_env(NULL, (const char *const[]){__VA_ARGS__, NULL})
/* RUN_ENV(ENV("A=1", "B=2"), "run", ...) */
#define ENV(...) ((const char *const[]){__VA_ARGS__, NULL})
#define RUN_ENV(env, ...) run_cli_env(env, (const char *const[]){__VA_ARGS__, NULL})
/* RUN_OPTS(((cli_opts){.stdout_path = "/dev/full"}), "info", ...) */
#define RUN_OPTS(opts, ...) cli_run(&(opts), (const char *const[]){__VA_ARGS__, NULL})

void expect_code(int code);
int count_lines(const char *s);
/* A failure: exit code, nothing on stdout, stderr exactly one line
 * "loom: error: ..." holding every non-NULL fragment. */
void expect_error_line(int code, const char *frag1, const char *frag2);
/* A usage error: exit 64, nothing on stdout, stderr exactly
 * "loom: error: MESSAGE (see 'loom [CMD ]--help')\n", one line as every
 * error. */
void expect_usage(const char *message, const char *cmd);

/* Whole file as a string (a Criterion failure when it cannot be read). */
char *slurp(const char *path);
void write_bytes(const char *path, const void *data, size_t n);

/* JSON: j_doc(text) the root value (asserts the text is one JSON value);
 * j_get(obj, key) a member or NULL; j_at(arr, i) an element or NULL;
 * j_compact(v) v's text without insignificant whitespace (a static
 * buffer); j_num(v) a number. j_value(p, depth) returns the end of the
 * value at p or NULL when it is not valid JSON; j_ws skips whitespace. */
const char *j_ws(const char *p);
const char *j_value(const char *p, int depth);
const char *j_doc(const char *text);
const char *j_get(const char *obj, const char *key);
const char *j_at(const char *arr, int i);
const char *j_compact(const char *v);
double j_num(const char *v);

#endif
