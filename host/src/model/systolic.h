/*
 * systolic.h - the analytic cycle model of loom's systolic array kernel
 * (rtl/loom_core.sv), for reports now and for the partitioner and design-
 * space exploration later. It needs no simulator: it follows the RTL's
 * pipeline as a recurrence over the memory beats, blocks and tiles of one
 * GEMM (cost linear in the number of beats; microseconds for a layer).
 */
#ifndef LOOM_MODEL_SYSTOLIC_H
#define LOOM_MODEL_SYSTOLIC_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    int rows, cols;       /* array size */
    int k_tile;           /* scratchpad depth along K (bytes per lane) */
    int port_bytes;       /* memory beat */
    int max_reads;        /* read beats in flight */
    int credits;          /* tiles between feeder and write port */
    double rd_bytes_per_cycle, wr_bytes_per_cycle;
    uint32_t rd_latency, wr_latency;
} loom__systolic_cfg;

/* rtl/loom-array.json's values (rows/cols and memory overridable after). */
void loom__systolic_cfg_default(loom__systolic_cfg *cfg);

/* What one GEMM makes the kernel do besides taking cycles: the counts
 * the energy model multiplies by its per-action energies. */
typedef struct {
    uint64_t bytes_read, bytes_written;        /* device memory: read beats' bytes, written result bytes */
    uint64_t spad_bytes_written;               /* operand bytes stored in the scratchpads */
    uint64_t spad_bytes_read;                  /* bytes the feeder reads out: every lane, every K step */
    uint64_t mac_slots;                        /* cells x K steps fed: every cell clocks a MAC */
} loom__systolic_activity;

/* Cycles from start to done (the CYCLES register) of one int8 GEMM of
 * M x N x K, with the activation LUT loaded when lut; act (may be NULL)
 * gets the activity counts. 0 when out of memory. */
uint64_t loom__systolic_run(const loom__systolic_cfg *cfg, int64_t M, int64_t N, int64_t K, bool lut,
                            loom__systolic_activity *act);
/* the same, cycles alone */
uint64_t loom__systolic_cycles(const loom__systolic_cfg *cfg, int64_t M, int64_t N, int64_t K,
                               bool lut);

#endif /* LOOM_MODEL_SYSTOLIC_H */
