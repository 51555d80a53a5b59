/* quant.h - what the quantisation files share. */
#ifndef LOOM_QUANT_H
#define LOOM_QUANT_H

#include "ir/ir.h"

/* Batches for g's single input: float32, its rank, its fixed dims (a
 * fixed batch size: any whole number of batches), every value finite, not
 * empty; errors name the batch ("calibration batch 2 ...", what). */
loom_status loom__quant_check_batches(const loom__graph *g, const loom_tensor *const *in, size_t n,
                                      const char *what);

/* The batches in[0..n) cut to g's first input's fixed batch size (a
 * batch of 2N rows for an input of batch 2 becomes N batches); copies,
 * freed with loom__quant_batches_free. A symbolic batch keeps them whole.
 * The rows must already be a whole number of batches. */
loom_status loom__quant_batches(const loom__graph *g, const loom_tensor *const *in, size_t n,
                                loom_tensor ***out, size_t *n_out);
void loom__quant_batches_free(loom_tensor **t, size_t n);

/* A session kept across batches of one shape: planned once per shape,
 * not once per batch. Zero-initialise; free with loom__quant_runner_free. */
typedef struct {
    loom_session *s;
    int rank;
    int64_t dims[LOOM_MAX_RANK];
} loom__quant_runner;

/* Run m on x (its single input) on device with every tensor kept
 * (keep_values, unfused); r->s then holds the values. */
loom_status loom__quant_run(loom__quant_runner *r, const loom_model *m, const loom_tensor *x,
                            const char *device);
void loom__quant_runner_free(loom__quant_runner *r);

#endif
