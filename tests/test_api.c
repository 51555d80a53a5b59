/*
 * test_api.c - the public API around the graph: status names, version,
 * dtypes, tensors, the per-thread error message, the log callback, and
 * sessions (shape binding, the fast input path, lifetimes, graphs whose
 * outputs are inputs or constants).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loom/loom.h"
#include "onnx-builder.h"
#include "tmpdir.h"

#define SRC LOOM_SOURCE_DIR
#define CLASSIFIER SRC "/examples/classifier/classifier.onnx"
#define CLASSIFIER_X SRC "/examples/classifier/test_x.npy"
#define CLASSIFIER_P SRC "/examples/classifier/torch_probs.npy"
#define MISC SRC "/tests/models/misc/model.onnx"

/* ---------------------------------------------------------------------- */
/* Status codes                                                            */
/* ---------------------------------------------------------------------- */

static const struct {
    loom_status st;
    int value;
    const char *name, *text;
} statuses[] = {
#define ROW(name, value, text) {LOOM_##name, value, #name, text},
    LOOM_STATUS_MAP(ROW)
#undef ROW
};
#define N_STATUSES (sizeof statuses / sizeof statuses[0])

Test(api, status_names_and_descriptions)
{
    cr_assert_eq(N_STATUSES, 16);
    for (size_t i = 0; i < N_STATUSES; i++) {
        const char *name = loom_status_name(statuses[i].st);
        const char *text = loom_strerror(statuses[i].st);
        cr_assert_eq((int)statuses[i].st, statuses[i].value);
        cr_assert_not_null(name);
        cr_assert_not_null(text);
        cr_assert_str_not_empty(name);
        cr_assert_str_not_empty(text);
        cr_assert_str_eq(name, statuses[i].name);
        cr_assert_str_eq(text, statuses[i].text);
        cr_assert_str_neq(text, "unknown status", "%s", name);
        for (size_t j = 0; j < i; j++) {
            cr_assert_neq(statuses[i].value, statuses[j].value);
            cr_assert_str_neq(name, loom_status_name(statuses[j].st));
            cr_assert_str_neq(text, loom_strerror(statuses[j].st));
        }
    }
    cr_assert_str_eq(loom_status_name(LOOM_E_MODEL_INVALID), "E_MODEL_INVALID");
    cr_assert_str_eq(loom_strerror(LOOM_E_MODEL_INVALID), "invalid model");
    cr_assert_str_eq(loom_strerror(LOOM_OK), "success");
}

Test(api, unknown_status)
{
    static const int unknown[] = {-1, 8, 99, 106, 199, 202, 1000, 0x7fffffff};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        loom_status st = (loom_status)unknown[i];
        const char *name = loom_status_name(st);
        cr_assert_str_eq(loom_strerror(st), "unknown status", "status %d", unknown[i]);
        cr_assert_not_null(name);
        for (size_t j = 0; j < N_STATUSES; j++)
            cr_assert_str_neq(name, statuses[j].name, "status %d", unknown[i]);
    }
}

Test(api, version)
{
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", LOOM_VERSION_MAJOR, LOOM_VERSION_MINOR,
             LOOM_VERSION_PATCH);
    cr_assert_str_eq(loom_version(), want);
    cr_assert_str_eq(loom_version(), "0.1.0");
}

/* ---------------------------------------------------------------------- */
/* Dtypes, log levels                                                      */
/* ---------------------------------------------------------------------- */

