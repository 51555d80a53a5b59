/* file.c - opening untrusted paths without blocking on FIFOs or devices;
 * the clock. */
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

loom_status loom__write_file(const char *path, const void *head, size_t n_head, const void *body,
                             size_t n_body)
{
    char *tmp;
    FILE *f = NULL;
    int fd;
    loom_status st;

    tmp = malloc(strlen(path) + 16);
    if (!tmp)
        return loom__err(LOOM_E_NOMEM, "%s: out of memory", path);
    sprintf(tmp, "%s.tmp.XXXXXX", path);
    fd = mkstemp(tmp);
    if (fd < 0) {
        st = loom__err(errno == ENOENT ? LOOM_E_NOT_FOUND : LOOM_E_IO, "%s: cannot create: %s",
                       path, strerror(errno));
        free(tmp);
        return st;
    }
    (void)fchmod(fd, 0644);
    f = fdopen(fd, "wb");
    if (!f) {
        close(fd);
        st = loom__err(LOOM_E_IO, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if ((n_head && fwrite(head, 1, n_head, f) != n_head) ||
        (n_body && fwrite(body, 1, n_body, f) != n_body)) {
        st = loom__err(LOOM_E_IO, "%s: write failed: %s", path, strerror(errno));
        goto fail;
    }
    if (fclose(f) != 0) {
        f = NULL;
        st = loom__err(LOOM_E_IO, "%s: write failed: %s", path, strerror(errno));
        goto fail;
    }
    f = NULL;
    if (rename(tmp, path) != 0) {
        st = loom__err(LOOM_E_IO, "%s: cannot rename into place: %s", path, strerror(errno));
        goto fail;
    }
    free(tmp);
    return LOOM_OK;
fail:
    if (f)
        fclose(f);
    unlink(tmp);
    free(tmp);
    return st;
}
