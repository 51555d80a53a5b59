/*
 * loom.h - the one public header of the loom runtime.
 *
 * Pipeline (data flows one way):
 *   loom_model_load()      import an ONNX file into an immutable model
 *   loom_session_create()  bind input shapes, run the graph passes (shape
 *                          inference, constant folding), place nodes on
 *                          devices and build the execution plan once
 *   loom_session_run()     run the plan, as many times as you like
 *
 * Conventions:
 *   - Every fallible call returns a loom_status. On failure,
 *     loom_last_error() gives a one-line message for the calling thread
 *     saying what failed, where, and the value seen.
 *   - The library never prints and never aborts on bad input; diagnostics
 *     go to the log callback installed with loom_log_set().
 *   - Handles are opaque. Every *_free() accepts NULL.
 */
#ifndef LOOM_LOOM_H
#define LOOM_LOOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loom/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Everything declared here is the library's interface: exported from
 * libloom.so, which hides every other symbol. */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

/* LOOM_VERSION_STRING of the library itself ("0.1.0") */
const char *loom_version(void);

/* ---------------------------------------------------------------------- */
/* Status codes                                                            */
/* ---------------------------------------------------------------------- */

/*
 * X(NAME, value, description). Ranges: 0 success, 1-99 general,
 * 100-199 model/data import, 200-299 devices. Device backends keep their
 * own native code (OpenCL, XRT) in the error message.
 */
#define LOOM_STATUS_MAP(X)                                                   \
    X(OK, 0, "success")                                                      \
    X(E_INVALID_ARG, 1, "invalid argument")                                  \
    X(E_NOMEM, 2, "out of memory")                                           \
    X(E_IO, 3, "input/output error")                                         \
    X(E_NOT_FOUND, 4, "file not found")                                      \
    X(E_INTERNAL, 5, "internal error")                                       \
    X(E_LIMIT, 6, "size limit exceeded")                                     \
    X(E_WRITE, 7, "cannot write an output file")                             \
    X(E_MODEL_INVALID, 100, "invalid model")                                 \
    X(E_MODEL_UNSUPPORTED, 101, "unsupported model feature")                 \
    X(E_UNSUPPORTED_OP, 102, "unsupported operator")                         \
    X(E_SHAPE, 103, "shape mismatch")                                        \
    X(E_DATA_INVALID, 104, "invalid data file")                              \
    X(E_DTYPE, 105, "unsupported or mismatched data type")                   \
    X(E_DEVICE_UNAVAILABLE, 200, "device unavailable")                       \
    X(E_DEVICE_FAILED, 201, "device failed")

typedef enum {
#define LOOM__STATUS_ENUM(name, value, text) LOOM_##name = value,
    LOOM_STATUS_MAP(LOOM__STATUS_ENUM)
#undef LOOM__STATUS_ENUM
} loom_status;

/* Description of a status ("invalid model"); "unknown status" otherwise. */
const char *loom_strerror(loom_status status);
/* Symbolic name of a status ("E_MODEL_INVALID"). */
const char *loom_status_name(loom_status status);
/*
 * The one-line message of the most recent failure on this thread, e.g.
 *   model.onnx: initializer "W1": raw_data is 4 bytes, expected 4000
 * Successful calls leave it unchanged, so read it right after a call
 * returns an error. Empty when nothing has failed on this thread yet.
 */
const char *loom_last_error(void);

/* ---------------------------------------------------------------------- */
/* Logging                                                                 */
/* ---------------------------------------------------------------------- */

typedef enum {
    LOOM_LOG_ERROR = 0,
    LOOM_LOG_WARN = 1,
    LOOM_LOG_INFO = 2,
    LOOM_LOG_DEBUG = 3
} loom_log_level;

typedef void (*loom_log_fn)(loom_log_level level, const char *message,
                            void *user);

/* Install a log callback (NULL silences the library, the default).
 * Messages above max_level are not formatted at all. */
void loom_log_set(loom_log_fn fn, loom_log_level max_level, void *user);
const char *loom_log_level_name(loom_log_level level);

/* Progress of long work: task names it ("calibrating", "validating
 * opencl:0", "quantised vs float"), done of total steps (batches,
 * nodes); called from the thread doing the work, done == total last.
 * NULL (the default) says nothing. */
typedef void (*loom_progress_fn)(const char *task, uint64_t done, uint64_t total, void *user);
void loom_progress_set(loom_progress_fn fn, void *user);

/* ---------------------------------------------------------------------- */
/* Data types and tensors                                                  */
/* ---------------------------------------------------------------------- */

/* Values follow ONNX TensorProto.DataType. */
/* float16 and bfloat16 are held as their 16-bit patterns (uint16_t). */
#define LOOM_DTYPE_MAP(X)                                                    \
    X(F32, 1, float, "float32")                                              \
    X(U8, 2, uint8_t, "uint8")                                               \
    X(I8, 3, int8_t, "int8")                                                 \
    X(U16, 4, uint16_t, "uint16")                                            \
    X(I16, 5, int16_t, "int16")                                              \
    X(I32, 6, int32_t, "int32")                                              \
    X(I64, 7, int64_t, "int64")                                              \
    X(BOOL, 9, uint8_t, "bool")                                              \
    X(F16, 10, uint16_t, "float16")                                          \
    X(F64, 11, double, "float64")                                            \
    X(U32, 12, uint32_t, "uint32")                                           \
    X(U64, 13, uint64_t, "uint64")                                           \
    X(BF16, 16, uint16_t, "bfloat16")

