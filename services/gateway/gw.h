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
 * literal segments compare exactly, {x} takes one segment, possibly empty).
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

/* Answers. Each ends the handler's work on r. */
void gw_reply_json(gw_req *r, int status, json_t *body);     /* takes body */
void gw_reply_text(gw_req *r, int status, const char *text); /* text/plain */
void gw_reply_empty(gw_req *r, int status);                  /* e.g. 204 */
/* {"error": status, "message": text} */
void gw_reply_error(gw_req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Keep r for a later answer; the handler then returns GW_PENDING. Returns
 * new; release with exactly one gw_hold_reply_* call, which answers only
 * if the client is still there. */
gw_hold *gw_req_hold(gw_req *r);
int gw_hold_alive(const gw_hold *h);
void gw_hold_reply_json(gw_hold *h, int status, json_t *body); /* takes body */
void gw_hold_reply_error(gw_hold *h, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- definition store (state.c) ---- */

enum gw_kind { GW_FLOWS = 0, GW_GROUPS, GW_MAPS, GW_KINDS };

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

/* ---- the service (gateway.c) and what routes share ---- */

typedef struct gw_members gw_members;
typedef struct gw_defs_pub gw_defs_pub;
typedef struct gw_collectors gw_collectors;
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
    uint64_t start_ms; /* monotonic */
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
extern const gw_route gw_flow_routes[];   /* route_flows.c */
extern const gw_route gw_query_routes[];  /* route_query.c */
extern const gw_route gw_health_routes[]; /* route_health.c */

/* The gw_check_fn of the real gateway (route_flows.c): flowdef, groups
 * and maps validation from common. */
int gw_defs_check(int kind, const json_t *spec, json_t **view, char *err, size_t errcap);

/* Parse an agent selector ("ALL", one address, or a list separated by ','
 * or ';'). *out is new: the string "ALL" or an array of canonical address
 * strings. 0, or SFA_EFORMAT with the offending token in err. */
SFA_MUST_CHECK int gw_agents_parse(const char *sel, json_t **out, char *err, size_t errcap);

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

#endif
