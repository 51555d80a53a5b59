/* bench-project.c - loom bench's figures that are not measured here:
 *
 * - modelled energy, for a device no meter covers: every node's work (its
 *   MACs, other arithmetic and the bytes it reads and writes, from its
 *   shapes) times an energy table's per-action energies;
 * - projected boards, for every board in boards/, with or without the
 *   hardware. An FPGA board runs the int8 GEMM nodes on loom's systolic
 *   array: their cycles come from the Verilated RTL (vsim) or, with
 *   --model, from the analytic cycle model, at the board's kernel clock
 *   (the memory rate capped by the board's bandwidth); the nodes a card
 *   would not run are measured on this host; the values crossing between
 *   them go over the board's PCIe link. A GPU or CPU board gets a
 *   roofline: per node, a launch overhead plus the longer of its work at
 *   the peak rate and its bytes at the memory bandwidth.
 *
 * Every figure carries its provenance, and projected rows are kept apart
 * from measured ones (cmd-bench.c). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli-bench.h"

/* per-node overhead in the roofline: loom's assumptions, not
 * measurements (a few microseconds per CUDA kernel launch, and a couple
 * per parallel region handed to a CPU's thread pool) */
#define GPU_LAUNCH_US 5.0
#define CPU_LAUNCH_US 2.0

/* notes are said once, whatever the number of batches */
static void note_once(json_t *notes, const char *text)
{
    const json_t *x;
    size_t i;
    json_array_foreach(notes, i, x)
        if (!strcmp(json_string_value(x), text))
            return;
    json_array_append_new(notes, json_string(text));
}

static double fig(const loom_board *b, const char *key)
{
    const loom_board_figure *f = loom_board_find(b, key);
    return f && !f->is_text ? f->number : 0;
}

/* The work counts of the nodes where mask[i] == want (mask NULL: all). */
static void work_counts(const loom_session *s, const bool *mask, bool want, loom_energy_counts *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < loom_session_node_count(s); i++) {
        loom_node_work w;
        if ((mask && mask[i] != want) || loom_session_node_work(s, i, &w) != LOOM_OK)
            continue;
        if (w.int8)
            c->mac_slots += w.macs; /* an int8 multiply and an int32 add each */
        else
            c->fp32_macs += w.macs;
        c->fp32_ops += w.elementwise;
        c->dram_bytes += w.bytes;
    }
}

static const char host_energy_prov[] =
    "modelled: %s per action (every node's MACs and other arithmetic, its inputs and outputs as DRAM "
    "traffic), not scaled to a process node; dynamic energy only, no static power, caches or control: a lower "
    "bound";

json_t *bench_modelled_energy(const loom_session *s, const loom_board *table, int batch, double mean_ms)
{
    loom_energy_counts c;
    loom_energy_estimate e;
    json_t *je = json_object();
    char prov[512];
    double per;
    work_counts(s, NULL, false, &c);
    if (loom_energy_int8_array(NULL, table, &c, &e, NULL) != LOOM_OK) {
        json_object_set_new(je, "source", json_null());
        json_object_set_new(je, "why_not", json_string(loom_last_error()));
        return je;
    }
    per = e.dynamic_j / batch;
    snprintf(prov, sizeof prov, host_energy_prov, loom_board_name(table));
    json_object_set_new(je, "source", json_string("modelled"));
    json_object_set_new(je, "provenance", json_string(prov));
    json_object_set_new(je, "per_inference_j", json_real(per));
    json_object_set_new(je, "arithmetic_j", json_real((e.mac_j + e.fp32_j) / batch));
    json_object_set_new(je, "memory_j", json_real(e.dram_j / batch));
    json_object_set_new(je, "inferences_per_joule", json_real(per > 0 ? 1 / per : 0));
    json_object_set_new(je, "energy_delay_js", json_real(per * mean_ms * 1e-3));
    return je;
}

json_t *bench_node_times(const loom_session *s)
{
    json_t *a = json_array();
    for (size_t i = 0; i < loom_session_node_count(s); i++) {
        loom_node_placement p;
        char op[64];
        loom_session_placement(s, i, &p);
        snprintf(op, sizeof op, "%s%s%s", p.op_type, *p.fused ? "+" : "", p.fused);
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:f}", "name", p.name, "op", op, "device", p.device,
                                           "us", loom_session_node_time(s, i)));
    }
    return a;
}

