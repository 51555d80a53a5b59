/* error.c - the per-thread message behind loom_last_error(). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core-impl.h"

#define LOOM__ERR_MAX 1024

static _Thread_local char err_msg[LOOM__ERR_MAX];

/* Messages quote names from untrusted files: keep them on one line. */
static void one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

const char *loom_last_error(void)
{
    return err_msg;
}

loom_status loom__err(loom_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_msg, sizeof err_msg, fmt, ap);
    va_end(ap);
    one_line(err_msg);
    loom__log(LOOM_LOG_DEBUG, "%s: %s", loom_status_name(status), err_msg);
    return status;
}

static void append(char *buf, size_t size, size_t *pos, const char *s)
{
    size_t n = strlen(s);
    if (*pos + 1 >= size)
        return;
    if (n > size - 1 - *pos)
        n = size - 1 - *pos;
    memcpy(buf + *pos, s, n);
    *pos += n;
    buf[*pos] = '\0';
}

loom_status loom__err_prefix(loom_status status, const char *fmt, ...)
{
    char prefix[LOOM__ERR_MAX];
    char old[LOOM__ERR_MAX];
    size_t pos = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err_msg, sizeof old);
    err_msg[0] = '\0';
    append(err_msg, sizeof err_msg, &pos, prefix);
    append(err_msg, sizeof err_msg, &pos, ": ");
    append(err_msg, sizeof err_msg, &pos, old[0] ? old : loom_strerror(status));
    one_line(err_msg);
    return status;
}
