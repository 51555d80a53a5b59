/*
 * cl-program.c - one OpenCL program per device holding every loom kernel.
 *
 * The kernel sources (the .cl files of kernels-cl/, with loom/kernel-abi.h and
 * kernels-cl/loom-cl.h in front) and the tuning table are embedded in the
 * library at build time. A built program is cached on disk as a device
 * binary, keyed by a hash of the device, platform, driver, build options
 * and source; later processes load the binary instead of compiling.
 * Cache folder: $LOOM_CACHE_DIR, else $XDG_CACHE_HOME/loom, else
 * ~/.cache/loom (created private). A cached binary runs as device code,
 * so only a folder that only we can write is used (ours, no group or
 * other write bit, not a symlink; a path longer than 899 bytes is never
 * shortened), and only cache files of ours that only we can write are
 * read; otherwise the program is built, with a warning saying why.
 * Cache files carry a header (key, length, checksum) checked before the
 * driver sees the binary; a bad one is removed and rebuilt.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/opencl/opencl.h"

extern const char loom__cl_source[];      /* generated: cmake/EmbedFiles.cmake */
extern const char loom__cl_tuning_json[]; /* generated */


long loom__cl_knob(const loom__cl_tuning *t, const char *name, long def)
{
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->name[i], name) == 0)
            return t->value[i];
    return def;
}

/* ---- tuning table ---- */

static bool entry_matches(json_t *match, const loom__device *dev)
{
    const char *key;
    json_t *val;
    json_object_foreach(match, key, val) {
        const char *want = json_string_value(val);
        if (!want)
            return false;
        if (strcmp(key, "type") == 0 && strcmp(want, loom__dev_kind_name(dev->kind)) != 0)
            return false;
        if (strcmp(key, "name") == 0 && !strstr(dev->model, want))
            return false;
        if (strcmp(key, "platform") == 0 && !strstr(dev->platform, want))
            return false;
    }
    return true;
}

/* Set knob name to value (replacing an earlier value). */
static void set_knob(loom__cl_tuning *t, const char *name, long value)
{
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->name[i], name) == 0) {
            t->value[i] = value;
            return;
        }
    if (t->n == LOOM__CL_MAX_KNOBS || strlen(name) >= sizeof t->name[0])
        return;
    snprintf(t->name[t->n], sizeof t->name[0], "%s", name);
    t->value[t->n++] = value;
}

static void take_defines(loom__cl_tuning *t, json_t *defines)
{
    const char *key;
    json_t *val;
    json_object_foreach(defines, key, val)
        if (json_is_integer(val))
            set_knob(t, key, (long)json_integer_value(val));
}

/* Every knob the host sizes launches with is passed explicitly (-D), so
 * that the host and the kernels always agree: the table's defaults, then
 * the first entry that matches the device. */
void loom__cl_tuning_pick(loom__device *dev, loom__cl_tuning *t)
{
    json_error_t jerr;
    json_t *root = json_loads(loom__cl_tuning_json, 0, &jerr), *entries, *e, *gemm;
    size_t i, used = 0;

    memset(t, 0, sizeof *t);
    snprintf(t->source, sizeof t->source, "table defaults");
    t->systolic = dev->kind == LOOM__DEV_ACCEL;
    if (!root) {
        loom__log(LOOM_LOG_WARN, "opencl: tuning table: %s (line %d); using kernel defaults", jerr.text,
                  jerr.line);
        return;
    }
    take_defines(t, json_object_get(json_object_get(root, "defaults"), "defines"));
    entries = json_object_get(root, "entries");
    json_array_foreach(entries, i, e) {
        const char *note = json_string_value(json_object_get(e, "note"));
        if (!entry_matches(json_object_get(e, "match"), dev))
            continue;
        snprintf(t->source, sizeof t->source, "tuning entry %zu (%s)", i, note ? note : "no note");
        gemm = json_object_get(e, "gemm");
        if (json_is_string(gemm))
            t->systolic = strcmp(json_string_value(gemm), "systolic") == 0;
        take_defines(t, json_object_get(e, "defines"));
        break; /* first match wins */
    }
    json_decref(root);
    /* LOOM_CL_GEMM=systolic|ndrange overrides (tests run both on PoCL) */
    if (getenv("LOOM_CL_GEMM"))
        t->systolic = strcmp(getenv("LOOM_CL_GEMM"), "systolic") == 0;
    for (int k = 0; k < t->n && used < sizeof t->options; k++)
        used += (size_t)snprintf(t->options + used, sizeof t->options - used, "-D%s=%ld ", t->name[k],
                                 t->value[k]);
    loom__log(LOOM_LOG_DEBUG, "opencl: %s: knobs from %s: %s", dev->name, t->source, t->options);
}

/* ---- binary cache ---- */

static loom__cache_warned cache_warned;

