/* ref-elementwise.c - broadcasting binary ops, Where, unary math, Clip,
 * Cast, copies (Identity, Reshape, ...), Dropout and Expand. */
#include <math.h>
#include <string.h>

#include "backends/ref/ref-impl.h"

/* Y[o] = EXPR(x0, x1) over the broadcast of A and B. */
#define BINARY_LOOP(TA, TB, TY, EXPR)                                                  \
    do {                                                                               \
        const TA *A_ = in[0]->data;                                                    \
        const TB *B_ = in[1]->data;                                                    \
        TY *Y_ = out[0]->data;                                                         \
        loom__bcast_it it_;                                                            \
        int64_t off_[3], o_ = 0;                                                       \
        loom__bcast_begin(&it_, out[0], in, 2);                                        \
        while (loom__bcast_row(&it_, off_))                                            \
            for (int64_t j_ = 0; j_ < it_.row_len; j_++) {                             \
                TA x0 = A_[off_[0] + j_ * it_.inner[0]];                               \
                TB x1 = B_[off_[1] + j_ * it_.inner[1]];                               \
                Y_[o_++] = (TY)(EXPR);                                                 \
            }                                                                          \
    } while (0)

/* One arithmetic op for one dtype. */
#define FLOAT_CASES(T)                                                                 \
    switch (n->op) {                                                                   \
    case LOOM__OP_Add: BINARY_LOOP(T, T, T, x0 + x1); break;                           \
    case LOOM__OP_Sub: BINARY_LOOP(T, T, T, x0 - x1); break;                           \
    case LOOM__OP_Mul: BINARY_LOOP(T, T, T, x0 * x1); break;                           \
    case LOOM__OP_Div: BINARY_LOOP(T, T, T, x0 / x1); break;                           \
    case LOOM__OP_Equal: BINARY_LOOP(T, T, uint8_t, x0 == x1); break;                  \
    case LOOM__OP_Less: BINARY_LOOP(T, T, uint8_t, x0 < x1); break;                    \
    case LOOM__OP_Greater: BINARY_LOOP(T, T, uint8_t, x0 > x1); break;                 \
    default: return loom__err(LOOM_E_INTERNAL, "binary op %s", loom__op_name(n->op));  \
    }

/* Integers wrap on overflow (computed unsigned), and divide truncating
 * toward zero like C and onnxruntime; MIN / -1 wraps instead of trapping. */
#define INT_CASES(T, UT)                                                               \
    switch (n->op) {                                                                   \
    case LOOM__OP_Add: BINARY_LOOP(T, T, T, (UT)x0 + (UT)x1); break;                   \
    case LOOM__OP_Sub: BINARY_LOOP(T, T, T, (UT)x0 - (UT)x1); break;                   \
    case LOOM__OP_Mul: BINARY_LOOP(T, T, T, (UT)x0 * (UT)x1); break;                   \
    case LOOM__OP_Div: BINARY_LOOP(T, T, T, x1 == -1 ? (T)(0 - (UT)x0) : x0 / x1); break; \
    case LOOM__OP_Equal: BINARY_LOOP(T, T, uint8_t, x0 == x1); break;                  \
    case LOOM__OP_Less: BINARY_LOOP(T, T, uint8_t, x0 < x1); break;                    \
    case LOOM__OP_Greater: BINARY_LOOP(T, T, uint8_t, x0 > x1); break;                 \
    default: return loom__err(LOOM_E_INTERNAL, "binary op %s", loom__op_name(n->op));  \
    }

static bool has_zero(const loom_tensor *t)
{
    for (int64_t i = 0; i < t->numel; i++) {
        if (t->dtype == LOOM_I32 ? ((const int32_t *)t->data)[i] == 0
                                 : ((const int64_t *)t->data)[i] == 0)
            return true;
    }
    return false;
}

