/*
 * gemm_bench.c - fp32 GEMM benchmark: loom's OpenCL kernel
 * (kernels-cl/gemm_f32.cl) beside CLBlast (same device, same queue) and
 * OpenBLAS on the host.
 *
 *   built by CMake (target gemm_bench) when libopenblas-dev and
 *   libclblast-dev are installed, or by hand:
 *   gcc -O2 -std=c11 -D_XOPEN_SOURCE=700 -I host/include -I kernels-cl \
 *       bench/gemm_bench.c -lOpenCL -lclblast -lopenblas -ljansson -lm -o gemm_bench
 *
 *   gemm_bench [--device N] [--kernels DIR] [--abi FILE]
 *              [--sizes 256,512,MxNxK,...] [--reps N] [--json]
 *              [--no-clblast] [-D KNOB=VALUE ...] [--build-opts "..."]
 *              [--check] [--tune [--tune-size S]]
 *
 * Run it from the repository root (or pass --kernels and --abi). The
 * kernel source is loom/kernel-abi.h + kernels-cl/loom-cl.h + gemm_f32.cl,
 * as the host builds it.
 *
 * Default mode: for each size, times C = A.B (no bias, no activation) with
 * loom's kernel, CLBlastSgemm and cblas_sgemm, each the best of --reps runs
 * (default 5, taken in turns) after a warm-up call; checks loom's and
 * CLBlast's results against OpenBLAS (max |c - r| / max |r|, tolerance
 * 2 (K + 8) FLT_EPSILON) and prints GFLOP/s and ratios, or JSON with
 * --json. Exits 1 if a result is off by more than the tolerance.
 *
 * Knobs: the kernel's defaults, overridden by the library's tuning table
 * (kernels-cl/tuning.json, same matching rule as the host), overridden
 * by -D.
 *
 * --check: correctness sweep of loom's kernel alone, with the knobs above
 * and, in mode 1, once more with B staging forced on: awkward shapes (1x1x1, K = 1, N = 1, M = 1, sizes
 * that are not tile multiples), every fp32 activation, bias on and off,
 * non-zero offsets and padded leading dimensions, against a double-
 * precision host reference, with guard values around C to catch stray
 * writes. Exits 1 on any failure.
 *
 * --tune: searches a grid of knobs for the device's type at one size
 * (--tune-size, default 1024; mode 1 configs with staging forced on),
 * re-times the five best, prints the winner beside the knobs above and
 * runs the check sweep on it. Tune once at a size whose B fits in cache and
 * once at one whose B does not: mode 1's GEMM_STAGE_MIN picks between the
 * two behaviours per call.
 *
 * Threads: POCL_MAX_PTHREAD_COUNT is set to the number of online CPUs
 * unless already set, and OpenBLAS gets the same thread count, so that
 * both sides use the same cores. POCL_CACHE_DIR is left as it is (PoCL
 * compiles a kernel at its first launch and caches it there, by default
 * under ~/.cache/pocl). This is a benchmark, not a library: errors print
 * a message and exit.
 */
#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#include <cblas.h>
#include <clblast_c.h>
#include <jansson.h>

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loom/kernel-abi.h"

/* ---- small utilities ---------------------------------------------------- */

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("gemm_bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

#define CL_TRY(call)                                                       \
    do {                                                                   \
        cl_int err_ = (call);                                              \
        if (err_ != CL_SUCCESS)                                            \
            die("%s:%d: %s failed: OpenCL error %d", __FILE__, __LINE__,   \
                #call, (int)err_);                                         \
    } while (0)

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die("out of memory (%zu bytes)", n);
    return p;
}

static char *xstrdup(const char *s)
{
    char *d = xmalloc(strlen(s) + 1);
    strcpy(d, s);
    return d;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("%s: cannot open", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n < 0)
        die("%s: cannot size", path);
    char *buf = xmalloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n)
        die("%s: short read", path);
    buf[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

/* Deterministic uniform values in [-1, 1). */
static unsigned long long rng_state = 0x9e3779b97f4a7c15ull;
static float frand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((double)(rng_state >> 11) * (2.0 / 9007199254740992.0) -
                   1.0);
}

static void fill(float *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = frand();
}

/* ---- kernel knobs ------------------------------------------------------ */

/* The knobs of kernels-cl/gemm_f32.cl, with the kernel's own defaults. The
 * bench passes every knob with -D, so that the launch geometry it computes
 * uses exactly the values the kernel was built with. */
#define MAX_KNOBS 16
typedef struct {
    const char *name;
    int value;
} knob;

typedef struct {
    knob k[MAX_KNOBS];
    int n;
} knob_set;

static const knob kernel_defaults[] = {
    {"GEMM_MWI", 8},    {"GEMM_NWI", 32},     {"GEMM_VW", 16},
    {"GEMM_WGM", 1},    {"GEMM_WGN", 1},      {"GEMM_STRN", 0},
    {"GEMM_LOCAL", 0},  {"GEMM_KWG", 256},    {"GEMM_PAD", 1},
    {"GEMM_PREFETCH", 1}, {"GEMM_STAGE_MIN", 3145728}, {"GEMM_KU", 1},
};

static void knobs_set(knob_set *s, const char *name, int value)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->k[i].name, name) == 0) {
            s->k[i].value = value;
            return;
        }
    if (s->n == MAX_KNOBS)
        die("too many knobs");
    s->k[s->n].name = name;
    s->k[s->n].value = value;
    s->n++;
}

static int knobs_get(const knob_set *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->k[i].name, name) == 0)
            return s->k[i].value;
    die("knob %s not set", name);
    return 0;
}

/* Applies "NAME=VALUE" (one, from the command line) or a blank-separated
 * list of them (from the tuning table). Names are kept by reference: they
 * must outlive the set (string literals, argv). */
static void knobs_parse(knob_set *s, const char *text)
{
    const char *p = text;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        const char *eq = strchr(p, '=');
        if (!eq)
            die("bad knob setting '%s' (want NAME=VALUE)", p);
        size_t len = (size_t)(eq - p);
        char *name = xmalloc(len + 1);
        memcpy(name, p, len);
        name[len] = '\0';
        char *end;
        long v = strtol(eq + 1, &end, 10);
        if (end == eq + 1 || (*end && *end != ' '))
            die("bad knob value in '%s'", p);
        int known = 0;
        for (int i = 0; i < s->n; i++)
            known |= strcmp(s->k[i].name, name) == 0;
        if (!known)
            fprintf(stderr, "gemm_bench: note: %s is not a knob the bench "
                            "knows; passing it on\n", name);
        knobs_set(s, name, (int)v); /* leaks name: a handful per run */
        p = end;
    }
}