static bool cache_dir(char *buf, size_t size)
{
    return loom__cache_dir(buf, size, "opencl", "programs are not cached", &cache_warned);
}

/* Cache file: our header, then the driver's binary. The header lets a
 * truncated, corrupt or foreign file be refused before the driver parses
 * it (drivers do not all validate binaries). */
#define CACHE_MAGIC "LOOMCLB1"
typedef struct {
    char magic[8];
    uint64_t key;     /* hash of device, platform, driver, options, source */
    uint64_t length;  /* of the binary that follows */
    uint64_t check;   /* loom__fnv1a of the binary */
} cache_header;

static void cache_path(loom__device *dev, const char *options, char *path, size_t size, uint64_t *key)
{
    loom__cl_dev *cd = dev->priv;
    char dir[LOOM__CACHE_DIR_MAX], pver[128] = "";
    uint64_t h = LOOM__FNV_SEED;
    clGetPlatformInfo(cd->platform, CL_PLATFORM_VERSION, sizeof pver, pver, NULL);
    pver[sizeof pver - 1] = '\0';
    h = loom__fnv1a(dev->model, strlen(dev->model), h);
    h = loom__fnv1a(dev->platform, strlen(dev->platform), h);
    h = loom__fnv1a(pver, strlen(pver), h);
    h = loom__fnv1a(cd->driver, strlen(cd->driver), h);
    h = loom__fnv1a(options, strlen(options), h);
    h = loom__fnv1a(loom__cl_source, strlen(loom__cl_source), h);
    *key = h;
    if (!cache_dir(dir, sizeof dir)) {
        path[0] = '\0';
        return;
    }
    snprintf(path, size, "%s/cl-%016llx.bin", dir, (unsigned long long)h);
}

/* The cached program, or NULL (a bad file is removed, to be rebuilt). */
static cl_program load_cached(loom__device *dev, const char *path, const char *options, uint64_t key)
{
    loom__cl_dev *cd = dev->priv;
    struct stat sb;
    int fd = loom__cache_open(path, "opencl", &cache_warned, &sb);
    FILE *f = NULL;
    unsigned char *bin = NULL;
    cache_header hdr;
    cl_int err, bstatus;
    cl_program prog = NULL;
    const char *bad = NULL;

    if (fd < 0)
        return NULL;
    if (!(f = fdopen(fd, "rb"))) {
        close(fd);
        return NULL;
    }
    if (fread(&hdr, sizeof hdr, 1, f) != 1)
        bad = "shorter than its header";
    else if (memcmp(hdr.magic, CACHE_MAGIC, 8) != 0 || hdr.key != key)
        bad = "not a loom cache file for this device and source";
    else if (hdr.length == 0 || hdr.length != (uint64_t)sb.st_size - sizeof hdr)
        bad = "truncated";
    else if (!(bin = malloc((size_t)hdr.length)) || fread(bin, 1, (size_t)hdr.length, f) != hdr.length)
        bad = "unreadable";
    else if (loom__fnv1a(bin, (size_t)hdr.length, LOOM__FNV_SEED) != hdr.check)
        bad = "corrupt (checksum)";
    fclose(f);
    if (!bad) {
        size_t n = (size_t)hdr.length;
        const unsigned char *bins[1] = {bin};
        prog = clCreateProgramWithBinary(cd->ctx, 1, &cd->device, &n, bins, &bstatus, &err);
        if (prog && clBuildProgram(prog, 1, &cd->device, options, NULL, NULL) != CL_SUCCESS) {
            clReleaseProgram(prog);
            prog = NULL;
        }
        if (!prog)
            bad = "refused by the driver";
    }
    free(bin);
    if (bad) {
        loom__log(LOOM_LOG_DEBUG, "opencl: %s: cache file %s is %s: removed, rebuilding", dev->name, path,
                  bad);
        unlink(path);
        return NULL;
    }
    loom__log(LOOM_LOG_DEBUG, "opencl: %s: program loaded from %s", dev->name, path);
    return prog;
}

static void save_cached(loom__device *dev, cl_program prog, const char *path, uint64_t key)
{
    size_t size = 0;
    unsigned char *bin;
    cache_header hdr;
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) != CL_SUCCESS ||
        size == 0 || !(bin = malloc(size)))
        return;
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL) == CL_SUCCESS) {
        /* a cache file is written like any output: whole or not at all;
         * failing to write one only costs a rebuild next time */
        memcpy(hdr.magic, CACHE_MAGIC, 8);
        hdr.key = key;
        hdr.length = size;
        hdr.check = loom__fnv1a(bin, size, LOOM__FNV_SEED);
        if (loom__write_file(path, &hdr, sizeof hdr, bin, size) == LOOM_OK)
            loom__log(LOOM_LOG_DEBUG, "opencl: %s: program cached in %s", dev->name, path);
        else
            loom__log(LOOM_LOG_DEBUG, "opencl: %s: not cached: %s", dev->name, loom_last_error());
    }
    free(bin);
}

