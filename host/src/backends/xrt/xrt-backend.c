/* xrt-backend.c - the xrt device: loom's GEMM kernel (hls/loom_gemm.c,
 * built into an .xclbin) on an Alveo card through XRT, driven by the
 * kernel control layer like the simulator.
 *
 * XRT's C API throws C++ exceptions through C when XILINX_XRT is unset
 * or its shim library is missing, and prints to the terminal when asked
 * to open a card that is not there. So the backend decides from the
 * environment and sysfs whether a device can exist before it calls XRT
 * at all, and every call goes through the guard in xrt-calls.cpp:
 *   - XILINX_XRT set, and $XILINX_XRT/lib holding libxrt_coreutil.so.2 and
 *     the shim of the mode (libxrt_core.so.2 for cards; XCL_EMULATION_MODE
 *     noop/sw_emu/hw_emu: libxrt_noop/swemu/hwemu.so.2);
 *   - for cards: a PCI function of vendor 0x10ee bound to the xocl driver.
 * Anything else: no XRT device, and why (loom devices -v).
 *
 * The kernel binary: $LOOM_XCLBIN (cmake --build build --target
 * xclbin_<board>_hw builds one), loaded on the first GEMM. Timeout per
 * run: $LOOM_XRT_TIMEOUT_MS, default 10000. */
#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/backend.h"
#include "backends/kctl/kctl.h"
#include "backends/xrt/xrt-calls.h"
#include "core/core-impl.h"
#include "model/systolic.h"

static void card_rates(loom__device *d);

#define MAX_CARDS 8
#define KERNEL_NAME "loom_gemm_i8_kernel"

typedef struct {
    char bdf[32];        /* "" in emulation */
    char mode[16];       /* "" for a card, else the emulation mode */
    loom__xrt *x;        /* opened on first use */
    bool kernel_ready;
    bool wedged;         /* a run never finished: its buffers stay, nothing more runs */
} xrt_card;

static xrt_card cards[MAX_CARDS];
/* card state (open, xclbin, wedged) and runs: one GEMM at a time */
static pthread_mutex_t cards_lock = PTHREAD_MUTEX_INITIALIZER;

static bool file_exists(const char *dir, const char *name)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, R_OK) == 0;
}

static bool read_line(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    bool ok;
    if (!f)
        return false;
    ok = fgets(buf, (int)size, f) != NULL;
    fclose(f);
    if (ok)
        buf[strcspn(buf, "\n")] = 0;
    return ok;
}

/* The power a card reports (XRT's xmc sysfs node, microwatts), or < 0. */
static double card_power_w(const char *bdf)
{
    char dir[256], line[64];
    DIR *d;
    struct dirent *e;
    double w = -1.0;
    snprintf(dir, sizeof dir, "/sys/bus/pci/devices/%s", bdf);
    if (!(d = opendir(dir)))
        return -1.0;
    while ((e = readdir(d)) && w < 0) {
        char p[600];
        if (strncmp(e->d_name, "xmc", 3) != 0)
            continue;
        snprintf(p, sizeof p, "%s/%s/xmc_power", dir, e->d_name);
        if (read_line(p, line, sizeof line))
            w = strtod(line, NULL) * 1e-6;
    }
    closedir(d);
    return w;
}

/* PCI functions of vendor 0x10ee bound to xocl: the MAX_CARDS lowest
 * addresses, sorted. */
static int scan_cards(char bdfs[MAX_CARDS][32])
{
    DIR *d = opendir("/sys/bus/pci/devices");
    struct dirent *e;
    int n = 0;
    char all[64][32];
    if (!d)
        return 0;
    while ((e = readdir(d)) && n < 64) {
        char p[512], v[32], link[512];
        ssize_t len;
        if (e->d_name[0] == '.' || strlen(e->d_name) >= 32)
            continue;
        snprintf(p, sizeof p, "/sys/bus/pci/devices/%s/vendor", e->d_name);
        if (!read_line(p, v, sizeof v) || strcmp(v, "0x10ee") != 0)
            continue;
        snprintf(p, sizeof p, "/sys/bus/pci/devices/%s/driver", e->d_name);
        if ((len = readlink(p, link, sizeof link - 1)) < 0)
            continue;
        link[len] = 0;
        if (!strstr(link, "xocl"))
            continue;
        snprintf(all[n++], 32, "%s", e->d_name);
    }
    closedir(d);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp(all[j - 1], all[j]) > 0; j--) {
            char t[32];
            memcpy(t, all[j], 32);
            memcpy(all[j], all[j - 1], 32);
            memcpy(all[j - 1], t, 32);
        }
    if (n > MAX_CARDS)
        n = MAX_CARDS;
    memcpy(bdfs, all, (size_t)n * 32);
    return n;
}

