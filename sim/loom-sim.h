/*
 * loom-sim.h - C API of the Verilator harness around rtl/loom_kernel.sv.
 *
 * A loom_sim is one Verilated kernel (ROWS x COLS array, chosen from the
 * sizes the library was built for) attached to a simulated device memory.
 * The host drives it exactly like a card: AXI4-Lite register reads and
 * writes, device-memory copies, start, wait. Every wait is bounded by a
 * cycle watchdog, and an RTL $fatal/$stop/$finish becomes an error return,
 * never a process exit. Functions return 0 on success and -1 on error,
 * with the reason in loom_sim_error().
 *
 * Memory model: one read port and one write port of PORT_BYTES-byte beats;
 * each port has a latency (cycles from request to data or acknowledgement,
 * any number of requests in flight) and a sustained rate (bytes per cycle,
 * up to PORT_BYTES), both set at open.
 */
#ifndef LOOM_SIM_H
#define LOOM_SIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct loom_sim loom_sim;

typedef struct {
    int rows, cols;               /* array size; 0: the configured default */
    uint32_t rd_bytes_per_cycle;  /* 0: the configured default (rtl/loom-array.json) */
    uint32_t rd_latency;          /* cycles; 0 means the default, use 1 for "none" */
    uint32_t wr_bytes_per_cycle;
    uint32_t wr_latency;
    uint64_t mem_bytes;           /* device memory size; 0: default */
    uint64_t seed;                /* random initial state seed; 0: pick one (see loom_sim_seed) */
    uint64_t watchdog_cycles;     /* 0: default (see LOOM_SIM_WATCHDOG_DEFAULT) */
    const char *wave_path;        /* FST waveform of the whole session, or NULL */
    int withhold_reads;           /* test knob: never return read data */
    int spurious_read;            /* test knob: return one beat nobody asked for */
} loom_sim_config;

/* watchdog default: this many cycles plus 64 per byte the run could move
 * is computed by callers that know the work; a bare run gets this */
#define LOOM_SIM_WATCHDOG_DEFAULT 100000000ULL

/* The array sizes built into this library, as {rows, cols} pairs. */
int loom_sim_sizes(int (*sizes)[2], int max);

/* Open a simulator (reset applied). *out is NULL on error; the reason is
 * written to err (errlen bytes) since there is no handle yet. */
int loom_sim_open(const loom_sim_config *cfg, loom_sim **out, char *err, size_t errlen);
void loom_sim_close(loom_sim *sim);

const char *loom_sim_error(const loom_sim *sim);
uint64_t loom_sim_seed(const loom_sim *sim);
/* what open settled on (defaults filled in) */
const loom_sim_config *loom_sim_get_config(const loom_sim *sim);

/* AXI4-Lite register access (byte offsets from loom-array-config.h). */
int loom_sim_reg_write(loom_sim *sim, uint32_t offset, uint32_t value);
int loom_sim_reg_read(loom_sim *sim, uint32_t offset, uint32_t *value);

/* Device memory (the harness side: no simulated cycles). */
int loom_sim_mem_write(loom_sim *sim, uint64_t addr, const void *src, size_t n);
int loom_sim_mem_read(loom_sim *sim, uint64_t addr, void *dst, size_t n);
uint64_t loom_sim_mem_size(const loom_sim *sim);

/* Set ap_start and clock until ap_done (interrupt), at most watchdog
 * cycles; a hang is an error naming what each stage was doing. */
int loom_sim_run(loom_sim *sim, uint64_t watchdog_cycles);

/* Apply reset again (8 cycles), as a host does between runs on a card it
 * keeps: registers with a reset return to it, memories and the device
 * memory keep their contents, the memory model's queues are emptied.
 * A simulator can then run the next GEMM, of any shape. */
int loom_sim_reset(loom_sim *sim);

/* Flush and close the waveform (when there is one): -1 when it could not
 * be written whole (the file system or /tmp ran short, or the file-size
 * limit: the run was stopped, or it filled as it closed), the reason in
 * loom_sim_error(); the file is then not to be kept. */
int loom_sim_wave_close(loom_sim *sim);

/* Total cycles clocked since open (reset and register access included). */
uint64_t loom_sim_cycles(const loom_sim *sim);
/* Bytes the kernel read from and wrote to device memory since open (the
 * read beats answered, the write strobes set). */
void loom_sim_traffic(const loom_sim *sim, uint64_t *bytes_read, uint64_t *bytes_written);

#ifdef __cplusplus
}
#endif

#endif /* LOOM_SIM_H */
