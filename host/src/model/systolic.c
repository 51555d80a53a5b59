/* systolic.c - the analytic cycle model; see systolic.h.
 *
 * It mirrors rtl/loom_core.sv stage by stage, each as "the earliest cycle
 * at which this can happen" given what it waits for (cycle 1 is the first
 * cycle after ap_start is taken):
 *
 *  read request i    q_i = max(q_{i-1} + 1, r_{i-MAX_READS} + 1)
 *  read response i   r_i = max(q_i + latency, r_{i-1} + 1, port rate,
 *                              target free: its scratchpad buffer released
 *                              by the feeder (block b-2), its parameter
 *                              slot freed by the drain (tile t-SLOTS))
 *  feed block b      starts after its last beat, the previous block, and
 *                    (a tile's first block) an output credit; the tile's
 *                    last term waits GAP = max(ROWS, COLS) cycles after the
 *                    previous tile's
 *  drain tile        row r read COLS + 1 + r cycles after the last term,
 *                    written 4 cycles later (3 requantise stages and the
 *                    queue), at the write port's rate; done one cycle
 *                    after the last write is acknowledged and the drain
 *                    and requantiser are empty.
 *
 * The memory ports are modelled as the harness plays them (sim/): a
 * latency and a rate in bytes per cycle, with a bucket of one cycle's
 * bytes that may go into debt for a beat larger than the rate. */
#include <stdlib.h>

#include "loom-array-config.h"
#include "model/systolic.h"

void loom__systolic_cfg_default(loom__systolic_cfg *c)
{
    c->rows = LOOM_ARRAY_ROWS;
    c->cols = LOOM_ARRAY_COLS;
    c->k_tile = LOOM_ARRAY_K_TILE;
    c->port_bytes = LOOM_ARRAY_PORT_BYTES;
    c->max_reads = LOOM_ARRAY_MAX_READS;
    c->credits = LOOM_ARRAY_TILE_CREDITS;
    c->rd_bytes_per_cycle = (double)LOOM_ARRAY_MEM_READ_BYTES_PER_CYCLE;
    c->wr_bytes_per_cycle = (double)LOOM_ARRAY_MEM_WRITE_BYTES_PER_CYCLE;
    c->rd_latency = (uint32_t)LOOM_ARRAY_MEM_READ_LATENCY;
    c->wr_latency = (uint32_t)LOOM_ARRAY_MEM_WRITE_LATENCY;
}

/* A memory port's rate limit: tokens at the start of a cycle must be
 * positive for a transfer; a transfer of len bytes takes len, each cycle
 * adds rate, capped at rate. */
typedef struct {
    double rate;
    double tok;   /* tokens at the start of cycle `at` */
    int64_t at;
} port;

static int64_t port_earliest(const port *p, int64_t c)
{
    /* tokens grow by rate per cycle after `at`, capped */
    if (c < p->at)
        c = p->at;
    if (p->tok > 0)
        return c;
    {
        int64_t need = (int64_t)(-p->tok / p->rate) + 1; /* cycles until positive */
        return c > p->at + need ? c : p->at + need;
    }
}

