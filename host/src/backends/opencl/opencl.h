/*
 * opencl.h - private pieces of the OpenCL backend.
 *
 *   cl-device.c   platforms and devices, buffers, the queue, errors, finish
 *   cl-program.c  the program: embedded kernel sources, tuning knobs,
 *                 on-disk binary cache, build logs
 *   cl-ops.c      which nodes run here, and how (kernel launches)
 *   cl-fault.c    test-only fault injection (LOOM_TEST_FAULT)
 */
#ifndef LOOM_OPENCL_H
#define LOOM_OPENCL_H

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <pthread.h>

#include "backends/backend.h"
#include "loom-cl.h"

/* Shared scratch matrices per device (see loom__cl_dev.scratch). */
#define LOOM__CL_SCRATCH_SLOTS 2

/* The kernels of the program, by name. */
#define LOOM__CL_KERNELS(X)                                                  \
    X(loom_gemm_f32) X(loom_gemm_f32_ex) X(loom_gemm_f32_systolic)           \
    X(loom_gemv_f32)                                                         \
    X(loom_gemm_i8) X(loom_gemm_i8_systolic)                                 \
    X(loom_unary) X(loom_binary) X(loom_strided_copy) X(loom_channel_affine) \
    X(loom_softmax) X(loom_layernorm) X(loom_pool2d) X(loom_global_avgpool)   \
    X(loom_im2col) X(loom_transpose2d) X(loom_im2col_i8)                      \
    X(loom_transpose2d_i8) X(loom_maxpool2d_i8) X(loom_conv2d_direct)         \
    X(loom_im2col_k1) X(loom_im2col_k3) X(loom_im2col_k5) X(loom_im2col_k7)   \
    X(loom_im2col_i8_k1) X(loom_im2col_i8_k3) X(loom_im2col_i8_k7)          \
    X(loom_dwconv2d) X(loom_dwconv2d_k3) X(loom_dwconv2d_k5)                  \
    X(loom_dwconv2d_small_k3) X(loom_dwconv2d_small_k5)                       \
    X(loom_maxpool2d_rows) X(loom_maxpool2d_rows_k3)

typedef enum {
#define LOOM__CL_K_ENUM(name) K_##name,
    LOOM__CL_KERNELS(LOOM__CL_K_ENUM)
#undef LOOM__CL_K_ENUM
    K_COUNT
} loom__cl_kernel_id;

/* Kernel knobs chosen for a device from the tuning table
 * (kernels-cl/tuning.json, embedded at build time), or the kernels' own
 * defaults. The host reads the same values to size its launches. */
#define LOOM__CL_MAX_KNOBS 32
typedef struct {
    int n;
    char name[LOOM__CL_MAX_KNOBS][32];
    long value[LOOM__CL_MAX_KNOBS];
    bool systolic;       /* GEMM in the systolic formulation (FPGA devices) */
    char options[1024];  /* "-DNAME=value ..." for the program build */
    char source[160];    /* which tuning entry, for messages */
} loom__cl_tuning;

/* Knob value, or def when the table does not set it. */
long loom__cl_knob(const loom__cl_tuning *t, const char *name, long def);

typedef struct {
    cl_platform_id platform;
    cl_device_id device;
    cl_context ctx;
    cl_command_queue queue;
    cl_program program;          /* built on first use */
    cl_kernel kernels[K_COUNT];
    bool build_tried;
    loom_status build_status;
    char build_error[1024];
    uint64_t max_alloc;
    uint64_t unbacked_bytes;     /* of buffers made but not used yet: memory the runtime
                                    still has to find for them (under lock) */
    size_t max_wg;
    char driver[128];
    loom__cl_tuning tuning;
    /* FPGA platforms (Xilinx XRT's ICD, Intel FPGA): kernels come as a
     * vendor binary ($LOOM_XCLBIN), loaded on first use; see cl-binary.c */
    bool fpga;
    bool bin_tried;
    loom_status bin_status;
    char bin_error[512];
    cl_program bin_program;
    cl_kernel bin_kernel;
    pthread_mutex_t lock;        /* kernel arguments and the queue */
    /* scratch matrices every plan on this device shares (convolutions'
     * im2col and GEMM results): the one in-order queue runs one launch
     * after another, so no two users overlap. Grown at plan time, under
     * lock; launches name a slot, resolved when they are enqueued. */
    cl_mem scratch[LOOM__CL_SCRATCH_SLOTS];
    size_t scratch_bytes[LOOM__CL_SCRATCH_SLOTS];
    /* guard mode (LOOM_CL_GUARD=1, for tests): live buffers and their
     * sizes; each has LOOM__CL_GUARD pattern bytes after its end */
    cl_mem *guarded;
    size_t *guarded_size;
    int n_guarded, cap_guarded;
} loom__cl_dev;

