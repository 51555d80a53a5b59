/* kctl.c - the kernel control layer; see kctl.h. */
#include <stdlib.h>
#include <string.h>

#include "backends/kctl/kctl.h"
#include "core/core-impl.h"
#include "loom-array-config.h"

#define ALIGN 64u

/* Buffer sizes: A keeps its row stride (the last row needs only K
 * bytes), C its (read back row by row). */
static void sizes(const loom_gemm_i8_args *g, uint64_t n[LOOM__KARG_COUNT])
{
    uint64_t M = (uint64_t)g->M, N = (uint64_t)g->N, K = (uint64_t)g->K;
    memset(n, 0, sizeof(uint64_t) * LOOM__KARG_COUNT);
    n[LOOM__KARG_A] = M ? (M - 1) * (uint64_t)g->lda + K : 0;
    n[LOOM__KARG_B] = N * K;
    n[LOOM__KARG_BIAS] = n[LOOM__KARG_MULT] = n[LOOM__KARG_SHIFT] = 4 * N;
    n[LOOM__KARG_LUT] = 256;
    n[LOOM__KARG_C] = M ? (M - 1) * (uint64_t)g->ldc + N : 0;
}

static const int buffer_args[] = {LOOM__KARG_A,     LOOM__KARG_B, LOOM__KARG_BIAS, LOOM__KARG_MULT,
                                  LOOM__KARG_SHIFT, LOOM__KARG_C, LOOM__KARG_LUT};

/* Device addresses for every buffer argument: the device's allocator, or
 * consecutive 64-byte aligned pieces of [mem_base, mem_base + mem_size). */
static loom_status place(const loom__kctl *k, const uint64_t n[LOOM__KARG_COUNT],
                         uint64_t addr[LOOM__KARG_COUNT])
{
    uint64_t at = k->mem_base;
    for (size_t i = 0; i < sizeof buffer_args / sizeof buffer_args[0]; i++) {
        int arg = buffer_args[i];
        uint64_t bytes = n[arg] ? n[arg] : 1;
        if (k->alloc) {
            loom_status st = k->alloc(k->ctx, arg, (size_t)bytes, &addr[arg]);
            if (st)
                return st;
            continue;
        }
        at = (at + ALIGN - 1) / ALIGN * ALIGN;
        if (at + bytes > k->mem_base + k->mem_size)
            return loom__err(LOOM_E_LIMIT, "%s: the GEMM needs more than the device's %llu bytes of memory",
                             k->name, (unsigned long long)k->mem_size);
        addr[arg] = at;
        at += bytes;
    }
    return LOOM_OK;
}

uint64_t loom__kctl_gemm_i8_bytes(const loom_gemm_i8_args *g)
{
    uint64_t n[LOOM__KARG_COUNT], total = 0;
    sizes(g, n);
    for (size_t i = 0; i < sizeof buffer_args / sizeof buffer_args[0]; i++)
        total += (n[buffer_args[i]] ? n[buffer_args[i]] : 1) + ALIGN - 1;
    return total;
}

int8_t *loom__kctl_pack_bt(const loom_gemm_i8_args *g)
{
    int8_t *bt = malloc((size_t)(g->N * g->K) + 1);
    if (bt)
        for (int64_t k = 0; k < g->K; k++)
            for (int64_t n = 0; n < g->N; n++)
                bt[n * g->K + k] = g->B[k * g->ldb + n];
    return bt;
}

static loom_status reg64(void *ctx, loom_status (*wr)(void *, uint32_t, uint32_t), uint32_t off,
                         uint64_t v)
{
    loom_status st = wr(ctx, off, (uint32_t)v);
    return st ? st : wr(ctx, off + 4, (uint32_t)(v >> 32));
}

loom_status loom__kctl_write_regs(void *ctx, loom_status (*wr)(void *, uint32_t, uint32_t),
                                  const loom__kctl_args *a)
{
    loom_status st;
    if ((st = wr(ctx, LOOM_REG_M, a->M)) || (st = wr(ctx, LOOM_REG_N, a->N)) ||
        (st = wr(ctx, LOOM_REG_K, a->K)) || (st = reg64(ctx, wr, LOOM_REG_A, a->a)) ||
        (st = wr(ctx, LOOM_REG_LDA, a->lda)) || (st = reg64(ctx, wr, LOOM_REG_B, a->b)) ||
        (st = wr(ctx, LOOM_REG_LDB, a->ldb)) || (st = reg64(ctx, wr, LOOM_REG_BIAS, a->bias)) ||
        (st = reg64(ctx, wr, LOOM_REG_MULT, a->mult)) || (st = reg64(ctx, wr, LOOM_REG_SHIFT, a->shift)) ||
        (st = reg64(ctx, wr, LOOM_REG_C, a->c)) || (st = wr(ctx, LOOM_REG_LDC, a->ldc)) ||
        (st = wr(ctx, LOOM_REG_ACT, a->act)) || (st = reg64(ctx, wr, LOOM_REG_LUT, a->lut)))
        return st;
    return LOOM_OK;
}

