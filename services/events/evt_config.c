/* evt_config.c - the events service's properties, as a table.
 *
 * The table drives parsing, range checks, --help and --dump-config (see
 * sfa/config.h). Defaults that depend on the process (the user id in bus
 * URLs, systemd's $STATE_DIRECTORY) are empty in the table and resolved
 * here after loading, the same way the gateway resolves its own, so both
 * meet on the same addresses without configuration. Runs once at
 * start-up, on the main thread.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sfa/log.h>
#include <sfa/mem.h>

#include "evt.h"

#define EVT_OPT(name, type, def, field, min, max, help)                                            \
    {                                                                                              \
        name, type, def, offsetof(evt_config, field), min, max, help                               \
    }

const sfa_cfg_opt evt_config_table[] = {
    EVT_OPT("bus.defs", SFA_CFG_STR, NULL, bus_defs, 0, 0,
            "the gateway's defs.v1 publisher, dialled for thresholds "
            "(default ipc:///tmp/sfa-<uid>/defs)"),
    EVT_OPT("bus.metrics", SFA_CFG_STR, NULL, bus_metrics, 0, 0,
            "metrics.v1 subscriber URL; listens, aggregators dial it "
            "(default ipc:///tmp/sfa-<uid>/metrics)"),
    EVT_OPT("bus.events", SFA_CFG_STR, NULL, bus_events, 0, 0,
            "events.v1 publisher URL; listens (default ipc:///tmp/sfa-<uid>/events)"),
    EVT_OPT("bus.query", SFA_CFG_STR, NULL, bus_query, 0, 0,
            "the gateway's query surveyor, dialled to answer surveys "
            "(default ipc:///tmp/sfa-<uid>/query)"),
    EVT_OPT("events.max", SFA_CFG_INT, "1000", events_max, 1, 1000000,
            "events kept in the log (sFlow-RT's events.max)"),
    EVT_OPT("events.interval", SFA_CFG_INT, "250", interval_ms, 10, 60000,
            "the aggregators' metrics.v1 period, ms; a data source not reported for "
            "4 periods (at least 2 s) counts as below every threshold"),
    EVT_OPT("sfa.state", SFA_CFG_STR, NULL, state_dir, 0, 0,
            "directory for the event id high-water mark and the threshold cache "
            "(default $STATE_DIRECTORY or ./state)"),
    EVT_OPT("events.id", SFA_CFG_STR, "events", id, 0, 0,
            "this service's name in bus envelopes and survey answers"),
    EVT_OPT("log.level", SFA_CFG_STR, "INFO", log_level, 0, 0,
            "log threshold: SEVERE, WARNING, INFO or FINE"),
    SFA_CFG_END,
};

/* Properties of other sfa services that the built-in list of config.c
 * does not carry yet; accepted and ignored here, so that one RTPROP can
 * configure the whole suite. */
static const char *const evt_config_foreign[] = {
    "gateway.query.timeout",
    NULL,
};

static void
evt_config_resolve(evt_config *cfg)
{
    static const struct {
        size_t off;
        const char *leaf;
    } urls[] = {
        {offsetof(evt_config, bus_defs), "defs"},
        {offsetof(evt_config, bus_metrics), "metrics"},
        {offsetof(evt_config, bus_events), "events"},
        {offsetof(evt_config, bus_query), "query"},
    };
    char buf[320];
    const char *sd = getenv("STATE_DIRECTORY");

    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++)
        sfa_config_default_ipc((char **)((char *)cfg + urls[i].off), urls[i].leaf);
    /* systemd may pass several directories separated by ':'; use the first. */
    if (sd && sd[0]) {
        snprintf(buf, sizeof buf, "%.*s", (int)strcspn(sd, ":"), sd);
        sfa_config_default_str(&cfg->state_dir, buf);
    } else {
        sfa_config_default_str(&cfg->state_dir, "./state");
    }
}

int
evt_config_load(evt_config *cfg, int argc, char **argv)
{
    static int known_added;
    int rc;

    memset(cfg, 0, sizeof *cfg);
    if (!known_added) {
        sfa_config_known(evt_config_foreign);
        known_added = 1;
    }
    rc = sfa_config_load(evt_config_table, cfg, "events", argc, argv);
    if (rc != 0)
        return rc;
    cfg->log_level_num = sfa_log_parse_level(cfg->log_level ? cfg->log_level : "INFO");
    if (cfg->log_level_num < 0) {
        SFA_SEVERE("log.level: unknown level '%s' (SEVERE, WARNING, INFO or FINE)", cfg->log_level);
        rc = SFA_ECONFIG;
        goto fail;
    }
    if (!cfg->id || cfg->id[0] == '\0' || strlen(cfg->id) >= EVT_NAME_MAX) {
        SFA_SEVERE("events.id: must be 1 to %d bytes", EVT_NAME_MAX - 1);
        rc = SFA_ECONFIG;
        goto fail;
    }
    evt_config_resolve(cfg);
    return 0;

fail:
    sfa_config_free(evt_config_table, cfg);
    return rc;
}

void
evt_config_free(evt_config *cfg)
{
    sfa_config_free(evt_config_table, cfg);
}
