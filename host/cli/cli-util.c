/* cli-util.c - exit codes, messages and small helpers for the CLI. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

bool loom_cli_is_pb(const char *path)
{
    size_t n = strlen(path);
    return n > 3 && strcmp(path + n - 3, ".pb") == 0;
}

int loom_cli_exit_code(loom_status st)
{
    switch (st) {
    case LOOM_OK: return LOOM_EXIT_OK;
    case LOOM_E_INVALID_ARG: return LOOM_EXIT_USAGE;
    case LOOM_E_NOT_FOUND: case LOOM_E_IO: return LOOM_EXIT_NOINPUT;
    case LOOM_E_WRITE: return LOOM_EXIT_CANTCREAT;
    case LOOM_E_MODEL_INVALID: case LOOM_E_MODEL_UNSUPPORTED: case LOOM_E_UNSUPPORTED_OP:
    case LOOM_E_SHAPE: case LOOM_E_DATA_INVALID: case LOOM_E_DTYPE: case LOOM_E_LIMIT:
        return LOOM_EXIT_DATAERR;
    case LOOM_E_DEVICE_UNAVAILABLE: case LOOM_E_DEVICE_FAILED: return LOOM_EXIT_UNAVAILABLE;
    case LOOM_E_NOMEM: case LOOM_E_INTERNAL: break;
    }
    return LOOM_EXIT_SOFTWARE;
}

/* Names inside messages come from files and the command line: print
 * control characters as '?' so that every message stays one line. */
static void put_line(const char *prefix, const char *msg)
{
    fputs(prefix, stderr);
    for (const char *p = msg; *p; p++)
        fputc((unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p, stderr);
    fputc('\n', stderr);
}

void loom_cli_print_error(const char *msg)
{
    put_line("loom: error: ", msg);
}

void loom_cli_errorf(const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    put_line("loom: error: ", msg);
}

int loom_cli_fail(loom_status st)
{
    const char *msg = loom_last_error();
    loom_cli_print_error(msg && *msg ? msg : loom_strerror(st));
    return loom_cli_exit_code(st);
}

int loom_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* one line, the last on stderr, like every other error */
    snprintf(msg + strlen(msg), sizeof msg - strlen(msg), " (see 'loom %s%s--help')", cmd ? cmd : "",
             cmd ? " " : "");
    put_line("loom: error: ", msg);
    return LOOM_EXIT_USAGE;
}

int loom_cli_bad_option(const char *cmd, int c, char *const *argv)
{
    const char *arg = argv[optind - 1];
    if (c == ':')
        return loom_cli_usage_error(cmd, "option '%s' needs a value", arg);
    if (optopt && !(arg[0] == '-' && arg[1] == '-'))
        return loom_cli_usage_error(cmd, "unknown option '-%c'", optopt);
    return loom_cli_usage_error(cmd, "unknown option '%s'", arg);
}

static void log_to_stderr(loom_log_level level, const char *message, void *user)
{
    char prefix[32];
    (void)user;
    snprintf(prefix, sizeof prefix, "loom: %s: ", loom_log_level_name(level));
    put_line(prefix, message);
}

void loom_cli_logging(int verbosity)
{
    loom_log_level max = verbosity >= 2 ? LOOM_LOG_DEBUG
                         : verbosity == 1 ? LOOM_LOG_INFO
                                          : LOOM_LOG_WARN;
    loom_log_set(log_to_stderr, max, NULL);
}

const char *loom_cli_type_str(const loom_value_info *vi, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "%s", loom_dtype_name(vi->dtype));
    if (vi->rank < 0) {
        if (used < size)
            snprintf(buf + used, size - used, "[?]");
        return buf;
    }
    if (used < size)
        used += (size_t)snprintf(buf + used, size - used, "[");
    for (int i = 0; i < vi->rank && used < size; i++) {
        const char *sep = i ? "," : "";
        if (vi->dims[i] >= 0)
            used += (size_t)snprintf(buf + used, size - used, "%s%lld", sep, (long long)vi->dims[i]);
        else
            used += (size_t)snprintf(buf + used, size - used, "%s%s", sep,
                                     vi->dim_params[i] ? vi->dim_params[i] : "?");
    }
    if (used < size)
        snprintf(buf + used, size - used, "]");
    return buf;
}

void loom_cli_safe_name(const char *name, char *buf, size_t size)
{
    size_t i = 0;
    for (; name[i] && i + 1 < size; i++) {
        char c = name[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        buf[i] = ok && !(i == 0 && c == '.') ? c : '_';
    }
    buf[i] = '\0';
    if (i == 0 && size > 1) {
        buf[0] = '_';
        buf[1] = '\0';
    }
}

double loom_cli_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

bool loom_cli_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (s[0] < '0' || s[0] > '9') /* no sign, no space: strtoull takes both */
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (*end || errno || v > max)
        return false;
    *out = v;
    return true;
}