static void knobs_default(knob_set *s)
{
    s->n = 0;
    for (size_t i = 0; i < sizeof kernel_defaults / sizeof *kernel_defaults;
         i++)
        knobs_set(s, kernel_defaults[i].name, kernel_defaults[i].value);
}

/* The device's GEMM knobs from the library's own tuning table
 * (kernels-cl/tuning.json; STYLE item 11), with the host's rule: the
 * table's defaults, then the first entry whose match fits the device
 * (type cpu|gpu|accelerator, a substring of the device or platform name).
 * Only GEMM_* knobs matter here. */
static void knobs_from_table(knob_set *s, const char *kdir, cl_device_type type,
                             const char *name, const char *platform)
{
    char path[4096];
    json_error_t jerr;
    json_t *root, *e;
    size_t i;
    const char *kind = (type & CL_DEVICE_TYPE_GPU)   ? "gpu"
                       : (type & CL_DEVICE_TYPE_CPU) ? "cpu"
                                                     : "accelerator";
    snprintf(path, sizeof path, "%s/tuning.json", kdir);
    root = json_load_file(path, 0, &jerr);
    if (!root)
        die("%s: %s (line %d)", path, jerr.text, jerr.line);
    for (int pass = 0; pass < 2; pass++) {
        json_t *defines = NULL;
        if (pass == 0) {
            defines = json_object_get(json_object_get(root, "defaults"), "defines");
        } else {
            json_array_foreach(json_object_get(root, "entries"), i, e) {
                json_t *m = json_object_get(e, "match"), *v;
                const char *key;
                int ok = 1;
                json_object_foreach(m, key, v) {
                    const char *want = json_string_value(v);
                    if (!want || (!strcmp(key, "type") && strcmp(want, kind)) ||
                        (!strcmp(key, "name") && !strstr(name, want)) ||
                        (!strcmp(key, "platform") && !strstr(platform, want)))
                        ok = 0;
                }
                if (ok) {
                    defines = json_object_get(e, "defines");
                    break;
                }
            }
        }
        {
            const char *key;
            json_t *v;
            json_object_foreach(defines, key, v)
                if (!strncmp(key, "GEMM_", 5) && json_is_integer(v))
                    knobs_set(s, xstrdup(key), (int)json_integer_value(v)); /* a few bytes, once */
        }
    }
    json_decref(root);
}

/* Kernel defaults, then the library's tuning table, then the command
 * line's -D overrides. */
static void knobs_resolve(knob_set *s, const char *kdir, cl_device_type type, const char *name,
                          const char *platform, const char *const *defs, int ndefs)
{
    knobs_default(s);
    knobs_from_table(s, kdir, type, name, platform);
    for (int i = 0; i < ndefs; i++)
        knobs_parse(s, defs[i]);
}

/* How the kernel feeds its tiles for one shape (see gemm_f32.cl). */
static const char *gemm_path(const knob_set *k, int M, int N, int K)
{
    switch (knobs_get(k, "GEMM_LOCAL")) {
    case 0:
        return "0";
    case 1:
        return (double)K * N >= knobs_get(k, "GEMM_STAGE_MIN") &&
                       M > knobs_get(k, "GEMM_MWI") && K >= knobs_get(k, "GEMM_KWG")
                   ? "1/st"
                   : "1/in";
    default:
        return "2";
    }
}

static void knobs_format(const knob_set *s, char *buf, size_t cap,
                         const char *sep, const char *prefix)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < s->n; i++) {
        int w = snprintf(buf + used, cap - used, "%s%s%s=%d", i ? sep : "",
                         prefix, s->k[i].name, s->k[i].value);
        if (w < 0 || (size_t)w >= cap - used)
            die("knob string too long");
        used += (size_t)w;
    }
}

/* ---- OpenCL context and loom's kernel ---------------------------------- */

typedef struct {
    cl_platform_id platform;
    cl_device_id device;
    cl_context ctx;
    cl_command_queue queue;
    char name[256];
    char platform_name[256];
    cl_device_type type;
    size_t max_wg;    /* CL_DEVICE_MAX_WORK_GROUP_SIZE */
    cl_ulong local_mem; /* CL_DEVICE_LOCAL_MEM_SIZE, bytes */
    char *source; /* headers + gemm_f32.cl */
    const char *extra_opts;
} cl_env;

typedef struct {
    cl_program prog;
    cl_kernel kern;
    knob_set knobs;
    double build_s;
} loom_gemm;

static void cl_open(cl_env *e, int want)
{
    cl_uint np = 0;
    CL_TRY(clGetPlatformIDs(0, NULL, &np));
    if (np == 0)
        die("no OpenCL platform");
    cl_platform_id plats[16];
    if (np > 16)
        np = 16;
    CL_TRY(clGetPlatformIDs(np, plats, NULL));
    int idx = 0;
    for (cl_uint p = 0; p < np; p++) {
        cl_uint nd = 0;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd) !=
            CL_SUCCESS)
            continue;
        cl_device_id devs[16];
        if (nd > 16)
            nd = 16;
        CL_TRY(clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, nd, devs, NULL));
        for (cl_uint d = 0; d < nd; d++, idx++) {
            if (idx != want)
                continue;
            e->platform = plats[p];
            e->device = devs[d];
        }
    }
    if (!e->device)
        die("no OpenCL device %d (%d found)", want, idx);
    CL_TRY(clGetDeviceInfo(e->device, CL_DEVICE_NAME, sizeof e->name,
                           e->name, NULL));
    CL_TRY(clGetPlatformInfo(e->platform, CL_PLATFORM_NAME, sizeof e->platform_name,
                             e->platform_name, NULL));
    CL_TRY(clGetDeviceInfo(e->device, CL_DEVICE_TYPE, sizeof e->type,
                           &e->type, NULL));
    CL_TRY(clGetDeviceInfo(e->device, CL_DEVICE_MAX_WORK_GROUP_SIZE,
                           sizeof e->max_wg, &e->max_wg, NULL));
    CL_TRY(clGetDeviceInfo(e->device, CL_DEVICE_LOCAL_MEM_SIZE,
                           sizeof e->local_mem, &e->local_mem, NULL));
    cl_int err;
    e->ctx = clCreateContext(NULL, 1, &e->device, NULL, NULL, &err);
    CL_TRY(err);
    e->queue = clCreateCommandQueue(e->ctx, e->device, 0, &err);
    CL_TRY(err);
}

/* The host prepends the two shared headers to every kernel source:
 * loom/kernel-abi.h, kernels-cl/loom-cl.h, then gemm_f32.cl. */
