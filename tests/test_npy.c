/*
 * test_npy.c - .npy load/save: round trips for every dtype, files written
 * by numpy (bytes embedded below), every malformed-file path with its
 * status and message, and the atomic-save guarantees.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loom/loom.h"
#include "tmpdir.h"

/* ---------------------------------------------------------------------- */
/* A fresh temp folder per test                                            */
/* ---------------------------------------------------------------------- */

static void setup(void)
{
    tb_tmpdir("npy");
}

static void teardown(void)
{
    tb_tmpdir_remove();
}

TestSuite(npy, .init = setup, .fini = teardown);

#define dir tb_tmpdir_path()
#define tpath tb_tpath

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    if (n)
        cr_assert_eq(fwrite(data, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}

static size_t read_bytes(const char *path, unsigned char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n;
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static loom_tensor *make(loom_dtype dt, int rank, const int64_t *dims, const void *data)
{
    loom_tensor *t = NULL;
    cr_assert_eq(loom_tensor_create(dt, rank, dims, &t), LOOM_OK, "%s", loom_last_error());
    if (data && loom_tensor_nbytes(t))
        memcpy(loom_tensor_data(t), data, loom_tensor_nbytes(t));
    return t;
}

static loom_tensor *load_ok(const char *path)
{
    loom_tensor *t = NULL;
    loom_status st = loom_npy_load(path, &t);
    cr_assert_eq(st, LOOM_OK, "%s: %s (%s)", path, loom_status_name(st), loom_last_error());
    cr_assert_not_null(t);
    return t;
}

static void check_tensor(const loom_tensor *t, loom_dtype dt, int rank, const int64_t *dims,
                         const void *data)
{
    int64_t numel = 1;
    cr_assert_eq(loom_tensor_dtype(t), dt, "dtype %s, expected %s",
                 loom_dtype_name(loom_tensor_dtype(t)), loom_dtype_name(dt));
    cr_assert_eq(loom_tensor_rank(t), rank);
    for (int i = 0; i < rank; i++) {
        cr_assert_eq(loom_tensor_dims(t)[i], dims[i], "dim %d: %lld, expected %lld", i,
                     (long long)loom_tensor_dims(t)[i], (long long)dims[i]);
        numel *= dims[i];
    }
    cr_assert_eq(loom_tensor_numel(t), numel);
    cr_assert_eq(loom_tensor_nbytes(t), (size_t)numel * loom_dtype_size(dt));
    /* byte comparison: exact for every dtype, and distinguishes -0.0 */
    if (numel)
        cr_assert_eq(memcmp(loom_tensor_cdata(t), data, loom_tensor_nbytes(t)), 0,
                     "values differ");
}

/* Save t, load it back, check everything; returns the file size. */
static long round_trip(const char *name, loom_dtype dt, int rank, const int64_t *dims,
                       const void *data)
{
    loom_tensor *t = make(dt, rank, dims, data), *back;
    const char *path = tpath(name);
    struct stat sb;
    cr_assert_eq(loom_npy_save(path, t), LOOM_OK, "%s", loom_last_error());
    back = load_ok(path);
    check_tensor(back, dt, rank, dims, data);
    cr_assert_eq(stat(path, &sb), 0);
    loom_tensor_free(t);
    loom_tensor_free(back);
    return (long)sb.st_size;
}

/* An .npy file as numpy lays it out: magic, version major.0, header
 * length (2 bytes for 1.0, 4 for 2.0/3.0), the dict padded with spaces
 * and a '\n' to a multiple of 64, then data. Returns its size. */
static size_t npy_build(unsigned char *buf, int major, const char *dict, const void *data,
                        size_t dlen)
{
    size_t pre = major == 1 ? 10 : 12, len = strlen(dict), hlen;
    size_t total = pre + len + 1;
    hlen = len + 1 + (64 - total % 64) % 64;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
    if (major != 1) {
        buf[10] = (unsigned char)(hlen >> 16);
        buf[11] = (unsigned char)(hlen >> 24);
    }
    memcpy(buf + pre, dict, len);
    memset(buf + pre + len, ' ', hlen - len - 1);
    buf[pre + hlen - 1] = '\n';
    if (dlen)
        memcpy(buf + pre + hlen, data, dlen);
    return pre + hlen + dlen;
}

/* Load must fail with status st and a message holding path and every
 * one of the given fragments. */
static void expect_fail_file(const char *path, loom_status st, const char *frag1,
                             const char *frag2)
{
    loom_tensor *t = NULL;
    loom_status got = loom_npy_load(path, &t);
    const char *msg = loom_last_error();
    cr_assert_eq(got, st, "%s: got %s, expected %s (%s)", path, loom_status_name(got),
                 loom_status_name(st), msg);
    cr_assert_null(t, "no tensor on failure");
    cr_assert(strstr(msg, path) != NULL, "message does not name the file: %s", msg);
    cr_assert(strchr(msg, '\n') == NULL, "message is not one line: %s", msg);
    if (frag1)
        cr_assert(strstr(msg, frag1) != NULL, "message lacks \"%s\": %s", frag1, msg);
    if (frag2)
        cr_assert(strstr(msg, frag2) != NULL, "message lacks \"%s\": %s", frag2, msg);
}

static void expect_fail(const void *bytes, size_t n, loom_status st, const char *frag1,
                        const char *frag2)
{
    const char *path = tpath("bad.npy");
    write_bytes(path, bytes, n);
    expect_fail_file(path, st, frag1, frag2);
}

static void expect_fail_dict(const char *dict, const void *data, size_t dlen, loom_status st,
                             const char *frag1, const char *frag2)
{
    unsigned char buf[4096];
    size_t n = npy_build(buf, 1, dict, data, dlen);
    expect_fail(buf, n, st, frag1, frag2);
}

/* ---------------------------------------------------------------------- */
/* Files written by numpy 1.24.2 (exact bytes)                            */
/* ---------------------------------------------------------------------- */

/* np.save(f, np.array([[1.5, -2.25, 3], [0.125, -0.0, 1e30]], dtype='<f4')): v1.0, 152 bytes */
static const unsigned char np_f4_2x3[] = {
    0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7b, 0x27, 0x64, 0x65, 0x73, 0x63,
    0x72, 0x27, 0x3a, 0x20, 0x27, 0x3c, 0x66, 0x34, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f, 0x72, 0x74,
    0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61, 0x6c, 0x73,
    0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x32, 0x2c, 0x20,
    0x33, 0x29, 0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a,
    0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x10, 0xc0, 0x00, 0x00, 0x40, 0x40, 0x00, 0x00, 0x00, 0x3e,
    0x00, 0x00, 0x00, 0x80, 0xca, 0xf2, 0x49, 0x71,
};
/* np.lib.format.write_array(f, np.array([[1, -2], [3, 127], [-128, 0]], dtype=np.int8),
 *                            version=(2, 0)): '|i1', 4-byte header length, 134 bytes */
static const unsigned char np_i1_v2[] = {
    0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x02, 0x00, 0x74, 0x00, 0x00, 0x00, 0x7b, 0x27, 0x64, 0x65,
    0x73, 0x63, 0x72, 0x27, 0x3a, 0x20, 0x27, 0x7c, 0x69, 0x31, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f,
    0x72, 0x74, 0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61,
    0x6c, 0x73, 0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x33,
    0x2c, 0x20, 0x32, 0x29, 0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a,
    0x01, 0xfe, 0x03, 0x7f, 0x80, 0x00,
};
/* np.lib.format.write_array(f, np.array([1, -2, 2147483647], dtype=np.int32),
 *                            version=(3, 0)): 140 bytes */
static const unsigned char np_i4_v3[] = {
    0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x03, 0x00, 0x74, 0x00, 0x00, 0x00, 0x7b, 0x27, 0x64, 0x65,
    0x73, 0x63, 0x72, 0x27, 0x3a, 0x20, 0x27, 0x3c, 0x69, 0x34, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f,
    0x72, 0x74, 0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61,
    0x6c, 0x73, 0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x33,
    0x2c, 0x29, 0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a,
    0x01, 0x00, 0x00, 0x00, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
};
/* np.save(f, np.array(-7, dtype=np.int64)): 0-d, shape (), 136 bytes */
static const unsigned char np_i8_scalar[] = {
    0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7b, 0x27, 0x64, 0x65, 0x73, 0x63,
    0x72, 0x27, 0x3a, 0x20, 0x27, 0x3c, 0x69, 0x38, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f, 0x72, 0x74,
    0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61, 0x6c, 0x73,
    0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x29, 0x2c, 0x20,
    0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a,
    0xf9, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};
/* np.save(f, np.array([True, False, True])): '|b1', shape (3,), 131 bytes */
static const unsigned char np_b1[] = {
    0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7b, 0x27, 0x64, 0x65, 0x73, 0x63,
    0x72, 0x27, 0x3a, 0x20, 0x27, 0x7c, 0x62, 0x31, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f, 0x72, 0x74,
    0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61, 0x6c, 0x73,
    0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x33, 0x2c, 0x29,
    0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a,
    0x01, 0x00, 0x01,
};
/* np.save(f, np.zeros((2, 0, 3), dtype=np.uint8)): no data bytes, 128 bytes */
static const unsigned char np_u1_empty[] = {
    0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7b, 0x27, 0x64, 0x65, 0x73, 0x63,
    0x72, 0x27, 0x3a, 0x20, 0x27, 0x7c, 0x75, 0x31, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f, 0x72, 0x74,
    0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61, 0x6c, 0x73,
    0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x32, 0x2c, 0x20,
    0x30, 0x2c, 0x20, 0x33, 0x29, 0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a,
};

static void load_embedded(const char *name, const unsigned char *bytes, size_t n,
                          loom_dtype dt, int rank, const int64_t *dims, const void *data)
{
    loom_tensor *t;
    write_bytes(tpath(name), bytes, n);
    t = load_ok(tpath(name));
    check_tensor(t, dt, rank, dims, data);
    loom_tensor_free(t);
}

Test(npy, numpy_v1_float32_2x3)
{
    const float want[6] = {1.5f, -2.25f, 3.0f, 0.125f, -0.0f, 1e30f};
    load_embedded("f4.npy", np_f4_2x3, sizeof np_f4_2x3, LOOM_F32, 2, (int64_t[]){2, 3}, want);
}

Test(npy, numpy_v2_int8)
{
    const int8_t want[6] = {1, -2, 3, 127, -128, 0};
    load_embedded("i1.npy", np_i1_v2, sizeof np_i1_v2, LOOM_I8, 2, (int64_t[]){3, 2}, want);
}

Test(npy, numpy_v3_int32)
{
    const int32_t want[3] = {1, -2, 2147483647};
    load_embedded("i4.npy", np_i4_v3, sizeof np_i4_v3, LOOM_I32, 1, (int64_t[]){3}, want);
}

Test(npy, numpy_int64_scalar)
{
    const int64_t want = -7;
    load_embedded("i8.npy", np_i8_scalar, sizeof np_i8_scalar, LOOM_I64, 0, NULL, &want);
}

Test(npy, numpy_bool)
{
    const uint8_t want[3] = {1, 0, 1};
    load_embedded("b1.npy", np_b1, sizeof np_b1, LOOM_BOOL, 1, (int64_t[]){3}, want);
}

Test(npy, numpy_uint8_with_zero_dim)
{
    loom_tensor *t;
    write_bytes(tpath("u1.npy"), np_u1_empty, sizeof np_u1_empty);
    t = load_ok(tpath("u1.npy"));
    check_tensor(t, LOOM_U8, 3, (int64_t[]){2, 0, 3}, NULL);
    cr_assert_eq(loom_tensor_numel(t), 0);
    cr_assert_eq(loom_tensor_nbytes(t), 0);
    loom_tensor_free(t);
}

Test(npy, header_variants_accepted)
{
    /* Python-literal spellings numpy itself can produce or read: double
     * quotes, another key order, no trailing comma, '<i1'/'<u1', spaces */
    unsigned char buf[512];
    const int8_t i8[2] = {-5, 6};
    const uint8_t u8[2] = {200, 7};
    loom_tensor *t;
    size_t n;

    n = npy_build(buf, 1, "{\"shape\": (2,), \"fortran_order\": False, \"descr\": \"<i1\"}", i8, 2);
    write_bytes(tpath("a.npy"), buf, n);
    t = load_ok(tpath("a.npy"));
    check_tensor(t, LOOM_I8, 1, (int64_t[]){2}, i8);
    loom_tensor_free(t);

    n = npy_build(buf, 1, "{ 'descr' : '<u1' , 'fortran_order' : False , 'shape' : ( 1 , 2 ) }", u8, 2);
    write_bytes(tpath("b.npy"), buf, n);
    t = load_ok(tpath("b.npy"));
    check_tensor(t, LOOM_U8, 2, (int64_t[]){1, 2}, u8);
    loom_tensor_free(t);
}

/* ---------------------------------------------------------------------- */
/* Round trips through loom_npy_save / loom_npy_load                       */
/* ---------------------------------------------------------------------- */

Test(npy, round_trip_float32)
{
    const float v[6] = {0.0f, -0.0f, 1.0f / 3.0f, -1e-38f, 3.4028235e38f, INFINITY};
    round_trip("f32.npy", LOOM_F32, 2, (int64_t[]){3, 2}, v);
}

Test(npy, round_trip_float32_nan_bits)
{
    /* NaN payloads survive byte for byte */
    const uint32_t bits[2] = {0x7fc00001u, 0xffa00000u};
    round_trip("nan.npy", LOOM_F32, 1, (int64_t[]){2}, bits);
}

Test(npy, round_trip_int8)
{
    const int8_t v[5] = {-128, -1, 0, 1, 127};
    round_trip("i8.npy", LOOM_I8, 1, (int64_t[]){5}, v);
}

Test(npy, round_trip_uint8)
{
    const uint8_t v[4] = {0, 1, 128, 255};
    round_trip("u8.npy", LOOM_U8, 3, (int64_t[]){2, 1, 2}, v);
}

Test(npy, round_trip_int32)
{
    const int32_t v[4] = {INT32_MIN, -1, 0, INT32_MAX};
    round_trip("i32.npy", LOOM_I32, 2, (int64_t[]){2, 2}, v);
}

Test(npy, round_trip_int64)
{
    const int64_t v[3] = {INT64_MIN, 0x0123456789abcdefLL, INT64_MAX};
    round_trip("i64.npy", LOOM_I64, 1, (int64_t[]){3}, v);
}

Test(npy, round_trip_bool)
{
    const uint8_t v[6] = {1, 0, 0, 1, 1, 0};
    round_trip("bool.npy", LOOM_BOOL, 2, (int64_t[]){2, 3}, v);
}

Test(npy, round_trip_16_and_64_bit_dtypes)
{
    /* each with numpy's descr in the saved header */
    const uint16_t h[3] = {0x3c00, 0xc000, 0x7c00}; /* float16 1, -2, inf */
    const double d[2] = {1.0 / 3.0, -1e300};
    const int16_t i16[2] = {INT16_MIN, INT16_MAX};
    const uint16_t u16[2] = {0, UINT16_MAX};
    const uint32_t u32[2] = {0, UINT32_MAX};
    const uint64_t u64[2] = {1, UINT64_MAX};
    const struct {
        loom_dtype dt;
        const void *v;
        const char *descr;
    } cases[] = {{LOOM_F16, h, "'<f2'"},    {LOOM_F64, d, "'<f8'"},    {LOOM_I16, i16, "'<i2'"},
                 {LOOM_U16, u16, "'<u2'"}, {LOOM_U32, u32, "'<u4'"}, {LOOM_U64, u64, "'<u8'"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[32], hdr[200] = "";
        unsigned char buf[256];
        int64_t dims[1] = {cases[i].dt == LOOM_F16 ? 3 : 2};
        snprintf(name, sizeof name, "w%zu.npy", i);
        round_trip(name, cases[i].dt, 1, dims, cases[i].v);
        read_bytes(tpath(name), buf, sizeof buf);
        memcpy(hdr, buf + 10, 60);
        cr_assert(strstr(hdr, cases[i].descr) != NULL, "%s: %s", loom_dtype_name(cases[i].dt), hdr);
    }
}

Test(npy, bfloat16_has_no_npy_type)
{
    loom_tensor *t = make(LOOM_BF16, 1, (int64_t[]){1}, (uint16_t[]){0x3f80});
    cr_assert_eq(loom_npy_save(tpath("bf.npy"), t), LOOM_E_DTYPE);
    cr_assert(strstr(loom_last_error(), "bfloat16") != NULL, "%s", loom_last_error());
    loom_tensor_free(t);
}

Test(npy, round_trip_scalars)
{
    const float f = -2.5f;
    const int8_t i8 = -100;
    const int32_t i32 = 123456;
    const int64_t i64 = -9000000000LL;
    const uint8_t u8 = 250, b = 1;
    round_trip("s_f32.npy", LOOM_F32, 0, NULL, &f);
    round_trip("s_i8.npy", LOOM_I8, 0, NULL, &i8);
    round_trip("s_u8.npy", LOOM_U8, 0, NULL, &u8);
    round_trip("s_i32.npy", LOOM_I32, 0, NULL, &i32);
    round_trip("s_i64.npy", LOOM_I64, 0, NULL, &i64);
    round_trip("s_bool.npy", LOOM_BOOL, 0, NULL, &b);
}

Test(npy, round_trip_zero_dims)
{
    static const loom_dtype dts[] = {LOOM_F32, LOOM_I8, LOOM_U8, LOOM_I32, LOOM_I64, LOOM_BOOL};
    for (size_t i = 0; i < sizeof dts / sizeof dts[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "zero%zu.npy", i);
        round_trip(name, dts[i], 3, (int64_t[]){4, 0, 2}, NULL);
        snprintf(name, sizeof name, "empty%zu.npy", i);
        round_trip(name, dts[i], 1, (int64_t[]){0}, NULL);
    }
}

Test(npy, round_trip_rank8)
{
    int32_t v[2 * 3 * 2];
    for (int i = 0; i < 12; i++)
        v[i] = i * 1000 - 5000;
    round_trip("r8.npy", LOOM_I32, 8, (int64_t[]){1, 2, 1, 3, 1, 1, 2, 1}, v);
}

Test(npy, saved_layout_is_numpy_compatible)
{
    /* what numpy needs to read loom's files: magic, version 1.0, a Python
     * dict with the three keys, a 1-tuple written "(3,)", the header
     * padded to a multiple of 64 and ended by '\n', then the data */
    unsigned char buf[256];
    const int32_t v[3] = {7, -8, 9};
    loom_tensor *t = make(LOOM_I32, 1, (int64_t[]){3}, v);
    size_t n, hlen;
    char hdr[256];
    cr_assert_eq(loom_npy_save(tpath("l.npy"), t), LOOM_OK, "%s", loom_last_error());
    n = read_bytes(tpath("l.npy"), buf, sizeof buf);
    cr_assert_eq(memcmp(buf, "\x93NUMPY\x01\x00", 8), 0);
    hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
    cr_assert_eq((10 + hlen) % 64, 0, "header of %zu bytes is not 64-aligned", 10 + hlen);
    cr_assert_eq(n, 10 + hlen + sizeof v);
    cr_assert_eq(buf[10 + hlen - 1], '\n');
    memcpy(hdr, buf + 10, hlen);
    hdr[hlen] = '\0';
    cr_assert(strstr(hdr, "'descr': '<i4'") != NULL, "%s", hdr);
    cr_assert(strstr(hdr, "'fortran_order': False") != NULL, "%s", hdr);
    cr_assert(strstr(hdr, "'shape': (3,)") != NULL, "%s", hdr);
    cr_assert_eq(memcmp(buf + 10 + hlen, v, sizeof v), 0);
    loom_tensor_free(t);
}

Test(npy, saved_scalar_shape_is_empty_tuple)
{
    unsigned char buf[256];
    const float v = 1.0f;
    loom_tensor *t = make(LOOM_F32, 0, NULL, &v);
    size_t n;
    cr_assert_eq(loom_npy_save(tpath("s.npy"), t), LOOM_OK, "%s", loom_last_error());
    n = read_bytes(tpath("s.npy"), buf, sizeof buf - 1);
    buf[n] = '\0';
    cr_assert(strstr((char *)buf + 10, "'shape': ()") != NULL, "%s", buf + 10);
    cr_assert_eq(n % 64, 4, "64-byte header then 4 data bytes, file is %zu bytes", n);
    loom_tensor_free(t);
}

/* ---------------------------------------------------------------------- */
/* Malformed files                                                         */
/* ---------------------------------------------------------------------- */

#define F4_OK "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
static const float six[6] = {1, 2, 3, 4, 5, 6};

Test(npy, control_case_loads)
{
    /* the builder makes valid files: the cases below each change one thing */
    unsigned char buf[512];
    size_t n = npy_build(buf, 1, F4_OK, six, sizeof six);
    loom_tensor *t;
    write_bytes(tpath("ok.npy"), buf, n);
    t = load_ok(tpath("ok.npy"));
    check_tensor(t, LOOM_F32, 2, (int64_t[]){2, 3}, six);
    loom_tensor_free(t);
    n = npy_build(buf, 2, F4_OK, six, sizeof six);
    write_bytes(tpath("ok2.npy"), buf, n);
    t = load_ok(tpath("ok2.npy"));
    check_tensor(t, LOOM_F32, 2, (int64_t[]){2, 3}, six);
    loom_tensor_free(t);
}

Test(npy, missing_file)
{
    expect_fail_file(tpath("nope.npy"), LOOM_E_NOT_FOUND, "No such file", NULL);
}

Test(npy, null_arguments)
{
    loom_tensor *t = NULL;
    cr_assert_eq(loom_npy_load(NULL, &t), LOOM_E_INVALID_ARG);
    cr_assert_eq(loom_npy_load(tpath("x.npy"), NULL), LOOM_E_INVALID_ARG);
    cr_assert_eq(loom_npy_save(tpath("x.npy"), NULL), LOOM_E_INVALID_ARG);
    t = make(LOOM_F32, 0, NULL, NULL);
    cr_assert_eq(loom_npy_save(NULL, t), LOOM_E_INVALID_ARG);
    cr_assert_str_not_empty(loom_last_error());
    loom_tensor_free(t);
}

Test(npy, empty_file)
{
    expect_fail("", 0, LOOM_E_DATA_INVALID, "truncated", "magic");
}

Test(npy, short_file)
{
    expect_fail("\x93NUM", 4, LOOM_E_DATA_INVALID, "truncated", "magic");
}

Test(npy, bad_magic)
{
    unsigned char buf[512];
    size_t n = npy_build(buf, 1, F4_OK, six, sizeof six);
    buf[1] = 'n'; /* "\x93nUMPY" */
    expect_fail(buf, n, LOOM_E_DATA_INVALID, "bad magic", NULL);
    expect_fail("PK\x03\x04 this is a zip file", 24, LOOM_E_DATA_INVALID, "bad magic", NULL);
}

Test(npy, unsupported_version)
{
    unsigned char buf[512];
    size_t n = npy_build(buf, 1, F4_OK, six, sizeof six);
    buf[6] = 4;
    expect_fail(buf, n, LOOM_E_DATA_INVALID, "version 4.0", "not supported");
    buf[6] = 0;
    expect_fail(buf, n, LOOM_E_DATA_INVALID, "version 0.0", "not supported");
}

Test(npy, truncated_header_length)
{
    /* v1.0 needs 2 length bytes, v2.0 needs 4: the file ends inside them */
    expect_fail("\x93NUMPY\x01\x00\x76", 9, LOOM_E_DATA_INVALID, "truncated", "header length");
    expect_fail("\x93NUMPY\x02\x00\x76\x00\x00", 11, LOOM_E_DATA_INVALID, "truncated",
                "header length");
}

Test(npy, header_length_beyond_file)
{
    /* declares 1000 header bytes; the file has 118 + 24 */
    unsigned char buf[512];
    size_t n = npy_build(buf, 1, F4_OK, six, sizeof six);
    buf[8] = 1000 & 0xff;
    buf[9] = 1000 >> 8;
    expect_fail(buf, n, LOOM_E_DATA_INVALID, "truncated", "header");
}

Test(npy, truncated_header)
{
    /* the file stops in the middle of the dict */
    unsigned char buf[512];
    npy_build(buf, 1, F4_OK, six, sizeof six);
    expect_fail(buf, 40, LOOM_E_DATA_INVALID, "truncated", "header");
}

Test(npy, header_length_out_of_range)
{
    /* 0, and (v2.0) more than 64 KiB: refused before allocating */
    unsigned char buf[512];
    size_t n = npy_build(buf, 1, F4_OK, six, sizeof six);
    buf[8] = buf[9] = 0;
    expect_fail(buf, n, LOOM_E_DATA_INVALID, "header length 0", NULL);
    n = npy_build(buf, 2, F4_OK, six, sizeof six);
    buf[8] = buf[9] = buf[10] = 0xff;
    buf[11] = 0x7f;
    expect_fail(buf, n, LOOM_E_DATA_INVALID, "header length 2147483647", NULL);
}

Test(npy, header_missing_shape)
{
    expect_fail_dict("{'descr': '<f4', 'fortran_order': False, }", six, sizeof six,
                     LOOM_E_DATA_INVALID, "missing 'shape'", NULL);
}

Test(npy, header_missing_descr)
{
    expect_fail_dict("{'fortran_order': False, 'shape': (2, 3), }", six, sizeof six,
                     LOOM_E_DATA_INVALID, "missing 'descr'", NULL);
}

Test(npy, header_missing_fortran_order)
{
    expect_fail_dict("{'descr': '<f4', 'shape': (2, 3), }", six, sizeof six,
                     LOOM_E_DATA_INVALID, "missing 'fortran_order'", NULL);
}

Test(npy, header_unknown_key)
{
    expect_fail_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1, }",
                     six, sizeof six, LOOM_E_DATA_INVALID, "unknown key 'extra'", NULL);
}

Test(npy, header_not_a_dict)
{
    expect_fail_dict("['descr', '<f4']", six, sizeof six, LOOM_E_DATA_INVALID, "'{'", NULL);
    expect_fail_dict(F4_OK " junk", six, sizeof six, LOOM_E_DATA_INVALID, "trailing", NULL);
    expect_fail_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)", six,
                     sizeof six, LOOM_E_DATA_INVALID, "expected ',' or '}'", NULL);
}

