/* agg.h - the aggregator's private interfaces (never included outside
 * services/aggregator and its tests).
 *
 * sfa-aggregator reads flow samples of the agent buckets it owns from the
 * collectors' sample bus, evaluates every flow definition on them and keeps
 * per (definition, data source) tables of smoothed per-second values, which
 * the gateway queries by survey. Pieces:
 *   agg_config.c  properties table
 *   window.c      the smoothing (forward exponential decay, see proto/FLOWS.md)
 *   flow_table.c  one definition's keys: hash, values, top-n, cap, expiry
 *                 (flow_table_read.c reads them; layout in flow_table_int.h)
 *   datasource.c  registry of data sources (agent + source id) -> small ids
 *   defs.c        defs.v1: compile definitions, swap the set by version
 *   assign.c      bucket ownership (sfa/shard.h), lane sockets, subscriptions
 *   ingest.c      bus message -> datagrams -> samples -> table updates
 *   respond.c     answers to hello, activeflows, flowkeys, stats surveys
 *   aggregator.c  the service: loop, sockets, timers, signals
 *   counters.h    counter metrics (ctr_catalog.c, counters.c) and the metric
 *                 surveys (respond_metrics.c), see proto/METRICS.md
 * Everything runs on one libuv loop thread; nothing here is thread-safe.
 * Times are seconds of the monotonic clock as doubles (sfa_clock_us / 1e6),
 * taken when a bus message is handled.
 */
#ifndef AGG_H
#define AGG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include <sfa/bus.h>
#include <sfa/codec.h>
#include <sfa/config.h>
#include <sfa/err.h>
#include <sfa/flowdef.h>
#include <sfa/groups.h>
#include <sfa/sflow.h>
#include <sfa/survey.h>

/* ---- configuration (agg_config.c) ---- */

typedef struct agg_config {
    char *bus_collectors;  /* comma list of collector sample base URLs */
    long bus_lanes;        /* lanes per collector (bucket b on lane b % lanes) */
    long bus_rcvbuf;       /* subscriber queue depth per lane socket, messages */
    char *bus_defs;        /* gateway's defs.v1 publisher (dialled) */
    char *bus_query;       /* gateway's surveyor (dialled) */
    char *aggregator_id;   /* our member name; default hostname:pid */
    long maxkeys;          /* tracked keys per definition, cap */
    long maxsources;       /* tracked data sources, cap */
    double sweep_interval; /* s between expiry sweeps */
    char *bus_metrics;     /* the events service's metrics.v1 subscriber (dialled) */
    char *bus_flowlog;     /* the gateway's flowlog.v1 subscriber (dialled) */
    long events_interval;  /* ms between metrics.v1 reports */
    char *log_level;
    int log_level_num;
} agg_config;

extern const sfa_cfg_opt agg_config_table[];

/* Load every source (sfa/config.h) and resolve process-dependent defaults.
 * 0; SFA_EEXIT after --help/--dump-config; SFA_ECONFIG after logging. */
SFA_MUST_CHECK int agg_config_load(agg_config *cfg, int argc, char **argv);
void agg_config_free(agg_config *cfg);

/* ---- smoothing (window.c) ---- */

/* Forward exponential decay with time constant tau. A contribution x at
 * time s is stored as x * exp((s - t0) / tau) / tau in a running sum u;
 * the smoothed rate at time now is u * exp(-(now - t0) / tau). Sums of one
 * window share t0, so they compare without decaying each one. */
typedef struct agg_window {
    double tau;    /* time constant, s (> 0) */
    double t0;     /* reference time of the sums, s */
    double now;    /* time of the cached factors */
    double grow;   /* exp((now - t0) / tau) */
    double shrink; /* exp(-(now - t0) / tau) */
} agg_window;

#define AGG_WINDOW_REBASE 200.0 /* rebase once (now - t0) / tau exceeds this */

void agg_window_init(agg_window *w, double tau, double now);
/* Move the cached factors to now (no-op when unchanged). Returns 1 when a
 * rebase is due: the caller must then call agg_window_rebase and scale
 * every sum by its result before adding to them. */
int agg_window_at(agg_window *w, double now);
/* Make now the reference time; returns the factor (<= 1, maybe 0) by which
 * every stored sum must be multiplied. */
