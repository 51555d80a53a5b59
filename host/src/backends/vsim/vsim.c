/* vsim.c - the vsim device: loom's int8 GEMM kernel on the Verilated RTL
 * (sim/, rtl/), driven through the kernel control layer (backends/kctl)
 * exactly as a card would be. Opt-in by name; every run is bounded by a
 * cycle watchdog sized from the analytic cycle model. The device keeps
 * one simulator and resets it between GEMMs (as a host keeps a card);
 * loom_vsim_gemm_i8, with its own options, opens one per call. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/backend.h"
#include "backends/kctl/kctl.h"
#include "core/core-impl.h"
#include "loom-array-config.h"
#include "loom-sim.h"
#include "backends/vsim/vsim-impl.h"
#include "model/systolic.h"

/* device memory below this stays unused: a zero pointer is a bug */
#define VSIM_MEM_BASE 0x1000u

typedef struct {
    loom_sim *sim;
    uint64_t watchdog;
} vsim_ctx;

static loom_status sim_status(vsim_ctx *v, int rc)
{
    return rc == 0 ? LOOM_OK : loom__err(LOOM_E_DEVICE_FAILED, "%s", loom_sim_error(v->sim));
}

static loom_status v_reg_write(void *ctx, uint32_t off, uint32_t value)
{
    vsim_ctx *v = ctx;
    return sim_status(v, loom_sim_reg_write(v->sim, off, value));
}

static loom_status v_reg_read(void *ctx, uint32_t off, uint32_t *value)
{
    vsim_ctx *v = ctx;
    return sim_status(v, loom_sim_reg_read(v->sim, off, value));
}

static loom_status v_mem_write(void *ctx, uint64_t addr, const void *src, size_t n)
{
    vsim_ctx *v = ctx;
    return sim_status(v, loom_sim_mem_write(v->sim, addr, src, n));
}

static loom_status v_mem_read(void *ctx, uint64_t addr, void *dst, size_t n)
{
    vsim_ctx *v = ctx;
    return sim_status(v, loom_sim_mem_read(v->sim, addr, dst, n));
}

/* Arguments into the register map, start, wait; the kernel's CYCLES. */
static loom_status v_run(void *ctx, const loom__kctl_args *args, uint64_t *cycles)
{
    vsim_ctx *v = ctx;
    uint32_t lo = 0, hi = 0;
    loom_status st;
    if ((st = loom__kctl_write_regs(ctx, v_reg_write, args)) ||
        (st = sim_status(v, loom_sim_run(v->sim, v->watchdog))) ||
        (st = v_reg_read(ctx, LOOM_REG_CYCLES, &lo)) || (st = v_reg_read(ctx, LOOM_REG_CYCLES + 4, &hi)))
        return st;
    *cycles = (uint64_t)hi << 32 | lo;
    return LOOM_OK;
}

/* One GEMM on an open simulator: operands in, run, C out. */
static loom_status run_on(vsim_ctx *v, const loom_gemm_i8_args *args, uint64_t *cycles)
{
    loom__kctl k = {.ctx = v,
                    .mem_write = v_mem_write,
                    .mem_read = v_mem_read,
                    .run = v_run,
                    .mem_base = VSIM_MEM_BASE,
                    .mem_size = loom_sim_mem_size(v->sim) - VSIM_MEM_BASE,
                    .name = "vsim"};
    return loom__kctl_gemm_i8(&k, args, cycles);
}

/* What every GEMM on vsim checks first, before a simulator (and a
 * waveform file) exists: the size the kernel takes, the operands in the
 * device memory; then the cycle model's prediction for it under mc. */
static loom_status check_and_predict(const loom__systolic_cfg *mc, const loom_gemm_i8_args *args,
                                     uint64_t *predicted)
{
    uint64_t need = VSIM_MEM_BASE + loom__kctl_gemm_i8_bytes(args);
    loom_status st = loom__vsim_check_size(mc, args->M, args->N, args->K);
    if (st != LOOM_OK)
        return st;
    if (need > LOOM_ARRAY_MEM_BYTES)
        return loom__err(LOOM_E_LIMIT, "vsim: the GEMM needs %llu bytes of device memory, the simulated "
                         "device has %llu", (unsigned long long)need, (unsigned long long)LOOM_ARRAY_MEM_BYTES);
    *predicted = loom__systolic_cycles(mc, args->M, args->N, args->K, args->act == LOOM_ACT_LUT);
    return *predicted ? LOOM_OK : loom__err(LOOM_E_NOMEM, "vsim: out of memory in the cycle model");
}

loom_status loom__vsim_gemm_on(loom_sim *sim, const loom_gemm_i8_args *args, uint64_t watchdog, uint64_t *cycles)
{
    vsim_ctx v = {.sim = sim, .watchdog = watchdog};
    loom_status st = loom__gemm_i8_check(args);
    return st ? st : run_on(&v, args, cycles);
}

int loom_vsim_sizes(int (*sizes)[2], int max)
{
    return loom_sim_sizes(sizes, max);
}

/* The simulator's message about the waveform names the temporary file
 * it writes; the user named the target. */
