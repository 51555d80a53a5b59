/*
 * gemm_f32.cl - fp32 GEMM of the loom kernel ABI, NDRange register-tiled,
 * for CPU and GPU OpenCL devices.
 *
 *   C[c_off + m*ldc + n] =
 *       act( sum_k A[a_off + m*lda + k] * B[b_off + k*ldb + n]
 *            + (has_bias == 1 ? bias[n] : has_bias == 2 ? bias[m] : 0) )
 *
 * for 0 <= m < M, 0 <= n < N; all operands row-major; any M, N, K >= 1;
 * and that for each matrix t < batches of a batch, A, B and C advanced by
 * t * batch_a, t * batch_b, t * batch_c elements (0: the same matrix for
 * every t; bias is shared); batches is the NDRange's global size 2;
 * act any fp32 LOOM_ACT_* of kernel-abi.h (GELU is the erf form; CLIP
 * clamps to [act_a, act_b]; the others ignore act_a and act_b). Bias per
 * column (has_bias 1: a Gemm's bias row) or per row (has_bias 2: a
 * convolution computed as W . col, one output channel per row). Nothing
 * outside that M x N window of C is written, and nothing is read outside
 * the M x K window of A, the K x N window of B and bias[0 .. N) or
 * bias[0 .. M) (not read at all when has_bias is 0: the host may then pass
 * a NULL buffer). So the host needs no padding, no copies and no alignment
 * beyond that of float; offsets and leading dimensions are free (lda >= K,
 * ldb >= N, ldc >= N).
 *
 * The host prepends loom/kernel-abi.h and kernels-cl/loom-cl.h to this text
 * and builds it with a -D option per knob (see "Knobs"). The defaults are
 * the portable fallback for a device the tuning table does not know: 1 x 1
 * work-groups, no local memory (mode 0). The table's entry for PoCL on
 * AVX-512 CPUs, measured with bench/gemm_bench, is
 *   GEMM_LOCAL=1 GEMM_WGM=16 GEMM_MWI=8 GEMM_NWI=32 GEMM_VW=16
 *   GEMM_KWG=256 GEMM_PREFETCH=1 GEMM_STAGE_MIN=3145728
 * OpenCL C 1.2, no extensions.
 *
 * ---- Launch geometry (3-D NDRange, no global offset) ----
 *
 *   local[0]  = GEMM_WGN
 *   local[1]  = GEMM_WGM
 *   local[2]  = 1
 *   global[0] = ceil(N / (GEMM_NWI * GEMM_WGN)) * GEMM_WGN
 *   global[1] = ceil(M / (GEMM_MWI * GEMM_WGM)) * GEMM_WGM
 *   global[2] = batches
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
 *     B columns over all of K. Works on any device. Fast on CPUs while B
 *     stays in cache (up to about 1536 x 1536 floats here, with a 32 MiB
 *     L3) or is read only once (M <= GEMM_MWI); work-items of one
 *     work-group, and consecutive work-groups (dimension 0 varies
 *     fastest), share B columns or A rows in L1/L2.
 *  1  For CPUs: where B is larger (K * N >= GEMM_STAGE_MIN, M > GEMM_MWI,
 *     and K at least one slice deep, K >= GEMM_KWG)
 *     the work-group copies GEMM_KWG x GEMM_NWG slices of B into local
 *     memory (a packed, contiguous copy) and its work-items read A in
 *     place; elsewhere as mode 0. On PoCL a work-group runs on one core,
 *     local memory is a per-core buffer that stays in L1/L2, and each B
 *     slice is reused by the GEMM_WGM work-items of the group instead of
 *     being streamed from L3 or DRAM by each of them (with a large or
 *     power-of-two ldb, rows of B also alias in the caches; the packed copy
 *     does not): 2-4x faster than mode 0 once B is 16 MiB. With
 *     GEMM_PREFETCH, each work-item prefetches its share of the next slice
 *     before computing on the current one. (On PoCL the in-place path of
 *     this mode runs up to 2x slower than mode 0 proper for M <= 16: the
 *     barriers elsewhere in the kernel cost it per-work-group overhead.)
 *  2  For GPUs: the work-group stages slices of both B and its A rows
 *     (transposed, k-major) in local memory: coalesced loads (GEMM_STRN = 1
 *     keeps them coalesced for B) and one barrier pair per GEMM_KWG-deep
 *     slice.
 *
 * On PoCL, keep GEMM_MWI * GEMM_NWI / 16 (AVX-512 accumulators) at or below
 * 24, so that the tile, the B vectors and a broadcast fit the 32 vector
 * registers; PoCL runs the work-items of a group one after another between
 * barriers, keeping each one's tile in registers within a slice.
 *
 * Edges, all handled here: rows past M are computed from row M-1 (clamped
 * index, so every read is in bounds) and never stored; in modes 1 and 2 a
 * work-item whose rows all lie past M skips the arithmetic. The last
 * work-group along N is shifted left to end at column N (when N >= NWG) and
 * stores only the columns its neighbour does not, so it reads whole vectors
 * like the others; only when N < NWG does a group read B and bias with
 * clamped column indices (scalar loads). In mode 2 the slice past K is
 * zero-filled.
 *
 * Index arithmetic is in size_t wherever a row index meets a leading
 * dimension, so buffers may exceed 2^31 elements as long as M, N, K, the
 * leading dimensions and the offsets each fit in int.
 */

