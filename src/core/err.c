/* err.c — messages and names for the codes of err.h. */
#include "core/err.h"

#include <errno.h>

const char *orasi_strerror(int err)
{
    switch (err) {
    case ORASI_OK:
        return "success";
#define ORASI_ERR_MSG(name, msg)                                               \
    case ORASI_E##name:                                                        \
        return msg;
        ORASI_ERRNO_MAP(ORASI_ERR_MSG)
#undef ORASI_ERR_MSG
    default:
        return "unknown error";
    }
}

const char *orasi_errname(int err)
{
    switch (err) {
    case ORASI_OK:
        return "ORASI_OK";
#define ORASI_ERR_NAME(name, msg)                                              \
    case ORASI_E##name:                                                        \
        return "ORASI_E" #name;
        ORASI_ERRNO_MAP(ORASI_ERR_NAME)
#undef ORASI_ERR_NAME
    default:
        return "ORASI_E?";
    }
}

int orasi_err_from_errno(int e)
{
    switch (e) {
    case 0:
        return ORASI_OK;
    case ENOMEM:
        return ORASI_ENOMEM;
    case EAGAIN:
    case EINTR:
        return ORASI_EAGAIN;
    case EINVAL:
        return ORASI_EINVAL;
    case ENOSPC:
    case EDQUOT:
        return ORASI_ENOSPC;
    case ENOENT:
        return ORASI_ENOTFOUND;
    case EEXIST:
        return ORASI_EEXISTS;
    case ETIMEDOUT:
        return ORASI_ETIMEOUT;
    case EPIPE:
    case ECONNRESET:
    case ECONNABORTED:
    case ENOTCONN:
        return ORASI_ECLOSED;
    /* A peer that is down or unreachable is worth retrying (forwarding, failover). */
    case ECONNREFUSED:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case ENETDOWN:
    case EHOSTDOWN:
        return ORASI_EUNAVAILABLE;
    case EBUSY:
    case EADDRINUSE:
        return ORASI_EBUSY;
    case ENOTSUP:
    case EAFNOSUPPORT:
    case EPROTONOSUPPORT:
        return ORASI_EUNSUPPORTED;
    case ENAMETOOLONG:
    case EMSGSIZE:
        return ORASI_ETOOBIG;
    case EIO:
        return ORASI_EIO;
    case E2BIG:
    case EFBIG:
        return ORASI_ETOOBIG;
    default:
        return ORASI_ESYS;
    }
}

int orasi_err_retryable(int err)
{
    switch (err) {
    case ORASI_EAGAIN:
    case ORASI_EFULL:
    case ORASI_ENOSPC:
    case ORASI_ETIMEOUT:
    case ORASI_ECLOSED:
    case ORASI_EBUSY:
    case ORASI_EUNAVAILABLE:
    case ORASI_EIO:
    case ORASI_ENOMEM:
        return 1;
    default:
        return 0;
    }
}
