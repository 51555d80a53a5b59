/*
 * cl-device.c - the OpenCL backend's devices: every device of every
 * platform the ICD loader reports (PoCL on the CPU here; GPU and FPGA
 * vendor ICDs elsewhere), one context and in-order queue each, buffers,
 * copies, and a finish() that waits with a timeout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends/opencl/opencl.h"

#define CL_ERRORS(X)                                                                      \
    X(0, CL_SUCCESS) X(-1, CL_DEVICE_NOT_FOUND) X(-2, CL_DEVICE_NOT_AVAILABLE)             \
    X(-3, CL_COMPILER_NOT_AVAILABLE) X(-4, CL_MEM_OBJECT_ALLOCATION_FAILURE)               \
    X(-5, CL_OUT_OF_RESOURCES) X(-6, CL_OUT_OF_HOST_MEMORY)                                \
    X(-7, CL_PROFILING_INFO_NOT_AVAILABLE) X(-8, CL_MEM_COPY_OVERLAP)                      \
    X(-9, CL_IMAGE_FORMAT_MISMATCH) X(-10, CL_IMAGE_FORMAT_NOT_SUPPORTED)                  \
    X(-11, CL_BUILD_PROGRAM_FAILURE) X(-12, CL_MAP_FAILURE)                                \
    X(-13, CL_MISALIGNED_SUB_BUFFER_OFFSET)                                               \
    X(-14, CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST) X(-15, CL_COMPILE_PROGRAM_FAILURE)\
    X(-16, CL_LINKER_NOT_AVAILABLE) X(-17, CL_LINK_PROGRAM_FAILURE)                        \
    X(-18, CL_DEVICE_PARTITION_FAILED) X(-19, CL_KERNEL_ARG_INFO_NOT_AVAILABLE)            \
    X(-30, CL_INVALID_VALUE) X(-31, CL_INVALID_DEVICE_TYPE) X(-32, CL_INVALID_PLATFORM)    \
    X(-33, CL_INVALID_DEVICE) X(-34, CL_INVALID_CONTEXT)                                   \
    X(-35, CL_INVALID_QUEUE_PROPERTIES) X(-36, CL_INVALID_COMMAND_QUEUE)                   \
    X(-37, CL_INVALID_HOST_PTR) X(-38, CL_INVALID_MEM_OBJECT)                              \
    X(-39, CL_INVALID_IMAGE_FORMAT_DESCRIPTOR) X(-40, CL_INVALID_IMAGE_SIZE)               \
    X(-41, CL_INVALID_SAMPLER) X(-42, CL_INVALID_BINARY) X(-43, CL_INVALID_BUILD_OPTIONS)  \
    X(-44, CL_INVALID_PROGRAM) X(-45, CL_INVALID_PROGRAM_EXECUTABLE)                       \
    X(-46, CL_INVALID_KERNEL_NAME) X(-47, CL_INVALID_KERNEL_DEFINITION)                    \
    X(-48, CL_INVALID_KERNEL) X(-49, CL_INVALID_ARG_INDEX) X(-50, CL_INVALID_ARG_VALUE)    \
    X(-51, CL_INVALID_ARG_SIZE) X(-52, CL_INVALID_KERNEL_ARGS)                             \
    X(-53, CL_INVALID_WORK_DIMENSION) X(-54, CL_INVALID_WORK_GROUP_SIZE)                   \
    X(-55, CL_INVALID_WORK_ITEM_SIZE) X(-56, CL_INVALID_GLOBAL_OFFSET)                     \
    X(-57, CL_INVALID_EVENT_WAIT_LIST) X(-58, CL_INVALID_EVENT) X(-59, CL_INVALID_OPERATION)\
    X(-60, CL_INVALID_GL_OBJECT) X(-61, CL_INVALID_BUFFER_SIZE) X(-62, CL_INVALID_MIP_LEVEL)\
    X(-63, CL_INVALID_GLOBAL_WORK_SIZE) X(-64, CL_INVALID_PROPERTY)                        \
    X(-65, CL_INVALID_IMAGE_DESCRIPTOR) X(-66, CL_INVALID_COMPILER_OPTIONS)                \
    X(-67, CL_INVALID_LINKER_OPTIONS) X(-68, CL_INVALID_DEVICE_PARTITION_COUNT)            \
    X(-1001, CL_PLATFORM_NOT_FOUND_KHR)

const char *loom__cl_error_name(cl_int err)
{
    switch (err) {
#define CL_ERR_CASE(code, name) \
    case code:                  \
        return #name;
        CL_ERRORS(CL_ERR_CASE)
#undef CL_ERR_CASE
    }
    return "CL_UNKNOWN_ERROR";
}

loom_status loom__cl_fail(cl_int err, const char *call)
{
    return loom__err(LOOM_E_DEVICE_FAILED, "%s: OpenCL error %d %s", call, (int)err,
                     loom__cl_error_name(err));
}

/* ---- enumeration ---- */

