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

/* ---- finding 2: the OpenCL program cache trusts only what only we can
 * write ---- */

static bool have_opencl(void)
{
    RUN("devices");
    return res.code == 0 && strstr(res.out, "opencl:") != NULL;
}

#define NEED_OPENCL()                                                                                   \
    do {                                                                                                \
        if (!have_opencl())                                                                             \
            cr_skip_test("no OpenCL device (loom devices lists none): the program cache is not used"); \
    } while (0)

/* Run lenet on OpenCL (its Pad on ref) with LOOM_CACHE_DIR=cache and -vv. */
static void run_cached(const char *cache)
{
    char env[1200], x[600];
    snprintf(env, sizeof env, "LOOM_CACHE_DIR=%s", cache);
    snprintf(x, sizeof x, "x=%s", LENET_X);
    RUN_ENV(ENV(env), "run", LENET, "--input", x, "--device", "opencl", "-vv");
    expect_code(0);
}

/* The one cache file in folder (a Criterion failure if there is none). */
static void cache_file(const char *folder, char *out, size_t size)
{
    char names[256], *bar;
    tb_list_dir(folder, names, sizeof names);
    cr_assert_eq(strncmp(names, "cl-", 3), 0, "no cache file in %s: %s", folder, names);
    if ((bar = strchr(names, '|')))
        *bar = '\0';
    snprintf(out, size, "%s/%s", folder, names);
}

/* A cache folder others can write (mode 0777, as under /tmp): a binary
 * planted there by another user was loaded and run as device code. Now
 * it is not read (nor written), with a warning saying why. */
Test(hostile, cache_folder_writable_by_others_is_not_used)
{
    char cache[600], file[1000];
    struct stat before, after;
    NEED_OPENCL();
    snprintf(cache, sizeof cache, "%s", tpath("cache"));
    run_cached(cache);
    cr_assert(strstr(res.err, "program cached in"), "%s", res.err);
    cache_file(cache, file, sizeof file);
    cr_assert_eq(stat(file, &before), 0);
    run_cached(cache);
    cr_assert(strstr(res.err, "program loaded from"), "the cache works: %s", res.err);

    cr_assert_eq(chmod(cache, 0777), 0);
    run_cached(cache);
    cr_assert(strstr(res.err, "loom: warning: opencl: the cache folder ") &&
                  strstr(res.err, "is owned or writable by others"),
              "%s", res.err);
    cr_assert(!strstr(res.err, "program loaded from"), "a binary from a folder others can write was loaded: %s",
              res.err);
    cr_assert_eq(stat(file, &after), 0);
    cr_assert_eq(after.st_mtime, before.st_mtime, "the cache file was rewritten");
    /* group-writable is the same */
    cr_assert_eq(chmod(cache, 0770), 0);
    run_cached(cache);
    cr_assert(strstr(res.err, "is owned or writable by others") && !strstr(res.err, "program loaded from"), "%s",
              res.err);
}

/* A cache file that is not ours (another user's, or writable by others)
 * is not loaded; the program built instead replaces it (the folder is
 * ours alone), and that one is used next time. */
Test(hostile, cache_file_of_another_user_is_ignored)
{
    char cache[600], file[1000];
    struct stat sb;
    NEED_OPENCL();
    snprintf(cache, sizeof cache, "%s", tpath("cache"));
    run_cached(cache);
    cache_file(cache, file, sizeof file);
    cr_assert_eq(chmod(file, 0666), 0);
    run_cached(cache);
    cr_assert(strstr(res.err, "is not a regular file of ours that only we can write: ignored") &&
                  !strstr(res.err, "program loaded from"),
              "%s", res.err);
    cr_assert_eq(chmod(file, 0644), 0);
    if (chown(file, 65534, 65534) != 0)
        cr_skip_test("chown %s: %s (giving a file to another user needs root)", file, strerror(errno));
    run_cached(cache);
    cr_assert(strstr(res.err, "is not a regular file of ours that only we can write: ignored") &&
                  !strstr(res.err, "program loaded from"),
              "%s", res.err);
    cr_assert_eq(stat(file, &sb), 0);
    cr_assert_eq(sb.st_uid, geteuid(), "the rebuilt file is ours");
    cr_assert_eq(sb.st_mode & 0777, 0644);
    run_cached(cache);
    cr_assert(strstr(res.err, "program loaded from"), "%s", res.err);
}

/* A LOOM_CACHE_DIR longer than loom's buffer was cut short silently and
 * loom wrote to the shortened path; now it is refused with a warning and
 * nothing is made. */
Test(hostile, cache_dir_too_long_is_refused)
{
    char cache[1100];
    int n = snprintf(cache, sizeof cache, "%s/c", tb_tmpdir_path());
    NEED_OPENCL();
    while (n < 1000)
        n += snprintf(cache + n, sizeof cache - (size_t)n, "/d");
    cr_assert_eq(mkdir(tpath("c"), 0700), 0);
    run_cached(cache);
    cr_assert(strstr(res.err, "the cache folder's path is longer than 899 bytes: programs are not cached"), "%s",
              res.err);
    expect_folder_holds(tpath("c"), "");
}
