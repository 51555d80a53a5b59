/*
 * gemm_f32.cl - fp32 GEMM of the loom kernel ABI, NDRange register-tiled,
 * for CPU and GPU OpenCL devices.
 *
 *   C[c_off + m*ldc + n] = act( sum_k A[a_off + m*lda + k] * B[b_off + k*ldb + n]
 *                               + (has_bias ? bias[n] : 0) )
 *
 * for 0 <= m < M, 0 <= n < N; all operands row-major; any M, N, K >= 1;
 * act one of LOOM_ACT_NONE, RELU, SIGMOID, TANH, GELU (kernel-abi.h; GELU
 * is the erf form). Nothing outside that M x N window of C is written, and
 * nothing is read outside the M x K window of A, the K x N window of B and
 * bias[0 .. N) (bias is not read at all when has_bias is 0, but must still
 * be a valid buffer argument). So the host needs no padding, no copies and
 * no alignment beyond that of float; offsets and leading dimensions are
 * free (lda >= K, ldb >= N, ldc >= N).
 *
 * The host prepends loom/kernel-abi.h and kernels-cl/loom-cl.h to this text
 * and builds it with a -D option per knob (see "Knobs"; every knob has a
 * default, the one tuned for PoCL on AVX-512 CPUs). OpenCL C 1.2, no
 * extensions.
 *
 * ---- Launch geometry (2-D NDRange, no global offset) ----
 *
 *   local[0]  = GEMM_WGN
 *   local[1]  = GEMM_WGM
 *   global[0] = ceil(N / (GEMM_NWI * GEMM_WGN)) * GEMM_WGN
 *   global[1] = ceil(M / (GEMM_MWI * GEMM_WGM)) * GEMM_WGM
 *
 * with ceil(a / b) = (a + b - 1) / b in integers. Dimension 0 runs along N,
 * dimension 1 along M. The kernel declares reqd_work_group_size(GEMM_WGN,
 * GEMM_WGM, 1), so the host must pass exactly this local size. Local
 * memory is static (no __local kernel arguments):
 *
 *   GEMM_LOCAL = 0:  none
 *   GEMM_LOCAL = 1:  4 * GEMM_KWG * GEMM_NWI*GEMM_WGN                 bytes
 *   GEMM_LOCAL = 2:  4 * GEMM_KWG * (GEMM_NWI*GEMM_WGN
 *                                    + GEMM_MWI*GEMM_WGM + GEMM_PAD)   bytes
 *
 * ---- Design ----
 *
 * A work-group computes a GEMM_MWG x GEMM_NWG block of C (MWG = MWI * WGM
 * rows, NWG = NWI * WGN columns). Each work-item keeps a GEMM_MWI x GEMM_NWI
 * tile of accumulators in registers, as GEMM_MWI rows of GEMM_NWI/GEMM_VW
 * vectors, and for each k does one rank-1 update: load the tile's part of
 * B row k as vectors, broadcast each of its rows' A[m][k], fused
 * multiply-add. The whole of K is summed in registers; bias and activation
 * are applied to the accumulators before the one store of C (C is never
 * read). The knob GEMM_LOCAL chooses how the operands reach the tile:
 *
 *  0  Both read in place from global memory; every work-item streams its
 *     B columns over all of K. Fine on CPUs while B stays in cache (up to
 *     about 1536 x 1536 here); with a 1 x 1 work-group, consecutive work-
 *     items (dimension 0 varies fastest) reuse the same A rows from L1.
 *  1  The work-group copies GEMM_KWG x GEMM_NWG slices of B into local
 *     memory (a packed, contiguous copy) and its work-items read A in place.
 *     The CPU default: on PoCL a work-group runs on one core, local memory
 *     is a per-core buffer that stays in L1/L2, and each B slice is reused
 *     by the GEMM_WGM work-items of the group instead of being streamed
 *     from L3 or DRAM by each of them (with a large or power-of-two ldb,
 *     rows of B also alias in the caches; the packed copy does not).
 *     With GEMM_PREFETCH, each work-item prefetches its share of the next
 *     slice before computing on the current one.
 *  2  The work-group stages slices of both B and its A rows (transposed,
 *     k-major) in local memory: the usual GPU scheme, coalesced loads
 *     (GEMM_STRN = 1 keeps them coalesced for B) and one barrier pair per
 *     GEMM_KWG-deep slice.
 *
 * On PoCL, keep GEMM_MWI * GEMM_NWI / 16 (AVX-512 accumulators) at or below
 * about 24, so that the tile, the B vectors and a broadcast fit the 32
 * vector registers; PoCL runs the work-items of a group one after another
 * between barriers, keeping each one's tile in registers within a slice.
 *
 * Edges, all handled here: rows past M are computed from row M-1 (clamped
 * index, so every read is in bounds) and never stored; a work-group whose
 * columns reach past N reads B and bias with clamped column indices
 * (scalar loads, that group only) and stores only the columns below N; in
 * modes 1 and 2 a work-item whose rows all lie past M skips the arithmetic,
 * and in mode 2 the slice past K is zero-filled.
 *
 * Index arithmetic is in size_t wherever a row index meets a leading
 * dimension, so buffers may exceed 2^31 elements as long as M, N, K, the
 * leading dimensions and the offsets each fit in int.
 */