static void info_str(cl_device_id d, cl_device_info what, char *buf, size_t size)
{
    buf[0] = '\0';
    if (clGetDeviceInfo(d, what, size, buf, NULL) != CL_SUCCESS)
        buf[0] = '\0';
    buf[size - 1] = '\0';
}

static loom__dev_kind kind_of(cl_device_type t)
{
    if (t & (CL_DEVICE_TYPE_ACCELERATOR | CL_DEVICE_TYPE_CUSTOM))
        return LOOM__DEV_ACCEL;
    if (t & CL_DEVICE_TYPE_GPU)
        return LOOM__DEV_GPU;
    return LOOM__DEV_CPU;
}

static void add_device(const loom__backend *be, cl_platform_id p, cl_device_id did, int index)
{
    loom__cl_dev *cd;
    loom__device *dev;
    cl_device_type type = CL_DEVICE_TYPE_DEFAULT;
    cl_ulong mem = 0, max_alloc = 0;
    cl_uint units = 0, mhz = 0;
    cl_bool unified = CL_FALSE;
    size_t max_wg = 0;
    char pname[128] = "";
    cl_int err;

    clGetDeviceInfo(did, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    clGetDeviceInfo(did, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem, NULL);
    clGetDeviceInfo(did, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof max_alloc, &max_alloc, NULL);
    clGetDeviceInfo(did, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL);
    clGetDeviceInfo(did, CL_DEVICE_MAX_CLOCK_FREQUENCY, sizeof mhz, &mhz, NULL);
    clGetDeviceInfo(did, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof max_wg, &max_wg, NULL);
    clGetDeviceInfo(did, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified, NULL);
    clGetPlatformInfo(p, CL_PLATFORM_NAME, sizeof pname, pname, NULL);
    pname[sizeof pname - 1] = '\0';

    dev = loom__device_new(be, kind_of(type));
    if (!dev)
        return;
    cd = calloc(1, sizeof *cd);
    if (!cd) {
        dev->healthy = false;
        snprintf(dev->status, sizeof dev->status, "unavailable: out of memory");
        return;
    }
    dev->priv = cd;
    cd->platform = p;
    cd->device = did;
    /* the spec's minimum when the driver does not say */
    cd->max_alloc = max_alloc ? max_alloc : (mem / 4 > 128u << 20 ? mem / 4 : 128u << 20);
    cd->max_wg = max_wg;
    dev->caps.host_memory = unified == CL_TRUE || kind_of(type) == LOOM__DEV_CPU;
    pthread_mutex_init(&cd->lock, NULL);
    snprintf(dev->name, sizeof dev->name, "opencl:%d", index);
    info_str(did, CL_DEVICE_NAME, dev->model, sizeof dev->model);
    info_str(did, CL_DRIVER_VERSION, cd->driver, sizeof cd->driver);
    snprintf(dev->platform, sizeof dev->platform, "%s", pname);
    dev->memory_bytes = mem;
    dev->compute_units = (int)units;
    /* modelled rates, until calibration measures them (exec/calibrate.c):
     * sustained fp32 GEMM at a fraction of peak, launch and copy overheads */
    switch (dev->kind) {
    case LOOM__DEV_CPU:
        /* launches and copies measured with loom run --profile on PoCL
         * (2 threads): 30-50 us per kernel, about 50 us per small copy */
        dev->caps.rates = (loom__rates){.gflops = 16.0 * (units ? units : 1) * (mhz ? mhz : 2000) / 1000.0,
                                        .mem_gbps = 8, .launch_us = 40, .xfer_gbps = 5, .xfer_us = 50};
        break;
    case LOOM__DEV_GPU:
        dev->caps.rates = (loom__rates){.gflops = 64.0 * (units ? units : 1) * (mhz ? mhz : 1000) / 1000.0,
                                        .mem_gbps = 200, .launch_us = 10, .xfer_gbps = 10, .xfer_us = 15};
        break;
    default:
        dev->caps.rates = (loom__rates){.gflops = 100, .mem_gbps = 20, .launch_us = 50, .xfer_gbps = 5,
                                        .xfer_us = 30};
        break;
    }
    /* the int8 GEMM kernel's rate, until measured: the fp32 one's */
    dev->caps.rates.gops_i8 = dev->caps.rates.gflops;
    snprintf(dev->caps.fingerprint, sizeof dev->caps.fingerprint, "driver %.60s, %u units at %u MHz", cd->driver,
             units, mhz);
    cd->ctx = clCreateContext(NULL, 1, &did, NULL, NULL, &err);
    if (!cd->ctx) {
        dev->healthy = false;
        snprintf(dev->status, sizeof dev->status, "unavailable: clCreateContext: OpenCL error %d %s",
                 (int)err, loom__cl_error_name(err));
        return;
    }
    cd->queue = clCreateCommandQueue(cd->ctx, did, 0, &err);
    if (!cd->queue) {
        dev->healthy = false;
        snprintf(dev->status, sizeof dev->status,
                 "unavailable: clCreateCommandQueue: OpenCL error %d %s", (int)err,
                 loom__cl_error_name(err));
        return;
    }
    loom__cl_tuning_pick(dev, &cd->tuning);
    cd->fpga = loom__cl_binary_platform(pname);
    loom__log(LOOM_LOG_DEBUG, "opencl: %s is %s (%s, %s)", dev->name, dev->model, pname,
              loom__dev_kind_name(dev->kind));
}

static void cl_enumerate(const loom__backend *be)
{
    cl_uint np = 0;
    cl_platform_id plats[16];
    int index = 0;
    cl_int err;

    if (!loom__cl_env_prepare(be))
        return;
    err = clGetPlatformIDs(16, plats, &np);
    if (err != CL_SUCCESS || np == 0) {
        loom__log(LOOM_LOG_DEBUG, "opencl: no platform (%s)",
                  err != CL_SUCCESS ? loom__cl_error_name(err) : "the ICD loader lists none");
        return;
    }
    for (cl_uint p = 0; p < np && p < 16; p++) {
        cl_uint nd = 0;
        cl_device_id devs[16];
        char pname[128] = "";
        clGetPlatformInfo(plats[p], CL_PLATFORM_NAME, sizeof pname, pname, NULL);
        pname[sizeof pname - 1] = '\0';
        err = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 16, devs, &nd);
        if (err != CL_SUCCESS || nd == 0) {
            loom__log(LOOM_LOG_DEBUG, "opencl: platform \"%s\" has no device (%s)", pname,
                      loom__cl_error_name(err));
            continue;
        }
        for (cl_uint d = 0; d < nd && d < 16; d++)
            add_device(be, plats[p], devs[d], index++);
    }
}

