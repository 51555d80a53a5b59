/* loom-sim-hooks.h - force-included into every Verilated source of the
 * harness (see sim/CMakeLists.txt): Verilator's runtime output goes to
 * the harness, which turns $fatal/$stop/$finish into error returns,
 * instead of stdout and exit(). */
#ifndef LOOM_SIM_HOOKS_H
#define LOOM_SIM_HOOKS_H
#ifdef __cplusplus
extern "C" {
#endif
int loom_sim__printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#ifdef __cplusplus
}
#endif
#define VL_PRINTF loom_sim__printf
#endif
