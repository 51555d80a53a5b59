/* ref-math.c - elementwise math on every numeric dtype: the unary and
 * binary ops beyond ref-elementwise.c's float32/int32/int64 loops, the
 * variadic Sum/Mean/Max/Min, and Clip with run-time bounds. Floats
 * (float16, bfloat16, float32, float64) compute in double and round once
 * into the output's dtype; integers compute in 64 bits (unsigned ones as
 * unsigned) and wrap into the output's width, as numpy does. */
#include <math.h>
#include <string.h>

#include "backends/ref/ref-impl.h"

static double softplus(double x)
{
    return x > 40.0 ? x : log1p(exp(x));
}

static double unary_f(const loom__node *n, double x)
{
    const loom__math_params *p = &n->p.math;
    switch (n->op) {
    case LOOM__OP_Sqrt: return sqrt(x);
    case LOOM__OP_Erf: return erf(x);
    case LOOM__OP_Relu: return x > 0.0 ? x : 0.0;
    case LOOM__OP_Sigmoid: return 1.0 / (1.0 + exp(-x));
    case LOOM__OP_Tanh: return tanh(x);
    case LOOM__OP_Abs: return fabs(x);
    case LOOM__OP_Neg: return -x;
    case LOOM__OP_Exp: return exp(x);
    case LOOM__OP_Log: return log(x);
    case LOOM__OP_Reciprocal: return 1.0 / x;
    case LOOM__OP_Floor: return floor(x);
    case LOOM__OP_Ceil: return ceil(x);
    case LOOM__OP_Round: return nearbyint(x); /* halves to even */
    case LOOM__OP_Sign: return x > 0.0 ? 1.0 : x < 0.0 ? -1.0 : x;
    case LOOM__OP_Sin: return sin(x);
    case LOOM__OP_Cos: return cos(x);
    case LOOM__OP_Tan: return tan(x);
    case LOOM__OP_Asin: return asin(x);
    case LOOM__OP_Acos: return acos(x);
    case LOOM__OP_Atan: return atan(x);
    case LOOM__OP_Sinh: return sinh(x);
    case LOOM__OP_Cosh: return cosh(x);
    case LOOM__OP_Asinh: return asinh(x);
    case LOOM__OP_Acosh: return acosh(x);
    case LOOM__OP_Atanh: return atanh(x);
    case LOOM__OP_Softplus: return softplus(x);
    case LOOM__OP_Softsign: return x / (1.0 + fabs(x));
    case LOOM__OP_Mish: return x * tanh(softplus(x));
    case LOOM__OP_HardSigmoid: return fmax(0.0, fmin(1.0, p->alpha * x + p->beta));
    case LOOM__OP_HardSwish: return x * fmax(0.0, fmin(1.0, x / 6.0 + 0.5));
    case LOOM__OP_LeakyRelu: return x < 0.0 ? p->alpha * x : x;
    case LOOM__OP_Elu: return x < 0.0 ? p->alpha * (exp(x) - 1.0) : x;
    case LOOM__OP_Selu: return x <= 0.0 ? p->gamma * (p->alpha * exp(x) - p->alpha) : p->gamma * x;
    case LOOM__OP_Celu: return fmax(0.0, x) + fmin(0.0, p->alpha * (exp(x / p->alpha) - 1.0));
    case LOOM__OP_ThresholdedRelu: return x > p->alpha ? x : 0.0;
    case LOOM__OP_Gelu:
        if (p->mode == 1)
            return 0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
        return 0.5 * x * (1.0 + erf(x * 0.7071067811865476));
    case LOOM__OP_Shrink: return x < -p->alpha ? x + p->beta : x > p->alpha ? x - p->beta : 0.0;
    case LOOM__OP_Swish: return x / (1.0 + exp(-p->alpha * x));
    default: return NAN;
    }
}

