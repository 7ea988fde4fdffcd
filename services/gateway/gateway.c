/* gateway.c - assemble the gateway service on one libuv loop, and take it
 * apart again.
 *
 * Start order: the long-poll logs, the definition store (refuse to start
 * rather than lose stored definitions), the HTTP listener with its route
 * tables, then surveyor, membership, defs publisher, the events.v1 and
 * flowlog.v1 feeds and the collector control subscriber. Requests
 * are only served once the loop runs, after all of it exists. A
 * membership change raises the definitions version and republishes.
 *
 * Stop (SIGINT/SIGTERM) is staged: the HTTP server stops accepting and
 * half-closes its connections; the surveyor closes, which answers every
 * query still in flight; then a short timer waits for h2o to close the
 * connections (at most GW_STOP_GRACE_MS) before the remaining parts close
 * and the loop runs dry. A watchdog thread ends the process if the stop
 * itself hangs (see gw_watchdog). Loop thread only, but for the watchdog.
 */
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <sfa/clock.h>
#include <sfa/log.h>

#include "gw.h"

#define GW_SRC "gateway"
#define GW_HELLO_INTERVAL_MS 1000
#define GW_HELLO_DEADLINE_MS 500
#define GW_BODY_MAX (1u << 20)
#define GW_STOP_TICK_MS 10
#define GW_STOP_GRACE_MS 2000
#define GW_STOP_WATCHDOG_S 5

static void
gw_on_members(void *arg)
{
    gw_ctx *g = arg;

    /* The version covers membership too: aggregators apply defs.v1 by
     * version, and a new member list must not look like an old message. */
    if (gw_state_bump(g->state) != 0)
        SFA_FINE("members: version raised but not yet persisted");
    if (g->defs)
        gw_defs_pub_changed(g->defs);
}

static void
gw_on_signal(uv_signal_t *s, int signum)
{
    SFA_INFO("Signal %d, stopping", signum);
    gw_stop(s->data);
}

/* Close everything but the HTTP server's memory and the state store, which
 * main releases after the loop. */
static void
gw_close_parts(gw_ctx *g)
{
    if (g->http) {
        gw_http_shutdown(g->http); /* no-op when gw_stop did it already */
        gw_http_close(g->http);
    }
    gw_browse_close(g->browse);
    g->browse = NULL;
    gw_promflows_close(g->promflows);
    g->promflows = NULL;
    gw_members_close(g->members);
    g->members = NULL;
    gw_defs_pub_close(g->defs);
    g->defs = NULL;
    gw_collectors_close(g->cols);
    g->cols = NULL;
    gw_feeds_close(g->feeds);
    g->feeds = NULL;
    gw_lp_destroy(g->events);
    g->events = NULL;
    gw_lp_destroy(g->flows);
    g->flows = NULL;
    if (!uv_is_closing((uv_handle_t *)&g->sigint)) {
        uv_close((uv_handle_t *)&g->sigint, NULL);
        uv_close((uv_handle_t *)&g->sigterm, NULL);
    }
    if (!uv_is_closing((uv_handle_t *)&g->stop_timer))
        uv_close((uv_handle_t *)&g->stop_timer, NULL);
}

static void
gw_stop_tick(uv_timer_t *t)
{
    gw_ctx *g = t->data;
    int late = sfa_clock_ms() - g->stop_ms > GW_STOP_GRACE_MS;

    if (g->http && gw_http_conns(g->http) > 0 && !late)
        return;
    gw_close_parts(g);
    if (late && g->http && gw_http_conns(g->http) > 0)
        uv_stop(g->loop); /* h2o still owns connections: leave them to exit */
}

/* A stop must not hang the process: nng 1.5's nng_close can wait forever
 * when a socket closes while a message is arriving (an nng bug fixed in
 * 1.8). Definitions are already on disk, so exiting is safe. */
static void *
gw_watchdog(void *arg)
{
    (void)arg;
    sleep(GW_STOP_WATCHDOG_S);
    SFA_WARN("Stop still running after %d s (a bus close hung): exiting", GW_STOP_WATCHDOG_S);
    _exit(2);
    return NULL;
}

void
gw_stop(gw_ctx *g)
{
    pthread_attr_t attr;
    pthread_t t;

    if (g->stopping)
        return;
    g->stopping = 1;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, gw_watchdog, NULL) != 0)
        SFA_WARN("Stop: no watchdog thread");
    pthread_attr_destroy(&attr);
    g->stop_ms = sfa_clock_ms();
    /* Parked long-polls answer now, so their connections can close. */
    if (g->events)
        gw_lp_release(g->events);
    if (g->flows)
        gw_lp_release(g->flows);
    if (g->http)
        gw_http_shutdown(g->http);
    if (g->members)
        gw_members_stop(g->members);
    sfa_survey_close(g->sv); /* answers the queries still in flight */
    g->sv = NULL;
    (void)uv_timer_start(&g->stop_timer, gw_stop_tick, 0, GW_STOP_TICK_MS);
}

