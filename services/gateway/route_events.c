/* route_events.c - thresholds, events and logged flows over REST
 * (sFlow-RT's /threshold, /events and /flows resources).
 *
 *   GET    /threshold/json          every threshold, as GET of each returns it
 *   GET    /threshold/{name}/json   one threshold (byFlow, timeout filled in); 404
 *   PUT    /threshold/{name}/json   create or replace: 204; 400 bad JSON, bad
 *                                   field, or a metric that is neither a defined
 *                                   flow nor a counter metric
 *   DELETE /threshold/{name}/json   204; 404
 *   GET    /events/json?eventID=&maxEvents=&timeout=&thresholdID=
 *   GET    /flows/json?flowID=&maxFlows=&timeout=&name=
 *
 * Thresholds are stored and published like flow definitions (state.c,
 * defs.v1 "thresholds"); the events service evaluates them. The two logs
 * are long-poll logs (longpoll.c) filled by feeds.c. Their contract
 * (proto/CONTROL.md, "Reading events"): records with an id greater than
 * the cursor, newest first, at most max (default: every record held);
 * when there are none, the request waits up to timeout seconds (default
 * 0: answer at once) and gets [] if still none arrived. The cursor -1
 * (the default) is older than every record, so eventID=-1 returns the
 * newest maxEvents at once when any exist, and waits only when the log
 * is empty. Non-numeric cursors, maxima or timeouts, and negative
 * timeouts, are 400.
 *
 * Loop thread only.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/sflow.h>

#include "gw.h"

#define THR_METRIC_MAX 128         /* bytes with NUL, as the events service takes */
#define THR_TIMEOUT_DEFAULT 60     /* s: the events service's default */
#define THR_TIMEOUT_MAX 31536000.0 /* one year, s */
#define THR_FILTER_VALUES_MAX 4096

/* ---- threshold validation ---- */

/* Counter metrics derived by the aggregators (services/aggregator/
 * ctr_catalog.c) that are numbers; the rest are counter fields of
 * fields.def. Keep in step with that catalogue. */
static const char *const thr_derived[] = {
    "ifinutilization",
    "ifoututilization",
    "ifinpkts",
    "ifoutpkts",
    "cpu_utilization",
    "mem_utilization",
    "disk_utilization",
    "load_one_per_cpu",
    "load_five_per_cpu",
    "load_fifteen_per_cpu",
    NULL,
};

/* Counter fields that are not numeric metrics (shown as text, or not a
 * metric at all). */
static const char *const thr_not_numeric[] = {
    "ifstatus", "iftype", "ifdirection", "machine_type", "os_name", NULL,
};

static int
thr_in_list(const char *const *list, const char *name)
{
    for (; *list; list++)
        if (strcmp(*list, name) == 0)
            return 1;
    return 0;
}

int
gw_counter_metric_known(const char *name)
{
    int id;

    if (thr_in_list(thr_derived, name))
        return 1;
    if (thr_in_list(thr_not_numeric, name))
        return 0;
    id = sfa_field_lookup(name, strlen(name));
    if (id < (int)SFA_F_IFINDEX) /* unknown, or a flow-sample field */
        return 0;
    switch (sfa_field_type((unsigned)id)) {
    case SFA_T_U:
    case SFA_T_I:
    case SFA_T_F:
    case SFA_T_BOOL:
        return 1;
    default:
        return 0;
    }
}