double agg_window_rebase(agg_window *w);
/* Weight of a rate contribution at the cached time: grow / tau. */
static inline double
agg_window_rate_weight(const agg_window *w)
{
    return w->grow / w->tau;
}
/* Sum u read at the cached time. */
static inline double
agg_window_read(const agg_window *w, double u)
{
    return u * w->shrink;
}
/* Epoch number of time s: floor(s / tau) (min/max/count columns). */
int64_t agg_window_epoch(const agg_window *w, double s);
/* Linear-counting estimate of distinct values from a 64-bit occupancy map. */
double agg_window_distinct(uint64_t bits);

/* ---- data sources (datasource.c) ---- */

typedef struct agg_ds {
    sfa_addr agent;
    uint32_t ds_class, ds_index;
    uint8_t bucket; /* sfa_bucket_of(agent) */
    uint8_t used;
    char agent_txt[48]; /* address text, as on the bus */
    char ds_txt[24];    /* sFlow-RT's dataSource: "<index>" or "<class>.<index>" */
} agg_ds;

typedef struct agg_dsreg agg_dsreg;

/* Returns new; at most max data sources (ids 0..max-1). */
agg_dsreg *agg_dsreg_create(uint32_t max);
void agg_dsreg_destroy(agg_dsreg *r);
/* Id of (agent, class, index), registering it if new. 0, or SFA_ELIMIT
 * when max sources are registered. No allocation once warmed up. */
SFA_MUST_CHECK int agg_dsreg_id(agg_dsreg *r, const sfa_addr *agent, uint32_t ds_class,
                                uint32_t ds_index, uint32_t *id);
/* The source of a live id, or NULL (borrowed; valid until the next
 * agg_dsreg_id or release). */
const agg_ds *agg_dsreg_get(const agg_dsreg *r, uint32_t id);
/* Id of (agent, class, index) if registered, without registering it:
 * 0, or -ENOENT. */
SFA_MUST_CHECK int agg_dsreg_find(const agg_dsreg *r, const sfa_addr *agent, uint32_t ds_class,
                                  uint32_t ds_index, uint32_t *id);
/* Forget id (its number is reused later). */
void agg_dsreg_release(agg_dsreg *r, uint32_t id);
uint32_t agg_dsreg_count(const agg_dsreg *r);
uint32_t agg_dsreg_limit(const agg_dsreg *r); /* 1 + highest id ever given */
size_t agg_dsreg_bytes(const agg_dsreg *r);

/* ---- one definition's flow table (flow_table.c, flow_table_read.c) ---- */

typedef struct agg_table agg_table;

#define AGG_EXPIRE_TAUS 10.0 /* a key unseen for 10 t has decayed below e^-10 */

typedef struct agg_table_stats {
    uint64_t keys;      /* tracked now */
    uint64_t inserts;   /* keys created */
    uint64_t evictions; /* keys dropped for the cap (smallest decayed value first) */
    uint64_t expired;   /* keys dropped because their value became negligible */
    uint64_t too_long;  /* samples whose key exceeded the key store */
    uint64_t bytes;     /* memory held by the table */
} agg_table_stats;

/* One flow as read from a table: borrowed key, values read at now. */
typedef struct agg_flow {
    const char *key; /* borrows the table; NUL-terminated */
    size_t keylen;
    uint32_t ds;
    double value;                          /* column 0 */
    double values[SFA_FLOWDEF_MAX_VALUES]; /* every column, values[0] == value */
    int nvalues;
    double last; /* time of the last update, s */
} agg_flow;

/* Create the table of fd (borrowed: n, t, value kinds are read now) with a
 * cap of maxkeys keys, its window starting at now. Returns new. */
agg_table *agg_table_create(const sfa_flowdef *fd, size_t maxkeys, double now);
void agg_table_destroy(agg_table *t);
/* Set the table's clock (call once per bus message before adding, and
 * before reading); rebases when due. */
void agg_table_at(agg_table *t, double now);
/* Account one evaluated sample: key (keylen bytes) and per-column values
 * vals (as sfa_flowdef_eval wrote them) at data source ds, at the time of
 * the last agg_table_at. Allocation-free except when the table grows. */
void agg_table_add(agg_table *t, uint32_t ds, const char *key, size_t keylen, const double *vals);
/* The same in two steps, so that the memory a key needs can be fetched
 * while other work is done: agg_table_hash hashes (ds, key) and prefetches
 * its index slot; agg_table_prefetch (optional, later) prefetches the entry
 * the slot points to; agg_table_add_hashed then adds with that hash. */
uint32_t agg_table_hash(const agg_table *t, uint32_t ds, const char *key, size_t keylen);
void agg_table_prefetch(const agg_table *t, uint32_t hash);
void agg_table_add_hashed(agg_table *t, uint32_t ds, const char *key, size_t keylen, uint32_t hash,
                          const double *vals);
