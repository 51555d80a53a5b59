/*
 * test_cl_binary.c - the OpenCL route to FPGA cards (cl-binary.c): on an
 * FPGA platform the int8 GEMM kernel is loaded as a vendor binary with
 * clCreateProgramWithBinary and called by name with the HLS kernel's
 * argument order. No FPGA platform here, so the test knob
 * LOOM_CL_BINARY_ROUTE=1 sends PoCL down that route, with a PoCL binary of
 * a stand-in kernel (tests/cl-binary-kernel.cl) as $LOOM_XCLBIN; results
 * must equal ref bit for bit. Skips (saying why) without an OpenCL device.
 */
#include <CL/cl.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gemm-vectors.h"
#include "loom/loom.h"
#include "tmpdir.h"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    long n;
    char *s;
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    s = malloc((size_t)n + 1);
    s[fread(s, 1, (size_t)n, f)] = 0;
    fclose(f);
    return s;
}

/* Build src with the first OpenCL device and save its binary to path;
 * false when there is no device. */
static bool save_binary(const char *src, const char *path)
{
    cl_platform_id p;
    cl_device_id d;
    cl_uint np = 0;
    cl_int err;
    size_t n;
    unsigned char *bin;
    cl_context ctx;
    cl_program prog;
    FILE *f;
    if (clGetPlatformIDs(1, &p, &np) != CL_SUCCESS || np == 0 ||
        clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 1, &d, NULL) != CL_SUCCESS)
        return false;
    ctx = clCreateContext(NULL, 1, &d, NULL, NULL, &err);
    cr_assert_not_null(ctx);
    prog = clCreateProgramWithSource(ctx, 1, &src, NULL, &err);
    cr_assert_not_null(prog);
    cr_assert_eq(clBuildProgram(prog, 1, &d, "", NULL, NULL), CL_SUCCESS, "stand-in kernel did not build");
    cr_assert_eq(clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof n, &n, NULL), CL_SUCCESS);
    bin = malloc(n);
    cr_assert_eq(clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL), CL_SUCCESS);
    f = fopen(path, "wb");
    cr_assert_eq(fwrite(bin, 1, n, f), n);
    fclose(f);
    free(bin);
    clReleaseProgram(prog);
    clReleaseContext(ctx);
    return true;
}

static const char *make_binary(const char *kernel_file)
{
    char *abi = slurp(LOOM_SOURCE_DIR "/host/include/loom/kernel-abi.h");
    char *k = slurp(kernel_file);
    char *src = malloc(strlen(abi) + strlen(k) + 2);
    const char *path = tb_tpath("loom.bin");
    sprintf(src, "%s\n%s", abi, k);
    if (!save_binary(src, path))
        cr_skip_test("no OpenCL device (apt-get install pocl-opencl-icd)");
    free(abi), free(k), free(src);
    return path;
}

Test(cl_binary, vectors_bit_exact_through_the_binary_route, .timeout = 300)
{
    tb_tmpdir("cl-binary");
    setenv("LOOM_XCLBIN", make_binary(LOOM_SOURCE_DIR "/tests/cl-binary-kernel.cl"), 1);
    setenv("LOOM_CL_BINARY_ROUTE", "1", 1);
    gemm_vectors_on_device("opencl:0", 900);
    tb_tmpdir_remove();
}

Test(cl_binary, no_binary_is_a_clear_error_and_graph_nodes_stay_off)
{
    gemm_case g;
    loom_session *s = NULL;
    loom_model *m = NULL;
    loom_session_options o = {.devices = "opencl", .strict = true};
    unsetenv("LOOM_XCLBIN");
    setenv("LOOM_CL_BINARY_ROUTE", "1", 1);
    if (loom_gemm_i8("opencl:0", NULL) == LOOM_E_DEVICE_UNAVAILABLE &&
        strstr(loom_last_error(), "not available"))
        cr_skip_test("no OpenCL device (apt-get install pocl-opencl-icd)");
    gemm_case_make(&g, 4, 4, 4, 0, 0, true, 1);
    cr_assert_eq(loom_gemm_i8("opencl:0", &g.a), LOOM_E_DEVICE_UNAVAILABLE);
    cr_assert(strstr(loom_last_error(), "set LOOM_XCLBIN"), "%s", loom_last_error());
    gemm_case_free(&g);
    cr_assert_eq(loom_model_load(LOOM_SOURCE_DIR "/tests/models/lenet/model.onnx", NULL, &m), LOOM_OK);
    cr_assert_eq(loom_session_create(m, &o, &s), LOOM_E_DEVICE_UNAVAILABLE);
    cr_assert(strstr(loom_last_error(), "FPGA platform"), "%s", loom_last_error());
    loom_model_free(m);
}

Test(cl_binary, a_binary_without_the_kernel_is_refused)
{
    gemm_case g;
    tb_tmpdir("cl-binary-bad");
    {
        FILE *f = fopen(tb_tpath("other.cl"), "w");
        fputs("__kernel void something_else(__global int *x) { x[0] = 1; }\n", f);
        fclose(f);
    }
    setenv("LOOM_XCLBIN", make_binary(tb_tpath("other.cl")), 1);
    setenv("LOOM_CL_BINARY_ROUTE", "1", 1);
    gemm_case_make(&g, 4, 4, 4, 0, 0, true, 1);
    cr_assert_eq(loom_gemm_i8("opencl:0", &g.a), LOOM_E_DEVICE_FAILED, "%s", loom_last_error());
    cr_assert(strstr(loom_last_error(), "has no kernel loom_gemm_i8_kernel"), "%s", loom_last_error());
    gemm_case_free(&g);
    tb_tmpdir_remove();
}
