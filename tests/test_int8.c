/*
 * test_int8.c - loom_gemm_i8_ref and loom_requant_from_scale against the
 * contract in loom/kernel-abi.h:
 *
 *   acc = bias[n] + sum_k A[m,k] * B[k,n]
 *   y   = clamp(floor((acc * mult[n] + 2^(30+shift[n])) / 2^(31+shift[n])), -128, 127)
 *   out = act(y)   (none, ReLU max(y, 0), LUT lut[y + 128])
 *
 * With mult = 2^30 and shift = s the real scale is 2^-(s+1), and
 * y = floor(acc / 2^(s+1) + 1/2): round half up. The expected values below
 * are worked out by hand from this formula; the random test compares with
 * an independent int64 implementation that uses explicit floor division.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "loom/loom.h"

#define M30 (1 << 30)             /* 2^30: with shift s, scale 2^-(s+1) */
#define M29x3 (3 * (1 << 29))     /* 3 * 2^29: scale 0.75 * 2^-s */

/* One column setup shared by the small cases. */
static loom_gemm_i8_args args_of(int64_t M, int64_t N, int64_t K, const int8_t *A,
                                 const int8_t *B, const int32_t *bias, const int32_t *mult,
                                 const int32_t *shift, int8_t *C)
{
    return (loom_gemm_i8_args){.M = M, .N = N, .K = K, .A = A, .lda = K, .B = B, .ldb = N,
                               .bias = bias, .mult = mult, .shift = shift, .C = C, .ldc = N,
                               .act = LOOM_ACT_NONE, .lut = NULL};
}

static void gemm_ok(const loom_gemm_i8_args *a)
{
    loom_status st = loom_gemm_i8_ref(a);
    cr_assert_eq(st, LOOM_OK, "%s: %s", loom_status_name(st), loom_last_error());
}

static void expect_c(const int8_t *got, const int8_t *want, int n)
{
    for (int i = 0; i < n; i++)
        cr_assert_eq(got[i], want[i], "C[%d] = %d, expected %d", i, got[i], want[i]);
}

/* out for a single accumulator: a 1x1 GEMM with K = 0, so acc = bias
 * (any |acc| < 2^30). */
static int requant_via_gemm(int32_t acc, int32_t mult, int32_t shift, int act, const int8_t *lut)
{
    int8_t A = 0, B = 0, C = 99;
    loom_gemm_i8_args a = args_of(1, 1, 0, &A, &B, &acc, &mult, &shift, &C);
    a.act = act;
    a.lut = lut;
    gemm_ok(&a);
    return C;
}

/* ---------------------------------------------------------------------- */
/* Hand-computed cases                                                     */
/* ---------------------------------------------------------------------- */

Test(int8, gemm_2x3x2_scale_half)
{
    /* A = [1 2 3; 4 5 6], B = [1 -1; 2 0; 3 1]
     * A.B = [1+4+9, -1+0+3; 4+10+18, -4+0+6] = [14 2; 32 2]
     * scale 0.5 (mult 2^30, shift 0): [7 1; 16 1] (exact, no rounding) */
    const int8_t A[6] = {1, 2, 3, 4, 5, 6}, B[6] = {1, -1, 2, 0, 3, 1};
    const int32_t mult[2] = {M30, M30}, shift[2] = {0, 0};
    const int8_t want[4] = {7, 1, 16, 1};
    int8_t C[4];
    loom_gemm_i8_args a = args_of(2, 2, 3, A, B, NULL, mult, shift, C);
    gemm_ok(&a);
    expect_c(C, want, 4);
}

Test(int8, gemm_2x3x2_bias_and_ties)
{
    /* same A.B = [14 2; 32 2], bias [1 -3] -> acc [15 -1; 33 -1]
     * scale 0.5: 7.5 -> 8, -0.5 -> 0 (floor(-0.5 + 0.5)), 16.5 -> 17 */
    const int8_t A[6] = {1, 2, 3, 4, 5, 6}, B[6] = {1, -1, 2, 0, 3, 1};
    const int32_t bias[2] = {1, -3}, mult[2] = {M30, M30}, shift[2] = {0, 0};
    const int8_t want[4] = {8, 0, 17, 0};
    int8_t C[4];
    loom_gemm_i8_args a = args_of(2, 2, 3, A, B, bias, mult, shift, C);
    gemm_ok(&a);
    expect_c(C, want, 4);
}

