/*
 * test_xrt.c - the xrt device without a card: the environment checks that
 * keep XRT from aborting the process, the reasons given, and XRT's noop
 * shim exercising the host plumbing (open, an xclbin container, buffer
 * objects: allocate, map, write + sync, sync + read) in a child process
 * (tests/xrt-probe.c). Nothing here is computed by hardware or compared
 * with ref: the noop shim computes nothing. A card runs test_xrt_card.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loom/loom.h"
#include "tmpdir.h"

extern char **environ;

/* $tmp/lib with links to Debian's XRT libraries: what XILINX_XRT needs. */
static const char *fake_xrt_root(bool with_noop)
{
    static const char *const libs[] = {"libxrt_coreutil.so.2", "libxrt_core.so.2", "libxrt_noop.so.2"};
    char lib[1024], src[1024], dst[1200];
    snprintf(lib, sizeof lib, "%s/xrt/lib", tb_tmpdir_path());
    snprintf(dst, sizeof dst, "%s/xrt", tb_tmpdir_path());
    mkdir(dst, 0700);
    mkdir(lib, 0700);
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
        if (!with_noop && strstr(libs[i], "noop"))
            continue;
        snprintf(src, sizeof src, "%s/%s", LOOM_XRT_LIBDIR, libs[i]);
        snprintf(dst, sizeof dst, "%s/%s", lib, libs[i]);
        cr_assert_eq(symlink(src, dst), 0, "symlink %s", dst);
    }
    return tb_tpath("xrt");
}

static bool has_device(const char *name)
{
    for (size_t i = 0; i < loom_device_count(); i++) {
        loom_device_info d;
        loom_device_get(i, &d);
        if (!strcmp(d.name, name))
            return true;
    }
    return false;
}

/* loom_gemm_i8 of a 1x1x1 GEMM on device: only the status matters here. */
static loom_status gemm_1x1(const char *device)
{
    int8_t a = 1, c = 0;
    int32_t m = 1 << 30, s = 0;
    loom_gemm_i8_args g = {.M = 1, .N = 1, .K = 1, .A = &a, .lda = 1, .B = &a, .ldb = 1,
                           .mult = &m, .shift = &s, .C = &c, .ldc = 1};
    return loom_gemm_i8(device, &g);
}

/* Each Criterion test runs in its own process, so the registry below
 * enumerates with this test's environment. */
Test(xrt, unset_xilinx_xrt_means_no_device_and_says_why)
{
    unsetenv("XILINX_XRT");
    unsetenv("XCL_EMULATION_MODE");
    cr_assert(!has_device("xrt:0"));
    cr_assert_eq(gemm_1x1("xrt:0"), LOOM_E_DEVICE_UNAVAILABLE);
    cr_assert(strstr(loom_last_error(), "XILINX_XRT is not set"), "%s", loom_last_error());
}

Test(xrt, missing_shim_library_means_no_device)
{
    tb_tmpdir("xrt-noshim");
    setenv("XILINX_XRT", fake_xrt_root(false), 1);
    setenv("XCL_EMULATION_MODE", "noop", 1);
    cr_assert(!has_device("xrt:0"));
    cr_assert_eq(gemm_1x1("xrt"), LOOM_E_DEVICE_UNAVAILABLE);
    cr_assert(strstr(loom_last_error(), "libxrt_noop.so.2"), "%s", loom_last_error());
    tb_tmpdir_remove();
}

Test(xrt, no_card_means_no_device)
{
    tb_tmpdir("xrt-nocard");
    setenv("XILINX_XRT", fake_xrt_root(false), 1);
    unsetenv("XCL_EMULATION_MODE");
    /* this machine has no Xilinx card: the sysfs scan finds none, and
     * XRT is never asked (it would print to the terminal) */
    cr_assert(!has_device("xrt:0"));
    tb_tmpdir_remove();
}

