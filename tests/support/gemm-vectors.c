/* gemm-vectors.c - see gemm-vectors.h. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gemm-vectors.h"

const int gemm_shapes[][6] = {
    {1, 1, 1, 0, 0, 1},      {1, 1, 1, 2, 3, 0},     {1, 37, 5, 1, 0, 1},    {37, 1, 5, 2, 0, 1},
    {5, 5, 1, 0, 1, 1},      {16, 16, 16, 1, 0, 1},  {8, 8, 8, 2, 0, 1},     {9, 9, 9, 0, 0, 0},
    {17, 15, 33, 1, 5, 1},   {3, 50, 70, 2, 0, 1},   {50, 3, 70, 0, 2, 1},   {24, 40, 7, 1, 0, 1},
    {7, 7, 600, 0, 0, 1},    {2, 20, 1000, 1, 0, 1}, {20, 2, 1000, 2, 1, 1}, {10, 11, 257, 0, 0, 1},
    {16, 16, 256, 1, 0, 1},  {16, 16, 512, 2, 0, 0}, {33, 17, 0, 1, 0, 1},   {4, 4, 0, 2, 0, 1},
    {1, 64, 64, 0, 0, 1},    {64, 1, 64, 1, 0, 1},   {31, 33, 31, 2, 7, 1},  {40, 40, 40, 0, 0, 1},
    {12, 20, 100, 1, 0, 0},  {100, 12, 30, 2, 0, 1}, {6, 6, 1500, 0, 0, 1},  {2, 2, 2, 1, 0, 1},
    {15, 17, 255, 2, 0, 1},  {18, 14, 129, 0, 4, 1}, {48, 16, 16, 1, 0, 1},  {16, 48, 16, 2, 0, 1},
    {3, 3, 300, 1, 0, 1},    {25, 9, 64, 0, 0, 1},   {9, 25, 65, 2, 0, 1},   {64, 64, 1, 1, 0, 1},
    {1, 1, 777, 2, 0, 1},    {11, 13, 17, 0, 3, 0},  {29, 31, 2, 1, 0, 1},   {32, 32, 32, 2, 0, 1},
    {5, 80, 20, 0, 0, 1},    {80, 5, 20, 1, 0, 1},   {13, 13, 390, 2, 2, 1}, {7, 30, 3, 0, 0, 1},
    {30, 7, 3, 1, 0, 1},     {19, 23, 47, 2, 0, 1},  {8, 24, 300, 0, 0, 1},  {24, 8, 300, 1, 1, 1},
    {1, 16, 1, 2, 0, 1},     {16, 1, 1, 0, 0, 1},    {21, 21, 21, 1, 0, 0},  {45, 3, 9, 2, 0, 1},
};
const int gemm_shape_count = (int)(sizeof gemm_shapes / sizeof gemm_shapes[0]);


static uint64_t rng_state;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

void gemm_case_make(gemm_case *g, int64_t M, int64_t N, int64_t K, int act, int pad, bool bias,
                      uint64_t seed)
{
    int64_t lda = K + pad, ldb = N + pad, ldc = N + pad;
    double sd = 5461.0 * sqrt((double)(K ? K : 1));
    memset(g, 0, sizeof *g);
    rng_state = seed * 0x9e3779b97f4a7c15ULL + 12345;
    g->A = malloc((size_t)(M * lda) + 1);
    g->B = malloc((size_t)(K * ldb) + 1);
    g->c_bytes = (size_t)(M * ldc);
    g->C = malloc(g->c_bytes + 2 * GEMM_GUARD);
    g->R = malloc(g->c_bytes + 1);
    g->bias = malloc((size_t)N * 4 + 4);
    g->mult = malloc((size_t)N * 4 + 4);
    g->shift = malloc((size_t)N * 4 + 4);
    cr_assert(g->A && g->B && g->C && g->R && g->bias && g->mult && g->shift);
    for (int64_t i = 0; i < M * lda; i++)
        g->A[i] = (int8_t)rnd();
    for (int64_t i = 0; i < K * ldb; i++)
        g->B[i] = (int8_t)rnd();
    for (int64_t n = 0; n < N; n++) {
        double scale = 40.0 / sd * (0.75 + 0.5 * (rnd() % 1000) / 1000.0);
        cr_assert_eq(loom_requant_from_scale(scale, &g->mult[n], &g->shift[n]), LOOM_OK);
        g->bias[n] = (int32_t)(((int)(rnd() % 2001) - 1000) / 1000.0 * sd);
    }
    for (int i = 0; i < 256; i++)
        g->lut[i] = (int8_t)rnd();
    memset(g->C, GEMM_GUARD_BYTE, g->c_bytes + 2 * GEMM_GUARD);
    memset(g->R, GEMM_GUARD_BYTE, g->c_bytes);
    g->a = (loom_gemm_i8_args){.M = M, .N = N, .K = K, .A = g->A, .lda = lda, .B = g->B, .ldb = ldb,
                               .bias = bias ? g->bias : NULL, .mult = g->mult, .shift = g->shift,
                               .C = g->R, .ldc = ldc, .act = act, .lut = g->lut};
    cr_assert_eq(loom_gemm_i8_ref(&g->a), LOOM_OK, "ref: %s", loom_last_error());
    g->a.C = g->C + GEMM_GUARD;
}

void gemm_case_free(gemm_case *g)
{
    free(g->A), free(g->B), free(g->C), free(g->R);
    free(g->bias), free(g->mult), free(g->shift);
}

/* C (gaps between rows included) equals ref's, and the guards are intact. */
void gemm_case_expect_same(const gemm_case *g, const char *what)
{
    for (int i = 0; i < GEMM_GUARD; i++) {
        cr_assert_eq((uint8_t)g->C[i], GEMM_GUARD_BYTE, "%s: wrote before C (byte %d)", what, i - GEMM_GUARD);
        cr_assert_eq((uint8_t)g->C[GEMM_GUARD + g->c_bytes + (size_t)i], GEMM_GUARD_BYTE,
                     "%s: wrote past C (byte %d)", what, i);
    }
    for (int64_t m = 0; m < g->a.M; m++)
        for (int64_t n = 0; n < g->a.ldc; n++) {
            int8_t got = g->C[GEMM_GUARD + m * g->a.ldc + n], want = g->R[m * g->a.ldc + n];
            cr_assert_eq(got, want, "%s: C[%lld][%lld] = %d, ref %d%s", what, (long long)m,
                         (long long)n, got, want, n >= g->a.N ? " (a gap between rows)" : "");
        }
}

void gemm_vectors_on_device(const char *device, uint64_t seed0)
{
    for (int i = 0; i < gemm_shape_count; i++) {
        const int *s = gemm_shapes[i];
        gemm_case g;
        char what[96];
        loom_status st;
        gemm_case_make(&g, s[0], s[1], s[2], s[3], s[4], s[5], seed0 + (uint64_t)i);
        st = loom_gemm_i8(device, &g.a);
        cr_assert_eq(st, LOOM_OK, "%s", loom_last_error());
        snprintf(what, sizeof what, "%s M=%d N=%d K=%d act=%d", device, s[0], s[1], s[2], s[3]);
        gemm_case_expect_same(&g, what);
        gemm_case_free(&g);
    }
}