static int
thr_check_filter(const json_t *filter, char *err, size_t errcap)
{
    const char *key;
    json_t *vals, *v;
    size_t i;

    if (!filter || json_is_null(filter))
        return 0;
    if (!json_is_object(filter)) {
        snprintf(err, errcap, "filter must be an object {attribute: [values]}");
        return SFA_EFORMAT;
    }
    json_object_foreach((json_t *)filter, key, vals)
    {
        if (strcmp(key, "agent") != 0 && strcmp(key, "dataSource") != 0 &&
            strcmp(key, "ifindex") != 0) {
            snprintf(err, errcap,
                     "filter attribute '%.64s' is not supported (use agent, dataSource or "
                     "ifindex)",
                     key);
            return SFA_EFORMAT;
        }
        if (!json_is_array(vals) || json_array_size(vals) > THR_FILTER_VALUES_MAX) {
            snprintf(err, errcap, "filter %.64s must be a list of at most %d values", key,
                     THR_FILTER_VALUES_MAX);
            return SFA_EFORMAT;
        }
        json_array_foreach(vals, i, v)
        {
            if (!json_is_string(v) && !json_is_integer(v)) {
                snprintf(err, errcap, "filter %.64s: values must be strings or integers", key);
                return SFA_EFORMAT;
            }
        }
    }
    return 0;
}

int
gw_threshold_check(const json_t *spec, json_t **view, char *err, size_t errcap)
{
    const json_t *metric = json_object_get(spec, "metric"), *value = json_object_get(spec, "value");
    const json_t *by_flow = json_object_get(spec, "byFlow"), *to = json_object_get(spec, "timeout");
    json_t *v;

    if (!json_is_object(spec)) {
        snprintf(err, errcap, "the threshold must be a JSON object");
        return SFA_EFORMAT;
    }
    if (!json_is_string(metric) || json_string_length(metric) == 0 ||
        json_string_length(metric) >= THR_METRIC_MAX) {
        snprintf(err, errcap, "metric is required: a flow or counter metric name of 1 to %d bytes",
                 THR_METRIC_MAX - 1);
        return SFA_EFORMAT;
    }
    if (!json_is_number(value) || !isfinite(json_number_value(value))) {
        snprintf(err, errcap, "value is required and must be a number");
        return SFA_EFORMAT;
    }
    if (by_flow && !json_is_boolean(by_flow) && !json_is_null(by_flow)) {
        snprintf(err, errcap, "byFlow must be true or false");
        return SFA_EFORMAT;
    }
    if (to && !json_is_null(to) &&
        !(json_is_number(to) && json_number_value(to) >= 0 &&
          json_number_value(to) <= THR_TIMEOUT_MAX)) {
        snprintf(err, errcap, "timeout must be a number of seconds from 0 to %.0f",
                 THR_TIMEOUT_MAX);
        return SFA_EFORMAT;
    }
    if (thr_check_filter(json_object_get(spec, "filter"), err, errcap) != 0)
        return SFA_EFORMAT;
    v = json_deep_copy(spec);
    if (!by_flow || json_is_null(by_flow))
        json_object_set_new(v, "byFlow", json_false());
    if (!to || json_is_null(to))
        json_object_set_new(v, "timeout", json_integer(THR_TIMEOUT_DEFAULT));
    *view = v;
    return 0;
}

/* ---- /threshold ---- */

static int
route_thr_list(gw_req *r, void *arg)
{
    gw_ctx *g = arg;

    gw_reply_json(r, 200, json_incref(gw_state_views(g->state, GW_THRESHOLDS)));
    return GW_DONE;
}

static int
route_thr_put(gw_req *r, gw_ctx *g, const char *name)
{
    json_error_t jerr;
    size_t len;
    const char *body = gw_req_body(r, &len), *metric;
    char err[512] = "";
    json_t *spec, *view = NULL;
    int rc;

    spec = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!spec) {
        gw_reply_error(r, 400, "invalid JSON body: %s (line %d, column %d)", jerr.text, jerr.line,
                       jerr.column);
        return GW_DONE;
    }
    if (gw_threshold_check(spec, &view, err, sizeof err) != 0) {
        gw_reply_error(r, 400, "%s", err);
        goto out;
    }
    metric = json_string_value(json_object_get(spec, "metric"));
    if (!gw_state_spec(g->state, GW_FLOWS, metric) && !gw_counter_metric_known(metric)) {
        gw_reply_error(r, 400,
                       "unknown metric '%.127s': define the flow first, or use a counter "
                       "metric such as ifinutilization or load_one",
                       metric);
        goto out;
    }
    rc = gw_state_put(g->state, GW_THRESHOLDS, name, spec, err, sizeof err);
    if (rc == SFA_EFORMAT) {
        gw_reply_error(r, 400, "%s", err[0] ? err : "invalid threshold");
    } else if (rc != 0) {
        gw_reply_error(r, 500, "%s", err[0] ? err : "cannot store the threshold");
    } else {
        gw_defs_pub_changed(g->defs);
        gw_reply_empty(r, 204);
    }