/* Integer unary ops; false for an op that has none. */
static bool unary_i(const loom__node *n, bool is_unsigned, int64_t x, int64_t *y)
{
    switch (n->op) {
    case LOOM__OP_Abs: *y = is_unsigned || x >= 0 ? x : (int64_t)(0 - (uint64_t)x); return true;
    case LOOM__OP_Neg: *y = (int64_t)(0 - (uint64_t)x); return true;
    case LOOM__OP_Relu: *y = !is_unsigned && x < 0 ? 0 : x; return true;
    case LOOM__OP_Sign: *y = is_unsigned ? x != 0 : (x > 0) - (x < 0); return true;
    case LOOM__OP_BitwiseNot: *y = ~x; return true;
    case LOOM__OP_Not: *y = !x; return true;
    default: return false;
    }
}

loom_status loom__ref_math_unary(const loom__node *n, const loom_tensor *const *in,
                                 loom_tensor *const *out)
{
    const loom_tensor *x = in[0];
    loom_tensor *y = out[0];
    bool is_float = loom__dtype_is_float(x->dtype), is_unsigned = loom__dtype_is_unsigned(x->dtype);
    for (int64_t i = 0; i < x->numel; i++) {
        if (n->op == LOOM__OP_IsNaN) {
            double v = loom__ref_get_f(x, i);
            loom__ref_set_i(y, i, v != v);
        } else if (n->op == LOOM__OP_IsInf) {
            double v = loom__ref_get_f(x, i);
            loom__ref_set_i(y, i, ((n->p.math.mode & 1) && v == INFINITY) ||
                                      ((n->p.math.mode & 2) && v == -INFINITY));
        } else if (is_float) {
            loom__ref_set_f(y, i, unary_f(n, loom__ref_get_f(x, i)));
        } else {
            int64_t r;
            if (!unary_i(n, is_unsigned, loom__ref_get_i(x, i), &r)) {
                if (n->op != LOOM__OP_Shrink)
                    return loom__err(LOOM_E_DTYPE, "%s on %s", loom__op_name(n->op),
                                     loom_dtype_name(x->dtype));
                loom__ref_set_f(y, i, unary_f(n, loom__ref_get_f(x, i)));
                continue;
            }
            loom__ref_set_i(y, i, r);
        }
    }
    return LOOM_OK;
}

/* a op b for floats. */
static double binary_f(const loom__node *n, double a, double b)
{
    switch (n->op) {
    case LOOM__OP_Add: case LOOM__OP_Sum: case LOOM__OP_Mean: return a + b;
    case LOOM__OP_Sub: return a - b;
    case LOOM__OP_Mul: return a * b;
    case LOOM__OP_Div: return a / b;
    case LOOM__OP_Pow: return pow(a, b);
    case LOOM__OP_Mod: {
        /* fmod = 1: the dividend's sign (C); 0: the divisor's (numpy.mod) */
        double r = fmod(a, b);
        if (n->p.math.mode == 0 && r != 0.0 && (r < 0.0) != (b < 0.0))
            r += b;
        return r;
    }
    case LOOM__OP_Equal: return a == b;
    case LOOM__OP_Less: return a < b;
    case LOOM__OP_Greater: return a > b;
    case LOOM__OP_LessOrEqual: return a <= b;
    case LOOM__OP_GreaterOrEqual: return a >= b;
    case LOOM__OP_PRelu: return a < 0.0 ? a * b : a;
    /* NaN wins, as numpy.maximum/minimum */
    case LOOM__OP_Max: return a != a || b != b ? NAN : a > b ? a : b;
    case LOOM__OP_Min: return a != a || b != b ? NAN : a < b ? a : b;
    default: return NAN;
    }
}