typedef enum {
    LOOM_DTYPE_INVALID = 0,
#define LOOM__DTYPE_ENUM(name, value, ctype, text) LOOM_##name = value,
    LOOM_DTYPE_MAP(LOOM__DTYPE_ENUM)
#undef LOOM__DTYPE_ENUM
} loom_dtype;

/* "float32", ...; "invalid" for anything else. */
const char *loom_dtype_name(loom_dtype dtype);
/* Bytes per element; 0 for an unsupported dtype. */
size_t loom_dtype_size(loom_dtype dtype);

#define LOOM_MAX_RANK 8

/* A dense, C-order host tensor that owns its data. */
typedef struct loom_tensor loom_tensor;

/* Zero-filled tensor. dims may be NULL when rank is 0 (a scalar). */
loom_status loom_tensor_create(loom_dtype dtype, int rank, const int64_t *dims,
                               loom_tensor **out);
void loom_tensor_free(loom_tensor *t);
loom_dtype loom_tensor_dtype(const loom_tensor *t);
int loom_tensor_rank(const loom_tensor *t);
const int64_t *loom_tensor_dims(const loom_tensor *t);
int64_t loom_tensor_numel(const loom_tensor *t);
size_t loom_tensor_nbytes(const loom_tensor *t);
void *loom_tensor_data(loom_tensor *t);
const void *loom_tensor_cdata(const loom_tensor *t);

/* .npy files (format 1.0-3.0; float32, int8, int32, int64, plus uint8 and
 * bool; little-endian, C order). The file is validated like any untrusted
 * input. Saving writes a temporary file and renames it into place, so a
 * failed save never leaves a half-written file. */
loom_status loom_npy_load(const char *path, loom_tensor **out);
/* The dtype and shape of an .npy file (dims: LOOM_MAX_RANK entries), its
 * header and size checked as loom_npy_load does, without reading the
 * data. Loading needs the data's size within loom_memory_budget(). */
loom_status loom_npy_peek(const char *path, loom_dtype *dtype, int *rank, int64_t *dims);
loom_status loom_npy_save(const char *path, const loom_tensor *t);

/* Single ONNX TensorProto files (.pb, the files of ONNX's test data sets):
 * every dtype loom has, bfloat16 included (numpy has none). Loading
 * validates the file like any untrusted input (external data is
 * refused); saving stores name (may be NULL) and writes a temporary file
 * renamed into place. */
loom_status loom_tensor_load_pb(const char *path, loom_tensor **out);
loom_status loom_tensor_save_pb(const char *path, const char *name, const loom_tensor *t);

/* ---------------------------------------------------------------------- */
/* Devices                                                                 */
/* ---------------------------------------------------------------------- */

/* A device found at run time: the host reference ("ref"), each OpenCL
 * device ("opencl:0", ...). Listed in the automatic fallback order:
 * accelerators, GPUs, CPUs behind a runtime, then "ref". */
typedef struct {
    const char *name;     /* what --device takes: "ref", "opencl:0" */
    const char *backend;  /* "ref", "opencl" */
    const char *kind;     /* "accelerator", "gpu", "cpu" or "host" */
    const char *model;    /* the hardware's own name */
    const char *platform; /* runtime / platform */
    uint64_t memory_bytes;
    int compute_units;
    bool healthy;         /* false after a failure in this process */
    const char *status;   /* "ok" or what failed */
} loom_device_info;

/* Devices are found on first use (every backend asks its runtime once per
 * process). */
size_t loom_device_count(void);
loom_status loom_device_get(size_t i, loom_device_info *out);

/* The cost model's rates for device i (of loom_device_count): what the
 * partitioner and the predicted times use. With measure, the device is
 * calibrated first (a micro-benchmark of about a second, once per machine:
 * cached in the loom cache folder; LOOM_CALIBRATE=force measures again);
 * otherwise the rates are the measured ones only if this process has
 * calibrated it already (an automatic placement does), else modelled. */
typedef struct {
    double gflops;     /* fp32 GEMM-like work, GFLOP/s */
    double gops_int8;  /* int8 GEMM work, GOP/s */
    double mem_gbps;   /* memory-bound work, GB/s */
    double launch_us;  /* fixed cost of a node */
    double copy_gbps;  /* copies between host and device (unused with host_memory) */
    double copy_us;    /* fixed cost of a copy */
    bool host_memory;  /* its buffers are host memory: copies cost nothing */
    bool measured;     /* false: modelled from the device's type and size */
} loom_device_rates;
loom_status loom_device_rates_get(size_t i, bool measure, loom_device_rates *out);

/* ---------------------------------------------------------------------- */
/* Models                                                                  */
/* ---------------------------------------------------------------------- */

typedef struct loom_model loom_model;

