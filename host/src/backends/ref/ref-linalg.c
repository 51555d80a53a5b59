/* ref-linalg.c - Gemm and (batched, broadcasting) MatMul in fp32 with
 * double accumulation: the slow, exact-as-practical oracle. */
#include <string.h>

#include "backends/ref/ref-impl.h"
#include "ops/ops.h"

/* C[M,N] = alpha * op(A)[M,K] op(B)[K,N] (+ whatever C holds times beta).
 * Element (i,k) of op(A) is A[i*sa_i + k*sa_k]; likewise for B. */
typedef struct {
    int64_t M, N, K;
    const float *A;
    int64_t sa_i, sa_k;
    const float *B;
    int64_t sb_k, sb_j;
    float *C;
    float alpha;
} sgemm_args;

static void sgemm(const sgemm_args *g)
{
    for (int64_t i = 0; i < g->M; i++)
        for (int64_t j = 0; j < g->N; j++) {
            double acc = 0.0;
            for (int64_t k = 0; k < g->K; k++)
                acc += (double)g->A[i * g->sa_i + k * g->sa_k] * (double)g->B[k * g->sb_k + j * g->sb_j];
            g->C[i * g->N + j] = (float)(g->alpha * acc) + g->C[i * g->N + j];
        }
}

loom_status loom__ref_gemm(const loom__node *n, const loom_tensor *const *in,
                           loom_tensor *const *out)
{
    const loom__gemm_params *p = &n->p.gemm;
    const loom_tensor *a = in[0], *b = in[1], *c = loom__opt_in(n, in, 2);
    loom_tensor *y = out[0];
    int64_t M = y->dims[0], N = y->dims[1];
    sgemm_args g = {
        .M = M, .N = N, .K = p->trans_a ? a->dims[0] : a->dims[1],
        .A = a->data, .sa_i = p->trans_a ? 1 : a->dims[1], .sa_k = p->trans_a ? a->dims[1] : 1,
        .B = b->data, .sb_k = p->trans_b ? 1 : b->dims[1], .sb_j = p->trans_b ? b->dims[1] : 1,
        .C = y->data, .alpha = p->alpha,
    };
    float *Y = y->data;

    /* Y starts as beta * C broadcast to [M, N] */
    if (c && p->beta != 0.0f) {
        const float *C = c->data;
        int64_t si = (c->rank == 2 && c->dims[0] != 1) ? c->dims[1] : 0;
        int64_t sj = (c->rank >= 1 && c->dims[c->rank - 1] != 1) ? 1 : 0;
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++)
                Y[i * N + j] = p->beta * C[i * si + j * sj];
    } else {
        memset(Y, 0, y->nbytes);
    }
    sgemm(&g);
    loom__ref_act(Y, y->numel, n);
    return LOOM_OK;
}

loom_status loom__ref_matmul(const loom__node *n, const loom_tensor *const *in,
                             loom_tensor *const *out)
{
    const loom_tensor *a = in[0], *b = in[1];
    loom_tensor *y = out[0];
    loom__matmul_shape ms;

    loom__matmul_shape_of(a->rank, a->dims, b->rank, b->dims, &ms);
    memset(y->data, 0, y->nbytes);
    for (int64_t t = 0; t < ms.batches; t++) {
        int64_t ia, ib;
        loom__matmul_batch(&ms, t, &ia, &ib);
        sgemm(&(sgemm_args){
            .M = ms.M, .N = ms.N, .K = ms.K,
            .A = (const float *)a->data + ia * ms.M * ms.K, .sa_i = ms.K, .sa_k = 1,
            .B = (const float *)b->data + ib * ms.K * ms.N, .sb_k = ms.N, .sb_j = 1,
            .C = (float *)y->data + t * ms.M * ms.N, .alpha = 1.0f,
        });
    }
    if (n->n_inputs > 2 && in[2]) {
        /* a bias the fuse pass took from an Add: added as the Add did */
        const float *c = in[2]->data;
        float *Y = y->data;
        for (int64_t i = 0; i < y->numel; i++)
            Y[i] += c[i % ms.N];
    }
    loom__ref_act(y->data, y->numel, n);
    return LOOM_OK;
}
