/* vsim-absent.c - the vsim entry points of a build without Verilator
 * (LOOM_WITH_VERILATOR off or verilator not installed). */
#include "core/core-impl.h"

int loom_vsim_sizes(int (*sizes)[2], int max)
{
    (void)sizes, (void)max;
    return 0;
}

loom_status loom_vsim_gemm_i8(const loom_vsim_options *opt, const loom_gemm_i8_args *args,
                              loom_vsim_stats *stats)
{
    (void)opt, (void)args, (void)stats;
    return loom__err(LOOM_E_DEVICE_UNAVAILABLE,
                     "vsim: this loom was built without Verilator (apt-get install verilator g++, "
                     "then reconfigure)");
}
