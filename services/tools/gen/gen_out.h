/* gen_out.h - where sfa-gen's datagrams go: UDP (batched with sendmmsg,
 * optionally paced to the simulated clock) or a classic pcap file
 * (Ethernet/IP/UDP frames to port 6343, timestamped by the simulated
 * clock so a paced replay reproduces the rates).
 *
 * gen_out_emit has the gen_emit_fn signature and is handed to
 * gen_model_run. It copies each datagram into a preallocated batch slot or
 * write buffer: nothing is allocated per datagram. Single-threaded.
 */
#ifndef GEN_OUT_H
#define GEN_OUT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <sfa/err.h>

#include "gen_model.h"

typedef struct gen_out gen_out;

typedef struct gen_out_stats {
    uint64_t datagrams; /* handed to the kernel / written to the file */
    uint64_t bytes;     /* sFlow payload bytes */
    uint64_t syscalls;  /* sendmmsg calls */
    uint64_t partial;   /* sendmmsg calls that sent fewer than asked (rest retried) */
    uint64_t enobufs;   /* ENOBUFS / EAGAIN answers (retried after a short pause) */
    uint64_t refused;   /* ECONNREFUSED: nobody listening (the datagram is retried) */
    uint64_t dropped;   /* datagrams given up after repeated ENOBUFS */
    uint64_t late;      /* batches sent more than 5 ms after they were due */
    double max_lag_s;   /* worst lateness of a paced batch */
} gen_out_stats;

/* Open a UDP sender to target ("HOST:PORT", "[V6]:PORT" or "HOST" for port
 * 6343). Unless allow_remote, the target must be a loopback address.
 * batch (1..1024) datagrams per sendmmsg. SFA_ECONFIG with a message in err,
 * or -errno. *out is set on success (free with gen_out_close). */
SFA_MUST_CHECK int gen_out_udp_open(gen_out **out, const char *target, int allow_remote,
                                    uint32_t batch, char *err, size_t errcap);

/* Open a pcap writer on path ("-" for stdout). -errno with a message. */
SFA_MUST_CHECK int gen_out_pcap_open(gen_out **out, const char *path, char *err, size_t errcap);

/* Start the clocks. paced: a datagram of simulated time t is not sent
 * before start + t (UDP only). stop (borrowed, may be NULL) is polled:
 * once nonzero, gen_out_emit returns 1 and the run ends. */
void gen_out_start(gen_out *o, int paced, const volatile sig_atomic_t *stop);

/* The emit callback (arg is the gen_out). 0, 1 to stop, or -errno. */
int gen_out_emit(void *arg, const uint8_t *buf, size_t len, const gen_dgram_info *info);

/* Send / write what is still buffered. 0 or -errno. */
SFA_MUST_CHECK int gen_out_flush(gen_out *o);

/* Wall-clock time (Unix seconds) of gen_out_start: simulated time t of a
 * paced run is due at this + t. */
double gen_out_start_wall(const gen_out *o);

/* Wall seconds since gen_out_start. */
double gen_out_elapsed(const gen_out *o);

void gen_out_get_stats(const gen_out *o, gen_out_stats *st);

/* Close the socket / file and free. NULL is a no-op. */
void gen_out_close(gen_out *o);

/* Parse "HOST:PORT", "[V6]:PORT" or "HOST" into host (hostcap bytes) and
 * port. 0 or SFA_EFORMAT. Exposed for tests. */
SFA_MUST_CHECK int gen_out_split_target(const char *target, char *host, size_t hostcap,
                                        uint16_t *port);

#endif
