/* gw.h - the gateway's private interfaces (never included outside
 * services/gateway and its tests).
 *
 * The gateway is one libuv loop: an HTTP server (http.c, the only file
 * that sees h2o) with one route table per resource family (route_*.c); the
 * definition store (state.c) that persists flows, groups and maps and is
 * published to the aggregators (defs_pub.c); aggregator membership from
 * hello surveys (members.c); scatter/gather queries through the common
 * surveyor (sfa/survey.h) merged by query_merge.c; and the collectors'
 * stats.v1/agents.v1 (collectors.c). Everything runs on the loop thread.
 */
#ifndef GW_H
#define GW_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include <sfa/config.h>
#include <sfa/err.h>
#include <sfa/survey.h>

/* ---- configuration (gw_config.c) ---- */

typedef struct gw_config {
    long http_port;        /* TCP port; 0 = any free port (tests) */
    char *http_hostname;   /* bind address; "" = all (dual-stack [::], else 0.0.0.0) */
    int http_readonly;     /* refuse writes with 403 */
    int http_log;          /* one log line per request */
    char *state_dir;       /* sfa.state: where definitions.json lives */
    char *bus_defs;        /* defs.v1 publisher URL (listens) */
    char *bus_query;       /* surveyor URL (listens) */
    char *bus_control;     /* comma list of collector control URLs (dialled) */
    long bus_lanes;        /* sample lanes of the collectors (published in defs.v1) */
    long query_timeout_ms; /* deadline of one scatter/gather query */
    char *bus_events;      /* the events service's events.v1 publisher (dialled) */
    char *bus_flowlog;     /* flowlog.v1 subscriber URL (listens; aggregators dial) */
    long events_max;       /* events kept for /events/json */
    long flows_max;        /* logged flow records kept for /flows/json */
    char *html_dir;        /* http.html.dir: the web pages (route_www.c) */
    char *html_redirect;   /* http.html.redirect: where / sends browsers */
    char *app_dir;         /* script.appdir: dropped-in apps (route_apphtml.c) */

    /* Browse Flows (route_browse.c), sFlow-RT's browse-flows.* properties */
    long browse_max_flows;   /* maxFlows: top flows per chart */
    double browse_min_value; /* minValue */
    char *browse_agg_mode;   /* aggMode: max or sum */
    char *browse_agents;     /* agents: ALL or a list */
    double browse_t;         /* t: smoothing of the hidden flows, s */

    char *prometheus_prefix; /* prometheus.metric.prefix (sflow_) */
    int prometheus_type;     /* prometheus.type: "# TYPE x gauge" lines */
    char *log_level;
    int log_level_num;
} gw_config;

extern const sfa_cfg_opt gw_config_table[];

/* Load every source (see sfa/config.h) and resolve process-dependent
 * defaults (uid in bus URLs, $STATE_DIRECTORY). 0; SFA_EEXIT after
 * --help/--dump-config; SFA_ECONFIG after logging. Free with gw_config_free. */
SFA_MUST_CHECK int gw_config_load(gw_config *cfg, int argc, char **argv);
void gw_config_free(gw_config *cfg);

/* ---- pure request helpers (route_match.c) ---- */

#define GW_MAX_PARAMS 4
#define GW_PARAM_MAX 256 /* longest decoded path parameter, bytes with NUL */
#define GW_NAME_MAX 64   /* longest flow, group or map name */

typedef struct gw_match {
    int n;
    const char *name[GW_MAX_PARAMS]; /* borrows the pattern; name_len bytes */
    size_t name_len[GW_MAX_PARAMS];
    char value[GW_MAX_PARAMS][GW_PARAM_MAX]; /* percent-decoded, NUL-terminated */
    int bad; /* a segment was over-long, badly escaped or held a NUL */
} gw_match;

/* Match path (no query string; len bytes) against pattern ("/flow/{name}/json":
 * literal segments compare exactly, {x} takes one segment, possibly empty; a
 * last segment "*" takes the rest of the path at any depth, possibly empty,
 * so "/a/" followed by "*" matches "/a/", "/a/b" and "/a/b/c").
 * Returns 1 and fills m on a match (check m->bad), 0 otherwise. */
int gw_route_match(const char *pattern, const char *path, size_t len, gw_match *m);

/* The value of parameter name in m, or NULL. Borrows m. */
const char *gw_match_get(const gw_match *m, const char *name);

