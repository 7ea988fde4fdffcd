/* collector.c - wires the collector's loop together.
 *
 * The receiver (udp_rx.c, or pcap_rx.c when sflow.file is set) hands each
 * UDP payload here; it is decoded into the one sfa_dgram allocated at start,
 * accounted per agent (accounting.c) and added to the sample batches
 * (sample_pub.c), which are flushed at the end of every receive drain. A
 * stats timer publishes the service counters (stats.v1) and the agent table
 * (agents.v1) on the control publisher every stats.interval. SIGINT and
 * SIGTERM close every handle so uv_run returns and the process exits 0;
 * SIGHUP is logged (reload is not supported yet). Datagrams that are not
 * sFlow v5 with a complete header are counted by the decoder and go no
 * further. Nothing on the per-datagram path allocates, logs or blocks.
 * Loop thread only.
 */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/bus.h>
#include <sfa/clock.h>
#include <sfa/codec.h>
#include <sfa/log.h>
#include <sfa/mem.h>
#include <sfa/stats.h>

#include "col.h"
#include "sflow_decode.h"

#define COL_CTL_BUF_MIN 65536u
#define COL_CTL_BUF_MAX (64u << 20)
#define COL_WAIT_POLL_MS 20

struct col_collector {
    uv_loop_t *loop;
    const col_config *cfg;
    col_udp_rx *udp;
    col_pcap_rx *pcap;
    col_pub *pub;
    col_acct *acct;
    sfa_bus *control;
    uv_timer_t stats_timer;
    uv_timer_t wait_timer; /* sflow.file.wait: polls for subscribers */
    uint64_t wait_deadline;
    uv_signal_t sig_int, sig_term, sig_hup;
    int handles_init; /* the timers and signals were initialised */
    int exit_status;  /* nonzero when the service failed after start */
    int stopping;
    uint64_t start_ms;
    sfa_dgram *dgram; /* the one decode target, reused */
    col_decode_stats dstats;
    uint64_t not_accounted; /* decoded datagrams without a usable header */
    uint64_t seq_stats, seq_agents;
    uint8_t *ctl_buf;
    size_t ctl_cap;
    uint64_t ctl_failed; /* control messages that could not be encoded or sent */
};

/* ---- the per-datagram path ---- */

/* Is the v5 header complete (version, agent, sub-agent, seq, uptime,
 * sample count)? The decoder keeps what it read of a truncated header. */
static int
col_header_ok(const sfa_dgram *d)
{
    size_t need;

    if (d->version != 5 || (d->agent.family != 4 && d->agent.family != 6))
        return 0;
    need = 8 + (d->agent.family == 4 ? 4 : 16) + 16;
    return d->len >= need;
}

static void
col_on_datagram(void *arg, const uint8_t *buf, size_t len, const sfa_addr *src, uint16_t src_port,
                uint64_t rx_ms)
{
    col_collector *c = arg;
    sfa_dgram *d = c->dgram;

    d->src = *src;
    d->src_port = src_port;
    d->rx_ms = rx_ms;
    (void)col_sflow_decode(buf, len, d, &c->dstats); /* status is counted in dstats */
    if (!col_header_ok(d)) {
        c->not_accounted++;
        return;
    }
    col_acct_dgram(c->acct, d, uv_now(c->loop));
    col_pub_add(c->pub, d);
}

static void
col_on_drained(void *arg)
{
    col_collector *c = arg;

    col_pub_flush(c->pub);
}

/* ---- stats.v1 and agents.v1 ---- */

