/*
 * kctl.h - the kernel control layer shared by every device that runs
 * loom's GEMM kernel behind the Vitis register map (rtl/loom_kernel.sv,
 * the HLS kernel on a card): register writes, device-memory copies,
 * start, bounded wait. The accelerator protocol (argument layout, weight
 * packing, register order, CYCLES read-back) is written once here and
 * proven on the simulator before it meets a card. A device supplies the
 * five operations; the device memory is one flat address space from
 * mem_base, carved up per call.
 */
#ifndef LOOM_KCTL_H
#define LOOM_KCTL_H

#include "loom/kernel-abi.h"
#include "loom/loom.h"

/* The kernel's arguments in kernel ABI order, buffers as device
 * addresses; B is transposed (Bt[N][K], row stride ldb). */
typedef struct {
    uint32_t M, N, K;
    uint64_t a;
    uint32_t lda;
    uint64_t b;
    uint32_t ldb;
    uint64_t bias, mult, shift, c;
    uint32_t ldc, act;
    uint64_t lut;
} loom__kctl_args;

/* Kernel argument indices (the HLS top function's and the register map's order). */
enum {
    LOOM__KARG_M, LOOM__KARG_N, LOOM__KARG_K, LOOM__KARG_A, LOOM__KARG_LDA, LOOM__KARG_B,
    LOOM__KARG_LDB, LOOM__KARG_BIAS, LOOM__KARG_MULT, LOOM__KARG_SHIFT, LOOM__KARG_C,
    LOOM__KARG_LDC, LOOM__KARG_ACT, LOOM__KARG_LUT, LOOM__KARG_COUNT
};

typedef struct {
    void *ctx;
    /* (optional) device memory of n bytes for buffer argument `arg`
     * (LOOM__KARG_A, ...), in the bank that argument is connected to; its
     * device address in *addr. NULL: kctl carves the buffers out of
     * [mem_base, mem_base + mem_size) itself. */
    loom_status (*alloc)(void *ctx, int arg, size_t n, uint64_t *addr);
    loom_status (*mem_write)(void *ctx, uint64_t addr, const void *src, size_t n);
    loom_status (*mem_read)(void *ctx, uint64_t addr, void *dst, size_t n);
    /* set the arguments, start the kernel, wait for it (bounded; a hang
     * is an error); *cycles: the kernel's own cycle count, 0 if unknown */
    loom_status (*run)(void *ctx, const loom__kctl_args *args, uint64_t *cycles);
    uint64_t mem_base, mem_size;
    const char *name; /* for messages: "vsim", "xrt:0" */
} loom__kctl;

/* Device bytes the GEMM takes in kctl's own layout (no alloc op):
 * every buffer 64-byte aligned, from mem_base. */
uint64_t loom__kctl_gemm_i8_bytes(const loom_gemm_i8_args *args);
/* B[K][N] (row stride ldb) transposed into a new Bt[N][K] (free() it);
 * NULL when out of memory. */
int8_t *loom__kctl_pack_bt(const loom_gemm_i8_args *args);

/* Run the int8 GEMM of the kernel ABI (arguments already checked): put
 * the operands in device memory (B transposed, a zero bias when there is
 * none), run, copy C out; *cycles as run() reports it (NULL: ignored). */
loom_status loom__kctl_gemm_i8(const loom__kctl *k, const loom_gemm_i8_args *args, uint64_t *cycles);

/* For devices that reach the kernel's registers (the simulator; a card
 * opened exclusively): write args to the register map
 * (rtl/loom-array.json) in ABI order, pointers low word first. */
loom_status loom__kctl_write_regs(void *ctx, loom_status (*reg_write)(void *ctx, uint32_t off, uint32_t v),
                                  const loom__kctl_args *args);

#endif /* LOOM_KCTL_H */
