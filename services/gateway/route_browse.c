/* route_browse.c - the server side of Browse Flows, natively: what
 * sFlow-RT's browse-flows app does in scripts/top.js (spec section 9).
 *
 *   GET /app/browse-flows/scripts/top.js/flowkeys/json?search=<prefix>
 *       sorted key names starting with prefix (any case); all without it
 *   GET /app/browse-flows/scripts/top.js/flows/json?keys=&value=&filter=[&after=ms]
 *       {"trend":{"maxPoints":300,"times":[ms...],"trends":{"topn":[{key:value}...]}}}
 *       (with after: only the points newer than it)
 *
 * Each distinct (keys, value, filter) gets a hidden flow definition
 * browse_flows<N> = {keys, value, filter|null, t, n: maxFlows, fs: "_SEP_",
 * aggMode: "AGENT"}: checked like a PUT /flow (a bad one is a 400),
 * published to the aggregators in defs.v1 beside the stored flows (through
 * gw_defs_pub_add_extra; a stored flow of the same name would win, so
 * names in use are skipped), but neither persisted nor listed by
 * /flow/json. Every second each one's top flows are surveyed from the
 * aggregators (activeflows, browse-flows.agents / .maxFlows / .minValue /
 * .aggMode) and recorded as one {key: value} point in a 300-point ring
 * (5 minutes). A definition not queried for 10 s is removed. Repeated
 * parameters are joined as the app's script joins them (keys and value
 * with ',', filter with '&').
 *
 * These routes are registered before every other table, so they win over a
 * generic /app/{app}/scripts/... route of the scripts service.
 *
 * Loop thread only.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sfa/clock.h>
#include <sfa/log.h>
#include <sfa/mem.h>

#include "gw.h"

#define BROWSE_SRC "gateway"
#define BROWSE_SEP "_SEP_"
#define BROWSE_POINTS 300
#define BROWSE_TICK_MS 1000
#define BROWSE_IDLE_MS 10000
#define BROWSE_MAX_DEFS 64
#define BROWSE_ARG_MAX 4096
#define BROWSE_ARG_REPEAT 16

typedef struct browse_def {
    struct browse_def *next;
    gw_browse *b;  /* NULL once the service closed while a survey ran */
    char *tuple;   /* keys '\n' value '\n' filter: the identity */
    char name[32]; /* browse_flows<N> */
    uint64_t last_query_ms;
    uint64_t pending_wall_ms; /* time of the point being surveyed */
    int busy;                 /* a survey is in flight (it owns the def when dead) */
    int dead;                 /* removed; freed when the survey ends */
    size_t head, count;       /* ring: oldest at head */
    int64_t times[BROWSE_POINTS];
    json_t *points[BROWSE_POINTS];
} browse_def;

struct gw_browse {
    gw_ctx *g;
    uv_timer_t timer;
    json_t *flows;  /* {name: spec} of every live def */
    json_t *agents; /* "ALL" or an array of addresses */
    int agg_sum;
    unsigned next_id;
    browse_def *defs;
    size_t ndefs;
};

typedef struct browse_keys_req {
    gw_hold *hold;
    char search[GW_PARAM_MAX];
} browse_keys_req;

/* ---- definitions ---- */

static void
browse_def_free(browse_def *d)
{
    for (size_t i = 0; i < d->count; i++)
        json_decref(d->points[(d->head + i) % BROWSE_POINTS]);
    free(d->tuple);
    free(d);
}

static void
browse_def_push(browse_def *d, int64_t t, json_t *point)
{
    size_t slot;

    if (d->count == BROWSE_POINTS) {
        json_decref(d->points[d->head]);
        d->head = (d->head + 1) % BROWSE_POINTS;
        d->count--;
    }
    slot = (d->head + d->count) % BROWSE_POINTS;
    d->times[slot] = t;
    d->points[slot] = point; /* takes */
    d->count++;
}

/* The set of hidden flows changed: a new version for the aggregators. */
static void
browse_publish(gw_browse *b)
{
    if (gw_state_bump(b->g->state) != 0)
        SFA_FINE("browse-flows: version raised but not yet persisted");
    if (b->g->defs)
        gw_defs_pub_changed(b->g->defs);
}

/* Unlink d; free it now or, with a survey in flight, when that ends. */
static void
browse_def_remove(gw_browse *b, browse_def *d)
{
    browse_def **pp = &b->defs;

    while (*pp && *pp != d)
        pp = &(*pp)->next;
    if (*pp)
        *pp = d->next;
    b->ndefs--;
    json_object_del(b->flows, d->name);
    SFA_FINE("browse-flows: %s removed (idle)", d->name);
    if (d->busy)
        d->dead = 1;
    else
        browse_def_free(d);
}

json_t *
gw_browse_flows(void *arg)
{
    gw_browse *b = arg;

    return b ? b->flows : NULL;
}

