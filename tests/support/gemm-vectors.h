/* gemm-vectors.h - the int8 GEMM test vectors every level of the kernel
 * ABI is checked with (the vsim RTL, the HLS C simulation): a table of
 * shapes and a seeded case maker whose expected output comes from the
 * reference, with row strides wider than the rows and guard bytes
 * around C. */
#ifndef LOOM_TEST_GEMM_VECTORS_H
#define LOOM_TEST_GEMM_VECTORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loom/loom.h"

/* One GEMM: a.C points into C between guards; R holds ref's result. */
typedef struct {
    loom_gemm_i8_args a;
    int8_t *A, *B, *C, *R, lut[256];
    int32_t *bias, *mult, *shift;
    size_t c_bytes;
} gemm_case;

#define GEMM_GUARD 64
#define GEMM_GUARD_BYTE 0x5a

/* {M, N, K, act, pad (extra row stride), bias present}: M, N or K of 1,
 * sizes that are not multiples of 8 or 16, K up to 1500 (several 256-byte
 * chunks), K = 0, every activation, padded strides, no bias. */
extern const int gemm_shapes[][6];
extern const int gemm_shape_count;

/* Operands from seed, ref's result in R, C filled with guard bytes. The
 * requantisation scale maps about one standard deviation of the
 * accumulator to 40, so results spread over the int8 range. */
void gemm_case_make(gemm_case *g, int64_t M, int64_t N, int64_t K, int act, int pad, bool bias,
                    uint64_t seed);
void gemm_case_free(gemm_case *g);
/* Criterion-assert that C equals R (gaps between rows too) and that the
 * guards are intact. */
void gemm_case_expect_same(const gemm_case *g, const char *what);

/* Every vector through loom_gemm_i8(device), seeds seed0 + i, each
 * bit-exact against ref (Criterion asserts). */
void gemm_vectors_on_device(const char *device, uint64_t seed0);

#endif
