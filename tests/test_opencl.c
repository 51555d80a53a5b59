/*
 * test_opencl.c - differential tests of the OpenCL backend against the
 * reference backend (STYLE.md 16-19).
 *
 * Every op and form that loom__cl_supports() claims
 * (host/src/backends/opencl/cl-ops.c) is built as a one-node ONNX model
 * (support/onnx-builder.h) whose data inputs are graph inputs (so nothing
 * is constant-folded away), run with devices="opencl", strict, and with
 * devices="ref"; the outputs must agree within a per-op tolerance, and
 * every node of the OpenCL plan must have been placed on an "opencl:"
 * device (loom_session_placement), the op under test among them. Shapes
 * are chosen off every tile size of the kernels (1, 3, 7, 17, 33, 65, 100,
 * 129, ..., K = 1, batches > 1). Inputs are random with a fixed seed per
 * test. Both plans then run a second time with every input reversed: a
 * plan is built once and run many times, so nothing may depend on the
 * first run's data.
 *
 * Groups: Gemm, MatMul, Conv, activations fused into them (Relu, Sigmoid,
 * Tanh: the GEMM kernels' act), pools, Softmax and the normalisations,
 * element-wise ops, data movement, forms the backend must not claim (strict
 * refuses, non-strict falls back to ref), the int8 GEMM of the kernel ABI
 * (loom_gemm_i8 on the device against loom_gemm_i8_ref, bit for bit, with
 * the bytes of C between N and ldc and after the end checked untouched),
 * and the fixture models of tests/models.
 *
 * Every test sets LOOM_CL_GUARD=1 before its first loom call: the backend
 * then puts 256 guard bytes after each device buffer of the plan and fails
 * the run (LOOM_E_DEVICE_FAILED "wrote past the end") when a kernel
 * overwrote them, so an overrun is an error here, not silent corruption.
 * The backend's own scratch and derived buffers (Conv's im2col matrix and
 * GEMM output, transposed weights) and loom_gemm_i8's buffers are guarded
 * the same way (guard_catches_a_write_past_a_scratch_buffer checks that).
 * The suite opencl_systolic repeats the GEMM-based ops (Gemm, MatMul,
 * Conv, int8 GEMM) with LOOM_CL_GEMM=systolic, the FPGA formulation, which
 * PoCL runs as plain sequential code. Criterion runs each test in its own
 * process, so the variable is set before the devices are enumerated.
 *
 * No OpenCL device (loom_device_count lists no healthy device of backend
 * "opencl") is a skip with the reason, never a pass.
 *
 * Tolerances, per element, with ref the reference value and u = 2^-24;
 * in brackets the largest error / tolerance measured on PoCL 3.1 (AVX-512
 * CPU; NDRange / systolic), which every test logs ("error/tol"):
 *   exact (==, NaN matches NaN): data movement (Transpose, Slice, Expand,
 *     the Reshape family, Identity, Dropout), Relu, Abs, Neg, Clip,
 *     MaxPool, Add, Sub, Mul, and int8 GEMM (bit for bit, padding too).
 *   GEMM-like: |cl - ref| <= 1e-6 * K * max(1, |ref|), K the reduction
 *     length: Gemm K * max(1, |alpha|) [0.061 / 0.095], MatMul K
 *     [0.040 / 0.039], Conv C/group * KH * KW (+1 with bias) [0.034 /
 *     0.040], AveragePool KH * KW [0.015], LayerNormalization the
 *     normalised length [0.11]; with a fused activation, plus that
 *     activation's ulps below [0.025]. Why: ref accumulates in double, the
 *     kernels in float (in their own order, with fused multiply-adds). With
 *     inputs in [-1, 1], K products and partial sums of size ~sqrt(K) / 3,
 *     the rounding errors of a float sum add up to about u * K / 3 ~
 *     2e-8 * K; the worst case K * u * sum |a b| is never reached. Measured:
 *     at most 1e-7 * K * max(1, |ref|), so the bound has a 10x margin while
 *     a lost or doubled product (0.25 on average) still exceeds it up to
 *     K ~ 1000.
 *   element-wise math, in ulps of ref: the OpenCL 1.2 full-profile limit
 *     plus 2 for glibc's error in ref: Sqrt 3+2 [0], Exp, Log 3+2 [0.2],
 *     Div, Reciprocal 2.5+2 [0], Tanh 5+2 [0.29], Erf 16+2 [0.22: loom's own
 *     erf, 4 ulps], Pow 16+2 [0.056],
 *     Sigmoid = 1 / (1 + exp(-x)) 3+2.5+1+2 [0.35, i.e. 3 ulp].
 *   Softmax: 8 ulps + 2 * u * (len + 8) relative, for exp and a float sum
 *     of len positive terms (relative error below (len - 1) u) [0.11].
 *   GlobalAveragePool: positive inputs, so the float sum of len terms is
 *     within len * u: 2 ulps + u * (len + 2) * |ref| [0.30]; tight enough
 *     that dividing by len - 1 or len + 1 fails for len < 4096.
 *   BatchNormalization: folded into y = x * a + b on the host, a and b
 *     rounded to float, terms up to ~10: 4e-6 + 4 ulps [0.081].
 *   Fixture models (devices "auto" and "opencl", with ref fallback):
 *     1e-5 absolute + 1e-5 relative [0.025].
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/exec.h"
#include "loom/loom.h"
#include "onnx-builder.h"

#define DIMS(...) ((const int64_t[]){__VA_ARGS__})
#define NDIMS(...) ((int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))
#define ATTR_INTS(b, n, name, ...) \
    tb_attr_ints(b, n, name, (size_t)NDIMS(__VA_ARGS__), (const int64_t[]){__VA_ARGS__})
#define INIT_INTS(b, name, ...) \
    tb_init(b, name, LOOM_I64, 1, DIMS(NDIMS(__VA_ARGS__)), (const int64_t[]){__VA_ARGS__})
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define FLT_U 5.9604644775390625e-8 /* 2^-24, float unit roundoff */

/* ------------------------------------------------------------------------ */
/* Environment, device, random numbers                                       */
/* ------------------------------------------------------------------------ */

static void env_ndrange(void)
{
    setenv("LOOM_CL_GUARD", "1", 1);
    setenv("LOOM_CL_GEMM", "ndrange", 1);
}

static void env_systolic(void)
{
    setenv("LOOM_CL_GUARD", "1", 1);
    setenv("LOOM_CL_GEMM", "systolic", 1);
}

TestSuite(opencl, .init = env_ndrange, .timeout = 300);
TestSuite(opencl_systolic, .init = env_systolic, .timeout = 300);
TestSuite(opencl_models, .init = env_ndrange, .timeout = 300);

/* Name of the first healthy OpenCL device ("opencl:0"). */
static char cl_dev[64];

/* Skip (with the reason) unless an OpenCL device is present and healthy. */
static void require_opencl(void)
{
    char why[300] = "no OpenCL device: loom_device_count() lists no device of backend \"opencl\" "
                    "(no OpenCL platform, or the ICD loader finds none)";
    size_t n = loom_device_count();
    for (size_t i = 0; i < n; i++) {
        loom_device_info d;
        if (loom_device_get(i, &d) != LOOM_OK || strcmp(d.backend, "opencl") != 0)
            continue;
        if (d.healthy) {
            snprintf(cl_dev, sizeof cl_dev, "%s", d.name);
            return;
        }
        snprintf(why, sizeof why, "OpenCL device %s (%s) is unhealthy: %s", d.name, d.model, d.status);
    }
    cr_skip_test("%s", why);
}

/* splitmix64: small, seedable, the same sequence everywhere. */
typedef struct {
    uint64_t s;
} rng_t;

static uint64_t rng_u64(rng_t *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double rng_unit(rng_t *r)
{
    return (double)(rng_u64(r) >> 11) * 0x1p-53;
}

static float rng_f(rng_t *r, double lo, double hi)
{
    return (float)(lo + (hi - lo) * rng_unit(r));
}

/* Uniform integer in [lo, hi]. */
static int64_t rng_int(rng_t *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rng_u64(r) % (uint64_t)(hi - lo + 1));
}

static int64_t numel_of(int rank, const int64_t *dims)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= dims[i];
    return n;
}

static loom_tensor *new_tensor(loom_dtype dt, int rank, const int64_t *dims)
{
    loom_tensor *t = NULL;
    loom_status st = loom_tensor_create(dt, rank, dims, &t);
    cr_assert_eq(st, LOOM_OK, "loom_tensor_create: %s", loom_last_error());
    return t;
}

/* float tensor, uniform in [lo, hi) */
static loom_tensor *rand_t(rng_t *r, int rank, const int64_t *dims, double lo, double hi)
{
    loom_tensor *t = new_tensor(LOOM_F32, rank, dims);
    float *p = loom_tensor_data(t);
    for (int64_t i = 0; i < loom_tensor_numel(t); i++)
        p[i] = rng_f(r, lo, hi);
    return t;
}

/* float initializer, uniform in [lo, hi) */
static void init_rand(tb_model *b, rng_t *r, const char *name, int rank, const int64_t *dims, double lo,
                      double hi)
{
    loom_tensor *t = rand_t(r, rank, dims, lo, hi);
    tb_init(b, name, LOOM_F32, rank, dims, loom_tensor_cdata(t));
    loom_tensor_free(t);
}

/* ------------------------------------------------------------------------ */
/* Running a model on a device list, comparing outputs                       */
/* ------------------------------------------------------------------------ */

typedef struct {
    double atol;   /* absolute */
    double rtol;   /* times |ref| */
    double ulps;   /* times ulp(|ref|) */
    double kscale; /* times max(1, |ref|): the K-scaled GEMM bound */
} tol_t;

static const tol_t EXACT = {0, 0, 0, 0};

/* GEMM-like ops: 1e-6 * K * max(1, |ref|) (see the top of the file). */
static tol_t tol_k(double K)
{
    return (tol_t){.kscale = 1e-6 * (K > 1 ? K : 1)};
}

static tol_t tol_ulps(double n)
{
    return (tol_t){.ulps = n};
}

/* Worst error seen in a test, for the log (and the tolerance table). */
typedef struct {
    int cases;
    long values;
    double max_abs;   /* largest |cl - ref| */
    double max_ulps;  /* largest |cl - ref| / ulp(ref) */
    double max_ratio; /* largest |cl - ref| / tolerance */
} stats_t;

static void stats_log(const char *what, const stats_t *s)
{
    cr_log_info("%s: %d cases, %ld values, max |cl - ref| = %.3g (%.3g ulp), max error/tol = %.3g", what,
                s->cases, s->values, s->max_abs, s->max_ulps, s->max_ratio);
}

static double ulp_of(double v)
{
    float a = (float)fabs(v);
    return (double)nextafterf(a, INFINITY) - (double)a;
}

/* got must match want (shape, dtype, values within t); counts every
 * failing element and reports the first and the worst. */
static void compare(const char *label, size_t out_i, const loom_tensor *want, const loom_tensor *got, tol_t t,
                    stats_t *st)
{
    int64_t n, bad = 0, first = -1, worst_i = -1;
    double worst = -1;

    cr_assert_not_null(got, "%s: output %zu missing", label, out_i);
    cr_assert_eq(loom_tensor_dtype(got), loom_tensor_dtype(want), "%s: output %zu is %s, ref %s", label, out_i,
                 loom_dtype_name(loom_tensor_dtype(got)), loom_dtype_name(loom_tensor_dtype(want)));
    cr_assert_eq(loom_tensor_rank(got), loom_tensor_rank(want), "%s: output %zu has rank %d, ref %d", label,
                 out_i, loom_tensor_rank(got), loom_tensor_rank(want));
    for (int d = 0; d < loom_tensor_rank(want); d++)
        cr_assert_eq(loom_tensor_dims(got)[d], loom_tensor_dims(want)[d], "%s: output %zu dim %d: %lld, ref %lld",
                     label, out_i, d, (long long)loom_tensor_dims(got)[d], (long long)loom_tensor_dims(want)[d]);
    n = loom_tensor_numel(want);
    st->cases++;
    st->values += (long)n;
    if (loom_tensor_dtype(want) != LOOM_F32) {
        const unsigned char *a = loom_tensor_cdata(want), *b = loom_tensor_cdata(got);
        size_t es = loom_dtype_size(loom_tensor_dtype(want));
        for (int64_t i = 0; i < n; i++)
            if (memcmp(a + i * (int64_t)es, b + i * (int64_t)es, es) != 0) {
                bad++;
                if (first < 0)
                    first = i;
            }
        cr_assert_eq(bad, 0, "%s: output %zu: %lld of %lld %s elements differ, first at %lld", label, out_i,
                     (long long)bad, (long long)n, loom_dtype_name(loom_tensor_dtype(want)), (long long)first);
        return;
    }
    {
        const float *w = loom_tensor_cdata(want), *g = loom_tensor_cdata(got);
        for (int64_t i = 0; i < n; i++) {
            double r = w[i], v = g[i], err, allowed;
            bool ok;
            if (isnan(r)) {
                ok = isnan(v);
                err = ok ? 0 : INFINITY;
                allowed = 0;
            } else if (isinf(r)) {
                ok = v == r;
                err = ok ? 0 : INFINITY;
                allowed = 0;
            } else {
                err = fabs(v - r);
                allowed = t.atol + t.rtol * fabs(r) + t.ulps * ulp_of(r) + t.kscale * fmax(1.0, fabs(r));
                ok = err <= allowed; /* false for a NaN */
                if (ok && err > st->max_abs)
                    st->max_abs = err;
                if (ok && err / ulp_of(r) > st->max_ulps)
                    st->max_ulps = err / ulp_of(r);
                if (ok && allowed > 0 && err / allowed > st->max_ratio)
                    st->max_ratio = err / allowed;
            }
            if (!ok) {
                double excess = isnan(err) || allowed == 0 ? INFINITY : err / allowed;
                bad++;
                if (first < 0)
                    first = i;
                if (excess > worst) {
                    worst = excess;
                    worst_i = i;
                }
            }
        }
        if (bad) {
            double tw = first >= 0 ? w[first] : 0, tg = first >= 0 ? g[first] : 0;
            cr_assert_fail("%s: output %zu: %lld of %lld values outside tolerance; first: element %lld "
                           "opencl %.9g, ref %.9g; worst: element %lld opencl %.9g, ref %.9g",
                           label, out_i, (long long)bad, (long long)n, (long long)first, tg, tw,
                           (long long)worst_i, (double)g[worst_i], (double)w[worst_i]);
        }
    }
}

/* Every node of the plan on an OpenCL device, and one of them op: "Gemm",
 * or "Gemm+Relu" for a Gemm with Relu fused into it. */
static void expect_on_opencl(const loom_session *s, const char *op, const char *label)
{
    size_t n = loom_session_node_count(s), len = strcspn(op, "+");
    const char *fused = op[len] ? op + len + 1 : "";
    bool seen = false;
    cr_assert_gt(n, 0, "%s: no node left to run (all constant-folded?)", label);
    for (size_t i = 0; i < n; i++) {
        loom_node_placement p;
        cr_assert_eq(loom_session_placement(s, i, &p), LOOM_OK, "%s: %s", label, loom_last_error());
        cr_assert(strncmp(p.device, "opencl:", 7) == 0, "%s: node %zu (%s) placed on %s: %s", label, i,
                  p.op_type, p.device, p.reason);
        seen = seen || (strlen(p.op_type) == len && strncmp(p.op_type, op, len) == 0 &&
                        strcmp(p.fused ? p.fused : "", fused) == 0);
    }
    cr_assert(seen, "%s: no %s node in the plan", label, op);
}

/* Number of nodes placed on OpenCL devices. */
static size_t nodes_on_opencl(const loom_session *s)
{
    size_t k = 0;
    for (size_t i = 0; i < loom_session_node_count(s); i++) {
        loom_node_placement p;
        if (loom_session_placement(s, i, &p) == LOOM_OK && strncmp(p.device, "opencl:", 7) == 0)
            k++;
    }
    return k;
}

/* Session for m on devices with ins (in graph-input order) bound and run;
 * returns the session (caller frees) with its outputs. */
