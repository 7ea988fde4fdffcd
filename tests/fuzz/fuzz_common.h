/* fuzz_common.h - what the fuzz targets share (fuzz_common.c).
 *
 * Each target defines fuzz_target_name and LLVMFuzzerTestOneInput; this
 * module gives them the promise check that aborts (which libFuzzer reports
 * as a crash), the bounds test, the structural checks every decoded
 * sfa_dgram must pass, and, built with -DSFA_FUZZ_REPLAY, the main() that
 * replays files and directories and prints TAP. Single-threaded.
 */
#ifndef SFA_FUZZ_COMMON_H
#define SFA_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <sfa/codec.h>

/* The target's name, printed before a broken promise ("fuzz_sflow"). */
extern const char fuzz_target_name[];

/* The libFuzzer entry point; each target defines it. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort with "NAME: broken promise: what" unless ok. */
void fuzz_require(int ok, const char *what);

/* Do the n bytes at p lie inside [base, base + len)? */
int fuzz_inside(const uint8_t *p, size_t n, const uint8_t *base, size_t len);

/* The promises every sfa_dgram reader and decoder keeps: counts within the
 * capacities, each sample's field and record ranges inside the arrays. */
void fuzz_check_ranges(const sfa_dgram *d);

#endif
