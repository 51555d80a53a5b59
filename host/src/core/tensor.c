/* tensor.c - host tensors, dtypes and shape helpers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core-impl.h"

const char *loom_dtype_name(loom_dtype dtype)
{
    switch (dtype) {
#define LOOM__CASE(name, value, ctype, text) \
    case LOOM_##name:                        \
        return text;
        LOOM_DTYPE_MAP(LOOM__CASE)
#undef LOOM__CASE
    case LOOM_DTYPE_INVALID:
        break;
    }
    return "invalid";
}

size_t loom_dtype_size(loom_dtype dtype)
{
    switch (dtype) {
#define LOOM__CASE(name, value, ctype, text) \
    case LOOM_##name:                        \
        return sizeof(ctype);
        LOOM_DTYPE_MAP(LOOM__CASE)
#undef LOOM__CASE
    case LOOM_DTYPE_INVALID:
        break;
    }
    return 0;
}

bool loom__dtype_valid(loom_dtype dtype)
{
    return loom_dtype_size(dtype) != 0;
}

bool loom__dtype_is_float(loom_dtype dtype)
{
    return dtype == LOOM_F32 || dtype == LOOM_F16 || dtype == LOOM_BF16 || dtype == LOOM_F64;
}

bool loom__dtype_is_unsigned(loom_dtype dtype)
{
    return dtype == LOOM_U8 || dtype == LOOM_U16 || dtype == LOOM_U32 || dtype == LOOM_U64;
}

bool loom__dtype_is_int(loom_dtype dtype)
{
    return loom__dtype_is_unsigned(dtype) || dtype == LOOM_I8 || dtype == LOOM_I16 ||
           dtype == LOOM_I32 || dtype == LOOM_I64;
}

static float f32_of_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t bits_of_f32(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

float loom__f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    if (exp == 0x1f) /* inf, NaN */
        return f32_of_bits(sign | 0x7f800000u | (man << 13));
    if (exp == 0) { /* zero, subnormal: man * 2^-24 */
        float v = (float)man * 5.9604644775390625e-8f;
        return sign ? -v : v;
    }
    return f32_of_bits(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t loom__f32_to_f16(float f)
{
    uint32_t u = bits_of_f32(f), sign = (u >> 16) & 0x8000u, man = u & 0x7fffffu;
    int32_t exp = (int32_t)((u >> 23) & 0xffu);
    if (exp == 0xff) /* inf; NaN stays a (quiet) NaN */
        return (uint16_t)(sign | 0x7c00u | (man ? 0x200u | (man >> 13) : 0));
    exp -= 127 - 15;
    if (exp >= 0x1f)
        return (uint16_t)(sign | 0x7c00u);
    if (exp <= 0) { /* subnormal half, or zero */
        uint32_t m, shift, half, rest;
        if (exp < -10)
            return (uint16_t)sign;
        m = man | 0x800000u;
        shift = (uint32_t)(14 - exp);
        half = 1u << (shift - 1);
        rest = m & ((1u << shift) - 1);
        m >>= shift;
        if (rest > half || (rest == half && (m & 1u)))
            m++;
        return (uint16_t)(sign | m);
    }
    {
        uint32_t h = sign | ((uint32_t)exp << 10) | (man >> 13), rest = man & 0x1fffu;
        if (rest > 0x1000u || (rest == 0x1000u && (h & 1u)))
            h++; /* may carry into the exponent, up to infinity: correct */
        return (uint16_t)h;
    }
}

float loom__bf16_to_f32(uint16_t h)
{
    return f32_of_bits((uint32_t)h << 16);
}

uint16_t loom__f32_to_bf16(float f)
{
    uint32_t u = bits_of_f32(f);
    if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x7fffffu))
        return (uint16_t)((u >> 16) | 0x40u); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

bool loom__numel(int rank, const int64_t *dims, int64_t *out)
{
    /* The product of the non-zero dims must stay below 2^62 too: a shape
     * like [2^62, 0] holds nothing, but loops over its outer dims (and
     * products of some of its dims) would still be astronomical. */
    int64_t nonzero = 1;
    bool empty = false;
    if (rank < 0 || rank > LOOM_MAX_RANK)
        return false;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0)
            return false;
        if (dims[i] == 0)
            empty = true;
        else if (!loom__mul_i64(nonzero, dims[i], &nonzero) || nonzero > ((int64_t)1 << 62))
            return false;
    }
    *out = empty ? 0 : nonzero;
    return true;
}

