/* meters.c - power meters read where the hardware has them, each saying
 * why not otherwise:
 *   rapl  the CPU packages' energy counters through powercap
 *         (/sys/class/powercap/intel-rapl:N/energy_uj, microjoules,
 *         wrapping at max_energy_range_uj; root-only on current kernels;
 *         AMD packages appear there too);
 *   nvml  NVIDIA GPUs: NVML's total energy counter (millijoules since the
 *         driver loaded, Volta and later), else its power draw integrated;
 *         libnvidia-ml.so.1 is loaded at run time (dlopen), never linked;
 *   xmc   Alveo cards: the xmc_power node (microwatts) XRT's driver
 *         exposes per card, integrated over the samples.
 * $LOOM_SYSFS_ROOT prefixes the sysfs paths and $LOOM_NVML_LIB names the
 * NVML library (tests: a fake tree, a stub NVML). Counters are read as
 * deltas since open (a wrap is added back); power meters integrate
 * between samples (trapezoids), so a caller samples them often. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core-impl.h"

#define MAX_METERS 32

typedef enum { K_RAPL, K_NVML, K_XMC } meter_kind;

/* the NVML entry points loom uses (nvml.h's signatures, declared here:
 * no build dependency on the driver's headers) */
typedef struct {
    void *lib;
    int (*init)(void);
    int (*shutdown)(void);
    int (*count)(unsigned *);
    int (*handle)(unsigned, void **);
    int (*name)(void *, char *, unsigned);
    int (*energy)(void *, unsigned long long *);
    int (*power)(void *, unsigned *);
    int users;
} nvml_api;

static nvml_api nvml;

struct loom_meter {
    loom_meter_info info;
    meter_kind kind;
    char name[320], path[1400];
    double max_range;          /* rapl: the counter's wrap, in its units */
    void *dev;                 /* nvml */
    bool counter;              /* an energy counter, else power integrated */
    double last_raw, total_j;  /* the last reading; energy since open */
    double last_w, last_t;     /* power meters: the last sample */
};

static const char *sysfs_root(void)
{
    const char *r = getenv("LOOM_SYSFS_ROOT");
    return r && r[0] ? r : "";
}

/* A number from the first line of a file; false (errno set) otherwise. */
static bool read_num(const char *path, double *v)
{
    char buf[64];
    FILE *f = fopen(path, "r");
    char *end;
    if (!f)
        return false;
    if (!fgets(buf, sizeof buf, f)) {
        fclose(f);
        errno = EIO;
        return false;
    }
    fclose(f);
    errno = 0;
    *v = strtod(buf, &end);
    if (end == buf || errno) {
        errno = EINVAL;
        return false;
    }
    return true;
}

static void say(char *why, size_t size, const char *fmt, const char *a, const char *b)
{
    size_t len = why ? strlen(why) : 0;
    if (!why || len + 2 >= size)
        return;
    snprintf(why + len, size - len, fmt, a ? a : "", b ? b : "");
    len = strlen(why);
    if (len + 1 < size) {
        why[len] = '\n';
        why[len + 1] = '\0';
    }
}

static void close_all(loom_meter **m, size_t n);