/* ---- Knobs (each overridable with -D; see above for the defaults) ---- */

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
#define GEMM_WGM 1
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
 * memory when B is large, else none (CPUs); 2 = A and B slices in local
 * memory (GPUs). See Design. */
#ifndef GEMM_LOCAL
#define GEMM_LOCAL 0
#endif

/* Depth along K of one local-memory slice (modes 1 and 2). */
#ifndef GEMM_KWG
#define GEMM_KWG 256
#endif

/* Mode 1 stages B only if K * N >= this many elements, M > GEMM_MWI and
 * K >= GEMM_KWG (else it reads B in place, as mode 0: B stays in cache, or
 * is read once; with a shallow K the slice copies and barriers cost more
 * than they save: 16x12544x32, 24x3136x144 2-4x slower staged on PoCL);
 * about a third of the last-level cache, in floats. */
#ifndef GEMM_STAGE_MIN
#define GEMM_STAGE_MIN 3145728
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
 * does not unroll the variable-length k loops of modes 0 and 1, and warns
 * "loop not unrolled"). */
#ifndef GEMM_KU
#define GEMM_KU 1
#endif

/* ---- Derived sizes and checks ---- */

#define GEMM_NV (GEMM_NWI / GEMM_VW)    /* vectors per tile row */
#define GEMM_MWG (GEMM_MWI * GEMM_WGM)  /* rows of C per work-group */
#define GEMM_NWG (GEMM_NWI * GEMM_WGN)  /* columns of C per work-group */
#define GEMM_WGS (GEMM_WGM * GEMM_WGN)  /* work-items per work-group */
#define GEMM_BSV (GEMM_KWG * GEMM_NWG / GEMM_VW) /* vectors in a B slice */

#if GEMM_MWI < 1 || GEMM_NWI < 1 || GEMM_WGM < 1 || GEMM_WGN < 1
#error "gemm_f32.cl: GEMM_MWI, GEMM_NWI, GEMM_WGM and GEMM_WGN must be >= 1"
#endif
#if GEMM_VW != 1 && GEMM_VW != 2 && GEMM_VW != 4 && GEMM_VW != 8 && \
    GEMM_VW != 16
#error "gemm_f32.cl: GEMM_VW must be 1, 2, 4, 8 or 16"
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

/* loom_gemm_vec: the accumulator vector; GEMM_VLOAD / GEMM_VSTORE: its
 * unaligned load and store. All names of this file are loom_gemm_* or
 * GEMM_*: the host builds every kernels-cl file into one program. */
