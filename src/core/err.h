/*
 * err.h — the one list of error codes.
 *
 * Every function that can fail returns 0 (or a non-negative count) on success and a
 * negative ORASI_E* code on failure. Codes come from one X-macro list so that the enum,
 * the names and the messages cannot drift apart (after libuv's uv-errno.h).
 * orasi_err_retryable() tells the forwarding code which failures are worth retrying.
 */
#ifndef ORASI_CORE_ERR_H
#define ORASI_CORE_ERR_H

#define ORASI_ERRNO_MAP(X)                                                     \
    X(NOMEM, "out of memory")                                                  \
    X(AGAIN, "try again (would block or incomplete input)")                    \
    X(INVAL, "invalid argument")                                               \
    X(FULL, "capacity reached")                                                \
    X(TOOBIG, "value exceeds its size limit")                                  \
    X(PARSE, "malformed input")                                                \
    X(IO, "input/output error")                                                \
    X(NOSPC, "no space left on device")                                        \
    X(NOTFOUND, "not found")                                                   \
    X(EXISTS, "already exists")                                                \
    X(TIMEOUT, "timed out")                                                    \
    X(CLOSED, "connection or resource closed")                                 \
    X(UNSUPPORTED, "not supported")                                            \
    X(UTF8, "invalid UTF-8")                                                   \
    X(DEPTH, "nesting too deep")                                               \
    X(CONFIG, "invalid configuration")                                         \
    X(BUSY, "busy, retry later")                                               \
    X(UNAVAILABLE, "unavailable")                                              \
    X(CORRUPT, "data corrupted (checksum mismatch)")                           \
    X(SYS, "system call failed")                                               \
    X(INTERNAL, "internal error")

enum orasi_err {
    ORASI_OK = 0,
    ORASI__ERR_BASE = -1000,
#define ORASI_ERR_ENUM(name, msg) ORASI_E##name,
    ORASI_ERRNO_MAP(ORASI_ERR_ENUM)
#undef ORASI_ERR_ENUM
        ORASI__ERR_END
};

/* Human-readable message for a code (static string, never NULL). */
const char *orasi_strerror(int err);
/* Short symbolic name, e.g. "ORASI_ENOMEM" (static string, never NULL). */
const char *orasi_errname(int err);
/* Map an errno value (positive) to the closest ORASI_E* code. */
int orasi_err_from_errno(int e);
/* Whether a failure with this code may succeed if tried again later. */
int orasi_err_retryable(int err);

#endif