static char *load_source(const char *kdir, const char *abi)
{
    char paths[3][4096];
    if (abi)
        snprintf(paths[0], sizeof paths[0], "%s", abi);
    else
        snprintf(paths[0], sizeof paths[0],
                 "%s/../host/include/loom/kernel-abi.h", kdir);
    snprintf(paths[1], sizeof paths[1], "%s/loom-cl.h", kdir);
    snprintf(paths[2], sizeof paths[2], "%s/gemm_f32.cl", kdir);
    char *txt[3];
    size_t len[3], total = 0;
    for (int i = 0; i < 3; i++) {
        txt[i] = read_file(paths[i], &len[i]);
        total += len[i] + 1;
    }
    char *src = xmalloc(total + 1), *p = src;
    for (int i = 0; i < 3; i++) {
        memcpy(p, txt[i], len[i]);
        p += len[i];
        *p++ = '\n';
        free(txt[i]);
    }
    *p = '\0';
    return src;
}

/* Builds loom's kernel with the given knobs. Returns 0, or -1 (with the
 * build log on stderr when verbose) if the program does not build. */
static int gemm_build(const cl_env *e, const knob_set *knobs, loom_gemm *g,
                      int verbose)
{
    char defs[1024], opts[2048];
    knobs_format(knobs, defs, sizeof defs, " ", "-D");
    snprintf(opts, sizeof opts, "%s %s", defs,
             e->extra_opts ? e->extra_opts : "");
    memset(g, 0, sizeof *g);
    g->knobs = *knobs;
    cl_int err;
    const char *src = e->source;
    double t0 = now_s();
    g->prog = clCreateProgramWithSource(e->ctx, 1, &src, NULL, &err);
    CL_TRY(err);
    err = clBuildProgram(g->prog, 1, &e->device, opts, NULL, NULL);
    g->build_s = now_s() - t0;
    if (verbose) {
        /* Print the build log on failure, and on success when it says more
         * than nothing (compiler warnings). */
        size_t n = 0;
        clGetProgramBuildInfo(g->prog, e->device, CL_PROGRAM_BUILD_LOG, 0,
                              NULL, &n);
        char *log = xmalloc(n + 1);
        if (clGetProgramBuildInfo(g->prog, e->device, CL_PROGRAM_BUILD_LOG, n,
                                  log, NULL) != CL_SUCCESS)
            n = 0;
        log[n] = '\0';
        if (err != CL_SUCCESS)
            fprintf(stderr, "gemm_bench: build failed (%d) with %s:\n%s\n",
                    (int)err, opts, log);
        else if (strspn(log, " \t\r\n") < strlen(log))
            fprintf(stderr, "gemm_bench: build log:\n%s\n", log);
        free(log);
    }
    if (err != CL_SUCCESS) {
        clReleaseProgram(g->prog);
        g->prog = NULL;
        return -1;
    }
    g->kern = clCreateKernel(g->prog, "loom_gemm_f32", &err);
    CL_TRY(err);
    return 0;
}

static void gemm_release(loom_gemm *g)
{
    if (g->kern)
        clReleaseKernel(g->kern);
    if (g->prog)
        clReleaseProgram(g->prog);
    g->kern = NULL;
    g->prog = NULL;
}

/* Programs built so far, one per distinct knob set: the tuning table may
 * give several sizes the same knobs, and a PoCL build takes about a
 * second. */
#define MAX_PROGRAMS 8
typedef struct {
    loom_gemm g[MAX_PROGRAMS];
    char key[MAX_PROGRAMS][512];
    int n;
} gemm_cache;

static const loom_gemm *gemm_get(const cl_env *e, gemm_cache *c,
                                 const knob_set *k, FILE *log)
{
    char key[512];
    knobs_format(k, key, sizeof key, " ", "");
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->key[i], key) == 0)
            return &c->g[i];
    if (c->n == MAX_PROGRAMS)
        die("too many distinct knob sets");
    if (gemm_build(e, k, &c->g[c->n], 1) != 0)
        die("cannot build gemm_f32.cl with %s", key);
    fprintf(log, "# built gemm_f32.cl in %.2f s (less when PoCL has it "
                 "cached): %s\n",
            c->g[c->n].build_s, key);
    strcpy(c->key[c->n], key);
    return &c->g[c->n++];
}

static void gemm_cache_release(gemm_cache *c)
{
    for (int i = 0; i < c->n; i++)
        gemm_release(&c->g[i]);
    c->n = 0;
}

/* Launch geometry, as documented at the top of gemm_f32.cl:
 *   local  = { WGN, WGM }
 *   global = { ceil(N / (NWI * WGN)) * WGN, ceil(M / (MWI * WGM)) * WGM } */
static void gemm_geometry(const knob_set *k, int M, int N, size_t global[2],
                          size_t local[2])
{
    size_t mwi = (size_t)knobs_get(k, "GEMM_MWI");
    size_t nwi = (size_t)knobs_get(k, "GEMM_NWI");
    size_t wgm = (size_t)knobs_get(k, "GEMM_WGM");
    size_t wgn = (size_t)knobs_get(k, "GEMM_WGN");
    local[0] = wgn;
    local[1] = wgm;
    global[0] = ((size_t)N + nwi * wgn - 1) / (nwi * wgn) * wgn;
    global[1] = ((size_t)M + mwi * wgm - 1) / (mwi * wgm) * wgm;
}

typedef struct {
    int M, N, K;
    cl_mem A, B, bias, C;
    int lda, ldb, ldc, a_off, b_off, c_off;
    int has_bias, act; /* has_bias: 0 none, 1 bias[n], 2 bias[m] */
    float act_a, act_b;
} gemm_args;

static cl_int gemm_enqueue(const cl_env *e, const loom_gemm *g,
                           const gemm_args *a)
{
    cl_kernel k = g->kern;
    int i = 0;
    cl_mem bias = a->bias; /* NULL when has_bias is 0, as the host passes */
    const int one = 1, zero = 0;
    CL_TRY(clSetKernelArg(k, i++, sizeof(int), &a->M));
    CL_TRY(clSetKernelArg(k, i++, sizeof(int), &a->N));
    CL_TRY(clSetKernelArg(k, i++, sizeof(int), &a->K));
    CL_TRY(clSetKernelArg(k, i++, sizeof(cl_mem), &a->A));
    CL_TRY(clSetKernelArg(k, i++, sizeof(int), &a->lda));
    CL_TRY(clSetKernelArg(k, i++, sizeof(int), &a->a_off));
    CL_TRY(clSetKernelArg(k, i++, sizeof(cl_mem), &a->B));
    CL_TRY(clSetKernelArg(k, i++, sizeof(int), &a->ldb));
    CL_TRY(clSetKernelArg(k, i++, sizeof(int), &a->b_off));
    CL_TRY(clSetKernelArg(k, i++, sizeof(cl_mem), &bias));
    CL_TRY(clSetKernelArg(k, i++, sizeof(int), &a->has_bias));
    CL_TRY(clSetKernelArg(k, i++, sizeof(cl_mem), &a->C));
    CL_TRY(clSetKernelArg(k, i++, sizeof(int), &a->ldc));
    CL_TRY(clSetKernelArg(k, i++, sizeof(int), &a->c_off));
    CL_TRY(clSetKernelArg(k, i++, sizeof(int), &a->act));
    CL_TRY(clSetKernelArg(k, i++, sizeof(float), &a->act_a));
    CL_TRY(clSetKernelArg(k, i++, sizeof(float), &a->act_b));
    CL_TRY(clSetKernelArg(k, i++, sizeof(int), &one)); /* batches, and their strides */
    CL_TRY(clSetKernelArg(k, i++, sizeof(int), &zero));
    CL_TRY(clSetKernelArg(k, i++, sizeof(int), &zero));
    CL_TRY(clSetKernelArg(k, i++, sizeof(int), &zero));
    size_t global[2], local[2];
    gemm_geometry(&g->knobs, a->M, a->N, global, local);
    return clEnqueueNDRangeKernel(e->queue, k, 2, NULL, global, local, 0,
                                  NULL, NULL);
}

