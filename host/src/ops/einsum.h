/* einsum.h - Einsum's equation, parsed once for shape inference and once
 * per run by the kernel: every operand's dims as label codes (letters
 * 0-51, the dims an ellipsis stands for 52 and up, right-aligned). */
#ifndef LOOM_EINSUM_H
#define LOOM_EINSUM_H

#include <stdbool.h>
#include <stdint.h>

#include "loom/loom.h"

#define LOOM__EINSUM_MAX_IN 8
#define LOOM__EINSUM_CODES (52 + LOOM_MAX_RANK)

typedef struct {
    int n_in;
    int rank[LOOM__EINSUM_MAX_IN], out_rank;
    int code[LOOM__EINSUM_MAX_IN][LOOM_MAX_RANK], out_code[LOOM_MAX_RANK];
    int64_t size[LOOM__EINSUM_CODES]; /* -1 for a label not used */
} loom__einsum;

/* Parse eq for inputs of the given ranks and dims; false with a reason in
 * why (static text) when the equation is malformed or the dims disagree. */
bool loom__einsum_parse(const char *eq, int n_in, const int *ranks, const int64_t *const *dims, loom__einsum *e,
                        const char **why);

#endif /* LOOM_EINSUM_H */
