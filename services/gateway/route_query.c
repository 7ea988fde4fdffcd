/* route_query.c - queries answered by the aggregators (scatter/gather).
 *
 *   GET /activeflows/{agent}/{name}/json?maxFlows=&minValue=&aggMode=&filter=
 *   GET /flowkeys/json
 *
 * The request is checked here (unknown flow 404; bad agent selector,
 * maxFlows, minValue, aggMode or filter 400), then surveyed to every live
 * aggregator at once (sfa/survey.h) and the request is held. The survey
 * ends when every connected aggregator has answered or at
 * gateway.query.timeout; the answers are merged (query_merge.c) and sent.
 * A filter is checked by compiling it against the stored definition
 * (sfa/flowquery.h: it may name only the flow's keys) and passed on in the
 * survey; each aggregator applies it before taking its top maxFlows.
 * A missing answer is counted (sfaQueryTimeouts in /analyzer/json) but
 * never fails the request; a client that left meanwhile is skipped.
 *
 * Loop thread only.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sfa/flowdef.h>
#include <sfa/flowquery.h>
#include <sfa/mem.h>
#include <sfa/sflow.h>

#include "gw.h"

#define QUERY_SRC "gateway"
#define QUERY_MAX_FLOWS_DEFAULT 100
#define QUERY_MAX_FLOWS_LIMIT 100000
#define QUERY_MAX_AGENTS 4096
#define QUERY_FILTER_MAX 4096

enum { QUERY_ACTIVEFLOWS, QUERY_FLOWKEYS };

/* One survey in flight and every request waiting for its answer: an
 * identical query (same op and arguments) arriving meanwhile joins it
 * instead of surveying again, which is what keeps many dashboards polling
 * the same flow cheap. */
struct gw_query_batch {
    gw_ctx *g;
    char *key; /* the survey body, compact with sorted keys */
    int op;
    int agg_sum;
    long max_flows;
    double min_value;
    gw_hold **holds;
    size_t nholds, cap;
    struct gw_query_batch *prev, *next; /* g->batches */
};

typedef struct gw_query_batch route_q;

/* ---- argument parsing ---- */

int
gw_agents_parse(const char *sel, json_t **out, char *err, size_t errcap)
{
    char tok[GW_PARAM_MAX], canon[64];
    const char *p = sel;
    json_t *list;
    sfa_addr a;

    if (strcasecmp(sel, "ALL") == 0) {
        *out = json_string("ALL");
        return 0;
    }
    if (strcasecmp(sel, "TOPOLOGY") == 0 || strcasecmp(sel, "EDGE") == 0 ||
        strcasecmp(sel, "CORE") == 0) {
        snprintf(err, errcap, "agent selector %s needs a topology, which sfa does not keep", sel);
        return SFA_EFORMAT;
    }
    list = json_array();
    for (;;) {
        size_t n = strcspn(p, ",;");

        if (n == 0 || n >= sizeof tok || json_array_size(list) >= QUERY_MAX_AGENTS) {
            snprintf(err, errcap, "bad agent list: %s",
                     n == 0 ? "empty entry" : "entry or list too long");
            goto fail;
        }
        memcpy(tok, p, n);
        tok[n] = '\0';
        if (sfa_addr_parse(tok, &a) != 0) {
            snprintf(err, errcap, "unknown agent '%.64s': use ALL, an IP address or a list", tok);
            goto fail;
        }
        canon[sfa_addr_format(&a, canon)] = '\0';
        json_array_append_new(list, json_string(canon));
        if (p[n] == '\0')
            break;
        p += n + 1;
    }
    *out = list;
    return 0;
fail:
    json_decref(list);
    return SFA_EFORMAT;
}

/* A query parameter as a long in [lo, hi]. 0 (absent: *v untouched), 1, or
 * -1 after answering 400. */
static int
route_arg_long(gw_req *r, const char *key, long lo, long hi, long *v)
{
    char buf[64], *end;
    int rc = gw_req_query(r, key, 0, buf, sizeof buf);
    long x;

    if (rc == 0)
        return 0;
    if (rc < 0 || buf[0] == '\0')
        goto bad;
    errno = 0;
    x = strtol(buf, &end, 10);
    if (*end != '\0' || errno != 0 || x < lo || x > hi)
        goto bad;
    *v = x;
    return 1;
bad:
    gw_reply_error(r, 400, "%s must be an integer from %ld to %ld", key, lo, hi);
    return -1;
}

static int
route_arg_double(gw_req *r, const char *key, double *v)
{
    char buf[64], *end;
    int rc = gw_req_query(r, key, 0, buf, sizeof buf);
    double x;

    if (rc == 0)
        return 0;
    if (rc < 0 || buf[0] == '\0')
        goto bad;
    x = strtod(buf, &end);
    if (*end != '\0' || !isfinite(x))
        goto bad;
    *v = x;
    return 1;
bad:
    gw_reply_error(r, 400, "%s must be a number", key);
    return -1;
}