/* Drop keys unseen for AGG_EXPIRE_TAUS time constants; rebase. */
void agg_table_sweep(agg_table *t, double now);
/* Drop every key of the data sources for which dead(ds, arg) is true. */
void agg_table_purge(agg_table *t, int (*dead)(uint32_t ds, void *arg), void *arg);
/* Call cb for every tracked key, read at now; stops when cb returns nonzero. */
void agg_table_each(agg_table *t, double now, int (*cb)(const agg_flow *f, void *arg), void *arg);
/* The data source's smoothed total of column 0 over every key (the flow name
 * as a metric); for a column that is not a sum, the rate of matching samples. */
double agg_table_total(agg_table *t, uint32_t ds, double now);
/* Data sources with state in the table are ids below agg_table_ds_limit
 * for which agg_table_ds_active is true (a walk for per-source metrics). */
uint32_t agg_table_ds_limit(const agg_table *t);
int agg_table_ds_active(const agg_table *t, uint32_t ds);
/* Time of the data source's last sample in the table (s), or 0 when it has
 * no state (the flow name's lastUpdate as a metric). */
double agg_table_ds_last(const agg_table *t, uint32_t ds);
/* Up to cap of the data source's top-n keys (its topKeys), by decayed
 * column-0 rank, largest first. Returns how many were written. */
size_t agg_table_topkeys(agg_table *t, uint32_t ds, double now, agg_flow *out, size_t cap);
void agg_table_get_stats(const agg_table *t, agg_table_stats *st);
int agg_table_nvalues(const agg_table *t);

/* ---- the aggregator's state (shared by ingest, defs, assign, respond) ---- */

typedef struct agg_def {
    char *name;
    json_t *spec; /* as published (owned reference) */
    sfa_flowdef *fd;
    agg_table *table;
    struct agg_flowlog_def *log; /* log:true definitions (flow_log.h), else NULL */
} agg_def;

typedef struct agg_stats {
    uint64_t bus_msgs; /* sample messages received */
    uint64_t bus_bytes;
    uint64_t bus_gaps;     /* messages lost (sequence gaps) */
    uint64_t bus_bad;      /* messages that did not parse */
    uint64_t bus_unowned;  /* messages of buckets we no longer own */
    uint64_t counter_msgs; /* counter messages (handled from issue 5 on) */
    uint64_t dgrams_in;
    uint64_t samples_in;      /* flow and discard samples */
    uint64_t flows_generated; /* (sample, definition) matches added to a table */
    uint64_t flows_lost;      /* matches dropped: source cap or over-long key */
    uint64_t sources_full;    /* samples dropped because the source registry was full */
    uint64_t defs_msgs;       /* defs.v1 messages received */
    uint64_t defs_applied;    /* ... that changed the definitions or members */
    uint64_t defs_errors;     /* definitions that did not compile, bad messages */
    uint64_t rebalances;      /* bucket ownership changes */
    uint64_t buckets_gained, buckets_lost;
    uint64_t sources_purged; /* data sources dropped with a lost bucket */
    uint64_t surveys;        /* surveys answered */
    /* Counters of definitions already removed, so totals never go back. */
    uint64_t old_evictions, old_expired, old_inserts;
} agg_stats;

/* Table updates of one datagram, gathered so that their memory is
 * prefetched before they are applied (ingest.c). */
#define AGG_PENDING_MAX 256
#define AGG_PENDING_ARENA (64 * 1024)

typedef struct agg_pending {
    agg_table *table;
    uint32_t ds, hash;
    uint32_t key_off, keylen; /* in agg_batch.arena */
    double vals[SFA_FLOWDEF_MAX_VALUES];
} agg_pending;

typedef struct agg_batch {
    size_t n, used;
    agg_pending p[AGG_PENDING_MAX];
    char arena[AGG_PENDING_ARENA];
} agg_batch;