/* ---- Knobs (each overridable with -D; defaults suit PoCL on AVX-512) ---- */

/* Rows of C per work-item (register tile height). */
#ifndef GEMM_MWI
#define GEMM_MWI 8
#endif

/* Columns of C per work-item (register tile width); a multiple of GEMM_VW. */
#ifndef GEMM_NWI
#define GEMM_NWI 32
#endif

/* Vector width of B loads, accumulators and C stores: 1, 2, 4, 8 or 16. */
#ifndef GEMM_VW
#define GEMM_VW 16
#endif

/* Work-items per work-group along M (local size, dimension 1). */
#ifndef GEMM_WGM
#define GEMM_WGM 16
#endif

/* Work-items per work-group along N (local size, dimension 0). */
#ifndef GEMM_WGN
#define GEMM_WGN 1
#endif

/* Column ownership: 0 = a work-item owns GEMM_NWI adjacent columns; 1 = its
 * vectors are interleaved with those of the group's other work-items along
 * N (neighbouring work-items read neighbouring vectors: coalescing). */
#ifndef GEMM_STRN
#define GEMM_STRN 0
#endif

/* Operand staging: 0 = none (A, B read in place); 1 = B slices in local
 * memory (CPUs); 2 = A and B slices in local memory (GPUs). See Design. */
#ifndef GEMM_LOCAL
#define GEMM_LOCAL 1
#endif

/* Depth along K of one local-memory slice (GEMM_LOCAL >= 1 only). */
#ifndef GEMM_KWG
#define GEMM_KWG 256
#endif

/* Extra floats per k-row of the local A slice (mode 2), against bank
 * conflicts. */
#ifndef GEMM_PAD
#define GEMM_PAD 1
#endif

/* 1 = prefetch the next B slice while computing on the current one (modes
 * 1 and 2; uses clang's __builtin_prefetch, a no-op where it is missing). */
#ifndef GEMM_PREFETCH
#define GEMM_PREFETCH 1
#endif

/* Unroll factor of the loop over k (1 = leave it to the compiler; PoCL
 * cannot unroll the variable-length loop of modes 0 and 1 and says so). */
#ifndef GEMM_KU
#define GEMM_KU 1
#endif

/* ---- Derived sizes and checks ---- */

#define GEMM_NV (GEMM_NWI / GEMM_VW)    /* vectors per tile row */
#define GEMM_MWG (GEMM_MWI * GEMM_WGM)  /* rows of C per work-group */
#define GEMM_NWG (GEMM_NWI * GEMM_WGN)  /* columns of C per work-group */
#define GEMM_WGS (GEMM_WGM * GEMM_WGN)  /* work-items per work-group */

