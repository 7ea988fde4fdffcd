/* evt.h - the events service's private interfaces (never included outside
 * services/events and its tests).
 *
 * sfa-events evaluates thresholds and keeps the event log
 * (proto/CONTROL.md, "Thresholds and events"). One libuv loop:
 *   evt_config.c   the property table
 *   evt_state.c    atomic files in sfa.state (temp, fsync, rename)
 *   evt_ids.c      event ids that never repeat, also across restarts
 *   thresholds.c   threshold specs from defs.v1, validated and compiled
 *   rules.c        the arm/disarm state machine per (threshold, agent,
 *                  data source, flow key); pure, time passed in
 *   metrics_in.c   metrics.v1 bodies -> rules observations
 *   event_log.c    the last events.max events, queried newest first
 *   event_pub.c    every event on events.v1
 *   query.c        answers the gateway's surveys (hello, events, others)
 *   events.c       assembles the service: bus endpoints, timers, signals
 * Everything runs on the loop thread.
 */
#ifndef EVT_H
#define EVT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include <sfa/bus.h>
#include <sfa/codec.h>
#include <sfa/config.h>
#include <sfa/err.h>
#include <sfa/survey.h>

#define EVT_TOPIC_DEFS "defs.v1"
#define EVT_TOPIC_METRICS "metrics.v1"
#define EVT_TOPIC_EVENTS "events.v1"

/* ---- configuration (evt_config.c) ---- */

typedef struct evt_config {
    char *bus_defs;    /* defs.v1 publisher (the gateway), dialled */
    char *bus_metrics; /* metrics.v1 subscriber, listens (aggregators dial in) */
    char *bus_events;  /* events.v1 publisher, listens */
    char *bus_query;   /* the gateway's surveyor, dialled as a respondent */
    long events_max;   /* events kept in the log */
    long interval_ms;  /* events.interval: the aggregators' metrics.v1 period */
    char *state_dir;   /* sfa.state: id high-water mark, threshold cache */
    char *id;          /* events.id: our name in envelopes and answers */
    char *log_level;
    int log_level_num;
} evt_config;

extern const sfa_cfg_opt evt_config_table[];

/* Load every source (sfa/config.h) and resolve process-dependent defaults
 * (uid in bus URLs, $STATE_DIRECTORY). 0; SFA_EEXIT after --help or
 * --dump-config; SFA_ECONFIG after logging. Free with evt_config_free. */
SFA_MUST_CHECK int evt_config_load(evt_config *cfg, int argc, char **argv);
void evt_config_free(evt_config *cfg);

/* ---- durable files (evt_state.c) ---- */

/* Write value (borrowed) as JSON to dir/name atomically: dir/name.tmp,
 * fsync, rename over dir/name, fsync dir. dir is created if missing.
 * 0 or -errno (the old file is then intact). */
SFA_MUST_CHECK int evt_state_write(const char *dir, const char *name, const json_t *value);

/* Read dir/name as JSON. *out is new on success. -ENOENT when absent,
 * SFA_EFORMAT when not valid JSON, other -errno when unreadable. */
SFA_MUST_CHECK int evt_state_read(const char *dir, const char *name, json_t **out);

/* ---- event ids (evt_ids.c) ---- */

#define EVT_IDS_FILE "events-ids.json"
#define EVT_IDS_BLOCK 1000

typedef struct evt_ids evt_ids;

/* Open the id allocator persisted in dir/EVT_IDS_FILE ({"reserved": N}:
 * every id below N may have been handed out). The first id given is
 * max(1, N); ids are reserved block at a time, the file always written
 * before an id of the new block is handed out, so no crash can make an
 * id repeat. 0; -errno or SFA_EFORMAT (unreadable or corrupt file: the
 * service must refuse to start rather than risk reusing ids); or the
 * first reservation's -errno (state dir not writable). */
SFA_MUST_CHECK int evt_ids_open(evt_ids **out, const char *dir, uint64_t block);