loom_status loom__ref_binary(const loom__node *n, const loom_tensor *const *in,
                             loom_tensor *const *out)
{
    if (n->op == LOOM__OP_Pow && in[0]->dtype != LOOM_F32)
        return loom__ref_math_binary(n, in, out);
    if (n->op == LOOM__OP_Pow) {
        switch (in[1]->dtype) {
        case LOOM_F32: BINARY_LOOP(float, float, float, powf(x0, x1)); break;
        case LOOM_I32: BINARY_LOOP(float, int32_t, float, powf(x0, (float)x1)); break;
        case LOOM_I64: BINARY_LOOP(float, int64_t, float, powf(x0, (float)x1)); break;
        default: return loom__ref_math_binary(n, in, out);
        }
        return LOOM_OK;
    }
    /* integer division truncates toward zero (as C, and onnxruntime) */
    if (n->op == LOOM__OP_Div && (in[0]->dtype == LOOM_I32 || in[0]->dtype == LOOM_I64) && has_zero(in[1]))
        return loom__err(LOOM_E_DATA_INVALID, "integer division by zero");
    switch (in[0]->dtype) {
    case LOOM_F32:
        FLOAT_CASES(float);
        loom__ref_act(out[0]->data, out[0]->numel, n); /* a fused Relu (the residual Add's) */
        break;
    case LOOM_I32: INT_CASES(int32_t, uint32_t); break;
    case LOOM_I64: INT_CASES(int64_t, uint64_t); break;
    default: return loom__ref_math_binary(n, in, out);
    }
    return LOOM_OK;
}

loom_status loom__ref_where(const loom__node *n, const loom_tensor *const *in,
                            loom_tensor *const *out)
{
    size_t es = loom_dtype_size(out[0]->dtype);
    const uint8_t *c = in[0]->data;
    const char *x = in[1]->data, *y = in[2]->data;
    char *dst = out[0]->data;
    loom__bcast_it it;
    int64_t off[3], o = 0;
    (void)n;
    loom__bcast_begin(&it, out[0], in, 3);
    while (loom__bcast_row(&it, off))
        for (int64_t j = 0; j < it.row_len; j++, o++) {
            bool pick_x = c[off[0] + j * it.inner[0]] != 0;
            const char *src = pick_x ? x + (off[1] + j * it.inner[1]) * (int64_t)es
                                     : y + (off[2] + j * it.inner[2]) * (int64_t)es;
            memcpy(dst + o * (int64_t)es, src, es);
        }
    return LOOM_OK;
}