/* "gen3x16": the link's theoretical rate, GB/s, per direction (PCIe
 * 3.0: 8 GT/s with 128b/130b coding; each generation doubles); 0 when
 * the text is not of that form. */
static double pcie_gbps(const char *text)
{
    int gen = 0, lanes = 0;
    if (!text || sscanf(text, "gen%dx%d", &gen, &lanes) != 2 || gen < 3 || gen > 6 || lanes < 1 || lanes > 32)
        return 0;
    return 8.0 * 128 / 130 / 8 * (double)(1 << (gen - 3)) * lanes;
}

/* What the card part of an FPGA projection needs from one run. */
typedef struct {
    size_t n;
    bool *card;            /* node i runs on the card */
    uint64_t *cycles;      /* its kernel cycles (vsim's, or the model's at the default memory rate) */
    double *host_us;       /* nodes on the host: measured time */
    loom_gemm_shape *gemm; /* the card nodes' GEMMs */
    loom_session *s;
    const char *source;    /* "vsim" or "model" */
} card_run;

static void card_run_free(card_run *r)
{
    free(r->card);
    free(r->cycles);
    free(r->host_us);
    free(r->gemm);
    loom_session_free(r->s);
}

/* Cycles of node i's GEMMs under o (the analytic model). */
static loom_status model_cycles(const loom_vsim_options *o, const loom_gemm_shape *g, uint64_t *cycles,
                                loom_energy_counts *act)
{
    loom_vsim_activity a;
    loom_status st = loom_vsim_predict(o, g->M, g->N, g->K, g->act, &a);
    if (st != LOOM_OK)
        return st;
    *cycles = a.cycles * (uint64_t)g->count;
    if (act) {
        act->mac_slots += (double)g->count * (double)a.mac_slots;
        act->spad_bytes += (double)g->count * (double)(a.spad_bytes_read + a.spad_bytes_written);
        act->dram_bytes += (double)g->count * (double)(a.bytes_read + a.bytes_written);
    }
    return LOOM_OK;
}

/* Run the model once for the projections: on vsim (and the host) for the
 * RTL's cycles, or on the host alone with the cycle model; host nodes
 * are timed over a warm run. */
static int card_run_make(const bench_setup *b, const bench_projection *p, bool vsim, card_run *r)
{
    char devs[160];
    int rc = 0;
    int runs = vsim ? 1 : 3;
    memset(r, 0, sizeof *r);
    snprintf(devs, sizeof devs, vsim ? "vsim,%s" : "%s", p->host);
    if (!(r->s = bench_session(b, devs, true, &rc)))
        return rc;
    r->source = vsim ? "vsim" : "model";
    if (vsim)
        fprintf(stderr, "loom: bench: simulating the card's part on vsim (cycle-accurate, slow)\n");
    /* one warm-up, then the timed runs */
    for (int k = 0; k <= runs; k++) {
        loom_status st;
        if (k == 1)
            loom_session_profile_reset(r->s);
        if ((st = loom_session_run(r->s)) != LOOM_OK)
            return loom_cli_fail(st);
    }
    r->n = loom_session_node_count(r->s);
    r->card = calloc(r->n + 1, sizeof *r->card);
    r->cycles = calloc(r->n + 1, sizeof *r->cycles);
    r->host_us = calloc(r->n + 1, sizeof *r->host_us);
    r->gemm = calloc(r->n + 1, sizeof *r->gemm);
    if (!r->card || !r->cycles || !r->host_us || !r->gemm) {
        loom_cli_errorf("out of memory");
        return LOOM_EXIT_SOFTWARE;
    }
    for (size_t i = 0; i < r->n; i++) {
        bool gemm = loom_session_node_gemm(r->s, i, &r->gemm[i]);
        if (vsim) {
            r->card[i] = loom_session_node_cycles(r->s, i, &r->cycles[i], NULL);
        } else if ((r->card[i] = gemm)) {
            loom_status st = model_cycles(NULL, &r->gemm[i], &r->cycles[i], NULL);
            if (st != LOOM_OK)
                return loom_cli_fail(st);
        }
        if (!r->card[i])
            r->host_us[i] = loom_session_node_time(r->s, i);
    }
    return 0;
}