static cl_mem buffer_from(const cl_env *e, const float *host, size_t n)
{
    cl_int err;
    cl_mem m = clCreateBuffer(e->ctx, CL_MEM_READ_WRITE, n * sizeof(float),
                              NULL, &err);
    CL_TRY(err);
    if (host)
        CL_TRY(clEnqueueWriteBuffer(e->queue, m, CL_TRUE, 0,
                                    n * sizeof(float), host, 0, NULL, NULL));
    return m;
}

static void read_buffer(const cl_env *e, cl_mem m, float *host, size_t n)
{
    CL_TRY(clEnqueueReadBuffer(e->queue, m, CL_TRUE, 0, n * sizeof(float),
                               host, 0, NULL, NULL));
}

/* ---- error measures --------------------------------------------------- */

/* max |c - r| / max |r| over an M x N result: the error relative to the
 * largest reference value. */
static double rel_err(const float *c, const float *r, size_t n)
{
    double emax = 0.0, rmax = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)c[i] - (double)r[i]);
        if (!(d <= emax)) /* also catches NaN */
            emax = isnan(d) ? INFINITY : d;
        if (fabs((double)r[i]) > rmax)
            rmax = fabs((double)r[i]);
    }
    return rmax > 0.0 ? emax / rmax : emax;
}

/* Tolerance of the benchmark's check against OpenBLAS: both sides round K
 * products and sums in fp32, in different orders. */
static double bench_tol(int K) { return 2.0 * (K + 8) * FLT_EPSILON; }

/* ---- one benchmark size ----------------------------------------------- */

typedef struct {
    int M, N, K;
    double loom_gf, clblast_gf, blas_gf;
    double loom_err, clblast_err;
    double loom_first_s; /* first call, with PoCL's kernel compilation */
    int ok;
} bench_row;

typedef struct {
    int reps;
    int use_clblast;
} bench_opts;

/* Best time of `reps` runs after one warm-up run (PoCL compiles the
 * kernel at its first launch), whose time goes to *first when first is not
 * NULL. */
static double best_of(int reps, double (*fn)(void *), void *ctx,
                      double *first)
{
    double best = INFINITY;
    double t = fn(ctx);
    if (first)
        *first = t;
    for (int r = 0; r < reps; r++) {
        t = fn(ctx);
        if (t < best)
            best = t;
    }
    return best;
}

typedef struct {
    const cl_env *e;
    const loom_gemm *g;
    gemm_args a;        /* loom's arguments; a.C is loom's result */
    cl_mem A, B, C;     /* the device operands; C is loom's result */
    cl_mem C_clblast;   /* CLBlast's result */
    const float *hA, *hB;
    float *hC;          /* OpenBLAS's result */
} run_ctx;

static double run_loom(void *p)
{
    run_ctx *c = p;
    double t0 = now_s();
    CL_TRY(gemm_enqueue(c->e, c->g, &c->a));
    CL_TRY(clFinish(c->e->queue));
    return now_s() - t0;
}

static double run_clblast(void *p)
{
    run_ctx *c = p;
    cl_command_queue q = c->e->queue;
    const gemm_args *a = &c->a;
    double t0 = now_s();
    CLBlastStatusCode s = CLBlastSgemm(
        CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo,
        (size_t)a->M, (size_t)a->N, (size_t)a->K, 1.0f, c->A, 0,
        (size_t)a->lda, c->B, 0, (size_t)a->ldb, 0.0f, c->C_clblast, 0,
        (size_t)a->ldc, &q, NULL);
    if (s != CLBlastSuccess)
        die("CLBlastSgemm failed: status %d", (int)s);
    CL_TRY(clFinish(q));
    return now_s() - t0;
}

static double run_blas(void *p)
{
    run_ctx *c = p;
    const gemm_args *a = &c->a;
    double t0 = now_s();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, a->M, a->N, a->K,
                1.0f, c->hA, a->lda, c->hB, a->ldb, 0.0f, c->hC, a->ldc);
    return now_s() - t0;
}

/* Times one size. After one warm-up call of each (PoCL and CLBlast compile
 * kernels at their first call), the three run in turn, `reps` rounds, so
 * that a burst of load from elsewhere on the machine hits all of them; each
 * keeps its best time. Then loom's and CLBlast's results are checked
 * against OpenBLAS's. */