static const char *wave_message(const char *msg, const loom__outfile *wave, const char *target)
{
    static __thread char buf[1024];
    const char *at = wave->tmp ? strstr(msg, wave->tmp) : NULL;
    if (!at)
        return msg;
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - msg), msg, target, at + strlen(wave->tmp));
    return buf;
}

loom_status loom_vsim_gemm_i8(const loom_vsim_options *opt, const loom_gemm_i8_args *args,
                              loom_vsim_stats *stats)
{
    loom_vsim_options none = {0};
    loom_sim_config cfg = {0};
    loom__systolic_cfg mc;
    vsim_ctx v = {0};
    loom__outfile wave = {.fd = -1};
    char err[512];
    uint64_t predicted, cycles = 0, before, rd0, wr0, rd1, wr1;
    double t0;
    loom_status st;

    if (!opt)
        opt = &none;
    if ((st = loom__vsim_check_options(opt)) || (st = loom__gemm_i8_check(args)))
        return st;
    loom__vsim_model_cfg(opt, &mc);
    if ((st = check_and_predict(&mc, args, &predicted)) != LOOM_OK)
        return st;
    cfg.rows = mc.rows;
    cfg.cols = mc.cols;
    cfg.rd_bytes_per_cycle = (uint32_t)mc.rd_bytes_per_cycle;
    cfg.rd_latency = mc.rd_latency;
    cfg.wr_bytes_per_cycle = (uint32_t)mc.wr_bytes_per_cycle;
    cfg.wr_latency = mc.wr_latency;
    cfg.seed = opt->reset_seed;
    /* the waveform is written beside its target and renamed into place
     * when the run is over: never half a file, never over a device */
    if (opt->waveform) {
        if ((st = loom__out_begin(opt->waveform, &wave)) != LOOM_OK)
            return st;
        close(wave.fd); /* the FST writer opens the file itself */
        wave.fd = -1;
        cfg.wave_path = wave.tmp;
    }
    cfg.withhold_reads = opt->test_withhold_reads;
    cfg.spurious_read = opt->test_spurious_read;
    if (loom_sim_open(&cfg, &v.sim, err, sizeof err) != 0) {
        if (opt->waveform) {
            if (strncmp(err, "vsim: waveform ", 15) == 0)
                st = loom__err(LOOM_E_WRITE, "%s", wave_message(err, &wave, opt->waveform));
            else if (strstr(err, "cannot write waveform"))
                st = loom__err(LOOM_E_WRITE, "%s: vsim cannot write the waveform", opt->waveform);
            loom__out_cancel(&wave);
            if (st == LOOM_E_WRITE)
                return st;
        }
        return loom__err(strstr(err, "no Verilated model") ? LOOM_E_INVALID_ARG : LOOM_E_DEVICE_FAILED, "%s",
                         err);
    }
    v.watchdog = opt->watchdog_cycles ? opt->watchdog_cycles : 2 * predicted + 10000;
    before = loom_sim_cycles(v.sim);
    t0 = loom__now_us();
    loom_sim_traffic(v.sim, &rd0, &wr0);
    st = run_on(&v, args, &cycles);
    loom_sim_traffic(v.sim, &rd1, &wr1);
    if (stats) {
        memset(stats, 0, sizeof *stats);
        stats->rows = mc.rows;
        stats->cols = mc.cols;
        stats->read_bytes_per_cycle = cfg.rd_bytes_per_cycle;
        stats->read_latency = cfg.rd_latency;
        stats->write_bytes_per_cycle = cfg.wr_bytes_per_cycle;
        stats->write_latency = cfg.wr_latency;
        stats->reset_seed = loom_sim_seed(v.sim);
        stats->cycles = cycles;
        stats->predicted_cycles = predicted;
        stats->ideal_cycles = (double)args->M * (double)args->N * (double)args->K / (mc.rows * mc.cols);
        stats->utilisation = cycles ? stats->ideal_cycles / (double)cycles : 0.0;
        stats->sim_cycles = loom_sim_cycles(v.sim) - before;
        stats->wall_seconds = (loom__now_us() - t0) * 1e-6;
        stats->bytes_read = rd1 - rd0;
        stats->bytes_written = wr1 - wr0;
    }
    loom__log(LOOM_LOG_DEBUG, "vsim: %lldx%lldx%lld on %dx%d: %llu cycles (model %llu), reset seed %llu",
              (long long)args->M, (long long)args->N, (long long)args->K, mc.rows, mc.cols,
              (unsigned long long)cycles, (unsigned long long)predicted,
              (unsigned long long)loom_sim_seed(v.sim));
    if (opt->waveform && loom_sim_wave_close(v.sim) != 0) {
        /* the writer ran out of room: no half a waveform */
        st = loom__err(LOOM_E_WRITE, "%s", wave_message(loom_sim_error(v.sim), &wave, opt->waveform));
        loom_sim_close(v.sim);
        loom__out_cancel(&wave);
        return st;
    }
    loom_sim_close(v.sim);
    if (opt->waveform) {
        /* kept after a failed run too (a watchdog's waveform is the one
         * to look at): the simulator closed it whole */
        char keep[1024];
        loom_status ws;
        snprintf(keep, sizeof keep, "%s", loom_last_error());
        ws = loom__out_finish(&wave);
        if (st == LOOM_OK)
            st = ws;
        else
            loom__err(st, "%s", keep);
    }
    return st;
}

