/* err.c - text for sfa error codes. No state. */
#include <string.h>

#include <sfa/err.h>

const char *
sfa_strerror(int code)
{
    switch (code) {
    case 0:
        return "success";
    case SFA_ETRUNC:
        return "truncated input";
    case SFA_EFORMAT:
        return "malformed input";
    case SFA_EVERSION:
        return "unsupported version";
    case SFA_ELIMIT:
        return "capacity exceeded";
    case SFA_ECONFIG:
        return "configuration error";
    case SFA_EBUS:
        return "bus error";
    case SFA_EEXIT:
        return "exit requested";
    default:
        return code < 0 ? strerror(-code) : "unknown error";
    }
}
