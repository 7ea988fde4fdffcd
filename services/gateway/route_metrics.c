/* route_metrics.c - sFlow-RT's counter (and flow) metric API, answered by
 * the aggregators (proto/CONTROL.md, "Metrics"; spec section 4).
 *
 *   GET /metrics/json                    {name: ms since last update}
 *   GET /metric/{agent}/json             {"<ds>.<metric>": value} of one
 *                                        agent; 404 when no aggregator knows it
 *   GET /metric/{agent}/{metric}/json    one summary per requested name,
 *                                        [<agg>:][<ds>.]<metric>, in order
 *   GET /dump/{agent}/{metric}/json      every value (metric may be ALL)
 *   GET /table/{agent}/{metric}/json     rows of data sources having every
 *                                        column; sort:<m>[:<-N>] sorts, cuts
 *
 * {agent} is ALL or a list of addresses (',' or ';'), {metric} a list of
 * names; every query parameter is a filter on the data sources' metrics
 * (?os_name=linux&host_name=*web*). Everything is checked here (400 with
 * a message) before the survey goes to every aggregator; the answers are
 * merged with sfa/metricagg.h, so the result is the one a single
 * aggregator holding every agent would give. Missing answers (an
 * aggregator gone) are counted, never an error.
 *
 * Loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sfa/mem.h>
#include <sfa/metricagg.h>
#include <sfa/sflow.h>

#include "metricq.h"

enum { RM_METRICS, RM_METRIC, RM_AGENT, RM_DUMP, RM_TABLE };

/* One request waiting for its survey. */
typedef struct rm_req {
    gw_hold *h;
    int op;
    json_t *names; /* the requested names (metric, table) */
} rm_req;

static void
rm_req_free(rm_req *q)
{
    json_decref(q->names);
    free(q);
}

/* /metric/.../json without any answer: one empty summary per name, as an
 * aggregator without data would give. */
static json_t *
rm_metric_empty(const json_t *names)
{
    json_t *out = json_array(), *v;
    sfa_metric_name mn;
    size_t i;

    json_array_foreach(names, i, v)
    {
        const char *s = json_string_value(v);

        json_array_append_new(out, json_pack("{s:s, s:i}", "metricName",
                                             sfa_metric_name_parse(s, &mn) == 0 ? mn.label : s,
                                             "metricN", 0));
    }
    return out;
}

/* The answer of q from the aggregators' answers: status and body (new). */
static json_t *
rm_merge(const rm_req *q, json_t *const *answers, size_t n, int *status)
{
    const json_t **res = gw_mq_results(answers, n);
    json_t *out = NULL;
    int found = 0;

    *status = 200;
    switch (q->op) {
    case RM_METRICS:
        out = sfa_metricagg_merge_metrics(res, n);
        break;
    case RM_METRIC:
        out = n ? sfa_metricagg_merge_metric(res, n) : rm_metric_empty(q->names);
        break;
    case RM_AGENT:
        for (size_t i = 0; i < n; i++)
            found |= json_is_true(json_object_get(answers[i], "found"));
        if (found) {
            out = sfa_metricagg_merge_agent(res, n);
        } else {
            *status = 404;
            out = json_pack("{s:i, s:s}", "error", 404, "message", "unknown agent");
        }
        break;
    case RM_DUMP:
        out = sfa_metricagg_merge_dump(res, n);
        break;
    default:
        for (size_t i = 0; i < n && !out; i++)
            if (json_is_string(json_object_get(answers[i], "error"))) {
                *status = 400;
                out = json_pack("{s:i, s:O}", "error", 400, "message",
                                json_object_get(answers[i], "error"));
            }
        if (!out)
            out = sfa_metricagg_merge_table(res, n, q->names);
        break;
    }
    free(res);
    return out;
}

static void
rm_done(gw_ctx *g, json_t *const *answers, size_t n, int failed, void *arg)
{
    rm_req *q = arg;
    json_t *body;
    int status;

    (void)g;
    if (failed) {
        gw_hold_reply_error(q->h, 503, "query failed: the bus is closing");
    } else if (!gw_hold_alive(q->h)) {
        gw_hold_reply_json(q->h, 200, json_null()); /* dropped: the client left */
    } else {
        body = rm_merge(q, answers, n, &status);
        gw_hold_reply_json(q->h, status, body);
    }
    rm_req_free(q);
}

