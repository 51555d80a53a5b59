/*
 * cl-env.c - the environment an OpenCL runtime starts in, checked before
 * the ICD loader starts one (loom__cl_env_prepare, called once by
 * enumerate). PoCL aborts the process instead of returning an error
 * when it cannot start its threads or make its cache folder, so what it
 * would abort on is found first and mended or turned into a reason:
 *
 *   POCL_MAX_PTHREAD_COUNT  PoCL starts that many threads at once and
 *                           aborts when one fails (100000: out of
 *                           threads or stack space); more than four per
 *                           CPU here, or not a count, becomes the CPU
 *                           count, with a warning;
 *   PoCL's cache folder     ($XDG_CACHE_HOME/pocl or ~/.cache/pocl) that
 *                           cannot be made or written (a read-only home:
 *                           PoCL then reports no device at all) is
 *                           replaced by a private temporary folder,
 *                           removed at exit, with a warning;
 *   address space           with ulimit -v leaving less than a runtime
 *                           takes to start (PoCL: about 380 MiB measured
 *                           here, LLVM and its threads), no runtime is
 *                           started and the backend says why.
 *
 * Only environment variables are changed, when the library is loaded
 * (a constructor: setenv must not race with getenv in other threads, and
 * a program has no other threads yet then), before any runtime reads
 * them; other ICDs ignore PoCL's. Their warnings wait for enumeration,
 * when the program's log callback is in place.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/opencl/opencl.h"

/* What an OpenCL runtime needs of the address space to start, with room
 * for its first programs. */
#define RUNTIME_AS_BYTES ((uint64_t)512 << 20)

/* what the constructor would have said, said at enumeration */
static char pending[2][1024];

static void clamp_threads(void)
{
    const char *v = getenv("POCL_MAX_PTHREAD_COUNT");
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    char *end, buf[32];
    long n;
    if (!v || !*v || cpus < 1)
        return;
    n = strtol(v, &end, 10);
    if (*end == '\0' && n >= 1 && n <= 4 * cpus)
        return;
    snprintf(buf, sizeof buf, "%ld", cpus);
    snprintf(pending[0], sizeof pending[0], "POCL_MAX_PTHREAD_COUNT=%.20s is %s; using %ld, the CPUs here", v,
             *end || n < 1 ? "not a thread count" : "more than four threads a CPU (PoCL aborts when it cannot start them)",
             cpus);
    setenv("POCL_MAX_PTHREAD_COUNT", buf, 1);
}

/* Can path be made (mkdir -p) and written? The nearest existing folder
 * on the way must be writable (access() sees read-only mounts). */
static bool can_make(const char *path)
{
    char p[1024];
    struct stat sb;
    if ((size_t)snprintf(p, sizeof p, "%s", path) >= sizeof p)
        return false;
    for (;;) {
        char *slash;
        if (stat(p, &sb) == 0)
            return S_ISDIR(sb.st_mode) && access(p, W_OK | X_OK) == 0;
        if (!(slash = strrchr(p, '/')) || slash == p)
            return false;
        *slash = '\0';
    }
}

static char temp_cache[256];
static pid_t temp_cache_owner; /* a forked child's exit must not remove it */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_temp_cache(void)
{
    if (temp_cache[0] && getpid() == temp_cache_owner)
        nftw(temp_cache, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void cache_folder(void)
{
    const char *d;
    char want[1024];
    if (getenv("POCL_CACHE_DIR"))
        return; /* the user's choice: PoCL says what is wrong with it */
    if ((d = getenv("XDG_CACHE_HOME")) && *d)
        snprintf(want, sizeof want, "%s/pocl", d);
    else if ((d = getenv("HOME")) && *d)
        snprintf(want, sizeof want, "%s/.cache/pocl", d);
    else
        return; /* PoCL uses a folder of its own under /tmp */
    if (can_make(want))
        return;
    d = getenv("TMPDIR");
    snprintf(temp_cache, sizeof temp_cache, "%s/loom-pocl-XXXXXX", d && *d && strlen(d) < 200 ? d : "/tmp");
    if (!mkdtemp(temp_cache)) {
        snprintf(pending[1], sizeof pending[1], "opencl: PoCL's cache folder %.300s cannot be made, nor a "
                 "temporary one (%s)", want, strerror(errno));
        temp_cache[0] = '\0';
        return;
    }
    setenv("POCL_CACHE_DIR", temp_cache, 1);
    temp_cache_owner = getpid();
    atexit(remove_temp_cache);
    snprintf(pending[1], sizeof pending[1], "opencl: PoCL's cache folder %.300s cannot be made (a read-only "
             "home?): using %s, removed at exit", want, temp_cache);
}

/* Address space this process may still map, or UINT64_MAX without a
 * limit. */
static uint64_t address_space_left(void)
{
    struct rlimit rl;
    unsigned long long pages = 0;
    FILE *f;
    uint64_t used;
    if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return UINT64_MAX;
    if (!(f = fopen("/proc/self/statm", "r")))
        return UINT64_MAX;
    if (fscanf(f, "%llu", &pages) != 1)
        pages = 0;
    fclose(f);
    used = (uint64_t)pages * (uint64_t)sysconf(_SC_PAGESIZE);
    return used < rl.rlim_cur ? (uint64_t)rl.rlim_cur - used : 0;
}

__attribute__((constructor)) static void env_at_load(void)
{
    clamp_threads();
    cache_folder();
}

bool loom__cl_env_prepare(const loom__backend *be)
{
    uint64_t left = address_space_left();
    for (int i = 0; i < 2; i++)
        if (pending[i][0])
            loom__log(LOOM_LOG_WARN, "%s", pending[i]);
    if (left < RUNTIME_AS_BYTES) {
        char s1[32], s2[32];
        loom__backend_absent(be, "the address space left by ulimit -v (%s) is less than the %s an OpenCL runtime "
                             "takes to start (PoCL's LLVM and threads): no runtime started",
                             loom__bytes_str(left, s1, sizeof s1), loom__bytes_str(RUNTIME_AS_BYTES, s2, sizeof s2));
        return false;
    }
    return true;
}
