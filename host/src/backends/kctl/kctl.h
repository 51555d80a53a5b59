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

typedef struct {
    void *ctx;
    loom_status (*reg_write)(void *ctx, uint32_t offset, uint32_t value);
    loom_status (*reg_read)(void *ctx, uint32_t offset, uint32_t *value);
    loom_status (*mem_write)(void *ctx, uint64_t addr, const void *src, size_t n);
    loom_status (*mem_read)(void *ctx, uint64_t addr, void *dst, size_t n);
    /* set ap_start, wait for ap_done (bounded); a hang is an error */
    loom_status (*run)(void *ctx);
    uint64_t mem_base, mem_size;
    const char *name; /* for messages: "vsim" */
} loom__kctl;

/* Device bytes one int8 GEMM needs (operands, packed weights, parameters). */
uint64_t loom__kctl_gemm_i8_bytes(const loom_gemm_i8_args *args);

/* Run the int8 GEMM of the kernel ABI (arguments already checked): copy
 * the operands in (B transposed, a zero bias when there is none), write
 * the registers in ABI order, run, copy C out; *cycles gets the CYCLES
 * register (NULL: not read). */
loom_status loom__kctl_gemm_i8(const loom__kctl *k, const loom_gemm_i8_args *args, uint64_t *cycles);

#endif /* LOOM_KCTL_H */
