/* cli-inputs.c - `--input NAME=FILE.npy` values shared by run and partition. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int loom_cli_inputs_add(loom_cli_inputs *in, char *arg)
{
    char *eq = strchr(arg, '=');
    if (in->n == in->cap) {
        int cap = in->cap ? in->cap * 2 : 8;
        loom_cli_input *grown = realloc(in->items, (size_t)cap * sizeof *grown);
        if (!grown)
            return LOOM_EXIT_SOFTWARE;
        in->items = grown;
        in->cap = cap;
    }
    memset(&in->items[in->n], 0, sizeof in->items[0]);
    if (eq) {
        *eq = '\0';
        in->items[in->n].name = arg;
        in->items[in->n].path = eq + 1;
    } else {
        in->items[in->n].path = arg; /* the model's only input */
    }
    in->n++;
    return 0;
}

int loom_cli_inputs_load(loom_cli_inputs *in, const loom_model *m, const char *cmd, bool require_all)
{
    char buf[512];
    loom_status st;

    for (int k = 0; k < in->n; k++) {
        loom_value_info vi;
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
    for (int k = 0; k < in->n; k++) {
        if ((st = loom_npy_load(in->items[k].path, &in->items[k].t)) != LOOM_OK)
            return loom_cli_fail(st);
        in->shapes[k].name = in->items[k].name;
        in->shapes[k].rank = loom_tensor_rank(in->items[k].t);
        in->shapes[k].dims = loom_tensor_dims(in->items[k].t);
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