static int not_regular(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0 || S_ISREG(sb.st_mode))
        return 0;
    loom_cli_errorf("%s exists and is not a regular file (%s): it is not replaced", path,
                    S_ISDIR(sb.st_mode) ? "a folder" : S_ISFIFO(sb.st_mode) ? "a FIFO"
                    : S_ISSOCK(sb.st_mode) ? "a socket" : "a device");
    return LOOM_EXIT_CANTCREAT;
}

int loom_cli_output_ok(const char *path)
{
    char folder[4200];
    int rc;
    if ((rc = not_regular(path)) != 0)
        return rc;
    if (strlen(path) >= sizeof folder) {
        loom_cli_errorf("%.200s...: the path is too long", path);
        return LOOM_EXIT_CANTCREAT;
    }
    snprintf(folder, sizeof folder, "%s", path);
    if (access(dirname(folder), W_OK) != 0) {
        int err = errno;
        snprintf(folder, sizeof folder, "%s", path);
        loom_cli_errorf("%s: cannot write into %s: %s", path, dirname(folder), strerror(err));
        return LOOM_EXIT_CANTCREAT;
    }
    return 0;
}

int loom_cli_place_file(const char *from, const char *to)
{
    int rc = not_regular(to);
    if (rc == 0 && rename(from, to) != 0) {
        loom_cli_errorf("%s: cannot rename into place: %s", to, strerror(errno));
        rc = LOOM_EXIT_CANTCREAT;
    }
    if (rc != 0)
        unlink(from);
    return rc;
}

int loom_cli_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int loom_cli_write_whole(const char *path, const void *data, size_t n)
{
    char tmp[4200];
    int rc = loom_cli_output_ok(path), fd;
    const char *slash;
    if (rc)
        return rc;
    slash = strrchr(path, '/');
    if ((size_t)snprintf(tmp, sizeof tmp, "%.*s.%s.tmp-XXXXXX", slash ? (int)(slash - path + 1) : 0, path,
                         slash ? slash + 1 : path) >= sizeof tmp || (fd = mkstemp(tmp)) < 0) {
        loom_cli_errorf("%s: cannot be written: %s", path, strerror(errno));
        return LOOM_EXIT_CANTCREAT;
    }
    for (size_t done = 0; done < n;) {
        ssize_t w = write(fd, (const char *)data + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            loom_cli_errorf("%s: write failed: %s", path, strerror(errno));
            close(fd);
            unlink(tmp);
            return LOOM_EXIT_CANTCREAT;
        }
        done += (size_t)w;
    }
    if (fchmod(fd, 0644) != 0 || fsync(fd) != 0 || close(fd) != 0) {
        loom_cli_errorf("%s: write failed: %s", path, strerror(errno));
        unlink(tmp);
        return LOOM_EXIT_CANTCREAT;
    }
    return loom_cli_place_file(tmp, path);
}

/* Progress on stderr when it is a terminal: one line rewritten in place
 * ("loom: calibrating 3/10"), at most ten times a second, cleared when a
 * task is done, so that what follows starts on a clean line. Nothing
 * when stderr is a file or a pipe. */
static double progress_last;
static bool progress_shown;

static void progress(const char *task, uint64_t done, uint64_t total, void *user)
{
    double now = loom_cli_now_us();
    char line[160];
    int n;
    (void)user;
    if (done >= total) {
        if (progress_shown)
            fprintf(stderr, "\r%-79s\r", "");
        progress_shown = false;
        return;
    }
    if (progress_shown && now - progress_last < 100000.0)
        return;
    n = snprintf(line, sizeof line, "loom: %s %llu/%llu", task, (unsigned long long)done, (unsigned long long)total);
    fprintf(stderr, "\r%-79.*s", n < 79 ? n : 79, line);
    fflush(stderr);
    progress_last = now;
    progress_shown = true;
}

void loom_cli_progress_on_terminal(void)
{
    if (isatty(STDERR_FILENO))
        loom_progress_set(progress, NULL);
}

int loom_cli_write_json(const char *path, const json_t *j, size_t flags)
{
    char *text = json_dumps(j, flags);
    int rc;
    if (!text) {
        loom_cli_errorf("%s: out of memory", path);
        return LOOM_EXIT_SOFTWARE;
    }
    rc = loom_cli_write_whole(path, text, strlen(text));
    free(text);
    return rc;
}
