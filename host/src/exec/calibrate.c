/* calibrate.c - measured rates for the cost model (calibrate.h). */
#include "exec/calibrate.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/core-impl.h"
#include "ir/model.h"

#define CAL_RUNS 5
#define CAL_CHAIN 32                /* Relus in the launch chain */
#define CAL_STREAM ((int64_t)1 << 20) /* floats per Add operand */
#define CAL_ADDS 4
#define CAL_FORMAT 1                /* cache file layout; bump to invalidate */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const loom__device *tried[LOOM__MAX_DEVICES];
static int n_tried;
static loom__cache_warned cache_warned;

/* ---- synthetic models ---- */

static int add_value(loom__graph *g, const char *name, loom_dtype dt, int64_t rows, int64_t cols)
{
    int v = loom__graph_add_value(g, name);
    if (v >= 0) {
        g->values[v].dtype = dt;
        g->values[v].rank = 2;
        g->values[v].dims[0] = rows;
        g->values[v].dims[1] = cols;
    }
    return v;
}

static int add_input(loom__graph *g, const char *name, loom_dtype dt, int64_t rows, int64_t cols)
{
    int v = add_value(g, name, dt, rows, cols);
    if (v >= 0) {
        g->values[v].is_input = true;
        g->inputs[g->n_inputs++] = v;
    }
    return v;
}

/* A constant of the given shape, deterministic small values. */
static int add_const(loom__graph *g, const char *name, loom_dtype dt, int rank, int64_t d0, int64_t d1, int fill)
{
    int64_t dims[2] = {d0, d1};
    loom_tensor *t;
    int v;
    if (loom__tensor_new(dt, rank, dims, &t) != LOOM_OK)
        return -1;
    for (int64_t i = 0; i < t->numel; i++) {
        int k = (int)((i * 7 + 3) % 13) - 6;
        switch (dt) {
        case LOOM_F32: ((float *)t->data)[i] = 0.01f * (float)k; break;
        case LOOM_I8: ((int8_t *)t->data)[i] = (int8_t)k; break;
        default: ((int32_t *)t->data)[i] = fill; break;
        }
    }
    if ((v = loom__graph_add_value(g, name)) < 0) {
        loom_tensor_free(t);
        return -1;
    }
    loom__value_set_constant(&g->values[v], t);
    return v;
}

static bool add_node(loom__graph *g, loom__op op, const int *ins, int n_ins, int out)
{
    char name[32];
    loom__node *n = loom__graph_add_node(g, n_ins, 1);
    if (!n)
        return false;
    snprintf(name, sizeof name, "n%d", g->n_nodes - 1);
    n->op = op;
    n->name = loom__strdup(name);
    n->op_type = loom__strdup(loom__op_name(op));
    memcpy(n->inputs, ins, (size_t)n_ins * sizeof *ins);
    n->outputs[0] = out;
    return n->name && n->op_type;
}

typedef enum { M_LAUNCH, M_STREAM, M_GEMM_F32, M_GEMM_I8 } micro;