Test(int8, round_half_up_at_exact_half)
{
    /* scale 0.5: y = floor(acc/2 + 1/2) */
    cr_assert_eq(requant_via_gemm(3, M30, 0, LOOM_ACT_NONE, NULL), 2);   /* 1.5 -> 2 */
    cr_assert_eq(requant_via_gemm(-3, M30, 0, LOOM_ACT_NONE, NULL), -1); /* -1.5 -> -1 */
    cr_assert_eq(requant_via_gemm(1, M30, 0, LOOM_ACT_NONE, NULL), 1);   /* 0.5 -> 1 */
    cr_assert_eq(requant_via_gemm(-1, M30, 0, LOOM_ACT_NONE, NULL), 0);  /* -0.5 -> 0 */
    cr_assert_eq(requant_via_gemm(5, M30, 0, LOOM_ACT_NONE, NULL), 3);   /* 2.5 -> 3 */
    cr_assert_eq(requant_via_gemm(-5, M30, 0, LOOM_ACT_NONE, NULL), -2); /* -2.5 -> -2 */
    cr_assert_eq(requant_via_gemm(0, M30, 0, LOOM_ACT_NONE, NULL), 0);
    /* scale 0.25 (shift 1): y = floor(acc/4 + 1/2) */
    cr_assert_eq(requant_via_gemm(2, M30, 1, LOOM_ACT_NONE, NULL), 1);   /* 0.5 -> 1 */
    cr_assert_eq(requant_via_gemm(-2, M30, 1, LOOM_ACT_NONE, NULL), 0);  /* -0.5 -> 0 */
    cr_assert_eq(requant_via_gemm(-6, M30, 1, LOOM_ACT_NONE, NULL), -1); /* -1.5 -> -1 */
    cr_assert_eq(requant_via_gemm(1, M30, 1, LOOM_ACT_NONE, NULL), 0);   /* 0.25 -> 0 */
    cr_assert_eq(requant_via_gemm(3, M30, 1, LOOM_ACT_NONE, NULL), 1);   /* 0.75 -> 1 */
    cr_assert_eq(requant_via_gemm(-3, M30, 1, LOOM_ACT_NONE, NULL), -1); /* -0.75 -> -1 */
    cr_assert_eq(requant_via_gemm(-1, M30, 1, LOOM_ACT_NONE, NULL), 0);  /* -0.25 -> 0 */
    /* scale 2^-32 (shift 31): acc = 2^31 would be 0.5; 2^29 is 1/8 -> 0,
     * and -(2^29) -> floor(-1/8 + 1/2) = 0 */
    cr_assert_eq(requant_via_gemm((1 << 29), M30, 31, LOOM_ACT_NONE, NULL), 0);
    cr_assert_eq(requant_via_gemm(-(1 << 29), M30, 31, LOOM_ACT_NONE, NULL), 0);
}

Test(int8, rounding_with_scale_three_quarters)
{
    /* mult 3 * 2^29, shift 0: scale 0.75
     *   acc 2 -> 1.5 -> 2;  acc -2 -> -1.5 -> -1;  acc 1 -> 0.75 -> 1;
     *   acc -1 -> -0.75 -> -1;  acc 10 -> 7.5 -> 8;  acc -10 -> -7.5 -> -7 */
    cr_assert_eq(requant_via_gemm(2, M29x3, 0, LOOM_ACT_NONE, NULL), 2);
    cr_assert_eq(requant_via_gemm(-2, M29x3, 0, LOOM_ACT_NONE, NULL), -1);
    cr_assert_eq(requant_via_gemm(1, M29x3, 0, LOOM_ACT_NONE, NULL), 1);
    cr_assert_eq(requant_via_gemm(-1, M29x3, 0, LOOM_ACT_NONE, NULL), -1);
    cr_assert_eq(requant_via_gemm(10, M29x3, 0, LOOM_ACT_NONE, NULL), 8);
    cr_assert_eq(requant_via_gemm(-10, M29x3, 0, LOOM_ACT_NONE, NULL), -7);
    /* the largest mult, 2^31 - 1 (scale 1 - 2^-31), shift 0:
     * acc 100 -> 100 - 100/2^31 -> 100;  acc -100 -> -99.99999995 -> -100 */
    cr_assert_eq(requant_via_gemm(100, 0x7fffffff, 0, LOOM_ACT_NONE, NULL), 100);
    cr_assert_eq(requant_via_gemm(-100, 0x7fffffff, 0, LOOM_ACT_NONE, NULL), -100);
}

Test(int8, saturation)
{
    /* 1x1x1: 127*127 = 16129, * 0.5 = 8064.5 -> 127;
     * -128*127 = -16256 -> -8128 -> -128;  -128*-128 = 16384 -> 127 */
    const int32_t mult = M30, shift = 0;
    int8_t A = 0, B = 0, C = 0;
    loom_gemm_i8_args a = args_of(1, 1, 1, &A, &B, NULL, &mult, &shift, &C);
    A = 127, B = 127;
    gemm_ok(&a);
    cr_assert_eq(C, 127);
    A = -128, B = 127;
    gemm_ok(&a);
    cr_assert_eq(C, -128);
    A = -128, B = -128;
    gemm_ok(&a);
    cr_assert_eq(C, 127);
    /* the edges themselves: 254 * 0.5 = 127, 255 * 0.5 = 127.5 -> 128 -> 127,
     * -256 * 0.5 = -128, -257 * 0.5 = -128.5 -> -128, -259 -> -129.5 -> -129 -> -128 */
    cr_assert_eq(requant_via_gemm(254, M30, 0, LOOM_ACT_NONE, NULL), 127);
    cr_assert_eq(requant_via_gemm(255, M30, 0, LOOM_ACT_NONE, NULL), 127);
    cr_assert_eq(requant_via_gemm(253, M30, 0, LOOM_ACT_NONE, NULL), 127); /* 126.5 -> 127 */
    cr_assert_eq(requant_via_gemm(251, M30, 0, LOOM_ACT_NONE, NULL), 126); /* 125.5 -> 126 */
    cr_assert_eq(requant_via_gemm(-256, M30, 0, LOOM_ACT_NONE, NULL), -128);
    cr_assert_eq(requant_via_gemm(-257, M30, 0, LOOM_ACT_NONE, NULL), -128);
    cr_assert_eq(requant_via_gemm(-255, M30, 0, LOOM_ACT_NONE, NULL), -127); /* -127.5 -> -127 */
    cr_assert_eq(requant_via_gemm(-259, M30, 0, LOOM_ACT_NONE, NULL), -128);
    /* far out: 2^30 - 1 and -(2^30 - 1) */
    cr_assert_eq(requant_via_gemm(M30 - 1, M30, 0, LOOM_ACT_NONE, NULL), 127);
    cr_assert_eq(requant_via_gemm(-(M30 - 1), M30, 0, LOOM_ACT_NONE, NULL), -128);
}

