/* consumer.c - a program built against an installed loom, the way a user
 * would (CMakeLists.txt beside it: find_package(loom); or pkg-config
 * --cflags --libs loom). It runs a model once with every input filled
 * with one value and prints each output's values, as `loom run` prints
 * them, so the two can be compared.
 *
 *   consumer MODEL [VALUE]      (VALUE default 0.5; float32 inputs only) */
#include <stdio.h>
#include <stdlib.h>

#include <loom/loom.h>

int main(int argc, char **argv)
{
    loom_model *m = NULL;
    loom_session *s = NULL;
    float value = argc > 2 ? (float)atof(argv[2]) : 0.5f;
    int rc = 1;
    if (argc < 2) {
        fprintf(stderr, "usage: consumer MODEL [VALUE]\n");
        return 64;
    }
    printf("loom %s\n", loom_version());
    if (loom_model_load(argv[1], NULL, &m) != LOOM_OK || loom_session_create(m, NULL, &s) != LOOM_OK)
        goto done;
    for (size_t i = 0; i < loom_session_input_count(s); i++) {
        loom_value_info vi;
        loom_tensor *t;
        int64_t n = 1;
        if (loom_session_input(s, i, &vi) != LOOM_OK || vi.dtype != LOOM_F32)
            goto done;
        if (loom_tensor_create(LOOM_F32, vi.rank, vi.dims, &t) != LOOM_OK)
            goto done;
        for (int d = 0; d < vi.rank; d++)
            n *= vi.dims[d];
        for (int64_t k = 0; k < n; k++)
            ((float *)loom_tensor_data(t))[k] = value;
        if (loom_session_set_input(s, vi.name, t) != LOOM_OK) {
            loom_tensor_free(t);
            goto done;
        }
        loom_tensor_free(t);
    }
    if (loom_session_run(s) != LOOM_OK)
        goto done;
    for (size_t i = 0; i < loom_session_output_count(s); i++) {
        const loom_tensor *t = loom_session_output_tensor(s, i);
        loom_value_info vi;
        loom_session_output(s, i, &vi);
        printf("%s:", vi.name);
        for (int64_t k = 0; k < loom_tensor_numel(t) && loom_tensor_dtype(t) == LOOM_F32; k++)
            printf(" %.9g", ((const float *)loom_tensor_cdata(t))[k]);
        printf("\n");
    }
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "consumer: %s\n", loom_last_error());
    loom_session_free(s);
    loom_model_free(m);
    return rc;
}