/* The next id, strictly greater than every id this or an earlier process
 * handed out. 0, or -errno when a new block could not be persisted (no id
 * is handed out then; a later call tries again). */
SFA_MUST_CHECK int evt_ids_next(evt_ids *ids, uint64_t *id);

/* The last id handed out by this process (0 if none). */
uint64_t evt_ids_last(const evt_ids *ids);
/* The reservation limit now persisted. */
uint64_t evt_ids_reserved(const evt_ids *ids);
/* Free without writing anything (so "close" and "crash" look the same
 * to the next open; unused ids of the block are simply skipped). */
void evt_ids_close(evt_ids *ids);

/* ---- thresholds (thresholds.c) ---- */

#define EVT_NAME_MAX 128       /* longest threshold or metric name, bytes */
#define EVT_TIMEOUT_DEFAULT 60 /* seconds; sFlow-RT leaves it unconfirmed */

enum evt_filter_attr {
    EVT_FILTER_AGENT = 1, /* "agent": the agent address as text */
    EVT_FILTER_DS,        /* "dataSource" or "ifindex": the data source */
};

typedef struct evt_filter_term {
    int attr;      /* enum evt_filter_attr */
    char **values; /* allowed values, owned */
    size_t nvalues;
} evt_filter_term;

/* One compiled threshold. Plain data; owned by its evt_thresholds set. */
typedef struct evt_threshold {
    char *name;   /* the thresholdID */
    char *metric; /* flow definition or counter metric name */
    double value; /* fires when the metric is strictly greater */
    int by_flow;
    uint64_t timeout_ms;
    evt_filter_term *terms; /* all must match (each: one of its values) */
    size_t nterms;
    uint64_t uid; /* unique per compilation: a changed spec gets a new uid */
    json_t *spec; /* the spec as received (owned) */
} evt_threshold;

typedef struct evt_thresholds evt_thresholds;

/* Validate and compile one spec (borrowed). *out is new (free with
 * evt_threshold_free). SFA_EFORMAT with a message in err otherwise:
 * missing or non-string metric, non-numeric value, bad byFlow/timeout,
 * a filter that is not {attr: [values]} or names an attribute other than
 * agent, dataSource, ifindex. */
SFA_MUST_CHECK int evt_threshold_compile(const char *name, const json_t *spec, evt_threshold **out,
                                         char *err, size_t errcap);
void evt_threshold_free(evt_threshold *t);

/* Does the data source (agent, ds) pass t's filter? */
int evt_threshold_matches(const evt_threshold *t, const char *agent, const char *ds);

evt_thresholds *evt_thresholds_create(void);
void evt_thresholds_destroy(evt_thresholds *s);

/* Replace the set with specs ({name: spec}, borrowed; NULL = empty).
 * Unchanged specs keep their compiled object (and uid); invalid ones are
 * skipped, logged once per change and counted in *bad. Returns 1 if the
 * set changed, 0 if specs equal the current ones. */
int evt_thresholds_update(evt_thresholds *s, const json_t *specs, size_t *bad);

/* The threshold called name, or NULL. Borrowed until the next update. */
const evt_threshold *evt_thresholds_get(const evt_thresholds *s, const char *name);
size_t evt_thresholds_count(const evt_thresholds *s);
/* The thresholds on metric: *n entries starting at the returned pointer
 * (borrowed until the next update; NULL when none). */
const evt_threshold *const *evt_thresholds_for_metric(const evt_thresholds *s, const char *metric,
                                                      size_t *n);
/* The valid specs as {name: spec} (borrowed). */
const json_t *evt_thresholds_specs(const evt_thresholds *s);

/* ---- evaluation (rules.c) ---- */

/* One flow of a data source's top list. Strings and values borrow the
 * caller's data for the duration of the call. */
typedef struct evt_topkey {
    const char *key;
    double value;
    const json_t *values; /* the flow's values array, or NULL */
} evt_topkey;