static loom_session *run_session_opts(const loom_model *m, const char *devices, bool strict, bool unfused,
                                      int n_in, loom_tensor *const *ins, const char *label)
{
    loom_input_shape shapes[8];
    loom_value_info vi[8];
    loom_session *s = NULL;
    loom_status st;

    cr_assert_eq(loom_model_input_count(m), (size_t)n_in, "%s: model has %zu inputs, test gives %d", label,
                 loom_model_input_count(m), n_in);
    for (int i = 0; i < n_in; i++) {
        cr_assert_eq(loom_model_input(m, (size_t)i, &vi[i]), LOOM_OK);
        shapes[i] = (loom_input_shape){
            .name = vi[i].name, .rank = loom_tensor_rank(ins[i]), .dims = loom_tensor_dims(ins[i])};
    }
    st = loom_session_create(
        m,
        &(loom_session_options){
            .input_shapes = shapes, .input_shape_count = (size_t)n_in, .devices = devices, .strict = strict,
            .unfused = unfused},
        &s);
    cr_assert_eq(st, LOOM_OK, "%s on \"%s\": session: %s: %s", label, devices, loom_status_name(st),
                 loom_last_error());
    for (int i = 0; i < n_in; i++) {
        st = loom_session_set_input(s, vi[i].name, ins[i]);
        cr_assert_eq(st, LOOM_OK, "%s: input %d: %s", label, i, loom_last_error());
    }
    st = loom_session_run(s);
    cr_assert_eq(st, LOOM_OK, "%s on \"%s\": run: %s: %s", label, devices, loom_status_name(st),
                 loom_last_error());
    return s;
}

static loom_session *run_session(const loom_model *m, const char *devices, bool strict, int n_in,
                                 loom_tensor *const *ins, const char *label)
{
    return run_session_opts(m, devices, strict, false, n_in, ins, label);
}

/* Reverse the elements of every input (keeps each op's input domain). */
static void reverse_inputs(int n_in, loom_tensor **ins)
{
    for (int i = 0; i < n_in; i++) {
        size_t es = loom_dtype_size(loom_tensor_dtype(ins[i]));
        unsigned char *p = loom_tensor_data(ins[i]), tmp[8];
        for (int64_t a = 0, z = loom_tensor_numel(ins[i]) - 1; a < z; a++, z--) {
            memcpy(tmp, p + a * (int64_t)es, es);
            memcpy(p + a * (int64_t)es, p + z * (int64_t)es, es);
            memcpy(p + z * (int64_t)es, tmp, es);
        }
    }
}

/* Bind new inputs to a planned session and run it again. */
static void rerun(loom_session *s, const loom_model *m, int n_in, loom_tensor *const *ins, const char *label)
{
    loom_status st;
    for (int i = 0; i < n_in; i++) {
        loom_value_info vi;
        cr_assert_eq(loom_model_input(m, (size_t)i, &vi), LOOM_OK);
        st = loom_session_set_input(s, vi.name, ins[i]);
        cr_assert_eq(st, LOOM_OK, "%s: input %d: %s", label, i, loom_last_error());
    }
    st = loom_session_run(s);
    cr_assert_eq(st, LOOM_OK, "%s: run: %s: %s", label, loom_status_name(st), loom_last_error());
}

/* When non-zero, the number of nodes diff() expects in the opencl plan
 * (after fusion), then reset: 1 where every node should fuse into one. */
static size_t expect_nodes;

/* Pack b, run it on "ref" and on "opencl" (both strict), check the
 * placement, compare every output within t; then run both plans again
 * with the inputs reversed (a plan is built once and run many times:
 * nothing may depend on the first run's data). Frees b and ins. */
static void diff(tb_model *b, const char *op, int n_in, loom_tensor **ins, tol_t t, stats_t *st, const char *fmt,
                 ...)
{
    char label[300];
    size_t len;
    const uint8_t *bytes = tb_pack(b, &len);
    loom_model *m = NULL;
    loom_session *sr, *sc;
    loom_status s;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(label, sizeof label, fmt, ap);
    va_end(ap);
    s = loom_model_load_buffer(bytes, len, "test.onnx", NULL, NULL, &m);
    cr_assert_eq(s, LOOM_OK, "%s: load: %s", label, loom_last_error());
    sr = run_session(m, "ref", true, n_in, ins, label);
    sc = run_session(m, "opencl", true, n_in, ins, label);
    expect_on_opencl(sc, op, label);
    if (expect_nodes)
        cr_assert_eq(loom_session_node_count(sc), expect_nodes, "%s: %zu nodes in the plan, not %zu (unfused?)",
                     label, loom_session_node_count(sc), expect_nodes);
    expect_nodes = 0;
    cr_assert_eq(loom_session_output_count(sc), loom_session_output_count(sr));
    for (size_t o = 0; o < loom_session_output_count(sr); o++)
        compare(label, o, loom_session_output_tensor(sr, o), loom_session_output_tensor(sc, o), t, st);
    {
        /* and against ref as the model's own nodes compute it (no fusion:
         * a fused epilogue that ref and OpenCL got wrong alike fails) */
        loom_session *su = run_session_opts(m, "ref", true, true, n_in, ins, label);
        char ul[sizeof label + 16];
        snprintf(ul, sizeof ul, "%s (unfused ref)", label);
        for (size_t o = 0; o < loom_session_output_count(sr); o++)
            compare(ul, o, loom_session_output_tensor(su, o), loom_session_output_tensor(sc, o), t, st);
        loom_session_free(su);
    }
    reverse_inputs(n_in, ins);
    rerun(sr, m, n_in, ins, label);
    rerun(sc, m, n_in, ins, label);
    strncat(label, " (second run, inputs reversed)", sizeof label - strlen(label) - 1);
    for (size_t o = 0; o < loom_session_output_count(sr); o++)
        compare(label, o, loom_session_output_tensor(sr, o), loom_session_output_tensor(sc, o), t, st);
    loom_session_free(sr);
    loom_session_free(sc);
    loom_model_free(m);
    tb_free(b);
    for (int i = 0; i < n_in; i++)
        loom_tensor_free(ins[i]);
}

/* A model whose graph input "x" (shaped like x) feeds one node op
 * (inputs named in `inputs`, "x" among them) -> "y". */
static tb_model *one_node(int64_t opset, const char *op, const loom_tensor *x, const char *inputs,
                          Onnx__NodeProto **node)
{
    tb_model *b = tb_new(opset);
    tb_input(b, "x", loom_tensor_dtype(x), loom_tensor_rank(x), loom_tensor_dims(x));
    *node = tb_node(b, op, inputs, "y");
    tb_output(b, "y");
    return b;
}

/* Values an op must treat as the reference does (unary ops, Clip, MaxPool). */
static const float SPECIALS[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1.0f, -1.0f, 0.5f, -2.0f, 1e-30f};

static loom_tensor *with_specials(loom_tensor *t)
{
    float *p = loom_tensor_data(t);
    for (int64_t i = 0; i < loom_tensor_numel(t) && i < (int64_t)ARRAY_LEN(SPECIALS); i++)
        p[i] = SPECIALS[i];
    return t;
}

/* ------------------------------------------------------------------------ */
/* Gemm                                                                      */
/* ------------------------------------------------------------------------ */

/* Shapes (M, K, N) off the GEMM tiles (NDRange: 8 x 32 per work-item, 16
 * rows per group; systolic: 8 x 8), K = 1, and a few exact multiples. */
typedef struct {
    int64_t M, K, N;
} mkn_t;

static const mkn_t SHAPES[] = {
    {1, 1, 1},     {1, 7, 3},     {3, 1, 17},   {7, 17, 1},    {17, 33, 65},  {33, 65, 100},
    {65, 100, 129}, {100, 129, 33}, {129, 3, 7}, {8, 32, 32},   {16, 256, 64}, {9, 1, 257},
    {2, 300, 5},   {31, 17, 33},  {128, 64, 96}, {1, 129, 100}, {100, 1, 1},   {5, 1000, 3},
};

enum { BIAS_NONE, BIAS_N, BIAS_1N, BIAS_SCALAR, BIAS_1 };

typedef struct {
    int trans_a, trans_b;
    float alpha, beta;
    int bias;     /* BIAS_* */
    bool b_const; /* B an initializer (required for transB / alpha != 1) */
    const char *act; /* activation after it (fused into it), or NULL */
} gemm_case;

/* Tolerance of a GEMM-like op with activation act fused into it: the
 * activation's slope is at most 1, plus its own ulps (see unary_ops). */
static tol_t tol_k_act(double K, const char *act)
{
    tol_t t = tol_k(K);
    t.ulps = !act || strcmp(act, "Relu") == 0 || strcmp(act, "Clip") == 0 ? 0
             : strcmp(act, "Tanh") == 0                                ? 7
                                                                       : 8.5;
    return t;
}

/* Ends a model: node out -> "y", through act when act is not NULL; the
 * op name diff() expects ("Gemm" or "Gemm+Relu") goes into opname. */
static void finish_act(tb_model *b, const char *op, const char *act, char *opname, size_t size)
{
    if (act && strcmp(act, "Clip") == 0) {
        /* ReLU6, as exporters write it: constant min and max inputs */
        tb_node(b, "Clip", "t,clip_lo,clip_hi", "y");
        tb_init(b, "clip_lo", LOOM_F32, 0, NULL, (const float[]){0.0f});
        tb_init(b, "clip_hi", LOOM_F32, 0, NULL, (const float[]){6.0f});
    } else if (act && strcmp(act, "SiLU") == 0) {
        /* x * sigmoid(x) as two nodes, as exporters write it */
        tb_node(b, "Sigmoid", "t", "gate");
        tb_node(b, "Mul", "gate,t", "y");
    } else if (act && strcmp(act, "GELU") == 0) {
        /* the erf form as PyTorch exports it: Div, Erf, Add, Mul, Mul */
        tb_node(b, "Div", "t,sqrt2", "gd");
        tb_node(b, "Erf", "gd", "ge");
        tb_node(b, "Add", "ge,one", "ga");
        tb_node(b, "Mul", "t,ga", "gm");
        tb_node(b, "Mul", "gm,half", "y");
        tb_init(b, "sqrt2", LOOM_F32, 0, NULL, (const float[]){1.41421354f});
        tb_init(b, "one", LOOM_F32, 0, NULL, (const float[]){1.0f});
        tb_init(b, "half", LOOM_F32, 0, NULL, (const float[]){0.5f});
        act = "Gelu";
    } else if (act) {
        tb_node(b, act, "t", "y");
    }
    tb_output(b, "y");
    snprintf(opname, size, "%s%s%s", op, act ? "+" : "", act ? act : "");
}

static void gemm_diff(rng_t *r, stats_t *st, int64_t M, int64_t K, int64_t N, gemm_case c)
{
    static const char *const bias_names[] = {"none", "[N]", "[1,N]", "scalar", "[1]"};
    tb_model *b = tb_new(13);
    loom_tensor *ins[2];
    int n_in = 0;
    const int64_t ad[2] = {c.trans_a ? K : M, c.trans_a ? M : K}, bd[2] = {c.trans_b ? N : K, c.trans_b ? K : N};
    Onnx__NodeProto *n;
    char opname[32];

    /* transA needs a constant A; then B must be a graph input, or the
     * node would fold away */
    if (c.trans_a) {
        init_rand(b, r, "a", 2, ad, -1, 1);
    } else {
        ins[n_in++] = rand_t(r, 2, ad, -1, 1);
        tb_input(b, "a", LOOM_F32, 2, ad);
    }
    if (c.b_const) {
        init_rand(b, r, "b", 2, bd, -1, 1);
    } else {
        ins[n_in++] = rand_t(r, 2, bd, -1, 1);
        tb_input(b, "b", LOOM_F32, 2, bd);
    }
    switch (c.bias) {
    case BIAS_N: init_rand(b, r, "c", 1, DIMS(N), -1, 1); break;
    case BIAS_1N: init_rand(b, r, "c", 2, DIMS(1, N), -1, 1); break;
    case BIAS_SCALAR: init_rand(b, r, "c", 0, NULL, -1, 1); break;
    case BIAS_1: init_rand(b, r, "c", 1, DIMS(1), -1, 1); break;
    default: break;
    }
    n = tb_node(b, "Gemm", c.bias != BIAS_NONE ? "a,b,c" : "a,b", c.act ? "t" : "y");
    if (c.trans_a)
        tb_attr_int(b, n, "transA", 1);
    if (c.trans_b)
        tb_attr_int(b, n, "transB", 1);
    if (c.alpha != 1.0f)
        tb_attr_float(b, n, "alpha", c.alpha);
    if (c.beta != 1.0f)
        tb_attr_float(b, n, "beta", c.beta);
    finish_act(b, "Gemm", c.act, opname, sizeof opname);
    diff(b, opname, n_in, ins, tol_k_act((double)K * fmax(1.0, fabs(c.alpha)), c.act), st,
         "%s M=%lld K=%lld N=%lld transA=%d transB=%d alpha=%g beta=%g C=%s B %s", opname, (long long)M,
         (long long)K, (long long)N, c.trans_a, c.trans_b, c.alpha, c.beta, bias_names[c.bias],
         c.b_const ? "const" : "input");
}

/* Every shape, B a graph input without C and B constant with C [N]. */
static void gemm_shapes(uint64_t seed)
{
    rng_t r = {seed};
    stats_t st = {0};
    require_opencl();
    for (size_t i = 0; i < ARRAY_LEN(SHAPES); i++) {
        const mkn_t *s = &SHAPES[i];
        gemm_diff(&r, &st, s->M, s->K, s->N, (gemm_case){.alpha = 1, .beta = 1, .bias = BIAS_NONE});
        gemm_diff(&r, &st, s->M, s->K, s->N,
                  (gemm_case){.alpha = 1, .beta = 1, .bias = BIAS_N, .b_const = true});
    }
    stats_log("Gemm shapes", &st);
}

/* transA (constant A), transB (constant B), alpha, beta, every C form. */
static void gemm_attrs(uint64_t seed)
{
    static const gemm_case cases[] = {
        {.trans_a = 1, .alpha = 1, .beta = 1, .bias = BIAS_N},
        {.trans_a = 1, .alpha = 1, .beta = 0.5f, .bias = BIAS_1N},
        {.trans_a = 1, .alpha = 1, .beta = 1, .bias = BIAS_NONE},
        {.trans_b = 1, .alpha = 2.5f, .beta = -1.5f, .bias = BIAS_SCALAR, .b_const = true},
        {.trans_b = 1, .alpha = 1, .beta = 2, .bias = BIAS_1, .b_const = true},
        {.trans_b = 1, .alpha = 1, .beta = 1, .bias = BIAS_NONE, .b_const = true},
        {.alpha = -0.5f, .beta = 0.5f, .bias = BIAS_1N, .b_const = true},
        {.alpha = 1, .beta = 0, .bias = BIAS_N, .b_const = false}, /* C present, beta 0: ignored */
        {.alpha = 0, .beta = 1, .bias = BIAS_N, .b_const = true},  /* alpha 0: y = C */
        {.alpha = 1, .beta = -1, .bias = BIAS_SCALAR, .b_const = false},
        {.trans_b = 1, .alpha = 0.25f, .beta = 1, .bias = BIAS_1N, .b_const = true},
    };
    static const mkn_t shapes[] = {{33, 65, 17}, {7, 100, 129}, {1, 1, 1}, {65, 3, 1}, {17, 1, 33}};
    rng_t r = {seed};
    stats_t st = {0};
    require_opencl();
    for (size_t c = 0; c < ARRAY_LEN(cases); c++)
        for (size_t i = 0; i < ARRAY_LEN(shapes); i++)
            gemm_diff(&r, &st, shapes[i].M, shapes[i].K, shapes[i].N, cases[c]);
    stats_log("Gemm attributes", &st);
}

Test(opencl, gemm_shapes)
{
    gemm_shapes(101);
}

Test(opencl, gemm_trans_alpha_beta_bias)
{
    gemm_attrs(102);
}

/* A Gemm of at most 4 rows with transB (a classifier): loom_gemv_f32, the
 * weights one output per row, 16-wide along K with a scalar tail; 5 rows
 * go to the GEMM again. */
