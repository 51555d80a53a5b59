/*
 * calibrate.h - measured rates for the cost model (cost/cost.h).
 *
 * Before a session places nodes automatically, every device it may use
 * is measured once per machine: a short micro-benchmark run through
 * sessions like any model, on that device alone (a Relu of 16 floats: the
 * fixed cost of a node; an Add of two 1 Mi-float inputs: memory rate and,
 * on devices with their own memory, the copy rate; an fp32 MatMul and,
 * where the device runs it, an int8 GEMM node of S x S x S: the arithmetic
 * rates), each the median of 5 profiled runs after a warm-up. The rates
 * are cached in the loom cache folder (rates-<key>.json, the key a hash of
 * the device's backend, name, model, platform, fingerprint, loom's
 * version, the CPU count and the PoCL thread limit), so later processes
 * read them instead of measuring.
 *
 * LOOM_CALIBRATE=0 keeps the modelled rates (reproducible placements);
 * LOOM_CALIBRATE=force measures again and rewrites the cache.
 */
#ifndef LOOM_CALIBRATE_H
#define LOOM_CALIBRATE_H

#include "backends/backend.h"

/* Measure dev (or read its cached rates) into dev->caps, once per
 * process; force measures again (and rewrites the cache). A failed
 * measurement leaves the modelled rates and is logged, never an error of
 * the caller's session. */
void loom__calibrate(loom__device *dev, bool force);
/* The same for every device of a partition's list (auto mode, measure_now;
 * explicit-only devices left out), unless LOOM_CALIBRATE=0. Without
 * measure_now (a placement the user named: nothing to choose) only rates
 * already cached are read, so predicted times still use measured rates
 * where there are some, at no cost. */
void loom__calibrate_list(loom__device *const *devs, int n_devs, bool measure_now);

#endif /* LOOM_CALIBRATE_H */