/* aggMode: 1 sum, 0 max, -1 after answering 400. */
static int
route_arg_aggmode(gw_req *r)
{
    char buf[32];
    int rc = gw_req_query(r, "aggMode", 0, buf, sizeof buf);

    if (rc == 0 || (rc == 1 && strcasecmp(buf, "max") == 0))
        return 0;
    if (rc == 1 && strcasecmp(buf, "sum") == 0)
        return 1;
    if (rc == 1 && (strcasecmp(buf, "edge") == 0 || strcasecmp(buf, "core") == 0))
        gw_reply_error(r, 400, "aggMode %s needs a topology, which sfa does not keep", buf);
    else
        gw_reply_error(r, 400, "aggMode must be max or sum");
    return -1;
}

/* Optional query-time filter over the keys of flow spec (borrowed):
 * checked by compiling it against the definition, then passed on. 0 none,
 * 1 set in body, -1 after answering 400. */
static int
route_arg_filter(gw_req *r, const json_t *spec, json_t *body)
{
    char *buf = sfa_xmalloc(QUERY_FILTER_MAX), err[320];
    int rc = gw_req_query(r, "filter", 0, buf, QUERY_FILTER_MAX), ret = 0;
    sfa_flowdef *fd = NULL;
    sfa_flowquery *fq = NULL;
    json_t *text;

    if (rc < 0) {
        gw_reply_error(r, 400, "filter is badly escaped or longer than %d bytes",
                       QUERY_FILTER_MAX - 1);
        ret = -1;
    } else if (rc == 1 && buf[0] != '\0') {
        text = json_string(buf);
        if (!text) {
            gw_reply_error(r, 400, "bad filter: not valid text");
            ret = -1;
        } else if (sfa_flowdef_compile(spec, &fd, err, sizeof err) != 0 ||
                   sfa_flowquery_compile(fd, buf, strlen(buf), &fq, err, sizeof err) != 0) {
            /* Compile messages about the filter begin "filter: " already. */
            gw_reply_error(r, 400, "bad filter: %s", strncmp(err, "filter: ", 8) ? err : err + 8);
            json_decref(text);
            ret = -1;
        } else {
            json_object_set_new(body, "filter", text);
            ret = 1;
        }
        sfa_flowquery_destroy(fq);
        sfa_flowdef_destroy(fd);
    }
    free(buf);
    return ret;
}

/* ---- survey completion ---- */

/* The "result" of each well-formed answer to op; counts the bad ones.
 * Returns how many went into results (each a new reference). */
static size_t
route_collect(gw_ctx *g, const sfa_survey_result *res, const char *op, json_t **results)
{
    size_t k = 0;

    for (size_t i = 0; i < res->nanswers; i++) {
        json_t *b = sfa_survey_msg_json(res->answers[i].msg, res->answers[i].len);
        json_t *o = json_object_get(b, "op"), *result = json_object_get(b, "result");

        if (!b || !json_is_string(o) || strcmp(json_string_value(o), op) != 0 || !result)
            g->qst.answers_bad++;
        else
            results[k++] = json_incref(result);
        json_decref(b);
    }
    return k;
}

static void
route_batch_unlink(route_q *q)
{
    if (q->prev)
        q->prev->next = q->next;
    else
        q->g->batches = q->next;
    if (q->next)
        q->next->prev = q->prev;
}

static void
route_batch_free(route_q *q)
{
    free(q->holds);
    free(q->key);
    free(q);
}

static void
route_batch_add(route_q *q, gw_hold *h)
{
    if (q->nholds == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 4;
        q->holds = sfa_xrealloc(q->holds, q->cap * sizeof *q->holds);
    }
    q->holds[q->nholds++] = h;
}

static int
route_batch_alive(const route_q *q)
{
    for (size_t i = 0; i < q->nholds; i++)
        if (gw_hold_alive(q->holds[i]))
            return 1;
    return 0;
}

static void
route_flow_entry(const sfa_flow_entry *e, void *arg)
{
    gw_flow_merge_add(arg, e);
}

/* Merge the activeflows answers straight from the messages (no JSON tree
 * per entry: this is the hot path of the busiest query). */
static json_t *
route_merge_flows(gw_ctx *g, const sfa_survey_result *res, const route_q *q)
{
    gw_flow_merge *m;
    json_t *out;

    if (!route_batch_alive(q))
        return json_array();
    m = gw_flow_merge_new(q->agg_sum);
    for (size_t i = 0; i < res->nanswers; i++)
        if (sfa_survey_each_flow(res->answers[i].msg, res->answers[i].len, "activeflows",
                                 route_flow_entry, m, &g->mst.bad_entries) < 0)
            g->qst.answers_bad++;
    out = gw_flow_merge_result(m, q->max_flows, q->min_value);
    gw_flow_merge_free(m);
    return out;
}

