/* counters.h - counter metrics: what the aggregator computes from counter
 * samples (proto/METRICS.md), and the survey answers about metrics.
 *
 * Private to services/aggregator and its tests. Pieces:
 *   ctr_catalog.c     which metric each counter field is (rate, gauge, enum,
 *                     text), the derived metrics, names, enum strings
 *   counters.c        per data source state: rates from counter deltas,
 *                     derived metrics, expiry
 *   respond_metrics.c the metrics, metric, dump, table and metric_agent
 *                     survey answers (counter and flow metrics alike)
 * Loop thread only, like the rest of the aggregator.
 */
#ifndef AGG_COUNTERS_H
#define AGG_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <sfa/codec.h>
#include <sfa/err.h>
#include <sfa/sflow.h>

/* ---- the catalogue (ctr_catalog.c) ---- */

/* Metric ids: a field id of fields.def is the metric of that field;
 * derived metrics follow. */
enum agg_metric_id {
    AGG_M_IFADMINSTATUS = SFA_F__COUNT, /* "up"/"down" from ifstatus bit 0 */
    AGG_M_IFOPERSTATUS,                 /* from ifstatus bit 1 */
    AGG_M_IFINUTILIZATION,              /* ifinoctets rate x 800 / ifspeed, % */
    AGG_M_IFOUTUTILIZATION,
    AGG_M_IFINPKTS, /* ifinucastpkts + ifinmulticastpkts + ifinbroadcastpkts rates */
    AGG_M_IFOUTPKTS,
    AGG_M_CPU_UTILIZATION,  /* 100 - cpu_idle, % */
    AGG_M_MEM_UTILIZATION,  /* 100 x (total - free - buffers - cached) / total, % */
    AGG_M_DISK_UTILIZATION, /* 100 x (disk_total - disk_free) / disk_total, % */
    AGG_M_LOAD_ONE_PER_CPU,
    AGG_M_LOAD_FIVE_PER_CPU,
    AGG_M_LOAD_FIFTEEN_PER_CPU,
    AGG_M__COUNT
};

/* What a metric is. */
enum agg_ckind {
    AGG_CK_SKIP = 0, /* not a metric (ifstatus, list fields, flow fields) */
    AGG_CK_RATE,     /* a counter: per-second rate of its increase */
    AGG_CK_CPU,      /* a host_cpu time counter: % of the CPU time of the interval */
    AGG_CK_GAUGE,    /* a number as sent */
    AGG_CK_PCT100,   /* hundredths of a percent, -1 unknown -> % */
    AGG_CK_ENUM,     /* a number shown as a string (iftype, os_name, ...) */
    AGG_CK_TEXT,     /* text */
    AGG_CK_MAC,      /* MAC address, 12 uppercase hex digits */
    AGG_CK_UUID,     /* 16 bytes as 8-4-4-4-12 lowercase hex */
    AGG_CK_HEX64,    /* 64-bit id as 16 lowercase hex digits (of_dpid) */
    AGG_CK_DERIVED,  /* computed from other fields of the sample */
};

int agg_metric_kind(unsigned id);         /* enum agg_ckind; AGG_CK_SKIP out of range */
int agg_metric_width(unsigned id);        /* counters: 32 or 64 (bits on the wire); else 0 */
const char *agg_metric_name(unsigned id); /* NULL out of range or SKIP */
/* Id of a metric name (n bytes, borrowed), or -1 when it names no metric. */
int agg_metric_lookup(const char *name, size_t n);
/* Is the metric shown as a string? */
int agg_metric_is_text(unsigned id);
/* The string of enum metric id for value v: a static name, or v in
 * decimal written into buf (cap >= 24). */
const char *agg_metric_enum_text(unsigned id, double v, char *buf, size_t cap);
/* The text of field f (borrowed) shown as kind (TEXT, MAC, UUID, HEX64)
 * into buf (cap bytes, NUL-terminated): valid UTF-8 is kept, other bytes
 * and control characters become '?'. 1, or 0 when f is not such a value. */