/* a op b for integers (unsigned ones as uint64); false on a zero divisor. */
static bool binary_i(const loom__node *n, bool u, int64_t a, int64_t b, int64_t *y)
{
    uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
    switch (n->op) {
    case LOOM__OP_Add: case LOOM__OP_Sum: *y = (int64_t)(ua + ub); return true;
    case LOOM__OP_Sub: *y = (int64_t)(ua - ub); return true;
    case LOOM__OP_Mul: *y = (int64_t)(ua * ub); return true;
    case LOOM__OP_Div:
        if (b == 0)
            return false;
        *y = u ? (int64_t)(ua / ub) : b == -1 ? (int64_t)(0 - ua) : a / b;
        return true;
    case LOOM__OP_Mod:
        if (b == 0)
            return false;
        if (u) {
            *y = (int64_t)(ua % ub);
        } else {
            int64_t r = b == -1 ? 0 : a % b; /* C: the dividend's sign (fmod = 1) */
            if (n->p.math.mode == 0 && r != 0 && ((r < 0) != (b < 0)))
                r += b; /* Python: the divisor's sign */
            *y = r;
        }
        return true;
    case LOOM__OP_Pow: {
        /* by squaring, wrapping; a negative exponent gives 0 (or 1/-1) */
        uint64_t r = 1, base = ua;
        if (!u && b < 0) {
            *y = a == 1 ? 1 : a == -1 ? ((b & 1) ? -1 : 1) : 0;
            return true;
        }
        for (uint64_t e = ub; e; e >>= 1, base *= base)
            if (e & 1)
                r *= base;
        *y = (int64_t)r;
        return true;
    }
    case LOOM__OP_Equal: *y = a == b; return true;
    case LOOM__OP_Less: *y = u ? ua < ub : a < b; return true;
    case LOOM__OP_Greater: *y = u ? ua > ub : a > b; return true;
    case LOOM__OP_LessOrEqual: *y = u ? ua <= ub : a <= b; return true;
    case LOOM__OP_GreaterOrEqual: *y = u ? ua >= ub : a >= b; return true;
    case LOOM__OP_PRelu: *y = !u && a < 0 ? (int64_t)(ua * ub) : a; return true;
    case LOOM__OP_Max: *y = (u ? ua > ub : a > b) ? a : b; return true;
    case LOOM__OP_Min: *y = (u ? ua < ub : a < b) ? a : b; return true;
    case LOOM__OP_And: case LOOM__OP_BitwiseAnd: *y = a & b; return true;
    case LOOM__OP_Or: case LOOM__OP_BitwiseOr: *y = a | b; return true;
    case LOOM__OP_Xor: case LOOM__OP_BitwiseXor: *y = a ^ b; return true;
    case LOOM__OP_BitShift:
        /* signed right shifts are arithmetic, as numpy's */
        if (n->p.math.mode == 1)
            *y = ub >= 64 ? 0 : (int64_t)(ua << ub);
        else if (u)
            *y = ub >= 64 ? 0 : (int64_t)(ua >> ub);
        else
            *y = ub >= 64 ? (a < 0 ? -1 : 0) : a >> ub;
        return true;
    default: *y = 0; return true;
    }
}

/* y[o] = a op b over the broadcast of two tensors into y's shape (y may
 * be a itself, for the variadic fold). */
static loom_status broadcast_op(const loom__node *n, const loom_tensor *a, const loom_tensor *b,
                                loom_tensor *y)
{
    const loom_tensor *ab[2] = {a, b};
    bool is_float = loom__dtype_is_float(a->dtype), u = loom__dtype_is_unsigned(a->dtype);
    loom__bcast_it it;
    int64_t off[3], o = 0;
    loom__bcast_begin(&it, y, ab, 2);
    while (loom__bcast_row(&it, off))
        for (int64_t j = 0; j < it.row_len; j++, o++) {
            int64_t ia = off[0] + j * it.inner[0], ib = off[1] + j * it.inner[1];
            if (is_float) {
                loom__ref_set_f(y, o, binary_f(n, loom__ref_get_f(a, ia), loom__ref_get_f(b, ib)));
            } else {
                int64_t r;
                if (!binary_i(n, u, loom__ref_get_i(a, ia), loom__ref_get_i(b, ib), &r))
                    return loom__err(LOOM_E_DATA_INVALID, "integer %s by zero",
                                     n->op == LOOM__OP_Mod ? "modulo" : "division");
                loom__ref_set_i(y, o, r);
            }
        }
    return LOOM_OK;
}