static bench_row bench_size(const cl_env *e, const loom_gemm *g, int M, int N,
                            int K, const bench_opts *o)
{
    bench_row row = {.M = M, .N = N, .K = K, .ok = 1};
    size_t na = (size_t)M * K, nb = (size_t)K * N, nc = (size_t)M * N;
    float *hA = xmalloc(na * sizeof(float)), *hB = xmalloc(nb * sizeof(float));
    float *ref = xmalloc(nc * sizeof(float));
    float *out = xmalloc(nc * sizeof(float));
    fill(hA, na);
    fill(hB, nb);

    run_ctx c = {.e = e, .g = g, .hA = hA, .hB = hB, .hC = ref};
    c.a = (gemm_args){.M = M, .N = N, .K = K, .lda = K, .ldb = N, .ldc = N,
                      .act = LOOM_ACT_NONE};
    c.A = c.a.A = buffer_from(e, hA, na);
    c.B = c.a.B = buffer_from(e, hB, nb);
    c.C = c.a.C = buffer_from(e, NULL, nc);
    c.C_clblast = buffer_from(e, NULL, nc);

    double t_blas = INFINITY, t_loom = INFINITY, t_clb = INFINITY, t;
    run_blas(&c);
    row.loom_first_s = run_loom(&c);
    if (o->use_clblast)
        run_clblast(&c);
    for (int r = 0; r < o->reps; r++) {
        if ((t = run_blas(&c)) < t_blas)
            t_blas = t;
        if ((t = run_loom(&c)) < t_loom)
            t_loom = t;
        if (o->use_clblast && (t = run_clblast(&c)) < t_clb)
            t_clb = t;
    }
    double gflop = 2e-9 * M * N * (double)K;
    row.blas_gf = gflop / t_blas;
    row.loom_gf = gflop / t_loom;
    row.clblast_gf = o->use_clblast ? gflop / t_clb : NAN;

    read_buffer(e, c.C, out, nc);
    row.loom_err = rel_err(out, ref, nc);
    if (!(row.loom_err <= bench_tol(K))) {
        fprintf(stderr,
                "gemm_bench: FAIL: loom %dx%dx%d max rel err %.3g > tol %.3g\n",
                M, N, K, row.loom_err, bench_tol(K));
        row.ok = 0;
    }
    row.clblast_err = NAN;
    if (o->use_clblast) {
        read_buffer(e, c.C_clblast, out, nc);
        row.clblast_err = rel_err(out, ref, nc);
        if (!(row.clblast_err <= bench_tol(K))) {
            fprintf(stderr,
                    "gemm_bench: FAIL: CLBlast %dx%dx%d max rel err %.3g > "
                    "tol %.3g\n",
                    M, N, K, row.clblast_err, bench_tol(K));
            row.ok = 0;
        }
    }
    clReleaseMemObject(c.A);
    clReleaseMemObject(c.B);
    clReleaseMemObject(c.C);
    clReleaseMemObject(c.C_clblast);
    free(hA);
    free(hB);
    free(ref);
    free(out);
    return row;
}

/* ---- correctness sweep (--check) ------------------------------------ */

static double act_ref(int act, double x)
{
    switch (act) {
    case LOOM_ACT_RELU:
        return x > 0.0 ? x : 0.0;
    case LOOM_ACT_SIGMOID:
        return 1.0 / (1.0 + exp(-x));
    case LOOM_ACT_TANH:
        return tanh(x);
    case LOOM_ACT_GELU:
        return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    case LOOM_ACT_CLIP: /* the sweep's bounds */
        return x < -0.5 ? -0.5 : (x > 0.5 ? 0.5 : x);
    case LOOM_ACT_HARDSWISH:
        return x * fmax(0.0, fmin(1.0, x / 6.0 + 0.5));
    case LOOM_ACT_SILU:
        return x / (1.0 + exp(-x));
    default:
        return x;
    }
}

/* Runs one case; returns the worst normalised error, or INFINITY if a
 * value outside C's M x N window was touched. The error of element (m, n)
 * is |c - ref| / (sum_k |a||b| + |bias| + 1): rounding error is bounded by
 * a multiple of that scale, whatever the cancellation. */
static double check_case(const cl_env *e, const loom_gemm *g, int M, int N,
                         int K, int act, int has_bias, int pad, int off)
{
    const float guard = 12345.0f;
    int lda = K + pad, ldb = N + pad, ldc = N + pad;
    int a_off = off, b_off = 2 * off, c_off = 3 * off;
    size_t na = (size_t)a_off + (size_t)(M - 1) * lda + K + pad;
    size_t nb = (size_t)b_off + (size_t)(K - 1) * ldb + N + pad;
    size_t nc = (size_t)c_off + (size_t)(M - 1) * ldc + N + pad + 16;
    float *hA = xmalloc(na * sizeof(float)), *hB = xmalloc(nb * sizeof(float));
    int nbias = has_bias == 2 ? M : N;
    float *hbias = xmalloc((size_t)nbias * sizeof(float));
    float *hC = xmalloc(nc * sizeof(float));
    fill(hA, na);
    fill(hB, nb);
    fill(hbias, (size_t)nbias);
    for (size_t i = 0; i < nc; i++)
        hC[i] = guard;

    gemm_args a = {.M = M, .N = N, .K = K, .lda = lda, .ldb = ldb, .ldc = ldc,
                   .a_off = a_off, .b_off = b_off, .c_off = c_off,
                   .has_bias = has_bias, .act = act, .act_a = -0.5f,
                   .act_b = 0.5f};
    a.A = buffer_from(e, hA, na);
    a.B = buffer_from(e, hB, nb);
    a.bias = has_bias ? buffer_from(e, hbias, (size_t)nbias) : NULL;
    a.C = buffer_from(e, hC, nc);
    CL_TRY(gemm_enqueue(e, g, &a));
    read_buffer(e, a.C, hC, nc);

    double worst = 0.0;
    for (size_t i = 0; i < nc; i++) {
        size_t rel = i - (size_t)c_off;
        int inside = i >= (size_t)c_off && rel / ldc < (size_t)M &&
                     rel % ldc < (size_t)N;
        if (!inside && hC[i] != guard) {
            fprintf(stderr, "gemm_bench: %dx%dx%d: stray write at C[%zu]\n",
                    M, N, K, i);
            worst = INFINITY;
        }
    }
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double s = 0.0, scale = 1.0;
            for (int k = 0; k < K; k++) {
                double x = (double)hA[a_off + (size_t)m * lda + k] *
                           (double)hB[b_off + (size_t)k * ldb + n];
                s += x;
                scale += fabs(x);
            }
            if (has_bias) {
                s += hbias[has_bias == 2 ? m : n];
                scale += fabs(hbias[has_bias == 2 ? m : n]);
            }
            double r = act_ref(act, s);
            double got = hC[c_off + (size_t)m * ldc + n];
            double err = fabs(got - r) / scale;
            if (!(err <= worst))
                worst = isnan(err) ? INFINITY : err;
        }
    clReleaseMemObject(a.A);
    clReleaseMemObject(a.B);
    if (a.bias)
        clReleaseMemObject(a.bias);
    clReleaseMemObject(a.C);
    free(hA);
    free(hB);
    free(hbias);
    free(hC);
    return worst;
}

/* Runs every case; prints a summary line (JSON with json) on `out`.
 * Returns 0 if all passed, 1 otherwise. */
