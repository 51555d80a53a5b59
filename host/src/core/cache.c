/* cache.c - loom's cache folder (OpenCL program binaries, yosys resource
 * estimates): $LOOM_CACHE_DIR, else $XDG_CACHE_HOME/loom, else
 * ~/.cache/loom, created private. What is cached is trusted when read
 * back (a binary runs as device code), so only a folder that only we can
 * write is used (ours, no group or other write bit, not a symlink; a path
 * longer than LOOM__CACHE_DIR_MAX - 1 bytes is never shortened), and only
 * files of ours that only we can write are read. Each reason not to use
 * the cache is said once per process and user of the cache. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core-impl.h"

static void warn_once(loom__cache_warned *said, int reason, const char *fmt, const char *who, const char *what,
                      const char *then)
{
    if (__atomic_exchange_n(&said->reason[reason], 1, __ATOMIC_ACQ_REL) == 0)
        loom__log(LOOM_LOG_WARN, fmt, who, what, then);
}

bool loom__cache_dir(char *buf, size_t size, const char *who, const char *then, loom__cache_warned *said)
{
    const char *d = getenv("LOOM_CACHE_DIR"), *suffix = "";
    struct stat sb;
    if (d && *d)
        ;
    else if ((d = getenv("XDG_CACHE_HOME")) && *d)
        suffix = "/loom";
    else if ((d = getenv("HOME")) && *d)
        suffix = "/.cache/loom";
    else
        return false;
    if ((size_t)snprintf(buf, size, "%s%s", d, suffix) >= size) {
        /* never a shortened path: that would be some other folder */
        warn_once(said, 0, "%s: the cache folder's path is longer than %s bytes: %s", who, "899", then);
        return false;
    }
    {
        char parent[LOOM__CACHE_DIR_MAX + 16];
        char *slash;
        snprintf(parent, sizeof parent, "%s", buf);
        slash = strrchr(parent, '/');
        if (slash && slash != parent) {
            *slash = '\0';
            mkdir(parent, 0700);
        }
    }
    if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
        loom__log(LOOM_LOG_DEBUG, "%s: cannot make the cache folder %s: %s: not caching", who, buf, strerror(errno));
        return false;
    }
    if (lstat(buf, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        warn_once(said, 1, "%s: the cache folder %s is not a folder (a file, or a symlink): %s", who, buf, then);
        return false;
    }
    if (sb.st_uid != geteuid() || (sb.st_mode & (S_IWGRP | S_IWOTH))) {
        warn_once(said, 2, "%s: the cache folder %s is owned or writable by others (what is planted there "
                  "would be trusted): %s", who, buf, then);
        return false;
    }
    return access(buf, W_OK) == 0;
}

int loom__cache_open(const char *path, const char *who, loom__cache_warned *said, struct stat *sb)
{
    /* not through a link, never blocking (a FIFO planted here) */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ELOOP)
            warn_once(said, 3, "%s: cache file %s is a symlink: %s", who, path, "ignored");
        return -1;
    }
    if (fstat(fd, sb) != 0 || !S_ISREG(sb->st_mode) || sb->st_uid != geteuid() ||
        (sb->st_mode & (S_IWGRP | S_IWOTH))) {
        /* not ours to load, nor to remove */
        warn_once(said, 4, "%s: cache file %s is not a regular file of ours that only we can write: %s", who, path,
                  "ignored");
        close(fd);
        return -1;
    }
    (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

uint64_t loom__fnv1a(const void *data, size_t n, uint64_t h)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}