Test(opencl, gemm_few_rows_gemv)
{
    static const mkn_t shapes[] = {{1, 1030, 1000}, {2, 37, 33}, {3, 16, 1}, {4, 15, 7}, {1, 2048, 5}, {5, 40, 9}};
    static const gemm_case cases[] = {
        {.trans_b = 1, .alpha = 1, .beta = 1, .bias = BIAS_N, .b_const = true},
        {.trans_b = 1, .alpha = 0.5f, .beta = 2, .bias = BIAS_1N, .b_const = true, .act = "Relu"},
        {.trans_b = 1, .alpha = 1, .beta = 1, .bias = BIAS_NONE, .b_const = true, .act = "Sigmoid"},
    };
    rng_t r = {103};
    stats_t st = {0};
    require_opencl();
    for (size_t c = 0; c < ARRAY_LEN(cases); c++)
        for (size_t i = 0; i < ARRAY_LEN(shapes); i++)
            gemm_diff(&r, &st, shapes[i].M, shapes[i].K, shapes[i].N, cases[c]);
    stats_log("Gemm few rows", &st);
}

Test(opencl_systolic, gemm_shapes)
{
    gemm_shapes(201);
}

Test(opencl_systolic, gemm_trans_alpha_beta_bias)
{
    gemm_attrs(202);
}

/* ------------------------------------------------------------------------ */
/* MatMul                                                                    */
/* ------------------------------------------------------------------------ */

/* "1,2,3" */
static const char *dims_str(int rank, const int64_t *d, char *buf, size_t size)
{
    buf[0] = '\0';
    for (int i = 0; i < rank; i++)
        snprintf(buf + strlen(buf), size - strlen(buf), "%s%lld", i ? "," : "", (long long)d[i]);
    return buf;
}

enum { BOTH_INPUTS, B_CONST, A_CONST };

/* MatMul a x b, then a bias Add (bias 0: none; 1: c [N] + t; 2:
 * t + c [1, N]), then act; the bias fuses into the MatMul. */
static void matmul_bias_act(rng_t *r, stats_t *st, int ra, const int64_t *da, int rb, const int64_t *db,
                            int konst, int bias, const char *act)
{
    tb_model *b = tb_new(13);
    loom_tensor *ins[2];
    int n_in = 0;
    int64_t N = rb > 1 ? db[rb - 1] : 1;
    char sa[96], sb[96], opname[32];

    if (konst == A_CONST) {
        init_rand(b, r, "a", ra, da, -1, 1);
    } else {
        ins[n_in++] = rand_t(r, ra, da, -1, 1);
        tb_input(b, "a", LOOM_F32, ra, da);
    }
    if (konst == B_CONST) {
        init_rand(b, r, "b", rb, db, -1, 1);
    } else {
        ins[n_in++] = rand_t(r, rb, db, -1, 1);
        tb_input(b, "b", LOOM_F32, rb, db);
    }
    tb_node(b, "MatMul", "a,b", bias ? "mm" : (act ? "t" : "y"));
    if (bias == 1) {
        init_rand(b, r, "c", 1, DIMS(N), -1, 1);
        tb_node(b, "Add", "c,mm", act ? "t" : "y");
    } else if (bias == 2) {
        init_rand(b, r, "c", 2, DIMS(1, N), -1, 1);
        tb_node(b, "Add", "mm,c", act ? "t" : "y");
    }
    finish_act(b, "MatMul", act, opname, sizeof opname);
    expect_nodes = 1;
    diff(b, opname, n_in, ins, tol_k_act((double)da[ra - 1] + (bias ? 1 : 0), act), st, "%s%s [%s] x [%s]%s",
         opname, bias ? " (bias Add)" : "", dims_str(ra, da, sa, sizeof sa), dims_str(rb, db, sb, sizeof sb),
         konst == B_CONST ? " (B const)" : (konst == A_CONST ? " (A const)" : ""));
}

static void matmul_act(rng_t *r, stats_t *st, int ra, const int64_t *da, int rb, const int64_t *db, int konst,
                       const char *act)
{
    matmul_bias_act(r, st, ra, da, rb, db, konst, 0, act);
}

static void matmul_diff(rng_t *r, stats_t *st, int ra, const int64_t *da, int rb, const int64_t *db, int konst)
{
    matmul_act(r, st, ra, da, rb, db, konst, NULL);
}

static void matmul_2d(uint64_t seed)
{
    rng_t r = {seed};
    stats_t st = {0};
    require_opencl();
    for (size_t i = 0; i < ARRAY_LEN(SHAPES); i++)
        matmul_diff(&r, &st, 2, DIMS(SHAPES[i].M, SHAPES[i].K), 2, DIMS(SHAPES[i].K, SHAPES[i].N), (int)(i % 3));
    stats_log("MatMul 2-D", &st);
}

static void matmul_batched(uint64_t seed)
{
    rng_t r = {seed};
    stats_t st = {0};
    require_opencl();
    matmul_diff(&r, &st, 3, DIMS(3, 17, 33), 3, DIMS(3, 33, 65), BOTH_INPUTS);
    matmul_diff(&r, &st, 3, DIMS(2, 65, 100), 3, DIMS(2, 100, 7), BOTH_INPUTS);
    /* broadcast batch dims both ways */
    matmul_diff(&r, &st, 4, DIMS(2, 1, 7, 5), 3, DIMS(3, 5, 9), BOTH_INPUTS);
    matmul_diff(&r, &st, 2, DIMS(7, 5), 3, DIMS(4, 5, 3), BOTH_INPUTS);
    matmul_diff(&r, &st, 3, DIMS(4, 9, 1), 3, DIMS(1, 1, 13), BOTH_INPUTS); /* K = 1 */
    matmul_diff(&r, &st, 4, DIMS(2, 3, 1, 17), 2, DIMS(17, 33), B_CONST);
    matmul_diff(&r, &st, 3, DIMS(5, 65, 100), 2, DIMS(100, 3), B_CONST);
    matmul_diff(&r, &st, 5, DIMS(2, 1, 2, 3, 4), 5, DIMS(1, 3, 1, 4, 5), BOTH_INPUTS);
    matmul_diff(&r, &st, 3, DIMS(1, 33, 129), 4, DIMS(2, 3, 129, 17), BOTH_INPUTS);
    matmul_diff(&r, &st, 2, DIMS(17, 33), 3, DIMS(3, 33, 65), A_CONST);
    /* a bias Add fused in; the batches folded into rows when B is 2-D */
    matmul_bias_act(&r, &st, 3, DIMS(65, 1, 33), 2, DIMS(33, 129), B_CONST, 1, NULL);
    matmul_bias_act(&r, &st, 4, DIMS(2, 3, 5, 17), 2, DIMS(17, 7), BOTH_INPUTS, 2, NULL);
    matmul_bias_act(&r, &st, 3, DIMS(2, 5, 17), 3, DIMS(2, 17, 7), BOTH_INPUTS, 1, NULL);
    stats_log("MatMul batched", &st);
}

static void matmul_1d(uint64_t seed)
{
    rng_t r = {seed};
    stats_t st = {0};
    require_opencl();
    matmul_diff(&r, &st, 1, DIMS(33), 2, DIMS(33, 17), BOTH_INPUTS);
    matmul_diff(&r, &st, 2, DIMS(17, 33), 1, DIMS(33), BOTH_INPUTS);
    matmul_diff(&r, &st, 1, DIMS(100), 1, DIMS(100), BOTH_INPUTS); /* -> scalar */
    matmul_diff(&r, &st, 1, DIMS(7), 3, DIMS(2, 7, 5), BOTH_INPUTS);
    matmul_diff(&r, &st, 3, DIMS(3, 4, 7), 1, DIMS(7), B_CONST);
    matmul_diff(&r, &st, 1, DIMS(1), 1, DIMS(1), BOTH_INPUTS); /* K = 1 */
    matmul_diff(&r, &st, 1, DIMS(1), 2, DIMS(1, 65), BOTH_INPUTS);
    matmul_diff(&r, &st, 2, DIMS(129, 1), 1, DIMS(1), BOTH_INPUTS);
    matmul_diff(&r, &st, 1, DIMS(7), 2, DIMS(7, 9), A_CONST);
    stats_log("MatMul 1-D", &st);
}

Test(opencl, matmul_2d)
{
    matmul_2d(111);
}

Test(opencl, matmul_batched_and_broadcast)
{
    matmul_batched(112);
}

Test(opencl, matmul_1d_operands)
{
    matmul_1d(113);
}

/* K = 0: the sum is empty (0, plus the bias); an empty plane's mean is
 * NaN. (Nodes with an empty output fold away; these do not.) */
Test(opencl, empty_reductions)
{
    rng_t r = {115};
    stats_t st = {0};
    loom_tensor *x;
    Onnx__NodeProto *n;
    tb_model *b;
    require_opencl();
    matmul_diff(&r, &st, 2, DIMS(3, 0), 2, DIMS(0, 4), BOTH_INPUTS);
    matmul_diff(&r, &st, 3, DIMS(2, 3, 0), 2, DIMS(0, 4), B_CONST);
    gemm_diff(&r, &st, 3, 0, 4, (gemm_case){.alpha = 1, .beta = 1, .bias = BIAS_N});
    gemm_diff(&r, &st, 17, 0, 33, (gemm_case){.trans_b = 1, .alpha = 2, .beta = 1, .bias = BIAS_1N, .b_const = true});
    x = rand_t(&r, 4, DIMS(1, 2, 0, 3), -1, 1);
    b = one_node(13, "GlobalAveragePool", x, "x", &n);
    diff(b, "GlobalAveragePool", 1, &x, EXACT, &st, "GlobalAveragePool of empty planes");
    stats_log("empty reductions", &st);
}

/* K * N >= GEMM_STAGE_MIN (3145728, or 262144 on Intel), M > GEMM_MWI
 * and K >= GEMM_KWG (256): the PoCL tuning entries (GEMM_LOCAL=1) stage
 * slices of B in local memory on this path only; N = 3060 is not a multiple of the 32-column tile. */
Test(opencl, matmul_staged_large_b)
{
    rng_t r = {114};
    stats_t st = {0};
    require_opencl();
    matmul_diff(&r, &st, 2, DIMS(17, 1030), 2, DIMS(1030, 3060), B_CONST);
    /* B read in place (below the staging size), 128 column blocks: a
     * decoder's logits (a column-block loop once broke this path) */
    matmul_diff(&r, &st, 3, DIMS(1, 64, 256), 2, DIMS(256, 4096), B_CONST);
    /* batched: the staged slices start at a nonzero b_off */
    matmul_diff(&r, &st, 3, DIMS(2, 9, 1030), 3, DIMS(2, 1030, 3060), BOTH_INPUTS);
    stats_log("MatMul staged B", &st);
}

Test(opencl_systolic, matmul_2d)
{
    matmul_2d(211);
}

Test(opencl_systolic, matmul_batched_and_broadcast)
{
    matmul_batched(212);
}

Test(opencl_systolic, matmul_1d_operands)
{
    matmul_1d(213);
}

/* ------------------------------------------------------------------------ */
/* Conv                                                                      */
/* ------------------------------------------------------------------------ */

typedef struct {
    int64_t N, C, H, W, M, KH, KW, SH, SW, PT, PL, PB, PR, DH, DW, G;
    bool bias;
    const char *auto_pad; /* NULL: explicit pads */
    const char *act;      /* activation after it (fused into it), or NULL */
} conv_case;

static void conv_diff(rng_t *r, stats_t *st, const conv_case *c)
{
    const int64_t xd[4] = {c->N, c->C, c->H, c->W};
    loom_tensor *x = rand_t(r, 4, xd, -1, 1);
    tb_model *b = tb_new(13);
    Onnx__NodeProto *n;
    int64_t K = c->C / c->G * c->KH * c->KW;
    char opname[32];

    tb_input(b, "x", LOOM_F32, 4, xd);
    n = tb_node(b, "Conv", c->bias ? "x,w,bias" : "x,w", c->act ? "t" : "y");
    finish_act(b, "Conv", c->act, opname, sizeof opname);
    init_rand(b, r, "w", 4, DIMS(c->M, c->C / c->G, c->KH, c->KW), -1, 1);
    if (c->bias)
        init_rand(b, r, "bias", 1, DIMS(c->M), -1, 1);
    ATTR_INTS(b, n, "kernel_shape", c->KH, c->KW);
    ATTR_INTS(b, n, "strides", c->SH, c->SW);
    ATTR_INTS(b, n, "dilations", c->DH, c->DW);
    if (c->auto_pad)
        tb_attr_string(b, n, "auto_pad", c->auto_pad);
    else
        ATTR_INTS(b, n, "pads", c->PT, c->PL, c->PB, c->PR);
    if (c->G != 1)
        tb_attr_int(b, n, "group", c->G);
    diff(b, opname, 1, &x, tol_k_act((double)K + c->bias, c->act), st,
         "%s x[%lld,%lld,%lld,%lld] w[%lld,%lld,%lld,%lld] strides %lld,%lld pads %s%lld,%lld,%lld,%lld "
         "dilations %lld,%lld group %lld%s",
         opname, (long long)c->N, (long long)c->C, (long long)c->H, (long long)c->W, (long long)c->M,
         (long long)(c->C / c->G), (long long)c->KH, (long long)c->KW, (long long)c->SH, (long long)c->SW,
         c->auto_pad ? c->auto_pad : "", (long long)c->PT, (long long)c->PL, (long long)c->PB,
         (long long)c->PR, (long long)c->DH, (long long)c->DW, (long long)c->G, c->bias ? " bias" : "");
}

