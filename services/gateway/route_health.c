/* route_health.c - the engine's own state over REST.
 *
 *   GET /version          text, sFlow-RT style "3.0-sfa-<version>"
 *   GET /analyzer/json    sFlow-RT's health fields (spec §5.2) from the
 *                         collectors' stats.v1, the aggregators' hellos and
 *                         the gateway's counters, plus sfa* extras
 *   GET /agents/json      sFlow-RT's agent table, merged over collectors;
 *                         ?agent=a&agent=b (or a comma list) filters
 *   GET /sfa/v1/stats     every service's counters, keyed by service id
 *
 * Everything here is answered from state the bus callbacks keep; nothing
 * waits on the bus. Process figures come from /proc and getrusage. JVM
 * fields that have no meaning here (gcCount, ...) are present and zero, so
 * dashboards built for sFlow-RT keep working. Loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <sfa/clock.h>
#include <sfa/mem.h>

#include "gw.h"

#ifndef SFA_VERSION
#define SFA_VERSION "0.0.0"
#endif

#define HEALTH_AGENT_PARAMS 256

/* Process CPU time in ms. */
static uint64_t
health_cpu_ms(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

/* A "Name: value" line of /proc/self/status, or 0. */
static uint64_t
health_proc_status(const char *name)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t n = strlen(name);
    uint64_t v = 0;

    if (!f)
        return 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, name, n) == 0 && line[n] == ':') {
            v = strtoull(line + n + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

static int
route_version(gw_req *r, void *arg)
{
    (void)arg;
    gw_reply_text(r, 200, "3.0-sfa-" SFA_VERSION);
    return GW_DONE;
}

static void
health_set_u(json_t *o, const char *k, uint64_t v)
{
    json_object_set_new(o, k, json_integer((json_int_t)v));
}

/* Sum of a numeric counter over the hello stats of respondents of role. */
static uint64_t
health_role_sum(json_t *members, const char *role, const char *name)
{
    const char *id, *r;
    json_t *m, *v;
    uint64_t sum = 0;

    json_object_foreach(members, id, m)
    {
        r = json_string_value(json_object_get(m, "role"));
        if (!r || strcmp(r, role) != 0)
            continue;
        v = json_object_get(json_object_get(m, "stats"), name);
        if (json_is_number(v) && json_number_value(v) > 0)
            sum += (uint64_t)json_number_value(v);
    }
    return sum;
}

static void
health_process_fields(json_t *o, gw_ctx *g)
{
    static uint64_t last_cpu, last_wall;
    uint64_t cpu = health_cpu_ms(), now = sfa_clock_ms();
    long nproc = sysconf(_SC_NPROCESSORS_ONLN);
    struct sysinfo si;
    double load = 0, sysload = 0;

    if (now > last_wall && last_wall)
        load = (double)(cpu - last_cpu) / (double)(now - last_wall) / (nproc > 0 ? nproc : 1);
    else if (now > g->start_ms)
        load = (double)cpu / (double)(now - g->start_ms) / (nproc > 0 ? nproc : 1);
    last_cpu = cpu;
    last_wall = now;
    memset(&si, 0, sizeof si);
    (void)sysinfo(&si);
    sysload = (double)si.loads[0] / (double)(1 << SI_LOAD_SHIFT) / (nproc > 0 ? nproc : 1);
    health_set_u(o, "availableProcessors", nproc > 0 ? (uint64_t)nproc : 1);
    health_set_u(o, "heapMax", (uint64_t)si.totalram * si.mem_unit);
    health_set_u(o, "heapUsed", health_proc_status("VmRSS") * 1024);
    health_set_u(o, "threadCount", health_proc_status("Threads"));
    health_set_u(o, "threadDaemonCount", 0);
    health_set_u(o, "threadTotalStartedCount", health_proc_status("Threads"));
    health_set_u(o, "gcCount", 0);
    health_set_u(o, "gcTime", 0);
    health_set_u(o, "cpuTime", cpu);
    health_set_u(o, "memTotal", (uint64_t)si.totalram * si.mem_unit);
    health_set_u(o, "memFree", (uint64_t)si.freeram * si.mem_unit);
    json_object_set_new(o, "cpuLoadSystem", json_real(sysload > 1 ? 1 : sysload));
    json_object_set_new(o, "cpuLoadProcess", json_real(load > 1 ? 1 : load));
}

json_t *
gw_analyzer_json(gw_ctx *g)
{
    json_t *o = json_object(), *agents = gw_collectors_agents(g->cols);
    json_t *members = gw_members_json(g->members);
    const gw_collectors *c = g->cols;
    gw_http_stats hs;
    sfa_survey_stats ss;

    gw_http_get_stats(g->http, &hs);
    memset(&ss, 0, sizeof ss);
    if (g->sv)
        sfa_survey_get_stats(g->sv, &ss);
    health_set_u(o, "uptime", sfa_clock_ms() - g->start_ms);
    health_set_u(o, "sFlowAgents", json_object_size(agents));
    health_set_u(o, "sFlowDatagramsReceived", gw_collectors_sum(c, "decode_datagrams"));
    health_set_u(o, "sFlowBytesReceived", gw_collectors_sum(c, "decode_bytes"));
    health_set_u(o, "sFlowDatagramsDiscarded", gw_collectors_sum(c, "udp_kernel_drops"));
    health_set_u(o, "sFlowParseErrors",
                 gw_collectors_sum(c, "decode_parse_errors") +
                     gw_collectors_sum(c, "decode_not_sflow"));
    health_set_u(o, "sFlowUnsupportedVersion", gw_collectors_sum(c, "decode_unsupported_version"));
    health_set_u(o, "flowsGenerated", health_role_sum(members, "aggregator", "flows_generated"));
    health_set_u(o, "flowsLost", health_role_sum(members, "aggregator", "flows_lost"));
    health_set_u(o, "eventsGenerated", health_role_sum(members, "events", "events"));
    health_set_u(o, "eventsLost", health_role_sum(members, "events", "eventsLost"));
    health_set_u(o, "httpConnectionsCurrent", hs.conns_current);
    health_set_u(o, "httpConnectionsTotal", hs.conns_total);
    health_set_u(o, "httpMessagesReceived", hs.requests);
    health_set_u(o, "httpMessagesSent", hs.responses);
    health_set_u(o, "httpBytesReceived", hs.bytes_in);
    health_set_u(o, "httpBytesSent", hs.bytes_out);
    health_process_fields(o, g);
    json_object_set_new(o, "version", json_string("3.0-sfa-" SFA_VERSION));
    json_object_set_new(o, "updateAvailable", json_false());
    /* sfa's own: the shape of the cluster and the gaps in it. */
    health_set_u(o, "sfaCollectors", gw_collectors_count(c));
    health_set_u(o, "sfaAggregatorsLive", gw_members_count(g->members));
    health_set_u(o, "sfaAggregatorsConnected", ss.peers);
    health_set_u(o, "sfaBusDrops",
                 gw_collectors_sum(c, "bus_send_failed") +
                     health_role_sum(members, "aggregator", "bus_gaps") + gw_collectors_gaps(c));
    health_set_u(o, "sfaQueries", g->qst.queries);
    health_set_u(o, "sfaQueryTimeouts", g->qst.query_timeouts);
    health_set_u(o, "sfaQueryAnswersMissing", g->qst.answers_missing);
    health_set_u(o, "sfaDefsVersion", gw_state_version(g->state));
    json_decref(agents);
    json_decref(members);
    return o;
}

static int
route_analyzer(gw_req *r, void *arg)
{
    gw_reply_json(r, 200, gw_analyzer_json(arg));
    return GW_DONE;
}

/* Keep only the agents named by ?agent= (repeatable, each may be a list).
 * 0, or -1 after answering 400. */
static int
health_filter_agents(gw_req *r, json_t **table)
{
    char buf[GW_PARAM_MAX], err[256];
    json_t *out = NULL, *list, *a;
    size_t i;
    int rc;

    for (int idx = 0; idx < HEALTH_AGENT_PARAMS; idx++) {
        if ((rc = gw_req_query(r, "agent", idx, buf, sizeof buf)) == 0)
            break;
        if (rc < 0 || gw_agents_parse(buf, &list, err, sizeof err) != 0) {
            gw_reply_error(r, 400, "%s", rc < 0 ? "bad agent parameter" : err);
            json_decref(out);
            return -1;
        }
        if (!out)
            out = json_object();
        if (json_is_string(list)) { /* ALL */
            json_object_update(out, *table);
        } else {
            json_array_foreach(list, i, a)
            {
                json_t *rec = json_object_get(*table, json_string_value(a));

                if (rec)
                    json_object_set(out, json_string_value(a), rec);
            }
        }
        json_decref(list);
    }
    if (out) {
        json_decref(*table);
        *table = out;
    }
    return 0;
}

static int
route_agents(gw_req *r, void *arg)
{
    gw_ctx *g = arg;
    json_t *table = gw_collectors_agents(g->cols);

    if (health_filter_agents(r, &table) < 0) {
        json_decref(table);
        return GW_DONE;
    }
    gw_reply_json(r, 200, table);
    return GW_DONE;
}

static json_t *
health_gateway_counters(gw_ctx *g)
{
    gw_http_stats hs;
    sfa_survey_stats ss;
    gw_state_stats st;

    gw_http_get_stats(g->http, &hs);
    memset(&ss, 0, sizeof ss);
    if (g->sv)
        sfa_survey_get_stats(g->sv, &ss);
    gw_state_get_stats(g->state, &st);
    return json_pack(
        "{s:s, s:I, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I},"
        " s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I},"
        " s:{s:I, s:I, s:I, s:I, s:I, s:I},"
        " s:{s:I, s:I, s:I, s:I}, s:I, s:I, s:I}",
        "service", "gateway", "uptime_ms", (json_int_t)(sfa_clock_ms() - g->start_ms), "http",
        "conns_total", (json_int_t)hs.conns_total, "conns_current", (json_int_t)hs.conns_current,
        "requests", (json_int_t)hs.requests, "responses", (json_int_t)hs.responses, "bytes_in",
        (json_int_t)hs.bytes_in, "bytes_out", (json_int_t)hs.bytes_out, "status_2xx",
        (json_int_t)hs.status_2xx, "status_4xx", (json_int_t)hs.status_4xx, "status_5xx",
        (json_int_t)hs.status_5xx, "pending", (json_int_t)hs.pending, "abandoned",
        (json_int_t)hs.abandoned, "survey", "started", (json_int_t)ss.started, "complete",
        (json_int_t)ss.complete, "timeouts", (json_int_t)ss.timeouts, "failed",
        (json_int_t)ss.failed, "answers", (json_int_t)ss.answers, "inflight",
        (json_int_t)ss.inflight, "peers", (json_int_t)ss.peers, "query", "queries",
        (json_int_t)g->qst.queries, "timeouts", (json_int_t)g->qst.query_timeouts,
        "answers_missing", (json_int_t)g->qst.answers_missing, "answers_bad",
        (json_int_t)g->qst.answers_bad, "busy", (json_int_t)g->qst.busy, "coalesced",
        (json_int_t)g->qst.coalesced, "state", "version", (json_int_t)gw_state_version(g->state),
        "writes", (json_int_t)st.writes, "write_errors", (json_int_t)st.write_errors,
        "load_dropped", (json_int_t)st.load_dropped, "defs_published",
        (json_int_t)gw_defs_pub_count(g->defs), "control_gaps",
        (json_int_t)gw_collectors_gaps(g->cols), "merge_bad_entries",
        (json_int_t)g->mst.bad_entries);
}

json_t *
gw_sfa_stats_json(gw_ctx *g)
{
    json_t *out = json_object(), *cols = gw_collectors_stats(g->cols);
    json_t *aggs = gw_members_json(g->members), *rec;
    const char *id;

    json_object_set_new(out, "gateway", health_gateway_counters(g));
    json_object_update_new(json_object_get(out, "gateway"), gw_events_stats_json(g));
    json_object_foreach(cols, id, rec)
    {
        json_t *o =
            json_pack("{s:s, s:O, s:O}", "service", "collector", "ageMs",
                      json_object_get(rec, "ageMs"), "counters", json_object_get(rec, "stats"));

        json_object_set_new(out, id, o);
    }
    json_object_foreach(aggs, id, rec)
    {
        json_t *o = json_deep_copy(rec);
        json_t *st = json_object_get(o, "stats");

        json_object_set(o, "service", json_object_get(o, "role"));
        json_object_del(o, "role");
        if (st) {
            json_object_set(o, "counters", st);
            json_object_del(o, "stats");
        }
        json_object_set_new(out, id, o);
    }
    json_decref(cols);
    json_decref(aggs);
    return out;
}

static int
route_sfa_stats(gw_req *r, void *arg)
{
    gw_reply_json(r, 200, gw_sfa_stats_json(arg));
    return GW_DONE;
}

const gw_route gw_health_routes[] = {
    {GW_GET, "/version", route_version},
    {GW_GET, "/analyzer/json", route_analyzer},
    {GW_GET, "/agents/json", route_agents},
    {GW_GET, "/sfa/v1/stats", route_sfa_stats},
    {0, NULL, NULL},
};
