/* validate.c - a device against ref, node by node (loom_validate; the
 * rule is in loom.h). Each node the device ran is compared with the
 * reference kernels run on that node's own inputs in the device's
 * session, so error carried in from earlier nodes is never blamed on it;
 * a second session wholly on ref gives the end-to-end difference of the
 * graph outputs. Both sessions come from the same model through the same
 * passes, so node i is the same node in each; that is checked. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/backend.h"
#include "core/core-impl.h"
#include "exec/exec.h"

static double ulp_of(double r)
{
    float f = (float)fabs(r);
    return f == 0.0f ? FLT_MIN : (double)(nextafterf(f, INFINITY) - f);
}

static double value_at(const loom_tensor *t, int64_t i)
{
    const void *d = loom_tensor_cdata(t);
    switch (loom_tensor_dtype(t)) {
    case LOOM_F32: return ((const float *)d)[i];
    case LOOM_I8: return ((const int8_t *)d)[i];
    case LOOM_U8: case LOOM_BOOL: return ((const uint8_t *)d)[i];
    case LOOM_I32: return ((const int32_t *)d)[i];
    case LOOM_I64: return (double)((const int64_t *)d)[i];
    default: return 0.0;
    }
}

static void mismatch(loom_validate_result *r, size_t node, const loom_node_placement *pl, size_t k,
                     int64_t e, double v, double ref, double allowed, const char *what)
{
    if (!r->match)
        return; /* the first one is kept */
    r->match = false;
    r->node = node;
    snprintf(r->node_name, sizeof r->node_name, "%s", pl->name);
    snprintf(r->op_type, sizeof r->op_type, "%s%s%s", pl->op_type, pl->fused[0] ? "+" : "", pl->fused);
    snprintf(r->node_device, sizeof r->node_device, "%s", pl->device);
    r->output = k;
    r->element = e;
    r->value = v;
    r->ref_value = ref;
    r->allowed = allowed;
    snprintf(r->what, sizeof r->what, "%s", what);
}

/* Compare output k of node i; K its reduction length. */
static void compare(loom_validate_result *r, size_t i, const loom_node_placement *pl, size_t k,
                    const loom_tensor *got, const loom_tensor *want, double K)
{
    char what[160];
    int64_t n;
    if (!got || !want) {
        mismatch(r, i, pl, k, -1, 0, 0, 0, "an output was not produced");
        return;
    }
    if (loom_tensor_dtype(got) != loom_tensor_dtype(want)) {
        snprintf(what, sizeof what, "dtype %s vs ref %s", loom_dtype_name(loom_tensor_dtype(got)),
                 loom_dtype_name(loom_tensor_dtype(want)));
        mismatch(r, i, pl, k, -1, 0, 0, 0, what);
        return;
    }
    if (loom_tensor_rank(got) != loom_tensor_rank(want) ||
        memcmp(loom_tensor_dims(got), loom_tensor_dims(want), sizeof(int64_t) * (size_t)loom_tensor_rank(got))) {
        mismatch(r, i, pl, k, -1, 0, 0, 0, "shape differs from ref's");
        return;
    }
    n = loom_tensor_numel(got);
    for (int64_t e = 0; e < n; e++) {
        double g = value_at(got, e), w = value_at(want, e), err, allowed;
        if (loom_tensor_dtype(got) != LOOM_F32) {
            if (g != w)
                mismatch(r, i, pl, k, e, g, w, 0, "");
            continue;
        }
        if (isnan(w) || isnan(g)) {
            if (isnan(w) != isnan(g))
                mismatch(r, i, pl, k, e, g, w, 0, "NaN on one side");
            continue;
        }
        err = fabs(g - w);
        if (isinf(w) || isinf(g)) {
            if (g != w)
                mismatch(r, i, pl, k, e, g, w, 0, "infinity on one side");
            continue;
        }
        allowed = 1e-5 + 1e-5 * fabs(w) + 1e-6 * K * fmax(1.0, fabs(w)) + 8 * ulp_of(w);
        if (err > r->max_abs_error)
            r->max_abs_error = err;
        if (err / allowed > r->max_error_ratio)
            r->max_error_ratio = err / allowed;
        if (err > allowed)
            mismatch(r, i, pl, k, e, g, w, allowed, "");
    }
}

/* Worst |got - want| over the float32 elements of two outputs of one
 * shape (end to end: reported, not judged). */
static double worst_abs(const loom_tensor *got, const loom_tensor *want)
{
    double worst = 0;
    if (!got || !want || loom_tensor_dtype(got) != loom_tensor_dtype(want) ||
        loom_tensor_numel(got) != loom_tensor_numel(want))
        return INFINITY;
    for (int64_t e = 0; e < loom_tensor_numel(got); e++) {
        double g = value_at(got, e), w = value_at(want, e);
        if (isnan(g) != isnan(w) || (isinf(g) || isinf(w) ? g != w : false))
            return INFINITY;
        if (!isnan(g) && !isinf(g) && fabs(g - w) > worst)
            worst = fabs(g - w);
    }
    return worst;
}

