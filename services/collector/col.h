/* col.h - the collector's private interfaces (never included outside
 * services/collector and its tests).
 *
 * The collector is one libuv loop: a receiver (udp_rx.c, or pcap_rx.c when
 * sflow.file is set) hands each UDP payload to collector.c, which decodes
 * it (sflow_dgram.c) into one reused sfa_dgram, updates the agent table
 * (accounting.c) and adds it to the sample batches (sample_pub.c); at the
 * end of every receive drain the batches are flushed to the bus. Nothing
 * on that path allocates per datagram. Everything here runs on the loop
 * thread; nothing is thread-safe.
 */
#ifndef COL_H
#define COL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include <sfa/config.h>
#include <sfa/err.h>
#include <sfa/sflow.h>

/* ---- configuration (col_config.c) ---- */

typedef struct col_config {
    long sflow_port;        /* UDP port; 0 = ephemeral (tests) */
    char *sflow_hostname;   /* bind address; "" = all (dual-stack [::], else 0.0.0.0) */
    long sflow_rcvbuf;      /* socket receive buffer request, bytes */
    char *sflow_file;       /* pcap/pcapng to replay instead of listening */
    int sflow_file_fast;    /* replay as fast as possible */
    int sflow_file_loop;    /* restart the capture at its end */
    long sflow_file_port;   /* UDP port taken from the capture; -1 = sflow.port, 0 = any */
    double sflow_file_wait; /* seconds to wait for subscribers before replaying; 0 = none */
    char *bus_samples;      /* sample publisher base URL */
    long bus_lanes;         /* sample publisher sockets */
    long bus_sndbuf;        /* publisher send queue depth, messages */
    char *bus_control;      /* stats/agents publisher URL */
    long bus_batch_bytes;   /* publish a sample batch when it reaches this size */
    char *collector_id;     /* envelope src */
    double stats_interval;  /* seconds between stats.v1 / agents.v1 */
    char *log_level;        /* SEVERE, WARNING, INFO, FINE */
    int log_level_num;      /* derived from log_level */
} col_config;

/* The property table (sFlow-RT names). */
extern const sfa_cfg_opt col_config_table[];

/* Load the configuration from every source (see sfa/config.h) and resolve
 * the defaults that depend on the process (uid, hostname, pid). Returns 0;
 * SFA_EEXIT after --help/--dump-config; SFA_ECONFIG after logging a
 * message naming the property. On success free with col_config_free. */
SFA_MUST_CHECK int col_config_load(col_config *cfg, int argc, char **argv);
void col_config_free(col_config *cfg);

/* ---- receivers (udp_rx.c, pcap_rx.c) ---- */

/* One UDP payload. buf and src borrow the receiver's storage for the
 * duration of the call only. rx_ms is wall-clock ms. */
typedef void (*col_rx_cb)(void *arg, const uint8_t *buf, size_t len, const sfa_addr *src,
                          uint16_t src_port, uint64_t rx_ms);
/* The end of one receive drain: publish what was batched. */
typedef void (*col_drain_cb)(void *arg);

typedef struct col_udp_stats {
    uint64_t datagrams;      /* payloads received */
    uint64_t bytes;          /* payload bytes received */
    uint64_t kernel_drops;   /* the socket's drop count (SO_RXQ_OVFL), latest seen */
    uint64_t recvmmsg_calls; /* recvmmsg(2) calls that returned datagrams */
    uint64_t truncated;      /* payloads larger than a receive slot (cut) */
    uint64_t errors;         /* recvmmsg failures other than EAGAIN */
    uint64_t rcvbuf;         /* effective receive buffer (kernel's figure / 2) */
} col_udp_stats;

typedef struct col_udp_rx col_udp_rx;

/* Bind a non-blocking UDP socket to host:port (host NULL or "" = all
 * addresses, dual-stack) with a receive buffer of rcvbuf bytes, and start
 * polling it on loop. cb/dcb/arg are borrowed. Logs "Listening, sFlow port
 * N". *out is set on success; 0 or -errno. */
SFA_MUST_CHECK int col_udp_open(col_udp_rx **out, uv_loop_t *loop, const char *host, int port,
                                long rcvbuf, col_rx_cb cb, col_drain_cb dcb, void *arg);
/* The bound port (useful with port 0). */
int col_udp_port(const col_udp_rx *u);
void col_udp_get_stats(const col_udp_rx *u, col_udp_stats *st);
/* Stop, close the socket; freed in the close callback. NULL is a no-op. */
void col_udp_close(col_udp_rx *u);

typedef struct col_pcap_stats {
    uint64_t frames;    /* frames read from the capture (all passes) */
    uint64_t sflow;     /* UDP payloads on the selected port handed on */
    uint64_t non_sflow; /* frames that are not UDP, or UDP to another port */
    uint64_t fragments; /* IP fragments (not reassembled) */
    uint64_t truncated; /* UDP payloads cut by the capture length */
    uint64_t passes;    /* completed passes over the file */
} col_pcap_stats;