static int
gw_start_bus(gw_ctx *g)
{
    const gw_config *cfg = g->cfg;
    int rc;

    if ((rc = sfa_survey_open(&g->sv, g->loop, cfg->bus_query)) != 0)
        return rc;
    if ((rc = gw_members_open(&g->members, g->loop, g->sv, GW_SRC, GW_HELLO_INTERVAL_MS,
                              GW_HELLO_DEADLINE_MS, gw_on_members, g)) != 0)
        return rc;
    if ((rc = gw_defs_pub_open(&g->defs, g->loop, cfg->bus_defs, g->state, g->members,
                               (int)cfg->bus_lanes, GW_SRC)) != 0)
        return rc;
    if ((rc = gw_feeds_open(&g->feeds, g)) != 0)
        return rc;
    if ((rc = gw_browse_open(&g->browse, g)) != 0)
        return rc;
    if ((rc = gw_promflows_open(&g->promflows, g)) != 0)
        return rc;
    return gw_collectors_open(&g->cols, g->loop, cfg->bus_control);
}

static int
gw_start_http(gw_ctx *g)
{
    gw_http_opts opts = {
        .host = g->cfg->http_hostname,
        .port = (int)g->cfg->http_port,
        .readonly = g->cfg->http_readonly,
        .log = g->cfg->http_log,
        .body_max = GW_BODY_MAX,
    };
    int rc;

    if ((rc = gw_http_open(&g->http, g->loop, &opts)) != 0)
        return rc;
    /* Browse Flows' native routes first: they win over any generic
     * /app/{app}/scripts/... route a later table adds. */
    gw_http_add_routes(g->http, gw_browse_routes, g);
    gw_http_add_routes(g->http, gw_flow_routes, g);
    gw_http_add_routes(g->http, gw_query_routes, g);
    gw_http_add_routes(g->http, gw_health_routes, g);
    gw_http_add_routes(g->http, gw_event_routes, g);
    gw_http_add_routes(g->http, gw_metric_routes, g);
    gw_http_add_routes(g->http, gw_prometheus_routes, g);
    gw_http_add_routes(g->http, gw_app_routes, g);     /* scripts' HTTP handlers */
    gw_http_add_routes(g->http, gw_www_routes, g);     /* the web pages */
    gw_http_add_routes(g->http, gw_apphtml_routes, g); /* dropped-in apps' pages */
    gw_www_announce(g->cfg);
    return 0;
}

int
gw_start(gw_ctx *g, uv_loop_t *loop, const gw_config *cfg)
{
    int rc;

    memset(g, 0, sizeof *g);
    g->cfg = cfg;
    g->loop = loop;
    g->start_ms = sfa_clock_ms();
    g->start_wall_ms = sfa_clock_wall_ms();
    (void)uv_timer_init(loop, &g->stop_timer);
    g->stop_timer.data = g;
    (void)uv_signal_init(loop, &g->sigint);
    (void)uv_signal_init(loop, &g->sigterm);
    g->sigint.data = g->sigterm.data = g;
    g->events = gw_lp_create(loop, (size_t)cfg->events_max, "eventID", "thresholdID");
    g->flows = gw_lp_create(loop, (size_t)cfg->flows_max, "flowID", "name");
    /* The HTTP port is bound before the bus sockets, so a second gateway
     * started by mistake fails on the port without touching the first
     * one's bus; no request runs before gw_start returns to the loop. */
    if ((rc = gw_state_open(&g->state, cfg->state_dir, gw_defs_check)) != 0 ||
        (rc = gw_start_http(g)) != 0 || (rc = gw_start_bus(g)) != 0)
        goto fail;
    (void)uv_signal_start(&g->sigint, gw_on_signal, SIGINT);
    (void)uv_signal_start(&g->sigterm, gw_on_signal, SIGTERM);
    return 0;
fail:
    g->stopping = 1;
    sfa_survey_close(g->sv);
    g->sv = NULL;
    gw_close_parts(g);
    return rc;
}

void
gw_finish(gw_ctx *g)
{
    gw_http_free(g->http);
    g->http = NULL;
    gw_state_close(g->state);
    g->state = NULL;
}
