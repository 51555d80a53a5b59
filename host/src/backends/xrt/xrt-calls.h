/*
 * xrt-calls.h - the XRT native C API behind a guard: every call goes
 * through C++ that catches what XRT throws (its C functions are C++
 * inside and throw through C, e.g. when XILINX_XRT is unset), so that no
 * XRT failure can take the process down. Each returns 0, or -1 with the
 * reason in err.
 */
#ifndef LOOM_XRT_CALLS_H
#define LOOM_XRT_CALLS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct loom__xrt loom__xrt; /* an open device, and its kernel once loaded */
typedef struct loom__xrt_bo loom__xrt_bo;

/* Open by PCI address ("0000:65:00.1") or, when bdf is NULL, by index. */
int loom__xrt_open(const char *bdf, unsigned index, loom__xrt **out, char *err, size_t errlen);
void loom__xrt_close(loom__xrt *x);
/* Load an .xclbin file (the whole file is read by XRT). */
int loom__xrt_load_xclbin(loom__xrt *x, const char *path, char *err, size_t errlen);
/* Load an in-memory axlf image (a complete xclbin). */
int loom__xrt_load_axlf(loom__xrt *x, const void *axlf, char *err, size_t errlen);
/* Open the kernel by name in the loaded xclbin. */
int loom__xrt_open_kernel(loom__xrt *x, const char *name, char *err, size_t errlen);
/* A buffer for kernel argument argno (its memory bank), or in bank 0
 * when argno < 0 or no kernel is open. */
int loom__xrt_bo_alloc(loom__xrt *x, int argno, size_t n, loom__xrt_bo **out, char *err, size_t errlen);
void loom__xrt_bo_free(loom__xrt_bo *bo);
uint64_t loom__xrt_bo_address(const loom__xrt_bo *bo);
void *loom__xrt_bo_map(loom__xrt_bo *bo, char *err, size_t errlen);
/* host -> device (write + sync) and device -> host (sync + read) */
int loom__xrt_bo_put(loom__xrt_bo *bo, const void *src, size_t n, size_t off, char *err, size_t errlen);
int loom__xrt_bo_get(loom__xrt_bo *bo, void *dst, size_t n, size_t off, char *err, size_t errlen);
/* One run of the open kernel: nargs arguments in order, each either a
 * 32-bit scalar (bos[i] NULL) or a buffer; waits at most timeout_ms.
 * -2 when the kernel is still running after that: its buffers must not
 * be freed or reused (XRT's C API cannot abort a run). */
int loom__xrt_run(loom__xrt *x, int nargs, const uint32_t *scalars, loom__xrt_bo *const *bos,
                  unsigned timeout_ms, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* LOOM_XRT_CALLS_H */