/* Percent-decode in[0..len) into out (cap bytes, NUL added). plus_space
 * turns '+' into ' ' (query strings). 0, or SFA_EFORMAT (bad escape, NUL
 * byte) / SFA_ELIMIT (does not fit). */
SFA_MUST_CHECK int gw_url_decode(const char *in, size_t len, char *out, size_t cap, int plus_space);

/* Find the idx-th occurrence (0-based) of key in query string qs (len
 * bytes, without '?'), decoded into out. 1 found, 0 absent, or
 * SFA_EFORMAT / SFA_ELIMIT for a bad or over-long value. */
SFA_MUST_CHECK int gw_query_get(const char *qs, size_t len, const char *key, int idx, char *out,
                                size_t cap);

/* Is s a valid object name: [A-Za-z0-9_.-]{1,64}, not "." or ".."? */
int gw_name_valid(const char *s);

/* ---- HTTP server (http.c) ---- */

typedef struct gw_http gw_http;
typedef struct gw_req gw_req;   /* one request, valid until it is answered */
typedef struct gw_hold gw_hold; /* a request answered later */

enum gw_method {
    GW_GET = 1,
    GW_PUT = 2,
    GW_DELETE = 4,
    GW_POST = 8,
    GW_HEAD = 16,
    GW_OTHER = 32,
};

enum { GW_DONE = 0, GW_PENDING = 1 };

/* A handler answers r (gw_reply_*) and returns GW_DONE, or takes a hold
 * (gw_req_hold) and returns GW_PENDING. */
typedef int (*gw_handler)(gw_req *r, void *arg);

typedef struct gw_route {
    int methods;         /* GW_GET | GW_PUT ... */
    const char *pattern; /* see gw_route_match */
    gw_handler fn;
} gw_route;

typedef struct gw_http_stats {
    uint64_t conns_total;
    uint64_t conns_current;
    uint64_t requests;
    uint64_t responses;
    uint64_t bytes_in;  /* request lines, header values and bodies (approximate) */
    uint64_t bytes_out; /* response bodies */
    uint64_t status_2xx, status_4xx, status_5xx;
    uint64_t pending;   /* requests waiting for a bus answer now */
    uint64_t abandoned; /* clients gone before their answer */
} gw_http_stats;

typedef struct gw_http_opts {
    const char *host; /* "" or NULL = all addresses */
    int port;         /* 0 = ephemeral */
    int readonly;
    int log;
    size_t body_max; /* larger bodies get 413 */
} gw_http_opts;

/* Listen and serve on loop. Logs "Listening, HTTP port N". 0, or -errno
 * (logged; *out untouched and everything is released once the loop runs). */
SFA_MUST_CHECK int gw_http_open(gw_http **out, uv_loop_t *loop, const gw_http_opts *opts);
/* Add routes (borrowed static table ending with a NULL pattern); arg is
 * passed to each handler. Earlier tables win. */
void gw_http_add_routes(gw_http *h, const gw_route *routes, void *arg);
int gw_http_port(const gw_http *h);
void gw_http_get_stats(const gw_http *h, gw_http_stats *st);
/* Connections open now. */
size_t gw_http_conns(const gw_http *h);
/* Stop accepting and end input on every open connection, so h2o closes
 * each once it has written what it was writing. */
void gw_http_shutdown(gw_http *h);
/* Once gw_http_conns is 0: dispose h2o's context (closes its handles).
 * With connections still open it only logs (h2o still needs the context). */
void gw_http_close(gw_http *h);
/* After the loop has stopped: free the memory. NULL is a no-op; a server
 * whose context could not be disposed is left to process exit. */
void gw_http_free(gw_http *h);

int gw_req_method(const gw_req *r);
/* Path parameter of the matched route ({name}), decoded; NULL if absent. */
const char *gw_req_param(const gw_req *r, const char *name);
/* Query parameter (see gw_query_get). */
SFA_MUST_CHECK int gw_req_query(const gw_req *r, const char *key, int idx, char *out, size_t cap);
/* The request body (may be empty). Borrows r. */
const char *gw_req_body(const gw_req *r, size_t *len);
/* The raw query string without '?' (len bytes, may be 0). Borrows r. */
const char *gw_req_query_string(const gw_req *r, size_t *len);