typedef struct {
    /* Largest model file accepted, bytes (0: 2 GiB, the protobuf limit). */
    size_t max_file_bytes;
    /* Deepest protobuf message nesting accepted (0: 64; at most 100). */
    int max_nesting;
    /* Largest single tensor accepted, bytes, initializers and external
     * data included (0: 4 GiB). */
    uint64_t max_tensor_bytes;
    /* Memory loading may take, bytes: the decoded protobuf (estimated
     * from the file before decoding, then counted as it decodes) and
     * every tensor's data (counted before any is read). A model that
     * needs more is LOOM_E_LIMIT, saying what it would need
     * (0: loom_memory_budget()). */
    uint64_t max_memory_bytes;
} loom_load_options;

/* The default memory budget of loading a model or an .npy file, bytes:
 * $LOOM_MAX_MEMORY when set (a size such as 512M or 8G), else half of the
 * least of physical memory, RLIMIT_AS, RLIMIT_DATA and the cgroup's
 * memory.max. */
uint64_t loom_memory_budget(void);
/* A size as LOOM_MAX_MEMORY takes it: "512M", "8G", "1073741824", bytes
 * with an optional K, M, G or T (powers of 1024; "B" or "iB" after it
 * allowed). false, *bytes untouched, when text is not a size above 0. */
bool loom_parse_size(const char *text, uint64_t *bytes);

/* Import an ONNX model. opts may be NULL for defaults. External data is
 * read from files inside the model's folder only. */
loom_status loom_model_load(const char *path, const loom_load_options *opts,
                            loom_model **out);
/* Import from memory. name labels error messages; base_dir is the folder
 * external data is confined to (NULL: external data is refused). */
loom_status loom_model_load_buffer(const void *data, size_t size,
                                   const char *name, const char *base_dir,
                                   const loom_load_options *opts,
                                   loom_model **out);
void loom_model_free(loom_model *m);

/* Declared type of a graph input or output. A dim of -1 is symbolic and
 * dim_params[i] names it ("batch"), or is NULL when unnamed. */
typedef struct {
    const char *name;
    loom_dtype dtype;
    int rank;
    int64_t dims[LOOM_MAX_RANK];
    const char *dim_params[LOOM_MAX_RANK];
} loom_value_info;

typedef struct {
    int64_t ir_version;
    int64_t opset;           /* default-domain opset */
    const char *producer;    /* "pytorch", or "" */
    const char *producer_version;
    size_t node_count;
    size_t param_count;      /* initializer tensors */
    uint64_t param_elements; /* their elements */
    uint64_t param_bytes;    /* their bytes */
} loom_model_summary;

void loom_model_summary_get(const loom_model *m, loom_model_summary *out);
size_t loom_model_input_count(const loom_model *m);
size_t loom_model_output_count(const loom_model *m);
/* Fill *out for input/output i; the strings live as long as the model. */
loom_status loom_model_input(const loom_model *m, size_t i,
                             loom_value_info *out);
loom_status loom_model_output(const loom_model *m, size_t i,
                              loom_value_info *out);
/* Op types used by the graph, in first-use order, with their counts. */
size_t loom_model_op_type_count(const loom_model *m);
loom_status loom_model_op_type(const loom_model *m, size_t i,
                               const char **op_type, size_t *count);

/* ---------------------------------------------------------------------- */
/* Sessions: a model specialised to input shapes, planned, ready to run     */
/* ---------------------------------------------------------------------- */

typedef struct loom_session loom_session;

/* Concrete shape for one graph input. */
typedef struct {
    const char *name;
    int rank;
    const int64_t *dims;
} loom_input_shape;

typedef struct {
    /* Shapes for inputs with symbolic dims. Inputs not listed keep their
     * declared shape, with every symbolic dim set to 1. */
    const loom_input_shape *input_shapes;
    size_t input_shape_count;
    /* Largest tensor the plan may hold, bytes (0: 8 GiB). A model whose
     * shapes need more fails with LOOM_E_LIMIT instead of exhausting
     * memory. */
    uint64_t max_tensor_bytes;
    /* Run the passes (shape inference, constant folding) but allocate no
     * run-time buffers: for inspecting a model. loom_session_run() then
     * fails and output tensors are NULL; shapes and node counts work. */
    bool infer_only;
    /* Devices to use, in priority order, comma-separated ("opencl:0,ref"),
     * or NULL / "auto" for every healthy device in fallback order. "opencl"
     * names every OpenCL device. Unless strict, "ref" is appended so that
     * every node has a home; in "auto" mode the partitioner also keeps
     * work on the host where copies would cost more than they save. */
    const char *devices;
    /* Never fall back: a node no listed device supports, or a device that
     * fails, is an error (LOOM_E_DEVICE_UNAVAILABLE / _FAILED) naming it. */
    bool strict;
    /* Time every node (devices finish each node before the next starts,
     * so the total is slower): see loom_session_node_time(). */
    bool profile;
    /* Copy every node's outputs to the host right after the node runs, so
     * that loom_session_node_output() can read them (for validation;
     * slower: devices finish each node and copy its outputs back). */
    bool keep_values;
    /* Run a QDQ model's QuantizeLinear/DequantizeLinear as written, in
     * float (ONNX's own semantics), instead of lowering them to loom's
     * int8 nodes: for checking what the int8 path computes. */
    bool qdq_float;
    /* Keep every activation (Relu, Sigmoid, Tanh) a node of its own
     * instead of fusing it into the Gemm/MatMul/Conv before it, so that
     * every tensor of the model exists (calibration reads them all). */
    bool unfused;
    /* Record every step of every run (kernels and copies, with their
     * device and times) for loom_session_trace_event(); devices finish
     * each step before the next starts, as with profile. */
    bool trace;
    /* Give every value its own device buffer instead of the memory plan
     * (values whose lifetimes do not overlap share one): for checking the
     * plan. */
    bool own_buffers;
} loom_session_options;