/* ---- the 1 s tick: survey every live def ---- */

static void
browse_entry(const sfa_flow_entry *e, void *arg)
{
    gw_flow_merge_add(arg, e);
}

static void
browse_survey_done(const sfa_survey_result *res, void *arg)
{
    browse_def *d = arg;
    gw_browse *b = d->b;
    json_t *top, *point, *e;
    gw_flow_merge *m;
    uint64_t bad = 0;
    size_t i;

    d->busy = 0;
    if (d->dead || !b) {
        browse_def_free(d);
        return;
    }
    if (res->status == SFA_EBUS && res->nanswers == 0)
        return; /* the bus is closing: no point */
    m = gw_flow_merge_new(b->agg_sum);
    for (i = 0; i < res->nanswers; i++)
        if (sfa_survey_each_flow(res->answers[i].msg, res->answers[i].len, "activeflows",
                                 browse_entry, m, &bad) < 0)
            bad++;
    top = gw_flow_merge_result(m, b->g->cfg->browse_max_flows, b->g->cfg->browse_min_value);
    gw_flow_merge_free(m);
    point = json_object();
    json_array_foreach(top, i, e)
    {
        json_t *k = json_object_get(e, "key"), *v = json_object_get(e, "value");

        if (json_is_string(k) && json_is_number(v))
            json_object_set(point, json_string_value(k), v);
    }
    json_decref(top);
    b->g->mst.bad_entries += bad;
    browse_def_push(d, (int64_t)d->pending_wall_ms, point);
}

static void
browse_survey(gw_browse *b, browse_def *d)
{
    json_t *body;

    if (!b->g->sv)
        return;
    body =
        json_pack("{s:s, s:s, s:O, s:I, s:f, s:s}", "op", "activeflows", "name", d->name, "agents",
                  b->agents, "maxFlows", (json_int_t)b->g->cfg->browse_max_flows, "minValue",
                  b->g->cfg->browse_min_value, "aggMode", b->agg_sum ? "sum" : "max");
    d->pending_wall_ms = sfa_clock_wall_ms();
    if (sfa_survey_start_json(b->g->sv, BROWSE_SRC, body, (int)b->g->cfg->query_timeout_ms,
                              browse_survey_done, d) == 0)
        d->busy = 1;
    json_decref(body);
}

static void
browse_tick(uv_timer_t *t)
{
    gw_browse *b = t->data;
    uint64_t now = sfa_clock_ms();
    browse_def *d, *next;
    int changed = 0;

    for (d = b->defs; d; d = next) {
        next = d->next;
        if (now - d->last_query_ms > BROWSE_IDLE_MS) {
            browse_def_remove(b, d);
            changed = 1;
        } else if (!d->busy) {
            browse_survey(b, d);
        }
    }
    if (changed)
        browse_publish(b);
}

/* ---- request arguments ---- */

/* Every occurrence of key joined with sep into out (cap bytes). 0, or
 * -1 after answering 400. */
static int
browse_arg_join(gw_req *r, const char *key, const char *sep, char *out, size_t cap)
{
    char *one = sfa_xmalloc(BROWSE_ARG_MAX);
    size_t len = 0;
    int rc = 0;

    out[0] = '\0';
    for (int idx = 0; idx < BROWSE_ARG_REPEAT; idx++) {
        if ((rc = gw_req_query(r, key, idx, one, BROWSE_ARG_MAX)) <= 0)
            break;
        if (one[0] == '\0')
            continue;
        if (len + strlen(sep) + strlen(one) + 1 > cap) {
            rc = SFA_ELIMIT;
            break;
        }
        len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? sep : "", one);
    }
    free(one);
    if (rc < 0) {
        gw_reply_error(r, 400, "%s is badly escaped or longer than %d bytes", key,
                       BROWSE_ARG_MAX - 1);
        return -1;
    }
    return 0;
}

/* after=<ms>: 0 (absent: *after = -1), or -1 after answering 400. */
static int
browse_arg_after(gw_req *r, int64_t *after)
{
    char buf[64], *end;
    long long v;
    int rc = gw_req_query(r, "after", 0, buf, sizeof buf);

    *after = -1;
    if (rc == 0 || (rc == 1 && buf[0] == '\0'))
        return 0;
    errno = 0;
    v = rc == 1 ? strtoll(buf, &end, 10) : 0;
    if (rc != 1 || *end != '\0' || errno != 0) {
        gw_reply_error(r, 400, "after must be a time in ms");
        return -1;
    }
    *after = v;
    return 0;
}

/* ---- creating a definition ---- */