/* Answers. Each ends the handler's work on r. */
void gw_reply_json(gw_req *r, int status, json_t *body);     /* takes body */
void gw_reply_text(gw_req *r, int status, const char *text); /* text/plain */
void gw_reply_empty(gw_req *r, int status);                  /* e.g. 204 */
#define GW_CTYPE_HTML "text/html; charset=utf-8"
/* Any body (copied) with content type ctype (borrowed). An error status
 * with GW_CTYPE_HTML passes the JSON error rewrite (HTML error pages). */
void gw_reply_body(gw_req *r, int status, const char *ctype, const char *body, size_t len);
/* A redirect (302) to url (borrowed, may be relative). */
void gw_reply_redirect(gw_req *r, int status, const char *url);
/* Send the regular file at path (borrowed) as ctype (a static string):
 * ETag / If-None-Match (304), HEAD and ranges as h2o does them. 0, or -1
 * when the file cannot be opened (nothing sent: answer r otherwise). */
int gw_reply_file(gw_req *r, const char *path, const char *ctype);
/* The raw request path without the query string (len bytes). Borrows r. */
const char *gw_req_path(const gw_req *r, size_t *len);
/* {"error": status, "message": text} */
void gw_reply_error(gw_req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Keep r for a later answer; the handler then returns GW_PENDING. Returns
 * new; release with exactly one gw_hold_reply_* call, which answers only
 * if the client is still there. */
gw_hold *gw_req_hold(gw_req *r);
int gw_hold_alive(const gw_hold *h);
/* Has the client of an unanswered h closed its connection (end of input
 * or an error on it)? h2o only notices when it writes, so an owner that
 * holds requests for long calls this now and then and answers the gone
 * ones (the answer is dropped; the connection and request are freed). A
 * client that half-closes after its request counts as gone. */
int gw_hold_client_gone(const gw_hold *h);
/* Call gone(arg) (both borrowed) if the client goes away before h is
 * answered: h2o disposes the request. The callback runs inside h2o's
 * disposal; it may answer h (the answer is then dropped) but must not
 * touch the request otherwise. One callback per hold; NULL clears it. */
void gw_hold_on_gone(gw_hold *h, void (*gone)(void *arg), void *arg);
void gw_hold_reply_json(gw_hold *h, int status, json_t *body);     /* takes body */
void gw_hold_reply_text(gw_hold *h, int status, const char *text); /* text/plain, copied */
/* A body already encoded (body and ctype borrowed; the body is copied). */
void gw_hold_reply_body(gw_hold *h, int status, const char *ctype, const char *body, size_t len);
void gw_hold_reply_error(gw_hold *h, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- definition store (state.c) ---- */

enum gw_kind { GW_FLOWS = 0, GW_GROUPS, GW_MAPS, GW_THRESHOLDS, GW_KINDS };

/* Validate spec (borrowed) of kind; on success *view is new: the form GET
 * returns (defaults filled in). SFA_EFORMAT with a message in err otherwise. */
typedef int (*gw_check_fn)(int kind, const json_t *spec, json_t **view, char *err, size_t errcap);

typedef struct gw_state gw_state;

typedef struct gw_state_stats {
    uint64_t writes;       /* state files written */
    uint64_t write_errors; /* writes that failed (the change was refused) */
    uint64_t load_dropped; /* stored definitions that no longer validate */
} gw_state_stats;

/* Open the store in dir (created if missing) and load dir/definitions.json
 * if present; check validates every loaded entry (invalid ones are dropped
 * with a warning). 0, or -errno / SFA_EFORMAT (unreadable or corrupt file,
 * logged: the gateway refuses to start rather than lose definitions). */
SFA_MUST_CHECK int gw_state_open(gw_state **out, const char *dir, gw_check_fn check);
void gw_state_close(gw_state *s);

/* The stored spec (as PUT) or the view (as GET returns it); borrowed, NULL
 * if absent. */
json_t *gw_state_spec(const gw_state *s, int kind, const char *name);
json_t *gw_state_view(const gw_state *s, int kind, const char *name);
/* Every spec / view of kind: {name: ...}; borrowed. */
json_t *gw_state_specs(const gw_state *s, int kind);
json_t *gw_state_views(const gw_state *s, int kind);

/* Validate, store and persist. 0; SFA_EFORMAT with err (bad spec); -errno
 * if the file could not be written (memory unchanged). spec is borrowed. */
SFA_MUST_CHECK int gw_state_put(gw_state *s, int kind, const char *name, const json_t *spec,
                                char *err, size_t errcap);
/* 0, -ENOENT, or -errno (write failed; memory unchanged). */
SFA_MUST_CHECK int gw_state_delete(gw_state *s, int kind, const char *name);
/* Raise the version for a change outside the definitions (membership) and
 * persist it. 0 or -errno (the version is raised in memory either way). */
SFA_MUST_CHECK int gw_state_bump(gw_state *s);
uint64_t gw_state_version(const gw_state *s);
void gw_state_get_stats(const gw_state *s, gw_state_stats *st);

/* ---- query merging (query_merge.c), pure ---- */

typedef struct gw_merge_stats {
    uint64_t bad_entries; /* answer entries without a string key and numeric value */
} gw_merge_stats;

/* The activeflows merge, fed entry by entry (sfa_survey_each_flow reads
 * them straight from the answers): per key the max (agg_sum 0) or the sum
 * of value; agent and dataSource of the largest single contribution;
 * flowN added up; values of the winner (max) or added element-wise (sum).
 * Entries borrow their strings, which must stay valid until the result is
 * built. */
typedef struct gw_flow_merge gw_flow_merge;
gw_flow_merge *gw_flow_merge_new(int agg_sum); /* returns new */
void gw_flow_merge_add(gw_flow_merge *m, const sfa_flow_entry *e);
/* Sorted by value descending (ties by key), entries below min_value
 * dropped, at most max_flows (negative: all). Returns a new array. */
json_t *gw_flow_merge_result(gw_flow_merge *m, long max_flows, double min_value);
void gw_flow_merge_free(gw_flow_merge *m);

/* Merge activeflows results (each a borrowed JSON array of {key, value,
 * agent, dataSource, flowN[, values]}): per key the max (agg_sum 0) or sum
 * of value across results, flowN added up; sorted by value descending
 * (ties by key), entries with value < min_value dropped, at most max_flows
 * kept. Returns a new array. st may be NULL. */
json_t *gw_merge_activeflows(json_t *const *results, size_t n, int agg_sum, long max_flows,
                             double min_value, gw_merge_stats *st);
/* Merge flowkeys results ({key: ms since seen}): per key the smallest.
 * Returns a new object. */
json_t *gw_merge_flowkeys(json_t *const *results, size_t n);
/* Merge agents tables ({agent: {counters...}}) of several collectors:
 * counters add up, firstSeen takes the max, lastSeen the min, uptime the
 * max, sFlowDatagramSource the union. age_ms[i] (ms since table i was
 * received, may be NULL) is added to firstSeen/lastSeen. Returns new. */
json_t *gw_merge_agents(json_t *const *tables, const uint64_t *age_ms, size_t n);

/* ---- long-poll record logs (longpoll.c): /events/json, /flows/json ---- */

typedef struct gw_lp gw_lp;

typedef struct gw_lp_stats {
    uint64_t records; /* held now */
    uint64_t added;   /* records taken */
    uint64_t ignored; /* records refused: id already held, older than the ring, or malformed */
    uint64_t waiting; /* requests parked now */
    uint64_t woken;   /* parked requests answered because records arrived */
    uint64_t expired; /* parked requests answered [] at their timeout */
    uint64_t gone;    /* parked requests whose client went away */
    uint64_t wake_n;  /* requests answered by the last notify that answered any */
    uint64_t wake_us; /* ... and how long that took (building and sending every answer) */
} gw_lp_stats;

#define GW_LP_TIMEOUT_MAX_MS (3600u * 1000u) /* longer timeouts are shortened to this */

/* A log of the last max records, kept in id order: JSON objects with an
 * integer member id_key and a string member name_key (the filter), both
 * names borrowed (static strings). Returns new. */
gw_lp *gw_lp_create(uv_loop_t *loop, size_t max, const char *id_key, const char *name_key);
/* Take rec. Returns 1 if held, 0 if refused (dropped): no integer id,
 * an id already held, or older than every record of a full log. Parked
 * requests are only answered by gw_lp_notify, so a batch goes out whole. */
int gw_lp_add(gw_lp *lp, json_t *rec);
/* Answer every parked request for which a newer matching record exists. */
void gw_lp_notify(gw_lp *lp);
/* The newest id held, or -1 when empty. */
int64_t gw_lp_last_id(const gw_lp *lp);
/* Records with id > after (and name_key equal to name unless NULL),
 * newest first, at most max. Returns a new array sharing the records. */
json_t *gw_lp_query(const gw_lp *lp, int64_t after, size_t max, const char *name);
/* Answer r at once if a matching record newer than after exists or
 * timeout_ms is 0 (GW_DONE); else park it (GW_PENDING) until one arrives
 * (answered with them) or timeout_ms passes (answered []). Parking holds
 * no thread: a timer and the held request. name is copied. */
int gw_lp_serve(gw_lp *lp, gw_req *r, int64_t after, size_t max, const char *name,
                uint64_t timeout_ms);
/* Answer every parked request now with what matches (usually []); used
 * when the gateway stops. */
void gw_lp_release(gw_lp *lp);
void gw_lp_get_stats(const gw_lp *lp, gw_lp_stats *st);
/* Release parked requests, free the records; the struct itself is freed
 * once the waiters' timers have closed. NULL is a no-op. */
void gw_lp_destroy(gw_lp *lp);

/* ---- the service (gateway.c) and what routes share ---- */

typedef struct gw_members gw_members;
typedef struct gw_defs_pub gw_defs_pub;
typedef struct gw_collectors gw_collectors;
typedef struct gw_feeds gw_feeds;
typedef struct gw_ctx gw_ctx;

typedef struct gw_query_stats {
    uint64_t queries;         /* scatter/gather queries started for HTTP */
    uint64_t query_timeouts;  /* ... that reached the deadline with answers missing */
    uint64_t answers_missing; /* answers expected but not received, summed */
    uint64_t answers_bad;     /* answers that did not decode or had no result */
    uint64_t busy;            /* queries refused: too many in flight (503) */
    uint64_t coalesced;       /* queries that joined an identical one in flight */
} gw_query_stats;

struct gw_ctx {
    const gw_config *cfg; /* borrowed */
    uv_loop_t *loop;
    gw_http *http;
    gw_state *state;
    sfa_surveyor *sv;
    gw_members *members;
    gw_defs_pub *defs;
    gw_collectors *cols;
    gw_lp *events; /* /events/json (feeds.c fills it) */
    gw_lp *flows;  /* /flows/json */
    gw_feeds *feeds;
    struct gw_browse *browse;       /* Browse Flows' hidden flows (route_browse.c) */
    struct gw_promflows *promflows; /* the prometheus app's hidden flows (promflows.c) */
    uint64_t start_ms;              /* monotonic */
    uint64_t start_wall_ms;
    gw_query_stats qst;
    gw_merge_stats mst;
    struct gw_query_batch *batches; /* queries in flight (route_query.c) */
    uv_signal_t sigint, sigterm;
    uv_timer_t stop_timer;
    uint64_t stop_ms;
    int stopping;
};

/* Build the service on loop from cfg (borrowed; must outlive it). 0, or a
 * negative code after logging what failed (every part built so far is
 * closed again). */
SFA_MUST_CHECK int gw_start(gw_ctx *g, uv_loop_t *loop, const gw_config *cfg);
/* Begin a clean stop (what SIGINT/SIGTERM do); uv_run returns once every
 * part has closed. */
void gw_stop(gw_ctx *g);
/* After uv_run returned: release what outlives the loop (HTTP server
 * memory, the state store). */
void gw_finish(gw_ctx *g);

/* Route tables. */
extern const gw_route gw_flow_routes[];       /* route_flows.c */
extern const gw_route gw_query_routes[];      /* route_query.c */
extern const gw_route gw_health_routes[];     /* route_health.c */
extern const gw_route gw_event_routes[];      /* route_events.c */
extern const gw_route gw_browse_routes[];     /* route_browse.c */
extern const gw_route gw_www_routes[];        /* route_www.c */
extern const gw_route gw_metric_routes[];     /* route_metrics.c */
extern const gw_route gw_prometheus_routes[]; /* route_prometheus.c */
extern const gw_route gw_app_routes[];        /* route_apps.c */
extern const gw_route gw_apphtml_routes[];    /* route_apphtml.c, after gw_www_routes */

/* Validate a threshold spec (route_events.c): metric a non-empty name,
 * value a finite number, byFlow a boolean, timeout seconds from 0, filter
 * {agent|dataSource|ifindex: [strings or integers]}. *view is new: the
 * spec with byFlow and timeout filled in. SFA_EFORMAT with err otherwise.
 * (Whether the metric exists is checked by the PUT route, not here, so
 * stored thresholds survive their flow's removal.) */
int gw_threshold_check(const json_t *spec, json_t **view, char *err, size_t errcap);
/* Is name a counter metric the aggregators compute (route_events.c)? */
int gw_counter_metric_known(const char *name);
/* Counters of the two logs and their feeds, for /sfa/v1/stats:
 * {"events": {...}, "flows": {...}} (returns new). */
json_t *gw_events_stats_json(const gw_ctx *g);

/* The gw_check_fn of the real gateway (route_flows.c): flowdef, groups
 * and maps validation from common. */
int gw_defs_check(int kind, const json_t *spec, json_t **view, char *err, size_t errcap);

/* Parse an agent selector ("ALL", one address, or a list separated by ','
 * or ';'). *out is new: the string "ALL" or an array of canonical address
 * strings. 0, or SFA_EFORMAT with the offending token in err. */
SFA_MUST_CHECK int gw_agents_parse(const char *sel, json_t **out, char *err, size_t errcap);

/* ---- events.v1 and flowlog.v1 into the logs (feeds.c) ---- */

typedef struct gw_feeds_stats {
    uint64_t events_msgs;  /* events.v1 messages received */
    uint64_t events_bad;   /* ... that were not an event object */
    uint64_t events_gaps;  /* events.v1 messages lost (sequence gaps) */
    uint64_t refills;      /* "events" surveys that refilled the log */
    uint64_t flowlog_msgs; /* flowlog.v1 messages received */
    uint64_t flowlog_bad;  /* ... or records in them that were malformed */
    uint64_t flowlog_gaps;
} gw_feeds_stats;

/* Dial the events service's bus.events (subscribing to events.v1) and
 * listen on bus.flowlog (flowlog.v1); records go into g->events and
 * g->flows. The events log is refilled from the events service with the
 * survey {"op":"events"} at start, whenever the subscription (re)connects
 * or loses messages, and when a hello shows newer events than held.
 * 0 or SFA_EBUS. */
SFA_MUST_CHECK int gw_feeds_open(gw_feeds **out, gw_ctx *g);
void gw_feeds_get_stats(const gw_feeds *f, gw_feeds_stats *st);
/* Close the sockets and the timer (a refill in flight is let go). */
void gw_feeds_close(gw_feeds *f);

/* ---- membership (members.c) ---- */

/* Survey {"op":"hello"} every interval_ms (deadline deadline_ms) on sv;
 * changed(arg) runs when the live set changes. */
SFA_MUST_CHECK int gw_members_open(gw_members **out, uv_loop_t *loop, sfa_surveyor *sv,
                                   const char *src, int interval_ms, int deadline_ms,
                                   void (*changed)(void *arg), void *arg);
/* Stop surveying (the surveyor is about to close); the table stays readable. */
void gw_members_stop(gw_members *m);
void gw_members_close(gw_members *m);
/* Has a hello round told us who is there (or two rounds passed)? */
int gw_members_ready(const gw_members *m);
/* Live aggregator ids, sorted (returns new array); respondents with another
 * role (the events service) are never members. */
json_t *gw_members_live(const gw_members *m);
size_t gw_members_count(const gw_members *m);
/* The largest "lastEventID" an events service announced in the last
 * hello round, or -1 when none answered. */
int64_t gw_members_last_event_id(const gw_members *m);
/* {id: {"role":s, "live":bool, "defsVersion":n, "buckets":n, "lastSeenMs":n,
 * "stats":{...}}} for every respondent heard recently (returns new). */
json_t *gw_members_json(const gw_members *m);

/* ---- definitions publisher (defs_pub.c) ---- */

/* Publish defs.v1 on url whenever gw_defs_pub_changed is called and every
 * second, once members is ready. All arguments borrowed. */
SFA_MUST_CHECK int gw_defs_pub_open(gw_defs_pub **out, uv_loop_t *loop, const char *url,
                                    gw_state *state, gw_members *members, int lanes,
                                    const char *src);
void gw_defs_pub_changed(gw_defs_pub *p);
uint64_t gw_defs_pub_count(const gw_defs_pub *p);
void gw_defs_pub_close(gw_defs_pub *p);

/* ---- collectors' control messages (collectors.c) ---- */

/* Subscribe to stats.v1 and agents.v1 on every URL of the comma list. */
SFA_MUST_CHECK int gw_collectors_open(gw_collectors **out, uv_loop_t *loop, const char *urls);
void gw_collectors_close(gw_collectors *c);
/* Merged agents table (returns new). */
json_t *gw_collectors_agents(const gw_collectors *c);
/* {src: {"ageMs": n, "stats": body}} of every collector heard recently (new). */
json_t *gw_collectors_stats(const gw_collectors *c);
/* Sum of the numeric member name (searched at the top level of each
 * collector's stats body, then one level down) over the collectors. */
uint64_t gw_collectors_sum(const gw_collectors *c, const char *name);
size_t gw_collectors_count(const gw_collectors *c);
uint64_t gw_collectors_gaps(const gw_collectors *c); /* control messages missed */

/* ---- the web pages (route_www.c) and Browse Flows (route_browse.c) ---- */

/* The default of http.html.dir: the build tree's staged pages when they
 * exist (services/gateway/www in the build dir), else the installed ones
 * (<datadir>/sfa/www). Returns a static string. */
const char *gw_www_default_dir(void);
/* Log where pages come from; warn when the directory has no index. */
void gw_www_announce(const gw_config *cfg);
/* The content type served for file name (a static string), or NULL for an
 * extension not in the table. */
const char *gw_www_ctype(const char *name);
/* Is one decoded path segment safe to join under a directory (not empty,
 * no leading '.', no '/', backslash or control byte)? The last one may be empty
 * (a directory URL: its index.html) when last is set. */
int gw_www_segment_ok(const char *s, int last);
/* Is the real path of file inside the real path of dir (symbolic links
 * resolved)? Both borrowed. */
int gw_www_inside(const char *dir, const char *file);
/* Answer r with the small HTML 404 page. */
void gw_www_not_found(gw_req *r);

/* route_apphtml.c: the apps in script.appdir as /apps/json lists them,
 * {"<app>": {"entry": "/html/" when html/ exists, "scripts": ["scripts/x.js"]}}
 * (returns new; empty when the directory is absent). */
json_t *gw_apphtml_apps(const gw_ctx *g);
/* Add the built-in Browse Flows to apps (borrowed) when its pages exist. */
void gw_apphtml_builtin(const gw_ctx *g, json_t *apps);

typedef struct gw_browse gw_browse;
/* Start Browse Flows' bookkeeping (a 1 s timer) for g (borrowed; needs
 * g->sv, g->state and g->defs). 0, or SFA_ECONFIG after logging a bad
 * browse-flows.* property. */
SFA_MUST_CHECK int gw_browse_open(gw_browse **out, gw_ctx *g);
/* Drop every hidden flow and stop the timer; NULL is a no-op. */
void gw_browse_close(gw_browse *b);
/* The hidden flow definitions, {name: spec} (borrowed; NULL when none),
 * published in defs.v1 beside the stored flows. */
json_t *gw_browse_flows(void *browse);

/* defs_pub.c: publish extra(arg)'s flows (borrowed object, may be NULL)
 * with the stored ones; a stored flow of the same name wins. Up to 4
 * owners of hidden flows; del_extra removes the one registered with arg. */
void gw_defs_pub_add_extra(gw_defs_pub *p, json_t *(*extra)(void *arg), void *arg);
void gw_defs_pub_del_extra(gw_defs_pub *p, void *arg);

/* ---- counter metrics and Prometheus (route_metrics.c, route_prometheus.c,
 * promflows.c; helpers in metricq.h) ---- */

typedef struct gw_promflows gw_promflows;
/* The prometheus app's hidden flow definitions (needs g->state and
 * g->defs): a sweep timer removes those not scraped for 300 s. 0. */
SFA_MUST_CHECK int gw_promflows_open(gw_promflows **out, gw_ctx *g);
/* Forget every hidden flow and close the timer; NULL is a no-op. */
void gw_promflows_close(gw_promflows *p);

/* route_health.c: the bodies of /analyzer/json and /sfa/v1/stats
 * (returns new). */
json_t *gw_analyzer_json(gw_ctx *g);
json_t *gw_sfa_stats_json(gw_ctx *g);

#endif
