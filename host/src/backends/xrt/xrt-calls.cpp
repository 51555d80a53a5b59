// xrt-calls.cpp - the XRT native C API behind a guard; see xrt-calls.h.
#include "xrt-calls.h"

#include <cstdio>
#include <cstring>
#include <exception>
#include <new>

#include <xrt/xrt/xrt_bo.h>
#include <xrt/xrt/xrt_device.h>
#include <xrt/xrt/xrt_kernel.h>

struct loom__xrt {
    xrtDeviceHandle dev = nullptr;
    xrtKernelHandle kernel = nullptr;
};

struct loom__xrt_bo {
    xrtBufferHandle bo = nullptr;
};

namespace {

int fail(char *err, size_t n, const char *what, const char *why)
{
    if (err && n)
        snprintf(err, n, "%s: %s", what, why);
    return -1;
}

// Run f; an exception becomes an error return naming the call.
template <class F> int guard(const char *what, char *err, size_t n, F f)
{
    try {
        return f();
    } catch (const std::exception &e) {
        return fail(err, n, what, e.what());
    } catch (...) {
        return fail(err, n, what, "unknown exception");
    }
}

const char *state_name(ert_cmd_state s)
{
    switch (s) {
    case ERT_CMD_STATE_NEW: return "new";
    case ERT_CMD_STATE_QUEUED: return "queued";
    case ERT_CMD_STATE_RUNNING: return "running";
    case ERT_CMD_STATE_COMPLETED: return "completed";
    case ERT_CMD_STATE_ERROR: return "error";
    case ERT_CMD_STATE_ABORT: return "aborted";
    case ERT_CMD_STATE_SUBMITTED: return "submitted";
    case ERT_CMD_STATE_TIMEOUT: return "timeout";
    case ERT_CMD_STATE_NORESPONSE: return "no response";
    default: return "unknown state";
    }
}

} // namespace

