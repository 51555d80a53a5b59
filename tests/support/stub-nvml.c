/* stub-nvml.c - a stand-in for libnvidia-ml.so.1 with the entry points
 * loom's nvml meter loads (tests/test_meters.c), behaving as the
 * environment says:
 *   STUB_NVML_GPUS=N        N GPUs (default 1; 0: none)
 *   STUB_NVML_NO_ENERGY=1   no total energy counter (pre-Volta): power only
 *   STUB_NVML_STALL=1       the energy counter never moves
 *   STUB_NVML_INIT_FAIL=1   nvmlInit_v2 fails (no driver)
 * The energy counter starts at 1,000,000 mJ and adds 7 mJ per read; the
 * power is 250 W. */
#include <stdlib.h>
#include <string.h>

static unsigned long long counter = 1000000;

static int env_on(const char *k)
{
    const char *v = getenv(k);
    return v && v[0] && strcmp(v, "0") != 0;
}

int nvmlInit_v2(void)
{
    return env_on("STUB_NVML_INIT_FAIL") ? 9 : 0; /* NVML_ERROR_DRIVER_NOT_LOADED */
}

int nvmlShutdown(void)
{
    return 0;
}

int nvmlDeviceGetCount_v2(unsigned *n)
{
    const char *v = getenv("STUB_NVML_GPUS");
    *n = v ? (unsigned)atoi(v) : 1;
    return 0;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned i, void **dev)
{
    static int devs[8];
    if (i >= 8)
        return 2; /* NVML_ERROR_INVALID_ARGUMENT */
    *dev = &devs[i];
    return 0;
}

int nvmlDeviceGetName(void *dev, char *name, unsigned len)
{
    (void)dev;
    strncpy(name, "Stub GPU", len);
    return 0;
}

int nvmlDeviceGetTotalEnergyConsumption(void *dev, unsigned long long *mj)
{
    (void)dev;
    if (env_on("STUB_NVML_NO_ENERGY"))
        return 3; /* NVML_ERROR_NOT_SUPPORTED */
    if (!env_on("STUB_NVML_STALL"))
        counter += 7;
    *mj = counter;
    return 0;
}

int nvmlDeviceGetPowerUsage(void *dev, unsigned *mw)
{
    (void)dev;
    *mw = 250000;
    return 0;
}