static void cl_device_free(loom__device *dev)
{
    loom__cl_dev *cd = dev->priv;
    if (!cd)
        return;
    for (int k = 0; k < LOOM__CL_SCRATCH_SLOTS; k++)
        if (cd->scratch[k])
            loom__cl_buffer_release(dev, cd->scratch[k]);
    for (int k = 0; k < K_COUNT; k++)
        if (cd->kernels[k])
            clReleaseKernel(cd->kernels[k]);
    if (cd->program)
        clReleaseProgram(cd->program);
    if (cd->queue)
        clReleaseCommandQueue(cd->queue);
    if (cd->ctx)
        clReleaseContext(cd->ctx);
    pthread_mutex_destroy(&cd->lock);
    free(cd->guarded);
    free(cd->guarded_size);
    free(cd);
    dev->priv = NULL;
}

/* ---- buffers and copies ---- */

bool loom__cl_guard_mode(void)
{
    const char *g = getenv("LOOM_CL_GUARD");
    return g && strcmp(g, "1") == 0;
}

/* Guard mode: every buffer gets LOOM__CL_GUARD pattern bytes after its
 * end, checked by finish(): a kernel writing past an output is caught. */
static loom_status guard_add(loom__cl_dev *cd, cl_mem m, size_t nbytes)
{
    unsigned char pat[LOOM__CL_GUARD];
    cl_int err;
    memset(pat, LOOM__CL_GUARD_BYTE, sizeof pat);
    err = clEnqueueWriteBuffer(cd->queue, m, CL_TRUE, nbytes, sizeof pat, pat, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return loom__cl_fail(err, "clEnqueueWriteBuffer (guard bytes)");
    if (cd->n_guarded == cd->cap_guarded) {
        int cap = cd->cap_guarded ? cd->cap_guarded * 2 : 64;
        cl_mem *gm = realloc(cd->guarded, (size_t)cap * sizeof *gm);
        size_t *gs = gm ? realloc(cd->guarded_size, (size_t)cap * sizeof *gs) : NULL;
        if (gm)
            cd->guarded = gm;
        if (!gs)
            return loom__err(LOOM_E_NOMEM, "out of memory");
        cd->guarded_size = gs;
        cd->cap_guarded = cap;
    }
    cd->guarded[cd->n_guarded] = m;
    cd->guarded_size[cd->n_guarded++] = nbytes;
    return LOOM_OK;
}

static loom_status guard_check(loom__cl_dev *cd)
{
    unsigned char got[LOOM__CL_GUARD];
    for (int i = 0; i < cd->n_guarded; i++) {
        cl_int err = clEnqueueReadBuffer(cd->queue, cd->guarded[i], CL_TRUE, cd->guarded_size[i],
                                         sizeof got, got, 0, NULL, NULL);
        if (err != CL_SUCCESS)
            return loom__cl_fail(err, "clEnqueueReadBuffer (guard bytes)");
        for (size_t k = 0; k < sizeof got; k++)
            if (got[k] != LOOM__CL_GUARD_BYTE)
                return loom__err(LOOM_E_DEVICE_FAILED,
                                 "a kernel wrote past the end of a %zu-byte buffer (guard byte %zu is "
                                 "0x%02x)",
                                 cd->guarded_size[i], k, got[k]);
    }
    return LOOM_OK;
}

/* Room left to this process for bytes more of host memory: PoCL's CPU
 * device allocates a buffer's memory when the buffer is first used, and
 * aborts the process (an assertion) when that allocation fails, e.g.
 * under ulimit -v. So before a buffer is made on a device whose buffers
 * live here, a probe asks for the buffers not used yet (made without
 * data since the last finished work) plus this one plus a margin for the
 * runtime: an allocation that is never touched (so nothing is
 * committed), freed at once. No room is an allocation failure of the
 * device, which the session answers by falling back. */
#define HOST_MARGIN ((uint64_t)64 << 20)

/* called through a volatile pointer: compilers may drop a malloc whose
 * block is only freed, and assume it succeeded */
static void *(*volatile probe_alloc)(size_t) = malloc;

static loom_status host_room(loom__device *dev, size_t bytes)
{
    loom__cl_dev *cd = dev->priv;
    uint64_t need;
    void *probe;
    char s1[32], s2[32];
    if (!dev->caps.host_memory)
        return LOOM_OK;
    pthread_mutex_lock(&cd->lock);
    need = cd->unbacked_bytes + bytes + HOST_MARGIN;
    pthread_mutex_unlock(&cd->lock);
    if (need > SIZE_MAX || !(probe = probe_alloc((size_t)need)))
        return loom__err(LOOM_E_DEVICE_FAILED,
                         "clCreateBuffer: %s more for %s's buffers (%s in all) does not fit this process's memory "
                         "(ulimit -v, available memory)",
                         loom__bytes_str(bytes, s1, sizeof s1), dev->name, loom__bytes_str(need, s2, sizeof s2));
    free(probe);
    return LOOM_OK;
}

loom_status loom__cl_buffer_new(loom__device *dev, const void *data, size_t nbytes, cl_mem *out)
{
    loom__cl_dev *cd = dev->priv;
    bool guard = loom__cl_guard_mode();
    size_t total = nbytes + (guard ? LOOM__CL_GUARD : 0);
    cl_int err = CL_SUCCESS;
    loom_status st = LOOM_OK;
    cl_mem m;
    if (total > cd->max_alloc)
        return loom__err(LOOM_E_DEVICE_FAILED,
                         "clCreateBuffer: %zu bytes exceeds the device's largest allocation of "
                         "%llu (CL_DEVICE_MAX_MEM_ALLOC_SIZE)",
                         nbytes, (unsigned long long)cd->max_alloc);
    if ((st = host_room(dev, total)) != LOOM_OK)
        return st;
    m = loom__cl_fault_alloc() ? NULL
                               : clCreateBuffer(cd->ctx, CL_MEM_READ_WRITE, total ? total : 1, NULL, &err);
    if (!m)
        return loom__cl_fail(loom__cl_fault_alloc() ? CL_MEM_OBJECT_ALLOCATION_FAILURE : err,
                             "clCreateBuffer");
    pthread_mutex_lock(&cd->lock);
    if (!(data && nbytes) && !guard)
        cd->unbacked_bytes += total; /* a write (data, guard bytes) backs it at once */
    if (data && nbytes) {
        err = clEnqueueWriteBuffer(cd->queue, m, CL_TRUE, 0, nbytes, data, 0, NULL, NULL);
        if (err != CL_SUCCESS)
            st = loom__cl_fail(err, "clEnqueueWriteBuffer");
    }
    if (st == LOOM_OK && guard)
        st = guard_add(cd, m, nbytes);
    pthread_mutex_unlock(&cd->lock);
    if (st != LOOM_OK) {
        loom__cl_buffer_release(dev, m);
        return st;
    }
    *out = m;
    return LOOM_OK;
}

void loom__cl_buffer_release(loom__device *dev, cl_mem m)
{
    loom__cl_dev *cd = dev->priv;
    size_t size = 0;
    clGetMemObjectInfo(m, CL_MEM_SIZE, sizeof size, &size, NULL);
    pthread_mutex_lock(&cd->lock);
    cd->unbacked_bytes -= size <= cd->unbacked_bytes ? size : cd->unbacked_bytes;
    for (int i = 0; i < cd->n_guarded; i++)
        if (cd->guarded[i] == m) {
            cd->guarded[i] = cd->guarded[cd->n_guarded - 1];
            cd->guarded_size[i] = cd->guarded_size[cd->n_guarded - 1];
            cd->n_guarded--;
            break;
        }
    pthread_mutex_unlock(&cd->lock);
    clReleaseMemObject(m);
}

loom_status loom__cl_guard_verify(loom__device *dev)
{
    loom__cl_dev *cd = dev->priv;
    loom_status st = LOOM_OK;
    pthread_mutex_lock(&cd->lock);
    if (cd->n_guarded)
        st = guard_check(cd);
    pthread_mutex_unlock(&cd->lock);
    return st;
}

static loom_status cl_buffer_alloc(loom__device *dev, size_t nbytes, void **buf)
{
    cl_mem m;
    loom_status st = loom__cl_buffer_new(dev, NULL, nbytes, &m);
    if (st == LOOM_OK)
        *buf = m;
    return st;
}

static void cl_buffer_free(loom__device *dev, void *buf)
{
    loom__cl_buffer_release(dev, (cl_mem)buf);
}

/* Wait for ev (released here) with the session timeout: LOOM_CL_TIMEOUT
 * seconds, default 60. Never holds the device lock, so a hung command
 * blocks neither other sessions nor their own timeouts. Spins for the
 * first 200 us (short commands), then sleeps with backoff. */
loom_status loom__cl_wait(loom__device *dev, cl_event ev, const char *what)
{
    const char *env = getenv("LOOM_CL_TIMEOUT");
    double limit = env && atof(env) > 0 ? atof(env) : 60.0, start = loom__now_us();
    struct timespec nap = {0, 50000};
    cl_int err, status = CL_QUEUED;
    (void)dev;
    for (;;) {
        double waited;
        err = clGetEventInfo(ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, NULL);
        if (err == CL_SUCCESS && loom__cl_fault_stall())
            status = CL_RUNNING;
        if (err != CL_SUCCESS || status <= CL_COMPLETE)
            break;
        waited = loom__now_us() - start;
        if (waited > limit * 1e6) {
            /* a command still running may yet write its host buffer: the
             * session keeps its host tensors until it is freed */
            clReleaseEvent(ev);
            return loom__err(LOOM_E_DEVICE_FAILED, "%s: timed out after %g s (LOOM_CL_TIMEOUT)", what,
                             limit);
        }
        if (waited < 200)
            continue;
        nanosleep(&nap, NULL);
        if (nap.tv_nsec < 5000000)
            nap.tv_nsec *= 2;
    }
    clReleaseEvent(ev);
    if (err != CL_SUCCESS)
        return loom__cl_fail(err, "clGetEventInfo");
    if (status < 0)
        return loom__cl_fail(status, what);
    return LOOM_OK;
}

/* A copy between host and device: queued without blocking, then waited
 * for with the timeout (the lock is held only to queue it). */
static loom_status cl_copy(loom__device *dev, cl_mem buf, void *host, size_t nbytes, bool up)
{
    loom__cl_dev *cd = dev->priv;
    const char *call = up ? "clEnqueueWriteBuffer" : "clEnqueueReadBuffer";
    cl_event ev = NULL;
    cl_int err;
    if (nbytes == 0)
        return LOOM_OK;
    pthread_mutex_lock(&cd->lock);
    if (loom__cl_fault_enqueue())
        err = CL_OUT_OF_RESOURCES;
    else if (up)
        err = clEnqueueWriteBuffer(cd->queue, buf, CL_FALSE, 0, nbytes, host, 0, NULL, &ev);
    else
        err = clEnqueueReadBuffer(cd->queue, buf, CL_FALSE, 0, nbytes, host, 0, NULL, &ev);
    if (err == CL_SUCCESS)
        err = clFlush(cd->queue);
    pthread_mutex_unlock(&cd->lock);
    if (err != CL_SUCCESS) {
        if (ev) {
            /* queued but not flushed: let it finish before host memory goes */
            clWaitForEvents(1, &ev);
            clReleaseEvent(ev);
        }
        return loom__cl_fail(err, call);
    }
    return loom__cl_wait(dev, ev, call);
}

static loom_status cl_upload(loom__device *dev, void *buf, const void *src, size_t nbytes)
{
    return cl_copy(dev, (cl_mem)buf, (void *)src, nbytes, true);
}

static loom_status cl_download(loom__device *dev, void *buf, void *dst, size_t nbytes)
{
    return cl_copy(dev, (cl_mem)buf, dst, nbytes, false);
}

/* Wait for everything queued (a marker, with the timeout), then check the
 * guard bytes in guard mode. */
static loom_status cl_finish(loom__device *dev)
{
    loom__cl_dev *cd = dev->priv;
    cl_event ev = NULL;
    cl_int err;
    const char *call = "clEnqueueMarkerWithWaitList";
    loom_status st;

    pthread_mutex_lock(&cd->lock);
    err = clEnqueueMarkerWithWaitList(cd->queue, 0, NULL, &ev);
    if (err == CL_SUCCESS) {
        call = "clFlush";
        err = clFlush(cd->queue);
    }
    pthread_mutex_unlock(&cd->lock);
    if (err != CL_SUCCESS) {
        if (ev)
            clReleaseEvent(ev);
        return loom__cl_fail(err, call);
    }
    if ((st = loom__cl_wait(dev, ev, "the queued commands")) != LOOM_OK)
        return st;
    /* the work that used the buffers made so far has run: they are backed */
    pthread_mutex_lock(&cd->lock);
    cd->unbacked_bytes = 0;
    pthread_mutex_unlock(&cd->lock);
    return loom__cl_guard_verify(dev);
}

const loom__backend loom__backend_opencl = {
    .name = "opencl",
    .version = LOOM__BACKEND_VERSION,
    .enumerate = cl_enumerate,
    .device_free = cl_device_free,
    .supports = loom__cl_supports,
    .cost_us = loom__cl_cost_us,
    .reads_input = loom__cl_reads_input,
    .buffer_alloc = cl_buffer_alloc,
    .buffer_free = cl_buffer_free,
    .upload = cl_upload,
    .download = cl_download,
    .prepare = loom__cl_prepare,
    .run = loom__cl_run,
    .release = loom__cl_release,
    .finish = cl_finish,
    .gemm_i8 = loom__cl_gemm_i8,
};