Test(int8, per_channel_mult_shift)
{
    /* A = [1 2 3; 4 5 6], B = [1 -1 2; 2 0 2; 3 1 2]:
     *   A.B = [14 2 12; 32 2 30]
     * column 0: scale 0.25 (2^30, 1):  3.5 -> 4,    8 -> 8
     * column 1: scale 0.75 (3*2^29, 0): 1.5 -> 2,  1.5 -> 2
     * column 2: scale 0.125 (2^30, 2):  1.5 -> 2, 3.75 -> 4 */
    const int8_t A[6] = {1, 2, 3, 4, 5, 6}, B[9] = {1, -1, 2, 2, 0, 2, 3, 1, 2};
    const int32_t mult[3] = {M30, M29x3, M30}, shift[3] = {1, 0, 2};
    const int8_t want[6] = {4, 2, 2, 8, 2, 4};
    int8_t C[6];
    loom_gemm_i8_args a = args_of(2, 3, 3, A, B, NULL, mult, shift, C);
    gemm_ok(&a);
    expect_c(C, want, 6);
}

Test(int8, per_channel_with_negative_results_and_bias)
{
    /* A = [-1 2; 3 -4] (2x2), B = [5 -6 7; 8 9 -10] (2x3)
     * A.B = [-5+16, 6+18, -7-20; 15-32, -18-36, 21+40] = [11 24 -27; -17 -54 61]
     * bias [-1 0 3] -> acc [10 24 -24; -18 -54 64]
     * col 0 scale 0.5:    5, -9
     * col 1 scale 0.75:   18, -40.5 -> -40
     * col 2 scale 0.0625 (2^30, 3): -1.5 -> -1, 4 */
    const int8_t A[4] = {-1, 2, 3, -4}, B[6] = {5, -6, 7, 8, 9, -10};
    const int32_t bias[3] = {-1, 0, 3}, mult[3] = {M30, M29x3, M30}, shift[3] = {0, 0, 3};
    const int8_t want[6] = {5, 18, -1, -9, -40, 4};
    int8_t C[6];
    loom_gemm_i8_args a = args_of(2, 3, 2, A, B, bias, mult, shift, C);
    gemm_ok(&a);
    expect_c(C, want, 6);
}

Test(int8, relu)
{
    /* same acc as above: [10 24 -24; -18 -54 64] -> [5 18 -1; -9 -40 4] -> ReLU */
    const int8_t A[4] = {-1, 2, 3, -4}, B[6] = {5, -6, 7, 8, 9, -10};
    const int32_t bias[3] = {-1, 0, 3}, mult[3] = {M30, M29x3, M30}, shift[3] = {0, 0, 3};
    const int8_t want[6] = {5, 18, 0, 0, 0, 4};
    int8_t C[6];
    loom_gemm_i8_args a = args_of(2, 3, 2, A, B, bias, mult, shift, C);
    a.act = LOOM_ACT_RELU;
    gemm_ok(&a);
    expect_c(C, want, 6);
    /* ReLU comes after saturation: -128 -> 0, 127 stays */
    cr_assert_eq(requant_via_gemm(-100000, M30, 0, LOOM_ACT_RELU, NULL), 0);
    cr_assert_eq(requant_via_gemm(100000, M30, 0, LOOM_ACT_RELU, NULL), 127);
    cr_assert_eq(requant_via_gemm(-1, M30, 0, LOOM_ACT_RELU, NULL), 0); /* -0.5 -> 0 */
    cr_assert_eq(requant_via_gemm(-3, M30, 0, LOOM_ACT_RELU, NULL), 0); /* -1 -> 0 */
}

Test(int8, lut_negates)
{
    /* lut[y + 128] = -y, with -(-128) saturated to 127 */
    int8_t lut[256];
    const int8_t A[4] = {-1, 2, 3, -4}, B[6] = {5, -6, 7, 8, 9, -10};
    const int32_t bias[3] = {-1, 0, 3}, mult[3] = {M30, M29x3, M30}, shift[3] = {0, 0, 3};
    const int8_t want[6] = {-5, -18, 1, 9, 40, -4};
    int8_t C[6];
    loom_gemm_i8_args a = args_of(2, 3, 2, A, B, bias, mult, shift, C);
    for (int y = -128; y <= 127; y++)
        lut[y + 128] = (int8_t)(y == -128 ? 127 : -y);
    a.act = LOOM_ACT_LUT;
    a.lut = lut;
    gemm_ok(&a);
    expect_c(C, want, 6);
    /* the table's ends: y = -128 reads lut[0], y = 127 reads lut[255] */
    cr_assert_eq(requant_via_gemm(-100000, M30, 0, LOOM_ACT_LUT, lut), 127);
    cr_assert_eq(requant_via_gemm(100000, M30, 0, LOOM_ACT_LUT, lut), -127);
}