/* The session keeps its own reference to everything it needs from the
 * model; the model may be freed afterwards. opts may be NULL. */
loom_status loom_session_create(const loom_model *m,
                                const loom_session_options *opts,
                                loom_session **out);
void loom_session_free(loom_session *s);

size_t loom_session_input_count(const loom_session *s);
size_t loom_session_output_count(const loom_session *s);
/* Name and concrete shape of input/output i. */
loom_status loom_session_input(const loom_session *s, size_t i,
                               loom_value_info *out);
loom_status loom_session_output(const loom_session *s, size_t i,
                                loom_value_info *out);
/* Number of nodes left to execute after constant folding. */
size_t loom_session_node_count(const loom_session *s);

/* Where node i (of loom_session_node_count, in execution order) runs and
 * why; strings live as long as the session. */
typedef struct {
    const char *name;      /* node name ("" when the model gives none) */
    const char *op_type;
    const char *fused;     /* activation fused into it ("Relu"), or "" */
    const char *device;    /* device name */
    const char *reason;    /* why the partitioner put it there */
    int subgraph;          /* index of its subgraph (consecutive nodes on one device) */
} loom_node_placement;
loom_status loom_session_placement(const loom_session *s, size_t i, loom_node_placement *out);

/* Output k of node i (execution order) after the last run, on the host;
 * NULL unless the session keeps values (keep_values) or the output is a
 * graph output, or when i or k is out of range. Owned by the session. */
size_t loom_session_node_output_count(const loom_session *s, size_t i);
const loom_tensor *loom_session_node_output(const loom_session *s, size_t i, size_t k);

/* With the profile option: mean wall time of node i per run, and of the
 * copies into and out of devices, microseconds (0 before the first run). */
double loom_session_node_time(const loom_session *s, size_t i);
double loom_session_copy_time(const loom_session *s);
/* The cost model's time for node i on the device it was placed on, for
 * subgraph i (its nodes and the copies at its boundaries), and for a whole
 * run, microseconds: what the partitioner compared, from the devices'
 * rates (measured on this machine once a session has placed nodes
 * automatically, else modelled: see loom_device_rates_get). */
double loom_session_node_predicted_us(const loom_session *s, size_t i);
double loom_session_subgraph_predicted_us(const loom_session *s, size_t i);
double loom_session_predicted_us(const loom_session *s);
/* Forget the times (and cycle counts) so far (after a warm-up run, say). */
void loom_session_profile_reset(loom_session *s);

/* On a cycle-accurate device (vsim): the kernel cycles node i took per
 * run (start to done, summed over its GEMMs), and what the analytic cycle
 * model predicts for the same GEMMs. Counted on every run, with or without
 * the profile option. false (and zeros) when the node's device counts no
 * cycles or no run has completed. */
bool loom_session_node_cycles(const loom_session *s, size_t i, uint64_t *cycles, uint64_t *predicted);

/* The int8 GEMMs node i (execution order) runs on an accelerator, in the
 * kernel ABI's terms (loom/kernel-abi.h): count GEMMs of M x N x K with
 * act (a LoomQConv makes one per image and group, from its im2col; a
 * LoomQGemm one). false (and zeros) for a node that is no int8 GEMM. The
 * shapes are known once the session is made (infer_only sessions too):
 * for cycle models and design-space exploration without running. */
typedef struct {
    int64_t M, N, K;
    int act;       /* LOOM_ACT_* */
    int64_t count; /* GEMMs of this shape the node runs */
} loom_gemm_shape;
bool loom_session_node_gemm(const loom_session *s, size_t i, loom_gemm_shape *out);

/* The work node i does, counted from its shapes: for energy models and
 * rooflines. macs: multiply-accumulates of a GEMM, MatMul or Conv (int8
 * for loom's int8 nodes, else float32); elementwise: one operation per
 * output element of any other node; bytes: its inputs read and outputs
 * written, once each. */
typedef struct {
    double macs;
    bool int8;
    double elementwise;
    double bytes;
} loom_node_work;
loom_status loom_session_node_work(const loom_session *s, size_t i, loom_node_work *out);

/* The bytes a run would copy if the nodes with in_set[i] (execution
 * order, loom_session_node_count entries) ran on one device and the rest
 * on the host: values read inside the set but made outside it (graph
 * inputs included; constants not: weights are copied once, not per run)
 * into *to_set, values made inside and read outside (or graph outputs)
 * into *from_set; each value once. */
loom_status loom_session_cut_bytes(const loom_session *s, const bool *in_set, uint64_t *to_set, uint64_t *from_set);

/* With the trace option: the steps run so far, in the order they ran.
 * Times are CLOCK_MONOTONIC microseconds (loom_now_us's clock). Strings
 * live as long as the session. At most 2^20 events are kept;
 * loom_session_trace_truncated says when later ones were dropped. */
