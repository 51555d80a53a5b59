/* resources.c - FPGA resources of the systolic array kernel (rtl/) at a
 * given array size, estimated by synthesising it with yosys's
 * synth_xilinx for the UltraScale+ family and counting the mapped cells:
 * LUTs (logic, LUT RAM and shift registers, as Vivado's "CLB LUTs"),
 * flip-flops, DSP48E2 slices, block RAM (RAMB36 equivalents) and
 * UltraRAM. A yosys estimate, not Vivado's: no placement, no Vitis shell.
 *
 * The RTL is read with SYNTHESIS and LOOM_SYNTH_MEM defined (the banked
 * scratchpads that map to LUT RAM; tests/rtl/tb_spad_equiv.sv checks they
 * behave as the simulated ones). Results are cached (core/cache.c) under
 * a key of the yosys version, the script and every RTL file's contents:
 * synthesis takes minutes, a cached estimate is read back at once. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/core-impl.h"

#ifndef LOOM_RTL_DIR_DEFAULT
#define LOOM_RTL_DIR_DEFAULT "rtl"
#endif
#ifndef LOOM_RTL_CONFIG_DIR_DEFAULT
#define LOOM_RTL_CONFIG_DIR_DEFAULT LOOM_RTL_DIR_DEFAULT
#endif
#define MAX_FILES 64
#define FORMAT "loom-rtl-resources-1"

static loom__cache_warned cache_warned;

static bool is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* The RTL sources: $LOOM_RTL_DIR; else the source tree's rtl/ while it is
 * there; else the installed share/loom/rtl. The generated loom_config.svh
 * is in the build's array-config folder, or beside the installed sources. */
static void rtl_dirs(const char **src, const char **cfg)
{
    const char *env = getenv("LOOM_RTL_DIR");
    if (env && env[0]) {
        *src = env;
        *cfg = is_dir(LOOM_RTL_CONFIG_DIR_DEFAULT) ? LOOM_RTL_CONFIG_DIR_DEFAULT : env;
        return;
    }
#ifdef LOOM_RTL_DIR_INSTALLED
    if (!is_dir(LOOM_RTL_DIR_DEFAULT) || !is_dir(LOOM_RTL_CONFIG_DIR_DEFAULT)) {
        *src = *cfg = LOOM_RTL_DIR_INSTALLED;
        return;
    }
#endif
    *src = LOOM_RTL_DIR_DEFAULT;
    *cfg = LOOM_RTL_CONFIG_DIR_DEFAULT;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* rtl/'s .sv files, sorted (names only; freed by the caller). */
static loom_status list_sources(const char *dir, char **names, size_t *n)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    *n = 0;
    if (!d)
        return loom__err(LOOM_E_NOT_FOUND, "resources: the RTL folder %s: %s (set LOOM_RTL_DIR)", dir,
                         strerror(errno));
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 3, ".sv") != 0)
            continue;
        if (*n == MAX_FILES) {
            closedir(d);
            return loom__err(LOOM_E_LIMIT, "resources: more than %d .sv files in %s", MAX_FILES, dir);
        }
        if (!(names[(*n)++] = loom__strdup(e->d_name))) {
            closedir(d);
            return loom__err(LOOM_E_NOMEM, "resources: out of memory");
        }
    }
    closedir(d);
    if (*n == 0)
        return loom__err(LOOM_E_NOT_FOUND, "resources: no .sv file in %s (set LOOM_RTL_DIR)", dir);
    qsort(names, *n, sizeof *names, cmp_str);
    return LOOM_OK;
}

/* A file's name (not its folder) and contents into the hash; false when
 * it cannot be read. */
static bool hash_file(const char *path, uint64_t *h)
{
    char buf[8192];
    size_t got;
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    *h = loom__fnv1a(base, strlen(base), *h);
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        *h = loom__fnv1a(buf, got, *h);
    fclose(f);
    return true;
}

