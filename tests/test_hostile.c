/*
 * test_hostile.c - files and environments a careless or hostile user
 * hands loom, each a case an adversarial run found (the `loom` CLI run as
 * a child process, support/cli-harness.h): outputs that are devices,
 * FIFOs or folders, a cache folder others can write, limits on file size
 * and memory. Each test makes its own files in a fresh temporary folder
 * (never the system's own /dev nodes) and checks that loom exits with its
 * status and one message, and that nothing it does not own changed.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cli-harness.h"
#include "loom/loom.h"
#include "tmpdir.h"

#define SRC LOOM_SOURCE_DIR
#define CLASSIFIER SRC "/examples/classifier/classifier.onnx"
#define LENET SRC "/tests/models/lenet/model.onnx"
#define LENET_X SRC "/tests/models/lenet/x.npy"

static void setup(void)
{
    tb_tmpdir("hostile");
}

static void teardown(void)
{
    tb_tmpdir_remove();
}

TestSuite(hostile, .init = setup, .fini = teardown, .timeout = 120);

#define tpath tb_tpath

/* 32 rows of the classifier's 10 features, seeded (the path in a buffer
 * of its own: tpath's rotate). */
static const char *calib_file(void)
{
    static char path[600];
    int64_t dims[2] = {32, 10};
    loom_tensor *t;
    uint64_t s = 7;
    snprintf(path, sizeof path, "%s", tpath("calib.npy"));
    cr_assert_eq(loom_tensor_create(LOOM_F32, 2, dims, &t), LOOM_OK);
    for (int64_t i = 0; i < loom_tensor_numel(t); i++) {
        s ^= s >> 12, s ^= s << 25, s ^= s >> 27;
        ((float *)loom_tensor_data(t))[i] = (float)((double)((s * 2685821657736338717ULL) >> 11) / 9007199254740992.0 * 4 - 2);
    }
    cr_assert_eq(loom_npy_save(path, t), LOOM_OK, "%s", loom_last_error());
    loom_tensor_free(t);
    return path;
}

/* A character device node like /dev/null (1, 3), made in the test's
 * folder; a skip with the reason where mknod is not permitted. */
static const char *device_node(const char *name)
{
    static char path[600];
    snprintf(path, sizeof path, "%s", tpath(name));
    if (mknod(path, S_IFCHR | 0666, makedev(1, 3)) != 0)
        cr_skip_test("mknod %s: %s (making device nodes needs root)", path, strerror(errno));
    return path;
}

static void expect_char_device(const char *path)
{
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0, "%s: %s", path, strerror(errno));
    cr_assert(S_ISCHR(sb.st_mode), "%s is no longer a device (mode 0%o)", path, sb.st_mode);
    cr_assert_eq(sb.st_rdev, makedev(1, 3));
}

static void expect_folder_holds(const char *folder, const char *want)
{
    char names[2048];
    tb_list_dir(folder, names, sizeof names);
    cr_assert_str_eq(names, want, "the folder holds: %s", names);
}

/* ---- finding 1: an output path that exists and is not a regular file
 * is refused (exit 73) and never replaced ---- */

/* `loom quantize -o DEVICE` as root renamed its model over the device
 * (the adversarial run's /dev/null became a regular file). */
Test(hostile, quantize_output_that_is_a_device_is_refused)
{
    const char *calib = calib_file(), *dev = device_node("null");
    RUN("quantize", CLASSIFIER, "--calib", calib, "-o", dev);
    expect_error_line(73, "null exists and is not a regular file (a device): it is not replaced", NULL);
    expect_char_device(dev);
    expect_folder_holds(tb_tmpdir_path(), "calib.npy|null");
}

/* `loom sim gemm --waveform DEVICE` turned the device into a file. */
Test(hostile, waveform_that_is_a_device_is_refused)
{
    const char *dev = device_node("full");
    RUN("sim", "gemm", "-M", "8", "-N", "8", "-K", "8", "--waveform", dev);
    expect_error_line(73, "full exists and is not a regular file (a device)", NULL);
    expect_char_device(dev);
    expect_folder_holds(tb_tmpdir_path(), "full");
}

/* FIFOs and folders as outputs: refused at once (a FIFO used to block
 * the waveform forever), untouched, nothing left beside them. */
Test(hostile, outputs_that_are_fifos_or_folders_are_refused)
{
    const char *calib = calib_file();
    char y[700], x[600], out[600];
    snprintf(out, sizeof out, "%s", tpath("out"));
    cr_assert_eq(mkfifo(tpath("q.onnx"), 0600), 0, "mkfifo: %s", strerror(errno));
    cr_assert_eq(mkfifo(tpath("w.fst"), 0600), 0, "mkfifo: %s", strerror(errno));
    cr_assert_eq(mkdir(tpath("d.onnx"), 0755), 0);
    RUN_OPTS(((cli_opts){.timeout_s = 30}), "quantize", CLASSIFIER, "--calib", calib, "-o", tpath("q.onnx"));
    expect_error_line(73, "q.onnx exists and is not a regular file (a FIFO)", NULL);
    RUN("quantize", CLASSIFIER, "--calib", calib, "-o", tpath("d.onnx"));
    expect_error_line(73, "d.onnx exists and is not a regular file (a folder)", NULL);
    RUN_OPTS(((cli_opts){.timeout_s = 30}), "sim", "gemm", "-M", "8", "-N", "8", "-K", "8", "--waveform",
             tpath("w.fst"));
    expect_error_line(73, "w.fst exists and is not a regular file (a FIFO)", NULL);
    /* loom run --out DIR where DIR/<output>.npy is a FIFO */
    cr_assert_eq(mkdir(out, 0755), 0);
    snprintf(y, sizeof y, "%s/y.npy", out);
    cr_assert_eq(mkfifo(y, 0600), 0, "mkfifo: %s", strerror(errno));
    snprintf(x, sizeof x, "x=%s", LENET_X);
    RUN_OPTS(((cli_opts){.timeout_s = 60}), "run", LENET, "--input", x, "--out", out);
    expect_error_line(73, "y.npy exists and is not a regular file (a FIFO)", NULL);
    expect_folder_holds(out, "y.npy");
    expect_folder_holds(tb_tmpdir_path(), "calib.npy|d.onnx|out|q.onnx|w.fst");
}

/* A file-size limit (ulimit -f) makes a write fail: exit 73 naming the
 * file, not death by SIGXFSZ, and no half-written file. (The limit, 120
 * bytes, is under the 208 of y.npy and over the message on stderr,
 * which is a file here too.) */
Test(hostile, file_size_limit_is_exit_73)
{
    char out[600], x[600];
    snprintf(out, sizeof out, "%s", tpath("out"));
    snprintf(x, sizeof x, "x=%s", LENET_X);
    RUN_OPTS(((cli_opts){.rlimit_fsize = 120}), "run", LENET, "--input", x, "--out", out);
    expect_error_line(73, "y.npy: write failed: File too large", NULL);
    expect_folder_holds(out, "");
}
