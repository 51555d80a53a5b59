/*
 * cl-fault.c - fault injection for the fallback tests, read once from the
 * environment variable LOOM_TEST_FAULT (never set in normal use):
 *   opencl-build        every OpenCL program build fails (with a log)
 *   opencl-enqueue=N    the N-th OpenCL enqueue (kernel or copy, counted
 *                       from 1 in this process) fails with CL_OUT_OF_RESOURCES
 *   opencl-alloc        every OpenCL buffer allocation fails with
 *                       CL_MEM_OBJECT_ALLOCATION_FAILURE (device memory full)
 *   opencl-stall        every queued command looks stuck (never complete),
 *                       so waits run into LOOM_CL_TIMEOUT
 *   opencl-wrong-add    the element-wise Add kernel adds 1e-3 (a kernel
 *                       that computes wrong, for loom validate's tests)
 *   opencl-misround     the int8 kernels' requantisation rounds down
 *                       instead of half up (off by one LSB on about half
 *                       the outputs, for loom validate's int8 tests)
 * Only the OpenCL backend reads it; nothing else changes.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "backends/opencl/opencl.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool fault_build, fault_alloc, fault_stall, fault_wrong_add, fault_misround;
static long fault_enqueue_at; /* 0: none */
static long enqueues;

static void read_env(void)
{
    const char *f = getenv("LOOM_TEST_FAULT");
    if (!f)
        return;
    if (strcmp(f, "opencl-build") == 0)
        fault_build = true;
    else if (strcmp(f, "opencl-alloc") == 0)
        fault_alloc = true;
    else if (strcmp(f, "opencl-stall") == 0)
        fault_stall = true;
    else if (strcmp(f, "opencl-wrong-add") == 0)
        fault_wrong_add = true;
    else if (strcmp(f, "opencl-misround") == 0)
        fault_misround = true;
    else if (strncmp(f, "opencl-enqueue=", 15) == 0)
        fault_enqueue_at = atol(f + 15);
    loom__log(LOOM_LOG_DEBUG, "LOOM_TEST_FAULT=%s: injecting a fault (testing only)", f);
}

bool loom__cl_fault_build(void)
{
    pthread_once(&once, read_env);
    return fault_build;
}

bool loom__cl_fault_wrong_add(void)
{
    pthread_once(&once, read_env);
    return fault_wrong_add;
}

bool loom__cl_fault_misround(void)
{
    pthread_once(&once, read_env);
    return fault_misround;
}

bool loom__cl_fault_enqueue(void)
{
    pthread_once(&once, read_env);
    if (fault_enqueue_at <= 0)
        return false;
    return __atomic_add_fetch(&enqueues, 1, __ATOMIC_RELAXED) == fault_enqueue_at;
}

bool loom__cl_fault_alloc(void)
{
    pthread_once(&once, read_env);
    return fault_alloc;
}

bool loom__cl_fault_stall(void)
{
    pthread_once(&once, read_env);
    return fault_stall;
}