static void port_take(port *p, int64_t c, double len)
{
    double t = p->tok + p->rate * (double)(c - p->at);
    if (t > p->rate)
        t = p->rate;
    t -= len;
    t += p->rate;
    p->tok = t > p->rate ? p->rate : t;
    p->at = c + 1;
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

typedef struct {
    const loom__systolic_cfg *c;
    int64_t *cons;       /* ring: consumption cycle of the last max_reads beats */
    int64_t nbeats, bytes;
    int64_t q_prev, r_prev;
    port rd, wr;
} reads;

/* One read beat of len bytes whose target is free from cycle `free_at`. */
static void read_beat(reads *s, int64_t len, int64_t free_at)
{
    const loom__systolic_cfg *c = s->c;
    int64_t q = s->q_prev + 1, r;
    if (s->nbeats >= c->max_reads)
        q = max64(q, s->cons[s->nbeats % c->max_reads] + 1);
    r = max64(q + (int64_t)c->rd_latency, s->r_prev + 1);
    r = max64(r, free_at);
    r = port_earliest(&s->rd, r);
    port_take(&s->rd, r, (double)len);
    s->cons[s->nbeats % c->max_reads] = r;
    s->nbeats++;
    s->bytes += len;
    s->q_prev = q;
    s->r_prev = r;
}

/* A segment of len bytes in beats of at most port_bytes. */
static void read_segment(reads *s, int64_t len, int64_t free_at)
{
    while (len > 0) {
        int64_t b = min64(len, s->c->port_bytes);
        read_beat(s, b, free_at);
        len -= b;
    }
}

uint64_t loom__systolic_cycles(const loom__systolic_cfg *c, int64_t M, int64_t N, int64_t K,
                               bool lut)
{
    return loom__systolic_run(c, M, N, K, lut, NULL);
}

uint64_t loom__systolic_run(const loom__systolic_cfg *c, int64_t M, int64_t N, int64_t K, bool lut,
                            loom__systolic_activity *act)
{
    const int64_t R = c->rows, C = c->cols, KT = c->k_tile;
    const int64_t gap = R > C ? R : C;
    const int nslot = c->credits;
    int64_t ntiles, t = 0, b = 0;
    int64_t rel[2] = {0, 0};   /* buffer free from (release + 1) */
    int64_t *slot_free, *credit_back, e_prev = 0, tl_prev = -((int64_t)1 << 40);
    int64_t w_prev = 0, ack_last = 0, drained = 0;
    reads s = {0};
    uint64_t out;
    loom__systolic_activity a = {0};

    if (act)
        *act = a;
    if (M <= 0 || N <= 0)
        return 1;
    ntiles = ((M + R - 1) / R) * ((N + C - 1) / C);
    s.c = c;
    s.cons = calloc((size_t)c->max_reads, sizeof *s.cons);
    slot_free = calloc((size_t)nslot, sizeof *slot_free);
    credit_back = calloc((size_t)c->credits, sizeof *credit_back);
    if (!s.cons || !slot_free || !credit_back) {
        free(s.cons);
        free(slot_free);
        free(credit_back);
        return 0;
    }
    s.rd.rate = c->rd_bytes_per_cycle;
    s.rd.tok = c->rd_bytes_per_cycle;
    s.rd.at = 1;
    s.wr.rate = c->wr_bytes_per_cycle;
    s.wr.tok = c->wr_bytes_per_cycle;
    s.wr.at = 1;

    if (lut)
        read_segment(&s, 256, 0);
    for (int64_t n0 = 0; n0 < N; n0 += C)
        for (int64_t m0 = 0; m0 < M; m0 += R, t++) {
            int64_t mrows = min64(R, M - m0), ncols = min64(C, N - n0);
            int64_t k0 = 0;
            do {
                int64_t kc = min64(KT, K - k0), nel, f, e;
                bool first = k0 == 0, last = k0 + KT >= K;
                int64_t buf_free = rel[b % 2] + 1;
                /* read side */
                if (first) {
                    int64_t pf = t >= nslot ? slot_free[t % nslot] : 0;
                    if (kc == 0) /* a K = 0 block's parameter beats also wait for its buffer */
                        pf = max64(pf, buf_free);
                    for (int p = 0; p < 3; p++)
                        read_segment(&s, 4 * ncols, pf);
                }
                for (int64_t i = 0; i < mrows + ncols; i++)
                    read_segment(&s, kc, buf_free);
                a.spad_bytes_written += (uint64_t)((mrows + ncols) * kc);
                /* feeder */
                nel = kc > 0 ? kc : 1;
                a.spad_bytes_read += (uint64_t)((R + C) * nel);
                a.mac_slots += (uint64_t)(R * C * nel);
                f = max64(s.r_prev + 1, e_prev + 1);
                if (first && t >= c->credits)
                    f = max64(f, credit_back[t % c->credits] + 1);
                e = f + nel - 1;
                if (last)
                    e = max64(e, tl_prev + gap);
                rel[b % 2] = e;
                e_prev = e;
                b++;
                k0 += KT;
                /* drain, requantise, write */
                if (last) {
                    int64_t r0 = e + 1 + C;
                    tl_prev = e;
                    slot_free[t % nslot] = r0 + R - 1 + 2;
                    /* the drain reads all ROWS rows, even past M, and the
                     * requantiser's stages then empty */
                    drained = r0 + R + 2;
                    for (int64_t r = 0; r < mrows; r++) {
                        int64_t w = max64(r0 + r + 4, w_prev + 1);
                        w = port_earliest(&s.wr, w);
                        port_take(&s.wr, w, (double)ncols);
                        a.bytes_written += (uint64_t)ncols;
                        w_prev = w;
                        ack_last = w + (int64_t)c->wr_latency;
                    }
                    credit_back[t % c->credits] = w_prev;
                }
            } while (k0 < K);
        }
    (void)ntiles;
    out = (uint64_t)max64(ack_last + 1, drained);
    a.bytes_read = (uint64_t)s.bytes;
    if (act)
        *act = a;
    free(s.cons);
    free(slot_free);
    free(credit_back);
    return out;
}