typedef struct {
    const char *name;      /* the node's name (its op type when it has none), or the copied value's */
    const char *op_type;   /* kernels; "" for copies */
    const char *category;  /* "kernel", "copy to device" or "copy to host" */
    const char *device;
    size_t node;           /* kernels: execution-order index; SIZE_MAX for copies */
    long run;              /* 0 for the session's first run */
    double start_us, dur_us;
    uint64_t bytes;        /* copies: bytes moved */
} loom_trace_event;
size_t loom_session_trace_count(const loom_session *s);
bool loom_session_trace_event(const loom_session *s, size_t i, loom_trace_event *out);
bool loom_session_trace_truncated(const loom_session *s);
/* The trace's clock, microseconds. */
double loom_now_us(void);

/* Subgraphs in execution order, with the copies at their boundaries. */
typedef struct {
    const char *device;
    size_t first_node, node_count;   /* range in placement order */
    size_t copies_in, copies_out;    /* values uploaded before / downloaded after */
    uint64_t bytes_in, bytes_out;
} loom_subgraph_info;
size_t loom_session_subgraph_count(const loom_session *s);
loom_status loom_session_subgraph(const loom_session *s, size_t i, loom_subgraph_info *out);

/* Copy t into the input called name; its dtype and shape must match. */
loom_status loom_session_set_input(loom_session *s, const char *name,
                                   const loom_tensor *t);
/* Same, for input i, copying size bytes from data (must equal the
 * input's byte size). The fast path for repeated inference. */
loom_status loom_session_set_input_data(loom_session *s, size_t i,
                                        const void *data, size_t size);
loom_status loom_session_run(loom_session *s);
/* Output i after the last run; owned by the session, overwritten by the
 * next run. NULL when i is out of range. */
const loom_tensor *loom_session_output_tensor(const loom_session *s,
                                              size_t i);

/* ---------------------------------------------------------------------- */
/* int8 GEMM of the kernel ABI (see loom/kernel-abi.h for the arithmetic)         */
/* ---------------------------------------------------------------------- */

#include "loom/kernel-abi.h"

/* Reference implementation of the accelerated int8 operation:
 *   C[M,N] = act( requant( A[M,K] . B[K,N] + bias[N] ) )
 * Returns LOOM_E_INVALID_ARG (with a message) for bad arguments. */
loom_status loom_gemm_i8_ref(const loom_gemm_i8_args *args);

/* The same operation on a device ("ref", "opencl:0", ...): operands are
 * copied to the device, the device's int8 GEMM kernel runs, C is copied
 * back. Every device must give ref's result bit for bit. LOOM_E_DEVICE_*
 * when the device is absent, unhealthy or fails. */
loom_status loom_gemm_i8(const char *device, const loom_gemm_i8_args *args);

/* Represent a real requantisation scale s in (0, 1) as mult / 2^(31+shift)
 * with mult in [2^30, 2^31) and shift in [0, 31], rounding mult to nearest.
 * LOOM_E_INVALID_ARG when s is outside the representable range. */
loom_status loom_requant_from_scale(double scale, int32_t *mult, int32_t *shift);

/* ---- validation: a device against ref, node by node ----
 *
 * The model runs on a device (nodes it does not take fall back to ref),
 * and every node the device ran is compared, in execution order, with
 * the reference kernels run on the same inputs (that node's inputs in the
 * device's run, so error carried in from earlier nodes is not counted
 * against it): integer outputs exactly, float32 within
 *     allowed = 1e-5 + 1e-5 |ref| + 1e-6 K max(1, |ref|) + 8 ulp(ref)
 * where K is the node's reduction length (K of GEMM, MatMul and Conv; the
 * inputs averaged per output of pooling and ReduceMean; the last axis of
 * LayerNormalization and Softmax; 0 for element-wise nodes). A mismatch
 * therefore names a node that computes wrongly on the device. The graph
 * outputs are also compared end to end with a run wholly on ref (the
 * difference accumulated over the whole network; reported, not judged). */
typedef struct {
    char device[32];
    size_t nodes;             /* nodes of the model's plan */
    size_t nodes_on_device;   /* of them, placed on the device: those compared */
    bool match;
    double max_abs_error;     /* worst |device - ref| over float node outputs */
    double max_error_ratio;   /* worst |device - ref| / allowed */
    double output_max_abs_error; /* worst |device - ref| over the graph
                                    outputs, end to end (INFINITY when a
                                    NaN/Inf or shape differs) */
    /* the first mismatch (when !match), in execution order */
    size_t node;
    char node_name[128];
    char op_type[40];         /* "Conv", "Conv+Relu" */
    char node_device[32];     /* where that node ran */
    size_t output;
    int64_t element;          /* flat index, -1 for a dtype or shape difference */
    double value, ref_value, allowed;
    char what[160];           /* "", or "dtype int8 vs ref float32", ... */
    /* on a cycle-accurate device (vsim): the kernel cycles of the device's
     * run and the cycle model's prediction for them (0 elsewhere) */
    uint64_t simulated_cycles, predicted_cycles;
} loom_validate_result;

/* inputs[i] feeds graph input i (n_inputs = loom_model_input_count(m)). */
loom_status loom_validate(const loom_model *m, const loom_tensor *const *inputs, size_t n_inputs,
                          const char *device, loom_validate_result *out);