static void conv_all(uint64_t seed)
{
    static const conv_case cases[] = {
        /* N  C  H   W   M  KH KW SH SW PT PL PB PR DH DW G  bias auto_pad act */
        {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, false, NULL, NULL},
        {1, 3, 7, 7, 5, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, true, NULL, NULL},
        {2, 4, 9, 11, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, true, NULL, NULL},
        {1, 3, 17, 13, 4, 2, 5, 1, 3, 0, 2, 1, 0, 1, 1, 1, false, NULL, NULL}, /* asymmetric pads */
        {2, 5, 12, 10, 7, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1, true, NULL, NULL},  /* dilation 2 */
        {1, 3, 11, 9, 2, 3, 2, 2, 1, 1, 0, 2, 1, 3, 2, 1, true, NULL, NULL},   /* mixed dilation, stride */
        {2, 4, 10, 9, 6, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1, 2, true, NULL, NULL},   /* groups 2 */
        {2, 8, 9, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 8, true, NULL, NULL},    /* depthwise */
        {1, 4, 8, 7, 8, 3, 3, 2, 1, 1, 0, 1, 0, 1, 1, 4, false, NULL, NULL},   /* depthwise, multiplier 2 */
        {3, 6, 5, 7, 9, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 3, true, NULL, NULL},    /* batch 3, groups 3 */
        {1, 33, 17, 17, 17, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, true, NULL, NULL}, /* pointwise */
        {1, 3, 33, 33, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true, NULL, NULL}, /* P = 1089 */
        {1, 16, 20, 20, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, true, NULL, NULL},
        {1, 3, 5, 5, 4, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1, true, NULL, NULL},    /* kernel = image */
        {1, 2, 7, 8, 3, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, 1, true, "SAME_UPPER", NULL},
        {2, 2, 6, 5, 4, 2, 2, 3, 2, 0, 0, 0, 0, 1, 1, 2, false, "SAME_LOWER", NULL},
        {1, 65, 3, 3, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true, NULL, NULL},   /* K = 585 */
        /* the direct kernel (every grouped layer) and the im2col rows past
         * one work-group along the width */
        {1, 1, 5, 6, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true, NULL, NULL},    /* one channel */
        {2, 3, 13, 11, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 3, true, NULL, NULL},  /* depthwise 3, stride 2 */
        {1, 7, 15, 70, 7, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 7, true, NULL, NULL},  /* depthwise 7, dilation, wide */
        {1, 7, 9, 37, 14, 5, 3, 2, 1, 2, 1, 0, 1, 1, 2, 7, false, NULL, NULL}, /* multiplier 2, odd window */
        {2, 7, 6, 5, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, true, NULL, NULL},    /* pointwise, batch 2 */
        {1, 3, 9, 70, 5, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1, 1, true, NULL, NULL},   /* wide im2col rows */
        {2, 6, 8, 9, 4, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 2, true, NULL, NULL},    /* strided 1x1, groups 2 */
        {1, 3, 8, 9, 4, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, true, NULL, NULL},    /* padded 1x1 */
        {1, 3, 23, 21, 5, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1, true, NULL, NULL},  /* 7x7 stem, im2col_k7 */
        {2, 4, 9, 10, 3, 5, 5, 1, 2, 2, 1, 2, 1, 1, 1, 1, false, NULL, NULL}, /* 5x5, im2col_k5 */
        /* loom_dwconv2d: the 5x5 copy, the run-time window, epilogues */
        {1, 5, 11, 13, 5, 5, 5, 2, 2, 2, 2, 2, 2, 1, 1, 5, true, NULL, NULL},  /* depthwise 5x5, stride 2 */
        {2, 3, 9, 8, 3, 3, 5, 1, 1, 1, 2, 0, 2, 1, 1, 3, true, NULL, NULL},   /* depthwise 3x5, asymmetric */
        {1, 7, 7, 9, 7, 5, 5, 1, 1, 4, 4, 4, 4, 2, 2, 7, false, NULL, NULL},  /* 5x5 dilated, all border */
        {1, 6, 10, 11, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 6, true, NULL, "Clip"}, /* ReLU6, MobileNet's */
        {1, 5, 8, 9, 5, 5, 5, 2, 2, 2, 2, 2, 2, 1, 1, 5, true, NULL, "SiLU"},   /* EfficientNet's */
        /* its 8-wide interior (stride 1; stride 2 from 16-wide loads) and
         * the 8-wide activation pass, with scalar remainders (planes past
         * the small kernel's tile) */
        {1, 3, 40, 29, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3, true, NULL, "Clip"},  /* 3 vectors + 3 */
        {2, 3, 30, 40, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 3, false, NULL, NULL},   /* stride 2, wide */
        {1, 4, 25, 41, 4, 5, 5, 2, 2, 2, 2, 2, 2, 1, 1, 4, true, NULL, "SiLU"}, /* 5x5 stride 2, wide */
        /* a 1 x 1 image, pointwise: one x . Wt GEMM over the batch */
        {2, 40, 1, 1, 72, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, true, NULL, "SiLU"}, /* squeeze-excitation */
        {3, 7, 1, 1, 5, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, false, NULL, NULL},
        /* loom_dwconv2d_small: a plane per work-item in a padded tile (the
         * small cases above go there too) */
        {2, 6, 14, 14, 6, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 6, true, NULL, "SiLU"},  /* EfficientNet's late */
        {1, 9, 7, 7, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 9, true, NULL, "Clip"},    /* MobileNet's last */
        {1, 5, 7, 7, 5, 5, 5, 2, 2, 2, 2, 2, 2, 1, 1, 5, false, NULL, NULL},    /* 5x5 stride 2 */
        {1, 4, 13, 9, 4, 3, 3, 1, 1, 1, 0, 2, 3, 1, 1, 4, true, NULL, NULL},    /* asymmetric pads */
        {1, 3, 12, 12, 3, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 3, true, NULL, NULL},   /* dilation 2 */
        {1, 3, 29, 29, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3, true, NULL, NULL},   /* 31 x 31 tile, near its limit */
    };
    rng_t r = {seed};
    stats_t st = {0};
    require_opencl();
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        conv_diff(&r, &st, &cases[i]);
    stats_log("Conv", &st);
}

/* A chain of three convolutions whose im2col matrices grow along it, so
 * the device's shared scratch is regrown while the model is planned; a
 * 3x3 conv ahead of it, small, planned first in another session. */
static tb_model *conv_chain(rng_t *r, int links)
{
    static const int64_t shape[3][4] = {{8, 3, 3, 1}, {16, 8, 5, 2}, {4, 16, 3, 1}}; /* M, C, k, pad */
    tb_model *b = tb_new(13);
    char in[16] = "x", out[16], w[16];
    tb_input(b, "x", LOOM_F32, 4, DIMS(1, 3, 17, 15));
    for (int i = 0; i < links; i++) {
        Onnx__NodeProto *n;
        char ins[40];
        snprintf(out, sizeof out, i == links - 1 ? "y" : "c%d", i);
        snprintf(w, sizeof w, "w%d", i);
        snprintf(ins, sizeof ins, "%s,%s", in, w);
        init_rand(b, r, w, 4, DIMS(shape[i][0], shape[i][1], shape[i][2], shape[i][2]), -1, 1);
        n = tb_node(b, "Conv", ins, out);
        ATTR_INTS(b, n, "kernel_shape", shape[i][2], shape[i][2]);
        ATTR_INTS(b, n, "pads", shape[i][3], shape[i][3], shape[i][3], shape[i][3]);
        snprintf(in, sizeof in, "%s", out);
    }
    tb_output(b, "y");
    return b;
}

static loom_model *load_built(tb_model *b)
{
    size_t len;
    const uint8_t *bytes = tb_pack(b, &len);
    loom_model *m = NULL;
    cr_assert_eq(loom_model_load_buffer(bytes, len, "test.onnx", NULL, NULL, &m), LOOM_OK, "%s",
                 loom_last_error());
    return m;
}

/* Convolutions share the device's scratch matrices (guard mode off here:
 * in it, each keeps its own buffer of the exact size). A session planned
 * before another regrew the scratch still runs right, and so do both
 * after the other ran. */
Test(opencl, conv_shared_scratch)
{
    rng_t r = {131};
    stats_t st = {0};
    tb_model *bs, *bl;
    loom_model *ms, *ml;
    loom_session *s_small, *s_large, *ref_small, *ref_large;
    loom_tensor *x;
    require_opencl();
    setenv("LOOM_CL_GUARD", "0", 1);
    x = rand_t(&r, 4, DIMS(1, 3, 17, 15), -1, 1);
    bs = conv_chain(&r, 1);
    ms = load_built(bs);
    s_small = run_session(ms, "opencl", true, 1, &x, "one conv");
    ref_small = run_session(ms, "ref", true, 1, &x, "one conv on ref");
    bl = conv_chain(&r, 3);
    ml = load_built(bl);
    s_large = run_session(ml, "opencl", true, 1, &x, "three convs");
    ref_large = run_session(ml, "ref", true, 1, &x, "three convs on ref");
    cr_assert_eq(nodes_on_opencl(s_large), 3);
    compare("three convs", 0, loom_session_output_tensor(ref_large, 0), loom_session_output_tensor(s_large, 0),
            tol_k(27 + 200 + 144), &st);
    /* the first session's plan now reads the regrown scratch */
    rerun(s_small, ms, 1, &x, "one conv, after the scratch grew");
    compare("one conv, after the scratch grew", 0, loom_session_output_tensor(ref_small, 0),
            loom_session_output_tensor(s_small, 0), tol_k(27), &st);
    reverse_inputs(1, &x);
    rerun(s_large, ml, 1, &x, "three convs, again");
    rerun(ref_large, ml, 1, &x, "three convs on ref, again");
    compare("three convs, again", 0, loom_session_output_tensor(ref_large, 0),
            loom_session_output_tensor(s_large, 0), tol_k(27 + 200 + 144), &st);
    stats_log("Conv, shared scratch", &st);
    loom_session_free(s_small);
    loom_session_free(s_large);
    loom_session_free(ref_small);
    loom_session_free(ref_large);
    loom_model_free(ms);
    loom_model_free(ml);
    tb_free(bs);
    tb_free(bl);
    loom_tensor_free(x);
}

/* The memory plan: every fixture model on OpenCL (ref for what it cannot
 * run) gives the same outputs, bit for bit, with the plan (values whose
 * lifetimes do not overlap share a device buffer) as with a buffer per
 * value; the plan's steps never read a shared buffer holding another
 * value; and the plan does share. */
static void plan_vs_own(const char *fixture, size_t *shared)
{
    char path[512];
    loom_model *m = NULL;
    loom_tensor *x = NULL;
    loom_session *s[2];
    loom_value_info vi;
    size_t bufs[2], vals[2];
    snprintf(path, sizeof path, "%s/tests/models/%s/x.npy", LOOM_SOURCE_DIR, fixture);
    cr_assert_eq(loom_npy_load(path, &x), LOOM_OK, "%s: %s", path, loom_last_error());
    snprintf(path, sizeof path, "%s/tests/models/%s/model.onnx", LOOM_SOURCE_DIR, fixture);
    cr_assert_eq(loom_model_load(path, NULL, &m), LOOM_OK, "%s: %s", path, loom_last_error());
    cr_assert_eq(loom_model_input(m, 0, &vi), LOOM_OK);
    for (int own = 0; own < 2; own++) {
        loom_input_shape shape = {.name = vi.name, .rank = loom_tensor_rank(x), .dims = loom_tensor_dims(x)};
        cr_assert_eq(loom_session_create(m,
                                         &(loom_session_options){.input_shapes = &shape, .input_shape_count = 1,
                                                                 .devices = "opencl", .own_buffers = own},
                                         &s[own]),
                     LOOM_OK, "%s: %s", fixture, loom_last_error());
        cr_assert_eq(loom_session_set_input(s[own], vi.name, x), LOOM_OK, "%s", loom_last_error());
        cr_assert_eq(loom_session_run(s[own]), LOOM_OK, "%s: %s", fixture, loom_last_error());
        cr_assert_eq(loom__session_check_buffers(s[own], &bufs[own], &vals[own]), LOOM_OK, "%s%s: %s", fixture,
                     own ? " (own buffers)" : "", loom_last_error());
    }
    cr_assert_gt(nodes_on_opencl(s[0]), 0, "%s: nothing on OpenCL", fixture);
    cr_assert_eq(bufs[1], vals[1], "%s: own_buffers shares a buffer", fixture);
    cr_assert_eq(vals[0], vals[1], "%s: the plans map different values", fixture);
    cr_assert_eq(loom_session_output_count(s[0]), loom_session_output_count(s[1]));
    for (size_t o = 0; o < loom_session_output_count(s[0]); o++) {
        const loom_tensor *a = loom_session_output_tensor(s[0], o), *b = loom_session_output_tensor(s[1], o);
        cr_assert(a && b && loom_tensor_numel(a) == loom_tensor_numel(b));
        cr_assert(memcmp(loom_tensor_cdata(a), loom_tensor_cdata(b),
                         (size_t)loom_tensor_numel(a) * loom_dtype_size(loom_tensor_dtype(a))) == 0,
                  "%s: output %zu differs with the memory plan", fixture, o);
    }
    /* and again, on other inputs: the shared buffers hold nothing stale */
    reverse_inputs(1, &x);
    for (int own = 0; own < 2; own++) {
        cr_assert_eq(loom_session_set_input(s[own], vi.name, x), LOOM_OK, "%s", loom_last_error());
        cr_assert_eq(loom_session_run(s[own]), LOOM_OK, "%s: %s", fixture, loom_last_error());
    }
    for (size_t o = 0; o < loom_session_output_count(s[0]); o++) {
        const loom_tensor *a = loom_session_output_tensor(s[0], o), *b = loom_session_output_tensor(s[1], o);
        cr_assert(memcmp(loom_tensor_cdata(a), loom_tensor_cdata(b),
                         (size_t)loom_tensor_numel(a) * loom_dtype_size(loom_tensor_dtype(a))) == 0,
                  "%s: output %zu differs with the memory plan (second run)", fixture, o);
    }
    cr_log_info("%s: %zu values in %zu device buffers (%zu without the plan)", fixture, vals[0], bufs[0], bufs[1]);
    *shared += vals[0] - bufs[0];
    loom_session_free(s[0]);
    loom_session_free(s[1]);
    loom_model_free(m);
    loom_tensor_free(x);
}

Test(opencl, memory_plan)
{
    static const char *const fixtures[] = {"lenet", "resblock", "transformer14", "transformer17", "misc", "opset7"};
    size_t shared = 0;
    require_opencl();
    for (size_t i = 0; i < ARRAY_LEN(fixtures); i++)
        plan_vs_own(fixtures[i], &shared);
    cr_assert_gt(shared, 0, "the memory plan shared no buffer");
}

Test(opencl, conv)
{
    conv_all(121);
}

Test(opencl_systolic, conv)
{
    conv_all(221);
}

/* A residual Add after a convolution, fused into it (the GEMM's epilogue
 * adds the other operand where it stores the output, before the Relu):
 * the im2col GEMM stored transposed (with more than one column group and
 * a shifted last one: M 40), the pointwise GEMM, and a 1 x 1 image; the
 * Add's operands in either order, batches, with and without bias and
 * Relu. Against ref fused and unfused. Where the other operand is made
 * after the convolution, nothing is fused. */
Test(opencl, conv_residual_add_fused)
{
    static const struct {
        int64_t N, C, H, W, M, k, s, pad;
        bool bias, conv_first, relu;
    } cases[] = {
        {2, 3, 9, 11, 5, 3, 1, 1, true, true, true},
        {1, 7, 13, 13, 40, 3, 2, 1, false, false, true}, /* P 49, M 40 */
        {2, 7, 6, 5, 9, 1, 1, 0, false, false, false},  /* pointwise */
        {1, 16, 12, 12, 64, 1, 1, 0, true, true, true},  /* pointwise, M two tiles */
        {3, 16, 1, 1, 33, 1, 1, 0, true, true, true},    /* a 1 x 1 image */
        {1, 3, 23, 21, 8, 7, 2, 3, true, true, true},    /* a 7x7 stem */
    };
    rng_t r = {187};
    stats_t st = {0};
    require_opencl();
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const int64_t *c = &cases[i].N, OH = (c[2] + 2 * c[7] - c[5]) / c[6] + 1,
                      OW = (c[3] + 2 * c[7] - c[5]) / c[6] + 1;
        const int64_t xd[4] = {c[0], c[1], c[2], c[3]}, rd[4] = {c[0], c[4], OH, OW};
        loom_tensor *ins[2] = {rand_t(&r, 4, xd, -1, 1), rand_t(&r, 4, rd, -2, 2)};
        tb_model *b = tb_new(13);
        Onnx__NodeProto *n;
        tb_input(b, "x", LOOM_F32, 4, xd);
        tb_input(b, "r", LOOM_F32, 4, rd);
        n = tb_node(b, "Conv", cases[i].bias ? "x,w,bias" : "x,w", "t");
        init_rand(b, &r, "w", 4, DIMS(c[4], c[1], c[5], c[5]), -1, 1);
        if (cases[i].bias)
            init_rand(b, &r, "bias", 1, DIMS(c[4]), -1, 1);
        ATTR_INTS(b, n, "kernel_shape", c[5], c[5]);
        ATTR_INTS(b, n, "strides", c[6], c[6]);
        ATTR_INTS(b, n, "pads", c[7], c[7], c[7], c[7]);
        tb_node(b, "Add", cases[i].conv_first ? "t,r" : "r,t", cases[i].relu ? "s" : "y");
        if (cases[i].relu)
            tb_node(b, "Relu", "s", "y");
        tb_output(b, "y");
        expect_nodes = 1;
        diff(b, cases[i].relu ? "Conv+Add+Relu" : "Conv+Add", 2, ins,
             tol_k((double)(c[1] * c[5] * c[5]) + cases[i].bias + 1), &st,
             "Conv x[%lld,%lld,%lld,%lld] %lldx%lld stride %lld -> %lld channels, + r%s", (long long)c[0],
             (long long)c[1], (long long)c[2], (long long)c[3], (long long)c[5], (long long)c[5], (long long)c[6],
             (long long)c[4], cases[i].relu ? ", Relu" : "");
    }
    {
        /* the other operand made after the convolution: three nodes */
        loom_tensor *ins[2] = {rand_t(&r, 4, DIMS(1, 3, 8, 8), -1, 1), rand_t(&r, 4, DIMS(1, 4, 8, 8), -1, 1)};
        tb_model *b = tb_new(13);
        Onnx__NodeProto *n;
        tb_input(b, "x", LOOM_F32, 4, DIMS(1, 3, 8, 8));
        tb_input(b, "z", LOOM_F32, 4, DIMS(1, 4, 8, 8));
        n = tb_node(b, "Conv", "x,w", "t");
        init_rand(b, &r, "w", 4, DIMS(4, 3, 3, 3), -1, 1);
        ATTR_INTS(b, n, "pads", 1, 1, 1, 1);
        tb_node(b, "Neg", "z", "r");
        tb_node(b, "Add", "t,r", "y");
        tb_output(b, "y");
        expect_nodes = 3;
        diff(b, "Add", 2, ins, tol_k(28), &st, "Conv, then Neg makes the Add's other operand");
    }
    stats_log("Conv+Add", &st);
}