#if GEMM_VW == 1
typedef float loom_gemm_vec;
#define GEMM_VLOAD(p) (*(p))
#define GEMM_VSTORE(x, p) (*(p) = (x))
#elif GEMM_VW == 2
typedef float2 loom_gemm_vec;
#define GEMM_VLOAD(p) vload2(0, p)
#define GEMM_VSTORE(x, p) vstore2(x, 0, p)
#elif GEMM_VW == 4
typedef float4 loom_gemm_vec;
#define GEMM_VLOAD(p) vload4(0, p)
#define GEMM_VSTORE(x, p) vstore4(x, 0, p)
#elif GEMM_VW == 8
typedef float8 loom_gemm_vec;
#define GEMM_VLOAD(p) vload8(0, p)
#define GEMM_VSTORE(x, p) vstore8(x, 0, p)
#else
typedef float16 loom_gemm_vec;
#define GEMM_VLOAD(p) vload16(0, p)
#define GEMM_VSTORE(x, p) vstore16(x, 0, p)
#endif

/* Element i of a vector (i a compile-time constant after unrolling). */
static inline float loom_gemm_vget(loom_gemm_vec x, int i)
{
#if GEMM_VW == 1
    return x;
#else
    union { loom_gemm_vec v; float f[GEMM_VW]; } u;
    u.v = x;
    return u.f[i];
#endif
}

static inline loom_gemm_vec loom_gemm_vset(loom_gemm_vec x, int i, float f)
{
#if GEMM_VW == 1
    return f;
#else
    union { loom_gemm_vec v; float f[GEMM_VW]; } u;
    u.v = x;
    u.f[i] = f;
    return u.v;
#endif
}

/* First column, relative to the work-group's first, of vector v of the
 * work-item with local index lid along N. */
static inline int loom_gemm_col(int lid, int v)
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
static inline loom_gemm_vec loom_gemm_load_clamped(__global const float *row,
                                                   int n, int N)
{
    if (n + GEMM_VW <= N)
        return GEMM_VLOAD(row + n);
    loom_gemm_vec x = (loom_gemm_vec)(0.0f);
#pragma unroll
    for (int i = 0; i < GEMM_VW; i++)
        x = loom_gemm_vset(x, i, row[min(n + i, N - 1)]);
    return x;
}

LOOM_CL_ACT(loom_gemm_act, loom_gemm_vec) /* loom-cl.h */

/* One rank-1 update of the register tile: acc[r][v] += a[r] * b[v]. */
static inline void loom_gemm_rank1(loom_gemm_vec acc[GEMM_MWI][GEMM_NV],
                                   const float a[GEMM_MWI],
                                   const loom_gemm_vec b[GEMM_NV])
{
#pragma unroll
    for (int r = 0; r < GEMM_MWI; r++) {
        const loom_gemm_vec ar = (loom_gemm_vec)(a[r]);
#pragma unroll
        for (int v = 0; v < GEMM_NV; v++)
            acc[r][v] = fma(ar, b[v], acc[r][v]);
    }
}

#if GEMM_LOCAL < 2
/* acc += A[ap rows][0..K) . B[0..K)[col vectors], both read from global
 * memory. `edge` is a literal at both call sites, so each gets its own
 * copy of the loop: 0 when all of the work-group's columns are below N
 * (plain vector loads), 1 otherwise (clamped loads). */