static loom_status session_for(const loom_model *m, const loom_tensor *const *inputs, size_t n_inputs,
                               const char *devices, bool keep_values, loom_session **out)
{
    loom_input_shape shapes[64];
    char list[80];
    /* strict, with ref listed: nodes the device does not take run on ref,
     * but a device that fails is an error, not a quiet fallback to ref
     * (which would then be compared with itself) */
    loom_session_options o = {.devices = list, .strict = true, .keep_values = keep_values};
    loom_status st;
    for (size_t i = 0; i < n_inputs; i++) {
        loom_value_info vi;
        if ((st = loom_model_input(m, i, &vi)) != LOOM_OK)
            return st;
        shapes[i] = (loom_input_shape){.name = vi.name, .rank = loom_tensor_rank(inputs[i]),
                                       .dims = loom_tensor_dims(inputs[i])};
    }
    if (strcmp(devices, "ref") == 0)
        snprintf(list, sizeof list, "ref");
    else
        snprintf(list, sizeof list, "%.60s,ref", devices);
    o.input_shapes = shapes;
    o.input_shape_count = n_inputs;
    if ((st = loom_session_create(m, &o, out)) != LOOM_OK)
        return st;
    for (size_t i = 0; i < n_inputs; i++) {
        loom_value_info vi;
        loom_model_input(m, i, &vi);
        if ((st = loom_session_set_input(*out, vi.name, inputs[i])) != LOOM_OK)
            return st;
    }
    return loom_session_run(*out);
}

loom_status loom_validate(const loom_model *m, const loom_tensor *const *inputs, size_t n_inputs,
                          const char *device, loom_validate_result *out)
{
    loom_session *dev = NULL, *ref = NULL;
    loom_status st;
    char task[80];
    size_t n;

    if (!m || !out || !device || (n_inputs && !inputs))
        return loom__err(LOOM_E_INVALID_ARG, "loom_validate: NULL argument");
    if (n_inputs != loom_model_input_count(m))
        return loom__err(LOOM_E_INVALID_ARG, "loom_validate: %zu inputs given, the model has %zu", n_inputs,
                         loom_model_input_count(m));
    if (n_inputs > 64)
        return loom__err(LOOM_E_LIMIT, "loom_validate: the model has %zu inputs; at most 64 are supported",
                         n_inputs);
    if (strlen(device) > 40 || strchr(device, ','))
        return loom__err(LOOM_E_INVALID_ARG, "loom_validate: \"%.60s\" is not one device name", device);
    memset(out, 0, sizeof *out);
    snprintf(out->device, sizeof out->device, "%s", device);
    out->match = true;
    if ((st = session_for(m, inputs, n_inputs, "ref", false, &ref)) != LOOM_OK)
        goto done;
    if ((st = session_for(m, inputs, n_inputs, device, true, &dev)) != LOOM_OK)
        goto done;
    n = loom_session_node_count(ref);
    if (loom_session_node_count(dev) != n) {
        st = loom__err(LOOM_E_INTERNAL, "validate: %zu nodes on %s, %zu on ref", loom_session_node_count(dev),
                       device, n);
        goto done;
    }
    snprintf(task, sizeof task, "checking %s node by node", device);
    for (size_t i = 0; i < n; i++) {
        loom_node_placement pd, pr;
        loom_tensor **want;
        loom__progress(task, i, n);
        size_t n_out = loom_session_node_output_count(dev, i);
        bool on_ref;
        loom_session_placement(dev, i, &pd);
        loom_session_placement(ref, i, &pr);
        if (strcmp(pd.op_type, pr.op_type) || strcmp(pd.name, pr.name)) {
            st = loom__err(LOOM_E_INTERNAL, "validate: node %zu is %s on %s but %s on ref", i, pd.name, device,
                           pr.name);
            goto done;
        }
        out->nodes++;
        on_ref = strcmp(pd.device, "ref") == 0;
        /* ref validated against itself counts its own nodes */
        out->nodes_on_device += strcmp(device, "ref") == 0 || !on_ref;
        /* a node the device left to ref is ref's own result on its inputs */
        if (on_ref && strcmp(device, "ref") != 0)
            continue;
        {
            uint64_t cyc, pred;
            if (loom_session_node_cycles(dev, i, &cyc, &pred)) {
                out->simulated_cycles += cyc;
                out->predicted_cycles += pred;
            }
        }
        if (!(want = loom__calloc(n_out ? n_out : 1, sizeof *want))) {
            st = loom__err(LOOM_E_NOMEM, "out of memory");
            goto done;
        }
        if ((st = loom__session_node_reference(dev, i, want, n_out)) != LOOM_OK) {
            free(want);
            goto done;
        }
        for (size_t k = 0; k < n_out; k++) {
            if (want[k]) /* NULL: an optional output the model leaves out */
                compare(out, i, &pd, k, loom_session_node_output(dev, i, k), want[k],
                        loom__session_node_reduction(dev, i));
            loom_tensor_free(want[k]);
        }
        free(want);
    }
    loom__progress(task, n, n);
    for (size_t k = 0; k < loom_session_output_count(ref); k++) {
        double e = worst_abs(loom_session_output_tensor(dev, k), loom_session_output_tensor(ref, k));
        if (e > out->output_max_abs_error)
            out->output_max_abs_error = e;
    }
done:
    loom_session_free(dev);
    loom_session_free(ref);
    return st;
}