#if GEMM_MWI < 1 || GEMM_NWI < 1 || GEMM_WGM < 1 || GEMM_WGN < 1
#error "gemm_f32.cl: GEMM_MWI, GEMM_NWI, GEMM_WGM and GEMM_WGN must be >= 1"
#endif
#if GEMM_NWI % GEMM_VW != 0
#error "gemm_f32.cl: GEMM_NWI must be a multiple of GEMM_VW"
#endif
#if GEMM_LOCAL < 0 || GEMM_LOCAL > 2
#error "gemm_f32.cl: GEMM_LOCAL must be 0, 1 or 2"
#endif
#if GEMM_LOCAL && GEMM_KWG < 1
#error "gemm_f32.cl: GEMM_KWG must be >= 1"
#endif

/* GEMM_UNROLL_K: "#pragma unroll GEMM_KU" with the value expanded. */
#define GEMM_PRAGMA(x) _Pragma(#x)
#define GEMM_PRAGMA_X(x) GEMM_PRAGMA(x)
#if GEMM_KU > 1
#define GEMM_UNROLL_K GEMM_PRAGMA_X(unroll GEMM_KU)
#else
#define GEMM_UNROLL_K
#endif

#if GEMM_PREFETCH && defined(__has_builtin)
#if __has_builtin(__builtin_prefetch)
#define GEMM_PREFETCH_LINE(p) __builtin_prefetch((p), 0, 2)
#endif
#endif
#ifndef GEMM_PREFETCH_LINE
#define GEMM_PREFETCH_LINE(p) ((void)0)
#endif

/* vfloat: the accumulator vector; VLOAD/VSTORE: its unaligned load/store. */
#if GEMM_VW == 1
typedef float vfloat;
#define VLOAD(p) (*(p))
#define VSTORE(x, p) (*(p) = (x))
#elif GEMM_VW == 2
typedef float2 vfloat;
#define VLOAD(p) vload2(0, p)
#define VSTORE(x, p) vstore2(x, 0, p)
#elif GEMM_VW == 4
typedef float4 vfloat;
#define VLOAD(p) vload4(0, p)
#define VSTORE(x, p) vstore4(x, 0, p)
#elif GEMM_VW == 8
typedef float8 vfloat;
#define VLOAD(p) vload8(0, p)
#define VSTORE(x, p) vstore8(x, 0, p)
#elif GEMM_VW == 16
typedef float16 vfloat;
#define VLOAD(p) vload16(0, p)
#define VSTORE(x, p) vstore16(x, 0, p)
#else
#error "gemm_f32.cl: GEMM_VW must be 1, 2, 4, 8 or 16"
#endif

/* Element i of a vector (i a compile-time constant after unrolling). */
static inline float vget(vfloat x, int i)
{
#if GEMM_VW == 1
    return x;
#else
    union { vfloat v; float f[GEMM_VW]; } u;
    u.v = x;
    return u.f[i];
#endif
}

static inline vfloat vset(vfloat x, int i, float f)
{
#if GEMM_VW == 1
    return f;
#else
    union { vfloat v; float f[GEMM_VW]; } u;
    u.v = x;
    u.f[i] = f;
    return u.v;
#endif
}

/* First column, relative to the work-group's first, of vector v of the
 * work-item with local index lid along N. */
static inline int gemm_col(int lid, int v)
{
#if GEMM_STRN
    return (v * GEMM_WGN + lid) * GEMM_VW;
#else
    return lid * GEMM_NWI + v * GEMM_VW;
#endif
}

/* The vector at row[n .. n+VW), reading row[min(j, N-1)] for column j:
 * in bounds whatever n, and exact for the columns below N (the others are
 * never stored). */
static inline vfloat load_clamped(__global const float *row, int n, int N)
{
    if (n + GEMM_VW <= N)
        return VLOAD(row + n);
    vfloat x = (vfloat)(0.0f);
#pragma unroll
    for (int i = 0; i < GEMM_VW; i++)
        x = vset(x, i, row[min(n + i, N - 1)]);
    return x;
}

static inline vfloat activate(vfloat x, int act)
{
    switch (act) {
    case LOOM_ACT_RELU:
        return fmax(x, (vfloat)(0.0f));
    case LOOM_ACT_SIGMOID:
        return 1.0f / (1.0f + exp(-x));
    case LOOM_ACT_TANH:
        return tanh(x);
    case LOOM_ACT_GELU:
        return 0.5f * x * (1.0f + erf(x * M_SQRT1_2_F));
    default:
        return x;
    }
}

