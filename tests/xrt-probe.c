/*
 * xrt-probe.c - exercises the xrt device's host plumbing through the
 * guard layer (host/src/backends/xrt/xrt-calls.h) and prints one line per
 * step: "STEP <name> ok|FAILED <why>". Run by test_xrt in a child process
 * with XCL_EMULATION_MODE=noop, where XRT's noop shim answers every call
 * without computing anything (and has crashed at process exit here), so
 * the test asserts on the lines printed, not on the exit status, and no
 * data read back is compared with anything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xrt/xclbin.h>

#include "backends/xrt/xrt-calls.h"

static int step(const char *name, int rc, const char *err)
{
    if (rc == 0)
        printf("STEP %s ok\n", name);
    else
        printf("STEP %s FAILED %s\n", name, err);
    fflush(stdout);
    return rc;
}

int main(void)
{
    char err[256] = "";
    loom__xrt *x = NULL;
    loom__xrt_bo *bo = NULL;
    struct axlf *img;
    unsigned char data[4096], back[4096];
    void *map;

    if (step("open", loom__xrt_open(NULL, 0, &x, err, sizeof err), err))
        return 1;
    /* the smallest axlf container: header only, no sections */
    img = calloc(1, sizeof *img);
    memcpy(img->m_magic, "xclbin2", 8);
    img->m_signature_length = -1;
    memset(img->reserved, 0xff, sizeof img->reserved);
    img->m_header.m_length = sizeof *img;
    img->m_header.m_versionMajor = 2;
    img->m_header.m_numSections = 0;
    snprintf((char *)img->m_header.m_platformVBNV, sizeof img->m_header.m_platformVBNV, "loom_noop_test");
    for (int i = 0; i < 16; i++)
        img->m_header.uuid[i] = (unsigned char)(0x10 + i);
    step("xclbin", loom__xrt_load_axlf(x, img, err, sizeof err), err);
    free(img);
    if (step("bo_alloc", loom__xrt_bo_alloc(x, -1, sizeof data, &bo, err, sizeof err), err))
        return 1;
    map = loom__xrt_bo_map(bo, err, sizeof err);
    step("bo_map", map ? 0 : -1, err);
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)i;
    step("bo_write_sync", loom__xrt_bo_put(bo, data, sizeof data, 0, err, sizeof err), err);
    step("bo_sync_read", loom__xrt_bo_get(bo, back, sizeof back, 0, err, sizeof err), err);
    printf("STEP done\n");
    fflush(stdout);
    loom__xrt_bo_free(bo);
    loom__xrt_close(x);
    return 0;
}