Test(xrt, noop_device_is_listed_and_computes_nothing)
{
    tb_tmpdir("xrt-noop-dev");
    setenv("XILINX_XRT", fake_xrt_root(true), 1);
    setenv("XCL_EMULATION_MODE", "noop", 1);
    cr_assert(has_device("xrt:0"));
    cr_assert_eq(gemm_1x1("xrt:0"), LOOM_E_DEVICE_UNAVAILABLE);
    cr_assert(strstr(loom_last_error(), "noop shim: nothing is computed"), "%s", loom_last_error());
    /* the int8 nodes of a quantised model are not placed there */
    {
        char out[600];
        loom_model *m, *q;
        loom_tensor *c;
        int64_t dims[4] = {2, 1, 28, 28};
        loom_session *s;
        loom_session_options so = {.devices = "xrt:0", .infer_only = true};
        size_t int8_nodes = 0;
        snprintf(out, sizeof out, "%s/q.onnx", tb_tmpdir_path());
        cr_assert_eq(loom_model_load(LOOM_SOURCE_DIR "/tests/models/lenet/model.onnx", NULL, &m), LOOM_OK);
        cr_assert_eq(loom_tensor_create(LOOM_F32, 4, dims, &c), LOOM_OK);
        cr_assert_eq(loom_quantize(m, (const loom_tensor *const *)&c, 1, NULL, out, NULL), LOOM_OK, "%s",
                     loom_last_error());
        cr_assert_eq(loom_model_load(out, NULL, &q), LOOM_OK);
        cr_assert_eq(loom_session_create(q, &so, &s), LOOM_OK, "%s", loom_last_error());
        for (size_t i = 0; i < loom_session_node_count(s); i++) {
            loom_node_placement p;
            loom_session_placement(s, i, &p);
            if (strncmp(p.op_type, "LoomQ", 5) != 0)
                continue;
            int8_nodes++;
            cr_assert_str_eq(p.device, "ref");
            cr_assert(strstr(p.reason, "noop shim computes nothing"), "%s", p.reason);
        }
        cr_assert_eq(int8_nodes, 5);
        loom_session_free(s);
        loom_tensor_free(c);
        loom_model_free(q);
        loom_model_free(m);
    }
    tb_tmpdir_remove();
}

/* The plumbing under noop, in a child: every step must report ok. */
Test(xrt, noop_shim_open_xclbin_and_buffers, .timeout = 60)
{
    static const char *const steps[] = {"open", "xclbin", "bo_alloc", "bo_map", "bo_write_sync",
                                        "bo_sync_read"};
    char *argv[] = {(char *)LOOM_XRT_PROBE, NULL}, *envp[512], env1[1200], env2[64];
    char out[8192] = "";
    int ne = 0, status;
    pid_t pid;
    posix_spawn_file_actions_t fa;
    FILE *f;
    const char *outp;
    tb_tmpdir("xrt-noop");
    snprintf(env1, sizeof env1, "XILINX_XRT=%s", fake_xrt_root(true));
    snprintf(env2, sizeof env2, "XCL_EMULATION_MODE=noop");
    for (char **e = environ; *e && ne < 500; e++)
        if (strncmp(*e, "XILINX_XRT=", 11) && strncmp(*e, "XCL_EMULATION_MODE=", 19))
            envp[ne++] = *e;
    envp[ne++] = env1;
    envp[ne++] = env2;
    envp[ne] = NULL;
    outp = tb_tpath("probe.out");
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    cr_assert_eq(posix_spawn(&pid, LOOM_XRT_PROBE, &fa, NULL, argv, envp), 0);
    posix_spawn_file_actions_destroy(&fa);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    /* the exit status is not asserted: noop has crashed at exit here */
    f = fopen(outp, "r");
    cr_assert_not_null(f);
    out[fread(out, 1, sizeof out - 1, f)] = 0;
    fclose(f);
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        char want[64];
        snprintf(want, sizeof want, "STEP %s ok\n", steps[i]);
        cr_assert(strstr(out, want), "step %s did not report ok:\n%s", steps[i], out);
    }
    cr_assert(strstr(out, "STEP done\n"), "%s", out);
    cr_log_info("noop probe (child exit status 0x%x):\n%s", status, out);
    tb_tmpdir_remove();
}
