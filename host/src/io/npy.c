/*
 * npy.c - NumPy .npy files (format versions 1.0, 2.0 and 3.0).
 *
 * Layout: "\x93NUMPY", major, minor, header length (uint16 LE for 1.0,
 * uint32 LE for 2.0/3.0), then a Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces and a newline, then the raw C-order data.
 * Everything in the file is untrusted: every field is checked and the
 * data length must match dtype x shape exactly.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core-impl.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_MAX_HEADER (1u << 16)

static const struct {
    const char *descr;
    loom_dtype dtype;
} npy_types[] = {
    {"<f4", LOOM_F32}, {"|i1", LOOM_I8}, {"<i1", LOOM_I8}, {"|u1", LOOM_U8},
    {"<u1", LOOM_U8}, {"<i4", LOOM_I32}, {"<i8", LOOM_I64}, {"|b1", LOOM_BOOL},
    {"<f2", LOOM_F16}, {"<f8", LOOM_F64}, {"<i2", LOOM_I16}, {"<u2", LOOM_U16},
    {"<u4", LOOM_U32}, {"<u8", LOOM_U64},
};

static const char *descr_of(loom_dtype dt)
{
    switch (dt) {
    case LOOM_F32: return "<f4";
    case LOOM_I8: return "|i1";
    case LOOM_U8: return "|u1";
    case LOOM_I32: return "<i4";
    case LOOM_I64: return "<i8";
    case LOOM_BOOL: return "|b1";
    case LOOM_F16: return "<f2";
    case LOOM_F64: return "<f8";
    case LOOM_I16: return "<i2";
    case LOOM_U16: return "<u2";
    case LOOM_U32: return "<u4";
    case LOOM_U64: return "<u8";
    default: return NULL; /* bfloat16: numpy has no such type */
    }
}

/* A cursor over the header dict. */
typedef struct {
    const char *p, *end;
    const char *path;
} hdr_cursor;

static void skip_ws(hdr_cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static bool expect_char(hdr_cursor *c, char ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

/* A quoted string ('...' or "...") without escapes, copied into buf. */
static bool parse_str(hdr_cursor *c, char *buf, size_t size)
{
    char q;
    size_t n = 0;
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return false;
    q = *c->p++;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || n + 1 >= size)
            return false;
        buf[n++] = *c->p++;
    }
    if (c->p >= c->end)
        return false;
    c->p++;
    buf[n] = '\0';
    return true;
}

static bool parse_word(hdr_cursor *c, const char *w)
{
    size_t n = strlen(w);
    skip_ws(c);
    if ((size_t)(c->end - c->p) >= n && memcmp(c->p, w, n) == 0) {
        c->p += n;
        return true;
    }
    return false;
}

static loom_status bad(const hdr_cursor *c, const char *what)
{
    return loom__err(LOOM_E_DATA_INVALID, "%s: npy header: %s", c->path, what);
}

/* (d0, d1, ...) with optional trailing comma; () is a scalar. */
static loom_status parse_shape(hdr_cursor *c, int *rank, int64_t *dims)
{
    *rank = 0;
    if (!expect_char(c, '('))
        return bad(c, "'shape' is not a tuple");
    for (;;) {
        int64_t v = 0;
        int digits = 0;
        skip_ws(c);
        if (c->p < c->end && *c->p == ')') {
            c->p++;
            return LOOM_OK;
        }
        if (c->p < c->end && *c->p == '-')
            return bad(c, "'shape' has a negative dimension");
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            if (v > (INT64_MAX - 9) / 10)
                return bad(c, "'shape' dimension overflows int64");
            v = v * 10 + (*c->p++ - '0');
            digits++;
        }
        if (!digits)
            return bad(c, "'shape' holds something other than integers");
        if (*rank >= LOOM_MAX_RANK)
            return bad(c, "'shape' has more than 8 dimensions");
        dims[(*rank)++] = v;
        skip_ws(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (!expect_char(c, ')'))
            return bad(c, "'shape' tuple is not closed");
        return LOOM_OK;
    }
}