extern "C" {

int loom__xrt_open(const char *bdf, unsigned index, loom__xrt **out, char *err, size_t n)
{
    *out = nullptr;
    return guard("xrtDeviceOpen", err, n, [&] {
        xrtDeviceHandle d = bdf ? xrtDeviceOpenByBDF(bdf) : xrtDeviceOpen(index);
        if (!d)
            return fail(err, n, "xrtDeviceOpen", "the device did not open");
        *out = new (std::nothrow) loom__xrt;
        if (!*out) {
            xrtDeviceClose(d);
            return fail(err, n, "xrtDeviceOpen", "out of memory");
        }
        (*out)->dev = d;
        return 0;
    });
}

void loom__xrt_close(loom__xrt *x)
{
    if (!x)
        return;
    char err[8];
    guard("close", err, sizeof err, [&] {
        if (x->kernel)
            xrtKernelClose(x->kernel);
        if (x->dev)
            xrtDeviceClose(x->dev);
        return 0;
    });
    delete x;
}

int loom__xrt_load_xclbin(loom__xrt *x, const char *path, char *err, size_t n)
{
    return guard("xrtDeviceLoadXclbinFile", err, n, [&] {
        return xrtDeviceLoadXclbinFile(x->dev, path) == 0
                   ? 0
                   : fail(err, n, "xrtDeviceLoadXclbinFile", "XRT refused the file");
    });
}

int loom__xrt_load_axlf(loom__xrt *x, const void *axlf, char *err, size_t n)
{
    return guard("xrtDeviceLoadXclbin", err, n, [&] {
        return xrtDeviceLoadXclbin(x->dev, static_cast<const struct axlf *>(axlf)) == 0
                   ? 0
                   : fail(err, n, "xrtDeviceLoadXclbin", "XRT refused the image");
    });
}

int loom__xrt_open_kernel(loom__xrt *x, const char *name, char *err, size_t n)
{
    return guard("xrtPLKernelOpen", err, n, [&] {
        xuid_t uuid;
        if (xrtDeviceGetXclbinUUID(x->dev, uuid) != 0)
            return fail(err, n, "xrtDeviceGetXclbinUUID", "no xclbin loaded");
        x->kernel = xrtPLKernelOpen(x->dev, uuid, name);
        return x->kernel ? 0 : fail(err, n, "xrtPLKernelOpen", "the kernel is not in the xclbin");
    });
}

int loom__xrt_bo_alloc(loom__xrt *x, int argno, size_t size, loom__xrt_bo **out, char *err, size_t n)
{
    *out = nullptr;
    return guard("xrtBOAlloc", err, n, [&] {
        xrtMemoryGroup grp = 0;
        if (x->kernel && argno >= 0) {
            int g = xrtKernelArgGroupId(x->kernel, argno);
            if (g < 0)
                return fail(err, n, "xrtKernelArgGroupId", "the argument has no memory bank");
            grp = static_cast<xrtMemoryGroup>(g);
        }
        xrtBufferHandle b = xrtBOAlloc(x->dev, size, 0, grp);
        if (!b)
            return fail(err, n, "xrtBOAlloc", "allocation refused");
        *out = new (std::nothrow) loom__xrt_bo;
        if (!*out) {
            xrtBOFree(b);
            return fail(err, n, "xrtBOAlloc", "out of memory");
        }
        (*out)->bo = b;
        return 0;
    });
}

void loom__xrt_bo_free(loom__xrt_bo *bo)
{
    if (!bo)
        return;
    char err[8];
    guard("xrtBOFree", err, sizeof err, [&] { return xrtBOFree(bo->bo); });
    delete bo;
}

uint64_t loom__xrt_bo_address(const loom__xrt_bo *bo)
{
    uint64_t a = 0;
    char err[8];
    guard("xrtBOAddress", err, sizeof err, [&] {
        a = xrtBOAddress(bo->bo);
        return 0;
    });
    return a;
}

void *loom__xrt_bo_map(loom__xrt_bo *bo, char *err, size_t n)
{
    void *p = nullptr;
    guard("xrtBOMap", err, n, [&] {
        p = xrtBOMap(bo->bo);
        return p ? 0 : fail(err, n, "xrtBOMap", "mapping refused");
    });
    return p;
}

int loom__xrt_bo_put(loom__xrt_bo *bo, const void *src, size_t size, size_t off, char *err, size_t n)
{
    return guard("xrtBOWrite", err, n, [&] {
        if (xrtBOWrite(bo->bo, src, size, off) != 0)
            return fail(err, n, "xrtBOWrite", "refused");
        if (xrtBOSync(bo->bo, XCL_BO_SYNC_BO_TO_DEVICE, size, off) != 0)
            return fail(err, n, "xrtBOSync (to device)", "refused");
        return 0;
    });
}

int loom__xrt_bo_get(loom__xrt_bo *bo, void *dst, size_t size, size_t off, char *err, size_t n)
{
    return guard("xrtBORead", err, n, [&] {
        if (xrtBOSync(bo->bo, XCL_BO_SYNC_BO_FROM_DEVICE, size, off) != 0)
            return fail(err, n, "xrtBOSync (from device)", "refused");
        return xrtBORead(bo->bo, dst, size, off) == 0 ? 0 : fail(err, n, "xrtBORead", "refused");
    });
}

int loom__xrt_run(loom__xrt *x, int nargs, const uint32_t *scalars, loom__xrt_bo *const *bos,
                  unsigned timeout_ms, char *err, size_t n)
{
    if (!x->kernel)
        return fail(err, n, "xrtRunOpen", "no kernel open");
    return guard("xrtRun", err, n, [&] {
        xrtRunHandle r = xrtRunOpen(x->kernel);
        if (!r)
            return fail(err, n, "xrtRunOpen", "refused");
        int rc = 0;
        for (int i = 0; i < nargs && rc == 0; i++)
            rc = bos[i] ? xrtRunSetArg(r, i, bos[i]->bo) : xrtRunSetArg(r, i, (int)scalars[i]);
        if (rc != 0) {
            xrtRunClose(r);
            return fail(err, n, "xrtRunSetArg", "refused");
        }
        if (xrtRunStart(r) != 0) {
            xrtRunClose(r);
            return fail(err, n, "xrtRunStart", "refused");
        }
        ert_cmd_state s = xrtRunWaitFor(r, timeout_ms);
        char why[128];
        if (s == ERT_CMD_STATE_COMPLETED) {
            xrtRunClose(r);
            return 0;
        }
        if (s == ERT_CMD_STATE_NEW || s == ERT_CMD_STATE_QUEUED || s == ERT_CMD_STATE_RUNNING ||
            s == ERT_CMD_STATE_SUBMITTED || s == ERT_CMD_STATE_TIMEOUT) {
            /* still running: the run handle is not closed (the C API has no
             * abort), and the caller keeps the kernel's buffers */
            snprintf(why, sizeof why, "the kernel did not finish in %u ms (state: %s)", timeout_ms,
                     state_name(s));
            fail(err, n, "xrtRunWaitFor", why);
            return -2;
        }
        xrtRunClose(r);
        snprintf(why, sizeof why, "the run ended in state \"%s\"", state_name(s));
        return fail(err, n, "xrtRunWaitFor", why);
    });
}

} // extern "C"