static int check_sweep(const cl_env *e, const loom_gemm *g, FILE *out,
                       int json)
{
    static const int shapes[][3] = {
        {1, 1, 1},      {7, 13, 5},     {1000, 1000, 1}, {1, 1000, 1000},
        {1000, 1, 1000}, {33, 65, 129}, {1, 1, 4096},    {3, 257, 17},
        {17, 31, 257},  {64, 64, 64},   {127, 129, 255}, {256, 256, 256},
        {9, 16, 3},     {200, 48, 100}, {31, 1, 7},      {1, 33, 2},
        {130, 100, 700}, {5, 2000, 3},
    };
    static const char *act_names[] = {"none", "relu",      "lut", "sigmoid",
                                      "tanh", "gelu",      "clip",
                                      "hardswish", "silu"};
    static const int acts[] = {LOOM_ACT_NONE,      LOOM_ACT_RELU,
                               LOOM_ACT_SIGMOID,   LOOM_ACT_TANH,
                               LOOM_ACT_GELU,      LOOM_ACT_CLIP,
                               LOOM_ACT_HARDSWISH, LOOM_ACT_SILU};
    int fails = 0, cases = 0;
    double worst_all = 0.0;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (size_t ai = 0; ai < sizeof acts / sizeof *acts; ai++)
            for (int variant = 0; variant < 3; variant++) {
                int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
                /* variant 0: tight, no bias; 1: bias per column, padding,
                 * offsets; 2: the same with bias per row */
                int has_bias = variant, pad = variant ? 3 : 0;
                int off = variant ? 5 : 0;
                double tol = (2.0 * K + 32.0) * FLT_EPSILON;
                double err = check_case(e, g, M, N, K, acts[ai], has_bias,
                                        pad, off);
                cases++;
                if (err > worst_all)
                    worst_all = err;
                if (!(err <= tol)) {
                    fails++;
                    fprintf(stderr,
                            "gemm_bench: check FAIL %dx%dx%d act=%s bias=%d "
                            "pad=%d off=%d: err %.3g > tol %.3g\n",
                            M, N, K, act_names[acts[ai]], has_bias, pad, off,
                            err, tol);
                }
            }
    if (json)
        fprintf(out, "{\"check_cases\": %d, \"check_failed\": %d, "
                     "\"worst_normalised_error\": %.3g}\n",
                cases, fails, worst_all);
    else
        fprintf(out, "check: %d cases, %d failed, worst normalised error "
                     "%.3g\n", cases, fails, worst_all);
    return fails ? 1 : 0;
}

/* ---- tuning (--tune) ------------------------------------------------ */

/* A search grid: fixed knobs, then axes whose cartesian product is tried. */
typedef struct {
    const char *name;
    int n;
    int v[6];
} axis;

typedef struct {
    const char *fixed;
    int nax;
    axis ax[8];
} grid;

/* CPUs: B slices in local memory (mode 1, staging forced on) over tile
 * shape, group height and slice depth; and mode 0 (B in place) over tile
 * shape. 63 configs. */
static const grid cpu_grids[] = {
    {"GEMM_LOCAL=1 GEMM_WGN=1 GEMM_VW=16 GEMM_STRN=0 GEMM_PREFETCH=1 "
     "GEMM_STAGE_MIN=0",
     4,
     {{"GEMM_MWI", 4, {4, 6, 8, 12}},
      {"GEMM_NWI", 3, {32, 48, 64}},
      {"GEMM_WGM", 3, {8, 16, 32}},
      {"GEMM_KWG", 2, {128, 256}}}},
    {"GEMM_LOCAL=0 GEMM_WGM=1 GEMM_WGN=1 GEMM_VW=16 GEMM_STRN=0", 2,
     {{"GEMM_MWI", 4, {4, 6, 8, 12}}, {"GEMM_NWI", 3, {32, 48, 64}}}},
};

/* GPUs: A and B slices in local memory (mode 2). 64 configs. */
static const grid gpu_grids[] = {
    {"GEMM_LOCAL=2 GEMM_STRN=1 GEMM_PAD=1 GEMM_PREFETCH=0", 6,
     {{"GEMM_WGM", 2, {8, 16}},
      {"GEMM_WGN", 2, {8, 16}},
      {"GEMM_MWI", 2, {4, 8}},
      {"GEMM_NWI", 2, {4, 8}},
      {"GEMM_VW", 2, {2, 4}},
      {"GEMM_KWG", 2, {16, 32}}}},
};

/* Whether a knob set can run on the device (and, on CPUs, keeps its tile
 * in the 32 AVX-512 registers: at most 24 accumulators of 16 floats). */
static int config_fits(const cl_env *e, const knob_set *k)
{
    int mwi = knobs_get(k, "GEMM_MWI"), nwi = knobs_get(k, "GEMM_NWI");
    int vw = knobs_get(k, "GEMM_VW"), wgm = knobs_get(k, "GEMM_WGM");
    int wgn = knobs_get(k, "GEMM_WGN"), mode = knobs_get(k, "GEMM_LOCAL");
    int kwg = knobs_get(k, "GEMM_KWG"), pad = knobs_get(k, "GEMM_PAD");
    if (nwi % vw)
        return 0;
    if ((e->type & CL_DEVICE_TYPE_CPU) && mwi * nwi > 24 * 16)
        return 0;
    if ((size_t)wgm * wgn > e->max_wg)
        return 0;
    size_t lmem = 0;
    if (mode >= 1)
        lmem += 4u * (size_t)kwg * nwi * wgn;
    if (mode == 2)
        lmem += 4u * (size_t)kwg * ((size_t)mwi * wgm + pad);
    return lmem <= e->local_mem;
}

/* GFLOP/s of one knob set at S x S x S, or -1 if it does not build or
 * launch, -2 if its result is wrong. */
static double time_config(const cl_env *e, const knob_set *k, int S,
                          int reps, run_ctx *c, const float *ref, float *out)
{
    loom_gemm g;
    if (gemm_build(e, k, &g, 0) != 0)
        return -1.0;
    c->g = &g;
    double gf = -1.0;
    if (gemm_enqueue(e, &g, &c->a) == CL_SUCCESS &&
        clFinish(e->queue) == CL_SUCCESS) {
        double t = best_of(reps, run_loom, c, NULL);
        read_buffer(e, c->C, out, (size_t)S * S);
        double err = rel_err(out, ref, (size_t)S * S);
        gf = err <= bench_tol(S) ? 2.0 * S * S * (double)S / t * 1e-9 : -2.0;
    }
    gemm_release(&g);
    return gf;
}

typedef struct {
    knob_set k;
    double gf;
} tuned;

static int tuned_cmp(const void *a, const void *b)
{
    double x = ((const tuned *)a)->gf, y = ((const tuned *)b)->gf;
    return (x < y) - (x > y); /* descending */
}

/* Searches the grid of the device's type at S x S x S: every config best of
 * `reps`, then the five best again with three times the repetitions (the
 * machine may be shared: one lucky run should not win). Prints the table
 * entry's speed beside the winner's, then checks the winner with the
 * correctness sweep. Returns the sweep's status. */
