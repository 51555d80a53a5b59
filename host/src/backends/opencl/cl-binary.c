/* cl-binary.c - the OpenCL route to FPGA cards: on an FPGA platform
 * (Xilinx's XRT ICD, Intel's FPGA SDK) kernels are not compiled from
 * source at run time but loaded as a vendor binary (.xclbin, .aocx) with
 * clCreateProgramWithBinary. The binary holds loom's HLS kernel
 * (hls/loom_gemm.c): kernel name loom_gemm_i8_kernel, the kernel ABI's
 * argument order, B transposed, one task per GEMM. The binary's path is
 * $LOOM_XCLBIN, as for the xrt device. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backends/kctl/kctl.h"
#include "backends/opencl/opencl.h"
#include "core/core-impl.h"

#define BIN_KERNEL "loom_gemm_i8_kernel"
#define BIN_MAX (1ull << 30)

bool loom__cl_binary_platform(const char *name)
{
    const char *knob = getenv("LOOM_CL_BINARY_ROUTE");
    if (knob && !strcmp(knob, "1"))
        return true;
    return strstr(name, "Xilinx") || strstr(name, "Intel(R) FPGA") || strstr(name, "Altera");
}

static loom_status load_binary(loom__device *dev, loom__cl_dev *cd)
{
    const char *path = getenv("LOOM_XCLBIN");
    unsigned char *bin = NULL;
    size_t n = 0;
    cl_int err, bstatus;
    struct stat sb;
    FILE *f;

    if (!path || !path[0])
        return loom__err(LOOM_E_DEVICE_UNAVAILABLE,
                         "device %s is an FPGA platform: its kernel comes as a binary; set LOOM_XCLBIN "
                         "to a loom .xclbin built for it (cmake --build build --target xclbin_<board>_hw)",
                         dev->name);
    if (!(f = loom__fopen_regular(path, &sb)))
        return loom__err(LOOM_E_DEVICE_UNAVAILABLE, "device %s: LOOM_XCLBIN %s: %s", dev->name, path,
                         strerror(errno));
    if (sb.st_size <= 0 || (unsigned long long)sb.st_size > BIN_MAX) {
        fclose(f);
        return loom__err(LOOM_E_DEVICE_UNAVAILABLE, "device %s: LOOM_XCLBIN %s: %lld bytes: empty or over 1 GiB",
                         dev->name, path, (long long)sb.st_size);
    }
    if (!(bin = malloc((size_t)sb.st_size))) {
        fclose(f);
        return loom__err(LOOM_E_NOMEM, "device %s: out of memory reading %s", dev->name, path);
    }
    n = fread(bin, 1, (size_t)sb.st_size, f);
    fclose(f);
    if (n != (size_t)sb.st_size) {
        free(bin);
        return loom__err(LOOM_E_IO, "device %s: %s: short read", dev->name, path);
    }
    cd->bin_program = clCreateProgramWithBinary(cd->ctx, 1, &cd->device, &n,
                                                (const unsigned char **)&bin, &bstatus, &err);
    free(bin);
    if (!cd->bin_program)
        return loom__err(LOOM_E_DEVICE_FAILED, "device %s: %s: clCreateProgramWithBinary: OpenCL error %d %s",
                         dev->name, path, (int)err, loom__cl_error_name(err));
    if ((err = clBuildProgram(cd->bin_program, 1, &cd->device, "", NULL, NULL)) != CL_SUCCESS)
        return loom__err(LOOM_E_DEVICE_FAILED, "device %s: %s: clBuildProgram: OpenCL error %d %s", dev->name,
                         path, (int)err, loom__cl_error_name(err));
    if (!(cd->bin_kernel = clCreateKernel(cd->bin_program, BIN_KERNEL, &err)))
        return loom__err(LOOM_E_DEVICE_FAILED, "device %s: %s has no kernel %s: OpenCL error %d %s", dev->name,
                         path, BIN_KERNEL, (int)err, loom__cl_error_name(err));
    return LOOM_OK;
}

static loom_status binary_get(loom__device *dev, loom__cl_dev *cd)
{
    loom_status st;
    pthread_mutex_lock(&cd->lock);
    if (!cd->bin_tried) {
        cd->bin_tried = true;
        cd->bin_status = load_binary(dev, cd);
        if (cd->bin_status)
            snprintf(cd->bin_error, sizeof cd->bin_error, "%s", loom_last_error());
    }
    st = cd->bin_status;
    if (st)
        loom__err(st, "%s", cd->bin_error);
    pthread_mutex_unlock(&cd->lock);
    return st;
}

static loom_status set_arg(cl_kernel k, cl_uint i, size_t size, const void *v)
{
    cl_int err = clSetKernelArg(k, i, size, v);
    return err == CL_SUCCESS ? LOOM_OK : loom__cl_fail(err, "clSetKernelArg");
}

loom_status loom__cl_binary_gemm_i8(loom__device *dev, const loom_gemm_i8_args *a)
{
    loom__cl_dev *cd = dev->priv;
    const int64_t M = a->M, N = a->N, K = a->K;
    size_t ea = M ? (size_t)((M - 1) * a->lda + K) : 0, ec = M ? (size_t)((M - 1) * a->ldc + N) : 0;
    cl_mem mem[7] = {0}; /* A, Bt, bias, mult, shift, C, lut */
    int8_t *bt = NULL;
    int32_t *zero = NULL;
    int iv[7];
    cl_event ev = NULL;
    cl_int err;
    loom_status st;

    if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX || a->lda > INT32_MAX || a->ldc > INT32_MAX ||
        N * K >= INT32_MAX)
        return loom__err(LOOM_E_LIMIT,
                         "device %s: GEMM M=%lld N=%lld K=%lld lda=%lld ldc=%lld is too large for the kernel's "
                         "int arguments",
                         dev->name, (long long)M, (long long)N, (long long)K, (long long)a->lda, (long long)a->ldc);
    if ((st = binary_get(dev, cd)) != LOOM_OK)
        return st;
    if (M == 0 || N == 0)
        return LOOM_OK;
    bt = loom__kctl_pack_bt(a); /* the HLS kernel takes B transposed, like kctl's devices */
    zero = calloc((size_t)N, sizeof *zero);
    if (!bt || !zero) {
        st = loom__err(LOOM_E_NOMEM, "device %s: out of memory packing the weight", dev->name);
        goto done;
    }
    /* C goes up too: rows wider than N keep the caller's bytes */
    if ((st = loom__cl_buffer_new(dev, ea ? (const void *)a->A : NULL, ea ? ea : 1, &mem[0])) ||
        (st = loom__cl_buffer_new(dev, K ? bt : NULL, (size_t)(N * K) + 1, &mem[1])) ||
        (st = loom__cl_buffer_new(dev, a->bias ? a->bias : zero, (size_t)N * 4, &mem[2])) ||
        (st = loom__cl_buffer_new(dev, a->mult, (size_t)N * 4, &mem[3])) ||
        (st = loom__cl_buffer_new(dev, a->shift, (size_t)N * 4, &mem[4])) ||
        (st = loom__cl_buffer_new(dev, a->C, ec, &mem[5])) ||
        (st = loom__cl_buffer_new(dev, a->act == LOOM_ACT_LUT ? (const void *)a->lut : NULL, 256, &mem[6])))
        goto done;
    iv[0] = (int)M, iv[1] = (int)N, iv[2] = (int)K, iv[3] = (int)a->lda, iv[4] = (int)K;
    iv[5] = (int)a->ldc, iv[6] = a->act;
    pthread_mutex_lock(&cd->lock);
    {
        cl_kernel k = cd->bin_kernel;
        /* M, N, K, A, lda, B, ldb, bias, mult, shift, C, ldc, act, lut */
        if (!(st = set_arg(k, 0, sizeof(int), &iv[0])) && !(st = set_arg(k, 1, sizeof(int), &iv[1])) &&
            !(st = set_arg(k, 2, sizeof(int), &iv[2])) && !(st = set_arg(k, 3, sizeof(cl_mem), &mem[0])) &&
            !(st = set_arg(k, 4, sizeof(int), &iv[3])) && !(st = set_arg(k, 5, sizeof(cl_mem), &mem[1])) &&
            !(st = set_arg(k, 6, sizeof(int), &iv[4])) && !(st = set_arg(k, 7, sizeof(cl_mem), &mem[2])) &&
            !(st = set_arg(k, 8, sizeof(cl_mem), &mem[3])) && !(st = set_arg(k, 9, sizeof(cl_mem), &mem[4])) &&
            !(st = set_arg(k, 10, sizeof(cl_mem), &mem[5])) && !(st = set_arg(k, 11, sizeof(int), &iv[5])) &&
            !(st = set_arg(k, 12, sizeof(int), &iv[6])) && !(st = set_arg(k, 13, sizeof(cl_mem), &mem[6]))) {
            size_t one = 1;
            err = clEnqueueNDRangeKernel(cd->queue, k, 1, NULL, &one, &one, 0, NULL, &ev);
            if (err != CL_SUCCESS)
                st = loom__cl_fail(err, "clEnqueueNDRangeKernel (task)");
        }
    }
    pthread_mutex_unlock(&cd->lock);
    if (!st)
        st = loom__cl_wait(dev, ev, "the FPGA GEMM kernel");
    if (!st)
        st = dev->backend->download(dev, mem[5], a->C, ec);
done:
    if (st)
        (void)dev->backend->finish(dev);
    for (int i = 0; i < 7; i++)
        if (mem[i])
            loom__cl_buffer_release(dev, mem[i]);
    free(bt);
    free(zero);
    return st;
}
