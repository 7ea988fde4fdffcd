/* clock.h - time sources.
 *
 * Monotonic milliseconds drive every window, timeout and expiry; wall-clock
 * milliseconds appear only in bus envelopes, logs and API output.
 */
#ifndef SFA_CLOCK_H
#define SFA_CLOCK_H

#include <stdint.h>

uint64_t sfa_clock_ms(void);      /* monotonic, ms */
uint64_t sfa_clock_us(void);      /* monotonic, us */
uint64_t sfa_clock_wall_ms(void); /* Unix epoch, ms */

#endif