loom_status loom__ref_math_binary(const loom__node *n, const loom_tensor *const *in,
                                  loom_tensor *const *out)
{
    /* Pow with a float base and an integer exponent: in the base's type */
    if (n->op == LOOM__OP_Pow && loom__dtype_is_float(in[0]->dtype) != loom__dtype_is_float(in[1]->dtype)) {
        const loom_tensor *ab[2] = {in[0], in[1]};
        loom__bcast_it it;
        int64_t off[3], o = 0;
        loom__bcast_begin(&it, out[0], ab, 2);
        while (loom__bcast_row(&it, off))
            for (int64_t j = 0; j < it.row_len; j++, o++)
                loom__ref_set_f(out[0], o, pow(loom__ref_get_f(in[0], off[0] + j * it.inner[0]),
                                               loom__ref_get_f(in[1], off[1] + j * it.inner[1])));
        return LOOM_OK;
    }
    return broadcast_op(n, in[0], in[1], out[0]);
}

/* Sum, Mean, Max, Min of any number of inputs, broadcast together. */
loom_status loom__ref_math_variadic(const loom__node *n, const loom_tensor *const *in,
                                    loom_tensor *const *out)
{
    loom_tensor *y = out[0];
    const loom_tensor *first[1] = {in[0]};
    loom__bcast_it it;
    int64_t off[3], o = 0;
    size_t es = loom_dtype_size(y->dtype);
    loom_status st = LOOM_OK;

    /* y = input 0 broadcast, then y = y op input k */
    loom__bcast_begin(&it, y, first, 1);
    while (loom__bcast_row(&it, off))
        for (int64_t j = 0; j < it.row_len; j++, o++)
            memcpy((char *)y->data + o * (int64_t)es,
                   (const char *)in[0]->data + (off[0] + j * it.inner[0]) * (int64_t)es, es);
    for (int k = 1; k < n->n_inputs && st == LOOM_OK; k++)
        st = broadcast_op(n, y, in[k], y);
    if (st == LOOM_OK && n->op == LOOM__OP_Mean)
        for (int64_t i = 0; i < y->numel; i++)
            loom__ref_set_f(y, i, loom__ref_get_f(y, i) / n->n_inputs);
    return st;
}

/* Clip on any numeric dtype; bounds from inputs 1 and 2 (constants or
 * computed at run time), else the parsed attributes (opset < 11). */
loom_status loom__ref_math_clip(const loom__node *n, const loom_tensor *const *in,
                                loom_tensor *const *out)
{
    const loom_tensor *x = in[0], *lo_t = loom__opt_in(n, in, 1), *hi_t = loom__opt_in(n, in, 2);
    loom_tensor *y = out[0];
    if ((lo_t && lo_t->numel != 1) || (hi_t && hi_t->numel != 1))
        return loom__err(LOOM_E_SHAPE, "Clip: min and max must be single values");
    if (loom__dtype_is_float(x->dtype)) {
        double lo = lo_t ? loom__ref_get_f(lo_t, 0) : n->p.clip.min;
        double hi = hi_t ? loom__ref_get_f(hi_t, 0) : n->p.clip.max;
        for (int64_t i = 0; i < x->numel; i++) {
            double v = loom__ref_get_f(x, i);
            v = v < lo ? lo : v;
            loom__ref_set_f(y, i, v > hi ? hi : v);
        }
    } else {
        bool u = loom__dtype_is_unsigned(x->dtype);
        for (int64_t i = 0; i < x->numel; i++) {
            int64_t v = loom__ref_get_i(x, i);
            if (lo_t) {
                int64_t lo = loom__ref_get_i(lo_t, 0);
                if (u ? (uint64_t)v < (uint64_t)lo : v < lo)
                    v = lo;
            }
            if (hi_t) {
                int64_t hi = loom__ref_get_i(hi_t, 0);
                if (u ? (uint64_t)v > (uint64_t)hi : v > hi)
                    v = hi;
            }
            loom__ref_set_i(y, i, v);
        }
    }
    return LOOM_OK;
}