static const sfa_stat_def col_decode_defs[] = {
    {"decode_datagrams", offsetof(col_decode_stats, datagrams)},
    {"decode_bytes", offsetof(col_decode_stats, bytes)},
    {"decode_ok", offsetof(col_decode_stats, decoded)},
    {"decode_parse_errors", offsetof(col_decode_stats, parse_errors)},
    {"decode_not_sflow", offsetof(col_decode_stats, not_sflow)},
    {"decode_unsupported_version", offsetof(col_decode_stats, unsupported_version)},
    {"decode_over_capacity", offsetof(col_decode_stats, over_capacity)},
    {"decode_trailing_bytes", offsetof(col_decode_stats, trailing_bytes)},
    {"decode_flow_samples", offsetof(col_decode_stats, samples[SFA_SAMPLE_FLOW])},
    {"decode_counter_samples", offsetof(col_decode_stats, samples[SFA_SAMPLE_COUNTER])},
    {"decode_expanded_flow_samples", offsetof(col_decode_stats, samples[SFA_SAMPLE_FLOW_EXPANDED])},
    {"decode_expanded_counter_samples",
     offsetof(col_decode_stats, samples[SFA_SAMPLE_COUNTER_EXPANDED])},
    {"decode_discard_samples", offsetof(col_decode_stats, samples[SFA_SAMPLE_DISCARD])},
    {"decode_samples_unknown", offsetof(col_decode_stats, samples_unknown)},
    {"decode_flow_records_unknown", offsetof(col_decode_stats, flow_records_unknown)},
    {"decode_counter_records_unknown", offsetof(col_decode_stats, counter_records_unknown)},
    {"decode_records_malformed", offsetof(col_decode_stats, records_malformed)},
    {"decode_headers_truncated", offsetof(col_decode_stats, headers_truncated)},
    SFA_STAT_END,
};

static const sfa_stat_def col_udp_defs[] = {
    {"udp_rx_datagrams", offsetof(col_udp_stats, datagrams)},
    {"udp_rx_bytes", offsetof(col_udp_stats, bytes)},
    {"udp_kernel_drops", offsetof(col_udp_stats, kernel_drops)},
    {"udp_recvmmsg_calls", offsetof(col_udp_stats, recvmmsg_calls)},
    {"udp_truncated", offsetof(col_udp_stats, truncated)},
    {"udp_errors", offsetof(col_udp_stats, errors)},
    {"udp_rcvbuf", offsetof(col_udp_stats, rcvbuf)},
    SFA_STAT_END,
};

static const sfa_stat_def col_pcap_defs[] = {
    {"pcap_frames", offsetof(col_pcap_stats, frames)},
    {"pcap_sflow", offsetof(col_pcap_stats, sflow)},
    {"pcap_non_sflow", offsetof(col_pcap_stats, non_sflow)},
    {"pcap_fragments", offsetof(col_pcap_stats, fragments)},
    {"pcap_truncated", offsetof(col_pcap_stats, truncated)},
    {"pcap_passes", offsetof(col_pcap_stats, passes)},
    SFA_STAT_END,
};

static const sfa_stat_def col_acct_defs[] = {
    {"agents", offsetof(col_acct_stats, agents)},
    {"agent_datasources", offsetof(col_acct_stats, datasources)},
    {"agent_table_overflow", offsetof(col_acct_stats, overflow)},
    {"agent_seq_restarts", offsetof(col_acct_stats, restarts)},
    SFA_STAT_END,
};

/* Per-format record counts, keyed "enterprise:format" like sFlow's specs. */
static json_t *
col_records_json(const uint64_t *counts, unsigned n, uint32_t (*tag)(unsigned))
{
    json_t *o = json_object();
    char key[32];

    for (unsigned i = 0; i < n; i++) {
        uint32_t t = tag(i);
        snprintf(key, sizeof key, "%u:%u", t >> 12, t & 0xfffu);
        json_object_set_new(o, key, json_integer((json_int_t)counts[i]));
    }
    return o;
}

static json_t *
col_stats_json(col_collector *c)
{
    json_t *o = json_object();
    col_acct_stats as;

    json_object_set_new(o, "service", json_string("collector"));
    json_object_set_new(o, "input", json_string(c->pcap ? "pcap" : "udp"));
    json_object_set_new(o, "uptime_ms", json_integer((json_int_t)(uv_now(c->loop) - c->start_ms)));
    if (c->udp) {
        col_udp_stats us;
        col_udp_get_stats(c->udp, &us);
        sfa_stats_add(o, col_udp_defs, &us);
    }
    if (c->pcap) {
        col_pcap_stats ps;
        col_pcap_get_stats(c->pcap, &ps);
        sfa_stats_add(o, col_pcap_defs, &ps);
    }
    sfa_stats_add(o, col_decode_defs, &c->dstats);
    json_object_set_new(
        o, "decode_flow_records",
        col_records_json(c->dstats.flow_records, COL_FLOW__COUNT, col_flow_format_tag));
    json_object_set_new(
        o, "decode_counter_records",
        col_records_json(c->dstats.counter_records, COL_COUNTER__COUNT, col_counter_format_tag));
    json_object_set_new(o, "decode_no_header", json_integer((json_int_t)c->not_accounted));
    col_pub_stats_json(c->pub, o);
    json_object_set_new(o, "control_failed", json_integer((json_int_t)c->ctl_failed));
    col_acct_get_stats(c->acct, &as);
    sfa_stats_add(o, col_acct_defs, &as);
    return o;
}