static void xrt_enumerate(const loom__backend *be)
{
    const char *root = getenv("XILINX_XRT"), *mode = getenv("XCL_EMULATION_MODE");
    const char *shim = "libxrt_core.so.2";
    char lib[4096], bdfs[MAX_CARDS][32];
    int n;

    if (!root || !root[0]) {
        loom__backend_absent(be, "XILINX_XRT is not set (XRT aborts the process without it; point it at the XRT "
                 "install folder, whose lib/ holds libxrt_coreutil.so.2)");
        return;
    }
    if (mode && mode[0]) {
        if (!strcmp(mode, "noop"))
            shim = "libxrt_noop.so.2";
        else if (!strcmp(mode, "sw_emu"))
            shim = "libxrt_swemu.so.2";
        else if (!strcmp(mode, "hw_emu"))
            shim = "libxrt_hwemu.so.2";
        else {
            loom__backend_absent(be, "XCL_EMULATION_MODE=%.32s is not noop, sw_emu or hw_emu", mode);
                return;
        }
    }
    snprintf(lib, sizeof lib, "%s/lib", root);
    if (!file_exists(lib, "libxrt_coreutil.so.2") || !file_exists(lib, shim)) {
        loom__backend_absent(be, "%.200s holds no libxrt_coreutil.so.2 or %s (XRT loads its shim from "
                 "$XILINX_XRT/lib; Debian installs them in the multiarch folder: link them there)",
                 lib, shim);
        return;
    }
    if (mode && mode[0]) {
        loom__device *d = loom__device_new(be, LOOM__DEV_ACCEL);
        if (!d)
            return;
        snprintf(d->name, sizeof d->name, "xrt:0");
        snprintf(d->model, sizeof d->model, "XRT %s emulation", mode);
        snprintf(d->platform, sizeof d->platform, "XRT (%s; %s)", mode,
                 !strcmp(mode, "noop") ? "nothing is computed" : "emulated");
        snprintf(cards[0].mode, sizeof cards[0].mode, "%s", mode);
        d->priv = &cards[0];
        card_rates(d);
        return;
    }
    n = scan_cards(bdfs);
    if (n == 0) {
        loom__backend_absent(be, "no Xilinx card (PCI vendor 0x10ee) is bound to the xocl driver");
        return;
    }
    for (int i = 0; i < n; i++) {
        loom__device *d = loom__device_new(be, LOOM__DEV_ACCEL);
        char p[512], vbnv[128] = "Xilinx card", *xclbin = getenv("LOOM_XCLBIN");
        double w = card_power_w(bdfs[i]);
        DIR *dir;
        struct dirent *e;
        if (!d)
            return;
        snprintf(cards[i].bdf, sizeof cards[i].bdf, "%s", bdfs[i]);
        snprintf(p, sizeof p, "/sys/bus/pci/devices/%s", bdfs[i]);
        if ((dir = opendir(p))) { /* xocl's rom subdevice names the platform */
            while ((e = readdir(dir)))
                if (!strncmp(e->d_name, "rom", 3)) {
                    char q[800];
                    snprintf(q, sizeof q, "%s/%s/VBNV", p, e->d_name);
                    read_line(q, vbnv, sizeof vbnv);
                }
            closedir(dir);
        }
        snprintf(d->name, sizeof d->name, "xrt:%d", i);
        snprintf(d->model, sizeof d->model, "%s", vbnv);
        if (w >= 0)
            snprintf(d->platform, sizeof d->platform, "XRT, PCI %s, %.1f W, xclbin %.60s", bdfs[i], w,
                     xclbin && xclbin[0] ? xclbin : "none (set LOOM_XCLBIN)");
        else
            snprintf(d->platform, sizeof d->platform, "XRT, PCI %s, xclbin %.60s", bdfs[i],
                     xclbin && xclbin[0] ? xclbin : "none (set LOOM_XCLBIN)");
        d->priv = &cards[i];
        card_rates(d);
    }
}

