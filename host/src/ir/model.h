/* model.h - what import hands to the later stages: the declared graph
 * and the model's metadata. Immutable once loaded. */
#ifndef LOOM_MODEL_H
#define LOOM_MODEL_H

#include "ir/ir.h"

typedef struct {
    char *op_type;
    size_t count;
} loom__op_use;

struct loom_model {
    loom__graph *graph;
    int64_t ir_version;
    char *producer, *producer_version;
    size_t param_count;
    uint64_t param_elements, param_bytes;
    loom__op_use *op_uses;
    size_t n_op_uses;
};

/* Fill a public loom_value_info from a value of the model's graph. */
void loom__value_info(const loom__value *v, loom_value_info *out);

/* A model around graph g (taken over, also on failure), for running a
 * graph a library module built (quantisation's calibration). */
loom_status loom__model_from_graph(loom__graph *g, loom_model **out);

#endif /* LOOM_MODEL_H */
