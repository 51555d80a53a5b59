/* file.c - opening untrusted paths without blocking on FIFOs or devices;
 * writing output files so that nothing half-written stays and nothing
 * but a regular file is replaced (core-impl.h); the clock. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core-impl.h"

FILE *loom__fopen_regular(const char *path, struct stat *sb)
{
    FILE *f;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    if (fstat(fd, sb) != 0 || !S_ISREG(sb->st_mode)) {
        close(fd);
        errno = EINVAL;
        return NULL;
    }
    /* regular files never block; drop the flag for ordinary reads */
    (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    f = fdopen(fd, "rb");
    if (!f)
        close(fd);
    return f;
}

double loom__now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

double loom_now_us(void)
{
    return loom__now_us();
}

/* ---- output files ---- */

loom_status loom__out_check(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        return loom__err(LOOM_E_WRITE, "%s exists and is not a regular file (%s): it is not replaced", path,
                         S_ISDIR(sb.st_mode)    ? "a folder"
                         : S_ISFIFO(sb.st_mode) ? "a FIFO"
                         : S_ISSOCK(sb.st_mode) ? "a socket"
                         : S_ISCHR(sb.st_mode) || S_ISBLK(sb.st_mode) ? "a device"
                                                                       : "not a file");
    return LOOM_OK;
}

static loom_status write_err(const char *path, const char *what, int err)
{
    return loom__err(LOOM_E_WRITE, "%s: %s: %s", path, what, strerror(err));
}

loom_status loom__out_begin(const char *path, loom__outfile *o)
{
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
    const char *base = path + dir_len;
    loom_status st;

    o->path = path;
    o->tmp = NULL;
    o->fd = -1;
    if (!*base)
        return loom__err(LOOM_E_WRITE, "%s: names a folder, not a file", path);
    if ((st = loom__out_check(path)) != LOOM_OK)
        return st;
    /* ".<name>.tmp-<16 hex>" beside the target, the name cut so that the
     * whole stays within a file system's 255 bytes; made with O_EXCL and
     * mode 0666, so the umask applies as to any new file (mkstemp's 0600
     * would not), close-on-exec from the start */
    if (!(o->tmp = malloc(dir_len + 200 + 32)))
        return loom__err(LOOM_E_NOMEM, "%s: out of memory", path);
    memcpy(o->tmp, path, dir_len);
    for (int tries = 0; tries < 64 && o->fd < 0; tries++) {
        static unsigned long long counter;
        struct timespec ts;
        unsigned long long r;
        clock_gettime(CLOCK_REALTIME, &ts);
        r = ((unsigned long long)ts.tv_nsec << 20) ^ ((unsigned long long)getpid() << 40) ^
            __atomic_add_fetch(&counter, 0x9e3779b97f4a7c15ULL, __ATOMIC_RELAXED);
        snprintf(o->tmp + dir_len, 200 + 32, ".%.200s.tmp-%016llx", base, r);
        o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (o->fd < 0 && errno != EEXIST)
            break;
    }
    if (o->fd < 0) {
        st = write_err(path, "cannot create a file beside it", errno);
        free(o->tmp);
        o->tmp = NULL;
        return st;
    }
    {
        /* replacing a file keeps its permissions */
        struct stat sb;
        if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
            (void)fchmod(o->fd, sb.st_mode & 07777);
    }
    return LOOM_OK;
}

loom_status loom__out_write(loom__outfile *o, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(o->fd, p, n > ((size_t)1 << 30) ? (size_t)1 << 30 : n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return write_err(o->path, "write failed", w < 0 ? errno : EIO);
        p += w;
        n -= (size_t)w;
    }
    return LOOM_OK;
}

void loom__out_cancel(loom__outfile *o)
{
    if (o->fd >= 0)
        close(o->fd);
    if (o->tmp)
        unlink(o->tmp);
    free(o->tmp);
    o->tmp = NULL;
    o->fd = -1;
}

loom_status loom__out_finish(loom__outfile *o)
{
    loom_status st = LOOM_OK;
    int fd = o->fd;
    o->fd = -1;
    if (fd < 0 && (fd = open(o->tmp, O_RDONLY | O_CLOEXEC)) < 0)
        st = write_err(o->path, "the written file is gone", errno);
    if (st == LOOM_OK && fsync(fd) != 0 && errno != EINVAL && errno != EROFS)
        st = write_err(o->path, "write failed (fsync)", errno);
    if (fd >= 0 && close(fd) != 0 && st == LOOM_OK)
        st = write_err(o->path, "write failed (close)", errno);
    /* what the target is now, not at begin */
    if (st == LOOM_OK)
        st = loom__out_check(o->path);
    if (st == LOOM_OK && rename(o->tmp, o->path) != 0)
        st = write_err(o->path, "cannot rename into place", errno);
    if (st != LOOM_OK)
        unlink(o->tmp);
    free(o->tmp);
    o->tmp = NULL;
    return st;
}

loom_status loom__write_file(const char *path, const void *head, size_t n_head, const void *body,
                             size_t n_body)
{
    loom__outfile o;
    loom_status st;
    if ((st = loom__out_begin(path, &o)) != LOOM_OK)
        return st;
    if ((st = loom__out_write(&o, head, n_head)) != LOOM_OK || (st = loom__out_write(&o, body, n_body)) != LOOM_OK) {
        loom__out_cancel(&o);
        return st;
    }
    return loom__out_finish(&o);
}

bool loom__read_line(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    bool ok;
    buf[0] = '\0';
    if (!f)
        return false;
    ok = fgets(buf, (int)size, f) != NULL;
    if (ok)
        buf[strcspn(buf, "\r\n")] = '\0';
    else
        buf[0] = '\0';
    fclose(f);
    return ok;
}