/* Modelled rates of a card running loom's kernel: every cell a
 * multiply-add a cycle at rtl/loom-array.json's 300 MHz, half of it
 * sustained; operands and results cross PCIe inside each GEMM (the session
 * hands it host tensors), at a Gen3 x16 link's ~12 GB/s. */
static void card_rates(loom__device *d)
{
    loom__systolic_cfg cfg;
    loom__systolic_cfg_default(&cfg);
    d->caps.rates = (loom__rates){.gops_i8 = 2.0 * cfg.rows * cfg.cols * 300e6 / 1e9 * 0.5, .mem_gbps = 12,
                                  .launch_us = 100, .xfer_gbps = 12, .xfer_us = 20};
    d->caps.host_memory = true; /* to the session: it works on host tensors */
}

/* ---- the kernel control layer's operations over XRT ---- */

typedef struct {
    loom__device *dev;
    xrt_card *card;
    loom__xrt_bo *bo[LOOM__KARG_COUNT];
    uint64_t addr[LOOM__KARG_COUNT];
    size_t size[LOOM__KARG_COUNT];
} xrt_call;

static loom_status xrt_fail(const loom__device *dev, const char *err)
{
    return loom__err(LOOM_E_DEVICE_FAILED, "device %s: %s", dev->name, err);
}

static loom_status x_alloc(void *ctx, int arg, size_t n, uint64_t *addr)
{
    xrt_call *c = ctx;
    char err[256];
    if (loom__xrt_bo_alloc(c->card->x, arg, n, &c->bo[arg], err, sizeof err))
        return xrt_fail(c->dev, err);
    /* addresses only key the buffers here: the device address when XRT
     * gives one, else the argument number in the top bits */
    c->addr[arg] = loom__xrt_bo_address(c->bo[arg]);
    if (!c->addr[arg])
        c->addr[arg] = (uint64_t)(arg + 1) << 48;
    c->size[arg] = n;
    *addr = c->addr[arg];
    return LOOM_OK;
}

static int find_bo(xrt_call *c, uint64_t addr, size_t n, size_t *off)
{
    for (int i = 0; i < LOOM__KARG_COUNT; i++)
        if (c->bo[i] && addr >= c->addr[i] && addr - c->addr[i] + n <= c->size[i]) {
            *off = (size_t)(addr - c->addr[i]);
            return i;
        }
    return -1;
}

static loom_status x_write(void *ctx, uint64_t addr, const void *src, size_t n)
{
    xrt_call *c = ctx;
    size_t off;
    int i = find_bo(c, addr, n, &off);
    char err[256];
    if (i < 0)
        return loom__err(LOOM_E_INTERNAL, "device %s: write outside its buffers", c->dev->name);
    return loom__xrt_bo_put(c->bo[i], src, n, off, err, sizeof err) ? xrt_fail(c->dev, err) : LOOM_OK;
}

static loom_status x_read(void *ctx, uint64_t addr, void *dst, size_t n)
{
    xrt_call *c = ctx;
    size_t off;
    int i = find_bo(c, addr, n, &off);
    char err[256];
    if (i < 0)
        return loom__err(LOOM_E_INTERNAL, "device %s: read outside its buffers", c->dev->name);
    return loom__xrt_bo_get(c->bo[i], dst, n, off, err, sizeof err) ? xrt_fail(c->dev, err) : LOOM_OK;
}

static loom_status x_run(void *ctx, const loom__kctl_args *a, uint64_t *cycles)
{
    xrt_call *c = ctx;
    uint32_t scalars[LOOM__KARG_COUNT] = {0};
    loom__xrt_bo *bos[LOOM__KARG_COUNT] = {0};
    const char *env = getenv("LOOM_XRT_TIMEOUT_MS");
    unsigned timeout = env && atoi(env) > 0 ? (unsigned)atoi(env) : 10000u;
    char err[256];
    scalars[LOOM__KARG_M] = a->M;
    scalars[LOOM__KARG_N] = a->N;
    scalars[LOOM__KARG_K] = a->K;
    scalars[LOOM__KARG_LDA] = a->lda;
    scalars[LOOM__KARG_LDB] = a->ldb;
    scalars[LOOM__KARG_LDC] = a->ldc;
    scalars[LOOM__KARG_ACT] = a->act;
    for (int i = 0; i < LOOM__KARG_COUNT; i++)
        bos[i] = c->bo[i]; /* the buffer arguments, NULL for scalars */
    *cycles = 0;           /* an HLS kernel has no cycle register */
    switch (loom__xrt_run(c->card->x, LOOM__KARG_COUNT, scalars, bos, timeout, err, sizeof err)) {
    case 0: return LOOM_OK;
    case -2:
        c->card->wedged = true;
        return loom__err(LOOM_E_DEVICE_FAILED,
                         "device %s: %s (LOOM_XRT_TIMEOUT_MS); the card is not used again by this process "
                         "and the run's buffers are left to it",
                         c->dev->name, err);
    default: return xrt_fail(c->dev, err);
    }
}

