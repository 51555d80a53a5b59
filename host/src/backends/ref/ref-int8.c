/* ref-int8.c - the int8 GEMM of the kernel ABI (loom/kernel-abi.h), and the
 * conversion of a real requantisation scale to (mult, shift). */
#include <math.h>

#include "backends/ref/ref-impl.h"

loom_status loom__gemm_i8_check(const loom_gemm_i8_args *a)
{
    if (!a || !a->A || !a->B || !a->C || !a->mult || !a->shift)
        return loom__err(LOOM_E_INVALID_ARG, "int8 gemm: NULL operand");
    if (a->M < 0 || a->N < 0 || a->K < 0 || a->lda < a->K || a->ldb < a->N || a->ldc < a->N)
        return loom__err(LOOM_E_INVALID_ARG,
                         "int8 gemm: bad sizes M=%lld N=%lld K=%lld lda=%lld ldb=%lld ldc=%lld",
                         (long long)a->M, (long long)a->N, (long long)a->K, (long long)a->lda,
                         (long long)a->ldb, (long long)a->ldc);
    if (a->act != LOOM_ACT_NONE && a->act != LOOM_ACT_RELU && a->act != LOOM_ACT_LUT)
        return loom__err(LOOM_E_INVALID_ARG, "int8 gemm: unknown activation %d", a->act);
    if (a->act == LOOM_ACT_LUT && !a->lut)
        return loom__err(LOOM_E_INVALID_ARG, "int8 gemm: activation LUT is NULL");
    /* |acc| < 2^31 needs K * 128 * 128 + |bias| below it */
    if (a->K > ((int64_t)1 << 16))
        return loom__err(LOOM_E_INVALID_ARG, "int8 gemm: K=%lld exceeds 65536 (int32 accumulator)",
                         (long long)a->K);
    for (int64_t n = 0; n < a->N; n++)
        if (a->mult[n] < LOOM_REQUANT_MULT_MIN || a->shift[n] < 0 ||
            a->shift[n] > LOOM_REQUANT_SHIFT_MAX)
            return loom__err(LOOM_E_INVALID_ARG,
                             "int8 gemm: column %lld: mult %ld / shift %ld outside [2^30, 2^31) / "
                             "[0, 31]",
                             (long long)n, (long)a->mult[n], (long)a->shift[n]);
    if (a->bias)
        for (int64_t n = 0; n < a->N; n++)
            if (a->bias[n] >= (1 << 30) || a->bias[n] <= -(1 << 30))
                return loom__err(LOOM_E_INVALID_ARG,
                                 "int8 gemm: bias[%lld] = %ld is not below 2^30 in magnitude",
                                 (long long)n, (long)a->bias[n]);
    return LOOM_OK;
}

loom_status loom_gemm_i8_ref(const loom_gemm_i8_args *a)
{
    loom_status st = loom__gemm_i8_check(a);
    if (st != LOOM_OK)
        return st;
    for (int64_t m = 0; m < a->M; m++)
        for (int64_t n = 0; n < a->N; n++) {
            int32_t acc = a->bias ? a->bias[n] : 0;
            int y;
            for (int64_t k = 0; k < a->K; k++)
                acc += (int32_t)a->A[m * a->lda + k] * (int32_t)a->B[k * a->ldb + n];
            y = loom_requant(acc, a->mult[n], a->shift[n]);
            if (a->act == LOOM_ACT_RELU && y < 0)
                y = 0;
            else if (a->act == LOOM_ACT_LUT)
                y = a->lut[y + 128];
            a->C[m * a->ldc + n] = (int8_t)y;
        }
    return LOOM_OK;
}

loom_status loom_requant_from_scale(double scale, int32_t *mult, int32_t *shift)
{
    int exp;
    double frac;
    int64_t m;
    int s;

    if (!mult || !shift)
        return loom__err(LOOM_E_INVALID_ARG, "requant: NULL output");
    if (!(scale > 0.0) || !(scale < 1.0))
        return loom__err(LOOM_E_INVALID_ARG, "requant: scale %g is outside (0, 1)", scale);
    /* scale = frac * 2^exp with frac in [0.5, 1); mult = frac * 2^31,
     * shift = -exp, so that mult / 2^(31 + shift) = scale */
    frac = frexp(scale, &exp);
    m = llround(frac * 2147483648.0);
    s = -exp;
    if (m == ((int64_t)1 << 31)) { /* rounded up to 1.0 */
        m >>= 1;
        s--;
    }
    if (s < 0 || s > LOOM_REQUANT_SHIFT_MAX)
        return loom__err(LOOM_E_INVALID_ARG, "requant: scale %g needs shift %d outside [0, %d]",
                         scale, s, LOOM_REQUANT_SHIFT_MAX);
    *mult = (int32_t)m;
    *shift = s;
    return LOOM_OK;
}