Test(int8, lut_index_is_y_plus_128)
{
    /* a permutation, lut[i] = (7 i mod 256) - 128, so that reading
     * lut[y + 127] or lut[y + 129] instead would give another value */
    int8_t lut[256];
    for (int i = 0; i < 256; i++)
        lut[i] = (int8_t)((i * 7) % 256 - 128);
    for (int y = -128; y <= 127; y += 17) {
        int want = ((y + 128) * 7) % 256 - 128;
        /* acc = 2y at scale 0.5 gives exactly y */
        cr_assert_eq(requant_via_gemm(2 * y, M30, 0, LOOM_ACT_LUT, lut), want, "y = %d", y);
    }
}

Test(int8, strides_larger_than_rows)
{
    /* A 2x3 in rows of 5, B 3x2 in rows of 4, C 2x2 in rows of 3. The
     * padding of A and B holds 100s that would change the result if read;
     * the padding of C must keep its 0x55 */
    const int8_t A[10] = {1, 2, 3, 100, 100, 4, 5, 6, 100, 100};
    const int8_t B[12] = {1, -1, 100, 100, 2, 0, 100, 100, 3, 1, 100, 100};
    const int32_t bias[2] = {1, -3}, mult[2] = {M30, M30}, shift[2] = {0, 0};
    int8_t C[6];
    /* acc [15 -1; 33 -1] -> [8 0; 17 0] as in gemm_2x3x2_bias_and_ties */
    const int8_t want[6] = {8, 0, 0x55, 17, 0, 0x55};
    loom_gemm_i8_args a = args_of(2, 2, 3, A, B, bias, mult, shift, C);
    memset(C, 0x55, sizeof C);
    a.lda = 5;
    a.ldb = 4;
    a.ldc = 3;
    gemm_ok(&a);
    expect_c(C, want, 6);
}

Test(int8, sizes_of_one)
{
    /* M = N = K = 1: 7 * -9 + 2 = -61, scale 0.5 -> -30.5 -> -30 */
    const int8_t A = 7, B = -9;
    const int32_t bias = 2, mult = M30, shift = 0;
    int8_t C = 0;
    loom_gemm_i8_args a = args_of(1, 1, 1, &A, &B, &bias, &mult, &shift, &C);
    gemm_ok(&a);
    cr_assert_eq(C, -30);
}

