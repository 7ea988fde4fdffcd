/* flow_log.h - logged flow records (flow definitions with "log": true):
 * the aggregator's side of flowlog.v1 (proto/CONTROL.md, "Logged flows").
 *
 * Private to services/aggregator (and its tests). Self-contained like
 * metrics_pub.h: it does not include agg.h. Two objects:
 *   agg_flowlog      the publisher: a pub socket that DIALS bus.flowlog
 *                    (the gateway listens) and the records waiting to go;
 *   agg_flowlog_def  one logged definition's live flows: per (data
 *                    source, key) the start time and the accumulated value.
 * Hook-up: the aggregator opens one agg_flowlog, gives each definition
 * whose spec has log:true an agg_flowlog_def, calls agg_flowlog_add for
 * every match of such a definition, and on a timer agg_flowlog_def_scan
 * for each of them followed by agg_flowlog_flush.
 *
 * When is a record emitted:
 *   flowStart true   when a flow is first seen (value: its first sample;
 *                    start == end); it is not logged again until it has
 *                    gone idle and come back;
 *   otherwise        when the flow goes idle (no sample for the idle
 *                    timeout, AGG_FLOWLOG_IDLE_TAUS x the definition's t,
 *                    at most activeTimeout), or when it has been active
 *                    for activeTimeout seconds (then a new record starts).
 * Records: {"name", "flowKeys", "value" (accumulated, sampling-scaled),
 * "start", "end" (epoch ms of the first and last sample), "agent",
 * "dataSource"}; the gateway adds "flowID".
 *
 * Loop thread only.
 */
#ifndef AGG_FLOW_LOG_H
#define AGG_FLOW_LOG_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include <sfa/err.h>
#include <sfa/flowdef.h>

#define AGG_TOPIC_FLOWLOG "flowlog.v1"
#define AGG_FLOWLOG_IDLE_TAUS 5.0 /* idle timeout in time constants t */

typedef struct agg_flowlog agg_flowlog;
typedef struct agg_flowlog_def agg_flowlog_def;

typedef struct agg_flowlog_stats {
    uint64_t records;   /* records queued */
    uint64_t published; /* flowlog.v1 messages sent */
    uint64_t dropped;   /* records lost: bus refused, too large, or queue full */
    uint64_t full;      /* new flows not tracked: a definition's flow cap reached */
} agg_flowlog_stats;

/* Open a publisher that dials url and reports as id (both borrowed,
 * copied). 0 or SFA_EBUS. */
SFA_MUST_CHECK int agg_flowlog_open(agg_flowlog **out, uv_loop_t *loop, const char *url,
                                    const char *id);
/* Publish the queued records (one message). 0, or SFA_EBUS / SFA_ELIMIT
 * (the records are dropped and counted). */
int agg_flowlog_flush(agg_flowlog *fl);
void agg_flowlog_get_stats(const agg_flowlog *fl, agg_flowlog_stats *st);
/* Close the socket and free (queued records are dropped). Definition
 * logs made from fl must not be used afterwards, except to destroy them.
 * NULL is a no-op. */
void agg_flowlog_close(agg_flowlog *fl);

/* The log of definition name (borrowed, copied) compiled as fd (borrowed:
 * t, flowStart and activeTimeout are read now), tracking at most max
 * flows, queuing its records on fl (borrowed; must outlive every call but
 * destroy). Returns new. */
agg_flowlog_def *agg_flowlog_def_create(agg_flowlog *fl, const char *name, const sfa_flowdef *fd,
                                        size_t max);
/* Forget every flow without logging it. NULL is a no-op. */
void agg_flowlog_def_destroy(agg_flowlog_def *d);
/* One match at data source ds (agent and dsname its texts; borrowed) of
 * key (keylen bytes) with value, at now (s, monotonic). Allocates when a
 * flow is new. */
void agg_flowlog_add(agg_flowlog_def *d, uint32_t ds, const char *agent, const char *dsname,
                     const char *key, size_t keylen, double value, double now);
/* Log and forget idle flows, log long ones at activeTimeout. */
void agg_flowlog_def_scan(agg_flowlog_def *d, double now);

#endif