/* ---- int8 post-training quantisation ----
 *
 * loom_quantize() runs the float model on calibration batches, records a
 * range per activation tensor, and writes a QDQ ONNX model (standard
 * QuantizeLinear / DequantizeLinear pairs) that fits the int8 contract of
 * loom/kernel-abi.h: Conv (2-D), Gemm and MatMul with constant weights get
 * int8 weights with one symmetric scale per output channel, an int32 bias
 * in the accumulator's scale, and int8 inputs and outputs with one
 * symmetric scale per tensor (a Relu that alone reads the output is
 * quantised after it). MaxPool, Flatten, Reshape, Squeeze, Unsqueeze and
 * Identity after a quantised tensor keep its scale, so they move int8
 * values unchanged. BatchNormalization after a Conv (its only reader) is
 * folded into the Conv's weights and bias first. Everything else stays
 * float32 between a DequantizeLinear and a QuantizeLinear.
 *
 * Reading the model back (loom_model_load + a session) turns the patterns
 * into int8 nodes (LoomQConv, LoomQGemm) that ref, opencl, vsim and xrt
 * run bit-exactly; see host/src/passes/lower-qdq.c for the rule. */
typedef enum {
    LOOM_CALIB_MINMAX = 0,     /* the largest |x| seen */
    LOOM_CALIB_PERCENTILE = 1, /* that percentile of |x| (outliers clipped) */
    LOOM_CALIB_ENTROPY = 2     /* the clipping with the least KL divergence
                                * between the |x| histogram and its 127 levels */
} loom_calib_method;

typedef struct {
    loom_calib_method method;
    double percentile;   /* LOOM_CALIB_PERCENTILE, in [50, 100]; 0: 99.99 */
    const char *device;  /* device the calibration runs on; NULL: "ref" */
} loom_quantize_options;

typedef struct {
    size_t compute_int8;   /* Conv/Gemm/MatMul given int8 weights */
    size_t compute_float;  /* Conv/Gemm/MatMul left float (see the log) */
    size_t bn_folded;      /* BatchNormalization nodes folded into a Conv */
    size_t tensors;        /* activation tensors given a scale */
    size_t samples;        /* calibration samples (rows of every batch) */
} loom_quantize_summary;

/* calib[i] is one batch for the model's single input (float32, the
 * input's shape with any batch size >= 1, every value finite). The file
 * at out_path appears only when everything succeeded. summary may be
 * NULL. LOOM_E_DATA_INVALID for an empty set, NaN/Inf or a shape that
 * does not fit, LOOM_E_DTYPE for a dtype other than float32,
 * LOOM_E_MODEL_UNSUPPORTED for opset < 13 (per-channel scales need 13) or
 * a model with more than one input. */
loom_status loom_quantize(const loom_model *m, const loom_tensor *const *calib, size_t n_calib,
                          const loom_quantize_options *opts, const char *out_path,
                          loom_quantize_summary *summary);

/* ---- comparing a quantised model with its float original ----
 *
 * Both models run on the same batches (on one device); reported: top-1
 * agreement of output 0 (argmax of the last axis; a last axis of one is a
 * probability, class 1 when > 0.5), accuracy against labels when given,
 * and per quantised tensor the signal-to-quantisation-noise ratio
 *     SQNR = 10 log10( sum x^2 / sum (x - scale * q)^2 )  dB
 * of the int8 value q against the float model's x (over all batches). */
typedef struct {
    char tensor[128];     /* the float model's tensor */
    char node[128];       /* the node producing the int8 value */
    char op_type[40];
    float scale;
    double sqnr_db;       /* INFINITY when exact */
} loom_quant_layer;

typedef struct {
    size_t samples;
    size_t agree;                      /* same top-1 class */
    bool has_labels;
    size_t float_correct, int8_correct;
    loom_quant_layer *layers;          /* in execution order */
    size_t n_layers;
} loom_quant_report;

/* labels: NULL, or an int32/int64 vector with one class per sample over
 * all batches in order. */
loom_status loom_quant_compare(const loom_model *float_model, const loom_model *quant_model,
                               const loom_tensor *const *batches, size_t n_batches,
                               const loom_tensor *labels, const char *device,
                               loom_quant_report *out);
void loom_quant_report_free(loom_quant_report *r);

/* ---- vsim: the int8 GEMM on the Verilated RTL (rtl/, sim/) ----
 *
 * The "vsim" device is chosen by name only (--device vsim), never by
 * "auto": it is cycle-accurate and slow. loom_gemm_i8("vsim", ...) runs
 * with the defaults below; loom_vsim_gemm_i8 takes them explicitly and
 * reports cycles. Built only with Verilator (LOOM_WITH_VERILATOR); without
 * it these return LOOM_E_DEVICE_UNAVAILABLE. */
typedef struct {
    int rows, cols;                 /* array size; 0: rtl/loom-array.json's */
    uint32_t read_bytes_per_cycle;  /* memory model; 0: rtl/loom-array.json's */
    uint32_t read_latency;          /* cycles (>= 1); 0: default */
    uint32_t write_bytes_per_cycle;
    uint32_t write_latency;
    uint64_t reset_seed;            /* random initial register state; 0: a fresh seed */
    uint64_t watchdog_cycles;       /* 0: twice the cycle model's prediction + 10000 */
    const char *waveform;           /* write an FST waveform here, or NULL */
    int test_withhold_reads;        /* test knob: the memory never answers reads */
    int test_spurious_read;         /* test knob: the memory answers a read nobody made */
} loom_vsim_options;

