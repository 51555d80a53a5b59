/* cli-inputs.c - `--input NAME=FILE.npy` and `--input-file FILE.npy`
 * values shared by run, partition and validate. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int loom_cli_inputs_add(loom_cli_inputs *in, char *arg, bool whole)
{
    if (in->n == in->cap) {
        int cap = in->cap ? in->cap * 2 : 8;
        loom_cli_input *grown = realloc(in->items, (size_t)cap * sizeof *grown);
        if (!grown)
            return LOOM_EXIT_SOFTWARE;
        in->items = grown;
        in->cap = cap;
    }
    memset(&in->items[in->n], 0, sizeof in->items[0]);
    in->items[in->n].path = arg; /* split, or not, once the model is known */
    in->items[in->n].whole = whole;
    in->n++;
    return 0;
}

/* NAME=FILE: NAME is the longest part before an '=' that names one of
 * the model's inputs (names and paths may both hold '='); otherwise the
 * whole argument is the file of the model's only input. */
static void split_arg(loom_cli_input *it, const loom_model *m)
{
    char *arg = (char *)it->path, *best = NULL;
    if (it->whole)
        return;
    for (char *eq = strchr(arg, '='); eq; eq = strchr(eq + 1, '='))
        for (size_t i = 0; i < loom_model_input_count(m); i++) {
            loom_value_info vi;
            loom_model_input(m, i, &vi);
            if (strlen(vi.name) == (size_t)(eq - arg) && strncmp(vi.name, arg, (size_t)(eq - arg)) == 0)
                best = eq;
        }
    if (best) {
        *best = '\0';
        it->name = arg;
        it->path = best + 1;
    }
}

int loom_cli_inputs_load(loom_cli_inputs *in, const loom_model *m, const char *cmd, bool require_all,
                         bool read_data)
{
    char buf[512];
    loom_status st;

    for (int k = 0; k < in->n; k++) {
        loom_value_info vi;
        split_arg(&in->items[k], m);
        if (!in->items[k].name && !in->items[k].whole && strchr(in->items[k].path, '=') &&
            access(in->items[k].path, F_OK) != 0) {
            /* NAME=FILE whose NAME is no input (and no file has the whole
             * name): say so, not "no such file" */
            const char *arg = in->items[k].path;
            return loom_cli_usage_error(cmd, "the model has no input called \"%.*s\" (a file whose name holds "
                                        "'=' goes with --input-file)",
                                        (int)(strchr(arg, '=') - arg), arg);
        }
        if (!in->items[k].name) {
            if (loom_model_input_count(m) != 1)
                return loom_cli_usage_error(cmd, "the model has %zu inputs: name each one, as --input NAME=FILE.npy",
                                            loom_model_input_count(m));
            loom_model_input(m, 0, &vi);
            in->items[k].name = vi.name;
        }
        for (int j = 0; j < k; j++)
            if (strcmp(in->items[j].name, in->items[k].name) == 0)
                return loom_cli_usage_error(cmd, "input '%s' is given twice", in->items[k].name);
    }
    for (size_t i = 0; require_all && i < loom_model_input_count(m); i++) {
        loom_value_info vi;
        bool given = false;
        loom_model_input(m, i, &vi);
        for (int k = 0; k < in->n; k++)
            given |= strcmp(in->items[k].name, vi.name) == 0;
        if (!given)
            return loom_cli_usage_error(cmd, "no value for input '%s' (%s): add --input %s=FILE.npy",
                                        vi.name, loom_cli_type_str(&vi, buf, sizeof buf), vi.name);
    }
    in->shapes = calloc((size_t)in->n + 1, sizeof *in->shapes);
    if (!in->shapes)
        return LOOM_EXIT_SOFTWARE;
    /* headers first: every file's dtype and shape against the model before
     * any data is read (a 3 GiB input of the wrong shape costs nothing) */
    for (int k = 0; k < in->n; k++) {
        loom_cli_input *it = &in->items[k];
        loom_value_info vi;
        bool fits;
        if (loom_cli_is_pb(it->path)) {
            /* an ONNX TensorProto: read whole, here */
            if ((st = loom_tensor_load_pb(it->path, &it->t)) != LOOM_OK)
                return loom_cli_fail(st);
            it->dtype = loom_tensor_dtype(it->t);
            it->rank = loom_tensor_rank(it->t);
            memcpy(it->dims, loom_tensor_dims(it->t), sizeof(int64_t) * (size_t)it->rank);
        } else if ((st = loom_npy_peek(it->path, &it->dtype, &it->rank, it->dims)) != LOOM_OK) {
            return loom_cli_fail(st);
        }
        for (size_t i = 0; i < loom_model_input_count(m); i++) {
            loom_model_input(m, i, &vi);
            if (strcmp(vi.name, it->name) != 0)
                continue;
            fits = vi.dtype == it->dtype && (vi.rank < 0 || vi.rank == it->rank);
            for (int d = 0; fits && vi.rank >= 0 && d < vi.rank; d++)
                fits = vi.dims[d] < 0 || vi.dims[d] == it->dims[d];
            if (!fits) {
                loom_value_info got = {.dtype = it->dtype, .rank = it->rank};
                char want[512];
                memcpy(got.dims, it->dims, sizeof got.dims);
                loom_cli_errorf("%s: input \"%s\" is %s, the model declares %s", it->path, it->name,
                                loom_cli_type_str(&got, buf, sizeof buf), loom_cli_type_str(&vi, want, sizeof want));
                return LOOM_EXIT_DATAERR;
            }
        }
        in->shapes[k].name = it->name;
        in->shapes[k].rank = it->rank;
        in->shapes[k].dims = it->dims;
    }
    for (int k = 0; read_data && k < in->n; k++) {
        loom_cli_input *it = &in->items[k];
        if (it->t)
            continue; /* a .pb, read above */
        if ((st = loom_npy_load(it->path, &it->t)) != LOOM_OK)
            return loom_cli_fail(st);
        if (loom_tensor_dtype(it->t) != it->dtype || loom_tensor_rank(it->t) != it->rank ||
            memcmp(loom_tensor_dims(it->t), it->dims, sizeof(int64_t) * (size_t)it->rank) != 0) {
            loom_cli_errorf("%s: the file changed while it was read", it->path);
            return LOOM_EXIT_DATAERR;
        }
    }
    return 0;
}

void loom_cli_inputs_free(loom_cli_inputs *in)
{
    for (int k = 0; k < in->n; k++)
        loom_tensor_free(in->items[k].t);
    free(in->items);
    free(in->shapes);
    memset(in, 0, sizeof *in);
}
