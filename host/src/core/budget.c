/* budget.c - how much memory loading a file may take (loom_memory_budget)
 * and a tally of bytes against it (core-impl.h). The point is that a
 * model or an .npy file is refused with a sentence that says what it
 * would need, before the allocations that would fail, swap or wake the
 * OOM killer: memory bounded by the machine, not by what a file asks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core-impl.h"

/* "512M", "8G", "1073741824": bytes with an optional K, M, G or T
 * (powers of 1024, "B"/"iB" after it allowed); false when not a size. */
static bool parse_size(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    int shift = 0;
    if (!s || s[0] < '0' || s[0] > '9')
        return false;
    v = strtoull(s, &end, 10);
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

/* The cgroup (v2) memory limit of this process's container, or 0. */
static uint64_t cgroup_limit(void)
{
    struct stat sb;
    FILE *f = loom__fopen_regular("/sys/fs/cgroup/memory.max", &sb);
    char buf[64] = "";
    uint64_t v = 0;
    if (!f)
        return 0;
    if (fgets(buf, sizeof buf, f)) {
        buf[strcspn(buf, "\n")] = '\0';
        if (!parse_size(buf, &v))
            v = 0; /* "max": no limit */
    }
    fclose(f);
    return v;
}

static uint64_t min_nonzero(uint64_t a, uint64_t b)
{
    return a == 0 ? b : b == 0 ? a : a < b ? a : b;
}

uint64_t loom_memory_budget(void)
{
    const char *env = getenv("LOOM_MAX_MEMORY");
    uint64_t v = 0, have = 0;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    struct rlimit rl;
    if (env && *env) {
        if (parse_size(env, &v))
            return v;
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
