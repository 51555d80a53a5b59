/* cli-bench.h - the parts of loom bench: the measured rows (cmd-bench.c),
 * modelled energy and the projected boards (bench-project.c), and the
 * report page (bench-report.c). */
#ifndef LOOM_CLI_BENCH_H
#define LOOM_CLI_BENCH_H

#include <jansson.h>

#include "cli.h"

/* What every session of a bench is made with: the input shapes for one
 * batch and the inputs given (those not given get seeded random values). */
typedef struct {
    const loom_model *model;
    const loom_cli_inputs *given;
    const loom_input_shape *shapes; /* one per graph input */
    size_t n_shapes;
    int batch;                      /* the first dimension of every input */
} bench_setup;

/* A session on devices (non-strict: what they do not take runs on ref)
 * with every input set; NULL with the message printed and *rc set. */
loom_session *bench_session(const bench_setup *b, const char *devices, bool profile, int *rc);

/* Per-node mean times of a profiled session, as a JSON array of
 * {name, op, device, us}. */
json_t *bench_node_times(const loom_session *s);

/* The modelled energy of a run of s on a processor (every node's work
 * from its shapes, at the table's energies, not scaled), as loom bench's
 * energy object; mean_ms the measured latency per run. */
json_t *bench_modelled_energy(const loom_session *s, const loom_board *table, int batch, double mean_ms);

/* How the boards are projected. */
typedef struct {
    loom_board **boards;   /* FPGA, GPU and CPU boards */
    size_t n_boards;
    const loom_board *table; /* energy table, or NULL */
    const char *host;      /* device the host's part runs on */
    bool use_model;        /* the analytic cycle model, not the Verilated RTL */
} bench_projection;

/* One row per board for this batch, appended to rows; 0 or an exit code
 * (the message printed). notes gets what the reader should know. */
int bench_project(const bench_setup *b, const bench_projection *p, json_t *rows, json_t *notes);

/* A row's latency per run, ms: a measured row's median, a projection's
 * figure. */
double bench_row_ms(const json_t *r);

/* loom bench --report DIR (bench-report.c) and --csv (to stdout, or a
 * file) */
int bench_report(const json_t *root, const char *dir);
int bench_csv(const json_t *root, const char *path);

#endif