/* ---- the backend table ---- */

/* The device's simulator, kept across GEMMs (and sessions: one at a
 * time, under the lock); the cycle counts of each thread's runs. */
typedef struct {
    pthread_mutex_t lock;
    loom_sim *sim; /* NULL until the first GEMM, and after a failed one */
} vsim_dev;

static __thread uint64_t tl_cycles, tl_predicted;

static void vsim_enumerate(const loom__backend *be)
{
    int sizes[8][2];
    loom__device *d;
    vsim_dev *vd;
    if (loom_sim_sizes(sizes, 8) == 0)
        return;
    if (!(vd = calloc(1, sizeof *vd)))
        return;
    pthread_mutex_init(&vd->lock, NULL);
    if (!(d = loom__device_new(be, LOOM__DEV_ACCEL))) {
        pthread_mutex_destroy(&vd->lock);
        free(vd);
        return;
    }
    d->priv = vd;
    snprintf(d->name, sizeof d->name, "vsim");
    snprintf(d->model, sizeof d->model, "loom systolic array %dx%d", LOOM_ARRAY_ROWS,
             LOOM_ARRAY_COLS);
    snprintf(d->platform, sizeof d->platform, "Verilator, cycle-accurate");
    d->memory_bytes = LOOM_ARRAY_MEM_BYTES;
    d->compute_units = LOOM_ARRAY_ROWS * LOOM_ARRAY_COLS;
    d->explicit_only = true;
    /* wall-clock rates of the simulation, not of the array: each cell a
     * multiply-add per simulated cycle, at the 212-338 k cycles/s loom sim
     * gemm measured for 16x16 (half that per cell for larger arrays) */
    d->caps.rates = (loom__rates){.gops_i8 = 2.0 * LOOM_ARRAY_ROWS * LOOM_ARRAY_COLS * 0.25e6 / 1e9 * 0.5,
                                  .gflops = 0, .mem_gbps = 1, .launch_us = 2000, .xfer_gbps = 1, .xfer_us = 10};
    d->caps.host_memory = true; /* the simulator reads host tensors */
}

static void vsim_device_free(loom__device *dev)
{
    vsim_dev *vd = dev->priv;
    if (!vd)
        return;
    if (vd->sim)
        loom_sim_close(vd->sim);
    pthread_mutex_destroy(&vd->lock);
    free(vd);
    dev->priv = NULL;
}

/* The device's GEMM: the default array and memory, on the kept
 * simulator (opened on first use, reset before each later GEMM). */
static loom_status vsim_gemm_i8(loom__device *dev, const loom_gemm_i8_args *args)
{
    vsim_dev *vd = dev->priv;
    loom__systolic_cfg mc;
    vsim_ctx v = {0};
    uint64_t predicted, cycles = 0;
    char err[512];
    loom_status st;

    loom__vsim_model_cfg(NULL, &mc);
    if ((st = check_and_predict(&mc, args, &predicted)) != LOOM_OK)
        return st;
    pthread_mutex_lock(&vd->lock);
    if (vd->sim && loom_sim_reset(vd->sim) != 0) {
        loom__log(LOOM_LOG_WARN, "vsim: reset failed (%s): a new simulator is opened", loom_sim_error(vd->sim));
        loom_sim_close(vd->sim);
        vd->sim = NULL;
    }
    if (!vd->sim && loom_sim_open(NULL, &vd->sim, err, sizeof err) != 0) {
        pthread_mutex_unlock(&vd->lock);
        return loom__err(LOOM_E_DEVICE_FAILED, "%s", err);
    }
    v.sim = vd->sim;
    v.watchdog = 2 * predicted + 10000;
    st = run_on(&v, args, &cycles);
    if (st != LOOM_OK) {
        /* a watchdog or an RTL $fatal leaves the kernel in no known
         * state: the next GEMM gets a fresh simulator */
        loom_sim_close(vd->sim);
        vd->sim = NULL;
    }
    pthread_mutex_unlock(&vd->lock);
    if (st == LOOM_OK) {
        tl_cycles += cycles;
        tl_predicted += predicted;
    }
    return st;
}

static void vsim_take_cycles(loom__device *dev, uint64_t *cycles, uint64_t *predicted)
{
    (void)dev;
    *cycles = tl_cycles;
    *predicted = tl_predicted;
    tl_cycles = tl_predicted = 0;
}

const loom__backend loom__backend_vsim = {
    .name = "vsim",
    .version = LOOM__BACKEND_VERSION,
    .enumerate = vsim_enumerate,
    .device_free = vsim_device_free,
    .supports = loom__gemm_only_supports,
    .run = loom__gemm_only_run,
    .gemm_i8 = vsim_gemm_i8,
    .take_cycles = vsim_take_cycles,
};