typedef struct {
    int rows, cols;
    uint32_t read_bytes_per_cycle, read_latency, write_bytes_per_cycle, write_latency;
    uint64_t reset_seed;            /* the seed used (print it to reproduce a run) */
    uint64_t cycles;                /* start to done: the kernel's CYCLES register */
    uint64_t predicted_cycles;      /* the host's analytic cycle model */
    double ideal_cycles;            /* M*N*K / (rows*cols) */
    double utilisation;             /* ideal_cycles / cycles */
    uint64_t sim_cycles;            /* cycles simulated, including register access */
    double wall_seconds;            /* spent simulating them */
    uint64_t bytes_read;            /* device memory the RTL read (answered beats) */
    uint64_t bytes_written;         /* and wrote (strobed bytes) */
} loom_vsim_stats;

/* The array sizes this build can simulate, as {rows, cols}; returns how
 * many (0 without Verilator). */
int loom_vsim_sizes(int (*sizes)[2], int max);

/* Run one int8 GEMM on a fresh simulator; stats may be NULL. */
loom_status loom_vsim_gemm_i8(const loom_vsim_options *opt, const loom_gemm_i8_args *args,
                              loom_vsim_stats *stats);

/* The array's kernel clock (rtl/loom-array.json's clock_mhz), MHz: simulated
 * cycles over it give the latency the RTL would have on a card. */
double loom_vsim_clock_mhz(void);
/* The array the vsim device simulates (rtl/loom-array.json's rows, cols). */
void loom_vsim_default_array(int *rows, int *cols);
/* The memory port's width in bytes (rtl/loom-array.json's port_bytes): the
 * most read_bytes_per_cycle and write_bytes_per_cycle may be. */
int loom_vsim_port_bytes(void);

/* The analytic cycle model alone (no simulator needed): cycles from start
 * to done for M x N x K with act (LOOM_ACT_*) under opt (NULL: defaults). */
loom_status loom_vsim_predict_cycles(const loom_vsim_options *opt, int64_t M, int64_t N, int64_t K,
                                     int act, uint64_t *cycles);

/* The model's whole prediction for one GEMM: its cycles and the activity
 * an energy model multiplies by per-action energies. */
typedef struct {
    uint64_t cycles;                /* start to done, as loom_vsim_predict_cycles */
    uint64_t bytes_read;            /* device memory read (the LUT, parameters, operands) */
    uint64_t bytes_written;         /* device memory written (C) */
    uint64_t spad_bytes_written;    /* operand bytes stored in the scratchpads */
    uint64_t spad_bytes_read;       /* bytes the feeder reads out (every lane, every K step) */
    uint64_t mac_slots;             /* rows x cols x K steps fed: every cell clocks a MAC */
    double macs;                    /* M x N x K: the useful ones */
} loom_vsim_activity;

loom_status loom_vsim_predict(const loom_vsim_options *opt, int64_t M, int64_t N, int64_t K, int act,
                              loom_vsim_activity *out);

/* ---- rtl resources: the kernel's FPGA resources, estimated by yosys ----
 *
 * rtl/ synthesised by yosys (synth_xilinx, UltraScale+) at one array size
 * and its mapped cells counted: a yosys estimate, not Vivado's (no
 * placement; the Vitis shell is not included). Synthesis takes minutes at
 * 16x16; results are cached (loom's cache folder, keyed by the yosys
 * version and the RTL's contents). Without yosys: LOOM_E_DEVICE_UNAVAILABLE;
 * a synthesis that fails: LOOM_E_DEVICE_FAILED with the log's end. The RTL
 * is read from $LOOM_RTL_DIR, else the source tree, else share/loom/rtl;
 * yosys is $LOOM_YOSYS, else yosys on PATH. */
typedef struct {
    int rows, cols;
    double lut;             /* CLB LUTs: logic, LUT RAM and shift registers */
    double lutram;          /* of which LUT RAM and shift registers */
    double ff;              /* flip-flops */
    double dsp;             /* DSP48E2 slices */
    double bram36;          /* block RAM, RAMB36 equivalents (a RAMB18 is half) */
    double uram;            /* UltraRAM blocks */
    double carry;           /* carry-chain cells (not in the LUT count) */
    double synth_seconds;   /* the synthesis's wall time (when cached: of the run that made it) */
    bool cached;            /* read from the cache */
    char tool[128];         /* yosys -V */
} loom_rtl_resources;

typedef struct {
    bool no_cache;          /* synthesise even when cached (and do not cache) */
    bool cache_only;        /* the cached estimate or LOOM_E_NOT_FOUND: never synthesise */
    double timeout_s;       /* stop yosys after this long (LOOM_E_LIMIT); 0: no limit */
} loom_rtl_resources_options;

/* opt may be NULL. */
loom_status loom_rtl_resources_estimate(int rows, int cols, const loom_rtl_resources_options *opt,
                                        loom_rtl_resources *out);