Test(int8, m1_row_vector_and_n1_column)
{
    /* M = 1, K = 4, N = 3: [1 -1 2 -2] . B (4x3)
     * B = [1 2 3; 4 5 6; 7 8 9; 10 11 12]
     * = [1-4+14-20, 2-5+16-22, 3-6+18-24] = [-9 -9 -9]; scale 0.25 -> -2.25 -> -2 */
    const int8_t A[4] = {1, -1, 2, -2}, B[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    const int32_t mult[3] = {M30, M30, M30}, shift[3] = {1, 1, 1};
    int8_t C[3];
    const int8_t want[3] = {-2, -2, -2};
    loom_gemm_i8_args a = args_of(1, 3, 4, A, B, NULL, mult, shift, C);
    gemm_ok(&a);
    expect_c(C, want, 3);
    /* N = 1: 3x2 A times 2x1 B: A = [1 2; 3 4; -5 6], B = [3; -1]
     * = [1, 5, -21]; scale 0.5 -> 0.5 -> 1, 2.5 -> 3, -10.5 -> -10 */
    {
        const int8_t A2[6] = {1, 2, 3, 4, -5, 6}, B2[2] = {3, -1};
        int8_t C2[3];
        const int8_t want2[3] = {1, 3, -10};
        loom_gemm_i8_args b = args_of(3, 1, 2, A2, B2, NULL, mult, (const int32_t[]){0}, C2);
        gemm_ok(&b);
        expect_c(C2, want2, 3);
    }
}

Test(int8, k0_gives_requantised_bias)
{
    /* K = 0: acc = bias. bias [7 -7 0 300] at scale 0.5:
     * 3.5 -> 4, -3.5 -> -3, 0, 150 -> 127 */
    const int8_t dummy = 0;
    const int32_t bias[4] = {7, -7, 0, 300}, mult[4] = {M30, M30, M30, M30}, shift[4] = {0};
    int8_t C[8];
    const int8_t want[8] = {4, -3, 0, 127, 4, -3, 0, 127};
    loom_gemm_i8_args a = args_of(2, 4, 0, &dummy, &dummy, bias, mult, shift, C);
    memset(C, 0x55, sizeof C);
    gemm_ok(&a);
    expect_c(C, want, 8);
    /* K = 0 and no bias: all zero */
    a.bias = NULL;
    memset(C, 0x55, sizeof C);
    gemm_ok(&a);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(C[i], 0, "C[%d] = %d", i, C[i]);
}

Test(int8, empty_m_or_n_writes_nothing)
{
    const int8_t A[4] = {1, 2, 3, 4}, B[4] = {1, 2, 3, 4};
    const int32_t mult[2] = {M30, M30}, shift[2] = {0, 0};
    int8_t C[4];
    loom_gemm_i8_args a = args_of(0, 2, 2, A, B, NULL, mult, shift, C);
    memset(C, 0x55, sizeof C);
    gemm_ok(&a);
    a = args_of(2, 0, 2, A, B, NULL, mult, shift, C);
    gemm_ok(&a);
    for (int i = 0; i < 4; i++)
        cr_assert_eq((uint8_t)C[i], 0x55);
}

Test(int8, largest_k_and_bias_fit)
{
    /* K = 65536 products (-128)(-128) sum to 2^30; with bias 2^30 - 1,
     * acc = 2^31 - 1, the largest int32. At mult 2^31 - 1, shift 31:
     *   ((2^31-1)^2 + 2^61) >> 62 = (2^62 + 2^61 - 2^32 + 1) >> 62 = 1
     * K = 65536 products (-128)(127) with bias -(2^30 - 1):
     *   acc = -65536 * 16256 - 1073741823 = -2139095039, and at mult 2^30,
     *   shift 31 (scale 2^-32): floor(-0.49805 + 0.5) = 0 */
    enum { K = 65536 };
    static int8_t A[K], B[K];
    const int32_t bias_pos = M30 - 1, bias_neg = -(M30 - 1), shift = 31;
    int32_t mult = 0x7fffffff;
    int8_t C = 99;
    loom_gemm_i8_args a = args_of(1, 1, K, A, B, &bias_pos, &mult, &shift, &C);
    memset(A, -128, sizeof A);
    memset(B, -128, sizeof B);
    gemm_ok(&a);
    cr_assert_eq(C, 1);
    memset(B, 127, sizeof B);
    mult = M30;
    a.bias = &bias_neg;
    C = 99;
    gemm_ok(&a);
    cr_assert_eq(C, 0);
    /* and at scale 0.5 both saturate */
    a.shift = (const int32_t[]){0};
    gemm_ok(&a);
    cr_assert_eq(C, -128);
    memset(B, -128, sizeof B);
    a.bias = &bias_pos;
    gemm_ok(&a);
    cr_assert_eq(C, 127);
}

/* ---------------------------------------------------------------------- */
/* Argument validation                                                     */
/* ---------------------------------------------------------------------- */

static int8_t vA[6] = {1, 2, 3, 4, 5, 6}, vB[6] = {1, -1, 2, 0, 3, 1}, vC[4];
static int32_t vbias[2] = {1, -3}, vmult[2] = {M30, M30}, vshift[2] = {0, 0};
static int8_t vlut[256];

static loom_gemm_i8_args valid_args(void)
{
    return args_of(2, 2, 3, vA, vB, vbias, vmult, vshift, vC);
}

/* a must be refused with INVALID_ARG, a message holding frag, and C untouched. */
static void expect_invalid(const loom_gemm_i8_args *a, const char *frag)
{
    loom_status st;
    memset(vC, 0x55, sizeof vC);
    st = loom_gemm_i8_ref(a);
    cr_assert_eq(st, LOOM_E_INVALID_ARG, "got %s", loom_status_name(st));
    cr_assert_str_not_empty(loom_last_error());
    if (frag)
        cr_assert(strstr(loom_last_error(), frag) != NULL, "message lacks \"%s\": %s", frag,
                  loom_last_error());
    for (int i = 0; i < 4; i++)
        cr_assert_eq((uint8_t)vC[i], 0x55, "C[%d] written by a refused call", i);
}

Test(int8, valid_args_control)
{
    loom_gemm_i8_args a = valid_args();
    const int8_t want[4] = {8, 0, 17, 0};
    gemm_ok(&a);
    expect_c(vC, want, 4);
}

Test(int8, rejects_mult_out_of_range)
{
    loom_gemm_i8_args a = valid_args();
    int32_t mult[2] = {M30, M30 - 1};
    a.mult = mult;
    expect_invalid(&a, "column 1");
    mult[1] = 0;
    expect_invalid(&a, "column 1");
    mult[1] = -M30;
    expect_invalid(&a, "column 1");
    mult[1] = INT32_MIN;
    expect_invalid(&a, "column 1");
    /* 2^30 itself and 2^31 - 1 are fine */
    mult[0] = 0x7fffffff;
    mult[1] = M30;
    gemm_ok(&a);
}

Test(int8, rejects_shift_out_of_range)
{
    loom_gemm_i8_args a = valid_args();
    int32_t shift[2] = {0, 32};
    a.shift = shift;
    expect_invalid(&a, "column 1");
    shift[1] = -1;
    expect_invalid(&a, "column 1");
    shift[0] = 1000;
    shift[1] = 0;
    expect_invalid(&a, "column 0");
    shift[0] = 31;
    gemm_ok(&a);
}

Test(int8, rejects_null_pointers)
{
    loom_gemm_i8_args a;
    cr_assert_eq(loom_gemm_i8_ref(NULL), LOOM_E_INVALID_ARG);
    a = valid_args();
    a.A = NULL;
    expect_invalid(&a, "NULL");
    a = valid_args();
    a.B = NULL;
    expect_invalid(&a, "NULL");
    a = valid_args();
    a.mult = NULL;
    expect_invalid(&a, "NULL");
    a = valid_args();
    a.shift = NULL;
    expect_invalid(&a, "NULL");
    a = valid_args();
    a.C = NULL;
    cr_assert_eq(loom_gemm_i8_ref(&a), LOOM_E_INVALID_ARG);
    a = valid_args();
    a.act = LOOM_ACT_LUT;
    a.lut = NULL;
    expect_invalid(&a, "LUT");
    /* bias NULL is allowed (zero bias): acc [14 2; 32 2] -> [7 1; 16 1] */
    a = valid_args();
    a.bias = NULL;
    gemm_ok(&a);
    expect_c(vC, (const int8_t[]){7, 1, 16, 1}, 4);
}

Test(int8, rejects_unknown_activation)
{
    loom_gemm_i8_args a = valid_args();
    a.act = 3;
    a.lut = vlut;
    expect_invalid(&a, "activation 3");
    a.act = -1;
    expect_invalid(&a, "activation -1");
}

Test(int8, rejects_k_above_65536)
{
    static int8_t A[65537], B[65537];
    const int32_t mult = M30, shift = 0;
    int8_t C = 0x55;
    loom_gemm_i8_args a = args_of(1, 1, 65537, A, B, NULL, &mult, &shift, &C);
    cr_assert_eq(loom_gemm_i8_ref(&a), LOOM_E_INVALID_ARG);
    cr_assert(strstr(loom_last_error(), "K=65537") != NULL, "%s", loom_last_error());
    cr_assert_eq((uint8_t)C, 0x55);
    a.K = 65536;
    gemm_ok(&a);
    cr_assert_eq(C, 0);
}

Test(int8, rejects_bias_of_2_pow_30)
{
    loom_gemm_i8_args a = valid_args();
    int32_t bias[2] = {0, 1 << 30};
    a.bias = bias;
    expect_invalid(&a, "bias[1]");
    bias[1] = -(1 << 30);
    expect_invalid(&a, "bias[1]");
    bias[1] = INT32_MIN;
    expect_invalid(&a, "bias[1]");
    bias[0] = INT32_MAX;
    bias[1] = 0;
    expect_invalid(&a, "bias[0]");
    /* 2^30 - 1 in magnitude is fine: saturates */
    bias[0] = (1 << 30) - 1;
    bias[1] = -((1 << 30) - 1);
    gemm_ok(&a);
    expect_c(vC, (const int8_t[]){127, -128, 127, -128}, 4);
}

Test(int8, rejects_bad_sizes_and_strides)
{
    loom_gemm_i8_args a = valid_args();
    a.M = -1;
    expect_invalid(&a, "M=-1");
    a = valid_args();
    a.N = -2;
    expect_invalid(&a, "N=-2");
    a = valid_args();
    a.K = -3;
    expect_invalid(&a, "K=-3");
    a = valid_args();
    a.lda = 2; /* < K = 3 */
    expect_invalid(&a, "lda=2");
    a = valid_args();
    a.ldb = 1; /* < N = 2 */
    expect_invalid(&a, "ldb=1");
    a = valid_args();
    a.ldc = 1;
    expect_invalid(&a, "ldc=1");
}

/* ---------------------------------------------------------------------- */
/* Random shapes against an independent implementation                     */
/* ---------------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng(void)
{
    /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int64_t rng_range(int64_t lo, int64_t hi) /* inclusive */
{
    return lo + (int64_t)(rng() % (uint64_t)(hi - lo + 1));
}

/* floor(num / den) for den > 0, by truncating division and a fix-up */
static int64_t floor_div(int64_t num, int64_t den)
{
    int64_t q = num / den, r = num % den;
    return (r != 0 && num < 0) ? q - 1 : q;
}

static int8_t model_out(int64_t acc, int32_t mult, int32_t shift, int act, const int8_t *lut)
{
    int64_t y = floor_div(acc * (int64_t)mult + ((int64_t)1 << (30 + shift)),
                          (int64_t)1 << 31 << shift); /* 2^(31+shift) <= 2^62 */
    if (y > 127)
        y = 127;
    if (y < -128)
        y = -128;
    if (act == LOOM_ACT_RELU && y < 0)
        y = 0;
    if (act == LOOM_ACT_LUT)
        y = lut[y + 128];
    return (int8_t)y;
}

Test(int8, floor_div_self_check)
{
    cr_assert_eq(floor_div(-3, 2), -2);
    cr_assert_eq(floor_div(3, 2), 1);
    cr_assert_eq(floor_div(-4, 2), -2);
    cr_assert_eq(floor_div(0, 7), 0);
    cr_assert_eq(floor_div(-1, (int64_t)1 << 62), -1);
    /* the examples in the brief: acc -3 at 0.5 -> -1, acc 3 -> 2 */
    cr_assert_eq(model_out(-3, M30, 0, LOOM_ACT_NONE, NULL), -1);
    cr_assert_eq(model_out(3, M30, 0, LOOM_ACT_NONE, NULL), 2);
}

Test(int8, random_against_model)
{
    enum { CASES = 400, MAXD = 19, PAD = 3 };
    static int8_t A[MAXD * (MAXD + PAD)], B[MAXD * (MAXD + PAD)], C[MAXD * (MAXD + PAD)];
    int32_t bias[MAXD], mult[MAXD], shift[MAXD];
    int8_t lut[256];
    long checked = 0, saturated = 0, mid = 0;

    rng_state = 20240601;
    for (int c = 0; c < CASES; c++) {
        int64_t M = rng_range(c < 10 ? 0 : 1, MAXD), N = rng_range(c < 10 ? 0 : 1, MAXD);
        int64_t K = rng_range(0, MAXD);
        int64_t lda = K + rng_range(0, PAD), ldb = N + rng_range(0, PAD), ldc = N + rng_range(0, PAD);
        int act = (int)rng_range(0, 2);
        bool use_bias = rng() % 4 != 0;
        loom_gemm_i8_args a;

        for (size_t i = 0; i < sizeof A; i++) {
            /* mostly small values, sometimes the extremes */
            uint64_t r = rng();
            A[i] = (int8_t)(r % 8 == 0 ? (r & 8 ? 127 : -128) : (int8_t)(r >> 8));
            r = rng();
            B[i] = (int8_t)(r % 8 == 0 ? (r & 8 ? 127 : -128) : (int8_t)(r >> 8));
        }
        memset(C, 0x55, sizeof C);
        for (int i = 0; i < 256; i++)
            lut[i] = (int8_t)rng();
        for (int64_t n = 0; n < N; n++) {
            /* shifts that keep many outputs in range: about K*2^14 / 2^(shift+1) */
            shift[n] = (int32_t)rng_range(0, rng() % 8 == 0 ? 31 : 14);
            mult[n] = rng() % 4 == 0 ? M30 : (int32_t)rng_range(M30, 0x7fffffff);
            bias[n] = (int32_t)(rng() % 16 == 0 ? rng_range(-(M30 - 1), M30 - 1)
                                                : rng_range(-(1 << 18), 1 << 18));
        }
        a = (loom_gemm_i8_args){.M = M, .N = N, .K = K, .A = A, .lda = lda, .B = B, .ldb = ldb,
                                .bias = use_bias ? bias : NULL, .mult = mult, .shift = shift,
                                .C = C, .ldc = ldc, .act = act, .lut = lut};
        {
            loom_status st = loom_gemm_i8_ref(&a);
            cr_assert_eq(st, LOOM_OK, "case %d: %s", c, loom_last_error());
        }
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < ldc; n++) {
                int8_t got = C[m * ldc + n], want;
                int64_t acc;
                if (n >= N) {
                    cr_assert_eq((uint8_t)got, 0x55, "case %d: padding C[%lld][%lld] written", c,
                                 (long long)m, (long long)n);
                    continue;
                }
                acc = use_bias ? bias[n] : 0;
                for (int64_t k = 0; k < K; k++)
                    acc += (int64_t)A[m * lda + k] * (int64_t)B[k * ldb + n];
                want = model_out(acc, mult[n], shift[n], act, lut);
                cr_assert_eq(got, want,
                             "case %d (M=%lld N=%lld K=%lld act=%d): C[%lld][%lld] = %d, expected %d "
                             "(acc %lld, mult %d, shift %d)",
                             c, (long long)M, (long long)N, (long long)K, act, (long long)m,
                             (long long)n, got, want, (long long)acc, mult[n], shift[n]);
                checked++;
                if (act == LOOM_ACT_NONE) {
                    if (got == 127 || got == -128)
                        saturated++;
                    else if (got != 0)
                        mid++;
                }
            }
        /* rows beyond M untouched */
        for (int64_t i = M * ldc; i < (int64_t)sizeof C; i++)
            cr_assert_eq((uint8_t)C[i], 0x55, "case %d: C byte %lld beyond M rows written", c,
                         (long long)i);
    }
    /* the cases exercised both saturation and in-range values */
    cr_assert_gt(checked, 10000, "%ld", checked);
    cr_assert_gt(saturated, 100, "%ld", saturated);
    cr_assert_gt(mid, 1000, "%ld", mid);
}