/* The first lines of the build log, on one line, for the error message. */
static void build_log(loom__device *dev, cl_program prog, char *out, size_t size)
{
    loom__cl_dev *cd = dev->priv;
    size_t n = 0;
    char *log;
    out[0] = '\0';
    if (clGetProgramBuildInfo(prog, cd->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &n) != CL_SUCCESS || !n)
        return;
    log = malloc(n + 1);
    if (!log)
        return;
    if (clGetProgramBuildInfo(prog, cd->device, CL_PROGRAM_BUILD_LOG, n, log, NULL) == CL_SUCCESS) {
        size_t j = 0;
        log[n] = '\0';
        for (size_t i = 0; log[i] && j + 1 < size; i++) {
            char c = log[i];
            if (c == '\n' || c == '\r' || c == '\t')
                c = ' ';
            if (c == ' ' && j > 0 && out[j - 1] == ' ')
                continue;
            out[j++] = c;
        }
        out[j] = '\0';
    }
    free(log);
}

loom_status loom__cl_program_get(loom__device *dev)
{
    loom__cl_dev *cd = dev->priv;
    char options[1200], path[1200];
    uint64_t key = 0;
    cl_program prog = NULL;
    cl_int err;
    loom_status st = LOOM_OK;

    pthread_mutex_lock(&cd->lock);
    if (cd->build_tried) {
        st = cd->build_status;
        if (st != LOOM_OK)
            loom__err(st, "%s", cd->build_error);
        pthread_mutex_unlock(&cd->lock);
        return st;
    }
    cd->build_tried = true;
    snprintf(options, sizeof options, "%s%s%s%s", cd->tuning.options,
             loom__cl_fault_build() ? " -DLOOM_FAULT_BUILD" : "",
             loom__cl_fault_wrong_add() ? " -DLOOM_FAULT_WRONG_ADD" : "",
             loom__cl_fault_misround() ? " -DLOOM_FAULT_MISROUND" : "");
    cache_path(dev, options, path, sizeof path, &key);
    for (int attempt = 0; attempt < 2; attempt++) {
        bool cached = false;
        const char *src = loom__cl_source;
        if (attempt == 0 && path[0] && (prog = load_cached(dev, path, options, key)))
            cached = true;
        if (!prog) {
            prog = clCreateProgramWithSource(cd->ctx, 1, &src, NULL, &err);
            if (!prog) {
                st = loom__cl_fail(err, "clCreateProgramWithSource");
                goto done;
            }
            err = clBuildProgram(prog, 1, &cd->device, options, NULL, NULL);
            if (err != CL_SUCCESS) {
                char log[700];
                build_log(dev, prog, log, sizeof log);
                st = loom__err(LOOM_E_DEVICE_FAILED, "clBuildProgram: OpenCL error %d %s: %s", (int)err,
                               loom__cl_error_name(err), log[0] ? log : "(no build log)");
                goto done;
            }
            if (path[0])
                save_cached(dev, prog, path, key);
            else
                loom__log(LOOM_LOG_DEBUG, "opencl: no usable cache folder; the program is not cached");
        }
        st = LOOM_OK;
        for (int k = 0; k < K_COUNT && st == LOOM_OK; k++) {
            static const char *const names[] = {
#define LOOM__CL_K_NAME(name) #name,
                LOOM__CL_KERNELS(LOOM__CL_K_NAME)
#undef LOOM__CL_K_NAME
            };
            cd->kernels[k] = clCreateKernel(prog, names[k], &err);
            if (!cd->kernels[k])
                st = loom__err(LOOM_E_DEVICE_FAILED, "clCreateKernel(%s): OpenCL error %d %s", names[k],
                               (int)err, loom__cl_error_name(err));
        }
        if (st == LOOM_OK)
            break;
        /* a cached binary that lacks a kernel: drop it, build from source */
        for (int k = 0; k < K_COUNT; k++)
            if (cd->kernels[k]) {
                clReleaseKernel(cd->kernels[k]);
                cd->kernels[k] = NULL;
            }
        clReleaseProgram(prog);
        prog = NULL;
        if (!cached)
            goto done;
        unlink(path);
    }
    cd->program = prog;
    prog = NULL;
done:
    if (prog)
        clReleaseProgram(prog);
    if (st != LOOM_OK) {
        for (int k = 0; k < K_COUNT; k++)
            if (cd->kernels[k]) {
                clReleaseKernel(cd->kernels[k]);
                cd->kernels[k] = NULL;
            }
        snprintf(cd->build_error, sizeof cd->build_error, "%s", loom_last_error());
    }
    cd->build_status = st;
    pthread_mutex_unlock(&cd->lock);
    return st;
}