Test(npy, fortran_order_true)
{
    expect_fail_dict("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", six,
                     sizeof six, LOOM_E_DATA_INVALID, "fortran_order is True", NULL);
}

Test(npy, big_endian_float32)
{
    expect_fail_dict("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", six,
                     sizeof six, LOOM_E_DTYPE, "'>f4'", "not supported");
}

Test(npy, complex64_unsupported)
{
    const float d[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    expect_fail_dict("{'descr': '<c8', 'fortran_order': False, 'shape': (2, 3), }", d,
                     sizeof d, LOOM_E_DTYPE, "'<c8'", "not supported");
}

Test(npy, negative_dim)
{
    expect_fail_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }", six,
                     sizeof six, LOOM_E_DATA_INVALID, "negative dimension", NULL);
}

Test(npy, non_integer_dim)
{
    expect_fail_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3.0), }", six,
                     sizeof six, LOOM_E_DATA_INVALID, "'shape'", NULL);
    expect_fail_dict("{'descr': '<f4', 'fortran_order': False, 'shape': 6, }", six,
                     sizeof six, LOOM_E_DATA_INVALID, "'shape' is not a tuple", NULL);
}

Test(npy, dim_overflows_int64)
{
    expect_fail_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }",
                     six, sizeof six, LOOM_E_DATA_INVALID, "overflows int64", NULL);
}