int agg_metric_text_of(const sfa_field *f, int kind, char *buf, size_t cap);

/* ---- per data source state (counters.c) ---- */

typedef struct agg_counters agg_counters;

typedef struct agg_counters_stats {
    uint64_t samples;         /* counter samples handled */
    uint64_t sources_full;    /* samples dropped: source registry full */
    uint64_t restarts;        /* agent restarts seen (sequence or uptime went back) */
    uint64_t resets;          /* counters that went back by more than a wrap explains */
    uint64_t wraps;           /* counters that wrapped (32 or 64 bits) */
    uint64_t unavailable;     /* counter values that were all ones */
    uint64_t duplicates;      /* samples seen twice (same sequence number and uptime) */
    uint64_t no_time;         /* intervals without a usable time (no rates) */
    uint64_t expired;         /* data sources dropped for silence */
    uint64_t metrics_expired; /* metrics dropped because a source stopped sending them */
    uint64_t sources_purged;  /* data sources dropped with a lost bucket */
} agg_counters_stats;

/* A metric value read from a data source. */
typedef struct agg_cval {
    unsigned metric; /* enum agg_metric_id or field id */
    int is_text;
    double num;       /* when !is_text */
    const char *text; /* when is_text: borrows the state or buf; valid until the next change */
    double updated;   /* when it was last computed, s (monotonic) */
    char buf[48];
} agg_cval;

#define AGG_COUNTERS_MIN_TIMEOUT 60.0 /* s; a source expires after max(3 intervals, this) */

/* Returns new; at most maxsources data sources. */
agg_counters *agg_counters_create(uint32_t maxsources);
void agg_counters_destroy(agg_counters *k); /* NULL is a no-op */

/* Account the counter samples of datagram d (borrowed) handled at now (s).
 * Allocates only when a data source or a metric appears, or a text
 * changes. */
void agg_counters_dgram(agg_counters *k, const sfa_dgram *d, double now);

/* Drop sources silent for max(3 x their interval, AGG_COUNTERS_MIN_TIMEOUT)
 * and metrics a live source stopped sending as long. */
void agg_counters_expire(agg_counters *k, double now);

/* Drop every source of the buckets with lost[b] set. */
void agg_counters_drop_buckets(agg_counters *k, const uint8_t lost[SFA_BUCKETS]);

/* Sources: ids below agg_counters_limit for which agg_counters_source is
 * not NULL (the source's agent and dataSource text; borrowed, valid until
 * the next ingest or expiry). */
uint32_t agg_counters_limit(const agg_counters *k);
const struct agg_ds *agg_counters_source(const agg_counters *k, uint32_t src);
/* Id of the source (agent, class, index) if known: 0, or -ENOENT. */
SFA_MUST_CHECK int agg_counters_find(const agg_counters *k, const sfa_addr *agent,
                                     uint32_t ds_class, uint32_t ds_index, uint32_t *src);

/* The value of metric at source src: 1 and *out, or 0 when it has none. */
int agg_counters_value(const agg_counters *k, uint32_t src, unsigned metric, agg_cval *out);
/* Every metric of a source that has a value: start with *i = 0 and call
 * while this returns 1 (it fills *out and advances *i); 0 at the end. */
int agg_counters_value_at(const agg_counters *k, uint32_t src, size_t *i, agg_cval *out);

void agg_counters_get_stats(const agg_counters *k, agg_counters_stats *st);
/* Add the counter-metric counters (counter_samples, ...) to obj. */
void agg_counters_stats_json(const agg_counters *k, json_t *obj);

/* ---- the metric surveys (respond_metrics.c) ---- */

struct agg_core;

/* If op is metrics, metric, dump, table or metric_agent: answer survey q
 * (borrowed) at now into ans ("result", and "found", "truncated" or
 * "error" where proto/CONTROL.md says) and return 1; else return 0. */
int agg_respond_metric_op(struct agg_core *c, const char *op, const json_t *q, double now,
                          json_t *ans);

#endif