out:
    json_decref(view);
    json_decref(spec);
    return GW_DONE;
}

static int
route_thr_one(gw_req *r, void *arg)
{
    gw_ctx *g = arg;
    const char *name = gw_req_param(r, "name");
    json_t *view;
    int rc;

    if (!name || !gw_name_valid(name)) {
        gw_reply_error(r, 400, "bad threshold name: use 1 to %d of A-Z a-z 0-9 _ . -", GW_NAME_MAX);
        return GW_DONE;
    }
    switch (gw_req_method(r)) {
    case GW_PUT:
        return route_thr_put(r, g, name);
    case GW_DELETE:
        rc = gw_state_delete(g->state, GW_THRESHOLDS, name);
        if (rc == -ENOENT) {
            gw_reply_error(r, 404, "no such threshold '%s'", name);
        } else if (rc != 0) {
            gw_reply_error(r, 500, "cannot store the change: %s", sfa_strerror(rc));
        } else {
            gw_defs_pub_changed(g->defs);
            gw_reply_empty(r, 204);
        }
        return GW_DONE;
    default:
        if ((view = gw_state_view(g->state, GW_THRESHOLDS, name)) == NULL)
            gw_reply_error(r, 404, "no such threshold '%s'", name);
        else
            gw_reply_json(r, 200, json_incref(view));
        return GW_DONE;
    }
}

/* ---- /events and /flows ---- */

/* The arguments of a log read. */
typedef struct route_logq {
    int64_t after;
    long max;
    uint64_t timeout_ms;
    char name[GW_PARAM_MAX];
    int has_name;
} route_logq;

/* Query parameter key as an integer in [lo, hi] into *v (absent: *v
 * untouched); what describes the range in the 400 message. 0, or -1
 * after answering 400. */
static int
route_log_int(gw_req *r, const char *key, long long lo, long long hi, const char *what,
              long long *v)
{
    char buf[64], *end;
    int rc = gw_req_query(r, key, 0, buf, sizeof buf);
    long long x;

    if (rc == 0)
        return 0;
    if (rc < 0 || buf[0] == '\0')
        goto bad;
    errno = 0;
    x = strtoll(buf, &end, 10);
    if (*end != '\0' || errno != 0 || x < lo || x > hi)
        goto bad;
    *v = x;
    return 0;
bad:
    gw_reply_error(r, 400, "%s must be %s", key, what);
    return -1;
}

/* timeout: seconds >= 0 (fractions allowed). 0 or -1 after answering 400. */
static int
route_log_timeout(gw_req *r, uint64_t *ms)
{
    char buf[64], *end;
    int rc = gw_req_query(r, "timeout", 0, buf, sizeof buf);
    double x;

    if (rc == 0)
        return 0;
    if (rc < 0 || buf[0] == '\0')
        goto bad;
    x = strtod(buf, &end);
    if (*end != '\0' || !isfinite(x) || x < 0)
        goto bad;
    *ms = x * 1000.0 >= (double)GW_LP_TIMEOUT_MAX_MS ? GW_LP_TIMEOUT_MAX_MS
                                                     : (uint64_t)llround(x * 1000.0);
    return 0;
bad:
    gw_reply_error(r, 400, "timeout must be a number of seconds, 0 or more");
    return -1;
}