/* Encode body on topic and publish it on the control bus; the buffer grows
 * (outside the datagram path) when a large agent table needs it. */
static void
col_publish_json(col_collector *c, const char *topic, uint64_t seq, const json_t *body)
{
    int n;

    for (;;) {
        n = sfa_codec_encode_json_msg(c->ctl_buf, c->ctl_cap, topic, c->cfg->collector_id, seq,
                                      sfa_clock_wall_ms(), body);
        if (n != SFA_ELIMIT || c->ctl_cap >= COL_CTL_BUF_MAX)
            break;
        c->ctl_cap *= 2;
        c->ctl_buf = sfa_xrealloc(c->ctl_buf, c->ctl_cap);
    }
    if (n < 0 || sfa_bus_publish(c->control, c->ctl_buf, (size_t)n) != 0)
        c->ctl_failed++;
}

static void
col_publish_stats(col_collector *c)
{
    json_t *stats = col_stats_json(c);
    json_t *agents = col_acct_json(c->acct, uv_now(c->loop));

    /* agents.v1 first: a reader that waits for stats.v1 then has both. */
    col_publish_json(c, SFA_TOPIC_AGENTS, ++c->seq_agents, agents);
    col_publish_json(c, SFA_TOPIC_STATS, ++c->seq_stats, stats);
    json_decref(stats);
    json_decref(agents);
}

static void
col_on_stats_timer(uv_timer_t *t)
{
    col_publish_stats(t->data);
}

/* ---- signals and lifecycle ---- */

static void
col_on_signal(uv_signal_t *h, int signum)
{
    col_collector *c = h->data;

    if (signum == SIGHUP) {
        SFA_WARN("SIGHUP: reload not supported");
        return;
    }
    SFA_INFO("%s: stopping", signum == SIGINT ? "SIGINT" : "SIGTERM");
    col_collector_stop(c);
}

static void
col_on_handle_closed(uv_handle_t *h)
{
    /* The handles are embedded in the collector, freed by destroy after
     * uv_run has returned (when every close callback has run). */
    (void)h;
}

static int
col_replay_start(col_collector *c)
{
    const col_config *cfg = c->cfg;

    return col_pcap_open(&c->pcap, c->loop, cfg->sflow_file, (int)cfg->sflow_file_port,
                         cfg->sflow_file_fast, cfg->sflow_file_loop, col_on_datagram,
                         col_on_drained, c);
}

static void
col_on_wait_timer(uv_timer_t *t)
{
    col_collector *c = t->data;
    sfa_bus_stats bs;
    int rc;

    sfa_bus_get_stats(c->control, &bs);
    if (!(col_pub_connected(c->pub) && bs.pipes > 0)) {
        if (uv_now(c->loop) < c->wait_deadline)
            return;
        SFA_WARN("sflow.file: no subscriber after %g s, replaying anyway", c->cfg->sflow_file_wait);
    }
    uv_timer_stop(t);
    rc = col_replay_start(c);
    if (rc != 0) {
        c->exit_status = 1;
        col_collector_stop(c);
    }
}