static inline void
loom_gemm_accumulate_global(loom_gemm_vec acc[GEMM_MWI][GEMM_NV], int K,
                            __global const float *ap[GEMM_MWI],
                            __global const float *B, int ldb,
                            const int col[GEMM_NV], int n_left,
                            const int edge)
{
    GEMM_UNROLL_K
    for (int k = 0; k < K; k++) {
        __global const float *bk = B + (size_t)k * ldb;
        float a[GEMM_MWI];
        loom_gemm_vec b[GEMM_NV];
#pragma unroll
        for (int v = 0; v < GEMM_NV; v++)
            b[v] = edge ? loom_gemm_load_clamped(bk, col[v], n_left)
                        : GEMM_VLOAD(bk + col[v]);
#pragma unroll
        for (int r = 0; r < GEMM_MWI; r++)
            a[r] = ap[r][k];
        loom_gemm_rank1(acc, a, b);
    }
}
#endif

/* The kernel's body; c_trans and has_r are literals in loom_gemm_f32,
 * arguments of loom_gemm_f32_ex (see there). Bs and As: the kernel-scope
 * local slices (unused, and 0, in mode 0). */
static inline void
loom_gemm_f32_body(int M, int N, int K, __global const float *A, int lda,
                   int a_off, __global const float *B, int ldb, int b_off,
                   __global const float *bias, int has_bias, __global float *C,
                   int ldc, int c_off, int act, float act_a, float act_b,
                   int batches, int batch_a, int batch_b, int batch_c,
                   const int c_trans, __global const float *R,
                   const int has_r, __local loom_gemm_vec *Bs,
                   __local float *As)
{
    const int lid_n = get_local_id(0);
    const int lid_m = get_local_id(1);
    const int m_grp = get_group_id(1) * GEMM_MWG; /* first row of group */
    const int m0 = m_grp + lid_m * GEMM_MWI;      /* first row of item */
    /* Columns: the group stores [n_store, min(n_store + NWG, N)). The last
     * group along N, when N >= NWG, computes the NWG columns ending at N
     * instead (overlapping its neighbour, whose columns it does not store),
     * so that it too reads whole vectors; only when N < NWG does a group
     * reach past N ("edge": clamped, scalar loads). All uniform in the
     * group. */
    const int n_store = get_group_id(0) * GEMM_NWG;
    const int n_grp = n_store + GEMM_NWG > N && N >= GEMM_NWG
                          ? N - GEMM_NWG : n_store; /* first column computed */
    const int edge = n_grp + GEMM_NWG > N;
    const int n_skip = n_store - n_grp; /* leading columns not stored */

    /* matrix get_group_id(2) of a batch (batches == global size 2) */
    const size_t t = get_group_id(2);
    (void)batches;
    A += a_off + t * (size_t)batch_a;
    B += b_off + t * (size_t)batch_b + n_grp;
    /* C (and R) at the group's first column: + n_grp, or + n_grp * ldc
     * when C is stored transposed */
    const size_t c_grp = c_off + t * (size_t)batch_c +
                         (c_trans ? (size_t)n_grp * ldc : (size_t)n_grp);
    C += c_grp;
    if (has_r)
        R += c_grp;
    if (has_bias == 1)
        bias += n_grp;

    int col[GEMM_NV]; /* columns of the item's vectors, from n_grp */
#pragma unroll
    for (int v = 0; v < GEMM_NV; v++)
        col[v] = loom_gemm_col(lid_n, v);
    const int n_left = N - n_grp; /* columns of this group below N */

    loom_gemm_vec acc[GEMM_MWI][GEMM_NV];
#pragma unroll
    for (int r = 0; r < GEMM_MWI; r++)
#pragma unroll
        for (int v = 0; v < GEMM_NV; v++)
            acc[r][v] = (loom_gemm_vec)(0.0f);

#if GEMM_LOCAL < 1
    (void)Bs;
#endif
#if GEMM_LOCAL < 2
    (void)As;
    /* The item's rows of A, read from global memory; rows past M are
     * clamped to M-1 (computed, never stored). */
    __global const float *ap[GEMM_MWI];
#pragma unroll
    for (int r = 0; r < GEMM_MWI; r++)
        ap[r] = A + (size_t)min(m0 + r, M - 1) * lda;
#endif

    /* Mode 1 stages B only where that pays: B of at least GEMM_STAGE_MIN
     * elements and more than one row of tiles. The choice depends on the
     * arguments alone, so every work-item of the NDRange makes the same
     * one, as the barriers of the staged loop require. */
#if GEMM_LOCAL == 0
    const int staged = 0;
#elif GEMM_LOCAL == 1
    const int staged =
        (long)K * N >= (long)GEMM_STAGE_MIN && M > GEMM_MWI && K >= GEMM_KWG;
#else
    const int staged = 1;
#endif

#if GEMM_LOCAL < 2
    if (!staged) {
        /* A and B read in place; nothing to do for a work-item whose rows
         * all lie past M. */
        if (m0 >= M)
            ;
        else if (edge)
            loom_gemm_accumulate_global(acc, K, ap, B, ldb, col, n_left, 1);
        else
            loom_gemm_accumulate_global(acc, K, ap, B, ldb, col, n_left, 0);
    }
#endif

#if GEMM_LOCAL >= 1
    if (staged) {
        const int lid = lid_m * GEMM_WGN + lid_n;
        for (int k0 = 0; k0 < K; k0 += GEMM_KWG) {
            /* Cooperative copies: consecutive work-items take consecutive
             * vectors of one B row (and consecutive k of one A row). Columns
             * and rows past the edge are clamped; k past K is zero. */
            for (int i = lid; i < GEMM_BSV; i += GEMM_WGS) {
                const int kk = i / (GEMM_NWG / GEMM_VW);
                const int c = i % (GEMM_NWG / GEMM_VW) * GEMM_VW;
                loom_gemm_vec x = (loom_gemm_vec)(0.0f);
                if (k0 + kk < K) {
                    __global const float *bk = B + (size_t)(k0 + kk) * ldb;
                    x = edge ? loom_gemm_load_clamped(bk, c, n_left)
                             : GEMM_VLOAD(bk + c);
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
            for (int i = lid; i < GEMM_BSV; i += GEMM_WGS) {
                const int k = k0 + GEMM_KWG + i / (GEMM_NWG / GEMM_VW);
                const int c = i % (GEMM_NWG / GEMM_VW) * GEMM_VW;
                if (k < K)
                    GEMM_PREFETCH_LINE(B + (size_t)k * ldb +
                                       min(c, n_left - 1));
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
                    loom_gemm_vec b[GEMM_NV];
#pragma unroll
                    for (int r = 0; r < GEMM_MWI; r++)
#if GEMM_LOCAL == 2
                        a[r] = As[kk * (GEMM_MWG + GEMM_PAD) +
                                  lid_m * GEMM_MWI + r];
#else
                        a[r] = ap[r][k0 + kk];
#endif
#pragma unroll
                    for (int v = 0; v < GEMM_NV; v++)
                        b[v] = Bs[(kk * GEMM_NWG + col[v]) / GEMM_VW];
                    loom_gemm_rank1(acc, a, b);
                }
            }
            barrier(CLK_LOCAL_MEM_FENCE);
        }
    }
#endif

    /* Epilogue: bias, activation, store of the rows below M and of the
     * group's own columns below N. */
    loom_gemm_vec bv[GEMM_NV];
#pragma unroll
    for (int v = 0; v < GEMM_NV; v++)
        bv[v] = has_bias != 1 ? (loom_gemm_vec)(0.0f)
                : edge        ? loom_gemm_load_clamped(bias, col[v], n_left)
                              : GEMM_VLOAD(bias + col[v]);
    if (c_trans) {
        /* C[n][m]: the activation on the vectors (a switch per vector),
         * then element stores, a tile column's GEMM_MWI floats adjacent;
         * R gathered where it is added */
#pragma unroll
        for (int v = 0; v < GEMM_NV; v++) {
            loom_gemm_vec y[GEMM_MWI];
#pragma unroll
            for (int r = 0; r < GEMM_MWI; r++) {
                const int m = min(m0 + r, M - 1);
                y[r] = acc[r][v] + bv[v] + (has_bias == 2 ? bias[m] : 0.0f);
                if (has_r) {
#pragma unroll
                    for (int i = 0; i < GEMM_VW; i++) {
                        const int c = min(col[v] + i, n_left - 1);
                        y[r] = loom_gemm_vset(y[r], i, loom_gemm_vget(y[r], i) +
                                                           R[(size_t)c * ldc + m]);
                    }
                }
                y[r] = loom_gemm_act(y[r], act, act_a, act_b);
            }
#pragma unroll
            for (int i = 0; i < GEMM_VW; i++) {
                const int c = col[v] + i;
                if (c < n_skip || c >= n_left)
                    continue;
                __global float *cc = C + (size_t)c * ldc + m0;
#pragma unroll
                for (int r = 0; r < GEMM_MWI; r++)
                    if (m0 + r < M)
                        cc[r] = loom_gemm_vget(y[r], i);
            }
        }
        return;
    }
#pragma unroll
    for (int r = 0; r < GEMM_MWI; r++) {
        if (m0 + r >= M)
            break;
        __global float *cr = C + (size_t)(m0 + r) * ldc;
        __global const float *rr = R + (has_r ? (size_t)(m0 + r) * ldc : 0);
        const float br = has_bias == 2 ? bias[m0 + r] : 0.0f;
#pragma unroll
        for (int v = 0; v < GEMM_NV; v++) {
            loom_gemm_vec y = acc[r][v] + bv[v] + br;
            if (col[v] >= n_skip && col[v] + GEMM_VW <= n_left) {
                if (has_r)
                    y += GEMM_VLOAD(rr + col[v]);
                GEMM_VSTORE(loom_gemm_act(y, act, act_a, act_b), cr + col[v]);
            } else {
#pragma unroll
                for (int i = 0; i < GEMM_VW; i++)
                    if (col[v] + i >= n_skip && col[v] + i < n_left) {
                        float f = loom_gemm_vget(y, i);
                        if (has_r)
                            f += rr[col[v] + i];
                        cr[col[v] + i] = loom_act_f32(f, act, act_a, act_b);
                    }
            }
        }
    }
}

/* Kernel-scope local slices of the group's B columns (row-major, GEMM_NWG
 * floats per k: a packed copy) and, in mode 2, of its A rows (transposed:
 * k-major, so that an item's GEMM_MWI values for one k are adjacent), as
 * OpenCL requires of __local variables. */
#if GEMM_LOCAL >= 1
#define GEMM_LOCAL_BS __local loom_gemm_vec Bs[GEMM_BSV];
#else
#define GEMM_LOCAL_BS __local loom_gemm_vec *Bs = 0;
#endif
#if GEMM_LOCAL == 2
#define GEMM_LOCAL_AS __local float As[GEMM_KWG * (GEMM_MWG + GEMM_PAD)];
#else
#define GEMM_LOCAL_AS __local float *As = 0;
#endif

__kernel __attribute__((reqd_work_group_size(GEMM_WGN, GEMM_WGM, 1)))
void loom_gemm_f32(int M, int N, int K,
                   __global const float *A, int lda, int a_off,
                   __global const float *B, int ldb, int b_off,
                   __global const float *bias, int has_bias,
                   __global float *C, int ldc, int c_off, int act,
                   float act_a, float act_b, int batches, int batch_a,
                   int batch_b, int batch_c)
{
    GEMM_LOCAL_BS
    GEMM_LOCAL_AS
    loom_gemm_f32_body(M, N, K, A, lda, a_off, B, ldb, b_off, bias, has_bias,
                       C, ldc, c_off, act, act_a, act_b, batches, batch_a,
                       batch_b, batch_c, 0, C, 0, Bs, As);
}

/* loom_gemm_f32_ex: loom_gemm_f32's arguments, then
 *   c_trans  1: C stored transposed, C[c_off + n*ldc + m] (ldc >= M), the
 *            NCHW output of a convolution computed as colT . Wt with no
 *            transpose after it; 0: as loom_gemm_f32
 *   R, has_r 1: a summand read at each stored element's own index (the
 *            same offsets, ldc, batch_c and orientation as C) and added
 *            after the bias, before the activation: a residual Add fused
 *            into the convolution before it; 0: R not read (may be C)
 * The same launch geometry, local memory and rounding (one add after the
 * sum, as Add after the GEMM). */
__kernel __attribute__((reqd_work_group_size(GEMM_WGN, GEMM_WGM, 1)))
void loom_gemm_f32_ex(int M, int N, int K,
                      __global const float *A, int lda, int a_off,
                      __global const float *B, int ldb, int b_off,
                      __global const float *bias, int has_bias,
                      __global float *C, int ldc, int c_off, int act,
                      float act_a, float act_b, int batches, int batch_a,
                      int batch_b, int batch_c, int c_trans,
                      __global const float *R, int has_r)
{
    GEMM_LOCAL_BS
    GEMM_LOCAL_AS
    loom_gemm_f32_body(M, N, K, A, lda, a_off, B, ldb, b_off, bias, has_bias,
                       C, ldc, c_off, act, act_a, act_b, batches, batch_a,
                       batch_b, batch_c, c_trans, R, has_r, Bs, As);
}

/* loom_gemv_f32: a GEMM of a few rows (M <= LOOM_GEMV_MAX_M) against
 * weights stored one output per row, as a classifier's Linear / Gemm with
 * transB keeps them:
 *
 *   C[c_off + m*ldc + n] = act( sum_k A[a_off + m*lda + k] * W[n*ldw + k]
 *                               + (has_bias ? bias[n] : 0) )
 *
 * for 0 <= m < M, 0 <= n < N. Memory-bound: each weight row is read once,
 * 16 floats at a time, for all M rows (the register-tiled GEMM would
 * stream W across tiles of 8 x 32, most of its rows past M). Any 1-D
 * global size, local size 1: work-item g takes n = g, g + gsize, ...
 * bias may be a NULL buffer when has_bias is 0. LOOM_GEMV_MAX_M: in
 * loom-cl.h (the host picks the kernel by it). */

__kernel void loom_gemv_f32(int M, int N, int K, __global const float *A,
                            int lda, int a_off, __global const float *W,
                            int ldw, __global const float *bias, int has_bias,
                            __global float *C, int ldc, int c_off, int act,
                            float act_a, float act_b)
{
    A += a_off;
    C += c_off;
    for (int n = get_global_id(0); n < N; n += get_global_size(0)) {
        __global const float *w = W + (size_t)n * ldw;
        float16 acc[LOOM_GEMV_MAX_M];
#pragma unroll
        for (int r = 0; r < LOOM_GEMV_MAX_M; r++)
            acc[r] = (float16)(0.0f);
        int k = 0;
        for (; k + 16 <= K; k += 16) {
            const float16 wv = vload16(0, w + k);
#pragma unroll
            for (int r = 0; r < LOOM_GEMV_MAX_M; r++)
                if (r < M)
                    acc[r] = fma(vload16(0, A + (size_t)r * lda + k), wv, acc[r]);
        }
#pragma unroll
        for (int r = 0; r < LOOM_GEMV_MAX_M; r++) {
            if (r < M) {
                const float8 s8 = acc[r].lo + acc[r].hi;
                const float4 s4 = s8.lo + s8.hi;
                const float2 s2 = s4.lo + s4.hi;
                float s = s2.x + s2.y;
                for (int kk = k; kk < K; kk++)
                    s = fma(A[(size_t)r * lda + kk], w[kk], s);
                if (has_bias)
                    s += bias[n];
                C[(size_t)r * ldc + n] = loom_act_f32(s, act, act_a, act_b);
            }
        }
    }
}
