/*
 * test_xrt_card.c - label hw: the int8 GEMM test vectors on an Alveo card
 * through the xrt device, bit for bit against ref. Needs a card bound to
 * xocl, XILINX_XRT, and LOOM_XCLBIN naming a loom .xclbin built for it
 * (cmake --build build --target xclbin_<board>_hw); without them it skips
 * and says which is missing (CTest shows xrt_card_present as Skipped).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gemm-vectors.h"
#include "loom/loom.h"

Test(xrt_card, gemm_vectors_bit_exact_on_a_card, .timeout = 600)
{
    bool card = false;
    for (size_t i = 0; i < loom_device_count(); i++) {
        loom_device_info d;
        loom_device_get(i, &d);
        card |= !strncmp(d.name, "xrt:", 4) && !strstr(d.platform, "noop") && !strstr(d.platform, "emulated");
    }
    if (!card)
        cr_skip_test("no Alveo card (XILINX_XRT set, a card bound to xocl): see loom devices -v");
    if (!getenv("LOOM_XCLBIN"))
        cr_skip_test("LOOM_XCLBIN is not set: build one with cmake --build build --target xclbin_<board>_hw");
    gemm_vectors_on_device("xrt:0", 500);
}