const char *loom__shape_str(int rank, const int64_t *dims, char *buf, size_t size)
{
    size_t used = 0;
    if (size == 0)
        return buf;
    buf[0] = '\0';
    used += (size_t)snprintf(buf + used, size - used, "[");
    for (int i = 0; i < rank && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, i ? ",%lld" : "%lld",
                                 (long long)dims[i]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
    return buf;
}

char *loom__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

void *loom__malloc(size_t n)
{
    return malloc(n ? n : 1);
}

void *loom__calloc(size_t count, size_t size)
{
    return calloc(count ? count : 1, size ? size : 1);
}

static loom_status tensor_alloc(loom_dtype dtype, int rank, const int64_t *dims, bool zero,
                                loom_tensor **out)
{
    char sbuf[LOOM__SHAPE_STR_MAX];
    loom_tensor *t;
    int64_t numel;
    uint64_t nbytes;

    *out = NULL;
    if (!loom__dtype_valid(dtype))
        return loom__err(LOOM_E_DTYPE, "tensor: unsupported dtype %d", (int)dtype);
    if (rank < 0 || rank > LOOM_MAX_RANK)
        return loom__err(LOOM_E_INVALID_ARG, "tensor: rank %d outside [0, %d]",
                         rank, LOOM_MAX_RANK);
    if (rank > 0 && !dims)
        return loom__err(LOOM_E_INVALID_ARG, "tensor: dims is NULL for rank %d", rank);
    if (!loom__numel(rank, dims, &numel) ||
        !loom__mul_u64((uint64_t)numel, loom_dtype_size(dtype), &nbytes) ||
        nbytes > (uint64_t)SIZE_MAX / 2)
        return loom__err(LOOM_E_LIMIT, "tensor: shape %s is negative or too large",
                         loom__shape_str(rank, dims, sbuf, sizeof sbuf));
    t = calloc(1, sizeof *t);
    if (!t)
        return loom__err(LOOM_E_NOMEM, "tensor: out of memory");
    t->data = zero ? loom__calloc(1, (size_t)nbytes) : loom__malloc((size_t)nbytes);
    if (!t->data) {
        free(t);
        return loom__err(LOOM_E_NOMEM, "tensor: cannot allocate %llu bytes for %s",
                         (unsigned long long)nbytes,
                         loom__shape_str(rank, dims, sbuf, sizeof sbuf));
    }
    t->dtype = dtype;
    t->rank = rank;
    for (int i = 0; i < rank; i++)
        t->dims[i] = dims[i];
    t->numel = numel;
    t->nbytes = (size_t)nbytes;
    t->refs = 1;
    *out = t;
    return LOOM_OK;
}

loom_status loom__tensor_new(loom_dtype dtype, int rank, const int64_t *dims, loom_tensor **out)
{
    return tensor_alloc(dtype, rank, dims, false, out);
}

/* Zeros from calloc: large ones are fresh pages the process does not hold
 * until they are written (a session's host copy of a value that lives on
 * a device costs no memory unless it comes home). */
loom_status loom__tensor_new_zero(loom_dtype dtype, int rank, const int64_t *dims, loom_tensor **out)
{
    return tensor_alloc(dtype, rank, dims, true, out);
}

loom_status loom_tensor_create(loom_dtype dtype, int rank, const int64_t *dims,
                               loom_tensor **out)
{
    if (!out)
        return loom__err(LOOM_E_INVALID_ARG, "loom_tensor_create: out is NULL");
    return loom__tensor_new_zero(dtype, rank, dims, out);
}

loom_tensor *loom__tensor_ref(loom_tensor *t)
{
    if (t)
        __atomic_add_fetch(&t->refs, 1, __ATOMIC_RELAXED);
    return t;
}

void loom_tensor_free(loom_tensor *t)
{
    if (!t || __atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    free(t->data);
    free(t);
}

loom_dtype loom_tensor_dtype(const loom_tensor *t) { return t->dtype; }
int loom_tensor_rank(const loom_tensor *t) { return t->rank; }
const int64_t *loom_tensor_dims(const loom_tensor *t) { return t->dims; }
int64_t loom_tensor_numel(const loom_tensor *t) { return t->numel; }
size_t loom_tensor_nbytes(const loom_tensor *t) { return t->nbytes; }
void *loom_tensor_data(loom_tensor *t) { return t->data; }
const void *loom_tensor_cdata(const loom_tensor *t) { return t->data; }