typedef struct agg_core {
    const agg_config *cfg; /* borrowed */
    char *id;
    double start; /* s, monotonic */
    /* definitions (defs.c) */
    int have_defs;
    uint64_t defs_version;
    agg_def *defs;
    size_t ndefs;
    sfa_tables *tabs;
    json_t *groups, *maps; /* as published, to detect changes */
    json_t *members;       /* sorted ids from defs.v1 */
    /* ownership (assign.c) */
    uint8_t owned[SFA_BUCKETS];
    unsigned nowned;
    /* ingest */
    agg_dsreg *dsreg;
    sfa_seqtrack *seq;
    sfa_dgram *scratch;
    sfa_fieldidx *fidx; /* the fields of the sample being evaluated, by id */
    agg_batch *batch;
    double field_seen[SFA_F__COUNT]; /* last time each field appeared in a flow sample */
    double flow_seen;                /* last flow sample (metadata keys) */
    struct agg_counters *counters;   /* counter metrics (counters.h) */
    struct agg_flowlog *flowlog;     /* logged flows publisher (flow_log.h), or NULL */
    agg_stats st;
} agg_core;

/* Set up / tear down the state (cfg borrowed; must outlive c). */
void agg_core_init(agg_core *c, const agg_config *cfg, double now);
void agg_core_fini(agg_core *c);
/* Totals over the tables (keys tracked, evictions, ...). */
void agg_core_table_totals(const agg_core *c, agg_table_stats *sum);
/* Drop everything learnt from the buckets with lost[b] set. */
void agg_core_drop_buckets(agg_core *c, const uint8_t lost[SFA_BUCKETS]);

/* ---- definitions (defs.c) ---- */

/* Apply one defs.v1 body (borrowed) at time now. Returns 1 when the
 * member list changed (or this was the first), 0 when it did not, or
 * SFA_EFORMAT for a body without a version (counted). */
SFA_MUST_CHECK int agg_defs_apply(agg_core *c, const json_t *body, double now);
/* Release every definition. */
void agg_defs_clear(agg_core *c);
/* The definition called name, or NULL. */
agg_def *agg_defs_find(const agg_core *c, const char *name);

/* ---- ingest (ingest.c) ---- */

/* Handle one sample bus message (borrowed) received at now. Never
 * allocates once the tables are warm; problems are counted. */
void agg_ingest_msg(agg_core *c, const uint8_t *msg, size_t len, double now);

/* ---- bucket assignment (assign.c) ---- */

typedef struct agg_assign agg_assign;

/* Lanes of every collector in urls (comma list) are dialled on demand;
 * cb/arg (borrowed) receive their messages. Returns new, or NULL after
 * logging a bad URL list. */
agg_assign *agg_assign_create(uv_loop_t *loop, const char *urls, int lanes, int rcvbuf,
                              sfa_bus_recv_cb cb, void *arg);
/* Close every lane socket; freed once the loop has run the closes. */
void agg_assign_destroy(agg_assign *a);
/* Compute the buckets c->id owns from c->members, (un)subscribe and
 * dial/close lanes to match, drop the data of lost buckets and update
 * c->owned. Returns how many buckets changed hands. */
int agg_assign_update(agg_assign *a, agg_core *c);
/* Lane sockets open now. */
int agg_assign_lanes_open(const agg_assign *a);

/* ---- answers (respond.c) ---- */

#define AGG_SUM_CANDIDATES 50000 /* keys one shard returns at most for aggMode sum */

/* The answer body to survey q (borrowed) at now: {"op", "id", ...}.
 * Returns new. */
json_t *agg_respond_answer(agg_core *c, const json_t *q, double now);
/* sfa_respond_cb for the service: arg is the agg_core. */
void agg_respond_on_survey(sfa_responder *r, sfa_respond_req *req, const uint8_t *msg, size_t len,
                           void *arg);
/* The counters as a JSON object (returns new). */
json_t *agg_stats_json(const agg_core *c);

/* ---- metrics.v1 reports (metrics_walk.c over metrics_pub.h) ---- */

struct agg_metrics_pub;

/* Publish one metrics.v1 report of c's tables and counter metrics at now
 * on p: what agg_metrics_pub_tick returns (nothing is sent while no
 * threshold exists). */
int agg_metrics_walk_tick(agg_core *c, struct agg_metrics_pub *p, double now);

/* ---- the service (aggregator.c) ---- */

typedef struct agg_service agg_service;

/* Build the service on loop (cfg borrowed; must outlive it). Returns new;
 * start it with agg_service_start. */
agg_service *agg_service_create(uv_loop_t *loop, const agg_config *cfg);
/* Open the sockets and timers. 0, or SFA_EBUS after logging. */
SFA_MUST_CHECK int agg_service_start(agg_service *s);
/* Close everything; uv_run returns once the closes have run. */
void agg_service_stop(agg_service *s);
/* After uv_run returned: free the rest. NULL is a no-op. */
void agg_service_destroy(agg_service *s);

/* Seconds of the monotonic clock. */
double agg_now(void);

#endif
