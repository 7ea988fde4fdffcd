/* aggregator.c - the sfa-aggregator service: sockets, timers, signals.
 *
 * Wires the pieces of agg.h onto one libuv loop:
 *   - a subscriber to the gateway's defs.v1 (bus.defs): each message is
 *     applied (defs.c) and, when the member list changed, the bucket
 *     assignment is recomputed (assign.c);
 *   - the lane subscribers of assign.c, whose messages go to ingest.c;
 *   - a respondent to the gateway's surveys (bus.query, respond.c);
 *   - a timer that sweeps idle keys out of every table and silent data
 *     sources out of the counter metrics;
 *   - a publisher dialling the events service (bus.metrics) and a timer
 *     that reports, every events.interval ms, the metrics the thresholds
 *     of defs.v1 name (metrics_walk.c, metrics_pub.c);
 *   - a publisher dialling the gateway's bus.flowlog and, on the same
 *     timer, the scan that logs the flows of log:true definitions
 *     (flow_log.c);
 *   - SIGINT/SIGTERM stop the service cleanly, SIGHUP is logged.
 * A lost gateway or collector is not fatal: nng redials in the background
 * and the aggregator keeps what it has (it keeps its buckets until a
 * defs.v1 says otherwise). Loop thread only.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/log.h>
#include <sfa/mem.h>

#include "agg.h"
#include "counters.h"
#include "flow_log.h"
#include "metrics_pub.h"

#define AGG_DEFS_RCVBUF 16
#define AGG_RESPOND_CONCURRENCY 8

struct agg_service {
    uv_loop_t *loop;
    const agg_config *cfg;
    agg_core core;
    agg_assign *assign;
    sfa_bus *defs;
    sfa_responder *resp;
    agg_metrics_pub *mpub;
    agg_flowlog *flowlog;
    uv_timer_t sweep, metrics;
    uv_signal_t sigint, sigterm, sighup;
    int started, stopping;
};

static void
service_on_samples(sfa_bus *bus, const uint8_t *msg, size_t len, void *arg)
{
    agg_service *s = arg;

    (void)bus;
    agg_ingest_msg(&s->core, msg, len, agg_now());
}

static void
service_on_defs(sfa_bus *bus, const uint8_t *msg, size_t len, void *arg)
{
    agg_service *s = arg;
    sfa_envelope env;
    json_t *body;
    int rc;

    (void)bus;
    if (s->stopping)
        return;
    if (sfa_codec_parse(msg, len, &env) != 0 || !(body = sfa_codec_body_json(&env))) {
        s->core.st.defs_msgs++;
        s->core.st.defs_errors++;
        return;
    }
    rc = agg_defs_apply(&s->core, body, agg_now());
    if (s->mpub)
        agg_metrics_pub_set_thresholds(s->mpub, json_object_get(body, "thresholds"));
    json_decref(body);
    if (rc > 0)
        (void)agg_assign_update(s->assign, &s->core);
}

static void
service_on_sweep(uv_timer_t *t)
{
    agg_service *s = t->data;
    double now = agg_now();

    for (size_t i = 0; i < s->core.ndefs; i++)
        agg_table_sweep(s->core.defs[i].table, now);
    agg_counters_expire(s->core.counters, now);
}

static void
service_on_metrics(uv_timer_t *t)
{
    agg_service *s = t->data;

    double now = agg_now();

    (void)agg_metrics_walk_tick(&s->core, s->mpub, now); /* failures are counted */
    for (size_t i = 0; i < s->core.ndefs; i++)
        if (s->core.defs[i].log)
            agg_flowlog_def_scan(s->core.defs[i].log, now);
    (void)agg_flowlog_flush(s->flowlog);
}

static void
service_on_signal(uv_signal_t *h, int signum)
{
    agg_service *s = h->data;

    if (signum == SIGHUP) {
        SFA_INFO("SIGHUP: reload not supported; definitions come from the gateway");
        return;
    }
    SFA_INFO("stopping on signal %d", signum);
    agg_service_stop(s);
}

agg_service *
agg_service_create(uv_loop_t *loop, const agg_config *cfg)
{
    agg_service *s = sfa_xcalloc(1, sizeof *s);

    s->loop = loop;
    s->cfg = cfg;
    agg_core_init(&s->core, cfg, agg_now());
    return s;
}

static void
service_handle_init(agg_service *s, uv_handle_t *h)
{
    h->data = s;
}

