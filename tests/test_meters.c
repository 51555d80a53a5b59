/*
 * test_meters.c - the power meters without the hardware: RAPL on a fake
 * powercap tree (packages found, subzones left out, a counter that wraps,
 * one that stalls, a missing range file, a counter only root may read),
 * NVML through a stub library (the energy counter, the power-only
 * fallback, a driver that fails, no library at all), and an Alveo card's
 * xmc power node on a fake PCI tree.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "loom/loom.h"
#include "tmpdir.h"

static void put(const char *rel, const char *text)
{
    char path[1024];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", tb_tmpdir_path(), rel);
    cr_assert_not_null(f = fopen(path, "w"), "%s", path);
    fputs(text, f);
    fclose(f);
}

static void dir(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", tb_tmpdir_path(), rel);
    cr_assert_eq(mkdir(path, 0755), 0, "%s", path);
}

/* a root with nothing but what the test puts there; no NVML */
static void setup(void)
{
    tb_tmpdir("meters");
    chmod(tb_tmpdir_path(), 0755);
    setenv("LOOM_SYSFS_ROOT", tb_tmpdir_path(), 1);
    setenv("LOOM_NVML_LIB", "/nonexistent/libnvidia-ml.so.1", 1);
    dir("sys");
    dir("sys/class");
    dir("sys/bus");
    dir("sys/bus/pci");
    dir("sys/bus/pci/devices");
}

static void teardown(void)
{
    tb_tmpdir_remove();
}

TestSuite(meters, .init = setup, .fini = teardown, .timeout = 60);

static void rapl_zone(const char *zone, const char *name, const char *uj, const char *range)
{
    char rel[256];
    snprintf(rel, sizeof rel, "sys/class/powercap/%s", zone);
    dir(rel);
    snprintf(rel, sizeof rel, "sys/class/powercap/%s/name", zone);
    put(rel, name);
    snprintf(rel, sizeof rel, "sys/class/powercap/%s/energy_uj", zone);
    put(rel, uj);
    if (range) {
        snprintf(rel, sizeof rel, "sys/class/powercap/%s/max_energy_range_uj", zone);
        put(rel, range);
    }
}