/* The yosys to run: $LOOM_YOSYS, else yosys on PATH; NULL when none. */
static const char *find_yosys(char *buf, size_t size)
{
    const char *env = getenv("LOOM_YOSYS"), *path = getenv("PATH");
    if (env && env[0])
        return access(env, X_OK) == 0 ? env : NULL;
    if (!path)
        path = "/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        if (len > 0 && (size_t)snprintf(buf, size, "%.*s/yosys", (int)len, path) < size && access(buf, X_OK) == 0)
            return buf;
        path += len + (colon ? 1 : 0);
    }
    return NULL;
}

/* Run argv in dir with stdout and stderr to log; within timeout_s (0: no
 * limit). The exit status, or -1 when it could not run, -2 on timeout. */
static int run_in(const char *dir, char *const argv[], const char *log, double timeout_s)
{
    pid_t pid;
    int status = 0;
    double t0 = loom__now_us();
    fflush(NULL);
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || chdir(dir) != 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(127);
        setpgid(0, 0); /* its own group: a timeout stops yosys and its ABC runs */
        execv(argv[0], argv);
        _exit(127);
    }
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR)
            return -1;
        if (timeout_s > 0 && (loom__now_us() - t0) * 1e-6 > timeout_s) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -2;
        }
        nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The last lines of a log, for an error message. */
static void log_tail(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    long end;
    size_t got;
    buf[0] = '\0';
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    end = ftell(f);
    fseek(f, end > (long)size - 1 ? end - (long)size + 1 : 0, SEEK_SET);
    got = fread(buf, 1, size - 1, f);
    buf[got] = '\0';
    fclose(f);
    while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == ' '))
        buf[--got] = '\0';
}

/* UltraScale+ cells into the resource counts (LUTs per LUT RAM and
 * shift-register primitive as UG574 gives them). false when a cell type is
 * not one of these (a mapping that would not count right). */
static bool count_cells(json_t *cells, loom_rtl_resources *r, char *unknown, size_t usize)
{
    static const struct {
        const char *type;
        double lut, lutram, ff, dsp, bram36, uram, carry;
    } map[] = {
        {"LUT1", 1, 0, 0, 0, 0, 0, 0},      {"LUT2", 1, 0, 0, 0, 0, 0, 0},
        {"LUT3", 1, 0, 0, 0, 0, 0, 0},      {"LUT4", 1, 0, 0, 0, 0, 0, 0},
        {"LUT5", 1, 0, 0, 0, 0, 0, 0},      {"LUT6", 1, 0, 0, 0, 0, 0, 0},
        {"LUT6_2", 1, 0, 0, 0, 0, 0, 0},    {"INV", 1, 0, 0, 0, 0, 0, 0},
        {"SRL16E", 1, 1, 0, 0, 0, 0, 0},    {"SRLC32E", 1, 1, 0, 0, 0, 0, 0},
        {"RAM32X1S", 1, 1, 0, 0, 0, 0, 0},  {"RAM64X1S", 1, 1, 0, 0, 0, 0, 0},
        {"RAM128X1S", 2, 2, 0, 0, 0, 0, 0}, {"RAM256X1S", 4, 4, 0, 0, 0, 0, 0},
        {"RAM512X1S", 8, 8, 0, 0, 0, 0, 0}, {"RAM32X1D", 2, 2, 0, 0, 0, 0, 0},
        {"RAM64X1D", 2, 2, 0, 0, 0, 0, 0},  {"RAM128X1D", 4, 4, 0, 0, 0, 0, 0},
        {"RAM256X1D", 8, 8, 0, 0, 0, 0, 0}, {"RAM32M", 4, 4, 0, 0, 0, 0, 0},
        {"RAM64M", 4, 4, 0, 0, 0, 0, 0},    {"RAM32M16", 8, 8, 0, 0, 0, 0, 0},
        {"RAM64M8", 8, 8, 0, 0, 0, 0, 0},   {"FDRE", 0, 0, 1, 0, 0, 0, 0},
        {"FDSE", 0, 0, 1, 0, 0, 0, 0},      {"FDCE", 0, 0, 1, 0, 0, 0, 0},
        {"FDPE", 0, 0, 1, 0, 0, 0, 0},      {"DSP48E2", 0, 0, 0, 1, 0, 0, 0},
        {"RAMB36E2", 0, 0, 0, 0, 1, 0, 0},  {"RAMB18E2", 0, 0, 0, 0, 0.5, 0, 0},
        {"URAM288", 0, 0, 0, 0, 0, 1, 0},   {"CARRY4", 0, 0, 0, 0, 0, 0, 1},
        {"CARRY8", 0, 0, 0, 0, 0, 0, 1},    {"MUXF7", 0, 0, 0, 0, 0, 0, 0},
        {"MUXF8", 0, 0, 0, 0, 0, 0, 0},     {"MUXF9", 0, 0, 0, 0, 0, 0, 0},
        {"BUFG", 0, 0, 0, 0, 0, 0, 0},      {"IBUF", 0, 0, 0, 0, 0, 0, 0},
        {"OBUF", 0, 0, 0, 0, 0, 0, 0},      {"GND", 0, 0, 0, 0, 0, 0, 0},
        {"VCC", 0, 0, 0, 0, 0, 0, 0},
    };
    const char *type;
    json_t *v;
    json_object_foreach(cells, type, v) {
        size_t i;
        double n = (double)json_integer_value(v);
        for (i = 0; i < sizeof map / sizeof map[0] && strcmp(map[i].type, type) != 0; i++)
            ;
        if (i == sizeof map / sizeof map[0] || !json_is_integer(v)) {
            snprintf(unknown, usize, "%s", type);
            return false;
        }
        r->lut += n * map[i].lut;
        r->lutram += n * map[i].lutram;
        r->ff += n * map[i].ff;
        r->dsp += n * map[i].dsp;
        r->bram36 += n * map[i].bram36;
        r->uram += n * map[i].uram;
        r->carry += n * map[i].carry;
    }
    return true;
}