Test(npy, dims_product_overflows)
{
    /* 2^32 x 2^32 elements: each dim fits int64, the product does not */
    expect_fail_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
                     six, sizeof six, LOOM_E_DATA_INVALID, "[4294967296,4294967296]",
                     "too large");
    /* 2^61 int64 elements: the element count fits, the byte count does not */
    expect_fail_dict("{'descr': '<i8', 'fortran_order': False, 'shape': (2305843009213693952,), }",
                     six, sizeof six, LOOM_E_DATA_INVALID, "too large", NULL);
}

Test(npy, more_than_8_dims)
{
    expect_fail_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 6), }",
                     six, sizeof six, LOOM_E_DATA_INVALID, "more than 8 dimensions", NULL);
}

Test(npy, data_shorter_than_shape)
{
    expect_fail_dict(F4_OK, six, sizeof six - 1, LOOM_E_DATA_INVALID, "truncated",
                     "needs 24 bytes");
    expect_fail_dict(F4_OK, six, 0, LOOM_E_DATA_INVALID, "truncated", "[2,3]");
}

Test(npy, extra_bytes_after_data)
{
    float seven[7] = {1, 2, 3, 4, 5, 6, 7};
    expect_fail_dict(F4_OK, seven, sizeof seven, LOOM_E_DATA_INVALID, "bytes after the 24 bytes",
                     NULL);
    /* even a scalar followed by a stray newline */
    expect_fail_dict("{'descr': '|u1', 'fortran_order': False, 'shape': (), }", "\x05\n", 2,
                     LOOM_E_DATA_INVALID, "bytes after", NULL);
}