static loom_status make_model(micro which, int64_t S, loom_model **out)
{
    loom__graph *g = loom__graph_new("<calibration>");
    bool ok;
    *out = NULL;
    if (!g || !(g->inputs = loom__calloc(2, sizeof(int))) || !(g->outputs = loom__calloc(1, sizeof(int)))) {
        loom__graph_free(g);
        return loom__err(LOOM_E_NOMEM, "out of memory");
    }
    g->opset = 17;
    switch (which) {
    case M_LAUNCH: {
        int v = add_input(g, "x", LOOM_F32, 1, 16);
        ok = v >= 0;
        for (int i = 0; ok && i < CAL_CHAIN; i++) {
            char name[16];
            int y;
            snprintf(name, sizeof name, "r%d", i);
            ok = (y = loom__graph_add_value(g, name)) >= 0 && add_node(g, LOOM__OP_Relu, &v, 1, y);
            v = y;
        }
        g->outputs[0] = v;
        break;
    }
    case M_STREAM: {
        int x = add_input(g, "x", LOOM_F32, 1, CAL_STREAM), b = add_input(g, "y", LOOM_F32, 1, CAL_STREAM);
        int v = x;
        ok = x >= 0 && b >= 0;
        for (int i = 0; ok && i < CAL_ADDS; i++) {
            char name[16];
            int ins[2] = {v, b}, y;
            snprintf(name, sizeof name, "a%d", i);
            ok = (y = loom__graph_add_value(g, name)) >= 0 && add_node(g, LOOM__OP_Add, ins, 2, y);
            v = y;
        }
        g->outputs[0] = v;
        break;
    }
    case M_GEMM_F32: {
        int ins[2] = {add_input(g, "x", LOOM_F32, S, S), add_const(g, "w", LOOM_F32, 2, S, S, 0)};
        int y = loom__graph_add_value(g, "y");
        ok = ins[0] >= 0 && ins[1] >= 0 && y >= 0 && add_node(g, LOOM__OP_MatMul, ins, 2, y);
        g->outputs[0] = y;
        break;
    }
    default: {
        /* the kernel ABI's int8 GEMM as lower-qdq.c makes it: x, W [K, N],
         * bias, multiplier (in [2^30, 2^31)) and shift per column */
        int ins[5] = {add_input(g, "x", LOOM_I8, S, S), add_const(g, "w", LOOM_I8, 2, S, S, 0),
                      add_const(g, "b", LOOM_I32, 1, S, 0, 0), add_const(g, "m", LOOM_I32, 1, S, 0, 1 << 30),
                      add_const(g, "s", LOOM_I32, 1, S, 0, 8)};
        int y = add_value(g, "y", LOOM_I8, S, S);
        ok = y >= 0 && add_node(g, LOOM__OP_LoomQGemm, ins, 5, y);
        for (int i = 0; i < 5; i++)
            ok = ok && ins[i] >= 0;
        g->outputs[0] = y;
        break;
    }
    }
    g->n_outputs = 1;
    if (!ok) {
        loom__graph_free(g);
        return loom__err(LOOM_E_NOMEM, "out of memory");
    }
    if (loom__graph_toposort(g) != LOOM_OK) {
        loom__graph_free(g);
        return loom__err(LOOM_E_INTERNAL, "calibration model: %s", loom_last_error());
    }
    return loom__model_from_graph(g, out);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

typedef struct {
    double run_us;  /* a run, wall time */
    double node_us; /* node 0 (with profile) */
    double copy_us; /* copies (with profile) */
} timing;

/* Medians over CAL_RUNS runs after a warm-up, on dev alone. */
static loom_status time_model(loom__device *dev, micro which, int64_t S, bool profile, timing *t)
{
    loom_model *m = NULL;
    loom_session *s = NULL;
    loom_session_options o = {.devices = dev->name, .strict = true, .profile = profile};
    double run[CAL_RUNS], node[CAL_RUNS], copy[CAL_RUNS];
    loom_status st;
    if ((st = make_model(which, S, &m)) != LOOM_OK || (st = loom_session_create(m, &o, &s)) != LOOM_OK)
        goto done;
    for (size_t i = 0; i < loom_session_input_count(s) && st == LOOM_OK; i++) {
        loom_value_info vi;
        size_t nb;
        void *data;
        if ((st = loom_session_input(s, i, &vi)) != LOOM_OK)
            break;
        nb = (size_t)vi.dims[0] * (size_t)vi.dims[1] * loom_dtype_size(vi.dtype);
        if (!(data = calloc(1, nb))) {
            st = loom__err(LOOM_E_NOMEM, "out of memory");
            break;
        }
        /* small values, no denormal products: 0.5 in floats, 1 in ints */
        for (size_t k = 0; k < nb / loom_dtype_size(vi.dtype); k++) {
            if (vi.dtype == LOOM_F32)
                ((float *)data)[k] = 0.5f;
            else
                ((int8_t *)data)[k] = 1;
        }
        st = loom_session_set_input_data(s, i, data, nb);
        free(data);
    }
    for (int r = -1; r < CAL_RUNS && st == LOOM_OK; r++) {
        double t0;
        loom_session_profile_reset(s);
        t0 = loom_now_us();
        if ((st = loom_session_run(s)) != LOOM_OK || r < 0)
            continue;
        run[r] = loom_now_us() - t0;
        node[r] = profile ? loom_session_node_time(s, 0) : 0;
        copy[r] = profile ? loom_session_copy_time(s) : 0;
    }
    if (st != LOOM_OK)
        loom__log(LOOM_LOG_DEBUG, "calibration: %s: micro-benchmark %d: %s", dev->name, (int)which,
                  loom_last_error());
    if (st == LOOM_OK) {
        t->run_us = median(run, CAL_RUNS);
        t->node_us = median(node, CAL_RUNS);
        t->copy_us = median(copy, CAL_RUNS);
        loom__log(LOOM_LOG_DEBUG, "calibration: %s: micro-benchmark %d (S %lld): run %.1f us, node %.1f us, "
                  "copies %.1f us", dev->name, (int)which, (long long)S, t->run_us, t->node_us, t->copy_us);
    }
done:
    loom_session_free(s);
    loom_model_free(m);
    return st;
}

/* A rate from work done in us microseconds above the fixed cost; the
 * modelled one when the time is not above it (a timer glitch is not a
 * rate). */
static double rate_of(double work, double us, double fixed, double modelled)
{
    return us - fixed > 1.0 ? work / (us - fixed) / 1e3 : modelled;
}

static loom_status measure(loom__device *dev, loom__rates *r)
{
    const loom__rates m = dev->caps.rates; /* modelled */
    bool own_memory = dev->kind != LOOM__DEV_HOST && !dev->caps.host_memory;
    int64_t S = dev->kind == LOOM__DEV_HOST ? 128 : 512;
    timing chain, chain_p, stream, f32, i8;
    loom_status st;
    if ((st = time_model(dev, M_LAUNCH, 0, false, &chain)) != LOOM_OK ||
        (st = time_model(dev, M_LAUNCH, 0, true, &chain_p)) != LOOM_OK ||
        (st = time_model(dev, M_STREAM, 0, true, &stream)) != LOOM_OK ||
        (st = time_model(dev, M_GEMM_F32, S, true, &f32)) != LOOM_OK)
        return st;
    *r = m;
    /* a node's fixed cost as runs see it: queued one after another */
    r->launch_us = chain.run_us / CAL_CHAIN;
    r->mem_gbps = rate_of(3.0 * 4.0 * (double)CAL_STREAM, stream.node_us, r->launch_us, m.mem_gbps);
    r->gflops = rate_of(2.0 * (double)S * (double)S * (double)S, f32.node_us, r->launch_us, m.gflops);
    if (own_memory) {
        /* the chain's two copies are 64 bytes each; the stream's three 4 MiB */
        r->xfer_us = chain_p.copy_us / 2;
        r->xfer_gbps = rate_of(3.0 * 4.0 * (double)CAL_STREAM, stream.copy_us, 3 * r->xfer_us, m.xfer_gbps);
    }
    /* int8: where the device runs loom's int8 GEMM node */
    if (time_model(dev, M_GEMM_I8, S, true, &i8) == LOOM_OK)
        r->gops_i8 = rate_of(2.0 * (double)S * (double)S * (double)S, i8.node_us, r->launch_us, m.gops_i8);
    return LOOM_OK; /* else the modelled int8 rate stays */
}

/* ---- the cache ---- */

static void cache_key(const loom__device *dev, char *key, size_t size)
{
    const char *pocl = getenv("POCL_MAX_PTHREAD_COUNT");
    snprintf(key, size, "loom-rates %d|%s|%s|%s|%s|%s|loom %s|cpus %ld|pocl threads %s", CAL_FORMAT,
             dev->backend->name, dev->name, dev->model, dev->platform, dev->caps.fingerprint, loom_version(),
             sysconf(_SC_NPROCESSORS_ONLN), pocl && *pocl ? pocl : "-");
}

static bool cache_path(const char *key, char *path, size_t size)
{
    char dir[LOOM__CACHE_DIR_MAX];
    if (!loom__cache_dir(dir, sizeof dir, "calibration", "rates are measured in every process", &cache_warned))
        return false;
    return (size_t)snprintf(path, size, "%s/rates-%016llx.json", dir,
                            (unsigned long long)loom__fnv1a(key, strlen(key), LOOM__FNV_SEED)) < size;
}

static const char *const fields[] = {"gflops", "gops_i8", "mem_gbps", "launch_us", "xfer_gbps", "xfer_us"};

static double *field(loom__rates *r, int i)
{
    double *f[] = {&r->gflops, &r->gops_i8, &r->mem_gbps, &r->launch_us, &r->xfer_gbps, &r->xfer_us};
    return f[i];
}

/* The cached rates for key, false when there are none (or the file is not
 * a whole, matching one: then it is measured again and replaced). */
static bool cache_load(const char *path, const char *key, loom__rates *r)
{
    struct stat sb;
    int fd = loom__cache_open(path, "calibration", &cache_warned, &sb);
    json_t *root;
    json_error_t err;
    bool ok;
    if (fd < 0)
        return false;
    root = sb.st_size < 65536 ? json_loadfd(fd, 0, &err) : NULL;
    close(fd);
    ok = root && json_is_string(json_object_get(root, "key")) &&
         !strcmp(json_string_value(json_object_get(root, "key")), key);
    for (int i = 0; ok && i < (int)(sizeof fields / sizeof fields[0]); i++) {
        json_t *v = json_object_get(root, fields[i]);
        double x = json_is_number(v) ? json_number_value(v) : -1;
        ok = isfinite(x) && x >= 0 && x < 1e12;
        *field(r, i) = x;
    }
    if (!ok)
        loom__log(LOOM_LOG_DEBUG, "calibration: %s is not a rates file for this device: measuring again", path);
    json_decref(root);
    return ok;
}

static void cache_save(const char *path, const char *key, const loom__device *dev, loom__rates *r)
{
    json_t *root = json_object();
    char when[32], *text;
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    json_object_set_new(root, "key", json_string(key));
    json_object_set_new(root, "device", json_string(dev->name));
    json_object_set_new(root, "measured", json_string(when));
    for (int i = 0; i < (int)(sizeof fields / sizeof fields[0]); i++)
        json_object_set_new(root, fields[i], json_real(*field(r, i)));
    text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (text && loom__write_file(path, NULL, 0, text, strlen(text)) != LOOM_OK)
        loom__log(LOOM_LOG_DEBUG, "calibration: rates not cached: %s", loom_last_error());
    free(text);
}

/* ---- entry points ---- */

static bool was_tried(const loom__device *dev)
{
    for (int i = 0; i < n_tried; i++)
        if (tried[i] == dev)
            return true;
    return false;
}

/* measure_now: whether a device without cached rates is measured now;
 * when not, it keeps its modelled rates and may be measured later, and
 * while a calibration runs (the micro-benchmark's own sessions, which
 * name their device, come here from inside it) nothing is read at all */
static void calibrate(loom__device *dev, bool force, bool measure_now)
{
    char key[1024], path[LOOM__CACHE_DIR_MAX + 64];
    const char *env = getenv("LOOM_CALIBRATE");
    bool cached, have_path;
    loom__rates r;
    double t0;
    force = (force || (env && !strcmp(env, "force"))) && measure_now;
    if (measure_now)
        pthread_mutex_lock(&lock);
    else if (pthread_mutex_trylock(&lock) != 0)
        return;
    if (!loom__device_healthy(dev) || (was_tried(dev) && !force)) {
        pthread_mutex_unlock(&lock);
        return;
    }
    cache_key(dev, key, sizeof key);
    have_path = cache_path(key, path, sizeof path);
    r = dev->caps.rates;
    cached = have_path && !force && cache_load(path, key, &r);
    if (!cached && !measure_now) {
        pthread_mutex_unlock(&lock);
        return;
    }
    if (!was_tried(dev) && n_tried < LOOM__MAX_DEVICES)
        tried[n_tried++] = dev;
    t0 = loom_now_us();
    if (cached || measure(dev, &r) == LOOM_OK) {
        dev->caps.rates = r;
        dev->caps.source = LOOM__RATES_MEASURED;
        if (!cached) {
            loom__log(LOOM_LOG_DEBUG,
                      "calibration: %s measured in %.1f s: %.1f GFLOP/s fp32, %.1f GOP/s int8, %.1f GB/s, "
                      "%.1f us a node",
                      dev->name, (loom_now_us() - t0) / 1e6, r.gflops, r.gops_i8, r.mem_gbps, r.launch_us);
            if (have_path)
                cache_save(path, key, dev, &r);
        }
    } else {
        loom__log(LOOM_LOG_WARN, "calibration: %s: %s: using modelled rates", dev->name, loom_last_error());
    }
    pthread_mutex_unlock(&lock);
}

void loom__calibrate(loom__device *dev, bool force)
{
    calibrate(dev, force, true);
}

void loom__calibrate_list(loom__device *const *devs, int n_devs, bool measure_now)
{
    const char *env = getenv("LOOM_CALIBRATE");
    if (env && !strcmp(env, "0"))
        return;
    for (int i = 0; i < n_devs; i++)
        if (!devs[i]->explicit_only || !measure_now)
            calibrate(devs[i], false, measure_now);
}

loom_status loom_device_rates_get(size_t i, bool measure, loom_device_rates *out)
{
    loom__device *d = loom__device_at((int)i);
    const loom__rates *r;
    if (!d || !out)
        return loom__err(LOOM_E_INVALID_ARG, "loom_device_rates_get: index %zu out of range", i);
    if (measure)
        loom__calibrate(d, false);
    r = &d->caps.rates;
    *out = (loom_device_rates){.gflops = r->gflops, .gops_int8 = r->gops_i8, .mem_gbps = r->mem_gbps,
                               .launch_us = r->launch_us, .copy_gbps = r->xfer_gbps, .copy_us = r->xfer_us,
                               .host_memory = d->caps.host_memory || d->kind == LOOM__DEV_HOST,
                               .measured = d->caps.source == LOOM__RATES_MEASURED};
    return LOOM_OK;
}