Test(int8, random_exact_ties)
{
    /* acc = (2j+1) * 2^s with mult 2^30, shift s: exactly j + 1/2 -> j + 1 */
    rng_state = 7;
    for (int i = 0; i < 500; i++) {
        int32_t s = (int32_t)rng_range(0, 20);
        int64_t j = rng_range(-129, 127);
        int64_t acc = (2 * j + 1) * ((int64_t)1 << s);
        int want;
        if (acc >= M30 || acc <= -M30)
            continue;
        want = (int)(j + 1 > 127 ? 127 : j + 1 < -128 ? -128 : j + 1);
        cr_assert_eq(requant_via_gemm((int32_t)acc, M30, s, LOOM_ACT_NONE, NULL), want,
                     "acc %lld shift %d", (long long)acc, s);
    }
}

/* ---------------------------------------------------------------------- */
/* loom_requant_from_scale                                                 */
/* ---------------------------------------------------------------------- */

static void from_scale(double s, int32_t *mult, int32_t *shift)
{
    loom_status st = loom_requant_from_scale(s, mult, shift);
    cr_assert_eq(st, LOOM_OK, "scale %.17g: %s", s, loom_last_error());
}

Test(int8, from_scale_exact_values)
{
    int32_t m, s;
    from_scale(0.5, &m, &s);
    cr_assert_eq(m, M30);
    cr_assert_eq(s, 0);
    from_scale(0.25, &m, &s);
    cr_assert_eq(m, M30);
    cr_assert_eq(s, 1);
    from_scale(0.75, &m, &s);
    cr_assert_eq(m, M29x3);
    cr_assert_eq(s, 0);
    from_scale(0.375, &m, &s);
    cr_assert_eq(m, M29x3);
    cr_assert_eq(s, 1);
    /* 2^-32: the smallest, mult 2^30 at the largest shift */
    from_scale(ldexp(1.0, -32), &m, &s);
    cr_assert_eq(m, M30);
    cr_assert_eq(s, 31);
    /* 1 - 2^-31: the largest, mult 2^31 - 1 at shift 0 */
    from_scale(1.0 - ldexp(1.0, -31), &m, &s);
    cr_assert_eq(m, 0x7fffffff);
    cr_assert_eq(s, 0);
}

