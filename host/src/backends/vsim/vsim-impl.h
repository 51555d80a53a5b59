/* vsim-impl.h - shared by the vsim device's files. */
#ifndef LOOM_VSIM_IMPL_H
#define LOOM_VSIM_IMPL_H

#include "loom/loom.h"
#include "model/systolic.h"

/* The cycle model's configuration for these options (NULL: defaults). */
void loom__vsim_model_cfg(const loom_vsim_options *opt, loom__systolic_cfg *cfg);
/* Options outside what the harness accepts: LOOM_E_INVALID_ARG. */
loom_status loom__vsim_check_options(const loom_vsim_options *opt);
/* GEMM sizes the kernel and the model take (LOOM_E_INVALID_ARG / _LIMIT). */
loom_status loom__vsim_check_size(const loom__systolic_cfg *cfg, int64_t M, int64_t N, int64_t K);

#ifdef LOOM_WITH_VERILATOR
#include "loom-sim.h"
/* One GEMM on an open simulator (the caller opens, resets and closes it;
 * for tests of simulator reuse): the kernel's CYCLES in *cycles. */
loom_status loom__vsim_gemm_on(loom_sim *sim, const loom_gemm_i8_args *args, uint64_t watchdog, uint64_t *cycles);
#endif

#endif