/* ---- boards: data files for FPGA cards, GPUs and CPUs (boards/) ----
 *
 * One JSON file per board: resources, clocks, memory, peak rates, power
 * limit, XRT platform name, and the source of every figure (estimates and
 * derived values marked). Files are read from $LOOM_BOARDS_DIR, else from
 * the boards/ folder of the source tree loom was built from while it is
 * there, else from the installed share/loom/boards. Every file is
 * validated: an unknown key, a figure without a known source, a missing
 * required figure is LOOM_E_DATA_INVALID naming the file and the key. */
typedef struct loom_board loom_board;

typedef struct {
    const char *key;        /* "dsp", "memory_bandwidth_gbps", ... */
    bool is_text;           /* value in text, else in number */
    double number;
    const char *text;
    const char *unit;       /* "" when none */
    const char *source_key; /* "S07" */
    const char *source;     /* the citation */
    const char *note;       /* "" when none */
    bool estimate;          /* not verified against a primary source */
    bool derived;           /* computed from sourced inputs */
} loom_board_figure;

/* name: a board ("u250", see loom_boards_list) or a path to a .json file. */
loom_status loom_board_load(const char *name, loom_board **out);
void loom_board_free(loom_board *b);
const char *loom_board_name(const loom_board *b);
const char *loom_board_kind(const loom_board *b); /* "fpga", "gpu", "cpu" or "energy" (a table) */
const char *loom_board_title(const loom_board *b);
size_t loom_board_figure_count(const loom_board *b);
const loom_board_figure *loom_board_figure_at(const loom_board *b, size_t i);
/* NULL when the board has no such figure */
const loom_board_figure *loom_board_find(const loom_board *b, const char *key);

/* The board names in the boards folder, sorted; free with
 * loom_boards_list_free. */
loom_status loom_boards_list(char ***names, size_t *count);
void loom_boards_list_free(char **names, size_t count);
/* The folder boards are read from. */
const char *loom_boards_dir(void);

/* ---- power meters: energy read where the hardware has a meter ----
 *
 * rapl: CPU packages (powercap's intel-rapl zones, energy counters; root-
 * only on current kernels); nvml: NVIDIA GPUs (the driver's NVML, loaded
 * at run time: total energy counter, else power draw integrated); xmc:
 * Alveo cards (the xmc power node of XRT's driver, integrated). Each kind
 * that is absent says why in why_not (one line each). A reading is the
 * energy since open: counters add back a wrap, power meters integrate
 * between samples, so sample them at least every second or so.
 * $LOOM_SYSFS_ROOT and $LOOM_NVML_LIB point elsewhere (tests). */
typedef struct loom_meter loom_meter;

typedef struct {
    const char *name;       /* "rapl:package-0", "nvml:0 NVIDIA H200", "xmc:0000:65:00.1" */
    const char *kind;       /* "rapl", "nvml" or "xmc" */
    const char *boundary;   /* what it measures: "CPU package", "GPU board", "card (...)" */
    const char *unit;       /* what it reads */
    double resolution_j;    /* a counter's step; 0 for a power meter */
    uint64_t updates;       /* samples in which the reading changed */
    double total_j;         /* energy since open, as of the last sample */
} loom_meter_info;

loom_status loom_meters_open(loom_meter ***meters, size_t *n, char *why_not, size_t size);
/* Read the meter now: *joules is the energy since open. */
loom_status loom_meter_sample(loom_meter *m, double *joules);
const loom_meter_info *loom_meter_get_info(const loom_meter *m);
void loom_meters_free(loom_meter **meters, size_t n);

/* ---- modelled energy: per-action energies (an "energy" table in boards/)
 * times the activity counts of a run ----
 *
 * On-chip energies (MACs, scratchpad accesses, float32 arithmetic) are
 * scaled from the table's node and voltage to the board's (process_nm,
 * vccint_v) by the first-order C V^2 rule: (node / table node) x (V /
 * table V)^2; device memory (off-chip) is not scaled. ASIC-like figures
 * for the arithmetic and SRAM: a lower bound on a device's dynamic energy
 * (instruction fetch and control on a processor, routing and clock trees
 * on an FPGA are not counted), and no static power. */
typedef struct {
    double mac_slots;       /* int8 multiply-accumulates clocked (every cell, every step) */
    double spad_bytes;      /* on-chip scratchpad bytes written and read */
    double dram_bytes;      /* device memory bytes read and written */
    double fp32_macs;       /* float32 multiply-accumulates (a processor's GEMM-like work) */
    double fp32_ops;        /* other float32 operations, an add's energy each */
} loom_energy_counts;

typedef struct {
    double mac_j, spad_j, dram_j;
    double fp32_j;          /* fp32_macs x (mul + add) + fp32_ops x add */
    double dynamic_j;       /* their sum */
    double scale;           /* the node and voltage scaling applied to the on-chip terms */
} loom_energy_estimate;

/* board: a board with process_nm and vccint_v (else, or NULL, unscaled,
 * and *scaled false); table: a board of kind "energy". */
loom_status loom_energy_int8_array(const loom_board *board, const loom_board *table, const loom_energy_counts *c,
                                   loom_energy_estimate *out, bool *scaled);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif /* LOOM_LOOM_H */
