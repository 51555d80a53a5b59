/* kctl.c - the kernel control layer; see kctl.h. */
#include <stdlib.h>
#include <string.h>

#include "backends/kctl/kctl.h"
#include "core/core-impl.h"
#include "loom-array-config.h"

#define ALIGN 64u

typedef struct {
    uint64_t a, bt, bias, mult, shift, c, lut, end;
} layout;

static uint64_t up(uint64_t v)
{
    return (v + ALIGN - 1) / ALIGN * ALIGN;
}

static void plan(const loom_gemm_i8_args *g, uint64_t base, layout *l)
{
    uint64_t M = (uint64_t)g->M, N = (uint64_t)g->N, K = (uint64_t)g->K;
    /* A keeps its row stride; the last row needs only K bytes */
    uint64_t a_bytes = M ? (M - 1) * (uint64_t)g->lda + K : 0;
    uint64_t c_bytes = M ? (M - 1) * (uint64_t)g->ldc + N : 0;
    l->a = up(base);
    l->bt = up(l->a + a_bytes);
    l->bias = up(l->bt + N * K);
    l->mult = up(l->bias + 4 * N);
    l->shift = up(l->mult + 4 * N);
    l->lut = up(l->shift + 4 * N);
    l->c = up(l->lut + 256);
    l->end = l->c + c_bytes;
}

uint64_t loom__kctl_gemm_i8_bytes(const loom_gemm_i8_args *g)
{
    layout l;
    plan(g, 0, &l);
    return l.end;
}

static loom_status reg64(const loom__kctl *k, uint32_t off, uint64_t v)
{
    loom_status st = k->reg_write(k->ctx, off, (uint32_t)v);
    return st ? st : k->reg_write(k->ctx, off + 4, (uint32_t)(v >> 32));
}

loom_status loom__kctl_gemm_i8(const loom__kctl *k, const loom_gemm_i8_args *g, uint64_t *cycles)
{
    layout l;
    loom_status st = LOOM_OK;
    int8_t *bt = NULL;
    int32_t *zero = NULL;
    uint8_t *cbuf = NULL;
    const int64_t M = g->M, N = g->N, K = g->K;
    uint32_t lo = 0, hi = 0;

    if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX || g->lda > UINT32_MAX ||
        g->ldc > UINT32_MAX)
        return loom__err(LOOM_E_INVALID_ARG,
                         "%s: GEMM M=%lld N=%lld K=%lld does not fit the kernel's 32-bit registers",
                         k->name, (long long)M, (long long)N, (long long)K);
    plan(g, k->mem_base, &l);
    if (l.end > k->mem_base + k->mem_size)
        return loom__err(LOOM_E_LIMIT, "%s: GEMM M=%lld N=%lld K=%lld needs %llu bytes of device memory, "
                         "the device has %llu", k->name, (long long)M, (long long)N, (long long)K,
                         (unsigned long long)(l.end - k->mem_base), (unsigned long long)k->mem_size);
    if (M == 0 || N == 0) /* nothing to compute; the kernel would finish at once */
        return cycles ? (*cycles = 0, LOOM_OK) : LOOM_OK;

    /* weights go in transposed, Bt[N][K]: both operands load as rows of K */
    bt = malloc((size_t)(N * K) + 1);
    zero = g->bias ? NULL : calloc((size_t)N, sizeof *zero);
    if (!bt || (!g->bias && !zero)) {
        st = loom__err(LOOM_E_NOMEM, "%s: out of memory packing a %lldx%lld weight", k->name,
                       (long long)K, (long long)N);
        goto out;
    }
    for (int64_t kk = 0; kk < K; kk++)
        for (int64_t n = 0; n < N; n++)
            bt[n * K + kk] = g->B[kk * g->ldb + n];

    if ((st = k->mem_write(k->ctx, l.a, g->A, (size_t)((M - 1) * g->lda + K))) ||
        (st = k->mem_write(k->ctx, l.bt, bt, (size_t)(N * K))) ||
        (st = k->mem_write(k->ctx, l.bias, g->bias ? g->bias : zero, (size_t)(4 * N))) ||
        (st = k->mem_write(k->ctx, l.mult, g->mult, (size_t)(4 * N))) ||
        (st = k->mem_write(k->ctx, l.shift, g->shift, (size_t)(4 * N))) ||
        (g->act == LOOM_ACT_LUT && (st = k->mem_write(k->ctx, l.lut, g->lut, 256))))
        goto out;

    /* the arguments, in kernel ABI order */
    if ((st = k->reg_write(k->ctx, LOOM_REG_M, (uint32_t)M)) ||
        (st = k->reg_write(k->ctx, LOOM_REG_N, (uint32_t)N)) ||
        (st = k->reg_write(k->ctx, LOOM_REG_K, (uint32_t)K)) || (st = reg64(k, LOOM_REG_A, l.a)) ||
        (st = k->reg_write(k->ctx, LOOM_REG_LDA, (uint32_t)g->lda)) ||
        (st = reg64(k, LOOM_REG_B, l.bt)) || (st = k->reg_write(k->ctx, LOOM_REG_LDB, (uint32_t)K)) ||
        (st = reg64(k, LOOM_REG_BIAS, l.bias)) || (st = reg64(k, LOOM_REG_MULT, l.mult)) ||
        (st = reg64(k, LOOM_REG_SHIFT, l.shift)) || (st = reg64(k, LOOM_REG_C, l.c)) ||
        (st = k->reg_write(k->ctx, LOOM_REG_LDC, (uint32_t)g->ldc)) ||
        (st = k->reg_write(k->ctx, LOOM_REG_ACT, (uint32_t)g->act)) ||
        (st = reg64(k, LOOM_REG_LUT, l.lut)))
        goto out;
    if ((st = k->run(k->ctx)))
        goto out;
    if (cycles) {
        if ((st = k->reg_read(k->ctx, LOOM_REG_CYCLES, &lo)) ||
            (st = k->reg_read(k->ctx, LOOM_REG_CYCLES + 4, &hi)))
            goto out;
        *cycles = (uint64_t)hi << 32 | lo;
    }
    /* C comes back row by row (ldc may leave gaps we must not overwrite) */
    cbuf = malloc((size_t)(l.end - l.c) + 1);
    if (!cbuf) {
        st = loom__err(LOOM_E_NOMEM, "%s: out of memory reading C back", k->name);
        goto out;
    }
    if ((st = k->mem_read(k->ctx, l.c, cbuf, (size_t)(l.end - l.c))))
        goto out;
    for (int64_t m = 0; m < M; m++)
        memcpy(g->C + m * g->ldc, cbuf + m * g->ldc, (size_t)N);
out:
    free(bt);
    free(zero);
    free(cbuf);
    return st;
}