/* What fired; everything borrowed for the duration of the callback. */
typedef struct evt_fire {
    const evt_threshold *thr;
    const char *agent;
    const char *ds;
    const char *flow_key; /* NULL for counter metrics */
    double value;
    const json_t *values; /* NULL when the flow has none */
} evt_fire;

typedef void (*evt_fire_cb)(const evt_fire *f, void *arg);

typedef struct evt_rules_stats {
    uint64_t observations; /* (threshold, data source[, key]) values evaluated */
    uint64_t fired;
    uint64_t rearmed;
    uint64_t states; /* disarmed (threshold, agent, ds, key) now */
    uint64_t stale;  /* data sources re-armed because no report came */
} evt_rules_stats;

typedef struct evt_rules evt_rules;

/* Create the evaluator over set (borrowed; must outlive it). cb/arg are
 * borrowed. stale_ms: a data source nobody has reported for this long
 * counts as at or below every threshold (evt_rules_sweep). */
evt_rules *evt_rules_create(const evt_thresholds *set, uint64_t stale_ms, evt_fire_cb cb,
                            void *arg);
void evt_rules_destroy(evt_rules *r);

/* After evt_thresholds_update: forget the state of thresholds that were
 * removed or changed (a changed threshold starts armed). */
void evt_rules_rebind(evt_rules *r);

/* A report (one metrics.v1 message) from aggregator src at now_ms
 * (monotonic). Between begin and end, feed every data source of it. At
 * end, data sources this src reported before but not now count as at or
 * below (the aggregator omits data sources it no longer sees). */
void evt_rules_begin(evt_rules *r, const char *src, uint64_t now_ms);
/* A flow metric of one data source: value is its smoothed value (the
 * largest flow), top its largest flows, descending (ntop may be 0). With
 * byFlow each key is evaluated on its own and keys missing from top count
 * as at or below; without, the data source is one state whose event
 * names the top key. */
void evt_rules_flow(evt_rules *r, const char *agent, const char *ds, const char *name, double value,
                    const evt_topkey *top, size_t ntop);
/* A counter metric of one data source. */
void evt_rules_counter(evt_rules *r, const char *agent, const char *ds, const char *name,
                       double value);
void evt_rules_end(evt_rules *r);

/* Treat data sources not reported for stale_ms as at or below (an
 * aggregator that stopped); run about every second. */
void evt_rules_sweep(evt_rules *r, uint64_t now_ms);

/* Is (threshold, agent, ds, key) disarmed now (fired, not yet re-armed)?
 * key is "" for counters and non-byFlow thresholds. */
int evt_rules_triggered(const evt_rules *r, const char *thr, const char *agent, const char *ds,
                        const char *key);

void evt_rules_get_stats(const evt_rules *r, evt_rules_stats *st);

/* ---- metrics.v1 input (metrics_in.c) ---- */

typedef struct evt_metrics_stats {
    uint64_t reports;     /* bodies applied */
    uint64_t bad_reports; /* bodies that were not a map with an id */
    uint64_t entries;     /* flow and counter entries applied */
    uint64_t bad_entries; /* entries skipped: missing agent, ds, name or value */
} evt_metrics_stats;

/* Apply one metrics.v1 body (borrowed) to r at now_ms. 0, or SFA_EFORMAT
 * for a body that is not {"id": str, ...} (nothing applied). Bad entries
 * are skipped and counted. */
SFA_MUST_CHECK int evt_metrics_apply(evt_rules *r, const json_t *body, uint64_t now_ms,
                                     evt_metrics_stats *st);

/* ---- the event log (event_log.c) ---- */

typedef struct evt_log evt_log;

/* A ring of the last max events (max >= 1). Returns new. */
evt_log *evt_log_create(size_t max);
void evt_log_destroy(evt_log *l);

/* Append ev (taken): an event object with integer "eventID" (greater than
 * every id already in the log) and string "thresholdID". The oldest event
 * is dropped when full. */
void evt_log_append(evt_log *l, json_t *ev);

/* Events with eventID > after (after < 0: all), of thresholdID thr (NULL:
 * any), newest first, at most max (max < 0: no limit). Returns a new
 * array whose elements are shared with the log (do not modify them). */