static json_t *node_entry(const loom_session *s, size_t i, double us, const char *where)
{
    loom_node_placement pl;
    char op[64];
    loom_session_placement(s, i, &pl);
    snprintf(op, sizeof op, "%s%s%s", pl.op_type, *pl.fused ? "+" : "", pl.fused);
    return json_pack("{s:s, s:s, s:s, s:f}", "name", pl.name, "op", op, "where", where, "us", us);
}

/* The energy object of a projected row: modelled dynamic energy (or why
 * none), and the bound from the board's power limit. */
static void energy_fields(json_t *row, const loom_board *bd, const loom_board *table, const loom_energy_estimate *card,
                          const loom_energy_estimate *host, const char *prov, int batch, double ms)
{
    json_t *je = json_object();
    double pw = fig(bd, "power_limit_w");
    if (table) {
        double per = ((card ? card->dynamic_j : 0) + host->dynamic_j) / batch;
        json_object_set_new(je, "source", json_string("modelled"));
        json_object_set_new(je, "provenance", json_string(prov));
        json_object_set_new(je, "per_inference_j", json_real(per));
        if (card)
            json_object_set_new(je, "card_j", json_real(card->dynamic_j / batch));
        json_object_set_new(je, "host_j", json_real(host->dynamic_j / batch));
        json_object_set_new(je, "inferences_per_joule", json_real(per > 0 ? 1 / per : 0));
        json_object_set_new(je, "energy_delay_js", json_real(per * ms * 1e-3));
    } else {
        json_object_set_new(je, "source", json_null());
        json_object_set_new(je, "why_not", json_string("no energy table (--energy none)"));
    }
    json_object_set_new(row, "energy", je);
    if (pw > 0)
        json_object_set_new(row, "energy_bound",
                            json_pack("{s:f, s:s}", "per_inference_j", pw * ms * 1e-3 / batch, "provenance",
                                      "bound: the board's power limit for the whole projected latency (an upper "
                                      "bound on the board's own energy)"));
    else
        json_object_set_new(row, "energy_bound", json_null());
}

static json_t *row_start(const loom_board *bd, int batch)
{
    json_t *row = json_object();
    json_object_set_new(row, "board", json_string(loom_board_name(bd)));
    json_object_set_new(row, "title", json_string(loom_board_title(bd)));
    json_object_set_new(row, "kind", json_string(loom_board_kind(bd)));
    json_object_set_new(row, "batch", json_integer(batch));
    json_object_set_new(row, "projected", json_true());
    return row;
}

static void row_latency(json_t *row, double ms, int batch, const char *prov)
{
    json_object_set_new(row, "latency_ms", json_real(ms));
    json_object_set_new(row, "throughput_per_s", json_real(ms > 0 ? batch * 1e3 / ms : 0));
    json_object_set_new(row, "latency_provenance", json_string(prov));
}

/* An FPGA board: the card part at its clock and memory rate, the host part
 * as measured, the copies over its link. NULL (note added) when the board
 * lacks a figure to project with. */
