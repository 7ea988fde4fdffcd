/* err.h - error codes shared by every sfa module.
 *
 * Functions that can fail return int: 0 on success, a negative value on
 * failure. Where an errno value fits, the code is -errno; project-specific
 * failures use the SFA_E* codes below, which live outside errno's range.
 */
#ifndef SFA_ERR_H
#define SFA_ERR_H

#include <errno.h>

#define SFA_MUST_CHECK __attribute__((warn_unused_result))

enum {
    SFA_ETRUNC = -1000,   /* input ended before a declared length */
    SFA_EFORMAT = -1001,  /* input is not of the expected format */
    SFA_EVERSION = -1002, /* unsupported protocol version */
    SFA_ELIMIT = -1003,   /* a fixed capacity was exceeded */
    SFA_ECONFIG = -1004,  /* bad configuration value or unknown property */
    SFA_EBUS = -1005,     /* bus (nng) failure */
    SFA_EEXIT = -1006,    /* not an error: the caller should exit 0 (help) */
};

/* Returns a static string describing code (0, -errno or SFA_E*). */
const char *sfa_strerror(int code);

#endif