static int tune(const cl_env *e, const knob_set *base, int S, int reps,
                int json)
{
    const grid *grids = (e->type & CL_DEVICE_TYPE_GPU) ? gpu_grids : cpu_grids;
    size_t ngrids = (e->type & CL_DEVICE_TYPE_GPU)
                        ? sizeof gpu_grids / sizeof *gpu_grids
                        : sizeof cpu_grids / sizeof *cpu_grids;
    size_t n = (size_t)S * S;
    float *hA = xmalloc(n * sizeof(float)), *hB = xmalloc(n * sizeof(float));
    float *ref = xmalloc(n * sizeof(float)), *out = xmalloc(n * sizeof(float));
    fill(hA, n);
    fill(hB, n);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, S, S, S, 1.0f, hA,
                S, hB, S, 0.0f, ref, S);
    run_ctx c = {.e = e};
    c.a = (gemm_args){.M = S, .N = S, .K = S, .lda = S, .ldb = S, .ldc = S};
    c.A = c.a.A = buffer_from(e, hA, n);
    c.B = c.a.B = buffer_from(e, hB, n);
    c.C = c.a.C = buffer_from(e, NULL, n);

    size_t cap = 256, count = 0;
    tuned *all = xmalloc(cap * sizeof *all);
    double t0 = now_s();
    char desc[512];
    for (size_t gi = 0; gi < ngrids; gi++) {
        const grid *gr = &grids[gi];
        int idx[8] = {0};
        for (;;) {
            knob_set k = *base;
            knobs_parse(&k, gr->fixed);
            for (int a = 0; a < gr->nax; a++)
                knobs_set(&k, gr->ax[a].name, gr->ax[a].v[idx[a]]);
            if (config_fits(e, &k)) {
                double gf = time_config(e, &k, S, reps, &c, ref, out);
                knobs_format(&k, desc, sizeof desc, " ", "");
                if (gf == -1.0)
                    fprintf(stderr, "tune: %s: does not build or launch\n",
                            desc);
                else if (gf == -2.0)
                    fprintf(stderr, "tune: %s: WRONG RESULT\n", desc);
                else
                    fprintf(stderr, "tune: %s: %.1f GFLOP/s\n", desc, gf);
                if (gf > 0.0) {
                    if (count == cap)
                        die("tune: grid too large");
                    all[count].k = k;
                    all[count].gf = gf;
                    count++;
                }
            }
            int a = 0; /* next point of the grid, odometer style */
            while (a < gr->nax && ++idx[a] == gr->ax[a].n)
                idx[a++] = 0;
            if (a == gr->nax)
                break;
        }
    }
    if (count == 0)
        die("tune: no configuration worked");
    qsort(all, count, sizeof *all, tuned_cmp);
    size_t top = count < 5 ? count : 5;
    for (size_t i = 0; i < top; i++) {
        all[i].gf = time_config(e, &all[i].k, S, 3 * reps, &c, ref, out);
        knobs_format(&all[i].k, desc, sizeof desc, " ", "");
        fprintf(stderr, "tune: again: %s: %.1f GFLOP/s\n", desc, all[i].gf);
    }
    qsort(all, top, sizeof *all, tuned_cmp);
    double base_gf = time_config(e, base, S, 3 * reps, &c, ref, out);
    double secs = now_s() - t0;
    const knob_set *best = &all[0].k;
    if (json) {
        printf("{\"tune_size\": %d, \"configs\": %zu, \"seconds\": %.1f, "
               "\"table_gflops\": %.2f, \"best_gflops\": %.2f, \"best\": {",
               S, count, secs, base_gf, all[0].gf);
        for (int i = 0; i < best->n; i++)
            printf("%s\"%s\": %d", i ? ", " : "", best->k[i].name,
                   best->k[i].value);
        printf("}}\n");
    } else {
        knobs_format(best, desc, sizeof desc, " ", "-D ");
        printf("tune: %zu configs in %.0f s at %dx%dx%d\n"
               "tune: current knobs (table + -D): %.1f GFLOP/s\n"
               "tune: best: %.1f GFLOP/s with\n  %s\n",
               count, secs, S, S, S, base_gf, all[0].gf, desc);
    }
    clReleaseMemObject(c.A);
    clReleaseMemObject(c.B);
    clReleaseMemObject(c.C);
    free(hA);
    free(hB);
    free(ref);
    free(out);

    loom_gemm g;
    if (gemm_build(e, best, &g, 1) != 0)
        die("tune: the best configuration no longer builds");
    int rc = check_sweep(e, &g, json ? stderr : stdout, 0);
    gemm_release(&g);
    free(all);
    return rc;
}

/* ---- main ----------------------------------------------------------- */

static void usage(void)
{
    fputs("usage: gemm_bench [--device N] [--kernels DIR] [--abi FILE]\n"
          "                  [--sizes LIST] [--reps N] [--json]\n"
          "                  [--no-clblast] [-D KNOB=VALUE ...]\n"
          "                  [--build-opts OPTS] [--check]\n"
          "                  [--tune [--tune-size S]]\n"
          "  LIST: comma-separated S (M=N=K=S) or MxNxK;\n"
          "        default 256,512,1024,1536,2048\n"
          "  --kernels: folder of gemm_f32.cl and loom-cl.h (kernels-cl)\n"
          "  --abi: loom/kernel-abi.h (DIR/../host/include/loom/...)\n"
          "  -D: override one kernel knob (after the tuning table)\n"
          "  --check: correctness sweep of loom's kernel only\n"
          "  --tune: knob search at --tune-size (1024)\n",
          stderr);
    exit(2);
}

static int parse_int(const char *s, const char *what)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < 0 || v > 1000000000)
        die("bad %s '%s'", what, s);
    return (int)v;
}