static json_t *project_fpga(const loom_board *bd, const card_run *r, const bench_projection *p, int batch,
                            uint64_t up, uint64_t down, json_t *notes, int *rc)
{
    double clk = fig(bd, "kernel_clock_mhz"), bw = fig(bd, "memory_bandwidth_gbps"), link, card_us = 0, host_us = 0;
    const loom_board_figure *pcie = loom_board_find(bd, "pcie");
    const uint32_t port = (uint32_t)loom_vsim_port_bytes();
    double per_cycle = clk > 0 ? bw * 1e3 / clk : 0, ms, copy_us;
    loom_vsim_options o = {0};
    loom_energy_counts act = {0}, hc;
    loom_energy_estimate ec = {0}, eh = {0};
    uint64_t cycles = 0;
    size_t on = 0;
    bool capped;
    json_t *row, *nodes = json_array(), *jc;
    char prov[512], note[256];
    int rows, cols;
    *rc = 0;
    loom_vsim_default_array(&rows, &cols);
    if (clk <= 0 || bw <= 0) {
        snprintf(note, sizeof note, "%s: no kernel_clock_mhz or memory_bandwidth_gbps figure: not projected",
                 loom_board_name(bd));
        note_once(notes, note);
        json_decref(nodes);
        return NULL;
    }
    /* the board's memory, per kernel cycle, caps the array's read and
     * write rates (at most the port's width, which vsim runs at) */
    capped = per_cycle < port;
    o.read_bytes_per_cycle = o.write_bytes_per_cycle = capped ? (uint32_t)(per_cycle < 1 ? 1 : per_cycle) : 0;
    for (size_t i = 0; i < r->n; i++) {
        uint64_t c = r->cycles[i];
        loom_status st;
        if (!r->card[i]) {
            host_us += r->host_us[i];
            json_array_append_new(nodes, node_entry(r->s, i, r->host_us[i], "host"));
            continue;
        }
        /* the activity is the model's (equal to the RTL's, test_vsim) */
        if ((st = model_cycles(&o, &r->gemm[i], capped ? &c : &(uint64_t){0}, &act)) != LOOM_OK) {
            json_decref(nodes);
            *rc = loom_cli_fail(st);
            return NULL;
        }
        cycles += c;
        card_us += (double)c / clk;
        on++;
        json_array_append_new(nodes, node_entry(r->s, i, (double)c / clk, "card"));
    }
    link = pcie && pcie->is_text ? pcie_gbps(pcie->text) : 0;
    copy_us = link > 0 ? (double)(up + down) / (link * 1e3) : 0;
    ms = (card_us + host_us + copy_us) / 1e3;
    row = row_start(bd, batch);
    snprintf(prov, sizeof prov,
             "projected: the int8 GEMM nodes on loom's %dx%d array, %s at the board's %.0f MHz kernel clock%s; the "
             "other nodes as measured on %s here; the copies at the PCIe link's theoretical rate; no overlap",
             rows, cols,
             capped ? "the analytic cycle model" : !strcmp(r->source, "vsim") ? "cycles of the Verilated RTL (vsim)"
                                                                              : "the analytic cycle model's cycles",
             clk, capped ? " with the memory rate its bandwidth gives per cycle" : "", p->host);
    row_latency(row, ms, batch, prov);
    jc = json_object();
    json_object_set_new(jc, "nodes", json_integer((json_int_t)on));
    json_object_set_new(jc, "cycles", json_integer((json_int_t)cycles));
    json_object_set_new(jc, "cycles_from", json_string(capped ? "model" : r->source));
    json_object_set_new(jc, "kernel_clock_mhz", json_real(clk));
    json_object_set_new(jc, "read_bytes_per_cycle", json_integer(capped ? o.read_bytes_per_cycle : port));
    json_object_set_new(jc, "us", json_real(card_us));
    json_object_set_new(row, "card", jc);
    json_object_set_new(row, "host", json_pack("{s:s, s:I, s:f}", "device", p->host, "nodes",
                                               (json_int_t)(r->n - on), "us", host_us));
    json_object_set_new(row, "copies", json_pack("{s:I, s:I, s:s?, s:f, s:f}", "bytes_to_card", (json_int_t)up,
                                                 "bytes_to_host", (json_int_t)down, "link",
                                                 pcie && pcie->is_text ? pcie->text : NULL, "link_gbps", link, "us",
                                                 copy_us));
    if (link <= 0)
        json_object_set_new(json_object_get(row, "copies"), "note",
                            json_string("the board file gives no PCIe link: copies not counted"));
    work_counts(r->s, r->card, false, &hc);
    if (p->table) {
        bool scaled = false;
        char eprov[600];
        loom_energy_int8_array(bd, p->table, &act, &ec, &scaled);
        loom_energy_int8_array(NULL, p->table, &hc, &eh, NULL);
        snprintf(eprov, sizeof eprov,
                 "modelled: %s per action; the card's int8 MACs, scratchpad and device-memory bytes (the cycle "
                 "model's counts, equal to the RTL's)%s, plus the host nodes' work (not scaled); dynamic energy "
                 "only, no static power, routing, clock tree or PCIe: a lower bound",
                 loom_board_name(p->table),
                 scaled ? ", on-chip energies scaled to the board's node and VCCINT" : " (not scaled)");
        energy_fields(row, bd, p->table, &ec, &eh, eprov, batch, ms);
    } else {
        energy_fields(row, bd, NULL, NULL, &eh, NULL, batch, ms);
    }
    json_object_set_new(row, "per_node", nodes);
    return row;
}

