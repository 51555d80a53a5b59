/* cli-harness.c - running the `loom` CLI in tests (cli-harness.h). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli-harness.h"
#include "tmpdir.h"

extern char **environ;

#define tpath tb_tpath

char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

cli_result res;

void cli_run(const cli_opts *o, const char *const *args)
{
    static const cli_opts defaults = {0};
    char *argv[64];
    char *envp[512];
    int ne = 0, n = 0, status = 0;
    const char *outp = tpath(".stdout"), *errp = tpath(".stderr");
    double timeout = 0;
    struct timespec t0, now;
    pid_t pid;

    if (!o)
        o = &defaults;
    timeout = o->timeout_s > 0 ? o->timeout_s : 100;
    argv[n++] = (char *)LOOM_CLI_PATH;
    for (; args[n - 1] && n < 63; n++)
        argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    for (char **e = environ; *e && ne < 480; e++) {
        bool replaced = false;
        for (int k = 0; o->env && o->env[k]; k++) {
            size_t len = strcspn(o->env[k], "=");
            replaced |= strncmp(*e, o->env[k], len) == 0 && (*e)[len] == '=';
        }
        if (!replaced)
            envp[ne++] = *e;
    }
    for (int k = 0; o->env && o->env[k] && ne < 511; k++)
        if (strchr(o->env[k], '='))
            envp[ne++] = (char *)o->env[k]; /* "NAME" alone: removed */
    envp[ne] = NULL;
    free(res.out);
    free(res.err);
    res.out = res.err = NULL;
    res.signal = 0;
    pid = fork();
    cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        /* the child: limits, then standard streams, then loom */
        int in = open("/dev/null", O_RDONLY), out, err;
        out = open(o->stdout_path ? o->stdout_path : outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        err = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
            _exit(126);
        if (o->rlimit_as) {
            struct rlimit rl = {.rlim_cur = o->rlimit_as, .rlim_max = o->rlimit_as};
            if (setrlimit(RLIMIT_AS, &rl) != 0)
                _exit(126);
        }
        if (o->rlimit_fsize) {
            struct rlimit rl = {.rlim_cur = o->rlimit_fsize, .rlim_max = o->rlimit_fsize};
            if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
                _exit(126);
        }
        execve(LOOM_CLI_PATH, argv, envp);
        _exit(127);
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        cr_assert_geq(w, 0, "waitpid: %s", strerror(errno));
        if (w == pid)
            break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9 > timeout) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            cr_assert_fail("loom %s %s ... did not finish in %.0f s (it hangs)", args[0] ? args[0] : "",
                           args[0] && args[1] ? args[1] : "", timeout);
        }
        nanosleep(&(struct timespec){.tv_nsec = 5000000}, NULL);
    }
    res.out = o->stdout_path ? calloc(1, 1) : slurp(outp);
    res.err = slurp(errp);
    unlink(outp);
    unlink(errp);
    if (WIFSIGNALED(status)) {
        res.signal = WTERMSIG(status);
        res.code = -1;
        cr_assert(o->allow_signal, "loom was killed by signal %d (%s)\nstderr: %s", res.signal,
                  strsignal(res.signal), res.err);
        return;
    }
    cr_assert(WIFEXITED(status), "loom did not exit normally (status 0x%x)", status);
    cr_assert_neq(WEXITSTATUS(status), 126, "the test could not start loom (limits or files)");
    res.code = WEXITSTATUS(status);
}

void run_cli_env(const char *const *env_add, const char *const *args)
{
    cli_opts o = {.env = env_add};
    cli_run(&o, args);
}

void expect_code(int code)
{
    cr_assert_eq(res.code, code, "exit %d, expected %d\nstdout: %s\nstderr: %s", res.code, code,
                 res.out, res.err);
}

int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* A failure: exit code, nothing on stdout, stderr exactly one line
 * "loom: error: ..." holding every non-NULL fragment. */
void expect_error_line(int code, const char *frag1, const char *frag2)
{
    expect_code(code);
    cr_assert_str_empty(res.out, "stdout: %s", res.out);
    cr_assert_eq(count_lines(res.err), 1, "stderr is not one line: %s", res.err);
    cr_assert_eq(res.err[strlen(res.err) - 1], '\n');
    cr_assert_eq(strncmp(res.err, "loom: error: ", 13), 0, "stderr: %s", res.err);
    if (frag1)
        cr_assert(strstr(res.err, frag1) != NULL, "stderr lacks \"%s\": %s", frag1, res.err);
    if (frag2)
        cr_assert(strstr(res.err, frag2) != NULL, "stderr lacks \"%s\": %s", frag2, res.err);
}

/* A usage error: exit 64, nothing on stdout, stderr exactly
 * "loom: error: MESSAGE (see 'loom [CMD ]--help')\n". */