/* Parse cursor_key, max_key, timeout and name_key. 0, or -1 after 400. */
static int
route_log_args(gw_req *r, const char *cursor_key, const char *max_key, const char *name_key,
               long max_default, route_logq *q)
{
    long long after = -1, max = max_default;
    int rc;

    memset(q, 0, sizeof *q);
    if (route_log_int(r, cursor_key, LLONG_MIN, LLONG_MAX, "an integer (-1: from the start)",
                      &after) != 0 ||
        route_log_int(r, max_key, 0, LLONG_MAX, "an integer, 0 or more", &max) != 0 ||
        route_log_timeout(r, &q->timeout_ms) != 0)
        return -1;
    rc = gw_req_query(r, name_key, 0, q->name, sizeof q->name);
    if (rc < 0) {
        gw_reply_error(r, 400, "%s is badly escaped or too long", name_key);
        return -1;
    }
    q->has_name = rc == 1 && q->name[0] != '\0';
    q->after = after < -1 ? -1 : after;
    q->max = max > max_default ? max_default : (long)max;
    return 0;
}

static int
route_log_read(gw_req *r, gw_lp *lp, const route_logq *q)
{
    if (!lp) {
        gw_reply_error(r, 503, "shutting down");
        return GW_DONE;
    }
    if (q->max == 0) {
        gw_reply_json(r, 200, json_array());
        return GW_DONE;
    }
    return gw_lp_serve(lp, r, q->after, (size_t)q->max, q->has_name ? q->name : NULL,
                       q->timeout_ms);
}

static int
route_events(gw_req *r, void *arg)
{
    gw_ctx *g = arg;
    route_logq q;

    if (route_log_args(r, "eventID", "maxEvents", "thresholdID", g->cfg->events_max, &q) != 0)
        return GW_DONE;
    return route_log_read(r, g->events, &q);
}

static int
route_flows_log(gw_req *r, void *arg)
{
    gw_ctx *g = arg;
    route_logq q;

    if (route_log_args(r, "flowID", "maxFlows", "name", g->cfg->flows_max, &q) != 0)
        return GW_DONE;
    return route_log_read(r, g->flows, &q);
}

static json_t *
route_lp_stats(const gw_lp *lp, uint64_t msgs, uint64_t bad, uint64_t gaps)
{
    gw_lp_stats st;

    memset(&st, 0, sizeof st);
    if (lp)
        gw_lp_get_stats(lp, &st);
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "records",
                     (json_int_t)st.records, "added", (json_int_t)st.added, "ignored",
                     (json_int_t)st.ignored, "waiting", (json_int_t)st.waiting, "woken",
                     (json_int_t)st.woken, "expired", (json_int_t)st.expired, "gone",
                     (json_int_t)st.gone, "wake_n", (json_int_t)st.wake_n, "wake_us",
                     (json_int_t)st.wake_us, "bus_msgs", (json_int_t)msgs, "bus_bad",
                     (json_int_t)bad, "bus_gaps", (json_int_t)gaps);
}

json_t *
gw_events_stats_json(const gw_ctx *g)
{
    gw_feeds_stats fs;
    json_t *ev;

    memset(&fs, 0, sizeof fs);
    if (g->feeds)
        gw_feeds_get_stats(g->feeds, &fs);
    ev = route_lp_stats(g->events, fs.events_msgs, fs.events_bad, fs.events_gaps);
    json_object_set_new(ev, "refills", json_integer((json_int_t)fs.refills));
    return json_pack("{s:o, s:o}", "events", ev, "flows",
                     route_lp_stats(g->flows, fs.flowlog_msgs, fs.flowlog_bad, fs.flowlog_gaps));
}

const gw_route gw_event_routes[] = {
    {GW_GET, "/threshold/json", route_thr_list},
    {GW_GET | GW_PUT | GW_DELETE, "/threshold/{name}/json", route_thr_one},
    {GW_GET, "/events/json", route_events},
    {GW_GET, "/flows/json", route_flows_log},
    {0, NULL, NULL},
};
