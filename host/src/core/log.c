/* log.c - the log and progress callbacks; the library itself never
 * prints. */
#include <stdarg.h>
#include <stdio.h>

#include "core-impl.h"

static loom_log_fn log_fn;
static void *log_user;
static loom_log_level log_max = LOOM_LOG_WARN;

void loom_log_set(loom_log_fn fn, loom_log_level max_level, void *user)
{
    log_fn = fn;
    log_user = user;
    log_max = max_level;
}

const char *loom_log_level_name(loom_log_level level)
{
    switch (level) {
    case LOOM_LOG_ERROR: return "error";
    case LOOM_LOG_WARN: return "warning";
    case LOOM_LOG_INFO: return "info";
    case LOOM_LOG_DEBUG: return "debug";
    }
    return "log";
}

static loom_progress_fn progress_fn;
static void *progress_user;

void loom_progress_set(loom_progress_fn fn, void *user)
{
    progress_fn = fn;
    progress_user = user;
}

void loom__progress(const char *task, uint64_t done, uint64_t total)
{
    if (progress_fn)
        progress_fn(task, done, total, progress_user);
}

void loom__log(loom_log_level level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    if (!log_fn || level > log_max)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_fn(level, msg, log_user);
}