static loom_status parse_header(hdr_cursor *c, loom_dtype *dtype, int *rank,
                                int64_t *dims)
{
    bool have_descr = false, have_order = false, have_shape = false;
    char key[32], val[32];
    loom_status st;

    if (!expect_char(c, '{'))
        return bad(c, "does not start with '{'");
    for (;;) {
        skip_ws(c);
        if (c->p < c->end && *c->p == '}') {
            c->p++;
            break;
        }
        if (!parse_str(c, key, sizeof key))
            return bad(c, "expected a quoted key");
        if (!expect_char(c, ':'))
            return bad(c, "expected ':' after a key");
        if (strcmp(key, "descr") == 0) {
            size_t i;
            if (!parse_str(c, val, sizeof val))
                return bad(c, "'descr' is not a string");
            for (i = 0; i < sizeof npy_types / sizeof npy_types[0]; i++)
                if (strcmp(val, npy_types[i].descr) == 0)
                    break;
            if (i == sizeof npy_types / sizeof npy_types[0])
                return loom__err(LOOM_E_DTYPE,
                                 "%s: npy dtype '%s' is not supported (float32 '<f4', float16 '<f2', "
                                 "float64 '<f8', int8 '|i1', uint8 '|u1', int16 '<i2', uint16 '<u2', "
                                 "int32 '<i4', uint32 '<u4', int64 '<i8', uint64 '<u8', bool '|b1')",
                                 c->path, val);
            *dtype = npy_types[i].dtype;
            have_descr = true;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (parse_word(c, "True"))
                return loom__err(LOOM_E_DATA_INVALID,
                                 "%s: npy fortran_order is True; only C order is supported",
                                 c->path);
            if (!parse_word(c, "False"))
                return bad(c, "'fortran_order' is not True or False");
            have_order = true;
        } else if (strcmp(key, "shape") == 0) {
            if ((st = parse_shape(c, rank, dims)) != LOOM_OK)
                return st;
            have_shape = true;
        } else {
            return loom__err(LOOM_E_DATA_INVALID, "%s: npy header: unknown key '%s'",
                             c->path, key);
        }
        skip_ws(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (!expect_char(c, '}'))
            return bad(c, "expected ',' or '}'");
        break;
    }
    if (!have_descr || !have_order || !have_shape)
        return bad(c, !have_descr ? "missing 'descr'"
                                  : !have_order ? "missing 'fortran_order'" : "missing 'shape'");
    skip_ws(c);
    if (c->p != c->end)
        return bad(c, "trailing characters after the dict");
    return LOOM_OK;
}

static loom_status read_exact(FILE *f, void *buf, size_t n, const char *path, const char *what)
{
    if (fread(buf, 1, n, f) != n)
        return loom__err(ferror(f) ? LOOM_E_IO : LOOM_E_DATA_INVALID,
                         "%s: npy file is truncated in the %s", path, what);
    return LOOM_OK;
}

/* Open path, parse and check its header, and check that the file holds
 * exactly the data the shape needs; *f is left at the data. */
static loom_status npy_open(const char *path, FILE **fp, loom_dtype *dtype, int *rank, int64_t *dims,
                            uint64_t *nbytes)
{
    unsigned char pre[NPY_MAGIC_LEN + 2 + 4];
    char *hdr = NULL;
    uint32_t hlen;
    FILE *f;
    loom_status st;
    hdr_cursor c;
    char sbuf[LOOM__SHAPE_STR_MAX];
    struct stat sb;

    *fp = NULL;
    f = loom__fopen_regular(path, &sb);
    if (!f)
        return loom__err(errno == ENOENT ? LOOM_E_NOT_FOUND : LOOM_E_IO, "%s: %s", path,
                         errno == EINVAL ? "not a regular file" : strerror(errno));
    if ((st = read_exact(f, pre, NPY_MAGIC_LEN + 2, path, "magic")) != LOOM_OK)
        goto done;
    if (memcmp(pre, NPY_MAGIC, NPY_MAGIC_LEN) != 0) {
        st = loom__err(LOOM_E_DATA_INVALID, "%s: not an npy file (bad magic)", path);
        goto done;
    }
    if (pre[6] == 1) {
        if ((st = read_exact(f, pre + 8, 2, path, "header length")) != LOOM_OK)
            goto done;
        hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8;
    } else if (pre[6] == 2 || pre[6] == 3) {
        if ((st = read_exact(f, pre + 8, 4, path, "header length")) != LOOM_OK)
            goto done;
        hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8 | (uint32_t)pre[10] << 16 |
               (uint32_t)pre[11] << 24;
    } else {
        st = loom__err(LOOM_E_DATA_INVALID, "%s: npy format version %u.%u is not supported",
                       path, pre[6], pre[7]);
        goto done;
    }
    if (hlen == 0 || hlen > NPY_MAX_HEADER) {
        st = loom__err(LOOM_E_DATA_INVALID, "%s: npy header length %u outside [1, %u]", path,
                       hlen, NPY_MAX_HEADER);
        goto done;
    }
    hdr = malloc(hlen);
    if (!hdr) {
        st = loom__err(LOOM_E_NOMEM, "%s: out of memory", path);
        goto done;
    }
    if ((st = read_exact(f, hdr, hlen, path, "header")) != LOOM_OK)
        goto done;
    c.p = hdr;
    c.end = hdr + hlen;
    c.path = path;
    if ((st = parse_header(&c, dtype, rank, dims)) != LOOM_OK)
        goto done;
    /* the data must be exactly what the shape needs: check the file's size
     * before allocating, so a lying header costs nothing */
    {
        int64_t numel;
        uint64_t need, have;
        long pos = ftell(f);
        if (!loom__numel(*rank, dims, &numel) ||
            !loom__mul_u64((uint64_t)numel, loom_dtype_size(*dtype), &need)) {
            st = loom__err(LOOM_E_DATA_INVALID, "%s: npy shape %s is too large", path,
                           loom__shape_str(*rank, dims, sbuf, sizeof sbuf));
            goto done;
        }
        have = pos < 0 || (uint64_t)sb.st_size < (uint64_t)pos ? 0 : (uint64_t)sb.st_size - (uint64_t)pos;
        if (have < need) {
            st = loom__err(LOOM_E_DATA_INVALID,
                           "%s: npy data is truncated: shape %s of %s needs %llu bytes, the file has %llu",
                           path, loom__shape_str(*rank, dims, sbuf, sizeof sbuf), loom_dtype_name(*dtype),
                           (unsigned long long)need, (unsigned long long)have);
            goto done;
        }
        if (have > need) {
            st = loom__err(LOOM_E_DATA_INVALID,
                           "%s: npy file has bytes after the %llu bytes of data that shape %s needs",
                           path, (unsigned long long)need, loom__shape_str(*rank, dims, sbuf, sizeof sbuf));
            goto done;
        }
        *nbytes = need;
    }
done:
    free(hdr);
    if (st == LOOM_OK)
        *fp = f;
    else
        fclose(f);
    return st;
}

loom_status loom_npy_peek(const char *path, loom_dtype *dtype, int *rank, int64_t *dims)
{
    FILE *f;
    uint64_t nbytes;
    loom_status st;
    if (!path || !dtype || !rank || !dims)
        return loom__err(LOOM_E_INVALID_ARG, "loom_npy_peek: NULL argument");
    if ((st = npy_open(path, &f, dtype, rank, dims, &nbytes)) == LOOM_OK)
        fclose(f);
    return st;
}

loom_status loom_npy_load(const char *path, loom_tensor **out)
{
    FILE *f;
    loom_tensor *t = NULL;
    loom_dtype dtype = LOOM_DTYPE_INVALID;
    int rank = 0;
    int64_t dims[LOOM_MAX_RANK];
    uint64_t nbytes = 0;
    loom_status st;

    if (!path || !out)
        return loom__err(LOOM_E_INVALID_ARG, "loom_npy_load: NULL argument");
    *out = NULL;
    if ((st = npy_open(path, &f, &dtype, &rank, dims, &nbytes)) != LOOM_OK)
        return st;
    if ((st = loom__budget_check(path, "the data", nbytes, loom_memory_budget())) != LOOM_OK)
        goto done;
    if ((st = loom__tensor_new(dtype, rank, dims, &t)) != LOOM_OK) {
        st = loom__err_prefix(st, "%s", path);
        goto done;
    }
    /* re-check while reading: the file may change under us */
    if (fread(t->data, 1, t->nbytes, f) != t->nbytes || fgetc(f) != EOF) {
        st = loom__err(LOOM_E_DATA_INVALID, "%s: npy file changed size while being read", path);
        goto done;
    }
    if (dtype == LOOM_BOOL) {
        const uint8_t *b = t->data;
        for (int64_t i = 0; i < t->numel; i++)
            if (b[i] > 1) {
                st = loom__err(LOOM_E_DATA_INVALID, "%s: bool element %lld is %u, not 0 or 1",
                               path, (long long)i, b[i]);
                goto done;
            }
    }
    *out = t;
    t = NULL;
done:
    loom_tensor_free(t);
    fclose(f);
    return st;
}

loom_status loom_npy_save(const char *path, const loom_tensor *t)
{
    char dict[400];
    unsigned char head[10 + sizeof dict + 64];
    const char *descr;
    size_t dlen, total, pad, used = 0;

    if (!path || !t)
        return loom__err(LOOM_E_INVALID_ARG, "loom_npy_save: NULL argument");
    descr = descr_of(t->dtype);
    if (!descr)
        return loom__err(LOOM_E_DTYPE, "%s: cannot save dtype %s as npy", path,
                         loom_dtype_name(t->dtype));
    used = (size_t)snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                            descr);
    for (int i = 0; i < t->rank; i++)
        used += (size_t)snprintf(dict + used, sizeof dict - used, "%lld,%s",
                                 (long long)t->dims[i], i + 1 < t->rank ? " " : "");
    used += (size_t)snprintf(dict + used, sizeof dict - used, "), }");
    dlen = used;
    /* magic(6) + version(2) + hlen(2) + dict + padding + '\n' is a multiple of 64 */
    total = 10 + dlen + 1;
    pad = (64 - total % 64) % 64;
    memcpy(head, NPY_MAGIC, NPY_MAGIC_LEN);
    head[6] = 1;
    head[7] = 0;
    head[8] = (unsigned char)((dlen + pad + 1) & 0xff);
    head[9] = (unsigned char)((dlen + pad + 1) >> 8);
    memcpy(head + 10, dict, dlen);
    memset(head + 10 + dlen, ' ', pad);
    head[10 + dlen + pad] = '\n';
    return loom__write_file(path, head, total + pad, t->data, t->nbytes);
}