void expect_usage(const char *message, const char *cmd)
{
    char want[1024];
    snprintf(want, sizeof want, "loom: error: %s (see 'loom %s%s--help')\n", message, cmd ? cmd : "",
             cmd ? " " : "");
    expect_code(64);
    cr_assert_str_empty(res.out, "stdout: %s", res.out);
    cr_assert_str_eq(res.err, want);
}

void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    if (n)
        cr_assert_eq(fwrite(data, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}


/* ---- a small strict JSON reader ---- */

const char *j_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}


static const char *j_string(const char *p)
{
    if (*p != '"')
        return NULL;
    for (p++; *p != '"'; p++) {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
                        return NULL;
                p += 4;
            } else if (!*p || !strchr("\"\\/bfnrt", *p)) {
                return NULL;
            }
        }
    }
    return p + 1;
}

static const char *j_number(const char *p)
{
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9')
            p++;
    else
        return NULL;
    if (*p == '.') {
        if (!(*++p >= '0' && *p <= '9'))
            return NULL;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return NULL;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return p;
}

/* Parse one value at p (no leading whitespace); return its end or NULL. */
const char *j_value(const char *p, int depth)
{
    if (depth > 64)
        return NULL;
    switch (*p) {
    case '{':
        p = j_ws(p + 1);
        if (*p == '}')
            return p + 1;
        for (;;) {
            if (!(p = j_string(p)))
                return NULL;
            p = j_ws(p);
            if (*p++ != ':')
                return NULL;
            if (!(p = j_value(j_ws(p), depth + 1)))
                return NULL;
            p = j_ws(p);
            if (*p == '}')
                return p + 1;
            if (*p++ != ',')
                return NULL;
            p = j_ws(p);
        }
    case '[':
        p = j_ws(p + 1);
        if (*p == ']')
            return p + 1;
        for (;;) {
            if (!(p = j_value(p, depth + 1)))
                return NULL;
            p = j_ws(p);
            if (*p == ']')
                return p + 1;
            if (*p++ != ',')
                return NULL;
            p = j_ws(p);
        }
    case '"': return j_string(p);
    case 't': return strncmp(p, "true", 4) == 0 ? p + 4 : NULL;
    case 'f': return strncmp(p, "false", 5) == 0 ? p + 5 : NULL;
    case 'n': return strncmp(p, "null", 4) == 0 ? p + 4 : NULL;
    default: return j_number(p);
    }
}

/* The whole text is exactly one JSON value (whitespace around it). */
const char *j_doc(const char *text)
{
    const char *p = j_ws(text), *end = j_value(p, 0);
    cr_assert_not_null(end, "not valid JSON:\n%s", text);
    cr_assert_eq(*j_ws(end), '\0', "text after the JSON value:\n%s", text);
    return p;
}

/* Member key of object obj (NULL when absent). */
const char *j_get(const char *obj, const char *key)
{
    const char *p;
    size_t klen = strlen(key);
    cr_assert_not_null(obj, "j_get(\"%s\") on a missing value", key);
    cr_assert_eq(*obj, '{', "j_get(\"%s\") on a non-object", key);
    p = j_ws(obj + 1);
    while (*p == '"') {
        const char *kend = j_string(p), *v;
        bool match = (size_t)(kend - p) == klen + 2 && strncmp(p + 1, key, klen) == 0;
        p = j_ws(kend);
        p = j_ws(p + 1); /* ':' */
        v = p;
        if (match)
            return v;
        p = j_ws(j_value(p, 0));
        if (*p == ',')
            p = j_ws(p + 1);
    }
    return NULL;
}

/* Element i of array arr (NULL when out of range). */
const char *j_at(const char *arr, int i)
{
    const char *p;
    cr_assert_not_null(arr);
    cr_assert_eq(*arr, '[');
    p = j_ws(arr + 1);
    if (*p == ']')
        return NULL;
    for (int k = 0;; k++) {
        if (k == i)
            return p;
        p = j_ws(j_value(p, 0));
        if (*p != ',')
            return NULL;
        p = j_ws(p + 1);
    }
}

/* Value text with whitespace outside strings removed. */
const char *j_compact(const char *v)
{
    static char buf[8][4096];
    static int k;
    char *out = buf[k++ & 7], *o = out;
    const char *end;
    bool in_str = false;
    cr_assert_not_null(v, "missing JSON value");
    end = j_value(v, 0);
    for (const char *p = v; p < end && o < out + sizeof buf[0] - 1; p++) {
        if (in_str) {
            if (*p == '\\') {
                *o++ = *p++;
            } else if (*p == '"') {
                in_str = false;
            }
        } else if (*p == '"') {
            in_str = true;
        } else if (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') {
            continue;
        }
        *o++ = *p;
    }
    *o = '\0';
    return out;
}

double j_num(const char *v)
{
    char *end;
    double d;
    cr_assert_not_null(v);
    d = strtod(v, &end);
    cr_assert_eq(end, j_number(v), "not a number: %.20s", v);
    return d;
}