static int
col_handles_start(col_collector *c)
{
    uint64_t ms = (uint64_t)(c->cfg->stats_interval * 1000.0 + 0.5);
    int rc;

    if (ms == 0)
        ms = 1;
    uv_timer_init(c->loop, &c->stats_timer);
    uv_timer_init(c->loop, &c->wait_timer);
    uv_signal_init(c->loop, &c->sig_int);
    uv_signal_init(c->loop, &c->sig_term);
    uv_signal_init(c->loop, &c->sig_hup);
    c->wait_timer.data = c->stats_timer.data = c->sig_int.data = c->sig_term.data =
        c->sig_hup.data = c;
    c->handles_init = 1;
    if ((rc = uv_timer_start(&c->stats_timer, col_on_stats_timer, ms, ms)) != 0 ||
        (rc = uv_signal_start(&c->sig_int, col_on_signal, SIGINT)) != 0 ||
        (rc = uv_signal_start(&c->sig_term, col_on_signal, SIGTERM)) != 0 ||
        (rc = uv_signal_start(&c->sig_hup, col_on_signal, SIGHUP)) != 0)
        SFA_SEVERE("cannot start timer/signal handlers: %s", uv_strerror(rc));
    return rc;
}

col_collector *
col_collector_create(uv_loop_t *loop, const col_config *cfg)
{
    col_collector *c = sfa_xcalloc(1, sizeof *c);

    c->loop = loop;
    c->cfg = cfg;
    c->dgram = sfa_xcalloc(1, sizeof *c->dgram);
    c->acct = col_acct_create();
    c->ctl_cap = COL_CTL_BUF_MIN;
    c->ctl_buf = sfa_xmalloc(c->ctl_cap);
    return c;
}

int
col_collector_start(col_collector *c)
{
    const col_config *cfg = c->cfg;
    int rc;

    c->start_ms = uv_now(c->loop);
    rc = sfa_bus_pub_open(&c->control, c->loop, cfg->bus_control, (int)cfg->bus_sndbuf);
    if (rc != 0) {
        SFA_SEVERE("bus.control: cannot listen on %s: %s", cfg->bus_control, sfa_strerror(rc));
        return rc;
    }
    rc = col_pub_open(&c->pub, c->loop, cfg->bus_samples, (int)cfg->bus_lanes, (int)cfg->bus_sndbuf,
                      (size_t)cfg->bus_batch_bytes, cfg->collector_id);
    if (rc != 0)
        return rc;
    rc = col_handles_start(c);
    if (rc != 0)
        return rc;
    if (!(cfg->sflow_file && cfg->sflow_file[0]))
        return col_udp_open(&c->udp, c->loop, cfg->sflow_hostname, (int)cfg->sflow_port,
                            cfg->sflow_rcvbuf, col_on_datagram, col_on_drained, c);
    if (cfg->sflow_file_wait > 0) {
        /* A replay sent before anyone listens is lost (pub/sub); wait. */
        SFA_INFO("sflow.file: waiting up to %g s for subscribers", cfg->sflow_file_wait);
        c->wait_deadline = uv_now(c->loop) + (uint64_t)(cfg->sflow_file_wait * 1000.0);
        return uv_timer_start(&c->wait_timer, col_on_wait_timer, 0, COL_WAIT_POLL_MS);
    }
    return col_replay_start(c);
}

void
col_collector_stop(col_collector *c)
{
    if (c->stopping)
        return;
    c->stopping = 1;
    col_udp_close(c->udp);
    c->udp = NULL;
    col_pcap_close(c->pcap);
    c->pcap = NULL;
    if (c->handles_init) {
        uv_close((uv_handle_t *)&c->stats_timer, col_on_handle_closed);
        uv_close((uv_handle_t *)&c->wait_timer, col_on_handle_closed);
        uv_close((uv_handle_t *)&c->sig_int, col_on_handle_closed);
        uv_close((uv_handle_t *)&c->sig_term, col_on_handle_closed);
        uv_close((uv_handle_t *)&c->sig_hup, col_on_handle_closed);
    }
    col_pub_close(c->pub); /* flushes what is batched */
    c->pub = NULL;
    sfa_bus_close(c->control);
    c->control = NULL;
}

int
col_collector_exit_status(const col_collector *c)
{
    return c->exit_status;
}

void
col_collector_destroy(col_collector *c)
{
    if (!c)
        return;
    col_acct_destroy(c->acct);
    free(c->ctl_buf);
    free(c->dgram);
    free(c);
}
