/*
 * core-impl.h - private helpers shared by every module: errors, logging,
 * checked arithmetic, the tensor struct.
 */
#ifndef LOOM_CORE_IMPL_H
#define LOOM_CORE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include "loom/loom.h"

#if defined(__GNUC__)
#define LOOM__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define LOOM__PRINTF(f, a)
#endif

/* Record a message for loom_last_error() and return status. */
loom_status loom__err(loom_status status, const char *fmt, ...) LOOM__PRINTF(2, 3);
/* Prefix the current message with "prefix: " (adds context on the way up). */
loom_status loom__err_prefix(loom_status status, const char *fmt, ...) LOOM__PRINTF(2, 3);

void loom__log(loom_log_level level, const char *fmt, ...) LOOM__PRINTF(2, 3);
/* Report progress through the callback of loom_progress_set (if any). */
void loom__progress(const char *task, uint64_t done, uint64_t total);

/* Checked arithmetic: return false on overflow (or a negative operand). */
static inline bool loom__mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool loom__mul_i64(int64_t a, int64_t b, int64_t *out)
{
    return a >= 0 && b >= 0 && !__builtin_mul_overflow(a, b, out);
}
static inline bool loom__add_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}

/* Element count of a shape; false on negative dims, or when the product
 * of the non-zero dims overflows or exceeds 2^62 (so that byte counts,
 * strides and loops over outer dims all stay representable). */
bool loom__numel(int rank, const int64_t *dims, int64_t *out);

/* fopen(path, "rb") for regular files only: FIFOs, devices and folders
 * fail at once with errno EINVAL instead of blocking or misreading. */
FILE *loom__fopen_regular(const char *path, struct stat *sb);
/* ---- output files ----
 *
 * Every file loom writes goes through a temporary file in the target's
 * folder (".<name>.tmp-XXXXXX"), every write, fsync and close checked,
 * then renamed into place: on any failure (ENOSPC, EFBIG, EIO, ...) the
 * target is as it was, no temporary file stays, and the error
 * (LOOM_E_WRITE) names the target. A target that exists and is not a
 * regular file (after links: a device, FIFO, socket or folder) is never
 * replaced: LOOM_E_WRITE before anything is written, and checked again
 * just before the rename. */
typedef struct {
    const char *path; /* the target */
    char *tmp;        /* the temporary file */
    int fd;           /* open on tmp, or -1 once its writer closed it */
} loom__outfile;

/* LOOM_E_WRITE when path exists and is not a regular file. */
loom_status loom__out_check(const char *path);
/* Check the target and create the temporary file (fd open on it). */
loom_status loom__out_begin(const char *path, loom__outfile *o);
loom_status loom__out_write(loom__outfile *o, const void *data, size_t n);
/* fsync and close (a writer of its own may have closed fd and set it
 * to -1: the file is reopened for the fsync), check the target again,
 * rename. On failure the temporary file is removed. */
loom_status loom__out_finish(loom__outfile *o);
/* Close and remove the temporary file (after a failure elsewhere). */
void loom__out_cancel(loom__outfile *o);
/* Write head then body to path as one output file. */
loom_status loom__write_file(const char *path, const void *head, size_t n_head, const void *body,
                             size_t n_body);

/* "1.3 GiB", "12.0 MiB", "500 bytes". */
const char *loom__bytes_str(uint64_t n, char *buf, size_t size);
/* LOOM_E_LIMIT, naming source, what and both sizes, when need > budget
 * (loom_memory_budget() or the caller's). */
loom_status loom__budget_check(const char *source, const char *what, uint64_t need, uint64_t budget);

/* Monotonic clock, microseconds. */
double loom__now_us(void);

char *loom__strdup(const char *s);
/* malloc/calloc that fail cleanly for size 0 too (return a unique ptr). */
void *loom__malloc(size_t n);
void *loom__calloc(size_t count, size_t size);

/* Tensors are reference counted inside the library so that folded
 * constants and initializers can be shared between a model and the
 * sessions made from it. */
struct loom_tensor {
    loom_dtype dtype;
    int rank;
    int64_t dims[LOOM_MAX_RANK];
    int64_t numel;
    size_t nbytes;
    void *data;
    int refs;
};

loom_tensor *loom__tensor_ref(loom_tensor *t);
/* Tensor with the given shape whose data is uninitialised. */
loom_status loom__tensor_new(loom_dtype dtype, int rank, const int64_t *dims,
                             loom_tensor **out);
/* The same, all zeros (calloc: pages untouched until written). */
loom_status loom__tensor_new_zero(loom_dtype dtype, int rank, const int64_t *dims, loom_tensor **out);
bool loom__dtype_valid(loom_dtype dtype);
/* float16, bfloat16, float32, float64 */
bool loom__dtype_is_float(loom_dtype dtype);
/* int8 ... uint64 (not bool) */
bool loom__dtype_is_int(loom_dtype dtype);
bool loom__dtype_is_unsigned(loom_dtype dtype);
/* IEEE half and bfloat16 bit patterns; narrowing rounds to nearest even,
 * overflows to infinity, keeps NaN a NaN. */
float loom__f16_to_f32(uint16_t h);
uint16_t loom__f32_to_f16(float f);
float loom__bf16_to_f32(uint16_t h);
uint16_t loom__f32_to_bf16(float f);
/* Format "[2,3,4]" into buf. */
const char *loom__shape_str(int rank, const int64_t *dims, char *buf, size_t size);

#define LOOM__SHAPE_STR_MAX 200

/* The first line of a text file into buf, its line end cut (buf "" and
 * false when it cannot be read). */
bool loom__read_line(const char *path, char *buf, size_t size);

/* FNV-1a, 64-bit, of n bytes, continuing from h (LOOM__FNV_SEED to
 * start): the cache keys' hash. */
#define LOOM__FNV_SEED 1469598103934665603ull
uint64_t loom__fnv1a(const void *data, size_t n, uint64_t h);

/* ---- the cache folder (core/cache.c) ---- */
#define LOOM__CACHE_DIR_MAX 900
/* which reasons not to cache a user of the cache has said (zeroed static) */
typedef struct {
    int reason[5];
} loom__cache_warned;
/* The cache folder into buf (size LOOM__CACHE_DIR_MAX), made private when
 * missing; false when there is none we may use, with a warning once per
 * reason: "WHO: ...: THEN" (then: what happens instead). */
bool loom__cache_dir(char *buf, size_t size, const char *who, const char *then, loom__cache_warned *said);
/* A cache file opened for reading, *sb filled: -1 unless it is a regular
 * file of ours that only we can write (a link or another's file: warned
 * once, not removed). */
int loom__cache_open(const char *path, const char *who, loom__cache_warned *said, struct stat *sb);

#endif /* LOOM_CORE_IMPL_H */