Test(api, dtype_names_and_sizes)
{
    static const struct {
        loom_dtype dt;
        int value;
        const char *name;
        size_t size;
    } want[] = {
        {LOOM_F32, 1, "float32", 4}, {LOOM_U8, 2, "uint8", 1},    {LOOM_I8, 3, "int8", 1},
        {LOOM_U16, 4, "uint16", 2},  {LOOM_I16, 5, "int16", 2},    {LOOM_I32, 6, "int32", 4},
        {LOOM_I64, 7, "int64", 8},   {LOOM_BOOL, 9, "bool", 1},    {LOOM_F16, 10, "float16", 2},
        {LOOM_F64, 11, "float64", 8}, {LOOM_U32, 12, "uint32", 4}, {LOOM_U64, 13, "uint64", 8},
        {LOOM_BF16, 16, "bfloat16", 2},
    };
    size_t n = 0;
#define CHECK(name, value, ctype, text)                                     \
    cr_assert_str_eq(loom_dtype_name(LOOM_##name), text);                  \
    cr_assert_eq(loom_dtype_size(LOOM_##name), sizeof(ctype), "%s", text); \
    n++;
    LOOM_DTYPE_MAP(CHECK)
#undef CHECK
    cr_assert_eq(n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq((int)want[i].dt, want[i].value);
        cr_assert_str_eq(loom_dtype_name(want[i].dt), want[i].name);
        cr_assert_eq(loom_dtype_size(want[i].dt), want[i].size, "%s", want[i].name);
    }
}

Test(api, invalid_dtypes)
{
    /* 0 (INVALID), and ONNX types loom lacks: 8 string, 14 and 15
     * complex, 17 and later (float8, int4, ...); and nonsense */
    static const int bad[] = {0, 8, 14, 15, 17, 23, -1, 1000};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_str_eq(loom_dtype_name((loom_dtype)bad[i]), "invalid", "dtype %d", bad[i]);
        cr_assert_eq(loom_dtype_size((loom_dtype)bad[i]), 0, "dtype %d", bad[i]);
    }
}

Test(api, log_level_names)
{
    cr_assert_str_eq(loom_log_level_name(LOOM_LOG_ERROR), "error");
    cr_assert_str_eq(loom_log_level_name(LOOM_LOG_WARN), "warning");
    cr_assert_str_eq(loom_log_level_name(LOOM_LOG_INFO), "info");
    cr_assert_str_eq(loom_log_level_name(LOOM_LOG_DEBUG), "debug");
}

/* ---------------------------------------------------------------------- */
/* Tensors                                                                 */
/* ---------------------------------------------------------------------- */

Test(api, tensor_create_each_dtype)
{
    static const loom_dtype dts[] = {LOOM_F32, LOOM_U8, LOOM_I8, LOOM_I32, LOOM_I64, LOOM_BOOL};
    for (size_t i = 0; i < sizeof dts / sizeof dts[0]; i++) {
        int64_t dims[3] = {2, 3, 5};
        loom_tensor *t = NULL;
        const unsigned char *p;
        cr_assert_eq(loom_tensor_create(dts[i], 3, dims, &t), LOOM_OK, "%s", loom_last_error());
        dims[1] = 99; /* the tensor keeps its own copy */
        cr_assert_eq(loom_tensor_dtype(t), dts[i]);
        cr_assert_eq(loom_tensor_rank(t), 3);
        cr_assert_eq(loom_tensor_dims(t)[0], 2);
        cr_assert_eq(loom_tensor_dims(t)[1], 3);
        cr_assert_eq(loom_tensor_dims(t)[2], 5);
        cr_assert_eq(loom_tensor_numel(t), 30);
        cr_assert_eq(loom_tensor_nbytes(t), 30 * loom_dtype_size(dts[i]));
        cr_assert_eq(loom_tensor_data(t), loom_tensor_cdata(t));
        p = loom_tensor_cdata(t);
        for (size_t k = 0; k < loom_tensor_nbytes(t); k++)
            cr_assert_eq(p[k], 0, "%s: byte %zu not zero", loom_dtype_name(dts[i]), k);
        loom_tensor_free(t);
    }
}

Test(api, tensor_create_scalar_and_empty)
{
    loom_tensor *t = NULL;
    cr_assert_eq(loom_tensor_create(LOOM_I64, 0, NULL, &t), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(loom_tensor_rank(t), 0);
    cr_assert_eq(loom_tensor_numel(t), 1);
    cr_assert_eq(loom_tensor_nbytes(t), 8);
    cr_assert_eq(*(const int64_t *)loom_tensor_cdata(t), 0);
    loom_tensor_free(t);
    cr_assert_eq(loom_tensor_create(LOOM_F32, 2, (int64_t[]){0, 7}, &t), LOOM_OK);
    cr_assert_eq(loom_tensor_numel(t), 0);
    cr_assert_eq(loom_tensor_nbytes(t), 0);
    loom_tensor_free(t);
    /* a rank-8 tensor is the largest rank */
    cr_assert_eq(loom_tensor_create(LOOM_U8, 8, (int64_t[]){1, 2, 1, 2, 1, 2, 1, 2}, &t), LOOM_OK);
    cr_assert_eq(loom_tensor_numel(t), 16);
    loom_tensor_free(t);
}

static void expect_create_fail(loom_dtype dt, int rank, const int64_t *dims, const char *frag)
{
    loom_tensor *t = NULL;
    loom_status st = loom_tensor_create(dt, rank, dims, &t);
    cr_assert_neq(st, LOOM_OK, "rank %d accepted", rank);
    cr_assert_null(t);
    cr_assert_str_not_empty(loom_last_error());
    if (frag)
        cr_assert(strstr(loom_last_error(), frag) != NULL, "message lacks \"%s\": %s", frag,
                  loom_last_error());
}

Test(api, tensor_create_rejects_bad_arguments)
{
    int64_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    loom_tensor *t = NULL;
    expect_create_fail(LOOM_F32, 2, NULL, "NULL");
    cr_assert_eq(loom_tensor_create(LOOM_F32, 2, NULL, &t), LOOM_E_INVALID_ARG);
    expect_create_fail(LOOM_F32, 9, nine, "rank 9");
    cr_assert_eq(loom_tensor_create(LOOM_F32, 9, nine, &t), LOOM_E_INVALID_ARG);
    expect_create_fail(LOOM_F32, -1, nine, "rank -1");
    expect_create_fail(LOOM_F32, 2, (int64_t[]){2, -1}, "[2,-1]");
    expect_create_fail(LOOM_I32, 1, (int64_t[]){INT64_MIN}, NULL);
    /* element count overflows int64 */
    expect_create_fail(LOOM_F32, 2, (int64_t[]){(int64_t)1 << 40, (int64_t)1 << 40}, NULL);
    expect_create_fail(LOOM_U8, 3, (int64_t[]){INT64_MAX, 2, 0 + 1}, NULL);
    /* element count fits, byte count does not */
    expect_create_fail(LOOM_I64, 1, (int64_t[]){(int64_t)1 << 61}, NULL);
    /* unknown dtype */
    expect_create_fail((loom_dtype)14, 1, (int64_t[]){2}, NULL);
    cr_assert_eq(loom_tensor_create((loom_dtype)14, 1, (int64_t[]){2}, &t), LOOM_E_DTYPE);
    cr_assert_eq(loom_tensor_create(LOOM_DTYPE_INVALID, 0, NULL, &t), LOOM_E_DTYPE);
    cr_assert_eq(loom_tensor_create(LOOM_F32, 0, NULL, NULL), LOOM_E_INVALID_ARG);
}

Test(api, free_accepts_null)
{
    loom_tensor_free(NULL);
    loom_model_free(NULL);
    loom_session_free(NULL);
    cr_assert_str_empty(loom_last_error());
}

/* ---------------------------------------------------------------------- */
/* loom_last_error                                                         */
/* ---------------------------------------------------------------------- */

typedef struct {
    const char *path;
    char initial[1024];
    char after[1024];
    loom_status st;
} thread_probe;

static void *probe_thread(void *arg)
{
    thread_probe *p = arg;
    loom_model *m = NULL;
    snprintf(p->initial, sizeof p->initial, "%s", loom_last_error());
    p->st = loom_model_load(p->path, NULL, &m);
    snprintf(p->after, sizeof p->after, "%s", loom_last_error());
    return NULL;
}

Test(api, last_error_empty_then_set)
{
    loom_model *m = NULL;
    loom_tensor *t = NULL;
    char saved[1024];
    cr_assert_str_empty(loom_last_error());
    cr_assert_eq(loom_model_load("/nonexistent/a.onnx", NULL, &m), LOOM_E_NOT_FOUND);
    cr_assert(strstr(loom_last_error(), "/nonexistent/a.onnx") != NULL, "%s", loom_last_error());
    cr_assert_null(strchr(loom_last_error(), '\n'));
    snprintf(saved, sizeof saved, "%s", loom_last_error());
    /* "the last failing call": a success does not replace it */
    cr_assert_eq(loom_tensor_create(LOOM_F32, 1, (int64_t[]){3}, &t), LOOM_OK);
    cr_assert_str_eq(loom_last_error(), saved);
    loom_tensor_free(t);
    /* the next failure replaces it */
    cr_assert_eq(loom_tensor_create(LOOM_F32, 9, (int64_t[9]){0}, &t), LOOM_E_INVALID_ARG);
    cr_assert_str_neq(loom_last_error(), saved);
    cr_assert(strstr(loom_last_error(), "rank 9") != NULL, "%s", loom_last_error());
}

Test(api, last_error_is_per_thread)
{
    loom_model *m = NULL;
    pthread_t th;
    thread_probe p = {.path = "/nonexistent/second-thread.onnx"};
    char mine[1024];

    cr_assert_eq(loom_model_load("/nonexistent/main-thread.onnx", NULL, &m), LOOM_E_NOT_FOUND);
    snprintf(mine, sizeof mine, "%s", loom_last_error());
    cr_assert(strstr(mine, "main-thread") != NULL, "%s", mine);

    cr_assert_eq(pthread_create(&th, NULL, probe_thread, &p), 0);
    cr_assert_eq(pthread_join(th, NULL), 0);
    /* the new thread started with an empty message, even though this
     * thread had one, and got its own */
    cr_assert_str_empty(p.initial, "a new thread sees \"%s\"", p.initial);
    cr_assert_eq(p.st, LOOM_E_NOT_FOUND);
    cr_assert(strstr(p.after, "second-thread") != NULL, "%s", p.after);
    /* and this thread's message did not change */
    cr_assert_str_eq(loom_last_error(), mine);
}

typedef struct {
    int id;
    int mismatches;
} stress_arg;

static void *stress_thread(void *arg)
{
    stress_arg *a = arg;
    char path[64];
    snprintf(path, sizeof path, "/nonexistent/thread-%d.onnx", a->id);
    for (int i = 0; i < 200; i++) {
        loom_tensor *t = NULL;
        loom_model *m = NULL;
        if (i % 2) {
            loom_model_load(path, NULL, &m);
            if (!strstr(loom_last_error(), path))
                a->mismatches++;
        } else {
            loom_tensor_create(LOOM_F32, 20 + a->id, NULL, &t);
            char want[32];
            snprintf(want, sizeof want, "rank %d", 20 + a->id);
            if (!strstr(loom_last_error(), want))
                a->mismatches++;
        }
    }
    return NULL;
}

Test(api, last_error_concurrent_threads)
{
    pthread_t th[4];
    stress_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (stress_arg){.id = i};
        cr_assert_eq(pthread_create(&th[i], NULL, stress_thread, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(pthread_join(th[i], NULL), 0);
        cr_assert_eq(args[i].mismatches, 0, "thread %d saw another thread's message", i);
    }
}

/* ---------------------------------------------------------------------- */
/* Logging                                                                 */
/* ---------------------------------------------------------------------- */

typedef struct {
    int count[4];
    int total;
    int bad_level;
    char last[1024];
    char all[8192];
} log_sink;

static void on_log(loom_log_level level, const char *message, void *user)
{
    log_sink *s = user;
    if (level < LOOM_LOG_ERROR || level > LOOM_LOG_DEBUG) {
        s->bad_level++;
        return;
    }
    s->count[level]++;
    s->total++;
    snprintf(s->last, sizeof s->last, "%s", message);
    strncat(s->all, message, sizeof s->all - strlen(s->all) - 2);
    strcat(s->all, "\n");
}

static loom_log_level max_seen;

static void on_log_max(loom_log_level level, const char *message, void *user)
{
    (void)message;
    (void)user;
    if (level > max_seen)
        max_seen = level;
}

Test(api, log_debug_receives_failure_messages)
{
    log_sink sink = {0};
    loom_model *m = NULL;
    loom_log_set(on_log, LOOM_LOG_DEBUG, &sink);
    cr_assert_eq(loom_model_load("/nonexistent/logged.onnx", NULL, &m), LOOM_E_NOT_FOUND);
    loom_log_set(NULL, LOOM_LOG_WARN, NULL);
    cr_assert_eq(sink.bad_level, 0);
    cr_assert_geq(sink.count[LOOM_LOG_DEBUG], 1);
    cr_assert(strstr(sink.all, "E_NOT_FOUND") != NULL, "%s", sink.all);
    cr_assert(strstr(sink.all, "/nonexistent/logged.onnx") != NULL, "%s", sink.all);
    /* the final message is the one loom_last_error() gives */
    cr_assert(strstr(sink.last, loom_last_error()) != NULL, "log: %s\nlast error: %s", sink.last,
              loom_last_error());
}

Test(api, log_debug_receives_planning_messages)
{
    /* the misc fixture's pads chain (ConstantOfShape -> Concat -> ...)
     * folds into constants: a debug message per folded node */
    log_sink sink = {0};
    loom_model *m = NULL;
    loom_session *s = NULL;
    /* an empty cache folder: the automatic placement measures the device
     * rates first, and says so at DEBUG too (it was INFO, seen on the first
     * run on a fresh machine only) */
    setenv("LOOM_CACHE_DIR", tb_tmpdir("api-log"), 1);
    cr_assert_eq(loom_model_load(MISC, NULL, &m), LOOM_OK, "%s", loom_last_error());
    loom_log_set(on_log, LOOM_LOG_DEBUG, &sink);
    cr_assert_eq(loom_session_create(m, NULL, &s), LOOM_OK, "%s", loom_last_error());
    loom_log_set(NULL, LOOM_LOG_WARN, NULL);
    cr_assert(strstr(sink.all, MISC ": folded node \"/Concat\" (Concat) into a constant\n") != NULL,
              "%s", sink.all);
    cr_assert_geq(sink.count[LOOM_LOG_DEBUG], 6, "%s", sink.all);
    cr_assert(strstr(sink.all, "calibration: ") != NULL, "%s", sink.all);
    cr_assert_eq(sink.total, sink.count[LOOM_LOG_DEBUG], "%s", sink.all);
    loom_session_free(s);
    loom_model_free(m);
    unsetenv("LOOM_CACHE_DIR");
    tb_tmpdir_remove();
}

Test(api, log_levels_filter)
{
    /* every message the library emits for these calls is DEBUG: at INFO,
     * WARN and ERROR the callback hears nothing */
    static const loom_log_level levels[] = {LOOM_LOG_INFO, LOOM_LOG_WARN, LOOM_LOG_ERROR};
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        log_sink sink = {0};
        loom_model *m = NULL;
        loom_session *s = NULL;
        loom_log_set(on_log, levels[i], &sink);
        cr_assert_eq(loom_model_load("/nonexistent/quiet.onnx", NULL, &m), LOOM_E_NOT_FOUND);
        cr_assert_eq(loom_model_load(MISC, NULL, &m), LOOM_OK);
        cr_assert_eq(loom_session_create(m, NULL, &s), LOOM_OK);
        loom_session_free(s);
        loom_model_free(m);
        loom_log_set(NULL, LOOM_LOG_WARN, NULL);
        cr_assert_eq(sink.total, 0, "level %s heard: %s", loom_log_level_name(levels[i]), sink.all);
    }
    /* and at DEBUG nothing above DEBUG arrives */
    max_seen = LOOM_LOG_ERROR;
    loom_log_set(on_log_max, LOOM_LOG_DEBUG, NULL);
    {
        loom_model *m = NULL;
        cr_assert_eq(loom_model_load("/nonexistent/x.onnx", NULL, &m), LOOM_E_NOT_FOUND);
    }
    loom_log_set(NULL, LOOM_LOG_WARN, NULL);
    cr_assert_eq(max_seen, LOOM_LOG_DEBUG);
}

Test(api, log_null_callback_is_silent)
{
    log_sink sink = {0};
    loom_model *m = NULL;
    loom_log_set(on_log, LOOM_LOG_DEBUG, &sink);
    cr_assert_eq(loom_model_load("/nonexistent/one.onnx", NULL, &m), LOOM_E_NOT_FOUND);
    cr_assert_geq(sink.total, 1);
    memset(&sink, 0, sizeof sink);
    loom_log_set(NULL, LOOM_LOG_DEBUG, &sink);
    cr_assert_eq(loom_model_load("/nonexistent/two.onnx", NULL, &m), LOOM_E_NOT_FOUND);
    cr_assert_eq(sink.total, 0);
    /* failures still set the message */
    cr_assert(strstr(loom_last_error(), "two.onnx") != NULL, "%s", loom_last_error());
}

/* ---------------------------------------------------------------------- */
/* Sessions on the demo classifier                                         */
/* ---------------------------------------------------------------------- */

static loom_tensor *load_npy(const char *path)
{
    loom_tensor *t = NULL;
    cr_assert_eq(loom_npy_load(path, &t), LOOM_OK, "%s", loom_last_error());
    return t;
}

static loom_session *classifier_session(int64_t batch, loom_model **model_out)
{
    loom_model *m = NULL;
    loom_session *s = NULL;
    int64_t dims[2] = {batch, 10};
    loom_input_shape shape = {.name = "features", .rank = 2, .dims = dims};
    loom_session_options opts = {.input_shapes = &shape, .input_shape_count = 1};
    cr_assert_eq(loom_model_load(CLASSIFIER, NULL, &m), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(loom_session_create(m, &opts, &s), LOOM_OK, "%s", loom_last_error());
    dims[0] = -7; /* the session copied the shape */
    if (model_out)
        *model_out = m;
    else
        loom_model_free(m);
    return s;
}

static void check_io(const loom_session *s, int64_t batch)
{
    loom_value_info vi;
    cr_assert_eq(loom_session_input_count(s), 1);
    cr_assert_eq(loom_session_output_count(s), 1);
    cr_assert_eq(loom_session_node_count(s), 2); /* Gemm+Relu, Gemm+Sigmoid (fused) */
    cr_assert_eq(loom_session_input(s, 0, &vi), LOOM_OK);
    cr_assert_str_eq(vi.name, "features");
    cr_assert_eq(vi.dtype, LOOM_F32);
    cr_assert_eq(vi.rank, 2);
    cr_assert_eq(vi.dims[0], batch);
    cr_assert_eq(vi.dims[1], 10);
    cr_assert_eq(loom_session_output(s, 0, &vi), LOOM_OK);
    cr_assert_str_eq(vi.name, "probability");
    cr_assert_eq(vi.rank, 2);
    cr_assert_eq(vi.dims[0], batch);
    cr_assert_eq(vi.dims[1], 1);
    cr_assert_eq(loom_session_input(s, 1, &vi), LOOM_E_INVALID_ARG);
    cr_assert_eq(loom_session_output(s, 1, &vi), LOOM_E_INVALID_ARG);
    cr_assert_null(loom_session_output_tensor(s, 1));
}

Test(api, session_classifier_batch1)
{
    loom_session *s = classifier_session(1, NULL);
    loom_tensor *x = load_npy(CLASSIFIER_X), *p = load_npy(CLASSIFIER_P);
    const float *xs = loom_tensor_cdata(x), *ps = loom_tensor_cdata(p);
    check_io(s, 1);
    cr_assert_eq(loom_tensor_dims(x)[0], 20);
    for (int i = 0; i < 20; i++) {
        const loom_tensor *out;
        float y;
        cr_assert_eq(loom_session_set_input_data(s, 0, xs + 10 * i, 10 * sizeof(float)), LOOM_OK,
                     "%s", loom_last_error());
        cr_assert_eq(loom_session_run(s), LOOM_OK, "%s", loom_last_error());
        out = loom_session_output_tensor(s, 0);
        cr_assert_not_null(out);
        cr_assert_eq(loom_tensor_numel(out), 1);
        y = *(const float *)loom_tensor_cdata(out);
        cr_assert(fabsf(y - ps[i]) <= 1e-5f, "sample %d: loom %.9g, torch %.9g", i, y, ps[i]);
    }
    loom_tensor_free(x);
    loom_tensor_free(p);
    loom_session_free(s);
}

Test(api, session_classifier_batch20)
{
    loom_session *s = classifier_session(20, NULL);
    loom_tensor *x = load_npy(CLASSIFIER_X), *p = load_npy(CLASSIFIER_P);
    const float *ps = loom_tensor_cdata(p), *ys;
    const loom_tensor *out;
    check_io(s, 20);
    cr_assert_eq(loom_session_set_input(s, "features", x), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(loom_session_run(s), LOOM_OK, "%s", loom_last_error());
    out = loom_session_output_tensor(s, 0);
    cr_assert_eq(loom_tensor_dtype(out), LOOM_F32);
    cr_assert_eq(loom_tensor_rank(out), 2);
    cr_assert_eq(loom_tensor_dims(out)[0], 20);
    cr_assert_eq(loom_tensor_dims(out)[1], 1);
    ys = loom_tensor_cdata(out);
    for (int i = 0; i < 20; i++)
        cr_assert(fabsf(ys[i] - ps[i]) <= 1e-5f, "sample %d: loom %.9g, torch %.9g", i, ys[i],
                  ps[i]);
    /* the fast path with the same bytes gives the same bits */
    {
        float first[20];
        memcpy(first, ys, sizeof first);
        cr_assert_eq(loom_session_set_input_data(s, 0, loom_tensor_cdata(x), 800), LOOM_OK);
        cr_assert_eq(loom_session_run(s), LOOM_OK);
        cr_assert_eq(memcmp(loom_tensor_cdata(loom_session_output_tensor(s, 0)), first, sizeof first),
                     0);
    }
    loom_tensor_free(x);
    loom_tensor_free(p);
    loom_session_free(s);
}

Test(api, session_default_binds_symbolic_dims_to_1)
{
    loom_model *m = NULL;
    loom_session *s = NULL;
    loom_value_info vi;
    cr_assert_eq(loom_model_load(CLASSIFIER, NULL, &m), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(loom_model_input(m, 0, &vi), LOOM_OK);
    cr_assert_eq(vi.dims[0], -1);
    cr_assert_str_eq(vi.dim_params[0], "batch");
    cr_assert_eq(loom_session_create(m, NULL, &s), LOOM_OK, "%s", loom_last_error());
    check_io(s, 1);
    loom_session_free(s);
    loom_model_free(m);
}

Test(api, session_input_size_and_shape_mismatch)
{
    loom_session *s = classifier_session(20, NULL);
    float buf[201] = {0};
    loom_tensor *one = NULL;
    cr_assert_eq(loom_session_set_input_data(s, 0, buf, 799), LOOM_E_SHAPE);
    cr_assert(strstr(loom_last_error(), "features") != NULL, "%s", loom_last_error());
    cr_assert(strstr(loom_last_error(), "799") != NULL, "%s", loom_last_error());
    cr_assert(strstr(loom_last_error(), "800") != NULL, "%s", loom_last_error());
    cr_assert_eq(loom_session_set_input_data(s, 0, buf, 804), LOOM_E_SHAPE);
    cr_assert_eq(loom_session_set_input_data(s, 0, buf, 40), LOOM_E_SHAPE);
    cr_assert_eq(loom_session_set_input_data(s, 0, buf, 0), LOOM_E_SHAPE);
    cr_assert_eq(loom_session_set_input_data(s, 1, buf, 800), LOOM_E_INVALID_ARG);
    cr_assert_eq(loom_session_set_input_data(s, 0, NULL, 800), LOOM_E_INVALID_ARG);
    /* a tensor of batch 1 on a batch-20 session */
    cr_assert_eq(loom_tensor_create(LOOM_F32, 2, (int64_t[]){1, 10}, &one), LOOM_OK);
    cr_assert_eq(loom_session_set_input(s, "features", one), LOOM_E_SHAPE);
    cr_assert(strstr(loom_last_error(), "[1,10]") != NULL, "%s", loom_last_error());
    cr_assert(strstr(loom_last_error(), "[20,10]") != NULL, "%s", loom_last_error());
    loom_tensor_free(one);
    /* right shape, wrong dtype */
    cr_assert_eq(loom_tensor_create(LOOM_I32, 2, (int64_t[]){20, 10}, &one), LOOM_OK);
    cr_assert_eq(loom_session_set_input(s, "features", one), LOOM_E_SHAPE);
    cr_assert(strstr(loom_last_error(), "int32") != NULL, "%s", loom_last_error());
    cr_assert_eq(loom_session_set_input(s, "nope", one), LOOM_E_INVALID_ARG);
    cr_assert(strstr(loom_last_error(), "nope") != NULL, "%s", loom_last_error());
    loom_tensor_free(one);
    loom_session_free(s);
}

Test(api, session_outlives_model)
{
    loom_model *m = NULL;
    loom_session *s = classifier_session(20, &m);
    loom_tensor *x = load_npy(CLASSIFIER_X), *p = load_npy(CLASSIFIER_P);
    const float *ys, *ps = loom_tensor_cdata(p);
    loom_model_free(m);
    /* the names, the weights and the plan all live on */
    check_io(s, 20);
    cr_assert_eq(loom_session_set_input(s, "features", x), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(loom_session_run(s), LOOM_OK, "%s", loom_last_error());
    ys = loom_tensor_cdata(loom_session_output_tensor(s, 0));
    for (int i = 0; i < 20; i++)
        cr_assert(fabsf(ys[i] - ps[i]) <= 1e-5f, "sample %d: loom %.9g, torch %.9g", i, ys[i],
                  ps[i]);
    loom_tensor_free(x);
    loom_tensor_free(p);
    loom_session_free(s);
}

Test(api, two_sessions_of_one_model_are_independent)
{
    loom_model *m = NULL;
    loom_session *s1 = classifier_session(1, &m), *s20 = NULL;
    loom_tensor *x = load_npy(CLASSIFIER_X), *p = load_npy(CLASSIFIER_P);
    const float *xs = loom_tensor_cdata(x), *ps = loom_tensor_cdata(p);
    loom_session_options opts = {
        .input_shapes = &(loom_input_shape){.name = "features", .rank = 2, .dims = (int64_t[]){20, 10}},
        .input_shape_count = 1};
    cr_assert_eq(loom_session_create(m, &opts, &s20), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(loom_session_set_input_data(s1, 0, xs + 30, 40), LOOM_OK);
    cr_assert_eq(loom_session_set_input_data(s20, 0, xs, 800), LOOM_OK);
    cr_assert_eq(loom_session_run(s20), LOOM_OK);
    cr_assert_eq(loom_session_run(s1), LOOM_OK);
    cr_assert(fabsf(*(const float *)loom_tensor_cdata(loom_session_output_tensor(s1, 0)) - ps[3]) <= 1e-5f);
    for (int i = 0; i < 20; i++)
        cr_assert(fabsf(((const float *)loom_tensor_cdata(loom_session_output_tensor(s20, 0)))[i] -
                        ps[i]) <= 1e-5f, "sample %d", i);
    loom_session_free(s1);
    loom_session_free(s20);
    loom_model_free(m);
    loom_tensor_free(x);
    loom_tensor_free(p);
}

/* ---------------------------------------------------------------------- */
/* Outputs that are graph inputs or constants                              */
/* ---------------------------------------------------------------------- */

static loom_session *session_from_builder(tb_model *b, const loom_session_options *opts)
{
    const uint8_t *bytes;
    size_t len;
    loom_model *m = NULL;
    loom_session *s = NULL;
    bytes = tb_pack(b, &len);
    cr_assert_eq(loom_model_load_buffer(bytes, len, "built.onnx", NULL, NULL, &m), LOOM_OK, "%s",
                 loom_last_error());
    cr_assert_eq(loom_session_create(m, opts, &s), LOOM_OK, "%s", loom_last_error());
    loom_model_free(m);
    return s;
}

Test(api, output_is_a_graph_input)
{
    tb_model *b = tb_new(13);
    loom_session *s;
    const float xv[4] = {-1.5f, 2.0f, -0.25f, 8.0f}, relu[4] = {0.0f, 2.0f, 0.0f, 8.0f};
    loom_value_info vi;
    tb_input(b, "x", LOOM_F32, 2, (int64_t[]){2, 2});
    tb_node(b, "Relu", "x", "r");
    tb_output(b, "r");
    tb_output(b, "x");
    s = session_from_builder(b, NULL);
    tb_free(b);
    cr_assert_eq(loom_session_output_count(s), 2);
    cr_assert_eq(loom_session_output(s, 1, &vi), LOOM_OK);
    cr_assert_str_eq(vi.name, "x");
    cr_assert_eq(vi.rank, 2);
    cr_assert_eq(loom_session_set_input_data(s, 0, xv, sizeof xv), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(loom_session_run(s), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(memcmp(loom_tensor_cdata(loom_session_output_tensor(s, 0)), relu, sizeof relu), 0);
    cr_assert_eq(memcmp(loom_tensor_cdata(loom_session_output_tensor(s, 1)), xv, sizeof xv), 0);
    loom_session_free(s);
}

Test(api, output_is_a_graph_input_without_nodes)
{
    tb_model *b = tb_new(13);
    loom_session *s;
    const int64_t xv[3] = {5, -6, 7};
    tb_input(b, "x", LOOM_I64, 1, (int64_t[]){-1});
    tb_output(b, "x");
    s = session_from_builder(
        b, &(loom_session_options){
               .input_shapes = &(loom_input_shape){.name = "x", .rank = 1, .dims = (int64_t[]){3}},
               .input_shape_count = 1});
    tb_free(b);
    cr_assert_eq(loom_session_node_count(s), 0);
    cr_assert_eq(loom_session_set_input_data(s, 0, xv, sizeof xv), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(loom_session_run(s), LOOM_OK, "%s", loom_last_error());
    {
        const loom_tensor *out = loom_session_output_tensor(s, 0);
        cr_assert_eq(loom_tensor_dtype(out), LOOM_I64);
        cr_assert_eq(loom_tensor_dims(out)[0], 3);
        cr_assert_eq(memcmp(loom_tensor_cdata(out), xv, sizeof xv), 0);
    }
    loom_session_free(s);
}

Test(api, output_is_a_constant)
{
    tb_model *b = tb_new(13);
    loom_session *s;
    const float cv[3] = {0.5f, -1.0f, 3.25f}, kv[2] = {42.0f, -42.0f}, xv[2] = {1.0f, -2.0f};
    const float neg[2] = {-1.0f, 2.0f};
    Onnx__NodeProto *n;
    tb_input(b, "x", LOOM_F32, 1, (int64_t[]){2});
    tb_init(b, "c", LOOM_F32, 1, (int64_t[]){3}, cv);
    tb_node(b, "Neg", "x", "y");
    n = tb_node(b, "Constant", "", "k");
    tb_attr_tensor(b, n, "value", tb_tensor(b, "kt", LOOM_F32, 1, (int64_t[]){2}, kv));
    tb_output(b, "c");
    tb_output(b, "y");
    tb_output(b, "k");
    s = session_from_builder(b, NULL);
    tb_free(b);
    /* only Neg runs: the Constant node folds */
    cr_assert_eq(loom_session_node_count(s), 1);
    cr_assert_eq(loom_session_set_input_data(s, 0, xv, sizeof xv), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(loom_session_run(s), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(loom_tensor_numel(loom_session_output_tensor(s, 0)), 3);
    cr_assert_eq(memcmp(loom_tensor_cdata(loom_session_output_tensor(s, 0)), cv, sizeof cv), 0);
    cr_assert_eq(memcmp(loom_tensor_cdata(loom_session_output_tensor(s, 1)), neg, sizeof neg), 0);
    cr_assert_eq(loom_tensor_numel(loom_session_output_tensor(s, 2)), 2);
    cr_assert_eq(memcmp(loom_tensor_cdata(loom_session_output_tensor(s, 2)), kv, sizeof kv), 0);
    loom_session_free(s);
}

Test(api, session_null_arguments)
{
    loom_session *s = NULL;
    loom_model *m = NULL;
    cr_assert_eq(loom_session_create(NULL, NULL, &s), LOOM_E_INVALID_ARG);
    cr_assert_null(s);
    cr_assert_eq(loom_model_load(CLASSIFIER, NULL, &m), LOOM_OK);
    cr_assert_eq(loom_session_create(m, NULL, NULL), LOOM_E_INVALID_ARG);
    cr_assert_eq(loom_session_run(NULL), LOOM_E_INVALID_ARG);
    cr_assert_null(loom_session_output_tensor(NULL, 0));
    loom_model_free(m);
}

/* x[4,8] . W[8,3] -> m; |m| -> a; a + m -> y: the work each node does,
 * the bytes a cut between nodes would copy, and the trace of two runs. */
static loom_session *work_session(bool trace)
{
    tb_model *b = tb_new(13);
    float w[24];
    loom_session *s;
    for (int i = 0; i < 24; i++)
        w[i] = (float)(i % 5) - 2.0f;
    tb_input(b, "x", LOOM_F32, 2, (int64_t[]){4, 8});
    tb_init(b, "W", LOOM_F32, 2, (int64_t[]){8, 3}, w);
    tb_node(b, "MatMul", "x,W", "m");
    tb_node(b, "Abs", "m", "a");
    tb_node(b, "Add", "a,m", "y");
    tb_output(b, "y");
    s = session_from_builder(b, &(loom_session_options){.devices = "ref", .trace = trace});
    tb_free(b);
    return s;
}

Test(api, node_work_and_cut_bytes)
{
    loom_session *s = work_session(false);
    loom_node_work w;
    uint64_t to, from;
    bool set[3];
    cr_assert_eq(loom_session_node_count(s), 3);
    cr_assert_eq(loom_session_node_work(s, 0, &w), LOOM_OK);
    cr_assert_float_eq(w.macs, 4 * 3 * 8, 0);
    cr_assert(!w.int8);
    cr_assert_float_eq(w.elementwise, 0, 0);
    cr_assert_float_eq(w.bytes, 4 * (32 + 24 + 12), 0); /* x, W, m */
    cr_assert_eq(loom_session_node_work(s, 1, &w), LOOM_OK);
    cr_assert_float_eq(w.macs, 0, 0);
    cr_assert_float_eq(w.elementwise, 12, 0);
    cr_assert_float_eq(w.bytes, 4 * 24, 0);
    cr_assert_eq(loom_session_node_work(s, 2, &w), LOOM_OK);
    cr_assert_float_eq(w.bytes, 4 * 36, 0);
    cr_assert_eq(loom_session_node_work(s, 3, &w), LOOM_E_INVALID_ARG);
    /* the MatMul alone: x in (W is a weight, copied once), m out once
     * though two nodes read it */
    memcpy(set, (bool[]){true, false, false}, sizeof set);
    cr_assert_eq(loom_session_cut_bytes(s, set, &to, &from), LOOM_OK);
    cr_assert_eq(to, 4 * 32);
    cr_assert_eq(from, 4 * 12);
    /* the Abs alone: m in, a out */
    memcpy(set, (bool[]){false, true, false}, sizeof set);
    cr_assert_eq(loom_session_cut_bytes(s, set, &to, &from), LOOM_OK);
    cr_assert_eq(to, 4 * 12);
    cr_assert_eq(from, 4 * 12);
    /* the Add alone: a and m in, y (a graph output) out */
    memcpy(set, (bool[]){false, false, true}, sizeof set);
    cr_assert_eq(loom_session_cut_bytes(s, set, &to, &from), LOOM_OK);
    cr_assert_eq(to, 4 * 24);
    cr_assert_eq(from, 4 * 12);
    /* everything: the input in, the output out */
    memcpy(set, (bool[]){true, true, true}, sizeof set);
    cr_assert_eq(loom_session_cut_bytes(s, set, &to, &from), LOOM_OK);
    cr_assert_eq(to, 4 * 32);
    cr_assert_eq(from, 4 * 12);
    cr_assert_eq(loom_session_cut_bytes(s, NULL, &to, &from), LOOM_E_INVALID_ARG);
    loom_session_free(s);
}

Test(api, trace_records_every_step_of_every_run)
{
    static const char *const ops[3] = {"MatMul", "Abs", "Add"};
    loom_session *s = work_session(true), *plain = work_session(false);
    float x[32] = {0};
    loom_trace_event e;
    double last = 0, t0 = loom_now_us();
    cr_assert_eq(loom_session_set_input_data(s, 0, x, sizeof x), LOOM_OK);
    cr_assert_eq(loom_session_trace_count(s), 0);
    for (int r = 0; r < 2; r++)
        cr_assert_eq(loom_session_run(s), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(loom_session_trace_count(s), 6);
    for (size_t i = 0; i < 6; i++) {
        cr_assert(loom_session_trace_event(s, i, &e));
        cr_assert_str_eq(e.category, "kernel");
        cr_assert_str_eq(e.device, "ref");
        cr_assert_eq(e.node, i % 3);
        cr_assert_eq(e.run, (long)(i / 3));
        cr_assert_str_eq(e.op_type, ops[i % 3]);
        cr_assert_geq(e.start_us, t0);
        cr_assert_geq(e.start_us, last);
        cr_assert_geq(e.dur_us, 0);
        last = e.start_us + e.dur_us;
    }
    cr_assert(!loom_session_trace_event(s, 6, &e));
    cr_assert(!loom_session_trace_truncated(s));
    /* without the option nothing is recorded */
    cr_assert_eq(loom_session_set_input_data(plain, 0, x, sizeof x), LOOM_OK);
    cr_assert_eq(loom_session_run(plain), LOOM_OK);
    cr_assert_eq(loom_session_trace_count(plain), 0);
    loom_session_free(s);
    loom_session_free(plain);
}
