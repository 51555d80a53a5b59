/* energy.c - modelled energy of the int8 systolic array from an energy
 * table (boards/, kind "energy") and a run's activity counts; see loom.h
 * ("modelled energy") for what it counts and what it leaves out. */
#include <string.h>

#include "core/core-impl.h"

static double fig(const loom_board *b, const char *key)
{
    const loom_board_figure *f = loom_board_find(b, key);
    return f && !f->is_text ? f->number : 0;
}

loom_status loom_energy_int8_array(const loom_board *board, const loom_board *table, const loom_energy_counts *c,
                                   loom_energy_estimate *out, bool *scaled)
{
    double node, volt, tnode, tvolt, mac_pj, sram_pj, dram_pj, fmac_pj, fadd_pj;
    if (!table || !c || !out)
        return loom__err(LOOM_E_INVALID_ARG, "energy: NULL argument");
    if (strcmp(loom_board_kind(table), "energy") != 0)
        return loom__err(LOOM_E_INVALID_ARG, "energy: %s is a %s board, not an energy table", loom_board_name(table),
                         loom_board_kind(table));
    tnode = fig(table, "process_nm");
    tvolt = fig(table, "voltage_v");
    mac_pj = fig(table, "int8_mul_pj") + fig(table, "int32_add_pj");
    sram_pj = fig(table, "sram_8kb_64b_pj") / 8; /* per byte; the scratchpads are small */
    dram_pj = fig(table, "dram_64b_pj") / 8;
    fadd_pj = fig(table, "fp32_add_pj");
    fmac_pj = fig(table, "fp32_mul_pj") + fadd_pj;
    node = board ? fig(board, "process_nm") : 0;
    volt = board ? fig(board, "vccint_v") : 0;
    memset(out, 0, sizeof *out);
    out->scale = node > 0 && volt > 0 ? (node / tnode) * (volt / tvolt) * (volt / tvolt) : 1.0;
    if (scaled)
        *scaled = node > 0 && volt > 0;
    out->mac_j = c->mac_slots * mac_pj * out->scale * 1e-12;
    out->spad_j = c->spad_bytes * sram_pj * out->scale * 1e-12;
    out->dram_j = c->dram_bytes * dram_pj * 1e-12;
    out->fp32_j = (c->fp32_macs * fmac_pj + c->fp32_ops * fadd_pj) * out->scale * 1e-12;
    out->dynamic_j = out->mac_j + out->spad_j + out->dram_j + out->fp32_j;
    return LOOM_OK;
}
