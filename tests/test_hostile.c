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
#include "onnx-builder.h"
#include "tmpdir.h"

#define SRC LOOM_SOURCE_DIR
#define CLASSIFIER SRC "/examples/classifier/classifier.onnx"
#define LENET SRC "/tests/models/lenet/model.onnx"
#define LENET_X SRC "/tests/models/lenet/x.npy"

static void setup(void)
{
    tb_tmpdir("hostile");
}

static void umount_all(void);

static void teardown(void)
{
    umount_all(); /* also after a failed assertion: never a mount left behind */
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

/* Pack b into the test folder as name (path[size] gets the path); b is
 * freed. */
static void save_model(tb_model *b, const char *name, char *path, size_t size)
{
    size_t len;
    const uint8_t *bytes = tb_pack(b, &len);
    snprintf(path, size, "%s", tpath(name));
    write_bytes(path, bytes, len);
    tb_free(b);
}

/* x.npy holding float32[1] {v} in the test folder; arg gets "x=PATH". */
static void one_value_input(float v, char *arg, size_t size)
{
    char path[600];
    loom_tensor *t = tb_f32(1, (int64_t[]){1}, &v);
    snprintf(path, sizeof path, "%s", tpath("x.npy"));
    cr_assert_eq(loom_npy_save(path, t), LOOM_OK, "%s", loom_last_error());
    loom_tensor_free(t);
    snprintf(arg, size, "x=%s", path);
}

/* x[1] expanded to n floats (then, with reduce, a Relu and a ReduceMean
 * to one value). */
static void expand_model(int64_t n, bool reduce, char *path, size_t size)
{
    tb_model *b = tb_new(13);
    tb_input(b, "x", LOOM_F32, 1, (int64_t[]){1});
    tb_init(b, "shape", LOOM_I64, 1, (int64_t[]){1}, (int64_t[]){n});
    tb_node(b, "Expand", "x,shape", reduce ? "e" : "y");
    if (reduce) {
        tb_node(b, "Relu", "e", "y");
        tb_node(b, "ReduceMean", "y", "m");
    }
    tb_output(b, reduce ? "m" : "y");
    save_model(b, "big.onnx", path, size);
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

/* ---- finding 8: memory bounded by the machine, not by what a file asks
 * ---- */

/* Under ASan the address space holds terabytes of shadow memory, so an
 * address-space limit cannot be tested there. */
static void need_rlimit_as(void)
{
#if defined(__SANITIZE_ADDRESS__)
    cr_skip_test("built with AddressSanitizer, whose shadow memory needs terabytes of address space: "
                 "ulimit -v is tested in the plain build");
#endif
}

static void put_varint(FILE *f, uint64_t v)
{
    do {
        fputc((int)((v & 0x7f) | (v > 0x7f ? 0x80 : 0)), f);
        v >>= 7;
    } while (v);
}

/* A 10 MB model of five million empty NodeProto messages: each two bytes
 * on the wire becomes a protobuf-c struct, a pointer and a scan record,
 * about 1 GB in all (the adversarial run measured 1.27 GB for loom info). */
static const char *empty_messages_model(void)
{
    static char path[600];
    const uint64_t n = 5000000;
    FILE *f;
    snprintf(path, sizeof path, "%s", tpath("empty.onnx"));
    f = fopen(path, "wb");
    cr_assert_not_null(f);
    fputc(0x08, f), put_varint(f, 7);                    /* ir_version */
    fputc(0x42, f), put_varint(f, 2), fputc(0x10, f), fputc(13, f); /* opset_import { version: 13 } */
    fputc(0x3a, f), put_varint(f, 2 * n);                /* graph */
    for (uint64_t i = 0; i < n; i++)
        fputc(0x0a, f), fputc(0x00, f);                  /* node {} */
    cr_assert_eq(fclose(f), 0);
    return path;
}

Test(hostile, empty_messages_cannot_inflate_memory)
{
    const char *m = empty_messages_model();
    RUN_ENV(ENV("LOOM_MAX_MEMORY=256M"), "info", m);
    expect_error_line(65, "empty.onnx: decoding the file needs", "of memory, over the budget of 256.0 MiB");
    /* the global option says the same */
    RUN("--max-memory", "300M", "info", m);
    expect_error_line(65, "decoding the file needs", "over the budget of 300.0 MiB");
}

/* The default budget follows the machine: under ulimit -v 1 GiB it is
 * half of that, and the model is refused with exit 65 and a sentence
 * (without it, decoding ran out of address space). */
Test(hostile, memory_budget_follows_ulimit_v)
{
    const char *m;
    need_rlimit_as();
    m = empty_messages_model();
    RUN_OPTS(((cli_opts){.rlimit_as = (uint64_t)1 << 30, .env = ENV("LOOM_MAX_MEMORY")}), "info", m);
    expect_error_line(65, "decoding the file needs", "over the budget of 512.0 MiB");
}

/* A 600-byte model whose six weights of 256 MiB each point at one sparse
 * external file (the adversarial run's version took 12.4 GB in loom
 * info). */
static const char *sparse_weights_model(void)
{
    static char model[700];
    tb_model *b = tb_new(13);
    const uint8_t *bytes;
    size_t len;
    const int64_t n = (int64_t)64 << 20; /* 256 MiB of float32 */
    char folder[600], data[700];
    FILE *f;
    snprintf(folder, sizeof folder, "%s", tpath("m"));
    cr_assert_eq(mkdir(folder, 0755), 0);
    snprintf(data, sizeof data, "%s/w.bin", folder);
    f = fopen(data, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(ftruncate(fileno(f), (off_t)(n * 4)), 0); /* sparse: no disk */
    cr_assert_eq(fclose(f), 0);
    tb_input(b, "x", LOOM_F32, 1, (int64_t[]){n});
    for (int i = 0; i < 6; i++) {
        char name[8], ins[16], out[8];
        float one = 1;
        Onnx__TensorProto *t;
        Onnx__StringStringEntryProto *e = tb_alloc(b, sizeof *e);
        snprintf(name, sizeof name, "w%d", i);
        t = tb_init(b, name, LOOM_F32, 1, (int64_t[]){1}, &one);
        t->dims[0] = n;
        t->has_raw_data = 0;
        t->raw_data.len = 0;
        t->has_data_location = 1;
        t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
        onnx__string_string_entry_proto__init(e);
        e->key = tb_strdup(b, "location");
        e->value = tb_strdup(b, "w.bin");
        t->external_data = tb_alloc(b, sizeof *t->external_data);
        t->external_data[0] = e;
        t->n_external_data = 1;
        if (i)
            snprintf(ins, sizeof ins, "y%d,w%d", i - 1, i);
        else
            snprintf(ins, sizeof ins, "x,w0");
        snprintf(out, sizeof out, "y%d", i);
        tb_node(b, "Add", ins, out);
    }
    tb_output(b, "y5");
    bytes = tb_pack(b, &len);
    cr_assert_lt(len, 1000);
    snprintf(model, sizeof model, "%s/model.onnx", folder);
    write_bytes(model, bytes, len);
    tb_free(b);
    return model;
}

/* Refused before any weight is read, the need named. */
Test(hostile, external_weights_are_counted_before_reading)
{
    RUN_ENV(ENV("LOOM_MAX_MEMORY=1G"), "info", sparse_weights_model());
    expect_error_line(65, "the model (the file, decoded, and its 6 tensors) needs 1.5 GiB of memory",
                      "over the budget of 1.0 GiB");
}

Test(hostile, external_weights_under_ulimit_v)
{
    need_rlimit_as();
    RUN_OPTS(((cli_opts){.rlimit_as = (uint64_t)1 << 30, .env = ENV("LOOM_MAX_MEMORY")}), "info",
             sparse_weights_model());
    expect_error_line(65, "its 6 tensors) needs 1.5 GiB", "over the budget of 512.0 MiB");
}

/* An .npy file whose header promises shape x dtype bytes, the file
 * sparse to match. */
static void sparse_npy(const char *path, const char *shape, uint64_t nbytes)
{
    char hdr[128];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", shape);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    while ((10 + n + 1) % 64)
        hdr[n++] = ' ';
    hdr[n++] = '\n';
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(n & 0xff, f), fputc(n >> 8, f);
    fwrite(hdr, 1, (size_t)n, f);
    cr_assert_eq(fflush(f), 0);
    cr_assert_eq(ftruncate(fileno(f), (off_t)(10 + (uint64_t)n + nbytes)), 0);
    cr_assert_eq(fclose(f), 0);
}

/* A 16 GiB sparse .npy was allocated before anything else was checked
 * ("cannot allocate", exit 70, no file named); a 3 GiB input of the
 * wrong shape was read in full before "shape does not fit". Now the
 * header is checked against the model first, and the data against the
 * memory budget before it is allocated. */
Test(hostile, npy_inputs_checked_before_their_data_is_read)
{
    char x[700], big[600];
    snprintf(big, sizeof big, "%s", tpath("big.npy"));
    /* lenet takes float32[2,1,28,28]: 1000000 images are refused by their
     * header (a 1 MiB budget shows the data is never read) */
    sparse_npy(big, "(1000000, 1, 28, 28)", (uint64_t)1000000 * 28 * 28 * 4);
    snprintf(x, sizeof x, "x=%s", big);
    RUN_ENV(ENV("LOOM_MAX_MEMORY=1M"), "run", LENET, "--input", x);
    expect_error_line(65, "big.npy: input \"x\" is float32[1000000,1,28,28]", "the model declares float32[2,1,28,28]");
    RUN_ENV(ENV("LOOM_MAX_MEMORY=1M"), "partition", LENET, "--input", x);
    expect_error_line(65, "input \"x\" is float32[1000000,1,28,28]", NULL);
    /* a 16 GiB input of the right shape for a model with a symbolic dim:
     * over the budget, named, before any allocation */
    {
        tb_model *b = tb_new(13);
        char model[600];
        tb_input(b, "x", LOOM_F32, 1, (int64_t[]){-1});
        tb_node(b, "Relu", "x", "y");
        tb_output(b, "y");
        save_model(b, "relu.onnx", model, sizeof model);
        sparse_npy(big, "(4294967296,)", (uint64_t)16 << 30);
        RUN_ENV(ENV("LOOM_MAX_MEMORY=4G"), "run", model, "--input", x);
        expect_error_line(65, "big.npy: the data needs 16.0 GiB of memory", "over the budget of 4.0 GiB");
    }
}

/* The same 16 GiB input under ulimit -v 1 GiB: the default budget. */
Test(hostile, npy_input_under_ulimit_v)
{
    tb_model *b = tb_new(13);
    char model[600], big[600], x[700];
    need_rlimit_as();
    tb_input(b, "x", LOOM_F32, 1, (int64_t[]){-1});
    tb_node(b, "Relu", "x", "y");
    tb_output(b, "y");
    save_model(b, "relu.onnx", model, sizeof model);
    snprintf(big, sizeof big, "%s", tpath("big.npy"));
    sparse_npy(big, "(4294967296,)", (uint64_t)16 << 30);
    snprintf(x, sizeof x, "x=%s", big);
    RUN_OPTS(((cli_opts){.rlimit_as = (uint64_t)1 << 30, .env = ENV("LOOM_MAX_MEMORY")}), "run", model, "--input",
             x);
    expect_error_line(65, "big.npy: the data needs 16.0 GiB of memory", "over the budget of 512.0 MiB");
}

/* ---- the environment OpenCL starts in (issue "nothing lost, nothing
 * hung") ---- */

/* POCL_MAX_PTHREAD_COUNT=100000: PoCL aborted in its scheduler start-up
 * (SIGABRT). Now lowered to the CPU count with a warning, and the model
 * runs on OpenCL. */
Test(hostile, pocl_thread_count_beyond_the_machine)
{
    char x[600];
    NEED_OPENCL();
    snprintf(x, sizeof x, "x=%s", LENET_X);
    RUN_OPTS(((cli_opts){.env = ENV("POCL_MAX_PTHREAD_COUNT=100000")}), "run", LENET, "--input", x, "--device",
             "opencl", "-v");
    expect_code(0);
    cr_assert(strstr(res.err, "loom: warning: POCL_MAX_PTHREAD_COUNT=100000 is more than four threads a CPU"), "%s",
              res.err);
    cr_assert(strstr(res.err, "ran on opencl:0"), "%s", res.err);
}

/* A read-only home: PoCL could not make its cache folder and reported no
 * device, so --device opencl --strict exited 69. Now PoCL gets a private
 * temporary cache folder (removed at exit) and loom's own cache is
 * skipped: the model runs on OpenCL. Needs a read-only mount (tmpfs),
 * a skip with the reason where mounting is not permitted. */
Test(hostile, read_only_home_still_runs_on_opencl)
{
    char home[600], env_home[700], x[600];
    NEED_OPENCL();
    snprintf(home, sizeof home, "%s", tpath("home"));
    cr_assert_eq(mkdir(home, 0755), 0);
    {
        char cmd[800];
        snprintf(cmd, sizeof cmd, "mount -t tmpfs -o ro,size=1m tmpfs %s 2>/dev/null", home);
        if (system(cmd) != 0)
            cr_skip_test("cannot mount a read-only tmpfs at %s (needs root and mount permission)", home);
    }
    snprintf(env_home, sizeof env_home, "HOME=%s", home);
    snprintf(x, sizeof x, "x=%s", LENET_X);
    RUN_OPTS(((cli_opts){.env = ENV(env_home, "LOOM_CACHE_DIR", "POCL_CACHE_DIR", "XDG_CACHE_HOME")}), "run", LENET,
             "--input", x, "--device", "opencl", "-v");
    {
        char cmd[800];
        snprintf(cmd, sizeof cmd, "umount %s", home);
        cr_assert_eq(system(cmd), 0);
    }
    expect_code(0);
    cr_assert(strstr(res.err, "PoCL's cache folder") && strstr(res.err, "removed at exit"), "%s", res.err);
    cr_assert(strstr(res.err, "ran on opencl:0"), "%s", res.err);
    {
        /* the temporary folder named in the warning is gone */
        const char *t = strstr(res.err, "using /");
        char folder[300];
        struct stat sb;
        cr_assert_not_null(t);
        cr_assert_eq(sscanf(t + 6, "%299[^,]", folder), 1);
        cr_assert_neq(stat(folder, &sb), 0, "%s is still there", folder);
    }
}

/* ulimit -v: PoCL started and then aborted in its own assertion
 * (pocl_create_migration_commands: p->mem_ptr != NULL) when it could not
 * back a buffer. Now too little address space to start a runtime means
 * no OpenCL device (with the reason), and buffers that do not fit are an
 * allocation failure of the device: the session falls back to ref. The
 * model: x[1] expanded to 64M floats (256 MiB) and a Relu, 512 MiB of
 * host tensors and as much again in device buffers. */
Test(hostile, address_space_limits_fall_back_instead_of_aborting)
{
    char model[600], x[700];
    need_rlimit_as();
    NEED_OPENCL();
    expand_model((int64_t)64 << 20, true, model, sizeof model);
    one_value_input(-1.0f, x, sizeof x);
    /* 320 MiB: no runtime can start */
    RUN_OPTS(((cli_opts){.rlimit_as = (uint64_t)320 << 20, .env = ENV("LOOM_MAX_MEMORY")}), "devices", "-v");
    expect_code(0);
    cr_assert(!strstr(res.out, "opencl:"), "%s", res.out);
    cr_assert(strstr(res.err, "is less than the 512.0 MiB an OpenCL runtime takes to start"), "%s", res.err);
    /* 1.25 GiB: the runtime starts, the buffers do not fit: ref runs it */
    RUN_OPTS(((cli_opts){.rlimit_as = (uint64_t)1280 << 20, .env = ENV("LOOM_MAX_MEMORY")}), "run", model, "--input",
             x, "--device", "opencl", "-v");
    expect_code(0);
    cr_assert(strstr(res.err, "does not fit this process's memory"), "%s", res.err);
    cr_assert(strstr(res.err, "ran on ref"), "%s", res.err);
    cr_assert(strstr(res.out, "m float32[1]:\n  0\n"), "%s", res.out);
}

/* Standard output is data: `loom run ... > /dev/full` (and info, --json,
 * --help) exited 0 though nothing could be written. Now exit 74 with one
 * message, as cat and ls. */
Test(hostile, stdout_that_cannot_be_written_is_exit_74)
{
    char x[600];
    snprintf(x, sizeof x, "x=%s", LENET_X);
    RUN_OPTS(((cli_opts){.stdout_path = "/dev/full"}), "run", LENET, "--input", x, "--device", "ref");
    expect_error_line(74, "cannot write to standard output: No space left on device", NULL);
    RUN_OPTS(((cli_opts){.stdout_path = "/dev/full"}), "run", LENET, "--input", x, "--device", "ref", "--json");
    expect_error_line(74, "cannot write to standard output", NULL);
    RUN_OPTS(((cli_opts){.stdout_path = "/dev/full"}), "info", LENET);
    expect_error_line(74, "cannot write to standard output", NULL);
    RUN_OPTS(((cli_opts){.stdout_path = "/dev/full"}), "--help");
    expect_error_line(74, "cannot write to standard output", NULL);
    /* a command that failed keeps its own status and message */
    RUN_OPTS(((cli_opts){.stdout_path = "/dev/full"}), "info", tpath("missing.onnx"));
    expect_error_line(66, "missing.onnx", NULL);
}

/* Names: a graph input whose name holds '=', or an input path that
 * does, was a usage error with no way to say it. NAME is now the
 * longest part before an '=' that names an input (inputs "a" and "a=b"
 * here), and --input-file takes a path as it is. */
Test(hostile, input_names_and_paths_with_equals_signs)
{
    tb_model *b = tb_new(13);
    char model[600], one[600], f1[600], f2[600], a1[700], a2[700];
    const float v1[2] = {1, 2}, v2[2] = {10, 20};
    loom_tensor *t;
    tb_input(b, "a", LOOM_F32, 1, (int64_t[]){2});
    tb_input(b, "a=b", LOOM_F32, 1, (int64_t[]){2});
    tb_node(b, "Sub", "a,a=b", "y");
    tb_output(b, "y");
    save_model(b, "two.onnx", model, sizeof model);
    snprintf(f1, sizeof f1, "%s", tpath("v=1.npy"));
    snprintf(f2, sizeof f2, "%s", tpath("v=2.npy"));
    t = tb_f32(1, (int64_t[]){2}, v1);
    cr_assert_eq(loom_npy_save(f1, t), LOOM_OK);
    loom_tensor_free(t);
    t = tb_f32(1, (int64_t[]){2}, v2);
    cr_assert_eq(loom_npy_save(f2, t), LOOM_OK);
    loom_tensor_free(t);
    /* a = v=1.npy, a=b = v=2.npy: y = 1 - 10, 2 - 20 */
    snprintf(a1, sizeof a1, "a=%s", f1);
    snprintf(a2, sizeof a2, "a=b=%s", f2);
    RUN("run", model, "-i", a2, "-i", a1);
    expect_code(0);
    cr_assert(strstr(res.out, "y float32[2]:\n  -9 -18\n"), "%s", res.out);
    /* a one-input model and a path with '=' in it: as -i, and as --input-file */
    b = tb_new(13);
    tb_input(b, "x", LOOM_F32, 1, (int64_t[]){2});
    tb_node(b, "Neg", "x", "y");
    tb_output(b, "y");
    save_model(b, "one.onnx", one, sizeof one);
    RUN("run", one, "-i", f1);
    expect_code(0);
    cr_assert(strstr(res.out, "y float32[2]:\n  -1 -2\n"), "%s", res.out);
    RUN("run", one, "--input-file", f2);
    expect_code(0);
    cr_assert(strstr(res.out, "y float32[2]:\n  -10 -20\n"), "%s", res.out);
    /* a name that is no input, and no file of that whole name */
    RUN("run", one, "-i", "nosuch=missing.npy");
    expect_usage("the model has no input called \"nosuch\" (a file whose name holds '=' goes with --input-file)",
                 "run");
}

/* ---- a full file system ---- */

/* A tmpfs of size bytes at folder (made); false where mounting is not
 * permitted. umount_all() takes it away. */
static char mounted[4][600];

static bool small_fs(const char *folder, const char *size)
{
    char cmd[800];
    cr_assert_eq(mkdir(folder, 0755), 0);
    snprintf(cmd, sizeof cmd, "mount -t tmpfs -o size=%s tmpfs %s 2>/dev/null", size, folder);
    if (system(cmd) != 0)
        return false;
    for (int i = 0; i < 4; i++)
        if (!mounted[i][0]) {
            snprintf(mounted[i], sizeof mounted[i], "%s", folder);
            break;
        }
    return true;
}

static void umount_all(void)
{
    for (int i = 0; i < 4; i++)
        if (mounted[i][0]) {
            char cmd[800];
            snprintf(cmd, sizeof cmd, "umount %.599s", mounted[i]);
            if (system(cmd) != 0)
                fprintf(stderr, "test_hostile: %s failed\n", cmd);
            mounted[i][0] = '\0';
        }
}

/* The FST writer reports no write error: on a full file system the
 * waveform was cut short (or, where its buffers in /tmp fill, SIGBUS)
 * while loom exited 0. Now the room is watched as it grows: exit 73 and
 * no waveform. With a file-size limit always; on a 16 MiB tmpfs where
 * one can be mounted. */
Test(hostile, waveform_that_runs_out_of_room)
{
    char wave[700], folder[600];
#ifndef LOOM_WITH_VERILATOR
    cr_skip_test("built without Verilator: no simulator writes a waveform here (the sim label covers it)");
#endif
    snprintf(wave, sizeof wave, "%s", tpath("w.fst"));
    RUN_OPTS(((cli_opts){.rlimit_fsize = (uint64_t)12 << 20}), "sim", "gemm", "-M", "128", "-N", "128", "-K", "128",
             "--waveform", wave);
    expect_error_line(73, "w.fst: the file-size limit (ulimit -f) has", "stopped at cycle");
    expect_folder_holds(tb_tmpdir_path(), "");
    snprintf(folder, sizeof folder, "%s", tpath("small"));
    if (!small_fs(folder, "16m"))
        cr_skip_test("cannot mount a tmpfs at %s (needs root and mount permission): the full-disk case was "
                     "checked with a file-size limit only", folder);
    snprintf(wave, sizeof wave, "%s/w.fst", folder);
    RUN("sim", "gemm", "-M", "128", "-N", "128", "-K", "128", "--waveform", wave);
    expect_error_line(73, "small/w.fst: its file system has", "stopped at cycle");
    expect_folder_holds(folder, "");
}

/* An output larger than the file system holds: exit 73 naming it, and
 * nothing half-written (a 32 MiB output on a 16 MiB tmpfs). */
Test(hostile, output_on_a_full_file_system)
{
    char model[600], x[700], folder[600], out[700];
    expand_model((int64_t)8 << 20, false, model, sizeof model);
    one_value_input(2.0f, x, sizeof x);
    snprintf(folder, sizeof folder, "%s", tpath("small"));
    if (!small_fs(folder, "16m"))
        cr_skip_test("cannot mount a tmpfs at %s (needs root and mount permission); file_size_limit_is_exit_73 "
                     "covers a write that fails", folder);
    snprintf(out, sizeof out, "%s/out", folder);
    RUN("run", model, "--input", x, "--device", "ref", "--out", out);
    expect_error_line(73, "out/y.npy: write failed: No space left on device", NULL);
    expect_folder_holds(out, "");
}

/* The cache is an optimisation, never a requirement: a FIFO where a
 * cache file belongs (loom blocked forever opening it), a cache path
 * that is a file, or a symlink to a folder elsewhere: a warning, and the
 * model runs, on OpenCL. */
Test(hostile, odd_cache_paths_are_skipped_with_a_warning)
{
    char cache[600], file[1000], link[600], elsewhere[600];
    NEED_OPENCL();
    snprintf(cache, sizeof cache, "%s", tpath("cache"));
    run_cached(cache);
    cache_file(cache, file, sizeof file);
    cr_assert_eq(unlink(file), 0);
    cr_assert_eq(mkfifo(file, 0600), 0);
    {
        char env[700], x[600];
        snprintf(env, sizeof env, "LOOM_CACHE_DIR=%s", cache);
        snprintf(x, sizeof x, "x=%s", LENET_X);
        RUN_OPTS(((cli_opts){.timeout_s = 60, .env = ENV(env)}), "run", LENET, "--input", x, "--device", "opencl",
                 "-v");
    }
    expect_code(0);
    cr_assert(strstr(res.err, "is not a regular file of ours that only we can write: ignored"), "%s", res.err);
    cr_assert(strstr(res.err, "ran on opencl:0"), "%s", res.err);
    /* the cache path is a regular file */
    snprintf(cache, sizeof cache, "%s", tpath("plain"));
    write_bytes(cache, "x", 1);
    run_cached(cache);
    cr_assert(strstr(res.err, "is not a folder (a file, or a symlink): programs are not cached"), "%s", res.err);
    cr_assert(strstr(res.err, "ran on opencl:0"), "%s", res.err);
    /* a symlink to a folder elsewhere */
    snprintf(elsewhere, sizeof elsewhere, "%s", tpath("elsewhere"));
    snprintf(link, sizeof link, "%s", tpath("link"));
    cr_assert_eq(mkdir(elsewhere, 0700), 0);
    cr_assert_eq(symlink(elsewhere, link), 0);
    run_cached(link);
    cr_assert(strstr(res.err, "is not a folder (a file, or a symlink)"), "%s", res.err);
    expect_folder_holds(elsewhere, "");
}

/* A model file larger than the budget allows is refused before it is
 * read (under ulimit -v a 160 MB model was "cannot allocate", exit 70). */
Test(hostile, model_file_over_the_budget_is_not_read)
{
    char path[600];
    FILE *f;
    snprintf(path, sizeof path, "%s", tpath("huge.onnx"));
    f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(ftruncate(fileno(f), (off_t)160 << 20), 0); /* sparse */
    cr_assert_eq(fclose(f), 0);
    RUN_ENV(ENV("LOOM_MAX_MEMORY=100M"), "info", path);
    expect_error_line(65, "huge.onnx: reading and decoding the file needs 320.0 MiB of memory",
                      "over the budget of 100.0 MiB");
}

/* loom run --out is all or nothing: when one output cannot be written,
 * the others are not left behind either (the first output's file stayed
 * when the second failed). */
Test(hostile, run_outputs_are_all_or_nothing)
{
    tb_model *b = tb_new(13);
    char model[600], x[700], out[600], fifo[700];
    tb_input(b, "x", LOOM_F32, 1, (int64_t[]){1});
    tb_node(b, "Relu", "x", "a");
    tb_node(b, "Neg", "x", "b");
    tb_output(b, "a");
    tb_output(b, "b");
    save_model(b, "two.onnx", model, sizeof model);
    one_value_input(3.0f, x, sizeof x);
    snprintf(out, sizeof out, "%s", tpath("out"));
    cr_assert_eq(mkdir(out, 0755), 0);
    snprintf(fifo, sizeof fifo, "%s/b.npy", out);
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    RUN("run", model, "--input", x, "--out", out);
    expect_error_line(73, "b.npy exists and is not a regular file (a FIFO)", NULL);
    expect_folder_holds(out, "b.npy");
    /* and with room, both */
    cr_assert_eq(unlink(fifo), 0);
    RUN("run", model, "--input", x, "--out", out);
    expect_code(0);
    expect_folder_holds(out, "a.npy|b.npy");
}