int main(int argc, char **argv)
{
    int device = 0, reps = 5, json = 0, use_clblast = 1, do_check = 0;
    int do_tune = 0, tune_size = 1024;
    const char *kdir = "kernels-cl", *abi = NULL;
    const char *sizes = "256,512,1024,1536,2048";
    const char *extra_opts = "";
    const char *defs[MAX_KNOBS];
    int ndefs = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_v = i + 1 < argc;
        if (!strcmp(a, "--device") && has_v)
            device = parse_int(argv[++i], "device");
        else if (!strcmp(a, "--kernels") && has_v)
            kdir = argv[++i];
        else if (!strcmp(a, "--abi") && has_v)
            abi = argv[++i];
        else if (!strcmp(a, "--sizes") && has_v)
            sizes = argv[++i];
        else if (!strcmp(a, "--reps") && has_v)
            reps = parse_int(argv[++i], "reps");
        else if (!strcmp(a, "--json"))
            json = 1;
        else if (!strcmp(a, "--no-clblast"))
            use_clblast = 0;
        else if (!strcmp(a, "--check"))
            do_check = 1;
        else if (!strcmp(a, "--tune"))
            do_tune = 1;
        else if (!strcmp(a, "--tune-size") && has_v)
            tune_size = parse_int(argv[++i], "tune size");
        else if (!strcmp(a, "--build-opts") && has_v)
            extra_opts = argv[++i];
        else if (!strcmp(a, "-D") && has_v && ndefs < MAX_KNOBS)
            defs[ndefs++] = argv[++i];
        else if (!strncmp(a, "-D", 2) && a[2] && ndefs < MAX_KNOBS)
            defs[ndefs++] = a + 2;
        else
            usage();
    }
    if (reps < 1)
        reps = 1;
    if (tune_size < 1)
        die("bad tune size");

    /* Same thread count for PoCL and OpenBLAS; PoCL reads the variable
     * when the platform is first opened, so set it before any CL call. */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    char nbuf[32];
    snprintf(nbuf, sizeof nbuf, "%ld", ncpu > 0 ? ncpu : 1);
    setenv("POCL_MAX_PTHREAD_COUNT", nbuf, 0);
    int threads = atoi(getenv("POCL_MAX_PTHREAD_COUNT"));
    if (threads < 1)
        threads = 1;
    openblas_set_num_threads(threads);
    const char *cache = getenv("POCL_CACHE_DIR");

    cl_env e = {0};
    cl_open(&e, device);
    e.source = load_source(kdir, abi);
    e.extra_opts = extra_opts;

    FILE *hdr = json ? stderr : stdout; /* keep stdout pure JSON */
    fprintf(hdr,
            "# device %d: %s | POCL_MAX_PTHREAD_COUNT=%d | OpenBLAS "
            "threads=%d | POCL_CACHE_DIR %s%s%s%s\n",
            device, e.name, threads, openblas_get_num_threads(),
            cache ? "set: " : "unset", cache ? cache : "",
            *extra_opts ? " | build opts: " : "", extra_opts);

    gemm_cache programs = {0};
    knob_set knobs;
    knobs_resolve(&knobs, kdir, e.type, e.name, e.platform_name, defs, ndefs);
    char kdesc[512];
    knobs_format(&knobs, kdesc, sizeof kdesc, " ", "");
    fprintf(hdr, "# knobs: %s\n", kdesc);

    if (do_tune)
        return tune(&e, &knobs, tune_size, reps < 3 ? reps : 3, json);

    if (do_check) {
        /* The knobs as they are; in mode 1, also with B staging forced on
         * (GEMM_STAGE_MIN=0, and 16-deep slices so that K >= GEMM_KWG),
         * since the sweep's shapes are small. */
        int rc = check_sweep(&e, gemm_get(&e, &programs, &knobs, hdr),
                             stdout, json);
        if (knobs_get(&knobs, "GEMM_LOCAL") == 1) {
            knob_set forced = knobs;
            knobs_set(&forced, "GEMM_STAGE_MIN", 0);
            knobs_set(&forced, "GEMM_KWG", 16);
            fprintf(hdr, "# again with GEMM_STAGE_MIN=0 GEMM_KWG=16\n");
            rc |= check_sweep(&e, gemm_get(&e, &programs, &forced, hdr),
                              stdout, json);
        }
        gemm_cache_release(&programs);
        return rc;
    }

    const loom_gemm *g = gemm_get(&e, &programs, &knobs, hdr);
    bench_opts o = {.reps = reps, .use_clblast = use_clblast};
    if (json)
        printf("{\"device\": \"%s\", \"threads_pocl\": %d, "
               "\"threads_openblas\": %d, \"pocl_cache_dir_set\": %s, "
               "\"build_opts\": \"%s\", \"reps\": %d, \"results\": [",
               e.name, threads, openblas_get_num_threads(),
               cache ? "true" : "false", extra_opts, reps);

    int ok = 1, first = 1;
    char *list = xmalloc(strlen(sizes) + 1);
    strcpy(list, sizes);
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        int M, N, K;
        char tail;
        if (sscanf(tok, "%dx%dx%d%c", &M, &N, &K, &tail) != 3)
            M = N = K = parse_int(tok, "size");
        if (M < 1 || N < 1 || K < 1)
            die("bad size '%s'", tok);
        if (first && !json)
            printf("%16s %5s %10s %10s %10s %12s %13s %9s %9s\n", "size",
                   "mode", "loom GF/s", "CLBlast", "OpenBLAS",
                   "loom/CLBlast", "loom/OpenBLAS", "loom err", "CLB err");
        bench_row r = bench_size(&e, g, M, N, K, &o);
        ok &= r.ok;
        const char *path = gemm_path(&knobs, M, N, K);
        if (json) {
            char clb[3][32] = {"null", "null", "null"}, kd[512];
            if (use_clblast) {
                snprintf(clb[0], sizeof clb[0], "%.2f", r.clblast_gf);
                snprintf(clb[1], sizeof clb[1], "%.3f",
                         r.loom_gf / r.clblast_gf);
                snprintf(clb[2], sizeof clb[2], "%.3g", r.clblast_err);
            }
            knobs_format(&knobs, kd, sizeof kd, " ", "");
            printf("%s\n  {\"M\": %d, \"N\": %d, \"K\": %d, \"knobs\": "
                   "\"%s\", \"path\": \"%s\", \"loom_gflops\": %.2f, \"clblast_gflops\": %s, "
                   "\"openblas_gflops\": %.2f, \"loom_over_clblast\": %s, "
                   "\"loom_over_openblas\": %.3f, \"loom_max_rel_err\": "
                   "%.3g, \"clblast_max_rel_err\": %s, "
                   "\"loom_first_call_s\": %.3f, \"ok\": %s}",
                   first ? "" : ",", M, N, K, kd, path, r.loom_gf, clb[0],
                   r.blas_gf, clb[1], r.loom_gf / r.blas_gf, r.loom_err,
                   clb[2], r.loom_first_s, r.ok ? "true" : "false");
        } else {
            char sz[48];
            snprintf(sz, sizeof sz, "%dx%dx%d", M, N, K);
            if (use_clblast)
                printf("%16s %5s %10.1f %10.1f %10.1f %12.2f %13.2f %9.2g "
                       "%9.2g\n",
                       sz, path, r.loom_gf, r.clblast_gf, r.blas_gf,
                       r.loom_gf / r.clblast_gf, r.loom_gf / r.blas_gf,
                       r.loom_err, r.clblast_err);
            else
                printf("%16s %5s %10.1f %10s %10.1f %12s %13.2f %9.2g %9s\n",
                       sz, path, r.loom_gf, "-", r.blas_gf, "-",
                       r.loom_gf / r.blas_gf, r.loom_err, "-");
        }
        if (!json && r.loom_first_s > 0.25)
            printf("# first loom call at %dx%dx%d took %.2f s (PoCL "
                   "compiles the kernel at its first launch)\n",
                   M, N, K, r.loom_first_s);
        fflush(stdout);
        first = 0;
    }
    if (json)
        printf("\n]}\n");
    free(list);
    gemm_cache_release(&programs);
    if (!ok) {
        fprintf(stderr, "gemm_bench: FAILED: a result exceeded tolerance\n");
        return 1;
    }
    return 0;
}
