/* agg_config.c - the aggregator's properties, as a table.
 *
 * The table drives parsing, range checks, --help and --dump-config (see
 * sfa/config.h). Defaults that depend on the process (the user id in bus
 * URLs, hostname:pid as aggregator.id) are empty in the table and resolved
 * here after loading; the bus defaults are the ones the collector and the
 * gateway use, so the three find each other on one host without any
 * setting. Runs once at start-up, on the main thread.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sfa/log.h>
#include <sfa/mem.h>

#include "agg.h"

#define AGG_OPT(name, type, def, field, min, max, help)                                            \
    {                                                                                              \
        name, type, def, offsetof(agg_config, field), min, max, help                               \
    }

const sfa_cfg_opt agg_config_table[] = {
    AGG_OPT("bus.collectors", SFA_CFG_STR, NULL, bus_collectors, 0, 0,
            "comma list of collector sample base URLs to read "
            "(default ipc:///tmp/sfa-<uid>/samples, the collector's bus.samples)"),
    AGG_OPT("bus.lanes", SFA_CFG_INT, "4", bus_lanes, 1, 64,
            "sample lanes of each collector (bucket b travels on lane b % lanes)"),
    AGG_OPT("bus.rcvbuf", SFA_CFG_INT, "1024", bus_rcvbuf, 1, 1048576,
            "receive queue depth per lane socket, messages"),
    AGG_OPT("bus.defs", SFA_CFG_STR, NULL, bus_defs, 0, 0,
            "gateway's defs.v1 publisher to dial (default ipc:///tmp/sfa-<uid>/defs)"),
    AGG_OPT("bus.query", SFA_CFG_STR, NULL, bus_query, 0, 0,
            "gateway's query surveyor to dial (default ipc:///tmp/sfa-<uid>/query)"),
    AGG_OPT("aggregator.id", SFA_CFG_STR, NULL, aggregator_id, 0, 0,
            "member name in the cluster; keep it across restarts (default hostname:pid)"),
    AGG_OPT("aggregator.maxkeys", SFA_CFG_INT, "100000", maxkeys, 1, 100000000,
            "tracked keys per flow definition; beyond it the smallest are evicted"),
    AGG_OPT("aggregator.maxsources", SFA_CFG_INT, "65536", maxsources, 1, 16777216,
            "tracked data sources (agent + source id); samples of more are dropped"),
    AGG_OPT("aggregator.sweep", SFA_CFG_DOUBLE, "1", sweep_interval, 0.05, 60,
            "seconds between sweeps that expire idle keys"),
    AGG_OPT("bus.metrics", SFA_CFG_STR, NULL, bus_metrics, 0, 0,
            "the events service's metrics.v1 subscriber to dial "
            "(default ipc:///tmp/sfa-<uid>/metrics)"),
    AGG_OPT("bus.flowlog", SFA_CFG_STR, NULL, bus_flowlog, 0, 0,
            "the gateway's flowlog.v1 subscriber to dial, for log:true flows "
            "(default ipc:///tmp/sfa-<uid>/flowlog)"),
    AGG_OPT("events.interval", SFA_CFG_INT, "250", events_interval, 10, 60000,
            "ms between metrics.v1 reports of the metrics thresholds name"),
    AGG_OPT("log.level", SFA_CFG_STR, "INFO", log_level, 0, 0,
            "log threshold: SEVERE, WARNING, INFO or FINE"),
    SFA_CFG_END,
};

/* Property names of this service that are not in common's built-in list,
 * registered so this process accepts them from shared sources too. */
static const char *const agg_config_names[] = {
    "bus.defs",         "bus.query", "aggregator.id", "aggregator.maxkeys", "aggregator.maxsources",
    "aggregator.sweep", NULL,
};

static void
agg_config_resolve(agg_config *cfg)
{
    char buf[320], host[256];

    sfa_config_default_ipc(&cfg->bus_collectors, "samples");
    sfa_config_default_ipc(&cfg->bus_defs, "defs");
    sfa_config_default_ipc(&cfg->bus_query, "query");
    sfa_config_default_ipc(&cfg->bus_metrics, "metrics");
    sfa_config_default_ipc(&cfg->bus_flowlog, "flowlog");
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    snprintf(buf, sizeof buf, "%s:%ld", host, (long)getpid());
    sfa_config_default_str(&cfg->aggregator_id, buf);
}

int
agg_config_load(agg_config *cfg, int argc, char **argv)
{
    int rc;

    memset(cfg, 0, sizeof *cfg);
    sfa_config_known(agg_config_names);
    rc = sfa_config_load(agg_config_table, cfg, "aggregator", argc, argv);
    if (rc != 0)
        return rc;
    cfg->log_level_num = sfa_log_parse_level(cfg->log_level ? cfg->log_level : "INFO");
    if (cfg->log_level_num < 0) {
        SFA_SEVERE("log.level: unknown level '%s' (SEVERE, WARNING, INFO or FINE)", cfg->log_level);
        rc = SFA_ECONFIG;
        goto fail;
    }
    agg_config_resolve(cfg);
    if (strlen(cfg->aggregator_id) > 120) {
        SFA_SEVERE("aggregator.id: at most 120 bytes");
        rc = SFA_ECONFIG;
        goto fail;
    }
    return 0;

fail:
    sfa_config_free(agg_config_table, cfg);
    return rc;
}

void
agg_config_free(agg_config *cfg)
{
    sfa_config_free(agg_config_table, cfg);
}