Test(npy, bool_byte_2)
{
    expect_fail_dict("{'descr': '|b1', 'fortran_order': False, 'shape': (4,), }",
                     "\x01\x00\x02\x01", 4, LOOM_E_DATA_INVALID, "bool element 2 is 2", NULL);
}

Test(npy, zero_dim_file_with_data)
{
    /* shape (2, 0) needs no data bytes: one byte is extra */
    expect_fail_dict("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 0), }", "\x00", 1,
                     LOOM_E_DATA_INVALID, "bytes after the 0 bytes", NULL);
}

/* ---------------------------------------------------------------------- */
/* Saving                                                                  */
/* ---------------------------------------------------------------------- */

Test(npy, save_into_missing_folder)
{
    loom_tensor *t = make(LOOM_F32, 1, (int64_t[]){6}, six);
    const char *path = tpath("no/such/folder/a.npy");
    struct stat sb;
    char names[1024];
    loom_status st = loom_npy_save(path, t);
    cr_assert_neq(st, LOOM_OK);
    cr_assert_eq(st, LOOM_E_WRITE, "got %s", loom_status_name(st));
    cr_assert(strstr(loom_last_error(), path) != NULL, "%s", loom_last_error());
    cr_assert_eq(stat(path, &sb), -1);
    cr_assert_eq(errno, ENOENT);
    tb_list_dir(dir, names, sizeof names);
    cr_assert_str_eq(names, "", "the folder holds: %s", names);
    loom_tensor_free(t);
}

