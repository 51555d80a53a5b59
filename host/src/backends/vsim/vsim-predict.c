/* vsim-predict.c - the vsim options and the analytic cycle model's public
 * entry point; built with or without Verilator (the model needs no
 * simulator). */
#include "backends/vsim/vsim-impl.h"
#include "core/core-impl.h"
#include "loom-array-config.h"

/* The model's configuration for these options. */
void loom__vsim_model_cfg(const loom_vsim_options *o, loom__systolic_cfg *c)
{
    loom__systolic_cfg_default(c);
    if (!o)
        return;
    if (o->rows)
        c->rows = o->rows;
    if (o->cols)
        c->cols = o->cols;
    if (o->read_bytes_per_cycle)
        c->rd_bytes_per_cycle = o->read_bytes_per_cycle;
    if (o->read_latency)
        c->rd_latency = o->read_latency;
    if (o->write_bytes_per_cycle)
        c->wr_bytes_per_cycle = o->write_bytes_per_cycle;
    if (o->write_latency)
        c->wr_latency = o->write_latency;
}

loom_status loom__vsim_check_options(const loom_vsim_options *o)
{
    if (!o)
        return LOOM_OK;
    if (o->rows < 0 || o->cols < 0)
        return loom__err(LOOM_E_INVALID_ARG, "vsim: array size %dx%d is negative", o->rows, o->cols);
    if (o->read_bytes_per_cycle > LOOM_ARRAY_PORT_BYTES || o->write_bytes_per_cycle > LOOM_ARRAY_PORT_BYTES)
        return loom__err(LOOM_E_INVALID_ARG,
                         "vsim: memory bytes per cycle (read %u, write %u) exceed the %d-byte port",
                         o->read_bytes_per_cycle, o->write_bytes_per_cycle, LOOM_ARRAY_PORT_BYTES);
    if (o->read_latency > 1000000 || o->write_latency > 1000000)
        return loom__err(LOOM_E_INVALID_ARG, "vsim: memory latency above 1000000 cycles");
    if (o->reset_seed > INT32_MAX)
        return loom__err(LOOM_E_INVALID_ARG, "vsim: reset seed %llu is above 2^31 - 1 (Verilator's seeds are 31-bit)",
                         (unsigned long long)o->reset_seed);
    return LOOM_OK;
}

loom_status loom_vsim_predict(const loom_vsim_options *opt, int64_t M, int64_t N, int64_t K, int act,
                              loom_vsim_activity *out)
{
    loom__systolic_cfg c;
    loom__systolic_activity a;
    loom_status st = loom__vsim_check_options(opt);
    if (st)
        return st;
    if (!out || M < 0 || N < 0 || K < 0)
        return loom__err(LOOM_E_INVALID_ARG, "vsim: predict: bad arguments");
    loom__vsim_model_cfg(opt, &c);
    if ((st = loom__vsim_check_size(&c, M, N, K)) != LOOM_OK)
        return st;
    *out = (loom_vsim_activity){.cycles = loom__systolic_run(&c, M, N, K, act == LOOM_ACT_LUT, &a)};
    if (!out->cycles)
        return loom__err(LOOM_E_NOMEM, "vsim: predict: out of memory");
    out->bytes_read = a.bytes_read;
    out->bytes_written = a.bytes_written;
    out->spad_bytes_written = a.spad_bytes_written;
    out->spad_bytes_read = a.spad_bytes_read;
    out->mac_slots = a.mac_slots;
    out->macs = (double)M * (double)N * (double)K;
    return LOOM_OK;
}

loom_status loom_vsim_predict_cycles(const loom_vsim_options *opt, int64_t M, int64_t N, int64_t K,
                                     int act, uint64_t *cycles)
{
    loom_vsim_activity a;
    loom_status st;
    if (!cycles)
        return loom__err(LOOM_E_INVALID_ARG, "vsim: predict: bad arguments");
    if ((st = loom_vsim_predict(opt, M, N, K, act, &a)) == LOOM_OK)
        *cycles = a.cycles;
    return st;
}

loom_status loom__vsim_check_size(const loom__systolic_cfg *c, int64_t M, int64_t N, int64_t K)
{
    double beats;
    if (M > INT32_MAX || N > INT32_MAX || K > 65536)
        return loom__err(LOOM_E_INVALID_ARG,
                         "vsim: M=%lld N=%lld K=%lld is outside the kernel's limits (M, N < 2^31, K <= 65536)",
                         (long long)M, (long long)N, (long long)K);
    /* the model walks every memory beat: refuse what would take minutes */
    beats = (double)((M + c->rows - 1) / c->rows) * (double)((N + c->cols - 1) / c->cols) *
            (double)(c->rows + c->cols + 3) * (double)((K + c->port_bytes - 1) / c->port_bytes + 1);
    if (beats > 2e8)
        return loom__err(LOOM_E_LIMIT, "vsim: M=%lld N=%lld K=%lld is about %.0e memory beats; the model and "
                         "the simulator stop at 2e8", (long long)M, (long long)N, (long long)K, beats);
    return LOOM_OK;
}

double loom_vsim_clock_mhz(void)
{
    return (double)LOOM_ARRAY_CLOCK_MHZ;
}

void loom_vsim_default_array(int *rows, int *cols)
{
    if (rows)
        *rows = LOOM_ARRAY_ROWS;
    if (cols)
        *cols = LOOM_ARRAY_COLS;
}

int loom_vsim_port_bytes(void)
{
    return LOOM_ARRAY_PORT_BYTES;
}
