/* ref-loss.c - NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss
 * (ops/infer-norm.c), as the ONNX reference computes them: the loss of
 * each position is -x[n, target, d] (after a log-softmax over C for
 * SoftmaxCrossEntropyLoss), times the target's weight; targets equal to
 * ignore_index weigh 0; "mean" divides by the sum of the weights. */
#include <math.h>
#include <stdlib.h>

#include "backends/ref/ref-impl.h"

loom_status loom__ref_loss(const loom__node *n, const loom_tensor *const *in, loom_tensor *const *out)
{
    const loom__misc_params *p = &n->p.misc;
    const loom_tensor *x = in[0], *t = in[1], *w = loom__opt_in(n, in, 2);
    loom_tensor *logp = n->n_outputs > 1 ? out[1] : NULL;
    bool sce = n->op == LOOM__OP_SoftmaxCrossEntropyLoss, has_ig = p->i[1];
    int64_t N = x->dims[0], C = x->dims[1], D = loom__span(x->dims, 2, x->rank), ig = p->i[0];
    /* weights apply with a weight input, or an ignore_index (NLL: unless
     * it is -1, as the reference has it) */
    bool weighted = w || (sce ? has_ig : (!has_ig || ig != -1));
    double total = 0.0, wsum = 0.0;
    double *lp = NULL;

    if (sce) { /* log-softmax over C, kept for the second output */
        if (!(lp = malloc((size_t)(x->numel ? x->numel : 1) * sizeof *lp)))
            return loom__err(LOOM_E_NOMEM, "out of memory");
        for (int64_t b = 0; b < N; b++)
            for (int64_t d = 0; d < D; d++) {
                double mx = -INFINITY, s = 0.0;
                for (int64_t c = 0; c < C; c++)
                    mx = fmax(mx, loom__ref_get_f(x, (b * C + c) * D + d));
                for (int64_t c = 0; c < C; c++)
                    s += exp(loom__ref_get_f(x, (b * C + c) * D + d) - mx);
                for (int64_t c = 0; c < C; c++) {
                    int64_t i = (b * C + c) * D + d;
                    lp[i] = loom__ref_get_f(x, i) - mx - log(s);
                    if (logp)
                        loom__ref_set_f(logp, i, lp[i]);
                }
            }
    }
    for (int64_t b = 0; b < N; b++)
        for (int64_t d = 0; d < D; d++) {
            int64_t k = loom__ref_get_i(t, b * D + d);
            bool ignored = has_ig && k == ig;
            double loss = 0.0, wt = 1.0;
            if (!ignored) {
                if (k < 0 || k >= C) {
                    free(lp);
                    return loom__err(LOOM_E_DATA_INVALID, "%s: target %lld is not a class (0 to %lld)",
                                     loom__op_name(n->op), (long long)k, (long long)C - 1);
                }
                loss = -(sce ? lp[(b * C + k) * D + d] : loom__ref_get_f(x, (b * C + k) * D + d));
            }
            if (w)
                wt = loom__ref_get_f(w, k < 0 ? 0 : k >= C ? C - 1 : k);
            if (ignored && weighted)
                wt = 0.0;
            if (weighted)
                loss *= wt;
            if (p->mode == 0)
                loom__ref_set_f(out[0], b * D + d, loss);
            total += loss;
            wsum += weighted ? wt : 1.0;
        }
    free(lp);
    if (p->mode == 1)
        loom__ref_set_f(out[0], 0, total);
    else if (p->mode == 2)
        loom__ref_set_f(out[0], 0, total / wsum);
    return LOOM_OK;
}
