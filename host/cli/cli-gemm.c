/* cli-gemm.c - random int8 GEMM operands for the commands that simulate
 * the array (loom sim gemm, loom dse). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static uint64_t rng_next(uint64_t *s)
{
    /* xorshift64* */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

void loom_cli_gemm_free(loom_cli_gemm_data *d)
{
    free(d->A), free(d->B), free(d->C), free(d->R);
    free(d->bias), free(d->mult), free(d->shift);
}

/* Random operands whose results spread over the int8 range: the
 * requantisation scale maps about one standard deviation of the
 * accumulator to 40, varied per column. */
loom_status loom_cli_gemm_make(loom_cli_gemm_data *d, uint64_t seed)
{
    uint64_t s = seed * 0x9e3779b97f4a7c15ULL + 1;
    size_t M = (size_t)d->M, N = (size_t)d->N, K = (size_t)d->K;
    double sd = 5461.0 * sqrt((double)(K ? K : 1));
    d->A = malloc(M * K + 1), d->B = malloc(K * N + 1);
    d->C = malloc(M * N + 1), d->R = malloc(M * N + 1);
    d->bias = malloc(4 * N + 4), d->mult = malloc(4 * N + 4), d->shift = malloc(4 * N + 4);
    if (!d->A || !d->B || !d->C || !d->R || !d->bias || !d->mult || !d->shift)
        return LOOM_E_NOMEM;
    for (size_t i = 0; i < M * K; i++)
        d->A[i] = (int8_t)rng_next(&s);
    for (size_t i = 0; i < K * N; i++)
        d->B[i] = (int8_t)rng_next(&s);
    for (size_t n = 0; n < N; n++) {
        double scale = 40.0 / sd * (0.75 + 0.5 * (double)(rng_next(&s) >> 11) / 9007199254740992.0);
        loom_status st = loom_requant_from_scale(scale, &d->mult[n], &d->shift[n]);
        if (st)
            return st;
        d->bias[n] = (int32_t)((double)((int64_t)(rng_next(&s) % 2001) - 1000) / 1000.0 * sd);
    }
    for (int i = 0; i < 256; i++)
        d->lut[i] = (int8_t)rng_next(&s);
    memset(d->C, 0, M * N + 1);
    return LOOM_OK;
}

