/* budget.c - how much memory loading a file may take (loom_memory_budget)
 * and a tally of bytes against it (core-impl.h). The point is that a
 * model or an .npy file is refused with a sentence that says what it
 * would need, before the allocations that would fail, swap or wake the
 * OOM killer: memory bounded by the machine, not by what a file asks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core-impl.h"

bool loom_parse_size(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    int shift = 0;
    if (!s || s[0] < '0' || s[0] > '9')
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno)
        return false;
    switch (*end) {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    case 't': case 'T': shift = 40; end++; break;
    default: break;
    }
    if (shift && *end == 'i')
        end++;
    if (*end == 'B')
        end++;
    if (*end || v == 0 || (shift && v > (UINT64_MAX >> shift)))
        return false;
    *out = (uint64_t)v << shift;
    return true;
}

static uint64_t min_nonzero(uint64_t a, uint64_t b)
{
    return a == 0 ? b : b == 0 ? a : a < b ? a : b;
}

/* A cgroup limit file's value, or 0 ("max", v1's 2^63 - 4096, none). */
static uint64_t limit_file(const char *root, const char *folder, const char *file)
{
    char path[1200], buf[64] = "";
    struct stat sb;
    FILE *f;
    uint64_t v = 0;
    snprintf(path, sizeof path, "%s%s/%s", root, folder, file);
    if (!(f = loom__fopen_regular(path, &sb)))
        return 0;
    if (fgets(buf, sizeof buf, f)) {
        buf[strcspn(buf, "\n")] = '\0';
        if (!loom_parse_size(buf, &v) || v >= ((uint64_t)1 << 62))
            v = 0;
    }
    fclose(f);
    return v;
}

/* The least memory limit on the way from this process's cgroup up to
 * the root: cgroup v2 ("0::/path" in /proc/self/cgroup, memory.max) and
 * v1 ("N:memory:/path", memory.limit_in_bytes); 0 when none. */
static uint64_t cgroup_limit(void)
{
    static const struct {
        const char *prefix, *root, *file;
    } kinds[2] = {{"0::", "/sys/fs/cgroup", "memory.max"},
                  {":memory:", "/sys/fs/cgroup/memory", "memory.limit_in_bytes"}};
    uint64_t v = 0;
    for (int k = 0; k < 2; k++) {
        struct stat sb;
        FILE *f = loom__fopen_regular("/proc/self/cgroup", &sb);
        char line[1024], folder[1024] = "", *at;
        bool found = false;
        if (!f)
            return v;
        while (fgets(line, sizeof line, f))
            if ((k == 0 && strncmp(line, kinds[0].prefix, 3) == 0 && (at = line + 3)) ||
                (k == 1 && (at = strstr(line, kinds[1].prefix)) && (at += strlen(kinds[1].prefix)))) {
                snprintf(folder, sizeof folder, "%s", at);
                folder[strcspn(folder, "\n")] = '\0';
                found = true;
            }
        fclose(f);
        while (found) {
            char *slash;
            v = min_nonzero(v, limit_file(kinds[k].root, strcmp(folder, "/") == 0 ? "" : folder, kinds[k].file));
            if (!folder[0] || !(slash = strrchr(folder, '/')))
                break;
            *slash = '\0';
        }
    }
    return v;
}

uint64_t loom_memory_budget(void)
{
    const char *env = getenv("LOOM_MAX_MEMORY");
    uint64_t v = 0, have = 0;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    struct rlimit rl;
    if (env && *env) {
        static int said;
        if (loom_parse_size(env, &v))
            return v;
        if (__atomic_exchange_n(&said, 1, __ATOMIC_ACQ_REL) == 0)
            loom__log(LOOM_LOG_WARN, "LOOM_MAX_MEMORY=%.40s is not a size (such as 512M or 8G): ignored", env);
    }
    if (pages > 0 && page > 0)
        have = (uint64_t)pages * (uint64_t)page;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        have = min_nonzero(have, (uint64_t)rl.rlim_cur);
    if (getrlimit(RLIMIT_DATA, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        have = min_nonzero(have, (uint64_t)rl.rlim_cur);
    have = min_nonzero(have, cgroup_limit());
    /* half: the rest is the program, the runtimes it loads, and the
     * session's own tensors */
    return have ? have / 2 : (uint64_t)4 << 30;
}

const char *loom__bytes_str(uint64_t n, char *buf, size_t size)
{
    if (n >= (uint64_t)1 << 30)
        snprintf(buf, size, "%.1f GiB", (double)n / (double)((uint64_t)1 << 30));
    else if (n >= (uint64_t)1 << 20)
        snprintf(buf, size, "%.1f MiB", (double)n / (double)((uint64_t)1 << 20));
    else
        snprintf(buf, size, "%llu bytes", (unsigned long long)n);
    return buf;
}

loom_status loom__budget_check(const char *source, const char *what, uint64_t need, uint64_t budget)
{
    char s1[32], s2[32];
    if (need <= budget)
        return LOOM_OK;
    return loom__err(LOOM_E_LIMIT,
                     "%s: %s needs %s of memory, over the budget of %s (LOOM_MAX_MEMORY raises it)",
                     source, what, loom__bytes_str(need, s1, sizeof s1), loom__bytes_str(budget, s2, sizeof s2));
}
