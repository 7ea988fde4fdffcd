/* bus.h - nng pub/sub endpoints wired into a libuv loop.
 *
 * A publisher listens on one or more URLs (ipc:// or tcp://); a subscriber
 * dials one or more publishers, reconnecting on its own when a peer dies.
 * Receive is driven by a uv_poll_t on nng's receive-notification fd and
 * drained with NNG_FLAG_NONBLOCK, so the loop never blocks (STYLE habit 13).
 * Publishing never blocks either: nng's pub protocol drops the oldest
 * queued message for a slow peer; sfa_bus counts what it can see
 * (send failures) and subscribers count the rest as sequence gaps.
 * Buffer depths are always set explicitly. All calls from the loop thread.
 * nng 1.x / 2.x differences stay inside bus.c.
 */
#ifndef SFA_BUS_H
#define SFA_BUS_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include <sfa/err.h>

typedef struct sfa_bus sfa_bus;

/* Called for each received message; msg borrows nng's buffer for the
 * duration of the call only. */
typedef void (*sfa_bus_recv_cb)(sfa_bus *bus, const uint8_t *msg, size_t len, void *arg);

typedef struct sfa_bus_stats {
    uint64_t msgs_sent;
    uint64_t bytes_sent;
    uint64_t send_failed; /* nng refused the message (counted, dropped) */
    uint64_t msgs_recv;
    uint64_t bytes_recv;
    uint64_t pipes; /* currently connected peers */
} sfa_bus_stats;

/* Open a publisher with a send queue of sndbuf messages and listen on url.
 * For ipc:// a stale socket file is replaced. *out is set on success. */
SFA_MUST_CHECK int sfa_bus_pub_open(sfa_bus **out, uv_loop_t *loop, const char *url, int sndbuf);

/* Open a subscriber with a receive queue of rcvbuf messages that dials url
 * (non-blocking: it connects and reconnects in the background). cb and arg
 * are borrowed. Nothing is delivered until sfa_bus_subscribe. */
SFA_MUST_CHECK int sfa_bus_sub_open(sfa_bus **out, uv_loop_t *loop, const char *url, int rcvbuf,
                                    sfa_bus_recv_cb cb, void *arg);

/* The reverse roles, for a many-to-one topic whose single consumer has the
 * well-known address (metrics.v1: every aggregator dials the events
 * service): a subscriber that listens on url, and a publisher that dials
 * url (non-blocking, reconnecting like a subscriber's dialer; messages
 * published while not connected are dropped as for any pub socket).
 * Otherwise exactly as sfa_bus_sub_open / sfa_bus_pub_open. */
SFA_MUST_CHECK int sfa_bus_sub_listen(sfa_bus **out, uv_loop_t *loop, const char *url, int rcvbuf,
                                      sfa_bus_recv_cb cb, void *arg);
SFA_MUST_CHECK int sfa_bus_pub_dial(sfa_bus **out, uv_loop_t *loop, const char *url, int sndbuf);

/* Add another URL: a listener for a publisher, a dialer for a subscriber
 * (reversed for sfa_bus_sub_listen / sfa_bus_pub_dial). */
SFA_MUST_CHECK int sfa_bus_add_url(sfa_bus *bus, const char *url);

/* Subscribe / unsubscribe to messages starting with prefix (len bytes). */
SFA_MUST_CHECK int sfa_bus_subscribe(sfa_bus *bus, const void *prefix, size_t len);
SFA_MUST_CHECK int sfa_bus_unsubscribe(sfa_bus *bus, const void *prefix, size_t len);

/* Publish a copy of msg. Never blocks. 0, or SFA_EBUS (counted). */
int sfa_bus_publish(sfa_bus *bus, const void *msg, size_t len);

void sfa_bus_get_stats(const sfa_bus *bus, sfa_bus_stats *st);

/* Close the sockets and the poll handle; the struct is freed in the last
 * close callback. NULL is a no-op. */
void sfa_bus_close(sfa_bus *bus);

/* Helpers for building URLs: "<base>" for lane 0 of 1; with several lanes
 * ipc://path becomes ipc://path.<lane> and tcp://host:port becomes
 * tcp://host:<port+lane>. Writes into out (cap bytes); 0 or SFA_ELIMIT. */
SFA_MUST_CHECK int sfa_bus_lane_url(char *out, size_t cap, const char *base, int lane, int lanes);

#endif
