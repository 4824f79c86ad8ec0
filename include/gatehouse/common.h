/* gatehouse: shared definitions (error codes, export macro, branch hints). */
#ifndef GATEHOUSE_COMMON_H
#define GATEHOUSE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(GH_BUILDING_LIBRARY)
#define GH_API __attribute__((visibility("default")))
#else
#define GH_API
#endif

#define GH_LIKELY(x) __builtin_expect(!!(x), 1)
#define GH_UNLIKELY(x) __builtin_expect(!!(x), 0)

/**
 * Error codes. Functions that can fail return 0 on success or one of these
 * (negative); constructors return NULL and fill a gh_error.
 */
enum {
    GH_OK = 0,
    GH_E_NOMEM = -1,   /**< allocation failed */
    GH_E_INVAL = -2,   /**< invalid argument */
    GH_E_IO = -3,      /**< read or write failed; message names the file */
    GH_E_FORMAT = -4,  /**< input is corrupt or truncated; message names where */
    GH_E_EOF = -5,     /**< end of input (not an error for callers that loop) */
    GH_E_UNSUPPORTED = -6, /**< valid input we do not handle */
    GH_E_LIMIT = -7,   /**< a configured limit was reached */
};

/** Which end of a packet an alert names as the attack's target (the
 *  signature's target keyword; EVE alert "source" and "target"). */
typedef enum gh_target {
    GH_TARGET_NONE = 0,
    GH_TARGET_SRC,  /**< target:src_ip */
    GH_TARGET_DEST, /**< target:dest_ip */
} gh_target;

/** A human-readable error: the message names the file and position. */
typedef struct gh_error {
    int code;
    char msg[512];
} gh_error;

/** Fill @p err (may be NULL) with @p code and a printf-style message. */
GH_API void gh_error_set(gh_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Short name of an error code ("GH_E_IO", ...). */
GH_API const char *gh_strerror(int code);

/** Library version string, e.g. "0.1.0". */
GH_API const char *gh_version(void);

#endif
