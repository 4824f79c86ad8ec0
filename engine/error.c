/* Error reporting helpers shared by every module. */
#include <stdarg.h>
#include <stdio.h>

#include "gatehouse/common.h"

#ifndef GH_VERSION_STRING
#define GH_VERSION_STRING "0.0.0"
#endif

void gh_error_set(gh_error *err, int code, const char *fmt, ...)
{
    if (!err)
        return;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}

const char *gh_strerror(int code)
{
    switch (code) {
    case GH_OK: return "GH_OK";
    case GH_E_NOMEM: return "GH_E_NOMEM";
    case GH_E_INVAL: return "GH_E_INVAL";
    case GH_E_IO: return "GH_E_IO";
    case GH_E_FORMAT: return "GH_E_FORMAT";
    case GH_E_EOF: return "GH_E_EOF";
    case GH_E_UNSUPPORTED: return "GH_E_UNSUPPORTED";
    case GH_E_LIMIT: return "GH_E_LIMIT";
    default: return "GH_E_UNKNOWN";
    }
}

const char *gh_version(void)
{
    return GH_VERSION_STRING;
}