/* A cache entry ({format, key, rows, cols, tool, cells, seconds}) into r. */
static bool from_entry(json_t *e, uint64_t key, int rows, int cols, loom_rtl_resources *r)
{
    char unknown[64], keyhex[24];
    json_t *cells = json_object_get(e, "cells");
    snprintf(keyhex, sizeof keyhex, "%016llx", (unsigned long long)key);
    if (!json_is_object(e) || !json_is_string(json_object_get(e, "format")) ||
        strcmp(json_string_value(json_object_get(e, "format")), FORMAT) != 0 ||
        !json_is_string(json_object_get(e, "key")) || strcmp(json_string_value(json_object_get(e, "key")), keyhex) ||
        json_integer_value(json_object_get(e, "rows")) != rows ||
        json_integer_value(json_object_get(e, "cols")) != cols || !json_is_object(cells))
        return false;
    memset(r, 0, sizeof *r);
    r->rows = rows;
    r->cols = cols;
    snprintf(r->tool, sizeof r->tool, "%s", json_string_value(json_object_get(e, "tool")) ?
             json_string_value(json_object_get(e, "tool")) : "yosys");
    r->synth_seconds = json_number_value(json_object_get(e, "seconds"));
    return count_cells(cells, r, unknown, sizeof unknown);
}