/* Survey body (taken) and answer r from its merged answers. */
static int
rm_scatter(gw_req *r, gw_ctx *g, int op, json_t *names, json_t *body)
{
    rm_req *q = sfa_xcalloc(1, sizeof *q);
    int rc;

    q->op = op;
    q->names = json_incref(names);
    rc = gw_mq_start(g, body, op == RM_DUMP || op == RM_TABLE ? gw_mq_bulk_timeout(g) : 0, rm_done,
                     q);
    if (rc != 0) {
        rm_req_free(q);
        gw_reply_error(r, 503, "%s",
                       rc == SFA_ELIMIT ? "too many queries in flight" : "shutting down");
        return GW_DONE;
    }
    q->h = gw_req_hold(r);
    return GW_PENDING;
}

/* The agents, names and filter of a path with {agent} and {metric}: a new
 * survey body {"op", "agents", "names", "filter"}, and *names (new). NULL
 * after answering 400. */
static json_t *
rm_args(gw_req *r, const char *op, int allow_sort, int allow_agg, int allow_all, json_t **names)
{
    json_t *agents = NULL, *filter = NULL, *body;
    char err[512];

    *names = NULL;
    if (gw_agents_parse(gw_req_param(r, "agent"), &agents, err, sizeof err) != 0 ||
        gw_mq_names(gw_req_param(r, "metric"), allow_sort, allow_agg, allow_all, names, err,
                    sizeof err) != 0 ||
        gw_mq_filter(r, NULL, &filter, err, sizeof err) != 0) {
        gw_reply_error(r, 400, "%s", err);
        json_decref(agents);
        json_decref(*names);
        *names = NULL;
        return NULL;
    }
    body = json_pack("{s:s, s:o, s:O}", "op", op, "agents", agents, "names", *names);
    if (filter)
        json_object_set_new(body, "filter", filter);
    return body;
}

/* ---- handlers ---- */

static int
route_metrics_list(gw_req *r, void *arg)
{
    return rm_scatter(r, arg, RM_METRICS, NULL, json_pack("{s:s}", "op", "metrics"));
}

static int
route_metric_agent(gw_req *r, void *arg)
{
    const char *sel = gw_req_param(r, "agent");
    char canon[64];
    sfa_addr a;

    if (strcasecmp(sel, "ALL") == 0 || strpbrk(sel, ",;")) {
        gw_reply_error(r, 400, "/metric/{agent}/json takes one agent address");
        return GW_DONE;
    }
    if (sfa_addr_parse(sel, &a) != 0) {
        gw_reply_error(r, 404, "unknown agent '%.64s'", sel);
        return GW_DONE;
    }
    canon[sfa_addr_format(&a, canon)] = '\0';
    return rm_scatter(r, arg, RM_AGENT, NULL,
                      json_pack("{s:s, s:s}", "op", "metric_agent", "agent", canon));
}

static int
route_metric(gw_req *r, void *arg)
{
    json_t *names, *body = rm_args(r, "metric", 0, 1, 0, &names);
    int rc;

    if (!body)
        return GW_DONE;
    rc = rm_scatter(r, arg, RM_METRIC, names, body);
    json_decref(names);
    return rc;
}

static int
route_dump(gw_req *r, void *arg)
{
    json_t *names, *body = rm_args(r, "dump", 0, 0, 1, &names);
    int rc;

    if (!body)
        return GW_DONE;
    rc = rm_scatter(r, arg, RM_DUMP, names, body);
    json_decref(names);
    return rc;
}

static int
route_table(gw_req *r, void *arg)
{
    json_t *names, *body = rm_args(r, "table", 1, 0, 0, &names);
    int rc;

    if (!body)
        return GW_DONE;
    rc = rm_scatter(r, arg, RM_TABLE, names, body);
    json_decref(names);
    return rc;
}

const gw_route gw_metric_routes[] = {
    {GW_GET, "/metrics/json", route_metrics_list},
    {GW_GET, "/metric/{agent}/json", route_metric_agent},
    {GW_GET, "/metric/{agent}/{metric}/json", route_metric},
    {GW_GET, "/dump/{agent}/{metric}/json", route_dump},
    {GW_GET, "/table/{agent}/{metric}/json", route_table},
    {0, NULL, NULL},
};