Test(int8, from_scale_point_one)
{
    /* 0.1 = 0.8 * 2^-3: shift 3, mult = round(0.8 * 2^31) = round(1717986918.4) */
    int32_t m, s;
    double back;
    from_scale(0.1, &m, &s);
    cr_assert_eq(s, 3);
    cr_assert_eq(m, 1717986918);
    back = (double)m / ldexp(1.0, 31 + s);
    cr_assert(fabs(back - 0.1) <= 0.1 * ldexp(1.0, -31), "%.17g", back);
}

Test(int8, from_scale_rounds_up_into_next_binade)
{
    /* just below 2^-k, the mult rounds up to 2^31 and must renormalise to
     * 2^30 with one less shift: 0.5 - 2^-40 -> (2^30, 0) */
    int32_t m, s;
    from_scale(0.5 - ldexp(1.0, -40), &m, &s);
    cr_assert_eq(m, M30);
    cr_assert_eq(s, 0);
    /* and at the bottom: 2^-32 * (1 - 2^-40) rounds to 2^-32 */
    from_scale(ldexp(1.0 - ldexp(1.0, -40), -32), &m, &s);
    cr_assert_eq(m, M30);
    cr_assert_eq(s, 31);
}

Test(int8, from_scale_rejects_out_of_range)
{
    const double bad[] = {0.0, -0.0, 1.0, 1.5, -0.5, NAN, -NAN, INFINITY, -INFINITY, 1e-12,
                          ldexp(1.0, -33), ldexp(0.75, -32), 1e300, 5e-324};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int32_t m = 12345, s = 678;
        loom_status st = loom_requant_from_scale(bad[i], &m, &s);
        cr_assert_eq(st, LOOM_E_INVALID_ARG, "scale %g: got %s", bad[i], loom_status_name(st));
        cr_assert_str_not_empty(loom_last_error());
        cr_assert_eq(m, 12345, "scale %g: mult written on failure", bad[i]);
        cr_assert_eq(s, 678, "scale %g: shift written on failure", bad[i]);
    }
    {
        int32_t m, s;
        cr_assert_eq(loom_requant_from_scale(0.5, NULL, &s), LOOM_E_INVALID_ARG);
        cr_assert_eq(loom_requant_from_scale(0.5, &m, NULL), LOOM_E_INVALID_ARG);
    }
}