static loom_meter *meter_new(meter_kind k)
{
    loom_meter *m = loom__calloc(1, sizeof *m);
    if (m)
        m->kind = k;
    return m;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- RAPL ---- */
static void open_rapl(loom_meter **out, size_t *n, char *why, size_t size)
{
    char dir[512], *names[MAX_METERS];
    size_t nn = 0, before = *n;
    DIR *d;
    struct dirent *e;
    bool denied = false;
    snprintf(dir, sizeof dir, "%s/sys/class/powercap", sysfs_root());
    if (!(d = opendir(dir))) {
        say(why, size, "rapl: no %s (no powercap: not a RAPL-capable CPU, or a virtual machine that hides it)",
            dir, NULL);
        return;
    }
    while ((e = readdir(d)) && nn < MAX_METERS) {
        /* the top-level zones: intel-rapl:N (packages, psys), not N:M */
        const char *p = e->d_name;
        if (strncmp(p, "intel-rapl:", 11) != 0 || strchr(p + 11, ':'))
            continue;
        if ((names[nn] = loom__strdup(p)))
            nn++;
    }
    closedir(d);
    qsort(names, nn, sizeof *names, cmp_names);
    for (size_t i = 0; i < nn; i++) {
        char zone[600], path[700], label[64];
        double v, range;
        loom_meter *m;
        snprintf(zone, sizeof zone, "%s/%s", dir, names[i]);
        snprintf(path, sizeof path, "%s/energy_uj", zone);
        if (!read_num(path, &v)) {
            if (errno == EACCES || errno == EPERM)
                denied = true;
            else
                say(why, size, "rapl: %s cannot be read: %s", path, strerror(errno));
            continue;
        }
        snprintf(path, sizeof path, "%s/max_energy_range_uj", zone);
        if (!read_num(path, &range) || range <= 0) {
            say(why, size, "rapl: %s is missing: the counter's wrap is not known, so it is not used", path, NULL);
            continue;
        }
        snprintf(path, sizeof path, "%s/name", zone);
        loom__read_line(path, label, sizeof label);
        if (*n == MAX_METERS || !(m = meter_new(K_RAPL)))
            continue;
        snprintf(m->name, sizeof m->name, "rapl:%s", label[0] ? label : names[i] + 11);
        snprintf(m->path, sizeof m->path, "%s/energy_uj", zone);
        m->max_range = range;
        m->counter = true;
        m->last_raw = v;
        m->info.name = m->name;
        m->info.kind = "rapl";
        m->info.boundary = strncmp(label, "psys", 4) == 0 ? "platform (psys)" : "CPU package";
        m->info.unit = "energy counter, microjoules";
        m->info.resolution_j = 1e-6;
        out[(*n)++] = m;
    }
    for (size_t i = 0; i < nn; i++)
        free(names[i]);
    if (denied)
        say(why, size, "rapl: energy_uj is readable by root only on this kernel (CVE-2020-8694): run as root, or "
            "make it readable (chmod a+r %s/intel-rapl:*/energy_uj)", dir, NULL);
    else if (*n == before && nn == 0)
        say(why, size, "rapl: %s has no intel-rapl zone", dir, NULL);
}

/* ---- NVML ---- */
static bool nvml_load(char *why, size_t size)
{
    const char *lib = getenv("LOOM_NVML_LIB");
    if (nvml.lib) {
        nvml.users++;
        return true;
    }
    if (!lib || !lib[0])
        lib = "libnvidia-ml.so.1";
    if (!(nvml.lib = dlopen(lib, RTLD_NOW | RTLD_LOCAL))) {
        say(why, size, "nvml: %s cannot be loaded (no NVIDIA driver here): %s", lib, dlerror());
        return false;
    }
    *(void **)&nvml.init = dlsym(nvml.lib, "nvmlInit_v2");
    *(void **)&nvml.shutdown = dlsym(nvml.lib, "nvmlShutdown");
    *(void **)&nvml.count = dlsym(nvml.lib, "nvmlDeviceGetCount_v2");
    *(void **)&nvml.handle = dlsym(nvml.lib, "nvmlDeviceGetHandleByIndex_v2");
    *(void **)&nvml.name = dlsym(nvml.lib, "nvmlDeviceGetName");
    *(void **)&nvml.energy = dlsym(nvml.lib, "nvmlDeviceGetTotalEnergyConsumption");
    *(void **)&nvml.power = dlsym(nvml.lib, "nvmlDeviceGetPowerUsage");
    if (!nvml.init || !nvml.shutdown || !nvml.count || !nvml.handle || !nvml.power) {
        say(why, size, "nvml: %s lacks the NVML entry points loom needs (nvmlInit_v2, nvmlDeviceGetPowerUsage, ...)",
            lib, NULL);
        dlclose(nvml.lib);
        memset(&nvml, 0, sizeof nvml);
        return false;
    }
    if (nvml.init() != 0) {
        say(why, size, "nvml: nvmlInit_v2 failed (%s): the driver is not loaded or no GPU is visible", lib, NULL);
        dlclose(nvml.lib);
        memset(&nvml, 0, sizeof nvml);
        return false;
    }
    nvml.users = 1;
    return true;
}

static void nvml_release(void)
{
    if (nvml.lib && --nvml.users == 0) {
        nvml.shutdown();
        dlclose(nvml.lib);
        memset(&nvml, 0, sizeof nvml);
    }
}

static void open_nvml(loom_meter **out, size_t *n, char *why, size_t size)
{
    unsigned count = 0;
    if (!nvml_load(why, size))
        return;
    if (nvml.count(&count) != 0 || count == 0) {
        say(why, size, "nvml: the driver sees no GPU", NULL, NULL);
        nvml_release();
        return;
    }
    for (unsigned i = 0; i < count && *n < MAX_METERS; i++) {
        void *dev = NULL;
        char gpu[64] = "GPU", idx[16];
        unsigned long long mj;
        unsigned mw;
        loom_meter *m;
        snprintf(idx, sizeof idx, "%u", i);
        if (nvml.handle(i, &dev) != 0 || !dev) {
            say(why, size, "nvml: GPU %s: no handle", idx, NULL);
            continue;
        }
        if (nvml.name)
            nvml.name(dev, gpu, sizeof gpu);
        gpu[sizeof gpu - 1] = '\0';
        if (!(m = meter_new(K_NVML)))
            continue;
        m->dev = dev;
        snprintf(m->name, sizeof m->name, "nvml:%u %s", i, gpu);
        m->info.name = m->name;
        m->info.kind = "nvml";
        m->info.boundary = "GPU board";
        if (nvml.energy && nvml.energy(dev, &mj) == 0) {
            m->counter = true;
            m->last_raw = (double)mj;
            m->info.unit = "energy counter, millijoules";
            m->info.resolution_j = 1e-3;
        } else if (nvml.power(dev, &mw) == 0) {
            m->last_w = mw * 1e-3;
            m->last_t = (loom__now_us() * 1e-6);
            m->info.unit = "power draw, milliwatts, integrated over the samples";
            m->info.resolution_j = 0;
        } else {
            say(why, size, "nvml: GPU %s (%s) reports neither energy nor power", idx, gpu);
            free(m);
            continue;
        }
        nvml.users++;
        out[(*n)++] = m;
    }
    nvml_release(); /* each meter holds its own reference */
}

/* ---- xmc (Alveo) ---- */
static void open_xmc(loom_meter **out, size_t *n, char *why, size_t size)
{
    char dir[512];
    DIR *d;
    struct dirent *e;
    size_t before = *n;
    snprintf(dir, sizeof dir, "%s/sys/bus/pci/devices", sysfs_root());
    if (!(d = opendir(dir))) {
        say(why, size, "xmc: no %s", dir, NULL);
        return;
    }
    while ((e = readdir(d)) && *n < MAX_METERS) {
        char p[800], vendor[32];
        DIR *s;
        struct dirent *x;
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s/vendor", dir, e->d_name);
        loom__read_line(p, vendor, sizeof vendor);
        if (strcmp(vendor, "0x10ee") != 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (!(s = opendir(p)))
            continue;
        while ((x = readdir(s))) {
            char q[1400];
            double uw;
            loom_meter *m;
            if (strncmp(x->d_name, "xmc", 3) != 0)
                continue;
            snprintf(q, sizeof q, "%s/%s/xmc_power", p, x->d_name);
            if (!read_num(q, &uw) || !(m = meter_new(K_XMC)))
                continue;
            snprintf(m->name, sizeof m->name, "xmc:%s", e->d_name);
            snprintf(m->path, sizeof m->path, "%s", q);
            m->last_w = uw * 1e-6;
            m->last_t = (loom__now_us() * 1e-6);
            m->info.name = m->name;
            m->info.kind = "xmc";
            m->info.boundary = "card (12V PCIe, 12V AUX and 3V3 rails)";
            m->info.unit = "power, microwatts, integrated over the samples";
            out[(*n)++] = m;
            break;
        }
        closedir(s);
    }
    closedir(d);
    if (*n == before)
        say(why, size, "xmc: no Xilinx card (PCI vendor 0x10ee) with an xmc power node", NULL, NULL);
}

loom_status loom_meters_open(loom_meter ***out, size_t *count, char *why_not, size_t size)
{
    loom_meter *m[MAX_METERS];
    size_t n = 0;
    if (!out || !count)
        return loom__err(LOOM_E_INVALID_ARG, "loom_meters_open: NULL argument");
    *out = NULL;
    *count = 0;
    if (why_not && size)
        why_not[0] = '\0';
    open_rapl(m, &n, why_not, size);
    open_nvml(m, &n, why_not, size);
    open_xmc(m, &n, why_not, size);
    if (n && !(*out = loom__calloc(n, sizeof **out))) {
        close_all(m, n);
        return loom__err(LOOM_E_NOMEM, "meters: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        (*out)[i] = m[i];
        m[i]->info.total_j = 0;
    }
    *count = n;
    return LOOM_OK;
}

/* A meter's raw reading: a counter's value, or power in watts. */
static loom_status raw(loom_meter *m, double *v)
{
    switch (m->kind) {
    case K_RAPL:
        if (!read_num(m->path, v))
            return loom__err(LOOM_E_IO, "%s: %s: %s", m->name, m->path, strerror(errno));
        return LOOM_OK;
    case K_NVML:
        if (m->counter) {
            unsigned long long mj;
            if (nvml.energy(m->dev, &mj) != 0)
                return loom__err(LOOM_E_IO, "%s: nvmlDeviceGetTotalEnergyConsumption failed", m->name);
            *v = (double)mj;
        } else {
            unsigned mw;
            if (nvml.power(m->dev, &mw) != 0)
                return loom__err(LOOM_E_IO, "%s: nvmlDeviceGetPowerUsage failed", m->name);
            *v = mw * 1e-3;
        }
        return LOOM_OK;
    case K_XMC:
        if (!read_num(m->path, v))
            return loom__err(LOOM_E_IO, "%s: %s: %s", m->name, m->path, strerror(errno));
        *v *= 1e-6;
        return LOOM_OK;
    }
    return loom__err(LOOM_E_INTERNAL, "meters: unknown kind");
}

loom_status loom_meter_sample(loom_meter *m, double *joules)
{
    double v, t = (loom__now_us() * 1e-6);
    loom_status st;
    if (!m || !joules)
        return loom__err(LOOM_E_INVALID_ARG, "loom_meter_sample: NULL argument");
    if ((st = raw(m, &v)) != LOOM_OK)
        return st;
    if (m->counter) {
        double scale = m->kind == K_RAPL ? 1e-6 : 1e-3, d = v - m->last_raw;
        if (d < 0) /* wrapped (rapl) once since the last sample */
            d = m->kind == K_RAPL ? v + (m->max_range - m->last_raw) : 0;
        if (d > 0)
            m->info.updates++;
        m->total_j += d * scale;
        m->last_raw = v;
    } else {
        /* power: a trapezoid since the last sample */
        m->total_j += 0.5 * (m->last_w + v) * (t - m->last_t);
        if (v != m->last_w)
            m->info.updates++;
        m->last_w = v;
        m->last_t = t;
    }
    m->info.total_j = m->total_j;
    *joules = m->total_j;
    return LOOM_OK;
}

const loom_meter_info *loom_meter_get_info(const loom_meter *m)
{
    return m ? &m->info : NULL;
}

static void close_all(loom_meter **m, size_t n)
{
    if (!m)
        return;
    for (size_t i = 0; i < n; i++) {
        if (m[i] && m[i]->kind == K_NVML)
            nvml_release();
        free(m[i]);
    }
}

void loom_meters_free(loom_meter **m, size_t n)
{
    close_all(m, n);
    free(m);
}