static loom_status ensure_kernel(loom__device *dev, xrt_card *card)
{
    const char *path = getenv("LOOM_XCLBIN");
    char err[256];
    if (card->wedged)
        return loom__err(LOOM_E_DEVICE_UNAVAILABLE, "device %s: an earlier run never finished", dev->name);
    if (card->kernel_ready)
        return LOOM_OK;
    if (!strcmp(card->mode, "noop"))
        return loom__err(LOOM_E_DEVICE_UNAVAILABLE,
                         "device %s is XRT's noop shim: nothing is computed there, so it runs no GEMM",
                         dev->name);
    if (!path || !path[0])
        return loom__err(LOOM_E_DEVICE_UNAVAILABLE,
                         "device %s: no kernel binary: set LOOM_XCLBIN to a loom .xclbin for this card "
                         "(cmake --build build --target xclbin_<board>_hw, with Vitis)",
                         dev->name);
    {
        /* XRT opens it as it likes: a FIFO or a device there would block */
        struct stat sb;
        FILE *f = loom__fopen_regular(path, &sb);
        if (!f)
            return loom__err(LOOM_E_DEVICE_UNAVAILABLE, "device %s: LOOM_XCLBIN %s: %s", dev->name, path,
                             errno == EINVAL ? "not a regular file" : strerror(errno));
        fclose(f);
    }
    if (!card->x && loom__xrt_open(card->bdf[0] ? card->bdf : NULL, 0, &card->x, err, sizeof err))
        return xrt_fail(dev, err);
    if (loom__xrt_load_xclbin(card->x, path, err, sizeof err) ||
        loom__xrt_open_kernel(card->x, KERNEL_NAME, err, sizeof err))
        return loom__err(LOOM_E_DEVICE_FAILED, "device %s: %s: %s", dev->name, path, err);
    card->kernel_ready = true;
    return LOOM_OK;
}

static loom_status xrt_gemm_i8(loom__device *dev, const loom_gemm_i8_args *args)
{
    xrt_card *card = dev->priv;
    xrt_call call = {.dev = dev, .card = card};
    loom__kctl k = {.ctx = &call, .alloc = x_alloc, .mem_write = x_write, .mem_read = x_read,
                    .run = x_run, .name = dev->name};
    loom_status st;
    pthread_mutex_lock(&cards_lock);
    st = ensure_kernel(dev, card);
    if (st == LOOM_OK)
        st = loom__kctl_gemm_i8(&k, args, NULL);
    if (!card->wedged) /* a kernel still running may write into them */
        for (int i = 0; i < LOOM__KARG_COUNT; i++)
            loom__xrt_bo_free(call.bo[i]);
    pthread_mutex_unlock(&cards_lock);
    return st;
}

/* The int8 nodes of quantised models, where the card can run them: not
 * on the noop shim, and only with a kernel binary to load. */
static bool xrt_supports(loom__device *dev, const loom__graph *g, const loom__node *n, const char **why)
{
    const xrt_card *card = dev->priv;
    const char *path = getenv("LOOM_XCLBIN");
    if (!loom__gemm_only_supports(dev, g, n, why))
        return false;
    if (!strcmp(card->mode, "noop"))
        return *why = "XRT's noop shim computes nothing", false;
    if (!path || !path[0])
        return *why = "no kernel binary: LOOM_XCLBIN is not set", false;
    return true;
}

const loom__backend loom__backend_xrt = {
    .name = "xrt",
    .version = LOOM__BACKEND_VERSION,
    .enumerate = xrt_enumerate,
    .supports = xrt_supports,
    .run = loom__gemm_only_run,
    .gemm_i8 = xrt_gemm_i8,
};