static int
service_open_buses(agg_service *s)
{
    int rc;

    /* Before defs.v1 can arrive: log:true definitions need it. */
    rc = agg_flowlog_open(&s->flowlog, s->loop, s->cfg->bus_flowlog, s->core.id);
    if (rc != 0) {
        SFA_SEVERE("cannot dial bus.flowlog %s: %s", s->cfg->bus_flowlog, sfa_strerror(rc));
        return rc;
    }
    s->core.flowlog = s->flowlog;
    s->assign = agg_assign_create(s->loop, s->cfg->bus_collectors, (int)s->cfg->bus_lanes,
                                  (int)s->cfg->bus_rcvbuf, service_on_samples, s);
    if (!s->assign)
        return SFA_ECONFIG;
    rc = sfa_bus_sub_open(&s->defs, s->loop, s->cfg->bus_defs, AGG_DEFS_RCVBUF, service_on_defs, s);
    if (rc == 0)
        rc = sfa_bus_subscribe(s->defs, "defs.v1", sizeof "defs.v1"); /* with its NUL */
    if (rc != 0) {
        SFA_SEVERE("cannot dial bus.defs %s: %s", s->cfg->bus_defs, sfa_strerror(rc));
        return rc;
    }
    rc = sfa_respond_open(&s->resp, s->loop, s->cfg->bus_query, AGG_RESPOND_CONCURRENCY,
                          agg_respond_on_survey, &s->core);
    if (rc != 0) {
        SFA_SEVERE("cannot dial bus.query %s: %s", s->cfg->bus_query, sfa_strerror(rc));
        return rc;
    }
    rc = agg_metrics_pub_open(&s->mpub, s->loop, s->cfg->bus_metrics, s->core.id);
    if (rc != 0) {
        SFA_SEVERE("cannot dial bus.metrics %s: %s", s->cfg->bus_metrics, sfa_strerror(rc));
        return rc;
    }
    return 0;
}

int
agg_service_start(agg_service *s)
{
    uint64_t ms = (uint64_t)(s->cfg->sweep_interval * 1000);
    int rc;

    s->started = 1;
    (void)uv_timer_init(s->loop, &s->sweep);
    service_handle_init(s, (uv_handle_t *)&s->sweep);
    (void)uv_timer_init(s->loop, &s->metrics);
    service_handle_init(s, (uv_handle_t *)&s->metrics);
    (void)uv_signal_init(s->loop, &s->sigint);
    service_handle_init(s, (uv_handle_t *)&s->sigint);
    (void)uv_signal_init(s->loop, &s->sigterm);
    service_handle_init(s, (uv_handle_t *)&s->sigterm);
    (void)uv_signal_init(s->loop, &s->sighup);
    service_handle_init(s, (uv_handle_t *)&s->sighup);
    (void)uv_signal_start(&s->sigint, service_on_signal, SIGINT);
    (void)uv_signal_start(&s->sigterm, service_on_signal, SIGTERM);
    (void)uv_signal_start(&s->sighup, service_on_signal, SIGHUP);
    if ((rc = service_open_buses(s)) != 0)
        return rc;
    (void)uv_timer_start(&s->sweep, service_on_sweep, ms ? ms : 1, ms ? ms : 1);
    (void)uv_timer_start(&s->metrics, service_on_metrics, (uint64_t)s->cfg->events_interval,
                         (uint64_t)s->cfg->events_interval);
    SFA_INFO("aggregator %s: collectors %s (%ld lanes), defs %s, query %s, maxkeys %ld", s->core.id,
             s->cfg->bus_collectors, s->cfg->bus_lanes, s->cfg->bus_defs, s->cfg->bus_query,
             s->cfg->maxkeys);
    return 0;
}

void
agg_service_stop(agg_service *s)
{
    if (s->stopping)
        return;
    s->stopping = 1;
    sfa_respond_close(s->resp);
    s->resp = NULL;
    sfa_bus_close(s->defs);
    s->defs = NULL;
    agg_metrics_pub_close(s->mpub);
    s->mpub = NULL;
    agg_flowlog_close(s->flowlog); /* the definitions' logs are only destroyed now */
    s->flowlog = NULL;
    s->core.flowlog = NULL;
    agg_assign_destroy(s->assign);
    s->assign = NULL;
    if (s->started) {
        uv_close((uv_handle_t *)&s->sweep, NULL);
        uv_close((uv_handle_t *)&s->metrics, NULL);
        uv_close((uv_handle_t *)&s->sigint, NULL);
        uv_close((uv_handle_t *)&s->sigterm, NULL);
        uv_close((uv_handle_t *)&s->sighup, NULL);
    }
}

void
agg_service_destroy(agg_service *s)
{
    if (!s)
        return;
    agg_core_fini(&s->core);
    free(s);
}
