/* gw_config.c - the gateway's properties (sFlow-RT names where they exist),
 * as a table.
 *
 * The table drives parsing, range checks, --help and --dump-config (see
 * sfa/config.h). Defaults that depend on the process (the user id in bus
 * URLs, systemd's $STATE_DIRECTORY) are empty in the table and resolved
 * here after loading. Runs once at start-up, on the main thread.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sfa/log.h>
#include <sfa/mem.h>

#include "gw.h"

#define GW_OPT(name, type, def, field, min, max, help)                                             \
    {                                                                                              \
        name, type, def, offsetof(gw_config, field), min, max, help                                \
    }

const sfa_cfg_opt gw_config_table[] = {
    GW_OPT("http.port", SFA_CFG_INT, "8008", http_port, 0, 65535, "HTTP port (0 = any free port)"),
    GW_OPT("http.hostname", SFA_CFG_STR, NULL, http_hostname, 0, 0,
           "HTTP bind address (default: all, IPv4 and IPv6)"),
    GW_OPT("http.readonly", SFA_CFG_BOOL, "no", http_readonly, 0, 1,
           "refuse PUT and DELETE with 403"),
    GW_OPT("http.log", SFA_CFG_BOOL, "no", http_log, 0, 1, "log each HTTP request"),
    GW_OPT("sfa.state", SFA_CFG_STR, NULL, state_dir, 0, 0,
           "directory for durable definitions (default $STATE_DIRECTORY or ./state)"),
    GW_OPT("bus.defs", SFA_CFG_STR, NULL, bus_defs, 0, 0,
           "defs.v1 publisher URL (default ipc:///tmp/sfa-<uid>/defs)"),
    GW_OPT("bus.query", SFA_CFG_STR, NULL, bus_query, 0, 0,
           "query surveyor URL (default ipc:///tmp/sfa-<uid>/query)"),
    GW_OPT("bus.control", SFA_CFG_STR, NULL, bus_control, 0, 0,
           "collector control URLs to dial, comma separated "
           "(default ipc:///tmp/sfa-<uid>/control)"),
    GW_OPT("bus.lanes", SFA_CFG_INT, "4", bus_lanes, 1, 64,
           "sample lanes of the collectors (announced in defs.v1)"),
    GW_OPT("gateway.query.timeout", SFA_CFG_INT, "1000", query_timeout_ms, 10, 60000,
           "deadline of one scatter/gather query, ms"),
    GW_OPT("bus.events", SFA_CFG_STR, NULL, bus_events, 0, 0,
           "the events service's events.v1 publisher to dial "
           "(default ipc:///tmp/sfa-<uid>/events)"),
    GW_OPT("bus.flowlog", SFA_CFG_STR, NULL, bus_flowlog, 0, 0,
           "flowlog.v1 subscriber URL; listens, aggregators dial it "
           "(default ipc:///tmp/sfa-<uid>/flowlog)"),
    GW_OPT("events.max", SFA_CFG_INT, "1000", events_max, 1, 1000000,
           "events kept for /events/json (sFlow-RT's events.max)"),
    GW_OPT("flows.max", SFA_CFG_INT, "1000", flows_max, 1, 1000000,
           "logged flow records kept for /flows/json (sFlow-RT's flows.max)"),
    GW_OPT("http.html.dir", SFA_CFG_STR, NULL, html_dir, 0, 0,
           "directory of the web pages (default: the build's staged pages, else "
           "<datadir>/sfa/www)"),
    GW_OPT("http.html.redirect", SFA_CFG_STR, "./html/index.html", html_redirect, 0, 0,
           "where / redirects browsers"),
    GW_OPT("script.appdir", SFA_CFG_STR, "app", app_dir, 0, 0,
           "directory of sFlow-RT apps (as sfa-scripts): /app/<name>/html/... serves "
           "<appdir>/<name>/html/, /apps/json lists them"),
    GW_OPT("browse-flows.maxFlows", SFA_CFG_INT, "10", browse_max_flows, 1, 100,
           "Browse Flows: top flows per chart"),
    GW_OPT("browse-flows.minValue", SFA_CFG_DOUBLE, "0.01", browse_min_value, 0, 1e300,
           "Browse Flows: smallest value charted"),
    GW_OPT("browse-flows.aggMode", SFA_CFG_STR, "max", browse_agg_mode, 0, 0,
           "Browse Flows: max or sum over agents"),
    GW_OPT("browse-flows.agents", SFA_CFG_STR, "ALL", browse_agents, 0, 0,
           "Browse Flows: ALL or a list of agent addresses"),
    GW_OPT("browse-flows.t", SFA_CFG_DOUBLE, "2", browse_t, 0.1, 600,
           "Browse Flows: smoothing time constant of its flows, s"),
    GW_OPT("prometheus.metric.prefix", SFA_CFG_STR, "sflow_", prometheus_prefix, 0, 0,
           "prefix of the series names of /prometheus/metrics (sFlow-RT's)"),
    GW_OPT("prometheus.type", SFA_CFG_BOOL, "no", prometheus_type, 0, 1,
           "add '# TYPE <name> gauge' lines to the Prometheus text"),
    GW_OPT("log.level", SFA_CFG_STR, "INFO", log_level, 0, 0,
           "log threshold: SEVERE, WARNING, INFO or FINE"),
    SFA_CFG_END,
};

static void
gw_config_resolve(gw_config *cfg)
{
    char buf[320];
    const char *sd = getenv("STATE_DIRECTORY");

    sfa_config_default_ipc(&cfg->bus_defs, "defs");
    sfa_config_default_ipc(&cfg->bus_query, "query");
    sfa_config_default_ipc(&cfg->bus_control, "control");
    sfa_config_default_ipc(&cfg->bus_events, "events");
    sfa_config_default_ipc(&cfg->bus_flowlog, "flowlog");
    /* systemd may pass several directories separated by ':'; use the first. */
    if (sd && sd[0]) {
        snprintf(buf, sizeof buf, "%.*s", (int)strcspn(sd, ":"), sd);
        sfa_config_default_str(&cfg->state_dir, buf);
    } else {
        sfa_config_default_str(&cfg->state_dir, "./state");
    }
    if (!cfg->http_hostname)
        cfg->http_hostname = sfa_xstrdup("");
    sfa_config_default_str(&cfg->html_dir, gw_www_default_dir());
}

int
gw_config_load(gw_config *cfg, int argc, char **argv)
{
    int rc;

    memset(cfg, 0, sizeof *cfg);
    rc = sfa_config_load(gw_config_table, cfg, "gateway", argc, argv);
    if (rc != 0)
        return rc;
    cfg->log_level_num = sfa_log_parse_level(cfg->log_level ? cfg->log_level : "INFO");
    if (cfg->log_level_num < 0) {
        SFA_SEVERE("log.level: unknown level '%s' (SEVERE, WARNING, INFO or FINE)", cfg->log_level);
        rc = SFA_ECONFIG;
        goto fail;
    }
    gw_config_resolve(cfg);
    return 0;

fail:
    sfa_config_free(gw_config_table, cfg);
    return rc;
}

void
gw_config_free(gw_config *cfg)
{
    sfa_config_free(gw_config_table, cfg);
}