static json_t *
browse_spec(const gw_browse *b, const char *keys, const char *value, const char *filter)
{
    return json_pack("{s:s, s:s, s:o, s:f, s:I, s:s, s:s}", "keys", keys, "value", value, "filter",
                     filter[0] ? json_string(filter) : json_null(), "t", b->g->cfg->browse_t, "n",
                     (json_int_t)b->g->cfg->browse_max_flows, "fs", BROWSE_SEP, "aggMode", "AGENT");
}

/* Find or create the def of (keys, value, filter). NULL after answering
 * 400 (bad definition) or 503 (too many). */
static browse_def *
browse_def_get(gw_req *r, gw_browse *b, const char *keys, const char *value, const char *filter)
{
    size_t n = strlen(keys) + strlen(value) + strlen(filter) + 3;
    char *tuple = sfa_xmalloc(n), err[256];
    json_t *spec, *view = NULL;
    browse_def *d;

    snprintf(tuple, n, "%s\n%s\n%s", keys, value, filter);
    for (d = b->defs; d; d = d->next)
        if (strcmp(d->tuple, tuple) == 0)
            break;
    if (d || (spec = browse_spec(b, keys, value, filter)) == NULL) {
        free(tuple);
        if (!d)
            gw_reply_error(r, 400, "keys, value or filter is not valid text");
        return d;
    }
    if (gw_defs_check(GW_FLOWS, spec, &view, err, sizeof err) != 0 || b->ndefs >= BROWSE_MAX_DEFS) {
        if (view)
            gw_reply_error(r, 503, "too many Browse Flows charts at once (%d)", BROWSE_MAX_DEFS);
        else
            gw_reply_error(r, 400, "bad flow: %s", err);
        json_decref(view);
        json_decref(spec);
        free(tuple);
        return NULL;
    }
    json_decref(view);
    d = sfa_xcalloc(1, sizeof *d);
    d->b = b;
    d->tuple = tuple;
    do
        snprintf(d->name, sizeof d->name, "browse_flows%u", b->next_id++);
    while (gw_state_spec(b->g->state, GW_FLOWS, d->name));
    /* A first, empty point, so the first answer already has a time. */
    browse_def_push(d, (int64_t)sfa_clock_wall_ms(), json_object());
    json_object_set_new(b->flows, d->name, spec);
    d->next = b->defs;
    b->defs = d;
    b->ndefs++;
    SFA_FINE("browse-flows: %s = keys %s, value %s, filter %s", d->name, keys, value,
             filter[0] ? filter : "(none)");
    browse_publish(b);
    return d;
}

static json_t *
browse_trend(const browse_def *d, int64_t after)
{
    json_t *times = json_array(), *topn = json_array();

    for (size_t i = 0; i < d->count; i++) {
        size_t slot = (d->head + i) % BROWSE_POINTS;

        if (after >= 0 && d->times[slot] <= after)
            continue;
        json_array_append_new(times, json_integer((json_int_t)d->times[slot]));
        json_array_append(topn, d->points[slot]);
    }
    return json_pack("{s:{s:i, s:o, s:{s:o}}}", "trend", "maxPoints", BROWSE_POINTS, "times", times,
                     "trends", "topn", topn);
}

/* ---- handlers ---- */

static int
route_browse_flows(gw_req *r, void *arg)
{
    gw_ctx *g = arg;
    gw_browse *b = g->browse;
    char *keys = sfa_xmalloc(BROWSE_ARG_MAX), *value = sfa_xmalloc(BROWSE_ARG_MAX);
    char *filter = sfa_xmalloc(BROWSE_ARG_MAX);
    browse_def *d;
    int64_t after;

    if (!b) {
        gw_reply_error(r, 503, "shutting down");
        goto out;
    }
    if (browse_arg_join(r, "keys", ",", keys, BROWSE_ARG_MAX) < 0 ||
        browse_arg_join(r, "value", ",", value, BROWSE_ARG_MAX) < 0 ||
        browse_arg_join(r, "filter", "&", filter, BROWSE_ARG_MAX) < 0 ||
        browse_arg_after(r, &after) < 0)
        goto out;
    if (!keys[0] || !value[0]) {
        gw_reply_error(r, 400, "keys and value are required");
        goto out;
    }
    if ((d = browse_def_get(r, b, keys, value, filter)) == NULL)
        goto out;
    d->last_query_ms = sfa_clock_ms();
    gw_reply_json(r, 200, browse_trend(d, after));
out:
    free(keys);
    free(value);
    free(filter);
    return GW_DONE;
}

static int
browse_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names of keys (an object) that start with search, any case, sorted. */
static json_t *
browse_key_list(json_t *keys, const char *search)
{
    size_t n = json_object_size(keys), k = 0, slen = strlen(search);
    const char **names = sfa_xcalloc(n ? n : 1, sizeof *names);
    json_t *out = json_array(), *v;
    const char *name;

    json_object_foreach(keys, name, v)
    {
        if (strncasecmp(name, search, slen) == 0)
            names[k++] = name;
    }
    qsort(names, k, sizeof *names, browse_cmp_str);
    for (size_t i = 0; i < k; i++)
        json_array_append_new(out, json_string(names[i]));
    free(names);
    return out;
}