loom_status loom_rtl_resources_estimate(int rows, int cols, const loom_rtl_resources_options *opt,
                                        loom_rtl_resources *out)
{
    const char *src, *cfg, *yosys;
    char ybuf[1024], tmp[] = "/tmp/loom-synth-XXXXXX", path[1400], cache[LOOM__CACHE_DIR_MAX], cpath[1100];
    char *names[MAX_FILES], version[sizeof ((loom_rtl_resources *)0)->tool], script_text[16384], tail[600];
    size_t nfiles = 0, used = 0;
    uint64_t key = LOOM__FNV_SEED;
    loom_status st;
    bool use_cache = !(opt && opt->no_cache);
    json_t *stat_json = NULL, *cells, *entry;
    json_error_t je;
    double t0;
    int rc;

    if (!out || rows < 2 || cols < 2 || rows > 64 || cols > 64)
        return loom__err(LOOM_E_INVALID_ARG, "resources: the array is 2 to 64 rows and columns, not %dx%d", rows,
                         cols);
    memset(out, 0, sizeof *out);
    if (!(yosys = find_yosys(ybuf, sizeof ybuf)))
        return loom__err(LOOM_E_DEVICE_UNAVAILABLE,
                         "resources: yosys is not installed (Debian package yosys; or set LOOM_YOSYS): FPGA "
                         "resources are not estimated");
    rtl_dirs(&src, &cfg);
    if (strpbrk(src, " \t\n\"'\\") || strpbrk(cfg, " \t\n\"'\\"))
        return loom__err(LOOM_E_INVALID_ARG, "resources: the RTL folder %s has a space or quote in its path: "
                         "yosys's script cannot name it", src);
    if ((st = list_sources(src, names, &nfiles)) != LOOM_OK) {
        for (size_t i = 0; i < nfiles; i++)
            free(names[i]);
        return st;
    }
    if (!mkdtemp(tmp)) {
        for (size_t i = 0; i < nfiles; i++)
            free(names[i]);
        return loom__err(LOOM_E_IO, "resources: cannot make a temporary folder: %s", strerror(errno));
    }
    /* yosys's version (part of the key: another yosys maps differently) */
    snprintf(path, sizeof path, "%s/version.txt", tmp);
    {
        char *argv[] = {(char *)yosys, "-V", NULL};
        if (run_in(tmp, argv, path, 60) != 0) {
            st = loom__err(LOOM_E_DEVICE_UNAVAILABLE, "resources: %s -V did not run", yosys);
            goto done;
        }
        loom__read_line(path, version, sizeof version);
    }
    /* the script, and the key */
    used += (size_t)snprintf(script_text + used, sizeof script_text - used,
                             "read_verilog -sv -DSYNTHESIS -DLOOM_SYNTH_MEM -I%s -I%s", src, cfg);
    for (size_t i = 0; i < nfiles && used < sizeof script_text; i++)
        used += (size_t)snprintf(script_text + used, sizeof script_text - used, " %s/%s", src, names[i]);
    if (used < sizeof script_text)
        used += (size_t)snprintf(script_text + used, sizeof script_text - used,
                                 "\nchparam -set ROWS %d -set COLS %d loom_kernel\n"
                                 "synth_xilinx -family xcup -top loom_kernel -flatten\n"
                                 "tee -q -o stat.json stat -json\n",
                                 rows, cols);
    if (used >= sizeof script_text) {
        st = loom__err(LOOM_E_LIMIT, "resources: the yosys script is longer than %zu bytes", sizeof script_text);
        goto done;
    }
    key = loom__fnv1a(FORMAT, strlen(FORMAT), key);
    key = loom__fnv1a(version, strlen(version), key);
    /* the script names the folders; the key holds what is in them */
    key = loom__fnv1a(strchr(script_text, '\n'), strlen(strchr(script_text, '\n')), key);
    for (size_t i = 0; i < nfiles; i++) {
        snprintf(path, sizeof path, "%s/%s", src, names[i]);
        if (!hash_file(path, &key)) {
            st = loom__err(LOOM_E_IO, "resources: cannot read %s", path);
            goto done;
        }
    }
    snprintf(path, sizeof path, "%s/loom_defs.svh", src);
    (void)hash_file(path, &key);
    snprintf(path, sizeof path, "%s/loom_config.svh", cfg);
    if (!hash_file(path, &key)) {
        st = loom__err(LOOM_E_NOT_FOUND, "resources: %s is missing (the generated array configuration)", path);
        goto done;
    }

    cpath[0] = '\0';
    if (use_cache && loom__cache_dir(cache, sizeof cache, "resources", "estimates are not cached", &cache_warned))
        snprintf(cpath, sizeof cpath, "%s/rtl-%dx%d-%016llx.json", cache, rows, cols, (unsigned long long)key);
    if (cpath[0]) {
        struct stat sb;
        int fd = loom__cache_open(cpath, "resources", &cache_warned, &sb);
        if (fd >= 0) {
            FILE *f = fdopen(fd, "r");
            json_t *e = f ? json_loadf(f, 0, &je) : NULL;
            if (f)
                fclose(f);
            else
                close(fd);
            if (e && from_entry(e, key, rows, cols, out)) {
                out->cached = true;
                json_decref(e);
                loom__log(LOOM_LOG_DEBUG, "resources: %dx%d from the cache: %s", rows, cols, cpath);
                st = LOOM_OK;
                goto done;
            }
            json_decref(e);
            loom__log(LOOM_LOG_DEBUG, "resources: cache file %s is not one of ours for this RTL: replaced", cpath);
        }
    }

    if (opt && opt->cache_only) {
        st = loom__err(LOOM_E_NOT_FOUND, "resources: the %dx%d array has no cached estimate", rows, cols);
        goto done;
    }
    /* synthesise */
    snprintf(path, sizeof path, "%s/synth.ys", tmp);
    if ((st = loom__write_file(path, script_text, strlen(script_text), NULL, 0)) != LOOM_OK)
        goto done;
    snprintf(path, sizeof path, "%s/yosys.log", tmp);
    t0 = loom__now_us();
    {
        char *argv[] = {(char *)yosys, "-q", "-s", "synth.ys", NULL};
        rc = run_in(tmp, argv, path, opt ? opt->timeout_s : 0);
    }
    if (rc == -2) {
        st = loom__err(LOOM_E_LIMIT, "resources: yosys ran past its time limit (%.0f s) on the %dx%d array",
                       opt->timeout_s, rows, cols);
        goto done;
    }
    if (rc != 0) {
        log_tail(path, tail, sizeof tail);
        st = loom__err(LOOM_E_DEVICE_FAILED, "resources: yosys %s on the %dx%d array%s%s",
                       rc == 127 ? "could not start" : "failed", rows, cols,
                       tail[0] ? ": " : "", tail);
        goto done;
    }
    out->synth_seconds = (loom__now_us() - t0) * 1e-6;
    snprintf(path, sizeof path, "%s/stat.json", tmp);
    if (!(stat_json = json_load_file(path, 0, &je)) ||
        !json_is_object(cells = json_object_get(json_object_get(stat_json, "design"), "num_cells_by_type"))) {
        st = loom__err(LOOM_E_DEVICE_FAILED, "resources: yosys's statistics (%s) do not parse: %s", path,
                       stat_json ? "no design.num_cells_by_type" : je.text);
        goto done;
    }
    {
        char unknown[64];
        out->rows = rows;
        out->cols = cols;
        snprintf(out->tool, sizeof out->tool, "%s", version);
        if (!count_cells(cells, out, unknown, sizeof unknown)) {
            st = loom__err(LOOM_E_DEVICE_FAILED, "resources: yosys mapped to a cell loom does not count: %s",
                           unknown);
            goto done;
        }
    }
    /* into the cache, whole or not at all */
    {
        char keyhex[24];
        snprintf(keyhex, sizeof keyhex, "%016llx", (unsigned long long)key);
        entry = json_pack("{s:s, s:s, s:i, s:i, s:s, s:O, s:f}", "format", FORMAT, "key", keyhex, "rows", rows,
                          "cols", cols, "tool", version, "cells", cells, "seconds", out->synth_seconds);
    }
    if (entry && cpath[0]) {
        char *text;
        if ((text = json_dumps(entry, JSON_INDENT(1) | JSON_PRESERVE_ORDER))) {
            if (loom__write_file(cpath, text, strlen(text), "\n", 1) != LOOM_OK)
                loom__log(LOOM_LOG_DEBUG, "resources: not cached: %s", loom_last_error());
            free(text);
        }
    }
    json_decref(entry);
    st = LOOM_OK;

done:
    json_decref(stat_json);
    for (size_t i = 0; i < nfiles; i++)
        free(names[i]);
    {
        /* the temporary folder and what yosys left in it */
        DIR *d = opendir(tmp);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(path, sizeof path, "%s/%s", tmp, e->d_name);
                unlink(path);
            }
        }
        if (d)
            closedir(d);
        rmdir(tmp);
    }
    return st;
}