/* One rank-1 update of the register tile: acc[r][v] += a[r] * b[v]. */
static inline void rank1(vfloat acc[GEMM_MWI][GEMM_NV],
                         const float a[GEMM_MWI], const vfloat b[GEMM_NV])
{
#pragma unroll
    for (int r = 0; r < GEMM_MWI; r++) {
        const vfloat ar = (vfloat)(a[r]);
#pragma unroll
        for (int v = 0; v < GEMM_NV; v++)
            acc[r][v] = fma(ar, b[v], acc[r][v]);
    }
}

#if GEMM_LOCAL == 0
/* acc += A[ap rows][0..K) . B[0..K)[col vectors], both read from global
 * memory. `edge` is a literal at both call sites, so each gets its own
 * copy of the loop: 0 when all of the work-group's columns are below N
 * (plain vector loads), 1 otherwise (clamped loads). */
static inline void accumulate_global(vfloat acc[GEMM_MWI][GEMM_NV], int K,
                                     __global const float *ap[GEMM_MWI],
                                     __global const float *B, int ldb,
                                     const int col[GEMM_NV], int n_left,
                                     const int edge)
{
    GEMM_UNROLL_K
    for (int k = 0; k < K; k++) {
        __global const float *bk = B + (size_t)k * ldb;
        float a[GEMM_MWI];
        vfloat b[GEMM_NV];
#pragma unroll
        for (int v = 0; v < GEMM_NV; v++)
            b[v] = edge ? load_clamped(bk, col[v], n_left) : VLOAD(bk + col[v]);
#pragma unroll
        for (int r = 0; r < GEMM_MWI; r++)
            a[r] = ap[r][k];
        rank1(acc, a, b);
    }
}
#endif