static void
route_query_done(const sfa_survey_result *res, void *arg)
{
    route_q *q = arg;
    gw_ctx *g = q->g;
    const char *op = q->op == QUERY_ACTIVEFLOWS ? "activeflows" : "flowkeys";
    json_t **results = NULL, *merged;
    size_t k = 0;

    route_batch_unlink(q);
    if (res->status == -ETIMEDOUT)
        g->qst.query_timeouts++;
    if (res->expected > res->nanswers)
        g->qst.answers_missing += res->expected - res->nanswers;
    if (res->status == SFA_EBUS && res->nanswers == 0 && res->expected > 0) {
        for (size_t i = 0; i < q->nholds; i++)
            gw_hold_reply_error(q->holds[i], 503, "query failed: the bus is closing");
        route_batch_free(q);
        return;
    }
    if (q->op == QUERY_ACTIVEFLOWS) {
        merged = route_merge_flows(g, res, q);
    } else {
        if (route_batch_alive(q)) {
            results = sfa_xcalloc(res->nanswers ? res->nanswers : 1, sizeof *results);
            k = route_collect(g, res, op, results);
        }
        merged = gw_merge_flowkeys(results, k);
    }
    for (size_t i = 0; i < k; i++)
        json_decref(results[i]);
    free(results);
    for (size_t i = 0; i < q->nholds; i++)
        gw_hold_reply_json(q->holds[i], 200, json_incref(merged));
    json_decref(merged);
    route_batch_free(q);
}

/* Answer r later with the result of body (taken): join an identical
 * survey in flight, or start one. */
static int
route_scatter(gw_req *r, gw_ctx *g, route_q *proto, json_t *body)
{
    char *key = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    route_q *q;
    int rc;

    if (!g->sv || !key) {
        json_decref(body);
        free(key);
        gw_reply_error(r, 503, "shutting down");
        return GW_DONE;
    }
    g->qst.queries++;
    for (q = g->batches; q; q = q->next) {
        if (strcmp(q->key, key) == 0) {
            g->qst.coalesced++;
            route_batch_add(q, gw_req_hold(r));
            json_decref(body);
            free(key);
            return GW_PENDING;
        }
    }
    q = sfa_xcalloc(1, sizeof *q);
    q->g = g;
    q->key = key;
    q->op = proto->op;
    q->agg_sum = proto->agg_sum;
    q->max_flows = proto->max_flows;
    q->min_value = proto->min_value;
    rc = sfa_survey_start_json(g->sv, QUERY_SRC, body, (int)g->cfg->query_timeout_ms,
                               route_query_done, q);
    json_decref(body);
    if (rc != 0) {
        g->qst.busy++;
        gw_reply_error(r, 503, "too many queries in flight");
        route_batch_free(q);
        return GW_DONE;
    }
    route_batch_add(q, gw_req_hold(r));
    q->next = g->batches;
    if (g->batches)
        g->batches->prev = q;
    g->batches = q;
    return GW_PENDING;
}

/* ---- handlers ---- */

static int
route_activeflows(gw_req *r, void *arg)
{
    gw_ctx *g = arg;
    const char *name = gw_req_param(r, "name"), *sel = gw_req_param(r, "agent");
    route_q q = {.op = QUERY_ACTIVEFLOWS, .max_flows = QUERY_MAX_FLOWS_DEFAULT};
    json_t *agents = NULL, *body, *spec;
    char err[256];

    if (!gw_name_valid(name)) {
        gw_reply_error(r, 400, "bad flow name: use 1 to %d of A-Z a-z 0-9 _ . -", GW_NAME_MAX);
        return GW_DONE;
    }
    if (!(spec = gw_state_spec(g->state, GW_FLOWS, name))) {
        gw_reply_error(r, 404, "no such flow '%s'", name);
        return GW_DONE;
    }
    if (gw_agents_parse(sel, &agents, err, sizeof err) != 0) {
        gw_reply_error(r, 400, "%s", err);
        return GW_DONE;
    }
    if (route_arg_long(r, "maxFlows", 0, QUERY_MAX_FLOWS_LIMIT, &q.max_flows) < 0 ||
        route_arg_double(r, "minValue", &q.min_value) < 0 ||
        (q.agg_sum = route_arg_aggmode(r)) < 0) {
        json_decref(agents);
        return GW_DONE;
    }
    body = json_pack("{s:s, s:s, s:o, s:I, s:f, s:s}", "op", "activeflows", "name", name, "agents",
                     agents, "maxFlows", (json_int_t)q.max_flows, "minValue", q.min_value,
                     "aggMode", q.agg_sum ? "sum" : "max");
    if (route_arg_filter(r, spec, body) < 0) {
        json_decref(body);
        return GW_DONE;
    }
    return route_scatter(r, g, &q, body);
}

static int
route_flowkeys(gw_req *r, void *arg)
{
    route_q q = {.op = QUERY_FLOWKEYS};

    return route_scatter(r, arg, &q, json_pack("{s:s}", "op", "flowkeys"));
}

const gw_route gw_query_routes[] = {
    {GW_GET, "/activeflows/{agent}/{name}/json", route_activeflows},
    {GW_GET, "/flowkeys/json", route_flowkeys},
    {0, NULL, NULL},
};