Test(meters, rapl_packages_wrap_and_stall)
{
    loom_meter **m;
    size_t n;
    char why[2048];
    double j;
    dir("sys/class/powercap");
    rapl_zone("intel-rapl:0", "package-0\n", "1000\n", "262143328850\n");
    rapl_zone("intel-rapl:0:0", "core\n", "50\n", "262143328850\n"); /* a subzone: not a meter */
    rapl_zone("intel-rapl:1", "package-1\n", "262143328000\n", "262143328850\n");
    cr_assert_eq(loom_meters_open(&m, &n, why, sizeof why), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(n, 2, "%zu meters: %s", n, why);
    cr_assert_str_eq(loom_meter_get_info(m[0])->name, "rapl:package-0");
    cr_assert_str_eq(loom_meter_get_info(m[1])->name, "rapl:package-1");
    cr_assert_str_eq(loom_meter_get_info(m[0])->boundary, "CPU package");
    cr_assert_float_eq(loom_meter_get_info(m[0])->resolution_j, 1e-6, 0);
    cr_assert(strstr(why, "nvml: /nonexistent/libnvidia-ml.so.1 cannot be loaded"), "%s", why);
    cr_assert(strstr(why, "xmc: no Xilinx card"), "%s", why);
    /* 2 mJ on package 0; package 1 wraps: 850 uJ to its range, 1500 after */
    put("sys/class/powercap/intel-rapl:0/energy_uj", "3000\n");
    put("sys/class/powercap/intel-rapl:1/energy_uj", "1500\n");
    cr_assert_eq(loom_meter_sample(m[0], &j), LOOM_OK);
    cr_assert_float_eq(j, 2000e-6, 1e-12);
    cr_assert_eq(loom_meter_sample(m[1], &j), LOOM_OK);
    cr_assert_float_eq(j, (850 + 1500) * 1e-6, 1e-12, "the wrap is added back: %g J", j);
    cr_assert_eq(loom_meter_get_info(m[1])->updates, 1);
    /* a counter that does not move: no update, no energy */
    cr_assert_eq(loom_meter_sample(m[0], &j), LOOM_OK);
    cr_assert_float_eq(j, 2000e-6, 1e-12);
    cr_assert_eq(loom_meter_get_info(m[0])->updates, 1, "a stalled counter counts no update");
    /* the counter's file gone: an error naming it */
    put("sys/class/powercap/intel-rapl:0/energy_uj", "garbage\n");
    cr_assert_eq(loom_meter_sample(m[0], &j), LOOM_E_IO);
    cr_assert(strstr(loom_last_error(), "rapl:package-0") && strstr(loom_last_error(), "energy_uj"), "%s",
              loom_last_error());
    loom_meters_free(m, n);
}

Test(meters, rapl_without_its_range_or_tree_says_why)
{
    loom_meter **m;
    size_t n;
    char why[2048];
    cr_assert_eq(loom_meters_open(&m, &n, why, sizeof why), LOOM_OK);
    cr_assert_eq(n, 0);
    cr_assert(strstr(why, "rapl: no ") && strstr(why, "powercap"), "%s", why);
    loom_meters_free(m, n);
    dir("sys/class/powercap");
    rapl_zone("intel-rapl:0", "package-0\n", "1000\n", NULL);
    cr_assert_eq(loom_meters_open(&m, &n, why, sizeof why), LOOM_OK);
    cr_assert_eq(n, 0);
    cr_assert(strstr(why, "max_energy_range_uj is missing"), "%s", why);
    loom_meters_free(m, n);
}

/* energy_uj readable by root only (mode 0400, as current kernels make
 * it): read as another user, the meter is refused with the remedy */
Test(meters, rapl_root_only_counter_is_explained)
{
    pid_t pid;
    int status;
    dir("sys/class/powercap");
    rapl_zone("intel-rapl:0", "package-0\n", "1000\n", "262143328850\n");
    {
        char path[1024];
        snprintf(path, sizeof path, "%s/sys/class/powercap/intel-rapl:0/energy_uj", tb_tmpdir_path());
        cr_assert_eq(chmod(path, 0400), 0);
    }
    if (geteuid() != 0 && access("/dev/null", W_OK) == 0) {
        /* not root: the mode alone denies it */
        loom_meter **m;
        size_t n;
        char why[2048];
        cr_assert_eq(loom_meters_open(&m, &n, why, sizeof why), LOOM_OK);
        cr_assert_eq(n, 0);
        cr_assert(strstr(why, "readable by root only"), "%s", why);
        loom_meters_free(m, n);
        return;
    }
    /* root: read as nobody, in a child */
    fflush(NULL);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        loom_meter **m;
        size_t n;
        char why[2048];
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(3);
        if (loom_meters_open(&m, &n, why, sizeof why) != LOOM_OK)
            _exit(4);
        _exit(n == 0 && strstr(why, "readable by root only") && strstr(why, "chmod a+r") ? 0 : 5);
    }
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child (uid 65534) exited %d",
              WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

Test(meters, nvml_stub_energy_counter)
{
    loom_meter **m;
    size_t n;
    char why[2048];
    double j;
    setenv("LOOM_NVML_LIB", STUB_NVML_PATH, 1);
    setenv("STUB_NVML_GPUS", "2", 1);
    cr_assert_eq(loom_meters_open(&m, &n, why, sizeof why), LOOM_OK, "%s", loom_last_error());
    cr_assert_eq(n, 2, "%s", why);
    cr_assert_str_eq(loom_meter_get_info(m[0])->name, "nvml:0 Stub GPU");
    cr_assert_str_eq(loom_meter_get_info(m[0])->boundary, "GPU board");
    cr_assert_float_eq(loom_meter_get_info(m[0])->resolution_j, 1e-3, 0);
    /* the stub adds 7 mJ per read (one shared counter, read by both) */
    cr_assert_eq(loom_meter_sample(m[0], &j), LOOM_OK);
    cr_assert_float_eq(j, 0.014, 1e-12, "%g", j);
    cr_assert_eq(loom_meter_sample(m[0], &j), LOOM_OK);
    cr_assert_float_eq(j, 0.021, 1e-12, "%g", j);
    cr_assert_eq(loom_meter_get_info(m[0])->updates, 2);
    loom_meters_free(m, n);
    /* a stalled counter: readings, but no updates (a bench refuses it) */
    setenv("STUB_NVML_STALL", "1", 1);
    setenv("STUB_NVML_GPUS", "1", 1);
    cr_assert_eq(loom_meters_open(&m, &n, why, sizeof why), LOOM_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(loom_meter_sample(m[0], &j), LOOM_OK);
    cr_assert_eq(loom_meter_sample(m[0], &j), LOOM_OK);
    cr_assert_float_eq(j, 0, 0);
    cr_assert_eq(loom_meter_get_info(m[0])->updates, 0);
    loom_meters_free(m, n);
}

Test(meters, nvml_stub_power_only_and_a_failing_driver)
{
    loom_meter **m;
    size_t n;
    char why[2048];
    double j;
    struct timespec ts = {.tv_nsec = 200 * 1000 * 1000};
    setenv("LOOM_NVML_LIB", STUB_NVML_PATH, 1);
    setenv("STUB_NVML_NO_ENERGY", "1", 1);
    cr_assert_eq(loom_meters_open(&m, &n, why, sizeof why), LOOM_OK);
    cr_assert_eq(n, 1, "%s", why);
    cr_assert(strstr(loom_meter_get_info(m[0])->unit, "power draw"));
    cr_assert_float_eq(loom_meter_get_info(m[0])->resolution_j, 0, 0);
    nanosleep(&ts, NULL);
    cr_assert_eq(loom_meter_sample(m[0], &j), LOOM_OK);
    /* 250 W over at least 0.2 s */
    cr_assert(j >= 50 && j < 250 * 2.0, "%g J", j);
    loom_meters_free(m, n);
    setenv("STUB_NVML_INIT_FAIL", "1", 1);
    cr_assert_eq(loom_meters_open(&m, &n, why, sizeof why), LOOM_OK);
    cr_assert_eq(n, 0);
    cr_assert(strstr(why, "nvml: nvmlInit_v2 failed"), "%s", why);
    loom_meters_free(m, n);
    unsetenv("STUB_NVML_INIT_FAIL");
    setenv("STUB_NVML_GPUS", "0", 1);
    cr_assert_eq(loom_meters_open(&m, &n, why, sizeof why), LOOM_OK);
    cr_assert_eq(n, 0);
    cr_assert(strstr(why, "nvml: the driver sees no GPU"), "%s", why);
    loom_meters_free(m, n);
}

Test(meters, alveo_card_power_node)
{
    loom_meter **m;
    size_t n;
    char why[2048];
    double j;
    struct timespec ts = {.tv_nsec = 100 * 1000 * 1000};
    dir("sys/bus/pci/devices/0000:65:00.1");
    put("sys/bus/pci/devices/0000:65:00.1/vendor", "0x10ee\n");
    dir("sys/bus/pci/devices/0000:65:00.1/xmc.u.3145728");
    put("sys/bus/pci/devices/0000:65:00.1/xmc.u.3145728/xmc_power", "25000000\n");
    dir("sys/bus/pci/devices/0000:00:02.0");
    put("sys/bus/pci/devices/0000:00:02.0/vendor", "0x8086\n");
    cr_assert_eq(loom_meters_open(&m, &n, why, sizeof why), LOOM_OK);
    cr_assert_eq(n, 1, "%s", why);
    cr_assert_str_eq(loom_meter_get_info(m[0])->name, "xmc:0000:65:00.1");
    cr_assert(strstr(loom_meter_get_info(m[0])->boundary, "card"));
    nanosleep(&ts, NULL);
    put("sys/bus/pci/devices/0000:65:00.1/xmc.u.3145728/xmc_power", "35000000\n");
    cr_assert_eq(loom_meter_sample(m[0], &j), LOOM_OK);
    /* a trapezoid from 25 W to 35 W over at least 0.1 s */
    cr_assert(j >= 3.0 && j < 30 * 1.0, "%g J", j);
    cr_assert_eq(loom_meter_get_info(m[0])->updates, 1);
    loom_meters_free(m, n);
}