typedef struct col_pcap_rx col_pcap_rx;

/* Open a capture (pcap or pcapng) and start replaying it on loop: paced by
 * the capture's timestamps, or as fast as possible in chunks (fast), once
 * or forever (loop_file). port 0 takes every UDP datagram. cb/dcb/arg are
 * borrowed. 0, or SFA_EFORMAT/-errno (logged, naming the file). */
SFA_MUST_CHECK int col_pcap_open(col_pcap_rx **out, uv_loop_t *loop, const char *path, int port,
                                 int fast, int loop_file, col_rx_cb cb, col_drain_cb dcb,
                                 void *arg);
void col_pcap_get_stats(const col_pcap_rx *p, col_pcap_stats *st);
/* Stop and close; freed in the close callback. NULL is a no-op. */
void col_pcap_close(col_pcap_rx *p);

/* ---- sample publishing (sample_pub.c) ---- */

typedef struct col_pub col_pub;

/* How a finished message leaves: 0, or nonzero when it was refused (the
 * caller keeps no reference to msg after the call). */
typedef int (*col_pub_send_fn)(void *arg, int lane, const uint8_t *msg, size_t len);

/* Open lanes publishers at sfa_bus_lane_url(base, lane, lanes), each with a
 * send queue of sndbuf messages. src (envelope source) is copied. */
SFA_MUST_CHECK int col_pub_open(col_pub **out, uv_loop_t *loop, const char *base, int lanes,
                                int sndbuf, size_t batch_bytes, const char *src);
/* The same batching over a caller-supplied sender (tests). */
SFA_MUST_CHECK int col_pub_open_custom(col_pub **out, int lanes, size_t batch_bytes,
                                       const char *src, col_pub_send_fn send, void *send_arg);
/* Add d's flow samples to flow.v1.XX and its counter samples to
 * counter.v1.XX (XX = its agent's bucket); publishes a batch when it reaches
 * batch_bytes. d borrows. Allocates only the first time a (kind, bucket)
 * is used. */
void col_pub_add(col_pub *p, const sfa_dgram *d);
/* Publish every batch with content (the end of a receive drain). */
void col_pub_flush(col_pub *p);
/* 1 when every lane has at least one subscriber connected (bus lanes only). */
int col_pub_connected(const col_pub *p);
/* Add the publisher's counters to obj (borrowed). */
void col_pub_stats_json(const col_pub *p, json_t *obj);
/* Flush, close the lanes and free. NULL is a no-op. */
void col_pub_close(col_pub *p);

/* ---- agent accounting (accounting.c) ---- */

typedef struct col_acct col_acct;

/* Returns new; free with col_acct_destroy (NULL is a no-op). */
col_acct *col_acct_create(void);
void col_acct_destroy(col_acct *a);
/* Account one decoded datagram (header and samples) seen at monotonic
 * now_ms. Allocates only when a new agent, source address, sub-agent or
 * data source appears. */
void col_acct_dgram(col_acct *a, const sfa_dgram *d, uint64_t now_ms);
typedef struct col_acct_stats {
    uint64_t agents;      /* agents in the table */
    uint64_t datasources; /* (agent, data source) entries */
    uint64_t overflow;    /* datagrams/samples not accounted: a table cap was reached */
    uint64_t restarts;    /* sequence discontinuities treated as a new stream */
} col_acct_stats;

/* Number of agents known. */
size_t col_acct_count(const col_acct *a);
void col_acct_get_stats(const col_acct *a, col_acct_stats *st);
/* The table as sFlow-RT's /agents/json reports it, keyed by agent address;
 * firstSeen/lastSeen are ms elapsed before now_ms. Returns new. */
json_t *col_acct_json(const col_acct *a, uint64_t now_ms);

/* ---- the service (collector.c) ---- */

typedef struct col_collector col_collector;

/* Returns new: the collector for loop and cfg (both borrowed; they must
 * outlive it), with its accounting table and decode buffer; nothing opened. */
col_collector *col_collector_create(uv_loop_t *loop, const col_config *cfg);
/* Open the bus publishers and the receiver, start the stats timer and the
 * signal handlers. 0, or a negative code after logging what failed; on
 * failure call col_collector_stop and run the loop so that what was opened
 * closes, then col_collector_destroy. */
SFA_MUST_CHECK int col_collector_start(col_collector *c);
/* Begin a clean stop (what SIGINT/SIGTERM do): handles close, uv_run ends. */
void col_collector_stop(col_collector *c);
/* 0 after a clean stop; the exit status the service failed with otherwise. */
int col_collector_exit_status(const col_collector *c);
/* Free what is left after uv_run returned. NULL is a no-op. */
void col_collector_destroy(col_collector *c);

#endif