Test(int8, from_scale_round_trip_property)
{
    /* log-uniform scales over the whole range [2^-32, 1 - 2^-31]: mult and
     * shift in range, mult / 2^(31+shift) within 2^-31 relative, and no
     * neighbouring mult is closer (rounded to nearest) */
    rng_state = 99;
    for (int i = 0; i < 20000; i++) {
        double u = (double)(rng() >> 11) / 9007199254740992.0; /* [0, 1) */
        double scale = exp2(-32.0 + 32.0 * u);
        int32_t m, s;
        double unit, back;
        if (!(scale >= ldexp(1.0, -32) && scale <= 1.0 - ldexp(1.0, -31)))
            continue;
        from_scale(scale, &m, &s);
        cr_assert(m >= M30 && m <= 0x7fffffff, "scale %.17g: mult %d", scale, m);
        cr_assert(s >= 0 && s <= 31, "scale %.17g: shift %d", scale, s);
        unit = ldexp(1.0, -(31 + s));
        back = (double)m * unit;
        cr_assert(fabs(back - scale) <= scale * ldexp(1.0, -31), "scale %.17g -> %d / 2^%d = %.17g",
                  scale, m, 31 + s, back);
        cr_assert(fabs(back - scale) <= 0.5 * unit, "scale %.17g: mult %d not nearest", scale, m);
        if (m > M30)
            cr_assert(fabs((double)(m - 1) * unit - scale) >= fabs(back - scale));
        if (m < 0x7fffffff)
            cr_assert(fabs((double)(m + 1) * unit - scale) >= fabs(back - scale));
    }
}

Test(int8, from_scale_drives_gemm)
{
    /* the (mult, shift) for 0.1 is 1717986918 / 2^34 = 0.09999999997671694,
     * a hair below 0.1, so 1235 * 0.1 is not a tie:
     *   1235 -> 123.49999997 -> 123,   -1234 -> -123.39999997 -> -123,
     *   1236 -> 123.59999997 -> 124,   -1235 -> -123.49999997 -> -123,
     *  -1236 -> -123.59999997 -> -124,  2000 -> 200 -> 127 */
    int32_t m, s;
    from_scale(0.1, &m, &s);
    cr_assert_eq(requant_via_gemm(1235, m, s, LOOM_ACT_NONE, NULL), 123);
    cr_assert_eq(requant_via_gemm(-1234, m, s, LOOM_ACT_NONE, NULL), -123);
    cr_assert_eq(requant_via_gemm(1236, m, s, LOOM_ACT_NONE, NULL), 124);
    cr_assert_eq(requant_via_gemm(-1235, m, s, LOOM_ACT_NONE, NULL), -123);
    cr_assert_eq(requant_via_gemm(-1236, m, s, LOOM_ACT_NONE, NULL), -124);
    cr_assert_eq(requant_via_gemm(2000, m, s, LOOM_ACT_NONE, NULL), 127);
}
