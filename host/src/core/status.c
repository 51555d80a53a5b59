/* status.c - status names and descriptions, from LOOM_STATUS_MAP. */
#include "core-impl.h"

const char *loom_strerror(loom_status status)
{
    switch (status) {
#define LOOM__CASE(name, value, text) \
    case LOOM_##name:                 \
        return text;
        LOOM_STATUS_MAP(LOOM__CASE)
#undef LOOM__CASE
    }
    return "unknown status";
}

const char *loom_status_name(loom_status status)
{
    switch (status) {
#define LOOM__CASE(name, value, text) \
    case LOOM_##name:                 \
        return #name;
        LOOM_STATUS_MAP(LOOM__CASE)
#undef LOOM__CASE
    }
    return "UNKNOWN";
}

const char *loom_version(void)
{
    return LOOM_VERSION_STRING;
}