__kernel __attribute__((reqd_work_group_size(GEMM_WGN, GEMM_WGM, 1)))
void loom_gemm_f32(int M, int N, int K,
                   __global const float *A, int lda, int a_off,
                   __global const float *B, int ldb, int b_off,
                   __global const float *bias, int has_bias,
                   __global float *C, int ldc, int c_off, int act)
{
    const int lid_n = get_local_id(0);
    const int lid_m = get_local_id(1);
    const int n_grp = get_group_id(0) * GEMM_NWG; /* first column of group */
    const int m_grp = get_group_id(1) * GEMM_MWG; /* first row of group */
    const int m0 = m_grp + lid_m * GEMM_MWI;      /* first row of item */
    const int edge = n_grp + GEMM_NWG > N;        /* uniform in the group */

    A += a_off;
    B += b_off + n_grp;
    C += c_off + n_grp;
    if (has_bias)
        bias += n_grp;

    int col[GEMM_NV]; /* columns of the item's vectors, from n_grp */
#pragma unroll
    for (int v = 0; v < GEMM_NV; v++)
        col[v] = gemm_col(lid_n, v);
    const int n_left = N - n_grp; /* columns of this group below N */

    vfloat acc[GEMM_MWI][GEMM_NV];
#pragma unroll
    for (int r = 0; r < GEMM_MWI; r++)
#pragma unroll
        for (int v = 0; v < GEMM_NV; v++)
            acc[r][v] = (vfloat)(0.0f);

#if GEMM_LOCAL < 2
    /* The item's rows of A, read from global memory; rows past M are
     * clamped to M-1 (computed, never stored). */
    __global const float *ap[GEMM_MWI];
#pragma unroll
    for (int r = 0; r < GEMM_MWI; r++)
        ap[r] = A + (size_t)min(m0 + r, M - 1) * lda;
#endif

#if GEMM_LOCAL == 0
    if (edge)
        accumulate_global(acc, K, ap, B, ldb, col, n_left, 1);
    else
        accumulate_global(acc, K, ap, B, ldb, col, n_left, 0);
#else
    /* Slices of the group's B columns (row-major, GEMM_NWG floats per k:
     * a packed copy) and, in mode 2, of its A rows (transposed: k-major, so
     * that an item's GEMM_MWI values for one k are adjacent). */
    __local vfloat Bs[GEMM_KWG * GEMM_NWG / GEMM_VW];
#if GEMM_LOCAL == 2
    __local float As[GEMM_KWG * (GEMM_MWG + GEMM_PAD)];
#endif
    const int lid = lid_m * GEMM_WGN + lid_n;
    for (int k0 = 0; k0 < K; k0 += GEMM_KWG) {
        /* Cooperative copies: consecutive work-items take consecutive
         * vectors of one B row (and consecutive k of one A row). Columns
         * and rows past the edge are clamped; k past K is zero. */
        for (int i = lid; i < GEMM_KWG * (GEMM_NWG / GEMM_VW); i += GEMM_WGS) {
            const int kk = i / (GEMM_NWG / GEMM_VW);
            const int c = i % (GEMM_NWG / GEMM_VW) * GEMM_VW;
            vfloat x = (vfloat)(0.0f);
            if (k0 + kk < K) {
                __global const float *bk = B + (size_t)(k0 + kk) * ldb;
                x = edge ? load_clamped(bk, c, n_left) : VLOAD(bk + c);
            }
            Bs[i] = x; /* = Bs[kk][c / GEMM_VW] */
        }
#if GEMM_LOCAL == 2
        for (int i = lid; i < GEMM_MWG * GEMM_KWG; i += GEMM_WGS) {
            const int r = i / GEMM_KWG, kk = i % GEMM_KWG;
            const int m = min(m_grp + r, M - 1), k = k0 + kk;
            As[kk * (GEMM_MWG + GEMM_PAD) + r] =
                k < K ? A[(size_t)m * lda + k] : 0.0f;
        }
#endif
        barrier(CLK_LOCAL_MEM_FENCE);

#if GEMM_PREFETCH
        /* Start fetching this work-item's share of the next B slice, so
         * that the copy after this slice's arithmetic finds it in cache. */
        for (int i = lid; i < GEMM_KWG * (GEMM_NWG / GEMM_VW); i += GEMM_WGS) {
            const int k = k0 + GEMM_KWG + i / (GEMM_NWG / GEMM_VW);
            const int c = i % (GEMM_NWG / GEMM_VW) * GEMM_VW;
            if (k < K)
                GEMM_PREFETCH_LINE(B + (size_t)k * ldb + min(c, n_left - 1));
        }
#endif

#if GEMM_LOCAL == 2
        const int kn = GEMM_KWG;              /* zero-filled past K */
#else
        const int kn = min(GEMM_KWG, K - k0); /* A is read in place */
#endif
        if (m0 < M) { /* else all of the item's rows lie past M */
            GEMM_UNROLL_K
            for (int kk = 0; kk < kn; kk++) {
                float a[GEMM_MWI];
                vfloat b[GEMM_NV];
#pragma unroll
                for (int r = 0; r < GEMM_MWI; r++)
#if GEMM_LOCAL == 2
                    a[r] = As[kk * (GEMM_MWG + GEMM_PAD) + lid_m * GEMM_MWI + r];
#else
                    a[r] = ap[r][k0 + kk];
#endif
#pragma unroll
                for (int v = 0; v < GEMM_NV; v++)
                    b[v] = Bs[(kk * GEMM_NWG + col[v]) / GEMM_VW];
                rank1(acc, a, b);
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
#endif

    /* Epilogue: bias, activation, store of the rows below M and the columns
     * below N. */
    vfloat bv[GEMM_NV];
#pragma unroll
    for (int v = 0; v < GEMM_NV; v++)
        bv[v] = !has_bias ? (vfloat)(0.0f)
                : edge    ? load_clamped(bias, col[v], n_left)
                          : VLOAD(bias + col[v]);
#pragma unroll
    for (int r = 0; r < GEMM_MWI; r++) {
        if (m0 + r >= M)
            break;
        __global float *cr = C + (size_t)(m0 + r) * ldc;
#pragma unroll
        for (int v = 0; v < GEMM_NV; v++) {
            const vfloat y = activate(acc[r][v] + bv[v], act);
            if (col[v] + GEMM_VW <= n_left) {
                VSTORE(y, cr + col[v]);
            } else {
#pragma unroll
                for (int i = 0; i < GEMM_VW; i++)
                    if (col[v] + i < n_left)
                        cr[col[v] + i] = vget(y, i);
            }
        }
    }
}