#define LOOM__CL_GUARD 256
#define LOOM__CL_GUARD_BYTE 0xA5

/* "CL_INVALID_BUFFER_SIZE" for -61; "CL_UNKNOWN_ERROR" otherwise. */
const char *loom__cl_error_name(cl_int err);
/* LOOM_E_DEVICE_FAILED with "<call>: OpenCL error <code> <name>" (the
 * native code kept in the message). */
loom_status loom__cl_fail(cl_int err, const char *call);

/* A device buffer of nbytes (filled from data unless NULL), with guard
 * bytes after it in guard mode (LOOM_CL_GUARD=1); release it with
 * loom__cl_buffer_release. loom__cl_guard_verify checks every live
 * buffer's guard bytes (LOOM_E_DEVICE_FAILED when a kernel overwrote them). */
loom_status loom__cl_buffer_new(loom__device *dev, const void *data, size_t nbytes, cl_mem *out);
void loom__cl_buffer_release(loom__device *dev, cl_mem m);
loom_status loom__cl_guard_verify(loom__device *dev);
bool loom__cl_guard_mode(void); /* LOOM_CL_GUARD=1 */

/* Wait for ev (and release it) within the timeout (LOOM_CL_TIMEOUT);
 * LOOM_E_DEVICE_FAILED naming what on a timeout or a failed command. */
loom_status loom__cl_wait(loom__device *dev, cl_event ev, const char *what);

/* FPGA platforms: is this platform one whose kernels come as binaries
 * (or LOOM_CL_BINARY_ROUTE=1, a test knob that treats any platform so)? */
bool loom__cl_binary_platform(const char *platform_name);
/* The int8 GEMM on such a device: the binary's loom_gemm_i8_kernel, with
 * the HLS kernel's argument order (B transposed), one task. */
loom_status loom__cl_binary_gemm_i8(loom__device *dev, const loom_gemm_i8_args *a);

/* Build (or load from the cache) the device's program; idempotent. */
loom_status loom__cl_program_get(loom__device *dev);
/* Choose knobs for the device from the tuning table. */
void loom__cl_tuning_pick(loom__device *dev, loom__cl_tuning *t);

/* ---- fault injection (tests only; see cl-fault.c) ---- */
bool loom__cl_fault_build(void);
bool loom__cl_fault_wrong_add(void);
bool loom__cl_fault_misround(void);
bool loom__cl_fault_alloc(void);
bool loom__cl_fault_stall(void);
/* true when this enqueue should fail (counts enqueues) */
bool loom__cl_fault_enqueue(void);

/* ---- ops (cl-ops.c) ---- */
bool loom__cl_supports(loom__device *dev, const loom__graph *g, const loom__node *n, const char **why);
double loom__cl_cost_us(loom__device *dev, const loom__graph *g, const loom__node *n);
bool loom__cl_reads_input(loom__device *dev, const loom__graph *g, const loom__node *n, int i);
loom_status loom__cl_prepare(loom__device *dev, const loom__graph *g, const loom__node *n,
                             const loom__arg *in, const loom__arg *out, void **state);
loom_status loom__cl_run(loom__device *dev, void *state, const loom__node *n, const loom__arg *in,
                         const loom__arg *out);
void loom__cl_release(loom__device *dev, void *state);
loom_status loom__cl_gemm_i8(loom__device *dev, const loom_gemm_i8_args *args);

/* cl-env.c: check and mend the environment an OpenCL runtime starts in
 * (PoCL's thread count and cache folder, the address space); false when
 * no runtime should be started (the reason given to the registry). */
bool loom__cl_env_prepare(const loom__backend *be);

#endif /* LOOM_OPENCL_H */
