/* fuzz_loader.c - libFuzzer target: bytes -> ONNX import -> plan -> run.
 * Any input must end in a status code, never a crash, hang or leak. */
#include <stddef.h>
#include <stdint.h>

#include "loom/loom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* small limits keep every case fast and in memory */
    const loom_load_options lo = {.max_file_bytes = 1 << 20, .max_nesting = 64,
                                  .max_tensor_bytes = 1 << 20};
    const loom_session_options so = {.max_tensor_bytes = 1 << 20, .devices = "ref"};
    loom_model *m = NULL;
    loom_session *s = NULL;

    if (loom_model_load_buffer(data, size, "fuzz.onnx", NULL, &lo, &m) != LOOM_OK)
        return 0;
    if (loom_session_create(m, &so, &s) == LOOM_OK) {
        (void)loom_session_run(s);
        loom_session_free(s);
    }
    loom_model_free(m);
    return 0;
}