json_t *evt_log_query(const evt_log *l, int64_t after, long max, const char *thr);

size_t evt_log_count(const evt_log *l);
/* Newest eventID in the log, or 0 when empty. */
uint64_t evt_log_last_id(const evt_log *l);

/* ---- events.v1 publisher (event_pub.c) ---- */

typedef struct evt_pub evt_pub;

/* Listen on url and publish events from src (borrowed, copied). */
SFA_MUST_CHECK int evt_pub_open(evt_pub **out, uv_loop_t *loop, const char *url, const char *src);
/* Publish ev (borrowed) as the body of an events.v1 message. 0,
 * SFA_ELIMIT (does not fit in 1 MiB) or SFA_EBUS (counted). */
int evt_pub_event(evt_pub *p, const json_t *ev);
uint64_t evt_pub_count(const evt_pub *p);
void evt_pub_close(evt_pub *p);

/* ---- the service (events.c) and its query answers (query.c) ---- */

typedef struct evt_stats {
    uint64_t defs_msgs;      /* defs.v1 messages received */
    uint64_t defs_bad;       /* ... that did not decode */
    uint64_t thresholds_bad; /* invalid threshold specs in the current defs */
    uint64_t metrics_msgs;   /* metrics.v1 messages received */
    uint64_t metrics_bad;    /* ... that did not decode */
    uint64_t metrics_gaps;   /* metrics.v1 messages lost (sequence gaps) */
    uint64_t events;         /* events recorded */
    uint64_t events_lost;    /* fired but not recorded: no id could be reserved */
    uint64_t cache_errors;   /* threshold cache writes that failed */
    uint64_t surveys;        /* surveys answered */
} evt_stats;

typedef struct evt_ctx {
    const evt_config *cfg; /* borrowed */
    uv_loop_t *loop;
    evt_ids *ids;
    evt_log *log;
    evt_thresholds *thr;
    evt_rules *rules;
    evt_pub *pub;
    sfa_bus *defs_sub;
    sfa_bus *metrics_sub;
    sfa_responder *resp;
    sfa_seqtrack *seq;
    evt_metrics_stats mst;
    evt_stats st;
    uv_timer_t sweep;
    uv_signal_t sigint, sigterm;
    int handles_open;
    int stopping;
} evt_ctx;

/* Build the service on loop from cfg (borrowed; must outlive it): load
 * the id mark and the threshold cache, open the bus endpoints. 0, or a
 * negative code after logging (SFA_ECONFIG / SFA_EFORMAT / -errno for the
 * state dir, SFA_EBUS for the bus); whatever was opened is closed again
 * and the loop only has close callbacks left to run. */
SFA_MUST_CHECK int evt_start(evt_ctx *e, uv_loop_t *loop, const evt_config *cfg);
/* Begin a clean stop (what SIGINT/SIGTERM do); uv_run then returns. */
void evt_stop(evt_ctx *e);
/* After uv_run returned: free what outlives the loop. */
void evt_finish(evt_ctx *e);

/* Record a fired threshold: take an id, build the event, log and publish
 * it. Returns the event id, or 0 when no id could be reserved (counted). */
uint64_t evt_record(evt_ctx *e, const evt_fire *f);

/* The event object for f with id and wall-clock ts_ms. Returns new. */
json_t *evt_event_json(const evt_fire *f, uint64_t id, uint64_t ts_ms);

/* Answer one survey body (borrowed) from e's state. Returns the answer
 * body (new): {"op": op, "id": events.id, "result": ...}; hello carries
 * "role": "events", "lastEventID" and "stats" instead of a result. A body
 * without a string "op" gets op "" and an empty result (every survey is
 * answered, so the gateway never waits for us). */
json_t *evt_query_answer(evt_ctx *e, const json_t *body);

/* The service's counters as a JSON object (returns new). */
json_t *evt_stats_json(const evt_ctx *e);

#endif