static float sigmoidf(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

#define UNARY_LOOP(T, EXPR)                                                            \
    do {                                                                               \
        const T *X_ = in[0]->data;                                                     \
        T *Y_ = out[0]->data;                                                          \
        for (int64_t i_ = 0; i_ < in[0]->numel; i_++) {                                \
            T x = X_[i_];                                                              \
            Y_[i_] = (T)(EXPR);                                                        \
        }                                                                              \
    } while (0)

#define INT_UNARY_CASES(T, UT)                                                         \
    switch (n->op) {                                                                   \
    case LOOM__OP_Abs: UNARY_LOOP(T, x < 0 ? 0 - (UT)x : (UT)x); break;                \
    case LOOM__OP_Neg: UNARY_LOOP(T, 0 - (UT)x); break;                                \
    case LOOM__OP_Relu: UNARY_LOOP(T, x < 0 ? 0 : x); break;                           \
    default: return loom__err(LOOM_E_DTYPE, "%s on integers", loom__op_name(n->op));   \
    }

loom_status loom__ref_unary(const loom__node *n, const loom_tensor *const *in,
                            loom_tensor *const *out)
{
    switch (in[0]->dtype) {
    case LOOM_F32:
        switch (n->op) {
        case LOOM__OP_Sqrt: UNARY_LOOP(float, sqrtf(x)); break;
        case LOOM__OP_Erf: UNARY_LOOP(float, erff(x)); break;
        case LOOM__OP_Relu: UNARY_LOOP(float, x > 0.0f ? x : 0.0f); break;
        case LOOM__OP_Sigmoid: UNARY_LOOP(float, sigmoidf(x)); break;
        case LOOM__OP_Tanh: UNARY_LOOP(float, tanhf(x)); break;
        case LOOM__OP_Abs: UNARY_LOOP(float, fabsf(x)); break;
        case LOOM__OP_Neg: UNARY_LOOP(float, -x); break;
        case LOOM__OP_Exp: UNARY_LOOP(float, expf(x)); break;
        case LOOM__OP_Log: UNARY_LOOP(float, logf(x)); break;
        case LOOM__OP_Reciprocal: UNARY_LOOP(float, 1.0f / x); break;
        default: return loom__err(LOOM_E_INTERNAL, "unary op %s", loom__op_name(n->op));
        }
        break;
    case LOOM_I32: INT_UNARY_CASES(int32_t, uint32_t); break;
    case LOOM_I64: INT_UNARY_CASES(int64_t, uint64_t); break;
    default: return loom__ref_math_unary(n, in, out);
    }
    return LOOM_OK;
}

loom_status loom__ref_clip(const loom__node *n, const loom_tensor *const *in,
                           loom_tensor *const *out)
{
    /* Min(max, Max(x, min)): with min > max every value becomes max */
    float lo = n->p.clip.min, hi = n->p.clip.max;
    if (in[0]->dtype != LOOM_F32 || loom__opt_in(n, in, 1) || loom__opt_in(n, in, 2))
        return loom__ref_math_clip(n, in, out);
    UNARY_LOOP(float, (x < lo ? lo : x) > hi ? hi : (x < lo ? lo : x));
    return LOOM_OK;
}

/* Cast (and CastLike) between any two dtypes, as numpy's astype: floats
 * round to the nearest target value, floats to integers truncate toward
 * zero (NaN 0, saturated to int64 first), integers wrap modulo 2^bits,
 * anything to bool is "not zero" (NaN is true). */
loom_status loom__ref_cast(const loom__node *n, const loom_tensor *const *in,
                           loom_tensor *const *out)
{
    const loom_tensor *x = in[0];
    loom_tensor *y = out[0];
    bool from_float = loom__dtype_is_float(x->dtype), to_float = loom__dtype_is_float(y->dtype);
    (void)n;
    for (int64_t i = 0; i < x->numel; i++) {
        if (from_float) {
            loom__ref_set_f(y, i, loom__ref_get_f(x, i));
        } else if (to_float && y->dtype != LOOM_F64) {
            /* one rounding, straight from the integer */
            float v = x->dtype == LOOM_U64 ? (float)(uint64_t)loom__ref_get_i(x, i)
                                           : (float)loom__ref_get_i(x, i);
            loom__ref_set_f(y, i, v);
        } else if (to_float) {
            loom__ref_set_f(y, i, loom__ref_get_f(x, i));
        } else {
            loom__ref_set_i(y, i, loom__ref_get_i(x, i));
        }
    }
    return LOOM_OK;
}

loom_status loom__ref_copy(const loom__node *n, const loom_tensor *const *in,
                           loom_tensor *const *out)
{
    (void)n;
    if (out[0]->nbytes != in[0]->nbytes)
        return loom__err(LOOM_E_INTERNAL, "copy of %zu bytes into %zu", in[0]->nbytes, out[0]->nbytes);
    memcpy(out[0]->data, in[0]->data, in[0]->nbytes);
    return LOOM_OK;
}

loom_status loom__ref_dropout(const loom__node *n, const loom_tensor *const *in,
                              loom_tensor *const *out)
{
    loom_status st = loom__ref_copy(n, in, out);
    loom_tensor *mask = n->n_outputs > 1 ? out[1] : NULL;
    /* inference keeps everything: a mask of ones in the mask's dtype */
    for (int64_t i = 0; st == LOOM_OK && mask && i < mask->numel; i++) {
        switch (mask->dtype) {
        case LOOM_F32: ((float *)mask->data)[i] = 1.0f; break;
        case LOOM_I32: ((int32_t *)mask->data)[i] = 1; break;
        case LOOM_I64: ((int64_t *)mask->data)[i] = 1; break;
        default: ((uint8_t *)mask->data)[i] = 1; break;
        }
    }
    return st;
}

loom_status loom__ref_expand(const loom__node *n, const loom_tensor *const *in,
                             loom_tensor *const *out)
{
    loom__bcast_it it;
    size_t es = loom_dtype_size(in[0]->dtype);
    int64_t off[3], o = 0;
    char *dst = out[0]->data;
    const char *src = in[0]->data;
    (void)n;
    loom__bcast_begin(&it, out[0], in, 1);
    while (loom__bcast_row(&it, off))
        for (int64_t j = 0; j < it.row_len; j++, o++)
            memcpy(dst + o * (int64_t)es, src + (off[0] + j * it.inner[0]) * (int64_t)es, es);
    return LOOM_OK;
}