loom_status loom__kctl_gemm_i8(const loom__kctl *k, const loom_gemm_i8_args *g, uint64_t *cycles)
{
    uint64_t n[LOOM__KARG_COUNT], addr[LOOM__KARG_COUNT] = {0};
    loom__kctl_args args;
    loom_status st = LOOM_OK;
    int8_t *bt = NULL;
    int32_t *zero = NULL;
    uint8_t *cbuf = NULL;
    const int64_t M = g->M, N = g->N, K = g->K;
    uint64_t cyc = 0;

    if (cycles)
        *cycles = 0;
    if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX || g->lda > UINT32_MAX ||
        g->ldc > UINT32_MAX)
        return loom__err(LOOM_E_INVALID_ARG,
                         "%s: GEMM M=%lld N=%lld K=%lld does not fit the kernel's 32-bit registers",
                         k->name, (long long)M, (long long)N, (long long)K);
    if (M == 0 || N == 0) /* nothing to compute */
        return LOOM_OK;
    sizes(g, n);
    if ((st = place(k, n, addr)))
        return st;

    /* weights go in transposed, Bt[N][K]: both operands load as rows of K */
    bt = loom__kctl_pack_bt(g);
    zero = g->bias ? NULL : calloc((size_t)N, sizeof *zero);
    if (!bt || (!g->bias && !zero)) {
        st = loom__err(LOOM_E_NOMEM, "%s: out of memory packing a %lldx%lld weight", k->name,
                       (long long)K, (long long)N);
        goto out;
    }

    if ((st = k->mem_write(k->ctx, addr[LOOM__KARG_A], g->A, (size_t)n[LOOM__KARG_A])) ||
        (st = k->mem_write(k->ctx, addr[LOOM__KARG_B], bt, (size_t)n[LOOM__KARG_B])) ||
        (st = k->mem_write(k->ctx, addr[LOOM__KARG_BIAS], g->bias ? g->bias : zero, (size_t)(4 * N))) ||
        (st = k->mem_write(k->ctx, addr[LOOM__KARG_MULT], g->mult, (size_t)(4 * N))) ||
        (st = k->mem_write(k->ctx, addr[LOOM__KARG_SHIFT], g->shift, (size_t)(4 * N))) ||
        (g->act == LOOM_ACT_LUT && (st = k->mem_write(k->ctx, addr[LOOM__KARG_LUT], g->lut, 256))))
        goto out;

    args = (loom__kctl_args){.M = (uint32_t)M, .N = (uint32_t)N, .K = (uint32_t)K,
                             .a = addr[LOOM__KARG_A], .lda = (uint32_t)g->lda,
                             .b = addr[LOOM__KARG_B], .ldb = (uint32_t)K,
                             .bias = addr[LOOM__KARG_BIAS], .mult = addr[LOOM__KARG_MULT],
                             .shift = addr[LOOM__KARG_SHIFT], .c = addr[LOOM__KARG_C],
                             .ldc = (uint32_t)g->ldc, .act = (uint32_t)g->act,
                             .lut = addr[LOOM__KARG_LUT]};
    if ((st = k->run(k->ctx, &args, &cyc)))
        goto out;
    if (cycles)
        *cycles = cyc;
    /* C comes back row by row (ldc may leave gaps we must not overwrite) */
    cbuf = malloc((size_t)n[LOOM__KARG_C] + 1);
    if (!cbuf) {
        st = loom__err(LOOM_E_NOMEM, "%s: out of memory reading C back", k->name);
        goto out;
    }
    if ((st = k->mem_read(k->ctx, addr[LOOM__KARG_C], cbuf, (size_t)n[LOOM__KARG_C])))
        goto out;
    for (int64_t m = 0; m < M; m++)
        memcpy(g->C + m * g->ldc, cbuf + m * g->ldc, (size_t)N);
out:
    free(bt);
    free(zero);
    free(cbuf);
    return st;
}