Test(npy, save_leaves_no_temp_files)
{
    loom_tensor *t = make(LOOM_F32, 2, (int64_t[]){2, 3}, six);
    char names[1024];
    cr_assert_eq(loom_npy_save(tpath("a.npy"), t), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(loom_npy_save(tpath("b.npy"), t), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(loom_npy_save(tpath("a.npy"), t), LOOM_OK, "%s", loom_last_error());
    tb_list_dir(dir, names, sizeof names);
    cr_assert_str_eq(names, "a.npy|b.npy");
    loom_tensor_free(t);
}

Test(npy, saved_file_is_world_readable)
{
    loom_tensor *t = make(LOOM_F32, 0, NULL, six);
    struct stat sb;
    mode_t old = umask(022);
    cr_assert_eq(loom_npy_save(tpath("m.npy"), t), LOOM_OK, "%s", loom_last_error());
    umask(old);
    cr_assert_eq(stat(tpath("m.npy"), &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0644, "mode %o (a mkstemp file left at 0600?)",
                 (unsigned)(sb.st_mode & 0777));
    loom_tensor_free(t);
}

Test(npy, save_replaces_existing_file_atomically)
{
    /* Overwriting goes through a new file renamed into place: a reader
     * that opened the old file keeps reading the complete old contents
     * (an in-place rewrite would truncate it under the reader), and a
     * hard link to the old file is left alone. */
    const int32_t old_v[4] = {1, 2, 3, 4};
    const int64_t new_v[3] = {-1, -2, -3};
    loom_tensor *a = make(LOOM_I32, 1, (int64_t[]){4}, old_v);
    loom_tensor *b = make(LOOM_I64, 2, (int64_t[]){3, 1}, new_v);
    loom_tensor *t;
    unsigned char before[512], during[512];
    size_t n_before, n_during;
    struct stat s_old, s_new;
    char names[1024];
    int fd;

    cr_assert_eq(loom_npy_save(tpath("x.npy"), a), LOOM_OK, "%s", loom_last_error());
    n_before = read_bytes(tpath("x.npy"), before, sizeof before);
    cr_assert_eq(link(tpath("x.npy"), tpath("link.npy")), 0, "%s", strerror(errno));
    fd = open(tpath("x.npy"), O_RDONLY);
    cr_assert_geq(fd, 0);
    cr_assert_eq(fstat(fd, &s_old), 0);

    cr_assert_eq(loom_npy_save(tpath("x.npy"), b), LOOM_OK, "%s", loom_last_error());

    /* the path now names a different file holding the new tensor */
    cr_assert_eq(stat(tpath("x.npy"), &s_new), 0);
    cr_assert_neq(s_new.st_ino, s_old.st_ino, "the old file was rewritten in place");
    t = load_ok(tpath("x.npy"));
    check_tensor(t, LOOM_I64, 2, (int64_t[]){3, 1}, new_v);
    loom_tensor_free(t);
    /* the open descriptor still reads every old byte */
    n_during = (size_t)pread(fd, during, sizeof during, 0);
    cr_assert_eq(n_during, n_before);
    cr_assert_eq(memcmp(before, during, n_before), 0);
    close(fd);
    /* the hard link still holds the old tensor */
    t = load_ok(tpath("link.npy"));
    check_tensor(t, LOOM_I32, 1, (int64_t[]){4}, old_v);
    loom_tensor_free(t);
    tb_list_dir(dir, names, sizeof names);
    cr_assert_str_eq(names, "link.npy|x.npy");
    loom_tensor_free(a);
    loom_tensor_free(b);
}

Test(npy, failed_save_keeps_old_file_and_cleans_up)
{
    /* the target is a folder: refused before anything is written, and
     * nothing is left beside it */
    loom_tensor *t = make(LOOM_F32, 1, (int64_t[]){6}, six);
    char names[1024];
    loom_status st;
    cr_assert_eq(mkdir(tpath("target.npy"), 0755), 0);
    st = loom_npy_save(tpath("target.npy"), t);
    cr_assert_eq(st, LOOM_E_WRITE, "got %s: %s", loom_status_name(st), loom_last_error());
    cr_assert(strstr(loom_last_error(), "target.npy exists and is not a regular file (a folder)") != NULL, "%s",
              loom_last_error());
    tb_list_dir(dir, names, sizeof names);
    cr_assert_str_eq(names, "target.npy", "the folder holds: %s", names);
    tb_list_dir(tpath("target.npy"), names, sizeof names);
    cr_assert_str_eq(names, "");
    loom_tensor_free(t);
}

/* A FIFO (or any non-regular file) must fail at once, not block waiting
 * for a writer (a bug found in review: fopen blocked forever). */
Test(npy, fifo_fails_without_blocking, .timeout = 10)
{
    loom_tensor *t = NULL;
    cr_assert_eq(mkfifo(tpath("pipe.npy"), 0600), 0, "mkfifo: %s", strerror(errno));
    cr_assert_eq(loom_npy_load(tpath("pipe.npy"), &t), LOOM_E_IO);
    cr_assert_null(t);
    cr_assert(strstr(loom_last_error(), "not a regular file") != NULL, "%s", loom_last_error());
    cr_assert_eq(loom_npy_load(dir, &t), LOOM_E_IO, "a folder is not an npy file");
}

Test(npy, model_path_that_is_a_fifo_fails_without_blocking, .timeout = 10)
{
    loom_model *m = NULL;
    cr_assert_eq(mkfifo(tpath("model.onnx"), 0600), 0, "mkfifo: %s", strerror(errno));
    cr_assert_eq(loom_model_load(tpath("model.onnx"), NULL, &m), LOOM_E_IO);
    cr_assert_null(m);
    cr_assert(strstr(loom_last_error(), "not a regular file") != NULL, "%s", loom_last_error());
}

/* A header that promises far more data than the file holds is refused
 * before anything is allocated (it used to malloc the promised size
 * first: 512 GiB here, an abort under ASan). */
Test(npy, lying_header_is_refused_before_allocating)
{
    expect_fail_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (137438953472,), }", "\0\0\0\0", 4,
                     LOOM_E_DATA_INVALID, "needs 549755813888 bytes", "the file has 4");
}

/* A new output file gets the umask's permissions (0666 & ~umask, as any
 * program's new file; the writer once fixed 0644), and a file replaced
 * keeps its own. */
Test(npy, saved_files_follow_the_umask_and_keep_a_replaced_mode)
{
    loom_tensor *t = make(LOOM_F32, 1, (int64_t[]){6}, six);
    struct stat sb;
    mode_t old = umask(027);
    cr_assert_eq(loom_npy_save(tpath("a.npy"), t), LOOM_OK, "%s", loom_last_error());
    umask(old);
    cr_assert_eq(stat(tpath("a.npy"), &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0640, "mode 0%o", sb.st_mode & 0777);
    cr_assert_eq(chmod(tpath("a.npy"), 0600), 0);
    cr_assert_eq(loom_npy_save(tpath("a.npy"), t), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(stat(tpath("a.npy"), &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0600, "mode 0%o", sb.st_mode & 0777);
    loom_tensor_free(t);
}