static void
browse_keys_done(const sfa_survey_result *res, void *arg)
{
    browse_keys_req *q = arg;
    json_t **results = sfa_xcalloc(res->nanswers ? res->nanswers : 1, sizeof *results), *merged;
    size_t k = 0;

    if (res->status == SFA_EBUS && res->nanswers == 0 && res->expected > 0) {
        gw_hold_reply_error(q->hold, 503, "query failed: the bus is closing");
        goto out;
    }
    for (size_t i = 0; i < res->nanswers; i++) {
        json_t *body = sfa_survey_msg_json(res->answers[i].msg, res->answers[i].len);
        json_t *op = json_object_get(body, "op"), *result = json_object_get(body, "result");

        if (json_is_string(op) && strcmp(json_string_value(op), "flowkeys") == 0 &&
            json_is_object(result))
            results[k++] = json_incref(result);
        json_decref(body);
    }
    merged = gw_merge_flowkeys(results, k);
    gw_hold_reply_json(q->hold, 200, browse_key_list(merged, q->search));
    json_decref(merged);
out:
    for (size_t i = 0; i < k; i++)
        json_decref(results[i]);
    free(results);
    free(q);
}

static int
route_browse_flowkeys(gw_req *r, void *arg)
{
    gw_ctx *g = arg;
    browse_keys_req *q = sfa_xcalloc(1, sizeof *q);
    json_t *body;
    int rc;

    if (gw_req_query(r, "search", 0, q->search, sizeof q->search) < 0) {
        gw_reply_error(r, 400, "search is badly escaped or too long");
        free(q);
        return GW_DONE;
    }
    if (!g->sv) {
        gw_reply_error(r, 503, "shutting down");
        free(q);
        return GW_DONE;
    }
    body = json_pack("{s:s}", "op", "flowkeys");
    rc = sfa_survey_start_json(g->sv, BROWSE_SRC, body, (int)g->cfg->query_timeout_ms,
                               browse_keys_done, q);
    json_decref(body);
    if (rc != 0) {
        gw_reply_error(r, 503, "too many queries in flight");
        free(q);
        return GW_DONE;
    }
    q->hold = gw_req_hold(r);
    return GW_PENDING;
}

const gw_route gw_browse_routes[] = {
    {GW_GET, "/app/browse-flows/scripts/top.js/flows/json", route_browse_flows},
    {GW_GET, "/app/browse-flows/scripts/top.js/flowkeys/json", route_browse_flowkeys},
    {0, NULL, NULL},
};

/* ---- life cycle ---- */

int
gw_browse_open(gw_browse **out, gw_ctx *g)
{
    const char *mode = g->cfg->browse_agg_mode ? g->cfg->browse_agg_mode : "max";
    const char *agents = g->cfg->browse_agents ? g->cfg->browse_agents : "ALL";
    gw_browse *b;
    json_t *list = NULL;
    char err[256];

    if (strcasecmp(mode, "max") != 0 && strcasecmp(mode, "sum") != 0) {
        SFA_SEVERE("browse-flows.aggMode: '%s' is not max or sum", mode);
        return SFA_ECONFIG;
    }
    if (gw_agents_parse(agents, &list, err, sizeof err) != 0) {
        SFA_SEVERE("browse-flows.agents: %s", err);
        return SFA_ECONFIG;
    }
    b = sfa_xcalloc(1, sizeof *b);
    b->g = g;
    b->agents = list;
    b->agg_sum = strcasecmp(mode, "sum") == 0;
    b->flows = json_object();
    (void)uv_timer_init(g->loop, &b->timer);
    b->timer.data = b;
    (void)uv_timer_start(&b->timer, browse_tick, BROWSE_TICK_MS, BROWSE_TICK_MS);
    if (g->defs)
        gw_defs_pub_add_extra(g->defs, gw_browse_flows, b);
    *out = b;
    return 0;
}

static void
browse_closed(uv_handle_t *h)
{
    gw_browse *b = h->data;

    json_decref(b->flows);
    json_decref(b->agents);
    free(b);
}

void
gw_browse_close(gw_browse *b)
{
    browse_def *d, *next;

    if (!b)
        return;
    if (b->g->defs)
        gw_defs_pub_del_extra(b->g->defs, b);
    for (d = b->defs; d; d = next) {
        next = d->next;
        if (d->busy) {
            d->b = NULL; /* its survey frees it */
            d->dead = 1;
        } else {
            browse_def_free(d);
        }
    }
    b->defs = NULL;
    b->ndefs = 0;
    uv_close((uv_handle_t *)&b->timer, browse_closed);
}