/* ------------------------------------------------------------------------ */
/* Activations fused into Gemm / MatMul / Conv (the GEMM kernels' act)       */
/* ------------------------------------------------------------------------ */

static void fused_all(uint64_t seed)
{
    static const char *const acts[] = {"Relu", "Sigmoid", "Tanh", "Clip", "SiLU", "HardSwish", "GELU"};
    rng_t r = {seed};
    stats_t st = {0};
    require_opencl();
    for (size_t a = 0; a < ARRAY_LEN(acts); a++) {
        const char *act = acts[a];
        conv_case c1 = {2, 4, 10, 9, 6, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1, 2, true, NULL, act};
        conv_case c2 = {1, 8, 9, 7, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 8, false, NULL, act};
        conv_case c3 = {2, 7, 5, 9, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, true, NULL, act}; /* pointwise */
        gemm_diff(&r, &st, 33, 65, 17,
                  (gemm_case){.trans_b = 1, .alpha = 1.5f, .beta = 1, .bias = BIAS_N, .b_const = true, .act = act});
        gemm_diff(&r, &st, 7, 100, 129, (gemm_case){.alpha = 1, .beta = 1, .act = act});
        gemm_diff(&r, &st, 1, 1, 1, (gemm_case){.alpha = 1, .beta = 1, .bias = BIAS_SCALAR, .b_const = true, .act = act});
        matmul_act(&r, &st, 3, DIMS(2, 17, 33), 2, DIMS(33, 65), B_CONST, act);
        matmul_act(&r, &st, 3, DIMS(3, 7, 5), 3, DIMS(3, 5, 9), BOTH_INPUTS, act);
        matmul_act(&r, &st, 1, DIMS(33), 2, DIMS(33, 17), BOTH_INPUTS, act);
        /* a bias Add between (fused too), rows folded ([S, B, d] . W) */
        matmul_bias_act(&r, &st, 3, DIMS(17, 1, 65), 2, DIMS(65, 33), B_CONST, 1 + (int)(a % 2), act);
        matmul_bias_act(&r, &st, 3, DIMS(2, 7, 5), 3, DIMS(2, 5, 9), BOTH_INPUTS, 2 - (int)(a % 2), act);
        conv_diff(&r, &st, &c1);
        conv_diff(&r, &st, &c2);
        conv_diff(&r, &st, &c3);
    }
    stats_log("fused activations", &st);
}

Test(opencl, fused_activations)
{
    fused_all(122);
}

Test(opencl_systolic, fused_activations)
{
    fused_all(222);
}

/* An activation that is not the only reader of the GEMM's output stays a
 * node of its own (both on OpenCL). */
Test(opencl, activation_not_fused_when_output_is_shared)
{
    rng_t r = {123};
    stats_t st = {0};
    loom_tensor *x = rand_t(&r, 2, DIMS(17, 33), -1, 1);
    tb_model *b = tb_new(13);
    require_opencl();
    tb_input(b, "x", LOOM_F32, 2, DIMS(17, 33));
    init_rand(b, &r, "w", 2, DIMS(33, 65), -1, 1);
    tb_node(b, "MatMul", "x,w", "t");
    tb_node(b, "Sigmoid", "t", "y");
    tb_output(b, "y");
    tb_output(b, "t"); /* the MatMul's output is also a graph output */
    diff(b, "Sigmoid", 1, &x, tol_k_act(33, "Sigmoid"), &st, "MatMul -> Sigmoid, MatMul output shared");
    stats_log("unfused activation", &st);
}

/* ------------------------------------------------------------------------ */
/* Pooling                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct {
    bool max;
    int64_t N, C, H, W, KH, KW, SH, SW, PT, PL, PB, PR, DH, DW;
    int ceil, cip;
} pool_case;

Test(opencl, max_and_average_pool)
{
    static const pool_case cases[] = {
        /* max N  C  H   W  KH KW SH SW PT PL PB PR DH DW ceil cip */
        {true, 1, 3, 7, 7, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 0, 0},
        {true, 1, 3, 7, 7, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1, 0},
        {true, 2, 3, 9, 10, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0},
        {true, 1, 2, 17, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0},
        {true, 1, 2, 9, 9, 3, 3, 1, 1, 0, 0, 0, 0, 2, 2, 0, 0},
        {true, 1, 2, 10, 11, 3, 2, 2, 3, 1, 1, 1, 1, 2, 2, 1, 0},
        {true, 1, 1, 7, 5, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 0, 0},
        {true, 2, 3, 5, 7, 5, 7, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0},
        {true, 1, 4, 8, 9, 2, 3, 2, 1, 1, 0, 0, 1, 1, 1, 0, 0},
        {true, 3, 5, 33, 65, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0},
        {false, 1, 3, 7, 7, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 0, 0},
        {false, 1, 3, 7, 7, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1, 0},
        {false, 1, 3, 7, 7, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1, 1},
        {false, 2, 3, 9, 10, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0},
        {false, 2, 3, 9, 10, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1},
        {false, 2, 3, 17, 19, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1},
        {false, 1, 2, 13, 11, 5, 5, 3, 3, 2, 1, 2, 1, 1, 1, 1, 1},
        {false, 1, 2, 13, 11, 5, 5, 3, 3, 2, 1, 2, 1, 1, 1, 1, 0},
        {false, 1, 4, 8, 9, 2, 3, 2, 1, 0, 1, 2, 0, 1, 1, 0, 0},
        {false, 1, 4, 8, 9, 2, 3, 2, 1, 0, 1, 2, 0, 1, 1, 0, 1},
        {false, 2, 5, 6, 6, 6, 6, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0}, /* global window */
        {false, 3, 5, 33, 65, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0},
    };
    rng_t r = {131};
    stats_t smax = {0}, savg = {0};
    require_opencl();
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const pool_case *c = &cases[i];
        loom_tensor *x = rand_t(&r, 4, DIMS(c->N, c->C, c->H, c->W), -1, 1);
        Onnx__NodeProto *n;
        tb_model *b = one_node(13, c->max ? "MaxPool" : "AveragePool", x, "x", &n);
        if (c->max) /* NaN and infinities are ordered as in ref */
            with_specials(x);
        ATTR_INTS(b, n, "kernel_shape", c->KH, c->KW);
        ATTR_INTS(b, n, "strides", c->SH, c->SW);
        ATTR_INTS(b, n, "pads", c->PT, c->PL, c->PB, c->PR);
        if (c->DH != 1 || c->DW != 1)
            ATTR_INTS(b, n, "dilations", c->DH, c->DW);
        if (c->ceil)
            tb_attr_int(b, n, "ceil_mode", 1);
        if (c->cip)
            tb_attr_int(b, n, "count_include_pad", 1);
        diff(b, c->max ? "MaxPool" : "AveragePool", 1, &x, c->max ? EXACT : tol_k((double)(c->KH * c->KW)),
             c->max ? &smax : &savg,
             "%s x[%lld,%lld,%lld,%lld] kernel %lld,%lld strides %lld,%lld pads %lld,%lld,%lld,%lld "
             "dilations %lld,%lld ceil_mode %d count_include_pad %d",
             c->max ? "MaxPool" : "AveragePool", (long long)c->N, (long long)c->C, (long long)c->H,
             (long long)c->W, (long long)c->KH, (long long)c->KW, (long long)c->SH, (long long)c->SW,
             (long long)c->PT, (long long)c->PL, (long long)c->PB, (long long)c->PR, (long long)c->DH,
             (long long)c->DW, c->ceil, c->cip);
    }
    stats_log("MaxPool", &smax);
    stats_log("AveragePool", &savg);
}

Test(opencl, global_average_pool)
{
    static const struct {
        int rank;
        int64_t dims[5];
    } cases[] = {
        {4, {1, 1, 1, 1}}, {3, {2, 3, 17}},    {4, {2, 5, 7, 9}},    {4, {1, 3, 33, 65}},
        {5, {1, 2, 3, 4, 5}}, {4, {3, 7, 1, 1}}, {4, {1, 4, 100, 100}}, {4, {2, 129, 3, 1}},
    };
    rng_t r = {132};
    stats_t st = {0};
    require_opencl();
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        int64_t len = numel_of(cases[i].rank - 2, cases[i].dims + 2);
        /* positive inputs: the float sum is then within len * u */
        loom_tensor *x = rand_t(&r, cases[i].rank, cases[i].dims, 0.25, 1.25);
        Onnx__NodeProto *n;
        tb_model *b = one_node(13, "GlobalAveragePool", x, "x", &n);
        diff(b, "GlobalAveragePool", 1, &x, (tol_t){.ulps = 2, .rtol = FLT_U * (double)(len + 2)}, &st,
             "GlobalAveragePool rank %d, %lld x %lld planes of %lld", cases[i].rank,
             (long long)cases[i].dims[0], (long long)cases[i].dims[1], (long long)len);
    }
    stats_log("GlobalAveragePool", &st);
}

/* ------------------------------------------------------------------------ */
/* Softmax, LayerNormalization, BatchNormalization                           */
/* ------------------------------------------------------------------------ */

typedef struct {
    int64_t opset;
    int rank;
    int64_t dims[5];
    int64_t axis; /* INT64_MIN: attribute absent (the opset's default) */
    float offset; /* added to every input (max subtraction) */
} softmax_case;

Test(opencl, softmax)
{
    static const softmax_case cases[] = {
        {13, 2, {3, 7}, -1, 0},       {13, 2, {3, 7}, 0, 0},        {13, 3, {2, 3, 17}, 1, 0},
        {13, 3, {2, 3, 17}, -1, 0},   {13, 2, {1, 100}, -1, 0},     {13, 2, {4, 1000}, 1, 0},
        {13, 4, {2, 5, 4, 3}, 2, 0},  {13, 2, {65, 1}, -1, 0},      {13, 1, {1}, 0, 0},
        {13, 5, {2, 3, 4, 5, 6}, 3, 0}, {13, 3, {3, 129, 2}, 1, 0}, {13, 3, {2, 3, 33}, INT64_MIN, 0},
        {13, 2, {5, 40}, -1, 200},    /* exp would overflow without the max subtracted */
        /* opset 11: flattens to [outer, everything from axis] */
        {11, 3, {2, 3, 17}, 1, 0},    {11, 3, {2, 3, 17}, 0, 0},    {11, 3, {2, 3, 17}, -1, 0},
        {11, 3, {4, 5, 6}, 2, 0},     {11, 4, {2, 3, 4, 5}, INT64_MIN, 0}, {11, 4, {2, 3, 4, 5}, -2, 150},
    };
    rng_t r = {141};
    stats_t st = {0};
    require_opencl();
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const softmax_case *c = &cases[i];
        loom_tensor *x = rand_t(&r, c->rank, c->dims, -5 + c->offset, 5 + c->offset);
        Onnx__NodeProto *n;
        tb_model *b = one_node(c->opset, "Softmax", x, "x", &n);
        int64_t ax = c->axis == INT64_MIN ? (c->opset < 13 ? 1 : -1) : c->axis;
        int64_t len;
        if (ax < 0)
            ax += c->rank;
        len = c->opset < 13 ? numel_of(c->rank - (int)ax, c->dims + ax) : c->dims[ax];
        if (c->axis != INT64_MIN)
            tb_attr_int(b, n, "axis", c->axis);
        diff(b, "Softmax", 1, &x, (tol_t){.ulps = 8, .rtol = 2 * FLT_U * (double)(len + 8)}, &st,
             "Softmax opset %lld rank %d axis %lld (len %lld)", (long long)c->opset, c->rank,
             (long long)c->axis, (long long)len);
    }
    {
        /* attention-style masks: -inf entries, and a first row of nothing
         * but -inf (NaN, as in ref) */
        loom_tensor *x = rand_t(&r, 3, DIMS(2, 5, 33), -5, 5);
        float *p = loom_tensor_data(x);
        Onnx__NodeProto *n;
        tb_model *b = one_node(13, "Softmax", x, "x", &n);
        for (int64_t i = 0; i < loom_tensor_numel(x); i++)
            if (i < 33 || i % 7 == 3)
                p[i] = -INFINITY;
        diff(b, "Softmax", 1, &x, (tol_t){.ulps = 8, .rtol = 2 * FLT_U * (33 + 8)}, &st,
             "Softmax with -inf entries");
    }
    stats_log("Softmax", &st);
}

typedef struct {
    int rank;
    int64_t dims[4];
    int64_t axis; /* INT64_MIN: absent (-1) */
    bool bias;
    bool params_input; /* scale and bias graph inputs instead of initializers */
    float eps;         /* 0: absent (1e-5) */
    float offset;
} layernorm_case;

Test(opencl, layer_normalization)
{
    static const layernorm_case cases[] = {
        {2, {3, 7}, -1, true, false, 0, 0},     {3, {2, 3, 17}, -1, false, false, 0, 0},
        {3, {2, 3, 17}, 1, true, false, 0, 0},  {2, {4, 100}, -1, true, false, 1e-3f, 0},
        {3, {2, 5, 129}, INT64_MIN, true, false, 0, 3},
        {2, {1, 1}, -1, true, false, 0, 0}, /* one element: y = bias */
        {2, {3, 1000}, -1, true, false, 0, 0},  {4, {2, 3, 4, 5}, -3, false, false, 0, 0},
        {3, {2, 7, 33}, -1, true, true, 0, 0},  {3, {65, 2, 3}, 2, false, true, 1e-2f, 0},
        {2, {129, 64}, -1, true, false, 0, 3},
    };
    rng_t r = {151};
    stats_t st = {0};
    require_opencl();
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const layernorm_case *c = &cases[i];
        int64_t ax = c->axis == INT64_MIN ? c->rank - 1 : (c->axis < 0 ? c->axis + c->rank : c->axis);
        int prank = c->rank - (int)ax;
        const int64_t *pd = c->dims + ax;
        int64_t len = numel_of(prank, pd);
        loom_tensor *ins[3] = {rand_t(&r, c->rank, c->dims, -1 + c->offset, 1 + c->offset)};
        int n_in = 1;
        tb_model *b = tb_new(17);
        Onnx__NodeProto *n;

        tb_input(b, "x", LOOM_F32, c->rank, c->dims);
        if (c->params_input) {
            ins[n_in++] = rand_t(&r, prank, pd, 0.5, 1.5);
            tb_input(b, "scale", LOOM_F32, prank, pd);
            if (c->bias) {
                ins[n_in++] = rand_t(&r, prank, pd, -1, 1);
                tb_input(b, "bias", LOOM_F32, prank, pd);
            }
        } else {
            init_rand(b, &r, "scale", prank, pd, 0.5, 1.5);
            if (c->bias)
                init_rand(b, &r, "bias", prank, pd, -1, 1);
        }
        n = tb_node(b, "LayerNormalization", c->bias ? "x,scale,bias" : "x,scale", "y");
        tb_output(b, "y");
        if (c->axis != INT64_MIN)
            tb_attr_int(b, n, "axis", c->axis);
        if (c->eps != 0)
            tb_attr_float(b, n, "epsilon", c->eps);
        diff(b, "LayerNormalization", n_in, ins, tol_k((double)len), &st,
             "LayerNormalization rank %d axis %lld (len %lld)%s%s offset %g", c->rank, (long long)c->axis,
             (long long)len, c->bias ? " bias" : "", c->params_input ? " (params as inputs)" : "",
             (double)c->offset);
    }
    stats_log("LayerNormalization", &st);
}