/* A GPU or CPU board: the roofline, node by node. */
static json_t *project_roofline(const loom_board *bd, const loom_session *s, const bench_projection *p, int batch,
                                json_t *notes)
{
    bool gpu = !strcmp(loom_board_kind(bd), "gpu");
    double f32 = fig(bd, "peak_fp32_tflops") * 1e12, i8 = fig(bd, "peak_int8_tops") * 1e12;
    double bw = fig(bd, "memory_bandwidth_gbps") * 1e9, launch = gpu ? GPU_LAUNCH_US : CPU_LAUNCH_US, us = 0, ms;
    loom_energy_counts c;
    loom_energy_estimate e = {0};
    json_t *row, *nodes = json_array();
    char prov[512], note[256];
    if (f32 <= 0 || bw <= 0) {
        snprintf(note, sizeof note, "%s: no peak_fp32_tflops or memory_bandwidth_gbps figure: not projected",
                 loom_board_name(bd));
        note_once(notes, note);
        json_decref(nodes);
        return NULL;
    }
    for (size_t i = 0; i < loom_session_node_count(s); i++) {
        loom_node_work w;
        double rate, t;
        if (loom_session_node_work(s, i, &w) != LOOM_OK)
            continue;
        rate = w.int8 && i8 > 0 ? i8 : f32;
        t = launch + fmax((2 * w.macs + w.elementwise) / rate, w.bytes / bw) * 1e6;
        us += t;
        json_array_append_new(nodes, node_entry(s, i, t, gpu ? "gpu" : "cpu"));
    }
    ms = us / 1e3;
    row = row_start(bd, batch);
    snprintf(prov, sizeof prov,
             "projected: roofline per node (the longer of its work at the board's peak %s rate and its bytes at "
             "its memory bandwidth, plus %.0f us per node: loom's assumption), summed; no host copies (the board "
             "file gives no link): a lower bound on latency",
             i8 > 0 ? "float32 / int8" : "float32", launch);
    row_latency(row, ms, batch, prov);
    work_counts(s, NULL, false, &c);
    if (p->table) {
        char eprov[512];
        loom_energy_int8_array(NULL, p->table, &c, &e, NULL);
        snprintf(eprov, sizeof eprov, host_energy_prov, loom_board_name(p->table));
        energy_fields(row, bd, p->table, NULL, &e, eprov, batch, ms);
    } else {
        energy_fields(row, bd, NULL, NULL, &e, NULL, batch, ms);
    }
    json_object_set_new(row, "per_node", nodes);
    return row;
}

static bool vsim_healthy(void)
{
    for (size_t i = 0; i < loom_device_count(); i++) {
        loom_device_info di;
        if (loom_device_get(i, &di) == LOOM_OK && !strcmp(di.name, "vsim"))
            return di.healthy;
    }
    return false;
}

int bench_project(const bench_setup *b, const bench_projection *p, json_t *rows, json_t *notes)
{
    card_run r;
    bool any_fpga = false, vsim = !p->use_model && vsim_healthy();
    uint64_t up = 0, down = 0;
    int rc = 0;
    loom_status st;
    for (size_t k = 0; k < p->n_boards; k++)
        any_fpga |= !strcmp(loom_board_kind(p->boards[k]), "fpga");
    if (any_fpga && !p->use_model && !vsim)
        note_once(notes, "vsim is not built or not healthy here: the FPGA boards' cycles are the analytic cycle "
                         "model's");
    if (p->n_boards == 0)
        return 0;
    if (any_fpga) {
        if ((rc = card_run_make(b, p, vsim, &r)) != 0) {
            card_run_free(&r);
            return rc;
        }
        if ((st = loom_session_cut_bytes(r.s, r.card, &up, &down)) != LOOM_OK) {
            card_run_free(&r);
            return loom_cli_fail(st);
        }
    } else {
        /* rooflines only: the shapes, no run */
        loom_session_options so = {.input_shapes = b->shapes, .input_shape_count = b->n_shapes,
                                   .devices = p->host, .infer_only = true};
        memset(&r, 0, sizeof r);
        if ((st = loom_session_create(b->model, &so, &r.s)) != LOOM_OK)
            return loom_cli_fail(st);
    }
    for (size_t k = 0; k < p->n_boards; k++) {
        const loom_board *bd = p->boards[k];
        json_t *row = !strcmp(loom_board_kind(bd), "fpga") ? project_fpga(bd, &r, p, b->batch, up, down, notes, &rc)
                                                          : project_roofline(bd, r.s, p, b->batch, notes);
        if (rc)
            break;
        if (row)
            json_array_append_new(rows, row);
    }
    card_run_free(&r);
    return rc;
}