Test(opencl, batch_normalization)
{
    static const struct {
        int rank;
        int64_t dims[5];
        float eps;
    } cases[] = {
        {2, {2, 3}, 0},       {3, {1, 4, 7}, 0},     {4, {2, 5, 9, 11}, 0},
        {5, {1, 3, 2, 3, 4}, 1e-3f}, {4, {3, 17, 1, 1}, 0}, {4, {2, 65, 3, 5}, 0},
    };
    rng_t r = {161};
    stats_t st = {0};
    require_opencl();
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        loom_tensor *x = rand_t(&r, cases[i].rank, cases[i].dims, -1, 1);
        Onnx__NodeProto *n;
        tb_model *b = one_node(15, "BatchNormalization", x, "x,scale,bias,mean,var", &n);
        const int64_t *C = &cases[i].dims[1];
        init_rand(b, &r, "scale", 1, C, 0.5, 1.5);
        init_rand(b, &r, "bias", 1, C, -1, 1);
        init_rand(b, &r, "mean", 1, C, -1, 1);
        init_rand(b, &r, "var", 1, C, 0.1, 2);
        if (cases[i].eps != 0)
            tb_attr_float(b, n, "epsilon", cases[i].eps);
        diff(b, "BatchNormalization", 1, &x, (tol_t){.atol = 4e-6, .ulps = 4}, &st,
             "BatchNormalization rank %d, %lld channels", cases[i].rank, (long long)*C);
    }
    stats_log("BatchNormalization", &st);
}

/* ------------------------------------------------------------------------ */
/* Element-wise                                                              */
/* ------------------------------------------------------------------------ */

Test(opencl, unary_ops)
{
    static const struct {
        const char *op;
        double ulps;
        double lo, hi;
    } ops[] = {
        {"Relu", 0, -8, 8},        {"Sigmoid", 8.5, -20, 20}, {"Tanh", 7, -8, 8},
        {"Erf", 18, -4, 4},        {"Sqrt", 5, 1e-3, 50},    {"Abs", 0, -8, 8},
        {"Neg", 0, -8, 8},         {"Exp", 5, -60, 60},      {"Log", 5, 1e-3, 50},
        {"Reciprocal", 4.5, -8, 8},
    };
    static const struct {
        int rank;
        int64_t dims[4];
    } shapes[] = {{0, {0}}, {1, {1}}, {2, {3, 7}}, {4, {2, 3, 17, 5}}, {1, {5003}}};
    rng_t r = {171};
    require_opencl();
    for (size_t o = 0; o < ARRAY_LEN(ops); o++) {
        stats_t st = {0};
        for (size_t s = 0; s < ARRAY_LEN(shapes); s++) {
            loom_tensor *x = rand_t(&r, shapes[s].rank, shapes[s].dims, ops[o].lo, ops[o].hi);
            Onnx__NodeProto *n;
            tb_model *b = one_node(13, ops[o].op, x, "x", &n);
            if (loom_tensor_numel(x) >= 10)
                with_specials(x);
            diff(b, ops[o].op, 1, &x, tol_ulps(ops[o].ulps), &st, "%s on %lld values", ops[o].op,
                 (long long)numel_of(shapes[s].rank, shapes[s].dims));
        }
        stats_log(ops[o].op, &st);
    }
}

Test(opencl, clip)
{
    static const struct {
        int64_t opset;
        const char *inputs; /* min and max as initializers "mn", "mx" */
        float mn, mx;
    } cases[] = {
        {13, "x,mn,mx", -0.5f, 0.7f}, {13, "x,mn", 0.25f, 0}, {13, "x,,mx", 0, -0.25f},
        {13, "x", 0, 0},              {13, "x,mn,mx", 1, -1}, /* min > max: every value is max */
        {11, "x,mn,mx", -3, 3},       {7, "x", -0.5f, 0.5f},  /* attributes */
    };
    static const struct {
        int rank;
        int64_t dims[4];
    } shapes[] = {{2, {3, 7}}, {4, {2, 3, 17, 5}}};
    rng_t r = {172};
    stats_t st = {0};
    require_opencl();
    for (size_t c = 0; c < ARRAY_LEN(cases); c++)
        for (size_t s = 0; s < ARRAY_LEN(shapes); s++) {
            loom_tensor *x = with_specials(rand_t(&r, shapes[s].rank, shapes[s].dims, -2, 2));
            Onnx__NodeProto *n;
            tb_model *b = one_node(cases[c].opset, "Clip", x, cases[c].inputs, &n);
            if (cases[c].opset < 11) {
                tb_attr_float(b, n, "min", cases[c].mn);
                tb_attr_float(b, n, "max", cases[c].mx);
            } else {
                if (strstr(cases[c].inputs, "mn"))
                    tb_init(b, "mn", LOOM_F32, 0, NULL, &cases[c].mn);
                if (strstr(cases[c].inputs, "mx"))
                    tb_init(b, "mx", LOOM_F32, 0, NULL, &cases[c].mx);
            }
            diff(b, "Clip", 1, &x, EXACT, &st, "Clip opset %lld inputs %s min %g max %g",
                 (long long)cases[c].opset, cases[c].inputs, (double)cases[c].mn, (double)cases[c].mx);
        }
    stats_log("Clip", &st);
}

typedef struct {
    int ra;
    int64_t da[8];
    int rb;
    int64_t db[8];
    int konst; /* BOTH_INPUTS, B_CONST, A_CONST */
} bcast_case;

Test(opencl, binary_ops_broadcasting)
{
    static const struct {
        const char *op;
        double ulps;
    } ops[] = {{"Add", 0}, {"Sub", 0}, {"Mul", 0}, {"Div", 4.5}, {"Pow", 18}};
    static const bcast_case cases[] = {
        {0, {0}, 0, {0}, BOTH_INPUTS},
        {0, {0}, 3, {2, 3, 5}, BOTH_INPUTS},
        {3, {2, 3, 5}, 0, {0}, BOTH_INPUTS},
        {1, {1}, 1, {17}, BOTH_INPUTS},
        {1, {17}, 1, {1}, BOTH_INPUTS},
        {2, {3, 7}, 2, {3, 7}, BOTH_INPUTS},
        {2, {3, 7}, 1, {7}, BOTH_INPUTS},
        {2, {3, 7}, 2, {3, 1}, BOTH_INPUTS},
        {3, {4, 1, 3}, 2, {5, 1}, BOTH_INPUTS},
        {2, {65, 1}, 2, {1, 129}, BOTH_INPUTS},
        {5, {2, 1, 3, 1, 5}, 3, {3, 4, 1}, BOTH_INPUTS},
        {4, {1, 3, 1, 4}, 5, {2, 1, 1, 5, 1}, BOTH_INPUTS},
        {6, {2, 1, 3, 1, 2, 3}, 6, {1, 2, 1, 2, 1, 3}, BOTH_INPUTS},
        {8, {2, 1, 2, 1, 2, 1, 2, 3}, 8, {1, 2, 1, 2, 1, 2, 1, 1}, BOTH_INPUTS},
        {5, {2, 3, 4, 5, 6}, 5, {2, 3, 4, 5, 6}, BOTH_INPUTS},
        {1, {5003}, 1, {5003}, BOTH_INPUTS},
        {3, {2, 33, 17}, 1, {17}, B_CONST}, /* x op constant row */
        {2, {7, 100}, 0, {0}, B_CONST},     /* x op constant scalar */
        {1, {17}, 2, {3, 17}, A_CONST},     /* constant row op x */
        {0, {0}, 3, {2, 3, 5}, A_CONST},    /* constant scalar op x */
    };
    rng_t r = {181};
    require_opencl();
    for (size_t o = 0; o < ARRAY_LEN(ops); o++) {
        bool is_pow = strcmp(ops[o].op, "Pow") == 0, is_div = strcmp(ops[o].op, "Div") == 0;
        stats_t st = {0};
        for (size_t c = 0; c < ARRAY_LEN(cases) + (is_pow ? 1 : 0); c++) {
            /* Pow's extra case: negative bases with integral exponents */
            bool neg_pow = c == ARRAY_LEN(cases);
            const bcast_case *bc = neg_pow ? &cases[9] : &cases[c];
            loom_tensor *ins[2], *in[2];
            char sa[64], sb[64];
            int n_in = 0;
            tb_model *b = tb_new(13);
            in[0] = rand_t(&r, bc->ra, bc->da, is_pow && !neg_pow ? 0.1 : -3, 3);
            in[1] = rand_t(&r, bc->rb, bc->db, is_pow ? -3 : -2, is_pow ? 3 : 2);
            for (int64_t i = 0; i < loom_tensor_numel(in[1]); i++) {
                float *p = (float *)loom_tensor_data(in[1]) + i;
                if (neg_pow)
                    *p = roundf(*p);
                else if (is_div) /* away from 0 */
                    *p = *p < 0 ? *p - 0.5f : *p + 0.5f;
            }
            for (int k = 0; k < 2; k++) {
                const char *name = k ? "b" : "a";
                if (bc->konst == (k ? B_CONST : A_CONST)) {
                    tb_init(b, name, LOOM_F32, loom_tensor_rank(in[k]), loom_tensor_dims(in[k]),
                            loom_tensor_cdata(in[k]));
                    loom_tensor_free(in[k]);
                } else {
                    tb_input(b, name, LOOM_F32, loom_tensor_rank(in[k]), loom_tensor_dims(in[k]));
                    ins[n_in++] = in[k];
                }
            }
            tb_node(b, ops[o].op, "a,b", "y");
            tb_output(b, "y");
            diff(b, ops[o].op, n_in, ins, tol_ulps(ops[o].ulps), &st, "%s [%s]%s x [%s]%s%s", ops[o].op,
                 dims_str(bc->ra, bc->da, sa, sizeof sa), bc->konst == A_CONST ? " const" : "",
                 dims_str(bc->rb, bc->db, sb, sizeof sb), bc->konst == B_CONST ? " const" : "",
                 neg_pow ? ", negative bases" : "");
        }
        stats_log(ops[o].op, &st);
    }
}

/* A residual Add and the Relu after it run as one node (one pass), same
 * or broadcast shapes; with the Add's output also a graph output they
 * stay two. Against ref fused and unfused (diff). */
Test(opencl, residual_add_relu_fused)
{
    static const bcast_case cases[] = {
        {4, {2, 8, 7, 9}, 4, {2, 8, 7, 9}, BOTH_INPUTS}, /* a residual */
        {4, {1, 5, 3, 3}, 4, {1, 5, 1, 1}, BOTH_INPUTS}, /* a per-channel one */
        {1, {5003}, 1, {5003}, BOTH_INPUTS},
    };
    rng_t r = {183};
    stats_t st = {0};
    require_opencl();
    for (size_t c = 0; c < ARRAY_LEN(cases) * 2; c++) {
        const bcast_case *bc = &cases[c % ARRAY_LEN(cases)];
        bool shared = c >= ARRAY_LEN(cases);
        loom_tensor *ins[2] = {rand_t(&r, bc->ra, bc->da, -3, 3), rand_t(&r, bc->rb, bc->db, -2, 2)};
        char sa[64], sb[64];
        tb_model *b = tb_new(13);
        tb_input(b, "a", LOOM_F32, bc->ra, bc->da);
        tb_input(b, "b", LOOM_F32, bc->rb, bc->db);
        tb_node(b, "Add", "a,b", "s");
        tb_node(b, "Relu", "s", "y");
        tb_output(b, "y");
        if (shared)
            tb_output(b, "s");
        expect_nodes = shared ? 2 : 1;
        diff(b, shared ? "Add" : "Add+Relu", 2, ins, tol_ulps(0), &st, "Add [%s] [%s] -> Relu%s", dims_str(bc->ra, bc->da, sa, sizeof sa),
             dims_str(bc->rb, bc->db, sb, sizeof sb), shared ? ", the sum also an output" : "");
    }
    stats_log("Add+Relu", &st);
}

/* A Reshape on a device with buffers is a view: its output names its
 * input's buffer (no launch). The input read again after it, the view
 * read by a later node (Abs) and both graph outputs; a view of a view; the
 * memory plan's check passes. */
static tb_model *view_model(void)
{
    tb_model *b = tb_new(13);
    tb_input(b, "x", LOOM_F32, 3, DIMS(2, 3, 8));
    tb_init(b, "shape", LOOM_I64, 1, DIMS(2), (const int64_t[]){6, 8});
    tb_init(b, "shape2", LOOM_I64, 1, DIMS(1), (const int64_t[]){48});
    tb_node(b, "Relu", "x", "a");
    tb_node(b, "Reshape", "a,shape", "v");
    tb_node(b, "Neg", "a", "n");
    tb_node(b, "Reshape", "v,shape2", "w");
    tb_node(b, "Abs", "w", "s");
    tb_output(b, "v");
    tb_output(b, "n");
    tb_output(b, "s");
    return b;
}

Test(opencl, reshape_is_a_view)
{
    rng_t r = {188};
    stats_t st = {0};
    loom_tensor *x = rand_t(&r, 3, DIMS(2, 3, 8), -1, 1), *x2 = rand_t(&r, 3, DIMS(2, 3, 8), -1, 1);
    loom_model *m;
    loom_session *sc;
    tb_model *b;
    size_t bufs, vals;
    require_opencl();
    diff(view_model(), "Reshape", 1, &x, EXACT, &st, "Relu, two Reshapes (views), Neg of the first input, Abs");
    /* the plan: views share their input's buffer, and its check knows it */
    b = view_model();
    m = load_built(b);
    /* keep_values: no value gives its buffer back, so only views share */
    cr_assert_eq(loom_session_create(m, &(loom_session_options){.devices = "opencl", .strict = true,
                                                                 .keep_values = true},
                                     &sc),
                 LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(loom_session_set_input(sc, "x", x2), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(loom_session_run(sc), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(loom__session_check_buffers(sc, &bufs, &vals), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(bufs + 2, vals, "%zu buffers for %zu mapped values: the two views share none", bufs, vals);
    loom_session_free(sc);
    loom_model_free(m);
    tb_free(b);
    loom_tensor_free(x2);
    stats_log("Reshape view", &st);
}

/* One value bound to both inputs of a node (the same buffer twice). */
Test(opencl, same_input_twice)
{
    rng_t r = {182};
    stats_t st = {0};
    loom_tensor *x = rand_t(&r, 2, DIMS(3, 7), -1, 1);
    Onnx__NodeProto *n;
    tb_model *b;
    require_opencl();
    b = one_node(13, "Mul", x, "x,x", &n);
    diff(b, "Mul", 1, &x, EXACT, &st, "Mul x * x");
    x = rand_t(&r, 3, DIMS(2, 33, 33), -1, 1);
    b = one_node(13, "MatMul", x, "x,x", &n);
    diff(b, "MatMul", 1, &x, tol_k(33), &st, "MatMul x @ x");
    stats_log("same input twice", &st);
}

/* ------------------------------------------------------------------------ */
/* Data movement                                                             */
/* ------------------------------------------------------------------------ */

Test(opencl, transpose)
{
    static const struct {
        int rank;
        int64_t dims[6];
        int64_t perm[6]; /* perm[0] < 0: attribute absent (reverse) */
    } cases[] = {
        {2, {3, 7}, {-1}},
        {2, {129, 33}, {1, 0}},
        {2, {1, 65}, {-1}},
        {3, {2, 3, 17}, {1, 0, 2}},
        {3, {2, 3, 17}, {2, 0, 1}},
        {4, {2, 3, 4, 5}, {0, 2, 3, 1}},
        {4, {2, 3, 4, 5}, {3, 1, 0, 2}},
        {6, {2, 1, 3, 2, 1, 4}, {5, 3, 1, 0, 2, 4}},
        {1, {17}, {0}},
    };
    rng_t r = {191};
    stats_t st = {0};
    require_opencl();
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        loom_tensor *x = rand_t(&r, cases[i].rank, cases[i].dims, -1, 1);
        Onnx__NodeProto *n;
        tb_model *b = one_node(13, "Transpose", x, "x", &n);
        if (cases[i].perm[0] >= 0)
            tb_attr_ints(b, n, "perm", (size_t)cases[i].rank, cases[i].perm);
        diff(b, "Transpose", 1, &x, EXACT, &st, "Transpose case %zu (rank %d)", i, cases[i].rank);
    }
    stats_log("Transpose", &st);
}

typedef struct {
    int rank;
    int64_t dims[4];
    int n;                 /* entries in starts/ends/axes/steps */
    int64_t starts[4], ends[4], axes[4], steps[4];
    bool no_axes, no_steps;
} slice_case;

Test(opencl, slice)
{
    static const slice_case cases[] = {
        {2, {7, 17}, 1, {1}, {6}, {0}, {1}, false, false},
        {2, {7, 17}, 2, {-1, -2}, {-8, 0}, {0, 1}, {-1, -3}, false, false}, /* negative steps */
        {3, {2, 3, 17}, 3, {0, 0, 16}, {INT64_MAX, 3, -100}, {0, 1, 2}, {1, 2, -2}, false, false},
        {1, {100}, 1, {3}, {97}, {0}, {7}, false, false},
        {3, {4, 5, 6}, 1, {-4}, {-1}, {-1}, {1}, false, true},
        {2, {33, 65}, 2, {-1, -1}, {INT64_MIN, INT64_MIN}, {0, 1}, {-1, -1}, false, false}, /* reverse */
        {3, {5, 6, 7}, 3, {1, 0, 2}, {5, 6, 7}, {0}, {0}, true, true},
        {4, {2, 3, 4, 5}, 2, {3, 1}, {0, 4}, {3, 1}, {-2, 1}, false, false},
        {2, {9, 9}, 2, {100, -100}, {-100, 100}, {0, 1}, {-4, 4}, false, false}, /* clamping */
    };
    rng_t r = {192};
    stats_t st = {0};
    require_opencl();
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const slice_case *c = &cases[i];
        loom_tensor *x = rand_t(&r, c->rank, c->dims, -1, 1);
        Onnx__NodeProto *n;
        tb_model *b = one_node(13, "Slice", x,
                               c->no_axes ? "x,starts,ends" : (c->no_steps ? "x,starts,ends,axes" : "x,starts,ends,axes,steps"),
                               &n);
        tb_init(b, "starts", LOOM_I64, 1, DIMS(c->n), c->starts);
        tb_init(b, "ends", LOOM_I64, 1, DIMS(c->n), c->ends);
        if (!c->no_axes)
            tb_init(b, "axes", LOOM_I64, 1, DIMS(c->n), c->axes);
        if (!c->no_axes && !c->no_steps)
            tb_init(b, "steps", LOOM_I64, 1, DIMS(c->n), c->steps);
        diff(b, "Slice", 1, &x, EXACT, &st, "Slice case %zu (rank %d)", i, c->rank);
    }
    stats_log("Slice", &st);
}

Test(opencl, expand)
{
    static const struct {
        int rank;
        int64_t dims[3];
        int n;
        int64_t shape[5];
    } cases[] = {
        {2, {3, 1}, 3, {2, 3, 4}}, {0, {0}, 2, {5, 7}},        {1, {1}, 1, {17}},
        {2, {1, 4}, 2, {3, 1}},    {3, {2, 1, 3}, 5, {2, 4, 2, 1, 1}}, {1, {5}, 1, {1}},
        {3, {65, 1, 1}, 3, {1, 3, 33}},
    };
    rng_t r = {193};
    stats_t st = {0};
    require_opencl();
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        loom_tensor *x = rand_t(&r, cases[i].rank, cases[i].dims, -1, 1);
        Onnx__NodeProto *n;
        tb_model *b = one_node(13, "Expand", x, "x,shape", &n);
        tb_init(b, "shape", LOOM_I64, 1, DIMS(cases[i].n), cases[i].shape);
        diff(b, "Expand", 1, &x, EXACT, &st, "Expand case %zu", i);
    }
    stats_log("Expand", &st);
}

/* Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout: buffer copies,
 * for float and int64. */
Test(opencl, reshape_family)
{
    rng_t r = {194};
    stats_t st = {0};
    Onnx__NodeProto *n;
    tb_model *b;
    loom_tensor *x;
    require_opencl();

    x = rand_t(&r, 3, DIMS(2, 3, 17), -1, 1);
    b = one_node(14, "Reshape", x, "x,shape", &n);
    INIT_INTS(b, "shape", 6, -1);
    diff(b, "Reshape", 1, &x, EXACT, &st, "Reshape [2,3,17] -> [6,-1]");

    x = rand_t(&r, 3, DIMS(2, 3, 17), -1, 1);
    b = one_node(14, "Reshape", x, "x,shape", &n);
    INIT_INTS(b, "shape", 0, 51);
    diff(b, "Reshape", 1, &x, EXACT, &st, "Reshape [2,3,17] -> [0,51]");

    x = new_tensor(LOOM_I64, 2, DIMS(4, 6));
    for (int64_t i = 0; i < 24; i++)
        ((int64_t *)loom_tensor_data(x))[i] = (int64_t)rng_u64(&r);
    b = one_node(14, "Reshape", x, "x,shape", &n);
    INIT_INTS(b, "shape", 3, 8);
    diff(b, "Reshape", 1, &x, EXACT, &st, "Reshape int64 [4,6] -> [3,8]");

    for (int axis = 0; axis <= 4; axis++) {
        x = rand_t(&r, 4, DIMS(2, 3, 4, 5), -1, 1);
        b = one_node(13, "Flatten", x, "x", &n);
        tb_attr_int(b, n, "axis", axis == 4 ? -1 : axis);
        diff(b, "Flatten", 1, &x, EXACT, &st, "Flatten axis %d", axis == 4 ? -1 : axis);
    }

    x = rand_t(&r, 4, DIMS(1, 3, 1, 7), -1, 1);
    b = one_node(13, "Squeeze", x, "x,axes", &n);
    INIT_INTS(b, "axes", 0, -2);
    diff(b, "Squeeze", 1, &x, EXACT, &st, "Squeeze [1,3,1,7] axes 0,-2");

    x = rand_t(&r, 4, DIMS(1, 3, 1, 7), -1, 1);
    b = one_node(13, "Squeeze", x, "x", &n);
    diff(b, "Squeeze", 1, &x, EXACT, &st, "Squeeze [1,3,1,7] all");

    x = rand_t(&r, 2, DIMS(3, 7), -1, 1);
    b = one_node(13, "Unsqueeze", x, "x,axes", &n);
    INIT_INTS(b, "axes", 0, 3);
    diff(b, "Unsqueeze", 1, &x, EXACT, &st, "Unsqueeze [3,7] axes 0,3");

    x = rand_t(&r, 3, DIMS(2, 3, 17), -1, 1);
    b = one_node(13, "Identity", x, "x", &n);
    diff(b, "Identity", 1, &x, EXACT, &st, "Identity [2,3,17]");

    x = new_tensor(LOOM_I64, 1, DIMS(65));
    for (int64_t i = 0; i < 65; i++)
        ((int64_t *)loom_tensor_data(x))[i] = (int64_t)rng_u64(&r);
    b = one_node(13, "Identity", x, "x", &n);
    diff(b, "Identity", 1, &x, EXACT, &st, "Identity int64 [65]");

    x = new_tensor(LOOM_I8, 3, DIMS(3, 5, 1));
    for (int64_t i = 0; i < 15; i++)
        ((int8_t *)loom_tensor_data(x))[i] = (int8_t)rng_u64(&r);
    b = one_node(14, "Reshape", x, "x,shape", &n);
    INIT_INTS(b, "shape", 15);
    diff(b, "Reshape", 1, &x, EXACT, &st, "Reshape int8 [3,5,1] -> [15]");

    x = new_tensor(LOOM_BOOL, 2, DIMS(1, 17));
    for (int64_t i = 0; i < 17; i++)
        ((uint8_t *)loom_tensor_data(x))[i] = (uint8_t)(rng_u64(&r) & 1);
    b = one_node(13, "Squeeze", x, "x", &n);
    diff(b, "Squeeze", 1, &x, EXACT, &st, "Squeeze bool [1,17]");

    x = rand_t(&r, 2, DIMS(33, 7), -1, 1);
    b = one_node(13, "Dropout", x, "x", &n);
    diff(b, "Dropout", 1, &x, EXACT, &st, "Dropout (inference) [33,7]");

    x = rand_t(&r, 3, DIMS(2, 3, 17), -1, 1);
    b = one_node(13, "Dropout", x, "x,ratio", &n);
    tb_init(b, "ratio", LOOM_F32, 0, NULL, &(float){0.5f});
    diff(b, "Dropout", 1, &x, EXACT, &st, "Dropout opset 13 ratio input");

    x = rand_t(&r, 4, DIMS(1, 3, 1, 7), -1, 1);
    b = one_node(11, "Squeeze", x, "x", &n);
    ATTR_INTS(b, n, "axes", 2);
    diff(b, "Squeeze", 1, &x, EXACT, &st, "Squeeze opset 11 axes attribute 2");

    x = rand_t(&r, 2, DIMS(3, 7), -1, 1);
    b = one_node(11, "Unsqueeze", x, "x", &n);
    ATTR_INTS(b, n, "axes", -1, 1);
    diff(b, "Unsqueeze", 1, &x, EXACT, &st, "Unsqueeze opset 11 axes attribute -1,1");

    x = rand_t(&r, 2, DIMS(3, 7), -1, 1);
    b = one_node(7, "Dropout", x, "x", &n);
    tb_attr_float(b, n, "ratio", 0.3f);
    diff(b, "Dropout", 1, &x, EXACT, &st, "Dropout opset 7 ratio 0.3");
    stats_log("Reshape family", &st);
}

/* ------------------------------------------------------------------------ */
/* Forms the backend does not claim                                          */
/* ------------------------------------------------------------------------ */

/* Strict OpenCL must refuse them (LOOM_E_DEVICE_UNAVAILABLE); without
 * strict they run on ref, with ref's result. */
static void expect_unclaimed(tb_model *b, int n_in, loom_tensor **ins, const char *what)
{
    size_t len;
    const uint8_t *bytes = tb_pack(b, &len);
    loom_model *m = NULL;
    loom_session *s = NULL, *sr, *sf;
    loom_input_shape shapes[4];
    loom_value_info vi;
    loom_status st;
    stats_t dummy = {0};

    cr_assert_eq(loom_model_load_buffer(bytes, len, "test.onnx", NULL, NULL, &m), LOOM_OK, "%s: %s", what,
                 loom_last_error());
    for (int i = 0; i < n_in; i++) {
        loom_model_input(m, (size_t)i, &vi);
        shapes[i] = (loom_input_shape){vi.name, loom_tensor_rank(ins[i]), loom_tensor_dims(ins[i])};
    }
    st = loom_session_create(m,
                             &(loom_session_options){.input_shapes = shapes,
                                                     .input_shape_count = (size_t)n_in,
                                                     .devices = "opencl",
                                                     .strict = true},
                             &s);
    cr_assert_eq(st, LOOM_E_DEVICE_UNAVAILABLE, "%s: strict OpenCL session gave %s (%s), expected E_DEVICE_UNAVAILABLE",
                 what, loom_status_name(st), st == LOOM_OK ? "" : loom_last_error());
    loom_session_free(s);
    sr = run_session(m, "ref", true, n_in, ins, what);
    sf = run_session(m, "opencl", false, n_in, ins, what);
    cr_assert_eq(nodes_on_opencl(sf), 0, "%s: a node was placed on OpenCL", what);
    compare(what, 0, loom_session_output_tensor(sr, 0), loom_session_output_tensor(sf, 0), EXACT, &dummy);
    loom_session_free(sr);
    loom_session_free(sf);
    loom_model_free(m);
    tb_free(b);
    for (int i = 0; i < n_in; i++)
        loom_tensor_free(ins[i]);
}

Test(opencl, unclaimed_forms_fall_back_to_ref)
{
    rng_t r = {195};
    tb_model *b;
    Onnx__NodeProto *n;
    loom_tensor *ins[2];
    require_opencl();

    /* Gemm transB on a run-time B */
    b = tb_new(13);
    ins[0] = rand_t(&r, 2, DIMS(3, 5), -1, 1);
    ins[1] = rand_t(&r, 2, DIMS(4, 5), -1, 1);
    tb_input(b, "a", LOOM_F32, 2, DIMS(3, 5));
    tb_input(b, "b", LOOM_F32, 2, DIMS(4, 5));
    n = tb_node(b, "Gemm", "a,b", "y");
    tb_attr_int(b, n, "transB", 1);
    tb_output(b, "y");
    expect_unclaimed(b, 2, ins, "Gemm transB on a run-time B");

    /* Gemm with a full [M, N] C */
    b = tb_new(13);
    ins[0] = rand_t(&r, 2, DIMS(3, 5), -1, 1);
    tb_input(b, "a", LOOM_F32, 2, DIMS(3, 5));
    init_rand(b, &r, "b", 2, DIMS(5, 4), -1, 1);
    init_rand(b, &r, "c", 2, DIMS(3, 4), -1, 1);
    tb_node(b, "Gemm", "a,b,c", "y");
    tb_output(b, "y");
    expect_unclaimed(b, 1, ins, "Gemm with C [M,N]");

    /* 1-D Conv */
    ins[0] = rand_t(&r, 3, DIMS(1, 2, 9), -1, 1);
    b = one_node(13, "Conv", ins[0], "x,w", &n);
    init_rand(b, &r, "w", 3, DIMS(3, 2, 3), -1, 1);
    expect_unclaimed(b, 1, ins, "Conv 1-D");

    /* BatchNormalization with a run-time mean */
    b = tb_new(15);
    ins[0] = rand_t(&r, 4, DIMS(1, 3, 2, 2), -1, 1);
    ins[1] = rand_t(&r, 1, DIMS(3), -1, 1);
    tb_input(b, "x", LOOM_F32, 4, DIMS(1, 3, 2, 2));
    tb_input(b, "mean", LOOM_F32, 1, DIMS(3));
    init_rand(b, &r, "scale", 1, DIMS(3), 0.5, 1.5);
    init_rand(b, &r, "bias", 1, DIMS(3), -1, 1);
    init_rand(b, &r, "var", 1, DIMS(3), 0.5, 1.5);
    tb_node(b, "BatchNormalization", "x,scale,bias,mean,var", "y");
    tb_output(b, "y");
    expect_unclaimed(b, 2, ins, "BatchNormalization with a run-time mean");

    /* 1-D pooling */
    ins[0] = rand_t(&r, 3, DIMS(1, 2, 9), -1, 1);
    b = one_node(13, "MaxPool", ins[0], "x", &n);
    ATTR_INTS(b, n, "kernel_shape", 3);
    expect_unclaimed(b, 1, ins, "MaxPool 1-D");

    /* Transpose of int64 (float32 only; copies are for any dtype) */
    ins[0] = new_tensor(LOOM_I64, 2, DIMS(3, 5));
    for (int64_t i = 0; i < 15; i++)
        ((int64_t *)loom_tensor_data(ins[0]))[i] = (int64_t)rng_u64(&r);
    b = one_node(13, "Transpose", ins[0], "x", &n);
    expect_unclaimed(b, 1, ins, "Transpose int64");

    /* Dropout with its mask output */
    b = tb_new(13);
    ins[0] = rand_t(&r, 2, DIMS(3, 7), -1, 1);
    tb_input(b, "x", LOOM_F32, 2, DIMS(3, 7));
    tb_node(b, "Dropout", "x", "y,mask");
    tb_output(b, "y");
    expect_unclaimed(b, 1, ins, "Dropout with the mask output");
}

/* ------------------------------------------------------------------------ */
/* int8 GEMM of the kernel ABI: loom_gemm_i8 on OpenCL vs loom_gemm_i8_ref    */
/* ------------------------------------------------------------------------ */

#define I8_TAIL 64 /* bytes after C that nobody may touch */

/* One call on both; C (with its ldc padding and a tail) starts with the
 * same random fill for both, so untouched bytes must also agree. Returns
 * the number of outputs strictly inside (-128, 127) and not 0. */
static long i8_case(rng_t *r, int64_t M, int64_t N, int64_t K, int64_t lda, int64_t ldb, int64_t ldc, int act,
                    int bias_mode, int shift_mode, int fill)
{
    size_t sa = (size_t)(M * lda + 1), sb = (size_t)(K * ldb + 1), sc = (size_t)(M * ldc) + I8_TAIL;
    int8_t *A = malloc(sa), *B = malloc(sb), *C0 = malloc(sc), *Cr = malloc(sc), *Cc = malloc(sc);
    int32_t *bias = malloc((size_t)(N + 1) * 4), *mult = malloc((size_t)(N + 1) * 4),
            *shift = malloc((size_t)(N + 1) * 4);
    int8_t lut[256];
    /* typical |acc|: sqrt(K) * 128 * 128 / 3; a shift near log2 of
     * acc / 64 keeps most outputs off the rails */
    double acc_sd = sqrt((double)(K > 0 ? K : 1)) * 5461.0;
    int base = (int)floor(log2(acc_sd / 64.0));
    loom_gemm_i8_args a;
    loom_status st;
    long live = 0;

    cr_assert(A && B && C0 && Cr && Cc && bias && mult && shift);
    /* fill 1, 2: |A.B| = 2^30 at K = 65536, the contract's extreme */
    for (size_t i = 0; i < sa; i++)
        A[i] = fill ? -128 : (int8_t)rng_int(r, -128, 127);
    for (size_t i = 0; i < sb; i++)
        B[i] = fill == 1 ? -128 : (fill == 2 ? 127 : (int8_t)rng_int(r, -128, 127));
    for (size_t i = 0; i < sc; i++)
        C0[i] = (int8_t)rng_int(r, -128, 127);
    for (int i = 0; i < 256; i++)
        lut[i] = (int8_t)rng_int(r, -128, 127);
    for (int64_t n = 0; n < N; n++) {
        int64_t u = rng_int(r, 0, 9);
        mult[n] = u == 0 ? (int32_t)LOOM_REQUANT_MULT_MIN
                         : (u == 1 ? (int32_t)LOOM_REQUANT_MULT_MAX
                                   : (int32_t)rng_int(r, LOOM_REQUANT_MULT_MIN, LOOM_REQUANT_MULT_MAX));
        if (shift_mode == 0) { /* every third column at the largest shift */
            shift[n] = n % 3 == 0 ? LOOM_REQUANT_SHIFT_MAX : (int32_t)rng_int(r, 0, LOOM_REQUANT_SHIFT_MAX);
        } else {
            int64_t s = base + rng_int(r, -2, 2);
            shift[n] = (int32_t)(s < 0 ? 0 : (s > 31 ? 31 : s));
        }
        switch (bias_mode) {
        case 1: bias[n] = (int32_t)rng_int(r, -(int64_t)(2 * acc_sd), (int64_t)(2 * acc_sd)); break;
        case 2: /* extremes: |bias| < 2^30 is the contract's limit */
            bias[n] = (int32_t)(rng_int(r, 0, 1) ? (1 << 30) - 1 - rng_int(r, 0, 99) : -(1 << 30) + 1 + rng_int(r, 0, 99));
            break;
        default: bias[n] = 0; break;
        }
    }
    memcpy(Cr, C0, sc);
    memcpy(Cc, C0, sc);
    a = (loom_gemm_i8_args){.M = M, .N = N, .K = K, .A = A, .lda = lda, .B = B, .ldb = ldb,
                            .bias = bias_mode ? bias : NULL, .mult = mult, .shift = shift, .C = Cr,
                            .ldc = ldc, .act = act, .lut = act == LOOM_ACT_LUT ? lut : NULL};
    st = loom_gemm_i8_ref(&a);
    cr_assert_eq(st, LOOM_OK, "ref: %s", loom_last_error());
    a.C = Cc;
    st = loom_gemm_i8(cl_dev, &a);
    cr_assert_eq(st, LOOM_OK, "%s: M=%lld N=%lld K=%lld: %s: %s", cl_dev, (long long)M, (long long)N,
                 (long long)K, loom_status_name(st), loom_last_error());
    for (size_t i = 0; i < sc; i++) {
        int64_t m = ldc ? (int64_t)i / ldc : M, col = ldc ? (int64_t)i % ldc : 0;
        bool inside = m < M && col < N;
        cr_assert_eq(Cc[i], Cr[i],
                     "int8 GEMM M=%lld N=%lld K=%lld lda=%lld ldb=%lld ldc=%lld act=%d bias=%d: C byte %zu "
                     "(%s row %lld col %lld): opencl %d, ref %d (fill %d)",
                     (long long)M, (long long)N, (long long)K, (long long)lda, (long long)ldb, (long long)ldc,
                     act, bias_mode, i, inside ? "inside," : "padding/tail,", (long long)m, (long long)col, Cc[i],
                     Cr[i], C0[i]);
        if (!inside)
            cr_assert_eq(Cc[i], C0[i], "int8 GEMM: padding byte %zu changed", i);
        else if (Cr[i] != -128 && Cr[i] != 127 && Cr[i] != 0)
            live++;
    }
    free(A), free(B), free(C0), free(Cr), free(Cc), free(bias), free(mult), free(shift);
    return live;
}

static void int8_all(uint64_t seed)
{
    static const struct {
        int64_t M, N, K;
    } edges[] = {
        {1, 1, 1},   {1, 1, 0},  {3, 5, 0},   {80, 80, 80}, {32, 32, 16}, {33, 33, 17},
        {64, 64, 64}, {0, 5, 3}, {5, 0, 3},   {1, 80, 80},  {80, 1, 80},  {7, 9, 1},
        {129, 65, 1000}, {2, 3, 65536}, {3, 2, 65536},
    };
    rng_t r = {seed};
    long live = 0, values = 0;
    int cases = 0;
    require_opencl();
    for (size_t i = 0; i < ARRAY_LEN(edges); i++, cases++) {
        bool big = edges[i].K == 65536; /* |acc| near 2^31, shifts up to 31 */
        live += i8_case(&r, edges[i].M, edges[i].N, edges[i].K, edges[i].K + (int64_t)(i % 3), edges[i].N + 1,
                        edges[i].N + (int64_t)(i % 4), (int)(i % 3), big ? 2 : (int)(i % 3), big ? 0 : 1,
                        big ? (int)(edges[i].M - 1) : 0);
        values += edges[i].M * edges[i].N;
    }
    for (int t = 0; t < 120; t++, cases++) {
        int64_t M = rng_int(&r, 1, 80), N = rng_int(&r, 1, 80), K = t % 17 == 5 ? 0 : rng_int(&r, 1, 80);
        int64_t lda = K + (rng_int(&r, 0, 1) ? rng_int(&r, 1, 9) : 0);
        int64_t ldb = N + (rng_int(&r, 0, 1) ? rng_int(&r, 1, 9) : 0);
        int64_t ldc = N + (rng_int(&r, 0, 1) ? rng_int(&r, 1, 9) : 0);
        live += i8_case(&r, M, N, K, lda, ldb, ldc, t % 3, (t / 3) % 3, t % 4 != 0, 0);
        values += M * N;
    }
    cr_log_info("int8 GEMM on %s: %d cases, %ld outputs bit-exact, %ld of them off the rails (not -128, 0, 127)",
                cl_dev, cases, values, live);
    /* the comparison means something only if most outputs are not
     * saturated or zero */
    cr_assert_gt(live, values / 3, "only %ld of %ld outputs were off the rails", live, values);
}

Test(opencl, int8_gemm_bit_exact)
{
    int8_all(301);
}

Test(opencl_systolic, int8_gemm_bit_exact)
{
    int8_all(302);
}

/* ------------------------------------------------------------------------ */
/* Fixture models: "auto" and "opencl" (with ref fallback) against "ref"     */
/* ------------------------------------------------------------------------ */

static void fixture(const char *name)
{
    char path[600], xpath[600], label[700];
    loom_model *m = NULL;
    loom_tensor *x = NULL;
    loom_session *sr, *sa, *so;
    stats_t st = {0};
    const tol_t t = {.atol = 1e-5, .rtol = 1e-5};
    require_opencl();

    snprintf(path, sizeof path, "%s/tests/models/%s/model.onnx", LOOM_SOURCE_DIR, name);
    snprintf(xpath, sizeof xpath, "%s/tests/models/%s/x.npy", LOOM_SOURCE_DIR, name);
    cr_assert_eq(loom_model_load(path, NULL, &m), LOOM_OK, "%s: %s", path, loom_last_error());
    cr_assert_eq(loom_npy_load(xpath, &x), LOOM_OK, "%s: %s", xpath, loom_last_error());
    sr = run_session(m, "ref", true, 1, &x, name);
    snprintf(label, sizeof label, "%s on auto", name);
    sa = run_session(m, "auto", false, 1, &x, label);
    for (size_t o = 0; o < loom_session_output_count(sr); o++)
        compare(label, o, loom_session_output_tensor(sr, o), loom_session_output_tensor(sa, o), t, &st);
    snprintf(label, sizeof label, "%s on opencl,ref", name);
    so = run_session(m, "opencl", false, 1, &x, label);
    for (size_t o = 0; o < loom_session_output_count(sr); o++)
        compare(label, o, loom_session_output_tensor(sr, o), loom_session_output_tensor(so, o), t, &st);
    /* the OpenCL run must have used the device */
    cr_assert_gt(nodes_on_opencl(so), 0, "%s: no node placed on OpenCL", name);
    cr_log_info("%s: %zu nodes, %zu on OpenCL with \"auto\", %zu with \"opencl\"", name, loom_session_node_count(so),
                nodes_on_opencl(sa), nodes_on_opencl(so));
    stats_log(name, &st);
    loom_session_free(sr);
    loom_session_free(sa);
    loom_session_free(so);
    loom_tensor_free(x);
    loom_model_free(m);
}

Test(opencl_models, lenet)
{
    fixture("lenet");
}

Test(opencl_models, resblock)
{
    fixture("resblock");
}

Test(opencl_models, transformer14)
{
    fixture("transformer14");
}

Test(opencl_models, transformer17)
{
    fixture("transformer17");
}

Test(opencl_models, misc)
{
    fixture("misc");
}

Test(opencl_models, opset7)
{
    fixture("opset7");
}


/* loom validate on a deep residual network (16 blocks of Conv 3x3 + Add,
 * 32 channels, 12x12): OpenCL's float rounding reaches the later nodes
 * through their inputs, far beyond the tolerance of an element-wise Add
 * (K = 0), while every node computes right on what it was given. Each
 * node is compared on its own inputs, so the verdict is match; the
 * end-to-end difference is reported beside it. (Comparing with a run
 * wholly on ref blamed a correct Add, as on resnet18 and squeezenet.) A
 * wrong Add kernel (LOOM_TEST_FAULT=opencl-wrong-add) is still caught, at
 * the first Add. Without relu, each block's Add is fused into its Conv (16
 * Conv+Add nodes); with a Relu after each Conv the Adds stay nodes of
 * their own (Conv+Relu, Add: 32). */
static loom_model *deep_residual(loom_tensor **x, bool relu)
{
    tb_model *b = tb_new(13);
    rng_t r = {.s = 42};
    const int C = 32, blocks = 16;
    char names[4][32];
    loom_model *m;
    const uint8_t *bytes;
    size_t len;
    double a = 1.6 / sqrt(9.0 * C); /* keeps the activations' scale near 1 */
    tb_input(b, "x0", LOOM_F32, 4, DIMS(1, C, 12, 12));
    for (int i = 0; i < blocks; i++) {
        Onnx__NodeProto *n;
        snprintf(names[0], sizeof names[0], "w%d", i);
        init_rand(b, &r, names[0], 4, DIMS(C, C, 3, 3), -a, a);
        snprintf(names[1], sizeof names[1], "x%d,w%d", i, i);
        snprintf(names[2], sizeof names[2], "c%d", i);
        if (relu) {
            char t[16];
            snprintf(t, sizeof t, "t%d", i);
            n = tb_node(b, "Conv", names[1], t);
            tb_node(b, "Relu", t, names[2]);
        } else {
            n = tb_node(b, "Conv", names[1], names[2]);
        }
        ATTR_INTS(b, n, "pads", 1, 1, 1, 1);
        snprintf(names[1], sizeof names[1], "c%d,x%d", i, i);
        snprintf(names[3], sizeof names[3], "x%d", i + 1);
        n = tb_node(b, "Add", names[1], names[3]);
        snprintf(names[2], sizeof names[2], "add%d", i);
        n->name = tb_strdup(b, names[2]);
    }
    tb_output(b, names[3]);
    bytes = tb_pack(b, &len);
    cr_assert_eq(loom_model_load_buffer(bytes, len, "deep-residual", NULL, NULL, &m), LOOM_OK, "%s",
                 loom_last_error());
    tb_free(b);
    *x = rand_t(&r, 4, DIMS(1, C, 12, 12), -1, 1);
    return m;
}

Test(opencl_models, validate_deep_residual_network)
{
    loom_tensor *x;
    loom_model *m;
    loom_validate_result v;
    require_opencl();
    for (int relu = 0; relu <= 1; relu++) {
        size_t nodes = relu ? 32 : 16; /* Conv+Relu, Add; or Conv+Add */
        m = deep_residual(&x, relu);
        cr_assert_eq(loom_validate(m, (const loom_tensor *const *)&x, 1, cl_dev, &v), LOOM_OK, "%s",
                     loom_last_error());
        cr_log_info("deep residual%s: %zu of %zu nodes on %s, worst node error %.3g (%.3g of allowed), end to "
                    "end %.3g", relu ? " (Relu)" : "", v.nodes_on_device, v.nodes, cl_dev, v.max_abs_error,
                    v.max_error_ratio, v.output_max_abs_error);
        cr_assert(v.match, "MISMATCH at node %zu \"%s\" (%s) element %lld: %.9g vs ref %.9g (allowed %.3g)",
                  v.node, v.node_name, v.op_type, (long long)v.element, v.value, v.ref_value, v.allowed);
        cr_assert_eq(v.nodes, nodes);
        cr_assert_eq(v.nodes_on_device, nodes);
        cr_assert_lt(v.max_error_ratio, 1.0);
        /* the network does carry error end to end: more than one Add allows */
        cr_assert_gt(v.output_max_abs_error, 1e-5, "end to end %.3g", v.output_max_abs_error);
        cr_assert(isfinite(v.output_max_abs_error));
        loom_tensor_free(x);
        loom_model_free(m);
    }
}

Test(opencl_models, validate_catches_a_wrong_add_at_the_first_add)
{
    loom_tensor *x;
    loom_model *m;
    loom_validate_result v;
    setenv("LOOM_TEST_FAULT", "opencl-wrong-add", 1);
    require_opencl();
    m = deep_residual(&x, true); /* the Adds nodes of their own */
    cr_assert_eq(loom_validate(m, (const loom_tensor *const *)&x, 1, cl_dev, &v), LOOM_OK, "%s",
                 loom_last_error());
    cr_assert(!v.match);
    cr_assert_str_eq(v.node_name, "add0");
    cr_assert_eq(v.node, 1); /* after Conv+Relu */
    cr_assert_float_eq(v.value - v.ref_value, 1e-3, 2e-5, "%.9g vs %.9g", v.value, v.ref_value);
    loom_tensor_free(x);
    loom_model_free(m);
}

/* ------------------------------------------------------------------------ */
/* Guard mode itself (white box: the backend's buffer helpers)               */
/* ------------------------------------------------------------------------ */

#include "backends/opencl/opencl.h"

/* Every buffer the backend makes, the plan's and the lowering's own
 * (im2col scratch, derived weights, int8 operands), carries guard bytes
 * that loom__cl_guard_verify() checks: a write one element past the end
 * is caught. (Buffers from the lowering were not guarded at first.) */
Test(opencl, guard_catches_a_write_past_a_scratch_buffer)
{
    loom__device *dev;
    loom__cl_dev *cd;
    cl_mem m;
    float v[4] = {1, 2, 3, 4}, past = 5;
    require_opencl();
    dev = loom__device_find(cl_dev);
    cr_assert_not_null(dev);
    cd = dev->priv;
    cr_assert_eq(loom__cl_buffer_new(dev, v, sizeof v, &m), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(loom__cl_guard_verify(dev), LOOM_OK, "%s", loom_last_error());
    /* what an overrunning kernel would do */
    cr_assert_eq(clEnqueueWriteBuffer(cd->queue, m, CL_TRUE, sizeof v, sizeof past, &past, 0, NULL, NULL),
                 CL_SUCCESS);
    cr_assert_eq(loom__cl_guard_verify(dev), LOOM_E_DEVICE_FAILED);
    cr_assert(strstr(loom_last_error(), "wrote past the end of a 16-byte buffer") != NULL, "%s",
              loom_last_error());
    loom__cl_buffer_release(dev, m);
    cr_assert_eq(loom__cl_guard_verify(dev), LOOM_OK, "a released buffer is no longer checked");
}
